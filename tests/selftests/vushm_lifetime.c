// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_lifetime: who holds what, and what survives what.
 *
 * The backend may close its memfd after MAP; window VMAs can be munmapped
 * in part, moved but not grown by mremap, inherited by fork; DESTROY while
 * mapped leaves the VMAs reading zeros; closing the controller drops every
 * mapping but keeps the window for ATTACH; an EPHEMERAL window goes with its
 * controller; sysfs and GET_INFO report the window; lseek(SEEK_END) gives the
 * size; MAP_PRIVATE is refused; every open of the node shares one
 * address_space.
 */
#include "vushm_test.h"

#define SEED	0x11fe
#define SEED2	0x22fe

/* A 4 MiB VUSHM_HOLE_ZERO window mmapped read-write; w.fd: a 1 MiB memfd. */
FIXTURE(lt) {
	struct vt_win w;
};

FIXTURE_SETUP(lt)
{
	vt_win_setup(_metadata, &self->w, 4 * MiB);
	vt_win_memfd(_metadata, &self->w, MiB, SEED, 0);
	vt_win_open(_metadata, &self->w, "lt", VUSHM_HOLE_ZERO);
}

FIXTURE_TEARDOWN(lt)
{
	vt_win_teardown(_metadata, &self->w);
}

/*
 * The window holds the file: after the backend closes its memfd the mapping
 * still reads and writes, also after the PTEs are dropped (munmap, then
 * mmap at the same address: MADV_DONTNEED is EINVAL on the VM_PFNMAP
 * window) and faulted back.
 */
TEST_F(lt, backend_closes_fd)
{
	char *p, *old = self->w.win;
	int nfd;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	ASSERT_EQ(0, close(self->w.fd));
	self->w.fd = -1;
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	self->w.win[PS + 3] = 0x5c;
	errno = 0;
	EXPECT_EQ(-1, madvise(self->w.win, MiB, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	nfd = vt_open_node(self->w.name, O_RDWR);
	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, munmap(self->w.win, self->w.wsize));
	self->w.win = mmap(old, self->w.wsize, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_FIXED, nfd, 0);
	close(nfd);
	ASSERT_EQ(old, self->w.win);
	EXPECT_EQ(0x5c, self->w.win[PS + 3]);
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, PS, SEED, 0));
	/* The new VMA writes the held file too. */
	self->w.win[2 * PS + 5] = 0x6d;
	/* A VMA made now faults the pages in from the held file. */
	p = vt_mmap_node(self->w.name, MiB, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0x5c, p[PS + 3]);
	EXPECT_EQ(0x6d, p[2 * PS + 5]);
	EXPECT_EQ(-1, vt_check_pattern(p + 3 * PS, MiB - 3 * PS, SEED, 3 * PS));
	munmap(p, MiB);
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, MiB));
}

/* munmap of the whole VMA and of pieces: the rest keeps working. */
TEST_F(lt, partial_munmap)
{
	char *w = self->w.win;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 16 * PS,
			    VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(w, 16 * PS, SEED, 0));
	/* A hole in the middle, the head and the tail of the VMA. */
	ASSERT_EQ(0, munmap(w + 4 * PS, 4 * PS));
	ASSERT_EQ(0, munmap(w, PS));
	ASSERT_EQ(0, munmap(w + self->w.wsize - PS, PS));
	EXPECT_EQ(SIGSEGV, vt_try_read(w + 5 * PS, NULL));
	EXPECT_EQ(SIGSEGV, vt_try_read(w, NULL));
	EXPECT_EQ(-1, vt_check_pattern(w + PS, 3 * PS, SEED, PS));
	EXPECT_EQ(-1, vt_check_pattern(w + 8 * PS, 8 * PS, SEED, 8 * PS));
	w[9 * PS] = 0x19;
	EXPECT_EQ(0x19, (unsigned char)vt_fd_u64(self->w.fd, 9 * PS));

	/* UNMAP and MAP reach every piece. */
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 16 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(w + PS, 3 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(w + 8 * PS, self->w.wsize - 9 * PS));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 16 * PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(w + 2 * PS, 2 * PS, SEED, 2 * PS));
	EXPECT_EQ(-1, vt_check_pattern(w + 10 * PS, 6 * PS, SEED, 10 * PS));

	/* And the whole rest. */
	ASSERT_EQ(0, munmap(w + PS, self->w.wsize - 2 * PS));
	self->w.win = MAP_FAILED;
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, 16 * PS));
}

