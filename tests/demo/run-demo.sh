#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-demo.sh - the vushm demo.  "make demo" runs it inside the test VM,
# as root, with vushm.ko loaded; it runs tests/demo/vushm-demo and
# tests/demo/helper-demo (built by "make -C tests/demo"; the second needs
# helper/vushm-helper, tests/peers/vu-test-backend and tools/vushmctl, whose
# "monitor" events it checks) and returns: 0 every step behaved as
# described, 1 one did not, 4 the QEMU part of vushm-demo was skipped (no
# qemu-system-x86_64; $VUSHM_QEMU names another binary).

here=$(cd "$(dirname "$0")" && pwd)
demo=${VUSHM_DEMO:-$here/vushm-demo}

if [ ! -x "$demo" ]; then
	echo "run-demo.sh: $demo is not built (make -C tests/demo)"
	exit 1
fi
if [ ! -e /dev/vushm/control ]; then
	echo "run-demo.sh: /dev/vushm/control is missing: load vushm.ko first"
	exit 1
fi

echo "== vushm demo: kernel $(uname -r), module: $(grep '^vushm ' /proc/modules | cut -d' ' -f1-2) bytes"
echo "== part 1: the window, driven directly (a process and QEMU see MAP/UNMAP)"
"$demo"
rc=$?
echo
echo "== part 2: the vhost-user path (backend -> vushm-helper -> kernel -> QEMU's BAR)"
"$here/helper-demo"
rc2=$?
[ "$rc" = 0 ] && rc=$rc2
echo "== vushm demo: exit status $rc"
exit $rc
