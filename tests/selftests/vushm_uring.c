// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_uring: MAP, UNMAP and RESET as IORING_OP_URING_CMD.
 *
 * Single commands behave like the ioctls; 64 commands submitted with one
 * io_uring_enter() each complete with their own result, successes and
 * deliberate failures mixed (each failure chosen so that its errno does not
 * depend on the order the batch runs in); linked chains run in order;
 * IOSQE_ASYNC (io-wq) and SQPOLL submissions work too.  A batch of UNMAPs
 * completes only once no PTE of theirs is left, whatever follows them in
 * the batch.
 */
#define VT_URING
#include "vushm_test.h"

#define SEED	0x0e0e
#define WSIZE	(4 * MiB)
#define NBATCH	64

/*
 * A WSIZE VUSHM_HOLE_ZERO window mmapped read-write; w.fd: a 1 MiB memfd;
 * a ring for 2 * NBATCH commands.
 */
FIXTURE(ur) {
	struct vt_win w;
	struct io_uring ring;
	bool ring_ok;
};

FIXTURE_SETUP(ur)
{
	self->ring_ok = false;
	vt_win_setup(_metadata, &self->w, WSIZE);
	if (!(self->w.ctx.info.features & VUSHM_F_URING_CMD))
		VT_SETUP_SKIP("no VUSHM_F_URING_CMD");
	vt_win_memfd(_metadata, &self->w, MiB, SEED, 0);
	vt_win_open(_metadata, &self->w, "ur", VUSHM_HOLE_ZERO);
	ASSERT_EQ(0, vt_ring_init(&self->ring, 2 * NBATCH));
	self->ring_ok = true;
}

FIXTURE_TEARDOWN(ur)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	vt_win_teardown(_metadata, &self->w);
}

TEST_F(ur, map_unmap)
{
	ASSERT_EQ(0, vt_uring_map(&self->ring, self->w.cfd, self->w.fd, PS,
				  2 * PS, 4 * PS, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 2 * PS, 4 * PS, SEED, PS));
	self->w.win[2 * PS] = 0x2b;
	EXPECT_EQ(0x2b, (unsigned char)vt_fd_u64(self->w.fd, PS));
	EXPECT_EQ(1, vt_sysfs_num(self->w.name, "nr_mappings"));
	ASSERT_EQ(0, vt_uring_unmap(&self->ring, self->w.cfd, 2 * PS, 4 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, WSIZE));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
}

/* Read-only via uring_cmd is just as read-only. */
TEST_F(ur, map_ro)
{
	ASSERT_EQ(0, vt_uring_map(&self->ring, self->w.cfd, self->w.fd, 0, 0,
				  4 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 4 * PS, SEED, 0));
	EXPECT_EQ(SIGBUS, vt_try_write(self->w.win + PS, 1));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, 4 * PS, SEED));
}

/* uring_cmd and ioctl act on the same state. */
TEST_F(ur, mixed_with_ioctl)
{
	ASSERT_EQ(0, vt_uring_map(&self->ring, self->w.cfd, self->w.fd, 0, 0,
				  PS, 0));
	EXPECT_EQ(-EEXIST, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, PS));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(-EEXIST, vt_uring_map(&self->ring, self->w.cfd, self->w.fd, 0,
					0, PS, 0));
	EXPECT_EQ(0, vt_uring_unmap(&self->ring, self->w.cfd, 0, PS));
	EXPECT_EQ(-ENOENT, vt_unmap(self->w.cfd, 0, PS));
	EXPECT_EQ(-ENOENT, vt_uring_unmap(&self->ring, self->w.cfd, 0, PS));
}

TEST_F(ur, reset)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, MiB, 8 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + MiB, 8 * PS, SEED, 0));
	EXPECT_EQ(0, vt_uring_cmd(&self->ring, self->w.cfd, VUSHM_RESET, NULL, 0));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, WSIZE));
}