/* The VMA cannot grow (VM_DONTEXPAND), in place or by moving. */
TEST_F(lt, mremap_grow_refused)
{
	char *p = vt_mmap_node(self->w.name, MiB, 0, PROT_READ | PROT_WRITE);
	void *q;

	ASSERT_NE(MAP_FAILED, p);
	/* Make room behind it so growing in place is possible. */
	munmap(p + MiB, MiB);
	errno = 0;
	q = mremap(p, MiB, 2 * MiB, 0);
	EXPECT_EQ(MAP_FAILED, q) TH_LOG("grew in place");
	TH_LOG("in place: %s", strerror(errno));
	errno = 0;
	q = mremap(p, MiB, 2 * MiB, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q) TH_LOG("grew by moving");
	if (q != MAP_FAILED)
		p = q;
	munmap(p, MiB);
}

/* mremap can move the VMA; contents, MAP and UNMAP follow it. */
TEST_F(lt, mremap_move)
{
	char *p, *dst, *q;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 64 * PS,
			    VUSHM_MAP_RW));
	p = vt_mmap_node(self->w.name, MiB, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, vt_check_pattern(p, 64 * PS, SEED, 0));
	dst = mmap(NULL, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	q = mremap(p, MiB, MiB, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	EXPECT_EQ(SIGSEGV, vt_try_read(p, NULL));
	EXPECT_EQ(-1, vt_check_pattern(q, 64 * PS, SEED, 0));
	q[10] = 0x7a;
	EXPECT_EQ(0x7a, self->w.win[10]);

	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, 64 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(q, MiB));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 128 * PS, 16 * PS, 0));
	EXPECT_EQ(0x7a, q[128 * PS + 10]);
	EXPECT_EQ(-1, vt_check_pattern(q + 128 * PS + PS, 15 * PS, SEED, PS));
	munmap(q, MiB);
}

/* fork: the child sees the parent's bytes, its MAPs and UNMAPs. */
TEST_F(lt, fork_child)
{
	int to_child[2], to_parent[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *w = self->w.win;

		if (vt_check_pattern(w, MiB, SEED, 0) != -1)
			_exit(10);
		w[100] = 0x64;		/* shared: the parent sees it */
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);	/* UNMAP + MAP at 2 MiB done */
		if (vt_first_nonzero(w, MiB) != -1)
			_exit(11);
		if (w[2 * MiB + 100] != 0x64)	/* the child's own store */
			_exit(12);
		if (vt_check_pattern(w + 2 * MiB + PS, 7 * PS, SEED, PS) != -1)
			_exit(13);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);	/* RESET done */
		if (vt_first_nonzero(w, self->w.wsize) != -1)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	EXPECT_EQ(0x64, self->w.win[100]);
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 2 * MiB, 8 * PS, 0));
	vt_post(to_child[1]);
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	ASSERT_EQ(0, vt_reset(self->w.cfd));
	vt_post(to_child[1]);
	EXPECT_EQ(0, vt_wait(pid));
}

/* The parent unmaps after the child exits, and the other way round. */
TEST_F(lt, fork_child_exit_then_unmap)
{
	pid_t pid;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(vt_check_pattern(self->w.win, MiB, SEED, 0) != -1);
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		munmap(self->w.win, self->w.wsize);
		_exit(0);
	}
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));
}

/*
 * DESTROY while mapped (here and in a child): the VMAs stay valid and read
 * zeros, stores do not crash, the node and sysfs directory go away, the
 * controller fails with ENODEV.
 */
