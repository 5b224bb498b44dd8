/* report — the report command: a results.json (or a results folder) as one self-contained HTML page. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/base.h"
#include "output/output.h"
#include "cli.h"

/* The folder of a results path: the path itself, or the file's. */
static void results_dir(const char *results, char *dir, size_t size)
{
	struct stat st;
	char *slash;

	snprintf(dir, size, "%s", results);
	if (stat(results, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, size, ".");
}

int html_page(struct json_t *document, const char *results, const char *out_path)
{
	char dir[4096], pcap[4200], href[4096];
	struct html_links links = { 0 };
	struct outfile *file = NULL;
	struct stat st;
	FILE *out = stdout;
	int rc;

	results_dir(results, dir, sizeof(dir));
	snprintf(pcap, sizeof(pcap), "%s/pcap", dir);
	if (stat(pcap, &st) == 0 && S_ISDIR(st.st_mode))
		html_links_for(out_path ? out_path : "./page.html", pcap, href, sizeof(href), &links);
	if (out_path) {
		file = outfile_open(out_path);
		if (!file) {
			fprintf(stderr, "ctlab: -o %s: %s\n", out_path, outfile_strerror(errno));
			return EXIT_USAGE;
		}
		out = outfile_stream(file);
	}
	rc = report_html(document, out, &links);
	if (file) {
		if (rc < 0) {
			outfile_discard(file);
			rc = -EIO;
		} else {
			rc = outfile_commit(file);
		}
		if (rc < 0) {
			fprintf(stderr, "ctlab: -o %s: %s\n", out_path, outfile_strerror(-rc));
			return EXIT_FAILED;
		}
		fprintf(stderr, "ctlab: wrote %s\n", out_path);
		return EXIT_PASS;
	}
	if (rc < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "ctlab: report: %s\n", strerror(errno ? errno : EIO));
		return EXIT_FAILED;
	}
	return EXIT_PASS;
}

int cmd_report(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL;
	json_t *document;
	int opt, status;

	optind = 1;
	while ((opt = cli_getopt("report", argc, argv, "o:h", options)) != -1) {
		switch (opt) {
		case 'o':
			out_path = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("report expects one results.json or results folder, found %d",
				   argc - optind);
	document = results_load(argv[optind], stderr);
	if (!document)
		return EXIT_USAGE;
	status = html_page(document, argv[optind], out_path);
	json_decref(document);
	return status;
}
