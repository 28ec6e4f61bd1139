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
 * @max_mapped_bytes:	bytes all windows together may map; 0: no limit.
 * @max_total_mappings:	live mappings all windows together may hold.
 * @reserved1:		zero.
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
	__u64 max_mapped_bytes;
	__u32 max_total_mappings;
	__u32 reserved1;
	__u64 reserved[2];
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

/*
 * Generic netlink family VUSHM_GENL_NAME (Documentation/vushm.rst,
 * "Netlink"; Documentation/netlink/specs/vushm.yaml).  Windows are global:
 * the family exists in the initial network namespace only.
 *
 * Requests carry attributes of enum vushm_a_window.  Replies and events
 * are messages of the same set: one window, with, in VUSHM_A_WINDOW_STATS
 * and VUSHM_A_WINDOW_MAPPING, attributes of enum vushm_a_stats and enum
 * vushm_a_mapping.
 */
#define VUSHM_GENL_NAME		"vushm"
#define VUSHM_GENL_VERSION	1
/* Multicast group of the *_NTF events; joining needs CAP_NET_ADMIN. */
#define VUSHM_GENL_MCGRP_EVENTS	"events"

/**
 * enum vushm_cmd - generic netlink commands and events
 * @VUSHM_CMD_UNSPEC:		unused.
 * @VUSHM_CMD_WINDOW_GET:	do: the window named by VUSHM_A_WINDOW_NAME;
 *				dump: every window the caller may see.
 * @VUSHM_CMD_MAPPING_GET:	dump only: the mappings of the window named by
 *				VUSHM_A_WINDOW_NAME, one per message, by
 *				increasing offset.
 * @VUSHM_CMD_WINDOW_CREATE_NTF:	event: a window was created.
 * @VUSHM_CMD_WINDOW_DESTROY_NTF:	event: a window was destroyed.
 * @VUSHM_CMD_WINDOW_ATTACH_NTF:	event: a controller attached.
 * @VUSHM_CMD_CONTROLLER_CLOSE_NTF:	event: the controller was closed and
 *				every mapping removed.
 * @VUSHM_CMD_MAP_NTF:		event: a mapping was added.
 * @VUSHM_CMD_UNMAP_NTF:	event: a mapping was removed by UNMAP.
 * @VUSHM_CMD_RESET_NTF:	event: RESET removed every mapping.
 * @__VUSHM_CMD_MAX:		one above the last command.
 */
enum vushm_cmd {
	VUSHM_CMD_UNSPEC,
	VUSHM_CMD_WINDOW_GET,
	VUSHM_CMD_MAPPING_GET,
	VUSHM_CMD_WINDOW_CREATE_NTF,
	VUSHM_CMD_WINDOW_DESTROY_NTF,
	VUSHM_CMD_WINDOW_ATTACH_NTF,
	VUSHM_CMD_CONTROLLER_CLOSE_NTF,
	VUSHM_CMD_MAP_NTF,
	VUSHM_CMD_UNMAP_NTF,
	VUSHM_CMD_RESET_NTF,

	__VUSHM_CMD_MAX
};

#define VUSHM_CMD_MAX (__VUSHM_CMD_MAX - 1)

/**
 * enum vushm_a_window - attributes of a window message
 * @VUSHM_A_WINDOW_UNSPEC:	unused.
 * @VUSHM_A_WINDOW_PAD:		padding for 64-bit attributes.
 * @VUSHM_A_WINDOW_NAME:	string, the window name (requests: required).
 * @VUSHM_A_WINDOW_SIZE:	u64, bytes.
 * @VUSHM_A_WINDOW_SHMID:	u32.
 * @VUSHM_A_WINDOW_HOLE_POLICY:	u32, VUSHM_HOLE_*.
 * @VUSHM_A_WINDOW_UID:		u32, owner of the node, in the caller's user
 *				namespace (events: the initial one).
 * @VUSHM_A_WINDOW_GID:		u32, group of the node, likewise.
 * @VUSHM_A_WINDOW_MODE:	u32, permission bits of the node.
 * @VUSHM_A_WINDOW_CONTROLLER_PID: u32, process (tgid) that created or
 *				attached the controller fd, in the caller's pid
 *				namespace (events: the initial one); absent
 *				when the window has no controller.
 * @VUSHM_A_WINDOW_NR_VMAS:	u32, VMAs mapping the window node.
 * @VUSHM_A_WINDOW_NR_MAPPINGS:	u32, live mappings.
 * @VUSHM_A_WINDOW_MAPPED_BYTES: u64, bytes covered by mappings.
 * @VUSHM_A_WINDOW_EPHEMERAL:	flag, created with VUSHM_CREATE_EPHEMERAL.
 * @VUSHM_A_WINDOW_STATS:	nest, enum vushm_a_stats.
 * @VUSHM_A_WINDOW_MAPPING:	nest, enum vushm_a_mapping: in MAPPING_GET
 *				replies and in MAP and UNMAP events.
 * @__VUSHM_A_WINDOW_MAX:	one above the last attribute.
 */
