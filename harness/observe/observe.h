/* observe — what the kernel did, seen from outside: conntrack's verdicts and entries
 * (NFLOG, ctnetlink), the packets on the links, the kernel log.  Knows nothing of
 * scenarios or runs. */
#ifndef CTLAB_OBSERVE_H
#define CTLAB_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/base.h"
#include "netns/netns.h"
#include "packet/packet.h"

/* ---- observer — see every verdict conntrack gives inside one namespace. (observer.c) ---- */

#define OBSERVER_REASON_MAX	256
#define OBSERVER_ALSO_MAX	3	/* reasons kept beyond the first, for one packet */
#define CT_STATS_MAX		32

/* One packet that passed the observing namespace's conntrack, with its verdict. */
struct observed {
	size_t index;			/* 0-based order of arrival */
	struct packet_summary packet;
	enum verdict verdict;		/* VERDICT_UNSEEN if only a reason was logged */
	bool output;			/* sent by the observing host itself */
	bool has_reason;
	char reason[OBSERVER_REASON_MAX];	/* conntrack's reason, "nf_ct_proto_N: " removed */
	size_t n_also;			/* further reasons logged for the same packet: a window
					 * reason, then the timeout it lowered */
	char also[OBSERVER_ALSO_MAX][OBSERVER_REASON_MAX];
	struct timespec when;
	/* Its entry after conntrack took it (OBSERVE_ENTRIES): TCP_CONNTRACK_*
	 * or -1 (not TCP, not asked, or no entry: INVALID and untracked packets
	 * have none). */
	int entry_state;		/* or OBSERVED_NO_ENTRY: looked up, none there */
};

#define OBSERVED_NO_ENTRY	(-2)

/* Summed per-CPU conntrack statistics of one namespace (stat/nf_conntrack). */
struct ct_stats {
	size_t n;
	char names[CT_STATS_MAX][24];
	uint64_t values[CT_STATS_MAX];
};

struct observer;

/* What observer_new is asked to observe besides each packet's verdict. */
enum observe_flags {
	OBSERVE_REASONS = 1,	/* conntrack's reasons, on NFLOG group 0 */
	OBSERVE_ENTRIES = 2,	/* each packet's entry (its state) with its verdict */
};

/*
 * Start observing ns: make its conntrack log invalid packets with reasons to
 * NFLOG group 0 (per-namespace sysctls), load the nft table "ctlab" that logs each
 * packet's ct state to group 1, and open "nflog:0,1" with libpcap there.
 * Without OBSERVE_REASONS, group 0 and the logging switch are left to someone
 * else (ctlab diagnose): only "nflog:1", the verdicts, no reason. With
 * OBSERVE_ENTRIES, group 1's records carry the packet's entry (a kernel
 * without ctnetlink's NFLOG glue: entry_state stays -1).
 * Returns NULL with a message in err.
 */
struct observer *observer_new(struct netns *ns, unsigned flags, char *err, size_t errsize);
void observer_free(struct observer *observer);

/* Read the records that are ready, waiting up to timeout_ms for the first.
 * Returns the number of packets added, or -errno. */
int observer_poll(struct observer *observer, int timeout_ms);

size_t observer_count(const struct observer *observer);
/* Packet @index (0-based, in order of arrival); NULL if out of range or forgotten. */
const struct observed *observer_at(const struct observer *observer, size_t index);
/* Let go of the records before @index (a caller done with them, as a replay of
 * millions of packets is): their indexes stay taken, observer_at gives NULL. */
void observer_forget(struct observer *observer, size_t before);

/*
 * Wait up to timeout_ms for the verdict on the packet that matches want (same
 * addresses, IP ID or flow label, ports, seq, ack, flags, length), looking at
 * packets from index `from` on.  When only conntrack's reason arrived, returns a
 * record whose verdict is VERDICT_UNSEEN.  NULL when nothing came.
 */
const struct observed *observer_wait_for(struct observer *observer,
					 const struct packet_summary *want, size_t from,
					 int timeout_ms);

/* The reasons conntrack logged for @want, a packet whose verdict never came
 * (dropped before the ctlab chain), taken into *@out as a record whose
 * verdict is VERDICT_UNSEEN (index 0: it is none of the observer's); false
 * when none was logged. */
bool observer_reasons_only(struct observer *observer, const struct packet_summary *want,
			   struct observed *out);

/* How many flood packets (from the flood's source ranges) came to the
 * namespace's prerouting and output hooks, counted just before conntrack
 * judges each.  0 or -errno. */
int observer_flood_seen(struct observer *observer, uint64_t *packets);

/* Read the namespace's conntrack statistics.  0 or -errno. */
int observer_stats(struct observer *observer, struct ct_stats *stats);
/* The same of any namespace, one ctlab did not make too.  0 or -errno. */
int ct_stats_read(struct netns *ns, struct ct_stats *stats);
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

