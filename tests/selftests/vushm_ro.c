// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_ro: a read-only mapping cannot be written through the window.
 *
 * The window VMA is read-write (as QEMU maps it); a mapping made without
 * VUSHM_MAP_RW must still refuse every kind of write: a CPU store (SIGBUS),
 * mprotect(PROT_WRITE) then a store, process_vm_writev, a write to
 * /proc/self/mem (FOLL_FORCE, through vm_ops->access), a
 * get_user_pages(FOLL_WRITE) pin (io_uring buffer registration,
 * MADV_POPULATE_WRITE), an O_DIRECT read into the window and a plain
 * copy_to_user (read() from a pipe).  After each attempt the memfd still
 * holds its bytes.
 *
 * Where RO and RW are told apart (CPU stores, /proc/self/mem, pipe read),
 * each test checks that the read-write mapping right next to it does take
 * the same kind of write, so a refusal is not an accident of the path.
 * get_user_pages refuses the whole window (VM_PFNMAP, special PTEs), so
 * the GUP tests instead check that the read-write range is refused the same
 * way and keeps its memfd bytes too.
 */
#define VT_URING
#include "vushm_test.h"

#define SEED	0x5eed
#define NPG	16UL

/*
 * A 4 MiB VUSHM_HOLE_ZERO window; w.fd: a 1 MiB memfd, its first NPG pages
 * mapped read-only and the next NPG read-write, then the window mmapped.
 */
FIXTURE(ro) {
	struct vt_win w;
	char *ro;	/* NPG pages mapped read-only: memfd [0, NPG) */
	char *rw;	/* NPG pages mapped read-write: memfd [NPG, 2 NPG) */
};

FIXTURE_VARIANT(ro) {
	bool mprotect_write;	/* map PROT_READ, then mprotect(RW) */
};

/* The VMA is PROT_READ | PROT_WRITE from mmap on. */
FIXTURE_VARIANT_ADD(ro, vma_rw) {
	.mprotect_write = false,
};

/* The VMA is PROT_READ, made writable by mprotect before the tests. */
FIXTURE_VARIANT_ADD(ro, vma_mprotect) {
	.mprotect_write = true,
};

FIXTURE_SETUP(ro)
{
	vt_win_setup(_metadata, &self->w, 4 * MiB);

	vt_win_memfd(_metadata, &self->w, MiB, SEED, 0);
	vt_win_create(_metadata, &self->w, "ro", VUSHM_HOLE_ZERO);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, NPG * PS, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, NPG * PS, NPG * PS,
			    NPG * PS, VUSHM_MAP_RW));

	vt_win_mmap(_metadata, &self->w, variant->mprotect_write ?
		    PROT_READ : PROT_READ | PROT_WRITE);
	if (variant->mprotect_write) {
		/* Read first so read-only PTEs exist before mprotect. */
		ASSERT_EQ(-1, vt_check_pattern(self->w.win, 2 * NPG * PS, SEED, 0));
		ASSERT_EQ(0, mprotect(self->w.win, self->w.wsize,
				      PROT_READ | PROT_WRITE));
	}
	self->ro = self->w.win;
	self->rw = self->w.win + NPG * PS;
}

FIXTURE_TEARDOWN(ro)
{
	vt_win_teardown(_metadata, &self->w);
}

/* The memfd bytes behind the read-only mapping are untouched. */
#define EXPECT_RO_INTACT() do {						\
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, NPG * PS, SEED));	\
	EXPECT_EQ(-1, vt_check_pattern(self->ro, NPG * PS, SEED, 0));	\
} while (0)

/* The same for the read-write mapping (for tests that refuse it too). */
#define EXPECT_RW_INTACT() do {						\
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, NPG * PS, NPG * PS, SEED));\
	EXPECT_EQ(-1, vt_check_pattern(self->rw, NPG * PS, SEED,	\
				       NPG * PS));			\
} while (0)

/*
 * mmap the window again at the same address, as the fixture did (for
 * vma_mprotect: PROT_READ, read, then mprotect), after munmap dropped
 * every PTE of the old VMA.
 */
