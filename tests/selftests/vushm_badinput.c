// SPDX-License-Identifier: GPL-2.0
/*
 * vushm_badinput: every bad value of every command field gets the errno
 * that Documentation/vushm.rst lists for it, one test per case, and a
 * refused command changes nothing.  Positive twins (the value just inside
 * the limit) sit next to the negative cases.
 */
#define VT_URING
#include "vushm_test.h"

#define SEED	0xbad1
#define WSIZE	(4 * MiB)
#define FSIZE	(1 * MiB)

/* A WSIZE VUSHM_HOLE_ZERO window, not mmapped; w.fd: memfd, FSIZE, SEED. */
FIXTURE(bad) {
	struct vt_win w;
	char saved_param[32];	/* max_mappings to restore, or "" */
};

#define MAX_MAPPINGS_PARAM "/sys/module/vushm/parameters/max_mappings"

static int param_rw(const char *path, char *buf, size_t n, bool write)
{
	int fd = open(path, write ? O_WRONLY : O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write ? pwrite(fd, buf, strlen(buf), 0) : pread(fd, buf, n - 1, 0);
	close(fd);
	if (r < 0)
		return -errno;
	if (!write)
		buf[r] = 0;
	return 0;
}

FIXTURE_SETUP(bad)
{
	vt_win_setup(_metadata, &self->w, WSIZE);
	vt_win_memfd(_metadata, &self->w, FSIZE, SEED, MFD_ALLOW_SEALING);
	vt_win_create(_metadata, &self->w, "bad", VUSHM_HOLE_ZERO);
}

FIXTURE_TEARDOWN(bad)
{
	if (self->saved_param[0])
		param_rw(MAX_MAPPINGS_PARAM, self->saved_param,
			 sizeof(self->saved_param), true);
	vt_win_teardown(_metadata, &self->w);
}

/* CREATE through the context (so a wrong success is cleaned up); 0 or -errno. */
static int create(FIXTURE_DATA(bad) *self, struct vushm_create *c)
{
	int cfd = vt_ctx_window_ex(&self->w.ctx, c);

	if (cfd < 0)
		return cfd;
	close(cfd);
	return 0;
}

static void good_create(struct vushm_create *c)
{
	char n[VUSHM_NAME_MAX];

	vt_make_name(n, "cr");
	vt_create_args(c, n, MiB, VUSHM_HOLE_ZERO);
}

/* ------------------------------------------------------------------ */
/* VUSHM_CREATE                                                        */
/* ------------------------------------------------------------------ */

#define CREATE_CASE(tname, err, tweak)					\
TEST_F(bad, create_##tname)						\
{									\
	struct vushm_create c;						\
									\
	good_create(&c);						\
	tweak;								\
	EXPECT_EQ(err, create(self, &c));				\
}

CREATE_CASE(name_empty,		-EINVAL, vt_set_name(c.name, ""))
CREATE_CASE(name_dot,		-EINVAL, vt_set_name(c.name, "."))
CREATE_CASE(name_dotdot,	-EINVAL, vt_set_name(c.name, ".."))
CREATE_CASE(name_control,	-EINVAL, vt_set_name(c.name, "control"))
CREATE_CASE(name_slash,		-EINVAL, vt_set_name(c.name, "vt-a/b"))
CREATE_CASE(name_space,		-EINVAL, vt_set_name(c.name, "vt-a b"))
CREATE_CASE(name_star,		-EINVAL, vt_set_name(c.name, "vt-a*"))
CREATE_CASE(name_newline,	-EINVAL, vt_set_name(c.name, "vt-a\n"))
CREATE_CASE(name_high_byte,	-EINVAL, vt_set_name(c.name, "vt-\xc3\xa9"))
/* Letters to the kernel's Latin-1 isalnum(), not to the documented set. */
CREATE_CASE(name_latin1_c0,	-EINVAL, vt_set_name(c.name, "vt-\xc0"))
CREATE_CASE(name_latin1_e9,	-EINVAL, vt_set_name(c.name, "vt-\xe9x"))
CREATE_CASE(name_latin1_ff,	-EINVAL, vt_set_name(c.name, "\xff"))
/* 32 characters, no terminating NUL in the 32-byte field. */
CREATE_CASE(name_unterminated,	-EINVAL,
	    memset(c.name, 'a', VUSHM_NAME_MAX);
	    memcpy(c.name, "vt-", 3))
/* 31 characters and every allowed character class: fine. */
CREATE_CASE(name_31_chars_ok,	0,
	    memset(c.name, 0, VUSHM_NAME_MAX);
	    snprintf(c.name, VUSHM_NAME_MAX, "vt-%d-Az09._-", (int)getpid());
	    memset(c.name + strlen(c.name), 'x',
		   VUSHM_NAME_MAX - 1 - strlen(c.name)))
CREATE_CASE(size_zero,		-EINVAL, c.size = 0)
CREATE_CASE(size_unaligned,	-EINVAL, c.size = MiB + 1)
CREATE_CASE(size_half_page,	-EINVAL, c.size = PS / 2)
CREATE_CASE(size_too_big,	-EFBIG,
	    c.size = self->w.ctx.info.max_window_size + PS)
CREATE_CASE(size_huge,		-EFBIG, c.size = ~0ULL & ~(__u64)(PS - 1))
CREATE_CASE(size_max_ok,	0,
	    c.size = self->w.ctx.info.max_window_size & ~(__u64)(PS - 1))
CREATE_CASE(shmid_256,		-EINVAL, c.shmid = 256)
CREATE_CASE(shmid_huge,		-EINVAL, c.shmid = 0xffffffffU)
CREATE_CASE(shmid_255_ok,	0, c.shmid = 255)
CREATE_CASE(hole_policy_2,	-EINVAL, c.hole_policy = 2)
CREATE_CASE(hole_policy_huge,	-EINVAL, c.hole_policy = 0x80000000U)
CREATE_CASE(flags_bit1,		-EINVAL, c.flags = 1U << 1)
CREATE_CASE(flags_bit31,	-EINVAL, c.flags = 1U << 31)
CREATE_CASE(mode_sticky,	-EINVAL, c.mode = 01000)
CREATE_CASE(mode_setuid,	-EINVAL, c.mode = 04700)
CREATE_CASE(mode_char_type,	-EINVAL, c.mode = S_IFCHR | 0600)
CREATE_CASE(mode_0777_ok,	0, c.mode = 0777)
CREATE_CASE(uid_invalid,	-EINVAL, c.uid = 0xffffffffU)
CREATE_CASE(gid_invalid,	-EINVAL, c.gid = 0xffffffffU)
CREATE_CASE(reserved0,		-EINVAL, c.reserved[0] = 1)
CREATE_CASE(reserved1,		-EINVAL, c.reserved[1] = 1)
CREATE_CASE(reserved2,		-EINVAL, c.reserved[2] = 1)
CREATE_CASE(reserved3,		-EINVAL, c.reserved[3] = 1ULL << 63)
CREATE_CASE(duplicate,		-EEXIST, vt_set_name(c.name, self->w.name))

/* The same name as a live window, any other fields: still EEXIST. */
TEST_F(bad, create_duplicate_other_size)
{
	struct vushm_create c;

	vt_create_args(&c, self->w.name, 2 * WSIZE, VUSHM_HOLE_SIGBUS);
	EXPECT_EQ(-EEXIST, create(self, &c));
	/* The existing window is unchanged. */
	EXPECT_EQ((long long)WSIZE, vt_sysfs_num(self->w.name, "size"));
}

TEST_F(bad, create_efault)
{
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.ctx.ctl, VUSHM_CREATE, NULL));
}

