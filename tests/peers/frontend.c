// SPDX-License-Identifier: GPL-2.0
/*
 * The test frontend (see frontend.h): a VMM's side of vhost-user for one
 * device, blocking, with timeouts, for tests.
 *
 * Failures are logged where they are found and only there, so that each
 * failed call leaves one line naming the request; callers up the stack
 * pass the errno on without logging again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "frontend.h"

/* Used rings start on their own page, as the legacy layout had them. */
#define VUF_PAGE		4096UL
/* While waiting for a used entry, look at the ring this often even
 * without a call: a lost notification must show as such, not as a hang.
 */
#define VUF_POLL_SLICE_MS	10
/* Gap between the segments of a request, so that "multi-segment" really
 * means scattered buffers a backend cannot treat as one.
 */
#define VUF_SEG_GAP		64

struct vuf_vq {
	unsigned int num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick, call;			/* eventfds, kept across reconnects */
	uint16_t avail_idx;		/* next avail->idx to publish */
	uint16_t last_used;		/* next used entry to consume */
	uint16_t free_head, nfree;
	uint16_t next[VUF_MAX_QUEUE_SIZE];	/* shadow of desc[].next */
	uint16_t chain[VUF_MAX_QUEUE_SIZE];	/* descriptors per head, 0: free */
	bool done[VUF_MAX_QUEUE_SIZE];		/* used, not yet waited for */
	uint32_t done_len[VUF_MAX_QUEUE_SIZE];
	unsigned int inflight;
	bool started;
	int base;			/* last GET_VRING_BASE answer, -1 */
	uint64_t arena, arena_size, arena_used;
};

struct vuf {
	struct vuf_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int sock;			/* front-end channel */
	int be_sock;			/* our end of the backend channel */
	int memfd;
	uint8_t *mem;
	size_t mem_size;
	uint64_t offered, acked;	/* virtio features */
	uint64_t pf_offered;		/* protocol features */
	struct vu_ctx ctx;		/* ctx.proto: acked protocol features */
	unsigned int queue_num;		/* GET_QUEUE_NUM answer, 0 if none */
	unsigned int nq;
	uint8_t config[VU_CONFIG_MAX];
	size_t config_len;
	struct vuf_vq vq[VUF_MAX_QUEUES];
};

/* ---- small things ------------------------------------------------------- */

