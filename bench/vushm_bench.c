// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_bench: what a vushm MAP/UNMAP costs, against the best userspace
 * alternatives, measured side by side in the same run (issue 6).
 *
 * Runs as root in the test VM with vushm.ko loaded (make bench).  Covers the
 * kernel paths: P1 (ioctl MAP+UNMAP vs a PROT_NONE arena + MAP_FIXED, the
 * crosvm way), P2 (eager install vs MAP_POPULATE, one and two VMAs), P3
 * (uring_cmd batches vs one ioctl per op), P5 (cost vs live mappings), P6
 * (slab bytes per live mapping), and P4, the vhost-user round trip a
 * backend waits on (vu-test-backend -> vushm-helper -> kernel -> REPLY_ACK)
 * against a bare unix-socket request/reply carrying the same fd.
 *
 * Every figure is ns per op: the median, min and max of BENCH reps, each rep
 * at least min_ms long; the two sides of a ratio run interleaved A B A B.
 * Every MAP is checked: the word read through the window must be the memfd's
 * pattern for that page, so a fast wrong answer cannot pass.
 *
 *   vushm_bench [--long] [--ro] [-o results.json]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "frontend.h"
#include "proc.h"
#include "window.h"

#define KiB		((uint64_t)1024)
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define TiB		(1024 * GiB)
#define PG		4096ULL
#define WIN_NAME	"bench"
#define WIN_S_NAME	"bench-s"
#define WIN_SIZE	TiB
#define MEMFD_SIZE	(64 * MiB)
#define ARENA_SIZE	(256 * MiB)
#define ARENA_OFF	(64 * MiB)	/* mappings land mid-arena */
#define P1_SHM_OFF	(4 * GiB)
#define P3_SHM_OFF	(8 * GiB)
#define MAGIC		0x7675736d00000000ULL	/* "vusm" + page index */
#define MAX_REPS	64
#define MAX_RESULTS	64
#define RING_ENTRIES	128
#define P5_SLOTS	64

static struct {
	int reps;
	uint64_t min_ns;
	bool ro;
	bool long_mode;
	const char *json;
	const char *only;	/* comma-separated part names, NULL: all */
} cfg = { 7, 50000000ULL, false, false, NULL, NULL };

/* --only p1,p4: run those parts; the table then has only their rows. */
static bool want(const char *part)
{
	size_t n = strlen(part);
	const char *p = cfg.only;

	if (!p)
		return true;
	while (*p) {
		if (!strncasecmp(p, part, n) && (p[n] == ',' || !p[n]))
			return true;
		p = strchrnul(p, ',');
		if (*p)
			p++;
	}
	return false;
}

static struct vu_window win = { .cfd = -1 };
static int ctl_fd = -1;
static uint8_t *wbase;		/* the window, mmapped whole */
/* P5's second window: 100 live mappings, measured against the first. */
static struct vu_window win_s = { .cfd = -1 };
static uint8_t *wbase_s;
static int memfd = -1;
static uint8_t *arena;		/* baseline A: PROT_NONE reservation */
static struct io_uring ring;
static bool have_ring;
static pid_t child = -1;

static void close_small_window(void)
{
	struct vushm_window_ref ref;
	bool had = win_s.cfd >= 0;

	if (wbase_s) {
		munmap(wbase_s, WIN_SIZE);
		wbase_s = NULL;
	}
	vu_window_close(&win_s);
	if (had && ctl_fd >= 0) {
		memset(&ref, 0, sizeof(ref));
		memcpy(ref.name, WIN_S_NAME, sizeof(WIN_S_NAME));
		ioctl(ctl_fd, VUSHM_DESTROY, &ref);
	}
}

static void cleanup(void)
{
	struct vushm_window_ref ref;

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (have_ring) {
		io_uring_queue_exit(&ring);
		have_ring = false;
	}
	if (wbase) {
		munmap(wbase, WIN_SIZE);
		wbase = NULL;
	}
	vu_window_close(&win);
	close_small_window();
	if (ctl_fd >= 0) {
		memset(&ref, 0, sizeof(ref));
		memcpy(ref.name, WIN_NAME, sizeof(WIN_NAME));
		ioctl(ctl_fd, VUSHM_DESTROY, &ref);
		close(ctl_fd);
		ctl_fd = -1;
	}
}

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("vushm_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pattern(uint64_t fd_off)
{
	return MAGIC | (fd_off / PG);
}

/* Reads one word per page of [p, p + len) and checks it is the memfd's. */
static inline void touch_check(const uint8_t *p, uint64_t fd_off,
			       uint64_t len, const char *what)
{
	uint64_t o, got;

	for (o = 0; o < len; o += PG) {
		got = *(const volatile uint64_t *)(p + o);
		if (got != pattern(fd_off + o))
			die("%s: page %#" PRIx64 " reads %#" PRIx64 ", expected %#" PRIx64
			    " (wrong bytes mapped)", what, o, got,
			    pattern(fd_off + o));
	}
}

static inline void vmap_on(const struct vu_window *w, uint64_t fd_off,
			   uint64_t shm_off, uint64_t len)
{
	struct vushm_map m;

	vu_map_args(&m, memfd, fd_off, shm_off, len, !cfg.ro);
	if (ioctl(w->cfd, VUSHM_MAP, &m))
		die("VUSHM_MAP shm %#" PRIx64 " len %#" PRIx64 ": %s",
		    shm_off, len, vu_window_cmd_reason(VUSHM_MAP, -errno));
}

static inline void vunmap_on(const struct vu_window *w, uint64_t shm_off,
			     uint64_t len)
{
	struct vushm_unmap u;

	memset(&u, 0, sizeof(u));
	u.shm_offset = shm_off;
	u.len = len;
	if (ioctl(w->cfd, VUSHM_UNMAP, &u))
		die("VUSHM_UNMAP shm %#" PRIx64 " len %#" PRIx64 ": %s",
		    shm_off, len, vu_window_cmd_reason(VUSHM_UNMAP, -errno));
}

static inline void vmap(uint64_t fd_off, uint64_t shm_off, uint64_t len)
{
	vmap_on(&win, fd_off, shm_off, len);
}

static inline void vunmap(uint64_t shm_off, uint64_t len)
{
	vunmap_on(&win, shm_off, len);
}

static void vreset(void)
{
	if (ioctl(win.cfd, VUSHM_RESET))
		die("VUSHM_RESET: %s", strerror(errno));
}

/* Submits what is queued and reaps @n CQEs, each of which must be 0. */
static void ring_run(unsigned int n, uint32_t cmd_op)
{
	struct io_uring_cqe *cqe;
	unsigned int i;
	int ret;

	ret = io_uring_submit_and_wait(&ring, n);
	if (ret < 0 || (unsigned int)ret != n)
		die("io_uring_submit_and_wait(%u): %d", n, ret);
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			die("io_uring_wait_cqe: %s", strerror(-ret));
		if (cqe->res)
			die("uring_cmd %s #%llu: %s",
			    cmd_op == VUSHM_MAP ? "MAP" : "UNMAP",
			    (unsigned long long)cqe->user_data,
			    vu_window_cmd_reason(cmd_op, cqe->res));
		io_uring_cqe_seen(&ring, cqe);
	}
}

