/* Packet builder and parser: crafted IPv4/IPv6 TCP packets out, summaries of seen packets in. */
#ifndef CTLAB_PACKET_H
#define CTLAB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

enum tcp_flag {
	TCP_FLAG_FIN = 0x01,
	TCP_FLAG_SYN = 0x02,
	TCP_FLAG_RST = 0x04,
	TCP_FLAG_PSH = 0x08,
	TCP_FLAG_ACK = 0x10,
	TCP_FLAG_URG = 0x20,
	TCP_FLAG_ECE = 0x40,
	TCP_FLAG_CWR = 0x80,
};

union inet_addr {
	struct in_addr v4;
	struct in6_addr v6;
};

enum checksum_mode {
	CHECKSUM_CORRECT,
	CHECKSUM_BAD,		/* never verifies, never 0 */
	CHECKSUM_VALUE,		/* exactly checksum_value */
};

#define TCP_HEADER_MIN	20
#define TCP_HEADER_MAX	60
#define IPV4_HEADER_LEN	20
#define IPV6_HEADER_LEN	40
#define IPV6_FLOW_LABEL_MAX 0xfffff

struct tcp_spec {
	int family;			/* AF_INET or AF_INET6 */
	union inet_addr src, dst;
	uint16_t ip_id;			/* IPv4 identification: matches NFLOG records to injected packets */
	uint32_t flow_label;		/* IPv6 flow label (20 bits), same purpose */
	uint8_t ttl;			/* TTL / hop limit; 0 means 64 */
	uint8_t tos;			/* TOS / traffic class */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;			/* enum tcp_flag bits */
	uint16_t window;		/* raw field, unscaled */
	uint16_t urgent;
	int data_offset;		/* 0: from the options; else 1..15 written as given, even if it lies */
	int mss;			/* -1: no MSS option */
	int wscale;			/* -1: no window scale option; else 0..255 (over 14 is legal to send) */
	bool sack_permitted;
	bool timestamp;
	uint32_t ts_val, ts_ecr;
	size_t payload_len;		/* bytes of packet_payload_byte() pattern */
	enum checksum_mode checksum;
	uint16_t checksum_value;	/* for CHECKSUM_VALUE */
	size_t truncate;		/* 0: whole packet; else cut to this many bytes, IP length included */
};

/*
 * tcp_spec_init - zero @spec and set the defaults: @family, ttl 64, window
 * 65535, flags ACK, no options (mss = wscale = -1), no payload, correct checksum.
 */
void tcp_spec_init(struct tcp_spec *spec, int family);

/* packet_payload_byte - byte @i of the payload pattern packet_build_tcp() writes. */
uint8_t packet_payload_byte(size_t i);

/*
 * packet_build_tcp - write the IP packet @spec describes into @buf.
 *
 * IPv4: IHL 5, DF, correct header checksum.  IPv6: no extension headers.
 * Options are laid out as Linux writes them: MSS, then SACK_PERM+TS (or NOP NOP
 * TS, or NOP NOP SACK_PERM), then NOP WSCALE.  With spec->truncate the IP
 * length says the cut length, and a correct TCP checksum covers the bytes kept
 * (if the checksum field itself survives the cut).
 *
 * Returns the packet length, -EINVAL for a spec that cannot be written (bad
 * family, flow label over 20 bits, option values out of range, data offset
 * over 15, packet over 65535 bytes, truncate shorter than the IP header or
 * longer than the packet) or -ENOSPC if @size is too small.
 */
ssize_t packet_build_tcp(const struct tcp_spec *spec, uint8_t *buf, size_t size);

/* What packet_parse() saw in one IP packet. */
struct packet_summary {
	int family;			/* AF_INET or AF_INET6 */
	union inet_addr src, dst;
	uint16_t ip_id;			/* IPv4 only */
	uint32_t flow_label;		/* IPv6 only */
	uint8_t protocol;		/* IPv4 protocol / IPv6 upper-layer next header */
	uint8_t ttl;			/* TTL / hop limit */
	uint8_t tos;			/* TOS / traffic class */
	uint32_t ip_len;		/* IPv4 total length / IPv6 payload length + 40, as claimed */
	bool ip_checksum_ok;		/* IPv4 header checksum; true for IPv6 */
	bool fragment;			/* IPv4 offset != 0 or IPv6 non-first fragment: no ports */

	uint16_t sport, dport;		/* TCP and UDP */
	uint8_t icmp_type, icmp_code;	/* ICMP and ICMPv6 */

	/* TCP only */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t urgent;
	uint16_t tcp_checksum;		/* as found in the header */
	int data_offset;		/* as found, in 32-bit words, even if it lies */
	bool tcp_checksum_ok;		/* false if any of the segment is missing */
	int mss;			/* -1 when absent, as in tcp_spec */
	int wscale;
	bool sack_permitted;
	bool timestamp;
	uint32_t ts_val, ts_ecr;

	size_t payload_len;		/* transport payload by the IP length, after the header as the data offset puts it */
	bool truncated;			/* capture shorter than the IP length, or transport header cut short */
};

/*
 * packet_parse - summarise the IP packet @pkt of @len captured bytes.
 *
 * Bytes beyond the IP length are ignored.  A transport header cut short still
 * fills the IP part and sets truncated; a TCP data offset under 5 is read as 5
 * for the payload.  Returns 0, or -EINVAL if @pkt is not IPv4/IPv6 or too short
 * for its IP header.
 */
int packet_parse(const uint8_t *pkt, size_t len, struct packet_summary *out);

/*
 * tcp_flags_parse - parse letters F S R P A U E C, upper case, in any order,
 * each at most once; "none" and "" are no flags.  Returns 0, or -EINVAL with
 * *@bad (if not NULL) pointing at the offending character.
 */
int tcp_flags_parse(const char *text, uint8_t *flags, const char **bad);

#define TCP_FLAGS_STRLEN 9

/*
 * tcp_flags_format - write @flags into @buf in the fixed order S F R P A U E C
 * ("S", "SA", "FA", "RA", "PA", "SR"), or "none" for 0.  Returns @buf.
 */
const char *tcp_flags_format(uint8_t flags, char buf[TCP_FLAGS_STRLEN]);

/*
 * inet_sum - add @data to the running one's complement @sum (RFC 1071), words
 * taken big-endian.  Only the last piece summed may have an odd length.
 */
uint32_t inet_sum(const void *data, size_t len, uint32_t sum);

/*
 * inet_checksum - the RFC 1071 checksum of @data on top of the running @sum
 * (0, or a pseudo header from inet_sum()).  The result is to be stored
 * big-endian; a region that includes its own correct checksum gives 0.
 */
uint16_t inet_checksum(const void *data, size_t len, uint32_t sum);

#endif /* CTLAB_PACKET_H */
