/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test frontend: a small VMM for the tests of vushm-helper.  It does
 * for one vhost-user device what QEMU does (feature negotiation, guest
 * memory in a memfd, split virtqueues, kick and call eventfds, the backend
 * channel), with blocking calls and timeouts, so that a test can drive a
 * real backend directly or through the helper and compare.  On top of the
 * transport: virtio-blk requests.  Underneath: raw messages, for tests that
 * feed the helper malformed input.
 *
 * Every call that can fail returns a negative errno and logs exactly one
 * line to stderr ("vuf: REQUEST: what was wrong") unless the config says
 * quiet.  Nothing here is thread-safe: one thread per struct vuf.
 *
 * Guest memory is one region at guest physical address 0 whose userspace
 * address, in SET_MEM_TABLE and SET_VRING_ADDR, is this process's mapping
 * of it (as QEMU does: the backend translates both kinds through the
 * table).  Layout: one ring block per queue (descriptor table, avail ring,
 * used ring on its own page), then one data arena per queue for the
 * buffers of requests.
 */
#ifndef VUSHM_PEERS_FRONTEND_H
#define VUSHM_PEERS_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define VUF_MAX_QUEUES		8
#define VUF_MAX_QUEUE_SIZE	1024
#define VUF_TIMEOUT_MS		5000

/* Virtio transport feature bits the frontend drives (virtio spec 6). */
#define VUF_F_ANY_LAYOUT	27
#define VUF_F_INDIRECT_DESC	28
#define VUF_F_EVENT_IDX		29
#define VUF_F_VERSION_1		32

#define VUF_BIT(b)		(1ULL << (b))
/*
 * Default virtio features wanted: every device-specific bit (0-23; none of
 * virtio-blk's changes the ring layout) and the transport bits above.
 * Never PACKED, ACCESS_PLATFORM, NOTIFICATION_DATA or LOG_ALL: they change
 * what the rings or the messages look like and this frontend does not
 * implement them.
 */
#define VUF_FEATURES_DEFAULT						\
	((VUF_BIT(24) - 1) | VUF_BIT(VUF_F_ANY_LAYOUT) |		\
	 VUF_BIT(VUF_F_INDIRECT_DESC) | VUF_BIT(VUF_F_EVENT_IDX) |	\
	 VUF_BIT(VHOST_USER_F_PROTOCOL_FEATURES) | VUF_BIT(VUF_F_VERSION_1))

/*
 * Default protocol features wanted: what QEMU's vhost-user-blk negotiates
 * minus what needs machinery a test does not have (dirty log, inflight
 * shared memory, host notifiers, ADD/REM_MEM_REG).  SHMEM is never wanted:
 * the helper hides it from the VMM.
 */
#define VUF_PROTO_DEFAULT						\
	(VU_PF(VHOST_USER_PROTOCOL_F_MQ) |				\
	 VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK) |			\
	 VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_REQ) |			\
	 VU_PF(VHOST_USER_PROTOCOL_F_CONFIG) |				\
	 VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |		\
	 VU_PF(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |			\
	 VU_PF(VHOST_USER_PROTOCOL_F_STATUS))

struct vuf_config {
	const char *path;	/* the backend's (or helper's) unix socket */
	int connect_ms;		/* retry while absent or refusing */
	int timeout_ms;		/* per reply, per used-ring wait */
	uint64_t features;	/* wanted; acked = wanted & offered */
	uint64_t protocol_features;	/* wanted; acked = wanted & offered */
	/* NEED_REPLY (REPLY_ACK negotiated) on every request that has no
	 * reply of its own, so that a failure shows at the message that
	 * caused it; QEMU sets it on SET_MEM_TABLE and a few others only.
	 */
	bool need_reply_all;
	/* SET_FEATURES right after GET_FEATURES, as well as at start
	 * (QEMU sends it at start only).
	 */
	bool early_set_features;
	size_t mem_size;	/* guest memory bytes, multiple of the page */
	unsigned int num_queues;
	unsigned int queue_size;	/* ring entries, power of 2 */
	uint32_t config_size;	/* GET_CONFIG bytes at handshake; 0: none */
	bool quiet;		/* no log lines: failures are expected */
};

