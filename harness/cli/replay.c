/* replay — the replay command: a production capture through conntrack, the packets it marked INVALID and the RSTs that followed. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"
#include "output/output.h"
#include "replay/replay.h"
#include "cli.h"

#define FLOWS_SHOWN	64

/* A connection of the capture, either way. */
struct flow {
	const struct packet_summary *first;
	size_t packets, invalid, rsts;
	size_t first_frame;
	bool mid_stream;		/* its first packet was not a SYN: picked up as loose=1 does */
};

static bool same_way(const struct packet_summary *a, const struct packet_summary *b)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	return a->sport == b->sport && a->dport == b->dport && !memcmp(&a->src, &b->src, len) &&
	       !memcmp(&a->dst, &b->dst, len);
}

static bool reversed(const struct packet_summary *a, const struct packet_summary *b)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	return a->sport == b->dport && a->dport == b->sport && !memcmp(&a->src, &b->dst, len) &&
	       !memcmp(&a->dst, &b->src, len);
}

static bool is_rst(const struct packet_summary *p)
{
	return p->protocol == IPPROTO_TCP && (p->flags & TCP_FLAG_RST);
}

static bool same_flow(const struct packet_summary *a, const struct packet_summary *b)
{
	return a->family == b->family && a->protocol == b->protocol &&
	       (same_way(a, b) || reversed(a, b));
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

/* The INVALID packet a RST followed: the latest one on its flow the other way, else 0. */
static size_t rst_cause(const struct replay_result *result, size_t rst)
{
	const struct packet_summary *p = &result->packets[rst].packet;

	for (size_t i = rst; i-- > 0;) {
		const struct replay_packet *before = &result->packets[i];

		if (before->verdict == VERDICT_INVALID && before->packet.protocol == p->protocol &&
		    before->packet.family == p->family && reversed(&before->packet, p))
			return before->frame;
	}
	return 0;
}

static void print_flow_name(const struct packet_summary *p)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	inet_ntop(p->family, &p->src, src, sizeof(src));
	inet_ntop(p->family, &p->dst, dst, sizeof(dst));
	printf("%s %s:%u <-> %s:%u", p->protocol == IPPROTO_TCP ? "tcp" :
	       p->protocol == IPPROTO_UDP ? "udp" : "ip", src, p->sport, dst, p->dport);
}

static void print_summary(const struct replay_result *result)
{
	struct flow *flows = calloc(result->n_packets ? result->n_packets : 1, sizeof(*flows));
	size_t n_flows = 0, invalid = 0, i, f;

	if (!flows)
		return;
	/* Flows found by a hash of their endpoints, either way: a capture has many. */
	size_t n_slots = 1, *slots;

	while (n_slots < 2 * result->n_packets + 2)
		n_slots *= 2;
	slots = calloc(n_slots, sizeof(*slots));	/* flow index + 1; 0 free */
	if (!slots) {
		free(flows);
		return;
	}
	for (i = 0; i < result->n_packets; i++) {
		const struct replay_packet *packet = &result->packets[i];
		const struct packet_summary *p = &packet->packet;
		size_t slot;

		if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
			continue;
		for (slot = flow_hash(p) & (n_slots - 1); slots[slot]; slot = (slot + 1) & (n_slots - 1))
			if (same_flow(flows[slots[slot] - 1].first, p))
				break;
		f = slots[slot] ? slots[slot] - 1 : n_flows;
		if (f == n_flows) {
			slots[slot] = n_flows + 1;
			flows[n_flows++] = (struct flow){ .first = p, .first_frame = packet->frame,
							  .mid_stream = p->protocol == IPPROTO_TCP &&
									!(p->flags & TCP_FLAG_SYN) };
		}
		flows[f].packets++;
		flows[f].invalid += packet->verdict == VERDICT_INVALID;
		flows[f].rsts += is_rst(p);
		invalid += packet->verdict == VERDICT_INVALID;
	}
	free(slots);
	printf("\n%zu flows, %zu packets conntrack marked INVALID\n", n_flows, invalid);
	for (f = 0; f < n_flows && f < FLOWS_SHOWN; f++) {
		if (!flows[f].invalid && !flows[f].rsts && !flows[f].mid_stream)
			continue;
		printf("  ");
		print_flow_name(flows[f].first);
		printf(": %zu packets", flows[f].packets);
		if (flows[f].mid_stream)
			printf(", picked up mid-stream (its first packet, frame %zu, is no SYN: "
			       "conntrack takes it on as nf_conntrack_tcp_loose=1 lets it)",
			       flows[f].first_frame);
		printf("\n");
		for (i = 0; i < result->n_packets; i++) {
			const struct replay_packet *packet = &result->packets[i];
			const struct packet_summary *p = &packet->packet;
			size_t cause;

			if (!same_flow(flows[f].first, p))
				continue;
			if (packet->verdict == VERDICT_INVALID)
				printf("    frame %zu: INVALID: %s\n", packet->frame,
				       packet->detail && packet->detail->has_reason ? packet->detail->reason :
				       "(no reason logged)");
			if (!is_rst(p))
				continue;
			cause = rst_cause(result, i);
			if (cause)
				printf("    frame %zu: RST, after the INVALID packet of frame %zu the other way\n",
				       packet->frame, cause);
			else
				printf("    frame %zu: RST\n", packet->frame);
		}
	}
	free(flows);
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct replay_options replay = { .timeout_ms = 2000 };
	struct replay_result result;
	const char *ct_max = NULL;
	bool verbose = false;
	size_t i, invalid = 0;
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
	if (ct_max) {
		machine_fd = take_ct_max(ct_max);
		if (machine_fd < 0)
			return -machine_fd;
	}
	rc = replay_run(&replay, &result);
	if (ct_max) {
		journal_restore_all();
		close(machine_fd);
	}
	if (rc < 0) {
		fprintf(stderr, "ctlab: replay: %s\n", result.error);
		replay_result_free(&result);
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
	printf("\n");
	for (i = 0; i < result.n_packets; i++) {
		const struct replay_packet *packet = &result.packets[i];

		invalid += packet->verdict == VERDICT_INVALID;
		if (!verbose && packet->verdict != VERDICT_INVALID && !is_rst(&packet->packet))
			continue;
		printf("frame %zu: ", packet->frame);
		if (packet->detail) {
			report_packet(stdout, packet->detail);
		} else if (packet->judged) {
			struct observed plain = { .index = packet->index, .packet = packet->packet,
						  .verdict = packet->verdict };

			report_packet(stdout, &plain);
		} else {
			printf("no verdict seen\n");
		}
	}
	print_summary(&result);
	replay_result_free(&result);
	return invalid ? EXIT_FAILED : EXIT_PASS;
}
