/* replay — the replay command: a production capture through conntrack, the packets it marked INVALID and the RSTs that followed. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "journal/journal.h"
#include "output/output.h"
#include "replay/replay.h"
#include "cli.h"

#define FLOWS_SHOWN	64
#define SCENARIO_FLOWS	8	/* flows --scenario writes */
#define SCENARIO_SENDS	1000	/* crafted packets, at most */
#define JSON_PACKETS	100000	/* packets --json lists, at most */
#define HTML_FLOWS	16	/* flows --html draws */
#define HTML_PACKETS	400	/* packets drawn of each */
#define REPLAY_SCHEMA	1	/* the version of --json's document (docs/results.md) */

/* What the summary keeps of a packet: an INVALID one with its reason, a RST
 * with the INVALID packet it followed. */
struct flow_event {
	size_t frame;
	bool rst;
	size_t cause;			/* a RST's: the frame of that INVALID packet, else 0 */
	char *reason;			/* an INVALID packet's, NULL when none was logged */
	int entry_state;		/* the flow's entry after it (TCP_CONNTRACK_*), -1 unknown */
	bool invalid;			/* a RST that was INVALID itself: its entry stays */
};

/* A connection of the capture, either way: its endpoints as its first packet
 * had them, and what the summary says of it. */
struct flow {
	int family;
	uint8_t protocol;
	union inet_addr src, dst;
	uint16_t sport, dport;
	size_t packets, invalid, rsts;
	size_t first_frame;
	bool mid_stream;		/* its first packet was not a SYN: picked up as loose=1 does */
	size_t last_invalid[2];		/* the latest INVALID frame its first sender's way, and back */
	int entry_state;		/* its entry's TCP state after its last tracked packet, -1 unknown */
	const char *side[2];		/* the judge's interface each way's first packet came in by */
	struct flow_event *events;
	size_t n_events, cap_events;
};

/* Built packet by packet as the replay goes: memory for its flows and their
 * INVALID packets and RSTs, whatever the capture's size; what is printed for
 * each packet waits in a file for the header line. */
struct summary {
	bool verbose;
	const struct replay_result *result;	/* its entries flag, set before the first packet */
	FILE *lines;
	FILE *sends;			/* --scenario: each TCP/UDP packet as a send step, by flow */
	json_t *packets;		/* --json: the INVALID ones, with a reason, RSTs, unjudged */
	FILE *drawn;			/* --html: each TCP/UDP packet as run JSON, by flow */
	size_t packets_left_out;
	size_t invalid;
	size_t entries_unread;		/* INVALID TCP packets and RSTs whose entry is unknown */
	struct flow *flows;
	size_t n_flows, cap_flows;
	size_t *slots;			/* flow index + 1, 0 free: open addressing */
	size_t n_slots;
	/* --scenario of a replay with --nat 'dnat SERVICE=BACKEND': hosts by
	 * address (BACKEND the server, SERVICE the service, any other the
	 * client), not by who sent first */
	bool dnat;
	int dnat_family;
	union inet_addr service, backend;
};

static bool is_rst(const struct packet_summary *p)
{
	return p->protocol == IPPROTO_TCP && (p->flags & TCP_FLAG_RST);
}

/* 0: the packet goes the way of its flow's first, 1: back, -1: another flow. */
static int flow_way(const struct flow *flow, const struct packet_summary *p)
{
	size_t len = p->family == AF_INET ? 4 : 16;

	if (flow->family != p->family || flow->protocol != p->protocol)
		return -1;
	if (p->sport == flow->sport && p->dport == flow->dport && !memcmp(&p->src, &flow->src, len) &&
	    !memcmp(&p->dst, &flow->dst, len))
		return 0;
	if (p->sport == flow->dport && p->dport == flow->sport && !memcmp(&p->src, &flow->dst, len) &&
	    !memcmp(&p->dst, &flow->src, len))
		return 1;
	return -1;
}

/* The same for both ways of a flow: FNV-1a over its endpoints, the lower first. */
static size_t flow_hash(const struct packet_summary *p)
{
	size_t len = p->family == AF_INET ? 4 : 16;
	const uint8_t *a = (const uint8_t *)&p->src, *b = (const uint8_t *)&p->dst;
	uint16_t pa = p->sport, pb = p->dport;
	uint64_t h = 1469598103934665603ull;

	if (memcmp(a, b, len) > 0 || (memcmp(a, b, len) == 0 && pa > pb)) {
		const uint8_t *t = a;
		uint16_t tp = pa;

		a = b;
		b = t;
		pa = pb;
		pb = tp;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ a[i]) * 1099511628211ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	h = (h ^ pa) * 1099511628211ull;
	h = (h ^ pb) * 1099511628211ull;
	return (size_t)(h ^ p->protocol);
}

/* The slot of @p's flow, or the free slot it would take. */
static size_t *flow_slot(struct summary *s, const struct packet_summary *p)
{
	size_t slot = flow_hash(p) & (s->n_slots - 1);

	while (s->slots[slot] && flow_way(&s->flows[s->slots[slot] - 1], p) < 0)
		slot = (slot + 1) & (s->n_slots - 1);
	return &s->slots[slot];
}

/* Twice the slots, the flows placed again: at most half of them are taken. */
static int grow_slots(struct summary *s)
{
	size_t n = s->n_slots ? s->n_slots * 2 : 1024, *old = s->slots, n_old = s->n_slots;

	s->slots = calloc(n, sizeof(*s->slots));
	if (!s->slots) {
		s->slots = old;
		return -1;
	}
	s->n_slots = n;
	for (size_t i = 0; i < n_old; i++) {
		if (!old[i])
			continue;
		const struct flow *flow = &s->flows[old[i] - 1];
		struct packet_summary key = { .family = flow->family, .protocol = flow->protocol,
					      .src = flow->src, .dst = flow->dst,
					      .sport = flow->sport, .dport = flow->dport };

		*flow_slot(s, &key) = old[i];
	}
	free(old);
	return 0;
}

static struct flow *find_flow(struct summary *s, const struct replay_packet *packet)
{
	const struct packet_summary *p = &packet->packet;
	size_t *slot;

