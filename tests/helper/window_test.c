// SPDX-License-Identifier: GPL-2.0
/*
 * window_test: helper/window.c, the helper's windows and their MAP/UNMAP/
 * RESET submission through io_uring, against the real module.  Runs in the
 * test VM as root with vushm loaded; exits 4 (KSFT_SKIP) without
 * /dev/vushm/control.
 *
 * Create, close and attach again (helper restart); an existing window of
 * another size, shmid or hole policy, or one that has a controller, is
 * refused with a reason naming it; 64 MAP/UNMAP SQEs in one io_uring_submit,
 * good and bad mixed, each CQE with its own errno; the bytes of the window
 * node equal the memfd's after the MAPs and are zeros after the UNMAPs and
 * after a RESET through the ring; the fd count is flat over 10,000 map/unmap
 * cycles through the ring.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/* the 6.1 harness has an unused parameter; -Wextra stays on for this file */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "window.h"

#define MiB		(1024ULL * 1024)
#define WSIZE		(4 * MiB)
#define FSIZE		MiB
#define NBATCH		64
#define NCYCLES		10000
#define SHMID		3

static uint64_t ps;

static int fd_count(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

/* A memfd of @size bytes, each 8-byte word its offset ^ @seed. */
static int pattern_memfd(uint64_t size, uint64_t seed)
{
	int fd = memfd_create("window_test", MFD_CLOEXEC);
	uint64_t *buf, i;

	if (fd < 0)
		return -1;
	buf = malloc(size);
	if (!buf || ftruncate(fd, size))
		goto fail;
	for (i = 0; i < size / 8; i++)
		buf[i] = (i * 8) ^ seed;
	if (pwrite(fd, buf, size, 0) != (ssize_t)size)
		goto fail;
	free(buf);
	return fd;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* The memfd still holds pattern_memfd()'s words. */
static bool memfd_intact(int fd, uint64_t size, uint64_t seed)
{
	uint64_t *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	uint64_t k, bad = 0;

	if (m == MAP_FAILED)
		return false;
	for (k = 0; k < size / 8; k++)
		bad += m[k] != ((k * 8) ^ seed);
	munmap(m, size);
	return !bad;
}

static bool all_zero(const unsigned char *p, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Window bytes [off, off+len) equal the memfd's at fd_off. */
static bool same_as_fd(const unsigned char *win, int fd, uint64_t fd_off,
		       uint64_t len)
{
	unsigned char *buf = malloc(len);
	bool ok;

	if (!buf)
		return false;
	ok = pread(fd, buf, len, fd_off) == (ssize_t)len &&
	     !memcmp(win, buf, len);
	free(buf);
	return ok;
}

static int destroy(int ctl, const char *name)
{
	struct vushm_window_ref ref;

	memset(&ref, 0, sizeof(ref));
	snprintf(ref.name, sizeof(ref.name), "%s", name);
	return ioctl(ctl, VUSHM_DESTROY, &ref) ? -errno : 0;
}

static uint32_t nr_mappings(const struct vu_window *w)
{
	struct vushm_info info;

	memset(&info, 0, sizeof(info));
	if (ioctl(w->cfd, VUSHM_GET_INFO, &info))
		return UINT32_MAX;
	return info.nr_mappings;
}

/* Submit everything queued in one io_uring_submit, reap @n CQEs into res[]
 * by user_data (< n).  Returns 0, or -1 on a ring error or a stray CQE.
 */
static int submit_reap(struct io_uring *ring, unsigned int n, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned int i;
	int ret;

	ret = io_uring_submit(ring);
	if (ret != (int)n)
		return -1;
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return -1;
		if (cqe->user_data >= n) {
			io_uring_cqe_seen(ring, cqe);
			return -1;
		}
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

/* ---- open / attach, no ring ------------------------------------------- */

FIXTURE(open) {
	int ctl;
	char name[VUSHM_NAME_MAX];
};

FIXTURE_SETUP(open)
{
	self->ctl = open(VU_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	snprintf(self->name, sizeof(self->name), "wt-open-%d", getpid());
}

FIXTURE_TEARDOWN(open)
{
	destroy(self->ctl, self->name);
	close(self->ctl);
}

TEST_F(open, create_then_attach)
{
	struct vu_window w, w2;
	char path[VU_WINDOW_PATH_MAX], want[64];
	int node;

	ASSERT_EQ(0, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
				    VUSHM_HOLE_ZERO, 0, 0, 0600, &w))
		TH_LOG("%s", w.err);
	EXPECT_FALSE(w.attached);
	EXPECT_LE(0, w.cfd);
	EXPECT_EQ(WSIZE, w.size);
	EXPECT_EQ(ps, w.page_size);
	snprintf(want, sizeof(want), "/dev/vushm/%s", self->name);
	EXPECT_EQ((int)strlen(want), vu_window_node_path(&w, path, sizeof(path)));
	EXPECT_STREQ(want, path);
	node = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, node) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_EQ((off_t)WSIZE, lseek(node, 0, SEEK_END));
	close(node);
	EXPECT_EQ(-ENAMETOOLONG, vu_window_node_path(&w, path, 8));

	/* A second controller while the first lives: EBUSY, named. */
	EXPECT_EQ(-EBUSY, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
					 VUSHM_HOLE_ZERO, 0, 0, 0600, &w2));
	EXPECT_NE(NULL, strstr(w2.err, self->name)) TH_LOG("%s", w2.err);
	EXPECT_EQ(-1, w2.cfd);

	/* Helper restart: close, then attach by name. */
	vu_window_close(&w);
	vu_window_close(&w);	/* twice is harmless */
	EXPECT_EQ(-1, w.cfd);
	ASSERT_EQ(0, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
				    VUSHM_HOLE_ZERO, 0, 0, 0600, &w))
		TH_LOG("%s", w.err);
	EXPECT_TRUE(w.attached);
	EXPECT_EQ(0U, nr_mappings(&w));
	vu_window_close(&w);
}

TEST_F(open, mismatch)
{
	struct vu_window w;

	ASSERT_EQ(0, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
				    VUSHM_HOLE_ZERO, 0, 0, 0, &w))
		TH_LOG("%s", w.err);
	vu_window_close(&w);

	EXPECT_EQ(-EEXIST, vu_window_open(self->ctl, self->name, 2 * WSIZE,
					  SHMID, VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_NE(NULL, strstr(w.err, self->name)) TH_LOG("%s", w.err);
	EXPECT_NE(NULL, strstr(w.err, "size 4 MiB, not 8 MiB")) TH_LOG("%s", w.err);
	EXPECT_EQ(-1, w.cfd);

	EXPECT_EQ(-EEXIST, vu_window_open(self->ctl, self->name, WSIZE,
					  SHMID + 1, VUSHM_HOLE_ZERO, 0, 0, 0,
					  &w));
	EXPECT_NE(NULL, strstr(w.err, "shmid")) TH_LOG("%s", w.err);

	EXPECT_EQ(-EEXIST, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
					  VUSHM_HOLE_SIGBUS, 0, 0, 0, &w));
	EXPECT_NE(NULL, strstr(w.err, "hole policy")) TH_LOG("%s", w.err);

	/* The refused attaches left no controller behind. */
	ASSERT_EQ(0, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
				    VUSHM_HOLE_ZERO, 0, 0, 0, &w))
		TH_LOG("%s", w.err);
	EXPECT_TRUE(w.attached);
	vu_window_close(&w);
}

