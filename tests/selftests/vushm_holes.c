// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_holes: pages of a window with no mapping.
 *
 * VUSHM_HOLE_ZERO: never-mapped and unmapped ranges read zeros; a store
 * into a hole does not crash and reaches neither the backend memfd, another
 * window, a later MAP at that offset nor the system zero page; old bytes are
 * never readable after UNMAP; a MAP over a touched hole shows the memfd.
 * get_user_pages refuses holes as it refuses the whole window (VM_PFNMAP);
 * kernel copies (copy_from_user) and /proc/self/mem read them as zeros.
 * VUSHM_HOLE_SIGBUS: every access to a hole raises SIGBUS and GUP fails.
 */
#include "vushm_test.h"

#define SEED	0x401e
#define SEED2	0x402e

/* An 8 MiB VUSHM_HOLE_ZERO window mmapped read-write; w.fd: a 2 MiB memfd. */
FIXTURE(hz) {
	struct vt_win w;
};

FIXTURE_SETUP(hz)
{
	vt_win_setup(_metadata, &self->w, 8 * MiB);
	vt_win_memfd(_metadata, &self->w, 2 * MiB, SEED, 0);
	vt_win_open(_metadata, &self->w, "hz", VUSHM_HOLE_ZERO);
}

FIXTURE_TEARDOWN(hz)
{
	vt_win_teardown(_metadata, &self->w);
}

/* The system zero page is still zero: fresh anonymous memory and /dev/zero. */
static int zero_page_clean(void)
{
	char *anon, buf[4096];
	int fd, ret = 0;
	pid_t pid;

	anon = mmap(NULL, 16 * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (anon == MAP_FAILED)
		return -1;
	/* Read faults on untouched private anonymous memory map the zero page. */
	if (vt_first_nonzero(anon, 16 * PS) != -1)
		ret = 1;
	munmap(anon, 16 * PS);

	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != sizeof(buf) ||
	    vt_first_nonzero(buf, sizeof(buf)) != -1)
		ret = 2;
	if (fd >= 0)
		close(fd);

	/* And in another process. */
	pid = fork();
	if (pid == 0) {
		char *a = mmap(NULL, PS, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		_exit(a == MAP_FAILED ? 2 : vt_first_nonzero(a, PS) != -1);
	}
	if (pid < 0 || vt_wait(pid) != 0)
		ret = 3;
	return ret;
}

/* Fill whole hole pages with 0xff by CPU stores; returns pages that faulted. */
static int scribble(char *p, size_t npages)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < npages; i++) {
		if (vt_try_write(p + i * PS, 0xff)) {
			bad++;
			continue;
		}
		memset(p + i * PS, 0xff, PS);
	}
	return bad;
}

TEST_F(hz, never_mapped_reads_zero)
{
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	/* And through a VMA made later. */
	ASSERT_EQ(0, munmap(self->w.win, self->w.wsize));
	self->w.win = vt_mmap_node(self->w.name, self->w.wsize, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, self->w.win);
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
}

TEST_F(hz, unmapped_reads_zero)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, MiB, MiB,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + MiB, MiB, SEED, 0));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, MiB, MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	/* The memfd keeps its bytes. */
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
}

/*
 * After UNMAP returns the old bytes are unreadable through every VMA: one
 * made before the MAP, one after, a forked child's, and a fresh one.
 */
TEST_F(hz, old_bytes_never_readable)
{
	int to_child[2], to_parent[2];
	char *later;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 2 * MiB, 0));
	later = vt_mmap_node(self->w.name, self->w.wsize, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, later);
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 2 * MiB, SEED, 0));
	EXPECT_EQ(-1, vt_check_pattern(later, 2 * MiB, SEED, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (vt_check_pattern(self->w.win, 2 * MiB, SEED, 0) != -1)
			_exit(10);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);
		if (vt_first_nonzero(self->w.win, self->w.wsize) != -1)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 2 * MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	EXPECT_EQ(-1, vt_first_nonzero(later, self->w.wsize));
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
	munmap(later, self->w.wsize);
	later = vt_mmap_node(self->w.name, self->w.wsize, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, later);
	EXPECT_EQ(-1, vt_first_nonzero(later, self->w.wsize));
	munmap(later, self->w.wsize);
}

