// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/output's diff: pairs of small hand-written results, the
 * same but for one thing, must differ by that thing alone, named in the
 * output with its old and new value (so that a comparison left out fails
 * its test, not only the exit status); what changes between any two runs
 * (numbers in reasons, seq, ports, a timeout ticking, lines of an edited
 * scenario, a delayed ACK) must not count.  Pure: files in a temporary folder.
 */

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "output/output.h"
#include "suite.h"

static char dir[] = "/tmp/ctlab-diff-XXXXXX";

/* What a result says, field by field; doc_default() is one run of scenario t. */
struct doc {
	unsigned bound;			/* the number in the crafted packet's reason */
	const char *reason;		/* its text before the number */
	bool reply;			/* the server's RST answer is there */
	const char *reply_verdict;
	const char *reply_flags;
	unsigned seq;			/* of the crafted packet */
	int timeout;			/* the entry's, seen by expect ct and after each step */
	const char *state;		/* the entry's after the send step and the next */
	const char *send_state;		/* if set, the entry's after the send step only */
	const char *mid_state;		/* if set, the entry's after the step after it */
	int send_timeout;		/* the entry's after the send step and the next */
	const char *loose;		/* nf_conntrack_tcp_loose */
	const char *fact;	/* the run's facts member: {"answers-ack": fact}; NULL none */
	bool expect_passed;
	bool run_u;			/* a second run, of scenario u */
	int line_shift;			/* lines added above the steps */
	const char *connect_text;
	bool lone_ack;			/* a delayed ACK of the client alone in the connect */
	const char *chain_verdict;	/* a RST chain's cause verdict, NULL: no chain */
	const char *extra;		/* packets after the last step's (JSON objects), NULL none */
};

static struct doc doc_default(void)
{
	return (struct doc){ .bound = 1234, .reason = "SEQ is over upper bound ",
			     .reply = true, .reply_verdict = "invalid", .reply_flags = "R",
			     .seq = 1000, .timeout = 300, .state = "ESTABLISHED",
			     .send_timeout = 432000, .loose = "1",
			     .expect_passed = true, .connect_text = "connect  c client -> server:80" };
}

static const char *entries(const struct doc *d, const char *state, int timeout)
{
	static char text[4][300];
	static int next;
	char *buf = text[next++ % 4];

	snprintf(buf, sizeof(text[0]), "[{\"conn\": \"c\", \"found\": true, \"state\": \"%s\", "
		 "\"assured\": true, \"seen_reply\": true, \"timeout\": %d}]", state, timeout);
	(void)d;
	return buf;
}

