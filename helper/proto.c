// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user framing and validation for vushm-helper.  See proto.h for the
 * model: pure functions over caller-provided bytes, no I/O.
 *
 * The per-request table below is the single place that says how big a
 * message may be, how many fds it carries and whether it is answered.  Sizes
 * are the ones QEMU and rust-vmm vhost put on the wire, which in a few places
 * differ from the spec text (SET_LOG_BASE carries 16 bytes and an fd, not a
 * bare u64); the table follows the wire so that a VMM and a backend that
 * work together directly also work through the helper.
 */
#include <string.h>

#include "proto.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- results ------------------------------------------------------------ */

static const char *const results[VU_RESULT_MAX] = {
	[VU_OK]			= "ok",
	[VU_E_HDR_SHORT]	= "header shorter than 12 bytes",
	[VU_E_VERSION]		= "version bits are not 1",
	[VU_E_FLAGS]		= "reserved flag bits set",
	[VU_E_DIRECTION]	= "REPLY flag wrong for the direction",
	[VU_E_REPLY_FLAGS]	= "NEED_REPLY set on a reply",
	[VU_E_REQUEST]		= "unknown request",
	[VU_E_SIZE_LIMIT]	= "size over the request's limit",
	[VU_E_SIZE]		= "size not allowed for the request",
	[VU_E_TRUNCATED]	= "payload truncated",
	[VU_E_TRAILING]		= "bytes after the payload",
	[VU_E_FDS]		= "wrong fd count",
	[VU_E_MEM_TABLE]	= "malformed memory region",
	[VU_E_CONFIG]		= "config size field does not match the payload",
	[VU_E_VRING_BITS]	= "reserved bits set in the vring index",
	[VU_E_SHMEM_CONFIG]	= "bad shared memory config (nregions or size)",
	[VU_E_MMAP_FLAGS]	= "reserved mmap flag bits set",
	[VU_E_MAP_SHMID]	= "unknown shmid",
	[VU_E_MAP_LEN]		= "zero length",
	[VU_E_MAP_ALIGN]	= "offset or length not page-aligned",
	[VU_E_MAP_OVERFLOW]	= "offset + length overflows",
	[VU_E_MAP_RANGE]	= "range outside the region",
	[VU_E_INVAL]		= "invalid argument",
};

/* Log lines name the reason; never hand printf a NULL, whatever r is. */
const char *vu_strresult(enum vu_result r)
{
	if ((unsigned int)r >= ARRAY_SIZE(results) || !results[r])
		return "unknown result";
	return results[r];
}

/* ---- the table ------------------------------------------------------------ */

#define SPEC(lo, hi, rule, n, k) \
	{ .min = (lo), .max = (hi), .fd_rule = (rule), .nfds = (n), .kind = (k) }
#define SZ(n)		SPEC(n, n, VU_FD_NONE, 0, VU_K_PLAIN)
#define SZ_FD(n, r, f)	SPEC(n, n, r, f, VU_K_PLAIN)
#define ACK		SZ(VU_U64_SIZE)

/* Answered by a REPLY_ACK only (when NEED_REPLY and negotiated). */
#define R(nm, rq)	{ .name = nm, .req = rq, .reply = ACK, .reply_when = VU_R_ACK }
/* Always answered by a reply message. */
#define RR(nm, rq, rp)	{ .name = nm, .req = rq, .reply = rp, .reply_when = VU_R_ALWAYS }

#define MEM_TABLE_MAX	(8 + VU_MEM_MAX_REGIONS * VU_MEM_REGION_SIZE_XEN)
#define MEM_TABLE(rule)	SPEC(8, MEM_TABLE_MAX, rule, 0, VU_K_MEM_TABLE)
#define MEM_REG(r, f)	SPEC(8 + VU_MEM_REGION_SIZE, 8 + VU_MEM_REGION_SIZE_XEN, \
			     r, f, VU_K_MEM_REG)
#define CONFIG(lo)	SPEC(lo, VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX, \
			     VU_FD_NONE, 0, VU_K_CONFIG)
#define VRING_FD	SPEC(8, 8, VU_FD_UNLESS_NOFD, 1, VU_K_VRING_FD)
#define MMAP(r, f)	SPEC(VU_MMAP_SIZE, VU_MMAP_SIZE, r, f, VU_K_MMAP)

