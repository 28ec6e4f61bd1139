/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bytes the test backend puts in the memfds it maps, so that a reader
 * on the other side (test frontend, QEMU over qtest) can tell which mapping
 * (seed) and which offset in it each byte came from.
 */
#ifndef VUSHM_PEERS_PATTERN_H
#define VUSHM_PEERS_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline uint8_t vu_pattern_byte(uint32_t seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)seed << 17);

	x ^= x >> 29;
	return (uint8_t)(x ^ (x >> 8) ^ seed);
}

/* buf[i] = pattern of offset off + i */
static inline void vu_pattern_fill(uint32_t seed, uint64_t off, void *buf,
				   size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = vu_pattern_byte(seed, off + i);
}

/* Index of the first byte of buf that differs from the pattern, or len. */
static inline size_t vu_pattern_check(uint32_t seed, uint64_t off,
				      const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != vu_pattern_byte(seed, off + i))
			return i;
	return len;
}

#endif /* VUSHM_PEERS_PATTERN_H */