/* max_windows windows at most: the next CREATE gets ENOSPC. */
TEST_F_TIMEOUT(bad, create_enospc, 300)
{
	unsigned int max = self->w.ctx.info.max_windows, existing = 0, made = 0;
	char (*names)[VUSHM_NAME_MAX];
	struct dirent *e;
	int r = 0, i;
	DIR *d;

	if (max > 4096)
		SKIP(return, "max_windows %u: too many to fill", max);
	d = opendir(VT_SYSFS_DIR);
	ASSERT_NE(NULL, d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			existing++;
	closedir(d);
	names = calloc(max + 1, VUSHM_NAME_MAX);
	ASSERT_NE(NULL, names);
	while (made <= max) {
		vt_make_name(names[made], "nsp");
		r = vt_create(self->w.ctx.ctl, names[made], PS, 0, 0);
		if (r < 0)
			break;
		close(r);
		made++;
	}
	EXPECT_EQ(-ENOSPC, r);
	EXPECT_EQ(max, existing + made);
	for (i = 0; i < (int)made; i++)
		vt_destroy(self->w.ctx.ctl, names[i]);
	/* Room again. */
	vt_make_name(names[0], "nsp");
	r = vt_create(self->w.ctx.ctl, names[0], PS, 0, 0);
	EXPECT_LE(0, r);
	if (r >= 0) {
		close(r);
		vt_destroy(self->w.ctx.ctl, names[0]);
	}
	free(names);
}

/* ------------------------------------------------------------------ */
/* VUSHM_ATTACH, VUSHM_DESTROY                                         */
/* ------------------------------------------------------------------ */

#define REF_CASE(cmd, tname, err, tweak)				\
TEST_F(bad, cmd##_##tname)						\
{									\
	struct vushm_window_ref r;					\
	int ret;							\
									\
	vt_ref_args(&r, self->w.name);					\
	tweak;								\
	ret = vt_ioctl(self->w.ctx.ctl, REF_CMD_##cmd, &r);		\
	if (ret >= 0 && REF_CMD_##cmd == VUSHM_ATTACH)			\
		close(ret);						\
	EXPECT_EQ(err, ret < 0 ? ret : 0);				\
	/* The window is still there (unless DESTROY was meant to work). */ \
	EXPECT_EQ(err == 0 && REF_CMD_##cmd == VUSHM_DESTROY ? false : true, \
		  vt_sysfs_exists(self->w.name));			\
}
#define REF_CMD_attach	VUSHM_ATTACH
#define REF_CMD_destroy	VUSHM_DESTROY

/* ATTACH: the window has a controller, so only argument errors differ. */
REF_CASE(attach, name_empty,	 -EINVAL, vt_set_name(r.name, ""))
REF_CASE(attach, name_dotdot,	 -EINVAL, vt_set_name(r.name, ".."))
REF_CASE(attach, name_slash,	 -EINVAL, vt_set_name(r.name, "a/b"))
REF_CASE(attach, name_control,	 -EINVAL, vt_set_name(r.name, "control"))
REF_CASE(attach, name_unterminated, -EINVAL, memset(r.name, 'a', 32))
REF_CASE(attach, name_latin1,	 -EINVAL, vt_set_name(r.name, "vt-\xd8"))
REF_CASE(attach, flags,		 -EINVAL, r.flags = 1)
REF_CASE(attach, flags_high,	 -EINVAL, r.flags = 1U << 31)
REF_CASE(attach, reserved0,	 -EINVAL, r.reserved[0] = 1)
REF_CASE(attach, reserved1,	 -EINVAL, r.reserved[1] = 1)
REF_CASE(attach, reserved2,	 -EINVAL, r.reserved[2] = 1)
REF_CASE(attach, enoent,	 -ENOENT, vt_set_name(r.name, "vt-no-such-window"))
REF_CASE(attach, ebusy,		 -EBUSY, (void)0)
REF_CASE(destroy, name_empty,	 -EINVAL, vt_set_name(r.name, ""))
REF_CASE(destroy, name_dot,	 -EINVAL, vt_set_name(r.name, "."))
REF_CASE(destroy, name_slash,	 -EINVAL, vt_set_name(r.name, "a/b"))
REF_CASE(destroy, name_control,	 -EINVAL, vt_set_name(r.name, "control"))
REF_CASE(destroy, name_unterminated, -EINVAL, memset(r.name, 'a', 32))
REF_CASE(destroy, name_latin1,	 -EINVAL, vt_set_name(r.name, "vt-\xf1"))
REF_CASE(destroy, flags,	 -EINVAL, r.flags = 1)
REF_CASE(destroy, reserved0,	 -EINVAL, r.reserved[0] = 1)
REF_CASE(destroy, reserved1,	 -EINVAL, r.reserved[1] = 1)
REF_CASE(destroy, reserved2,	 -EINVAL, r.reserved[2] = 1)
REF_CASE(destroy, enoent,	 -ENOENT, vt_set_name(r.name, "vt-no-such-window"))
REF_CASE(destroy, ok,		 0, (void)0)

TEST_F(bad, destroy_twice)
{
	EXPECT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));
	EXPECT_EQ(-ENOENT, vt_destroy(self->w.ctx.ctl, self->w.name));
	EXPECT_EQ(-ENOENT, vt_attach(self->w.ctx.ctl, self->w.name));
}

TEST_F(bad, attach_destroy_efault)
{
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.ctx.ctl, VUSHM_ATTACH, NULL));
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.ctx.ctl, VUSHM_DESTROY, NULL));
}

