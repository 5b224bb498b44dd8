/* cli — what the commands share: exit codes, the usage error, finding and loading scenario files; the cmd_* functions main.c dispatches to. */
#ifndef CTLAB_CLI_H
#define CTLAB_CLI_H

#include "lang/lang.h"

/* kselftest exit codes */
enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SKIPPED = 4 };

#ifndef CTLAB_DATADIR
#define CTLAB_DATADIR "/usr/local/share/ctlab"
#endif

/* Which runs of a chosen scenario: a KTAP name (NAME/VARIANT/FAMILY) picks one. */
struct run_pick {
	unsigned variants;		/* bit i: scenario->variants[i]; 0: every variant */
	unsigned families;		/* FAMILY_IPV4 | FAMILY_IPV6; 0: every family */
};

struct scenario_list {
	size_t n, cap;
	struct scenario **items;
	struct run_pick *picks;		/* beside items, in a chosen list */
};

/* The top-level usage: ctlab help, ctlab --help, ctlab run --help. (main.c) */
extern const char usage_text[];

/* "ctlab: " and the message on stderr, with a pointer to --help; returns EXIT_USAGE. (common.c) */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct option;

/*
 * getopt_long for @command ("run", "diff"): options anywhere on the line,
 * among the names. Returns the option as getopt_long does, -1 at the end, or
 * -2 after printing the one usage error of a mistake (an unknown option, a
 * missing value): return EXIT_USAGE then. (common.c)
 */
int cli_getopt(const char *command, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* Scenarios and their files. (common.c) */
void free_scenarios(struct scenario_list *list);
/* The chosen list's own arrays (its scenarios belong to the list of all). */
void free_chosen(struct scenario_list *chosen);
int load_all(struct scenario_list *list);
int select_scenarios(int argc, char **argv, struct scenario_list *all,
		     struct scenario_list *chosen);

/* --ct-max N: 1024..16777216 entries. (common.c) */
bool ct_max_valid(const char *text);
/*
 * The host's net.netfilter.nf_conntrack_max and _buckets set to @ct_max for
 * this process: root only, the machine lock held (a changed global is every
 * run's world), the old values journaled first, so that every exit path and
 * the journal's guardian put them back (journal_restore_all, then close the
 * lock). Returns the lock's fd, or -EXIT_SKIPPED / -EXIT_FAILED once the
 * reason is on stderr. (common.c)
 */
int take_ct_max(const char *ct_max);

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
int cmd_merge(int argc, char **argv);	/* merge.c */
int cmd_vm(int argc, char **argv);	/* vm.c */
int cmd_report(int argc, char **argv);	/* report.c */
int cmd_replay(int argc, char **argv);	/* replay.c */
int cmd_diagnose(int argc, char **argv);	/* diagnose.c */

/* @reason as a scenario's expectation writes it, each run of digits as '#'
 * (diagnose groups reasons by it, replay --scenario expects it), cut to
 * @size. (common.c) */
void reason_pattern(const char *reason, char *out, size_t size);

struct json_t;

/* A document of its own @kind ("replay", "diagnose") begun with what every
 * ctlab document says first: tool, kind, schema_version, ctlab_version,
 * date, hostname, kernel. NULL out of memory. (common.c) */
struct json_t *document_new(const char *kind, int schema_version);

/* json_pretty - @document indented, as results.json is, then a newline: 0 or -1. (common.c) */
int json_pretty(struct json_t *document, FILE *out);

/*
 * @write(@document, stream) into @path, whole (through outfile: renamed over
 * @path when complete, a symlink there refused); @document is taken over
 * (NULL: out of memory). On failure "ctlab: @option @path: why" on stderr.
 * An exit status. (common.c)
 */
int write_document(const char *option, const char *path,
		   int (*write)(struct json_t *document, FILE *out), struct json_t *document);

/* The HTML page of @document, whose results.json or folder is @results (its
 * pcap/ is linked to), to @out_path or stdout (NULL); an exit status. (report.c) */
int html_page(struct json_t *document, const char *results, const char *out_path);

#endif
