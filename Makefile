# SPDX-License-Identifier: GPL-2.0
#
# vushm: module (kbuild, see Kbuild), tests, and the qemu VM they run in.
#
#   make deps       install/fetch what the build and the VM need (Debian 12)
#   make module     build kmod/vushm.ko for the kernel the VM boots
#   make tests      build the test programs (tests/*/Makefile)
#   make check      deps + module + tests, then every test in the VM
#   make vm-run CMD='...'   run a command in the VM, module loaded
#   make vm-shell   interactive shell in the VM (Ctrl-A x quits qemu)
#   make demo       deps + module + tests, then tests/demo/run-demo.sh in the VM
#   make bench      deps + module + bench/, then bench/vushm_bench in the VM;
#                   results in .cache/vm-out/bench/ (BENCH_LONG=1: more reps,
#                   BENCH_ONLY=p4: some parts only)
#   make check-sparse / make lint   sparse (C=2) / checkpatch --strict: report only
#   make fuzz       libFuzzer over the helper's protocol parser (FUZZ_SECONDS=60)
#   make check-debug  make check's tests, in a KASAN + lockdep + kmemleak kernel
#                   built once from linux-source-6.1 (~25 min; then cached)
#   make soak       tests/stress/vushm_soak in the VM (SOAK_TIME=120 s, SOAK_SEED=)
#   make install    module (running kernel), vushm-helper, vushmctl, man pages,
#                   udev rule, systemd unit, modules-load.d (DESTDIR, PREFIX);
#                   make uninstall; make install-dkms (see "install" below)
#
# The VM boots Debian's generic 6.1 kernel (linux-image-6.1.0-NN-amd64,
# unpacked into .cache/, not installed); the module is built against the
# matching linux-headers-6.1.0-NN-amd64, not against the host's kernel.
# tests/vm/vm.sh documents the VM_* knobs (VM_TIMEOUT, VM_VERBOSE, ...).

CACHE    := $(CURDIR)/.cache
VMDIR    := $(CURDIR)/tests/vm
# Recursive on purpose: evaluated when used, i.e. after `make deps` ran.
KVER     ?= $(shell $(VMDIR)/kver.sh)
KDIR     ?= /usr/src/linux-headers-$(KVER)
KSFT_DIR ?= $(CACHE)/linux-src/tools/testing/selftests
CHECKPATCH ?= $(firstword $(wildcard /usr/src/linux-source-6.1/scripts/checkpatch.pl \
			$(CACHE)/linux-src/scripts/checkpatch.pl))
UAPI_INCLUDE := -I$(CURDIR)/include
# Test directories built by `make tests` (each only if it has a Makefile).
TEST_DIRS ?= helper tests/peers tests/selftests tests/stress tests/qemu tests/demo tests/helper bench tools/vushmctl
VM_TIMEOUT ?= 600
export VM_TIMEOUT
# make check's whole VM run: 544 tests take about 6 min alone and 10 to 12
# with other VMs on the cores (each program also has its 300 s limit).
CHECK_VM_TIMEOUT ?= 1800

KBUILD = $(MAKE) -C $(KDIR) M=$(CURDIR)
# kbuild's clean deletes every *.ko, *.[aios], modules.order... under M=,
# which with M=$(CURDIR) includes the VM kernel's modules in .cache/: clean
# kmod/ only.
KCLEAN = $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean >/dev/null; \
	 rm -f modules.order Module.symvers .modules.order.cmd .Module.symvers.cmd

all: module

deps:
	@$(VMDIR)/deps.sh

kdir-check:
	@test -n "$(KVER)" -a -d "$(KDIR)" || \
	 { echo "no kernel headers for the VM kernel (KDIR=$(KDIR)): run 'make deps'" >&2; exit 1; }

