#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP test of the DKMS packaging (make install-dkms, packaging/dkms/
# dkms.conf.in) with Debian's dkms, for kernel $KVER (default: the running
# one), in throwaway trees: nothing is written outside one temporary
# directory, so it runs in the test VM (whose / is read-only) and on a real
# host alike, as root:
#
#   make vm-run CMD=tests/install/dkms_test.sh        # the VM's 6.1 kernel
#   sudo KVER=6.1.0-NN-amd64 tests/install/dkms_test.sh   # a host
#
# Not in make check: under TCG the dkms build of the module alone takes
# about 3 minutes in the VM (about 10 s on the host).
#
#  - make install-dkms DESTDIR=tmp: dkms.conf (version filled in) and the
#    module's sources;
#  - dkms add / build / install / remove with --dkmstree, --sourcetree and
#    --installtree in tmp, --kernelsourcedir the headers of KVER, the MOK key
#    pair in tmp (mok_signing_key / mok_certificate), --no-depmod (depmod -b
#    tmp instead): dkms status after each step; the built module is vushm,
#    for KVER (vermagic), signed by DKMS's key when sign-file exists; it is
#    installed in updates/dkms/ where modprobe -d tmp finds it;
#  - in the VM only: the DKMS-built module replaces the loaded one (rmmod,
#    insmod: /dev/vushm/control appears), then kmod/vushm.ko goes back;
#  - make uninstall-dkms DESTDIR=tmp leaves nothing.
set -u
TOP=${VUSHM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
KVER=${KVER:-$(uname -r)}
VERSION=$(sed -n 's/^VERSION *?= *//p' "$TOP/Makefile")
W=$(mktemp -d /tmp/vushm-dkms.XXXXXX)
ROOT=$W/root
SRC=$ROOT/usr/src
n=0
fails=0
. "$(dirname "$0")/lib.sh"
trap 'rm -rf "$W"' EXIT


KSRC=
for d in "/lib/modules/$KVER/build" "/usr/src/linux-headers-$KVER"; do
	[ -f "$d/Makefile" ] && { KSRC=$d; break; }
done
if [ "$(id -u)" != 0 ] || ! command -v dkms >/dev/null || [ -z "$KSRC" ]; then
	echo "1..0 # SKIP needs root, dkms (apt-get install dkms) and the headers of $KVER"
	exit 4
fi

echo "KTAP version 1"
echo "1..10"
echo "# $(dkms --version), kernel $KVER, headers $KSRC, DKMS trees in $W"

# dkms with every tree in $W.
export mok_signing_key=$W/mok.key mok_certificate=$W/mok.pub
D=(--dkmstree "$W/dkms" --sourcetree "$SRC" --installtree "$ROOT/lib/modules")
dk() { dkms "$@" "${D[@]}"; }
mkdir -p "$W/dkms" "$ROOT/lib/modules/$KVER"

# dkms status line of vushm/VERSION for KVER must end in ": $1" (or be
# absent when $1 is empty).
status_is() {
	local s
	s=$(dk status -m vushm -v "$VERSION" 2>&1)
	if [ -z "$1" ]; then
		[ -z "$s" ] || { echo "status: $s"; return 1; }
	else
		grep -Eq "^vushm/$VERSION(, $KVER, [^:]*)?: $1\$" <<<"$s" || { echo "status: $s"; return 1; }
	fi
}

check_sources() {
	local f
	make -C "$TOP" --no-print-directory install-dkms DESTDIR="$ROOT" || return 1
	grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$SRC/vushm-$VERSION/dkms.conf" ||
		{ grep PACKAGE_VERSION "$SRC/vushm-$VERSION/dkms.conf"; return 1; }
	for f in Kbuild kmod/Kbuild kmod/main.c kmod/netlink.c kmod/window.c kmod/cmd.c \
		 include/uapi/linux/vushm.h; do
		cmp "$TOP/$f" "$SRC/vushm-$VERSION/$f" || return 1
	done
}
if out=$(check_sources 2>&1); then
	ok "make install-dkms DESTDIR=...: dkms.conf for $VERSION and the module's sources"
else
	diag <<<"$out"
	bail "make install-dkms DESTDIR=...: dkms.conf for $VERSION and the module's sources"
fi

add() { dk add -m vushm -v "$VERSION" && status_is added; }
t "dkms add: status added" add

t0=$(date +%s)
build() {
	dk build -m vushm -v "$VERSION" -k "$KVER" --kernelsourcedir "$KSRC" >"$W/build.out" 2>&1 ||
		{ cat "$W/build.out" "$W/dkms/vushm/$VERSION/build/make.log"; return 1; }
	status_is built
}
if out=$(build 2>&1); then
	ok "dkms build -k $KVER: status built ($(($(date +%s) - t0)) s)"
else
	diag <<<"$out"
	bail "dkms build -k $KVER"
fi
diag 20 <"$W/build.out"

BUILT=$(find "$W/dkms/vushm/$VERSION/$KVER" -path '*/module/vushm.ko*' | head -n 1)
built_module() {
	[ -n "$BUILT" ] || { echo "no module/vushm.ko in the DKMS tree"; return 1; }
	[ "$(modinfo -F name "$BUILT")" = vushm ] || { modinfo "$BUILT"; return 1; }
	[ "$(modinfo -F vermagic "$BUILT" | cut -d' ' -f1)" = "$KVER" ] ||
		{ modinfo -F vermagic "$BUILT"; return 1; }
}
t "the built module is vushm, vermagic $KVER" built_module
if grep -q '^Signing module' "$W/build.out"; then
	t "it is signed with DKMS's key (signer \"DKMS module signing key\")" \
		test "$(modinfo -F signer "$BUILT" 2>&1)" = "DKMS module signing key"
else
	skip "signed with DKMS's key" "dkms found no sign-file: not signed"
fi

install_it() {
	dk install -m vushm -v "$VERSION" -k "$KVER" --kernelsourcedir "$KSRC" --no-depmod ||
		return 1
	status_is installed || return 1
	ls "$ROOT/lib/modules/$KVER/updates/dkms/vushm.ko"* >/dev/null || return 1
}
t "dkms install: status installed, module in updates/dkms/" install_it

found_by_modprobe() {
	local out
	depmod -b "$ROOT" "$KVER" 2>&1 | grep -v 'could not open modules\.\(order\|builtin\|builtin\.modinfo\) at'
	out=$(modprobe -d "$ROOT" -S "$KVER" --show-depends vushm 2>&1) || { echo "$out"; return 1; }
	grep -q "^insmod $ROOT/lib/modules/$KVER/updates/dkms/vushm.ko" <<<"$out" || { echo "$out"; return 1; }
}
t "depmod -b: modprobe finds updates/dkms/vushm.ko" found_by_modprobe

# In the VM, with nothing using vushm: the DKMS module loads (and the
# tree's goes back afterwards).
# shellcheck disable=SC2086 # VUSHM_MODULE_ARGS: a list of param=value
swap_modules() {
	local m i
	m=$(ls "$ROOT/lib/modules/$KVER/updates/dkms/vushm.ko"*)
	rmmod vushm || return 1
	if ! insmod "$m"; then
		insmod "$TOP/kmod/vushm.ko" ${VUSHM_MODULE_ARGS:-}
		return 1
	fi
	for ((i = 0; i < 20; i++)); do
		[ -e /dev/vushm/control ] && break
		sleep 0.1
	done
	echo "loaded: $(grep '^vushm ' /proc/modules)"
	ls -l /dev/vushm/control || { rmmod vushm; insmod "$TOP/kmod/vushm.ko"; return 1; }
	rmmod vushm || return 1
	insmod "$TOP/kmod/vushm.ko" ${VUSHM_MODULE_ARGS:-}
}
if [ "${VUSHM_IN_VM:-0}" != 1 ] || [ "$KVER" != "$(uname -r)" ]; then
	skip "the DKMS-built module loads" "only in the test VM"
elif [ "$(awk '$1 == "vushm" { print $3 }' /proc/modules)" != 0 ]; then
	skip "the DKMS-built module loads" "vushm is in use"
else
	t "the DKMS-built module loads (rmmod vushm, insmod it: /dev/vushm/control), kmod/vushm.ko back" \
		swap_modules
fi

remove() {
	dk remove -m vushm -v "$VERSION" --all --no-depmod || return 1
	status_is "" || return 1
	[ -z "$(find "$ROOT/lib/modules" -name 'vushm.ko*')" ] || { find "$ROOT/lib/modules" -name 'vushm.ko*'; return 1; }
	[ ! -e "$W/dkms/vushm" ] || { find "$W/dkms/vushm"; return 1; }
}
t "dkms remove --all: no status, no module, nothing left in the DKMS tree" remove

uninstall() {
	make -C "$TOP" --no-print-directory uninstall-dkms DESTDIR="$ROOT" >/dev/null || return 1
	[ ! -e "$SRC/vushm-$VERSION" ] || { find "$SRC/vushm-$VERSION"; return 1; }
}
t "make uninstall-dkms DESTDIR=...: the sources are gone" uninstall

echo "# Totals: pass:$((n - fails)) fail:$fails"
[ "$fails" = 0 ]