static void vuf_log(const struct vuf *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vuf_log(const struct vuf *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (f && f->cfg.quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write, so that lines of concurrent processes do not mix. */
	fprintf(stderr, "vuf: %s\n", line);
}

static const char *rq_name(uint32_t request)
{
	return vu_req_name(false, request);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, for poll(); 0 once it has passed. */
static int left_ms(int64_t deadline)
{
	int64_t l = deadline - now_ms();

	return l > 0 ? (int)(l > 60000 ? 60000 : l) : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool has_pf(const struct vuf *f, unsigned int bit)
{
	return f->ctx.proto & VU_PF(bit);
}

static bool has_f(const struct vuf *f, unsigned int bit)
{
	return f->acked & VUF_BIT(bit);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* ---- sockets ------------------------------------------------------------ */

/*
 * Header and payload go out in one sendmsg with the fds, as every
 * vhost-user peer expects (the fds belong to the header's message).
 */
static int send_bytes(const struct vuf *f, int sock, const char *what,
		      const void *buf, size_t len, const int *fds,
		      unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	const uint8_t *p = buf;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	if (sock < 0) {
		vuf_log(f, "%s: not connected", what);
		return -ENOTCONN;
	}
	if (nfds > VU_MAX_FDS) {
		vuf_log(f, "%s: %u fds, at most %d", what, nfds, VU_MAX_FDS);
		return -EINVAL;
	}
	while (len || nfds) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (void *)p;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (nfds)
			vu_msg_put_fds(&mh, cm.buf, fds, nfds);
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			vuf_log(f, "%s: send: %s", what, strerror(e));
			return -e;
		}
		/* The fds went with the first byte; a short send only
		 * leaves bytes (a signal on a big message).
		 */
		nfds = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void keep_fds(struct msghdr *mh, int *fds, unsigned int *nfds)
{
	struct cmsghdr *c;
	unsigned int i, n;
	int fd;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VU_MAX_FDS)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
}

/*
 * Read exactly len bytes before deadline, collecting any fds that come
 * with them.  0 or -errno; -ECONNRESET when the peer closed (also in the
 * middle: a message cut short is a closed connection to a VMM).
 */
static int recv_bytes(int sock, void *buf, size_t len, int *fds,
		      unsigned int *nfds, int64_t deadline, bool *ctrunc)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	uint8_t *p = buf;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	int r;

	while (len) {
		r = poll(&pfd, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = p;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		keep_fds(&mh, fds, nfds);
		if (mh.msg_flags & MSG_CTRUNC)
			*ctrunc = true;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void vuf_msg_close_fds(struct vuf_msg *m)
{
	unsigned int i;

	for (i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

/* Why a receive failed, in words that fit the log line. */
static const char *recv_err(int e, char *buf, size_t len)
{
	if (e == -ETIMEDOUT)
		return "no answer in time";
	if (e == -ECONNRESET)
		return "peer closed the connection";
	snprintf(buf, len, "%s", strerror(-e));
	return buf;
}

/*
 * One message, framed but not judged: the header's size says how much
 * payload follows, up to VU_MAX_PAYLOAD (a bigger one cannot be a vhost-user
 * message vushm knows and is refused without reading it).
 */
static int recv_msg(const struct vuf *f, int sock, const char *what,
		    struct vuf_msg *m, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool ctrunc = false;
	char eb[64];
	int r;

	m->nfds = 0;
	m->len = 0;
	if (sock < 0) {
		vuf_log(f, "%s: not connected", what);
		return -ENOTCONN;
	}
	r = recv_bytes(sock, m->raw_hdr, VU_HDR_SIZE, m->fds, &m->nfds,
		       deadline, &ctrunc);
	if (r) {
		vuf_log(f, "%s: header: %s", what, recv_err(r, eb, sizeof(eb)));
		goto fail;
	}
	vu_hdr_decode(m->raw_hdr, &m->hdr);
	if (m->hdr.size > VU_MAX_PAYLOAD) {
		vuf_log(f, "%s: %s message of %u bytes, over %d", what,
			rq_name(m->hdr.request), m->hdr.size, VU_MAX_PAYLOAD);
		r = -EMSGSIZE;
		goto fail;
	}
	r = recv_bytes(sock, m->payload, m->hdr.size, m->fds, &m->nfds,
		       deadline, &ctrunc);
	if (r) {
		vuf_log(f, "%s: payload of %u bytes: %s", what, m->hdr.size,
			recv_err(r, eb, sizeof(eb)));
		goto fail;
	}
	if (ctrunc) {
		vuf_log(f, "%s: more than %d fds, some were dropped", what,
			VU_MAX_FDS);
		r = -EPROTO;
		goto fail;
	}
	m->len = m->hdr.size;
	return 0;
fail:
	vuf_msg_close_fds(m);
	return r;
}

/* ---- requests ----------------------------------------------------------- */

/*
 * Send one request and take its answer, as vu_reply_expected() says it
 * comes: none, a REPLY_ACK (0 or -EIO when the backend says failure), or
 * the request's own reply message (validated by the protocol library,
 * copied to reply[]).  VUF_RQ_ACK asks for a REPLY_ACK when negotiated;
 * need_reply_all asks for one on everything that has no reply of its own.
 */
static int do_request(struct vuf *f, uint32_t request, unsigned int rq_flags,
		      const void *payload, size_t len, const int *fds,
		      unsigned int nfds, void *reply, size_t cap,
		      size_t *reply_len, struct vuf_msg *keep)
{
	const char *name = rq_name(request);
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	bool ack = rq_flags & VUF_RQ_ACK;
	struct vu_hdr h = { .request = request, .size = (uint32_t)len };
	struct vuf_msg *m;
	enum vu_result res;
	enum vu_reply want;
	struct vu_hdr rh;
	uint64_t v;
	int r;

	if (len > VU_MAX_PAYLOAD) {
		vuf_log(f, "%s: payload of %zu bytes", name, len);
		return -EMSGSIZE;
	}
	if (f->cfg.need_reply_all) {
		const struct vu_req_info *ri = vu_req_info(false, request);

		if (ri && ri->reply_when == VU_R_ACK)
			ack = true;
	}
	ack = ack && has_pf(f, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	h.flags = vu_hdr_flags(false, ack);
	vu_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VU_HDR_SIZE, payload, len);
	r = send_bytes(f, f->sock, name, buf, VU_HDR_SIZE + len, fds, nfds);
	if (r)
		return r;
	if (reply_len)
		*reply_len = 0;

	want = vu_reply_expected(false, &h, &f->ctx);
	if (want == VU_REPLY_NONE)
		return 0;

	m = malloc(sizeof(*m));
	if (!m) {
		vuf_log(f, "%s: out of memory", name);
		return -ENOMEM;
	}
	r = recv_msg(f, f->sock, name, m, f->cfg.timeout_ms);
	if (r)
		goto out;
	res = vu_msg_parse(VU_FE_REPLY, m->raw_hdr, VU_HDR_SIZE, m->payload,
			   m->len, m->nfds, &f->ctx, &rh);
	if (res != VU_OK) {
		vuf_log(f, "%s: bad reply (%s %u bytes, %u fds): %s", name,
			rq_name(m->hdr.request), m->hdr.size, m->nfds,
			vu_strresult(res));
		r = -EPROTO;
		goto out;
	}
	if (rh.request != request) {
		vuf_log(f, "%s: reply is for %s", name, rq_name(rh.request));
		r = -EPROTO;
		goto out;
	}
	if (keep) {
		/* The caller judges the payload and owns the fds. */
		*keep = *m;
		m->nfds = 0;
		goto out;
	}
	if (m->nfds) {
		vuf_log(f, "%s: reply carries %u fds, none expected", name,
			m->nfds);
		r = -EPROTO;
		goto out;
	}
	if (want == VU_REPLY_ACK) {
		if (vu_u64_decode(m->payload, m->len, &v) != VU_OK) {
			vuf_log(f, "%s: ack of %zu bytes", name, m->len);
			r = -EPROTO;
		} else if (v) {
			vuf_log(f, "%s: backend answered failure (%llu)", name,
				(unsigned long long)v);
			r = -EIO;
		}
		goto out;
	}
	if (m->len > cap) {
		vuf_log(f, "%s: reply of %zu bytes, room for %zu", name, m->len,
			cap);
		r = -EMSGSIZE;
		goto out;
	}
	if (m->len)
		memcpy(reply, m->payload, m->len);
	if (reply_len)
		*reply_len = m->len;
out:
	vuf_msg_close_fds(m);
	free(m);
	return r;
}

int vuf_request(struct vuf *f, uint32_t rq, unsigned int rq_flags,
		const void *payload, size_t len, const int *fds,
		unsigned int nfds, void *reply, size_t cap, size_t *reply_len)
{
	return do_request(f, rq, rq_flags, payload, len, fds, nfds, reply, cap,
		       reply_len, NULL);
}

int vuf_request_msg(struct vuf *f, uint32_t rq, unsigned int rq_flags,
		    const void *payload, size_t len, const int *fds,
		    unsigned int nfds, struct vuf_msg *reply)
{
	reply->nfds = 0;
	reply->len = 0;
	return do_request(f, rq, rq_flags, payload, len, fds, nfds, NULL, 0,
		       NULL, reply);
}

/* A request answered by one u64 (GET_FEATURES, GET_QUEUE_NUM...). */
static int get_u64(struct vuf *f, uint32_t request, uint64_t *v)
{
	uint8_t b[VU_U64_SIZE];
	size_t n;
	int r;

	r = vuf_request(f, request, 0, NULL, 0, NULL, 0, b, sizeof(b), &n);
	if (r)
		return r;
	if (vu_u64_decode(b, n, v) != VU_OK) {
		vuf_log(f, "%s: reply of %zu bytes, not a u64", rq_name(request),
			n);
		return -EPROTO;
	}
	return 0;
}

static int set_u64(struct vuf *f, uint32_t request, unsigned int rq_flags,
		   uint64_t v)
{
	uint8_t b[VU_U64_SIZE];

	vu_u64_encode(v, b);
	return vuf_request(f, request, rq_flags, b, sizeof(b), NULL, 0, NULL, 0,
			   NULL);
}

/* struct vhost_vring_state: u32 index, u32 num. */
static int set_state(struct vuf *f, uint32_t request, unsigned int q,
		     uint32_t num, unsigned int rq_flags)
{
	uint8_t b[8];

	put_le32(b, q);
	put_le32(b + 4, num);
	return vuf_request(f, request, rq_flags, b, sizeof(b), NULL, 0, NULL, 0,
			   NULL);
}

/* SET_VRING_KICK/CALL: the u64 index word and its eventfd. */
static int set_vring_fd(struct vuf *f, uint32_t request, unsigned int q,
			int fd)
{
	uint8_t b[VU_U64_SIZE];

	vu_u64_encode(q, b);
	return vuf_request(f, request, 0, b, sizeof(b), &fd, 1, NULL, 0, NULL);
}

int vuf_set_protocol(struct vuf *f, uint64_t pf)
{
	uint8_t b[VU_U64_SIZE];
	int r;

	vu_u64_encode(pf, b);
	r = vuf_request(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, b, sizeof(b),
			NULL, 0, NULL, 0, NULL);
	if (!r)
		f->ctx.proto = pf;
	return r;
}

int vuf_set_backend_req_fd(struct vuf *f)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		r = -errno;
		vuf_log(f, "SET_BACKEND_REQ_FD: socketpair: %s", strerror(-r));
		return r;
	}
	r = vuf_request(f, VHOST_USER_SET_BACKEND_REQ_FD, VUF_RQ_ACK, NULL, 0,
			&sv[1], 1, NULL, 0, NULL);
	close(sv[1]);
	if (r) {
		close(sv[0]);
		return r;
	}
	close_fd(&f->be_sock);
	f->be_sock = sv[0];
	return 0;
}

int vuf_set_owner(struct vuf *f)
{
	return vuf_request(f, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0, NULL,
			   0, NULL);
}

/* After a reset the backend has no rings: forget ours (memory stays). */
static void rings_reset(struct vuf *f)
{
	unsigned int i;

	for (i = 0; i < f->nq; i++) {
		f->vq[i].started = false;
		f->vq[i].base = -1;
	}
}

int vuf_reset_owner(struct vuf *f)
{
	int r = vuf_request(f, VHOST_USER_RESET_OWNER, 0, NULL, 0, NULL, 0,
			    NULL, 0, NULL);

	rings_reset(f);
	return r;
}

int vuf_reset_device(struct vuf *f)
{
	int r;

	if (!has_pf(f, VHOST_USER_PROTOCOL_F_RESET_DEVICE)) {
		vuf_log(f, "RESET_DEVICE: PROTOCOL_F_RESET_DEVICE not negotiated");
		return -EOPNOTSUPP;
	}
	r = vuf_request(f, VHOST_USER_RESET_DEVICE, 0, NULL, 0, NULL, 0, NULL,
			0, NULL);
	rings_reset(f);
	return r;
}

int vuf_set_status(struct vuf *f, uint8_t status)
{
	return set_u64(f, VHOST_USER_SET_STATUS, 0, status);
}

int vuf_get_status(struct vuf *f, uint8_t *status)
{
	uint64_t v;
	int r = get_u64(f, VHOST_USER_GET_STATUS, &v);

	if (!r)
		*status = (uint8_t)v;
	return r;
}

/*
 * GET_CONFIG: u32 offset, u32 size, u32 flags, then size bytes (zeros on
 * the way out).  An empty reply is the backend's way to say failure.
 */
int vuf_get_config(struct vuf *f, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t *b;
	size_t n, sz = VU_CONFIG_HDR_SIZE + (size_t)len;
	int r;

	if (len > VU_CONFIG_MAX) {
		vuf_log(f, "GET_CONFIG: %u bytes asked, at most %d", len,
			VU_CONFIG_MAX);
		return -EINVAL;
	}
	b = calloc(1, sz);
	if (!b) {
		vuf_log(f, "GET_CONFIG: out of memory");
		return -ENOMEM;
	}
	put_le32(b, offset);
	put_le32(b + 4, len);
	r = vuf_request(f, VHOST_USER_GET_CONFIG, 0, b, sz, NULL, 0, b, sz, &n);
	if (r)
		goto out;
	if (n != sz || get_le32(b) != offset) {
		vuf_log(f, "GET_CONFIG: backend failed (reply of %zu bytes, offset %u)",
			n, n >= 4 ? get_le32(b) : 0);
		r = -EIO;
		goto out;
	}
	memcpy(buf, b + VU_CONFIG_HDR_SIZE, len);
out:
	free(b);
	return r;
}

/* ---- raw front-end channel ---------------------------------------------- */

int vuf_sock(const struct vuf *f)
{
	return f->sock;
}

/* Anything at all, for malformed-input tests: no framing is added. */
int vuf_send_raw(struct vuf *f, const void *buf, size_t len, const int *fds,
		 unsigned int nfds)
{
	return send_bytes(f, f->sock, "raw send", buf, len, fds, nfds);
}

/* A header with exactly these fields (flags too) and the payload. */
int vuf_send_msg(struct vuf *f, uint32_t request, uint32_t flags,
		 const void *payload, size_t len, const int *fds,
		 unsigned int nfds)
{
	struct vu_hdr h = { .request = request, .flags = flags,
			    .size = (uint32_t)len };
	uint8_t *buf = malloc(VU_HDR_SIZE + len);
	int r;

	if (!buf) {
		vuf_log(f, "%s: out of memory", rq_name(request));
		return -ENOMEM;
	}
	vu_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VU_HDR_SIZE, payload, len);
	r = send_bytes(f, f->sock, rq_name(request), buf, VU_HDR_SIZE + len,
		       fds, nfds);
	free(buf);
	return r;
}

/* One message from the backend side, framed, not validated. */
int vuf_recv_msg(struct vuf *f, struct vuf_msg *m, int timeout_ms)
{
	return recv_msg(f, f->sock, "receive", m, timeout_ms);
}

/*
 * The peer closed the front-end channel within timeout_ms: what a test
 * expects after feeding malformed input to the helper.  Whatever arrives
 * before the end is read and dropped (fds closed).
 */
int vuf_wait_closed(struct vuf *f, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
	uint8_t buf[4096];
	unsigned int nfds;
	int fds[VU_MAX_FDS];
	bool ctrunc;
	bool got = false;
	int r;

	if (f->sock < 0) {
		vuf_log(f, "wait for close: not connected");
		return -ENOTCONN;
	}
	for (;;) {
		r = poll(&pfd, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nfds = 0;
		ctrunc = false;
		/* One byte at a time would do; a page is faster.  recv_bytes
		 * needs an exact length, so peek at what is there.
		 */
		r = (int)recv(f->sock, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return 0;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			break;
		r = recv_bytes(f->sock, buf, (size_t)r, fds, &nfds, deadline,
			       &ctrunc);
		while (nfds)
			close(fds[--nfds]);
		if (r == -ECONNRESET)
			return 0;
		if (r)
			break;
		got = true;
	}
	vuf_log(f, "wait for close: connection still open after %d ms%s",
		timeout_ms, got ? " (data was dropped)" : "");
	return -ETIMEDOUT;
}

/* ---- backend channel ---------------------------------------------------- */

int vuf_backend_sock(const struct vuf *f)
{
	return f->be_sock;
}

/*
 * One request the backend sent on the channel handed over with
 * SET_BACKEND_REQ_FD, validated as a backend-channel request.  The test
 * owns m->fds and answers with vuf_backend_req_reply().
 */
int vuf_backend_req_recv(struct vuf *f, struct vuf_msg *m, int timeout_ms)
{
	enum vu_result res;
	struct vu_hdr h;
	int r;

	r = recv_msg(f, f->be_sock, "backend request", m, timeout_ms);
	if (r)
		return r;
	res = vu_msg_parse(VU_BE_REQUEST, m->raw_hdr, VU_HDR_SIZE, m->payload,
			   m->len, m->nfds, &f->ctx, &h);
	if (res != VU_OK) {
		vuf_log(f, "backend request %s (%u bytes, %u fds): %s",
			vu_req_name(true, m->hdr.request), m->hdr.size, m->nfds,
			vu_strresult(res));
		vuf_msg_close_fds(m);
		return -EPROTO;
	}
	return 0;
}

/*
 * Answer a backend request the way a VMM does: a u64 result when the
 * request is answered (its own reply is a u64 first too), nothing when it
 * is not (no NEED_REPLY, or REPLY_ACK not negotiated).
 */
int vuf_backend_req_reply(struct vuf *f, const struct vuf_msg *req,
			  uint64_t result)
{
	return vuf_backend_req_reply_fds(f, req, result, NULL, 0);
}

int vuf_backend_req_reply_fds(struct vuf *f, const struct vuf_msg *req,
			      uint64_t result, const int *fds,
			      unsigned int nfds)
{
	uint8_t buf[VU_HDR_SIZE + VU_U64_SIZE];
	struct vu_hdr h = { .request = req->hdr.request,
			    .flags = vu_hdr_flags(true, false),
			    .size = VU_U64_SIZE };

	if (vu_reply_expected(true, &req->hdr, &f->ctx) == VU_REPLY_NONE)
		return 0;
	vu_hdr_encode(&h, buf);
	vu_u64_encode(result, buf + VU_HDR_SIZE);
	return send_bytes(f, f->be_sock,
			  vu_req_name(true, req->hdr.request), buf, sizeof(buf),
			  fds, nfds);
}

/* ---- guest memory and rings --------------------------------------------- */

int vuf_mem_fd(const struct vuf *f)
{
	return f->memfd;
}

/* The test's view of [gpa, gpa + len), NULL if not all guest memory. */
void *vuf_mem(struct vuf *f, uint64_t gpa, size_t len)
{
	if (gpa > f->mem_size || len > f->mem_size - gpa)
		return NULL;
	return f->mem + gpa;
}

static uint64_t uaddr(const struct vuf *f, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)f->mem + gpa;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Bytes of one queue's ring block for num entries (EVENT_IDX words too). */
static uint64_t ring_block(unsigned int num, uint64_t *avail_off,
			   uint64_t *used_off)
{
	uint64_t a = 16ULL * num;
	uint64_t u = align_up(a + 6 + 2ULL * num, VUF_PAGE);

	*avail_off = a;
	*used_off = u;
	return align_up(u + 6 + 8ULL * num, VUF_PAGE);
}

/*
 * Buffer space for a request on queue q.  The arena is per queue and
 * rewinds when its last request in flight is used (or the rings are
 * reset), which is all a blocking test needs.  Returns a gpa, 0 when full
 * (gpa 0 is a ring, never a buffer).
 */
uint64_t vuf_mem_alloc(struct vuf *f, unsigned int q, size_t len,
		       size_t align)
{
	struct vuf_vq *vq;
	uint64_t at;

	if (q >= f->nq || !align || (align & (align - 1))) {
		vuf_log(f, "alloc: queue %u of %u, align %zu", q, f->nq, align);
		return 0;
	}
	vq = &f->vq[q];
	at = align_up(vq->arena + vq->arena_used, align);
	if (at + len > vq->arena + vq->arena_size || at + len < at) {
		vuf_log(f, "alloc: queue %u arena full (%zu bytes asked, %llu of %llu used)",
			q, len, (unsigned long long)vq->arena_used,
			(unsigned long long)vq->arena_size);
		return 0;
	}
	vq->arena_used = at + len - vq->arena;
	return at;
}

/* Fresh rings, as a driver lays them out after a device reset. */
static void vq_init(struct vuf *f, struct vuf_vq *vq)
{
	uint64_t aoff, uoff, block = ring_block(vq->num, &aoff, &uoff);
	unsigned int i;

	memset(f->mem + vq->desc_gpa, 0, block);
	vq->desc = (struct vring_desc *)(f->mem + vq->desc_gpa);
	vq->avail = (struct vring_avail *)(f->mem + vq->avail_gpa);
	vq->used = (struct vring_used *)(f->mem + vq->used_gpa);
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->free_head = 0;
	vq->nfree = (uint16_t)vq->num;
	for (i = 0; i < vq->num; i++) {
		vq->next[i] = (uint16_t)(i + 1);
		vq->chain[i] = 0;
		vq->done[i] = false;
	}
	vq->inflight = 0;
	vq->arena_used = 0;
	vq->base = -1;
}

/*
 * Put a chain on the avail ring (not kicked yet): the returned head is the
 * id the used ring will name.  Segments are in the given order; virtio
 * wants the device-readable ones first, which is the caller's business
 * (a test may want it wrong).
 */
int vuf_vq_add(struct vuf *f, unsigned int q, const struct vuf_seg *segs,
	       unsigned int n)
{
	struct vuf_vq *vq;
	uint16_t head, d = 0, prev = 0;
	unsigned int i;

	if (q >= f->nq || !n) {
		vuf_log(f, "vq add: queue %u of %u, %u segments", q, f->nq, n);
		return -EINVAL;
	}
	vq = &f->vq[q];
	if (!vq->started) {
		vuf_log(f, "vq add: queue %u not started", q);
		return -EINVAL;
	}
	if (n > vq->nfree) {
		vuf_log(f, "vq add: queue %u: %u descriptors wanted, %u free", q,
			n, vq->nfree);
		return -ENOSPC;
	}
	head = vq->free_head;
	for (i = 0; i < n; i++) {
		d = vq->free_head;
		vq->free_head = vq->next[d];
		vq->desc[d].addr = htole64(segs[i].gpa);
		vq->desc[d].len = htole32(segs[i].len);
		vq->desc[d].flags = htole16(segs[i].write ? VRING_DESC_F_WRITE : 0);
		if (i) {
			vq->desc[prev].flags |= htole16(VRING_DESC_F_NEXT);
			vq->desc[prev].next = htole16(d);
			/* In flight, next[] links the chain: the device
			 * may scribble on desc[], not on our copy.
			 */
			vq->next[prev] = d;
		}
		prev = d;
	}
	vq->desc[d].next = 0;
	vq->nfree -= (uint16_t)n;
	vq->chain[head] = (uint16_t)n;
	vq->done[head] = false;
	vq->inflight++;
	vq->avail->ring[vq->avail_idx % vq->num] = htole16(head);
	vq->avail_idx++;
	/* The descriptors and the ring entry before the index. */
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
	return head;
}

/*
 * Always kick: a spurious kick is harmless, and ignoring the device's
 * suppression hints (NO_NOTIFY, avail_event) keeps this side simple.  With
 * EVENT_IDX, used_event asks for a call at the next used entry.
 */
int vuf_vq_kick(struct vuf *f, unsigned int q)
{
	uint64_t one = 1;
	struct vuf_vq *vq;

	if (q >= f->nq || f->vq[q].kick < 0) {
		vuf_log(f, "kick: queue %u of %u has no kick fd", q, f->nq);
		return -EINVAL;
	}
	vq = &f->vq[q];
	if (has_f(f, VUF_F_EVENT_IDX))
		__atomic_store_n(&vq->avail->ring[vq->num],
				 htole16(vq->last_used), __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (write(vq->kick, &one, sizeof(one)) != sizeof(one)) {
		int e = errno;

		vuf_log(f, "kick: queue %u: %s", q, strerror(e));
		return -e;
	}
	return 0;
}

/* Take every new used entry; -EPROTO for an id that is not in flight. */
static int vq_reap(struct vuf *f, unsigned int q)
{
	struct vuf_vq *vq = &f->vq[q];
	uint16_t idx = le16toh(__atomic_load_n(&vq->used->idx,
					       __ATOMIC_ACQUIRE));
	struct vring_used_elem *e;
	uint32_t id, len;
	uint16_t d, n;

	if ((uint16_t)(idx - vq->last_used) > vq->num) {
		vuf_log(f, "used ring %u: index %u is %u ahead of %u", q, idx,
			(uint16_t)(idx - vq->last_used), vq->last_used);
		return -EPROTO;
	}
	while (vq->last_used != idx) {
		e = &vq->used->ring[vq->last_used % vq->num];
		id = le32toh(e->id);
		len = le32toh(e->len);
		if (id >= vq->num || !vq->chain[id]) {
			vuf_log(f, "used ring %u: id %u is not in flight", q, id);
			return -EPROTO;
		}
		vq->last_used++;
		/* Back on the free list, in chain order. */
		n = vq->chain[id];
		d = (uint16_t)id;
		while (--n)
			d = vq->next[d];
		vq->next[d] = vq->free_head;
		vq->free_head = (uint16_t)id;
		vq->nfree += vq->chain[id];
		vq->chain[id] = 0;
		vq->done[id] = true;
		vq->done_len[id] = len;
		if (!--vq->inflight)
			vq->arena_used = 0;
	}
	return 0;
}

/*
 * Wait for the used entry of head: poll the call eventfd, and the used
 * ring every few ms in case a call is missed (a test reports it either
 * way: a hang would hide which).  *len: bytes the device says it wrote.
 */
int vuf_vq_wait(struct vuf *f, unsigned int q, unsigned int head,
		uint32_t *len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd;
	struct vuf_vq *vq;
	uint64_t v;
	int r, slice;

	if (q >= f->nq || head >= f->vq[q].num) {
		vuf_log(f, "vq wait: queue %u of %u, head %u", q, f->nq, head);
		return -EINVAL;
	}
	vq = &f->vq[q];
	if (!vq->chain[head] && !vq->done[head]) {
		vuf_log(f, "vq wait: queue %u head %u is not in flight", q, head);
		return -EINVAL;
	}
	pfd.fd = vq->call;
	pfd.events = POLLIN;
	for (;;) {
		r = vq_reap(f, q);
		if (r)
			return r;
		if (vq->done[head]) {
			vq->done[head] = false;
			if (len)
				*len = vq->done_len[head];
			return 0;
		}
		slice = left_ms(deadline);
		if (!slice)
			break;
		if (slice > VUF_POLL_SLICE_MS)
			slice = VUF_POLL_SLICE_MS;
		if (poll(&pfd, 1, slice) > 0 &&
		    read(vq->call, &v, sizeof(v)) < 0 && errno != EAGAIN) {
			r = -errno;
			vuf_log(f, "vq wait: queue %u call fd: %s", q,
				strerror(-r));
			return r;
		}
	}
	vuf_log(f, "vq wait: queue %u head %u not used after %d ms (avail %u, used %u)",
		q, head, timeout_ms, vq->avail_idx,
		le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE)));
	return -ETIMEDOUT;
}

int vuf_vq_run(struct vuf *f, unsigned int q, const struct vuf_seg *segs,
	       unsigned int n, uint32_t *len)
{
	int head = vuf_vq_add(f, q, segs, n);
	int r;

	if (head < 0)
		return head;
	r = vuf_vq_kick(f, q);
	if (r)
		return r;
	return vuf_vq_wait(f, q, (unsigned int)head, len, f->cfg.timeout_ms);
}

uint16_t vuf_vq_avail_idx(const struct vuf *f, unsigned int q)
{
	return q < f->nq ? f->vq[q].avail_idx : 0;
}

/* What the last GET_VRING_BASE (vuf_stop) answered, -1 if none since. */
int vuf_vq_base(const struct vuf *f, unsigned int q)
{
	return q < f->nq ? f->vq[q].base : -1;
}

/* ---- life cycle --------------------------------------------------------- */

void vuf_config_init(struct vuf_config *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path;
	cfg->connect_ms = VUF_TIMEOUT_MS;
	cfg->timeout_ms = VUF_TIMEOUT_MS;
	cfg->features = VUF_FEATURES_DEFAULT;
	cfg->protocol_features = VUF_PROTO_DEFAULT;
	cfg->mem_size = 4UL << 20;
	cfg->num_queues = 1;
	cfg->queue_size = 128;
}

void vuf_set_quiet(struct vuf *f, bool quiet)
{
	f->cfg.quiet = quiet;
}

/*
 * Guest memory, eventfds and the ring layout; no connection yet.  Rings
 * first (one block per queue), the rest split into per-queue arenas.
 */
int vuf_new(const struct vuf_config *cfg, struct vuf **out)
{
	uint64_t aoff, uoff, block, rings, arena;
	struct vuf *f;
	unsigned int i;
	int r;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		vuf_log(NULL, "new: out of memory");
		return -ENOMEM;
	}
	f->cfg = *cfg;
	f->sock = -1;
	f->be_sock = -1;
	f->memfd = -1;
	for (i = 0; i < VUF_MAX_QUEUES; i++) {
		f->vq[i].kick = -1;
		f->vq[i].call = -1;
	}

	if (!cfg->path || strlen(cfg->path) >= sizeof(f->path)) {
		vuf_log(f, "new: socket path missing or over %zu bytes",
			sizeof(f->path) - 1);
		r = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(f->path, cfg->path);
	f->cfg.path = f->path;
	if (!cfg->num_queues || cfg->num_queues > VUF_MAX_QUEUES ||
	    cfg->queue_size < 2 || cfg->queue_size > VUF_MAX_QUEUE_SIZE ||
	    (cfg->queue_size & (cfg->queue_size - 1)) ||
	    cfg->mem_size % VUF_PAGE || cfg->config_size > VU_CONFIG_MAX) {
		vuf_log(f, "new: bad config (%u queues of %u, %zu bytes of memory, config %u)",
			cfg->num_queues, cfg->queue_size, cfg->mem_size,
			cfg->config_size);
		r = -EINVAL;
		goto fail;
	}
	f->nq = cfg->num_queues;
	block = ring_block(cfg->queue_size, &aoff, &uoff);
	rings = block * f->nq;
	arena = cfg->mem_size > rings ?
		((cfg->mem_size - rings) / f->nq) & ~(VUF_PAGE - 1) : 0;
	if (arena < VUF_PAGE) {
		vuf_log(f, "new: %zu bytes of memory leave no room for buffers",
			cfg->mem_size);
		r = -EINVAL;
		goto fail;
	}

	f->memfd = memfd_create("vuf-guest", MFD_CLOEXEC);
	if (f->memfd < 0 || ftruncate(f->memfd, (off_t)cfg->mem_size)) {
		r = -errno;
		vuf_log(f, "new: guest memory memfd: %s", strerror(-r));
		goto fail;
	}
	f->mem = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->memfd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		r = -errno;
		vuf_log(f, "new: mmap guest memory: %s", strerror(-r));
		goto fail;
	}
	f->mem_size = cfg->mem_size;

	for (i = 0; i < f->nq; i++) {
		struct vuf_vq *vq = &f->vq[i];

		vq->num = cfg->queue_size;
		vq->desc_gpa = block * i;
		vq->avail_gpa = vq->desc_gpa + aoff;
		vq->used_gpa = vq->desc_gpa + uoff;
		vq->arena = rings + arena * i;
		vq->arena_size = arena;
		/* Nonblocking: a wait drains the call counter with read(). */
		vq->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vq->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick < 0 || vq->call < 0) {
			r = -errno;
			vuf_log(f, "new: eventfd: %s", strerror(-r));
			goto fail;
		}
		vq_init(f, vq);
	}
	*out = f;
	return 0;
fail:
	vuf_free(f);
	return r;
}

/*
 * Connect, retrying while the socket does not exist yet or nobody listens
 * (a backend or helper that is still starting), for cfg.connect_ms.
 */
int vuf_connect(struct vuf *f)
{
	int64_t deadline = now_ms() + f->cfg.connect_ms;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (f->sock >= 0) {
		vuf_log(f, "connect %s: already connected", f->path);
		return -EISCONN;
	}
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			vuf_log(f, "connect %s: socket: %s", f->path, strerror(e));
			return -e;
		}
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED && e != EINTR) ||
		    now_ms() >= deadline) {
			vuf_log(f, "connect %s: %s (after %d ms)", f->path,
				strerror(e), f->cfg.connect_ms);
			return -e;
		}
		usleep(10 * 1000);
	}
	f->sock = fd;
	return 0;
}

