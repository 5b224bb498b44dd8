/* test_chain.c — RST chains in hand-made run results of the NAT router incident, both families. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/output.h"
#include "suite.h"

#define WIRE_MAX	64
#define PACKETS_MAX	16
#define CHAINS_MAX	4

#define ISN_CLIENT	1000000u
#define ISN_SERVER	5000000u
#define OVER_WINDOW	1065160u	/* the server's segment lands this far past its window */
#define CLIENT_PORT	40000
#define SNAT_PORT	61000
#define SERVICE_PORT	80
#define CLOSED_PORT	81

/* IPv6 flow labels are per socket; the kernel's RSTs without a socket hash one. */
#define LABEL_CLIENT	0x11111
#define LABEL_SERVER	0x22222
#define LABEL_ROUTER	0x33333
#define LABEL_RST	0xabcde

#define REASON	"SEQ is over upper bound 263211632 (over the window of the receiver)"

/* The routed topology's addresses; the router's eth1 address is not its hosts[] one. */
struct net {
	int family;
	const char *client, *router0, *router1, *server, *service;
};

static const struct net nets[] = {
	{ AF_INET, "198.18.0.1", "198.18.0.254", "198.19.0.254", "198.19.0.2", "198.18.100.1" },
	{ AF_INET6, "2001:db8:1::1", "2001:db8:1::fe", "2001:db8:2::fe", "2001:db8:2::2",
	  "2001:db8:100::1" },
};

struct fixture {
	const struct net *net;
	uint16_t next_ip_id;
	struct wire_record wire[WIRE_MAX];
	struct observed packets[PACKETS_MAX];
	struct run_result result;
	struct rst_chain chains[CHAINS_MAX];
};

/* Each test runs in its own process; fixture_init starts it afresh. */
static struct fixture f;

static void add_host(const char *name, const char *addr, bool observing)
{
	struct run_host *host = &f.result.hosts[f.result.n_hosts++];

	snprintf(host->name, sizeof(host->name), "%s", name);
	snprintf(host->addr, sizeof(host->addr), "%s", addr);
	host->observing = observing;
}

static void fixture_init(int i)
{
	memset(&f, 0, sizeof(f));
	f.net = &nets[i];
	f.next_ip_id = 0x4000;
	f.result.family = f.net->family;
	f.result.variant = -1;
	f.result.wire = f.wire;
	f.result.packets = f.packets;
	add_host("client", f.net->client, false);
	add_host("router", f.net->router0, true);
	add_host("server", f.net->server, false);
}

static void addr_parse(const char *text, union inet_addr *addr)
{
	ck_assert_int_eq(inet_pton(f.net->family, text, addr), 1);
}

/* IPv4 IDs go up packet by packet; an IPv6 socket keeps its flow label. */
static uint32_t sock_id(uint32_t label)
{
	return f.net->family == AF_INET ? f.next_ip_id++ : label;
}

/* Linux sends RSTs of no socket with DF and IP ID 0. */
static uint32_t rst_id(void)
{
	return f.net->family == AF_INET ? 0 : LABEL_RST;
}

static struct packet_summary tcp(const char *src, uint16_t sport, const char *dst, uint16_t dport,
				 uint8_t flags, uint32_t seq, uint32_t ack, size_t len, uint32_t id)
{
	struct packet_summary p = {
		.family = f.net->family, .protocol = IPPROTO_TCP, .ttl = 64,
		.sport = sport, .dport = dport, .flags = flags, .seq = seq, .ack = ack,
		.payload_len = len, .window = 502, .ip_checksum_ok = true,
		.tcp_checksum_ok = true, .mss = -1, .wscale = -1,
	};

	addr_parse(src, &p.src);
	addr_parse(dst, &p.dst);
	if (f.net->family == AF_INET)
		p.ip_id = (uint16_t)id;
	else
		p.flow_label = id;
	return p;
}

/* The same packet after NAT rewrote its addresses and ports. */
static struct packet_summary nat(const struct packet_summary *p, const char *src, uint16_t sport,
				 const char *dst, uint16_t dport)
{
	struct packet_summary q = *p;

	addr_parse(src, &q.src);
	addr_parse(dst, &q.dst);
	q.sport = sport;
	q.dport = dport;
	q.ttl--;
	return q;
}

