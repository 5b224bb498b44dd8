/*
 * replay: the packets of a capture, in order, through a conntrack that judges
 * them as the captured host's did.
 *
 * Three namespaces: a feeder, whose veths (one per side of the capture: an
 * interface it names, a --side, else eth0) send each IP packet as it is to
 * the MAC of the judge's interface of that name; the judge, which forwards
 * everything on to a sink (or back out by a side whose prefix it is for);
 * and the sink. So conntrack in the judge sees every packet at prerouting and
 * confirms its entry at postrouting, as a router's does, and nothing goes
 * anywhere else: the judge's egress hook to the sink drops what it forwards
 * (before 5.16, which has no egress hook: that link has no ARP, its frames
 * carry the judge's own MAC and the sink drops them as someone else's); the judge's
 * own packets (ICMP errors, redirects, neighbour discovery) are dropped at its
 * output hook. The judge has no address of its own beyond link-local, so no
 * packet of the capture is for it.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/base.h"
#include "inject/inject.h"
#include "netns/netns.h"
#include "packet/packet.h"
#include "replay/replay.h"

/* The judge's way in for packets of no side and no usable interface name. */
#define DEFAULT_SIDE	"eth0"
/* Its way on to the sink: a name no capture interface may take. */
#define JUDGE_OUT_IF	"ctlab-sink"
#define SIDE_SPECS_MAX	64	/* MACs and prefixes over all --side */
#define SINK_IF		"eth0"
/* The judge's next hop: any address will do on a link without ARP. */
#define SINK_GATEWAY4	"198.18.0.1"
#define SINK_GATEWAY6	"fe80::1"
#define REPLAY_MTU	65535	/* a capture of GRO's aggregates holds packets this big */
#define COPIES_WINDOW	64
/* Packets sent before their verdicts are read: records of a window fit the
 * observer's 4 MB socket many times over, and the judge's backlog
 * (netdev_max_backlog, 1000 by default) holds a window twice. */
#define SEND_WINDOW	256
/* The marker: an IPv4 packet of protocol 253 (for experiments) that the
 * judge leaves untracked, sent behind the packets in flight when the replay
 * has to wait for them. Its record says that every packet sent before it has
 * been judged: one without a record was dropped before the log. */
#define MARKER_PROTOCOL	253
#define MARKER_SRC	"198.18.0.254"
#define MARKER_DST	"198.18.0.253"
#define MARKER_MAGIC	"0x63746c61626d726b"	/* "ctlabmrk", the first 8 bytes after the IP header */
/* Entries read through ctnetlink after their verdict, at most, unless
 * --entries: each is a netlink round trip, and a capture of many resets
 * would spend its time on them. */
#define ENTRY_READS_MAX	1000
#define NFT_FILE_MAX	1048576	/* how far back a forwarded copy's original is looked for */

/* A packet sent whose verdict has not been read yet. */
struct in_flight {
	size_t frame;
	uint64_t ts_ns;
	bool marker;
	size_t side;
	struct packet_summary packet;
};

/* What puts a packet on a side: its source MAC, or its source address in a
 * prefix (whose destinations are routed out by that side). */
struct side_spec {
	size_t side;
	bool is_mac;
	uint8_t mac[6];
	int family;
	union inet_addr prefix;		/* its host bits zero */
	unsigned int bits;
};

struct replay {
	const struct replay_options *options;
	struct replay_result *result;
	struct netns *feed, *judge, *sink;
	/* a feeder's veth per side of result->sides, into the judge's of its name */
	struct frame_sender *senders[REPLAY_SIDES_MAX];
	size_t last_side;		/* the marker goes in behind the last packet */
	int steer_cpu;			/* every side's packets to this CPU's backlog, or -1 */
	struct side_spec specs[SIDE_SPECS_MAX];
	size_t n_specs;
	bool have_macs;
	struct observer *observer;
	/* the last packets that arrived, to tell a forwarded copy by */
	struct packet_summary recent[COPIES_WINDOW];
	size_t n_recent;
	uint8_t packet[CAPFILE_SNAPLEN_MAX];	/* the one being sent, its checksum finished */
	/* sent, in order, their verdicts to come: a ring of first..first+n_flight */
	struct in_flight flight[SEND_WINDOW + 1];
	size_t first_flight, n_flight;
	size_t next_record;		/* the observer's first record not yet matched */
	uint16_t markers;		/* markers sent: each one's IP ID */
	size_t entries_read;		/* through ctnetlink, without --entries (ENTRY_READS_MAX) */
	size_t markers_landed;		/* their records, left out of the packets' numbers */
	cpu_set_t old_cpus;		/* the thread's CPUs before the replay pinned it */
	bool pinned;
	bool paced_from;		/* the first frame's time is taken */
	uint64_t first_ts_ns;
	struct timespec started;
};

