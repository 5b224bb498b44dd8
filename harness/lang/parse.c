/* parse — parse a scenario file (*.ct) into the steps the engine runs.
 *
 * One statement per line.  Each line is cut into words that remember their
 * column; a table maps the first word to its parser, and the parsers take words
 * through a small set of helpers ("a host", "a number in range", "end of line")
 * that all report errors the same way:
 *
 *	FILE:LINE:COLUMN: expected WHAT, found WHAT
 *
 * Columns count bytes from 1.  A missing argument is reported just after the
 * last character of the statement, with "found end of line".  A missing name or
 * topology statement is reported at the end of the file: the line after the
 * last one, column 1, "found end of file".
 *
 * This file is the top: the statement table, lines dispatched to their
 * parsers, the scenario's memory.  lexer.c reads the file and takes words,
 * expr.c numbers and expressions; the statements are parsed in header.c,
 * steps.c and expectations.c.  parse.h is what they share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Where texts and terms are kept ---- */

/* Chunks of at least 64 KiB, never moved: what they hold stays where it is, and
 * a step keeps only a pointer (most steps use few of their fields). */
struct scenario_chunk {
	struct scenario_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define CHUNK_SIZE	(64u << 10)

void *keep(struct parser *p, size_t size)
{
	struct scenario_chunk *chunk = p->scenario->strings;
	size_t align = sizeof(max_align_t);
	void *kept;

	size = (size + align - 1) / align * align;
	if (!chunk || chunk->size - chunk->used < size) {
		size_t room = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		chunk = malloc(sizeof(*chunk) + room);
		if (!chunk) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return NULL;
		}
		chunk->used = 0;
		chunk->size = room;
		chunk->next = p->scenario->strings;
		p->scenario->strings = chunk;
	}
	kept = (char *)chunk->data + chunk->used;
	chunk->used += size;
	return kept;
}

const char *keep_text(struct parser *p, const char *text, size_t len)
{
	char *kept = keep(p, len + 1);

	if (kept) {
		memcpy(kept, text, len);
		kept[len] = '\0';
	}
	return kept;
}

/* ---- Statements ---- */

/* The command of table named by the next word, or an error listing them all. */
const struct command *select_command(struct parser *p, const struct command *table,
				     const char *what)
{
	struct word *w = peek_word(p);
	const char *names[32];
	char list[512];
	size_t n = 0;

	for (; n < sizeof(names) / sizeof(names[0]) - 1 && table[n].name; n++) {
		if (w && is_plain(w) && strcmp(w->text, table[n].name) == 0) {
			p->next++;
			return &table[n];
		}
		names[n] = table[n].usage ? table[n].usage : table[n].name;
	}
	names[n] = NULL;
	list_names(names, list, sizeof(list));
	if (w)
		error_word(p, w, "%s (%s)", what, list);
	else
		error_at(p, p->end_column, "end of line", -1, "%s (%s)", what, list);
	return NULL;
}

static const struct command statements[] = {
	{ .name = "name",		.parse = parse_name },
	{ .name = "fact",		.parse = parse_fact },
	{ .name = "about",	.parse = parse_about_words },	/* the raw line, see parse_line */
	{ .name = "topology",	.parse = parse_topology },
	{ .name = "family",	.parse = parse_family },
	{ .name = "variant",	.parse = parse_variant },
	{ .name = "kernel",	.parse = parse_kernel },
	{ .name = "nat",		.parse = parse_nat },
	{ .name = "sysctl",	.parse = parse_sysctl,	.is_step = true,	.step_kind = STEP_SYSCTL },
	{ .name = "nft",		.parse = parse_nft,	.is_step = true,	.step_kind = STEP_NFT },
	{ .name = "listen",	.parse = parse_listen,	.is_step = true,	.step_kind = STEP_LISTEN },
	{ .name = "connect",	.parse = parse_connect,	.is_step = true,	.step_kind = STEP_CONNECT },
	{ .name = "send",	.parse = parse_send,	.is_step = true,	.step_kind = STEP_SEND },
	{ .name = "write",	.parse = parse_write,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "read",	.parse = parse_read,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "shutdown",	.parse = parse_shutdown, .is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "close",	.parse = parse_close,	.is_step = true,	.step_kind = STEP_SOCKET },
	/* wait ct … turns the step into STEP_CT */
	{ .name = "wait",	.parse = parse_wait,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "delete",	.parse = parse_delete,	.is_step = true,	.step_kind = STEP_CT },
	{ .name = "flush",	.parse = parse_flush,	.is_step = true,	.step_kind = STEP_CT },
	{ .name = "flood",	.parse = parse_flood,	.is_step = true,	.step_kind = STEP_FLOOD },
	{ .name = "fill",	.parse = parse_fill,	.is_step = true,	.step_kind = STEP_FILL },
	{ .name = "mute",	.parse = parse_mute,	.is_step = true,	.step_kind = STEP_MUTE },
	{ .name = "sleep",	.parse = parse_sleep,	.is_step = true,	.step_kind = STEP_SLEEP },
	{ .name = "link",	.parse = parse_link,	.is_step = true,	.step_kind = STEP_LINK },
	{ .name = "bypass",	.parse = parse_bypass,	.is_step = true,	.step_kind = STEP_BYPASS },
	{ .name = "hold",	.parse = parse_hold,	.is_step = true,	.step_kind = STEP_HOLD },
	{ .name = "release",	.parse = parse_release,	.is_step = true,	.step_kind = STEP_RELEASE },
	{ .name = "expect",	.parse = parse_expect,	.is_step = true,	.step_kind = STEP_EXPECT },
	{ .name = NULL },
};

static struct step *add_step(struct parser *p)
{
	struct scenario *scenario = p->scenario;

