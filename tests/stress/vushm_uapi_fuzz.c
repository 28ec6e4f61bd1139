// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_uapi_fuzz: seeded random sequences of vushm UAPI calls.
 *
 * Each iteration picks one operation: a command of the control node
 * (GET_INFO, CREATE, ATTACH, DESTROY) or of a controller fd (GET_INFO, MAP,
 * UNMAP, RESET), sent through ioctl() or, for MAP, UNMAP and RESET, as
 * IORING_OP_URING_CMD (inline, IOSQE_ASYNC, or on a ring without
 * IORING_SETUP_SQE128); unknown command numbers, wrong _IOC sizes and
 * directions, bad argument pointers; mmap, munmap (whole or partial),
 * mremap and mprotect of window nodes; loads and stores through them under
 * a SIGBUS/SIGSEGV guard; closing and dup()ing controller fds; replacing,
 * growing and sealing the files MAP is given; fork()ing a child that does a
 * few of these in the same windows.  Arguments are random and boundary
 * values: sizes 0, unaligned, 1 TiB, near U64_MAX; names too long, with
 * invalid or non-ASCII bytes, duplicates; reserved fields and unknown flag
 * bits set; fds of every kind (memfds of all sizes, sealed, read-only or
 * write-only reopens, O_PATH, hugetlbfs, tmpfs and non-tmpfs files, pipes,
 * sockets, eventfd, /dev/null, the control node, window nodes, controller
 * fds, the io_uring fd, closed and absurd numbers).
 *
 * A model of every window the program created (size, policy, controller,
 * mappings, whether destroyed) predicts each result: the call must return
 * success, or an errno that Documentation/vushm.rst lists for that command
 * and that applies to the arguments (when several apply, any of them).  A
 * failed MAP, UNMAP or RESET is sometimes sent again through the other path
 * (ioctl <-> uring_cmd) and must fail with the same errno.  Every byte read
 * through a window is checked: a mapped page holds its file's bytes (every
 * file is filled with a pattern of its own seed), a hole reads zeros or
 * raises SIGBUS as its policy says, a destroyed window reads zeros, a store
 * to a read-only mapping raises SIGBUS, a store to a read-write one reaches
 * the file.
 *
 * Never done, on purpose: shrinking (ftruncate) or punching a hole in a file
 * that may be mapped: a documented limitation (the kernel logs "BUG: Bad page
 * cache" and a CONFIG_DEBUG_VM kernel stops).  Files only grow.
 *
 * Bounded: at most 8 live windows, 24 mappings per window, files of up to
 * 4 MiB, 16 mmaps of at most 4 MiB each.  Windows are named "fz<pid>-...";
 * all are destroyed at the end.
 *
 * Beyond the documented tables the program accepts: EFAULT for argument
 * pointers it makes bad on purpose, ENOMEM from any call, ENOSPC from
 * CREATE and MAP (other programs' windows, lowered limits), ENODEV from
 * mmap of the open node of a destroyed window (not in the doc), and the
 * core's errnos for VMA operations.
 *
 * Usage: vushm_uapi_fuzz [--seed N] [--time SECONDS] [--ops N] [-v]
 * (environment: VUSHM_FUZZ_SEED, VUSHM_FUZZ_TIME, VUSHM_FUZZ_OPS).  The seed
 * is printed first ("# seed N"); a failure prints the seed, the iteration
 * and the call.  Reproduce with the same seed and --ops (iteration + 1):
 * everything but the run length derives from the seed (-v prints every
 * call).  Output is KTAP (one test); exit 0 on pass, 1 on failure, 4 when
 * skipped.  (Its first find: names with bytes 0xc0-0xff were accepted, the
 * kernel's isalnum() being Latin-1.)
 */
#define VT_URING
/* The harness's static functions are unused here: we have our own main(). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "vushm_test.h"
#pragma GCC diagnostic pop

#include <getopt.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define MAX_WIN		12	/* window slots, live and destroyed-but-mmapped */
#define MAX_LIVE	8	/* live windows at once */
#define MAX_MAPS	24	/* mappings per window in the model */
#define MAX_FILES	48
#define POOL_N		20
#define MAX_MMAPS	16
#define MAX_NODES	4
#define MAX_FILE_SZ	(4 * MiB)
#define MAX_MMAP_LEN	(4 * MiB)
#define CHECK_PAGES	24	/* pages sampled when a MAP is verified */

#ifndef F_SEAL_GROW
#define F_SEAL_GROW	0x0004
#endif

/* ------------------------------------------------------------------ */
/* Random numbers: splitmix64, so a run is reproduced by its seed      */
/* ------------------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rn(100) < pct;
}

/* ------------------------------------------------------------------ */
/* errno sets                                                          */
/* ------------------------------------------------------------------ */

struct eset {
	uint64_t b[3];
};

static void es_add(struct eset *s, int e)
{
	if (e > 0 && e < 192)
		s->b[e / 64] |= 1ULL << (e % 64);
}

static bool es_has(const struct eset *s, int e)
{
	return e > 0 && e < 192 && (s->b[e / 64] >> (e % 64)) & 1;
}

static bool es_empty(const struct eset *s)
{
	return !(s->b[0] | s->b[1] | s->b[2]);
}

static const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "success";

	return n ? n : "E?";
}

static void es_str(const struct eset *s, char *buf, size_t n)
{
	size_t l = 0;
	int e;

	buf[0] = 0;
	for (e = 1; e < 192 && l + 1 < n; e++)
		if (es_has(s, e))
			l += snprintf(buf + l, n - l, "%s%s", l ? "|" : "",
				      ename(e));
}

/* ------------------------------------------------------------------ */
/* Commands and their documented errnos                                */
/* ------------------------------------------------------------------ */

enum {
	C_INFO_CTL, C_INFO_CFD, C_CREATE, C_ATTACH, C_DESTROY, C_MAP, C_UNMAP,
	C_RESET, C_UNKNOWN, C_BADSIZE, C_BADPTR, C_MMAP, C_VMA, C_TOUCH,
	C_CLOSE, C_POOL, C_GROW, C_SEAL, C_NODE, C_FORK, C_NR
};

static const struct {
	const char *name;
	int doc[12];	/* Documentation/vushm.rst, 0-terminated */
} cmds[C_NR] = {
	[C_INFO_CTL] = { "get_info(ctl)", { 0 } },
	/* DESTROY: "The controller fd ... then fails every command with ENODEV" */
	[C_INFO_CFD] = { "get_info(cfd)", { ENODEV } },
	[C_CREATE]   = { "create", { EINVAL, EFBIG, EEXIST, ENOSPC } },
	[C_ATTACH]   = { "attach", { EINVAL, ENOENT, EBUSY } },
	[C_DESTROY]  = { "destroy", { EINVAL, ENOENT } },
	[C_MAP]	     = { "map", { EINVAL, EBADF, EOPNOTSUPP, EACCES, EPERM,
			 ERANGE, ENXIO, EEXIST, ENOSPC, ENOMEM, ENODEV } },
	[C_UNMAP]    = { "unmap", { EINVAL, ENOENT, ENODEV } },
	[C_RESET]    = { "reset", { ENODEV } },
	/* "An unknown ioctl returns ENOTTY"; uring: "completes with EOPNOTSUPP" */
	[C_UNKNOWN]  = { "unknown_cmd", { ENOTTY } },
	[C_BADSIZE]  = { "bad_ioc_size", { ENOTTY } },
	[C_BADPTR]   = { "bad_pointer", { 0 } },
	/* "MAP_PRIVATE: EINVAL", "page offset plus length within the window" */
	[C_MMAP]     = { "mmap", { EINVAL } },
	[C_VMA]	     = { "munmap/mremap/mprotect", { 0 } },
	[C_TOUCH]    = { "touch", { 0 } },
	[C_CLOSE]    = { "close/dup(cfd)", { 0 } },
	[C_POOL]     = { "new_file", { 0 } },
	[C_GROW]     = { "grow_file", { 0 } },
	[C_SEAL]     = { "add_seal", { 0 } },
	[C_NODE]     = { "node_fd", { 0 } },
	[C_FORK]     = { "fork", { 0 } },
};

/* ------------------------------------------------------------------ */
/* State.  The model lives in MAP_SHARED memory: a fork()ed child's     */
/* MAPs and UNMAPs update the parent's view.                            */
/* ------------------------------------------------------------------ */

enum { W_FREE, W_LIVE, W_DEAD };

struct fz_map {
	uint64_t shm_off, len, fd_off, flags, seed;
	uint64_t fid;
};

struct fz_win {
	int state;
	char name[VUSHM_NAME_MAX];
	uint64_t size;
	uint32_t shmid, policy, cflags;
	int cfd[2];		/* fds of the one controller file, -1 */
	bool scratch_dirty;	/* a store hit a hole: holes may read non-zero */
	int nmmaps, nnodes;	/* parent mmaps / node fds that use the slot */
	int nmaps;
	struct fz_map maps[MAX_MAPS];
};

/* A file MAP may be given; pool entries (fds) point at one. */
struct fz_file {
	bool used;
	uint64_t fid, seed, size;
	uint32_t seals;
	bool sealable, shmem, hugetlb;
	int refs;
};

struct fz_shared {
	struct fz_win win[MAX_WIN];
	struct fz_file files[MAX_FILES];
	uint64_t next_fid;
	uint64_t iter, ops, succ, cnt[C_NR], ok[C_NR];
	uint64_t uring_ops, ioctl_ops, data_pages, notes;
	int failed;
	char msg[768];
};

static struct fz_shared *S;

enum {
	K_MEMFD, K_MEMFD_SEALED, K_REOPEN_RO, K_REOPEN_WO, K_OPATH, K_HUGETLB,
	K_TMPFILE, K_SHMFILE, K_EXE, K_PIPE_R, K_PIPE_W, K_SOCK, K_EVENTFD,
	K_DEVNULL, K_DEVZERO, K_PROC, K_EPOLL, K_NR
};

static const char *const kind_names[K_NR] = {
	"memfd", "memfd-sealed", "memfd-ro", "memfd-wo", "o_path", "hugetlb",
	"tmpfile", "shmfile", "exe", "pipe-r", "pipe-w", "socket", "eventfd",
	"devnull", "devzero", "procfile", "epoll",
};

struct fz_fd {
	int fd, fd2;		/* fd2: the other end of a pipe/socketpair */
	int kind;
	int file;		/* index into S->files, or -1 */
	bool rd, wr, opath;
};

struct fz_mmap {
	char *addr;
	uint64_t len, off;
	int prot, win;
	bool fd_rw;		/* the node was opened O_RDWR */
};

struct fz_node {
	int fd, win;
};

static struct fz_fd pool[POOL_N];
static struct fz_mmap mm[MAX_MMAPS];
static int nmm;
static struct fz_node nodes[MAX_NODES];
static int ctl = -1;
static struct vushm_info ginfo;
static struct io_uring ring128, ring64;
static pid_t rings_pid;
static bool rings_ok, ring64_ok;
static bool in_child, verbose;
static uint64_t seed;
static char prefix[16];
static unsigned int name_seq;
static char cur[600];		/* the call being judged, for messages */

/* ------------------------------------------------------------------ */
/* Judging results                                                     */
/* ------------------------------------------------------------------ */

struct expect {
	struct eset must;	/* apply to these arguments: one of them, no success */
	struct eset may;	/* acceptable anyway (resource exhaustion) */
	struct eset doc;	/* documented for the command and the path */
	bool loose;		/* model unsure: success or any documented errno */
};

static void exp_init(struct expect *e, int cmd)
{
	int i;

	memset(e, 0, sizeof(*e));
	for (i = 0; cmds[cmd].doc[i]; i++)
		es_add(&e->doc, cmds[cmd].doc[i]);
	es_add(&e->may, ENOMEM);
}

/* Add to both must and doc: what the model says applies is documented. */
static void exp_must(struct expect *e, int err)
{
	es_add(&e->must, err);
	es_add(&e->doc, err);
}

static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# FAIL seed %llu iteration %llu%s: %s\n",
	       (unsigned long long)seed, (unsigned long long)S->iter,
	       in_child ? " (forked child)" : "", buf);
	fflush(stdout);
	if (!S->failed)
		snprintf(S->msg, sizeof(S->msg), "iteration %llu: %s",
			 (unsigned long long)S->iter, buf);
	S->failed = 1;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	S->notes++;
	if (S->notes > 20)
		return;
	printf("# note: iteration %llu: ", (unsigned long long)S->iter);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* @ret: >= 0 success, else -errno.  Returns true if as expected. */
static bool judge(int cmd, int ret, const struct expect *e)
{
	int err = ret < 0 ? -ret : 0;
	char want[256];

	S->ops++;
	S->cnt[cmd]++;
	if (!err) {
		S->succ++;
		S->ok[cmd]++;
	}
	if (verbose)
		printf("# %llu %s -> %s\n", (unsigned long long)S->iter, cur,
		       err ? ename(err) : "ok");
	if (err && !es_has(&e->doc, err) && !es_has(&e->may, err)) {
		es_str(&e->doc, want, sizeof(want));
		fail("%s: undocumented errno %s (documented: %s)", cur,
		     ename(err), want[0] ? want : "none");
		return false;
	}
	if (e->loose)
		return true;
	if (!es_empty(&e->must)) {
		if (!err || (!es_has(&e->must, err) && !es_has(&e->may, err))) {
			es_str(&e->must, want, sizeof(want));
			fail("%s: got %s, expected %s", cur,
			     err ? ename(err) : "success", want);
			return false;
		}
	} else if (err && !es_has(&e->may, err)) {
		fail("%s: got %s, expected success", cur, ename(err));
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Sending commands: ioctl or uring_cmd                                */
/* ------------------------------------------------------------------ */

enum { P_IOCTL, P_URING, P_URING_ASYNC, P_URING64, P_NR };
static const char *const path_names[P_NR] = {
	"ioctl", "uring", "uring-async", "uring-sqe64",
};

static void rings_init(void)
{
	if (rings_pid == getpid())
		return;
	/* A forked child gets rings of its own: liburing state is per process. */
	rings_pid = getpid();
	rings_ok = vt_ring_init(&ring128, 8) == 0;
	ring64_ok = io_uring_queue_init(8, &ring64, 0) == 0;
}

static int ring_cmd(struct io_uring *ring, int fd, uint32_t op,
		    const void *arg, size_t len, bool async)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EAGAIN;
	}
	vt_prep_cmd(ring, sqe, fd, op, arg, len, 0xf22);
	/* Bytes of sqe->cmd after the structure are not part of it. */
	if ((ring->flags & IORING_SETUP_SQE128) && len < 80 && chance(30)) {
		unsigned char *c = vt_sqe_cmd(sqe);
		size_t i;

		for (i = len; i < 80; i++)
			c[i] = (unsigned char)rnd();
	}
	if (async)
		sqe->flags |= IOSQE_ASYNC;
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0) {
		fail("%s: io_uring_enter failed: %s", cur, ename(-ret));
		return ret;
	}
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0) {
		fail("%s: io_uring_wait_cqe failed: %s", cur, ename(-ret));
		return ret;
	}
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* One command through @path; ioctl returns its value or -errno. */
static int send_cmd(int path, int fd, unsigned long cmd, void *arg,
		    size_t len)
{
	if (path == P_IOCTL) {
		S->ioctl_ops++;
		return vt_ioctl(fd, cmd, arg);
	}
	rings_init();
	S->uring_ops++;
	if (path == P_URING64)
		return ring64_ok ? ring_cmd(&ring64, fd, cmd, arg, len, false) :
				   -EINVAL;
	if (!rings_ok)
		return vt_ioctl(fd, cmd, arg);
	return ring_cmd(&ring128, fd, cmd, arg, len, path == P_URING_ASYNC);
}

