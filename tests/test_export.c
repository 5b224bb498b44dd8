// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/export: JUnit XML from hand-made run results stays
 * well-formed and shows control characters and bytes that are not UTF-8
 * escaped; the output paths are opened without following a symlink.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "output/output.h"
#include "suite.h"

static char dir[] = "/tmp/ctlab-export-XXXXXX";
static char junit_path[300], json_path[300], html_path[300], elsewhere[300];

/* A failed run whose texts carry what a terminal would act on and what XML cannot carry. */
struct fixture {
	struct scenario scenario;
	struct step step;
	struct step_result step_result;
	struct run_result result;
};

static void fixture_fill(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->scenario.name, "bell\a-name");
	strcpy(f->scenario.path, "scenarios/x<y>.ct");
	f->step = (struct step){ .kind = STEP_EXPECT, .pos = { 7, 1 } };
	f->step.text = "expect verdict invalid reason \"a&b\"";
	f->step_result = (struct step_result){ .step = &f->step, .sent_packet = -1 };
	snprintf(f->step_result.message, sizeof(f->step_result.message),
		 "saw reason \"\x1b[31mred\x1b[0m\" \xff\xfe tab\there back\\slash \xe2\x80\xae");
	f->result = (struct run_result){
		.scenario = &f->scenario, .family = 2, .variant = -1,
		.outcome = OUTCOME_FAIL, .failures = 1, .n_steps = 1,
		.steps = &f->step_result, .seconds = 0.5,
	};
	strcpy(f->result.name, "bell\a-name/ipv4");
	strcpy(f->result.reason, "scenarios/x<y>.ct:7:1: expected \x01\x7f, saw \x1b");
}

