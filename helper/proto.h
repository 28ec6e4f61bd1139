/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-user framing and validation for vushm-helper: pure functions over
 * bytes, no I/O, no allocation.  The daemon, the unit tests
 * (tests/helper/proto_test) and the fuzzer (tests/fuzz/proto_fuzz) link it.
 *
 * Specification: QEMU docs/interop/vhost-user.rst (SHMEM_MAP/UNMAP and
 * GET_SHMEM_CONFIG as merged for QEMU 11.1).  Everything on the wire is
 * little-endian here: the spec says "native", and every peer vushm serves
 * is little-endian (x86-64, arm64).
 *
 * A message is checked in two steps, because that is how it is read: the
 * 12-byte header first (vu_hdr_parse(), which bounds the payload the caller
 * is about to read), then the payload and the fds that came with the
 * header (vu_msg_check()).  vu_msg_parse() does both.
 */
#ifndef VUSHM_HELPER_PROTO_H
#define VUSHM_HELPER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* ---- header ------------------------------------------------------------ */

#define VU_HDR_SIZE		12
#define VU_VERSION		0x1u
#define VU_FLAG_VERSION_MASK	0x3u
#define VU_FLAG_REPLY		(1u << 2)
#define VU_FLAG_NEED_REPLY	(1u << 3)
#define VU_FLAG_RESERVED	(~0xfu)

/* Largest payload of any message vushm accepts (SET_CONFIG with a full
 * 0xf00-byte config space is the largest legitimate one).
 */
#define VU_MAX_PAYLOAD		4096
/* Most fds any message carries (SET_MEM_TABLE: one per region). */
#define VU_MAX_FDS		8

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;		/* payload bytes that follow the header */
};

/* ---- requests ------------------------------------------------------------ */

/* Front-end channel: VMM -> backend. */
enum vu_fe_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
	VHOST_USER_GET_SHMEM_CONFIG = 44,
	VHOST_USER_FE_MAX		/* one past the last */
};

/* Backend channel: backend -> VMM. */
enum vu_be_request {
	VHOST_USER_BACKEND_IOTLB_MSG = 1,
	VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
	VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VHOST_USER_BACKEND_VRING_CALL = 4,
	VHOST_USER_BACKEND_VRING_ERR = 5,
	VHOST_USER_BACKEND_SHARED_OBJECT_ADD = 6,
	VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE = 7,
	VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP = 8,
	VHOST_USER_BACKEND_SHMEM_MAP = 9,
	VHOST_USER_BACKEND_SHMEM_UNMAP = 10,
	VHOST_USER_BE_MAX		/* one past the last */
};

/* Virtio feature bit that says GET/SET_PROTOCOL_FEATURES exist. */
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol feature bit numbers. */
#define VHOST_USER_PROTOCOL_F_MQ			0
#define VHOST_USER_PROTOCOL_F_LOG_SHMFD			1
#define VHOST_USER_PROTOCOL_F_RARP			2
#define VHOST_USER_PROTOCOL_F_REPLY_ACK			3
#define VHOST_USER_PROTOCOL_F_MTU			4
#define VHOST_USER_PROTOCOL_F_BACKEND_REQ		5
#define VHOST_USER_PROTOCOL_F_CROSS_ENDIAN		6
#define VHOST_USER_PROTOCOL_F_CRYPTO_SESSION		7
#define VHOST_USER_PROTOCOL_F_PAGEFAULT			8
#define VHOST_USER_PROTOCOL_F_CONFIG			9
#define VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD		10
#define VHOST_USER_PROTOCOL_F_HOST_NOTIFIER		11
#define VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD		12
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE		13
#define VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS	14
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS	15
#define VHOST_USER_PROTOCOL_F_STATUS			16
#define VHOST_USER_PROTOCOL_F_XEN_MMAP			17
#define VHOST_USER_PROTOCOL_F_SHARED_OBJECT		18
#define VHOST_USER_PROTOCOL_F_DEVICE_STATE		19
#define VHOST_USER_PROTOCOL_F_GET_VRING_BASE_INFLIGHT	20
#define VHOST_USER_PROTOCOL_F_GPA_ADDRESSES		21
#define VHOST_USER_PROTOCOL_F_SHMEM			22
/* What backends on rust-vmm vhost 0.16 send for SHMEM (the bit moved). */
#define VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE		21

#define VU_PF(bit)		(1ULL << (bit))
/* Every protocol feature whose messages this library can validate. */
#define VU_PROTO_KNOWN		(VU_PF(VHOST_USER_PROTOCOL_F_SHMEM + 1) - 1)