	if ((s->n_flows + 1) * 2 > s->n_slots && grow_slots(s) < 0)
		return NULL;
	slot = flow_slot(s, p);
	if (*slot)
		return &s->flows[*slot - 1];
	if (s->n_flows == s->cap_flows) {
		size_t cap = s->cap_flows ? s->cap_flows * 2 : 256;
		struct flow *grown = realloc(s->flows, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		s->flows = grown;
		s->cap_flows = cap;
	}
	s->flows[s->n_flows] = (struct flow){
		.family = p->family, .protocol = p->protocol, .src = p->src, .dst = p->dst,
		.sport = p->sport, .dport = p->dport, .first_frame = packet->frame,
		.mid_stream = p->protocol == IPPROTO_TCP && !(p->flags & TCP_FLAG_SYN),
		.entry_state = -1,
	};
	*slot = ++s->n_flows;
	return &s->flows[s->n_flows - 1];
}

static int add_event(struct flow *flow, const struct flow_event *event)
{
	if (flow->n_events == flow->cap_events) {
		size_t cap = flow->cap_events ? flow->cap_events * 2 : 2;
		struct flow_event *grown = realloc(flow->events, cap * sizeof(*grown));

		if (!grown)
			return -1;
		flow->events = grown;
		flow->cap_events = cap;
	}
	flow->events[flow->n_events++] = *event;
	return 0;
}

/* One packet of interest in --json's "packets", past JSON_PACKETS counted. */
static int packet_to_json(struct summary *s, const struct replay_packet *packet)
{
	const struct observed *seen = packet->detail;
	json_t *object, *headers, *also;

	if (json_array_size(s->packets) == JSON_PACKETS) {
		s->packets_left_out++;
		return 0;
	}
	object = json_pack("{s:I, s:I, s:o, s:o}", "frame", (json_int_t)packet->frame,
			   "ts_ns", (json_int_t)packet->ts_ns, "verdict",
			   packet->judged && packet->verdict != VERDICT_UNSEEN ?
			   json_string(verdict_name(packet->verdict)) : json_null(),
			   "reason", seen && seen->has_reason ? json_string(seen->reason) : json_null());
	headers = packet_headers_json(&packet->packet, NULL, NULL);
	also = json_array();
	if (!object || !headers || !also || json_object_update(object, headers) < 0) {
		json_decref(object);
		json_decref(headers);
		json_decref(also);
		return -1;
	}
	json_decref(headers);
	for (size_t i = 0; seen && i < seen->n_also; i++)
		json_array_append_new(also, json_string(seen->also[i]));
	json_object_set_new(object, "also", also);
	json_object_set_new(object, "side", json_string(packet->side));
	return json_array_append_new(s->packets, object);
}

/* "FLOW<TAB>{packet}": @packet as a run's packets are in results.json, from
 * the client (the flow's first sender) or the server, for the page. */
static int write_drawn(FILE *out, size_t flow, int way, const struct replay_packet *packet)
{
	const struct observed *seen = packet->detail;
	bool judged = packet->judged && packet->verdict != VERDICT_UNSEEN;
	json_t *object;
	char *text;

	object = json_pack("{s:I}", "index", (json_int_t)packet->frame);
	if (!object)
		return -1;
	json_object_update_new(object, packet_headers_json(&packet->packet,
				json_string(way ? "server" : "client"),
				json_string(way ? "client" : "server")));
	json_object_set_new(object, "direction", json_string("in"));
	json_object_set_new(object, "verdict", json_string(judged ? verdict_name(packet->verdict) :
							   "unseen"));
	json_object_set_new(object, "reason", seen && seen->has_reason ?
			    json_string(seen->reason) : json_null());
	text = json_dumps(object, JSON_COMPACT);
	json_decref(object);
	if (!text)
		return -1;
	fprintf(out, "%zu\t%s\n", flow, text);
	free(text);
	return ferror(out) ? -1 : 0;
}

/*
 * "FLOW<TAB>send …<TAB>expect …": @packet crafted again from the end of its
 * flow that sent it (the client: the flow's first sender), with conntrack's
 * verdict on it to expect; the flows to keep are known only at the end.
 */
/* Under DNAT, the scenario's host at @addr: the server (the backend), the
 * service, or the client. */
static const char *dnat_role(const struct summary *s, int family, const union inet_addr *addr)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (family == s->dnat_family && memcmp(addr, &s->backend, len) == 0)
		return "server";
	if (family == s->dnat_family && memcmp(addr, &s->service, len) == 0)
		return "service";
	return "client";
}

/* The client's end of @flow under DNAT (its address and port), and the far port. */
static void client_end(const struct summary *s, const struct flow *flow, const union inet_addr **addr,
		       uint16_t *port, uint16_t *far_port)
{
	bool client_sent = strcmp(dnat_role(s, flow->family, &flow->src), "client") == 0;

	*addr = client_sent ? &flow->src : &flow->dst;
	*port = client_sent ? flow->sport : flow->dport;
	*far_port = client_sent ? flow->dport : flow->sport;
}

/* Whether @a and @b are one connection through the DNAT: the same client
 * end, the same far port, one to or from the service, the other the backend. */
static bool dnat_halves(const struct summary *s, const struct flow *a, const struct flow *b)
{
	const union inet_addr *a_addr, *b_addr;
	uint16_t a_port, b_port, a_far, b_far;

	if (a->family != b->family || a->protocol != b->protocol)
		return false;
	client_end(s, a, &a_addr, &a_port, &a_far);
	client_end(s, b, &b_addr, &b_port, &b_far);
	return a_port == b_port && a_far == b_far &&
	       memcmp(a_addr, b_addr, a->family == AF_INET ? 4 : 16) == 0;
}

