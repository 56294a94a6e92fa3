// SPDX-License-Identifier: GPL-2.0-only
/*
 * One scalar of the tree read as a value of the schema: a whole number, a
 * duration with its unit, a boolean, a string, a role. Numbers are parsed
 * with overflow-checked integer arithmetic only. Each getter reports what is
 * wrong at the node and returns false.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

/* The kernel's TASK_COMM_LEN minus the NUL: longer names never match. */
#define COMM_MAX 15

/* A scalar to read, or false (reported unless the node was reported before). */
bool conf_want_scalar(struct conf_ctx *c, const struct node *n, const char *path, const char *what)
{
	if (n->kind == N_BAD)
		return false;
	if (n->kind != N_SCALAR) {
		nerr(c, n, "%s: expected %s, got %s", path, what, conf_kind_name(n));
		return false;
	}
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

enum num_status {
	NUM_OK,
	NUM_EMPTY,
	NUM_SYNTAX,
	NUM_NEGATIVE,
	NUM_NO_UNIT,
	NUM_BAD_UNIT,
	NUM_FRACTION, /* not a whole number of nanoseconds */
	NUM_LEADING_ZERO,
	NUM_RANGE, /* too big for 64 bits */
};

/* Decimal digits only; anything else (sign, 0x, exponent) is a syntax error. */
static enum num_status scan_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	bool overflow = false;
	const char *p;

	if (!*s)
		return NUM_EMPTY;
	if (*s == '-')
		return NUM_NEGATIVE;
	for (p = s; is_digit(*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			overflow = true;
	}
	if (p == s || *p)
		return NUM_SYNTAX;
	if (s[0] == '0' && s[1])
		return NUM_LEADING_ZERO;
	if (overflow)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", NSEC },
	{ "us", USEC },
	{ "ms", MSEC },
	{ "s", SEC },
};

/*
 * DIGITS[.DIGITS]UNIT in whole nanoseconds. The fraction is kept as an
 * integer over a power of ten, so "1.5ms" is exact and no float is involved.
 */
static enum num_status scan_duration(const char *s, uint64_t *out)
{
	uint64_t ip = 0, frac = 0, fdiv = 1, mult = 0, v, fns;
	bool overflow = false, fine = false;
	const char *p = s, *unit;

	if (!*s)
		return NUM_EMPTY;
	if (*s == '-')
		return NUM_NEGATIVE;
	for (; is_digit(*p); p++) {
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			overflow = true;
	}
	if (p == s)
		return NUM_SYNTAX;
	if (*p == '.') {
		const char *f = ++p;

		for (; is_digit(*p); p++) {
			/* Nine digits reach 1ns of a second; finer ones must be 0. */
			if (p - f < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			} else if (*p != '0') {
				fine = true;
			}
		}
		if (p == f)
			return NUM_SYNTAX;
	}
	if (!*p)
		return NUM_NO_UNIT;
	unit = p;
	for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
		if (!strcmp(unit, duration_units[i].name))
			mult = duration_units[i].ns;
	if (!mult) {
		for (; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
				return NUM_SYNTAX;
		return NUM_BAD_UNIT;
	}
	if (overflow || __builtin_mul_overflow(ip, mult, &v))
		return NUM_RANGE;
	/* frac < 10^9 and mult <= 10^9: the product fits in 64 bits. */
	if (fine || (frac * mult) % fdiv)
		return NUM_FRACTION;
	fns = frac * mult / fdiv;
	if (__builtin_add_overflow(v, fns, &v))
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

/*
 * The largest unit that keeps the number at 1 or more, with an exact decimal
 * fraction: 1500000 is "1.5ms", which reads back as the same value.
 */
void conf_format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *name;
		uint64_t ns;
		int digits;
	} units[] = { { "s", SEC, 9 }, { "ms", MSEC, 6 }, { "us", USEC, 3 } };
	char frac[16];

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t whole = ns / units[i].ns, rest = ns % units[i].ns;
		int digits = units[i].digits;

		if (!whole)
			continue;
		if (!rest) {
			snprintf(buf, len, "%" PRIu64 "%s", whole, units[i].name);
			return;
		}
		while (rest % 10 == 0) {
			rest /= 10;
			digits--;
		}
		snprintf(frac, sizeof(frac), "%0*" PRIu64, digits, rest);
		snprintf(buf, len, "%" PRIu64 ".%s%s", whole, frac, units[i].name);
		return;
	}
	snprintf(buf, len, "%" PRIu64 "ns", ns);
}

