/*
 * NFLOG record parsing.
 *
 * Observed on kernel 6.18 (tests/fixtures/make-nflog-fixture.sh):
 * - conntrack's invalid-packet logs (nf_conntrack_log_invalid=255, nf_log.2 and
 *   nf_log.10 = nfnetlink_log) arrive on group 0 with the prefix
 *   "nf_ct_proto_6: invalid tcp flag combination " (SYN+RST) and
 *   "nf_ct_proto_17: truncated/malformed packet " (UDP length past the end),
 *   trailing space included, for IPv4 and IPv6 alike; NFLOG family 2 or 10.
 * - Records for packets received carry hook 0 (PREROUTING) and IFINDEX_INDEV;
 *   those for packets sent carry hook 3 (LOCAL_OUT) and IFINDEX_OUTDEV.  Both
 *   carry PACKET_HDR with hw_protocol 0x0800/0x86dd, PREFIX and PAYLOAD (the
 *   full IP packet); received ones also HWADDR, HWTYPE, HWLEN, HWHEADER and
 *   TIMESTAMP; sent ones sometimes UID and GID.  TLVs come in the order
 *   PACKET_HDR, PREFIX, IFINDEX, ..., PAYLOAD.
 * - Group 0 records are handed on at once (conntrack logs with qthreshold 1),
 *   a few microseconds before the nft group 1 record of the same packet.
 *   nft "log group 1" records without "queue-threshold 1" came 1.03 s late,
 *   all in one batch.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"

#define NFLOG_HDR_LEN	4	/* family, version, be16 resource id */
#define NFLOG_VERSION	0	/* NFNETLINK_V0 */
#define CT_PREFIX	"nf_ct_proto_"

typedef int (*attr_parser)(struct nflog_record *rec, const uint8_t *value,
			   size_t len);

static int parse_packet_hdr(struct nflog_record *rec, const uint8_t *value,
			    size_t len)
{
	struct nfulnl_msg_packet_hdr hdr;

	if (len < sizeof(hdr))
		return -EINVAL;
	memcpy(&hdr, value, sizeof(hdr));
	rec->hw_protocol = ntohs(hdr.hw_protocol);
	rec->hook = hdr.hook;
	return 0;
}

static int parse_be32(uint32_t *out, const uint8_t *value, size_t len)
{
	uint32_t be;

	if (len < sizeof(be))
		return -EINVAL;
	memcpy(&be, value, sizeof(be));
	*out = ntohl(be);
	return 0;
}

static int parse_indev(struct nflog_record *rec, const uint8_t *value, size_t len)
{
	return parse_be32(&rec->indev, value, len);
}

static int parse_outdev(struct nflog_record *rec, const uint8_t *value, size_t len)
{
	return parse_be32(&rec->outdev, value, len);
}

static int parse_prefix(struct nflog_record *rec, const uint8_t *value,
			size_t len)
{
	const uint8_t *nul = memchr(value, '\0', len);
	size_t n;

	/* The kernel always sends the NUL; without it the record is corrupt. */
	if (!nul)
		return -EINVAL;
	n = (size_t)(nul - value);
	if (n > sizeof(rec->prefix) - 1)
		n = sizeof(rec->prefix) - 1;
	memcpy(rec->prefix, value, n);
	rec->prefix[n] = '\0';
	return 0;
}

static int parse_payload(struct nflog_record *rec, const uint8_t *value,
			 size_t len)
{
	rec->payload = value;
	rec->payload_len = len;
	return 0;
}

/*
 * The attribute at @off of @data[0..@len): its header into @attr, 0; or
 * -EINVAL when there is no whole header there or it runs past the end (or
 * counts less than itself, which would loop forever).
 */
static int attr_at(const uint8_t *data, size_t len, size_t off, struct nlattr *attr)
{
	if (len - off < NLA_HDRLEN)
		return -EINVAL;
	memcpy(attr, data + off, sizeof(*attr));
	return attr->nla_len < NLA_HDRLEN || attr->nla_len > len - off ? -EINVAL : 0;
}

/* Where the attribute after @attr at @off begins; the last attribute's
 * padding may be missing from a capture. */
static size_t attr_next(size_t len, size_t off, const struct nlattr *attr)
{
	size_t step = NLA_ALIGN(attr->nla_len);

	return off + (step < len - off ? step : len - off);
}

/*
 * Finds attribute @type in the attributes @data[0..@len) (nested flag and
 * byte-order flag ignored); its value and length, or NULL. A malformed one
 * ends the search.
 */