/* SET_VRING_KICK/CALL/ERR u64: ring index, and "no fd comes with it". */
#define VHOST_USER_VRING_IDX_MASK	0xffULL
#define VHOST_USER_VRING_NOFD_MASK	(1ULL << 8)

/* ---- payloads -------------------------------------------------------------- */

#define VU_U64_SIZE		8

/* VhostUserMMap, SHMEM_MAP / SHMEM_UNMAP payload. */
#define VU_MMAP_SIZE		40
#define VU_MMAP_F_RW		(1ULL << 0)
struct vu_mmap {
	uint8_t shmid;
	uint64_t fd_offset;	/* ignored for UNMAP */
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;		/* VU_MMAP_F_RW; other bits rejected */
};

/* VhostUserShMemConfig, GET_SHMEM_CONFIG reply. */
#define VU_SHMEM_MAX_REGIONS	256
#define VU_SHMEM_CONFIG_SIZE	(8 + 8 * VU_SHMEM_MAX_REGIONS)	/* 2056 */
struct vu_shmem_config {
	uint32_t nregions;	/* non-zero entries of sizes[] */
	uint64_t sizes[VU_SHMEM_MAX_REGIONS];	/* index = shmid, 0 = unused */
};

/* SET_MEM_TABLE region list (validation only: the helper forwards it). */
#define VU_MEM_MAX_REGIONS	8
#define VU_MEM_REGION_SIZE	32	/* 40 with PROTOCOL_F_XEN_MMAP */
#define VU_MEM_REGION_SIZE_XEN	40
struct vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
	uint32_t xen_flags;	/* XEN_MMAP only */
	uint32_t xen_domid;
};

/* GET_CONFIG / SET_CONFIG: u32 offset, u32 size, u32 flags, size bytes. */
#define VU_CONFIG_HDR_SIZE	12
#define VU_CONFIG_MAX		0xf00

/* ---- results ----------------------------------------------------------------- */

enum vu_result {
	VU_OK = 0,
	VU_E_HDR_SHORT,		/* fewer than 12 header bytes */
	VU_E_VERSION,
	VU_E_FLAGS,		/* reserved header flag bits */
	VU_E_DIRECTION,		/* REPLY flag wrong for the direction */
	VU_E_REPLY_FLAGS,	/* NEED_REPLY on a reply */
	VU_E_REQUEST,		/* unknown request on this channel */
	VU_E_SIZE_LIMIT,	/* header size over the request's maximum */
	VU_E_SIZE,		/* size not one the request allows */
	VU_E_TRUNCATED,		/* fewer payload bytes than header size */
	VU_E_TRAILING,		/* more payload bytes than header size */
	VU_E_FDS,		/* wrong number of fds */
	VU_E_MEM_TABLE,		/* bad memory region list */
	VU_E_CONFIG,		/* config size field does not match */
	VU_E_VRING_BITS,	/* reserved bits in a vring index word */
	VU_E_SHMEM_CONFIG,	/* nregions or a size is wrong */
	VU_E_MMAP_FLAGS,	/* reserved VhostUserMMap flag bits */
	VU_E_MAP_SHMID,
	VU_E_MAP_LEN,
	VU_E_MAP_ALIGN,
	VU_E_MAP_OVERFLOW,
	VU_E_MAP_RANGE,
	VU_E_INVAL,		/* caller bug: bad page size, NULL... */
	VU_RESULT_MAX
};

/* ---- the per-request table ----------------------------------------------------- */

/* Who sends the message being checked, on which channel. */
enum vu_dir {
	VU_FE_REQUEST,		/* front-end channel, VMM -> backend */
	VU_FE_REPLY,		/* front-end channel, backend -> VMM */
	VU_BE_REQUEST,		/* backend channel, backend -> VMM */
	VU_BE_REPLY,		/* backend channel, VMM -> backend */
};

enum vu_fd_rule {
	VU_FD_NONE,		/* no fd */
	VU_FD_EXACT,		/* exactly nfds */
	VU_FD_UPTO,		/* 0..nfds */
	VU_FD_UNLESS_NOFD,	/* 1 unless bit 8 of the leading u64 is set */
	VU_FD_PER_REGION,	/* one per memory region (SET_MEM_TABLE) */
};

/* Payload checks beyond the size. */
enum vu_kind {
	VU_K_PLAIN,
	VU_K_MEM_TABLE,
	VU_K_MEM_REG,		/* u64 padding + one region */
	VU_K_CONFIG,
	VU_K_VRING_FD,		/* u64 index | NOFD, other bits reserved */
	VU_K_SHMEM_CONFIG,
	VU_K_MMAP,
};

