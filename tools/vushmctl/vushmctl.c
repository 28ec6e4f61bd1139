// SPDX-License-Identifier: GPL-2.0
/*
 * vushmctl: list, show, monitor, create and destroy vushm windows.
 *
 * list, show and monitor speak the "vushm" generic netlink family (libnl-3);
 * create and destroy use the control node's ioctls.  -j prints JSON like
 * iproute2: one document, or one object per line for monitor.
 * Exit status: 0 success, 1 runtime error, 2 usage error.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <linux/vushm.h>

#include "args.h"

#define CONTROL_PATH	"/dev/vushm/control"
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2
#define MAX_FAILURES	32

static const char *prog = "vushmctl";
static bool json;

struct mapping {
	uint64_t shm_offset, len, flags, fd_offset, dev, ino;
};

struct window {
	char name[VUSHM_NAME_MAX];
	uint64_t size, mapped_bytes;
	uint32_t shmid, hole_policy, uid, gid, mode, pid, nr_vmas, nr_mappings;
	bool has_pid, ephemeral, has_mapping;
	uint64_t maps, unmaps, map_errors, pages_installed, faults,
		 hole_faults, ro_denied;
	unsigned int nr_failures;
	struct {
		uint32_t err;
		uint64_t count;
	} failures[MAX_FAILURES];
	struct mapping m;
};

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vushmctl [-j] list\n"
"       vushmctl [-j] show NAME\n"
"       vushmctl [-j] monitor\n"
"       vushmctl create NAME --size SIZE [--shmid N] [--hole-policy zero|sigbus]\n"
"                       [--owner USER[:GROUP]] [--mode MODE]\n"
"       vushmctl destroy NAME\n"
"\n"
"  list     every window you may see (all of them with CAP_NET_ADMIN or\n"
"           CAP_SYS_ADMIN, else those whose node you own)\n"
"  show     one window, its counters and its mappings\n"
"  monitor  window events as they happen, one line each (needs CAP_NET_ADMIN);\n"
"           Ctrl-C stops\n"
"  create   a persistent window (SIZE in bytes, or with a K, M, G or T suffix;\n"
"           MODE in octal, default 0600)\n"
"  destroy  a window\n"
"\n"
"  -j, --json  JSON output        -h, --help  this help\n"
"Exit status: 0 success, 1 error, 2 usage error.\n");
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *hole_name(uint32_t p)
{
	return p == VUSHM_HOLE_SIGBUS ? "sigbus" : p == VUSHM_HOLE_ZERO ?
	       "zero" : "unknown";
}

static const char *errno_name(uint32_t e)
{
	const char *n = e ? strerrorname_np((int)e) : NULL;

	return n ? n : "other";
}

static const char *size_str(uint64_t v, char *buf, size_t n)
{
	static const char *const unit[] = { "", "K", "M", "G", "T", "P" };
	unsigned int i = 0;

	while (v && !(v & 1023) && i < 5) {
		v >>= 10;
		i++;
	}
	snprintf(buf, n, "%" PRIu64 "%s", v, unit[i]);
	return buf;
}

static void json_mapping(const struct mapping *m)
{
	printf("{\"shm_offset\":%" PRIu64 ",\"len\":%" PRIu64
	       ",\"flags\":%" PRIu64 ",\"rw\":%s,\"fd_offset\":%" PRIu64
	       ",\"dev\":\"%u:%u\",\"ino\":%" PRIu64 "}",
	       m->shm_offset, m->len, m->flags,
	       (m->flags & VUSHM_MAP_RW) ? "true" : "false", m->fd_offset,
	       major(m->dev), minor(m->dev), m->ino);
}

/* The members of a window object, without braces. */
static void json_window_members(const struct window *w)
{
	unsigned int i;

	printf("\"name\":");
	json_str(w->name);
	printf(",\"size\":%" PRIu64 ",\"shmid\":%u,\"hole_policy\":\"%s\""
	       ",\"uid\":%u,\"gid\":%u,\"mode\":\"%04o\"",
	       w->size, w->shmid, hole_name(w->hole_policy), w->uid, w->gid,
	       w->mode);
	if (w->has_pid)
		printf(",\"controller_pid\":%u", w->pid);
	printf(",\"nr_vmas\":%u,\"nr_mappings\":%u,\"mapped_bytes\":%" PRIu64
	       ",\"ephemeral\":%s", w->nr_vmas, w->nr_mappings, w->mapped_bytes,
	       w->ephemeral ? "true" : "false");
	printf(",\"stats\":{\"maps\":%" PRIu64 ",\"unmaps\":%" PRIu64
	       ",\"map_errors\":%" PRIu64 ",\"pages_installed\":%" PRIu64
	       ",\"faults\":%" PRIu64 ",\"hole_faults\":%" PRIu64
	       ",\"ro_denied\":%" PRIu64 ",\"failures\":{",
	       w->maps, w->unmaps, w->map_errors, w->pages_installed,
	       w->faults, w->hole_faults, w->ro_denied);
	for (i = 0; i < w->nr_failures; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "",
		       errno_name(w->failures[i].err), w->failures[i].count);
	printf("}}");
}

