// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_data: the bytes seen through a window are the backing file's.
 *
 * Reads through the window equal the file; stores through a read-write
 * mapping reach the file and writes to the file show in the window; every
 * process and every VMA (made before or after the MAP) sees the same bytes;
 * several mappings of one file; large mappings; mappings at the end of a
 * 1 TiB window; memfd, /dev/shm and private-tmpfs backing files.
 */

#include "vushm_test.h"

#define SEED	0x1234
#define SEED2	0xbeef

/* A 16 MiB window mmapped read-write; w.fd: 8 MiB, variant->backing, SEED. */
FIXTURE(data) {
	struct vt_win w;
	size_t fsize;
};

FIXTURE_VARIANT(data) {
	enum vt_backing backing;
};

FIXTURE_VARIANT_ADD(data, memfd) {
	.backing = VT_BACK_MEMFD,
};

FIXTURE_VARIANT_ADD(data, dev_shm_file) {
	.backing = VT_BACK_DEV_SHM,
};

FIXTURE_VARIANT_ADD(data, tmpfs_mount_file) {
	.backing = VT_BACK_TMPFS_MOUNT,
};

FIXTURE_SETUP(data)
{
	self->fsize = 8 * MiB;
	vt_win_setup(_metadata, &self->w, 16 * MiB);

	self->w.fd = vt_tmpfs_file(variant->backing, self->fsize, SEED);
	if (self->w.fd == -EOPNOTSUPP)
		VT_SETUP_SKIP("this tmpfs backing is not available here");
	ASSERT_LE(0, self->w.fd);

	vt_win_open(_metadata, &self->w, "data", VUSHM_HOLE_ZERO);
}

FIXTURE_TEARDOWN(data)
{
	vt_win_teardown(_metadata, &self->w);
}

/* A read-only and a read-write mapping read exactly the file's bytes. */
TEST_F(data, read_equals_file)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 2 * MiB, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 2 * MiB, 4 * MiB, 2 * MiB,
			    VUSHM_MAP_RW));

	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 2 * MiB, SEED, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 4 * MiB, 2 * MiB, SEED,
				       2 * MiB));
	/* What lies between and after is a hole. */
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 2 * MiB, 2 * MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 6 * MiB, 10 * MiB));
}

/* fd_offset selects where in the file the mapping starts. */
/*
 * A process that opened the node read-only can still map it MAP_SHARED (the
 * core then clears VM_SHARED and keeps VM_MAYSHARE) and sees the bytes, and
 * cannot make the mapping writable.
 */
TEST_F(data, readonly_open_maps_shared)
{
	int nfd = vt_open_node(self->w.name, O_RDONLY);
	char *p;

	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 2 * MiB,
			    VUSHM_MAP_RW));
	p = mmap(NULL, 2 * MiB, PROT_READ, MAP_SHARED, nfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(-1, vt_check_pattern(p, 2 * MiB, SEED, 0));
	EXPECT_EQ(-1, mprotect(p, 2 * MiB, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, munmap(p, 2 * MiB));
	EXPECT_EQ(0, close(nfd));
}

/*
 * MAP installs every page into the existing VMA at once: reading the whole
 * range afterwards takes no page fault on the window (a 4 MiB map spans
 * many install batches), and the window counts every page as installed.
 * The window's own fault counter is the measure: the process's ru_minflt
 * also counts faults on the test's code and libc pages, which a cold page
 * cache (a fresh build over 9p) turns up between two getrusage() calls.
 */
TEST_F(data, eager_install_no_faults)
{
	const size_t len = 4 * MiB;
	long long before = vt_sysfs_num(self->w.name, "stats/pages_installed");
	long long faults;
	volatile unsigned char sum = 0;
	size_t off;

	ASSERT_LE(0, before);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, len, 0));
	faults = vt_sysfs_num(self->w.name, "stats/faults");
	ASSERT_LE(0, faults);
	for (off = 0; off < len; off += PS)
		sum += ((volatile unsigned char *)self->w.win)[off];
	(void)sum;
	EXPECT_EQ(faults, vt_sysfs_num(self->w.name, "stats/faults"));
	EXPECT_EQ(before + (long long)(len / PS),
		  vt_sysfs_num(self->w.name, "stats/pages_installed"));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, len, SEED, 0));
}