/* ------------------------------------------------------------------ */
/* VUSHM_MAP: arguments                                                */
/* ------------------------------------------------------------------ */

/* A refused MAP leaves no mapping behind. */
#define EXPECT_NO_MAPPINGS() do {					\
	struct vushm_info __i;						\
									\
	ASSERT_EQ(0, vt_get_info(self->w.cfd, &__i));			\
	EXPECT_EQ(0U, __i.nr_mappings);					\
	EXPECT_EQ(0ULL, __i.mapped_bytes);				\
} while (0)

#define MAP_CASE(tname, err, tweak)					\
TEST_F(bad, map_##tname)						\
{									\
	struct vushm_map m;						\
									\
	vt_map_args(&m, self->w.fd, 0, 0, 4 * PS, VUSHM_MAP_RW);	\
	tweak;								\
	EXPECT_EQ(err, vt_ioctl(self->w.cfd, VUSHM_MAP, &m));		\
	if (err)							\
		EXPECT_NO_MAPPINGS();					\
}

MAP_CASE(ok,			0, (void)0)
MAP_CASE(len_zero,		-EINVAL, m.len = 0)
MAP_CASE(len_unaligned,		-EINVAL, m.len = 4 * PS + 1)
MAP_CASE(len_sub_page,		-EINVAL, m.len = PS - 1)
MAP_CASE(fd_offset_unaligned,	-EINVAL, m.fd_offset = 8)
MAP_CASE(shm_offset_unaligned,	-EINVAL, m.shm_offset = PS + 8)
MAP_CASE(shm_offset_overflow,	-EINVAL,
	 m.shm_offset = ~0ULL & ~(__u64)(PS - 1); m.len = 2 * PS)
MAP_CASE(fd_offset_overflow,	-EINVAL,
	 m.fd_offset = ~0ULL & ~(__u64)(PS - 1); m.len = 2 * PS)
MAP_CASE(len_overflow,		-EINVAL,
	 m.shm_offset = PS; m.len = ~0ULL & ~(__u64)(PS - 1))
MAP_CASE(flags_bit1,		-EINVAL, m.flags = VUSHM_MAP_RW | 2)
MAP_CASE(flags_bit63,		-EINVAL, m.flags = 1ULL << 63)
MAP_CASE(reserved0,		-EINVAL, m.reserved0 = 1)
MAP_CASE(reserved_0,		-EINVAL, m.reserved[0] = 1)
MAP_CASE(reserved_1,		-EINVAL, m.reserved[1] = 1ULL << 40)
MAP_CASE(erange_past_end,	-ERANGE, m.shm_offset = WSIZE - PS)
MAP_CASE(erange_at_end,		-ERANGE, m.shm_offset = WSIZE; m.len = PS)
MAP_CASE(erange_far,		-ERANGE, m.shm_offset = 1ULL << 50)
MAP_CASE(erange_len,		-ERANGE, m.len = WSIZE + PS)
MAP_CASE(last_page_ok,		0, m.shm_offset = WSIZE - PS; m.len = PS)
MAP_CASE(enxio_past_eof,	-ENXIO, m.fd_offset = FSIZE - PS)
MAP_CASE(enxio_at_eof,		-ENXIO, m.fd_offset = FSIZE; m.len = PS)
MAP_CASE(enxio_len,		-ENXIO, m.len = FSIZE + PS)
MAP_CASE(file_end_ok,		0, m.fd_offset = FSIZE - PS; m.len = PS)
MAP_CASE(ebadf_minus1,		-EBADF, m.fd = -1)
MAP_CASE(ebadf_unused,		-EBADF, m.fd = 1000)
MAP_CASE(ebadf_huge,		-EBADF, m.fd = 0x7fffffff)

TEST_F(bad, map_efault)
{
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.cfd, VUSHM_MAP, NULL));
}