static void text_mapping(const struct mapping *m)
{
	printf("  0x%012" PRIx64 " 0x%010" PRIx64 " %-2s %5u:%-5u %10" PRIu64
	       " 0x%" PRIx64 "\n", m->shm_offset, m->len,
	       (m->flags & VUSHM_MAP_RW) ? "rw" : "ro", major(m->dev),
	       minor(m->dev), m->ino, m->fd_offset);
}

static void text_window_long(const struct window *w)
{
	char sz[32], mb[32];
	unsigned int i;
	bool any = false;

	printf("window %s\n", w->name);
	printf("  size %s (%" PRIu64 ") shmid %u hole-policy %s%s\n",
	       size_str(w->size, sz, sizeof(sz)), w->size, w->shmid,
	       hole_name(w->hole_policy), w->ephemeral ? " ephemeral" : "");
	printf("  owner %u:%u mode %04o\n", w->uid, w->gid, w->mode);
	if (w->has_pid)
		printf("  controller pid %u\n", w->pid);
	else
		printf("  controller none\n");
	printf("  vmas %u mappings %u mapped %s (%" PRIu64 ")\n", w->nr_vmas,
	       w->nr_mappings, size_str(w->mapped_bytes, mb, sizeof(mb)),
	       w->mapped_bytes);
	printf("  maps %" PRIu64 " unmaps %" PRIu64 " map-errors %" PRIu64
	       " pages-installed %" PRIu64 "\n", w->maps, w->unmaps,
	       w->map_errors, w->pages_installed);
	printf("  faults %" PRIu64 " hole-faults %" PRIu64 " ro-denied %"
	       PRIu64 "\n", w->faults, w->hole_faults, w->ro_denied);
	printf("  failures");
	for (i = 0; i < w->nr_failures; i++) {
		if (!w->failures[i].count)
			continue;
		printf(" %s %" PRIu64, errno_name(w->failures[i].err),
		       w->failures[i].count);
		any = true;
	}
	printf("%s\n", any ? "" : " none");
}

/* ------------------------------------------------------------------ */
/* Netlink                                                             */
/* ------------------------------------------------------------------ */

static struct nla_policy window_pol[VUSHM_A_WINDOW_MAX + 1] = {
	[VUSHM_A_WINDOW_NAME] = { .type = NLA_NUL_STRING },
	[VUSHM_A_WINDOW_SIZE] = { .type = NLA_U64 },
	[VUSHM_A_WINDOW_SHMID] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_HOLE_POLICY] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_UID] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_GID] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_MODE] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_CONTROLLER_PID] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_NR_VMAS] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_NR_MAPPINGS] = { .type = NLA_U32 },
	[VUSHM_A_WINDOW_MAPPED_BYTES] = { .type = NLA_U64 },
	[VUSHM_A_WINDOW_EPHEMERAL] = { .type = NLA_FLAG },
	[VUSHM_A_WINDOW_STATS] = { .type = NLA_NESTED },
	[VUSHM_A_WINDOW_MAPPING] = { .type = NLA_NESTED },
};

