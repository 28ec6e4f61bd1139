// SPDX-License-Identifier: GPL-2.0
/*
 * vu-test-backend - a vhost-user backend that speaks the SHMEM extension,
 * for the tests of vushm-helper.
 *
 * It is a control-plane peer only: it answers everything a VMM sends while
 * it sets up and starts a device (features, memory table, vrings, config
 * space, status, GET_SHMEM_CONFIG) but processes no virtqueue.  What the
 * tests want from it is the other direction: on commands read line by line
 * from stdin it sends SHMEM_MAP / SHMEM_UNMAP and other backend requests on
 * the backend channel, waits for the answer while still serving the
 * front-end, and prints one result line on stdout per command.
 *
 * Everything runs in one poll loop.  A command that has to wait (for the
 * channel, for a reply) becomes the single pending command; stdin is not
 * read until it completes, so results come out in command order.
 *
 * Command line (numbers: decimal or 0x hex, optional K/M/G/T suffix):
 *   --socket PATH        listen here (unlinked first and at exit); prints
 *                        "listening PATH"; one front-end at a time, the
 *                        next one is accepted when it goes
 *   --shmem SHMID:SIZE   a shared memory region for GET_SHMEM_CONFIG
 *                        (repeatable; SHMID < 256); with one, SHMEM is
 *                        offered
 *   --shmem-bit 21|22    the SHMEM protocol bit (21: rust-vmm vhost 0.16)
 *   --device null|blk|gpio  virtio features and config space
 *   --no-reply-ack       do not offer REPLY_ACK
 *   --log-shmfd          offer LOG_SHMFD (SET_LOG_BASE is then answered)
 *   --no-proto BIT       do not offer that protocol feature (repeatable)
 *   --queues N           GET_QUEUE_NUM and blk num_queues (default 8)
 *   --reply-timeout MS   wait for a reply at most this long (default
 *                        30000, 0 = forever)
 *   --fill-max BYTES     larger memfds are not pattern-filled (default 1G)
 *   --blk-sectors N      blk capacity (default 2097152, 1 GiB)
 *   --no-stdin           no commands; run until SIGTERM/SIGINT
 *   --once               exit 0 when the first connection ends
 *   -v                   log every message to stderr
 *
 * stdin: every line gets exactly one line on stdout, except raw (two):
 *   wait-channel [MS]   wait (for a connection too) until the connection
 *                       has a backend channel and SET_PROTOCOL_FEATURES:
 *                       "channel 0xPROTO" | "fail no-connection" (it ended
 *                       first) | "fail timeout"
 *   map SHMID SHM_OFFSET LEN FD_OFFSET rw|ro SEED
 *                       SHMEM_MAP of a fresh memfd of FD_OFFSET+LEN bytes,
 *                       byte at file offset x = vu_pattern_byte(SEED, x)
 *   map-nofd SHMID SHM_OFFSET LEN FD_OFFSET rw|ro     ... without an fd
 *   map-fd PATH SHMID SHM_OFFSET LEN FD_OFFSET rw|ro  ... of PATH opened
 *                       O_RDWR (rw) or O_RDONLY (ro)
 *   unmap SHMID SHM_OFFSET LEN                        SHMEM_UNMAP
 *   backend-req REQ [U64]   any backend request, with a u64 payload or none
 *   cycles N SHMID SHM_OFFSET LEN [SEED]
 *                       N times: MAP rw (one memfd of LEN bytes, pattern
 *                       SEED, fd_offset 0), then UNMAP, each waiting for
 *                       its ack: "ok N" | "fail V at cycle I map|unmap" |
 *                       the fail lines below; needs REPLY_ACK
 *   rtt REPS N SHMID SHM_OFFSET LEN [ECHO_CPU]   (bench P4; see cmd_rtt)
 *       These send NEED_REPLY when REPLY_ACK is negotiated and print
 *       "ok" (u64 0) | "fail N" (u64 N) | "fail disconnected" (channel or
 *       connection closed) | "fail timeout" | "fail badreply" (malformed
 *       answer; the channel is closed); without REPLY_ACK "sent".  Without
 *       a channel: "fail no-channel".  Values are sent as given: breaking
 *       the rules is the point of many tests (-v logs which rule).
 *   breq REQ HEXPAYLOAD [fd]   any backend request with these payload
 *                       bytes ("-": none), with a fresh pattern-filled
 *                       one-page memfd ("fd", kept: fdstat sent); answered
 *                       as map/unmap are; an fd in the answer is kept
 *                       (fdstat reply)
 *   raw HEXBYTES [fd] [shut]   the bytes as they are in one sendmsg (with a
 *                       pattern-filled one-page memfd: "fd"; "shut": then
 *                       shutdown(SHUT_WR) of the channel, the end of a
 *                       truncated message); "sent", then
 *                       "reply REQ 0xFLAGS SIZE U64" (U64 "-" when SIZE < 8)
 *                       | "closed" | "quiet" (nothing within 2 s)
 *   mangle-reply KIND   the next reply on the front-end channel is broken:
 *                       version (version bits 2), request (labelled as the
 *                       reply to another request), size (4 bytes short,
 *                       well framed),
 *                       oversize (a header announcing 64 KiB, nothing
 *                       after it), fds (a memfd attached), truncate (half
 *                       the payload, then shutdown(SHUT_WR)), short-header
 *                       (5 header bytes, then shutdown), twice (sent two
 *                       times): "armed"
 *   split N [US]        from now on every message goes out in pieces of N
 *                       bytes (fds with the first), US microseconds apart
 *                       (default 20000); N 0: whole again: "ok"
 *   fdstat WHAT         "fdstat ino=N dev=N" of an fd the backend holds:
 *                       kick|call|err IDX, log-base, log-fd, inflight (the
 *                       one GET_INFLIGHT_FD sent), sent (breq's), reply (the
 *                       last one a backend-channel answer carried) |
 *                       "fail none"
 *   fdwrite WHAT        write(2) a u64 1 to it (an eventfd counts it, a
 *                       memfd gets it at its file offset): "ok" | "fail ..."
 *   status              "status connected=0|1 features=0x.. proto=0x..
 *                       channel=0|1 regions=N owner=0|1 vrings_kicks=N
 *                       mem_regions=N resets=N connections=N maps=N
 *                       proto_set=0|1 vrings_calls=N vrings_enabled=N
 *                       kick_msgs=N dev_status=0x.. msgs=N"
 *   drop                close the connection and the channel: "dropped"
 *   quit                "bye", exit 0 (so does EOF)
 *   anything else       "error REASON"
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_gpio.h>
#include <linux/virtio_ring.h>

#include "pattern.h"
#include "proto.h"

#define PROG			"vu-test-backend"
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

/* The vring index of SET_VRING_KICK/CALL/ERR is 8 bits wide. */
#define MAX_VRINGS		256
/* Offered in GET_MAX_MEM_SLOTS; also bounds ADD_MEM_REG. */
#define MAX_MEM_SLOTS		32
/* SHMEM mappings remembered for "status" (bookkeeping only). */
#define MAX_SHMAPS		4096
/* A raw message may be bigger than any valid one, to test the limits. */
#define RAW_MAX			(2 * (VU_HDR_SIZE + VU_MAX_PAYLOAD))
#define LINE_MAX_LEN		(4 * RAW_MAX)
#define RAW_WAIT_MS		2000
#define FILL_CHUNK		(1u << 20)

enum device { DEV_NULL, DEV_BLK, DEV_GPIO };

static struct {
	const char *socket;
	uint64_t shmem[VU_SHMEM_MAX_REGIONS];	/* index = shmid, 0 = none */
	unsigned int nshmem;
	enum device device;
	unsigned int shmem_bit;
	bool reply_ack;
	bool log_shmfd;
	bool once;
	bool verbose;
	bool no_stdin;
	unsigned int queues;
	uint64_t proto_off;
	int reply_timeout_ms;	/* 0: wait forever */
	uint64_t fill_max;
	uint64_t blk_sectors;
} opt = {
	.device = DEV_NULL,
	.shmem_bit = VHOST_USER_PROTOCOL_F_SHMEM,
	.reply_ack = true,
	.queues = 8,
	.reply_timeout_ms = 30000,
	.fill_max = 1ULL << 30,
	.blk_sectors = 2097152,	/* 1 GiB */
};

struct vring_state {
	int kick;
	int call;
	int err;
	uint32_t num;
	uint32_t base;
	bool enabled;
};

struct mem_slot {
	struct vu_mem_region r;
	void *addr;		/* NULL: slot free */
	size_t maplen;
};

struct shmap {
	uint8_t shmid;
	uint64_t shm_offset;
	uint64_t len;
};

/* One front-end connection; reset at every accept and disconnect. */
static struct {
	int fd;			/* -1: not connected */
	int chan;		/* backend channel, -1: none */
	uint64_t features;
	uint64_t proto;
	bool proto_set;		/* SET_PROTOCOL_FEATURES received */
	bool owner;
	uint64_t status;
	uint64_t msgs;
	unsigned int kick_msgs;
	struct vring_state vr[MAX_VRINGS];
	struct mem_slot mem[MAX_MEM_SLOTS];
	struct shmap maps[MAX_SHMAPS];
	unsigned int nmaps;
	int log_base;		/* SET_LOG_BASE's fd, -1: none */
	int log_fd;		/* SET_LOG_FD's */
	int inflight;		/* what GET_INFLIGHT_FD sent */
	int reply_fd;		/* the last fd a backend-channel answer carried */
	int sent_fd;		/* the last fd breq sent */
} conn = { .fd = -1, .chan = -1, .log_base = -1, .log_fd = -1,
	   .inflight = -1, .reply_fd = -1, .sent_fd = -1 };

/* mangle-reply: what the next front-end reply gets wrong. */
enum mangle {
	MANGLE_NONE,
	MANGLE_VERSION,
	MANGLE_REQUEST,
	MANGLE_SIZE,
	MANGLE_OVERSIZE,
	MANGLE_FDS,
	MANGLE_TRUNCATE,
	MANGLE_SHORT_HEADER,
	MANGLE_TWICE,
};

static const char *const mangle_names[] = {
	[MANGLE_VERSION] = "version",
	[MANGLE_REQUEST] = "request",
	[MANGLE_SIZE] = "size",
	[MANGLE_OVERSIZE] = "oversize",
	[MANGLE_FDS] = "fds",
	[MANGLE_TRUNCATE] = "truncate",
	[MANGLE_SHORT_HEADER] = "short-header",
	[MANGLE_TWICE] = "twice",
};

