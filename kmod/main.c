// SPDX-License-Identifier: GPL-2.0
/*
 * vushm: module init/exit, the control node, window create/attach/destroy,
 * the window nodes (/dev/vushm/<name>) and their sysfs attributes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pid.h>
#include <linux/pseudo_fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vushm.h"

#define VUSHM_MAX_MINORS	BIT(MINORBITS)
#define VUSHM_DEFAULT_MAX_WINDOW_SIZE	BIT_ULL(40)

static unsigned int max_windows = 64;
module_param(max_windows, uint, 0644);
MODULE_PARM_DESC(max_windows, "Windows that may exist at once (default 64)");

unsigned int vushm_max_mappings = 1U << 20;
module_param_named(max_mappings, vushm_max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings, "Live mappings per window (default 1048576)");

static unsigned long long max_window_size = VUSHM_DEFAULT_MAX_WINDOW_SIZE;
module_param(max_window_size, ullong, 0644);
MODULE_PARM_DESC(max_window_size, "Largest window in bytes (default 1 TiB)");

/*
 * Module-wide caps on what MAP may hold: the mappings' kernel memory and
 * the backend pages they keep alive (those stay charged to the backend's
 * memory cgroup as shmem; this bounds what one host lends to its guests).
 */
static unsigned int max_total_mappings = 1U << 22;
module_param(max_total_mappings, uint, 0644);
MODULE_PARM_DESC(max_total_mappings,
		 "Live mappings in all windows together (default 4194304)");

static unsigned long long max_mapped_bytes;
module_param(max_mapped_bytes, ullong, 0644);
MODULE_PARM_DESC(max_mapped_bytes,
		 "Bytes mapped in all windows together; 0: no limit (default)");

static atomic_long_t vushm_total_mappings = ATOMIC_LONG_INIT(0);
static atomic64_t vushm_total_mapped_bytes = ATOMIC64_INIT(0);

/*
 * Reserve one mapping of @bytes against the module-wide limits; false (and
 * nothing reserved) if that would exceed one.  Lock-free: windows map in
 * parallel under their own locks.
 */
bool vushm_charge_mapping(u64 bytes)
{
	u64 max_bytes = READ_ONCE(max_mapped_bytes);

	if (atomic_long_inc_return(&vushm_total_mappings) >
	    READ_ONCE(max_total_mappings))
		goto undo_count;
	if (atomic64_add_return(bytes, &vushm_total_mapped_bytes) > max_bytes &&
	    max_bytes)
		goto undo_bytes;
	return true;

undo_bytes:
	atomic64_sub(bytes, &vushm_total_mapped_bytes);
undo_count:
	atomic_long_dec(&vushm_total_mappings);
	return false;
}

void vushm_uncharge_mapping(u64 bytes)
{
	atomic64_sub(bytes, &vushm_total_mapped_bytes);
	atomic_long_dec(&vushm_total_mappings);
}

/*
 * The registry of windows by name, in creation order; outermost lock (see
 * vushm.h).  vushm_windows_gen changes with every create and destroy (netlink
 * dumps report a change with NLM_F_DUMP_INTR); never 0.
 */
DEFINE_MUTEX(vushm_windows_lock);
LIST_HEAD(vushm_windows);
u32 vushm_windows_gen = 1;
static unsigned int vushm_nr_windows;
static u64 vushm_next_id;

/* The errnos Documentation/vushm.rst lists for MAP, UNMAP and RESET. */
const int vushm_failure_errnos[VUSHM_NR_FAILURES] = {
	EINVAL, EBADF, EOPNOTSUPP, EACCES, EPERM, ERANGE, ENXIO, EEXIST,
	ENOSPC, ENOMEM, ENODEV, ENOENT,
	0,	/* anything else */
};

/* Count a failed MAP, UNMAP or RESET of @w; returns @err. */
int vushm_count_failure(struct vushm_window *w, int err)
{
	int i;

	if (err >= 0)
		return err;
	for (i = 0; i < VUSHM_NR_FAILURES - 1; i++)
		if (vushm_failure_errnos[i] == -err)
			break;
	atomic64_inc(&w->failures[i]);
	return err;
}

static void vushm_windows_changed(void)
{
	lockdep_assert_held(&vushm_windows_lock);
	if (!++vushm_windows_gen)
		vushm_windows_gen = 1;
}

static DEFINE_IDA(vushm_minors);
static dev_t vushm_devt;
static struct class *vushm_class;
static struct vfsmount *vushm_mnt;

static const struct file_operations vushm_ctl_fops;