/* Write d as a results.json at path. */
static void write_doc(const char *path, const struct doc *d)
{
	char reason[200];
	int base = 3 + d->line_shift, n = d->lone_ack ? 1 : 0;
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	snprintf(reason, sizeof(reason), "%s%u (over the window)", d->reason, d->bound);
	fprintf(f, "{\"tool\": \"ctlab\", \"kernel\": \"6.1.0\", \"machine\": \"x86_64\", \"runs\": [\n"
		"{\"name\": \"t/ipv4\", \"scenario\": \"t\", \"file\": \"t.ct\", \"family\": \"ipv4\",\n"
		" \"outcome\": \"%s\", \"seconds\": 0.%u, \"variant\": null,\n"
		" \"hosts\": [{\"name\": \"client\", \"addr\": \"198.18.0.1\", \"observing\": false},\n"
		"           {\"name\": \"server\", \"addr\": \"198.18.0.2\", \"observing\": true}],\n",
		d->expect_passed ? "pass" : "fail", d->seq);
	fprintf(f, " \"steps\": [\n"
		"  {\"line\": %d, \"column\": 1, \"kind\": \"connect\", \"text\": \"%s\", \"skipped\": false,"
		"   \"passed\": true, \"first_packet\": 1, \"end_packet\": %d, \"message\": \"198.18.0.1:%u -> 198.18.0.2:80\","
		"   \"entries\": %s},\n",
		base, d->connect_text, 4 + n, 30000 + d->seq, entries(d, "ESTABLISHED", 432000));
	fprintf(f, "  {\"line\": %d, \"column\": 1, \"kind\": \"send\", \"text\": \"send client -> server tcp conn=c flags=PA len=100\","
		"   \"skipped\": false, \"passed\": true, \"first_packet\": %d, \"end_packet\": %d, \"sent_packet\": %d,"
		"   \"entries\": %s},\n",
		base + 1, 4 + n, (d->reply ? 6 : 5) + n, 4 + n,
		entries(d, d->send_state ? d->send_state : d->state, d->send_timeout));
	fprintf(f, "  {\"line\": %d, \"column\": 1, \"kind\": \"expect\", \"text\": \"expect verdict invalid reason \\\"SEQ is over upper bound #\\\"\","
		"   \"skipped\": false, \"passed\": true, \"first_packet\": %d, \"end_packet\": %d,"
		"   \"observed\": \"verdict invalid reason \\\"%s\\\"\", \"entries\": %s},\n",
		base + 2, (d->reply ? 6 : 5) + n, (d->reply ? 6 : 5) + n, reason,
		entries(d, d->mid_state ? d->mid_state : d->state, d->send_timeout));
	fprintf(f, "  {\"line\": %d, \"column\": 1, \"kind\": \"expect\", \"text\": \"expect ct c state ESTABLISHED\","
		"   \"skipped\": false, \"passed\": %s, \"first_packet\": %d, \"end_packet\": %d,%s"
		"   \"observed\": \"entry %s ASSURED SEEN_REPLY timeout %d s\", \"entries\": %s}\n"
		" ],\n",
		base + 3, d->expect_passed ? "true" : "false", (d->reply ? 6 : 5) + n,
		(d->reply ? 6 : 5) + n,
		d->expect_passed ? "" : " \"message\": \"expected state ESTABLISHED, saw CLOSE\",",
		d->state, d->timeout, entries(d, d->state, d->timeout));
	fprintf(f, " \"packets\": [\n"
		"  {\"index\": 1, \"direction\": \"in\", \"src\": \"198.18.0.1\", \"dst\": \"198.18.0.2\", \"protocol\": \"tcp\","
		"   \"length\": 0, \"sport\": %u, \"dport\": 80, \"flags\": \"S\", \"seq\": %u, \"ack\": 0, \"window\": 64240,"
		"   \"verdict\": \"new\", \"reason\": null},\n"
		"  {\"index\": 2, \"direction\": \"out\", \"src\": \"198.18.0.2\", \"dst\": \"198.18.0.1\", \"protocol\": \"tcp\","
		"   \"length\": 0, \"sport\": 80, \"dport\": %u, \"flags\": \"SA\", \"seq\": 77, \"ack\": %u, \"window\": 65160,"
		"   \"verdict\": \"established\", \"reason\": null},\n"
		"  {\"index\": 3, \"direction\": \"in\", \"src\": \"198.18.0.1\", \"dst\": \"198.18.0.2\", \"protocol\": \"tcp\","
		"   \"length\": 0, \"sport\": %u, \"dport\": 80, \"flags\": \"A\", \"seq\": %u, \"ack\": 78, \"window\": 63,"
		"   \"verdict\": \"established\", \"reason\": null},\n",
		30000 + d->seq, d->seq, 30000 + d->seq, d->seq + 1, 30000 + d->seq, d->seq + 1);
	if (d->lone_ack)
		fprintf(f, "  {\"index\": 4, \"direction\": \"in\", \"src\": \"198.18.0.1\", \"dst\": \"198.18.0.2\","
			"   \"protocol\": \"tcp\", \"length\": 0, \"flags\": \"A\", \"verdict\": \"established\", \"reason\": null},\n");
	fprintf(f, "  {\"index\": %d, \"direction\": \"in\", \"src\": \"198.18.0.1\", \"dst\": \"198.18.0.2\", \"protocol\": \"tcp\","
		"   \"length\": 100, \"flags\": \"PA\", \"seq\": %u, \"verdict\": \"invalid\", \"reason\": \"%s\"}%s\n",
		4 + n, d->seq + 1000000, reason, d->reply ? "," : "");
	if (d->reply)
		fprintf(f, "  {\"index\": %d, \"direction\": \"out\", \"src\": \"198.18.0.2\", \"dst\": \"198.18.0.1\","
			"   \"protocol\": \"tcp\", \"length\": 0, \"flags\": \"%s\", \"seq\": 78, \"verdict\": \"%s\", \"reason\": null}\n",
			5 + n, d->reply_flags, d->reply_verdict);
	if (d->extra)
		fprintf(f, ",\n  %s\n", d->extra);
	fprintf(f, " ],\n \"chains\": [");
	if (d->chain_verdict)
		fprintf(f, "{\"text\": \"RST\", \"rst_sender\": \"server\", \"rst_receiver\": \"client\","
			" \"cause_sender\": \"client\", \"cause_packet\": 4, \"cause_verdict\": \"%s\","
			" \"cause_reason\": \"SEQ %u\", \"judged_at\": \"server\", \"reset\": \"c.client\","
			" \"reset_error\": \"ECONNRESET\"}", d->chain_verdict, d->bound);
	fprintf(f, "],\n \"sysctls\": {\"net.netfilter.nf_conntrack_tcp_loose\": \"%s\","
		" \"net.netfilter.nf_conntrack_max\": \"262144\"}", d->loose);
	if (d->fact)
		fprintf(f, ",\n \"facts\": {\"answers-ack\": \"%s\"}", d->fact);
	fprintf(f, "}");
	if (d->run_u)
		fprintf(f, ",\n{\"name\": \"u/ipv4\", \"scenario\": \"u\", \"file\": \"u.ct\", \"family\": \"ipv4\","
			" \"outcome\": \"pass\", \"variant\": null, \"hosts\": [], \"steps\": [], \"packets\": [],"
			" \"chains\": [], \"sysctls\": {}}");
	fprintf(f, "\n]}\n");
	fclose(f);
}

