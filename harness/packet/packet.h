/* Packet builder and parser: crafted IPv4/IPv6 TCP, UDP and ICMP packets out, summaries of seen packets in. */
#ifndef CTLAB_PACKET_H
#define CTLAB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
#define UDP_HEADER_LEN	8
#define ICMP_HEADER_LEN	8		/* ICMP and ICMPv6: type, code, checksum and one word */
#define ICMP_QUOTE_MAX	548		/* IPv4: the error fits in 576 bytes (RFC 1812 4.3.2.3) */
#define ICMPV6_PACKET_MAX 1280		/* IPv6: the error fits in the minimum MTU (RFC 4443 2.4) */

#define TCP_SACK_BLOCKS_MAX	4
#define TCP_OPTIONS_MAX		40	/* bytes of options a TCP header can hold */

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
	size_t n_sack;			/* SACK blocks, 0..4 (3 beside a timestamp) */
	uint32_t sack[TCP_SACK_BLOCKS_MAX][2];	/* left and right edge of each */
	size_t raw_len;			/* raw_options: bytes written after all the others, */
	uint8_t raw_options[TCP_OPTIONS_MAX];	/* padded with NOPs to a multiple of 4 */
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

/* packet_payload_byte - byte @i of the payload pattern the packet_build_*() functions write. */
uint8_t packet_payload_byte(size_t i);

/*
 * packet_build_tcp - write the IP packet @spec describes into @buf.
 *
 * IPv4: IHL 5, DF, correct header checksum.  IPv6: no extension headers.
 * Options are laid out as Linux writes them: MSS, then SACK_PERM+TS (or NOP NOP
 * TS, or NOP NOP SACK_PERM), then NOP WSCALE, then NOP NOP SACK blocks; then
 * the raw options, padded with NOPs.  More than TCP_OPTIONS_MAX bytes of
 * options (packet_tcp_options_len) is -EINVAL.  With spec->truncate the IP
 * length says the cut length, and a correct TCP checksum covers the bytes kept
 * (if the checksum field itself survives the cut).
 *
 * Returns the packet length, -EINVAL for a spec that cannot be written (bad
 * family, flow label over 20 bits, option values out of range, data offset
 * over 15, packet over 65535 bytes, truncate shorter than the IP header or
 * longer than the packet) or -ENOSPC if @size is too small.
 */
ssize_t packet_build_tcp(const struct tcp_spec *spec, uint8_t *buf, size_t size);

/* Bytes of TCP options packet_build_tcp() writes for spec, padding included. */
size_t packet_tcp_options_len(const struct tcp_spec *spec);

struct udp_spec {
	int family;			/* AF_INET or AF_INET6 */
	union inet_addr src, dst;
	uint16_t ip_id;			/* as in tcp_spec */
	uint32_t flow_label;
	uint8_t ttl;			/* 0 means 64 */
	uint8_t tos;
	uint16_t sport, dport;
	size_t payload_len;		/* bytes of packet_payload_byte() pattern */
	int length_field;		/* -1: the true UDP length; else 0..65535 written as given */
	enum checksum_mode checksum;
	uint16_t checksum_value;	/* for CHECKSUM_VALUE; 0 is "no checksum", legal in IPv4 only */
};

/*
 * udp_spec_init - zero @spec and set the defaults: @family, ttl 64, the true
 * length (length_field = -1), no payload, correct checksum.
 */
void udp_spec_init(struct udp_spec *spec, int family);

/*
 * packet_build_udp - write the IP packet @spec describes into @buf.
 *
 * The IP length always covers the bytes written, whatever the UDP length field
 * says, so a field larger than the datagram is a lie a receiver can see.  A
 * correct checksum covers the datagram as the IP length delimits it, with that
 * length in the pseudo header: what netfilter's nf_checksum() verifies, and
 * what the UDP layer verifies too whenever the length field is true.  A
 * correct checksum that computes to 0 is written 0xffff (RFC 768).
 *
 * Returns the packet length, -EINVAL for a spec that cannot be written (bad
 * family, flow label over 20 bits, length_field out of -1..65535, unknown
 * checksum mode, packet over 65535 bytes) or -ENOSPC if @size is too small.
 */
ssize_t packet_build_udp(const struct udp_spec *spec, uint8_t *buf, size_t size);

