#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

void report_begin(FILE *out, enum report_format format, size_t n_runs)
{
	if (format == REPORT_KTAP)
		fprintf(out, "KTAP version 1\n1..%zu\n", n_runs);
}

void report_packet(FILE *out, const struct observed *observed)
{
	const struct packet_summary *packet = &observed->packet;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[16];

	inet_ntop(packet->family, &packet->src, src, sizeof(src));
	inet_ntop(packet->family, &packet->dst, dst, sizeof(dst));
	fprintf(out, "      #%-3zu %s:%u > %s:%u %-3s seq %u ack %u win %u len %zu  %s",
		observed->index + 1, src, packet->sport, dst, packet->dport,
		tcp_flags_format(packet->flags, flags), packet->seq, packet->ack, packet->window,
		packet->payload_len, verdict_name(observed->verdict));
	if (observed->has_reason)
		fprintf(out, " \"%s\"", observed->reason);
	fputc('\n', out);
}

static void report_text_run(FILE *out, const struct run_result *result)
{
	size_t i, p;

	fprintf(out, "%s  (%s)\n", result->name, result->scenario->path);
	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];
		bool is_expect = step->step->kind == STEP_EXPECT;

		fprintf(out, "  %s:%d  %s", result->scenario->path, step->step->pos.line,
			step->step->text);
		if (!step->passed)
			fprintf(out, "\n      FAIL: %s\n", step->message);
		else if (is_expect)
			fprintf(out, "  ok\n");
		else if (step->message[0])
			fprintf(out, "  (%s)\n", step->message);
		else
			fputc('\n', out);
		for (p = step->first_packet; p < step->end_packet && p < result->n_packets; p++)
			report_packet(out, &result->packets[p]);
		if (step->step->kind == STEP_SEND && step->sent_packet < 0)
			fprintf(out, "      no verdict seen for the packet sent\n");
	}
	switch (result->outcome) {
	case OUTCOME_PASS:
		fprintf(out, "PASS %s (%.3f s)\n\n", result->name, result->seconds);
		break;
	case OUTCOME_FAIL:
		fprintf(out, "FAIL %s: %zu failed (%.3f s)\n  %s\n\n", result->name,
			result->failures, result->seconds, result->reason);
		break;
	case OUTCOME_SKIP:
		fprintf(out, "SKIP %s: %s\n\n", result->name, result->reason);
		break;
	}
}

/* Every failed step of a run as a KTAP diagnostic line, file:line:column first. */
static void report_ktap_failures(FILE *out, const struct run_result *result)
{
	size_t i;

	if (result->n_steps == 0 && result->reason[0])
		fprintf(out, "# %s\n", result->reason);
	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		if (step->passed)
			continue;
		fprintf(out, "# %s:%d:%d: %s: %s\n", result->scenario->path, step->step->pos.line,
			step->step->pos.column, step->step->text, step->message);
	}
}

void report_run(FILE *out, enum report_format format, size_t number,
		const struct run_result *result, struct report_totals *totals)
{
	switch (result->outcome) {
	case OUTCOME_PASS:
		totals->passed++;
		break;
	case OUTCOME_FAIL:
		totals->failed++;
		break;
	case OUTCOME_SKIP:
		totals->skipped++;
		break;
	}
	if (format == REPORT_TEXT) {
		report_text_run(out, result);
		return;
	}
	if (result->outcome == OUTCOME_FAIL)
		report_ktap_failures(out, result);
	if (result->outcome == OUTCOME_SKIP)
		fprintf(out, "ok %zu %s # SKIP %s\n", number, result->name, result->reason);
	else
		fprintf(out, "%s %zu %s\n", result->outcome == OUTCOME_PASS ? "ok" : "not ok",
			number, result->name);
	fflush(out);
}

void report_end(FILE *out, enum report_format format, const struct report_totals *totals)
{
	if (format == REPORT_KTAP)
		fprintf(out, "# totals: pass:%zu fail:%zu skip:%zu\n", totals->passed,
			totals->failed, totals->skipped);
	else
		fprintf(out, "%zu passed, %zu failed, %zu skipped\n", totals->passed,
			totals->failed, totals->skipped);
}
