/* nflog.h — parse NFLOG records (libpcap DLT_NFLOG) into hook, prefix and packet. */
#ifndef CTLAB_NFLOG_H
#define CTLAB_NFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFLOG_PREFIX_SIZE 128	/* the kernel's NF_LOG_PREFIXLEN, NUL included */

/* One NFLOG record as delivered by the kernel (one captured "packet"). */
struct nflog_record {
	uint8_t family;		/* NFPROTO_IPV4 (2) / NFPROTO_IPV6 (10) / ... */
	uint16_t group;		/* NFLOG group (nfgenmsg resource id) */
	int hook;		/* NF_INET_* hook number, -1 if absent */
	uint16_t hw_protocol;	/* ethertype, host order, 0 if absent */
	uint32_t indev, outdev;	/* ifindex, 0 if absent */
	char prefix[NFLOG_PREFIX_SIZE];	/* "" if absent; truncated, always NUL-terminated */
	const uint8_t *payload;	/* the IP packet, pointing into the parsed buffer; NULL if absent */
	size_t payload_len;
	/* NFULA_CT, when the group asks for it (NFULNL_CFG_F_CONNTRACK) and the
	 * packet has an entry (not an INVALID or untracked one): */
	bool has_ct;
	uint32_t ct_status;	/* IPS_* bits, 0 if absent */
	int ct_tcp_state;	/* TCP_CONNTRACK_*, -1 if absent (not TCP, or no entry) */
};

/*
 * nflog_parse - fill @rec from the DLT_NFLOG record @data of @len bytes.
 * TLV headers are taken in host byte order, as the kernel writes them and as
 * libpcap hands them over (it swaps them when reading a savefile written on
 * a host of the other byte order).  Attributes ctlab does not use are skipped.
 * @rec->payload points into @data, which must outlive its use.
 * Returns 0, or -EINVAL for a malformed record (short header, version other
 * than 0, attribute shorter than its header or running past the end, short
 * fixed-size attribute, prefix without its NUL); @rec is then unspecified.
 * Never reads outside @data[0..len).
 */
int nflog_parse(const uint8_t *data, size_t len, struct nflog_record *rec);

/*
 * nflog_ct_protocol - the layer 4 protocol number N of a conntrack
 * invalid-packet log, whose prefix reads "nf_ct_proto_N: <reason> ".
 * Returns N (0..255), or -1 if @rec's prefix is not a conntrack log.
 */
int nflog_ct_protocol(const struct nflog_record *rec);

/*
 * nflog_reason - copy the reason of a conntrack invalid-packet log (the prefix
 * without "nf_ct_proto_N: " and without trailing spaces) into @buf of @size
 * bytes, truncated and NUL-terminated when @size > 0 (@buf may be NULL if
 * @size is 0).
 * Returns the reason's full length, as snprintf does, or -1 if @rec is not a
 * conntrack log.
 */
int nflog_reason(const struct nflog_record *rec, char *buf, size_t size);

#endif /* CTLAB_NFLOG_H */
