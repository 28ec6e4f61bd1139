// SPDX-License-Identifier: GPL-2.0
/*
 * Process stack for the helper tests (see stack.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <uapi/linux/vushm.h>

#include "stack.h"

int stack_init(struct stack *st)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *s;
	int i;

	memset(st, 0, sizeof(*st));
	st->be.pid = st->hp.pid = 0;
	st->be.in = st->be.out = st->be.err = -1;
	st->hp.in = st->hp.out = st->hp.err = -1;
	/* tests/helper/<prog> -> the root is two levels up */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = 0;
	for (i = 0; i < 3; i++) {
		s = strrchr(exe, '/');
		if (!s)
			return -ENOENT;
		*s = 0;
	}
	snprintf(st->top, sizeof(st->top), "%s", exe);
	snprintf(st->dir, sizeof(st->dir), "/tmp/vushm-stack.XXXXXX");
	if (!mkdtemp(st->dir))
		return -errno;
	snprintf(st->be_sock, sizeof(st->be_sock), "%s/be.sock", st->dir);
	snprintf(st->vm_sock, sizeof(st->vm_sock), "%s/vm.sock", st->dir);
	return 0;
}

static int start(struct proc *p, const char *prog, const char *const *pre,
		 const char *const *args)
{
	const char *argv[64];
	int n = 0, i;

	argv[n++] = prog;
	for (i = 0; pre && pre[i]; i++)
		argv[n++] = pre[i];
	for (i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return proc_start(p, (char *const *)argv);
}

int stack_backend(struct stack *st, const char *const *args)
{
	const char *pre[] = { "--socket", st->be_sock, NULL };
	char prog[PATH_MAX + 64];
	int ret;

	snprintf(prog, sizeof(prog), "%s/tests/peers/vu-test-backend", st->top);
	ret = start(&st->be, prog, pre, args);
	if (ret) {
		snprintf(st->why, sizeof(st->why), "%s: %s", prog, strerror(-ret));
		return ret;
	}
	ret = proc_expect(&st->be, "listening", STACK_TIMEOUT_MS);
	if (ret)
		stack_why(st, "vu-test-backend did not start listening");
	return ret;
}

int stack_helper(struct stack *st, const char *const *args)
{
	const char *pre[] = { "--listen", st->vm_sock, "--backend", st->be_sock,
			      NULL };
	char prog[PATH_MAX + 64];
	int ret;

	snprintf(prog, sizeof(prog), "%s/helper/vushm-helper", st->top);
	ret = start(&st->hp, prog, pre, args);
	if (ret) {
		snprintf(st->why, sizeof(st->why), "%s: %s", prog, strerror(-ret));
		return ret;
	}
	st->nwin = 0;
	for (;;) {
		struct stack_win *w = &st->win[st->nwin];

		ret = proc_read_line(&st->hp, STACK_TIMEOUT_MS);
		if (ret) {
			stack_why(st, "vushm-helper did not get ready");
			return ret;
		}
		if (!strcmp(st->hp.line, "ready"))
			return 0;
		if (st->nwin < STACK_MAX_WIN &&
		    sscanf(st->hp.line, "window %" SCNu32 " %63s %127s %" SCNu64,
			   &w->shmid, w->name, w->path, &w->size) == 4)
			st->nwin++;
	}
}

int stack_be(struct stack *st, const char *expect, const char *fmt, ...)
{
	char cmd[PROC_LINE_MAX], what[PROC_LINE_MAX * 2 + 64];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = proc_cmd(&st->be, STACK_TIMEOUT_MS, "%s", cmd);
	if (!ret && (!expect || !strncmp(st->be.line, expect, strlen(expect))))
		return 0;
	snprintf(what, sizeof(what), "backend '%s' replied '%s' (%s), expected '%s'",
		 cmd, ret ? "" : st->be.line, ret ? strerror(-ret) : "ok",
		 expect ? expect : "any");
	stack_why(st, what);
	return -1;
}

const char *stack_why(struct stack *st, const char *what)
{
	static char hp[3000], be[3000];
	size_t hl, bl;

	hp[0] = be[0] = 0;
	if (st->hp.err >= 0)
		proc_stderr(&st->hp, hp, sizeof(hp));
	if (st->be.err >= 0)
		proc_stderr(&st->be, be, sizeof(be));
	hl = strlen(hp);
	bl = strlen(be);
	/* the tails are what matters */
	snprintf(st->why, sizeof(st->why),
		 "%s\n--- vushm-helper stderr (tail) ---\n%s\n--- vu-test-backend stderr (tail) ---\n%s",
		 what, hl > 2500 ? hp + hl - 2500 : hp,
		 bl > 2500 ? be + bl - 2500 : be);
	return st->why;
}

long long stack_sysfs(const char *name, const char *attr)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/vushm/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The helper's windows outlive it (by design: a restart attaches); the
 * test's must not outlive the test, or the module stays busy.
 */
static void destroy_windows(struct stack *st)
{
	struct vushm_window_ref ref;
	unsigned int i;
	int fd;

	fd = open("/dev/vushm/control", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < st->nwin; i++) {
		memset(&ref, 0, sizeof(ref));
		snprintf(ref.name, sizeof(ref.name), "%s", st->win[i].name);
		if (ioctl(fd, VUSHM_DESTROY, &ref) && errno != ENOENT)
			fprintf(stderr, "# destroy window %s: %s\n", ref.name,
				strerror(errno));
	}
	close(fd);
}

void stack_fini(struct stack *st)
{
	char cmd[128];

	proc_kill(&st->hp);
	proc_kill(&st->be);
	destroy_windows(st);
	if (st->dir[0] && strlen(st->dir) > 5) {
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", st->dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", st->dir);
	}
}
