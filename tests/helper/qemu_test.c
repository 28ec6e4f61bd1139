// SPDX-License-Identifier: GPL-2.0
/*
 * qemu_test - a real VMM that knows nothing of SHMEM gets a VIRTIO Shared
 * Memory Region through vushm-helper.
 *
 *   QEMU 7.2 (Debian)  --vhost-user-->  vushm-helper  -->  vu-test-backend
 *      |  ivshmem-plain BAR2 = memory-backend-file on /dev/vushm/NAME
 *      '-- qtest reads the BAR: what the backend's SHMEM_MAPs put there
 *
 * QEMU runs with -S -qtest stdio (tests/qemu/qtest.c): the guest never
 * runs; the test reads guest-physical memory at the BAR as the guest
 * would.  The vhost-user device is vhost-user-blk-pci: its realize does
 * the whole handshake (features, protocol features, backend channel,
 * owner, config), which is what the helper must get right, and it does it
 * again on every reconnect (QEMU 7.2's vhost-user-gpio does not: after a
 * reconnect it only restores a started device).
 *
 * Needs root, the vushm module and qemu-system-x86_64: skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* the 6.1 harness has an unused parameter; -Wextra stays on for this file */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "pattern.h"
#include "qtest.h"
#include "stack.h"

#define REGION		(1ULL << 20)	/* the backend's region 0 */
#define BAR		QTEST_BAR2_ADDR
#define TEST_TIMEOUT_S	300

FIXTURE(qh) {
	struct stack st;
	struct qtest qt;
	bool qemu;
	char chardev[256];
	char name[32];
};

static int start_qemu(FIXTURE_DATA(qh) *self, bool reconnect)
{
	const char *extra[] = { "-chardev", self->chardev, "-device",
				"vhost-user-blk-pci,chardev=vu", NULL };
	struct qtest_config cfg = {
		.mem_path = self->st.win[0].path,
		.size = self->st.win[0].size,
		.extra = extra,
	};
	uint64_t bar;
	int ret;

	snprintf(self->chardev, sizeof(self->chardev),
		 "socket,id=vu,path=%s%s", self->st.vm_sock,
		 reconnect ? ",reconnect=1" : "");
	ret = qtest_start(&self->qt, &cfg);
	if (ret)
		return ret;
	self->qemu = true;
	ret = qtest_ivshmem_bar2(&self->qt, BAR, &bar);
	if (!ret && bar != self->st.win[0].size)
		ret = -ERANGE;
	return ret;
}

FIXTURE_SETUP(qh)
{
	const char *be_args[] = { "--shmem", "0:1M", "--device", "blk", NULL };
	const char *hp_args[] = { "--name", self->name, NULL };

	snprintf(self->name, sizeof(self->name), "qh%d", getpid());
	ASSERT_EQ(0, stack_init(&self->st));
	ASSERT_EQ(0, stack_backend(&self->st, be_args)) TH_LOG("%s", self->st.why);
	/* No --window: the helper sizes the window from GET_SHMEM_CONFIG. */
	ASSERT_EQ(0, stack_helper(&self->st, hp_args)) TH_LOG("%s", self->st.why);
	ASSERT_EQ(1U, self->st.nwin);
	ASSERT_EQ(REGION, self->st.win[0].size);
}

FIXTURE_TEARDOWN(qh)
{
	if (self->qemu) {
		qtest_kill(&self->qt);
		qtest_close(&self->qt);
	}
	stack_fini(&self->st);
}

static const char *qwhy(FIXTURE_DATA(qh) *self, const char *what)
{
	static char buf[2048], msg[2600];

	snprintf(msg, sizeof(msg), "%s (qtest: %s)\nQEMU stderr: %s", what,
		 self->qt.err, qtest_stderr(&self->qt, buf, sizeof(buf)));
	return stack_why(&self->st, msg);
}

/* The BAR from @off for @len holds the pattern of @seed from @fd_off. */
static int bar_check(FIXTURE_DATA(qh) *self, uint64_t off, size_t len,
		     uint32_t seed, uint64_t fd_off)
{
	static uint8_t buf[1 << 16];
	size_t bad;

	if (qtest_read(&self->qt, BAR + off, buf, len))
		return -EIO;
	bad = vu_pattern_check(seed, fd_off, buf, len);
	return bad == len ? 0 : (int)bad + 1;
}

