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
 * no REPLY_ACK; a repeated SET_PROTOCOL_FEATURES; the pre-release bit 21;
 * a region that is not a power of two; kills of the backend, the VMM and
 * the helper mid-stream; malformed input from either side, replies of the
 * backend included (fixture bad_be, one variant per case); messages that
 * arrive in pieces; fds through the helper both ways (vring err, log,
 * inflight, a backend request with an fd and the VMM's answer with one);
 * the SIGUSR1 status under -q; fds and mappings flat over many cycles.
 * Needs root and the vushm module: skips otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static void br_init(struct __test_metadata *_metadata,
		    FIXTURE_DATA(br) *self)
{
	snprintf(self->name, sizeof(self->name), "br%d", getpid());
	ASSERT_EQ(0, stack_init(&self->st));
	vuf_config_init(&self->cfg, self->st.vm_sock);
	self->cfg.connect_ms = STACK_TIMEOUT_MS;
	self->cfg.timeout_ms = STACK_TIMEOUT_MS;
	self->cfg.mem_size = 1 << 20;
}

FIXTURE_SETUP(br)
{
	br_init(_metadata, self);
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

/* ---- repeated SET_PROTOCOL_FEATURES ---------------------------------------- */

/*
 * A VMM without BACKEND_REQ: the helper gives the backend a channel of its
 * own, once.  A repeated SET_PROTOCOL_FEATURES (same features) keeps it
 * (the backend's channel is not replaced, no fd more in the helper); a
 * later one that turns BACKEND_REQ on, followed by the VMM's own
 * SET_BACKEND_REQ_FD, makes the VMM's channel the one forwarded requests
 * go to, while the backend keeps the helper's.
 */
TEST_F_TIMEOUT(br, repeated_set_protocol_features, TEST_TIMEOUT_S)
{
	char before[32];
	const char *conns;
	uint64_t pf;
	struct vuf_msg m;
	int fds;

	START(NULL, NULL);
	self->cfg.protocol_features &= ~(PF(BACKEND_REQ) | PF(BACKEND_SEND_FD));
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 rw 101");
	BE("status", "status");
	conns = strstr(self->st.be.line, " connections=");
	ASSERT_NE(NULL, conns);
	snprintf(before, sizeof(before), "%.*s", (int)strcspn(conns + 1, " ") + 1,
		 conns);
	fds = helper_fds(self);
	pf = vuf_protocol(self->f);
	ASSERT_EQ(0, vuf_set_protocol(self->f, pf));
	ASSERT_EQ(0, vuf_set_protocol(self->f, pf));
	ASSERT_EQ(0, vmm_sync(self)) TH_LOG("%s", stack_why(&self->st, "session gone"));
	EXPECT_TRUE(proc_stderr_wait_n(&self->st.hp, "the backend keeps its channel",
				       2, STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, "no 'keeps its channel'"));
	EXPECT_FALSE(proc_stderr_has(&self->st.hp, "closing the session"))
		TH_LOG("%s", stack_why(&self->st, "session closed"));
	EXPECT_FALSE(proc_stderr_has(&self->st.be, "replaced by SET_BACKEND_REQ_FD"));
	EXPECT_EQ(fds, helper_fds(self));
	/* The same channel still works both ways. */
	BE("ok", "map 0 0x1000 0x1000 0 rw 102");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x1000, 0x1000, 102, 0));
	EXPECT_EQ(2, mappings(self, 0));
	/* Still the one backend connection. */
	BE("status", "status");
	EXPECT_TRUE(!!strstr(self->st.be.line, before))
		TH_LOG("%s, before: %s", self->st.be.line, before);

	/* BACKEND_REQ on now, and the VMM's own channel (acked by the
	 * helper: the backend has its channel already).
	 */
	ASSERT_NE(0ULL, vuf_protocol_offered(self->f) & PF(BACKEND_REQ));
	ASSERT_EQ(0, vuf_set_protocol(self->f, pf | PF(BACKEND_REQ) |
				      PF(BACKEND_SEND_FD)));
	ASSERT_EQ(0, vuf_set_backend_req_fd(self->f))
		TH_LOG("%s", stack_why(&self->st, "SET_BACKEND_REQ_FD"));
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_FALSE(proc_stderr_has(&self->st.be, "replaced by SET_BACKEND_REQ_FD"));
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, "not forwarded"));
	EXPECT_EQ(2U, m.hdr.request);
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 0));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	BE("ok", "unmap 0 0 0x1000");
	EXPECT_EQ(1, mappings(self, 0));
	/* A second channel from the VMM is one too many. */
	vuf_set_quiet(self->f, true);
	vuf_set_backend_req_fd(self->f);
	EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS));
	session_ended(_metadata, self, 1, "SET_BACKEND_REQ_FD twice");
}

