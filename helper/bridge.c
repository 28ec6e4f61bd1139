// SPDX-License-Identifier: GPL-2.0
/*
 * The bridge between one VMM and its backend (see bridge.h).
 *
 * Everything the VMM sends is forwarded to the backend and every reply
 * back, fds included, with four exceptions that make SHMEM work for a VMM
 * that never heard of it:
 *  - GET_PROTOCOL_FEATURES: the VMM is not offered SHMEM;
 *  - SET_PROTOCOL_FEATURES: the backend gets SHMEM and what it needs
 *    (BACKEND_REQ, BACKEND_SEND_FD, REPLY_ACK) on top of the VMM's choice;
 *  - SET_BACKEND_REQ_FD, when SHMEM is negotiated: the backend's channel
 *    ends in the helper; the one the VMM gave is used for the backend
 *    requests the helper forwards.  For a VMM without BACKEND_REQ the
 *    helper sends its own, once per backend session.  Without SHMEM the
 *    VMM's goes to the backend untouched;
 *  - RESET_OWNER, RESET_DEVICE, SET_STATUS 0: the windows are reset.
 * SHMEM_MAP/UNMAP become window commands, answered when the kernel is
 * done: on the backend channel's thread and its ring when they are valid
 * (bech_fast), on the main ring otherwise (shmem_cmd answers the failure).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "log.h"

#define PF(bit)	VU_PF(VHOST_USER_PROTOCOL_F_##bit)

/* ---- windows ------------------------------------------------------------ */

static void reset_windows(struct vu_helper *h, const char *why)
{
	unsigned int i;

	for (i = 0; i < h->nwin; i++) {
		struct io_uring_sqe *sqe = vu_get_sqe(&h->ring);

		if (!sqe) {
			err("window %s: no SQE for RESET (%s)", h->win[i].name,
			    why);
			continue;
		}
		vu_window_prep_reset(sqe, &h->win[i],
				     vu_ud(&h->win[i], VU_UD_RESET));
		h->resets++;
	}
	/* Submitted now, not with the loop's next batch: a uring_cmd runs
	 * inline at submission, so once this returns the windows are empty
	 * (what the log line says, and what anything forwarded after this
	 * point may rely on).  Only the CQEs come later.
	 */
	io_uring_submit(&h->ring);
	if (h->nwin)
		info("windows reset: %s", why);
}

static void reset_done(struct vu_window *w, int res)
{
	if (res)
		err("window %s: RESET: %s", w->name,
		    vu_window_cmd_reason(VUSHM_RESET, res));
}

/* ---- session life ------------------------------------------------------- */

static struct vu_chan *session_chans(struct vu_session *s, unsigned int i)
{
	struct vu_chan *c[] = { &s->vmm, &s->be, &s->bech, &s->vmmbe };

	return i < 4 ? c[i] : NULL;
}

static bool session_idle(struct vu_session *s)
{
	struct vu_chan *c;
	unsigned int i;

	if (s->connecting || s->be_state == VU_BE_CMD)
		return false;
	for (i = 0; (c = session_chans(s, i)); i++)
		if (!vu_chan_idle(c))
			return false;
	return true;
}

static void arm_accept(struct vu_helper *h);

/* The pid at the other end of a unix socket, 0 if unknown. */
static pid_t peer_pid(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		return 0;
	return uc.pid;
}

/* Frees a dying session once the kernel gave back every op it had. */
static void session_reap(struct vu_session *s)
{
	struct vu_helper *h = s->h;
	struct vu_chan *c;
	unsigned int i;

	if (!s->dying || !session_idle(s))
		return;
	for (i = 0; (c = session_chans(s, i)); i++)
		vu_chan_close(c);	/* joins the bech thread */
	if (s->fast_ring_ok > 0)
		io_uring_queue_exit(&s->fast_ring);
	pthread_mutex_destroy(&s->mu);
	if (s->cmd_fd >= 0)
		close(s->cmd_fd);
	dbg("session %lu: freed", s->id);
	h->s = NULL;
	free(s);
	if (h->o.once && !h->stopping)
		vu_helper_stop(h, "--once: the session ended");
	arm_accept(h);
}

/*
 * Ends the session: windows reset first (no mapping outlives the session),
 * then every socket shut down so its pending ops complete.  Closing the
 * VMM's socket is the recovery for a lost backend: a VMM with reconnect=
 * comes back and gets a new backend connection.
 */
