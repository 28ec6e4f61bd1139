# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the host-side VM scripts (deps.sh, kver.sh, vm.sh): paths of the
# cache and of the extracted kernel, and the kernel version the VM boots.
# Sourced, not run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=$TOP/.cache
# shellcheck disable=SC2034 # used by the scripts that source this
VMDIR=$TOP/tests/vm

# Generic Debian 6.1 flavour: it has 9p and virtio as modules.
FLAVOUR=amd64

say() { printf '%s\n' "$*"; }
err() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { err "$@"; exit 1; }

# Kernel release (6.1.0-NN-amd64) the VM boots and the module is built for:
# $KVER if set, else the one `make deps` pinned in .cache/kver, else the
# newest generic headers installed.  Prints nothing if none is known.
resolve_kver() {
	local k
	if [ -n "${KVER:-}" ]; then
		say "$KVER"
		return
	fi
	if [ -s "$CACHE/kver" ]; then
		cat "$CACHE/kver"
		return
	fi
	for k in /usr/src/linux-headers-6.1.0-*-"$FLAVOUR"; do
		[ -d "$k" ] && say "${k#/usr/src/linux-headers-}"
	done | sort -V | tail -n 1
}

# Debian's kernel (make deps) in .cache/kernel/<kver>; the debug kernel of
# make check-debug (tests/vm/debug-kernel.sh, release 6.1.N-vushmdbg-<key>)
# in .cache/debug-kernel/<kver>.  Same layout: vmlinux, root/lib/modules/.
is_debug_kver() { case $1 in *-vushmdbg-*) return 0 ;; esac; return 1; }

kernel_dir() {
	if is_debug_kver "$1"; then
		say "$CACHE/debug-kernel/$1"
	else
		say "$CACHE/kernel/$1"
	fi
}

# True if the unpacked VM kernel is complete (kbuild's clean with M=<repo>
# deletes *.ko and modules.order under .cache/ too).  The debug kernel has
# virtio and 9p built in.
kernel_ok() {
	local kd m
	kd=$(kernel_dir "$1")
	m=$kd/root/lib/modules/$1
	[ -s "$kd/vmlinux" ] && [ -s "$m/modules.dep" ] || return 1
	if is_debug_kver "$1"; then
		[ -f "$kd/.done" ] && [ -s "$kd/root/boot/vmlinuz-$1" ]
		return
	fi
	[ -s "$m/modules.order" ] && [ -s "$m/kernel/fs/9p/9p.ko" ] &&
		[ -s "$m/kernel/drivers/virtio/virtio_ring.ko" ]
}