static struct nla_policy mapping_pol[VUSHM_A_MAPPING_MAX + 1] = {
	[VUSHM_A_MAPPING_SHM_OFFSET] = { .type = NLA_U64 },
	[VUSHM_A_MAPPING_LEN] = { .type = NLA_U64 },
	[VUSHM_A_MAPPING_FLAGS] = { .type = NLA_U64 },
	[VUSHM_A_MAPPING_FD_OFFSET] = { .type = NLA_U64 },
	[VUSHM_A_MAPPING_DEV] = { .type = NLA_U64 },
	[VUSHM_A_MAPPING_INO] = { .type = NLA_U64 },
};

static uint64_t get_u64(struct nlattr **tb, int i)
{
	return tb[i] ? nla_get_u64(tb[i]) : 0;
}

static uint32_t get_u32(struct nlattr **tb, int i)
{
	return tb[i] ? nla_get_u32(tb[i]) : 0;
}

static int parse_stats(struct nlattr *nest, struct window *w)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		struct nlattr *f[VUSHM_A_FAILURE_MAX + 1];
		uint64_t v = nla_len(a) == 8 ? nla_get_u64(a) : 0;

		switch (nla_type(a)) {
		case VUSHM_A_STATS_MAPS: w->maps = v; break;
		case VUSHM_A_STATS_UNMAPS: w->unmaps = v; break;
		case VUSHM_A_STATS_MAP_ERRORS: w->map_errors = v; break;
		case VUSHM_A_STATS_PAGES_INSTALLED: w->pages_installed = v; break;
		case VUSHM_A_STATS_FAULTS: w->faults = v; break;
		case VUSHM_A_STATS_HOLE_FAULTS: w->hole_faults = v; break;
		case VUSHM_A_STATS_RO_DENIED: w->ro_denied = v; break;
		case VUSHM_A_STATS_FAILURE:
			if (nla_parse_nested(f, VUSHM_A_FAILURE_MAX, a, NULL) ||
			    w->nr_failures == MAX_FAILURES)
				return -1;
			w->failures[w->nr_failures].err =
				get_u32(f, VUSHM_A_FAILURE_ERRNO);
			w->failures[w->nr_failures++].count =
				get_u64(f, VUSHM_A_FAILURE_COUNT);
			break;
		}
	}
	return 0;
}

static int parse_window(struct nl_msg *msg, struct window *w)
{
	struct nlattr *tb[VUSHM_A_WINDOW_MAX + 1];
	struct nlattr *mt[VUSHM_A_MAPPING_MAX + 1];

	memset(w, 0, sizeof(*w));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VUSHM_A_WINDOW_MAX,
			  window_pol) || !tb[VUSHM_A_WINDOW_NAME])
		return -1;
	snprintf(w->name, sizeof(w->name), "%s",
		 nla_get_string(tb[VUSHM_A_WINDOW_NAME]));
	w->size = get_u64(tb, VUSHM_A_WINDOW_SIZE);
	w->shmid = get_u32(tb, VUSHM_A_WINDOW_SHMID);
	w->hole_policy = get_u32(tb, VUSHM_A_WINDOW_HOLE_POLICY);
	w->uid = get_u32(tb, VUSHM_A_WINDOW_UID);
	w->gid = get_u32(tb, VUSHM_A_WINDOW_GID);
	w->mode = get_u32(tb, VUSHM_A_WINDOW_MODE);
	w->has_pid = tb[VUSHM_A_WINDOW_CONTROLLER_PID];
	w->pid = get_u32(tb, VUSHM_A_WINDOW_CONTROLLER_PID);
	w->nr_vmas = get_u32(tb, VUSHM_A_WINDOW_NR_VMAS);
	w->nr_mappings = get_u32(tb, VUSHM_A_WINDOW_NR_MAPPINGS);
	w->mapped_bytes = get_u64(tb, VUSHM_A_WINDOW_MAPPED_BYTES);
	w->ephemeral = tb[VUSHM_A_WINDOW_EPHEMERAL];
	if (tb[VUSHM_A_WINDOW_STATS] &&
	    parse_stats(tb[VUSHM_A_WINDOW_STATS], w))
		return -1;
	if (tb[VUSHM_A_WINDOW_MAPPING]) {
		if (nla_parse_nested(mt, VUSHM_A_MAPPING_MAX,
				     tb[VUSHM_A_WINDOW_MAPPING], mapping_pol))
			return -1;
		w->has_mapping = true;
		w->m.shm_offset = get_u64(mt, VUSHM_A_MAPPING_SHM_OFFSET);
		w->m.len = get_u64(mt, VUSHM_A_MAPPING_LEN);
		w->m.flags = get_u64(mt, VUSHM_A_MAPPING_FLAGS);
		w->m.fd_offset = get_u64(mt, VUSHM_A_MAPPING_FD_OFFSET);
		w->m.dev = get_u64(mt, VUSHM_A_MAPPING_DEV);
		w->m.ino = get_u64(mt, VUSHM_A_MAPPING_INO);
	}
	return 0;
}