/* One record, a millisecond after the one before. */
static size_t on_wire(const char *host, const char *ifname, bool outgoing,
		       const struct packet_summary *p)
{
	size_t i = f.result.n_wire++;
	struct wire_record *record = &f.wire[i];

	ck_assert_uint_lt(i, WIRE_MAX);
	record->index = i;
	snprintf(record->host, sizeof(record->host), "%s", host);
	snprintf(record->ifname, sizeof(record->ifname), "%s", ifname);
	record->outgoing = outgoing;
	record->when = (struct timespec){ 1700000000, (long)i * 1000000 };
	record->packet = *p;
	return i;
}

/* Client to server through the router: p on the client's link, q on the server's.  Returns
 * the first record's index. */
static size_t route_to_server(const struct packet_summary *p, const struct packet_summary *q)
{
	size_t first = on_wire("client", "eth0", true, p);

	on_wire("router", "eth0", false, p);
	on_wire("router", "eth1", true, q);
	on_wire("server", "eth0", false, q);
	return first;
}

static size_t route_to_client(const struct packet_summary *p, const struct packet_summary *q)
{
	size_t first = on_wire("server", "eth0", true, p);

	on_wire("router", "eth1", false, p);
	on_wire("router", "eth0", true, q);
	on_wire("client", "eth0", false, q);
	return first;
}

/* The observer's record of p, judged when wire record `at` came in at the router. */
static struct observed *observe(const struct packet_summary *p, size_t at,
				enum verdict verdict, const char *reason)
{
	size_t i = f.result.n_packets++;
	struct observed *o = &f.packets[i];

	ck_assert_uint_lt(i, PACKETS_MAX);
	*o = (struct observed){ .index = i, .packet = *p, .verdict = verdict,
				.when = f.wire[at].when };
	o->when.tv_nsec += 1000;
	if (reason) {
		o->has_reason = true;
		snprintf(o->reason, sizeof(o->reason), "%s", reason);
	}
	return o;
}

static struct run_conn *add_conn(const char *name)
{
	struct run_conn *conn = &f.result.conns[f.result.n_conns++];

	snprintf(conn->name, sizeof(conn->name), "%s", name);
	conn->protocol = PROTO_TCP;
	snprintf(conn->client, sizeof(conn->client), "client");
	snprintf(conn->server, sizeof(conn->server), "server");
	return conn;
}

/* c: the client dialed the service, DNATed to the server, which sees the client itself. */
static void conn_dnat(int client_error, int server_error)
{
	struct run_conn *conn = add_conn("c");

	addr_parse(f.net->client, &conn->client_addr);
	conn->client_port = CLIENT_PORT;
	addr_parse(f.net->service, &conn->dialed_addr);
	conn->dialed_port = SERVICE_PORT;
	addr_parse(f.net->server, &conn->server_addr);
	conn->server_port = SERVICE_PORT;
	addr_parse(f.net->client, &conn->peer_addr);
	conn->peer_port = CLIENT_PORT;
	conn->client_error = client_error;
	conn->server_error = server_error;
}

/* The handshake of c through the DNAT; the observer sees each packet before NAT. */
static void handshake_dnat(void)
{
	const struct net *n = f.net;
	struct packet_summary p, q;
	size_t i;

	p = tcp(n->client, CLIENT_PORT, n->service, SERVICE_PORT, TCP_FLAG_SYN, ISN_CLIENT, 0, 0,
		sock_id(LABEL_CLIENT));
	q = nat(&p, n->client, CLIENT_PORT, n->server, SERVICE_PORT);
	i = route_to_server(&p, &q);
	observe(&p, i + 1, VERDICT_NEW, NULL);

	p = tcp(n->server, SERVICE_PORT, n->client, CLIENT_PORT, TCP_FLAG_SYN | TCP_FLAG_ACK,
		ISN_SERVER, ISN_CLIENT + 1, 0, sock_id(LABEL_SERVER));
	q = nat(&p, n->service, SERVICE_PORT, n->client, CLIENT_PORT);
	i = route_to_client(&p, &q);
	observe(&p, i + 1, VERDICT_ESTABLISHED, NULL);

	p = tcp(n->client, CLIENT_PORT, n->service, SERVICE_PORT, TCP_FLAG_ACK, ISN_CLIENT + 1,
		ISN_SERVER + 1, 0, sock_id(LABEL_CLIENT));
	q = nat(&p, n->client, CLIENT_PORT, n->server, SERVICE_PORT);
	i = route_to_server(&p, &q);
	observe(&p, i + 1, VERDICT_ESTABLISHED, NULL);
}

