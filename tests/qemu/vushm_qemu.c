// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_qemu - an unmodified QEMU uses a vushm window as the memory behind
 * an ivshmem-plain PCI BAR and sees what VUSHM_MAP and VUSHM_UNMAP put
 * there, without ever changing its own memory layout.
 *
 * Each test creates a 64 MiB window and starts Debian's qemu-system-x86_64
 * as a child:
 *
 *   -machine pc -nodefaults -display none -S -m 32M -qtest stdio
 *   -object memory-backend-file,id=m0,mem-path=/dev/vushm/NAME,share=on,size=S
 *   -device ivshmem-plain,memdev=m0
 *
 * The guest never runs (-S): the test plays the guest over the qtest
 * protocol (tests/qemu/qtest.c), programs the ivshmem BAR2 through PCI
 * configuration space at QTEST_BAR2_ADDR and reads and writes through it;
 * QEMU then accesses its mmap of the window node exactly as it would for a
 * guest access.
 *
 * What QEMU does when the window refuses an access (measured, documented
 * by the tests below): a store into a read-only mapping and any access to
 * a hole of a VUSHM_HOLE_SIGBUS window raise SIGBUS in QEMU, whose handler
 * re-raises it for anything but a memory-failure report: QEMU dies of
 * SIGBUS (a shell shows exit 135).  This is what a guest touching such a
 * range does to its VMM.
 *
 * QEMU 7.2 checks size= against lseek(SEEK_END) of the node, but refuses
 * only a size= ABOVE the window size ("backing store size ... does not
 * match 'size' option ..."); a smaller size= is accepted and QEMU maps
 * the first size= bytes of the window.
 *
 * Skips (exit 4) when not root, when /dev/vushm/control is missing or when
 * qemu-system-x86_64 ($VUSHM_QEMU) is not found.  Every qtest reply is
 * awaited at most $VUSHM_QTEST_TIMEOUT seconds (default 60).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <uapi/linux/vushm.h>

/* the 6.1 harness has an unused parameter; -Wextra stays on for this file */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "qtest.h"

#define CONTROL_NODE	"/dev/vushm/control"
#define WIN_SIZE	(64ULL << 20)	/* a power of two: QEMU asserts it */
#define MIB		(1ULL << 20)
#define BAR		QTEST_BAR2_ADDR
#define TEST_TIMEOUT_S	300		/* QEMU runs under TCG inside TCG */

/* The 8 bytes at offset @off of memfd number @seed. */
static uint64_t pattern(uint64_t seed, uint64_t off)
{
	return 0x5653484d00000000ULL ^ (seed << 40) ^ off;	/* "VSHM" */
}

FIXTURE(qemu) {
	int ctl;			/* /dev/vushm/control */
	int ctlr;			/* controller fd of the window */
	struct vushm_info info;		/* of the control node */
	char name[VUSHM_NAME_MAX];
	char node[64];
	bool created;
	struct qtest qt;
	bool started;
	char why[2048];			/* failure text */
};

FIXTURE_SETUP(qemu)
{
	self->ctlr = -1;
	self->ctl = open(CONTROL_NODE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl) TH_LOG("open %s: %s", CONTROL_NODE,
				       strerror(errno));
	ASSERT_EQ(0, ioctl(self->ctl, VUSHM_GET_INFO, &self->info))
		TH_LOG("GET_INFO: %s", strerror(errno));
	ASSERT_EQ(VUSHM_API_VERSION, (int)self->info.api_version);
	ASSERT_LE(WIN_SIZE, self->info.max_window_size);
	snprintf(self->name, sizeof(self->name), "vushm-qemu-%d", getpid());
	snprintf(self->node, sizeof(self->node), "/dev/vushm/%s", self->name);
}

FIXTURE_TEARDOWN(qemu)
{
	if (self->started) {
		qtest_kill(&self->qt);
		qtest_close(&self->qt);
	}
	if (self->ctlr >= 0)
		close(self->ctlr);
	if (self->created) {
		struct vushm_window_ref ref = { 0 };

		strcpy(ref.name, self->name);
		if (ioctl(self->ctl, VUSHM_DESTROY, &ref))
			TH_LOG("DESTROY %s: %s", self->name, strerror(errno));
	}
	close(self->ctl);
}

/* qtest's error and what QEMU wrote on stderr, for failure messages. */
static const char *why(FIXTURE_DATA(qemu) *self)
{
	char err[1024];

	snprintf(self->why, sizeof(self->why), "%s; QEMU stderr: '%s'",
		 self->qt.err, qtest_stderr(&self->qt, err, sizeof(err)));
	return self->why;
}

static void create_window(struct __test_metadata *_metadata,
			  FIXTURE_DATA(qemu) *self, uint32_t hole_policy)
{
	struct vushm_create c = { 0 };
	struct stat st;

	strcpy(c.name, self->name);
	c.size = WIN_SIZE;
	c.hole_policy = hole_policy;
	c.mode = 0600;
	self->ctlr = ioctl(self->ctl, VUSHM_CREATE, &c);
	ASSERT_LE(0, self->ctlr) TH_LOG("CREATE %s: %s", self->name,
					strerror(errno));
	self->created = true;
	ASSERT_EQ(0, stat(self->node, &st)) TH_LOG("stat %s: %s", self->node,
						   strerror(errno));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

static bool has_feature(FIXTURE_DATA(qemu) *self, uint64_t f)
{
	return (self->info.features & f) == f;
}

/* A memfd of @size bytes holding pattern(@seed, offset) in every word. */
static int make_memfd(struct __test_metadata *_metadata, size_t size,
		      uint64_t seed)
{
	uint64_t *buf;
	int fd;

	fd = memfd_create("vushm-qemu", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	buf = malloc(size);
	ASSERT_NE(NULL, buf);
	for (size_t i = 0; i < size / 8; i++)
		buf[i] = pattern(seed, i * 8);
	ASSERT_EQ((ssize_t)size, pwrite(fd, buf, size, 0));
	free(buf);
	return fd;
}

static uint64_t memfd_q(struct __test_metadata *_metadata, int fd,
			uint64_t off)
{
	uint64_t v;

	ASSERT_EQ(8, pread(fd, &v, 8, off));
	return v;
}

static int do_map(FIXTURE_DATA(qemu) *self, int fd, uint64_t fd_offset,
		  uint64_t shm_offset, uint64_t len, uint64_t flags)
{
	struct vushm_map m = {
		.fd = fd, .fd_offset = fd_offset, .shm_offset = shm_offset,
		.len = len, .flags = flags,
	};

	return ioctl(self->ctlr, VUSHM_MAP, &m);
}

static int do_unmap(FIXTURE_DATA(qemu) *self, uint64_t shm_offset,
		    uint64_t len)
{
	struct vushm_unmap u = { .shm_offset = shm_offset, .len = len };

	return ioctl(self->ctlr, VUSHM_UNMAP, &u);
}

#define MAP_OK(...) \
	ASSERT_EQ(0, do_map(self, __VA_ARGS__)) TH_LOG("MAP: %s", strerror(errno))
#define UNMAP_OK(...) \
	ASSERT_EQ(0, do_unmap(self, __VA_ARGS__)) \
		TH_LOG("UNMAP: %s", strerror(errno))

/* Start QEMU on the window node with size=@size; place BAR2 if @bar. */
static void start_qemu(struct __test_metadata *_metadata,
		       FIXTURE_DATA(qemu) *self, uint64_t size, bool bar)
{
	struct qtest_config cfg = { .mem_path = self->node, .size = size };
	uint64_t bar_size = 0;

	ASSERT_EQ(0, qtest_start(&self->qt, &cfg)) TH_LOG("%s", self->qt.err);
	self->started = true;
	if (!bar)
		return;
	ASSERT_EQ(0, qtest_ivshmem_bar2(&self->qt, BAR, &bar_size))
		TH_LOG("%s", why(self));
	ASSERT_EQ(size, bar_size);
}

/* The 8 bytes QEMU reads at window offset @off. */
static uint64_t bar_q(struct __test_metadata *_metadata,
		      FIXTURE_DATA(qemu) *self, uint64_t off)
{
	uint64_t v = 0;

	ASSERT_EQ(0, qtest_readq(&self->qt, BAR + off, &v))
		TH_LOG("readq BAR2+0x%" PRIx64 ": %s", off, why(self));
	return v;
}

#define EXPECT_BAR_Q(expected, off) do { \
	uint64_t __off = (off); \
	EXPECT_EQ((uint64_t)(expected), bar_q(_metadata, self, __off)) \
		TH_LOG("at BAR2 offset 0x%" PRIx64, __off); \
} while (0)

/* QEMU exits 0 on SIGTERM; it must still be alive until then. */
static void stop_qemu_cleanly(struct __test_metadata *_metadata,
			      FIXTURE_DATA(qemu) *self)
{
	char st[64];
	int status;

	ASSERT_TRUE(qtest_alive(&self->qt))
		TH_LOG("QEMU died: %s; stderr: %s",
		       qtest_status_str(self->qt.status, st, sizeof(st)),
		       why(self));
	status = qtest_stop(&self->qt);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("QEMU %s after SIGTERM",
		       qtest_status_str(status, st, sizeof(st)));
}

/*
 * MAP before QEMU starts (QEMU's VMA faults the pages in) and while it runs
 * (installed into QEMU's VMA at once, replacing hole pages QEMU read
 * before): qtest reads through BAR2 return the memfd's bytes.  After UNMAP
 * the same offsets read zeros.  QEMU survives all of it.
 */
TEST_F_TIMEOUT(qemu, map_unmap_through_bar, TEST_TIMEOUT_S)
{
	static const uint64_t first[] = { 0, 8, 4088, 4096, 0x7f018, MIB - 8 };
	static const uint64_t second[] = { 0x10, 0x2008, 0x80000, MIB - 8 };
	static const uint64_t gaps[] = { MIB, 32 * MIB, 63 * MIB - 8 };
	const uint64_t second_at = 63 * MIB;	/* last MiB of the window */
	struct vushm_info info;
	uint8_t page[4096], want[4096];
	int fd;

	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	fd = make_memfd(_metadata, 2 * MIB, 1);

	MAP_OK(fd, 0, 0, MIB, 0);
	start_qemu(_metadata, self, WIN_SIZE, true);
	for (size_t i = 0; i < ARRAY_SIZE(first); i++)
		EXPECT_BAR_Q(memfd_q(_metadata, fd, first[i]), first[i]);

	/* a whole page, byte by byte */
	ASSERT_EQ(0, qtest_read(&self->qt, BAR + 0x3000, page, sizeof(page)))
		TH_LOG("%s", why(self));
	ASSERT_EQ((ssize_t)sizeof(want), pread(fd, want, sizeof(want), 0x3000));
	EXPECT_EQ(0, memcmp(page, want, sizeof(page)));

	/* QEMU touches holes of the second range before it is mapped */
	for (size_t i = 0; i < ARRAY_SIZE(second); i++)
		EXPECT_BAR_Q(0, second_at + second[i]);

	MAP_OK(fd, MIB, second_at, MIB, 0);
	for (size_t i = 0; i < ARRAY_SIZE(second); i++)
		EXPECT_BAR_Q(memfd_q(_metadata, fd, MIB + second[i]),
			     second_at + second[i]);
	for (size_t i = 0; i < ARRAY_SIZE(gaps); i++)
		EXPECT_BAR_Q(0, gaps[i]);

	ASSERT_EQ(0, ioctl(self->ctlr, VUSHM_GET_INFO, &info));
	EXPECT_EQ(2U, info.nr_mappings);
	EXPECT_EQ(2 * MIB, info.mapped_bytes);

	UNMAP_OK(0, MIB);
	UNMAP_OK(second_at, MIB);
	for (size_t i = 0; i < ARRAY_SIZE(first); i++)
		EXPECT_BAR_Q(0, first[i]);
	for (size_t i = 0; i < ARRAY_SIZE(second); i++)
		EXPECT_BAR_Q(0, second_at + second[i]);

	/* the memfd is what it was */
	EXPECT_EQ(pattern(1, 0x3000), memfd_q(_metadata, fd, 0x3000));
	close(fd);
	stop_qemu_cleanly(_metadata, self);
}

/*
 * A read-write mapping: qtest stores through BAR2 land in the memfd and the
 * backend's stores to the memfd are seen through BAR2.  A store QEMU made
 * into the hole before the MAP does not leak into the mapped file.
 */
TEST_F_TIMEOUT(qemu, rw_mapping_writes_reach_memfd, TEST_TIMEOUT_S)
{
	static const char text[] = "written by the guest through BAR2";
	const uint64_t at = 2 * MIB, len = 64 * 1024;
	const uint64_t v1 = 0x1122334455667788ULL, v2 = 0x0badc0ffee0ddf00ULL;
	char got[sizeof(text)];
	int fd;

	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	fd = make_memfd(_metadata, len, 2);
	start_qemu(_metadata, self, WIN_SIZE, true);

	/* zero policy: a store into a hole is absorbed */
	ASSERT_EQ(0, qtest_writeq(&self->qt, BAR + at + 8, 0xdeadbeefULL))
		TH_LOG("%s", why(self));

	MAP_OK(fd, 0, at, len, VUSHM_MAP_RW);
	EXPECT_BAR_Q(pattern(2, 8), at + 8);
	EXPECT_EQ(pattern(2, 8), memfd_q(_metadata, fd, 8));

	ASSERT_EQ(0, qtest_writeq(&self->qt, BAR + at + 16, v1))
		TH_LOG("%s", why(self));
	EXPECT_EQ(v1, memfd_q(_metadata, fd, 16));
	ASSERT_EQ(0, qtest_write(&self->qt, BAR + at + 0x1000, text,
				 sizeof(text))) TH_LOG("%s", why(self));
	ASSERT_EQ((ssize_t)sizeof(got), pread(fd, got, sizeof(got), 0x1000));
	EXPECT_EQ(0, memcmp(text, got, sizeof(text)));
	EXPECT_BAR_Q(v1, at + 16);

	/* backend -> guest */
	ASSERT_EQ(8, pwrite(fd, &v2, 8, 0x2000));
	EXPECT_BAR_Q(v2, at + 0x2000);
	/* the neighbours are untouched */
	EXPECT_EQ(pattern(2, 24), memfd_q(_metadata, fd, 24));
	EXPECT_EQ(pattern(2, 0x2008), memfd_q(_metadata, fd, 0x2008));

	UNMAP_OK(at, len);
	EXPECT_BAR_Q(0, at + 16);
	EXPECT_EQ(v1, memfd_q(_metadata, fd, 16));
	close(fd);
	stop_qemu_cleanly(_metadata, self);
}

/*
 * size= above the window size: QEMU refuses to start, because the node's
 * lseek(SEEK_END) reports the window size.
 */
TEST_F_TIMEOUT(qemu, size_above_window_refused, TEST_TIMEOUT_S)
{
	char st[64], err[1024];
	int status;

	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	start_qemu(_metadata, self, 2 * WIN_SIZE, false);
	ASSERT_EQ(0, qtest_wait(&self->qt, self->qt.timeout_ms))
		TH_LOG("QEMU with size=%llu on a %llu-byte window still runs",
		       2 * WIN_SIZE, WIN_SIZE);
	status = self->qt.status;
	qtest_stderr(&self->qt, err, sizeof(err));
	TH_LOG("QEMU %s: %s", qtest_status_str(status, st, sizeof(st)), err);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
	EXPECT_NE(NULL, strstr(err, "size"));
	EXPECT_NE(NULL, strstr(err, "does not match"));
}

/*
 * Documents QEMU 7.2: a size= below the window size is accepted (QEMU only
 * checks that the backing store is not smaller than size=), and QEMU maps
 * the first size= bytes of the window.
 */
TEST_F_TIMEOUT(qemu, size_below_window_accepted_by_qemu, TEST_TIMEOUT_S)
{
	const uint64_t size = WIN_SIZE / 2;
	int fd;

	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	fd = make_memfd(_metadata, 64 * 1024, 3);
	start_qemu(_metadata, self, size, true);	/* BAR2 is size bytes */
	MAP_OK(fd, 0, size - 64 * 1024, 64 * 1024, 0);
	EXPECT_BAR_Q(pattern(3, 0x100), size - 64 * 1024 + 0x100);
	close(fd);
	stop_qemu_cleanly(_metadata, self);
}

/*
 * Closing the controller removes every mapping but not the window: QEMU
 * keeps its BAR and reads zeros; a new controller (ATTACH) maps again.
 */
TEST_F_TIMEOUT(qemu, controller_close_then_attach, TEST_TIMEOUT_S)
{
	struct vushm_window_ref ref = { 0 };
	const uint64_t at = 8 * MIB, len = 64 * 1024;
	int fd1, fd2;

	if (!has_feature(self, VUSHM_F_ATTACH))
		SKIP(return, "VUSHM_F_ATTACH not supported");
	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	fd1 = make_memfd(_metadata, len, 4);
	fd2 = make_memfd(_metadata, len, 5);
	MAP_OK(fd1, 0, at, len, 0);
	start_qemu(_metadata, self, WIN_SIZE, true);
	EXPECT_BAR_Q(pattern(4, 0x1008), at + 0x1008);

	close(self->ctlr);
	self->ctlr = -1;
	EXPECT_BAR_Q(0, at + 0x1008);
	ASSERT_TRUE(qtest_alive(&self->qt));

	strcpy(ref.name, self->name);
	self->ctlr = ioctl(self->ctl, VUSHM_ATTACH, &ref);
	ASSERT_LE(0, self->ctlr) TH_LOG("ATTACH: %s", strerror(errno));
	MAP_OK(fd2, 0, at, len, 0);
	EXPECT_BAR_Q(pattern(5, 0x1008), at + 0x1008);
	close(fd1);
	close(fd2);
	stop_qemu_cleanly(_metadata, self);
}

/*
 * DESTROY while QEMU maps the window: the mappings go, and from then on
 * every access reads zeros even with the SIGBUS hole policy, so QEMU
 * survives; the node is gone and the controller answers ENODEV.
 */
TEST_F_TIMEOUT(qemu, destroy_while_qemu_maps, TEST_TIMEOUT_S)
{
	struct vushm_window_ref ref = { 0 };
	const uint64_t len = 64 * 1024;
	uint32_t policy = VUSHM_HOLE_ZERO;
	struct stat st;
	int fd;

	if (has_feature(self, VUSHM_F_HOLE_SIGBUS))
		policy = VUSHM_HOLE_SIGBUS;
	create_window(_metadata, self, policy);
	fd = make_memfd(_metadata, len, 6);
	MAP_OK(fd, 0, 0, len, 0);
	start_qemu(_metadata, self, WIN_SIZE, true);
	EXPECT_BAR_Q(pattern(6, 0x40), 0x40);

	strcpy(ref.name, self->name);
	ASSERT_EQ(0, ioctl(self->ctl, VUSHM_DESTROY, &ref))
		TH_LOG("DESTROY: %s", strerror(errno));
	self->created = false;
	EXPECT_BAR_Q(0, 0x40);
	EXPECT_BAR_Q(0, 32 * MIB);	/* a hole: zeros, not SIGBUS */
	EXPECT_EQ(-1, stat(self->node, &st));
	EXPECT_EQ(-1, do_map(self, fd, 0, 0, len, 0));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	stop_qemu_cleanly(_metadata, self);
}

/*
 * A read-only mapping: a qtest store through BAR2 must not reach the memfd.
 * QEMU's store faults, the window refuses write access (SIGBUS), and QEMU
 * dies of SIGBUS.
 */
TEST_F_TIMEOUT(qemu, ro_mapping_write_refused, TEST_TIMEOUT_S)
{
	const uint64_t at = 4 * MIB, len = 64 * 1024;
	uint8_t *before, *after;
	char st[64];
	int fd, ret;

	create_window(_metadata, self, VUSHM_HOLE_ZERO);
	fd = make_memfd(_metadata, len, 7);
	before = malloc(len);
	after = malloc(len);
	ASSERT_TRUE(before && after);
	ASSERT_EQ((ssize_t)len, pread(fd, before, len, 0));
	MAP_OK(fd, 0, at, len, 0);
	start_qemu(_metadata, self, WIN_SIZE, true);
	EXPECT_BAR_Q(pattern(7, 8), at + 8);

	ret = qtest_writeq(&self->qt, BAR + at + 8, 0x4141414141414141ULL);
	if (ret)
		qtest_wait(&self->qt, self->qt.timeout_ms);
	TH_LOG("store into a read-only mapping: writeq %s (%s), QEMU %s",
	       ret ? "got no reply" : "answered OK", self->qt.err,
	       qtest_alive(&self->qt) ? "still runs" :
	       qtest_status_str(self->qt.status, st, sizeof(st)));

	ASSERT_EQ((ssize_t)len, pread(fd, after, len, 0));
	EXPECT_EQ(0, memcmp(before, after, len))
		TH_LOG("the store reached the memfd: now 0x%016" PRIx64,
		       memfd_q(_metadata, fd, 8));
	EXPECT_EQ(-EPIPE, ret);
	EXPECT_TRUE(self->qt.reaped && WIFSIGNALED(self->qt.status) &&
		    WTERMSIG(self->qt.status) == SIGBUS);
	free(before);
	free(after);
	close(fd);
}

/*
 * VUSHM_HOLE_SIGBUS: a mapped range reads normally, and a read of a hole
 * kills QEMU with SIGBUS - what a guest touching an unmapped part of the
 * region does to its VMM under that policy.
 */
TEST_F_TIMEOUT(qemu, sigbus_hole_read_kills_qemu, TEST_TIMEOUT_S)
{
	const uint64_t len = 64 * 1024;
	char st[64];
	uint64_t v;
	int fd, ret;

	if (!has_feature(self, VUSHM_F_HOLE_SIGBUS))
		SKIP(return, "VUSHM_F_HOLE_SIGBUS not supported");
	create_window(_metadata, self, VUSHM_HOLE_SIGBUS);
	fd = make_memfd(_metadata, len, 8);
	MAP_OK(fd, 0, 0, len, 0);
	start_qemu(_metadata, self, WIN_SIZE, true);
	EXPECT_BAR_Q(pattern(8, 0x808), 0x808);

	ret = qtest_readq(&self->qt, BAR + 32 * MIB, &v);
	ASSERT_EQ(-EPIPE, ret) TH_LOG("readq of a hole: %d (%s)", ret,
				      ret ? self->qt.err : "answered");
	ASSERT_EQ(0, qtest_wait(&self->qt, self->qt.timeout_ms));
	TH_LOG("read of a SIGBUS hole: QEMU %s",
	       qtest_status_str(self->qt.status, st, sizeof(st)));
	EXPECT_TRUE(WIFSIGNALED(self->qt.status) &&
		    WTERMSIG(self->qt.status) == SIGBUS);
	close(fd);
}

/* TEST_HARNESS_MAIN, plus the skips (exit 4) that apply to every test. */
static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	char qemu[512];
	struct stat st;

	if (geteuid() != 0) {
		ksft_print_header();
		ksft_exit_skip("must be run as root\n");
	}
	if (stat(CONTROL_NODE, &st)) {
		ksft_print_header();
		ksft_exit_skip("%s missing: vushm module not loaded\n",
			       CONTROL_NODE);
	}
	if (qtest_find_qemu(NULL, qemu, sizeof(qemu))) {
		ksft_print_header();
		ksft_exit_skip("qemu-system-x86_64 not found (set VUSHM_QEMU)\n");
	}
	return test_harness_run(argc, argv);
}
