// SPDX-License-Identifier: GPL-2.0
/*
 * crash_drill - kill -9 drills for vushm-helper.
 *
 * The stack of the other helper tests (stack.h): vu-test-backend and
 * vushm-helper as child processes, and a VMM stand-in: the test frontend
 * (tests/peers/frontend.c) in a forked child of its own, so that it can be
 * killed, which mmaps the helper's windows the way a VMM maps its BARs and
 * keeps them mapped for its whole life.  Every cycle:
 *
 *  1. a few MAP/UNMAP of random ranges, fds offsets, rw/ro and patterns
 *     from the backend, each acknowledged, against a model of what the
 *     windows hold; the VMM checks every byte of its mapping against the
 *     model, sysfs nr_mappings/mapped_bytes against the model;
 *  2. a burst of more MAP/UNMAP written to the backend without waiting for
 *     the answers, a random delay (scaled to the measured round trip, so
 *     the kill lands anywhere in the burst, or after it);
 *  3. SIGKILL of one of the backend, the VMM or the helper, drawn at
 *     random, and the recovery Documentation/vushm-helper.rst describes:
 *     - backend: the helper resets the windows, then closes the VMM's
 *       connection (so the windows must already be empty when the VMM sees
 *       the close); a new backend is started, the VMM reconnects;
 *     - VMM: the helper logs the disconnect, resets the windows, closes
 *       the backend connection; a new VMM maps the windows (holes there)
 *       and connects;
 *     - helper: the kernel empties the windows when the helper's
 *       controller fds go (asynchronously: io_uring teardown is deferred,
 *       so this is waited for); a new helper attaches to the same windows
 *       by name, the VMM, which kept its mappings, reconnects;
 *  4. checks: nr_mappings and mapped_bytes 0 on every window; every byte
 *     of the VMM's mapping reads 0 (hole policy zero); the VMM alive after
 *     a backend or helper kill; the helper alive after a backend or VMM
 *     kill; the backend's queued commands all answered, none "ok" after a
 *     failure; the helper's fd count flat (idle and in a session) across
 *     cycles and incarnations; the kernel not newly tainted.
 *
 * At the end (and after a warm-up) Shmem and Slab from /proc/meminfo are
 * compared with the start (see MEM_* below), as are the drill's own fds.
 *
 * Usage (root, module loaded; in the test VM):
 *   tests/helper/crash_drill [-n CYCLES] [-s SEED] [-v]
 * or VUSHM_DRILL_CYCLES / VUSHM_DRILL_SEED in the environment (make vm-run
 * exports VUSHM_*).  The seed is printed first ("# seed N"); the same seed
 * replays the same victims, operations, burst sizes and delays.  The exact
 * point a kill lands at in the burst still depends on timing.  On failure
 * the cycle, victim and seed are printed with the tails of the helper's,
 * backend's and VMM's stderr (current and previous incarnation).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"

#include "frontend.h"
#include "pattern.h"
#include "stack.h"

#define DEFAULT_CYCLES	200
#define PAGE		4096ULL
/* What the backend offers: window 0 of 1 MiB, window 2 of 64 KiB. */
#define WIN_A_SIZE	(1ULL << 20)
#define WIN_B_SIZE	(64ULL << 10)
/* The model: each window cut in slots, each slot one mapping or none. */
#define NSLOTS_A	16
#define NSLOTS_B	4
#define NSLOTS		(NSLOTS_A + NSLOTS_B)
#define MAX_SYNC	12	/* acknowledged ops per cycle: 0..MAX_SYNC */
#define MAX_BURST	8	/* unacknowledged ops before the kill */
#define SETTLE_MS	5000	/* for fds and resets that complete later */
#define WARMUP		10	/* cycles before the memory baseline */
/*
 * Memory tolerances, compared after drop_caches at the same point of a
 * cycle (a session up, windows empty, one VMM with its 1 MiB of guest
 * memory, one helper, one backend).
 *
 * Shmem: the drill's own memfds (the stderr logs of the children, which
 * grow with every session) are subtracted, so what is left is the same
 * set of memfds at both points, and moves in pages only if something
 * kernel-side holds a backend memfd it should have dropped.  A mapping
 * holds its whole memfd, on average ~20 KiB (at least one page): a leak
 * of one mapping per kill is ~4 MiB after 200 cycles, of one page per
 * kill 800 KiB.  512 KiB is far above the noise: measured -80..+8 KiB
 * over 200 and 1000 cycles.
 *
 * Slab: not exact even without a leak: SLUB keeps partial slabs per CPU
 * and node, and the caches the drill exercises (sockets, files, io_uring,
 * pids, task structs of a few hundred processes) grow to their high-water
 * mark on the first cycles.  The baseline is therefore taken after WARMUP
 * cycles (the start is printed too).  Measured from there: +96..+168 KiB
 * after 200 cycles and +160 KiB after 1000, i.e. no growth with the
 * number of cycles; 2 MiB is allowed.  A leak of a session's kernel
 * objects per kill (sockets, a socketpair, an io_uring ring and its
 * files: >= 8 KiB) crosses that from ~250 kills, so 200 cycles (~67 kills
 * per victim) catch only the bigger ones: run -n 1000 or more to look for
 * slab leaks.  Shmem, nr_mappings and the fd counts are the sharp checks.
 */