/* The server's segment past the window: INVALID, so not un-NATed; the client arrives at it
 * from the server's own address.  Returns its record at the client. */
static size_t segment_over_window(void)
{
	const struct net *n = f.net;
	struct packet_summary seg;
	size_t i;

	seg = tcp(n->server, SERVICE_PORT, n->client, CLIENT_PORT, TCP_FLAG_PSH | TCP_FLAG_ACK,
		  ISN_SERVER + 1 + OVER_WINDOW, ISN_CLIENT + 1, 100, sock_id(LABEL_SERVER));
	i = route_to_client(&seg, &seg);
	observe(&seg, i + 1, VERDICT_INVALID, REASON);
	return i + 3;
}

/* The client has no socket for server:80 and answers with a RST at the segment's ack.
 * Returns the RST's record at the client. */
static size_t client_rst(void)
{
	const struct net *n = f.net;
	struct packet_summary rst;
	size_t i;

	rst = tcp(n->client, CLIENT_PORT, n->server, SERVICE_PORT, TCP_FLAG_RST, ISN_CLIENT + 1, 0,
		  0, rst_id());
	i = route_to_server(&rst, &rst);
	observe(&rst, i + 1, VERDICT_INVALID, NULL);
	return i;
}

struct want {
	size_t rst;
	const char *sender, *receiver;
	bool has_cause;
	size_t cause;
	const char *cause_sender;
	long observed;
	enum verdict verdict;
	const char *reason, *judged_at;
	bool resets_conn;
	int conn;
	enum conn_side side;
	int error;
	const char *text;
};

static void check_chain(const struct rst_chain *chain, const struct want *want)
{
	ck_assert_uint_eq(chain->rst, want->rst);
	ck_assert_str_eq(chain->rst_sender, want->sender);
	ck_assert_str_eq(chain->rst_receiver, want->receiver);
	ck_assert_int_eq(chain->has_cause, want->has_cause);
	if (want->has_cause) {
		ck_assert_uint_eq(chain->cause, want->cause);
		ck_assert_str_eq(chain->cause_sender, want->cause_sender);
	}
	ck_assert_int_eq(chain->cause_observed, want->observed);
	ck_assert_int_eq(chain->cause_verdict, want->verdict);
	ck_assert_str_eq(chain->cause_reason, want->reason);
	ck_assert_str_eq(chain->judged_at, want->judged_at);
	ck_assert_int_eq(chain->resets_conn, want->resets_conn);
	ck_assert_int_eq(chain->conn, want->conn);
	if (want->resets_conn)
		ck_assert_int_eq(chain->reset_side, want->side);
	ck_assert_int_eq(chain->reset_errno, want->error);
	ck_assert_str_eq(chain->text, want->text);
}

/* kubernetes#74839: the INVALID segment reaches the client un-NATed, its RST kills c. */
START_TEST(invalid_segment_not_un_nated_resets_the_server)
{
	size_t cause, rst;

	fixture_init(_i);
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	cause = segment_over_window();
	rst = client_rst();
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = rst, .sender = "client", .receiver = "server",
		.has_cause = true, .cause = cause, .cause_sender = "server",
		.observed = 3, .verdict = VERDICT_INVALID, .reason = REASON,
		.judged_at = "router", .resets_conn = true, .conn = 0, .side = SIDE_SERVER,
		.error = ECONNRESET,
		/* Relative through the DNAT: the reply's ports and the client's address tell the flow. */
		.text = "RST client->server caused by packet #4 (server->client, seq 1065161"
			" ack 1 len 100, INVALID at router: " REASON
			")" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)" "; it reset c.server (ECONNRESET)",
	});
}
END_TEST