/* A closed fd number: EBADF. */
TEST_F(bad, map_ebadf_closed)
{
	int fd = vt_memfd(FSIZE, 0, 0);

	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-EBADF, vt_map(self->w.cfd, fd, 0, 0, PS, 0));
	EXPECT_NO_MAPPINGS();
}

/* ------------------------------------------------------------------ */
/* VUSHM_MAP: what the fd is                                           */
/* ------------------------------------------------------------------ */

static int map_fd_both(int cfd, int fd, int *ro, int *rw)
{
	*ro = vt_map(cfd, fd, 0, 0, PS, 0);
	if (!*ro)
		vt_unmap(cfd, 0, PS);
	*rw = vt_map(cfd, fd, 0, PS, PS, VUSHM_MAP_RW);
	if (!*rw)
		vt_unmap(cfd, PS, PS);
	return 0;
}

#define EXPECT_FD_REFUSED(fd, err) do {					\
	int __ro, __rw;							\
									\
	map_fd_both(self->w.cfd, fd, &__ro, &__rw);			\
	EXPECT_EQ(err, __ro);						\
	EXPECT_EQ(err, __rw);						\
	EXPECT_NO_MAPPINGS();						\
} while (0)

TEST_F(bad, map_hugetlb_memfd)
{
	char old[32] = "";
	size_t sz;
	int fd, s;

	s = open("/proc/sys/vm/nr_hugepages", O_RDONLY);
	if (s >= 0) {
		ssize_t n = read(s, old, sizeof(old) - 1);

		old[n > 0 ? n : 0] = 0;
		close(s);
	}
	fd = vt_hugetlb_memfd(&sz);
	if (fd < 0)
		SKIP(return, "no huge pages could be reserved");
	EXPECT_FD_REFUSED(fd, -EOPNOTSUPP);
	close(fd);
	s = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	if (s >= 0 && old[0]) {
		ssize_t n = write(s, old, strlen(old));

		(void)n;
	}
	if (s >= 0)
		close(s);
}

TEST_F(bad, map_regular_file_not_tmpfs)
{
	struct statfs sf;
	size_t sz;
	int fd = vt_nontmpfs_file(&sz);

	if (fd < 0)
		SKIP(return, "no regular file outside tmpfs");
	ASSERT_EQ(0, fstatfs(fd, &sf));
	TH_LOG("file on fs magic 0x%lx, %zu bytes", (unsigned long)sf.f_type,
	       sz);
	/* O_RDONLY: the RO case must say EOPNOTSUPP (not EACCES). */
	EXPECT_EQ(-EOPNOTSUPP, vt_map(self->w.cfd, fd, 0, 0, PS, 0));
	EXPECT_NO_MAPPINGS();
	close(fd);
}

TEST_F(bad, map_pipe)
{
	int p[2];

	/* The read end: readable, so only "not shmem" applies. */
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EOPNOTSUPP, vt_map(self->w.cfd, p[0], 0, 0, PS, 0));
	EXPECT_NO_MAPPINGS();
	close(p[0]);
	close(p[1]);
}

TEST_F(bad, map_socket)
{
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	EXPECT_FD_REFUSED(sv[0], -EOPNOTSUPP);
	close(sv[0]);
	close(sv[1]);
}

TEST_F(bad, map_window_node)
{
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, nfd);
	EXPECT_FD_REFUSED(nfd, -EOPNOTSUPP);
	close(nfd);
}

TEST_F(bad, map_control_node)
{
	EXPECT_FD_REFUSED(self->w.ctx.ctl, -EOPNOTSUPP);
}

TEST_F(bad, map_controller_fd)
{
	EXPECT_FD_REFUSED(self->w.cfd, -EOPNOTSUPP);
}

TEST_F(bad, map_dev_zero)
{
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_FD_REFUSED(fd, -EOPNOTSUPP);
	close(fd);
}

TEST_F(bad, map_directory)
{
	int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EOPNOTSUPP, vt_map(self->w.cfd, fd, 0, 0, PS, 0));
	EXPECT_NO_MAPPINGS();
	close(fd);
}

/* ------------------------------------------------------------------ */
/* VUSHM_MAP: access mode and seals                                    */
/* ------------------------------------------------------------------ */

TEST_F(bad, map_rdonly_fd_rw)
{
	int fd = vt_reopen(self->w.fd, O_RDONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EACCES, vt_map(self->w.cfd, fd, 0, 0, PS, VUSHM_MAP_RW));
	EXPECT_NO_MAPPINGS();
	close(fd);
}

TEST_F(bad, map_rdonly_fd_ro_ok)
{
	int fd = vt_reopen(self->w.fd, O_RDONLY);
	char *w;

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vt_map(self->w.cfd, fd, 0, 0, PS, 0));
	close(fd);
	w = vt_mmap_node(self->w.name, PS, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(-1, vt_check_pattern(w, PS, SEED, 0));
	munmap(w, PS);
}