enum vushm_a_window {
	VUSHM_A_WINDOW_UNSPEC,
	VUSHM_A_WINDOW_PAD,
	VUSHM_A_WINDOW_NAME,
	VUSHM_A_WINDOW_SIZE,
	VUSHM_A_WINDOW_SHMID,
	VUSHM_A_WINDOW_HOLE_POLICY,
	VUSHM_A_WINDOW_UID,
	VUSHM_A_WINDOW_GID,
	VUSHM_A_WINDOW_MODE,
	VUSHM_A_WINDOW_CONTROLLER_PID,
	VUSHM_A_WINDOW_NR_VMAS,
	VUSHM_A_WINDOW_NR_MAPPINGS,
	VUSHM_A_WINDOW_MAPPED_BYTES,
	VUSHM_A_WINDOW_EPHEMERAL,
	VUSHM_A_WINDOW_STATS,
	VUSHM_A_WINDOW_MAPPING,

	__VUSHM_A_WINDOW_MAX
};

#define VUSHM_A_WINDOW_MAX (__VUSHM_A_WINDOW_MAX - 1)

/**
 * enum vushm_a_stats - counters of a window since its creation
 * @VUSHM_A_STATS_UNSPEC:	unused.
 * @VUSHM_A_STATS_PAD:		padding for 64-bit attributes.
 * @VUSHM_A_STATS_MAPS:		u64, successful MAPs.
 * @VUSHM_A_STATS_UNMAPS:	u64, mappings removed (UNMAP, RESET, close).
 * @VUSHM_A_STATS_MAP_ERRORS:	u64, MAPs that failed after validation.
 * @VUSHM_A_STATS_PAGES_INSTALLED: u64, PTEs installed eagerly by MAP.
 * @VUSHM_A_STATS_FAULTS:	u64, page faults served.
 * @VUSHM_A_STATS_HOLE_FAULTS:	u64, faults on holes.
 * @VUSHM_A_STATS_RO_DENIED:	u64, writes refused to read-only mappings.
 * @VUSHM_A_STATS_FAILURE:	nest, enum vushm_a_failure, one per errno
 *				MAP, UNMAP and RESET can fail with (multi-attr).
 * @__VUSHM_A_STATS_MAX:	one above the last attribute.
 */
enum vushm_a_stats {
	VUSHM_A_STATS_UNSPEC,
	VUSHM_A_STATS_PAD,
	VUSHM_A_STATS_MAPS,
	VUSHM_A_STATS_UNMAPS,
	VUSHM_A_STATS_MAP_ERRORS,
	VUSHM_A_STATS_PAGES_INSTALLED,
	VUSHM_A_STATS_FAULTS,
	VUSHM_A_STATS_HOLE_FAULTS,
	VUSHM_A_STATS_RO_DENIED,
	VUSHM_A_STATS_FAILURE,

	__VUSHM_A_STATS_MAX
};

#define VUSHM_A_STATS_MAX (__VUSHM_A_STATS_MAX - 1)

/**
 * enum vushm_a_failure - failed controller commands with one errno
 * @VUSHM_A_FAILURE_UNSPEC:	unused.
 * @VUSHM_A_FAILURE_PAD:	padding for 64-bit attributes.
 * @VUSHM_A_FAILURE_ERRNO:	u32, the positive errno; 0 counts any errno
 *				not listed in Documentation/vushm.rst.
 * @VUSHM_A_FAILURE_COUNT:	u64, how many MAP, UNMAP and RESET commands on
 *				the window failed with it.
 * @__VUSHM_A_FAILURE_MAX:	one above the last attribute.
 */
enum vushm_a_failure {
	VUSHM_A_FAILURE_UNSPEC,
	VUSHM_A_FAILURE_PAD,
	VUSHM_A_FAILURE_ERRNO,
	VUSHM_A_FAILURE_COUNT,

	__VUSHM_A_FAILURE_MAX
};

#define VUSHM_A_FAILURE_MAX (__VUSHM_A_FAILURE_MAX - 1)

/**
 * enum vushm_a_mapping - one mapping of a window
 * @VUSHM_A_MAPPING_UNSPEC:	unused.
 * @VUSHM_A_MAPPING_PAD:	padding for 64-bit attributes.
 * @VUSHM_A_MAPPING_SHM_OFFSET:	u64, offset in the window.
 * @VUSHM_A_MAPPING_LEN:	u64, bytes.
 * @VUSHM_A_MAPPING_FLAGS:	u64, VUSHM_MAP_* bits.
 * @VUSHM_A_MAPPING_FD_OFFSET:	u64, offset in the backing file.
 * @VUSHM_A_MAPPING_DEV:	u64, device of the backing file, encoded as
 *				stat(2)'s st_dev.
 * @VUSHM_A_MAPPING_INO:	u64, inode number of the backing file.
 * @__VUSHM_A_MAPPING_MAX:	one above the last attribute.
 */
enum vushm_a_mapping {
	VUSHM_A_MAPPING_UNSPEC,
	VUSHM_A_MAPPING_PAD,
	VUSHM_A_MAPPING_SHM_OFFSET,
	VUSHM_A_MAPPING_LEN,
	VUSHM_A_MAPPING_FLAGS,
	VUSHM_A_MAPPING_FD_OFFSET,
	VUSHM_A_MAPPING_DEV,
	VUSHM_A_MAPPING_INO,

	__VUSHM_A_MAPPING_MAX
};

#define VUSHM_A_MAPPING_MAX (__VUSHM_A_MAPPING_MAX - 1)

#endif /* _UAPI_LINUX_VUSHM_H */
