// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_gup: the window refuses get_user_pages; CPU and ->access paths work.
 *
 * A window VMA is VM_SHARED | VM_PFNMAP and every PTE in it is special, so
 * get_user_pages refuses every window address, whatever is there: a
 * read-write mapping, a read-only mapping or a hole, with or without a PTE.
 * process_vm_readv/writev (from this process and from another), vmsplice,
 * MADV_POPULATE_READ/WRITE, O_DIRECT I/O (synchronous and through io_uring)
 * and io_uring buffer registration each fail with their exact errno and
 * move no byte: the memfd, the window and the other end of the I/O keep
 * theirs.
 *
 * What works: CPU access, including the kernel's copy_to_user and
 * copy_from_user (pipes), and /proc/pid/mem and ptrace, which reach the
 * window through vm_ops->access under the mapping rules: reads see the
 * memfd bytes (zeros in a VUSHM_HOLE_ZERO hole), writes land in read-write
 * mappings only and fail with EIO elsewhere.
 */
#define VT_URING
#include "vushm_test.h"

#include <sys/prctl.h>
#include <sys/ptrace.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

#define SEED	0x9e9e
#define SEED2	0x9f9f
#define RWOFF	0		/* window [0, 1 MiB): memfd [0, 1 MiB), RW */
#define ROOFF	MiB		/* window [1, 2 MiB): memfd [1, 2 MiB), RO */
#define HOLEOFF	(4 * MiB)	/* window [2, 8 MiB): holes */
#define SPAN	(16 * PS)	/* what each refused call asks for */

/* The call's result, or -errno. */
static inline ssize_t sys_ret(ssize_t r)
{
	return r < 0 ? -(ssize_t)errno : r;
}

/* -1 if every byte of buf is c, else the first other byte's offset. */
static ssize_t first_not(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return (ssize_t)i;
	return -1;
}

/*
 * An 8 MiB VUSHM_HOLE_ZERO window; w.fd: a 2 MiB memfd mapped at RWOFF and
 * ROOFF as above, before the window is mmapped read-write.
 */
static void gup_window(struct __test_metadata *_metadata, struct vt_win *w)
{
	vt_win_setup(_metadata, w, 8 * MiB);
	vt_win_memfd(_metadata, w, 2 * MiB, SEED, 0);
	vt_win_create(_metadata, w, "gup", VUSHM_HOLE_ZERO);
	ASSERT_EQ(0, vt_map(w->cfd, w->fd, 0, RWOFF, MiB, VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(w->cfd, w->fd, MiB, ROOFF, MiB, 0));
	vt_win_mmap(_metadata, w, PROT_READ | PROT_WRITE);
}

/* Nothing moved: the memfd, and what the window shows, CPU-read. */
#define EXPECT_INTACT() do {						\
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, 2 * MiB, SEED));	\
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 2 * MiB, SEED, 0));	\
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + HOLEOFF, SPAN));	\
} while (0)

/* ------------------------------------------------------------------ */
/* get_user_pages: refused on every kind of window page                */
/* ------------------------------------------------------------------ */

FIXTURE(refused) {
	struct vt_win w;
	char *p;	/* SPAN bytes of the variant's range */
};

FIXTURE_VARIANT(refused) {
	size_t off;	/* window offset */
	bool hole;	/* else the memfd bytes at the same offset show */
	bool rw;	/* a read-write mapping */
};

FIXTURE_VARIANT_ADD(refused, rw) {
	.off = RWOFF + 4 * 4096,
	.rw = true,
};

FIXTURE_VARIANT_ADD(refused, ro) {
	.off = ROOFF + 4 * 4096,
};

FIXTURE_VARIANT_ADD(refused, hole) {
	.off = HOLEOFF,
	.hole = true,
};

FIXTURE_SETUP(refused)
{
	gup_window(_metadata, &self->w);
	self->p = self->w.win + variant->off;
}

