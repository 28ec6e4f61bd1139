// SPDX-License-Identifier: GPL-2.0
/*
 * bridge_test - vushm-helper between the project's test frontend (a small
 * VMM, tests/peers/frontend.c, in this process) and test backend
 * (tests/peers/vu-test-backend, a child driven on stdin):
 *
 *   test frontend --vhost-user--> vushm-helper --> vu-test-backend
 *        |                          (windows)
 *        '-- mmap of /dev/vushm/NAME: what the VMM's BAR would show
 *
 * Covers: SHMEM_MAP/UNMAP reaching the window; bad MAPs refused with no
 * effect; resets; the backend channel when the VMM has one, has none, has
 * no REPLY_ACK; the pre-release bit 21; kills of the backend, the VMM and
 * the helper mid-stream; malformed input from either side; fds and mappings
 * flat over many cycles.  Needs root and the vushm module: skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* the 6.1 harness has an unused parameter; -Wextra stays on for this file */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "frontend.h"
#include "pattern.h"
#include "stack.h"

#define REGION0		(1ULL << 20)
#define REGION2		(64ULL << 10)
#define TEST_TIMEOUT_S	300
#define PF(bit)		VU_PF(VHOST_USER_PROTOCOL_F_##bit)

static const char *const be_default[] = { "--shmem", "0:1M", "--shmem",
					  "2:64K", NULL };

FIXTURE(br) {
	struct stack st;
	struct vuf_config cfg;
	struct vuf *f;
	char name[32];
	uint8_t *win[2];	/* the VMM's mappings of the two windows */
	size_t win_len[2];
};

FIXTURE_SETUP(br)
{
	snprintf(self->name, sizeof(self->name), "br%d", getpid());
	ASSERT_EQ(0, stack_init(&self->st));
	vuf_config_init(&self->cfg, self->st.vm_sock);
	self->cfg.connect_ms = STACK_TIMEOUT_MS;
	self->cfg.timeout_ms = STACK_TIMEOUT_MS;
	self->cfg.mem_size = 1 << 20;
}

static void unmap_windows(FIXTURE_DATA(br) *self)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (self->win[i])
			munmap(self->win[i], self->win_len[i]);
		self->win[i] = NULL;
	}
}

FIXTURE_TEARDOWN(br)
{
	vuf_free(self->f);
	unmap_windows(self);
	stack_fini(&self->st);
}

