/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vushm-helper's bridge: one VMM session at a time, forwarded to a fresh
 * backend connection, with SHMEM_MAP/UNMAP answered from the windows.
 *
 * Four sockets per session, each a struct vu_chan on the one ring:
 *   vmm    VMM -> helper front-end channel (requests in, replies out)
 *   be     helper -> backend front-end channel (requests out, replies in)
 *   bech   the backend channel as the backend sees it: its requests in
 *          (the helper made the socketpair and kept this end)
 *   vmmbe  the VMM's own backend channel, when it gave one: backend
 *          requests other than SHMEM_MAP/UNMAP go out on it, replies in
 * Flow control is by pulling: a reader is armed only when the message it
 * would produce can be handled (its destination's queue is empty, no
 * window command is pending), so one message per direction is in flight
 * and the helper never buffers more than that.
 *
 * bech is read by a thread of its own (chan.h), which answers a valid
 * SHMEM_MAP/UNMAP by itself (bridge.c, bech_fast) on a ring of its own and
 * hands everything else to the main thread.  What the two threads share
 * of a session is under mu: be_ctx, the counts; dying is atomic.
 */
#ifndef VUSHM_HELPER_BRIDGE_H
#define VUSHM_HELPER_BRIDGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/un.h>

#include <liburing.h>

#include "chan.h"
#include "proto.h"
#include "window.h"

struct vu_helper;

/* A reply the backend owes on the front-end channel, oldest first. */
struct vu_pending {
	uint32_t request;
	uint8_t kind;		/* enum vu_reply */
	bool helper;		/* the helper asked: swallow the reply */
	bool local;		/* the helper answers it, once it is the oldest */
};
#define VU_PENDING_MAX	32

enum vu_be_state {
	VU_BE_IDLE,		/* ready for the backend's next request */
	VU_BE_CMD,		/* a window command is in the kernel */
	VU_BE_FWD,		/* forwarded to the VMM, its reply awaited */
};

struct vu_session {
	struct vu_helper *h;
	unsigned long id;
	struct vu_chan vmm, be, bech, vmmbe;
	bool connecting;	/* connect to the backend in flight */
	bool connected;
	/* torn down; freed once nothing is in flight (the bech thread reads
	 * it after a MAP: see bech_fast)
	 */
	atomic_bool dying;
	pthread_mutex_t mu;	/* be_ctx and the counts (bech thread) */
	struct vu_ctx vmm_ctx;	/* what the VMM negotiated */
	struct vu_ctx be_ctx;	/* what the backend negotiated; mu to write */
	uint64_t be_features;
	uint64_t be_proto;	/* the backend's protocol offer */
	bool have_be_proto;
	bool shmem;		/* SHMEM negotiated with the backend */
	bool own_channel;	/* bech made for a VMM without BACKEND_REQ */
	unsigned int proto_sets;	/* SET_PROTOCOL_FEATURES seen */
	pid_t vmm_pid, be_pid;	/* SO_PEERCRED, 0 if unknown */

	struct vu_pending pending[VU_PENDING_MAX];
	unsigned int pending_head, pending_count;

	enum vu_be_state be_state;
	struct vu_hdr be_req;	/* the backend request being served */
	struct vu_mmap cmd;	/* VU_BE_CMD: its payload */
	struct vu_window *cmd_win;
	int cmd_fd;
	uint8_t fwd_kind;	/* VU_BE_FWD: enum vu_reply the VMM owes */
	bool fwd_ack;		/* VU_BE_FWD: the backend wants an ack too */

	/* bech thread only: its ring for the window commands it does */
	struct io_uring fast_ring;
	int fast_ring_ok;	/* 0: not tried, 1: up, -1: failed */

	/* per-request counts, for the status dump; be_count and the map
	 * counts under mu
	 */
	unsigned long fe_count[VHOST_USER_FE_MAX];
	unsigned long be_count[VHOST_USER_BE_MAX];
	unsigned long maps, unmaps, map_fail, unmap_fail;
};

struct vu_helper_opts {
	const char *listen_path;
	const char *backend_path;
	bool compat21;		/* accept SHMEM on the pre-release bit 21 */
	bool once;		/* exit after the first session */
};

struct vu_helper {
	struct vu_helper_opts o;
	struct io_uring ring;
	int listen_fd;
	int sig_fd;
	struct signalfd_siginfo sig;
	struct sockaddr_un be_addr;
	bool accepting;		/* accept in flight */
	bool stopping;
	int exit_code;

	struct vu_window *win;	/* nwin windows */
	unsigned int nwin;
	struct vu_window *by_shmid[VU_SHMEM_MAX_REGIONS];
	/* What MAPs are checked against: the backend's region sizes (or the
	 * window sizes given on the command line), indexed by shmid.
	 */
	uint64_t sizes[VU_SHMEM_MAX_REGIONS];
	uint32_t page_size;

	struct vu_session *s;	/* the one session, or NULL */
	unsigned long nsessions;
	unsigned long resets;
};

void vu_helper_pump(struct vu_helper *h);
void vu_helper_dispatch(struct vu_helper *h, const struct io_uring_cqe *cqe);
void vu_helper_stop(struct vu_helper *h, const char *why);
void vu_helper_status(struct vu_helper *h);

#endif /* VUSHM_HELPER_BRIDGE_H */
