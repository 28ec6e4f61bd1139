/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vushm_test.h - helpers shared by the vushm selftests.
 *
 * Every test binary includes this header once (it pulls in
 * kselftest_harness.h, which defines non-static symbols).  A binary that
 * uses io_uring defines VT_URING before including it and links liburing.
 *
 * Conventions: helpers return 0 (or a new fd) on success and -errno on
 * failure, so tests can write ASSERT_EQ(-EINVAL, vt_map(...)).
 */
#ifndef VUSHM_TEST_H
#define VUSHM_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/magic.h>

#ifdef VT_URING
#include <liburing.h>
#endif

/* The 6.1 harness does not build cleanly with -Wextra. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include <uapi/linux/vushm.h>

#define VT_CONTROL_PATH	"/dev/vushm/control"
#define VT_DEV_DIR	"/dev/vushm"
#define VT_SYSFS_DIR	"/sys/class/vushm"
#define VT_NAME_PREFIX	"vt-"

#define KiB		(1024ULL)
#define MiB		(1024ULL * KiB)
#define GiB		(1024ULL * MiB)
#define TiB		(1024ULL * GiB)

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB		0x0004U
#endif

static inline size_t vt_ps(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}
#define PS	vt_ps()

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* ioctl() returning its value, or -errno. */
static inline int vt_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline int vt_open_control(void)
{
	int fd = open(VT_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int vt_get_info(int fd, struct vushm_info *info)
{
	memset(info, 0, sizeof(*info));
	return vt_ioctl(fd, VUSHM_GET_INFO, info);
}

/* Copy up to VUSHM_NAME_MAX bytes of @name (no NUL if it is that long). */
static inline void vt_set_name(char dst[VUSHM_NAME_MAX], const char *name)
{
	memset(dst, 0, VUSHM_NAME_MAX);
	memcpy(dst, name, strnlen(name, VUSHM_NAME_MAX));
}

static inline void vt_create_args(struct vushm_create *c, const char *name,
				  __u64 size, __u32 hole_policy)
{
	memset(c, 0, sizeof(*c));
	vt_set_name(c->name, name);
	c->size = size;
	c->hole_policy = hole_policy;
	c->mode = 0600;
}

/* Returns a controller fd or -errno. */
static inline int vt_create_ex(int ctl, struct vushm_create *c)
{
	return vt_ioctl(ctl, VUSHM_CREATE, c);
}

static inline int vt_create(int ctl, const char *name, __u64 size,
			    __u32 hole_policy, __u32 flags)
{
	struct vushm_create c;

	vt_create_args(&c, name, size, hole_policy);
	c.flags = flags;
	return vt_create_ex(ctl, &c);
}

static inline void vt_ref_args(struct vushm_window_ref *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	vt_set_name(r->name, name);
}

static inline int vt_attach(int ctl, const char *name)
{
	struct vushm_window_ref r;

	vt_ref_args(&r, name);
	return vt_ioctl(ctl, VUSHM_ATTACH, &r);
}

static inline int vt_destroy(int ctl, const char *name)
{
	struct vushm_window_ref r;

	vt_ref_args(&r, name);
	return vt_ioctl(ctl, VUSHM_DESTROY, &r);
}

static inline void vt_map_args(struct vushm_map *m, int fd, __u64 fd_offset,
			       __u64 shm_offset, __u64 len, __u64 flags)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->fd_offset = fd_offset;
	m->shm_offset = shm_offset;
	m->len = len;
	m->flags = flags;
}

static inline int vt_map(int cfd, int fd, __u64 fd_offset, __u64 shm_offset,
			 __u64 len, __u64 flags)
{
	struct vushm_map m;

	vt_map_args(&m, fd, fd_offset, shm_offset, len, flags);
	return vt_ioctl(cfd, VUSHM_MAP, &m);
}

static inline void vt_unmap_args(struct vushm_unmap *u, __u64 shm_offset,
				 __u64 len)
{
	memset(u, 0, sizeof(*u));
	u->shm_offset = shm_offset;
	u->len = len;
}

static inline int vt_unmap(int cfd, __u64 shm_offset, __u64 len)
{
	struct vushm_unmap u;

	vt_unmap_args(&u, shm_offset, len);
	return vt_ioctl(cfd, VUSHM_UNMAP, &u);
}

static inline int vt_reset(int cfd)
{
	return vt_ioctl(cfd, VUSHM_RESET, NULL);
}

/* A name unique to this process: "vt-<tag>-<pid>-<seq>". */
static inline void vt_make_name(char name[VUSHM_NAME_MAX], const char *tag)
{
	static unsigned int seq;

	snprintf(name, VUSHM_NAME_MAX, VT_NAME_PREFIX "%.8s-%d-%u", tag,
		 (int)getpid(), seq++);
}

/* ------------------------------------------------------------------ */
/* The window node                                                     */
/* ------------------------------------------------------------------ */

static inline void vt_node_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, VT_DEV_DIR "/%s", name);
}