/* ---- the measured operations: fn(ctx, iters) returns the timed ns ---- */

struct sized {
	uint64_t len;
};

/* P1, vushm: MAP + touch every page + UNMAP, all timed. */
static uint64_t op_vushm_map_unmap(void *c, uint64_t iters)
{
	uint64_t len = ((struct sized *)c)->len, t0 = now_ns(), i;

	for (i = 0; i < iters; i++) {
		vmap(0, P1_SHM_OFF, len);
		touch_check(wbase + P1_SHM_OFF, 0, len, "vushm MAP");
		vunmap(P1_SHM_OFF, len);
	}
	return now_ns() - t0;
}

/* Baseline A: MAP_FIXED of the memfd into the arena, touch, PROT_NONE back. */
static uint64_t op_arena_map_unmap(void *c, uint64_t iters)
{
	uint64_t len = ((struct sized *)c)->len, t0 = now_ns(), i;
	uint8_t *p = arena + ARENA_OFF;
	int prot = PROT_READ | (cfg.ro ? 0 : PROT_WRITE);

	for (i = 0; i < iters; i++) {
		if (mmap(p, len, prot, MAP_SHARED | MAP_FIXED, memfd, 0) != p)
			die("arena mmap MAP_FIXED: %s", strerror(errno));
		touch_check(p, 0, len, "arena mmap");
		if (mmap(p, len, PROT_NONE, MAP_FIXED | MAP_ANONYMOUS |
			 MAP_PRIVATE | MAP_NORESERVE, -1, 0) != p)
			die("arena mmap PROT_NONE: %s", strerror(errno));
	}
	return now_ns() - t0;
}

/* P2, vushm: MAP (eager install) + touch timed, UNMAP not. */
static uint64_t op_vushm_install(void *c, uint64_t iters)
{
	uint64_t len = ((struct sized *)c)->len, t = 0, t0, i;

	for (i = 0; i < iters; i++) {
		t0 = now_ns();
		vmap(0, P1_SHM_OFF, len);
		touch_check(wbase + P1_SHM_OFF, 0, len, "vushm MAP");
		t += now_ns() - t0;
		vunmap(P1_SHM_OFF, len);
	}
	return t;
}

/* Baseline B: mmap(MAP_POPULATE) + touch timed, munmap not. */
static uint64_t op_populate(void *c, uint64_t iters)
{
	uint64_t len = ((struct sized *)c)->len, t = 0, t0, i;
	int prot = PROT_READ | (cfg.ro ? 0 : PROT_WRITE);
	uint8_t *p;

	for (i = 0; i < iters; i++) {
		t0 = now_ns();
		p = mmap(NULL, len, prot, MAP_SHARED | MAP_POPULATE, memfd, 0);
		if (p == MAP_FAILED)
			die("mmap MAP_POPULATE: %s", strerror(errno));
		touch_check(p, 0, len, "mmap MAP_POPULATE");
		t += now_ns() - t0;
		munmap(p, len);
	}
	return t;
}

/* P3: @batch MAPs, touch, @batch UNMAPs of 4 KiB; uring or one ioctl each. */
struct batch {
	unsigned int batch;
	bool uring;
};

static uint64_t op_batch(void *c, uint64_t iters)
{
	const struct batch *b = c;
	bool rw = !cfg.ro;
	uint64_t t0 = now_ns(), it;
	unsigned int i;

	for (it = 0; it < iters; it++) {
		if (b->uring) {
			for (i = 0; i < b->batch; i++)
				vu_window_prep_map(io_uring_get_sqe(&ring), &win,
						   memfd, i * PG,
						   P3_SHM_OFF + i * PG, PG,
						   rw, i);
			ring_run(b->batch, VUSHM_MAP);
		} else {
			for (i = 0; i < b->batch; i++)
				vmap(i * PG, P3_SHM_OFF + i * PG, PG);
		}
		for (i = 0; i < b->batch; i++)
			touch_check(wbase + P3_SHM_OFF + i * PG, i * PG, PG,
				    "vushm MAP (batch)");
		if (b->uring) {
			for (i = 0; i < b->batch; i++)
				vu_window_prep_unmap(io_uring_get_sqe(&ring),
						     &win, P3_SHM_OFF + i * PG,
						     PG, i);
			ring_run(b->batch, VUSHM_UNMAP);
		} else {
			for (i = 0; i < b->batch; i++)
				vunmap(P3_SHM_OFF + i * PG, PG);
		}
	}
	return now_ns() - t0;
}

/* P5: MAP + touch + UNMAP of 4 KiB in free slots between live mappings. */
struct scale {
	const struct vu_window *w;
	uint8_t *base;		/* w, mmapped */
	uint64_t slot[P5_SLOTS];
	unsigned int next;
};

