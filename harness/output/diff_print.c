/* diff_print — the changes of a diff for people (a summary, then each run's
 * changes grouped by step and packet) and for machines (--json). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "output/output.h"
#include "base/base.h"
#include "diff.h"

#define DIFF_LINE_MAX	(2 * DIFF_WHERE_MAX + 3 * DIFF_VALUE_MAX)

/* One line, with what a terminal would act on shown escaped (names and
 * reasons come from scenario files and the kernel). */
static void put_line(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_line(FILE *out, const char *fmt, ...)
{
	char line[DIFF_LINE_MAX];
	va_list args;

	va_start(args, fmt);
	vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	safetext_escape(line, sizeof(line), false);
	fprintf(out, "%s\n", line);
}

void diff_counts_text(const struct diff *diff, char *buf, size_t size)
{
	size_t counts[CHANGE_KIND_COUNT] = { 0 }, i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < diff->n; i++)
		counts[diff->changes[i].kind]++;
	for (i = 0; i < CHANGE_KIND_COUNT && len < size; i++)
		if (counts[i])
			len += (size_t)snprintf(buf + len, size - len, "%s%zu %s", len ? ", " : "",
						counts[i], change_kind_words(i, counts[i]));
}

/* The change after "RUN: WHERE: ": "SUBJECT: LABEL OLD -> NEW", "SUBJECT OLD -> NEW"
 * or the sentence. */
static void change_body(const struct change *change, char *buf, size_t size)
{
	if (!change->label)
		snprintf(buf, size, "%s", change->old_value);
	else if (!change->label[0])
		snprintf(buf, size, "%s %s -> %s", change->subject, change->old_value,
			 change->new_value);
	else
		snprintf(buf, size, "%s: %s %s -> %s", change->subject, change->label,
			 change->old_value, change->new_value);
}

/* The change in one line that stands alone. */
static void change_line(const struct change *change, char *buf, size_t size)
{
	char body[DIFF_LINE_MAX];

	change_body(change, body, sizeof(body));
	if (change->where[0])
		snprintf(buf, size, "%s: %s: %s", change->run, change->where, body);
	else
		snprintf(buf, size, "%s: %s", change->run, body);
}

static void print_header(size_t n_runs, size_t changed_runs, const struct diff *diff,
			 json_t *old_root, json_t *new_root, const char *old_path,
			 const char *new_path, FILE *out)
{
	char counts[1024];

	diff_counts_text(diff, counts, sizeof(counts));
	put_line(out, "%zu of %zu run%s changed: %s", changed_runs, n_runs, n_runs == 1 ? "" : "s",
		 diff->n ? counts : "no behavioural change");
	put_line(out, "# old: kernel %s (%s)", json_text(old_root, "kernel", "?"), old_path);
	put_line(out, "# new: kernel %s (%s)", json_text(new_root, "kernel", "?"), new_path);
	if (diff->timing_acks || diff->timing_entries)
		put_line(out, "# not counted: %zu lone ACK%s of kernel sockets on one side only, and "
			 "%zu entry state%s after them or a few steps apart (delayed-ACK timing)",
			 diff->timing_acks, diff->timing_acks == 1 ? "" : "s", diff->timing_entries,
			 diff->timing_entries == 1 ? "" : "s");
	if (diff->timing_waits)
		put_line(out, "# not counted: %zu packet%s sent while a wait step waited, on one side "
			 "only", diff->timing_waits, diff->timing_waits == 1 ? "" : "s");
	if (diff->timing_retransmits)
		put_line(out, "# not counted: %zu retransmission%s on one side only (whether its timer "
			 "fired before the step ended)", diff->timing_retransmits,
			 diff->timing_retransmits == 1 ? "" : "s");
	if (diff->timing_segments)
		put_line(out, "# not counted: %zu step%s whose data the kernel cut into other segments "
			 "(the same bytes each way, the same verdicts)", diff->timing_segments,
			 diff->timing_segments == 1 ? "" : "s");
}