/* Backend, helper (extra args), the VMM's window mappings. */
static int start(FIXTURE_DATA(br) *self, const char *const *be_args,
		 const char *const *hp_args)
{
	const char *args[16] = { "--name", self->name };
	unsigned int i, n = 2;
	int fd;

	for (i = 0; hp_args && hp_args[i] && n < 15; i++)
		args[n++] = hp_args[i];
	args[n] = NULL;
	if (stack_backend(&self->st, be_args ? be_args : be_default) ||
	    stack_helper(&self->st, args))
		return -1;
	for (i = 0; i < self->st.nwin && i < 2; i++) {
		fd = open(self->st.win[i].path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -1;
		self->win_len[i] = self->st.win[i].size;
		self->win[i] = mmap(NULL, self->win_len[i],
				    PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (self->win[i] == MAP_FAILED) {
			self->win[i] = NULL;
			return -1;
		}
	}
	return 0;
}

/* The test frontend's full session through the helper. */
static int vmm_open(FIXTURE_DATA(br) *self)
{
	int ret;

	vuf_free(self->f);
	self->f = NULL;
	ret = vuf_open(&self->cfg, &self->f);
	if (ret)
		stack_why(&self->st, "test frontend: session through the helper failed");
	return ret;
}

/*
 * A request with a reply: once it is back, the helper has handled every
 * message sent before it (it reads the VMM's messages in order; a reset's
 * window commands complete before the next message is read).
 */
static int vmm_sync(FIXTURE_DATA(br) *self)
{
	uint8_t buf[8];
	size_t len;

	return vuf_request(self->f, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL,
			   0, buf, sizeof(buf), &len);
}

static bool zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static size_t pattern_bad(const uint8_t *p, size_t len, uint32_t seed,
			  uint64_t fd_off)
{
	size_t bad = vu_pattern_check(seed, fd_off, p, len);

	return bad == len ? 0 : bad + 1;
}

static long long mappings(FIXTURE_DATA(br) *self, int i)
{
	return stack_sysfs(self->st.win[i].name, "nr_mappings");
}

/* Number of open fds of the helper. */
static int helper_fds(FIXTURE_DATA(br) *self)
{
	return proc_nfds(self->st.hp.pid);
}

#define BE(expect, ...)							\
	ASSERT_EQ(0, stack_be(&self->st, expect, __VA_ARGS__))		\
		TH_LOG("%s", self->st.why)
#define EXPECT_BE(expect, ...)						\
	EXPECT_EQ(0, stack_be(&self->st, expect, __VA_ARGS__))		\
		TH_LOG("%s", self->st.why)
#define START(be, hp)							\
	ASSERT_EQ(0, start(self, be, hp)) TH_LOG("%s", self->st.why)
#define VMM()								\
	ASSERT_EQ(0, vmm_open(self)) TH_LOG("%s", self->st.why)

/* Windows sized from GET_SHMEM_CONFIG; MAP/UNMAP land in the VMM's view. */
TEST_F_TIMEOUT(br, map_unmap_reach_window, TEST_TIMEOUT_S)
{
	START(NULL, NULL);
	ASSERT_EQ(2U, self->st.nwin);
	EXPECT_EQ(0U, self->st.win[0].shmid);
	EXPECT_EQ(REGION0, self->st.win[0].size);
	EXPECT_EQ(2U, self->st.win[1].shmid);
	EXPECT_EQ(REGION2, self->st.win[1].size);
	VMM();
	/* The VMM was not offered SHMEM; the backend got it. */
	EXPECT_EQ(0ULL, vuf_protocol_offered(self->f) &
			(PF(SHMEM) | PF(SHMEM_PRERELEASE)));
	BE("channel", "wait-channel 20000");

	BE("ok", "map 0 0x10000 0x8000 0x2000 rw 11");
	BE("ok", "map 0 0x30000 0x1000 0 ro 12");
	BE("ok", "map 2 0 0x10000 0 rw 13");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x10000, 0x8000, 11, 0x2000));
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x30000, 0x1000, 12, 0));
	EXPECT_EQ(0U, pattern_bad(self->win[1], 0x10000, 13, 0));
	EXPECT_TRUE(zero(self->win[0], 0x10000));
	EXPECT_TRUE(zero(self->win[0] + 0x18000, 0x18000));
	EXPECT_EQ(2, mappings(self, 0));
	EXPECT_EQ(1, mappings(self, 1));

	/* A write through the rw mapping is the backend's memory: it
	 * stays visible through the window (same pages).
	 */
	self->win[0][0x10000] ^= 0xff;
	EXPECT_EQ((uint8_t)~vu_pattern_byte(11, 0x2000), self->win[0][0x10000]);

	BE("ok", "unmap 0 0x10000 0x8000");
	EXPECT_TRUE(zero(self->win[0] + 0x10000, 0x8000));
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x30000, 0x1000, 12, 0));
	BE("ok", "unmap 2 0 0x10000");
	EXPECT_TRUE(zero(self->win[1], 0x10000));
	EXPECT_EQ(1, mappings(self, 0));
	EXPECT_EQ(0, mappings(self, 1));
	/* The virtqueue path still works through the helper. */
	EXPECT_EQ(0, vuf_stop(self->f));
}