/* @n live mappings @stride apart: the slots are between them. */
static void scale_slots(struct scale *sc, uint64_t n, uint64_t stride)
{
	int k;

	for (k = 0; k < P5_SLOTS; k++)
		sc->slot[k] = ((uint64_t)k * 7919 % n) * stride +
			      ((stride / 2) & ~(PG - 1));
	sc->next = 0;
}

static uint64_t op_scale(void *c, uint64_t iters)
{
	struct scale *s = c;
	uint64_t t0 = now_ns(), i, off, fd_off;

	for (i = 0; i < iters; i++) {
		off = s->slot[s->next];
		fd_off = (uint64_t)s->next * PG;
		s->next = (s->next + 1) % P5_SLOTS;
		vmap_on(s->w, fd_off, off, PG);
		touch_check(s->base + off, fd_off, PG, "vushm MAP (scale)");
		vunmap_on(s->w, off, PG);
	}
	return now_ns() - t0;
}

/* ---- repetitions and statistics ---- */

struct side {
	const char *name;
	uint64_t (*fn)(void *ctx, uint64_t iters);
	void *ctx;
	unsigned int ops_per_iter;
};

struct stats {
	double med, min, max;
	int n;
};

/* One rep: iterations until at least min_ns of timed work; ns per op. */
static double run_rep(const struct side *s)
{
	uint64_t total = 0, iters = 0, it = 1, per, need;

	for (;;) {
		total += s->fn(s->ctx, it);
		iters += it;
		if (total >= cfg.min_ns)
			break;
		per = total / iters ? total / iters : 1;
		need = (cfg.min_ns - total) / per;
		need += need / 10 + 1;
		it = need < iters * 4 + 1 ? need : iters * 4 + 1;
	}
	return (double)total / (double)(iters * s->ops_per_iter);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stats summarize(const double *v, int n)
{
	double s[MAX_REPS];
	struct stats st;

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	st.n = n;
	st.min = s[0];
	st.max = s[n - 1];
	st.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return st;
}

enum target_kind { T_NONE, T_LE, T_GE };

struct result {
	char id[16];
	char measure[96];
	char a_name[48], b_name[48];
	struct stats a, b;	/* a: vushm, b: baseline (b.n 0: none) */
	double ratio;
	char ratio_note[96];
	enum target_kind tk;
	double target;
	char unit[16];		/* "x" or "B" */
	double x;		/* plotted against: bytes (P1) or live maps (P5) */
};

static struct result results[MAX_RESULTS];
static int nresults;

static struct result *new_result(const char *id, const char *measure)
{
	struct result *r;

	if (nresults == MAX_RESULTS)
		die("too many results");
	r = &results[nresults++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->measure, sizeof(r->measure), "%s", measure);
	snprintf(r->unit, sizeof(r->unit), "x");
	return r;
}

static bool met(const struct result *r)
{
	return r->tk == T_LE ? r->ratio <= r->target : r->ratio >= r->target;
}

/* A B A B... cfg.reps times; a warm-up of each first. */
static void pair(struct result *r, const struct side *a, const struct side *b)
{
	double va[MAX_REPS], vb[MAX_REPS];
	int i;

	a->fn(a->ctx, 1);
	b->fn(b->ctx, 1);
	for (i = 0; i < cfg.reps; i++) {
		va[i] = run_rep(a);
		vb[i] = run_rep(b);
	}
	r->a = summarize(va, cfg.reps);
	r->b = summarize(vb, cfg.reps);
	snprintf(r->a_name, sizeof(r->a_name), "%s", a->name);
	snprintf(r->b_name, sizeof(r->b_name), "%s", b->name);
	r->ratio = r->a.med / r->b.med;
	fprintf(stderr, "  %-6s %-44s %10.0f / %10.0f ns/op = %.3f\n", r->id,
		r->measure, r->a.med, r->b.med, r->ratio);
}

/* ---- set-up ---- */

/* Creates window @name (WIN_SIZE, empty) and mmaps it whole. */
static uint8_t *open_window(const char *name, struct vu_window *w)
{
	char path[VU_WINDOW_PATH_MAX];
	uint8_t *base;
	int fd, ret;

	ret = vu_window_open(ctl_fd, name, WIN_SIZE, 0, VUSHM_HOLE_ZERO,
			     0, 0, 0600, w);
	if (ret)
		die("%s", w->err);
	if (ioctl(w->cfd, VUSHM_RESET))
		die("VUSHM_RESET: %s", strerror(errno));
	if (vu_window_node_path(w, path, sizeof(path)) < 0)
		die("window node path");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	base = mmap(NULL, WIN_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED)
		die("mmap window %s: %s", name, strerror(errno));
	close(fd);
	return base;
}

static void setup(void)
{
	struct vushm_info info;
	uint64_t *p, o;
	int ret;

	ctl_fd = open(VU_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)
		die("%s: %s (vushm.ko loaded? root?)", VU_CONTROL_PATH,
		    strerror(errno));
	wbase = open_window(WIN_NAME, &win);
	memset(&info, 0, sizeof(info));
	if (ioctl(win.cfd, VUSHM_GET_INFO, &info))
		die("GET_INFO: %s", strerror(errno));
	if (info.page_size != PG)
		die("page size %u, the bench assumes 4096", info.page_size);
	if (info.max_mappings < 100000)
		die("max_mappings %u < 100000", info.max_mappings);

	memfd = memfd_create("vushm-bench", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEMFD_SIZE))
		die("memfd: %s", strerror(errno));
	p = mmap(NULL, MEMFD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd: %s", strerror(errno));
	for (o = 0; o < MEMFD_SIZE; o += PG)
		p[o / 8] = pattern(o);
	munmap(p, MEMFD_SIZE);

	arena = mmap(NULL, ARENA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		     MAP_NORESERVE, -1, 0);
	if (arena == MAP_FAILED)
		die("arena: %s", strerror(errno));

	ret = vu_ring_init(&ring, RING_ENTRIES, 0);
	if (ret)
		die("io_uring (SQE128): %s", strerror(-ret));
	have_ring = true;

	/* Sanity: the bytes come through, a hole reads zero afterwards. */
	vmap(PG, P1_SHM_OFF, 2 * PG);
	touch_check(wbase + P1_SHM_OFF, PG, 2 * PG, "sanity MAP");
	vunmap(P1_SHM_OFF, 2 * PG);
	if (*(volatile uint64_t *)(wbase + P1_SHM_OFF) != 0)
		die("sanity: the window still shows the page after UNMAP");
}

/* Slab, SUnreclaim, PageTables of /proc/meminfo, in bytes. */
struct meminfo {
	uint64_t slab, sunreclaim, pagetables;
};

static struct meminfo read_meminfo(void)
{
	struct meminfo m = { 0, 0, 0 };
	char line[256];
	unsigned long long v;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Slab: %llu kB", &v) == 1)
			m.slab = v * 1024;
		else if (sscanf(line, "SUnreclaim: %llu kB", &v) == 1)
			m.sunreclaim = v * 1024;
		else if (sscanf(line, "PageTables: %llu kB", &v) == 1)
			m.pagetables = v * 1024;
	}
	fclose(f);
	return m;
}

