// SPDX-License-Identifier: GPL-2.0
/*
 * Window mappings: the mapping index, mmap of the window node, faults, and
 * eager installation of a backend file's pages into every VMA of a window.
 *
 * Every window VMA is VM_SHARED | VM_PFNMAP and every PTE in it is special:
 * a mapping holds a reference on each of its pages (m->pages) and the PTEs
 * hold none, like drm_gem_shmem.  The backend's page cache knows nothing of
 * our PTEs (they are not in its file's i_mmap), so pages it still maps must
 * never count as mapped: a truncate or hole punch of the memfd would then
 * delete "still mapped" page-cache folios (Bad page cache, VM_BUG_ON with
 * DEBUG_VM).  With special PTEs the folio merely leaves the file and lives
 * on in the window until UNMAP.  The price: get_user_pages fails on the
 * window (KVM uses its VM_PFNMAP path; ptrace uses vm_ops->access).
 *
 * pfn_mkwrite makes the core keep vm_page_prot read-only (write-notify).
 * PTEs of read-write mappings are installed writable; PTEs of read-only
 * mappings and of the zero page read-only, so any store to them, whatever
 * made the VMA writable (mprotect), asks pfn_mkwrite, which refuses or
 * re-faults: the core never upgrades a PTE by itself.
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

static const struct vm_operations_struct vushm_vm_ops;

static struct vushm_window *vushm_vma_window(struct vm_area_struct *vma)
{
	return ((struct vushm_vma *)vma->vm_private_data)->w;
}

/*
 * The index: a red-black tree of the window's mappings by start.  MAP
 * refuses overlaps, so the ranges are disjoint, and ordered by last as by
 * start: one descent finds the mapping that overlaps [@first, @last], or
 * else where such a range goes (@parent, @link), with no augmented
 * interval tree to update on every change.
 */
static struct vushm_mapping *vushm_descend(struct vushm_window *w,
					   pgoff_t first, pgoff_t last,
					   struct rb_node **parent,
					   struct rb_node ***link)
{
	struct rb_node **p = &w->mappings.rb_node, *n = NULL;

	while (*p) {
		struct vushm_mapping *m;

		n = *p;
		m = rb_entry(n, struct vushm_mapping, node);
		if (last < m->start)
			p = &n->rb_left;
		else if (first > m->last)
			p = &n->rb_right;
		else
			return m;
	}
	*parent = n;
	*link = p;
	return NULL;
}

/* A mapping that overlaps [@first, @last]; fault_sem or window->lock held. */
static struct vushm_mapping *vushm_find(struct vushm_window *w, pgoff_t first,
					pgoff_t last)
{
	struct rb_node *parent, **link;

	return vushm_descend(w, first, last, &parent, &link);
}

/* The first mapping that ends at or after @from; same locking. */
struct vushm_mapping *vushm_first_from(struct vushm_window *w, pgoff_t from)
{
	struct rb_node *n = w->mappings.rb_node;
	struct vushm_mapping *found = NULL;

