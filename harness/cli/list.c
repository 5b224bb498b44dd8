/* list — the list command: every scenario's name and file. */
#include <stdio.h>

#include "lang/lang.h"
#include "cli.h"

int cmd_list(int argc, char **argv)
{
	struct scenario_list all = { 0 };
	size_t i;
	int bad;

	(void)argv;
	if (argc > 1)
		return usage_error("list takes no arguments, found '%s'", argv[1]);
	/* The files that parse are listed even when others do not. */
	bad = load_all(&all);
	for (i = 0; i < all.n; i++)
		printf("%-28s %s%s\n", all.items[i]->name, all.items[i]->path,
		       all.items[i]->is_fact ? "  (a kernel fact)" : "");
	free_scenarios(&all);
	return bad ? EXIT_USAGE : EXIT_PASS;
}
