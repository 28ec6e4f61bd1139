// SPDX-License-Identifier: GPL-2.0
/*
 * proto_test: unit tests of helper/proto.c, the vhost-user framing and
 * validation library of vushm-helper.  Pure code: runs on the host as well
 * as in the test VM, needs no module and no privilege.
 *
 * Every request of both channels is sent through the parser with a good
 * message and with bad sizes and fd counts, in both directions; every
 * result code is produced at least once; the payload codecs are round-
 * tripped and fed malformed input; the SHMEM_MAP/UNMAP validator is probed
 * at its boundaries; the protocol feature masks are checked for the peers
 * vushm meets (a VMM without SHMEM, backends with bit 22 or only bit 21).
 */
#include <stdint.h>
#include <string.h>

/* the 6.1 harness has an unused parameter; -Wextra stays on for this file */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#include "proto.h"

#define PAGE		4096ULL
#define PF(b)		VU_PF(VHOST_USER_PROTOCOL_F_##b)

static const struct vu_ctx no_ctx;

/* Results are an enum with no negative value (unsigned to gcc): compare
 * them as ints, so that -Wsign-compare stays on for everything else.
 */
#define EXPECT_VU(want, expr)	EXPECT_EQ((int)(want), (int)(expr))

/* ---- helpers ------------------------------------------------------------ */