/*
 * QEMU 7.2's order (vhost_user_backend_init, then vhost_dev_init):
 * GET_FEATURES, GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 * GET_QUEUE_NUM, GET_MAX_MEM_SLOTS, SET_BACKEND_REQ_FD, SET_OWNER; then
 * the device's GET_CONFIG.  SET_FEATURES waits for vuf_start() unless
 * early_set_features.
 */
int vuf_handshake(struct vuf *f)
{
	uint64_t v, want_pf;
	int sv[2];
	int r;

	f->ctx.proto = 0;
	f->ctx.postcopy = false;
	f->queue_num = 0;
	f->config_len = 0;
	r = get_u64(f, VHOST_USER_GET_FEATURES, &f->offered);
	if (r)
		return r;
	f->acked = f->offered & f->cfg.features;
	if (f->cfg.early_set_features) {
		r = set_u64(f, VHOST_USER_SET_FEATURES, 0, f->acked);
		if (r)
			return r;
	}

	f->pf_offered = 0;
	if (has_f(f, VHOST_USER_F_PROTOCOL_FEATURES)) {
		r = get_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES, &f->pf_offered);
		if (r)
			return r;
		want_pf = f->pf_offered & f->cfg.protocol_features;
		r = set_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, want_pf);
		if (r)
			return r;
		/* From here on the acked set governs the framing. */
		f->ctx.proto = want_pf;
	}

	if (has_pf(f, VHOST_USER_PROTOCOL_F_MQ)) {
		r = get_u64(f, VHOST_USER_GET_QUEUE_NUM, &v);
		if (r)
			return r;
		f->queue_num = v > 0xffff ? 0xffff : (unsigned int)v;
	}
	if (f->nq > 1 && f->nq > f->queue_num) {
		vuf_log(f, "GET_QUEUE_NUM: backend has %u queues, %u wanted%s",
			f->queue_num, f->nq,
			has_pf(f, VHOST_USER_PROTOCOL_F_MQ) ? "" :
			" (PROTOCOL_F_MQ not negotiated)");
		return -EINVAL;
	}
	if (has_pf(f, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		r = get_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS, &v);
		if (r)
			return r;
	}

	close_fd(&f->be_sock);
	if (has_pf(f, VHOST_USER_PROTOCOL_F_BACKEND_REQ)) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			r = -errno;
			vuf_log(f, "SET_BACKEND_REQ_FD: socketpair: %s",
				strerror(-r));
			return r;
		}
		/* QEMU asks for an ack here: the channel must exist before
		 * the backend can need it.
		 */
		r = vuf_request(f, VHOST_USER_SET_BACKEND_REQ_FD, VUF_RQ_ACK,
				NULL, 0, &sv[1], 1, NULL, 0, NULL);
		close(sv[1]);
		if (r) {
			close(sv[0]);
			return r;
		}
		f->be_sock = sv[0];
	}

	r = vuf_set_owner(f);
	if (r)
		return r;

	if (f->cfg.config_size && has_pf(f, VHOST_USER_PROTOCOL_F_CONFIG)) {
		r = vuf_get_config(f, 0, f->config, f->cfg.config_size);
		if (r)
			return r;
		f->config_len = f->cfg.config_size;
	}
	return 0;
}

