/* Packet parser: a seen IPv4/IPv6 packet into a packet_summary; TCP flag letters to and from text. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "packet/packet.h"
#include "packet/internal.h"

#define IPV4_FRAG_OFFSET_MASK	0x1fff

enum ipv6_ext_header {
	IPV6_EXT_HOP_BY_HOP = 0,
	IPV6_EXT_ROUTING = 43,
	IPV6_EXT_FRAGMENT = 44,
	IPV6_EXT_DEST_OPTS = 60,
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
		case TCPOPT_KIND_SACK:
			for (size_t b = 0; (opt_len - 2) % 8 == 0 && b < (size_t)(opt_len - 2) / 8 &&
			     out->n_sack < TCP_SACK_BLOCKS_MAX; b++) {
				out->sack[out->n_sack][0] = get_be32(opt + i + 2 + 8 * b);
				out->sack[out->n_sack++][1] = get_be32(opt + i + 6 + 8 * b);
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

/* The messages that quote the packet they are about. */
static bool icmp_is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
		       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type >= ICMP6_DST_UNREACH && type <= ICMP6_PARAM_PROB;
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

int packet_fix_checksum(uint8_t *pkt, size_t len)
{
	size_t hdr_len, end, off, l4_len, at;
	uint8_t protocol;
	bool fragment = false;
	union inet_addr src, dst;
	int family;
	uint32_t sum = 0;
	uint16_t old, want;

	if (len < 1)
		return -EINVAL;
	if (pkt[0] >> 4 == 4) {
		hdr_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < IPV4_HEADER_LEN || hdr_len < IPV4_HEADER_LEN || len < hdr_len)
			return -EINVAL;
		end = get_be16(pkt + 2);
		protocol = pkt[9];
		fragment = (get_be16(pkt + 6) & (IPV4_FRAG_OFFSET_MASK | 0x2000)) != 0;
		family = AF_INET;
		memcpy(&src.v4, pkt + 12, 4);
		memcpy(&dst.v4, pkt + 16, 4);
	} else if (pkt[0] >> 4 == 6) {
		if (len < IPV6_HEADER_LEN)
			return -EINVAL;
		hdr_len = IPV6_HEADER_LEN;
		end = (size_t)get_be16(pkt + 4) + IPV6_HEADER_LEN;
		protocol = pkt[6];
		family = AF_INET6;
		memcpy(&src.v6, pkt + 8, 16);
		memcpy(&dst.v6, pkt + 24, 16);
	} else {
		return -EINVAL;
	}
	if (end < hdr_len || end > len)
		return -EINVAL;
	off = hdr_len;
	if (family == AF_INET6 && !ipv6_ext_skip(pkt, end, &off, &protocol, &fragment))
		return -EINVAL;
	/* A fragment's checksum covers bytes that are not here. */
	if (fragment || off >= end)
		return 0;
	l4_len = end - off;
	switch (protocol) {
	case IPPROTO_TCP:
		at = 16;
		break;
	case IPPROTO_UDP:
		at = 6;
		/* None (IPv4) or a real mistake (IPv6): what the capture says, not offloading. */
		if (l4_len >= UDP_HEADER_LEN && !get_be16(pkt + off + at))
			return 0;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		at = 2;
		break;
	default:
		return 0;
	}
	if (l4_len < at + 2)
		return 0;
	if (protocol != IPPROTO_ICMP)
		sum = pseudo_header_sum(family, &src, &dst, protocol, l4_len);
	old = get_be16(pkt + off + at);
	put_be16(pkt + off + at, 0);
	want = inet_checksum(pkt + off, l4_len, sum);
	if (protocol == IPPROTO_UDP && want == 0)
		want = 0xffff;
	put_be16(pkt + off + at, want);
	return old != want;
}

bool packet_same_flow(const struct packet_summary *a, const struct packet_summary *b)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	if (a->family != b->family || a->protocol != b->protocol)
		return false;
	if (!memcmp(&a->src, &b->src, len) && !memcmp(&a->dst, &b->dst, len) &&
	    a->sport == b->sport && a->dport == b->dport)
		return true;
	return !memcmp(&a->src, &b->dst, len) && !memcmp(&a->dst, &b->src, len) &&
	       a->sport == b->dport && a->dport == b->sport;
}

bool packet_copy_of(const struct packet_summary *a, const struct packet_summary *b)
{
	if (a->family != b->family || a->protocol != b->protocol)
		return false;
	if (a->family == AF_INET ? a->ip_id != b->ip_id : a->flow_label != b->flow_label)
		return false;
	return a->seq == b->seq && a->ack == b->ack && a->flags == b->flags &&
	       a->payload_len == b->payload_len && a->icmp_type == b->icmp_type &&
	       (a->sport == b->sport || a->dport == b->dport);
}