static int write_send(const struct summary *s, FILE *out, size_t flow, int way,
		      const struct replay_packet *packet)
{
	const struct packet_summary *p = &packet->packet;
	const struct observed *seen = packet->detail;
	char flags[TCP_FLAGS_STRLEN], reason[OBSERVER_REASON_MAX];
	const char *from = way ? "server" : "client", *to = way ? "client" : "server";

	if (s->dnat) {
		from = dnat_role(s, p->family, &p->src);
		to = dnat_role(s, p->family, &p->dst);
		/* The service answers only as the router un-DNATs the server's
		 * packets: no host of a scenario sends from it. */
		if (strcmp(from, "service") == 0 || strcmp(from, to) == 0) {
			fprintf(out, "%zu\t# frame %zu: from the %s to the %s, no host's to craft\t\n",
				flow, packet->frame, from, to);
			return ferror(out) ? -1 : 0;
		}
	}
	fprintf(out, "%zu\tsend     %s -> %s %s sport=%u dport=%u", flow, from, to,
		p->protocol == IPPROTO_TCP ? "tcp" : "udp", p->sport, p->dport);
	if (p->protocol == IPPROTO_TCP) {
		fprintf(out, " flags=%s seq=%u ack=%u win=%u", tcp_flags_format(p->flags, flags),
			p->seq, p->ack, p->window);
		if (p->mss >= 0)
			fprintf(out, " mss=%d", p->mss);
		if (p->wscale >= 0 && p->wscale <= 14)
			fprintf(out, " wscale=%d", p->wscale);
		if (p->sack_permitted)
			fprintf(out, " sackok");
		if (p->timestamp)
			fprintf(out, " tsval=%u tsecr=%u", p->ts_val, p->ts_ecr);
	}
	if (p->payload_len)
		fprintf(out, " len=%zu", p->payload_len);
	fprintf(out, "  # frame %zu\t", packet->frame);
	if (!packet->judged || packet->verdict == VERDICT_UNSEEN) {
		fprintf(out, "# no verdict came: dropped before conntrack's log\n");
		return ferror(out) ? -1 : 0;
	}
	fprintf(out, "expect   verdict %s", verdict_name(packet->verdict));
	if (seen && seen->has_reason && !strchr(seen->reason, '"')) {
		reason_pattern(seen->reason, reason, sizeof(reason));
		fprintf(out, " reason \"%s\"", reason);
	} else if (!seen || !seen->has_reason) {
		fprintf(out, " reason none");
	}
	fprintf(out, "\n");
	return ferror(out) ? -1 : 0;
}

/* One packet: its line (INVALID ones and RSTs, or every one with -v), and its flow's counts. */
static int take_packet(const struct replay_packet *packet, void *arg)
{
	struct summary *s = arg;
	const struct packet_summary *p = &packet->packet;
	bool invalid = packet->verdict == VERDICT_INVALID;
	struct flow *flow;
	int way, state;

	s->invalid += invalid;
	if (s->packets && (invalid || is_rst(p) || !packet->judged ||
			   (packet->detail && packet->detail->has_reason)) &&
	    packet_to_json(s, packet) < 0)
		return -1;
	if (s->verbose || invalid || is_rst(p)) {
		fprintf(s->lines, "frame %zu: ", packet->frame);
		if (packet->detail)
			report_packet(s->lines, packet->detail);
		else
			fprintf(s->lines, "no verdict seen\n");
	}
	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
		return 0;
	flow = find_flow(s, packet);
	if (!flow)
		return -1;
	way = flow_way(flow, p);
	if (s->sends && write_send(s, s->sends, (size_t)(flow - s->flows), way, packet) < 0)
		return -1;
	if (s->drawn && write_drawn(s->drawn, (size_t)(flow - s->flows), way, packet) < 0)
		return -1;
	flow->packets++;
	if (!flow->side[way])
		flow->side[way] = packet->side;
	flow->invalid += invalid;
	flow->rsts += is_rst(p);
	/* With every record's entry, an INVALID packet (it has none) leaves its
	 * flow's as the packet before left it; else what was read for it. */
	if (packet->detail && s->result->entries && packet->detail->entry_state >= 0)
		flow->entry_state = packet->detail->entry_state;
	state = packet->detail ? packet->detail->entry_state : -1;
	if (state == -1 && s->result->entries)
		state = flow->entry_state;
	s->entries_unread += state == -1 && !s->result->entries && packet->detail &&
			     p->protocol == IPPROTO_TCP &&
			     (invalid || is_rst(p));
	if (invalid) {
		const struct observed *seen = packet->detail;
		struct flow_event event = { .frame = packet->frame, .entry_state = state };

		if (seen && seen->has_reason && !(event.reason = strdup(seen->reason)))
			return -1;
		flow->last_invalid[way] = packet->frame;
		if (add_event(flow, &event) < 0) {
			free(event.reason);
			return -1;
		}
	}
	if (is_rst(p) &&
	    add_event(flow, &(struct flow_event){ .frame = packet->frame, .rst = true,
						  .cause = flow->last_invalid[!way],
						  .entry_state = state, .invalid = invalid }) < 0)
		return -1;
	return 0;
}

/* What the summary says of the entry after an event: "; entry stays
 * ESTABLISHED" (an INVALID packet leaves it as it was), "; entry now CLOSE"
 * (a RST), "; no entry", or nothing when unknown. */
static const char *entry_words(const struct flow_event *event)
{
	static char words[64];

	if (event->entry_state == OBSERVED_NO_ENTRY)
		return "; no entry";
	if (event->entry_state < 0)
		return "";
	snprintf(words, sizeof(words), "; entry %s %s", event->rst && !event->invalid ? "now" : "stays",
		 tcp_state_name(event->entry_state));
	return words;
}

static void print_flow_name(const struct flow *flow)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	inet_ntop(flow->family, &flow->src, src, sizeof(src));
	inet_ntop(flow->family, &flow->dst, dst, sizeof(dst));
	printf("%s %s:%u <-> %s:%u", flow->protocol == IPPROTO_TCP ? "tcp" :
	       flow->protocol == IPPROTO_UDP ? "udp" : "ip", src, flow->sport, dst, flow->dport);
}

static void print_flow(const struct flow *flow, bool sides)
{
	printf("  ");
	print_flow_name(flow);
	printf(": %zu packets", flow->packets);
	if (sides && flow->side[0])
		printf(flow->side[1] && strcmp(flow->side[0], flow->side[1]) != 0 ?
		       ", in by %s, replies by %s" : ", in by %s", flow->side[0], flow->side[1]);
	if (flow->mid_stream)
		printf(", picked up mid-stream (its first packet, frame %zu, is no SYN: "
		       "conntrack takes it on as nf_conntrack_tcp_loose=1 lets it)",
		       flow->first_frame);
	printf("\n");
	for (size_t i = 0; i < flow->n_events; i++) {
		const struct flow_event *event = &flow->events[i];

		if (!event->rst)
			printf("    frame %zu: INVALID: %s", event->frame,
			       event->reason ? event->reason : "(no reason logged)");
		else if (event->cause)
			printf("    frame %zu: RST, after the INVALID packet of frame %zu the other way",
			       event->frame, event->cause);
		else
			printf("    frame %zu: RST", event->frame);
		printf("%s\n", entry_words(event));
	}
}

