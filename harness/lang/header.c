/* header — name, fact, about, topology, family, nat, variant and kernel statements; @conditions. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Topologies and NAT ---- */

static const char *const pair_hosts[] = { "client", "server", NULL };
static const char *const routed_hosts[] = { "client", "router", "server", NULL };

static const struct {
	const char *name;
	const char *const *hosts;
	bool has_service;		/* "service" names the router's DNAT address */
} topologies[] = {
	{ "pair", pair_hosts, false },
	{ "routed", routed_hosts, true },
};

static const char *const nat_names[] = {
	[NAT_NONE] = "none", [NAT_DNAT] = "dnat", [NAT_SNAT] = "snat",
	[NAT_MASQUERADE] = "masquerade",
};

const char *nat_kind_name(enum nat_kind nat)
{
	return (unsigned)nat < sizeof(nat_names) / sizeof(nat_names[0]) ? nat_names[nat] : "?";
}

bool topology_has_service(const char *topology)
{
	for (size_t i = 0; i < sizeof(topologies) / sizeof(topologies[0]); i++)
		if (strcmp(topology, topologies[i].name) == 0)
			return topologies[i].has_service;
	return false;
}

#define N_TOPOLOGIES	(sizeof(topologies) / sizeof(topologies[0]))

const char *const *scenario_topology_hosts(const char *topology)
{
	for (size_t i = 0; i < N_TOPOLOGIES; i++)
		if (strcmp(topology, topologies[i].name) == 0)
			return topologies[i].hosts;
	return NULL;
}

/* ---- Kernel versions ---- */

int kernel_version_parse(const char *text, uint32_t *version)
{
	unsigned long part[3] = { 0, 0, 0 };
	const char *c = text;
	int n = 0;

	for (;;) {
		if (!isdigit((unsigned char)*c))
			return -1;
		for (; isdigit((unsigned char)*c); c++) {
			part[n] = part[n] * 10 + (unsigned long)(*c - '0');
			if (part[n] > 99999)
				return -1;
		}
		n++;
		if (*c == '\0')
			break;
		if (*c != '.' || n == 3)
			return -1;
		c++;
	}
	if (n < 2 || part[0] > 255 || part[1] > 255)
		return -1;
	/* Stable series go past 255 (4.9.337); KERNEL_VERSION() clamps them too. */
	if (part[2] > 255)
		part[2] = 255;
	*version = CTLAB_KERNEL_VERSION(part[0], part[1], part[2]);
	return 0;
}

/* "6.0", "5.12.3": the patch level only when there is one. */
static void kernel_version_format(uint32_t version, char *buf, size_t size)
{
	unsigned major = version >> 16, minor = (version >> 8) & 0xff, patch = version & 0xff;

	if (patch)
		snprintf(buf, size, "%u.%u.%u", major, minor, patch);
	else
		snprintf(buf, size, "%u.%u", major, minor);
}

/* "A.B" or "A.B.C" filling all of w->text from off. */
static int parse_kernel_version(struct parser *p, const struct word *w, size_t off,
				uint32_t *version)
{
	const char *text = w->text + off;

	if (kernel_version_parse(text, version))
		return error_at(p, word_column(w, off), *text ? text : "nothing", -1,
				"a kernel version (A.B or A.B.C)");
	return 0;
}

/* kernel >= min and kernel < below must leave some kernel; the later one is wrong. */
static int check_kernel_range(struct parser *p, uint32_t min, uint32_t below, bool below_last,
			      int column, const char *found)
{
	char bound[32];

	if (!min || !below || min < below)
		return 0;
	kernel_version_format(below_last ? min : below, bound, sizeof(bound));
	return error_at(p, column, found, -1, "a version %s %s",
			below_last ? "above" : "below", bound);
}

/* ---- Header statements ---- */

/* A scenario's or fact's name, text[0..len): [a-z0-9][a-z0-9_.-]*. */
static bool is_name(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)text[i]) && !isdigit((unsigned char)text[i]) &&
		    (i == 0 || !strchr("_.-", text[i])))
			return false;
	return len > 0;
}

