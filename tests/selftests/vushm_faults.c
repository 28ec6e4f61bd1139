// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_faults: every allocation on the command paths fails once.
 *
 * With fault injection (CONFIG_FAILSLAB, /proc/thread-self/fail-nth: the
 * debug kernel of make check-debug), the N-th slab allocation of the
 * calling task fails, for N = 1, 2, ... until a command runs without
 * reaching the N-th: MAP through ioctl and uring_cmd (small ranges, whose
 * pages are kept and inserted into every VMA, and large ones, inserted in
 * batches), CREATE, and mmap of a window.  Each attempt must succeed or
 * fail with ENOMEM and leave the window exactly as before (no mapping, the
 * range a hole); a success must be complete.  The fixture's teardown then
 * checks Shmem and the kernel log (KASAN, lockdep, leaks are the runner's).
 * Debian's kernel has no fault injection: run by check-debug only
 * (tests.debug.list).
 */
#define VT_URING
#include "vushm_test.h"

#define SEED		0xfa17
#define MAX_NTH		400
#define FAILSLAB	"/sys/kernel/debug/failslab/"

static int nth_fd = -1;

/*
 * MAP through uring_cmd.  io_uring's own request allocation can be the one
 * that fails: then nothing is submitted (the SQE stays queued) and that is
 * reported as -EAGAIN, the MAP not having run.
 */
static int uring_map(struct io_uring *ring, int cfd, int fd, __u64 shm_offset,
		     __u64 len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct vushm_map m;

	if (!sqe)
		return -EBUSY;
	vt_map_args(&m, fd, 0, shm_offset, len, VUSHM_MAP_RW);
	vt_prep_cmd(ring, sqe, cfd, VUSHM_MAP, &m, sizeof(m), 0xfa17);
	if (io_uring_submit(ring) <= 0)
		return -EAGAIN;
	return vt_uring_reap(ring);
}

/* Submits what a failed uring_map() left queued; its CQE's result. */
static int uring_resubmit(struct io_uring *ring)
{
	int ret = io_uring_submit_and_wait(ring, 1);

	return ret < 0 ? ret : vt_uring_reap(ring);
}

/* Arm: the @n-th faultable allocation of this thread fails. */
static void arm(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		abort();
}

/* Disarm; true if the armed fault was injected. */
static bool disarm(void)
{
	char buf[16] = "";
	bool hit;

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) < 0)
		abort();
	hit = atoi(buf) == 0;
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		abort();
	return hit;
}

FIXTURE(faults) {
	struct vt_win w;
	struct io_uring ring;
	bool ring_ok;
};

FIXTURE_VARIANT(faults) {
	size_t len;		/* bytes per MAP */
	bool uring;		/* MAP through uring_cmd */
};

FIXTURE_VARIANT_ADD(faults, small_ioctl) { .len = 64 * 1024, .uring = false };
FIXTURE_VARIANT_ADD(faults, small_uring) { .len = 64 * 1024, .uring = true };
FIXTURE_VARIANT_ADD(faults, large_ioctl) { .len = 4 * 1024 * 1024, .uring = false };
FIXTURE_VARIANT_ADD(faults, large_uring) { .len = 4 * 1024 * 1024, .uring = true };

/* An 8 MiB window, mmapped read-write; w.fd a 4 MiB memfd with a pattern. */
FIXTURE_SETUP(faults)
{
	vt_win_setup(_metadata, &self->w, 8 * MiB);
	vt_win_memfd(_metadata, &self->w, 4 * MiB, SEED, 0);
	vt_win_create(_metadata, &self->w, "flt", VUSHM_HOLE_ZERO);
	vt_win_mmap(_metadata, &self->w, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, vt_ring_init(&self->ring, 8));
	self->ring_ok = true;
	/* Per thread, and each test runs in a child of its own. */
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nth_fd);
}

FIXTURE_TEARDOWN(faults)
{
	if (nth_fd >= 0)
		close(nth_fd);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	vt_win_teardown(_metadata, &self->w);
}

