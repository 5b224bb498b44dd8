// SPDX-License-Identifier: GPL-2.0
/*
 * ctlab diagnose: watch a live namespace's conntrack for a while and say
 * which reasons it gave for the packets it logged, which RSTs followed, and
 * what each reason usually means. The one change is the logging switch
 * (journaled, put back on every exit path); rules are never touched.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#include "base/base.h"
#include "cli.h"
#include "journal/journal.h"
#include "netns/netns.h"
#include "observe/observe.h"
#include "output/output.h"
#include "packet/packet.h"

#define GROUPS_MAX	64
#define SAMPLES_MAX	3
#define RECENT_MAX	1024	/* reasons kept to find the RST that followed one */
#define RST_SAMPLES_MAX	5
#define CAUSE_WINDOW_NS	(5LL * 1000000000)	/* a RST this soon after a reason on its flow */
#define LATE_WINDOW_NS	(5LL * 1000000000)	/* a reason read this late after its flow's RST */
#define PENDING_MAX	256	/* RSTs whose reason may still come (NFLOG lags the packet socket) */
#define DIAGNOSE_SCHEMA	1	/* the version of --json's document (docs/results.md) */

/* What people find behind a reason, and the scenario that shows it. */
static const struct reason_note {
	const char *match;	/* a piece of the reason as logged */
	bool accepted;		/* logged, but the packet goes on (IGNORE) */
	const char *means, *fix, *scenario;
} notes[] = {
	{ "SEQ is over upper bound", false,
	  "data beyond the receiver's window as conntrack tracked it: the window it knows is "
	  "stale or unscaled (a flow picked up mid-stream, an entry made again), packets "
	  "reordered or duplicated on the way, or a peer sending past the window",
	  "nf_conntrack_tcp_be_liberal=1 skips the window checks; behind NAT, a rule that "
	  "drops ct state invalid keeps the un-NATed packet from a host that answers it "
	  "with a RST", "invalid-not-unnated" },
	{ "ACK is over upper bound", false,
	  "it acknowledges data conntrack never saw sent: that data took another path "
	  "(asymmetric routing), or the entry is younger than the connection",
	  "route both directions through this host, or nf_conntrack_tcp_be_liberal=1",
	  "ack-over-upper-bound" },
	{ "SEQ is under lower bound", true,
	  "an old retransmission of data already acknowledged; accepted since 6.0, INVALID "
	  "before (and then reset behind SNAT)",
	  "nothing on 6.0 and later; before, nf_conntrack_tcp_be_liberal=1",
	  "snat-gateway-old-retransmission" },
	{ "ACK under lower bound", true, "a very late ACK; accepted", "nothing to fix",
	  "ack-under-lower-bound" },
	{ "bytes more than expected", true,
	  "a little past the window, within what the receiver ever offered; accepted, and "
	  "the entry's timeout is cut to 300 s", "nothing to fix", "bytes-more-than-expected" },
	{ "invalid rst", false,
	  "a RST whose sequence is behind what the other side acknowledged: a stale RST "
	  "(an old connection's, a middlebox's), which the endpoint would ignore too",
	  "nf_conntrack_tcp_ignore_invalid_rst=1 lets such RSTs through", "rst-below-acked" },
	{ "invalid tcp flag combination", false,
	  "flags TCP never sends together (SYN+FIN, SYN+RST, FIN alone, none): a scan or a "
	  "broken stack", "nothing to fix here: dropping them is right", "syn-fin" },
	{ "invalid, state", false,
	  "a packet the TCP state machine does not allow here: a SYN/ACK with no SYN seen "
	  "(the SYN took another path), a SYN/ACK from the client",
	  "make both directions of a flow cross this host", "k8s-94861-asymmetric-routing" },
	{ "ignored, state", true,
	  "a packet the state machine ignores: a new SYN on an established flow (the peer "
	  "answers with a challenge ACK), a SYN/ACK again", "nothing to fix",
	  "syn-on-established" },
	{ "invalid new", false,
	  "the first packet conntrack saw of a flow cannot start one (a SYN/ACK, FIN or RST "
	  "with no entry): the entry was deleted (conntrack -D or -F, an agent) or timed out "
	  "while the connection lived, the flow began on another path, or it is the answer "
	  "(a RST) to a packet that got no entry, an INVALID one",
	  "find what removes entries; check nf_conntrack_tcp_timeout_* against the "
	  "connections' idle times", "k8s-93337-entry-deleted" },
	{ "bad checksum", false,
	  "a packet from outside with a wrong checksum: a NIC or virtual switch whose "
	  "checksum offload left it unfilled, or corruption",
	  "fix the offload on the sender (ethtool -K IFACE tx off), or "
	  "nf_conntrack_checksum=0", "bad-checksum" },
	{ "truncated", false, "a header shorter than it says: a broken packet",
	  "find the sender", "truncated-header" },
	{ "lower timeout", true,
	  "conntrack cut the entry's timeout (the same segment retransmitted "
	  "nf_conntrack_tcp_max_retrans times, an out-of-window FIN or RST)",
	  "nothing by itself; look at the reason logged with it", NULL },
};