/* A SNAT gateway: the segment is left addressed to the router, which has no socket for it. */
START_TEST(snat_gateway_resets_the_server_itself)
{
	const struct net *n;
	struct packet_summary p, q, seg, rst;
	struct run_conn *conn;
	size_t i, cause, sent;

	fixture_init(_i);
	n = f.net;
	conn = add_conn("c");
	addr_parse(n->client, &conn->client_addr);
	conn->client_port = CLIENT_PORT;
	addr_parse(n->server, &conn->dialed_addr);
	conn->dialed_port = SERVICE_PORT;
	addr_parse(n->server, &conn->server_addr);
	conn->server_port = SERVICE_PORT;
	addr_parse(n->router1, &conn->peer_addr);
	conn->peer_port = SNAT_PORT;
	conn->server_error = ECONNRESET;

	p = tcp(n->client, CLIENT_PORT, n->server, SERVICE_PORT, TCP_FLAG_SYN, ISN_CLIENT, 0, 0,
		sock_id(LABEL_CLIENT));
	q = nat(&p, n->router1, SNAT_PORT, n->server, SERVICE_PORT);
	i = route_to_server(&p, &q);
	observe(&p, i + 1, VERDICT_NEW, NULL);
	p = tcp(n->server, SERVICE_PORT, n->router1, SNAT_PORT, TCP_FLAG_SYN | TCP_FLAG_ACK,
		ISN_SERVER, ISN_CLIENT + 1, 0, sock_id(LABEL_SERVER));
	q = nat(&p, n->server, SERVICE_PORT, n->client, CLIENT_PORT);
	i = route_to_client(&p, &q);
	observe(&p, i + 1, VERDICT_ESTABLISHED, NULL);

	seg = tcp(n->server, SERVICE_PORT, n->router1, SNAT_PORT, TCP_FLAG_PSH | TCP_FLAG_ACK,
		  ISN_SERVER + 1 + OVER_WINDOW, ISN_CLIENT + 1, 100, sock_id(LABEL_SERVER));
	on_wire("server", "eth0", true, &seg);
	cause = on_wire("router", "eth1", false, &seg);
	observe(&seg, cause, VERDICT_INVALID, REASON);
	rst = tcp(n->router1, SNAT_PORT, n->server, SERVICE_PORT, TCP_FLAG_RST, ISN_CLIENT + 1, 0,
		  0, f.net->family == AF_INET ? 0 : LABEL_ROUTER);
	sent = on_wire("router", "eth1", true, &rst);
	observe(&rst, sent, VERDICT_INVALID, NULL)->output = true;
	on_wire("server", "eth0", false, &rst);

	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = sent, .sender = "router", .receiver = "server",
		.has_cause = true, .cause = cause, .cause_sender = "server",
		.observed = 2, .verdict = VERDICT_INVALID, .reason = REASON,
		.judged_at = "router", .resets_conn = true, .conn = 0, .side = SIDE_SERVER,
		.error = ECONNRESET,
		/* Absolute ack: masquerade changed the port too, so nothing ties the
		 * reply to the client's SYN any more. */
		.text = "RST router->server caused by packet #3 (server->router, seq 1065161"
			" ack 1000001 len 100, INVALID at router: " REASON
			")" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)" "; it reset c.server (ECONNRESET)",
	});
}
END_TEST

/* The server aborts (SO_LINGER 0) after data conntrack passed: nothing to blame. */
START_TEST(abort_after_valid_data_is_legitimate)
{
	const struct net *n;
	struct packet_summary p, q, rst, back;
	size_t i;

	fixture_init(_i);
	n = f.net;
	conn_dnat(ECONNRESET, 0);
	handshake_dnat();
	p = tcp(n->client, CLIENT_PORT, n->service, SERVICE_PORT, TCP_FLAG_PSH | TCP_FLAG_ACK,
		ISN_CLIENT + 1, ISN_SERVER + 1, 10, sock_id(LABEL_CLIENT));
	q = nat(&p, n->client, CLIENT_PORT, n->server, SERVICE_PORT);
	i = route_to_server(&p, &q);
	observe(&p, i + 1, VERDICT_ESTABLISHED, NULL);
	rst = tcp(n->server, SERVICE_PORT, n->client, CLIENT_PORT, TCP_FLAG_RST | TCP_FLAG_ACK,
		  ISN_SERVER + 1, ISN_CLIENT + 11, 0, sock_id(LABEL_SERVER));
	back = nat(&rst, n->service, SERVICE_PORT, n->client, CLIENT_PORT);
	route_to_client(&rst, &back);
	observe(&rst, i + 5, VERDICT_ESTABLISHED, NULL);

	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = i + 4, .sender = "server", .receiver = "client",
		.has_cause = true, .cause = i + 3, .cause_sender = "client",
		.observed = 3, .verdict = VERDICT_ESTABLISHED, .reason = "",
		.judged_at = "router", .resets_conn = true, .conn = 0, .side = SIDE_CLIENT,
		.error = ECONNRESET,
		.text = "RST server->client answers packet #4 (client->server, seq 1 ack 1"
			" len 10, ESTABLISHED at router): a legitimate reset, conntrack found"
			" nothing wrong with that packet; it reset c.client (ECONNRESET)",
	});
}
END_TEST