static void put64(uint8_t *p, uint64_t v)
{
	vu_u64_encode(v, p);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One memory region: gpa, size, uaddr, mmap_offset at 8 + i * 32. */
static void put_region(uint8_t *buf, unsigned int i, size_t rsz, uint64_t gpa,
		       uint64_t size)
{
	uint8_t *r = buf + 8 + i * rsz;

	put64(r, gpa);
	put64(r + 8, size);
	put64(r + 16, 0x7f0000000000ULL + gpa);
	put64(r + 24, 0);
}

/*
 * A payload the spec @s accepts, and the fd count that goes with it: the
 * smallest legal size with the most fds the rule allows.
 */
static size_t good_payload(const struct vu_msg_spec *s, uint8_t *buf,
			   unsigned int *nfds)
{
	struct vu_shmem_config cfg;
	struct vu_mmap m;
	size_t len = s->min;

	memset(buf, 0, VU_MAX_PAYLOAD);
	switch (s->kind) {
	case VU_K_MEM_TABLE:
		put32(buf, 1);
		put_region(buf, 0, VU_MEM_REGION_SIZE, 0, 1 << 20);
		len = 8 + VU_MEM_REGION_SIZE;
		break;
	case VU_K_MEM_REG:
		put_region(buf, 0, VU_MEM_REGION_SIZE, 0x100000, 1 << 20);
		len = 8 + VU_MEM_REGION_SIZE;
		break;
	case VU_K_CONFIG:
		put32(buf + 4, 4);	/* size */
		len = VU_CONFIG_HDR_SIZE + 4;
		break;
	case VU_K_VRING_FD:
		put64(buf, 1);		/* ring 1, with an fd */
		break;
	case VU_K_SHMEM_CONFIG:
		memset(&cfg, 0, sizeof(cfg));
		cfg.nregions = 1;
		cfg.sizes[0] = 1 << 20;
		vu_shmem_config_encode(&cfg, buf);
		break;
	case VU_K_MMAP:
		memset(&m, 0, sizeof(m));
		m.len = PAGE;
		m.flags = VU_MMAP_F_RW;
		vu_mmap_encode(&m, buf);
		break;
	default:
		break;
	}
	switch (s->fd_rule) {
	case VU_FD_EXACT:
	case VU_FD_UPTO:
		*nfds = s->nfds;
		break;
	case VU_FD_UNLESS_NOFD:
	case VU_FD_PER_REGION:
		*nfds = 1;
		break;
	default:
		*nfds = 0;
		break;
	}
	return len;
}

static enum vu_result parse(enum vu_dir dir, uint32_t req, uint32_t flags,
			    uint32_t size, const uint8_t *payload, size_t len,
			    unsigned int nfds, const struct vu_ctx *ctx)
{
	struct vu_hdr h = { .request = req, .flags = flags, .size = size };
	uint8_t hb[VU_HDR_SIZE];
	struct vu_hdr out;

	vu_hdr_encode(&h, hb);
	return vu_msg_parse(dir, hb, sizeof(hb), payload, len, nfds, ctx, &out);
}

static bool is_reply(enum vu_dir dir)
{
	return dir == VU_FE_REPLY || dir == VU_BE_REPLY;
}

static bool is_be(enum vu_dir dir)
{
	return dir == VU_BE_REQUEST || dir == VU_BE_REPLY;
}

/* Runs the good and bad variants of one request in one direction. */
static void check_request(struct __test_metadata *_metadata, uint8_t *buf,
			  enum vu_dir dir, uint32_t req)
{
	const struct vu_req_info *ri = vu_req_info(is_be(dir), req);
	bool reply = is_reply(dir);
	const struct vu_msg_spec *s;
	uint32_t fl = vu_hdr_flags(reply, false);
	unsigned int nfds;
	struct vu_hdr h;
	uint8_t hb[VU_HDR_SIZE];
	size_t len;
	uint32_t max;

	ASSERT_NE(NULL, ri);
	s = reply ? &ri->reply : &ri->req;
	len = good_payload(s, buf, &nfds);

	/* good */
	EXPECT_VU(VU_OK, parse(dir, req, fl, len, buf, len, nfds, &no_ctx))
		TH_LOG("%s dir %d: good message refused", ri->name, dir);
	/* the same with NEED_REPLY on a request */
	if (!reply)
		EXPECT_VU(VU_OK, parse(dir, req, vu_hdr_flags(false, true),
				       len, buf, len, nfds, &no_ctx))
			TH_LOG("%s: NEED_REPLY refused", ri->name);

	/* one byte over the limit: caught from the header alone */
	max = s->max;
	if (reply && ri->reply_when != VU_R_ALWAYS && max < VU_U64_SIZE)
		max = VU_U64_SIZE;
	h = (struct vu_hdr){ .request = req, .flags = fl, .size = max + 1 };
	vu_hdr_encode(&h, hb);
	EXPECT_VU(VU_E_SIZE_LIMIT, vu_hdr_parse(dir, hb, sizeof(hb), &h))
		TH_LOG("%s dir %d: size %u accepted", ri->name, dir, max + 1);
	h.size = max;
	vu_hdr_encode(&h, hb);
	EXPECT_VU(VU_OK, vu_hdr_parse(dir, hb, sizeof(hb), &h))
		TH_LOG("%s dir %d: size %u refused", ri->name, dir, max);

	/* one byte under the minimum */
	if (s->min > 0)
		EXPECT_VU(VU_E_SIZE, parse(dir, req, fl, s->min - 1, buf,
					   s->min - 1, nfds, &no_ctx))
			TH_LOG("%s dir %d: size %u accepted", ri->name, dir,
			       s->min - 1);

	/* one fd too many, one too few */
	EXPECT_VU(VU_E_FDS, parse(dir, req, fl, len, buf, len, nfds + 1,
				  &no_ctx))
		TH_LOG("%s dir %d: %u fds accepted", ri->name, dir, nfds + 1);
	if (nfds && !(s->fd_rule == VU_FD_UPTO))
		EXPECT_VU(VU_E_FDS, parse(dir, req, fl, len, buf, len,
					  nfds - 1, &no_ctx))
			TH_LOG("%s dir %d: %u fds accepted", ri->name, dir,
			       nfds - 1);

	/* payload shorter / longer than the header says */
	if (len)
		EXPECT_VU(VU_E_TRUNCATED, parse(dir, req, fl, len, buf,
						len - 1, nfds, &no_ctx));
	EXPECT_VU(VU_E_TRAILING, parse(dir, req, fl, len, buf, len + 1, nfds,
				       &no_ctx));
}

/* No state: the fixture only gives every test the same scratch buffer. */
FIXTURE(proto) {
	uint8_t buf[VU_MAX_PAYLOAD + 1];
};

FIXTURE_SETUP(proto)
{
	memset(self->buf, 0, sizeof(self->buf));
}

FIXTURE_TEARDOWN(proto)
{
}

/* ---- the table ------------------------------------------------------------ */

TEST_F(proto, table_sane)
{
	const struct vu_req_info *ri;
	int be, nreq, r, n = 0;

	for (be = 0; be < 2; be++) {
		nreq = be ? VHOST_USER_BE_MAX : VHOST_USER_FE_MAX;
		for (r = 1; r < nreq; r++) {
			ri = vu_req_info(be, r);
			ASSERT_NE(NULL, ri) TH_LOG("channel %d request %d", be, r);
			EXPECT_STREQ(ri->name, vu_req_name(be, r));
			EXPECT_LE(ri->req.min, ri->req.max);
			EXPECT_LE(ri->reply.min, ri->reply.max);
			EXPECT_GE(VU_MAX_PAYLOAD, ri->req.max);
			EXPECT_GE(VU_MAX_PAYLOAD, ri->reply.max);
			EXPECT_GE(VU_MAX_FDS, ri->req.nfds);
			EXPECT_GE(VU_MAX_FDS, ri->reply.nfds);
			/* Every GET_ request is answered with a message. */
			if (!strncmp(ri->name, "GET_", 4))
				EXPECT_VU(VU_R_ALWAYS, ri->reply_when)
					TH_LOG("%s", ri->name);
			n++;
		}
	}
	EXPECT_EQ(44 + 10, n);
}

TEST_F(proto, numbers_from_the_spec)
{
	EXPECT_EQ(44, VHOST_USER_GET_SHMEM_CONFIG);
	EXPECT_EQ(21, VHOST_USER_SET_BACKEND_REQ_FD);
	EXPECT_EQ(9, VHOST_USER_BACKEND_SHMEM_MAP);
	EXPECT_EQ(10, VHOST_USER_BACKEND_SHMEM_UNMAP);
	EXPECT_EQ(0x400000ULL, PF(SHMEM));
	EXPECT_EQ(21, VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE);
	EXPECT_EQ(3, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	EXPECT_EQ(5, VHOST_USER_PROTOCOL_F_BACKEND_REQ);
	EXPECT_EQ(10, VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
	EXPECT_EQ(15, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	EXPECT_EQ(2056, VU_SHMEM_CONFIG_SIZE);
	EXPECT_EQ(40, VU_MMAP_SIZE);
	EXPECT_STREQ("GET_SHMEM_CONFIG", vu_req_name(false, 44));
	EXPECT_STREQ("BACKEND_SHMEM_MAP", vu_req_name(true, 9));
	EXPECT_STREQ("BACKEND_SHMEM_UNMAP", vu_req_name(true, 10));
}

TEST_F(proto, every_frontend_request)
{
	uint32_t r;

	for (r = 1; r < VHOST_USER_FE_MAX; r++) {
		check_request(_metadata, self->buf, VU_FE_REQUEST, r);
		check_request(_metadata, self->buf, VU_FE_REPLY, r);
	}
}

TEST_F(proto, every_backend_request)
{
	uint32_t r;

	for (r = 1; r < VHOST_USER_BE_MAX; r++) {
		check_request(_metadata, self->buf, VU_BE_REQUEST, r);
		check_request(_metadata, self->buf, VU_BE_REPLY, r);
	}
}

TEST_F(proto, unknown_requests)
{
	static const uint32_t fe[] = { 0, VHOST_USER_FE_MAX, 1000, 0xffffffff };
	static const uint32_t be[] = { 0, VHOST_USER_BE_MAX, 1000, 0xffffffff };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fe); i++) {
		EXPECT_EQ(NULL, vu_req_info(false, fe[i]));
		EXPECT_STREQ("UNKNOWN", vu_req_name(false, fe[i]));
		EXPECT_VU(VU_E_REQUEST, parse(VU_FE_REQUEST, fe[i], 1, 0, NULL,
					      0, 0, NULL));
	}
	for (i = 0; i < ARRAY_SIZE(be); i++) {
		EXPECT_EQ(NULL, vu_req_info(true, be[i]));
		EXPECT_VU(VU_E_REQUEST, parse(VU_BE_REQUEST, be[i], 1, 0, NULL,
					      0, 0, NULL));
	}
	/* A front-end request number that is not a backend one. */
	EXPECT_VU(VU_E_REQUEST, parse(VU_BE_REQUEST, VHOST_USER_GET_SHMEM_CONFIG,
				      1, 0, NULL, 0, 0, NULL));
}

/* ---- header and result codes ------------------------------------------------ */

TEST_F(proto, header_codec)
{
	struct vu_hdr h = { .request = 0x04030201, .flags = 0x08070605,
			    .size = 0x0c0b0a09 }, back;
	static const uint8_t want[VU_HDR_SIZE] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint8_t b[VU_HDR_SIZE];

	vu_hdr_encode(&h, b);
	EXPECT_EQ(0, memcmp(want, b, sizeof(b)));
	vu_hdr_decode(b, &back);
	EXPECT_EQ(h.request, back.request);
	EXPECT_EQ(h.flags, back.flags);
	EXPECT_EQ(h.size, back.size);

	EXPECT_EQ(0x1u, vu_hdr_flags(false, false));
	EXPECT_EQ(0x9u, vu_hdr_flags(false, true));
	EXPECT_EQ(0x5u, vu_hdr_flags(true, false));
	EXPECT_EQ(0x5u, vu_hdr_flags(true, true));
}

TEST_F(proto, header_errors)
{
	uint8_t hb[VU_HDR_SIZE];
	struct vu_hdr h = { .request = VHOST_USER_GET_FEATURES, .flags = 1 };

	vu_hdr_encode(&h, hb);
	EXPECT_VU(VU_OK, vu_hdr_parse(VU_FE_REQUEST, hb, 12, &h));
	EXPECT_VU(VU_E_HDR_SHORT, vu_hdr_parse(VU_FE_REQUEST, hb, 11, &h));
	EXPECT_VU(VU_E_HDR_SHORT, vu_hdr_parse(VU_FE_REQUEST, hb, 0, &h));
	EXPECT_VU(VU_E_INVAL, vu_hdr_parse(VU_FE_REQUEST, NULL, 12, &h));
	EXPECT_VU(VU_E_INVAL, vu_hdr_parse(VU_FE_REQUEST, hb, 12, NULL));

	/* version bits: 0, 2, 3 */
	EXPECT_VU(VU_E_VERSION, parse(VU_FE_REQUEST, 1, 0x0, 0, NULL, 0, 0, NULL));
	EXPECT_VU(VU_E_VERSION, parse(VU_FE_REQUEST, 1, 0x2, 0, NULL, 0, 0, NULL));
	EXPECT_VU(VU_E_VERSION, parse(VU_FE_REQUEST, 1, 0x3, 0, NULL, 0, 0, NULL));
	/* reserved flag bits: 4 and 31 */
	EXPECT_VU(VU_E_FLAGS, parse(VU_FE_REQUEST, 1, 0x11, 0, NULL, 0, 0, NULL));
	EXPECT_VU(VU_E_FLAGS, parse(VU_FE_REQUEST, 1, 0x80000001, 0, NULL, 0, 0,
				    NULL));
	/* REPLY on a request, no REPLY on a reply */
	EXPECT_VU(VU_E_DIRECTION, parse(VU_FE_REQUEST, 1, 0x5, 0, NULL, 0, 0,
					NULL));
	EXPECT_VU(VU_E_DIRECTION, parse(VU_BE_REQUEST, 9, 0x5, 0, NULL, 0, 0,
					NULL));
	EXPECT_VU(VU_E_DIRECTION, parse(VU_FE_REPLY, 1, 0x1, 0, NULL, 0, 0,
					NULL));
	EXPECT_VU(VU_E_DIRECTION, parse(VU_BE_REPLY, 9, 0x9, 0, NULL, 0, 0,
					NULL));
	/* NEED_REPLY on a reply */
	EXPECT_VU(VU_E_REPLY_FLAGS, parse(VU_FE_REPLY, 1, 0xd, 8,
					  (const uint8_t *)"\0\0\0\0\0\0\0\0",
					  8, 0, NULL));
	/* a size no request allows */
	EXPECT_VU(VU_E_SIZE_LIMIT, parse(VU_FE_REQUEST, VHOST_USER_SET_OWNER, 1,
					 0xffffffff, NULL, 0, 0, NULL));
}

TEST_F(proto, message_errors)
{
	uint8_t b[16] = { 0 };
	struct vu_hdr h = { .request = VHOST_USER_SET_FEATURES, .flags = 1,
			    .size = 8 };

	EXPECT_VU(VU_OK, vu_msg_check(VU_FE_REQUEST, &h, b, 8, 0, NULL));
	EXPECT_VU(VU_E_TRUNCATED, vu_msg_check(VU_FE_REQUEST, &h, b, 7, 0, NULL));
	EXPECT_VU(VU_E_TRAILING, vu_msg_check(VU_FE_REQUEST, &h, b, 9, 0, NULL));
	EXPECT_VU(VU_E_FDS, vu_msg_check(VU_FE_REQUEST, &h, b, 8, 1, NULL));
	EXPECT_VU(VU_E_FDS, vu_msg_check(VU_FE_REQUEST, &h, b, 8,
					 VU_MAX_FDS + 1, NULL));
	EXPECT_VU(VU_E_INVAL, vu_msg_check(VU_FE_REQUEST, &h, NULL, 8, 0, NULL));
	EXPECT_VU(VU_E_INVAL, vu_msg_check(VU_FE_REQUEST, NULL, b, 8, 0, NULL));
	h.size = 4;
	EXPECT_VU(VU_E_SIZE, vu_msg_check(VU_FE_REQUEST, &h, b, 4, 0, NULL));
	h.request = 99;
	EXPECT_VU(VU_E_REQUEST, vu_msg_check(VU_FE_REQUEST, &h, b, 4, 0, NULL));
}

TEST_F(proto, result_strings)
{
	const char *s[VU_RESULT_MAX];
	int i, j;

	for (i = 0; i < VU_RESULT_MAX; i++) {
		s[i] = vu_strresult(i);
		ASSERT_NE(NULL, s[i]);
		EXPECT_STRNE("unknown result", s[i]) TH_LOG("result %d", i);
		for (j = 0; j < i; j++)
			EXPECT_STRNE(s[j], s[i]) TH_LOG("%d and %d", j, i);
	}
	EXPECT_STREQ("unknown result", vu_strresult(VU_RESULT_MAX));
	EXPECT_STREQ("unknown result", vu_strresult((enum vu_result)-1));
}

/* ---- per-kind payload rules ------------------------------------------------- */

TEST_F(proto, vring_fd_rule)
{
	static const uint32_t reqs[] = { VHOST_USER_SET_VRING_KICK,
		VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR };
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < 3; i++) {
		put64(b, 3);
		EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, reqs[i], 1, 8, b, 8, 1, NULL));
		EXPECT_VU(VU_E_FDS, parse(VU_FE_REQUEST, reqs[i], 1, 8, b, 8, 0, NULL));
		put64(b, 3 | VHOST_USER_VRING_NOFD_MASK);
		EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, reqs[i], 1, 8, b, 8, 0, NULL));
		EXPECT_VU(VU_E_FDS, parse(VU_FE_REQUEST, reqs[i], 1, 8, b, 8, 1, NULL));
		put64(b, 3 | 1ULL << 9);
		EXPECT_VU(VU_E_VRING_BITS, parse(VU_FE_REQUEST, reqs[i], 1, 8, b,
						 8, 1, NULL));
		put64(b, 1ULL << 63 | VHOST_USER_VRING_NOFD_MASK);
		EXPECT_VU(VU_E_VRING_BITS, parse(VU_FE_REQUEST, reqs[i], 1, 8, b,
						 8, 0, NULL));
	}
}

