/* Unit tests of lang, the scenario language: good files into their exact AST, bad ones
 * into their exact "file:line:column: expected …, found …" message. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/tcp.h>

#include "packet/packet.h"
#include "lang/lang.h"
#include "suite.h"

/* Every bad case starts from this header, so its errors are on line 3 or later. */
#define HEAD	"name t\ntopology pair\n"
#define CONN	"connect c client -> server:80\n"
#define SEND	"send client -> server tcp\n"
#define STATEMENTS "name, fact, about, topology, family, variant, kernel, nat, sysctl, nft, listen, " \
	"connect, send, write, read, shutdown, close, wait, delete, flush, flood, fill, mute, sleep, link, bypass, hold, release, expect"

static struct scenario *parse_ok(const char *text)
{
	char err[512] = "";
	struct scenario *scenario = scenario_parse_string(text, "t.ct", err, sizeof(err));

	ck_assert_msg(scenario != NULL, "unexpected error: %s", err);
	return scenario;
}

static void assert_error(const char *text, const char *expected)
{
	char err[512] = "";
	struct scenario *scenario = scenario_parse_string(text, "t.ct", err, sizeof(err));

	ck_assert_msg(scenario == NULL, "parsed, expected error: %s", expected);
	ck_assert_str_eq(err, expected);
}

/* ---- Good files ---- */

/* Table exhaustion: flood, fill, flush, entries, kmsg, comparisons, may-fail. */
START_TEST(test_table_full)
{
	struct scenario *s = parse_ok("name f\ntopology routed\n"
		"flood client -> server:9 syn count=262144 threads=2\n"
		"fill router count=1000 timeout=60\n"
		"flush ct router\n"
		"connect c client -> server:80 may-fail\n"
		"expect stat early_drop >0\n"
		"expect stat drop +0\n"
		"expect entries max\n"
		"expect entries >=262000\n"
		"expect kmsg \"table full in netns $NETNS\"\n"
		"expect no kmsg \"table full\"\n"
		"fill router count=max\n"
		"flood client -> server:9 syn count=max+32768\n"
		"expect entries >=max-64\n"
		"flood client -> server:53 udp count=max\n");
	const struct step *steps = s->steps;

	ck_assert_int_eq(steps[0].kind, STEP_FLOOD);
	ck_assert_str_eq(steps[0].flood.src, "client");
	ck_assert_str_eq(steps[0].flood.dst, "server");
	ck_assert_uint_eq(steps[0].flood.port, 9);
	ck_assert(!steps[0].flood.count.of_max && steps[0].flood.count.n == 262144);
	ck_assert_uint_eq(steps[0].flood.threads, 2);
	ck_assert_int_eq(steps[1].kind, STEP_FILL);
	ck_assert(!steps[1].fill.count.of_max && steps[1].fill.count.n == 1000);
	ck_assert_uint_eq(steps[1].fill.timeout, 60);
	ck_assert(steps[2].kind == STEP_CT && steps[2].ct.flush);
	ck_assert_str_eq(steps[2].ct.host, "router");
	ck_assert(steps[3].connect.may_fail);
	ck_assert_int_eq(steps[4].expect.op, CMP_GT);
	ck_assert_int_eq(steps[4].expect.delta, 0);
	ck_assert_int_eq(steps[5].expect.op, CMP_EQ);
	ck_assert(steps[6].expect.kind == EXPECT_ENTRIES && steps[6].expect.entries.of_max);
	ck_assert_int_eq(steps[6].expect.entries.n, 0);
	ck_assert_int_eq(steps[7].expect.op, CMP_GE);
	ck_assert(!steps[7].expect.entries.of_max && steps[7].expect.entries.n == 262000);
	ck_assert(steps[8].expect.kind == EXPECT_KMSG && !steps[8].expect.absent);
	ck_assert_str_eq(steps[8].expect.reason, "table full in netns $NETNS");
	ck_assert(steps[9].expect.absent);
	/* Sizes from the machine's table: max, max+N, max-N. */
	ck_assert(steps[10].fill.count.of_max && steps[10].fill.count.n == 0);
	ck_assert(steps[11].flood.count.of_max && steps[11].flood.count.n == 32768);
	ck_assert(steps[12].expect.entries.of_max && steps[12].expect.entries.n == -64);
	ck_assert_int_eq(table_size_value(&steps[12].expect.entries, 65536), 65472);
	ck_assert_int_eq(table_size_value(&steps[11].flood.count, 8192), 40960);
	ck_assert_int_eq(table_size_value(&steps[12].expect.entries, 10), 0);
	ck_assert(!steps[0].flood.udp && steps[13].flood.udp && steps[13].flood.port == 53);
	scenario_free(s);
	assert_error(HEAD "fill server count=max*2\n",
		     "t.ct:3:19: expected max, max+N or max-N, found max*2");
	assert_error(HEAD "fill server count=max-0\n",
		     "t.ct:3:23: expected a number 1..16777216, found 0");
	assert_error(HEAD "expect entries >=maxi\n",
		     "t.ct:3:18: expected max, max+N or max-N, found maxi");

	assert_error(HEAD "flood client -> server:9 syn count=0\n",
		     "t.ct:3:36: expected a number 1..16777216, found 0");
	assert_error(HEAD "flood client -> server:9 ack count=1\n",
		     "t.ct:3:26: expected syn or udp, found ack");
	assert_error(HEAD "fill server size=10\n",
		     "t.ct:3:13: expected count=N (or max, max+N, max-N), found size=10");
	/* UDP entries: after the timeout, or alone. */
	s = parse_ok(HEAD "fill server count=max udp\nfill server count=10 timeout=60 udp\n"
		     "fill server count=10\n");
	ck_assert(s->steps[0].fill.udp && s->steps[0].fill.timeout == 0);
	ck_assert(s->steps[1].fill.udp && s->steps[1].fill.timeout == 60);
	ck_assert(!s->steps[2].fill.udp);
	scenario_free(s);
	assert_error(HEAD "fill server count=10 tcp\n",
		     "t.ct:3:22: expected timeout=S, udp or end of line, found tcp");
	assert_error(HEAD "fill server count=10 timeout=5 tcp\n",
		     "t.ct:3:32: expected udp or end of line, found tcp");
	assert_error(HEAD "fill server count=10 udp udp\n",
		     "t.ct:3:26: expected end of line, found udp");
}
END_TEST

/* Topology routed: nat, the service address, wire expectations. */
START_TEST(test_routed)
{
	struct scenario *s = parse_ok("name r\ntopology routed\nnat dnat\n"
		"connect c client -> service:80\n"
		"send server -> client tcp conn=c flags=PA\n"
		"send client -> service tcp flags=S\n"
		"expect wire router -> client tcp flags=PA src=server dst=client\n"
		"expect no wire client -> router tcp src=service\n");
	const struct packet_match *wire;

	ck_assert_int_eq(s->nat, NAT_DNAT);
	ck_assert_str_eq(s->steps[0].connect.server, "service");
	ck_assert_str_eq(s->steps[2].send.dst, "service");
	wire = &s->steps[3].expect.packet;
	ck_assert_int_eq(s->steps[3].expect.kind, EXPECT_WIRE);
	ck_assert_str_eq(wire->src, "router");
	ck_assert_str_eq(wire->dst, "client");
	ck_assert_str_eq(wire->addr_src, "server");
	ck_assert_str_eq(wire->addr_dst, "client");
	ck_assert(!wire->absent);
	wire = &s->steps[4].expect.packet;
	ck_assert(wire->absent);
	ck_assert_str_eq(wire->addr_src, "service");
	ck_assert_str_eq(wire->addr_dst, "");
	scenario_free(s);

	assert_error(HEAD "nat dnat\n",
		     "t.ct:3:1: expected a statement for this topology (nat needs topology routed), "
		     "found nat");
	assert_error("name r\ntopology routed\nnat full\n",
		     "t.ct:3:5: expected a NAT kind (dnat, snat, masquerade, none), found full");
	assert_error(HEAD "connect c client -> service:80\n",
		     "t.ct:3:21: expected a host of topology pair (client, server), found service");
	assert_error("name r\ntopology routed\nsend service -> client tcp\n",
		     "t.ct:3:6: expected a host of topology routed (client, router, server), "
		     "found service");
	assert_error("name r\ntopology routed\nsend client -> server tcp\n"
		     "expect wire client -> router tcp src=nowhere\n",
		     "t.ct:4:38: expected a host of topology routed (client, router, server) or "
		     "service, found nowhere");
	/* A packet may go to the service (before DNAT); a wire hop ends at a host. */
	scenario_free(parse_ok("name r\ntopology routed\nnat dnat\nconnect c client -> service:80\n"
			       "expect packet client -> service tcp flags=A\n"));
	assert_error("name r\ntopology routed\nsend client -> server tcp\n"
		     "expect wire client -> service tcp\n",
		     "t.ct:4:23: expected a host of topology routed (client, router, server), "
		     "found service");
	assert_error(HEAD SEND "expect packet client -> server tcp src=client\n",
		     "t.ct:4:36: expected flags=, seq=, ack=, sport=, dport=, verdict, reason, within, as or end of line, "
		     "found src=client");
}
END_TEST

START_TEST(test_full_story)
{
	struct scenario *s = parse_ok(
		"# scenarios/tcp-flags/syn-rst.ct\n"
		"name     syn-rst\n"
		"about    A segment with both SYN and RST set is never valid TCP.\n"
		"about\tConntrack marks it INVALID.   # a comment\n"
		"topology pair\n"
		"family   ipv4\n"
		"\n"
		"sysctl   server nf_conntrack_log_invalid=6\n"
		"sysctl   client net.ipv4.tcp_timestamps=\"0\"\n"
		"nft      client \"table inet t {\\n\\tchain c { } # not a comment\\n}\"\n"
		"listen   server:80\n"
		"connect  c client -> server:80             # kernel sockets\n"
		"expect   ct c state ESTABLISHED assured\n"
		"send     client -> server tcp conn=c flags=SR seq=c.client.nxt\n"
		"expect   verdict invalid reason \"invalid tcp flag combination\"\n"
		"expect   ct c state established !seen_reply !assured\n"
		"expect   stat invalid +1\n");
	const struct step *step;

	ck_assert_str_eq(s->path, "t.ct");
	ck_assert_str_eq(s->name, "syn-rst");
	ck_assert_str_eq(s->about, "A segment with both SYN and RST set is never valid TCP.\n"
				   "Conntrack marks it INVALID.");
	ck_assert_str_eq(s->topology, "pair");
	ck_assert_uint_eq(s->families, FAMILY_IPV4);
	ck_assert_uint_eq(s->n_conns, 1);
	ck_assert_str_eq(s->conns[0], "c");
	ck_assert_uint_eq(s->n_steps, 10);

	step = &s->steps[0];
	ck_assert_int_eq(step->kind, STEP_SYSCTL);
	ck_assert_int_eq(step->pos.line, 8);
	ck_assert_int_eq(step->pos.column, 1);
	ck_assert_str_eq(step->text, "sysctl   server nf_conntrack_log_invalid=6");
	ck_assert_str_eq(step->sysctl.host, "server");
	ck_assert_str_eq(step->sysctl.key, "net.netfilter.nf_conntrack_log_invalid");
	ck_assert_str_eq(step->sysctl.value, "6");

	step = &s->steps[1];
	ck_assert_str_eq(step->sysctl.host, "client");
	ck_assert_str_eq(step->sysctl.key, "net.ipv4.tcp_timestamps");
	ck_assert_str_eq(step->sysctl.value, "0");

	step = &s->steps[2];
	ck_assert_int_eq(step->kind, STEP_NFT);
	ck_assert_str_eq(step->nft.host, "client");
	ck_assert_str_eq(step->nft.ruleset, "table inet t {\n\tchain c { } # not a comment\n}");

	step = &s->steps[3];
	ck_assert_int_eq(step->kind, STEP_LISTEN);
	ck_assert_str_eq(step->listen.host, "server");
	ck_assert_uint_eq(step->listen.port, 80);

	step = &s->steps[4];
	ck_assert_int_eq(step->kind, STEP_CONNECT);
	ck_assert_str_eq(step->text, "connect  c client -> server:80");
	ck_assert_int_eq(step->connect.conn, 0);
	ck_assert_str_eq(step->connect.client, "client");
	ck_assert_str_eq(step->connect.server, "server");
	ck_assert_uint_eq(step->connect.port, 80);

	step = &s->steps[5];
	ck_assert_int_eq(step->kind, STEP_EXPECT);
	ck_assert_int_eq(step->expect.kind, EXPECT_CT);
	ck_assert_int_eq(step->expect.conn, 0);
	ck_assert(!step->expect.gone);
	ck_assert_int_eq(step->expect.state, 3);
	ck_assert_int_eq(step->expect.assured, 1);
	ck_assert_int_eq(step->expect.seen_reply, -1);

	step = &s->steps[6];
	ck_assert_int_eq(step->kind, STEP_SEND);
	ck_assert_int_eq(step->pos.line, 14);
	ck_assert_str_eq(step->send.src, "client");
	ck_assert_str_eq(step->send.dst, "server");
	ck_assert_int_eq(step->send.conn, 0);
	ck_assert(step->send.has_flags);
	ck_assert_uint_eq(step->send.flags, TCP_FLAG_SYN | TCP_FLAG_RST);
	ck_assert(step->send.fields[SEND_SEQ].present);
	ck_assert_uint_eq(step->send.fields[SEND_SEQ].n_terms, 1);
	ck_assert(step->send.fields[SEND_SEQ].terms[0].is_conn);
	ck_assert_int_eq(step->send.fields[SEND_SEQ].terms[0].sign, 1);
	ck_assert_int_eq(step->send.fields[SEND_SEQ].terms[0].conn, 0);
	ck_assert_int_eq(step->send.fields[SEND_SEQ].terms[0].side, SIDE_CLIENT);
	ck_assert_int_eq(step->send.fields[SEND_SEQ].terms[0].value, CONN_NXT);
	for (int field = 0; field < SEND_FIELD_COUNT; field++)
		ck_assert(field == SEND_SEQ || !step->send.fields[field].present);
	ck_assert(!step->send.sack_permitted && !step->send.timestamp && !step->send.bad_checksum);

	step = &s->steps[7];
	ck_assert_int_eq(step->expect.kind, EXPECT_VERDICT);
	ck_assert_int_eq(step->expect.verdict, VERDICT_INVALID);
	ck_assert(step->expect.has_reason && !step->expect.reason_none);
	ck_assert_str_eq(step->expect.reason, "invalid tcp flag combination");

	step = &s->steps[8];
	ck_assert_int_eq(step->expect.state, 3);
	ck_assert_int_eq(step->expect.assured, 0);
	ck_assert_int_eq(step->expect.seen_reply, 0);

	step = &s->steps[9];
	ck_assert_int_eq(step->expect.kind, EXPECT_STAT);
	ck_assert_str_eq(step->expect.counter, "invalid");
	ck_assert_int_eq(step->expect.delta, 1);
	scenario_free(s);
}
END_TEST

START_TEST(test_defaults)
{
	struct scenario *s = parse_ok("topology pair\nname a0_.-z");

	ck_assert_str_eq(s->name, "a0_.-z");
	ck_assert_str_eq(s->about, "");
	ck_assert_uint_eq(s->families, FAMILY_BOTH);
	ck_assert_uint_eq(s->n_steps, 0);
	ck_assert_uint_eq(s->n_conns, 0);
	scenario_free(s);

	s = parse_ok("name x\r\nabout  \r\nabout b\r\ntopology pair\r\nfamily ipv6\r\n");
	ck_assert_str_eq(s->about, "\nb");
	ck_assert_uint_eq(s->families, FAMILY_IPV6);
	scenario_free(s);
}
END_TEST

START_TEST(test_expressions)
{
	struct scenario *s = parse_ok(HEAD
		"connect c client -> server:80\n"
		"connect d2_x server -> client:443\n"
		"send client -> server tcp seq=c.client.nxt+d2_x.server.win+1000 "
		"ack=c.server.nxt-1 win=0x10 urg=0 sport=65535 tsval=4294967295 "
		"tsecr=d2_x.client.win-c.client.win\n");
	const struct send_step *send = &s->steps[2].send;
	const struct expr *seq = &send->fields[SEND_SEQ];
	const struct expr *ack = &send->fields[SEND_ACK];

	ck_assert_str_eq(s->conns[1], "d2_x");
	ck_assert_int_eq(s->steps[1].connect.conn, 1);
	ck_assert_int_eq(send->conn, -1);
	ck_assert(!send->has_flags);

	ck_assert_uint_eq(seq->n_terms, 3);
	ck_assert(seq->terms[0].is_conn && seq->terms[0].conn == 0);
	ck_assert(seq->terms[0].side == SIDE_CLIENT && seq->terms[0].value == CONN_NXT);
	ck_assert(seq->terms[1].is_conn && seq->terms[1].conn == 1 && seq->terms[1].sign == 1);
	ck_assert(seq->terms[1].side == SIDE_SERVER && seq->terms[1].value == CONN_WIN);
	ck_assert(!seq->terms[2].is_conn && seq->terms[2].number == 1000);
	ck_assert_int_eq(seq->terms[2].sign, 1);

	ck_assert_uint_eq(ack->n_terms, 2);
	ck_assert(ack->terms[0].side == SIDE_SERVER && ack->terms[0].value == CONN_NXT);
	ck_assert_int_eq(ack->terms[1].sign, -1);
	ck_assert_uint_eq(ack->terms[1].number, 1);

	ck_assert_uint_eq(send->fields[SEND_WIN].terms[0].number, 16);
	ck_assert(send->fields[SEND_URG].present);
	ck_assert_uint_eq(send->fields[SEND_URG].terms[0].number, 0);
	ck_assert_uint_eq(send->fields[SEND_SPORT].terms[0].number, 65535);
	ck_assert_uint_eq(send->fields[SEND_TSVAL].terms[0].number, 4294967295u);
	ck_assert(send->timestamp);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[1].sign, -1);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[1].conn, 0);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[1].side, SIDE_CLIENT);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[1].value, CONN_WIN);
	scenario_free(s);

	/* A pure expression is checked by its value, not by each number. */
	s = parse_ok(HEAD SEND "send client -> server tcp ttl=200+100-45 wscale=0x0e\n");
	ck_assert_uint_eq(s->steps[1].send.fields[SEND_TTL].n_terms, 3);
	ck_assert_uint_eq(s->steps[1].send.fields[SEND_WSCALE].terms[0].number, 14);
	scenario_free(s);
}
END_TEST