TEST_F(open, bad_args)
{
	struct vu_window w;
	char why[160];

	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, "control", WSIZE, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_NE(NULL, strstr(w.err, "control")) TH_LOG("%s", w.err);
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, "a/b", WSIZE, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, "", WSIZE, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, self->name, WSIZE + 1, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_NE(NULL, strstr(w.err, "page size")) TH_LOG("%s", w.err);
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, self->name, 0, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, self->name, WSIZE, 256,
					  VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, self->name, WSIZE, 0, 7,
					  0, 0, 0, &w));
	EXPECT_EQ(-EINVAL, vu_window_open(self->ctl, self->name, WSIZE, 0,
					  VUSHM_HOLE_ZERO, 0, 0, 01000, &w));
	EXPECT_EQ(-EFBIG, vu_window_open(self->ctl, self->name, 1ULL << 62, 0,
					 VUSHM_HOLE_ZERO, 0, 0, 0, &w));
	EXPECT_EQ(-ENOENT, destroy(self->ctl, self->name));

	EXPECT_TRUE(vu_bar_size_ok(WSIZE, why, sizeof(why)));
	EXPECT_TRUE(vu_bar_size_ok(1ULL << 40, NULL, 0));
	EXPECT_FALSE(vu_bar_size_ok(3 * MiB, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "size 3 MiB is not a power of two"));
	EXPECT_NE(NULL, strstr(why, "use 4 MiB")) TH_LOG("%s", why);
	EXPECT_FALSE(vu_bar_size_ok(0, why, sizeof(why)));
	EXPECT_FALSE(vu_bar_size_ok(5 * ps, NULL, 0));
}

/* ---- through the ring ------------------------------------------------- */

/* A WSIZE zero-hole window, its node mmapped, a pattern memfd, a ring. */
FIXTURE(ring) {
	int ctl, fd, node;
	struct vu_window w;
	unsigned char *win;
	struct io_uring ring;
	bool ring_ok;
	char name[VUSHM_NAME_MAX];
};