/* A different memfd mapped at the old offset shows its bytes, not the old ones. */
TEST_F(hz, remap_shows_new_file)
{
	int fd2 = vt_memfd(MiB, SEED2, 0);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));
	ASSERT_EQ(0, vt_map(self->w.cfd, fd2, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED2, 0));
	close(fd2);
}

/* RESET: every mapping gone, zeros everywhere. */
TEST_F(hz, reset_reads_zero)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, 4 * MiB, MiB,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 4 * MiB, MiB, SEED, MiB));
	ASSERT_EQ(0, vt_reset(self->w.cfd));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	/* The ranges are free again. */
	EXPECT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, 0));
}

/* A store into a hole completes (no signal, no crash). */
TEST_F(hz, store_does_not_crash)
{
	EXPECT_EQ(0, scribble(self->w.win, 64));
	EXPECT_EQ(0, scribble(self->w.win + self->w.wsize - 4 * PS, 4));
	EXPECT_EQ(0, vt_try_write(self->w.win + self->w.wsize - 1, 1));
}

/* ... and never lands in the backend memfd that was mapped there before. */
TEST_F(hz, store_does_not_reach_old_backend)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 16 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 16 * PS, SEED, 0));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 16 * PS));
	EXPECT_EQ(0, scribble(self->w.win, 16));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, 16 * PS, SEED));
	/* Mapped back: the memfd's bytes, not the scribble. */
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 16 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 16 * PS, SEED, 0));
}

/* ... nor in a later MAP at that offset. */
TEST_F(hz, store_does_not_reach_later_map)
{
	int fd2 = vt_memfd(MiB, SEED2, 0);

	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, scribble(self->w.win + 3 * MiB, 32));
	ASSERT_EQ(0, vt_map(self->w.cfd, fd2, 0, 3 * MiB, 32 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 3 * MiB, 32 * PS, SEED2,
				       0));
	EXPECT_EQ(-1, vt_check_fd(fd2, 0, MiB, SEED2));
	close(fd2);
}

/* ... nor in another window's holes. */
TEST_F(hz, store_does_not_reach_other_window)
{
	char name2[VUSHM_NAME_MAX];
	char *w2, *w2late;
	int cfd2;

	cfd2 = vt_ctx_window(&self->w.ctx, "hz2", self->w.wsize,
			     VUSHM_HOLE_ZERO, 0, name2);
	ASSERT_LE(0, cfd2);
	w2 = vt_mmap_node(name2, self->w.wsize, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w2);
	EXPECT_EQ(-1, vt_first_nonzero(w2, self->w.wsize));	/* PTEs in */
	EXPECT_EQ(0, scribble(self->w.win, 256));
	EXPECT_EQ(-1, vt_first_nonzero(w2, self->w.wsize));
	w2late = vt_mmap_node(name2, self->w.wsize, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, w2late);
	EXPECT_EQ(-1, vt_first_nonzero(w2late, self->w.wsize));
	munmap(w2late, self->w.wsize);
	munmap(w2, self->w.wsize);
	close(cfd2);
}

/* ... nor in the system zero page (what every process reads as zeros). */
TEST_F(hz, store_does_not_reach_zero_page)
{
	/* Read first: the hole PTEs then map the zero page. */
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	EXPECT_EQ(0, scribble(self->w.win, self->w.wsize / PS));
	EXPECT_EQ(0, zero_page_clean());
}

/*
 * Writes into a hole after it was read (zero-page PTE): process_vm_writev
 * (get_user_pages, FOLL_WRITE) fails EFAULT, /proc/self/mem (vm_ops->access)
 * fails EIO, copy_to_user (read() from a pipe) lands in the scratch page
 * like a CPU store.  None of them may reach the zero page or the memfd.
 */
TEST_F(hz, gup_write_does_not_reach_zero_page)
{
	char buf[512], *hole = self->w.win + 5 * MiB;
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = hole, .iov_len = sizeof(buf) };
	ssize_t r;
	int p[2], mem;

	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(-1, vt_first_nonzero(hole, 4 * PS));

	errno = 0;
	r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, zero_page_clean());

	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);
	errno = 0;
	r = pwrite(mem, buf, sizeof(buf), (off_t)(uintptr_t)(hole + PS));
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EIO, errno);
	close(mem);
	EXPECT_EQ(0, zero_page_clean());
	EXPECT_EQ(-1, vt_first_nonzero(hole, 2 * PS));

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ((ssize_t)sizeof(buf), write(p[1], buf, sizeof(buf)));
	r = read(p[0], hole + 2 * PS, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf), r);
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(0, zero_page_clean());
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, 2 * MiB, SEED));
}

