#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "packet/packet.h"

#define IPV4_FLAG_DF		0x4000
#define IPV4_FRAG_OFFSET_MASK	0x1fff
#define DEFAULT_TTL		64

enum tcp_option_kind {
	TCPOPT_KIND_EOL = 0,
	TCPOPT_KIND_NOP = 1,
	TCPOPT_KIND_MSS = 2,
	TCPOPT_KIND_WSCALE = 3,
	TCPOPT_KIND_SACK_PERM = 4,
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

enum ipv6_ext_header {
	IPV6_EXT_HOP_BY_HOP = 0,
	IPV6_EXT_ROUTING = 43,
	IPV6_EXT_FRAGMENT = 44,
	IPV6_EXT_DEST_OPTS = 60,
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t inet_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *bytes = data;
	uint64_t total = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		total += (uint32_t)(bytes[i] << 8 | bytes[i + 1]);
	if (len & 1)
		total += (uint32_t)bytes[len - 1] << 8;
	while (total >> 16)
		total = (total & 0xffff) + (total >> 16);
	return (uint32_t)total;
}

uint16_t inet_checksum(const void *data, size_t len, uint32_t sum)
{
	return (uint16_t)~inet_sum(data, len, sum);
}

static uint32_t pseudo_header_sum(int family, const union inet_addr *src,
				  const union inet_addr *dst, uint8_t protocol,
				  size_t l4_len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum;

	if (family == AF_INET) {
		sum = inet_sum(&src->v4, sizeof(src->v4), 0);
		sum = inet_sum(&dst->v4, sizeof(dst->v4), sum);
		tail[1] = protocol;
		put_be16(tail + 2, (uint16_t)l4_len);
		return inet_sum(tail, 4, sum);
	}
	sum = inet_sum(&src->v6, sizeof(src->v6), 0);
	sum = inet_sum(&dst->v6, sizeof(dst->v6), sum);
	put_be32(tail, (uint32_t)l4_len);
	tail[7] = protocol;
	return inet_sum(tail, 8, sum);
}

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

static size_t tcp_options_len(const struct tcp_spec *spec)
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
	return len;
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
	tcp_len = TCP_HEADER_MIN + tcp_options_len(spec);
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

static bool icmp_is_echo(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMP6_ECHO_REQUEST || type == ICMP6_ECHO_REPLY;
}

/* The messages that quote the packet they are about. */
static bool icmp_is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
		       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type >= ICMP6_DST_UNREACH && type <= ICMP6_PARAM_PROB;
}

static bool icmp_has_mtu(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED;
	return type == ICMP6_PACKET_TOO_BIG;
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

static void tcp_options_parse(const uint8_t *opt, size_t len, struct packet_summary *out)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = opt[i], opt_len;

		if (kind == TCPOPT_KIND_EOL)
			return;
		if (kind == TCPOPT_KIND_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return;
		opt_len = opt[i + 1];
		if (opt_len < 2 || i + opt_len > len)
			return;
		switch (kind) {
		case TCPOPT_KIND_MSS:
			if (opt_len == 4)
				out->mss = get_be16(opt + i + 2);
			break;
		case TCPOPT_KIND_WSCALE:
			if (opt_len == 3)
				out->wscale = opt[i + 2];
			break;
		case TCPOPT_KIND_SACK_PERM:
			if (opt_len == 2)
				out->sack_permitted = true;
			break;
		case TCPOPT_KIND_TIMESTAMP:
			if (opt_len == 10) {
				out->timestamp = true;
				out->ts_val = get_be32(opt + i + 2);
				out->ts_ecr = get_be32(opt + i + 6);
			}
			break;
		}
		i += opt_len;
	}
}

/*
 * @l4 holds @avail captured bytes of a segment the IP header says is
 * @claimed bytes long (avail <= claimed).
 */
static void tcp_parse(const uint8_t *l4, size_t avail, size_t claimed,
		      struct packet_summary *out)
{
	size_t hdr_len;

	if (avail >= 4) {
		out->sport = get_be16(l4);
		out->dport = get_be16(l4 + 2);
	}
	if (avail < TCP_HEADER_MIN) {
		out->truncated = true;
		return;
	}
	out->seq = get_be32(l4 + 4);
	out->ack = get_be32(l4 + 8);
	out->data_offset = l4[12] >> 4;
	out->flags = l4[13];
	out->window = get_be16(l4 + 14);
	out->tcp_checksum = get_be16(l4 + 16);
	out->urgent = get_be16(l4 + 18);

	hdr_len = (size_t)out->data_offset * 4;
	if (hdr_len < TCP_HEADER_MIN)
		hdr_len = TCP_HEADER_MIN;
	if (hdr_len > claimed)
		out->truncated = true;
	tcp_options_parse(l4 + TCP_HEADER_MIN,
			  (hdr_len < avail ? hdr_len : avail) - TCP_HEADER_MIN, out);
	out->payload_len = claimed > hdr_len ? claimed - hdr_len : 0;
}

