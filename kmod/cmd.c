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
		return vushm_do_map(w, &m, false);
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
 * Task work of a successful MAP or UNMAP, run once the submitting task is
 * done issuing its batch: the first one installs and zaps for every MAP
 * and UNMAP queued meanwhile.
 */
static void vushm_cmd_done(struct io_uring_cmd *ioucmd, unsigned int flags)
{
	struct vushm_window *w = ioucmd->file->private_data;

	mutex_lock(&w->lock);
	vushm_flush_installs(w);
	vushm_flush_zaps(w);
	mutex_unlock(&w->lock);
	io_uring_cmd_done(ioucmd, 0, 0, flags);
}

/*
 * Commands run in the submitting task (the fd in a MAP is looked up in its
 * file table), with the core's result as cqe->res.  RESET and failures
 * complete inline.  A successful MAP puts its mapping in the index at once
 * (faults serve it) but completes from task work, after the eager install;
 * a successful UNMAP takes its mapping out at once and completes after the
 * zap.  A batch then visits each process that maps the window once for
 * all its MAPs, and zaps once per run of adjacent UNMAP ranges; a CQE
 * still means what the ioctl's return means.
 * The SQE lives in memory userspace can still write: copy it once.
 */
int vushm_ctl_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct vushm_window *w = ioucmd->file->private_data;
	const void *payload = vushm_uring_cmd_payload(ioucmd);

	switch (ioucmd->cmd_op) {
	case VUSHM_MAP: {
		struct vushm_map m;
		int ret;

		if (!(issue_flags & IO_URING_F_SQE128))
			return -EINVAL;
		memcpy(&m, payload, sizeof(m));
		ret = vushm_do_map(w, &m, true);
		if (ret)
			return ret;
		io_uring_cmd_complete_in_task(ioucmd, vushm_cmd_done);
		return -EIOCBQUEUED;
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
		io_uring_cmd_complete_in_task(ioucmd, vushm_cmd_done);
		return -EIOCBQUEUED;
	}
	case VUSHM_RESET:
		return vushm_do_reset(w);
	default:
		return -EOPNOTSUPP;
	}
}