FIXTURE_SETUP(ring)
{
	char path[VU_WINDOW_PATH_MAX];

	self->ring_ok = false;
	self->win = MAP_FAILED;
	self->node = -1;
	self->w.cfd = -1;
	self->ctl = open(VU_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	snprintf(self->name, sizeof(self->name), "wt-ring-%d", getpid());
	ASSERT_EQ(0, vu_window_open(self->ctl, self->name, WSIZE, SHMID,
				    VUSHM_HOLE_ZERO, 0, 0, 0600, &self->w))
		TH_LOG("%s", self->w.err);
	ASSERT_LT(0, vu_window_node_path(&self->w, path, sizeof(path)));
	self->node = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->node);
	self->win = mmap(NULL, WSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->node, 0);
	ASSERT_NE(MAP_FAILED, self->win);
	self->fd = pattern_memfd(FSIZE, 0x5eed);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, vu_ring_init(&self->ring, 2 * NBATCH, 0));
	self->ring_ok = true;
}

FIXTURE_TEARDOWN(ring)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->win != MAP_FAILED)
		munmap(self->win, WSIZE);
	if (self->node >= 0)
		close(self->node);
	close(self->fd);
	vu_window_close(&self->w);
	destroy(self->ctl, self->name);
	close(self->ctl);
}

/*
 * 64 SQEs, one io_uring_submit: 32 good MAPs of page i of the memfd at
 * window page 2i (odd i read-write), and 32 failures whose errno does not
 * depend on the order the batch runs in (they use window pages >= 256,
 * or the mapping made before the batch at pages 200-203).
 */
TEST_F(ring, batch_mixed_64)
{
	int expect[NBATCH], res[NBATCH], i, rdonly, pfd[2];
	uint64_t pg, z0 = 200 * ps;
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", self->fd);
	rdonly = open(proc, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rdonly);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));

	/* A mapping made before the batch, for EEXIST. */
	vu_window_prep_map(io_uring_get_sqe(&self->ring), &self->w, self->fd,
			   0, z0, 4 * ps, false, 0);
	ASSERT_EQ(0, submit_reap(&self->ring, 1, res));
	ASSERT_EQ(0, res[0]);

	for (i = 0; i < NBATCH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		ASSERT_NE(NULL, sqe);
		pg = (256 + i) * ps;
		if (i < NBATCH / 2) {
			vu_window_prep_map(sqe, &self->w, self->fd, i * ps,
					   2 * i * ps, ps, i & 1, i);
			expect[i] = 0;
			continue;
		}
		switch (i % 8) {
		case 0:
			vu_window_prep_map(sqe, &self->w, self->fd, 0, pg,
					   ps + 512, false, i);
			expect[i] = -EINVAL;
			break;
		case 1:
			vu_window_prep_map(sqe, &self->w, self->fd, 0, WSIZE,
					   ps, false, i);
			expect[i] = -ERANGE;
			break;
		case 2:
			vu_window_prep_map(sqe, &self->w, -1, 0, pg, ps,
					   false, i);
			expect[i] = -EBADF;
			break;
		case 3:
			vu_window_prep_map(sqe, &self->w, self->fd, FSIZE, pg,
					   ps, false, i);
			expect[i] = -ENXIO;
			break;
		case 4:
			vu_window_prep_unmap(sqe, &self->w, pg, ps, i);
			expect[i] = -ENOENT;
			break;
		case 5:
			vu_window_prep_map(sqe, &self->w, rdonly, 0, pg, ps,
					   true, i);
			expect[i] = -EACCES;
			break;
		case 6:
			vu_window_prep_map(sqe, &self->w, self->fd, 0,
					   z0 + ps, ps, false, i);
			expect[i] = -EEXIST;
			break;
		case 7:
			vu_window_prep_map(sqe, &self->w, pfd[0], 0, pg, ps,
					   false, i);
			expect[i] = -EOPNOTSUPP;
			break;
		}
	}
	ASSERT_EQ(0, submit_reap(&self->ring, NBATCH, res));
	for (i = 0; i < NBATCH; i++) {
		EXPECT_EQ(expect[i], res[i])
			TH_LOG("sqe %d: expected %d (%s), got %d (%s)", i,
			       expect[i], vu_window_cmd_reason(VUSHM_MAP, expect[i]),
			       res[i], vu_window_cmd_reason(VUSHM_MAP, res[i]));
	}
	close(rdonly);
	close(pfd[0]);
	close(pfd[1]);

	EXPECT_EQ(NBATCH / 2 + 1U, nr_mappings(&self->w));
	for (i = 0; i < NBATCH / 2; i++) {
		EXPECT_TRUE(same_as_fd(self->win + 2 * i * ps, self->fd,
				       i * ps, ps)) TH_LOG("page %d", 2 * i);
		EXPECT_TRUE(all_zero(self->win + (2 * i + 1) * ps, ps));
	}
	EXPECT_TRUE(same_as_fd(self->win + z0, self->fd, 0, 4 * ps));
	EXPECT_TRUE(all_zero(self->win + 256 * ps, WSIZE - 256 * ps));

	/* UNMAP the 32 through the ring, in one submit. */
	for (i = 0; i < NBATCH / 2; i++)
		vu_window_prep_unmap(io_uring_get_sqe(&self->ring), &self->w,
				     2 * i * ps, ps, i);
	ASSERT_EQ(0, submit_reap(&self->ring, NBATCH / 2, res));
	for (i = 0; i < NBATCH / 2; i++) {
		EXPECT_EQ(0, res[i]) TH_LOG("unmap %d: %d", i, res[i]);
	}
	EXPECT_EQ(1U, nr_mappings(&self->w));
	EXPECT_TRUE(all_zero(self->win, z0));
	EXPECT_TRUE(same_as_fd(self->win + z0, self->fd, 0, 4 * ps));

	/* The memfd itself is untouched by all of it. */
	EXPECT_TRUE(memfd_intact(self->fd, FSIZE, 0x5eed));
}