TEST_F(bad, map_wronly_fd_ro)
{
	int fd = vt_reopen(self->w.fd, O_WRONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EACCES, vt_map(self->w.cfd, fd, 0, 0, PS, 0));
	EXPECT_NO_MAPPINGS();
	close(fd);
}

TEST_F(bad, map_wronly_fd_rw)
{
	int fd = vt_reopen(self->w.fd, O_WRONLY);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-EACCES, vt_map(self->w.cfd, fd, 0, 0, PS, VUSHM_MAP_RW));
	EXPECT_NO_MAPPINGS();
	close(fd);
}

#define SEAL_CASE(tname, seal)						\
TEST_F(bad, map_##tname##_rw)						\
{									\
	ASSERT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, seal));		\
	EXPECT_EQ(-EPERM, vt_map(self->w.cfd, self->w.fd, 0, 0, PS,	\
				 VUSHM_MAP_RW));			\
	EXPECT_NO_MAPPINGS();						\
}									\
TEST_F(bad, map_##tname##_ro_ok)					\
{									\
	char *w;							\
									\
	ASSERT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, seal));		\
	EXPECT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));	\
	w = vt_mmap_node(self->w.name, PS, 0, PROT_READ | PROT_WRITE);	\
	ASSERT_NE(MAP_FAILED, w);					\
	EXPECT_EQ(-1, vt_check_pattern(w, PS, SEED, 0));		\
	EXPECT_EQ(SIGBUS, vt_try_write(w, 1));				\
	munmap(w, PS);							\
}

SEAL_CASE(seal_write, F_SEAL_WRITE)
SEAL_CASE(seal_future_write, F_SEAL_FUTURE_WRITE)

/* An RW mapping is a writable mapping of the memfd: F_SEAL_WRITE is EBUSY. */
TEST_F(bad, seal_write_while_rw_mapped)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, VUSHM_MAP_RW));
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, fcntl(self->w.fd, F_GET_SEALS) & F_SEAL_WRITE);
	/* Gone with the mapping. */
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, PS));
	EXPECT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
}

/* ... also when the backend closed its fd and reopened the file. */
TEST_F(bad, seal_write_while_rw_mapped_fd_closed)
{
	int fd2 = vt_reopen(self->w.fd, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vt_map(self->w.cfd, fd2, 0, 0, PS, VUSHM_MAP_RW));
	close(fd2);
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, close(self->w.cfd));	/* drops every mapping */
	self->w.cfd = -1;
	EXPECT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
}

/*
 * A read-only mapping holds a reference on each of its pages, which
 * memfd_wait_for_pins() takes for a pin: F_SEAL_WRITE is EBUSY until the
 * mapping goes.
 */
TEST_F(bad, seal_write_while_ro_mapped_ebusy)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	errno = 0;
	EXPECT_EQ(-1, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, fcntl(self->w.fd, F_GET_SEALS) & F_SEAL_WRITE);
	ASSERT_EQ(0, vt_unmap(self->w.cfd, 0, PS));
	EXPECT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(F_SEAL_WRITE, fcntl(self->w.fd, F_GET_SEALS) & F_SEAL_WRITE);
}

/* Sealed first, then mapped read-only: works, and the window reads. */
TEST_F(bad, seal_write_before_ro_map_ok)
{
	char *w;

	ASSERT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 2 * PS, 0));
	w = vt_mmap_node(self->w.name, 2 * PS, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(-1, vt_check_pattern(w, 2 * PS, SEED, 0));
	munmap(w, 2 * PS);
	EXPECT_EQ(F_SEAL_WRITE, fcntl(self->w.fd, F_GET_SEALS) & F_SEAL_WRITE);
}

/*
 * F_SEAL_FUTURE_WRITE does not wait for pins: it works while a read-only
 * mapping exists, and the mapping keeps reading the memfd.
 */
TEST_F(bad, seal_future_write_while_ro_mapped_ok)
{
	char *w;

	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 2 * PS, 0));
	EXPECT_EQ(0, fcntl(self->w.fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	EXPECT_EQ(F_SEAL_FUTURE_WRITE,
		  fcntl(self->w.fd, F_GET_SEALS) & F_SEAL_FUTURE_WRITE);
	w = vt_mmap_node(self->w.name, 2 * PS, 0, PROT_READ);
	ASSERT_NE(MAP_FAILED, w);
	EXPECT_EQ(-1, vt_check_pattern(w, 2 * PS, SEED, 0));
	munmap(w, 2 * PS);
	/* Sealed for real: the backend cannot write its file any more. */
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->w.fd, "x", 1, 0));
	EXPECT_EQ(EPERM, errno);
}

/* ------------------------------------------------------------------ */
/* VUSHM_MAP: overlap                                                  */
/* ------------------------------------------------------------------ */

/* Existing mapping: window [16, 32) pages. */
#define OVERLAP_CASE(tname, err, off, len)				\
TEST_F(bad, map_overlap_##tname)					\
{									\
	struct vushm_info i;						\
									\
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 16 * PS,	\
			    16 * PS, VUSHM_MAP_RW));			\
	EXPECT_EQ(err, vt_map(self->w.cfd, self->w.fd, 0, (off) * PS,	\
			      (len) * PS, 0));				\
	ASSERT_EQ(0, vt_get_info(self->w.cfd, &i));			\
	EXPECT_EQ(err ? 1U : 2U, i.nr_mappings);			\
	/* The first mapping is intact: exactly its range unmaps. */	\
	if (err)							\
		EXPECT_EQ(0, vt_unmap(self->w.cfd, 16 * PS, 16 * PS));	\
}

