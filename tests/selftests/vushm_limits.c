// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_limits: the module's limits and memory accounting.
 *
 * Module parameters (/sys/module/vushm/parameters/) cap windows, mappings
 * per window, mappings and mapped bytes over all windows.  Going over one
 * gives ENOSPC and changes nothing; freeing makes room again; lowering a
 * limit below what exists keeps what exists.  GET_INFO reports the values.
 * What MAP allocates is charged to the caller's memory cgroup and given
 * back at UNMAP.  Every test restores the parameters it changed.
 */
#include "vushm_test.h"

#define PARAM_DIR	"/sys/module/vushm/parameters/"
#define CG_ROOT		"/sys/fs/cgroup"
#define SEED		0x11a1

static int param_read(const char *name, unsigned long long *v)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static int param_write(const char *name, unsigned long long v)
{
	char path[128], buf[64];
	int fd, len, ret = 0;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu", v);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/* Sum of a numeric sysfs attribute over every window of the module. */
static long long sum_windows(const char *attr)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *e;
	long long sum = 0, v;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		v = vt_sysfs_num(e->d_name, attr);
		if (v > 0)
			sum += v;
	}
	closedir(d);
	return sum;
}

static long long count_windows(void)
{
	DIR *d = opendir(VT_SYSFS_DIR);
	struct dirent *e;
	long long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static const char *const params[] = {
	"max_windows", "max_mappings", "max_total_mappings",
	"max_mapped_bytes", "max_window_size",
};
#define NR_PARAMS (sizeof(params) / sizeof(params[0]))

FIXTURE(limits) {
	struct vt_ctx ctx;
	unsigned long long saved[NR_PARAMS];
	char name[2][VUSHM_NAME_MAX];
	int cfd[2];
	int fd;		/* a 4 MiB memfd with a pattern */
};

FIXTURE_SETUP(limits)
{
	size_t i;

	self->cfd[0] = self->cfd[1] = self->fd = -1;
	for (i = 0; i < NR_PARAMS; i++)
		ASSERT_EQ(0, param_read(params[i], &self->saved[i]))
			TH_LOG("parameter %zu of %zu", i, NR_PARAMS);
	VT_CTX_SETUP(&self->ctx);
	for (i = 0; i < 2; i++) {
		self->cfd[i] = vt_ctx_window(&self->ctx, "lim", 16 * MiB,
					     VUSHM_HOLE_ZERO, 0, self->name[i]);
		ASSERT_LE(0, self->cfd[i]);
	}
	self->fd = vt_memfd(4 * MiB, SEED, 0);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(limits)
{
	size_t i;

	for (i = 0; i < NR_PARAMS; i++)
		EXPECT_EQ(0, param_write(params[i], self->saved[i]))
			TH_LOG("restoring parameter %zu", i);
	for (i = 0; i < 2; i++)
		if (self->cfd[i] >= 0)
			close(self->cfd[i]);
	if (self->fd >= 0)
		close(self->fd);
	VT_CTX_TEARDOWN(&self->ctx);
}

/* One page of the memfd at window page @pg of window @i. */
static int map_page(FIXTURE_DATA(limits) *self, int i, unsigned int pg)
{
	return vt_map(self->cfd[i], self->fd, (pg % 1024) * PS, pg * PS, PS, 0);
}

TEST_F(limits, info_reports_parameters)
{
	struct vushm_info info;

	ASSERT_EQ(0, param_write("max_total_mappings", 123457));
	ASSERT_EQ(0, param_write("max_mapped_bytes", 7 * MiB));
	ASSERT_EQ(0, vt_get_info(self->ctx.ctl, &info));
	EXPECT_EQ(self->saved[0], info.max_windows);
	EXPECT_EQ(self->saved[1], info.max_mappings);
	EXPECT_EQ(123457U, info.max_total_mappings);
	EXPECT_EQ(7 * MiB, info.max_mapped_bytes);
	EXPECT_EQ(self->saved[4] & ~(unsigned long long)(PS - 1),
		  info.max_window_size);
	/* The same on a controller fd. */
	ASSERT_EQ(0, vt_get_info(self->cfd[0], &info));
	EXPECT_EQ(123457U, info.max_total_mappings);
	EXPECT_EQ(7 * MiB, info.max_mapped_bytes);
}

TEST_F(limits, max_windows)
{
	char name[VUSHM_NAME_MAX];
	long long n = count_windows();
	int cfd;

	ASSERT_LE(2, n);
	ASSERT_EQ(0, param_write("max_windows", n + 1));
	cfd = vt_ctx_window(&self->ctx, "lim", MiB, VUSHM_HOLE_ZERO, 0, name);
	ASSERT_LE(0, cfd);
	close(cfd);
	EXPECT_EQ(-ENOSPC, vt_ctx_window(&self->ctx, "lim", MiB,
					 VUSHM_HOLE_ZERO, 0, name));
	EXPECT_FALSE(vt_node_exists(name));
	EXPECT_EQ(n + 1, count_windows());
	/* Lowered below what exists: existing windows stay. */
	ASSERT_EQ(0, param_write("max_windows", 1));
	EXPECT_EQ(n + 1, count_windows());
	EXPECT_EQ(0, map_page(self, 0, 0));
	EXPECT_EQ(-ENOSPC, vt_ctx_window(&self->ctx, "lim", MiB,
					 VUSHM_HOLE_ZERO, 0, name));
}

TEST_F(limits, max_mappings_per_window)
{
	char *win;
	int i;

	ASSERT_EQ(0, param_write("max_mappings", 3));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, map_page(self, 0, i));
	EXPECT_EQ(-ENOSPC, map_page(self, 0, 3));
	EXPECT_EQ(3, vt_sysfs_num(self->name[0], "nr_mappings"));
	/* Per window: the other window still takes mappings. */
	EXPECT_EQ(0, map_page(self, 1, 3));
	/* The refused range is a hole. */
	win = vt_mmap_node(self->name[0], 16 * MiB, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, win);
	EXPECT_EQ(-1, vt_first_nonzero(win + 3 * PS, PS));
	EXPECT_EQ(-1, vt_check_pattern(win + 2 * PS, PS, SEED, 2 * PS));
	/* Room again after an UNMAP. */
	ASSERT_EQ(0, vt_unmap(self->cfd[0], 0, PS));
	EXPECT_EQ(0, map_page(self, 0, 3));
	EXPECT_EQ(-1, vt_check_pattern(win + 3 * PS, PS, SEED, 3 * PS));
	munmap(win, 16 * MiB);
}

TEST_F(limits, max_total_mappings)
{
	long long base = sum_windows("nr_mappings");

	ASSERT_LE(0, base);
	ASSERT_EQ(0, param_write("max_total_mappings", base + 3));
	ASSERT_EQ(0, map_page(self, 0, 0));
	ASSERT_EQ(0, map_page(self, 0, 1));
	ASSERT_EQ(0, map_page(self, 1, 0));
	EXPECT_EQ(-ENOSPC, map_page(self, 1, 1));
	EXPECT_EQ(-ENOSPC, map_page(self, 0, 2));
	EXPECT_EQ(1, vt_sysfs_num(self->name[1], "nr_mappings"));
	/* A RESET of one window gives room to the other. */
	ASSERT_EQ(0, vt_reset(self->cfd[0]));
	EXPECT_EQ(0, map_page(self, 1, 1));
	EXPECT_EQ(0, map_page(self, 1, 2));
	EXPECT_EQ(-ENOSPC, map_page(self, 1, 3));
	/* Closing a controller resets its window: room again. */
	ASSERT_EQ(0, close(self->cfd[1]));
	self->cfd[1] = -1;
	EXPECT_EQ(0, map_page(self, 0, 5));
}

TEST_F(limits, max_mapped_bytes)
{
	long long base = sum_windows("mapped_bytes");

	ASSERT_LE(0, base);
	ASSERT_EQ(0, param_write("max_mapped_bytes", base + MiB));
	ASSERT_EQ(0, vt_map(self->cfd[0], self->fd, 0, 0, MiB / 2, 0));
	ASSERT_EQ(0, vt_map(self->cfd[1], self->fd, 0, 0, MiB / 2,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-ENOSPC, vt_map(self->cfd[0], self->fd, 0, MiB, PS, 0));
	/* A failed MAP reserved nothing. */
	EXPECT_EQ(-EEXIST, vt_map(self->cfd[0], self->fd, 0, 0, PS, 0));
	EXPECT_EQ(0, vt_unmap(self->cfd[1], 0, MiB / 2));
	EXPECT_EQ(0, vt_map(self->cfd[0], self->fd, 0, MiB, PS, 0));
	EXPECT_EQ(-ENOSPC, vt_map(self->cfd[0], self->fd, 0, 2 * MiB,
				  MiB / 2, 0));
	EXPECT_EQ(0, vt_map(self->cfd[0], self->fd, 0, 2 * MiB,
			    MiB / 2 - PS, 0));
	/* 0 lifts the limit. */
	ASSERT_EQ(0, param_write("max_mapped_bytes", 0));
	EXPECT_EQ(0, vt_map(self->cfd[0], self->fd, 0, 4 * MiB, 2 * MiB, 0));
}

/* DESTROY gives its window's share of a module-wide limit back. */
TEST_F(limits, destroy_gives_room)
{
	long long base = sum_windows("nr_mappings");

	ASSERT_EQ(0, param_write("max_total_mappings", base + 2));
	ASSERT_EQ(0, map_page(self, 0, 0));
	ASSERT_EQ(0, map_page(self, 0, 1));
	EXPECT_EQ(-ENOSPC, map_page(self, 1, 0));
	ASSERT_EQ(0, vt_destroy(self->ctx.ctl, self->name[0]));
	EXPECT_EQ(0, map_page(self, 1, 0));
	EXPECT_EQ(0, map_page(self, 1, 1));
	EXPECT_EQ(-ENOSPC, map_page(self, 1, 2));
}

/* ------------------------------------------------------------------ */

static long cg_read_num(const char *cg, const char *file)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return vt_write_str(path, val);
}

FIXTURE(memcg) {
	struct vt_ctx ctx;
	char cg[128];
	char name[VUSHM_NAME_MAX];
	int cfd;
};

FIXTURE_SETUP(memcg)
{
	char buf[256];
	int fd;
	ssize_t n;

	self->cfd = -1;
	self->cg[0] = 0;
	fd = open(CG_ROOT "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		SKIP(return, "no cgroup v2 at " CG_ROOT);
	buf[n] = 0;
	if (!strstr(buf, "memory"))
		SKIP(return, "no memory controller");
	ASSERT_EQ(0, cg_write(CG_ROOT, "cgroup.subtree_control", "+memory"));
	snprintf(self->cg, sizeof(self->cg), CG_ROOT "/vushm-memcg-%d",
		 getpid());
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	VT_CTX_SETUP(&self->ctx);
	self->cfd = vt_ctx_window(&self->ctx, "mcg", 64 * MiB, VUSHM_HOLE_ZERO,
				  0, self->name);
	ASSERT_LE(0, self->cfd);
}

FIXTURE_TEARDOWN(memcg)
{
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->cg[0])
		rmdir(self->cg);
	VT_CTX_TEARDOWN(&self->ctx);
}

#define NMAPS	8192

/*
 * A child in a fresh memory cgroup MAPs NMAPS single pages (the memfd is
 * the parent's, already charged to the parent's cgroup): the cgroup's
 * memory grows by at least the mappings' slab (72-byte objects, so 64
 * bytes each is a floor) and falls back after UNMAP.
 */
TEST_F(memcg, map_is_charged_to_caller)
{
	int to_child[2], to_parent[2], fd, i, status;
	long before, mapped, after;
	char pid[32];
	pid_t child;

	fd = vt_memfd(NMAPS * PS, SEED, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		vt_pend(to_child[0]);
		for (i = 0; i < NMAPS; i++)
			if (vt_map(self->cfd, fd, (__u64)i * PS,
				   (__u64)i * 2 * PS, PS, 0))
				_exit(10);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);
		for (i = 0; i < NMAPS; i++)
			if (vt_unmap(self->cfd, (__u64)i * 2 * PS, PS))
				_exit(11);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%d", child);
	ASSERT_EQ(0, cg_write(self->cg, "cgroup.procs", pid));
	before = cg_read_num(self->cg, "memory.current");
	ASSERT_LE(0, before);
	vt_post(to_child[1]);
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	mapped = cg_read_num(self->cg, "memory.current");
	EXPECT_EQ(NMAPS, vt_sysfs_num(self->name, "nr_mappings"));
	EXPECT_LE(before + NMAPS * 64L, mapped)
		TH_LOG("memory.current %ld -> %ld after %d MAPs", before,
		       mapped, NMAPS);
	vt_post(to_child[1]);
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	after = cg_read_num(self->cg, "memory.current");
	/* Slab pages may stay with the cgroup; the objects' bytes do not. */
	EXPECT_GE(mapped - NMAPS * 48L, after)
		TH_LOG("memory.current %ld -> %ld -> %ld", before, mapped,
		       after);
	vt_post(to_child[1]);
	ASSERT_EQ(0, waitpid(child, &status, 0) == child ? 0 : -1);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	close(fd);
}

VT_HARNESS_MAIN
