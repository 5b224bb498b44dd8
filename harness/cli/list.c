/* list — the list command: every scenario with its topology, runs and one-line story; --json for machines. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "lang/lang.h"
#include "cli.h"

/* The story's first sentence, at most @size - 1 bytes, on one line. */
static void first_sentence(const char *about, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *at = about; *at && n + 1 < size; at++) {
		buf[n++] = *at == '\n' ? ' ' : *at;
		if (*at == '.' && (at[1] == ' ' || at[1] == '\n' || at[1] == '\0'))
			break;
	}
	buf[n] = '\0';
}

/* On a terminal, cut @line to its width (UTF-8 aware enough: bytes 0x80-0xbf
 * continue a character); elsewhere lines stay whole, for grep. */
static void fit_terminal(char *line)
{
	struct winsize ws;
	size_t columns = 0, i;

	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col < 40)
		return;
	for (i = 0; line[i]; i++) {
		if (((unsigned char)line[i] & 0xc0) == 0x80)
			continue;
		if (++columns == ws.ws_col) {
			strcpy(line + i - 3, "...");
			return;
		}
	}
}

static size_t run_count(const struct scenario *scenario)
{
	return (size_t)__builtin_popcount(scenario->families) *
	       (scenario->n_variants ? scenario->n_variants : 1);
}

/* "routed+dnat", "pair" */
static void topology_text(const struct scenario *scenario, char *buf, size_t size)
{
	if (scenario->nat != NAT_NONE)
		snprintf(buf, size, "%s+%s", scenario->topology, nat_kind_name(scenario->nat));
	else
		snprintf(buf, size, "%s", scenario->topology);
}

static json_t *scenario_json(const struct scenario *scenario)
{
	json_t *variants = json_array(), *object;
	char story[400];

	for (size_t v = 0; v < scenario->n_variants; v++)
		json_array_append_new(variants, json_string(scenario->variants[v]));
	first_sentence(scenario->about, story, sizeof(story));
	object = json_pack("{s:s, s:s, s:s, s:s?, s:o, s:[]}", "name", scenario->name,
			   "file", scenario->path, "topology", scenario->topology,
			   "nat", scenario->nat != NAT_NONE ? nat_kind_name(scenario->nat) : NULL,
			   "variants", variants, "families");
	if (!object)
		return NULL;
	if (scenario->families & FAMILY_IPV4)
		json_array_append_new(json_object_get(object, "families"), json_string("ipv4"));
	if (scenario->families & FAMILY_IPV6)
		json_array_append_new(json_object_get(object, "families"), json_string("ipv6"));
	json_object_set_new(object, "runs", json_integer((json_int_t)run_count(scenario)));
	json_object_set_new(object, "fact", json_boolean(scenario->is_fact));
	json_object_set_new(object, "story", json_string(story));
	json_object_set_new(object, "about", json_string(scenario->about));
	return object;
}

static const char list_usage[] =
	"usage: ctlab list [--json]\n"
	"\n"
	"Every scenario: its name, topology (with the router's NAT), how many runs\n"
	"it makes (variants x families) and the first sentence of its story; facts\n"
	"(kernel probes) are marked.  --json prints an array of objects with the\n"
	"name, file, topology, nat, variants, families, runs, fact, story and\n"
	"about.  Exit 2 when some file does not parse (it is reported, the others\n"
	"listed).\n";

int cmd_list(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scenario_list all = { 0 };
	bool as_json = false;
	json_t *array = NULL;
	size_t i;
	int bad, opt;

	optind = 1;
	while ((opt = cli_getopt("list", argc, argv, "h", options)) != -1) {
		if (opt == 'j') {
			as_json = true;
		} else if (opt == 'h') {
			fputs(list_usage, stdout);
			return EXIT_PASS;
		} else {
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("list takes no names, found '%s'", argv[optind]);
	/* The files that parse are listed even when others do not. */
	bad = load_all(&all);
	if (as_json)
		array = json_array();
	for (i = 0; i < all.n; i++) {
		const struct scenario *scenario = all.items[i];
		char topology[2 * SCENARIO_IDENT_MAX], story[400], line[600];

		if (array) {
			json_array_append_new(array, scenario_json(scenario));
			continue;
		}
		topology_text(scenario, topology, sizeof(topology));
		first_sentence(scenario->about, story, sizeof(story));
		snprintf(line, sizeof(line), "%-32s %-18s %2zu %s%s", scenario->name, topology,
			 run_count(scenario), scenario->is_fact ? "(kernel fact) " : "", story);
		fit_terminal(line);
		puts(line);
	}
	if (array) {
		json_dumpf(array, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(array);
	}
	free_scenarios(&all);
	return bad ? EXIT_USAGE : EXIT_PASS;
}
