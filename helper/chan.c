// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user message I/O on the helper's ring (see chan.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "chan.h"

struct io_uring_sqe *vu_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

void vu_chan_init(struct vu_chan *c, const char *name, enum vu_dir dir,
		  int fd, struct io_uring *ring, void *owner)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->dir = dir;
	c->fd = fd;
	c->ring = ring;
	c->owner = owner;
	c->tx_tail = &c->tx_head;
	c->thr_efd = -1;
}

void vu_chan_set_fast(struct vu_chan *c, vu_chan_fast_fn fast)
{
	c->fast = fast;
}

bool vu_chan_open(const struct vu_chan *c)
{
	return c->fd >= 0;
}

bool vu_chan_busy(const struct vu_chan *c)
{
	return c->rx_busy || c->tx_busy;
}

bool vu_chan_idle(const struct vu_chan *c)
{
	return !c->rx_busy && !c->tx_busy && !c->efd_armed &&
	       !atomic_load(&c->thr_running);
}

static void close_fds(int *fds, unsigned int *n)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	*n = 0;
}

/* Points rx_msg at exactly what the current step needs: the rest of the
 * header, or the rest of the payload.  Never more: the next message's fds
 * must not arrive with this one's bytes.
 */
static void rx_prep(struct vu_chan *c)
{
	size_t want = VU_HDR_SIZE;

	if (c->rx_got >= VU_HDR_SIZE)
		want += c->rx_hdr.size;
	c->rx_iov.iov_base = c->rx_buf + c->rx_got;
	c->rx_iov.iov_len = want - c->rx_got;
	memset(&c->rx_msg, 0, sizeof(c->rx_msg));
	c->rx_msg.msg_iov = &c->rx_iov;
	c->rx_msg.msg_iovlen = 1;
	c->rx_msg.msg_control = c->rx_cmsg;
	c->rx_msg.msg_controllen = sizeof(c->rx_cmsg);
}

static int rx_submit(struct vu_chan *c)
{
	struct io_uring_sqe *sqe;

	sqe = vu_get_sqe(c->ring);
	if (!sqe)
		return -EBUSY;
	rx_prep(c);
	io_uring_prep_recvmsg(sqe, c->fd, &c->rx_msg, MSG_CMSG_CLOEXEC);
	io_uring_sqe_set_data64(sqe, vu_ud(c, VU_UD_RECV));
	c->rx_busy = true;
	return 0;
}

static int thr_recv(struct vu_chan *c);

int vu_chan_recv(struct vu_chan *c)
{
	if (c->fd < 0 || c->rx_busy || c->rx_have)
		return 0;
	if (c->fast)
		return thr_recv(c);
	c->rx_got = 0;
	return rx_submit(c);
}

static enum vu_rx rx_fail(struct vu_chan *c, int errnum, const char *why)
{
	c->rx_errno = errnum;
	c->rx_why = why;
	return VU_RX_ERR;
}

/* Collects the SCM_RIGHTS fds of one recvmsg; false if there were more
 * than a message may carry (they are all closed then).
 */