/* One message as received, raw: the test owns fds[] and must close them. */
struct vuf_msg {
	uint8_t raw_hdr[VU_HDR_SIZE];
	struct vu_hdr hdr;
	uint8_t payload[VU_MAX_PAYLOAD];
	size_t len;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

/* One descriptor of a chain: guest physical address, device-writable? */
struct vuf_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct vuf;

/* ---- life cycle --------------------------------------------------------- */

/* Defaults: 1 queue of 128, 4 MiB, 5 s timeouts, *_DEFAULT features. */
void vuf_config_init(struct vuf_config *cfg, const char *path);
/* Guest memory (memfd), eventfds, ring layout; no connection yet. */
int vuf_new(const struct vuf_config *cfg, struct vuf **out);
/* Connect to cfg.path, retrying for cfg.connect_ms while absent/refused. */
int vuf_connect(struct vuf *f);
/* GET_FEATURES .. SET_OWNER, SET_BACKEND_REQ_FD, GET_CONFIG (QEMU's order). */
int vuf_handshake(struct vuf *f);
/* SET_FEATURES, SET_MEM_TABLE, fresh rings, ENABLE, status; synced. */
int vuf_start(struct vuf *f);
/* GET_VRING_BASE on every started ring (vuf_vq_base() has the answers). */
int vuf_stop(struct vuf *f);
/* As vuf_start, but the rings go on from where vuf_stop left them. */
int vuf_resume(struct vuf *f);
/* Close both channels; memory and eventfds stay for a new connection. */
void vuf_disconnect(struct vuf *f);
/* Release everything (NULL is fine); sends nothing. */
void vuf_free(struct vuf *f);
/* new + connect + handshake + start; *out NULL on failure. */
int vuf_open(const struct vuf_config *cfg, struct vuf **out);
/* Same as vuf_free: the backend sees the socket close. */
void vuf_close(struct vuf *f);
/* disconnect + connect + handshake + start, same memory. */
int vuf_reconnect(struct vuf *f);

/* ---- what was negotiated ------------------------------------------------ */

uint64_t vuf_features_offered(const struct vuf *f);	/* GET_FEATURES */
uint64_t vuf_features(const struct vuf *f);		/* acked */
uint64_t vuf_protocol_offered(const struct vuf *f);	/* GET_PROTOCOL_F.. */
uint64_t vuf_protocol(const struct vuf *f);		/* acked */
unsigned int vuf_queue_num(const struct vuf *f);	/* GET_QUEUE_NUM, 0 */
unsigned int vuf_num_queues(const struct vuf *f);	/* set up */
/* The config space read at handshake (*len 0 if none). */
const void *vuf_config_space(const struct vuf *f, size_t *len);
/* Silence (or not) the log line of failures a test provokes. */
void vuf_set_quiet(struct vuf *f, bool quiet);

/* ---- requests ----------------------------------------------------------- */

#define VUF_RQ_ACK	(1u << 0)	/* NEED_REPLY if REPLY_ACK negotiated */

/*
 * Any front-end request, answered as the protocol library says: nothing,
 * a REPLY_ACK (non-zero: -EIO), or the reply message, validated, copied
 * to reply (cap bytes; *reply_len its size).  Fds are sent, not closed.
 */
int vuf_request(struct vuf *f, uint32_t request, unsigned int rq_flags,
		const void *payload, size_t len, const int *fds,
		unsigned int nfds, void *reply, size_t cap, size_t *reply_len);
/* As vuf_request, but the reply message is kept whole in *reply (its
 * header and payload validated, the request checked; the caller owns and
 * closes reply->fds).  Nothing in *reply if the request has no reply.
 */
int vuf_request_msg(struct vuf *f, uint32_t request, unsigned int rq_flags,
		    const void *payload, size_t len, const int *fds,
		    unsigned int nfds, struct vuf_msg *reply);
/* SET_PROTOCOL_FEATURES again (a VMM may repeat it); acked := pf. */
int vuf_set_protocol(struct vuf *f, uint64_t pf);
/* SET_BACKEND_REQ_FD (acked when REPLY_ACK is on), a new backend channel. */
int vuf_set_backend_req_fd(struct vuf *f);
int vuf_set_owner(struct vuf *f);
/* Both forget the rings (vuf_start again); RESET_DEVICE needs its bit. */
int vuf_reset_owner(struct vuf *f);
int vuf_reset_device(struct vuf *f);
int vuf_set_status(struct vuf *f, uint8_t status);
int vuf_get_status(struct vuf *f, uint8_t *status);
/* GET_CONFIG of len bytes at offset; an empty answer is -EIO. */
int vuf_get_config(struct vuf *f, uint32_t offset, void *buf, uint32_t len);

/* ---- raw front-end channel ---------------------------------------------- */

int vuf_sock(const struct vuf *f);
/* Bytes as given (no framing added), fds on the first byte. */
int vuf_send_raw(struct vuf *f, const void *buf, size_t len, const int *fds,
		 unsigned int nfds);
/* A header with exactly these fields, then the payload. */
int vuf_send_msg(struct vuf *f, uint32_t request, uint32_t flags,
		 const void *payload, size_t len, const int *fds,
		 unsigned int nfds);
/* One message, framed, not validated; -ETIMEDOUT, -ECONNRESET (closed). */
int vuf_recv_msg(struct vuf *f, struct vuf_msg *m, int timeout_ms);
void vuf_msg_close_fds(struct vuf_msg *m);
/* 0 once the peer closed (data before it dropped), else -ETIMEDOUT. */
int vuf_wait_closed(struct vuf *f, int timeout_ms);

/* ---- backend channel ---------------------------------------------------- */

/* Our end of the SET_BACKEND_REQ_FD socketpair, -1 if none. */
int vuf_backend_sock(const struct vuf *f);
/* One backend request, validated; the test owns m->fds. */
int vuf_backend_req_recv(struct vuf *f, struct vuf_msg *m, int timeout_ms);
/* The u64 answer if the request expects one; else sends nothing. */
int vuf_backend_req_reply(struct vuf *f, const struct vuf_msg *req,
			  uint64_t result);
/* The same with fds (SHARED_OBJECT_LOOKUP's answer carries one). */
int vuf_backend_req_reply_fds(struct vuf *f, const struct vuf_msg *req,
			      uint64_t result, const int *fds,
			      unsigned int nfds);

/* ---- guest memory and virtqueues ---------------------------------------- */

int vuf_mem_fd(const struct vuf *f);
/* The test's pointer to [gpa, gpa + len), NULL outside guest memory. */
void *vuf_mem(struct vuf *f, uint64_t gpa, size_t len);
/* Buffer space in queue q's arena (rewinds when q is idle); 0 if full. */
uint64_t vuf_mem_alloc(struct vuf *f, unsigned int q, size_t len,
		       size_t align);
/* Publish a chain (not kicked); returns its head id. */
int vuf_vq_add(struct vuf *f, unsigned int q, const struct vuf_seg *segs,
	       unsigned int n);
int vuf_vq_kick(struct vuf *f, unsigned int q);
/* Wait for head's used entry (call fd and ring polled); *len: used len. */
int vuf_vq_wait(struct vuf *f, unsigned int q, unsigned int head,
		uint32_t *len, int timeout_ms);
/* add + kick + wait (cfg.timeout_ms). */
int vuf_vq_run(struct vuf *f, unsigned int q, const struct vuf_seg *segs,
	       unsigned int n, uint32_t *len);
uint16_t vuf_vq_avail_idx(const struct vuf *f, unsigned int q);
/* Last GET_VRING_BASE answer for q, -1 if none since the last start. */
int vuf_vq_base(const struct vuf *f, unsigned int q);

/* ---- virtio-blk --------------------------------------------------------- */

/* Capacity in 512-byte sectors from the handshake's config space. */
int vuf_blk_capacity(const struct vuf *f, uint64_t *sectors);
/*
 * One request of any type: header, len bytes of buf in segments of at
 * most seg bytes (0: one), status.  Returns the status byte (VIRTIO_BLK_S_*)
 * or -errno; IN/GET_ID data lands in buf on S_OK.
 */
int vuf_blk_req(struct vuf *f, unsigned int q, uint32_t type,
		uint64_t sector, void *buf, size_t len, size_t seg);
/* IN or OUT, one data segment. */
int vuf_blk_rw(struct vuf *f, unsigned int q, uint64_t sector, void *buf,
	       size_t len, bool write);

#endif /* VUSHM_PEERS_FRONTEND_H */
