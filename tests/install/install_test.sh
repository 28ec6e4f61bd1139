#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP test of `make install` / `make uninstall` (listed in
# tests/install/tests.list; make check runs it in the test VM, as root, with
# vushm loaded: the VM's kernel is the "running kernel" install targets, and
# /run, /tmp and /dev are the VM's own).
#
#  - make install DESTDIR=tmp: exactly the expected files, with their modes;
#    the module for the running kernel, found by modprobe through depmod's
#    index; no @VAR@ left; PREFIX=/usr moves everything under /usr;
#  - the file-list check fails when a file is missing (checked on a copy);
#  - systemd-analyze verify --root of the unit's instance "itest", in a copy
#    of DESTDIR with the example config as /etc/vushm/helper-itest.conf, the
#    host's system units and /bin/sh (so the binaries resolve inside the
#    root); no output allowed; a missing vushm-helper must make it fail;
#  - the unit's ExecStart, expanded as systemd would for the example config
#    (--owner nobody:nogroup instead), starts the installed helper: windows,
#    node owner and mode, listen socket; the unit's ExecStartPost readiness
#    loop returns; SIGTERM stops it (exit 0, socket removed);
#  - the udev rule (copied to the VM's /run/udev/rules.d): udevadm test
#    applies MODE 0600 to the control node and leaves a window node's owner
#    and mode alone (systemd 252 has no `udevadm verify`);
#  - man -l / groff -ww: no warnings; lexgrog finds the NAME line;
#  - make uninstall DESTDIR=tmp leaves nothing in DESTDIR.
# vushmctl (tools/vushmctl) is installed only if the tree has it; without it
# its checks are reported as SKIP.
set -u
TOP=${VUSHM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVER=$(uname -r)
INST=itest
WIN=$INST-0
W=$(mktemp -d /tmp/vushm-install.XXXXXX)
DEST=$W/dest
RUNDIR=/run/vushm/$INST
UDEV_RULE=/run/udev/rules.d/60-vushm.rules
helper_pid=
n=0
fails=0
. "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "$helper_pid" ] && kill -KILL "$helper_pid" 2>/dev/null
	destroy_window "$WIN" 2>/dev/null
	rm -f "$UDEV_RULE"
	rm -rf "$RUNDIR" "$W"
}
trap cleanup EXIT

have_ctl=0
[ -f "$TOP/tools/vushmctl/Makefile" ] && have_ctl=1

# "MODE PATH" of every file/link under $1, index files of depmod aside.
listing() {
	(cd "$1" && find . \( -type f -o -type l \) \
		! -path "./lib/modules/$KVER/modules.*" -printf '%m %P\n') | sort -k2
}

# The list install must produce, for prefix $1 (without its leading /).
expected() {
	local p=$1
	{
		echo "644 lib/modules/$KVER/extra/kmod/vushm.ko"
		echo "755 $p/sbin/vushm-helper"
		echo "644 $p/share/man/man8/vushm-helper.8"
		echo "644 $p/lib/udev/rules.d/60-vushm.rules"
		echo "644 $p/lib/systemd/system/vushm-helper@.service"
		echo "644 $p/lib/modules-load.d/vushm.conf"
		echo "644 $p/share/doc/vushm/examples/helper-vm1.conf"
		if [ "$have_ctl" = 1 ]; then
			echo "755 $p/sbin/vushmctl"
			echo "644 $p/share/man/man8/vushmctl.8"
		fi
	} | sort -k2
}

# same_list EXPECTED ACTUAL (files): diff -u on a difference.
same_list() { diff -u --label expected --label installed "$1" "$2"; }

check_modules_dep() {
	local out
	out=$(modprobe -d "$DEST" -S "$KVER" --show-depends vushm 2>&1) || { echo "$out"; return 1; }
	[ "$out" = "insmod $DEST/lib/modules/$KVER/extra/kmod/vushm.ko " ] ||
		{ echo "modprobe: $out"; return 1; }
}

check_vermagic() {
	local v
	v=$(modinfo -F vermagic "$DEST/lib/modules/$KVER/extra/kmod/vushm.ko" | cut -d' ' -f1)
	[ "$v" = "$KVER" ] || { echo "vermagic $v, running $KVER"; return 1; }
}

no_placeholders() { ! grep -rnI '@[A-Z]*@' "$DEST/usr" "$DEST/etc"; }

echo "KTAP version 1"
echo "1..19"
echo "# kernel $KVER, DESTDIR $DEST"

# ---- make install ---------------------------------------------------------------
if out=$(make -C "$TOP" --no-print-directory install DESTDIR="$DEST" 2>&1); then
	ok "make install DESTDIR=... (running kernel $KVER)"
else
	notok "make install DESTDIR=... (running kernel $KVER)"
	diag <<<"$out"
	echo "# Totals: pass:0 fail:1 (nothing else can be checked)"
	exit 1