struct nl {
	struct nl_sock *sk;
	int family;
};

/* A growing array of parsed messages. */
struct collect {
	struct window *v;
	size_t n, cap;
	int err;		/* errno from an NLMSG_ERROR */
	bool bad;		/* a message did not parse */
};

static int vnl_open(struct nl *nl)
{
	int ret;

	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		fail("out of memory");
		return -1;
	}
	ret = genl_connect(nl->sk);
	if (ret) {
		fail("cannot open a generic netlink socket: %s", nl_geterror(ret));
		return -1;
	}
	nl->family = genl_ctrl_resolve(nl->sk, VUSHM_GENL_NAME);
	if (nl->family < 0) {
		fail("vushm module not loaded (no \"%s\" generic netlink family): modprobe vushm",
		     VUSHM_GENL_NAME);
		return -1;
	}
	return 0;
}

static void vnl_close(struct nl *nl)
{
	nl_socket_free(nl->sk);
}

static int collect_valid(struct nl_msg *msg, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct window *v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			c->err = ENOMEM;
			return NL_STOP;
		}
		c->v = v;
		c->cap = cap;
	}
	if (parse_window(msg, &c->v[c->n]))
		c->bad = true;
	else
		c->n++;
	return NL_OK;
}

static int collect_error(struct sockaddr_nl *nla, struct nlmsgerr *e,
			 void *arg)
{
	struct collect *c = arg;

	(void)nla;
	c->err = -e->error;
	return NL_STOP;
}

/*
 * One request: @cmd, dump or not, with the window @name if not NULL.
 * Replies go to @c.  A dump that a change interrupted (NLM_F_DUMP_INTR) is
 * retried a few times.  Returns 0, or an errno (reported to the user).
 */
static int vnl_request(struct nl *nl, uint8_t cmd, bool dump, const char *name,
		      struct collect *c)
{
	int tries, ret = 0;

	for (tries = 0; tries < 5; tries++) {
		struct nl_msg *msg = nlmsg_alloc();
		struct nl_cb *cb;

		c->n = 0;
		c->err = 0;
		c->bad = false;
		if (!msg)
			return ENOMEM;
		if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				 dump ? NLM_F_DUMP : 0, cmd,
				 VUSHM_GENL_VERSION) ||
		    (name && nla_put_string(msg, VUSHM_A_WINDOW_NAME, name))) {
			nlmsg_free(msg);
			return ENOMEM;
		}
		cb = nl_cb_alloc(NL_CB_DEFAULT);
		if (!cb) {
			nlmsg_free(msg);
			return ENOMEM;
		}
		nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, collect_valid, c);
		nl_cb_err(cb, NL_CB_CUSTOM, collect_error, c);
		ret = nl_send_auto(nl->sk, msg);
		nlmsg_free(msg);
		if (ret >= 0)
			ret = nl_recvmsgs(nl->sk, cb);
		if (ret >= 0 && !dump && !c->err)
			ret = nl_wait_for_ack(nl->sk);
		nl_cb_put(cb);
		if (c->err)
			return c->err;
		if (ret == -NLE_DUMP_INTR)
			continue;
		if (ret < 0) {
			fail("netlink: %s", nl_geterror(ret));
			return EIO;
		}
		if (c->bad) {
			fail("netlink: malformed reply from the kernel");
			return EIO;
		}
		return 0;
	}
	fail("the windows kept changing during the dump: try again");
	return EAGAIN;
}

