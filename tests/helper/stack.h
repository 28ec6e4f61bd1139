/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The process stack the helper tests run: vu-test-backend (tests/peers)
 * listening on DIR/be.sock, vushm-helper (helper/) listening on DIR/vm.sock
 * and bridging to it, and whatever VMM the test plays (the test frontend
 * in-process, or QEMU).  DIR is a fresh directory under /tmp.
 */
#ifndef VUSHM_TESTS_STACK_H
#define VUSHM_TESTS_STACK_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>

#include "proc.h"

#define STACK_TIMEOUT_MS	20000	/* one reply under TCG, generous */
#define STACK_MAX_WIN		4

struct stack_win {
	uint32_t shmid;
	char name[64];
	char path[128];
	uint64_t size;
};

struct stack {
	char top[PATH_MAX];		/* the repository root */
	char dir[64];
	char be_sock[PROC_PATH_MAX];
	char vm_sock[PROC_PATH_MAX];
	struct proc be;		/* vu-test-backend */
	struct proc hp;		/* vushm-helper */
	struct stack_win win[STACK_MAX_WIN];
	unsigned int nwin;
	char why[8192];		/* failure text: what went wrong, the logs */
};

/* Finds the repository root and makes the directory.  0 or -errno. */
int stack_init(struct stack *st);
/* Starts vu-test-backend --socket be.sock ARGS...; waits for "listening". */
int stack_backend(struct stack *st, const char *const *args);
/* Starts vushm-helper --listen vm.sock --backend be.sock ARGS...; reads its
 * "window" lines into st->win and waits for "ready".
 */
int stack_helper(struct stack *st, const char *const *args);
/* One backend command; the reply line (st->be.line) must start with
 * @expect (NULL: any).  0, or -1 with st->why set.
 */
int stack_be(struct stack *st, const char *expect, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* st->why = @what + the helper's and the backend's stderr. */
const char *stack_why(struct stack *st, const char *what);
/* /sys/class/vushm/NAME/ATTR as a number, or -1. */
long long stack_sysfs(const char *name, const char *attr);
/* Kills what runs, destroys the windows, removes the directory. */
void stack_fini(struct stack *st);

#endif /* VUSHM_TESTS_STACK_H */