static void *remap_window(FIXTURE_DATA(ro) *self,
			  const FIXTURE_VARIANT(ro) *variant)
{
	int fd = vt_open_node(self->w.name, O_RDWR);
	void *p;

	if (fd < 0)
		return MAP_FAILED;
	p = mmap(self->w.win, self->w.wsize, variant->mprotect_write ?
		 PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	close(fd);
	if (p == MAP_FAILED || !variant->mprotect_write)
		return p;
	if (vt_check_pattern(p, 2 * NPG * PS, SEED, 0) != -1 ||
	    mprotect(p, self->w.wsize, PROT_READ | PROT_WRITE))
		return MAP_FAILED;
	return p;
}

/* A store raises SIGBUS, whether the page was read (PTE present) or not. */
TEST_F(ro, store_sigbus)
{
	unsigned int i;

	/* Pages 0-7: read first.  Pages 8-15: stored to first. */
	EXPECT_EQ(-1, vt_check_pattern(self->ro, NPG / 2 * PS, SEED, 0));
	for (i = 0; i < NPG; i++) {
		EXPECT_EQ(SIGBUS, vt_try_write(self->ro + i * PS + 8, 0xee))
			TH_LOG("page %u", i);
	}
	/* Twice: the first refusal must not have made the PTE writable. */
	for (i = 0; i < NPG; i++) {
		EXPECT_EQ(SIGBUS, vt_try_write(self->ro + i * PS + 9, 0xee));
	}
	EXPECT_RO_INTACT();

	/* Control: the read-write neighbour takes stores. */
	EXPECT_EQ(0, vt_try_write(self->rw + 8, 0xee));
	EXPECT_EQ(0xee, (unsigned char)vt_fd_u64(self->w.fd, NPG * PS + 8));
}

/* mprotect(PROT_READ) then back to PROT_WRITE: still SIGBUS. */
TEST_F(ro, mprotect_cycle_then_store)
{
	ASSERT_EQ(0, mprotect(self->ro, NPG * PS, PROT_READ));
	EXPECT_EQ(SIGSEGV, vt_try_write(self->ro, 1));
	ASSERT_EQ(0, mprotect(self->ro, NPG * PS, PROT_READ | PROT_WRITE));
	EXPECT_EQ(NPG, vt_count_faults(self->ro, NPG * PS, true, SIGBUS));
	EXPECT_RO_INTACT();
}

/*
 * MADV_DONTNEED is refused on the window (VM_PFNMAP: EINVAL).  To drop
 * the PTEs, munmap and mmap again: the pages fault back in read-only.
 */
TEST_F(ro, dontneed_then_store)
{
	void *p;

	EXPECT_EQ(-1, vt_check_pattern(self->ro, NPG * PS, SEED, 0));
	errno = 0;
	EXPECT_EQ(-1, madvise(self->w.win, 2 * NPG * PS, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NPG, vt_count_faults(self->ro, NPG * PS, true, SIGBUS));

	ASSERT_EQ(0, munmap(self->w.win, self->w.wsize));
	p = remap_window(self, variant);
	if (p != (void *)self->w.win) {
		if (p != MAP_FAILED)
			munmap(p, self->w.wsize);
		self->w.win = MAP_FAILED;	/* nothing for the teardown */
		ASSERT_TRUE(false) TH_LOG("mmap again at the same address failed");
	}
	EXPECT_EQ(NPG, vt_count_faults(self->ro, NPG * PS, true, SIGBUS));
	EXPECT_RO_INTACT();
	EXPECT_EQ(-1, vt_check_pattern(self->rw, NPG * PS, SEED, NPG * PS));
	/* The read-write neighbour still takes stores. */
	EXPECT_EQ(0, vt_try_write(self->rw + 8, 0xee));
	EXPECT_EQ(0xee, (unsigned char)vt_fd_u64(self->w.fd, NPG * PS + 8));
}

/*
 * process_vm_writev pins the target pages with FOLL_WRITE: EFAULT.  GUP
 * refuses the whole window, so the read-write range is refused too.
 */
TEST_F(ro, process_vm_writev)
{
	char buf[64];
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = self->ro + 3 * PS,
				.iov_len = sizeof(buf) };
	ssize_t r;

	memset(buf, 0xcc, sizeof(buf));
	errno = 0;
	r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RO_INTACT();

	/* The read-write mapping: refused the same way, unchanged. */
	remote.iov_base = self->rw + 3 * PS;
	errno = 0;
	r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RW_INTACT();
	EXPECT_RO_INTACT();
}

/*
 * /proc/self/mem writes with FOLL_FORCE | FOLL_WRITE (ptrace's path).  The
 * syscall reports EIO when nothing could be written (fs/proc/base.c
 * mem_rw()); EFAULT is accepted too.  What matters: nothing is written.
 */
TEST_F(ro, proc_self_mem)
{
	char buf[64];
	ssize_t r;
	int mem;

	memset(buf, 0xdd, sizeof(buf));
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);
	errno = 0;
	r = pwrite(mem, buf, sizeof(buf), (off_t)(uintptr_t)(self->ro + 5 * PS));
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == EIO || errno == EFAULT) TH_LOG("errno %d", errno);
	EXPECT_RO_INTACT();

	/* Even a single byte at the end of the range. */
	r = pwrite(mem, buf, 1, (off_t)(uintptr_t)(self->ro + NPG * PS - 1));
	EXPECT_EQ(-1, r);
	EXPECT_RO_INTACT();

	/* Control. */
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pwrite(mem, buf, sizeof(buf),
			 (off_t)(uintptr_t)(self->rw + 5 * PS)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, (NPG + 5) * PS, buf, sizeof(buf)));
	close(mem);
}

