/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helper's windows: create or attach one vushm window per shmid on the
 * control node, and prepare MAP/UNMAP/RESET for it as IORING_OP_URING_CMD
 * SQEs.  Nothing here submits or waits: the caller's event loop owns the
 * ring, submits, reaps and decodes its own user_data.
 *
 * The SQE prep functions write 128-byte SQEs: the ring must be set up with
 * IORING_SETUP_SQE128 (vu_ring_init() does that).  liburing 2.3 has no
 * uring_cmd prep helper, so they are written by hand here.
 *
 * Build with -I<repo>/include and liburing.
 */
#ifndef VUSHM_HELPER_WINDOW_H
#define VUSHM_HELPER_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>
#include <uapi/linux/vushm.h>

/* Room for one reason line, e.g. the error of vu_window_open(). */
#define VU_WINDOW_ERR_MAX	192
/* "/dev/vushm/" + name + NUL */
#define VU_WINDOW_PATH_MAX	(sizeof("/dev/vushm/") + VUSHM_NAME_MAX)

#define VU_CONTROL_PATH		"/dev/vushm/control"

/*
 * One window and its controller fd.  The caller owns the struct;
 * vu_window_open() fills it, vu_window_close() releases the fd.
 * @name:	window name (node /dev/vushm/<name>).
 * @size:	window size in bytes (as the kernel reports it).
 * @shmid:	vhost-user shmid the window stands for.
 * @hole_policy: VUSHM_HOLE_*.
 * @page_size:	granule of every offset and length of MAP/UNMAP.
 * @features:	VUSHM_F_* of the running module.
 * @cfd:	controller fd (O_CLOEXEC); -1 when closed.
 * @attached:	true: an existing window was attached (helper restart);
 *		false: vu_window_open() created it.
 * @err:	on failure of vu_window_open(): one line that names the
 *		window and the reason (no trailing newline).
 */
struct vu_window {
	char name[VUSHM_NAME_MAX];
	uint64_t size;
	uint32_t shmid;
	uint32_t hole_policy;
	uint32_t page_size;
	uint64_t features;
	int cfd;
	bool attached;
	char err[VU_WINDOW_ERR_MAX];
};

/*
 * Attach to the window @name on the control node @ctl_fd if it exists, else
 * create it (size, shmid, hole policy, node owner/group/mode; mode 0 means
 * 0600).  An existing window must have the same size, shmid and hole policy,
 * else -EEXIST; one that already has a controller gives -EBUSY.  Needs a
 * module with VUSHM_F_URING_CMD (-EOPNOTSUPP otherwise).
 *
 * Returns 0, or a negative errno with w->err set to a line worth logging.
 * On failure no fd is left open (w->cfd is -1).
 */
int vu_window_open(int ctl_fd, const char *name, uint64_t size,
		   uint32_t shmid, uint32_t hole_policy, uint32_t uid,
		   uint32_t gid, uint32_t mode, struct vu_window *w);

/* Closes the controller fd: the kernel removes every mapping at once; the
 * window stays for a later attach.  Safe to call twice.
 */
void vu_window_close(struct vu_window *w);

/* The MAP argument, reserved fields zero (ioctl and uring_cmd alike). */
void vu_map_args(struct vushm_map *m, int fd, uint64_t fd_offset,
		 uint64_t shm_offset, uint64_t len, bool rw);

/* Every command's SQE: opcode URING_CMD on w->cfd, cmd_op, cmd, user_data.
 * @rw: VUSHM_MAP_RW.  @fd may be closed once the MAP's CQE arrived with
 * res 0 (the kernel then holds a file reference).  cqe->res: 0 or -errno
 * (Documentation/vushm.rst lists them; vu_window_cmd_reason() names them).
 */
void vu_window_prep_map(struct io_uring_sqe *sqe, const struct vu_window *w,
			int fd, uint64_t fd_offset, uint64_t shm_offset,
			uint64_t len, bool rw, uint64_t user_data);
void vu_window_prep_unmap(struct io_uring_sqe *sqe, const struct vu_window *w,
			  uint64_t shm_offset, uint64_t len,
			  uint64_t user_data);
void vu_window_prep_reset(struct io_uring_sqe *sqe, const struct vu_window *w,
			  uint64_t user_data);

/* What a cqe->res of MAP (VUSHM_MAP), UNMAP or RESET means, one phrase. */
const char *vu_window_cmd_reason(uint32_t cmd_op, int res);

/*
 * A ring for @entries SQEs that the prep functions can fill: @flags plus
 * IORING_SETUP_SQE128, plus SINGLE_ISSUER|DEFER_TASKRUN when the kernel has
 * them (then only the thread that called this may submit and reap).
 * Returns 0 or a negative errno.
 */
int vu_ring_init(struct io_uring *ring, unsigned int entries,
		 unsigned int flags);

/* "/dev/vushm/<name>" into @buf; returns its length, or -ENAMETOOLONG. */
int vu_window_node_path(const struct vu_window *w, char *buf, size_t n);

/*
 * Whether @size can back a PCI memory BAR (ivshmem-plain and QEMU's
 * memory-backend-file need a power of two).  When not, and @why is not
 * NULL, one line saying why and which size to use instead.
 */
bool vu_bar_size_ok(uint64_t size, char *why, size_t n);

#endif /* VUSHM_HELPER_WINDOW_H */
