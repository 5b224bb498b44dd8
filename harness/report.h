/* report — write run results as KTAP (for machines) or readable text (for people). */
#ifndef CTLAB_REPORT_H
#define CTLAB_REPORT_H

#include <stdio.h>

#include "engine.h"

enum report_format { REPORT_KTAP, REPORT_TEXT };

struct report_totals {
	size_t passed, failed, skipped;
};

/* Header: "KTAP version 1" and the plan "1..N". */
void report_begin(FILE *out, enum report_format format, size_t n_runs);
/* One run, numbered from 1; counts it into totals. */
void report_run(FILE *out, enum report_format format, size_t number,
		const struct run_result *result, struct report_totals *totals);
/* Closing line: "# totals: pass:P fail:F skip:S" or a text summary. */
void report_end(FILE *out, enum report_format format, const struct report_totals *totals);

/* One observed packet on one line: addresses, ports, flags, seq/ack, length,
 * verdict and reason. */
void report_packet(FILE *out, const struct observed *packet);

#endif
