// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_gup: get_user_pages works on mapped ranges of a window.
 *
 * A VMM hands window addresses to the kernel (vhost, O_DIRECT disk I/O,
 * process_vm_*): those paths pin the pages with get_user_pages instead of
 * taking CPU faults.  Reads work on read-only and read-write mappings,
 * writes on read-write mappings, and move exactly the right bytes.
 */
#define VT_URING
#include "vushm_test.h"

#define SEED	0x9e9e
#define SEED2	0x9f9f
#define RWOFF	0		/* window [0, 1 MiB): memfd [0, 1 MiB), RW */
#define ROOFF	MiB		/* window [1, 2 MiB): memfd [1, 2 MiB), RO */

/*
 * An 8 MiB VUSHM_HOLE_ZERO window; w.fd: a 2 MiB memfd mapped at RWOFF and
 * ROOFF as above, before the window is mmapped read-write.
 */
FIXTURE(gup) {
	struct vt_win w;
};

FIXTURE_SETUP(gup)
{
	vt_win_setup(_metadata, &self->w, 8 * MiB);
	vt_win_memfd(_metadata, &self->w, 2 * MiB, SEED, 0);
	vt_win_create(_metadata, &self->w, "gup", VUSHM_HOLE_ZERO);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, RWOFF, MiB,
			    VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, ROOFF, MiB, 0));
	vt_win_mmap(_metadata, &self->w, PROT_READ | PROT_WRITE);
}

FIXTURE_TEARDOWN(gup)
{
	vt_win_teardown(_metadata, &self->w);
}

/* process_vm_readv (pin_user_pages_remote, read) from both mappings. */
TEST_F(gup, process_vm_readv)
{
	char *buf = malloc(2 * MiB);
	struct iovec local = { .iov_base = buf, .iov_len = 2 * MiB };
	struct iovec remote = { .iov_base = self->w.win, .iov_len = 2 * MiB };

	ASSERT_NE(NULL, buf);
	/* Untouched pages: GUP must fault them in itself. */
	EXPECT_EQ((ssize_t)(2 * MiB),
		  process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(-1, vt_check_pattern(buf, 2 * MiB, SEED, 0));
	free(buf);
}

/* The same from another process, into whose window the MAP was installed. */
TEST_F(gup, process_vm_readv_remote)
{
	int to_child[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *buf = malloc(2 * MiB);
		struct iovec local = { .iov_base = buf, .iov_len = 2 * MiB };
		struct iovec remote = { .iov_base = self->w.win,
					.iov_len = 2 * MiB };
		pid_t parent = getppid();

		vt_pend(to_child[0]);
		if (process_vm_readv(parent, &local, 1, &remote, 1, 0) !=
		    (ssize_t)(2 * MiB))
			_exit(10);
		_exit(vt_check_pattern(buf, 2 * MiB, SEED, 0) != -1 ? 11 : 0);
	}
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
}

/* process_vm_writev (pin_user_pages_remote, FOLL_WRITE) into RW: reaches the memfd. */
TEST_F(gup, process_vm_writev)
{
	char *buf = malloc(MiB);
	struct iovec local = { .iov_base = buf, .iov_len = MiB };
	struct iovec remote = { .iov_base = self->w.win + RWOFF,
				.iov_len = MiB };
	pid_t pid;

	ASSERT_NE(NULL, buf);
	vt_pattern(buf, MiB, SEED2, 0);
	EXPECT_EQ((ssize_t)MiB,
		  process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 0, buf, MiB));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED2, 0));

	/* From another process. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct iovec l = { .iov_base = (void *)"remote!", .iov_len = 8 };
		struct iovec r = { .iov_base = self->w.win + RWOFF + 3 * PS,
				   .iov_len = 8 };

		_exit(process_vm_writev(getppid(), &l, 1, &r, 1, 0) != 8);
	}
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 3 * PS, "remote!", 8));
	free(buf);
}

/* /proc/self/mem (FOLL_FORCE): reads both, writes RW. */
TEST_F(gup, proc_self_mem)
{
	char buf[4096];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, mem);
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pread(mem, buf, sizeof(buf),
			(off_t)(uintptr_t)(self->w.win + ROOFF + PS)));
	EXPECT_EQ(-1, vt_check_pattern(buf, sizeof(buf), SEED, MiB + PS));
	vt_pattern(buf, sizeof(buf), SEED2, 0);
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pwrite(mem, buf, sizeof(buf),
			 (off_t)(uintptr_t)(self->w.win + RWOFF + 2 * PS)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 2 * PS, buf, sizeof(buf)));
	close(mem);
}

