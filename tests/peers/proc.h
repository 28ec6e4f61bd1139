/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Child processes the helper tests drive line by line: vushm-helper (reads
 * its "window ..." and "ready" lines) and vu-test-backend (one command on
 * stdin, one reply line on stdout).  stderr goes to a memfd the test can
 * search (the helper's log lines are part of what is tested).  Every read
 * has a timeout, so a hung child fails the test instead of hanging it.
 */
#ifndef VUSHM_PEERS_PROC_H
#define VUSHM_PEERS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROC_LINE_MAX	1024
#define PROC_PATH_MAX	108	/* sun_path */

struct proc {
	pid_t pid;		/* 0: none */
	int in;			/* its stdin; -1 when closed */
	int out;		/* its stdout */
	int err;		/* memfd holding its stderr */
	int status;		/* wait status once reaped */
	bool reaped;
	size_t rlen;
	char rbuf[8192];
	char line[PROC_LINE_MAX];	/* last line read */
};

/* Starts argv[0] (a path) with argv; 0 or -errno. */
int proc_start(struct proc *p, char *const argv[]);
/* Reads the next stdout line into p->line; 0, -ETIMEDOUT, -EPIPE (EOF). */
int proc_read_line(struct proc *p, int timeout_ms);
/* Reads lines until one starts with @prefix; 0 or as above. */
int proc_expect(struct proc *p, const char *prefix, int timeout_ms);
/* Writes one command line (newline added) and reads the reply line. */
int proc_cmd(struct proc *p, int timeout_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Its stderr so far, NUL-terminated, in @buf. */
const char *proc_stderr(struct proc *p, char *buf, size_t len);
/* Whether its stderr so far contains @needle. */
bool proc_stderr_has(struct proc *p, const char *needle);
/* Waits up to @timeout_ms for @needle to appear in its stderr. */
bool proc_stderr_wait(struct proc *p, const char *needle, int timeout_ms);
/* Waits up to @timeout_ms for @needle to appear @n times in its stderr. */
bool proc_stderr_wait_n(struct proc *p, const char *needle, unsigned int n,
			int timeout_ms);
/* Waits up to @timeout_ms for one stderr line holding both @a and @b. */
bool proc_stderr_line(struct proc *p, const char *a, const char *b,
		      int timeout_ms);
/* The same for a NULL-terminated list of needles. */
bool proc_stderr_line_all(struct proc *p, const char *const *needles,
			  int timeout_ms);
/* Number of open fds of the process (from /proc/PID/fd), or -errno. */
int proc_nfds(pid_t pid);
bool proc_alive(struct proc *p);
/* Sends @sig, waits up to @timeout_ms; returns the wait status or -errno. */
int proc_signal_wait(struct proc *p, int sig, int timeout_ms);
/* SIGKILL if alive, reap, close fds; safe to call twice. */
void proc_kill(struct proc *p);

/* Milliseconds on CLOCK_MONOTONIC. */
long long proc_now_ms(void);

#endif /* VUSHM_PEERS_PROC_H */