/* Rank 0: INVALID packets; 1: RSTs; 2: only picked up mid-stream; 3: nothing to say. */
static int flow_rank(const struct flow *flow)
{
	return flow->invalid ? 0 : flow->rsts ? 1 : flow->mid_stream ? 2 : 3;
}

/* The flows with something to say, those with INVALID packets first, then
 * those with RSTs, then those picked up mid-stream (a capture begins in the
 * middle of many), each in the order they began; what is left, counted. */
static void print_summary(const struct summary *s)
{
	size_t shown = 0, left[3] = { 0, 0, 0 };

	printf("\n%zu flows, %zu packets conntrack marked INVALID\n", s->n_flows, s->invalid);
	for (int rank = 0; rank < 3; rank++)
		for (size_t f = 0; f < s->n_flows; f++) {
			if (flow_rank(&s->flows[f]) != rank)
				continue;
			if (shown == FLOWS_SHOWN) {
				left[rank]++;
				continue;
			}
			print_flow(&s->flows[f], s->result->n_sides > 1);
			shown++;
		}
	if (left[0] + left[1] + left[2])
		printf("  and %zu more flows: %zu with INVALID packets, %zu with RSTs, %zu picked up "
		       "mid-stream (-v lists every packet)\n", left[0] + left[1] + left[2], left[0],
		       left[1], left[2]);
	if (s->entries_unread)
		printf("(%zu TCP INVALID packets and RSTs without their entry: a later packet of "
		       "their flow was sent before it could be read; --entries reads each)\n",
		       s->entries_unread);
}

/* A scenario's name from the capture's file name: "replay-" and its letters. */
static void scenario_name(const char *capture, char *name, size_t size)
{
	const char *base = strrchr(capture, '/') ? strrchr(capture, '/') + 1 : capture;
	size_t n = (size_t)snprintf(name, size, "replay-");

	for (const char *p = base; *p && n + 1 < size && n < 63; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;

		if (!strcmp(p, ".pcap") || !strcmp(p, ".pcapng"))
			break;
		name[n++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			    c == '_' ? c : '-';
	}
	name[n] = '\0';
}

/* Two flows a scenario could not tell apart: the same protocol and ports. */
static bool ports_taken(const struct summary *s, const size_t *chosen, size_t n,
			const struct flow *flow)
{
	for (size_t i = 0; i < n; i++) {
		const struct flow *other = &s->flows[chosen[i]];

		if (other->protocol == flow->protocol && other->sport == flow->sport &&
		    other->dport == flow->dport)
			return true;
	}
	return false;
}

/*
 * --scenario: the flows conntrack marked packets INVALID in or saw a RST in
 * (up to SCENARIO_FLOWS, of the first one's family), each packet crafted
 * again between a muted client and server across the routed topology's
 * router, as the replay's conntrack saw them, and the verdict and reason it
 * gave each expected. An exit status.
 */
static int write_scenario(const struct summary *s, const struct replay_options *replay,
			  const char *path, const struct replay_result *result)
{
	size_t chosen[SCENARIO_FLOWS], n_chosen = 0, sends = 0, cut = 0, skipped = 0, flushed = 0;
	char name[72], line[4096];
	struct outfile *file;
	int family = 0, rc;
	FILE *out;

	for (int rank = 0; rank < 2; rank++)
		for (size_t f = 0; f < s->n_flows; f++) {
			const struct flow *flow = &s->flows[f];

			if (flow_rank(flow) != rank)
				continue;
			if (n_chosen == SCENARIO_FLOWS || (family && flow->family != family) ||
			    ports_taken(s, chosen, n_chosen, flow)) {
				skipped++;
				continue;
			}
			family = flow->family;
			chosen[n_chosen++] = f;
		}
	/* Under DNAT one connection is two flows of the capture (to the service,
	 * and from the backend): each chosen one's other half too. */
	for (size_t i = 0; s->dnat && i < n_chosen; i++)
		for (size_t f = 0; f < s->n_flows && n_chosen < SCENARIO_FLOWS; f++) {
			bool have = false;

			for (size_t k = 0; k < n_chosen; k++)
				have |= chosen[k] == f;
			if (!have && dnat_halves(s, &s->flows[chosen[i]], &s->flows[f]))
				chosen[n_chosen++] = f;
		}
	if (!n_chosen) {
		fprintf(stderr, "ctlab: replay --scenario %s: no flow with an INVALID packet or a RST "
			"to write\n", path);
		return EXIT_FAILED;
	}
	file = outfile_open(path);
	if (!file) {
		fprintf(stderr, "ctlab: replay --scenario %s: %s\n", path, outfile_strerror(errno));
		return EXIT_FAILED;
	}
	out = outfile_stream(file);
	scenario_name(replay->capture, name, sizeof(name));
	fprintf(out, "# Written by ctlab replay --scenario from %s (%zu frames).\n", replay->capture,
		result->frames);
	fprintf(out, "name     %s\n", name);
	fprintf(out, "about    The flows of a capture in which conntrack marked packets INVALID or saw\n"
		     "about    a RST, each packet crafted again between a muted client and server\n"
		     "about    across the router, whose conntrack is to give the verdicts and reasons\n"
		     "about    the replay's gave. %s\n", s->dnat ?
		"Through the router's DNAT, as the capture's host had it." :
		"Each flow's first sender is the client.");
	fprintf(out, "topology routed\nfamily   %s\n", family == AF_INET ? "ipv4" : "ipv6");
	if (s->dnat)
		fprintf(out, "nat      dnat                         # --nat dnat: the capture's "
			"service is the service, its backend the server\n");
	for (size_t i = 0; i < replay->n_sysctls; i++)
		fprintf(out, "sysctl   router %s\n", replay->sysctls[i]);
	fprintf(out, "mute     client\nmute     server\n");
	for (size_t i = 0; i < n_chosen; i++) {
		const struct flow *flow = &s->flows[chosen[i]];
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		inet_ntop(flow->family, &flow->src, src, sizeof(src));
		inet_ntop(flow->family, &flow->dst, dst, sizeof(dst));
		fprintf(out, "# flow %zu: %s %s:%u <-> %s:%u in the capture, %zu packets\n", i + 1,
			flow->protocol == IPPROTO_TCP ? "tcp" : "udp", src, flow->sport, dst,
			flow->dport, flow->packets);
	}
	if (skipped)
		fprintf(out, "# %zu more flows left out (another family, the same ports, past %d)\n",
			skipped, SCENARIO_FLOWS);
	rewind(s->sends);
	while (fgets(line, sizeof(line), s->sends)) {
		char *tab = strchr(line, '\t'), *expect, *at;
		size_t flow = strtoul(line, NULL, 10), frame;
		bool keep = false;

		for (size_t i = 0; i < n_chosen && !keep; i++)
			keep = chosen[i] == flow;
		if (!keep || !tab || !(expect = strchr(tab + 1, '\t')))
			continue;
		if (sends == SCENARIO_SENDS) {
			cut++;
			continue;
		}
		*expect++ = '\0';
		/* The replay's flushes, each before the first packet kept at or after it. */
		at = strstr(tab + 1, "  # frame ");
		frame = at ? strtoul(at + 10, NULL, 10) : 0;
		while (flushed < replay->n_flushes && replay->flush_before[flushed] <= frame)
			fprintf(out, "flush    ct router                    # --flush-before %zu\n",
				replay->flush_before[flushed++]);
		fprintf(out, "%s\n%s", tab + 1, expect);
		sends++;
	}
	if (cut)
		fprintf(out, "# and %zu more packets of these flows, past %d\n", cut, SCENARIO_SENDS);
	rc = outfile_commit(file);
	if (rc < 0) {
		fprintf(stderr, "ctlab: replay --scenario %s: %s\n", path, outfile_strerror(-rc));
		return EXIT_FAILED;
	}
	fprintf(stderr, "ctlab: replay: %s: %zu packets of %zu flows as scenario %s\n", path, sends,
		n_chosen, name);
	return EXIT_PASS;
}

static json_t *flow_json(const struct flow *flow)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	json_t *events = json_array(), *object;

	inet_ntop(flow->family, &flow->src, src, sizeof(src));
	inet_ntop(flow->family, &flow->dst, dst, sizeof(dst));
	for (size_t i = 0; events && i < flow->n_events; i++) {
		const struct flow_event *event = &flow->events[i];

		json_t *state = event->entry_state >= 0 ?
			json_string(tcp_state_name(event->entry_state)) :
			event->entry_state == OBSERVED_NO_ENTRY ? json_string("no entry") : json_null();

		json_array_append_new(events, event->rst ?
			json_pack("{s:I, s:s, s:o, s:o}", "frame", (json_int_t)event->frame, "kind", "rst",
				  "after_invalid_frame", event->cause ?
				  json_integer((json_int_t)event->cause) : json_null(),
				  "entry_state", state) :
			json_pack("{s:I, s:s, s:o, s:o}", "frame", (json_int_t)event->frame,
				  "kind", "invalid", "reason", event->reason ?
				  json_string(event->reason) : json_null(), "entry_state", state));
	}
	object = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:b, s:[s?, s?], s:o}",
			   "protocol", flow->protocol == IPPROTO_TCP ? "tcp" : "udp",
			   "src", src, "sport", flow->sport, "dst", dst, "dport", flow->dport,
			   "packets", (json_int_t)flow->packets, "invalid", (json_int_t)flow->invalid,
			   "rsts", (json_int_t)flow->rsts, "first_frame", (json_int_t)flow->first_frame,
			   "mid_stream", flow->mid_stream, "sides", flow->side[0], flow->side[1],
			   "events", events ? events : json_array());
	return object;
}