/*
 * What QEMU's vhost_dev_start does: SET_FEATURES, SET_MEM_TABLE, per
 * queue NUM, BASE, ADDR, KICK, CALL, then ENABLE (only when
 * PROTOCOL_FEATURES is acked; without it a ring runs once it has a kick
 * fd), then the status.  fresh: new rings and base 0; otherwise the rings
 * go on from the base GET_VRING_BASE returned.
 */
static int start(struct vuf *f, bool fresh)
{
	uint8_t mt[8 + VU_MEM_REGION_SIZE] = { 0 };
	uint8_t addr[40];
	unsigned int i;
	int r;

	r = set_u64(f, VHOST_USER_SET_FEATURES, 0, f->acked);
	if (r)
		return r;

	/* u32 nregions, u32 padding, then gpa, size, uaddr, mmap_offset. */
	put_le32(mt, 1);
	vu_u64_encode(0, mt + 8);
	vu_u64_encode(f->mem_size, mt + 16);
	vu_u64_encode(uaddr(f, 0), mt + 24);
	vu_u64_encode(0, mt + 32);
	r = vuf_request(f, VHOST_USER_SET_MEM_TABLE, VUF_RQ_ACK, mt, sizeof(mt),
			&f->memfd, 1, NULL, 0, NULL);
	if (r)
		return r;

	for (i = 0; i < f->nq; i++) {
		struct vuf_vq *vq = &f->vq[i];
		uint16_t base;

		/* Resuming: the backend continues at base; whatever it had
		 * not made used by then is lost to it, as in QEMU.  Without
		 * a base (never stopped, or reset since) there is nothing
		 * to resume: fresh rings.
		 */
		if (fresh || vq->base < 0) {
			vq_init(f, vq);
			base = 0;
		} else {
			base = (uint16_t)vq->base;
		}
		r = set_state(f, VHOST_USER_SET_VRING_NUM, i, vq->num, 0);
		if (r)
			return r;
		r = set_state(f, VHOST_USER_SET_VRING_BASE, i, base, 0);
		if (r)
			return r;
		/* index, flags, desc, used, avail, log (userspace addrs). */
		put_le32(addr, i);
		put_le32(addr + 4, 0);
		vu_u64_encode(uaddr(f, vq->desc_gpa), addr + 8);
		vu_u64_encode(uaddr(f, vq->used_gpa), addr + 16);
		vu_u64_encode(uaddr(f, vq->avail_gpa), addr + 24);
		vu_u64_encode(0, addr + 32);
		r = vuf_request(f, VHOST_USER_SET_VRING_ADDR, 0, addr,
				sizeof(addr), NULL, 0, NULL, 0, NULL);
		if (r)
			return r;
		r = set_vring_fd(f, VHOST_USER_SET_VRING_KICK, i, vq->kick);
		if (r)
			return r;
		r = set_vring_fd(f, VHOST_USER_SET_VRING_CALL, i, vq->call);
		if (r)
			return r;
		vq->started = true;
		vq->base = -1;
	}
	if (has_f(f, VHOST_USER_F_PROTOCOL_FEATURES)) {
		for (i = 0; i < f->nq; i++) {
			r = set_state(f, VHOST_USER_SET_VRING_ENABLE, i, 1,
				      i + 1 == f->nq ? VUF_RQ_ACK : 0);
			if (r)
				return r;
		}
	}
	if (has_pf(f, VHOST_USER_PROTOCOL_F_STATUS)) {
		r = vuf_set_status(f, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				   VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK |
				   VIRTIO_CONFIG_S_DRIVER_OK);
		if (r)
			return r;
	}
	/*
	 * The rings are kicked through eventfds, not the socket: make sure
	 * the backend has read everything above before the first kick.
	 * With REPLY_ACK the acked ENABLE did it (or everything was acked);
	 * without, a GET_FEATURES round trip (QEMU 8 uses the same barrier).
	 */
	if (!has_pf(f, VHOST_USER_PROTOCOL_F_REPLY_ACK) ||
	    !has_f(f, VHOST_USER_F_PROTOCOL_FEATURES)) {
		uint64_t v;

		r = get_u64(f, VHOST_USER_GET_FEATURES, &v);
		if (r)
			return r;
	}
	return 0;
}