START_TEST(test_send_fields)
{
	struct scenario *s = parse_ok(HEAD
		"send server -> client tcp flags=FSRPAUEC sackok ts csum=bad doff=15 len=65000 "
		"mss=1460 wscale=7 ttl=1 tos=0xff truncate=40 dport=0\n"
		"send client -> server tcp flags=none csum=0x1234\n"
		"send client -> server tcp flags=AS tsecr=1\n");
	const struct send_step *send = &s->steps[0].send;

	ck_assert_str_eq(send->src, "server");
	ck_assert_str_eq(send->dst, "client");
	ck_assert_uint_eq(send->flags, 0xff);
	ck_assert(send->sack_permitted && send->timestamp && send->bad_checksum);
	ck_assert(!send->fields[SEND_CSUM].present);
	ck_assert_uint_eq(send->fields[SEND_DOFF].terms[0].number, 15);
	ck_assert_uint_eq(send->fields[SEND_LEN].terms[0].number, 65000);
	ck_assert_uint_eq(send->fields[SEND_MSS].terms[0].number, 1460);
	ck_assert_uint_eq(send->fields[SEND_WSCALE].terms[0].number, 7);
	ck_assert_uint_eq(send->fields[SEND_TTL].terms[0].number, 1);
	ck_assert_uint_eq(send->fields[SEND_TOS].terms[0].number, 255);
	ck_assert_uint_eq(send->fields[SEND_TRUNCATE].terms[0].number, 40);
	ck_assert(send->fields[SEND_DPORT].present);

	send = &s->steps[1].send;
	ck_assert(send->has_flags);
	ck_assert_uint_eq(send->flags, 0);
	ck_assert(!send->bad_checksum && !send->timestamp);
	ck_assert_uint_eq(send->fields[SEND_CSUM].terms[0].number, 0x1234);

	send = &s->steps[2].send;
	ck_assert_uint_eq(send->flags, TCP_FLAG_SYN | TCP_FLAG_ACK);
	ck_assert(send->timestamp);
	scenario_free(s);
}
END_TEST

START_TEST(test_since_start)
{
	struct scenario *s = parse_ok(HEAD CONN SEND
		"expect stat invalid +4 since start\n"
		"expect netstat server TcpExtPAWSEstab >=1 since start\n"
		"expect stat invalid +1\n");

	ck_assert(s->steps[2].expect.since_start);
	ck_assert_int_eq(s->steps[2].expect.delta, 4);
	ck_assert(s->steps[3].expect.since_start);
	ck_assert(!s->steps[4].expect.since_start);
	scenario_free(s);
	assert_error(HEAD CONN SEND "expect stat invalid +4 since\n",
		     "t.ct:5:29: expected start (since start: since before the run's first step "
		     "that sent), found end of line");
	assert_error(HEAD CONN SEND "expect stat invalid +4 since send\n",
		     "t.ct:5:30: expected start (since start: since before the run's first step "
		     "that sent), found send");
	assert_error(HEAD CONN SEND "expect netstat TcpOutRsts +1 after\n",
		     "t.ct:5:30: expected since start or end of line, found after");
}
END_TEST

START_TEST(test_reason_values)
{
	struct scenario *s = parse_ok(HEAD CONN SEND
		"expect verdict invalid reason \"over #{c.server.nxt+1} and # and #{c.client.win}\"\n"
		"expect packet server -> client tcp reason \"bound #{c.client.nxt}\"\n");
	const struct expect_step *expect = &s->steps[2].expect;

	ck_assert_uint_eq(expect->values.n, 2);
	ck_assert_uint_eq(expect->values.exprs[0].n_terms, 2);
	ck_assert(expect->values.exprs[0].terms[0].is_conn);
	ck_assert_uint_eq(expect->values.exprs[0].terms[1].number, 1);
	ck_assert(expect->values.exprs[1].terms[0].is_conn);
	ck_assert_str_eq(expect->reason, "over #{c.server.nxt+1} and # and #{c.client.win}");
	ck_assert_uint_eq(s->steps[3].expect.packet.values.n, 1);
	scenario_free(s);

	assert_error(HEAD CONN SEND "expect reason \"bound #{c.server.nxt\"\n",
		     "t.ct:5:15: expected a reason pattern whose #{ is closed by }, found "
		     "\"bound #{c.server.nxt\"");
	assert_error(HEAD CONN SEND "expect reason \"bound #{d.server.nxt}\"\n",
		     "t.ct:5:15: expected a number, a connection declared by connect or a packet "
		     "named by as, found d");
	assert_error(HEAD CONN SEND "expect reason \"#{1} #{2} #{3} #{4} #{5}\"\n",
		     "t.ct:5:15: expected at most 4 #{…} in a reason pattern, found "
		     "\"#{1} #{2} #{3} #{4} #{5}\"");
	assert_error(HEAD CONN SEND "expect reason \"bound #{}\"\n",
		     "t.ct:5:15: expected a number or CONN.client.nxt, found nothing");
}
END_TEST

START_TEST(test_send_sack_and_raw_options)
{
	struct scenario *s = parse_ok(HEAD CONN
		"send client -> server tcp conn=c sack=c.server.nxt+100:c.server.nxt+200,5:6 "
		"opt=1E0401020304\n"
		"send client -> server tcp ts sack=1:2,3:4,5:6\n");
	const struct send_step *send = &s->steps[1].send;

	ck_assert_uint_eq(send->n_sack, 2);
	ck_assert_uint_eq(send->sack[0].n_terms, 2);
	ck_assert(send->sack[0].terms[0].is_conn);
	ck_assert_uint_eq(send->sack[1].terms[1].number, 200);
	ck_assert_uint_eq(send->sack[2].terms[0].number, 5);
	ck_assert_uint_eq(send->sack[3].terms[0].number, 6);
	ck_assert_uint_eq(send->raw_len, 6);
	ck_assert_uint_eq(send->raw_options[0], 0x1e);
	ck_assert_uint_eq(send->raw_options[5], 0x04);
	ck_assert_uint_eq(s->steps[2].send.n_sack, 3);
	scenario_free(s);

	s = parse_ok(HEAD CONN "send client -> server tcp tsval=c.client.tsval-5 tsecr=c.server.tsecr\n");
	send = &s->steps[1].send;
	ck_assert(send->timestamp);
	ck_assert(send->fields[SEND_TSVAL].terms[0].is_conn);
	ck_assert_int_eq(send->fields[SEND_TSVAL].terms[0].value, CONN_TSVAL);
	ck_assert_int_eq(send->fields[SEND_TSVAL].terms[0].side, SIDE_CLIENT);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[0].value, CONN_TSECR);
	ck_assert_int_eq(send->fields[SEND_TSECR].terms[0].side, SIDE_SERVER);
	scenario_free(s);

	assert_error(HEAD "send client -> server tcp sack=1\n",
		     "t.ct:3:33: expected ':' and the right edge (sack=LEFT:RIGHT), found nothing");
	assert_error(HEAD "send client -> server tcp sack=1:2:3\n",
		     "t.ct:3:35: expected ',' or the end of the blocks, found :");
	assert_error(HEAD "send client -> server tcp sack=1,2\n",
		     "t.ct:3:33: expected ':' and the right edge (sack=LEFT:RIGHT), found ,");
	assert_error(HEAD "send client -> server tcp sack=1:\n",
		     "t.ct:3:34: expected a number or CONN.client.nxt, found nothing");
	assert_error(HEAD "send client -> server tcp sack=1:2,3:4,5:6,7:8,9:10\n",
		     "t.ct:3:47: expected at most 4 SACK blocks, found ,9:10");
	assert_error(HEAD "send client -> server tcp sack=1:4294967296\n",
		     "t.ct:3:34: expected a number 0..4294967295, found 4294967296");
	assert_error(HEAD "send client -> server tcp sack=1:2 sack=3:4\n",
		     "t.ct:3:36: expected each field at most once, found sack=3:4");
	assert_error(HEAD "send client -> server tcp opt=123\n",
		     "t.ct:3:31: expected 1..40 option bytes as pairs of hex digits, found 123");
	assert_error(HEAD "send client -> server tcp opt=\n",
		     "t.ct:3:31: expected 1..40 option bytes as pairs of hex digits, found nothing");
	assert_error(HEAD "send client -> server tcp opt=01zz\n",
		     "t.ct:3:33: expected two hex digits, found zz");
	/* 12 (timestamp) + 4 + 4 (MSS, window scale) + 28 (three blocks) = 48 */
	assert_error(HEAD "send client -> server tcp ts mss=1 wscale=1 sack=1:2,3:4,5:6\n",
		     "t.ct:3:45: expected TCP options of at most 40 bytes (these take 48), "
		     "found sack=1:2,3:4,5:6");
	assert_error(HEAD "send client -> server tcp sackok opt=" 
		     "0101010101010101010101010101010101010101010101010101010101010101010101010101\n",
		     "t.ct:3:34: expected TCP options of at most 40 bytes (these take 44), found "
		     "opt=0101010101010101010101010101010101010101010101010101010101010101010101010101");
}
END_TEST

START_TEST(test_expects)
{
	struct scenario *s = parse_ok(HEAD CONN
		"expect ct c gone\n"
		SEND
		"expect verdict new\n"
		"expect verdict untracked reason none\n"
		"expect reason \"window: \\\"#\\\" \\\\ ok\"\n"
		"expect reason none\n"
		"expect ct c state syn_sent2 seen_reply\n"
		"expect stat search_restart -2\n"
		"expect stat entries 3\n"
		"expect stat insert_failed 0x0\n");
	const struct step *steps = s->steps;

	ck_assert(steps[1].expect.kind == EXPECT_CT && steps[1].expect.gone);
	ck_assert_int_eq(steps[1].expect.conn, 0);
	ck_assert_int_eq(steps[3].expect.verdict, VERDICT_NEW);
	ck_assert(!steps[3].expect.has_reason);
	/* Unused checks stay off. */
	ck_assert_int_eq(steps[3].expect.conn, -1);
	ck_assert_int_eq(steps[3].expect.state, -1);
	ck_assert_int_eq(steps[3].expect.assured, -1);
	ck_assert_int_eq(steps[3].expect.seen_reply, -1);
	ck_assert_int_eq(steps[4].expect.verdict, VERDICT_UNTRACKED);
	ck_assert(steps[4].expect.has_reason && steps[4].expect.reason_none);
	ck_assert_int_eq(steps[5].expect.kind, EXPECT_REASON);
	ck_assert_str_eq(steps[5].expect.reason, "window: \"#\" \\ ok");
	ck_assert(steps[6].expect.has_reason && steps[6].expect.reason_none);
	ck_assert_int_eq(steps[7].expect.state, 9);
	ck_assert_int_eq(steps[7].expect.assured, -1);
	ck_assert_int_eq(steps[7].expect.seen_reply, 1);
	ck_assert_str_eq(steps[8].expect.counter, "search_restart");
	ck_assert_int_eq(steps[8].expect.delta, -2);
	ck_assert_int_eq(steps[9].expect.delta, 3);
	ck_assert_int_eq(steps[10].expect.delta, 0);
	ck_assert_int_eq(steps[10].pos.line, 13);
	scenario_free(s);
}
END_TEST

START_TEST(test_many_steps)
{
	size_t size = 64 * 1024;
	char *text = malloc(size);
	size_t used = (size_t)snprintf(text, size, HEAD);
	struct scenario *s;

	for (int i = 0; i < 200; i++)
		used += (size_t)snprintf(text + used, size - used, "listen server:%d\n", i + 1);
	for (int i = 0; i < SCENARIO_CONNS_MAX; i++)
		used += (size_t)snprintf(text + used, size - used,
					 "connect c%d client -> server:80\n", i);
	s = parse_ok(text);
	ck_assert_uint_eq(s->n_steps, 200 + SCENARIO_CONNS_MAX);
	ck_assert_uint_eq(s->steps[199].listen.port, 200);
	ck_assert_int_eq(s->steps[199].pos.line, 202);
	ck_assert_str_eq(s->conns[SCENARIO_CONNS_MAX - 1], "c15");
	scenario_free(s);

	snprintf(text + used, size - used, "connect c99 client -> server:80\n");
	assert_error(text, "t.ct:219:9: expected at most 16 connections, found c99");
	free(text);
}
END_TEST

START_TEST(test_variants_and_conditions)
{
	struct scenario *s = parse_ok(
		"name t\n"
		"variant strict\n"
		"variant liberal\n"
		"variant be-liberal_2\n"
		"kernel >= 6.0\n"
		"kernel < 6.12.3\n"
		"topology pair\n"
		"@liberal sysctl server nf_conntrack_tcp_be_liberal=1\n"
		"@strict,be-liberal_2 listen server:80\n"
		"@kernel>=6.1 listen server:81\n"
		"  @liberal,kernel<6.1,kernel>=5.15.2 listen server:82  # comment\n"
		"listen server:83\n");
	const struct step *steps = s->steps;

	ck_assert_uint_eq(s->n_variants, 3);
	ck_assert_str_eq(s->variants[0], "strict");
	ck_assert_str_eq(s->variants[1], "liberal");
	ck_assert_str_eq(s->variants[2], "be-liberal_2");
	ck_assert_uint_eq(s->kernel_min, CTLAB_KERNEL_VERSION(6, 0, 0));
	ck_assert_uint_eq(s->kernel_below, CTLAB_KERNEL_VERSION(6, 12, 3));
	ck_assert_uint_eq(s->n_steps, 5);

	ck_assert_int_eq(steps[0].kind, STEP_SYSCTL);
	ck_assert_uint_eq(steps[0].when.variants, 1u << 1);
	ck_assert_uint_eq(steps[0].when.kernel_min, 0);
	ck_assert_uint_eq(steps[0].when.kernel_below, 0);
	ck_assert_str_eq(steps[0].text, "@liberal sysctl server nf_conntrack_tcp_be_liberal=1");
	ck_assert_str_eq(steps[0].sysctl.host, "server");
	ck_assert_uint_eq(steps[1].when.variants, (1u << 0) | (1u << 2));
	ck_assert_uint_eq(steps[1].listen.port, 80);
	ck_assert_uint_eq(steps[2].when.variants, 0);
	ck_assert_uint_eq(steps[2].when.kernel_min, CTLAB_KERNEL_VERSION(6, 1, 0));
	ck_assert_uint_eq(steps[3].when.variants, 1u << 1);
	ck_assert_uint_eq(steps[3].when.kernel_min, CTLAB_KERNEL_VERSION(5, 15, 2));
	ck_assert_uint_eq(steps[3].when.kernel_below, CTLAB_KERNEL_VERSION(6, 1, 0));
	ck_assert_int_eq(steps[3].pos.line, 11);
	ck_assert_int_eq(steps[3].pos.column, 3);
	ck_assert_str_eq(steps[3].text, "@liberal,kernel<6.1,kernel>=5.15.2 listen server:82");
	ck_assert_uint_eq(steps[3].listen.port, 82);
	ck_assert_uint_eq(steps[4].when.variants, 0);
	ck_assert_uint_eq(steps[4].when.kernel_min, 0);
	ck_assert_uint_eq(steps[4].when.kernel_below, 0);
	scenario_free(s);

	/* A variant may be called kernel; only kernel>= and kernel< are bounds. */
	s = parse_ok(HEAD "variant kernel\nvariant k8\n@kernel,k8 listen server:80\n");
	ck_assert_uint_eq(s->steps[0].when.variants, 3);
	ck_assert_uint_eq(s->steps[0].when.kernel_min, 0);
	scenario_free(s);

	/* The largest number of variants. */
	s = parse_ok(HEAD "variant a\nvariant b\nvariant c\nvariant d\n"
		     "variant e\nvariant f\nvariant g\nvariant h\n@h,a listen server:1\n");
	ck_assert_uint_eq(s->n_variants, SCENARIO_VARIANTS_MAX);
	ck_assert_uint_eq(s->steps[0].when.variants, 0x81);
	scenario_free(s);
}
END_TEST

