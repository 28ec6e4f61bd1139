# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# KTAP output of the tests/install scripts: one line per check, the
# command's output as diagnostics when it fails.  Sourced, not run; the
# script sets n=0 fails=0 first.

ok() { n=$((n + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { sed 's/^/# /' | tail -n "${1:-40}"; }
# t DESCRIPTION COMMAND...: one result; the command's output on failure.
t() {
	local d=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$d"
	else
		notok "$d"
		diag <<<"$out"
	fi
}
# A failure after which nothing else can be checked.
bail() {
	notok "$*"
	echo "# Totals: pass:$((n - fails)) fail:$fails (stopped there)"
	exit 1
}

# VUSHM_DESTROY of window $1 (no vushmctl needed); a missing one is fine.
destroy_window() {
	python3 - "$1" <<'PY'
import errno, fcntl, os, struct, sys
fd = os.open("/dev/vushm/control", os.O_RDWR)
ref = struct.pack("32sI12x", sys.argv[1].encode(), 0)
try:
    fcntl.ioctl(fd, (1 << 30) | (len(ref) << 16) | (0xB8 << 8) | 0x03, ref)
except OSError as e:
    if e.errno != errno.ENOENT:
        raise
PY
}
