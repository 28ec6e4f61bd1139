// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_soak: a seeded, bounded soak of vushm windows with random
 * interleavings of every window operation and invariants checked all the
 * time.  Run it as root with vushm.ko loaded:
 *
 *   vushm_soak [--seed N] [--time SECONDS] [-v] [--no-hostile-truncate]
 *
 * Actors
 *   - The controlling thread owns 2-3 windows (16-64 MiB; one
 *     VUSHM_HOLE_ZERO, one VUSHM_HOLE_SIGBUS, maybe a third, EPHEMERAL one
 *     of either policy), a handful of memfds and an io_uring.  It does
 *     random operations, every decision drawn from one PRNG seeded with
 *     --seed: MAP (ioctl, uring_cmd, batches of uring_cmds), UNMAP (exact,
 *     partial, of nothing), RESET, stores through read-write mappings,
 *     backend pwrite()s, stores that must fault, munmap + mmap / mremap of
 *     its window VMA, DESTROY + re-create, controller close + ATTACH
 *     (ephemeral: close = destroy), fork of a child that checks the window,
 *     and hostile but safe backend actions: growing a memfd, adding seals,
 *     closing a memfd that is mapped.
 *   - Two reader threads and a reader process (forked before any window
 *     exists, so it inherits nothing) mmap the window nodes themselves
 *     (O_RDONLY, PROT_READ) and read random pages all the time, following
 *     windows across destroy and re-create, and now and then dropping and
 *     re-making their own VMAs.
 *
 * Data: every byte any memfd ever holds is a pattern word
 *   magic(16) | memfd id(8) | generation(8) | file page(20) | word(12)
 * where magic comes from the seed.  A store (through the window or with
 * pwrite) rewrites a whole page with the next generation, so any word a
 * reader sees identifies the memfd and page it came from, wherever that
 * page is mapped, without the reader knowing the current mappings.
 *
 * Invariants
 *   Readers: every 8-byte word read through a window is a pattern word of a
 *   memfd that exists, at its own position in the page, of a page below the
 *   memfd's largest size; or 0 on a ZERO window, or on a SIGBUS window
 *   that was destroyed (destroyed windows serve zeros).  SIGBUS is allowed
 *   on SIGBUS windows only.  Anything else is freed or foreign memory.
 *   Controller, after every operation, on the pages it touched and on
 *   random ones, against its model (which window page maps which memfd page,
 *   RO or RW, and every page's generation): a mapped page reads exactly the
 *   model's bytes, and pread() of the memfd agrees; a hole reads zeros
 *   (ZERO) or raises SIGBUS (SIGBUS); a destroyed window reads zeros; a
 *   store to a read-only mapping raises SIGBUS (SIGSEGV through a PROT_READ
 *   VMA) and changes nothing; every command returns what the documentation
 *   says (MAP: ERANGE, EACCES, ENXIO, EPERM, EEXIST; UNMAP of anything but
 *   a live mapping: ENOENT; commands on a destroyed window's controller:
 *   ENODEV; ATTACH: EBUSY, ENOENT); F_SEAL_WRITE fails with EBUSY while a
 *   read-write mapping of the memfd exists; the last close of the
 *   controller removes every mapping (and destroys an ephemeral window);
 *   GET_INFO's nr_mappings and mapped_bytes match the model.
 *   At the end: no BUG/WARNING in the kernel log, Shmem back within 1 MiB
 *   of its value before set-up, as many fds open as at the start.
 *
 * The first violation stops everything; the result is one KTAP line,
 * "ok 1 soak: ..." or "not ok 1 soak: seed S: op #N (op): what, where,
 * expected, got", preceded by the last operations.  The seed is printed at
 * start ("# seed N"); the controller's decisions depend only on it, so
 *   vushm_soak --seed N -v
 * replays the same operations (the readers' timing differs; their own
 * randomness comes from the seed and their number).
 *
 * --inject model|foreign (checker self-test; the run must end "not ok"):
 * from op 100 on, "model" bumps the model's generation of a mapped page
 * without writing it (the controller must notice), "foreign" stores a word
 * of another magic into a read-write mapped page behind the model's back
 * and leaves the readers 5 s to find it.
 *
 * The hostile backend also shrinks memfds and punches holes in them while
 * they are mapped (--no-hostile-truncate turns that off).  The window keeps
 * the pages it mapped until UNMAP (the module holds them): every mapping of
 * such a memfd must go on reading exactly what the model says, the kernel
 * log stays clean.  A truncated memfd is not mapped again.
 */
#define VT_URING
#include "vushm_test.h"

#include <getopt.h>
#include <sys/prctl.h>
#include <linux/falloc.h>

/* The harness comes with vushm_test.h; this program has its own main(). */
static int (*const unused_harness_run)(int, char **) __attribute__((unused)) =
	test_harness_run;

#define NSLOTS_MAX	3
#define NREADERS	3		/* reader threads 0, 1; reader process 2 */
#define MAX_IDS		250		/* memfd ids 1..249 fit the 8-bit field */
#define MIN_OPEN	3		/* memfds open at once */
#define MAX_MAPS	96		/* mappings per window in the model */
#define MEMFD_MAX	(32 * MiB)	/* a memfd never grows beyond */
#define OPLOG		32		/* operations shown with a failure */
#define RING_ENTRIES	16
#define BATCH_MAX	8

/* ------------------------------------------------------------------ */
/* Shared with the readers (threads and process)                      */
/* ------------------------------------------------------------------ */

/* Where a reader finds a window; a seqcount, odd while it changes. */
struct pub_slot {
	uint32_t seq;		/* 0: none yet; odd: being destroyed/re-made */
	uint32_t policy;
	uint64_t size;
	char name[VUSHM_NAME_MAX];
};

struct reader_stats {
	uint64_t pages, sigbus, zero_pages, remaps;
};

/*
 * Ranges the controller just mapped, unmapped or wrote: readers go there
 * half the time, where races are.  Only a hint: no check depends on it.
 */
#define NHINTS		8
struct hint {
	uint64_t pg, npg;
};

struct shared {
	int stop;
	int failed;		/* the first violation claims it */
	int msg_ready;
	int nslots;
	uint64_t op;		/* the controller's current operation */
	uint64_t npages[MAX_IDS];	/* largest size ever, per memfd id */
	struct pub_slot slot[NSLOTS_MAX];
	struct hint hint[NSLOTS_MAX][NHINTS];
	uint32_t hint_n[NSLOTS_MAX];
	struct reader_stats rst[NREADERS];
	char msg[1024];
};

static struct shared *sh;
static uint16_t pat_magic;
static size_t wpp;		/* 64-bit words per page */

/* splitmix64: small, fast, and the same sequence for the same seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t pat_word(unsigned int id, unsigned int gen,
				uint64_t fpage, uint64_t widx)
{
	return (uint64_t)pat_magic << 48 | (uint64_t)(id & 0xff) << 40 |
	       (uint64_t)(gen & 0xff) << 32 | (fpage & 0xfffff) << 12 |
	       (widx & 0xfff);
}

static void make_page(uint64_t *buf, unsigned int id, unsigned int gen,
		      uint64_t fpage)
{
	size_t i;

	for (i = 0; i < wpp; i++)
		buf[i] = pat_word(id, gen, fpage, i);
}

/* Can a reader have seen @v at word @widx of a page without a bug? */
static bool pat_valid(uint64_t v, uint64_t widx)
{
	unsigned int id = (v >> 40) & 0xff;
	uint64_t fpage = (v >> 12) & 0xfffff;

	if ((v >> 48) != pat_magic || (v & 0xfff) != widx)
		return false;
	if (!id || id >= MAX_IDS)
		return false;
	return fpage < __atomic_load_n(&sh->npages[id], __ATOMIC_ACQUIRE);
}

static void report_violation(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Record the first violation (of any actor) and stop everyone. */
static void report_violation(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&sh->failed, 1, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
	va_end(ap);
	__atomic_store_n(&sh->msg_ready, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------ */
/* Guarded accesses                                                    */
/* ------------------------------------------------------------------ */

/*
 * One handler for the whole run, installed once: vt_access() in the header
 * installs and restores handlers around each access, which races between
 * threads.  The jump buffer is per thread (vt_jmp), so each thread guards
 * its own accesses; an unguarded fault still kills the process.
 */
static void install_fault_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vt_fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* Kept out of line so that nothing the caller uses after a longjmp changes. */
static __attribute__((noinline)) void load_words(uint64_t *dst,
						 const volatile uint64_t *src,
						 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i];
}

static __attribute__((noinline)) void store_words(volatile uint64_t *dst,
						  const uint64_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i];
}

/* Read @n words at @p into @buf: 0, or the signal the read raised. */
static int guarded_read(const void *p, uint64_t *buf, size_t n)
{
	int sig = sigsetjmp(vt_jmp, 0);

	if (sig == 0) {
		vt_jmp_armed = 1;
		load_words(buf, p, n);
		vt_jmp_armed = 0;
	}
	return sig;
}

static int guarded_write(void *p, const uint64_t *buf, size_t n)
{
	int sig = sigsetjmp(vt_jmp, 0);

	if (sig == 0) {
		vt_jmp_armed = 1;
		store_words(p, buf, n);
		vt_jmp_armed = 0;
	}
	return sig;
}

static const char *sig_name(int sig)
{
	return sig == 0 ? "no signal" : sig == SIGBUS ? "SIGBUS" :
	       sig == SIGSEGV ? "SIGSEGV" : "another signal";
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

struct rview {
	char *p;
	uint64_t size;
	uint32_t seq;
	uint32_t policy;
};

static const char *policy_name(uint32_t policy)
{
	return policy == VUSHM_HOLE_SIGBUS ? "SIGBUS" : "ZERO";
}

/* Follow the window of slot @s: a new VMA of each new incarnation. */
static void reader_refresh(int s, struct rview *v)
{
	struct pub_slot *ps = &sh->slot[s];
	uint32_t q = __atomic_load_n(&ps->seq, __ATOMIC_ACQUIRE), policy;
	char name[VUSHM_NAME_MAX], path[PATH_MAX];
	uint64_t size;
	void *p;
	int fd;

	if (!q || (q & 1) || q == v->seq)
		return;
	memcpy(name, ps->name, sizeof(name));
	size = ps->size;
	policy = ps->policy;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&ps->seq, __ATOMIC_RELAXED) != q)
		return;
	name[VUSHM_NAME_MAX - 1] = 0;
	if (v->p)
		munmap(v->p, v->size);
	v->p = NULL;
	/* No retry: a window destroyed meanwhile is simply looked up later. */
	vt_node_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	v->p = p;
	v->size = size;
	v->policy = policy;
	v->seq = q;
}

static void reader_loop(int rid, uint64_t rseed)
{
	struct reader_stats *st = &sh->rst[rid];
	struct rview v[NSLOTS_MAX];
	uint64_t r = rseed, *buf = malloc(PS);
	int s;

	memset(v, 0, sizeof(v));
	if (!buf)
		return;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		struct rview *vw;
		uint64_t pg;
		bool zero = true;
		size_t i;
		int sig;

		s = (int)(rng_next(&r) % (uint64_t)sh->nslots);
		vw = &v[s];
		reader_refresh(s, vw);
		if (!vw->p) {
			usleep(1000);
			continue;
		}
		/* Now and then a fresh VMA, to race with MAP's install. */
		if (rng_next(&r) % 256 == 0) {
			munmap(vw->p, vw->size);
			vw->p = NULL;
			vw->seq = 0;
			st->remaps++;
			continue;
		}
		pg = rng_next(&r) % (vw->size / PS);
		if (rng_next(&r) & 1) {
			struct hint h = sh->hint[s][rng_next(&r) % NHINTS];

			if (h.npg && h.pg + h.npg <= vw->size / PS)
				pg = h.pg + rng_next(&r) % h.npg;
		}
		sig = guarded_read(vw->p + pg * PS, buf, wpp);
		st->pages++;
		if (sig) {
			if (sig == SIGBUS && vw->policy == VUSHM_HOLE_SIGBUS) {
				st->sigbus++;
				continue;
			}
			report_violation("op #%llu: reader %d: slot %d (%s window) offset 0x%llx: %s on a read (expected data or zeros)",
					 (unsigned long long)__atomic_load_n(&sh->op, __ATOMIC_RELAXED),
					 rid, s, policy_name(vw->policy),
					 (unsigned long long)(pg * PS), sig_name(sig));
			break;
		}
		for (i = 0; i < wpp; i++) {
			uint64_t w = buf[i];

			if (w) {
				zero = false;
				if (pat_valid(w, i))
					continue;
				report_violation("op #%llu: reader %d: slot %d (%s window) offset 0x%llx: expected 0 or a pattern word (magic 0x%04x, word %zu), got 0x%016llx: freed or foreign memory",
						 (unsigned long long)__atomic_load_n(&sh->op, __ATOMIC_RELAXED),
						 rid, s, policy_name(vw->policy),
						 (unsigned long long)(pg * PS + i * 8),
						 pat_magic, i, (unsigned long long)w);
				goto out;
			}
		}
		if (zero) {
			st->zero_pages++;
			if (vw->policy == VUSHM_HOLE_SIGBUS) {
				/*
				 * Zeros on a SIGBUS window: only once it is
				 * destroyed, and the controller bumps seq
				 * before DESTROY (or an ephemeral close).
				 */
				__atomic_thread_fence(__ATOMIC_SEQ_CST);
				if (__atomic_load_n(&sh->slot[s].seq,
						    __ATOMIC_SEQ_CST) == vw->seq) {
					report_violation("op #%llu: reader %d: slot %d (SIGBUS window, not destroyed) offset 0x%llx: expected SIGBUS or data, got a page of zeros",
							 (unsigned long long)__atomic_load_n(&sh->op, __ATOMIC_RELAXED),
							 rid, s, (unsigned long long)(pg * PS));
					break;
				}
			}
		}
		/* Two vCPUs under TCG: leave the controller some time. */
		if ((st->pages & 31) == 0)
			usleep(200);
	}
out:
	for (s = 0; s < NSLOTS_MAX; s++)
		if (v[s].p)
			munmap(v[s].p, v[s].size);
	free(buf);
}