static json_t *strings_json(const char *const *strings, size_t n)
{
	json_t *array = json_array();

	for (size_t i = 0; array && i < n; i++)
		json_array_append_new(array, json_string(strings[i]));
	return array;
}

/* The judge's ways in: [{"name", "packets": {"capture", "mac", "address", "default"}}]. */
static json_t *sides_json(const struct replay_result *result)
{
	json_t *array = json_array();

	for (size_t i = 0; array && i < result->n_sides; i++) {
		const size_t *n = result->sides[i].packets;

		json_array_append_new(array, json_pack("{s:s, s:{s:I, s:I, s:I, s:I}}",
			"name", result->sides[i].name, "packets",
			"capture", (json_int_t)n[SIDE_BY_CAPTURE], "mac", (json_int_t)n[SIDE_BY_MAC],
			"address", (json_int_t)n[SIDE_BY_ADDRESS], "default", (json_int_t)n[SIDE_BY_DEFAULT]));
	}
	return array;
}

/*
 * --json: the replay as a document (docs/results.md, "replay --json"): what
 * it was given, its counts, the packets of interest and the flows with
 * something to say, ranked as the summary ranks them. An exit status.
 */
static int write_json(struct summary *s, const struct replay_options *replay,
		      const struct replay_result *result, const char *ct_max, const char *path)
{
	json_t *document = document_new("replay", REPLAY_SCHEMA), *flows = json_array();
	json_t *flushes = json_array(), *rest;

	for (int rank = 0; flows && rank < 3; rank++)
		for (size_t f = 0; f < s->n_flows; f++)
			if (flow_rank(&s->flows[f]) == rank)
				json_array_append_new(flows, flow_json(&s->flows[f]));
	for (size_t i = 0; flushes && i < replay->n_flushes; i++)
		json_array_append_new(flushes, json_integer((json_int_t)replay->flush_before[i]));
	rest = json_pack(
		"{s:s,"
		" s:{s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b},"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I}, s:O, s:I, s:o}",
		"capture", replay->capture,
		"options", "sysctls", strings_json(replay->sysctls, replay->n_sysctls),
		"nat", strings_json(replay->nat, replay->n_nat),
		"nft", replay->nft_file ? json_string(replay->nft_file) : json_null(),
		"flush_before", flushes ? flushes : json_array(),
		"ct_max", ct_max ? json_integer(atoll(ct_max)) : json_null(),
		"all_copies", replay->all_copies, "keep_checksums", replay->keep_checksums,
		"paced", replay->paced,
		"counts", "frames", (json_int_t)result->frames, "packets", (json_int_t)result->n_packets,
		"invalid", (json_int_t)s->invalid, "copies", (json_int_t)result->copies,
		"truncated", (json_int_t)result->truncated, "not_ip", (json_int_t)result->not_ip,
		"broken", (json_int_t)result->broken, "unlogged", (json_int_t)result->unlogged,
		"checksums_fixed", (json_int_t)result->checksums_fixed,
		"unjudged", (json_int_t)result->unjudged, "out_of_order", (json_int_t)result->out_of_order,
		"flushed", (json_int_t)result->flushed,
		"table", "ct_max", (json_int_t)result->ct_max, "dropped", (json_int_t)result->table_full,
		"evicted", (json_int_t)result->evicted,
		"packets", s->packets, "packets_left_out", (json_int_t)s->packets_left_out,
		"flows", flows ? flows : json_array());
	if (!document || !rest || json_object_update_new(document, rest) < 0 ||
	    json_object_set_new(json_object_get(document, "options"), "sides",
				strings_json(replay->sides, replay->n_sides)) < 0 ||
	    json_object_set_new(json_object_get(document, "options"), "sysctl_file",
				replay->sysctl_file ? json_string(replay->sysctl_file) : json_null()) < 0 ||
	    json_object_set_new(document, "sides", sides_json(result)) < 0) {
		json_decref(document);
		document = NULL;
	}
	return write_document("replay --json", path, json_pretty, document);
}

