// SPDX-License-Identifier: GPL-2.0
/*
 * vushm-helper: stands on a vhost-user socket between a VMM and a backend
 * and answers the backend's SHMEM_MAP/UNMAP with vushm windows, so that any
 * VMM that can map a file as a PCI BAR gets VIRTIO Shared Memory Regions.
 *
 * Start-up (blocking, before anything listens): open the control node,
 * learn the region sizes (options, or the backend's GET_SHMEM_CONFIG),
 * create or attach one window per shmid, listen.  Then one io_uring loop
 * (bridge.c) serves one VMM session at a time.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "args.h"
#include "bridge.h"
#include "log.h"

#define PROG		"vushm-helper"
#define RING_ENTRIES	64
#define PROBE_TIMEOUT_MS 5000

struct win_opt {
	uint32_t shmid;
	uint64_t size;		/* 0: from the backend */
	char name[VUSHM_NAME_MAX];
};

static struct win_opt win_opts[VU_SHMEM_MAX_REGIONS];
static unsigned int nwin_opts;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " --listen PATH --backend PATH [OPTION]...\n"
"\n"
"Stands on the vhost-user socket between a VMM and a backend.  Everything is\n"
"forwarded both ways; the backend's SHMEM_MAP/SHMEM_UNMAP (VIRTIO Shared\n"
"Memory Regions) are answered by the helper, which maps the backend's pages\n"
"into vushm windows.  The VMM maps each window once, as a RAM PCI BAR, and\n"
"needs no SHMEM support of its own.\n"
"\n"
"  -l, --listen PATH        unix socket the VMM connects to (created; a stale\n"
"                           socket is replaced; removed at exit)\n"
"  -b, --backend PATH       the backend's vhost-user socket; the helper connects\n"
"                           once per VMM session\n"
"  -w, --window SHMID[:SIZE[:NAME]]\n"
"                           one window for shared memory region SHMID (0-255);\n"
"                           SIZE in bytes, with K, M, G or T suffix; without\n"
"                           SIZE the backend's GET_SHMEM_CONFIG gives it.\n"
"                           Repeatable.  Without any --window: one window per\n"
"                           region the backend reports\n"
"  -n, --name PREFIX        windows without a NAME are PREFIX-SHMID (default:\n"
"                           the listen socket's file name without extension)\n"
"  -o, --owner USER[:GROUP] owner of the window nodes and the listen socket:\n"
"                           the user the VMM runs as (default: root)\n"
"  -m, --mode MODE          window node mode, octal (default 0600)\n"
"      --hole-policy zero|sigbus\n"
"                           what guest access to an unmapped part of a window\n"
"                           does (default zero: reads zeros, writes are lost)\n"
"      --shmem-bit21        also accept SHMEM offered on protocol bit 21 (pre-\n"
"                           release backends on rust-vmm vhost 0.16); off by\n"
"                           default: bit 21 is GPA_ADDRESSES in the spec\n"
"      --once               exit when the first VMM session ends\n"
"  -v, --verbose            log every message (debug level)\n"
"  -q, --quiet              log warnings and errors only (and the SIGUSR1\n"
"                           status, always printed)\n"
"  -h, --help               this text\n"
"\n"
"On start the helper prints one line per window on stdout,\n"
"  window SHMID NAME /dev/vushm/NAME SIZE\n"
"then 'ready' when the VMM may connect.  Give the VMM each window as a PCI BAR\n"
"backed by the node, and the guest's RAM in shared fd-backed memory (vhost-user\n"
"needs it), e.g. for QEMU:\n"
"  -machine pc,memory-backend=mem -m RAM\n"
"  -object memory-backend-memfd,id=mem,size=RAM,share=on\n"
"  -object memory-backend-file,id=shm0,mem-path=/dev/vushm/NAME,size=SIZE,share=on\n"
"  -device ivshmem-plain,memdev=shm0\n"
"and the listen socket as the vhost-user device's chardev:\n"
"  -chardev socket,id=vu0,path=PATH,reconnect=1 -device vhost-user-...,chardev=vu0\n"
"A PCI BAR must be a power of two: a backend region that is not gets a window\n"
"rounded up (MAPs are still checked against the region).\n"
"\n"
"Lifecycle: a device reset (RESET_OWNER, RESET_DEVICE, SET_STATUS 0), the end\n"
"of a session or of the helper resets every window (the guest sees holes).\n"
"When the backend goes away the VMM's connection is closed: a VMM started with\n"
"reconnect= comes back and gets a new backend connection.  A restarted helper\n"
"attaches to its windows by name.  SIGUSR1 logs the state (connections,\n"
"features, request counts; also under -q; under systemd: systemctl kill -s USR1\n"
"vushm-helper@NAME); SIGINT/SIGTERM stop the helper.\n"
"\n"
"Needs root (or CAP_SYS_ADMIN) and the vushm module (/dev/vushm/control).\n"
"Exit status: 0 stopped by a signal or --once; 1 run-time error; 2 usage.\n");
}

