// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line values shared by vushm-helper and vushmctl (see args.h).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int vu_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && *end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A decimal id, not the (uint32_t)-1 that chown() takes as "no change". */
static int parse_id(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int vu_parse_owner(const char *s, uint32_t *uid, uint32_t *gid, char *why,
		   size_t n)
{
	struct passwd *pw = NULL;
	char buf[256], *grp;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf)) {
		snprintf(why, n, "owner '%s' is too long", s);
		return -ENOENT;
	}
	grp = strchr(buf, ':');
	if (grp)
		*grp++ = 0;
	if (parse_id(buf, uid)) {
		pw = getpwnam(buf);
		if (!pw) {
			snprintf(why, n, "no user named '%s'", buf);
			return -ENOENT;
		}
		*uid = pw->pw_uid;
	} else {
		pw = getpwuid(*uid);
	}
	if (grp && *grp) {
		if (parse_id(grp, gid)) {
			struct group *gr = getgrnam(grp);

			if (!gr) {
				snprintf(why, n, "no group named '%s'", grp);
				return -ENOENT;
			}
			*gid = gr->gr_gid;
		}
	} else {
		*gid = pw ? pw->pw_gid : *uid;
	}
	return 0;
}
