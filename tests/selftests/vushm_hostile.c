// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_hostile: a backend that shrinks, punches or re-sizes its memfd
 * while the window maps it.
 *
 * The window holds a reference on every page it maps and its PTEs are
 * special (no rmap), so the page cache can drop the pages from the file
 * without finding them "still mapped": the kernel logs nothing, is not
 * tainted, and the window goes on showing the pages it mapped (and taking
 * stores into them, for RW mappings) until UNMAP, which frees them.  What
 * the backend does to its file afterwards is no longer seen by the window.
 */
#include <linux/falloc.h>

#include "vushm_test.h"

#define SEED	0x4057
#define SEED2	0x4058
#define BIG	(32 * MiB)
#define TAINT_BAD_PAGE	5	/* include/linux/panic.h */

/*
 * A 2 * BIG VUSHM_HOLE_ZERO window mmapped read-write; w.fd: a BIG memfd
 * (pattern SEED) mapped at window offset 0, RW or RO per variant, installed
 * into the VMA by the MAP (PTEs present).
 */
FIXTURE(hostile) {
	struct vt_win w;
	struct vt_mem_snap base;
	unsigned long taint0;
};

FIXTURE_VARIANT(hostile) {
	__u64 flags;
};

FIXTURE_VARIANT_ADD(hostile, rw) {
	.flags = VUSHM_MAP_RW,
};

FIXTURE_VARIANT_ADD(hostile, ro) {
	.flags = 0,
};

FIXTURE_SETUP(hostile)
{
	self->taint0 = vt_tainted();
	vt_win_setup(_metadata, &self->w, 2 * BIG);
	vt_mem_take(&self->base);
	vt_win_memfd(_metadata, &self->w, BIG, SEED, 0);
	vt_win_create(_metadata, &self->w, "hostile", VUSHM_HOLE_ZERO);
	vt_win_mmap(_metadata, &self->w, PROT_READ | PROT_WRITE);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, BIG,
			    variant->flags));
	ASSERT_EQ(-1, vt_check_pattern(self->w.win, BIG / 2, SEED, 0));
}

FIXTURE_TEARDOWN(hostile)
{
	vt_win_teardown(_metadata, &self->w);
	/* "BUG: Bad page cache" taints; the kernel log is checked by vt_ctx. */
	EXPECT_EQ(0UL, (vt_tainted() & ~self->taint0) & (1UL << TAINT_BAD_PAGE));
}

/*
 * The window still shows the pattern everywhere: through the PTEs the MAP
 * installed, then through faults of a new VMA.
 */
static void expect_snapshot(struct __test_metadata *_metadata,
			    struct vt_win *w)
{
	EXPECT_EQ(-1, vt_check_pattern(w->win, BIG, SEED, 0));
	ASSERT_EQ(0, munmap(w->win, w->wsize));
	w->win = vt_mmap_node(w->name, w->wsize, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w->win);
	EXPECT_EQ(-1, vt_check_pattern(w->win, BIG, SEED, 0));
}

/* The backend closes its file: all the memory is back. */
static void expect_back(struct __test_metadata *_metadata,
			struct vt_win *w, const struct vt_mem_snap *base)
{
	struct vt_mem_snap now;
	bool ok;

	close(w->fd);
	w->fd = -1;
	ok = vt_mem_back_to_base(base, &now);
	EXPECT_TRUE(ok);
	if (!ok)
		vt_mem_print_deltas(_metadata, base, &now);
}

/* UNMAP gives the pages back; the window reads zeros there. */
static void expect_freed(struct __test_metadata *_metadata,
			 struct vt_win *w, const struct vt_mem_snap *base)
{
	ASSERT_EQ(0, vt_unmap(w->cfd, 0, BIG));
	EXPECT_EQ(-1, vt_first_nonzero(w->win, BIG));
	expect_back(_metadata, w, base);
}

