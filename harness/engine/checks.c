/* The expectations: what the kernel did, gathered for an expect step and checked. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "inject/inject.h"
#include "run.h"

/* ---- Expectations ---- */

struct packet_want {
	const struct packet_match *match;
	union inet_addr src, dst;	/* expect packet: the addresses it carries */
	uint64_t seq, ack, sport, dport;
	uint8_t icmp_type;
	char reason[SCENARIO_TEXT_MAX + 64];	/* the pattern, #{EXPR} resolved */
};

/* A reason pattern with each #{EXPR} replaced by its value now, into buf. */
static int resolve_reason(struct run *run, const char *pattern, const struct reason_values *values,
			  char *buf, size_t size, struct step_result *result)
{
	uint64_t numbers[REASON_VALUES_MAX];
	int rc;

	for (size_t i = 0; i < values->n; i++)
		if ((rc = eval_expr(run, &values->exprs[i], &numbers[i])) < 0)
			return step_error(result, "reason #{…}: %s", eval_strerror(rc));
	if (reason_resolve(pattern, numbers, values->n, buf, size) < 0)
		return step_error(result, "reason pattern: too long with its values");
	return 0;
}

/* Protocol, flags, numbers and ICMP type, as the match asks. */
static bool summary_matches(const struct run *run, const struct packet_summary *packet,
			    const struct packet_want *want)
{
	const struct packet_match *match = want->match;
	static const uint8_t protocols[2][3] = {
		{ IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP },
		{ IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 },
	};

	if (packet->family != run->family ||
	    packet->protocol != protocols[run->family == AF_INET6][match->protocol])
		return false;
	if (match->has_flags && (match->flags_contain ? (packet->flags & match->flags) != match->flags
						       : packet->flags != match->flags))
		return false;
	if (match->seq.present && packet->seq != (uint32_t)want->seq)
		return false;
	if (match->ack.present && packet->ack != (uint32_t)want->ack)
		return false;
	if ((match->sport.present && packet->sport != want->sport) ||
	    (match->dport.present && packet->dport != want->dport))
		return false;
	return !match->has_type || packet->icmp_type == want->icmp_type;
}

/* Any of the reasons logged for the packet. */
static bool observed_reason_matches(const struct observed *observed, const char *pattern)
{
	if (!observed->has_reason)
		return false;
	if (reason_matches(pattern, observed->reason))
		return true;
	for (size_t i = 0; i < observed->n_also; i++)
		if (reason_matches(pattern, observed->also[i]))
			return true;
	return false;
}

static bool is_wanted_packet(const struct run *run, const struct observed *observed,
			     const void *arg)
{
	const struct packet_want *want = arg;
	const struct packet_match *match = want->match;
	const struct packet_summary *packet = &observed->packet;
	size_t len = run->family == AF_INET ? sizeof(want->src.v4) : sizeof(want->src.v6);

	if (!summary_matches(run, packet, want) || memcmp(&packet->src, &want->src, len) ||
	    memcmp(&packet->dst, &want->dst, len))
		return false;
	if (match->has_reason && (match->reason_none ? observed->has_reason
						     : !observed_reason_matches(observed, want->reason)))
		return false;
	return match->verdict == VERDICT_UNSEEN || observed->verdict == match->verdict;
}

/* Evaluate what a match says with numbers: seq, ack, the ICMP type. */
static int prepare_want(struct run *run, const struct packet_match *match,
			struct packet_want *want, struct step_result *result)
{
	uint8_t code;
	int rc;

	want->match = match;
	want->icmp_type = match->icmp_type;
	if (resolve_reason(run, match->reason, &match->values, want->reason, sizeof(want->reason),
			   result) < 0)
		return -1;
	if (match->seq.present && (rc = eval_expr(run, &match->seq, &want->seq)) < 0)
		return step_error(result, "seq=: %s", eval_strerror(rc));
	if (match->ack.present && (rc = eval_expr(run, &match->ack, &want->ack)) < 0)
		return step_error(result, "ack=: %s", eval_strerror(rc));
	if (match->sport.present && (rc = eval_expr(run, &match->sport, &want->sport)) < 0)
		return step_error(result, "sport=: %s", eval_strerror(rc));
	if (match->dport.present && (rc = eval_expr(run, &match->dport, &want->dport)) < 0)
		return step_error(result, "dport=: %s", eval_strerror(rc));
	if (match->has_type && match->icmp_message != ICMP_MSG_NONE)
		icmp_message_code(run->family, match->icmp_message, &want->icmp_type, &code);
	return 0;
}