static int parse_window(const char *arg)
{
	struct win_opt *w;
	char buf[128], *size, *name, *end;
	unsigned long id;
	unsigned int i;

	if (nwin_opts == VU_SHMEM_MAX_REGIONS ||
	    snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return -EINVAL;
	size = strchr(buf, ':');
	if (size)
		*size++ = 0;
	name = size ? strchr(size, ':') : NULL;
	if (name)
		*name++ = 0;
	errno = 0;
	id = strtoul(buf, &end, 0);
	if (!*buf || *end || errno || id >= VU_SHMEM_MAX_REGIONS) {
		fprintf(stderr, PROG ": --window %s: SHMID must be 0-255\n", arg);
		return -EINVAL;
	}
	for (i = 0; i < nwin_opts; i++)
		if (win_opts[i].shmid == id) {
			fprintf(stderr, PROG ": --window %s: shmid %lu given twice\n",
				arg, id);
			return -EINVAL;
		}
	w = &win_opts[nwin_opts];
	w->shmid = id;
	w->size = 0;
	if (size && *size && (vu_parse_size(size, &w->size) || !w->size)) {
		fprintf(stderr, PROG ": --window %s: bad SIZE '%s'\n", arg, size);
		return -EINVAL;
	}
	if (name && (!*name || strlen(name) >= VUSHM_NAME_MAX)) {
		fprintf(stderr, PROG ": --window %s: NAME must be 1-%d characters\n",
			arg, VUSHM_NAME_MAX - 1);
		return -EINVAL;
	}
	if (name)
		snprintf(w->name, sizeof(w->name), "%s", name);
	nwin_opts++;
	return 0;
}

/* Default window name prefix: the listen socket's file name, stem only,
 * reduced to the characters a device node name may safely have.
 */
static void default_prefix(const char *listen, char *buf, size_t n)
{
	const char *base = strrchr(listen, '/');
	size_t i, j = 0;

	base = base ? base + 1 : listen;
	for (i = 0; base[i] && base[i] != '.' && j + 1 < n; i++) {
		char ch = base[i];

		buf[j++] = isalnum((unsigned char)ch) || ch == '-' || ch == '_' ?
			   ch : '_';
	}
	buf[j] = 0;
	if (!j)
		snprintf(buf, n, "vushm");
}

/* ---- the backend probe ---------------------------------------------------------- */

static int probe_io(int fd, const char *what, bool out, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = out ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL) :
			  recv(fd, (char *)buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err("backend probe: %s %s: %s", out ? "sending" : "reading",
			    what, n == 0 ? "connection closed" :
			    errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
		done += n;
	}
	return 0;
}

/* One request, one reply of reply_size bytes (checked), no fds. */
static int probe_call(int fd, uint32_t request, const uint64_t *arg,
		      void *reply, size_t reply_size)
{
	uint8_t buf[VU_HDR_SIZE + VU_U64_SIZE];
	const char *name = vu_req_name(false, request);
	struct vu_hdr h = { request, vu_hdr_flags(false, false),
			    arg ? VU_U64_SIZE : 0 };
	enum vu_result r;

	vu_hdr_encode(&h, buf);
	if (arg)
		vu_u64_encode(*arg, buf + VU_HDR_SIZE);
	if (probe_io(fd, name, true, buf, VU_HDR_SIZE + h.size))
		return -1;
	if (!reply)
		return 0;
	if (probe_io(fd, name, false, buf, VU_HDR_SIZE))
		return -1;
	r = vu_hdr_parse(VU_FE_REPLY, buf, VU_HDR_SIZE, &h);
	if (!r && (h.request != request || h.size != reply_size))
		r = VU_E_SIZE;
	if (r) {
		err("backend probe: bad %s reply: %s", name, vu_strresult(r));
		return -1;
	}
	return probe_io(fd, name, false, reply, reply_size);
}

/*
 * Asks the backend for its region sizes on a connection of its own (the
 * VMM's sessions get fresh ones): GET_FEATURES, GET_PROTOCOL_FEATURES,
 * SET_PROTOCOL_FEATURES with only SHMEM, GET_SHMEM_CONFIG.
 */
static int probe_backend(const struct sockaddr_un *addr, const char *path,
			 bool compat21, uint32_t page_size,
			 struct vu_shmem_config *cfg)
{
	struct timeval tv = { PROBE_TIMEOUT_MS / 1000, 0 };
	static uint8_t reply[VU_SHMEM_CONFIG_SIZE];
	uint64_t v, shmem;
	enum vu_result r;
	int fd, ret = -1;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
		err("backend %s: %s (is the backend running? window sizes can also be given with --window SHMID:SIZE)",
		    path, strerror(errno));
		goto out;
	}
	if (probe_call(fd, VHOST_USER_GET_FEATURES, NULL, reply, VU_U64_SIZE))
		goto out;
	vu_u64_decode(reply, VU_U64_SIZE, &v);
	if (!(v & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))) {
		err("backend %s: no protocol features, so no SHMEM: give window sizes with --window SHMID:SIZE",
		    path);
		goto out;
	}
	if (probe_call(fd, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, reply,
		       VU_U64_SIZE))
		goto out;
	vu_u64_decode(reply, VU_U64_SIZE, &v);
	shmem = vu_proto_shmem_bit(v, compat21);
	if (!shmem) {
		err("backend %s: does not offer SHMEM (protocol features %#" PRIx64 ")%s: no GET_SHMEM_CONFIG; give window sizes with --window SHMID:SIZE",
		    path, v, v & VU_PF(VHOST_USER_PROTOCOL_F_SHMEM_PRERELEASE) ?
		    "; it offers bit 21: a pre-release SHMEM backend needs --shmem-bit21" : "");
		goto out;
	}
	if (probe_call(fd, VHOST_USER_SET_PROTOCOL_FEATURES, &shmem, NULL, 0) ||
	    probe_call(fd, VHOST_USER_GET_SHMEM_CONFIG, NULL, reply,
		       VU_SHMEM_CONFIG_SIZE))
		goto out;
	r = vu_shmem_config_decode(reply, VU_SHMEM_CONFIG_SIZE, page_size, cfg);
	if (r) {
		err("backend %s: bad GET_SHMEM_CONFIG reply: %s", path,
		    vu_strresult(r));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ---- windows ---------------------------------------------------------------------- */

static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p)
		p <<= 1;
	return p;
}