TEST_F(lt, destroy_while_mapped)
{
	int to_child[2], to_parent[2], c2;
	pid_t pid;
	char *p;

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *mine = vt_mmap_node(self->w.name, self->w.wsize, 0,
					  PROT_READ | PROT_WRITE);

		if (mine == MAP_FAILED)
			_exit(10);
		if (vt_check_pattern(mine, MiB, SEED, 0) != -1)
			_exit(11);
		vt_post(to_parent[1]);
		vt_pend(to_child[0]);
		if (vt_first_nonzero(mine, self->w.wsize) != -1)
			_exit(12);
		if (vt_try_write(mine + PS, 1) || vt_try_read(mine, NULL))
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(0, vt_pend(to_parent[0]));
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));
	vt_post(to_child[1]);
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	EXPECT_EQ(0, vt_try_write(self->w.win + 2 * PS, 0x33));
	EXPECT_EQ(0, vt_try_read(self->w.win + 3 * MiB, NULL));
	EXPECT_EQ(0, vt_wait(pid));
	EXPECT_FALSE(vt_node_exists(self->w.name));
	EXPECT_FALSE(vt_sysfs_exists(self->w.name));
	EXPECT_EQ(-ENODEV, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	/* The name is free again; the new window is a different one. */
	c2 = vt_create(self->w.ctx.ctl, self->w.name, self->w.wsize,
		       VUSHM_HOLE_ZERO, 0);
	ASSERT_LE(0, c2);
	ASSERT_EQ(0, vt_map(c2, self->w.fd, 0, 0, MiB, 0));
	/*
	 * Not in the old VMA.  Pages 1 and 2 were stored to after DESTROY
	 * and may show the scratch page; none may show the memfd.
	 */
	EXPECT_NE(-1, vt_check_pattern(self->w.win, 4 * PS, SEED, 0));
	EXPECT_NE(-1, vt_check_pattern(self->w.win + PS, PS, SEED, PS));
	EXPECT_NE(-1, vt_check_pattern(self->w.win + 2 * PS, PS, SEED, 2 * PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, PS));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win + 3 * PS, MiB - 3 * PS));
	p = vt_mmap_node(self->w.name, MiB, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, vt_check_pattern(p + 4 * PS, MiB - 4 * PS, SEED, 4 * PS));
	munmap(p, MiB);
	close(c2);
	ASSERT_EQ(0, munmap(self->w.win, self->w.wsize));
	self->w.win = MAP_FAILED;
}

/* A SIGBUS-policy window reads zeros once destroyed, so the VMM survives. */
TEST_F(lt, destroy_sigbus_window_reads_zero)
{
	char name[VUSHM_NAME_MAX];
	char *w;
	int cfd;

	if (!(self->w.ctx.info.features & VUSHM_F_HOLE_SIGBUS))
		SKIP(return, "no VUSHM_F_HOLE_SIGBUS");
	cfd = vt_ctx_window(&self->w.ctx, "ltsb", MiB, VUSHM_HOLE_SIGBUS, 0,
			    name);
	ASSERT_LE(0, cfd);
	w = vt_mmap_node(name, MiB, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w);
	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 0, 4 * PS, VUSHM_MAP_RW));
	EXPECT_EQ(SIGBUS, vt_try_read(w + 8 * PS, NULL));
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, name));
	EXPECT_EQ(0UL, vt_count_faults(w, MiB, false, SIGBUS));
	EXPECT_EQ(-1, vt_first_nonzero(w, MiB));
	EXPECT_EQ(0UL, vt_count_faults(w, MiB, true, SIGBUS));
	munmap(w, MiB);
	close(cfd);
}

/*
 * Closing the controller (its last reference) removes every mapping; the
 * window, its node and its VMAs stay, and ATTACH gives a new controller.
 */
TEST_F(lt, controller_close_drops_mappings)
{
	int dup_fd, c2;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 2 * MiB, PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));

	/* Not the last reference yet. */
	dup_fd = dup(self->w.cfd);
	ASSERT_LE(0, dup_fd);
	ASSERT_EQ(0, close(self->w.cfd));
	self->w.cfd = -1;
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	EXPECT_EQ(-EBUSY, vt_attach(self->w.ctx.ctl, self->w.name));

	ASSERT_EQ(0, close(dup_fd));
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, self->w.wsize));
	EXPECT_TRUE(vt_node_exists(self->w.name));
	EXPECT_TRUE(vt_sysfs_exists(self->w.name));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "controller"));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "nr_mappings"));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "mapped_bytes"));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));

	c2 = vt_attach(self->w.ctx.ctl, self->w.name);
	ASSERT_LE(0, c2);
	EXPECT_EQ(1, vt_sysfs_num(self->w.name, "controller"));
	EXPECT_EQ(-EBUSY, vt_attach(self->w.ctx.ctl, self->w.name));
	/* The old ranges are free and the old VMA sees the new MAP. */
	ASSERT_EQ(0, vt_map(c2, self->w.fd, 0, 0, MiB, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, MiB, SEED, 0));
	self->w.cfd = c2;
}