/* The entry was deleted: the server's next segment is picked up as a new flow
 * and leaves un-DNATed; the client's RST answers it.  Not "legitimate", and the
 * lost NAT is named only where the scenario has NAT. */
START_TEST(pickup_after_lost_entry_is_named)
{
	static struct scenario dnat = { .nat = NAT_DNAT };
	const struct net *n;
	struct packet_summary p, rst;
	size_t i;

	fixture_init(_i);
	n = f.net;
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	p = tcp(n->server, SERVICE_PORT, n->client, CLIENT_PORT, TCP_FLAG_PSH | TCP_FLAG_ACK,
		ISN_SERVER + 1, ISN_CLIENT + 1, 100, sock_id(LABEL_SERVER));
	i = route_to_client(&p, &p);
	observe(&p, i + 1, VERDICT_NEW, NULL);
	rst = tcp(n->client, CLIENT_PORT, n->server, SERVICE_PORT, TCP_FLAG_RST,
		  ISN_CLIENT + 1, 0, 0, 0);
	route_to_server(&rst, &rst);
	f.result.scenario = &dnat;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_ptr_nonnull(strstr(f.chains[0].text, "NEW at router): conntrack had no entry for"
				     " it and picked the flow up mid-stream as new, so the NAT of"
				     " the lost entry did not apply to it"));
	ck_assert_ptr_null(strstr(f.chains[0].text, "legitimate"));
	/* Control: without NAT nothing was lost but the entry. */
	f.result.scenario = NULL;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_ptr_nonnull(strstr(f.chains[0].text, "picked the flow up mid-stream as new;"));
	ck_assert_ptr_null(strstr(f.chains[0].text, "NAT"));
}
END_TEST

/* A SYN to a closed port: the RST acks the SYN, and the client was refused. */
START_TEST(refused_syn_is_legitimate)
{
	const struct net *n;
	struct packet_summary syn, rst;
	struct run_conn *conn;
	size_t i;

	fixture_init(_i);
	n = f.net;
	conn = add_conn("d");
	addr_parse(n->client, &conn->client_addr);
	conn->client_port = CLIENT_PORT + 1;
	addr_parse(n->server, &conn->dialed_addr);
	conn->dialed_port = CLOSED_PORT;
	conn->client_error = ECONNREFUSED;
	syn = tcp(n->client, CLIENT_PORT + 1, n->server, CLOSED_PORT, TCP_FLAG_SYN, ISN_CLIENT, 0,
		  0, sock_id(LABEL_CLIENT));
	i = route_to_server(&syn, &syn);
	observe(&syn, i + 1, VERDICT_NEW, NULL);
	rst = tcp(n->server, CLOSED_PORT, n->client, CLIENT_PORT + 1, TCP_FLAG_RST | TCP_FLAG_ACK,
		  0, ISN_CLIENT + 1, 0, rst_id());
	route_to_client(&rst, &rst);
	observe(&rst, i + 5, VERDICT_ESTABLISHED, NULL);

	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = i + 4, .sender = "server", .receiver = "client",
		.has_cause = true, .cause = i + 3, .cause_sender = "client",
		.observed = 0, .verdict = VERDICT_NEW, .reason = "",
		.judged_at = "router", .resets_conn = true, .conn = 0, .side = SIDE_CLIENT,
		.error = ECONNREFUSED,
		.text = "RST server->client answers packet #1 (client->server, seq 0, NEW at"
			" router): a legitimate reset, conntrack found nothing wrong with that"
			" packet; it reset d.client (ECONNREFUSED)",
	});
}
END_TEST

