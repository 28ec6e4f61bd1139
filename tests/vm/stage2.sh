#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Second stage of the test VM, run by the initramfs /init chrooted into the
# host's tree (see init).  Argument: the run.conf written by vm.sh.
#
# Saves and checks the boot log, inserts vushm.ko, prints the BEGIN marker,
# runs the command (/run/vushm/cmd) in the directory make was called from,
# then checks the kernel log again.  Exits with the command's status; /init
# prints the END marker.  Kernel log problems are printed as
#   VUSHM-VM-DMESG <nonce> <where>: <line>
# for vm.sh to see.
set -u
# shellcheck source=/dev/null
. "$1"
# shellcheck source=tests/vm/ktap.sh
. "$TOP/tests/vm/ktap.sh"

export VUSHM_TOP=$TOP VUSHM_OUT=$OUT VUSHM_IN_VM=1 SHELL=/bin/bash
# Variables passed from the host (VUSHM_*, VM_TEST_*).
# shellcheck source=/dev/null
[ -f /run/vushm/env ] && . /run/vushm/env

# Reads and clears the kernel log into $OUT/$1, reports bad lines.
dmesg_check() {
	local f=$OUT/$1 line bad=0
	dmesg -c >>"$f" 2>/dev/null || dmesg >>"$f"
	while IFS= read -r line; do
		bad=1
		printf 'VUSHM-VM-DMESG %s %s: %s\n' "$NONCE" "$2" "$line"
	done < <(kernel_bad_lines "$f")
	return "$bad"
}

dmesg_check dmesg-boot.log boot

if [ -n "$MODULE" ]; then
	# shellcheck disable=SC2086 # MODULE_ARGS is a list of param=value
	if ! insmod "$MODULE" $MODULE_ARGS; then
		echo "VUSHM-VM-ERROR $NONCE: insmod $MODULE $MODULE_ARGS failed"
		dmesg | tail -n 20
		exit 126
	fi
	# devtmpfs nodes appear asynchronously.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -e /dev/vushm/control ] && break
		sleep 0.1
	done
fi

echo "VUSHM-VM-BEGIN $NONCE"
cd "$CWD" || exit 126
if [ "$MODE" = shell ]; then
	echo "vm-shell: $(uname -r), vushm ${MODULE:-not} loaded; exit (or Ctrl-D) powers off"
	TERM=${HOST_TERM:-vt100} setsid -w busybox cttyhack bash -i
else
	bash /run/vushm/cmd </dev/null
fi
rc=$?
cd / || exit 126
dmesg_check dmesg.log "after the command" ||
	{ echo "# kernel log (tail), full log in ${OUT#"$TOP"/}/dmesg.log:"; tail -n 40 "$OUT/dmesg.log"; }
exit "$rc"