	while (n) {
		struct vushm_mapping *m = rb_entry(n, struct vushm_mapping, node);

		if (m->last >= from) {
			found = m;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return found;
}

/* The mapping after @m in window order; same locking. */
struct vushm_mapping *vushm_next(struct vushm_mapping *m)
{
	return rb_entry_safe(rb_next(&m->node), struct vushm_mapping, node);
}

static struct page *vushm_page(struct vushm_mapping *m, pgoff_t pgoff)
{
	return m->pages[pgoff - m->start];
}

/*
 * The protection of a PTE for window page @m (NULL: the scratch page) in
 * @vma: writable where both the mapping and the VMA allow it, so that the
 * first store costs no second fault (and KVM, which does not fault a
 * present read-only PTE for writing, need not emulate it).  Otherwise
 * vm_page_prot, which write-notify keeps read-only.
 */
static pgprot_t vushm_prot(struct vm_area_struct *vma, struct vushm_mapping *m)
{
	if (!(vma->vm_flags & VM_WRITE) || (m && !(m->flags & VUSHM_MAP_RW)))
		return vma->vm_page_prot;
	/* Our ->mmap sets no caching bits that this would drop. */
	return vm_get_page_prot(vma->vm_flags);
}

/*
 * Every window PTE is set here, by apply_to_page_range(): the PTE
 * vmf_insert_pfn_prot() would make (special, @prot), without its PAT
 * lookup (a walk of the iomem resources per page, for RAM that is always
 * write-back).  A PTE already there (a racing fault) is left alone.
 */
struct vushm_fill {
	struct mm_struct *mm;
	struct page **pages;	/* a page per address in turn, or NULL: */
	unsigned long pfn;	/* this one */
	pgprot_t prot;
	unsigned long filled;
};

/* apply_to_page_range() callback, page table lock held. */
static int vushm_fill_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct vushm_fill *f = data;
	unsigned long pfn = f->pages ? page_to_pfn(*f->pages++) : f->pfn;

	if (pte_none(*pte)) {
		set_pte_at(f->mm, addr, pte, pte_mkspecial(pfn_pte(pfn, f->prot)));
		f->filled++;
	}
	return 0;
}

/* A fault's PTE: @pfn at the faulting address. */
static vm_fault_t vushm_fault_pte(struct vm_fault *vmf, unsigned long pfn,
				  pgprot_t prot)
{
	struct vushm_fill f = {
		.mm = vmf->vma->vm_mm,
		.pfn = pfn,
		.prot = prot,
	};

	if (apply_to_page_range(f.mm, vmf->address & PAGE_MASK, PAGE_SIZE,
				vushm_fill_pte, &f))
		return VM_FAULT_OOM;
	return VM_FAULT_NOPAGE;
}

/* A destroyed window serves zeros, whatever its policy, so the VMM lives. */
static bool vushm_holes_sigbus(struct vushm_window *w)
{
	return w->hole_policy == VUSHM_HOLE_SIGBUS && !READ_ONCE(w->dead);
}

static vm_fault_t vushm_hole_fault(struct vushm_window *w, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	atomic64_inc(&w->hole_faults);
	if (vushm_holes_sigbus(w))
		return VM_FAULT_SIGBUS;
	/* Before the PTE, under fault_sem: a MAP here will zap it. */
	set_bit(vmf->pgoff >> VUSHM_HOLE_CHUNK_SHIFT, w->hole_chunks);
	/* Reads get the zero page, read-only; stores the scratch page. */
	if (vmf->flags & FAULT_FLAG_WRITE)
		return vushm_fault_pte(vmf, page_to_pfn(w->scratch),
				       vushm_prot(vma, NULL));
	return vushm_fault_pte(vmf, my_zero_pfn(vmf->address),
			       vma->vm_page_prot);
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
	if (!m) {
		ret = vushm_hole_fault(w, vmf);
	} else if ((vmf->flags & FAULT_FLAG_WRITE) &&
		   !(m->flags & VUSHM_MAP_RW)) {
		atomic64_inc(&w->ro_denied);
		ret = VM_FAULT_SIGBUS;
	} else {
		ret = vushm_fault_pte(vmf, page_to_pfn(vushm_page(m, vmf->pgoff)),
				      vushm_prot(vmf->vma, m));
	}
	up_read(&w->fault_sem);
	return ret;
}

/*
 * A store to a present read-only PTE: a read-only mapping's page, the zero
 * page, or a page installed while the VMA was not writable.  Refuse the
 * first; for the others drop the PTE and let the store fault again, so that
 * vushm_fault() picks the page and its protection under fault_sem.  Never
 * return 0: the core would make the PTE writable after we dropped
 * fault_sem, by which time it may map another mapping's page.
 */
static vm_fault_t vushm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vushm_window *w = vushm_vma_window(vmf->vma);
	struct vushm_mapping *m;
	vm_fault_t ret = VM_FAULT_NOPAGE;

	down_read(&w->fault_sem);
	m = vushm_find(w, vmf->pgoff, vmf->pgoff);
	if (m && !(m->flags & VUSHM_MAP_RW)) {
		atomic64_inc(&w->ro_denied);
		ret = VM_FAULT_SIGBUS;
	} else {
		zap_vma_ptes(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE);
	}
	up_read(&w->fault_sem);
	return ret;
}

/*
 * ptrace and /proc/pid/mem: get_user_pages cannot pin special PTEs, so
 * access_remote_vm() comes here, with a length that may run past the VMA.
 * Same rules as a CPU access: holes read as zeros (or fail with
 * VUSHM_HOLE_SIGBUS); writes only through a writable VMA (FOLL_FORCE does
 * not make a shared mapping writable) into read-write mappings; a hole is
 * not written.
 */
