// SPDX-License-Identifier: GPL-2.0
/*
 * qtest.c - drive an unmodified QEMU over its qtest text protocol.
 *
 * QEMU command line (Debian's 7.2 has no "-accel qtest"; "-qtest" selects
 * the qtest accelerator by itself):
 *
 *   qemu-system-x86_64 -machine pc -nodefaults -display none -S -m 32M
 *     -qtest stdio -qtest-log none
 *     -object memory-backend-file,id=m0,mem-path=PATH,share=on,size=SIZE
 *     -device ivshmem-plain,memdev=m0
 *
 * -S: no firmware is executed.  QEMU does not exit on EOF of the qtest
 * channel, so qtest_stop() sends SIGTERM after closing it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qtest.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int qtest_find_qemu(const char *qemu, char *buf, size_t len)
{
	const char *path, *p, *end;

	if (!qemu)
		qemu = getenv("VUSHM_QEMU");
	if (!qemu || !*qemu)
		qemu = "qemu-system-x86_64";
	if (strchr(qemu, '/')) {
		if (access(qemu, X_OK))
			return -ENOENT;
		snprintf(buf, len, "%s", qemu);
		return 0;
	}
	path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		snprintf(buf, len, "%.*s/%s", (int)(end - p), p, qemu);
		if (!access(buf, X_OK))
			return 0;
	}
	return -ENOENT;
}

int qtest_start(struct qtest *qt, const struct qtest_config *cfg)
{
	char qemu[512], backend[1024];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errfd;
	const char *t;
	char *argv[64];
	int argc = 0, ret, i;
	pid_t pid;

	memset(qt, 0, sizeof(*qt));
	qt->to_qemu = qt->from_qemu = qt->err_fd = -1;
	qt->timeout_ms = cfg->timeout_ms;
	t = getenv("VUSHM_QTEST_TIMEOUT");
	if (!qt->timeout_ms && t && atoi(t) > 0)
		qt->timeout_ms = atoi(t) * 1000;
	if (!qt->timeout_ms)
		qt->timeout_ms = QTEST_TIMEOUT_MS;

	ret = qtest_find_qemu(cfg->qemu, qemu, sizeof(qemu));
	if (ret) {
		snprintf(qt->err, sizeof(qt->err), "QEMU binary not found");
		return ret;
	}
	snprintf(backend, sizeof(backend),
		 "memory-backend-file,id=m0,mem-path=%s,share=on,size=%" PRIu64,
		 cfg->mem_path, cfg->size);

	argv[argc++] = qemu;
	argv[argc++] = "-machine";
	argv[argc++] = "pc";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-S";
	argv[argc++] = "-m";
	argv[argc++] = (char *)(cfg->ram ? cfg->ram : "32M");
	argv[argc++] = "-qtest";
	argv[argc++] = "stdio";
	argv[argc++] = "-qtest-log";
	argv[argc++] = "none";
	argv[argc++] = "-object";
	argv[argc++] = backend;
	argv[argc++] = "-device";
	argv[argc++] = "ivshmem-plain,memdev=m0";
	for (i = 0; cfg->extra && cfg->extra[i]; i++) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
			snprintf(qt->err, sizeof(qt->err), "too many arguments");
			return -E2BIG;
		}
		argv[argc++] = (char *)cfg->extra[i];
	}
	argv[argc] = NULL;

	/* A write to a dead QEMU must fail with EPIPE, not kill the caller. */
	signal(SIGPIPE, SIG_IGN);

	errfd = memfd_create("qemu-stderr", MFD_CLOEXEC);
	if (errfd < 0 || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		ret = -errno;
		snprintf(qt->err, sizeof(qt->err), "memfd/pipe: %s",
			 strerror(errno));
		goto err_close;
	}

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(qt->err, sizeof(qt->err), "fork: %s", strerror(errno));
		goto err_close;
	}
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		/* Die with the caller; no core files from the SIGBUS cases. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(errfd, 2) < 0)
			_exit(127);
		execv(qemu, argv);
		dprintf(2, "exec %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	qt->pid = pid;
	qt->to_qemu = in[1];
	qt->from_qemu = out[0];
	qt->err_fd = errfd;
	return 0;

err_close:
	if (errfd >= 0)
		close(errfd);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return ret;
}

/* After EOF on QEMU's stdout: say how QEMU ended, if it did. */
static void describe_eof(struct qtest *qt, const char *what)
{
	char st[64];

	qtest_wait(qt, 2000);
	snprintf(qt->err, sizeof(qt->err), "QEMU closed its stdout during %s (%s)",
		 what, qt->reaped ? qtest_status_str(qt->status, st, sizeof(st)) :
				    "still running");
}