/* Bad MAPs/UNMAPs: a failure reply, a log line, and no change at all. */
TEST_F_TIMEOUT(br, bad_requests_change_nothing, TEST_TIMEOUT_S)
{
	static const char *const bad[] = {
		"map 0 0x2000 0x4000 0 rw 4",		/* overlap */
		"map 0 0 0x1000 0 rw 4",		/* same range */
		"map 0 0xff000 0x2000 0 rw 4",		/* past the region */
		"map 0 0x100000 0x1000 0 rw 4",		/* at its end */
		"map 0 0xfffffffffffff000 0x2000 0 rw 4", /* wraps */
		"map 1 0 0x1000 0 rw 4",		/* unknown shmid */
		"map 255 0 0x1000 0 rw 4",
		"map 0 0x8800 0x1000 0 rw 4",		/* unaligned */
		"map 0 0x8000 0x800 0 rw 4",
		"map 0 0x8000 0x1000 0x800 rw 4",
		"map 0 0x8000 0 0 rw 4",		/* empty */
		"map-nofd 0 0x8000 0x1000 0 rw",	/* no fd */
		"map-fd /dev/null 0 0x8000 0x1000 0 rw", /* not mappable */
		"map-fd /dev/zero 0 0x8000 0x1000 0 ro",
		"unmap 0 0 0x2000",			/* part of one */
		"unmap 0 0 0x8000",			/* more than one */
		"unmap 0 0x8000 0x1000",		/* none */
		"unmap 1 0 0x1000",
		NULL,
	};
	int fds, i;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x4000 0 rw 3");
	fds = helper_fds(self);
	for (i = 0; bad[i]; i++) {
		EXPECT_BE("fail", "%s", bad[i]);
		EXPECT_EQ(1, mappings(self, 0)) TH_LOG("after '%s'", bad[i]);
	}
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x4000, 3, 0));
	EXPECT_TRUE(zero(self->win[0] + 0x4000, REGION0 - 0x4000));
	/* Each refusal was logged with its reason; no fd was kept. */
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "answered failure"));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "overlaps"));
	EXPECT_EQ(fds, helper_fds(self));
	/* And the session goes on. */
	BE("ok", "map 0 0x8000 0x1000 0 ro 5");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x8000, 0x1000, 5, 0));
}

/* Every form of device reset empties the windows; the session goes on. */
TEST_F_TIMEOUT(br, resets_clear_windows, TEST_TIMEOUT_S)
{
	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");

	BE("ok", "map 0 0 0x2000 0 rw 1");
	BE("ok", "map 2 0 0x1000 0 rw 1");
	ASSERT_EQ(0, vuf_reset_device(self->f));
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_EQ(0, mappings(self, 1));
	EXPECT_TRUE(zero(self->win[0], 0x2000));
	ASSERT_EQ(0, vuf_start(self->f));

	BE("ok", "map 0 0 0x2000 0 rw 2");
	ASSERT_EQ(0, vuf_set_status(self->f, 0));
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_EQ(0, mappings(self, 0));
	ASSERT_EQ(0, vuf_start(self->f));

	BE("ok", "map 0 0 0x2000 0 rw 3");
	ASSERT_EQ(0, vuf_set_status(self->f, 0xf));	/* not a reset */
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_EQ(1, mappings(self, 0));
	ASSERT_EQ(0, vuf_reset_owner(self->f));
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_TRUE(zero(self->win[0], 0x2000));

	BE("ok", "map 0 0 0x2000 0 ro 4");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x2000, 4, 0));
}

/* Backend requests other than SHMEM go to the VMM's own channel. */
TEST_F_TIMEOUT(br, backend_requests_forwarded_to_vmm, TEST_TIMEOUT_S)
{
	struct vuf_msg m;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	ASSERT_LE(0, vuf_backend_sock(self->f));
	/* CONFIG_CHANGE_MSG: the backend waits for the answer. */
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	EXPECT_EQ(2U, m.hdr.request);
	EXPECT_TRUE(!!(m.hdr.flags & VU_FLAG_NEED_REPLY));
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 0));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);

	/* The VMM's failure goes back as it is. */
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 7));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("fail 7", self->st.be.line);

	/* SHMEM never reaches the VMM; MAPs keep working in between. */
	BE("ok", "map 0 0 0x1000 0 rw 9");
	EXPECT_EQ(-ETIMEDOUT, vuf_backend_req_recv(self->f, &m, 300));
}

/* A VMM without BACKEND_REQ: the helper opens the backend channel. */
TEST_F_TIMEOUT(br, vmm_without_backend_channel, TEST_TIMEOUT_S)
{
	START(NULL, NULL);
	self->cfg.protocol_features &= ~(PF(BACKEND_REQ) | PF(BACKEND_SEND_FD));
	VMM();
	EXPECT_GT(0, vuf_backend_sock(self->f));
	BE("channel", "wait-channel 20000");
	EXPECT_TRUE(!!(strtoull(self->st.be.line + 8, NULL, 16) & PF(BACKEND_REQ)));
	BE("ok", "map 0 0x2000 0x2000 0 rw 21");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x2000, 0x2000, 21, 0));
	/* Nobody to forward a config change to: a failure, logged. */
	BE("fail", "backend-req 2");
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "has no backend channel"));
	BE("ok", "unmap 0 0x2000 0x2000");
	EXPECT_TRUE(zero(self->win[0] + 0x2000, 0x2000));
}

