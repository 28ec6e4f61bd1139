// SPDX-License-Identifier: GPL-2.0
/*
 * Window mappings: the mapping index, mmap of the window node, faults, and
 * eager installation of a backend file's pages into every VMA of a window.
 *
 * Every window VMA is VM_SHARED | VM_MIXEDMAP with page_mkwrite and
 * pfn_mkwrite, so the core makes its vm_page_prot read-only (write-notify):
 * each PTE starts read-only and the first write to it asks us.  That is what
 * keeps read-only mappings read-only against mprotect, FOLL_FORCE and GUP
 * writes, and what keeps stores away from the shared zero page.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/pfn_t.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "compat.h"
#include "vushm.h"

/* Pages gathered and inserted per step of an eager install. */
#define VUSHM_INSTALL_BATCH	256
/*
 * A MAP of up to this many pages keeps the references vushm_populate()
 * took and installs those: one page-cache lookup per page instead of one
 * for populate plus one per process that maps the window (bench P2).
 * Larger MAPs look pages up again in VUSHM_INSTALL_BATCH batches, so that
 * a MAP never pins more than this many pages at once.
 */
#define VUSHM_KEEP_PAGES	512

static const struct vm_operations_struct vushm_vm_ops;

static struct vushm_window *vushm_vma_window(struct vm_area_struct *vma)
{
	return ((struct vushm_vma *)vma->vm_private_data)->w;
}

static struct vushm_mapping *vushm_find(struct vushm_window *w, pgoff_t first,
					pgoff_t last)
{
	struct interval_tree_node *it;

	it = interval_tree_iter_first(&w->mappings, first, last);
	return it ? container_of(it, struct vushm_mapping, it) : NULL;
}

static struct page *vushm_mapping_page(struct vushm_mapping *m, pgoff_t pgoff)
{
	struct address_space *fm = m->file->f_mapping;

	return shmem_read_mapping_page_gfp(fm, m->fd_pgoff + pgoff - m->it.start,
					   mapping_gfp_mask(fm));
}

static vm_fault_t vushm_insert_err(int err)
{
	switch (err) {
	case 0:
	case -EBUSY:	/* a racing fault got there first */
		return VM_FAULT_NOPAGE;
	case -ENOMEM:
		return VM_FAULT_OOM;
	default:
		return VM_FAULT_SIGBUS;
	}
}

/* A destroyed window serves zeros, whatever its policy, so the VMM lives. */
static bool vushm_holes_sigbus(struct vushm_window *w)
{
	return w->hole_policy == VUSHM_HOLE_SIGBUS && !READ_ONCE(w->dead);
}

static vm_fault_t vushm_hole_fault(struct vushm_window *w, struct vm_fault *vmf)
{
	atomic64_inc(&w->hole_faults);
	if (vushm_holes_sigbus(w))
		return VM_FAULT_SIGBUS;
	/*
	 * Reads get the zero page through a special PTE; pfn_mkwrite sends a
	 * later store here again.  Stores get the scratch page, a real page so
	 * that get_user_pages (KVM) works on it.
	 */
	if (vmf->flags & FAULT_FLAG_WRITE)
		return vushm_insert_err(vm_insert_page(vmf->vma, vmf->address,
						       w->scratch));
	return vmf_insert_mixed(vmf->vma, vmf->address,
				pfn_to_pfn_t(my_zero_pfn(vmf->address)));
}

/*
 * The PTE is installed here, under fault_sem, rather than by the core after
 * we return: an UNMAP (fault_sem for write, then zap) can then never be
 * followed by a PTE to the old page.
 */
static vm_fault_t vushm_fault(struct vm_fault *vmf)
{
	struct vushm_window *w = vushm_vma_window(vmf->vma);
	struct vushm_mapping *m;
	vm_fault_t ret;

	atomic64_inc(&w->faults);
	down_read(&w->fault_sem);
	m = vushm_find(w, vmf->pgoff, vmf->pgoff);
	if (m) {
		struct page *page = vushm_mapping_page(m, vmf->pgoff);

		if (!IS_ERR(page)) {
			ret = vushm_insert_err(vm_insert_page(vmf->vma,
							      vmf->address,
							      page));
			put_page(page);
			goto out;
		}
		if (PTR_ERR(page) == -ENOMEM) {
			ret = VM_FAULT_OOM;
			goto out;
		}
		/* The backend shrank its file under the mapping: a hole. */
	}
	ret = vushm_hole_fault(w, vmf);
out:
	up_read(&w->fault_sem);
	return ret;
}