TEST_F(proto, nofd_flag_elsewhere)
{
	uint8_t b[24] = { 0 };

	/* SET_DEVICE_STATE_FD reply: bit 8 = no fd comes back */
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_SET_DEVICE_STATE_FD, 5,
			       8, b, 8, 1, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_FE_REPLY, VHOST_USER_SET_DEVICE_STATE_FD,
				  5, 8, b, 8, 0, NULL));
	put64(b, VHOST_USER_VRING_NOFD_MASK | 1);
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_SET_DEVICE_STATE_FD, 5,
			       8, b, 8, 0, NULL));
	/* VRING_HOST_NOTIFIER_MSG: bit 8 = unregister, no fd */
	EXPECT_VU(VU_OK, parse(VU_BE_REQUEST,
			       VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, 1,
			       24, b, 24, 0, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_BE_REQUEST,
				  VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
				  1, 24, b, 24, 1, NULL));
}

TEST_F(proto, mem_table)
{
	uint8_t *b = self->buf;
	struct vu_ctx xen = { .proto = PF(XEN_MMAP) };
	struct vu_mem_region r;
	unsigned int i, n;
	size_t len;

	memset(b, 0, VU_MAX_PAYLOAD);
	put32(b, 8);
	for (i = 0; i < 8; i++)
		put_region(b, i, 32, (uint64_t)i << 30, 1 << 30);
	len = 8 + 8 * 32;
	EXPECT_VU(VU_OK, vu_mem_table_check(b, len, false, &n));
	EXPECT_EQ(8U, n);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1, len,
			       b, len, 8, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1,
				  len, b, len, 7, NULL));
	EXPECT_VU(VU_OK, vu_mem_region_decode(b, len, false, 7, &r));
	EXPECT_EQ(7ULL << 30, r.gpa);
	EXPECT_EQ(1ULL << 30, r.size);
	EXPECT_VU(VU_E_SIZE, vu_mem_region_decode(b, len - 1, false, 7, &r));
	EXPECT_VU(VU_E_MEM_TABLE, vu_mem_region_decode(b, len, false, 8, &r));

	/* size does not match nregions */
	EXPECT_VU(VU_E_SIZE, vu_mem_table_check(b, len - 32, false, &n));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1,
				   len - 32, b, len - 32, 7, NULL));
	EXPECT_VU(VU_E_SIZE, vu_mem_table_check(b, 7, false, &n));
	/* nine regions */
	put32(b, 9);
	EXPECT_VU(VU_E_MEM_TABLE, vu_mem_table_check(b, len + 32, false, &n));
	/* a zero-sized region, a region that wraps */
	put32(b, 8);
	put_region(b, 3, 32, 0, 0);
	EXPECT_VU(VU_E_MEM_TABLE, vu_mem_table_check(b, len, false, &n));
	EXPECT_VU(VU_E_MEM_TABLE, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE,
					1, len, b, len, 8, NULL));
	put_region(b, 3, 32, UINT64_MAX - 4095, 8192);
	EXPECT_VU(VU_E_MEM_TABLE, vu_mem_table_check(b, len, false, &n));
	EXPECT_VU(VU_E_INVAL, vu_mem_table_check(NULL, len, false, &n));
	EXPECT_VU(VU_E_INVAL, vu_mem_table_check(b, len, false, NULL));

	/* the postcopy acknowledgment: nregions 0, no fd */
	memset(b, 0, 8);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1, 8,
			       b, 8, 0, NULL));

	/* XEN_MMAP: 40-byte regions */
	memset(b, 0, VU_MAX_PAYLOAD);
	put32(b, 2);
	put_region(b, 0, 40, 0, 1 << 20);
	put_region(b, 1, 40, 1 << 20, 1 << 20);
	put32(b + 8 + 40 + 32, 0x100);	/* region 1 xen_flags */
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1, 88,
			       b, 88, 2, &xen));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REQUEST, VHOST_USER_SET_MEM_TABLE, 1,
				   88, b, 88, 2, NULL));
	EXPECT_VU(VU_OK, vu_mem_region_decode(b, 88, true, 1, &r));
	EXPECT_EQ(0x100u, r.xen_flags);

	/* ADD_MEM_REG: 40 bytes, 48 with XEN_MMAP */
	memset(b, 0, VU_MAX_PAYLOAD);
	put_region(b, 0, 40, 0, 1 << 20);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_ADD_MEM_REG, 1, 40, b,
			       40, 1, NULL));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REQUEST, VHOST_USER_ADD_MEM_REG, 1, 48,
				   b, 48, 1, NULL));
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_ADD_MEM_REG, 1, 48, b,
			       48, 1, &xen));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REQUEST, VHOST_USER_ADD_MEM_REG, 1, 40,
				   b, 40, 1, &xen));
	put64(b + 16, 0);	/* region size 0 */
	EXPECT_VU(VU_E_MEM_TABLE, parse(VU_FE_REQUEST, VHOST_USER_ADD_MEM_REG, 1,
					40, b, 40, 1, NULL));
	/* REM_MEM_REG: an fd is tolerated, two are not */
	put64(b + 16, 4096);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_REM_MEM_REG, 1, 40, b,
			       40, 0, NULL));
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_REM_MEM_REG, 1, 40, b,
			       40, 1, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_FE_REQUEST, VHOST_USER_REM_MEM_REG, 1, 40,
				  b, 40, 2, NULL));
}