# kbuild does not notice a switch between two header trees of the same
# version (e.g. -cloud-amd64 and -amd64): rebuild if vermagic is not KDIR's.
module: kdir-check
	$(KBUILD) W=1 modules
	@want=$$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h); \
	 have=$$(modinfo -F vermagic kmod/vushm.ko | cut -d' ' -f1); \
	 if [ "$$have" != "$$want" ]; then \
		echo "module: kmod/vushm.ko was built for $$have, rebuilding for $$want"; \
		$(KCLEAN); $(KBUILD) W=1 modules; \
	 fi

modules_install: kdir-check
	$(KBUILD) modules_install

# ---- install on a real host --------------------------------------------------
#   make install [DESTDIR=/stage] [PREFIX=/usr/local] [KVER=... | KDIR=...]
#   make uninstall (same variables), make install-module / install-userspace
#   make install-dkms / uninstall-dkms: the module's sources for DKMS
# Unlike `make module` (the test VM's kernel), install builds the module for
# the *running* kernel (uname -r; headers in /lib/modules/KVER/build, else
# /usr/src/linux-headers-KVER) unless KVER= or KDIR= names another; it
# rebuilds kmod/vushm.ko when it was built for another kernel or is older
# than its sources, and builds vushm-helper (liburing-dev) and, if the tree
# has it, vushmctl (libnl-genl-3-dev).  Layout (PREFIX=/usr/local):
#   /lib/modules/KVER/extra/kmod/vushm.ko  + depmod (-b DESTDIR when staging)
#   $(SBINDIR)/vushm-helper, vushmctl
#   $(MANDIR)/man8/vushm-helper.8, vushmctl.8
#   $(UDEVRULESDIR)/60-vushm.rules         $(PREFIX)/lib/udev/rules.d
#   $(UNITDIR)/vushm-helper@.service       $(PREFIX)/lib/systemd/system
#   $(MODULESLOADDIR)/vushm.conf           $(PREFIX)/lib/modules-load.d
#   $(DOCDIR)/examples/helper-vm1.conf     $(PREFIX)/share/doc/vushm
#   $(SYSCONFDIR)/vushm/                   /etc/vushm (helper-INSTANCE.conf)
# systemd 252 and its udevd search /usr/local/lib/... as well as /usr/lib/...
# Without DESTDIR, install also runs depmod, `systemctl daemon-reload` and
# `udevadm control --reload` (when systemd/udevd run); with DESTDIR it touches
# nothing outside DESTDIR.
VERSION        ?= 0.1
PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/vushm
SYSCONFDIR     ?= /etc
UNITDIR        ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR   ?= $(PREFIX)/lib/udev/rules.d
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
DKMSSRCDIR     ?= /usr/src/vushm-$(VERSION)
INSTALL        ?= install
VUSHMCTL_DIR   := tools/vushmctl

# KVER/KDIR given by the user (command line or environment) win; the
# defaults at the top of this file are the VM's kernel and do not count.
is_set = $(filter command line environment environment override override,$(origin $(1)))
ifneq ($(call is_set,KDIR),)
INST_KDIR = $(KDIR)
INST_KVER = $(if $(call is_set,KVER),$(KVER),$(shell sed -n 's/^#define UTS_RELEASE "\(.*\)"$$/\1/p' \
		$(KDIR)/include/generated/utsrelease.h 2>/dev/null))
else
INST_KVER = $(if $(call is_set,KVER),$(KVER),$(shell uname -r))
INST_KDIR = $(patsubst %/Makefile,%,$(firstword $(wildcard /lib/modules/$(INST_KVER)/build/Makefile \
		/usr/src/linux-headers-$(INST_KVER)/Makefile)))
endif
INST_KBUILD = $(MAKE) -C $(INST_KDIR) M=$(CURDIR)
INST_MODDIR = $(DESTDIR)/lib/modules/$(INST_KVER)

