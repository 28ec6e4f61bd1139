# SPDX-License-Identifier: GPL-2.0
#
# Shared by the test Makefiles (tests/*/Makefile, bench/Makefile):
#   TOP       the repository root
#   KSFT_DIR  a kernel tree's tools/testing/selftests, for kselftest_harness.h
#             and kselftest.h (linux-source-6.1; used in place, never copied)
#   STATIC=1  links statically; WERROR= turns -Werror off
# and the check-ksft target for programs that use the harness.

TOP      := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
.DEFAULT_GOAL := all
KSFT_DIR ?= /usr/src/linux-source-6.1/tools/testing/selftests
CC       ?= gcc
CFLAGS   ?= -O2 -g
WERROR   ?= -Werror
ifeq ($(STATIC),1)
LDFLAGS  += -static
endif

check-ksft:
	@test -f $(KSFT_DIR)/kselftest_harness.h || \
	 { echo "KSFT_DIR=$(KSFT_DIR): no kselftest_harness.h there (run 'make deps')" >&2; exit 1; }

.PHONY: check-ksft
