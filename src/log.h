/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SCX_GAMER_LOG_H
#define SCX_GAMER_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Messages above this level are dropped. */
extern enum log_level log_max_level;

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Print s to stdout as a JSON string literal (quoted and escaped). */
void json_str(const char *s);
/*
 * in as text safe to print: control characters (C0, DEL, C1) and bytes that
 * are not UTF-8 written as \xNN, into out (size bytes, truncated to fit);
 * returns out. Sized 4 x strlen(in) + 1, nothing is cut.
 */
const char *safe_text(const char *in, char *out, size_t size);

#endif /* SCX_GAMER_LOG_H */