/*
 * Reads of a hole: get_user_pages (process_vm_readv) fails EFAULT and
 * leaves the buffer alone; a kernel copy (write() to a pipe from the hole,
 * copy_from_user) and /proc/self/mem (vm_ops->access) see zeros.
 */
TEST_F(hz, gup_read_refused_copy_sees_zeros)
{
	char buf[4096], ref[4096];
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = self->w.win + 6 * MiB,
				.iov_len = sizeof(buf) };
	int p[2], mem;

	memset(buf, 0x55, sizeof(buf));
	memset(ref, 0x55, sizeof(ref));
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, memcmp(buf, ref, sizeof(buf)));

	memset(buf, 0x55, sizeof(buf));
	mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mem);
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pread(mem, buf, sizeof(buf),
			(off_t)(uintptr_t)(self->w.win + 6 * MiB + 2 * PS)));
	EXPECT_EQ(-1, vt_first_nonzero(buf, sizeof(buf)));
	close(mem);

	memset(buf, 0x55, sizeof(buf));
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  write(p[1], self->w.win + 6 * MiB + PS, sizeof(buf)));
	EXPECT_EQ((ssize_t)sizeof(buf), read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(-1, vt_first_nonzero(buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
}

/*
 * A MAP over a hole that was read (zero-page PTE) and stored to (scratch
 * PTE) replaces both: the memfd's bytes show, stores reach the memfd.
 */
TEST_F(hz, map_over_touched_hole)
{
	char *h = self->w.win + 2 * MiB;
	pid_t pid;

	EXPECT_EQ(-1, vt_first_nonzero(h, 8 * PS));	/* zero-page PTEs */
	EXPECT_EQ(0, scribble(h + 4 * PS, 4));		/* scratch PTEs */
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, 2 * MiB, 8 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(h, 8 * PS, SEED, MiB));
	h[0] = 0x21;
	h[4 * PS] = 0x22;
	EXPECT_EQ(0x21, (unsigned char)vt_fd_u64(self->w.fd, MiB));
	EXPECT_EQ(0x22, (unsigned char)vt_fd_u64(self->w.fd, MiB + 4 * PS));
	/* Another process's fresh view agrees. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = vt_mmap_node(self->w.name, self->w.wsize, 0,
				       PROT_READ);

		_exit(p == MAP_FAILED ? 2 :
		      p[2 * MiB] != 0x21 || p[2 * MiB + 4 * PS] != 0x22);
	}
	EXPECT_EQ(0, vt_wait(pid));
}

/* ------------------------------------------------------------------ */

/* A 4 MiB VUSHM_HOLE_SIGBUS window mmapped read-write; w.fd: a 1 MiB memfd. */
FIXTURE(hs) {
	struct vt_win w;
};

FIXTURE_SETUP(hs)
{
	vt_win_setup(_metadata, &self->w, 4 * MiB);
	if (!(self->w.ctx.info.features & VUSHM_F_HOLE_SIGBUS))
		VT_SETUP_SKIP("VUSHM_F_HOLE_SIGBUS not offered");
	vt_win_memfd(_metadata, &self->w, MiB, SEED, 0);
	vt_win_open(_metadata, &self->w, "hs", VUSHM_HOLE_SIGBUS);
}

FIXTURE_TEARDOWN(hs)
{
	vt_win_teardown(_metadata, &self->w);
}

TEST_F(hs, read_sigbus)
{
	size_t n = self->w.wsize / PS;

	EXPECT_EQ(n, vt_count_faults(self->w.win, self->w.wsize, false,
				     SIGBUS));
	EXPECT_EQ(SIGBUS, vt_try_read(self->w.win + self->w.wsize - 1, NULL));
}

TEST_F(hs, write_sigbus)
{
	size_t n = self->w.wsize / PS;

	EXPECT_EQ(n, vt_count_faults(self->w.win, self->w.wsize, true, SIGBUS));
	/* Reads fault after a write attempt too (no scratch page). */
	EXPECT_EQ(SIGBUS, vt_try_read(self->w.win, NULL));
}

/* Exactly the unmapped pages fault; the mapped ones work. */
TEST_F(hs, partial)
{
	char *p = self->w.win + MiB;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, MiB + PS, 2 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(SIGBUS, vt_try_read(p, NULL));
	EXPECT_EQ(SIGBUS, vt_try_read(p + PS - 1, NULL));
	EXPECT_EQ(0, vt_try_read(p + PS, NULL));
	EXPECT_EQ(0, vt_try_write(p + 3 * PS - 1, 0x61));
	EXPECT_EQ(SIGBUS, vt_try_read(p + 3 * PS, NULL));
	EXPECT_EQ(SIGBUS, vt_try_write(p + 3 * PS, 0x61));
	EXPECT_EQ(-1, vt_check_pattern(p + PS, 2 * PS - 8, SEED, 0));
}

/* After UNMAP and after RESET, the range faults again. */
TEST_F(hs, unmap_and_reset_sigbus)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 4 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 4 * PS, SEED, 0));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 4 * PS));
	EXPECT_EQ(4UL, vt_count_faults(self->w.win, 4 * PS, false, SIGBUS));

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 4 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(0UL, vt_count_faults(self->w.win, 4 * PS, true, SIGBUS));
	ASSERT_EQ(0, vt_reset(self->w.cfd));
	EXPECT_EQ(4UL, vt_count_faults(self->w.win, 4 * PS, false, SIGBUS));
	EXPECT_EQ(4UL, vt_count_faults(self->w.win, 4 * PS, true, SIGBUS));
}