static const uint8_t *find_attr(const uint8_t *data, size_t len, uint16_t type, size_t *value_len)
{
	struct nlattr attr;

	for (size_t off = 0; off < len && attr_at(data, len, off, &attr) == 0;
	     off = attr_next(len, off, &attr)) {
		if ((attr.nla_type & NLA_TYPE_MASK) == type) {
			*value_len = attr.nla_len - NLA_HDRLEN;
			return data + off + NLA_HDRLEN;
		}
	}
	return NULL;
}

/* The packet's conntrack entry, as ctnetlink writes it (NFULNL_CFG_F_CONNTRACK):
 * its status and, for TCP, its state. What is missing or malformed is left
 * out, never an error: the packet is what matters. */
static int parse_ct(struct nflog_record *rec, const uint8_t *value, size_t len)
{
	const uint8_t *status, *info, *tcp, *state;
	size_t status_len, info_len, tcp_len, state_len;

	rec->has_ct = true;
	status = find_attr(value, len, CTA_STATUS, &status_len);
	if (status)
		parse_be32(&rec->ct_status, status, status_len);
	info = find_attr(value, len, CTA_PROTOINFO, &info_len);
	tcp = info ? find_attr(info, info_len, CTA_PROTOINFO_TCP, &tcp_len) : NULL;
	state = tcp ? find_attr(tcp, tcp_len, CTA_PROTOINFO_TCP_STATE, &state_len) : NULL;
	if (state && state_len >= 1)
		rec->ct_tcp_state = state[0];
	return 0;
}

static const attr_parser attr_parsers[NFULA_MAX + 1] = {
	[NFULA_CT]		= parse_ct,
	[NFULA_PACKET_HDR]	= parse_packet_hdr,
	[NFULA_IFINDEX_INDEV]	= parse_indev,
	[NFULA_IFINDEX_OUTDEV]	= parse_outdev,
	[NFULA_PAYLOAD]		= parse_payload,
	[NFULA_PREFIX]		= parse_prefix,
};

int nflog_parse(const uint8_t *data, size_t len, struct nflog_record *rec)
{
	size_t off = NFLOG_HDR_LEN;
	struct nlattr attr;
	uint16_t rid;

	memset(rec, 0, sizeof(*rec));
	rec->hook = -1;
	rec->ct_tcp_state = -1;
	if (len < NFLOG_HDR_LEN || data[1] != NFLOG_VERSION)
		return -EINVAL;
	rec->family = data[0];
	memcpy(&rid, data + 2, sizeof(rid));
	rec->group = ntohs(rid);

	for (; off < len; off = attr_next(len, off, &attr)) {
		uint16_t type;
		int err;

		if (attr_at(data, len, off, &attr) < 0)
			return -EINVAL;
		type = attr.nla_type & NLA_TYPE_MASK;
		if (type < sizeof(attr_parsers) / sizeof(attr_parsers[0]) &&
		    attr_parsers[type]) {
			err = attr_parsers[type](rec, data + off + NLA_HDRLEN,
						 attr.nla_len - NLA_HDRLEN);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Splits a conntrack log prefix: returns N and sets *reason to the text after
 * "nf_ct_proto_N:" and its spaces, or returns -1.
 */
static int ct_prefix_split(const struct nflog_record *rec, const char **reason)
{
	const char *p = rec->prefix + strlen(CT_PREFIX);
	int proto = 0;
	int digits = 0;

	if (strncmp(rec->prefix, CT_PREFIX, strlen(CT_PREFIX)) != 0)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		proto = proto * 10 + (*p - '0');
		if (++digits > 3 || proto > 255)
			return -1;
	}
	if (!digits || *p != ':')
		return -1;
	for (p++; *p == ' '; p++)
		;
	*reason = p;
	return proto;
}

int nflog_ct_protocol(const struct nflog_record *rec)
{
	const char *reason;

	return ct_prefix_split(rec, &reason);
}

int nflog_reason(const struct nflog_record *rec, char *buf, size_t size)
{
	const char *reason;
	size_t n, copy;

	if (ct_prefix_split(rec, &reason) < 0)
		return -1;
	n = strlen(reason);
	while (n && reason[n - 1] == ' ')
		n--;
	if (size) {
		copy = n < size - 1 ? n : size - 1;
		memcpy(buf, reason, copy);
		buf[copy] = '\0';
	}
	return (int)n;
}