/* RESET through the ring removes every mapping; the window reads zeros. */
TEST_F(ring, reset)
{
	int res[NBATCH], i;

	for (i = 0; i < 16; i++)
		vu_window_prep_map(io_uring_get_sqe(&self->ring), &self->w,
				   self->fd, i * ps, (16 + 3 * i) * ps, ps,
				   true, i);
	ASSERT_EQ(0, submit_reap(&self->ring, 16, res));
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, res[i]);
	}
	EXPECT_EQ(16U, nr_mappings(&self->w));
	EXPECT_TRUE(same_as_fd(self->win + 19 * ps, self->fd, ps, ps));

	vu_window_prep_reset(io_uring_get_sqe(&self->ring), &self->w, 0);
	ASSERT_EQ(0, submit_reap(&self->ring, 1, res));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0U, nr_mappings(&self->w));
	EXPECT_TRUE(all_zero(self->win, WSIZE));

	/* RESET of an empty window is fine; the range can be mapped again. */
	vu_window_prep_reset(io_uring_get_sqe(&self->ring), &self->w, 0);
	vu_window_prep_map(io_uring_get_sqe(&self->ring), &self->w, self->fd,
			   0, 16 * ps, ps, false, 1);
	ASSERT_EQ(0, submit_reap(&self->ring, 2, res));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_TRUE(same_as_fd(self->win + 16 * ps, self->fd, 0, ps));
}

/*
 * 10,000 map/unmap cycles through the ring, as the helper does them: a
 * fresh memfd per batch of 50 (the backend's fd, received with SHMEM_MAP),
 * closed once the MAPs completed; the fd count does not move.
 */
TEST_F(ring, fd_count_flat)
{
	int res[NBATCH], before, after, i, c, fd;
	const int per = 50;

	before = fd_count();
	ASSERT_LT(0, before);
	for (c = 0; c < NCYCLES; c += per) {
		fd = memfd_create("cycle", MFD_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, per * ps));
		for (i = 0; i < per; i++)
			vu_window_prep_map(io_uring_get_sqe(&self->ring),
					   &self->w, fd, i * ps, i * 2 * ps,
					   ps, i & 1, i);
		ASSERT_EQ(0, submit_reap(&self->ring, per, res));
		close(fd);
		for (i = 0; i < per; i++) {
			ASSERT_EQ(0, res[i]) TH_LOG("cycle %d map: %d", c + i,
						    res[i]);
		}
		for (i = 0; i < per; i++)
			vu_window_prep_unmap(io_uring_get_sqe(&self->ring),
					     &self->w, i * 2 * ps, ps, i);
		ASSERT_EQ(0, submit_reap(&self->ring, per, res));
		for (i = 0; i < per; i++) {
			ASSERT_EQ(0, res[i]) TH_LOG("cycle %d unmap: %d",
						    c + i, res[i]);
		}
	}
	after = fd_count();
	EXPECT_EQ(before, after);
	EXPECT_EQ(0U, nr_mappings(&self->w));
	EXPECT_TRUE(all_zero(self->win, WSIZE));
}

int main(int argc, char **argv)
{
	if (access(VU_CONTROL_PATH, F_OK)) {
		printf("1..0 # SKIP %s missing (vushm not loaded?)\n",
		       VU_CONTROL_PATH);
		return KSFT_SKIP;
	}
	ps = (uint64_t)sysconf(_SC_PAGESIZE);
	return test_harness_run(argc, argv);
}