static const char *const judge_sysctls[][2] = {
	{ "net.ipv4.ip_forward", "1" },
	{ "net.ipv6.conf.all.forwarding", "1" },
	{ "net.ipv4.conf.all.rp_filter", "0" },
	{ "net.ipv4.conf.default.rp_filter", "0" },
	{ "net.ipv4.conf.all.send_redirects", "0" },
	{ "net.ipv6.conf.all.accept_dad", "0" },
	{ "net.ipv6.conf.default.accept_dad", "0" },
};

/* Whatever the judge itself would send (an ICMP error, a redirect) stays in. */
static const char judge_ruleset[] =
	"table inet ctlab_replay {\n"
	"chain marker {\n"
	"type filter hook prerouting priority -300; policy accept;\n"
	"ip protocol 253 @th,0,64 " MARKER_MAGIC " notrack\n"
	"}\n"
	"chain output {\n"
	"type filter hook output priority 0; policy drop;\n"
	"}\n"
	"}\n";

/* What the judge forwarded, dropped once conntrack has confirmed its entry
 * (postrouting) and before the sink would take it: half the work a packet
 * costs. The egress hook came with 5.16; without it the sink drops them. */
static const char judge_egress[] =
	"table netdev ctlab_replay_egress {\n"
	"chain egress {\n"
	"type filter hook egress device " JUDGE_OUT_IF " priority 0; policy drop;\n"
	"}\n"
	"}\n";

static int fail(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct replay *r, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(r->result->error, sizeof(r->result->error), fmt, args);
	va_end(args);
	return -1;
}

/* An address of either family, its family in *family: 0, or -1. */
static int address_family(const char *text, int *family)
{
	struct in6_addr any;

	if (inet_pton(AF_INET, text, &any) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, text, &any) == 1)
		*family = AF_INET6;
	else
		return -1;
	return 0;
}

/* The judge's NAT: one nft table, a DNAT rule per service, an SNAT rule per address. */
static int load_nat(struct replay *r)
{
	char ruleset[8192], err[1024];
	size_t len = 0, i;
	int rc;

	if (!r->options->n_nat && !r->options->nft_file)
		return 0;
	len = (size_t)snprintf(ruleset, sizeof(ruleset), "table inet ctlab_replay_nat {\n"
			       "chain prerouting {\ntype nat hook prerouting priority -100;\n");
	for (i = 0; i < r->options->n_nat && len < sizeof(ruleset); i++) {
		char service[INET6_ADDRSTRLEN], backend[INET6_ADDRSTRLEN];
		const char *spec = r->options->nat[i];
		int family, backend_family;

		if (sscanf(spec, "dnat %45[^=]=%45s", service, backend) != 2)
			continue;
		if (address_family(service, &family) < 0 ||
		    address_family(backend, &backend_family) < 0 || family != backend_family)
			return fail(r, "--nat %s: expected dnat SERVICE=BACKEND, two addresses of one family",
				    spec);
		len += (size_t)snprintf(ruleset + len, sizeof(ruleset) - len, "%s daddr %s dnat %s to %s\n",
					family == AF_INET ? "ip" : "ip6", service,
					family == AF_INET ? "ip" : "ip6", backend);
	}
	len += (size_t)snprintf(ruleset + len, sizeof(ruleset) - len > len ? sizeof(ruleset) - len : 0,
				"}\nchain postrouting {\ntype nat hook postrouting priority 100;\n");
	for (i = 0; i < r->options->n_nat && len < sizeof(ruleset); i++) {
		char address[INET6_ADDRSTRLEN];
		const char *spec = r->options->nat[i];
		int family;

		if (strncmp(spec, "dnat ", 5) == 0)
			continue;
		if (sscanf(spec, "snat %45s", address) != 1 || address_family(address, &family) < 0)
			return fail(r, "--nat %s: expected dnat SERVICE=BACKEND or snat ADDRESS", spec);
		len += (size_t)snprintf(ruleset + len, sizeof(ruleset) - len,
					"meta nfproto %s snat %s to %s\n",
					family == AF_INET ? "ipv4" : "ipv6", family == AF_INET ? "ip" : "ip6",
					address);
	}
	if (len + 4 >= sizeof(ruleset))
		return fail(r, "--nat: too many rules");
	snprintf(ruleset + len, sizeof(ruleset) - len, "}\n}\n");
	if (r->options->n_nat && netns_nft_load(r->judge, ruleset, err, sizeof(err)) < 0)
		return fail(r, "--nat: %s", err);
	if (r->options->nft_file) {
		/* A ruleset, not a dump of the world: a megabyte is plenty. */
		char *text = malloc(NFT_FILE_MAX + 1);
		FILE *file = fopen(r->options->nft_file, "re");
		size_t n = 0;

		if (!text || !file) {
			free(text);
			if (file)
				fclose(file);
			return fail(r, "--nft %s: %s", r->options->nft_file, strerror(errno));
		}
		n = fread(text, 1, NFT_FILE_MAX + 1, file);
		fclose(file);
		text[n > NFT_FILE_MAX ? NFT_FILE_MAX : n] = '\0';
		if (n > NFT_FILE_MAX) {
			free(text);
			return fail(r, "--nft %s: over %d bytes", r->options->nft_file, NFT_FILE_MAX);
		}
		rc = netns_nft_load(r->judge, text, err, sizeof(err));
		free(text);
		if (rc < 0)
			return fail(r, "--nft %s: %s", r->options->nft_file, err);
	}
	return 0;
}