static void settle(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			fprintf(stderr, "drop_caches: %s\n", strerror(errno));
		close(fd);
	}
	usleep(500000);
}

static void populate(const struct vu_window *w, uint64_t n, uint64_t stride)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		vmap_on(w, (i % (MEMFD_SIZE / PG)) * PG, i * stride, PG);
}

/* ---- the measures ---- */

static void bench_p1(void)
{
	static const uint64_t sizes[] = { 4 * KiB, 64 * KiB, 2 * MiB, 64 * MiB };
	struct sized sz;
	struct side a = { "vushm ioctl MAP+touch+UNMAP", op_vushm_map_unmap, &sz, 1 };
	struct side b = { "A: arena MAP_FIXED+touch+PROT_NONE", op_arena_map_unmap, &sz, 1 };
	struct result *r;
	char m[96];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		sz.len = sizes[i];
		snprintf(m, sizeof(m), "MAP+touch+UNMAP %" PRIu64 " KiB vs A",
			 sz.len / KiB);
		r = new_result(i ? "P1-size" : "P1", m);
		r->x = (double)sz.len;
		if (!i) {
			r->tk = T_LE;
			r->target = 0.25;
		}
		pair(r, &a, &b);
	}
}

static void bench_p2(int vmas)
{
	struct sized sz = { 2 * MiB };
	struct side a = { "vushm MAP (eager)+touch", op_vushm_install, &sz, 1 };
	struct side b = { "B: mmap MAP_POPULATE+touch", op_populate, &sz, 1 };
	struct result *r;
	char m[96];

	snprintf(m, sizeof(m), "MAP 2 MiB+touch vs POPULATE, %d VMA%s", vmas,
		 vmas > 1 ? "s" : "");
	r = new_result("P2", m);
	r->tk = T_LE;
	r->target = 1.0;
	pair(r, &a, &b);
}