install-kdir-check:
	@test -n "$(INST_KVER)" -a -f "$(INST_KDIR)/Makefile" || \
	 { echo "install: no kernel headers for $(or $(INST_KVER),KVER?) (looked for" \
		"$(or $(INST_KDIR),/lib/modules/$(INST_KVER)/build and /usr/src/linux-headers-$(INST_KVER))):" \
		"install linux-headers-$(INST_KVER), or say KVER= or KDIR=" >&2; exit 1; }

# Nothing is rebuilt (nothing written in the tree) when vushm.ko is fresh.
install-module-build: install-kdir-check
	@if [ -f kmod/vushm.ko ] && [ -z "$$(find $(KSRC) -newer kmod/vushm.ko)" ] && \
	    [ "$$(modinfo -F vermagic kmod/vushm.ko | cut -d' ' -f1)" = "$(INST_KVER)" ]; then :; \
	 else \
		echo "install: building kmod/vushm.ko for $(INST_KVER) ($(INST_KDIR))"; \
		$(MAKE) -C $(INST_KDIR) M=$(CURDIR)/kmod clean >/dev/null; \
		rm -f modules.order Module.symvers .modules.order.cmd .Module.symvers.cmd; \
		$(INST_KBUILD) modules || exit 1; \
	 fi

# Builds what install-userspace installs.
userspace:
	@test -f /usr/include/liburing.h || \
	 { echo "userspace: vushm-helper needs liburing: apt-get install liburing-dev" >&2; exit 1; }
	@$(MAKE) --no-print-directory -C helper UAPI_INCLUDE=$(UAPI_INCLUDE)
	@if [ -f $(VUSHMCTL_DIR)/Makefile ]; then \
		pkg-config --exists libnl-genl-3.0 libnl-3.0 || \
		{ echo "userspace: vushmctl needs libnl: apt-get install libnl-genl-3-dev" >&2; exit 1; }; \
		$(MAKE) --no-print-directory -C $(VUSHMCTL_DIR) UAPI_INCLUDE=$(UAPI_INCLUDE); \
	 else echo "userspace: no $(VUSHMCTL_DIR) in this tree: vushmctl not built"; fi

install: install-module install-userspace

# kbuild signs external modules when the kernel has CONFIG_MODULE_SIG_ALL,
# with the key of the kernel build; distribution headers do not have it (and
# sign-file only prints SSL errors), so sign only when KDIR has
# certs/signing_key.pem (a self-built kernel).  Secure Boot hosts: see README.
INST_SIGN = $(if $(wildcard $(INST_KDIR)/certs/signing_key.pem),,CONFIG_MODULE_SIG_ALL=)
install-module: install-module-build
	$(INST_KBUILD) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=extra $(INST_SIGN) modules_install
	@# A staging DESTDIR has no modules.order/builtin: depmod's warnings
	@# about those are dropped.
	@if [ -n "$(DESTDIR)" ]; then \
		echo "depmod -b $(DESTDIR) $(INST_KVER)"; \
		out=$$(depmod -b $(DESTDIR) $(INST_KVER) 2>&1) || { echo "$$out" >&2; exit 1; }; \
		echo "$$out" | grep -v 'could not open modules\.\(order\|builtin\|builtin\.modinfo\) at' >&2 || :; \
	 else echo "depmod $(INST_KVER)"; depmod $(INST_KVER); fi

