/* show — the show command: a scenario's explanation, topology, families, variants, kernel range and steps. */
#include <stdio.h>
#include <stdlib.h>

#include "lang/lang.h"
#include "cli.h"

int cmd_show(int argc, char **argv)
{
	struct scenario_list all = { 0 }, chosen = { 0 };
	int status = EXIT_USAGE;
	size_t i, s;

	if (argc < 2)
		return usage_error("%s", "show expects a scenario name or path");
	if (select_scenarios(argc - 1, argv + 1, &all, &chosen) < 0)
		goto out_free;
	for (i = 0; i < chosen.n; i++) {
		const struct scenario *scenario = chosen.items[i];

		printf("%s  (%s)\n\n%s\n\ntopology %s", scenario->name, scenario->path,
		       scenario->about, scenario->topology);
		if (scenario->nat != NAT_NONE)
			printf(" with %s on the router", nat_kind_name(scenario->nat));
		printf(", %s", scenario->families == FAMILY_BOTH ? "IPv4 and IPv6" :
		       scenario->families == FAMILY_IPV4 ? "IPv4 only" : "IPv6 only");
		for (s = 0; s < scenario->n_variants; s++)
			printf("%s%s", s ? ", " : "; variants ", scenario->variants[s]);
		if (scenario->kernel_min)
			printf("; kernel >= %u.%u", scenario->kernel_min >> 16,
			       (scenario->kernel_min >> 8) & 0xff);
		if (scenario->kernel_below)
			printf("; kernel < %u.%u", scenario->kernel_below >> 16,
			       (scenario->kernel_below >> 8) & 0xff);
		printf("\n\n");
		for (s = 0; s < scenario->n_steps; s++)
			printf("  %3d  %s\n", scenario->steps[s].pos.line, scenario->steps[s].text);
		if (i + 1 < chosen.n)
			putchar('\n');
	}
	status = EXIT_PASS;
out_free:
	free_chosen(&chosen);
	free_scenarios(&all);
	return status;
}
