#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the kernel release the test VM boots (for the Makefile's KDIR).
set -eu
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
resolve_kver
