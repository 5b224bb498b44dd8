/* test_nflog.c — NFLOG record parsing against captured fixtures and hand-made records. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <pcap/pcap.h>

#include "observe/nflog.h"
#include "suite.h"

#define IFINDEX_SERVER_ETH0	2	/* eth0 in the capturing namespace */

/* What tests/fixtures/make-nflog-fixture.sh recorded, in order. */
struct expected_record {
	uint16_t group;
	int hook;
	const char *prefix;
	size_t payload_len;	/* IPv4 total length / IPv6 40 + payload length */
	int ct_protocol;	/* -1: not a conntrack log */
	const char *reason;
};

#define ESTABLISHED(h, l)	{ 1, h, "ctlab established", l, -1, NULL }

static const struct expected_record v4_records[] = {
	{ 1, 0, "ctlab new", 60, -1, NULL },	/* SYN */
	ESTABLISHED(3, 60),			/* SYN/ACK */
	ESTABLISHED(0, 52),			/* ACK */
	ESTABLISHED(0, 57),			/* "ping\n" */
	ESTABLISHED(3, 52),			/* ACK */
	ESTABLISHED(3, 57),			/* "pong\n" */
	ESTABLISHED(0, 52),			/* ACK */
	ESTABLISHED(0, 52),			/* FIN */
	ESTABLISHED(3, 52),			/* FIN */
	ESTABLISHED(0, 52),			/* ACK */
	{ 0, 0, "nf_ct_proto_6: invalid tcp flag combination ", 40, 6,
	  "invalid tcp flag combination" },	/* SYN+RST */
	{ 1, 0, "ctlab invalid", 40, -1, NULL },
	{ 0, 0, "nf_ct_proto_17: truncated/malformed packet ", 32, 17,
	  "truncated/malformed packet" },	/* UDP, length 100 */
	{ 1, 0, "ctlab invalid", 32, -1, NULL },
};

static const struct expected_record v6_records[] = {
	{ 1, 0, "ctlab new", 80, -1, NULL },
	ESTABLISHED(3, 80),
	ESTABLISHED(0, 72),
	ESTABLISHED(0, 77),
	ESTABLISHED(3, 72),
	ESTABLISHED(3, 77),
	ESTABLISHED(0, 72),
	ESTABLISHED(0, 72),
	ESTABLISHED(3, 72),
	ESTABLISHED(0, 72),
	{ 0, 0, "nf_ct_proto_6: invalid tcp flag combination ", 60, 6,
	  "invalid tcp flag combination" },
	{ 1, 0, "ctlab invalid", 60, -1, NULL },
	{ 0, 0, "nf_ct_proto_17: truncated/malformed packet ", 52, 17,
	  "truncated/malformed packet" },
	{ 1, 0, "ctlab invalid", 52, -1, NULL },
};

#define N_RECORDS (sizeof(v4_records) / sizeof(v4_records[0]))

static const char *fixture_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("CTLAB_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fixtures",
		 name);
	return path;
}

static pcap_t *open_fixture(const char *name)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(fixture_path(name), err);

	ck_assert_msg(p, "%s: %s", fixture_path(name), err);
	ck_assert_int_eq(pcap_datalink(p), DLT_NFLOG);
	return p;
}

/* Checks the IP header at the start of the payload: version, length, addresses. */
static void check_ip(const struct nflog_record *rec, int family, int outgoing)
{
	const char *client = family == AF_INET ? "198.18.0.1" : "2001:db8::1";
	const char *server = family == AF_INET ? "198.18.0.2" : "2001:db8::2";
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	size_t addr_off, addr_len;
	uint16_t len_field;

	ck_assert_ptr_nonnull(rec->payload);
	if (family == AF_INET) {
		ck_assert_uint_ge(rec->payload_len, 20);
		ck_assert_uint_eq(rec->payload[0] >> 4, 4);
		memcpy(&len_field, rec->payload + 2, 2);
		ck_assert_uint_eq(ntohs(len_field), rec->payload_len);
		addr_off = 12;
		addr_len = 4;
	} else {
		ck_assert_uint_ge(rec->payload_len, 40);
		ck_assert_uint_eq(rec->payload[0] >> 4, 6);
		memcpy(&len_field, rec->payload + 4, 2);
		ck_assert_uint_eq(ntohs(len_field) + 40u, rec->payload_len);
		addr_off = 8;
		addr_len = 16;
	}
	ck_assert_ptr_nonnull(inet_ntop(family, rec->payload + addr_off, src, sizeof(src)));
	ck_assert_ptr_nonnull(inet_ntop(family, rec->payload + addr_off + addr_len,
					dst, sizeof(dst)));
	ck_assert_str_eq(src, outgoing ? server : client);
	ck_assert_str_eq(dst, outgoing ? client : server);
}

