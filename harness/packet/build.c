/* Packet builders: crafted IPv4/IPv6 TCP, UDP and ICMP packets from their specs, truncation, ICMP names. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "packet/packet.h"
#include "packet/internal.h"

#define IPV4_FLAG_DF		0x4000
#define DEFAULT_TTL		64

void tcp_spec_init(struct tcp_spec *spec, int family)
{
	memset(spec, 0, sizeof(*spec));
	spec->family = family;
	spec->ttl = DEFAULT_TTL;
	spec->window = 65535;
	spec->flags = TCP_FLAG_ACK;
	spec->mss = -1;
	spec->wscale = -1;
	spec->checksum = CHECKSUM_CORRECT;
}

uint8_t packet_payload_byte(size_t i)
{
	/* Printable, and not periodic in 2 so a swapped word changes the checksum. */
	return (uint8_t)('a' + i % 26);
}

size_t packet_tcp_options_len(const struct tcp_spec *spec)
{
	size_t len = 0;

	if (spec->mss >= 0)
		len += 4;
	if (spec->timestamp)
		len += 12;
	else if (spec->sack_permitted)
		len += 4;
	if (spec->wscale >= 0)
		len += 4;
	if (spec->n_sack)
		len += 4 + 8 * spec->n_sack;
	return len + (spec->raw_len + 3) / 4 * 4;
}

/* Same layout as the kernel's tcp_options_write(), always a multiple of 4. */
static size_t tcp_options_write(const struct tcp_spec *spec, uint8_t *opt)
{
	uint8_t *p = opt;

	if (spec->mss >= 0) {
		*p++ = TCPOPT_KIND_MSS;
		*p++ = 4;
		put_be16(p, (uint16_t)spec->mss);
		p += 2;
	}
	if (spec->timestamp) {
		if (spec->sack_permitted) {
			*p++ = TCPOPT_KIND_SACK_PERM;
			*p++ = 2;
		} else {
			*p++ = TCPOPT_KIND_NOP;
			*p++ = TCPOPT_KIND_NOP;
		}
		*p++ = TCPOPT_KIND_TIMESTAMP;
		*p++ = 10;
		put_be32(p, spec->ts_val);
		put_be32(p + 4, spec->ts_ecr);
		p += 8;
	} else if (spec->sack_permitted) {
		*p++ = TCPOPT_KIND_NOP;
		*p++ = TCPOPT_KIND_NOP;
		*p++ = TCPOPT_KIND_SACK_PERM;
		*p++ = 2;
	}
	if (spec->wscale >= 0) {
		*p++ = TCPOPT_KIND_NOP;
		*p++ = TCPOPT_KIND_WSCALE;
		*p++ = 3;
		*p++ = (uint8_t)spec->wscale;
	}
	if (spec->n_sack) {
		*p++ = TCPOPT_KIND_NOP;
		*p++ = TCPOPT_KIND_NOP;
		*p++ = TCPOPT_KIND_SACK;
		*p++ = (uint8_t)(2 + 8 * spec->n_sack);
		for (size_t i = 0; i < spec->n_sack; i++, p += 8) {
			put_be32(p, spec->sack[i][0]);
			put_be32(p + 4, spec->sack[i][1]);
		}
	}
	memcpy(p, spec->raw_options, spec->raw_len);
	p += spec->raw_len;
	while ((p - opt) % 4)
		*p++ = TCPOPT_KIND_NOP;
	return (size_t)(p - opt);
}

/* The IP header fields every spec has, so that one writer serves all builders. */
struct ip_fields {
	int family;
	const union inet_addr *src, *dst;
	uint16_t ip_id;
	uint32_t flow_label;
	uint8_t ttl, tos, protocol;
};

/* The specs share these field names; this fills a struct ip_fields from any of them. */
#define IP_FIELDS_OF(spec, proto) {						\
	.family = (spec)->family, .src = &(spec)->src, .dst = &(spec)->dst,	\
	.ip_id = (spec)->ip_id, .flow_label = (spec)->flow_label,		\
	.ttl = (spec)->ttl, .tos = (spec)->tos, .protocol = (proto),		\
}

static bool ip_fields_valid(const struct ip_fields *ip)
{
	if (ip->family == AF_INET)
		return true;
	return ip->family == AF_INET6 && ip->flow_label <= IPV6_FLOW_LABEL_MAX;
}

static size_t ip_header_len(int family)
{
	return family == AF_INET ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
}

/*
 * Whether @l4_hdr_len + @payload_len bytes fit the 16-bit IP length: IPv4
 * counts its header in it, IPv6 does not.
 */
