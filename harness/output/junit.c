/*
 * junit — JUnit XML as the Jenkins xunit plugin's junit-10.xsd allows it (the
 * strictest of the readers): <testsuites> with name, tests, failures, errors
 * and time; a <testsuite> per scenario with its file, timestamp, hostname and
 * <properties> (ctlab's version, the kernel, the observing host's conntrack
 * settings); a <testcase> per run with only name, classname and time, its
 * <failure> (failed expectations) or <error> (a step that could not be done)
 * with message and type, and its ladder as plain text in <system-out>.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "output/junit.h"
#include "output/text.h"
#include "base/base.h"

#define JUNIT_PROPERTIES_MAX	64

/* A conntrack setting of a suite's runs: one value, or which runs differ. */
struct junit_setting {
	const char *key;
	char value[32];
	char *differs;			/* "VALUE (RUN), …" when a run had another; malloc'd */
};

struct junit {
	char *body;			/* the finished suites */
	size_t body_len;
	FILE *body_stream;
	char *cases;			/* the current suite's test cases */
	size_t cases_len;
	FILE *cases_stream;
	const struct scenario *scenario;	/* the current suite's, NULL before the first */
	size_t tests, failures, errors, skipped;
	double seconds;
	time_t began;
	size_t n_settings;
	struct junit_setting settings[JUNIT_PROPERTIES_MAX];
	size_t all_tests, all_failures, all_errors;
	double all_seconds;
	bool out_of_memory;
	struct utsname uts;		/* the machine every suite names, read once */
	char host[256];
	char package[64];		/* the kernel's Debian package version, "" none */
};

static void xml_property(FILE *out, const char *name, const char *value)
{
	fputs("      <property name=\"", out);
	markup_text(out, name);
	fputs("\" value=\"", out);
	markup_text(out, value);
	fputs("\"/>\n", out);
}

/* The Debian package version in a kernel's `uname -v` ("… Debian 6.1.192-3
 * (2025-…)"), or "" for a kernel Debian did not build. */
static void debian_version(const char *version, char *buf, size_t size)
{
	const char *at = strstr(version, "Debian ");

	buf[0] = '\0';
	if (at) {
		at += strlen("Debian ");
		snprintf(buf, size, "%.*s", (int)strcspn(at, " "), at);
	}
}

struct junit *junit_new(void)
{
	struct junit *junit = calloc(1, sizeof(*junit));

	if (!junit)
		return NULL;
	junit->body_stream = open_memstream(&junit->body, &junit->body_len);
	if (!junit->body_stream) {
		free(junit);
		return NULL;
	}
	uname(&junit->uts);
	snprintf(junit->host, sizeof(junit->host), "localhost");
	gethostname(junit->host, sizeof(junit->host) - 1);
	debian_version(junit->uts.version, junit->package, sizeof(junit->package));
	return junit;
}

static void suite_end(struct junit *junit)
{
	FILE *out = junit->body_stream;
	char stamp[32];
	size_t i;

	if (!junit->scenario)
		return;
	if (fclose(junit->cases_stream) != 0)
		junit->out_of_memory = true;
	junit->cases_stream = NULL;
	/* JUnit readers take the time without a zone; it is UTC. */
	time_text(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", junit->began, true);
	fputs("  <testsuite name=\"", out);
	markup_text(out, junit->scenario->name);
	fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" "
		"timestamp=\"%s\" hostname=\"", junit->tests, junit->failures, junit->errors,
		junit->skipped, junit->seconds, stamp);
	markup_text(out, junit->host);
	fputs("\" file=\"", out);
	markup_text(out, junit->scenario->path);
	fputs("\">\n    <properties>\n", out);
	xml_property(out, "ctlab.version", ctlab_version_long());
	xml_property(out, "kernel.release", junit->uts.release);
	xml_property(out, "kernel.version", junit->uts.version);
	if (junit->package[0])
		xml_property(out, "kernel.debian_package_version", junit->package);
	xml_property(out, "machine", junit->uts.machine);
	for (i = 0; i < junit->n_settings; i++) {
		struct junit_setting *setting = &junit->settings[i];

		xml_property(out, setting->key, setting->differs ? setting->differs : setting->value);
		free(setting->differs);
		setting->differs = NULL;
	}
	fputs("    </properties>\n", out);
	if (junit->cases)
		fwrite(junit->cases, 1, junit->cases_len, out);
	fputs("  </testsuite>\n", out);
	free(junit->cases);
	junit->cases = NULL;
	junit->all_tests += junit->tests;
	junit->all_failures += junit->failures;
	junit->all_errors += junit->errors;
	junit->all_seconds += junit->seconds;
	junit->scenario = NULL;
}

static void suite_begin(struct junit *junit, const struct run_result *result)
{
	junit->cases_stream = open_memstream(&junit->cases, &junit->cases_len);
	if (!junit->cases_stream) {
		junit->out_of_memory = true;
		return;
	}
	junit->scenario = result->scenario;
	junit->tests = junit->failures = junit->errors = junit->skipped = 0;
	junit->seconds = 0;
	junit->began = time(NULL) - (time_t)result->seconds;
	junit->n_settings = 0;
}

/* The run's conntrack settings into the suite's: a value that differs from
 * the suite's first run is listed with the run that had it. */
