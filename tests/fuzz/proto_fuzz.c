// SPDX-License-Identifier: GPL-2.0
/*
 * proto_fuzz: libFuzzer target over helper/proto.c, the code that reads
 * what a VMM or a backend sends vushm-helper.  Built with ASan and UBSan
 * (tests/fuzz/Makefile, `make fuzz`).
 *
 * Input: byte 0 selects the direction (bits 0-1) and the connection state
 * (bit 2 XEN_MMAP, 3 LOG_SHMFD, 4 REPLY_ACK, 5 postcopy, 6 the bit-21
 * compatibility option), byte 1 is the number of fds "received", then a
 * 12-byte header and the payload.  Everything is also fed to every payload
 * decoder, the MAP/UNMAP validator and the feature masks, and the results
 * are checked against what the API promises (an accepted message is
 * exactly as long as its header says; an accepted map lies inside its
 * region; codecs round-trip), so a broken promise crashes like a bug.
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

#define CHECK(c)	do { if (!(c)) __builtin_trap(); } while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The message path: header, then payload and fds. */
static void fuzz_message(const uint8_t *d, size_t n, uint8_t sel,
			 unsigned int nfds)
{
	enum vu_dir dir = (enum vu_dir)(sel & 3);
	bool be = dir == VU_BE_REQUEST || dir == VU_BE_REPLY;
	struct vu_ctx ctx = {
		.proto = (sel & 4 ? VU_PF(VHOST_USER_PROTOCOL_F_XEN_MMAP) : 0) |
			 (sel & 8 ? VU_PF(VHOST_USER_PROTOCOL_F_LOG_SHMFD) : 0) |
			 (sel & 16 ? VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK) : 0),
		.postcopy = sel & 32,
	};
	const struct vu_req_info *ri;
	uint8_t hb[VU_HDR_SIZE];
	enum vu_result hr, mr;
	struct vu_hdr h;

	hr = vu_hdr_parse(dir, d, n, &h);
	CHECK(vu_strresult(hr));
	if (n < VU_HDR_SIZE) {
		CHECK(hr == VU_E_HDR_SHORT);
		return;
	}
	vu_hdr_encode(&h, hb);
	CHECK(!memcmp(hb, d, VU_HDR_SIZE));
	CHECK(vu_req_name(be, h.request));

	/* The payload check must hold up even after a refused header. */
	mr = vu_msg_check(dir, &h, d + VU_HDR_SIZE, n - VU_HDR_SIZE, nfds, &ctx);
	CHECK(vu_strresult(mr));
	if (hr == VU_OK && mr == VU_OK) {
		ri = vu_req_info(be, h.request);
		CHECK(ri);
		CHECK(n - VU_HDR_SIZE == h.size);
		CHECK(h.size <= VU_MAX_PAYLOAD);
		CHECK(nfds <= VU_MAX_FDS);
		CHECK((h.flags & VU_FLAG_VERSION_MASK) == VU_VERSION);
		CHECK(!(h.flags & VU_FLAG_RESERVED));
		CHECK(vu_msg_parse(dir, d, VU_HDR_SIZE, d + VU_HDR_SIZE,
				   n - VU_HDR_SIZE, nfds, &ctx, &h) == VU_OK);
	}
	if (hr != VU_OK)
		CHECK(vu_msg_parse(dir, d, VU_HDR_SIZE, d + VU_HDR_SIZE,
				   n - VU_HDR_SIZE, nfds, &ctx, &h) == hr);
	(void)vu_reply_expected(be, &h, &ctx);
	(void)vu_reply_expected(be, &h, NULL);
}