/* With the VMM's own channel, a repeated SET_PROTOCOL_FEATURES changes
 * nothing either.
 */
TEST_F_TIMEOUT(br, repeated_set_protocol_features_vmm_channel, TEST_TIMEOUT_S)
{
	struct vuf_msg m;
	int fds;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	fds = helper_fds(self);
	ASSERT_EQ(0, vuf_set_protocol(self->f, vuf_protocol(self->f)));
	ASSERT_EQ(0, vmm_sync(self));
	EXPECT_EQ(fds, helper_fds(self));
	BE("ok", "map 0 0 0x1000 0 rw 103");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 103, 0));
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 0));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	EXPECT_FALSE(proc_stderr_has(&self->st.hp, "closing the session"));
}

/* ---- region sizes ------------------------------------------------------------ */

/* A 3 MiB region cannot be a PCI BAR: a 4 MiB window, said so at start;
 * MAPs are still checked against the 3 MiB.
 */
TEST_F_TIMEOUT(br, region_not_power_of_two, TEST_TIMEOUT_S)
{
	const char *be[] = { "--shmem", "0:3M", NULL };
	const char *const why[] = {
		"shmid 0: the backend's region (0x300000 bytes) is not a power of two",
		"cannot be a PCI BAR", "the window is 0x400000 bytes",
		"MAPs are checked against the region", NULL,
	};

	START(be, NULL);
	ASSERT_EQ(1U, self->st.nwin);
	EXPECT_EQ(4ULL << 20, self->st.win[0].size);
	EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, why, STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, "no explanation"));
	EXPECT_EQ(4LL << 20, stack_sysfs(self->st.win[0].name, "size"));
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0x2ff000 0x1000 0 rw 111");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x2ff000, 0x1000, 111, 0));
	EXPECT_BE("fail", "map 0 0x300000 0x1000 0 rw 112");
	EXPECT_BE("fail", "map 0 0x2fe000 0x2000 0 rw 112");
	EXPECT_BE("fail", "map 0 0x3ff000 0x1000 0 rw 112");
	EXPECT_EQ(1, mappings(self, 0));
	EXPECT_TRUE(zero(self->win[0] + (3 << 20), 1 << 20));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "range outside the region"));
}

/* ---- malformed input from the backend, one variant per case --------------------- */

/*
 * Each variant: a session with a mapping; the backend sends one broken
 * message (on its channel with raw, or as the reply to the VMM's next
 * request with mangle-reply); the helper logs the peer, the request and
 * the reason on one line, ends the session (windows reset, the VMM's
 * connection closed), keeps no fd, and serves the next VMM.
 */
FIXTURE(bad_be) {
	FIXTURE_DATA(br) b;
};

FIXTURE_VARIANT(bad_be) {
	const char *raw;	/* on the backend channel, or NULL */
	const char *mangle;	/* mangle-reply KIND, or NULL */
	bool reply_ok;		/* the VMM's request still gets its reply */
	const char *log[5];	/* on one line of the helper's log */
};

/* SHMEM_MAP, NEED_REPLY, 40 bytes announced, 20 sent, with its fd. */
FIXTURE_VARIANT_ADD(bad_be, channel_truncated) {
	.raw = "090000000900000028000000"
	       "0000000000000000000000000000000000000000 fd shut",
	.log = { "backend channel closed the connection in the middle of a message",
		 "BACKEND_SHMEM_MAP (request 9)", "20 of 40 payload bytes" },
};