static void bench_p2_two_vmas(void)
{
	int pfd[2];
	char c;

	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (!child) {
		char path[VU_WINDOW_PATH_MAX];
		void *w;
		int fd;

		/* A second process with its own mapping of the window. */
		vu_window_node_path(&win, path, sizeof(path));
		fd = open(path, O_RDWR);
		w = fd < 0 ? MAP_FAILED : mmap(NULL, WIN_SIZE, PROT_READ,
					       MAP_SHARED | MAP_NORESERVE, fd, 0);
		c = w == MAP_FAILED ? 'n' : 'y';
		if (write(pfd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1 || c != 'y')
		die("child could not map the window");
	close(pfd[0]);
	bench_p2(2);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = -1;
}

static void bench_p3(void)
{
	static const unsigned int batches[] = { 1, 8, 64 };
	struct batch bu, bi;
	struct side a = { "vushm uring_cmd batch", op_batch, &bu, 0 };
	struct side b = { "vushm ioctl, one per op", op_batch, &bi, 0 };
	struct result *r;
	char m[96];
	size_t i;

	for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		bu.batch = bi.batch = batches[i];
		bu.uring = true;
		bi.uring = false;
		a.ops_per_iter = b.ops_per_iter = batches[i];
		snprintf(m, sizeof(m), "uring_cmd batch %u vs ioctl, ops/s",
			 batches[i]);
		r = new_result(batches[i] == 64 ? "P3" : "P3-batch", m);
		if (batches[i] == 64) {
			r->tk = T_GE;
			r->target = 1.5;
		}
		pair(r, &a, &b);
		/* ops/s ratio: ioctl ns per op over uring ns per op */
		r->ratio = r->b.med / r->a.med;
		snprintf(r->ratio_note, sizeof(r->ratio_note),
			 "ops/s uring / ops/s ioctl");
	}
}

/*
 * P5: a 4 KiB MAP+touch+UNMAP between 100, 10,000 and 100,000 live
 * mappings of the 1 TiB window, each against baseline A (info rows, built
 * one after the other).  The P5 ratio itself is interleaved A B A B: a
 * second window holds 100 live mappings for the whole run, and its op
 * runs side by side with the op in the window of 100,000.
 */
static void bench_p5_p6(void)
{
	static const uint64_t scales[] = { 100, 10000, 100000 };
	double med[3] = { 0, 0, 0 };
	struct sized sz = { 4 * KiB };
	struct scale sc = { .w = &win }, sc_s = { .w = &win_s };
	struct side a = { "vushm ioctl MAP+touch+UNMAP", op_scale, &sc, 1 };
	struct side b = { "A: arena MAP_FIXED+touch+PROT_NONE", op_arena_map_unmap, &sz, 1 };
	struct side s100 = { "vushm, window of 100 live", op_scale, &sc_s, 1 };
	struct meminfo m0, m1;
	struct result *r;
	uint64_t n, stride, t0;
	char m[96];
	size_t i;

	sc.base = wbase;
	wbase_s = open_window(WIN_S_NAME, &win_s);
	sc_s.base = wbase_s;
	populate(&win_s, 100, (WIN_SIZE / 100) & ~(PG - 1));
	scale_slots(&sc_s, 100, (WIN_SIZE / 100) & ~(PG - 1));
	for (i = 0; i < 3; i++) {
		n = scales[i];
		stride = (WIN_SIZE / n) & ~(PG - 1);
		vreset();
		if (n == 100000)
			settle();
		m0 = read_meminfo();
		t0 = now_ns();
		populate(&win, n, stride);
		fprintf(stderr, "  %" PRIu64 " live mappings set up in %.2f s\n",
			n, (double)(now_ns() - t0) / 1e9);
		if (n == 100000) {
			usleep(200000);
			m1 = read_meminfo();
			r = new_result("P6", "kernel bytes per live mapping (Slab)");
			r->ratio = ((double)m1.slab - (double)m0.slab) / (double)n;
			r->tk = T_LE;
			r->target = 256;
			snprintf(r->unit, sizeof(r->unit), "B");
			snprintf(r->ratio_note, sizeof(r->ratio_note),
				 "SUnreclaim %.0f B, PageTables %.0f B",
				 ((double)m1.sunreclaim - (double)m0.sunreclaim) / (double)n,
				 ((double)m1.pagetables - (double)m0.pagetables) / (double)n);
			fprintf(stderr, "  P6: Slab %+.0f B, SUnreclaim %+.0f B, PageTables %+.0f B per mapping\n",
				r->ratio,
				((double)m1.sunreclaim - (double)m0.sunreclaim) / (double)n,
				((double)m1.pagetables - (double)m0.pagetables) / (double)n);
		}
		scale_slots(&sc, n, stride);
		a.fn(a.ctx, P5_SLOTS);	/* page tables of every slot exist */
		snprintf(m, sizeof(m), "MAP+touch+UNMAP 4 KiB, %" PRIu64 " live, vs A", n);
		r = new_result("P5-scale", m);
		r->x = (double)n;
		pair(r, &a, &b);
		med[i] = r->a.med;
	}
	s100.fn(s100.ctx, P5_SLOTS);
	r = new_result("P5", "per-op cost at 100,000 live vs at 100");
	pair(r, &a, &s100);
	r->tk = T_LE;
	r->target = 1.15;
	snprintf(r->ratio_note, sizeof(r->ratio_note),
		 "interleaved, two windows; sequential, one window: %.3f",
		 med[2] / med[0]);
	/*
	 * The same 100,000 mappings packed 8 KiB apart (400 page-table
	 * pages instead of 100,000): what the index costs, without the
	 * page-table working set of the sparse layout.
	 */
	vreset();
	populate(&win, 100000, 2 * PG);
	scale_slots(&sc, 100000, 2 * PG);
	a.fn(a.ctx, P5_SLOTS);
	r = new_result("P5-dense", "the same, the 100,000 packed 8 KiB apart");
	pair(r, &a, &s100);
	vreset();
	close_small_window();
}

/* ---- P4: the vhost-user round trip ---- */

/* "map=1,2,3" in @line: the numbers after "@key=" into v; how many. */
static int parse_list(const char *line, const char *key, double *v, int max)
{
	char pat[16];
	const char *p;
	char *end;
	int n = 0;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	while (n < max) {
		v[n++] = strtod(p, &end);
		if (*end != ',')
			break;
		p = end + 1;
	}
	return n;
}

/* Pins @pid to @cpu (the scheduler's choice makes P4 bimodal). */
static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(pid, sizeof(set), &set))
		die("P4: sched_setaffinity %d: %s", (int)pid, strerror(errno));
}

/*
 * One P4 measurement: the backend on CPU 0, the responders (the helper
 * and the floor's echo) on @cpu.  CPU 1 is the target row: a wake-up
 * crosses CPUs as with a VMM's helper on another core, and it is the
 * placement with the fastest floor.  CPU 0 (one CPU for both ends: every
 * wake-up a context switch) is reported for information.
 */
static void p4_placement(struct proc *be, struct proc *hp, int per, int cpu)
{
	double map[MAX_REPS], unmap[MAX_REPS], floor_v[MAX_REPS];
	const char *sfx = cpu ? "" : "-1cpu";
	struct result *r;
	int n, nu, nf;
	char id[24];

	pin(be->pid, 0);
	pin(hp->pid, cpu);
	if (proc_cmd(be, 600000, "rtt %d %d 0 0 0x1000 %d", cfg.reps, per,
		     cpu) ||
	    strncmp(be->line, "ok", 2))
		die("P4: rtt: %s", be->line);
	n = parse_list(be->line, "map", map, MAX_REPS);
	nu = parse_list(be->line, "unmap", unmap, MAX_REPS);
	nf = parse_list(be->line, "floor", floor_v, MAX_REPS);
	if (n != cfg.reps || nu != n || nf != n)
		die("P4: bad rtt answer: %s", be->line);

	snprintf(id, sizeof(id), "P4%s", sfx);
	r = new_result(id, cpu ? "vhost-user SHMEM_MAP round trip p50 vs bare" :
		       "the same, backend and responder on one CPU");
	snprintf(r->a_name, sizeof(r->a_name), "backend->helper->kernel->ack");
	snprintf(r->b_name, sizeof(r->b_name), "unix req/reply + 1 fd");
	r->a = summarize(map, n);
	r->b = summarize(floor_v, n);
	r->ratio = r->a.med / r->b.med;
	if (cpu) {
		r->tk = T_LE;
		r->target = 1.5;
	}
	snprintf(r->ratio_note, sizeof(r->ratio_note),
		 "%d ops/rep, per-op p50, backend on CPU 0, responders on CPU %d",
		 per, cpu);
	fprintf(stderr, "  %-9s %-44s %10.0f / %10.0f ns/op = %.3f\n", r->id,
		r->measure, r->a.med, r->b.med, r->ratio);
	snprintf(id, sizeof(id), "P4-unmap%s", sfx);
	r = new_result(id, "vhost-user SHMEM_UNMAP round trip p50 vs bare");
	snprintf(r->a_name, sizeof(r->a_name), "backend->helper->kernel->ack");
	snprintf(r->b_name, sizeof(r->b_name), "unix req/reply + 1 fd");
	r->a = summarize(unmap, n);
	r->b = summarize(floor_v, n);
	r->ratio = r->a.med / r->b.med;
	fprintf(stderr, "  %-9s %-44s %10.0f / %10.0f ns/op = %.3f\n", r->id,
		r->measure, r->a.med, r->b.med, r->ratio);
}