static inline bool vt_node_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	vt_node_path(path, sizeof(path), name);
	return stat(path, &st) == 0;
}

/*
 * Open /dev/vushm/<name>.  devtmpfs creates the node before CREATE returns,
 * but a udev in the VM may replace it; retry ENOENT briefly.
 */
static inline int vt_open_node(const char *name, int flags)
{
	char path[PATH_MAX];
	int i, fd = -1;

	vt_node_path(path, sizeof(path), name);
	for (i = 0; i < 200; i++) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	return fd < 0 ? -errno : fd;
}

/* mmap len bytes of the window from off, MAP_SHARED; MAP_FAILED + errno. */
static inline void *vt_mmap_node(const char *name, size_t len, off_t off,
				 int prot)
{
	int fd = vt_open_node(name, O_RDWR);
	void *p;
	int err;

	if (fd < 0) {
		errno = -fd;
		return MAP_FAILED;
	}
	p = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	err = errno;
	close(fd);
	errno = err;
	return p;
}

/* ------------------------------------------------------------------ */
/* Byte patterns                                                       */
/* ------------------------------------------------------------------ */

/* The 64-bit word at byte offset @off (multiple of 8) of pattern @seed.  Never 0. */
static inline uint64_t vt_word(uint64_t seed, uint64_t off)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + (off >> 3) + 1;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x | 1;
}

/* Fill buf as bytes [base, base + len) of pattern @seed (base, len % 8 == 0). */
static inline void vt_pattern(void *buf, size_t len, uint64_t seed,
			      uint64_t base)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = vt_word(seed, base + i * 8);
}

/* -1 if buf holds bytes [base, base + len) of @seed, else the first bad offset. */
static inline ssize_t vt_check_pattern(const void *buf, size_t len,
				       uint64_t seed, uint64_t base)
{
	const volatile uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != vt_word(seed, base + i * 8))
			return (ssize_t)(i * 8);
	return -1;
}

/* -1 if all zero, else the first non-zero byte's offset. */
static inline ssize_t vt_first_nonzero(const void *buf, size_t len)
{
	const volatile unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return (ssize_t)i;
	return -1;
}

/* Write pattern @seed into fd bytes [off, off + len). */
static inline int vt_fill_fd(int fd, uint64_t off, size_t len, uint64_t seed)
{
	size_t chunk = 1 * MiB, done = 0;
	char *buf = malloc(chunk);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;

		vt_pattern(buf, n, seed, off + done);
		if (pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n) {
			ret = -EIO;
			break;
		}
		done += n;
	}
	free(buf);
	return ret;
}

/*
 * -1 if fd bytes [off, off + len) hold bytes [base, base + len) of pattern
 * @seed, -2 on I/O error, else the first bad offset.
 */
static inline ssize_t vt_check_fd_at(int fd, uint64_t off, size_t len,
				     uint64_t seed, uint64_t base)
{
	size_t chunk = 1 * MiB, done = 0;
	char *buf = malloc(chunk);
	ssize_t bad = -1;

	if (!buf)
		return -2;
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;

		if (pread(fd, buf, n, (off_t)(off + done)) != (ssize_t)n) {
			bad = -2;
			break;
		}
		bad = vt_check_pattern(buf, n, seed, base + done);
		if (bad >= 0) {
			bad += done;
			break;
		}
		done += n;
	}
	free(buf);
	return bad;
}

/* The same with the pattern at its own offsets. */
static inline ssize_t vt_check_fd(int fd, uint64_t off, size_t len,
				  uint64_t seed)
{
	return vt_check_fd_at(fd, off, len, seed, off);
}

/* 0 if fd bytes [off, off + len) equal buf. */
static inline int vt_fd_cmp(int fd, uint64_t off, const void *buf, size_t len)
{
	char *tmp = malloc(len);
	int ret;

	if (!tmp)
		return -ENOMEM;
	if (pread(fd, tmp, len, (off_t)off) != (ssize_t)len)
		ret = -EIO;
	else
		ret = memcmp(tmp, buf, len) ? 1 : 0;
	free(tmp);
	return ret;
}

static inline uint64_t vt_fd_u64(int fd, uint64_t off)
{
	uint64_t v = 0;

	if (pread(fd, &v, sizeof(v), (off_t)off) != sizeof(v))
		return 0xdeadbeefdeadbeefULL;
	return v;
}

/* ------------------------------------------------------------------ */
/* Backing files                                                       */
/* ------------------------------------------------------------------ */