/* struct vhost_iotlb_msg (32 with its tail padding), VhostUserShared (a
 * UUID), VhostUserInflight (24), VhostUserVringArea (24), the vring
 * address (40), the vring state (8).
 */
#define IOTLB		32
#define UUID		16
#define INFLIGHT	24

static const struct vu_req_info fe_reqs[VHOST_USER_FE_MAX] = {
	[VHOST_USER_GET_FEATURES] = RR("GET_FEATURES", SZ(0), ACK),
	[VHOST_USER_SET_FEATURES] = R("SET_FEATURES", SZ(8)),
	[VHOST_USER_SET_OWNER] = R("SET_OWNER", SZ(0)),
	[VHOST_USER_RESET_OWNER] = R("RESET_OWNER", SZ(0)),
	[VHOST_USER_SET_MEM_TABLE] = {
		.name = "SET_MEM_TABLE",
		.req = MEM_TABLE(VU_FD_PER_REGION),
		.reply = MEM_TABLE(VU_FD_NONE),
		.reply_when = VU_R_POSTCOPY,
	},
	[VHOST_USER_SET_LOG_BASE] = {
		.name = "SET_LOG_BASE",
		.req = SPEC(8, 16, VU_FD_UPTO, 1, VU_K_PLAIN),
		.reply = ACK,
		.reply_when = VU_R_IF_PROTO,
		.reply_feature = VHOST_USER_PROTOCOL_F_LOG_SHMFD,
	},
	[VHOST_USER_SET_LOG_FD] = R("SET_LOG_FD", SZ_FD(0, VU_FD_EXACT, 1)),
	[VHOST_USER_SET_VRING_NUM] = R("SET_VRING_NUM", SZ(8)),
	[VHOST_USER_SET_VRING_ADDR] = R("SET_VRING_ADDR", SZ(40)),
	[VHOST_USER_SET_VRING_BASE] = R("SET_VRING_BASE", SZ(8)),
	[VHOST_USER_GET_VRING_BASE] = RR("GET_VRING_BASE", SZ(8), SZ(8)),
	[VHOST_USER_SET_VRING_KICK] = R("SET_VRING_KICK", VRING_FD),
	[VHOST_USER_SET_VRING_CALL] = R("SET_VRING_CALL", VRING_FD),
	[VHOST_USER_SET_VRING_ERR] = R("SET_VRING_ERR", VRING_FD),
	[VHOST_USER_GET_PROTOCOL_FEATURES] =
		RR("GET_PROTOCOL_FEATURES", SZ(0), ACK),
	[VHOST_USER_SET_PROTOCOL_FEATURES] =
		R("SET_PROTOCOL_FEATURES", SZ(8)),
	[VHOST_USER_GET_QUEUE_NUM] = RR("GET_QUEUE_NUM", SZ(0), ACK),
	[VHOST_USER_SET_VRING_ENABLE] = R("SET_VRING_ENABLE", SZ(8)),
	[VHOST_USER_SEND_RARP] = R("SEND_RARP", SZ(8)),
	[VHOST_USER_NET_SET_MTU] = R("NET_SET_MTU", SZ(8)),
	[VHOST_USER_SET_BACKEND_REQ_FD] =
		R("SET_BACKEND_REQ_FD", SZ_FD(0, VU_FD_EXACT, 1)),
	[VHOST_USER_IOTLB_MSG] = RR("IOTLB_MSG", SZ(IOTLB), ACK),
	[VHOST_USER_SET_VRING_ENDIAN] = R("SET_VRING_ENDIAN", SZ(8)),
	/* An empty GET_CONFIG reply is the backend's way to say "error". */
	[VHOST_USER_GET_CONFIG] = RR("GET_CONFIG", CONFIG(VU_CONFIG_HDR_SIZE),
				     CONFIG(0)),
	[VHOST_USER_SET_CONFIG] = R("SET_CONFIG", CONFIG(VU_CONFIG_HDR_SIZE)),
	/* VhostUserCryptoSession: u64 op code + a session of varying size. */
	[VHOST_USER_CREATE_CRYPTO_SESSION] =
		RR("CREATE_CRYPTO_SESSION",
		   SPEC(8, VU_MAX_PAYLOAD, VU_FD_NONE, 0, VU_K_PLAIN),
		   SPEC(8, VU_MAX_PAYLOAD, VU_FD_NONE, 0, VU_K_PLAIN)),
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = R("CLOSE_CRYPTO_SESSION", SZ(8)),
	/* The userfaultfd; a backend that could not open one sends none. */
	[VHOST_USER_POSTCOPY_ADVISE] =
		RR("POSTCOPY_ADVISE", SZ(0), SZ_FD(0, VU_FD_UPTO, 1)),
	[VHOST_USER_POSTCOPY_LISTEN] = R("POSTCOPY_LISTEN", SZ(0)),
	[VHOST_USER_POSTCOPY_END] = RR("POSTCOPY_END", SZ(0), ACK),
	/* No fd in the reply when the backend returns mmap_size 0. */
	[VHOST_USER_GET_INFLIGHT_FD] =
		RR("GET_INFLIGHT_FD", SZ(INFLIGHT),
		   SZ_FD(INFLIGHT, VU_FD_UPTO, 1)),
	[VHOST_USER_SET_INFLIGHT_FD] =
		R("SET_INFLIGHT_FD", SZ_FD(INFLIGHT, VU_FD_EXACT, 1)),
	[VHOST_USER_GPU_SET_SOCKET] =
		R("GPU_SET_SOCKET", SZ_FD(0, VU_FD_EXACT, 1)),
	[VHOST_USER_RESET_DEVICE] = R("RESET_DEVICE", SZ(0)),
	[VHOST_USER_VRING_KICK] = R("VRING_KICK", SZ(8)),
	[VHOST_USER_GET_MAX_MEM_SLOTS] = RR("GET_MAX_MEM_SLOTS", SZ(0), ACK),
	[VHOST_USER_ADD_MEM_REG] = {
		.name = "ADD_MEM_REG",
		.req = MEM_REG(VU_FD_EXACT, 1),
		.reply = MEM_REG(VU_FD_NONE, 0),
		.reply_when = VU_R_POSTCOPY,
	},
	/* The spec tolerates one (ignored) fd from old front-ends. */
	[VHOST_USER_REM_MEM_REG] = R("REM_MEM_REG", MEM_REG(VU_FD_UPTO, 1)),
	[VHOST_USER_SET_STATUS] = R("SET_STATUS", SZ(8)),
	[VHOST_USER_GET_STATUS] = RR("GET_STATUS", SZ(0), ACK),
	[VHOST_USER_GET_SHARED_OBJECT] =
		RR("GET_SHARED_OBJECT", SZ(UUID),
		   SPEC(0, 16, VU_FD_UPTO, 1, VU_K_PLAIN)),
	/* Reply: u64 result, bit 8 set when no fd comes back. */
	[VHOST_USER_SET_DEVICE_STATE_FD] =
		RR("SET_DEVICE_STATE_FD", SZ_FD(8, VU_FD_EXACT, 1),
		   SZ_FD(8, VU_FD_UNLESS_NOFD, 1)),
	[VHOST_USER_CHECK_DEVICE_STATE] = RR("CHECK_DEVICE_STATE", SZ(0), ACK),
	[VHOST_USER_GET_SHMEM_CONFIG] =
		RR("GET_SHMEM_CONFIG", SZ(0),
		   SPEC(VU_SHMEM_CONFIG_SIZE, VU_SHMEM_CONFIG_SIZE, VU_FD_NONE,
			0, VU_K_SHMEM_CONFIG)),
};