TEST_F(proto, config_payload)
{
	uint8_t b[VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX + 1] = { 0 };

	put32(b + 4, 8);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_GET_CONFIG, 1, 20, b,
			       20, 0, NULL));
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_GET_CONFIG, 5, 20, b, 20,
			       0, NULL));
	EXPECT_VU(VU_E_CONFIG, parse(VU_FE_REQUEST, VHOST_USER_SET_CONFIG, 1, 21,
				     b, 21, 0, NULL));
	/* the empty reply means "error" and is legal; an empty request not */
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_GET_CONFIG, 5, 0, b, 0,
			       0, NULL));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REQUEST, VHOST_USER_GET_CONFIG, 1, 0, b,
				   0, 0, NULL));
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REPLY, VHOST_USER_GET_CONFIG, 5, 11, b,
				   11, 0, NULL));
	/* the whole config space, and one byte more */
	put32(b + 4, VU_CONFIG_MAX);
	EXPECT_VU(VU_OK, parse(VU_FE_REQUEST, VHOST_USER_SET_CONFIG, 1,
			       VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX, b,
			       VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX, 0, NULL));
	put32(b + 4, VU_CONFIG_MAX + 1);
	EXPECT_VU(VU_E_SIZE_LIMIT, parse(VU_FE_REQUEST, VHOST_USER_SET_CONFIG, 1,
					 sizeof(b), b, sizeof(b), 0, NULL));
}