/* Next line from QEMU in *line (NUL-terminated, no newline). */
static int recv_line(struct qtest *qt, int64_t deadline, const char *what,
		     char **line)
{
	char *nl;
	ssize_t n;

	if (qt->consumed) {
		memmove(qt->rbuf, qt->rbuf + qt->consumed,
			qt->rlen - qt->consumed);
		qt->rlen -= qt->consumed;
		qt->consumed = 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = qt->from_qemu, .events = POLLIN };
		int64_t left;
		int r;

		nl = memchr(qt->rbuf, '\n', qt->rlen);
		if (nl) {
			*nl = '\0';
			qt->consumed = nl - qt->rbuf + 1;
			*line = qt->rbuf;
			return 0;
		}
		if (qt->rlen == sizeof(qt->rbuf)) {
			snprintf(qt->err, sizeof(qt->err),
				 "reply to %s longer than %zu bytes", what,
				 sizeof(qt->rbuf));
			return -EOVERFLOW;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			snprintf(qt->err, sizeof(qt->err),
				 "no reply from QEMU to %s within %d ms", what,
				 qt->timeout_ms);
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(qt->err, sizeof(qt->err), "poll: %s",
				 strerror(errno));
			return -errno;
		}
		if (r == 0)
			continue;
		n = read(qt->from_qemu, qt->rbuf + qt->rlen,
			 sizeof(qt->rbuf) - qt->rlen);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			snprintf(qt->err, sizeof(qt->err), "read: %s",
				 strerror(errno));
			return -errno;
		}
		if (n == 0) {
			describe_eof(qt, what);
			return -EPIPE;
		}
		qt->rlen += n;
	}
}

static int vcmd(struct qtest *qt, const char **reply, const char *fmt,
		va_list ap)
{
	char *cmd = NULL, what[96], *line = NULL;
	int64_t deadline;
	size_t off = 0;
	int len, ret;

	if (qt->pid <= 0 || qt->to_qemu < 0) {
		snprintf(qt->err, sizeof(qt->err), "QEMU is not running");
		return -ESRCH;
	}
	len = vasprintf(&cmd, fmt, ap);
	if (len < 0)
		return -ENOMEM;
	snprintf(what, sizeof(what), "'%.*s%s'", 60, cmd,
		 len > 60 ? "..." : "");
	cmd = realloc(cmd, len + 2);
	if (!cmd)
		return -ENOMEM;
	cmd[len++] = '\n';

	/* A pipe write blocks only if QEMU stops reading: bound it too. */
	deadline = now_ms() + qt->timeout_ms;
	while (off < (size_t)len) {
		struct pollfd pfd = { .fd = qt->to_qemu, .events = POLLOUT };
		ssize_t n;
		int r;

		if (now_ms() >= deadline) {
			snprintf(qt->err, sizeof(qt->err),
				 "QEMU did not accept %s within %d ms", what,
				 qt->timeout_ms);
			free(cmd);
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, 1000);
		if (r <= 0)
			continue;
		n = write(qt->to_qemu, cmd + off, len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			ret = -errno;
			if (errno == EPIPE)
				describe_eof(qt, what);
			else
				snprintf(qt->err, sizeof(qt->err),
					 "write to QEMU: %s", strerror(errno));
			free(cmd);
			return ret;
		}
		off += n;
	}
	free(cmd);

	for (;;) {
		ret = recv_line(qt, deadline, what, &line);
		if (ret)
			return ret;
		if (!strncmp(line, "IRQ ", 4))
			continue;	/* asynchronous, not our reply */
		if (!strcmp(line, "OK") || !strncmp(line, "OK ", 3)) {
			if (reply)
				*reply = line[2] ? line + 3 : line + 2;
			return 0;
		}
		snprintf(qt->err, sizeof(qt->err), "QEMU replied '%.200s' to %s",
			 line, what);
		return -EPROTO;
	}
}

int qtest_cmd(struct qtest *qt, const char **reply, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vcmd(qt, reply, fmt, ap);
	va_end(ap);
	return ret;
}

/* Parse the "0x..." of an "OK 0x..." reply. */
static int reply_u64(struct qtest *qt, const char *reply, uint64_t *val)
{
	char *end;

	errno = 0;
	*val = strtoull(reply, &end, 0);
	if (errno || end == reply || *end) {
		snprintf(qt->err, sizeof(qt->err), "bad value '%.60s' from QEMU",
			 reply);
		return -EPROTO;
	}
	return 0;
}

int qtest_outl(struct qtest *qt, uint16_t port, uint32_t val)
{
	return qtest_cmd(qt, NULL, "outl 0x%x 0x%x", port, val);
}