void diff_print_text(const struct diff *diff, size_t n_runs, size_t changed_runs,
		     json_t *old_root, json_t *new_root, const char *old_path,
		     const char *new_path, FILE *out)
{
	const struct change *prev = NULL;
	char body[DIFF_LINE_MAX];
	size_t i;

	print_header(n_runs, changed_runs, diff, old_root, new_root, old_path, new_path, out);
	for (i = 0; i < diff->n; i++) {
		const struct change *change = &diff->changes[i];
		bool new_run = !prev || strcmp(prev->run, change->run) != 0;
		bool new_where = new_run || strcmp(prev->where, change->where) != 0;

		if (new_run)
			fputc('\n', out);
		if (!change->where[0]) {
			change_line(change, body, sizeof(body));
			put_line(out, "%s", body);
		} else {
			if (new_where)
				put_line(out, "%s: %s", change->run, change->where);
			if (!change->label || !change->label[0]) {
				change_body(change, body, sizeof(body));
				put_line(out, "    %s", body);
			} else {
				if (new_where || !prev->label || strcmp(prev->subject, change->subject) != 0)
					put_line(out, "    %s", change->subject);
				put_line(out, "        %-7s %s -> %s", change->label, change->old_value,
					 change->new_value);
			}
		}
		prev = change;
	}
}

/* A JSON string of text, which a cut at a buffer's end may have left with half a
 * UTF-8 sequence: then with what is not UTF-8 escaped. */
static json_t *string_json(const char *text)
{
	char escaped[DIFF_LINE_MAX];
	json_t *string = json_string(text);

	if (string)
		return string;
	snprintf(escaped, sizeof(escaped), "%s", text);
	safetext_escape(escaped, sizeof(escaped), true);
	return json_string(escaped);
}

static json_t *side_json(json_t *root, const char *path)
{
	return json_pack("{s:o, s:s}", "path", string_json(path), "kernel",
			 json_text(root, "kernel", "?"));
}

int diff_print_json(const struct diff *diff, size_t n_runs, size_t changed_runs,
		    json_t *old_root, json_t *new_root, const char *old_path,
		    const char *new_path, FILE *out)
{
	json_t *document, *counts, *changes;
	char line[DIFF_LINE_MAX];
	size_t i;
	int rc;

	counts = json_object();
	changes = json_array();
	document = json_pack("{s:s, s:o, s:o, s:I, s:I, s:o, s:{s:I, s:I}, s:o}", "tool",
			     "ctlab diff", "old", side_json(old_root, old_path), "new",
			     side_json(new_root, new_path), "runs", (json_int_t)n_runs,
			     "changed_runs", (json_int_t)changed_runs, "counts", counts,
			     "not_counted", "lone_acks", (json_int_t)diff->timing_acks,
			     "entry_states", (json_int_t)diff->timing_entries, "changes", changes);
	if (document) {
		json_object_set_new(json_object_get(document, "not_counted"), "segmentation",
				    json_integer((json_int_t)diff->timing_segments));
		json_object_set_new(json_object_get(document, "not_counted"), "wait_packets",
				    json_integer((json_int_t)diff->timing_waits));
		json_object_set_new(json_object_get(document, "not_counted"), "retransmissions",
				    json_integer((json_int_t)diff->timing_retransmits));
	}
	if (!document)
		return -1;
	for (i = 0; i < diff->n; i++) {
		const struct change *change = &diff->changes[i];
		const char *key = change_kind_key(change->kind);
		json_t *object;

		json_object_set_new(counts, key,
				    json_integer(json_integer_value(json_object_get(counts, key)) + 1));
		change_line(change, line, sizeof(line));
		object = json_pack("{s:o, s:s, s:o}", "run", string_json(change->run), "kind", key,
				   "text", string_json(line));
		if (!object)
			continue;
		if (change->step[0])
			json_object_set_new(object, "step", string_json(change->step));
		if (change->old_line)
			json_object_set_new(object, "old_line", json_integer(change->old_line));
		if (change->new_line)
			json_object_set_new(object, "new_line", json_integer(change->new_line));
		if (change->subject[0])
			json_object_set_new(object, "subject", string_json(change->subject));
		if (change->label) {
			if (change->label[0])
				json_object_set_new(object, "field", string_json(change->label));
			json_object_set_new(object, "old", string_json(change->old_value));
			json_object_set_new(object, "new", string_json(change->new_value));
		}
		json_array_append_new(changes, object);
	}
	rc = json_dumpf(document, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(document);
	return rc;
}
