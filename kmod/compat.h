/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between Debian's 6.1 (the target) and newer
 * kernels.  An out-of-tree module has to key on LINUX_VERSION_CODE; these
 * checks are the only ones, and checkpatch's warnings about them stand.
 */
#ifndef _VUSHM_COMPAT_H
#define _VUSHM_COMPAT_H

#include <linux/io_uring.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#include <linux/io_uring/cmd.h>	/* struct io_uring_cmd moved here */
#endif
#include <linux/mm.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vushm_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#else
#define vushm_vm_flags_set(vma, flags) vm_flags_set(vma, flags)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define vushm_uring_cmd_payload(ioucmd) ((ioucmd)->cmd)
#else
#define vushm_uring_cmd_payload(ioucmd) io_uring_sqe_cmd((ioucmd)->sqe)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define VUSHM_DEVNODE_CONST
#else
#define VUSHM_DEVNODE_CONST const
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define vushm_class_create(name) class_create(THIS_MODULE, name)
#else
#define vushm_class_create(name) class_create(name)
#endif

#endif /* _VUSHM_COMPAT_H */
