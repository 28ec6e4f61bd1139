// SPDX-License-Identifier: GPL-2.0
/*
 * Controller commands.  The ioctl and the io_uring uring_cmd entry points
 * only copy the argument in and call the same core (window.c).
 */
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vushm.h"

long vushm_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vushm_window *w = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VUSHM_GET_INFO: {
		struct vushm_info info;

		if (READ_ONCE(w->dead))
			return -ENODEV;
		vushm_fill_info(&info, w);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	}
	case VUSHM_MAP: {
		struct vushm_map m;

		if (copy_from_user(&m, uarg, sizeof(m)))
			return -EFAULT;
		return vushm_do_map(w, &m);
	}
	case VUSHM_UNMAP: {
		struct vushm_unmap u;

		if (copy_from_user(&u, uarg, sizeof(u)))
			return -EFAULT;
		return vushm_do_unmap(w, &u, false);
	}
	case VUSHM_RESET:
		return vushm_do_reset(w);
	default:
		return -ENOTTY;
	}
}

/*
 * Task work of a successful UNMAP, run once the submitting task is done
 * issuing its batch: the first one zaps for every UNMAP queued meanwhile.
 */
static void vushm_unmap_done(struct io_uring_cmd *ioucmd, unsigned int flags)
{
	struct vushm_window *w = ioucmd->file->private_data;

	mutex_lock(&w->lock);
	vushm_flush_zaps(w);
	mutex_unlock(&w->lock);
	io_uring_cmd_done(ioucmd, 0, 0, flags);
}

/*
 * Commands run in the submitting task (the fd in a MAP is looked up in its
 * file table), with the core's result as cqe->res.  MAP, RESET and failed
 * UNMAPs complete inline.  A successful UNMAP takes its mapping out of the
 * index at once but completes from task work, after the zap: a batch of
 * UNMAPs then costs one zap per run of adjacent ranges instead of one
 * each (its CQEs still mean "no PTE to those pages is left").
 * The SQE lives in memory userspace can still write: copy it once.
 */
int vushm_ctl_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct vushm_window *w = ioucmd->file->private_data;
	const void *payload = vushm_uring_cmd_payload(ioucmd);

	switch (ioucmd->cmd_op) {
	case VUSHM_MAP: {
		struct vushm_map m;

		if (!(issue_flags & IO_URING_F_SQE128))
			return -EINVAL;
		memcpy(&m, payload, sizeof(m));
		return vushm_do_map(w, &m);
	}
	case VUSHM_UNMAP: {
		struct vushm_unmap u;
		int ret;

		if (!(issue_flags & IO_URING_F_SQE128))
			return -EINVAL;
		memcpy(&u, payload, sizeof(u));
		ret = vushm_do_unmap(w, &u, true);
		if (ret)
			return ret;
		io_uring_cmd_complete_in_task(ioucmd, vushm_unmap_done);
		return -EIOCBQUEUED;
	}
	case VUSHM_RESET:
		return vushm_do_reset(w);
	default:
		return -EOPNOTSUPP;
	}
}