/* get_user_pages on a hole fails: EFAULT. */
TEST_F(hs, gup_efault)
{
	char buf[256];
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = self->w.win + 2 * PS,
				.iov_len = sizeof(buf) };
	int p[2];

	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(0, pipe(p));
	errno = 0;
	EXPECT_EQ(-1, write(p[1], self->w.win + 3 * PS, 64));
	EXPECT_EQ(EFAULT, errno);
	close(p[0]);
	close(p[1]);
}

/*
 * /proc/self/mem (vm_ops->access) fails on a hole, reading or writing: the
 * syscall reports EIO (nothing transferred, fs/proc/base.c mem_rw()).  A
 * read that starts in a mapping stops at the hole.
 */
TEST_F(hs, proc_self_mem_eio)
{
	char buf[256];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, mem);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, PS, PS, VUSHM_MAP_RW));
	errno = 0;
	EXPECT_EQ(-1, pread(mem, buf, sizeof(buf),
			    (off_t)(uintptr_t)(self->w.win + 4 * PS)));
	EXPECT_EQ(EIO, errno);
	memset(buf, 0xdd, sizeof(buf));
	errno = 0;
	EXPECT_EQ(-1, pwrite(mem, buf, sizeof(buf),
			     (off_t)(uintptr_t)(self->w.win + 4 * PS)));
	EXPECT_EQ(EIO, errno);
	memset(buf, 0x55, sizeof(buf));
	EXPECT_EQ(128, pread(mem, buf, sizeof(buf),
			     (off_t)(uintptr_t)(self->w.win + 2 * PS - 128)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 128, SEED, PS - 128));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	EXPECT_EQ(SIGBUS, vt_try_read(self->w.win + 4 * PS, NULL));
	close(mem);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

/*
 * MADV_POPULATE_* (GUP faulting) is refused on the whole window, hole or
 * not: check_vma_flags() rejects VM_PFNMAP before any fault is tried, and
 * faultin_vma_page_range() reports that as EINVAL (mm/gup.c, 6.1).
 */
TEST_F(hs, madv_populate_refused)
{
	int pass;

	/* A hole, then the same range mapped. */
	for (pass = 0; pass < 2; pass++) {
		if (pass)
			ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0,
					    4 * PS, VUSHM_MAP_RW));
		errno = 0;
		EXPECT_EQ(-1, madvise(self->w.win, 4 * PS, MADV_POPULATE_READ));
		EXPECT_EQ(EINVAL, errno);
		errno = 0;
		EXPECT_EQ(-1, madvise(self->w.win, 4 * PS,
				      MADV_POPULATE_WRITE));
		EXPECT_EQ(EINVAL, errno);
	}
	/* Nothing changed: the mapping reads its bytes, the hole faults. */
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 4 * PS, SEED, 0));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	EXPECT_EQ(SIGBUS, vt_try_read(self->w.win + 4 * PS, NULL));
}

/* A forked child faults the same way. */
TEST_F(hs, child_sigbus)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile char c = self->w.win[PS];

		(void)c;
		_exit(0);
	}
	EXPECT_EQ(128 + SIGBUS, vt_wait(pid));
}

VT_HARNESS_MAIN
