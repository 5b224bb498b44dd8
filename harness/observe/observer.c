#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <pcap/pcap.h>

#include "nflog.h"
#include "observe/observe.h"
#include "base/base.h"

#define NFLOG_GROUP_REASON	0	/* conntrack's own invalid-packet log */
#define NFLOG_GROUP_VERDICT	1	/* the ctlab table's per-packet ct state */
#define PENDING_REASONS_MAX	64

extern char **environ;

/*
 * Neighbour discovery and MLD are left out: conntrack never tracks them and
 * they would only crowd the ladder.  So is the flood (its source ranges): a
 * quarter of a million records would cost more than the flood itself.
 * Priority -150 runs right after conntrack (-200) and before NAT (-100), so the
 * logged packet is byte for byte the one conntrack judged.  queue-threshold 1
 * makes nfnetlink_log hand each record on at once instead of batching for 1 s.
 */
#define VERDICT_RULES(dir) \
	"ip saddr 198.18.128.0/17 return\n" \
	"ip daddr 198.18.128.0/17 return\n" \
	"ip6 saddr 2001:db8:3::/48 return\n" \
	"ip6 daddr 2001:db8:3::/48 return\n" \
	"icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, " \
	"nd-neighbor-advert, mld-listener-query, mld-listener-report, mld2-listener-report } return\n" \
	"ct state new log group 1 prefix \"ctlab " dir " new\" queue-threshold 1\n" \
	"ct state established log group 1 prefix \"ctlab " dir " established\" queue-threshold 1\n" \
	"ct state related log group 1 prefix \"ctlab " dir " related\" queue-threshold 1\n" \
	"ct state invalid log group 1 prefix \"ctlab " dir " invalid\" queue-threshold 1\n" \
	"ct state untracked log group 1 prefix \"ctlab " dir " untracked\" queue-threshold 1\n"

/* Flood packets counted as they come to the hooks, before conntrack (-200):
 * every one counted here is judged by conntrack right after. */
#define FLOOD_SEEN_COUNTER	"ctlab_flood_seen"
#define FLOOD_SEEN_RULES \
	"ip saddr 198.18.128.0/17 counter name " FLOOD_SEEN_COUNTER "\n" \
	"ip6 saddr 2001:db8:3::/48 counter name " FLOOD_SEEN_COUNTER "\n"

static const char observer_ruleset[] =
	"table inet ctlab {\n"
	"counter " FLOOD_SEEN_COUNTER " { }\n"
	"chain flood_in {\n"
	"type filter hook prerouting priority -300; policy accept;\n"
	FLOOD_SEEN_RULES
	"}\n"
	"chain flood_out {\n"
	"type filter hook output priority -300; policy accept;\n"
	FLOOD_SEEN_RULES
	"}\n"
	"chain prerouting {\n"
	"type filter hook prerouting priority -150; policy accept;\n"
	VERDICT_RULES("in")
	"}\n"
	"chain output {\n"
	"type filter hook output priority -150; policy accept;\n"
	VERDICT_RULES("out")
	"}\n"
	"}\n";

/* Per-namespace switches that route conntrack's reasons to NFLOG group 0,
 * and the module each needs: with netfilter built as modules the sysctl
 * exists, or takes the logger's name, only once that module is loaded. */
static const char *const observer_sysctls[][3] = {
	{ "net.netfilter.nf_conntrack_log_invalid", "255", "nf_conntrack" },
	{ "net.netfilter.nf_log.2", "nfnetlink_log", "nfnetlink_log" },
	{ "net.netfilter.nf_log.10", "nfnetlink_log", "nfnetlink_log" },
};

/*
 * Loads @module through the kernel's own module helper
 * (/proc/sys/kernel/modprobe, what request_module runs), when there is one.
 * Returns its exit status or -errno.
 */
