// SPDX-License-Identifier: GPL-2.0
/*
 * helper-demo - the second half of `make demo`: the whole vhost-user path.
 *
 *   QEMU 7.2  --vhost-user-blk-->  vushm-helper  -->  vu-test-backend
 *     '-- ivshmem BAR = /dev/vushm/NAME (window)   (SHMEM_MAP/UNMAP)
 *
 * A backend that speaks SHMEM maps and unmaps memfd pages; QEMU, which has
 * never heard of SHMEM, sees them through its BAR (read over qtest, as the
 * guest would); `vushmctl monitor` prints the kernel's events as they
 * happen, when tools/vushmctl is built.  Every step checks what it shows.
 * Exit status: 0 all steps behaved as described, 1 one did not.
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

static bool check(bool ok, const char *what)
{
	say("     %s %s", ok ? "ok:  " : "FAIL:", what);
	if (!ok)
		failures++;
	return ok;
}

/* What vushmctl monitor printed since last time, indented. */
static void show_events(void)
{
	if (!mon.pid)
		return;
	usleep(200000);
	while (!proc_read_line(&mon, 100))
		say("     event: %s", mon.line);
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
	char name[32], chardev[256];
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

	snprintf(monitor, sizeof(monitor), "%s/tools/vushmctl/vushmctl", st.top);
	if (!access(monitor, X_OK)) {
		char *const argv[] = { monitor, "monitor", NULL };

		if (proc_start(&mon, argv))
			mon.pid = 0;
		else
			usleep(300000);	/* subscribed before the first event */
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
	show_events();

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

	STEP("The backend maps 64 KiB of a memfd, read-write, at offset 0x10000 (SHMEM_MAP, answered by the helper)");
	check(be("ok", "map 0 0x10000 0x10000 0 rw 7"), "REPLY_ACK 0");
	check(bar_pattern(0x10000, 0x10000, 7),
	      "QEMU sees the memfd's bytes at BAR+0x10000");
	check(bar_zero(0, 0x1000), "the rest is still a hole");
	show_events();

	STEP("And 8 KiB read-only at 0x40000");
	check(be("ok", "map 0 0x40000 0x2000 0 ro 9"), "REPLY_ACK 0");
	check(bar_pattern(0x40000, 0x2000, 9), "QEMU sees them too");
	show_events();

	STEP("A MAP over an existing mapping is refused, and changes nothing");
	check(be("fail", "map 0 0x18000 0x10000 0 rw 11"),
	      "REPLY_ACK non-zero (EEXIST)");
	check(bar_pattern(0x10000, 0x10000, 7), "the first mapping is intact");

	STEP("The backend unmaps the first mapping (SHMEM_UNMAP)");
	check(be("ok", "unmap 0 0x10000 0x10000"), "REPLY_ACK 0");
	check(bar_zero(0x10000, 0x10000),
	      "QEMU reads zeros there now: a hole, QEMU is unharmed");
	show_events();

	STEP("The backend crashes (SIGKILL): the helper resets the window, QEMU lives");
	proc_kill(&st.be);
	check(proc_stderr_wait(&st.hp, "windows reset: session closed",
			       STACK_TIMEOUT_MS), "the helper reset the window");
	check(bar_zero(0x40000, 0x2000), "no mapping survived the backend");
	check(qtest_alive(&qt), "QEMU is still running");
	show_events();
out:
	putchar('\n');
	say("== helper demo: %d steps, %d failed check(s)%s", step_no, failures,
	    mon.pid ? "" : " (no tools/vushmctl: no event monitor)");
	say("   shown: a backend's SHMEM_MAP/UNMAP reaching an unmodified QEMU's BAR through");
	say("   vushm-helper and vushm.ko: no memslot, no memory table, no QEMU change;");
	say("   refused requests change nothing; a crashed backend leaves holes, not a dead VMM.");
	cleanup();
	return failures || step_no < 7 ? 1 : 0;
}
