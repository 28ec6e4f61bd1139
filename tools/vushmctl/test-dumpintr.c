// SPDX-License-Identifier: GPL-2.0
/*
 * test-dumpintr.so: an LD_PRELOAD library for test-vushmctl.sh that changes
 * the set of windows while vushmctl reads a dump, so that the kernel flags
 * the rest of it NLM_F_DUMP_INTR and vushmctl's retry runs.
 *
 *   VUSHMCTL_TEST_CHURN=N      disturb the first N dumps (default 0)
 *   VUSHMCTL_TEST_CHURN_LOG=F  append "dump SEQ" to F for every dump
 *                              request sent, "churn SEQ" for every change
 *
 * After the first recvmsg() that returns a part of a dump (NLM_F_MULTI, not
 * NLMSG_DONE, a sequence number not seen yet) it creates and destroys the
 * window "vushmctl-test-churn" through /dev/vushm/control.  The kernel has
 * built the next part of the dump during that recvmsg() already; the part
 * after it (or the final NLMSG_DONE) is built after the change, so the dump
 * needs more than one part (more windows than fit in one).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/vushm.h>

#define CHURN_NAME	"vushmctl-test-churn"

static int budget = -1;
static __u32 last_seq;

static void logf_(const char *what, __u32 seq)
{
	const char *path = getenv("VUSHMCTL_TEST_CHURN_LOG");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s %u\n", what, seq);
	fclose(f);
}

static void churn(void)
{
	struct vushm_window_ref ref;
	struct vushm_create c;
	int ctl, fd;

	ctl = open("/dev/vushm/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return;
	memset(&c, 0, sizeof(c));
	memcpy(c.name, CHURN_NAME, sizeof(CHURN_NAME));
	c.size = (__u64)sysconf(_SC_PAGESIZE);
	c.mode = 0600;
	fd = ioctl(ctl, VUSHM_CREATE, &c);
	if (fd >= 0)
		close(fd);
	memset(&ref, 0, sizeof(ref));
	memcpy(ref.name, CHURN_NAME, sizeof(CHURN_NAME));
	ioctl(ctl, VUSHM_DESTROY, &ref);
	close(ctl);
}

static const struct nlmsghdr *first_msg(const struct msghdr *msg, ssize_t n)
{
	if (n < (ssize_t)sizeof(struct nlmsghdr) || !msg->msg_iovlen ||
	    msg->msg_iov[0].iov_len < sizeof(struct nlmsghdr))
		return NULL;
	return msg->msg_iov[0].iov_base;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	const struct nlmsghdr *h;
	ssize_t n;

	if (!real)
		real = (ssize_t (*)(int, const struct msghdr *, int))
			dlsym(RTLD_NEXT, "sendmsg");
	n = real(fd, msg, flags);
	h = first_msg(msg, n);
	if (h && (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
		logf_("dump", h->nlmsg_seq);
	return n;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, struct msghdr *, int);
	const struct nlmsghdr *h;
	ssize_t n;

	if (!real)
		real = (ssize_t (*)(int, struct msghdr *, int))
			dlsym(RTLD_NEXT, "recvmsg");
	n = real(fd, msg, flags);
	if (budget < 0) {
		const char *e = getenv("VUSHMCTL_TEST_CHURN");

		budget = e ? atoi(e) : 0;
	}
	h = first_msg(msg, n);
	if (budget > 0 && h && (h->nlmsg_flags & NLM_F_MULTI) &&
	    h->nlmsg_type != NLMSG_DONE && h->nlmsg_seq != last_seq) {
		last_seq = h->nlmsg_seq;
		budget--;
		churn();
		logf_("churn", h->nlmsg_seq);
	}
	return n;
}