int qtest_outw(struct qtest *qt, uint16_t port, uint16_t val)
{
	return qtest_cmd(qt, NULL, "outw 0x%x 0x%x", port, val);
}

int qtest_inl(struct qtest *qt, uint16_t port, uint32_t *val)
{
	const char *r;
	uint64_t v;
	int ret;

	ret = qtest_cmd(qt, &r, "inl 0x%x", port);
	if (!ret)
		ret = reply_u64(qt, r, &v);
	if (!ret)
		*val = v;
	return ret;
}

int qtest_inw(struct qtest *qt, uint16_t port, uint16_t *val)
{
	const char *r;
	uint64_t v;
	int ret;

	ret = qtest_cmd(qt, &r, "inw 0x%x", port);
	if (!ret)
		ret = reply_u64(qt, r, &v);
	if (!ret)
		*val = v;
	return ret;
}

int qtest_readq(struct qtest *qt, uint64_t addr, uint64_t *val)
{
	const char *r;
	int ret;

	ret = qtest_cmd(qt, &r, "readq 0x%" PRIx64, addr);
	return ret ? ret : reply_u64(qt, r, val);
}

int qtest_writeq(struct qtest *qt, uint64_t addr, uint64_t val)
{
	return qtest_cmd(qt, NULL, "writeq 0x%" PRIx64 " 0x%" PRIx64, addr, val);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int qtest_read(struct qtest *qt, uint64_t addr, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = len < QTEST_XFER_MAX ? len : QTEST_XFER_MAX;
		const char *r;
		int ret;

		/* reply: "OK 0x" followed by 2 hex digits per byte */
		ret = qtest_cmd(qt, &r, "read 0x%" PRIx64 " 0x%zx", addr, n);
		if (ret)
			return ret;
		if (strncmp(r, "0x", 2) || strlen(r + 2) != 2 * n) {
			snprintf(qt->err, sizeof(qt->err),
				 "bad reply to read of %zu bytes: '%.40s'", n, r);
			return -EPROTO;
		}
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(r[2 + 2 * i]), lo = hexval(r[3 + 2 * i]);

			if (hi < 0 || lo < 0) {
				snprintf(qt->err, sizeof(qt->err),
					 "bad hex in reply to read");
				return -EPROTO;
			}
			p[i] = hi << 4 | lo;
		}
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int qtest_write(struct qtest *qt, uint64_t addr, const void *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = buf;
	char hex[2 * QTEST_XFER_MAX + 1];

	while (len) {
		size_t n = len < QTEST_XFER_MAX ? len : QTEST_XFER_MAX;
		int ret;

		for (size_t i = 0; i < n; i++) {
			hex[2 * i] = digits[p[i] >> 4];
			hex[2 * i + 1] = digits[p[i] & 15];
		}
		hex[2 * n] = '\0';
		ret = qtest_cmd(qt, NULL, "write 0x%" PRIx64 " 0x%zx 0x%s",
				addr, n, hex);
		if (ret)
			return ret;
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

#define PCI_CONFIG_ADDR	0xcf8
#define PCI_CONFIG_DATA	0xcfc

static uint32_t cfg_addr(int devfn, int reg)
{
	return 0x80000000u | (uint32_t)(devfn & 0xff) << 8 | (reg & 0xfc);
}

int qtest_pci_read32(struct qtest *qt, int devfn, int reg, uint32_t *val)
{
	int ret = qtest_outl(qt, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));

	return ret ? ret : qtest_inl(qt, PCI_CONFIG_DATA, val);
}

int qtest_pci_write32(struct qtest *qt, int devfn, int reg, uint32_t val)
{
	int ret = qtest_outl(qt, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));

	return ret ? ret : qtest_outl(qt, PCI_CONFIG_DATA, val);
}

int qtest_pci_read16(struct qtest *qt, int devfn, int reg, uint16_t *val)
{
	int ret = qtest_outl(qt, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));

	return ret ? ret : qtest_inw(qt, PCI_CONFIG_DATA + (reg & 2), val);
}

int qtest_pci_write16(struct qtest *qt, int devfn, int reg, uint16_t val)
{
	int ret = qtest_outl(qt, PCI_CONFIG_ADDR, cfg_addr(devfn, reg));

	return ret ? ret : qtest_outw(qt, PCI_CONFIG_DATA + (reg & 2), val);
}