/* Submit everything queued with one io_uring_enter; collect n CQEs by user_data. */
static int submit_collect(struct io_uring *ring, int n, int *res, bool *seen)
{
	struct io_uring_cqe *cqe;
	int i, ret;

	ret = io_uring_submit(ring);
	if (ret != n)
		return ret < 0 ? ret : -EIO;
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		if (cqe->user_data >= (__u64)n || seen[cqe->user_data])
			return -EPROTO;
		seen[cqe->user_data] = true;
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static const char *errname(int e)
{
	static char bufs[4][32];
	static unsigned int n;
	char *buf = bufs[n++ % 4];

	if (!e)
		return "0";
	snprintf(buf, sizeof(bufs[0]), "-%s", strerrorname_np(-e) ?: "?");
	return buf;
}

/*
 * 64 SQEs in one io_uring_enter: 32 MAPs that succeed (page 2i of the
 * window <- memfd page i, alternately RO and RW) and 32 that fail, each
 * failure independent of ordering.
 */
TEST_F(ur, batch_mixed_64)
{
	int expect[NBATCH], res[NBATCH], i, rdonly;
	bool seen[NBATCH] = { false };
	struct vushm_unmap u;
	struct vushm_map m;

	rdonly = vt_reopen(self->w.fd, O_RDONLY);
	ASSERT_LE(0, rdonly);
	/* A mapping made before the batch, for EEXIST. */
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 200 * PS, 4 * PS, 0));

	for (i = 0; i < NBATCH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
		__u32 op = VUSHM_MAP;
		void *cmd = &m;
		size_t len = sizeof(m);

		ASSERT_NE(NULL, sqe);
		vt_map_args(&m, self->w.fd, 0, 0, PS, 0);
		if (i < NBATCH / 2) {
			m.fd_offset = i * PS;
			m.shm_offset = 2 * i * PS;
			m.flags = i & 1 ? VUSHM_MAP_RW : 0;
			expect[i] = 0;
		} else {
			/* Failures use window pages >= 256, never mapped. */
			m.shm_offset = (256 + i) * PS;
			switch (i % 10) {
			case 0:
				m.len = PS + 512;
				expect[i] = -EINVAL;
				break;
			case 1:
				m.shm_offset = WSIZE;
				expect[i] = -ERANGE;
				break;
			case 2:
				m.fd = -1;
				expect[i] = -EBADF;
				break;
			case 3:
				m.fd_offset = MiB;
				expect[i] = -ENXIO;
				break;
			case 4:
				m.reserved[0] = 1;
				expect[i] = -EINVAL;
				break;
			case 5:
				vt_unmap_args(&u, (256 + i) * PS, PS);
				op = VUSHM_UNMAP;
				cmd = &u;
				len = sizeof(u);
				expect[i] = -ENOENT;
				break;
			case 6:
				op = _IO(VUSHM_IOC_MAGIC, 0x7e);
				expect[i] = -EOPNOTSUPP;
				break;
			case 7:
				m.fd = rdonly;
				m.flags = VUSHM_MAP_RW;
				expect[i] = -EACCES;
				break;
			case 8:
				m.shm_offset = 201 * PS;
				expect[i] = -EEXIST;
				break;
			case 9:
				vt_unmap_args(&u, 200 * PS, 4 * PS);
				u.flags = 1;
				op = VUSHM_UNMAP;
				cmd = &u;
				len = sizeof(u);
				expect[i] = -EINVAL;
				break;
			}
		}
		vt_prep_cmd(&self->ring, sqe, self->w.cfd, op, cmd, len, i);
	}
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH, res, seen));
	for (i = 0; i < NBATCH; i++) {
		EXPECT_EQ(expect[i], res[i])
			TH_LOG("sqe %d: expected %s, got %s", i,
			       errname(expect[i]), errname(res[i]));
	}

	/* The window holds exactly the 32 good mappings (+ the EEXIST one). */
	EXPECT_EQ(NBATCH / 2 + 1, vt_sysfs_num(self->w.name, "nr_mappings"));
	for (i = 0; i < NBATCH / 2; i++) {
		EXPECT_EQ(-1, vt_check_pattern(self->w.win + 2 * i * PS, PS,
					       SEED, i * PS));
		EXPECT_EQ(-1, vt_first_nonzero(self->w.win + (2 * i + 1) * PS,
					       PS));
		EXPECT_EQ(i & 1 ? 0 : SIGBUS,
			  vt_try_write(self->w.win + 2 * i * PS + 1,
				       ((unsigned char *)self->w.win)[2 * i * PS + 1]));
	}
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 256 * PS,
				       WSIZE - 256 * PS));
	close(rdonly);
}

