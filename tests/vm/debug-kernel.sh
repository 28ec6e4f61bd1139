#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds (once) the debug kernel of `make check-debug` and prints its release.
#
# Debian's linux-source-6.1 (the 6.1 the test VM boots), x86_64_defconfig +
# kernel/configs/kvm_guest.config + tests/vm/debug.config (KASAN, lockdep,
# DEBUG_VM, kmemleak...).  The result lives in
#   .cache/debug-kernel/<release>/{vmlinux,build/,root/lib/modules/<release>,
#                                  root/boot/vmlinuz-<release>}
# where <release> is 6.1.N-vushmdbg-<key> and <key> hashes the source
# version, RECIPE below and debug.config: a change to any of them builds a
# new kernel; the old ones are removed.  build/ is the object
# tree (KDIR for the module).  The first build takes ~25 min on 2 cores;
# afterwards this only checks that the tree is there.
#
# Environment: DEBUG_KERNEL_JOBS (default: nproc), DEBUG_KERNEL_KEEP=1 keeps
# older builds.
set -eEuo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
trap 'err "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

note() { printf '%s\n' "$*" >&2; }

SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
PKGS=(linux-source-6.1 flex bison bc libelf-dev libssl-dev gcc make xz-utils
      cpio kmod)
FRAGMENT=$VMDIR/debug.config
# Bump when the build steps below change what gets built.
RECIPE=1
DBG=$CACHE/debug-kernel
export DEBIAN_FRONTEND=noninteractive

install_pkgs() {
	local installed missing=() p
	installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PKGS[@]}" \
		    2>/dev/null | awk '$1 == "ii" { print $2 }' || true)
	for p in "${PKGS[@]}"; do
		grep -qxF "$p" <<<"$installed" || missing+=("$p")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "need root to install ${missing[*]}"
	note "debug-kernel: apt-get install ${missing[*]}"
	apt-get -q -o Dpkg::Use-Pty=0 update >/dev/null
	apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# Every CONFIG_X=v / "# CONFIG_X is not set" line of the fragment must be
# what olddefconfig kept (a dependency it missed silently drops an option).
verify_config() {
	local cfg=$1 line opt bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$cfg" || { err "$line did not stick"; bad=1; }
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$cfg"; then
				err "$opt is set, wanted off"
				bad=1
			fi
			;;
		esac
	done <"$FRAGMENT"
	[ "$bad" = 0 ] || die "config does not match $FRAGMENT (see above)"
}

# The VM boots the debug kernel as a bzImage: its ELF vmlinux (170 MB with
# KASAN) stops under qemu's PVH loader before the first console line.
# bzImage is a link step away from vmlinux, so it is not part of the key.
install_bzimage() {
	local src=$1 b=$2 key=$3 kd=$4 rel=$5 img=$4/root/boot/vmlinuz-$5
	[ -s "$img" ] && [ "$img" -nt "$b/vmlinux" ] && return 0
	note "debug-kernel: linking bzImage"
	make -s -C "$src" O="$b" LOCALVERSION="-vushmdbg-$key" -j"$(nproc)" bzImage \
		>>"$kd/build.log" 2>&1 || die "bzImage build failed (log: ${kd#"$TOP"/}/build.log)"
	mkdir -p "${img%/*}"
	cp "$b/arch/x86/boot/bzImage" "$img"
}

main() {
	local srcver key rel kd src b jobs
	mkdir -p "$DBG"
	exec 9>"$DBG/lock"
	flock 9
	install_pkgs
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	key=$(cat <(say "$srcver recipe $RECIPE") "$FRAGMENT" | sha256sum | cut -c1-10)
	src=$DBG/src-$srcver
	if [ ! -f "$src/.extracted" ]; then
		note "debug-kernel: extracting $SRC_TARBALL ($srcver)"
		rm -rf "$src"
		mkdir -p "$src"
		tar -xJf "$SRC_TARBALL" -C "$src" --strip-components=1
		touch "$src/.extracted"
	fi
	rel=$(make -s -C "$src" kernelversion)-vushmdbg-$key
	kd=$DBG/$rel
	b=$kd/build
	if [ -s "$kd/vmlinux" ] && [ -f "$kd/.done" ]; then
		install_bzimage "$src" "$b" "$key" "$kd" "$rel"
		say "$rel"
		return 0
	fi
	jobs=${DEBUG_KERNEL_JOBS:-$(nproc)}
	note "debug-kernel: building $rel in ${kd#"$TOP"/} (-j$jobs; ~25 min on 2 cores the first time)"
	mkdir -p "$b"
	make -s -C "$src" O="$b" x86_64_defconfig >/dev/null
	(cd "$b" && "$src/scripts/kconfig/merge_config.sh" -m -O "$b" .config \
		"$src/kernel/configs/kvm_guest.config" "$FRAGMENT" >/dev/null)
	make -s -C "$src" O="$b" LOCALVERSION="-vushmdbg-$key" olddefconfig >/dev/null
	sed -i 's/^CONFIG_LOCALVERSION_AUTO=y/# CONFIG_LOCALVERSION_AUTO is not set/' "$b/.config"
	make -s -C "$src" O="$b" LOCALVERSION="-vushmdbg-$key" olddefconfig >/dev/null
	verify_config "$b/.config"
	make -C "$src" O="$b" LOCALVERSION="-vushmdbg-$key" -j"$jobs" vmlinux modules \
		>"$kd/build.log" 2>&1 || { tail -n 40 "$kd/build.log" >&2; die "kernel build failed (log: ${kd#"$TOP"/}/build.log)"; }
	[ "$(cat "$b/include/config/kernel.release")" = "$rel" ] ||
		die "built $(cat "$b/include/config/kernel.release"), expected $rel"
	rm -rf "$kd/root"
	make -s -C "$src" O="$b" LOCALVERSION="-vushmdbg-$key" INSTALL_MOD_PATH="$kd/root" \
		modules_install >/dev/null
	cp "$b/vmlinux" "$kd/vmlinux"
	install_bzimage "$src" "$b" "$key" "$kd" "$rel"
	touch "$kd/.done"
	if [ "${DEBUG_KERNEL_KEEP:-0}" != 1 ]; then
		find "$DBG" -mindepth 1 -maxdepth 1 -type d \( -name 'src-*' -o -name '*-vushmdbg-*' \) \
			! -name "src-$srcver" ! -name "$rel" -exec rm -rf {} +
	fi
	note "debug-kernel: $rel ready"
	say "$rel"
}

main "$@"
