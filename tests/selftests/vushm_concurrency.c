// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_concurrency: MAP/UNMAP from the controller while others read.
 *
 * The controller maps generation g (a fresh memfd whose every 64-bit word
 * is MAGIC << 32 | g) into a range of the window, unmaps it, and after each
 * UNMAP returns publishes unmapped = g with a release store.  Readers
 * (threads, a forked process, a thread that keeps making new VMAs) load
 * unmapped (acquire), then read a word of the range: it must be 0 (a hole)
 * or MAGIC << 32 | h with unmapped < h <= started (the newest generation
 * whose MAP has begun).  Seeing h <= unmapped means a reader reached a page
 * after UNMAP had returned: a stale PTE or TLB entry.  Runs 2 s per variant
 * (VUSHM_CONC_SECONDS=N for longer runs by hand).
 */
#define VT_URING
#include "vushm_test.h"

#define MAGIC		0x5a17c0deULL
#define NPAGES		8

static uint64_t run_ns(void)
{
	const char *s = getenv("VUSHM_CONC_SECONDS");
	uint64_t sec = s ? strtoull(s, NULL, 10) : 0;

	return (sec ? sec : 2) * 1000000000ULL;
}

/*
 * Go on while @ns have not passed or fewer than @min_gen generations ran
 * (a debug kernel on a busy host is slow: the race needs the generations,
 * not the seconds), but never past a minute.
 */
static bool keep_going(uint64_t t0, uint64_t ns, uint64_t g,
		       uint64_t min_gen)
{
	uint64_t t = vt_now_ns() - t0;

	return (t < ns || g <= min_gen) && t < 60 * 1000000000ULL;
}

struct shared {
	uint64_t started;	/* newest generation whose MAP began */
	uint64_t unmapped;	/* newest generation whose UNMAP returned */
	int stop;
	uint64_t reads, nonzero, violations, garbage;
	uint64_t bad_v, bad_u;	/* the first violation seen */
	uint64_t vmas;		/* VMAs made by the churn thread */
};

struct reader_arg {
	struct shared *sh;
	char *base;		/* the mapped range in this VMA */
	unsigned int seed;
};

/* Check one read; true if it is allowed. */
static bool check_word(struct shared *sh, uint64_t u, uint64_t v)
{
	uint64_t h = v & 0xffffffffULL, s;

	if (!v)
		return true;
	s = __atomic_load_n(&sh->started, __ATOMIC_ACQUIRE);
	if ((v >> 32) != MAGIC || h > s) {
		if (__atomic_fetch_add(&sh->garbage, 1, __ATOMIC_RELAXED) == 0 &&
		    !__atomic_load_n(&sh->violations, __ATOMIC_RELAXED)) {
			sh->bad_v = v;
			sh->bad_u = u;
		}
		return false;
	}
	if (h <= u) {
		if (__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED) == 0) {
			sh->bad_v = v;
			sh->bad_u = u;
		}
		return false;
	}
	return true;
}

static void read_some(struct shared *sh, char *base, unsigned int *seed,
		      int n, uint64_t *reads, uint64_t *nonzero)
{
	int k;

	for (k = 0; k < n; k++) {
		uint64_t u = __atomic_load_n(&sh->unmapped, __ATOMIC_ACQUIRE);
		unsigned int r = rand_r(seed);
		size_t off = (r % NPAGES) * PS + ((r >> 8) % (PS / 8)) * 8;
		uint64_t v = *(volatile uint64_t *)(base + off);

		check_word(sh, u, v);
		(*reads)++;
		if (v)
			(*nonzero)++;
	}
}

static void *reader(void *p)
{
	struct reader_arg *a = p;
	uint64_t reads = 0, nonzero = 0;

	while (!__atomic_load_n(&a->sh->stop, __ATOMIC_ACQUIRE))
		read_some(a->sh, a->base, &a->seed, 256, &reads, &nonzero);
	__atomic_fetch_add(&a->sh->reads, reads, __ATOMIC_RELAXED);
	__atomic_fetch_add(&a->sh->nonzero, nonzero, __ATOMIC_RELAXED);
	return NULL;
}

struct churn_arg {
	struct shared *sh;
	const char *name;
	size_t range_off;
	unsigned int seed;
};