/* A name the judge's interface can have: not "any" (tcpdump's), nor ctlab's own. */
static bool usable_ifname(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len >= REPLAY_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strcmp(name, "any") == 0 || strcmp(name, "lo") == 0 || strcmp(name, JUDGE_OUT_IF) == 0)
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || *c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/*
 * A veth from the judge's @judge_if to @peer_if in @peer, up, as big as a
 * capture's packets, without ARP on the judge's end (what it forwards there
 * needs no neighbour). 0 or -errno.
 */
static int judge_link(struct replay *r, const char *judge_if, struct netns *peer, const char *peer_if)
{
	int rc = netns_veth_add(r->judge, judge_if, peer, peer_if);

	if (rc == 0)
		rc = netns_link_noarp(r->judge, judge_if);
	if (rc == 0)
		rc = netns_link_set_mtu(r->judge, judge_if, REPLAY_MTU);
	if (rc == 0)
		rc = netns_link_set_mtu(peer, peer_if, REPLAY_MTU);
	if (rc == 0)
		rc = netns_link_up(r->judge, judge_if);
	if (rc == 0)
		rc = netns_link_up(peer, peer_if);
	return rc;
}

/*
 * The side named @name (made the first time: a veth from the feeder into the
 * judge's interface of that name, and a sender on it): its index, or -1 with
 * the error set when it cannot be made (-2: REPLAY_SIDES_MAX already).
 */
static int side_named(struct replay *r, const char *name)
{
	struct replay_result *result = r->result;
	char feed_if[REPLAY_IFNAME_MAX];
	size_t i = result->n_sides;
	int rc;

	for (size_t k = 0; k < result->n_sides; k++)
		if (strcmp(result->sides[k].name, name) == 0)
			return (int)k;
	if (i == REPLAY_SIDES_MAX)
		return -2;
	snprintf(feed_if, sizeof(feed_if), "f%zu", i);
	/* Packets routed out by a side go back to the feeder, which drops them. */
	rc = judge_link(r, name, r->feed, feed_if);
	if (rc == 0)
		rc = frame_sender_open(r->feed, feed_if, r->judge, name, &r->senders[i]);
	if (rc < 0)
		return fail(r, "the judge's interface %s: %s", name, strerror(-rc));
	if (r->steer_cpu >= 0)
		netns_link_steer_rx(r->judge, name, r->steer_cpu);
	snprintf(result->sides[i].name, sizeof(result->sides[i].name), "%s", name);
	result->n_sides++;
	return (int)i;
}

/* "aa:bb:cc:dd:ee:ff" */
static bool parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return true;
}

/* "ADDRESS[/BITS]" into @spec, its host bits cleared; the route's text in @cidr. */
static bool parse_prefix(const char *text, struct side_spec *spec, char *cidr, size_t size)
{
	char address[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;

	if (len >= sizeof(address))
		return false;
	memcpy(address, text, len);
	address[len] = '\0';
	if (inet_pton(AF_INET, address, &spec->prefix.v4) == 1)
		spec->family = AF_INET;
	else if (inet_pton(AF_INET6, address, &spec->prefix.v6) == 1)
		spec->family = AF_INET6;
	else
		return false;
	bits = spec->family == AF_INET ? 32 : 128;
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits > (spec->family == AF_INET ? 32u : 128u))
			return false;
	}
	spec->bits = (unsigned int)bits;
	for (unsigned int bit = spec->bits; bit < (spec->family == AF_INET ? 32u : 128u); bit++)
		spec->prefix.v6.s6_addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	inet_ntop(spec->family, &spec->prefix, address, sizeof(address));
	snprintf(cidr, size, "%s/%u", address, spec->bits);
	return true;
}