/*
 * A plain copy_to_user into the window: read() from a pipe.  The kernel's
 * store takes the same write fault as a user store and must fail (EFAULT).
 */
TEST_F(ro, pipe_read_into)
{
	char buf[256];
	int p[2];
	ssize_t r;

	memset(buf, 0xab, sizeof(buf));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ((ssize_t)sizeof(buf), write(p[1], buf, sizeof(buf)));
	errno = 0;
	r = read(p[0], self->ro + 7 * PS, sizeof(buf));
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RO_INTACT();

	/* Control (the bytes are still in the pipe after the EFAULT). */
	EXPECT_EQ((ssize_t)sizeof(buf), read(p[0], self->rw + 7 * PS,
					     sizeof(buf)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, (NPG + 7) * PS, buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
}

/*
 * IORING_REGISTER_BUFFERS pins with pin_user_pages(FOLL_WRITE |
 * FOLL_LONGTERM) (io_uring/rsrc.c io_pin_pages()).  On the read-only range
 * the pin must fail: EFAULT.  GUP refuses the whole window, so the
 * read-write range fails the same way and keeps its bytes.
 */
TEST_F(ro, io_uring_register_pin)
{
	struct io_uring ring;
	struct iovec iov = { .iov_base = self->ro, .iov_len = NPG * PS };
	int r;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	r = io_uring_register_buffers(&ring, &iov, 1);
	EXPECT_EQ(-EFAULT, r);
	if (!r)
		io_uring_unregister_buffers(&ring);
	EXPECT_RO_INTACT();

	iov.iov_base = self->rw;
	r = io_uring_register_buffers(&ring, &iov, 1);
	EXPECT_EQ(-EFAULT, r);
	if (!r)
		io_uring_unregister_buffers(&ring);
	io_uring_queue_exit(&ring);
	EXPECT_RW_INTACT();
	EXPECT_RO_INTACT();
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

/*
 * MADV_POPULATE_WRITE faults pages in for writing via GUP, whose
 * check_vma_flags() refuses the VM_PFNMAP window; faultin_vma_page_range()
 * reports that as EINVAL (mm/gup.c, 6.1).  The read-write range too.
 */
TEST_F(ro, madv_populate_write)
{
	errno = 0;
	EXPECT_EQ(-1, madvise(self->ro, NPG * PS, MADV_POPULATE_WRITE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, madvise(self->ro + 5 * PS, PS, MADV_POPULATE_WRITE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(SIGBUS, vt_try_write(self->ro + 5 * PS, 1));
	EXPECT_RO_INTACT();
	/* The read-write mapping: refused the same way, unchanged. */
	errno = 0;
	EXPECT_EQ(-1, madvise(self->rw, NPG * PS, MADV_POPULATE_WRITE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_RW_INTACT();
}

/*
 * O_DIRECT read() into the window: the block layer (or virtiofs) pins the
 * destination with get_user_pages(FOLL_WRITE) and DMAs/copies into the
 * pages directly, without a CPU store from user space.  Must fail EFAULT.
 * GUP refuses the whole window: the read-write range fails the same way.
 */
TEST_F(ro, odirect_read_into)
{
	char desc[128];
	void *src;
	ssize_t r;
	int dfd;

	dfd = vt_odirect_scratch(MiB, desc, sizeof(desc));
	if (dfd < 0)
		SKIP(return, "no O_DIRECT-capable file or block device");
	TH_LOG("O_DIRECT via %s", desc);
	ASSERT_EQ(0, posix_memalign(&src, 4096, NPG * PS));
	memset(src, 0x99, NPG * PS);
	ASSERT_EQ((ssize_t)(NPG * PS), pwrite(dfd, src, NPG * PS, 0));

	errno = 0;
	r = pread(dfd, self->ro, NPG * PS, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RO_INTACT();
	errno = 0;
	r = pread(dfd, self->ro + 2 * PS, PS, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RO_INTACT();

	/* The read-write mapping: refused the same way, unchanged. */
	errno = 0;
	r = pread(dfd, self->rw, NPG * PS, 0);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	EXPECT_RW_INTACT();
	EXPECT_RO_INTACT();
	free(src);
	close(dfd);
}

/* ------------------------------------------------------------------ */
/* Read-only over ranges that were writable before                     */
/* ------------------------------------------------------------------ */

/*
 * A hole that was stored to (so it has a writable scratch-page PTE), then
 * mapped read-only: the next store must raise SIGBUS, not vanish into the
 * scratch page, and the memfd must show through.
 */
TEST_F(ro, ro_map_over_written_hole)
{
	char *hole = self->w.win + 2 * MiB;

	EXPECT_EQ(0, vt_try_write(hole, 0x12));
	EXPECT_EQ(0, vt_try_write(hole + PS, 0x12));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 2 * MiB, 2 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(hole, 2 * PS, SEED, 0));
	EXPECT_EQ(SIGBUS, vt_try_write(hole, 0x34));
	EXPECT_EQ(SIGBUS, vt_try_write(hole + PS, 0x34));
	EXPECT_RO_INTACT();
}

/*
 * A read-write mapping whose pages were written (writable PTEs), unmapped,
 * then the same range mapped read-only: stores raise SIGBUS.
 */
TEST_F(ro, rw_then_ro_same_range)
{
	char *p = self->w.win + MiB;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, MiB, NPG * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(p, NPG * PS, SEED, 0));
	/* Write back the same byte: a writable PTE, memfd unchanged. */
	((volatile char *)p)[0] = ((volatile char *)p)[0];
	((volatile char *)p)[PS] = ((volatile char *)p)[PS];
	ASSERT_EQ(0, vt_unmap(self->w.cfd, MiB, NPG * PS));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, MiB, NPG * PS, 0));
	EXPECT_EQ(SIGBUS, vt_try_write(p, 0x56));
	EXPECT_EQ(SIGBUS, vt_try_write(p + PS, 0x56));
	EXPECT_EQ(NPG, vt_count_faults(p, NPG * PS, true, SIGBUS));
	EXPECT_RO_INTACT();
}

/* A forked child's inherited VMA is just as read-only. */
TEST_F(ro, fork_child_store)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (vt_try_write(self->ro + PS, 0x77) != SIGBUS)
			_exit(1);
		if (vt_check_pattern(self->ro, NPG * PS, SEED, 0) != -1)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_RO_INTACT();
}

VT_HARNESS_MAIN
