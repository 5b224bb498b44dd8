// SPDX-License-Identifier: GPL-2.0
/* chain — locate the cause of every RST on the wire. */

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "output/output.h"
#include "text.h"

/* A packet crosses each host at most once on its way, routers twice over at worst. */
#define TRACE_HOPS_MAX	(2 * RUN_HOSTS_MAX)

static size_t addr_size(int family)
{
	return family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
}

static bool addr_equal(int family, const union inet_addr *a, const union inet_addr *b)
{
	return memcmp(a, b, addr_size(family)) == 0;
}

static bool is_tcp(const struct packet_summary *packet)
{
	return packet->protocol == IPPROTO_TCP && !packet->fragment;
}

/* The observer sees a packet before or after NAT: the same test, ports aside. */
static bool observed_same(const struct packet_summary *a, const struct packet_summary *b)
{
	if (a->family != b->family || a->protocol != b->protocol)
		return false;
	if (a->family == AF_INET ? a->ip_id != b->ip_id : a->flow_label != b->flow_label)
		return false;
	return a->seq == b->seq && a->ack == b->ack && a->flags == b->flags &&
	       a->payload_len == b->payload_len;
}

static bool copy_on(const struct wire_record *record, const char *host,
		    const struct packet_summary *packet)
{
	return strcmp(record->host, host) == 0 && packet_copy_of(&record->packet, packet);
}

/*
 * An outgoing copy was forwarded when more copies came in at its host before
 * it than went out: a host sends out what it forwards after receiving it.
 */
static bool forwarded(const struct run_result *result, size_t i)
{
	const struct wire_record *out = &result->wire[i];
	size_t j, in = 0, sent = 0;

	for (j = 0; j < i; j++) {
		const struct wire_record *record = &result->wire[j];

		if (!copy_on(record, out->host, &out->packet))
			continue;
		if (record->outgoing)
			sent++;
		else
			in++;
	}
	return in > sent;
}

static bool emitted_rst(const struct run_result *result, size_t i)
{
	const struct wire_record *record = &result->wire[i];

	return record->outgoing && is_tcp(&record->packet) &&
	       (record->packet.flags & TCP_FLAG_RST) && !forwarded(result, i);
}

/* Where outgoing copy i went: the first copy to come in at another host after it. */
static long next_arrival(const struct run_result *result, size_t i)
{
	const struct wire_record *out = &result->wire[i];
	size_t j;

	for (j = i + 1; j < result->n_wire; j++) {
		const struct wire_record *record = &result->wire[j];

		if (!record->outgoing && strcmp(record->host, out->host) != 0 &&
		    packet_copy_of(&record->packet, &out->packet))
			return (long)j;
	}
	return -1;
}

/* The copy the host of incoming copy i sent on; -1 if it kept the packet. */
static long sent_on(const struct run_result *result, size_t i)
{
	const struct wire_record *in = &result->wire[i];
	size_t j;

	for (j = i + 1; j < result->n_wire; j++) {
		const struct wire_record *record = &result->wire[j];

		if (record->outgoing && copy_on(record, in->host, &in->packet) &&
		    forwarded(result, j))
			return (long)j;
	}
	return -1;
}

/* The last arrival of outgoing copy i, hop by hop; -1 if no host was seen receiving it. */
static long final_arrival(const struct run_result *result, size_t i)
{
	long arrival = -1, from = (long)i;
	int hops;

	for (hops = 0; hops < TRACE_HOPS_MAX && from >= 0; hops++) {
		long in = next_arrival(result, (size_t)from);

		if (in < 0)
			break;
		arrival = in;
		from = sent_on(result, (size_t)in);
	}
	return arrival;
}

/* Where incoming copy i came from: the latest copy to go out at another host before it. */
static long prev_departure(const struct run_result *result, size_t i)
{
	const struct wire_record *in = &result->wire[i];
	size_t j;

	for (j = i; j-- > 0;) {
		const struct wire_record *record = &result->wire[j];

		if (record->outgoing && strcmp(record->host, in->host) != 0 &&
		    packet_copy_of(&record->packet, &in->packet))
			return (long)j;
	}
	return -1;
}