/* Its RSTs after an INVALID packet the other way as a run's chains, by frame
 * (the page's packets are numbered by frame): each drawn back to its cause. */
static json_t *flow_chains(const struct flow *flow)
{
	json_t *chains = json_array();
	char text[160];

	for (size_t i = 0; chains && i < flow->n_events; i++) {
		const struct flow_event *event = &flow->events[i];

		if (!event->rst || !event->cause)
			continue;
		snprintf(text, sizeof(text), "frame %zu: RST, after the INVALID packet of frame %zu "
			 "the other way", event->frame, event->cause);
		json_array_append_new(chains, json_pack("{s:I, s:I, s:s}", "rst_wire",
			(json_int_t)event->frame, "cause_wire", (json_int_t)event->cause, "text", text));
	}
	return chains ? chains : json_array();
}

/* One flow as a run of results.json, enough for the report's page to draw:
 * the client and the server on each side of the conntrack that judged. */
static json_t *flow_run(const struct flow *flow, const char *capture)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], name[160], about[1024];
	size_t len;

	inet_ntop(flow->family, &flow->src, src, sizeof(src));
	inet_ntop(flow->family, &flow->dst, dst, sizeof(dst));
	snprintf(name, sizeof(name), "%s %s:%u <-> %s:%u", flow->protocol == IPPROTO_TCP ? "tcp" :
		 "udp", src, flow->sport, dst, flow->dport);
	len = (size_t)snprintf(about, sizeof(about), "%zu packets from frame %zu of %s%s.",
			       flow->packets, flow->first_frame, capture,
			       flow->mid_stream ? ", picked up mid-stream" : "");
	for (size_t i = 0; i < flow->n_events && len < sizeof(about); i++) {
		const struct flow_event *event = &flow->events[i];

		if (!event->rst)
			len += (size_t)snprintf(about + len, sizeof(about) - len,
						"\nframe %zu: INVALID: %s", event->frame,
						event->reason ? event->reason : "(no reason logged)");
		else if (event->cause)
			len += (size_t)snprintf(about + len, sizeof(about) - len,
						"\nframe %zu: RST, after the INVALID packet of frame %zu",
						event->frame, event->cause);
		else
			len += (size_t)snprintf(about + len, sizeof(about) - len,
						"\nframe %zu: RST", event->frame);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:n, s:s, s:f, s:s, s:s, s:[{s:s, s:s, s:b, s:[]},"
			 " {s:s, s:s, s:b, s:[]}, {s:s, s:s, s:b, s:[]}], s:[], s:[], s:[], s:[], s:o, s:{}}",
			 "name", name, "scenario", name, "file", capture,
			 "family", flow->family == AF_INET ? "ipv4" : "ipv6", "variant",
			 "outcome", flow->invalid ? "fail" : "pass", "seconds", 0.0, "about", about,
			 "topology", "routed",
			 "hosts", "name", "client", "addr", src, "observing", false, "interfaces",
			 "name", "replay", "addr", "", "observing", true, "interfaces",
			 "name", "server", "addr", dst, "observing", false, "interfaces",
			 "links", "steps", "packets", "wire", "chains", flow_chains(flow), "sysctls");
}

/* The report's page of @document, which links to no pcap. */
static int html_of(json_t *document, FILE *out)
{
	struct html_links links = { 0 };

	return report_html(document, out, &links);
}

/*
 * --html: the flows with INVALID packets or RSTs (HTML_FLOWS at most; the
 * first flows when none has either), each drawn as the report draws a run,
 * packet by packet with conntrack's verdicts and reasons. An exit status.
 */
static int write_html(struct summary *s, const struct replay_options *replay,
		      const struct replay_result *result, const char *path)
{
	size_t chosen[HTML_FLOWS], n_chosen = 0;
	json_t *runs = json_array(), *document, *run;
	char *line = NULL;
	size_t cap = 0;

	for (int rank = 0; rank < 2; rank++)
		for (size_t f = 0; f < s->n_flows && n_chosen < HTML_FLOWS; f++)
			if (flow_rank(&s->flows[f]) == rank)
				chosen[n_chosen++] = f;
	for (size_t f = 0; !n_chosen && f < s->n_flows && f < 4; f++)
		chosen[f] = f;
	if (!n_chosen)
		n_chosen = s->n_flows < 4 ? s->n_flows : 4;
	for (size_t i = 0; runs && i < n_chosen; i++)
		json_array_append_new(runs, flow_run(&s->flows[chosen[i]], replay->capture));
	rewind(s->drawn);
	while (runs && getline(&line, &cap, s->drawn) > 0) {
		size_t flow = strtoul(line, NULL, 10);
		char *tab = strchr(line, '\t');
		json_t *packets;

		for (size_t i = 0; i < n_chosen; i++) {
			if (chosen[i] != flow || !tab)
				continue;
			run = json_array_get(runs, i);
			packets = json_object_get(run, "packets");
			if (json_array_size(packets) < HTML_PACKETS)
				json_array_append_new(packets, json_loads(tab + 1, 0, NULL));
		}
	}
	free(line);
	(void)result;
	document = document_new("replay-page", REPLAY_SCHEMA);
	if (document && json_object_set_new(document, "runs", runs ? runs : json_array()) < 0) {
		json_decref(document);
		document = NULL;
	}
	return write_document("replay --html", path, html_of, document);
}