/* name NAME, or fact NAME for a probe of the kernel (is_fact). */
static int parse_name_as(struct parser *p, bool is_fact)
{
	struct word *keyword = &p->words[p->keyword];
	struct word *w;
	const char *c;

	if (p->seen_name)
		return error_at(p, keyword->column, "a second one", -1, "one name or fact statement");
	/* A fact is probed once, in one run: no variants, and no facts of its own. */
	if (is_fact && p->scenario->n_variants)
		return error_at(p, keyword->column, "fact", -1, "no variants in a fact");
	for (size_t i = 0; is_fact && i < p->scenario->n_steps; i++)
		if (p->scenario->steps[i].when.n_facts)
			return error_at(p, keyword->column, "fact", -1,
					"no fact conditions in a fact (line %d names one)",
					p->scenario->steps[i].pos.line);
	w = next_word(p, is_fact ? "a fact's name" : "a name");
	if (!w)
		return -1;
	c = w->text;
	if (!is_plain(w) || strlen(c) >= SCENARIO_NAME_MAX || !is_name(c, strlen(c)))
		goto bad_name;
	strcpy(p->scenario->name, w->text);
	p->scenario->is_fact = is_fact;
	p->seen_name = true;
	return expect_end(p);

bad_name:
	return error_word(p, w, "a name of [a-z0-9][a-z0-9_.-]*, at most %d characters",
			  SCENARIO_NAME_MAX - 1);
}

int parse_name(struct parser *p)
{
	return parse_name_as(p, false);
}

int parse_fact(struct parser *p)
{
	return parse_name_as(p, true);
}

int parse_topology(struct parser *p)
{
	struct word *keyword = &p->words[p->keyword];
	const char *names[N_TOPOLOGIES + 1];
	char list[256];
	struct word *w;

	if (p->seen_topology)
		return error_at(p, keyword->column, "a second one", -1,
				"one topology statement");
	for (size_t i = 0; i < N_TOPOLOGIES; i++)
		names[i] = topologies[i].name;
	names[N_TOPOLOGIES] = NULL;
	list_names(names, list, sizeof(list));

	w = next_word(p, "a topology");
	if (!w)
		return -1;
	p->hosts = scenario_topology_hosts(w->text);
	if (!p->hosts || !is_plain(w))
		return error_word(p, w, "a topology (%s)", list);
	strcpy(p->scenario->topology, w->text);
	p->seen_topology = true;
	return expect_end(p);
}

int parse_family(struct parser *p)
{
	static const struct {
		const char *name;
		unsigned families;
	} families[] = {
		{ "ipv4", FAMILY_IPV4 }, { "ipv6", FAMILY_IPV6 }, { "both", FAMILY_BOTH },
	};
	struct word *keyword = &p->words[p->keyword];
	struct word *w;

	if (p->seen_family)
		return error_at(p, keyword->column, "a second one", -1,
				"one family statement");
	w = next_plain(p, "a family (ipv4, ipv6, both)");
	if (!w)
		return -1;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if (strcmp(w->text, families[i].name) == 0) {
			p->scenario->families = families[i].families;
			p->seen_family = true;
			return expect_end(p);
		}
	}
	return error_word(p, w, "a family (ipv4, ipv6, both)");
}

/* nat dnat|snat|masquerade|none: what the router of topology routed translates. */
int parse_nat(struct parser *p)
{
	struct word *w;

	if (!topology_has_service(p->scenario->topology))
		return error_at(p, p->words[p->keyword].column, "nat", -1,
				"a statement for this topology (nat needs topology routed)");
	w = next_plain(p, "a NAT kind (dnat, snat, masquerade, none)");
	if (!w)
		return -1;
	for (size_t i = 0; i < sizeof(nat_names) / sizeof(nat_names[0]); i++) {
		if (strcmp(w->text, nat_names[i]) == 0) {
			p->scenario->nat = (enum nat_kind)i;
			return expect_end(p);
		}
	}
	return error_word(p, w, "a NAT kind (dnat, snat, masquerade, none)");
}

int parse_variant(struct parser *p)
{
	struct scenario *scenario = p->scenario;
	struct word *w = next_plain(p, "a variant name");
	const char *c;

	if (!w)
		return -1;
	if (scenario->is_fact)
		return error_word(p, w, "no variants in a fact");
	for (c = w->text; *c; c++)
		if (!(islower((unsigned char)*c) || (c > w->text &&
		      (isdigit((unsigned char)*c) || *c == '_' || *c == '-'))))
			break;
	if (c == w->text || *c || strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "a variant name of [a-z][a-z0-9_-]*, at most %d characters",
				  SCENARIO_IDENT_MAX - 1);
	for (size_t i = 0; i < scenario->n_variants; i++)
		if (strcmp(scenario->variants[i], w->text) == 0)
			return error_word(p, w, "a variant name not used before");
	if (scenario->n_variants == SCENARIO_VARIANTS_MAX)
		return error_word(p, w, "at most %d variants", SCENARIO_VARIANTS_MAX);
	strcpy(scenario->variants[scenario->n_variants++], w->text);
	return expect_end(p);
}