/* 64 UNMAPs in one enter: 32 exact (0) and 32 wrong-length (ENOENT). */
TEST_F(ur, batch_unmap_64)
{
	int expect[NBATCH], res[NBATCH], i;
	bool seen[NBATCH] = { false };

	for (i = 0; i < NBATCH / 2; i++) {
		ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 4 * i * PS,
				    2 * PS, VUSHM_MAP_RW));
	}
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 8 * PS, 2 * PS, SEED, 0));
	for (i = 0; i < NBATCH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
		struct vushm_unmap u;
		int k = i / 2;

		ASSERT_NE(NULL, sqe);
		if (i & 1) {
			vt_unmap_args(&u, 4 * k * PS, 3 * PS);
			expect[i] = -ENOENT;
		} else {
			vt_unmap_args(&u, 4 * k * PS, 2 * PS);
			expect[i] = 0;
		}
		vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_UNMAP, &u,
			    sizeof(u), i);
	}
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH, res, seen));
	for (i = 0; i < NBATCH; i++) {
		EXPECT_EQ(expect[i], res[i])
			TH_LOG("sqe %d: expected %s, got %s", i,
			       errname(expect[i]), errname(res[i]));
	}
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, WSIZE));
}

/*
 * A successful UNMAP leaves the index at once but completes after its zap,
 * which one pass does for the whole batch.  Queue @n UNMAPs of the
 * one-page mappings at window pages first, first + 2, ... (stride 1:
 * adjacent), then @extra more commands, all in one enter.
 */
static void queue_unmaps(struct io_uring *ring, int cfd, int first,
			 int stride, int n)
{
	struct vushm_unmap u;
	int i;

	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		vt_unmap_args(&u, (first + i * stride) * PS, PS);
		vt_prep_cmd(ring, sqe, cfd, VUSHM_UNMAP, &u, sizeof(u), i);
	}
}

/*
 * 64 adjacent UNMAPs of touched pages (PTEs present) in one enter: when the
 * CQEs are in, no PTE is left (the window reads zeros, writes do not reach
 * the file) and the backend's memory is free.
 */
TEST_F(ur, batch_unmap_zaps_before_cqe)
{
	int res[NBATCH], i, fd = vt_memfd(NBATCH * PS, SEED + 7, 0);
	bool seen[NBATCH] = { false };
	long shmem0;

	ASSERT_LE(0, fd);
	for (i = 0; i < NBATCH; i++)
		ASSERT_EQ(0, vt_map(self->w.cfd, fd, i * PS, (64 + i) * PS, PS,
				    VUSHM_MAP_RW));
	ASSERT_EQ(-1, vt_check_pattern(self->w.win + 64 * PS, NBATCH * PS,
				       SEED + 7, 0));
	close(fd);
	shmem0 = vt_shmem_kb();
	queue_unmaps(&self->ring, self->w.cfd, 64, 1, NBATCH);
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH, res, seen));
	for (i = 0; i < NBATCH; i++)
		EXPECT_EQ(0, res[i]);
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 64 * PS, NBATCH * PS));
	EXPECT_LE(vt_wait_shmem_le(shmem0 - (long)(NBATCH * PS / KiB) + 64,
				   3000),
		  shmem0 - (long)(NBATCH * PS / KiB) + 64);
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
}

