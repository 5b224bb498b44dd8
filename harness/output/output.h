/* output — what a run means and how it is shown: RST chains, the ladder and
 * summaries, JSON and JUnit, the diff of two results.  Reads results, never
 * namespaces. */
#ifndef CTLAB_OUTPUT_H
#define CTLAB_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/engine.h"

/* ---- chain — the cause of every RST on the wire: the packet it answered, its verdict, the socket it reset. (chain.c) ---- */

/*
 * chain_locate - fill @chains (at most @max) for @result, one per RST as its
 * sender emitted it, in wire order.  Returns how many were filled.  Pure: reads
 * @result only.
 *
 * A RST is an outgoing TCP RST on the wire that its host did not forward (no
 * copy of it came in there first).  Copies of one packet are told by what NAT
 * leaves alone: the IPv4 ID or IPv6 flow label, seq, ack, flags, length and
 * at least one port.  The cause is the latest TCP packet that came in at the
 * RST's sender on the reversed 4-tuple and whose numbers the RST answers (its
 * ack as the RST's seq, or its end as the RST's ack).  Seq and ack in the text
 * are relative to the SYNs, as in the ladder, where those were seen.
 */
size_t chain_locate(const struct run_result *result, struct rst_chain *chains, size_t max);

/* chain_locate_run - every RST of @result's wire with its cause, into
 * result->chains (run_result_free frees them); none when memory runs out. */
void chain_locate_run(struct run_result *result);

/* ---- report — write run results as KTAP (for machines) or readable text (for people). (report.c) ---- */

enum report_format { REPORT_KTAP, REPORT_TEXT };

struct report_totals {
	size_t passed, failed, skipped;
};

/* How the text format draws: ANSI colours, UTF-8 box drawing (else plain ASCII). */
struct report_style {
	bool color;
	bool unicode;
	unsigned width;			/* columns to fit in (80 at least; 0: 80) */
};

/*
 * The style that suits out: colour only on a terminal (and without NO_COLOR),
 * box drawing only on a terminal whose locale (LC_ALL, LC_CTYPE, LANG) is UTF-8,
 * the terminal's width (else $COLUMNS, else 80; never under 80).
 */
struct report_style report_style_detect(FILE *out);

/* --color: auto (the rule above), always, never; for every style detected later. */
enum report_color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
void report_color_choose(enum report_color mode);
/* Use style for the text format from now on (report_begin sets the detected one). */
void report_set_style(const struct report_style *style);

/* Header: "KTAP version 1" and the plan "1..N"; for text, picks the style for out. */
void report_begin(FILE *out, enum report_format format, size_t n_runs);
/* One run, numbered from 1; counts it into totals. */
void report_run(FILE *out, enum report_format format, size_t number,
		const struct run_result *result, struct report_totals *totals);
/* Closing line: "# Totals: pass:P fail:F xfail:0 xpass:0 skip:S error:0", as
 * kselftest prints it, or a text summary. */
void report_end(FILE *out, enum report_format format, const struct report_totals *totals);

/*
 * The ladder diagram of one run, as the text format prints it: a lifeline per
 * host, an arrow per observed packet with conntrack's verdict and reason beside
 * it, the scenario's steps and expectation results in between.
 */
void report_ladder(FILE *out, const struct run_result *result, const struct report_style *style);
/* The ladder and, under it, each RST with its cause (what -v prints of a run). */
void report_story(FILE *out, const struct run_result *result, const struct report_style *style);

/* One observed packet on one line: addresses, ports, flags, seq/ack, length,
 * verdict and reason. */
void report_packet(FILE *out, const struct observed *packet);

/* The results.json version docs/results.schema.json describes (export and
 * merge write it); a change a reader would trip over (a field gone or
 * retyped) raises it. */
#define RESULTS_SCHEMA_VERSION	2

/* ---- export — write run results as JSON (every packet, verdict and reason) and JUnit XML. (export.c) ---- */

struct export;

/* What export_open writes; a NULL path: not that format. */
struct export_paths {
	const char *json;		/* "-": stdout, at export_close */
	const char *junit;
	const char *html;		/* the page of report_html */
	const char *pcap_dir;		/* the runs' pcapng files, which the page links to */
};

/* Open the outputs asked for; a NULL path means that format is not written.
 * Each is written whole at export_close through outfile (a symlink at a path
 * is refused, never followed). NULL with a message in err ("--json PATH: a
 * symlink: refusing to write through it") when a file cannot be created.
 * A json_path of "-" is stdout, written at export_close. */