/*
 * The whole path a backend waits on: vu-test-backend sends SHMEM_MAP with
 * NEED_REPLY on its backend channel, vushm-helper validates it, submits the
 * uring_cmd, the module installs the page, the helper sends the REPLY_ACK;
 * the backend times sendmsg to ack, per op (tests/peers/backend.c, "rtt").
 * Baseline C, measured by the same backend process in the same rep: the
 * same 52-byte message with one fd to a forked echo process, 20 bytes back.
 * A test frontend in this process plays the VMM (it is idle meanwhile).
 */
static void bench_p4(void)
{
	char top[PATH_MAX], dir[] = "/tmp/vushm-p4.XXXXXX", be_sock[96],
	     vm_sock[96], prog[PATH_MAX + 64], helper[PATH_MAX + 64],
	     name[32], cmd[128];
	struct vuf_config vcfg;
	struct proc be, hp;
	struct vuf *f = NULL;
	int per = cfg.long_mode ? 2000 : 400;
	ssize_t len;
	char *slash;

	len = readlink("/proc/self/exe", top, sizeof(top) - 1);
	if (len <= 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	top[len] = 0;
	slash = strrchr(top, '/');	/* <top>/bench/vushm_bench */
	if (slash)
		*slash = 0;
	slash = strrchr(top, '/');
	if (slash)
		*slash = 0;
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(be_sock, sizeof(be_sock), "%s/be.sock", dir);
	snprintf(vm_sock, sizeof(vm_sock), "%s/vm.sock", dir);
	snprintf(prog, sizeof(prog), "%s/tests/peers/vu-test-backend", top);
	snprintf(helper, sizeof(helper), "%s/helper/vushm-helper", top);
	snprintf(name, sizeof(name), "bench-p4-%d", getpid());
	{
		char *const bargv[] = { prog, "--socket", be_sock, "--shmem",
					"0:1M", NULL };
		char wopt[64];
		char *const hargv[] = { helper, "-q", "--listen", vm_sock,
					"--backend", be_sock, "--window",
					wopt, NULL };

		/* The exact name, so that it can be destroyed at the end. */
		snprintf(wopt, sizeof(wopt), "0:1M:%s", name);

		if (proc_start(&be, bargv) || proc_expect(&be, "listening", 20000))
			die("P4: %s did not start", prog);
		if (proc_start(&hp, hargv) || proc_expect(&hp, "ready", 20000))
			die("P4: %s did not start", helper);
	}
	vuf_config_init(&vcfg, vm_sock);
	vcfg.connect_ms = 20000;
	vcfg.timeout_ms = 20000;
	vcfg.mem_size = 1 << 20;
	if (vuf_open(&vcfg, &f))
		die("P4: test frontend could not open a session through the helper");
	if (proc_cmd(&be, 20000, "wait-channel 20000") ||
	    strncmp(be.line, "channel", 7))
		die("P4: no backend channel: %s", be.line);
	/* warm-up, then the reps, in each placement */
	if (proc_cmd(&be, 600000, "rtt 1 50 0 0 0x1000") ||
	    strncmp(be.line, "ok", 2))
		die("P4: rtt: %s", be.line);
	p4_placement(&be, &hp, per, sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);
	p4_placement(&be, &hp, per, 0);
	vuf_free(f);
	proc_kill(&hp);
	proc_kill(&be);
	{
		struct vushm_window_ref ref;

		memset(&ref, 0, sizeof(ref));
		snprintf(ref.name, sizeof(ref.name), "%s", name);
		if (ioctl(ctl_fd, VUSHM_DESTROY, &ref))
			fprintf(stderr, "P4: destroy %s: %s\n", name,
				strerror(errno));
	}
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "P4: could not remove %s\n", dir);
}

/* ---- diagnostics (one pass each, not part of the reps): the ratios' why ---- */

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

struct diag {
	char what[96];
	double map_ns, touch_ns, unmap_ns;	/* per op */
	double faults;				/* minor faults per op in touch */
};

static struct diag diags[16];
static int ndiags;

static struct diag *new_diag(const char *what, uint64_t tm, uint64_t tt,
			     uint64_t tu, long f, double ops)
{
	struct diag *d = &diags[ndiags++];

	memset(d, 0, sizeof(*d));
	snprintf(d->what, sizeof(d->what), "%s", what);
	d->map_ns = (double)tm / ops;
	d->touch_ns = (double)tt / ops;
	d->unmap_ns = (double)tu / ops;
	d->faults = (double)f / ops;
	fprintf(stderr, "  diag %-40s map %9.0f touch %9.0f unmap %9.0f ns/op, %.1f faults/op in touch\n",
		d->what, d->map_ns, d->touch_ns, d->unmap_ns, d->faults);
	return d;
}

/* vushm MAP / touch / UNMAP of @len, each phase timed on its own. */
static void diag_vushm(uint64_t len, int n)
{
	uint64_t t0, t1, t2, t3, tm = 0, tt = 0, tu = 0;
	char w[96];
	long f = 0, f0;
	int i;

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		vmap(0, P1_SHM_OFF, len);
		t1 = now_ns();
		f0 = minflt();
		touch_check(wbase + P1_SHM_OFF, 0, len, "diag");
		f += minflt() - f0;
		t2 = now_ns();
		vunmap(P1_SHM_OFF, len);
		t3 = now_ns();
		tm += t1 - t0;
		tt += t2 - t1;
		tu += t3 - t2;
	}
	snprintf(w, sizeof(w), "vushm ioctl %" PRIu64 " KiB", len / KiB);
	new_diag(w, tm, tt, tu, f, n);
}