/* memfd of @size bytes, filled with pattern @seed unless seed == 0. */
static inline int vt_memfd(size_t size, uint64_t seed, unsigned int flags)
{
	int fd = memfd_create("vushm-test", MFD_CLOEXEC | flags);
	int ret;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (seed) {
		ret = vt_fill_fd(fd, 0, size, seed);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd;
}

enum vt_backing {
	VT_BACK_MEMFD,		/* memfd_create() */
	VT_BACK_DEV_SHM,	/* a file in /dev/shm (skip if not tmpfs) */
	VT_BACK_TMPFS_MOUNT,	/* a file in a tmpfs mounted for the test */
};

static inline bool vt_is_tmpfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/*
 * Open a file of @size bytes on tmpfs, filled with @seed, O_RDWR.  The
 * file is unlinked (and a private mount detached) at once: the fd keeps it.
 * Returns the fd, -EOPNOTSUPP if that kind of tmpfs is unavailable, or -errno.
 */
static inline int vt_tmpfs_file(enum vt_backing kind, size_t size,
				uint64_t seed)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	bool mounted = false;
	int fd, ret;

	if (kind == VT_BACK_MEMFD)
		return vt_memfd(size, seed, 0);
	if (kind == VT_BACK_DEV_SHM) {
		if (!vt_is_tmpfs("/dev/shm"))
			return -EOPNOTSUPP;
		snprintf(dir, sizeof(dir), "/dev/shm");
	} else {
		snprintf(dir, sizeof(dir), "/tmp/vt-tmpfs-XXXXXX");
		if (!mkdtemp(dir)) {
			snprintf(dir, sizeof(dir), "/dev/vt-tmpfs-XXXXXX");
			if (!mkdtemp(dir))
				return -errno;
		}
		if (mount("vt-tmpfs", dir, "tmpfs", 0, "size=256m")) {
			ret = -errno;
			rmdir(dir);
			return ret;
		}
		mounted = true;
	}
	snprintf(path, sizeof(path), "%s/vt-file-%d-%ld", dir, (int)getpid(),
		 (long)random());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : 0;
	if (fd >= 0)
		unlink(path);
	if (mounted) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
	if (ret)
		return ret;
	if (ftruncate(fd, (off_t)size) ||
	    (seed && vt_fill_fd(fd, 0, size, seed))) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* Reopen an fd's file through /proc with other flags. */
static inline int vt_reopen(int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

static inline long vt_meminfo_kb(const char *key);

/*
 * A 2 MiB-huge-page memfd.  Reserves a few huge pages first (writing 4 to
 * nr_hugepages if none are free).  -EOPNOTSUPP when none can be had.
 */
static inline int vt_hugetlb_memfd(size_t *size_out)
{
	long hp_kb = vt_meminfo_kb("Hugepagesize:");
	int fd;

	if (hp_kb <= 0)
		return -EOPNOTSUPP;
	if (vt_meminfo_kb("HugePages_Free:") < 1) {
		int s = open("/proc/sys/vm/nr_hugepages", O_WRONLY);

		if (s >= 0) {
			ssize_t w = write(s, "4", 1);

			(void)w;
			close(s);
		}
	}
	if (vt_meminfo_kb("HugePages_Free:") < 1)
		return -EOPNOTSUPP;
	fd = memfd_create("vushm-test-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0)
		return -EOPNOTSUPP;
	if (ftruncate(fd, hp_kb * 1024)) {
		close(fd);
		return -EOPNOTSUPP;
	}
	*size_out = (size_t)hp_kb * 1024;
	return fd;
}

/*
 * An O_RDONLY fd of a regular file on a filesystem that is not tmpfs (the
 * test binary itself, else a few system files).  -ENOENT if none found.
 */
static inline int vt_nontmpfs_file(size_t *size_out)
{
	static const char *const cands[] = {
		"/proc/self/exe", "/etc/passwd", "/bin/sh", "/proc/meminfo",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cands); i++) {
		struct statfs sf;
		struct stat st;
		int fd = open(cands[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (fstatfs(fd, &sf) || sf.f_type == TMPFS_MAGIC ||
		    fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			continue;
		}
		*size_out = (size_t)st.st_size;
		return fd;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------------ */
/* "Does this access fault?"                                           */
/* ------------------------------------------------------------------ */

static __thread sigjmp_buf vt_jmp;
static __thread volatile sig_atomic_t vt_jmp_armed;
static __thread void *volatile vt_fault_addr;

static inline void vt_fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!vt_jmp_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	vt_jmp_armed = 0;
	vt_fault_addr = si->si_addr;
	siglongjmp(vt_jmp, sig);
}

/*
 * Access one byte at @p (a store of @val if @write, else a load into *@out).
 * Returns 0 if it completed, or the signal (SIGBUS, SIGSEGV) it raised.
 */
static inline int vt_access(volatile unsigned char *p, bool write,
			    unsigned char val, unsigned char *out)
{
	struct sigaction sa, obus, osegv;
	volatile int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vt_fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &obus);
	sigaction(SIGSEGV, &sa, &osegv);

	sig = sigsetjmp(vt_jmp, 1);
	if (sig == 0) {
		vt_jmp_armed = 1;
		if (write) {
			*p = val;
		} else {
			unsigned char v = *p;

			if (out)
				*out = v;
		}
		vt_jmp_armed = 0;
	}
	sigaction(SIGBUS, &obus, NULL);
	sigaction(SIGSEGV, &osegv, NULL);
	return sig;
}

static inline int vt_try_read(const void *p, unsigned char *out)
{
	return vt_access((volatile unsigned char *)p, false, 0, out);
}

static inline int vt_try_write(void *p, unsigned char val)
{
	return vt_access((volatile unsigned char *)p, true, val, NULL);
}

/* Read every page's first byte of [p, p + len): number of pages that fault with @sig. */
static inline unsigned long vt_count_faults(const void *p, size_t len,
					    bool write, int sig)
{
	unsigned long n = 0;
	size_t off;

	for (off = 0; off < len; off += PS) {
		int r = write ? vt_try_write((char *)p + off, 0x5a) :
				vt_try_read((const char *)p + off, NULL);
		if (r == sig)
			n++;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* /proc, /sys                                                         */
/* ------------------------------------------------------------------ */

/* A /proc/meminfo value in kB (as printed), or -1. */
static inline long vt_meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	size_t klen = strlen(key);
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen)) {
			v = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/*
 * Free memory in kB: MemFree plus the pages on the per-CPU free lists
 * (/proc/zoneinfo "count:"), which MemFree leaves out and which can hold
 * tens of MiB right after a large free (pcp high is ~27 MiB per CPU in a
 * 2 GiB VM).
 */
static inline long vt_free_kb(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	long pcp = 0, v;
	char line[256];

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " count: %ld", &v) == 1)
				pcp += v;
		fclose(f);
	}
	return vt_meminfo_kb("MemFree:") + pcp * (long)(PS / 1024);
}

static inline long vt_shmem_kb(void)
{
	return vt_meminfo_kb("Shmem:");
}

/* Poll Shmem until it is <= limit_kb or timeout_ms passes; returns the last value. */
static inline long vt_wait_shmem_le(long limit_kb, int timeout_ms)
{
	long v = vt_shmem_kb();
	int t;

	for (t = 0; v > limit_kb && t < timeout_ms; t += 20) {
		usleep(20000);
		v = vt_shmem_kb();
	}
	return v;
}

static inline int vt_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

/* Read /sys/class/vushm/<name>/<attr> without the trailing newline. */
static inline int vt_sysfs_read(const char *name, const char *attr, char *buf,
				size_t n)
{
	char path[PATH_MAX];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), VT_SYSFS_DIR "/%s/%s", name, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -errno;
	buf[r] = 0;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = 0;
	return 0;
}

/* A numeric sysfs attribute, or -1 (missing) / -2 (not a number). */
static inline long long vt_sysfs_num(const char *name, const char *attr)
{
	char buf[64], *end;
	long long v;

	if (vt_sysfs_read(name, attr, buf, sizeof(buf)))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 0);
	if (errno || end == buf || *end)
		return -2;
	return v;
}

