/* diff — compare two `ctlab run --json` results, e.g. before and after a kernel upgrade. */
#ifndef CTLAB_DIFF_H
#define CTLAB_DIFF_H

#include <stdio.h>

/*
 * Compare the runs of two JSON result files: for every run in both, the outcome,
 * and for every step that sent a packet, the verdict and reason conntrack gave
 * it.  Writes one line per difference to out.  Returns the number of
 * differences, or -1 with a message on stderr when a file cannot be read.
 */
int diff_results(const char *old_path, const char *new_path, FILE *out);

#endif