static struct vushm_window *to_window(VUSHM_DEVNODE_CONST struct device *dev)
{
	return container_of(dev, struct vushm_window, dev);
}

/* For open() of a window node: a reference, or ENODEV once destroyed. */
struct vushm_window *vushm_window_get_by_inode(struct inode *inode)
{
	struct vushm_window *w = container_of(inode->i_cdev,
					      struct vushm_window, cdev);

	if (READ_ONCE(w->dead))
		return ERR_PTR(-ENODEV);
	get_device(&w->dev);
	return w;
}

void vushm_fill_info(struct vushm_info *info, struct vushm_window *w)
{
	memset(info, 0, sizeof(*info));
	info->api_version = VUSHM_API_VERSION;
	info->page_size = PAGE_SIZE;
	info->features = VUSHM_F_URING_CMD | VUSHM_F_HOLE_SIGBUS |
			 VUSHM_F_EPHEMERAL | VUSHM_F_ATTACH;
	info->max_window_size = READ_ONCE(max_window_size) & PAGE_MASK;
	info->max_windows = READ_ONCE(max_windows);
	info->max_mappings = READ_ONCE(vushm_max_mappings);
	info->max_total_mappings = READ_ONCE(max_total_mappings);
	info->max_mapped_bytes = READ_ONCE(max_mapped_bytes);
	if (!w)
		return;
	info->size = w->size;
	info->shmid = w->shmid;
	info->hole_policy = w->hole_policy;
	mutex_lock(&w->lock);
	info->nr_mappings = w->nr_mappings;
	info->mapped_bytes = w->mapped_bytes;
	mutex_unlock(&w->lock);
	strscpy(info->name, w->name, sizeof(info->name));
}

/* sysfs: /sys/class/vushm/<name>/ */

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", to_window(dev)->size);
}
static DEVICE_ATTR_RO(size);

static ssize_t shmid_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", to_window(dev)->shmid);
}
static DEVICE_ATTR_RO(shmid);

static ssize_t hole_policy_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  to_window(dev)->hole_policy == VUSHM_HOLE_SIGBUS ?
			  "sigbus" : "zero");
}
static DEVICE_ATTR_RO(hole_policy);

static ssize_t nr_mappings_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_window(dev)->nr_mappings));
}
static DEVICE_ATTR_RO(nr_mappings);

static ssize_t mapped_bytes_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(to_window(dev)->mapped_bytes));
}
static DEVICE_ATTR_RO(mapped_bytes);

static ssize_t nr_vmas_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_window(dev)->nr_vmas));
}
static DEVICE_ATTR_RO(nr_vmas);

static ssize_t controller_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(to_window(dev)->has_controller));
}
static DEVICE_ATTR_RO(controller);

static ssize_t ephemeral_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", !!(to_window(dev)->create_flags &
					  VUSHM_CREATE_EPHEMERAL));
}
static DEVICE_ATTR_RO(ephemeral);

/*
 * /sys/class/vushm/<name>/stats/: one counter per file.  (checkpatch's
 * notes on argument reuse do not apply: @field is only pasted into names.)
 */
#define VUSHM_STAT_LOCKED(field)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct vushm_window *w = to_window(dev);			\
	u64 v;								\
									\
	mutex_lock(&w->lock);						\
	v = w->stats.field;						\
	mutex_unlock(&w->lock);						\
	return sysfs_emit(buf, "%llu\n", v);				\
}									\
static DEVICE_ATTR_RO(field)

#define VUSHM_STAT_ATOMIC(field)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  (s64)atomic64_read(&to_window(dev)->field));	\
}									\
static DEVICE_ATTR_RO(field)

VUSHM_STAT_LOCKED(maps);
VUSHM_STAT_LOCKED(unmaps);
VUSHM_STAT_LOCKED(map_errors);
VUSHM_STAT_LOCKED(pages_installed);
VUSHM_STAT_ATOMIC(faults);
VUSHM_STAT_ATOMIC(hole_faults);
VUSHM_STAT_ATOMIC(ro_denied);

static struct attribute *vushm_stats_attrs[] = {
	&dev_attr_maps.attr,
	&dev_attr_unmaps.attr,
	&dev_attr_map_errors.attr,
	&dev_attr_pages_installed.attr,
	&dev_attr_faults.attr,
	&dev_attr_hole_faults.attr,
	&dev_attr_ro_denied.attr,
	NULL,
};

static const struct attribute_group vushm_stats_group = {
	.name = "stats",
	.attrs = vushm_stats_attrs,
};