/* The MAP/UNMAP rules, with region sizes and page size from the input. */
static void fuzz_mmap(const uint8_t *d, size_t n, uint8_t sel)
{
	uint64_t sizes[4] = { 1 << 20, 0, UINT64_MAX & ~0xfffULL, 0 };
	uint64_t page = 1ULL << (sel & 63);
	uint8_t buf[VU_MMAP_SIZE];
	struct vu_mmap m, back;
	enum vu_result r;
	bool map = sel & 64;
	size_t i;

	if (n < VU_MMAP_SIZE)
		return;
	if (n >= VU_MMAP_SIZE + 8)
		sizes[3] = le64(d + VU_MMAP_SIZE);
	if (sel & 128)		/* now and then a page size that is not 2^n */
		page = n;

	r = vu_mmap_decode(d, VU_MMAP_SIZE, &m);
	if (r == VU_OK) {
		CHECK(!(m.flags & ~VU_MMAP_F_RW));
		vu_mmap_encode(&m, buf);
		CHECK(buf[0] == d[0]);
		CHECK(!memcmp(buf + 8, d + 8, VU_MMAP_SIZE - 8));
		CHECK(vu_mmap_decode(buf, VU_MMAP_SIZE, &back) == VU_OK);
		CHECK(m.shmid == back.shmid && m.fd_offset == back.fd_offset &&
		      m.shm_offset == back.shm_offset && m.len == back.len &&
		      m.flags == back.flags);
	} else {
		CHECK(r == VU_E_MMAP_FLAGS);
		m.flags = le64(d + 32);
	}

	r = vu_mmap_check(&m, map, sizes, 4, page);
	CHECK(vu_strresult(r));
	if (r == VU_OK) {
		CHECK(page && !(page & (page - 1)));
		CHECK(m.shmid < 4 && sizes[m.shmid]);
		CHECK(m.len);
		CHECK(!((m.shm_offset | m.len) & (page - 1)));
		CHECK(m.shm_offset + m.len >= m.shm_offset);
		CHECK(m.shm_offset + m.len <= sizes[m.shmid]);
		if (map) {
			CHECK(!(m.fd_offset & (page - 1)));
			CHECK(m.fd_offset + m.len >= m.fd_offset);
		}
	}
	for (i = 0; i < 3; i++)
		(void)vu_mmap_check(&m, map, sizes, i, page);
}

/* The fixed-size and list payload decoders, over whatever bytes there are. */
static void fuzz_decoders(const uint8_t *d, size_t n, uint8_t sel)
{
	static uint8_t buf[VU_SHMEM_CONFIG_SIZE];
	static struct vu_shmem_config c;
	struct vu_mem_region r;
	unsigned int nreg, i;
	uint64_t v;

	if (vu_u64_decode(d, n, &v) == VU_OK) {
		vu_u64_encode(v, buf);
		CHECK(!memcmp(buf, d, 8));
	}

	if (vu_shmem_config_decode(d, n, 1ULL << (sel & 31), &c) == VU_OK) {
		CHECK(c.nregions <= VU_SHMEM_MAX_REGIONS);
		vu_shmem_config_encode(&c, buf);
		CHECK(!memcmp(buf, d, 4));
		CHECK(!memcmp(buf + 8, d + 8, VU_SHMEM_CONFIG_SIZE - 8));
	}

	for (i = 0; i < 2; i++) {
		if (vu_mem_table_check(d, n, i, &nreg) == VU_OK) {
			CHECK(nreg <= VU_MEM_MAX_REGIONS);
			CHECK(n == 8 + nreg * (i ? VU_MEM_REGION_SIZE_XEN :
					       VU_MEM_REGION_SIZE));
		}
	}
	for (i = 0; i <= VU_MEM_MAX_REGIONS; i++)
		(void)vu_mem_region_decode(d, n, sel & 1, i, &r);
}

/* The masks keep their promises for any pair of feature words. */
static void fuzz_features(const uint8_t *d, size_t n, uint8_t sel)
{
	const uint64_t extras = VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
				VU_PF(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
				VU_PF(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	uint64_t be, vmm, offer, set, shmem;
	bool compat = sel & 64;

	if (n < 16)
		return;
	be = le64(d);
	vmm = le64(d + 8);
	offer = vu_proto_vmm_offer(be, compat);
	set = vu_proto_backend_set(vmm, be, compat);
	shmem = vu_proto_shmem_bit(be, compat);

	CHECK(!(offer & ~be));
	CHECK(!(offer & ~VU_PROTO_KNOWN));
	CHECK(!(offer & VU_PF(VHOST_USER_PROTOCOL_F_SHMEM)));
	CHECK(!(offer & shmem));
	CHECK(!(set & ~be));
	CHECK(!(set & ~(offer | shmem | extras)));
	if (!shmem)
		CHECK(set == (vmm & offer));
	else
		CHECK((set & shmem) && (set & extras) == (be & extras));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sel;
	unsigned int nfds;

	if (size < 2)
		return 0;
	sel = data[0];
	nfds = data[1];
	data += 2;
	size -= 2;

	fuzz_message(data, size, sel, nfds);
	if (size >= VU_HDR_SIZE) {
		fuzz_decoders(data + VU_HDR_SIZE, size - VU_HDR_SIZE, sel);
		fuzz_mmap(data + VU_HDR_SIZE, size - VU_HDR_SIZE, sel);
		fuzz_features(data + VU_HDR_SIZE, size - VU_HDR_SIZE, sel);
	}
	fuzz_decoders(data, size, sel);
	fuzz_mmap(data, size, sel);
	fuzz_features(data, size, sel);
	return 0;
}