/* Whether group 1's records carry their packets' entries (OBSERVE_ENTRIES
 * asked for, and the kernel has ctnetlink's NFLOG glue). */
bool observer_has_entries(const struct observer *observer);

/* Delete the entry of tuple, as `conntrack -D` does.  0, -ENOENT or -errno. */
int observer_ct_delete(struct observer *observer, const struct ct_tuple *tuple);

/* Delete every entry of the namespace, as `conntrack -F` does.  0 or -errno. */
int observer_ct_flush(struct observer *observer);

/* True when both summaries describe the same packet (see observer_wait_for). */
bool packet_same(const struct packet_summary *a, const struct packet_summary *b);

/* ---- mib — the TCP/IP MIB counters of a namespace, as nstat names them. (mib.c) ---- */

#define MIB_COUNTERS_MAX	640

struct mib {
	size_t n;
	char names[MIB_COUNTERS_MAX][48];	/* "TcpExtPAWSEstab", "TcpOutRsts", "Ip6InReceives" */
	uint64_t values[MIB_COUNTERS_MAX];
};

/*
 * mib_read - read @ns's /proc/net/netstat, snmp and snmp6 (from a thread
 * inside it) into @mib, each counter named by its line's prefix and its
 * column ("TcpExt:" + "PAWSEstab"). Returns 0 or -errno.
 */
int mib_read(struct netns *ns, struct mib *mib);

/* mib_parse - add the counters of one such file's @text to @mib (pure, for
 * tests). Returns 0, -EINVAL for a names line without its values line, or
 * -ENOSPC. */
int mib_parse(const char *text, struct mib *mib);

/* mib_get - the counter called @name; false if this kernel has none. */
bool mib_get(const struct mib *mib, const char *name, uint64_t *value);

/* ---- wire — capture every packet on every link of a set of namespaces, and write them as pcapng. (wire.c) ---- */

#define WIRE_HOST_MAX	32
#define WIRE_IFNAME_MAX	16

/* One IP packet seen on one interface of one host. */
struct wire_packet {
	size_t index;			/* 0-based, in order of arrival at ctlab: per host in time
					 * order, but not across hosts (the pcapng file is) */
	char host[WIRE_HOST_MAX];	/* the namespace's name as given to wire_open */
	char ifname[WIRE_IFNAME_MAX];	/* the interface inside it */
	bool outgoing;			/* sent by this host, else received */
	struct timespec when;		/* kernel timestamp (CLOCK_REALTIME, one clock for every namespace) */
	struct packet_summary packet;	/* packet_parse() of data */
	uint8_t *data;			/* the IP packet (a copy, owned by the wire) */
	size_t len;
};

struct wire;

/*
 * wire_hold_timestamps - keep the kernel stamping packets for the rest of the
 * process (one socket that asks for stamps, in the caller's namespace, never
 * used for traffic).  The kernel turns stamping on in a deferred work item
 * when the first socket asks and off when the last one closes, so without it a
 * run's first packets may carry the time they were read, out of order.  Call
 * it early, before the first wire_open (which calls it too).  Idempotent.
 */
void wire_hold_timestamps(void);

/*
 * wire_open - start capturing in each of @namespaces[0..@n-1], called
 * @names[i] (shorter than WIRE_HOST_MAX), on every interface but loopback:
 * one packet socket per namespace, bound to all its interfaces, present and
 * future. Only packets that arrive after it returns are seen. @n may be 0
 * (an empty wire, for wire_add). Returns the wire, or NULL with errno set
 * and a message in @err (EINVAL: a name missing or too long; EPERM without
 * CAP_NET_RAW).
 */
struct wire *wire_open(struct netns *const *namespaces, const char *const *names, size_t n,
		       char *err, size_t errsize);

/*
 * wire_poll - take every packet ready on any of the wire's handles, waiting
 * up to @timeout_ms (-1: no limit) for the first. Non-IP frames (ARP) and
 * loopback traffic are left out. Returns the number of packets added (0 on
 * timeout, and at once for a wire of no namespaces), or -errno (ENOMEM, or
 * from poll/recvmsg).
 */
int wire_poll(struct wire *wire, int timeout_ms);

/* wire_count - how many packets the wire holds. */
size_t wire_count(const struct wire *wire);

/* wire_at - packet @index (arrival order), NULL if out of range. */
const struct wire_packet *wire_at(const struct wire *wire, size_t index);

/*
 * wire_dropped - how many packets the kernel dropped, as of the last
 * wire_poll, because the wire was not read fast enough (4 MB a namespace).
 * Unless it is 0, that a packet was not seen proves nothing.
 */
size_t wire_dropped(const struct wire *wire);