static struct attribute *vushm_window_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_shmid.attr,
	&dev_attr_hole_policy.attr,
	&dev_attr_nr_mappings.attr,
	&dev_attr_mapped_bytes.attr,
	&dev_attr_nr_vmas.attr,
	&dev_attr_controller.attr,
	&dev_attr_ephemeral.attr,
	NULL,
};

static const struct attribute_group vushm_window_group = {
	.attrs = vushm_window_attrs,
};

static const struct attribute_group *vushm_window_groups[] = {
	&vushm_window_group,
	&vushm_stats_group,
	NULL,
};

static char *vushm_window_devnode(VUSHM_DEVNODE_CONST struct device *dev,
				  umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	struct vushm_window *w = to_window(dev);

	if (mode)
		*mode = w->mode;
	if (uid)
		*uid = w->uid;
	if (gid)
		*gid = w->gid;
	return kasprintf(GFP_KERNEL, "vushm/%s", w->name);
}

static void vushm_window_release(struct device *dev)
{
	struct vushm_window *w = to_window(dev);

	WARN_ON(w->nr_mappings || w->zap_pending || w->install_pending);
	put_pid(w->ctl_pid);
	if (w->scratch)
		put_page(w->scratch);
	kvfree(w->hole_chunks);
	iput(w->inode);
	ida_free(&vushm_minors, MINOR(dev->devt));
	kfree(w);
}

static const struct device_type vushm_window_type = {
	.name = "vushm-window",
	.groups = vushm_window_groups,
	.devnode = vushm_window_devnode,
	.release = vushm_window_release,
};

static bool vushm_name_valid(const char *name)
{
	size_t len = strnlen(name, VUSHM_NAME_MAX), i;

	if (!len || len == VUSHM_NAME_MAX)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !strcmp(name, "control"))
		return false;
	/* The kernel's isalnum() is Latin-1: 0xc0-0xff are letters to it. */
	for (i = 0; i < len; i++)
		if (!isascii(name[i]) ||
		    (!isalnum(name[i]) && !strchr("._-", name[i])))
			return false;
	return true;
}

struct vushm_window *vushm_find_window(const char *name)
{
	struct vushm_window *w;

	lockdep_assert_held(&vushm_windows_lock);
	list_for_each_entry(w, &vushm_windows, node)
		if (!strcmp(w->name, name))
			return w;
	return NULL;
}

/* A new controller fd holding a window reference; has_controller set. */
static int vushm_ctl_install(struct vushm_window *w)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	get_device(&w->dev);
	file = anon_inode_getfile("[vushm-controller]", &vushm_ctl_fops, w,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_device(&w->dev);
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	mutex_lock(&w->lock);
	w->has_controller = true;
	put_pid(w->ctl_pid);
	w->ctl_pid = get_pid(task_tgid(current));
	mutex_unlock(&w->lock);
	fd_install(fd, file);
	return fd;
}

/* Unlink the window: no node, no sysfs, no mappings; vushm_windows_lock held. */
static void vushm_window_destroy_locked(struct vushm_window *w)
{
	lockdep_assert_held(&vushm_windows_lock);
	mutex_lock(&w->lock);
	vushm_reset_locked(w);
	WRITE_ONCE(w->dead, true);
	vushm_nl_notify(w, VUSHM_CMD_WINDOW_DESTROY_NTF, NULL);
	mutex_unlock(&w->lock);
	/* Hole PTEs of a SIGBUS window stay zero-page PTEs: nothing to zap. */
	list_del(&w->node);
	vushm_nr_windows--;
	vushm_windows_changed();
	cdev_device_del(&w->cdev, &w->dev);
	put_device(&w->dev);
	module_put(THIS_MODULE);
}

static int vushm_check_create(const struct vushm_create *c, kuid_t *uid,
			      kgid_t *gid)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(c->reserved); i++)
		if (c->reserved[i])
			return -EINVAL;
	if (c->flags & ~VUSHM_CREATE_EPHEMERAL)
		return -EINVAL;
	if (!vushm_name_valid(c->name))
		return -EINVAL;
	if (!c->size || !PAGE_ALIGNED(c->size))
		return -EINVAL;
	if (c->shmid > 255)
		return -EINVAL;
	if (c->hole_policy != VUSHM_HOLE_ZERO &&
	    c->hole_policy != VUSHM_HOLE_SIGBUS)
		return -EINVAL;
	if (c->mode & ~0777U)
		return -EINVAL;
	*uid = make_kuid(current_user_ns(), c->uid);
	*gid = make_kgid(current_user_ns(), c->gid);
	if (!uid_valid(*uid) || !gid_valid(*gid))
		return -EINVAL;
	if (c->size > READ_ONCE(max_window_size))
		return -EFBIG;
	return 0;
}