static int pick_path(void)
{
	unsigned int r = rn(100);

	if (!(ginfo.features & VUSHM_F_URING_CMD) || r < 45)
		return P_IOCTL;
	if (r < 80)
		return P_URING;
	if (r < 93)
		return P_URING_ASYNC;
	return P_URING64;
}

/* uring paths: what io_uring and the module add to the documented set. */
static void exp_path(struct expect *e, int path)
{
	if (path == P_URING64) {
		/* "which needs a ring set up with IORING_SETUP_SQE128 (EINVAL otherwise)" */
		exp_must(e, EINVAL);
	}
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Write pattern @seed over file bytes [from, to), both multiples of 8. */
static int fill_pattern(int fd, uint64_t from, uint64_t to, uint64_t pseed)
{
	size_t chunk = 256 * KiB;
	char *buf = malloc(chunk);
	uint64_t off;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (off = from; off < to; off += chunk) {
		size_t n = to - off < chunk ? to - off : chunk;

		vt_pattern(buf, n, pseed, off);
		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			ret = -errno;
			break;
		}
	}
	free(buf);
	return ret;
}

static int file_new(bool shmem, uint64_t size, uint64_t pseed)
{
	int i;

	for (i = 0; i < MAX_FILES; i++) {
		struct fz_file *f = &S->files[i];

		if (f->used)
			continue;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->fid = ++S->next_fid;
		f->shmem = shmem;
		f->size = size;
		f->seed = pseed;
		f->refs = 1;
		return i;
	}
	return -1;
}

static void file_put(int i)
{
	if (i >= 0 && --S->files[i].refs == 0)
		S->files[i].used = false;
}

static uint64_t rand_file_size(bool small)
{
	if (small)
		return (1 + rn(64)) * PS - (chance(10) ? 1 + rn(PS - 1) : 0);
	switch (rn(12)) {
	case 0:
		return PS;
	case 1:
		return (1 + rn(16)) * PS + 1 + rn(PS - 1);	/* not aligned */
	case 2:
		return MAX_FILE_SZ - rn(2) * PS;
	case 3:
		return 0;
	default:
		return (1 + rn(256)) * PS;
	}
}

/* A shmem file of a random size filled with its pattern. */
static int make_memfd(struct fz_fd *p, unsigned int mfd_flags, bool sealed,
		      bool small)
{
	uint64_t size = rand_file_size(small), pseed = rnd() | 1;
	bool sealable = sealed || chance(50);
	int fd, fi;

	fd = memfd_create("fz", MFD_CLOEXEC | mfd_flags |
			  (sealable ? MFD_ALLOW_SEALING : 0));
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) ||
	    fill_pattern(fd, 0, size & ~7ULL, pseed)) {
		close(fd);
		return -EIO;
	}
	fi = file_new(true, size, pseed);
	if (fi < 0) {
		close(fd);
		return -ENOSPC;
	}
	S->files[fi].sealable = sealable;
	if (sealed) {
		static const uint32_t choice[] = {
			F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_FUTURE_WRITE,
			F_SEAL_WRITE | F_SEAL_SHRINK,
			F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE, F_SEAL_GROW,
		};
		uint32_t s = choice[rn(ARRAY_SIZE(choice))];

		if (fcntl(fd, F_ADD_SEALS, s) == 0)
			S->files[fi].seals |= s;
	}
	p->fd = fd;
	p->file = fi;
	p->rd = p->wr = true;
	return 0;
}

/* A file on tmpfs (/tmp and /dev/shm are tmpfs in the VM) or elsewhere. */
static int make_pathfile(struct fz_fd *p, const char *dir)
{
	char path[PATH_MAX];
	uint64_t size = rand_file_size(false), pseed = rnd() | 1;
	struct statfs sf;
	int fd, fi;

	snprintf(path, sizeof(path), "%s/fz-%d-%llu", dir, (int)getpid(),
		 (unsigned long long)rnd());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (ftruncate(fd, size) || fill_pattern(fd, 0, size & ~7ULL, pseed) ||
	    fstatfs(fd, &sf)) {
		close(fd);
		return -EIO;
	}
	fi = file_new(sf.f_type == TMPFS_MAGIC, size, pseed);
	if (fi < 0) {
		close(fd);
		return -ENOSPC;
	}
	p->fd = fd;
	p->file = fi;
	p->rd = p->wr = true;
	return 0;
}

/* A pool entry whose file is shmem, for reopening; -1 if none. */
static int pick_shmem_entry(void)
{
	int i, start = rn(POOL_N);

	for (i = 0; i < POOL_N; i++) {
		struct fz_fd *p = &pool[(start + i) % POOL_N];

		if (p->fd >= 0 && p->file >= 0 && !p->opath &&
		    S->files[p->file].shmem)
			return (start + i) % POOL_N;
	}
	return -1;
}

static int pool_make(struct fz_fd *p, int kind)
{
	int fds[2], src, fd, r;

	memset(p, 0, sizeof(*p));
	p->fd = p->fd2 = p->file = -1;
	p->kind = kind;
	switch (kind) {
	case K_MEMFD:
		return make_memfd(p, 0, false, false);
	case K_MEMFD_SEALED:
		return make_memfd(p, 0, true, false);
	case K_REOPEN_RO:
	case K_REOPEN_WO:
	case K_OPATH:
		src = pick_shmem_entry();
		if (src < 0)
			return make_memfd(p, 0, false, false);
		fd = vt_reopen(pool[src].fd, kind == K_REOPEN_RO ? O_RDONLY :
			       kind == K_REOPEN_WO ? O_WRONLY : O_PATH);
		if (fd < 0)
			return fd;
		p->fd = fd;
		p->file = pool[src].file;
		S->files[p->file].refs++;
		p->rd = kind == K_REOPEN_RO;
		p->wr = kind == K_REOPEN_WO;
		p->opath = kind == K_OPATH;
		return 0;
	case K_HUGETLB:
		/* No huge page is needed: MAP refuses the file before its pages. */
		fd = memfd_create("fz-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd < 0)
			return make_memfd(p, 0, false, false);
		r = ftruncate(fd, 2 * MiB);
		(void)r;
		p->fd = fd;
		p->file = file_new(false, 2 * MiB, 0);
		if (p->file >= 0)
			S->files[p->file].hugetlb = true;
		p->rd = p->wr = true;
		return 0;
	case K_TMPFILE:
		return make_pathfile(p, "/tmp");
	case K_SHMFILE:
		return make_pathfile(p, "/dev/shm");
	case K_EXE:
		fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		{
			struct statfs sf;
			struct stat st;

			fstatfs(fd, &sf);
			fstat(fd, &st);
			/* On tmpfs it would be mappable, without our pattern. */
			if (sf.f_type == TMPFS_MAGIC) {
				close(fd);
				return make_memfd(p, 0, false, false);
			}
			p->file = file_new(false, st.st_size, 0);
		}
		p->fd = fd;
		p->rd = true;
		return 0;
	case K_PIPE_R:
	case K_PIPE_W:
		if (pipe2(fds, O_CLOEXEC))
			return -errno;
		p->fd = fds[kind == K_PIPE_R ? 0 : 1];
		p->fd2 = fds[kind == K_PIPE_R ? 1 : 0];
		p->rd = kind == K_PIPE_R;
		p->wr = kind == K_PIPE_W;
		return 0;
	case K_SOCK:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
			return -errno;
		p->fd = fds[0];
		p->fd2 = fds[1];
		p->rd = p->wr = true;
		return 0;
	case K_EVENTFD:
		p->fd = eventfd(0, EFD_CLOEXEC);
		p->rd = p->wr = true;
		return p->fd < 0 ? -errno : 0;
	case K_DEVNULL:
	case K_DEVZERO:
		p->fd = open(kind == K_DEVNULL ? "/dev/null" : "/dev/zero",
			     O_RDWR | O_CLOEXEC);
		p->rd = p->wr = true;
		return p->fd < 0 ? -errno : 0;
	case K_PROC:
		p->fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
		p->rd = true;
		return p->fd < 0 ? -errno : 0;
	case K_EPOLL:
		p->fd = epoll_create1(EPOLL_CLOEXEC);
		p->rd = p->wr = true;
		return p->fd < 0 ? -errno : 0;
	}
	return -EINVAL;
}

static void pool_close(struct fz_fd *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->fd2 >= 0)
		close(p->fd2);
	file_put(p->file);
	p->fd = p->fd2 = p->file = -1;
}