static int load_module(const char *module)
{
	char helper[PATH_MAX] = "";
	char *argv[] = { helper, "-q", "--", (char *)module, NULL };
	FILE *file = fopen("/proc/sys/kernel/modprobe", "re");
	int status, err;
	pid_t pid;

	if (file) {
		if (!fgets(helper, sizeof(helper), file))
			helper[0] = '\0';
		fclose(file);
	}
	helper[strcspn(helper, "\n")] = '\0';
	if (!helper[0] || access(helper, X_OK) < 0)
		return -ENOENT;
	err = posix_spawn(&pid, helper, NULL, NULL, argv, environ);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Writes one of the observer's sysctls, loading its module once if the
 * kernel lacks the sysctl or the logger. */
static int write_observer_sysctl(struct netns *ns, const char *const sysctl[3], char *err,
				 size_t errsize)
{
	int rc = netns_sysctl_write(ns, sysctl[0], sysctl[1]);

	if (rc == -ENOENT && load_module(sysctl[2]) == 0)
		rc = netns_sysctl_write(ns, sysctl[0], sysctl[1]);
	if (rc == -ENOENT)
		snprintf(err, errsize, "sysctl %s=%s: %s (load the module %s: modprobe %s)", sysctl[0],
			 sysctl[1], strerror(-rc), sysctl[2], sysctl[2]);
	else if (rc < 0)
		snprintf(err, errsize, "sysctl %s=%s: %s", sysctl[0], sysctl[1], strerror(-rc));
	return rc;
}

struct pending_reason {
	struct packet_summary packet;
	char reason[OBSERVER_REASON_MAX];
	struct timespec when;
};

struct observer {
	struct netns *ns;
	pcap_t *pcap;
	int pcap_fd;
	struct nfct_handle *ct;
	struct observed *packets;	/* records first..n_packets-1 (observer_forget) */
	size_t first, n_packets, cap_packets;
	struct pending_reason pending[PENDING_REASONS_MAX];
	size_t n_pending;
	bool entries;			/* group 1's records carry their entry (OBSERVE_ENTRIES) */
};

/*
 * libpcap configures NFLOG with a netlink sequence number kept in one static
 * variable for every handle, so two threads activating nflog at once can each
 * miss their acknowledgement and wait for ever: activations go one at a time.
 */
static pthread_mutex_t nflog_activate_lock = PTHREAD_MUTEX_INITIALIZER;

struct open_in_ns {
	struct observer *observer;
	unsigned flags;			/* enum observe_flags */
	char *err;
	size_t errsize;
};

/*
 * Asks that group 1's records carry each packet's conntrack entry
 * (NFULNL_CFG_F_CONNTRACK). Only the socket bound to the group may configure
 * it, so this goes through libpcap's own socket, and its answer is read here,
 * before libpcap reads anything (what else comes meanwhile is the setup's own
 * traffic, left out). 0, or -errno (EOPNOTSUPP: a kernel without ctnetlink's
 * NFLOG glue).
 */
static int ask_entries(int fd)
{
	char buf[8192] = { 0 };	/* the attribute's padding goes out too */
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh = netns_nfnl_put(buf, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG,
					      NLM_F_ACK, AF_UNSPEC, NFLOG_GROUP_VERDICT, seq);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_CONNTRACK));
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	/* Bounded: the kernel answers at once, or not at all. */
	while (poll(&pfd, 1, 2000) == 1) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			const struct nlmsgerr *ack = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq &&
			    nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*ack)))
				return ack->error;
		}
	}
	return -ETIMEDOUT;
}

