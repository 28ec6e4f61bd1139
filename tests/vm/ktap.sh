# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the host (vm.sh) and the VM (stage2.sh, run-tests.sh): the kernel
# log lines that fail a run, and how one test program's output is scored.
# Sourced, not run.

# Extended regexps; a match in dmesg or on the serial console is a failure.
KERNEL_BAD_PATTERNS=(
	'Kernel panic'
	'Oops'
	'BUG:'
	'kernel BUG at'
	'WARNING:'
	'Bad page'
	'general protection'
	'KASAN'
	'UBSAN:'
	'INFO: possible'
	'INFO: task .* blocked for more than'
	'possible circular locking'
	'sleeping function called'
	'unreferenced object'
	'suspected memory leak'
	'rcu: INFO: rcu_.* detected stall'
	'list_(add|del) corruption'
)

# grep -E arguments for the patterns above.
kernel_bad_grep_args() {
	local p
	for p in "${KERNEL_BAD_PATTERNS[@]}"; do
		printf -- '-e\n%s\n' "$p"
	done
}

# Prints the lines of file $1 that match a bad pattern.
kernel_bad_lines() {
	local args
	mapfile -t args < <(kernel_bad_grep_args)
	grep -aE "${args[@]}" -- "$1"
}

# Scores KTAP output (file $1): prints "pass fail skip plan results", where
# plan is -1 without a "1..N" line.  Only top-level lines count (nested
# subtests are indented); "# SKIP" results count as skipped, "# XFAIL" as
# passed, "1..0 # SKIP" as one skip.
ktap_counts() {
	awk '
	/^ok [0-9]+/ {
		res++
		if (toupper($0) ~ /# *SKIP/) skip++; else pass++
		next
	}
	/^not ok [0-9]+/ {
		res++
		if (toupper($0) ~ /# *SKIP/) skip++; else fail++
		next
	}
	/^1\.\.[0-9]+/ && plan == -1 {
		plan = substr($1, 4) + 0
		if (plan == 0 && toupper($0) ~ /# *SKIP/) skip++
	}
	BEGIN { plan = -1 }
	END { print pass + 0, fail + 0, skip + 0, plan, res + 0 }
	' "$1"
}

# Verdict for one program: ktap_verdict LOG RC TIMED_OUT DMESG_BAD
# Prints "pass fail skip reason": the KTAP counts, plus one failure when the
# program timed out, died of a signal, exited non-zero without a "not ok" or
# stopped before its plan was complete, and one more when it left bad lines
# in dmesg.  A program that reports no result counts as one test: a skip if
# it exited 4 (KSFT_SKIP), a pass if it exited 0.  reason is "-" if none.
ktap_verdict() {
	local log=$1 rc=$2 tmo=$3 dbad=$4 pass fail skip plan res reason=""
	read -r pass fail skip plan res < <(ktap_counts "$log")
	if [ "$tmo" = 1 ]; then
		reason="timed out"
	elif [ "$rc" -ge 128 ]; then
		reason="killed by signal $((rc - 128))"
	elif [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$fail" = 0 ]; then
		reason="exit status $rc without a failed test"
	elif [ "$plan" -gt 0 ] && [ "$res" -lt "$plan" ]; then
		reason="only $res of $plan results"
	elif [ "$res" = 0 ] && [ "$plan" -le 0 ] && [ "$skip" = 0 ]; then
		[ "$rc" = 4 ] && skip=1 || pass=1
	fi
	[ -n "$reason" ] && fail=$((fail + 1))
	if [ "$dbad" = 1 ]; then
		fail=$((fail + 1))
		reason="${reason:+$reason; }kernel log problems"
	fi
	printf '%s %s %s %s\n' "$pass" "$fail" "$skip" "${reason:--}"
}