/* New VMAs all the time: MAP must reach them, UNMAP must not miss them. */
static void *churn(void *p)
{
	struct churn_arg *a = p;
	uint64_t reads = 0, nonzero = 0, vmas = 0;
	int fd = vt_open_node(a->name, O_RDWR);

	if (fd < 0)
		return NULL;
	while (!__atomic_load_n(&a->sh->stop, __ATOMIC_ACQUIRE)) {
		char *q = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, fd, 0);

		if (q == MAP_FAILED)
			break;
		read_some(a->sh, q + a->range_off, &a->seed, 32, &reads,
			  &nonzero);
		munmap(q, 2 * MiB);
		vmas++;
	}
	close(fd);
	__atomic_fetch_add(&a->sh->reads, reads, __ATOMIC_RELAXED);
	__atomic_fetch_add(&a->sh->nonzero, nonzero, __ATOMIC_RELAXED);
	__atomic_store_n(&a->sh->vmas, vmas, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * A 2 MiB VUSHM_HOLE_ZERO window mmapped read-write (no w.fd: the tests make
 * their own files); sh shared with forked readers; a ring if variant->uring.
 */
FIXTURE(conc) {
	struct vt_win w;
	struct shared *sh;
	struct io_uring ring;
	bool ring_ok;
};

FIXTURE_VARIANT(conc) {
	bool uring;		/* MAP/UNMAP as uring_cmd */
	bool churn;		/* plus a thread making and dropping VMAs */
	bool fork_reader;	/* plus a reader in another process */
	bool rw;		/* VUSHM_MAP_RW */
};

FIXTURE_VARIANT_ADD(conc, ioctl) {
	.uring = false,
};

FIXTURE_VARIANT_ADD(conc, uring) {
	.uring = true,
};

/* The two extra actors alone, to tell which one a failure needs. */
FIXTURE_VARIANT_ADD(conc, ioctl_fork) {
	.uring = false, .fork_reader = true,
};

FIXTURE_VARIANT_ADD(conc, ioctl_churn) {
	.uring = false, .churn = true,
};

FIXTURE_VARIANT_ADD(conc, ioctl_churn_fork) {
	.uring = false, .churn = true, .fork_reader = true, .rw = true,
};

FIXTURE_VARIANT_ADD(conc, uring_churn_fork) {
	.uring = true, .churn = true, .fork_reader = true,
};

FIXTURE_SETUP(conc)
{
	self->ring_ok = false;
	vt_win_setup(_metadata, &self->w, 2 * MiB);
	vt_win_open(_metadata, &self->w, "conc", VUSHM_HOLE_ZERO);
	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	if (variant->uring) {
		ASSERT_EQ(0, vt_ring_init(&self->ring, 8));
		self->ring_ok = true;
	}
}

FIXTURE_TEARDOWN(conc)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	vt_win_teardown(_metadata, &self->w);
}

static int gen_memfd(uint64_t g)
{
	size_t len = NPAGES * PS, i;
	uint64_t *buf = malloc(len);
	int fd;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len / 8; i++)
		buf[i] = MAGIC << 32 | g;
	fd = vt_memfd(len, 0, 0);
	if (fd >= 0 && pwrite(fd, buf, len, 0) != (ssize_t)len) {
		close(fd);
		fd = -EIO;
	}
	free(buf);
	return fd;
}

