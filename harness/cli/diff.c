/* diff — the diff command: the runs and packets whose outcome, verdict or reason changed between two --json results. */
#include <stdio.h>

#include "output/output.h"
#include "cli.h"

/* Verdicts and reasons that changed between two --json results. */
int cmd_diff(int argc, char **argv)
{
	int differences;

	if (argc != 3)
		return usage_error("%s", "diff expects two files: OLD.json NEW.json");
	differences = diff_results(argv[1], argv[2], stdout);
	if (differences < 0)
		return EXIT_USAGE;
	return differences ? EXIT_FAILED : EXIT_PASS;
}