static void check_fixture(const char *name, const struct expected_record *want,
			  int family)
{
	pcap_t *p = open_fixture(name);
	struct pcap_pkthdr *hdr;
	const u_char *data;
	size_t i = 0;
	int ret;

	while ((ret = pcap_next_ex(p, &hdr, &data)) == 1) {
		const struct expected_record *w = &want[i];
		struct nflog_record rec;
		char reason[64];
		int outgoing;

		ck_assert_uint_lt(i, N_RECORDS);
		ck_assert_uint_eq(hdr->caplen, hdr->len);
		ck_assert_int_eq(nflog_parse(data, hdr->caplen, &rec), 0);
		ck_assert_uint_eq(rec.family, family == AF_INET ? 2 : 10);
		ck_assert_uint_eq(rec.group, w->group);
		ck_assert_int_eq(rec.hook, w->hook);
		ck_assert_uint_eq(rec.hw_protocol, family == AF_INET ? 0x0800 : 0x86dd);
		ck_assert_str_eq(rec.prefix, w->prefix);
		ck_assert_uint_eq(rec.payload_len, w->payload_len);
		/* PAYLOAD comes last, padded to 4 bytes. */
		ck_assert_uint_eq(data + hdr->caplen - rec.payload, (rec.payload_len + 3) & ~3u);

		outgoing = w->hook == 3;	/* NF_INET_LOCAL_OUT */
		ck_assert_uint_eq(rec.indev, outgoing ? 0 : IFINDEX_SERVER_ETH0);
		ck_assert_uint_eq(rec.outdev, outgoing ? IFINDEX_SERVER_ETH0 : 0);
		check_ip(&rec, family, outgoing);

		ck_assert_int_eq(nflog_ct_protocol(&rec), w->ct_protocol);
		if (w->reason) {
			ck_assert_int_eq(nflog_reason(&rec, reason, sizeof(reason)),
					 (int)strlen(w->reason));
			ck_assert_str_eq(reason, w->reason);
			/* The transport protocol in the packet agrees with N. */
			ck_assert_int_eq(rec.payload[family == AF_INET ? 9 : 6],
					 w->ct_protocol);
		} else {
			ck_assert_int_eq(nflog_reason(&rec, reason, sizeof(reason)), -1);
		}
		i++;
	}
	ck_assert_int_eq(ret, PCAP_ERROR_BREAK);
	ck_assert_uint_eq(i, N_RECORDS);
	pcap_close(p);
}

START_TEST(test_fixture_v4)
{
	check_fixture("nflog-v4.pcap", v4_records, AF_INET);
}
END_TEST

START_TEST(test_fixture_v6)
{
	check_fixture("nflog-v6.pcap", v6_records, AF_INET6);
}
END_TEST

/* Every truncation of every fixture record parses or fails cleanly (ASan/valgrind
 * see any overread: each copy is allocated at its exact length). */
static void truncate_all(const char *name)
{
	pcap_t *p = open_fixture(name);
	struct pcap_pkthdr *hdr;
	const u_char *data;

	while (pcap_next_ex(p, &hdr, &data) == 1) {
		for (size_t n = 0; n < hdr->caplen; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			struct nflog_record rec;
			int ret;

			ck_assert_ptr_nonnull(copy);
			memcpy(copy, data, n);
			ret = nflog_parse(copy, n, &rec);
			ck_assert(ret == 0 || ret == -EINVAL);
			if (ret == 0 && rec.payload)
				ck_assert(rec.payload + rec.payload_len <= copy + n);
			free(copy);
		}
	}
	pcap_close(p);
}