TEST_F(proto, reply_ack_forms)
{
	uint8_t b[8] = { 1 };	/* non-zero: failure */

	/* a REPLY_ACK for requests not always answered with a message */
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_SET_MEM_TABLE, 5, 8, b, 8,
			       0, NULL));
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_ADD_MEM_REG, 5, 8, b, 8,
			       0, NULL));
	EXPECT_VU(VU_OK, parse(VU_BE_REPLY, VHOST_USER_BACKEND_SHMEM_MAP, 5, 8,
			       b, 8, 0, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_BE_REPLY, VHOST_USER_BACKEND_SHMEM_MAP, 5,
				  8, b, 8, 1, NULL));
	EXPECT_VU(VU_E_SIZE, parse(VU_BE_REPLY, VHOST_USER_BACKEND_SHMEM_UNMAP,
				   5, 4, b, 4, 0, NULL));
	/* GET_SHMEM_CONFIG is always answered with the 2056-byte config */
	EXPECT_VU(VU_E_SIZE, parse(VU_FE_REPLY, VHOST_USER_GET_SHMEM_CONFIG, 5,
				   8, b, 8, 0, NULL));
	/* a shared object lookup reply may carry the dma-buf */
	EXPECT_VU(VU_OK, parse(VU_BE_REPLY,
			       VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP, 5, 8, b,
			       8, 1, NULL));
}

TEST_F(proto, reply_expected)
{
	struct vu_ctx ack = { .proto = PF(REPLY_ACK) };
	struct vu_ctx logfd = { .proto = PF(LOG_SHMFD) };
	struct vu_ctx pc = { .proto = PF(REPLY_ACK), .postcopy = true };
	struct vu_hdr h = { .flags = 1 };
	uint32_t r;

	for (r = 1; r < VHOST_USER_FE_MAX; r++) {
		h.request = r;
		if (!strncmp(vu_req_name(false, r), "GET_", 4))
			EXPECT_VU(VU_REPLY_MSG, vu_reply_expected(false, &h, NULL))
				TH_LOG("%s", vu_req_name(false, r));
	}
	h.request = VHOST_USER_SET_FEATURES;
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &ack));
	h.flags = vu_hdr_flags(false, true);
	EXPECT_VU(VU_REPLY_ACK, vu_reply_expected(false, &h, &ack));
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, NULL));
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &logfd));
	/* GET_* with NEED_REPLY: still one reply, the message */
	h.request = VHOST_USER_GET_SHMEM_CONFIG;
	EXPECT_VU(VU_REPLY_MSG, vu_reply_expected(false, &h, &ack));

	h.flags = 1;
	h.request = VHOST_USER_SET_LOG_BASE;
	EXPECT_VU(VU_REPLY_MSG, vu_reply_expected(false, &h, &logfd));
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &ack));

	h.request = VHOST_USER_SET_MEM_TABLE;
	h.size = 40;
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &ack));
	EXPECT_VU(VU_REPLY_MSG, vu_reply_expected(false, &h, &pc));
	h.size = 8;	/* the front-end's acknowledgment */
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &pc));

	h.flags = vu_hdr_flags(false, true);
	h.request = VHOST_USER_BACKEND_SHMEM_MAP;
	EXPECT_VU(VU_REPLY_ACK, vu_reply_expected(true, &h, &ack));
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(true, &h, NULL));
	h.request = VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP;
	EXPECT_VU(VU_REPLY_MSG, vu_reply_expected(true, &h, NULL));

	/* replies and unknown requests are not answered */
	h.flags = vu_hdr_flags(true, false);
	h.request = VHOST_USER_GET_FEATURES;
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &ack));
	h.flags = 1;
	h.request = 77;
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, &h, &ack));
	EXPECT_VU(VU_REPLY_NONE, vu_reply_expected(false, NULL, &ack));
}