/* The copy that came in at the host of outgoing copy i, if i was forwarded. */
static long came_in(const struct run_result *result, size_t i)
{
	const struct wire_record *out = &result->wire[i];
	size_t j;

	if (!forwarded(result, i))
		return -1;
	for (j = i; j-- > 0;) {
		const struct wire_record *record = &result->wire[j];

		if (!record->outgoing && copy_on(record, out->host, &out->packet))
			return (long)j;
	}
	return -1;
}

/* The first departure of incoming copy i, hop by hop back; -1 if none was seen. */
static long first_departure(const struct run_result *result, size_t i)
{
	long departure = -1, from = (long)i;
	int hops;

	for (hops = 0; hops < TRACE_HOPS_MAX && from >= 0; hops++) {
		long out = prev_departure(result, (size_t)from);

		if (out < 0)
			break;
		departure = out;
		from = came_in(result, (size_t)out);
	}
	return departure;
}

/*
 * A segment with ACK is answered by a RST at its ack; any other by a RST that
 * acks its end (RFC 9293 3.10.7.1, as Linux's tcp_v4_send_reset does).
 */
static bool rst_answers(const struct packet_summary *rst, const struct packet_summary *cause)
{
	uint32_t end;

	if (cause->flags & TCP_FLAG_ACK)
		return rst->seq == cause->ack;
	end = cause->seq + (uint32_t)cause->payload_len + !!(cause->flags & TCP_FLAG_SYN) +
	      !!(cause->flags & TCP_FLAG_FIN);
	return (rst->flags & TCP_FLAG_ACK) && rst->ack == end;
}

static bool reversed_tuple(const struct packet_summary *rst, const struct packet_summary *packet)
{
	return packet->family == rst->family &&
	       addr_equal(rst->family, &packet->src, &rst->dst) &&
	       addr_equal(rst->family, &packet->dst, &rst->src) &&
	       packet->sport == rst->dport && packet->dport == rst->sport;
}

/* The latest packet that came in at the RST's sender and that the RST answers. */
static long find_cause(const struct run_result *result, size_t i)
{
	const struct wire_record *rst = &result->wire[i];
	size_t j;

	for (j = i; j-- > 0;) {
		const struct wire_record *record = &result->wire[j];
		const struct packet_summary *packet = &record->packet;

		if (record->outgoing || strcmp(record->host, rst->host) != 0 || !is_tcp(packet))
			continue;
		/* Nobody answers a RST, so a RST causes none. */
		if (packet->flags & TCP_FLAG_RST)
			continue;
		if (reversed_tuple(&rst->packet, packet) && rst_answers(&rst->packet, packet))
			return (long)j;
	}
	return -1;
}

static bool not_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/*
 * The observer's record of the cause.  Conntrack judged it before the RST went
 * out, so the latest match by then; if clocks disagree, the first one after.
 */
static long find_observed(const struct run_result *result, const struct wire_record *cause,
			  const struct wire_record *rst)
{
	long before = -1, after = -1;
	size_t j;

	for (j = 0; j < result->n_packets; j++) {
		const struct observed *observed = &result->packets[j];

		if (!observed_same(&observed->packet, &cause->packet))
			continue;
		if (not_after(&observed->when, &rst->when))
			before = (long)j;
		else if (after < 0)
			after = (long)j;
	}
	return before >= 0 ? before : after;
}

static const char *observing_host(const struct run_result *result)
{
	size_t i;

	for (i = 0; i < result->n_hosts && i < RUN_HOSTS_MAX; i++)
		if (result->hosts[i].observing)
			return result->hosts[i].name;
	return NULL;
}