int vuf_start(struct vuf *f)
{
	return start(f, true);
}

/* After vuf_stop(): the rings go on where the backend left them. */
int vuf_resume(struct vuf *f)
{
	return start(f, false);
}

/*
 * GET_VRING_BASE on each started ring (the backend stops it and says
 * where it was), then status 0 if STATUS is negotiated, as QEMU 7.2 does.
 */
int vuf_stop(struct vuf *f)
{
	uint8_t b[8], rb[8];
	unsigned int i;
	size_t n;
	int r;

	for (i = 0; i < f->nq; i++) {
		struct vuf_vq *vq = &f->vq[i];

		if (!vq->started)
			continue;
		put_le32(b, i);
		put_le32(b + 4, 0);
		r = vuf_request(f, VHOST_USER_GET_VRING_BASE, 0, b, sizeof(b),
				NULL, 0, rb, sizeof(rb), &n);
		if (r)
			return r;
		if (n != 8 || get_le32(rb) != i || get_le32(rb + 4) > 0xffff) {
			vuf_log(f, "GET_VRING_BASE: queue %u answered queue %u base %u",
				i, get_le32(rb), get_le32(rb + 4));
			return -EPROTO;
		}
		vq->started = false;
		vq->base = (int)get_le32(rb + 4);
		/* What was used before the stop still counts. */
		r = vq_reap(f, i);
		if (r)
			return r;
	}
	if (has_pf(f, VHOST_USER_PROTOCOL_F_STATUS))
		return vuf_set_status(f, 0);
	return 0;
}