START_TEST(test_condition_holds)
{
	const uint32_t v5_15 = CTLAB_KERNEL_VERSION(5, 15, 0);
	const uint32_t v6_0 = CTLAB_KERNEL_VERSION(6, 0, 0);
	const uint32_t v6_1 = CTLAB_KERNEL_VERSION(6, 1, 0);
	struct condition always = { 0 };
	struct condition liberal = { .variants = 1u << 1 };
	struct condition strict_or_loose = { .variants = (1u << 0) | (1u << 2) };
	struct condition from_6_0 = { .kernel_min = v6_0 };
	struct condition before_6_1 = { .kernel_below = v6_1 };
	struct condition liberal_6_0 = { .variants = 1u << 1, .kernel_min = v6_0,
					 .kernel_below = v6_1 };

	ck_assert(condition_holds(&always, -1, FAMILY_IPV4, v5_15));
	ck_assert(condition_holds(&always, 0, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&always, 7, FAMILY_IPV4, 0));

	ck_assert(!condition_holds(&liberal, -1, FAMILY_IPV4, v6_0));
	ck_assert(!condition_holds(&liberal, 0, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&liberal, 1, FAMILY_IPV4, v6_0));
	ck_assert(!condition_holds(&liberal, 2, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&strict_or_loose, 0, FAMILY_IPV4, v6_0));
	ck_assert(!condition_holds(&strict_or_loose, 1, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&strict_or_loose, 2, FAMILY_IPV4, v6_0));
	ck_assert(!condition_holds(&strict_or_loose, SCENARIO_VARIANTS_MAX, FAMILY_IPV4, v6_0));

	ck_assert(!condition_holds(&from_6_0, -1, FAMILY_IPV4, v5_15));
	ck_assert(condition_holds(&from_6_0, -1, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&from_6_0, 3, FAMILY_IPV4, v6_1));
	ck_assert(condition_holds(&before_6_1, -1, FAMILY_IPV4, v6_0));
	ck_assert(condition_holds(&before_6_1, -1, FAMILY_IPV4, CTLAB_KERNEL_VERSION(6, 0, 255)));
	ck_assert(!condition_holds(&before_6_1, -1, FAMILY_IPV4, v6_1));

	ck_assert(!condition_holds(&liberal_6_0, 1, FAMILY_IPV4, v5_15));
	ck_assert(condition_holds(&liberal_6_0, 1, FAMILY_IPV4, CTLAB_KERNEL_VERSION(6, 0, 9)));
	ck_assert(!condition_holds(&liberal_6_0, 1, FAMILY_IPV4, v6_1));
	ck_assert(!condition_holds(&liberal_6_0, 0, FAMILY_IPV4, v6_0));
	ck_assert(!condition_holds(&liberal_6_0, -1, FAMILY_IPV4, v6_0));
	{
		struct condition v6_only = { .families = FAMILY_IPV6 };

		ck_assert(!condition_holds(&v6_only, -1, FAMILY_IPV4, v6_0));
		ck_assert(condition_holds(&v6_only, -1, FAMILY_IPV6, v6_0));
	}
}
END_TEST

START_TEST(test_kernel_version_parse)
{
	static const char *const bad[] = {
		"", "6", "6.", ".6", "6..1", "6.0.", "6.0.1.2", "6.0-rc1", "6.x", "v6.0",
		" 6.0", "6.0 ", "+6.0", "6,0", "256.0", "6.256", "99999999.0", "6.0.99999999",
	};
	uint32_t version = 42;

	ck_assert_int_eq(kernel_version_parse("6.0", &version), 0);
	ck_assert_uint_eq(version, 0x060000);
	ck_assert_int_eq(kernel_version_parse("5.12.3", &version), 0);
	ck_assert_uint_eq(version, 0x050c03);
	ck_assert_int_eq(kernel_version_parse("0.0", &version), 0);
	ck_assert_uint_eq(version, 0);
	ck_assert_int_eq(kernel_version_parse("255.255.255", &version), 0);
	ck_assert_uint_eq(version, 0xffffff);
	ck_assert_int_eq(kernel_version_parse("06.01", &version), 0);
	ck_assert_uint_eq(version, CTLAB_KERNEL_VERSION(6, 1, 0));
	/* Patch levels over 255 are clamped, as the kernel's KERNEL_VERSION() does. */
	ck_assert_int_eq(kernel_version_parse("4.9.337", &version), 0);
	ck_assert_uint_eq(version, CTLAB_KERNEL_VERSION(4, 9, 255));
	ck_assert_uint_lt(version, CTLAB_KERNEL_VERSION(4, 10, 0));

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		version = 42;
		ck_assert_msg(kernel_version_parse(bad[i], &version) == -1, "parsed \"%s\"", bad[i]);
		ck_assert_uint_eq(version, 42);
	}
}
END_TEST

START_TEST(test_socket_and_ct_steps)
{
	struct scenario *s = parse_ok(HEAD
		"connect c client -> server:80 tcp\n"
		"connect u client -> server:53 udp\n"
		"write c.client 100\n"
		"read c.server 1000000\n"
		"shutdown c.client\n"
		"close c.server rst\n"
		"close c.client\n"
		"wait c.client state time_wait\n"
		"write u.client 1\n"
		"read u.server 1\n"
		"close u.server\n"
		"wait ct c state ESTABLISHED\n"
		"wait ct c gone\n"
		"delete ct c\n"
		"wait ct u gone\n"
		"delete ct u\n");
	const struct step *steps = s->steps;

	ck_assert_uint_eq(s->n_conns, 2);
	ck_assert_int_eq(steps[0].connect.protocol, PROTO_TCP);
	ck_assert_int_eq(steps[1].connect.protocol, PROTO_UDP);
	ck_assert_int_eq(steps[1].connect.conn, 1);
	ck_assert_uint_eq(steps[1].connect.port, 53);
	ck_assert_int_eq(s->conn_protocols[0], PROTO_TCP);
	ck_assert_int_eq(s->conn_protocols[1], PROTO_UDP);

	ck_assert_int_eq(steps[2].kind, STEP_SOCKET);
	ck_assert_int_eq(steps[2].socket.action, SOCKET_WRITE);
	ck_assert_int_eq(steps[2].socket.endpoint.conn, 0);
	ck_assert_int_eq(steps[2].socket.endpoint.side, SIDE_CLIENT);
	ck_assert_uint_eq(steps[2].socket.bytes, 100);
	ck_assert(!steps[2].socket.abort);
	ck_assert_int_eq(steps[2].socket.state, -1);
	ck_assert_int_eq(steps[3].socket.action, SOCKET_READ);
	ck_assert_int_eq(steps[3].socket.endpoint.side, SIDE_SERVER);
	ck_assert_uint_eq(steps[3].socket.bytes, 1000000);
	ck_assert_int_eq(steps[4].socket.action, SOCKET_SHUTDOWN);
	ck_assert_int_eq(steps[4].socket.endpoint.side, SIDE_CLIENT);
	ck_assert_int_eq(steps[5].socket.action, SOCKET_CLOSE);
	ck_assert_int_eq(steps[5].socket.endpoint.side, SIDE_SERVER);
	ck_assert(steps[5].socket.abort);
	ck_assert_int_eq(steps[6].socket.action, SOCKET_CLOSE);
	ck_assert(!steps[6].socket.abort);
	ck_assert_int_eq(steps[7].socket.action, SOCKET_WAIT);
	ck_assert_int_eq(steps[7].socket.state, TCP_TIME_WAIT);
	ck_assert_int_eq(steps[8].socket.endpoint.conn, 1);
	ck_assert_uint_eq(steps[8].socket.bytes, 1);
	ck_assert_int_eq(steps[9].socket.action, SOCKET_READ);
	ck_assert_int_eq(steps[10].socket.action, SOCKET_CLOSE);

	ck_assert_int_eq(steps[11].kind, STEP_CT);
	ck_assert(!steps[11].ct.delete && !steps[11].ct.gone);
	ck_assert_int_eq(steps[11].ct.conn, 0);
	ck_assert_int_eq(steps[11].ct.state, 3);
	ck_assert_int_eq(steps[12].kind, STEP_CT);
	ck_assert(steps[12].ct.gone && !steps[12].ct.delete);
	ck_assert_int_eq(steps[12].ct.state, -1);
	ck_assert_int_eq(steps[13].kind, STEP_CT);
	ck_assert(steps[13].ct.delete && !steps[13].ct.gone);
	ck_assert_int_eq(steps[13].ct.state, -1);
	ck_assert_int_eq(steps[13].ct.conn, 0);
	ck_assert(steps[14].ct.gone);
	ck_assert_int_eq(steps[14].ct.conn, 1);
	ck_assert(steps[15].ct.delete);
	ck_assert_int_eq(steps[15].ct.conn, 1);
	scenario_free(s);
}
END_TEST

START_TEST(test_udp_icmp_sends)
{
	struct scenario *s = parse_ok(HEAD CONN
		"connect u client -> server:53 udp\n"
		"send client -> server udp conn=u sport=1 dport=2 len=10 ulen=0 ttl=1 tos=2 "
		"csum=0 truncate=20\n"
		"send server -> client icmp type=port-unreachable code=3 quote=u.client "
		"mtu=1280 icmpid=7 icmpseq=65535 len=8 ttl=64 tos=0 csum=bad truncate=30\n"
		"send client -> server icmp type=8 icmpid=0x10\n"
		"send client -> server udp conn=c ulen=65535\n"
		"send server -> client icmp type=too-big mtu=0 quote=c.server\n"
		"send server -> client icmp\n");
	const struct send_step *send = &s->steps[2].send;

	ck_assert_int_eq(send->protocol, PROTO_UDP);
	ck_assert_int_eq(send->conn, 1);
	ck_assert_uint_eq(send->fields[SEND_SPORT].terms[0].number, 1);
	ck_assert_uint_eq(send->fields[SEND_DPORT].terms[0].number, 2);
	ck_assert_uint_eq(send->fields[SEND_LEN].terms[0].number, 10);
	ck_assert(send->fields[SEND_ULEN].present);
	ck_assert_uint_eq(send->fields[SEND_ULEN].terms[0].number, 0);
	ck_assert_uint_eq(send->fields[SEND_TTL].terms[0].number, 1);
	ck_assert_uint_eq(send->fields[SEND_TOS].terms[0].number, 2);
	/* csum=0 is a number like any other: "no checksum" in IPv4 UDP. */
	ck_assert(send->fields[SEND_CSUM].present && !send->bad_checksum);
	ck_assert_uint_eq(send->fields[SEND_CSUM].terms[0].number, 0);
	ck_assert_uint_eq(send->fields[SEND_TRUNCATE].terms[0].number, 20);
	ck_assert(!send->has_flags && !send->has_quote);
	ck_assert_int_eq(send->icmp_message, ICMP_MSG_NONE);

	send = &s->steps[3].send;
	ck_assert_int_eq(send->protocol, PROTO_ICMP);
	ck_assert_str_eq(send->src, "server");
	ck_assert_int_eq(send->conn, -1);
	ck_assert_int_eq(send->icmp_message, ICMP_MSG_PORT_UNREACHABLE);
	ck_assert(!send->fields[SEND_TYPE].present);
	ck_assert_uint_eq(send->fields[SEND_CODE].terms[0].number, 3);
	ck_assert(send->has_quote);
	ck_assert_int_eq(send->quote.conn, 1);
	ck_assert_int_eq(send->quote.side, SIDE_CLIENT);
	ck_assert_uint_eq(send->fields[SEND_MTU].terms[0].number, 1280);
	ck_assert_uint_eq(send->fields[SEND_ICMP_ID].terms[0].number, 7);
	ck_assert_uint_eq(send->fields[SEND_ICMP_SEQ].terms[0].number, 65535);
	ck_assert_uint_eq(send->fields[SEND_LEN].terms[0].number, 8);
	ck_assert_uint_eq(send->fields[SEND_TTL].terms[0].number, 64);
	ck_assert(send->fields[SEND_TOS].present);
	ck_assert(send->bad_checksum && !send->fields[SEND_CSUM].present);
	ck_assert_uint_eq(send->fields[SEND_TRUNCATE].terms[0].number, 30);

	send = &s->steps[4].send;
	ck_assert_int_eq(send->icmp_message, ICMP_MSG_NONE);
	ck_assert(send->fields[SEND_TYPE].present);
	ck_assert_uint_eq(send->fields[SEND_TYPE].terms[0].number, 8);
	ck_assert_uint_eq(send->fields[SEND_ICMP_ID].terms[0].number, 16);
	ck_assert(!send->has_quote);

	/* A UDP packet may take its ports from a TCP connection. */
	send = &s->steps[5].send;
	ck_assert_int_eq(send->conn, 0);
	ck_assert_uint_eq(send->fields[SEND_ULEN].terms[0].number, 65535);

	send = &s->steps[6].send;
	ck_assert_int_eq(send->icmp_message, ICMP_MSG_TOO_BIG);
	ck_assert(send->fields[SEND_MTU].present);
	ck_assert_int_eq(send->quote.conn, 0);
	ck_assert_int_eq(send->quote.side, SIDE_SERVER);

	send = &s->steps[7].send;
	ck_assert_int_eq(send->protocol, PROTO_ICMP);
	ck_assert_int_eq(send->icmp_message, ICMP_MSG_NONE);
	for (int field = 0; field < SEND_FIELD_COUNT; field++)
		ck_assert(!send->fields[field].present);
	scenario_free(s);
}
END_TEST

START_TEST(test_new_expects)
{
	struct scenario *s = parse_ok(HEAD CONN
		"connect u client -> server:53 udp\n"
		"expect verdict established\n"
		"expect stat new +2\n"
		"expect ct c state ESTABLISHED timeout 100..432000\n"
		"expect ct c assured\n"
		"expect ct c timeout 0..0 !seen_reply state close\n"
		"expect ct u assured seen_reply timeout 1..30\n"
		"expect packet server -> client tcp flags=R seq=c.server.nxt ack=0 verdict invalid\n"
		"expect no packet server -> client icmp type=port-unreachable\n"
		"expect packet client -> server icmp verdict related type=3\n"
		"expect packet client -> server udp\n"
		"expect socket c.client error ECONNRESET\n"
		"expect socket c.client error none\n"
		"expect socket c.server state close_wait\n"
		"expect socket u.client error ECONNREFUSED\n"
		"expect packet client -> server tcp reason \"invalid rst\" verdict invalid\n"
		"expect no packet server -> client tcp reason none\n"
		"expect packet client -> server udp dport=53 sport=40000+1\n");
	const struct step *steps = s->steps;
	const struct packet_match *packet;

	packet = &steps[18].expect.packet;
	ck_assert(packet->dport.present && packet->sport.present && !packet->seq.present);

	packet = &steps[16].expect.packet;
	ck_assert(packet->has_reason && !packet->reason_none);
	ck_assert_str_eq(packet->reason, "invalid rst");
	ck_assert_int_eq(packet->verdict, VERDICT_INVALID);
	packet = &steps[17].expect.packet;
	ck_assert(packet->absent && packet->has_reason && packet->reason_none);

	/* A connect sends: the verdict and stat of its last packet. */
	ck_assert_int_eq(steps[2].expect.kind, EXPECT_VERDICT);
	ck_assert_int_eq(steps[2].expect.timeout_min, -1);
	ck_assert_int_eq(steps[2].expect.timeout_max, -1);
	ck_assert_int_eq(steps[2].expect.socket_errno, -1);
	ck_assert_int_eq(steps[2].expect.socket_state, -1);
	ck_assert_int_eq(steps[2].expect.endpoint.conn, -1);
	ck_assert_int_eq(steps[2].expect.packet.verdict, VERDICT_UNSEEN);
	ck_assert_int_eq(steps[3].expect.kind, EXPECT_STAT);

	ck_assert_int_eq(steps[4].expect.kind, EXPECT_CT);
	ck_assert_int_eq(steps[4].expect.state, 3);
	ck_assert_int_eq(steps[4].expect.timeout_min, 100);
	ck_assert_int_eq(steps[4].expect.timeout_max, 432000);
	ck_assert_int_eq(steps[4].expect.assured, -1);
	ck_assert_int_eq(steps[5].expect.state, -1);
	ck_assert_int_eq(steps[5].expect.assured, 1);
	ck_assert_int_eq(steps[5].expect.seen_reply, -1);
	ck_assert_int_eq(steps[5].expect.timeout_min, -1);
	ck_assert_int_eq(steps[5].expect.timeout_max, -1);
	ck_assert_int_eq(steps[6].expect.state, 8);
	ck_assert_int_eq(steps[6].expect.seen_reply, 0);
	ck_assert_int_eq(steps[6].expect.timeout_min, 0);
	ck_assert_int_eq(steps[6].expect.timeout_max, 0);
	ck_assert_int_eq(steps[7].expect.conn, 1);
	ck_assert_int_eq(steps[7].expect.state, -1);
	ck_assert_int_eq(steps[7].expect.assured, 1);
	ck_assert_int_eq(steps[7].expect.seen_reply, 1);
	ck_assert_int_eq(steps[7].expect.timeout_min, 1);
	ck_assert_int_eq(steps[7].expect.timeout_max, 30);

	packet = &steps[8].expect.packet;
	ck_assert_int_eq(steps[8].expect.kind, EXPECT_PACKET);
	ck_assert_str_eq(packet->src, "server");
	ck_assert_str_eq(packet->dst, "client");
	ck_assert_int_eq(packet->protocol, PROTO_TCP);
	ck_assert(packet->has_flags && packet->flags == TCP_FLAG_RST);
	ck_assert(packet->seq.present && packet->seq.terms[0].is_conn);
	ck_assert_int_eq(packet->seq.terms[0].side, SIDE_SERVER);
	ck_assert_int_eq(packet->seq.terms[0].value, CONN_NXT);
	ck_assert(packet->ack.present && !packet->ack.terms[0].is_conn);
	ck_assert_uint_eq(packet->ack.terms[0].number, 0);
	ck_assert(!packet->has_type);
	ck_assert_int_eq(packet->verdict, VERDICT_INVALID);
	ck_assert(!packet->absent);
	ck_assert_int_eq(steps[8].expect.conn, -1);

	packet = &steps[9].expect.packet;
	ck_assert(packet->absent);
	ck_assert_int_eq(packet->protocol, PROTO_ICMP);
	ck_assert(packet->has_type);
	ck_assert_int_eq(packet->icmp_message, ICMP_MSG_PORT_UNREACHABLE);
	ck_assert_int_eq(packet->verdict, VERDICT_UNSEEN);
	ck_assert(!packet->has_flags && !packet->seq.present && !packet->ack.present);

	packet = &steps[10].expect.packet;
	ck_assert(packet->has_type);
	ck_assert_int_eq(packet->icmp_message, ICMP_MSG_NONE);
	ck_assert_uint_eq(packet->icmp_type, 3);
	ck_assert_int_eq(packet->verdict, VERDICT_RELATED);

	packet = &steps[11].expect.packet;
	ck_assert_int_eq(packet->protocol, PROTO_UDP);
	ck_assert(!packet->has_type && !packet->has_flags && !packet->absent);
	ck_assert_int_eq(packet->verdict, VERDICT_UNSEEN);

	ck_assert_int_eq(steps[12].expect.kind, EXPECT_SOCKET);
	ck_assert_int_eq(steps[12].expect.endpoint.conn, 0);
	ck_assert_int_eq(steps[12].expect.endpoint.side, SIDE_CLIENT);
	ck_assert_int_eq(steps[12].expect.socket_errno, ECONNRESET);
	ck_assert_int_eq(steps[12].expect.socket_state, -1);
	ck_assert_int_eq(steps[13].expect.socket_errno, 0);
	ck_assert_int_eq(steps[14].expect.endpoint.side, SIDE_SERVER);
	ck_assert_int_eq(steps[14].expect.socket_state, TCP_CLOSE_WAIT);
	ck_assert_int_eq(steps[14].expect.socket_errno, -1);
	ck_assert_int_eq(steps[15].expect.endpoint.conn, 1);
	ck_assert_int_eq(steps[15].expect.socket_errno, ECONNREFUSED);
	scenario_free(s);

	/* A socket step sends too. */
	s = parse_ok(HEAD "listen server:80\n" CONN "connect d client -> server:81\n"
		     "expect stat new +1\nclose d.client rst\nexpect verdict established\n"
		     "expect packet client -> server tcp flags=R\n");
	ck_assert_int_eq(s->steps[5].expect.kind, EXPECT_VERDICT);
	scenario_free(s);
}
END_TEST

