/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One end of a vhost-user stream socket, driven by the helper's io_uring.
 * The reader takes one message at a time: first exactly the 12-byte header
 * (with SCM_RIGHTS, so that fds are attributed to the message whose header
 * carried them, as every vhost-user peer sends them), then exactly the
 * payload the checked header announces.  The ring waits for a header; the
 * rest of a message, usually queued with it, is read at once with a
 * non-blocking recvmsg, and only what is not queued yet goes back to the
 * ring.  The writer keeps a queue of whole messages; a message that finds
 * the queue empty is sent at once with a non-blocking sendmsg, the rest
 * (and what that could not send) through the ring, one sendmsg in flight.
 * fds go with the first byte, short writes continue without them.
 *
 * A chan given a fast path (vu_chan_set_fast) is read by a thread of its
 * own instead, which blocks in recvmsg: a wake-up through the ring's poll
 * and task work costs more than a blocking read's (Documentation/
 * performance.rst, P4).  The thread reads the same way, one message at a
 * time, and offers each whole message to the fast path, which runs in the
 * thread and may answer it completely; any other message, and the end of
 * the stream, is handed to the main thread as if the ring had read it
 * (VU_UD_RECV completes), and the thread reads again only when the main
 * thread calls vu_chan_recv() again.
 */
#ifndef VUSHM_HELPER_CHAN_H
#define VUSHM_HELPER_CHAN_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <liburing.h>

#include "proto.h"

/* user_data = object address | tag (objects are 8-byte aligned). */
enum vu_ud_tag {
	VU_UD_ACCEPT = 1,
	VU_UD_CONNECT,
	VU_UD_RECV,
	VU_UD_SEND,
	VU_UD_CMD,
	VU_UD_SIGNAL,
	VU_UD_RESET,
	VU_UD_TAG_MASK = 7,
};

static inline uint64_t vu_ud(const void *p, enum vu_ud_tag tag)
{
	return (uint64_t)(uintptr_t)p | tag;
}

/* A free SQE, submitting what is queued when the SQ ring is full. */
struct io_uring_sqe *vu_get_sqe(struct io_uring *ring);

/* A message waiting to be sent: header + payload, and fds it owns. */
struct vu_out {
	struct vu_out *next;
	size_t len;
	size_t off;		/* bytes already sent */
	int fds[VU_MAX_FDS];
	unsigned int nfds;
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
};

enum vu_rx {
	VU_RX_MORE,		/* resubmitted, nothing to do */
	VU_RX_MSG,		/* a whole message is in the reader */
	VU_RX_EOF,		/* peer closed (between messages or not) */
	VU_RX_ERR,		/* socket error, bad header, fds */
};

struct vu_chan;

/*
 * Called in the reader thread with a whole message in rx_hdr, rx_buf and
 * rx_fds; true: it answered it (the thread then closes the message's fds),
 * false: the main thread gets it as it is.  It must not touch rx_have
 * (the main thread's) nor call vu_chan_msg_done() or vu_chan_take();
 * whatever it touches of the session is its to lock.  Also called once as
 * the thread starts, with @setup true and no message, to set up what it
 * needs.
 */
typedef bool (*vu_chan_fast_fn)(struct vu_chan *c, bool setup);

struct vu_chan {
	const char *name;	/* for logs: "VMM", "backend", ... */
	enum vu_dir dir;	/* what arrives on this end */
	int fd;			/* -1: not open */
	struct io_uring *ring;
	void *owner;		/* the session this end belongs to */

	/* reader */
	bool rx_busy;		/* a recvmsg is in flight */
	bool rx_have;		/* a whole message waits in rx_* */
	size_t rx_got;		/* bytes of header + payload read */
	struct vu_hdr rx_hdr;
	int rx_fds[VU_MAX_FDS];
	unsigned int rx_nfds;
	int rx_errno;		/* VU_RX_ERR: errno, or 0 */
	bool rx_cut;		/* VU_RX_ERR: EOF after rx_got bytes of a message */
	enum vu_result rx_result;	/* VU_RX_ERR: header result */
	const char *rx_why;	/* VU_RX_ERR: what, for the log */
	struct msghdr rx_msg;
	struct iovec rx_iov;
	/* cmsghdr alignment without its flexible array (C11 pedantic) */
	_Alignas(size_t) char rx_cmsg[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	uint8_t rx_buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];

	/* writer */
	bool tx_busy;
	struct vu_out *tx_head;
	struct vu_out **tx_tail;
	struct msghdr tx_msg;
	struct iovec tx_iov;
	/* cmsghdr alignment without its flexible array (C11 pedantic) */
	_Alignas(size_t) char tx_cmsg[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
	int tx_errno;		/* last send error */

	/* reader thread (vu_chan_set_fast) */
	vu_chan_fast_fn fast;
	pthread_t thr;
	bool thr_started;	/* pthread_create done, not joined yet */
	atomic_bool thr_running;	/* cleared by the thread as it ends */
	atomic_bool thr_stop;	/* the thread is to end */
	sem_t thr_go;		/* main -> thread: read the next message */
	int thr_efd;		/* thread -> main: handed over, or ended */
	bool efd_armed;		/* a read of thr_efd is in the ring */
	uint64_t efd_val;
	enum vu_rx thr_rx;	/* the hand-over: MSG, EOF or ERR */
	atomic_bool thr_handed;	/* thr_rx is set and not taken yet */
};

void vu_chan_init(struct vu_chan *c, const char *name, enum vu_dir dir,
		  int fd, struct io_uring *ring, void *owner);
bool vu_chan_open(const struct vu_chan *c);
bool vu_chan_idle(const struct vu_chan *c);	/* nothing in flight */
/* A read or a write is under way (the reader thread's life aside). */
bool vu_chan_busy(const struct vu_chan *c);
/* Reads this chan on a thread, offering each message to @fast first. */
void vu_chan_set_fast(struct vu_chan *c, vu_chan_fast_fn fast);

/* Arms the reader for the next message (no-op if busy or one is held). */
int vu_chan_recv(struct vu_chan *c);
/* A VU_UD_RECV completion with result @res. */
enum vu_rx vu_chan_recv_done(struct vu_chan *c, int res);
static inline const uint8_t *vu_chan_payload(const struct vu_chan *c)
{
	return c->rx_buf + VU_HDR_SIZE;
}
/* Done with the held message: closes the fds nobody took. */
void vu_chan_msg_done(struct vu_chan *c);
/* Copies the held message's payload out, moves all its fds to @fds
 * (VU_MAX_FDS room) and is done with it; returns the number of fds.
 */
unsigned int vu_chan_take(struct vu_chan *c, void *payload, int *fds);

/* A new outgoing message; vu_chan_send() takes it (and its fds). */
struct vu_out *vu_out_new(const struct vu_hdr *h, const void *payload);
void vu_out_free(struct vu_out *o);
int vu_chan_send(struct vu_chan *c, struct vu_out *o);
/* 0: progress; <0: -errno, the socket is broken. */
int vu_chan_send_done(struct vu_chan *c, int res);
bool vu_chan_tx_empty(const struct vu_chan *c);

/* Wakes both directions' pending ops (they complete with EOF/EPIPE), and
 * ends a reader thread.
 */
void vu_chan_shutdown(struct vu_chan *c);
/* Once idle: closes the socket, held fds and unsent messages. */
void vu_chan_close(struct vu_chan *c);

/* A message of exactly header + payload on @fd, blocking (reader thread
 * and its fast path).  0 or -errno.
 */
int vu_send_blocking(int fd, const struct vu_hdr *h, const void *payload);

#endif /* VUSHM_HELPER_CHAN_H */