static int setup_windows(struct vu_helper *h, const char *prefix,
			 uint32_t uid, uint32_t gid, uint32_t mode,
			 uint32_t hole)
{
	static struct vu_shmem_config cfg;
	bool probe = !nwin_opts;
	struct vushm_info vi;
	unsigned int i;
	int ctl;

	ctl = open(VU_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err("%s: %s%s", VU_CONTROL_PATH, strerror(errno),
		    errno == ENOENT ? " (is the vushm module loaded? modprobe vushm)" :
		    errno == EACCES || errno == EPERM ? " (needs root or CAP_SYS_ADMIN)" : "");
		return -1;
	}
	memset(&vi, 0, sizeof(vi));
	if (ioctl(ctl, VUSHM_GET_INFO, &vi)) {
		err("%s: GET_INFO: %s", VU_CONTROL_PATH, strerror(errno));
		goto fail;
	}
	h->page_size = vi.page_size;
	for (i = 0; i < nwin_opts; i++)
		probe |= !win_opts[i].size;
	if (probe && probe_backend(&h->be_addr, h->o.backend_path,
				   h->o.compat21, h->page_size, &cfg))
		goto fail;
	if (!nwin_opts) {
		for (i = 0; i < VU_SHMEM_MAX_REGIONS; i++)
			if (cfg.sizes[i])
				win_opts[nwin_opts++].shmid = i;
		if (!nwin_opts) {
			err("backend %s reports no shared memory region: nothing to do",
			    h->o.backend_path);
			goto fail;
		}
	}
	h->win = calloc(nwin_opts, sizeof(*h->win));
	if (!h->win)
		goto fail;
	for (i = 0; i < nwin_opts; i++) {
		struct win_opt *o = &win_opts[i];
		struct vu_window *w = &h->win[i];
		uint64_t region = o->size ? o->size : cfg.sizes[o->shmid];
		uint64_t size = region;
		char why[256];

		w->cfd = -1;
		if (!region) {
			err("--window %u: the backend has no region %u", o->shmid,
			    o->shmid);
			goto fail;
		}
		if (!vu_bar_size_ok(size, why, sizeof(why))) {
			if (o->size) {
				warn("window for shmid %u: %s", o->shmid, why);
			} else {
				size = pow2_roundup(region);
				info("shmid %u: the backend's region (%#" PRIx64 " bytes) is not a power of two, so it cannot be a PCI BAR: the window is %#" PRIx64 " bytes; MAPs are checked against the region",
				     o->shmid, region, size);
			}
		}
		if (!*o->name &&
		    snprintf(o->name, sizeof(o->name), "%s-%u", prefix,
			     o->shmid) >= (int)sizeof(o->name)) {
			err("window name %s-%u is longer than %d characters: use --name or --window SHMID:SIZE:NAME",
			    prefix, o->shmid, VUSHM_NAME_MAX - 1);
			goto fail;
		}
		if (vu_window_open(ctl, o->name, size, o->shmid, hole, uid, gid,
				   mode, w)) {
			err("%s", w->err);
			goto fail;
		}
		h->nwin++;
		h->by_shmid[o->shmid] = w;
		h->sizes[o->shmid] = region;
		info("window %s (shmid %u, %#" PRIx64 " bytes) %s", w->name,
		     w->shmid, w->size, w->attached ? "attached" : "created");
	}
	close(ctl);
	return 0;
fail:
	for (i = 0; i < h->nwin; i++)
		vu_window_close(&h->win[i]);
	h->nwin = 0;
	close(ctl);
	return -1;
}