FIXTURE_TEARDOWN(refused)
{
	vt_win_teardown(_metadata, &self->w);
}

/* Whether buf holds the len bytes the window shows at variant->off + rel. */
#define EXPECT_WINDOW_BYTES(buf, len, rel) do {				\
	if (variant->hole) {						\
		EXPECT_EQ(-1, vt_first_nonzero(buf, len));		\
	} else {							\
		EXPECT_EQ(-1, vt_check_pattern(buf, len, SEED,		\
					       variant->off + (rel)));	\
	}								\
} while (0)

/*
 * CPU-read every page of the range (a read-write mapping's pages are also
 * stored to, with the byte they hold), so that the second attempt of each
 * test meets present PTEs, writable ones in the read-write mapping.
 */
static void touch(FIXTURE_DATA(refused) *self,
		  const FIXTURE_VARIANT(refused) *variant)
{
	volatile char *p = self->p;
	size_t off;

	for (off = 0; off < SPAN; off += PS) {
		char c = p[off];

		if (variant->rw)
			p[off] = c;
	}
}

/* process_vm_readv: EFAULT, the local buffer untouched. */
TEST_F(refused, process_vm_readv)
{
	char *buf = malloc(PS + SPAN), *anon = malloc(PS);
	struct iovec local = { .iov_base = buf, .iov_len = PS + SPAN };
	struct iovec remote[2] = {
		{ .iov_base = anon, .iov_len = PS },
		{ .iov_base = self->p, .iov_len = SPAN },
	};
	int pass;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, anon);
	memset(anon, 0x3c, PS);
	for (pass = 0; pass < 2; pass++) {
		memset(buf, 0x55, PS + SPAN);
		EXPECT_EQ(-EFAULT, sys_ret(process_vm_readv(getpid(), &local, 1,
							     &remote[1], 1, 0)))
			TH_LOG("pass %d", pass);
		EXPECT_EQ(-1, first_not(buf, PS + SPAN, 0x55));
		touch(self, variant);
	}
	/* Not a refusal of the whole call: what precedes the window is read. */
	memset(buf, 0x55, PS + SPAN);
	EXPECT_EQ((ssize_t)PS,
		  sys_ret(process_vm_readv(getpid(), &local, 1, remote, 2, 0)));
	EXPECT_EQ(-1, first_not(buf, PS, 0x3c));
	EXPECT_EQ(-1, first_not(buf + PS, SPAN, 0x55));
	EXPECT_INTACT();
	free(anon);
	free(buf);
}

/* The same from another process (pin_user_pages_remote of our mm). */
TEST_F(refused, process_vm_readv_remote)
{
	int to_child[2], to_parent[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *buf = malloc(SPAN);
		struct iovec local = { .iov_base = buf, .iov_len = SPAN };
		struct iovec remote = { .iov_base = self->p, .iov_len = SPAN };
		pid_t parent = getppid();
		int pass;

		if (!buf)
			_exit(9);
		for (pass = 0; pass < 2; pass++) {
			vt_pend(to_child[0]);
			memset(buf, 0x55, SPAN);
			errno = 0;
			if (process_vm_readv(parent, &local, 1, &remote, 1,
					     0) != -1)
				_exit(10 + pass);
			if (errno != EFAULT)
				_exit(20 + pass);
			if (first_not(buf, SPAN, 0x55) != -1)
				_exit(30 + pass);
			vt_post(to_parent[1]);
		}
		_exit(0);
	}
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_pend(to_parent[0]));
	/* Second pass: the parent's PTEs are present. */
	touch(self, variant);
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_INTACT();
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/* process_vm_writev (FOLL_WRITE): EFAULT, nothing lands, also from a child. */
TEST_F(refused, process_vm_writev)
{
	char *buf = malloc(SPAN);
	struct iovec local = { .iov_base = buf, .iov_len = SPAN };
	struct iovec remote = { .iov_base = self->p, .iov_len = SPAN };
	pid_t pid;
	int pass;

	ASSERT_NE(NULL, buf);
	vt_pattern(buf, SPAN, SEED2, 0);
	for (pass = 0; pass < 2; pass++) {
		EXPECT_EQ(-EFAULT, sys_ret(process_vm_writev(getpid(), &local,
							     1, &remote, 1, 0)))
			TH_LOG("pass %d", pass);
		EXPECT_INTACT();
		touch(self, variant);
	}

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct iovec l = { .iov_base = (void *)"remote!", .iov_len = 8 };
		struct iovec r = { .iov_base = self->p + 3 * PS, .iov_len = 8 };

		errno = 0;
		if (process_vm_writev(getppid(), &l, 1, &r, 1, 0) != -1)
			_exit(10);
		_exit(errno == EFAULT ? 0 : 11);
	}
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_INTACT();
	free(buf);
}