/*
 * Close both channels, as a VMM that goes away does: the memory, the
 * rings' content and the eventfds stay, for vuf_connect() again.
 */
void vuf_disconnect(struct vuf *f)
{
	close_fd(&f->sock);
	close_fd(&f->be_sock);
	rings_reset(f);
}

void vuf_free(struct vuf *f)
{
	unsigned int i;

	if (!f)
		return;
	close_fd(&f->sock);
	close_fd(&f->be_sock);
	for (i = 0; i < VUF_MAX_QUEUES; i++) {
		close_fd(&f->vq[i].kick);
		close_fd(&f->vq[i].call);
	}
	if (f->mem)
		munmap(f->mem, f->mem_size);
	close_fd(&f->memfd);
	free(f);
}

/* new + connect + handshake + start; *out is NULL on failure. */
int vuf_open(const struct vuf_config *cfg, struct vuf **out)
{
	struct vuf *f;
	int r;

	r = vuf_new(cfg, &f);
	if (r)
		return r;
	r = vuf_connect(f);
	if (!r)
		r = vuf_handshake(f);
	if (!r)
		r = vuf_start(f);
	if (r) {
		vuf_free(f);
		return r;
	}
	*out = f;
	return 0;
}

/* Everything goes, nothing is sent: the backend sees the socket close. */
void vuf_close(struct vuf *f)
{
	vuf_free(f);
}