/* First write to a present struct-page PTE: only RW mappings and scratch. */
static vm_fault_t vushm_page_mkwrite(struct vm_fault *vmf)
{
	struct vushm_window *w = vushm_vma_window(vmf->vma);
	struct vushm_mapping *m;
	vm_fault_t ret;

	down_read(&w->fault_sem);
	m = vushm_find(w, vmf->pgoff, vmf->pgoff);
	if (m && !(m->flags & VUSHM_MAP_RW)) {
		atomic64_inc(&w->ro_denied);
		ret = VM_FAULT_SIGBUS;
	} else if (m || vmf->page == w->scratch) {
		/*
		 * Taken before fault_sem is dropped: a read-only MAP of this
		 * page waits for it (see vushm_populate()), so a write
		 * allowed for an older RW mapping cannot land on its PTEs.
		 */
		lock_page(vmf->page);
		ret = VM_FAULT_LOCKED;
	} else {
		/* A hole whose page was zapped under us: fault again. */
		ret = VM_FAULT_NOPAGE;
	}
	up_read(&w->fault_sem);
	return ret;
}

/* First write to a special PTE: only the zero page is ever mapped so. */
static vm_fault_t vushm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vushm_window *w = vushm_vma_window(vmf->vma);

	down_read(&w->fault_sem);
	/*
	 * Never let the core make the zero page writable.  Drop the zero PTE
	 * and let the store fault again onto the scratch page.  If a mapping
	 * arrived meanwhile, the PTE is already gone.
	 */
	if (!vushm_find(w, vmf->pgoff, vmf->pgoff))
		unmap_mapping_range(vushm_mapping(w),
				    (loff_t)vmf->pgoff << PAGE_SHIFT,
				    PAGE_SIZE, 1);
	up_read(&w->fault_sem);
	return VM_FAULT_NOPAGE;
}

static void vushm_vma_track(struct vushm_window *w, struct vushm_vma *vv,
			    struct vm_area_struct *vma)
{
	vv->vma = vma;
	vv->w = w;
	vma->vm_private_data = vv;
	spin_lock(&w->vmas_lock);
	list_add_tail(&vv->node, &w->vmas);
	w->nr_vmas++;
	spin_unlock(&w->vmas_lock);
}

/* A VMA split, copied by fork or moved by mremap: it needs its own entry. */
static void vushm_vm_open(struct vm_area_struct *vma)
{
	struct vushm_vma *old = vma->vm_private_data;
	/* ->open cannot fail; the entry is small. */
	struct vushm_vma *vv = kmalloc(sizeof(*vv),
				       GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);

	vushm_vma_track(old->w, vv, vma);
}

static void vushm_vm_close(struct vm_area_struct *vma)
{
	struct vushm_vma *vv = vma->vm_private_data;
	struct vushm_window *w = vv->w;

	spin_lock(&w->vmas_lock);
	list_del(&vv->node);
	w->nr_vmas--;
	spin_unlock(&w->vmas_lock);
	kfree(vv);
}

static const struct vm_operations_struct vushm_vm_ops = {
	.open = vushm_vm_open,
	.close = vushm_vm_close,
	.fault = vushm_fault,
	.page_mkwrite = vushm_page_mkwrite,
	.pfn_mkwrite = vushm_pfn_mkwrite,
};

static int vushm_window_open(struct inode *inode, struct file *file)
{
	struct vushm_window *w = vushm_window_get_by_inode(inode);

	if (IS_ERR(w))
		return PTR_ERR(w);
	file->private_data = w;
	/* Every open shares the window's address_space (DRM's pattern). */
	file->f_mapping = vushm_mapping(w);
	return 0;
}