/* A VMM without REPLY_ACK: the backend still gets answers; the VMM never
 * gets an ack it did not ask for.
 */
TEST_F_TIMEOUT(br, vmm_without_reply_ack, TEST_TIMEOUT_S)
{
	struct vuf_msg m;

	START(NULL, NULL);
	self->cfg.protocol_features &= ~PF(REPLY_ACK);
	VMM();
	BE("channel", "wait-channel 20000");
	EXPECT_TRUE(!!(strtoull(self->st.be.line + 8, NULL, 16) & PF(REPLY_ACK)));
	BE("ok", "map 0 0 0x1000 0 rw 31");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 31, 0));

	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	EXPECT_FALSE(!!(m.hdr.flags & VU_FLAG_NEED_REPLY));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	/* Front-end requests still work (no stray ack in the stream). */
	EXPECT_EQ(0, vuf_stop(self->f));
	EXPECT_EQ(0, vuf_resume(self->f));
}

/* A pre-release backend (SHMEM on bit 21) works only with --shmem-bit21. */
TEST_F_TIMEOUT(br, shmem_bit21_needs_the_option, TEST_TIMEOUT_S)
{
	const char *be[] = { "--shmem", "0:1M", "--shmem-bit", "21", NULL };
	const char *hp[] = { "--shmem-bit21", NULL };

	START(be, hp);
	VMM();
	EXPECT_EQ(0ULL, vuf_protocol_offered(self->f) & PF(SHMEM_PRERELEASE));
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 rw 41");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 41, 0));
}

/* Without it, such a backend cannot be probed: the error says what to do. */
TEST_F_TIMEOUT(br, probe_errors_name_the_fix, TEST_TIMEOUT_S)
{
	const char *be21[] = { "--shmem", "0:1M", "--shmem-bit", "21", NULL };
	const char *none[] = { NULL };
	struct stack *st = &self->st;

	ASSERT_EQ(0, stack_backend(st, be21)) TH_LOG("%s", st->why);
	EXPECT_NE(0, stack_helper(st, none));
	EXPECT_EQ(1, WEXITSTATUS(proc_signal_wait(&st->hp, 0, STACK_TIMEOUT_MS)));
	EXPECT_TRUE(proc_stderr_has(&st->hp, "--shmem-bit21"))
		TH_LOG("%s", stack_why(st, "no hint"));
	proc_kill(&st->hp);
	proc_kill(&st->be);

	/* A backend without SHMEM: sizes must come from --window. */
	ASSERT_EQ(0, stack_backend(st, none)) TH_LOG("%s", st->why);
	EXPECT_NE(0, stack_helper(st, none));
	EXPECT_TRUE(proc_stderr_has(&st->hp, "--window SHMID:SIZE"));
	proc_kill(&st->hp);
	/* ... and then it proxies. */
	{
		const char *hp[] = { "--window", "0:64K", "--name", self->name,
				     NULL };

		ASSERT_EQ(0, stack_helper(st, hp)) TH_LOG("%s", st->why);
	}
	VMM();
	EXPECT_TRUE(proc_stderr_wait(&st->hp, "plain proxy", STACK_TIMEOUT_MS));
}

/* The backend dies with MAPs in flight: windows emptied, VMM told, helper
 * clean, a new backend serves the VMM's next session.
 */
TEST_F_TIMEOUT(br, backend_killed_mid_stream, TEST_TIMEOUT_S)
{
	int fds, i;

	START(NULL, NULL);
	fds = helper_fds(self);
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 rw 1");
	for (i = 1; i < 64; i++)
		ASSERT_LT(0, dprintf(self->st.be.in, "map 0 %#x 0x1000 0 rw 1\n",
				     i * 0x1000));
	usleep(20000 + (getpid() % 7) * 3000);
	proc_kill(&self->st.be);
	EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS));
	ASSERT_TRUE(proc_stderr_wait(&self->st.hp, "windows reset: session closed",
				     STACK_TIMEOUT_MS));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_TRUE(zero(self->win[0], 0x40000));
	EXPECT_TRUE(proc_alive(&self->st.hp));
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));

	ASSERT_EQ(0, stack_backend(&self->st, be_default)) TH_LOG("%s", self->st.why);
	ASSERT_EQ(0, vuf_reconnect(self->f)) TH_LOG("%s", stack_why(&self->st, "reconnect"));
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 ro 2");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 2, 0));
}

