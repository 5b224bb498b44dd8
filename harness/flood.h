/* flood: SYNs from many source addresses and ports, sent from a namespace as fast as its cores allow. */
#ifndef CTLAB_FLOOD_H
#define CTLAB_FLOOD_H

#include <stdint.h>
#include <stddef.h>

#include "packet.h"

struct netns;

/* How a sender hands frames to the kernel. */
enum flood_method {
	FLOOD_METHOD_AUTO,		/* the one measured faster here: FLOOD_METHOD_SENDMMSG */
	FLOOD_METHOD_TX_RING,		/* PACKET_TX_RING (TPACKET_V2), one send() per ring */
	FLOOD_METHOD_SENDMMSG,		/* sendmmsg() of FLOOD_BATCH frames */
	FLOOD_METHOD_COUNT
};

/* Frames per sendmmsg() call (the kernel's UIO_MAXIOV limit) and per progress report. */
#define FLOOD_BATCH		1024

/* Source ranges (TOPOLOGY_FLOOD_SRC4/6 in netns.h): 2^15 IPv4 addresses, 2^32 IPv6 ones. */
#define FLOOD_SRC4_BASE		0xc6128000u	/* 198.18.128.0 */
#define FLOOD_SRC4_ADDRS	32768u
#define FLOOD_SPORT_MIN		1024u
#define FLOOD_SPORT_COUNT	(65536u - FLOOD_SPORT_MIN)

struct flood_spec {
	int family;			/* AF_INET or AF_INET6 */
	struct netns *ns;		/* the sender's namespace (the client) */
	const char *ifname;		/* its interface toward the router ("eth0") */
	struct netns *gateway_ns;	/* the next hop's namespace (the router) ... */
	const char *gateway_ifname;	/* ... and its interface on that link: the frames' destination MAC */
	union inet_addr dst;		/* the target (the server) */
	uint16_t dport;
	uint32_t count;			/* SYNs to send, each from a distinct (source address, source port) */
	uint32_t first;			/* index of the first tuple: a later flood can go on with new ones */
	unsigned int threads;		/* 0: one per online CPU */
	enum flood_method method;
};

struct flood_result {
	uint32_t sent;			/* frames the kernel took */
	double seconds;			/* from the first send to the last thread's end */
};

/*
 * flood_run - send @spec->count SYNs (TCP, MSS option, IPv4 ID 0, TTL 64) from
 * the tuples @spec->first onwards (flood_tuple) to @spec->dst:@spec->dport,
 * through an AF_PACKET socket per thread bound to @spec->ifname, bypassing
 * the qdisc; each thread sends its own slice of the tuples and is pinned to
 * a CPU of its own (the calling thread too, until it returns). @progress (may be NULL) is called from the calling thread after
 * each of its batches with the frames sent by all threads so far, and once
 * at the end. Returns 0, or -errno: EINVAL (bad family, count beyond
 * flood_tuple_max, missing namespace or interface), ENODEV, EPERM, or what
 * socket, setsockopt, mmap or send failed with; @result holds what was sent
 * until then.
 */
int flood_run(const struct flood_spec *spec, struct flood_result *result,
	      void (*progress)(uint32_t sent, void *arg), void *arg);

/* flood_tuple_max - how many distinct tuples @family has (0 for a bad family). */
uint64_t flood_tuple_max(int family);

/*
 * flood_tuple - the source address and port of tuple @index of @family:
 * addresses vary first, so consecutive tuples spread over hash buckets.
 * IPv4: 198.18.128.0 + index % 2^15, port 1024 + index / 2^15.
 * IPv6: 2001:db8:3::<index as the low 32 bits>, port 1024 + index % 64512.
 * Distinct for every index below flood_tuple_max(@family).
 */
void flood_tuple(int family, uint32_t index, union inet_addr *src, uint16_t *sport);

/* A SYN frame with an Ethernet header, and the checksum sums of what stays fixed. */
#define FLOOD_FRAME_MAX		128
#define FLOOD_ETH_LEN		14

struct flood_template {
	int family;
	size_t len;			/* Ethernet frame length */
	uint8_t frame[FLOOD_FRAME_MAX];
	uint32_t ip_sum;		/* IPv4 header without source and checksum */
	uint32_t tcp_sum;		/* pseudo header and TCP header without source, port, seq, checksum */
};

/*
 * flood_template_init - build the SYN frame @dst_mac <- @src_mac for
 * @family to @dst:@dport with packet_build_tcp. Returns 0, or -EINVAL for a
 * bad family.
 */
int flood_template_init(struct flood_template *tpl, int family, const uint8_t dst_mac[6],
			const uint8_t src_mac[6], const union inet_addr *dst, uint16_t dport);

/*
 * flood_template_write - write the frame of tuple @index into @frame
 * (tpl->len bytes): the template with the source address, source port and
 * sequence number of @index and checksums made right from the fixed sums.
 */
void flood_template_write(const struct flood_template *tpl, uint32_t index, uint8_t *frame);

/* flood_method_name - "auto", "tx-ring", "sendmmsg"; NULL for an unknown method. */
const char *flood_method_name(enum flood_method method);

#endif /* CTLAB_FLOOD_H */