static bool bar_zero(FIXTURE_DATA(qh) *self, uint64_t off, size_t len)
{
	static uint8_t buf[1 << 16];
	size_t i;

	if (qtest_read(&self->qt, BAR + off, buf, len))
		return false;
	for (i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/* The backend's MAPs and UNMAPs show in QEMU's BAR, nothing else does. */
TEST_F_TIMEOUT(qh, map_unmap_seen_through_bar, TEST_TIMEOUT_S)
{
	struct stack *st = &self->st;

	ASSERT_EQ(0, start_qemu(self, false)) TH_LOG("%s", qwhy(self, "QEMU start"));
	ASSERT_EQ(0, stack_be(st, "channel", "wait-channel 60000"))
		TH_LOG("%s", st->why);
	/* Before any MAP: a hole, reads as zeros. */
	ASSERT_TRUE(bar_zero(self, 0, 4096)) TH_LOG("%s", qwhy(self, "hole"));

	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0x10000 0x10000 0x3000 rw 7"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0x40000 0x2000 0 ro 9"))
		TH_LOG("%s", st->why);
	EXPECT_EQ(0, bar_check(self, 0x10000, 0x10000, 7, 0x3000))
		TH_LOG("%s", qwhy(self, "rw mapping"));
	EXPECT_EQ(0, bar_check(self, 0x40000, 0x2000, 9, 0))
		TH_LOG("%s", qwhy(self, "ro mapping"));
	EXPECT_TRUE(bar_zero(self, 0x20000, 0x1000));
	EXPECT_EQ(2, stack_sysfs(st->win[0].name, "nr_mappings"));

	ASSERT_EQ(0, stack_be(st, "ok", "unmap 0 0x10000 0x10000"))
		TH_LOG("%s", st->why);
	EXPECT_TRUE(bar_zero(self, 0x10000, 0x10000))
		TH_LOG("%s", qwhy(self, "after unmap"));
	EXPECT_EQ(0, bar_check(self, 0x40000, 0x2000, 9, 0));
	EXPECT_EQ(1, stack_sysfs(st->win[0].name, "nr_mappings"));
	ASSERT_TRUE(qtest_alive(&self->qt));
}