START_TEST(test_fixture_truncations)
{
	truncate_all("nflog-v4.pcap");
	truncate_all("nflog-v6.pcap");
}
END_TEST

/* Random byte corruption of the fixture records never reads out of bounds. */
START_TEST(test_fixture_corruptions)
{
	pcap_t *p = open_fixture("nflog-v4.pcap");
	struct pcap_pkthdr *hdr;
	const u_char *data;
	unsigned int seed = 1;

	while (pcap_next_ex(p, &hdr, &data) == 1) {
		for (int round = 0; round < 2000; round++) {
			uint8_t *copy = malloc(hdr->caplen);
			struct nflog_record rec;
			char reason[16];
			int ret;

			ck_assert_ptr_nonnull(copy);
			memcpy(copy, data, hdr->caplen);
			for (int k = 0; k < 3; k++)
				copy[rand_r(&seed) % hdr->caplen] = (uint8_t)rand_r(&seed);
			ret = nflog_parse(copy, hdr->caplen, &rec);
			ck_assert(ret == 0 || ret == -EINVAL);
			if (ret == 0) {
				ck_assert_uint_lt(strlen(rec.prefix), sizeof(rec.prefix));
				nflog_ct_protocol(&rec);
				nflog_reason(&rec, reason, sizeof(reason));
			}
			free(copy);
		}
	}
	pcap_close(p);
}
END_TEST

/* Hand-made records: a 4-byte header, then TLVs in host byte order. */
struct builder {
	uint8_t buf[512];
	size_t len;
};

static void build_header(struct builder *b, uint8_t family, uint8_t version,
			 uint16_t group)
{
	uint16_t be = htons(group);

	b->buf[0] = family;
	b->buf[1] = version;
	memcpy(b->buf + 2, &be, 2);
	b->len = 4;
}

/* Appends a TLV whose length field says @tlv_len, with @value_len bytes of
 * value, padded to 4 bytes unless @pad is 0. */
static void build_tlv_raw(struct builder *b, uint16_t type, uint16_t tlv_len,
			  const void *value, size_t value_len, int pad)
{
	ck_assert_uint_le(b->len + 4 + value_len + 3, sizeof(b->buf));
	memcpy(b->buf + b->len, &tlv_len, 2);
	memcpy(b->buf + b->len + 2, &type, 2);
	if (value_len)
		memcpy(b->buf + b->len + 4, value, value_len);
	b->len += 4 + value_len;
	while (pad && b->len % 4)
		b->buf[b->len++] = 0;
}

static void build_tlv(struct builder *b, uint16_t type, const void *value,
		      size_t value_len)
{
	build_tlv_raw(b, type, (uint16_t)(4 + value_len), value, value_len, 1);
}

/* Parses from an exactly sized heap copy so that overreads are caught. */
static int parse_exact(const struct builder *b, struct nflog_record *rec,
		       uint8_t **copy)
{
	*copy = malloc(b->len ? b->len : 1);
	ck_assert_ptr_nonnull(*copy);
	memcpy(*copy, b->buf, b->len);
	return nflog_parse(*copy, b->len, rec);
}

static int parse_built(const struct builder *b, struct nflog_record *rec)
{
	uint8_t *copy;
	int ret = parse_exact(b, rec, &copy);

	free(copy);
	return ret;
}

static const uint8_t ip_packet[20] = { 0x45, 0, 0, 20, 0, 1, 0, 0, 64, 6, 0, 0,
				       198, 18, 0, 1, 198, 18, 0, 2 };