/*
 * How long an expectation of a packet waits: for one, up to `within` or the
 * run's -t; for none, a quiet period (`within`, or QUIET_MS_DEFAULT: what the
 * kernel sends later, a delayed ACK, comes within it).
 */
static int packet_wait_ms(const struct run *run, const struct packet_match *match)
{
	if (match->within_ms)
		return (int)match->within_ms;
	return match->absent ? QUIET_MS_DEFAULT : run->options->timeout_ms;
}

static void name_packet(struct run *run, const struct packet_match *match,
			const struct packet_summary *packet)
{
	if (match->name >= 0) {
		run->named[match->name].seen = true;
		run->named[match->name].packet = *packet;
	}
}

static int find_packet(struct run *run, const struct packet_match *match, bool *seen,
		       char *what, size_t size, struct step_result *result)
{
	struct packet_want want;
	const struct observed *found;

	if (prepare_want(run, match, &want, result) < 0)
		return -1;
	route_addrs(run, find_host(run, match->src), match->dst, &want.src, &want.dst);
	found = wait_packet_for(run, run->last_from, is_wanted_packet, &want,
				packet_wait_ms(run, match));
	*seen = found != NULL;
	if (found) {
		snprintf(what, size, "packet #%zu", found->index + 1);
		name_packet(run, match, &found->packet);
	}
	return 0;
}

/* An address is the named host's (any of its interfaces) or the service's. */
static bool addr_is_named(struct run *run, const union inet_addr *addr, const char *name)
{
	size_t len = run->family == AF_INET ? sizeof(addr->v4) : sizeof(addr->v6);
	const struct host *host;
	size_t i;

	if (!name[0])
		return true;
	if (strcmp(name, SERVICE_HOST) == 0)
		return memcmp(addr, iface_addr(run, topology_service(run->topology)), len) == 0;
	host = topology_host(run->topology, name);
	for (i = 0; i < host->iface_count; i++)
		if (memcmp(addr, iface_addr(run, &host->ifaces[i]), len) == 0)
			return true;
	return false;
}

/* A packet received by the hop's receiver that its sender put on the link. */
static const struct wire_packet *wire_hop(struct run *run, const struct packet_want *want,
					  size_t from)
{
	const struct packet_match *match = want->match;
	size_t i, j, n = wire_count(run->wire);

	for (i = from; i < n; i++) {
		const struct wire_packet *in = wire_at(run->wire, i);

		if (in->outgoing || strcmp(in->host, match->dst) != 0 ||
		    !summary_matches(run, &in->packet, want) ||
		    !addr_is_named(run, &in->packet.src, match->addr_src) ||
		    !addr_is_named(run, &in->packet.dst, match->addr_dst))
			continue;
		for (j = 0; j < n; j++) {
			const struct wire_packet *out = wire_at(run->wire, j);

			if (out->outgoing && strcmp(out->host, match->src) == 0 &&
			    packet_same(&out->packet, &in->packet))
				return in;
		}
	}
	return NULL;
}

static int find_wire(struct run *run, const struct packet_match *match, bool *seen,
		     char *what, size_t size, struct step_result *result)
{
	const struct wire_packet *found;
	struct packet_want want;
	struct timespec start;
	int wait_ms = packet_wait_ms(run, match);
	long left;

	if (!run->wire)
		return step_error(result, "the wire is not captured in this run");
	if (prepare_want(run, match, &want, result) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		wire_poll(run->wire, 0);
		found = wire_hop(run, &want, run->wire_from);
		if (found)
			break;
		left = wait_ms - ms_since(&start);
		if (left <= 0 || wire_poll(run->wire, (int)left) < 0)
			break;
	}
	*seen = found != NULL;
	if (found) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		name_packet(run, match, &found->packet);
		inet_ntop(run->family, &found->packet.src, src, sizeof(src));
		inet_ntop(run->family, &found->packet.dst, dst, sizeof(dst));
		snprintf(what, size, "one %s -> %s on %s/%s", src, dst, found->host,
			 found->ifname);
	}
	return 0;
}