#define MEM_SHMEM_TOL_KB	512L
#define MEM_SLAB_TOL_KB		2048L

enum victim { V_BACKEND, V_VMM, V_HELPER, V_NR };
static const char *const victim_name[V_NR] = { "backend", "vmm", "helper" };

struct slot {
	unsigned int win;	/* index in st.win */
	uint64_t base, size;	/* window offset and size of the slot */
	bool mapped;
	uint64_t off, len;	/* within the slot */
	uint64_t fd_off;
	uint32_t seed;
};

/* Shared with the VMM child (MAP_SHARED): what the windows must show. */
struct model {
	struct slot slot[NSLOTS];
};

struct vmm {
	pid_t pid;		/* 0: none */
	int sock;		/* SOCK_SEQPACKET to the child */
	int err;		/* memfd holding its stderr */
	char reply[512];
};

struct mem {
	long shmem_kb, slab_kb, logs_kb;
};

static struct drill {
	struct stack st;
	char name[32];
	const char *hp_args[3];
	struct vuf_config cfg;
	struct vmm vmm;
	struct model *m;
	unsigned int win_a, win_b;	/* st.win index of shmid 0 and 2 */
	struct stack_win wins[STACK_MAX_WIN];	/* as first created */
	unsigned int nwin;

	uint64_t seed, rng;
	unsigned int cycles, cycle;
	enum victim victim;
	bool verbose;

	/* logs of the previous incarnation of each child: -1 none */
	int old_hp_err, old_be_err, old_vmm_err;

	/* statistics */
	unsigned int kills[V_NR];
	unsigned long maps, unmaps;	/* acknowledged "ok" */
	unsigned long burst_ok, burst_failed;
	unsigned int mid_burst;		/* VMM/helper kills that cut a burst */
	unsigned int odd_answers;	/* not "fail disconnected/no-channel" */
	unsigned long lat_us;		/* moving average of a round trip */
	long long max_reset_ms;		/* helper kill -> windows empty */

	/* baselines */
	int hp_idle_fds, hp_busy_fds, self_fds;
	unsigned long taint;

	char fail[2048];
} d = {
	.old_hp_err = -1, .old_be_err = -1, .old_vmm_err = -1,
	.vmm = { .sock = -1, .err = -1 },
	.hp_idle_fds = -1, .hp_busy_fds = -1,
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	if (d.fail[0])
		return -1;	/* the first failure is the one that counts */
	va_start(ap, fmt);
	vsnprintf(d.fail, sizeof(d.fail), fmt, ap);
	va_end(ap);
	return -1;
}

#define CHECK(cond, ...)	do { if (!(cond)) return fail(__VA_ARGS__); } while (0)
#define TRY(expr)		do { if ((expr)) return -1; } while (0)

/* ---- random numbers: splitmix64, seeded ---------------------------------- */