/* ftruncate to 0: the file is empty, the window is not. */
TEST_F_TIMEOUT(hostile, truncate_to_zero, 60)
{
	struct stat st;

	ASSERT_EQ(0, ftruncate(self->w.fd, 0));
	ASSERT_EQ(0, fstat(self->w.fd, &st));
	EXPECT_EQ(0, st.st_size);
	expect_snapshot(_metadata, &self->w);
	if (variant->flags & VUSHM_MAP_RW) {
		/* Stores still work and read back; the file does not see them. */
		memset(self->w.win + MiB, 0x6b, PS);
		EXPECT_EQ(0x6b, self->w.win[MiB + PS - 1]);
	} else {
		EXPECT_EQ(SIGBUS, vt_try_write(self->w.win + MiB, 1));
	}
	/* A new MAP of the now empty file fails as beyond its end. */
	EXPECT_EQ(-ENXIO, vt_map(self->w.cfd, self->w.fd, 0, BIG, PS, 0));
	expect_freed(_metadata, &self->w, &self->base);
}

/* Punching the whole file, and MADV_REMOVE through the backend's own mmap. */
TEST_F_TIMEOUT(hostile, punch_hole, 60)
{
	char *own;

	ASSERT_EQ(0, fallocate(self->w.fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, BIG / 2));
	own = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, self->w.fd, 0);
	ASSERT_NE(MAP_FAILED, own);
	ASSERT_EQ(0, madvise(own + BIG / 2, BIG / 2, MADV_REMOVE));
	/* The file reads zeros now, the window the old bytes. */
	EXPECT_EQ(-1, vt_first_nonzero(own, BIG));
	munmap(own, BIG);
	expect_snapshot(_metadata, &self->w);
	expect_freed(_metadata, &self->w, &self->base);
}

/*
 * Shrink to a quarter, grow again, write new bytes into the whole file: the
 * quarter the file kept is still shared with the window and shows them; the
 * rest of the window keeps the old pages.  A new MAP of the file shows the
 * new bytes everywhere.
 */
TEST_F_TIMEOUT(hostile, truncate_regrow, 60)
{
	ASSERT_EQ(0, ftruncate(self->w.fd, BIG / 4));
	ASSERT_EQ(0, ftruncate(self->w.fd, BIG));
	ASSERT_EQ(0, vt_fill_fd(self->w.fd, 0, BIG, SEED2));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, BIG / 4, SEED2, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + BIG / 4, 3 * BIG / 4,
				       SEED, BIG / 4));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, BIG, BIG,
			    variant->flags));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + BIG, BIG, SEED2, 0));
	if (variant->flags & VUSHM_MAP_RW) {
		/* Two addresses of one page: volatile, or the compiler reorders. */
		volatile char *v = self->w.win;

		/* The kept quarter is one page in both mappings... */
		v[BIG + 5] = 0x11;
		EXPECT_EQ(0x11, v[5]);
		/* ...the rest are two. */
		v[BIG + BIG / 2] = 0x22;
		EXPECT_NE(0x22, v[BIG / 2]);
	}
	EXPECT_EQ(0, vt_unmap(self->w.cfd, BIG, BIG));
	expect_freed(_metadata, &self->w, &self->base);
}

/* Truncate between MAP and UNMAP in a loop: nothing logged, nothing kept. */
TEST_F_TIMEOUT(hostile, cycles, 120)
{
	int i;

	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, BIG));
	for (i = 0; i < 200; i++) {
		int fd = vt_memfd(MiB, SEED + i, 0);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, vt_map(self->w.cfd, fd, 0, (i % 7) * MiB, MiB,
				    variant->flags));
		if (i & 1) {
			ASSERT_EQ(0, ftruncate(fd, (i % 5) * PS));
		} else {
			ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE, 0, MiB));
		}
		close(fd);
		ASSERT_EQ(-1, vt_check_pattern(self->w.win + (i % 7) * MiB,
					       MiB, SEED + i, 0));
		ASSERT_EQ(0, vt_unmap(self->w.cfd, (i % 7) * MiB, MiB));
	}
	expect_back(_metadata, &self->w, &self->base);
}

TEST_HARNESS_MAIN
