/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line values shared by vushm-helper and vushmctl: sizes with a
 * unit suffix and USER[:GROUP] owners.  Pure parsing; the caller says what
 * was wrong.
 */
#ifndef VUSHM_HELPER_ARGS_H
#define VUSHM_HELPER_ARGS_H

#include <stddef.h>
#include <stdint.h>

/*
 * "4096", "0x1000", "64K", "1MiB", "2GB", "1T" (binary units): 0, or
 * -EINVAL (not a size) / -ERANGE (does not fit in 64 bits).
 */
int vu_parse_size(const char *s, uint64_t *out);

/*
 * USER[:GROUP], each a name or a number; without GROUP, the user's primary
 * group (or the uid's number when the user has no passwd entry).  0, or
 * -ENOENT with @why naming the unknown user or group.
 */
int vu_parse_owner(const char *s, uint32_t *uid, uint32_t *gid, char *why,
		   size_t n);

#endif /* VUSHM_HELPER_ARGS_H */