static int vushm_access(struct vm_area_struct *vma, unsigned long addr,
			void *buf, int len, int write)
{
	struct vushm_window *w = vushm_vma_window(vma);
	int done = 0;

	if (write && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	len = min_t(unsigned long, len, vma->vm_end - addr);
	down_read(&w->fault_sem);
	while (done < len) {
		pgoff_t pgoff = vma->vm_pgoff +
				((addr - vma->vm_start) >> PAGE_SHIFT);
		unsigned int off = offset_in_page(addr);
		int n = min_t(int, len - done, PAGE_SIZE - off);
		struct vushm_mapping *m = vushm_find(w, pgoff, pgoff);
		void *kaddr;

		if (!m) {
			if (write || vushm_holes_sigbus(w))
				break;
			memset(buf, 0, n);
		} else {
			if (write && !(m->flags & VUSHM_MAP_RW)) {
				atomic64_inc(&w->ro_denied);
				break;
			}
			kaddr = kmap_local_page(vushm_page(m, pgoff));
			if (write)
				memcpy(kaddr + off, buf, n);
			else
				memcpy(buf, kaddr + off, n);
			kunmap_local(kaddr);
		}
		done += n;
		addr += n;
		buf += n;
	}
	up_read(&w->fault_sem);
	return done ? done : -EFAULT;
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
	.pfn_mkwrite = vushm_pfn_mkwrite,
	.access = vushm_access,
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
	/*
	 * VM_PFNMAP: special PTEs only (see the top of this file); KVM maps
	 * such VMAs through hva_to_pfn_remapped().  A core dump would read
	 * none of it.  VM_MAYSHARE above rules out the COW mappings that
	 * VM_PFNMAP forbids.
	 */
	vushm_vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
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

/*
 * A netlink dump part records map_gen as its sequence and the next part
 * compares: 0 means "nothing sent yet" there, so the count skips it (as
 * vushm_windows_gen does) or a dump interrupted at the wrap would not know.
 */
static void vushm_map_gen_bump(struct vushm_window *w)
{
	lockdep_assert_held_write(&w->fault_sem);
	if (!++w->map_gen)
		w->map_gen = 1;
}

/* Take @m out of the index; the caller zaps its range under the same lock. */
static void vushm_index_remove(struct vushm_window *w, struct vushm_mapping *m)
{
	u64 bytes = (u64)(m->last - m->start + 1) << PAGE_SHIFT;

	/* MAP relies on it: the index changes only under window->lock. */
	lockdep_assert_held(&w->lock);
	lockdep_assert_held_write(&w->fault_sem);
	rb_erase(&m->node, &w->mappings);
	vushm_map_gen_bump(w);
	w->nr_mappings--;
	w->mapped_bytes -= bytes;
	vushm_uncharge_mapping(bytes);
}

static void vushm_put_pages(struct page **pages, unsigned long nr)
{
	while (nr)
		put_page(pages[--nr]);
}

static void vushm_mapping_free(struct vushm_mapping *m)
{
	vushm_put_pages(m->pages, m->last - m->start + 1);
	kvfree(m->pages);
	if (m->flags & VUSHM_MAP_RW)
		mapping_unmap_writable(m->file->f_mapping);
	fput(m->file);
	kfree(m);
}

/*
 * Take a reference on every page of @m, creating the pages the file lacks:
 * MAP fails now rather than a fault later, and the window keeps them
 * whatever the backend does to its file.  Stores through special PTEs do
 * not dirty the page when the PTE goes, so a read-write mapping dirties
 * its pages here (shmem reclaim would otherwise drop a clean page it
 * believes to hold zeros); they cannot be cleaned while we hold them.
 */
static int vushm_populate(struct vushm_mapping *m)
{
	struct address_space *fm = m->file->f_mapping;
	unsigned long n, npages = m->last - m->start + 1;

	m->pages = kvmalloc_array(npages, sizeof(*m->pages),
				  GFP_KERNEL_ACCOUNT);
	if (!m->pages)
		return -ENOMEM;
	for (n = 0; n < npages; n++) {
		struct page *page;

		page = shmem_read_mapping_page_gfp(fm, m->fd_pgoff + n,
						   mapping_gfp_mask(fm));
		if (IS_ERR(page)) {
			vushm_put_pages(m->pages, n);
			kvfree(m->pages);
			m->pages = NULL;
			return PTR_ERR(page);
		}
		if (m->flags & VUSHM_MAP_RW)
			set_page_dirty(page);
		m->pages[n] = page;
		cond_resched();
	}
	return 0;
}

/* Install window pages [@m's range] into @vma, mmap_lock held. */
static unsigned long vushm_install_vma(struct vm_area_struct *vma,
				       struct vushm_mapping *m)
{
	pgoff_t vfirst = vma->vm_pgoff, vlast = vfirst + vma_pages(vma) - 1;
	pgoff_t start = max(m->start, vfirst), last = min(m->last, vlast);
	struct vushm_fill f = {
		.mm = vma->vm_mm,
		.prot = vushm_prot(vma, m),
	};
	unsigned long addr, end;

	if (start > last)
		return 0;
	f.pages = &m->pages[start - m->start];
	addr = vma->vm_start + ((start - vfirst) << PAGE_SHIFT);
	end = vma->vm_start + ((last - vfirst + 1) << PAGE_SHIFT);
	while (addr < end) {
		unsigned long next = min(pmd_addr_end(addr, end), end);

		/* -ENOMEM for a page table: faults will do the rest. */
		if (apply_to_page_range(f.mm, addr, next - addr,
					vushm_fill_pte, &f))
			break;
		addr = next;
		cond_resched();
	}
	return f.filled;
}

/*
 * Install the mappings @list (chained by pending_next) into every VMA that
 * maps them now, in every process.  The processes are pinned
 * (mmget_not_zero) under vmas_lock, then visited one by one under their
 * mmap_lock, which keeps their VMAs stable.  A VMA that appears after the
 * snapshot is served by vushm_fault().  window->lock held: every mapping
 * on @list is in the index.
 */
static void vushm_install(struct vushm_window *w, struct vushm_mapping *list)
{
	struct vushm_mapping *m;
	unsigned int cap = READ_ONCE(w->nr_vmas) + 1, nr_mms = 0, i, j;
	struct mm_struct **mms = NULL;
	unsigned long *starts = NULL;
	struct vushm_vma *vv;

	if (!READ_ONCE(w->nr_vmas))
		return;
	mms = kmalloc_array(cap, sizeof(*mms), GFP_KERNEL_ACCOUNT);
	starts = kmalloc_array(cap, sizeof(*starts), GFP_KERNEL_ACCOUNT);
	if (!mms || !starts)
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
		unsigned int nr_starts = 0;

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

			if (!vma || vma->vm_start != starts[j] ||
			    vma->vm_ops != &vushm_vm_ops ||
			    vushm_vma_window(vma) != w)
				continue;
			for (m = list; m; m = m->pending_next)
				w->stats.pages_installed +=
					vushm_install_vma(vma, m);
		}
		mmap_read_unlock(mms[i]);
	}
	for (i = 0; i < nr_mms; i++)
		mmput(mms[i]);
out:
	kfree(starts);
	kfree(mms);
}