/* Runs inside the namespace: the NFLOG and ctnetlink sockets are made there. */
static int open_sockets(void *arg)
{
	struct open_in_ns *open = arg;
	struct observer *observer = open->observer;
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	int rc;

	observer->pcap = pcap_create(open->flags & OBSERVE_REASONS ? "nflog:0,1" : "nflog:1",
				     pcap_err);
	if (!observer->pcap)
		goto out_pcap_err;
	if (pcap_set_snaplen(observer->pcap, 65535) || pcap_set_immediate_mode(observer->pcap, 1) ||
	    pcap_set_buffer_size(observer->pcap, 4 << 20))
		goto out_pcap_geterr;
	pthread_mutex_lock(&nflog_activate_lock);
	rc = pcap_activate(observer->pcap);
	pthread_mutex_unlock(&nflog_activate_lock);
	if (rc < 0)
		goto out_pcap_geterr;
	observer->pcap_fd = pcap_get_selectable_fd(observer->pcap);
	/* The 4 MB asked for even over net.core.rmem_max (212992 by default):
	 * a replay reads its verdicts a window of packets at a time. */
	setsockopt(observer->pcap_fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 4 << 20 }, sizeof(int));
	/* Without the kernel's glue the entries are just not there (-1). */
	if (open->flags & OBSERVE_ENTRIES)
		observer->entries = ask_entries(observer->pcap_fd) == 0;

	observer->ct = nfct_open(CONNTRACK, 0);
	if (!observer->ct) {
		snprintf(open->err, open->errsize, "ctnetlink: %s", strerror(errno));
		return -1;
	}
	return 0;

out_pcap_geterr:
	snprintf(pcap_err, sizeof(pcap_err), "%s", pcap_geterr(observer->pcap));
out_pcap_err:
	snprintf(open->err, open->errsize, "libpcap nflog: %s", pcap_err);
	return -1;
}

struct observer *observer_new(struct netns *ns, unsigned flags, char *err, size_t errsize)
{
	struct observer *observer;
	struct open_in_ns open;
	char nft_err[1024] = "";
	size_t i;
	int rc;

	observer = calloc(1, sizeof(*observer));
	if (!observer) {
		snprintf(err, errsize, "%s", strerror(errno));
		return NULL;
	}
	observer->ns = ns;
	observer->pcap_fd = -1;

	/*
	 * The table first: making it has the kernel load nf_tables, nft_ct
	 * (and with it nf_conntrack) and nft_log, whose NFLOG group asks for
	 * nfnetlink_log, on a kernel that has them as modules.  The sysctls
	 * below exist only then.
	 */
	if (netns_nft_load(ns, observer_ruleset, nft_err, sizeof(nft_err)) < 0) {
		snprintf(err, errsize, "nft table ctlab: %s (needs nf_tables, nft_ct and nft_log: "
			 "modprobe them)", nft_err);
		goto out_free;
	}
	for (i = 0; (flags & OBSERVE_REASONS) && i < sizeof(observer_sysctls) / sizeof(observer_sysctls[0]);
	     i++) {
		rc = write_observer_sysctl(ns, observer_sysctls[i], err, errsize);
		if (rc < 0)
			goto out_free;
	}
	open = (struct open_in_ns){ .observer = observer, .flags = flags, .err = err,
				    .errsize = errsize };
	if (netns_run(ns, open_sockets, &open) != 0)
		goto out_free;
	return observer;

out_free:
	observer_free(observer);
	return NULL;
}

void observer_free(struct observer *observer)
{
	if (!observer)
		return;
	if (observer->ct)
		nfct_close(observer->ct);
	if (observer->pcap)
		pcap_close(observer->pcap);
	free(observer->packets);
	free(observer);
}

bool packet_same(const struct packet_summary *a, const struct packet_summary *b)
{
	size_t addr_len = a->family == AF_INET ? sizeof(a->src.v4) : sizeof(a->src.v6);

	if (a->family != b->family || a->protocol != b->protocol)
		return false;
	if (memcmp(&a->src, &b->src, addr_len) || memcmp(&a->dst, &b->dst, addr_len))
		return false;
	if (a->family == AF_INET ? a->ip_id != b->ip_id : a->flow_label != b->flow_label)
		return false;
	return a->sport == b->sport && a->dport == b->dport && a->seq == b->seq &&
	       a->ack == b->ack && a->flags == b->flags && a->payload_len == b->payload_len;
}

static enum verdict verdict_from_prefix(const char *word)
{
	enum verdict verdict;

	if (verdict_parse(word, &verdict) < 0)
		return VERDICT_UNSEEN;
	return verdict;
}

