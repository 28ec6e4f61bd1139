// SPDX-License-Identifier: GPL-2.0
/*
 * helper-demo - the second half of `make demo`: the whole vhost-user path.
 *
 *   QEMU 7.2  --vhost-user-blk-->  vushm-helper  -->  vu-test-backend
 *     '-- ivshmem BAR = /dev/vushm/NAME (window)   (SHMEM_MAP/UNMAP)
 *
 * A backend that speaks SHMEM maps and unmaps memfd pages; QEMU, which has
 * never heard of SHMEM, sees them through its BAR (read over qtest, as the
 * guest would); `vushmctl monitor` (tools/vushmctl, required) prints the
 * kernel's events as they happen, and each step checks that its events,
 * and only those, came: create, map, map, none for a refused MAP, unmap,
 * reset ($VUSHMCTL names another vushmctl).  Every step checks what it
 * shows.
 * Exit status: 0 all steps behaved as described, 1 one did not (or
 * vushmctl is missing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"
#include "qtest.h"
#include "stack.h"

#define BAR	QTEST_BAR2_ADDR

static int step_no, failures;
static struct stack st;
static struct qtest qt;
static bool qemu_up;
static struct proc mon;
static char monitor[PATH_MAX + 64];
static char name[32];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define STEP(fmt, ...)	say("[%d] " fmt, ++step_no, ##__VA_ARGS__)
#define NOTE(fmt, ...)	say("     " fmt, ##__VA_ARGS__)

static bool check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool check(bool ok, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	say("     %s %s", ok ? "ok:  " : "FAIL:", what);
	if (!ok)
		failures++;
	return ok;
}

/* An event the monitor must print: its name and a piece of its line. */
struct ev {
	const char *event;
	const char *has;
};

#define EVENTS_QUIET_MS	500	/* no more events may come within this */

/*
 * Shows the events vushmctl monitor printed for this demo's window since
 * last time: the @n of @want, in order, within STACK_TIMEOUT_MS, and then
 * none for EVENTS_QUIET_MS.  Lines look like
 *   2025-01-01T12:00:00.000000 map     demo123-0 shm_offset 0x10000 ... mappings 1
 */
static bool events(const struct ev *want, int n)
{
	long long end = proc_now_ms() + STACK_TIMEOUT_MS;
	char got[256] = "", what[256] = "", ev[16], win[64];
	int seen = 0, bad = 0, i;

	for (i = 0; i < n; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 "%s%s", i ? ", " : "", want[i].event);
	if (!n)
		snprintf(what, sizeof(what), "none");
	if (!mon.pid)
		return check(false, "vushmctl monitor: not running, the events cannot be checked");
	for (;;) {
		long long left = seen < n ? end - proc_now_ms() : EVENTS_QUIET_MS;

		if (left <= 0 || proc_read_line(&mon, (int)left))
			break;
		if (sscanf(mon.line, "%*s %15s %63s", ev, win) != 2 ||
		    strcmp(win, st.win[0].name))
			continue;	/* another window's */
		say("     event: %s", mon.line);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			 seen ? ", " : "", ev);
		if (seen >= n || strcmp(ev, want[seen].event) ||
		    (want[seen].has && !strstr(mon.line, want[seen].has)))
			bad++;
		seen++;
	}
	if (seen == n && !bad)
		return check(true, "vushmctl monitor: events as expected: %s", what);
	check(false, "vushmctl monitor: expected %s; got %s", what,
	      seen ? got : "none");
	for (i = 0; i < n; i++)
		if (want[i].has)
			NOTE("(expected %s with \"%s\")", want[i].event,
			     want[i].has);
	return false;
}

static bool be(const char *expect, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool be(const char *expect, const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	NOTE("backend> %s", cmd);
	if (proc_cmd(&st.be, STACK_TIMEOUT_MS, "%s", cmd)) {
		NOTE("backend: no answer");
		return false;
	}
	NOTE("backend< %s", st.be.line);
	return !strncmp(st.be.line, expect, strlen(expect));
}

static bool bar_pattern(uint64_t off, size_t len, uint32_t seed)
{
	static uint8_t buf[1 << 16];

	if (qtest_read(&qt, BAR + off, buf, len))
		return false;
	NOTE("QEMU reads BAR+%#" PRIx64 ": %02x %02x %02x %02x %02x %02x %02x %02x ...",
	     off, buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6],
	     buf[7]);
	return vu_pattern_check(seed, 0, buf, len) == len;
}

static bool bar_zero(uint64_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t i;

	if (qtest_read(&qt, BAR + off, buf, len))
		return false;
	for (i = 0; i < len; i++)
		if (buf[i])
			return false;
	NOTE("QEMU reads BAR+%#" PRIx64 ": %zu zero bytes (a hole)", off, len);
	return true;
}

static void cleanup(void)
{
	if (qemu_up) {
		qtest_kill(&qt);
		qtest_close(&qt);
	}
	if (mon.pid)
		proc_kill(&mon);
	stack_fini(&st);
}