static void build_valid(struct builder *b, const char *prefix)
{
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol = htons(0x0800), .hook = 1 };
	uint32_t ifindex = htonl(7);
	uint32_t mark = htonl(0x42);

	build_header(b, 2, 0, 0);
	build_tlv(b, NFULA_PACKET_HDR, &ph, sizeof(ph));
	build_tlv(b, NFULA_PREFIX, prefix, strlen(prefix) + 1);
	build_tlv(b, NFULA_MARK, &mark, 4);
	build_tlv(b, NFULA_IFINDEX_INDEV, &ifindex, 4);
	build_tlv(b, NFULA_PAYLOAD, ip_packet, sizeof(ip_packet));
}

START_TEST(test_valid_record)
{
	struct builder b;
	struct nflog_record rec;
	uint8_t *copy;

	build_valid(&b, "nf_ct_proto_6: invalid rst ");
	ck_assert_int_eq(parse_exact(&b, &rec, &copy), 0);
	ck_assert_uint_eq(rec.family, 2);
	ck_assert_uint_eq(rec.group, 0);
	ck_assert_int_eq(rec.hook, 1);
	ck_assert_uint_eq(rec.hw_protocol, 0x0800);
	ck_assert_uint_eq(rec.indev, 7);
	ck_assert_uint_eq(rec.outdev, 0);
	ck_assert_str_eq(rec.prefix, "nf_ct_proto_6: invalid rst ");
	ck_assert_uint_eq(rec.payload_len, sizeof(ip_packet));
	ck_assert_mem_eq(rec.payload, ip_packet, sizeof(ip_packet));
	ck_assert_ptr_eq(rec.payload, copy + b.len - sizeof(ip_packet));
	free(copy);
}
END_TEST

/* NFULA_CT as ctnetlink nests it: status, then protoinfo > tcp > state. */
static size_t build_ct(uint8_t *out, uint8_t state, bool cut_state)
{
	struct builder tcp = { .len = 0 }, info = { .len = 0 }, ct = { .len = 0 };
	uint32_t status = htonl(IPS_ASSURED | IPS_CONFIRMED);
	uint8_t flags[2] = { 0, 0 };

	build_tlv(&tcp, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, flags, 1);
	if (!cut_state)
		build_tlv(&tcp, CTA_PROTOINFO_TCP_STATE, &state, 1);
	build_tlv(&info, CTA_PROTOINFO_TCP | NLA_F_NESTED, tcp.buf, tcp.len);
	build_tlv(&ct, CTA_STATUS, &status, 4);
	build_tlv(&ct, CTA_PROTOINFO | NLA_F_NESTED, info.buf, info.len);
	memcpy(out, ct.buf, ct.len);
	return ct.len;
}

START_TEST(test_entry)
{
	struct builder b;
	struct nflog_record rec;
	uint8_t ct[256];
	size_t n;

	/* Without NFULA_CT: no entry, state -1. */
	build_valid(&b, "ctlab in established");
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert(!rec.has_ct);
	ck_assert_int_eq(rec.ct_tcp_state, -1);

	n = build_ct(ct, 3, false);
	build_valid(&b, "ctlab in established");
	build_tlv(&b, NFULA_CT | NLA_F_NESTED, ct, n);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert(rec.has_ct);
	ck_assert_int_eq(rec.ct_tcp_state, 3);
	ck_assert_uint_eq(rec.ct_status & IPS_ASSURED, IPS_ASSURED);
	ck_assert_uint_eq(rec.payload_len, sizeof(ip_packet));

	/* No state inside (UDP), and a nest cut short: the record still parses. */
	n = build_ct(ct, 3, true);
	build_valid(&b, "ctlab in established");
	build_tlv(&b, NFULA_CT, ct, n);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_int_eq(rec.ct_tcp_state, -1);
	n = build_ct(ct, 3, false);
	ct[n - 8] = 0xff;	/* the state TLV's length: past its nest */
	build_valid(&b, "ctlab in established");
	build_tlv(&b, NFULA_CT, ct, n);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_int_eq(rec.ct_tcp_state, -1);
}
END_TEST

