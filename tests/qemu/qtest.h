/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qtest.h - drive an unmodified QEMU over its qtest text protocol.
 *
 * QEMU is started with "-qtest stdio -S": the guest never runs, and the
 * test plays the guest by sending qtest commands ("outl 0xcf8 0x80001018",
 * "readq 0xe0000000", ...) on QEMU's stdin and reading the "OK ..." replies
 * on its stdout.  Every read from QEMU is bounded by a timeout, so a hung
 * QEMU fails the caller instead of hanging it.  QEMU's stderr goes to a
 * memfd that qtest_stderr() returns.
 *
 * Used by tests/qemu/vushm_qemu.c and tests/demo/vushm-demo.c.
 */
#ifndef VUSHM_TESTS_QTEST_H
#define VUSHM_TESTS_QTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ivshmem-plain: PCI IDs and the BAR that maps its memory backend */
#define QTEST_IVSHMEM_VENDOR	0x1af4
#define QTEST_IVSHMEM_DEVICE	0x1110
#define QTEST_IVSHMEM_BAR	2

/*
 * Where qtest_ivshmem_bar2() puts BAR2: inside the 32-bit PCI hole of the
 * i440FX "pc" machine (RAM ends at -m, the hole runs up to the IOAPIC at
 * 0xfec00000), so up to 256 MiB fit without colliding with anything.
 */
#define QTEST_BAR2_ADDR		0xe0000000ULL

#define QTEST_TIMEOUT_MS	60000	/* default; $VUSHM_QTEST_TIMEOUT (s) */
#define QTEST_LINE_MAX		(64 * 1024)
#define QTEST_XFER_MAX		4096	/* bytes per "read"/"write" command */

struct qtest_config {
	const char *qemu;	/* NULL: $VUSHM_QEMU, else qemu-system-x86_64 */
	const char *mem_path;	/* memory-backend-file mem-path= */
	uint64_t size;		/* memory-backend-file size= (bytes) */
	const char *ram;	/* -m; NULL: "32M" */
	int timeout_ms;		/* per command; 0: default */
	/* More arguments (e.g. a vhost-user device), NULL-terminated. */
	const char *const *extra;
};

struct qtest {
	pid_t pid;		/* QEMU; 0 when none */
	int to_qemu;		/* QEMU's stdin */
	int from_qemu;		/* QEMU's stdout */
	int err_fd;		/* memfd: QEMU's stderr */
	int timeout_ms;
	bool reaped;
	int status;		/* wait status, valid once reaped */
	size_t rlen;		/* bytes in rbuf */
	size_t consumed;	/* bytes of rbuf returned as the last line */
	char err[512];		/* why the last call failed */
	char rbuf[QTEST_LINE_MAX];
};

/* Path of the QEMU binary in @buf, or -ENOENT. */
int qtest_find_qemu(const char *qemu, char *buf, size_t len);

/* Start QEMU (see qtest.c for the command line). 0 or -errno. */
int qtest_start(struct qtest *qt, const struct qtest_config *cfg);

/*
 * Send one command and wait for its reply, skipping asynchronous "IRQ"
 * lines.  On "OK" returns 0 and, if @reply, points it at the text after
 * "OK " (valid until the next call).  "FAIL"/"ERR": -EPROTO; QEMU closed
 * its stdout (died): -EPIPE; no reply in time: -ETIMEDOUT.  qt->err says
 * what happened.
 */
int qtest_cmd(struct qtest *qt, const char **reply, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int qtest_outl(struct qtest *qt, uint16_t port, uint32_t val);
int qtest_outw(struct qtest *qt, uint16_t port, uint16_t val);
int qtest_inl(struct qtest *qt, uint16_t port, uint32_t *val);
int qtest_inw(struct qtest *qt, uint16_t port, uint16_t *val);
int qtest_readq(struct qtest *qt, uint64_t addr, uint64_t *val);
int qtest_writeq(struct qtest *qt, uint64_t addr, uint64_t val);
/* Guest-physical byte copies, split into QTEST_XFER_MAX pieces. */
int qtest_read(struct qtest *qt, uint64_t addr, void *buf, size_t len);
int qtest_write(struct qtest *qt, uint64_t addr, const void *buf, size_t len);

/* PCI configuration space of bus 0 through ports 0xcf8/0xcfc. */
int qtest_pci_read32(struct qtest *qt, int devfn, int reg, uint32_t *val);
int qtest_pci_write32(struct qtest *qt, int devfn, int reg, uint32_t val);
int qtest_pci_read16(struct qtest *qt, int devfn, int reg, uint16_t *val);
int qtest_pci_write16(struct qtest *qt, int devfn, int reg, uint16_t val);
/* devfn of the first function with these IDs on bus 0, or -ENODEV. */
int qtest_pci_find(struct qtest *qt, uint16_t vendor, uint16_t device);

/*
 * Find the ivshmem device, size its 64-bit BAR2 (*size), place it at @addr
 * and enable memory decoding: from then on guest-physical @addr + off is
 * byte off of the memory backend.  0 or -errno.
 */
int qtest_ivshmem_bar2(struct qtest *qt, uint64_t addr, uint64_t *size);

/* True while QEMU has not exited (reaps it if it has). */
bool qtest_alive(struct qtest *qt);
/* Wait up to @timeout_ms for QEMU to exit; 0 (qt->status set) or -ETIMEDOUT. */
int qtest_wait(struct qtest *qt, int timeout_ms);
/*
 * Stop QEMU: close its stdin (QEMU keeps running on qtest EOF), SIGTERM
 * (QEMU exits 0), SIGKILL if it does not exit in time.  Returns the wait
 * status; if QEMU had already exited, its status from then.
 */
int qtest_stop(struct qtest *qt);
/* SIGKILL and reap, for cleanup paths; safe on a stopped qtest. */
void qtest_kill(struct qtest *qt);
/* Close the descriptors; call after qtest_stop/qtest_kill. */
void qtest_close(struct qtest *qt);

/* QEMU's stderr so far, NUL-terminated, trailing newline removed. */
const char *qtest_stderr(struct qtest *qt, char *buf, size_t len);
/* "exited with 0", "killed by signal 7 (Bus error)" */
const char *qtest_status_str(int status, char *buf, size_t len);

#endif /* VUSHM_TESTS_QTEST_H */