/* Baseline A (arena) or B (MAP_POPULATE), same split. */
static void diag_base(uint64_t len, int n, bool populate)
{
	uint64_t t0, t1, t2, t3, tm = 0, tt = 0, tu = 0;
	int prot = PROT_READ | (cfg.ro ? 0 : PROT_WRITE);
	uint8_t *p = arena + ARENA_OFF, *q;
	char w[96];
	long f = 0, f0;
	int i;

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (populate)
			q = mmap(NULL, len, prot, MAP_SHARED | MAP_POPULATE, memfd, 0);
		else
			q = mmap(p, len, prot, MAP_SHARED | MAP_FIXED, memfd, 0);
		if (q == MAP_FAILED)
			die("diag mmap: %s", strerror(errno));
		t1 = now_ns();
		f0 = minflt();
		touch_check(q, 0, len, "diag");
		f += minflt() - f0;
		t2 = now_ns();
		if (populate)
			munmap(q, len);
		else if (mmap(p, len, PROT_NONE, MAP_FIXED | MAP_ANONYMOUS |
			      MAP_PRIVATE | MAP_NORESERVE, -1, 0) != p)
			die("diag mmap PROT_NONE: %s", strerror(errno));
		t3 = now_ns();
		tm += t1 - t0;
		tt += t2 - t1;
		tu += t3 - t2;
	}
	snprintf(w, sizeof(w), "%s %" PRIu64 " KiB",
		 populate ? "B: MAP_POPULATE" : "A: arena MAP_FIXED", len / KiB);
	new_diag(w, tm, tt, tu, f, n);
}

/* P3 batch 64: MAP submit, touch, UNMAP submit, per op. */
static void diag_batch(bool uring, int n)
{
	uint64_t t0, t1, t2, t3, tm = 0, tt = 0, tu = 0;
	long f = 0, f0;
	unsigned int i;
	int it;

	for (it = 0; it < n; it++) {
		t0 = now_ns();
		for (i = 0; i < 64; i++) {
			if (uring)
				vu_window_prep_map(io_uring_get_sqe(&ring), &win,
						   memfd, i * PG, P3_SHM_OFF + i * PG,
						   PG, !cfg.ro, i);
			else
				vmap(i * PG, P3_SHM_OFF + i * PG, PG);
		}
		if (uring)
			ring_run(64, VUSHM_MAP);
		t1 = now_ns();
		f0 = minflt();
		for (i = 0; i < 64; i++)
			touch_check(wbase + P3_SHM_OFF + i * PG, i * PG, PG, "diag");
		f += minflt() - f0;
		t2 = now_ns();
		for (i = 0; i < 64; i++) {
			if (uring)
				vu_window_prep_unmap(io_uring_get_sqe(&ring), &win,
						     P3_SHM_OFF + i * PG, PG, i);
			else
				vunmap(P3_SHM_OFF + i * PG, PG);
		}
		if (uring)
			ring_run(64, VUSHM_UNMAP);
		t3 = now_ns();
		tm += t1 - t0;
		tt += t2 - t1;
		tu += t3 - t2;
	}
	new_diag(uring ? "vushm uring_cmd batch 64, 4 KiB" :
			 "vushm ioctl x64, 4 KiB", tm, tt, tu, f, 64.0 * n);
}

/* An empty ioctl round trip (GET_INFO) vs an empty uring NOP, per op. */
static void diag_syscall(int n)
{
	struct vushm_info info;
	uint64_t t0, t1, t2;
	unsigned int i;
	int it;

	t0 = now_ns();
	for (it = 0; it < n * 64; it++) {
		memset(&info, 0, sizeof(info));
		if (ioctl(win.cfd, VUSHM_GET_INFO, &info))
			die("GET_INFO: %s", strerror(errno));
	}
	t1 = now_ns();
	for (it = 0; it < n; it++) {
		for (i = 0; i < 64; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_nop(sqe);
			sqe->user_data = i;
		}
		ring_run(64, VUSHM_MAP);
	}
	t2 = now_ns();
	new_diag("empty ioctl (GET_INFO), per call", t1 - t0, 0, 0, 0, 64.0 * n);
	new_diag("io_uring NOP in batches of 64, per SQE", t2 - t1, 0, 0, 0, 64.0 * n);
}

static void diagnostics(void)
{
	int n = cfg.long_mode ? 200 : 50;

	diag_vushm(4 * KiB, 20 * n);
	diag_base(4 * KiB, 20 * n, false);
	diag_vushm(2 * MiB, n);
	diag_base(2 * MiB, n, false);
	diag_base(2 * MiB, n, true);
	diag_batch(false, n);
	diag_batch(true, n);
	diag_syscall(n);
}

/* ---- output ---- */

static const char *status(const struct result *r)
{
	if (r->tk == T_NONE)
		return "info";
	return met(r) ? "met" : "MISSED";
}

static void print_table(void)
{
	const struct result *r;
	char tgt[24], ratio[24];
	int i;

	printf("\n%-9s %-46s %26s %26s %9s %8s %s\n", "id", "measure",
	       "vushm ns/op med [min-max]", "base ns/op med [min-max]",
	       "ratio", "target", "status");
	for (i = 0; i < nresults; i++) {
		char av[40] = "-", bv[40] = "-";

		r = &results[i];
		if (r->a.n)
			snprintf(av, sizeof(av), "%.0f [%.0f-%.0f]", r->a.med,
				 r->a.min, r->a.max);
		if (r->b.n)
			snprintf(bv, sizeof(bv), "%.0f [%.0f-%.0f]", r->b.med,
				 r->b.min, r->b.max);
		if (r->tk == T_NONE)
			snprintf(tgt, sizeof(tgt), "-");
		else
			snprintf(tgt, sizeof(tgt), "%s %g%s",
				 r->tk == T_LE ? "<=" : ">=", r->target, r->unit);
		snprintf(ratio, sizeof(ratio), "%.3f%s", r->ratio, r->unit);
		printf("%-9s %-46s %26s %26s %9s %8s %s\n", r->id, r->measure,
		       av, bv, ratio, tgt, status(r));
	}
	printf("\ndiagnostics (one pass each, not part of the reps; ns per op by phase, faults = minor faults in the touch):\n");
	for (i = 0; i < ndiags; i++)
		printf("  %-44s map %10.0f  touch %10.0f  unmap %10.0f  faults %6.1f\n",
		       diags[i].what, diags[i].map_ns, diags[i].touch_ns,
		       diags[i].unmap_ns, diags[i].faults);
	for (i = 0; i < nresults; i++)
		if (results[i].ratio_note[0])
			printf("%s note: %s\n", results[i].id, results[i].ratio_note);
	printf("\nns/op: median [min-max] of %d reps (each >= %.0f ms), vushm and baseline interleaved A B A B.\n",
	       cfg.reps, (double)cfg.min_ns / 1e6);
	printf("P3 ratio is ops/s (baseline ns / vushm ns); P6 is bytes (Slab delta / 100,000); maps are %s.\n",
	       cfg.ro ? "read-only" : "read-write (VUSHM_MAP_RW)");
}

