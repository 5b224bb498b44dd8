/* diff — two `ctlab run --json` results compared run by run: which runs are on
 * one side only, and for the others the outcome, the settings, the RST chains,
 * and (diff_steps.c) every step's packets, expectations and entries. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "output/output.h"
#include "diff.h"

static const struct {
	const char *key, *one, *many;
} change_kinds[CHANGE_KIND_COUNT] = {
	[CHANGE_RUN_ADDED] = { "run_added", "run added", "runs added" },
	[CHANGE_RUN_REMOVED] = { "run_removed", "run removed", "runs removed" },
	[CHANGE_OUTCOME] = { "outcome", "outcome", "outcomes" },
	[CHANGE_SETTING] = { "setting", "setting", "settings" },
	[CHANGE_STEP] = { "step", "step", "steps" },
	[CHANGE_VERDICT] = { "verdict", "verdict", "verdicts" },
	[CHANGE_REASON] = { "reason", "reason", "reasons" },
	[CHANGE_LENGTH] = { "length", "packet length", "packet lengths" },
	[CHANGE_MISSING_PACKET] = { "missing_packet", "missing packet", "missing packets" },
	[CHANGE_NEW_PACKET] = { "new_packet", "new packet", "new packets" },
	[CHANGE_RESULT] = { "result", "expectation result", "expectation results" },
	[CHANGE_OBSERVED] = { "observed", "observed value", "observed values" },
	[CHANGE_ENTRY_STATE] = { "entry_state", "entry state", "entry states" },
	[CHANGE_ENTRY_TIMEOUT] = { "entry_timeout", "entry timeout", "entry timeouts" },
	[CHANGE_CHAIN] = { "rst_chain", "RST chain", "RST chains" },
	[CHANGE_FACT] = { "fact", "kernel fact", "kernel facts" },
};

const char *change_kind_key(enum change_kind kind)
{
	return change_kinds[kind].key;
}

const char *change_kind_words(enum change_kind kind, size_t n)
{
	return n == 1 ? change_kinds[kind].one : change_kinds[kind].many;
}

const char *json_text(json_t *object, const char *key, const char *fallback)
{
	const char *text = json_string_value(json_object_get(object, key));

	return text ? text : fallback;
}

void normalize_numbers(const char *text, char *out, size_t size)
{
	size_t len = 0;

	if (!size)
		return;
	while (*text && len + 1 < size) {
		if (isdigit((unsigned char)*text)) {
			while (isdigit((unsigned char)*text))
				text++;
			out[len++] = '#';
			continue;
		}
		out[len++] = *text++;
	}
	out[len] = '\0';
}

bool timeouts_differ(long long a, long long b)
{
	long long gap = a > b ? a - b : b - a, larger = a > b ? a : b;
	long long tolerance = larger / 10 > 2 ? larger / 10 : 2;

	return gap > tolerance;
}

struct change *diff_add(struct diff *diff, enum change_kind kind, const char *run)
{
	struct change *change;

	if (diff->n == diff->cap) {
		size_t cap = diff->cap ? 2 * diff->cap : 32;
		struct change *grown = realloc(diff->changes, cap * sizeof(*grown));

		if (!grown) {
			diff->out_of_memory = true;
			return NULL;
		}
		diff->changes = grown;
		diff->cap = cap;
	}
	change = &diff->changes[diff->n++];
	memset(change, 0, sizeof(*change));
	change->kind = kind;
	snprintf(change->run, sizeof(change->run), "%s", run);
	return change;
}

void change_values(struct change *change, const char *label, const char *old_value,
		   const char *new_value)
{
	if (!change)
		return;
	change->label = label;
	snprintf(change->old_value, sizeof(change->old_value), "%s", old_value);
	snprintf(change->new_value, sizeof(change->new_value), "%s", new_value);
}

json_t *results_load(const char *path, FILE *err)
{
	char file[4096];
	json_error_t error;
	struct stat st;
	json_t *root, *runs, *run;
	size_t i;

	snprintf(file, sizeof(file), "%s", path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(file, sizeof(file), "%s/results.json", path);
	root = json_load_file(file, JSON_REJECT_DUPLICATES, &error);
	if (!root) {
		if (error.line < 1)	/* not opened: no position to give */
			fprintf(err, "ctlab: %s: %s\n", file, error.text);
		else
			fprintf(err, "ctlab: %s:%d:%d: %s\n", file, error.line, error.column,
				error.text);
		return NULL;
	}
	runs = json_object_get(root, "runs");
	if (!json_is_object(root) || strcmp(json_text(root, "tool", ""), "ctlab") != 0 ||
	    !json_is_array(runs)) {
		fprintf(err, "ctlab: %s: not a ctlab result (expected an object with \"tool\": "
			"\"ctlab\" and \"runs\", as ctlab run --json writes)\n", file);
		goto out_free;
	}
	json_array_foreach(runs, i, run) {
		if (!json_is_object(run) || !json_is_string(json_object_get(run, "name")) ||
		    !json_is_array(json_object_get(run, "steps")) ||
		    !json_is_array(json_object_get(run, "packets"))) {
			fprintf(err, "ctlab: %s: run %zu: expected an object with a name, steps and "
				"packets\n", file, i + 1);
			goto out_free;
		}
	}
	return root;

