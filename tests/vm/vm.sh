#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of the vushm test VM.
#
#   vm.sh run CMD...   run a shell command in the VM (make vm-run CMD=...):
#                      prints its output, exits with its status
#   vm.sh check        run every program of the tests.list files (make check),
#                      print KTAP, a summary and "N passed, N failed, N skipped"
#   vm.sh shell        interactive shell in the VM (make vm-shell)
#
# The VM boots Debian's generic 6.1 kernel (unpacked by `make deps` into
# .cache/kernel/<kver>) with an initramfs made here (busybox, virtio and 9p
# modules, tests/vm/init).  The host's "/" is shared read-only over 9p and
# becomes the VM's root, so the tree is at the same path and host programs
# run unchanged; the VM has its own empty /tmp, /run, /dev/shm, /var/tmp.
# .cache/vm-out/ is shared read-write: VUSHM_OUT in the VM is this run's
# .cache/vm-out/<tag>.<date>.<pid>/, which .cache/vm-out/<tag> (check,
# vm-run, shell) points at afterwards.  vushm.ko is inserted from kmod/
# before the command; the exit status is the command's, or 124 if the VM
# timed out, 125 if it crashed or could not start the command, 1 if the
# command succeeded but the kernel logged a BUG/WARNING/Oops/...
#
# Environment:
#   VM_TIMEOUT=600     seconds before qemu is killed (the run fails)
#   VM_TEST_TIMEOUT=300 per-program timeout in check
#   VM_TESTS=REGEX     check: only run tests.list lines matching REGEX
#   VM_TEST_LISTS=...  check: list files (default tests/vm/tests.list
#                      tests/selftests/tests.list tests/stress/tests.list
#                      tests/qemu/tests.list tests/helper/tests.list
#                      tests/install/tests.list)
#   VM_EXTRA_LISTS=... check: more list files after those
#   VM_MEM=2G VM_SMP=2 guest memory and CPUs
#   VM_VERBOSE=1       show the whole console, kernel messages up to debug
#   VM_DEBUG=1         interactive console (no timeout, no checks): a shell
#                      after the command or when the VM set-up fails
#   VM_APPEND=...      extra kernel command line; VM_QEMU_ARGS=... extra qemu
#   VM_BZIMAGE=1       boot the compressed bzImage instead of vmlinux (PVH)
#   VUSHM_NO_MODULE=1  run/shell only: do not insert vushm.ko
#   VUSHM_MODULE_ARGS='param=value ...'  insmod parameters
#   VUSHM_*, VM_TEST_* are exported to the command in the VM.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/vm/ktap.sh
. "$VMDIR/ktap.sh"

VM_TIMEOUT=${VM_TIMEOUT:-600}
VM_MEM=${VM_MEM:-2G}
VM_SMP=${VM_SMP:-2}
VM_VERBOSE=${VM_VERBOSE:-0}
VM_DEBUG=${VM_DEBUG:-0}
VM_TEST_LISTS=${VM_TEST_LISTS:-tests/vm/tests.list tests/selftests/tests.list tests/stress/tests.list tests/qemu/tests.list tests/helper/tests.list tests/install/tests.list}
VM_TEST_LISTS+=${VM_EXTRA_LISTS:+ $VM_EXTRA_LISTS}
# virtio + 9p, with their dependencies from modules.dep.
INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p)