FIXTURE_VARIANT_ADD(bad_be, channel_short_header) {
	.raw = "0900000009 shut",
	.log = { "backend channel closed the connection in the middle of a message",
		 "after 5 of the 12 header bytes" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_version) {
	.mangle = "version",
	.log = { "backend sent a bad header", "GET_FEATURES",
		 "version bits are not 1" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_wrong_request) {
	.mangle = "request",
	.log = { "backend sent a GET_PROTOCOL_FEATURES reply",
		 "while the GET_FEATURES reply was due",
		 "reply for the wrong request" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_oversize) {
	.mangle = "oversize",
	.log = { "backend sent a bad header", "GET_FEATURES", "size 65536",
		 "size over the request's limit" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_short_payload) {
	.mangle = "size",
	.log = { "backend sent a malformed GET_FEATURES reply (4 bytes, 0 fds)",
		 "size not allowed" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_with_fd) {
	.mangle = "fds",
	.log = { "backend sent a malformed GET_FEATURES reply (8 bytes, 1 fds)",
		 "wrong fd count" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_truncated) {
	.mangle = "truncate",
	.log = { "backend closed the connection in the middle of a message",
		 "GET_FEATURES reply (request 1)", "4 of 8 payload bytes" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_short_header) {
	.mangle = "short-header",
	.log = { "backend closed the connection in the middle of a message",
		 "after 5 of the 12 header bytes" },
};

FIXTURE_VARIANT_ADD(bad_be, reply_unsolicited) {
	.mangle = "twice",
	.reply_ok = true,
	.log = { "backend sent a GET_FEATURES reply nobody asked for" },
};

FIXTURE_SETUP(bad_be)
{
	br_init(_metadata, &self->b);
}

FIXTURE_TEARDOWN(bad_be)
{
	vuf_free(self->b.f);
	unmap_windows(&self->b);
	stack_fini(&self->b.st);
}

static void bad_be_run(struct __test_metadata *_metadata,
		       FIXTURE_DATA(br) *self,
		       const FIXTURE_VARIANT(bad_be) *v)
{
	const char *needles[7] = { "session 1: " };
	unsigned int i;
	int fds, r;

	START(NULL, NULL);
	fds = helper_fds(self);
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x2000 0 rw 120");
	vuf_set_quiet(self->f, true);
	if (v->raw) {
		BE("sent", "raw %s", v->raw);
		/* The helper shuts the channel down on it. */
		ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
		EXPECT_STREQ("closed", self->st.be.line);
	} else {
		BE("armed", "mangle-reply %s", v->mangle);
		r = vmm_sync(self);
		if (v->reply_ok) {
			EXPECT_EQ(0, r);
		} else {
			EXPECT_NE(0, r);
		}
	}
	EXPECT_EQ(0, vuf_wait_closed(self->f, STACK_TIMEOUT_MS));
	for (i = 0; v->log[i]; i++)
		needles[i + 1] = v->log[i];
	EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, needles, STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, v->log[0]));
	EXPECT_TRUE(proc_stderr_line(&self->st.hp, "session 1: ",
				     "closing the session", STACK_TIMEOUT_MS));
	EXPECT_TRUE(proc_stderr_wait(&self->st.hp, "windows reset: session closed",
				     STACK_TIMEOUT_MS));
	EXPECT_EQ(0, mappings(self, 0));
	EXPECT_TRUE(zero(self->win[0], 0x2000));
	EXPECT_TRUE(proc_alive(&self->st.hp));
	/* The session's sockets and the fds that came with the message went. */
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	/* The backend sees its connection end; the next VMM is served. */
	BE("status", "status");
	VMM();
	BE("channel", "wait-channel 20000");
	BE("ok", "map 0 0 0x1000 0 ro 121");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 121, 0));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "session 2: backend connected (pid"));
}

TEST_F_TIMEOUT(bad_be, session_ends_cleanly, TEST_TIMEOUT_S)
{
	bad_be_run(_metadata, &self->b, variant);
}

/* ---- transparency: pieces and fds ---------------------------------------------- */

/* len bytes on sock in pieces of @piece, 2 ms apart, fds on the first. */
static int send_pieces(int sock, const void *buf, size_t len, size_t piece,
		       const int *fds, unsigned int nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	size_t off = 0;

	while (off < len) {
		struct iovec iov = { (char *)buf + off,
				     len - off < piece ? len - off : piece };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (!off && nfds)
			vu_msg_put_fds(&mh, u.b, fds, nfds);
		if (off)
			usleep(2000);
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Header + payload of one message in buf; its length. */
static size_t msg_bytes(uint8_t *buf, uint32_t request, uint32_t flags,
			const void *payload, uint32_t len)
{
	struct vu_hdr h = { request, flags, len };

	vu_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VU_HDR_SIZE, payload, len);
	return VU_HDR_SIZE + len;
}

/* The REPLY_ACK of @request on the front-end channel: its value, or -1. */
static long long vmm_ack(FIXTURE_DATA(br) *self, uint32_t request)
{
	struct vuf_msg m;
	uint64_t v;
	long long ret = -1;

	if (vuf_recv_msg(self->f, &m, STACK_TIMEOUT_MS))
		return -1;
	if (m.hdr.request == request && m.hdr.flags == vu_hdr_flags(true, false) &&
	    !m.nfds && !vu_u64_decode(m.payload, m.len, &v))
		ret = (long long)v;
	vuf_msg_close_fds(&m);
	return ret;
}

/* An eventfd's count (non-blocking: 0 if none). */
static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* The backend's "fdstat WHAT" inode, 0 if none. */
static unsigned long be_ino(FIXTURE_DATA(br) *self, const char *what)
{
	unsigned long ino = 0;

	if (stack_be(&self->st, "fdstat", "fdstat %s", what) ||
	    sscanf(self->st.be.line, "fdstat ino=%lu", &ino) != 1)
		return 0;
	return ino;
}

static unsigned long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long)st.st_ino;
}