int qtest_pci_find(struct qtest *qt, uint16_t vendor, uint16_t device)
{
	for (int slot = 0; slot < 32; slot++) {
		int nfn = 1;

		for (int fn = 0; fn < nfn; fn++) {
			int devfn = slot << 3 | fn;
			uint32_t id, hdr;
			int ret;

			ret = qtest_pci_read32(qt, devfn, 0x00, &id);
			if (ret)
				return ret;
			if ((id & 0xffff) == 0xffff)
				continue;
			if (id == ((uint32_t)device << 16 | vendor))
				return devfn;
			if (fn == 0) {
				ret = qtest_pci_read32(qt, devfn, 0x0c, &hdr);
				if (ret)
					return ret;
				if (hdr & 0x00800000)	/* multi-function */
					nfn = 8;
			}
		}
	}
	snprintf(qt->err, sizeof(qt->err),
		 "no PCI device %04x:%04x on bus 0", vendor, device);
	return -ENODEV;
}

int qtest_ivshmem_bar2(struct qtest *qt, uint64_t addr, uint64_t *size)
{
	const int bar = 0x10 + 4 * QTEST_IVSHMEM_BAR;
	uint32_t lo, hi;
	uint16_t cmd;
	uint64_t sz;
	int devfn, ret;

	devfn = qtest_pci_find(qt, QTEST_IVSHMEM_VENDOR, QTEST_IVSHMEM_DEVICE);
	if (devfn < 0)
		return devfn;

	/* Size the BAR: write all ones, read back the address mask. */
	ret = qtest_pci_write32(qt, devfn, bar, 0xffffffff);
	ret = ret ?: qtest_pci_write32(qt, devfn, bar + 4, 0xffffffff);
	ret = ret ?: qtest_pci_read32(qt, devfn, bar, &lo);
	ret = ret ?: qtest_pci_read32(qt, devfn, bar + 4, &hi);
	if (ret)
		return ret;
	if ((lo & 0x7) != 0x4) {	/* memory, 64-bit */
		snprintf(qt->err, sizeof(qt->err),
			 "BAR%d is not a 64-bit memory BAR (0x%08x)",
			 QTEST_IVSHMEM_BAR, lo);
		return -EPROTO;
	}
	sz = ~((uint64_t)hi << 32 | (lo & ~0xfu)) + 1;
	if (size)
		*size = sz;
	if (!sz || (addr & (sz - 1))) {
		snprintf(qt->err, sizeof(qt->err),
			 "BAR%d size 0x%" PRIx64 " does not fit at 0x%" PRIx64,
			 QTEST_IVSHMEM_BAR, sz, addr);
		return -EINVAL;
	}

	ret = qtest_pci_write32(qt, devfn, bar, (uint32_t)addr);
	ret = ret ?: qtest_pci_write32(qt, devfn, bar + 4, addr >> 32);
	ret = ret ?: qtest_pci_read16(qt, devfn, 0x04, &cmd);
	ret = ret ?: qtest_pci_write16(qt, devfn, 0x04, cmd | 0x2); /* MEM */
	return ret;
}

bool qtest_alive(struct qtest *qt)
{
	int status;
	pid_t r;

	if (qt->pid <= 0 || qt->reaped)
		return false;
	r = waitpid(qt->pid, &status, WNOHANG);
	if (r == qt->pid) {
		qt->reaped = true;
		qt->status = status;
		return false;
	}
	return r == 0;
}

int qtest_wait(struct qtest *qt, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	if (qt->pid <= 0)
		return -ESRCH;
	while (qtest_alive(qt)) {
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
	return qt->reaped ? 0 : -ECHILD;
}

int qtest_stop(struct qtest *qt)
{
	if (qt->pid <= 0)
		return -1;
	if (qt->to_qemu >= 0) {
		close(qt->to_qemu);
		qt->to_qemu = -1;
	}
	if (!qt->reaped) {
		kill(qt->pid, SIGTERM);
		if (qtest_wait(qt, qt->timeout_ms))
			qtest_kill(qt);
	}
	return qt->status;
}

void qtest_kill(struct qtest *qt)
{
	int status;

	if (qt->pid <= 0 || qt->reaped)
		return;
	kill(qt->pid, SIGKILL);
	if (waitpid(qt->pid, &status, 0) == qt->pid) {
		qt->status = status;
		qt->reaped = true;
	}
}

void qtest_close(struct qtest *qt)
{
	if (qt->to_qemu >= 0)
		close(qt->to_qemu);
	if (qt->from_qemu >= 0)
		close(qt->from_qemu);
	if (qt->err_fd >= 0)
		close(qt->err_fd);
	qt->to_qemu = qt->from_qemu = qt->err_fd = -1;
}

const char *qtest_stderr(struct qtest *qt, char *buf, size_t len)
{
	ssize_t n = -1;

	if (!len)
		return buf;
	if (qt->err_fd >= 0)
		n = pread(qt->err_fd, buf, len - 1, 0);
	if (n < 0)
		n = 0;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return buf;
}

const char *qtest_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
	return buf;
}
