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

kernel_dir() { say "$CACHE/kernel/$1"; }

# True if the unpacked VM kernel is complete (kbuild's clean with M=<repo>
# deletes *.ko and modules.order under .cache/ too).
kernel_ok() {
	local kd m
	kd=$(kernel_dir "$1")
	m=$kd/root/lib/modules/$1
	[ -s "$kd/vmlinux" ] && [ -s "$m/modules.dep" ] &&
		[ -s "$m/modules.order" ] && [ -s "$m/kernel/fs/9p/9p.ko" ] &&
		[ -s "$m/kernel/drivers/virtio/virtio_ring.ko" ]
}