/* When the receiver of a request answers it with its own reply message. */
enum vu_reply_when {
	VU_R_ACK,		/* only a REPLY_ACK, when NEED_REPLY is set */
	VU_R_ALWAYS,
	VU_R_IF_PROTO,		/* when reply_feature is negotiated */
	VU_R_POSTCOPY,		/* after POSTCOPY_LISTEN */
};

struct vu_msg_spec {
	uint16_t min;		/* payload bytes; the kind may narrow it */
	uint16_t max;
	uint8_t fd_rule;	/* enum vu_fd_rule */
	uint8_t nfds;
	uint8_t kind;		/* enum vu_kind */
};

struct vu_req_info {
	const char *name;	/* without the VHOST_USER_ prefix */
	struct vu_msg_spec req;
	struct vu_msg_spec reply;	/* the reply message; u64 if ACK only */
	uint8_t reply_when;	/* enum vu_reply_when */
	uint8_t reply_feature;	/* VU_R_IF_PROTO: protocol feature bit */
};

/* Connection state that changes what a message may look like. */
struct vu_ctx {
	uint64_t proto;		/* negotiated protocol features */
	bool postcopy;		/* POSTCOPY_LISTEN was sent */
};

/* What answers a request. */
enum vu_reply {
	VU_REPLY_NONE,
	VU_REPLY_MSG,		/* the request's own reply message */
	VU_REPLY_ACK,		/* a u64 REPLY_ACK: 0 success */
};

/* ---- API ------------------------------------------------------------------------ */

const char *vu_strresult(enum vu_result r);
const struct vu_req_info *vu_req_info(bool backend_channel, uint32_t request);
const char *vu_req_name(bool backend_channel, uint32_t request);

void vu_hdr_encode(const struct vu_hdr *h, uint8_t buf[VU_HDR_SIZE]);
void vu_hdr_decode(const uint8_t buf[VU_HDR_SIZE], struct vu_hdr *h);
uint32_t vu_hdr_flags(bool reply, bool need_reply);

enum vu_result vu_hdr_parse(enum vu_dir dir, const void *buf, size_t len,
			    struct vu_hdr *h);
enum vu_result vu_msg_check(enum vu_dir dir, const struct vu_hdr *h,
			    const void *payload, size_t len, unsigned int nfds,
			    const struct vu_ctx *ctx);
enum vu_result vu_msg_parse(enum vu_dir dir, const void *hdr, size_t hdr_len,
			    const void *payload, size_t len, unsigned int nfds,
			    const struct vu_ctx *ctx, struct vu_hdr *h);
enum vu_reply vu_reply_expected(bool backend_channel, const struct vu_hdr *h,
				const struct vu_ctx *ctx);

enum vu_result vu_u64_decode(const void *p, size_t len, uint64_t *v);
void vu_u64_encode(uint64_t v, uint8_t buf[VU_U64_SIZE]);

enum vu_result vu_mmap_decode(const void *p, size_t len, struct vu_mmap *m);
void vu_mmap_encode(const struct vu_mmap *m, uint8_t buf[VU_MMAP_SIZE]);
enum vu_result vu_mmap_check(const struct vu_mmap *m, bool map,
			     const uint64_t *sizes, size_t nsizes,
			     uint64_t page_size);

enum vu_result vu_shmem_config_decode(const void *p, size_t len,
				      uint64_t page_size,
				      struct vu_shmem_config *c);
void vu_shmem_config_encode(const struct vu_shmem_config *c,
			    uint8_t buf[VU_SHMEM_CONFIG_SIZE]);

enum vu_result vu_mem_table_check(const void *p, size_t len, bool xen,
				  unsigned int *nregions);
enum vu_result vu_mem_region_decode(const void *p, size_t len, bool xen,
				    unsigned int i, struct vu_mem_region *r);

uint64_t vu_proto_shmem_bit(uint64_t backend, bool compat21);
uint64_t vu_proto_vmm_offer(uint64_t backend, bool compat21);
uint64_t vu_proto_backend_set(uint64_t vmm_ack, uint64_t backend,
			      bool compat21);

/*
 * Attach @nfds fds as one SCM_RIGHTS message to @mh, in @buf (at least
 * CMSG_SPACE(sizeof(int) * nfds) bytes, aligned for struct cmsghdr).
 * Packing only: the one place the daemon and the test peers do it.
 */
static inline void vu_msg_put_fds(struct msghdr *mh, void *buf,
				  const int *fds, size_t nfds)
{
	struct cmsghdr *cm;

	memset(buf, 0, CMSG_SPACE(sizeof(int) * nfds));
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
}

#endif /* VUSHM_HELPER_PROTO_H */
