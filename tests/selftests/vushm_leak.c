// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_leak: after teardown nothing is left behind.
 *
 * A 64 MiB memfd is mapped into a window, faulted in through a VMA and
 * closed by the backend; then the mapping goes away by UNMAP, RESET,
 * closing the controller, DESTROY or the end of an EPHEMERAL window.  Shmem
 * in /proc/meminfo must come back to its baseline (within 1 MiB): the page
 * cache pages are gone, so the window dropped its file reference.  Shmem
 * alone would not see page references leaked by stale PTEs or a forgotten
 * put_page (the pages leave the page cache at inode eviction either way), so
 * the memory nobody accounts for must not grow either (within 16 MiB, a
 * quarter of the memfd): MemTotal minus free pages (MemFree and the per-CPU
 * free lists) and every /proc/meminfo owner (page cache, anon, slab, page
 * tables, stacks, per-CPU, vmalloc, huge pages).  A leaked page is in none
 * of them; the slab or page-table growth of a busy kernel is in one of
 * them, so it is not mistaken for a leak (plain MemFree was: CI once saw
 * it 26 MiB short with Shmem back to its baseline).
 * File descriptor counts stay flat over many create/map/teardown cycles.
 */
#include "vushm_test.h"

#define SEED		0x1eaf
#define BIG		(64 * MiB)

FIXTURE(leak) {
	struct vt_win w;
	struct vt_mem_snap base;
};

FIXTURE_VARIANT(leak) {
	__u32 hole_policy;
};

FIXTURE_VARIANT_ADD(leak, hole_zero) {
	.hole_policy = VUSHM_HOLE_ZERO,
};

FIXTURE_VARIANT_ADD(leak, hole_sigbus) {
	.hole_policy = VUSHM_HOLE_SIGBUS,
};

/*
 * Baseline, then: a 64 MiB memfd mapped RW into a fresh 2 * BIG window
 * (variant->hole_policy) mmapped read-write, every page read and written
 * through the window, the memfd closed.
 */
FIXTURE_SETUP(leak)
{
	struct vt_mem_snap now;

	vt_win_setup(_metadata, &self->w, 2 * BIG);
	if (variant->hole_policy == VUSHM_HOLE_SIGBUS &&
	    !(self->w.ctx.info.features & VUSHM_F_HOLE_SIGBUS))
		VT_SETUP_SKIP("no VUSHM_F_HOLE_SIGBUS");
	vt_mem_take(&self->base);

	vt_win_open(_metadata, &self->w, "leak", variant->hole_policy);
	vt_win_memfd(_metadata, &self->w, BIG, SEED, 0);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, BIG / 2, BIG,
			    VUSHM_MAP_RW));
	ASSERT_EQ(-1, vt_check_pattern(self->w.win + BIG / 2, BIG, SEED, 0));
	memset(self->w.win + BIG / 2 + MiB, 0x3e, MiB);
	close(self->w.fd);
	self->w.fd = -1;

	/* The memory really is in use now, held by the window alone. */
	vt_mem_take(&now);
	ASSERT_LE(self->base.shmem_kb + (long)(BIG / KiB) - 1024, now.shmem_kb)
		TH_LOG("Shmem %ld kB, baseline %ld kB", now.shmem_kb,
		       self->base.shmem_kb);
}

FIXTURE_TEARDOWN(leak)
{
	vt_win_teardown(_metadata, &self->w);
}

#define EXPECT_BACK_TO_BASE() do {					\
	struct vt_mem_snap __now;						\
	bool __ok = vt_mem_back_to_base(&self->base, &__now);			\
									\
	EXPECT_TRUE(__ok);						\
	if (!__ok)							\
		vt_mem_print_deltas(_metadata, &self->base, &__now);		\
} while (0)