static void session_fail(struct vu_session *s, int level, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
static void session_fail(struct vu_session *s, int level, const char *fmt,
			 ...)
{
	struct vu_chan *c;
	char why[512];
	unsigned int i;
	va_list ap;

	if (s->dying)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vu_log(level, "session %lu: %s; closing the session", s->id, why);
	s->dying = true;
	reset_windows(s->h, "session closed");
	for (i = 0; (c = session_chans(s, i)); i++)
		vu_chan_shutdown(c);
	/* Freed by vu_helper_pump() once its ops are back: callers up the
	 * stack may still look at it.
	 */
}

static void arm_accept(struct vu_helper *h)
{
	struct io_uring_sqe *sqe;

	if (h->accepting || h->s || h->stopping)
		return;
	sqe = vu_get_sqe(&h->ring);
	if (!sqe) {
		vu_helper_stop(h, "no SQE for accept");
		h->exit_code = 1;
		return;
	}
	io_uring_prep_accept(sqe, h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, vu_ud(h, VU_UD_ACCEPT));
	h->accepting = true;
}

static bool bech_fast(struct vu_chan *c, bool setup);

static void session_new(struct vu_helper *h, int vmm_fd)
{
	struct io_uring_sqe *sqe;
	struct vu_session *s;
	int fd;

	s = calloc(1, sizeof(*s));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sqe = s && fd >= 0 ? vu_get_sqe(&h->ring) : NULL;
	if (!sqe) {
		err("new VMM connection: %s; closing it",
		    s ? (fd < 0 ? strerror(errno) : "no SQE") :
			"out of memory");
		if (fd >= 0)
			close(fd);
		free(s);
		close(vmm_fd);
		arm_accept(h);
		return;
	}
	s->h = h;
	s->id = ++h->nsessions;
	s->cmd_fd = -1;
	s->vmm_pid = peer_pid(vmm_fd);
	vu_chan_init(&s->vmm, "VMM", VU_FE_REQUEST, vmm_fd, &h->ring, s);
	vu_chan_init(&s->be, "backend", VU_FE_REPLY, fd, &h->ring, s);
	vu_chan_init(&s->bech, "backend channel", VU_BE_REQUEST, -1,
		     &h->ring, s);
	vu_chan_set_fast(&s->bech, bech_fast);
	pthread_mutex_init(&s->mu, NULL);
	vu_chan_init(&s->vmmbe, "VMM backend channel", VU_BE_REPLY, -1,
		     &h->ring, s);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&h->be_addr,
			      sizeof(h->be_addr));
	io_uring_sqe_set_data64(sqe, vu_ud(s, VU_UD_CONNECT));
	s->connecting = true;
	h->s = s;
	info("session %lu: VMM connected (pid %d); connecting to backend %s",
	     s->id, (int)s->vmm_pid, h->o.backend_path);
}

static void connect_done(struct vu_session *s, int res)
{
	s->connecting = false;
	if (s->dying)
		return;
	if (res < 0) {
		session_fail(s, VU_LOG_ERR, "backend %s: connect: %s",
			     s->h->o.backend_path, strerror(-res));
		return;
	}
	s->connected = true;
	s->be_pid = peer_pid(s->be.fd);
	info("session %lu: backend connected (pid %d)", s->id, (int)s->be_pid);
}

/* ---- sending ------------------------------------------------------------------ */