install-userspace: userspace
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UDEVRULESDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MODULESLOADDIR) $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/vushm
	$(INSTALL) -m 0755 helper/vushm-helper $(DESTDIR)$(SBINDIR)/vushm-helper
	$(INSTALL) -m 0644 man/vushm-helper.8 $(DESTDIR)$(MANDIR)/man8/vushm-helper.8
	@if [ -f $(VUSHMCTL_DIR)/Makefile ]; then \
		echo "$(INSTALL) -m 0755 $(VUSHMCTL_DIR)/vushmctl $(DESTDIR)$(SBINDIR)/vushmctl"; \
		$(INSTALL) -m 0755 $(VUSHMCTL_DIR)/vushmctl $(DESTDIR)$(SBINDIR)/vushmctl && \
		$(INSTALL) -m 0644 man/vushmctl.8 $(DESTDIR)$(MANDIR)/man8/vushmctl.8 || exit 1; \
	 fi
	$(INSTALL) -m 0644 packaging/udev/60-vushm.rules $(DESTDIR)$(UDEVRULESDIR)/60-vushm.rules
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		packaging/systemd/vushm-helper@.service.in > $(DESTDIR)$(UNITDIR)/vushm-helper@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vushm-helper@.service
	$(INSTALL) -m 0644 packaging/modules-load.d/vushm.conf $(DESTDIR)$(MODULESLOADDIR)/vushm.conf
	$(INSTALL) -m 0644 packaging/systemd/helper-example.conf $(DESTDIR)$(DOCDIR)/examples/helper-vm1.conf
	@if [ -z "$(DESTDIR)" ]; then \
		if [ -d /run/systemd/system ]; then echo "systemctl daemon-reload"; systemctl daemon-reload; fi; \
		if [ -S /run/udev/control ]; then echo "udevadm control --reload"; udevadm control --reload; fi; \
	 fi

