/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vushm: VIRTIO Shared Memory Regions ("windows") whose contents are
 * mapped and unmapped by the kernel on behalf of a vhost-user bridge.
 *
 * Two kinds of file descriptor carry commands:
 *
 *  - the control node, /dev/vushm/control (CAP_SYS_ADMIN): GET_INFO,
 *    CREATE, ATTACH, DESTROY.  CREATE and ATTACH return a *controller* fd.
 *  - a controller fd: GET_INFO, MAP, UNMAP, RESET.  MAP, UNMAP and RESET
 *    are also accepted as IORING_OP_URING_CMD with the same command value
 *    in sqe->cmd_op and the same structure at the start of sqe->cmd (the
 *    ring must be set up with IORING_SETUP_SQE128).
 *
 * A window node, /dev/vushm/<name>, accepts open, mmap (MAP_SHARED, offset
 * 0) and lseek (SEEK_END reports the window size); it has no ioctls.
 *
 * Every reserved field must be zero and every unknown flag bit clear, or the
 * command fails with EINVAL.  Documentation/vushm.rst lists every errno.
 */
#ifndef _UAPI_LINUX_VUSHM_H
#define _UAPI_LINUX_VUSHM_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VUSHM_API_VERSION	1

/* Window names: 1 to VUSHM_NAME_MAX - 1 characters of [A-Za-z0-9._-]. */
#define VUSHM_NAME_MAX		32

/* enum vushm_hole_policy: what an access to a range with no mapping does */
#define VUSHM_HOLE_ZERO		0	/* reads see zeros, stores are discarded */
#define VUSHM_HOLE_SIGBUS	1	/* the access raises SIGBUS */

/* struct vushm_create.flags */
#define VUSHM_CREATE_EPHEMERAL	(1U << 0)	/* destroy with its controller */

/* struct vushm_map.flags */
#define VUSHM_MAP_RW		(1ULL << 0)	/* read-write; clear: read-only */

/* struct vushm_info.features */
#define VUSHM_F_URING_CMD	(1ULL << 0)	/* MAP/UNMAP/RESET as uring_cmd */
#define VUSHM_F_HOLE_SIGBUS	(1ULL << 1)	/* VUSHM_HOLE_SIGBUS accepted */
#define VUSHM_F_EPHEMERAL	(1ULL << 2)	/* VUSHM_CREATE_EPHEMERAL accepted */
#define VUSHM_F_ATTACH		(1ULL << 3)	/* VUSHM_ATTACH accepted */

/**
 * struct vushm_info - what the module supports (VUSHM_GET_INFO)
 * @api_version:	VUSHM_API_VERSION of the running module.
 * @page_size:		granule of every offset and length.
 * @features:		VUSHM_F_* bits.
 * @max_window_size:	largest window size CREATE accepts, in bytes.
 * @max_windows:	how many windows may exist at once.
 * @max_mappings:	how many live mappings one window may hold.
 * @size:		on a controller fd: the window's size; else 0.
 * @shmid:		on a controller fd: the window's shmid; else 0.
 * @hole_policy:	on a controller fd: the window's VUSHM_HOLE_*; else 0.
 * @nr_mappings:	on a controller fd: live mappings; else 0.
 * @reserved0:		zero.
 * @mapped_bytes:	on a controller fd: bytes covered by mappings; else 0.
 * @name:		on a controller fd: the window's name; else empty.
 * @reserved:		zero.
 */
struct vushm_info {
	__u32 api_version;
	__u32 page_size;
	__u64 features;
	__u64 max_window_size;
	__u32 max_windows;
	__u32 max_mappings;
	__u64 size;
	__u32 shmid;
	__u32 hole_policy;
	__u32 nr_mappings;
	__u32 reserved0;
	__u64 mapped_bytes;
	char name[VUSHM_NAME_MAX];
	__u64 reserved[4];
};

/**
 * struct vushm_create - create a window (VUSHM_CREATE, control node)
 * @name:		node name under /dev/vushm/, NUL-terminated.
 * @size:		bytes; a non-zero multiple of the page size, at most
 *			vushm_info.max_window_size.
 * @shmid:		vhost-user shmid (0-255) the window stands for;
 *			informational.
 * @hole_policy:	VUSHM_HOLE_*.
 * @flags:		VUSHM_CREATE_* bits.
 * @uid:		owner of the node.
 * @gid:		group of the node.
 * @mode:		permission bits of the node (at most 0777); 0 means
 *			0600.
 * @reserved:		zero.
 *
 * Returns a new controller fd (O_CLOEXEC) on success.
 */
struct vushm_create {
	char name[VUSHM_NAME_MAX];
	__u64 size;
	__u32 shmid;
	__u32 hole_policy;
	__u32 flags;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u64 reserved[4];
};

/**
 * struct vushm_window_ref - name a window (VUSHM_ATTACH, VUSHM_DESTROY)
 * @name:	window name, NUL-terminated.
 * @flags:	zero.
 * @reserved:	zero.
 *
 * ATTACH returns a new controller fd for a window that has none.
 */
struct vushm_window_ref {
	char name[VUSHM_NAME_MAX];
	__u32 flags;
	__u32 reserved[3];
};

/**
 * struct vushm_map - map part of a file into the window (VUSHM_MAP)
 * @fd:		a memfd or tmpfs file of the caller.
 * @reserved0:	zero.
 * @fd_offset:	page-aligned offset in the file.
 * @shm_offset:	page-aligned offset in the window.
 * @len:	non-zero multiple of the page size.
 * @flags:	VUSHM_MAP_* bits.
 * @reserved:	zero.
 */
struct vushm_map {
	__s32 fd;
	__u32 reserved0;
	__u64 fd_offset;
	__u64 shm_offset;
	__u64 len;
	__u64 flags;
	__u64 reserved[2];
};

/**
 * struct vushm_unmap - remove one mapping (VUSHM_UNMAP)
 * @shm_offset:	offset of the mapping, as given to VUSHM_MAP.
 * @len:	length of the mapping, as given to VUSHM_MAP.
 * @flags:	zero.
 * @reserved:	zero.
 */
struct vushm_unmap {
	__u64 shm_offset;
	__u64 len;
	__u64 flags;
	__u64 reserved[2];
};

#define VUSHM_IOC_MAGIC		0xB8

/* control node and controller fd */
#define VUSHM_GET_INFO	_IOR(VUSHM_IOC_MAGIC, 0x00, struct vushm_info)
/* control node */
#define VUSHM_CREATE	_IOW(VUSHM_IOC_MAGIC, 0x01, struct vushm_create)
#define VUSHM_ATTACH	_IOW(VUSHM_IOC_MAGIC, 0x02, struct vushm_window_ref)
#define VUSHM_DESTROY	_IOW(VUSHM_IOC_MAGIC, 0x03, struct vushm_window_ref)
/* controller fd; also uring_cmd */
#define VUSHM_MAP	_IOW(VUSHM_IOC_MAGIC, 0x10, struct vushm_map)
#define VUSHM_UNMAP	_IOW(VUSHM_IOC_MAGIC, 0x11, struct vushm_unmap)
#define VUSHM_RESET	_IO(VUSHM_IOC_MAGIC, 0x12)

#endif /* _UAPI_LINUX_VUSHM_H */
