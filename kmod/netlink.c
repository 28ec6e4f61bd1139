// SPDX-License-Identifier: GPL-2.0
/*
 * The "vushm" generic netlink family (Documentation/netlink/specs/vushm.yaml):
 * WINDOW_GET (do and dump), MAPPING_GET (dump) and the "events" multicast
 * group.
 *
 * Who sees what: a caller with CAP_NET_ADMIN or CAP_SYS_ADMIN in the initial
 * user namespace (the socket's opener and the caller both) sees every
 * window; anyone else only the windows whose node it owns (owner uid ==
 * the socket opener's euid).  Joining "events" needs CAP_NET_ADMIN.
 *
 * Dumps resume by key (window id, then mapping offset), so an object that
 * exists for the whole dump is reported exactly once whatever changes
 * meanwhile; a message built after a change is flagged NLM_F_DUMP_INTR.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/net.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <net/sock.h>

#include "vushm.h"

/* Index of each group in vushm_nl_mcgrps[]. */
enum vushm_nl_mcgrp {
	VUSHM_NL_MCGRP_EVENTS,
};

/* What the sender of a request may see, and in which namespaces. */
struct vushm_nl_view {
	bool all;
	kuid_t euid;
	struct user_namespace *user_ns;
	struct pid_namespace *pid_ns;
};

static struct genl_family vushm_genl_family;

static const struct nla_policy vushm_nl_policy[VUSHM_A_WINDOW_MAX + 1] = {
	[VUSHM_A_WINDOW_NAME] = { .type = NLA_NUL_STRING,
				  .len = VUSHM_NAME_MAX - 1 },
};

static void vushm_nl_view_of(struct sk_buff *skb, struct vushm_nl_view *v)
{
	struct socket *sock = NETLINK_CB(skb).sk->sk_socket;
	const struct cred *cred = sock && sock->file ? sock->file->f_cred :
				  current_cred();

	v->all = netlink_capable(skb, CAP_NET_ADMIN) ||
		 netlink_capable(skb, CAP_SYS_ADMIN);
	v->euid = cred->euid;
	v->user_ns = cred->user_ns;
	v->pid_ns = task_active_pid_ns(current);
}

static bool vushm_nl_sees(const struct vushm_nl_view *v,
			  const struct vushm_window *w)
{
	return v->all || uid_eq(w->uid, v->euid);
}

static int vushm_nl_put_mapping(struct sk_buff *skb,
				const struct vushm_mapping *m)
{
	struct inode *inode = file_inode(m->file);
	u64 len = (u64)(m->last - m->start + 1) << PAGE_SHIFT;
	struct nlattr *nest;

	nest = nla_nest_start(skb, VUSHM_A_WINDOW_MAPPING);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VUSHM_A_MAPPING_SHM_OFFSET,
			      (u64)m->start << PAGE_SHIFT,
			      VUSHM_A_MAPPING_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_MAPPING_LEN, len,
			      VUSHM_A_MAPPING_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_MAPPING_FLAGS, m->flags,
			      VUSHM_A_MAPPING_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_MAPPING_FD_OFFSET,
			      (u64)m->fd_pgoff << PAGE_SHIFT,
			      VUSHM_A_MAPPING_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_MAPPING_DEV,
			      new_encode_dev(inode->i_sb->s_dev),
			      VUSHM_A_MAPPING_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_MAPPING_INO, inode->i_ino,
			      VUSHM_A_MAPPING_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int vushm_nl_put_failures(struct sk_buff *skb, struct vushm_window *w)
{
	int i;

	for (i = 0; i < VUSHM_NR_FAILURES; i++) {
		struct nlattr *nest = nla_nest_start(skb, VUSHM_A_STATS_FAILURE);

		if (!nest)
			return -EMSGSIZE;
		if (nla_put_u32(skb, VUSHM_A_FAILURE_ERRNO,
				vushm_failure_errnos[i]) ||
		    nla_put_u64_64bit(skb, VUSHM_A_FAILURE_COUNT,
				      atomic64_read(&w->failures[i]),
				      VUSHM_A_FAILURE_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
		nla_nest_end(skb, nest);
	}
	return 0;
}

static int vushm_nl_put_stats(struct sk_buff *skb, struct vushm_window *w)
{
	struct nlattr *nest;

	lockdep_assert_held(&w->lock);
	nest = nla_nest_start(skb, VUSHM_A_WINDOW_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, VUSHM_A_STATS_MAPS, w->stats.maps,
			      VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_UNMAPS, w->stats.unmaps,
			      VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_MAP_ERRORS,
			      w->stats.map_errors, VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_PAGES_INSTALLED,
			      w->stats.pages_installed, VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_FAULTS,
			      atomic64_read(&w->faults), VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_HOLE_FAULTS,
			      atomic64_read(&w->hole_faults),
			      VUSHM_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VUSHM_A_STATS_RO_DENIED,
			      atomic64_read(&w->ro_denied), VUSHM_A_STATS_PAD) ||
	    vushm_nl_put_failures(skb, w)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * One window message: its state, and @m when not NULL (events).  @cb is
 * the dump this message is part of, or NULL.  window->lock held.
 */
static int vushm_nl_fill_window(struct sk_buff *skb, struct vushm_window *w,
				const struct vushm_nl_view *v, u32 portid,
				u32 seq, int flags, u8 cmd,
				const struct vushm_mapping *m,
				struct netlink_callback *cb)
{
	pid_t pid = 0;
	void *hdr;

	lockdep_assert_held(&w->lock);
	hdr = genlmsg_put(skb, portid, seq, &vushm_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (w->ctl_pid)
		pid = pid_nr_ns(w->ctl_pid, v->pid_ns);
	if (nla_put_string(skb, VUSHM_A_WINDOW_NAME, w->name) ||
	    nla_put_u64_64bit(skb, VUSHM_A_WINDOW_SIZE, w->size,
			      VUSHM_A_WINDOW_PAD) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_SHMID, w->shmid) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_HOLE_POLICY, w->hole_policy) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_UID,
			from_kuid_munged(v->user_ns, w->uid)) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_GID,
			from_kgid_munged(v->user_ns, w->gid)) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_MODE, w->mode) ||
	    (pid && nla_put_u32(skb, VUSHM_A_WINDOW_CONTROLLER_PID, pid)) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_NR_VMAS, READ_ONCE(w->nr_vmas)) ||
	    nla_put_u32(skb, VUSHM_A_WINDOW_NR_MAPPINGS, w->nr_mappings) ||
	    nla_put_u64_64bit(skb, VUSHM_A_WINDOW_MAPPED_BYTES,
			      w->mapped_bytes, VUSHM_A_WINDOW_PAD) ||
	    ((w->create_flags & VUSHM_CREATE_EPHEMERAL) &&
	     nla_put_flag(skb, VUSHM_A_WINDOW_EPHEMERAL)) ||
	    vushm_nl_put_stats(skb, w) ||
	    (m && vushm_nl_put_mapping(skb, m))) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* The window named by @attr if @v may see it; vushm_windows_lock held. */
