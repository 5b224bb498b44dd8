/* replay — a capture's packets, in order, through a conntrack of their own: each one's verdict and reasons. */
#ifndef CTLAB_REPLAY_H
#define CTLAB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/observe.h"

#define REPLAY_SYSCTLS_MAX	16
#define REPLAY_SIDES_MAX	16	/* interfaces of the judge a packet may enter by */
#define REPLAY_IFNAME_MAX	16	/* IFNAMSIZ */

struct replay_packet;

/* Called with each replayed packet, in capture order; @packet and what it
 * points to last only for the call. Non-zero ends the replay with an error. */
typedef int replay_each_fn(const struct replay_packet *packet, void *arg);

struct replay_options {
	const char *capture;		/* a pcap or pcapng file */
	/* "net.netfilter.KEY=VALUE": the conntrack settings of the host it was taken on */
	size_t n_sysctls;
	const char *sysctls[REPLAY_SYSCTLS_MAX];
	/* a saved `sysctl -a` (or `sysctl net.netfilter`) of that host: its
	 * net.netfilter.nf_conntrack_* settings, applied before @sysctls; NULL none */
	const char *sysctl_file;
	/* NAT as the host had it: "dnat SERVICE=BACKEND", "snat ADDRESS" (IPv4 or IPv6
	 * addresses), each a rule of the judge's; NULL none */
	size_t n_nat;
	const char *nat[REPLAY_SYSCTLS_MAX];
	const char *nft_file;		/* a ruleset file for the judge, as nft -f reads it; NULL none */
	/* "IFNAME=SPEC[,SPEC…]", SPEC a MAC or an address prefix: a side of the
	 * host, the judge's interface IFNAME (so iifname and oifname rules
	 * match): packets from that MAC or from those prefixes come in there,
	 * packets to those prefixes are routed out there */
	size_t n_sides;
	const char *sides[REPLAY_SIDES_MAX];
	int timeout_ms;			/* how long a wait may read nothing: then every packet
					 * in flight is without a verdict */
	bool all_copies;		/* keep the copies a host forwarded, not only as they arrived */
	bool keep_checksums;		/* as captured, not finished as offloading would */
	bool entries;			/* on a kernel whose records carry no entry: a TCP
					 * packet waits for its flow's packets in flight, so
					 * each INVALID one's and RST's entry is read exactly */
	bool paced;			/* each packet sent when the capture's clock says, after
					 * the first: conntrack's timeouts run as they did */
	/* frames (from 1, ascending) before which every entry is deleted, as
	 * conntrack -F (an agent that deleted entries, a flush at that time) */
	size_t n_flushes;
	size_t flush_before[REPLAY_SYSCTLS_MAX];
	replay_each_fn *each;		/* given every packet; none kept, so a capture of
					 * any size takes the same memory */
	void *each_arg;
};

/* One replayed packet and what conntrack made of it. */
struct replay_packet {
	size_t frame;			/* its frame in the capture, from 1 */
	uint64_t ts_ns;
	bool judged;			/* a verdict (or reason) came back */
	enum verdict verdict;		/* VERDICT_UNSEEN when not judged or only a reason came */
	size_t index;			/* the observer's, as the ladder numbers packets */
	const char *side;		/* the judge's interface it came in by */
	struct packet_summary packet;	/* as replayed */
	/* The whole record, reasons included; NULL when no verdict came and no reason.
	 * Its entry_state: from the record (result->entries), or for an INVALID
	 * TCP packet and a RST read when its verdict came (the first 1000, all
	 * with options->entries), unless a later packet of its flow was already
	 * sent (-1 then). */
	const struct observed *detail;
};

/* How a packet's way in was chosen. */
enum replay_side_by { SIDE_BY_DEFAULT, SIDE_BY_CAPTURE, SIDE_BY_MAC, SIDE_BY_ADDRESS };

/* An interface of the judge and the packets that came in by it. */
struct replay_side {
	char name[REPLAY_IFNAME_MAX];
	size_t packets[SIDE_BY_ADDRESS + 1];	/* by how each was sent there */
};

struct replay_result {
	size_t frames;			/* every frame of the capture */
	size_t not_ip;			/* ARP, LLDP …, and link types without IP */
	size_t truncated;		/* cut by the snap length: conntrack would judge other bytes */
	size_t copies;			/* the same packet again as its host sent it on */
	size_t unlogged;		/* neighbour discovery and MLD: not judged here */
	size_t broken;			/* an IP header the kernel drops before conntrack */
	size_t checksums_fixed;		/* transport checksums finished before sending */
	size_t unjudged;		/* replayed, but no verdict came: dropped before the log */
	size_t out_of_order;		/* verdicts that matched no packet in flight */
	uint64_t table_full;		/* packets conntrack dropped for want of room (stat drop) */
	uint64_t evicted;		/* entries it dropped early to make room (stat early_drop) */
	uint64_t ct_max;		/* nf_conntrack_max, the table's room */
	size_t flushed;			/* flushes done (flush_before the capture's end are not) */
	size_t n_packets;		/* replayed, each given to options->each */
	/* The judge's ways in, in the order made: a capture interface's name
	 * (pcapng if_name), a --side's, or eth0 for the packets of neither */
	size_t n_sides;
	struct replay_side sides[REPLAY_SIDES_MAX];
	/* From options->sysctl_file: the settings applied, and those left as
	 * they are (global ones, ctlab's logging, what this kernel has not or
	 * keeps read-only in a namespace), the first of them named */
	size_t file_applied, file_skipped;
	char file_skipped_keys[256];
	size_t names_unusable;		/* packets whose interface's name could not be
					 * one of the judge's ("any", too long, more than
					 * REPLAY_SIDES_MAX): sent in by eth0 */
	bool entries;			/* each record carries its entry (the kernel's
					 * ctnetlink NFLOG glue) and a flow is one tuple (no
					 * NAT): an INVALID packet's is its flow's last; set
					 * before the first packet */
	char error[512];
};

/*
 * replay_run - read @options->capture and send its IP packets in order (a
 * window of them at a time, from one CPU) into a namespace of their own
 * whose conntrack sees them as a router would (prerouting, forward,
 * postrouting, then dropped: nothing leaves it, whatever its addresses, and
 * it sends nothing itself), with @options->sysctls applied there and its NAT
 * (@options->nat, @options->nft_file: DNAT at prerouting, SNAT at
 * postrouting, as a router or a node has them). A packet comes in by the
 * judge's interface of its side (@options->sides: its source MAC or
 * address), else of the name its capture interface had, else eth0; one to a
 * side's prefix is routed out by that side. Each packet goes to
 * @options->each with the verdict and reasons conntrack logged for it
 * (observer); one dropped before the log (a rule, a full table) without
 * (@result->unjudged).
 * Transport checksums are finished first (a capture on the sending host holds
 * offloading's partial sums), unless @options->keep_checksums. Truncated
 * frames, frames that are not IP, broken IP headers and what the observer
 * does not log (neighbour discovery, MLD) are counted and left out. 0, or -1
 * with @result->error ("CAPTURE: byte 4120: …", "needs root").
 */
int replay_run(const struct replay_options *options, struct replay_result *result);

#endif
