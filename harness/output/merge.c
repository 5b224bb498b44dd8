/*
 * merge — result folders joined into one (ctlab merge): the shards of a run
 * spread over CI runners, and runs of the suite on other kernels.  The runs
 * keep the kernel they ran on and go in the order the whole run would have
 * had (the position ctlab run gave each before --shard), kernel by kernel in
 * the order given; JUnit suites are taken as written, with the kernel in
 * their names when there are several; the KTAP is made anew from the runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "output/output.h"
#include "output/diff.h"
#include "base/base.h"

struct merged_run {
	json_t *run;			/* borrowed from its document */
	const char *kernel;
	size_t kernel_order;		/* the first input of that kernel, among the inputs */
	long long position;
	size_t input;
};

static int by_kernel_then_position(const void *a, const void *b)
{
	const struct merged_run *x = a, *y = b;

	if (x->kernel_order != y->kernel_order)
		return x->kernel_order < y->kernel_order ? -1 : 1;
	if (x->position != y->position)
		return x->position < y->position ? -1 : 1;
	return x->input < y->input ? -1 : x->input > y->input;
}

/* The folder of an input (itself, or the folder of its results.json). */
static void input_dir(const char *input, char *buf, size_t size)
{
	struct stat st;
	const char *slash;

	if (stat(input, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(buf, size, "%s", input);
		return;
	}
	slash = strrchr(input, '/');
	if (slash)
		snprintf(buf, size, "%.*s", (int)(slash - input), input);
	else
		snprintf(buf, size, ".");
}

/* Each failed step as a KTAP diagnostic, as ctlab run prints them. */
static void ktap_run(FILE *out, size_t number, json_t *run, const char *prefix)
{
	const char *outcome = json_text(run, "outcome", "fail");
	json_t *step;
	size_t i;

	if (strcmp(outcome, "fail") == 0) {
		json_array_foreach(json_object_get(run, "steps"), i, step) {
			if (json_is_true(json_object_get(step, "passed")) ||
			    json_is_true(json_object_get(step, "skipped")))
				continue;
			fprintf(out, "# %s:%lld:%lld: %s: %s\n", json_text(run, "file", "?"),
				json_number(step, "line", 0), json_number(step, "column", 0),
				json_text(step, "text", ""), json_text(step, "message", ""));
		}
	}
	if (strcmp(outcome, "skip") == 0)
		fprintf(out, "ok %zu %s%s # SKIP %s\n", number, prefix, json_text(run, "name", "?"),
			json_text(run, "reason", ""));
	else
		fprintf(out, "%s %zu %s%s\n", strcmp(outcome, "pass") == 0 ? "ok" : "not ok", number,
			prefix, json_text(run, "name", "?"));
}

static int write_ktap(FILE *out, const struct merged_run *runs, size_t n, bool kernels)
{
	size_t pass = 0, fail = 0, skip = 0, i;
	char prefix[300];

	fprintf(out, "KTAP version 1\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		const char *outcome = json_text(runs[i].run, "outcome", "fail");

		snprintf(prefix, sizeof(prefix), "%s%s", kernels ? runs[i].kernel : "", kernels ? ": " : "");
		ktap_run(out, i + 1, runs[i].run, prefix);
		pass += strcmp(outcome, "pass") == 0;
		skip += strcmp(outcome, "skip") == 0;
		fail += strcmp(outcome, "pass") != 0 && strcmp(outcome, "skip") != 0;
	}
	fprintf(out, "# Totals: pass:%zu fail:%zu xfail:0 xpass:0 skip:%zu error:0\n", pass, fail,
		skip);
	return ferror(out) ? -1 : 0;
}

/* The number in attribute @name="N" of the XML line @line, 0 if none. */
static double attribute_number(const char *line, const char *name)
{
	char key[32];
	const char *at;

	snprintf(key, sizeof(key), " %s=\"", name);
	at = strstr(line, key);
	return at ? strtod(at + strlen(key), NULL) : 0;
}

struct junit_totals {
	double tests, failures, errors, time;
};

/*
 * The <testsuite> elements of a junit.xml ctlab wrote, into @out: the lines
 * between <testsuites …> and </testsuites>.  With @kernel, each suite's name
 * and each case's classname carry it, so that two kernels' cases stay apart.
 */
static int copy_suites(const char *path, const char *kernel, FILE *out, struct junit_totals *totals,
		       FILE *err)
{
	char *line = NULL;
	size_t cap = 0;
	bool inside = false;
	FILE *in = fopen(path, "re");

	if (!in) {
		if (errno == ENOENT)
			return 0;	/* a folder without JUnit: its runs are in the KTAP and JSON */
		fprintf(err, "ctlab: merge: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, in) > 0) {
		const char *name;

		if (!inside) {
			inside = strncmp(line, "<testsuites", 11) == 0;
			continue;
		}
		if (strncmp(line, "</testsuites>", 13) == 0)
			break;
		if (strncmp(line, "  <testsuite ", 13) == 0) {
			totals->tests += attribute_number(line, "tests");
			totals->failures += attribute_number(line, "failures");
			totals->errors += attribute_number(line, "errors");
			totals->time += attribute_number(line, "time");
		}
		name = NULL;
		if (kernel && strncmp(line, "  <testsuite name=\"", 19) == 0)
			name = line + 19;
		else if (kernel && strncmp(line, "    <testcase classname=\"ctlab.", 31) == 0)
			name = line + 31;
		if (name) {
			fwrite(line, 1, (size_t)(name - line), out);
			fprintf(out, "%s: %s", kernel, name);
		} else {
			fputs(line, out);
		}
	}
	free(line);
	fclose(in);
	if (!inside) {
		fprintf(err, "ctlab: merge: %s: not a ctlab junit.xml (no <testsuites>)\n", path);
		return -1;
	}
	return 0;
}

static int write_junit(FILE *out, const char *const *inputs, json_t *const *docs, size_t n,
		       bool kernels, FILE *err)
{
	char dir[4096], path[4200];
	struct junit_totals totals = { 0 };
	char *body = NULL;
	size_t len = 0;
	FILE *suites = open_memstream(&body, &len);
	int rc = 0;

	if (!suites)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		input_dir(inputs[i], dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/junit.xml", dir);
		rc = copy_suites(path, kernels ? json_text(docs[i], "kernel", "?") : NULL, suites,
				 &totals, err);
	}
	if (fclose(suites) != 0)
		rc = -1;
	if (rc == 0) {
		fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<testsuites name=\"ctlab\" tests=\"%.0f\" failures=\"%.0f\" errors=\"%.0f\" "
			"time=\"%.3f\">\n", totals.tests, totals.failures, totals.errors, totals.time);
		if (body)
			fwrite(body, 1, len, out);
		fputs("</testsuites>\n", out);
	}
	free(body);
	return rc;
}

static int commit(struct outfile *file, int rc, const char *path, FILE *err)
{
	if (rc < 0) {
		outfile_discard(file);
		fprintf(err, "ctlab: merge: cannot write %s\n", path);
		return -1;
	}
	rc = outfile_commit(file);
	if (rc < 0) {
		fprintf(err, "ctlab: merge: %s: %s\n", path, outfile_strerror(-rc));
		return -1;
	}
	return 0;
}

static int write_output(const char *dir, const char *name, int (*write)(FILE *, void *), void *arg,
			FILE *err)
{
	char path[4200];
	struct outfile *file;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = outfile_open(path);
	if (!file) {
		fprintf(err, "ctlab: merge: %s: %s\n", path, outfile_strerror(errno));
		return -1;
	}
	return commit(file, write(outfile_stream(file), arg), path, err);
}

struct merge {
	const char *const *inputs;
	json_t **docs;
	size_t n_inputs;
	struct merged_run *runs;
	size_t n_runs;
	bool kernels;			/* more than one kernel among the inputs */
	FILE *err;
};

/* The merged results.json document; NULL when memory ran out. */
static json_t *merged_document(struct merge *merge)
{
	json_t *runs = json_array(), *from = json_array();
	char date[32], host[256] = "localhost";

	time_text(date, sizeof(date), TIME_ISO_UTC, 0, true);
	gethostname(host, sizeof(host) - 1);
	for (size_t i = 0; i < merge->n_runs; i++) {
		json_t *run = json_copy(merge->runs[i].run);

		json_object_set_new(run, "kernel", json_string(merge->runs[i].kernel));
		json_array_append_new(runs, run);
	}
	for (size_t i = 0; i < merge->n_inputs; i++)
		json_array_append_new(from, json_pack("{s:s, s:s, s:s, s:s}", "path", merge->inputs[i],
						      "kernel", json_text(merge->docs[i], "kernel", "?"),
						      "hostname", json_text(merge->docs[i], "hostname", "?"),
						      "date", json_text(merge->docs[i], "date", "?")));
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "tool", "ctlab",
			 "schema_version", RESULTS_SCHEMA_VERSION, "ctlab_version", ctlab_version_long(),
			 "date", date, "hostname", host,
			 "kernel", merge->kernels ? "several" : json_text(merge->docs[0], "kernel", "?"),
			 "machine", json_text(merge->docs[0], "machine", "?"), "merged_from", from,
			 "runs", runs);
}