out_free:
	json_decref(root);
	return NULL;
}

json_t *json_find(json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *item;

	json_array_foreach(array, i, item)
		if (strcmp(json_text(item, key, ""), value) == 0)
			return item;
	return NULL;
}

/* Whether runs holds one of scenario (and variant, or family, when given). */
static bool has_run_like(json_t *runs, const char *scenario, const char *variant,
			 const char *family)
{
	size_t i;
	json_t *run;

	json_array_foreach(runs, i, run) {
		if (strcmp(json_text(run, "scenario", ""), scenario) != 0)
			continue;
		if (variant && strcmp(json_text(run, "variant", ""), variant) != 0)
			continue;
		if (family && strcmp(json_text(run, "family", ""), family) != 0)
			continue;
		return true;
	}
	return false;
}

/* A run on one side only, and why: its scenario, variant or family is new or gone. */
static void one_side_run(struct diff *diff, json_t *run, json_t *other_runs, bool added)
{
	const char *scenario = json_text(run, "scenario", "?");
	const char *variant = json_string_value(json_object_get(run, "variant"));
	const char *family = json_text(run, "family", "?");
	const char *side = added ? "new" : "gone";
	struct change *change = diff_add(diff, added ? CHANGE_RUN_ADDED : CHANGE_RUN_REMOVED,
					 json_text(run, "name", "?"));
	char why[400];

	if (!change)
		return;
	if (!has_run_like(other_runs, scenario, NULL, NULL))
		snprintf(why, sizeof(why), "scenario %s is %s", scenario, side);
	else if (variant && !has_run_like(other_runs, scenario, variant, NULL))
		snprintf(why, sizeof(why), "variant %s of %s is %s", variant, scenario, side);
	else if (!has_run_like(other_runs, scenario, NULL, family))
		snprintf(why, sizeof(why), "family %s of %s is %s", family, scenario, side);
	else
		snprintf(why, sizeof(why), "a run of %s", scenario);
	snprintf(change->old_value, sizeof(change->old_value), "only in %s (%s)",
		 added ? "NEW" : "OLD", why);
}

/* The values of @member (an object of strings) in both runs, each key that
 * differs or is on one side only a change of @kind: the run's settings (a
 * default that changed between kernels explains verdicts that did) and its
 * probed kernel facts. */
static void diff_values(struct diff *diff, enum change_kind kind, const char *member,
			const char *name, json_t *old_run, json_t *new_run)
{
	json_t *old_values = json_object_get(old_run, member);
	json_t *new_values = json_object_get(new_run, member);
	json_t *value;
	const char *key;

	json_object_foreach(new_values, key, value) {
		const char *before = json_string_value(json_object_get(old_values, key));
		const char *after = json_string_value(value);

		struct change *change;

		if (before && after && strcmp(before, after) == 0)
			continue;
		change = diff_add(diff, kind, name);
		change_values(change, "", before ? before : "(absent)", after ? after : "?");
		if (change)
			snprintf(change->subject, sizeof(change->subject), "%s", key);
	}
	json_object_foreach(old_values, key, value) {
		struct change *change;

		if (json_object_get(new_values, key))
			continue;
		change = diff_add(diff, kind, name);
		change_values(change, "", json_string_value(value) ?: "?", "(absent)");
		if (change)
			snprintf(change->subject, sizeof(change->subject), "%s", key);
	}
}