/* The capture missed what the client answered: the RST is listed, its cause is not. */
START_TEST(rst_without_cause_on_the_wire)
{
	size_t rst;

	fixture_init(_i);
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	rst = client_rst();
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = rst, .sender = "client", .receiver = "server", .has_cause = false,
		.observed = -1, .verdict = VERDICT_UNSEEN, .reason = "", .judged_at = "",
		.resets_conn = true, .conn = 0, .side = SIDE_SERVER, .error = ECONNRESET,
		.text = "RST client->server: no packet it answers was seen" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)"
			"; it reset c.server (ECONNRESET)",
	});
}
END_TEST

/* A RST to the service address that went no further: named by the address, no socket. */
START_TEST(rst_to_an_address_of_no_host)
{
	struct packet_summary rst;
	char text[128];

	fixture_init(_i);
	conn_dnat(0, 0);
	rst = tcp(f.net->client, CLIENT_PORT, f.net->service, SERVICE_PORT, TCP_FLAG_RST, 12345, 0,
		  0, rst_id());
	on_wire("client", "eth0", true, &rst);
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	snprintf(text, sizeof(text), "RST client->%s: no packet it answers was seen;"
		 " it reset no socket", f.net->service);
	check_chain(&f.chains[0], &(struct want){
		.rst = 0, .sender = "client", .receiver = f.net->service, .has_cause = false,
		.observed = -1, .verdict = VERDICT_UNSEEN, .reason = "", .judged_at = "",
		.resets_conn = false, .conn = -1, .error = 0, .text = text,
	});
}
END_TEST

/* The router dropped the RST: it ends there and resets nothing. */
START_TEST(rst_dropped_by_the_router_resets_no_socket)
{
	struct packet_summary rst;
	size_t cause, sent;

	fixture_init(_i);
	conn_dnat(0, 0);
	handshake_dnat();
	cause = segment_over_window();
	rst = tcp(f.net->client, CLIENT_PORT, f.net->server, SERVICE_PORT, TCP_FLAG_RST,
		  ISN_CLIENT + 1, 0, 0, rst_id());
	sent = on_wire("client", "eth0", true, &rst);
	on_wire("router", "eth0", false, &rst);
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	check_chain(&f.chains[0], &(struct want){
		.rst = sent, .sender = "client", .receiver = "router",
		.has_cause = true, .cause = cause, .cause_sender = "server",
		.observed = 3, .verdict = VERDICT_INVALID, .reason = REASON,
		.judged_at = "router", .resets_conn = false, .conn = -1, .error = 0,
		.text = "RST client->router caused by packet #4 (server->client, seq 1065161"
			" ack 1 len 100, INVALID at router: " REASON "); it reset no socket",
	});
}
END_TEST

/* The server's socket is gone (no connection recorded): the RST arrives, resets nothing. */
START_TEST(rst_to_no_connection_resets_no_socket)
{
	fixture_init(_i);
	handshake_dnat();
	segment_over_window();
	client_rst();
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_str_eq(f.chains[0].rst_receiver, "server");
	ck_assert(!f.chains[0].resets_conn);
	ck_assert_int_eq(f.chains[0].conn, -1);
	ck_assert_str_eq(f.chains[0].text,
			 "RST client->server caused by packet #4 (server->client, seq 1065161"
			 " ack 1 len 100, INVALID at router: " REASON
			 ")" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)" "; it reset no socket");
}
END_TEST

/* A RST the scenario's own step made (close … rst) answers nothing: the step is named,
 * not the packet before it. */