static inline bool vt_sysfs_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), VT_SYSFS_DIR "/%s", name);
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------------ */
/* Memory: where it is, and whether it came back                       */
/* ------------------------------------------------------------------ */

/* Tolerances of vt_mem_back_to_base(): kernel noise, far below a leak. */
#define VT_MEM_SHMEM_TOL_KB	1024L
#define VT_MEM_LOST_TOL_KB	(16 * 1024L)

/* The /proc/meminfo owners of memory; "unaccounted" is what is left. */
static const char *const vt_mem_owners[] = {
	"Cached:", "Buffers:", "AnonPages:", "Slab:", "PageTables:",
	"SecPageTables:", "KernelStack:", "Percpu:", "VmallocUsed:",
	"Hugetlb:",
};
#define VT_MEM_NR_OWNERS ARRAY_SIZE(vt_mem_owners)

struct vt_mem_snap {
	long shmem_kb;
	long free_kb;
	long owner_kb[VT_MEM_NR_OWNERS];
	long unaccounted_kb;
};

static inline void vt_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		ssize_t w = write(fd, "3", 1);

		(void)w;
		close(fd);
	}
}

static inline void vt_mem_take(struct vt_mem_snap *s)
{
	size_t i;

	vt_drop_caches();
	s->shmem_kb = vt_shmem_kb();
	s->free_kb = vt_free_kb();
	s->unaccounted_kb = vt_meminfo_kb("MemTotal:") - s->free_kb;
	for (i = 0; i < VT_MEM_NR_OWNERS; i++) {
		/* Fields this kernel does not have read as -1: count 0. */
		s->owner_kb[i] = vt_meminfo_kb(vt_mem_owners[i]);
		if (s->owner_kb[i] > 0)
			s->unaccounted_kb -= s->owner_kb[i];
	}
}

