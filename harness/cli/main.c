/* ctlab — the command line's entry: the command table and the dispatcher. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli.h"

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(usage_text, stdout);
	return EXIT_PASS;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("ctlab %s\n", ctlab_version_long());
	return EXIT_PASS;
}

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "clean", cmd_clean },
	{ "diff", cmd_diff },
	{ "merge", cmd_merge },
	{ "report", cmd_report },
	{ "replay", cmd_replay },
	{ "diagnose", cmd_diagnose },
	{ "vm", cmd_vm },
	{ "version", cmd_version },
	{ "--version", cmd_version },
	{ "-V", cmd_version },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage_error("%s", "expected a command: run, list, show, report, replay, diagnose, clean, diff, merge, vm, help");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (run, list, show, report, replay, diagnose, clean, diff, merge, vm, help)", argv[1]);
}