	if (scenario->n_steps == SCENARIO_STEPS_MAX) {
		error_at(p, p->words[p->keyword].column, "another", -1, "at most %d steps",
			 SCENARIO_STEPS_MAX);
		return NULL;
	}
	if (scenario->n_steps == p->steps_cap) {
		/* 1.5 times: a long scenario keeps less room unused. */
		size_t cap = p->steps_cap ? p->steps_cap + p->steps_cap / 2 : 16;
		struct step *steps = realloc(scenario->steps, cap * sizeof(*steps));

		if (!steps) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return NULL;
		}
		scenario->steps = steps;
		p->steps_cap = cap;
	}
	memset(&scenario->steps[scenario->n_steps], 0, sizeof(struct step));
	return &scenario->steps[scenario->n_steps++];
}

/* One line, without its '\n'. */
static int parse_line(struct parser *p, const char *line, size_t len)
{
	const struct command *command;
	struct condition when = { 0 };
	bool has_condition;
	size_t start = 0;
	size_t keyword_len;

	len = comment_start(line, len);
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	while (start < len && is_blank(line[start]))
		start++;
	if (start == len)
		return 0;
	p->end_column = (int)len + 1;

	keyword_len = 0;
	while (start + keyword_len < len && !is_blank(line[start + keyword_len]))
		keyword_len++;
	if (keyword_len == 5 && strncmp(line + start, "about", 5) == 0) {
		size_t text = start + keyword_len;

		while (text < len && is_blank(line[text]))
			text++;
		p->seen_statement = true;
		return add_about(p, line + text, len - text);
	}

	if (split_words(p, line, len))
		return -1;
	has_condition = p->words[0].raw[0] == '@';
	if (has_condition) {
		if (parse_condition(p, &p->words[0], &when))
			return -1;
		p->next = 1;
	}
	p->keyword = p->next;
	command = select_command(p, statements, "a statement");
	if (!command) {
		/* Never echo a file that does not start like a scenario: it may be
		 * anything ctlab can read (a root-only file behind a symlink). */
		if (!p->seen_statement)
			snprintf(p->err, p->errsize, "%s:%d:%d: expected a statement (name, about, "
				 "topology, …): not a scenario file, its content is not shown",
				 p->filename, p->line, p->words[p->keyword].column);
		return -1;
	}
	p->seen_statement = true;
	if (has_condition && !command->is_step)
		return error_word(p, &p->words[p->keyword], "a step after a condition");
	if (command->is_step) {
		const struct word *keyword = &p->words[p->keyword];
		size_t text_len = len - start;

		if (!p->seen_topology)
			return error_word(p, keyword, "a topology statement before the first step");
		p->step = add_step(p);
		if (!p->step)
			return -1;
		p->step->kind = command->step_kind;
		/* The statement as written starts at its condition, if any. */
		p->step->pos.line = p->line;
		p->step->pos.column = p->words[0].column;
		p->step->when = when;
		p->step->text = keep_text(p, line + start, text_len);
		if (!p->step->text)
			return -1;
	}
	return command->parse(p);
}

struct scenario *scenario_parse_buffer(const char *text, size_t len, const char *filename,
				       char *err, size_t errsize)
{
	struct parser p = { .err = err, .errsize = errsize };
	const char *line = text, *end = text + len;
	char shown[sizeof(p.scenario->path)];
	int status = -1;

	/* Even a file name may hold what a terminal acts on: it is shown escaped. */
	snprintf(shown, sizeof(shown), "%s", filename ? filename : "<string>");
	safetext_escape(shown, sizeof(shown), false);
	p.filename = shown;

	if (errsize)
		err[0] = '\0';
	p.scenario = calloc(1, sizeof(*p.scenario));
	if (!p.scenario)
		goto out_nomem;
	p.scenario->about = strdup("");
	if (!p.scenario->about)
		goto out_nomem;
	snprintf(p.scenario->path, sizeof(p.scenario->path), "%s", p.filename);
	p.scenario->families = FAMILY_BOTH;
	if (check_content(&p, text, len))
		goto out_free_words;

	while (line < end) {
		const char *newline = memchr(line, '\n', (size_t)(end - line));

		if (!newline)
			newline = end;
		p.line++;
		if (parse_line(&p, line, (size_t)(newline - line)))
			goto out_free_words;
		line = newline < end ? newline + 1 : end;
	}

	/* Missing statements are reported at the end of the file. */
	p.line++;
	if (!p.seen_name)
		error_at(&p, 1, "end of file", -1, "a name statement");
	else if (!p.seen_topology)
		error_at(&p, 1, "end of file", -1, "a topology statement");
	else
		status = 0;
	/* Give back the room kept for steps that never came. */
	if (!status && p.scenario->n_steps) {
		struct step *fitted = realloc(p.scenario->steps,
					      p.scenario->n_steps * sizeof(*fitted));

		if (fitted)
			p.scenario->steps = fitted;
	}

out_free_words:
	free(p.words);
	free(p.text_buf);
	if (status) {
		scenario_free(p.scenario);
		return NULL;
	}
	return p.scenario;

out_nomem:
	snprintf(err, errsize, "%s: %s", p.filename, strerror(ENOMEM));
	goto out_free_words;
}

struct scenario *scenario_parse_string(const char *text, const char *filename,
				       char *err, size_t errsize)
{
	return scenario_parse_buffer(text, strlen(text), filename, err, errsize);
}

void scenario_free(struct scenario *scenario)
{
	if (!scenario)
		return;
	while (scenario->strings) {
		struct scenario_chunk *next = scenario->strings->next;

		free(scenario->strings);
		scenario->strings = next;
	}
	free(scenario->about);
	free(scenario->steps);
	free(scenario);
}