/* Every figure that moved, for the log of a failed check. */
static inline void vt_mem_print_deltas(struct __test_metadata *_metadata,
				       const struct vt_mem_snap *base,
				       const struct vt_mem_snap *now)
{
	char buf[512];
	int n = 0;
	size_t i;

	for (i = 0; i < VT_MEM_NR_OWNERS && n < (int)sizeof(buf) - 64; i++)
		if (now->owner_kb[i] != base->owner_kb[i])
			n += snprintf(buf + n, sizeof(buf) - n, " %s%+ld",
				      vt_mem_owners[i],
				      now->owner_kb[i] - base->owner_kb[i]);
	TH_LOG("kB vs baseline: free %+ld, unaccounted %+ld, Shmem %+ld;%s",
	       now->free_kb - base->free_kb,
	       now->unaccounted_kb - base->unaccounted_kb,
	       now->shmem_kb - base->shmem_kb, n ? buf : " no owner moved");
}

/* Wait (up to 5 s) for memory to come back to @base; the last snapshot in @now. */
static inline bool vt_mem_back_to_base(const struct vt_mem_snap *base,
				       struct vt_mem_snap *now)
{
	int i;

	for (i = 0; i < 50; i++) {
		vt_mem_take(now);
		if (now->shmem_kb <= base->shmem_kb + VT_MEM_SHMEM_TOL_KB &&
		    now->unaccounted_kb <=
		    base->unaccounted_kb + VT_MEM_LOST_TOL_KB)
			return true;
		usleep(100000);
	}
	return false;
}

/* Write @val to the file @path (sysfs, procfs, cgroupfs); 0 or -errno. */
static inline int vt_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

/* /proc/sys/kernel/tainted (0 if unreadable). */
static inline unsigned long vt_tainted(void)
{
	unsigned long t = 0;
	FILE *f = fopen("/proc/sys/kernel/tainted", "re");

	if (f) {
		if (fscanf(f, "%lu", &t) != 1)
			t = 0;
		fclose(f);
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Kernel log: no new BUG/WARNING/Oops during a test                   */
/* ------------------------------------------------------------------ */

struct vt_kmsg {
	int fd;
};

static inline void vt_kmsg_begin(struct vt_kmsg *k)
{
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd >= 0)
		lseek(k->fd, 0, SEEK_END);
}

/* Number of bad records logged since vt_kmsg_begin(); the first is copied to @first. */
static inline int vt_kmsg_check(struct vt_kmsg *k, char *first, size_t n)
{
	static const char *const bad[] = {
		"BUG:", "WARNING:", "Oops", "general protection",
		"Call Trace", "refcount_t:", "corruption", "UBSAN:",
	};
	char rec[2048];
	int found = 0;

	if (first && n)
		first[0] = 0;
	if (k->fd < 0)
		return 0;
	for (;;) {
		ssize_t r = read(k->fd, rec, sizeof(rec) - 1);
		unsigned int i;

		if (r < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (r <= 0)
			break;
		rec[r] = 0;
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			if (strstr(rec, bad[i])) {
				if (!found && first && n) {
					char *msg = strchr(rec, ';');
					size_t l;

					msg = msg ? msg + 1 : rec;
					l = strnlen(msg, n - 1);
					memcpy(first, msg, l);
					first[l] = 0;
				}
				found++;
				break;
			}
		}
	}
	close(k->fd);
	k->fd = -1;
	return found;
}

/* ------------------------------------------------------------------ */
/* Per-test context: control fd, windows to destroy, kernel log        */
/* ------------------------------------------------------------------ */

#define VT_CTX_MAX_WINDOWS	16

/* Shmem may exceed its value at the start of a test by this much at its end. */
#define VT_SHMEM_SLACK_KB	512L

struct vt_ctx {
	int ctl;
	long shmem_kb;		/* Shmem when the test started */
	struct vushm_info info;
	int nwin;
	char names[VT_CTX_MAX_WINDOWS][VUSHM_NAME_MAX];
	struct vt_kmsg kmsg;
};

static inline int vt_ctx_init(struct vt_ctx *c)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->ctl = -1;
	c->shmem_kb = vt_shmem_kb();
	vt_kmsg_begin(&c->kmsg);
	c->ctl = vt_open_control();
	if (c->ctl < 0)
		return c->ctl;
	ret = vt_get_info(c->ctl, &c->info);
	return ret < 0 ? ret : 0;
}

/* Create a window (destroyed by vt_ctx_fini); its name goes to @name. */
static inline int vt_ctx_window_ex(struct vt_ctx *c, struct vushm_create *cr)
{
	int cfd = vt_create_ex(c->ctl, cr);

	if (cfd >= 0 && c->nwin < VT_CTX_MAX_WINDOWS)
		memcpy(c->names[c->nwin++], cr->name, VUSHM_NAME_MAX);
	return cfd;
}

static inline int vt_ctx_window(struct vt_ctx *c, const char *tag,
				__u64 size, __u32 hole_policy, __u32 flags,
				char name[VUSHM_NAME_MAX])
{
	struct vushm_create cr;

	vt_make_name(name, tag);
	vt_create_args(&cr, name, size, hole_policy);
	cr.flags = flags;
	return vt_ctx_window_ex(c, &cr);
}