/* A VMM whose backend went away and came back: all of it again. */
int vuf_reconnect(struct vuf *f)
{
	int r;

	vuf_disconnect(f);
	r = vuf_connect(f);
	if (!r)
		r = vuf_handshake(f);
	if (!r)
		r = vuf_start(f);
	return r;
}

uint64_t vuf_features_offered(const struct vuf *f)
{
	return f->offered;
}

uint64_t vuf_features(const struct vuf *f)
{
	return f->acked;
}

uint64_t vuf_protocol_offered(const struct vuf *f)
{
	return f->pf_offered;
}

uint64_t vuf_protocol(const struct vuf *f)
{
	return f->ctx.proto;
}

unsigned int vuf_queue_num(const struct vuf *f)
{
	return f->queue_num;
}

unsigned int vuf_num_queues(const struct vuf *f)
{
	return f->nq;
}

const void *vuf_config_space(const struct vuf *f, size_t *len)
{
	*len = f->config_len;
	return f->config;
}

/* ---- virtio-blk --------------------------------------------------------- */

/* From the config read at handshake (little-endian: VERSION_1 or x86). */
int vuf_blk_capacity(const struct vuf *f, uint64_t *sectors)
{
	uint64_t v;

	if (f->config_len < sizeof(v)) {
		vuf_log(f, "blk capacity: no config space (CONFIG not acked, or config_size 0)");
		return -ENODATA;
	}
	memcpy(&v, f->config, sizeof(v));
	*sectors = le64toh(v);
	return 0;
}

