/* facts — the kernel facts the chosen scenarios' @fact: conditions name, each probed once on this kernel before the runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/engine.h"
#include "base/base.h"
#include "lang/lang.h"
#include "cli.h"

#define FACTS_MAX	64

static const struct scenario *find_fact(const struct scenario_list *all, const char *name)
{
	for (size_t i = 0; i < all->n; i++)
		if (all->items[i]->is_fact && !strcmp(all->items[i]->name, name))
			return all->items[i];
	return NULL;
}

/* Where in @scenario a condition first names @fact, for the error message. */
static const struct step *naming_step(const struct scenario *scenario, const char *fact)
{
	for (size_t i = 0; i < scenario->n_steps; i++)
		for (size_t f = 0; f < scenario->steps[i].when.n_facts; f++)
			if (!strcmp(scenario->steps[i].when.facts[f].name, fact))
				return &scenario->steps[i];
	return NULL;
}

/* Run the fact's scenario once, in its first family: true when it passes. */
static void probe(const struct scenario *fact, const struct engine_options *options,
		  struct fact_value *value)
{
	int family = fact->families & FAMILY_IPV4 ? AF_INET : AF_INET6;
	struct engine_options quiet = *options;
	struct run_result result = { 0 };

	/* A probe is not one of the runs: nothing of it is kept or written. */
	quiet.keep = false;
	quiet.pause = NULL;
	quiet.no_reasons = false;	/* a fact may be about a reason */
	quiet.pcap_dir = NULL;
	quiet.facts = NULL;
	quiet.n_facts = 0;
	engine_run(fact, -1, family, &quiet, &result);
	value->value = result.outcome == OUTCOME_PASS ? 1 : result.outcome == OUTCOME_FAIL ? 0 : -1;
	snprintf(value->why, sizeof(value->why), "%s", result.reason);
	fprintf(stderr, "ctlab: fact %s is %s on this kernel (%s, %.1f s)%s%s\n", fact->name,
		value->value == 1 ? "true" : value->value == 0 ? "false" : "unknown", fact->path,
		result.seconds, result.reason[0] ? ": " : "", result.reason);
	run_result_free(&result);
}

int probe_facts(const struct scenario_list *all, const struct scenario_list *chosen,
		const struct engine_options *options, struct fact_value **values, size_t *n)
{
	const char *names[FACTS_MAX];
	struct fact_value *found;
	size_t i, j, k, count = 0;

	*values = NULL;
	*n = 0;
	found = calloc(FACTS_MAX, sizeof(*found));
	if (!found) {
		fprintf(stderr, "ctlab: out of memory\n");
		return -1;
	}
	for (i = 0; i < chosen->n; i++) {
		const struct scenario *scenario = chosen->items[i];
		size_t needed = scenario_facts(scenario, names, FACTS_MAX);

		for (j = 0; j < needed && j < FACTS_MAX; j++) {
			const struct scenario *fact = find_fact(all, names[j]);

			for (k = 0; k < count && strcmp(found[k].name, names[j]); k++)
				;
			if (k < count)
				continue;
			if (!fact) {
				const struct step *step = naming_step(scenario, names[j]);

				fprintf(stderr, "%s:%d:%d: expected a fact some scenario file declares "
					"with `fact %s`, found fact:%s\n", scenario->path,
					step ? step->pos.line : 0, step ? step->pos.column : 0,
					names[j], names[j]);
				free(found);
				return -1;
			}
			if (count == FACTS_MAX) {
				fprintf(stderr, "ctlab: more than %d facts in one run\n", FACTS_MAX);
				free(found);
				return -1;
			}
			snprintf(found[count].name, sizeof(found[count].name), "%s", fact->name);
			probe(fact, options, &found[count++]);
		}
	}
	*values = found;
	*n = count;
	return 0;
}