static int write_json_doc(FILE *out, void *arg)
{
	json_t *doc = merged_document(arg);
	int rc;

	if (!doc)
		return -1;
	rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

/* The page of every run, each kernel's beside the others (no captures to link). */
static int write_html_doc(FILE *out, void *arg)
{
	json_t *doc = merged_document(arg);
	int rc;

	if (!doc)
		return -1;
	rc = report_html(doc, out, NULL);
	json_decref(doc);
	return rc;
}

static int write_junit_doc(FILE *out, void *arg)
{
	struct merge *merge = arg;

	return write_junit(out, merge->inputs, merge->docs, merge->n_inputs, merge->kernels,
			   merge->err);
}

static int write_ktap_doc(FILE *out, void *arg)
{
	struct merge *merge = arg;

	return write_ktap(out, merge->runs, merge->n_runs, merge->kernels);
}

/* Gather every run with its kernel; a run twice on one kernel is refused. */
static int gather(struct merge *merge)
{
	size_t total = 0, i, j, k;
	json_t *run;

	for (i = 0; i < merge->n_inputs; i++)
		total += json_array_size(json_object_get(merge->docs[i], "runs"));
	merge->runs = calloc(total ? total : 1, sizeof(*merge->runs));
	if (!merge->runs)
		return -1;
	for (i = 0; i < merge->n_inputs; i++) {
		const char *kernel = json_text(merge->docs[i], "kernel", "?");
		size_t order = i;

		for (j = 0; j < i; j++)
			if (strcmp(json_text(merge->docs[j], "kernel", "?"), kernel) == 0) {
				order = j;
				break;
			}
		if (order == i && i > 0)
			merge->kernels = true;
		json_array_foreach(json_object_get(merge->docs[i], "runs"), k, run) {
			struct merged_run *m = &merge->runs[merge->n_runs++];

			*m = (struct merged_run){ .run = run, .kernel = kernel, .kernel_order = order,
						  .position = json_number(run, "position", 0),
						  .input = i };
		}
	}
	qsort(merge->runs, merge->n_runs, sizeof(*merge->runs), by_kernel_then_position);
	for (i = 1; i < merge->n_runs; i++) {
		const struct merged_run *a = &merge->runs[i - 1], *b = &merge->runs[i];

		if (a->kernel_order == b->kernel_order &&
		    strcmp(json_text(a->run, "name", ""), json_text(b->run, "name", "")) == 0) {
			fprintf(merge->err, "ctlab: merge: run %s (kernel %s) is in both %s and %s\n",
				json_text(a->run, "name", "?"), a->kernel, merge->inputs[a->input],
				merge->inputs[b->input]);
			return -1;
		}
	}
	return 0;
}

int merge_results(const char *const *inputs, size_t n, const char *out_dir, FILE *err)
{
	struct merge merge = { .inputs = inputs, .n_inputs = n, .err = err };
	int rc = -1, made;
	size_t i;

	merge.docs = calloc(n ? n : 1, sizeof(*merge.docs));
	if (!merge.docs)
		return -1;
	for (i = 0; i < n; i++)
		if (!(merge.docs[i] = results_load(inputs[i], err)))
			goto out;
	if (gather(&merge) < 0)
		goto out;
	made = outfile_mkdir(out_dir);
	if (made < 0) {
		fprintf(err, "ctlab: merge: --out %s: %s\n", out_dir, outfile_strerror(-made));
		goto out;
	}
	if (write_output(out_dir, "results.json", write_json_doc, &merge, err) < 0 ||
	    write_output(out_dir, "junit.xml", write_junit_doc, &merge, err) < 0 ||
	    write_output(out_dir, "results.ktap", write_ktap_doc, &merge, err) < 0 ||
	    write_output(out_dir, "report.html", write_html_doc, &merge, err) < 0)
		goto out;
	fprintf(err, "ctlab: merged %zu runs of %zu input%s into %s/\n", merge.n_runs, n,
		n == 1 ? "" : "s", out_dir);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		json_decref(merge.docs[i]);
	free(merge.docs);
	free(merge.runs);
	return rc;
}