struct export *export_open(const struct export_paths *paths, char *err, size_t errsize);

struct json_t;

/* A packet's headers as results.json names them: src, dst, then @from and @to
 * when given (taken over: the hosts of those addresses), protocol, length,
 * ports, TCP flags, seq, ack, window, ICMP type and code. NULL out of memory. */
struct json_t *packet_headers_json(const struct packet_summary *packet, struct json_t *from,
				   struct json_t *to);

/* Add one finished run. */
void export_run(struct export *export, const struct run_result *result);

/* Write the files, each renamed over its path when complete, and free
 * everything.  0, or -1 with a message on stderr (the path left as it was). */
int export_close(struct export *export);

/* ---- diff — compare two `ctlab run --json` results, e.g. before and after a kernel upgrade. (diff.c, diff_steps.c, diff_print.c) ---- */

enum diff_format { DIFF_TEXT, DIFF_JSON };

/*
 * diff_results - compare the runs of two results, each a results.json written
 * by `ctlab run --json` or a folder holding one.  Runs are matched by name;
 * for each run on both sides: its outcome, the conntrack settings, every step
 * (matched by kind, text and ordinal, not by line) with its expectation's
 * result and what it saw, every packet (matched by its step, direction and
 * flags: verdict, reason with its numbers as '#', length; or on one side
 * only), each connection's entry after each step (state, flags, and the
 * remaining time within max(2 s, 10 %)), and the RST chains.  Writes a
 * summary and the changes to out as text or JSON (docs/results.md).  Pure: it
 * reads the two files and nothing else.
 *
 * Returns 0 when nothing changed, 1 when something did, -1 with a message on
 * err when an input cannot be read, is not JSON (FILE:LINE:COLUMN: …) or is
 * not a ctlab result.
 */
int diff_results(const char *old_path, const char *new_path, enum diff_format format,
		 FILE *out, FILE *err);

/* ---- results files: reading them, and merging result folders. (diff.c, merge.c) ---- */

struct json_t;

/* A string member of a JSON object, or @fallback. (diff.c) */
const char *json_text(struct json_t *object, const char *key, const char *fallback);
/* An integer member of a JSON object, or @fallback. (diff_match.c) */
long long json_number(struct json_t *object, const char *key, long long fallback);

/* The first object of @array whose string @key is @value, or NULL. (diff.c) */
struct json_t *json_find(struct json_t *array, const char *key, const char *value);

/* A results.json, or a folder holding one, checked to be ctlab's; NULL after
 * saying on @err why not (FILE:LINE:COLUMN for bad JSON). Free with json_decref. */
struct json_t *results_load(const char *path, FILE *err);

/*
 * merge_results - join the result folders (or results.json files) @inputs
 * (shards of one run, runs on other kernels) into @out_dir: results.json with
 * every run, each keeping the kernel it ran on, in the order of the unsharded
 * run (per kernel, in the order given); junit.xml of the folders' junit.xml
 * suites; results.ktap made from the runs. A run in two inputs of one kernel
 * is an error. 0, or -1 after saying why on @err.
 */
int merge_results(const char *const *inputs, size_t n, const char *out_dir, FILE *err);

/* ---- html — results as one self-contained HTML page for people: a summary, and per run its story, topology and sequence diagram. (html.c) ---- */

/* Where the page finds the runs' pcapng files. */
struct html_links {
	const char *pcap_dir;		/* on disk, to see which exist; NULL: no links */
	const char *pcap_href;		/* the same folder as the page links it */
};

/*
 * report_html - @document (a results.json, one kernel's or merged) as an HTML
 * page on @out: no script, style or font from elsewhere.  A diagram draws at
 * most 400 hops (a captured flood's rest is in its pcapng).  0, or -1 when
 * memory ran out or @out failed.
 */
int report_html(struct json_t *document, FILE *out, const struct html_links *links);

/*
 * html_links_for - the links of a page at @html_path to @pcap_dir: the
 * folder's path relative to the page's where it is under it, else absolute.
 * Fills @links with @href (of @size) as its pcap_href; pcap_dir NULL: none.
 */
void html_links_for(const char *html_path, const char *pcap_dir, char *href, size_t size,
		    struct html_links *links);

#endif