static void summary_free(struct summary *s)
{
	for (size_t f = 0; f < s->n_flows; f++) {
		for (size_t i = 0; i < s->flows[f].n_events; i++)
			free(s->flows[f].events[i].reason);
		free(s->flows[f].events);
	}
	free(s->flows);
	free(s->slots);
	if (s->lines)
		fclose(s->lines);
	if (s->sends)
		fclose(s->sends);
	json_decref(s->packets);
	if (s->drawn)
		fclose(s->drawn);
}

/* "; in by eth0 (12 by the capture's interface), eth1 (10 by --side
 * address)", when there was more than one way in or a --side. */
static void print_sides(const struct replay_result *result, bool asked)
{
	static const char *const how[] = {
		[SIDE_BY_DEFAULT] = "default", [SIDE_BY_CAPTURE] = "the capture's interface",
		[SIDE_BY_MAC] = "--side MAC", [SIDE_BY_ADDRESS] = "--side address",
	};

	if (result->n_sides > 1 || asked) {
		printf("; in by");
		for (size_t i = 0; i < result->n_sides; i++) {
			const struct replay_side *side = &result->sides[i];
			bool first = true;

			printf("%s %s (", i ? "," : "", side->name);
			for (int by = 0; by <= SIDE_BY_ADDRESS; by++) {
				if (!side->packets[by])
					continue;
				printf("%s%zu by %s", first ? "" : ", ", side->packets[by], how[by]);
				first = false;
			}
			printf(")");
		}
	}
	if (result->names_unusable)
		printf("; %zu whose capture interface's name cannot be an interface's (\"any\", too long, "
		       "over %d names) came in by eth0", result->names_unusable, REPLAY_SIDES_MAX);
}

/* --nat 'dnat SERVICE=BACKEND' (one, both of one family) into @s for --scenario. */
static bool scenario_dnat(const char *spec, struct summary *s)
{
	char service[INET6_ADDRSTRLEN], backend[INET6_ADDRSTRLEN];

	if (sscanf(spec, "dnat %45[^=]=%45s", service, backend) != 2)
		return false;
	s->dnat_family = strchr(service, ':') ? AF_INET6 : AF_INET;
	s->dnat = inet_pton(s->dnat_family, service, &s->service) == 1 &&
		  inet_pton(s->dnat_family, backend, &s->backend) == 1;
	return s->dnat;
}

/* The packets' lines, after the header line. */
static void print_lines(FILE *lines)
{
	char buf[65536];
	size_t n;

	rewind(lines);
	while ((n = fread(buf, 1, sizeof(buf), lines)) > 0)
		fwrite(buf, 1, n, stdout);
}