/* ---- listening --------------------------------------------------------------------- */

static int fill_addr(struct sockaddr_un *a, const char *path, const char *opt)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(a->sun_path)) {
		fprintf(stderr, PROG ": %s %s: a socket path must be 1-%zu bytes\n",
			opt, path, sizeof(a->sun_path) - 1);
		return -1;
	}
	memcpy(a->sun_path, path, strlen(path));
	return 0;
}

static int listen_on(const struct sockaddr_un *a, uint32_t uid, uint32_t gid)
{
	struct stat st;
	int fd;

	/* Replace a stale socket, never anything else. */
	if (!lstat(a->sun_path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			err("--listen %s: exists and is not a socket", a->sun_path);
			return -1;
		}
		unlink(a->sun_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)a, sizeof(*a)) ||
	    listen(fd, 4)) {
		err("--listen %s: %s", a->sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((uid || gid) && chown(a->sun_path, uid, gid))
		warn("--listen %s: chown %u:%u: %s", a->sun_path, uid, gid,
		     strerror(errno));
	return fd;
}

static int arm_signal(struct vu_helper *h)
{
	struct io_uring_sqe *sqe = vu_get_sqe(&h->ring);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, h->sig_fd, &h->sig, sizeof(h->sig), 0);
	io_uring_sqe_set_data64(sqe, vu_ud(h, VU_UD_SIGNAL));
	return 0;
}

static void signal_done(struct vu_helper *h, int res)
{
	if (res != (int)sizeof(h->sig)) {
		err("signalfd: %s", res < 0 ? strerror(-res) : "short read");
		vu_helper_stop(h, "signalfd failed");
		h->exit_code = 1;
		return;
	}
	if (h->sig.ssi_signo == SIGUSR1)
		vu_helper_status(h);
	else
		vu_helper_stop(h, strsignal(h->sig.ssi_signo));
	if (arm_signal(h))
		vu_helper_stop(h, "no SQE for the signalfd");
}

