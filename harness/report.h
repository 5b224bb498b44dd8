/* report — write run results as KTAP (for machines) or readable text (for people). */
#ifndef CTLAB_REPORT_H
#define CTLAB_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "engine.h"

enum report_format { REPORT_KTAP, REPORT_TEXT };

struct report_totals {
	size_t passed, failed, skipped;
};

/* How the text format draws: ANSI colours, UTF-8 box drawing (else plain ASCII). */
struct report_style {
	bool color;
	bool unicode;
};

/*
 * The style that suits out: colour only on a terminal (and without NO_COLOR),
 * box drawing only on a terminal whose locale (LC_ALL, LC_CTYPE, LANG) is UTF-8.
 */
struct report_style report_style_detect(FILE *out);
/* Use style for the text format from now on (report_begin sets the detected one). */
void report_set_style(const struct report_style *style);

/* Header: "KTAP version 1" and the plan "1..N"; picks the text style for out. */
void report_begin(FILE *out, enum report_format format, size_t n_runs);
/* One run, numbered from 1; counts it into totals. */
void report_run(FILE *out, enum report_format format, size_t number,
		const struct run_result *result, struct report_totals *totals);
/* Closing line: "# totals: pass:P fail:F skip:S" or a text summary. */
void report_end(FILE *out, enum report_format format, const struct report_totals *totals);

/*
 * The ladder diagram of one run, as the text format prints it: a lifeline per
 * host, an arrow per observed packet with conntrack's verdict and reason beside
 * it, the scenario's steps and expectation results in between.
 */
void report_ladder(FILE *out, const struct run_result *result, const struct report_style *style);

/* One observed packet on one line: addresses, ports, flags, seq/ack, length,
 * verdict and reason. */
void report_packet(FILE *out, const struct observed *packet);

#endif