/* Queues h + payload on c, moving nfds fds (owned by the message now). */
static int send_msg(struct vu_session *s, struct vu_chan *c,
		    const struct vu_hdr *hdr, const void *payload,
		    const int *fds, unsigned int nfds)
{
	struct vu_out *o = vu_out_new(hdr, payload);
	unsigned int i;
	int ret;

	if (!o) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		session_fail(s, VU_LOG_ERR, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	for (i = 0; i < nfds; i++)
		o->fds[o->nfds++] = fds[i];
	ret = vu_chan_send(c, o);
	if (ret)
		session_fail(s, VU_LOG_ERR, "%s: cannot send: %s", c->name,
			     strerror(-ret));
	return ret;
}

static int send_u64(struct vu_session *s, struct vu_chan *c,
		    uint32_t request, uint32_t flags, uint64_t v)
{
	struct vu_hdr hdr = { request, flags, VU_U64_SIZE };
	uint8_t buf[VU_U64_SIZE];

	vu_u64_encode(v, buf);
	return send_msg(s, c, &hdr, buf, NULL, 0);
}

/* The REPLY_ACK the backend waits for, if it waits for one. */
static void backend_ack(struct vu_session *s, const struct vu_hdr *req,
			uint64_t v)
{
	if (vu_reply_expected(true, req, &s->be_ctx) == VU_REPLY_NONE)
		return;
	send_u64(s, &s->bech, req->request, vu_hdr_flags(true, false), v);
}

static const char *fe_name(uint32_t req)
{
	const char *n = vu_req_name(false, req);

	return n ? n : "unknown request";
}

static const char *be_name(uint32_t req)
{
	const char *n = vu_req_name(true, req);

	return n ? n : "unknown request";
}

/* ---- the front-end channel ---------------------------------------------------- */

static bool pending_push(struct vu_session *s, uint32_t request,
			 enum vu_reply kind, bool helper, bool local)
{
	struct vu_pending *p;

	if (s->pending_count == VU_PENDING_MAX) {
		session_fail(s, VU_LOG_ERR,
			     "VMM: more than %d requests await replies",
			     VU_PENDING_MAX);
		return false;
	}
	p = &s->pending[(s->pending_head + s->pending_count++) %
			VU_PENDING_MAX];
	p->request = request;
	p->kind = kind;
	p->helper = helper;
	p->local = local;
	return true;
}

/*
 * The VMM waits for an ack of a message the helper kept for itself: sent
 * now if no backend reply is due before it, else once those went out
 * (replies reach the VMM in the order of its requests).
 */
static void vmm_local_ack(struct vu_session *s, uint32_t request)
{
	if (!s->pending_count) {
		send_u64(s, &s->vmm, request, vu_hdr_flags(true, false), 0);
		return;
	}
	pending_push(s, request, VU_REPLY_ACK, false, true);
}

static void pending_flush_local(struct vu_session *s)
{
	struct vu_pending *p;

	while (!s->dying && s->pending_count &&
	       (p = &s->pending[s->pending_head])->local) {
		uint32_t request = p->request;

		s->pending_head = (s->pending_head + 1) % VU_PENDING_MAX;
		s->pending_count--;
		send_u64(s, &s->vmm, request, vu_hdr_flags(true, false), 0);
	}
}

/*
 * A socketpair for the backend channel: the helper keeps one end (bech)
 * and returns the other, to be sent to the backend.
 */
static int make_backend_channel(struct vu_session *s)
{
	int sv[2];

	if (vu_chan_open(&s->bech)) {
		/* Callers check first: this would leave the backend two. */
		session_fail(s, VU_LOG_ERR,
			     "backend channel: the backend has one already");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		session_fail(s, VU_LOG_ERR, "backend channel: socketpair: %s",
			     strerror(errno));
		return -1;
	}
	s->bech.fd = sv[0];
	return sv[1];
}

/* SET_PROTOCOL_FEATURES from the VMM: what the backend gets instead. */
static uint64_t vmm_set_proto(struct vu_session *s, uint64_t ack,
			      bool *own_channel)
{
	bool compat = s->h->o.compat21;
	uint64_t offer, set, shmem;

	*own_channel = false;
	s->proto_sets++;
	if (!s->have_be_proto) {
		/* No GET_PROTOCOL_FEATURES seen: nothing to add to. */
		warn("session %lu: VMM set protocol features without asking for them; forwarded as they are, no SHMEM",
		     s->id);
		s->vmm_ctx.proto = ack;
		pthread_mutex_lock(&s->mu);
		s->be_ctx.proto = ack;
		pthread_mutex_unlock(&s->mu);
		return ack;
	}
	offer = vu_proto_vmm_offer(s->be_proto, compat);
	if (ack & ~offer)
		warn("session %lu: VMM acked protocol features %#" PRIx64 " it was not offered; dropped",
		     s->id, ack & ~offer);
	s->vmm_ctx.proto = ack & offer;
	set = vu_proto_backend_set(ack, s->be_proto, compat);
	shmem = vu_proto_shmem_bit(s->be_proto, compat);
	pthread_mutex_lock(&s->mu);
	s->be_ctx.proto = set;
	pthread_mutex_unlock(&s->mu);
	s->shmem = false;
	if (!shmem) {
		info("session %lu: backend does not offer SHMEM: plain proxy",
		     s->id);
		return set;
	}
	if ((set & (PF(BACKEND_REQ) | PF(BACKEND_SEND_FD))) !=
	    (PF(BACKEND_REQ) | PF(BACKEND_SEND_FD))) {
		warn("session %lu: backend offers SHMEM but not BACKEND_REQ and BACKEND_SEND_FD: it cannot send SHMEM_MAP",
		     s->id);
		return set;
	}
	s->shmem = true;
	/*
	 * One backend channel per backend session: a SET_PROTOCOL_FEATURES
	 * after the first (a VMM may repeat it) leaves the backend the one
	 * it has, whoever made it.  A VMM that turns BACKEND_REQ on by then
	 * sends its own SET_BACKEND_REQ_FD, which handle_vmm() takes.
	 */
	*own_channel = !(s->vmm_ctx.proto & PF(BACKEND_REQ)) &&
		       !vu_chan_open(&s->bech);
	info("session %lu: SHMEM negotiated (bit %d)%s%s", s->id,
	     shmem == PF(SHMEM) ? VHOST_USER_PROTOCOL_F_SHMEM :
				  VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE,
	     set & PF(REPLY_ACK) ? ", with REPLY_ACK" : ", without REPLY_ACK",
	     *own_channel ? "; the helper opens the backend channel" :
	     vu_chan_open(&s->bech) ? "; the backend keeps its channel" : "");
	return set;
}

static void handle_vmm(struct vu_session *s)
{
	struct vu_chan *c = &s->vmm;
	struct vu_hdr hdr = c->rx_hdr;
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[VU_MAX_FDS];
	unsigned int nfds = 0, i;
	bool own_channel = false;
	enum vu_result r;
	enum vu_reply kind;
	uint64_t v = 0;

	r = vu_msg_check(VU_FE_REQUEST, &hdr, vu_chan_payload(c), hdr.size,
			 c->rx_nfds, &s->vmm_ctx);
	if (r) {
		session_fail(s, VU_LOG_ERR,
			     "VMM sent a malformed %s (%u, %u bytes, %u fds): %s",
			     fe_name(hdr.request), hdr.request, hdr.size,
			     c->rx_nfds, vu_strresult(r));
		return;
	}
	s->fe_count[hdr.request]++;
	dbg("session %lu: VMM: %s", s->id, fe_name(hdr.request));
	nfds = vu_chan_take(c, payload, fds);
	if (hdr.size == VU_U64_SIZE)
		vu_u64_decode(payload, hdr.size, &v);

	switch (hdr.request) {
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		v = vmm_set_proto(s, v, &own_channel);
		vu_u64_encode(v, payload);
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		if (!s->shmem)
			break;
		if (vu_chan_open(&s->vmmbe)) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			session_fail(s, VU_LOG_ERR,
				     "VMM sent SET_BACKEND_REQ_FD twice in a session");
			return;
		}
		if (vu_chan_open(&s->bech)) {
			/* The helper gave the backend its own (BACKEND_REQ
			 * was off then): the backend keeps it, the VMM's
			 * takes the forwarded requests from now on.
			 */
			s->vmmbe.fd = fds[0];
			info("session %lu: VMM gave its backend channel after the helper had opened one: used for forwarded requests",
			     s->id);
			if (!(s->vmm_ctx.proto & PF(REPLY_ACK)))
				hdr.flags &= ~VU_FLAG_NEED_REPLY;
			if (vu_reply_expected(false, &hdr, &s->vmm_ctx) ==
			    VU_REPLY_ACK)
				vmm_local_ack(s, hdr.request);
			return;
		}
		/* Ours to the backend; the VMM's for what we forward. */
		s->vmmbe.fd = fds[0];
		fds[0] = make_backend_channel(s);
		if (fds[0] < 0)
			return;
		break;
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
		reset_windows(s->h, fe_name(hdr.request));
		break;
	case VHOST_USER_SET_STATUS:
		if (!v)
			reset_windows(s->h, "SET_STATUS 0");
		break;
	case VHOST_USER_POSTCOPY_LISTEN:
	case VHOST_USER_POSTCOPY_END:
		pthread_mutex_lock(&s->mu);
		s->vmm_ctx.postcopy = s->be_ctx.postcopy =
			hdr.request == VHOST_USER_POSTCOPY_LISTEN;
		pthread_mutex_unlock(&s->mu);
		break;
	default:
		break;
	}
	/* The backend may have REPLY_ACK when the VMM has not: a VMM that
	 * did not negotiate it must not get acks it does not read.
	 */
	if (!(s->vmm_ctx.proto & PF(REPLY_ACK)))
		hdr.flags &= ~VU_FLAG_NEED_REPLY;
	kind = vu_reply_expected(false, &hdr, &s->be_ctx);
	if (kind != VU_REPLY_NONE &&
	    !pending_push(s, hdr.request, kind, false, false))
		goto drop;
	if (send_msg(s, &s->be, &hdr, payload, fds, nfds))
		return;
	if (own_channel) {
		struct vu_hdr req = { VHOST_USER_SET_BACKEND_REQ_FD,
				      vu_hdr_flags(false, false), 0 };
		int fd = make_backend_channel(s);

		if (fd < 0)
			return;
		s->own_channel = true;
		if (s->be_ctx.proto & PF(REPLY_ACK)) {
			req.flags = vu_hdr_flags(false, true);
			if (!pending_push(s, req.request, VU_REPLY_ACK, true,
					  false)) {
				close(fd);
				return;
			}
		}
		send_msg(s, &s->be, &req, NULL, &fd, 1);
	}
	return;
drop:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

static void handle_be(struct vu_session *s)
{
	struct vu_chan *c = &s->be;
	struct vu_hdr hdr = c->rx_hdr;
	uint8_t payload[VU_MAX_PAYLOAD];
	struct vu_pending p;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
	enum vu_result r;
	uint64_t v = 0;

	if (!s->pending_count) {
		session_fail(s, VU_LOG_ERR,
			     "backend sent a %s reply nobody asked for",
			     fe_name(hdr.request));
		return;
	}
	p = s->pending[s->pending_head];
	if (hdr.request != p.request) {
		session_fail(s, VU_LOG_ERR,
			     "backend sent a %s reply (%u) while the %s reply was due: reply for the wrong request",
			     fe_name(hdr.request), hdr.request,
			     fe_name(p.request));
		return;
	}
	r = vu_msg_check(VU_FE_REPLY, &hdr, vu_chan_payload(c), hdr.size,
			 c->rx_nfds, &s->be_ctx);
	if (!r && p.kind == VU_REPLY_ACK &&
	    (hdr.size != VU_U64_SIZE || c->rx_nfds))
		r = VU_E_SIZE;
	if (r) {
		session_fail(s, VU_LOG_ERR,
			     "backend sent a malformed %s reply (%u bytes, %u fds): %s",
			     fe_name(hdr.request), hdr.size, c->rx_nfds,
			     vu_strresult(r));
		return;
	}
	s->pending_head = (s->pending_head + 1) % VU_PENDING_MAX;
	s->pending_count--;
	nfds = vu_chan_take(c, payload, fds);
	if (hdr.size == VU_U64_SIZE)
		vu_u64_decode(payload, hdr.size, &v);

	if (p.helper) {
		/* The ack of the helper's own SET_BACKEND_REQ_FD. */
		if (v)
			warn("session %lu: backend refused the backend channel (%" PRIu64 "): no SHMEM_MAP will arrive",
			     s->id, v);
		pending_flush_local(s);
		return;
	}
	switch (hdr.request) {
	case VHOST_USER_GET_FEATURES:
		s->be_features = v;
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		s->be_proto = v;
		s->have_be_proto = true;
		vu_u64_encode(vu_proto_vmm_offer(v, s->h->o.compat21),
			      payload);
		break;
	default:
		break;
	}
	if (!send_msg(s, &s->vmm, &hdr, payload, fds, nfds))
		pending_flush_local(s);
}

/* ---- the backend channel ------------------------------------------------------ */

static void shmem_cmd(struct vu_session *s, const struct vu_hdr *hdr,
		      const uint8_t *payload, int fd)
{
	struct vu_helper *h = s->h;
	bool map = hdr->request == VHOST_USER_BACKEND_SHMEM_MAP;
	struct io_uring_sqe *sqe;
	struct vu_mmap m;
	enum vu_result r;

	r = vu_mmap_decode(payload, hdr->size, &m);
	if (!r)
		r = vu_mmap_check(&m, map, h->sizes, VU_SHMEM_MAX_REGIONS,
				  h->page_size);
	if (r || (map && fd < 0) || !h->by_shmid[m.shmid]) {
		const char *why = r ? vu_strresult(r) :
			fd < 0 && map ? "no fd" : "no window for this shmid";

		warn("session %lu: backend %s shmid %u [%#" PRIx64 ", +%#" PRIx64 "): %s; answered failure",
		     s->id, be_name(hdr->request), m.shmid, m.shm_offset,
		     m.len, why);
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&s->mu);
		map ? s->map_fail++ : s->unmap_fail++;
		pthread_mutex_unlock(&s->mu);
		backend_ack(s, hdr, fd < 0 && map ? EBADF :
			    r == VU_E_MAP_SHMID ? ENXIO :
			    r == VU_E_MAP_RANGE ? ERANGE : EINVAL);
		return;
	}
	sqe = vu_get_sqe(&h->ring);
	if (!sqe) {
		if (fd >= 0)
			close(fd);
		session_fail(s, VU_LOG_ERR, "no SQE for a window command");
		return;
	}
	s->cmd_win = h->by_shmid[m.shmid];
	if (map)
		vu_window_prep_map(sqe, s->cmd_win, fd, m.fd_offset,
				   m.shm_offset, m.len, m.flags & VU_MMAP_F_RW,
				   vu_ud(s, VU_UD_CMD));
	else
		vu_window_prep_unmap(sqe, s->cmd_win, m.shm_offset, m.len,
				     vu_ud(s, VU_UD_CMD));
	s->be_req = *hdr;
	s->cmd = m;
	s->cmd_fd = fd;
	s->be_state = VU_BE_CMD;
}

