// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

int vu_log_max = VU_LOG_INFO;
static const char *log_prog = "vushm-helper";
static int log_journal;

void vu_log_init(const char *prog)
{
	log_prog = prog;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void vu_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		[VU_LOG_ERR] = "error", [VU_LOG_WARN] = "warning",
		[VU_LOG_NOTICE] = "notice", [VU_LOG_INFO] = "info",
		[VU_LOG_DEBUG] = "debug",
	};
	bool always = level & VU_LOG_ALWAYS;
	char line[1024];
	va_list ap;

	level &= ~VU_LOG_ALWAYS;
	if (level > vu_log_max && !always)
		return;
	if (level < VU_LOG_ERR || level > VU_LOG_DEBUG)
		level = VU_LOG_ERR;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line: lines from a crash-looping helper stay whole. */
	if (log_journal)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, names[level], line);
}
