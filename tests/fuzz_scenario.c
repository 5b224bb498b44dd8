/* fuzz_scenario.c — libFuzzer target for the scenario parser and the reason matcher. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parse that fails must say why, and say it about this file: the engine
 * prints err as is, so an empty or unterminated message is a bug. */
static void check_error(const char *err, size_t errsize)
{
	if (!memchr(err, '\0', errsize) || strncmp(err, "fuzz.ct:", 8) != 0)
		abort();
}

/* The engine indexes scenario->conns with these without checking again. */
static void check_conn(const struct scenario *scenario, int conn)
{
	if (conn != -1 && conn != CONN_LAST && (conn < 0 || (size_t)conn >= scenario->n_conns))
		abort();
}

static void check_expr(const struct scenario *scenario, const struct expr *expr)
{
	if (expr->n_terms > EXPR_TERMS_MAX)
		abort();
	for (size_t i = 0; i < expr->n_terms; i++)
		if (expr->terms[i].is_conn)
			check_conn(scenario, expr->terms[i].conn);
}

/* strlen() reads each text to its NUL, so ASan reports one that has none. */
static size_t check_step(const struct scenario *scenario, const struct step *step,
			 const char *reason)
{
	struct observation seen = { .reason = reason, .entry.found = true };
	size_t n = strlen(step->text);
	char msg[2 * SCENARIO_TEXT_MAX];

	switch (step->kind) {
	case STEP_SYSCTL:
		n += strlen(step->sysctl.host) + strlen(step->sysctl.key) +
		     strlen(step->sysctl.value);
		break;
	case STEP_NFT:
		n += strlen(step->nft.host) + strlen(step->nft.ruleset);
		break;
	case STEP_CONNECT:
		check_conn(scenario, step->connect.conn);
		n += strlen(step->connect.client) + strlen(step->connect.server);
		break;
	case STEP_SEND:
		check_conn(scenario, step->send.conn);
		for (size_t i = 0; i < SEND_FIELD_COUNT; i++)
			check_expr(scenario, &step->send.fields[i]);
		n += strlen(step->send.src) + strlen(step->send.dst);
		break;
	case STEP_SOCKET:
		check_conn(scenario, step->socket.endpoint.conn);
		break;
	case STEP_CT:
		check_conn(scenario, step->ct.conn);
		n += strlen(step->ct.host);
		break;
	case STEP_EXPECT:
		check_conn(scenario, step->expect.conn);
		check_conn(scenario, step->expect.endpoint.conn);
		check_expr(scenario, &step->expect.packet.seq);
		check_expr(scenario, &step->expect.packet.ack);
		n += strlen(step->expect.reason) + strlen(step->expect.counter) +
		     strlen(step->expect.packet.reason);
		/* A parsed pattern against the input's reason text, and the
		 * failure message the engine would print. */
		n += reason_matches(step->expect.reason, reason);
		if (!expect_check(&step->expect, &seen, msg, sizeof(msg)))
			n += strlen(msg);
		break;
	default:
		break;
	}
	return n;
}

static void check_scenario(const struct scenario *scenario, const char *reason)
{
	static const uint32_t kernels[] = { 0, CTLAB_KERNEL_VERSION(5, 10, 0),
					    CTLAB_KERNEL_VERSION(6, 1, 0) };
	volatile size_t n;

	if (scenario->n_conns > SCENARIO_CONNS_MAX || scenario->n_variants > SCENARIO_VARIANTS_MAX ||
	    (scenario->n_steps && !scenario->steps))
		abort();
	n = strlen(scenario->path) + strlen(scenario->name) + strlen(scenario->about) +
	    strlen(scenario->topology);
	for (size_t i = 0; i < scenario->n_variants; i++)
		n += strlen(scenario->variants[i]);
	for (size_t i = 0; i < scenario->n_conns; i++)
		n += strlen(scenario->conns[i]);
	for (size_t i = 0; i < scenario->n_steps; i++) {
		const struct step *step = &scenario->steps[i];

		n += check_step(scenario, step, reason);
		/* Every run the engine could make of this step: -1 is "no variants". */
		for (int v = -1; v < (int)scenario->n_variants; v++)
			for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++)
				n += condition_holds(&step->when, v, FAMILY_IPV4, kernels[k]) +
				     condition_holds(&step->when, v, FAMILY_IPV6, kernels[k]);
	}
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const uint8_t *cut = memchr(data, '\n', size);
	const uint8_t *nul = memchr(data, '\0', size);
	struct scenario *scenario;
	char err[512];
	size_t split;
	char *pattern;

	/* Split at the first NUL or newline into "pattern\0reason\0": any bytes
	 * reach the matcher, and check_scenario() matches each pattern the parser
	 * read against the same reason. */
	if (!cut || (nul && nul < cut))
		cut = nul;
	split = cut ? (size_t)(cut - data) : size;
	pattern = malloc(size + 2);
	if (!pattern)
		return 0;
	memcpy(pattern, data, size);
	pattern[split] = '\0';
	pattern[size] = '\0';
	pattern[size + 1] = '\0';
	reason_matches(pattern, pattern + split + 1);

	/* The exact bytes, unterminated, as scenario_parse_file hands them over:
	 * ASan catches a read past the end. */
	scenario = scenario_parse_buffer(text, size, "fuzz.ct", err, sizeof(err));
	if (scenario) {
		check_scenario(scenario, pattern + split + 1);
		scenario_free(scenario);
	} else {
		check_error(err, sizeof(err));
	}
	free(pattern);
	return 0;
}