/* Counts and logs a window command's result (either thread). */
static void cmd_report(struct vu_session *s, bool map,
		       const struct vu_mmap *m, const struct vu_window *w,
		       int res)
{
	uint32_t req = map ? VHOST_USER_BACKEND_SHMEM_MAP :
			     VHOST_USER_BACKEND_SHMEM_UNMAP;

	pthread_mutex_lock(&s->mu);
	if (res)
		map ? s->map_fail++ : s->unmap_fail++;
	else
		map ? s->maps++ : s->unmaps++;
	pthread_mutex_unlock(&s->mu);
	if (res)
		warn("session %lu: backend %s shmid %u [%#" PRIx64 ", +%#" PRIx64 ") on window %s: %s; answered failure",
		     s->id, be_name(req), m->shmid, m->shm_offset, m->len,
		     w->name,
		     vu_window_cmd_reason(map ? VUSHM_MAP : VUSHM_UNMAP, res));
	else
		dbg("session %lu: %s shmid %u [%#" PRIx64 ", +%#" PRIx64 ") %s",
		    s->id, be_name(req), m->shmid, m->shm_offset, m->len,
		    map ? (m->flags & VU_MMAP_F_RW ? "rw" : "ro") : "");
}

static void cmd_done(struct vu_session *s, int res)
{
	bool map = s->be_req.request == VHOST_USER_BACKEND_SHMEM_MAP;
	const struct vu_mmap *m = &s->cmd;
	int fd = s->cmd_fd;	/* closed after the ack: the backend waits */

	s->cmd_fd = -1;
	s->be_state = VU_BE_IDLE;
	if (s->dying) {
		if (fd >= 0)
			close(fd);
		/* Landed after the session's reset: undo it. */
		if (map && !res) {
			struct io_uring_sqe *sqe = vu_get_sqe(&s->h->ring);

			if (sqe)
				vu_window_prep_reset(sqe, s->cmd_win,
					vu_ud(s->cmd_win, VU_UD_RESET));
		}
		return;
	}
	cmd_report(s, map, m, s->cmd_win, res);
	backend_ack(s, &s->be_req, res ? (uint64_t)-res : 0);
	if (fd >= 0)
		close(fd);	/* the kernel holds the pages */
}