/* A host-wide number from /proc/sys (read in the host's namespace), or fallback. */
static long host_sysctl(const char *path, long fallback)
{
	char text[32] = "";
	FILE *file = fopen(path, "r");
	long value = fallback;

	if (file && fgets(text, sizeof(text), file))
		value = strtol(text, NULL, 10);
	if (file)
		fclose(file);
	return value > 0 ? value : fallback;
}

/*
 * The kernel prints "table full" through net_ratelimit(): message_burst lines
 * per message_cost seconds for the whole machine, all namespaces and callers
 * together.  When the log shows that many lines like the one expected in that
 * window, this run's may have been silenced: the expectation cannot be judged,
 * and is skipped saying so (1) rather than failed.  0: judge it.
 */
static int kmsg_rate_limited(const struct expect_step *expect, struct step_result *result)
{
	long cost = host_sysctl("/proc/sys/net/core/message_cost", 5);
	long burst = host_sysctl("/proc/sys/net/core/message_burst", 10);
	const char *mark = strstr(expect->reason, "$NETNS");
	char stem[SCENARIO_TEXT_MAX];
	unsigned like = 0, suppressed = 0;

	/* Lines like it from any namespace: the text before the namespace's number. */
	snprintf(stem, sizeof(stem), "%.*s", mark ? (int)(mark - expect->reason) : (int)strlen(expect->reason),
		 expect->reason);
	if (kmsg_count_recent(stem, (int)cost + 1, &like) < 0 ||
	    kmsg_count_recent("callbacks suppressed", (int)cost + 1, &suppressed) < 0)
		return 0;
	if (like < (unsigned)burst && !suppressed)
		return 0;
	result->skipped = true;
	snprintf(result->message, sizeof(result->message),
		 "not judged: %u such lines and %u suppressions in the last %ld s, the kernel's "
		 "net_ratelimit (%ld per %ld s for the whole machine) may have silenced this run's",
		 like, suppressed, cost + 1, burst, cost);
	return 1;
}

/* A kernel log line since the run began.  The kernel prints "table full" in
 * the packet's own path, so absence needs no wait. */
static int find_kmsg(struct run *run, const struct expect_step *expect,
		     struct observation *seen, struct step_result *result)
{
	char text[SCENARIO_TEXT_MAX + 32];
	const char *mark = strstr(expect->reason, "$NETNS");
	struct stat st;
	int rc;

	if (!run->kmsg_marked)
		return step_error(result, "the kernel log cannot be read here");
	/* Newer kernels name the namespace by its inode: this run's, no other's. */
	snprintf(text, sizeof(text), "%s", expect->reason);
	if (mark && fstat(netns_fd(run->observing_host->ns), &st) == 0)
		snprintf(text + (mark - expect->reason), sizeof(text) - (size_t)(mark - expect->reason),
			 "%lu%s", (unsigned long)st.st_ino, mark + strlen("$NETNS"));
	rc = kmsg_find(&run->kmsg_since, text,
		       expect->absent ? 0 : run->options->timeout_ms, seen->kmsg_line,
		       sizeof(seen->kmsg_line));
	if (rc < 0)
		return step_error(result, "reading /dev/kmsg: %s", strerror(-rc));
	seen->kmsg_seen = rc > 0;
	if (!seen->kmsg_seen && !expect->absent)
		return kmsg_rate_limited(expect, result);
	return 0;
}

/* The observing namespace's entry count, and the global maximum it counts against. */
static int read_entries(struct run *run, uint64_t *entries, uint64_t *max,
			struct step_result *result)
{
	uint32_t count = 0;
	int rc = ctfill_count(run->observing_host->ns, &count);

	*entries = count;
	if (rc == 0)
		rc = read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_max", max);
	if (rc < 0)
		return step_error(result, "reading the entry count: %s", strerror(-rc));
	return 0;
}

/* An nft named counter of a host, now. */
static int read_counter(struct run *run, const struct expect_step *expect,
			struct observation *seen, struct step_result *result)
{
	const struct host *host = find_host(run, expect->host);
	int rc = netns_nft_counter(host->ns, expect->counter, &seen->nft_packets,
				   &seen->nft_bytes);