/* ---- RST chains ---- */

/* "invalid \"SEQ is over upper bound # …\" at router", numbers as '#'. */
static void chain_cause(json_t *chain, char *buf, size_t size)
{
	char reason[DIFF_VALUE_MAX];

	if (!json_object_get(chain, "cause_verdict")) {
		snprintf(buf, size, "no cause found");
		return;
	}
	normalize_numbers(json_text(chain, "cause_reason", ""), reason, sizeof(reason));
	snprintf(buf, size, "a packet from %s, %s%s%s%s at %s", json_text(chain, "cause_sender", "?"),
		 json_text(chain, "cause_verdict", "?"), reason[0] ? " \"" : "", reason,
		 reason[0] ? "\"" : "", json_text(chain, "judged_at", "?"));
}

static void chain_reset(json_t *chain, char *buf, size_t size)
{
	if (json_object_get(chain, "reset"))
		snprintf(buf, size, "%s (%s)", json_text(chain, "reset", "?"),
			 json_text(chain, "reset_error", "no error"));
	else
		snprintf(buf, size, "no socket");
}

static bool same_ends(json_t *a, json_t *b)
{
	return strcmp(json_text(a, "rst_sender", ""), json_text(b, "rst_sender", "")) == 0 &&
	       strcmp(json_text(a, "rst_receiver", ""), json_text(b, "rst_receiver", "")) == 0;
}

/* The ordinal-th chain (from 0) with like's sender and receiver. */
static json_t *find_chain(json_t *chains, json_t *like, size_t ordinal)
{
	size_t i, seen = 0;
	json_t *chain;

	json_array_foreach(chains, i, chain)
		if (same_ends(chain, like) && seen++ == ordinal)
			return chain;
	return NULL;
}

/* How many chains before the index-th have its sender and receiver. */
static size_t chain_ordinal(json_t *chains, size_t index)
{
	json_t *chain = json_array_get(chains, index);
	size_t i, n = 0;

	for (i = 0; i < index; i++)
		n += same_ends(json_array_get(chains, i), chain);
	return n;
}

/* Chains on one side only, described in words. */
static void one_side_chains(struct diff *diff, const char *name, json_t *chains, json_t *others,
			    bool added)
{
	char cause[DIFF_VALUE_MAX], reset[200];
	struct change *change;
	size_t i;
	json_t *chain;

	json_array_foreach(chains, i, chain) {
		if (find_chain(others, chain, chain_ordinal(chains, i)))
			continue;
		change = diff_add(diff, CHANGE_CHAIN, name);
		if (!change)
			return;
		chain_cause(chain, cause, sizeof(cause));
		chain_reset(chain, reset, sizeof(reset));
		snprintf(change->old_value, sizeof(change->old_value),
			 "%s: RST %s -> %s caused by %s; it reset %s", added ? "new" : "missing",
			 json_text(chain, "rst_sender", "?"), json_text(chain, "rst_receiver", "?"),
			 cause, reset);
	}
}

/* Who reset whom and why: chains matched by sender, receiver and order. */
/* A RST chain whose @what ("cause", "reset") reads @before in OLD and @after in NEW. */
static void chain_change(struct diff *diff, const char *name, json_t *chain, const char *what,
			 const char *before, const char *after)
{
	struct change *change;

	if (strcmp(before, after) == 0)
		return;
	change = diff_add(diff, CHANGE_CHAIN, name);
	change_values(change, what, before, after);
	if (change)
		snprintf(change->subject, sizeof(change->subject), "RST %s -> %s",
			 json_text(chain, "rst_sender", "?"), json_text(chain, "rst_receiver", "?"));
}