static struct vushm_window *vushm_nl_lookup(const struct nlattr *attr,
					    const struct vushm_nl_view *v,
					    struct netlink_ext_ack *extack)
{
	struct vushm_window *w;

	lockdep_assert_held(&vushm_windows_lock);
	w = vushm_find_window(nla_data(attr));
	if (!w || !vushm_nl_sees(v, w)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such window");
		return NULL;
	}
	return w;
}

static int vushm_nl_window_get_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct vushm_nl_view v;
	struct vushm_window *w;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VUSHM_A_WINDOW_NAME))
		return -EINVAL;
	vushm_nl_view_of(skb, &v);
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&vushm_windows_lock);
	w = vushm_nl_lookup(info->attrs[VUSHM_A_WINDOW_NAME], &v,
			    info->extack);
	if (w) {
		mutex_lock(&w->lock);
		ret = vushm_nl_fill_window(msg, w, &v, info->snd_portid,
					   info->snd_seq, 0,
					   VUSHM_CMD_WINDOW_GET, NULL, NULL);
		mutex_unlock(&w->lock);
	} else {
		ret = -ENOENT;
	}
	mutex_unlock(&vushm_windows_lock);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* cb->args[0]: the id of the next window to report. */
static int vushm_nl_window_get_dumpit(struct sk_buff *skb,
				      struct netlink_callback *cb)
{
	unsigned long next = cb->args[0];
	struct vushm_nl_view v;
	struct vushm_window *w;
	int ret = 0;

	vushm_nl_view_of(cb->skb, &v);
	mutex_lock(&vushm_windows_lock);
	cb->seq = vushm_windows_gen;
	list_for_each_entry(w, &vushm_windows, node) {
		if (w->id < next || !vushm_nl_sees(&v, w))
			continue;
		mutex_lock(&w->lock);
		ret = vushm_nl_fill_window(skb, w, &v,
					   NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI,
					   VUSHM_CMD_WINDOW_GET, NULL, cb);
		mutex_unlock(&w->lock);
		if (ret)
			break;
		next = w->id + 1;
	}
	mutex_unlock(&vushm_windows_lock);
	cb->args[0] = next;
	if (ret && skb->len)
		return skb->len;	/* full: the next part goes on */
	return ret ?: skb->len;
}