/*
 * Every message crosses the helper in pieces a few bytes long, in both
 * directions: VMM requests (with an fd on the first piece), backend
 * replies, backend requests on the channel (SHMEM_MAP with its fd, a
 * forwarded config change) and the VMM's answer on its channel.  Nothing
 * is lost, merged or cut: the helper frames by the header, not by the
 * read.
 */
TEST_F_TIMEOUT(br, messages_in_pieces, TEST_TIMEOUT_S)
{
	uint8_t buf[VU_HDR_SIZE + VU_CONFIG_HDR_SIZE + 64];
	uint8_t cfg[VU_CONFIG_HDR_SIZE + 64] = { 0 };
	uint8_t back[64], word[VU_U64_SIZE];
	struct vuf_msg m;
	size_t len;
	int efd, fds, i;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	fds = helper_fds(self);
	/* Backend to VMM: every message in 3-byte pieces from now on. */
	BE("ok", "split 3 2000");

	/* VMM to backend: SET_CONFIG (NEED_REPLY) in 1-, 5-, 7-byte pieces. */
	cfg[4] = sizeof(back);			/* u32 size */
	vu_pattern_fill(131, 0, cfg + VU_CONFIG_HDR_SIZE, sizeof(back));
	len = msg_bytes(buf, VHOST_USER_SET_CONFIG, vu_hdr_flags(false, true),
			cfg, sizeof(cfg));
	for (i = 0; i < 3; i++) {
		static const size_t piece[] = { 1, 5, 7 };

		ASSERT_EQ(0, send_pieces(vuf_sock(self->f), buf, len, piece[i],
					 NULL, 0));
		EXPECT_EQ(0, vmm_ack(self, VHOST_USER_SET_CONFIG));
	}
	/* ... and the backend's GET_CONFIG reply comes back in pieces. */
	ASSERT_EQ(0, vuf_get_config(self->f, 0, back, sizeof(back)));
	EXPECT_EQ(0U, pattern_bad(back, sizeof(back), 131, 0));

	/* An fd on the first piece (SET_VRING_ERR, its eventfd). */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	vu_u64_encode(0, word);
	len = msg_bytes(buf, VHOST_USER_SET_VRING_ERR, vu_hdr_flags(false, true),
			word, sizeof(word));
	ASSERT_EQ(0, send_pieces(vuf_sock(self->f), buf, len, 2, &efd, 1));
	EXPECT_EQ(0, vmm_ack(self, VHOST_USER_SET_VRING_ERR));
	BE("ok", "fdwrite err 0");
	EXPECT_EQ(1ULL, efd_count(efd));
	close(efd);

	/* The backend channel: a SHMEM_MAP with its fd, in pieces. */
	BE("ok", "map 0 0x4000 0x3000 0x1000 rw 132");
	EXPECT_EQ(0U, pattern_bad(self->win[0] + 0x4000, 0x3000, 132, 0x1000));

	/* A forwarded config change in pieces; the VMM answers in pieces. */
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	EXPECT_EQ(2U, m.hdr.request);
	vuf_msg_close_fds(&m);
	vu_u64_encode(9, word);
	len = msg_bytes(buf, 2, vu_hdr_flags(true, false), word, sizeof(word));
	ASSERT_EQ(0, send_pieces(vuf_backend_sock(self->f), buf, len, 3, NULL, 0));
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("fail 9", self->st.be.line);

	/* Whole again: the session is intact. */
	BE("ok", "split 0");
	EXPECT_EQ(0, vuf_stop(self->f));
	EXPECT_EQ(0, vuf_resume(self->f));
	EXPECT_EQ(fds, helper_fds(self));
	EXPECT_FALSE(proc_stderr_has(&self->st.hp, "closing the session"));
}