static const struct vu_req_info be_reqs[VHOST_USER_BE_MAX] = {
	[VHOST_USER_BACKEND_IOTLB_MSG] = R("BACKEND_IOTLB_MSG", SZ(IOTLB)),
	[VHOST_USER_BACKEND_CONFIG_CHANGE_MSG] =
		R("BACKEND_CONFIG_CHANGE_MSG", SZ(0)),
	/* VhostUserVringArea; u64 bit 8 set = unregister, no fd. */
	[VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG] =
		R("BACKEND_VRING_HOST_NOTIFIER_MSG",
		  SZ_FD(24, VU_FD_UNLESS_NOFD, 1)),
	[VHOST_USER_BACKEND_VRING_CALL] = R("BACKEND_VRING_CALL", SZ(8)),
	[VHOST_USER_BACKEND_VRING_ERR] = R("BACKEND_VRING_ERR", SZ(8)),
	[VHOST_USER_BACKEND_SHARED_OBJECT_ADD] =
		R("BACKEND_SHARED_OBJECT_ADD", SZ(UUID)),
	[VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE] =
		R("BACKEND_SHARED_OBJECT_REMOVE", SZ(UUID)),
	/* Reply: u64 result and the dma-buf fd on success. */
	[VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP] =
		RR("BACKEND_SHARED_OBJECT_LOOKUP", SZ(UUID),
		   SZ_FD(8, VU_FD_UPTO, 1)),
	[VHOST_USER_BACKEND_SHMEM_MAP] =
		R("BACKEND_SHMEM_MAP", MMAP(VU_FD_EXACT, 1)),
	[VHOST_USER_BACKEND_SHMEM_UNMAP] =
		R("BACKEND_SHMEM_UNMAP", MMAP(VU_FD_NONE, 0)),
};