static enum mangle mangle;
/* split: every message in pieces of split_bytes, split_us apart. */
static size_t split_bytes;
static unsigned int split_us = 20000;

static int listen_fd = -1;
/* Bumped whenever conn.chan changes, so a stale poll result is not used. */
static unsigned int chan_gen;
static unsigned int connections;
static unsigned int resets;
static bool finished;		/* --once and the connection ended */
/* Set by the SIGINT/SIGTERM handler (only ppoll() lets them in). */
static volatile sig_atomic_t got_signal;

/* The device's config space, as GET_CONFIG/SET_CONFIG see it. */
static uint8_t config_space[VU_CONFIG_MAX];

enum pend_kind {
	PEND_NONE,
	PEND_WAIT_CHANNEL,	/* wait-channel */
	PEND_REPLY,		/* map, unmap, backend-req */
	PEND_RAW,		/* raw: any message, close, or quiet */
};

static struct {
	enum pend_kind kind;
	int64_t deadline;	/* CLOCK_MONOTONIC ms, -1: none */
	uint32_t request;	/* PEND_REPLY: the request answered */
	bool is_map;		/* PEND_REPLY: bookkeeping on success */
	bool is_unmap;
	struct vu_mmap m;
	/* cycles: MAP and UNMAP of m, ncycles times, one ack at a time. */
	unsigned int ncycles;	/* 0: not a cycles command */
	unsigned int cycle;	/* the current one, from 0 */
	int fd;			/* what every MAP sends; valid if ncycles */
} pend;

/* stdin is read in raw chunks: stdio buffering would hide data from poll. */
static char line_buf[LINE_MAX_LEN + 1];
static size_t line_len;
static bool stdin_eof;

/* ---- logging and output ------------------------------------------------- */

static void __printf(1, 2) logf_(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define vlog(...)	do { if (opt.verbose) logf_(__VA_ARGS__); } while (0)

/* One line per command; flushed at once because the tests read a pipe. */
static void __printf(1, 2) out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- numbers ------------------------------------------------------------ */

/* Decimal or 0x hex, optional K/M/G/T (binary) suffix; no sign, no octal. */
static int parse_num(const char *s, uint64_t *v)
{
	unsigned long long x;
	unsigned int shift = 0;
	int base = 10;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		if (!isxdigit((unsigned char)s[2]))
			return -1;
	}
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift && *++end)
		return -1;
	if (shift && x > (UINT64_MAX >> shift))
		return -1;
	*v = (uint64_t)x << shift;
	return 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (parse_num(s, &x) || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* ---- message I/O -------------------------------------------------------- */

struct rx {
	uint8_t hdr[VU_HDR_SIZE];
	struct vu_hdr h;
	uint8_t payload[VU_MAX_PAYLOAD];
	size_t len;
	/* One more than a message may carry, so that "too many" is seen. */
	int fds[VU_MAX_FDS + 1];
	unsigned int nfds;
	bool ctrunc;
};

static void rx_close_fds(struct rx *rx)
{
	unsigned int i;

	for (i = 0; i < rx->nfds; i++)
		close_fd(&rx->fds[i]);
	rx->nfds = 0;
}

/* Hands an fd over to the caller, so rx_close_fds() leaves it alone. */
static int rx_take_fd(struct rx *rx, unsigned int i)
{
	int fd = rx->fds[i];

	rx->fds[i] = -1;
	return fd;
}

static void rx_collect_fds(struct msghdr *mh, struct rx *rx)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	if (mh->msg_flags & MSG_CTRUNC)
		rx->ctrunc = true;
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (rx->nfds < ARRAY_SIZE(rx->fds))
				rx->fds[rx->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/*
 * Read exactly len bytes, keeping every fd that comes with them (QEMU
 * attaches them to the header, but nothing forbids a later segment).
 * Returns 1 when done, 0 on EOF before the first byte, -1 otherwise.
 */
static int recv_full(int fd, void *buf, size_t len, struct rx *rx)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VU_MAX_FDS + 8))];
		struct cmsghdr align;
	} u;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		struct iovec iov = { (char *)buf + got, len - got };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = u.buf,
			.msg_controllen = sizeof(u.buf),
		};

		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A peer killed with unread data: a disconnect. */
			if (errno == ECONNRESET && !got)
				return 0;
			logf_("recvmsg: %s", strerror(errno));
			return -1;
		}
		rx_collect_fds(&mh, rx);
		if (n == 0) {
			if (got)
				logf_("peer closed in the middle of a message");
			return got ? -1 : 0;
		}
		got += n;
	}
	return 1;
}

enum rx_result {
	RX_OK,
	RX_EOF,
	RX_UNKNOWN,	/* well framed, but a request proto.c does not know */
	RX_BAD,		/* malformed: the stream cannot be trusted any more */
};

/*
 * Read and judge one message.  dir says which side sends it.  An unknown
 * request number with a sane size is read whole so the stream stays in
 * step and the caller can refuse it; anything else that fails validation
 * is RX_BAD.  On return every received fd is in rx->fds.
 */
static enum rx_result recv_msg(int fd, enum vu_dir dir,
			       const struct vu_ctx *ctx, struct rx *rx)
{
	bool be = dir == VU_BE_REQUEST || dir == VU_BE_REPLY;
	enum vu_result r;
	int ret;

	rx->nfds = 0;
	rx->len = 0;
	rx->ctrunc = false;
	ret = recv_full(fd, rx->hdr, VU_HDR_SIZE, rx);
	if (ret <= 0)
		return ret ? RX_BAD : RX_EOF;
	r = vu_hdr_parse(dir, rx->hdr, VU_HDR_SIZE, &rx->h);
	if (r == VU_E_REQUEST && rx->h.size <= VU_MAX_PAYLOAD) {
		if (recv_full(fd, rx->payload, rx->h.size, rx) <= 0)
			return RX_BAD;
		rx->len = rx->h.size;
		return RX_UNKNOWN;
	}
	if (r) {
		logf_("malformed header (%u %s, flags 0x%x, size %u): %s",
		      rx->h.request, vu_req_name(be, rx->h.request),
		      rx->h.flags, rx->h.size, vu_strresult(r));
		return RX_BAD;
	}
	if (recv_full(fd, rx->payload, rx->h.size, rx) <= 0)
		return RX_BAD;
	rx->len = rx->h.size;
	if (rx->ctrunc) {
		logf_("%s: fds truncated (MSG_CTRUNC)",
		      vu_req_name(be, rx->h.request));
		return RX_BAD;
	}
	r = vu_msg_check(dir, &rx->h, rx->payload, rx->len, rx->nfds, ctx);
	if (r) {
		logf_("malformed %s (flags 0x%x, size %u, %u fds): %s",
		      vu_req_name(be, rx->h.request), rx->h.flags, rx->h.size,
		      rx->nfds, vu_strresult(r));
		return RX_BAD;
	}
	return RX_OK;
}

/*
 * len bytes with the fds on the first one.  Normally one sendmsg (a stream
 * socket may take part of it: the rest follows); under "split", pieces of
 * split_bytes, split_us apart, so that the reader sees them one by one.
 */
static int send_bytes(int fd, const void *buf, size_t len, const int *fds,
		      unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VU_MAX_FDS + 1))];
		struct cmsghdr align;
	} u;
	struct msghdr mh;
	struct iovec iov;
	size_t done = 0, n;
	ssize_t r;

	if (nfds > VU_MAX_FDS + 1)
		return -EINVAL;
	while (done < len) {
		n = len - done;
		if (split_bytes && n > split_bytes)
			n = split_bytes;
		if (split_bytes && done)
			usleep(split_us);
		iov.iov_base = (char *)buf + done;
		iov.iov_len = n;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (nfds && !done)
			vu_msg_put_fds(&mh, u.buf, fds, nfds);
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)r;
	}
	return 0;
}

/* Header, payload and fds in one sendmsg, as QEMU expects them. */
static int send_msg(int fd, uint32_t request, uint32_t flags,
		    const void *payload, size_t len, const int *fds,
		    unsigned int nfds)
{
	static uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD + 16];
	struct vu_hdr h = { request, flags, (uint32_t)len };

	if (len > sizeof(buf) - VU_HDR_SIZE)
		return -EMSGSIZE;
	vu_hdr_encode(&h, buf);
	if (len)
		memcpy(buf + VU_HDR_SIZE, payload, len);
	return send_bytes(fd, buf, VU_HDR_SIZE + len, fds, nfds);
}

/* ---- front-end connection state ----------------------------------------- */

static uint64_t offered_features(void)
{
	uint64_t f = 1ULL << VHOST_USER_F_PROTOCOL_FEATURES |
		     1ULL << VIRTIO_F_VERSION_1 |
		     1ULL << VIRTIO_RING_F_INDIRECT_DESC |
		     1ULL << VIRTIO_RING_F_EVENT_IDX;

	switch (opt.device) {
	case DEV_BLK:
		f |= 1ULL << VIRTIO_BLK_F_SIZE_MAX |
		     1ULL << VIRTIO_BLK_F_SEG_MAX |
		     1ULL << VIRTIO_BLK_F_BLK_SIZE |
		     1ULL << VIRTIO_BLK_F_FLUSH |
		     1ULL << VIRTIO_BLK_F_MQ;
		break;
	case DEV_GPIO:
		f |= 1ULL << VIRTIO_GPIO_F_IRQ;
		break;
	case DEV_NULL:
		break;
	}
	return f;
}

