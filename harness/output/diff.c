#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "output/output.h"

static json_t *load(const char *path)
{
	json_error_t error;
	json_t *root = json_load_file(path, 0, &error);

	if (!root) {
		fprintf(stderr, "ctlab: %s:%d:%d: %s\n", path, error.line, error.column, error.text);
		return NULL;
	}
	if (!json_is_array(json_object_get(root, "runs"))) {
		fprintf(stderr, "ctlab: %s: expected a ctlab JSON result (an object with runs)\n",
			path);
		json_decref(root);
		return NULL;
	}
	return root;
}

static json_t *find_run(json_t *runs, const char *name)
{
	size_t i;
	json_t *run;

	json_array_foreach(runs, i, run)
		if (strcmp(json_string_value(json_object_get(run, "name")) ?: "", name) == 0)
			return run;
	return NULL;
}

static const char *text_of(json_t *object, const char *key, const char *fallback)
{
	const char *text = json_string_value(json_object_get(object, key));

	return text ? text : fallback;
}

/* The packet a step sent, found by its 1-based index in the run's packets. */
static json_t *sent_packet(json_t *run, json_t *step)
{
	json_int_t index = json_integer_value(json_object_get(step, "sent_packet"));

	if (index <= 0)
		return NULL;
	return json_array_get(json_object_get(run, "packets"), (size_t)index - 1);
}

static const char *verdict_of(json_t *packet)
{
	return packet ? text_of(packet, "verdict", "?") : "unseen";
}

static const char *reason_of(json_t *packet)
{
	return packet ? text_of(packet, "reason", "(none)") : "(none)";
}

/* Steps are matched by their line in the scenario file. */
static json_t *find_step(json_t *run, json_int_t line)
{
	size_t i;
	json_t *step;

	json_array_foreach(json_object_get(run, "steps"), i, step)
		if (json_integer_value(json_object_get(step, "line")) == line)
			return step;
	return NULL;
}

static int diff_run(const char *name, json_t *old_run, json_t *new_run, FILE *out)
{
	const char *file = text_of(new_run, "file", "?");
	int differences = 0;
	size_t i;
	json_t *new_step, *new_value;
	const char *key;

	if (strcmp(text_of(old_run, "outcome", "?"), text_of(new_run, "outcome", "?")) != 0) {
		fprintf(out, "%s: outcome %s -> %s\n", name, text_of(old_run, "outcome", "?"),
			text_of(new_run, "outcome", "?"));
		differences++;
	}
	/* A default that changed between kernels explains verdicts that did. */
	json_object_foreach(json_object_get(new_run, "sysctls"), key, new_value) {
		json_t *old_value = json_object_get(json_object_get(old_run, "sysctls"), key);

		if (!old_value || json_equal(old_value, new_value))
			continue;
		fprintf(out, "%s: %s %s -> %s\n", name, key, json_string_value(old_value) ?: "?",
			json_string_value(new_value) ?: "?");
		differences++;
	}
	json_array_foreach(json_object_get(new_run, "steps"), i, new_step) {
		json_int_t line = json_integer_value(json_object_get(new_step, "line"));
		json_t *old_step = find_step(old_run, line), *old_packet, *new_packet;

		if (!old_step || !json_object_get(new_step, "sent_packet"))
			continue;
		old_packet = sent_packet(old_run, old_step);
		new_packet = sent_packet(new_run, new_step);
		if (strcmp(verdict_of(old_packet), verdict_of(new_packet)) == 0 &&
		    strcmp(reason_of(old_packet), reason_of(new_packet)) == 0)
			continue;
		fprintf(out, "%s: %s:%lld: %s\n    verdict %s -> %s\n    reason  %s -> %s\n",
			name, file, (long long)line, text_of(new_step, "text", ""),
			verdict_of(old_packet), verdict_of(new_packet), reason_of(old_packet),
			reason_of(new_packet));
		differences++;
	}
	return differences;
}

int diff_results(const char *old_path, const char *new_path, FILE *out)
{
	json_t *old_root, *new_root, *run;
	int differences = 0;
	size_t i;

	old_root = load(old_path);
	if (!old_root)
		return -1;
	new_root = load(new_path);
	if (!new_root) {
		json_decref(old_root);
		return -1;
	}
	fprintf(out, "# old: kernel %s (%s)\n# new: kernel %s (%s)\n",
		text_of(old_root, "kernel", "?"), old_path, text_of(new_root, "kernel", "?"),
		new_path);
	json_array_foreach(json_object_get(new_root, "runs"), i, run) {
		const char *name = text_of(run, "name", "?");
		json_t *old_run = find_run(json_object_get(old_root, "runs"), name);

		if (!old_run) {
			fprintf(out, "%s: only in %s\n", name, new_path);
			differences++;
			continue;
		}
		differences += diff_run(name, old_run, run, out);
	}
	json_array_foreach(json_object_get(old_root, "runs"), i, run) {
		const char *name = text_of(run, "name", "?");

		if (!find_run(json_object_get(new_root, "runs"), name)) {
			fprintf(out, "%s: only in %s\n", name, old_path);
			differences++;
		}
	}
	fprintf(out, "# %d difference%s\n", differences, differences == 1 ? "" : "s");
	json_decref(new_root);
	json_decref(old_root);
	return differences;
}