static inline void vt_ctx_fini(struct vt_ctx *c)
{
	int i;

	if (c->ctl >= 0) {
		for (i = 0; i < c->nwin; i++)
			vt_destroy(c->ctl, c->names[i]);
		close(c->ctl);
	}
	c->ctl = -1;
	c->nwin = 0;
}

/*
 * In FIXTURE_SETUP / FIXTURE_TEARDOWN.  The teardown, after the fixture
 * closed its files and the windows are destroyed, checks that the test left
 * no BUG/WARNING/Oops in the kernel log and no shmem memory behind.
 */
#define VT_CTX_SETUP(c) ASSERT_EQ(0, vt_ctx_init(c))
#define VT_CTX_TEARDOWN(c) do {						\
	char __vt_msg[512];						\
	long __vt_shmem;						\
	int __vt_bad;							\
									\
	vt_ctx_fini(c);							\
	__vt_bad = vt_kmsg_check(&(c)->kmsg, __vt_msg,			\
				 sizeof(__vt_msg));			\
	if (__vt_bad)							\
		TH_LOG("kernel log during test: %s", __vt_msg);		\
	EXPECT_EQ(0, __vt_bad);						\
	__vt_shmem = vt_wait_shmem_le((c)->shmem_kb + VT_SHMEM_SLACK_KB, \
				      3000);				\
	EXPECT_GE((c)->shmem_kb + VT_SHMEM_SLACK_KB, __vt_shmem)	\
		TH_LOG("Shmem %ld kB after the test, %ld kB before",	\
		       __vt_shmem, (c)->shmem_kb);			\
} while (0)

/*
 * Skip from FIXTURE_SETUP.  The 6.1 harness runs the test body after a
 * SKIP() in setup, so leave the test's child process at once (exit 255 is
 * the harness's "skipped").
 */
#define VT_SETUP_SKIP(fmt, ...) do {					\
	SKIP(;, fmt, ##__VA_ARGS__);					\
	fflush(NULL);							\
	_exit(255);							\
} while (0)

/* ------------------------------------------------------------------ */
/* Fixture: a window, its backing file, the window mmapped             */
/* ------------------------------------------------------------------ */

/*
 * What most fixtures hold.  What a fixture does not open stays -1 or
 * MAP_FAILED, and vt_win_teardown() leaves it alone.  The vt_win_*()
 * helpers take the harness's _metadata so that their ASSERTs end the test
 * as if written in FIXTURE_SETUP.  A FIXTURE_SETUP calls vt_win_setup(),
 * then the steps it needs, in its own order.
 */
struct vt_win {
	struct vt_ctx ctx;
	char name[VUSHM_NAME_MAX];
	int cfd;		/* the window's controller fd */
	int fd;			/* the backing file */
	size_t wsize;		/* window size; win maps all of it */
	char *win;		/* the window, MAP_SHARED */
};

/* Nothing open yet, then VT_CTX_SETUP. */
static inline void vt_win_setup(struct __test_metadata *_metadata,
				struct vt_win *w, size_t wsize)
{
	w->cfd = -1;
	w->fd = -1;
	w->win = MAP_FAILED;
	w->wsize = wsize;
	VT_CTX_SETUP(&w->ctx);
}

/* w->fd: a memfd of @size bytes (see vt_memfd()). */
static inline void vt_win_memfd(struct __test_metadata *_metadata,
				struct vt_win *w, size_t size, uint64_t seed,
				unsigned int flags)
{
	w->fd = vt_memfd(size, seed, flags);
	ASSERT_LE(0, w->fd);
}

/* w->cfd, w->name: a new window "vt-<tag>-..." of w->wsize bytes. */
static inline void vt_win_create(struct __test_metadata *_metadata,
				 struct vt_win *w, const char *tag,
				 __u32 hole_policy)
{
	w->cfd = vt_ctx_window(&w->ctx, tag, w->wsize, hole_policy, 0,
			       w->name);
	ASSERT_LE(0, w->cfd);
}

/* w->win: the whole window, mmapped with @prot. */
static inline void vt_win_mmap(struct __test_metadata *_metadata,
			       struct vt_win *w, int prot)
{
	w->win = vt_mmap_node(w->name, w->wsize, 0, prot);
	ASSERT_NE(MAP_FAILED, w->win);
}

/* vt_win_create(), then vt_win_mmap() read-write. */
static inline void vt_win_open(struct __test_metadata *_metadata,
			       struct vt_win *w, const char *tag,
			       __u32 hole_policy)
{
	vt_win_create(_metadata, w, tag, hole_policy);
	vt_win_mmap(_metadata, w, PROT_READ | PROT_WRITE);
}