START_TEST(rst_made_by_an_abort_names_its_step)
{
	static struct step close_rst = {
		.kind = STEP_SOCKET, .pos = { .line = 14, .column = 1 },
		.text = "close    c.client rst",
		.socket = { .action = SOCKET_CLOSE, .endpoint = { .conn = 0, .side = SIDE_CLIENT },
			    .abort = true },
	};
	static struct step send_rst = {
		.kind = STEP_SEND, .pos = { .line = 9, .column = 1 },
		.text = "send     client -> server tcp conn=c flags=R",
	};
	struct step_result steps[1] = { { .step = &close_rst } };

	fixture_init(_i);
	handshake_dnat();
	conn_dnat(0, ECONNRESET);
	segment_over_window();
	client_rst();
	/* The RST's own verdict is the last observed packet. */
	steps[0].first_packet = f.result.n_packets - 1;
	steps[0].end_packet = f.result.n_packets;
	f.result.steps = steps;
	f.result.n_steps = 1;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_int_eq(f.chains[0].origin_step, 0);
	ck_assert(!f.chains[0].has_cause);
	ck_assert_str_eq(f.chains[0].text,
			 "RST client->server made by the step `close    c.client rst` (line 14): an "
			 "abort, SO_LINGER 0; conntrack at router marked the RST itself INVALID (not "
			 "NATed by its entry); it reset c.server (ECONNRESET)");
	/* A crafted RST: its send step, when the step sent that very packet. */
	steps[0].step = &send_rst;
	steps[0].sent_packet = (long)f.result.n_packets - 1;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_str_eq(f.chains[0].text,
			 "RST client->server made by the step `send     client -> server tcp conn=c "
			 "flags=R` (line 9), crafted; conntrack at router marked the RST itself INVALID "
			 "(not NATed by its entry); it reset c.server (ECONNRESET)");
	/* Control: a send step that sent another packet did not make the RST. */
	steps[0].sent_packet = 0;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_int_eq(f.chains[0].origin_step, -1);
	ck_assert(f.chains[0].has_cause);
	/* Nor does an abort by the other end. */
	steps[0].step = &close_rst;
	close_rst.socket.endpoint.side = SIDE_SERVER;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_int_eq(f.chains[0].origin_step, -1);
	close_rst.socket.endpoint.side = SIDE_CLIENT;
	/* Without the step, a cause conntrack never tracked is not called a legitimate reset. */
	f.result.n_steps = 0;
	f.packets[f.chains[0].cause_observed].verdict = VERDICT_UNTRACKED;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_ptr_nonnull(strstr(f.chains[0].text, "RST client->server answers packet #4 ("));
	ck_assert_ptr_nonnull(strstr(f.chains[0].text, "): conntrack never judged that packet (it "
					"bypassed tracking);"));
	ck_assert_ptr_null(strstr(f.chains[0].text, "legitimate"));
}
END_TEST

/* No verdict for the cause: it is numbered on the wire, its seq/ack as on its link. */
START_TEST(unjudged_cause_is_numbered_on_the_wire)
{
	const struct net *n;
	struct packet_summary seg;
	size_t i;

	fixture_init(_i);
	n = f.net;
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	seg = tcp(n->server, SERVICE_PORT, n->client, CLIENT_PORT, TCP_FLAG_PSH | TCP_FLAG_ACK,
		  ISN_SERVER + 1 + OVER_WINDOW, ISN_CLIENT + 1, 100, sock_id(LABEL_SERVER));
	i = route_to_client(&seg, &seg);
	client_rst();
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_uint_eq(f.chains[0].cause, i + 3);
	ck_assert_int_eq(f.chains[0].cause_observed, -1);
	ck_assert_int_eq(f.chains[0].cause_verdict, VERDICT_UNSEEN);
	ck_assert_str_eq(f.chains[0].judged_at, "router");
	ck_assert_str_eq(f.chains[0].text,
			 "RST client->server answers wire #16 (server->client, seq 1065161"
			 " ack 1 len 100, no verdict seen at router)" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)"
			 "; it reset c.server (ECONNRESET)");
}
END_TEST

/* Conntrack's reason arrived without its verdict: still what caused the RST. */
START_TEST(reason_without_verdict_is_blamed)
{
	fixture_init(_i);
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	segment_over_window();
	f.packets[3].verdict = VERDICT_UNSEEN;
	client_rst();
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 1);
	ck_assert_int_eq(f.chains[0].cause_observed, 3);
	ck_assert_str_eq(f.chains[0].text,
			 "RST client->server caused by packet #4 (server->client, seq 1065161"
			 " ack 1 len 100, reason logged at router: " REASON
			 ")" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)" "; it reset c.server (ECONNRESET)");
}
END_TEST