OVERLAP_CASE(same_range,	-EEXIST, 16, 16)
OVERLAP_CASE(head,		-EEXIST, 8, 9)
OVERLAP_CASE(tail,		-EEXIST, 31, 4)
OVERLAP_CASE(inside,		-EEXIST, 20, 2)
OVERLAP_CASE(covers,		-EEXIST, 0, 64)
OVERLAP_CASE(first_page,	-EEXIST, 16, 1)
OVERLAP_CASE(last_page,		-EEXIST, 31, 1)
OVERLAP_CASE(adjacent_before_ok, 0, 8, 8)
OVERLAP_CASE(adjacent_after_ok,	 0, 32, 8)

/* Both neighbours at once, then the gap between two mappings exactly. */
TEST_F(bad, map_fill_gap_ok)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, 4 * PS, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 8 * PS, 4 * PS, 0));
	EXPECT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 4 * PS, 4 * PS, 0));
	EXPECT_EQ(-EEXIST, vt_map(self->w.cfd, self->w.fd, 0, 3 * PS, 6 * PS,
				  0));
	EXPECT_EQ(3, vt_sysfs_num(self->w.name, "nr_mappings"));
}

/* max_mappings live mappings at most: the next MAP gets ENOSPC. */
TEST_F_TIMEOUT(bad, map_enospc, 300)
{
	unsigned int max = self->w.ctx.info.max_mappings, i;
	char name[VUSHM_NAME_MAX];
	int cfd, r = 0;

	if (max > 4096) {
		/* Lower the (0644) module parameter for this test. */
		struct vushm_info info;
		char low[] = "256\n";

		if (param_rw(MAX_MAPPINGS_PARAM, self->saved_param,
			     sizeof(self->saved_param), false) ||
		    param_rw(MAX_MAPPINGS_PARAM, low, sizeof(low), true)) {
			self->saved_param[0] = 0;
			SKIP(return, "max_mappings %u: too many to fill", max);
		}
		ASSERT_EQ(0, vt_get_info(self->w.ctx.ctl, &info));
		ASSERT_EQ(256U, info.max_mappings);
		max = 256;
	}
	cfd = vt_ctx_window(&self->w.ctx, "nspm", (__u64)(max + 1) * PS,
			    VUSHM_HOLE_ZERO, 0, name);
	ASSERT_LE(0, cfd);
	for (i = 0; i <= max; i++) {
		r = vt_map(cfd, self->w.fd, 0, (__u64)i * PS, PS, 0);
		if (r)
			break;
	}
	EXPECT_EQ(-ENOSPC, r);
	EXPECT_EQ(max, i);
	ASSERT_EQ(0, vt_unmap(cfd, 0, PS));
	EXPECT_EQ(0, vt_map(cfd, self->w.fd, 0, (__u64)max * PS, PS, 0));
	EXPECT_EQ(0, vt_reset(cfd));
	close(cfd);
}

/* ------------------------------------------------------------------ */
/* VUSHM_UNMAP                                                         */
/* ------------------------------------------------------------------ */

/* Existing mappings: window [16, 32) and [32, 40) pages. */
#define UNMAP_CASE(tname, err, tweak)					\
TEST_F(bad, unmap_##tname)						\
{									\
	struct vushm_unmap u;						\
	struct vushm_info i;						\
									\
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 16 * PS, 16 * PS, 0)); \
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 32 * PS, 8 * PS, 0)); \
	vt_unmap_args(&u, 16 * PS, 16 * PS);				\
	tweak;								\
	EXPECT_EQ(err, vt_ioctl(self->w.cfd, VUSHM_UNMAP, &u));		\
	ASSERT_EQ(0, vt_get_info(self->w.cfd, &i));			\
	EXPECT_EQ(err ? 2U : 1U, i.nr_mappings);			\
}

UNMAP_CASE(ok,			0, (void)0)
UNMAP_CASE(never_mapped,	-ENOENT, u.shm_offset = 100 * PS; u.len = PS)
UNMAP_CASE(partial_head,	-ENOENT, u.len = 8 * PS)
UNMAP_CASE(partial_tail,	-ENOENT, u.shm_offset = 24 * PS; u.len = 8 * PS)
UNMAP_CASE(inside,		-ENOENT, u.shm_offset = 20 * PS; u.len = PS)
UNMAP_CASE(longer,		-ENOENT, u.len = 17 * PS)
UNMAP_CASE(two_mappings,	-ENOENT, u.len = 24 * PS)
UNMAP_CASE(len_zero,		-ENOENT, u.len = 0)
UNMAP_CASE(beyond_window,	-ENOENT, u.shm_offset = 1ULL << 40)
UNMAP_CASE(flags,		-EINVAL, u.flags = 1)
UNMAP_CASE(flags_high,		-EINVAL, u.flags = 1ULL << 63)
UNMAP_CASE(reserved0,		-EINVAL, u.reserved[0] = 1)
UNMAP_CASE(reserved1,		-EINVAL, u.reserved[1] = 1)

TEST_F(bad, unmap_twice)
{
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(0, vt_unmap(self->w.cfd, 0, PS));
	EXPECT_EQ(-ENOENT, vt_unmap(self->w.cfd, 0, PS));
}

TEST_F(bad, unmap_efault)
{
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.cfd, VUSHM_UNMAP, NULL));
}

/* ------------------------------------------------------------------ */
/* ENODEV after DESTROY                                                */
/* ------------------------------------------------------------------ */