START_TEST(test_header_only)
{
	struct builder b;
	struct nflog_record rec;

	build_header(&b, 10, 0, 0x1234);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_uint_eq(rec.family, 10);
	ck_assert_uint_eq(rec.group, 0x1234);
	ck_assert_int_eq(rec.hook, -1);
	ck_assert_uint_eq(rec.hw_protocol, 0);
	ck_assert_uint_eq(rec.indev, 0);
	ck_assert_str_eq(rec.prefix, "");
	ck_assert_ptr_null(rec.payload);
	ck_assert_uint_eq(rec.payload_len, 0);
	ck_assert_int_eq(nflog_ct_protocol(&rec), -1);
	ck_assert_int_eq(nflog_reason(&rec, NULL, 0), -1);
}
END_TEST

START_TEST(test_short_header)
{
	struct builder b;
	struct nflog_record rec;

	build_header(&b, 2, 0, 1);
	for (b.len = 0; b.len < 4; b.len++)
		ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
	ck_assert_int_eq(nflog_parse(NULL, 0, &rec), -EINVAL);
}
END_TEST

START_TEST(test_unknown_version)
{
	struct builder b;
	struct nflog_record rec;

	build_header(&b, 2, 1, 1);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
}
END_TEST

START_TEST(test_tlv_past_end)
{
	struct builder b;
	struct nflog_record rec;

	build_header(&b, 2, 0, 1);
	/* Says 200 bytes, holds 20. */
	build_tlv_raw(&b, NFULA_PAYLOAD, 200, ip_packet, sizeof(ip_packet), 1);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);

	/* A TLV header cut in the middle. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PAYLOAD, ip_packet, sizeof(ip_packet));
	b.buf[b.len++] = 8;
	b.buf[b.len++] = 0;
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
}
END_TEST

START_TEST(test_tlv_shorter_than_header)
{
	struct builder b;
	struct nflog_record rec;

	/* Length 0 would never advance; 1..3 do not even cover the header. */
	for (uint16_t l = 0; l < 4; l++) {
		build_header(&b, 2, 0, 1);
		build_tlv_raw(&b, NFULA_MARK, l, "\0\0\0\0", 4, 1);
		ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
	}
}
END_TEST

START_TEST(test_empty_tlv)
{
	struct builder b;
	struct nflog_record rec;

	/* A TLV of just its header is fine for an attribute that may be empty. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PAYLOAD, NULL, 0);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_ptr_nonnull(rec.payload);
	ck_assert_uint_eq(rec.payload_len, 0);

	/* But not for one with a fixed size. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PACKET_HDR, NULL, 0);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_IFINDEX_OUTDEV, "\0\0\0", 3);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
}
END_TEST

START_TEST(test_prefix_without_nul)
{
	struct builder b;
	struct nflog_record rec;

	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PREFIX, "ctlab new", 9);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);

	/* Empty value: no NUL either. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PREFIX, NULL, 0);
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
}
END_TEST

START_TEST(test_prefix_truncated)
{
	struct builder b;
	struct nflog_record rec;
	char longp[300];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PREFIX, longp, sizeof(longp));
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_uint_eq(strlen(rec.prefix), NFLOG_PREFIX_SIZE - 1);
	ck_assert_int_eq(memcmp(rec.prefix, longp, NFLOG_PREFIX_SIZE - 1), 0);

	/* Text after the first NUL is ignored. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PREFIX, "ab\0cd\0", 6);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_str_eq(rec.prefix, "ab");
}
END_TEST

START_TEST(test_last_tlv_unpadded)
{
	struct builder b;
	struct nflog_record rec;
	static const uint8_t odd[5] = { 0x45, 1, 2, 3, 4 };

	build_header(&b, 2, 0, 1);
	build_tlv_raw(&b, NFULA_PAYLOAD, 4 + sizeof(odd), odd, sizeof(odd), 0);
	ck_assert_uint_eq(b.len, 13);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_uint_eq(rec.payload_len, 5);

	/* Stray bytes after a padded last TLV are not a TLV. */
	build_header(&b, 2, 0, 1);
	build_tlv(&b, NFULA_PAYLOAD, odd, sizeof(odd));
	b.buf[b.len++] = 0;
	ck_assert_int_eq(parse_built(&b, &rec), -EINVAL);
}
END_TEST