fi
expected usr/local >"$W/expected"
listing "$DEST" >"$W/installed"
t "installed files and modes are exactly the expected ones" same_list "$W/expected" "$W/installed"
sed 1d "$W/installed" >"$W/broken"
if out=$(same_list "$W/expected" "$W/broken"); then
	notok "the file check fails when a file is missing"
else
	ok "the file check fails when a file is missing"
	diag 3 <<<"$(grep '^-[0-9]' <<<"$out")"
fi
t "/etc/vushm exists (0755)" test "$(stat -c %a "$DEST/etc/vushm" 2>&1)" = 755
t "depmod: modprobe -d DESTDIR finds extra/kmod/vushm.ko" check_modules_dep
t "installed vushm.ko is built for $KVER" check_vermagic
t "no @VAR@ placeholder left in installed files" no_placeholders
if [ "$have_ctl" = 1 ]; then
	t "vushmctl installed and runs (--help)" \
		sh -c "'$DEST/usr/local/sbin/vushmctl' --help >/dev/null"
else
	skip "vushmctl installed" "tools/vushmctl is not in this tree (yet): not installed"
fi

# ---- PREFIX=/usr --------------------------------------------------------------------
check_prefix_usr() {
	local d=$W/dest-usr
	make -C "$TOP" --no-print-directory install-userspace DESTDIR="$d" PREFIX=/usr >/dev/null || return 1
	expected usr | grep -v ' lib/modules/' >"$W/expected-usr"
	listing "$d" >"$W/installed-usr"
	same_list "$W/expected-usr" "$W/installed-usr" || return 1
	grep -q '^ExecStart=/usr/sbin/vushm-helper ' "$d/usr/lib/systemd/system/vushm-helper@.service" ||
		{ echo "ExecStart is not /usr/sbin/vushm-helper"; return 1; }
	make -C "$TOP" --no-print-directory uninstall DESTDIR="$d" PREFIX=/usr >/dev/null || return 1
	[ -z "$(find "$d" -mindepth 1)" ] || { find "$d" -mindepth 1; return 1; }
}
t "PREFIX=/usr: install-userspace under /usr, ExecStart follows; uninstall" check_prefix_usr

# ---- systemd-analyze verify -----------------------------------------------------------
UNIT=$DEST/usr/local/lib/systemd/system/vushm-helper@.service
EXAMPLE=$DEST/usr/local/share/doc/vushm/examples/helper-vm1.conf
VROOT=$W/vroot
mkdir -p "$VROOT/usr/lib/systemd" "$VROOT/bin"
cp -a "$DEST/." "$VROOT/"
cp -a /lib/systemd/system "$VROOT/usr/lib/systemd/"
cp /bin/sh "$VROOT/bin/sh"
cp "$EXAMPLE" "$VROOT/etc/vushm/helper-$INST.conf"
verify() {
	local out
	out=$(MANPATH=$VROOT/usr/local/share/man \
	      systemd-analyze verify --root="$VROOT" "vushm-helper@$INST.service" 2>&1)
	local rc=$?
	[ -n "$out" ] && echo "$out"
	[ "$rc" = 0 ] && [ -z "$out" ]
}
t "systemd-analyze verify --root: vushm-helper@$INST.service, no output" verify
mv "$VROOT/usr/local/sbin/vushm-helper" "$W/vh"
if out=$(verify); then
	notok "systemd-analyze verify fails without the installed vushm-helper"
else
	ok "systemd-analyze verify fails without the installed vushm-helper"
	diag 2 <<<"$out"
fi
mv "$W/vh" "$VROOT/usr/local/sbin/vushm-helper"
echo "# $(systemd-analyze security --offline=yes --root="$VROOT" "vushm-helper@$INST.service" 2>&1 |
	grep -a 'Overall exposure')"