static void report_errno(int err, const char *name)
{
	switch (err) {
	case ENOENT:
		fail("no window named %s", name ? name : "?");
		break;
	case EPERM:
	case EACCES:
		fail("permission denied: run as root");
		break;
	case EIO:
	case EAGAIN:
		break;	/* already reported */
	default:
		fail("%s", strerror(err));
	}
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct window *x = a, *y = b;

	return x->m.shm_offset < y->m.shm_offset ? -1 :
	       x->m.shm_offset > y->m.shm_offset;
}

static int cmd_list(void)
{
	struct collect c = { 0 };
	struct nl nl;
	size_t i;
	int err;

	if (vnl_open(&nl))
		return EXIT_RUNTIME;
	err = vnl_request(&nl, VUSHM_CMD_WINDOW_GET, true, NULL, &c);
	vnl_close(&nl);
	if (err) {
		report_errno(err, NULL);
		free(c.v);
		return EXIT_RUNTIME;
	}
	if (json) {
		printf("[");
		for (i = 0; i < c.n; i++) {
			printf("%s{", i ? "," : "");
			json_window_members(&c.v[i]);
			printf("}");
		}
		printf("]\n");
	} else {
		if (c.n)
			printf("%-31s %8s %5s %-6s %11s %4s %8s %4s %8s %8s\n",
			       "NAME", "SIZE", "SHMID", "HOLES", "OWNER", "MODE",
			       "CTRL", "VMAS", "MAPPINGS", "MAPPED");
		for (i = 0; i < c.n; i++) {
			const struct window *w = &c.v[i];
			char sz[32], mb[32], own[32], pid[16];

			snprintf(own, sizeof(own), "%u:%u", w->uid, w->gid);
			if (w->has_pid)
				snprintf(pid, sizeof(pid), "%u", w->pid);
			else
				snprintf(pid, sizeof(pid), "-");
			printf("%-31s %8s %5u %-6s %11s %04o %8s %4u %8u %8s\n",
			       w->name, size_str(w->size, sz, sizeof(sz)),
			       w->shmid, hole_name(w->hole_policy), own,
			       w->mode, pid, w->nr_vmas, w->nr_mappings,
			       size_str(w->mapped_bytes, mb, sizeof(mb)));
		}
	}
	free(c.v);
	return 0;
}

static int cmd_show(const char *name)
{
	struct collect win = { 0 }, maps = { 0 };
	int err, rc = EXIT_RUNTIME;
	struct nl nl;
	size_t i;

	if (vnl_open(&nl))
		return EXIT_RUNTIME;
	err = vnl_request(&nl, VUSHM_CMD_WINDOW_GET, false, name, &win);
	if (!err && win.n != 1) {
		fail("netlink: expected one window in the reply, got %zu", win.n);
		err = EIO;
	}
	if (!err)
		err = vnl_request(&nl, VUSHM_CMD_MAPPING_GET, true, name, &maps);
	vnl_close(&nl);
	if (err) {
		report_errno(err, name);
		goto out;
	}
	qsort(maps.v, maps.n, sizeof(*maps.v), cmp_mapping);
	if (json) {
		printf("{");
		json_window_members(&win.v[0]);
		printf(",\"mappings\":[");
		for (i = 0; i < maps.n; i++) {
			printf("%s", i ? "," : "");
			json_mapping(&maps.v[i].m);
		}
		printf("]}\n");
	} else {
		text_window_long(&win.v[0]);
		if (maps.n)
			printf("  %-14s %-12s %-2s %11s %10s %s\n", "SHM_OFFSET",
			       "LEN", "RW", "DEV", "INO", "FD_OFFSET");
		for (i = 0; i < maps.n; i++)
			text_mapping(&maps.v[i].m);
	}
	rc = 0;
out:
	free(win.v);
	free(maps.v);
	return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case VUSHM_CMD_WINDOW_CREATE_NTF: return "create";
	case VUSHM_CMD_WINDOW_DESTROY_NTF: return "destroy";
	case VUSHM_CMD_WINDOW_ATTACH_NTF: return "attach";
	case VUSHM_CMD_CONTROLLER_CLOSE_NTF: return "close";
	case VUSHM_CMD_MAP_NTF: return "map";
	case VUSHM_CMD_UNMAP_NTF: return "unmap";
	case VUSHM_CMD_RESET_NTF: return "reset";
	default: return NULL;
	}
}