/*
 * One virtio-blk request: the 16-byte header, the data in segments of at
 * most seg bytes (0: one segment), each its own buffer with a gap after
 * it, and the status byte.  buf is written out first (OUT) or filled in
 * after (IN, GET_ID).  Returns the status byte the device wrote.
 */
int vuf_blk_req(struct vuf *f, unsigned int q, uint32_t type,
		uint64_t sector, void *buf, size_t len, size_t seg)
{
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct virtio_blk_outhdr *hdr;
	struct vuf_seg *segs;
	unsigned int n, i;
	uint64_t hgpa, sgpa;
	uint8_t *status;
	size_t off, l;
	uint32_t used;
	int r;

	if (q >= f->nq) {
		vuf_log(f, "blk: queue %u of %u", q, f->nq);
		return -EINVAL;
	}
	if (!seg || seg > len)
		seg = len ? len : 1;
	n = (unsigned int)((len + seg - 1) / seg) + 2;
	if (n > f->vq[q].num) {
		vuf_log(f, "blk: %u descriptors for %zu bytes in %zu-byte segments, ring of %u",
			n, len, seg, f->vq[q].num);
		return -E2BIG;
	}
	segs = calloc(n, sizeof(*segs));
	if (!segs) {
		vuf_log(f, "blk: out of memory");
		return -ENOMEM;
	}
	if (f->vq[q].inflight) {
		/* The arena rewinds only when the queue is idle. */
		vuf_log(f, "blk: queue %u has requests in flight", q);
		r = -EBUSY;
		goto out;
	}
	/* Whatever a failed request before this one took is free again. */
	f->vq[q].arena_used = 0;
	hgpa = vuf_mem_alloc(f, q, sizeof(*hdr) + VUF_SEG_GAP, 16);
	if (!hgpa) {
		r = -ENOMEM;
		goto out;
	}
	hdr = vuf_mem(f, hgpa, sizeof(*hdr));
	hdr->type = htole32(type);
	hdr->ioprio = 0;
	hdr->sector = htole64(sector);
	segs[0] = (struct vuf_seg){ .gpa = hgpa, .len = sizeof(*hdr) };
	for (i = 1, off = 0; off < len; i++, off += l) {
		l = len - off < seg ? len - off : seg;
		sgpa = vuf_mem_alloc(f, q, l + VUF_SEG_GAP, 64);
		if (!sgpa) {
			r = -ENOMEM;
			goto out;
		}
		if (!in)
			memcpy(vuf_mem(f, sgpa, l), (uint8_t *)buf + off, l);
		else
			memset(vuf_mem(f, sgpa, l), 0xa5, l);
		segs[i] = (struct vuf_seg){ .gpa = sgpa, .len = (uint32_t)l,
					    .write = in };
	}
	n = i + 1;
	sgpa = vuf_mem_alloc(f, q, 1, 1);
	if (!sgpa) {
		r = -ENOMEM;
		goto out;
	}
	status = vuf_mem(f, sgpa, 1);
	/* Not a status a device writes: shows one that wrote none. */
	*status = 0xff;
	segs[n - 1] = (struct vuf_seg){ .gpa = sgpa, .len = 1, .write = true };

	r = vuf_vq_run(f, q, segs, n, &used);
	if (r)
		goto out;
	r = __atomic_load_n(status, __ATOMIC_ACQUIRE);
	if (r == 0xff) {
		vuf_log(f, "blk: type %u sector %llu: no status written (used len %u)",
			type, (unsigned long long)sector, used);
		r = -EIO;
		goto out;
	}
	if (in && r == VIRTIO_BLK_S_OK) {
		for (i = 1, off = 0; off < len; i++, off += l) {
			l = segs[i].len;
			memcpy((uint8_t *)buf + off, vuf_mem(f, segs[i].gpa, l), l);
		}
	}
out:
	free(segs);
	return r;
}

int vuf_blk_rw(struct vuf *f, unsigned int q, uint64_t sector, void *buf,
	       size_t len, bool write)
{
	return vuf_blk_req(f, q, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			   sector, buf, len, 0);
}
