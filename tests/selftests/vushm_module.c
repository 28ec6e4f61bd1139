// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: rmmod is refused while any window exists or any file of
 * the module is open, and the module's reference count comes back to where
 * it was once they are gone.  (The runner's final `rmmod vushm` proves the
 * "clean afterwards" half.)
 */
#include <sys/syscall.h>

#include "vushm_test.h"

static long vt_refcnt(void)
{
	char buf[32] = "";
	long v = -1;
	int fd = open("/sys/module/vushm/refcnt", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v;
}

/* delete_module(2) without waiting: 0, or -errno. */
static int vt_try_rmmod(void)
{
	return syscall(SYS_delete_module, "vushm", O_NONBLOCK) ? -errno : 0;
}

FIXTURE(mod) {
	struct vt_ctx ctx;
	long base;
};

FIXTURE_SETUP(mod)
{
	VT_CTX_SETUP(&self->ctx);
	self->base = vt_refcnt();
	ASSERT_LT(0, self->base);	/* our control fd holds one */
}

FIXTURE_TEARDOWN(mod)
{
	VT_CTX_TEARDOWN(&self->ctx);
}

/* A window without controller or opener still holds the module. */
TEST_F(mod, rmmod_refused_while_window_exists)
{
	char name[VUSHM_NAME_MAX];
	int cfd;

	cfd = vt_ctx_window(&self->ctx, "mod", 1 << 20, VUSHM_HOLE_ZERO, 0,
			    name);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, close(cfd));
	ASSERT_LT(self->base, vt_refcnt());
	EXPECT_EQ(-EWOULDBLOCK, vt_try_rmmod());
	/* still fully usable */
	cfd = vt_attach(self->ctx.ctl, name);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, close(cfd));
	ASSERT_EQ(0, vt_destroy(self->ctx.ctl, name));
	self->ctx.nwin = 0;
	EXPECT_EQ(self->base, vt_refcnt());
}

/* A destroyed window's node fd and mapping hold the module until closed. */
TEST_F(mod, rmmod_refused_while_node_mapped)
{
	char name[VUSHM_NAME_MAX];
	void *win;
	int cfd;

	cfd = vt_ctx_window(&self->ctx, "mod", 1 << 20, VUSHM_HOLE_ZERO, 0,
			    name);
	ASSERT_LE(0, cfd);
	win = vt_mmap_node(name, 1 << 20, 0, PROT_READ | PROT_WRITE);
	ASSERT_NE(MAP_FAILED, win);
	ASSERT_EQ(0, close(cfd));
	ASSERT_EQ(0, vt_destroy(self->ctx.ctl, name));
	self->ctx.nwin = 0;
	EXPECT_EQ(0, ((volatile char *)win)[4096]);
	EXPECT_EQ(-EWOULDBLOCK, vt_try_rmmod());
	ASSERT_EQ(0, munmap(win, 1 << 20));
	EXPECT_EQ(self->base, vt_refcnt());
}

/* An ephemeral window goes, and releases the module, with its controller. */
TEST_F(mod, ephemeral_window_releases_module)
{
	char name[VUSHM_NAME_MAX];
	int cfd;

	cfd = vt_ctx_window(&self->ctx, "mod", 1 << 20, VUSHM_HOLE_ZERO,
			    VUSHM_CREATE_EPHEMERAL, name);
	ASSERT_LE(0, cfd);
	self->ctx.nwin = 0;
	EXPECT_LT(self->base, vt_refcnt());
	ASSERT_EQ(0, close(cfd));
	EXPECT_FALSE(vt_node_exists(name));
	EXPECT_EQ(self->base, vt_refcnt());
}

TEST_HARNESS_MAIN