static bool ipv6_is_ext_header(uint8_t next_header)
{
	return next_header == IPV6_EXT_HOP_BY_HOP || next_header == IPV6_EXT_ROUTING ||
	       next_header == IPV6_EXT_FRAGMENT || next_header == IPV6_EXT_DEST_OPTS;
}

/*
 * Step *@off over the IPv6 extension headers of @pkt (@len bytes usable),
 * leaving the upper-layer header in *@protocol.  Returns false if one of them
 * is cut off.
 */
static bool ipv6_ext_skip(const uint8_t *pkt, size_t len, size_t *off, uint8_t *protocol,
			  bool *fragment)
{
	while (ipv6_is_ext_header(*protocol)) {
		size_t ext_len = 8;

		if (len < *off + 8)
			return false;
		if (*protocol == IPV6_EXT_FRAGMENT) {
			if (get_be16(pkt + *off + 2) >> 3)
				*fragment = true;
		} else {
			ext_len = ((size_t)pkt[*off + 1] + 1) * 8;
		}
		*protocol = pkt[*off];
		*off += ext_len;
	}
	return true;
}

static void udp_parse(const uint8_t *l4, size_t avail, size_t claimed,
		      struct packet_summary *out)
{
	if (avail >= 4) {
		out->sport = get_be16(l4);
		out->dport = get_be16(l4 + 2);
	}
	if (avail < UDP_HEADER_LEN) {
		out->truncated = true;
	} else {
		out->udp_length = get_be16(l4 + 4);
		if (avail == claimed && !get_be16(l4 + 6))
			/* No checksum: RFC 768 allows it, RFC 8200 not for IPv6. */
			out->udp_checksum_ok = out->family == AF_INET;
		else if (avail == claimed)
			out->udp_checksum_ok =
				inet_checksum(l4, claimed,
					      pseudo_header_sum(out->family, &out->src, &out->dst,
								IPPROTO_UDP, claimed)) == 0;
	}
	out->payload_len = claimed > UDP_HEADER_LEN ? claimed - UDP_HEADER_LEN : 0;
}

/* Returns false if @len bytes do not even hold the quoted IP header. */
static bool quote_parse(const uint8_t *pkt, size_t len, struct packet_quote *quote)
{
	bool fragment = false;
	size_t off;
	const uint8_t *l4;

	if (len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4:
		off = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < IPV4_HEADER_LEN || off < IPV4_HEADER_LEN || len < off)
			return false;
		quote->family = AF_INET;
		quote->protocol = pkt[9];
		fragment = (get_be16(pkt + 6) & IPV4_FRAG_OFFSET_MASK) != 0;
		memcpy(&quote->src.v4, pkt + 12, 4);
		memcpy(&quote->dst.v4, pkt + 16, 4);
		break;
	case 6:
		if (len < IPV6_HEADER_LEN)
			return false;
		off = IPV6_HEADER_LEN;
		quote->family = AF_INET6;
		quote->protocol = pkt[6];
		memcpy(&quote->src.v6, pkt + 8, 16);
		memcpy(&quote->dst.v6, pkt + 24, 16);
		if (!ipv6_ext_skip(pkt, len, &off, &quote->protocol, &fragment))
			return true;
		break;
	default:
		return false;
	}
	if (fragment || len < off + 4)
		return true;
	l4 = pkt + off;
	if (quote->protocol != IPPROTO_TCP && quote->protocol != IPPROTO_UDP)
		return true;
	quote->sport = get_be16(l4);
	quote->dport = get_be16(l4 + 2);
	if (quote->protocol == IPPROTO_TCP && len >= off + 8)
		quote->seq = get_be32(l4 + 4);
	return true;
}

static void icmp_parse(const uint8_t *l4, size_t avail, size_t claimed,
		       struct packet_summary *out)
{
	uint32_t sum = 0;

	if (avail >= 2) {
		out->icmp_type = l4[0];
		out->icmp_code = l4[1];
	}
	out->payload_len = claimed > ICMP_HEADER_LEN ? claimed - ICMP_HEADER_LEN : 0;
	if (avail < ICMP_HEADER_LEN) {
		out->truncated = true;
		return;
	}
	if (icmp_is_echo(out->family, out->icmp_type)) {
		out->icmp_id = get_be16(l4 + 4);
		out->icmp_seq = get_be16(l4 + 6);
	} else if (icmp_has_mtu(out->family, out->icmp_type, out->icmp_code)) {
		out->icmp_mtu = out->family == AF_INET ? get_be16(l4 + 6) : get_be32(l4 + 4);
	}
	if (icmp_is_error(out->family, out->icmp_type))
		out->has_quote = quote_parse(l4 + ICMP_HEADER_LEN, avail - ICMP_HEADER_LEN,
					     &out->quote);
	if (avail < claimed)
		return;
	if (out->family == AF_INET6)
		sum = pseudo_header_sum(AF_INET6, &out->src, &out->dst, IPPROTO_ICMPV6, claimed);
	out->icmp_checksum_ok = inet_checksum(l4, claimed, sum) == 0;
}