/* May a hole PTE exist in @m's range?  fault_sem held. */
static bool vushm_holes_touched(struct vushm_window *w, struct vushm_mapping *m)
{
	unsigned long first = m->start >> VUSHM_HOLE_CHUNK_SHIFT;
	unsigned long last = m->last >> VUSHM_HOLE_CHUNK_SHIFT;

	return find_next_bit(w->hole_chunks, last + 1, first) <= last;
}

/*
 * Zap the PTEs of the mappings that io_uring UNMAPs took out of the index,
 * one unmap_mapping_range() (one TLB flush per VMA) per run of adjacent
 * ranges, then free them.  window->lock held.  No PTE to their pages can
 * appear meanwhile: faults and installs only map what the index holds.
 */
void vushm_flush_zaps(struct vushm_window *w)
{
	struct vushm_mapping *m = w->zap_pending, *run, *next;

	lockdep_assert_held(&w->lock);
	if (!m)
		return;
	w->zap_pending = NULL;
	/* UNMAPs queue in submission order, typically ascending: keep runs. */
	for (run = m; run; run = next) {
		pgoff_t first = run->start, last = run->last;

		for (next = run->pending_next; next; next = next->pending_next) {
			if (next->start == last + 1)
				last = next->last;
			else if (next->last + 1 == first)
				first = next->start;
			else
				break;
		}
		unmap_mapping_range(vushm_mapping(w), (loff_t)first << PAGE_SHIFT,
				    (loff_t)(last - first + 1) << PAGE_SHIFT, 1);
	}
	for (; m; m = next) {
		next = m->pending_next;
		vushm_mapping_free(m);
	}
}