static uint64_t rnd64(void)
{
	uint64_t z = (d.rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); 0 if n is 0. */
static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

/* ---- logs ---------------------------------------------------------------- */

static off_t log_size(int fd)
{
	struct stat sb;

	return fd >= 0 && !fstat(fd, &sb) ? sb.st_size : 0;
}

/* The last @len - 1 bytes of a log memfd, NUL-terminated. */
static const char *log_tail(int fd, char *buf, size_t len)
{
	off_t size = log_size(fd), from = 0;
	ssize_t n;

	if (size > (off_t)len - 1)
		from = size - (off_t)len + 1;
	n = fd >= 0 ? pread(fd, buf, len - 1, from) : 0;
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* Whether @needle shows in the log after offset @from, within @timeout_ms. */
static bool log_wait(int fd, off_t from, const char *needle, int timeout_ms)
{
	long long end = proc_now_ms() + timeout_ms;
	bool found = false;
	char *buf;

	for (;;) {
		off_t size = log_size(fd);
		ssize_t n;

		if (size > from) {
			buf = malloc(size - from + 1);
			if (!buf)
				return false;
			n = pread(fd, buf, size - from, from);
			buf[n > 0 ? n : 0] = 0;
			found = strstr(buf, needle);
			free(buf);
		}
		if (found || proc_now_ms() > end)
			return found;
		usleep(10000);
	}
}

static unsigned int log_count(int fd, const char *needle)
{
	off_t size = log_size(fd);
	unsigned int n = 0;
	const char *p;
	char *buf;
	ssize_t got;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	got = pread(fd, buf, size, 0);
	buf[got > 0 ? got : 0] = 0;
	for (p = buf; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(buf);
	return n;
}

static void print_block(const char *title, const char *text)
{
	const char *l, *nl;

	if (!text || !*text)
		return;
	ksft_print_msg("--- %s ---\n", title);
	for (l = text; *l; l = nl + 1) {
		nl = strchrnul(l, '\n');
		printf("# %.*s\n", (int)(nl - l), l);
		if (!*nl)
			break;
	}
}

static void print_log(const char *title, int fd)
{
	char buf[2500];

	if (fd >= 0)
		print_block(title, log_tail(fd, buf, sizeof(buf)));
}

static void print_dmesg_tail(void)
{
	int size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf;
	int n;

	if (size <= 0)
		return;
	buf = malloc(size + 1);
	if (!buf)
		return;
	n = klogctl(3, buf, size);		/* SYSLOG_ACTION_READ_ALL */
	if (n > 0) {
		buf[n] = 0;
		print_block("kernel log (tail)", n > 3000 ? buf + n - 3000 : buf);
	}
	free(buf);
}

/* The stack_why() of this drill: the true tails, every incarnation. */
static void print_logs(void)
{
	print_log("vushm-helper stderr (tail)", d.st.hp.err);
	print_log("previous vushm-helper stderr (tail)", d.old_hp_err);
	print_log("vu-test-backend stderr (tail)", d.st.be.err);
	print_log("previous vu-test-backend stderr (tail)", d.old_be_err);
	print_log("VMM stand-in stderr (tail)", d.vmm.err);
	print_log("previous VMM stand-in stderr (tail)", d.old_vmm_err);
}

static void keep_old(int *old, int fd)
{
	if (*old >= 0)
		close(*old);
	*old = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;
}

/* ---- system state --------------------------------------------------------- */

static unsigned long taint(void)
{
	unsigned long v = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long fd_kb(int fd)
{
	struct stat sb;

	return fd >= 0 && !fstat(fd, &sb) ? (long)sb.st_blocks / 2 : 0;
}

static void mem_sample(struct mem *m)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			ksft_print_msg("drop_caches: %s\n", strerror(errno));
		close(fd);
	}
	m->shmem_kb = meminfo_kb("Shmem:");
	m->slab_kb = meminfo_kb("Slab:");
	m->logs_kb = fd_kb(d.st.hp.err) + fd_kb(d.st.be.err) +
		     fd_kb(d.vmm.err) + fd_kb(d.old_hp_err) +
		     fd_kb(d.old_be_err) + fd_kb(d.old_vmm_err);
}

/* Waits for a process's fd count to be @want; the last count otherwise. */
static int fds_settle(pid_t pid, int want)
{
	long long end = proc_now_ms() + SETTLE_MS;
	int n;

	for (;;) {
		n = proc_nfds(pid);
		if (n == want || proc_now_ms() > end)
			return n;
		usleep(20000);
	}
}

/* The drill's own fds, less the kept logs of dead children. */
static int self_fds(void)
{
	return proc_nfds(getpid()) - (d.old_hp_err >= 0) -
	       (d.old_be_err >= 0) - (d.old_vmm_err >= 0);
}

/* "fd -> target" of every fd of @pid, for the log of a failed check. */
static const char *fd_list(pid_t pid, char *buf, size_t len)
{
	char path[320], target[256];
	struct dirent *e;
	size_t n = 0;
	ssize_t t;
	DIR *dir;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return buf;
	while ((e = readdir(dir)) && n < len) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid,
			 e->d_name);
		t = readlink(path, target, sizeof(target) - 1);
		target[t > 0 ? t : 0] = 0;
		n += snprintf(buf + n, len - n, " %s->%s", e->d_name, target);
	}
	closedir(dir);
	return buf;
}

/* ---- windows -------------------------------------------------------------- */

/* Every window's nr_mappings and mapped_bytes: 0 if all are 0. */
static int windows_empty(char *why, size_t len)
{
	unsigned int i;

	for (i = 0; i < d.st.nwin; i++) {
		long long n = stack_sysfs(d.st.win[i].name, "nr_mappings");
		long long b = stack_sysfs(d.st.win[i].name, "mapped_bytes");

		if (n || b) {
			snprintf(why, len, "window %s: nr_mappings %lld, mapped_bytes %lld",
				 d.st.win[i].name, n, b);
			return -1;
		}
	}
	return 0;
}

/* sysfs against the model. */
static int windows_match(void)
{
	unsigned int i, w;

	for (w = 0; w < d.st.nwin; w++) {
		long long n = 0, b = 0, sn, sb;

		for (i = 0; i < NSLOTS; i++)
			if (d.m->slot[i].win == w && d.m->slot[i].mapped) {
				n++;
				b += d.m->slot[i].len;
			}
		sn = stack_sysfs(d.st.win[w].name, "nr_mappings");
		sb = stack_sysfs(d.st.win[w].name, "mapped_bytes");
		CHECK(sn == n && sb == b,
		      "window %s: nr_mappings %lld mapped_bytes %lld, the backend was acked %lld mappings of %lld bytes",
		      d.st.win[w].name, sn, sb, n, b);
	}
	return 0;
}

static void model_init(void)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++) {
		struct slot *s = &d.m->slot[i];
		bool a = i < NSLOTS_A;

		memset(s, 0, sizeof(*s));
		s->win = a ? d.win_a : d.win_b;
		s->size = a ? WIN_A_SIZE / NSLOTS_A : WIN_B_SIZE / NSLOTS_B;
		s->base = (a ? i : i - NSLOTS_A) * s->size;
	}
}

static void model_clear(void)
{
	unsigned int i;

	for (i = 0; i < NSLOTS; i++)
		d.m->slot[i].mapped = false;
}