static int vushm_create(const struct vushm_create *c)
{
	struct vushm_window *w;
	kuid_t uid;
	kgid_t gid;
	int ret, minor, fd;

	ret = vushm_check_create(c, &uid, &gid);
	if (ret)
		return ret;

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return -ENOMEM;
	strscpy(w->name, c->name, sizeof(w->name));
	w->size = c->size;
	w->shmid = c->shmid;
	w->hole_policy = c->hole_policy;
	w->create_flags = c->flags;
	w->uid = uid;
	w->gid = gid;
	w->mode = c->mode ? c->mode : 0600;
	mutex_init(&w->lock);
	init_rwsem(&w->fault_sem);
	w->mappings = RB_ROOT;
	w->map_gen = 1;
	INIT_LIST_HEAD(&w->node);
	spin_lock_init(&w->vmas_lock);
	INIT_LIST_HEAD(&w->vmas);

	minor = ida_alloc_max(&vushm_minors, VUSHM_MAX_MINORS - 1, GFP_KERNEL);
	if (minor < 0) {
		kfree(w);
		return minor == -ENOSPC ? -ENOSPC : minor;
	}
	device_initialize(&w->dev);	/* from here on, put_device() frees */
	w->dev.class = vushm_class;
	w->dev.type = &vushm_window_type;
	w->dev.devt = MKDEV(MAJOR(vushm_devt), minor);
	ret = dev_set_name(&w->dev, "%s", w->name);
	if (ret)
		goto out_put;

	w->scratch = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	/* 1 TiB: 64 KiB of bits. */
	w->hole_chunks = kvcalloc(BITS_TO_LONGS(vushm_hole_chunks(w)),
				  sizeof(long), GFP_KERNEL_ACCOUNT);
	w->inode = alloc_anon_inode(vushm_mnt->mnt_sb);
	if (!w->scratch || !w->hole_chunks || IS_ERR(w->inode)) {
		ret = IS_ERR(w->inode) ? PTR_ERR(w->inode) : -ENOMEM;
		if (IS_ERR(w->inode))
			w->inode = NULL;
		goto out_put;
	}
	w->inode->i_size = w->size;
	cdev_init(&w->cdev, &vushm_window_fops);
	w->cdev.owner = THIS_MODULE;

	mutex_lock(&vushm_windows_lock);
	ret = -EEXIST;
	if (vushm_find_window(w->name))
		goto out_unlock;
	ret = -ENOSPC;
	if (vushm_nr_windows >= READ_ONCE(max_windows))
		goto out_unlock;
	ret = cdev_device_add(&w->cdev, &w->dev);
	if (ret)
		goto out_unlock;
	w->id = ++vushm_next_id;
	list_add_tail(&w->node, &vushm_windows);
	vushm_nr_windows++;
	vushm_windows_changed();
	__module_get(THIS_MODULE);	/* rmmod waits for every destroy */

	fd = vushm_ctl_install(w);
	if (fd < 0) {
		vushm_window_destroy_locked(w);
	} else {
		mutex_lock(&w->lock);
		vushm_nl_notify(w, VUSHM_CMD_WINDOW_CREATE_NTF, NULL);
		mutex_unlock(&w->lock);
	}
	mutex_unlock(&vushm_windows_lock);
	return fd;

out_unlock:
	mutex_unlock(&vushm_windows_lock);
out_put:
	put_device(&w->dev);
	return ret;
}

static int vushm_check_ref(const struct vushm_window_ref *r)
{
	int i;

	if (r->flags)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(r->reserved); i++)
		if (r->reserved[i])
			return -EINVAL;
	return vushm_name_valid(r->name) ? 0 : -EINVAL;
}

static int vushm_attach(const struct vushm_window_ref *r)
{
	struct vushm_window *w;
	int ret;

	ret = vushm_check_ref(r);
	if (ret)
		return ret;
	mutex_lock(&vushm_windows_lock);
	w = vushm_find_window(r->name);
	if (!w)
		ret = -ENOENT;
	else if (READ_ONCE(w->has_controller))
		ret = -EBUSY;
	else
		ret = vushm_ctl_install(w);
	if (ret >= 0) {
		mutex_lock(&w->lock);
		vushm_nl_notify(w, VUSHM_CMD_WINDOW_ATTACH_NTF, NULL);
		mutex_unlock(&w->lock);
	}
	mutex_unlock(&vushm_windows_lock);
	return ret;
}