/* munmap of the VMA alone frees nothing: the window still maps the file. */
#define EXPECT_STILL_HELD() do {					\
	struct vt_mem_snap __now;						\
									\
	vt_mem_take(&__now);							\
	EXPECT_LE(self->base.shmem_kb + (long)(BIG / KiB) - 1024,	\
		  __now.shmem_kb);					\
} while (0)

TEST_F_TIMEOUT(leak, unmap, 60)
{
	ASSERT_EQ(0, munmap(self->w.win, 2 * BIG));
	self->w.win = MAP_FAILED;
	EXPECT_STILL_HELD();
	ASSERT_EQ(0, vt_unmap(self->w.cfd, BIG / 2, BIG));
	EXPECT_BACK_TO_BASE();
}

/* UNMAP while the VMA is still there (the usual VMM case). */
TEST_F_TIMEOUT(leak, unmap_vma_kept, 60)
{
	ASSERT_EQ(0, vt_unmap(self->w.cfd, BIG / 2, BIG));
	EXPECT_BACK_TO_BASE();
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "mapped_bytes"));
}

TEST_F_TIMEOUT(leak, reset, 60)
{
	ASSERT_EQ(0, vt_reset(self->w.cfd));
	EXPECT_BACK_TO_BASE();
}

TEST_F_TIMEOUT(leak, controller_close, 60)
{
	ASSERT_EQ(0, close(self->w.cfd));
	self->w.cfd = -1;
	EXPECT_BACK_TO_BASE();
	EXPECT_TRUE(vt_node_exists(self->w.name));
}

TEST_F_TIMEOUT(leak, destroy, 60)
{
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));
	EXPECT_BACK_TO_BASE();
	/* The VMA is still there and reads zeros. */
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + BIG / 2, 4 * MiB));
}

/* A forked child keeps the VMA, the parent unmaps: freed all the same. */
TEST_F_TIMEOUT(leak, fork_child_keeps_vma, 60)
{
	int to_child[2], to_parent[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (vt_check_pattern(self->w.win + BIG / 2, MiB, SEED, 0) != -1)
			_exit(10);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);
		/* The old pages are gone from this VMA too. */
		if (variant->hole_policy == VUSHM_HOLE_SIGBUS)
			_exit(vt_count_faults(self->w.win + BIG / 2, BIG, false,
					      SIGBUS) != BIG / PS);
		_exit(vt_first_nonzero(self->w.win + BIG / 2, BIG) != -1);
	}
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, BIG / 2, BIG));
	EXPECT_BACK_TO_BASE();
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
}

/* An EPHEMERAL window: closing its controller frees everything. */
TEST_F_TIMEOUT(leak, ephemeral, 60)
{
	char name[VUSHM_NAME_MAX];
	int cfd, fd;

	if (!(self->w.ctx.info.features & VUSHM_F_EPHEMERAL))
		SKIP(return, "no VUSHM_F_EPHEMERAL");
	/* Give the fixture's memory back first; this test brings its own. */
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));
	EXPECT_BACK_TO_BASE();

	cfd = vt_ctx_window(&self->w.ctx, "leakeph", BIG, VUSHM_HOLE_ZERO,
			    VUSHM_CREATE_EPHEMERAL, name);
	ASSERT_LE(0, cfd);
	fd = vt_memfd(BIG, SEED, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_map(cfd, fd, 0, 0, BIG, VUSHM_MAP_RW));
	close(fd);
	EXPECT_STILL_HELD();
	ASSERT_EQ(0, close(cfd));
	EXPECT_FALSE(vt_node_exists(name));
	EXPECT_BACK_TO_BASE();
}

/* ------------------------------------------------------------------ */

FIXTURE(cycles) {
	struct vt_ctx ctx;
};

FIXTURE_SETUP(cycles)
{
	VT_CTX_SETUP(&self->ctx);
}

FIXTURE_TEARDOWN(cycles)
{
	VT_CTX_TEARDOWN(&self->ctx);
}