/* kernel >= V | kernel < V: the scenario runs on those kernels only. */
int parse_kernel(struct parser *p)
{
	struct scenario *scenario = p->scenario;
	struct word *keyword = &p->words[p->keyword];
	struct word *op = next_plain(p, ">= or <");
	struct word *w;
	uint32_t version;
	bool below;

	if (!op)
		return -1;
	if (strcmp(op->text, ">=") && strcmp(op->text, "<"))
		return error_word(p, op, ">= or <");
	below = op->text[0] == '<';
	if (below ? p->seen_kernel_below : p->seen_kernel_min)
		return error_at(p, keyword->column, "a second one", -1,
				"one kernel %s statement", op->text);
	w = next_plain(p, "a kernel version (A.B or A.B.C)");
	if (!w || parse_kernel_version(p, w, 0, &version))
		return -1;
	if (below) {
		scenario->kernel_below = version;
		p->seen_kernel_below = true;
	} else {
		scenario->kernel_min = version;
		p->seen_kernel_min = true;
	}
	if (check_kernel_range(p, scenario->kernel_min, scenario->kernel_below, below,
			       w->column, w->text))
		return -1;
	return expect_end(p);
}

/* about "x" and the like: the statement takes its raw line (see parse_line), so
 * a keyword that only reads "about" once its quotes are decoded is refused. */
int parse_about_words(struct parser *p)
{
	return error_word(p, &p->words[p->keyword], "about followed by a space and its text");
}

/* About lines are joined with '\n'; the buffer grows geometrically so that many
 * lines parse in linear time. */
int add_about(struct parser *p, const char *text, size_t len)
{
	/* The first line replaces the initial "", later ones follow a '\n'. */
	size_t sep = p->n_about++ ? 1 : 0;
	size_t need = p->about_len + sep + len + 1;
	char *about = p->scenario->about;

	if (need > p->about_cap) {
		size_t cap = p->about_cap ? p->about_cap : 256;

		while (cap < need)
			cap *= 2;
		/* cppcheck-suppress memleakOnRealloc ; the old buffer is still p->scenario->about */
		about = realloc(about, cap);
		if (!about) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return -1;
		}
		p->about_cap = cap;
		p->scenario->about = about;
	}
	if (sep)
		about[p->about_len] = '\n';
	memcpy(about + p->about_len + sep, text, len);
	p->about_len += sep + len;
	about[p->about_len] = '\0';
	return 0;
}

/* ---- Conditions: @variant,ipv4,kernel>=V ---- */

bool condition_holds(const struct condition *when, int variant, unsigned family,
		     uint32_t kernel)
{
	if (when->families && !(when->families & family))
		return false;
	if (when->kernel_min && kernel < when->kernel_min)
		return false;
	if (when->kernel_below && kernel >= when->kernel_below)
		return false;
	if (!when->variants)
		return true;
	/* A step for some variants never runs in a scenario without them. */
	if (variant < 0 || variant >= SCENARIO_VARIANTS_MAX)
		return false;
	return when->variants & (1u << variant);
}

int condition_facts_hold(const struct condition *when, const struct fact_value *facts, size_t n,
			 const char **name)
{
	for (size_t i = 0; i < when->n_facts; i++) {
		const struct fact_need *need = &when->facts[i];
		size_t j;

		for (j = 0; j < n && strcmp(facts[j].name, need->name); j++)
			;
		*name = need->name;
		if (j == n || facts[j].value < 0)
			return -1;
		if ((facts[j].value == 1) != need->value)
			return 0;
	}
	return 1;
}

/* Whether the fact at steps[step].when.facts[f] was named by an earlier step or item. */
static bool fact_named_before(const struct scenario *scenario, size_t step, size_t f)
{
	const char *name = scenario->steps[step].when.facts[f].name;

	for (size_t i = 0; i <= step; i++) {
		const struct condition *when = &scenario->steps[i].when;

		for (size_t g = 0; g < (i < step ? when->n_facts : f); g++)
			if (!strcmp(when->facts[g].name, name))
				return true;
	}
	return false;
}

size_t scenario_facts(const struct scenario *scenario, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < scenario->n_steps; i++) {
		const struct condition *when = &scenario->steps[i].when;

		for (size_t f = 0; f < when->n_facts; f++) {
			if (fact_named_before(scenario, i, f))
				continue;
			if (n < max)
				names[n] = when->facts[f].name;
			n++;
		}
	}
	return n;
}