/* vmsplice (GUP read of the source pages): EFAULT, the pipe stays empty. */
TEST_F(refused, vmsplice)
{
	char *anon = malloc(PS), *buf = malloc(2 * PS);
	struct iovec iov[2] = {
		{ .iov_base = anon, .iov_len = PS },
		{ .iov_base = self->p, .iov_len = 4 * PS },
	};
	int p[2], queued, pass;

	ASSERT_NE(NULL, anon);
	ASSERT_NE(NULL, buf);
	memset(anon, 0x3c, PS);
	ASSERT_EQ(0, pipe(p));
	for (pass = 0; pass < 2; pass++) {
		EXPECT_EQ(-EFAULT, sys_ret(vmsplice(p[1], &iov[1], 1, 0)))
			TH_LOG("pass %d", pass);
		queued = -1;
		EXPECT_EQ(0, ioctl(p[0], FIONREAD, &queued));
		EXPECT_EQ(0, queued);
		touch(self, variant);
	}
	/* After an ordinary page, the splice stops at the window. */
	EXPECT_EQ((ssize_t)PS, sys_ret(vmsplice(p[1], iov, 2, 0)));
	queued = -1;
	EXPECT_EQ(0, ioctl(p[0], FIONREAD, &queued));
	EXPECT_EQ((int)PS, queued);
	EXPECT_EQ((ssize_t)PS, read(p[0], buf, 2 * PS));
	EXPECT_EQ(-1, first_not(buf, PS, 0x3c));
	EXPECT_INTACT();
	close(p[0]);
	close(p[1]);
	free(buf);
	free(anon);
}

/*
 * MADV_POPULATE_READ/WRITE: check_vma_flags() refuses VM_PFNMAP and
 * faultin_vma_page_range() reports that as EINVAL (mm/gup.c, 6.1).
 */
TEST_F(refused, madv_populate)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		EXPECT_EQ(-EINVAL, sys_ret(madvise(self->p, SPAN,
						   MADV_POPULATE_READ)))
			TH_LOG("pass %d", pass);
		EXPECT_EQ(-EINVAL, sys_ret(madvise(self->p, SPAN,
						   MADV_POPULATE_WRITE)))
			TH_LOG("pass %d", pass);
		EXPECT_EQ(-EINVAL, sys_ret(madvise(self->p + PS, PS,
						   MADV_POPULATE_WRITE)));
		touch(self, variant);
	}
	EXPECT_WINDOW_BYTES(self->p, SPAN, 0);
	EXPECT_INTACT();
}

/*
 * O_DIRECT: the block layer (or virtiofs) pins the user buffer with
 * get_user_pages instead of copying it, FOLL_WRITE when reading into it.
 * Window to disk and disk to window both fail EFAULT, neither side changes.
 * SPAN stays under BIO_MAX_VECS pages: the single-bio path returns the
 * GUP error itself (the multi-bio one reports EIO).
 */
