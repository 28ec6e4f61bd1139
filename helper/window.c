// SPDX-License-Identifier: GPL-2.0
/*
 * The helper's windows: create/attach on /dev/vushm/control, and MAP/UNMAP/
 * RESET as hand-made IORING_OP_URING_CMD SQEs (see window.h).
 */
#include "window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

/* sqe->cmd: 80 bytes on an IORING_SETUP_SQE128 ring (addr3 onwards). */
#define VU_SQE_CMD_ROOM	80

_Static_assert(sizeof(struct vushm_map) <= VU_SQE_CMD_ROOM,
	       "struct vushm_map must fit in a 128-byte SQE");
_Static_assert(sizeof(struct vushm_unmap) <= VU_SQE_CMD_ROOM,
	       "struct vushm_unmap must fit in a 128-byte SQE");

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_err(struct vu_window *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

/* "4 MiB", "3 GiB" when exact, else bytes. */
static const char *fmt_size(uint64_t v, char *buf, size_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int i = -1;

	while (i < 3 && v && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, n, "%" PRIu64 " bytes", v);
	else
		snprintf(buf, n, "%" PRIu64 " %s", v, unit[i]);
	return buf;
}

static const char *hole_name(uint32_t p)
{
	return p == VUSHM_HOLE_ZERO ? "zero" :
	       p == VUSHM_HOLE_SIGBUS ? "sigbus" : "unknown";
}

static bool name_ok(const char *name)
{
	size_t i, len = strnlen(name, VUSHM_NAME_MAX);

	if (len == 0 || len >= VUSHM_NAME_MAX)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "control"))
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int do_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int do_ioctl_fd(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static int attach(int ctl_fd, const char *name)
{
	struct vushm_window_ref ref;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.name, name, strlen(name));
	return do_ioctl_fd(ctl_fd, VUSHM_ATTACH, &ref);
}

/* The attached window must be the one asked for. */
static int check_attached(struct vu_window *w, uint64_t size, uint32_t shmid,
			  uint32_t hole_policy)
{
	struct vushm_info info;
	char a[32], b[32];
	int ret;

	memset(&info, 0, sizeof(info));
	ret = do_ioctl(w->cfd, VUSHM_GET_INFO, &info);
	if (ret) {
		set_err(w, "window %s: GET_INFO on its controller: %s",
			w->name, strerror(-ret));
		return ret;
	}
	if (info.size != size) {
		set_err(w, "window %s exists with size %s, not %s: destroy it or use its size",
			w->name, fmt_size(info.size, a, sizeof(a)),
			fmt_size(size, b, sizeof(b)));
		return -EEXIST;
	}
	if (info.shmid != shmid) {
		set_err(w, "window %s exists for shmid %" PRIu32 ", not %" PRIu32
			": destroy it or use another name",
			w->name, info.shmid, shmid);
		return -EEXIST;
	}
	if (info.hole_policy != hole_policy) {
		set_err(w, "window %s exists with hole policy %s, not %s: destroy it or use its policy",
			w->name, hole_name(info.hole_policy),
			hole_name(hole_policy));
		return -EEXIST;
	}
	return 0;
}