/* The host whose (first) address is addr, else the address as text. */
static void name_addr(const struct run_result *result, int family, const union inet_addr *addr,
		      char *name, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	union inet_addr host_addr;
	size_t i;

	for (i = 0; i < result->n_hosts && i < RUN_HOSTS_MAX; i++) {
		/* Tolerate a prefix length after the address. */
		snprintf(text, sizeof(text), "%s", result->hosts[i].addr);
		text[strcspn(text, "/")] = '\0';
		if (inet_pton(family, text, &host_addr) == 1 &&
		    addr_equal(family, &host_addr, addr)) {
			snprintf(name, size, "%s", result->hosts[i].name);
			return;
		}
	}
	if (!inet_ntop(family, addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(name, size, "%s", text);
}

static bool endpoint_is(int family, const union inet_addr *addr, uint16_t port,
			const union inet_addr *want_addr, uint16_t want_port)
{
	return port == want_port && addr_equal(family, addr, want_addr);
}

/* Does the RST, as it came in at host, hit an end of conn there? */
static bool conn_hit(const struct run_conn *conn, const char *host,
		     const struct packet_summary *rst, enum conn_side *side)
{
	int family = rst->family;

	if (conn->protocol != PROTO_TCP)
		return false;
	if (strcmp(conn->client, host) == 0 &&
	    endpoint_is(family, &rst->dst, rst->dport, &conn->client_addr, conn->client_port) &&
	    endpoint_is(family, &rst->src, rst->sport, &conn->dialed_addr, conn->dialed_port)) {
		*side = SIDE_CLIENT;
		return true;
	}
	if (strcmp(conn->server, host) == 0 &&
	    endpoint_is(family, &rst->dst, rst->dport, &conn->server_addr, conn->server_port) &&
	    endpoint_is(family, &rst->src, rst->sport, &conn->peer_addr, conn->peer_port)) {
		*side = SIDE_SERVER;
		return true;
	}
	return false;
}

static int side_error(const struct run_conn *conn, enum conn_side side)
{
	return side == SIDE_CLIENT ? conn->client_error : conn->server_error;
}

/*
 * The connection the RST reset.  A reused tuple can match several: the one
 * whose socket reported an error, else the latest.
 */
static void find_conn(const struct run_result *result, const struct packet_summary *rst,
		      struct rst_chain *chain)
{
	size_t i;

	for (i = 0; i < result->n_conns && i < SCENARIO_CONNS_MAX; i++) {
		const struct run_conn *conn = &result->conns[i];
		enum conn_side side;

		if (!conn_hit(conn, chain->rst_receiver, rst, &side))
			continue;
		if (chain->resets_conn && chain->reset_errno && !side_error(conn, side))
			continue;
		chain->resets_conn = true;
		chain->conn = (int)i;
		chain->reset_side = side;
		chain->reset_errno = side_error(conn, side);
	}
}

/*
 * 0 if packet goes the way of cause, 1 if back, -1 if it is of another flow.
 * As in the ladder, NAT may have changed one address of the pair: the ports,
 * in order, and the other address still tell the flow.
 */
static int flow_dir(const struct packet_summary *cause, const struct packet_summary *packet)
{
	int family = cause->family;

	if (packet->family != family || !is_tcp(packet))
		return -1;
	if (packet->sport == cause->sport && packet->dport == cause->dport &&
	    (addr_equal(family, &packet->src, &cause->src) ||
	     addr_equal(family, &packet->dst, &cause->dst)))
		return 0;
	if (packet->sport == cause->dport && packet->dport == cause->sport &&
	    (addr_equal(family, &packet->src, &cause->dst) ||
	     addr_equal(family, &packet->dst, &cause->src)))
		return 1;
	return -1;
}

/*
 * The SYNs of the cause's flow in the view it is numbered in: the observer's,
 * else its link's; [0] the way the cause went, [1] the other.  Noted as the
 * ladder notes them, so that both show the same numbers.
 */
static void cause_isn(const struct run_result *result, const struct rst_chain *chain,
		      struct isn *isn)
{
	const struct wire_record *cause = &result->wire[chain->cause];
	size_t j;

	memset(isn, 0, sizeof(*isn));
	if (chain->cause_observed >= 0) {
		const struct packet_summary *seen = &result->packets[chain->cause_observed].packet;

		for (j = 0; j <= (size_t)chain->cause_observed; j++) {
			const struct observed *observed = &result->packets[j];

			isn_note(isn, &observed->packet, flow_dir(seen, &observed->packet),
				 observed->verdict == VERDICT_NEW, NULL);
		}
		return;
	}
	for (j = 0; j <= chain->cause; j++) {
		const struct wire_record *record = &result->wire[j];

		if (strcmp(record->host, cause->host) == 0 &&
		    strcmp(record->ifname, cause->ifname) == 0)
			isn_note(isn, &record->packet, flow_dir(&cause->packet, &record->packet),
				 true, NULL);
	}
}

/* "seq 1065161 ack 1 len 100" */
static size_t append_numbers(char *buf, size_t size, size_t len,
			     const struct packet_summary *packet, const struct isn *isn)
{
	len = text_append_seq(buf, size, len, "seq ", packet->seq, isn, 0);
	if ((packet->flags & TCP_FLAG_ACK) || packet->ack)
		len = text_append_seq(buf, size, len, " ack ", packet->ack, isn, 1);
	if (packet->payload_len)
		len = text_append(buf, size, len, " len %zu", packet->payload_len);
	return len;
}

/* Conntrack blamed the cause: INVALID, or a reason logged without a verdict. */
static bool cause_blamed(const struct rst_chain *chain)
{
	return chain->cause_observed >= 0 &&
	       (chain->cause_verdict == VERDICT_INVALID ||
		(chain->cause_verdict == VERDICT_UNSEEN && chain->cause_reason[0]));
}

/* "INVALID at router: SEQ is over upper bound …" */
static size_t append_verdict(char *buf, size_t size, size_t len, const struct rst_chain *chain)
{
	const char *name = verdict_name(chain->cause_verdict);

	if (chain->cause_observed < 0) {
		if (chain->judged_at[0])
			len = text_append(buf, size, len, ", no verdict seen at %s", chain->judged_at);
		return len;
	}
	if (chain->cause_verdict == VERDICT_UNSEEN) {
		len = text_append(buf, size, len, ", reason logged");
	} else {
		len = text_append(buf, size, len, ", ");
		for (; *name; name++)
			len = text_append(buf, size, len, "%c", toupper((unsigned char)*name));
	}
	len = text_append(buf, size, len, " at %s", chain->judged_at);
	if (chain->cause_reason[0])
		len = text_append(buf, size, len, ": %s", chain->cause_reason);
	return len;
}

static size_t append_cause(char *buf, size_t size, size_t len, const struct run_result *result,
			   const struct rst_chain *chain)
{
	const struct wire_record *cause = &result->wire[chain->cause];
	struct isn isn;

	cause_isn(result, chain, &isn);
	if (cause_blamed(chain))
		len = text_append(buf, size, len, " caused by");
	else
		len = text_append(buf, size, len, " answers");
	if (chain->cause_observed >= 0)
		len = text_append(buf, size, len, " packet #%ld", chain->cause_observed + 1);
	else
		len = text_append(buf, size, len, " wire #%zu", chain->cause + 1);
	len = text_append(buf, size, len, " (%s->%s, ", chain->cause_sender, chain->rst_sender);
	len = append_numbers(buf, size, len, &cause->packet, &isn);
	len = append_verdict(buf, size, len, chain);
	len = text_append(buf, size, len, ")");
	if (chain->cause_observed >= 0 && chain->cause_verdict == VERDICT_UNTRACKED)
		len = text_append(buf, size, len, ": conntrack never judged that packet"
				  " (it bypassed tracking)");
	else if (chain->cause_observed >= 0 && chain->cause_verdict == VERDICT_NEW &&
		 cause->packet.protocol == IPPROTO_TCP && !(cause->packet.flags & TCP_FLAG_SYN))
		len = text_append(buf, size, len, ": conntrack had no entry for it and picked the"
				  " flow up mid-stream as new%s",
				  result->scenario && result->scenario->nat != NAT_NONE
					  ? ", so the NAT of the lost entry did not apply to it" : "");
	else if (chain->cause_observed >= 0 && !cause_blamed(chain))
		len = text_append(buf, size, len, ": a legitimate reset,"
				  " conntrack found nothing wrong with that packet");
	return len;
}

/* What conntrack made of the RST itself, when it was not a plain established one. */
static size_t append_rst_verdict(char *buf, size_t size, size_t len,
				 const struct run_result *result, const struct rst_chain *chain)
{
	const struct observed *rst;

	if (chain->rst_observed < 0)
		return len;
	rst = &result->packets[chain->rst_observed];
	if (rst->verdict == VERDICT_INVALID)
		len = text_append(buf, size, len, "; conntrack at %s marked the RST itself INVALID%s%s"
				  " (not NATed by its entry)", observing_host(result) ?: "the observer",
				  rst->has_reason ? ": " : "", rst->has_reason ? rst->reason : "");
	else if (rst->verdict == VERDICT_UNTRACKED)
		len = text_append(buf, size, len, "; conntrack at %s did not track the RST",
				  observing_host(result) ?: "the observer");
	return len;
}

static void format_text(const struct run_result *result, struct rst_chain *chain)
{
	char *buf = chain->text;
	size_t size = sizeof(chain->text), len;

	len = text_append(buf, size, 0, "RST %s->%s", chain->rst_sender, chain->rst_receiver);
	if (chain->origin_step >= 0) {
		const struct step_result *step = &result->steps[chain->origin_step];

		len = text_append(buf, size, len, " made by the step `%s` (line %d)%s",
				  step->step->text, step->step->pos.line,
				  step->step->kind == STEP_SEND ? ", crafted"
								: ": an abort, SO_LINGER 0");
	} else if (chain->has_cause) {
		len = append_cause(buf, size, len, result, chain);
	} else {
		len = text_append(buf, size, len, ": no packet it answers was seen");
	}
	len = append_rst_verdict(buf, size, len, result, chain);
	if (!chain->resets_conn) {
		text_append(buf, size, len, "; it reset no socket");
		return;
	}
	len = text_append(buf, size, len, "; it ");
	if (!chain->reset_errno) {
		text_append(buf, size, len, "reached %s.%s, which reported no error",
			    result->conns[chain->conn].name,
			    chain->reset_side == SIDE_CLIENT ? "client" : "server");
		return;
	}
	len = text_append(buf, size, len, "reset %s.%s (", result->conns[chain->conn].name,
			  chain->reset_side == SIDE_CLIENT ? "client" : "server");
	if (strerrorname_np(chain->reset_errno))
		len = text_append(buf, size, len, "%s", strerrorname_np(chain->reset_errno));
	else
		len = text_append(buf, size, len, "errno %d", chain->reset_errno);
	text_append(buf, size, len, ")");
}

static void locate_cause(const struct run_result *result, size_t i, struct rst_chain *chain)
{
	const char *observing = observing_host(result);
	const struct wire_record *cause;
	long found, origin;

	found = find_cause(result, i);
	if (found < 0)
		return;
	chain->has_cause = true;
	chain->cause = (size_t)found;
	cause = &result->wire[found];
	origin = first_departure(result, (size_t)found);
	if (origin >= 0)
		snprintf(chain->cause_sender, sizeof(chain->cause_sender), "%s",
			 result->wire[origin].host);
	else
		name_addr(result, cause->packet.family, &cause->packet.src, chain->cause_sender,
			  sizeof(chain->cause_sender));
	if (observing)
		snprintf(chain->judged_at, sizeof(chain->judged_at), "%s", observing);
	chain->cause_observed = find_observed(result, cause, &result->wire[i]);
	if (chain->cause_observed >= 0) {
		const struct observed *observed = &result->packets[chain->cause_observed];

		chain->cause_verdict = observed->verdict;
		if (observed->has_reason)
			snprintf(chain->cause_reason, sizeof(chain->cause_reason), "%s",
				 observed->reason);
	}
}

/* Whether @step's own action made the RST: @k is its observed packet (crafted
 * RSTs), or the step is `close EP rst` by the RST's sender. */
static bool step_made_rst(const struct run_result *result, const struct step_result *step,
			  const struct rst_chain *chain, long k)
{
	if (step->step->kind == STEP_SEND)
		return k >= 0 && step->sent_packet == k;
	if (step->step->kind == STEP_SOCKET && step->step->socket.action == SOCKET_CLOSE &&
	    step->step->socket.abort) {
		const struct run_conn *conn = &result->conns[step->step->socket.endpoint.conn];
		bool client = step->step->socket.endpoint.side == SIDE_CLIENT;

		return strcmp(client ? conn->client : conn->server, chain->rst_sender) == 0;
	}
	return false;
}

static bool time_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The step whose own action made the RST: a crafted RST (its sent packet) or
 * `close EP rst` by the RST's sender, known by when conntrack saw the RST or,
 * for a RST held back on its way, by when it left its sender; -1 if none. */
static long origin_step(const struct run_result *result, const struct rst_chain *chain)
{
	const struct wire_record *left = &result->wire[chain->rst];
	size_t s;

	if (chain->rst_observed >= 0) {
		size_t k = (size_t)chain->rst_observed;

		for (s = 0; s < result->n_steps; s++) {
			const struct step_result *step = &result->steps[s];

			if (step->skipped || k < step->first_packet || k >= step->end_packet)
				continue;
			if (step_made_rst(result, step, chain, (long)k))
				return (long)s;
			break;
		}
	}
	for (s = 0; s < result->n_steps; s++) {
		const struct step_result *step = &result->steps[s];

		if (step->skipped || time_before(&left->when, &step->began) ||
		    !time_before(&left->when, &step->ended))
			continue;
		return step->step->kind == STEP_SOCKET && step_made_rst(result, step, chain, -1)
		       ? (long)s : -1;
	}
	return -1;
}

static void locate_one(const struct run_result *result, size_t i, struct rst_chain *chain)
{
	const struct wire_record *rst = &result->wire[i];
	const struct packet_summary *arrived = &rst->packet;
	long arrival;

	memset(chain, 0, sizeof(*chain));
	chain->rst = i;
	chain->cause_observed = -1;
	chain->origin_step = -1;
	chain->cause_verdict = VERDICT_UNSEEN;
	chain->conn = -1;
	snprintf(chain->rst_sender, sizeof(chain->rst_sender), "%s", rst->host);
	arrival = final_arrival(result, i);
	if (arrival >= 0) {
		snprintf(chain->rst_receiver, sizeof(chain->rst_receiver), "%s",
			 result->wire[arrival].host);
		arrived = &result->wire[arrival].packet;
	} else {
		name_addr(result, rst->packet.family, &rst->packet.dst, chain->rst_receiver,
			  sizeof(chain->rst_receiver));
	}
	chain->rst_observed = find_observed(result, rst, rst);
	chain->origin_step = origin_step(result, chain);
	if (chain->origin_step < 0)
		locate_cause(result, i, chain);
	find_conn(result, arrived, chain);
	format_text(result, chain);
}

size_t chain_locate(const struct run_result *result, struct rst_chain *chains, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < result->n_wire && n < max; i++)
		if (emitted_rst(result, i))
			locate_one(result, i, &chains[n++]);
	return n;
}

void chain_locate_run(struct run_result *result)
{
	size_t i, n_rst = 0;

	for (i = 0; i < result->n_wire; i++)
		n_rst += result->wire[i].packet.protocol == IPPROTO_TCP &&
			 (result->wire[i].packet.flags & TCP_FLAG_RST);
	if (!n_rst)
		return;
	result->chains = calloc(n_rst, sizeof(*result->chains));
	if (result->chains)
		result->n_chains = chain_locate(result, result->chains, n_rst);
}