# Removes what install put there (a user's /etc/vushm/helper-*.conf stays);
# with DESTDIR also the depmod indexes once no module is left, and the
# directories install created, up to DESTDIR.
INSTALLED_FILES = $(SBINDIR)/vushm-helper $(SBINDIR)/vushmctl $(MANDIR)/man8/vushm-helper.8 \
	$(MANDIR)/man8/vushmctl.8 $(UDEVRULESDIR)/60-vushm.rules $(UNITDIR)/vushm-helper@.service \
	$(MODULESLOADDIR)/vushm.conf $(DOCDIR)/examples/helper-vm1.conf
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES)) $(INST_MODDIR)/extra/kmod/vushm.ko*
	@rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/vushm 2>/dev/null || :
	@if [ -z "$(DESTDIR)" ]; then \
		if [ -d $(INST_MODDIR) ]; then echo "depmod $(INST_KVER)"; depmod $(INST_KVER); fi; \
		if [ -d /run/systemd/system ]; then echo "systemctl daemon-reload"; systemctl daemon-reload; fi; \
		if [ -S /run/udev/control ]; then echo "udevadm control --reload"; udevadm control --reload; fi; \
	 else \
		if [ -d $(INST_MODDIR) ] && [ -z "$$(find $(INST_MODDIR) -name '*.ko*' -print -quit)" ]; then \
			rm -f $(INST_MODDIR)/modules.*; fi; \
		for d in $(sort $(dir $(addprefix $(DESTDIR),$(INSTALLED_FILES))) $(INST_MODDIR)/extra/kmod/ \
			 $(DESTDIR)$(SYSCONFDIR)/vushm/); do \
			d=$${d%/}; \
			while [ "$$d" != "$(DESTDIR)" ] && [ "$${d#$(DESTDIR)/}" != "$$d" ] && \
			      { [ ! -e "$$d" ] || rmdir "$$d" 2>/dev/null; }; do d=$${d%/*}; done; \
		done; \
	 fi

# DKMS: the module's sources and dkms.conf in $(DESTDIR)$(DKMSSRCDIR); then
#   dkms add -m vushm -v $(VERSION) && dkms install -m vushm -v $(VERSION)
# (use it instead of install-module, not with it).
DKMS_SRC = Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.[ch])) kmod/Kbuild $(wildcard include/uapi/linux/*.h)
install-dkms:
	$(INSTALL) -d $(DESTDIR)$(DKMSSRCDIR)/kmod $(DESTDIR)$(DKMSSRCDIR)/include/uapi/linux
	for f in $(DKMS_SRC); do $(INSTALL) -m 0644 $$f $(DESTDIR)$(DKMSSRCDIR)/$$f || exit 1; done
	sed 's|@VERSION@|$(VERSION)|g' packaging/dkms/dkms.conf.in > $(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMSSRCDIR)/dkms.conf

uninstall-dkms:
	rm -rf $(DESTDIR)$(DKMSSRCDIR)

# vm-run/vm-shell/demo skip kbuild (a few seconds even when there is nothing
# to do) when vushm.ko is newer than its sources and built for the VM kernel.
KSRC := Kbuild $(filter-out %.mod.c,$(wildcard kmod/Kbuild kmod/*.[ch])) \
	$(wildcard include/uapi/linux/*.h)
module-fresh:
	@if [ -f kmod/vushm.ko ] && [ -z "$$(find $(KSRC) -newer kmod/vushm.ko)" ] && \
	    modinfo -F vermagic kmod/vushm.ko | grep -q "^$(KVER) "; then :; \
	 else $(MAKE) --no-print-directory module >/dev/null; fi

ksft-check:
	@test -f $(KSFT_DIR)/kselftest_harness.h -a -f $(KSFT_DIR)/kselftest.h || \
	 { echo "no kselftest headers in KSFT_DIR=$(KSFT_DIR): run 'make deps'" >&2; exit 1; }

tests: ksft-check
	@set -e; for d in $(TEST_DIRS); do \
		if [ -f $$d/Makefile ]; then \
			$(MAKE) -C $$d KSFT_DIR=$(KSFT_DIR) UAPI_INCLUDE=$(UAPI_INCLUDE); \
		else \
			echo "tests: $$d has no Makefile (yet): skipped"; \
		fi; \
	done

check:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory check-build
	@$(MAKE) --no-print-directory module tests userspace
	@VM_TIMEOUT=$(CHECK_VM_TIMEOUT) $(VMDIR)/vm.sh check

# The quality gate that `make check` runs before the VM: a full rebuild with
# W=1 and sparse (C=2) must print no warning, checkpatch --strict may report
# only the justified types below, the UAPI header must compile alone with
# -std=c90, and modules_install must work.
#   LINUX_VERSION_CODE, CONSTANT_COMPARISON: kmod/compat.h has to key on the
#     kernel version (out-of-tree module); the comparisons read naturally.
#   MACRO_ARG_REUSE, MACRO_ARG_PRECEDENCE: the sysfs stats macros in
#     kmod/main.c only paste @field into names.
CHECKPATCH_ALLOWED := LINUX_VERSION_CODE|CONSTANT_COMPARISON|MACRO_ARG_REUSE|MACRO_ARG_PRECEDENCE
check-build: kdir-check
	@mkdir -p $(CACHE)
	@$(KCLEAN)
	@$(KBUILD) W=1 C=2 modules > $(CACHE)/build.log 2>&1 || { cat $(CACHE)/build.log; exit 1; }
	@if grep -E '(warning|error):' $(CACHE)/build.log; then \
		echo "check-build: compiler or sparse warnings (log: .cache/build.log)" >&2; exit 1; fi
	@echo "check-build: W=1 and sparse C=2: no warnings"
	@test -n "$(CHECKPATCH)" || { echo "check-build: no checkpatch.pl: run 'make deps'" >&2; exit 1; }
	@perl $(CHECKPATCH) --strict --no-tree --show-types --terse -f $(LINT_C) > $(CACHE)/checkpatch.log || true
	@if grep -E ': (ERROR|WARNING|CHECK):' $(CACHE)/checkpatch.log | \
	    grep -vE ':($(CHECKPATCH_ALLOWED)):'; then \
		echo "check-build: checkpatch --strict issues (log: .cache/checkpatch.log)" >&2; exit 1; fi
	@echo "check-build: checkpatch --strict: only the justified types remain"
	@for h in $(wildcard include/uapi/linux/*.h); do \
		echo "#include <linux/$${h##*/}>" | \
		gcc -std=c90 -pedantic -Wall -Wextra -Werror -I include/uapi -fsyntax-only -x c - || exit 1; \
	done
	@echo "check-build: UAPI header compiles alone with -std=c90 -pedantic -Wall"
	@rm -rf $(CACHE)/modinst && $(KBUILD) modules_install INSTALL_MOD_PATH=$(CACHE)/modinst >/dev/null 2>&1 && \
	 test -n "$$(find $(CACHE)/modinst -name vushm.ko)" || { echo "check-build: modules_install failed" >&2; exit 1; }
	@echo "check-build: modules_install works"