static int loop(struct vu_helper *h)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n;
	int ret;

	if (arm_signal(h))
		return 1;
	vu_helper_pump(h);
	while (!h->stopping || h->s) {
		ret = io_uring_submit_and_wait(&h->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EBUSY) {
			err("io_uring_submit_and_wait: %s", strerror(-ret));
			return 1;
		}
		n = 0;
		io_uring_for_each_cqe(&h->ring, head, cqe) {
			if ((cqe->user_data & VU_UD_TAG_MASK) == VU_UD_SIGNAL)
				signal_done(h, cqe->res);
			else
				vu_helper_dispatch(h, cqe);
			n++;
		}
		io_uring_cq_advance(&h->ring, n);
		vu_helper_pump(h);
	}
	/* Window commands that were only queued still go in: a reset. */
	io_uring_submit(&h->ring);
	return h->exit_code;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "window", required_argument, NULL, 'w' },
		{ "name", required_argument, NULL, 'n' },
		{ "owner", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "hole-policy", required_argument, NULL, 'H' },
		{ "shmem-bit21", no_argument, NULL, '2' },
		{ "once", no_argument, NULL, '1' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct vu_helper h;
	struct sockaddr_un laddr;
	uint32_t uid = 0, gid = 0, mode = 0600, hole = VUSHM_HOLE_ZERO;
	char prefix[VUSHM_NAME_MAX] = "";
	unsigned int i;
	sigset_t mask;
	char *end;
	int opt, ret, code = 1;

	vu_log_init(PROG);
	h.listen_fd = h.sig_fd = -1;
	while ((opt = getopt_long(argc, argv, "l:b:w:n:o:m:vqh", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'l':
			h.o.listen_path = optarg;
			break;
		case 'b':
			h.o.backend_path = optarg;
			break;
		case 'w':
			if (parse_window(optarg))
				return 2;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) >= VUSHM_NAME_MAX - 4) {
				fprintf(stderr, PROG ": --name %s: 1-%d characters\n",
					optarg, VUSHM_NAME_MAX - 5);
				return 2;
			}
			snprintf(prefix, sizeof(prefix), "%s", optarg);
			break;
		case 'o': {
			char why[128];

			if (vu_parse_owner(optarg, &uid, &gid, why, sizeof(why))) {
				fprintf(stderr, PROG ": --owner %s: %s\n", optarg,
					why);
				return 2;
			}
			break;
		}
		case 'm':
			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (!*optarg || *end || errno || mode > 0777) {
				fprintf(stderr, PROG ": --mode %s: an octal mode, at most 0777\n",
					optarg);
				return 2;
			}
			break;
		case 'H':
			if (!strcmp(optarg, "zero")) {
				hole = VUSHM_HOLE_ZERO;
			} else if (!strcmp(optarg, "sigbus")) {
				hole = VUSHM_HOLE_SIGBUS;
			} else {
				fprintf(stderr, PROG ": --hole-policy %s: zero or sigbus\n",
					optarg);
				return 2;
			}
			break;
		case '2':
			h.o.compat21 = true;
			break;
		case '1':
			h.o.once = true;
			break;
		case 'v':
			vu_log_max = VU_LOG_DEBUG;
			break;
		case 'q':
			vu_log_max = VU_LOG_WARN;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return 2;
		}
	}
	if (optind < argc || !h.o.listen_path || !h.o.backend_path) {
		fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n",
			optind < argc ? "unexpected argument" :
			"--listen and --backend are required");
		return 2;
	}
	if (fill_addr(&laddr, h.o.listen_path, "--listen") ||
	    fill_addr(&h.be_addr, h.o.backend_path, "--backend"))
		return 2;
	if (!*prefix)
		default_prefix(h.o.listen_path, prefix, VUSHM_NAME_MAX - 4);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (h.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		err("signalfd: %s", strerror(errno));
		return 1;
	}
	if (setup_windows(&h, prefix, uid, gid, mode, hole))
		goto out;
	ret = vu_ring_init(&h.ring, RING_ENTRIES, 0);
	if (ret) {
		err("io_uring: %s", strerror(-ret));
		goto out_windows;
	}
	/* Every wait is an io_uring_enter: skip its fd lookup (>= 5.18). */
	if (io_uring_register_ring_fd(&h.ring) < 0)
		dbg("io_uring_register_ring_fd failed; going on without");
	h.listen_fd = listen_on(&laddr, uid, gid);
	if (h.listen_fd < 0)
		goto out_ring;
	for (i = 0; i < h.nwin; i++) {
		char path[VU_WINDOW_PATH_MAX];

		vu_window_node_path(&h.win[i], path, sizeof(path));
		printf("window %u %s %s %" PRIu64 "\n", h.win[i].shmid,
		       h.win[i].name, path, h.win[i].size);
	}
	printf("ready\n");
	fflush(stdout);
	info("listening on %s, backend %s", h.o.listen_path,
	     h.o.backend_path);
	code = loop(&h);
	close(h.listen_fd);
	unlink(h.o.listen_path);
out_ring:
	io_uring_queue_exit(&h.ring);
out_windows:
	/* Closing a controller removes its window's mappings. */
	for (i = 0; i < h.nwin; i++)
		vu_window_close(&h.win[i]);
out:
	free(h.win);
	close(h.sig_fd);
	return code;
}