/* The next operation on a random slot, applied to the model. */
static bool op_next(char *buf, size_t len)
{
	struct slot *s = &d.m->slot[rnd(NSLOTS)];
	uint32_t shmid = d.st.win[s->win].shmid;
	uint64_t pages = s->size / PAGE;

	if (s->mapped) {
		snprintf(buf, len, "unmap %u %#" PRIx64 " %#" PRIx64, shmid,
			 s->base + s->off, s->len);
		s->mapped = false;
		return false;
	}
	s->off = rnd(pages) * PAGE;
	s->len = (1 + rnd(pages - s->off / PAGE)) * PAGE;
	s->fd_off = rnd(4) * PAGE;
	s->seed = (uint32_t)rnd64();
	s->mapped = true;
	snprintf(buf, len, "map %u %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %s %u",
		 shmid, s->base + s->off, s->len, s->fd_off,
		 rnd(2) ? "rw" : "ro", s->seed);
	return true;
}

/* ---- the VMM stand-in: a forked child driven over a socketpair ------------ */

static size_t first_nonzero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return i;
	return len;
}

/* Every byte of window @w as the model says (@holes: as if empty). */
static bool vmm_check(uint8_t *const *win, unsigned int w, bool holes,
		      char *rep, size_t len)
{
	const uint8_t *p = win[w];
	uint64_t at = 0, size = d.st.win[w].size, end, bad;
	unsigned int i;

	for (;;) {
		const struct slot *s = NULL;

		/* the next mapped range at or after @at */
		for (i = 0; !holes && i < NSLOTS; i++) {
			const struct slot *t = &d.m->slot[i];

			if (t->win == w && t->mapped && t->base + t->off >= at &&
			    (!s || t->base + t->off < s->base + s->off))
				s = t;
		}
		end = s ? s->base + s->off : size;
		bad = first_nonzero(p + at, end - at);
		if (bad != end - at) {
			at += bad;
			snprintf(rep, len, "fail window %s offset %#" PRIx64 ": 0x%02x where a hole must read 0",
				 d.st.win[w].name, at, p[at]);
			return false;
		}
		if (!s)
			return true;
		bad = vu_pattern_check(s->seed, s->fd_off, p + end, s->len);
		if (bad != s->len) {
			at = end + bad;
			snprintf(rep, len, "fail window %s offset %#" PRIx64 ": 0x%02x, mapping seed %u (fd offset %#" PRIx64 ") has 0x%02x there",
				 d.st.win[w].name, at, p[at], s->seed,
				 s->fd_off, vu_pattern_byte(s->seed,
							    s->fd_off + bad));
			return false;
		}
		at = end + s->len;
	}
}

/* Closes every fd but 0-2 and @keep: a VMM holds none of the stack's. */
static void close_others(int keep)
{
	int fds[1024], n = 0, i;
	struct dirent *e;
	DIR *dir = opendir("/proc/self/fd");

	if (!dir)
		_exit(126);
	while ((e = readdir(dir)) && n < 1024) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd > 2 && fd != keep &&
		    fd != dirfd(dir))
			fds[n++] = fd;
	}
	closedir(dir);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void __attribute__((noreturn)) vmm_main(int sock)
{
	uint8_t *win[STACK_MAX_WIN] = { NULL };
	struct vuf *f = NULL;
	char cmd[64], rep[512];
	unsigned int w;
	ssize_t n;
	int fd, ret;

	close_others(sock);
	for (w = 0; w < d.st.nwin; w++) {
		fd = open(d.st.win[w].path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "vmm: open %s: %m\n", d.st.win[w].path);
			_exit(1);
		}
		win[w] = mmap(NULL, d.st.win[w].size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0);
		close(fd);
		if (win[w] == MAP_FAILED) {
			fprintf(stderr, "vmm: mmap %s: %m\n", d.st.win[w].path);
			_exit(1);
		}
	}
	for (;;) {
		n = recv(sock, cmd, sizeof(cmd) - 1, 0);
		if (n <= 0)
			_exit(0);
		cmd[n] = 0;
		snprintf(rep, sizeof(rep), "ok");
		if (!strcmp(cmd, "open")) {
			/* QEMU's reconnect=: same guest memory, new session */
			ret = f ? vuf_reconnect(f) : vuf_open(&d.cfg, &f);
			if (ret)
				snprintf(rep, sizeof(rep), "fail %s",
					 strerror(-ret));
		} else if (!strcmp(cmd, "closed")) {
			ret = f ? vuf_wait_closed(f, STACK_TIMEOUT_MS) : -ENOTCONN;
			if (ret)
				snprintf(rep, sizeof(rep), "fail connection not closed: %s",
					 strerror(-ret));
		} else if (!strcmp(cmd, "verify") || !strcmp(cmd, "holes")) {
			for (w = 0; w < d.st.nwin; w++)
				if (!vmm_check(win, w, cmd[0] == 'h', rep,
					       sizeof(rep)))
					break;
		} else {
			snprintf(rep, sizeof(rep), "fail unknown command %s", cmd);
		}
		if (send(sock, rep, strlen(rep), MSG_NOSIGNAL) < 0)
			_exit(1);
	}
}