int main(void)
{
	const char *be_args[] = { "--shmem", "0:1M", "--device", "blk", NULL };
	char chardev[256];
	const char *hp_args[] = { "--name", name, NULL };
	const char *extra[] = { "-chardev", chardev, "-device",
				"vhost-user-blk-pci,chardev=vu", NULL };
	struct qtest_config cfg = { 0 };
	uint64_t bar = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stack_init(&st)) {
		say("helper-demo: cannot set up %s", st.dir);
		return 1;
	}
	snprintf(name, sizeof(name), "demo%d", getpid());

	if (getenv("VUSHMCTL"))
		snprintf(monitor, sizeof(monitor), "%s", getenv("VUSHMCTL"));
	else
		snprintf(monitor, sizeof(monitor), "%s/tools/vushmctl/vushmctl",
			 st.top);
	STEP("vushmctl monitor: the kernel's events (generic netlink), checked at every step");
	if (access(monitor, X_OK)) {
		check(false, "%s is built (make -C tools/vushmctl; needs libnl-genl-3-dev): "
		      "without it no event can be checked", monitor);
	} else {
		char *const argv[] = { monitor, "monitor", NULL };

		if (proc_start(&mon, argv))
			mon.pid = 0;
		/* It says so on stderr once it has joined the group. */
		if (!check(mon.pid && proc_stderr_wait(&mon, "monitoring vushm events",
						       STACK_TIMEOUT_MS),
			   "vushmctl monitor listening"))
			proc_kill(&mon);
	}

	STEP("A vhost-user backend that speaks SHMEM (tests/peers/vu-test-backend): one 1 MiB shared memory region");
	if (!check(!stack_backend(&st, be_args), "backend listening")) {
		say("%s", st.why);
		goto out;
	}

	STEP("vushm-helper between the VMM and the backend: asks the backend for its regions, creates one window per region");
	if (!check(!stack_helper(&st, hp_args) && st.nwin == 1,
		   "helper ready")) {
		say("%s", st.why);
		goto out;
	}
	NOTE("window: shmid %u, %s, %" PRIu64 " bytes", st.win[0].shmid,
	     st.win[0].path, st.win[0].size);
	events((const struct ev[]){ { "create", "size 1M shmid 0" } }, 1);

	STEP("QEMU 7.2, which has never heard of SHMEM: vhost-user-blk-pci on the helper's socket, the window as an ivshmem-plain BAR");
	snprintf(chardev, sizeof(chardev), "socket,id=vu,path=%s", st.vm_sock);
	cfg.mem_path = st.win[0].path;
	cfg.size = st.win[0].size;
	cfg.extra = extra;
	if (!check(!qtest_start(&qt, &cfg), "QEMU started")) {
		say("%s", qt.err);
		goto out;
	}
	qemu_up = true;
	if (!check(!qtest_ivshmem_bar2(&qt, BAR, &bar) && bar == st.win[0].size,
		   "BAR2 placed at 0xe0000000, the window's size"))
		goto out;
	if (!check(be("channel", "wait-channel 60000"),
		   "handshake done through the helper; the backend has a backend channel and SHMEM (bit 22), QEMU does not"))
		goto out;
	events(NULL, 0);

	STEP("The backend maps 64 KiB of a memfd, read-write, at offset 0x10000 (SHMEM_MAP, answered by the helper)");
	check(be("ok", "map 0 0x10000 0x10000 0 rw 7"), "REPLY_ACK 0");
	check(bar_pattern(0x10000, 0x10000, 7),
	      "QEMU sees the memfd's bytes at BAR+0x10000");
	check(bar_zero(0, 0x1000), "the rest is still a hole");
	events((const struct ev[]){ { "map", "shm_offset 0x10000 len 0x10000 rw" } }, 1);

	STEP("And 8 KiB read-only at 0x40000");
	check(be("ok", "map 0 0x40000 0x2000 0 ro 9"), "REPLY_ACK 0");
	check(bar_pattern(0x40000, 0x2000, 9), "QEMU sees them too");
	events((const struct ev[]){ { "map", "shm_offset 0x40000 len 0x2000 ro" } }, 1);

	STEP("A MAP over an existing mapping is refused, and changes nothing");
	check(be("fail", "map 0 0x18000 0x10000 0 rw 11"),
	      "REPLY_ACK non-zero (EEXIST)");
	check(bar_pattern(0x10000, 0x10000, 7), "the first mapping is intact");
	events(NULL, 0);

	STEP("The backend unmaps the first mapping (SHMEM_UNMAP)");
	check(be("ok", "unmap 0 0x10000 0x10000"), "REPLY_ACK 0");
	check(bar_zero(0x10000, 0x10000),
	      "QEMU reads zeros there now: a hole, QEMU is unharmed");
	events((const struct ev[]){ { "unmap", "shm_offset 0x10000 len 0x10000" } }, 1);

	STEP("The backend crashes (SIGKILL): the helper resets the window, QEMU lives");
	proc_kill(&st.be);
	check(proc_stderr_wait(&st.hp, "windows reset: session closed",
			       STACK_TIMEOUT_MS), "the helper reset the window");
	check(bar_zero(0x40000, 0x2000), "no mapping survived the backend");
	check(qtest_alive(&qt), "QEMU is still running");
	events((const struct ev[]){ { "reset", "mappings 0" } }, 1);
out:
	putchar('\n');
	say("== helper demo: %d steps, %d failed check(s)%s", step_no, failures,
	    mon.pid ? "" : " (no vushmctl monitor: the events were not checked)");
	say("   shown: a backend's SHMEM_MAP/UNMAP reaching an unmodified QEMU's BAR through");
	say("   vushm-helper and vushm.ko: no memslot, no memory table, no QEMU change;");
	say("   refused requests change nothing; a crashed backend leaves holes, not a dead VMM.");
	cleanup();
	return failures || step_no < 9 ? 1 : 0;
}