static bool in_side_prefix(const struct side_spec *spec, const struct packet_summary *p)
{
	const uint8_t *a = p->src.v6.s6_addr, *b = spec->prefix.v6.s6_addr;
	unsigned int full = spec->bits / 8, rest = spec->bits % 8;

	if (spec->is_mac || spec->family != p->family)
		return false;
	if (memcmp(a, b, full) != 0)
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* --side IFNAME=SPEC[,SPEC…]: each side made, its prefixes routed out by it. */
static int parse_sides(struct replay *r)
{
	for (size_t i = 0; i < r->options->n_sides; i++) {
		const char *text = r->options->sides[i], *eq = strchr(text, '=');
		char name[REPLAY_IFNAME_MAX], specs[512], cidr[INET6_ADDRSTRLEN + 8], *spec, *save;
		int side;

		if (!eq || (size_t)(eq - text) >= sizeof(name) || strlen(eq + 1) >= sizeof(specs))
			return fail(r, "--side %s: expected IFNAME=SPEC[,SPEC...], IFNAME at most 15 "
				    "characters, SPEC a MAC or an address prefix", text);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - text), text);
		if (!usable_ifname(name))
			return fail(r, "--side %s: '%s' cannot be an interface's name", text, name);
		side = side_named(r, name);
		if (side < 0)
			return side == -2 ? fail(r, "--side %s: at most %d sides", text, REPLAY_SIDES_MAX) : -1;
		snprintf(specs, sizeof(specs), "%s", eq + 1);
		for (spec = strtok_r(specs, ",", &save); spec; spec = strtok_r(NULL, ",", &save)) {
			struct side_spec *s = &r->specs[r->n_specs];
			int rc;

			if (r->n_specs == SIDE_SPECS_MAX)
				return fail(r, "--side: at most %d MACs and prefixes in all", SIDE_SPECS_MAX);
			*s = (struct side_spec){ .side = (size_t)side };
			if (parse_mac(spec, s->mac)) {
				s->is_mac = r->have_macs = true;
			} else if (parse_prefix(spec, s, cidr, sizeof(cidr))) {
				rc = netns_route_dev_add(r->judge, cidr, s->family, name, NULL);
				if (rc < 0 && rc != -EEXIST)
					return fail(r, "--side %s: the route to %s: %s", text, cidr, strerror(-rc));
			} else {
				return fail(r, "--side %s: expected a MAC (aa:bb:cc:dd:ee:ff) or an address "
					    "prefix (198.18.1.0/24, 2001:db8:1::/64), found '%s'", text, spec);
			}
			r->n_specs++;
		}
	}
	return 0;
}

/* Which of the judge's interfaces @frame comes in by; -1 when one cannot be made. */
static int side_for(struct replay *r, const struct cap_frame *frame, const struct packet_summary *p,
		    enum replay_side_by *by)
{
	uint8_t mac[6];
	bool have_mac = r->have_macs && cap_frame_src_mac(frame, mac);
	int side;

	for (size_t i = 0; i < r->n_specs; i++) {
		const struct side_spec *spec = &r->specs[i];

		if (spec->is_mac ? have_mac && memcmp(spec->mac, mac, 6) == 0 : in_side_prefix(spec, p)) {
			*by = spec->is_mac ? SIDE_BY_MAC : SIDE_BY_ADDRESS;
			return (int)spec->side;
		}
	}
	if (frame->ifname && *frame->ifname) {
		/* ctlab's own captures name an interface "HOST/IFNAME" */
		const char *name = strrchr(frame->ifname, '/') ? strrchr(frame->ifname, '/') + 1 :
				   frame->ifname;

		side = usable_ifname(name) ? side_named(r, name) : -2;
		if (side >= 0) {
			*by = SIDE_BY_CAPTURE;
			return side;
		}
		if (side == -1)
			return -1;
		r->result->names_unusable++;
	}
	*by = SIDE_BY_DEFAULT;
	side = side_named(r, DEFAULT_SIDE);
	return side >= 0 ? side : side == -2 ? (int)r->last_side : -1;
}

/* Settings of a sysctl -a that are not the namespace's to take from it: the
 * table's size and count are the machine's (--ct-max), the logging is the
 * observer's. */
static bool setting_not_copied(const char *key)
{
	static const char *const global[] = {
		"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets",
		"net.netfilter.nf_conntrack_count", "net.netfilter.nf_conntrack_log_invalid",
	};

	for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++)
		if (strcmp(key, global[i]) == 0)
			return true;
	return false;
}

static void note_skipped(struct replay_result *result, const char *key)
{
	size_t len = strlen(result->file_skipped_keys);

	result->file_skipped++;
	if (len + strlen(key) + 3 < sizeof(result->file_skipped_keys))
		snprintf(result->file_skipped_keys + len, sizeof(result->file_skipped_keys) - len,
			 "%s%s", len ? ", " : "", key + strlen("net.netfilter."));
}

/*
 * --sysctl-file: each "net.netfilter.nf_conntrack_KEY = VALUE" line of a
 * saved sysctl -a, written in the judge; one this kernel has not, or keeps
 * read-only in a namespace, is left and named. Other lines are passed over.
 */
static int apply_sysctl_file(struct replay *r)
{
	struct replay_result *result = r->result;
	FILE *file;
	char line[1024];
	int rc;

	if (!r->options->sysctl_file)
		return 0;
	errno = 0;
	file = fopen(r->options->sysctl_file, "re");
	if (!file)
		return fail(r, "--sysctl-file %s: %s", r->options->sysctl_file, strerror(errno));
	while (fgets(line, sizeof(line), file)) {
		char key[128], value[256];

		if (sscanf(line, " %127[^= \t] = %255[^\n]", key, value) != 2 ||
		    strncmp(key, "net.netfilter.nf_conntrack_", 27) != 0)
			continue;
		/* sysctl -a's value ends at the line; a tab-separated one stays whole */
		for (size_t n = strlen(value); n && (value[n - 1] == ' ' || value[n - 1] == '\r'); n--)
			value[n - 1] = '\0';
		if (setting_not_copied(key)) {
			note_skipped(result, key);
			continue;
		}
		rc = netns_sysctl_write(r->judge, key, value);
		if (rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -EINVAL) {
			note_skipped(result, key);
			continue;
		}
		if (rc < 0) {
			fclose(file);
			return fail(r, "--sysctl-file %s: %s: %s", r->options->sysctl_file, key,
				    strerror(-rc));
		}
		result->file_applied++;
	}
	if (ferror(file)) {
		int err = errno ? errno : EIO;	/* a folder: EISDIR */

		fclose(file);
		return fail(r, "--sysctl-file %s: %s", r->options->sysctl_file, strerror(err));
	}
	fclose(file);
	return 0;
}

