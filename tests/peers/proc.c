// SPDX-License-Identifier: GPL-2.0
/*
 * Line-driven child processes for the helper tests (see proc.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

long long proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int proc_start(struct proc *p, char *const argv[])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err;

	memset(p, 0, sizeof(*p));
	p->in = p->out = p->err = -1;
	/* A write to a dead child must fail with EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	err = memfd_create("proc-stderr", MFD_CLOEXEC);
	if (err < 0 || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		goto fail;
	fflush(stdout);
	fflush(stderr);
	p->pid = fork();
	if (p->pid < 0)
		goto fail;
	if (!p->pid) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err;
	return 0;
fail:
	err = -errno;
	if (p->err >= 0)
		close(p->err);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	p->pid = 0;
	return err;
}

int proc_read_line(struct proc *p, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(p->rbuf, '\n', p->rlen);
		struct pollfd pfd = { .fd = p->out, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t len = nl - p->rbuf;

			if (len >= sizeof(p->line))
				len = sizeof(p->line) - 1;
			memcpy(p->line, p->rbuf, len);
			p->line[len] = 0;
			p->rlen -= nl + 1 - p->rbuf;
			memmove(p->rbuf, nl + 1, p->rlen);
			return 0;
		}
		if (p->rlen == sizeof(p->rbuf))
			p->rlen = 0;	/* a line longer than any we expect */
		left = end - proc_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(p->out, p->rbuf + p->rlen, sizeof(p->rbuf) - p->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p->rlen += n;
	}
}

int proc_expect(struct proc *p, const char *prefix, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	int ret;

	do {
		ret = proc_read_line(p, end - proc_now_ms() > 0 ?
				     end - proc_now_ms() : 0);
		if (ret)
			return ret;
	} while (strncmp(p->line, prefix, strlen(prefix)));
	return 0;
}

int proc_cmd(struct proc *p, int timeout_ms, const char *fmt, ...)
{
	char buf[PROC_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 1)
		return -EINVAL;
	buf[n++] = '\n';
	if (write(p->in, buf, n) != n)
		return -EPIPE;
	return proc_read_line(p, timeout_ms);
}

const char *proc_stderr(struct proc *p, char *buf, size_t len)
{
	ssize_t n = pread(p->err, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

bool proc_stderr_has(struct proc *p, const char *needle)
{
	static char buf[1 << 20];

	return strstr(proc_stderr(p, buf, sizeof(buf)), needle) != NULL;
}

bool proc_stderr_wait(struct proc *p, const char *needle, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;

	while (!proc_stderr_has(p, needle)) {
		if (proc_now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

static unsigned int count(const char *hay, const char *needle)
{
	unsigned int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

bool proc_stderr_wait_n(struct proc *p, const char *needle, unsigned int n,
			int timeout_ms)
{
	static char buf[1 << 20];
	long long end = proc_now_ms() + timeout_ms;

	while (count(proc_stderr(p, buf, sizeof(buf)), needle) < n) {
		if (proc_now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

static bool line_with(const char *hay, const char *a, const char *b)
{
	const char *l = hay, *nl;

	for (; *l; l = nl + 1) {
		const char *x = strstr(l, a), *y = strstr(l, b);

		nl = strchr(l, '\n');
		if (!nl)
			nl = l + strlen(l) - 1;
		if (x && y && x < nl + 1 && y < nl + 1)
			return true;
		if (!nl[1])
			break;
	}
	return false;
}

bool proc_stderr_line(struct proc *p, const char *a, const char *b,
		      int timeout_ms)
{
	static char buf[1 << 20];
	long long end = proc_now_ms() + timeout_ms;

	while (!line_with(proc_stderr(p, buf, sizeof(buf)), a, b)) {
		if (proc_now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

/* Whether one line of hay holds every needle. */
static bool line_with_all(const char *hay, const char *const *needles)
{
	const char *l = hay, *nl;
	unsigned int i;

	for (; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			nl = l + strlen(l);
		for (i = 0; needles[i]; i++) {
			const char *x = strstr(l, needles[i]);

			if (!x || x >= nl)
				break;
		}
		if (!needles[i])
			return true;
		if (!*nl)
			break;
	}
	return false;
}

bool proc_stderr_line_all(struct proc *p, const char *const *needles,
			  int timeout_ms)
{
	static char buf[1 << 20];
	long long end = proc_now_ms() + timeout_ms;

	while (!line_with_all(proc_stderr(p, buf, sizeof(buf)), needles)) {
		if (proc_now_ms() > end)
			return false;
		usleep(20000);
	}
	return true;
}

int proc_nfds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

bool proc_alive(struct proc *p)
{
	if (!p->pid || p->reaped)
		return false;
	if (waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
		p->reaped = true;
		return false;
	}
	return true;
}

int proc_signal_wait(struct proc *p, int sig, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;

	if (!p->pid)
		return -ESRCH;
	if (!p->reaped && sig)
		kill(p->pid, sig);
	while (proc_alive(p)) {
		if (proc_now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return p->status;
}

void proc_kill(struct proc *p)
{
	if (p->pid && !p->reaped) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
	}
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	if (p->err >= 0)
		close(p->err);
	p->in = p->out = p->err = -1;
}