/* The VMM is killed: windows emptied, backend session torn down, the
 * next VMM gets a clean one.
 */
TEST_F_TIMEOUT(br, vmm_killed, TEST_TIMEOUT_S)
{
	int sync[2], fds;
	pid_t pid;
	char c;

	START(NULL, NULL);
	fds = helper_fds(self);
	ASSERT_EQ(0, pipe(sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vuf *f;

		close(sync[0]);
		if (vuf_open(&self->cfg, &f))
			_exit(1);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x4000 0 rw 51");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x4000, 51, 0));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ASSERT_TRUE(proc_stderr_wait(&self->st.hp, "VMM closed the connection",
				     STACK_TIMEOUT_MS));
	ASSERT_TRUE(proc_stderr_wait(&self->st.hp, "windows reset: session closed",
				     STACK_TIMEOUT_MS));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_TRUE(zero(self->win[0], 0x4000));
	/* The backend saw its session end. */
	BE("status", "status");
	EXPECT_TRUE(!!strstr(self->st.be.line, "connected=0")) TH_LOG("%s", self->st.be.line);
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));

	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x4000 0 ro 52");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x4000, 52, 0));
}

/* The helper is killed: the kernel empties the windows; a restarted
 * helper attaches to them and serves the VMM's next session.
 */
TEST_F_TIMEOUT(br, helper_killed_and_restarted, TEST_TIMEOUT_S)
{
	const char *hp[] = { "--name", self->name, NULL };

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0x1000 0x2000 0 rw 61");
	BE("ok", "map 2 0 0x1000 0 rw 61");
	proc_kill(&self->st.hp);
	EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_EQ(0, mappings(self, 1));
	EXPECT_TRUE(zero(self->win[0] + 0x1000, 0x2000));
	EXPECT_TRUE(zero(self->win[1], 0x1000));

	ASSERT_EQ(0, stack_helper(&self->st, hp)) TH_LOG("%s", self->st.why);
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "attached"));
	ASSERT_EQ(0, vuf_reconnect(self->f)) TH_LOG("%s", stack_why(&self->st, "reconnect"));
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0x1000 0x2000 0 rw 62");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x1000, 0x2000, 62, 0));
}

/*
 * Session @n ended for @what: logged with its reason, its windows emptied
 * (the log says so once they are), the helper still serving.
 */
static void session_ended(struct __test_metadata *_metadata,
			  FIXTURE_DATA(br) *self, unsigned int n,
			  const char *what)
{
	char needle[32];

	snprintf(needle, sizeof(needle), "session %u: ", n);
	EXPECT_TRUE(proc_stderr_line(&self->st.hp, needle, what,
				     STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, what));
	EXPECT_TRUE(proc_stderr_wait_n(&self->st.hp,
				       "windows reset: session closed", n,
				       STACK_TIMEOUT_MS));
	EXPECT_EQ(0, mappings(self, 0)) TH_LOG("session %u", n);
	EXPECT_TRUE(proc_alive(&self->st.hp));
}

/* One malformed front-end message: session closed with a reason in the
 * log, windows reset, the helper serves the next VMM.
 */
struct bad_fe {
	const char *what;	/* expected in the log */
	uint32_t request, flags;
	uint32_t size;		/* header size */
	size_t len;		/* payload bytes actually sent */
	unsigned int nfds;
	bool close;		/* close after sending (truncation) */
};