/* One lookup for both channels, so an unknown number is never indexed. */
const struct vu_req_info *vu_req_info(bool backend_channel, uint32_t request)
{
	const struct vu_req_info *ri;

	if (backend_channel) {
		if (request >= ARRAY_SIZE(be_reqs))
			return NULL;
		ri = &be_reqs[request];
	} else {
		if (request >= ARRAY_SIZE(fe_reqs))
			return NULL;
		ri = &fe_reqs[request];
	}
	return ri->name ? ri : NULL;
}

/* For log lines about any request number a peer sent, known or not. */
const char *vu_req_name(bool backend_channel, uint32_t request)
{
	const struct vu_req_info *ri = vu_req_info(backend_channel, request);

	return ri ? ri->name : "UNKNOWN";
}

/* ---- header ------------------------------------------------------------------ */

/* Explicit little-endian so that the wire format never depends on the host. */
void vu_hdr_encode(const struct vu_hdr *h, uint8_t buf[VU_HDR_SIZE])
{
	put_le32(buf, h->request);
	put_le32(buf + 4, h->flags);
	put_le32(buf + 8, h->size);
}

/* Raw decode, no judgement: vu_hdr_parse() judges. */
void vu_hdr_decode(const uint8_t buf[VU_HDR_SIZE], struct vu_hdr *h)
{
	h->request = get_le32(buf);
	h->flags = get_le32(buf + 4);
	h->size = get_le32(buf + 8);
}

/* Replies carry exactly VERSION|REPLY: QEMU refuses any other flags on one. */
uint32_t vu_hdr_flags(bool reply, bool need_reply)
{
	return VU_VERSION | (reply ? VU_FLAG_REPLY : 0) |
	       (need_reply && !reply ? VU_FLAG_NEED_REPLY : 0);
}

static bool dir_reply(enum vu_dir dir)
{
	return dir == VU_FE_REPLY || dir == VU_BE_REPLY;
}

static bool dir_backend(enum vu_dir dir)
{
	return dir == VU_BE_REQUEST || dir == VU_BE_REPLY;
}

/* A REPLY_ACK is a u64, whatever the request's own reply looks like. */
static uint32_t spec_max(const struct vu_req_info *ri, bool reply)
{
	if (!reply)
		return ri->req.max;
	if (ri->reply_when != VU_R_ALWAYS && ri->reply.max < VU_U64_SIZE)
		return VU_U64_SIZE;
	return ri->reply.max;
}

/*
 * Judge a header before reading the payload, so that h->size is bounded by
 * the request's own limit (never more than VU_MAX_PAYLOAD) when the caller
 * reads it.  Only the first VU_HDR_SIZE bytes of buf are looked at.
 */
enum vu_result vu_hdr_parse(enum vu_dir dir, const void *buf, size_t len,
			    struct vu_hdr *h)
{
	bool reply = dir_reply(dir);
	const struct vu_req_info *ri;