TEST_F_TIMEOUT(conc, map_unmap_vs_readers, 60)
{
	const size_t roff = MiB;	/* the range: window [1 MiB, +NPAGES) */
	struct reader_arg ra[2];
	struct churn_arg ca;
	pthread_t rt[2], ct;
	uint64_t g, t0, errors = 0;
	pid_t child = -1;
	int i;

	for (i = 0; i < 2; i++) {
		ra[i].sh = self->sh;
		ra[i].base = self->w.win + roff;
		ra[i].seed = 1234 + i;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, reader, &ra[i]));
	}
	if (variant->churn) {
		ca.sh = self->sh;
		ca.name = self->w.name;
		ca.range_off = roff;
		ca.seed = 99;
		ASSERT_EQ(0, pthread_create(&ct, NULL, churn, &ca));
	}
	if (variant->fork_reader) {
		child = fork();
		ASSERT_LE(0, child);
		if (child == 0) {
			struct reader_arg a = {
				.sh = self->sh, .base = self->w.win + roff,
				.seed = 777,
			};

			reader(&a);
			_exit(0);
		}
	}

	t0 = vt_now_ns();
	for (g = 1; keep_going(t0, run_ns(), g, 20); g++) {
		__u64 flags = variant->rw ? VUSHM_MAP_RW : 0;
		int fd = gen_memfd(g), r;

		if (fd < 0) {
			errors++;
			break;
		}
		__atomic_store_n(&self->sh->started, g, __ATOMIC_RELEASE);
		r = variant->uring ?
		    vt_uring_map(&self->ring, self->w.cfd, fd, 0, roff,
				 NPAGES * PS, flags) :
		    vt_map(self->w.cfd, fd, 0, roff, NPAGES * PS, flags);
		close(fd);
		if (r) {
			TH_LOG("MAP gen %llu: %d", (unsigned long long)g, r);
			errors++;
			break;
		}
		/* Let the readers see this generation for a moment. */
		if (g % 4 == 0)
			usleep(50);
		r = variant->uring ?
		    vt_uring_unmap(&self->ring, self->w.cfd, roff,
				   NPAGES * PS) :
		    vt_unmap(self->w.cfd, roff, NPAGES * PS);
		if (r) {
			TH_LOG("UNMAP gen %llu: %d", (unsigned long long)g, r);
			errors++;
			break;
		}
		__atomic_store_n(&self->sh->unmapped, g, __ATOMIC_RELEASE);
		/* Every fourth generation, a hole for a while. */
		if (g % 4 == 2)
			usleep(50);
	}
	__atomic_store_n(&self->sh->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	if (variant->churn)
		pthread_join(ct, NULL);
	if (child > 0)
		EXPECT_EQ(0, vt_wait(child));

	TH_LOG("%llu generations, %llu reads (%llu mapped), %llu new VMAs",
	       (unsigned long long)g - 1,
	       (unsigned long long)self->sh->reads,
	       (unsigned long long)self->sh->nonzero,
	       (unsigned long long)self->sh->vmas);
	EXPECT_EQ(0ULL, errors);
	EXPECT_EQ(0ULL, self->sh->violations)
		TH_LOG("read gen %llu (word 0x%llx) after UNMAP of gen %llu returned",
		       (unsigned long long)(self->sh->bad_v & 0xffffffffULL),
		       (unsigned long long)self->sh->bad_v,
		       (unsigned long long)self->sh->bad_u);
	EXPECT_EQ(0ULL, self->sh->garbage)
		TH_LOG("read a word no generation wrote: 0x%llx",
		       (unsigned long long)self->sh->bad_v);
	/* The test did test something. */
	EXPECT_LT(20ULL, g);
	EXPECT_LT(0ULL, self->sh->nonzero);
	EXPECT_LT(self->sh->nonzero, self->sh->reads);
	if (variant->churn)
		EXPECT_LT(0ULL, self->sh->vmas);
	/* Nothing left mapped, everything reads zero. */
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, 2 * MiB));
}

/* RESET and UNMAP racing with readers on several ranges at once. */
TEST_F_TIMEOUT(conc, reset_vs_readers, 60)
{
	struct reader_arg ra[2];
	pthread_t rt[2];
	uint64_t g, t0;
	int i, j, errors = 0;

	for (i = 0; i < 2; i++) {
		ra[i].sh = self->sh;
		ra[i].base = self->w.win + i * NPAGES * PS;
		ra[i].seed = 4321 + i;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, reader, &ra[i]));
	}
	t0 = vt_now_ns();
	for (g = 1; keep_going(t0, run_ns() / 2, g, 10); g++) {
		int fd = gen_memfd(g);

		if (fd < 0) {
			errors++;
			break;
		}
		__atomic_store_n(&self->sh->started, g, __ATOMIC_RELEASE);
		for (j = 0; j < 2; j++) {
			int r = variant->uring ?
				vt_uring_map(&self->ring, self->w.cfd, fd, 0,
					     j * NPAGES * PS, NPAGES * PS, 0) :
				vt_map(self->w.cfd, fd, 0, j * NPAGES * PS,
				       NPAGES * PS, 0);
			if (r)
				errors++;
		}
		close(fd);
		if (variant->uring) {
			if (vt_uring_cmd(&self->ring, self->w.cfd, VUSHM_RESET,
					 NULL, 0))
				errors++;
		} else if (vt_reset(self->w.cfd)) {
			errors++;
		}
		__atomic_store_n(&self->sh->unmapped, g, __ATOMIC_RELEASE);
		if (errors)
			break;
	}
	__atomic_store_n(&self->sh->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	EXPECT_EQ(0, errors);
	EXPECT_EQ(0ULL, self->sh->violations)
		TH_LOG("read gen %llu after RESET of gen %llu returned",
		       (unsigned long long)(self->sh->bad_v & 0xffffffffULL),
		       (unsigned long long)self->sh->bad_u);
	EXPECT_EQ(0ULL, self->sh->garbage);
	EXPECT_LT(10ULL, g);
}

VT_HARNESS_MAIN
