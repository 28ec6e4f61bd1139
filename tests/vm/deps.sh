#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deps`: everything the module build, the tests and the test VM need on
# a Debian 12 machine.  Idempotent; when everything is there it only runs
# dpkg-query and a few file tests (no apt).
#
#  - packages (apt-get install --no-install-recommends), including the headers
#    of the kernel the VM boots: linux-headers-6.1.0-NN-amd64;
#  - the VM kernel: linux-image-6.1.0-NN-amd64 is downloaded, not installed,
#    and unpacked into .cache/kernel/<kver>/root (depmod run there), and its
#    bzImage decompressed to an ELF vmlinux (booted through PVH: faster);
#  - kselftest_harness.h, kselftest.h and checkpatch.pl from linux-source-6.1,
#    extracted into .cache/linux-src/ (nothing copied into the tree).
#
# NN is resolved from the linux-image-amd64 / linux-headers-amd64 metapackages
# once and pinned in .cache/kver.  KVER=6.1.0-NN-amd64 forces one;
# DEPS_REFRESH=1 resolves again (after a Debian kernel update).
set -eEuo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
trap 'err "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# Progress goes to stderr: `make vm-run` output is the command's only.
note() { printf '%s\n' "$*" >&2; }

# systemd, udev, man-db, groff-base: tests/install (systemd-analyze verify,
# udevadm test, man/groff warnings); python3: tests/install and
# tools/vushmctl's test (JSON, ioctls from a second process).
PKGS=(qemu-system-x86 busybox-static liburing-dev libnl-3-dev libnl-genl-3-dev
      cpio kmod sparse gcc make libc6-dev pkgconf xz-utils perl
      systemd udev man-db groff-base python3)
SRC_PKG=linux-source-6.1
SRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
SRC_DIR=$CACHE/linux-src
SRC_FILES=(tools/testing/selftests/kselftest_harness.h
	   tools/testing/selftests/kselftest.h
	   scripts/checkpatch.pl scripts/spelling.txt
	   scripts/const_structs.checkpatch)
DL=$CACHE/dl

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-q -o Dpkg::Use-Pty=0 -o APT::Sandbox::User=root)

updated=0
apt_update() {
	[ "$updated" = 1 ] && return 0
	need_root "apt-get update"
	note "deps: apt-get update"
	apt-get "${APT_OPTS[@]}" update >/dev/null
	updated=1
}

need_root() {
	[ "$(id -u)" = 0 ] || die "need root for: $*"
}

# Sets missing to the packages among "$@" that are not installed.
missing_pkgs() {
	local installed p
	# dpkg-query fails when it does not know one of the names.
	installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" \
		    2>/dev/null | awk '$1 == "ii" { print $2 }' || true)
	missing=()
	for p in "$@"; do
		grep -qxF "$p" <<<"$installed" || missing+=("$p")
	done
}

# apt-get download "$1" into $DL (updating the lists once if that fails);
# sets $deb to the file.
download() {
	mkdir -p "$DL"
	rm -f "$DL/$1"_*.deb
	if ! (cd "$DL" && apt-get "${APT_OPTS[@]}" download "$1" >/dev/null 2>&1); then
		apt_update
		(cd "$DL" && apt-get "${APT_OPTS[@]}" download "$1" >/dev/null)
	fi
	local debs=("$DL/$1"_*.deb)
	deb=${debs[0]}
	[ -f "$deb" ] || die "apt-get download $1: no .deb"
}

# The ABI the metapackages point at now: prints 6.1.0-NN-amd64 (apt lists
# must be fresh: call apt_update first).
resolve_from_archive() {
	local img hdr
	img=$(apt-cache depends "linux-image-$FLAVOUR" |
	      sed -n "s/^ *Depends: linux-image-\(6\.1\.0-[0-9]*-$FLAVOUR\)\$/\1/p" | head -n 1)
	hdr=$(apt-cache depends "linux-headers-$FLAVOUR" |
	      sed -n "s/^ *Depends: linux-headers-\(6\.1\.0-[0-9]*-$FLAVOUR\)\$/\1/p" | head -n 1)
	if [ -z "$img" ] || [ -z "$hdr" ]; then
		die "cannot resolve linux-image-$FLAVOUR / linux-headers-$FLAVOUR (image '$img', headers '$hdr')"
	fi
	if [ "$img" != "$hdr" ]; then
		die "linux-image-$FLAVOUR -> $img but linux-headers-$FLAVOUR -> $hdr (archive mid-update?); retry or set KVER="
	fi
	say "$img"
}