struct icmp_spec {
	int family;			/* AF_INET: ICMP; AF_INET6: ICMPv6 */
	union inet_addr src, dst;
	uint16_t ip_id;			/* as in tcp_spec */
	uint32_t flow_label;
	uint8_t ttl;			/* 0 means 64 */
	uint8_t tos;
	uint8_t type, code;		/* icmp_message_lookup() gives them by name */
	uint16_t echo_id, echo_seq;	/* echo request and reply only */
	uint32_t mtu;			/* ICMP frag-needed (16 bits) / ICMPv6 packet-too-big (32 bits) only */
	const uint8_t *quote;		/* for errors: the offending packet, e.g. from packet_build_tcp() */
	size_t quote_len;		/* cut to ICMP_QUOTE_MAX / to keep the packet in ICMPV6_PACKET_MAX */
	size_t payload_len;		/* bytes of packet_payload_byte() pattern, when there is no quote */
	enum checksum_mode checksum;
	uint16_t checksum_value;	/* for CHECKSUM_VALUE */
};

/*
 * icmp_spec_init - zero @spec and set the defaults: @family, ttl 64, an echo
 * request of that family, no payload, correct checksum.
 */
void icmp_spec_init(struct icmp_spec *spec, int family);

/*
 * packet_build_icmp - write the ICMP (AF_INET) or ICMPv6 (AF_INET6) packet
 * @spec describes into @buf.
 *
 * The word after the checksum holds echo_id and echo_seq for echo messages,
 * the MTU for ICMP 3/4 (low 16 bits) and ICMPv6 2/0 (all 32), else zero.  The
 * body is the quote, cut as the RFCs require of real errors, or else
 * payload_len pattern bytes.  The ICMPv6 checksum covers the pseudo header,
 * the ICMP one does not.
 *
 * Returns the packet length, -EINVAL for a spec that cannot be written (bad
 * family, flow label over 20 bits, MTU over 65535 in an ICMP frag-needed,
 * quote_len without a quote, both a quote and a payload, unknown checksum
 * mode, packet over 65535 bytes) or -ENOSPC if @size is too small.
 */
ssize_t packet_build_icmp(const struct icmp_spec *spec, uint8_t *buf, size_t size);

/*
 * icmp_message_lookup - the type and code of the message @name for @family:
 * "echo-request", "echo-reply", "port-unreachable", "host-unreachable",
 * "admin-prohibited", "too-big", "time-exceeded" (port-unreachable is 3/3 in
 * ICMP and 1/4 in ICMPv6).  Returns 0, or -EINVAL for an unknown name or family.
 */
int icmp_message_lookup(const char *name, int family, uint8_t *type, uint8_t *code);

/* The packet an ICMP error quotes, as far as its first 8 transport bytes go. */
struct packet_quote {
	int family;			/* AF_INET or AF_INET6, from the quoted header */
	union inet_addr src, dst;
	uint8_t protocol;		/* upper layer, after any IPv6 extension headers */
	uint16_t sport, dport;		/* TCP and UDP, when the quote holds them */
	uint32_t seq;			/* TCP */
};

/*
 * packet_truncate - cut a built packet (IPv4 without options, or IPv6 without
 * extension headers) to @cut bytes: the IP length says the cut length and the
 * IPv4 header checksum is made right again; the transport header and its
 * checksum are left as they were.  Returns @cut, or -EINVAL when @cut is
 * shorter than the IP header or longer than @len.
 */
ssize_t packet_truncate(uint8_t *pkt, size_t len, size_t cut);

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
	size_t n_sack;			/* SACK blocks found (well-formed options only) */
	uint32_t sack[TCP_SACK_BLOCKS_MAX][2];

	size_t payload_len;		/* transport payload by the IP length: after the TCP header as
					 * the data offset puts it, the 8 UDP or ICMP header bytes */
	bool truncated;			/* capture shorter than the IP length, or transport header cut short */

	/* UDP only */
	uint16_t udp_length;		/* the length field as found, even if it lies */
	bool udp_checksum_ok;		/* as packet_build_udp() computes it; 0 passes in IPv4 only */

	/* ICMP and ICMPv6 */
	uint16_t icmp_id, icmp_seq;	/* echo request and reply */
	bool has_quote;			/* an error (ICMP 3, 4, 5, 11, 12; ICMPv6 1-4) quoting an IP header */
	struct packet_quote quote;
	uint32_t icmp_mtu;		/* ICMP frag-needed / ICMPv6 packet-too-big */
	bool icmp_checksum_ok;		/* false if any of the message is missing */
};