/*
 * UNMAPs, then MAPs of the same pages from another file, in one enter and
 * unlinked: a MAP must not find the PTEs the UNMAPs have not zapped yet.
 */
TEST_F(ur, batch_unmap_then_map_same_pages)
{
	int res[NBATCH], i, fd2 = vt_memfd(MiB, SEED + 1, 0);
	bool seen[NBATCH] = { false };
	struct vushm_map m;

	ASSERT_LE(0, fd2);
	for (i = 0; i < NBATCH / 2; i++)
		ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, i * PS, i * PS,
				    PS, VUSHM_MAP_RW));
	ASSERT_EQ(-1, vt_check_pattern(self->w.win, NBATCH / 2 * PS, SEED, 0));
	queue_unmaps(&self->ring, self->w.cfd, 0, 1, NBATCH / 2);
	for (i = 0; i < NBATCH / 2; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		vt_map_args(&m, fd2, i * PS, i * PS, PS, i & 1 ? VUSHM_MAP_RW : 0);
		vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP, &m,
			    sizeof(m), NBATCH / 2 + i);
	}
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH, res, seen));
	for (i = 0; i < NBATCH; i++)
		EXPECT_EQ(0, res[i]) TH_LOG("sqe %d", i);
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, NBATCH / 2 * PS,
				       SEED + 1, 0));
	for (i = 0; i < NBATCH / 2; i++)
		EXPECT_EQ(i & 1 ? 0 : SIGBUS,
			  vt_try_write(self->w.win + i * PS + 9, 0x5a))
			TH_LOG("page %d", i);
	/* The old file kept its bytes: no write went to a stale PTE. */
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	close(fd2);
}

/* UNMAPs (every other page: no adjacent runs) and a RESET in one enter. */
TEST_F(ur, batch_unmap_then_reset)
{
	int res[NBATCH / 2 + 1], i;
	bool seen[NBATCH / 2 + 1] = { false };
	struct io_uring_sqe *sqe;

	for (i = 0; i < NBATCH; i++)
		ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, i * PS, i * PS,
				    PS, 0));
	ASSERT_EQ(-1, vt_check_pattern(self->w.win, NBATCH * PS, SEED, 0));
	queue_unmaps(&self->ring, self->w.cfd, 0, 2, NBATCH / 2);
	sqe = io_uring_get_sqe(&self->ring);
	vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_RESET, NULL, 0,
		    NBATCH / 2);
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH / 2 + 1, res, seen));
	for (i = 0; i <= NBATCH / 2; i++)
		EXPECT_EQ(0, res[i]) TH_LOG("sqe %d", i);
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, WSIZE));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
}

/*
 * 64 MAPs in one enter (adjacent, RO and RW mixed) are installed in the
 * window's VMA before their CQEs: touching every page then takes no fault
 * on the window (its own counter), and stores obey each mapping's flags.
 */
TEST_F(ur, batch_map_installed_before_cqe)
{
	int res[NBATCH], i;
	bool seen[NBATCH] = { false };
	volatile unsigned char sum = 0;
	long long faults, installed;
	struct vushm_map m;

	installed = vt_sysfs_num(self->w.name, "stats/pages_installed");
	for (i = 0; i < NBATCH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		vt_map_args(&m, self->w.fd, i * PS, (128 + i) * PS, PS,
			    i % 3 ? VUSHM_MAP_RW : 0);
		vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP, &m,
			    sizeof(m), i);
	}
	ASSERT_EQ(0, submit_collect(&self->ring, NBATCH, res, seen));
	for (i = 0; i < NBATCH; i++)
		EXPECT_EQ(0, res[i]) TH_LOG("sqe %d", i);
	faults = vt_sysfs_num(self->w.name, "stats/faults");
	for (i = 0; i < NBATCH; i++)
		sum += ((volatile unsigned char *)self->w.win)[(128 + i) * PS];
	(void)sum;
	EXPECT_EQ(faults, vt_sysfs_num(self->w.name, "stats/faults"));
	EXPECT_EQ(installed + NBATCH,
		  vt_sysfs_num(self->w.name, "stats/pages_installed"));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 128 * PS, NBATCH * PS,
				       SEED, 0));
	for (i = 0; i < NBATCH; i++)
		EXPECT_EQ(i % 3 ? 0 : SIGBUS,
			  vt_try_write(self->w.win + (128 + i) * PS + 3,
				       ((unsigned char *)self->w.win)[(128 + i) * PS + 3]))
			TH_LOG("page %d", i);
}