#define ENODEV_CASE(tname, call)					\
TEST_F(bad, enodev_##tname)						\
{									\
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));	\
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));	\
	EXPECT_EQ(-ENODEV, call);					\
}

ENODEV_CASE(map,	vt_map(self->w.cfd, self->w.fd, 0, PS, PS, 0))
ENODEV_CASE(unmap,	vt_unmap(self->w.cfd, 0, PS))
ENODEV_CASE(reset,	vt_reset(self->w.cfd))
ENODEV_CASE(get_info,
	    ({ struct vushm_info i; vt_get_info(self->w.cfd, &i); }))

TEST_F(bad, enodev_uring_map)
{
	struct io_uring ring;
	struct vushm_map m;

	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	ASSERT_EQ(0, vt_destroy(self->w.ctx.ctl, self->w.name));
	vt_map_args(&m, self->w.fd, 0, 0, PS, 0);
	EXPECT_EQ(-ENODEV, vt_uring_cmd(&ring, self->w.cfd, VUSHM_MAP, &m,
					sizeof(m)));
	io_uring_queue_exit(&ring);
}

/* ------------------------------------------------------------------ */
/* Unknown ioctls                                                      */
/* ------------------------------------------------------------------ */

#define VT_IOC_UNKNOWN		_IO(VUSHM_IOC_MAGIC, 0x7f)
#define VT_IOC_UNKNOWN_RW	_IOWR(VUSHM_IOC_MAGIC, 0x13, __u64)
/* GET_INFO's number with another size: a different command. */
#define VT_IOC_INFO_SMALL	_IOR(VUSHM_IOC_MAGIC, 0x00, __u32)
#define VT_IOC_OTHER_MAGIC	_IOR(0xB9, 0x00, struct vushm_info)

static void ioctl_unknowns(struct __test_metadata *_metadata, int fd)
{
	char buf[512];

	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(fd, VT_IOC_UNKNOWN, buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(fd, VT_IOC_UNKNOWN_RW, buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(fd, VT_IOC_INFO_SMALL, buf));
	EXPECT_EQ(-ENOTTY, vt_ioctl(fd, VT_IOC_OTHER_MAGIC, buf));
}

TEST_F(bad, ioctl_unknown_control)
{
	ioctl_unknowns(_metadata, self->w.ctx.ctl);
}

TEST_F(bad, ioctl_unknown_controller)
{
	ioctl_unknowns(_metadata, self->w.cfd);
}

TEST_F(bad, ioctl_unknown_window_node)
{
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, nfd);
	ioctl_unknowns(_metadata, nfd);
	close(nfd);
}

/* Commands on the wrong kind of fd are unknown there. */
TEST_F(bad, ioctl_wrong_fd_kind)
{
	struct vushm_create c;
	struct vushm_info i;
	struct vushm_map m;
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, nfd);
	good_create(&c);
	vt_map_args(&m, self->w.fd, 0, 0, PS, 0);
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->w.ctx.ctl, VUSHM_MAP, &m));
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->w.ctx.ctl, VUSHM_RESET, NULL));
	EXPECT_EQ(-ENOTTY, vt_ioctl(self->w.cfd, VUSHM_CREATE, &c));
	EXPECT_FALSE(vt_sysfs_exists(c.name));
	EXPECT_EQ(-ENOTTY, vt_ioctl(nfd, VUSHM_GET_INFO, &i));
	EXPECT_EQ(-ENOTTY, vt_ioctl(nfd, VUSHM_MAP, &m));
	EXPECT_NO_MAPPINGS();
	close(nfd);
}

TEST_F(bad, get_info_efault)
{
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.ctx.ctl, VUSHM_GET_INFO, NULL));
	EXPECT_EQ(-EFAULT, vt_ioctl(self->w.cfd, VUSHM_GET_INFO, NULL));
}

/* ------------------------------------------------------------------ */
/* uring_cmd                                                           */
/* ------------------------------------------------------------------ */

TEST_F(bad, uring_unknown_cmd_op)
{
	struct io_uring ring;
	char buf[64];

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	EXPECT_EQ(-EOPNOTSUPP, vt_uring_cmd(&ring, self->w.cfd, VT_IOC_UNKNOWN,
					    buf, sizeof(buf)));
	EXPECT_EQ(-EOPNOTSUPP, vt_uring_cmd(&ring, self->w.cfd, 0, buf,
					    sizeof(buf)));
	EXPECT_EQ(-EOPNOTSUPP, vt_uring_cmd(&ring, self->w.cfd, 0xffffffffU,
					    buf, sizeof(buf)));
	io_uring_queue_exit(&ring);
}

TEST_F(bad, uring_get_info)
{
	struct io_uring ring;
	char buf[64];

	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	EXPECT_EQ(-EOPNOTSUPP, vt_uring_cmd(&ring, self->w.cfd, VUSHM_GET_INFO,
					    buf, sizeof(buf)));
	io_uring_queue_exit(&ring);
}

TEST_F(bad, uring_create_on_controller)
{
	struct io_uring ring;
	struct vushm_create c;

	good_create(&c);
	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	/* Only the first 80 bytes fit; any answer but success is right. */
	EXPECT_EQ(-EOPNOTSUPP, vt_uring_cmd(&ring, self->w.cfd, VUSHM_CREATE,
					    &c, sizeof(c)));
	EXPECT_FALSE(vt_sysfs_exists(c.name));
	io_uring_queue_exit(&ring);
}