struct diff_outcome {
	int rc;
	char out[16384];
	char err[2048];
};

static char old_path[300], new_path[300];

static void run_diff(const struct doc *old_doc, const struct doc *new_doc, enum diff_format format,
		     struct diff_outcome *result)
{
	FILE *out = fmemopen(result->out, sizeof(result->out), "w");
	FILE *err = fmemopen(result->err, sizeof(result->err), "w");

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	memset(result->out, 0, sizeof(result->out));
	memset(result->err, 0, sizeof(result->err));
	if (old_doc)
		write_doc(old_path, old_doc);
	if (new_doc)
		write_doc(new_path, new_doc);
	result->rc = diff_results(old_path, new_path, format, out, err);
	fclose(out);
	fclose(err);
}

static void setup(void)
{
	strcpy(dir, "/tmp/ctlab-diff-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(old_path, sizeof(old_path), "%s/old.json", dir);
	snprintf(new_path, sizeof(new_path), "%s/new.json", dir);
}

static void teardown(void)
{
	char command[400];

	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(command), 0);
}

#define assert_has(r, text) ck_assert_msg(strstr((r)->out, text), "no \"%s\" in:\n%s", text, (r)->out)

/* The summary line, and that the output names no other change. */
static void assert_only(const struct diff_outcome *r, const char *summary)
{
	size_t len = strcspn(r->out, "\n");

	ck_assert_int_eq(r->rc, 1);
	ck_assert_msg(strlen(summary) == len && strncmp(r->out, summary, len) == 0,
		      "summary: want \"%s\" in:\n%s", summary, r->out);
}

START_TEST(test_identical)
{
	struct doc d = doc_default();
	struct diff_outcome r;

	run_diff(&d, &d, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	ck_assert_msg(strncmp(r.out, "0 of 1 run changed: no behavioural change\n", 42) == 0, "%s",
		      r.out);
}
END_TEST

/* Numbers in reasons, seq, ports, times, a timeout ticking, lines moved by
 * an edit above, blanks in a step's text, a delayed ACK alone. */
START_TEST(test_run_to_run_noise)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.bound = 987654321;
	b.seq = 4000;
	b.timeout = 295;
	b.line_shift = 7;
	b.connect_text = "connect c   client -> server:80";
	b.lone_ack = true;
	a.chain_verdict = b.chain_verdict = "invalid";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	assert_has(&r, "# not counted: 1 lone ACK of kernel sockets on one side only");
}
END_TEST