/* Kernel copies (copy_to_user / copy_from_user) through pipes. */
TEST_F(gup, pipe_copy)
{
	char buf[8192];
	int p[2];

	ASSERT_EQ(0, pipe(p));
	/* From the read-only mapping into the pipe... */
	EXPECT_EQ((ssize_t)sizeof(buf),
		  write(p[1], self->w.win + ROOFF, sizeof(buf)));
	/* ...and out of the pipe into the read-write mapping. */
	EXPECT_EQ((ssize_t)sizeof(buf),
		  read(p[0], self->w.win + RWOFF + 5 * PS, sizeof(buf)));
	EXPECT_EQ(-1, vt_check_fd_at(self->w.fd, 5 * PS, sizeof(buf), SEED,
				     MiB));
	close(p[0]);
	close(p[1]);
}

/* vmsplice: the pipe takes references to the window's pages (GUP, read). */
TEST_F(gup, vmsplice_from_window)
{
	struct iovec iov[2] = {
		{ .iov_base = self->w.win + RWOFF + 8 * PS, .iov_len = 2 * PS },
		{ .iov_base = self->w.win + ROOFF + 8 * PS, .iov_len = 2 * PS },
	};
	char buf[4 * 4096];
	int p[2];

	ASSERT_GE(sizeof(buf), 4 * PS);
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ((ssize_t)(4 * PS), vmsplice(p[1], iov, 2, 0));
	EXPECT_EQ((ssize_t)(4 * PS), read(p[0], buf, 4 * PS));
	EXPECT_EQ(-1, vt_check_pattern(buf, 2 * PS, SEED, 8 * PS));
	EXPECT_EQ(-1, vt_check_pattern(buf + 2 * PS, 2 * PS, SEED,
				       MiB + 8 * PS));
	close(p[0]);
	close(p[1]);
}

/* MADV_POPULATE_READ/WRITE fault the range in through GUP. */
TEST_F(gup, madv_populate)
{
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
	EXPECT_EQ(0, madvise(self->w.win, 2 * MiB, MADV_POPULATE_READ));
	EXPECT_EQ(0, madvise(self->w.win + RWOFF, MiB, MADV_POPULATE_WRITE));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 2 * MiB, SEED, 0));
	/* Populating the holes works too (zero page / scratch page). */
	EXPECT_EQ(0, madvise(self->w.win + 4 * MiB, MiB, MADV_POPULATE_READ));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 4 * MiB, MiB));
}

/*
 * O_DIRECT: the block layer (or virtiofs) pins the user buffer with
 * get_user_pages and the device reads or writes it directly.  Window to
 * disk (a GUP read, both mappings) and disk to window (FOLL_WRITE, RW).
 */
TEST_F(gup, odirect)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char desc[128];
	void *buf;
	int dfd;

	dfd = vt_odirect_scratch(4 * MiB, desc, sizeof(desc));
	if (dfd < 0)
		SKIP(return, "no O_DIRECT-capable file or block device");
	TH_LOG("O_DIRECT via %s", desc);
	ASSERT_EQ(0, posix_memalign(&buf, 4096, 2 * MiB));

	/* Window -> disk. */
	EXPECT_EQ((ssize_t)(2 * MiB), pwrite(dfd, self->w.win, 2 * MiB, 0));
	memset(buf, 0, 2 * MiB);
	EXPECT_EQ((ssize_t)(2 * MiB), pread(dfd, buf, 2 * MiB, 0));
	EXPECT_EQ(-1, vt_check_pattern(buf, 2 * MiB, SEED, 0));

	/* Disk -> window. */
	vt_pattern(buf, MiB, SEED2, 0);
	EXPECT_EQ((ssize_t)MiB, pwrite(dfd, buf, MiB, 2 * MiB));
	EXPECT_EQ((ssize_t)MiB, pread(dfd, self->w.win + RWOFF, MiB, 2 * MiB));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + RWOFF, MiB, SEED2, 0));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED2));

	/* Through io_uring (async GUP from io-wq or the submitter). */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ((ssize_t)MiB, pwrite(dfd, self->w.win + ROOFF, MiB, 3 * MiB));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, dfd, self->w.win + RWOFF + 256 * KiB, 256 * KiB,
			   3 * MiB);
	ASSERT_EQ(1, io_uring_submit_and_wait(&ring, 1));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ((int)(256 * KiB), cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(-1, vt_check_fd_at(self->w.fd, 256 * KiB, 256 * KiB, SEED, MiB));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + RWOFF + 256 * KiB,
				       256 * KiB, SEED, MiB));
	free(buf);
	close(dfd);
}

VT_HARNESS_MAIN