TEST_F(data, fd_offset)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 5 * MiB + 3 * PS, 8 * MiB,
			    16 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 8 * MiB, 16 * PS, SEED,
				       5 * MiB + 3 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 8 * MiB - PS, PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 8 * MiB + 16 * PS, PS));
}

/* Stores through a read-write mapping land in the file. */
TEST_F(data, window_write_reaches_file)
{
	char *buf = malloc(MiB);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, 0, MiB,
			    VUSHM_MAP_RW));
	vt_pattern(buf, MiB, SEED2, 0);
	memcpy(self->w.win, buf, MiB);
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, MiB, buf, MiB));
	/* Only that range of the file changed. */
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 2 * MiB, MiB, SEED));
	free(buf);
}

/* Writes to the file show through read-only and read-write mappings. */
TEST_F(data, file_write_shows_in_window)
{
	char *buf = malloc(MiB);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, 2 * MiB, MiB,
			    VUSHM_MAP_RW));
	/* Fault the pages in first, so the PTEs exist before the write. */
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 2 * MiB, MiB, SEED, MiB));

	ASSERT_EQ(0, vt_fill_fd(self->w.fd, 0, 2 * MiB, SEED2));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED2, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 2 * MiB, MiB, SEED2, MiB));
	free(buf);
}

/*
 * Another process that maps the node after the MAP (a VMA the MAP did not
 * see) reads the bytes, and its stores are seen here and in the file.
 */
TEST_F(data, other_process_vma_after_map)
{
	pid_t pid;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 4 * MiB, 2 * MiB,
			    VUSHM_MAP_RW));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = vt_mmap_node(self->w.name, 2 * MiB, 4 * MiB,
				       PROT_READ | PROT_WRITE);

		if (p == MAP_FAILED)
			_exit(10);
		if (vt_check_pattern(p, 2 * MiB, SEED, 0) != -1)
			_exit(11);
		memcpy(p + 100 * PS, "child was here", 15);
		_exit(0);
	}
	ASSERT_EQ(0, vt_wait(pid));
	EXPECT_EQ(0, memcmp(self->w.win + 4 * MiB + 100 * PS, "child was here",
			    15));
	EXPECT_EQ(0, vt_fd_cmp(self->w.fd, 100 * PS, "child was here", 15));
}

/*
 * A VMA another process made before the MAP gets the pages installed by
 * the MAP, and sees the UNMAP.
 */
TEST_F(data, other_process_vma_before_map)
{
	int to_child[2], to_parent[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = vt_mmap_node(self->w.name, self->w.wsize, 0,
				       PROT_READ | PROT_WRITE);

		if (p == MAP_FAILED)
			_exit(10);
		/* Touch the hole so a zero-page PTE is there before MAP. */
		if (vt_first_nonzero(p + 2 * MiB, MiB) != -1)
			_exit(11);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);		/* MAP done */
		if (vt_check_pattern(p + 2 * MiB, MiB, SEED, 3 * MiB) != -1)
			_exit(12);
		p[2 * MiB + 5] = 0x77;
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);		/* UNMAP done */
		if (vt_first_nonzero(p + 2 * MiB, MiB) != -1)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 3 * MiB, 2 * MiB, MiB,
			    VUSHM_MAP_RW));
	vt_post(to_child[1]);
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	EXPECT_EQ(0x77, (unsigned char)self->w.win[2 * MiB + 5]);
	EXPECT_EQ(0x77, (unsigned char)(vt_fd_u64(self->w.fd, 3 * MiB) >> 40));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 2 * MiB, MiB));
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
}

/* Several mappings of one file, including the same range twice (aliases). */
TEST_F(data, second_map_same_file)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, MiB, 8 * MiB, MiB,
			    VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 12 * MiB, 64 * KiB, 0));

	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 8 * MiB, MiB, SEED, MiB));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 12 * MiB, 64 * KiB, SEED,
				       0));
	/* A store through one alias is seen through the other. */
	self->w.win[10] = 0x42;
	EXPECT_EQ(0x42, self->w.win[12 * MiB + 10]);
}