usage() {
	sed -n '4,10s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# Single-quotes $1 for a shell.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The base initramfs, rebuilt when one of its inputs changes.
build_initramfs() {
	local out=$CACHE/vm/initramfs-$kver.cpio moddir=$kd/root/lib/modules/$kver
	local f st m line rel i stale=0
	local -a deps order
	local -A seen
	for f in "$VMDIR/init" "$0" /bin/busybox "$moddir/modules.dep"; do
		[ -e "$f" ] || die "$f missing (make deps)"
		[ "$f" -nt "$out" ] && stale=1
	done
	[ -s "$out" ] && [ "$stale" = 0 ] && return 0
	st=$run/initramfs
	mkdir -p "$st"/{bin,dev,proc,sys,newroot,vushm,lib/modules,tmp}
	cp /bin/busybox "$st/bin/busybox"
	install -m 0755 "$VMDIR/init" "$st/init"
	: >"$st/vushm/modules"
	for m in "${INITRAMFS_MODULES[@]}"; do
		# Built in (the debug kernel): nothing to load.
		grep -qE "(^|/)$m\.ko\$" "$moddir/modules.builtin" 2>/dev/null && continue
		line=$(grep -E "(^|/)$m\.ko:" "$moddir/modules.dep") ||
			die "module $m not in $moddir/modules.dep"
		read -r -a deps <<<"${line#*:}"
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do
			order+=("${deps[i]}")
		done
		order+=("${line%%:*}")
	done
	for rel in "${order[@]}"; do
		[ -n "${seen[$rel]:-}" ] && continue
		seen[$rel]=1
		cp "$moddir/$rel" "$st/lib/modules/"
		say "${rel##*/}" >>"$st/vushm/modules"
	done
	(cd "$st" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}

# Writes the per-run part of the initramfs; $run/initrd is what qemu boots.
build_run_initrd() {
	local cmd=$1 r=$run/root v
	mkdir -p "$r/vushm"
	{
		say "NONCE=$nonce"
		say "TOP=$(q "$TOP")"
		say "OUT_ROOT=$(q "$OUT_ROOT")"
		say "OUT=$(q "$OUT")"
		say "KVER=$kver"
		say "KMODDIR=$(q "$kd/root/lib/modules/$kver")"
		say "CWD=$(q "$PWD")"
		say "MODE=$mode"
		say "MODULE=$(q "$module")"
		say "MODULE_ARGS=$(q "${VUSHM_MODULE_ARGS:-}")"
		say "VM_DEBUG=$(q "$VM_DEBUG")"
		say "HOST_TERM=$(q "${TERM:-}")"
	} >"$r/vushm/run.conf"
	printf '%s\n' "$cmd" >"$r/vushm/cmd"
	for v in $(compgen -e); do
		case $v in
		VUSHM_* | VM_TEST_*) printf 'export %s=%q\n' "$v" "${!v}" ;;
		esac
	done >"$r/vushm/env"
	(cd "$r" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$run/run.cpio"
	cat "$CACHE/vm/initramfs-$kver.cpio" "$run/run.cpio" >"$run/initrd"
}

# Copies qemu's output to $log, shows the command's part of it.
filter() {
	local line state=pre
	exec 3>"$log"
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >&3
		case $line in
		*"VUSHM-VM-BEGIN $nonce"*)
			state=in
			continue
			;;
		*"VUSHM-VM-END $nonce "*)
			# Output without a final newline shares the line.
			[ "$state" = in ] && [ -n "${line%%VUSHM-VM-END*}" ] &&
				printf '%s\n' "${line%%VUSHM-VM-END*}"
			state=post
			continue
			;;
		*"VUSHM-VM-ERROR $nonce"* | *"VUSHM-VM-DMESG $nonce"*)
			printf '%s\n' "$line"
			continue
			;;
		esac
		if [ "$state" = in ] || [ "$VM_VERBOSE" = 1 ]; then
			printf '%s\n' "$line"
		fi
	done
	exec 3>&-
}

boot() {
	local append accel=(-accel tcg) kernel=$kd/vmlinux serial=(-serial stdio)
	local -a extra
	# softlockup_panic: a CPU stuck in the kernel ends the run at once
	# (a task stuck there cannot be killed by the per-test timeout).
	append="console=ttyS0 panic=-1 softlockup_panic=1 printk.devkmsg=on 8250.nr_uarts=1"
	if [ "$VM_VERBOSE" = 1 ]; then
		append+=" loglevel=7"
	else
		append+=" quiet"
	fi
	append+=" ${VM_APPEND:-}"
	# The debug kernel boots only as a bzImage (see debug-kernel.sh).
	if [ "${VM_BZIMAGE:-0}" = 1 ] || is_debug_kver "$kver"; then
		kernel=$kd/root/boot/vmlinuz-$kver
	fi
	if [ -w /dev/kvm ] && [ "${VM_KVM:-1}" = 1 ]; then
		accel=(-accel kvm -cpu host)
	fi
	read -r -a extra <<<"${VM_QEMU_ARGS:-}"
	local interactive=0
	[ "$mode" = shell ] || [ "$VM_DEBUG" = 1 ] && interactive=1
	[ "$interactive" = 1 ] && serial=(-serial mon:stdio)
	# shellcheck disable=SC2054 # commas are qemu's
	qemu=(qemu-system-x86_64 -nodefaults -no-user-config -nographic
	      -no-reboot -machine pc "${accel[@]}" -m "$VM_MEM" -smp "$VM_SMP"
	      -kernel "$kernel" -initrd "$run/initrd" -append "$append"
	      "${serial[@]}"
	      -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	      -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	      -fsdev "local,id=vmout,path=$OUT_ROOT,security_model=none,multidevs=remap"
	      -device virtio-9p-pci,fsdev=vmout,mount_tag=vmout
	      "${extra[@]}")
	if [ "$interactive" = 1 ]; then
		# The console is the terminal (Ctrl-A x quits), no timeout.
		set +e
		"${qemu[@]}"
		qemu_rc=$?
		set -e
		[ "$mode" = shell ] || exit "$qemu_rc"
		return
	fi
	t_boot=$(date +%s.%N)
	set +e
	# --foreground: qemu stays in our process group, so that Ctrl-C
	# reaches it.
	timeout --foreground -k 5 "$VM_TIMEOUT" "${qemu[@]}" </dev/null \
		2>"$run/qemu.err" | filter
	qemu_rc=${PIPESTATUS[0]}
	set -e
	t_end=$(date +%s.%N)
	if [ -s "$run/qemu.err" ]; then
		sed 's/^/qemu: /' "$run/qemu.err" >&2
	fi
}