/*
 * wire_write_pcapng - write every packet to the pcapng file @path, in
 * timestamp order: one interface per host and interface seen, named
 * "host/ifname", with nanosecond timestamps; each packet behind a Linux
 * cooked header (LINKTYPE_LINUX_SLL2, which libpcap and Wireshark both read
 * for many interfaces) and its direction in the header and in its flags.
 * A wire with no packets gives a file with no interface, which Wireshark
 * opens and libpcap refuses. The file is written whole through outfile_open
 * (a symlink at @path is refused, an existing file replaced when complete).
 * @meta (NULL: none) names the application and run in the section header,
 * gives packets comments (Wireshark's frame.comment) and may keep one
 * interface only. Returns 0 or -errno (outfile_strerror explains ELOOP and
 * EEXIST).
 */
struct pcapng_meta {
	const char *application;	/* the section's shb_userappl ("ctlab 0.13.0") */
	const char *comment;		/* the section's comment (the scenario and run) */
	const char *const *comments;	/* by packet index (arrival order); NULL entries none */
	const char *host, *ifname;	/* only the packets of that interface; NULL: all */
};

#define PCAPNG_COMMENT_MAX	1024	/* longer comments are cut */

int wire_write_pcapng(const struct wire *wire, const char *path, const struct pcapng_meta *meta);

/*
 * wire_add - record the IP packet @data of @len bytes as if captured on
 * @host/@ifname (truncated to fit) at @when. Used by the capture itself;
 * public for tests and replays. Returns 0, -EINVAL if @data is not an IP
 * packet (or is over 65535 bytes), or -ENOMEM.
 */
int wire_add(struct wire *wire, const char *host, const char *ifname, bool outgoing,
	     const struct timespec *when, const uint8_t *data, size_t len);

/*
 * wire_free - stop capturing and free every packet. NULL is a no-op. Takes
 * one RCU grace period (some 10 ms), for all the namespaces at once.
 */
void wire_free(struct wire *wire);

/* ---- kmsg — read kernel log lines (/dev/kmsg) written since a mark. (kmsg.c) ---- */

/* A point in the kernel log: the sequence number of the next record. */
struct kmsg_mark {
	uint64_t seq;
};

/*
 * kmsg_mark - the position of the kernel log now: records written after
 * this call have a sequence number >= @mark->seq. Reading /dev/kmsg
 * needs root (CAP_SYSLOG, or kernel.dmesg_restrict 0). Returns 0 or
 * -errno (EPERM, ENOENT without /dev/kmsg).
 */
int kmsg_mark(struct kmsg_mark *mark);

/*
 * kmsg_find - wait at most @timeout_ms for a kernel log record written
 * after @since whose message contains @text. The message (without the
 * "pri,seq,usec,flags;" prefix and the key=value lines) is copied to
 * @line, NUL-terminated and cut to @size (@line may be NULL). Records
 * overwritten before they could be read are skipped. Returns 1 when found,
 * 0 when not within @timeout_ms, or -errno (EINVAL: no @text; EPERM).
 */
int kmsg_find(const struct kmsg_mark *since, const char *text, int timeout_ms, char *line,
	      size_t size);

/*
 * kmsg_count_recent - how many records of the last @seconds hold @text, into
 * *@count: to tell whether a rate limit may have silenced a line.  Returns 0
 * or -errno.
 */
int kmsg_count_recent(const char *text, int seconds, unsigned *count);

/* ---- watch — a live namespace ctlab did not make: its conntrack's reasons and its TCP RSTs, read only. (watch.c) ---- */

enum watch_kind { WATCH_REASON, WATCH_RST };

struct watch_event {
	enum watch_kind kind;
	struct packet_summary packet;		/* the packet logged, or the RST */
	char reason[OBSERVER_REASON_MAX];	/* WATCH_REASON: "nf_ct_proto_N: " removed */
	int hook;				/* WATCH_REASON: NF_INET_*, -1 unknown */
	char ifname[16];			/* where it came in (a RST: where it was seen);
						 * "" for a reason on a packet sent by the host */
	bool outgoing;				/* WATCH_RST: sent by the namespace itself */
	struct timespec when;
};

typedef void (*watch_fn)(const struct watch_event *event, void *arg);

struct watch;

/*
 * watch_open - in @ns, listen on NFLOG group 0 (what conntrack logs once the
 * namespace's nf_log.2/.10 name nfnetlink_log) and open a packet socket that
 * reads the TCP RSTs of every interface; nothing in @ns is changed. Fails
 * with a message in @err when another program listens on group 0 there
 * (libpcap: "Can't listen on group index: Operation not permitted", the
 * kernel's EPERM for a group another socket has bound). NULL on failure.
 */
struct watch *watch_open(struct netns *ns, char *err, size_t errsize);

/* watch_poll - wait up to @timeout_ms, then hand each reason and RST that came
 * to @each, reasons first. Returns how many, or -errno. */
int watch_poll(struct watch *watch, int timeout_ms, watch_fn each, void *arg);

/* watch_drops - what the kernel could not queue for us (reasons, RSTs), and the
 * group 0 records that were no conntrack reason. */
void watch_drops(const struct watch *watch, uint64_t *reasons, uint64_t *rsts,
		 uint64_t *other_logs);

void watch_free(struct watch *watch);

#endif