/* Two VMAs of the window in one process see the same MAP and UNMAP. */
TEST_F(data, two_vmas_one_process)
{
	char *p2 = vt_mmap_node(self->w.name, self->w.wsize, 0,
				PROT_READ | PROT_WRITE);

	ASSERT_NE(MAP_FAILED, p2);
	EXPECT_EQ(-1, vt_first_nonzero(p2, 4 * PS));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 4 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, 4 * PS, SEED, 0));
	EXPECT_EQ(-1, vt_check_pattern(p2, 4 * PS, SEED, 0));
	p2[PS] = 0x11;
	EXPECT_EQ(0x11, self->w.win[PS]);
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 4 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, 4 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(p2, 4 * PS));
	munmap(p2, self->w.wsize);
}

/* A VMA that maps the node from a non-zero offset sees window offsets. */
TEST_F(data, node_mmap_offset)
{
	char *p = vt_mmap_node(self->w.name, 4 * MiB, 4 * MiB, PROT_READ);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 5 * MiB, MiB, 0));
	EXPECT_EQ(-1, vt_first_nonzero(p, MiB));
	EXPECT_EQ(-1, vt_check_pattern(p + MiB, MiB, SEED, 0));
	EXPECT_EQ(-1, vt_first_nonzero(p + 2 * MiB, 2 * MiB));
	munmap(p, 4 * MiB);
}

/* ------------------------------------------------------------------ */

/* w.fd: a 64 MiB memfd, SEED pattern; each test makes its own window. */
FIXTURE(big) {
	struct vt_win w;
};

FIXTURE_SETUP(big)
{
	vt_win_setup(_metadata, &self->w, 0);
	vt_win_memfd(_metadata, &self->w, 64 * MiB, SEED, 0);
}

FIXTURE_TEARDOWN(big)
{
	vt_win_teardown(_metadata, &self->w);
}

/* One 64 MiB mapping: every byte is right, stores reach the memfd. */
TEST_F_TIMEOUT(big, map_64m, 120)
{
	size_t off;

	self->w.wsize = 128 * MiB;
	vt_win_open(_metadata, &self->w, "big", VUSHM_HOLE_ZERO);

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 32 * MiB, 64 * MiB,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + 32 * MiB, 64 * MiB, SEED,
				       0));
	for (off = 0; off < 64 * MiB; off += PS)
		*(uint64_t *)(self->w.win + 32 * MiB + off) = off ^ 0xabcdef;
	for (off = 0; off < 64 * MiB; off += 16 * PS) {
		ASSERT_EQ(off ^ 0xabcdef, vt_fd_u64(self->w.fd, off));
	}
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, 32 * MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 96 * MiB, 32 * MiB));
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 32 * MiB, 64 * MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 32 * MiB, 64 * MiB));
}

/*
 * A 1 TiB window (or max_window_size if smaller): mappings at its very end
 * work through a VMA of the whole window and through one of its tail.
 */
TEST_F_TIMEOUT(big, end_of_1t_window, 60)
{
	size_t tail;
	char *p;

	self->w.wsize = 1 * TiB;
	if (self->w.ctx.info.max_window_size < self->w.wsize)
		self->w.wsize = self->w.ctx.info.max_window_size & ~(PS - 1);
	ASSERT_GE(self->w.wsize, 128 * MiB);
	vt_win_create(_metadata, &self->w, "huge", VUSHM_HOLE_ZERO);
	self->w.win = vt_mmap_node(self->w.name, self->w.wsize, 0,
				   PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, self->w.win)
		TH_LOG("mmap %zu: %s", self->w.wsize, strerror(errno));

	tail = self->w.wsize - 2 * MiB;
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 8 * MiB, tail, 2 * MiB,
			    VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, self->w.wsize / 2,
			    PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + tail, 2 * MiB, SEED,
				       8 * MiB));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win + self->w.wsize / 2, PS,
				       SEED, 0));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + tail - PS, PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, PS));

	/* The last byte of the window. */
	self->w.win[self->w.wsize - 1] = 0x3c;
	EXPECT_EQ(0x3c, (unsigned char)(vt_fd_u64(self->w.fd, 10 * MiB - 8) >> 56));

	p = vt_mmap_node(self->w.name, 4 * MiB, self->w.wsize - 4 * MiB,
			 PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, vt_first_nonzero(p, 2 * MiB));
	EXPECT_EQ(0x3c, (unsigned char)p[4 * MiB - 1]);
	munmap(p, 4 * MiB);
}

VT_HARNESS_MAIN