START_TEST(test_tables)
{
	enum verdict verdict;

	ck_assert_str_eq(verdict_name(VERDICT_UNSEEN), "unseen");
	ck_assert_str_eq(verdict_name(VERDICT_ESTABLISHED), "established");
	ck_assert_str_eq(verdict_name(VERDICT_UNTRACKED), "untracked");
	ck_assert_int_eq(verdict_parse("related", &verdict), 0);
	ck_assert_int_eq(verdict, VERDICT_RELATED);
	ck_assert_int_eq(verdict_parse("unseen", &verdict), -1);
	ck_assert_int_eq(verdict_parse("NEW", &verdict), -1);

	ck_assert_str_eq(tcp_state_name(0), "NONE");
	ck_assert_str_eq(tcp_state_name(7), "TIME_WAIT");
	ck_assert_str_eq(tcp_state_name(9), "SYN_SENT2");
	ck_assert_str_eq(tcp_state_name(10), "?");
	ck_assert_int_eq(tcp_state_parse("close_wait"), 5);
	ck_assert_int_eq(tcp_state_parse("SYN_RECV"), 2);
	ck_assert_int_eq(tcp_state_parse("LISTEN"), -1);

	ck_assert_str_eq(send_field_name(SEND_SPORT), "sport");
	ck_assert_str_eq(send_field_name(SEND_TRUNCATE), "truncate");
	ck_assert_str_eq(send_field_name(SEND_CSUM), "csum");

	ck_assert_str_eq(send_field_name(SEND_ULEN), "ulen");
	ck_assert_str_eq(send_field_name(SEND_TYPE), "type");
	ck_assert_str_eq(send_field_name(SEND_MTU), "mtu");
	ck_assert_str_eq(send_field_name(SEND_ICMP_ID), "icmpid");
	ck_assert_str_eq(send_field_name(SEND_ICMP_SEQ), "icmpseq");
	ck_assert_str_eq(send_field_name(SEND_FIELD_COUNT), "?");

	ck_assert_str_eq(protocol_name(PROTO_TCP), "tcp");
	ck_assert_str_eq(protocol_name(PROTO_UDP), "udp");
	ck_assert_str_eq(protocol_name(PROTO_ICMP), "icmp");
	ck_assert_str_eq(protocol_name(PROTO_ICMP + 1), "?");

	ck_assert_str_eq(icmp_message_name(ICMP_MSG_NONE), "?");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_ECHO_REQUEST), "echo-request");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_ECHO_REPLY), "echo-reply");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_PORT_UNREACHABLE), "port-unreachable");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_HOST_UNREACHABLE), "host-unreachable");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_ADMIN_PROHIBITED), "admin-prohibited");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_TOO_BIG), "too-big");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_TIME_EXCEEDED), "time-exceeded");
	ck_assert_str_eq(icmp_message_name(ICMP_MSG_COUNT), "?");

	/* Numbered as tcp_info reports them. */
	ck_assert_int_eq(socket_state_parse("ESTABLISHED"), TCP_ESTABLISHED);
	ck_assert_int_eq(socket_state_parse("established"), 1);
	ck_assert_int_eq(socket_state_parse("SYN_SENT"), TCP_SYN_SENT);
	ck_assert_int_eq(socket_state_parse("Syn_Recv"), TCP_SYN_RECV);
	ck_assert_int_eq(socket_state_parse("FIN_WAIT1"), TCP_FIN_WAIT1);
	ck_assert_int_eq(socket_state_parse("FIN_WAIT2"), TCP_FIN_WAIT2);
	ck_assert_int_eq(socket_state_parse("TIME_WAIT"), TCP_TIME_WAIT);
	ck_assert_int_eq(socket_state_parse("CLOSE"), TCP_CLOSE);
	ck_assert_int_eq(socket_state_parse("CLOSE_WAIT"), TCP_CLOSE_WAIT);
	ck_assert_int_eq(socket_state_parse("LAST_ACK"), TCP_LAST_ACK);
	ck_assert_int_eq(socket_state_parse("LISTEN"), TCP_LISTEN);
	ck_assert_int_eq(socket_state_parse("CLOSING"), 11);
	ck_assert_int_eq(socket_state_parse("FIN_WAIT"), -1);
	ck_assert_int_eq(socket_state_parse("NONE"), -1);
	ck_assert_int_eq(socket_state_parse(""), -1);
	ck_assert_str_eq(socket_state_name(TCP_ESTABLISHED), "ESTABLISHED");
	ck_assert_str_eq(socket_state_name(TCP_FIN_WAIT1), "FIN_WAIT1");
	ck_assert_str_eq(socket_state_name(TCP_CLOSING), "CLOSING");
	ck_assert_str_eq(socket_state_name(0), "?");
	ck_assert_str_eq(socket_state_name(12), "?");
	ck_assert_str_eq(socket_state_name(-1), "?");

	ck_assert_int_eq(socket_errno_parse("ECONNRESET"), ECONNRESET);
	ck_assert_int_eq(socket_errno_parse("ECONNREFUSED"), ECONNREFUSED);
	ck_assert_int_eq(socket_errno_parse("ETIMEDOUT"), ETIMEDOUT);
	ck_assert_int_eq(socket_errno_parse("EPIPE"), EPIPE);
	ck_assert_int_eq(socket_errno_parse("EHOSTUNREACH"), EHOSTUNREACH);
	ck_assert_int_eq(socket_errno_parse("ENETUNREACH"), ENETUNREACH);
	ck_assert_int_eq(socket_errno_parse("none"), 0);
	ck_assert_int_eq(socket_errno_parse("EAGAIN"), -1);
	ck_assert_int_eq(socket_errno_parse("econnreset"), -1);

	ck_assert_str_eq(scenario_topology_hosts("pair")[0], "client");
	ck_assert_str_eq(scenario_topology_hosts("pair")[1], "server");
	ck_assert_ptr_null(scenario_topology_hosts("pair")[2]);
	ck_assert_ptr_null(scenario_topology_hosts("star"));
}
END_TEST

/* ---- Bad files: one per kind of mistake ---- */

START_TEST(test_error_statement)
{
	assert_error(HEAD "bogus x\n",
		     "t.ct:3:1: expected a statement (" STATEMENTS "), found bogus");
	assert_error(HEAD "  \"send\" client\n",
		     "t.ct:3:3: expected a statement (" STATEMENTS "), found \"send\"");
	assert_error(HEAD "expect\n",
		     "t.ct:3:7: expected an expectation (verdict, reason, ct, stat, packet, wire, "
		     "no packet, no wire, no kmsg, socket, entries, kmsg, counter, netstat), found end of line");
}
END_TEST

START_TEST(test_error_missing_header)
{
	assert_error("", "t.ct:1:1: expected a name statement, found end of file");
	assert_error("topology pair\n# the end\n",
		     "t.ct:3:1: expected a name statement, found end of file");
	assert_error("name x", "t.ct:2:1: expected a topology statement, found end of file");
	assert_error("name x\nlisten server:80\n",
		     "t.ct:2:1: expected a topology statement before the first step, found listen");
	assert_error("name x\n\tsend client\n",
		     "t.ct:2:2: expected a topology statement before the first step, found send");
}
END_TEST

START_TEST(test_error_header)
{
	assert_error("name\n", "t.ct:1:5: expected a name, found end of line");
	assert_error("name Foo\n", "t.ct:1:6: expected a name of [a-z0-9][a-z0-9_.-]*, "
		     "at most 63 characters, found Foo");
	assert_error("name _x\n", "t.ct:1:6: expected a name of [a-z0-9][a-z0-9_.-]*, "
		     "at most 63 characters, found _x");
	assert_error("name a234567890123456789012345678901234567890123456789012345678901234\n",
		     "t.ct:1:6: expected a name of [a-z0-9][a-z0-9_.-]*, at most 63 characters, "
		     "found a234567890123456789012345678901234567890123456789012345678901234");
	assert_error("name x\nname y\n", "t.ct:2:1: expected one name or fact statement, found a second one");
	assert_error("name x y\n", "t.ct:1:8: expected end of line, found y");
	assert_error("name x\ntopology star\n",
		     "t.ct:2:10: expected a topology (pair, routed), found star");
	assert_error(HEAD "topology pair\n",
		     "t.ct:3:1: expected one topology statement, found a second one");
	assert_error(HEAD "family ipv5\n",
		     "t.ct:3:8: expected a family (ipv4, ipv6, both), found ipv5");
	assert_error(HEAD "family\n",
		     "t.ct:3:7: expected a family (ipv4, ipv6, both), found end of line");
	assert_error(HEAD "family both\nfamily ipv4\n",
		     "t.ct:4:1: expected one family statement, found a second one");
}
END_TEST

START_TEST(test_error_strings)
{
	assert_error(HEAD "nft client \"table inet t\n",
		     "t.ct:3:12: expected a closing \", found end of line");
	assert_error(HEAD "nft client \"a\\\" # b\n",
		     "t.ct:3:12: expected a closing \", found end of line");
	assert_error(HEAD "nft client \"a\\q\"\n",
		     "t.ct:3:14: expected an escape (\\\" \\\\ \\n \\t), found \\q");
	assert_error(HEAD "nft client table\n",
		     "t.ct:3:12: expected a \"RULESET\", found table");
	assert_error(HEAD "nft client \"\"\n",
		     "t.ct:3:12: expected a \"RULESET\", found \"\"");
	assert_error(HEAD "nft client \"a\"b\n",
		     "t.ct:3:12: expected a \"RULESET\", found \"a\"b");
	assert_error(HEAD "nft client\n",
		     "t.ct:3:11: expected a \"RULESET\", found end of line");
	assert_error(HEAD "nft client \"x\" \"y\"\n",
		     "t.ct:3:16: expected end of line, found \"y\"");
}
END_TEST

START_TEST(test_error_hosts)
{
	assert_error(HEAD "listen routerx:80\n",
		     "t.ct:3:8: expected a host of topology pair (client, server), found routerx");
	assert_error(HEAD "sysctl routerx nf_x=1\n",
		     "t.ct:3:8: expected a host of topology pair (client, server), found routerx");
	assert_error(HEAD "send client -> client tcp\n",
		     "t.ct:3:16: expected a destination other than the source, found client");
	assert_error(HEAD "send client server tcp\n",
		     "t.ct:3:13: expected ->, found server");
	assert_error(HEAD "send client ->\n",
		     "t.ct:3:15: expected a host, found end of line");
	assert_error(HEAD "connect c server -> server:80\n",
		     "t.ct:3:21: expected a server other than the client, found server");
	assert_error(HEAD "connect c client -> server\n",
		     "t.ct:3:21: expected HOST:PORT, found server");
}
END_TEST

START_TEST(test_error_listen)
{
	assert_error(HEAD "listen\n", "t.ct:3:7: expected HOST:PORT, found end of line");
	assert_error(HEAD "listen server80\n", "t.ct:3:8: expected HOST:PORT, found server80");
	assert_error(HEAD "listen server:0\n", "t.ct:3:15: expected a number 1..65535, found 0");
	assert_error(HEAD "listen server:65536\n",
		     "t.ct:3:15: expected a number 1..65535, found 65536");
	assert_error(HEAD "listen server:\n",
		     "t.ct:3:15: expected a number 1..65535, found nothing");
	assert_error(HEAD "listen server:80x\n",
		     "t.ct:3:15: expected a number 1..65535, found 80x");
	assert_error(HEAD "listen server:80 extra  # comment\n",
		     "t.ct:3:18: expected backlog=, maxseg=, rcvbuf=, nodelay (each once) or end of line, found extra");
}
END_TEST

START_TEST(test_error_sysctl)
{
	assert_error(HEAD "sysctl client nf_x\n", "t.ct:3:15: expected KEY=VALUE, found nf_x");
	assert_error(HEAD "sysctl client nf_x=\n", "t.ct:3:20: expected a value, found nothing");
	assert_error(HEAD "sysctl client \"nf_x\"=1\n",
		     "t.ct:3:15: expected KEY=VALUE, found \"nf_x\"=1");
#define PER_NS "t.ct:3:15: expected a per-namespace sysctl (net.…, or nf_… for net.netfilter.nf_…), "
	assert_error(HEAD "sysctl client tcp_sack=1\n", PER_NS "found tcp_sack");
	assert_error(HEAD "sysctl client =1\n", PER_NS "found nothing");
	/* Global files would change the host: never a path, never outside net. */
	assert_error(HEAD "sysctl client kernel.printk_ratelimit_burst=11\n",
		     PER_NS "found kernel.printk_ratelimit_burst");
	assert_error(HEAD "sysctl client ./kernel/printk_ratelimit_burst=15\n",
		     PER_NS "found ./kernel/printk_ratelimit_burst");
	assert_error(HEAD "sysctl client net/ipv4/tcp_sack=1\n", PER_NS "found net/ipv4/tcp_sack");
	assert_error(HEAD "sysctl client net..kernel.core_pattern=1\n",
		     PER_NS "found net..kernel.core_pattern");
	assert_error(HEAD "sysctl client net.=1\n", PER_NS "found net.");
	assert_error(HEAD "sysctl client kernel.core_pattern=\"|/bin/x %p\"\n",
		     PER_NS "found kernel.core_pattern");
	assert_error(HEAD "sysctl client nf_x=\"1\\n2\"\n",
		     "t.ct:3:15: expected a value without control characters, found nf_x=\"1\\n2\"");
#undef PER_NS
	assert_error(HEAD "sysctl client net.ipv4.tcp_sack=1 2\n",
		     "t.ct:3:35: expected end of line, found 2");
}
END_TEST

/* A ruleset is the scenario's text only: nothing that reads a file or blocks. */
START_TEST(test_error_nft)
{
#define NO_FILE "t.ct:3:12: expected a ruleset that reads no file and returns (no include, " \
	"monitor or import), found "
	assert_error(HEAD "nft server \"include \\\"/etc/shadow\\\"\"\n", NO_FILE "include");
	assert_error(HEAD "nft server \"table inet t { }\\ninclude \\\"/dev/zero\\\"\"\n",
		     NO_FILE "include");
	assert_error(HEAD "nft server \"monitor\"\n", NO_FILE "monitor");
	assert_error(HEAD "nft server \"table inet t { chain c { } }; import ruleset\"\n",
		     NO_FILE "import");
#undef NO_FILE
	/* The same words in a string or a comment, or inside a name, are text. */
	scenario_free(parse_ok(HEAD "nft server \"table inet t { chain c { "
			       "meta mark 1 counter comment \\\"include monitor\\\" } }\"\n"));
	scenario_free(parse_ok(HEAD "nft server \"table inet include_x { } # include\"\n"));
}
END_TEST