/*
 * fd-carrying front-end requests go through as fds to the same objects:
 * SET_VRING_ERR and SET_LOG_FD (eventfds: the backend writes through its
 * copy, the VMM reads the count) and SET_LOG_BASE (a memfd, LOG_SHMFD
 * negotiated so it has a reply: same inode, and the backend's write shows
 * in the VMM's file).  The helper keeps none of them.
 */
TEST_F_TIMEOUT(br, fds_from_vmm_reach_backend, TEST_TIMEOUT_S)
{
	const char *be[] = { "--shmem", "0:1M", "--log-shmfd", NULL };
	uint8_t word[VU_U64_SIZE], base[16] = { 0 }, reply[8];
	uint64_t v = 0;
	size_t n;
	int efd, lfd, mfd, fds;

	START(be, NULL);
	self->cfg.protocol_features |= PF(LOG_SHMFD);
	VMM();
	ASSERT_NE(0ULL, vuf_protocol(self->f) & PF(LOG_SHMFD));
	BE("channel", "wait-channel 20000");
	fds = helper_fds(self);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	lfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mfd = memfd_create("bridge-log", MFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, lfd);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4096));

	vu_u64_encode(0, word);
	ASSERT_EQ(0, vuf_request(self->f, VHOST_USER_SET_VRING_ERR, VUF_RQ_ACK,
				 word, sizeof(word), &efd, 1, NULL, 0, NULL));
	BE("ok", "fdwrite err 0");
	EXPECT_EQ(1ULL, efd_count(efd));

	ASSERT_EQ(0, vuf_request(self->f, VHOST_USER_SET_LOG_FD, VUF_RQ_ACK,
				 NULL, 0, &lfd, 1, NULL, 0, NULL));
	BE("ok", "fdwrite log-fd");
	EXPECT_EQ(1ULL, efd_count(lfd));

	vu_u64_encode(4096, base);		/* mmap_size, mmap_offset 0 */
	ASSERT_EQ(0, vuf_request(self->f, VHOST_USER_SET_LOG_BASE, 0, base,
				 sizeof(base), &mfd, 1, reply, sizeof(reply), &n));
	ASSERT_EQ(8U, n);
	EXPECT_EQ(0, (int)vu_u64_decode(reply, n, &v));
	EXPECT_EQ(0ULL, v);
	EXPECT_EQ(fd_ino(mfd), be_ino(self, "log-base"));
	BE("ok", "fdwrite log-base");
	v = 0;
	EXPECT_EQ(8, pread(mfd, &v, sizeof(v), 0));
	EXPECT_EQ(1ULL, v);

	close(efd);
	close(lfd);
	close(mfd);
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	EXPECT_EQ(0, vmm_sync(self));
}

/* A backend reply with an fd (GET_INFLIGHT_FD): the VMM gets the
 * backend's memfd itself, contents and all.
 */