	if (!buf || !h)
		return VU_E_INVAL;
	if (len < VU_HDR_SIZE)
		return VU_E_HDR_SHORT;
	vu_hdr_decode(buf, h);
	if ((h->flags & VU_FLAG_VERSION_MASK) != VU_VERSION)
		return VU_E_VERSION;
	if (h->flags & VU_FLAG_RESERVED)
		return VU_E_FLAGS;
	if (!!(h->flags & VU_FLAG_REPLY) != reply)
		return VU_E_DIRECTION;
	if (reply && (h->flags & VU_FLAG_NEED_REPLY))
		return VU_E_REPLY_FLAGS;
	ri = vu_req_info(dir_backend(dir), h->request);
	if (!ri)
		return VU_E_REQUEST;
	if (h->size > spec_max(ri, reply))
		return VU_E_SIZE_LIMIT;
	return VU_OK;
}

/* ---- payload rules --------------------------------------------------------------- */

static bool add_overflows(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b;
}

/* A region the backend could not mmap is a malformed message, not a
 * backend problem: catch it where the log can still name the sender.
 */
static bool mem_region_ok(const struct vu_mem_region *r)
{
	return r->size && !add_overflows(r->gpa, r->size) &&
	       !add_overflows(r->uaddr, r->size) &&
	       !add_overflows(r->mmap_offset, r->size);
}

static enum vu_result check_kind(const struct vu_msg_spec *s, const uint8_t *p,
				 size_t len, const struct vu_ctx *ctx,
				 unsigned int *nregions)
{
	bool xen = ctx->proto & VU_PF(VHOST_USER_PROTOCOL_F_XEN_MMAP);
	struct vu_mem_region r;
	struct vu_mmap m;
	enum vu_result ret;

	switch (s->kind) {
	case VU_K_MEM_TABLE:
		return vu_mem_table_check(p, len, xen, nregions);
	case VU_K_MEM_REG:
		if (len != 8 + (xen ? VU_MEM_REGION_SIZE_XEN : VU_MEM_REGION_SIZE))
			return VU_E_SIZE;
		ret = vu_mem_region_decode(p, len, xen, 0, &r);
		if (ret)
			return ret;
		return mem_region_ok(&r) ? VU_OK : VU_E_MEM_TABLE;
	case VU_K_CONFIG:
		if (len == 0)	/* only a reply may be empty: min says so */
			return VU_OK;
		if (len < VU_CONFIG_HDR_SIZE)
			return VU_E_SIZE;
		if (get_le32(p + 4) != len - VU_CONFIG_HDR_SIZE)
			return VU_E_CONFIG;
		return VU_OK;
	case VU_K_VRING_FD:
		if (len != VU_U64_SIZE)
			return VU_E_SIZE;
		if (get_le64(p) & ~(VHOST_USER_VRING_IDX_MASK |
				    VHOST_USER_VRING_NOFD_MASK))
			return VU_E_VRING_BITS;
		return VU_OK;
	case VU_K_SHMEM_CONFIG:
		return vu_shmem_config_decode(p, len, 0, NULL);
	case VU_K_MMAP:
		return vu_mmap_decode(p, len, &m);
	default:
		return VU_OK;
	}
}

static enum vu_result check_spec(const struct vu_msg_spec *s, const uint8_t *p,
				 size_t len, unsigned int nfds,
				 const struct vu_ctx *ctx)
{
	unsigned int lo, nregions = 0;
	enum vu_result ret;

	if (len > s->max)
		return VU_E_SIZE_LIMIT;
	if (len < s->min)
		return VU_E_SIZE;
	ret = check_kind(s, p, len, ctx, &nregions);
	if (ret)
		return ret;

	switch (s->fd_rule) {
	case VU_FD_EXACT:
		lo = s->nfds;
		break;
	case VU_FD_UPTO:
		return nfds <= s->nfds ? VU_OK : VU_E_FDS;
	case VU_FD_UNLESS_NOFD:
		if (len < VU_U64_SIZE)
			return VU_E_SIZE;
		lo = get_le64(p) & VHOST_USER_VRING_NOFD_MASK ? 0 : 1;
		break;
	case VU_FD_PER_REGION:
		lo = nregions;
		break;
	default:
		lo = 0;
		break;
	}
	return nfds == lo ? VU_OK : VU_E_FDS;
}