# Sets end_rc (empty if no end marker), begun, timed_out, abnormal, and
# prints what went wrong with the VM itself.
analyze() {
	local end bad
	timed_out=0
	abnormal=0
	case $qemu_rc in 124 | 137) timed_out=1 ;; esac
	end=$(grep -a "VUSHM-VM-END $nonce rc=" "$log" | tail -n 1 || true)
	end_rc=""
	if [ -n "$end" ]; then
		end_rc=${end##*rc=}
		end_rc=${end_rc%%[!0-9]*}
	fi
	begun=0
	grep -aq "VUSHM-VM-BEGIN $nonce" "$log" && begun=1
	if [ "$timed_out" = 1 ]; then
		err "VM timed out after ${VM_TIMEOUT}s (VM_TIMEOUT); killed"
		abnormal=1
	elif [ -z "$end_rc" ]; then
		err "the VM stopped without its end marker (kernel panic? qemu exit $qemu_rc)"
		abnormal=1
	fi
	if [ "$begun" = 0 ] || [ "$abnormal" = 1 ]; then
		abnormal=1
		if [ "$begun" = 0 ] && [ "$VM_VERBOSE" != 1 ]; then
			err "console up to the failure (${log#"$TOP"/}):"
			sed -n "1,/VUSHM-VM-END $nonce/p" "$log" | tail -n 60 >&2
		fi
	fi
	# Unique lines in order; the first and the last 20 if there are more.
	bad=$(kernel_bad_lines "$log" | awk '!seen[$0]++' |
	      awk '{ l[NR] = $0 } END {
		for (i = 1; i <= NR; i++)
			if (NR <= 40 || i <= 20 || i > NR - 20) print l[i]
			else if (i == 21) print "[... " NR - 40 " more ...]" }' || true)
	console_bad=0
	if [ -n "$bad" ]; then
		console_bad=1
		err "kernel problems on the console:"
		printf '%s\n' "$bad" >&2
	fi
}