/*
 * The server retransmits, the client resets again.  In IPv6 both copies of the
 * segment and both RSTs are alike (one flow label): time tells them apart.
 */
static void two_rsts(size_t cause[2], size_t rst[2])
{
	conn_dnat(0, ECONNRESET);
	handshake_dnat();
	cause[0] = segment_over_window();
	rst[0] = client_rst();
	cause[1] = segment_over_window();
	rst[1] = client_rst();
}

START_TEST(each_rst_answers_its_own_copy)
{
	size_t cause[2], rst[2];

	fixture_init(_i);
	two_rsts(cause, rst);
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 2);
	ck_assert_uint_eq(f.chains[0].rst, rst[0]);
	ck_assert_uint_eq(f.chains[0].cause, cause[0]);
	ck_assert_int_eq(f.chains[0].cause_observed, 3);
	ck_assert_uint_eq(f.chains[1].rst, rst[1]);
	ck_assert_uint_eq(f.chains[1].cause, cause[1]);
	ck_assert_int_eq(f.chains[1].cause_observed, 5);
	ck_assert_str_eq(f.chains[1].rst_receiver, "server");
	ck_assert_str_eq(f.chains[1].cause_sender, "server");
	ck_assert_str_eq(f.chains[1].text,
			 "RST client->server caused by packet #6 (server->client, seq 1065161"
			 " ack 1 len 100, INVALID at router: " REASON
			 ")" "; conntrack at router marked the RST itself INVALID (not NATed by its entry)" "; it reset c.server (ECONNRESET)");
}
END_TEST

START_TEST(max_bounds_the_chains)
{
	size_t cause[2], rst[2];

	fixture_init(_i);
	two_rsts(cause, rst);
	memset(f.chains, 0x5a, sizeof(f.chains));
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, 0), 0);
	ck_assert_uint_eq(f.chains[0].rst, 0x5a5a5a5a5a5a5a5aul);
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, 1), 1);
	ck_assert_uint_eq(f.chains[0].rst, rst[0]);
	ck_assert_uint_eq(f.chains[1].rst, 0x5a5a5a5a5a5a5a5aul);
}
END_TEST

START_TEST(nothing_without_a_wire)
{
	fixture_init(_i);
	handshake_dnat();
	f.result.n_wire = 0;
	ck_assert_uint_eq(chain_locate(&f.result, f.chains, CHAINS_MAX), 0);
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("incident");
	size_t n_nets = sizeof(nets) / sizeof(nets[0]);

	/* Each loop test runs once per family: _i indexes nets[]. */
	tcase_add_loop_test(tc, invalid_segment_not_un_nated_resets_the_server, 0, n_nets);
	tcase_add_loop_test(tc, snat_gateway_resets_the_server_itself, 0, n_nets);
	tcase_add_loop_test(tc, each_rst_answers_its_own_copy, 0, n_nets);
	suite_add_tcase(s, tc);
	tc = tcase_create("legitimate");
	tcase_add_loop_test(tc, abort_after_valid_data_is_legitimate, 0, n_nets);
	tcase_add_loop_test(tc, refused_syn_is_legitimate, 0, n_nets);
	tcase_add_loop_test(tc, pickup_after_lost_entry_is_named, 0, n_nets);
	suite_add_tcase(s, tc);
	tc = tcase_create("partial");
	tcase_add_loop_test(tc, rst_without_cause_on_the_wire, 0, n_nets);
	tcase_add_loop_test(tc, rst_to_an_address_of_no_host, 0, n_nets);
	tcase_add_loop_test(tc, rst_dropped_by_the_router_resets_no_socket, 0, n_nets);
	tcase_add_loop_test(tc, rst_to_no_connection_resets_no_socket, 0, n_nets);
	tcase_add_loop_test(tc, rst_made_by_an_abort_names_its_step, 0, n_nets);
	tcase_add_loop_test(tc, unjudged_cause_is_numbered_on_the_wire, 0, n_nets);
	tcase_add_loop_test(tc, reason_without_verdict_is_blamed, 0, n_nets);
	tcase_add_loop_test(tc, max_bounds_the_chains, 0, n_nets);
	tcase_add_loop_test(tc, nothing_without_a_wire, 0, n_nets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_main(chain_suite());
}