/* A ring without IORING_SETUP_SQE128 has no room for the command: EINVAL. */
TEST_F(bad, uring_no_sqe128)
{
	struct io_uring ring;
	struct vushm_unmap u;
	struct vushm_map m;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, vt_map(self->w.cfd, self->w.fd, 0, 0, PS, 0));
	vt_map_args(&m, self->w.fd, 0, PS, PS, 0);
	EXPECT_EQ(-EINVAL, vt_uring_cmd(&ring, self->w.cfd, VUSHM_MAP, &m,
					sizeof(m)));
	vt_unmap_args(&u, 0, PS);
	EXPECT_EQ(-EINVAL, vt_uring_cmd(&ring, self->w.cfd, VUSHM_UNMAP, &u,
					sizeof(u)));
	EXPECT_EQ(1, vt_sysfs_num(self->w.name, "nr_mappings"));
	io_uring_queue_exit(&ring);
}

/* The same validation as the ioctl: reserved fields and flags. */
TEST_F(bad, uring_map_reserved)
{
	struct io_uring ring;
	struct vushm_map m;

	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	vt_map_args(&m, self->w.fd, 0, 0, PS, 0);
	m.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, vt_uring_cmd(&ring, self->w.cfd, VUSHM_MAP, &m,
					sizeof(m)));
	vt_map_args(&m, self->w.fd, 0, 0, PS, 4);
	EXPECT_EQ(-EINVAL, vt_uring_cmd(&ring, self->w.cfd, VUSHM_MAP, &m,
					sizeof(m)));
	EXPECT_NO_MAPPINGS();
	io_uring_queue_exit(&ring);
}

/* Only a controller fd takes uring_cmds; the control and window nodes refuse. */
TEST_F(bad, uring_on_other_fds)
{
	struct io_uring ring;
	struct vushm_map m;
	int nfd = vt_open_node(self->w.name, O_RDWR);

	ASSERT_LE(0, nfd);
	ASSERT_EQ(0, vt_ring_init(&ring, 4));
	vt_map_args(&m, self->w.fd, 0, 0, PS, 0);
	EXPECT_GT(0, vt_uring_cmd(&ring, self->w.ctx.ctl, VUSHM_MAP, &m,
				  sizeof(m)));
	EXPECT_GT(0, vt_uring_cmd(&ring, nfd, VUSHM_MAP, &m, sizeof(m)));
	EXPECT_NO_MAPPINGS();
	io_uring_queue_exit(&ring);
	close(nfd);
}

/* ------------------------------------------------------------------ */
/* Permissions                                                         */
/* ------------------------------------------------------------------ */

/* Run @fn as uid/gid in a child; its exit code. */
static int as_user(uid_t uid, gid_t gid, int (*fn)(const char *),
		   const char *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (vt_become(uid, gid))
			_exit(100);
		_exit(fn(arg));
	}
	return pid < 0 ? -1 : vt_wait(pid);
}

static int open_control_child(const char *unused)
{
	int fd;

	(void)unused;
	fd = open(VT_CONTROL_PATH, O_RDWR);
	if (fd >= 0)
		return 1;
	if (errno == EPERM)
		return 0;
	if (errno == EACCES)
		return 2;
	return 3;
}

static int open_node_child(const char *name)
{
	int fd = vt_open_node(name, O_RDWR), fd2;

	fd2 = vt_open_node(name, O_RDONLY);
	if (fd >= 0 || fd2 >= 0)
		return 1;
	return fd == -EACCES && fd2 == -EACCES ? 0 : 2;
}

/* Open, mmap, read the first word: 0 if it is the SEED pattern. */
static int use_node_child(const char *name)
{
	uint64_t *p;
	int fd = vt_open_node(name, O_RDWR);

	if (fd < 0)
		return 1;
	p = mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	if (lseek(fd, 0, SEEK_END) != (off_t)WSIZE)
		return 3;
	return p[0] == vt_word(SEED, 0) ? 0 : 4;
}

TEST_F(bad, perm_control_nonroot)
{
	int r = as_user(65534, 65534, open_control_child, NULL);

	EXPECT_TRUE(r == 0 || r == 2) TH_LOG("child said %d", r);
}

TEST_F(bad, perm_window_node_nonroot)
{
	EXPECT_EQ(0, as_user(65534, 65534, open_node_child, self->w.name));
}

TEST_F(bad, perm_window_node_owner_ok)
{
	struct vushm_create c;
	char name[VUSHM_NAME_MAX];
	int cfd;

	vt_make_name(name, "own");
	vt_create_args(&c, name, WSIZE, 0);
	c.uid = 65534;
	c.gid = 65534;
	c.mode = 0600;
	cfd = vt_ctx_window_ex(&self->w.ctx, &c);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(0, as_user(65534, 65534, use_node_child, name));
	/* Another unprivileged user is still shut out. */
	EXPECT_EQ(0, as_user(65533, 65533, open_node_child, name));
	close(cfd);
}

TEST_F(bad, perm_window_node_group_ok)
{
	struct vushm_create c;
	char name[VUSHM_NAME_MAX];
	int cfd;

	vt_make_name(name, "grp");
	vt_create_args(&c, name, WSIZE, 0);
	c.gid = 4242;
	c.mode = 0660;
	cfd = vt_ctx_window_ex(&self->w.ctx, &c);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, vt_map(cfd, self->w.fd, 0, 0, PS, 0));
	EXPECT_EQ(0, as_user(65534, 4242, use_node_child, name));
	EXPECT_EQ(0, as_user(65534, 65534, open_node_child, name));
	close(cfd);
}

VT_HARNESS_MAIN