# Reads the check plan from the tests.list files into $OUT/plan.
plan_tests() {
	local list line path n=0
	for list in $VM_TEST_LISTS; do
		if [ ! -f "$TOP/$list" ]; then
			say "# $list: not there (yet); nothing to run from it"
			continue
		fi
		while IFS= read -r line || [ -n "$line" ]; do
			line=${line%%#*}
			read -r line <<<"$line" || true
			[ -n "$line" ] || continue
			if [ -n "${VM_TESTS:-}" ] && ! grep -qE -- "$VM_TESTS" <<<"$line"; then
				continue
			fi
			n=$((n + 1))
			path=${line%%[[:space:]]*}
			if [ -f "$TOP/$path" ] && [ -x "$TOP/$path" ]; then
				printf '%s\trun\t%s\n' "$n" "$line" >>"$OUT/plan"
			else
				say "# $path (listed in $list) is not built: counted as skipped"
				printf '%s\tmissing\t%s\n' "$n" "$line" >>"$OUT/plan"
			fi
		done <"$TOP/$list"
	done
	touch "$OUT/plan"
	say "# check: $n program(s) planned from: $VM_TEST_LISTS"
}

# Scores the results the VM left in $OUT; prints the summary and last line.
summarize() {
	local id what cmd rc secs tmo dbad left verdict p f s reason
	local tp=0 tf=0 ts=0 any_dbad=0 note
	say "# ---- summary (kernel $kver, $(awk -v a="$t_end" -v b="$t_boot" \
		'BEGIN { printf "%.1f", a - b }') s in the VM) ----"
	while IFS=$'\t' read -r id what cmd; do
		note=""
		if [ "$what" = missing ]; then
			p=0 f=0 s=1 secs=- note="not built"
		elif [ -f "$OUT/$id.status" ]; then
			read -r rc secs tmo dbad left <"$OUT/$id.status"
			verdict=$(ktap_verdict "$OUT/$id.log" "$rc" "$tmo" "$dbad")
			read -r p f s reason <<<"$verdict"
			[ "$dbad" = 1 ] && any_dbad=1
			[ "$reason" != - ] && note="exit $rc; $reason"
			[ "$left" != 0 ] && note="${note:+$note; }$left process(es) left behind"
		elif [ -f "$OUT/$id.log" ]; then
			read -r p f s _ _ < <(ktap_counts "$OUT/$id.log")
			f=$((f + 1)) secs=- note="did not finish: the VM crashed or timed out"
		else
			p=0 f=1 s=0 secs=- note="not run"
		fi
		tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
		printf '# %-36s %4d passed %3d failed %3d skipped %8s s%s\n' \
			"$cmd" "$p" "$f" "$s" "$secs" "${note:+  ($note)}"
	done <"$OUT/plan"
	if [ -f "$OUT/rmmod.status" ] && [ "$(cat "$OUT/rmmod.status")" = 0 ] &&
	   ! kernel_bad_lines "$OUT/final.dmesg" >/dev/null; then
		tp=$((tp + 1))
		note=""
	else
		tf=$((tf + 1))
		note="  (failed or not run)"
		kernel_bad_lines "$OUT/final.dmesg" >/dev/null 2>&1 && any_dbad=1
	fi
	printf '# %-36s %s\n' "rmmod vushm" "${note:-ok}"
	if [ "$abnormal" = 1 ]; then
		tf=$((tf + 1))
		say "# the VM run itself failed (see above): counted as one failure"
	elif [ "$console_bad" = 1 ] && [ "$any_dbad" = 0 ]; then
		tf=$((tf + 1))
		say "# kernel problems outside any test program: counted as one failure"
	fi
	say "# logs: ${OUT#"$TOP"/}/ (N.log, N.dmesg, serial.log)"
	say "$tp passed, $tf failed, $ts skipped"
	[ "$tf" = 0 ]
}

cleanup() {
	[ -n "${run:-}" ] && rm -rf "$run"
}

main() {
	local cmd
	mode=${1:-}
	shift || true
	case $mode in
	run)
		[ $# -gt 0 ] || die "run: no command"
		cmd="$*"
		;;
	check) cmd="exec bash \"\$VUSHM_TOP/tests/vm/run-tests.sh\"" ;;
	shell) cmd=: ;;
	*) usage ;;
	esac

	kver=$(resolve_kver)
	[ -n "$kver" ] || die "no VM kernel known: run 'make deps'"
	kd=$(kernel_dir "$kver")
	kernel_ok "$kver" || die "VM kernel in ${kd#"$TOP"/} missing or incomplete: run 'make deps'"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run 'make deps'"

	module=$TOP/kmod/vushm.ko
	if [ "$mode" != check ] && [ "${VUSHM_NO_MODULE:-0}" = 1 ]; then
		module=""
	else
		[ -f "$module" ] ||
			die "$module is not built: run 'make module' (vm-run without it: VUSHM_NO_MODULE=1)"
		local vermagic
		vermagic=$(modinfo -F vermagic "$module" 2>/dev/null || true)
		case "$vermagic" in
		"$kver "*) ;;
		*) die "$module is built for '${vermagic%% *}' but the VM boots $kver: run 'make module'" ;;
		esac
	fi

	# One directory per run (people share a tree and run VMs at once);
	# .cache/vm-out/<tag> points at the latest, the last 5 are kept, and
	# any touched in the last 6 hours (a long run others must not delete).
	local tag=$mode
	[ "$mode" = run ] && tag=vm-run
	OUT_ROOT=$CACHE/vm-out
	OUT=$OUT_ROOT/$tag.$(date +%Y%m%d-%H%M%S).$$
	mkdir -p "$OUT"
	[ -L "$OUT_ROOT/$tag" ] || rm -rf "${OUT_ROOT:?}/$tag"
	ln -sfn "${OUT##*/}" "$OUT_ROOT/$tag"
	# shellcheck disable=SC2012 # sorting by time; our own names
	local old
	ls -1dt "$OUT_ROOT/$tag".* | tail -n +6 | while IFS= read -r old; do
		if [ -n "$(find "$old" -maxdepth 0 -mmin +360)" ]; then
			rm -rf "$old"
		fi
	done
	log=$OUT/serial.log
	nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

	mkdir -p "$CACHE/vm"
	run=$(mktemp -d "$CACHE/vm/run.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	build_initramfs

	[ "$mode" = check ] && plan_tests
	build_run_initrd "$cmd"
	boot
	[ "$mode" = shell ] && exit "$qemu_rc"
	analyze
	case $mode in
	check)
		summarize && [ "$abnormal" = 0 ] && [ "$console_bad" = 0 ]
		;;
	run)
		if [ "$abnormal" = 1 ]; then
			[ "$timed_out" = 1 ] && exit 124
			exit 125
		fi
		if [ "$console_bad" = 1 ] && [ "$end_rc" = 0 ]; then
			err "the command succeeded but the kernel reported problems: exit 1"
			exit 1
		fi
		exit "$end_rc"
		;;
	esac
}

main "$@"