/* ATTACH while a controller exists: EBUSY; after it is closed: works. */
TEST_F(lt, attach_busy)
{
	int c2;

	EXPECT_EQ(-EBUSY, vt_attach(self->w.ctx.ctl, self->w.name));
	ASSERT_EQ(0, close(self->w.cfd));
	self->w.cfd = -1;
	c2 = vt_attach(self->w.ctx.ctl, self->w.name);
	ASSERT_LE(0, c2);
	EXPECT_EQ(-EBUSY, vt_attach(self->w.ctx.ctl, self->w.name));
	/* The attached controller works. */
	EXPECT_EQ(0, vt_map(c2, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(-1, vt_check_pattern(self->w.win, PS, SEED, 0));
	self->w.cfd = c2;
}

/* ATTACH from another process (a restarted backend). */
TEST_F(lt, attach_from_other_process)
{
	pid_t pid;

	ASSERT_EQ(0, close(self->w.cfd));
	self->w.cfd = -1;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = vt_open_control();
		int c = ctl < 0 ? -1 : vt_attach(ctl, self->w.name);

		if (c < 0)
			_exit(10);
		if (vt_map(c, self->w.fd, 0, 0, 2 * PS, VUSHM_MAP_RW))
			_exit(11);
		_exit(0);	/* the controller closes with the process */
	}
	EXPECT_EQ(0, vt_wait(pid));
	/* The child's exit closed its controller: no mapping left. */
	EXPECT_EQ(-1, vt_first_nonzero(self->w.win, 4 * PS));
	EXPECT_EQ(0, vt_sysfs_num(self->w.name, "controller"));
}

/* EPHEMERAL: the window goes with its controller. */
TEST_F(lt, ephemeral)
{
	char name[VUSHM_NAME_MAX];
	char *w;
	int cfd;

	if (!(self->w.ctx.info.features & VUSHM_F_EPHEMERAL))
		SKIP(return, "no VUSHM_F_EPHEMERAL");
	cfd = vt_ctx_window(&self->w.ctx, "eph", MiB, VUSHM_HOLE_ZERO,
			    VUSHM_CREATE_EPHEMERAL, name);
	ASSERT_LE(0, cfd);
	EXPECT_TRUE(vt_node_exists(name));
	EXPECT_EQ(1, vt_sysfs_num(name, "ephemeral"));
	w = vt_mmap_node(name, MiB, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, w);
	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(w, MiB, SEED, 0));

	ASSERT_EQ(0, close(cfd));
	EXPECT_FALSE(vt_node_exists(name));
	EXPECT_FALSE(vt_sysfs_exists(name));
	EXPECT_EQ(-ENOENT, vt_attach(self->w.ctx.ctl, name));
	EXPECT_EQ(-ENOENT, vt_destroy(self->w.ctx.ctl, name));
	EXPECT_EQ(-1, vt_first_nonzero(w, MiB));
	EXPECT_EQ(0, vt_try_write(w, 1));
	EXPECT_EQ(-1, vt_check_fd(self->w.fd, 0, MiB, SEED));
	/* The name can be used again. */
	cfd = vt_create(self->w.ctx.ctl, name, MiB, VUSHM_HOLE_ZERO, 0);
	EXPECT_LE(0, cfd);
	if (cfd >= 0)
		close(cfd);
	munmap(w, MiB);
}