static int vushm_window_release(struct inode *inode, struct file *file)
{
	struct vushm_window *w = file->private_data;

	put_device(&w->dev);
	return 0;
}

static int vushm_window_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vushm_window *w = file->private_data;
	u64 pages = w->size >> PAGE_SHIFT;
	struct vushm_vma *vv;

	/* VM_MAYSHARE: an O_RDONLY opener's MAP_SHARED has no VM_SHARED. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= pages || vma_pages(vma) > pages - vma->vm_pgoff)
		return -EINVAL;
	if (READ_ONCE(w->dead))
		return -ENODEV;

	vv = kmalloc(sizeof(*vv), GFP_KERNEL_ACCOUNT);
	if (!vv)
		return -ENOMEM;
	/* VM_MIXEDMAP at mmap time lets vm_insert_pages() run under the read lock. */
	vushm_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
	vma->vm_ops = &vushm_vm_ops;
	vushm_vma_track(w, vv, vma);
	return 0;
}

static loff_t vushm_window_llseek(struct file *file, loff_t offset, int whence)
{
	struct vushm_window *w = file->private_data;

	/* QEMU's memory-backend-file checks size= against SEEK_END. */
	return fixed_size_llseek(file, offset, whence, w->size);
}

const struct file_operations vushm_window_fops = {
	.owner = THIS_MODULE,
	.open = vushm_window_open,
	.release = vushm_window_release,
	.mmap = vushm_window_mmap,
	.llseek = vushm_window_llseek,
};

/* Take @m out of the index; the caller zaps its range under the same lock. */
static void vushm_index_remove(struct vushm_window *w, struct vushm_mapping *m)
{
	u64 bytes = (u64)(m->it.last - m->it.start + 1) << PAGE_SHIFT;

	lockdep_assert_held_write(&w->fault_sem);
	interval_tree_remove(&m->it, &w->mappings);
	w->map_gen++;
	w->nr_mappings--;
	w->mapped_bytes -= bytes;
	vushm_uncharge_mapping(bytes);
}

static void vushm_mapping_free(struct vushm_mapping *m)
{
	if (m->flags & VUSHM_MAP_RW)
		mapping_unmap_writable(m->file->f_mapping);
	fput(m->file);
	kfree(m);
}

/*
 * Make every page of @m exist in the file, so that MAP fails early rather
 * than a later fault.  For a read-only mapping also take and drop each
 * page's lock: that waits for write faults which a removed RW mapping of
 * the page allowed and which may still be about to make their PTE writable
 * (page_mkwrite holds the page lock until then).
 */
static int vushm_populate(struct vushm_mapping *m, struct page **keep)
{
	bool ro = !(m->flags & VUSHM_MAP_RW);
	unsigned long n = 0;
	pgoff_t pg;

	for (pg = m->it.start; pg <= m->it.last; pg++) {
		struct page *page = vushm_mapping_page(m, pg);

		if (IS_ERR(page)) {
			while (n)
				put_page(keep[--n]);
			return PTR_ERR(page);
		}
		if (ro) {
			lock_page(page);
			unlock_page(page);
		}
		if (keep)
			keep[n++] = page;
		else
			put_page(page);
		cond_resched();
	}
	return 0;
}

/* Insert pages[0..nr) (window pages [first, first + nr)) into @vma. */
static unsigned long vushm_insert_vma(struct vm_area_struct *vma,
				      pgoff_t first, struct page **pages,
				      unsigned long nr)
{
	pgoff_t vfirst = vma->vm_pgoff, vlast = vfirst + vma_pages(vma) - 1;
	pgoff_t start = max(first, vfirst), end = min(first + nr - 1, vlast);
	unsigned long inserted = 0;

	while (start <= end) {
		unsigned long num = end - start + 1, todo = num;
		unsigned long addr = vma->vm_start +
				     ((start - vfirst) << PAGE_SHIFT);
		int err;

		err = vm_insert_pages(vma, addr, pages + (start - first), &num);
		inserted += todo - num;
		if (err != -EBUSY)	/* done, or e.g. -ENOMEM: faults will do it */
			break;
		/* A fault installed this page already: skip it. */
		start += todo - num + 1;
	}
	return inserted;
}

