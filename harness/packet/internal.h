/* Private to harness/packet: the wire constants, byte writers and ICMP predicates its files share. */
#ifndef CTLAB_PACKET_INTERNAL_H
#define CTLAB_PACKET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "packet/packet.h"

enum tcp_option_kind {
	TCPOPT_KIND_EOL = 0,
	TCPOPT_KIND_NOP = 1,
	TCPOPT_KIND_MSS = 2,
	TCPOPT_KIND_WSCALE = 3,
	TCPOPT_KIND_SACK_PERM = 4,
	TCPOPT_KIND_SACK = 5,
	TCPOPT_KIND_TIMESTAMP = 8,
};

/*
 * Our own names: <netinet/ip_icmp.h> defines icmp_id and icmp_seq as macros,
 * which would rename the packet_summary fields of the same names.
 */
enum icmp_type {
	ICMP_ECHOREPLY = 0,
	ICMP_DEST_UNREACH = 3,
	ICMP_SOURCE_QUENCH = 4,
	ICMP_REDIRECT = 5,
	ICMP_ECHO = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAMETERPROB = 12,
};

enum icmp_code {
	ICMP_EXC_TTL = 0,
	ICMP_HOST_UNREACH = 1,
	ICMP_PORT_UNREACH = 3,
	ICMP_FRAG_NEEDED = 4,
	ICMP_PKT_FILTERED = 13,
};

enum icmp6_type {
	ICMP6_DST_UNREACH = 1,
	ICMP6_PACKET_TOO_BIG = 2,
	ICMP6_TIME_EXCEEDED = 3,
	ICMP6_PARAM_PROB = 4,
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
};

enum icmp6_code {
	ICMP6_TIME_EXCEED_TRANSIT = 0,
	ICMP6_DST_UNREACH_ADMIN = 1,
	ICMP6_DST_UNREACH_ADDR = 3,
	ICMP6_DST_UNREACH_NOPORT = 4,
};

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline bool icmp_is_echo(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
}

static inline bool icmp_has_mtu(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED;
	return type == ICMP6_PACKET_TOO_BIG;
}

/* The TCP/UDP/ICMPv6 pseudo header sum of @l4_len transport bytes (checksum.c). */
uint32_t pseudo_header_sum(int family, const union inet_addr *src,
			   const union inet_addr *dst, uint8_t protocol,
			   size_t l4_len);

#endif /* CTLAB_PACKET_INTERNAL_H */