static void add_pending_reason(struct observer *observer, const struct packet_summary *packet,
			       const char *reason, const struct timespec *when)
{
	struct pending_reason *pending;

	/* Drop the oldest: a reason whose verdict never came is long stale. */
	if (observer->n_pending == PENDING_REASONS_MAX) {
		memmove(observer->pending, observer->pending + 1,
			sizeof(observer->pending[0]) * (PENDING_REASONS_MAX - 1));
		observer->n_pending--;
	}
	pending = &observer->pending[observer->n_pending++];
	pending->packet = *packet;
	pending->when = *when;
	snprintf(pending->reason, sizeof(pending->reason), "%s", reason);
	/* It reaches terminals and reports: show it, never let it act. */
	safetext_escape(pending->reason, sizeof(pending->reason), false);
}

/* Hands the reasons logged for this packet, if any, to the verdict record, in
 * the order conntrack logged them (all come before the verdict: conntrack runs
 * at an earlier hook priority than the verdict's log rule). */
static void claim_reason(struct observer *observer, struct observed *observed)
{
	size_t i = 0;

	while (i < observer->n_pending) {
		const char *reason = observer->pending[i].reason;

		if (!packet_same(&observer->pending[i].packet, &observed->packet)) {
			i++;
			continue;
		}
		if (!observed->has_reason) {
			observed->has_reason = true;
			memcpy(observed->reason, reason, sizeof(observed->reason));
		} else if (observed->n_also < OBSERVER_ALSO_MAX) {
			memcpy(observed->also[observed->n_also++], reason, sizeof(observed->also[0]));
		}
		memmove(&observer->pending[i], &observer->pending[i + 1],
			sizeof(observer->pending[0]) * (observer->n_pending - i - 1));
		observer->n_pending--;
	}
}

static struct observed *add_packet(struct observer *observer)
{
	struct observed *observed;

