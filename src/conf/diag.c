// SPDX-License-Identifier: GPL-2.0-only
/*
 * Diagnostics collected while reading configuration: kept in a list rather
 * than printed at once, so that `check` can show every problem in every file,
 * the daemon can log them, and the tests can look for one exact message.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

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