int vu_window_open(int ctl_fd, const char *name, uint64_t size,
		   uint32_t shmid, uint32_t hole_policy, uint32_t uid,
		   uint32_t gid, uint32_t mode, struct vu_window *w)
{
	struct vushm_create cr;
	struct vushm_info info;
	char a[32], b[32];
	int ret, fd, tries;

	memset(w, 0, sizeof(*w));
	w->cfd = -1;
	if (!name || !name_ok(name)) {
		set_err(w, "window name \"%.*s\": 1 to %d characters of [A-Za-z0-9._-], not \".\", \"..\" or \"control\"",
			VUSHM_NAME_MAX, name ? name : "", VUSHM_NAME_MAX - 1);
		return -EINVAL;
	}
	memcpy(w->name, name, strlen(name));
	w->size = size;
	w->shmid = shmid;
	w->hole_policy = hole_policy;

	memset(&info, 0, sizeof(info));
	ret = do_ioctl(ctl_fd, VUSHM_GET_INFO, &info);
	if (ret) {
		set_err(w, "window %s: GET_INFO on %s: %s", name,
			VU_CONTROL_PATH, strerror(-ret));
		return ret;
	}
	w->page_size = info.page_size;
	w->features = info.features;
	if (info.api_version != VUSHM_API_VERSION) {
		set_err(w, "window %s: vushm module speaks API %" PRIu32 ", this helper %d",
			name, info.api_version, VUSHM_API_VERSION);
		return -EPROTO;
	}
	if (!(info.features & VUSHM_F_URING_CMD)) {
		set_err(w, "window %s: the vushm module has no io_uring commands (VUSHM_F_URING_CMD)",
			name);
		return -EOPNOTSUPP;
	}
	if (shmid > 255) {
		set_err(w, "window %s: shmid %" PRIu32 " is not 0-255", name,
			shmid);
		return -EINVAL;
	}
	if (hole_policy != VUSHM_HOLE_ZERO && hole_policy != VUSHM_HOLE_SIGBUS) {
		set_err(w, "window %s: unknown hole policy %" PRIu32, name,
			hole_policy);
		return -EINVAL;
	}
	if (hole_policy == VUSHM_HOLE_SIGBUS &&
	    !(info.features & VUSHM_F_HOLE_SIGBUS)) {
		set_err(w, "window %s: the vushm module has no sigbus hole policy",
			name);
		return -EOPNOTSUPP;
	}
	if (!size || !info.page_size || size % info.page_size) {
		set_err(w, "window %s: size %s is not a non-zero multiple of the page size (%" PRIu32 ")",
			name, fmt_size(size, a, sizeof(a)), info.page_size);
		return -EINVAL;
	}
	if (size > info.max_window_size) {
		set_err(w, "window %s: size %s is above the module's max_window_size %s",
			name, fmt_size(size, a, sizeof(a)),
			fmt_size(info.max_window_size, b, sizeof(b)));
		return -EFBIG;
	}
	if (mode > 0777) {
		set_err(w, "window %s: node mode %#" PRIo32 " is above 0777",
			name, mode);
		return -EINVAL;
	}

	/*
	 * Attach first (helper restart), create on ENOENT; a window created
	 * by someone else in between makes CREATE fail with EEXIST: attach
	 * again, once.
	 */
	for (tries = 0; tries < 2; tries++) {
		if (info.features & VUSHM_F_ATTACH) {
			fd = attach(ctl_fd, name);
			if (fd >= 0) {
				w->cfd = fd;
				w->attached = true;
				ret = check_attached(w, size, shmid,
						     hole_policy);
				if (ret)
					vu_window_close(w);
				return ret;
			}
			if (fd == -EBUSY) {
				set_err(w, "window %s already has a controller (another vushm-helper running?)",
					name);
				return fd;
			}
			if (fd != -ENOENT) {
				set_err(w, "window %s: ATTACH: %s", name,
					strerror(-fd));
				return fd;
			}
		}

		memset(&cr, 0, sizeof(cr));
		memcpy(cr.name, name, strlen(name));
		cr.size = size;
		cr.shmid = shmid;
		cr.hole_policy = hole_policy;
		cr.uid = uid;
		cr.gid = gid;
		cr.mode = mode;
		fd = do_ioctl_fd(ctl_fd, VUSHM_CREATE, &cr);
		if (fd >= 0) {
			w->cfd = fd;
			w->attached = false;
			return 0;
		}
		if (fd == -EEXIST && (info.features & VUSHM_F_ATTACH))
			continue;
		switch (fd) {
		case -EEXIST:
			set_err(w, "window %s exists and this module cannot attach to it",
				name);
			break;
		case -ENOSPC:
			set_err(w, "window %s: the module's max_windows (%" PRIu32 ") windows exist",
				name, info.max_windows);
			break;
		case -EINVAL:
			set_err(w, "window %s: CREATE refused: uid %" PRIu32 " / gid %" PRIu32 " not valid here?",
				name, uid, gid);
			break;
		default:
			set_err(w, "window %s: CREATE: %s", name,
				strerror(-fd));
		}
		return fd;
	}
	set_err(w, "window %s: created and destroyed by someone else while attaching",
		name);
	return -EAGAIN;
}

void vu_window_close(struct vu_window *w)
{
	if (w->cfd >= 0)
		close(w->cfd);
	w->cfd = -1;
}

static void prep_cmd(struct io_uring_sqe *sqe, int fd, uint32_t cmd_op,
		     const void *cmd, size_t len, uint64_t user_data)
{
	memset(sqe, 0, 128);	/* SQE128: two 64-byte slots */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	if (len)
		memcpy(sqe->cmd, cmd, len);
}