/* In FIXTURE_TEARDOWN: munmap, close the files, then VT_CTX_TEARDOWN. */
static inline void vt_win_teardown(struct __test_metadata *_metadata,
				   struct vt_win *w)
{
	if (w->win != MAP_FAILED)
		munmap(w->win, w->wsize);
	if (w->fd >= 0)
		close(w->fd);
	if (w->cfd >= 0)
		close(w->cfd);
	VT_CTX_TEARDOWN(&w->ctx);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/* Exit status of pid: the exit code, or 128 + signal. */
static inline int vt_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Drop to uid/gid (no supplementary groups) in a child; 0 on success. */
static inline int vt_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/* One-byte "go" tokens over a pipe between parent and child. */
static inline int vt_post(int fd)
{
	char c = 'g';

	return write(fd, &c, 1) == 1 ? 0 : -1;
}

static inline int vt_pend(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static inline uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* A file on which O_DIRECT does get_user_pages()                      */
/* ------------------------------------------------------------------ */

/*
 * O_DIRECT I/O pins the user buffer with get_user_pages (FOLL_WRITE when
 * the I/O reads into memory: bio_iov_iter_get_pages() for block devices,
 * fuse_get_user_pages() for virtiofs) instead of copying through the page
 * cache, so it is a real GUP path into the window.  tmpfs on 6.1 has no
 * O_DIRECT, so try in turn: a brd RAM disk (/dev/ram0, modprobe brd), a
 * loop device over a memfd (the debug kernel has loop but no brd), then a
 * file on a filesystem that takes O_DIRECT (the directory of the test
 * binary, /var/tmp, /tmp, /).
 * Returns an O_RDWR|O_DIRECT fd of at least @size bytes, its description in
 * @desc, or -EOPNOTSUPP.
 */
static inline bool vt_odirect_works(int fd)
{
	void *buf;
	bool ok;

	if (posix_memalign(&buf, 4096, 4096))
		return false;
	memset(buf, 0xa5, 4096);
	ok = pwrite(fd, buf, 4096, 0) == 4096 && pread(fd, buf, 4096, 0) == 4096;
	free(buf);
	return ok;
}

static inline int vt_blockdev_open(const char *dev, int flags)
{
	char path[PATH_MAX], sys[PATH_MAX], buf[32];
	unsigned int maj, mnr;
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", dev);
	fd = open(path, flags | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd < 0 ? -errno : fd;
	/* No node (minimal /dev): make one from sysfs. */
	snprintf(sys, sizeof(sys), "/sys/block/%s/dev", dev);
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, sizeof(buf) - 1) <= 0 ||
	    sscanf(buf, "%u:%u", &maj, &mnr) != 2) {
		close(fd);
		return -ENODEV;
	}
	close(fd);
	snprintf(path, sizeof(path), "/dev/vt-blk-%s-%d", dev, (int)getpid());
	if (mknod(path, S_IFBLK | 0600, makedev(maj, mnr)))
		return -errno;
	fd = open(path, flags | O_CLOEXEC);
	unlink(path);
	return fd < 0 ? -errno : fd;
}

/*
 * A free loop device over a memfd of @size bytes, opened O_RDWR|O_DIRECT;
 * it detaches itself when that fd is closed (LO_FLAGS_AUTOCLEAR).
 */
static inline int vt_loop_scratch(size_t size, char *desc, size_t n)
{
	struct loop_config cfg;
	char dev[32];
	int ctl, nr, bfd, lfd, fd = -1;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -errno;
	snprintf(dev, sizeof(dev), "loop%d", nr);
	bfd = memfd_create("vt-loop", MFD_CLOEXEC);
	if (bfd < 0)
		return -errno;
	lfd = -1;
	if (ftruncate(bfd, (off_t)size) == 0)
		lfd = vt_blockdev_open(dev, O_RDWR);
	if (lfd >= 0) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = bfd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			fd = vt_blockdev_open(dev, O_RDWR | O_DIRECT);
			if (fd >= 0 && (lseek(fd, 0, SEEK_END) < (off_t)size ||
					!vt_odirect_works(fd))) {
				close(fd);
				fd = -1;
			}
		}
		close(lfd);
	}
	close(bfd);
	if (fd >= 0)
		snprintf(desc, n, "/dev/%s over a memfd", dev);
	return fd >= 0 ? fd : -EOPNOTSUPP;
}