static int build(struct replay *r)
{
	char err[512];
	size_t i;
	int rc;

	r->feed = netns_new("replay-feed");
	r->judge = netns_new("replay-judge");
	r->sink = netns_new("replay-sink");
	if (!r->feed || !r->judge || !r->sink)
		return fail(r, "a namespace: %s%s", strerror(errno),
			    errno == EPERM ? " (ctlab replay needs root)" : "");
	for (i = 0; i < sizeof(judge_sysctls) / sizeof(judge_sysctls[0]); i++) {
		rc = netns_sysctl_write(r->judge, judge_sysctls[i][0], judge_sysctls[i][1]);
		if (rc < 0)
			return fail(r, "%s in the judge: %s", judge_sysctls[i][0], strerror(-rc));
	}
	/* The feeder says nothing of its own on IPv6 (router solicitations, MLD). */
	netns_sysctl_write(r->feed, "net.ipv6.conf.default.disable_ipv6", "1");
	netns_sysctl_write(r->sink, "net.ipv6.conf.default.disable_ipv6", "1");
	rc = judge_link(r, JUDGE_OUT_IF, r->sink, SINK_IF);
	if (rc == 0)
		rc = netns_route_dev_add(r->judge, "default", AF_INET, JUDGE_OUT_IF, SINK_GATEWAY4);
	if (rc == 0)
		rc = netns_route_dev_add(r->judge, "default", AF_INET6, JUDGE_OUT_IF, SINK_GATEWAY6);
	if (rc < 0)
		return fail(r, "the replay's links and routes: %s", strerror(-rc));
	if (netns_nft_load(r->judge, judge_ruleset, err, sizeof(err)) < 0)
		return fail(r, "the judge's ruleset: %s", err);
	netns_nft_load(r->judge, judge_egress, err, sizeof(err));
	if (apply_sysctl_file(r) < 0)
		return -1;
	for (i = 0; i < r->options->n_sysctls; i++) {
		char key[256];
		const char *setting = r->options->sysctls[i], *eq = strchr(setting, '=');

		if (!eq || (size_t)(eq - setting) >= sizeof(key))
			return fail(r, "--sysctl %s: expected KEY=VALUE", setting);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - setting), setting);
		rc = netns_sysctl_write(r->judge, key, eq + 1);
		if (rc < 0)
			return fail(r, "--sysctl %s: %s", setting, strerror(-rc));
	}
	if (load_nat(r) < 0)
		return -1;
	r->observer = observer_new(r->judge, OBSERVE_REASONS | OBSERVE_ENTRIES, err, sizeof(err));
	if (!r->observer)
		return fail(r, "conntrack's logging in the judge: %s", err);
	/* Each packet with its entry; under NAT a flow is two tuples in the
	 * capture, so an INVALID packet's (it has none) is read, not carried on. */
	r->result->entries = observer_has_entries(r->observer) && !r->options->n_nat &&
			     !r->options->nft_file;
	return parse_sides(r);
}

static bool in_prefix(const struct packet_summary *p, const union inet_addr *addr)
{
	static const uint8_t flood6[6] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x03 };
	uint32_t v4 = ntohl(addr->v4.s_addr);

	return p->family == AF_INET ? (v4 & 0xffff8000u) == 0xc6128000u	/* 198.18.128.0/17 */
				    : memcmp(addr->v6.s6_addr, flood6, sizeof(flood6)) == 0;
}

/* What the observer leaves unlogged: neighbour discovery, MLD, ctlab's flood ranges. */
static bool unlogged(const struct packet_summary *p)
{
	if (p->protocol == IPPROTO_ICMPV6 &&
	    ((p->icmp_type >= 133 && p->icmp_type <= 136) || p->icmp_type == 130 ||
	     p->icmp_type == 131 || p->icmp_type == 143))
		return true;
	return in_prefix(p, &p->src) || in_prefix(p, &p->dst);
}

/* A forwarded copy: the same packet, its TTL one hop lower at least. */
static bool copy_of(const struct packet_summary *arrived, const struct packet_summary *sent)
{
	return packet_copy_of(arrived, sent) && sent->ttl < arrived->ttl;
}