/* sysfs attributes and GET_INFO on the controller follow the window. */
TEST_F(lt, sysfs_and_info)
{
	struct vushm_create cr;
	struct vushm_info info;
	char name[VUSHM_NAME_MAX], buf[64];
	bool sb = self->w.ctx.info.features & VUSHM_F_HOLE_SIGBUS;
	char *p1, *p2;
	int cfd;

	vt_make_name(name, "sys");
	vt_create_args(&cr, name, 6 * MiB, sb ? VUSHM_HOLE_SIGBUS : 0);
	cr.shmid = 7;
	cfd = vt_ctx_window_ex(&self->w.ctx, &cr);
	ASSERT_LE(0, cfd);

	EXPECT_EQ((long long)(6 * MiB), vt_sysfs_num(name, "size"));
	EXPECT_EQ(7, vt_sysfs_num(name, "shmid"));
	ASSERT_EQ(0, vt_sysfs_read(name, "hole_policy", buf, sizeof(buf)));
	EXPECT_STREQ(sb ? "sigbus" : "zero", buf);
	ASSERT_EQ(0, vt_sysfs_read(self->w.name, "hole_policy", buf,
				   sizeof(buf)));
	EXPECT_STREQ("zero", buf);
	EXPECT_EQ(0, vt_sysfs_num(name, "nr_mappings"));
	EXPECT_EQ(0, vt_sysfs_num(name, "mapped_bytes"));
	EXPECT_EQ(0, vt_sysfs_num(name, "nr_vmas"));
	EXPECT_EQ(1, vt_sysfs_num(name, "controller"));
	EXPECT_EQ(0, vt_sysfs_num(name, "ephemeral"));

	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 0, 3 * PS, 0));
	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 5 * MiB, 5 * PS, VUSHM_MAP_RW));
	EXPECT_EQ(2, vt_sysfs_num(name, "nr_mappings"));
	EXPECT_EQ((long long)(8 * PS), vt_sysfs_num(name, "mapped_bytes"));

	p1 = vt_mmap_node(name, 6 * MiB, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, p1);
	p2 = vt_mmap_node(name, MiB, 5 * MiB, PROT_READ);
	ASSERT_NE(MAP_FAILED, p2);
	EXPECT_EQ(2, vt_sysfs_num(name, "nr_vmas"));

	ASSERT_EQ(0, vt_get_info(cfd, &info));
	EXPECT_EQ((__u32)VUSHM_API_VERSION, info.api_version);
	EXPECT_EQ(PS, info.page_size);
	EXPECT_EQ(6 * MiB, info.size);
	EXPECT_EQ(7U, info.shmid);
	EXPECT_EQ(sb ? 1U : 0U, info.hole_policy);
	EXPECT_EQ(2U, info.nr_mappings);
	EXPECT_EQ(8 * PS, info.mapped_bytes);
	EXPECT_STREQ(name, info.name);
	EXPECT_EQ(0U, info.reserved0);
	EXPECT_EQ(0U, info.reserved1);
	EXPECT_EQ(0ULL, info.reserved[0] | info.reserved[1]);
	EXPECT_EQ(self->w.ctx.info.features, info.features);

	munmap(p2, MiB);
	EXPECT_EQ(1, vt_sysfs_num(name, "nr_vmas"));
	ASSERT_EQ(0, vt_unmap(cfd, 0, 3 * PS));
	EXPECT_EQ(1, vt_sysfs_num(name, "nr_mappings"));
	EXPECT_EQ((long long)(5 * PS), vt_sysfs_num(name, "mapped_bytes"));
	ASSERT_EQ(0, vt_get_info(cfd, &info));
	EXPECT_EQ(1U, info.nr_mappings);
	EXPECT_EQ(5 * PS, info.mapped_bytes);

	close(cfd);
	EXPECT_EQ(0, vt_sysfs_num(name, "controller"));
	EXPECT_EQ(0, vt_sysfs_num(name, "nr_mappings"));
	EXPECT_EQ(0, vt_sysfs_num(name, "mapped_bytes"));
	munmap(p1, 6 * MiB);
	EXPECT_EQ(0, vt_sysfs_num(name, "nr_vmas"));
}

/* GET_INFO on the control node: the module, no window. */
TEST_F(lt, info_control)
{
	struct vushm_info *i = &self->w.ctx.info;

	EXPECT_EQ((__u32)VUSHM_API_VERSION, i->api_version);
	EXPECT_EQ(PS, i->page_size);
	EXPECT_EQ(VUSHM_F_URING_CMD | VUSHM_F_HOLE_SIGBUS | VUSHM_F_EPHEMERAL |
		  VUSHM_F_ATTACH, i->features);
	EXPECT_LE(PS, i->max_window_size);
	EXPECT_EQ(0ULL, i->max_window_size % PS);
	EXPECT_LT(0U, i->max_windows);
	EXPECT_LT(0U, i->max_mappings);
	EXPECT_EQ(0ULL, i->size);
	EXPECT_EQ(0U, i->shmid);
	EXPECT_EQ(0U, i->hole_policy);
	EXPECT_EQ(0U, i->nr_mappings);
	EXPECT_EQ(0ULL, i->mapped_bytes);
	EXPECT_EQ(0, i->name[0]);
	EXPECT_LT(0U, i->max_total_mappings);
	EXPECT_EQ(0U, i->reserved1);
	EXPECT_EQ(0ULL, i->reserved[0] | i->reserved[1]);
	TH_LOG("max_window_size %llu max_windows %u max_mappings %u "
	       "max_total_mappings %u max_mapped_bytes %llu",
	       (unsigned long long)i->max_window_size, i->max_windows,
	       i->max_mappings, i->max_total_mappings,
	       (unsigned long long)i->max_mapped_bytes);
}