struct group {
	char key[OBSERVER_REASON_MAX];	/* the reason, its numbers as # */
	const struct reason_note *note;
	uint64_t count;
	struct watch_event samples[SAMPLES_MAX];
	size_t n_samples;
};

struct rst_seen {
	struct watch_event event;
	uint64_t number;		/* from 1, in the order read */
	const struct group *cause;	/* the reason logged just before on its flow */
	long long after_ns;		/* the reason read this long before (< 0: after) */
};

struct diagnosis {
	bool verbose;
	struct group groups[GROUPS_MAX];
	size_t n_groups;
	uint64_t reasons, other_reasons;	/* other: past GROUPS_MAX */
	struct {
		struct watch_event event;
		const struct group *group;
		struct timespec taken;	/* when read: the two sources' stamps are not one clock */
	} recent[RECENT_MAX];
	size_t n_recent, next_recent;
	uint64_t rsts, rsts_out, rsts_caused;
	struct rst_seen rst_samples[RST_SAMPLES_MAX];
	size_t n_rst_samples;
	/* RSTs read with no reason before them: the two sockets are read in turn,
	 * so their packet's reason may be read after them */
	struct {
		struct rst_seen rst;
		struct timespec taken;
	} pending[PENDING_MAX];
	size_t n_pending, next_pending;
};

static volatile sig_atomic_t stop_watch;

static void on_stop(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static const struct reason_note *note_of(const char *reason)
{
	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strstr(reason, notes[i].match))
			return &notes[i];
	return NULL;
}

static void packet_text(const struct packet_summary *p, char *buf, size_t size)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[TCP_FLAGS_STRLEN];

	inet_ntop(p->family, &p->src, src, sizeof(src));
	inet_ntop(p->family, &p->dst, dst, sizeof(dst));
	if (p->protocol == IPPROTO_TCP)
		snprintf(buf, size, "tcp %s.%u > %s.%u %s seq %u ack %u len %u", src, p->sport, dst,
			 p->dport, tcp_flags_format(p->flags, flags), p->seq, p->ack,
			 (unsigned)p->payload_len);
	else if (p->protocol == IPPROTO_UDP)
		snprintf(buf, size, "udp %s.%u > %s.%u len %u", src, p->sport, dst, p->dport,
			 (unsigned)p->payload_len);
	else
		snprintf(buf, size, "proto %u %s > %s", p->protocol, src, dst);
}

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* The reason conntrack gave the RST itself (its own packet), not its cause. */
static bool own_reason(const struct packet_summary *logged, const struct packet_summary *rst)
{
	return logged->flags == rst->flags && logged->seq == rst->seq && logged->ack == rst->ack &&
	       logged->sport == rst->sport;
}