void vu_map_args(struct vushm_map *m, int fd, uint64_t fd_offset,
		 uint64_t shm_offset, uint64_t len, bool rw)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->fd_offset = fd_offset;
	m->shm_offset = shm_offset;
	m->len = len;
	m->flags = rw ? VUSHM_MAP_RW : 0;
}

void vu_window_prep_map(struct io_uring_sqe *sqe, const struct vu_window *w,
			int fd, uint64_t fd_offset, uint64_t shm_offset,
			uint64_t len, bool rw, uint64_t user_data)
{
	struct vushm_map m;

	vu_map_args(&m, fd, fd_offset, shm_offset, len, rw);
	prep_cmd(sqe, w->cfd, VUSHM_MAP, &m, sizeof(m), user_data);
}

void vu_window_prep_unmap(struct io_uring_sqe *sqe, const struct vu_window *w,
			  uint64_t shm_offset, uint64_t len,
			  uint64_t user_data)
{
	struct vushm_unmap u;

	memset(&u, 0, sizeof(u));
	u.shm_offset = shm_offset;
	u.len = len;
	prep_cmd(sqe, w->cfd, VUSHM_UNMAP, &u, sizeof(u), user_data);
}

void vu_window_prep_reset(struct io_uring_sqe *sqe, const struct vu_window *w,
			  uint64_t user_data)
{
	prep_cmd(sqe, w->cfd, VUSHM_RESET, NULL, 0, user_data);
}

const char *vu_window_cmd_reason(uint32_t cmd_op, int res)
{
	bool map = cmd_op == VUSHM_MAP;

	switch (res) {
	case 0:
		return "done";
	case -EINVAL:
		return map ? "length zero, offset or length not page-aligned, overflow, or bad flags" :
			     "bad flags or reserved field (or ring without SQE128)";
	case -EBADF:
		return map ? "the backend's fd is not open" : "bad controller fd";
	case -EOPNOTSUPP:
		return map ? "the fd is not a memfd or tmpfs file (hugetlbfs, disk file, pipe...)" :
			     "command not supported by the module";
	case -EACCES:
		return "the fd is not open for reading, or not for writing and the map is read-write";
	case -EPERM:
		return "read-write map of a write-sealed memfd";
	case -ERANGE:
		return "shm_offset + len is beyond the window";
	case -ENXIO:
		return "fd_offset + len is beyond the end of the file";
	case -EEXIST:
		return "the range overlaps a live mapping";
	case -ENOSPC:
		return "the window holds max_mappings mappings";
	case -ENOMEM:
		return "the file's pages could not be allocated";
	case -ENOENT:
		return "no mapping starts at shm_offset with exactly that length";
	case -ENODEV:
		return "the window was destroyed";
	case -ECANCELED:
		return "cancelled (a linked command before it failed)";
	default:
		return res < 0 ? strerror(-res) : "unexpected positive result";
	}
}

int vu_ring_init(struct io_uring *ring, unsigned int entries,
		 unsigned int flags)
{
	int ret;

	flags |= IORING_SETUP_SQE128;
	ret = io_uring_queue_init(entries, ring, flags |
				  IORING_SETUP_SINGLE_ISSUER |
				  IORING_SETUP_DEFER_TASKRUN);
	if (ret == -EINVAL)	/* kernel before 6.1 */
		ret = io_uring_queue_init(entries, ring, flags);
	return ret;
}

int vu_window_node_path(const struct vu_window *w, char *buf, size_t n)
{
	int len = snprintf(buf, n, "/dev/vushm/%.*s", VUSHM_NAME_MAX,
			   w->name);

	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	return len;
}

bool vu_bar_size_ok(uint64_t size, char *why, size_t n)
{
	char a[32], b[32];
	uint64_t p = 1;

	if (size && !(size & (size - 1)))
		return true;
	if (why && n) {
		if (!size) {
			snprintf(why, n, "size 0: a PCI BAR needs a non-zero power-of-two size");
		} else {
			while (p < size && p < (1ULL << 63))
				p <<= 1;
			snprintf(why, n, "size %s is not a power of two, which a PCI BAR must be: use %s",
				 fmt_size(size, a, sizeof(a)),
				 fmt_size(p, b, sizeof(b)));
		}
	}
	return false;
}