static uint64_t seed;

static void *reader_thread(void *arg)
{
	int rid = (int)(intptr_t)arg;

	reader_loop(rid, seed + 1 + rid);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The controller's model                                              */
/* ------------------------------------------------------------------ */

struct memfd_m {
	int fd;			/* -1: closed (or never made) */
	bool used;
	bool tainted;		/* truncated or punched while mapped */
	uint64_t npages;	/* current size */
	unsigned int seals;
	unsigned int nmaps, nrw;	/* live window mappings of it */
	uint8_t *gen;		/* per page: generation of its content */
};

struct mapping_m {
	bool live;
	bool rw;
	int id;
	uint64_t shm_pg, npg, fd_pg;
};

struct slot {
	char name[VUSHM_NAME_MAX];
	int cfd;
	uint64_t size, npages;
	uint32_t policy;
	bool ephemeral;
	char *vma;		/* the controller's VMA of the whole window */
	int prot;
	bool split;		/* vma is several VMAs (no mremap then) */
	struct mapping_m maps[MAX_MAPS];
	int16_t *pmap;		/* window page -> maps[] index, or -1 */
	int nmaps;
	unsigned int incarnation;
};

enum op {
	OP_MAP, OP_MAP_URING, OP_BATCH, OP_UNMAP, OP_RESET, OP_WRITE,
	OP_PWRITE, OP_WFAULT, OP_REMAP, OP_DESTROY, OP_CTLCLOSE, OP_FORK,
	OP_GROW, OP_SEAL, OP_CLOSE_MEMFD, OP_TRUNCATE, OP_SWEEP, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"map", "map_uring", "uring_batch", "unmap", "reset", "write",
	"pwrite", "wfault", "remap", "destroy", "ctl_close", "fork",
	"grow", "seal", "close_memfd", "truncate", "sweep",
};

static unsigned int op_weight[NR_OPS] = {
	[OP_MAP] = 20, [OP_MAP_URING] = 8, [OP_BATCH] = 5, [OP_UNMAP] = 16,
	[OP_RESET] = 2, [OP_WRITE] = 10, [OP_PWRITE] = 5, [OP_WFAULT] = 5,
	[OP_REMAP] = 4, [OP_DESTROY] = 1, [OP_CTLCLOSE] = 2, [OP_FORK] = 2,
	[OP_GROW] = 2, [OP_SEAL] = 2, [OP_CLOSE_MEMFD] = 2,
	[OP_TRUNCATE] = 2,	/* 0 with --no-hostile-truncate */
	[OP_SWEEP] = 1,
};

static uint64_t rng;
static unsigned int run_time = 120;
static bool verbose, hostile = true;
static const char *inject;
static uint64_t op_idx, op_count[NR_OPS], batch_cmds, uring_cmds;
static const char *op_name = "set-up";
static int ctl = -1;
static struct io_uring ring;
static bool ring_ok;
static int nslots;
static struct slot slots[NSLOTS_MAX];
static struct memfd_m mfs[MAX_IDS];
static int next_id = 1;
static uint64_t *cbuf, *ebuf, *fbuf;	/* page buffers */
static char oplog[OPLOG][224];
static unsigned int oplog_n;

static uint64_t rnd(uint64_t n)
{
	return n ? rng_next(&rng) % n : 0;
}

static void logop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Remember the operation for a failure report; print it with -v. */
static void logop(const char *fmt, ...)
{
	char *l = oplog[oplog_n++ % OPLOG];
	va_list ap;
	int n;

	n = snprintf(l, sizeof(oplog[0]), "op #%llu %s: ",
		     (unsigned long long)op_idx, op_name);
	va_start(ap, fmt);
	vsnprintf(l + n, sizeof(oplog[0]) - n, fmt, ap);
	va_end(ap);
	if (verbose)
		printf("# %s\n", l);
}

static bool failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Report a violation seen by the controller; always returns false. */
static bool failf(const char *fmt, ...)
{
	char m[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	report_violation("op #%llu (%s): %s", (unsigned long long)op_idx,
			 op_name, m);
	return false;
}

static const char *err_name(int e)
{
	static char buf[4][32];
	static int n;
	char *b = buf[n++ % 4];

	if (e >= 0) {
		snprintf(b, 32, "%d", e);
		return b;
	}
	snprintf(b, 32, "-%s", strerrorname_np(-e) ? strerrorname_np(-e) : "?");
	return b;
}

/* ---- memfds ---- */

/* Write pages [first, first + n) of memfd @id as the model says. */
static int fill_file(int id, uint64_t first, uint64_t n)
{
	struct memfd_m *mf = &mfs[id];
	size_t chunk = 64, k;
	uint64_t *buf = malloc(chunk * PS);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (n) {
		size_t c = n < chunk ? n : chunk;

		for (k = 0; k < c; k++)
			make_page(buf + k * wpp, id, mf->gen[first + k],
				  first + k);
		if (pwrite(mf->fd, buf, c * PS, (off_t)(first * PS)) !=
		    (ssize_t)(c * PS)) {
			ret = -errno ? -errno : -EIO;
			break;
		}
		first += c;
		n -= c;
	}
	free(buf);
	return ret;
}

static void publish_npages(int id, uint64_t npages)
{
	if (npages > __atomic_load_n(&sh->npages[id], __ATOMIC_RELAXED))
		__atomic_store_n(&sh->npages[id], npages, __ATOMIC_RELEASE);
}

static void add_hint(int s, uint64_t pg, uint64_t npg)
{
	struct hint *h = &sh->hint[s][sh->hint_n[s]++ % NHINTS];

	__atomic_store_n(&h->npg, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&h->pg, pg, __ATOMIC_RELAXED);
	__atomic_store_n(&h->npg, npg, __ATOMIC_RELAXED);
}

/* A new memfd with a new id, 4-16 MiB of pattern; its id or -1. */
static int memfd_new(void)
{
	struct memfd_m *mf;
	int id, fd;

	if (next_id >= MAX_IDS)
		return -1;
	id = next_id++;
	mf = &mfs[id];
	fd = vt_memfd(0, 0, MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	memset(mf, 0, sizeof(*mf));
	mf->used = true;
	mf->fd = fd;
	mf->npages = (4 + rnd(13)) * MiB / PS;
	mf->gen = calloc(MEMFD_MAX / PS, 1);
	if (!mf->gen)
		return -1;
	publish_npages(id, mf->npages);
	if (fill_file(id, 0, mf->npages)) {
		close(fd);
		mf->fd = -1;
		return -1;
	}
	return id;
}

static int count_open_memfds(void)
{
	int id, n = 0;

	for (id = 1; id < next_id; id++)
		n += mfs[id].fd >= 0;
	return n;
}

/* A random open memfd (not tainted; @writable: no write seal), or -1. */
static int pick_memfd(bool writable)
{
	int cand[MAX_IDS], n = 0, id;

	for (id = 1; id < next_id; id++) {
		struct memfd_m *mf = &mfs[id];

		if (mf->fd < 0 || mf->tainted)
			continue;
		if (writable && (mf->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
			continue;
		cand[n++] = id;
	}
	return n ? cand[rnd(n)] : -1;
}

/* ---- windows ---- */

/* Readers: slot @s is changing (odd seq); idempotent. */
static void pub_begin(int s)
{
	if (!(__atomic_load_n(&sh->slot[s].seq, __ATOMIC_RELAXED) & 1))
		__atomic_add_fetch(&sh->slot[s].seq, 1, __ATOMIC_SEQ_CST);
}

static void pub_end(int s)
{
	struct pub_slot *ps = &sh->slot[s];

	memcpy(ps->name, slots[s].name, VUSHM_NAME_MAX);
	ps->size = slots[s].size;
	ps->policy = slots[s].policy;
	__atomic_add_fetch(&ps->seq, 1, __ATOMIC_SEQ_CST);
}

static bool slot_mmap(struct slot *sl, int prot)
{
	sl->vma = vt_mmap_node(sl->name, sl->size, 0, prot);
	if (sl->vma == MAP_FAILED) {
		sl->vma = NULL;
		return failf("mmap of window %s (%s): %s", sl->name,
			     prot & PROT_WRITE ? "RW" : "RO", strerror(errno));
	}
	sl->prot = prot;
	sl->split = false;
	return true;
}

/* A new incarnation of slot @s: a window with a new name, mmapped. */
static bool slot_create(int s)
{
	struct slot *sl = &slots[s];
	int i;

	pub_begin(s);
	sl->size = (16 + rnd(49)) * MiB;
	sl->npages = sl->size / PS;
	vt_make_name(sl->name, "soak");
	sl->cfd = vt_create(ctl, sl->name, sl->size, sl->policy,
			    sl->ephemeral ? VUSHM_CREATE_EPHEMERAL : 0);
	if (sl->cfd < 0)
		return failf("CREATE %s: %s", sl->name, err_name(sl->cfd));
	free(sl->pmap);
	sl->pmap = malloc(sl->npages * sizeof(*sl->pmap));
	if (!sl->pmap)
		return failf("out of memory");
	for (i = 0; i < (int)sl->npages; i++)
		sl->pmap[i] = -1;
	memset(sl->maps, 0, sizeof(sl->maps));
	sl->nmaps = 0;
	sl->incarnation++;
	if (!slot_mmap(sl, rnd(4) ? PROT_READ | PROT_WRITE : PROT_READ))
		return false;
	pub_end(s);
	logop("slot %d: window %s, %llu MiB, %s%s, VMA %s", s, sl->name,
	      (unsigned long long)(sl->size / MiB), policy_name(sl->policy),
	      sl->ephemeral ? ", ephemeral" : "",
	      sl->prot & PROT_WRITE ? "RW" : "RO");
	return true;
}

static int model_add(struct slot *sl, int id, uint64_t fd_pg,
		     uint64_t shm_pg, uint64_t npg, bool rw)
{
	struct mapping_m *m = NULL;
	uint64_t pg;
	int i;

	for (i = 0; i < MAX_MAPS; i++) {
		if (!sl->maps[i].live) {
			m = &sl->maps[i];
			break;
		}
	}
	if (!m)
		return -1;
	m->live = true;
	m->rw = rw;
	m->id = id;
	m->shm_pg = shm_pg;
	m->npg = npg;
	m->fd_pg = fd_pg;
	for (pg = shm_pg; pg < shm_pg + npg; pg++)
		sl->pmap[pg] = (int16_t)i;
	sl->nmaps++;
	mfs[id].nmaps++;
	mfs[id].nrw += rw;
	return i;
}

static void model_remove(struct slot *sl, int i)
{
	struct mapping_m *m = &sl->maps[i];
	uint64_t pg;

	for (pg = m->shm_pg; pg < m->shm_pg + m->npg; pg++)
		sl->pmap[pg] = -1;
	mfs[m->id].nmaps--;
	mfs[m->id].nrw -= m->rw;
	m->live = false;
	sl->nmaps--;
}

static void model_clear(struct slot *sl)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (sl->maps[i].live)
			model_remove(sl, i);
}

static uint64_t model_bytes(struct slot *sl)
{
	uint64_t b = 0;
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (sl->maps[i].live)
			b += sl->maps[i].npg * PS;
	return b;
}

/* A random live mapping of @sl (@rw: RW only; @ro: RO only), or -1. */
static int pick_mapping(struct slot *sl, bool rw, bool ro)
{
	int cand[MAX_MAPS], n = 0, i;

	for (i = 0; i < MAX_MAPS; i++) {
		struct mapping_m *m = &sl->maps[i];

		if (!m->live || (rw && !m->rw) || (ro && m->rw))
			continue;
		cand[n++] = i;
	}
	return n ? cand[rnd(n)] : -1;
}

static bool overlaps(struct slot *sl, uint64_t shm_pg, uint64_t npg)
{
	uint64_t pg, end = shm_pg + npg;

	if (end > sl->npages)
		end = sl->npages;
	for (pg = shm_pg; pg < end; pg++)
		if (sl->pmap[pg] >= 0)
			return true;
	return false;
}

/* ---- checks ---- */

/* Page @pg of @sl through the controller's VMA (and the memfd) vs the model. */
static bool check_page(struct slot *sl, uint64_t pg)
{
	int mi = sl->pmap[pg], sig;
	struct mapping_m *m;
	struct memfd_m *mf;
	uint64_t fpage;
	size_t i;

	if (!sl->vma)
		return true;
	sig = guarded_read(sl->vma + pg * PS, cbuf, wpp);
	if (mi < 0 || mi >= MAX_MAPS) {
		ssize_t nz;

		if (sl->policy == VUSHM_HOLE_SIGBUS) {
			if (sig != SIGBUS)
				return failf("window %s offset 0x%llx: hole of a SIGBUS window: expected SIGBUS, got %s (first word 0x%016llx)",
					     sl->name, (unsigned long long)(pg * PS),
					     sig_name(sig),
					     sig ? 0ULL : (unsigned long long)cbuf[0]);
			return true;
		}
		if (sig)
			return failf("window %s offset 0x%llx: hole of a ZERO window: expected zeros, got %s",
				     sl->name, (unsigned long long)(pg * PS),
				     sig_name(sig));
		nz = vt_first_nonzero(cbuf, PS);
		if (nz >= 0)
			return failf("window %s offset 0x%llx: hole of a ZERO window: expected 0, got 0x%016llx",
				     sl->name,
				     (unsigned long long)(pg * PS + (nz & ~7)),
				     (unsigned long long)cbuf[nz / 8]);
		return true;
	}
	m = &sl->maps[mi];
	mf = &mfs[m->id];
	fpage = m->fd_pg + pg - m->shm_pg;
	if (sig)
		return failf("window %s offset 0x%llx: mapped (memfd %d page %llu, %s): expected data, got %s",
			     sl->name, (unsigned long long)(pg * PS), m->id,
			     (unsigned long long)fpage, m->rw ? "RW" : "RO",
			     sig_name(sig));
	make_page(ebuf, m->id, mf->gen[fpage], fpage);
	for (i = 0; i < wpp; i++)
		if (cbuf[i] != ebuf[i])
			return failf("window %s offset 0x%llx: mapped (memfd %d page %llu gen %u, %s): expected 0x%016llx, got 0x%016llx",
				     sl->name, (unsigned long long)(pg * PS + i * 8),
				     m->id, (unsigned long long)fpage,
				     mf->gen[fpage], m->rw ? "RW" : "RO",
				     (unsigned long long)ebuf[i],
				     (unsigned long long)cbuf[i]);
	/*
	 * The memfd's own bytes: the window showed the file, not a copy.
	 * Not after the hostile backend cut pages out of the file: the window
	 * keeps those, the file reads zeros.
	 */
	if (mf->fd >= 0 && !mf->tainted) {
		if (pread(mf->fd, fbuf, PS, (off_t)(fpage * PS)) != (ssize_t)PS)
			return failf("pread memfd %d page %llu: %s", m->id,
				     (unsigned long long)fpage, strerror(errno));
		for (i = 0; i < wpp; i++)
			if (fbuf[i] != ebuf[i])
				return failf("memfd %d offset 0x%llx (mapped at %s offset 0x%llx): expected 0x%016llx, got 0x%016llx",
					     m->id,
					     (unsigned long long)(fpage * PS + i * 8),
					     sl->name, (unsigned long long)(pg * PS),
					     (unsigned long long)ebuf[i],
					     (unsigned long long)fbuf[i]);
	}
	return true;
}

/* The first, the last and some pages in between of [first, first + n). */
static bool check_range(struct slot *sl, uint64_t first, uint64_t n)
{
	uint64_t k;

	if (first >= sl->npages)
		return true;
	if (first + n > sl->npages)
		n = sl->npages - first;
	if (n <= 12) {
		for (k = 0; k < n; k++)
			if (!check_page(sl, first + k))
				return false;
		return true;
	}
	if (!check_page(sl, first) || !check_page(sl, first + n - 1))
		return false;
	for (k = 0; k < 10; k++)
		if (!check_page(sl, first + rnd(n)))
			return false;
	return true;
}

static bool check_info(struct slot *sl)
{
	struct vushm_info info;
	int ret;

	if (sl->cfd < 0)
		return true;
	ret = vt_get_info(sl->cfd, &info);
	if (ret)
		return failf("GET_INFO on %s: %s", sl->name, err_name(ret));
	if (info.nr_mappings != (unsigned int)sl->nmaps ||
	    info.mapped_bytes != model_bytes(sl) || info.size != sl->size ||
	    info.hole_policy != sl->policy)
		return failf("GET_INFO on %s: expected %d mappings, %llu bytes, size %llu, policy %u; got %u, %llu, %llu, %u",
			     sl->name, sl->nmaps,
			     (unsigned long long)model_bytes(sl),
			     (unsigned long long)sl->size, sl->policy,
			     info.nr_mappings,
			     (unsigned long long)info.mapped_bytes,
			     (unsigned long long)info.size, info.hole_policy);
	return true;
}

/* A few random pages and a few random mapped pages of every window. */
static bool check_sample(int per_slot)
{
	int s, k;

	for (s = 0; s < nslots; s++) {
		struct slot *sl = &slots[s];

		if (!check_info(sl))
			return false;
		for (k = 0; k < per_slot; k++) {
			int mi = pick_mapping(sl, false, false);

			if (!check_page(sl, rnd(sl->npages)))
				return false;
			if (mi >= 0 &&
			    !check_page(sl, sl->maps[mi].shm_pg +
					rnd(sl->maps[mi].npg)))
				return false;
		}
	}
	return true;
}

/* Every window page that maps pages [f0, f0 + n) of memfd @id. */
static bool check_file_pages(int id, uint64_t f0, uint64_t n)
{
	int s, i, done = 0;

	for (s = 0; s < nslots; s++) {
		struct slot *sl = &slots[s];

		for (i = 0; i < MAX_MAPS; i++) {
			struct mapping_m *m = &sl->maps[i];
			uint64_t a, b, f;

			if (!m->live || m->id != id)
				continue;
			a = f0 > m->fd_pg ? f0 : m->fd_pg;
			b = f0 + n < m->fd_pg + m->npg ? f0 + n : m->fd_pg + m->npg;
			for (f = a; f < b && done < 32; f++, done++)
				if (!check_page(sl, m->shm_pg + f - m->fd_pg))
					return false;
		}
	}
	return true;
}

/* A destroyed window's VMA: zeros everywhere, whatever the policy was. */
static bool check_dead(struct slot *sl, const uint64_t *pages, int n)
{
	int k, sig;

	for (k = 0; k < n + 16; k++) {
		uint64_t pg = k < n ? pages[k] : rnd(sl->npages);
		ssize_t nz;

		sig = guarded_read(sl->vma + pg * PS, cbuf, wpp);
		if (sig)
			return failf("destroyed window %s (%s) offset 0x%llx: expected zeros, got %s",
				     sl->name, policy_name(sl->policy),
				     (unsigned long long)(pg * PS), sig_name(sig));
		nz = vt_first_nonzero(cbuf, PS);
		if (nz >= 0)
			return failf("destroyed window %s offset 0x%llx: expected 0, got 0x%016llx",
				     sl->name,
				     (unsigned long long)(pg * PS + (nz & ~7)),
				     (unsigned long long)cbuf[nz / 8]);
	}
	return true;
}

/* Up to 16 pages of @sl that are mapped now (first pages of mappings). */
static int mapped_pages(struct slot *sl, uint64_t *pages)
{
	int i, n = 0;

	for (i = 0; i < MAX_MAPS && n < 16; i++)
		if (sl->maps[i].live)
			pages[n++] = sl->maps[i].shm_pg +
				     rnd(sl->maps[i].npg);
	return n;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

struct mreq {
	int id;
	int fd;			/* the fd passed (may be an O_RDONLY reopen) */
	bool rdonly_fd;
	uint64_t fd_pg, shm_pg, npg;
	bool rw;
};

static uint64_t pick_len(void)
{
	uint64_t r = rnd(100);

	/* Mostly small; some above VUSHM_KEEP_PAGES (512), the batched path. */
	if (r < 70)
		return 1 + rnd(64);
	if (r < 95)
		return 65 + rnd(448);
	return 513 + rnd(1536);
}

/*
 * A MAP request into @sl.  @want_free: only into pages free in the model
 * (and within bounds), for batches; else now and then one that overlaps,
 * runs past the window or past the file.
 */
static bool pick_map(struct slot *sl, struct mreq *r, bool want_free)
{
	struct memfd_m *mf;
	uint64_t pg, k = 0, roll = rnd(100);
	int id, t;

	if (sl->nmaps >= MAX_MAPS - BATCH_MAX)
		return false;
	id = pick_memfd(false);
	if (id < 0)
		return false;
	mf = &mfs[id];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->fd = mf->fd;
	r->npg = pick_len();
	for (t = 0; t < 8; t++) {
		r->shm_pg = rnd(sl->npages);
		if (sl->pmap[r->shm_pg] < 0)
			break;
	}
	if (t == 8 && want_free)
		return false;
	if (want_free || roll < 85) {
		/* Clip to the free run and the window. */
		for (pg = r->shm_pg; pg < sl->npages && k < r->npg &&
		     sl->pmap[pg] < 0; pg++)
			k++;
		if (!k)
			return false;
		r->npg = k;
	} else if (roll >= 97) {
		r->npg = sl->npages - r->shm_pg + 1 + rnd(8);	/* ERANGE */
	}
	if (r->npg > mf->npages)
		r->npg = mf->npages;
	r->fd_pg = rnd(mf->npages - r->npg + 1);
	if (!want_free && rnd(100) < 3)
		r->fd_pg = mf->npages - r->npg + 1 + rnd(4);	/* ENXIO */
	r->rw = rnd(2);
	return true;
}

/* What the documentation says MAP returns, in the module's check order. */
static int predict_map(struct slot *sl, const struct mreq *r)
{
	struct memfd_m *mf = &mfs[r->id];

	if (r->shm_pg + r->npg > sl->npages)
		return -ERANGE;
	if (r->rw && r->rdonly_fd)
		return -EACCES;
	if (r->fd_pg + r->npg > mf->npages)
		return -ENXIO;
	if (r->rw && (mf->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPERM;
	if (overlaps(sl, r->shm_pg, r->npg))
		return -EEXIST;
	return 0;
}

static void map_args(struct vushm_map *a, const struct mreq *r)
{
	vt_map_args(a, r->fd, r->fd_pg * PS, r->shm_pg * PS, r->npg * PS,
		    r->rw ? VUSHM_MAP_RW : 0);
}

static bool op_unmap(void);
static bool run_op(enum op op);
static enum op cur_op;

/* An operation that cannot apply now does another: count that one. */
static bool fall_to(enum op op)
{
	op_count[cur_op]--;
	op_count[op]++;
	cur_op = op;
	op_name = op_names[op];
	return run_op(op);
}

static bool op_map(bool uring)
{
	int s = (int)rnd(nslots), exp, ret, rdfd = -1;
	struct slot *sl = &slots[s];
	struct vushm_map a;
	struct mreq r;

	if (!pick_map(sl, &r, false))
		return fall_to(OP_UNMAP);
	/* Now and then through an O_RDONLY fd of the same file. */
	if (rnd(100) < 5) {
		rdfd = vt_reopen(r.fd, O_RDONLY);
		if (rdfd < 0)
			return failf("reopen memfd %d: %s", r.id, err_name(rdfd));
		r.fd = rdfd;
		r.rdonly_fd = true;
	}
	exp = predict_map(sl, &r);
	map_args(&a, &r);
	if (uring) {
		ret = vt_uring_cmd(&ring, sl->cfd, VUSHM_MAP, &a, sizeof(a));
		uring_cmds++;
	} else {
		ret = vt_ioctl(sl->cfd, VUSHM_MAP, &a);
	}
	if (rdfd >= 0)
		close(rdfd);
	logop("slot %d MAP shm 0x%llx len 0x%llx memfd %d off 0x%llx %s%s -> %s",
	      s, (unsigned long long)(r.shm_pg * PS),
	      (unsigned long long)(r.npg * PS), r.id,
	      (unsigned long long)(r.fd_pg * PS), r.rw ? "RW" : "RO",
	      r.rdonly_fd ? " (O_RDONLY fd)" : "", err_name(ret));
	if (ret != exp)
		return failf("MAP %s shm 0x%llx len 0x%llx memfd %d off 0x%llx %s%s: expected %s, got %s",
			     sl->name, (unsigned long long)(r.shm_pg * PS),
			     (unsigned long long)(r.npg * PS), r.id,
			     (unsigned long long)(r.fd_pg * PS),
			     r.rw ? "RW" : "RO",
			     r.rdonly_fd ? " (O_RDONLY fd)" : "",
			     err_name(exp), err_name(ret));
	if (!ret && model_add(sl, r.id, r.fd_pg, r.shm_pg, r.npg, r.rw) < 0)
		return failf("model full");
	add_hint(s, r.shm_pg, r.npg);
	return check_range(sl, r.shm_pg, r.npg);
}

/* Several MAPs and UNMAPs on disjoint ranges in one io_uring_enter(). */
static bool op_batch(void)
{
	struct {
		bool map;
		struct mreq r;
		int mi;
		int exp, res;
		bool seen;
		union {
			struct vushm_map m;
			struct vushm_unmap u;
		} a;
	} b[BATCH_MAX];
	int s = (int)rnd(nslots), k = 2 + (int)rnd(BATCH_MAX - 1), n = 0, i;
	bool taken[MAX_MAPS] = { false };
	struct slot *sl = &slots[s];
	struct io_uring_cqe *cqe;
	uint64_t pg;
	int ret;

	for (i = 0; i < k; i++) {
		bool map = rnd(100) < 60;
		int mi = map ? -1 : pick_mapping(sl, false, false);

		memset(&b[n], 0, sizeof(b[n]));
		if (!map && mi >= 0 && !taken[mi]) {
			struct mapping_m *m = &sl->maps[mi];

			taken[mi] = true;
			b[n].mi = mi;
			/* One in five: not quite the mapping, ENOENT. */
			if (m->npg > 1 && rnd(5) == 0) {
				vt_unmap_args(&b[n].a.u, m->shm_pg * PS,
					      (m->npg - 1) * PS);
				b[n].exp = -ENOENT;
				b[n].mi = -1;
			} else {
				vt_unmap_args(&b[n].a.u, m->shm_pg * PS,
					      m->npg * PS);
			}
			n++;
			continue;
		}
		if (!pick_map(sl, &b[n].r, true))
			continue;
		b[n].map = true;
		b[n].exp = predict_map(sl, &b[n].r);
		/* Reserve the range: later MAPs of the batch stay clear of it. */
		for (pg = b[n].r.shm_pg; pg < b[n].r.shm_pg + b[n].r.npg; pg++)
			sl->pmap[pg] = MAX_MAPS;
		map_args(&b[n].a.m, &b[n].r);
		n++;
	}
	for (i = 0; i < n; i++)
		if (b[i].map)
			for (pg = b[i].r.shm_pg; pg < b[i].r.shm_pg + b[i].r.npg;
			     pg++)
				sl->pmap[pg] = -1;
	if (!n)
		return true;
	for (i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (!sqe)
			return failf("no SQE");
		if (b[i].map)
			vt_prep_cmd(&ring, sqe, sl->cfd, VUSHM_MAP, &b[i].a.m,
				    sizeof(b[i].a.m), i);
		else
			vt_prep_cmd(&ring, sqe, sl->cfd, VUSHM_UNMAP,
				    &b[i].a.u, sizeof(b[i].a.u), i);
	}
	ret = io_uring_submit(&ring);
	if (ret != n)
		return failf("io_uring_submit of %d: %s", n, err_name(ret));
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			return failf("io_uring_wait_cqe: %s", err_name(ret));
		if (cqe->user_data >= (uint64_t)n || b[cqe->user_data].seen) {
			io_uring_cqe_seen(&ring, cqe);
			return failf("stray CQE user_data %llu",
				     (unsigned long long)cqe->user_data);
		}
		b[cqe->user_data].seen = true;
		b[cqe->user_data].res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	batch_cmds += n;
	uring_cmds += n;
	for (i = 0; i < n; i++) {
		uint64_t off = b[i].map ? b[i].a.m.shm_offset : b[i].a.u.shm_offset;
		uint64_t len = b[i].map ? b[i].a.m.len : b[i].a.u.len;

		logop("slot %d batch[%d/%d] %s shm 0x%llx len 0x%llx%s -> %s",
		      s, i, n, b[i].map ? "MAP" : "UNMAP",
		      (unsigned long long)off, (unsigned long long)len,
		      b[i].map ? (b[i].r.rw ? " RW" : " RO") : "",
		      err_name(b[i].res));
		if (b[i].res != b[i].exp)
			return failf("batched uring_cmd %d of %d: %s %s shm 0x%llx len 0x%llx: expected %s, got %s",
				     i, n, b[i].map ? "MAP" : "UNMAP", sl->name,
				     (unsigned long long)off,
				     (unsigned long long)len,
				     err_name(b[i].exp), err_name(b[i].res));
	}
	for (i = 0; i < n; i++) {
		if (b[i].res)
			continue;
		if (b[i].map) {
			if (model_add(sl, b[i].r.id, b[i].r.fd_pg, b[i].r.shm_pg,
				      b[i].r.npg, b[i].r.rw) < 0)
				return failf("model full");
		} else {
			model_remove(sl, b[i].mi);
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t off = b[i].map ? b[i].a.m.shm_offset : b[i].a.u.shm_offset;
		uint64_t len = b[i].map ? b[i].a.m.len : b[i].a.u.len;

		add_hint(s, off / PS, len / PS);
		if (!check_range(sl, off / PS, len / PS))
			return false;
	}
	return true;
}

static bool op_unmap(void)
{
	int s = (int)rnd(nslots), mi, exp = -ENOENT, ret;
	struct slot *sl = &slots[s];
	uint64_t off, len, roll = rnd(100);
	bool uring = rnd(100) < 30;
	const char *kind = "exact";

	mi = pick_mapping(sl, false, false);
	if (mi >= 0 && mi < MAX_MAPS && roll < 75) {
		off = sl->maps[mi].shm_pg * PS;
		len = sl->maps[mi].npg * PS;
		exp = 0;
	} else if (mi >= 0 && mi < MAX_MAPS && roll < 90) {
		struct mapping_m *m = &sl->maps[mi];

		/* Partial, shifted or too long: all ENOENT. */
		switch (rnd(3)) {
		case 0:
			kind = "too long";
			off = m->shm_pg * PS;
			len = (m->npg + 1) * PS;
			break;
		case 1:
			if (m->npg > 1) {
				kind = "shorter";
				off = m->shm_pg * PS;
				len = (m->npg - 1) * PS;
				break;
			}
			/* fall through */
		default:
			kind = "shifted";
			off = (m->shm_pg + 1) * PS;
			len = m->npg * PS;
			break;
		}
		mi = -1;
	} else {
		kind = "random";
		off = rnd(sl->npages) * PS;
		len = (1 + rnd(64)) * PS;
		mi = -1;
	}
	/* A "wrong" range may still be exactly another live mapping. */
	if (mi < 0 && off / PS < sl->npages && sl->pmap[off / PS] >= 0) {
		struct mapping_m *m = &sl->maps[sl->pmap[off / PS]];

		if (m->shm_pg * PS == off && m->npg * PS == len) {
			mi = sl->pmap[off / PS];
			exp = 0;
		}
	}
	if (uring) {
		struct vushm_unmap u;

		vt_unmap_args(&u, off, len);
		ret = vt_uring_cmd(&ring, sl->cfd, VUSHM_UNMAP, &u, sizeof(u));
		uring_cmds++;
	} else {
		ret = vt_unmap(sl->cfd, off, len);
	}
	logop("slot %d UNMAP (%s) shm 0x%llx len 0x%llx%s -> %s", s, kind,
	      (unsigned long long)off, (unsigned long long)len,
	      uring ? " (uring)" : "", err_name(ret));
	if (ret != exp)
		return failf("UNMAP (%s) %s shm 0x%llx len 0x%llx: expected %s, got %s",
			     kind, sl->name, (unsigned long long)off,
			     (unsigned long long)len, err_name(exp),
			     err_name(ret));
	if (!ret) {
		model_remove(sl, mi);
		add_hint(s, off / PS, len / PS);
	}
	return check_range(sl, off / PS, len / PS + 1);
}

static bool op_reset(void)
{
	int s = (int)rnd(nslots), ret;
	struct slot *sl = &slots[s];
	uint64_t pages[16];
	int n = mapped_pages(sl, pages), k;
	bool uring = rnd(2);

	if (uring) {
		ret = vt_uring_cmd(&ring, sl->cfd, VUSHM_RESET, NULL, 0);
		uring_cmds++;
	} else {
		ret = vt_reset(sl->cfd);
	}
	logop("slot %d RESET (%d mappings)%s -> %s", s, sl->nmaps,
	      uring ? " (uring)" : "", err_name(ret));
	if (ret)
		return failf("RESET %s: expected 0, got %s", sl->name,
			     err_name(ret));
	model_clear(sl);
	for (k = 0; k < n; k++)
		if (!check_page(sl, pages[k]))
			return false;
	return true;
}

/* Store a new generation of whole pages through a RW mapping. */
static bool op_write(void)
{
	int s = (int)rnd(nslots), mi, sig;
	struct slot *sl = &slots[s];
	struct mapping_m *m;
	struct memfd_m *mf;
	uint64_t pg, n, k;

	if (!(sl->prot & PROT_WRITE))
		return fall_to(OP_MAP);
	mi = pick_mapping(sl, true, false);
	if (mi < 0)
		return fall_to(OP_MAP);
	m = &sl->maps[mi];
	mf = &mfs[m->id];
	pg = m->shm_pg + rnd(m->npg);
	n = rnd(10) ? 1 : 1 + rnd(16);
	if (pg + n > m->shm_pg + m->npg)
		n = m->shm_pg + m->npg - pg;
	for (k = 0; k < n; k++) {
		uint64_t fpage = m->fd_pg + pg + k - m->shm_pg;

		mf->gen[fpage]++;
		make_page(ebuf, m->id, mf->gen[fpage], fpage);
		sig = guarded_write(sl->vma + (pg + k) * PS, ebuf, wpp);
		if (sig)
			return failf("store to %s offset 0x%llx (RW mapping of memfd %d page %llu, RW VMA): expected no signal, got %s",
				     sl->name, (unsigned long long)((pg + k) * PS),
				     m->id, (unsigned long long)fpage,
				     sig_name(sig));
	}
	add_hint(s, pg, n);
	logop("slot %d WRITE shm 0x%llx %llu page(s) (memfd %d page %llu)", s,
	      (unsigned long long)(pg * PS), (unsigned long long)n, m->id,
	      (unsigned long long)(m->fd_pg + pg - m->shm_pg));
	/* The memfd and every other place that maps those pages see it. */
	return check_file_pages(m->id, m->fd_pg + pg - m->shm_pg, n);
}

/* The backend writes its memfd: the window shows it. */
static bool op_pwrite(void)
{
	int id = pick_memfd(false);
	struct memfd_m *mf;
	uint64_t f, n, k;
	ssize_t w;

	if (id < 0)
		return true;
	mf = &mfs[id];
	n = 1 + rnd(8);
	f = rnd(mf->npages - n + 1);
	if (mf->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		make_page(ebuf, id, mf->gen[f] + 1, f);
		w = pwrite(mf->fd, ebuf, PS, (off_t)(f * PS));
		logop("PWRITE memfd %d page %llu (sealed) -> %zd", id,
		      (unsigned long long)f, w);
		if (w >= 0 || errno != EPERM)
			return failf("pwrite to write-sealed memfd %d: expected EPERM, got %zd (%s)",
				     id, w, strerror(errno));
		return check_file_pages(id, f, 1);
	}
	for (k = 0; k < n; k++)
		mf->gen[f + k]++;
	if (fill_file(id, f, n))
		return failf("pwrite memfd %d pages %llu+%llu: %s", id,
			     (unsigned long long)f, (unsigned long long)n,
			     strerror(errno));
	logop("PWRITE memfd %d pages %llu+%llu (%u window mappings)", id,
	      (unsigned long long)f, (unsigned long long)n, mf->nmaps);
	return check_file_pages(id, f, n);
}

/* A store that must fault: RO mapping, PROT_READ VMA, SIGBUS hole. */
static bool op_wfault(void)
{
	int t, s, mi = -1, sig, exp;
	struct slot *sl = NULL;
	uint64_t pg = 0, widx, val;
	const char *what = NULL;

	for (t = 0; t < 8 && !what; t++) {
		s = (int)rnd(nslots);
		sl = &slots[s];
		switch (rnd(3)) {
		case 0:
			mi = pick_mapping(sl, false, true);
			if (mi >= 0)
				what = "RO mapping";
			break;
		case 1:
			if (!(sl->prot & PROT_WRITE)) {
				mi = pick_mapping(sl, false, false);
				if (mi >= 0)
					what = "mapping in a PROT_READ VMA";
			}
			break;
		default:
			if (sl->policy == VUSHM_HOLE_SIGBUS) {
				pg = rnd(sl->npages);
				if (sl->pmap[pg] < 0)
					what = "hole of a SIGBUS window";
			}
			break;
		}
	}
	if (!what)
		return fall_to(OP_MAP);
	widx = rnd(wpp);
	if (mi >= 0) {
		struct mapping_m *m = &sl->maps[mi];
		uint64_t fpage;

		pg = m->shm_pg + rnd(m->npg);
		fpage = m->fd_pg + pg - m->shm_pg;
		/* A valid word for the readers, of a generation not yet written. */
		val = pat_word(m->id, mfs[m->id].gen[fpage] + 1, fpage, widx);
	} else {
		val = pat_word(1, 0, 0, widx);
	}
	exp = !(sl->prot & PROT_WRITE) ? SIGSEGV : SIGBUS;
	sig = guarded_write(sl->vma + pg * PS + widx * 8, &val, 1);
	logop("STORE to %s %s offset 0x%llx -> %s", sl->name, what,
	      (unsigned long long)(pg * PS + widx * 8), sig_name(sig));
	if (sig != exp)
		return failf("store to %s offset 0x%llx (%s, %s VMA): expected %s, got %s",
			     sl->name, (unsigned long long)(pg * PS + widx * 8),
			     what, sl->prot & PROT_WRITE ? "RW" : "RO",
			     sig_name(exp), sig_name(sig));
	return check_page(sl, pg);	/* unchanged, memfd included */
}

/* munmap + mmap (RO or RW), mremap to another address, or a split. */
static bool op_remap(void)
{
	int s = (int)rnd(nslots);
	struct slot *sl = &slots[s];

	uint64_t r = rnd(6);

	if (r == 0) {
		/*
		 * MAP_FIXED over the middle: the VMA splits in three (->open,
		 * ->close), and MAP must reach all of them in this one mm.
		 */
		uint64_t pg = rnd(sl->npages), n = 1 + rnd(sl->npages - pg);
		int fd = vt_open_node(sl->name, O_RDWR);
		void *p;

		if (fd < 0)
			return failf("open %s: %s", sl->name, err_name(fd));
		p = mmap(sl->vma + pg * PS, n * PS, sl->prot,
			 MAP_SHARED | MAP_FIXED, fd, (off_t)(pg * PS));
		close(fd);
		logop("slot %d MMAP FIXED over pages %llu+%llu of the VMA", s,
		      (unsigned long long)pg, (unsigned long long)n);
		if (p != sl->vma + pg * PS)
			return failf("MAP_FIXED mmap of window %s: %s", sl->name,
				     strerror(errno));
		sl->split = pg || n < sl->npages;
	} else if (r <= 2 && !sl->split) {
		void *dst = mmap(NULL, sl->size, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *p;

		if (dst == MAP_FAILED)
			return failf("mmap: %s", strerror(errno));
		p = mremap(sl->vma, sl->size, sl->size,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		logop("slot %d MREMAP %p -> %p", s, (void *)sl->vma, p);
		if (p != dst)
			return failf("mremap of window %s: %s", sl->name,
				     strerror(errno));
		sl->vma = p;
	} else {
		int prot = rnd(2) ? PROT_READ | PROT_WRITE : PROT_READ;

		munmap(sl->vma, sl->size);
		sl->vma = NULL;
		if (!slot_mmap(sl, prot))
			return false;
		logop("slot %d MUNMAP + MMAP %s", s,
		      prot & PROT_WRITE ? "RW" : "RO");
	}
	return check_sample(4);
}

/* The old window is gone: its name, its node, its sysfs directory. */
static bool check_gone(struct slot *sl)
{
	int ret;

	if (vt_sysfs_exists(sl->name))
		return failf("window %s destroyed, its sysfs directory remains",
			     sl->name);
	ret = vt_attach(ctl, sl->name);
	if (ret != -ENOENT) {
		if (ret >= 0)
			close(ret);
		return failf("ATTACH of destroyed window %s: expected -ENOENT, got %s",
			     sl->name, err_name(ret));
	}
	return true;
}

/* The old VMA reads zeros; then a new window in the slot. */
static bool slot_replace(int s, const uint64_t *pages, int n)
{
	struct slot *sl = &slots[s];

	if (!check_dead(sl, pages, n))
		return false;
	munmap(sl->vma, sl->size);
	sl->vma = NULL;
	return slot_create(s);
}

static bool op_destroy(void)
{
	int s = (int)rnd(nslots), ret;
	struct slot *sl = &slots[s];
	bool close_first = !sl->ephemeral && rnd(100) < 30;
	struct vushm_info info;
	uint64_t pages[16];
	int n = mapped_pages(sl, pages);

	pub_begin(s);	/* readers: zeros on this window are fine from now */
	if (close_first) {
		close(sl->cfd);
		sl->cfd = -1;
		model_clear(sl);
	}
	ret = vt_destroy(ctl, sl->name);
	logop("slot %d DESTROY %s (%d mappings%s) -> %s", s, sl->name,
	      sl->nmaps, close_first ? ", controller closed first" : "",
	      err_name(ret));
	if (ret)
		return failf("DESTROY %s: expected 0, got %s", sl->name,
			     err_name(ret));
	model_clear(sl);
	if (sl->cfd >= 0) {
		int id = pick_memfd(false);

		ret = id > 0 ? vt_map(sl->cfd, mfs[id].fd, 0, 0, PS, 0) : -ENODEV;
		if (ret != -ENODEV)
			return failf("MAP on a destroyed window's controller: expected -ENODEV, got %s",
				     err_name(ret));
		ret = vt_unmap(sl->cfd, 0, PS);
		if (ret != -ENODEV)
			return failf("UNMAP on a destroyed window's controller: expected -ENODEV, got %s",
				     err_name(ret));
		ret = vt_reset(sl->cfd);
		if (ret != -ENODEV)
			return failf("RESET on a destroyed window's controller: expected -ENODEV, got %s",
				     err_name(ret));
		ret = vt_get_info(sl->cfd, &info);
		if (ret != -ENODEV)
			return failf("GET_INFO on a destroyed window's controller: expected -ENODEV, got %s",
				     err_name(ret));
		close(sl->cfd);
		sl->cfd = -1;
	}
	if (!check_gone(sl))
		return false;
	return slot_replace(s, pages, n);
}

/* Close the controller (maybe through a dup): reset, or destroy if ephemeral. */
static bool op_ctlclose(void)
{
	int s = (int)rnd(nslots), dup_fd = -1, ret;
	struct slot *sl = &slots[s];
	uint64_t pages[16];
	int n = mapped_pages(sl, pages), k;

	if (sl->ephemeral)
		pub_begin(s);
	if (rnd(100) < 30) {
		/* Not the last reference: nothing may happen yet. */
		dup_fd = dup(sl->cfd);
		if (dup_fd < 0)
			return failf("dup: %s", strerror(errno));
		close(sl->cfd);
		sl->cfd = dup_fd;
		if (!check_info(sl))
			return false;
		for (k = 0; k < n; k++)
			if (!check_page(sl, pages[k]))
				return false;
	}
	close(sl->cfd);
	sl->cfd = -1;
	logop("slot %d CLOSE controller of %s (%d mappings%s%s)", s, sl->name,
	      sl->nmaps, dup_fd >= 0 ? ", via a dup" : "",
	      sl->ephemeral ? ", ephemeral" : "");
	model_clear(sl);
	if (sl->ephemeral) {
		if (!check_gone(sl))
			return false;
		return slot_replace(s, pages, n);
	}
	if (vt_sysfs_num(sl->name, "controller") != 0 ||
	    vt_sysfs_num(sl->name, "nr_mappings") != 0)
		return failf("after the controller of %s closed: controller %lld, nr_mappings %lld, expected 0 and 0",
			     sl->name, vt_sysfs_num(sl->name, "controller"),
			     vt_sysfs_num(sl->name, "nr_mappings"));
	for (k = 0; k < n; k++)
		if (!check_page(sl, pages[k]))
			return false;
	sl->cfd = vt_attach(ctl, sl->name);
	if (sl->cfd < 0)
		return failf("ATTACH %s: expected a controller fd, got %s",
			     sl->name, err_name(sl->cfd));
	ret = vt_attach(ctl, sl->name);
	if (ret != -EBUSY) {
		if (ret >= 0)
			close(ret);
		return failf("second ATTACH %s: expected -EBUSY, got %s",
			     sl->name, err_name(ret));
	}
	return check_info(sl);
}

/* A child inherits the VMAs, checks what it sees against the model, exits. */
static bool op_fork(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return failf("fork: %s", strerror(errno));
	if (pid == 0) {
		op_name = "fork child";
		rng ^= 0x5eed;
		_exit(check_sample(8) ? 0 : 1);
	}
	st = vt_wait(pid);
	logop("FORK child %d -> status %d", (int)pid, st);
	if (st != 0) {
		if (!__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE))
			return failf("fork child exited with status %d", st);
		return false;
	}
	return true;
}

static bool op_grow(void)
{
	int id = pick_memfd(true);
	struct memfd_m *mf;
	uint64_t add, old;

	if (id < 0 || mfs[id].npages >= MEMFD_MAX / PS)
		return true;
	mf = &mfs[id];
	old = mf->npages;
	add = 1 + rnd(1024);
	if (old + add > MEMFD_MAX / PS)
		add = MEMFD_MAX / PS - old;
	/* Readers may meet these pages as soon as a MAP has them. */
	memset(mf->gen + old, 0, add);
	publish_npages(id, old + add);
	if (ftruncate(mf->fd, (off_t)((old + add) * PS)))
		return failf("ftruncate grow memfd %d: %s", id, strerror(errno));
	mf->npages = old + add;
	if (fill_file(id, old, add))
		return failf("fill memfd %d: %s", id, strerror(errno));
	logop("GROW memfd %d %llu -> %llu pages", id, (unsigned long long)old,
	      (unsigned long long)mf->npages);
	return true;
}

static bool op_seal(void)
{
	int id = pick_memfd(false), ret, exp, got;
	unsigned int seal, r = (unsigned int)rnd(10);
	struct memfd_m *mf;
	const char *name;

	if (id < 0)
		return true;
	mf = &mfs[id];
	if (r < 4 && (mf->nmaps || rnd(4) == 0)) {
		/*
		 * Mostly while mappings exist; then and only then EBUSY: an RW
		 * mapping is a writable mapping, and any mapping holds page
		 * references that F_SEAL_WRITE takes for pins.
		 */
		seal = F_SEAL_WRITE;
		name = "F_SEAL_WRITE";
		exp = mf->nmaps && !(mf->seals & F_SEAL_WRITE) ? -EBUSY : 0;
	} else if (r < 7) {
		seal = F_SEAL_FUTURE_WRITE;
		name = "F_SEAL_FUTURE_WRITE";
		exp = 0;
	} else {
		seal = F_SEAL_SHRINK;
		name = "F_SEAL_SHRINK";
		exp = 0;
	}
	ret = fcntl(mf->fd, F_ADD_SEALS, seal) ? -errno : 0;
	logop("SEAL memfd %d %s (%u RW mappings) -> %s", id, name, mf->nrw,
	      err_name(ret));
	if (ret != exp)
		return failf("F_ADD_SEALS %s on memfd %d with %u RW window mapping(s): expected %s, got %s",
			     name, id, mf->nrw, err_name(exp), err_name(ret));
	if (!ret)
		mf->seals |= seal;
	got = fcntl(mf->fd, F_GET_SEALS);
	if (got != (int)mf->seals)
		return failf("F_GET_SEALS memfd %d: expected 0x%x, got 0x%x", id,
			     mf->seals, got);
	return true;
}

/* The backend closes its memfd: the window keeps the pages. */
static bool op_close_memfd(void)
{
	int cand[MAX_IDS], n = 0, id;

	if (count_open_memfds() <= MIN_OPEN - 1 ||
	    (next_id >= MAX_IDS && count_open_memfds() <= 2))
		return true;
	for (id = 1; id < next_id; id++)
		if (mfs[id].fd >= 0 && mfs[id].nmaps)
			cand[n++] = id;
	if (!n || rnd(10) < 3)
		id = pick_memfd(false);
	else
		id = cand[rnd(n)];
	if (id < 0)
		return true;
	close(mfs[id].fd);
	mfs[id].fd = -1;
	logop("CLOSE memfd %d (%u mappings)", id, mfs[id].nmaps);
	while (count_open_memfds() < MIN_OPEN && next_id < MAX_IDS) {
		int nid = memfd_new();

		if (nid < 0)
			return failf("new memfd: %s", strerror(errno));
		logop("NEW memfd %d, %llu pages", nid,
		      (unsigned long long)mfs[nid].npages);
	}
	return check_file_pages(id, 0, mfs[id].npages);
}

/*
 * The hostile backend: shrink or punch a memfd that is mapped.  The window
 * keeps the pages it mapped (the module holds them until UNMAP), so the
 * model of every live mapping stays as it is; the memfd itself is retired
 * (no new MAP, grow or pwrite picks it: its pages are no longer the ones
 * the windows show).
 */
static bool op_truncate(void)
{
	int cand[MAX_IDS], n = 0, id, ret, exp;
	struct memfd_m *mf;
	bool punch = rnd(2);
	uint64_t f, len;

	for (id = 1; id < next_id; id++)
		if (mfs[id].fd >= 0 && mfs[id].nmaps)
			cand[n++] = id;
	if (!n)
		return true;
	id = cand[rnd(n)];
	mf = &mfs[id];
	f = rnd(mf->npages);
	len = mf->npages - f;
	if (punch) {
		exp = (mf->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) ? -EPERM : 0;
		ret = fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(f * PS), (off_t)(len * PS)) ? -errno : 0;
	} else {
		exp = (mf->seals & F_SEAL_SHRINK) ? -EPERM : 0;
		ret = ftruncate(mf->fd, (off_t)(f * PS)) ? -errno : 0;
	}
	logop("HOSTILE %s memfd %d from page %llu -> %s",
	      punch ? "PUNCH" : "TRUNCATE", id, (unsigned long long)f,
	      err_name(ret));
	if (ret != exp)
		return failf("%s memfd %d: expected %s, got %s",
			     punch ? "punch" : "ftruncate", id, err_name(exp),
			     err_name(ret));
	if (ret)
		return true;
	mf->tainted = true;
	/* What the windows show did not change: check some of it now. */
	return check_file_pages(id, f, len);
}

/* Every page of one window. */
static bool op_sweep(void)
{
	int s = (int)rnd(nslots);
	struct slot *sl = &slots[s];
	uint64_t pg;

	logop("slot %d SWEEP %llu pages", s, (unsigned long long)sl->npages);
	for (pg = 0; pg < sl->npages; pg++)
		if (!check_page(sl, pg))
			return false;
	return true;
}

/* --inject: break the model or the data on purpose; the run must fail. */
static bool do_inject(bool *done)
{
	int s, mi = -1, i;
	struct slot *sl = NULL;
	struct mapping_m *m;
	uint64_t pg, fpage, val;

	for (s = 0; s < nslots && mi < 0; s++) {
		sl = &slots[s];
		if (!strcmp(inject, "foreign") && !(sl->prot & PROT_WRITE))
			continue;
		mi = pick_mapping(sl, !strcmp(inject, "foreign"), false);
	}
	if (mi < 0)
		return true;	/* nothing mapped yet: later */
	*done = true;
	s--;
	op_name = "inject";
	m = &sl->maps[mi];
	pg = m->shm_pg + rnd(m->npg);
	fpage = m->fd_pg + pg - m->shm_pg;
	if (!strcmp(inject, "model")) {
		mfs[m->id].gen[fpage]++;
		logop("INJECT model: memfd %d page %llu gen %u in the model only (window %s offset 0x%llx)",
		      m->id, (unsigned long long)fpage, mfs[m->id].gen[fpage],
		      sl->name, (unsigned long long)(pg * PS));
		return check_file_pages(m->id, fpage, 1);
	}
	val = pat_word(m->id, mfs[m->id].gen[fpage], fpage, 5) ^
	      (1ULL << 48);	/* another magic: foreign memory */
	if (guarded_write(sl->vma + pg * PS + 5 * 8, &val, 1))
		return failf("inject: store failed");
	logop("INJECT foreign: 0x%016llx at window %s offset 0x%llx, not in the model",
	      (unsigned long long)val, sl->name,
	      (unsigned long long)(pg * PS + 5 * 8));
	for (i = 0; i < NHINTS; i++)
		add_hint(s, pg, 1);
	for (i = 0; i < 500 && !__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	return !__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE);
}

static enum op pick_op(void)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	r = (unsigned int)rnd(total);
	for (i = 0; i < NR_OPS; i++) {
		if (r < op_weight[i])
			return (enum op)i;
		r -= op_weight[i];
	}
	return OP_MAP;
}

static bool run_op(enum op op)
{
	switch (op) {
	case OP_MAP:		return op_map(false);
	case OP_MAP_URING:	return op_map(true);
	case OP_BATCH:		return op_batch();
	case OP_UNMAP:		return op_unmap();
	case OP_RESET:		return op_reset();
	case OP_WRITE:		return op_write();
	case OP_PWRITE:		return op_pwrite();
	case OP_WFAULT:		return op_wfault();
	case OP_REMAP:		return op_remap();
	case OP_DESTROY:	return op_destroy();
	case OP_CTLCLOSE:	return op_ctlclose();
	case OP_FORK:		return op_fork();
	case OP_GROW:		return op_grow();
	case OP_SEAL:		return op_seal();
	case OP_CLOSE_MEMFD:	return op_close_memfd();
	case OP_TRUNCATE:	return op_truncate();
	case OP_SWEEP:		return op_sweep();
	default:		return true;
	}
}

/* ------------------------------------------------------------------ */
/* Watchdog, set-up, tear-down                                         */
/* ------------------------------------------------------------------ */

static volatile int wd_done;
static const char *volatile phase = "set-up";

/* A hang in the kernel must still produce a KTAP line. */
static void *watchdog(void *arg)
{
	uint64_t last = 0, t0 = vt_now_ns();
	unsigned int still = 0;

	(void)arg;
	while (!wd_done) {
		uint64_t op = __atomic_load_n(&sh->op, __ATOMIC_RELAXED);

		sleep(1);
		still = op == last ? still + 1 : 0;
		last = op;
		if (still > 120 ||
		    (vt_now_ns() - t0) / 1000000000ULL > run_time + 300ULL) {
			if (wd_done)
				break;
			printf("not ok 1 soak: seed %llu: no progress for %u s at op #%llu (%s, %s): hang?\n",
			       (unsigned long long)seed, still,
			       (unsigned long long)op, op_name, phase);
			fflush(stdout);
			_exit(1);
		}
	}
	return NULL;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			ksft_print_msg("drop_caches: %s\n", strerror(errno));
		close(fd);
	}
}

/* Windows "vt-soak-<pid>-<n>" of a soak that died: destroy them. */
static void destroy_stale_soak(int c)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid;

		if (sscanf(e->d_name, VT_NAME_PREFIX "soak-%d-", &pid) == 1 &&
		    pid != getpid() && kill(pid, 0) && errno == ESRCH)
			vt_destroy(c, e->d_name);
	}
	closedir(d);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--time SECONDS] [-v] [--no-hostile-truncate]\n"
		"       [--inject model|foreign]   (checker self-test: must fail)\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-hostile-truncate", no_argument, NULL, 'H' },
		{ "inject", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pthread_t readers[2], wd;
	struct vushm_info info;
	long shmem0, shmem1;
	struct vt_kmsg kmsg;
	char kmsg_first[512], summary[1024];
	int fds0, fds1, c, s, i, id, nbad, st;
	uint64_t t_end, t0;
	pid_t rpid;
	bool ok = true, have_seed = false, injected = false;
	size_t len;

	while ((c = getopt_long(argc, argv, "s:t:vHh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 't':
			run_time = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		case 'H':
			hostile = false;
			break;
		case 'I':
			inject = optarg;
			if (strcmp(inject, "model") && strcmp(inject, "foreign"))
				usage(argv[0]);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	ksft_print_header();
	ksft_set_plan(1);
	ksft_print_msg("seed %llu\n", (unsigned long long)seed);
	if (geteuid() != 0)
		ksft_exit_skip("vushm_soak must run as root\n");
	if (access(VT_CONTROL_PATH, F_OK))
		ksft_exit_skip("%s missing: is vushm.ko loaded?\n",
			       VT_CONTROL_PATH);

	rng = seed;
	wpp = PS / 8;
	pat_magic = (uint16_t)(0x8000 | (rng_next(&rng) & 0x7fff));
	if (!hostile)
		op_weight[OP_TRUNCATE] = 0;
	ksft_print_msg("time %u s, pattern magic 0x%04x%s%s%s\n", run_time,
		       pat_magic, hostile ? "" : ", no hostile truncation",
		       inject ? ", injecting a fault: " : "",
		       inject ? inject : "");

	/* Baselines before anything of ours exists. */
	fds0 = vt_count_fds();
	drop_caches();
	shmem0 = vt_shmem_kb();
	vt_kmsg_begin(&kmsg);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	nslots = 2 + (int)rnd(2);
	sh->nslots = nslots;
	install_fault_handler();

	/* The reader process: forked now, so it inherits no window or fd. */
	fflush(stdout);
	rpid = fork();
	if (rpid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (rpid == 0) {
		for (i = 3; i < 1024; i++)
			close(i);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		reader_loop(2, seed + 3);
		_exit(0);
	}

	cbuf = malloc(PS);
	ebuf = malloc(PS);
	fbuf = malloc(PS);
	ctl = vt_open_control();
	if (!cbuf || !ebuf || !fbuf || ctl < 0) {
		ok = failf("control node: %s", err_name(ctl));
		goto stop;
	}
	destroy_stale_soak(ctl);
	if (vt_get_info(ctl, &info) ||
	    (info.features & (VUSHM_F_URING_CMD | VUSHM_F_HOLE_SIGBUS |
			      VUSHM_F_EPHEMERAL | VUSHM_F_ATTACH)) !=
	    (VUSHM_F_URING_CMD | VUSHM_F_HOLE_SIGBUS | VUSHM_F_EPHEMERAL |
	     VUSHM_F_ATTACH)) {
		ok = failf("GET_INFO: features 0x%llx lack uring_cmd, SIGBUS holes, ephemeral or attach",
			   (unsigned long long)info.features);
		goto stop;
	}
	if (vt_ring_init(&ring, RING_ENTRIES)) {
		ok = failf("io_uring with SQE128: %s", strerror(errno));
		goto stop;
	}
	ring_ok = true;
	while (count_open_memfds() < MIN_OPEN + 1) {
		if (memfd_new() < 0) {
			ok = failf("memfd: %s", strerror(errno));
			goto stop;
		}
	}
	for (s = 0; s < nslots; s++) {
		struct slot *sl = &slots[s];

		sl->cfd = -1;
		sl->policy = s == 0 ? VUSHM_HOLE_ZERO :
			     s == 1 ? VUSHM_HOLE_SIGBUS : (uint32_t)rnd(2);
		sl->ephemeral = s == 2;
		if (!slot_create(s)) {
			ok = false;
			goto stop;
		}
	}
	for (i = 0; i < 2; i++)
		pthread_create(&readers[i], NULL, reader_thread,
			       (void *)(intptr_t)i);
	pthread_create(&wd, NULL, watchdog, NULL);

	phase = "soak";
	t0 = vt_now_ns();
	t_end = t0 + run_time * 1000000000ULL;
	while (vt_now_ns() < t_end &&
	       !__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE)) {
		enum op op;

		op_idx++;
		__atomic_store_n(&sh->op, op_idx, __ATOMIC_RELAXED);
		op = pick_op();
		cur_op = op;
		op_name = op_names[op];
		op_count[op]++;
		if (!run_op(op) || !check_sample(2)) {
			ok = false;
			break;
		}
		if (inject && !injected && op_idx >= 100 && !do_inject(&injected)) {
			ok = false;
			break;
		}
	}
	op_name = "tear-down";
	phase = "tear-down";

	/* Stop the readers before the windows go. */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(readers[i], NULL);
stop:
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	st = vt_wait(rpid);
	if (st != 0 && ok && !sh->failed)
		ok = failf("reader process exited with status %d", st);

	for (s = 0; s < nslots; s++) {
		struct slot *sl = &slots[s];

		if (sl->vma)
			munmap(sl->vma, sl->size);
		if (sl->name[0] && ctl >= 0) {
			int ret = vt_destroy(ctl, sl->name);

			/* An ephemeral window whose create failed is gone. */
			if (ret && ok && !sh->failed)
				ok = failf("DESTROY %s at the end: %s",
					   sl->name, err_name(ret));
		}
		if (sl->cfd >= 0)
			close(sl->cfd);
		model_clear(sl);
		free(sl->pmap);
	}
	if (ring_ok)
		io_uring_queue_exit(&ring);
	for (id = 1; id < next_id; id++) {
		if (mfs[id].fd >= 0)
			close(mfs[id].fd);
		free(mfs[id].gen);
	}
	if (ctl >= 0)
		close(ctl);
	free(cbuf);
	free(ebuf);
	free(fbuf);

	/* Memory and fds came back; nothing in the kernel log. */
	nbad = vt_kmsg_check(&kmsg, kmsg_first, sizeof(kmsg_first));
	if (nbad) {
		ksft_print_msg("kernel log: %d bad record(s), first: %s\n",
			       nbad, kmsg_first);
		if (ok && !sh->failed)
			ok = failf("kernel log: %s", kmsg_first);
	}
	drop_caches();
	shmem1 = vt_wait_shmem_le(shmem0 + 1024, 5000);
	ksft_print_msg("Shmem %ld kB before, %ld kB after\n", shmem0, shmem1);
	if (shmem1 > shmem0 + 1024 && ok && !sh->failed)
		ok = failf("Shmem %ld kB after the soak, %ld kB before: more than 1 MiB not returned",
			   shmem1, shmem0);
	fds1 = vt_count_fds();
	if (fds1 != fds0 && ok && !sh->failed)
		ok = failf("%d fds open at the end, %d at the start", fds1,
			   fds0);
	wd_done = 1;

	len = 0;
	summary[0] = 0;
	for (i = 0; i < NR_OPS; i++) {
		if (!op_weight[i] && !op_count[i])
			continue;
		len += snprintf(summary + len, sizeof(summary) - len, "%s%s %llu",
				len ? ", " : "", op_names[i],
				(unsigned long long)op_count[i]);
		if (len >= sizeof(summary))
			break;
	}
	ksft_print_msg("ops: %s\n", summary);
	ksft_print_msg("uring_cmds %llu (%llu in batches)\n",
		       (unsigned long long)uring_cmds,
		       (unsigned long long)batch_cmds);
	for (i = 0; i < NREADERS; i++)
		ksft_print_msg("reader %d (%s): %llu pages, %llu with data, %llu SIGBUS, %llu zero pages, %llu own remaps\n",
			       i, i < 2 ? "thread" : "process",
			       (unsigned long long)sh->rst[i].pages,
			       (unsigned long long)(sh->rst[i].pages -
						    sh->rst[i].sigbus -
						    sh->rst[i].zero_pages),
			       (unsigned long long)sh->rst[i].sigbus,
			       (unsigned long long)sh->rst[i].zero_pages,
			       (unsigned long long)sh->rst[i].remaps);

	if (!ok || sh->failed) {
		unsigned int k, first = oplog_n > OPLOG ? oplog_n - OPLOG : 0;

		for (i = 0; i < 100 && !__atomic_load_n(&sh->msg_ready,
							 __ATOMIC_ACQUIRE); i++)
			usleep(10000);
		ksft_print_msg("last operations:\n");
		for (k = first; k < oplog_n; k++)
			ksft_print_msg("  %s\n", oplog[k % OPLOG]);
		ksft_test_result_fail("soak: seed %llu: %s\n",
				      (unsigned long long)seed, sh->msg);
		ksft_print_msg("reproduce: %s --seed %llu --time %u -v\n",
			       argv[0], (unsigned long long)seed, run_time);
		ksft_exit_fail();
	}
	ksft_test_result_pass("soak: seed %llu, %u s, %llu ops (%s)\n",
			      (unsigned long long)seed, run_time,
			      (unsigned long long)op_idx, summary);
	ksft_exit_pass();
	return 0;
}
