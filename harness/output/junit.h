/* junit — the runs as JUnit XML, one <testsuite> per scenario, as CI reporters read it (Jenkins xunit's junit-10.xsd, GitLab, GitHub): private to output. */
#ifndef CTLAB_JUNIT_H
#define CTLAB_JUNIT_H

#include <stddef.h>
#include <stdio.h>

#include "output/output.h"

struct junit;

/* A document to add runs to; NULL when memory runs out. */
struct junit *junit_new(void);
/* One run; consecutive runs of a scenario make its suite. */
void junit_add(struct junit *junit, const struct run_result *result);
/* The whole document to @out; 0, or -1 when memory ran out on the way. Frees @junit. */
int junit_finish(struct junit *junit, FILE *out);
void junit_free(struct junit *junit);

#endif