static void json_stats(FILE *f, const char *key, const char *name,
		       const struct stats *s)
{
	fprintf(f, "\"%s\": {\"name\": \"%s\", \"median_ns\": %.1f, \"min_ns\": %.1f, \"max_ns\": %.1f, \"reps\": %d}",
		key, name, s->med, s->min, s->max, s->n);
}

/*
 * gnuplot input next to the JSON (bench/plot.gp turns it into PNGs):
 * size.dat "bytes vushm_med min max A_med min max", scale.dat "live ..."
 */
static void write_dat(const char *json, const char *file, const char *id0,
		      const char *id1)
{
	char path[PATH_MAX];
	const char *slash = strrchr(json, '/');
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - json + 1) : 0,
		 json, file);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "# x vushm_med vushm_min vushm_max base_med base_min base_max (ns/op)\n");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		if (strcmp(r->id, id0) && strcmp(r->id, id1))
			continue;
		fprintf(f, "%.0f %.1f %.1f %.1f %.1f %.1f %.1f\n", r->x,
			r->a.med, r->a.min, r->a.max, r->b.med, r->b.min,
			r->b.max);
	}
	if (fclose(f))
		die("%s: %s", path, strerror(errno));
}

static void write_json(const char *path)
{
	struct utsname u;
	FILE *f = fopen(path, "w");
	int i;

	if (!f)
		die("%s: %s", path, strerror(errno));
	uname(&u);
	fprintf(f, "{\n  \"bench\": \"vushm_bench\",\n  \"kernel\": \"%s\",\n  \"mode\": \"%s\",\n  \"reps\": %d,\n  \"min_rep_ms\": %.0f,\n  \"map_flags\": \"%s\",\n  \"results\": [\n",
		u.release, cfg.long_mode ? "long" : "quick", cfg.reps,
		(double)cfg.min_ns / 1e6, cfg.ro ? "ro" : "rw");
	for (i = 0; i < nresults; i++) {
		const struct result *r = &results[i];

		fprintf(f, "    {\"id\": \"%s\", \"measure\": \"%s\", ", r->id, r->measure);
		if (r->x)
			fprintf(f, "\"x\": %.0f, ", r->x);
		if (r->a.n) {
			json_stats(f, "vushm", r->a_name, &r->a);
			fputs(", ", f);
		}
		if (r->b.n) {
			json_stats(f, "baseline", r->b_name, &r->b);
			fputs(", ", f);
		}
		fprintf(f, "\"value\": %.4f, \"unit\": \"%s\", \"note\": \"%s\", ",
			r->ratio, r->unit, r->ratio_note);
		if (r->tk == T_NONE)
			fputs("\"target\": null, \"status\": \"info\"}", f);
		else
			fprintf(f, "\"target\": \"%s %g\", \"status\": \"%s\"}",
				r->tk == T_LE ? "<=" : ">=", r->target,
				met(r) ? "met" : "missed");
		fputs(i + 1 < nresults ? ",\n" : "\n", f);
	}
	fputs("  ],\n  \"diagnostics\": [\n", f);
	for (i = 0; i < ndiags; i++)
		fprintf(f, "    {\"what\": \"%s\", \"map_ns\": %.1f, \"touch_ns\": %.1f, \"unmap_ns\": %.1f, \"touch_faults_per_op\": %.2f}%s\n",
			diags[i].what, diags[i].map_ns, diags[i].touch_ns,
			diags[i].unmap_ns, diags[i].faults,
			i + 1 < ndiags ? "," : "");
	fputs("  ]\n}\n", f);
	if (fclose(f))
		die("%s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *e = getenv("BENCH_LONG");
	uint64_t t0 = now_ns();
	int i;

	if (e && !strcmp(e, "1"))
		cfg.long_mode = true;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--long"))
			cfg.long_mode = true;
		else if (!strcmp(argv[i], "--ro"))
			cfg.ro = true;
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			cfg.json = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			cfg.only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--long] [--ro] [--only p1,p2,p3,diag,p5,p4] [-o results.json]\n",
				argv[0]);
			return 2;
		}
	}
	if (cfg.long_mode) {
		cfg.reps = 15;
		cfg.min_ns = 200000000ULL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	fprintf(stderr, "vushm_bench: %s mode, %d reps >= %.0f ms each\n",
		cfg.long_mode ? "long" : "quick", cfg.reps,
		(double)cfg.min_ns / 1e6);
	if (want("p1"))
		bench_p1();
	if (want("p3"))
		bench_p3();
	if (want("p2")) {
		bench_p2(1);
		bench_p2_two_vmas();
	}
	if (want("diag"))
		diagnostics();
	if (want("p5"))
		bench_p5_p6();
	if (want("p4"))
		bench_p4();
	print_table();
	if (cfg.json) {
		write_json(cfg.json);
		write_dat(cfg.json, "size.dat", "P1", "P1-size");
		write_dat(cfg.json, "scale.dat", "P5-scale", "P5-scale");
		printf("results: %s\n", cfg.json);
	}
	printf("total %.1f s\n", (double)(now_ns() - t0) / 1e9);
	cleanup();
	return 0;
}