/* A packet going out that came in a moment ago: the host forwarded it. */
static bool forwarded_copy(struct replay *r, const struct packet_summary *p, enum cap_direction dir)
{
	if (dir != CAP_OUT)
		return false;
	for (size_t i = 0; i < r->n_recent && i < COPIES_WINDOW; i++)
		if (copy_of(&r->recent[i], p))
			return true;
	return false;
}

static void note_arrival(struct replay *r, const struct packet_summary *p)
{
	r->recent[r->n_recent++ % COPIES_WINDOW] = *p;
}

static struct in_flight *flight_at(struct replay *r, size_t i)
{
	return &r->flight[(r->first_flight + i) % (SEND_WINDOW + 1)];
}

/* Whether a packet of @p's flow is in flight from the @from-th on. */
static bool flow_in_flight(struct replay *r, size_t from, const struct packet_summary *p)
{
	for (size_t i = from; i < r->n_flight; i++)
		if (!flight_at(r, i)->marker && packet_same_flow(&flight_at(r, i)->packet, p))
			return true;
	return false;
}

/* An INVALID TCP packet (whose record has no entry) and a RST: their entry's
 * state is part of the story. */
static bool wants_entry(const struct observed *seen)
{
	return seen->packet.protocol == IPPROTO_TCP &&
	       (seen->verdict == VERDICT_INVALID || (seen->packet.flags & TCP_FLAG_RST));
}

/*
 * The entry of @seen's flow, read now through ctnetlink: what it is after
 * @seen, unless a later packet of the flow is already in flight (then it
 * stays unknown). Found by the packet's own tuple, either direction's, as it
 * arrived (before any NAT).
 */
static void read_entry(struct replay *r, struct observed *seen)
{
	const struct packet_summary *p = &seen->packet;
	struct ct_tuple tuple = { .family = p->family, .protocol = p->protocol, .src = p->src,
				  .dst = p->dst, .sport = p->sport, .dport = p->dport };
	struct ct_entry entry;

	if (!r->options->entries && r->entries_read == ENTRY_READS_MAX)
		return;
	r->entries_read++;
	if (flow_in_flight(r, 1, p))
		return;
	if (observer_ct_lookup(r->observer, &tuple, &entry) < 0)
		return;
	seen->entry_state = entry.found ? entry.state : OBSERVED_NO_ENTRY;
}

/* A packet done: to the caller, with its record (NULL: none came). */
static int hand_on(struct replay *r, const struct in_flight *sent, const struct observed *seen)
{
	struct replay_packet packet = {
		.frame = sent->frame, .ts_ns = sent->ts_ns, .judged = seen != NULL,
		.packet = sent->packet, .verdict = seen ? seen->verdict : VERDICT_UNSEEN,
		.index = seen && seen->index >= r->markers_landed ? seen->index - r->markers_landed : 0,
		.side = r->result->sides[sent->side].name,
	};
	struct observed detail;

	if (seen) {
		/* As replayed, and numbered without the markers. */
		detail = *seen;
		detail.packet = sent->packet;
		detail.index = packet.index;
		packet.detail = &detail;
		if (detail.entry_state == -1 && wants_entry(&detail))
			read_entry(r, &detail);
	}
	r->result->n_packets++;
	if (r->options->each && r->options->each(&packet, r->options->each_arg) != 0)
		return fail(r, "frame %zu: %s", sent->frame, strerror(ENOMEM));
	return 0;
}

/* The oldest packet in flight is done: kept with its record (NULL: none came,
 * but conntrack may have logged why before it was dropped). */
static int land(struct replay *r, const struct observed *seen)
{
	struct in_flight *sent = flight_at(r, 0);
	struct observed reasons;
	int rc = 0;

	if (!sent->marker) {
		if (!seen && observer_reasons_only(r->observer, &sent->packet, &reasons))
			seen = &reasons;
		if (!seen)
			r->result->unjudged++;
		rc = hand_on(r, sent, seen);
	} else if (seen) {
		r->markers_landed++;
	}
	r->first_flight = (r->first_flight + 1) % (SEND_WINDOW + 1);
	r->n_flight--;
	return rc;
}

/*
 * Match the records read so far to the packets in flight. They come in the
 * order the packets were sent (one sending thread on one CPU: one backlog,
 * judged in turn), so a record for a later packet lands every packet before
 * it without one. A record that matches no packet in flight is counted: a
 * verdict out of order, or the judge's own packet.
 */
static int match_records(struct replay *r)
{
	const struct observed *seen;
	size_t i;

	for (; r->next_record < observer_count(r->observer); r->next_record++) {
		seen = observer_at(r->observer, r->next_record);
		if (!seen || seen->output)
			continue;
		for (i = 0; i < r->n_flight; i++)
			if (packet_same(&flight_at(r, i)->packet, &seen->packet))
				break;
		if (i == r->n_flight) {
			r->result->out_of_order++;
			continue;
		}
		while (i-- > 0)
			if (land(r, NULL) < 0)
				return -1;
		if (land(r, seen) < 0)
			return -1;
	}
	observer_forget(r->observer, r->next_record);
	return 0;
}