static bool ip_payload_fits(int family, size_t l4_hdr_len, size_t payload_len)
{
	size_t max = 0xffff - (family == AF_INET ? IPV4_HEADER_LEN : 0);

	return payload_len <= max && l4_hdr_len + payload_len <= max;
}

static bool checksum_mode_valid(enum checksum_mode mode)
{
	return mode == CHECKSUM_CORRECT || mode == CHECKSUM_BAD || mode == CHECKSUM_VALUE;
}

static bool tcp_spec_valid(const struct tcp_spec *spec)
{
	if (spec->mss < -1 || spec->mss > 0xffff)
		return false;
	if (spec->wscale < -1 || spec->wscale > 0xff)
		return false;
	if (spec->data_offset < 0 || spec->data_offset > 15)
		return false;
	if (spec->n_sack > TCP_SACK_BLOCKS_MAX || spec->raw_len > TCP_OPTIONS_MAX ||
	    packet_tcp_options_len(spec) > TCP_OPTIONS_MAX)
		return false;
	return checksum_mode_valid(spec->checksum);
}

/*
 * A value that differs from @correct in one's complement arithmetic too:
 * 0x0000 and 0xffff both mean zero, so ~correct alone could still verify.
 */
static uint16_t checksum_bad(uint16_t correct)
{
	uint16_t bad = (uint16_t)~correct;

	if (bad == 0xffff)
		return 0x0001;
	if (bad == 0x0000)
		return 0xfffe;
	return bad;
}

static uint16_t checksum_choose(enum checksum_mode mode, uint16_t value, uint16_t correct)
{
	switch (mode) {
	case CHECKSUM_BAD:
		return checksum_bad(correct);
	case CHECKSUM_VALUE:
		return value;
	case CHECKSUM_CORRECT:
	default:
		return correct;
	}
}

static void ipv4_header_write(const struct ip_fields *ip, uint8_t *hdr, size_t total_len)
{
	memset(hdr, 0, IPV4_HEADER_LEN);
	hdr[0] = 0x45;
	hdr[1] = ip->tos;
	put_be16(hdr + 2, (uint16_t)total_len);
	put_be16(hdr + 4, ip->ip_id);
	put_be16(hdr + 6, IPV4_FLAG_DF);
	hdr[8] = ip->ttl ? ip->ttl : DEFAULT_TTL;
	hdr[9] = ip->protocol;
	memcpy(hdr + 12, &ip->src->v4, 4);
	memcpy(hdr + 16, &ip->dst->v4, 4);
	put_be16(hdr + 10, inet_checksum(hdr, IPV4_HEADER_LEN, 0));
}

static void ipv6_header_write(const struct ip_fields *ip, uint8_t *hdr, size_t payload_len)
{
	put_be32(hdr, 6u << 28 | (uint32_t)ip->tos << 20 | ip->flow_label);
	put_be16(hdr + 4, (uint16_t)payload_len);
	hdr[6] = ip->protocol;
	hdr[7] = ip->ttl ? ip->ttl : DEFAULT_TTL;
	memcpy(hdr + 8, &ip->src->v6, 16);
	memcpy(hdr + 24, &ip->dst->v6, 16);
}

/* Write the IP header of a @packet_len byte packet; returns the header length. */
static size_t ip_header_write(const struct ip_fields *ip, uint8_t *buf, size_t packet_len)
{
	if (ip->family == AF_INET) {
		ipv4_header_write(ip, buf, packet_len);
		return IPV4_HEADER_LEN;
	}
	ipv6_header_write(ip, buf, packet_len - IPV6_HEADER_LEN);
	return IPV6_HEADER_LEN;
}