/* Bad MAPs are answered with a failure and change nothing QEMU sees. */
TEST_F_TIMEOUT(qh, bad_maps_fail_and_change_nothing, TEST_TIMEOUT_S)
{
	struct stack *st = &self->st;

	ASSERT_EQ(0, start_qemu(self, false)) TH_LOG("%s", qwhy(self, "QEMU start"));
	ASSERT_EQ(0, stack_be(st, "channel", "wait-channel 60000"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0 0x4000 0 rw 3"))
		TH_LOG("%s", st->why);
	/* overlap, out of range, unknown shmid, no fd, unaligned */
	EXPECT_EQ(0, stack_be(st, "fail", "map 0 0x2000 0x4000 0 rw 4"));
	EXPECT_EQ(0, stack_be(st, "fail", "map 0 0xff000 0x2000 0 rw 4"));
	EXPECT_EQ(0, stack_be(st, "fail", "map 1 0 0x1000 0 rw 4"));
	EXPECT_EQ(0, stack_be(st, "fail", "map-nofd 0 0x8000 0x1000 0 rw"));
	EXPECT_EQ(0, stack_be(st, "fail", "map 0 0x8800 0x1000 0 rw 4"));
	/* UNMAP must name a whole mapping */
	EXPECT_EQ(0, stack_be(st, "fail", "unmap 0 0 0x2000"));
	EXPECT_EQ(0, stack_be(st, "fail", "unmap 0 0x8000 0x1000"));
	EXPECT_EQ(0, bar_check(self, 0, 0x4000, 3, 0))
		TH_LOG("%s", qwhy(self, "mapping after refused MAPs"));
	EXPECT_TRUE(bar_zero(self, 0x4000, 0x8000));
	EXPECT_EQ(1, stack_sysfs(st->win[0].name, "nr_mappings"));
	EXPECT_TRUE(qtest_alive(&self->qt));
}

/*
 * The backend dies mid-session: the helper resets the window (QEMU's BAR
 * reads holes, QEMU lives) and closes QEMU's connection, so that QEMU,
 * started with reconnect=1, comes back through the helper to a new
 * backend.
 *
 * Measured limit of QEMU 7.2: after such a reconnect vhost-user-blk-pci
 * (and -gpio-pci) of a stopped guest (-S) does not repeat the handshake;
 * the same happens with qemu-storage-daemon and no helper in between.  So
 * this test checks the reconnect reaches the new backend, and
 * tests/helper/bridge_test checks a full new session after a backend
 * crash with the test frontend.
 */
TEST_F_TIMEOUT(qh, backend_crash_then_reconnect, TEST_TIMEOUT_S)
{
	const char *be_args[] = { "--shmem", "0:1M", "--device", "blk", NULL };
	struct stack *st = &self->st;

	ASSERT_EQ(0, start_qemu(self, true)) TH_LOG("%s", qwhy(self, "QEMU start"));
	ASSERT_EQ(0, stack_be(st, "channel", "wait-channel 60000"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0 0x8000 0 rw 5"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, bar_check(self, 0, 0x8000, 5, 0));

	proc_kill(&st->be);
	ASSERT_TRUE(proc_stderr_wait(&st->hp, "windows reset: session closed",
				     STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(st, "helper did not notice"));
	EXPECT_TRUE(bar_zero(self, 0, 0x8000))
		TH_LOG("%s", qwhy(self, "mapping survived the backend"));
	EXPECT_EQ(0, stack_sysfs(st->win[0].name, "nr_mappings"));
	ASSERT_TRUE(qtest_alive(&self->qt)) TH_LOG("%s", qwhy(self, "QEMU died"));

	ASSERT_EQ(0, stack_backend(st, be_args)) TH_LOG("%s", st->why);
	EXPECT_TRUE(proc_stderr_wait(&st->hp, "session 2: backend connected",
				     STACK_TIMEOUT_MS))
		TH_LOG("%s", qwhy(self, "QEMU did not come back to a new backend"));
	EXPECT_TRUE(qtest_alive(&self->qt));
	EXPECT_TRUE(proc_alive(&st->hp));
}

/*
 * The helper dies: its controller fds close, the kernel empties the
 * window; QEMU keeps its BAR and reads holes.  A restarted helper attaches
 * to the same window by name, and a VMM that connects then gets a working
 * session on it (a new QEMU: see above for why not the reconnected one).
 */
TEST_F_TIMEOUT(qh, helper_crash_then_restart, TEST_TIMEOUT_S)
{
	const char *hp_args[] = { "--name", self->name, NULL };
	struct stack *st = &self->st;

	ASSERT_EQ(0, start_qemu(self, true)) TH_LOG("%s", qwhy(self, "QEMU start"));
	ASSERT_EQ(0, stack_be(st, "channel", "wait-channel 60000"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0x1000 0x3000 0 rw 8"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, bar_check(self, 0x1000, 0x3000, 8, 0));

	proc_kill(&st->hp);
	EXPECT_TRUE(bar_zero(self, 0x1000, 0x3000))
		TH_LOG("%s", qwhy(self, "mapping survived the helper"));
	EXPECT_EQ(0, stack_sysfs(st->win[0].name, "nr_mappings"));
	ASSERT_TRUE(qtest_alive(&self->qt)) TH_LOG("%s", qwhy(self, "QEMU died"));

	ASSERT_EQ(0, stack_helper(st, hp_args)) TH_LOG("%s", st->why);
	ASSERT_TRUE(proc_stderr_wait(&st->hp, "attached", STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(st, "helper did not attach"));
	ASSERT_TRUE(proc_stderr_wait(&st->hp, "session 1: backend connected",
				     STACK_TIMEOUT_MS))
		TH_LOG("%s", qwhy(self, "QEMU did not reconnect"));
	ASSERT_TRUE(qtest_alive(&self->qt));
	qtest_stop(&self->qt);
	qtest_close(&self->qt);
	self->qemu = false;
	ASSERT_TRUE(proc_stderr_wait(&st->hp, "session 1: VMM closed",
				     STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(st, "helper missed QEMU's exit"));

	ASSERT_EQ(0, start_qemu(self, false)) TH_LOG("%s", qwhy(self, "QEMU restart"));
	ASSERT_EQ(0, stack_be(st, "channel", "wait-channel 60000"))
		TH_LOG("%s", st->why);
	ASSERT_EQ(0, stack_be(st, "ok", "map 0 0x1000 0x3000 0 rw 10"))
		TH_LOG("%s", st->why);
	EXPECT_EQ(0, bar_check(self, 0x1000, 0x3000, 10, 0));
	EXPECT_TRUE(qtest_alive(&self->qt));
}

/* The harness would run a test body after a SKIP() in its setup. */
int main(int argc, char **argv)
{
	char qemu[256];

	if (geteuid())
		ksft_exit_skip("needs root\n");
	if (access("/dev/vushm/control", F_OK))
		ksft_exit_skip("no /dev/vushm/control: is vushm loaded?\n");
	if (qtest_find_qemu(NULL, qemu, sizeof(qemu)))
		ksft_exit_skip("no qemu-system-x86_64\n");
	return test_harness_run(argc, argv);
}