static int send_marker(struct replay *r)
{
	uint8_t marker[32] = { 0x45, 0, 0, sizeof(marker), 0, 0, 0x40, 0, 64, MARKER_PROTOCOL };
	uint64_t magic = htobe64(strtoull(MARKER_MAGIC, NULL, 16));
	struct in_flight *sent;
	uint16_t sum;
	int rc;

	r->markers++;
	marker[4] = (uint8_t)(r->markers >> 8);
	marker[5] = (uint8_t)r->markers;
	inet_pton(AF_INET, MARKER_SRC, marker + 12);
	inet_pton(AF_INET, MARKER_DST, marker + 16);
	sum = inet_checksum(marker, 20, 0);
	marker[10] = (uint8_t)(sum >> 8);
	marker[11] = (uint8_t)sum;
	memcpy(marker + 20, &magic, sizeof(magic));
	sent = flight_at(r, r->n_flight);
	*sent = (struct in_flight){ .marker = true };
	if (packet_parse(marker, sizeof(marker), &sent->packet) < 0)
		return fail(r, "the marker does not parse");
	rc = frame_sender_send(r->senders[r->last_side], marker, sizeof(marker));
	if (rc < 0)
		return fail(r, "sending the marker: %s", strerror(-rc));
	r->n_flight++;
	return 0;
}

/*
 * Read verdicts until at most @keep packets are in flight: a marker goes
 * behind them first, so that the wait ends when the judge is through them
 * even if the last ones are dropped. A wait of the timeout with nothing read
 * lands them all without a verdict.
 */
static int drain(struct replay *r, size_t keep)
{
	struct timespec since;
	long left;
	int rc;

	if (match_records(r) < 0)
		return -1;
	if (r->n_flight > keep && !flight_at(r, r->n_flight - 1)->marker && send_marker(r) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &since);
	while (r->n_flight > keep) {
		/* A poll that read only reasons added no verdict: the wait goes on,
		 * from the last verdict read. */
		left = r->options->timeout_ms - ms_since(&since);
		if (left <= 0) {
			while (r->n_flight > 0)
				if (land(r, NULL) < 0)
					return -1;
			break;
		}
		rc = observer_poll(r->observer, (int)left);
		if (rc < 0)
			return fail(r, "reading conntrack's verdicts: %s", strerror(-rc));
		if (rc > 0)
			clock_gettime(CLOCK_MONOTONIC, &since);
		if (match_records(r) < 0)
			return -1;
	}
	return 0;
}

/*
 * --paced: waits until as long after the first frame's sending as the
 * capture says this frame came after it (the capture's own clock, not a
 * wait for the kernel); a frame stamped earlier goes at once.
 */
static void pace(struct replay *r, uint64_t ts_ns)
{
	struct timespec at;
	uint64_t after;

	if (!r->paced_from) {
		r->paced_from = true;
		r->first_ts_ns = ts_ns;
		clock_gettime(CLOCK_MONOTONIC, &r->started);
		return;
	}
	if (ts_ns <= r->first_ts_ns)
		return;
	after = ts_ns - r->first_ts_ns;
	at.tv_sec = r->started.tv_sec + (time_t)(after / 1000000000u);
	at.tv_nsec = r->started.tv_nsec + (long)(after % 1000000000u);
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
}

/* One frame: sent to be judged, or counted as left out. */
static int replay_frame(struct replay *r, const struct cap_frame *frame)
{
	struct replay_result *result = r->result;
	struct in_flight *sent;
	enum cap_direction dir;
	enum replay_side_by by;
	struct packet_summary p;
	const uint8_t *ip;
	size_t len;
	int rc, side;

	if (cap_frame_ip(frame, &ip, &len, &dir) < 0) {
		result->not_ip++;
		return 0;
	}
	if (cap_frame_truncated(frame)) {
		result->truncated++;
		return 0;
	}
	if (packet_parse(ip, len, &p) < 0 || p.truncated || !p.ip_checksum_ok || p.ip_len > len) {
		result->broken++;
		return 0;
	}
	if (!r->options->all_copies && forwarded_copy(r, &p, dir)) {
		result->copies++;
		return 0;
	}
	if (dir != CAP_OUT)
		note_arrival(r, &p);
	/* Sent as far as its IP length: the capture's padding stays behind. */
	if (p.ip_len < len)
		len = p.ip_len;
	memcpy(r->packet, ip, len);
	if (!r->options->keep_checksums && packet_fix_checksum(r->packet, len) > 0)
		result->checksums_fixed++;
	/* Room for this packet and a marker behind the window. */
	if (r->n_flight >= SEND_WINDOW && drain(r, SEND_WINDOW / 2) < 0)
		return -1;
	/* --entries on a kernel whose records carry none: a packet of a flow
	 * with one in flight waits for it, so its entry is read before this
	 * one can change it. */
	if (r->options->entries && !result->entries && p.protocol == IPPROTO_TCP &&
	    flow_in_flight(r, 0, &p) && drain(r, 0) < 0)
		return -1;
	side = side_for(r, frame, &p, &by);
	if (side < 0)
		return -1;
	if (r->options->paced)
		pace(r, frame->ts_ns);
	rc = frame_sender_send(r->senders[side], r->packet, len);
	if (rc < 0)
		return fail(r, "frame %zu: sending it: %s", result->frames, strerror(-rc));
	r->last_side = (size_t)side;
	result->sides[side].packets[by]++;
	if (unlogged(&p)) {
		result->unlogged++;
		return 0;
	}
	sent = flight_at(r, r->n_flight++);
	*sent = (struct in_flight){ .frame = result->frames, .ts_ns = frame->ts_ns, .side = (size_t)side,
				    .packet = p };
	/* What is there already costs no wait. */
	return match_records(r);
}