ssize_t packet_build_tcp(const struct tcp_spec *spec, uint8_t *buf, size_t size)
{
	const struct ip_fields ip = IP_FIELDS_OF(spec, IPPROTO_TCP);
	uint8_t tcp[TCP_HEADER_MAX] = { 0 };
	size_t ip_hdr_len, tcp_len, full_len, cut_len, seg_len, i;
	int data_offset;
	uint16_t correct;
	uint8_t *seg;

	if (!ip_fields_valid(&ip) || !tcp_spec_valid(spec))
		return -EINVAL;

	ip_hdr_len = ip_header_len(spec->family);
	tcp_len = TCP_HEADER_MIN + packet_tcp_options_len(spec);
	if (!ip_payload_fits(spec->family, tcp_len, spec->payload_len))
		return -EINVAL;
	full_len = ip_hdr_len + tcp_len + spec->payload_len;
	cut_len = full_len;
	if (spec->truncate) {
		if (spec->truncate < ip_hdr_len || spec->truncate > full_len)
			return -EINVAL;
		cut_len = spec->truncate;
	}
	if (size < cut_len)
		return -ENOSPC;

	data_offset = spec->data_offset ? spec->data_offset : (int)(tcp_len / 4);
	put_be16(tcp, spec->sport);
	put_be16(tcp + 2, spec->dport);
	put_be32(tcp + 4, spec->seq);
	put_be32(tcp + 8, spec->ack);
	tcp[12] = (uint8_t)(data_offset << 4);
	tcp[13] = spec->flags;
	put_be16(tcp + 14, spec->window);
	put_be16(tcp + 18, spec->urgent);
	tcp_options_write(spec, tcp + TCP_HEADER_MIN);

	ip_header_write(&ip, buf, cut_len);
	seg = buf + ip_hdr_len;
	seg_len = cut_len - ip_hdr_len;
	memcpy(seg, tcp, seg_len < tcp_len ? seg_len : tcp_len);
	for (i = tcp_len; i < seg_len; i++)
		seg[i] = packet_payload_byte(i - tcp_len);

	/* Without its checksum field the segment has nothing to check. */
	if (seg_len < 18)
		return (ssize_t)cut_len;
	correct = inet_checksum(seg, seg_len,
				pseudo_header_sum(spec->family, &spec->src, &spec->dst,
						  IPPROTO_TCP, seg_len));
	put_be16(seg + 16, checksum_choose(spec->checksum, spec->checksum_value, correct));
	return (ssize_t)cut_len;
}

ssize_t packet_truncate(uint8_t *pkt, size_t len, size_t cut)
{
	size_t ip_hdr_len;

	if (len < 1 || (pkt[0] >> 4 != 4 && pkt[0] >> 4 != 6))
		return -EINVAL;
	ip_hdr_len = ip_header_len(pkt[0] >> 4 == 4 ? AF_INET : AF_INET6);
	if (cut < ip_hdr_len || cut > len)
		return -EINVAL;
	if (pkt[0] >> 4 == 4) {
		put_be16(pkt + 2, (uint16_t)cut);
		put_be16(pkt + 10, 0);
		put_be16(pkt + 10, inet_checksum(pkt, IPV4_HEADER_LEN, 0));
	} else {
		put_be16(pkt + 4, (uint16_t)(cut - IPV6_HEADER_LEN));
	}
	return (ssize_t)cut;
}

void udp_spec_init(struct udp_spec *spec, int family)
{
	memset(spec, 0, sizeof(*spec));
	spec->family = family;
	spec->ttl = DEFAULT_TTL;
	spec->length_field = -1;
	spec->checksum = CHECKSUM_CORRECT;
}

ssize_t packet_build_udp(const struct udp_spec *spec, uint8_t *buf, size_t size)
{
	const struct ip_fields ip = IP_FIELDS_OF(spec, IPPROTO_UDP);
	size_t ip_hdr_len, udp_len, len, i;
	uint16_t correct;
	uint8_t *udp;

	if (!ip_fields_valid(&ip) || !checksum_mode_valid(spec->checksum))
		return -EINVAL;
	if (spec->length_field < -1 || spec->length_field > 0xffff)
		return -EINVAL;
	if (!ip_payload_fits(spec->family, UDP_HEADER_LEN, spec->payload_len))
		return -EINVAL;
	ip_hdr_len = ip_header_len(spec->family);
	udp_len = UDP_HEADER_LEN + spec->payload_len;
	len = ip_hdr_len + udp_len;
	if (size < len)
		return -ENOSPC;

	ip_header_write(&ip, buf, len);
	udp = buf + ip_hdr_len;
	put_be16(udp, spec->sport);
	put_be16(udp + 2, spec->dport);
	put_be16(udp + 4, spec->length_field < 0 ? (uint16_t)udp_len : (uint16_t)spec->length_field);
	put_be16(udp + 6, 0);
	for (i = 0; i < spec->payload_len; i++)
		udp[UDP_HEADER_LEN + i] = packet_payload_byte(i);

	/*
	 * Over the bytes sent, with their count in the pseudo header rather than
	 * the length field: conntrack checks exactly this (nf_checksum() on
	 * skb->len), and a length field that lies must not also fail the checksum,
	 * or a test could not tell which of the two conntrack objected to.  The
	 * UDP layer sums only length-field bytes, which differs when the field is
	 * too small; a field too large is dropped by both before any checksum.
	 */
	correct = inet_checksum(udp, udp_len,
				pseudo_header_sum(spec->family, &spec->src, &spec->dst,
						  IPPROTO_UDP, udp_len));
	/* 0 says "no checksum" (RFC 768); 0xffff is the same sum spelled otherwise. */
	if (!correct)
		correct = 0xffff;
	put_be16(udp + 6, checksum_choose(spec->checksum, spec->checksum_value, correct));
	return (ssize_t)len;
}