/* Keeps @seen among the samples: those after a reason first, they are the answer. */
static void sample_rst(struct diagnosis *d, const struct rst_seen *seen)
{
	for (size_t i = 0; i < d->n_rst_samples; i++)
		if (d->rst_samples[i].number == seen->number) {
			d->rst_samples[i] = *seen;
			return;
		}
	if (d->n_rst_samples < RST_SAMPLES_MAX) {
		d->rst_samples[d->n_rst_samples++] = *seen;
		return;
	}
	for (size_t i = 0; seen->cause && i < RST_SAMPLES_MAX; i++)
		if (!d->rst_samples[i].cause) {
			d->rst_samples[i] = *seen;
			return;
		}
}

/* A reason read after a RST of its flow that had none yet: that RST's cause. */
static void link_late(struct diagnosis *d, const struct watch_event *event,
		      const struct group *group)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 1; i <= d->n_pending; i++) {
		size_t at = (d->next_pending + PENDING_MAX - i) % PENDING_MAX;
		struct rst_seen *rst = &d->pending[at].rst;
		long long late = ns_between(&d->pending[at].taken, &now);

		if (late > LATE_WINDOW_NS)
			break;
		if (rst->cause || own_reason(&event->packet, &rst->event.packet) ||
		    !packet_same_flow(&event->packet, &rst->event.packet))
			continue;
		rst->cause = group;
		rst->after_ns = -late;
		d->rsts_caused++;
		sample_rst(d, rst);
		return;
	}
}

static void take_reason(struct diagnosis *d, const struct watch_event *event)
{
	char key[OBSERVER_REASON_MAX];
	struct group *group = NULL;

	d->reasons++;
	reason_pattern(event->reason, key, sizeof(key));
	for (size_t i = 0; i < d->n_groups && !group; i++)
		if (!strcmp(d->groups[i].key, key))
			group = &d->groups[i];
	if (!group && d->n_groups < GROUPS_MAX) {
		group = &d->groups[d->n_groups++];
		snprintf(group->key, sizeof(group->key), "%s", key);
		group->note = note_of(key);
	}
	if (!group) {
		d->other_reasons++;
		return;
	}
	group->count++;
	if (group->n_samples < SAMPLES_MAX)
		group->samples[group->n_samples++] = *event;
	d->recent[d->next_recent].event = *event;
	d->recent[d->next_recent].group = group;
	clock_gettime(CLOCK_MONOTONIC, &d->recent[d->next_recent].taken);
	link_late(d, event, group);
	d->next_recent = (d->next_recent + 1) % RECENT_MAX;
	if (d->n_recent < RECENT_MAX)
		d->n_recent++;
}