START_TEST(test_error_connections)
{
	assert_error(HEAD CONN "connect c client -> server:81\n",
		     "t.ct:4:9: expected a connection name not used before, found c");
	assert_error(HEAD "connect 1c client -> server:80\n",
		     "t.ct:3:9: expected a connection name of [a-z][a-z0-9_]*, at most 31 "
		     "characters, found 1c");
	assert_error(HEAD "connect c-d client -> server:80\n",
		     "t.ct:3:9: expected a connection name of [a-z][a-z0-9_]*, at most 31 "
		     "characters, found c-d");
	assert_error(HEAD "send client -> server tcp conn=d\n",
		     "t.ct:3:32: expected a connection declared by connect, found d");
	assert_error(HEAD CONN "expect ct d gone\n",
		     "t.ct:4:11: expected a connection declared by connect, found d");
	/* Declared later does not count. */
	assert_error(HEAD "send client -> server tcp seq=c.client.nxt\n" CONN,
		     "t.ct:3:31: expected a number, a connection declared by connect or a packet named by as, found c");
}
END_TEST

START_TEST(test_error_send)
{
	assert_error(HEAD "send client -> server sctp\n",
		     "t.ct:3:23: expected a protocol (tcp, udp, icmp), found sctp");
	assert_error(HEAD "send client -> server\n",
		     "t.ct:3:22: expected a protocol (tcp, udp, icmp), found end of line");
	assert_error(HEAD CONN "send client -> server tcp seq=1 conn=c seq=2\n",
		     "t.ct:4:40: expected each field at most once, found seq=2");
	assert_error(HEAD "send client -> server tcp csum=bad csum=1\n",
		     "t.ct:3:36: expected each field at most once, found csum=1");
	assert_error(HEAD "send client -> server tcp ts ts\n",
		     "t.ct:3:30: expected each field at most once, found ts");
	assert_error(HEAD "send client -> server tcp flags=S flags=A\n",
		     "t.ct:3:35: expected each field at most once, found flags=A");
	assert_error(HEAD "send client -> server tcp flags=SXA\n",
		     "t.ct:3:34: expected a TCP flag letter (F S R P A U E C), found X");
	assert_error(HEAD "send client -> server tcp flags=SAs\n",
		     "t.ct:3:35: expected a TCP flag letter (F S R P A U E C), found s");
	assert_error(HEAD "send client -> server tcp flags=SAS\n",
		     "t.ct:3:35: expected each TCP flag once, found S");
	assert_error(HEAD "send client -> server tcp flags=\n",
		     "t.ct:3:33: expected TCP flags (letters of FSRPAUEC, or none), found nothing");
	assert_error(HEAD "send client -> server tcp color=red\n",
		     "t.ct:3:27: expected a tcp field (conn, flags, sackok, ts, sport, dport, seq, "
		     "ack, win, urg, doff, len, mss, wscale, ttl, tos, tsval, tsecr, sack, opt, "
		     "truncate, csum), found color=red");
	assert_error(HEAD "send client -> server tcp syn\n",
		     "t.ct:3:27: expected a tcp field (conn, flags, sackok, ts, sport, dport, seq, "
		     "ack, win, urg, doff, len, mss, wscale, ttl, tos, tsval, tsecr, sack, opt, "
		     "truncate, csum), found syn");
	assert_error(HEAD "send client -> server tcp seq\n",
		     "t.ct:3:27: expected seq=VALUE, found seq");
	assert_error(HEAD "send client -> server tcp sackok=1\n",
		     "t.ct:3:27: expected sackok without a value, found sackok=1");
	assert_error(HEAD "send client -> server tcp seq=\"1\"\n",
		     "t.ct:3:27: expected a field without quotes, found seq=\"1\"");
}
END_TEST

START_TEST(test_error_numbers)
{
	assert_error(HEAD "send client -> server tcp sport=70000\n",
		     "t.ct:3:33: expected a number 0..65535, found 70000");
	assert_error(HEAD "send client -> server tcp win=65536\n",
		     "t.ct:3:31: expected a number 0..65535, found 65536");
	assert_error(HEAD "send client -> server tcp doff=16\n",
		     "t.ct:3:32: expected a number 0..15, found 16");
	assert_error(HEAD "send client -> server tcp wscale=15\n",
		     "t.ct:3:34: expected a number 0..14, found 15");
	assert_error(HEAD "send client -> server tcp ttl=0x100\n",
		     "t.ct:3:31: expected a number 0..255, found 0x100");
	assert_error(HEAD "send client -> server tcp len=65001\n",
		     "t.ct:3:31: expected a number 0..65000, found 65001");
	assert_error(HEAD "send client -> server tcp seq=4294967296\n",
		     "t.ct:3:31: expected a number 0..4294967295, found 4294967296");
	assert_error(HEAD "send client -> server tcp ack=1-2\n",
		     "t.ct:3:31: expected a number 0..4294967295, found 1-2");
	assert_error(HEAD "send client -> server tcp tos=200+100\n",
		     "t.ct:3:31: expected a number 0..255, found 200+100");
	assert_error(HEAD "send client -> server tcp seq=12ab\n",
		     "t.ct:3:31: expected a number 0..4294967295, found 12ab");
	assert_error(HEAD "send client -> server tcp seq=1+\n",
		     "t.ct:3:33: expected a number or CONN.client.nxt, found nothing");
	assert_error(HEAD "send client -> server tcp seq=\n",
		     "t.ct:3:31: expected a number or CONN.client.nxt, found nothing");
	assert_error(HEAD "send client -> server tcp seq=-1\n",
		     "t.ct:3:31: expected a number or CONN.client.nxt, found nothing");
	assert_error(HEAD CONN "send client -> server tcp seq=c.client.foo+1\n",
		     "t.ct:4:31: expected c.client.nxt, .client.win, .client.tsval, .client.tsecr or "
		     "the same of .server, "
		     "found c.client.foo");
	assert_error(HEAD CONN "send client -> server tcp seq=c\n",
		     "t.ct:4:31: expected c.client.nxt, .client.win, .client.tsval, .client.tsecr or "
		     "the same of .server, "
		     "found c");
	assert_error(HEAD "send client -> server tcp seq=1+2+3+4+5+6+7+8+9\n",
		     "t.ct:3:46: expected at most 8 terms, found +9");
}
END_TEST

START_TEST(test_error_expect)
{
	assert_error(HEAD "expect verdict new\n",
		     "t.ct:3:8: expected a send before this expect, found verdict");
	assert_error(HEAD "expect reason none\n",
		     "t.ct:3:8: expected a send before this expect, found reason");
	assert_error(HEAD "expect stat new 1\n",
		     "t.ct:3:8: expected a send before this expect, found stat");
	assert_error(HEAD SEND "expect verdict unseen\n",
		     "t.ct:4:16: expected a verdict (new, established, related, invalid, "
		     "untracked), found unseen");
	assert_error(HEAD SEND "expect verdict new \"x\"\n",
		     "t.ct:4:20: expected reason or end of line, found \"x\"");
	assert_error(HEAD SEND "expect verdict new reason\n",
		     "t.ct:4:26: expected \"TEXT\" or none, found end of line");
	assert_error(HEAD SEND "expect reason invalid\n",
		     "t.ct:4:15: expected \"TEXT\" or none, found invalid");
	assert_error(HEAD SEND "expect reason \"x\" none\n",
		     "t.ct:4:19: expected end of line, found none");
	assert_error(HEAD CONN "expect ct c state LISTEN\n",
		     "t.ct:4:19: expected a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, "
		     "FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2), found LISTEN");
	assert_error(HEAD CONN "expect ct c state FIN_WAIT|LISTEN\n",
		     "t.ct:4:28: expected a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, "
		     "FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2), found LISTEN");
	assert_error(HEAD CONN "expect ct c state FIN_WAIT|fin_wait\n",
		     "t.ct:4:28: expected a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, "
		     "FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2) not named "
		     "before, found fin_wait");
	assert_error(HEAD CONN "expect ct c state FIN_WAIT|\n",
		     "t.ct:4:28: expected a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, "
		     "FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2), found ");
	{
		struct scenario *s = parse_ok(HEAD CONN "expect ct c state FIN_WAIT|CLOSE_WAIT\n"
					      "expect socket c.client state FIN_WAIT1|FIN_WAIT2\n");

		ck_assert_int_eq(s->steps[1].expect.state, 4);
		ck_assert_uint_eq(s->steps[1].expect.also_states, 1u << 5);
		ck_assert_int_eq(s->steps[2].expect.socket_state, TCP_FIN_WAIT1);
		ck_assert_uint_eq(s->steps[2].expect.socket_also_states, 1u << TCP_FIN_WAIT2);
		scenario_free(s);
	}
	assert_error(HEAD CONN "expect ct c ESTABLISHED\n",
		     "t.ct:4:13: expected state, gone, assured, !assured, seen_reply, !seen_reply "
		     "or timeout, found ESTABLISHED");
	assert_error(HEAD CONN "expect ct c\n",
		     "t.ct:4:12: expected state, gone, assured, !assured, seen_reply, !seen_reply "
		     "or timeout, found end of line");
	assert_error(HEAD CONN "expect ct c gone now\n", "t.ct:4:18: expected end of line, found now");
	assert_error(HEAD CONN "expect ct c state CLOSE assured !assured\n",
		     "t.ct:4:33: expected each of state, assured, seen_reply and timeout once, "
		     "found !assured");
	assert_error(HEAD CONN "expect ct c state CLOSE unassured\n",
		     "t.ct:4:25: expected state, assured, !assured, seen_reply, !seen_reply, timeout "
		     "or end of line, found unassured");
	assert_error(HEAD SEND "expect stat bogus +1\n",
		     "t.ct:4:13: expected a counter of stat/nf_conntrack (entries, clashres, found, "
		     "new, invalid, ignore, delete, chainlength, insert, insert_failed, drop, "
		     "early_drop, icmp_error, expect_new, expect_create, expect_delete, "
		     "search_restart), found bogus");
	assert_error(HEAD SEND "expect stat invalid +x\n",
		     "t.ct:4:22: expected a number 0..4294967295, found x");
	assert_error(HEAD SEND "expect stat invalid\n",
		     "t.ct:4:20: expected a delta (+N, -N, N, >N, >=N, <N or <=N), found end of line");
}
END_TEST

#define VARIANTS	"variant liberal\nvariant strict\n"
#define UDP_CONN	"connect u client -> server:53 udp\n"
#define TCP_STATES	"a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, " \
	"CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2)"
#define SOCKET_STATES	"a socket state (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, " \
	"FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING)"
#define ICMP_TYPES	"an ICMP type (echo-request, echo-reply, port-unreachable, " \
	"host-unreachable, admin-prohibited, too-big, time-exceeded) or a number 0..255"

START_TEST(test_error_variants)
{
	assert_error(HEAD "variant\n", "t.ct:3:8: expected a variant name, found end of line");
	assert_error(HEAD "variant Strict\n",
		     "t.ct:3:9: expected a variant name of [a-z][a-z0-9_-]*, at most 31 "
		     "characters, found Strict");
	assert_error(HEAD "variant 1x\n",
		     "t.ct:3:9: expected a variant name of [a-z][a-z0-9_-]*, at most 31 "
		     "characters, found 1x");
	assert_error(HEAD "variant a.b\n",
		     "t.ct:3:9: expected a variant name of [a-z][a-z0-9_-]*, at most 31 "
		     "characters, found a.b");
	assert_error(HEAD "variant a234567890123456789012345678901x\n",
		     "t.ct:3:9: expected a variant name of [a-z][a-z0-9_-]*, at most 31 "
		     "characters, found a234567890123456789012345678901x");
	assert_error(HEAD "variant a\nvariant a\n",
		     "t.ct:4:9: expected a variant name not used before, found a");
	assert_error(HEAD "variant a\nvariant b\nvariant c\nvariant d\nvariant e\n"
		     "variant f\nvariant g\nvariant h\nvariant i\n",
		     "t.ct:11:9: expected at most 8 variants, found i");
	assert_error(HEAD "variant a b\n", "t.ct:3:11: expected end of line, found b");
}
END_TEST

START_TEST(test_error_kernel)
{
	assert_error(HEAD "kernel\n", "t.ct:3:7: expected >= or <, found end of line");
	assert_error(HEAD "kernel > 6.0\n", "t.ct:3:8: expected >= or <, found >");
	assert_error(HEAD "kernel >=6.0\n", "t.ct:3:8: expected >= or <, found >=6.0");
	assert_error(HEAD "kernel >=\n",
		     "t.ct:3:10: expected a kernel version (A.B or A.B.C), found end of line");
	assert_error(HEAD "kernel >= 6\n",
		     "t.ct:3:11: expected a kernel version (A.B or A.B.C), found 6");
	assert_error(HEAD "kernel < 6.0-rc1\n",
		     "t.ct:3:10: expected a kernel version (A.B or A.B.C), found 6.0-rc1");
	assert_error(HEAD "kernel < 6.256\n",
		     "t.ct:3:10: expected a kernel version (A.B or A.B.C), found 6.256");
	assert_error(HEAD "kernel >= 6.0\nkernel >= 6.1\n",
		     "t.ct:4:1: expected one kernel >= statement, found a second one");
	assert_error(HEAD "kernel < 6.0\nkernel < 6.1\n",
		     "t.ct:4:1: expected one kernel < statement, found a second one");
	assert_error(HEAD "kernel < 6.0\nkernel >= 6.0\n",
		     "t.ct:4:11: expected a version below 6.0, found 6.0");
	assert_error(HEAD "kernel >= 6.1\nkernel < 5.4.2\n",
		     "t.ct:4:10: expected a version above 6.1, found 5.4.2");
	assert_error(HEAD "kernel >= 6.0 6.1\n", "t.ct:3:15: expected end of line, found 6.1");
}
END_TEST

/* Kernel facts: fact files, @fact:NAME and @!fact:NAME, and how they are judged. */
START_TEST(test_facts)
{
	struct scenario *fact = parse_ok("fact answers-ack-of-unsent\ntopology pair\n" CONN);
	struct scenario *s = parse_ok(HEAD "variant a\n"
		"@fact:logs-invalid listen server:80\n"
		"@a,!fact:logs-invalid,fact:x.y_z,kernel>=6.1 listen server:81\n"
		"@fact:x.y_z listen server:82\n");
	struct fact_value probed[2] = { { .name = "logs-invalid", .value = 1 },
					{ .name = "x.y_z", .value = 0 } };
	const char *names[4], *name = NULL;

	ck_assert(fact->is_fact);
	ck_assert_str_eq(fact->name, "answers-ack-of-unsent");
	ck_assert(!s->is_fact);
	ck_assert_uint_eq(s->steps[0].when.n_facts, 1);
	ck_assert_str_eq(s->steps[0].when.facts[0].name, "logs-invalid");
	ck_assert(s->steps[0].when.facts[0].value);
	ck_assert_uint_eq(s->steps[1].when.n_facts, 2);
	ck_assert(!s->steps[1].when.facts[0].value);
	ck_assert_str_eq(s->steps[1].when.facts[1].name, "x.y_z");
	ck_assert(s->steps[1].when.facts[1].value && s->steps[1].when.variants == 1);

	ck_assert_int_eq(condition_facts_hold(&s->steps[0].when, probed, 2, &name), 1);
	ck_assert_int_eq(condition_facts_hold(&s->steps[1].when, probed, 2, &name), 0);
	ck_assert_str_eq(name, "logs-invalid");
	ck_assert_int_eq(condition_facts_hold(&s->steps[2].when, probed, 2, &name), 0);
	probed[1].value = 1;
	ck_assert_int_eq(condition_facts_hold(&s->steps[2].when, probed, 2, &name), 1);
	probed[1].value = -1;
	ck_assert_int_eq(condition_facts_hold(&s->steps[2].when, probed, 2, &name), -1);
	ck_assert_str_eq(name, "x.y_z");
	ck_assert_int_eq(condition_facts_hold(&s->steps[2].when, probed, 1, &name), -1);
	ck_assert_int_eq(condition_facts_hold(&fact->steps[0].when, NULL, 0, &name), 1);

	ck_assert_uint_eq(scenario_facts(s, names, 4), 2);
	ck_assert_str_eq(names[0], "logs-invalid");
	ck_assert_str_eq(names[1], "x.y_z");
	ck_assert_uint_eq(scenario_facts(s, names, 1), 2);
	ck_assert_uint_eq(scenario_facts(fact, names, 4), 0);
	scenario_free(fact);
	scenario_free(s);
}
END_TEST