/*
 * Install @m into @mm's VMAs @vmas[0..nr); the mm's mmap_lock is held.
 * @keep: every page of @m, looked up by vushm_populate(), or NULL: look
 * them up here, in batches, into @pages.
 */
static void vushm_install_mm(struct vushm_window *w, struct vushm_mapping *m,
			     struct vm_area_struct **vmas, unsigned int nr,
			     struct page **pages, struct page **keep)
{
	pgoff_t first;
	unsigned int i;

	if (keep) {
		for (i = 0; i < nr; i++)
			w->stats.pages_installed +=
				vushm_insert_vma(vmas[i], m->it.start, keep,
						 m->it.last - m->it.start + 1);
		return;
	}

	for (first = m->it.start; first <= m->it.last;
	     first += VUSHM_INSTALL_BATCH) {
		unsigned long want = min_t(u64, VUSHM_INSTALL_BATCH,
					   m->it.last - first + 1), got, k;

		for (got = 0; got < want; got++) {
			pages[got] = vushm_mapping_page(m, first + got);
			if (IS_ERR(pages[got]))
				break;
		}
		for (i = 0; got && i < nr; i++)
			w->stats.pages_installed +=
				vushm_insert_vma(vmas[i], first, pages, got);
		for (k = 0; k < got; k++)
			put_page(pages[k]);
		/* The file shrank under us: what is left is served by faults. */
		if (got < want)
			break;
		cond_resched();
	}
}

/*
 * Install @m into every VMA that maps it now, in every process.  The
 * processes are pinned (mmget_not_zero) under vmas_lock, then visited one
 * by one under their mmap_lock, which keeps their VMAs stable.  A VMA that
 * appears after the snapshot is served by vushm_fault().
 */
static void vushm_install(struct vushm_window *w, struct vushm_mapping *m,
			  struct page **keep)
{
	unsigned int cap = READ_ONCE(w->nr_vmas) + 1, nr_mms = 0, i, j;
	struct vm_area_struct **vmas = NULL;
	struct mm_struct **mms = NULL;
	unsigned long *starts = NULL;
	struct page **pages = NULL;
	struct vushm_vma *vv;

	mms = kmalloc_array(cap, sizeof(*mms), GFP_KERNEL_ACCOUNT);
	vmas = kmalloc_array(cap, sizeof(*vmas), GFP_KERNEL_ACCOUNT);
	starts = kmalloc_array(cap, sizeof(*starts), GFP_KERNEL_ACCOUNT);
	if (!keep)
		pages = kmalloc_array(VUSHM_INSTALL_BATCH, sizeof(*pages),
				      GFP_KERNEL_ACCOUNT);
	if (!mms || !vmas || !starts || (!keep && !pages))
		goto out;

	/* An entry on the list keeps its VMA, hence its mm, allocated. */
	spin_lock(&w->vmas_lock);
	list_for_each_entry(vv, &w->vmas, node) {
		struct mm_struct *mm = vv->vma->vm_mm;

		for (i = 0; i < nr_mms && mms[i] != mm; i++)
			;
		if (i == nr_mms && nr_mms < cap && mmget_not_zero(mm))
			mms[nr_mms++] = mm;
	}
	spin_unlock(&w->vmas_lock);

	for (i = 0; i < nr_mms; i++) {
		unsigned int nr = 0, nr_starts = 0;

		if (mmap_read_lock_killable(mms[i]))
			continue;
		/*
		 * Only addresses are taken from the list.  munmap on 6.1 detaches
		 * a VMA from the tree, then zaps and frees it under the *read*
		 * lock, and ->close (which unlists it) comes last: a listed VMA
		 * may be dying.  Only one the mm's tree still holds is used.
		 */
		spin_lock(&w->vmas_lock);
		list_for_each_entry(vv, &w->vmas, node)
			if (vv->vma->vm_mm == mms[i] && nr_starts < cap)
				starts[nr_starts++] = vv->vma->vm_start;
		spin_unlock(&w->vmas_lock);
		for (j = 0; j < nr_starts; j++) {
			struct vm_area_struct *vma = find_vma(mms[i], starts[j]);

			if (vma && vma->vm_start == starts[j] &&
			    vma->vm_ops == &vushm_vm_ops &&
			    vushm_vma_window(vma) == w)
				vmas[nr++] = vma;
		}
		vushm_install_mm(w, m, vmas, nr, pages, keep);
		mmap_read_unlock(mms[i]);
	}
	for (i = 0; i < nr_mms; i++)
		mmput(mms[i]);
out:
	kfree(pages);
	kfree(starts);
	kfree(vmas);
	kfree(mms);
}