START_TEST(test_reason_changed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.reason = "SEQ is below lower bound ";
	b.bound = 99;
	run_diff(&a, &b, DIFF_TEXT, &r);
	/* The packet's reason, and what the expectation saw (its text changed too). */
	assert_only(&r, "1 of 1 run changed: 1 reason, 1 observed value");
	assert_has(&r, "t/ipv4: t.ct:4: send client -> server tcp conn=c flags=PA len=100\n"
		       "    crafted PA client -> server\n"
		       "        reason  SEQ is over upper bound 1234 (over the window) -> "
		       "SEQ is below lower bound 99 (over the window)\n");
	assert_has(&r, "        seen    verdict invalid reason \"SEQ is over upper bound 1234 (over "
		       "the window)\" -> verdict invalid reason \"SEQ is below lower bound 99");
}
END_TEST

START_TEST(test_reply_verdict_changed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.reply_verdict = "established";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 verdict");
	assert_has(&r, "    reply R server -> client\n        verdict invalid -> established\n");
}
END_TEST

START_TEST(test_packet_missing)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.reply = false;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 missing packet");
	assert_has(&r, "    missing: reply R server -> client after step `send client -> server tcp "
		       "conn=c flags=PA len=100` (invalid)\n");
	run_diff(&b, &a, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 new packet");
	assert_has(&r, "    new: reply R server -> client after step `send");
	/* Flags are part of a packet's name: a RST that became an ACK is one
	 * missing and one new, not silence. */
	b = doc_default();
	b.reply_flags = "RA";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 missing packet, 1 new packet");
}
END_TEST

/* A kernel socket's data segment after the steps, and its retransmission on
 * one side only: a timer's, not counted. New data there instead is. */
#define KERNEL_DATA(seq) \
	"{\"index\": 9, \"direction\": \"in\", \"src\": \"198.18.0.1\", \"dst\": \"198.18.0.2\", " \
	"\"protocol\": \"tcp\", \"length\": 50, \"flags\": \"PA\", \"seq\": " #seq ", " \
	"\"verdict\": \"invalid\", \"reason\": null}"

START_TEST(test_retransmission)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	a.extra = KERNEL_DATA(5000);
	b.extra = KERNEL_DATA(7000) ",\n" KERNEL_DATA(7000);
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	assert_has(&r, "# not counted: 1 retransmission on one side only");
	run_diff(&b, &a, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	/* The same segment twice on both sides: matched, nothing counted. */
	a.extra = b.extra;
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0 && !strstr(r.out, "retransmission"), "%s%s", r.out, r.err);
	/* The control: the second segment carries new data. */
	a.extra = KERNEL_DATA(5000);
	b.extra = KERNEL_DATA(7000) ",\n" KERNEL_DATA(7050);
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 new packet");
}
END_TEST

START_TEST(test_entry_timeout)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	a.timeout = 10;
	b.timeout = 300;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 entry timeout");
	assert_has(&r, "t/ipv4: t.ct:6: expect ct c state ESTABLISHED\n    expectation\n"
		       "        timeout 10 s -> 300 s\n");
}
END_TEST

/* The entry after a step that no expectation looks at. */
START_TEST(test_entry_timeout_after_step)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.send_timeout = 120;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 entry timeout");
	assert_has(&r, "t/ipv4: t.ct:4: send client -> server tcp conn=c flags=PA len=100\n"
		       "    entry c\n        timeout 432000 s -> 120 s\n");
}
END_TEST

START_TEST(test_timeout_tolerance)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	a.timeout = 10;
	b.timeout = 12;		/* within 2 s */
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s", r.out);
	a.timeout = 300;
	b.timeout = 271;	/* within 10 % */
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s", r.out);
	b.timeout = 269;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 entry timeout");
	assert_has(&r, "timeout 300 s -> 269 s");
}
END_TEST