START_TEST(test_error_facts)
{
	assert_error(HEAD "@fact:Bad listen server:80\n",
		     "t.ct:3:7: expected a fact's name of [a-z0-9][a-z0-9_.-]*, found Bad");
	assert_error(HEAD "@fact: listen server:80\n",
		     "t.ct:3:2: expected a variant declared by variant, found fact:");
	assert_error(HEAD "@fact:a,fact:a listen server:80\n",
		     "t.ct:3:9: expected each fact once, found fact:a");
	assert_error(HEAD "@fact:a,!fact:b,fact:c,fact:d,fact:e listen server:80\n",
		     "t.ct:3:31: expected at most 4 facts in a condition, found fact:e");
	assert_error("fact f\ntopology pair\n@fact:g listen server:80\n",
		     "t.ct:3:2: expected no fact conditions in a fact, found fact:g");
	assert_error("topology pair\n@fact:g listen server:80\nfact f\n",
		     "t.ct:3:1: expected no fact conditions in a fact (line 2 names one), found fact");
	assert_error("fact f\ntopology pair\nvariant v\n",
		     "t.ct:3:9: expected no variants in a fact, found v");
	assert_error("topology pair\nvariant v\nfact f\n",
		     "t.ct:3:1: expected no variants in a fact, found fact");
	assert_error("fact f\nname g\n", "t.ct:2:1: expected one name or fact statement, found a second one");
}
END_TEST

START_TEST(test_error_conditions)
{
	assert_error(HEAD VARIANTS "@loose listen server:80\n",
		     "t.ct:5:2: expected a variant declared by variant, found loose");
	assert_error(HEAD VARIANTS "  @liberal,loose listen server:80\n",
		     "t.ct:5:12: expected a variant declared by variant, found loose");
	/* Declared after its use does not count. */
	assert_error(HEAD "@late listen server:80\nvariant late\n",
		     "t.ct:3:2: expected a variant declared by variant, found late");
	assert_error(HEAD "@kernel listen server:80\n",
		     "t.ct:3:2: expected a variant declared by variant, found kernel");
	assert_error(HEAD VARIANTS "@ listen server:80\n",
		     "t.ct:5:2: expected a variant or kernel>=VERSION or kernel<VERSION, "
		     "found nothing");
	assert_error(HEAD VARIANTS "@liberal, listen server:80\n",
		     "t.ct:5:10: expected a variant or kernel>=VERSION or kernel<VERSION, "
		     "found nothing");
	assert_error(HEAD VARIANTS "@liberal,,strict listen server:80\n",
		     "t.ct:5:10: expected a variant or kernel>=VERSION or kernel<VERSION, "
		     "found nothing");
	assert_error(HEAD VARIANTS "@liberal,strict,liberal listen server:80\n",
		     "t.ct:5:17: expected each variant once, found liberal");
	assert_error(HEAD "@kernel>=6 listen server:80\n",
		     "t.ct:3:10: expected a kernel version (A.B or A.B.C), found 6");
	assert_error(HEAD "@kernel>= listen server:80\n",
		     "t.ct:3:10: expected a kernel version (A.B or A.B.C), found nothing");
	assert_error(HEAD "@kernel<6.0.x listen server:80\n",
		     "t.ct:3:9: expected a kernel version (A.B or A.B.C), found 6.0.x");
	assert_error(HEAD "@kernel=6.0 listen server:80\n",
		     "t.ct:3:2: expected kernel>=VERSION or kernel<VERSION, found kernel=6.0");
	assert_error(HEAD VARIANTS "@strict,kernel>6.0 listen server:80\n",
		     "t.ct:5:9: expected kernel>=VERSION or kernel<VERSION, found kernel>6.0");
	assert_error(HEAD "@kernel>=6.0,kernel>=6.1 listen server:80\n",
		     "t.ct:3:14: expected each kernel bound once, found kernel>=6.1");
	assert_error(HEAD "@kernel>=6.1,kernel<6.1 listen server:80\n",
		     "t.ct:3:21: expected a version above 6.1, found 6.1");
	assert_error(HEAD "@kernel<5.0,kernel>=5.0.1 listen server:80\n",
		     "t.ct:3:21: expected a version below 5.0, found 5.0.1");
	assert_error(HEAD "@\"liberal\" listen server:80\n",
		     "t.ct:3:1: expected a condition without quotes, found @\"liberal\"");

	/* A condition is for steps; the header holds in every run. */
	assert_error(HEAD VARIANTS "@liberal family ipv4\n",
		     "t.ct:5:10: expected a step after a condition, found family");
	assert_error(HEAD VARIANTS "@liberal variant loose\n",
		     "t.ct:5:10: expected a step after a condition, found variant");
	assert_error(HEAD VARIANTS "@liberal about more text\n",
		     "t.ct:5:10: expected a step after a condition, found about");
	assert_error(HEAD "@kernel>=6.0 kernel < 6.1\n",
		     "t.ct:3:14: expected a step after a condition, found kernel");
	assert_error("name t\n@kernel>=6.0 topology pair\n",
		     "t.ct:2:14: expected a step after a condition, found topology");
	assert_error(HEAD VARIANTS "@liberal\n",
		     "t.ct:5:9: expected a statement (" STATEMENTS "), found end of line");
	assert_error(HEAD VARIANTS "@liberal sned client -> server tcp\n",
		     "t.ct:5:10: expected a statement (" STATEMENTS "), found sned");
	assert_error("name t\nvariant a\n@a listen server:80\ntopology pair\n",
		     "t.ct:3:4: expected a topology statement before the first step, found listen");
}
END_TEST

START_TEST(test_error_endpoints)
{
	assert_error(HEAD CONN "write c.middle 1\n",
		     "t.ct:4:7: expected c.client or c.server, found c.middle");
	assert_error(HEAD CONN "write c 1\n", "t.ct:4:7: expected c.client or c.server, found c");
	assert_error(HEAD CONN "write c.client.nxt 1\n",
		     "t.ct:4:7: expected c.client or c.server, found c.client.nxt");
	assert_error(HEAD CONN "write d.client 1\n",
		     "t.ct:4:7: expected a connection declared by connect, found d");
	assert_error(HEAD CONN "write .client 1\n",
		     "t.ct:4:7: expected a connection declared by connect, found .client");
	assert_error(HEAD "write c.client 1\n" CONN,
		     "t.ct:3:7: expected a connection declared by connect, found c");
	assert_error(HEAD CONN "write\n",
		     "t.ct:4:6: expected CONN.client or CONN.server, found end of line");
	assert_error(HEAD CONN "write \"c.client\" 1\n",
		     "t.ct:4:7: expected CONN.client or CONN.server, found \"c.client\"");
	assert_error(HEAD CONN "expect socket c.left error none\n",
		     "t.ct:4:15: expected c.client or c.server, found c.left");
	assert_error(HEAD CONN "send server -> client icmp quote=c.middle\n",
		     "t.ct:4:34: expected c.client or c.server, found c.middle");
	assert_error(HEAD CONN "send server -> client icmp quote=d.client\n",
		     "t.ct:4:34: expected a connection declared by connect, found d");
	assert_error(HEAD CONN "send server -> client icmp quote=\n",
		     "t.ct:4:34: expected CONN.client or CONN.server, found nothing");
}
END_TEST

START_TEST(test_error_socket_steps)
{
	assert_error(HEAD CONN "write c.client\n",
		     "t.ct:4:15: expected a number 1..1000000, found end of line");
	assert_error(HEAD CONN "write c.client 0\n",
		     "t.ct:4:16: expected a number 1..1000000, found 0");
	assert_error(HEAD CONN "read c.server 1000001\n",
		     "t.ct:4:15: expected a number 1..1000000, found 1000001");
	assert_error(HEAD CONN "write c.client 10 20\n",
		     "t.ct:4:19: expected end of line, found 20");
	assert_error(HEAD CONN "close c.client now\n",
		     "t.ct:4:16: expected rst, may-fail or end of line, found now");
	assert_error(HEAD CONN "write c.client 10 may-fail x\n",
		     "t.ct:4:28: expected end of line, found x");
	assert_error(HEAD CONN "wait c.client state CLOSE may-fail\n",
		     "t.ct:4:27: expected end of line, found may-fail");
	/* A UDP write is one datagram. */
	assert_error(HEAD "connect u client -> server:53 udp\nwrite u.client 65508\n",
		     "t.ct:4:16: expected a number 1..65507 (one datagram), found 65508");
	{
		struct scenario *s = parse_ok(HEAD CONN "write c.client 10 may-fail\n"
					      "read c.server 10\nclose c.client rst may-fail\n"
					      "connect u client -> server:53 udp\nwrite u.client 65507\n");

		ck_assert(s->steps[1].socket.may_fail && !s->steps[2].socket.may_fail);
		ck_assert(s->steps[3].socket.may_fail && s->steps[3].socket.abort);
		ck_assert_uint_eq(s->steps[5].socket.bytes, 65507);
		scenario_free(s);
	}
	assert_error(HEAD CONN "close c.client rst x\n",
		     "t.ct:4:20: expected end of line, found x");
	assert_error(HEAD CONN "shutdown c.client x\n",
		     "t.ct:4:19: expected end of line, found x");
	assert_error(HEAD CONN "wait c.client ESTABLISHED\n",
		     "t.ct:4:15: expected state, found ESTABLISHED");
	assert_error(HEAD CONN "wait c.client state FIN_WAIT\n",
		     "t.ct:4:21: expected " SOCKET_STATES ", found FIN_WAIT");
	assert_error(HEAD CONN "wait c.client state\n",
		     "t.ct:4:20: expected " SOCKET_STATES ", found end of line");
	assert_error(HEAD CONN "wait\n",
		     "t.ct:4:5: expected ct, CONN.client or CONN.server, found end of line");
	assert_error(HEAD CONN "wait ct\n", "t.ct:4:8: expected a connection, found end of line");
	assert_error(HEAD CONN "wait ct c\n", "t.ct:4:10: expected state, gone or assured, found end of line");
	assert_error(HEAD CONN "wait ct c closed\n",
		     "t.ct:4:11: expected state, gone or assured, found closed");
	assert_error(HEAD CONN "wait ct c state LISTEN\n",
		     "t.ct:4:17: expected " TCP_STATES ", found LISTEN");
	assert_error(HEAD CONN "wait ct c gone now\n", "t.ct:4:16: expected end of line, found now");
	assert_error(HEAD CONN "delete c\n", "t.ct:4:8: expected ct, found c");
	assert_error(HEAD CONN "delete ct d\n",
		     "t.ct:4:11: expected a connection declared by connect, found d");
	assert_error(HEAD CONN "delete ct c gone\n", "t.ct:4:13: expected end of line, found gone");
}
END_TEST

/* UDP connections have no FIN, no TCP state, no sequence numbers. */
START_TEST(test_error_udp_connections)
{
	assert_error(HEAD UDP_CONN "shutdown u.client\n",
		     "t.ct:4:1: expected write, read or close (u is a udp connection), "
		     "found shutdown");
	assert_error(HEAD UDP_CONN "wait u.server state ESTABLISHED\n",
		     "t.ct:4:1: expected write, read or close (u is a udp connection), found wait");
	assert_error(HEAD "variant a\n" UDP_CONN "@a shutdown u.client\n",
		     "t.ct:5:4: expected write, read or close (u is a udp connection), "
		     "found shutdown");
	assert_error(HEAD UDP_CONN "close u.client rst\n",
		     "t.ct:4:16: expected may-fail or end of line (u is a udp connection), found rst");
	assert_error(HEAD UDP_CONN "wait ct u state ESTABLISHED\n",
		     "t.ct:4:11: expected gone (u is a udp connection), found state");
	assert_error(HEAD UDP_CONN "expect ct u state ESTABLISHED\n",
		     "t.ct:4:13: expected a clause other than state (u is a udp connection), "
		     "found state");
	assert_error(HEAD UDP_CONN "expect ct u assured state ESTABLISHED\n",
		     "t.ct:4:21: expected a clause other than state (u is a udp connection), "
		     "found state");
	assert_error(HEAD UDP_CONN "expect socket u.client state CLOSE\n",
		     "t.ct:4:24: expected error (u is a udp connection), found state");
	assert_error(HEAD UDP_CONN "send client -> server tcp conn=u\n",
		     "t.ct:4:32: expected a tcp connection (u is a udp connection), found u");
	assert_error(HEAD "connect v client -> server:53 sctp\n",
		     "t.ct:3:31: expected tcp, udp, sport=, maxseg=, rcvbuf=, nodelay, nowait, may-fail or end of line, found sctp");
	assert_error(HEAD "connect v client -> server:53 udp x\n",
		     "t.ct:3:35: expected sport=, may-fail or end of line, found x");
}
END_TEST

START_TEST(test_error_udp_icmp_send)
{
	assert_error(HEAD "send client -> server udp seq=1\n",
		     "t.ct:3:27: expected a udp field (conn, sport, dport, len, ulen, ttl, tos, "
		     "csum, truncate), found seq=1");
	assert_error(HEAD "send client -> server udp flags=S\n",
		     "t.ct:3:27: expected a udp field (conn, sport, dport, len, ulen, ttl, tos, "
		     "csum, truncate), found flags=S");
	assert_error(HEAD "send client -> server udp sackok\n",
		     "t.ct:3:27: expected a udp field (conn, sport, dport, len, ulen, ttl, tos, "
		     "csum, truncate), found sackok");
	assert_error(HEAD "send client -> server tcp ulen=8\n",
		     "t.ct:3:27: expected a tcp field (conn, flags, sackok, ts, sport, dport, seq, "
		     "ack, win, urg, doff, len, mss, wscale, ttl, tos, tsval, tsecr, sack, opt, "
		     "truncate, csum), found ulen=8");
	assert_error(HEAD "send client -> server tcp type=echo-request\n",
		     "t.ct:3:27: expected a tcp field (conn, flags, sackok, ts, sport, dport, seq, "
		     "ack, win, urg, doff, len, mss, wscale, ttl, tos, tsval, tsecr, sack, opt, "
		     "truncate, csum), found type=echo-request");
	assert_error(HEAD "send client -> server icmp sport=1\n",
		     "t.ct:3:28: expected an icmp field (type, code, mtu, icmpid, icmpseq, quote, "
		     "len, ttl, tos, csum, truncate), found sport=1");
	assert_error(HEAD CONN "send client -> server icmp conn=c\n",
		     "t.ct:4:28: expected an icmp field (type, code, mtu, icmpid, icmpseq, quote, "
		     "len, ttl, tos, csum, truncate), found conn=c");
	assert_error(HEAD "send client -> server icmp type=echo\n",
		     "t.ct:3:33: expected " ICMP_TYPES ", found echo");
	assert_error(HEAD "send client -> server icmp type=\n",
		     "t.ct:3:33: expected " ICMP_TYPES ", found nothing");
	assert_error(HEAD "send client -> server icmp type=256\n",
		     "t.ct:3:33: expected a number 0..255, found 256");
	assert_error(HEAD "send client -> server icmp type=8 type=echo-reply\n",
		     "t.ct:3:35: expected each field at most once, found type=echo-reply");
	assert_error(HEAD "send client -> server icmp type=echo-reply type=0\n",
		     "t.ct:3:44: expected each field at most once, found type=0");
	assert_error(HEAD "send client -> server icmp code=256\n",
		     "t.ct:3:33: expected a number 0..255, found 256");
	assert_error(HEAD "send client -> server icmp mtu=65536\n",
		     "t.ct:3:32: expected a number 0..65535, found 65536");
	assert_error(HEAD "send client -> server icmp icmpid=65536\n",
		     "t.ct:3:35: expected a number 0..65535, found 65536");
	assert_error(HEAD "send client -> server icmp icmpseq=70000\n",
		     "t.ct:3:36: expected a number 0..65535, found 70000");
	assert_error(HEAD "send client -> server udp ulen=65536\n",
		     "t.ct:3:32: expected a number 0..65535, found 65536");
	assert_error(HEAD "send client -> server icmp quote\n",
		     "t.ct:3:28: expected quote=VALUE, found quote");
	assert_error(HEAD CONN "send client -> server icmp quote=c.client quote=c.server\n",
		     "t.ct:4:43: expected each field at most once, found quote=c.server");
	assert_error(HEAD "send client -> server icmp csum=bad csum=bad\n",
		     "t.ct:3:37: expected each field at most once, found csum=bad");
}
END_TEST