/*
 * An O_DIRECT scratch file or device whose first SPAN bytes are 0x99, and
 * an aligned bounce buffer of SPAN bytes; -1 if this system has none.
 */
static int odirect_setup(struct __test_metadata *_metadata, void **bounce)
{
	char desc[128];
	int dfd = vt_odirect_scratch(4 * MiB, desc, sizeof(desc));

	if (dfd < 0)
		return -1;
	TH_LOG("O_DIRECT via %s", desc);
	if (posix_memalign(bounce, 4096, SPAN)) {
		close(dfd);
		return -1;
	}
	memset(*bounce, 0x99, SPAN);
	if (pwrite(dfd, *bounce, SPAN, 0) != (ssize_t)SPAN) {
		free(*bounce);
		close(dfd);
		return -1;
	}
	return dfd;
}

TEST_F(refused, odirect)
{
	void *bounce;
	int dfd, pass;

	dfd = odirect_setup(_metadata, &bounce);
	if (dfd < 0)
		SKIP(return, "no O_DIRECT-capable file or block device");

	for (pass = 0; pass < 2; pass++) {
		/* Window -> disk. */
		EXPECT_EQ(-EFAULT, sys_ret(pwrite(dfd, self->p, SPAN, 0)))
			TH_LOG("pass %d", pass);
		memset(bounce, 0, SPAN);
		ASSERT_EQ((ssize_t)SPAN, pread(dfd, bounce, SPAN, 0));
		EXPECT_EQ(-1, first_not(bounce, SPAN, 0x99));

		/* Disk -> window. */
		EXPECT_EQ(-EFAULT, sys_ret(pread(dfd, self->p, SPAN, 0)))
			TH_LOG("pass %d", pass);
		EXPECT_EQ(-EFAULT, sys_ret(pread(dfd, self->p + PS, PS, 0)));
		EXPECT_INTACT();
		touch(self, variant);
	}
	free(bounce);
	close(dfd);
}

/* The same through io_uring (async direct I/O): the CQE says -EFAULT. */
TEST_F(refused, odirect_uring)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	void *bounce;
	int dfd, pass;

	dfd = odirect_setup(_metadata, &bounce);
	if (dfd < 0)
		SKIP(return, "no O_DIRECT-capable file or block device");
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));

	for (pass = 0; pass < 2; pass++) {
		sqe = io_uring_get_sqe(&ring);
		ASSERT_NE(NULL, sqe);
		io_uring_prep_write(sqe, dfd, self->p, SPAN, 0);
		ASSERT_EQ(1, io_uring_submit_and_wait(&ring, 1));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(-EFAULT, cqe->res) TH_LOG("write, pass %d", pass);
		io_uring_cqe_seen(&ring, cqe);
		memset(bounce, 0, SPAN);
		ASSERT_EQ((ssize_t)SPAN, pread(dfd, bounce, SPAN, 0));
		EXPECT_EQ(-1, first_not(bounce, SPAN, 0x99));

		sqe = io_uring_get_sqe(&ring);
		ASSERT_NE(NULL, sqe);
		io_uring_prep_read(sqe, dfd, self->p, SPAN, 0);
		ASSERT_EQ(1, io_uring_submit_and_wait(&ring, 1));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(-EFAULT, cqe->res) TH_LOG("read, pass %d", pass);
		io_uring_cqe_seen(&ring, cqe);
		EXPECT_INTACT();
		touch(self, variant);
	}
	io_uring_queue_exit(&ring);
	free(bounce);
	close(dfd);
}

/*
 * IORING_REGISTER_BUFFERS: pin_user_pages(FOLL_WRITE | FOLL_LONGTERM)
 * (io_uring/rsrc.c io_pin_pages()) fails: EFAULT.
 */