static uint64_t offered_proto(void)
{
	uint64_t p = VU_PF(VHOST_USER_PROTOCOL_F_MQ) |
		     VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
		     VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
		     VU_PF(VHOST_USER_PROTOCOL_F_CONFIG) |
		     VU_PF(VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
		     VU_PF(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
		     VU_PF(VHOST_USER_PROTOCOL_F_STATUS);

	if (opt.reply_ack)
		p |= VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	if (opt.log_shmfd)
		p |= VU_PF(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
	if (opt.nshmem)
		p |= VU_PF(opt.shmem_bit);
	return p & ~opt.proto_off;
}

static bool negotiated(unsigned int bit)
{
	return conn.proto & VU_PF(bit);
}

static void config_init(void)
{
	struct virtio_blk_config blk;
	struct virtio_gpio_config gpio;

	/* Little-endian host assumed, as in proto.h. */
	switch (opt.device) {
	case DEV_BLK:
		memset(&blk, 0, sizeof(blk));
		blk.capacity = opt.blk_sectors;
		blk.size_max = 65536;
		blk.seg_max = 128 - 2;
		blk.blk_size = 512;
		blk.num_queues = (uint16_t)opt.queues;
		memcpy(config_space, &blk, sizeof(blk));
		break;
	case DEV_GPIO:
		memset(&gpio, 0, sizeof(gpio));
		gpio.ngpio = 8;
		gpio.gpio_names_size = 0;
		memcpy(config_space, &gpio, sizeof(gpio));
		break;
	case DEV_NULL:
		break;
	}
}

static void vring_reset(struct vring_state *v)
{
	close_fd(&v->kick);
	close_fd(&v->call);
	close_fd(&v->err);
	v->num = 0;
	v->base = 0;
	v->enabled = false;
}

static void mem_slot_free(struct mem_slot *s)
{
	if (s->addr)
		munmap(s->addr, s->maplen);
	memset(s, 0, sizeof(*s));
}

static unsigned int mem_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < MAX_MEM_SLOTS; i++)
		n += !!conn.mem[i].addr;
	return n;
}

/*
 * The whole file from offset 0, as other backends do: mmap_offset need
 * not be page-aligned.  A read-only fd still gets mapped, read-only.
 */
static int mem_slot_map(struct mem_slot *s, const struct vu_mem_region *r,
			int fd)
{
	size_t len;
	void *p;

	if (r->mmap_offset > SIZE_MAX - r->size)
		return -EOVERFLOW;
	len = r->mmap_offset + r->size;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED && errno == EACCES)
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->r = *r;
	s->addr = p;
	s->maplen = len;
	return 0;
}

/*
 * RESET_OWNER, RESET_DEVICE, SET_STATUS 0: the device goes back to its
 * initial state.  The front-end unmaps every SHMEM mapping on a reset, so
 * the bookkeeping of what this backend mapped is forgotten too.
 */
static void device_reset(const char *why)
{
	unsigned int i;

	vlog("device reset (%s)", why);
	resets++;
	for (i = 0; i < MAX_VRINGS; i++)
		vring_reset(&conn.vr[i]);
	conn.status = 0;
	conn.nmaps = 0;
}

static void conn_state_init(void)
{
	unsigned int i;

	conn.features = 0;
	conn.proto = 0;
	conn.proto_set = false;
	conn.owner = false;
	conn.status = 0;
	conn.msgs = 0;
	conn.kick_msgs = 0;
	conn.nmaps = 0;
	for (i = 0; i < MAX_VRINGS; i++)
		vring_reset(&conn.vr[i]);
	for (i = 0; i < MAX_MEM_SLOTS; i++)
		mem_slot_free(&conn.mem[i]);
	close_fd(&conn.log_base);
	close_fd(&conn.log_fd);
	close_fd(&conn.inflight);
	close_fd(&conn.reply_fd);
	close_fd(&conn.sent_fd);
}

/* ---- pending command ----------------------------------------------------- */

static void pend_done(const char *fmt, ...) __printf(1, 2);

static void pend_done(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (pend.ncycles)
		close(pend.fd);
	memset(&pend, 0, sizeof(pend));
	pend.kind = PEND_NONE;
}

static int64_t deadline_in(int ms)
{
	return ms > 0 ? now_ms() + ms : -1;
}

static void check_wait_channel(void)
{
	if (pend.kind == PEND_WAIT_CHANNEL && conn.fd >= 0 &&
	    conn.chan >= 0 && conn.proto_set)
		pend_done("channel 0x%" PRIx64, conn.proto);
}

static void chan_close(const char *why)
{
	if (conn.chan < 0)
		return;
	logf_("backend channel closed (%s)", why);
	close_fd(&conn.chan);
	chan_gen++;
	if (pend.kind == PEND_REPLY)
		pend_done("fail disconnected");
	else if (pend.kind == PEND_RAW)
		pend_done("closed");
}

static void conn_end(const char *why)
{
	if (conn.fd < 0)
		return;
	logf_("front-end connection ended (%s)", why);
	chan_close("connection ended");
	close_fd(&conn.fd);
	conn_state_init();
	if (pend.kind == PEND_WAIT_CHANNEL)
		pend_done("fail no-connection");
	if (opt.once)
		finished = true;
}

/* ---- front-end requests -------------------------------------------------- */

static int make_memfd(uint64_t size, uint32_t seed);

/*
 * Every reply on the front-end channel goes out here, so that
 * mangle-reply can break the next one.
 */
static int fe_reply(uint32_t request, const void *p, size_t len,
		    const int *fds, unsigned int nfds)
{
	static uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD + 16];
	uint32_t flags = vu_hdr_flags(true, false);
	enum mangle m = mangle;
	int all[VU_MAX_FDS + 1];
	struct vu_hdr h;
	int ret, extra;

	mangle = MANGLE_NONE;
	if (m != MANGLE_NONE)
		logf_("mangle-reply %s: %s reply", mangle_names[m],
		      vu_req_name(false, request));
	switch (m) {
	case MANGLE_VERSION:
		flags = (flags & ~VU_FLAG_VERSION_MASK) | 0x2;
		break;
	case MANGLE_REQUEST:
		request = request == VHOST_USER_GET_FEATURES ?
			  VHOST_USER_GET_PROTOCOL_FEATURES :
			  VHOST_USER_GET_FEATURES;
		break;
	case MANGLE_SIZE:
		/* Well framed, but shorter than the request's reply is. */
		return send_msg(conn.fd, request, flags, p, len < 4 ? 0 : len - 4,
				fds, nfds);
	case MANGLE_OVERSIZE:
		h = (struct vu_hdr){ request, flags, 16 * VU_MAX_PAYLOAD };
		vu_hdr_encode(&h, buf);
		return send_bytes(conn.fd, buf, VU_HDR_SIZE, fds, nfds);
	case MANGLE_FDS:
		extra = make_memfd((uint64_t)sysconf(_SC_PAGESIZE), 0);
		if (extra < 0)
			return extra;
		memcpy(all, fds, nfds * sizeof(int));
		all[nfds] = extra;
		ret = send_msg(conn.fd, request, flags, p, len, all, nfds + 1);
		close(extra);
		return ret;
	case MANGLE_TRUNCATE:
	case MANGLE_SHORT_HEADER:
		h = (struct vu_hdr){ request, flags, (uint32_t)len };
		vu_hdr_encode(&h, buf);
		if (len)
			memcpy(buf + VU_HDR_SIZE, p, len);
		ret = send_bytes(conn.fd, buf, m == MANGLE_TRUNCATE ?
				 VU_HDR_SIZE + len / 2 : 5, fds, nfds);
		/* The peer sees the end of the stream mid-message. */
		if (!ret)
			shutdown(conn.fd, SHUT_WR);
		return ret;
	case MANGLE_TWICE:
		ret = send_msg(conn.fd, request, flags, p, len, fds, nfds);
		if (ret)
			return ret;
		break;
	default:
		break;
	}
	return send_msg(conn.fd, request, flags, p, len, fds, nfds);
}

static int reply_u64(uint32_t request, uint64_t v)
{
	uint8_t b[VU_U64_SIZE];

	vu_u64_encode(v, b);
	return fe_reply(request, b, sizeof(b), NULL, 0);
}

static int reply_bytes(uint32_t request, const void *p, size_t len)
{
	return fe_reply(request, p, len, NULL, 0);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));	/* little-endian host, as proto.h */
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* SET_VRING_KICK/CALL/ERR: the fd replaces (and closes) the old one. */
static int set_vring_fd(struct rx *rx)
{
	uint64_t v = get64(rx->payload);
	struct vring_state *vr = &conn.vr[v & VHOST_USER_VRING_IDX_MASK];
	int fd = -1, *slot;

	if (!(v & VHOST_USER_VRING_NOFD_MASK))
		fd = rx_take_fd(rx, 0);
	switch (rx->h.request) {
	case VHOST_USER_SET_VRING_KICK:
		slot = &vr->kick;
		conn.kick_msgs++;
		break;
	case VHOST_USER_SET_VRING_CALL:
		slot = &vr->call;
		break;
	default:
		slot = &vr->err;
		break;
	}
	close_fd(slot);
	*slot = fd;
	return 0;
}

/* A vhost_vring_state index the table can hold, or -1. */
static int vring_index(const struct rx *rx)
{
	uint32_t i = get32(rx->payload);

	if (i >= MAX_VRINGS) {
		logf_("%s: vring index %u out of range",
		      vu_req_name(false, rx->h.request), i);
		return -1;
	}
	return (int)i;
}

static int set_mem_table(struct rx *rx)
{
	struct mem_slot fresh[VU_MEM_MAX_REGIONS];
	struct vu_mem_region r;
	unsigned int i, n = get32(rx->payload);
	int ret = 0;

	memset(fresh, 0, sizeof(fresh));
	/* vu_msg_check() made sure there are n regions and n fds. */
	for (i = 0; i < n && !ret; i++) {
		vu_mem_region_decode(rx->payload, rx->len, false, i, &r);
		ret = mem_slot_map(&fresh[i], &r, rx->fds[i]);
		if (ret)
			logf_("SET_MEM_TABLE: region %u (gpa 0x%" PRIx64
			      " size 0x%" PRIx64 "): mmap: %s", i, r.gpa,
			      r.size, strerror(-ret));
	}
	if (ret) {
		for (i = 0; i < n; i++)
			mem_slot_free(&fresh[i]);
		return 1;
	}
	/* The new table replaces the old one as a whole. */
	for (i = 0; i < MAX_MEM_SLOTS; i++)
		mem_slot_free(&conn.mem[i]);
	memcpy(conn.mem, fresh, n * sizeof(fresh[0]));
	vlog("SET_MEM_TABLE: %u regions mapped", n);
	return 0;
}

static int add_mem_reg(struct rx *rx)
{
	struct vu_mem_region r;
	unsigned int i;
	int ret;

	vu_mem_region_decode(rx->payload, rx->len, false, 0, &r);
	for (i = 0; i < MAX_MEM_SLOTS && conn.mem[i].addr; i++)
		;
	if (i == MAX_MEM_SLOTS) {
		logf_("ADD_MEM_REG: all %d slots in use", MAX_MEM_SLOTS);
		return 1;
	}
	ret = mem_slot_map(&conn.mem[i], &r, rx->fds[0]);
	if (ret) {
		logf_("ADD_MEM_REG: mmap: %s", strerror(-ret));
		return 1;
	}
	return 0;
}

