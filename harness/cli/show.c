/* show — the show command: a scenario's explanation, topology, families, variants, kernel range and steps; or the HTML page of its runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lang/lang.h"
#include "output/output.h"
#include "cli.h"

#define LATEST	"results/latest"

/* The runs of the chosen scenarios in @document, as a document of their own; NULL none. */
static json_t *runs_of(json_t *document, const struct scenario_list *chosen)
{
	json_t *copy = json_copy(document), *runs = json_array(), *run;
	size_t i, k;

	if (!copy || !runs)
		goto out_free;
	json_array_foreach(json_object_get(document, "runs"), i, run)
		for (k = 0; k < chosen->n; k++)
			if (strcmp(json_text(run, "scenario", ""), chosen->items[k]->name) == 0) {
				json_array_append(runs, run);
				break;
			}
	if (!json_array_size(runs))
		goto out_free;
	json_object_set_new(copy, "runs", runs);
	return copy;

out_free:
	json_decref(runs);
	json_decref(copy);
	return NULL;
}

/* A fresh `ctlab run --out auto` of the chosen scenarios, its report on stderr
 * (stdout may be the page). */
static int run_fresh(const struct scenario_list *chosen)
{
	char **args = calloc(chosen->n + 4, sizeof(*args));
	int saved, status;
	size_t n = 0;

	if (!args)
		return EXIT_FAILED;
	args[n++] = "run";
	args[n++] = "--out";
	args[n++] = "auto";
	for (size_t i = 0; i < chosen->n; i++)
		args[n++] = chosen->items[i]->path;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved >= 0)
		dup2(STDERR_FILENO, STDOUT_FILENO);
	status = cmd_run((int)n, args);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	free(args);
	return status;
}

/* The page of the chosen scenarios' runs: the latest results' if they hold
 * some, else a fresh run's. */
static int show_html(const struct scenario_list *chosen, const char *out_path)
{
	json_t *latest = access(LATEST "/results.json", R_OK) == 0 ? results_load(LATEST, stderr)
								    : NULL;
	json_t *document = latest ? runs_of(latest, chosen) : NULL;
	int status;

	json_decref(latest);
	if (!document) {
		fprintf(stderr, "ctlab: no runs of it in " LATEST "/: running it\n");
		status = run_fresh(chosen);
		if (status != EXIT_PASS && status != EXIT_FAILED)
			return status;
		latest = results_load(LATEST, stderr);
		document = latest ? runs_of(latest, chosen) : NULL;
		json_decref(latest);
		if (!document) {
			fprintf(stderr, "ctlab: the fresh run left no result in " LATEST "/\n");
			return EXIT_FAILED;
		}
	}
	status = html_page(document, LATEST, out_path);
	json_decref(document);
	return status;
}

int cmd_show(int argc, char **argv)
{
	static const struct option options[] = {
		{ "html", no_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scenario_list all = { 0 }, chosen = { 0 };
	const char *out_path = NULL;
	bool html = false;
	int status = EXIT_USAGE, opt;
	size_t i, s;

	optind = 1;
	while ((opt = cli_getopt("show", argc, argv, "o:h", options)) != -1) {
		switch (opt) {
		case 'H':
			html = true;
			break;
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
	if (optind >= argc)
		return usage_error("%s", "show expects a scenario name or path");
	if (out_path && !html)
		return usage_error("%s", "show: -o FILE is where --html writes its page");
	if (select_scenarios(argc - optind, argv + optind, &all, &chosen) < 0)
		goto out_free;
	if (html) {
		status = show_html(&chosen, out_path);
		goto out_free;
	}
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