/*
 * Judge the payload and the fds received with a header that passed
 * vu_hdr_parse() in the same direction.  ctx may be NULL (nothing
 * negotiated yet).  A reply to a request that is not always answered with
 * its own message may be a bare REPLY_ACK u64.
 */
enum vu_result vu_msg_check(enum vu_dir dir, const struct vu_hdr *h,
			    const void *payload, size_t len, unsigned int nfds,
			    const struct vu_ctx *ctx)
{
	static const struct vu_ctx none;
	bool reply = dir_reply(dir);
	const struct vu_req_info *ri;

	if (!h || (len && !payload))
		return VU_E_INVAL;
	ri = vu_req_info(dir_backend(dir), h->request);
	if (!ri)
		return VU_E_REQUEST;
	if (h->size > spec_max(ri, reply))
		return VU_E_SIZE_LIMIT;
	if (len < h->size)
		return VU_E_TRUNCATED;
	if (len > h->size)
		return VU_E_TRAILING;
	if (nfds > VU_MAX_FDS)
		return VU_E_FDS;
	if (!ctx)
		ctx = &none;
	if (reply && ri->reply_when != VU_R_ALWAYS && len == VU_U64_SIZE &&
	    nfds == 0)
		return VU_OK;
	return check_spec(reply ? &ri->reply : &ri->req, payload, len, nfds,
			  ctx);
}

/* Both steps, for callers that already hold the whole message. */
enum vu_result vu_msg_parse(enum vu_dir dir, const void *hdr, size_t hdr_len,
			    const void *payload, size_t len, unsigned int nfds,
			    const struct vu_ctx *ctx, struct vu_hdr *h)
{
	enum vu_result ret = vu_hdr_parse(dir, hdr, hdr_len, h);

	if (ret)
		return ret;
	return vu_msg_check(dir, h, payload, len, nfds, ctx);
}

/*
 * The helper must know which requests it injects or forwards will be
 * answered, to route the answer and to not wait for one that never comes.
 * After POSTCOPY_LISTEN a region-carrying SET_MEM_TABLE/ADD_MEM_REG gets the
 * regions back, but the front-end's 8-byte acknowledgment of that reply
 * (a SET_MEM_TABLE with a u64 0) gets nothing.
 */
enum vu_reply vu_reply_expected(bool backend_channel, const struct vu_hdr *h,
				const struct vu_ctx *ctx)
{
	static const struct vu_ctx none;
	const struct vu_req_info *ri;

	if (!h || (h->flags & VU_FLAG_REPLY))
		return VU_REPLY_NONE;
	ri = vu_req_info(backend_channel, h->request);
	if (!ri)
		return VU_REPLY_NONE;
	if (!ctx)
		ctx = &none;
	switch (ri->reply_when) {
	case VU_R_ALWAYS:
		return VU_REPLY_MSG;
	case VU_R_IF_PROTO:
		if (ctx->proto & VU_PF(ri->reply_feature))
			return VU_REPLY_MSG;
		break;
	case VU_R_POSTCOPY:
		if (ctx->postcopy && h->size > VU_U64_SIZE)
			return VU_REPLY_MSG;
		break;
	default:
		break;
	}
	if ((h->flags & VU_FLAG_NEED_REPLY) &&
	    (ctx->proto & VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK)))
		return VU_REPLY_ACK;
	return VU_REPLY_NONE;
}

/* ---- payload codecs ----------------------------------------------------------------- */

/* Features, acks, vring words: the most common payload, length-checked. */
enum vu_result vu_u64_decode(const void *p, size_t len, uint64_t *v)
{
	if (!p || !v)
		return VU_E_INVAL;
	if (len != VU_U64_SIZE)
		return VU_E_SIZE;
	*v = get_le64(p);
	return VU_OK;
}

void vu_u64_encode(uint64_t v, uint8_t buf[VU_U64_SIZE])
{
	put_le64(buf, v);
}

/*
 * Reserved flag bits are refused here, at the edge, so that they can get a
 * meaning later.  The padding is not looked at: the spec does not say it
 * must be zero and QEMU ignores it.
 */
enum vu_result vu_mmap_decode(const void *p, size_t len, struct vu_mmap *m)
{
	const uint8_t *b = p;

