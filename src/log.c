// SPDX-License-Identifier: GPL-2.0-only
/*
 * One line per message on stderr, prefixed with the program name and, for
 * anything but plain information, the severity: "scx_gamer: error: ...".
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

enum log_level log_max_level = LOG_INFO;

static const char *const level_prefix[] = {
	[LOG_ERROR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_max_level)
		return;
	fprintf(stderr, "%s: %s", PACKAGE_NAME, level_prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}