# The payload of an x86 bzImage (setup_sects at 0x1f1, payload_offset and
# payload_length at 0x248/0x24c) is an XZ stream holding the ELF vmlinux.
extract_vmlinux() {
	local img=$1 out=$2 ss off
	rd() { od -An -t "u$2" -j "$1" -N "$2" "$img" | tr -d ' '; }
	ss=$(rd $((0x1f1)) 1)
	off=$(rd $((0x248)) 4)
	# xz stops at the end of the stream (and checks its CRC); tail may
	# then die of SIGPIPE, which is fine.
	{ tail -c +$(((ss + 1) * 512 + off + 1)) "$img" || :; } |
		xz -dc --single-stream >"$out"
	[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		die "$img: payload is not an XZ-compressed ELF vmlinux"
}

# The .deb is kept in .cache/dl: `make -C KDIR M=<repo> clean` deletes every
# *.ko under the repo, .cache included, and this puts them back offline.
fetch_kernel() {
	local kver=$1 kd deb debs
	kd=$(kernel_dir "$kver")
	if kernel_ok "$kver"; then
		return 0
	fi
	debs=("$DL/linux-image-${kver}_"*.deb)
	deb=${debs[0]}
	if [ ! -f "$deb" ]; then
		note "deps: fetching linux-image-$kver"
		download "linux-image-$kver"
	fi
	note "deps: unpacking ${deb#"$TOP"/} into ${kd#"$TOP"/}"
	rm -rf "$kd.tmp"
	mkdir -p "$kd.tmp"
	dpkg-deb -x "$deb" "$kd.tmp/root"
	depmod -b "$kd.tmp/root" "$kver"
	extract_vmlinux "$kd.tmp/root/boot/vmlinuz-$kver" "$kd.tmp/vmlinux"
	rm -rf "$kd"
	mv "$kd.tmp" "$kd"
}

fetch_source_files() {
	local f ok=1 members=() deb
	for f in "${SRC_FILES[@]}"; do
		[ -s "$SRC_DIR/$f" ] || ok=0
		members+=("linux-source-6.1/$f")
	done
	[ "$ok" = 1 ] && return 0
	rm -rf "$SRC_DIR.tmp"
	mkdir -p "$SRC_DIR.tmp"
	# --occurrence=1: tar stops reading once every member was found, which
	# makes the producers of the pipe die of SIGPIPE; the files decide.
	if [ -r "$SRC_TARBALL" ]; then
		note "deps: extracting kselftest headers and checkpatch from $SRC_TARBALL"
		tar -xJf "$SRC_TARBALL" -C "$SRC_DIR.tmp" --strip-components=1 \
			--occurrence=1 "${members[@]}" || true
	else
		note "deps: downloading $SRC_PKG for kselftest headers and checkpatch"
		download "$SRC_PKG"
		{ dpkg-deb --fsys-tarfile "$deb" |
		  tar -xO "./usr/src/linux-source-6.1.tar.xz" |
		  tar -xJ -C "$SRC_DIR.tmp" --strip-components=1 \
			--occurrence=1 "${members[@]}"; } || true
		rm -f "$deb"
	fi
	for f in "${SRC_FILES[@]}"; do
		[ -s "$SRC_DIR.tmp/$f" ] || die "could not extract $f from $SRC_PKG"
	done
	rm -rf "$SRC_DIR"
	mv "$SRC_DIR.tmp" "$SRC_DIR"
}

# Drops what belongs to other kernel releases than $1 (after DEPS_REFRESH=1).
prune_old() {
	local d
	for d in "$CACHE"/kernel/* "$DL"/linux-image-*.deb "$CACHE"/vm/initramfs-*.cpio; do
		case $d in
		*"/$1" | *"-${1}_"*.deb | *"-$1.cpio") ;;
		*) rm -rf "$d" ;;
		esac
	done
}

main() {
	local kver missing
	mkdir -p "$CACHE"
	# Two `make check` at once on a cold cache must not unpack twice.
	exec 9>"$CACHE/deps.lock"
	flock 9
	if [ -n "${KVER:-}" ]; then
		kver=$KVER
	elif [ -s "$CACHE/kver" ] && [ -z "${DEPS_REFRESH:-}" ]; then
		kver=$(cat "$CACHE/kver")
	else
		apt_update
		kver=$(resolve_from_archive)
	fi
	case $kver in
	6.1.0-*-"$FLAVOUR") ;;
	*) die "unexpected kernel release '$kver' (want 6.1.0-NN-$FLAVOUR)" ;;
	esac

	missing_pkgs "${PKGS[@]}" "linux-headers-$kver"
	if [ "${#missing[@]}" -gt 0 ]; then
		need_root "apt-get install ${missing[*]}"
		apt_update
		note "deps: apt-get install ${missing[*]}"
		apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
	fetch_kernel "$kver"
	fetch_source_files
	say "$kver" >"$CACHE/kver.tmp"
	mv "$CACHE/kver.tmp" "$CACHE/kver"
	prune_old "$kver"
	note "deps: ok (VM kernel $kver)"
}

main "$@"