# CMD is passed verbatim (no make expansion): CMD='echo $$HOME' is fine.
vm-run:
	$(if $(value CMD),,@echo "usage: make vm-run CMD='shell command'" >&2; exit 2)
	@$(MAKE) --no-print-directory deps
	@if [ "$(VUSHM_NO_MODULE)" != 1 ]; then $(MAKE) --no-print-directory module-fresh; fi
	@$(VMDIR)/vm.sh run '$(subst ','\'',$(value CMD))'

vm-shell:
	@$(MAKE) --no-print-directory deps
	@if [ "$(VUSHM_NO_MODULE)" != 1 ]; then $(MAKE) --no-print-directory module-fresh; fi
	@$(VMDIR)/vm.sh shell

demo:
	@test -f tests/demo/run-demo.sh || \
	 { echo "demo: tests/demo/run-demo.sh does not exist (yet): nothing to run" >&2; exit 1; }
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory module tests
	@$(VMDIR)/vm.sh run 'bash tests/demo/run-demo.sh'

# The debug kernel (tests/vm/debug-kernel.sh: KASAN, PROVE_LOCKING, DEBUG_VM,
# DEBUG_ATOMIC_SLEEP, DEBUG_LIST, kmemleak, ...) is built on first use and
# cached under .cache/debug-kernel/ by source version and config.  The module
# is built against it (kmod/vushm.ko: the next `make check` rebuilds it for
# Debian's kernel), every tests.list program runs in it with longer
# timeouts, plus tests/selftests/tests.debug.list (fault injection), and
# the run ends with a kmemleak scan.  Any KASAN report,
# lockdep splat, BUG, WARNING, sleep-in-atomic or leak fails it.
DEBUG_VM_TEST_TIMEOUT ?= 1800
DEBUG_VM_TIMEOUT      ?= 4800
check-debug:
	@$(MAKE) --no-print-directory deps
	@$(VMDIR)/debug-kernel.sh >$(CACHE)/debug-kver
	@dk=$$(cat $(CACHE)/debug-kver); \
	 $(MAKE) --no-print-directory module KVER=$$dk KDIR=$(CACHE)/debug-kernel/$$dk/build
	@$(MAKE) --no-print-directory tests userspace
	@VM_TEST_TIMEOUT=$(DEBUG_VM_TEST_TIMEOUT) VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) \
	 VM_EXTRA_LISTS=tests/selftests/tests.debug.list \
	 KVER=$$(cat $(CACHE)/debug-kver) $(VMDIR)/vm.sh check

SOAK_TIME ?= 120
soak:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory module-fresh
	@$(MAKE) --no-print-directory -C tests/stress KSFT_DIR=$(KSFT_DIR) vushm_soak
	@VM_TIMEOUT=$$(($(SOAK_TIME) + 600)) $(VMDIR)/vm.sh run \
	 'tests/stress/vushm_soak --time $(SOAK_TIME) $(if $(SOAK_SEED),--seed $(SOAK_SEED))'

