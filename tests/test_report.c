/* test_report.c — the text ladder diagram and the KTAP lines, from hand-made run results. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "suite.h"

#define ISN_CLIENT	3117299374u
#define ISN_SERVER	2165054370u

enum { STEP_CONNECT_C, STEP_EXPECT_CT, STEP_SEND_SR, STEP_EXPECT_VERDICT, STEP_EXPECT_STAT,
       N_STEPS };

/* A run of syn-rst as the engine would leave it, built by hand. */
struct fixture {
	struct scenario scenario;
	struct step steps[N_STEPS];
	struct step_result results[N_STEPS];
	struct observed packets[8];
	struct run_result result;
};

static void set_step(struct fixture *f, size_t i, enum step_kind kind, int line, const char *text)
{
	f->steps[i] = (struct step){ .kind = kind, .pos = { line, 1 } };
	f->steps[i].text = text;	/* string literals: they outlive the fixture */
	f->results[i] = (struct step_result){ .step = &f->steps[i], .passed = true,
					      .sent_packet = -1 };
}

static struct observed *add_packet(struct fixture *f, const char *src, uint16_t sport,
				   const char *dst, uint16_t dport, uint8_t flags, uint32_t seq,
				   uint32_t ack, uint16_t window, enum verdict verdict)
{
	struct observed *o = &f->packets[f->result.n_packets];
	struct packet_summary *p = &o->packet;

	*o = (struct observed){ .index = f->result.n_packets++, .verdict = verdict };
	p->family = AF_INET;
	p->protocol = IPPROTO_TCP;
	inet_pton(AF_INET, src, &p->src);
	inet_pton(AF_INET, dst, &p->dst);
	p->sport = sport;
	p->dport = dport;
	p->flags = flags;
	p->seq = seq;
	p->ack = ack;
	p->window = window;
	p->mss = p->wscale = -1;
	return o;
}

static void set_host(struct run_result *r, size_t i, const char *name, const char *addr,
		     bool observing)
{
	snprintf(r->hosts[i].name, sizeof(r->hosts[i].name), "%s", name);
	snprintf(r->hosts[i].addr, sizeof(r->hosts[i].addr), "%s", addr);
	r->hosts[i].observing = observing;
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct observed *sr;

	ck_assert_ptr_nonnull(f);
	snprintf(f->scenario.path, sizeof(f->scenario.path), "scenarios/tcp-flags/syn-rst.ct");
	snprintf(f->scenario.name, sizeof(f->scenario.name), "syn-rst");
	f->scenario.about = "";
	f->scenario.steps = f->steps;
	f->scenario.n_steps = N_STEPS;

	set_step(f, STEP_CONNECT_C, STEP_CONNECT, 10, "connect  c client -> server:80");
	set_step(f, STEP_EXPECT_CT, STEP_EXPECT, 11, "expect   ct c state ESTABLISHED assured");
	set_step(f, STEP_SEND_SR, STEP_SEND, 12, "send     client -> server tcp conn=c flags=SR");
	set_step(f, STEP_EXPECT_VERDICT, STEP_EXPECT, 13,
		 "expect   verdict invalid reason \"invalid tcp flag combination\"");
	set_step(f, STEP_EXPECT_STAT, STEP_EXPECT, 15, "expect   stat invalid +1");
	snprintf(f->results[STEP_CONNECT_C].message, sizeof(f->results[0].message),
		 "198.18.0.1:43483 -> 198.18.0.2:80");

	f->result = (struct run_result){
		.scenario = &f->scenario, .family = AF_INET, .variant = -1,
		.name = "syn-rst/ipv4", .n_hosts = 2, .outcome = OUTCOME_PASS,
		.n_steps = N_STEPS, .steps = f->results, .packets = f->packets, .seconds = 0.008,
	};
	set_host(&f->result, 0, "client", "198.18.0.1", false);
	set_host(&f->result, 1, "server", "198.18.0.2", true);

	add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_SYN, ISN_CLIENT, 0, 64240,
		   VERDICT_NEW);
	add_packet(f, "198.18.0.2", 80, "198.18.0.1", 43483, TCP_FLAG_SYN | TCP_FLAG_ACK,
		   ISN_SERVER, ISN_CLIENT + 1, 65160, VERDICT_ESTABLISHED);
	add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_ACK, ISN_CLIENT + 1,
		   ISN_SERVER + 1, 63, VERDICT_ESTABLISHED);
	f->results[STEP_CONNECT_C].end_packet = 3;
	f->results[STEP_EXPECT_CT].first_packet = f->results[STEP_EXPECT_CT].end_packet = 3;

	sr = add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_SYN | TCP_FLAG_RST,
			ISN_CLIENT + 1, ISN_SERVER + 1, 63, VERDICT_INVALID);
	sr->has_reason = true;
	snprintf(sr->reason, sizeof(sr->reason), "invalid tcp flag combination");
	f->results[STEP_SEND_SR].first_packet = 3;
	f->results[STEP_SEND_SR].end_packet = 4;
	f->results[STEP_SEND_SR].sent_packet = 3;
	f->results[STEP_EXPECT_VERDICT].first_packet = f->results[STEP_EXPECT_VERDICT].end_packet = 4;
	f->results[STEP_EXPECT_STAT].first_packet = f->results[STEP_EXPECT_STAT].end_packet = 4;
	return f;
}

