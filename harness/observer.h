/* observer — see every verdict conntrack gives inside one namespace. */
#ifndef CTLAB_OBSERVER_H
#define CTLAB_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "expect.h"
#include "netns.h"
#include "packet.h"
#include "scenario.h"

#define OBSERVER_REASON_MAX	256
#define CT_STATS_MAX		32

/* One packet that passed the observing namespace's conntrack, with its verdict. */
struct observed {
	size_t index;			/* 0-based order of arrival */
	struct packet_summary packet;
	enum verdict verdict;		/* VERDICT_UNSEEN if only a reason was logged */
	bool output;			/* sent by the observing host itself */
	bool has_reason;
	char reason[OBSERVER_REASON_MAX];	/* conntrack's reason, "nf_ct_proto_N: " removed */
	struct timespec when;
};

/* Summed per-CPU conntrack statistics of one namespace (stat/nf_conntrack). */
struct ct_stats {
	size_t n;
	char names[CT_STATS_MAX][24];
	uint64_t values[CT_STATS_MAX];
};

struct observer;

/*
 * Start observing ns: make its conntrack log invalid packets with reasons to
 * NFLOG group 0 (per-namespace sysctls), load the nft table "ctlab" that logs each
 * packet's ct state to group 1, and open "nflog:0,1" with libpcap there.
 * Returns NULL with a message in err.
 */
struct observer *observer_new(struct netns *ns, char *err, size_t errsize);
void observer_free(struct observer *observer);

/* Read the records that are ready, waiting up to timeout_ms for the first.
 * Returns the number of packets added, or -errno. */
int observer_poll(struct observer *observer, int timeout_ms);

size_t observer_count(const struct observer *observer);
const struct observed *observer_at(const struct observer *observer, size_t index);

/*
 * Wait up to timeout_ms for the verdict on the packet that matches want (same
 * addresses, IP ID or flow label, ports, seq, ack, flags, length), looking at
 * packets from index `from` on.  When only conntrack's reason arrived, returns a
 * record whose verdict is VERDICT_UNSEEN.  NULL when nothing came.
 */
const struct observed *observer_wait_for(struct observer *observer,
					 const struct packet_summary *want, size_t from,
					 int timeout_ms);

/* Read the namespace's conntrack statistics.  0 or -errno. */
int observer_stats(struct observer *observer, struct ct_stats *stats);
/* A counter's value; false if this kernel has no such column. */
bool ct_stats_get(const struct ct_stats *stats, const char *name, uint64_t *value);

/* The original-direction tuple of a conntrack entry. */
struct ct_tuple {
	int family;
	uint8_t protocol;		/* IPPROTO_TCP, IPPROTO_UDP */
	union inet_addr src, dst;
	uint16_t sport, dport;
};

/* Look up the entry of tuple through ctnetlink.  entry->found is false if there
 * is none.  0 or -errno. */
int observer_ct_lookup(struct observer *observer, const struct ct_tuple *tuple,
		       struct ct_entry *entry);

/* Delete the entry of tuple, as `conntrack -D` does.  0, -ENOENT or -errno. */
int observer_ct_delete(struct observer *observer, const struct ct_tuple *tuple);

/* Delete every entry of the namespace, as `conntrack -F` does.  0 or -errno. */
int observer_ct_flush(struct observer *observer);

/* True when both summaries describe the same packet (see observer_wait_for). */
bool packet_same(const struct packet_summary *a, const struct packet_summary *b);

#endif