static void transport_parse(const uint8_t *l4, size_t avail, size_t claimed,
			    struct packet_summary *out)
{
	switch (out->protocol) {
	case IPPROTO_TCP:
		tcp_parse(l4, avail, claimed, out);
		if (avail == claimed && claimed >= 18)
			out->tcp_checksum_ok =
				inet_checksum(l4, claimed,
					      pseudo_header_sum(out->family, &out->src, &out->dst,
								IPPROTO_TCP, claimed)) == 0;
		return;
	case IPPROTO_UDP:
		udp_parse(l4, avail, claimed, out);
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		icmp_parse(l4, avail, claimed, out);
		return;
	default:
		out->payload_len = claimed;
		return;
	}
}

int packet_parse(const uint8_t *pkt, size_t len, struct packet_summary *out)
{
	size_t hdr_len, end, off;
	uint32_t word;

	memset(out, 0, sizeof(*out));
	out->mss = -1;
	out->wscale = -1;
	if (len < 1)
		return -EINVAL;

	switch (pkt[0] >> 4) {
	case 4:
		hdr_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < IPV4_HEADER_LEN || hdr_len < IPV4_HEADER_LEN || len < hdr_len)
			return -EINVAL;
		out->family = AF_INET;
		out->tos = pkt[1];
		out->ip_len = get_be16(pkt + 2);
		out->ip_id = get_be16(pkt + 4);
		out->fragment = (get_be16(pkt + 6) & IPV4_FRAG_OFFSET_MASK) != 0;
		out->ttl = pkt[8];
		out->protocol = pkt[9];
		out->ip_checksum_ok = inet_checksum(pkt, hdr_len, 0) == 0;
		memcpy(&out->src.v4, pkt + 12, 4);
		memcpy(&out->dst.v4, pkt + 16, 4);
		break;
	case 6:
		if (len < IPV6_HEADER_LEN)
			return -EINVAL;
		hdr_len = IPV6_HEADER_LEN;
		out->family = AF_INET6;
		word = get_be32(pkt);
		out->tos = (uint8_t)(word >> 20);
		out->flow_label = word & IPV6_FLOW_LABEL_MAX;
		out->ip_len = (uint32_t)get_be16(pkt + 4) + IPV6_HEADER_LEN;
		out->protocol = pkt[6];
		out->ttl = pkt[7];
		out->ip_checksum_ok = true;
		memcpy(&out->src.v6, pkt + 8, 16);
		memcpy(&out->dst.v6, pkt + 24, 16);
		break;
	default:
		return -EINVAL;
	}

	end = out->ip_len;
	if (end < hdr_len) {
		/* The IP length does not even cover the IP header. */
		out->truncated = true;
		return 0;
	}
	if (end > len)
		out->truncated = true;
	else
		len = end;	/* ignore link-layer padding */

	off = hdr_len;
	if (out->family == AF_INET6 &&
	    !ipv6_ext_skip(pkt, len, &off, &out->protocol, &out->fragment)) {
		out->truncated = true;
		return 0;
	}
	if (off > end) {
		out->truncated = true;
		return 0;
	}
	if (out->fragment) {
		out->payload_len = end - off;
		return 0;
	}
	transport_parse(pkt + off, len > off ? len - off : 0, end - off, out);
	return 0;
}

/* Index i is the flag bit 1 << i; the output order is tcp_flags_order. */
static const char tcp_flag_letters[8] = { 'F', 'S', 'R', 'P', 'A', 'U', 'E', 'C' };
static const uint8_t tcp_flags_order[8] = {
	TCP_FLAG_SYN, TCP_FLAG_FIN, TCP_FLAG_RST, TCP_FLAG_PSH,
	TCP_FLAG_ACK, TCP_FLAG_URG, TCP_FLAG_ECE, TCP_FLAG_CWR,
};

int tcp_flags_parse(const char *text, uint8_t *flags, const char **bad)
{
	const char *c;
	uint8_t parsed = 0;

	if (strcmp(text, "none") == 0) {
		*flags = 0;
		return 0;
	}
	for (c = text; *c; c++) {
		const char *letter = memchr(tcp_flag_letters, *c, sizeof(tcp_flag_letters));
		uint8_t bit;

		if (!letter)
			goto out_bad;
		bit = (uint8_t)(1u << (letter - tcp_flag_letters));
		if (parsed & bit)
			goto out_bad;
		parsed |= bit;
	}
	*flags = parsed;
	return 0;

out_bad:
	if (bad)
		*bad = c;
	return -EINVAL;
}

const char *tcp_flags_format(uint8_t flags, char buf[TCP_FLAGS_STRLEN])
{
	char *p = buf;
	size_t i;

	if (!flags)
		return strcpy(buf, "none");
	for (i = 0; i < sizeof(tcp_flags_order); i++) {
		uint8_t bit = tcp_flags_order[i];

		if (flags & bit)
			*p++ = tcp_flag_letters[__builtin_ctz(bit)];
	}
	*p = '\0';
	return buf;
}