/* Render with report_ladder in the given style, 100 columns wide (80: see
 * ladder_fits_80); the caller frees the text. */
static char *ladder_text_width(const struct run_result *result, bool unicode, bool color,
			       unsigned width)
{
	struct report_style style = { .color = color, .unicode = unicode, .width = width };
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	report_ladder(out, result, &style);
	fclose(out);
	return text;
}

static char *ladder_text(const struct run_result *result, bool unicode, bool color)
{
	return ladder_text_width(result, unicode, color, 100);
}

/* The line of text that contains needle, copied; NULL if none. */
static char *line_with(const char *text, const char *needle)
{
	const char *hit = strstr(text, needle), *start, *end;

	if (!hit)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static const char golden_ascii[] =
"     client                                      server*\n"
"     198.18.0.1                                  198.18.0.2\n"
"     * conntrack observed here; seq/ack relative to the SYN of their direction\n"
"  10 -- connect c client -> server:80  [198.18.0.1:43483 -> 198.18.0.2:80]\n"
"  #1 | S seq 0 win 64240 ----------------------->|   new\n"
"  #2 |<---------------- SA seq 0 ack 1 win 65160 |   established\n"
"  #3 | A seq 1 ack 1 win 63 -------------------->|   established\n"
"  11 ok    expect ct c state ESTABLISHED assured\n"
"  12 -- send client -> server tcp conn=c flags=SR\n"
"  #4 | crafted SR seq 1 ack 1 win 63 ----------->|   INVALID  invalid tcp flag combination\n"
"  13 ok    expect verdict invalid reason \"invalid tcp flag combination\"\n"
"  15 ok    expect stat invalid +1\n";

START_TEST(ascii_golden)
{
	struct fixture *f = fixture_new();
	char *text = ladder_text(&f->result, false, false);

	ck_assert_str_eq(text, golden_ascii);
	ck_assert_ptr_null(strchr(text, '\033'));
	free(text);
	free(f);
}
END_TEST

START_TEST(arrows_point_from_source_to_destination)
{
	struct fixture *f = fixture_new();
	char *text = ladder_text(&f->result, false, false);
	char *syn = line_with(text, "#1 "), *synack = line_with(text, "#2 ");

	/* client (left) to server (right), and back */
	ck_assert_ptr_nonnull(strstr(syn, "| S seq 0"));
	ck_assert_ptr_nonnull(strstr(syn, "---->|"));
	ck_assert_ptr_null(strchr(syn, '<'));
	ck_assert_ptr_nonnull(strstr(synack, "|<----"));
	ck_assert_ptr_nonnull(strstr(synack, "SA seq 0 ack 1 win 65160 |"));
	ck_assert_ptr_null(strchr(synack, '>'));
	free(syn);
	free(synack);
	free(text);
	free(f);
}
END_TEST

START_TEST(arrows_in_three_columns)
{
	struct fixture *f = fixture_new();
	char *text, *line;

	/* client, router, server: the server's replies cross the router's lifeline */
	f->result.n_hosts = 3;
	set_host(&f->result, 1, "router", "198.18.0.254", false);
	set_host(&f->result, 2, "server", "198.18.0.2", true);
	add_packet(f, "198.18.0.254", 0, "198.18.0.1", 0, 0, 0, 0, 0, VERDICT_UNTRACKED)
		->packet.protocol = IPPROTO_ICMP;
	f->packets[4].packet.icmp_type = 11;
	f->results[STEP_EXPECT_STAT].end_packet = 5;
	text = ladder_text(&f->result, false, false);

	line = line_with(text, "client");
	ck_assert_str_eq(line, "     client                router                server*");
	free(line);
	line = line_with(text, "#1 ");
	ck_assert_str_eq(line, "  #1 | S seq 0 win 64240 --+-------------------->|   new");
	free(line);
	line = line_with(text, "#2 ");
	ck_assert_str_eq(line, "  #2 |<---------------- SA seq 0 ack 1 win 65160 |   established");
	free(line);
	/* too long for one lane: the label goes on the line above */
	line = line_with(text, "icmp time-exceeded");
	ck_assert_str_eq(line, "     |  icmp time-exceeded |                     |");
	free(line);
	line = line_with(text, "#5 ");
	ck_assert_str_eq(line, "  #5 |<--------------------|                     |   untracked");
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(relative_sequence_numbers_from_the_syn)
{
	struct fixture *f = fixture_new();
	char *text, *line;

	/* No SYN was seen for port 5555: absolute.  Before the ISN: negative. */
	add_packet(f, "198.18.0.1", 5555, "198.18.0.2", 80, TCP_FLAG_ACK, 1000, 2000, 5,
		   VERDICT_INVALID);
	add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_ACK, ISN_CLIENT - 99,
		   ISN_SERVER + 100001, 63, VERDICT_INVALID);
	f->packets[5].packet.payload_len = 10;
	f->results[STEP_EXPECT_STAT].end_packet = 6;
	text = ladder_text(&f->result, false, false);

	/* two 4-tuples now: ports tell them apart */
	line = line_with(text, "#1 ");
	ck_assert_ptr_nonnull(strstr(line, "| 43483>80 S seq 0 win 64240 -"));
	free(line);
	line = line_with(text, "#2 ");
	ck_assert_ptr_nonnull(strstr(line, " 80>43483 SA seq 0 ack 1 win 65160 |"));
	free(line);
	line = line_with(text, "#5 ");
	ck_assert_ptr_nonnull(strstr(line, "| 5555>80 A seq 1000 ack 2000 win 5 -"));
	free(line);
	line = line_with(text, "A seq -99");
	ck_assert_str_eq(line, "     | 43483>80 A seq -99 ack 100001 win 63 len 10");
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(sack_blocks_count_from_the_acknowledged_syn)
{
	struct fixture *f = fixture_new();
	struct packet_summary *packet;
	char *text, *line;

	packet = &add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_ACK,
			     ISN_CLIENT + 1, ISN_SERVER + 1001, 63, VERDICT_INVALID)->packet;
	packet->n_sack = 2;
	packet->sack[0][0] = ISN_SERVER + 2001;
	packet->sack[0][1] = ISN_SERVER + 3001;
	packet->sack[1][0] = ISN_SERVER + 501;
	packet->sack[1][1] = ISN_SERVER + 901;
	f->results[STEP_EXPECT_STAT].end_packet = 5;
	text = ladder_text(&f->result, false, false);
	/* too long for its arrow: above it */
	line = line_with(text, " sack ");
	ck_assert_str_eq(line, "     | A seq 1 ack 1001 win 63 sack 2001:3001,501:901");
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(new_connection_on_the_same_tuple_restarts_sequence)
{
	struct fixture *f = fixture_new();
	char *text, *line;

	add_packet(f, "198.18.0.1", 43483, "198.18.0.2", 80, TCP_FLAG_SYN, ISN_CLIENT + 100001, 0,
		   64240, VERDICT_NEW);
	add_packet(f, "198.18.0.2", 80, "198.18.0.1", 43483, TCP_FLAG_SYN | TCP_FLAG_ACK, 9000,
		   ISN_CLIENT + 100002, 65160, VERDICT_ESTABLISHED);
	f->results[STEP_EXPECT_STAT].end_packet = 6;
	text = ladder_text(&f->result, false, false);
	/* the new SYN says where it stands in the old connection's sequence space */
	line = line_with(text, "#5 ");
	ck_assert_ptr_nonnull(strstr(line, "| S seq 0 (old seq 100001) win 64240 -"));
	free(line);
	line = line_with(text, "#6 ");
	ck_assert_ptr_nonnull(strstr(line, " SA seq 0 ack 1 win 65160 |"));
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(verdict_and_reason_beside_the_packet)
{
	struct fixture *f = fixture_new();
	struct observed *sr = &f->packets[3];
	char *text, *line, *next;

	line = ladder_text(&f->result, false, false);
	text = line_with(line, "#4 ");
	ck_assert_ptr_nonnull(strstr(text, "|   INVALID  invalid tcp flag combination"));
	free(text);
	free(line);

	/* A long reason wraps under itself; the lifelines go on beside it. */
	snprintf(sr->reason, sizeof(sr->reason),
		 "SEQ is over upper bound 2482255039 (over the window of the receiver)");
	text = ladder_text(&f->result, false, false);
	line = line_with(text, "#4 ");
	ck_assert_str_eq(line, "  #4 | crafted SR seq 1 ack 1 win 63 ----------->|"
			 "   INVALID  SEQ is over upper bound 2482255039");
	next = line_with(text, "(over the");
	ck_assert_str_eq(next, "     |                                           |"
			 "            (over the window of the receiver)");
	free(next);
	/* Its bound is absolute: the packet's own numbers as sent are beside it. */
	next = line_with(text, "(as sent:");
	ck_assert_ptr_nonnull(strstr(next, "|   (as sent: seq "));
	free(next);
	free(line);
	free(text);
	free(f);
}
END_TEST

/* A segment cut before its flags shows its length, not flags it does not have. */
START_TEST(truncated_segments_say_so)
{
	struct fixture *f = fixture_new();
	struct observed *sr = &f->packets[3];
	char *text, *line;

	sr->packet.truncated = true;
	sr->packet.ip_len = 30;
	text = ladder_text(&f->result, false, false);
	line = line_with(text, "#4 ");
	ck_assert_ptr_nonnull(strstr(line, "| crafted tcp cut to 10 bytes -"));
	ck_assert_ptr_null(strstr(line, "SR"));
	free(line);
	free(text);

	sr->packet.ip_len = 44;
	text = ladder_text(&f->result, false, false);
	/* Too long for its arrow: on the line above it. */
	ck_assert_ptr_nonnull(strstr(text, "| crafted SR (truncated) seq 1"));
	free(text);
	free(f);
}
END_TEST

START_TEST(failures_carry_their_message)
{
	struct fixture *f = fixture_new();
	struct step_result *stat = &f->results[STEP_EXPECT_STAT];
	struct step_result *connect = &f->results[STEP_CONNECT_C];
	char *text;

	stat->passed = false;
	snprintf(stat->message, sizeof(stat->message), "expected invalid +1, saw +0");
	connect->passed = false;
	snprintf(connect->message, sizeof(connect->message), "connect: Connection refused");
	text = ladder_text(&f->result, false, false);

	/* the statement on the FAIL line, what was seen under it */
	ck_assert_ptr_nonnull(strstr(text, "\n  15 FAIL  expect stat invalid +1\n"
				     "           expected invalid +1, saw +0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n  10 -- connect c client -> server:80\n"
				     "     FAIL  connect: Connection refused\n  #1 "));
	ck_assert_ptr_null(strstr(text, "[connect: Connection refused]"));
	free(text);

	text = ladder_text(&f->result, true, true);
	ck_assert_ptr_nonnull(strstr(text, "  15 \033[31m✗ FAIL\033[0m  expect stat invalid +1\n"
				     "             expected invalid +1, saw +0\n"));
	ck_assert_ptr_nonnull(strstr(text, "  11 \033[32m✓ ok  \033[0m  expect ct c state"));
	ck_assert_ptr_nonnull(strstr(text, "  10 ── connect c client"));
	ck_assert_ptr_nonnull(strstr(text, "  #4 │ crafted SR seq 1 ack 1 win 63 ───────────>│   "
				     "\033[31mINVALID\033[0m  invalid tcp flag combination\n"));
	ck_assert_ptr_nonnull(strstr(text, "  #1 │ S seq 0 win 64240 ───────────────────────>│   "
				     "\033[32mnew\033[0m\n"));
	ck_assert_ptr_nonnull(strstr(text, "  #2 │<──────────────── SA seq 0 ack 1 win 65160 │   "
				     "established\n"));
	free(text);
	free(f);
}
END_TEST

START_TEST(skipped_steps_are_marked)
{
	struct fixture *f = fixture_new();
	char *text, *line;

	snprintf(f->scenario.variants[0], sizeof(f->scenario.variants[0]), "strict");
	snprintf(f->scenario.variants[1], sizeof(f->scenario.variants[1]), "liberal");
	f->scenario.n_variants = 2;
	f->result.variant = 1;
	f->steps[STEP_EXPECT_VERDICT].when.variants = 1u << 0;
	f->results[STEP_EXPECT_VERDICT].skipped = true;
	f->steps[STEP_EXPECT_STAT].when.kernel_min = CTLAB_KERNEL_VERSION(9, 0, 0);
	f->results[STEP_EXPECT_STAT].skipped = true;
	f->results[STEP_EXPECT_STAT].passed = false;
	text = ladder_text(&f->result, false, false);

	line = line_with(text, "expect verdict");
	ck_assert_str_eq(line, "  13 skip  expect verdict invalid reason \"invalid tcp flag combination\""
			 "  (not in this variant)");
	free(line);
	line = line_with(text, "expect stat");
	ck_assert_str_eq(line, "  15 skip  expect stat invalid +1  (not on this kernel)");
	free(line);
	free(text);

	text = ladder_text(&f->result, false, true);
	ck_assert_ptr_nonnull(strstr(text, "  15 \033[2mskip  expect stat invalid +1"
				     "  (not on this kernel)\033[0m\n"));
	free(text);

	/* @ipv6 in an IPv4 run: the family says why, not the kernel. */
	f->steps[STEP_EXPECT_STAT].when = (struct condition){ .families = FAMILY_IPV6 };
	f->result.family = AF_INET;
	text = ladder_text(&f->result, false, false);
	line = line_with(text, "expect stat");
	ck_assert_str_eq(line, "  15 skip  expect stat invalid +1  (not in this family)");
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(unknown_addresses_go_to_the_observing_host)
{
	struct fixture *f = fixture_new();
	struct observed *ns = &f->packets[0];
	char *text, *line;

	/* An IPv6 run whose first packet is neighbour discovery to a multicast group. */
	f->result.family = AF_INET6;
	set_host(&f->result, 0, "client", "2001:db8::1", false);
	set_host(&f->result, 1, "server", "2001:db8::2", true);
	for (size_t i = 0; i < f->result.n_packets; i++) {
		struct packet_summary *p = &f->packets[i].packet;
		bool from_client = p->sport != 80;

		p->family = AF_INET6;
		inet_pton(AF_INET6, from_client ? "2001:db8::1" : "2001:db8::2", &p->src);
		inet_pton(AF_INET6, from_client ? "2001:db8::2" : "2001:db8::1", &p->dst);
	}
	ns->packet = (struct packet_summary){ .family = AF_INET6, .protocol = IPPROTO_ICMPV6,
					      .icmp_type = 135, .payload_len = 24 };
	inet_pton(AF_INET6, "2001:db8::1", &ns->packet.src);
	inet_pton(AF_INET6, "ff02::1:ff00:2", &ns->packet.dst);
	ns->verdict = VERDICT_UNTRACKED;
	text = ladder_text(&f->result, false, false);

	/* the client's address is known, the group's is not: it is the server's column */
	line = line_with(text, "neighbor-solicit");
	ck_assert_str_eq(line, "     | icmp6 neighbor-solicit len 24 to ff02::1:ff00:2");
	free(line);
	line = line_with(text, "#1 ");
	ck_assert_str_eq(line, "  #1 |------------------------------------------>|   untracked");
	free(line);
	line = line_with(text, "client");
	ck_assert_str_eq(line, "     client                                      server*");
	free(line);
	line = line_with(text, "2001:db8::1 ");
	ck_assert_str_eq(line, "     2001:db8::1                                 2001:db8::2");
	free(line);
	free(text);
	free(f);
}
END_TEST

START_TEST(long_labels_go_above_their_arrow)
{
	struct fixture *f = fixture_new();
	char *text;

	/* no SYN on this tuple: absolute numbers, too long for the arrow */
	add_packet(f, "198.18.0.2", 80, "198.18.0.1", 40000, TCP_FLAG_ACK | TCP_FLAG_PSH,
		   4000000000u, 3000000000u, 65535, VERDICT_INVALID)->packet.payload_len = 1448;
	f->results[STEP_EXPECT_STAT].end_packet = 5;
	text = ladder_text(&f->result, false, false);
	ck_assert_ptr_nonnull(strstr(text,
		"\n     | 80>40000 PA seq 4000000000 ack 3000000000 win 65535 len 1448\n"
		"  #5 |<------------------------------------------|   INVALID\n"));
	free(text);
	free(f);
}
END_TEST

START_TEST(self_packets_mark_the_lifeline)
{
	struct fixture *f = fixture_new();
	char *text, *line;

	add_packet(f, "198.18.0.2", 80, "198.18.0.2", 81, TCP_FLAG_RST, 5, 0, 0,
		   VERDICT_UNSEEN);
	f->results[STEP_EXPECT_STAT].end_packet = 5;
	text = ladder_text(&f->result, false, false);
	line = line_with(text, "#5 ");
	ck_assert_str_eq(line, "  #5 |                       80>81 R seq 5 win 0 *   unseen");
	free(line);
	free(text);
	free(f);
}
END_TEST

/* At a projector's 80 columns every line fits, the verdicts and reasons too. */
START_TEST(ladder_fits_80)
{
	struct fixture *f = fixture_new();
	char *text, *line, *save = NULL;

	snprintf(f->packets[3].reason, sizeof(f->packets[3].reason),
		 "SEQ is over upper bound 2482255039 (over the window of the receiver)");
	text = ladder_text_width(&f->result, false, false, 80);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ck_assert_msg(strlen(line) <= 80, "%zu columns: %s", strlen(line), line);
	free(text);
	free(f);
}
END_TEST

START_TEST(long_statements_wrap)
{
	struct fixture *f = fixture_new();
	char *text;

	f->steps[STEP_SEND_SR].text = (
		 "send     client -> server tcp conn=c flags=PA len=1000 seq=c.client.nxt-1000 win=500 "
		 "ttl=3 tos=4 mss=1460");
	f->steps[STEP_EXPECT_STAT].text = (
		 "expect   packet server -> client tcp flags=A seq=c.server.nxt ack=c.client.nxt "
		 "verdict established");
	text = ladder_text(&f->result, false, false);
	/* 100 columns at most, the rest under the statement */
	ck_assert_ptr_nonnull(strstr(text,
		"\n  12 -- send client -> server tcp conn=c flags=PA len=1000 seq=c.client.nxt-1000"
		" win=500 ttl=3 tos=4\n"
		"        mss=1460\n"));
	ck_assert_ptr_nonnull(strstr(text,
		"\n  15 ok    expect packet server -> client tcp flags=A seq=c.server.nxt"
		" ack=c.client.nxt verdict\n"
		"           established\n"));
	free(text);
	free(f);
}
END_TEST

START_TEST(foreign_packets_keep_clear_of_the_verdicts)
{
	struct fixture *f = fixture_new();
	struct observed *mld;
	char *text;

	/* IPv6 multicast listener reports show up in IPv4 runs: no host's address */
	mld = add_packet(f, "198.18.0.9", 0, "198.18.0.9", 0, 0, 0, 0, 0, VERDICT_UNTRACKED);
	mld->packet = (struct packet_summary){ .family = AF_INET6, .protocol = IPPROTO_ICMPV6,
					       .icmp_type = 143, .payload_len = 40 };
	inet_pton(AF_INET6, "fe80::c0b3:5bff:fe06:3d59", &mld->packet.src);
	inet_pton(AF_INET6, "ff02::16", &mld->packet.dst);
	f->results[STEP_EXPECT_STAT].end_packet = 5;
	text = ladder_text(&f->result, false, false);
	ck_assert_ptr_nonnull(strstr(text,
		"\n     | icmp6 mld2-report len 40 from fe80::c0b3:5bff:fe06:3d59 to ff02::16\n"
		"  #5 |                                           *   untracked\n"));
	free(text);
	free(f);
}
END_TEST

START_TEST(no_hosts_falls_back_to_packet_lines)
{
	struct fixture *f = fixture_new();
	char *text;

	f->result.n_hosts = 0;
	text = ladder_text(&f->result, false, false);
	ck_assert_ptr_nonnull(strstr(text, "      #4   198.18.0.1:43483 > 198.18.0.2:80 SR  seq"));
	ck_assert_ptr_nonnull(strstr(text, "invalid \"invalid tcp flag combination\"\n"));
	free(text);
	free(f);
}
END_TEST

/* The whole output of report_begin/run/end for one format, as text. */
static char *report_text(enum report_format format, struct run_result *results, size_t n)
{
	struct report_totals totals = { 0 };
	char *text = NULL;
	size_t size = 0, i;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	report_begin(out, format, n);
	for (i = 0; i < n; i++)
		report_run(out, format, i + 1, &results[i], &totals);
	report_end(out, format, &totals);
	fclose(out);
	return text;
}

/* A passing, a failing and a skipped run. */
static void three_runs(struct fixture *f, struct run_result runs[3])
{
	struct step_result *stat = &f->results[STEP_EXPECT_STAT];

	runs[0] = f->result;
	runs[1] = f->result;
	snprintf(runs[1].name, sizeof(runs[1].name), "syn-rst/ipv6");
	runs[1].outcome = OUTCOME_FAIL;
	runs[1].failures = 1;
	runs[1].seconds = 0.25;
	snprintf(runs[1].reason, sizeof(runs[1].reason),
		 "scenarios/tcp-flags/syn-rst.ct:15:1: expect stat invalid +1: expected +1, saw +0");
	stat->passed = false;
	snprintf(stat->message, sizeof(stat->message), "expected +1, saw +0");
	runs[2] = (struct run_result){ .scenario = &f->scenario, .name = "other/ipv4",
				       .outcome = OUTCOME_SKIP, .reason = "not root" };
}

START_TEST(ktap_unchanged)
{
	struct fixture *f = fixture_new();
	struct run_result runs[3];
	char *text;

	three_runs(f, runs);
	text = report_text(REPORT_KTAP, runs, 3);
	ck_assert_str_eq(text,
		"KTAP version 1\n"
		"1..3\n"
		"ok 1 syn-rst/ipv4\n"
		"# scenarios/tcp-flags/syn-rst.ct:15:1: expect   stat invalid +1: expected +1, saw +0\n"
		"not ok 2 syn-rst/ipv6\n"
		"ok 3 other/ipv4 # SKIP not root\n"
		"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n");
	free(text);
	free(f);
}
END_TEST

START_TEST(text_keeps_pass_fail_and_totals_lines)
{
	struct fixture *f = fixture_new();
	struct run_result runs[3];
	char *text;

	three_runs(f, runs);
	text = report_text(REPORT_TEXT, runs, 3);
	ck_assert_ptr_nonnull(strstr(text, "syn-rst/ipv4  (scenarios/tcp-flags/syn-rst.ct)\n"
				     "     client "));
	ck_assert_ptr_nonnull(strstr(text, "\nPASS syn-rst/ipv4 (0.008 s)\n\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nFAIL syn-rst/ipv6: 1 failed (0.250 s)\n"
				     "  scenarios/tcp-flags/syn-rst.ct:15:1: expect stat"));
	ck_assert_ptr_nonnull(strstr(text, "\nother/ipv4  (scenarios/tcp-flags/syn-rst.ct)\n"
				     "SKIP other/ipv4: not root\n\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n1 passed, 1 failed, 1 skipped\n"));
	/* a memory stream is no terminal: plain ASCII, no colour */
	ck_assert_ptr_null(strchr(text, '\033'));
	ck_assert_ptr_null(strstr(text, "│"));
	free(text);
	free(f);
}
END_TEST

START_TEST(style_detect_off_for_non_terminals)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	struct report_style style;

	setenv("LANG", "C.UTF-8", 1);
	style = report_style_detect(out);
	ck_assert(!style.color);
	ck_assert(!style.unicode);
	style = report_style_detect(stderr);	/* whatever it is, unicode needs a terminal */
	ck_assert(style.unicode == style.color || getenv("NO_COLOR"));
	fclose(out);
	free(text);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("ladder");

	tcase_add_test(tc, ascii_golden);
	tcase_add_test(tc, arrows_point_from_source_to_destination);
	tcase_add_test(tc, arrows_in_three_columns);
	tcase_add_test(tc, relative_sequence_numbers_from_the_syn);
	tcase_add_test(tc, sack_blocks_count_from_the_acknowledged_syn);
	tcase_add_test(tc, new_connection_on_the_same_tuple_restarts_sequence);
	tcase_add_test(tc, verdict_and_reason_beside_the_packet);
	tcase_add_test(tc, truncated_segments_say_so);
	tcase_add_test(tc, failures_carry_their_message);
	tcase_add_test(tc, skipped_steps_are_marked);
	tcase_add_test(tc, unknown_addresses_go_to_the_observing_host);
	tcase_add_test(tc, long_labels_go_above_their_arrow);
	tcase_add_test(tc, self_packets_mark_the_lifeline);
	tcase_add_test(tc, long_statements_wrap);
	tcase_add_test(tc, ladder_fits_80);
	tcase_add_test(tc, foreign_packets_keep_clear_of_the_verdicts);
	tcase_add_test(tc, no_hosts_falls_back_to_packet_lines);
	suite_add_tcase(s, tc);
	tc = tcase_create("formats");
	tcase_add_test(tc, ktap_unchanged);
	tcase_add_test(tc, text_keeps_pass_fail_and_totals_lines);
	tcase_add_test(tc, style_detect_off_for_non_terminals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_main(report_suite());
}