	if (!p || !m)
		return VU_E_INVAL;
	if (len != VU_MMAP_SIZE)
		return VU_E_SIZE;
	m->shmid = b[0];
	m->fd_offset = get_le64(b + 8);
	m->shm_offset = get_le64(b + 16);
	m->len = get_le64(b + 24);
	m->flags = get_le64(b + 32);
	if (m->flags & ~VU_MMAP_F_RW)
		return VU_E_MMAP_FLAGS;
	return VU_OK;
}

/* For the test backend and the tests; the padding goes out as zeros. */
void vu_mmap_encode(const struct vu_mmap *m, uint8_t buf[VU_MMAP_SIZE])
{
	memset(buf, 0, VU_MMAP_SIZE);
	buf[0] = m->shmid;
	put_le64(buf + 8, m->fd_offset);
	put_le64(buf + 16, m->shm_offset);
	put_le64(buf + 24, m->len);
	put_le64(buf + 32, m->flags);
}

/*
 * The spec's rules for SHMEM_MAP (map) and SHMEM_UNMAP (!map) that need no
 * state: a known shmid, a non-empty page-aligned range that does not wrap
 * and lies inside the region.  sizes[] is indexed by shmid, 0 = no region.
 * UNMAP ignores fd_offset, as the spec does.  Overlap with an existing
 * mapping, and "UNMAP must hit one whole mapping", are the kernel's call.
 */
enum vu_result vu_mmap_check(const struct vu_mmap *m, bool map,
			     const uint64_t *sizes, size_t nsizes,
			     uint64_t page_size)
{
	uint64_t mask = page_size - 1;
	uint64_t fd_offset;

	if (!m || (nsizes && !sizes) || !page_size || (page_size & mask))
		return VU_E_INVAL;
	fd_offset = map ? m->fd_offset : 0;
	if (m->flags & ~VU_MMAP_F_RW)
		return VU_E_MMAP_FLAGS;
	if (m->shmid >= nsizes || !sizes[m->shmid])
		return VU_E_MAP_SHMID;
	if (!m->len)
		return VU_E_MAP_LEN;
	if ((m->shm_offset | m->len | fd_offset) & mask)
		return VU_E_MAP_ALIGN;
	if (add_overflows(m->shm_offset, m->len) ||
	    add_overflows(fd_offset, m->len))
		return VU_E_MAP_OVERFLOW;
	if (m->shm_offset + m->len > sizes[m->shmid])
		return VU_E_MAP_RANGE;
	return VU_OK;
}

/*
 * Window sizes come from here, so the spec's promises are checked once:
 * nregions counts the non-zero sizes, and each size is a multiple of
 * page_size (0: not checked, for validation before the page size matters).
 * c may be NULL; on failure its content is unspecified.
 */
enum vu_result vu_shmem_config_decode(const void *p, size_t len,
				      uint64_t page_size,
				      struct vu_shmem_config *c)
{
	const uint8_t *b = p;
	uint32_t n = 0;
	uint64_t s;
	unsigned int i;

	if (!p || (page_size & (page_size - 1)))
		return VU_E_INVAL;
	if (len != VU_SHMEM_CONFIG_SIZE)
		return VU_E_SIZE;
	for (i = 0; i < VU_SHMEM_MAX_REGIONS; i++) {
		s = get_le64(b + 8 + 8 * i);
		if (c)
			c->sizes[i] = s;
		if (!s)
			continue;
		n++;
		if (page_size && (s & (page_size - 1)))
			return VU_E_SHMEM_CONFIG;
	}
	if (get_le32(b) != n)
		return VU_E_SHMEM_CONFIG;
	if (c)
		c->nregions = n;
	return VU_OK;
}

/* nregions is written as given, so tests can build inconsistent ones. */
void vu_shmem_config_encode(const struct vu_shmem_config *c,
			    uint8_t buf[VU_SHMEM_CONFIG_SIZE])
{
	unsigned int i;

	put_le32(buf, c->nregions);
	put_le32(buf + 4, 0);
	for (i = 0; i < VU_SHMEM_MAX_REGIONS; i++)
		put_le64(buf + 8 + 8 * i, c->sizes[i]);
}

/*
 * SET_MEM_TABLE is forwarded, never used, by the helper; it is checked so
 * that its fd count (one per region) can be enforced and a malformed table
 * is refused with a reason instead of confusing the backend.
 */