/*
 * packet_parse - summarise the IP packet @pkt of @len captured bytes.
 *
 * Bytes beyond the IP length are ignored.  A transport header cut short still
 * fills the IP part and sets truncated; a TCP data offset under 5 is read as 5
 * for the payload.  A quote cut short is normal and not truncated: has_quote
 * needs only the quoted IP header, the ports and seq are filled when present.  Returns 0, or -EINVAL if @pkt is not IPv4/IPv6 or too short
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

/*
 * packet_copy_of - whether @a and @b are copies of one packet on two links
 * (as it arrived at a host and as the host sent it on): NAT rewrites the
 * addresses and perhaps one port, while the IPv4 ID (IPv6 flow label), seq,
 * ack, flags, payload length and ICMP type go through untouched.
 */
bool packet_copy_of(const struct packet_summary *a, const struct packet_summary *b);

/* packet_same_flow - whether @a and @b belong to one flow, either way round
 * (family, protocol, addresses and ports as they were on the wire). */
bool packet_same_flow(const struct packet_summary *a, const struct packet_summary *b);

/*
 * packet_fix_checksum - recompute the TCP, UDP, ICMP or ICMPv6 checksum of
 * the IP packet @pkt (@len bytes, its IP length all there), as a sender's
 * offloading would have finished it: a capture taken on the sending host, or
 * on a veth, holds the unfinished sum. A zero UDP checksum (none in IPv4, a
 * mistake in IPv6) and fragments are left as they are. 1 when it changed, 0
 * when it was right or left alone, -EINVAL for a packet cut short.
 */
int packet_fix_checksum(uint8_t *pkt, size_t len);

/* ---- capfile — capture files in: pcap and pcapng, as tcpdump, Wireshark and ctlab write them. (capfile.c) ---- */

/* Link types (LINKTYPE_* of the pcap registry) whose IP packets cap_frame_ip finds. */
enum {
	CAP_LINKTYPE_NULL = 0, CAP_LINKTYPE_ETHERNET = 1, CAP_LINKTYPE_RAW_OLD = 12,
	CAP_LINKTYPE_RAW = 101, CAP_LINKTYPE_LOOP = 108, CAP_LINKTYPE_LINUX_SLL = 113,
	CAP_LINKTYPE_IPV4 = 228, CAP_LINKTYPE_IPV6 = 229, CAP_LINKTYPE_LINUX_SLL2 = 276,
};

/* A captured packet bigger than this is refused as a lie (tcpdump's own limit). */
#define CAPFILE_SNAPLEN_MAX	262144u

enum cap_direction { CAP_UNKNOWN, CAP_IN, CAP_OUT };

/* One captured frame; data is valid until the next capfile_next. */
struct cap_frame {
	uint64_t ts_ns;			/* since the epoch */
	uint16_t linktype;
	const uint8_t *data;
	size_t caplen, len;		/* captured, and as it was on the wire */
	uint32_t iface;			/* pcapng: its interface (0 in pcap) */
	const char *ifname;		/* pcapng if_name ("" none, NULL in pcap) */
	enum cap_direction direction;	/* pcapng epb_flags; cap_frame_ip adds the cooked headers' */
	uint64_t offset;		/* where in the file its block or record starts */
};

struct capfile;

/*
 * capfile_open - start reading a pcap or pcapng capture from @file (a pipe
 * will do: nothing is sought, the file is read a block at a time). NULL with
 * a message in @err when it is neither, or its header is cut short.
 */
struct capfile *capfile_open(FILE *file, char *err, size_t errsize);

/*
 * capfile_next - the next frame into @frame: 1, 0 at the end, -1 on a broken
 * file (capfile_error says where: "byte 4120: a block of 7 bytes …"). Blocks
 * that are not packets are passed over.
 */
int capfile_next(struct capfile *c, struct cap_frame *frame);
const char *capfile_error(const struct capfile *c);
void capfile_close(struct capfile *c);

/*
 * cap_frame_ip - the IP packet inside @frame: past an Ethernet header (and up
 * to two VLAN tags), a Linux cooked header (v1 or v2, whose packet type also
 * gives *@direction), a loopback header, or none (raw). 0; -EPROTONOSUPPORT for
 * another link type, -ENOMSG for a frame that is not IPv4 or IPv6 (ARP),
 * -EINVAL for one too short for its header.
 */
int cap_frame_ip(const struct cap_frame *frame, const uint8_t **ip, size_t *len,
		 enum cap_direction *direction);

/* The link address @frame came from (Ethernet's source, the cooked headers'
 * address of an Ethernet-like device) into @mac: false when it has none. */
bool cap_frame_src_mac(const struct cap_frame *frame, uint8_t mac[6]);

/* Whether the frame lost bytes to the capture's snap length. */
bool cap_frame_truncated(const struct cap_frame *frame);

#endif /* CTLAB_PACKET_H */