TEST_F_TIMEOUT(br, fd_in_backend_reply, TEST_TIMEOUT_S)
{
	uint8_t req[24] = { 0 }, page[4096];
	struct vuf_msg m;
	uint64_t size = 0;
	int fds;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	fds = helper_fds(self);
	req[16] = 1;				/* num_queues */
	req[18] = 128;				/* queue_size */
	ASSERT_EQ(0, vuf_request_msg(self->f, VHOST_USER_GET_INFLIGHT_FD, 0,
				     req, sizeof(req), NULL, 0, &m))
		TH_LOG("%s", stack_why(&self->st, "GET_INFLIGHT_FD"));
	EXPECT_EQ(24U, m.len);
	ASSERT_EQ(1U, m.nfds);
	vu_u64_decode(m.payload, 8, &size);
	EXPECT_EQ(4096ULL, size);
	EXPECT_EQ(0, memcmp(m.payload + 16, req + 16, 8));
	EXPECT_EQ(be_ino(self, "inflight"), fd_ino(m.fds[0]));
	EXPECT_EQ((ssize_t)sizeof(page), pread(m.fds[0], page, sizeof(page), 0));
	EXPECT_EQ(0U, pattern_bad(page, sizeof(page), 0x1f, 0));
	vuf_msg_close_fds(&m);
	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	EXPECT_EQ(0, vmm_sync(self));
}

/*
 * Backend requests other than SHMEM that carry fds, through the VMM's own
 * channel: VRING_HOST_NOTIFIER_MSG with a memfd (the VMM gets that file;
 * its ack goes back), and SHARED_OBJECT_LOOKUP whose answer carries the
 * VMM's fd back to the backend (the backend writes through it, the VMM
 * reads it).
 */