static int find_variant(const struct scenario *scenario, const char *name, size_t len)
{
	for (size_t i = 0; i < scenario->n_variants; i++)
		if (strlen(scenario->variants[i]) == len &&
		    strncmp(scenario->variants[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* fact:NAME or !fact:NAME, text[0..len) at column: the step needs a probed kernel fact. */
static int parse_condition_fact(struct parser *p, const char *text, size_t len, int column,
				struct condition *when)
{
	bool value = text[0] != '!';
	size_t skip = value ? 5 : 6;
	const char *name = text + skip;
	size_t name_len = len - skip;
	struct fact_need *facts = (struct fact_need *)when->facts;

	if (p->scenario->is_fact)
		return error_at(p, column, text, (int)len, "no fact conditions in a fact");
	if (!is_name(name, name_len))
		return error_at(p, column + (int)skip, name, (int)name_len,
				"a fact's name of [a-z0-9][a-z0-9_.-]*");
	if (name_len >= SCENARIO_NAME_MAX)
		return error_at(p, column + (int)skip, name, (int)name_len,
				"a fact's name of at most %d characters", SCENARIO_NAME_MAX - 1);
	if (when->n_facts == CONDITION_FACTS_MAX)
		return error_at(p, column, text, (int)len, "at most %d facts in a condition",
				CONDITION_FACTS_MAX);
	for (size_t i = 0; i < when->n_facts; i++)
		if (strlen(facts[i].name) == name_len && !strncmp(facts[i].name, name, name_len))
			return error_at(p, column, text, (int)len, "each fact once");
	if (!facts) {
		facts = keep(p, CONDITION_FACTS_MAX * sizeof(*facts));
		if (!facts)
			return -1;
		when->facts = facts;
	}
	facts[when->n_facts].name = keep_text(p, name, name_len);
	if (!facts[when->n_facts].name)
		return -1;
	facts[when->n_facts++].value = value;
	return 0;
}

/* One item of a condition, text[0..len) of w at off: a variant, a kernel bound or a fact. */
static int parse_condition_item(struct parser *p, const struct word *w, size_t off,
				size_t len, struct condition *when)
{
	const char *text = w->text + off;
	int column = word_column(w, off);
	char version_text[32];
	uint32_t version;
	bool below;
	int variant;

	if (len == 0)
		return error_at(p, column, "nothing", -1,
				"a variant or kernel>=VERSION or kernel<VERSION");
	if ((len > 5 && strncmp(text, "fact:", 5) == 0) ||
	    (len > 6 && strncmp(text, "!fact:", 6) == 0))
		return parse_condition_fact(p, text, len, column, when);
	/* "kernel" followed by an operator; a variant may well be named kernel. */
	if (len > 6 && strncmp(text, "kernel", 6) == 0 &&
	    !isalnum((unsigned char)text[6]) && text[6] != '_' && text[6] != '-') {
		size_t op_len = strncmp(text + 6, ">=", 2) == 0 ? 2 : text[6] == '<' ? 1 : 0;
		size_t version_len = len - 6 - op_len;
		int version_column = column + 6 + (int)op_len;

		if (!op_len)
			return error_at(p, column, text, (int)len,
					"kernel>=VERSION or kernel<VERSION");
		below = op_len == 1;
		if ((below && when->kernel_below) || (!below && when->kernel_min))
			return error_at(p, column, text, (int)len, "each kernel bound once");
		if (version_len >= sizeof(version_text))
			version_len = sizeof(version_text) - 1;
		memcpy(version_text, text + 6 + op_len, version_len);
		version_text[version_len] = '\0';
		if (kernel_version_parse(version_text, &version))
			return error_at(p, version_column, version_len ? version_text : "nothing",
					-1, "a kernel version (A.B or A.B.C)");
		if (below)
			when->kernel_below = version;
		else
			when->kernel_min = version;
		return check_kernel_range(p, when->kernel_min, when->kernel_below, below,
					  version_column, version_text);
	}
	/* The family names come first: a variant cannot be named after one. */
	if ((len == 4 && strncmp(text, "ipv4", 4) == 0) || (len == 4 && strncmp(text, "ipv6", 4) == 0)) {
		unsigned family = text[3] == '4' ? FAMILY_IPV4 : FAMILY_IPV6;

		if (when->families)
			return error_at(p, column, text, (int)len, "one family");
		when->families = family;
		return 0;
	}
	variant = find_variant(p->scenario, text, len);
	if (variant < 0)
		return error_at(p, column, text, (int)len, "a variant declared by variant");
	if (when->variants & (1u << variant))
		return error_at(p, column, text, (int)len, "each variant once");
	when->variants |= 1u << variant;
	return 0;
}

/* @item,item…: variants ORed, kernel bounds ANDed with them. */
int parse_condition(struct parser *p, const struct word *w, struct condition *when)
{
	size_t len = strlen(w->text);
	size_t start = 1;

	if (!is_plain(w))
		return error_word(p, w, "a condition without quotes");
	for (;;) {
		const char *comma = memchr(w->text + start, ',', len - start);
		size_t end = comma ? (size_t)(comma - w->text) : len;

		if (parse_condition_item(p, w, start, end - start, when))
			return -1;
		if (!comma)
			return 0;
		start = end + 1;
	}
}