static int vmm_spawn(void)
{
	int sv[2];

	CHECK(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv),
	      "socketpair: %s", strerror(errno));
	d.vmm.err = memfd_create("vmm-stderr", MFD_CLOEXEC);
	CHECK(d.vmm.err >= 0, "memfd_create: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	d.vmm.pid = fork();
	CHECK(d.vmm.pid >= 0, "fork: %s", strerror(errno));
	if (!d.vmm.pid) {
		if (dup2(d.vmm.err, 2) < 0 || dup2(sv[1], 3) < 0)
			_exit(126);
		vmm_main(3);
	}
	close(sv[1]);
	d.vmm.sock = sv[0];
	return 0;
}

/* One command; 0 if the VMM answered "ok". */
static int vmm_cmd(const char *cmd)
{
	struct pollfd pfd = { .fd = d.vmm.sock, .events = POLLIN };
	ssize_t n;

	d.vmm.reply[0] = 0;
	CHECK(send(d.vmm.sock, cmd, strlen(cmd), MSG_NOSIGNAL) > 0,
	      "VMM '%s': send: %s", cmd, strerror(errno));
	/* "open" is a whole handshake; "closed" waits STACK_TIMEOUT_MS */
	CHECK(poll(&pfd, 1, 3 * STACK_TIMEOUT_MS) == 1,
	      "VMM '%s': no answer", cmd);
	n = recv(d.vmm.sock, d.vmm.reply, sizeof(d.vmm.reply) - 1, 0);
	CHECK(n > 0, "VMM '%s': %s", cmd, n ? strerror(errno) : "the VMM died");
	d.vmm.reply[n] = 0;
	CHECK(!strcmp(d.vmm.reply, "ok"), "VMM '%s': %s", cmd, d.vmm.reply);
	return 0;
}

static bool vmm_alive(void)
{
	int status;

	return d.vmm.pid > 0 && !kill(d.vmm.pid, 0) &&
	       waitpid(d.vmm.pid, &status, WNOHANG) == 0;
}

static void vmm_kill(void)
{
	if (d.vmm.pid > 0) {
		kill(d.vmm.pid, SIGKILL);
		waitpid(d.vmm.pid, NULL, 0);
	}
	d.vmm.pid = 0;
	if (d.vmm.sock >= 0)
		close(d.vmm.sock);
	d.vmm.sock = -1;
	keep_old(&d.old_vmm_err, d.vmm.err);
	if (d.vmm.err >= 0)
		close(d.vmm.err);
	d.vmm.err = -1;
}

/* ---- the stack ------------------------------------------------------------ */

static const char *const be_args[] = { "--shmem", "0:1M", "--shmem", "2:64K",
				       NULL };

static int backend_start(void)
{
	CHECK(!stack_backend(&d.st, be_args), "%s", d.st.why);
	return 0;
}

static int helper_start(void)
{
	unsigned int i;

	CHECK(!stack_helper(&d.st, d.hp_args), "%s", d.st.why);
	if (!d.nwin) {
		d.nwin = d.st.nwin;
		memcpy(d.wins, d.st.win, sizeof(d.wins));
		return 0;
	}
	/* a restarted helper: the same windows, attached */
	CHECK(d.st.nwin == d.nwin, "restarted helper has %u windows, not %u",
	      d.st.nwin, d.nwin);
	for (i = 0; i < d.nwin; i++)
		CHECK(!strcmp(d.st.win[i].name, d.wins[i].name) &&
		      !strcmp(d.st.win[i].path, d.wins[i].path) &&
		      d.st.win[i].size == d.wins[i].size &&
		      d.st.win[i].shmid == d.wins[i].shmid,
		      "restarted helper: window %u is %s %s %" PRIu64 ", was %s %s %" PRIu64,
		      i, d.st.win[i].name, d.st.win[i].path, d.st.win[i].size,
		      d.wins[i].name, d.wins[i].path, d.wins[i].size);
	CHECK(log_count(d.st.hp.err, ") attached") == d.nwin,
	      "restarted helper did not attach to its %u windows", d.nwin);
	return 0;
}

/* A new session of the VMM through the helper, up to the backend channel. */
static int session_up(void)
{
	TRY(vmm_cmd("open"));
	CHECK(!stack_be(&d.st, "channel", "wait-channel %d", STACK_TIMEOUT_MS),
	      "%s", d.st.why);
	return 0;
}

/*
 * The backend's answers to the burst, once its session is gone: one line
 * each, "ok" until the session went, failures after.
 */
static int backend_drain(unsigned int nburst, const char *why)
{
	bool failed = false;
	unsigned int i;

	for (i = 0; i < nburst; i++) {
		const char *l = d.st.be.line;

		CHECK(!proc_read_line(&d.st.be, STACK_TIMEOUT_MS),
		      "backend: no answer to burst op %u of %u after the %s kill",
		      i + 1, nburst, why);
		if (!strcmp(l, "ok")) {
			CHECK(!failed, "backend: burst op %u acked ok after an earlier one failed (session gone)",
			      i + 1);
			d.burst_ok++;
			continue;
		}
		CHECK(!strncmp(l, "fail ", 5), "backend: burst op %u: '%s'",
		      i + 1, l);
		if (strcmp(l, "fail disconnected") &&
		    strcmp(l, "fail no-channel") && !d.odd_answers++) {
			char buf[300];

			ksft_print_msg("cycle %u: burst op %u answered '%s' as the %s died (further such answers counted, not shown); the backend's log:\n",
				       d.cycle, i + 1, l, why);
			print_block("vu-test-backend stderr (tail)",
				    log_tail(d.st.be.err, buf, sizeof(buf)));
		}
		if (!failed)
			d.mid_burst++;
		failed = true;
		d.burst_failed++;
	}
	return 0;
}