START_TEST(test_error_new_expects)
{
	assert_error(HEAD CONN "expect ct c timeout 30..10\n",
		     "t.ct:4:25: expected a maximum of at least 30, found 10");
	assert_error(HEAD CONN "expect ct c timeout 30\n",
		     "t.ct:4:21: expected MIN..MAX seconds, found 30");
	assert_error(HEAD CONN "expect ct c timeout\n",
		     "t.ct:4:20: expected MIN..MAX seconds, found end of line");
	assert_error(HEAD CONN "expect ct c timeout ..5\n",
		     "t.ct:4:21: expected a number 0..4294967295, found nothing");
	assert_error(HEAD CONN "expect ct c timeout 5..\n",
		     "t.ct:4:24: expected a number 0..4294967295, found nothing");
	assert_error(HEAD CONN "expect ct c timeout 1..x\n",
		     "t.ct:4:24: expected a number 0..4294967295, found x");
	assert_error(HEAD CONN "expect ct c timeout 1..2 timeout 1..2\n",
		     "t.ct:4:26: expected each of state, assured, seen_reply and timeout once, "
		     "found timeout");
	assert_error(HEAD CONN "expect ct c assured state CLOSE state CLOSE\n",
		     "t.ct:4:33: expected each of state, assured, seen_reply and timeout once, "
		     "found state");
	assert_error(HEAD CONN "expect ct c assured gone\n",
		     "t.ct:4:21: expected state, assured, !assured, seen_reply, !seen_reply, "
		     "timeout or end of line, found gone");
	assert_error(HEAD CONN "expect ct c \"state\" CLOSE\n",
		     "t.ct:4:13: expected state, gone, assured, !assured, seen_reply, !seen_reply "
		     "or timeout, found \"state\"");

	assert_error(HEAD "expect packet client -> server tcp\n",
		     "t.ct:3:8: expected a send before this expect, found packet");
	assert_error(HEAD "expect no packet client -> server tcp\n",
		     "t.ct:3:11: expected a send before this expect, found packet");
	assert_error(HEAD SEND "expect no client\n", "t.ct:4:11: expected packet, wire or kmsg, found client");
	assert_error(HEAD SEND "expect packet client -> client tcp\n",
		     "t.ct:4:25: expected a destination other than the source, found client");
	assert_error(HEAD SEND "expect packet client -> server\n",
		     "t.ct:4:31: expected a protocol (tcp, udp, icmp), found end of line");
	assert_error(HEAD SEND "expect packet client -> server sctp\n",
		     "t.ct:4:32: expected a protocol (tcp, udp, icmp), found sctp");
	assert_error(HEAD SEND "expect packet server -> client udp flags=R\n",
		     "t.ct:4:36: expected sport=, dport=, verdict, reason, within, as or end of line, found flags=R");
	assert_error(HEAD SEND "expect packet server -> client tcp type=3\n",
		     "t.ct:4:36: expected flags=, seq=, ack=, sport=, dport=, verdict, reason, within, as or end of line, found type=3");
	assert_error(HEAD SEND "expect packet server -> client tcp \"flags=R\"\n",
		     "t.ct:4:36: expected flags=, seq=, ack=, sport=, dport=, verdict, reason, within, as or end of line, "
		     "found \"flags=R\"");
	assert_error(HEAD SEND "expect packet server -> client udp dport=65536\n",
		     "t.ct:4:42: expected a number 0..65535, found 65536");
	assert_error(HEAD SEND "expect packet server -> client tcp sport=80 sport=80\n",
		     "t.ct:4:45: expected each clause once, found sport=80");
	assert_error(HEAD SEND "expect packet server -> client icmp dport=1\n",
		     "t.ct:4:37: expected type=, verdict, reason, within, as or end of line, found dport=1");
	assert_error(HEAD SEND "expect packet server -> client icmp seq=1\n",
		     "t.ct:4:37: expected type=, verdict, reason, within, as or end of line, found seq=1");
	assert_error(HEAD SEND "expect packet server -> client icmp type=bogus\n",
		     "t.ct:4:42: expected " ICMP_TYPES ", found bogus");
	assert_error(HEAD SEND "expect packet server -> client icmp type=256\n",
		     "t.ct:4:42: expected a number 0..255, found 256");
	assert_error(HEAD SEND "expect packet server -> client icmp type=3 type=3\n",
		     "t.ct:4:44: expected each clause once, found type=3");
	assert_error(HEAD SEND "expect packet server -> client tcp flags=R flags=A\n",
		     "t.ct:4:44: expected each clause once, found flags=A");
	assert_error(HEAD SEND "expect packet server -> client tcp flags=Q\n",
		     "t.ct:4:42: expected a TCP flag letter (F S R P A U E C), found Q");
	assert_error(HEAD SEND "expect packet server -> client tcp seq=x\n",
		     "t.ct:4:40: expected a number, a connection declared by connect or a packet named by as, found x");
	assert_error(HEAD SEND "expect packet server -> client tcp verdict\n",
		     "t.ct:4:43: expected a verdict (new, established, related, invalid, "
		     "untracked), found end of line");
	assert_error(HEAD SEND "expect packet server -> client tcp verdict unseen\n",
		     "t.ct:4:44: expected a verdict (new, established, related, invalid, "
		     "untracked), found unseen");
	assert_error(HEAD SEND "expect packet server -> client tcp verdict new verdict new\n",
		     "t.ct:4:48: expected each clause once, found verdict");

	assert_error(HEAD CONN "expect socket c.client\n",
		     "t.ct:4:23: expected error or state, found end of line");
	assert_error(HEAD CONN "expect socket c.client errno EPIPE\n",
		     "t.ct:4:24: expected error or state, found errno");
	assert_error(HEAD CONN "expect socket c.client error EAGAIN\n",
		     "t.ct:4:30: expected an error (ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, "
		     "EHOSTUNREACH, ENETUNREACH, none), found EAGAIN");
	assert_error(HEAD CONN "expect socket c.client state FIN_WAIT\n",
		     "t.ct:4:30: expected " SOCKET_STATES ", found FIN_WAIT");
	assert_error(HEAD CONN "expect socket c.client error EPIPE state CLOSE\n",
		     "t.ct:4:36: expected end of line, found state");
}
END_TEST

/* ---- Untrusted files ---- */

static void assert_buffer_error(const char *text, size_t len, const char *expected)
{
	char err[512] = "";
	struct scenario *scenario = scenario_parse_buffer(text, len, "t.ct", err, sizeof(err));

	ck_assert_msg(scenario == NULL, "parsed, expected error: %s", expected);
	ck_assert_str_eq(err, expected);
}

/* Anything but text is refused where it stands, before a word reaches a terminal. */
START_TEST(test_untrusted_content)
{
	static const char nul[] = "name x\ntopology pair\nabout a\0b\n";

	/* The crash once: a keyword that reads "about" only after its quotes. */
	assert_error("name x\ntopology pair\nabout\"\"\n",
		     "t.ct:3:1: expected about followed by a space and its text, found about\"\"");
	/* A NUL byte no longer cuts the file short. */
	assert_buffer_error(nul, sizeof(nul) - 1, "t.ct:3:8: expected text, found a NUL byte (U+0000)");
	assert_error(HEAD "about \033[31mred\n",
		     "t.ct:3:7: expected text, found a control character (U+001B)");
	assert_error(HEAD "about a\rb\n", "t.ct:3:8: expected text, found a control character (U+000D)");
	assert_error(HEAD "about \302\233 CSI\n",
		     "t.ct:3:7: expected text, found a control character (U+009B)");
	assert_error(HEAD "about \342\200\256 reversed\n",
		     "t.ct:3:7: expected text, found a control character (U+202E)");
	assert_error(HEAD "about \377\n", "t.ct:3:7: expected UTF-8 text, found the byte 0xFF");
	assert_error(HEAD "about \300\257 overlong\n",
		     "t.ct:3:7: expected UTF-8 text, found the byte 0xC0");
	assert_error(HEAD "about \355\240\200 surrogate\n",
		     "t.ct:3:7: expected UTF-8 text, found the byte 0xED");
	assert_error("name x\177\n", "t.ct:1:7: expected text, found a control character (U+007F)");
	/* Text as people write it: UTF-8, tabs, CRLF line ends. */
	scenario_free(parse_ok("name x\r\ntopology pair\r\nabout 定位 conntrack\tRST — ok\r\n"));
	/* Patterns are one line: a \n could never match a logged reason. */
	assert_error(HEAD "send client -> server tcp\nexpect verdict invalid reason \"a\\nb\"\n",
		     "t.ct:4:31: expected a string on one line (no \\n), found \"a\\nb\"");
}
END_TEST

/* A file that does not start like a scenario is not quoted back: it may be a
 * root-only file behind a symlink. */
START_TEST(test_untrusted_not_a_scenario)
{
	assert_error("root:$y$j9T$secret:19000:0:99999:7:::\n",
		     "t.ct:1:1: expected a statement (name, about, topology, …): not a scenario "
		     "file, its content is not shown");
	assert_error("\n# a comment first\n  secret words\n",
		     "t.ct:3:3: expected a statement (name, about, topology, …): not a scenario "
		     "file, its content is not shown");
	/* Once it reads like a scenario, errors quote as usual. */
	assert_error("name x\nbogus 1\n", "t.ct:2:1: expected a statement (" STATEMENTS "), found bogus");
}
END_TEST

static char *temp_file(const char *text, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_scenario_XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Only regular files of sane size are read: a FIFO would block, a device never
 * end; a symlink to one is the same. */
START_TEST(test_untrusted_files)
{
	char dir[] = "/tmp/test_scenario_dir_XXXXXX";
	char path[128], link[128], err[512] = "", expected[512];
	size_t big = SCENARIO_FILE_MAX + 1;
	char *text;
	struct scenario *s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo.ct", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_ptr_null(scenario_parse_file(path, err, sizeof(err)));
	snprintf(expected, sizeof(expected), "%s: not a regular file (a FIFO): only regular "
		 "files are read as scenarios", path);
	ck_assert_str_eq(err, expected);
	unlink(path);

	snprintf(link, sizeof(link), "%s/zero.ct", dir);
	ck_assert_int_eq(symlink("/dev/zero", link), 0);
	ck_assert_ptr_null(scenario_parse_file(link, err, sizeof(err)));
	snprintf(expected, sizeof(expected), "%s: not a regular file (a device): only regular "
		 "files are read as scenarios", link);
	ck_assert_str_eq(err, expected);
	unlink(link);

	snprintf(path, sizeof(path), "%s/dir.ct", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_ptr_null(scenario_parse_file(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a regular file (a directory)"));
	rmdir(path);

	/* A name that would act on a terminal is shown escaped. */
	snprintf(path, sizeof(path), "%s/\033]0;title\007.ct", dir);
	ck_assert_int_ge(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_ptr_null(scenario_parse_file(path, err, sizeof(err)));
	snprintf(expected, sizeof(expected), "%s/\\x1b]0;title\\x07.ct:1:1: expected a name "
		 "statement, found end of file", dir);
	ck_assert_str_eq(err, expected);
	unlink(path);
	rmdir(dir);

	/* Over the limit: refused before it is read. */
	text = malloc(big);
	ck_assert_ptr_nonnull(text);
	memset(text, '#', big);
	s = scenario_parse_file(temp_file(text, big), err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, ": 8388609 bytes: a scenario file holds at most 8388608"));
	unlink(temp_file("", 0));
	assert_buffer_error(text, big, "t.ct: 8388609 bytes: a scenario file holds at most 8388608");
	free(text);
}
END_TEST

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time and heap for a file of a connect and n - 1 statements made by line(i). */
static void parse_cost(size_t n, const char *(*line)(size_t), double *seconds, size_t *heap)
{
	size_t size = 128 * n + 128, used;
	char *text = malloc(size), err[256];
	struct mallinfo2 before, after;
	struct scenario *s;
	double start;

	ck_assert_ptr_nonnull(text);
	used = (size_t)snprintf(text, size, "name big\ntopology pair\nconnect c client -> server:80\n");
	for (size_t i = 1; i < n; i++)
		used += (size_t)snprintf(text + used, size - used, "%s\n", line(i));
	before = mallinfo2();
	start = cpu_seconds();
	s = scenario_parse_buffer(text, used, "big.ct", err, sizeof(err));
	*seconds = cpu_seconds() - start;
	after = mallinfo2();
	ck_assert_msg(s != NULL, "%s", err);
	*heap = after.uordblks + after.hblkhd - before.uordblks - before.hblkhd;
	scenario_free(s);
	free(text);
}

static const char *mixed_step(size_t i)
{
	static const char *const lines[] = {
		"send client -> server tcp conn=c flags=PA len=100 seq=c.client.nxt+c.server.win+1",
		"expect verdict invalid reason \"SEQ is over upper bound # (over the window of the receiver)\"",
		"expect ct c state ESTABLISHED assured timeout 1..300",
		"sysctl server nf_conntrack_tcp_be_liberal=1",
	};
	return lines[i % 4];
}

static const char *about_line(size_t i)
{
	(void)i;
	return "about one of many lines of explanation";
}

/* Work and room grow with the file, linearly: 100,000 steps in well under 100 MB,
 * and ten times the lines cost about ten times the time (not a hundred). */
START_TEST(test_untrusted_size)
{
	double small, large;
	size_t heap, ignored;

	parse_cost(100000, mixed_step, &large, &heap);
	ck_assert_msg(heap < 100u << 20, "100,000 steps took %zu bytes", heap);
	printf("# 100,000 steps: %.3f s of CPU, %.1f MB\n", large, (double)heap / (1 << 20));
	/* Ratios of CPU time, not wall time: they hold on a loaded machine. */
	parse_cost(20000, about_line, &small, &ignored);
	parse_cost(200000, about_line, &large, &ignored);
	ck_assert_msg(large < 30 * small + 0.05, "about lines: %.3f s for 20,000, %.3f s for 200,000",
		      small, large);
	parse_cost(10000, mixed_step, &small, &ignored);
	parse_cost(100000, mixed_step, &large, &ignored);
	ck_assert_msg(large < 30 * small + 0.05, "steps: %.3f s for 10,000, %.3f s for 100,000",
		      small, large);
}
END_TEST

/* ---- Files ---- */

START_TEST(test_parse_file)
{
	char path[] = "/tmp/test_scenario_XXXXXX";
	char err[512] = "";
	struct scenario *s;
	int fd = mkstemp(path);
	static const char text[] = "name f\ntopology pair\nlisten server:22 junk\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	s = scenario_parse_file(path, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_int_eq(strncmp(err, path, strlen(path)), 0);
	ck_assert_str_eq(err + strlen(path), ":3:18: expected backlog=, maxseg=, rcvbuf=, nodelay (each once) or end of line, found junk");
	unlink(path);

	s = scenario_parse_file("/nonexistent/x.ct", err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err, "/nonexistent/x.ct: No such file or directory");
}
END_TEST

static int scenario_files_failed;

static int parse_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path);
	char err[512];
	struct scenario *s;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < 3 || strcmp(path + len - 3, ".ct") != 0)
		return 0;
	s = scenario_parse_file(path, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "%s\n", err);
		scenario_files_failed++;
	}
	scenario_free(s);
	return 0;
}

/* Every scenario shipped parses ($CTLAB_SCENARIOS, default ./scenarios). */
START_TEST(test_shipped_scenarios)
{
	const char *dir = getenv("CTLAB_SCENARIOS") ? getenv("CTLAB_SCENARIOS") : "scenarios";

	if (access(dir, R_OK) != 0)
		return;		/* nothing shipped yet, or run from elsewhere */
	ck_assert_int_eq(nftw(dir, parse_one, 16, FTW_PHYS), 0);
	ck_assert_msg(scenario_files_failed == 0, "%d scenario files do not parse",
		      scenario_files_failed);
}
END_TEST

/* Each file in tests/scenarios-bad opens with "# error: LINE:COLUMN: expected …". */
static int check_bad_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	static const char marker[] = "# error: ";
	size_t len = strlen(path);
	char expected[512], err[512];
	struct scenario *s;
	FILE *file;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < 3 || strcmp(path + len - 3, ".ct") != 0)
		return 0;
	file = fopen(path, "r");
	ck_assert_ptr_nonnull(file);
	ck_assert_ptr_nonnull(fgets(expected, sizeof(expected), file));
	fclose(file);
	expected[strcspn(expected, "\n")] = '\0';
	ck_assert_msg(strncmp(expected, marker, strlen(marker)) == 0,
		      "%s: first line is not \"%s…\"", path, marker);

	s = scenario_parse_file(path, err, sizeof(err));
	ck_assert_msg(s == NULL, "%s parsed", path);
	ck_assert_msg(strncmp(err, path, len) == 0 && err[len] == ':', "%s", err);
	ck_assert_str_eq(err + len + 1, expected + strlen(marker));
	return 0;
}

START_TEST(test_bad_scenario_files)
{
	const char *dir = "tests/scenarios-bad";

	if (access(dir, R_OK) != 0)
		return;		/* run from outside the source tree */
	ck_assert_int_eq(nftw(dir, check_bad_one, 16, FTW_PHYS), 0);
}
END_TEST