	if (observer->n_packets - observer->first == observer->cap_packets) {
		size_t cap = observer->cap_packets ? observer->cap_packets * 2 : 64;
		struct observed *grown = realloc(observer->packets, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		observer->packets = grown;
		observer->cap_packets = cap;
	}
	observed = &observer->packets[observer->n_packets - observer->first];
	memset(observed, 0, sizeof(*observed));
	observed->entry_state = -1;
	observed->index = observer->n_packets++;
	return observed;
}

/* One NFLOG record: a reason (group 0) waits for its verdict (group 1). */
static int take_record(struct observer *observer, const struct pcap_pkthdr *header,
		       const uint8_t *data)
{
	struct nflog_record record;
	struct packet_summary packet;
	struct observed *observed;
	struct timespec when = { header->ts.tv_sec, header->ts.tv_usec * 1000L };
	char reason[OBSERVER_REASON_MAX];
	char direction[8], verdict[16];

	if (nflog_parse(data, header->caplen, &record) < 0 || !record.payload)
		return 0;
	if (packet_parse(record.payload, record.payload_len, &packet) < 0)
		return 0;

	if (record.group == NFLOG_GROUP_REASON) {
		if (nflog_reason(&record, reason, sizeof(reason)) < 0)
			return 0;
		add_pending_reason(observer, &packet, reason, &when);
		return 0;
	}
	if (record.group != NFLOG_GROUP_VERDICT ||
	    sscanf(record.prefix, "ctlab %7s %15s", direction, verdict) != 2)
		return 0;
	observed = add_packet(observer);
	if (!observed)
		return -ENOMEM;
	observed->packet = packet;
	observed->verdict = verdict_from_prefix(verdict);
	observed->output = strcmp(direction, "out") == 0;
	observed->when = when;
	observed->entry_state = record.ct_tcp_state;
	/* Killed as it went through (a RST before any reply): the packet still
	 * holds it, the table no longer does. */
	if (record.has_ct && (record.ct_status & IPS_DYING))
		observed->entry_state = OBSERVED_NO_ENTRY;
	claim_reason(observer, observed);
	return 1;
}

struct dispatch {
	struct observer *observer;
	int added;
	int error;
};

static void dispatch_record(u_char *arg, const struct pcap_pkthdr *header, const u_char *data)
{
	struct dispatch *dispatch = (struct dispatch *)arg;
	int rc = take_record(dispatch->observer, header, data);

	if (rc < 0)
		dispatch->error = rc;
	else
		dispatch->added += rc;
}

int observer_poll(struct observer *observer, int timeout_ms)
{
	struct pollfd pfd = { .fd = observer->pcap_fd, .events = POLLIN };
	struct dispatch dispatch = { .observer = observer };
	int rc;

	/* libpcap's NFLOG reader treats EAGAIN as an error, so the socket stays
	 * blocking and is read only when poll says a batch is there. */
	for (;;) {
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			break;
		if (pcap_dispatch(observer->pcap, -1, dispatch_record, (u_char *)&dispatch) < 0)
			return -EIO;
		if (dispatch.error)
			return dispatch.error;
		timeout_ms = 0;
	}
	return dispatch.added;
}

bool observer_has_entries(const struct observer *observer)
{
	return observer->entries;
}

size_t observer_count(const struct observer *observer)
{
	return observer->n_packets;
}

const struct observed *observer_at(const struct observer *observer, size_t index)
{
	return index >= observer->first && index < observer->n_packets ?
		       &observer->packets[index - observer->first] : NULL;
}

void observer_forget(struct observer *observer, size_t before)
{
	size_t keep;

	if (before <= observer->first)
		return;
	if (before > observer->n_packets)
		before = observer->n_packets;
	keep = observer->n_packets - before;
	memmove(observer->packets, observer->packets + (before - observer->first),
		keep * sizeof(observer->packets[0]));
	observer->first = before;
}

const struct observed *observer_wait_for(struct observer *observer,
					 const struct packet_summary *want, size_t from,
					 int timeout_ms)
{
	struct timespec start;
	struct observed *observed, reasons;
	size_t i, next = from;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (i = next > observer->first ? next : observer->first; i < observer->n_packets; i++)
			if (packet_same(&observer->packets[i - observer->first].packet, want))
				return &observer->packets[i - observer->first];
		next = observer->n_packets;
		left = timeout_ms - ms_since(&start);
		if (left <= 0)
			break;
		if (observer_poll(observer, (int)left) < 0)
			break;
	}

	/* No verdict: conntrack may still have logged why (the packet was dropped
	 * before the ctlab chain saw it). */
	if (!observer_reasons_only(observer, want, &reasons))
		return NULL;
	observed = add_packet(observer);
	if (!observed)
		return NULL;
	reasons.index = observed->index;
	*observed = reasons;
	return observed;
}

bool observer_reasons_only(struct observer *observer, const struct packet_summary *want,
			   struct observed *out)
{
	for (size_t i = 0; i < observer->n_pending; i++) {
		if (!packet_same(&observer->pending[i].packet, want))
			continue;
		*out = (struct observed){ .packet = *want, .verdict = VERDICT_UNSEEN, .entry_state = -1,
					  .when = observer->pending[i].when };
		claim_reason(observer, out);
		return true;
	}
	return false;
}

int observer_flood_seen(struct observer *observer, uint64_t *packets)
{
	uint64_t bytes;

	return netns_nft_counter(observer->ns, FLOOD_SEEN_COUNTER, packets, &bytes);
}

int observer_stats(struct observer *observer, struct ct_stats *stats)
{
	return ct_stats_read(observer->ns, stats);
}