# ---- the unit's command line, on the installed helper ---------------------------------------
# ExecStart= as systemd expands it: %i, ${VAR} one word, $VAR split.
# shellcheck disable=SC2120 # "$@" is set by eval "set -- ..."
start_helper() {
	local line post bin
	line=$(sed -n 's/^ExecStart=//p' "$UNIT")
	line=${line//%i/$INST}
	sed 's/--owner [^ "]*/--owner nobody:nogroup/' "$EXAMPLE" >"$W/helper-$INST.conf"
	mkdir -p /run/vushm && mkdir -m 0755 "$RUNDIR"	# RuntimeDirectory=vushm/%i
	(
		set -a
		VUSHM_LISTEN=$(sed -n 's/^Environment=VUSHM_LISTEN=//p' "$UNIT")
		VUSHM_LISTEN=${VUSHM_LISTEN//%i/$INST}
		# shellcheck disable=SC1090
		. "$W/helper-$INST.conf"
		eval "set -- $line"
		echo "ExecStart: $*"
		# The binary as installed in DESTDIR.
		bin=$DEST$1
		shift
		exec "$bin" "$@" >"$W/helper.out" 2>"$W/helper.err"
	) &
	helper_pid=$!
	# ExecStartPost: waits for the listen socket ($$ is systemd's $).
	post=$(sed -n 's/^ExecStartPost=//p' "$UNIT")
	post=${post//\$\$/\$}
	eval "set -- $post"
	MAINPID=$helper_pid VUSHM_LISTEN=$RUNDIR/vhost-user.sock timeout 30 "$@" || {
		echo "ExecStartPost failed: $?"; cat "$W/helper.err"; return 1; }
	if ! grep -qx "window 0 $WIN /dev/vushm/$WIN 268435456" "$W/helper.out" ||
	   ! grep -qx ready "$W/helper.out"; then
		cat "$W/helper.out" "$W/helper.err"
		return 1
	fi
}
# Not through t(): helper_pid must survive (t runs the command in a subshell).
# shellcheck disable=SC2119
if start_helper >"$W/start.log" 2>&1; then
	ok "unit's ExecStart + example config start the installed helper; ExecStartPost returns"
	diag 1 <"$W/start.log"
else
	notok "unit's ExecStart + example config start the installed helper; ExecStartPost returns"
	diag <"$W/start.log"
fi
t "window node /dev/vushm/$WIN: nobody:nogroup 600 (--owner)" \
	test "$(stat -c '%U:%G %a' "/dev/vushm/$WIN" 2>&1)" = "nobody:nogroup 600"
t "listen socket $RUNDIR/vhost-user.sock owned by nobody" \
	test "$(stat -c '%F %U' "$RUNDIR/vhost-user.sock" 2>&1)" = "socket nobody"

# ---- udev -------------------------------------------------------------------------------------
mkdir -p /run/udev/rules.d
cp "$DEST/usr/local/lib/udev/rules.d/60-vushm.rules" "$UDEV_RULE"
udev_control() {
	local out
	out=$(udevadm test --action=add /sys/class/misc/vushm-control 2>&1)
	grep -a '60-vushm' <<<"$out" | grep -aiE 'invalid|error|unknown|fail' && return 1
	grep -aE '60-vushm.rules:[0-9]+ MODE 0600' <<<"$out" ||
		{ tail -n 30 <<<"$out"; return 1; }
}
udev_window() {
	local out
	out=$(udevadm test --action=add "/sys/class/vushm/$WIN" 2>&1)
	grep -a '60-vushm' <<<"$out" | grep -aE 'OWNER|GROUP|MODE' && return 1
	grep -aqE '^TAGS=.*:systemd:' <<<"$out" || { tail -n 30 <<<"$out"; return 1; }
	[ "$(stat -c '%U:%G %a' "/dev/vushm/$WIN")" = "nobody:nogroup 600" ] ||
		{ stat "/dev/vushm/$WIN"; return 1; }
}
t "udevadm test: the rule gives /dev/vushm/control MODE 0600" udev_control
t "udevadm test: window node keeps its owner and mode, tagged systemd" udev_window

stop_helper() {
	local rc
	[ -n "$helper_pid" ] || { echo "no helper running"; return 1; }
	kill -TERM "$helper_pid"
	wait "$helper_pid"
	rc=$?
	helper_pid=
	[ "$rc" = 0 ] || { echo "exit $rc"; cat "$W/helper.err"; return 1; }
	[ ! -e "$RUNDIR/vhost-user.sock" ] || { echo "socket left behind"; return 1; }
}
if stop_helper >"$W/stop.log" 2>&1; then
	ok "SIGTERM stops the helper: exit 0, socket removed"
else
	notok "SIGTERM stops the helper: exit 0, socket removed"
	diag <"$W/stop.log"
fi
destroy_window "$WIN"

# ---- man pages ---------------------------------------------------------------------------------
check_man() {
	local f warn
	for f in "$DEST"/usr/local/share/man/man8/*.8; do
		warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null)
		warn+=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" 2>&1)
		[ -z "$warn" ] || { echo "${f##*/}: $warn"; return 1; }
		lexgrog "$f" | grep -q ": \"$(basename "$f" .8) - " ||
			{ lexgrog "$f"; return 1; }
	done
}
t "man pages: no man/groff warnings, NAME line parsed (lexgrog)" check_man

# ---- make uninstall ------------------------------------------------------------------------------
uninstall() {
	make -C "$TOP" --no-print-directory uninstall DESTDIR="$DEST" >/dev/null || return 1
	[ -z "$(find "$DEST" -mindepth 1)" ] || { find "$DEST" -mindepth 1; return 1; }
}
t "make uninstall DESTDIR=... leaves nothing" uninstall

echo "# Totals: pass:$((n - fails)) fail:$fails"
[ "$fails" = 0 ]
