#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In-VM runner behind `make check` (vm.sh check makes it the VM's command).
# Runs the programs of $VUSHM_OUT/plan (written by vm.sh from the tests.list
# files), one at a time, each in its own cgroup with a timeout
# (VM_TEST_TIMEOUT, default 300 s), and prints KTAP: each program's output
# indented as a subtest, then "ok N path" or "not ok N path".  After each
# program the kernel log is read, cleared and checked; at the end vushm is
# removed (rmmod) and the log checked once more.
#
# Per program N it leaves in $VUSHM_OUT: N.log (output), N.dmesg (kernel
# log), N.status ("rc secs timed_out dmesg_bad leftovers"); and rmmod.status,
# final.dmesg (with the kmemleak report on a kmemleak kernel).  vm.sh scores them again on the host, so that a run cut short
# by a kernel crash is still accounted for.
set -u
TOP=$VUSHM_TOP
OUT=$VUSHM_OUT
TMO=${VM_TEST_TIMEOUT:-300}
CG=/sys/fs/cgroup/vushm-test
# shellcheck source=tests/vm/ktap.sh
. "$TOP/tests/vm/ktap.sh"

kmsg() { echo "vushm-check: $*" >/dev/kmsg 2>/dev/null; }
# Microseconds, without forking (each exec costs ~50 ms under TCG).
usecs() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# Kills whatever the last program left running in $CG; prints how many.
reap() {
	local -a procs left
	local i
	mapfile -t procs <"$CG/cgroup.procs"
	if [ "${#procs[@]}" -gt 0 ]; then
		echo 1 >"$CG/cgroup.kill"
		for ((i = 0; i < 50; i++)); do
			mapfile -t left <"$CG/cgroup.procs"
			[ "${#left[@]}" = 0 ] && break
			sleep 0.1
		done
	fi
	echo "${#procs[@]}"
}

# Runs one program ($2, a command line relative to $TOP) as test $1.
run_one() {
	local id=$1 cmd=$2 log=$OUT/$1.log t0 t1 rc tmo=0 dbad=0 left
	local pass fail skip reason
	echo "# [$id/$nprog] $cmd"
	kmsg "begin $id $cmd"
	t0=$(usecs)
	(
		echo "$BASHPID" >"$CG/cgroup.procs"
		cd "$TOP" || exit 126
		# script(1) gives the program a pty: line-buffered stdout, so
		# what it printed before a timeout is not lost.
		exec timeout -k 10 "$TMO" script -qefc "exec $TOP/$cmd" /dev/null </dev/null
	) 2>&1 | sed -u -e 's/\r$//' -e "w $log" -e 's/^/    /'
	rc=${PIPESTATUS[0]}
	t1=$(usecs)
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && tmo=1
	left=$(reap)
	[ "$left" != 0 ] && echo "# $cmd left $left process(es) running: killed"
	kmsg "end $id $cmd rc=$rc"
	dmesg -c >"$OUT/$id.dmesg" 2>&1
	if kernel_bad_lines "$OUT/$id.dmesg" >/dev/null; then
		dbad=1
		echo "# kernel log problems during $cmd:"
		tail -n 60 "$OUT/$id.dmesg" | sed 's/^/# dmesg: /'
	fi
	printf '%s %d.%02d %s %s %s\n' "$rc" $(((t1 - t0) / 1000000)) \
		$(((t1 - t0) / 10000 % 100)) "$tmo" "$dbad" "$left" >"$OUT/$id.status"
	read -r pass fail skip reason < <(ktap_verdict "$log" "$rc" "$tmo" "$dbad")
	if [ "$fail" != 0 ]; then
		[ "$reason" = - ] && reason="" || reason="; $reason"
		echo "not ok $id $cmd # exit $rc$reason"
	elif [ "$pass" = 0 ] && [ "$skip" != 0 ]; then
		echo "ok $id $cmd # SKIP"
	else
		echo "ok $id $cmd"
	fi
}

# A kmemleak kernel (make check-debug): leaks are reported by a scan that
# finds an object unreferenced twice, so scan twice, more than the minimum
# object age (5 s) apart.  At the start this retires what boot left (the
# suspects then are not ours), at the end it finds what the tests leaked.
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_scan() {
	echo scan >"$KMEMLEAK"
	sleep 6
	echo scan >"$KMEMLEAK"
}

mapfile -t plan <"$OUT/plan"
nprog=${#plan[@]}
mkdir -p "$CG"
echo "KTAP version 1"
echo "1..$((nprog + 1))"
if [ -w "$KMEMLEAK" ]; then
	kmemleak_scan
	echo clear >"$KMEMLEAK"
fi
dmesg -c >"$OUT/pre.dmesg" 2>&1
for line in "${plan[@]}"; do
	IFS=$'\t' read -r id what cmd <<<"$line"
	if [ "$what" = missing ]; then
		echo "ok $id $cmd # SKIP not built"
		continue
	fi
	run_one "$id" "$cmd"
done

rmdir "$CG" 2>/dev/null
id=$((nprog + 1))
kmsg "rmmod vushm"
if out=$(rmmod vushm 2>&1); then
	rc=0
else
	rc=1
fi
dmesg -c >"$OUT/final.dmesg" 2>&1
echo "$rc" >"$OUT/rmmod.status"
# The leak report goes with the final kernel log (same bad patterns).
if [ -w "$KMEMLEAK" ]; then
	kmemleak_scan
	cat "$KMEMLEAK" >"$OUT/kmemleak.log" 2>&1
	cat "$OUT/kmemleak.log" >>"$OUT/final.dmesg"
	dmesg -c >>"$OUT/final.dmesg" 2>&1
	# (Worded so as not to match the bad pattern it reports on.)
	echo "# kmemleak: $(grep -c 'unreferenced object' "$OUT/kmemleak.log") leak(s) reported after the run"
fi
if [ "$rc" != 0 ]; then
	echo "# $out"
	echo "# /proc/modules: $(grep '^vushm ' /proc/modules)"
fi
if kernel_bad_lines "$OUT/final.dmesg" >/dev/null; then
	rc=1
	echo "# kernel log problems at rmmod (or kmemleak):"
	sed 's/^/# dmesg: /' "$OUT/final.dmesg" | tail -n 60
fi
if [ "$rc" = 0 ]; then
	echo "ok $id rmmod vushm"
else
	echo "not ok $id rmmod vushm"
fi
exit 0
