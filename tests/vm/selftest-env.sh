#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KTAP self-test of the test VM itself (listed in tests/vm/tests.list, run
# first by make check): the environment the real tests rely on.
set -u
n=0
fails=0
TOP=${VUSHM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}

t() { # description, command...
	local d=$1
	shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $n $d"
	else
		echo "not ok $n $d"
		fails=$((fails + 1))
	fi
}

writable() { local f; f=$(mktemp -p "$1") && rm -f "$f"; }
not() { ! "$@"; }

echo "TAP version 13"
echo "1..9"
t "running in the test VM" test "${VUSHM_IN_VM:-0}" = 1
t "source tree read-only" not writable "$TOP"
t "/tmp writable" writable /tmp
t "/dev/shm writable" writable /dev/shm
t "results dir writable" writable "${VUSHM_OUT:-/nonexistent}"
t "vushm loaded" test -d /sys/module/vushm
t "/dev/vushm/control is a char device" test -c /dev/vushm/control
t "host qemu runs" qemu-system-x86_64 --version
t "VM kernel modules visible" test -s "/lib/modules/$(uname -r)/modules.dep"
echo "# Totals: pass:$((n - fails)) fail:$fails"
[ "$fails" = 0 ]