static void take_rst(struct diagnosis *d, const struct watch_event *event)
{
	struct rst_seen seen = { .event = *event, .number = d->rsts + 1 };
	struct timespec now;

	d->rsts++;
	d->rsts_out += event->outgoing;
	/* The latest reason on its flow read shortly before (in a batch the reasons
	 * are read first), not the one conntrack gave the RST itself. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 1; i <= d->n_recent; i++) {
		size_t at = (d->next_recent + RECENT_MAX - i) % RECENT_MAX;
		const struct packet_summary *logged = &d->recent[at].event.packet;
		long long after = ns_between(&d->recent[at].taken, &now);

		if (after > CAUSE_WINDOW_NS)
			break;
		if (own_reason(logged, &event->packet))
			continue;
		if (packet_same_flow(logged, &event->packet)) {
			seen.cause = d->recent[at].group;
			seen.after_ns = after;
			break;
		}
	}
	d->rsts_caused += seen.cause != NULL;
	sample_rst(d, &seen);
	if (seen.cause)
		return;
	d->pending[d->next_pending].rst = seen;
	d->pending[d->next_pending].taken = now;
	d->next_pending = (d->next_pending + 1) % PENDING_MAX;
	if (d->n_pending < PENDING_MAX)
		d->n_pending++;
}

static void print_event(const struct watch_event *event)
{
	char text[256];

	packet_text(&event->packet, text, sizeof(text));
	if (event->kind == WATCH_REASON)
		printf("# %s: %s%s%s\n", event->reason, text, *event->ifname ? " in on " : "",
		       event->ifname);
	else
		printf("# RST %s %s %s\n", text, event->outgoing ? "out on" : "in on", event->ifname);
	fflush(stdout);
}

static void take(const struct watch_event *event, void *arg)
{
	struct diagnosis *d = arg;

	if (d->verbose)
		print_event(event);
	if (event->kind == WATCH_REASON)
		take_reason(d, event);
	else
		take_rst(d, event);
}

/* INVALID reasons first, then those accepted, each by count. */
static int group_order(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	bool x_ok = x->note && x->note->accepted, y_ok = y->note && y->note->accepted;

	if (x_ok != y_ok)
		return x_ok - y_ok;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* The namespace's setting @key, or "?" where it has none. */
static void setting_text(struct netns *ns, const char *key, char *buf, size_t size)
{
	if (netns_sysctl_read(ns, key, buf, size) < 0)
		snprintf(buf, size, "?");
}

/* The change ctlab makes there: the logging switch, each setting journaled. */
static const char *const logging[][2] = {
	{ "net.netfilter.nf_conntrack_log_invalid", "255" },
	{ "net.netfilter.nf_log.2", "nfnetlink_log" },
	{ "net.netfilter.nf_log.10", "nfnetlink_log" },
};

static int switch_logging_on(const char *path, const char *label)
{
	for (size_t i = 0; i < sizeof(logging) / sizeof(logging[0]); i++) {
		int rc = journal_set_in(path, logging[i][0], logging[i][1]);

		if (rc < 0) {
			fprintf(stderr, "ctlab: diagnose: %s in %s: %s\n", logging[i][0], label,
				rc == -ENOENT ? "no such setting (is nf_conntrack or nfnetlink_log "
						"missing from this kernel?)" : strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static void print_stats_delta(const struct ct_stats *before, const struct ct_stats *after,
			      bool *table_full, bool *clashes)
{
	bool any = false;

	printf("conntrack's counters over the watch:");
	for (size_t i = 0; i < after->n; i++) {
		uint64_t old = 0, delta;

		if (!strcmp(after->names[i], "entries") || !strcmp(after->names[i], "searched") ||
		    !strcmp(after->names[i], "found") || !strcmp(after->names[i], "new") ||
		    !strcmp(after->names[i], "delete") || !strcmp(after->names[i], "delete_list") ||
		    !strcmp(after->names[i], "insert") || !strcmp(after->names[i], "ignore"))
			continue;
		ct_stats_get(before, after->names[i], &old);
		delta = after->values[i] - old;
		if (!delta)
			continue;
		printf(" %s +%llu", after->names[i], (unsigned long long)delta);
		any = true;
		if (!strcmp(after->names[i], "drop") || !strcmp(after->names[i], "early_drop"))
			*table_full = true;
		if (!strcmp(after->names[i], "insert_failed") ||
		    !strcmp(after->names[i], "clash_resolve"))
			*clashes = true;
	}
	printf("%s\n", any ? "" : " none moved");
}

static void print_summary(struct diagnosis *d, const struct ct_stats *before,
			  const struct ct_stats *after, bool have_stats)
{
	bool table_full = false, clashes = false;
	char text[256];

	if (!d->n_groups)
		printf("conntrack logged no packet\n");
	for (size_t i = 0; i < d->n_groups; i++) {
		const struct group *g = &d->groups[i];

		printf("%zu. %s: %llu packet%s, %s\n", i + 1, g->key, (unsigned long long)g->count,
		       g->count == 1 ? "" : "s",
		       g->note && g->note->accepted ? "logged but accepted" : "INVALID");
		for (size_t j = 0; j < g->n_samples; j++) {
			packet_text(&g->samples[j].packet, text, sizeof(text));
			printf("   e.g. %s%s%s\n", text, *g->samples[j].ifname ? ", in on " : "",
			       g->samples[j].ifname);
		}
		if (!g->note) {
			printf("   (ctlab has no note on this reason yet)\n");
			continue;
		}
		printf("   means: %s\n   fix: %s\n", g->note->means, g->note->fix);
		if (g->note->scenario)
			printf("   see it happen: ctlab show %s\n", g->note->scenario);
	}
	if (d->other_reasons)
		printf("and %llu packets of other reasons\n", (unsigned long long)d->other_reasons);

	printf("RSTs: %llu seen, %llu sent by this namespace, %llu right after a reason on "
	       "their flow\n", (unsigned long long)d->rsts, (unsigned long long)d->rsts_out,
	       (unsigned long long)d->rsts_caused);
	for (size_t i = 0; i < d->n_rst_samples; i++) {
		const struct rst_seen *r = &d->rst_samples[i];

		packet_text(&r->event.packet, text, sizeof(text));
		printf("   %s, %s %s", text, r->event.outgoing ? "out on" : "in on", r->event.ifname);
		if (r->cause)
			printf(", after a packet of the flow logged \"%s\" (read %.1f ms %s)",
			       r->cause->key, (double)llabs(r->after_ns) / 1e6,
			       r->after_ns >= 0 ? "before" : "after the RST");
		printf("\n");
	}
	if (!have_stats)
		return;
	print_stats_delta(before, after, &table_full, &clashes);
	if (table_full)
		printf("   the table was full: new flows were dropped or older unreplied entries "
		       "evicted; raise nf_conntrack_max or shorten the timeouts; see it happen: "
		       "ctlab show assured-table-drops\n");
	if (clashes)
		printf("   two packets of one new flow raced for its entry (a clash): typical of "
		       "UDP DNS from one socket; see it happen: ctlab show k8s-56903-dns-race\n");
}

static json_t *event_json(const struct watch_event *event)
{
	json_t *object = packet_headers_json(&event->packet, NULL, NULL);

	if (object)
		json_object_set_new(object, "ifname", json_string(event->ifname));
	return object;
}

/* What moved in conntrack's counters, by name. */
static json_t *counters_json(const struct ct_stats *before, const struct ct_stats *after)
{
	json_t *object = json_object();

	for (size_t i = 0; object && i < after->n; i++) {
		uint64_t old = 0;

		if (!strcmp(after->names[i], "entries"))
			continue;
		ct_stats_get(before, after->names[i], &old);
		if (after->values[i] != old)
			json_object_set_new(object, after->names[i],
					    json_integer((json_int_t)(after->values[i] - old)));
	}
	return object;
}

/*
 * --json: the diagnosis as a document (docs/results.md, "diagnose --json"):
 * the namespace, the reasons ranked with their notes, the RSTs, the counters'
 * moves. An exit status.
 */
static int write_json(const struct diagnosis *d, const char *path, const char *label,
		      const char *target, double seconds, const struct ct_stats *before,
		      const struct ct_stats *after, bool have_stats)
{
	json_t *document = document_new("diagnose", DIAGNOSE_SCHEMA), *rest;
	json_t *reasons = json_array(), *rsts = json_array();

	for (size_t i = 0; reasons && i < d->n_groups; i++) {
		const struct group *g = &d->groups[i];
		json_t *samples = json_array();

		for (size_t j = 0; samples && j < g->n_samples; j++)
			json_array_append_new(samples, event_json(&g->samples[j]));
		json_array_append_new(reasons, json_pack(
			"{s:s, s:I, s:s, s:o, s:o, s:o, s:o}", "reason", g->key,
			"count", (json_int_t)g->count,
			"verdict", g->note && g->note->accepted ? "accepted" : "invalid",
			"samples", samples ? samples : json_array(),
			"means", g->note ? json_string(g->note->means) : json_null(),
			"fix", g->note ? json_string(g->note->fix) : json_null(),
			"scenario", g->note && g->note->scenario ? json_string(g->note->scenario) :
			json_null()));
	}
	for (size_t i = 0; rsts && i < d->n_rst_samples; i++) {
		const struct rst_seen *r = &d->rst_samples[i];
		json_t *object = event_json(&r->event);

		if (!object)
			continue;
		json_object_set_new(object, "outgoing", json_boolean(r->event.outgoing));
		json_object_set_new(object, "after_reason", r->cause ? json_string(r->cause->key) :
				    json_null());
		json_array_append_new(rsts, object);
	}
	rest = json_pack(
		"{s:{s:s, s:s}, s:f, s:I, s:I, s:o,"
		" s:{s:I, s:I, s:I, s:o}, s:o}",
		"namespace", "path", target, "label", label,
		"seconds", seconds, "logged", (json_int_t)d->reasons,
		"other_reasons", (json_int_t)d->other_reasons, "reasons",
		reasons ? reasons : json_array(),
		"rsts", "seen", (json_int_t)d->rsts, "sent", (json_int_t)d->rsts_out,
		"after_reason", (json_int_t)d->rsts_caused, "samples", rsts ? rsts : json_array(),
		"counters", have_stats ? counters_json(before, after) : json_null());
	if (!document || !rest || json_object_update_new(document, rest) < 0) {
		json_decref(document);
		document = NULL;
	}
	return write_document("diagnose --json", path, json_pretty, document);
}

static int netns_target(const char *netns, const char *pid, bool host, char *path, size_t size,
			char *label, size_t label_size)
{
	if ((netns != NULL) + (pid != NULL) + host != 1)
		return usage_error("diagnose expects one of --netns NAME, --pid PID, --host");
	if (netns) {
		if (!*netns || netns[0] == '.' || strlen(netns) > 200 ||
		    strspn(netns, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(netns))
			return usage_error("--netns expects the name of a namespace in /run/netns "
					   "(up to 200 letters, digits, '_', '.', '-'), found '%s'", netns);
		snprintf(path, size, "/run/netns/%s", netns);
		snprintf(label, label_size, "namespace %s", netns);
	} else if (pid) {
		if (!*pid || strspn(pid, "0123456789") != strlen(pid) || strlen(pid) > 9 ||
		    atoi(pid) < 1)
			return usage_error("--pid expects a process id, found '%s'", pid);
		snprintf(path, size, "/proc/%s/ns/net", pid);
		snprintf(label, label_size, "the namespace of pid %s", pid);
	} else {
		snprintf(path, size, "/proc/1/ns/net");
		snprintf(label, label_size, "the host's namespace");
	}
	return 0;
}

int cmd_diagnose(int argc, char **argv)
{
	static const struct option options[] = {
		{ "netns", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "host", no_argument, NULL, 'H' },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *netns_name = NULL, *pid = NULL, *json_path = NULL;
	char path[256], label[256], err[512], liberal[32], loose[32], old[3][64];
	struct ct_stats before, after;
	struct timespec start, now;
	struct diagnosis *d;
	struct watch *watch = NULL;
	struct netns *ns;
	bool host = false, verbose = false, have_stats;
	long duration = 30;
	int opt, rc = EXIT_FAILED;
	char *end;

	optind = 1;
	while ((opt = cli_getopt("diagnose", argc, argv, "vh", options)) != -1) {
		switch (opt) {
		case 'n':
			netns_name = optarg;
			break;
		case 'p':
			pid = optarg;
			break;
		case 'H':
			host = true;
			break;
		case 'd':
			errno = 0;
			duration = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || duration < 1 || duration > 86400)
				return usage_error("--duration expects seconds, 1..86400, found '%s'",
						   optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'J':
			json_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("diagnose takes no arguments, found '%s'", argv[optind]);
	if (netns_target(netns_name, pid, host, path, sizeof(path), label, sizeof(label)))
		return EXIT_USAGE;
	if (geteuid() != 0) {
		fprintf(stderr, "ctlab: diagnose needs root (it enters %s)\n", label);
		return EXIT_SKIPPED;
	}
	ns = netns_open(path, netns_name ? netns_name : pid ? pid : "host");
	if (!ns) {
		fprintf(stderr, "ctlab: diagnose: %s: %s\n", path,
			errno == ENOTSUP ? "not a network namespace" : strerror(errno));
		return EXIT_FAILED;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		netns_free(ns);
		return EXIT_FAILED;
	}
	d->verbose = verbose;

	setting_text(ns, "net.netfilter.nf_conntrack_tcp_be_liberal", liberal, sizeof(liberal));
	setting_text(ns, "net.netfilter.nf_conntrack_tcp_loose", loose, sizeof(loose));
	for (size_t i = 0; i < 3; i++)
		setting_text(ns, logging[i][0], old[i], sizeof(old[i]));

	/* Ctrl-C ends the watch early, with its summary: ours, so not the journal's to take. */
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	/*
	 * The switch before the listener: binding NFLOG group 0 also binds
	 * nfnetlink_log as the namespace's logger (libpcap asks for it), so
	 * nf_log.2 and .10 must be journaled before, and a refusal puts them back.
	 */
	if (switch_logging_on(path, label) < 0)
		goto out_restore;
	watch = watch_open(ns, err, sizeof(err));
	if (!watch) {
		fprintf(stderr, "ctlab: diagnose: cannot read conntrack's log in %s: %s%s\n", label,
			err, strstr(err, "group index") ? " (another program, ulogd or a ctlab run, "
			"listens on NFLOG group 0 there: ctlab leaves it be)" : "");
		goto out_restore;
	}
	have_stats = ct_stats_read(ns, &before) == 0;

	printf("# ctlab diagnose: %s (%s) for %ld s, Ctrl-C ends it sooner\n", label, path,
	       duration);
	printf("# nf_conntrack_tcp_be_liberal=%s nf_conntrack_tcp_loose=%s; for the watch "
	       "nf_conntrack_log_invalid %s -> 255, nf_log.2 %s and nf_log.10 %s -> nfnetlink_log "
	       "(put back after)\n", liberal, loose, old[0], old[1], old[2]);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop_watch) {
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = duration * 1000LL - ns_between(&start, &now) / 1000000;
		if (left <= 0)
			break;
		if (watch_poll(watch, left > 500 ? 500 : (int)left, take, d) < 0) {
			fprintf(stderr, "ctlab: diagnose: reading %s: %s\n", label, strerror(errno));
			break;
		}
	}
	/* Put back at once, then read what is left and the counters. */
	if (journal_restore_all() < 0)
		fprintf(stderr, "ctlab: diagnose: could not put the logging settings back in %s "
			"(ctlab clean tries again)\n", label);
	watch_poll(watch, 0, take, d);
	have_stats = have_stats && ct_stats_read(ns, &after) == 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	printf("# watched %.1f s: %llu packets logged, %llu RSTs\n",
	       (double)ns_between(&start, &now) / 1e9, (unsigned long long)d->reasons,
	       (unsigned long long)d->rsts);
	qsort(d->groups, d->n_groups, sizeof(d->groups[0]), group_order);
	print_summary(d, &before, &after, have_stats);
	{
		uint64_t lost_reasons, lost_rsts, other_logs;

		watch_drops(watch, &lost_reasons, &lost_rsts, &other_logs);
		if (lost_reasons || lost_rsts)
			printf("# not read in time: %llu logged packets, %llu RSTs (counts above are "
			       "lower bounds)\n", (unsigned long long)lost_reasons,
			       (unsigned long long)lost_rsts);
		if (other_logs)
			printf("# %llu records on NFLOG group 0 were not conntrack's\n",
			       (unsigned long long)other_logs);
	}
	rc = EXIT_PASS;
	for (size_t i = 0; i < d->n_groups; i++)
		if (!d->groups[i].note || !d->groups[i].note->accepted)
			rc = EXIT_FAILED;
	if (json_path && write_json(d, json_path, label, path, (double)ns_between(&start, &now) / 1e9,
				    &before, &after, have_stats) != EXIT_PASS)
		rc = EXIT_FAILED;

out_restore:
	journal_restore_all();
	watch_free(watch);
	netns_free(ns);
	free(d);
	return rc;
}