START_TEST(test_unknown_and_flagged_types)
{
	struct builder b;
	struct nflog_record rec;
	uint32_t ifindex = htonl(3);

	build_header(&b, 2, 0, 1);
	build_tlv(&b, 0x3fff, "junk", 4);			/* unknown type */
	build_tlv(&b, NFULA_CT | NLA_F_NESTED, "\0\0\0\0\0\0\0\0", 8);
	/* Flag bits do not hide a known type. */
	build_tlv(&b, NFULA_IFINDEX_OUTDEV | NLA_F_NET_BYTEORDER, &ifindex, 4);
	ck_assert_int_eq(parse_built(&b, &rec), 0);
	ck_assert_uint_eq(rec.outdev, 3);
	ck_assert_ptr_null(rec.payload);
}
END_TEST

static struct nflog_record with_prefix(const char *prefix)
{
	struct nflog_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.hook = -1;
	snprintf(rec.prefix, sizeof(rec.prefix), "%s", prefix);
	return rec;
}

START_TEST(test_ct_protocol)
{
	static const struct {
		const char *prefix;
		int proto;
	} cases[] = {
		{ "nf_ct_proto_6: invalid rst ", 6 },
		{ "nf_ct_proto_17: short packet ", 17 },
		{ "nf_ct_proto_58: ", 58 },
		{ "nf_ct_proto_255:x", 255 },
		{ "nf_ct_proto_256: x ", -1 },
		{ "nf_ct_proto_1234: x ", -1 },
		{ "nf_ct_proto_: x ", -1 },
		{ "nf_ct_proto_6 x", -1 },
		{ "nf_ct_proto_6", -1 },
		{ "nf_ct_proto_-6: x", -1 },
		{ "ctlab invalid", -1 },
		{ "", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nflog_record rec = with_prefix(cases[i].prefix);

		ck_assert_msg(nflog_ct_protocol(&rec) == cases[i].proto,
			      "\"%s\": %d, want %d", cases[i].prefix,
			      nflog_ct_protocol(&rec), cases[i].proto);
	}
}
END_TEST

START_TEST(test_reason)
{
	struct nflog_record rec;
	char buf[64];

	rec = with_prefix("nf_ct_proto_6: packet (index 3) in dir 1 ignored, state ESTABLISHED ");
	ck_assert_int_eq(nflog_reason(&rec, buf, sizeof(buf)), 52);
	ck_assert_str_eq(buf, "packet (index 3) in dir 1 ignored, state ESTABLISHED");

	/* Truncation: snprintf-like length, always terminated. */
	ck_assert_int_eq(nflog_reason(&rec, buf, 7), 52);
	ck_assert_str_eq(buf, "packet");
	buf[0] = 'z';
	ck_assert_int_eq(nflog_reason(&rec, buf, 1), 52);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(nflog_reason(&rec, NULL, 0), 52);

	rec = with_prefix("nf_ct_proto_17:   ");
	ck_assert_int_eq(nflog_reason(&rec, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");

	rec = with_prefix("ctlab invalid");
	strcpy(buf, "untouched");
	ck_assert_int_eq(nflog_reason(&rec, buf, sizeof(buf)), -1);
	ck_assert_str_eq(buf, "untouched");
}
END_TEST

/*
 * A savefile written on a big-endian host holds TLV headers in big-endian
 * order; libpcap swaps them when reading (swap_nflog_header()), so
 * nflog_parse() sees host order either way.  This test writes such a file by
 * hand from a fixture record and reads it back through libpcap.
 */
static uint32_t swap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static void put32(FILE *f, uint32_t v)
{
	ck_assert_uint_eq(fwrite(&v, 4, 1, f), 1);
}

START_TEST(test_foreign_byte_order_savefile)
{
	pcap_t *p = open_fixture("nflog-v4.pcap");
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	struct nflog_record rec;
	uint8_t rec_bytes[512];
	size_t len, off;
	FILE *f;
	uint16_t u16;

	/* The SYN+RST with conntrack's reason: record 11. */
	for (int i = 0; i < 11; i++)
		ck_assert_int_eq(pcap_next_ex(p, &hdr, &data), 1);
	len = hdr->caplen;
	ck_assert_uint_le(len, sizeof(rec_bytes));
	memcpy(rec_bytes, data, len);
	pcap_close(p);

	for (off = 4; off + 4 <= len; ) {
		uint16_t tlv_len;

		memcpy(&tlv_len, rec_bytes + off, 2);
		for (int k = 0; k < 2; k++) {
			memcpy(&u16, rec_bytes + off + 2 * k, 2);
			u16 = __builtin_bswap16(u16);
			memcpy(rec_bytes + off + 2 * k, &u16, 2);
		}
		off += (tlv_len + 3u) & ~3u;
	}
	ck_assert_uint_eq(off, len);

	/* All header fields byte-swapped, as the other-endian host wrote them. */
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	put32(f, swap32(0xa1b2c3d4));
	u16 = __builtin_bswap16(2);
	ck_assert_uint_eq(fwrite(&u16, 2, 1, f), 1);
	u16 = __builtin_bswap16(4);
	ck_assert_uint_eq(fwrite(&u16, 2, 1, f), 1);
	put32(f, 0);
	put32(f, 0);
	put32(f, swap32(65535));
	put32(f, swap32(DLT_NFLOG));
	put32(f, swap32(1));
	put32(f, 0);
	put32(f, swap32((uint32_t)len));
	put32(f, swap32((uint32_t)len));
	ck_assert_uint_eq(fwrite(rec_bytes, 1, len, f), len);
	rewind(f);

	p = pcap_fopen_offline(f, err);
	ck_assert_msg(p, "%s", err);
	ck_assert_int_eq(pcap_is_swapped(p), 1);
	ck_assert_int_eq(pcap_next_ex(p, &hdr, &data), 1);
	ck_assert_uint_eq(hdr->caplen, len);
	ck_assert_int_eq(nflog_parse(data, hdr->caplen, &rec), 0);
	ck_assert_uint_eq(rec.group, 0);
	ck_assert_int_eq(rec.hook, 0);
	ck_assert_uint_eq(rec.hw_protocol, 0x0800);
	ck_assert_str_eq(rec.prefix, "nf_ct_proto_6: invalid tcp flag combination ");
	ck_assert_uint_eq(rec.payload_len, 40);
	ck_assert_uint_eq(rec.payload[0], 0x45);
	pcap_close(p);	/* closes f */
}
END_TEST

static Suite *nflog_suite(void)
{
	Suite *s = suite_create("nflog");
	TCase *fixture = tcase_create("fixture");
	TCase *records = tcase_create("records");
	TCase *prefix = tcase_create("prefix");

	tcase_add_test(fixture, test_fixture_v4);
	tcase_add_test(fixture, test_fixture_v6);
	tcase_add_test(fixture, test_fixture_truncations);
	tcase_add_test(fixture, test_fixture_corruptions);
	tcase_add_test(fixture, test_foreign_byte_order_savefile);
	tcase_set_timeout(fixture, 60);
	suite_add_tcase(s, fixture);

	tcase_add_test(records, test_valid_record);
	tcase_add_test(records, test_header_only);
	tcase_add_test(records, test_short_header);
	tcase_add_test(records, test_unknown_version);
	tcase_add_test(records, test_tlv_past_end);
	tcase_add_test(records, test_tlv_shorter_than_header);
	tcase_add_test(records, test_empty_tlv);
	tcase_add_test(records, test_prefix_without_nul);
	tcase_add_test(records, test_prefix_truncated);
	tcase_add_test(records, test_last_tlv_unpadded);
	tcase_add_test(records, test_unknown_and_flagged_types);
	tcase_add_test(records, test_entry);
	suite_add_tcase(s, records);

	tcase_add_test(prefix, test_ct_protocol);
	tcase_add_test(prefix, test_reason);
	suite_add_tcase(s, prefix);
	return s;
}

int main(void)
{
	return suite_main(nflog_suite());
}