TEST_F(refused, io_uring_register_buffers)
{
	struct iovec iov = { .iov_base = self->p, .iov_len = SPAN };
	struct io_uring ring;
	int pass, r;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (pass = 0; pass < 2; pass++) {
		r = io_uring_register_buffers(&ring, &iov, 1);
		EXPECT_EQ(-EFAULT, r) TH_LOG("pass %d", pass);
		if (!r)
			io_uring_unregister_buffers(&ring);
		touch(self, variant);
	}
	io_uring_queue_exit(&ring);
	EXPECT_INTACT();
}

/* ------------------------------------------------------------------ */
/* CPU and vm_ops->access: work, under the mapping rules               */
/* ------------------------------------------------------------------ */

FIXTURE(access) {
	struct vt_win w;
};

FIXTURE_SETUP(access)
{
	gup_window(_metadata, &self->w);
}

FIXTURE_TEARDOWN(access)
{
	vt_win_teardown(_metadata, &self->w);
}

static off_t addr_off(const void *p)
{
	return (off_t)(uintptr_t)p;
}

/* /proc/self/mem reads: the memfd bytes from both mappings, zeros in holes. */
TEST_F(access, proc_self_mem_read)
{
	char *buf = malloc(4 * PS);
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, mem);
	/* Untouched pages: no PTE, ->access does not need one. */
	memset(buf, 0x55, 4 * PS);
	EXPECT_EQ((ssize_t)(4 * PS),
		  pread(mem, buf, 4 * PS, addr_off(self->w.win + RWOFF + PS)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 4 * PS, SEED, PS));
	memset(buf, 0x55, 4 * PS);
	EXPECT_EQ((ssize_t)(4 * PS),
		  pread(mem, buf, 4 * PS, addr_off(self->w.win + ROOFF + PS)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 4 * PS, SEED, MiB + PS));
	memset(buf, 0x55, 4 * PS);
	EXPECT_EQ((ssize_t)(4 * PS),
		  pread(mem, buf, 4 * PS, addr_off(self->w.win + HOLEOFF)));
	EXPECT_EQ(-1, vt_first_nonzero(buf, 4 * PS));

	/* Unaligned, across the pages of both mappings: one access call. */
	memset(buf, 0x55, 4 * PS);
	EXPECT_EQ(256, pread(mem, buf, 256,
			     addr_off(self->w.win + ROOFF - 128)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 256, SEED, MiB - 128));

	/* Present PTEs change nothing. */
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 2 * MiB, SEED, 0));
	memset(buf, 0x55, 4 * PS);
	EXPECT_EQ((ssize_t)(4 * PS),
		  pread(mem, buf, 4 * PS, addr_off(self->w.win + ROOFF + PS)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 4 * PS, SEED, MiB + PS));
	close(mem);
	free(buf);
	EXPECT_INTACT();
}

/* /proc/self/mem writes land in the read-write mapping's memfd bytes. */
TEST_F(access, proc_self_mem_write_rw)
{
	char *buf = malloc(2 * PS);
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, mem);
	vt_pattern(buf, 2 * PS, SEED2, 0);
	EXPECT_EQ((ssize_t)(2 * PS),
		  pwrite(mem, buf, 2 * PS, addr_off(self->w.win + RWOFF + 2 * PS)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 2 * PS, buf, 2 * PS));
	EXPECT_EQ(0, memcmp(self->w.win + RWOFF + 2 * PS, buf, 2 * PS));

	/* Unaligned, across a page boundary, onto present PTEs. */
	EXPECT_EQ(64, pwrite(mem, buf + PS, 64,
			     addr_off(self->w.win + RWOFF + 6 * PS - 32)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 6 * PS - 32, buf + PS, 64));
	EXPECT_EQ(0, memcmp(self->w.win + RWOFF + 6 * PS - 32, buf + PS, 64));
	/* The bytes around are the memfd's. */
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 4 * PS, 2 * PS - 32, SEED));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 6 * PS + 32, PS - 32, SEED));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, MiB, MiB, SEED));
	close(mem);
	free(buf);
}