TEST_F_TIMEOUT(br, malformed_from_vmm, TEST_TIMEOUT_S)
{
	static const struct bad_fe bad[] = {
		{ "version", VHOST_USER_GET_FEATURES, 0x2, 0, 0, 0, false },
		{ "reserved", VHOST_USER_GET_FEATURES, 0x1 | 0x100, 0, 0, 0, false },
		{ "REPLY", VHOST_USER_GET_FEATURES, 0x1 | VU_FLAG_REPLY, 0, 0, 0, false },
		{ "request", 99, 0x1, 0, 0, 0, false },
		{ "request", 0, 0x1, 0, 0, 0, false },
		{ "SET_FEATURES", VHOST_USER_SET_FEATURES, 0x1, 16, 16, 0, false },
		{ "SET_FEATURES", VHOST_USER_SET_FEATURES, 0x1, 0x10000, 0, 0, false },
		{ "SET_VRING_KICK", VHOST_USER_SET_VRING_KICK, 0x1, 8, 8, 2, false },
		{ "SET_OWNER", VHOST_USER_SET_OWNER, 0x1, 0, 0, 1, false },
		{ "middle of a message", VHOST_USER_SET_FEATURES, 0x1, 8, 4, 0, true },
	};
	uint8_t payload[64] = { 0 };
	unsigned int i;
	int fds, efd[2];

	START(NULL, NULL);
	fds = helper_fds(self);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct bad_fe *b = &bad[i];
		char hdr[VU_HDR_SIZE + 64];
		struct vu_hdr h = { b->request, b->flags, b->size };

		VMM();
		BE("channel", "wait-channel 20000");
		BE("ok", "map 0 0 0x1000 0 rw 70");
		efd[0] = dup(vuf_mem_fd(self->f));
		efd[1] = dup(vuf_mem_fd(self->f));
		vu_hdr_encode(&h, (uint8_t *)hdr);
		memcpy(hdr + VU_HDR_SIZE, payload, b->len);
		vuf_set_quiet(self->f, true);
		ASSERT_EQ(0, vuf_send_raw(self->f, hdr, VU_HDR_SIZE + b->len,
					  efd, b->nfds)) TH_LOG("case %u", i);
		close(efd[0]);
		close(efd[1]);
		if (b->close) {
			vuf_disconnect(self->f);
		} else {
			EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS))
				TH_LOG("case %u (%s): not closed", i, b->what);
		}
		session_ended(_metadata, self, i + 1, b->what);
	}
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 rw 71");
}

/* Malformed backend-channel messages: the same, from the other side. */
TEST_F_TIMEOUT(br, malformed_from_backend, TEST_TIMEOUT_S)
{
	static const struct {
		const char *what;
		const char *raw;	/* header + payload, hex */
		bool fd;
	} bad[] = {
		/* version 2 */
		{ "version", "090000000200000000000000", false },
		/* unknown backend request 99 */
		{ "request", "630000000100000000000000", false },
		/* SHMEM_MAP with 48 bytes announced and sent */
		{ "BACKEND_SHMEM_MAP", "0900000001000000300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", true },
		/* SHMEM_UNMAP with an fd */
		{ "BACKEND_SHMEM_UNMAP", "0a00000009000000280000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000", true },
		/* REPLY set on a request */
		{ "REPLY", "0900000005000000000000000000000000000000", false },
	};
	unsigned int i;
	int fds;

	START(NULL, NULL);
	fds = helper_fds(self);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		VMM();
		BE("channel", "wait-channel 20000");
		BE("ok", "map 0 0 0x1000 0 rw 80");
		vuf_set_quiet(self->f, true);
		BE("sent", "raw %s%s", bad[i].raw, bad[i].fd ? " fd" : "");
		/* The helper closes the backend channel on it. */
		ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
		EXPECT_STREQ("closed", self->st.be.line);
		EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS))
			TH_LOG("case %u (%s): VMM not disconnected", i, bad[i].what);
		session_ended(_metadata, self, i + 1, bad[i].what);
	}
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 rw 81");
}

/* Many MAP/UNMAP cycles through the whole stack: no fd, no mapping, no
 * memory left behind (fds of the helper counted before and after).
 */
TEST_F_TIMEOUT(br, cycles_leave_nothing, TEST_TIMEOUT_S)
{
	int fds;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	fds = helper_fds(self);
	/* 20,000 round trips: a minute or more on a loaded host under TCG. */
	ASSERT_EQ(0, proc_cmd(&self->st.be, (TEST_TIMEOUT_S - 30) * 1000,
			      "cycles 10000 0 0x10000 0x4000"));
	ASSERT_EQ(0, strncmp(self->st.be.line, "ok", 2))
		TH_LOG("%s", stack_why(&self->st, self->st.be.line));
	EXPECT_EQ(fds, helper_fds(self));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_EQ(10000, stack_sysfs(self->st.win[0].name, "stats/maps"));
	BE("ok", "map 0 0x10000 0x4000 0 rw 90");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x10000, 0x4000, 90, 0));
}

/* The harness would run a test body after a SKIP() in its setup. */
int main(int argc, char **argv)
{
	if (geteuid())
		ksft_exit_skip("needs root\n");
	if (access("/dev/vushm/control", F_OK))
		ksft_exit_skip("no /dev/vushm/control: is vushm loaded?\n");
	return test_harness_run(argc, argv);
}