/* The node's owner, group and mode are the ones given to CREATE. */
TEST_F(lt, node_owner_mode)
{
	struct vushm_create cr;
	char name[VUSHM_NAME_MAX], path[PATH_MAX];
	struct stat st;
	int cfd;

	vt_make_name(name, "own");
	vt_create_args(&cr, name, MiB, 0);
	cr.uid = 65534;
	cr.gid = 65533;
	cr.mode = 0640;
	cfd = vt_ctx_window_ex(&self->w.ctx, &cr);
	ASSERT_LE(0, cfd);
	vt_node_path(path, sizeof(path), name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(65534U, st.st_uid);
	EXPECT_EQ(65533U, st.st_gid);
	EXPECT_EQ(0640U, st.st_mode & 07777);
	close(cfd);

	/* mode 0 means 0600, root:root. */
	vt_make_name(name, "own0");
	vt_create_args(&cr, name, MiB, 0);
	cr.mode = 0;
	cfd = vt_ctx_window_ex(&self->w.ctx, &cr);
	ASSERT_LE(0, cfd);
	vt_node_path(path, sizeof(path), name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ(0U, st.st_gid);
	close(cfd);
}

/* lseek(SEEK_END) on the node gives the window size (QEMU checks it). */
TEST_F(lt, lseek_end)
{
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, nfd);
	EXPECT_EQ((off_t)self->w.wsize, lseek(nfd, 0, SEEK_END));
	close(nfd);
}

/* mmap must be MAP_SHARED and within the window. */
TEST_F(lt, mmap_checks)
{
	int nfd = vt_open_node(self->w.name, O_RDWR);
	void *p;

	ASSERT_LE(0, nfd);
	errno = 0;
	p = mmap(NULL, PS, PROT_READ, MAP_PRIVATE, nfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	p = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_PRIVATE, nfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	errno = 0;
	p = mmap(NULL, self->w.wsize + PS, PROT_READ, MAP_SHARED, nfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	p = mmap(NULL, 2 * PS, PROT_READ, MAP_SHARED, nfd,
		 (off_t)(self->w.wsize - PS));
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	p = mmap(NULL, PS, PROT_READ, MAP_SHARED, nfd, (off_t)self->w.wsize);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* The last page alone is fine. */
	p = mmap(NULL, PS, PROT_READ, MAP_SHARED, nfd,
		 (off_t)(self->w.wsize - PS));
	EXPECT_NE(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, PS);
	close(nfd);
}

/*
 * A second device node for the same window (mknod elsewhere, as a
 * container's /dev would have) shares the address_space: MAP and UNMAP
 * reach its VMAs too.
 */
TEST_F(lt, second_node_path)
{
	char path[PATH_MAX], dir[] = "/tmp/vt-node-XXXXXX", alt[PATH_MAX + 16];
	struct stat st;
	bool mounted = false;
	char *p;
	int nfd;

	vt_node_path(path, sizeof(path), self->w.name);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_NE(NULL, mkdtemp(dir));
	/* /tmp may be on a filesystem without device nodes: use a tmpfs. */
	if (!mount("vt-tmpfs", dir, "tmpfs", 0, "size=1m"))
		mounted = true;
	snprintf(alt, sizeof(alt), "%s/node", dir);
	ASSERT_EQ(0, mknod(alt, S_IFCHR | 0600, st.st_rdev));
	nfd = open(alt, O_RDWR | O_CLOEXEC);
	unlink(alt);
	if (mounted)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	ASSERT_LE(0, nfd);
	p = mmap(NULL, self->w.wsize, PROT_READ | PROT_WRITE,
		 MAP_SHARED, nfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(nfd);

	EXPECT_EQ(-1, vt_first_nonzero(p, MiB));	/* PTEs before MAP */
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, MiB, VUSHM_MAP_RW));
	EXPECT_EQ(-1, vt_check_pattern(p, MiB, SEED, 0));
	p[8] = 0x08;
	EXPECT_EQ(0x08, self->w.win[8]);
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, MiB));
	EXPECT_EQ(-1, vt_first_nonzero(p, MiB));
	EXPECT_EQ(1 + 1, vt_sysfs_num(self->w.name, "nr_vmas"));
	munmap(p, self->w.wsize);
}

VT_HARNESS_MAIN
