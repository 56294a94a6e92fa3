// SPDX-License-Identifier: GPL-2.0-only
/*
 * libyaml's event stream as a small tree of nodes that remember their line
 * and column. The only file that includes <yaml.h>.
 *
 * The input is untrusted in the sense that it may be large, deep or odd:
 * size and depth are bounded before libyaml does any work on them, and
 * anchors and aliases are refused (no billion-laughs).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf-internal.h"

static struct node *node_new(enum node_kind kind, const yaml_mark_t *m)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->line = (unsigned int)m->line + 1;
		n->col = (unsigned int)m->column + 1;
	}
	return n;
}

void conf_node_free(struct node *n)
{
	if (!n)
		return;
	/* Recursion is bounded by CONFIG_MAX_DEPTH. */
	for (size_t i = 0; i < n->n; i++)
		conf_node_free(n->kid[i]);
	free(n->kid);
	free(n->str);
	free(n);
}

static int node_push(struct node *parent, struct node *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct node **v = realloc(parent->kid, cap * sizeof(*v));

		if (!v)
			return -1;
		parent->kid = v;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

const char *conf_kind_name(const struct node *n)
{
	switch (n->kind) {
	case N_MAP:
		return "a mapping";
	case N_SEQ:
		return "a sequence";
	default:
		return "a single value";
	}
}

/*
 * Line and column of a byte offset, for problems libyaml reports as an offset
 * (its reader errors) or that it never sees (a NUL byte). Columns count
 * characters like libyaml's marks do, not bytes.
 */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned int *line,
		       unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n') {
			(*line)++;
			*col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void yaml_problem(struct conf_ctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		oom(c);
		break;
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		cerr(c, line, col, "invalid text: %s (the file must be UTF-8)",
		     p->problem ? p->problem : "unreadable input");
		break;
	default:
		line = (unsigned int)p->problem_mark.line + 1;
		col = (unsigned int)p->problem_mark.column + 1;
		if (p->context)
			cerr(c, line, col, "YAML syntax error: %s (%s at line %u column %u)",
			     p->problem ? p->problem : "unknown problem", p->context,
			     (unsigned int)p->context_mark.line + 1,
			     (unsigned int)p->context_mark.column + 1);
		else
			cerr(c, line, col, "YAML syntax error: %s",
			     p->problem ? p->problem : "unknown problem");
		break;
	}
}

/* Returns true when the event carries an anchor or a tag (now reported). */
static bool refuse_extras(struct conf_ctx *c, const yaml_mark_t *m, const yaml_char_t *anchor,
			  const yaml_char_t *tag)
{
	if (!anchor && !tag)
		return false;
	cerr(c, (unsigned int)m->line + 1, (unsigned int)m->column + 1,
	     "%s '%s%s': anchors, aliases and tags are not supported", anchor ? "anchor" : "tag",
	     anchor ? "&" : "", anchor ? (const char *)anchor : (const char *)tag);
	return true;
}

/*
 * The document as a tree, or NULL for an empty file. *fatal is set when the
 * tree is unusable (syntax, size, depth, several documents, no memory).
 */
struct node *conf_load_tree(struct conf_ctx *c, const char *buf, size_t len, bool *fatal)
{
	struct node *stack[CONFIG_MAX_DEPTH];
	struct node *root = NULL;
	size_t depth = 0;
	int docs = 0;
	bool done = false;
	yaml_parser_t p;
	const char *nul;

	*fatal = true;
	if (len > CONFIG_MAX_FILE_SIZE) {
		cerr(c, 0, 0, "file is larger than %d bytes, the limit for a configuration file",
		     CONFIG_MAX_FILE_SIZE);
		return NULL;
	}
	/* libyaml would stop at a NUL as if the file ended there. */
	nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned int line, col;

		offset_pos(buf, len, (size_t)(nul - buf), &line, &col);
		cerr(c, line, col, "NUL byte in the file (it must be UTF-8 text)");
		return NULL;
	}
	/*
	 * A UTF-8 byte-order mark (some editors write one): YAML allows it, but
	 * libyaml skips it only while detecting the encoding, which we fix.
	 */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if (!yaml_parser_initialize(&p)) {
		oom(c);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

	while (!done) {
		yaml_event_t ev;
		struct node *n = NULL;
		bool push = false;

		if (!yaml_parser_parse(&p, &ev)) {
			yaml_problem(c, &p, buf, len);
			goto fail;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "more than one YAML document; a configuration file holds one");
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			cerr(c, (unsigned int)ev.start_mark.line + 1,
			     (unsigned int)ev.start_mark.column + 1,
			     "alias '*%s': anchors, aliases and tags are not supported",
			     (const char *)ev.data.alias.anchor);
			n = node_new(N_BAD, &ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(N_SCALAR, &ev.start_mark);
			if (!n)
				break;
			n->str = malloc(ev.data.scalar.length + 1);
			if (!n->str) {
				conf_node_free(n);
				n = NULL;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			if (refuse_extras(c, &ev.start_mark, ev.data.scalar.anchor,
					  ev.data.scalar.tag))
				n->kind = N_BAD;
			/* An escape ("\0") can still make one; C strings would cut there. */
			if (memchr(n->str, '\0', n->len)) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "NUL character (\\0) in a value or key; the file must be text");
				n->kind = N_BAD;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			/* libyaml itself has no depth limit. */
			if (depth == CONFIG_MAX_DEPTH) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "nesting is deeper than %d levels", CONFIG_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto fail;
			}
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				n = node_new(N_SEQ, &ev.start_mark);
				refuse_extras(c, &ev.start_mark, ev.data.sequence_start.anchor,
					      ev.data.sequence_start.tag);
			} else {
				n = node_new(N_MAP, &ev.start_mark);
				refuse_extras(c, &ev.start_mark, ev.data.mapping_start.anchor,
					      ev.data.mapping_start.tag);
			}
			push = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT || ev.type == YAML_SCALAR_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(&ev);
			if (!n) {
				oom(c);
				goto fail;
			}
			if (depth == 0) {
				root = n;
			} else if (node_push(stack[depth - 1], n)) {
				conf_node_free(n);
				oom(c);
				goto fail;
			}
			if (push)
				stack[depth++] = n;
		} else {
			yaml_event_delete(&ev);
		}
	}
	yaml_parser_delete(&p);
	*fatal = false;
	return root;

fail:
	yaml_parser_delete(&p);
	conf_node_free(root);
	return NULL;
}