/* cb->args[0]: the window's id; cb->args[1]: the next window page. */
static int vushm_nl_mapping_get_start(struct netlink_callback *cb)
{
	struct nlattr *tb[VUSHM_A_WINDOW_MAX + 1];
	struct vushm_nl_view v;
	struct vushm_window *w;
	int ret;

	ret = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, VUSHM_A_WINDOW_MAX,
			  vushm_nl_policy, cb->extack);
	if (ret)
		return ret;
	if (!tb[VUSHM_A_WINDOW_NAME]) {
		NL_SET_ERR_ATTR_MISS(cb->extack, NULL, VUSHM_A_WINDOW_NAME);
		NL_SET_ERR_MSG(cb->extack, "window name missing");
		return -EINVAL;
	}
	vushm_nl_view_of(cb->skb, &v);
	mutex_lock(&vushm_windows_lock);
	w = vushm_nl_lookup(tb[VUSHM_A_WINDOW_NAME], &v, cb->extack);
	if (w)
		cb->args[0] = w->id;
	mutex_unlock(&vushm_windows_lock);
	if (!w)
		return -ENOENT;
	cb->args[1] = 0;
	return 0;
}

static int vushm_nl_fill_mapping(struct sk_buff *skb, struct vushm_window *w,
				 const struct vushm_mapping *m,
				 struct netlink_callback *cb)
{
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vushm_genl_family, NLM_F_MULTI,
			  VUSHM_CMD_MAPPING_GET);
	if (!hdr)
		return -EMSGSIZE;
	genl_dump_check_consistent(cb, hdr);
	if (nla_put_string(skb, VUSHM_A_WINDOW_NAME, w->name) ||
	    vushm_nl_put_mapping(skb, m)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int vushm_nl_mapping_get_dumpit(struct sk_buff *skb,
				       struct netlink_callback *cb)
{
	unsigned long next = cb->args[1];
	struct vushm_mapping *m;
	struct vushm_window *w;
	bool found = false;
	int ret = 0;

	mutex_lock(&vushm_windows_lock);
	list_for_each_entry(w, &vushm_windows, node) {
		if (w->id == cb->args[0]) {
			found = true;
			break;
		}
	}
	if (!found) {
		/*
		 * Destroyed since the dump began: end it, flagged.  The end
		 * is flagged when seq differs from a non-zero prev_seq, which
		 * is still 0 if this is the first call (nothing sent yet).
		 */
		mutex_unlock(&vushm_windows_lock);
		if (!cb->prev_seq)
			cb->prev_seq = 1;
		cb->seq = cb->prev_seq + 1 ?: 1;
		return 0;
	}
	mutex_lock(&w->lock);
	cb->seq = w->map_gen;
	for (m = vushm_first_from(w, next); m; m = vushm_next(m)) {
		ret = vushm_nl_fill_mapping(skb, w, m, cb);
		if (ret)
			break;
		next = m->last + 1;
	}
	mutex_unlock(&w->lock);
	mutex_unlock(&vushm_windows_lock);
	cb->args[1] = next;
	if (ret && skb->len)
		return skb->len;
	return ret ?: skb->len;
}

/*
 * An event about @w (and @m, for MAP and UNMAP) to the "events" group.
 * window->lock held, so that events of one window go out in the order of
 * its changes.  Nothing is built when nobody listens.
 */
void vushm_nl_notify(struct vushm_window *w, u8 cmd,
		     const struct vushm_mapping *m)
{
	struct vushm_nl_view v = {
		.all = true,
		.user_ns = &init_user_ns,
		.pid_ns = &init_pid_ns,
	};
	struct sk_buff *skb;

	lockdep_assert_held(&w->lock);
	if (!genl_has_listeners(&vushm_genl_family, &init_net,
				VUSHM_NL_MCGRP_EVENTS))
		return;
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (vushm_nl_fill_window(skb, w, &v, 0, 0, 0, cmd, m, NULL)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&vushm_genl_family, skb, 0, VUSHM_NL_MCGRP_EVENTS,
			  GFP_KERNEL);
}

static const struct genl_ops vushm_nl_ops[] = {
	{
		.cmd = VUSHM_CMD_WINDOW_GET,
		.doit = vushm_nl_window_get_doit,
		.dumpit = vushm_nl_window_get_dumpit,
	},
	{
		.cmd = VUSHM_CMD_MAPPING_GET,
		.start = vushm_nl_mapping_get_start,
		.dumpit = vushm_nl_mapping_get_dumpit,
	},
};

static const struct genl_multicast_group vushm_nl_mcgrps[] = {
	[VUSHM_NL_MCGRP_EVENTS] = {
		.name = VUSHM_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

/*
 * Windows are global: the family lives in the initial network namespace
 * only (no netnsok).  Our own locks serialise everything: parallel_ops.
 */
static struct genl_family vushm_genl_family __ro_after_init = {
	.name = VUSHM_GENL_NAME,
	.version = VUSHM_GENL_VERSION,
	.maxattr = VUSHM_A_WINDOW_MAX,
	.policy = vushm_nl_policy,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = vushm_nl_ops,
	.n_ops = ARRAY_SIZE(vushm_nl_ops),
	.resv_start_op = VUSHM_CMD_WINDOW_GET,
	.mcgrps = vushm_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vushm_nl_mcgrps),
};

int __init vushm_nl_init(void)
{
	return genl_register_family(&vushm_genl_family);
}

void vushm_nl_exit(void)
{
	genl_unregister_family(&vushm_genl_family);
}