/* The backend saw its session end (the helper closed it). */
static int backend_idle(void)
{
	long long end = proc_now_ms() + SETTLE_MS;

	for (;;) {
		CHECK(!stack_be(&d.st, "status", "status"), "%s", d.st.why);
		if (strstr(d.st.be.line, "connected=0"))
			return 0;
		CHECK(proc_now_ms() < end,
		      "backend still connected after its session ended: %s",
		      d.st.be.line);
		usleep(20000);
	}
}

static int helper_fds_check(bool busy)
{
	static char first[2][1024];
	int *base = busy ? &d.hp_busy_fds : &d.hp_idle_fds;
	char now[1024];
	int n;

	CHECK(proc_alive(&d.st.hp), "the helper died (status %#x)",
	      d.st.hp.status);
	if (*base < 0) {
		*base = proc_nfds(d.st.hp.pid);
		CHECK(*base > 0, "helper fds: %s", strerror(-*base));
		fd_list(d.st.hp.pid, first[busy], sizeof(first[busy]));
		return 0;
	}
	n = fds_settle(d.st.hp.pid, *base);
	CHECK(n == *base, "helper (pid %d) holds %d fds %s, %d at the first cycle; now:%s; first:%s",
	      (int)d.st.hp.pid, n, busy ? "in a session" : "between sessions",
	      *base, fd_list(d.st.hp.pid, now, sizeof(now)), first[busy]);
	return 0;
}

/* ---- one cycle ------------------------------------------------------------ */

/* Acknowledged ops, checked through the VMM and sysfs. */
static int stream_sync(unsigned int nsync)
{
	char op[128];
	unsigned int i;
	bool map;

	for (i = 0; i < nsync; i++) {
		struct timespec ts;
		long long t0, us;

		map = op_next(op, sizeof(op));
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
		CHECK(!stack_be(&d.st, "ok", "%s", op), "%s", d.st.why);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		us = ts.tv_sec * 1000000LL + ts.tv_nsec / 1000 - t0;
		d.lat_us = d.lat_us ? (d.lat_us * 7 + (unsigned long)us) / 8 :
			   (unsigned long)us;
		if (map)
			d.maps++;
		else
			d.unmaps++;
	}
	TRY(windows_match());
	return vmm_cmd("verify");
}

static int after_backend_kill(void)
{
	char why[256];

	/* The helper resets the windows, then shuts the VMM's socket. */
	TRY(vmm_cmd("closed"));
	CHECK(!windows_empty(why, sizeof(why)),
	      "VMM saw its connection closed before the windows were reset: %s",
	      why);
	CHECK(vmm_alive(), "the VMM died with the backend");
	TRY(vmm_cmd("holes"));
	CHECK(proc_alive(&d.st.hp), "the helper died with the backend");
	TRY(helper_fds_check(false));
	TRY(backend_start());
	return session_up();
}

static int after_vmm_kill(off_t hp_off, unsigned int nburst)
{
	char why[256];

	CHECK(log_wait(d.st.hp.err, hp_off, "VMM closed the connection",
		       STACK_TIMEOUT_MS),
	      "helper did not log the VMM's disconnect");
	CHECK(log_wait(d.st.hp.err, hp_off, "windows reset: session closed",
		       STACK_TIMEOUT_MS),
	      "helper did not log the windows' reset");
	CHECK(!windows_empty(why, sizeof(why)),
	      "windows not reset after the VMM's kill: %s", why);
	TRY(backend_drain(nburst, "VMM"));
	TRY(backend_idle());
	CHECK(proc_alive(&d.st.hp), "the helper died with the VMM");
	TRY(helper_fds_check(false));
	/* A new VMM maps the windows: holes. */
	TRY(vmm_spawn());
	TRY(vmm_cmd("holes"));
	return session_up();
}

static int after_helper_kill(unsigned int nburst)
{
	long long t0 = proc_now_ms(), took;
	char why[256];

	TRY(vmm_cmd("closed"));
	/* The kernel resets when the last reference to a controller fd goes,
	 * which for a ring's files can be after the exit: wait.
	 */
	while (windows_empty(why, sizeof(why))) {
		CHECK(proc_now_ms() - t0 < STACK_TIMEOUT_MS,
		      "windows not reset %d ms after the helper's kill: %s",
		      STACK_TIMEOUT_MS, why);
		usleep(5000);
	}
	took = proc_now_ms() - t0;
	if (took > d.max_reset_ms)
		d.max_reset_ms = took;
	CHECK(vmm_alive(), "the VMM died with the helper");
	TRY(vmm_cmd("holes"));
	TRY(backend_drain(nburst, "helper"));
	TRY(backend_idle());
	TRY(helper_start());
	TRY(helper_fds_check(false));
	return session_up();
}