TEST_F_TIMEOUT(faults, map, 600)
{
	const __u64 off = MiB;
	int n, ret, hits = 0, ok = 0;

	for (n = 1; n <= MAX_NTH; n++) {
		bool hit;

		arm(n);
		if (variant->uring)
			ret = uring_map(&self->ring, self->w.cfd, self->w.fd,
					off, variant->len);
		else
			ret = vt_map(self->w.cfd, self->w.fd, 0, off,
				     variant->len, VUSHM_MAP_RW);
		hit = disarm();
		if (ret == -EAGAIN && variant->uring) {
			/* io_uring's allocation failed, not ours: again. */
			ASSERT_TRUE(hit);
			ret = uring_resubmit(&self->ring);
			ASSERT_EQ(0, ret) TH_LOG("fail-nth %d: resubmit", n);
		}
		ASSERT_TRUE(ret == 0 || ret == -ENOMEM)
			TH_LOG("fail-nth %d: MAP returned %d", n, ret);
		if (ret == 0) {
			ok++;
			ASSERT_EQ(1, vt_sysfs_num(self->w.name, "nr_mappings"));
			ASSERT_EQ(-1, vt_check_pattern(self->w.win + off,
						       variant->len, SEED, 0))
				TH_LOG("fail-nth %d: wrong bytes after MAP", n);
			ASSERT_EQ(0, vt_unmap(self->w.cfd, off, variant->len));
		} else {
			ASSERT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
			ASSERT_EQ(0, vt_sysfs_num(self->w.name, "mapped_bytes"));
			ASSERT_EQ(-1, vt_first_nonzero(self->w.win + off,
						       variant->len))
				TH_LOG("fail-nth %d: a refused MAP left bytes", n);
		}
		if (!hit)
			break;
		hits++;
	}
	ASSERT_GE(MAX_NTH, n) TH_LOG("MAP still reaches allocation %d", n);
	/* It allocates (the mapping at least), and works once none fails. */
	EXPECT_LT(0, hits);
	EXPECT_LT(0, ok);
	TH_LOG("%d allocations failed one at a time, %d MAPs worked anyway",
	       hits, ok - 1);
}

TEST_F_TIMEOUT(faults, create, 600)
{
	char name[VUSHM_NAME_MAX];
	int n, cfd, hits = 0, nodeless = 0;

	for (n = 1; n <= MAX_NTH; n++) {
		bool hit;

		vt_make_name(name, "fltc");
		arm(n);
		cfd = vt_create(self->w.ctx.ctl, name, 4 * MiB,
				VUSHM_HOLE_ZERO, 0);
		hit = disarm();
		ASSERT_TRUE(cfd >= 0 || cfd == -ENOMEM)
			TH_LOG("fail-nth %d: CREATE returned %d", n, cfd);
		if (cfd >= 0) {
			/*
			 * The driver core makes the /dev node best-effort:
			 * device_add() ignores a devtmpfs failure (udev would
			 * make the node on a real host).  Only that may miss.
			 */
			if (!vt_node_exists(name)) {
				nodeless++;
				TH_LOG("fail-nth %d: window without a devtmpfs node",
				       n);
			}
			EXPECT_EQ((long long)(4 * MiB), vt_sysfs_num(name, "size"));
			close(cfd);
			ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, name));
		} else {
			EXPECT_FALSE(vt_node_exists(name));
			EXPECT_FALSE(vt_sysfs_exists(name));
			/* The name is free again. */
			EXPECT_EQ(-ENOENT, vt_destroy(self->w.ctx.ctl, name));
		}
		if (!hit)
			break;
		hits++;
	}
	ASSERT_GE(MAX_NTH, n);
	EXPECT_LT(0, hits);
	EXPECT_GE(2, nodeless);
	TH_LOG("%d allocations failed one at a time", hits);
}

/* A new VMA of a window with a live mapping: all or nothing. */
TEST_F_TIMEOUT(faults, mmap, 600)
{
	int n, nfd, hits = 0;

	nfd = vt_open_node(self->w.name, O_RDONLY);
	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, 0));
	for (n = 1; n <= MAX_NTH; n++) {
		long before = vt_sysfs_num(self->w.name, "nr_vmas");
		bool hit;
		char *p;

		arm(n);
		p = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, nfd, 0);
		hit = disarm();
		if (p == MAP_FAILED) {
			ASSERT_EQ(ENOMEM, errno) TH_LOG("fail-nth %d", n);
			EXPECT_EQ(before, vt_sysfs_num(self->w.name, "nr_vmas"));
		} else {
			EXPECT_EQ(before + 1,
				  vt_sysfs_num(self->w.name, "nr_vmas"));
			EXPECT_EQ(-1, vt_check_pattern(p, MiB, SEED, 0));
			munmap(p, 2 * MiB);
		}
		if (!hit)
			break;
		hits++;
	}
	close(nfd);
	ASSERT_GE(MAX_NTH, n);
	TH_LOG("%d allocations failed one at a time", hits);
}

int main(int argc, char **argv)
{
	vt_require_env();
	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    access(FAILSLAB "ignore-gfp-wait", W_OK)) {
		ksft_print_header();
		ksft_exit_skip("no fault injection (fail-nth, failslab) in this kernel\n");
	}
	/* GFP_KERNEL allocations too; no stack dump per injected failure. */
	if (vt_write_str(FAILSLAB "ignore-gfp-wait", "N") ||
	    vt_write_str(FAILSLAB "verbose", "0")) {
		ksft_print_header();
		ksft_exit_fail_msg("cannot configure " FAILSLAB "\n");
	}
	return test_harness_run(argc, argv);
}