# The VM writes results.json under .cache/vm-out/, shared back.
# BENCH_ONLY=p4 (or p1,p2,p3,diag,p5,p4, comma-separated) runs those parts.
BENCH_OUT := $(CACHE)/vm-out/bench
bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory module
	@$(MAKE) --no-print-directory -C helper UAPI_INCLUDE=$(UAPI_INCLUDE)
	@$(MAKE) --no-print-directory -C tests/peers UAPI_INCLUDE=$(UAPI_INCLUDE)
	@$(MAKE) --no-print-directory -C bench UAPI_INCLUDE=$(UAPI_INCLUDE)
	@mkdir -p $(BENCH_OUT)
	@$(VMDIR)/vm.sh run 'bench/vushm_bench $(if $(filter 1,$(BENCH_LONG)),--long) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) -o $(BENCH_OUT)/results.json'
ifeq ($(BENCH_ONLY),)
	@command -v gnuplot >/dev/null || { echo "bench: installing gnuplot-nox for the plots" >&2; \
	 DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends gnuplot-nox >/dev/null || \
	 { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends gnuplot-nox >/dev/null; }; }
	@gnuplot -e "dir='$(BENCH_OUT)'" bench/plot.gp && echo "plots: $(BENCH_OUT)/size.png $(BENCH_OUT)/scale.png"
endif

# clang + ASan/UBSan over helper/proto.c for FUZZ_SECONDS; corpus and any
# crash reproducer in .cache/fuzz/ (tests/fuzz/Makefile).
FUZZ_SECONDS ?= 60
fuzz:
	@$(MAKE) --no-print-directory -C tests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS) OUT=$(CACHE)/fuzz

# Report only: these do not fail while the module is being written.
check-sparse: kdir-check
	@mkdir -p $(CACHE)
	-@$(KBUILD) C=2 W=1 modules 2>&1 | tee $(CACHE)/sparse.log; \
	 n=$$(grep -cE ': (warning|error):' $(CACHE)/sparse.log); \
	 echo "check-sparse: $$n warning(s)/error(s) (log: .cache/sparse.log)"

LINT_C = $(filter-out %.mod.c,$(wildcard kmod/*.[ch])) $(wildcard include/uapi/linux/*.h)
lint:
	@mkdir -p $(CACHE)
	@if [ -z "$(CHECKPATCH)" ]; then \
		echo "lint: no checkpatch.pl: run 'make deps'"; \
	else \
		perl $(CHECKPATCH) --strict --no-tree --show-types --terse -f \
			$(LINT_C) | tee $(CACHE)/checkpatch.log; \
		echo "lint: checkpatch --strict: $$(grep -cE ': (ERROR|WARNING|CHECK):' \
			$(CACHE)/checkpatch.log) issue(s)"; \
	fi
	@for h in $(wildcard include/uapi/linux/*.h); do \
		echo "#include <linux/$${h##*/}>" | \
		gcc -std=c90 -pedantic -Wall -Wextra -I include/uapi -fsyntax-only -x c - && \
		echo "lint: $$h compiles with -std=c90 -pedantic" || \
		echo "lint: $$h does not compile with -std=c90 -pedantic"; \
	done
	@if command -v shellcheck >/dev/null; then \
		shellcheck -x tests/vm/*.sh tests/vm/init tests/install/*.sh .ci/run && \
		echo "lint: shellcheck clean" || echo "lint: shellcheck found issues"; \
	else \
		echo "lint: shellcheck not installed: skipped"; \
	fi

clean:
	@if [ -d "$(KDIR)" ]; then $(KCLEAN); else \
		rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd \
		      kmod/modules.order modules.order Module.symvers; fi
	@for d in $(TEST_DIRS); do \
		if [ -f $$d/Makefile ]; then $(MAKE) -C $$d clean; fi; \
	done

# Also drops the VM kernel, the kselftest headers and the VM results.
distclean: clean
	rm -rf $(CACHE)

.PHONY: all deps kdir-check check-build module module-fresh modules_install ksft-check tests check check-debug soak \
	install install-module install-userspace install-kdir-check install-module-build userspace \
	uninstall install-dkms uninstall-dkms \
	vm-run vm-shell demo bench fuzz check-sparse lint clean distclean