static int one_cycle(void)
{
	unsigned int nsync = rnd(MAX_SYNC + 1), nburst = rnd(MAX_BURST + 1), i;
	enum victim v = rnd(V_NR);
	useconds_t delay;
	off_t hp_off;
	char op[128];
	int n;

	d.victim = v;
	n = self_fds();
	CHECK(n == d.self_fds, "the drill holds %d fds, %d at the start (a drill bug)",
	      n, d.self_fds);
	CHECK(taint() == d.taint, "kernel taint %#lx, was %#lx at the start",
	      taint(), d.taint);
	TRY(helper_fds_check(true));

	TRY(stream_sync(nsync));

	/* The burst: written, not waited for. */
	for (i = 0; i < nburst; i++) {
		op_next(op, sizeof(op));
		CHECK(dprintf(d.st.be.in, "%s\n", op) > 0, "backend stdin: %s",
		      strerror(errno));
	}
	/*
	 * Pipelined, a burst op takes well under a measured round trip (which
	 * includes the drill's own stdin/stdout hop): up to 3/4 of one each
	 * puts most kills inside the burst, some after it.
	 */
	delay = rnd(nburst ? nburst * d.lat_us * 3 / 4 + 1 : 3000);
	if (d.verbose)
		ksft_print_msg("cycle %u: %u ops, burst %u, kill %s after %u us\n",
			       d.cycle, nsync, nburst, victim_name[v],
			       (unsigned int)delay);
	usleep(delay);

	hp_off = log_size(d.st.hp.err);
	d.kills[v]++;
	switch (v) {
	case V_BACKEND:
		keep_old(&d.old_be_err, d.st.be.err);
		proc_kill(&d.st.be);
		model_clear();
		return after_backend_kill();
	case V_VMM:
		vmm_kill();
		model_clear();
		return after_vmm_kill(hp_off, nburst);
	default:
		keep_old(&d.old_hp_err, d.st.hp.err);
		proc_kill(&d.st.hp);
		model_clear();
		return after_helper_kill(nburst);
	}
}

/* ---- main ----------------------------------------------------------------- */