/*
 * /proc/self/mem writes into the read-only mapping and into a hole: EIO
 * (nothing written, fs/proc/base.c mem_rw()), no byte changes.  A write
 * that starts in the read-write mapping stops where the read-only one
 * begins.
 */
TEST_F(access, proc_self_mem_write_refused)
{
	char buf[256];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, mem);
	memset(buf, 0xdd, sizeof(buf));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(self->w.win + ROOFF + 5 * PS))));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, 1,
				       addr_off(self->w.win + 2 * MiB - 1))));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(self->w.win + HOLEOFF))));
	/* Present PTEs (the read above faulted them in) change nothing. */
	EXPECT_INTACT();
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(self->w.win + ROOFF + 5 * PS))));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(self->w.win + HOLEOFF))));
	EXPECT_INTACT();

	/* RW then RO: the first half only. */
	EXPECT_EQ(128, sys_ret(pwrite(mem, buf, 256,
				      addr_off(self->w.win + ROOFF - 128))));
	EXPECT_EQ(-1, first_not(self->w.win + ROOFF - 128, 128, 0xdd));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, MiB - 128, buf, 128));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB - 128, SEED));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, MiB, MiB, SEED));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + ROOFF, MiB, SEED, MiB));
	close(mem);
}

/*
 * ->access is handed the whole remaining length: it must stop at the end
 * of the VMA.  The window's first MiB mmapped on its own, anonymous memory
 * right after it, where the window (mapped RW there too) must not leak.
 */
TEST_F(access, proc_self_mem_stops_at_vma_end)
{
	char buf[256], *anon, *v;
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, mem);
	ASSERT_LE(0, nfd);
	v = mmap(NULL, 2 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(v, mmap(v, MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			  nfd, 0));
	close(nfd);
	anon = mmap(v + MiB, MiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(v + MiB, anon);
	memset(anon, 0x77, PS);

	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(256, pread(mem, buf, 256, addr_off(anon - 128)));
	EXPECT_EQ(-1, vt_check_pattern(buf, 128, SEED, MiB - 128));
	EXPECT_EQ(-1, first_not(buf + 128, 128, 0x77));

	memset(buf, 0xdd, sizeof(buf));
	EXPECT_EQ(256, pwrite(mem, buf, 256, addr_off(anon - 128)));
	EXPECT_EQ(-1, first_not(anon, 128, 0xdd));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, MiB - 128, buf, 128));
	/* The memfd past the VMA's end (the RO mapping's bytes) is intact. */
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, MiB, MiB, SEED));
	munmap(v, 2 * MiB);
	close(mem);
}

/*
 * FOLL_FORCE does not make a shared mapping writable: through a VMA without
 * PROT_WRITE (also the only kind an O_RDONLY opener can have), even the
 * read-write mapping is not written.
 */
TEST_F(access, proc_self_mem_readonly_vma)
{
	char buf[64], *ro;
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	int nfd = vt_open_node(self->w.name, O_RDONLY);

	ASSERT_LE(0, mem);
	ASSERT_LE(0, nfd);
	ro = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, nfd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(buf, 0xdd, sizeof(buf));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(ro + RWOFF + PS))));
	EXPECT_EQ(-EIO, sys_ret(pwrite(mem, buf, sizeof(buf),
				       addr_off(ro + ROOFF + PS))));
	/* Reads still work, and the same write through the RW VMA does. */
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pread(mem, buf, sizeof(buf), addr_off(ro + RWOFF + PS)));
	EXPECT_EQ(-1, vt_check_pattern(buf, sizeof(buf), SEED, PS));
	EXPECT_INTACT();
	memset(buf, 0xdd, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  pwrite(mem, buf, sizeof(buf),
			 addr_off(self->w.win + RWOFF + PS)));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, PS, buf, sizeof(buf)));
	munmap(ro, 2 * MiB);
	close(nfd);
	close(mem);
}