static int monitor_valid(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	const char *ev = event_name(gh->cmd);
	char ts[64], frac[16];
	struct timeval tv;
	struct window w;
	struct tm tm;

	(void)arg;
	if (!ev || parse_window(msg, &w))
		return NL_OK;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%06ld", (long)tv.tv_usec);
	if (json) {
		printf("{\"time\":\"%s%s\",\"event\":\"%s\",", ts, frac, ev);
		json_window_members(&w);
		if (w.has_mapping) {
			printf(",\"mapping\":");
			json_mapping(&w.m);
		}
		printf("}\n");
	} else {
		char sz[32];

		printf("%s%s %-7s %s", ts, frac, ev, w.name);
		switch (gh->cmd) {
		case VUSHM_CMD_WINDOW_CREATE_NTF:
			printf(" size %s shmid %u hole-policy %s owner %u:%u mode %04o%s",
			       size_str(w.size, sz, sizeof(sz)), w.shmid,
			       hole_name(w.hole_policy), w.uid, w.gid, w.mode,
			       w.ephemeral ? " ephemeral" : "");
			break;
		case VUSHM_CMD_WINDOW_ATTACH_NTF:
			if (w.has_pid)
				printf(" pid %u", w.pid);
			break;
		case VUSHM_CMD_MAP_NTF:
		case VUSHM_CMD_UNMAP_NTF:
			printf(" shm_offset 0x%" PRIx64 " len 0x%" PRIx64
			       " %s dev %u:%u ino %" PRIu64 " fd_offset 0x%"
			       PRIx64, w.m.shm_offset, w.m.len,
			       (w.m.flags & VUSHM_MAP_RW) ? "rw" : "ro",
			       major(w.m.dev), minor(w.m.dev), w.m.ino,
			       w.m.fd_offset);
			break;
		}
		printf(" mappings %u\n", w.nr_mappings);
	}
	fflush(stdout);
	return NL_OK;
}

static int cmd_monitor(void)
{
	struct sigaction sa;
	struct nl nl;
	int grp, ret;

	if (vnl_open(&nl))
		return EXIT_RUNTIME;
	grp = genl_ctrl_resolve_grp(nl.sk, VUSHM_GENL_NAME,
				    VUSHM_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		fail("no \"%s\" multicast group: is vushm.ko too old?",
		     VUSHM_GENL_MCGRP_EVENTS);
		goto err;
	}
	ret = nl_socket_add_membership(nl.sk, grp);
	if (ret) {
		if (ret == -NLE_PERM)
			fail("permission denied: run as root (events need CAP_NET_ADMIN)");
		else
			fail("cannot join the events group: %s", nl_geterror(ret));
		goto err;
	}
	nl_socket_disable_seq_check(nl.sk);
	nl_socket_modify_cb(nl.sk, NL_CB_VALID, NL_CB_CUSTOM, monitor_valid,
			    NULL);
	nl_socket_set_nonblocking(nl.sk);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Tells a script that events are being listened to from now on. */
	if (!json)
		fprintf(stderr, "%s: monitoring vushm events\n", prog);

	while (!stop) {
		struct pollfd p = { .fd = nl_socket_get_fd(nl.sk),
				    .events = POLLIN };

		ret = poll(&p, 1, -1);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			fail("poll: %s", strerror(errno));
			goto err;
		}
		ret = nl_recvmsgs_default(nl.sk);
		if (ret < 0 && ret != -NLE_AGAIN) {
			if (ret == -NLE_NOMEM) {
				/* ENOBUFS: the socket overflowed */
				fail("events lost (receive buffer overflow)");
				continue;
			}
			fail("netlink: %s", nl_geterror(ret));
			goto err;
		}
	}
	vnl_close(&nl);
	return 0;
err:
	vnl_close(&nl);
	return EXIT_RUNTIME;
}

/* ------------------------------------------------------------------ */
/* Control node                                                        */
/* ------------------------------------------------------------------ */