void icmp_spec_init(struct icmp_spec *spec, int family)
{
	memset(spec, 0, sizeof(*spec));
	spec->family = family;
	spec->ttl = DEFAULT_TTL;
	spec->type = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	spec->checksum = CHECKSUM_CORRECT;
}

static bool icmp_spec_valid(const struct icmp_spec *spec)
{
	if (spec->family == AF_INET && icmp_has_mtu(spec->family, spec->type, spec->code) &&
	    spec->mtu > 0xffff)
		return false;
	if (spec->quote_len && (!spec->quote || spec->payload_len))
		return false;
	return checksum_mode_valid(spec->checksum);
}

ssize_t packet_build_icmp(const struct icmp_spec *spec, uint8_t *buf, size_t size)
{
	uint8_t protocol = spec->family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	const struct ip_fields ip = IP_FIELDS_OF(spec, protocol);
	size_t ip_hdr_len, body_len, quote_max, icmp_len, len, i;
	uint32_t sum = 0;
	uint8_t *icmp;

	if (!ip_fields_valid(&ip) || !icmp_spec_valid(spec))
		return -EINVAL;
	ip_hdr_len = ip_header_len(spec->family);
	quote_max = spec->family == AF_INET ? ICMP_QUOTE_MAX :
		    ICMPV6_PACKET_MAX - IPV6_HEADER_LEN - ICMP_HEADER_LEN;
	body_len = spec->payload_len;
	if (spec->quote_len)
		body_len = spec->quote_len < quote_max ? spec->quote_len : quote_max;
	if (!ip_payload_fits(spec->family, ICMP_HEADER_LEN, body_len))
		return -EINVAL;
	icmp_len = ICMP_HEADER_LEN + body_len;
	len = ip_hdr_len + icmp_len;
	if (size < len)
		return -ENOSPC;

	ip_header_write(&ip, buf, len);
	icmp = buf + ip_hdr_len;
	memset(icmp, 0, ICMP_HEADER_LEN);
	icmp[0] = spec->type;
	icmp[1] = spec->code;
	if (icmp_is_echo(spec->family, spec->type)) {
		put_be16(icmp + 4, spec->echo_id);
		put_be16(icmp + 6, spec->echo_seq);
	} else if (icmp_has_mtu(spec->family, spec->type, spec->code)) {
		if (spec->family == AF_INET)
			put_be16(icmp + 6, (uint16_t)spec->mtu);
		else
			put_be32(icmp + 4, spec->mtu);
	}
	if (spec->quote_len)
		memcpy(icmp + ICMP_HEADER_LEN, spec->quote, body_len);
	else
		for (i = 0; i < body_len; i++)
			icmp[ICMP_HEADER_LEN + i] = packet_payload_byte(i);

	if (spec->family == AF_INET6)
		sum = pseudo_header_sum(AF_INET6, &spec->src, &spec->dst, IPPROTO_ICMPV6, icmp_len);
	put_be16(icmp + 2, checksum_choose(spec->checksum, spec->checksum_value,
					   inet_checksum(icmp, icmp_len, sum)));
	return (ssize_t)len;
}

struct icmp_message_codes {
	const char *name;
	uint8_t type, code;		/* ICMP */
	uint8_t type6, code6;		/* ICMPv6 */
};

static const struct icmp_message_codes icmp_messages[] = {
	{ "echo-request", ICMP_ECHO, 0, ICMP6_ECHO_REQUEST, 0 },
	{ "echo-reply", ICMP_ECHOREPLY, 0, ICMP6_ECHO_REPLY, 0 },
	{ "port-unreachable", ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
	  ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT },
	{ "host-unreachable", ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
	  ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR },
	{ "admin-prohibited", ICMP_DEST_UNREACH, ICMP_PKT_FILTERED,
	  ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN },
	{ "too-big", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP6_PACKET_TOO_BIG, 0 },
	{ "time-exceeded", ICMP_TIME_EXCEEDED, ICMP_EXC_TTL,
	  ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT },
};

int icmp_message_lookup(const char *name, int family, uint8_t *type, uint8_t *code)
{
	size_t i;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	for (i = 0; i < sizeof(icmp_messages) / sizeof(icmp_messages[0]); i++) {
		const struct icmp_message_codes *message = &icmp_messages[i];

		if (strcmp(message->name, name))
			continue;
		*type = family == AF_INET ? message->type : message->type6;
		*code = family == AF_INET ? message->code : message->code6;
		return 0;
	}
	return -EINVAL;
}