/* ---- payload codecs ------------------------------------------------------------ */

TEST_F(proto, u64_codec)
{
	uint8_t b[9];
	uint64_t v = 0;

	vu_u64_encode(0x0807060504030201ULL, b);
	EXPECT_EQ(1, b[0]);
	EXPECT_EQ(8, b[7]);
	EXPECT_VU(VU_OK, vu_u64_decode(b, 8, &v));
	EXPECT_EQ(0x0807060504030201ULL, v);
	EXPECT_VU(VU_E_SIZE, vu_u64_decode(b, 7, &v));
	EXPECT_VU(VU_E_SIZE, vu_u64_decode(b, 9, &v));
	EXPECT_VU(VU_E_INVAL, vu_u64_decode(NULL, 8, &v));
	EXPECT_VU(VU_E_INVAL, vu_u64_decode(b, 8, NULL));
}

TEST_F(proto, mmap_codec)
{
	struct vu_mmap m = { .shmid = 7, .fd_offset = 0x1122334455667788ULL,
			     .shm_offset = 0x2000, .len = 0x3000,
			     .flags = VU_MMAP_F_RW }, back;
	uint8_t b[VU_MMAP_SIZE + 1];

	vu_mmap_encode(&m, b);
	EXPECT_EQ(7, b[0]);
	EXPECT_EQ(0, b[1]);
	EXPECT_EQ(0x88, b[8]);
	EXPECT_VU(VU_OK, vu_mmap_decode(b, VU_MMAP_SIZE, &back));
	EXPECT_EQ(m.shmid, back.shmid);
	EXPECT_EQ(m.fd_offset, back.fd_offset);
	EXPECT_EQ(m.shm_offset, back.shm_offset);
	EXPECT_EQ(m.len, back.len);
	EXPECT_EQ(m.flags, back.flags);

	/* padding is not judged */
	b[3] = 0xff;
	EXPECT_VU(VU_OK, vu_mmap_decode(b, VU_MMAP_SIZE, &back));
	/* length */
	EXPECT_VU(VU_E_SIZE, vu_mmap_decode(b, VU_MMAP_SIZE - 1, &back));
	EXPECT_VU(VU_E_SIZE, vu_mmap_decode(b, VU_MMAP_SIZE + 1, &back));
	EXPECT_VU(VU_E_INVAL, vu_mmap_decode(NULL, VU_MMAP_SIZE, &back));
	/* reserved flags, through the decoder and through the parser */
	m.flags = 2;
	vu_mmap_encode(&m, b);
	EXPECT_VU(VU_E_MMAP_FLAGS, vu_mmap_decode(b, VU_MMAP_SIZE, &back));
	EXPECT_VU(VU_E_MMAP_FLAGS, parse(VU_BE_REQUEST,
					 VHOST_USER_BACKEND_SHMEM_MAP, 9, 40,
					 b, 40, 1, NULL));
	m.flags = 1ULL << 63 | VU_MMAP_F_RW;
	vu_mmap_encode(&m, b);
	EXPECT_VU(VU_E_MMAP_FLAGS, parse(VU_BE_REQUEST,
					 VHOST_USER_BACKEND_SHMEM_UNMAP, 9, 40,
					 b, 40, 0, NULL));
	/* MAP needs its fd, UNMAP takes none */
	m.flags = 0;
	vu_mmap_encode(&m, b);
	EXPECT_VU(VU_OK, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_MAP, 9,
			       40, b, 40, 1, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_MAP, 9,
				  40, b, 40, 0, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_MAP, 9,
				  40, b, 40, 2, NULL));
	EXPECT_VU(VU_OK, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_UNMAP, 9,
			       40, b, 40, 0, NULL));
	EXPECT_VU(VU_E_FDS, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_UNMAP,
				  9, 40, b, 40, 1, NULL));
	EXPECT_VU(VU_E_SIZE_LIMIT, parse(VU_BE_REQUEST,
					 VHOST_USER_BACKEND_SHMEM_MAP, 9, 41, b,
					 41, 1, NULL));
	EXPECT_VU(VU_E_SIZE, parse(VU_BE_REQUEST, VHOST_USER_BACKEND_SHMEM_MAP,
				   9, 39, b, 39, 1, NULL));
}