static int open_control(void)
{
	int fd = open(CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
		fail("vushm module not loaded (no %s): modprobe vushm",
		     CONTROL_PATH);
	else if (errno == EPERM || errno == EACCES)
		fail("permission denied opening %s: run as root", CONTROL_PATH);
	else
		fail("%s: %s", CONTROL_PATH, strerror(errno));
	return -1;
}

static int parse_uint(const char *s, int base, unsigned long max,
		      uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (!len || len >= VUSHM_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "shmid", required_argument, NULL, 'i' },
		{ "hole-policy", required_argument, NULL, 'p' },
		{ "owner", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vushm_create c;
	const char *name = NULL;
	bool have_size = false;
	int opt, ctl, cfd;
	uint64_t size;

	memset(&c, 0, sizeof(c));
	c.mode = 0600;
	optind = 0;	/* glibc: start over, argv[0] is "create" */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (vu_parse_size(optarg, &size)) {
				fail("bad size '%s' (bytes, or a number with K, M, G or T)",
				     optarg);
				return EXIT_USAGE;
			}
			c.size = size;
			have_size = true;
			break;
		case 'i':
			if (parse_uint(optarg, 0, 255, &c.shmid)) {
				fail("bad shmid '%s' (0-255)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (!strcmp(optarg, "zero")) {
				c.hole_policy = VUSHM_HOLE_ZERO;
			} else if (!strcmp(optarg, "sigbus")) {
				c.hole_policy = VUSHM_HOLE_SIGBUS;
			} else {
				fail("bad hole policy '%s' (zero or sigbus)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o': {
			char why[128];

			if (vu_parse_owner(optarg, &c.uid, &c.gid, why,
					   sizeof(why))) {
				fail("%s", why);
				return EXIT_USAGE;
			}
			break;
		}
		case 'm':
			if (parse_uint(optarg, 8, 0777, &c.mode)) {
				fail("bad mode '%s' (octal, at most 0777)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (!name || optind != argc || !have_size) {
		fail("create needs NAME and --size SIZE");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!name_ok(name)) {
		fail("bad window name '%s' (1 to %d characters of A-Z a-z 0-9 . _ -)",
		     name, VUSHM_NAME_MAX - 1);
		return EXIT_USAGE;
	}
	memcpy(c.name, name, strlen(name));
	if (!c.mode)
		c.mode = 0600;	/* 0 would mean 0600 anyway */

	ctl = open_control();
	if (ctl < 0)
		return EXIT_RUNTIME;
	cfd = ioctl(ctl, VUSHM_CREATE, &c);
	if (cfd < 0) {
		int e = errno;

		close(ctl);
		if (e == EEXIST)
			fail("a window named %s exists already", name);
		else if (e == EFBIG)
			fail("size %" PRIu64 " is above the module's max_window_size",
			     (uint64_t)c.size);
		else if (e == ENOSPC)
			fail("too many windows (module parameter max_windows)");
		else if (e == EINVAL)
			fail("invalid argument: the size must be a non-zero multiple of the page size (%ld), the owner valid",
			     sysconf(_SC_PAGESIZE));
		else
			fail("cannot create %s: %s", name, strerror(e));
		return EXIT_RUNTIME;
	}
	/* The window stays when its controller goes (not ephemeral). */
	close(cfd);
	close(ctl);
	return 0;
}

static int cmd_destroy(const char *name)
{
	struct vushm_window_ref r;
	int ctl, ret, e;

	if (!name_ok(name)) {
		fail("bad window name '%s'", name);
		return EXIT_USAGE;
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.name, name, strlen(name));
	ctl = open_control();
	if (ctl < 0)
		return EXIT_RUNTIME;
	ret = ioctl(ctl, VUSHM_DESTROY, &r);
	e = errno;
	close(ctl);
	if (ret) {
		if (e == ENOENT)
			fail("no window named %s", name);
		else
			fail("cannot destroy %s: %s", name, strerror(e));
		return EXIT_RUNTIME;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int opt;

	while ((opt = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "list") && argc == 0)
		return cmd_list();
	if (!strcmp(cmd, "show") && argc == 1)
		return cmd_show(argv[0]);
	if (!strcmp(cmd, "monitor") && argc == 0)
		return cmd_monitor();
	if (!strcmp(cmd, "create"))
		return cmd_create(argc + 1, argv - 1);
	if (!strcmp(cmd, "destroy") && argc == 1)
		return cmd_destroy(argv[0]);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fail("unknown command or wrong arguments: %s", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