/*
 * The sending thread stays on one CPU, and the judge takes its packets on
 * another when there is one (each sendto then costs the sender only the
 * frame, the judge's work runs beside it): one backlog either way, so the
 * packets are judged, and their verdicts logged, in the order sent.
 */
static void pin_to_cpu(struct replay *r)
{
	cpu_set_t one;
	int cpu = sched_getcpu(), other;

	if (cpu < 0 || sched_getaffinity(0, sizeof(r->old_cpus), &r->old_cpus) < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	r->pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
	if (!r->pinned)
		return;
	for (other = 0; other < CPU_SETSIZE; other++)
		if (other != cpu && CPU_ISSET(other, &r->old_cpus))
			break;
	if (other == CPU_SETSIZE)
		return;
	r->steer_cpu = other;
	for (size_t i = 0; i < r->result->n_sides; i++)
		netns_link_steer_rx(r->judge, r->result->sides[i].name, other);
}

static void unpin(struct replay *r)
{
	if (r->pinned)
		sched_setaffinity(0, sizeof(r->old_cpus), &r->old_cpus);
}

/* The judge's counts of a full table: packets dropped, entries evicted for room. */
struct table_counts {
	uint64_t drop, early_drop;
};

static struct table_counts table_counts(struct replay *r)
{
	struct table_counts counts = { 0, 0 };
	struct ct_stats stats;

	if (observer_stats(r->observer, &stats) == 0) {
		ct_stats_get(&stats, "drop", &counts.drop);
		ct_stats_get(&stats, "early_drop", &counts.early_drop);
	}
	return counts;
}

static void count_table_full(struct replay *r, const struct table_counts *before)
{
	struct table_counts after = table_counts(r);
	char max[32];

	r->result->table_full = after.drop - before->drop;
	r->result->evicted = after.early_drop - before->early_drop;
	if (netns_sysctl_read(r->judge, "net.netfilter.nf_conntrack_max", max, sizeof(max)) > 0)
		r->result->ct_max = strtoull(max, NULL, 10);
}

int replay_run(const struct replay_options *options, struct replay_result *result)
{
	/* On the heap: it holds the largest packet a capture may have. */
	struct replay *r = calloc(1, sizeof(*r));
	struct capfile *capfile = NULL;
	struct cap_frame frame;
	struct table_counts before;
	char err[300];
	FILE *file;
	int rc = -1;

	*result = (struct replay_result){ .frames = 0 };
	if (!r) {
		snprintf(result->error, sizeof(result->error), "out of memory");
		return -1;
	}
	r->options = options;
	r->result = result;
	r->steer_cpu = -1;
	file = fopen(options->capture, "re");
	if (!file) {
		fail(r, "%s: %s", options->capture, strerror(errno));
		goto out_free_replay;
	}
	capfile = capfile_open(file, err, sizeof(err));
	if (!capfile) {
		fail(r, "%s: %s", options->capture, err);
		goto out_close_file;
	}
	if (build(r) < 0)
		goto out_free;
	pin_to_cpu(r);
	before = table_counts(r);
	for (;;) {
		int got = capfile_next(capfile, &frame);

		if (got == 0)
			break;
		if (got < 0) {
			fail(r, "%s: %s", options->capture, capfile_error(capfile));
			goto out_free;
		}
		result->frames++;
		/* The table emptied once every packet before is judged. */
		while (result->flushed < options->n_flushes &&
		       options->flush_before[result->flushed] <= result->frames) {
			int err_flush;

			if (drain(r, 0) < 0)
				goto out_free;
			err_flush = observer_ct_flush(r->observer);
			if (err_flush < 0) {
				fail(r, "deleting every entry before frame %zu: %s", result->frames,
				     strerror(-err_flush));
				goto out_free;
			}
			result->flushed++;
		}
		if (replay_frame(r, &frame) < 0)
			goto out_free;
	}
	rc = drain(r, 0);
	if (rc == 0)
		count_table_full(r, &before);
out_free:
	unpin(r);
	for (size_t i = 0; i < result->n_sides; i++)
		frame_sender_close(r->senders[i]);
	observer_free(r->observer);
	netns_free(r->feed);
	netns_free(r->judge);
	netns_free(r->sink);
	capfile_close(capfile);
out_close_file:
	fclose(file);
out_free_replay:
	free(r);
	return rc;
}