/*
 * Another process, through /proc/<pid>/mem (ptrace access rules: root, or
 * PR_SET_PTRACER under Yama), sees the bytes and writes the RW mapping.
 */
TEST_F(access, proc_pid_mem_other_process)
{
	int to_child[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	/* Only fails (EINVAL) without Yama, where root needs nothing more. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char path[64], buf[4096];
		int mem;

		vt_pend(to_child[0]);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
		mem = open(path, O_RDWR | O_CLOEXEC);
		if (mem < 0)
			_exit(10);
		memset(buf, 0x55, sizeof(buf));
		if (pread(mem, buf, sizeof(buf),
			  addr_off(self->w.win + RWOFF + 3 * PS)) != sizeof(buf) ||
		    vt_check_pattern(buf, sizeof(buf), SEED, 3 * PS) != -1)
			_exit(11);
		memset(buf, 0x55, sizeof(buf));
		if (pread(mem, buf, sizeof(buf),
			  addr_off(self->w.win + ROOFF + 3 * PS)) != sizeof(buf) ||
		    vt_check_pattern(buf, sizeof(buf), SEED, MiB + 3 * PS) != -1)
			_exit(12);
		memset(buf, 0x55, sizeof(buf));
		if (pread(mem, buf, sizeof(buf),
			  addr_off(self->w.win + HOLEOFF)) != sizeof(buf) ||
		    vt_first_nonzero(buf, sizeof(buf)) != -1)
			_exit(13);
		if (pwrite(mem, "remote!", 8,
			   addr_off(self->w.win + RWOFF + 7 * PS)) != 8)
			_exit(14);
		errno = 0;
		if (pwrite(mem, "remote!", 8,
			   addr_off(self->w.win + ROOFF + 7 * PS)) != -1 ||
		    errno != EIO)
			_exit(15);
		_exit(0);
	}
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 7 * PS, "remote!", 8));
	EXPECT_EQ(0, memcmp(self->w.win + RWOFF + 7 * PS, "remote!", 8));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, MiB, MiB, SEED));
	close(to_child[0]);
	close(to_child[1]);
}

/*
 * PTRACE_PEEKDATA / POKEDATA (ptrace_access_vm(), FOLL_FORCE) into a
 * stopped child's window, inherited across fork: the same rules.
 */
TEST_F(access, ptrace_peek_poke)
{
	const long word = 0x0123456789abcdefL;
	int status;
	long v;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(10);
		raise(SIGSTOP);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));

	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, self->w.win + RWOFF + 8 * PS, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ((long)vt_word(SEED, 8 * PS), v);
	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, self->w.win + ROOFF + 8 * PS, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ((long)vt_word(SEED, MiB + 8 * PS), v);
	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, self->w.win + HOLEOFF + 8, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(0, v);

	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid,
			    self->w.win + RWOFF + 8 * PS, (void *)word));
	EXPECT_EQ(word, (long)vt_fd_u64(self->w.fd, 8 * PS));
	EXPECT_EQ(-EIO, sys_ret(ptrace(PTRACE_POKEDATA, pid,
				       self->w.win + ROOFF + 8 * PS,
				       (void *)word)));
	EXPECT_EQ(-EIO, sys_ret(ptrace(PTRACE_POKEDATA, pid,
				       self->w.win + HOLEOFF, (void *)word)));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, MiB, MiB, SEED));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + HOLEOFF, PS));

	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	EXPECT_EQ(0, vt_wait(pid));
}

/* Kernel copies (copy_to_user / copy_from_user) through pipes. */
TEST_F(access, pipe_copy)
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
	/* A hole reads as zeros through copy_from_user too. */
	memset(buf, 0x55, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  write(p[1], self->w.win + HOLEOFF + PS, sizeof(buf)));
	EXPECT_EQ((ssize_t)sizeof(buf), read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(-1, vt_first_nonzero(buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
}

VT_HARNESS_MAIN