static int rem_mem_reg(struct rx *rx)
{
	struct vu_mem_region r;
	unsigned int i;

	vu_mem_region_decode(rx->payload, rx->len, false, 0, &r);
	for (i = 0; i < MAX_MEM_SLOTS; i++) {
		if (conn.mem[i].addr && conn.mem[i].r.gpa == r.gpa &&
		    conn.mem[i].r.size == r.size) {
			mem_slot_free(&conn.mem[i]);
			return 0;
		}
	}
	logf_("REM_MEM_REG: no region at gpa 0x%" PRIx64 " size 0x%" PRIx64,
	      r.gpa, r.size);
	return 1;
}

/* An out-of-range read gets an empty reply: the protocol's "error". */
static int get_config(struct rx *rx)
{
	uint8_t buf[VU_CONFIG_HDR_SIZE + VU_CONFIG_MAX];
	uint32_t off = get32(rx->payload), size = get32(rx->payload + 4);

	if (off > VU_CONFIG_MAX || size > VU_CONFIG_MAX - off) {
		logf_("GET_CONFIG: offset %u size %u out of range", off, size);
		return reply_bytes(rx->h.request, NULL, 0);
	}
	memcpy(buf, rx->payload, VU_CONFIG_HDR_SIZE);
	memcpy(buf + VU_CONFIG_HDR_SIZE, config_space + off, size);
	return reply_bytes(rx->h.request, buf, VU_CONFIG_HDR_SIZE + size);
}

static int set_config(struct rx *rx)
{
	uint32_t off = get32(rx->payload), size = get32(rx->payload + 4);

	if (off > VU_CONFIG_MAX || size > VU_CONFIG_MAX - off) {
		logf_("SET_CONFIG: offset %u size %u out of range", off, size);
		return 1;
	}
	memcpy(config_space + off, rx->payload + VU_CONFIG_HDR_SIZE, size);
	return 0;
}

/*
 * GET_INFLIGHT_FD: a one-page memfd (pattern seed 0x1f, so the front-end
 * can tell it is this one), kept for fdstat; VhostUserInflight back with
 * mmap_size = the page, offset 0, the queue numbers as asked.
 */
static int get_inflight_fd(struct rx *rx)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint8_t buf[24];
	int fd;

	fd = make_memfd(page, 0x1f);
	if (fd < 0) {
		logf_("GET_INFLIGHT_FD: memfd: %s", strerror(-fd));
		memset(buf, 0, sizeof(buf));
		memcpy(buf + 16, rx->payload + 16, 8);
		return fe_reply(rx->h.request, buf, sizeof(buf), NULL, 0);
	}
	close_fd(&conn.inflight);
	conn.inflight = fd;
	vu_u64_encode(page, buf);
	vu_u64_encode(0, buf + 8);
	memcpy(buf + 16, rx->payload + 16, 8);
	return fe_reply(rx->h.request, buf, sizeof(buf), &fd, 1);
}

static int get_shmem_config(struct rx *rx)
{
	static struct vu_shmem_config c;
	uint8_t buf[VU_SHMEM_CONFIG_SIZE];

	c.nregions = opt.nshmem;
	memcpy(c.sizes, opt.shmem, sizeof(c.sizes));
	vu_shmem_config_encode(&c, buf);
	return reply_bytes(rx->h.request, buf, sizeof(buf));
}

/*
 * A request this backend does not implement but whose sender waits for a
 * reply of its own (not only a REPLY_ACK) still gets one, or the VMM
 * hangs: the smallest reply the table allows, zeros (GET_INFLIGHT_FD:
 * mmap_size 0, no fd) or, when that is a u64, 1 = failure (with the
 * "no fd" bit where the reply could carry one).
 */
static int refuse(struct rx *rx)
{
	struct vu_ctx ctx = { .proto = conn.proto };
	const struct vu_req_info *ri = vu_req_info(false, rx->h.request);
	uint8_t buf[VU_MAX_PAYLOAD] = { 0 };
	size_t len;
	uint64_t v = 1;

	if (!ri || vu_reply_expected(false, &rx->h, &ctx) != VU_REPLY_MSG)
		return 0;
	len = ri->reply.min ? ri->reply.min : VU_U64_SIZE;
	if (len > ri->reply.max)
		len = ri->reply.max;
	if (len == VU_U64_SIZE) {
		if (ri->reply.fd_rule == VU_FD_UNLESS_NOFD)
			v |= VHOST_USER_VRING_NOFD_MASK;
		vu_u64_encode(v, buf);
	}
	return reply_bytes(rx->h.request, buf, len) ?: 1;
}

/* What fe_dispatch() did about the answer to a request. */
struct fe_result {
	uint64_t ack;		/* REPLY_ACK value, if one is due */
	int sent;		/* 1: own reply sent, <0: -errno, 0: none */
};

static struct fe_result fe_dispatch(struct rx *rx)
{
	struct fe_result res = { 0, 0 };
	uint32_t req = rx->h.request;
	uint64_t v;
	uint8_t st[8];
	int i;

	switch (req) {
	case VHOST_USER_GET_FEATURES:
		res.sent = reply_u64(req, offered_features()) ?: 1;
		break;
	case VHOST_USER_SET_FEATURES:
		v = get64(rx->payload);
		if (v & ~offered_features())
			logf_("SET_FEATURES 0x%" PRIx64 ": not offered: 0x%"
			      PRIx64, v, v & ~offered_features());
		conn.features = v;
		vlog("features 0x%" PRIx64, v);
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		res.sent = reply_u64(req, offered_proto()) ?: 1;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		v = get64(rx->payload);
		if (v & ~offered_proto())
			logf_("SET_PROTOCOL_FEATURES 0x%" PRIx64
			      ": not offered: 0x%" PRIx64, v,
			      v & ~offered_proto());
		conn.proto = v;
		conn.proto_set = true;
		vlog("protocol features 0x%" PRIx64, v);
		break;
	case VHOST_USER_SET_OWNER:
		conn.owner = true;
		break;
	case VHOST_USER_RESET_OWNER:
		conn.owner = false;
		device_reset("RESET_OWNER");
		break;
	case VHOST_USER_RESET_DEVICE:
		device_reset("RESET_DEVICE");
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		chan_close("replaced by SET_BACKEND_REQ_FD");
		conn.chan = rx_take_fd(rx, 0);
		chan_gen++;
		vlog("backend channel fd %d", conn.chan);
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		res.sent = reply_u64(req, opt.queues) ?: 1;
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		res.sent = reply_u64(req, MAX_MEM_SLOTS) ?: 1;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		res.ack = set_mem_table(rx);
		break;
	case VHOST_USER_ADD_MEM_REG:
		res.ack = add_mem_reg(rx);
		break;
	case VHOST_USER_REM_MEM_REG:
		res.ack = rem_mem_reg(rx);
		break;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		i = vring_index(rx);
		if (i < 0) {
			res.ack = 1;
			break;
		}
		v = get32(rx->payload + 4);
		if (req == VHOST_USER_SET_VRING_NUM)
			conn.vr[i].num = (uint32_t)v;
		else if (req == VHOST_USER_SET_VRING_BASE)
			conn.vr[i].base = (uint32_t)v;
		else
			conn.vr[i].enabled = v;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		/* No data path: the addresses are not used, only checked. */
		res.ack = vring_index(rx) < 0;
		break;
	case VHOST_USER_GET_VRING_BASE:
		/* The ring stops: its kick fd goes, the base is reported. */
		i = vring_index(rx);
		memcpy(st, rx->payload, 4);
		v = i < 0 ? 0 : conn.vr[i].base;
		memcpy(st + 4, &v, 4);
		if (i >= 0)
			close_fd(&conn.vr[i].kick);
		res.sent = reply_bytes(req, st, sizeof(st)) ?: 1;
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		res.ack = set_vring_fd(rx);
		break;
	case VHOST_USER_GET_CONFIG:
		res.sent = get_config(rx) ?: 1;
		break;
	case VHOST_USER_SET_CONFIG:
		res.ack = set_config(rx);
		break;
	case VHOST_USER_SET_STATUS:
		v = get64(rx->payload);
		vlog("status 0x%" PRIx64, v);
		if (!v)
			device_reset("SET_STATUS 0");
		conn.status = v;
		break;
	case VHOST_USER_GET_STATUS:
		res.sent = reply_u64(req, conn.status) ?: 1;
		break;
	case VHOST_USER_GET_SHMEM_CONFIG:
		res.sent = get_shmem_config(rx) ?: 1;
		break;
	case VHOST_USER_GET_INFLIGHT_FD:
		res.sent = get_inflight_fd(rx) ?: 1;
		break;
	case VHOST_USER_SET_LOG_BASE:
		/* Kept (fdstat/fdwrite log-base); no dirty log is written. */
		close_fd(&conn.log_base);
		if (rx->nfds)
			conn.log_base = rx_take_fd(rx, 0);
		if (negotiated(VHOST_USER_PROTOCOL_F_LOG_SHMFD))
			res.sent = reply_u64(req, 0) ?: 1;
		break;
	case VHOST_USER_SET_LOG_FD:
		close_fd(&conn.log_fd);
		conn.log_fd = rx_take_fd(rx, 0);
		break;
	default:
		logf_("%s (%u): not supported", vu_req_name(false, req), req);
		res.ack = 1;
		res.sent = refuse(rx);
		break;
	}
	return res;
}