START_TEST(test_entry_state_a_step_apart)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	/* The new side's kernel answered before the snapshot after the send, the
	 * old side's only after it: the same story, one step apart. */
	a.send_state = "FIN_WAIT";
	a.state = b.state = "CLOSE_WAIT";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	assert_has(&r, "0 of 1 run changed: no behavioural change\n");
	assert_has(&r, "and 1 entry state after them or a few steps apart (delayed-ACK timing)");
	run_diff(&b, &a, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);

	/* Two steps behind: the ACK came after the next step's snapshot too (a
	 * catalogue diff saw it after `shutdown c.server` and the `wait` after it). */
	a.mid_state = "FIN_WAIT";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	run_diff(&b, &a, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	/* Control: in a third state on the way, it is a change. */
	a.mid_state = "LAST_ACK";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, 1);
	a.mid_state = NULL;

	/* Control: different after the send and neither where the other goes next. */
	b.send_state = "LAST_ACK";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 entry state");
	/* Nor when they part ways after it. */
	b = doc_default();
	b.state = "CLOSE";
	b.send_state = "CLOSE_WAIT";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, 1);
}
END_TEST

START_TEST(test_entry_state)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.state = "CLOSE";
	b.expect_passed = false;
	run_diff(&a, &b, DIFF_TEXT, &r);
	/* Named where it begins (after the send), not again after each step;
	 * the expectation that looked at it failed, and saw it. */
	assert_only(&r, "1 of 1 run changed: 1 outcome, 1 expectation result, 1 observed value, "
			"1 entry state");
	assert_has(&r, "t/ipv4: outcome pass -> fail\n");
	assert_has(&r, "t/ipv4: t.ct:4: send client -> server tcp conn=c flags=PA len=100\n"
		       "    entry c\n"
		       "        state   ESTABLISHED ASSURED SEEN_REPLY -> CLOSE ASSURED SEEN_REPLY\n");
	assert_has(&r, "        result  passed -> failed: expected state ESTABLISHED, saw CLOSE\n");
}
END_TEST

START_TEST(test_runs_added_removed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.run_u = true;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 2 runs changed: 1 run added");
	assert_has(&r, "\nu/ipv4: only in NEW (scenario u is new)\n");
	run_diff(&b, &a, DIFF_TEXT, &r);
	assert_only(&r, "1 of 2 runs changed: 1 run removed");
	assert_has(&r, "\nu/ipv4: only in OLD (scenario u is gone)\n");
}
END_TEST

START_TEST(test_setting_changed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.loose = "0";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 setting");
	assert_has(&r, "\nt/ipv4: net.netfilter.nf_conntrack_tcp_loose 1 -> 0\n");
}
END_TEST

START_TEST(test_fact_changed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	a.fact = b.fact = "true";
	run_diff(&a, &b, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
	b.fact = "false";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 kernel fact");
	assert_has(&r, "\nt/ipv4: answers-ack true -> false\n");
	b.fact = NULL;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 kernel fact");
	assert_has(&r, "answers-ack true -> (absent)");
}
END_TEST

START_TEST(test_chain_changed)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	a.chain_verdict = "invalid";
	b.chain_verdict = "established";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 RST chain");
	assert_has(&r, "t/ipv4: RST server -> client: cause a packet from client, invalid \"SEQ #\" "
		       "at server -> a packet from client, established \"SEQ #\" at server\n");
	b.chain_verdict = NULL;
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 1 RST chain");
	assert_has(&r, "t/ipv4: missing: RST server -> client caused by a packet from client, "
		       "invalid \"SEQ #\" at server; it reset c.client (ECONNRESET)\n");
}
END_TEST

/* A scenario edited: a step added; the others still line up. */
START_TEST(test_step_added)
{
	struct doc a = doc_default(), b = doc_default();
	struct diff_outcome r;

	b.connect_text = "connect  c client -> server:81";
	run_diff(&a, &b, DIFF_TEXT, &r);
	assert_only(&r, "1 of 1 run changed: 2 steps");
	assert_has(&r, "    only in NEW: step `connect c client -> server:81` with packet S "
		       "client -> server, reply SA server -> client, packet A client -> server\n");
	assert_has(&r, "    only in OLD: step `connect c client -> server:80` with packet S");
}
END_TEST

