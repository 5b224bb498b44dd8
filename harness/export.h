/* export — write run results as JSON (every packet, verdict and reason) and JUnit XML. */
#ifndef CTLAB_EXPORT_H
#define CTLAB_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "engine.h"

struct export;

/* Open the outputs asked for; a NULL path means that format is not written.
 * Each is written whole at export_close through outfile (a symlink at a path
 * is refused, never followed). NULL with a message in err ("--json PATH: a
 * symlink: refusing to write through it") when a file cannot be created. */
struct export *export_open(const char *json_path, const char *junit_path, char *err,
			   size_t errsize);

/* Add one finished run. */
void export_run(struct export *export, const struct run_result *result);

/* Write the files, each renamed over its path when complete, and free
 * everything.  0, or -1 with a message on stderr (the path left as it was). */
int export_close(struct export *export);

#endif