/* bypass SRC -> DST [PROTO [flags=X]]: hosts, the service, a protocol, TCP flags. */
START_TEST(test_bypass)
{
	struct scenario *s = parse_ok("name t\ntopology routed\n"
		"bypass server -> client tcp flags=SA\n"
		"bypass client -> service\n"
		"bypass client -> server udp\n"
		"bypass client -> server tcp flags=R+\n");
	const struct packet_path *b = &s->steps[0].bypass;

	ck_assert_int_eq(s->steps[0].kind, STEP_BYPASS);
	ck_assert_str_eq(b->src, "server");
	ck_assert_str_eq(b->dst, "client");
	ck_assert(b->has_protocol && b->protocol == PROTO_TCP);
	ck_assert(b->has_flags && b->flags == (TCP_FLAG_SYN | TCP_FLAG_ACK));
	b = &s->steps[1].bypass;
	ck_assert_str_eq(b->dst, "service");
	ck_assert(!b->has_protocol && !b->has_flags);
	b = &s->steps[2].bypass;
	ck_assert(b->has_protocol && b->protocol == PROTO_UDP && !b->has_flags);
	b = &s->steps[3].bypass;
	ck_assert(b->has_flags && b->flags_contain && b->flags == TCP_FLAG_RST);
	ck_assert(!s->steps[0].bypass.flags_contain);
	scenario_free(s);
	assert_error(HEAD "bypass client -> client\n",
		     "t.ct:3:18: expected a destination other than the source, found client");
	assert_error(HEAD "bypass client server\n", "t.ct:3:15: expected ->, found server");
	assert_error(HEAD "bypass client -> service\n",
		     "t.ct:3:18: expected a host of topology pair (client, server), found service");
	assert_error(HEAD "bypass client -> server udp flags=S\n",
		     "t.ct:3:29: expected end of line, found flags=S");
	assert_error(HEAD "bypass client -> server tcp seq=1\n",
		     "t.ct:3:29: expected flags=X or end of line, found seq=1");
	assert_error(HEAD "bypass client -> server tcp flags=Q\n",
		     "t.ct:3:35: expected a TCP flag letter (F S R P A U E C), found Q");
	assert_error(HEAD "bypass client -> server sctp\n",
		     "t.ct:3:25: expected a protocol (tcp, udp, icmp), found sctp");
	/* hold takes the same packets; release how many to wait for. */
	s = parse_ok(HEAD "hold client -> server udp\nrelease\nhold server -> client tcp flags=A+\n"
		     "release 64\n");
	ck_assert_int_eq(s->steps[0].kind, STEP_HOLD);
	ck_assert(s->steps[0].hold.has_protocol && s->steps[0].hold.protocol == PROTO_UDP);
	ck_assert_int_eq(s->steps[1].kind, STEP_RELEASE);
	ck_assert_uint_eq(s->steps[1].release.count, 1);
	ck_assert(s->steps[2].hold.flags_contain && s->steps[2].hold.flags == TCP_FLAG_ACK);
	ck_assert_uint_eq(s->steps[3].release.count, 64);
	scenario_free(s);
	assert_error(HEAD "release 0\n", "t.ct:3:9: expected a number 1..64, found 0");
	assert_error(HEAD "release 65\n", "t.ct:3:9: expected a number 1..64, found 65");
	assert_error(HEAD "release 2 3\n", "t.ct:3:11: expected end of line, found 3");
	assert_error(HEAD "hold client\n", "t.ct:3:12: expected ->, found end of line");
	s = parse_ok(HEAD "hold client -> server before conntrack\n"
		     "hold client -> server tcp flags=R+ before conntrack\nhold client -> server udp\n");
	ck_assert(s->steps[0].hold.before_conntrack && !s->steps[0].hold.has_protocol);
	ck_assert(s->steps[1].hold.before_conntrack && s->steps[1].hold.flags_contain);
	ck_assert(!s->steps[2].hold.before_conntrack);
	scenario_free(s);
	assert_error(HEAD "hold client -> server tcp seq=1\n",
		     "t.ct:3:27: expected flags=X, before conntrack or end of line, found seq=1");
	assert_error(HEAD "hold client -> server before\n",
		     "t.ct:3:29: expected conntrack, found end of line");
	assert_error(HEAD "bypass client -> server before conntrack\n",
		     "t.ct:3:25: expected a protocol (tcp, udp, icmp), found before");
}
END_TEST

/* Language v2: a scripted peer, a handshake not waited for, named packets. */
START_TEST(test_v2_steps)
{
	struct scenario *s = parse_ok(HEAD
		"mute client\n"
		"listen server:81 backlog=2\n"
		"connect c server -> client:8080 tcp sport=4242 nowait\n"
		"expect packet server -> client tcp flags=S as syn within 50ms\n"
		"send client -> server tcp conn=c flags=SA seq=1000 ack=syn.seq+1 tsecr=syn.tsval\n"
		"expect no packet server -> client tcp flags=R+ within 2s\n"
		"sleep 250ms\n"
		"sleep 2\n"
		"expect counter server invalid_in packets >=4 bytes 0\n"
		"expect netstat TcpExtPAWSEstab +1\n"
		"expect netstat client TcpOutRsts >0\n");
	const struct step *steps = s->steps;
	const struct packet_match *packet;

	ck_assert_int_eq(steps[0].kind, STEP_MUTE);
	ck_assert_str_eq(steps[0].mute.host, "client");
	ck_assert_int_eq(steps[1].listen.backlog, 2);
	ck_assert(steps[2].connect.nowait && !steps[2].connect.may_fail);
	ck_assert_int_eq(steps[2].connect.sport, 4242);
	packet = &steps[3].expect.packet;
	ck_assert_int_eq(packet->name, 0);
	ck_assert_str_eq(s->packets[0], "syn");
	ck_assert_int_eq(packet->within_ms, 50);
	ck_assert(steps[4].send.fields[SEND_ACK].terms[0].is_packet);
	ck_assert_int_eq(steps[4].send.fields[SEND_ACK].terms[0].field, PACKET_SEQ);
	ck_assert_int_eq(steps[4].send.fields[SEND_TSECR].terms[0].field, PACKET_TSVAL);
	packet = &steps[5].expect.packet;
	ck_assert(packet->absent && packet->flags_contain && packet->flags == TCP_FLAG_RST);
	ck_assert_int_eq(packet->within_ms, 2000);
	ck_assert_int_eq(packet->name, -1);
	ck_assert_int_eq(steps[6].sleep.ms, 250);
	ck_assert_int_eq(steps[7].sleep.ms, 2);
	ck_assert_int_eq(steps[8].expect.kind, EXPECT_COUNTER);
	ck_assert_str_eq(steps[8].expect.counter, "invalid_in");
	ck_assert(steps[8].expect.has_packets && steps[8].expect.packets_op == CMP_GE);
	ck_assert(steps[8].expect.has_bytes && steps[8].expect.bytes == 0);
	ck_assert_int_eq(steps[9].expect.kind, EXPECT_NETSTAT);
	ck_assert_str_eq(steps[9].expect.host, "");
	ck_assert_int_eq(steps[9].expect.delta, 1);
	ck_assert_str_eq(steps[10].expect.host, "client");
	ck_assert_int_eq(steps[10].expect.op, CMP_GT);
	ck_assert(s->uses_netstat);
	scenario_free(s);

	s = parse_ok("name l\ntopology routed\n"
		     "link router server mtu=1520\n"
		     "listen server:80 rcvbuf=4096 backlog=8 maxseg=1000\n"
		     "connect c client -> server:80 nodelay maxseg=536 rcvbuf=65536\n");
	ck_assert_int_eq(s->steps[0].kind, STEP_LINK);
	ck_assert_str_eq(s->steps[0].link.a, "router");
	ck_assert_str_eq(s->steps[0].link.b, "server");
	ck_assert_int_eq(s->steps[0].link.mtu, 1520);
	ck_assert(!s->steps[0].link.netem && !s->uses_netem);
	ck_assert_int_eq(s->steps[1].listen.backlog, 8);
	ck_assert_int_eq(s->steps[1].listen.options.maxseg, 1000);
	ck_assert_int_eq(s->steps[1].listen.options.rcvbuf, 4096);
	ck_assert(!s->steps[1].listen.options.nodelay);
	ck_assert(s->steps[2].connect.options.nodelay);
	ck_assert_int_eq(s->steps[2].connect.options.maxseg, 536);
	ck_assert_int_eq(s->steps[2].connect.options.rcvbuf, 65536);
	scenario_free(s);
}
END_TEST

START_TEST(test_error_v2)
{
	struct scenario *s;

	assert_error(HEAD "mute client\nconnect c server -> client:80\n",
		     "t.ct:4:21: expected a host that answers (client is muted: connect … tcp "
		     "nowait to it, and crafted packets answer), found client");
	assert_error(HEAD "connect c client -> server:80 nowait may-fail\n",
		     "t.ct:3:38: expected tcp, udp, sport=, maxseg=, rcvbuf=, nodelay, nowait, may-fail or end of line, each once (nowait "
		     "and may-fail exclude each other), found may-fail");
	assert_error(HEAD "connect u client -> server:53 udp nowait\n",
		     "t.ct:3:35: expected may-fail or end of line (a udp connection has no handshake "
		     "to wait for), found nowait");
	assert_error(HEAD "connect c client -> server:80 sport=0\n",
		     "t.ct:3:37: expected a number 1..65535, found 0");
	assert_error(HEAD "listen server:80 backlog=0\n",
		     "t.ct:3:26: expected a number 1..4096, found 0");
	assert_error(HEAD "sleep 20s\n", "t.ct:3:7: expected a number 1..10, found 20");
	assert_error(HEAD "sleep\n", "t.ct:3:6: expected a time (N ms: 50, 50ms, 2s), found end of line");
	assert_error(HEAD CONN "expect packet server -> client tcp as c\n",
		     "t.ct:4:39: expected a name not used before (connections and packets share "
		     "names), found c");
	assert_error(HEAD CONN "expect no packet server -> client tcp as x\n",
		     "t.ct:4:42: expected a packet that is seen (expect no … names none), found x");
	assert_error(HEAD CONN "expect packet server -> client tcp as Syn\n",
		     "t.ct:4:39: expected a packet name of [a-z][a-z0-9_]*, at most 31 characters, "
		     "found Syn");
	assert_error(HEAD CONN "expect packet server -> client tcp as p\n"
		     "send client -> server tcp seq=p.nxt\n",
		     "t.ct:5:31: expected p.seq, .ack, .win, .sport, .dport, .tsval, .tsecr or .len, "
		     "found p.nxt");
	assert_error(HEAD CONN "send client -> server tcp seq=q.seq\n",
		     "t.ct:4:31: expected a number, a connection declared by connect or a packet named "
		     "by as, found q");
	assert_error(HEAD CONN "expect counter server 9x packets 1\n",
		     "t.ct:4:23: expected an nft counter name of [A-Za-z][A-Za-z0-9_]*, at most 31 "
		     "characters, found 9x");
	assert_error(HEAD CONN "expect counter server n\n",
		     "t.ct:4:24: expected packets or bytes, found end of line");
	assert_error(HEAD CONN "expect counter server n packets 1 packets 2\n",
		     "t.ct:4:35: expected each clause once, found packets");
	assert_error(HEAD CONN "expect netstat tcpext +1\n",
		     "t.ct:4:16: expected a MIB counter as nstat names it (TcpExtPAWSEstab, TcpOutRsts "
		     "…), found tcpext");
	s = parse_ok(HEAD "link client server loss=0.5% delay=2s\nlink server client loss=100%\n"
		     "link client server loss=0%\nlink client server loss=12.25% mtu=9000\n");
	ck_assert(s->uses_netem && s->steps[0].link.netem);
	ck_assert_int_eq(s->steps[0].link.delay_ms, 2000);
	ck_assert_int_eq(s->steps[0].link.loss_hundredths, 50);
	ck_assert_uint_eq(s->steps[0].link.loss, UINT32_MAX / 200);
	ck_assert_int_eq(s->steps[0].link.mtu, 0);
	ck_assert_uint_eq(s->steps[1].link.loss, UINT32_MAX);
	ck_assert_uint_eq(s->steps[2].link.loss, 0);
	ck_assert(s->steps[2].link.netem);
	ck_assert_int_eq(s->steps[3].link.loss_hundredths, 1225);
	ck_assert_int_eq(s->steps[3].link.mtu, 9000);
	scenario_free(s);
	s = parse_ok(HEAD "link client server delay=10ms reorder=25%\n");
	ck_assert_int_eq(s->steps[0].link.reorder_hundredths, 2500);
	ck_assert_uint_eq(s->steps[0].link.reorder, UINT32_MAX / 4);
	scenario_free(s);
	assert_error(HEAD "link client server reorder=25%\n",
		     "t.ct:3:20: expected delay=T beside reorder= (it sends some packets ahead of "
		     "the delayed ones), found reorder=25%");
	assert_error("name l\ntopology routed\nlink client server mtu=1500\n",
		     "t.ct:3:13: expected a neighbour of client (hosts with a link between them), "
		     "found server");
	assert_error(HEAD "link client server mtu=1000\n",
		     "t.ct:3:24: expected a number 1280..65535, found 1000");
	assert_error(HEAD "link client server\n",
		     "t.ct:3:19: expected mtu=N, delay=T, loss=P% or reorder=P% (each once), found end of line");
	assert_error(HEAD "link client server delay=50ms delay=10ms\n",
		     "t.ct:3:31: expected mtu=N, delay=T, loss=P% or reorder=P% (each once), found delay=10ms");
	assert_error(HEAD "link client server speed=10\n",
		     "t.ct:3:20: expected mtu=N, delay=T, loss=P% or reorder=P% (each once), found speed=10");
	assert_error(HEAD "link client server delay=20s\n",
		     "t.ct:3:26: expected a number 1..10, found 20");
	assert_error(HEAD "link client server loss=10\n",
		     "t.ct:3:25: expected a percentage 0..100% with up to two decimals (10%, "
		     "0.5%), found 10");
	assert_error(HEAD "link client server loss=100.5%\n",
		     "t.ct:3:25: expected a percentage 0..100% with up to two decimals (10%, "
		     "0.5%), found 100.5%");
	assert_error(HEAD "link client server loss=0.125%\n",
		     "t.ct:3:25: expected a percentage 0..100% with up to two decimals (10%, "
		     "0.5%), found 0.125%");
	assert_error(HEAD "link client server loss=.5%\n",
		     "t.ct:3:25: expected a percentage 0..100% with up to two decimals (10%, "
		     "0.5%), found .5%");
	assert_error(HEAD "link client server loss=5.%\n",
		     "t.ct:3:25: expected a percentage 0..100% with up to two decimals (10%, "
		     "0.5%), found 5.%");
	assert_error(HEAD "connect c client -> server:80 maxseg=1 \n",
		     "t.ct:3:38: expected a number 88..65495, found 1");
	assert_error(HEAD "connect c client -> server:80 nodelay nodelay\n",
		     "t.ct:3:39: expected tcp, udp, sport=, maxseg=, rcvbuf=, nodelay, nowait, "
		     "may-fail or end of line, found nodelay");
	assert_error(HEAD "connect u client -> server:53 udp nodelay\n",
		     "t.ct:3:35: expected sport=, may-fail or end of line, found nodelay");
	assert_error(HEAD "expect netstat TcpOutRsts +1\n",
		     "t.ct:3:8: expected a send before this expect, found netstat");
}
END_TEST

static Suite *scenario_suite(void)
{
	Suite *suite = suite_create("lang");
	TCase *good = tcase_create("good");
	TCase *bad = tcase_create("bad");
	TCase *files = tcase_create("files");
	TCase *untrusted = tcase_create("untrusted");

	tcase_add_test(good, test_full_story);
	tcase_add_test(good, test_defaults);
	tcase_add_test(good, test_expressions);
	tcase_add_test(good, test_send_fields);
	tcase_add_test(good, test_send_sack_and_raw_options);
	tcase_add_test(good, test_reason_values);
	tcase_add_test(good, test_since_start);
	tcase_add_test(good, test_expects);
	tcase_add_test(good, test_many_steps);
	tcase_add_test(good, test_variants_and_conditions);
	tcase_add_test(good, test_condition_holds);
	tcase_add_test(good, test_kernel_version_parse);
	tcase_add_test(good, test_socket_and_ct_steps);
	tcase_add_test(good, test_udp_icmp_sends);
	tcase_add_test(good, test_new_expects);
	tcase_add_test(good, test_routed);
	tcase_add_test(good, test_table_full);
	tcase_add_test(good, test_facts);
	tcase_add_test(good, test_tables);
	tcase_add_test(good, test_v2_steps);
	tcase_add_test(good, test_bypass);
	suite_add_tcase(suite, good);

	tcase_add_test(bad, test_error_statement);
	tcase_add_test(bad, test_error_missing_header);
	tcase_add_test(bad, test_error_header);
	tcase_add_test(bad, test_error_strings);
	tcase_add_test(bad, test_error_hosts);
	tcase_add_test(bad, test_error_listen);
	tcase_add_test(bad, test_error_sysctl);
	tcase_add_test(bad, test_error_nft);
	tcase_add_test(bad, test_error_connections);
	tcase_add_test(bad, test_error_send);
	tcase_add_test(bad, test_error_numbers);
	tcase_add_test(bad, test_error_expect);
	tcase_add_test(bad, test_error_variants);
	tcase_add_test(bad, test_error_kernel);
	tcase_add_test(bad, test_error_conditions);
	tcase_add_test(bad, test_error_facts);
	tcase_add_test(bad, test_error_endpoints);
	tcase_add_test(bad, test_error_socket_steps);
	tcase_add_test(bad, test_error_udp_connections);
	tcase_add_test(bad, test_error_udp_icmp_send);
	tcase_add_test(bad, test_error_new_expects);
	tcase_add_test(bad, test_error_v2);
	suite_add_tcase(suite, bad);

	tcase_add_test(files, test_parse_file);
	tcase_add_test(files, test_shipped_scenarios);
	tcase_add_test(files, test_bad_scenario_files);
	suite_add_tcase(suite, files);

	/* Big files take a moment, more on a loaded machine and under sanitizers. */
	tcase_set_timeout(untrusted, 120);
	tcase_add_test(untrusted, test_untrusted_content);
	tcase_add_test(untrusted, test_untrusted_not_a_scenario);
	tcase_add_test(untrusted, test_untrusted_files);
	tcase_add_test(untrusted, test_untrusted_size);
	suite_add_tcase(suite, untrusted);
	return suite;
}

int main(void)
{
	return suite_main(scenario_suite());
}
