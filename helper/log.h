/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vushm-helper's log: one line per event on stderr, with a level.  When
 * stderr is the journal (systemd sets JOURNAL_STREAM), each line carries
 * the sd-daemon "<N>" priority prefix instead of the level word.
 */
#ifndef VUSHM_HELPER_LOG_H
#define VUSHM_HELPER_LOG_H

enum vu_log_level {
	VU_LOG_ERR = 3,
	VU_LOG_WARN = 4,
	VU_LOG_NOTICE = 5,
	VU_LOG_INFO = 6,
	VU_LOG_DEBUG = 7,
	/* Or'ed into a level: printed whatever vu_log_max says. */
	VU_LOG_ALWAYS = 0x100,
};

/* Lines above this level are dropped (default VU_LOG_INFO), except
 * VU_LOG_ALWAYS ones.
 */
extern int vu_log_max;

void vu_log_init(const char *prog);
void vu_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define err(...)	vu_log(VU_LOG_ERR, __VA_ARGS__)
#define warn(...)	vu_log(VU_LOG_WARN, __VA_ARGS__)
#define info(...)	vu_log(VU_LOG_INFO, __VA_ARGS__)
#define dbg(...)	vu_log(VU_LOG_DEBUG, __VA_ARGS__)
/* What an operator asked for (SIGUSR1): printed even under --quiet. */
#define notice_always(...) vu_log(VU_LOG_NOTICE | VU_LOG_ALWAYS, __VA_ARGS__)

#endif /* VUSHM_HELPER_LOG_H */