	if (rc == -ENOENT)
		return step_error(result, "%s has no nft counter %s (declare it in a table: "
				  "counter %s { })", host->name, expect->counter, expect->counter);
	if (rc < 0)
		return step_error(result, "reading nft counter %s on %s: %s", expect->counter,
				  host->name, strerror(-rc));
	return 0;
}

/* A MIB counter's change on a host since before the last step that sent. */
static int read_netstat(struct run *run, const struct expect_step *expect,
			struct observation *seen, struct step_result *result)
{
	const struct host *host = expect->host[0] ? find_host(run, expect->host)
						  : run->observing_host;
	struct mib *now;
	uint64_t before = 0, after = 0;
	size_t i;
	int rc;

	for (i = 0; i < run->n_mib && topology_host_at(run->topology, i) != host; i++)
		;
	if (i == run->n_mib)
		return step_error(result, "no netstat counters were kept before the last send");
	now = malloc(sizeof(*now));
	if (!now)
		return step_error(result, "out of memory");
	rc = mib_read(host->ns, now);
	if (rc < 0) {
		free(now);
		return step_error(result, "reading %s's netstat counters: %s", host->name,
				  strerror(-rc));
	}
	seen->counter_known = mib_get(expect->since_start ? &run->mib_start[i] : &run->mib_before[i],
				      expect->counter, &before) &&
			      mib_get(now, expect->counter, &after);
	seen->counter_delta = (int64_t)(after - before);
	free(now);
	return 0;
}

static const char *errno_text(int error)
{
	const char *name = error > 0 ? strerrorname_np(error) : NULL;

	return error == 0 ? "no error" : name ? name : "an unknown error";
}

/*
 * What an expectation looked at, in words, met or not: kept for the JSON, so
 * that two runs can be compared on what they saw and not only on whether it
 * passed (an entry's timeout, a reason the pattern's '#' matched).
 */
static void describe_seen(const struct expect_step *expect, const struct observation *seen,
			  char *buf, size_t size)
{
	const struct ct_entry *entry = &seen->entry;

	switch (expect->kind) {
	case EXPECT_VERDICT:
	case EXPECT_REASON:
		if (seen->reason)
			snprintf(buf, size, "verdict %s reason \"%s\"", verdict_name(seen->verdict),
				 seen->reason);
		else
			snprintf(buf, size, "verdict %s, no reason", verdict_name(seen->verdict));
		return;
	case EXPECT_CT:
		if (!entry->found)
			snprintf(buf, size, "no entry");
		else
			snprintf(buf, size, "entry %s%s%s timeout %u s", tcp_state_name(entry->state),
				 entry->assured ? " ASSURED" : "",
				 entry->seen_reply ? " SEEN_REPLY" : "", entry->timeout);
		return;
	case EXPECT_STAT:
		if (seen->counter_known)
			snprintf(buf, size, "stat %s %+" PRId64, expect->counter, seen->counter_delta);
		else
			snprintf(buf, size, "stat %s not reported", expect->counter);
		return;
	case EXPECT_PACKET:
	case EXPECT_WIRE:
		snprintf(buf, size, "%s", seen->packet_seen ? seen->packet_what : "no such packet");
		return;
	case EXPECT_ENTRIES:
		snprintf(buf, size, "%" PRIu64 " entries of max %" PRIu64, seen->entries,
			 seen->entries_max);
		return;
	case EXPECT_KMSG:
		if (seen->kmsg_seen)
			snprintf(buf, size, "kernel log \"%s\"", seen->kmsg_line);
		else
			snprintf(buf, size, "no such kernel log line");
		return;
	case EXPECT_SOCKET:
		snprintf(buf, size, "socket %s state %s", errno_text(seen->socket_errno),
			 seen->socket_state > 0 ? socket_state_name(seen->socket_state) : "unknown");
		return;
	case EXPECT_COUNTER:
		snprintf(buf, size, "counter %s packets %" PRIu64 " bytes %" PRIu64, expect->counter,
			 seen->nft_packets, seen->nft_bytes);
		return;
	case EXPECT_NETSTAT:
		if (seen->counter_known)
			snprintf(buf, size, "netstat %s %+" PRId64, expect->counter,
				 seen->counter_delta);
		else
			snprintf(buf, size, "netstat %s not reported", expect->counter);
		return;
	}
	buf[0] = '\0';
}

