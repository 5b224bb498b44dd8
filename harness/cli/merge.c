/* merge — the merge command: result folders (shards, kernels) joined into one. */
#include <getopt.h>
#include <stdio.h>

#include "output/output.h"
#include "cli.h"

static const char merge_usage[] =
	"usage: ctlab merge --out DIR INPUT...\n"
	"\n"
	"Join result folders of `ctlab run --out` (or results.json files; a folder's\n"
	"junit.xml comes along) into DIR: the shards of one run spread over CI\n"
	"runners (`ctlab run --shard K/N`), and runs on other kernels (`ctlab vm`,\n"
	"other machines).  DIR gets results.json with every run, each keeping the\n"
	"kernel it ran on, in the order the whole run would have had; junit.xml with\n"
	"every suite (named after its kernel when there are several); results.ktap\n"
	"made from the runs.  A run that two inputs of one kernel both hold is an\n"
	"error.\n"
	"\n"
	"exit status: 0 merged, 2 bad input or usage.\n";

int cmd_merge(int argc, char **argv)
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int opt;

	optind = 1;
	while ((opt = cli_getopt("merge", argc, argv, "o:h", options)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(merge_usage, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;
		}
	}
	if (!out)
		return usage_error("%s", "merge expects --out DIR");
	if (optind >= argc)
		return usage_error("%s", "merge expects result folders or results.json files to join");
	return merge_results((const char *const *)argv + optind, (size_t)(argc - optind), out,
			     stderr) < 0 ? EXIT_USAGE : EXIT_PASS;
}