static void diff_chains(struct diff *diff, const char *name, json_t *old_run, json_t *new_run)
{
	json_t *old_chains = json_object_get(old_run, "chains");
	json_t *new_chains = json_object_get(new_run, "chains");
	char before[DIFF_VALUE_MAX], after[DIFF_VALUE_MAX];
	size_t i;
	json_t *chain;

	json_array_foreach(new_chains, i, chain) {
		json_t *old_chain = find_chain(old_chains, chain, chain_ordinal(new_chains, i));

		if (!old_chain)
			continue;
		chain_cause(old_chain, before, sizeof(before));
		chain_cause(chain, after, sizeof(after));
		chain_change(diff, name, chain, "cause", before, after);
		chain_reset(old_chain, before, sizeof(before));
		chain_reset(chain, after, sizeof(after));
		chain_change(diff, name, chain, "reset", before, after);
	}
	one_side_chains(diff, name, old_chains, new_chains, false);
	one_side_chains(diff, name, new_chains, old_chains, true);
}

/* One run on both sides.  A run skipped on either side has only its outcome. */
static void diff_run(struct diff *diff, const char *name, json_t *old_run, json_t *new_run)
{
	const char *old_outcome = json_text(old_run, "outcome", "?");
	const char *new_outcome = json_text(new_run, "outcome", "?");
	struct change *change;

	if (strcmp(old_outcome, new_outcome) != 0) {
		change = diff_add(diff, CHANGE_OUTCOME, name);
		change_values(change, "", old_outcome, new_outcome);
		if (change)
			snprintf(change->subject, sizeof(change->subject), "outcome");
	}
	if (strcmp(old_outcome, "skip") == 0 || strcmp(new_outcome, "skip") == 0)
		return;
	diff_values(diff, CHANGE_SETTING, "sysctls", name, old_run, new_run);
	diff_values(diff, CHANGE_FACT, "facts", name, old_run, new_run);
	diff_steps(diff, name, old_run, new_run);
	diff_chains(diff, name, old_run, new_run);
}

/* Runs with at least one change. */
static size_t changed_runs(const struct diff *diff)
{
	size_t i, n = 0;

	for (i = 0; i < diff->n; i++)
		n += i == 0 || strcmp(diff->changes[i].run, diff->changes[i - 1].run) != 0;
	return n;
}

int diff_results(const char *old_path, const char *new_path, enum diff_format format, FILE *out,
		 FILE *err)
{
	json_t *old_root, *new_root, *old_runs, *new_runs, *run;
	struct diff diff = { 0 };
	size_t i, n_runs = 0;
	int rc = -1;

	old_root = results_load(old_path, err);
	if (!old_root)
		return -1;
	new_root = results_load(new_path, err);
	if (!new_root)
		goto out_free_old;
	old_runs = json_object_get(old_root, "runs");
	new_runs = json_object_get(new_root, "runs");
	/* In NEW's order, each run removed where it stood in OLD's. */
	json_array_foreach(old_runs, i, run) {
		const char *name = json_text(run, "name", "?");
		json_t *new_run = json_find(new_runs, "name", name);

		n_runs++;
		if (new_run)
			diff_run(&diff, name, run, new_run);
		else
			one_side_run(&diff, run, new_runs, false);
	}
	json_array_foreach(new_runs, i, run)
		if (!json_find(old_runs, "name", json_text(run, "name", "?"))) {
			n_runs++;
			one_side_run(&diff, run, old_runs, true);
		}
	if (diff.out_of_memory) {
		fprintf(err, "ctlab: diff: %s\n", strerror(ENOMEM));
		goto out_free;
	}
	if (format == DIFF_JSON) {
		if (diff_print_json(&diff, n_runs, changed_runs(&diff), old_root, new_root, old_path,
				    new_path, out) < 0) {
			fprintf(err, "ctlab: diff: cannot write the JSON\n");
			goto out_free;
		}
	} else {
		diff_print_text(&diff, n_runs, changed_runs(&diff), old_root, new_root, old_path,
				new_path, out);
	}
	rc = diff.n > 0;

out_free:
	free(diff.changes);
	json_decref(new_root);
out_free_old:
	json_decref(old_root);
	return rc;
}