TEST_F_TIMEOUT(br, fd_requests_through_vmm_channel, TEST_TIMEOUT_S)
{
	uint8_t page[4096];
	struct vuf_msg m;
	unsigned long ino;
	uint64_t v = 0;
	int fds, mfd;

	START(NULL, NULL);
	VMM();
	BE("channel", "wait-channel 20000");
	ASSERT_LE(0, vuf_backend_sock(self->f));
	fds = helper_fds(self);

	/* VhostUserVringArea: u64 index 0, size 0x1000, offset 0. */
	ASSERT_LT(0, dprintf(self->st.be.in, "breq 3 %s fd\n",
			     "000000000000000000100000000000000000000000000000"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS))
		TH_LOG("%s", stack_why(&self->st, "not forwarded"));
	EXPECT_EQ(3U, m.hdr.request);
	EXPECT_EQ(24U, m.len);
	ASSERT_EQ(1U, m.nfds);
	ino = fd_ino(m.fds[0]);
	EXPECT_EQ((ssize_t)sizeof(page), pread(m.fds[0], page, sizeof(page), 0));
	EXPECT_EQ(0U, pattern_bad(page, sizeof(page), 0x5e, 0));
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 0));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	EXPECT_EQ(be_ino(self, "sent"), ino);

	/* SHARED_OBJECT_LOOKUP: a UUID out, u64 0 and an fd back. */
	mfd = memfd_create("bridge-shared", MFD_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 4096));
	ASSERT_LT(0, dprintf(self->st.be.in, "breq 8 %s\n",
			     "00112233445566778899aabbccddeeff"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	EXPECT_EQ(8U, m.hdr.request);
	ASSERT_EQ(0, vuf_backend_req_reply_fds(self->f, &m, 0, &mfd, 1));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	EXPECT_EQ(fd_ino(mfd), be_ino(self, "reply"));
	BE("ok", "fdwrite reply");
	EXPECT_EQ(8, pread(mfd, &v, sizeof(v), 0));
	EXPECT_EQ(1ULL, v);
	close(mfd);

	usleep(100000);
	EXPECT_EQ(fds, helper_fds(self));
	BE("ok", "map 0 0 0x1000 0 rw 141");
	EXPECT_EQ(0U, pattern_bad(self->win[0], 0x1000, 141, 0));
}

/* ---- SIGUSR1 status ------------------------------------------------------------------ */

/* Waits for the @n-th complete status dump (its last line). */
static bool status_dump(FIXTURE_DATA(br) *self, unsigned int n, bool session)
{
	kill(self->st.hp.pid, SIGUSR1);
	return proc_stderr_wait_n(&self->st.hp,
				  session ? "backend requests:" :
					    "status: no session", n,
				  STACK_TIMEOUT_MS);
}

/*
 * SIGUSR1 under -q (which drops info lines): the state is still printed:
 * windows, no session; then a session whose backend channel waits for the
 * VMM, and one that is idle, each naming the connections (with the peers'
 * pids), the negotiated features of both sides and per-request counts.
 */
TEST_F_TIMEOUT(br, status_on_sigusr1, TEST_TIMEOUT_S)
{
	const char *hp[] = { "-q", NULL };
	char vmm[64], be[PROC_PATH_MAX + 64], pf_vmm[64], pf_be[64];
	unsigned long long be_pf;
	struct vuf_msg m;

	START(NULL, hp);
	ASSERT_TRUE(status_dump(self, 1, false))
		TH_LOG("%s", stack_why(&self->st, "no status"));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "status: window "));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "shmid 2, 0x10000 bytes (region 0x10000)"));

	VMM();
	BE("channel", "wait-channel 20000");
	be_pf = strtoull(self->st.be.line + 8, NULL, 16);
	BE("ok", "map 0 0 0x1000 0 rw 151");
	BE("ok", "map 2 0 0x1000 0 rw 151");
	EXPECT_BE("fail", "map 0 0 0x1000 0 rw 151");
	/* A forwarded request the VMM has not answered yet. */
	ASSERT_LT(0, dprintf(self->st.be.in, "backend-req 2\n"));
	ASSERT_EQ(0, vuf_backend_req_recv(self->f, &m, STACK_TIMEOUT_MS));
	ASSERT_TRUE(status_dump(self, 1, true))
		TH_LOG("%s", stack_why(&self->st, "no session status"));

	snprintf(vmm, sizeof(vmm), "connections: VMM (pid %d) open", getpid());
	snprintf(be, sizeof(be), "backend %s (pid %d) open", self->st.be_sock,
		 self->st.be.pid);
	snprintf(pf_vmm, sizeof(pf_vmm), "protocol features: VMM %#llx,",
		 (unsigned long long)vuf_protocol(self->f));
	snprintf(pf_be, sizeof(pf_be), "backend %#llx", be_pf);
	{
		const char *const conns[] = { "status: session 1: ", vmm, be,
			"backend channel open (the helper's, in place of the VMM's)",
			"VMM backend channel open", NULL };
		const char *const feats[] = { "status: session 1: ", pf_vmm,
					      pf_be, "SHMEM on", NULL };
		const char *const fwd[] = { "status: session 1: ",
			"waiting for the VMM's reply to BACKEND_CONFIG_CHANGE_MSG",
			NULL };
		const char *const maps[] = { "status: session 1: ",
			"SHMEM_MAP 2 ok 1 failed", NULL };
		const char *const vreq[] = { "status: session 1: VMM requests:",
			"GET_FEATURES=", "SET_PROTOCOL_FEATURES=1 ",
			"SET_BACKEND_REQ_FD=1", "SET_MEM_TABLE=1", NULL };
		const char *const breq[] = { "status: session 1: backend requests:",
			"BACKEND_CONFIG_CHANGE_MSG=1", "BACKEND_SHMEM_MAP=3", NULL };

		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, conns, 0))
			TH_LOG("%s", stack_why(&self->st, "connections"));
		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, feats, 0))
			TH_LOG("%s", stack_why(&self->st, "features"));
		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, fwd, 0))
			TH_LOG("%s", stack_why(&self->st, "backend channel state"));
		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, maps, 0));
		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, vreq, 0))
			TH_LOG("%s", stack_why(&self->st, "VMM counts"));
		EXPECT_TRUE(proc_stderr_line_all(&self->st.hp, breq, 0))
			TH_LOG("%s", stack_why(&self->st, "backend counts"));
	}
	/* Answered: the backend channel is idle again. */
	ASSERT_EQ(0, vuf_backend_req_reply(self->f, &m, 0));
	vuf_msg_close_fds(&m);
	ASSERT_EQ(0, proc_read_line(&self->st.be, STACK_TIMEOUT_MS));
	EXPECT_STREQ("ok", self->st.be.line);
	ASSERT_TRUE(status_dump(self, 2, true));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "status: session 1: backend channel: idle"));
	EXPECT_TRUE(proc_stderr_has(&self->st.hp, "status: session 1: no backend reply pending"));
	/* -q: nothing at info level, the status all the same. */
	EXPECT_FALSE(proc_stderr_has(&self->st.hp, ": info: "))
		TH_LOG("%s", stack_why(&self->st, "info line under -q"));
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
