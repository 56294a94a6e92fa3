// SPDX-License-Identifier: GPL-2.0-only
/*
 * One line per message on stderr, prefixed with the program name and, for
 * anything but plain information, the severity: "scx_gamer: error: ...".
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

enum log_level log_max_level = LOG_INFO;

static const char *const level_prefix[] = {
	[LOG_ERROR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

/* Bytes of the valid UTF-8 sequence at s, 0 if it is not one (RFC 3629). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return n;
}

/* A C1 control character (U+0080..U+009F), which terminals act on too. */
static bool is_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

const char *safe_text(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0, n;

	if (!size)
		return out;
	while (*s) {
		n = utf8_len(s);
		if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f)) || is_c1(s, n)) {
			if (o + 4 >= size)
				break;
			snprintf(out + o, 5, "\\x%02x", *s);
			o += 4;
			s++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
	return out;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[4096], safe[sizeof(msg) * 4];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote process names and files: one line, nothing a terminal obeys. */
	fprintf(stderr, "%s: %s%s\n", PACKAGE_NAME, level_prefix[level],
		safe_text(msg, safe, sizeof(safe)));
}

void json_str(const char *in)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t n;

	putchar('"');
	while (*s) {
		n = utf8_len(s);
		if (n == 0) {
			/* JSON is UTF-8: a byte that is not becomes U+FFFD. */
			fputs("\\ufffd", stdout);
			s++;
			continue;
		}
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else
			fwrite(s, 1, n, stdout);
		s += n;
	}
	putchar('"');
}