static inline int vt_odirect_scratch(size_t size, char *desc, size_t n)
{
	static const char *const dirs[] = { NULL, "/var/tmp", "/tmp", "/" };
	char dir[PATH_MAX], path[PATH_MAX + 64];
	unsigned int i;
	ssize_t l;
	int fd;

	if (access("/sys/block/ram0", F_OK)) {
		int r = system("modprobe -q brd rd_nr=1 rd_size=65536 >/dev/null 2>&1");

		(void)r;
	}
	if (!access("/sys/block/ram0", F_OK)) {
		fd = vt_blockdev_open("ram0", O_RDWR | O_DIRECT);
		if (fd >= 0) {
			off_t end = lseek(fd, 0, SEEK_END);

			if (end >= (off_t)size && vt_odirect_works(fd)) {
				snprintf(desc, n, "brd /dev/ram0");
				return fd;
			}
			close(fd);
		}
	}
	fd = vt_loop_scratch(size, desc, n);
	if (fd >= 0)
		return fd;

	l = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (l > 0) {
		dir[l] = 0;
		if (strrchr(dir, '/'))
			*strrchr(dir, '/') = 0;
	} else {
		dir[0] = 0;
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		const char *d = dirs[i] ? dirs[i] : dir;

		if (!d[0] || vt_is_tmpfs(d))
			continue;
		snprintf(path, sizeof(path), "%s/.vt-odirect-%d-%ld", d,
			 (int)getpid(), (long)random());
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC,
			  0600);
		if (fd < 0)
			continue;
		unlink(path);
		if (ftruncate(fd, (off_t)size) == 0 && vt_odirect_works(fd)) {
			struct statfs sf;

			fstatfs(fd, &sf);
			snprintf(desc, n, "file in %s (fs magic 0x%lx)", d,
				 (unsigned long)sf.f_type);
			return fd;
		}
		close(fd);
	}
	return -EOPNOTSUPP;
}

/* ------------------------------------------------------------------ */
/* io_uring: IORING_OP_URING_CMD by hand (liburing 2.3 has no helper)  */
/* ------------------------------------------------------------------ */

#ifdef VT_URING
static inline int vt_ring_init(struct io_uring *ring, unsigned int entries)
{
	return io_uring_queue_init(entries, ring, IORING_SETUP_SQE128);
}

/* sqe->cmd: 16 bytes, 80 on an IORING_SETUP_SQE128 ring. */
static inline void *vt_sqe_cmd(struct io_uring_sqe *sqe)
{
	return (char *)sqe + offsetof(struct io_uring_sqe, addr3);
}

static inline void vt_prep_cmd(struct io_uring *ring, struct io_uring_sqe *sqe,
			       int fd, __u32 cmd_op, const void *cmd,
			       size_t len, __u64 user_data)
{
	bool big = ring->flags & IORING_SETUP_SQE128;
	size_t room = big ? 80 : 16;

	memset(sqe, 0, big ? 128 : 64);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	if (cmd && len)
		memcpy(vt_sqe_cmd(sqe), cmd, len < room ? len : room);
}

/* Submit one uring_cmd and wait: its cqe->res, or -errno from io_uring. */
/* The next CQE's result (consumed), or a negative liburing error. */
static inline int vt_uring_reap(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(ring, &cqe);

	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static inline int vt_uring_cmd(struct io_uring *ring, int fd, __u32 cmd_op,
			       const void *cmd, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	vt_prep_cmd(ring, sqe, fd, cmd_op, cmd, len, 0x7e57);
	ret = io_uring_submit_and_wait(ring, 1);
	return ret < 0 ? ret : vt_uring_reap(ring);
}

static inline int vt_uring_map(struct io_uring *ring, int cfd, int fd,
			       __u64 fd_offset, __u64 shm_offset, __u64 len,
			       __u64 flags)
{
	struct vushm_map m;

	vt_map_args(&m, fd, fd_offset, shm_offset, len, flags);
	return vt_uring_cmd(ring, cfd, VUSHM_MAP, &m, sizeof(m));
}

static inline int vt_uring_unmap(struct io_uring *ring, int cfd,
				 __u64 shm_offset, __u64 len)
{
	struct vushm_unmap u;

	vt_unmap_args(&u, shm_offset, len);
	return vt_uring_cmd(ring, cfd, VUSHM_UNMAP, &u, sizeof(u));
}
#endif /* VT_URING */

/* ------------------------------------------------------------------ */
/* main()                                                              */
/* ------------------------------------------------------------------ */

/* Destroy windows left behind by an earlier, killed run of these tests. */
static inline void vt_destroy_stale(void)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *e;
	int ctl;

	if (!d)
		return;
	ctl = vt_open_control();
	if (ctl >= 0) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, VT_NAME_PREFIX,
				     strlen(VT_NAME_PREFIX)))
				vt_destroy(ctl, e->d_name);
		close(ctl);
	}
	closedir(d);
}

static inline void vt_require_env(void)
{
	if (geteuid() != 0) {
		ksft_print_header();
		ksft_exit_skip("vushm selftests must run as root\n");
	}
	if (access(VT_CONTROL_PATH, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("%s missing: is vushm.ko loaded?\n",
			       VT_CONTROL_PATH);
	}
	srandom((unsigned int)getpid() ^ (unsigned int)time(NULL));
	vt_destroy_stale();
}

#define VT_HARNESS_MAIN							\
	int main(int argc, char **argv)					\
	{								\
		vt_require_env();					\
		return test_harness_run(argc, argv);			\
	}

#endif /* VUSHM_TEST_H */
