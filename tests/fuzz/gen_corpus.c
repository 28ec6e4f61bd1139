// SPDX-License-Identifier: GPL-2.0
/*
 * gen_corpus DIR: writes proto_fuzz's seed inputs into DIR, built with
 * helper/proto.c's own encoders so that they stay valid when the library
 * changes (no binary files in the tree).  Layout of an input: selector
 * byte, fd count byte, 12-byte header, payload (see proto_fuzz.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define PF(b)	VU_PF(VHOST_USER_PROTOCOL_F_##b)
/* selector bits */
#define XEN	4
#define ACKED	16

static const char *dir;

static void seed(const char *name, unsigned int sel, unsigned int nfds,
		 uint32_t req, uint32_t flags, const void *payload, size_t len)
{
	struct vu_hdr h = { .request = req, .flags = flags,
			    .size = (uint32_t)len };
	uint8_t hb[VU_HDR_SIZE], pre[2] = { (uint8_t)sel, (uint8_t)nfds };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	vu_hdr_encode(&h, hb);
	if (fwrite(pre, 1, 2, f) != 2 || fwrite(hb, 1, sizeof(hb), f) != sizeof(hb) ||
	    (len && fwrite(payload, 1, len, f) != len) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static size_t mem_table(uint8_t *b, unsigned int n, size_t rsz)
{
	unsigned int i;

	memset(b, 0, 8 + n * rsz);
	b[0] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		uint8_t *r = b + 8 + i * rsz;

		vu_u64_encode((uint64_t)i << 30, r);
		vu_u64_encode(1ULL << 30, r + 8);
		vu_u64_encode(0x7f0000000000ULL + ((uint64_t)i << 30), r + 16);
	}
	return 8 + n * rsz;
}

/*
 * Seeds recorded from real sessions (VUSHM_HELPER_RECORD, see
 * Documentation/vushm-helper.rst): "NAME HEX" lines, '#' comments.
 */
static int recorded(const char *path)
{
	static char line[2 * (VU_HDR_SIZE + VU_MAX_PAYLOAD) + 256];
	static uint8_t bin[VU_HDR_SIZE + VU_MAX_PAYLOAD + 2];
	char name[64], out[512];
	unsigned int x;
	size_t n, i;
	FILE *f = fopen(path, "r"), *o;

	if (!f) {
		perror(path);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *hex;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		hex = strchr(line, ' ');
		if (!hex || hex - line >= (long)sizeof(name))
			goto bad;
		memcpy(name, line, hex - line);
		name[hex - line] = 0;
		hex++;
		for (n = 0; hex[2 * n] && hex[2 * n] != '\n'; n++) {
			if (n == sizeof(bin) || sscanf(hex + 2 * n, "%2x", &x) != 1)
				goto bad;
			bin[n] = (uint8_t)x;
		}
		snprintf(out, sizeof(out), "%s/%s", dir, name);
		o = fopen(out, "w");
		if (!o || fwrite(bin, 1, n, o) != n || fclose(o)) {
			perror(out);
			fclose(f);
			return 1;
		}
		for (i = 0; i < n; i++)
			bin[i] = 0;
	}
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "%s: bad line: %.60s\n", path, line);
	fclose(f);
	return 1;
}