static int rand_kind(void)
{
	/* Mostly files MAP accepts, so that MAPs succeed often enough. */
	if (chance(55))
		return chance(70) ? K_MEMFD : chance(50) ? K_TMPFILE : K_SHMFILE;
	return rn(K_NR);
}

static void pool_fill(struct fz_fd *p, int kind)
{
	if (pool_make(p, kind) < 0 || p->fd < 0) {
		pool_close(p);
		if (pool_make(p, K_MEMFD) < 0)
			p->fd = -1;
	}
}

/* An fd of a live file with this fid, readable; -1 if none. */
static int fd_of_fid(uint64_t fid, bool need_wr)
{
	int i;

	for (i = 0; i < POOL_N; i++) {
		struct fz_fd *p = &pool[i];

		if (p->fd >= 0 && p->file >= 0 && !p->opath &&
		    S->files[p->file].fid == fid && p->rd &&
		    (!need_wr || p->wr))
			return p->fd;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Windows                                                             */
/* ------------------------------------------------------------------ */

static int nr_live(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_WIN; i++)
		n += S->win[i].state == W_LIVE;
	return n;
}

static bool win_has_ctl(const struct fz_win *w)
{
	return w->cfd[0] >= 0 || w->cfd[1] >= 0;
}

static int win_cfd(const struct fz_win *w)
{
	return w->cfd[0] >= 0 ? w->cfd[0] : w->cfd[1];
}

/* The live window of that name, or -1. */
static int win_by_name(const char *name)
{
	int i;

	for (i = 0; i < MAX_WIN; i++)
		if (S->win[i].state == W_LIVE &&
		    !strncmp(S->win[i].name, name, VUSHM_NAME_MAX))
			return i;
	return -1;
}

/* A random slot in one of the states in @mask (1 << W_*), or -1. */
static int pick_win(unsigned int mask, bool need_cfd)
{
	int i, start = rn(MAX_WIN);

	for (i = 0; i < MAX_WIN; i++) {
		int k = (start + i) % MAX_WIN;
		struct fz_win *w = &S->win[k];

		if ((mask & (1U << w->state)) && (!need_cfd || win_has_ctl(w)))
			return k;
	}
	return -1;
}

/* A slot no longer used by anything becomes free. */
static void win_gc(int k)
{
	struct fz_win *w = &S->win[k];

	if (w->state == W_DEAD && !win_has_ctl(w) && !w->nmmaps && !w->nnodes)
		w->state = W_FREE;
}

static void win_clear_maps(struct fz_win *w)
{
	w->nmaps = 0;
}

static void win_mark_dead(int k)
{
	win_clear_maps(&S->win[k]);
	S->win[k].state = W_DEAD;
	win_gc(k);
}

static struct fz_map *win_find(struct fz_win *w, uint64_t off)
{
	int i;

	for (i = 0; i < w->nmaps; i++)
		if (off >= w->maps[i].shm_off &&
		    off - w->maps[i].shm_off < w->maps[i].len)
			return &w->maps[i];
	return NULL;
}

static bool win_overlaps(struct fz_win *w, uint64_t off, uint64_t len)
{
	int i;

	for (i = 0; i < w->nmaps; i++)
		if (off < w->maps[i].shm_off + w->maps[i].len &&
		    w->maps[i].shm_off < off + len)
			return true;
	return false;
}

static bool fid_mapped_rw(uint64_t fid)
{
	int i, j;

	for (i = 0; i < MAX_WIN; i++) {
		struct fz_win *w = &S->win[i];

		if (w->state != W_LIVE)
			continue;
		for (j = 0; j < w->nmaps; j++)
			if (w->maps[j].fid == fid &&
			    (w->maps[j].flags & VUSHM_MAP_RW))
				return true;
	}
	return false;
}

/* Open a window node; a udev in the VM may replace it, so retry ENOENT. */
static int open_node(const char *name, int flags, bool live)
{
	char path[PATH_MAX];
	int i, fd = -1;

	vt_node_path(path, sizeof(path), name);
	for (i = 0; i < (live ? 100 : 1); i++) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------ */
/* Reading and writing through the window under a SIGBUS guard         */
/* ------------------------------------------------------------------ */

/* Copy @n bytes; 0, or the signal the access raised. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	volatile int sig;

	sig = sigsetjmp(vt_jmp, 1);
	if (sig == 0) {
		vt_jmp_armed = 1;
		memcpy(dst, src, n);
		__asm__ volatile("" ::: "memory");
		vt_jmp_armed = 0;
	}
	return sig;
}

static const char *signame(int sig)
{
	return sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" :
	       sig ? "signal" : "no signal";
}

/*
 * Check one page of window slot @k at window offset @off, seen at @addr in
 * an mmap with @prot: a load, and if @store a store, must do what the
 * model says.  Returns false on a mismatch (reported).
 */
static bool check_page(int k, char *addr, uint64_t off, int prot, bool store)
{
	struct fz_win *w = &S->win[k];
	bool dead = w->state != W_LIVE;
	struct fz_map *m = dead ? NULL : win_find(w, off);
	uint64_t in = rn(PS / 8) * 8, got = 0, want = 0, v;
	int sig, esig = 0;

	S->data_pages++;
	if (!m && !dead && w->policy == VUSHM_HOLE_SIGBUS)
		esig = SIGBUS;
	sig = guarded_copy(&got, addr + in, 8);
	if (m)
		want = vt_word(m->seed, m->fd_off + (off - m->shm_off) + in);
	if (sig != esig) {
		fail("load from %s window %s offset 0x%llx (%s): %s, expected %s",
		     dead ? "destroyed" : "live", w->name,
		     (unsigned long long)(off + in),
		     m ? (m->flags & VUSHM_MAP_RW ? "mapped rw" : "mapped ro") :
		     "hole", signame(sig), signame(esig));
		return false;
	}
	if (!sig && (m || !w->scratch_dirty) && got != want) {
		fail("load from %s window %s offset 0x%llx (%s%s): 0x%016llx, expected 0x%016llx",
		     dead ? "destroyed" : "live", w->name,
		     (unsigned long long)(off + in), m ? "mapped" : "hole",
		     m && m->flags & VUSHM_MAP_RW ? " rw" : "",
		     (unsigned long long)got, (unsigned long long)want);
		return false;
	}
	if (!store)
		return true;

	/* A store: of the byte-flipped value, restored afterwards. */
	if (!(prot & PROT_WRITE))
		esig = SIGSEGV;
	else if (m)
		esig = m->flags & VUSHM_MAP_RW ? 0 : SIGBUS;
	v = ~want;
	sig = guarded_copy(addr + in, &v, 8);
	if (sig != esig) {
		fail("store to %s window %s offset 0x%llx (%s, prot %d): %s, expected %s",
		     dead ? "destroyed" : "live", w->name,
		     (unsigned long long)(off + in),
		     m ? (m->flags & VUSHM_MAP_RW ? "mapped rw" : "mapped ro") :
		     "hole", prot, signame(sig), signame(esig));
		return false;
	}
	if (sig)
		return true;
	if (!m) {
		/* Landed in the hole scratch page, or a destroyed window's. */
		w->scratch_dirty = true;
		return true;
	}
	{
		uint64_t foff = m->fd_off + (off - m->shm_off) + in;
		int fd = fd_of_fid(m->fid, false);

		if (fd >= 0 && vt_fd_u64(fd, foff) != v) {
			fail("store through rw mapping of window %s offset 0x%llx did not reach the file (file 0x%llx)",
			     w->name, (unsigned long long)(off + in),
			     (unsigned long long)vt_fd_u64(fd, foff));
			return false;
		}
		sig = guarded_copy(addr + in, &want, 8);
		if (sig) {
			fail("restoring store to window %s: %s", w->name,
			     signame(sig));
			return false;
		}
		if (fd >= 0 && vt_fd_u64(fd, foff) != want) {
			fail("restored word of window %s not in the file",
			     w->name);
			return false;
		}
	}
	return true;
}

/* Check pages of [off, off + len) of slot @k through every parent mmap. */
static void verify_range(int k, uint64_t off, uint64_t len, bool temp)
{
	struct fz_win *w = &S->win[k];
	bool seen = false;
	int i, j;

	for (i = 0; i < nmm && !S->failed; i++) {
		struct fz_mmap *p = &mm[i];
		uint64_t a, b;

		if (p->win != k || p->off >= off + len || off >= p->off + p->len)
			continue;
		a = p->off > off ? p->off : off;
		b = p->off + p->len < off + len ? p->off + p->len : off + len;
		seen = true;
		for (j = 0; j < CHECK_PAGES && !S->failed; j++) {
			uint64_t pg = j == 0 ? a : j == 1 ? b - PS :
				      a + rn((b - a) / PS) * PS;

			check_page(k, p->addr + (pg - p->off), pg, p->prot,
				   false);
			if ((b - a) / PS <= 2 && j >= 1)
				break;
		}
	}
	if (seen || !temp || w->state != W_LIVE || S->failed)
		return;

	/* Nobody maps the range: map it for the check. */
	{
		uint64_t l = len < MAX_MMAP_LEN ? len : MAX_MMAP_LEN;
		int fd = open_node(w->name, O_RDONLY, true);
		char *a;

		if (fd < 0) {
			fail("open of live window node %s: %s", w->name,
			     ename(-fd));
			return;
		}
		a = mmap(NULL, l, PROT_READ, MAP_SHARED, fd, off);
		close(fd);
		if (a == MAP_FAILED) {
			fail("mmap of live window %s offset 0x%llx len 0x%llx: %s",
			     w->name, (unsigned long long)off,
			     (unsigned long long)l, ename(errno));
			return;
		}
		for (j = 0; j < CHECK_PAGES && !S->failed; j++) {
			uint64_t pg = j == 0 ? 0 : j == 1 ? l - PS :
				      rn(l / PS) * PS;

			check_page(k, a + pg, off + pg, PROT_READ, false);
		}
		munmap(a, l);
	}
}

/* ------------------------------------------------------------------ */
/* Control node commands                                               */
/* ------------------------------------------------------------------ */

static bool check_info(const struct vushm_info *in, int k)
{
	const struct fz_win *w = k >= 0 ? &S->win[k] : NULL;
	uint64_t bytes = 0;
	int i;

	if (in->api_version != VUSHM_API_VERSION || in->page_size != PS ||
	    in->reserved0 || in->reserved1 || in->reserved[0] ||
	    in->reserved[1]) {
		fail("%s: bad api_version/page_size/reserved", cur);
		return false;
	}
	if (!w) {
		if (in->size || in->shmid || in->hole_policy ||
		    in->nr_mappings || in->mapped_bytes || in->name[0]) {
			fail("%s: window fields not zero on the control node",
			     cur);
			return false;
		}
		return true;
	}
	for (i = 0; i < w->nmaps; i++)
		bytes += w->maps[i].len;
	if (in->size != w->size || in->shmid != w->shmid ||
	    in->hole_policy != w->policy ||
	    in->nr_mappings != (uint32_t)w->nmaps ||
	    in->mapped_bytes != bytes ||
	    strncmp(in->name, w->name, VUSHM_NAME_MAX) ||
	    in->max_windows != ginfo.max_windows ||
	    in->max_window_size != ginfo.max_window_size ||
	    in->max_total_mappings != ginfo.max_total_mappings ||
	    in->max_mapped_bytes != ginfo.max_mapped_bytes) {
		fail("%s: info size %llu shmid %u policy %u nr_mappings %u mapped_bytes %llu name '%.32s'; model %llu %u %u %d %llu '%.32s'",
		     cur, (unsigned long long)in->size, in->shmid,
		     in->hole_policy, in->nr_mappings,
		     (unsigned long long)in->mapped_bytes, in->name,
		     (unsigned long long)w->size, w->shmid, w->policy,
		     w->nmaps, (unsigned long long)bytes, w->name);
		return false;
	}
	return true;
}

static void op_get_info(void)
{
	struct vushm_info in;
	struct expect e;
	int k = chance(30) ? -1 : pick_win(1 << W_LIVE | 1 << W_DEAD, true);
	int ret;

	if (k < 0) {
		exp_init(&e, C_INFO_CTL);
		snprintf(cur, sizeof(cur), "GET_INFO on the control node");
		ret = vt_get_info(ctl, &in);
		if (judge(C_INFO_CTL, ret, &e) && !ret)
			check_info(&in, -1);
		return;
	}
	exp_init(&e, C_INFO_CFD);
	if (S->win[k].state == W_DEAD)
		exp_must(&e, ENODEV);
	snprintf(cur, sizeof(cur), "GET_INFO on the controller of %s window %s",
		 S->win[k].state == W_DEAD ? "destroyed" : "live",
		 S->win[k].name);
	ret = vt_get_info(win_cfd(&S->win[k]), &in);
	if (judge(C_INFO_CFD, ret, &e) && !ret)
		check_info(&in, k);
}

/* @name for messages: bytes outside printable ASCII as \xNN. */
static const char *esc_name(const char *name, char *buf, size_t n)
{
	size_t i, l = 0;

	buf[0] = 0;
	for (i = 0; i < VUSHM_NAME_MAX && name[i] && l + 5 < n; i++)
		l += snprintf(buf + l, n - l,
			      (unsigned char)name[i] < 0x20 ||
			      (unsigned char)name[i] >= 0x7f ? "\\x%02x" : "%c",
			      (unsigned char)name[i]);
	if (i == VUSHM_NAME_MAX && l + 10 < n)
		snprintf(buf + l, n - l, " (no NUL)");
	return buf;
}

/* A name: valid or not, as told by *valid; duplicates of live windows. */
static void gen_name(char name[VUSHM_NAME_MAX], bool *valid, bool *dup)
{
	static const char bad[] = "/ \n*:@\\%+~\x01\x7f";
	int r = rn(14), k;
	size_t l;

	memset(name, 0, VUSHM_NAME_MAX);
	*valid = true;
	*dup = false;
	switch (r) {
	case 0:		/* empty */
		*valid = false;
		return;
	case 1:
		strcpy(name, chance(50) ? "." : chance(50) ? ".." : "control");
		*valid = false;
		return;
	case 2:		/* 32 bytes, no NUL */
		memset(name, 'a', VUSHM_NAME_MAX);
		memcpy(name, prefix, strlen(prefix));
		*valid = false;
		return;
	case 3:		/* an invalid ASCII byte */
	case 4:		/* a byte above 0x7f ([A-Za-z0-9._-] only) */
		snprintf(name, VUSHM_NAME_MAX, "%sbad%u", prefix, name_seq++);
		l = strlen(name);
		{
			unsigned char ch = r == 3 ? (unsigned char)bad[rn(sizeof(bad) - 1)] :
					   0x80 + rn(0x80);

			name[rn(l - strlen(prefix)) + strlen(prefix)] = ch;
			*valid = false;
		}
		return;
	case 5:
	case 6:
		k = pick_win(1 << W_LIVE, false);
		if (k >= 0) {
			memcpy(name, S->win[k].name, VUSHM_NAME_MAX);
			*dup = true;
			return;
		}
		break;
	case 7:		/* exactly 31 characters */
		snprintf(name, VUSHM_NAME_MAX, "%s%u", prefix, name_seq++);
		l = strlen(name);
		memset(name + l, chance(50) ? '_' : '.', VUSHM_NAME_MAX - 1 - l);
		return;
	default:
		break;
	}
	snprintf(name, VUSHM_NAME_MAX, "%s%s%u", prefix,
		 chance(50) ? "w" : chance(50) ? "X.y-" : "_", name_seq++);
	/* Garbage after the NUL is not part of the name. */
	if (chance(15)) {
		l = strlen(name);
		for (l++; l < VUSHM_NAME_MAX; l++)
			name[l] = (char)rnd();
	}
}

static uint64_t gen_win_size(bool *inval, bool *big)
{
	uint64_t max = ginfo.max_window_size;

	*inval = *big = false;
	switch (rn(16)) {
	case 0:
		*inval = true;
		return 0;
	case 1:
		*inval = true;
		return (1 + rn(64)) * PS + 1 + rn(PS - 1);
	case 2:
		return 1 * TiB <= max ? 1 * TiB : max;
	case 3:
		return max;
	case 4:
		*big = true;
		return max + PS;
	case 5:
		*big = true;
		return UINT64_MAX & ~(uint64_t)(PS - 1);
	case 6:
		*inval = true;
		return UINT64_MAX;
	case 7:
		*big = true;
		return 1ULL << 63;
	case 8:
		return PS;
	default:
		return (1 + rn(4096)) * PS;
	}
}

/* Record a window the kernel created (expected or not), or destroy it. */
static void win_add(const struct vushm_create *c, int cfd)
{
	struct vushm_window_ref r;
	int i;

	for (i = 0; i < MAX_WIN; i++) {
		struct fz_win *w = &S->win[i];

		if (w->state != W_FREE)
			continue;
		memset(w, 0, sizeof(*w));
		w->state = W_LIVE;
		memcpy(w->name, c->name, VUSHM_NAME_MAX - 1);
		w->size = c->size;
		w->shmid = c->shmid;
		w->policy = c->hole_policy;
		w->cflags = c->flags;
		w->cfd[0] = cfd;
		w->cfd[1] = -1;
		return;
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.name, c->name, VUSHM_NAME_MAX);
	close(cfd);
	vt_ioctl(ctl, VUSHM_DESTROY, &r);
}

static void op_create(void)
{
	bool valid, dup, inval = false, big = false;
	struct vushm_create c;
	struct expect e;
	char nm[4 * VUSHM_NAME_MAX + 16];
	int ret;

	memset(&c, 0, sizeof(c));
	gen_name(c.name, &valid, &dup);
	c.size = chance(60) ? (1 + rn(1024)) * PS : gen_win_size(&inval, &big);
	c.shmid = chance(90) ? rn(256) : chance(50) ? 256 : (uint32_t)rnd();
	c.hole_policy = chance(92) ? rn(2) : 2 + rn(1000);
	c.flags = chance(80) ? 0 : chance(60) ? VUSHM_CREATE_EPHEMERAL :
		  (uint32_t)rnd();
	c.uid = chance(80) ? 0 : chance(70) ? rn(70000) : UINT32_MAX;
	c.gid = chance(80) ? 0 : chance(70) ? rn(70000) : UINT32_MAX;
	c.mode = chance(40) ? 0 : chance(70) ? rn(01000) : 01000 + rn(070000);
	if (chance(5))
		c.reserved[rn(4)] = rnd() | 1;

	/* Bounded: with 8 live windows, only creates that must fail. */
	if (nr_live() >= MAX_LIVE || pick_win(1 << W_FREE, false) < 0) {
		if (!dup)
			c.flags |= 0x80000000U;
	}

	exp_init(&e, C_CREATE);
	if (!valid || inval || c.shmid > 255 || c.hole_policy > 1 ||
	    (c.flags & ~VUSHM_CREATE_EPHEMERAL) || (c.mode & ~0777U) ||
	    c.uid == UINT32_MAX || c.gid == UINT32_MAX || c.reserved[0] ||
	    c.reserved[1] || c.reserved[2] || c.reserved[3])
		exp_must(&e, EINVAL);
	if (big)
		exp_must(&e, EFBIG);
	if (dup || (valid && win_by_name(c.name) >= 0))
		exp_must(&e, EEXIST);
	/* Other programs' windows count against max_windows. */
	es_add(&e.may, ENOSPC);

	esc_name(c.name, nm, sizeof(nm));
	snprintf(cur, sizeof(cur),
		 "CREATE name '%s' size 0x%llx shmid %u policy %u flags 0x%x uid %u gid %u mode 0%o reserved %llx:%llx:%llx:%llx",
		 nm,
		 (unsigned long long)c.size, c.shmid, c.hole_policy, c.flags,
		 c.uid, c.gid, c.mode, (unsigned long long)c.reserved[0],
		 (unsigned long long)c.reserved[1],
		 (unsigned long long)c.reserved[2],
		 (unsigned long long)c.reserved[3]);
	ret = vt_ioctl(ctl, VUSHM_CREATE, &c);
	judge(C_CREATE, ret, &e);
	if (ret >= 0)
		win_add(&c, ret);
}

static void gen_ref(struct vushm_window_ref *r, int *k, bool *inval)
{
	bool valid, dup;

	memset(r, 0, sizeof(*r));
	*inval = false;
	*k = chance(75) ? pick_win(1 << W_LIVE | 1 << W_DEAD, false) : -1;
	if (*k >= 0) {
		memcpy(r->name, S->win[*k].name, VUSHM_NAME_MAX);
		size_t l = strnlen(r->name, VUSHM_NAME_MAX);

		if (l + 2 < VUSHM_NAME_MAX && chance(20))	/* after the NUL */
			r->name[l + 1 + rn(VUSHM_NAME_MAX - l - 1)] = 'z';
	} else {
		gen_name(r->name, &valid, &dup);
		*inval = !valid;
	}
	if (chance(5)) {
		r->flags = (uint32_t)rnd() | 1;
		*inval = true;
	}
	if (chance(5)) {
		r->reserved[rn(3)] = (uint32_t)rnd() | 1;
		*inval = true;
	}
	/* Which live window the name names, after all that. */
	*k = *inval ? -1 : win_by_name(r->name);
}

static void op_attach(void)
{
	char nm[4 * VUSHM_NAME_MAX + 16];
	struct vushm_window_ref r;
	struct expect e;
	bool inval;
	int k, ret;

	gen_ref(&r, &k, &inval);
	exp_init(&e, C_ATTACH);
	if (inval)
		exp_must(&e, EINVAL);
	else if (k < 0)
		exp_must(&e, ENOENT);
	else if (win_has_ctl(&S->win[k]))
		exp_must(&e, EBUSY);
	snprintf(cur, sizeof(cur), "ATTACH '%s' flags 0x%x reserved %x:%x:%x",
		 esc_name(r.name, nm, sizeof(nm)), r.flags, r.reserved[0],
		 r.reserved[1], r.reserved[2]);
	ret = vt_ioctl(ctl, VUSHM_ATTACH, &r);
	judge(C_ATTACH, ret, &e);
	if (ret < 0)
		return;
	if (k >= 0 && !win_has_ctl(&S->win[k]))
		S->win[k].cfd[0] = ret;
	else
		close(ret);	/* reported above */
}

static void op_destroy(void)
{
	char nm[4 * VUSHM_NAME_MAX + 16];
	struct vushm_window_ref r;
	struct expect e;
	bool inval;
	int k, ret;

	gen_ref(&r, &k, &inval);
	exp_init(&e, C_DESTROY);
	if (inval)
		exp_must(&e, EINVAL);
	else if (k < 0)
		exp_must(&e, ENOENT);
	snprintf(cur, sizeof(cur), "DESTROY '%s' flags 0x%x reserved %x:%x:%x",
		 esc_name(r.name, nm, sizeof(nm)), r.flags, r.reserved[0],
		 r.reserved[1], r.reserved[2]);
	ret = vt_ioctl(ctl, VUSHM_DESTROY, &r);
	judge(C_DESTROY, ret, &e);
	if (ret == 0 && k >= 0) {
		win_mark_dead(k);
		/* Every mmap of it now reads zeros. */
		verify_range(k, 0, S->win[k].size, false);
	}
}

/* ------------------------------------------------------------------ */
/* Controller commands                                                 */
/* ------------------------------------------------------------------ */

enum {
	F_POOL, F_TEMP, F_CONTROL, F_CFD, F_NODE, F_RING, F_JUST_CLOSED,
	F_MINUS1, F_HUGE, F_NR
};

/*
 * The fd for a MAP and what the model says it leads to.  *tmp: an fd to
 * close after the call.  *fi: its file (S->files index) or -1.
 */
static int gen_map_fd(int *tmp, int *fi, bool *rd, bool *wr, bool *badf,
		      char *desc, size_t n)
{
	static const int huge[] = { INT_MAX, 1 << 20, 65535, -2, INT_MIN };
	unsigned int r = rn(100);
	int fd, k, i;

	*tmp = -1;
	*fi = -1;
	*rd = *wr = true;
	*badf = false;
	if (r < 70) {
		struct fz_fd *p = &pool[rn(POOL_N)];

		for (i = 0; i < POOL_N && p->fd < 0; i++)
			p = &pool[(p - pool + 1) % POOL_N];
		*fi = p->file;
		*rd = p->rd;
		*wr = p->wr;
		*badf = p->opath;	/* fget() does not see O_PATH files */
		snprintf(desc, n, "fd %d (%s%s)", p->fd, kind_names[p->kind],
			 p->file >= 0 && S->files[p->file].shmem ? ", shmem" :
			 "");
		return p->fd;
	}
	r = rn(F_NR);
	switch (r) {
	case F_TEMP:
	case F_POOL: {
		/* A memfd closed right after the MAP: the window keeps it. */
		struct fz_fd t;

		if (make_memfd(&t, 0, false, true) < 0)
			break;
		*tmp = t.fd;
		*fi = t.file;
		snprintf(desc, n, "fd %d (memfd closed after the call)", t.fd);
		return t.fd;
	}
	case F_CONTROL:
		snprintf(desc, n, "fd %d (control node)", ctl);
		*fi = -2;
		return ctl;
	case F_CFD:
		k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
		if (k < 0)
			break;
		snprintf(desc, n, "fd %d (controller fd)", win_cfd(&S->win[k]));
		*fi = -2;
		return win_cfd(&S->win[k]);
	case F_NODE:
		k = pick_win(1 << W_LIVE, false);
		if (k < 0)
			break;
		fd = open_node(S->win[k].name, O_RDWR, true);
		if (fd < 0)
			break;
		*tmp = fd;
		*fi = -2;
		snprintf(desc, n, "fd %d (window node)", fd);
		return fd;
	case F_RING:
		rings_init();
		if (!rings_ok)
			break;
		*fi = -2;
		snprintf(desc, n, "fd %d (io_uring)", ring128.ring_fd);
		return ring128.ring_fd;
	case F_JUST_CLOSED:
		fd = dup(0);
		if (fd < 0)
			break;
		close(fd);
		*badf = true;
		snprintf(desc, n, "fd %d (just closed)", fd);
		return fd;
	case F_HUGE:
		*badf = true;
		fd = huge[rn(ARRAY_SIZE(huge))];
		snprintf(desc, n, "fd %d", fd);
		return fd;
	default:
		break;
	}
	*badf = true;
	snprintf(desc, n, "fd -1");
	return -1;
}

static uint64_t gen_len(uint64_t fsize, bool *inval)
{
	*inval = false;
	switch (rn(24)) {
	case 0:
		*inval = true;
		return 0;
	case 1:
		*inval = true;
		return (1 + rn(8)) * PS + 1 + rn(PS - 1);
	case 2:
		return UINT64_MAX & ~(uint64_t)(PS - 1);
	case 3:
		return 1 * TiB;
	case 4:
		return fsize >= PS ? fsize & ~(uint64_t)(PS - 1) : PS;
	case 5:
		return (1 + rn(1024)) * PS;
	default:
		return (1 + (chance(60) ? rn(4) : rn(64))) * PS;
	}
}

static uint64_t gen_shm_off(const struct fz_win *w, uint64_t len)
{
	uint64_t pages = w->size / PS, lp = len / PS;

	switch (rn(16)) {
	case 0:
		return w->size;
	case 1:
		return w->size - (len <= w->size ? len : 0);
	case 2:
		return UINT64_MAX & ~(uint64_t)(PS - 1);
	case 3:
		return (UINT64_MAX - len + 1) & ~(uint64_t)(PS - 1);
	case 4:
		return rn(pages) * PS + 1 + rn(PS - 1);	/* not aligned */
	case 5:
		if (w->nmaps) {	/* overlap a live mapping */
			const struct fz_map *m = &w->maps[rn(w->nmaps)];

			return m->shm_off + rn(m->len / PS) * PS;
		}
		return 0;
	default:
		/* Mostly small windows get small offsets; 1 TiB ones anywhere. */
		if (lp >= pages)
			return 0;
		return rn(pages - lp + 1) * PS;
	}
}

static uint64_t gen_fd_off(uint64_t fsize, uint64_t len)
{
	uint64_t fp = fsize / PS, lp = len / PS;

	switch (rn(14)) {
	case 0:
		return (fp + rn(4)) * PS;
	case 1:
		return UINT64_MAX & ~(uint64_t)(PS - 1);
	case 2:
		return (UINT64_MAX - len + 1) & ~(uint64_t)(PS - 1);
	case 3:
		return 1 + rn(fsize + 1);		/* mostly not aligned */
	default:
		return lp <= fp ? rn(fp - lp + 1) * PS : 0;
	}
}

static void map_desc(int path, int cfd, const char *wname,
		     const struct vushm_map *m, const char *fdesc)
{
	snprintf(cur, sizeof(cur),
		 "%s MAP on fd %d (window %s) %s fd_offset 0x%llx shm_offset 0x%llx len 0x%llx flags 0x%llx reserved %x:%llx:%llx",
		 path_names[path], cfd, wname, fdesc,
		 (unsigned long long)m->fd_offset,
		 (unsigned long long)m->shm_offset, (unsigned long long)m->len,
		 (unsigned long long)m->flags, m->reserved0,
		 (unsigned long long)m->reserved[0],
		 (unsigned long long)m->reserved[1]);
}

/*
 * A failed MAP, UNMAP or RESET changes nothing: the other path must fail
 * the same way ("both paths must behave identically").
 */
static void cross_check(int cmd, int path, int cfd, unsigned long op,
			void *arg, size_t len, int ret)
{
	int other, ret2;
	size_t l;

	if (ret >= 0 || ret == -ENOMEM || path == P_URING64 || S->failed ||
	    !(ginfo.features & VUSHM_F_URING_CMD) || !chance(40))
		return;
	other = path == P_IOCTL ? (chance(70) ? P_URING : P_URING_ASYNC) :
		P_IOCTL;
	ret2 = send_cmd(other, cfd, op, arg, len);
	if (ret2 != ret) {
		l = strnlen(cur, sizeof(cur) - 1);
		snprintf(cur + l, sizeof(cur) - l, ", then again through %s",
			 path_names[other]);
		fail("%s: %s returned %s, %s returned %s", cur,
		     path_names[path], ename(-ret), path_names[other],
		     ret2 < 0 ? ename(-ret2) : "success");
		if (ret2 >= 0 && cmd == C_MAP)
			note("model out of sync after this");
	}
}

static void op_map(void)
{
	bool rd, wr, badf, linval, inval = false, ovf = false;
	char fdesc[96];
	struct vushm_map m;
	struct expect e;
	struct fz_file *f;
	struct fz_win *w;
	uint64_t fsize, end;
	int k, fd, tmp, fi, path, ret, cfd;

	k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
	if (k < 0 || (S->win[k].state == W_DEAD && chance(60)))
		k = pick_win(1 << W_LIVE, true);
	if (k < 0)
		return;
	w = &S->win[k];
	cfd = win_cfd(w);
	fd = gen_map_fd(&tmp, &fi, &rd, &wr, &badf, fdesc, sizeof(fdesc));
	f = fi >= 0 ? &S->files[fi] : NULL;
	fsize = f ? f->size : 16 * PS;

	memset(&m, 0, sizeof(m));
	m.fd = fd;
	m.len = gen_len(fsize, &linval);
	m.shm_offset = gen_shm_off(w, m.len);
	m.fd_offset = gen_fd_off(fsize, m.len);
	m.flags = chance(50) ? VUSHM_MAP_RW : 0;
	if (chance(4))
		m.flags |= 1ULL << (1 + rn(63));
	if (chance(3))
		m.reserved0 = (uint32_t)rnd() | 1;
	if (chance(3))
		m.reserved[rn(2)] = rnd() | 1;
	/* Bounded: a full window only gets MAPs that must fail. */
	if (w->nmaps >= MAX_MAPS)
		m.len = 0;

	exp_init(&e, C_MAP);
	path = pick_path();
	exp_path(&e, path);
	if (m.reserved0 || m.reserved[0] || m.reserved[1] ||
	    (m.flags & ~VUSHM_MAP_RW) || !m.len || m.len % PS ||
	    m.fd_offset % PS || m.shm_offset % PS)
		inval = true;
	if (__builtin_add_overflow(m.shm_offset, m.len, &end) ||
	    __builtin_add_overflow(m.fd_offset, m.len, &end))
		ovf = inval = true;
	if (inval)
		exp_must(&e, EINVAL);
	if (!ovf && m.shm_offset + m.len > w->size)
		exp_must(&e, ERANGE);
	if (badf) {
		exp_must(&e, EBADF);
	} else {
		if (!f || !f->shmem)
			exp_must(&e, EOPNOTSUPP);
		if (!rd || ((m.flags & VUSHM_MAP_RW) && !wr))
			exp_must(&e, EACCES);
		if (f && f->shmem) {
			if (!ovf && m.fd_offset + m.len > f->size)
				exp_must(&e, ENXIO);
			if ((m.flags & VUSHM_MAP_RW) &&
			    (f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
				exp_must(&e, EPERM);
		}
	}
	if (w->state == W_DEAD)
		exp_must(&e, ENODEV);
	else if (!inval && !ovf && m.shm_offset + m.len <= w->size &&
		 win_overlaps(w, m.shm_offset, m.len))
		exp_must(&e, EEXIST);
	/* max_mappings is a module parameter someone may have lowered. */
	es_add(&e.may, ENOSPC);

	map_desc(path, cfd, w->name, &m, fdesc);
	ret = send_cmd(path, cfd, VUSHM_MAP, &m, sizeof(m));
	if (!judge(C_MAP, ret, &e)) {
		char lnk[64], tgt[PATH_MAX];
		ssize_t n;

		/* What the fds really are, for the report. */
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", m.fd);
		n = readlink(lnk, tgt, sizeof(tgt) - 1);
		tgt[n > 0 ? n : 0] = 0;
		printf("# fd %d is '%s'", m.fd, n > 0 ? tgt : "(not open)");
		snprintf(lnk, sizeof(lnk), "/proc/self/fd/%d", cfd);
		n = readlink(lnk, tgt, sizeof(tgt) - 1);
		tgt[n > 0 ? n : 0] = 0;
		printf(", fd %d is '%s'\n", cfd, n > 0 ? tgt : "(not open)");
	}
	cross_check(C_MAP, path, cfd, VUSHM_MAP, &m, sizeof(m), ret);
	if (ret == 0 && w->state == W_LIVE && w->nmaps < MAX_MAPS &&
	    !ovf && m.len) {
		struct fz_map *nm = &w->maps[w->nmaps++];

		nm->shm_off = m.shm_offset;
		nm->len = m.len;
		nm->fd_off = m.fd_offset;
		nm->flags = m.flags;
		nm->seed = f ? f->seed : 0;
		nm->fid = f ? f->fid : 0;
		if (!S->failed)
			verify_range(k, m.shm_offset, m.len, chance(60));
	}
	if (tmp >= 0) {
		close(tmp);
		if (fi >= 0)
			file_put(fi);
	}
}

static void op_unmap(void)
{
	struct vushm_unmap u;
	struct fz_map *exact = NULL;
	struct expect e;
	struct fz_win *w;
	int k, i, path, ret, cfd;

	k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
	if (k < 0 || (S->win[k].state == W_DEAD && chance(60)))
		k = pick_win(1 << W_LIVE, true);
	if (k < 0)
		return;
	w = &S->win[k];
	cfd = win_cfd(w);
	memset(&u, 0, sizeof(u));
	if (w->nmaps && chance(70)) {
		const struct fz_map *m = &w->maps[rn(w->nmaps)];

		u.shm_offset = m->shm_off;
		u.len = m->len;
		switch (rn(8)) {
		case 0:
			u.len += PS;
			break;
		case 1:
			u.len = m->len > PS ? m->len - PS : 2 * PS;
			break;
		case 2:
			u.shm_offset += PS;
			u.len = m->len > PS ? m->len - PS : PS;
			break;
		case 3:
			u.len += 1;
			break;
		default:
			break;
		}
	} else {
		bool inv;

		u.len = gen_len(w->size, &inv);
		u.shm_offset = gen_shm_off(w, u.len);
	}
	if (chance(4))
		u.flags = rnd() | 1;
	if (chance(4))
		u.reserved[rn(2)] = rnd() | 1;

	exp_init(&e, C_UNMAP);
	path = pick_path();
	exp_path(&e, path);
	if (u.flags || u.reserved[0] || u.reserved[1])
		exp_must(&e, EINVAL);
	for (i = 0; i < w->nmaps; i++)
		if (w->maps[i].shm_off == u.shm_offset &&
		    w->maps[i].len == u.len)
			exact = &w->maps[i];
	if (!exact)
		exp_must(&e, ENOENT);
	if (w->state == W_DEAD)
		exp_must(&e, ENODEV);
	snprintf(cur, sizeof(cur),
		 "%s UNMAP on fd %d (window %s%s) shm_offset 0x%llx len 0x%llx flags 0x%llx reserved %llx:%llx",
		 path_names[path], cfd, w->name,
		 w->state == W_DEAD ? ", destroyed" : "",
		 (unsigned long long)u.shm_offset, (unsigned long long)u.len,
		 (unsigned long long)u.flags, (unsigned long long)u.reserved[0],
		 (unsigned long long)u.reserved[1]);
	ret = send_cmd(path, cfd, VUSHM_UNMAP, &u, sizeof(u));
	judge(C_UNMAP, ret, &e);
	cross_check(C_UNMAP, path, cfd, VUSHM_UNMAP, &u, sizeof(u), ret);
	if (ret == 0 && exact) {
		*exact = w->maps[--w->nmaps];
		if (!S->failed)
			verify_range(k, u.shm_offset, u.len, false);
	}
}

static void op_reset(void)
{
	struct expect e;
	struct fz_win *w;
	int k, path, ret;

	k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
	if (k < 0)
		return;
	w = &S->win[k];
	exp_init(&e, C_RESET);
	path = pick_path();
	/* RESET has no structure: the SQE size does not matter to it. */
	if (w->state == W_DEAD)
		exp_must(&e, ENODEV);
	snprintf(cur, sizeof(cur), "%s RESET on fd %d (window %s%s)",
		 path_names[path], win_cfd(w), w->name,
		 w->state == W_DEAD ? ", destroyed" : "");
	/* A random argument: _IO commands ignore it. */
	ret = send_cmd(path, win_cfd(w), VUSHM_RESET,
		       chance(50) ? NULL : (void *)(uintptr_t)rnd(), 0);
	judge(C_RESET, ret, &e);
	cross_check(C_RESET, path, win_cfd(w), VUSHM_RESET, NULL, 0, ret);
	if (ret == 0) {
		win_clear_maps(w);
		verify_range(k, 0, w->size, false);
	}
}

/* ------------------------------------------------------------------ */
/* Unknown commands, wrong sizes, bad pointers                         */
/* ------------------------------------------------------------------ */

static const unsigned long real_cmds[] = {
	VUSHM_GET_INFO, VUSHM_CREATE, VUSHM_ATTACH, VUSHM_DESTROY,
	VUSHM_MAP, VUSHM_UNMAP, VUSHM_RESET,
};

/*
 * Command numbers the VFS handles itself before the driver (FIOCLEX,
 * FIONBIO, FIGETBSZ, FS_IOC_*, ...): their results are not the module's.
 */
static bool is_vfs_cmd(unsigned long c)
{
	unsigned int type = _IOC_TYPE(c);

	return type == 0 || type == 'T' || type == 'X' || type == 'f' ||
	       type == 0x94 || type == 'v';
}

enum { T_CTL, T_CFD, T_NODE };
static const char *const target_names[] = {
	"control node", "controller fd", "window node",
};

/* Which fd to send a wrong command to. */
static int pick_cmd_target(int *t)
{
	int k;

	switch (rn(3)) {
	case 0:
		k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
		if (k < 0)
			break;
		*t = T_CFD;
		return win_cfd(&S->win[k]);
	case 1:
		for (k = 0; k < MAX_NODES; k++)
			if (nodes[k].fd >= 0) {
				*t = T_NODE;
				return nodes[k].fd;
			}
		break;
	default:
		break;
	}
	*t = T_CTL;
	return ctl;
}

/* Is @c a command @t accepts through @path? */
static bool cmd_valid(int t, int path, unsigned long c)
{
	if (t == T_NODE)
		return false;	/* "it has no ioctls" */
	if (path != P_IOCTL)
		return t == T_CFD && (c == VUSHM_MAP || c == VUSHM_UNMAP ||
				      c == VUSHM_RESET);
	if (t == T_CTL)
		return c == VUSHM_GET_INFO || c == VUSHM_CREATE ||
		       c == VUSHM_ATTACH || c == VUSHM_DESTROY;
	return c == VUSHM_GET_INFO || c == VUSHM_MAP || c == VUSHM_UNMAP ||
	       c == VUSHM_RESET;
}

static void op_unknown(bool badsize)
{
	int fd, t, path, ret, cmd = badsize ? C_BADSIZE : C_UNKNOWN;
	struct expect e;
	char buf[512];
	unsigned long c;

	fd = pick_cmd_target(&t);
	path = (ginfo.features & VUSHM_F_URING_CMD) && chance(35) ?
	       (chance(75) ? P_URING : P_URING64) : P_IOCTL;
	do {
		if (badsize) {
			/* A real command with another size or direction. */
			c = real_cmds[rn(ARRAY_SIZE(real_cmds))];
			if (chance(60))
				c = _IOC(_IOC_DIR(c), _IOC_TYPE(c), _IOC_NR(c),
					 chance(30) ? 0 :
					 rn(chance(50) ? 256 : _IOC_SIZEMASK + 1));
			else
				c = _IOC(rn(4), _IOC_TYPE(c), _IOC_NR(c),
					 _IOC_SIZE(c));
		} else if (chance(40)) {
			c = _IOC(rn(4), VUSHM_IOC_MAGIC, rn(256),
				 rn(_IOC_SIZEMASK + 1));
		} else if (chance(50)) {
			/* A real command sent to the wrong kind of fd or path. */
			c = real_cmds[rn(ARRAY_SIZE(real_cmds))];
		} else {
			c = (uint32_t)rnd();
		}
	} while (is_vfs_cmd(c) || cmd_valid(t, path, c));

	memset(buf, 0, sizeof(buf));
	exp_init(&e, cmd);
	if (path == P_IOCTL) {
		exp_must(&e, ENOTTY);
	} else {
		/*
		 * "Any other cmd_op, VUSHM_GET_INFO included, completes with
		 * EOPNOTSUPP"; io_uring says the same for files without
		 * uring_cmd.
		 */
		exp_must(&e, EOPNOTSUPP);
	}
	snprintf(cur, sizeof(cur),
		 "%s command 0x%08lx (dir %lu type 0x%lx nr 0x%lx size %lu) on the %s",
		 path_names[path], c, (unsigned long)_IOC_DIR(c),
		 (unsigned long)_IOC_TYPE(c), (unsigned long)_IOC_NR(c),
		 (unsigned long)_IOC_SIZE(c), target_names[t]);
	ret = send_cmd(path, fd, c, buf, 80);
	judge(cmd, ret, &e);
}

/* Arguments at NULL, in PROT_NONE memory, straddling into it, read-only. */
static char *badpage;	/* two pages: PROT_READ, then PROT_NONE */

static void op_badptr(void)
{
	static const unsigned long ctl_cmds[] = {
		VUSHM_GET_INFO, VUSHM_CREATE, VUSHM_ATTACH, VUSHM_DESTROY,
	};
	static const unsigned long cfd_cmds[] = {
		VUSHM_GET_INFO, VUSHM_MAP, VUSHM_UNMAP,
	};
	const char *where;
	unsigned long c;
	struct expect e;
	void *arg;
	int k, fd, ret;
	bool dead = false;

	k = chance(50) ? pick_win(1 << W_LIVE | 1 << W_DEAD, true) : -1;
	if (k >= 0) {
		fd = win_cfd(&S->win[k]);
		dead = S->win[k].state == W_DEAD;
		c = cfd_cmds[rn(ARRAY_SIZE(cfd_cmds))];
	} else {
		fd = ctl;
		c = ctl_cmds[rn(ARRAY_SIZE(ctl_cmds))];
	}
	switch (rn(4)) {
	case 0:
		arg = NULL;
		where = "NULL";
		break;
	case 1:
		arg = badpage + PS;
		where = "PROT_NONE";
		break;
	case 2:
		arg = badpage + PS - 8;	/* the rest in PROT_NONE */
		where = "straddling PROT_NONE";
		break;
	default:
		/* Read-only: only a command that writes back faults. */
		if (c != VUSHM_GET_INFO)
			c = VUSHM_GET_INFO;
		arg = badpage;
		where = "read-only";
		break;
	}
	exp_init(&e, C_BADPTR);
	/* Not in the errno tables: the generic result of a bad pointer. */
	exp_must(&e, EFAULT);
	if (dead)
		exp_must(&e, ENODEV);
	snprintf(cur, sizeof(cur), "ioctl 0x%08lx on the %s, argument %s",
		 c, k >= 0 ? "controller fd" : "control node", where);
	ret = vt_ioctl(fd, c, arg);
	judge(C_BADPTR, ret, &e);
	if (ret > 0 && c != VUSHM_GET_INFO)
		close(ret);
}

/* ------------------------------------------------------------------ */
/* mmap of window nodes, VMA operations, touching                      */
/* ------------------------------------------------------------------ */

static void mm_remove(int i)
{
	int k = mm[i].win;

	S->win[k].nmmaps--;
	mm[i] = mm[--nmm];
	win_gc(k);
}

static void op_mmap(void)
{
	struct fz_win *w;
	struct expect e;
	uint64_t pages, off, len;
	bool rw_fd = chance(70), priv = chance(6), ok_range = true;
	int k, fd = -1, prot, ret, i, node = -1;
	char *a;

	if (nmm >= MAX_MMAPS)
		return;
	/* Sometimes a node fd opened earlier: its window may be gone. */
	for (i = 0; i < MAX_NODES && chance(30); i++)
		if (nodes[i].fd >= 0) {
			node = i;
			break;
		}
	if (node >= 0) {
		k = nodes[node].win;
		fd = nodes[node].fd;
		rw_fd = (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	} else {
		k = pick_win(1 << W_LIVE, false);
		if (k < 0)
			return;
		fd = open_node(S->win[k].name, rw_fd ? O_RDWR : O_RDONLY,
			       true);
		if (fd < 0) {
			fail("open of live window node %s: %s",
			     S->win[k].name, ename(-fd));
			return;
		}
	}
	w = &S->win[k];
	pages = w->size / PS;
	prot = chance(60) ? PROT_READ | PROT_WRITE : PROT_READ;
	off = rn(pages) * PS;
	len = (1 + rn(chance(70) ? 16 : 1024)) * PS;
	if (off / PS + len / PS > pages)
		len = (pages - off / PS) * PS;
	switch (rn(12)) {
	case 0:
		off = w->size;
		ok_range = false;
		break;
	case 1:
		len = w->size - off + PS;	/* one page too long */
		ok_range = false;
		break;
	case 2:
		off = 0;
		len = pages * PS > MAX_MMAP_LEN ? MAX_MMAP_LEN : pages * PS;
		break;
	default:
		break;
	}
	/* A huge private writable mapping would fail overcommit first. */
	if (priv && len > MAX_MMAP_LEN)
		len = MAX_MMAP_LEN;
	exp_init(&e, C_MMAP);
	if (priv || !ok_range)
		exp_must(&e, EINVAL);
	if ((prot & PROT_WRITE) && !rw_fd && !priv)
		exp_must(&e, EACCES);	/* the core: shared writable, O_RDONLY */
	if (w->state == W_DEAD) {
		/* Not in the doc: mmap of a destroyed window's open node. */
		exp_must(&e, ENODEV);
		es_add(&e.doc, ENODEV);
	}
	snprintf(cur, sizeof(cur), "mmap of window %s%s (node %s) offset 0x%llx len 0x%llx prot %d %s",
		 w->name, w->state == W_DEAD ? " (destroyed)" : "",
		 rw_fd ? "O_RDWR" : "O_RDONLY", (unsigned long long)off,
		 (unsigned long long)len, prot,
		 priv ? "MAP_PRIVATE" : "MAP_SHARED");
	a = mmap(NULL, len, prot, priv ? MAP_PRIVATE : MAP_SHARED, fd, off);
	ret = a == MAP_FAILED ? -errno : 0;
	if (node < 0)
		close(fd);
	judge(C_MMAP, ret, &e);
	if (ret)
		return;
	if (!ok_range || priv || nmm >= MAX_MMAPS) {
		munmap(a, len);
		return;
	}
	mm[nmm++] = (struct fz_mmap){ a, len, off, prot, k, rw_fd };
	w->nmmaps++;
	for (i = 0; i < 4 && !S->failed; i++) {
		uint64_t pg = rn(len / PS) * PS;

		check_page(k, a + pg, off + pg, prot, false);
	}
}

static void op_vma(void)
{
	struct fz_mmap *p;
	struct expect e;
	int i, ret = 0;
	uint64_t cut;
	bool head;

	if (!nmm)
		return;
	i = rn(nmm);
	p = &mm[i];
	exp_init(&e, C_VMA);
	switch (rn(6)) {
	case 0:
	case 1:
		snprintf(cur, sizeof(cur), "munmap of a whole mmap of window %s",
			 S->win[p->win].name);
		ret = munmap(p->addr, p->len) ? -errno : 0;
		judge(C_VMA, ret, &e);
		mm_remove(i);
		return;
	case 2:
		/* Split the VMA: unmap its head or tail. */
		if (p->len < 2 * PS)
			return;
		cut = (1 + rn(p->len / PS - 1)) * PS;
		head = chance(50);
		snprintf(cur, sizeof(cur), "partial munmap (%s 0x%llx) of an mmap of window %s",
			 head ? "head" : "tail", (unsigned long long)cut,
			 S->win[p->win].name);
		if (head) {
			ret = munmap(p->addr, cut) ? -errno : 0;
			p->addr += cut;
			p->off += cut;
		} else {
			ret = munmap(p->addr + p->len - cut, cut) ? -errno : 0;
		}
		p->len -= cut;
		judge(C_VMA, ret, &e);
		break;
	case 3: {
		/* Move it (allowed); growing it is not (VM_DONTEXPAND). */
		void *dst = mmap(NULL, p->len, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *r;

		if (dst == MAP_FAILED)
			return;
		snprintf(cur, sizeof(cur), "mremap move of an mmap of window %s",
			 S->win[p->win].name);
		r = mremap(p->addr, p->len, p->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		ret = r == MAP_FAILED ? -errno : 0;
		if (ret)
			munmap(dst, p->len);
		else
			p->addr = r;
		judge(C_VMA, ret, &e);
		snprintf(cur, sizeof(cur), "mremap grow of an mmap of window %s",
			 S->win[p->win].name);
		r = mremap(p->addr, p->len, p->len + PS, MREMAP_MAYMOVE);
		if (r != MAP_FAILED) {
			fail("%s: succeeded (VM_DONTEXPAND)", cur);
			munmap(r, p->len + PS);
			mm_remove(i);
			return;
		}
		break;
	}
	case 4:
		/* mprotect to writable: only if the node was opened O_RDWR. */
		if (p->prot & PROT_WRITE)
			return;
		if (!p->fd_rw)
			exp_must(&e, EACCES);
		snprintf(cur, sizeof(cur), "mprotect(PROT_WRITE) of an mmap (node %s) of window %s",
			 p->fd_rw ? "O_RDWR" : "O_RDONLY", S->win[p->win].name);
		ret = mprotect(p->addr, p->len, PROT_READ | PROT_WRITE) ?
		      -errno : 0;
		es_add(&e.doc, EACCES);
		judge(C_VMA, ret, &e);
		if (!ret)
			p->prot |= PROT_WRITE;
		break;
	default:
		/* A VM_PFNMAP VMA: MADV_DONTNEED is refused, nothing changes. */
		snprintf(cur, sizeof(cur), "madvise(MADV_DONTNEED) of an mmap of window %s",
			 S->win[p->win].name);
		ret = madvise(p->addr, p->len, MADV_DONTNEED) ? -errno : 0;
		exp_must(&e, EINVAL);
		judge(C_VMA, ret, &e);
		break;
	}
	if (!S->failed)
		verify_range(p->win, p->off, p->len, false);
}

static void op_touch(void)
{
	struct fz_mmap *p;
	int i, n;

	if (!nmm)
		return;
	p = &mm[rn(nmm)];
	n = 1 + rn(8);
	snprintf(cur, sizeof(cur), "touch of window %s", S->win[p->win].name);
	S->ops++;
	S->cnt[C_TOUCH]++;
	for (i = 0; i < n && !S->failed; i++) {
		uint64_t pg = rn(p->len / PS) * PS;

		if (check_page(p->win, p->addr + pg, p->off + pg, p->prot,
			       chance(35)) && i == n - 1) {
			S->ok[C_TOUCH]++;
			S->succ++;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Controller fds, files, node fds                                      */
/* ------------------------------------------------------------------ */

/*
 * Wait for the kernel to see the last close of a controller: its release
 * runs from task_work at the close, but a file reference an io_uring
 * request took may be dropped a moment after its completion.
 */
static bool wait_released(const char *name, bool ephemeral)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (ephemeral ? !vt_sysfs_exists(name) :
		    vt_sysfs_num(name, "controller") == 0)
			return true;
		usleep(5000);
	}
	return false;
}

static void op_close(void)
{
	struct fz_win *w;
	struct expect e;
	int k, j, ret;

	k = pick_win(1 << W_LIVE | 1 << W_DEAD, true);
	if (k < 0)
		return;
	w = &S->win[k];
	exp_init(&e, C_CLOSE);
	if (chance(25) && (w->cfd[0] < 0 || w->cfd[1] < 0)) {
		j = w->cfd[0] < 0 ? 0 : 1;
		snprintf(cur, sizeof(cur), "dup of the controller fd of %s",
			 w->name);
		ret = dup(w->cfd[!j]);
		judge(C_CLOSE, ret < 0 ? -errno : 0, &e);
		w->cfd[j] = ret;
		return;
	}
	j = w->cfd[0] >= 0 ? (w->cfd[1] >= 0 ? (int)rn(2) : 0) : 1;
	snprintf(cur, sizeof(cur), "close of a controller fd of %s%s",
		 w->name, w->state == W_DEAD ? " (destroyed)" : "");
	ret = close(w->cfd[j]) ? -errno : 0;
	judge(C_CLOSE, ret, &e);
	w->cfd[j] = -1;
	if (win_has_ctl(w))
		return;
	if (w->state == W_LIVE) {
		bool eph = w->cflags & VUSHM_CREATE_EPHEMERAL;

		if (!wait_released(w->name, eph)) {
			fail("last close of the controller of %s: %s after 1 s",
			     w->name, eph ? "window still exists" :
			     "sysfs controller still 1");
			return;
		}
		/* "every mapping of the window is removed at once" */
		win_clear_maps(w);
		if (eph)
			w->state = W_DEAD;
		verify_range(k, 0, w->size, false);
	}
	win_gc(k);
}

static void op_pool(void)
{
	struct fz_fd *p = &pool[rn(POOL_N)];
	struct expect e;
	int kind = rand_kind(), ret;

	exp_init(&e, C_POOL);
	e.loose = true;
	pool_close(p);
	snprintf(cur, sizeof(cur), "new %s file", kind_names[kind]);
	ret = pool_make(p, kind);
	judge(C_POOL, ret, &e);
	if (ret < 0 || p->fd < 0)
		pool_fill(p, K_MEMFD);
}

static void op_grow(void)
{
	struct fz_fd *p = &pool[rn(POOL_N)];
	struct fz_file *f;
	struct expect e;
	uint64_t nsize;
	int ret;

	if (p->fd < 0 || p->file < 0 || !p->wr || p->opath)
		return;
	f = &S->files[p->file];
	if (!f->shmem || f->hugetlb || f->size >= MAX_FILE_SZ ||
	    (f->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return;
	nsize = f->size + (chance(80) ? (1 + rn(64)) * PS : 1 + rn(PS));
	if (nsize > MAX_FILE_SZ)
		nsize = MAX_FILE_SZ;
	exp_init(&e, C_GROW);
	if (f->seals & F_SEAL_GROW)
		exp_must(&e, EPERM);
	es_add(&e.doc, EPERM);
	snprintf(cur, sizeof(cur), "ftruncate of a %s from 0x%llx up to 0x%llx",
		 kind_names[p->kind], (unsigned long long)f->size,
		 (unsigned long long)nsize);
	/* Only ever up: shrinking a mapped file is a documented limitation. */
	ret = ftruncate(p->fd, nsize) ? -errno : 0;
	judge(C_GROW, ret, &e);
	if (ret)
		return;
	/* The new bytes get the pattern too; earlier ones are rewritten equal. */
	ret = fill_pattern(p->fd, f->size & ~(uint64_t)(PS - 1),
			   nsize & ~7ULL, f->seed);
	if (ret)
		fail("%s: filling the new part: %s", cur, ename(-ret));
	f->size = nsize;
}

static void op_seal(void)
{
	static const uint32_t seals[] = {
		F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_FUTURE_WRITE, F_SEAL_GROW,
	};
	struct fz_fd *p = &pool[rn(POOL_N)];
	struct fz_file *f;
	struct expect e;
	uint32_t s = seals[rn(ARRAY_SIZE(seals))];
	int ret;

	if (p->fd < 0 || p->file < 0 || !p->wr || p->opath ||
	    p->kind == K_REOPEN_WO)
		return;
	f = &S->files[p->file];
	if (!f->sealable || (f->seals & s))
		return;
	exp_init(&e, C_SEAL);
	es_add(&e.doc, EBUSY);
	if (s == F_SEAL_WRITE && fid_mapped_rw(f->fid)) {
		/* "F_SEAL_WRITE fails with EBUSY while it exists" */
		exp_must(&e, EBUSY);
	} else if (s == F_SEAL_WRITE) {
		/* Pinned pages too (memfd_wait_for_pins): not an error here. */
		es_add(&e.may, EBUSY);
	}
	snprintf(cur, sizeof(cur), "F_ADD_SEALS 0x%x on a %s%s", s,
		 kind_names[p->kind],
		 fid_mapped_rw(f->fid) ? " mapped read-write" : "");
	ret = fcntl(p->fd, F_ADD_SEALS, s) ? -errno : 0;
	judge(C_SEAL, ret, &e);
	if (!ret)
		f->seals |= s;
	else if (ret == -EBUSY && !fid_mapped_rw(f->fid))
		note("F_SEAL_WRITE EBUSY on a memfd with no read-write mapping");
}

static void op_node(void)
{
	struct expect e;
	int i, k, fd;
	off_t end;

	for (i = 0; i < MAX_NODES; i++)
		if (nodes[i].fd < 0)
			break;
	exp_init(&e, C_NODE);
	if (i == MAX_NODES || chance(30)) {
		i = rn(MAX_NODES);
		if (nodes[i].fd < 0)
			return;
		snprintf(cur, sizeof(cur), "close of a node fd of window %s",
			 S->win[nodes[i].win].name);
		judge(C_NODE, close(nodes[i].fd) ? -errno : 0, &e);
		nodes[i].fd = -1;
		S->win[nodes[i].win].nnodes--;
		win_gc(nodes[i].win);
		return;
	}
	k = pick_win(1 << W_LIVE, false);
	if (k < 0)
		return;
	snprintf(cur, sizeof(cur), "open + lseek(SEEK_END) of window node %s",
		 S->win[k].name);
	fd = open_node(S->win[k].name, chance(50) ? O_RDWR : O_RDONLY, true);
	if (fd >= 0) {
		end = lseek(fd, 0, SEEK_END);
		if (end != (off_t)S->win[k].size)
			fail("%s: lseek(SEEK_END) = %lld, size 0x%llx", cur,
			     (long long)end,
			     (unsigned long long)S->win[k].size);
	}
	judge(C_NODE, fd < 0 ? fd : 0, &e);
	if (fd < 0)
		return;
	nodes[i].fd = fd;
	nodes[i].win = k;
	S->win[k].nnodes++;
}

/* ------------------------------------------------------------------ */
/* The operation mix                                                   */
/* ------------------------------------------------------------------ */

struct op {
	void (*fn)(void);
	unsigned int weight;
	bool child_ok;		/* a forked child may do it */
};

static void op_unknown_cmd(void)
{
	op_unknown(false);
}

static void op_badsize(void)
{
	op_unknown(true);
}

static void op_fork(void);

static const struct op ops[] = {
	{ op_create, 9, false },
	{ op_attach, 4, false },
	{ op_destroy, 3, false },
	{ op_get_info, 5, true },
	{ op_map, 26, true },
	{ op_unmap, 12, true },
	{ op_reset, 2, true },
	{ op_unknown_cmd, 4, true },
	{ op_badsize, 3, true },
	{ op_badptr, 2, true },
	{ op_mmap, 7, false },
	{ op_vma, 4, false },
	{ op_touch, 10, true },
	{ op_close, 3, false },
	{ op_pool, 4, false },
	{ op_grow, 2, false },
	{ op_seal, 2, false },
	{ op_node, 2, false },
	{ op_fork, 1, false },
};

static void one_op(bool child)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!child || ops[i].child_ok)
			total += ops[i].weight;
	r = rn(total);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (child && !ops[i].child_ok)
			continue;
		if (r < ops[i].weight) {
			ops[i].fn();
			return;
		}
		r -= ops[i].weight;
	}
}

/*
 * A child does a few operations in the same windows, through the fds and
 * mmaps it inherited (MAP and UNMAP reach the parent's VMAs too), then
 * exits; the parent waits, so the model stays exact.
 */
static void op_fork(void)
{
	uint64_t cseed = rnd();
	struct expect e;
	pid_t pid;
	int st, n = 3 + rn(10), i;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail("fork: %s", ename(errno));
		return;
	}
	if (pid == 0) {
		in_child = true;
		rng = cseed;
		/* Now, before any fd number is picked as "just closed". */
		rings_init();
		for (i = 0; i < n && !S->failed; i++)
			one_op(true);
		fflush(stdout);
		_exit(S->failed ? 1 : 0);
	}
	exp_init(&e, C_FORK);
	snprintf(cur, sizeof(cur), "fork child of %d ops", n);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		fail("forked child died: %s",
		     WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "?");
		return;
	}
	if (WEXITSTATUS(st) && !S->failed)
		fail("forked child exited with %d", WEXITSTATUS(st));
	judge(C_FORK, 0, &e);
}

/* ------------------------------------------------------------------ */
/* Setup, cleanup, main                                                */
/* ------------------------------------------------------------------ */

/* Windows "fz<pid>-..." whose process is gone: left by a killed run. */
static void destroy_stale(bool all_ours)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct vushm_window_ref r;
		char *end;
		long pid;

		if (strncmp(de->d_name, "fz", 2))
			continue;
		pid = strtol(de->d_name + 2, &end, 10);
		if (*end != '-' || pid <= 0)
			continue;
		if (all_ours ? pid != getpid() :
		    (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		vt_ref_args(&r, de->d_name);
		vt_ioctl(ctl, VUSHM_DESTROY, &r);
	}
	closedir(d);
}

static int count_ours(void)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static void cleanup(void)
{
	int i, k;

	while (nmm) {
		munmap(mm[nmm - 1].addr, mm[nmm - 1].len);
		mm_remove(nmm - 1);
	}
	for (i = 0; i < MAX_NODES; i++)
		if (nodes[i].fd >= 0)
			close(nodes[i].fd);
	for (k = 0; k < MAX_WIN; k++) {
		struct fz_win *w = &S->win[k];
		struct vushm_window_ref r;

		if (w->state == W_LIVE) {
			vt_ref_args(&r, w->name);
			if (vt_ioctl(ctl, VUSHM_DESTROY, &r) && !S->failed)
				fail("cleanup: DESTROY of %s failed", w->name);
		}
		if (w->cfd[0] >= 0)
			close(w->cfd[0]);
		if (w->cfd[1] >= 0)
			close(w->cfd[1]);
	}
	/* Names the model lost track of (after a failure). */
	destroy_stale(true);
	for (i = 0; i < POOL_N; i++)
		pool_close(&pool[i]);
	if (rings_pid == getpid()) {
		if (rings_ok)
			io_uring_queue_exit(&ring128);
		if (ring64_ok)
			io_uring_queue_exit(&ring64);
	}
}

static volatile sig_atomic_t watchdog_fired;

static void watchdog(int sig)
{
	char buf[256];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "# FAIL seed %llu iteration %llu: no progress (hang?) in: %.150s\nnot ok 1 uapi_fuzz: hang at iteration %llu (seed %llu)\n",
		     (unsigned long long)seed, (unsigned long long)S->iter,
		     cur, (unsigned long long)S->iter,
		     (unsigned long long)seed);
	if (write(1, buf, n) < 0)
		_exit(1);
	_exit(1);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seed N] [--time SECONDS] [--ops N] [-v]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint64_t max_ops = 0, t_end, start;
	unsigned int secs = 30;
	bool have_seed = false;
	struct sigaction sa;
	char counts[1024];
	size_t l = 0;
	int c, i;

	if (getenv("VUSHM_FUZZ_SEED")) {
		seed = strtoull(getenv("VUSHM_FUZZ_SEED"), NULL, 0);
		have_seed = true;
	}
	if (getenv("VUSHM_FUZZ_TIME"))
		secs = strtoul(getenv("VUSHM_FUZZ_TIME"), NULL, 0);
	if (getenv("VUSHM_FUZZ_OPS"))
		max_ops = strtoull(getenv("VUSHM_FUZZ_OPS"), NULL, 0);
	while ((c = getopt_long(argc, argv, "s:t:o:vh", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 't':
			secs = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			max_ops = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		       (vt_now_ns() & 0xffffff);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..1\n# seed %llu\n",
	       (unsigned long long)seed);
	printf("# reproduce: %s --seed %llu%s\n", argv[0],
	       (unsigned long long)seed, max_ops ? " --ops N" : " --time T");
	if (geteuid() != 0 || access(VT_CONTROL_PATH, F_OK)) {
		printf("ok 1 # SKIP uapi_fuzz: needs root and vushm.ko (%s)\n",
		       VT_CONTROL_PATH);
		return 4;
	}
	rng = seed;

	S = mmap(NULL, sizeof(*S), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	badpage = mmap(NULL, 2 * PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (S == MAP_FAILED || badpage == MAP_FAILED ||
	    mprotect(badpage + PS, PS, PROT_NONE)) {
		printf("not ok 1 uapi_fuzz: setup: %s\n", strerror(errno));
		return 1;
	}
	memset(S, 0, sizeof(*S));
	for (i = 0; i < MAX_WIN; i++)
		S->win[i].cfd[0] = S->win[i].cfd[1] = -1;
	for (i = 0; i < MAX_NODES; i++)
		nodes[i].fd = -1;
	snprintf(prefix, sizeof(prefix), "fz%d-", (int)getpid());

	ctl = vt_open_control();
	if (ctl < 0 || vt_get_info(ctl, &ginfo)) {
		printf("not ok 1 uapi_fuzz: control node: %s\n",
		       ename(ctl < 0 ? -ctl : errno));
		return 1;
	}
	printf("# api %u, page %u, features 0x%llx, max_window_size 0x%llx, max_windows %u, max_mappings %u, max_total_mappings %u, max_mapped_bytes %llu\n",
	       ginfo.api_version, ginfo.page_size,
	       (unsigned long long)ginfo.features,
	       (unsigned long long)ginfo.max_window_size, ginfo.max_windows,
	       ginfo.max_mappings, ginfo.max_total_mappings,
	       (unsigned long long)ginfo.max_mapped_bytes);
	destroy_stale(false);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vt_fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);

	rings_init();
	/* Empty first: a reopen picks among the entries made so far. */
	for (i = 0; i < POOL_N; i++)
		pool[i].fd = pool[i].fd2 = pool[i].file = -1;
	for (i = 0; i < POOL_N; i++)
		pool_fill(&pool[i], i < 6 ? K_MEMFD : rand_kind());

	start = vt_now_ns();
	t_end = start + (uint64_t)secs * 1000000000ULL;
	for (S->iter = 0; !S->failed; S->iter++) {
		if (max_ops ? S->iter >= max_ops :
		    vt_now_ns() >= t_end)
			break;
		/* A call that takes a minute under TCG is a hang. */
		alarm(120);
		one_op(false);
	}
	alarm(0);
	cleanup();
	if (!S->failed && count_ours())
		fail("windows named %s* left after cleanup", prefix);

	for (i = 0; i < C_NR && l < sizeof(counts) - 64; i++)
		if (S->cnt[i])
			l += snprintf(counts + l, sizeof(counts) - l, "%s%s %llu/%llu",
				      l ? ", " : "", cmds[i].name,
				      (unsigned long long)S->ok[i],
				      (unsigned long long)S->cnt[i]);
	printf("# %llu iterations in %.1f s; %llu calls via ioctl, %llu via uring_cmd; %llu window pages checked; %llu notes\n",
	       (unsigned long long)S->iter,
	       (vt_now_ns() - start) / 1e9, (unsigned long long)S->ioctl_ops,
	       (unsigned long long)S->uring_ops,
	       (unsigned long long)S->data_pages,
	       (unsigned long long)S->notes);
	printf("# per command (successes/calls): %s\n", counts);
	if (S->failed) {
		printf("not ok 1 uapi_fuzz: seed %llu: %s\n",
		       (unsigned long long)seed, S->msg);
		printf("# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0\n");
		return 1;
	}
	printf("ok 1 uapi_fuzz: %llu ops, %llu successes, seed %llu; %s\n",
	       (unsigned long long)S->ops, (unsigned long long)S->succ,
	       (unsigned long long)seed, counts);
	printf("# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
	return 0;
}