static int setup(void)
{
	unsigned int i;

	CHECK(!stack_init(&d.st), "stack_init: %s", strerror(errno));
	snprintf(d.name, sizeof(d.name), "drill%d", getpid());
	d.hp_args[0] = "--name";
	d.hp_args[1] = d.name;
	d.hp_args[2] = NULL;
	vuf_config_init(&d.cfg, d.st.vm_sock);
	d.cfg.connect_ms = STACK_TIMEOUT_MS;
	d.cfg.timeout_ms = STACK_TIMEOUT_MS;
	d.cfg.mem_size = 1 << 20;
	d.m = mmap(NULL, sizeof(*d.m), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(d.m != MAP_FAILED, "mmap: %s", strerror(errno));

	TRY(backend_start());
	TRY(helper_start());
	d.win_a = d.win_b = STACK_MAX_WIN;
	for (i = 0; i < d.st.nwin; i++) {
		if (d.st.win[i].shmid == 0 && d.st.win[i].size == WIN_A_SIZE)
			d.win_a = i;
		if (d.st.win[i].shmid == 2 && d.st.win[i].size == WIN_B_SIZE)
			d.win_b = i;
	}
	CHECK(d.st.nwin == 2 && d.win_a < 2 && d.win_b < 2,
	      "helper windows: expected shmid 0 of 1 MiB and shmid 2 of 64 KiB");
	model_init();
	TRY(helper_fds_check(false));
	TRY(vmm_spawn());
	TRY(vmm_cmd("holes"));
	return session_up();
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n CYCLES] [-s SEED] [-v]\n"
		"  env: VUSHM_DRILL_CYCLES, VUSHM_DRILL_SEED\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *env;
	struct mem m0, m1 = { 0 }, m2;
	char why[256];
	long long t0;
	bool seeded = false;
	int c, ret = -1;

	d.cycles = DEFAULT_CYCLES;
	env = getenv("VUSHM_DRILL_CYCLES");
	if (env && *env)
		d.cycles = strtoul(env, NULL, 0);
	env = getenv("VUSHM_DRILL_SEED");
	if (env && *env) {
		d.seed = strtoull(env, NULL, 0);
		seeded = true;
	}
	while ((c = getopt(argc, argv, "n:s:vh")) != -1) {
		switch (c) {
		case 'n':
			d.cycles = strtoul(optarg, NULL, 0);
			break;
		case 's':
			d.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'v':
			d.verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		d.seed = ((uint64_t)ts.tv_sec * 1000003 ^ ts.tv_nsec ^
			  (uint64_t)getpid() << 20) % 1000000000;
	}
	d.rng = d.seed;

	ksft_print_header();
	ksft_set_plan(1);
	ksft_print_msg("seed %" PRIu64 "\n", d.seed);
	if (geteuid())
		ksft_exit_skip("needs root\n");
	if (access("/dev/vushm/control", F_OK))
		ksft_exit_skip("no /dev/vushm/control: is vushm loaded?\n");
	if (sysconf(_SC_PAGESIZE) != PAGE)
		ksft_exit_skip("the drill's ranges assume 4 KiB pages\n");
	ksft_print_msg("%u cycles; reproduce: VUSHM_DRILL_SEED=%" PRIu64 " %s -n %u\n",
		       d.cycles, d.seed, argv[0], d.cycles);

	t0 = proc_now_ms();
	d.taint = taint();
	if (setup())
		goto out;
	mem_sample(&m0);
	d.self_fds = self_fds();
	ksft_print_msg("start: helper %d fds between sessions; Shmem %ld kB (logs %ld), Slab %ld kB\n",
		       d.hp_idle_fds, m0.shmem_kb, m0.logs_kb, m0.slab_kb);
	for (d.cycle = 0; d.cycle < d.cycles; d.cycle++) {
		if (d.cycle == WARMUP || (d.cycle == 0 && d.cycles <= WARMUP))
			mem_sample(&m1);
		if (one_cycle())
			goto out;
		if ((d.cycle + 1) % 25 == 0)
			ksft_print_msg("cycle %u: kills backend %u vmm %u helper %u, %lu maps %lu unmaps, %.1f s\n",
				       d.cycle + 1, d.kills[V_BACKEND],
				       d.kills[V_VMM], d.kills[V_HELPER],
				       d.maps, d.unmaps,
				       (proc_now_ms() - t0) / 1000.0);
	}
	d.victim = V_NR;
	/* The end: the same state as the baselines. */
	if (helper_fds_check(true))
		goto out;
	if (windows_empty(why, sizeof(why))) {
		fail("at the end: %s", why);
		goto out;
	}
	mem_sample(&m2);
	ksft_print_msg("end: Shmem %+ld kB vs start, %+ld kB vs cycle %u (logs subtracted); Slab %+ld kB vs start, %+ld kB vs cycle %u\n",
		       (m2.shmem_kb - m2.logs_kb) - (m0.shmem_kb - m0.logs_kb),
		       (m2.shmem_kb - m2.logs_kb) - (m1.shmem_kb - m1.logs_kb),
		       d.cycles > WARMUP ? WARMUP : 0,
		       m2.slab_kb - m0.slab_kb, m2.slab_kb - m1.slab_kb,
		       d.cycles > WARMUP ? WARMUP : 0);
	ksft_print_msg("helper fds: %d between sessions, %d in a session, flat; burst ops acked %lu, failed by the kill %lu (%u VMM/helper kills cut a burst, %u odd failure answers); helper kill -> windows empty: <= %lld ms; round trip ~%lu us\n",
		       d.hp_idle_fds, d.hp_busy_fds, d.burst_ok, d.burst_failed,
		       d.mid_burst, d.odd_answers, d.max_reset_ms, d.lat_us);
	/* Shmem from the start (no warm-up effect), Slab from the warm-up. */
	if ((m2.shmem_kb - m2.logs_kb) - (m0.shmem_kb - m0.logs_kb) >
	    MEM_SHMEM_TOL_KB) {
		fail("Shmem grew by %ld kB over the drill (tolerance %ld kB): memfds held after their mappings went",
		     (m2.shmem_kb - m2.logs_kb) - (m0.shmem_kb - m0.logs_kb),
		     MEM_SHMEM_TOL_KB);
		goto out;
	}
	if (m2.slab_kb - m1.slab_kb > MEM_SLAB_TOL_KB) {
		fail("Slab grew by %ld kB since cycle %d (tolerance %ld kB)",
		     m2.slab_kb - m1.slab_kb, WARMUP, MEM_SLAB_TOL_KB);
		goto out;
	}
	c = self_fds();
	if (c != d.self_fds) {
		fail("the drill holds %d fds, %d at the start (a drill bug)",
		     c, d.self_fds);
		goto out;
	}
	if (taint() != d.taint) {
		fail("kernel taint %#lx, was %#lx at the start", taint(),
		     d.taint);
		goto out;
	}
	ret = 0;
out:
	if (ret) {
		ksft_print_msg("FAILED at cycle %u of %u, victim %s, seed %" PRIu64 ": %s\n",
			       d.cycle, d.cycles,
			       d.victim < V_NR ? victim_name[d.victim] : "none",
			       d.seed, d.fail);
		print_logs();
		if (taint() != d.taint)
			print_dmesg_tail();
		ksft_test_result_fail("crash_drill: cycle %u of %u, victim %s, seed %" PRIu64 ", kills backend=%u vmm=%u helper=%u: %s\n",
				      d.cycle, d.cycles,
				      d.victim < V_NR ? victim_name[d.victim] : "none",
				      d.seed, d.kills[V_BACKEND],
				      d.kills[V_VMM], d.kills[V_HELPER],
				      d.fail);
	} else {
		ksft_test_result_pass("crash_drill: %u cycles, seed %" PRIu64 ", kills backend=%u vmm=%u helper=%u, %lu maps %lu unmaps, %.1f s\n",
				      d.cycles, d.seed, d.kills[V_BACKEND],
				      d.kills[V_VMM], d.kills[V_HELPER],
				      d.maps, d.unmaps,
				      (proc_now_ms() - t0) / 1000.0);
	}
	vmm_kill();
	stack_fini(&d.st);
	if (ret)
		ksft_exit_fail();
	ksft_exit_pass();
}
