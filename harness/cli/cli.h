/* cli — what the commands share: exit codes, the usage error, finding and loading scenario files; the cmd_* functions main.c dispatches to. */
#ifndef CTLAB_CLI_H
#define CTLAB_CLI_H

#include "lang/lang.h"

/* kselftest exit codes */
enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SKIPPED = 4 };

#ifndef CTLAB_DATADIR
#define CTLAB_DATADIR "/usr/local/share/ctlab"
#endif

struct scenario_list {
	size_t n, cap;
	struct scenario **items;
};

/* The top-level usage: ctlab help, ctlab --help, ctlab run --help. (main.c) */
extern const char usage_text[];

/* "ctlab: " and the message on stderr, with a pointer to --help; returns EXIT_USAGE. (common.c) */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Scenarios and their files. (common.c) */
void free_scenarios(struct scenario_list *list);
int load_all(struct scenario_list *list);
int select_scenarios(int argc, char **argv, struct scenario_list *all,
		     struct scenario_list *chosen);

struct engine_options;
struct fact_value;

/*
 * The facts the @fact: conditions of @chosen name, each probed once (its fact
 * scenario in @all run with @options): *@values (free it), *@n of them.
 * 0, or -1 after saying on stderr which fact no file declares. (facts.c)
 */
int probe_facts(const struct scenario_list *all, const struct scenario_list *chosen,
		const struct engine_options *options, struct fact_value **values, size_t *n);

/* The commands: argv[0] is the command's name. */
int cmd_run(int argc, char **argv);	/* run.c */
int cmd_list(int argc, char **argv);	/* list.c */
int cmd_show(int argc, char **argv);	/* show.c */
int cmd_clean(int argc, char **argv);	/* clean.c */
int cmd_diff(int argc, char **argv);	/* diff.c */
int cmd_vm(int argc, char **argv);	/* vm.c */

#endif