int cmd_replay(int argc, char **argv)
{
	static const struct option options[] = {
		{ "sysctl", required_argument, NULL, 's' },
		{ "all-copies", no_argument, NULL, 'a' },
		{ "keep-checksums", no_argument, NULL, 'k' },
		{ "nat", required_argument, NULL, 'n' },
		{ "nft", required_argument, NULL, 'N' },
		{ "ct-max", required_argument, NULL, 'M' },
		{ "flush-before", required_argument, NULL, 'F' },
		{ "side", required_argument, NULL, 'D' },
		{ "sysctl-file", required_argument, NULL, 'Y' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "json", required_argument, NULL, 'J' },
		{ "html", required_argument, NULL, 'W' },
		{ "paced", no_argument, NULL, 'P' },
		{ "entries", no_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_options replay = { .timeout_ms = 2000 };
	struct replay_result result;
	struct summary summary = { .verbose = false };
	const char *ct_max = NULL, *scenario = NULL, *json_path = NULL, *html_path = NULL;
	bool verbose = false;
	size_t invalid;
	int opt, machine_fd = -1, rc;

	optind = 1;
	while ((opt = cli_getopt("replay", argc, argv, "vt:h", options)) != -1) {
		switch (opt) {
		case 's':
			if (replay.n_sysctls == REPLAY_SYSCTLS_MAX)
				return usage_error("at most %d --sysctl", REPLAY_SYSCTLS_MAX);
			if (strncmp(optarg, "net.netfilter.", 14) != 0 || !strchr(optarg, '='))
				return usage_error("--sysctl expects net.netfilter.KEY=VALUE, found '%s'",
						   optarg);
			/* The one conntrack setting that is the host's, not a namespace's. */
			if (strncmp(optarg, "net.netfilter.nf_conntrack_max=", 31) == 0)
				return usage_error("--sysctl %s: nf_conntrack_max is global: --ct-max %s",
						   optarg, optarg + 31);
			replay.sysctls[replay.n_sysctls++] = optarg;
			break;
		case 'a':
			replay.all_copies = true;
			break;
		case 'k':
			replay.keep_checksums = true;
			break;
		case 'n':
			if (replay.n_nat == REPLAY_SYSCTLS_MAX)
				return usage_error("at most %d --nat", REPLAY_SYSCTLS_MAX);
			if (strncmp(optarg, "dnat ", 5) != 0 && strncmp(optarg, "snat ", 5) != 0)
				return usage_error("--nat expects 'dnat SERVICE=BACKEND' or 'snat ADDRESS', "
						   "found '%s'", optarg);
			replay.nat[replay.n_nat++] = optarg;
			break;
		case 'N':
			replay.nft_file = optarg;
			break;
		case 'Y':
			replay.sysctl_file = optarg;
			break;
		case 'D':
			if (replay.n_sides == REPLAY_SIDES_MAX)
				return usage_error("at most %d --side", REPLAY_SIDES_MAX);
			if (!strchr(optarg, '='))
				return usage_error("--side expects IFNAME=SPEC[,SPEC...] (SPEC a MAC or an "
						   "address prefix), found '%s'", optarg);
			replay.sides[replay.n_sides++] = optarg;
			break;
		case 'F': {
			char *end;
			unsigned long frame;

			if (replay.n_flushes == REPLAY_SYSCTLS_MAX)
				return usage_error("at most %d --flush-before", REPLAY_SYSCTLS_MAX);
			errno = 0;
			frame = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || frame < 1 ||
			    (replay.n_flushes && frame <= replay.flush_before[replay.n_flushes - 1]))
				return usage_error("--flush-before expects a frame number (from 1, each "
						   "after the one before), found '%s'", optarg);
			replay.flush_before[replay.n_flushes++] = frame;
			break;
		}
		case 'S':
			scenario = optarg;
			break;
		case 'J':
			json_path = optarg;
			break;
		case 'W':
			html_path = optarg;
			break;
		case 'P':
			replay.paced = true;
			break;
		case 'E':
			replay.entries = true;
			break;
		case 'M':
			if (!ct_max_valid(optarg))
				return usage_error("--ct-max expects 1024..16777216 entries, found '%s'",
						   optarg);
			ct_max = optarg;
			break;
		case 't':
			replay.timeout_ms = atoi(optarg);
			if (replay.timeout_ms < 1)
				return usage_error("-t expects milliseconds, found '%s'", optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("replay expects one capture file, found %d", argc - optind);
	if (geteuid() != 0) {
		fprintf(stderr, "ctlab: replay needs root (it makes network namespaces)\n");
		return EXIT_SKIPPED;
	}
	replay.capture = argv[optind];
	/* A crashed run may have left a global setting changed: put it back first. */
	journal_recover(stderr);
	if (scenario && (replay.nft_file || replay.n_nat > 1 ||
			 (replay.n_nat && !scenario_dnat(replay.nat[0], &summary))))
		return usage_error("--scenario: a replay with --nft, --nat snat or more than one --nat "
				   "cannot be written as a scenario yet (their addresses are the "
				   "capture's, a scenario's are its own)");
	if (ct_max) {
		machine_fd = take_ct_max(ct_max);
		if (machine_fd < 0)
			return -machine_fd;
	} else {
		/* Shared, as a run's: no other ctlab changes the table's size under it. */
		machine_fd = journal_machine_lock(false, true);
		if (machine_fd < 0) {
			fprintf(stderr, "ctlab: replay: the machine lock: %s\n", strerror(-machine_fd));
			return EXIT_FAILED;
		}
	}
	summary.verbose = verbose;
	summary.result = &result;
	summary.lines = tmpfile();
	if (scenario)
		summary.sends = tmpfile();
	if (json_path)
		summary.packets = json_array();
	if (html_path)
		summary.drawn = tmpfile();
	if (!summary.lines || (scenario && !summary.sends) || (html_path && !summary.drawn)) {
		fprintf(stderr, "ctlab: replay: a temporary file for the packets' lines: %s\n",
			strerror(errno));
		rc = -1;
	} else {
		replay.each = take_packet;
		replay.each_arg = &summary;
		rc = replay_run(&replay, &result);
	}
	if (ct_max)
		journal_restore_all();
	close(machine_fd);
	if (rc < 0) {
		if (summary.lines)
			fprintf(stderr, "ctlab: replay: %s\n", result.error);
		summary_free(&summary);
		return EXIT_USAGE;
	}
	printf("%s: %zu frames, %zu IP packets replayed through conntrack", replay.capture,
	       result.frames, result.n_packets);
	if (result.copies)
		printf("; %zu copies a host forwarded left out (--all-copies keeps them)", result.copies);
	if (result.truncated)
		printf("; %zu cut by the snap length left out", result.truncated);
	if (result.not_ip)
		printf("; %zu not IP", result.not_ip);
	if (result.broken)
		printf("; %zu with an IP header the kernel drops first", result.broken);
	if (result.unlogged)
		printf("; %zu neighbour discovery or MLD, not judged here", result.unlogged);
	if (result.checksums_fixed)
		printf("; %zu checksums finished as offloading would have (--keep-checksums: as captured)",
		       result.checksums_fixed);
	if (result.unjudged)
		printf("; %zu got no verdict (dropped before conntrack's log)", result.unjudged);
	if (result.table_full || result.evicted) {
		printf("; conntrack's table was full (nf_conntrack_max %" PRIu64 ", the host's global: "
		       "--ct-max N replays with another):", result.ct_max);
		if (result.evicted)
			printf(" %" PRIu64 " entries dropped early for room (their flows' next packets "
			       "meet no entry)%s", result.evicted, result.table_full ? "," : "");
		if (result.table_full)
			printf(" %" PRIu64 " packets dropped", result.table_full);
	}
	if (result.out_of_order)
		printf("; %zu verdicts matched no packet in flight", result.out_of_order);
	print_sides(&result, replay.n_sides > 0);
	if (replay.sysctl_file)
		printf("; %zu settings of %s applied%s%zu left as they are%s%s%s", result.file_applied,
		       replay.sysctl_file, result.file_skipped ? ", " : "", result.file_skipped,
		       result.file_skipped ? " (the machine's, ctlab's logging, or not a namespace's here: " : "",
		       result.file_skipped_keys, result.file_skipped ? ")" : "");
	for (size_t i = 0; i < replay.n_flushes; i++)
		printf(i < result.flushed ? "; every entry deleted before frame %zu (--flush-before)" :
		       "; --flush-before %zu: the capture ended before it", replay.flush_before[i]);
	printf("\n");
	print_lines(summary.lines);
	print_summary(&summary);
	invalid = summary.invalid;
	if ((scenario && write_scenario(&summary, &replay, scenario, &result) != EXIT_PASS) ||
	    (json_path && write_json(&summary, &replay, &result, ct_max, json_path) != EXIT_PASS) ||
	    (html_path && write_html(&summary, &replay, &result, html_path) != EXIT_PASS)) {
		summary_free(&summary);
		return EXIT_FAILED;
	}
	summary_free(&summary);
	return invalid ? EXIT_FAILED : EXIT_PASS;
}
