/* diff — the diff command: what changed between two --json results, run by
 * run, step by step, packet by packet. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "output/output.h"
#include "cli.h"

static const char diff_usage[] =
	"usage: ctlab diff [--json] OLD NEW\n"
	"\n"
	"Compare two results of `ctlab run --json FILE` (say, before and after a\n"
	"kernel upgrade); OLD and NEW are each such a file or a folder holding\n"
	"results.json.  Runs are matched by name, steps by their kind, text and\n"
	"order (not their line, so an edited scenario still lines up), packets by\n"
	"their step, who sent them to whom and their TCP flags.  Compared: each\n"
	"run's outcome and conntrack settings; each packet's verdict, reason (its\n"
	"numbers as '#', as in reason patterns) and length, and packets on one side\n"
	"only; each expectation's result and what it saw; each connection's entry\n"
	"after each step (state, flags, and its remaining time when the two differ\n"
	"by more than max(2 s, 10%)); the RST chains (who reset whom, the verdict\n"
	"and reason of the packet answered); runs, scenarios, variants and\n"
	"families on one side only.  Seq and ack are not compared.\n"
	"\n"
	"Prints a summary (\"2 of 142 runs changed: 1 verdict, 1 missing packet\"),\n"
	"then the changes of each run by step; --json writes them as JSON instead.\n"
	"\n"
	"exit status: 0 no behavioural change, 1 something changed, 2 bad input\n"
	"(unreadable, not JSON: FILE:LINE:COLUMN, not a ctlab result) or usage.\n";

int cmd_diff(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum diff_format format = DIFF_TEXT;
	int opt, rc;

	optind = 1;
	while ((opt = cli_getopt("diff", argc, argv, "h", options)) != -1) {
		switch (opt) {
		case 'j':
			format = DIFF_JSON;
			break;
		case 'h':
			fputs(diff_usage, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;	/* cli_getopt said what */
		}
	}
	if (argc - optind != 2)
		return usage_error("%s", "diff expects two results: OLD NEW (files, or folders "
				   "holding results.json)");
	rc = diff_results(argv[optind], argv[optind + 1], format, stdout, stderr);
	if (rc < 0)
		return EXIT_USAGE;
	return rc ? EXIT_FAILED : EXIT_PASS;
}
