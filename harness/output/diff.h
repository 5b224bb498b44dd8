/* diff — the private parts of comparing two results: what one change is, the
 * list they are gathered in, and the comparisons of one run (diff_run.c),
 * its steps and packets (diff_steps.c) and the printing (diff_print.c). */
#ifndef CTLAB_OUTPUT_DIFF_H
#define CTLAB_OUTPUT_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* What changed, as the summary counts it ("2 verdicts, 1 missing packet"). */
enum change_kind {
	CHANGE_RUN_ADDED,
	CHANGE_RUN_REMOVED,
	CHANGE_OUTCOME,
	CHANGE_SETTING,
	CHANGE_STEP,			/* a step only on one side, or run on one only */
	CHANGE_VERDICT,
	CHANGE_REASON,
	CHANGE_LENGTH,
	CHANGE_MISSING_PACKET,		/* in OLD, not in NEW */
	CHANGE_NEW_PACKET,		/* in NEW, not in OLD */
	CHANGE_RESULT,			/* an expectation (or action) passed on one side only */
	CHANGE_OBSERVED,		/* what an expectation saw */
	CHANGE_ENTRY_STATE,		/* a connection's entry after a step: found, state, flags */
	CHANGE_ENTRY_TIMEOUT,		/* beyond the tolerance */
	CHANGE_CHAIN,			/* a RST chain: its cause, who it reset; or one side only */
	CHANGE_FACT,			/* a probed kernel fact a run's conditions name */
	CHANGE_KIND_COUNT
};

#define DIFF_WHERE_MAX	1200
#define DIFF_VALUE_MAX	640

/* One change.  A change with a label is "SUBJECT: LABEL OLD -> NEW"; one
 * without is the sentence in old_value (a packet or a step on one side). */
struct change {
	enum change_kind kind;
	char run[200];			/* "syn-rst/ipv4" */
	char where[DIFF_WHERE_MAX];	/* "FILE:LINE: STEP TEXT", "" for the run itself */
	char step[DIFF_WHERE_MAX];	/* the step's text alone, "" for the run itself */
	int old_line, new_line;		/* of the step on each side, 0 if not there */
	char subject[300];		/* "crafted SR client -> server", "entry c" */
	const char *label;		/* "verdict", "reason", ...; NULL: a sentence */
	char old_value[DIFF_VALUE_MAX];
	char new_value[DIFF_VALUE_MAX];
};

struct diff {
	struct change *changes;
	size_t n, cap;
	/* Not counted as changes: a kernel socket's lone ACK on one side only
	 * (a delayed ACK comes or not with timing) and the entry states after it. */
	size_t timing_acks, timing_entries;
	/* Nor how a kernel socket cut the same bytes into segments (GSO, cwnd,
	 * autocorking): data packets of a step whose totals agree. */
	size_t timing_segments;
	/* Nor the packets a wait step sent as long as it waited (a UDP flow kept
	 * busy until its entry is ASSURED): how many is timing. */
	size_t timing_waits;
	/* Nor a retransmission on one side only: its timer fires or the step
	 * ends first. */
	size_t timing_retransmits;
	bool out_of_memory;
};

/* The names the summary and --json give each kind. */
const char *change_kind_key(enum change_kind kind);	/* "missing_packet" */
const char *change_kind_words(enum change_kind kind, size_t n);	/* "missing packet(s)" */

/* Append a change (printf-style sentence or values); on no memory, notes it. */
struct change *diff_add(struct diff *diff, enum change_kind kind, const char *run);
void change_values(struct change *change, const char *label, const char *old_value,
		   const char *new_value);


/* text with each decimal number replaced by '#' (as reason patterns match). */
void normalize_numbers(const char *text, char *out, size_t size);

/* Two remaining times in seconds differ by more than max(2 s, 10 %). */
bool timeouts_differ(long long a, long long b);

/* ---- One run's steps and packets, lined up (diff_match.c) ---- */

struct side_step {
	json_t *json;
	const char *kind;
	char text[DIFF_WHERE_MAX];	/* blanks collapsed */
	size_t ordinal;			/* among steps of this kind and text */
	int line;
	long first, end, sent;		/* 1-based packet numbers: [first, end), sent or 0 */
	bool skipped;
	long match;			/* the step on the other side, -1 none */
};

struct side_packet {
	json_t *json;
	long step;			/* index into steps; n_steps: after the last */
	char from_to[120];		/* "client -> server" */
	char flags[40];			/* "SA", "UDP", "ICMP 3/3" */
	char role[16];			/* "crafted", "reply", "packet" */
	bool retransmit;		/* a kernel socket's segment again: same way, flags, seq, length */
	size_t ordinal;			/* among the step's of its kind, retransmissions apart */
	long match;
};

struct side {
	json_t *run;
	const char *file;
	size_t n_steps;
	struct side_step *steps;
	size_t n_packets;
	struct side_packet *packets;
};

/* Read a run's steps and packets (side_free them); -1 when memory runs out. */
int side_read(struct side *side, json_t *run);
void side_free(struct side *side);
/* Pair the steps, then the packets, of old_side and new_side (their match). */
void match_steps(struct side *old_side, struct side *new_side);
void match_packets(struct side *old_side, struct side *new_side);
/* The new step an old packet's step lines up with (n_steps: after the last), -1 none. */
long new_step_of(const struct side *old_side, const struct side *new_side, long step);

/* Compare the steps of one run present on both sides: their packets,
 * expectations and entries (diff_steps.c). */
void diff_steps(struct diff *diff, const char *run, json_t *old_run, json_t *new_run);

/* Every change, grouped by run and step, after a summary (diff_print.c). */
void diff_print_text(const struct diff *diff, size_t n_runs, size_t changed_runs,
		     json_t *old_root, json_t *new_root, const char *old_path,
		     const char *new_path, FILE *out);
int diff_print_json(const struct diff *diff, size_t n_runs, size_t changed_runs,
		    json_t *old_root, json_t *new_root, const char *old_path,
		    const char *new_path, FILE *out);

/* "N verdicts, 1 reason, …" over every kind, "" when none. */
void diff_counts_text(const struct diff *diff, char *buf, size_t size);

#endif