/* A linked chain runs in order: MAP, UNMAP, MAP of the same range. */
TEST_F(ur, linked_chain)
{
	int fd2 = vt_memfd(MiB, SEED + 1, 0), res[4], i;
	bool seen[4] = { false };
	struct vushm_unmap u;
	struct vushm_map m;

	ASSERT_LE(0, fd2);
	for (i = 0; i < 4; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		ASSERT_NE(NULL, sqe);
		switch (i) {
		case 0:
			vt_map_args(&m, self->w.fd, 0, 0, 8 * PS, 0);
			vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP,
				    &m, sizeof(m), i);
			break;
		case 1:
			vt_unmap_args(&u, 0, 8 * PS);
			vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_UNMAP,
				    &u, sizeof(u), i);
			break;
		case 2:
			vt_map_args(&m, fd2, 0, 0, 8 * PS, VUSHM_MAP_RW);
			vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP,
				    &m, sizeof(m), i);
			break;
		case 3:
			/* Fails (overlap); must not affect the others. */
			vt_map_args(&m, self->w.fd, 0, 4 * PS, PS, 0);
			vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP,
				    &m, sizeof(m), i);
			break;
		}
		if (i < 3)
			sqe->flags |= IOSQE_IO_LINK;
	}
	ASSERT_EQ(0, submit_collect(&self->ring, 4, res, seen));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(0, res[2]);
	EXPECT_EQ(-EEXIST, res[3]);
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 8 * PS, SEED + 1, 0));
	close(fd2);
}

/* IOSQE_ASYNC: the command runs from an io-wq worker of this task. */
TEST_F(ur, async_worker)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct vushm_map m;

	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	vt_map_args(&m, self->w.fd, 0, 16 * PS, 4 * PS, VUSHM_MAP_RW);
	vt_prep_cmd(&self->ring, sqe, self->w.cfd, VUSHM_MAP, &m, sizeof(m), 1);
	sqe->flags |= IOSQE_ASYNC;
	ASSERT_EQ(1, io_uring_submit_and_wait(&self->ring, 1));
	ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
	EXPECT_EQ(0, cqe->res);
	io_uring_cqe_seen(&self->ring, cqe);
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 16 * PS, 4 * PS, SEED, 0));
}

/* An SQPOLL ring: the kernel thread submits on the task's behalf. */
TEST_F(ur, sqpoll)
{
	struct io_uring_params p;
	struct io_uring ring;
	int r;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQPOLL | IORING_SETUP_SQE128;
	p.sq_thread_idle = 100;
	r = io_uring_queue_init_params(8, &ring, &p);
	if (r)
		SKIP(return, "no SQPOLL ring: %s", strerror(-r));
	EXPECT_EQ(0, vt_uring_map(&ring, self->w.cfd, self->w.fd, 0, 32 * PS,
				  PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 32 * PS, PS, SEED, 0));
	EXPECT_EQ(0, vt_uring_unmap(&ring, self->w.cfd, 32 * PS, PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 32 * PS, PS));
	io_uring_queue_exit(&ring);
}

VT_HARNESS_MAIN