bool conf_get_uint(struct conf_ctx *c, const struct node *n, const char *path, uint64_t min,
		   uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!conf_want_scalar(c, n, path, "a whole number"))
		return false;
	switch (scan_uint(n->str, &v)) {
	case NUM_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case NUM_RANGE:
		nerr(c, n, "%s: %.40s is out of range (allowed: %" PRIu64 "..%" PRIu64 ")", path,
		     n->str, min, max);
		return false;
	case NUM_EMPTY:
		nerr(c, n, "%s: missing value; expected a whole number in %" PRIu64 "..%" PRIu64,
		     path, min, max);
		return false;
	case NUM_LEADING_ZERO:
		nerr(c, n, "%s: '%.40s' has a leading zero; write decimal numbers without one "
			   "(allowed: %" PRIu64 "..%" PRIu64 ")",
		     path, n->str, min, max);
		return false;
	default:
		nerr(c, n, "%s: expected a whole number in %" PRIu64 "..%" PRIu64 ", got '%.40s'",
		     path, min, max, n->str);
		return false;
	}
	*out = v;
	return true;
}

bool conf_get_duration(struct conf_ctx *c, const struct node *n, const char *path, uint64_t min,
		       uint64_t max, uint64_t *out)
{
	char lo[32], hi[32];
	uint64_t v = 0;

	conf_format_duration(min, lo, sizeof(lo));
	conf_format_duration(max, hi, sizeof(hi));
	if (!conf_want_scalar(c, n, path, "a duration such as 2ms"))
		return false;
	switch (scan_duration(n->str, &v)) {
	case NUM_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case NUM_RANGE:
		nerr(c, n, "%s: %.40s is out of range (allowed: %s..%s)", path, n->str, lo, hi);
		return false;
	case NUM_EMPTY:
		nerr(c, n, "%s: missing value; expected a duration in %s..%s", path, lo, hi);
		return false;
	case NUM_NEGATIVE:
		nerr(c, n, "%s: %.40s is negative (allowed: %s..%s)", path, n->str, lo, hi);
		return false;
	case NUM_NO_UNIT:
		nerr(c, n, "%s: '%.40s' needs a unit: ns, us, ms or s (allowed: %s..%s)", path,
		     n->str, lo, hi);
		return false;
	case NUM_BAD_UNIT:
		nerr(c, n, "%s: unknown unit in '%.40s'; use ns, us, ms or s", path, n->str);
		return false;
	case NUM_FRACTION:
		nerr(c, n, "%s: %.40s is not a whole number of nanoseconds", path, n->str);
		return false;
	default:
		nerr(c, n, "%s: expected a duration with a unit (ns, us, ms, s) such as 2ms, "
			   "got '%.40s'",
		     path, n->str);
		return false;
	}
	*out = v;
	return true;
}

bool conf_get_bool(struct conf_ctx *c, const struct node *n, const char *path, uint64_t *out)
{
	if (!conf_want_scalar(c, n, path, "true or false"))
		return false;
	/* Exactly two spellings: YAML 1.1's yes/on/y would surprise someone. */
	if (!strcmp(n->str, "true"))
		*out = 1;
	else if (!strcmp(n->str, "false"))
		*out = 0;
	else {
		nerr(c, n, "%s: expected true or false, got '%.40s'", path, n->str);
		return false;
	}
	return true;
}

/* A non-empty string, newly allocated; NULL when reported or out of memory. */
char *conf_get_string(struct conf_ctx *c, const struct node *n, const char *path)
{
	char *s;

	if (!conf_want_scalar(c, n, path, "a string"))
		return NULL;
	if (!n->len) {
		nerr(c, n, "%s: expected a non-empty string", path);
		return NULL;
	}
	s = strdup(n->str);
	if (!s)
		oom(c);
	return s;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* comm and thread names: a literal longer than the kernel keeps cannot match. */
void conf_check_comm(struct conf_ctx *c, const struct node *n, const char *path, const char *s)
{
	if (!has_glob(s) && strlen(s) > COMM_MAX)
		nwarn(c, n,
		      "%s: '%.40s' is longer than %d characters, the most the kernel keeps in "
		      "comm, so it never matches",
		      path, s, COMM_MAX);
}

bool conf_get_role(struct conf_ctx *c, const struct node *n, const char *path, enum gamer_role *out)
{
	if (!conf_want_scalar(c, n, path, "a role"))
		return false;
	for (int r = 0; r < GAMER_ROLE_COUNT; r++) {
		if (!strcmp(n->str, conf_role_names[r])) {
			*out = (enum gamer_role)r;
			return true;
		}
	}
	conf_unknown_word(c, n->line, n->col, false, path, "role", n->str, conf_role_names,
			  GAMER_ROLE_COUNT, "valid roles");
	return false;
}