enum vu_result vu_mem_table_check(const void *p, size_t len, bool xen,
				  unsigned int *nregions)
{
	size_t rsz = xen ? VU_MEM_REGION_SIZE_XEN : VU_MEM_REGION_SIZE;
	struct vu_mem_region r;
	enum vu_result ret;
	uint32_t n, i;

	if (!p || !nregions)
		return VU_E_INVAL;
	if (len < 8)
		return VU_E_SIZE;
	n = get_le32(p);
	if (n > VU_MEM_MAX_REGIONS)
		return VU_E_MEM_TABLE;
	if (len != 8 + n * rsz)
		return VU_E_SIZE;
	for (i = 0; i < n; i++) {
		ret = vu_mem_region_decode(p, len, xen, i, &r);
		if (ret)
			return ret;
		if (!mem_region_ok(&r))
			return VU_E_MEM_TABLE;
	}
	*nregions = n;
	return VU_OK;
}

/*
 * Region i of a SET_MEM_TABLE payload; region 0 of an ADD/REM_MEM_REG
 * payload, which has the same 8-byte prefix (count+padding vs padding).
 */
enum vu_result vu_mem_region_decode(const void *p, size_t len, bool xen,
				    unsigned int i, struct vu_mem_region *r)
{
	size_t rsz = xen ? VU_MEM_REGION_SIZE_XEN : VU_MEM_REGION_SIZE;
	const uint8_t *b = p;
	size_t off;

	if (!p || !r)
		return VU_E_INVAL;
	if (i >= VU_MEM_MAX_REGIONS)
		return VU_E_MEM_TABLE;
	off = 8 + (size_t)i * rsz;
	if (len < off + rsz)
		return VU_E_SIZE;
	b += off;
	r->gpa = get_le64(b);
	r->size = get_le64(b + 8);
	r->uaddr = get_le64(b + 16);
	r->mmap_offset = get_le64(b + 24);
	r->xen_flags = xen ? get_le32(b + 32) : 0;
	r->xen_domid = xen ? get_le32(b + 36) : 0;
	return VU_OK;
}

/* ---- feature masks -------------------------------------------------------------------- */

/*
 * Which protocol bit means SHMEM to this backend, 0 if none.  Bit 22 wins;
 * bit 21 is SHMEM only with the compatibility option and only when bit 22
 * is absent (a backend offering both speaks the final spec, where 21 is
 * GPA_ADDRESSES).
 */
uint64_t vu_proto_shmem_bit(uint64_t backend, bool compat21)
{
	if (backend & VU_PF(VHOST_USER_PROTOCOL_F_SHMEM))
		return VU_PF(VHOST_USER_PROTOCOL_F_SHMEM);
	if (compat21 && (backend & VU_PF(VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE)))
		return VU_PF(VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE);
	return 0;
}

/*
 * What the VMM is told in GET_PROTOCOL_FEATURES: the backend's offer
 * without SHMEM (the helper owns it; the VMM sees a plain RAM BAR) and
 * without bits this library cannot validate the messages of.
 */
uint64_t vu_proto_vmm_offer(uint64_t backend, bool compat21)
{
	return backend & VU_PROTO_KNOWN & ~vu_proto_shmem_bit(backend, compat21) &
	       ~VU_PF(VHOST_USER_PROTOCOL_F_SHMEM);
}

/*
 * What the helper sends the backend in SET_PROTOCOL_FEATURES: the VMM's
 * choice (limited to what it was offered) plus, when the backend speaks
 * SHMEM, SHMEM and what SHMEM_MAP/UNMAP need to work: a backend channel
 * (BACKEND_REQ), fds on it (BACKEND_SEND_FD), answers (REPLY_ACK), each
 * only if the backend offers it.
 */
uint64_t vu_proto_backend_set(uint64_t vmm_ack, uint64_t backend,
			      bool compat21)
{
	uint64_t set = vmm_ack & vu_proto_vmm_offer(backend, compat21);
	uint64_t shmem = vu_proto_shmem_bit(backend, compat21);

	if (shmem)
		set |= shmem | (backend &
			(VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
			 VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
			 VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK)));
	return set;
}