static void note_settings(struct junit *junit, const struct run_result *result)
{
	for (size_t i = 0; i < result->n_sysctls; i++) {
		const struct run_sysctl *sysctl = &result->sysctls[i];
		struct junit_setting *setting = NULL;
		char *grown;
		size_t j;

		for (j = 0; j < junit->n_settings && !setting; j++)
			if (strcmp(junit->settings[j].key, sysctl->key) == 0)
				setting = &junit->settings[j];
		if (!setting) {
			if (junit->n_settings == JUNIT_PROPERTIES_MAX || junit->tests > 1)
				continue;	/* a setting the first run did not have: in system-out */
			setting = &junit->settings[junit->n_settings++];
			*setting = (struct junit_setting){ .key = sysctl->key };
			snprintf(setting->value, sizeof(setting->value), "%s", sysctl->value);
			continue;
		}
		if (strcmp(setting->value, sysctl->value) == 0)
			continue;
		if (asprintf(&grown, "%s%s%s (%s)", setting->differs ? setting->differs : setting->value,
			     setting->differs ? ", " : " (the others), ", sysctl->value, result->name) < 0) {
			junit->out_of_memory = true;
			continue;
		}
		free(setting->differs);
		setting->differs = grown;
	}
}

/* Whether a failed run failed at an action (setup, connect, send …: it could
 * not run on) rather than at an expectation. */
static const struct step_result *failed_action(const struct run_result *result)
{
	for (size_t i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		if (!step->passed && !step->skipped && step->step->kind != STEP_EXPECT)
			return step;
	}
	return NULL;
}

static void failure_element(FILE *out, const struct run_result *result)
{
	const struct step_result *action = failed_action(result);
	const char *element = action || !result->failures ? "error" : "failure";
	size_t i;

	fprintf(out, "      <%s type=\"%s\" message=\"", element,
		action ? "step" : result->failures ? "expectation" : "run");
	markup_text(out, result->reason);
	fputs("\">", out);
	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		if (step->passed || step->skipped)
			continue;
		markup_text(out, result->scenario->path);
		fprintf(out, ":%d:%d: ", step->step->pos.line, step->step->pos.column);
		markup_text(out, step->step->text);
		fputs(": ", out);
		markup_text(out, step->message);
		if (step->observed[0]) {
			fputs(" (observed: ", out);
			markup_text(out, step->observed);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	fprintf(out, "</%s>\n", element);
}

/* The run as a person reads it on a CI page: the ladder and the RST chains
 * (its settings are the suite's properties). */
static void system_out(struct junit *junit, FILE *out, const struct run_result *result)
{
	static const struct report_style plain = { .color = false, .unicode = false };
	char *text = NULL;
	size_t len = 0;
	FILE *stream = open_memstream(&text, &len);

	if (!stream) {
		junit->out_of_memory = true;
		return;
	}
	fprintf(stream, "%s  (%s)\n", result->name, result->scenario->path);
	if (result->n_steps)
		report_story(stream, result, &plain);
	if (fclose(stream) != 0)
		junit->out_of_memory = true;
	fputs("      <system-out>", out);
	if (text)
		markup_text(out, text);
	fputs("</system-out>\n", out);
	free(text);
}

void junit_add(struct junit *junit, const struct run_result *result)
{
	FILE *out;

	if (junit->scenario != result->scenario) {
		suite_end(junit);
		suite_begin(junit, result);
		if (!junit->cases_stream)
			return;
	}
	out = junit->cases_stream;
	junit->tests++;
	junit->seconds += result->seconds;
	note_settings(junit, result);
	fputs("    <testcase classname=\"ctlab.", out);
	markup_text(out, result->scenario->name);
	fputs("\" name=\"", out);
	markup_text(out, result->name);
	fprintf(out, "\" time=\"%.3f\">\n", result->seconds);
	switch (result->outcome) {
	case OUTCOME_SKIP:
		junit->skipped++;
		fputs("      <skipped message=\"", out);
		markup_text(out, result->reason);
		fputs("\"/>\n", out);
		break;
	case OUTCOME_FAIL:
		if (failed_action(result) || !result->failures)
			junit->errors++;
		else
			junit->failures++;
		failure_element(out, result);
		system_out(junit, out, result);
		break;
	case OUTCOME_PASS:
		system_out(junit, out, result);
		break;
	}
	fputs("    </testcase>\n", out);
}

int junit_finish(struct junit *junit, FILE *out)
{
	int rc;

	suite_end(junit);
	if (fclose(junit->body_stream) != 0)
		junit->out_of_memory = true;
	junit->body_stream = NULL;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites name=\"ctlab\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		"time=\"%.3f\">\n", junit->all_tests, junit->all_failures, junit->all_errors,
		junit->all_seconds);
	if (junit->body)
		fwrite(junit->body, 1, junit->body_len, out);
	fputs("</testsuites>\n", out);
	rc = junit->out_of_memory ? -1 : 0;
	junit_free(junit);
	return rc;
}

void junit_free(struct junit *junit)
{
	if (!junit)
		return;
	if (junit->cases_stream)
		fclose(junit->cases_stream);
	if (junit->body_stream)
		fclose(junit->body_stream);
	for (size_t i = 0; i < junit->n_settings; i++)
		free(junit->settings[i].differs);
	free(junit->cases);
	free(junit->body);
	free(junit);
}