static const char *read_text(const char *path)
{
	static char text[8192];
	size_t n;
	FILE *f;

	text[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return text;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* New files not renamed into place are the hidden ones. */
static int hidden_entries(const char *path)
{
	struct dirent *entry;
	DIR *d = opendir(path);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((entry = readdir(d)))
		n += entry->d_name[0] == '.' && strcmp(entry->d_name, ".") &&
		     strcmp(entry->d_name, "..");
	closedir(d);
	return n;
}

static void setup(void)
{
	FILE *f;

	strcpy(dir, "/tmp/ctlab-export-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(junit_path, sizeof(junit_path), "%s/junit.xml", dir);
	snprintf(json_path, sizeof(json_path), "%s/run.json", dir);
	snprintf(html_path, sizeof(html_path), "%s/report.html", dir);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", dir);
	f = fopen(elsewhere, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not yours\n", f);
	fclose(f);
}

static void teardown(void)
{
	char command[400];

	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(command), 0);
}

START_TEST(test_junit_escapes_controls)
{
	struct fixture f;
	struct export *export;
	const char *xml;
	char err[512], command[512];

	fixture_fill(&f);
	export = export_open(&(struct export_paths){ .junit = junit_path }, err, sizeof(err));
	ck_assert_msg(export, "%s", err);
	export_run(export, &f.result);
	ck_assert_int_eq(export_close(export), 0);
	xml = read_text(junit_path);

	ck_assert_msg(strstr(xml, "name=\"bell\\x07-name/ipv4\""), "%s", xml);
	ck_assert_msg(strstr(xml, "classname=\"ctlab.bell\\x07-name\""), "%s", xml);
	ck_assert_msg(strstr(xml, "message=\"scenarios/x&lt;y&gt;.ct:7:1: expected \\x01\\x7f, "
			     "saw \\x1b\""), "%s", xml);
	ck_assert_msg(strstr(xml, "scenarios/x&lt;y&gt;.ct:7:1: expect verdict invalid reason "
			     "&quot;a&amp;b&quot;: saw reason &quot;\\x1b[31mred\\x1b[0m&quot; "
			     "\\xff\\xfe tab\there back\\\\slash \\u{202e}\n"), "%s", xml);
	/* Nothing raw is left: no control but tab and newline, no byte over 0x7f. */
	for (const char *c = xml; *c; c++)
		ck_assert_msg(((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f) ||
			      *c == '\n' || *c == '\t', "byte 0x%02x at %zu",
			      (unsigned char)*c, (size_t)(c - xml));

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		puts("# SKIP well-formedness: no python3");
		return;
	}
	snprintf(command, sizeof(command),
		 "python3 -c 'import sys, xml.dom.minidom; "
		 "d = xml.dom.minidom.parse(sys.argv[1]); "
		 "assert d.getElementsByTagName(\"failure\").length == 1' '%s'", junit_path);
	ck_assert_msg(system(command) == 0, "not well-formed XML:\n%s", xml);
}
END_TEST

START_TEST(test_symlinked_outputs_refused)
{
	struct export *export;
	char err[512], want[512];

	ck_assert_int_eq(symlink(elsewhere, json_path), 0);
	export = export_open(&(struct export_paths){ .json = json_path, .junit = junit_path }, err, sizeof(err));
	ck_assert_ptr_null(export);
	snprintf(want, sizeof(want), "--json %s: a symlink: refusing to write through it",
		 json_path);
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(read_text(elsewhere), "not yours\n");
	ck_assert_int_eq(access(junit_path, F_OK), -1);

	ck_assert_int_eq(unlink(json_path), 0);
	ck_assert_int_eq(symlink(elsewhere, junit_path), 0);
	export = export_open(&(struct export_paths){ .json = json_path, .junit = junit_path }, err, sizeof(err));
	ck_assert_ptr_null(export);
	snprintf(want, sizeof(want), "--junit %s: a symlink: refusing to write through it",
		 junit_path);
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(read_text(elsewhere), "not yours\n");
	/* The JSON output given up with the JUnit one: no file, no new file left. */
	ck_assert_int_eq(access(json_path, F_OK), -1);
	ck_assert_int_eq(hidden_entries(dir), 0);
}
END_TEST

/* Written whole at the end: until then a reader sees the file as it was. */
START_TEST(test_outputs_replaced_at_close)
{
	struct fixture f;
	struct export *export;
	char err[512];
	FILE *old = fopen(json_path, "w");

	ck_assert_ptr_nonnull(old);
	fputs("old\n", old);
	fclose(old);
	fixture_fill(&f);
	export = export_open(&(struct export_paths){ .json = json_path, .junit = junit_path }, err, sizeof(err));
	ck_assert_msg(export, "%s", err);
	export_run(export, &f.result);
	ck_assert_str_eq(read_text(json_path), "old\n");
	ck_assert_int_eq(access(junit_path, F_OK), -1);
	ck_assert_int_eq(export_close(export), 0);
	ck_assert_msg(strstr(read_text(json_path), "\"tool\": \"ctlab\""), "%s",
		      read_text(json_path));
	ck_assert_msg(strstr(read_text(junit_path), "<testsuites name=\"ctlab\" tests=\"1\""), "%s",
		      read_text(junit_path));
}
END_TEST

/* The page is made from the same document as the JSON, and refuses a symlink too. */
START_TEST(test_html_written_at_close)
{
	struct fixture f;
	struct export *export;
	char err[512], want[512];
	const char *page;

	fixture_fill(&f);
	export = export_open(&(struct export_paths){ .html = html_path }, err, sizeof(err));
	ck_assert_msg(export, "%s", err);
	export_run(export, &f.result);
	ck_assert_int_eq(access(html_path, F_OK), -1);
	ck_assert_int_eq(export_close(export), 0);
	page = read_text(html_path);
	ck_assert_msg(strncmp(page, "<!DOCTYPE html>", 15) == 0, "%.200s", page);
	ck_assert_msg(strstr(page, "<section class=\"run\" id=\"r1\""), "%.400s", page);

	ck_assert_int_eq(unlink(html_path), 0);
	ck_assert_int_eq(symlink(elsewhere, html_path), 0);
	export = export_open(&(struct export_paths){ .json = json_path, .html = html_path }, err,
			     sizeof(err));
	ck_assert_ptr_null(export);
	snprintf(want, sizeof(want), "--html %s: a symlink: refusing to write through it", html_path);
	ck_assert_str_eq(err, want);
	ck_assert_str_eq(read_text(elsewhere), "not yours\n");
	ck_assert_int_eq(hidden_entries(dir), 0);
}
END_TEST

/* Every step kind has its name in the JSON (flood and fill once read past the table). */
START_TEST(test_json_step_kinds)
{
	struct fixture f;
	struct step steps[2];
	struct step_result results[2];
	struct export *export;
	char err[512];
	const char *json;

	fixture_fill(&f);
	steps[0] = (struct step){ .kind = STEP_FLOOD, .pos = { 3, 1 }, .text = "flood x" };
	steps[1] = (struct step){ .kind = STEP_FILL, .pos = { 4, 1 }, .text = "fill y" };
	for (int i = 0; i < 2; i++)
		results[i] = (struct step_result){ .step = &steps[i], .passed = true,
						   .sent_packet = -1 };
	f.result.steps = results;
	f.result.n_steps = 2;
	export = export_open(&(struct export_paths){ .json = json_path }, err, sizeof(err));
	ck_assert_msg(export, "%s", err);
	export_run(export, &f.result);
	ck_assert_int_eq(export_close(export), 0);
	json = read_text(json_path);
	ck_assert_msg(strstr(json, "\"kind\": \"flood\"") && strstr(json, "\"kind\": \"fill\""),
		      "%s", json);
}
END_TEST

static Suite *export_suite(void)
{
	Suite *suite = suite_create("export");
	TCase *tc = tcase_create("export");

	/* The JUnit test runs python3 to parse the file: its start is not ours to bound. */
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_junit_escapes_controls);
	tcase_add_test(tc, test_html_written_at_close);
	tcase_add_test(tc, test_symlinked_outputs_refused);
	tcase_add_test(tc, test_outputs_replaced_at_close);
	tcase_add_test(tc, test_json_step_kinds);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return suite_main(export_suite());
}
