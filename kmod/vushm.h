/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vushm internals.
 *
 * Lock order, outermost first:
 *
 *   vushm_windows_lock (mutex: the name registry, window create/destroy)
 *     window->lock (mutex: serialises MAP, UNMAP, RESET, controller changes)
 *       mmap_lock of a process mapping the window (eager install; taken by
 *       the core for faults)
 *         window->fault_sem (rwsem: the mapping index; read by faults,
 *         pfn_mkwrite and ->access, written around every index change
 *         together with the zap of the affected range)
 *           i_mmap_rwsem of the window's address_space
 *             page table lock
 *
 * window->vmas_lock (spinlock) nests inside all of these and is never held
 * across anything that sleeps.
 *
 * Netlink (netlink.c): events are built (GFP_KERNEL) and multicast with
 * vushm_windows_lock and/or window->lock held, never under fault_sem,
 * mmap_lock or vmas_lock; netlink's own locks nest inside ours and never
 * call back into vushm.  Requests and dumps take vushm_windows_lock, then
 * window->lock, like the control commands.
 *
 * Faults run with mmap_lock held, so they never take window->lock; a MAP
 * holds window->lock while it takes other processes' mmap_lock, so it never
 * holds fault_sem then.
 */
#ifndef _VUSHM_H
#define _VUSHM_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <uapi/linux/vushm.h>

struct io_uring_cmd;

/* Hole faults are tracked per 2 MiB (PMD) of window: in pages. */
#define VUSHM_HOLE_CHUNK_SHIFT	(PMD_SHIFT - PAGE_SHIFT)

/* One live mapping: pages [start, last] of the window. */
struct vushm_mapping {
	struct rb_node node;		/* in window->mappings, by start */
	pgoff_t start, last;		/* window page index range */
	struct file *file;		/* holds the backing file */
	struct page **pages;		/* one reference per page of the range */
	pgoff_t fd_pgoff;		/* first page in the file */
	u64 flags;			/* VUSHM_MAP_* */
	/* In window->install_pending (in the index) or ->zap_pending (out). */
	struct vushm_mapping *pending_next;
};

/*
 * One per window VMA, in vm_private_data: the core does not export the
 * i_mmap interval tree walk, so the window keeps its own list of VMAs.
 * A VMA's entry is added by ->mmap or vm_ops->open and removed by
 * vm_ops->close, all under that VMA's mmap_lock for write.
 */
struct vushm_vma {
	struct list_head node;		/* in window->vmas, under vmas_lock */
	struct vm_area_struct *vma;
	struct vushm_window *w;
};

/* Failures of MAP, UNMAP and RESET by errno: vushm_failure_errnos[]. */
#define VUSHM_NR_FAILURES	13

struct vushm_stats {
	u64 maps;
	u64 unmaps;
	u64 map_errors;
	u64 pages_installed;
};

struct vushm_window {
	struct device dev;		/* holds the window; release frees it */
	struct cdev cdev;
	struct list_head node;		/* in vushm_windows, under vushm_windows_lock */
	u64 id;				/* creation order, never reused */
	char name[VUSHM_NAME_MAX];
	u64 size;
	u32 shmid;
	u32 hole_policy;
	u32 create_flags;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;

	/* One address_space for every open of the node, whatever the path. */
	struct inode *inode;
	/* Where stores into holes land (VUSHM_HOLE_ZERO). */
	struct page *scratch;
	/*
	 * One bit per VUSHM_HOLE_CHUNK of the window: set before a hole fault
	 * installs a PTE there (under fault_sem), cleared by a zap of the
	 * whole window.  A MAP zaps its range only where a bit is set.
	 */
	unsigned long *hole_chunks;

	struct mutex lock;		/* MAP, UNMAP, RESET, controller, stats */
	bool has_controller;		/* under lock */
	struct pid *ctl_pid;		/* under lock: tgid that holds the controller */
	bool dead;			/* set under lock and vushm_windows_lock */

	struct rw_semaphore fault_sem;
	struct rb_root mappings;	/* under fault_sem (write also needs lock) */
	u32 nr_mappings;		/* written under fault_sem for write */
	u64 mapped_bytes;		/* ditto */
	u32 map_gen;			/* ditto; bumped by every index change */

	struct vushm_stats stats;	/* under lock */
	/*
	 * Under lock: mappings that an io_uring UNMAP took out of the index
	 * and whose PTEs are not zapped yet; the UNMAPs complete (task work)
	 * after vushm_flush_zaps() zapped them, one zap per run of adjacent
	 * ranges.
	 */
	struct vushm_mapping *zap_pending;
	/*
	 * Under lock: mappings that io_uring MAPs put in the index and whose
	 * pages are not installed in the VMAs yet (faults serve them
	 * meanwhile); the MAPs complete after vushm_flush_installs(), which
	 * visits each process once for all of them.
	 */
	struct vushm_mapping *install_pending;

	spinlock_t vmas_lock;		/* innermost; protects vmas, nr_vmas */
	struct list_head vmas;
	unsigned int nr_vmas;

	atomic64_t faults;
	atomic64_t hole_faults;
	atomic64_t ro_denied;
	atomic64_t failures[VUSHM_NR_FAILURES];
};

static inline unsigned long vushm_hole_chunks(struct vushm_window *w)
{
	return DIV_ROUND_UP(w->size >> PAGE_SHIFT,
			    1UL << VUSHM_HOLE_CHUNK_SHIFT);
}

static inline struct address_space *vushm_mapping(struct vushm_window *w)
{
	return w->inode->i_mapping;
}

/* main.c */
extern unsigned int vushm_max_mappings;
bool vushm_charge_mapping(u64 bytes);
void vushm_uncharge_mapping(u64 bytes);
extern struct mutex vushm_windows_lock;
extern struct list_head vushm_windows;
extern u32 vushm_windows_gen;
extern const int vushm_failure_errnos[VUSHM_NR_FAILURES];
struct vushm_window *vushm_find_window(const char *name);
int vushm_count_failure(struct vushm_window *w, int err);
struct vushm_window *vushm_window_get_by_inode(struct inode *inode);
void vushm_fill_info(struct vushm_info *info, struct vushm_window *w);

/* window.c */
extern const struct file_operations vushm_window_fops;
int vushm_do_map(struct vushm_window *w, const struct vushm_map *arg,
		 bool defer_install);
void vushm_flush_installs(struct vushm_window *w);
int vushm_do_unmap(struct vushm_window *w, const struct vushm_unmap *arg,
		   bool defer_zap);
void vushm_flush_zaps(struct vushm_window *w);
int vushm_do_reset(struct vushm_window *w);
void vushm_reset_locked(struct vushm_window *w);
struct vushm_mapping *vushm_first_from(struct vushm_window *w, pgoff_t from);
struct vushm_mapping *vushm_next(struct vushm_mapping *m);

/* netlink.c */
int vushm_nl_init(void);
void vushm_nl_exit(void);
void vushm_nl_notify(struct vushm_window *w, u8 cmd,
		     const struct vushm_mapping *m);

/* cmd.c */
long vushm_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int vushm_ctl_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

#endif /* _VUSHM_H */