/* Many MAP/UNMAP cycles: no growth in Shmem, fds or mapping counts. */
TEST_F_TIMEOUT(cycles, map_unmap_cycles, 120)
{
	char name[VUSHM_NAME_MAX];
	struct vt_mem_snap base, now;
	int cfd, fd, nfds, i;
	char *w;

	vt_mem_take(&base);
	nfds = vt_count_fds();
	cfd = vt_ctx_window(&self->ctx, "cyc", 8 * MiB, VUSHM_HOLE_ZERO, 0,
			    name);
	ASSERT_LE(0, cfd);
	w = vt_mmap_node(name, 8 * MiB, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w);
	for (i = 0; i < 300; i++) {
		fd = vt_memfd(MiB, SEED + i, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, vt_map(cfd, fd, 0, (i % 7) * MiB, MiB,
				    i & 1 ? VUSHM_MAP_RW : 0));
		close(fd);
		ASSERT_EQ((uint64_t)vt_word(SEED + i, 4096),
			  *(uint64_t *)(w + (i % 7) * MiB + 4096));
		ASSERT_EQ(0, vt_unmap(cfd, (i % 7) * MiB, MiB));
	}
	munmap(w, 8 * MiB);
	EXPECT_EQ(0, vt_sysfs_num(name, "nr_mappings"));
	EXPECT_EQ(0, vt_sysfs_num(name, "mapped_bytes"));
	close(cfd);
	EXPECT_EQ(nfds, vt_count_fds());
	if (!vt_mem_back_to_base(&base, &now)) {
		vt_mem_print_deltas(_metadata, &base, &now);
		EXPECT_TRUE(false);
	}
}

/* Many windows created, used and torn down in every way: fds flat. */
TEST_F_TIMEOUT(cycles, window_cycles, 120)
{
	char name[VUSHM_NAME_MAX];
	struct vt_mem_snap base, now;
	int nfds, i, fd, cfd;

	fd = vt_memfd(MiB, SEED, 0);
	ASSERT_LE(0, fd);
	vt_mem_take(&base);
	nfds = vt_count_fds();
	for (i = 0; i < 60; i++) {
		__u32 flags = (i % 3 == 2 &&
			       (self->ctx.info.features & VUSHM_F_EPHEMERAL)) ?
			      VUSHM_CREATE_EPHEMERAL : 0;
		char *w;

		vt_make_name(name, "wcyc");
		cfd = vt_create(self->ctx.ctl, name, 4 * MiB, VUSHM_HOLE_ZERO,
				flags);
		ASSERT_LE(0, cfd);
		ASSERT_EQ(0, vt_map(cfd, fd, 0, 0, MiB, VUSHM_MAP_RW));
		w = vt_mmap_node(name, 4 * MiB, 0, PROT_READ | PROT_WRITE);
		ASSERT_NE(MAP_FAILED, w);
		w[2 * MiB] = 1;		/* a scratch page in a hole */
		switch (i % 3) {
		case 0:		/* destroy with everything live */
			ASSERT_EQ(0, vt_destroy(self->ctx.ctl, name));
			close(cfd);
			break;
		case 1:		/* close, attach, close, destroy */
			close(cfd);
			cfd = vt_attach(self->ctx.ctl, name);
			ASSERT_LE(0, cfd);
			close(cfd);
			ASSERT_EQ(0, vt_destroy(self->ctx.ctl, name));
			break;
		case 2:		/* ephemeral (or plain destroy) */
			close(cfd);
			if (!flags)
				ASSERT_EQ(0, vt_destroy(self->ctx.ctl, name));
			break;
		}
		munmap(w, 4 * MiB);
		EXPECT_FALSE(vt_node_exists(name));
	}
	EXPECT_EQ(nfds, vt_count_fds());
	if (!vt_mem_back_to_base(&base, &now)) {
		vt_mem_print_deltas(_metadata, &base, &now);
		EXPECT_TRUE(false);
	}
	close(fd);
}

VT_HARNESS_MAIN
