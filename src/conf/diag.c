// SPDX-License-Identifier: GPL-2.0-only
/*
 * Diagnostics collected while reading configuration: kept in a list rather
 * than printed at once, so that `check` can show every problem in every file,
 * the daemon can log them, and the tests can look for one exact message.
 * Below them, the helpers the parser words its messages with: key paths,
 * "did you mean" suggestions, file order.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

/* Longest key the typo suggestion looks at (bounds its table). */
#define SUGGEST_MAX 48

void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       unsigned int line, unsigned int col, const char *fmt, ...)
{
	struct diag *g;
	va_list ap;
	int r;

	/*
	 * Count the error before anything can fail: losing the text to a
	 * failed allocation must not turn a bad file into a good one.
	 */
	if (sev == DIAG_ERROR)
		d->errors++;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n];
	memset(g, 0, sizeof(*g));
	g->severity = sev;
	g->line = line;
	g->col = col;
	g->file = strdup(file ? file : PACKAGE_NAME);
	va_start(ap, fmt);
	r = vasprintf(&g->msg, fmt, ap);
	va_end(ap);
	if (r < 0 || !g->file) {
		if (r >= 0)
			free(g->msg);
		free(g->file);
		return;
	}
	d->n++;
}

void diag_fprint(const struct diag *g, FILE *out)
{
	const char *sev = g->severity == DIAG_ERROR ? "error" : "warning";

	if (g->line)
		fprintf(out, "%s:%u:%u: %s: %s", g->file, g->line, g->col, sev, g->msg);
	else
		fprintf(out, "%s: %s: %s", g->file, sev, g->msg);
}

void diags_print(const struct diags *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		diag_fprint(&d->v[i], out);
		fputc('\n', out);
	}
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ---- wording the parser's messages ---------------------------------------------- */

void conf_report(struct conf_ctx *c, enum diag_severity sev, unsigned int line,
		 unsigned int col, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		diags_add(c->d, sev, c->file, line, col, "out of memory while reporting a problem");
		return;
	}
	diags_add(c->d, sev, c->file, line, col, "%s", msg);
	free(msg);
}

/* Messages for one file come out in file order, whichever pass found them. */
void conf_sort_diags(struct diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct diag g = d->v[i];
		size_t j = i;

		while (j > from && (d->v[j - 1].line > g.line ||
				    (d->v[j - 1].line == g.line && d->v[j - 1].col > g.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = g;
	}
}

/* Optimal string alignment distance: a swap of two letters counts as one edit. */
static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int m[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return UINT_MAX;
	for (size_t i = 0; i <= la; i++)
		m[i][0] = (unsigned int)i;
	for (size_t j = 0; j <= lb; j++)
		m[0][j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned int v = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (m[i - 1][j] + 1 < v)
				v = m[i - 1][j] + 1;
			if (m[i][j - 1] + 1 < v)
				v = m[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    m[i - 2][j - 2] + 1 < v)
				v = m[i - 2][j - 2] + 1;
			m[i][j] = v;
		}
	}
	return m[la][lb];
}

/*
 * The candidate a typo most likely meant: at most two edits, or a third of
 * the word for long ones, and never a rewrite of the whole word.
 */
static const char *suggest(const char *word, const char *const *cand, size_t n)
{
	const char *best = NULL;
	unsigned int best_d = UINT_MAX;
	size_t len = strlen(word);

	for (size_t i = 0; i < n; i++) {
		unsigned int dist = edit_distance(word, cand[i]);

		if (dist < best_d) {
			best_d = dist;
			best = cand[i];
		}
	}
	if (!best || best_d >= len || (best_d > 2 && 3 * (size_t)best_d > len))
		return NULL;
	return best;
}

/* "a, b, c" into buf. */
static void join_names(char *buf, size_t sz, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < sz; i++) {
		int r = snprintf(buf + used, sz - used, "%s%s", i ? ", " : "", names[i]);

		if (r < 0)
			break;
		used += (size_t)r;
	}
}

/* is_key: path is the unknown key itself; otherwise the key whose value is unknown. */
void conf_unknown_word(struct conf_ctx *c, unsigned int line, unsigned int col, bool is_key,
		       const char *path, const char *what, const char *word,
		       const char *const *cand, size_t n, const char *valid_what)
{
	char list[512], head[PATH_LEN + 96];
	const char *s = suggest(word, cand, n);

	join_names(list, sizeof(list), cand, n);
	if (is_key)
		snprintf(head, sizeof(head), "unknown key '%s'", path);
	else
		snprintf(head, sizeof(head), "%s: unknown %s '%.40s'", path, what, word);
	if (s)
		cerr(c, line, col, "%s; did you mean '%s'? (%s: %s)", head, s, valid_what, list);
	else
		cerr(c, line, col, "%s; %s: %s", head, valid_what, list);
}

/* Paths in messages are cut at PATH_LEN: a key that long is a typo anyway. */
__attribute__((format(printf, 2, 3))) void conf_path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
}

void conf_path_join(char *buf, const char *prefix, const char *key)
{
	if (!*key)
		conf_path_fmt(buf, "%s", prefix);
	else if (*prefix)
		conf_path_fmt(buf, "%s.%s", prefix, key);
	else
		conf_path_fmt(buf, "%s", key);
}