/* Returns -1 when the connection must go. */
static int fe_handle(void)
{
	static struct rx rx;
	struct vu_ctx ctx = { .proto = conn.proto };
	struct fe_result res;
	enum rx_result rr;
	bool ack = false;
	int ret = 0;

	rr = recv_msg(conn.fd, VU_FE_REQUEST, &ctx, &rx);
	if (rr == RX_EOF) {
		rx_close_fds(&rx);
		conn_end("closed by the front-end");
		return -1;
	}
	if (rr == RX_BAD) {
		rx_close_fds(&rx);
		conn_end("malformed message");
		return -1;
	}
	conn.msgs++;
	vlog("<- %s (%u) flags 0x%x size %u fds %u",
	     vu_req_name(false, rx.h.request), rx.h.request, rx.h.flags,
	     rx.h.size, rx.nfds);
	if (rr == RX_UNKNOWN) {
		logf_("unknown request %u (size %u, %u fds): refused",
		      rx.h.request, rx.h.size, rx.nfds);
		res.ack = 1;
		res.sent = 0;
		ack = (rx.h.flags & VU_FLAG_NEED_REPLY) &&
		      negotiated(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	} else {
		res = fe_dispatch(&rx);
		/* After the request: SET_PROTOCOL_FEATURES may enable acks. */
		ctx.proto = conn.proto;
		ack = !res.sent &&
		      vu_reply_expected(false, &rx.h, &ctx) == VU_REPLY_ACK;
	}
	rx_close_fds(&rx);
	if (res.sent < 0)
		ret = res.sent;
	else if (ack)
		ret = reply_u64(rx.h.request, res.ack);
	if (ret) {
		logf_("reply to %s: %s", vu_req_name(false, rx.h.request),
		      strerror(-ret));
		conn_end("send failed");
		return -1;
	}
	check_wait_channel();
	return 0;
}

/* ---- backend channel ----------------------------------------------------- */

static void maps_add(const struct vu_mmap *m)
{
	if (conn.nmaps == MAX_SHMAPS) {
		logf_("more than %d mappings: not counted", MAX_SHMAPS);
		return;
	}
	conn.maps[conn.nmaps].shmid = m->shmid;
	conn.maps[conn.nmaps].shm_offset = m->shm_offset;
	conn.maps[conn.nmaps].len = m->len;
	conn.nmaps++;
}

static void maps_remove(const struct vu_mmap *m)
{
	unsigned int i;

	for (i = 0; i < conn.nmaps; i++) {
		if (conn.maps[i].shmid == m->shmid &&
		    conn.maps[i].shm_offset == m->shm_offset &&
		    conn.maps[i].len == m->len) {
			conn.maps[i] = conn.maps[--conn.nmaps];
			return;
		}
	}
}

/*
 * raw: whatever comes back is printed, not judged (the point is to see
 * how the helper answers garbage).  A size over the limit cannot be read
 * in step, so the channel goes.
 */
static void chan_handle_raw(void)
{
	static struct rx rx;
	struct vu_hdr h;
	int ret;

	rx.nfds = 0;
	ret = recv_full(conn.chan, rx.hdr, VU_HDR_SIZE, &rx);
	if (ret <= 0) {
		rx_close_fds(&rx);
		chan_close(ret ? "receive error" : "closed by the peer");
		return;
	}
	vu_hdr_decode(rx.hdr, &h);
	if (h.size > VU_MAX_PAYLOAD) {
		rx_close_fds(&rx);
		logf_("raw reply size %u too big: dropping the channel",
		      h.size);
		pend_done("reply %u 0x%x %u -", h.request, h.flags, h.size);
		chan_close("oversized reply");
		return;
	}
	ret = recv_full(conn.chan, rx.payload, h.size, &rx);
	rx_close_fds(&rx);
	if (ret <= 0 && h.size) {
		chan_close("truncated reply");
		return;
	}
	vlog("<= %s (%u) flags 0x%x size %u (raw)",
	     vu_req_name(true, h.request), h.request, h.flags, h.size);
	if (h.size >= VU_U64_SIZE)
		pend_done("reply %u 0x%x %u %" PRIu64, h.request, h.flags,
			  h.size, get64(rx.payload));
	else
		pend_done("reply %u 0x%x %u -", h.request, h.flags, h.size);
}

/* The next message of a cycles command: after a MAP, its UNMAP. */
static void cycles_next(void)
{
	uint8_t payload[VU_MMAP_SIZE];
	bool map = !pend.is_map;
	uint32_t req = map ? VHOST_USER_BACKEND_SHMEM_MAP :
			     VHOST_USER_BACKEND_SHMEM_UNMAP;
	int ret;

	pend.m.flags = map ? VU_MMAP_F_RW : 0;
	vu_mmap_encode(&pend.m, payload);
	ret = send_msg(conn.chan, req, vu_hdr_flags(false, true), payload,
		       sizeof(payload), &pend.fd, map);
	if (ret) {
		logf_("cycle %u: send %s: %s", pend.cycle,
		      vu_req_name(true, req), strerror(-ret));
		chan_close("send failed");	/* "fail disconnected" */
		return;
	}
	pend.is_map = map;
	pend.is_unmap = !map;
	pend.request = req;
	pend.deadline = deadline_in(opt.reply_timeout_ms);
}

static void chan_handle(void)
{
	static struct rx rx;
	struct vu_ctx ctx = { .proto = conn.proto };
	enum rx_result rr;
	uint64_t v;

	if (pend.kind == PEND_RAW) {
		chan_handle_raw();
		return;
	}
	rr = recv_msg(conn.chan, VU_BE_REPLY, &ctx, &rx);
	if (rr == RX_OK && rx.nfds) {
		close_fd(&conn.reply_fd);
		conn.reply_fd = rx_take_fd(&rx, 0);
	}
	rx_close_fds(&rx);
	if (rr == RX_EOF) {
		chan_close("closed by the peer");
		return;
	}
	if (rr == RX_UNKNOWN && pend.kind == PEND_REPLY &&
	    rx.h.request == pend.request && rx.len == VU_U64_SIZE) {
		/* backend-req with a number proto.h does not know. */
		rr = RX_OK;
	}
	if (rr != RX_OK) {
		if (rr == RX_UNKNOWN)
			logf_("reply to unknown request %u on the channel",
			      rx.h.request);
		if (pend.kind == PEND_REPLY)
			pend_done("fail badreply");
		chan_close("malformed reply");
		return;
	}
	vlog("<= %s (%u) flags 0x%x size %u",
	     vu_req_name(true, rx.h.request), rx.h.request, rx.h.flags,
	     rx.h.size);
	if (pend.kind != PEND_REPLY || rx.h.request != pend.request ||
	    rx.len < VU_U64_SIZE) {
		logf_("unexpected reply to %s (%u) on the channel: ignored",
		      vu_req_name(true, rx.h.request), rx.h.request);
		return;
	}
	v = get64(rx.payload);
	if (v && pend.ncycles) {
		pend_done("fail %" PRIu64 " at cycle %u %s", v, pend.cycle,
			  pend.is_map ? "map" : "unmap");
		return;
	}
	if (v) {
		pend_done("fail %" PRIu64, v);
		return;
	}
	if (pend.is_map)
		maps_add(&pend.m);
	else if (pend.is_unmap)
		maps_remove(&pend.m);
	if (!pend.ncycles)
		pend_done("ok");
	else if (pend.is_unmap && ++pend.cycle == pend.ncycles)
		pend_done("ok %u", pend.ncycles);
	else
		cycles_next();
}

/* ---- commands ------------------------------------------------------------ */

#define MAX_ARGS	16

static bool need_channel(void)
{
	if (conn.chan >= 0)
		return true;
	out("fail no-channel");
	return false;
}

/*
 * Send one request on the backend channel and either wait for its answer
 * (REPLY_ACK negotiated: NEED_REPLY set) or say "sent".
 */
static void chan_request(uint32_t request, const void *payload, size_t len,
			 int fd)
{
	bool want = negotiated(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	int ret;

	ret = send_msg(conn.chan, request, vu_hdr_flags(false, want), payload,
		       len, &fd, fd >= 0);
	vlog("=> %s (%u) size %zu fd %d%s", vu_req_name(true, request),
	     request, len, fd, want ? " NEED_REPLY" : "");
	if (ret) {
		logf_("send %s: %s", vu_req_name(true, request),
		      strerror(-ret));
		out("fail disconnected");
		chan_close("send failed");
		return;
	}
	if (!want) {
		out("sent");
		return;
	}
	pend.kind = PEND_REPLY;
	pend.request = request;
	pend.deadline = deadline_in(opt.reply_timeout_ms);
}

static int parse_rw(const char *s, bool *rw)
{
	if (!strcmp(s, "rw"))
		*rw = true;
	else if (!strcmp(s, "ro"))
		*rw = false;
	else
		return -1;
	return 0;
}

/* SHMID SHM_OFFSET LEN FD_OFFSET [rw|ro], starting at argv[0]. */
static int parse_mmap(char **argv, bool with_flags, struct vu_mmap *m)
{
	uint64_t shmid;
	bool rw = false;

	memset(m, 0, sizeof(*m));
	if (parse_num(argv[0], &shmid) || shmid > UINT8_MAX ||
	    parse_num(argv[1], &m->shm_offset) || parse_num(argv[2], &m->len))
		return -1;
	if (with_flags && (parse_num(argv[3], &m->fd_offset) ||
			   parse_rw(argv[4], &rw)))
		return -1;
	m->shmid = (uint8_t)shmid;
	m->flags = rw ? VU_MMAP_F_RW : 0;
	return 0;
}

/* Says in the log when a command is meant to break the rules. */
static void note_rules(const struct vu_mmap *m, bool map)
{
	enum vu_result r = vu_mmap_check(m, map, opt.shmem,
					 VU_SHMEM_MAX_REGIONS,
					 (uint64_t)sysconf(_SC_PAGESIZE));

	if (r)
		vlog("note: this %s breaks the rules (%s)",
		     map ? "map" : "unmap", vu_strresult(r));
}

/* Pattern-filled, so the reader can tell seed and offset of every byte. */
static int make_memfd(uint64_t size, uint32_t seed)
{
	static uint8_t chunk[FILL_CHUNK];
	uint64_t off;
	size_t n;
	int fd;

	fd = memfd_create("vu-test-backend", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (size > INT64_MAX || ftruncate(fd, (off_t)size)) {
		/* A nonsense range still gets sent: the helper must refuse. */
		logf_("memfd size 0x%" PRIx64 ": left empty", size);
		return fd;
	}
	if (size > opt.fill_max) {
		logf_("memfd size 0x%" PRIx64 " over --fill-max: not filled",
		      size);
		return fd;
	}
	for (off = 0; off < size; off += n) {
		n = size - off < FILL_CHUNK ? size - off : FILL_CHUNK;
		vu_pattern_fill(seed, off, chunk, n);
		if (pwrite(fd, chunk, n, (off_t)off) != (ssize_t)n) {
			logf_("memfd fill: %s", strerror(errno));
			close(fd);
			return -EIO;
		}
	}
	return fd;
}

/* Opened without blocking (a FIFO has no writer), then made blocking. */
static int open_path(const char *path, bool rw)
{
	int fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static void cmd_map(int argc, char **argv, bool nofd, bool path)
{
	uint8_t payload[VU_MMAP_SIZE];
	const char *file = NULL;
	struct vu_mmap m;
	uint64_t size;
	uint32_t seed = 0;
	int fd = -1;

	if (path) {
		file = argv[1];
		argv++;
		argc--;
	}
	if (argc != (nofd || path ? 6 : 7) || parse_mmap(argv + 1, true, &m) ||
	    (!nofd && !path && parse_u32(argv[6], &seed))) {
		out("error usage: %s SHMID SHM_OFFSET LEN FD_OFFSET rw|ro%s",
		    path ? "map-fd PATH" : nofd ? "map-nofd" : "map",
		    nofd || path ? "" : " SEED");
		return;
	}
	if (!need_channel())
		return;
	note_rules(&m, true);
	if (path) {
		fd = open_path(file, m.flags & VU_MMAP_F_RW);
		if (fd < 0) {
			out("error open %s: %s", file, strerror(-fd));
			return;
		}
	} else if (!nofd) {
		size = m.fd_offset + m.len;
		if (size < m.len)
			size = UINT64_MAX;	/* wrapped: left empty */
		fd = make_memfd(size, seed);
		if (fd < 0) {
			out("error memfd: %s", strerror(-fd));
			return;
		}
	}
	vu_mmap_encode(&m, payload);
	chan_request(VHOST_USER_BACKEND_SHMEM_MAP, payload, sizeof(payload),
		     fd);
	/* In flight the fd holds the file; the kernel keeps the pages. */
	close_fd(&fd);
	if (pend.kind == PEND_REPLY) {
		pend.is_map = true;
		pend.m = m;
	}
}

static void cmd_unmap(int argc, char **argv)
{
	uint8_t payload[VU_MMAP_SIZE];
	struct vu_mmap m;

	if (argc != 4 || parse_mmap(argv + 1, false, &m)) {
		out("error usage: unmap SHMID SHM_OFFSET LEN");
		return;
	}
	if (!need_channel())
		return;
	note_rules(&m, false);
	vu_mmap_encode(&m, payload);
	chan_request(VHOST_USER_BACKEND_SHMEM_UNMAP, payload, sizeof(payload),
		     -1);
	if (pend.kind == PEND_REPLY) {
		pend.is_unmap = true;
		pend.m = m;
	}
}

static void cmd_backend_req(int argc, char **argv)
{
	uint8_t payload[VU_U64_SIZE];
	uint32_t req;
	uint64_t v;

	if (argc < 2 || argc > 3 || parse_u32(argv[1], &req) ||
	    (argc == 3 && parse_num(argv[2], &v))) {
		out("error usage: backend-req REQ [U64]");
		return;
	}
	if (!need_channel())
		return;
	if (argc == 3)
		vu_u64_encode(v, payload);
	chan_request(req, payload, argc == 3 ? sizeof(payload) : 0, -1);
}

static void cmd_cycles(int argc, char **argv)
{
	uint32_t n, seed = 0;
	struct vu_mmap m;
	int fd;

	if (argc < 5 || argc > 6 || parse_u32(argv[1], &n) || !n ||
	    parse_mmap(argv + 2, false, &m) ||
	    (argc == 6 && parse_u32(argv[5], &seed))) {
		out("error usage: cycles N SHMID SHM_OFFSET LEN [SEED]");
		return;
	}
	if (!need_channel())
		return;
	if (!negotiated(VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		out("error cycles needs REPLY_ACK");
		return;
	}
	note_rules(&m, true);
	fd = make_memfd(m.len, seed);
	if (fd < 0) {
		out("error memfd: %s", strerror(-fd));
		return;
	}
	pend.kind = PEND_REPLY;
	pend.m = m;
	pend.fd = fd;
	pend.ncycles = n;
	cycles_next();
}

/* ---- rtt: the round trip a backend waits for (bench P4) ----------------- */

#define RTT_MAX		100000
#define RTT_MAX_REPS	64
#define RTT_BLOCK	16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One request on the backend channel, blocking until its REPLY_ACK.  The
 * ack (header + u64) is read in one recvmsg, as the floor's reply is: the
 * bench compares the paths between the two ends, not the backend's reads.
 */
static int rtt_call(uint32_t req, const struct vu_mmap *m, int fd)
{
	uint8_t payload[VU_MMAP_SIZE], ack[VU_HDR_SIZE + VU_U64_SIZE];
	static struct rx rx;
	int ret;

	vu_mmap_encode(m, payload);
	ret = send_msg(conn.chan, req, vu_hdr_flags(false, true), payload,
		       sizeof(payload), &fd, fd >= 0);
	if (ret)
		return ret;
	rx.nfds = 0;
	ret = recv_full(conn.chan, ack, sizeof(ack), &rx);
	rx_close_fds(&rx);
	if (ret <= 0 ||
	    vu_hdr_parse(VU_BE_REPLY, ack, VU_HDR_SIZE, &rx.h) != VU_OK ||
	    rx.h.request != req || rx.h.size != VU_U64_SIZE || rx.nfds)
		return -EPROTO;
	return get64(ack + VU_HDR_SIZE) ? -EIO : 0;
}

/* The floor's other end: a process that answers every message. */
static void rtt_echo(int sock)
{
	uint8_t msg[VU_HDR_SIZE + VU_MMAP_SIZE], ack[VU_U64_SIZE] = { 0 };
	static struct rx rx;

	for (;;) {
		rx.nfds = 0;
		if (recv_full(sock, msg, sizeof(msg), &rx) <= 0)
			_exit(0);
		rx_close_fds(&rx);
		if (send_msg(sock, VHOST_USER_BACKEND_SHMEM_MAP,
			     vu_hdr_flags(true, false), ack, sizeof(ack), NULL,
			     0))
			_exit(1);
	}
}

/*
 * rtt REPS N SHMID SHM_OFFSET LEN [ECHO_CPU]: REPS times, N SHMEM_MAPs
 * (NEED_REPLY, one memfd of LEN bytes), each timed from its sendmsg to its
 * REPLY_ACK and each followed by its timed UNMAP, and N round trips of the
 * protocol floor, interleaved with them in blocks: the same 52 bytes and
 * one fd to a forked echo process over a socketpair, 20 bytes back (the
 * echo runs on ECHO_CPU if given: the bench puts it where the helper
 * runs).  Prints the median ns of each rep:
 *   ok map=M1,M2,... unmap=U1,... floor=F1,...
 * Blocking: the front-end channel is not served meanwhile (the VMM is
 * idle while the bench runs).
 */
static void cmd_rtt(int argc, char **argv)
{
	static uint64_t map_ns[RTT_MAX], unmap_ns[RTT_MAX], floor_ns[RTT_MAX];
	static char line[3 * RTT_MAX_REPS * 24 + 64];
	uint64_t med[3][RTT_MAX_REPS];
	uint32_t reps, n, r, i, echo_cpu = 0;
	struct vu_mmap m;
	int sv[2], fd, ret = 0;
	size_t len = 0;
	pid_t pid;

	if (argc < 6 || argc > 7 || parse_u32(argv[1], &reps) || !reps ||
	    reps > RTT_MAX_REPS || parse_u32(argv[2], &n) || !n ||
	    n > RTT_MAX || parse_mmap(argv + 3, false, &m) ||
	    (argc == 7 && (parse_u32(argv[6], &echo_cpu) ||
			   echo_cpu >= CPU_SETSIZE))) {
		out("error usage: rtt REPS(1-%d) N(1-%d) SHMID SHM_OFFSET LEN [ECHO_CPU]",
		    RTT_MAX_REPS, RTT_MAX);
		return;
	}
	if (!need_channel())
		return;
	if (!negotiated(VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
		out("error rtt needs REPLY_ACK");
		return;
	}
	fd = make_memfd(m.len, 1);
	if (fd < 0) {
		out("error memfd: %s", strerror(-fd));
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		close(fd);
		out("error socketpair: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		if (argc == 7) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(echo_cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set))
				_exit(1);
		}
		rtt_echo(sv[1]);
	}
	close(sv[1]);
	m.flags = VU_MMAP_F_RW;
	for (r = 0; r < reps && !ret && pid > 0; r++) {
		/*
		 * A B A B in blocks of RTT_BLOCK ops, each block after one
		 * untimed op: a load change hits both sides alike, and both
		 * are timed in steady ping-pong (a process that has slept
		 * through the other side's block wakes slower, on both sides).
		 */
		for (i = 0; i < n && !ret; i += RTT_BLOCK) {
			uint32_t e = i + RTT_BLOCK < n ? i + RTT_BLOCK : n, j;

			for (j = i; j <= e && !ret; j++) {
				uint64_t t0 = now_ns(), t1;

				ret = rtt_call(VHOST_USER_BACKEND_SHMEM_MAP, &m,
					       fd);
				t1 = now_ns();
				if (!ret)
					ret = rtt_call(VHOST_USER_BACKEND_SHMEM_UNMAP,
						       &m, -1);
				if (j > i) {
					map_ns[j - 1] = t1 - t0;
					unmap_ns[j - 1] = now_ns() - t1;
				}
			}
			for (j = i; j <= e && !ret; j++) {
				uint8_t payload[VU_MMAP_SIZE] = { 0 },
					reply[VU_HDR_SIZE + VU_U64_SIZE];
				static struct rx rx;
				uint64_t t0 = now_ns();

				ret = send_msg(sv[0], VHOST_USER_BACKEND_SHMEM_MAP,
					       vu_hdr_flags(false, true), payload,
					       sizeof(payload), &fd, 1);
				rx.nfds = 0;
				if (!ret && recv_full(sv[0], reply, sizeof(reply),
						      &rx) <= 0)
					ret = -EPIPE;
				if (j > i)
					floor_ns[j - 1] = now_ns() - t0;
			}
		}
		med[0][r] = median(map_ns, n);
		med[1][r] = median(unmap_ns, n);
		med[2][r] = median(floor_ns, n);
	}
	close(sv[0]);
	close(fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pid < 0 || ret) {
		out("fail %s", pid < 0 ? strerror(errno) : strerror(-ret));
		return;
	}
	for (i = 0; i < 3; i++) {
		static const char *const names[] = { "map", "unmap", "floor" };

		len += snprintf(line + len, sizeof(line) - len, " %s=",
				names[i]);
		for (r = 0; r < reps; r++)
			len += snprintf(line + len, sizeof(line) - len,
					"%s%" PRIu64, r ? "," : "", med[i][r]);
	}
	out("ok%s", line);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void cmd_raw(int argc, char **argv)
{
	static uint8_t buf[RAW_MAX];
	const char *s = argc > 1 ? argv[1] : "";
	size_t i, n = strlen(s) / 2;
	struct iovec iov;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	bool with_fd = false, shut = false;
	int fd = -1;
	ssize_t ret;

	for (i = 2; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "fd"))
			with_fd = true;
		else if (!strcmp(argv[i], "shut"))
			shut = true;
		else
			break;
	}
	if (argc < 2 || argc > 4 || i < (size_t)argc || strlen(s) % 2 ||
	    n > sizeof(buf)) {
		out("error usage: raw HEXBYTES [fd] [shut]");
		return;
	}
	for (i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			out("error raw: not hex");
			return;
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!need_channel())
		return;
	if (with_fd) {
		fd = make_memfd((uint64_t)sysconf(_SC_PAGESIZE), 0);
		if (fd < 0) {
			out("error memfd: %s", strerror(-fd));
			return;
		}
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	iov.iov_base = buf;
	iov.iov_len = n;
	/* As given, in one sendmsg; a short write is reported, not retried. */
	do {
		ret = sendmsg(conn.chan, &mh, MSG_NOSIGNAL);
	} while (ret < 0 && errno == EINTR);
	close_fd(&fd);
	out("sent");
	if (ret != (ssize_t)n) {
		logf_("raw: sendmsg: %s", ret < 0 ? strerror(errno) : "short");
		out("closed");
		chan_close("send failed");
		return;
	}
	vlog("=> raw %zu bytes%s", n, shut ? ", then shutdown" : "");
	if (shut)
		shutdown(conn.chan, SHUT_WR);
	pend.kind = PEND_RAW;
	pend.deadline = deadline_in(RAW_WAIT_MS);
}

/* Hex digits ("-": none) into buf; the byte count, or -1. */
static ssize_t parse_hex(const char *s, uint8_t *buf, size_t cap)
{
	size_t i, n = strlen(s) / 2;

	if (!strcmp(s, "-"))
		return 0;
	if (strlen(s) % 2 || n > cap)
		return -1;
	for (i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)n;
}

static void cmd_breq(int argc, char **argv)
{
	uint8_t payload[VU_MAX_PAYLOAD];
	ssize_t len = -1;
	uint32_t req;
	int fd = -1;

	if (argc >= 3)
		len = parse_hex(argv[2], payload, sizeof(payload));
	if (argc < 3 || argc > 4 || parse_u32(argv[1], &req) || len < 0 ||
	    (argc == 4 && strcmp(argv[3], "fd"))) {
		out("error usage: breq REQ HEXPAYLOAD|- [fd]");
		return;
	}
	if (!need_channel())
		return;
	if (argc == 4) {
		fd = make_memfd((uint64_t)sysconf(_SC_PAGESIZE), 0x5e);
		if (fd < 0) {
			out("error memfd: %s", strerror(-fd));
			return;
		}
		close_fd(&conn.sent_fd);
		conn.sent_fd = fd;
	}
	chan_request(req, payload, (size_t)len, fd);
}

static void cmd_mangle(int argc, char **argv)
{
	unsigned int i;

	for (i = 1; argc == 2 && i < ARRAY_SIZE(mangle_names); i++) {
		if (!strcmp(argv[1], mangle_names[i])) {
			mangle = (enum mangle)i;
			out("armed");
			return;
		}
	}
	out("error usage: mangle-reply version|request|size|oversize|fds|truncate|short-header|twice");
}

static void cmd_split(int argc, char **argv)
{
	uint32_t n, us = 20000;

	if (argc < 2 || argc > 3 || parse_u32(argv[1], &n) ||
	    (argc == 3 && parse_u32(argv[2], &us))) {
		out("error usage: split N [US]");
		return;
	}
	split_bytes = n;
	split_us = us;
	out("ok");
}

/* The fd fdstat/fdwrite name, or -1 (usage: *bad). */
static int named_fd(int argc, char **argv, bool *bad)
{
	const char *w = argc > 1 ? argv[1] : "";
	uint32_t idx = 0;

	*bad = false;
	if (!strcmp(w, "kick") || !strcmp(w, "call") || !strcmp(w, "err")) {
		if (argc != 3 || parse_u32(argv[2], &idx) || idx >= MAX_VRINGS) {
			*bad = true;
			return -1;
		}
		return !strcmp(w, "kick") ? conn.vr[idx].kick :
		       !strcmp(w, "call") ? conn.vr[idx].call :
					    conn.vr[idx].err;
	}
	if (argc != 2) {
		*bad = true;
		return -1;
	}
	if (!strcmp(w, "log-base"))
		return conn.log_base;
	if (!strcmp(w, "log-fd"))
		return conn.log_fd;
	if (!strcmp(w, "inflight"))
		return conn.inflight;
	if (!strcmp(w, "sent"))
		return conn.sent_fd;
	if (!strcmp(w, "reply"))
		return conn.reply_fd;
	*bad = true;
	return -1;
}

static void cmd_fd(int argc, char **argv)
{
	uint64_t one = 1;
	struct stat st;
	bool bad;
	int fd = named_fd(argc, argv, &bad);

	if (bad) {
		out("error usage: %s kick|call|err IDX | log-base|log-fd|inflight|sent|reply",
		    argv[0]);
		return;
	}
	if (fd < 0) {
		out("fail none");
		return;
	}
	if (!strcmp(argv[0], "fdstat")) {
		if (fstat(fd, &st))
			out("fail %s", strerror(errno));
		else
			out("fdstat ino=%lu dev=%lu", (unsigned long)st.st_ino,
			    (unsigned long)st.st_dev);
		return;
	}
	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		out("fail %s", strerror(errno));
	else
		out("ok");
}

static void cmd_wait_channel(int argc, char **argv)
{
	uint32_t ms = 0;

	if (argc > 2 || (argc == 2 && parse_u32(argv[1], &ms)) ||
	    ms > INT_MAX) {
		out("error usage: wait-channel [TIMEOUT_MS]");
		return;
	}
	pend.kind = PEND_WAIT_CHANNEL;
	pend.deadline = deadline_in((int)ms);
	check_wait_channel();
}

static void cmd_status(void)
{
	unsigned int i, kicks = 0, calls = 0, enabled = 0;

	for (i = 0; i < MAX_VRINGS; i++) {
		kicks += conn.vr[i].kick >= 0;
		calls += conn.vr[i].call >= 0;
		enabled += conn.vr[i].enabled;
	}
	out("status connected=%d features=0x%" PRIx64 " proto=0x%" PRIx64
	    " channel=%d regions=%u owner=%d vrings_kicks=%u mem_regions=%u"
	    " resets=%u connections=%u maps=%u proto_set=%d vrings_calls=%u"
	    " vrings_enabled=%u kick_msgs=%u dev_status=0x%" PRIx64
	    " msgs=%" PRIu64,
	    conn.fd >= 0, conn.features, conn.proto, conn.chan >= 0,
	    opt.nshmem, conn.owner, kicks, mem_count(), resets, connections,
	    conn.nmaps, conn.proto_set, calls, enabled, conn.kick_msgs,
	    conn.status, conn.msgs);
}

static bool quitting;

static void cmd_map_memfd(int argc, char **argv)
{
	cmd_map(argc, argv, false, false);
}

static void cmd_map_nofd(int argc, char **argv)
{
	cmd_map(argc, argv, true, false);
}

static void cmd_map_path(int argc, char **argv)
{
	cmd_map(argc, argv, false, true);
}

/* status, drop, quit take no argument. */
static void cmd_simple(int argc, char **argv)
{
	if (argc != 1) {
		out("error usage: %s", argv[0]);
	} else if (!strcmp(argv[0], "status")) {
		cmd_status();
	} else if (!strcmp(argv[0], "drop")) {
		conn_end("drop command");
		out("dropped");
	} else {
		out("bye");
		quitting = true;
	}
}

static const struct {
	const char *name;
	void (*fn)(int argc, char **argv);
} commands[] = {
	{ "wait-channel", cmd_wait_channel },
	{ "map", cmd_map_memfd },
	{ "map-nofd", cmd_map_nofd },
	{ "map-fd", cmd_map_path },
	{ "unmap", cmd_unmap },
	{ "raw", cmd_raw },
	{ "backend-req", cmd_backend_req },
	{ "breq", cmd_breq },
	{ "mangle-reply", cmd_mangle },
	{ "split", cmd_split },
	{ "fdstat", cmd_fd },
	{ "fdwrite", cmd_fd },
	{ "cycles", cmd_cycles },
	{ "rtt", cmd_rtt },
	{ "status", cmd_simple },
	{ "drop", cmd_simple },
	{ "quit", cmd_simple },
};

static void command(char *line)
{
	char *argv[MAX_ARGS + 1], *save = NULL, *tok;
	unsigned int i;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == MAX_ARGS) {
			out("error too many words");
			return;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	/* Exactly one line out per line in, even for an empty one. */
	if (!argc) {
		out("error empty line");
		return;
	}
	vlog("command: %s", argv[0]);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(argv[0], commands[i].name)) {
			commands[i].fn(argc, argv);
			return;
		}
	}
	out("error unknown command %s", argv[0]);
}

/* Runs complete lines while no command is pending; false on quit. */
static bool run_lines(void)
{
	char *nl;
	size_t n;

	while (pend.kind == PEND_NONE && !finished) {
		nl = memchr(line_buf, '\n', line_len);
		if (!nl) {
			/* A last line without a newline still counts. */
			if (!stdin_eof || !line_len)
				return true;
			nl = line_buf + line_len;
			line_buf[line_len++] = '\n';
		}
		*nl = '\0';
		n = nl - line_buf + 1;
		command(line_buf);
		if (quitting)
			return false;
		memmove(line_buf, line_buf + n, line_len - n);
		line_len -= n;
	}
	return true;
}

static void stdin_read(void)
{
	ssize_t n;

	if (line_len == LINE_MAX_LEN) {
		out("error line too long");
		line_len = 0;
	}
	n = read(STDIN_FILENO, line_buf + line_len, LINE_MAX_LEN - line_len);
	if (n < 0 && errno != EINTR && errno != EAGAIN) {
		logf_("stdin: %s", strerror(errno));
		stdin_eof = true;
	} else if (n == 0) {
		stdin_eof = true;
	} else if (n > 0) {
		line_len += n;
	}
}

/* ---- main loop ----------------------------------------------------------- */

static void pend_timeout(void)
{
	switch (pend.kind) {
	case PEND_WAIT_CHANNEL:
	case PEND_REPLY:
		/* A late reply is logged as unexpected and ignored. */
		pend_done("fail timeout");
		break;
	case PEND_RAW:
		pend_done("quiet");
		break;
	default:
		break;
	}
}

static void do_accept(void)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EINTR && errno != EAGAIN)
			logf_("accept: %s", strerror(errno));
		return;
	}
	conn_state_init();
	conn.fd = fd;
	connections++;
	logf_("front-end connection %u accepted", connections);
	check_wait_channel();
}

static int do_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(opt.socket) >= sizeof(sa.sun_path)) {
		logf_("socket path too long: %s", opt.socket);
		return -1;
	}
	strcpy(sa.sun_path, opt.socket);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0) {
		logf_("socket: %s", strerror(errno));
		return -1;
	}
	unlink(opt.socket);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 8)) {
		logf_("%s: %s", opt.socket, strerror(errno));
		return -1;
	}
	out("listening %s", opt.socket);
	return 0;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static int loop(void)
{
	struct pollfd pfd[4];
	struct timespec ts, *tsp;
	sigset_t empty;
	int n, lfd, cfd, chfd, sfd;
	unsigned int gen;
	int64_t left;

	sigemptyset(&empty);
	for (;;) {
		if (!opt.no_stdin && !run_lines())
			return 0;
		if (finished || got_signal)
			return 0;
		if (!opt.no_stdin && stdin_eof && pend.kind == PEND_NONE)
			return 0;

		n = 0;
		lfd = -1;
		cfd = -1;
		chfd = -1;
		sfd = -1;
		if (conn.fd < 0) {
			pfd[n] = (struct pollfd){ listen_fd, POLLIN, 0 };
			lfd = n++;
		} else {
			pfd[n] = (struct pollfd){ conn.fd, POLLIN, 0 };
			cfd = n++;
		}
		if (conn.chan >= 0) {
			pfd[n] = (struct pollfd){ conn.chan, POLLIN, 0 };
			chfd = n++;
		}
		gen = chan_gen;
		if (!opt.no_stdin && !stdin_eof && pend.kind == PEND_NONE) {
			pfd[n] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
			sfd = n++;
		}
		tsp = NULL;
		if (pend.kind != PEND_NONE && pend.deadline >= 0) {
			left = pend.deadline - now_ms();
			if (left < 0)
				left = 0;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			tsp = &ts;
		}
		/* Signals are blocked except in here: no lost wake-up. */
		if (ppoll(pfd, n, tsp, &empty) < 0) {
			if (errno == EINTR)
				continue;
			logf_("poll: %s", strerror(errno));
			return 1;
		}
		if (cfd >= 0 && pfd[cfd].revents)
			fe_handle();
		/* fe_handle() may have replaced or closed the channel. */
		if (chfd >= 0 && pfd[chfd].revents && gen == chan_gen)
			chan_handle();
		if (lfd >= 0 && pfd[lfd].revents)
			do_accept();
		if (sfd >= 0 && pfd[sfd].revents)
			stdin_read();
		if (pend.kind != PEND_NONE && pend.deadline >= 0 &&
		    now_ms() >= pend.deadline)
			pend_timeout();
	}
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	static const char *const lines[] = {
"usage: " PROG " --socket PATH [--shmem SHMID:SIZE]...",
"         [--device null|blk|gpio] [--shmem-bit 21|22] [--no-reply-ack]",
"         [--log-shmfd]",
"         [--no-proto BIT]... [--queues N] [--reply-timeout MS]",
"         [--fill-max BYTES] [--blk-sectors N] [--no-stdin] [--once] [-v]",
"",
"A vhost-user backend with the SHMEM extension, for vushm-helper's tests.",
"Numbers: decimal or 0x hex, optional K/M/G/T suffix.",
"",
"stdin, one result line on stdout per line:",
"  wait-channel [MS]   channel PROTO_HEX | fail no-connection | fail timeout",
"  map SHMID SHM_OFFSET LEN FD_OFFSET rw|ro SEED",
"  map-nofd SHMID SHM_OFFSET LEN FD_OFFSET rw|ro",
"  map-fd PATH SHMID SHM_OFFSET LEN FD_OFFSET rw|ro",
"  unmap SHMID SHM_OFFSET LEN",
"  backend-req REQ [U64]",
"  breq REQ HEXPAYLOAD|- [fd]",
"  cycles N SHMID SHM_OFFSET LEN [SEED]    N x (MAP rw + UNMAP): ok N",
"      ok | fail N | fail disconnected | fail timeout | fail badreply",
"      | fail no-channel | sent (no REPLY_ACK)",
"  raw HEXBYTES [fd] [shut]  sent, then a 2nd line: reply REQ FLAGS SIZE U64|-",
"                      | closed | quiet",
"  mangle-reply version|request|size|oversize|fds|truncate|short-header|twice",
"                      armed: the next front-end reply is broken so",
"  split N [US]        ok: messages go out in N-byte pieces (0: whole)",
"  fdstat|fdwrite kick|call|err IDX | log-base|log-fd|inflight|sent|reply",
"                      fdstat ino=N dev=N | ok | fail none",
"  status | drop | quit",
"Bad lines: error REASON.",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		fprintf(f, "%s\n", lines[i]);
}

static int parse_shmem(const char *s)
{
	char buf[64], *colon;
	uint64_t id, size;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	if (parse_num(buf, &id) || id >= VU_SHMEM_MAX_REGIONS ||
	    parse_num(colon + 1, &size) || !size || opt.shmem[id])
		return -1;
	if (size % (uint64_t)sysconf(_SC_PAGESIZE))
		logf_("warning: shmem %" PRIu64 " size 0x%" PRIx64
		      " is not a multiple of the page size", id, size);
	opt.shmem[id] = size;
	opt.nshmem++;
	return 0;
}

enum {
	OPT_SOCKET = 256, OPT_SHMEM, OPT_DEVICE, OPT_SHMEM_BIT,
	OPT_NO_REPLY_ACK, OPT_LOG_SHMFD, OPT_NO_PROTO, OPT_QUEUES, OPT_REPLY_TIMEOUT,
	OPT_FILL_MAX, OPT_BLK_SECTORS, OPT_NO_STDIN, OPT_ONCE, OPT_HELP,
};

static const struct option longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "shmem", required_argument, NULL, OPT_SHMEM },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "shmem-bit", required_argument, NULL, OPT_SHMEM_BIT },
	{ "no-reply-ack", no_argument, NULL, OPT_NO_REPLY_ACK },
	{ "log-shmfd", no_argument, NULL, OPT_LOG_SHMFD },
	{ "no-proto", required_argument, NULL, OPT_NO_PROTO },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "reply-timeout", required_argument, NULL, OPT_REPLY_TIMEOUT },
	{ "fill-max", required_argument, NULL, OPT_FILL_MAX },
	{ "blk-sectors", required_argument, NULL, OPT_BLK_SECTORS },
	{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv)
{
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			opt.socket = optarg;
			break;
		case OPT_SHMEM:
			if (parse_shmem(optarg)) {
				logf_("bad --shmem %s (SHMID < 256, SIZE > 0,"
				      " each SHMID once)", optarg);
				return -1;
			}
			break;
		case OPT_DEVICE:
			if (!strcmp(optarg, "null")) {
				opt.device = DEV_NULL;
			} else if (!strcmp(optarg, "blk")) {
				opt.device = DEV_BLK;
			} else if (!strcmp(optarg, "gpio")) {
				opt.device = DEV_GPIO;
			} else {
				logf_("bad --device %s", optarg);
				return -1;
			}
			break;
		case OPT_SHMEM_BIT:
			if (parse_num(optarg, &v) ||
			    (v != VHOST_USER_PROTOCOL_F_SHMEM &&
			     v != VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE)) {
				logf_("bad --shmem-bit %s (21 or 22)", optarg);
				return -1;
			}
			opt.shmem_bit = (unsigned int)v;
			break;
		case OPT_NO_REPLY_ACK:
			opt.reply_ack = false;
			break;
		case OPT_LOG_SHMFD:
			opt.log_shmfd = true;
			break;
		case OPT_NO_PROTO:
			if (parse_num(optarg, &v) || v > 63) {
				logf_("bad --no-proto %s", optarg);
				return -1;
			}
			opt.proto_off |= 1ULL << v;
			break;
		case OPT_QUEUES:
			if (parse_num(optarg, &v) || !v || v > MAX_VRINGS) {
				logf_("bad --queues %s", optarg);
				return -1;
			}
			opt.queues = (unsigned int)v;
			break;
		case OPT_REPLY_TIMEOUT:
			if (parse_num(optarg, &v) || v > INT_MAX) {
				logf_("bad --reply-timeout %s", optarg);
				return -1;
			}
			opt.reply_timeout_ms = (int)v;
			break;
		case OPT_FILL_MAX:
			if (parse_num(optarg, &opt.fill_max)) {
				logf_("bad --fill-max %s", optarg);
				return -1;
			}
			break;
		case OPT_BLK_SECTORS:
			if (parse_num(optarg, &opt.blk_sectors)) {
				logf_("bad --blk-sectors %s", optarg);
				return -1;
			}
			break;
		case OPT_NO_STDIN:
			opt.no_stdin = true;
			break;
		case OPT_ONCE:
			opt.once = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !opt.socket) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	unsigned int i;
	int ret;

	if (parse_args(argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	config_init();
	/* Nothing is open yet: the vring fds must not start out as 0. */
	for (i = 0; i < MAX_VRINGS; i++) {
		conn.vr[i].kick = -1;
		conn.vr[i].call = -1;
		conn.vr[i].err = -1;
	}
	if (do_listen())
		return 1;
	ret = loop();
	conn_end("exit");
	close_fd(&listen_fd);
	unlink(opt.socket);
	return ret;
}