int do_expect(struct run *run, const struct expect_step *expect, struct step_result *result)
{
	struct observation seen = { .verdict = VERDICT_UNSEEN, .socket_errno = -1,
				    .socket_state = -1 };
	struct expect_step unreasoned;
	struct ct_stats now;
	uint64_t before = 0, after = 0;
	int rc;

	/* The reasons go to another listener (run --no-reasons): what they say
	 * is not checked, the verdicts still are. */
	if (run->options->no_reasons && expect->kind == EXPECT_REASON) {
		snprintf(result->observed, sizeof(result->observed),
			 "not judged: the reasons go to another listener (--no-reasons)");
		result->passed = true;
		return 0;
	}
	if (run->options->no_reasons && (expect->has_reason || expect->packet.has_reason)) {
		unreasoned = *expect;
		unreasoned.has_reason = unreasoned.packet.has_reason = false;
		unreasoned.values.n = unreasoned.packet.values.n = 0;
		expect = &unreasoned;
	}

	if (run->last) {
		seen.verdict = run->last->verdict;
		seen.reason = run->last->has_reason ? run->last->reason : NULL;
		for (size_t i = 0; i < run->last->n_also && i < OBSERVATION_ALSO_MAX; i++)
			seen.also[seen.n_also++] = run->last->also[i];
	}
	switch (expect->kind) {
	case EXPECT_VERDICT:
	case EXPECT_REASON:
		break;
	case EXPECT_CT:
		if (lookup_entry(run, expect->conn, &seen.entry, result) < 0)
			return -1;
		break;
	case EXPECT_STAT:
		rc = observer_stats(run->observer, &now);
		if (rc < 0)
			return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
		seen.counter_known = ct_stats_get(expect->since_start ? &run->stats_start
								      : &run->stats_before,
						  expect->counter, &before) &&
				     ct_stats_get(&now, expect->counter, &after);
		seen.counter_delta = (int64_t)(after - before);
		break;
	case EXPECT_PACKET:
		if (find_packet(run, &expect->packet, &seen.packet_seen, seen.packet_what,
				sizeof(seen.packet_what), result) < 0)
			return -1;
		break;
	case EXPECT_WIRE:
		if (find_wire(run, &expect->packet, &seen.packet_seen, seen.packet_what,
			      sizeof(seen.packet_what), result) < 0)
			return -1;
		break;
	case EXPECT_ENTRIES:
		if (read_entries(run, &seen.entries, &seen.entries_max, result) < 0)
			return -1;
		break;
	case EXPECT_KMSG:
		rc = find_kmsg(run, expect, &seen, result);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			snprintf(result->observed, sizeof(result->observed), "not judged");
			result->passed = true;	/* skipped, saying why */
			return 0;
		}
		break;
	case EXPECT_SOCKET: {
		int fd = *endpoint_fd(run, &expect->endpoint);
		int *error = endpoint_error(run, &expect->endpoint);

		if (fd >= 0 && !*error)
			*error = sock_pending_error(fd);
		seen.socket_errno = *error;
		seen.socket_state = fd >= 0 ? sock_tcp_state(fd) : TCP_CLOSE;
		break;
	}
	case EXPECT_COUNTER:
		if (read_counter(run, expect, &seen, result) < 0)
			return -1;
		break;
	case EXPECT_NETSTAT:
		if (read_netstat(run, expect, &seen, result) < 0)
			return -1;
		break;
	}
	describe_seen(expect, &seen, result->observed, sizeof(result->observed));
	if (expect->values.n) {
		/* The same expectation, its pattern's #{EXPR} as numbers. */
		struct expect_step resolved = *expect;
		char pattern[SCENARIO_TEXT_MAX + 64];

		if (resolve_reason(run, expect->reason, &expect->values, pattern, sizeof(pattern),
				   result) < 0)
			return -1;
		resolved.reason = pattern;
		result->passed = expect_check(&resolved, &seen, result->message,
					      sizeof(result->message));
	} else {
		result->passed = expect_check(expect, &seen, result->message,
					      sizeof(result->message));
	}
	if (!result->passed)
		run->result->failures++;
	return 0;
}