/* Install what io_uring MAPs queued; window->lock held. */
void vushm_flush_installs(struct vushm_window *w)
{
	struct vushm_mapping *list = w->install_pending;

	lockdep_assert_held(&w->lock);
	if (!list)
		return;
	w->install_pending = NULL;
	vushm_install(w, list);
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

static int vushm_map_core(struct vushm_window *w, const struct vushm_map *arg,
			  bool defer_install)
{
	unsigned long npages = arg->len >> PAGE_SHIFT;
	struct rb_node *parent, **link;
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
	m->start = arg->shm_offset >> PAGE_SHIFT;
	m->last = m->start + npages - 1;

	mutex_lock(&w->lock);
	ret = -ENODEV;
	if (w->dead)
		goto out_unlock;
	/* Stale PTEs of pending UNMAPs would hide the new pages. */
	vushm_flush_zaps(w);
	ret = -ENOSPC;
	if (w->nr_mappings >= READ_ONCE(vushm_max_mappings))
		goto out_unlock;
	/*
	 * The slot stays valid until the insert below: window->lock is held
	 * until then and every change of the index needs it.
	 */
	ret = -EEXIST;
	if (vushm_descend(w, m->start, m->last, &parent, &link))
		goto out_unlock;
	ret = -ENOSPC;
	if (!vushm_charge_mapping(arg->len))
		goto out_unlock;

	ret = vushm_populate(m);
	if (ret) {
		vushm_uncharge_mapping(arg->len);
		if (ret == -EINVAL)	/* the file shrank meanwhile */
			ret = -ENXIO;
		goto out_unlock;
	}

	down_write(&w->fault_sem);
	rb_link_node(&m->node, parent, link);
	rb_insert_color(&m->node, &w->mappings);
	vushm_map_gen_bump(w);
	w->nr_mappings++;
	w->mapped_bytes += arg->len;
	/* Hole pages that processes touched before (zero page, scratch). */
	if (vushm_holes_touched(w, m))
		unmap_mapping_range(vushm_mapping(w), arg->shm_offset,
				    arg->len, 1);
	up_write(&w->fault_sem);

	if (defer_install) {
		m->pending_next = w->install_pending;
		w->install_pending = m;
	} else {
		m->pending_next = NULL;
		vushm_install(w, m);
	}
	w->stats.maps++;
	vushm_nl_notify(w, VUSHM_CMD_MAP_NTF, m);
	mutex_unlock(&w->lock);
	return 0;

out_unlock:
	w->stats.map_errors++;
	mutex_unlock(&w->lock);
	kfree(m);
out_unwritable:
	if (arg->flags & VUSHM_MAP_RW)
		mapping_unmap_writable(file->f_mapping);
out_fput:
	fput(file);
	return ret;
}

/*
 * @defer_install: leave the eager install to vushm_flush_installs(), which
 * the caller makes happen before it reports the MAP done (io_uring
 * batches); faults serve the pages meanwhile.
 */
int vushm_do_map(struct vushm_window *w, const struct vushm_map *arg,
		 bool defer_install)
{
	return vushm_count_failure(w, vushm_map_core(w, arg, defer_install));
}

static int vushm_unmap_core(struct vushm_window *w,
			    const struct vushm_unmap *arg, bool defer_zap)
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
	/* A mapping leaves the index only once it is off that list. */
	vushm_flush_installs(w);
	m = vushm_find(w, first, first);
	if (!m || m->start != first || m->last != last) {
		mutex_unlock(&w->lock);
		return -ENOENT;
	}
	down_write(&w->fault_sem);
	vushm_index_remove(w, m);
	if (!defer_zap)
		unmap_mapping_range(vushm_mapping(w), arg->shm_offset,
				    arg->len, 1);
	up_write(&w->fault_sem);
	w->stats.unmaps++;
	vushm_nl_notify(w, VUSHM_CMD_UNMAP_NTF, m);
	if (defer_zap) {
		m->pending_next = w->zap_pending;
		w->zap_pending = m;
		m = NULL;
	}
	mutex_unlock(&w->lock);

	if (m)
		vushm_mapping_free(m);
	return 0;
}

/*
 * @defer_zap: leave the zap to vushm_flush_zaps(), which the caller makes
 * happen before it reports the UNMAP done (io_uring batches).
 */
int vushm_do_unmap(struct vushm_window *w, const struct vushm_unmap *arg,
		   bool defer_zap)
{
	return vushm_count_failure(w, vushm_unmap_core(w, arg, defer_zap));
}

/* Remove every mapping; window->lock held. */
void vushm_reset_locked(struct vushm_window *w)
{
	struct rb_node *n;

	lockdep_assert_held(&w->lock);
	vushm_flush_zaps(w);
	/* All of them are about to go: no point installing any. */
	w->install_pending = NULL;
	if (!w->nr_mappings)
		return;

	down_write(&w->fault_sem);
	/* One zap, one TLB flush per VMA, for the whole window. */
	unmap_mapping_range(vushm_mapping(w), 0, 0, 1);
	bitmap_zero(w->hole_chunks, vushm_hole_chunks(w));
	while ((n = rb_first(&w->mappings))) {
		struct vushm_mapping *m = rb_entry(n, struct vushm_mapping, node);

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