int main(int argc, char **argv)
{
	const uint32_t rq = vu_hdr_flags(false, false);
	const uint32_t nr = vu_hdr_flags(false, true);
	const uint32_t rp = vu_hdr_flags(true, false);
	static struct vu_shmem_config cfg;
	static uint8_t b[VU_MAX_PAYLOAD];
	struct vu_mmap m = { .shmid = 0, .fd_offset = 0x200000,
			     .shm_offset = 0x10000, .len = 0x4000,
			     .flags = VU_MMAP_F_RW };
	size_t len;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s DIR [RECORDED]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	if (argc == 3 && recorded(argv[2]))
		return 1;

	/* feature negotiation */
	seed("get_features", VU_FE_REQUEST, 0, VHOST_USER_GET_FEATURES, rq, NULL, 0);
	vu_u64_encode(1ULL << VHOST_USER_F_PROTOCOL_FEATURES | 1ULL << 32, b);
	seed("get_features_reply", VU_FE_REPLY, 0, VHOST_USER_GET_FEATURES, rp, b, 8);
	vu_u64_encode(PF(SHMEM) | PF(BACKEND_REQ) | PF(BACKEND_SEND_FD) |
		      PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS) | PF(MQ), b);
	seed("protocol_features_reply", VU_FE_REPLY, 0,
	     VHOST_USER_GET_PROTOCOL_FEATURES, rp, b, 8);
	seed("set_protocol_features", VU_FE_REQUEST | 64, 0,
	     VHOST_USER_SET_PROTOCOL_FEATURES, nr, b, 8);
	vu_u64_encode(PF(SHMEM_PRERELEASE) | PF(REPLY_ACK), b);
	vu_u64_encode(PF(MQ), b + 8);
	/* not a valid message: a (backend, VMM) pair for the feature masks */
	seed("features_pair_21", VU_FE_REQUEST | 64, 0,
	     VHOST_USER_SET_PROTOCOL_FEATURES, rq, b, 16);

	/* GET_SHMEM_CONFIG and its reply */
	seed("get_shmem_config", VU_FE_REQUEST, 0, VHOST_USER_GET_SHMEM_CONFIG,
	     rq, NULL, 0);
	cfg.nregions = 2;
	cfg.sizes[0] = 1ULL << 26;
	cfg.sizes[3] = 1ULL << 21;
	vu_shmem_config_encode(&cfg, b);
	seed("shmem_config_reply", VU_FE_REPLY, 0, VHOST_USER_GET_SHMEM_CONFIG,
	     rp, b, VU_SHMEM_CONFIG_SIZE);

	/* SHMEM_MAP / UNMAP and their acks */
	vu_mmap_encode(&m, b);
	seed("shmem_map", VU_BE_REQUEST | ACKED | 64 | 12, 1,
	     VHOST_USER_BACKEND_SHMEM_MAP, nr, b, VU_MMAP_SIZE);
	m.flags = 0;
	vu_mmap_encode(&m, b);
	seed("shmem_unmap", VU_BE_REQUEST | ACKED | 12, 0,
	     VHOST_USER_BACKEND_SHMEM_UNMAP, nr, b, VU_MMAP_SIZE);
	vu_u64_encode(0, b);
	seed("shmem_map_ack", VU_BE_REPLY, 0, VHOST_USER_BACKEND_SHMEM_MAP, rp,
	     b, 8);

	/* memory tables */
	len = mem_table(b, 2, VU_MEM_REGION_SIZE);
	seed("set_mem_table", VU_FE_REQUEST, 2, VHOST_USER_SET_MEM_TABLE, rq, b,
	     len);
	len = mem_table(b, 8, VU_MEM_REGION_SIZE_XEN);
	seed("set_mem_table_xen", VU_FE_REQUEST | XEN, 8,
	     VHOST_USER_SET_MEM_TABLE, rq, b, len);
	len = mem_table(b, 1, VU_MEM_REGION_SIZE);
	memset(b, 0, 8);
	seed("add_mem_reg", VU_FE_REQUEST, 1, VHOST_USER_ADD_MEM_REG, nr, b, len);

	/* vrings: an eventfd, and polling (NOFD) */
	vu_u64_encode(1, b);
	seed("set_vring_kick", VU_FE_REQUEST, 1, VHOST_USER_SET_VRING_KICK, rq,
	     b, 8);
	vu_u64_encode(1 | VHOST_USER_VRING_NOFD_MASK, b);
	seed("set_vring_call_nofd", VU_FE_REQUEST, 0, VHOST_USER_SET_VRING_CALL,
	     rq, b, 8);

	/* config space */
	memset(b, 0, 12 + 60);
	b[4] = 60;
	seed("get_config", VU_FE_REQUEST, 0, VHOST_USER_GET_CONFIG, rq, b, 72);
	seed("get_config_reply", VU_FE_REPLY, 0, VHOST_USER_GET_CONFIG, rp, b, 72);
	return 0;
}