TEST_F(proto, shmem_config_codec)
{
	static struct vu_shmem_config c, back;
	uint8_t *b = self->buf;

	memset(&c, 0, sizeof(c));
	c.nregions = 3;
	c.sizes[0] = 1 << 20;
	c.sizes[2] = 1ULL << 34;
	c.sizes[255] = PAGE;
	vu_shmem_config_encode(&c, b);
	EXPECT_EQ(3, b[0]);
	EXPECT_VU(VU_OK, vu_shmem_config_decode(b, VU_SHMEM_CONFIG_SIZE, PAGE,
						&back));
	EXPECT_EQ(0, memcmp(&c, &back, sizeof(c)));
	EXPECT_VU(VU_OK, vu_shmem_config_decode(b, VU_SHMEM_CONFIG_SIZE, 0,
						NULL));
	EXPECT_VU(VU_OK, parse(VU_FE_REPLY, VHOST_USER_GET_SHMEM_CONFIG, 5,
			       2056, b, 2056, 0, NULL));

	/* length */
	EXPECT_VU(VU_E_SIZE, vu_shmem_config_decode(b, 2055, PAGE, &back));
	EXPECT_VU(VU_E_SIZE, vu_shmem_config_decode(b, 2057, PAGE, &back));
	EXPECT_VU(VU_E_SIZE_LIMIT, parse(VU_FE_REPLY,
					 VHOST_USER_GET_SHMEM_CONFIG, 5, 2057,
					 b, 2057, 0, NULL));
	/* a size that is not a multiple of the page size */
	EXPECT_VU(VU_E_SHMEM_CONFIG, vu_shmem_config_decode(b, 2056, 1 << 21,
							    &back));
	/* bad page size argument */
	EXPECT_VU(VU_E_INVAL, vu_shmem_config_decode(b, 2056, 3, &back));
	EXPECT_VU(VU_E_INVAL, vu_shmem_config_decode(NULL, 2056, PAGE, &back));
	/* nregions does not count the non-zero sizes */
	c.nregions = 2;
	vu_shmem_config_encode(&c, b);
	EXPECT_VU(VU_E_SHMEM_CONFIG, vu_shmem_config_decode(b, 2056, PAGE,
							    &back));
	EXPECT_VU(VU_E_SHMEM_CONFIG, parse(VU_FE_REPLY,
					   VHOST_USER_GET_SHMEM_CONFIG, 5, 2056,
					   b, 2056, 0, NULL));
	c.nregions = 257;
	vu_shmem_config_encode(&c, b);
	EXPECT_VU(VU_E_SHMEM_CONFIG, vu_shmem_config_decode(b, 2056, PAGE,
							    &back));
	/* all unused is consistent */
	memset(&c, 0, sizeof(c));
	vu_shmem_config_encode(&c, b);
	EXPECT_VU(VU_OK, vu_shmem_config_decode(b, 2056, PAGE, &back));
	EXPECT_EQ(0U, back.nregions);
}

/* ---- the SHMEM_MAP/UNMAP validator --------------------------------------------- */

/*
 * shmid 0: 64 KiB; 1: unused; 2: the largest page-aligned size there is;
 * 3: not page-aligned (a caller's mistake the range check still holds).
 */
static const uint64_t sizes[] = { 0x10000, 0, UINT64_MAX & ~(PAGE - 1),
				  0x10800 };
#define NSIZES ARRAY_SIZE(sizes)

static enum vu_result mcheck(bool map, uint8_t shmid, uint64_t fd_offset,
			     uint64_t shm_offset, uint64_t len)
{
	struct vu_mmap m = { .shmid = shmid, .fd_offset = fd_offset,
			     .shm_offset = shm_offset, .len = len };

	return vu_mmap_check(&m, map, sizes, NSIZES, PAGE);
}

TEST_F(proto, map_inside_and_at_the_end)
{
	EXPECT_VU(VU_OK, mcheck(true, 0, 0, 0, PAGE));
	EXPECT_VU(VU_OK, mcheck(true, 0, 0, 0, 0x10000));
	EXPECT_VU(VU_OK, mcheck(true, 0, 1ULL << 40, 0xf000, PAGE));
	EXPECT_VU(VU_E_MAP_RANGE, mcheck(true, 0, 0, 0xf000, 2 * PAGE));
	EXPECT_VU(VU_E_MAP_RANGE, mcheck(true, 0, 0, 0x10000, PAGE));
	EXPECT_VU(VU_E_MAP_RANGE, mcheck(true, 0, 0, 0, 0x11000));
	EXPECT_VU(VU_E_MAP_RANGE, mcheck(false, 0, 0, 0x10000, PAGE));
	EXPECT_VU(VU_OK, mcheck(false, 0, 0, 0xf000, PAGE));
	EXPECT_VU(VU_OK, mcheck(true, 3, 0, 0xf000, PAGE));
	EXPECT_VU(VU_E_MAP_RANGE, mcheck(true, 3, 0, 0x10000, PAGE));
	/* exact fit at the end of the largest possible region */
	EXPECT_VU(VU_OK, mcheck(true, 2, 0, sizes[2] - PAGE, PAGE));
	EXPECT_VU(VU_OK, mcheck(true, 2, 0, 0, sizes[2]));
}

TEST_F(proto, map_overflow_at_2_64)
{
	/* shm_offset + len == 2^64 */
	EXPECT_VU(VU_E_MAP_OVERFLOW, mcheck(true, 2, 0, sizes[2], PAGE));
	EXPECT_VU(VU_E_MAP_OVERFLOW, mcheck(false, 2, 0, sizes[2], PAGE));
	EXPECT_VU(VU_E_MAP_OVERFLOW, mcheck(true, 0, 0, PAGE, sizes[2]));
	/* fd_offset + len == 2^64: MAP refuses, UNMAP ignores fd_offset */
	EXPECT_VU(VU_E_MAP_OVERFLOW, mcheck(true, 0, sizes[2], 0, PAGE));
	EXPECT_VU(VU_OK, mcheck(false, 0, sizes[2], 0, PAGE));
	/* one page short of wrapping */
	EXPECT_VU(VU_OK, mcheck(true, 0, sizes[2] - PAGE, 0, PAGE));
}