static int vushm_check_map(struct vushm_window *w, const struct vushm_map *arg)
{
	u64 end;

	if (arg->reserved0 || arg->reserved[0] || arg->reserved[1] ||
	    (arg->flags & ~VUSHM_MAP_RW))
		return -EINVAL;
	if (!arg->len || !PAGE_ALIGNED(arg->len) ||
	    !PAGE_ALIGNED(arg->fd_offset) || !PAGE_ALIGNED(arg->shm_offset))
		return -EINVAL;
	if (check_add_overflow(arg->shm_offset, arg->len, &end) ||
	    check_add_overflow(arg->fd_offset, arg->len, &end))
		return -EINVAL;
	if (arg->shm_offset + arg->len > w->size)
		return -ERANGE;
	return 0;
}

/* Check @file may back a mapping; for RW, count it as a writable mapping. */
static int vushm_check_file(struct file *file, const struct vushm_map *arg)
{
	struct inode *inode = file_inode(file);
	int ret = 0;

	if (!shmem_file(file))
		return -EOPNOTSUPP;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if ((arg->flags & VUSHM_MAP_RW) && !(file->f_mode & FMODE_WRITE))
		return -EACCES;

	/* memfd_add_seals() takes the inode lock exclusively. */
	inode_lock_shared(inode);
	if (arg->fd_offset + arg->len > i_size_read(inode)) {
		ret = -ENXIO;
	} else if (arg->flags & VUSHM_MAP_RW) {
		/*
		 * Like a shared writable mmap of the memfd: F_SEAL_WRITE
		 * fails with EBUSY while the mapping exists.
		 */
		if (SHMEM_I(inode)->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
			ret = -EPERM;
		else
			ret = mapping_map_writable(file->f_mapping);
	}
	inode_unlock_shared(inode);
	return ret;
}

static int vushm_map_core(struct vushm_window *w, const struct vushm_map *arg)
{
	unsigned long npages = arg->len >> PAGE_SHIFT, i;
	struct page **keep = NULL;
	struct vushm_mapping *m;
	struct file *file;
	int ret;

	ret = vushm_check_map(w, arg);
	if (ret)
		return ret;
	file = fget(arg->fd);
	if (!file)
		return -EBADF;
	ret = vushm_check_file(file, arg);
	if (ret)
		goto out_fput;

	ret = -ENOMEM;
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		goto out_unwritable;
	m->file = file;
	m->flags = arg->flags;
	m->fd_pgoff = arg->fd_offset >> PAGE_SHIFT;
	m->it.start = arg->shm_offset >> PAGE_SHIFT;
	m->it.last = m->it.start + npages - 1;
	/* Worth it only when some process maps the window. */
	if (npages <= VUSHM_KEEP_PAGES && READ_ONCE(w->nr_vmas))
		keep = kmalloc_array(npages, sizeof(*keep), GFP_KERNEL_ACCOUNT);

	mutex_lock(&w->lock);
	ret = -ENODEV;
	if (w->dead)
		goto out_unlock;
	ret = -ENOSPC;
	if (w->nr_mappings >= READ_ONCE(vushm_max_mappings))
		goto out_unlock;
	ret = -EEXIST;
	if (vushm_find(w, m->it.start, m->it.last))
		goto out_unlock;
	ret = -ENOSPC;
	if (!vushm_charge_mapping(arg->len))
		goto out_unlock;

	ret = vushm_populate(m, keep);
	if (ret) {
		vushm_uncharge_mapping(arg->len);
		if (ret == -EINVAL)	/* the file shrank meanwhile */
			ret = -ENXIO;
		goto out_unlock;
	}

	down_write(&w->fault_sem);
	interval_tree_insert(&m->it, &w->mappings);
	w->map_gen++;
	w->nr_mappings++;
	w->mapped_bytes += arg->len;
	/* Hole pages that processes touched before (zero page, scratch). */
	unmap_mapping_range(vushm_mapping(w), arg->shm_offset, arg->len, 1);
	up_write(&w->fault_sem);

	vushm_install(w, m, keep);
	w->stats.maps++;
	vushm_nl_notify(w, VUSHM_CMD_MAP_NTF, m);
	mutex_unlock(&w->lock);
	for (i = 0; keep && i < npages; i++)
		put_page(keep[i]);
	kfree(keep);
	return 0;

out_unlock:
	w->stats.map_errors++;
	mutex_unlock(&w->lock);
	kfree(keep);
	kfree(m);
out_unwritable:
	if (arg->flags & VUSHM_MAP_RW)
		mapping_unmap_writable(file->f_mapping);
out_fput:
	fput(file);
	return ret;
}

int vushm_do_map(struct vushm_window *w, const struct vushm_map *arg)
{
	return vushm_count_failure(w, vushm_map_core(w, arg));
}

static int vushm_unmap_core(struct vushm_window *w,
			    const struct vushm_unmap *arg)
{
	struct vushm_mapping *m;
	pgoff_t first, last;

	if (arg->flags || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	/* Anything that is not exactly a live mapping's range is ENOENT. */
	if (!arg->len || !PAGE_ALIGNED(arg->len) ||
	    !PAGE_ALIGNED(arg->shm_offset) ||
	    arg->shm_offset >= w->size || arg->len > w->size - arg->shm_offset)
		return -ENOENT;
	first = arg->shm_offset >> PAGE_SHIFT;
	last = first + (arg->len >> PAGE_SHIFT) - 1;

	mutex_lock(&w->lock);
	if (w->dead) {
		mutex_unlock(&w->lock);
		return -ENODEV;
	}
	m = vushm_find(w, first, first);
	if (!m || m->it.start != first || m->it.last != last) {
		mutex_unlock(&w->lock);
		return -ENOENT;
	}
	down_write(&w->fault_sem);
	vushm_index_remove(w, m);
	unmap_mapping_range(vushm_mapping(w), arg->shm_offset, arg->len, 1);
	up_write(&w->fault_sem);
	w->stats.unmaps++;
	vushm_nl_notify(w, VUSHM_CMD_UNMAP_NTF, m);
	mutex_unlock(&w->lock);

	vushm_mapping_free(m);
	return 0;
}

int vushm_do_unmap(struct vushm_window *w, const struct vushm_unmap *arg)
{
	return vushm_count_failure(w, vushm_unmap_core(w, arg));
}

/* Remove every mapping; window->lock held. */
void vushm_reset_locked(struct vushm_window *w)
{
	struct interval_tree_node *it;

	lockdep_assert_held(&w->lock);
	if (!w->nr_mappings)
		return;

	down_write(&w->fault_sem);
	/* One zap, one TLB flush per VMA, for the whole window. */
	unmap_mapping_range(vushm_mapping(w), 0, 0, 1);
	while ((it = interval_tree_iter_first(&w->mappings, 0, ULONG_MAX))) {
		struct vushm_mapping *m = container_of(it, struct vushm_mapping, it);

		vushm_index_remove(w, m);
		vushm_mapping_free(m);
		w->stats.unmaps++;
	}
	up_write(&w->fault_sem);
}

int vushm_do_reset(struct vushm_window *w)
{
	int ret = 0;

	mutex_lock(&w->lock);
	if (w->dead) {
		ret = -ENODEV;
	} else {
		vushm_reset_locked(w);
		vushm_nl_notify(w, VUSHM_CMD_RESET_NTF, NULL);
	}
	mutex_unlock(&w->lock);
	return vushm_count_failure(w, ret);
}