static bool bech_fast_msg(struct vu_chan *c);

/* The bech thread's ring: made by the thread (SINGLE_ISSUER) on first use. */
static struct io_uring *fast_ring(struct vu_session *s)
{
	if (!s->fast_ring_ok) {
		s->fast_ring_ok = vu_ring_init(&s->fast_ring, 4, 0) ? -1 : 1;
		if (s->fast_ring_ok < 0)
			warn("session %lu: no io_uring for the backend channel's thread; its window commands go through the main loop",
			     s->id);
	}
	return s->fast_ring_ok > 0 ? &s->fast_ring : NULL;
}

/* One window command on the bech thread's ring, waited for. */
static int fast_cmd(struct io_uring *ring, const struct vu_window *w,
		    bool map, bool reset, const struct vu_mmap *m, int fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (reset)
		vu_window_prep_reset(sqe, w, 0);
	else if (map)
		vu_window_prep_map(sqe, w, fd, m->fd_offset, m->shm_offset,
				   m->len, m->flags & VU_MMAP_F_RW, 0);
	else
		vu_window_prep_unmap(sqe, w, m->shm_offset, m->len, 0);
	do
		ret = io_uring_submit_and_wait(ring, 1);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * The backend channel's fast path, in its reader thread (chan.h): a valid
 * SHMEM_MAP or SHMEM_UNMAP for a window the helper has is done here, the
 * reply sent from here, without waking the main loop.  Everything else,
 * including every request answered with a failure before the kernel sees
 * it, goes to the main thread (handle_bech), which answers as it always
 * did.  A MAP that lands after the session began to close is undone with
 * a RESET, as cmd_done() does: the main thread sets dying before its own
 * RESET, so a MAP the kernel did after that RESET sees dying here.
 */
static bool bech_fast(struct vu_chan *c, bool setup)
{
	struct vu_session *s = c->owner;

	if (setup) {
		/* The thread starts: its ring now, its fds counted once. */
		fast_ring(s);
		return true;
	}
	return bech_fast_msg(c);
}

static bool bech_fast_msg(struct vu_chan *c)
{
	struct vu_session *s = c->owner;
	struct vu_helper *h = s->h;
	struct vu_hdr hdr = c->rx_hdr, ack;
	bool map = hdr.request == VHOST_USER_BACKEND_SHMEM_MAP;
	uint8_t v[VU_U64_SIZE];
	struct io_uring *ring;
	struct vu_window *w;
	enum vu_reply kind;
	struct vu_mmap m;
	enum vu_result r;
	int res;

	if (!map && hdr.request != VHOST_USER_BACKEND_SHMEM_UNMAP)
		return false;
	if (c->rx_nfds != (map ? 1u : 0u) || getenv("VUSHM_HELPER_RECORD"))
		return false;
	ring = fast_ring(s);
	if (!ring)
		return false;
	pthread_mutex_lock(&s->mu);
	r = vu_msg_check(VU_BE_REQUEST, &hdr, vu_chan_payload(c), hdr.size,
			 c->rx_nfds, &s->be_ctx);
	if (!r)
		r = vu_mmap_decode(vu_chan_payload(c), hdr.size, &m);
	if (!r)
		r = vu_mmap_check(&m, map, h->sizes, VU_SHMEM_MAX_REGIONS,
				  h->page_size);
	w = r || s->dying ? NULL : h->by_shmid[m.shmid];
	kind = vu_reply_expected(true, &hdr, &s->be_ctx);
	if (w)
		s->be_count[hdr.request]++;
	pthread_mutex_unlock(&s->mu);
	if (!w)
		return false;

	res = fast_cmd(ring, w, map, false, &m, map ? c->rx_fds[0] : -1);
	if (s->dying) {
		if (map && !res)
			fast_cmd(ring, w, false, true, NULL, -1);
		return true;
	}
	cmd_report(s, map, &m, w, res);
	if (kind != VU_REPLY_NONE) {
		ack = (struct vu_hdr){ hdr.request, vu_hdr_flags(true, false),
				       VU_U64_SIZE };
		vu_u64_encode(res ? (uint64_t)-res : 0, v);
		/* A failed send shows as the end of the stream next. */
		vu_send_blocking(c->fd, &ack, v);
	}
	return true;
}

/* A backend request the VMM must see (config change, vring call...). */
static void forward_to_vmm(struct vu_session *s, struct vu_hdr *hdr,
			   const uint8_t *payload, int *fds,
			   unsigned int nfds)
{
	struct vu_hdr out = *hdr;
	enum vu_reply kind;
	unsigned int i;

	if (!vu_chan_open(&s->vmmbe) ||
	    (nfds && !(s->vmm_ctx.proto & PF(BACKEND_SEND_FD)))) {
		warn("session %lu: backend sent %s but the VMM %s; answered failure",
		     s->id, be_name(hdr->request),
		     vu_chan_open(&s->vmmbe) ? "takes no fds on its backend channel" :
					      "has no backend channel");
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		backend_ack(s, hdr, EOPNOTSUPP);
		return;
	}
	if (!(s->vmm_ctx.proto & PF(REPLY_ACK)))
		out.flags &= ~VU_FLAG_NEED_REPLY;
	kind = vu_reply_expected(true, &out, &s->vmm_ctx);
	if (send_msg(s, &s->vmmbe, &out, payload, fds, nfds))
		return;
	if (kind != VU_REPLY_NONE) {
		s->be_req = *hdr;
		s->fwd_kind = kind;
		s->be_state = VU_BE_FWD;
		return;
	}
	/* The VMM will not answer: the helper does, as the VMM took it. */
	backend_ack(s, hdr, 0);
}

static void handle_bech(struct vu_session *s)
{
	struct vu_chan *c = &s->bech;
	struct vu_hdr hdr = c->rx_hdr;
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[VU_MAX_FDS];
	unsigned int nfds;
	enum vu_result r;

	r = vu_msg_check(VU_BE_REQUEST, &hdr, vu_chan_payload(c), hdr.size,
			 c->rx_nfds, &s->be_ctx);
	/* An fd-less SHMEM_MAP is a request that fails, not a broken peer. */
	if (r == VU_E_FDS && hdr.request == VHOST_USER_BACKEND_SHMEM_MAP &&
	    !c->rx_nfds)
		r = vu_msg_check(VU_BE_REQUEST, &hdr, vu_chan_payload(c),
				 hdr.size, 1, &s->be_ctx);
	if (r) {
		session_fail(s, VU_LOG_ERR,
			     "backend sent a malformed %s (%u, %u bytes, %u fds) on the backend channel: %s",
			     be_name(hdr.request), hdr.request, hdr.size,
			     c->rx_nfds, vu_strresult(r));
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->be_count[hdr.request]++;
	pthread_mutex_unlock(&s->mu);
	dbg("session %lu: backend: %s", s->id, be_name(hdr.request));
	nfds = vu_chan_take(c, payload, fds);

	switch (hdr.request) {
	case VHOST_USER_BACKEND_SHMEM_MAP:
		shmem_cmd(s, &hdr, payload, nfds ? fds[0] : -1);
		break;
	case VHOST_USER_BACKEND_SHMEM_UNMAP:
		shmem_cmd(s, &hdr, payload, -1);
		break;
	default:
		forward_to_vmm(s, &hdr, payload, fds, nfds);
		break;
	}
}

/* The VMM's answer to a forwarded backend request. */
static void handle_vmmbe(struct vu_session *s)
{
	struct vu_chan *c = &s->vmmbe;
	struct vu_hdr hdr = c->rx_hdr;
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[VU_MAX_FDS];
	unsigned int nfds;
	enum vu_result r;

	if (s->be_state != VU_BE_FWD || hdr.request != s->be_req.request) {
		session_fail(s, VU_LOG_ERR,
			     "VMM sent a %s reply on its backend channel that nobody asked for",
			     be_name(hdr.request));
		return;
	}
	r = vu_msg_check(VU_BE_REPLY, &hdr, vu_chan_payload(c), hdr.size,
			 c->rx_nfds, &s->vmm_ctx);
	if (r) {
		session_fail(s, VU_LOG_ERR,
			     "VMM sent a malformed %s reply on its backend channel: %s",
			     be_name(hdr.request), vu_strresult(r));
		return;
	}
	nfds = vu_chan_take(c, payload, fds);
	s->be_state = VU_BE_IDLE;
	/* The backend asked for a reply the VMM did not give (no REPLY_ACK
	 * on the VMM side) is impossible here: VU_BE_FWD means the VMM owes
	 * exactly the reply the backend waits for.
	 */
	send_msg(s, &s->bech, &hdr, payload, fds, nfds);
}

/* ---- recording ---------------------------------------------------------------- */

/*
 * VUSHM_HELPER_RECORD=DIR: every message received is also written to
 * DIR/<session>-<seq>.msg in the input format of tests/fuzz/proto_fuzz
 * (byte 0: direction and connection state, byte 1: fds received, then the
 * header and payload as they came), so that a real session becomes fuzz
 * seeds and a reproducer.  Debugging aid: it costs a file per message.
 */
static void record_msg(struct vu_session *s, const struct vu_chan *c)
{
	static const char *dir;
	static bool checked;
	static unsigned long seq;
	const struct vu_ctx *ctx;
	char path[4096];
	uint8_t sel;
	FILE *f;

	if (!checked) {
		dir = getenv("VUSHM_HELPER_RECORD");
		checked = true;
	}
	if (!dir || !*dir)
		return;
	ctx = c == &s->vmm || c == &s->vmmbe ? &s->vmm_ctx : &s->be_ctx;
	sel = (uint8_t)c->dir |
	      (ctx->proto & PF(XEN_MMAP) ? 4 : 0) |
	      (ctx->proto & PF(LOG_SHMFD) ? 8 : 0) |
	      (ctx->proto & PF(REPLY_ACK) ? 16 : 0) |
	      (ctx->postcopy ? 32 : 0) | (s->h->o.compat21 ? 64 : 0);
	snprintf(path, sizeof(path), "%s/%d-%lu-%06lu.msg", dir, (int)getpid(),
		 s->id, ++seq);
	f = fopen(path, "we");
	if (!f) {
		warn("VUSHM_HELPER_RECORD: %s: %s", path, strerror(errno));
		return;
	}
	fputc(sel, f);
	fputc((int)c->rx_nfds, f);
	fwrite(c->rx_buf, 1, VU_HDR_SIZE + c->rx_hdr.size, f);
	if (fclose(f))
		warn("VUSHM_HELPER_RECORD: %s: %s", path, strerror(errno));
}

/* ---- events -------------------------------------------------------------------- */

static void recv_done(struct vu_chan *c, int res)
{
	struct vu_session *s = c->owner;
	uint8_t *b = c->rx_buf;
	enum vu_rx rx;

	rx = vu_chan_recv_done(c, res);
	if (s->dying) {
		if (rx == VU_RX_MSG)
			vu_chan_msg_done(c);
		return;
	}
	switch (rx) {
	case VU_RX_MORE:
		return;
	case VU_RX_EOF:
		session_fail(s, VU_LOG_INFO, "%s closed the connection",
			     c->name);
		return;
	case VU_RX_ERR:
		if (c->rx_cut && c->rx_got < VU_HDR_SIZE) {
			session_fail(s, VU_LOG_ERR,
				     "%s closed the connection in the middle of a message: after %zu of the %d header bytes",
				     c->name, c->rx_got, VU_HDR_SIZE);
		} else if (c->rx_cut) {
			const char *n = vu_req_name(c->dir == VU_BE_REQUEST ||
						    c->dir == VU_BE_REPLY,
						    c->rx_hdr.request);

			session_fail(s, VU_LOG_ERR,
				     "%s closed the connection in the middle of a message: %s%s (request %u), %zu of %u payload bytes",
				     c->name, n ? n : "unknown request",
				     c->dir == VU_FE_REPLY || c->dir == VU_BE_REPLY ?
				     " reply" : "", c->rx_hdr.request,
				     c->rx_got - VU_HDR_SIZE, c->rx_hdr.size);
		} else if (c->rx_result) {
			struct vu_hdr bad;
			const char *n;

			vu_hdr_decode(b, &bad);
			n = vu_req_name(c->dir == VU_BE_REQUEST ||
					c->dir == VU_BE_REPLY, bad.request);
			session_fail(s, VU_LOG_ERR,
				     "%s sent a bad header (request %u %s, flags %#x, size %u): %s",
				     c->name, bad.request, n ? n : "unknown",
				     bad.flags, bad.size, c->rx_why);
		} else {
			session_fail(s, VU_LOG_ERR, "%s: %s%s%s", c->name,
				     c->rx_why, c->rx_errno ? ": " : "",
				     c->rx_errno ? strerror(c->rx_errno) : "");
		}
		return;
	case VU_RX_MSG:
		break;
	}
	record_msg(s, c);
	if (c == &s->vmm)
		handle_vmm(s);
	else if (c == &s->be)
		handle_be(s);
	else if (c == &s->bech)
		handle_bech(s);
	else
		handle_vmmbe(s);
}

static void send_done(struct vu_chan *c, int res)
{
	struct vu_session *s = c->owner;
	int ret = vu_chan_send_done(c, res);

	if (s->dying)
		return;
	if (ret)
		session_fail(s, c == &s->vmm || c == &s->be ? VU_LOG_INFO :
			     VU_LOG_ERR, "%s: send: %s", c->name,
			     strerror(-ret));
}

/* Arms the readers whose messages can be taken now (see bridge.h). */
static void session_pump(struct vu_session *s)
{
	int ret = 0;

	if (s->dying || !s->connected)
		return;
	if (vu_chan_tx_empty(&s->be))
		ret |= vu_chan_recv(&s->vmm);
	if (vu_chan_tx_empty(&s->vmm))
		ret |= vu_chan_recv(&s->be);
	if (vu_chan_open(&s->bech) && s->be_state == VU_BE_IDLE &&
	    vu_chan_tx_empty(&s->bech))
		ret |= vu_chan_recv(&s->bech);
	if (s->be_state == VU_BE_FWD && vu_chan_tx_empty(&s->vmmbe))
		ret |= vu_chan_recv(&s->vmmbe);
	if (ret)
		session_fail(s, VU_LOG_ERR, "submission queue full");
}

void vu_helper_pump(struct vu_helper *h)
{
	if (h->s && h->s->dying)
		session_reap(h->s);
	if (h->s)
		session_pump(h->s);
	else
		arm_accept(h);
}

void vu_helper_stop(struct vu_helper *h, const char *why)
{
	if (h->stopping)
		return;
	info("stopping: %s", why);
	h->stopping = true;
	if (h->s)
		session_fail(h->s, VU_LOG_INFO, "helper stopping");
}

/* " NAME=COUNT" for every request seen, or " none". */
static void status_counts(char *buf, size_t len, const unsigned long *count,
			  unsigned int max, bool backend_channel)
{
	size_t n = 0;
	unsigned int i;

	buf[0] = 0;
	for (i = 0; i < max && n < len; i++) {
		const char *name = vu_req_name(backend_channel, i);

		if (count[i])
			n += snprintf(buf + n, len - n, " %s=%lu",
				      name ? name : "unknown", count[i]);
	}
	if (!n)
		snprintf(buf, len, " none");
}

static const char *chan_state(const struct vu_chan *c)
{
	if (!vu_chan_open(c))
		return "none";
	return vu_chan_busy(c) ? "open, busy" : "open";
}

/*
 * SIGUSR1: the state, for an operator, whatever the log level (-q drops
 * info, not this).  One line per topic, every line "status: ...".
 */
void vu_helper_status(struct vu_helper *h)
{
	struct vu_session *s = h->s;
	char counts[700];
	unsigned int i;

	notice_always("status: %u window(s), %lu session(s) so far, %lu window reset(s); listening on %s, backend %s",
		      h->nwin, h->nsessions, h->resets, h->o.listen_path,
		      h->o.backend_path);
	for (i = 0; i < h->nwin; i++)
		notice_always("status: window %s: shmid %u, %#" PRIx64 " bytes (region %#" PRIx64 ")",
			      h->win[i].name, h->win[i].shmid, h->win[i].size,
			      h->sizes[h->win[i].shmid]);
	if (!s) {
		notice_always("status: no session (waiting for a VMM on %s)",
			      h->o.listen_path);
		return;
	}
	notice_always("status: session %lu: %sconnections: VMM (pid %d) %s; backend %s (pid %d) %s; backend channel %s%s; VMM backend channel %s",
		      s->id, s->dying ? "closing; " : "", (int)s->vmm_pid,
		      chan_state(&s->vmm), h->o.backend_path, (int)s->be_pid,
		      s->connecting ? "connecting" : chan_state(&s->be),
		      chan_state(&s->bech),
		      !vu_chan_open(&s->bech) ? "" :
		      s->own_channel ? " (the helper's, SET_BACKEND_REQ_FD of its own)" :
				       " (the helper's, in place of the VMM's)",
		      chan_state(&s->vmmbe));
	notice_always("status: session %lu: features %#" PRIx64 "; protocol features: VMM %#" PRIx64 ", backend %#" PRIx64 " (offered %#" PRIx64 "); SHMEM %s; SET_PROTOCOL_FEATURES %u time(s)",
		      s->id, s->be_features, s->vmm_ctx.proto, s->be_ctx.proto,
		      s->be_proto, s->shmem ? "on" : "off", s->proto_sets);
	if (s->be_state == VU_BE_CMD)
		notice_always("status: session %lu: backend channel: in a window command (%s shmid %u [%#" PRIx64 ", +%#" PRIx64 "))",
			      s->id, be_name(s->be_req.request), s->cmd.shmid,
			      s->cmd.shm_offset, s->cmd.len);
	else if (s->be_state == VU_BE_FWD)
		notice_always("status: session %lu: backend channel: waiting for the VMM's reply to %s",
			      s->id, be_name(s->be_req.request));
	else
		notice_always("status: session %lu: backend channel: idle",
			      s->id);
	if (s->pending_count)
		notice_always("status: session %lu: %u backend repl%s pending, oldest %s",
			      s->id, s->pending_count,
			      s->pending_count == 1 ? "y" : "ies",
			      fe_name(s->pending[s->pending_head].request));
	else
		notice_always("status: session %lu: no backend reply pending",
			      s->id);
	pthread_mutex_lock(&s->mu);
	notice_always("status: session %lu: SHMEM_MAP %lu ok %lu failed, SHMEM_UNMAP %lu ok %lu failed",
		      s->id, s->maps, s->map_fail, s->unmaps, s->unmap_fail);
	status_counts(counts, sizeof(counts), s->be_count, VHOST_USER_BE_MAX,
		      true);
	pthread_mutex_unlock(&s->mu);
	notice_always("status: session %lu: backend requests:%s", s->id,
		      counts);
	status_counts(counts, sizeof(counts), s->fe_count, VHOST_USER_FE_MAX,
		      false);
	notice_always("status: session %lu: VMM requests:%s", s->id, counts);
}

void vu_helper_dispatch(struct vu_helper *h, const struct io_uring_cqe *cqe)
{
	void *p = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)VU_UD_TAG_MASK);
	int res = cqe->res;

	switch (cqe->user_data & VU_UD_TAG_MASK) {
	case VU_UD_ACCEPT:
		h->accepting = false;
		if (res >= 0) {
			if (h->stopping)
				close(res);
			else
				session_new(h, res);
		} else if (res != -EINTR && res != -ECANCELED) {
			err("%s: accept: %s", h->o.listen_path,
			    strerror(-res));
		}
		break;
	case VU_UD_CONNECT:
		connect_done(p, res);
		break;
	case VU_UD_RECV:
		recv_done(p, res);
		break;
	case VU_UD_SEND:
		send_done(p, res);
		break;
	case VU_UD_CMD:
		cmd_done(p, res);
		break;
	case VU_UD_RESET:
		reset_done(p, res);
		break;
	default:
		err("unknown completion %#llx", (unsigned long long)cqe->user_data);
		break;
	}
}