static int vushm_destroy(const struct vushm_window_ref *r)
{
	struct vushm_window *w;
	int ret;

	ret = vushm_check_ref(r);
	if (ret)
		return ret;
	mutex_lock(&vushm_windows_lock);
	w = vushm_find_window(r->name);
	if (w)
		vushm_window_destroy_locked(w);
	else
		ret = -ENOENT;
	mutex_unlock(&vushm_windows_lock);
	return ret;
}

static int vushm_control_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return 0;
}

static long vushm_control_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VUSHM_GET_INFO: {
		struct vushm_info info;

		vushm_fill_info(&info, NULL);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}
	case VUSHM_CREATE: {
		struct vushm_create c;

		if (copy_from_user(&c, uarg, sizeof(c)))
			return -EFAULT;
		return vushm_create(&c);
	}
	case VUSHM_ATTACH:
	case VUSHM_DESTROY: {
		struct vushm_window_ref r;

		if (copy_from_user(&r, uarg, sizeof(r)))
			return -EFAULT;
		return cmd == VUSHM_ATTACH ? vushm_attach(&r) : vushm_destroy(&r);
	}
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vushm_control_fops = {
	.owner = THIS_MODULE,
	.open = vushm_control_open,
	.unlocked_ioctl = vushm_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vushm_control_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vushm-control",
	.nodename = "vushm/control",
	.mode = 0600,
	.fops = &vushm_control_fops,
};

/*
 * Last close of a controller: every mapping goes at once; an ephemeral
 * window goes with it.
 */
static int vushm_ctl_release(struct inode *inode, struct file *file)
{
	struct vushm_window *w = file->private_data;

	mutex_lock(&vushm_windows_lock);
	mutex_lock(&w->lock);
	vushm_reset_locked(w);
	w->has_controller = false;
	put_pid(w->ctl_pid);
	w->ctl_pid = NULL;
	if (!w->dead)
		vushm_nl_notify(w, VUSHM_CMD_CONTROLLER_CLOSE_NTF, NULL);
	mutex_unlock(&w->lock);
	if (!w->dead && (w->create_flags & VUSHM_CREATE_EPHEMERAL))
		vushm_window_destroy_locked(w);
	mutex_unlock(&vushm_windows_lock);
	put_device(&w->dev);
	return 0;
}

static const struct file_operations vushm_ctl_fops = {
	.owner = THIS_MODULE,
	.release = vushm_ctl_release,
	.unlocked_ioctl = vushm_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.uring_cmd = vushm_ctl_uring_cmd,
	.llseek = noop_llseek,
};

static int vushm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, 0x76757368) ? 0 : -ENOMEM;	/* "vush" */
}

/* No .owner: the internal mount would pin the module forever. */
static struct file_system_type vushm_fs_type = {
	.name = "vushm",
	.init_fs_context = vushm_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

static int __init vushm_init(void)
{
	int ret;

	vushm_mnt = kern_mount(&vushm_fs_type);
	if (IS_ERR(vushm_mnt))
		return PTR_ERR(vushm_mnt);
	ret = alloc_chrdev_region(&vushm_devt, 0, VUSHM_MAX_MINORS, "vushm");
	if (ret)
		goto out_unmount;
	vushm_class = vushm_class_create("vushm");
	if (IS_ERR(vushm_class)) {
		ret = PTR_ERR(vushm_class);
		goto out_chrdev;
	}
	ret = vushm_nl_init();
	if (ret)
		goto out_class;
	ret = misc_register(&vushm_control_dev);
	if (ret)
		goto out_nl;
	pr_info("loaded, API %d\n", VUSHM_API_VERSION);
	return 0;

out_nl:
	vushm_nl_exit();
out_class:
	class_destroy(vushm_class);
out_chrdev:
	unregister_chrdev_region(vushm_devt, VUSHM_MAX_MINORS);
out_unmount:
	kern_unmount(vushm_mnt);
	return ret;
}

static void __exit vushm_exit(void)
{
	/* Every window holds a module reference: none is left here. */
	misc_deregister(&vushm_control_dev);
	vushm_nl_exit();
	class_destroy(vushm_class);
	unregister_chrdev_region(vushm_devt, VUSHM_MAX_MINORS);
	kern_unmount(vushm_mnt);
	ida_destroy(&vushm_minors);
}

module_init(vushm_init);
module_exit(vushm_exit);

MODULE_DESCRIPTION("Kernel-mapped VIRTIO Shared Memory Regions for vhost-user");
MODULE_AUTHOR("The vushm developers");
MODULE_LICENSE("GPL");