int ct_stats_read(struct netns *ns, struct ct_stats *stats)
{
	char text[16384], *line, *save_line, *word, *save_word;
	size_t column;
	int rc;

	/* /proc/self/net would show the main thread's namespace, not this one. */
	rc = netns_read_file(ns, "/proc/thread-self/net/stat/nf_conntrack", text,
			     sizeof(text));
	if (rc < 0)
		return rc;
	memset(stats, 0, sizeof(*stats));
	line = strtok_r(text, "\n", &save_line);
	if (!line)
		return -EINVAL;
	for (word = strtok_r(line, " \t", &save_word); word && stats->n < CT_STATS_MAX;
	     word = strtok_r(NULL, " \t", &save_word))
		snprintf(stats->names[stats->n++], sizeof(stats->names[0]), "%s", word);

	/* One line per CPU; "entries" is the namespace's count repeated on each. */
	while ((line = strtok_r(NULL, "\n", &save_line))) {
		column = 0;
		for (word = strtok_r(line, " \t", &save_word); word && column < stats->n;
		     word = strtok_r(NULL, " \t", &save_word), column++) {
			uint64_t value = strtoull(word, NULL, 16);

			if (strcmp(stats->names[column], "entries") == 0)
				stats->values[column] = value;
			else
				stats->values[column] += value;
		}
	}
	return 0;
}

bool ct_stats_get(const struct ct_stats *stats, const char *name, uint64_t *value)
{
	size_t i;

	for (i = 0; i < stats->n; i++) {
		if (strcmp(stats->names[i], name) == 0) {
			*value = stats->values[i];
			return true;
		}
	}
	return false;
}

static int take_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *arg)
{
	struct ct_entry *entry = arg;
	uint32_t status = nfct_get_attr_u32(ct, ATTR_STATUS);

	(void)type;
	entry->found = true;
	entry->state = nfct_attr_is_set(ct, ATTR_TCP_STATE) ? nfct_get_attr_u8(ct, ATTR_TCP_STATE) : -1;
	entry->assured = status & IPS_ASSURED;
	entry->seen_reply = status & IPS_SEEN_REPLY;
	entry->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	return NFCT_CB_CONTINUE;
}

static struct nf_conntrack *ct_from_tuple(const struct ct_tuple *tuple)
{
	struct nf_conntrack *ct = nfct_new();

	if (!ct)
		return NULL;
	nfct_set_attr_u8(ct, ATTR_L3PROTO, tuple->family);
	if (tuple->family == AF_INET) {
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, tuple->src.v4.s_addr);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, tuple->dst.v4.s_addr);
	} else {
		nfct_set_attr(ct, ATTR_IPV6_SRC, &tuple->src.v6);
		nfct_set_attr(ct, ATTR_IPV6_DST, &tuple->dst.v6);
	}
	nfct_set_attr_u8(ct, ATTR_L4PROTO, tuple->protocol);
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(tuple->sport));
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(tuple->dport));
	return ct;
}

int observer_ct_lookup(struct observer *observer, const struct ct_tuple *tuple,
		       struct ct_entry *entry)
{
	struct nf_conntrack *ct;
	int rc = 0;

	memset(entry, 0, sizeof(*entry));
	ct = ct_from_tuple(tuple);
	if (!ct)
		return -ENOMEM;
	nfct_callback_register(observer->ct, NFCT_T_ALL, take_entry, entry);
	if (nfct_query(observer->ct, NFCT_Q_GET, ct) < 0 && errno != ENOENT)
		rc = -errno;
	nfct_callback_unregister(observer->ct);
	nfct_destroy(ct);
	return rc;
}

int observer_ct_delete(struct observer *observer, const struct ct_tuple *tuple)
{
	struct nf_conntrack *ct = ct_from_tuple(tuple);
	int rc = 0;

	if (!ct)
		return -ENOMEM;
	if (nfct_query(observer->ct, NFCT_Q_DESTROY, ct) < 0)
		rc = -errno;
	nfct_destroy(ct);
	return rc;
}

int observer_ct_flush(struct observer *observer)
{
	static const uint32_t families[] = { AF_INET, AF_INET6 };
	size_t i;

	for (i = 0; i < 2; i++) {
		uint32_t family = families[i];

		if (nfct_query(observer->ct, NFCT_Q_FLUSH, &family) < 0)
			return -errno;
	}
	return 0;
}