static bool rx_take_cmsg(struct vu_chan *c)
{
	struct cmsghdr *cm;
	bool ok = true;

	for (cm = CMSG_FIRSTHDR(&c->rx_msg); cm;
	     cm = CMSG_NXTHDR(&c->rx_msg, cm)) {
		size_t n, i;
		int fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->rx_nfds < VU_MAX_FDS) {
				c->rx_fds[c->rx_nfds++] = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	return ok;
}

/* Accounts one recvmsg's result; VU_RX_MORE: the message is not whole. */
static enum vu_rx rx_account(struct vu_chan *c, int res, unsigned int flags)
{
	enum vu_result r;
	bool fds_ok;

	if (res < 0)
		return rx_fail(c, -res, "recvmsg");
	fds_ok = rx_take_cmsg(c);
	if (!fds_ok || (flags & MSG_CTRUNC))
		return rx_fail(c, EMSGSIZE, "more fds than any message carries");
	if (res == 0) {
		if (!c->rx_got)
			return VU_RX_EOF;
		/* rx_got says how far it got; rx_hdr is valid from 12 on. */
		c->rx_cut = true;
		return rx_fail(c, 0, "closed in the middle of a message");
	}
	c->rx_got += res;
	if (c->rx_got == VU_HDR_SIZE) {
		r = vu_hdr_parse(c->dir, c->rx_buf, VU_HDR_SIZE, &c->rx_hdr);
		/* The buffer's bound, whatever the request table says. */
		if (r == VU_OK && c->rx_hdr.size > VU_MAX_PAYLOAD)
			r = VU_E_SIZE_LIMIT;
		if (r != VU_OK) {
			c->rx_result = r;
			return rx_fail(c, 0, vu_strresult(r));
		}
	}
	if (c->rx_got < VU_HDR_SIZE ||
	    c->rx_got < VU_HDR_SIZE + (size_t)c->rx_hdr.size)
		return VU_RX_MORE;
	/* rx_have is the main thread's to set (a reader thread's message
	 * becomes the main thread's at the hand-over).
	 */
	return VU_RX_MSG;
}

static enum vu_rx thr_recv_done(struct vu_chan *c);

enum vu_rx vu_chan_recv_done(struct vu_chan *c, int res)
{
	enum vu_rx rx;

	if (c->fast)
		return thr_recv_done(c);
	c->rx_busy = false;
	rx = rx_account(c, res, c->rx_msg.msg_flags);
	/*
	 * The rest of a message (the payload after its header, as a peer
	 * usually sends them together) is normally queued already: read it
	 * at once rather than through the ring, which would cost another
	 * io_uring_enter and its poll/task-work round.  The read is of
	 * exactly the missing bytes, as through the ring; only when nothing
	 * is queued does the ring wait for it.
	 */
	while (rx == VU_RX_MORE) {
		ssize_t n;

		rx_prep(c);
		n = recvmsg(c->fd, &c->rx_msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		rx = rx_account(c, n < 0 ? -errno : (int)n, c->rx_msg.msg_flags);
	}
	if (rx == VU_RX_MORE && rx_submit(c))
		return rx_fail(c, EBUSY, "submission queue full");
	c->rx_have = rx == VU_RX_MSG;
	return rx;
}

unsigned int vu_chan_take(struct vu_chan *c, void *payload, int *fds)
{
	unsigned int n = c->rx_nfds;

	memcpy(payload, vu_chan_payload(c), c->rx_hdr.size);
	memcpy(fds, c->rx_fds, n * sizeof(*fds));
	c->rx_nfds = 0;
	vu_chan_msg_done(c);
	return n;
}

void vu_chan_msg_done(struct vu_chan *c)
{
	close_fds(c->rx_fds, &c->rx_nfds);
	c->rx_have = false;
	c->rx_got = 0;
}

struct vu_out *vu_out_new(const struct vu_hdr *h, const void *payload)
{
	struct vu_out *o;

	if (h->size > VU_MAX_PAYLOAD)
		return NULL;
	o = malloc(sizeof(*o));
	if (!o)
		return NULL;
	o->next = NULL;
	o->off = 0;
	o->nfds = 0;
	o->len = VU_HDR_SIZE + h->size;
	vu_hdr_encode(h, o->buf);
	if (h->size)
		memcpy(o->buf + VU_HDR_SIZE, payload, h->size);
	return o;
}

void vu_out_free(struct vu_out *o)
{
	if (!o)
		return;
	close_fds(o->fds, &o->nfds);
	free(o);
}

/* Points tx_msg at the rest of the queue's head; its fds ride on the
 * first byte only.
 */
static void tx_prep(struct vu_chan *c)
{
	struct vu_out *o = c->tx_head;

	c->tx_iov.iov_base = o->buf + o->off;
	c->tx_iov.iov_len = o->len - o->off;
	memset(&c->tx_msg, 0, sizeof(c->tx_msg));
	c->tx_msg.msg_iov = &c->tx_iov;
	c->tx_msg.msg_iovlen = 1;
	if (o->nfds && !o->off)
		vu_msg_put_fds(&c->tx_msg, c->tx_cmsg, o->fds, o->nfds);
}

static int tx_submit(struct vu_chan *c)
{
	struct io_uring_sqe *sqe;

	sqe = vu_get_sqe(c->ring);
	if (!sqe)
		return -EBUSY;
	tx_prep(c);
	io_uring_prep_sendmsg(sqe, c->fd, &c->tx_msg, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, vu_ud(c, VU_UD_SEND));
	c->tx_busy = true;
	return 0;
}

/* Takes sent bytes off the head; true if the head is gone. */
static bool tx_account(struct vu_chan *c, size_t res)
{
	struct vu_out *o = c->tx_head;

	if (res > 0 && o->nfds) {
		/* The peer has its copies now. */
		close_fds(o->fds, &o->nfds);
	}
	o->off += res;
	if (o->off < o->len)
		return false;
	c->tx_head = o->next;
	if (!c->tx_head)
		c->tx_tail = &c->tx_head;
	vu_out_free(o);
	return true;
}

int vu_chan_send(struct vu_chan *c, struct vu_out *o)
{
	bool first;
	ssize_t n;

	if (c->fd < 0) {
		vu_out_free(o);
		return -ENOTCONN;
	}
	first = !c->tx_head;
	o->next = NULL;
	*c->tx_tail = o;
	c->tx_tail = &o->next;
	if (c->tx_busy || !first)
		return 0;
	/*
	 * Nothing queued before it: try to send it at once (a socket buffer
	 * is rarely full), which saves the ring a submission and a
	 * completion.  Whatever does not go now, including an error, goes
	 * through the ring, which reports it in vu_chan_send_done().
	 */
	tx_prep(c);
	n = sendmsg(c->fd, &c->tx_msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n > 0 && tx_account(c, n))
		return 0;
	return tx_submit(c);
}

int vu_chan_send_done(struct vu_chan *c, int res)
{
	c->tx_busy = false;
	if (res < 0) {
		c->tx_errno = -res;
		return res;
	}
	if (!tx_account(c, res)) {
		if (!res) {
			c->tx_errno = EPIPE;
			return -EPIPE;
		}
		return tx_submit(c);
	}
	return c->tx_head ? tx_submit(c) : 0;
}

bool vu_chan_tx_empty(const struct vu_chan *c)
{
	return !c->tx_head;
}

static void thr_stop(struct vu_chan *c);

void vu_chan_shutdown(struct vu_chan *c)
{
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
	thr_stop(c);
}

void vu_chan_close(struct vu_chan *c)
{
	struct vu_out *o, *next;

	for (o = c->tx_head; o; o = next) {
		next = o->next;
		vu_out_free(o);
	}
	c->tx_head = NULL;
	c->tx_tail = &c->tx_head;
	close_fds(c->rx_fds, &c->rx_nfds);
	c->rx_have = false;
	if (c->thr_started) {
		/* Idle: the thread has ended or is about to return. */
		pthread_join(c->thr, NULL);
		sem_destroy(&c->thr_go);
		c->thr_started = false;
	}
	if (c->thr_efd >= 0)
		close(c->thr_efd);
	c->thr_efd = -1;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int vu_send_blocking(int fd, const struct vu_hdr *h, const void *payload)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	size_t len = VU_HDR_SIZE + h->size, off = 0;
	ssize_t n;

	if (h->size > VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	vu_hdr_encode(h, buf);
	if (h->size)
		memcpy(buf + VU_HDR_SIZE, payload, h->size);
	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		off += n;
	}
	return 0;
}

/* ---- the reader thread (vu_chan_set_fast) ---------------------------------- */

/*
 * Ownership: while rx_busy (the thread has the go and has not handed a
 * result over), the thread owns the reader fields rx_*; from the hand-over
 * (thr_handed, then thr_efd) until the next vu_chan_recv(), the main thread
 * does.  The semaphore and the atomics order the two.
 */

static void thr_notify(struct vu_chan *c)
{
	uint64_t one = 1;

	/* Cannot fail short of a bug: the counter does not get near 2^64. */
	while (write(c->thr_efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* One message, read exactly as the ring reads it, blocking. */
static enum vu_rx thr_read(struct vu_chan *c)
{
	enum vu_rx rx;
	ssize_t n;

	c->rx_got = 0;
	for (;;) {
		rx_prep(c);
		n = recvmsg(c->fd, &c->rx_msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		rx = rx_account(c, n < 0 ? -errno : (int)n,
				c->rx_msg.msg_flags);
		if (rx != VU_RX_MORE)
			return rx;
	}
}

static void *thr_main(void *arg)
{
	struct vu_chan *c = arg;
	enum vu_rx rx;

	c->fast(c, true);
	for (;;) {
		while (sem_wait(&c->thr_go) && errno == EINTR)
			;
		if (atomic_load(&c->thr_stop))
			break;
		/* The fds of a message the fast path answered are closed
		 * after its reply (a memfd after the kernel took its pages).
		 */
		while ((rx = thr_read(c)) == VU_RX_MSG &&
		       !atomic_load(&c->thr_stop) && c->fast(c, false)) {
			close_fds(c->rx_fds, &c->rx_nfds);
			c->rx_got = 0;
		}
		c->thr_rx = rx;
		atomic_store(&c->thr_handed, true);
		thr_notify(c);
	}
	atomic_store(&c->thr_running, false);
	thr_notify(c);
	return NULL;
}

/* Keeps a read of thr_efd in the ring while the thread lives. */
static int efd_arm(struct vu_chan *c)
{
	struct io_uring_sqe *sqe;

	if (c->efd_armed || !atomic_load(&c->thr_running))
		return 0;
	sqe = vu_get_sqe(c->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, c->thr_efd, &c->efd_val, sizeof(c->efd_val), 0);
	io_uring_sqe_set_data64(sqe, vu_ud(c, VU_UD_RECV));
	c->efd_armed = true;
	return 0;
}

static int thr_start(struct vu_chan *c)
{
	sigset_t all, old;
	int ret;

	c->thr_efd = eventfd(0, EFD_CLOEXEC);
	if (c->thr_efd < 0)
		return -errno;
	if (sem_init(&c->thr_go, 0, 0)) {
		ret = -errno;
		close(c->thr_efd);
		c->thr_efd = -1;
		return ret;
	}
	atomic_store(&c->thr_stop, false);
	atomic_store(&c->thr_handed, false);
	atomic_store(&c->thr_running, true);
	/* Signals stay the main thread's (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&c->thr, NULL, thr_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		atomic_store(&c->thr_running, false);
		sem_destroy(&c->thr_go);
		close(c->thr_efd);
		c->thr_efd = -1;
		return -ret;
	}
	c->thr_started = true;
	return 0;
}

static int thr_recv(struct vu_chan *c)
{
	int ret;

	if (!c->thr_started) {
		ret = thr_start(c);
		if (ret)
			return ret;
	}
	ret = efd_arm(c);
	if (ret)
		return ret;
	c->rx_busy = true;
	sem_post(&c->thr_go);
	return 0;
}

static enum vu_rx thr_recv_done(struct vu_chan *c)
{
	enum vu_rx rx = VU_RX_MORE;

	c->efd_armed = false;
	if (atomic_exchange(&c->thr_handed, false)) {
		c->rx_busy = false;
		rx = c->thr_rx;
		c->rx_have = rx == VU_RX_MSG;
	}
	/* The next hand-over, or the thread's end, must wake the loop. */
	if (efd_arm(c) && rx == VU_RX_MORE)
		return rx_fail(c, EBUSY, "submission queue full");
	return rx;
}

static void thr_stop(struct vu_chan *c)
{
	if (!c->thr_started)
		return;
	atomic_store(&c->thr_stop, true);
	sem_post(&c->thr_go);
	efd_arm(c);
}