START_TEST(test_json_output)
{
	struct doc a = doc_default(), b = doc_default();
	json_error_t error;
	struct diff_outcome r;
	json_t *root, *change;

	b.reply_verdict = "established";
	run_diff(&a, &b, DIFF_JSON, &r);
	ck_assert_int_eq(r.rc, 1);
	root = json_loads(r.out, 0, &error);
	ck_assert_msg(root, "%s: %s", error.text, r.out);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "runs")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "changed_runs")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(root, "counts"),
							    "verdict")), 1);
	change = json_array_get(json_object_get(root, "changes"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(change, "kind")), "verdict");
	ck_assert_str_eq(json_string_value(json_object_get(change, "subject")), "reply R server -> client");
	ck_assert_str_eq(json_string_value(json_object_get(change, "old")), "invalid");
	ck_assert_str_eq(json_string_value(json_object_get(change, "new")), "established");
	ck_assert_int_eq(json_integer_value(json_object_get(change, "new_line")), 4);
	json_decref(root);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_bad_input)
{
	struct doc d = doc_default();
	struct diff_outcome r;
	char want[400], folder[320];

	write_doc(old_path, &d);
	write_text(new_path, "{\n  \"tool\": \"ctlab\",\n  \"runs\": [\n  }\n");
	run_diff(NULL, NULL, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, -1);
	snprintf(want, sizeof(want), "ctlab: %s:4:3: ", new_path);
	ck_assert_msg(strncmp(r.err, want, strlen(want)) == 0, "want %s, got %s", want, r.err);
	ck_assert_str_eq(r.out, "");

	write_text(new_path, "{\"runs\": []}\n");
	run_diff(NULL, NULL, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_msg(strstr(r.err, ": not a ctlab result"), "%s", r.err);

	write_text(new_path, "{\"tool\": \"ctlab\", \"runs\": [{\"name\": 3}]}\n");
	run_diff(NULL, NULL, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_msg(strstr(r.err, ": run 1: expected an object with a name"), "%s", r.err);

	unlink(new_path);
	run_diff(NULL, NULL, DIFF_TEXT, &r);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_msg(strstr(r.err, new_path), "%s", r.err);

	/* A folder holding results.json is read as that file. */
	snprintf(folder, sizeof(folder), "%s/run", dir);
	ck_assert_int_eq(mkdir(folder, 0700), 0);
	snprintf(new_path, sizeof(new_path), "%s/results.json", folder);
	write_doc(new_path, &d);
	snprintf(new_path, sizeof(new_path), "%s", folder);
	run_diff(NULL, NULL, DIFF_TEXT, &r);
	ck_assert_msg(r.rc == 0, "%s%s", r.out, r.err);
}
END_TEST

static Suite *diff_suite(void)
{
	Suite *suite = suite_create("diff");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identical);
	tcase_add_test(tc, test_run_to_run_noise);
	tcase_add_test(tc, test_reason_changed);
	tcase_add_test(tc, test_reply_verdict_changed);
	tcase_add_test(tc, test_packet_missing);
	tcase_add_test(tc, test_retransmission);
	tcase_add_test(tc, test_entry_timeout);
	tcase_add_test(tc, test_entry_timeout_after_step);
	tcase_add_test(tc, test_timeout_tolerance);
	tcase_add_test(tc, test_entry_state);
	tcase_add_test(tc, test_entry_state_a_step_apart);
	tcase_add_test(tc, test_runs_added_removed);
	tcase_add_test(tc, test_setting_changed);
	tcase_add_test(tc, test_fact_changed);
	tcase_add_test(tc, test_chain_changed);
	tcase_add_test(tc, test_step_added);
	tcase_add_test(tc, test_json_output);
	tcase_add_test(tc, test_bad_input);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return suite_main(diff_suite());
}