TEST_F(proto, map_shmid_len_align)
{
	struct vu_mmap m = { .len = PAGE, .flags = 2 };

	EXPECT_VU(VU_E_MAP_SHMID, mcheck(true, 1, 0, 0, PAGE));	/* size 0 */
	EXPECT_VU(VU_E_MAP_SHMID, mcheck(true, 4, 0, 0, PAGE));	/* past end */
	EXPECT_VU(VU_E_MAP_SHMID, mcheck(false, 255, 0, 0, PAGE));
	EXPECT_VU(VU_E_MAP_LEN, mcheck(true, 0, 0, 0, 0));
	EXPECT_VU(VU_E_MAP_LEN, mcheck(false, 0, 0, 0, 0));
	EXPECT_VU(VU_E_MAP_ALIGN, mcheck(true, 0, 0, 0x800, PAGE));
	EXPECT_VU(VU_E_MAP_ALIGN, mcheck(true, 0, 0, 0, 0x800));
	EXPECT_VU(VU_E_MAP_ALIGN, mcheck(true, 0, 0x10, 0, PAGE));
	EXPECT_VU(VU_E_MAP_ALIGN, mcheck(false, 0, 0, 0x1, PAGE));
	EXPECT_VU(VU_OK, mcheck(false, 0, 0x10, 0, PAGE));
	EXPECT_VU(VU_E_MMAP_FLAGS, vu_mmap_check(&m, false, NULL, 0, PAGE));
	EXPECT_VU(VU_E_MMAP_FLAGS, vu_mmap_check(&m, true, sizes, NSIZES, PAGE));
	m.flags = VU_MMAP_F_RW;
	EXPECT_VU(VU_OK, vu_mmap_check(&m, true, sizes, NSIZES, PAGE));
	/* a 2 MiB page size */
	EXPECT_VU(VU_E_MAP_ALIGN, vu_mmap_check(&m, true, sizes, NSIZES,
						1 << 21));
	/* bad arguments */
	EXPECT_VU(VU_E_INVAL, vu_mmap_check(&m, true, sizes, NSIZES, 0));
	EXPECT_VU(VU_E_INVAL, vu_mmap_check(&m, true, sizes, NSIZES, 3 * PAGE));
	EXPECT_VU(VU_E_INVAL, vu_mmap_check(&m, true, NULL, NSIZES, PAGE));
	EXPECT_VU(VU_E_INVAL, vu_mmap_check(NULL, true, sizes, NSIZES, PAGE));
	EXPECT_VU(VU_E_MAP_SHMID, vu_mmap_check(&m, true, NULL, 0, PAGE));
}

/* ---- protocol feature masks -------------------------------------------------- */

#define SHMEM_NEEDS	(PF(BACKEND_REQ) | PF(BACKEND_SEND_FD) | PF(REPLY_ACK))

TEST_F(proto, features_backend_with_22)
{
	uint64_t be = PF(MQ) | PF(CONFIG) | PF(SHMEM) | SHMEM_NEEDS |
		      PF(CONFIGURE_MEM_SLOTS);
	uint64_t vmm = PF(MQ) | PF(CONFIG);	/* a VMM without SHMEM */

	EXPECT_EQ(PF(SHMEM), vu_proto_shmem_bit(be, false));
	EXPECT_EQ(be & ~PF(SHMEM), vu_proto_vmm_offer(be, false));
	EXPECT_EQ(vmm | PF(SHMEM) | SHMEM_NEEDS,
		  vu_proto_backend_set(vmm, be, false));
	/* what the VMM acks of the rest is kept */
	vmm |= PF(CONFIGURE_MEM_SLOTS) | PF(REPLY_ACK);
	EXPECT_EQ(vmm | PF(SHMEM) | SHMEM_NEEDS,
		  vu_proto_backend_set(vmm, be, false));
	/* compat changes nothing when 22 is there; 21 is GPA_ADDRESSES */
	be |= PF(GPA_ADDRESSES);
	EXPECT_EQ(PF(SHMEM), vu_proto_shmem_bit(be, true));
	EXPECT_EQ(be & ~PF(SHMEM), vu_proto_vmm_offer(be, true));
	EXPECT_EQ(vmm | PF(GPA_ADDRESSES) | PF(SHMEM) | SHMEM_NEEDS,
		  vu_proto_backend_set(vmm | PF(GPA_ADDRESSES), be, true));
}

TEST_F(proto, features_backend_22_without_extras)
{
	uint64_t be = PF(MQ) | PF(SHMEM) | PF(BACKEND_REQ);

	/* only what the backend offers is added */
	EXPECT_EQ(PF(SHMEM) | PF(BACKEND_REQ), vu_proto_backend_set(0, be, false));
}

TEST_F(proto, features_backend_with_only_21)
{
	uint64_t be = PF(MQ) | PF(SHMEM_PRERELEASE) | SHMEM_NEEDS;

	/* without compat: bit 21 is the spec's GPA_ADDRESSES, passed through */
	EXPECT_EQ(0ULL, vu_proto_shmem_bit(be, false));
	EXPECT_EQ(be, vu_proto_vmm_offer(be, false));
	EXPECT_EQ(PF(MQ), vu_proto_backend_set(PF(MQ), be, false));
	EXPECT_EQ(PF(MQ) | PF(GPA_ADDRESSES),
		  vu_proto_backend_set(PF(MQ) | PF(GPA_ADDRESSES), be, false));
	/* with compat: 21 is SHMEM, hidden from the VMM, set on the backend */
	EXPECT_EQ(PF(SHMEM_PRERELEASE), vu_proto_shmem_bit(be, true));
	EXPECT_EQ(PF(MQ) | SHMEM_NEEDS, vu_proto_vmm_offer(be, true));
	EXPECT_EQ(PF(MQ) | PF(SHMEM_PRERELEASE) | SHMEM_NEEDS,
		  vu_proto_backend_set(PF(MQ), be, true));
	/* bit 22 is never set on a backend that did not offer it */
	EXPECT_EQ(0ULL, vu_proto_backend_set(0, be, true) & PF(SHMEM));
}

TEST_F(proto, features_masking)
{
	uint64_t be = PF(MQ) | PF(REPLY_ACK) | 1ULL << 40;

	/* no SHMEM at all: pure pass-through of known bits */
	EXPECT_EQ(0ULL, vu_proto_shmem_bit(be, true));
	EXPECT_EQ(PF(MQ) | PF(REPLY_ACK), vu_proto_vmm_offer(be, true));
	/* the VMM cannot ack what it was not offered */
	EXPECT_EQ(PF(MQ), vu_proto_backend_set(PF(MQ) | PF(SHMEM) |
					       PF(STATUS) | 1ULL << 40, be,
					       false));
	EXPECT_EQ(0ULL, vu_proto_vmm_offer(0, true));
	EXPECT_EQ(0ULL, vu_proto_backend_set(~0ULL, 0, true));
	EXPECT_EQ(0x7fffffULL, VU_PROTO_KNOWN);
}

TEST_HARNESS_MAIN
