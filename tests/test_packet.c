/* Unit tests for the packet builder and parser: known vectors and build → parse round trips. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packet/packet.h"
#include "suite.h"

#define PACKET_BUF_SIZE 70000

static uint8_t packet_buf[PACKET_BUF_SIZE];

/*
 * A Linux SYN captured from an interface (10.120.10.2:43510 → 10.120.10.1:21011,
 * MSS 1460, SACK_PERM, TS, WS 7).  Its TCP checksum on the wire is 0xffff, the
 * other spelling of 0x0000: the one case where ~correct would still verify.
 */
static const uint8_t captured_syn_v4[] = {
	0x45, 0x00, 0x00, 0x3c, 0x73, 0x63, 0x40, 0x00,
	0x40, 0x06, 0x9e, 0x66, 0x0a, 0x78, 0x0a, 0x02,
	0x0a, 0x78, 0x0a, 0x01,
	0xa9, 0xf6, 0x52, 0x13, 0x08, 0x15, 0xf7, 0x44,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0xff, 0xff, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
	0x04, 0x02, 0x08, 0x0a, 0x7f, 0xd1, 0xa8, 0xe7,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* A captured PSH+ACK with NOP NOP TS and 6 payload bytes, TCP checksum 0xc67e. */
static const uint8_t captured_psh_ack_v4[] = {
	0x45, 0x00, 0x00, 0x3a, 0x99, 0x97, 0x40, 0x00,
	0x35, 0x06, 0xed, 0x36, 0x72, 0x74, 0x40, 0xb3,
	0x0a, 0x16, 0x01, 0xb3,
	0xe4, 0xc6, 0x04, 0x00, 0xa2, 0x3c, 0x17, 0x9a,
	0xae, 0xba, 0x19, 0x8b, 0x80, 0x18, 0x00, 0xe5,
	0xc6, 0x7e, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a,
	0x53, 0x7c, 0x97, 0x0b, 0x62, 0x52, 0x2b, 0x8e,
	0x00, 0x00, 0x00, 0x06, 0x0d, 0x0a,
};

/*
 * IPv6 SYN 2001:db8::1:40000 → 2001:db8:1::2:80, traffic class 0x20, flow
 * label 0x12345, MSS 1440; checksum 0x9c2e computed by a separate script.
 */
static const uint8_t syn_v6[] = {
	0x62, 0x01, 0x23, 0x45, 0x00, 0x18, 0x06, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xff, 0xff,
	0x9c, 0x2e, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0,
};

static void addr_set(int family, union inet_addr *addr, const char *text)
{
	memset(addr, 0, sizeof(*addr));
	ck_assert_int_eq(inet_pton(family, text, addr), 1);
}

static void spec_v4(struct tcp_spec *spec)
{
	tcp_spec_init(spec, AF_INET);
	addr_set(AF_INET, &spec->src, "198.18.0.1");
	addr_set(AF_INET, &spec->dst, "198.19.0.2");
	spec->ip_id = 0x1234;
	spec->sport = 40000;
	spec->dport = 80;
	spec->seq = 0x11223344;
	spec->ack = 0x55667788;
}

static void spec_v6(struct tcp_spec *spec)
{
	tcp_spec_init(spec, AF_INET6);
	addr_set(AF_INET6, &spec->src, "2001:db8::1");
	addr_set(AF_INET6, &spec->dst, "2001:db8:1::2");
	spec->flow_label = 0xabcde;
	spec->sport = 40001;
	spec->dport = 443;
	spec->seq = 0xfffffff0;
	spec->ack = 1;
}

static void spec_all_options(struct tcp_spec *spec)
{
	spec->mss = 1460;
	spec->wscale = 7;
	spec->sack_permitted = true;
	spec->timestamp = true;
	spec->ts_val = 0xdeadbeef;
	spec->ts_ecr = 0x01020304;
}

static size_t build(const struct tcp_spec *spec)
{
	ssize_t len = packet_build_tcp(spec, packet_buf, sizeof(packet_buf));

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static size_t options_len(const struct tcp_spec *spec)
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

/* Build @spec (no lies, no cuts), parse it back, and compare every field. */
static void check_round_trip(const struct tcp_spec *spec)
{
	struct packet_summary seen;
	size_t ip_hdr_len = spec->family == AF_INET ? 20 : 40;
	size_t tcp_len = 20 + options_len(spec);
	size_t len = build(spec);

	ck_assert_uint_eq(len, ip_hdr_len + tcp_len + spec->payload_len);
	ck_assert_uint_eq(tcp_len % 4, 0);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);

	ck_assert_int_eq(seen.family, spec->family);
	if (spec->family == AF_INET) {
		ck_assert_mem_eq(&seen.src.v4, &spec->src.v4, 4);
		ck_assert_mem_eq(&seen.dst.v4, &spec->dst.v4, 4);
		ck_assert_uint_eq(seen.ip_id, spec->ip_id);
		ck_assert_uint_eq(seen.flow_label, 0);
		ck_assert_uint_eq(packet_buf[6] & 0x40, 0x40);	/* DF */
	} else {
		ck_assert_mem_eq(&seen.src.v6, &spec->src.v6, 16);
		ck_assert_mem_eq(&seen.dst.v6, &spec->dst.v6, 16);
		ck_assert_uint_eq(seen.flow_label, spec->flow_label);
		ck_assert_uint_eq(seen.ip_id, 0);
	}
	ck_assert_uint_eq(seen.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(seen.ttl, spec->ttl ? spec->ttl : 64);
	ck_assert_uint_eq(seen.tos, spec->tos);
	ck_assert_uint_eq(seen.ip_len, len);
	ck_assert(seen.ip_checksum_ok);
	ck_assert(!seen.fragment);

	ck_assert_uint_eq(seen.sport, spec->sport);
	ck_assert_uint_eq(seen.dport, spec->dport);
	ck_assert_uint_eq(seen.seq, spec->seq);
	ck_assert_uint_eq(seen.ack, spec->ack);
	ck_assert_uint_eq(seen.flags, spec->flags);
	ck_assert_uint_eq(seen.window, spec->window);
	ck_assert_uint_eq(seen.urgent, spec->urgent);
	ck_assert_int_eq(seen.data_offset, (int)(tcp_len / 4));
	ck_assert_int_eq(seen.tcp_checksum_ok, spec->checksum == CHECKSUM_CORRECT);
	ck_assert_int_eq(seen.mss, spec->mss);
	ck_assert_int_eq(seen.wscale, spec->wscale);
	ck_assert_int_eq(seen.sack_permitted, spec->sack_permitted);
	ck_assert_int_eq(seen.timestamp, spec->timestamp);
	ck_assert_uint_eq(seen.ts_val, spec->timestamp ? spec->ts_val : 0);
	ck_assert_uint_eq(seen.ts_ecr, spec->timestamp ? spec->ts_ecr : 0);
	ck_assert_uint_eq(seen.payload_len, spec->payload_len);
	ck_assert(!seen.truncated);
	for (size_t i = 0; i < spec->payload_len; i++)
		ck_assert_uint_eq(packet_buf[ip_hdr_len + tcp_len + i], packet_payload_byte(i));
}

START_TEST(test_rfc1071_example)
{
	/* RFC 1071 section 3: these bytes sum to 0xddf2. */
	static const uint8_t bytes[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t odd[] = { 0x12, 0x34, 0x56 };

	ck_assert_uint_eq(inet_sum(bytes, sizeof(bytes), 0), 0xddf2);
	ck_assert_uint_eq(inet_checksum(bytes, sizeof(bytes), 0), 0x220d);
	/* A running sum gives the same as one pass. */
	ck_assert_uint_eq(inet_checksum(bytes + 4, 4, inet_sum(bytes, 4, 0)), 0x220d);
	/* An odd tail byte is padded with zero on the right. */
	ck_assert_uint_eq(inet_sum(odd, sizeof(odd), 0), 0x1234 + 0x5600);
	ck_assert_uint_eq(inet_checksum(NULL, 0, 0), 0xffff);
}
END_TEST

START_TEST(test_ipv4_header_checksum_vector)
{
	/* The classic IPv4 header example, checksum 0xb861. */
	uint8_t header[] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};

	ck_assert_uint_eq(inet_checksum(header, sizeof(header), 0), 0);
	header[10] = header[11] = 0;
	ck_assert_uint_eq(inet_checksum(header, sizeof(header), 0), 0xb861);
}
END_TEST

static void spec_captured_syn(struct tcp_spec *spec)
{
	tcp_spec_init(spec, AF_INET);
	addr_set(AF_INET, &spec->src, "10.120.10.2");
	addr_set(AF_INET, &spec->dst, "10.120.10.1");
	spec->ip_id = 0x7363;
	spec->sport = 43510;
	spec->dport = 21011;
	spec->seq = 0x0815f744;
	spec->flags = TCP_FLAG_SYN;
	spec->window = 64240;
	spec->mss = 1460;
	spec->sack_permitted = true;
	spec->timestamp = true;
	spec->ts_val = 0x7fd1a8e7;
	spec->wscale = 7;
}

START_TEST(test_build_matches_captured_syn)
{
	struct tcp_spec spec;
	size_t len;

	spec_captured_syn(&spec);
	len = build(&spec);
	ck_assert_uint_eq(len, sizeof(captured_syn_v4));
	/* Everything but the TCP checksum, which we spell 0x0000 as Linux does. */
	ck_assert_mem_eq(packet_buf, captured_syn_v4, 36);
	ck_assert_uint_eq(packet_buf[36], 0x00);
	ck_assert_uint_eq(packet_buf[37], 0x00);
	ck_assert_mem_eq(packet_buf + 38, captured_syn_v4 + 38, len - 38);

	spec.checksum = CHECKSUM_VALUE;
	spec.checksum_value = 0xffff;
	ck_assert_uint_eq(build(&spec), sizeof(captured_syn_v4));
	ck_assert_mem_eq(packet_buf, captured_syn_v4, sizeof(captured_syn_v4));
}
END_TEST

START_TEST(test_parse_captured_syn)
{
	struct packet_summary seen;
	struct tcp_spec spec;

	ck_assert_int_eq(packet_parse(captured_syn_v4, sizeof(captured_syn_v4), &seen), 0);
	ck_assert(seen.ip_checksum_ok);
	ck_assert(seen.tcp_checksum_ok);
	ck_assert_uint_eq(seen.tcp_checksum, 0xffff);
	ck_assert_uint_eq(seen.flags, TCP_FLAG_SYN);
	ck_assert_int_eq(seen.mss, 1460);
	ck_assert_int_eq(seen.wscale, 7);
	ck_assert(seen.sack_permitted);
	ck_assert(seen.timestamp);
	ck_assert_uint_eq(seen.ts_val, 0x7fd1a8e7);
	ck_assert_uint_eq(seen.ts_ecr, 0);

	/* Here ~correct is 0xffff, which verifies: CHECKSUM_BAD must avoid it. */
	spec_captured_syn(&spec);
	spec.checksum = CHECKSUM_BAD;
	build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, sizeof(captured_syn_v4), &seen), 0);
	ck_assert(!seen.tcp_checksum_ok);
	ck_assert_uint_ne(seen.tcp_checksum, 0);
	ck_assert_uint_ne(seen.tcp_checksum, 0xffff);
}
END_TEST

START_TEST(test_parse_captured_psh_ack)
{
	uint8_t padded[sizeof(captured_psh_ack_v4) + 6] = { 0 };
	struct packet_summary seen;
	union inet_addr addr;
	char flags[TCP_FLAGS_STRLEN];

	/* Link-layer padding after the IP length must be ignored. */
	memcpy(padded, captured_psh_ack_v4, sizeof(captured_psh_ack_v4));
	ck_assert_int_eq(packet_parse(padded, sizeof(padded), &seen), 0);
	ck_assert_int_eq(seen.family, AF_INET);
	addr_set(AF_INET, &addr, "114.116.64.179");
	ck_assert_mem_eq(&seen.src.v4, &addr.v4, 4);
	addr_set(AF_INET, &addr, "10.22.1.179");
	ck_assert_mem_eq(&seen.dst.v4, &addr.v4, 4);
	ck_assert_uint_eq(seen.ip_id, 0x9997);
	ck_assert_uint_eq(seen.ttl, 53);
	ck_assert_uint_eq(seen.ip_len, 58);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.sport, 58566);
	ck_assert_uint_eq(seen.dport, 1024);
	ck_assert_uint_eq(seen.seq, 0xa23c179a);
	ck_assert_uint_eq(seen.ack, 0xaeba198b);
	ck_assert_str_eq(tcp_flags_format(seen.flags, flags), "PA");
	ck_assert_uint_eq(seen.window, 229);
	ck_assert_int_eq(seen.data_offset, 8);
	ck_assert_uint_eq(seen.tcp_checksum, 0xc67e);
	ck_assert(seen.tcp_checksum_ok);
	ck_assert_int_eq(seen.mss, -1);
	ck_assert_int_eq(seen.wscale, -1);
	ck_assert(!seen.sack_permitted);
	ck_assert(seen.timestamp);
	ck_assert_uint_eq(seen.ts_val, 0x537c970b);
	ck_assert_uint_eq(seen.ts_ecr, 0x62522b8e);
	ck_assert_uint_eq(seen.payload_len, 6);
	ck_assert(!seen.truncated);

	/* One flipped payload bit breaks the TCP checksum but not the IP one. */
	padded[sizeof(captured_psh_ack_v4) - 1] ^= 0x01;
	ck_assert_int_eq(packet_parse(padded, sizeof(padded), &seen), 0);
	ck_assert(seen.ip_checksum_ok);
	ck_assert(!seen.tcp_checksum_ok);
}
END_TEST

START_TEST(test_build_matches_ipv6_vector)
{
	struct packet_summary seen;
	struct tcp_spec spec;

	tcp_spec_init(&spec, AF_INET6);
	addr_set(AF_INET6, &spec.src, "2001:db8::1");
	addr_set(AF_INET6, &spec.dst, "2001:db8:1::2");
	spec.tos = 0x20;
	spec.flow_label = 0x12345;
	spec.sport = 40000;
	spec.dport = 80;
	spec.seq = 0x01020304;
	spec.flags = TCP_FLAG_SYN;
	spec.mss = 1440;
	ck_assert_uint_eq(build(&spec), sizeof(syn_v6));
	ck_assert_mem_eq(packet_buf, syn_v6, sizeof(syn_v6));

	ck_assert_int_eq(packet_parse(syn_v6, sizeof(syn_v6), &seen), 0);
	ck_assert(seen.tcp_checksum_ok);
	ck_assert_uint_eq(seen.tos, 0x20);
	ck_assert_uint_eq(seen.flow_label, 0x12345);
	ck_assert_uint_eq(seen.ttl, 64);
}
END_TEST

START_TEST(test_option_layout)
{
	static const uint8_t all[] = {
		0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
		0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
		0x01, 0x03, 0x03, 0x07,
	};
	static const uint8_t ts_only[] = { 0x01, 0x01, 0x08, 0x0a };
	static const uint8_t sack_ws[] = { 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x0e };
	struct tcp_spec spec;

	spec_v4(&spec);
	spec_all_options(&spec);
	ck_assert_uint_eq(build(&spec), 40 + sizeof(all));
	ck_assert_uint_eq(packet_buf[32], 0xa0);
	ck_assert_mem_eq(packet_buf + 40, all, sizeof(all));

	spec_v4(&spec);
	spec.timestamp = true;
	ck_assert_uint_eq(build(&spec), 52);
	ck_assert_mem_eq(packet_buf + 40, ts_only, sizeof(ts_only));

	spec_v4(&spec);
	spec.sack_permitted = true;
	spec.wscale = 14;
	ck_assert_uint_eq(build(&spec), 48);
	ck_assert_mem_eq(packet_buf + 40, sack_ws, sizeof(sack_ws));
}
END_TEST

/* SACK blocks after the other options, raw options last and padded; both read back. */
START_TEST(test_sack_and_raw_options)
{
	static const uint8_t want[] = {
		0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09,
		0x01, 0x01, 0x05, 0x12, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x07, 0xd0,
		0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x0f, 0xa0,
		0xfd, 0x04, 0xca, 0xfe, 0x1e, 0x01, 0x01, 0x01,
	};
	struct packet_summary summary;
	struct tcp_spec spec;
	size_t len;

	spec_v4(&spec);
	spec.timestamp = true;
	spec.ts_val = 7;
	spec.ts_ecr = 9;
	spec.n_sack = 2;
	spec.sack[0][0] = 1000;
	spec.sack[0][1] = 2000;
	spec.sack[1][0] = 3000;
	spec.sack[1][1] = 4000;
	memcpy(spec.raw_options, "\xfd\x04\xca\xfe\x1e", 5);
	spec.raw_len = 5;
	len = build(&spec);
	ck_assert_uint_eq(len, 40 + sizeof(want));
	ck_assert_mem_eq(packet_buf + 40, want, sizeof(want));
	ck_assert_int_eq(packet_parse(packet_buf, len, &summary), 0);
	ck_assert(summary.timestamp && summary.ts_val == 7 && summary.ts_ecr == 9);
	ck_assert_uint_eq(summary.n_sack, 2);
	ck_assert_uint_eq(summary.sack[1][0], 3000);
	ck_assert_uint_eq(summary.sack[1][1], 4000);

	/* More than 40 bytes of options cannot be written. */
	spec.n_sack = 4;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
}
END_TEST

/* Round-trip cases, one per loop index. */
static void round_trip_case(int index, struct tcp_spec *spec)
{
	if (index & 1)
		spec_v6(spec);
	else
		spec_v4(spec);
	switch (index / 2) {
	case 0:		/* bare header */
		break;
	case 1:
		spec_all_options(spec);
		spec->flags = TCP_FLAG_SYN;
		break;
	case 2:
		spec_all_options(spec);
		spec->payload_len = 1000;
		spec->flags = TCP_FLAG_PSH | TCP_FLAG_ACK;
		break;
	case 3:		/* odd payload length */
		spec->payload_len = 1;
		break;
	case 4:
		spec->payload_len = 1447;
		spec->tos = 0xb8;
		spec->ttl = 1;
		break;
	case 5:
		spec->mss = 0;
		break;
	case 6:
		spec->sack_permitted = true;
		break;
	case 7:
		spec->timestamp = true;
		spec->ts_val = 0xffffffff;
		break;
	case 8:
		spec->wscale = 255;
		break;
	case 9:
		spec->mss = 65535;
		spec->wscale = 0;
		break;
	case 10:
		spec->sack_permitted = true;
		spec->timestamp = true;
		break;
	case 11:
		spec->flags = 0xff;
		spec->urgent = 0xbeef;
		spec->window = 0;
		break;
	case 12:
		spec->flags = 0;
		spec->ip_id = 0xffff;
		spec->flow_label = IPV6_FLOW_LABEL_MAX;
		spec->ttl = 255;
		break;
	case 13:
		spec->checksum = CHECKSUM_BAD;
		spec->payload_len = 3;
		break;
	case 14:
		spec->checksum = CHECKSUM_VALUE;
		spec->checksum_value = 0x1234;
		break;
	case 15:	/* the largest IPv4 packet; for IPv6 the largest payload length */
		spec_all_options(spec);
		spec->payload_len = 65535 - 44 - (index & 1 ? 0 : 20);
		break;
	}
}

#define ROUND_TRIP_CASES 32

START_TEST(test_round_trip)
{
	struct tcp_spec spec;

	round_trip_case(_i, &spec);
	check_round_trip(&spec);
}
END_TEST

START_TEST(test_checksum_value_exact)
{
	struct packet_summary seen;
	struct tcp_spec spec;

	spec_v6(&spec);
	spec.checksum = CHECKSUM_VALUE;
	spec.checksum_value = 0xa55a;
	ck_assert_int_eq(packet_parse(packet_buf, build(&spec), &seen), 0);
	ck_assert_uint_eq(seen.tcp_checksum, 0xa55a);
	ck_assert(!seen.tcp_checksum_ok);
}
END_TEST

START_TEST(test_checksum_bad_never_verifies)
{
	struct packet_summary seen, good;
	struct tcp_spec spec;
	uint32_t seq;

	/*
	 * Step the low 16 bits of the sequence number: the correct checksum then
	 * runs through every value (a higher half adds nothing new to a 16-bit sum).
	 */
	for (seq = 0; seq <= 0xffff; seq++) {
		if (_i)
			spec_v6(&spec);
		else
			spec_v4(&spec);
		spec.seq = seq;
		ck_assert_int_eq(packet_parse(packet_buf, build(&spec), &good), 0);
		ck_assert(good.tcp_checksum_ok);
		spec.checksum = CHECKSUM_BAD;
		ck_assert_int_eq(packet_parse(packet_buf, build(&spec), &seen), 0);
		ck_assert(!seen.tcp_checksum_ok);
		ck_assert_uint_ne(seen.tcp_checksum, 0);
		ck_assert_uint_ne(seen.tcp_checksum, good.tcp_checksum);
	}
}
END_TEST

START_TEST(test_data_offset_lies)
{
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t len;

	/* Claims 60 header bytes; 20 real ones plus 100 payload bytes cover it. */
	if (_i)
		spec_v6(&spec);
	else
		spec_v4(&spec);
	spec.data_offset = 15;
	spec.payload_len = 100;
	len = build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_int_eq(seen.data_offset, 15);
	ck_assert(!seen.truncated);
	ck_assert(seen.tcp_checksum_ok);
	ck_assert_uint_eq(seen.payload_len, 60);

	/* Claims 60 header bytes with only 20 in the packet. */
	spec.payload_len = 0;
	len = build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_int_eq(seen.data_offset, 15);
	ck_assert(seen.truncated);
	ck_assert(seen.tcp_checksum_ok);
	ck_assert_uint_eq(seen.payload_len, 0);
	ck_assert_uint_eq(seen.seq, spec.seq);

	/* Under the minimum: the fixed header is still read. */
	spec.data_offset = 4;
	spec.payload_len = 10;
	len = build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_int_eq(seen.data_offset, 4);
	ck_assert(!seen.truncated);
	ck_assert_uint_eq(seen.payload_len, 10);

	/* Says 5 although an MSS option follows: the option reads as payload. */
	spec.data_offset = 5;
	spec.mss = 1400;
	len = build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_int_eq(seen.data_offset, 5);
	ck_assert_int_eq(seen.mss, -1);
	ck_assert_uint_eq(seen.payload_len, 14);
	ck_assert(seen.tcp_checksum_ok);

	spec.data_offset = 1;
	ck_assert_int_gt(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), 0);
	ck_assert_uint_eq(packet_buf[(_i ? 40 : 20) + 12], 0x10);
}
END_TEST

START_TEST(test_truncate)
{
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t ip_hdr_len = _i ? 40 : 20;

	if (_i)
		spec_v6(&spec);
	else
		spec_v4(&spec);
	spec_all_options(&spec);
	spec.flags = TCP_FLAG_SYN;
	spec.payload_len = 50;

	/* Inside the options: MSS and SACK_PERM survive, TS does not. */
	spec.truncate = ip_hdr_len + 30;
	ck_assert_uint_eq(build(&spec), ip_hdr_len + 30);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 30, &seen), 0);
	ck_assert_uint_eq(seen.ip_len, ip_hdr_len + 30);
	ck_assert(seen.ip_checksum_ok);
	ck_assert(seen.truncated);
	ck_assert_int_eq(seen.data_offset, 10);
	ck_assert_int_eq(seen.mss, 1460);
	ck_assert(seen.sack_permitted);
	ck_assert(!seen.timestamp);
	ck_assert_int_eq(seen.wscale, -1);
	ck_assert_uint_eq(seen.payload_len, 0);
	ck_assert(seen.tcp_checksum_ok);

	/* Inside the fixed header, checksum field kept: it covers the kept bytes. */
	spec.truncate = ip_hdr_len + 18;
	ck_assert_uint_eq(build(&spec), ip_hdr_len + 18);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 18, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert_uint_eq(seen.sport, spec.sport);
	ck_assert_uint_eq(seen.dport, spec.dport);
	ck_assert(seen.tcp_checksum_ok);
	spec.checksum = CHECKSUM_BAD;
	build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 18, &seen), 0);
	ck_assert(!seen.tcp_checksum_ok);
	spec.checksum = CHECKSUM_CORRECT;

	/* Ports only. */
	spec.truncate = ip_hdr_len + 4;
	ck_assert_uint_eq(build(&spec), ip_hdr_len + 4);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 4, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert_uint_eq(seen.sport, spec.sport);
	ck_assert_uint_eq(seen.seq, 0);
	ck_assert(!seen.tcp_checksum_ok);

	/* Nothing past the IP header. */
	spec.truncate = ip_hdr_len;
	ck_assert_uint_eq(build(&spec), ip_hdr_len);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(seen.sport, 0);

	/* Cutting at the full length is no cut. */
	spec.truncate = ip_hdr_len + 20 + 20 + 50;
	ck_assert_uint_eq(build(&spec), spec.truncate);
	ck_assert_int_eq(packet_parse(packet_buf, spec.truncate, &seen), 0);
	ck_assert(!seen.truncated);
	ck_assert(seen.tcp_checksum_ok);
}
END_TEST

START_TEST(test_capture_shorter_than_ip_length)
{
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t len;

	if (_i)
		spec_v6(&spec);
	else
		spec_v4(&spec);
	spec.timestamp = true;
	spec.payload_len = 500;
	len = build(&spec);
	/* A snap length cut: the IP length still claims everything. */
	ck_assert_int_eq(packet_parse(packet_buf, len - 400, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert_uint_eq(seen.ip_len, len);
	ck_assert_uint_eq(seen.payload_len, 500);
	ck_assert(seen.timestamp);
	ck_assert(!seen.tcp_checksum_ok);

	/* Cut inside the options by the capture. */
	ck_assert_int_eq(packet_parse(packet_buf, (_i ? 40 : 20) + 26, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert(!seen.timestamp);
	ck_assert_uint_eq(seen.seq, spec.seq);
}
END_TEST

START_TEST(test_build_errors)
{
	struct tcp_spec spec;
	size_t len;

	spec_v4(&spec);
	spec.family = AF_UNIX;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v6(&spec);
	spec.flow_label = IPV6_FLOW_LABEL_MAX + 1;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v4(&spec);
	spec.mss = 65536;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
	spec.mss = -2;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v4(&spec);
	spec.wscale = 256;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v4(&spec);
	spec.data_offset = 16;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
	spec.data_offset = -1;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v4(&spec);
	spec.checksum = 7;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	/* One byte over the IPv4 total length. */
	spec_v4(&spec);
	spec.payload_len = 65535 - 40 + 1;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
	spec_v6(&spec);
	spec.payload_len = 65535 - 20 + 1;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	spec_v4(&spec);
	spec.truncate = 19;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
	spec.truncate = 41;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);
	spec_v6(&spec);
	spec.truncate = 39;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	/* The buffer must hold the packet as cut, not more. */
	spec_v4(&spec);
	spec.payload_len = 100;
	len = 20 + 20 + 100;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, len - 1), -ENOSPC);
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, len), (ssize_t)len);
	spec.truncate = 30;
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, 29), -ENOSPC);
	ck_assert_int_eq(packet_build_tcp(&spec, packet_buf, 30), 30);
	ck_assert_int_eq(packet_build_tcp(&spec, NULL, 0), -ENOSPC);
}
END_TEST

START_TEST(test_parse_errors)
{
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t len;

	ck_assert_int_eq(packet_parse(packet_buf, 0, &seen), -EINVAL);

	spec_v4(&spec);
	len = build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, 19, &seen), -EINVAL);
	packet_buf[0] = 0x44;	/* IHL 4 */
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), -EINVAL);
	packet_buf[0] = 0x4f;	/* IHL 15 is more than we have */
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), -EINVAL);
	packet_buf[0] = 0x55;
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), -EINVAL);

	spec_v6(&spec);
	build(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, 39, &seen), -EINVAL);

	/* An IPv4 length shorter than its own header. */
	spec_v4(&spec);
	len = build(&spec);
	packet_buf[2] = 0;
	packet_buf[3] = 10;
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert(!seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.sport, 0);
}
END_TEST

/* Recompute the IPv4 header checksum after a test edited the header. */
static void ipv4_fix_checksum(uint8_t *ip)
{
	uint16_t checksum;

	ip[10] = ip[11] = 0;
	checksum = inet_checksum(ip, (size_t)(ip[0] & 0x0f) * 4, 0);
	ip[10] = checksum >> 8;
	ip[11] = checksum & 0xff;
}

START_TEST(test_parse_ipv4_options_and_fragments)
{
	uint8_t pkt[100];
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t len;

	spec_v4(&spec);
	spec.payload_len = 8;
	len = build(&spec);
	/* Insert a 4-byte IP option (NOP NOP NOP EOL) before the TCP header. */
	memcpy(pkt, packet_buf, 20);
	memcpy(pkt + 20, "\x01\x01\x01\x00", 4);
	memcpy(pkt + 24, packet_buf + 20, len - 20);
	pkt[0] = 0x46;
	pkt[3] = (uint8_t)(len + 4);
	ipv4_fix_checksum(pkt);
	ck_assert_int_eq(packet_parse(pkt, len + 4, &seen), 0);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.sport, spec.sport);
	ck_assert_uint_eq(seen.seq, spec.seq);
	ck_assert_uint_eq(seen.payload_len, 8);
	ck_assert(seen.tcp_checksum_ok);

	/* A non-first fragment carries no TCP header. */
	packet_buf[6] = 0x00;
	packet_buf[7] = 0x10;
	ipv4_fix_checksum(packet_buf);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(seen.fragment);
	ck_assert_uint_eq(seen.sport, 0);
	ck_assert_uint_eq(seen.payload_len, len - 20);

	/* A bad IP header checksum is reported, the rest still parsed. */
	build(&spec);
	packet_buf[10] ^= 0xff;
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(!seen.ip_checksum_ok);
	ck_assert(seen.tcp_checksum_ok);
}
END_TEST

START_TEST(test_parse_ipv6_extension_headers)
{
	uint8_t pkt[200];
	struct packet_summary seen;
	struct tcp_spec spec;
	size_t len;

	spec_v6(&spec);
	spec.mss = 1220;
	len = build(&spec);
	/* Hop-by-hop (PadN) then fragment header (offset 0, last) then TCP. */
	memcpy(pkt, packet_buf, 40);
	pkt[6] = 0;
	memcpy(pkt + 40, "\x2c\x00\x01\x04\x00\x00\x00\x00", 8);
	memcpy(pkt + 48, "\x06\x00\x00\x00\x00\x00\x00\x01", 8);
	memcpy(pkt + 56, packet_buf + 40, len - 40);
	pkt[5] = (uint8_t)(len - 40 + 16);
	ck_assert_int_eq(packet_parse(pkt, len + 16, &seen), 0);
	ck_assert_uint_eq(seen.protocol, IPPROTO_TCP);
	ck_assert(!seen.fragment);
	ck_assert_uint_eq(seen.sport, spec.sport);
	ck_assert_int_eq(seen.mss, 1220);
	ck_assert_uint_eq(seen.payload_len, 0);
	ck_assert(seen.tcp_checksum_ok);

	/* Same with a non-zero fragment offset. */
	pkt[50] = 0x00;
	pkt[51] = 0x08;
	ck_assert_int_eq(packet_parse(pkt, len + 16, &seen), 0);
	ck_assert(seen.fragment);
	ck_assert_uint_eq(seen.sport, 0);

	/* Extension header cut off. */
	ck_assert_int_eq(packet_parse(pkt, 44, &seen), 0);
	ck_assert(seen.truncated);
}
END_TEST

START_TEST(test_parse_udp_and_icmp)
{
	static const uint8_t udp_v4[] = {
		0x45, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00,
		0x40, 0x11, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01,
		0xc6, 0x13, 0x00, 0x02,
		0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,
		0x61, 0x62, 0x63, 0x64,
	};
	static const uint8_t icmp6_echo[] = {
		0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x3a, 0x40,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
		0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
	};
	uint8_t udp[sizeof(udp_v4)];
	struct packet_summary seen;

	memcpy(udp, udp_v4, sizeof(udp));
	ipv4_fix_checksum(udp);
	ck_assert_int_eq(packet_parse(udp, sizeof(udp), &seen), 0);
	ck_assert_uint_eq(seen.protocol, IPPROTO_UDP);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.sport, 12345);
	ck_assert_uint_eq(seen.dport, 53);
	ck_assert_uint_eq(seen.payload_len, 4);
	ck_assert(!seen.truncated);
	ck_assert(!seen.tcp_checksum_ok);

	ck_assert_int_eq(packet_parse(icmp6_echo, sizeof(icmp6_echo), &seen), 0);
	ck_assert_int_eq(seen.family, AF_INET6);
	ck_assert_uint_eq(seen.protocol, IPPROTO_ICMPV6);
	ck_assert_uint_eq(seen.icmp_type, 128);
	ck_assert_uint_eq(seen.icmp_code, 0);
	/* ICMPv6 headers are 8 bytes, as in ICMP: an echo with no data. */
	ck_assert_uint_eq(seen.payload_len, 0);
	ck_assert_uint_eq(seen.icmp_id, 1);
	ck_assert_uint_eq(seen.icmp_seq, 1);
	ck_assert_uint_eq(seen.sport, 0);
	ck_assert(!seen.truncated);
}
END_TEST

/*
 * UDP and ICMP reference packets.  The bytes come from a separate Python
 * script (struct.pack for the headers, its own RFC 1071 sum over the pseudo
 * header where the protocol has one), not from this builder: the addresses
 * are 192.0.2.1 → 198.51.100.7 and 2001:db8::1 → 2001:db8:1::2, payloads the
 * 'a'..'z' pattern.
 */

/* 49152 → 53, ip_id 0x1c46, 10 payload bytes, UDP checksum 0x5858. */
static const uint8_t udp_v4[] = {
	0x45, 0x00, 0x00, 0x26, 0x1c, 0x46, 0x40, 0x00,
	0x40, 0x11, 0x32, 0x45, 0xc0, 0x00, 0x02, 0x01,
	0xc6, 0x33, 0x64, 0x07, 0xc0, 0x00, 0x00, 0x35,
	0x00, 0x12, 0x58, 0x58, 0x61, 0x62, 0x63, 0x64,
	0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
};

/* 5353 → 5353, flow label 0x12345, 3 payload bytes, UDP checksum 0xb62d. */
static const uint8_t udp_v6[] = {
	0x60, 0x01, 0x23, 0x45, 0x00, 0x0b, 0x11, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x14, 0xe9, 0x14, 0xe9, 0x00, 0x0b, 0xb6, 0x2d,
	0x61, 0x62, 0x63,
};

/* The same script searched for the destination ports that make these sum to 0. */
#define UDP_V4_ZERO_SUM_DPORT	22669
#define UDP_V6_ZERO_SUM_DPORT	51990

/* Echo request id 0x1234 seq 1, ip_id 0x0101, 4 payload bytes, checksum 0x2104. */
static const uint8_t echo_request_v4[] = {
	0x45, 0x00, 0x00, 0x20, 0x01, 0x01, 0x40, 0x00,
	0x40, 0x01, 0x4d, 0xa0, 0xc0, 0x00, 0x02, 0x01,
	0xc6, 0x33, 0x64, 0x07, 0x08, 0x00, 0x21, 0x04,
	0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
};

/* Echo request id 0xbeef seq 7, 5 payload bytes, checksum 0x3b84 with the pseudo header. */
static const uint8_t echo_request_v6[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x3a, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x80, 0x00, 0x3b, 0x84, 0xbe, 0xef, 0x00, 0x07,
	0x61, 0x62, 0x63, 0x64, 0x65,
};

/* 10.120.10.1 → 10.120.10.2 frag-needed, MTU 1400, ip_id 0x0202, quoting captured_syn_v4. */
static const uint8_t frag_needed_v4[] = {
	0x45, 0x00, 0x00, 0x58, 0x02, 0x02, 0x40, 0x00,
	0x40, 0x01, 0x0f, 0xb1, 0x0a, 0x78, 0x0a, 0x01,
	0x0a, 0x78, 0x0a, 0x02, 0x03, 0x04, 0x20, 0xa5,
	0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x00, 0x3c,
	0x73, 0x63, 0x40, 0x00, 0x40, 0x06, 0x9e, 0x66,
	0x0a, 0x78, 0x0a, 0x02, 0x0a, 0x78, 0x0a, 0x01,
	0xa9, 0xf6, 0x52, 0x13, 0x08, 0x15, 0xf7, 0x44,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0xff, 0xff, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
	0x04, 0x02, 0x08, 0x0a, 0x7f, 0xd1, 0xa8, 0xe7,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* 2001:db8:1::2 → 2001:db8::1 packet-too-big, MTU 1280, quoting syn_v6. */
static const uint8_t too_big_v6[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x48, 0x3a, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x02, 0x00, 0x11, 0x87, 0x00, 0x00, 0x05, 0x00,
	0x62, 0x01, 0x23, 0x45, 0x00, 0x18, 0x06, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xff, 0xff,
	0x9c, 0x2e, 0x00, 0x00, 0x02, 0x04, 0x05, 0xa0,
};

static void udp_spec_for(struct udp_spec *spec, int family)
{
	udp_spec_init(spec, family);
	if (family == AF_INET) {
		addr_set(AF_INET, &spec->src, "192.0.2.1");
		addr_set(AF_INET, &spec->dst, "198.51.100.7");
		spec->ip_id = 0x1c46;
		spec->sport = 49152;
		spec->dport = 53;
		spec->payload_len = 10;
	} else {
		addr_set(AF_INET6, &spec->src, "2001:db8::1");
		addr_set(AF_INET6, &spec->dst, "2001:db8:1::2");
		spec->flow_label = 0x12345;
		spec->sport = 5353;
		spec->dport = 5353;
		spec->payload_len = 3;
	}
}

static void icmp_spec_for(struct icmp_spec *spec, int family)
{
	icmp_spec_init(spec, family);
	if (family == AF_INET) {
		addr_set(AF_INET, &spec->src, "192.0.2.1");
		addr_set(AF_INET, &spec->dst, "198.51.100.7");
		spec->ip_id = 0x0101;
		spec->echo_id = 0x1234;
		spec->echo_seq = 1;
		spec->payload_len = 4;
	} else {
		addr_set(AF_INET6, &spec->src, "2001:db8::1");
		addr_set(AF_INET6, &spec->dst, "2001:db8:1::2");
		spec->echo_id = 0xbeef;
		spec->echo_seq = 7;
		spec->payload_len = 5;
	}
}

static size_t build_udp(const struct udp_spec *spec)
{
	ssize_t len = packet_build_udp(spec, packet_buf, sizeof(packet_buf));

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static size_t build_icmp(const struct icmp_spec *spec)
{
	ssize_t len = packet_build_icmp(spec, packet_buf, sizeof(packet_buf));

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static void addr_check(int family, const union inet_addr *seen, const union inet_addr *want)
{
	ck_assert_mem_eq(seen, want, family == AF_INET ? sizeof(want->v4) : sizeof(want->v6));
}

START_TEST(test_udp_vectors)
{
	struct packet_summary seen;
	struct udp_spec spec;

	udp_spec_for(&spec, AF_INET);
	ck_assert_uint_eq(build_udp(&spec), sizeof(udp_v4));
	ck_assert_mem_eq(packet_buf, udp_v4, sizeof(udp_v4));
	ck_assert_int_eq(packet_parse(udp_v4, sizeof(udp_v4), &seen), 0);
	ck_assert(seen.udp_checksum_ok);
	ck_assert_uint_eq(seen.udp_length, 18);
	ck_assert_uint_eq(seen.payload_len, 10);

	udp_spec_for(&spec, AF_INET6);
	ck_assert_uint_eq(build_udp(&spec), sizeof(udp_v6));
	ck_assert_mem_eq(packet_buf, udp_v6, sizeof(udp_v6));
	ck_assert_int_eq(packet_parse(udp_v6, sizeof(udp_v6), &seen), 0);
	ck_assert(seen.udp_checksum_ok);
	ck_assert_uint_eq(seen.udp_length, 11);
	ck_assert_uint_eq(seen.payload_len, 3);
}
END_TEST

START_TEST(test_udp_zero_sum_is_all_ones)
{
	struct packet_summary seen;
	struct udp_spec spec;
	size_t off = _i ? 40 : 20;

	udp_spec_for(&spec, _i ? AF_INET6 : AF_INET);
	spec.dport = _i ? UDP_V6_ZERO_SUM_DPORT : UDP_V4_ZERO_SUM_DPORT;
	ck_assert_int_eq(packet_parse(packet_buf, build_udp(&spec), &seen), 0);
	ck_assert_uint_eq(packet_buf[off + 6], 0xff);
	ck_assert_uint_eq(packet_buf[off + 7], 0xff);
	ck_assert(seen.udp_checksum_ok);

	/* Bad must avoid both spellings of zero, 0x0000 meaning "none". */
	spec.checksum = CHECKSUM_BAD;
	ck_assert_int_eq(packet_parse(packet_buf, build_udp(&spec), &seen), 0);
	ck_assert(!seen.udp_checksum_ok);
	ck_assert_uint_ne(packet_buf[off + 6] << 8 | packet_buf[off + 7], 0);
}
END_TEST

START_TEST(test_icmp_vectors)
{
	struct packet_summary seen;
	struct icmp_spec spec;
	union inet_addr addr;

	icmp_spec_for(&spec, AF_INET);
	ck_assert_uint_eq(build_icmp(&spec), sizeof(echo_request_v4));
	ck_assert_mem_eq(packet_buf, echo_request_v4, sizeof(echo_request_v4));
	ck_assert_int_eq(packet_parse(echo_request_v4, sizeof(echo_request_v4), &seen), 0);
	ck_assert_uint_eq(seen.protocol, IPPROTO_ICMP);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert_uint_eq(seen.icmp_id, 0x1234);
	ck_assert_uint_eq(seen.icmp_seq, 1);
	ck_assert_uint_eq(seen.payload_len, 4);
	ck_assert(!seen.has_quote);

	icmp_spec_for(&spec, AF_INET6);
	ck_assert_uint_eq(build_icmp(&spec), sizeof(echo_request_v6));
	ck_assert_mem_eq(packet_buf, echo_request_v6, sizeof(echo_request_v6));
	ck_assert_int_eq(packet_parse(echo_request_v6, sizeof(echo_request_v6), &seen), 0);
	ck_assert_uint_eq(seen.protocol, IPPROTO_ICMPV6);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert_uint_eq(seen.icmp_id, 0xbeef);
	ck_assert_uint_eq(seen.icmp_seq, 7);
	ck_assert_uint_eq(seen.payload_len, 5);

	icmp_spec_init(&spec, AF_INET);
	addr_set(AF_INET, &spec.src, "10.120.10.1");
	addr_set(AF_INET, &spec.dst, "10.120.10.2");
	spec.ip_id = 0x0202;
	ck_assert_int_eq(icmp_message_lookup("too-big", AF_INET, &spec.type, &spec.code), 0);
	spec.mtu = 1400;
	spec.quote = captured_syn_v4;
	spec.quote_len = sizeof(captured_syn_v4);
	ck_assert_uint_eq(build_icmp(&spec), sizeof(frag_needed_v4));
	ck_assert_mem_eq(packet_buf, frag_needed_v4, sizeof(frag_needed_v4));
	ck_assert_int_eq(packet_parse(frag_needed_v4, sizeof(frag_needed_v4), &seen), 0);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert_uint_eq(seen.icmp_type, 3);
	ck_assert_uint_eq(seen.icmp_code, 4);
	ck_assert_uint_eq(seen.icmp_mtu, 1400);
	ck_assert_uint_eq(seen.payload_len, sizeof(captured_syn_v4));
	ck_assert(seen.has_quote);
	ck_assert_int_eq(seen.quote.family, AF_INET);
	addr_set(AF_INET, &addr, "10.120.10.2");
	addr_check(AF_INET, &seen.quote.src, &addr);
	ck_assert_uint_eq(seen.quote.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(seen.quote.sport, 43510);
	ck_assert_uint_eq(seen.quote.dport, 21011);
	ck_assert_uint_eq(seen.quote.seq, 0x0815f744);

	icmp_spec_init(&spec, AF_INET6);
	addr_set(AF_INET6, &spec.src, "2001:db8:1::2");
	addr_set(AF_INET6, &spec.dst, "2001:db8::1");
	ck_assert_int_eq(icmp_message_lookup("too-big", AF_INET6, &spec.type, &spec.code), 0);
	spec.mtu = 1280;
	spec.quote = syn_v6;
	spec.quote_len = sizeof(syn_v6);
	ck_assert_uint_eq(build_icmp(&spec), sizeof(too_big_v6));
	ck_assert_mem_eq(packet_buf, too_big_v6, sizeof(too_big_v6));
	ck_assert_int_eq(packet_parse(too_big_v6, sizeof(too_big_v6), &seen), 0);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert_uint_eq(seen.icmp_mtu, 1280);
	ck_assert(seen.has_quote);
	ck_assert_int_eq(seen.quote.family, AF_INET6);
	addr_check(AF_INET6, &seen.quote.src, &spec.dst);
	addr_check(AF_INET6, &seen.quote.dst, &spec.src);
	ck_assert_uint_eq(seen.quote.sport, 40000);
	ck_assert_uint_eq(seen.quote.dport, 80);
	ck_assert_uint_eq(seen.quote.seq, 0x01020304);
}
END_TEST

START_TEST(test_icmp_message_lookup)
{
	static const struct {
		const char *name;
		uint8_t type, code, type6, code6;
	} cases[] = {
		{ "echo-request", 8, 0, 128, 0 },
		{ "echo-reply", 0, 0, 129, 0 },
		{ "port-unreachable", 3, 3, 1, 4 },
		{ "host-unreachable", 3, 1, 1, 3 },
		{ "admin-prohibited", 3, 13, 1, 1 },
		{ "too-big", 3, 4, 2, 0 },
		{ "time-exceeded", 11, 0, 3, 0 },
	};
	uint8_t type, code;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(icmp_message_lookup(cases[i].name, AF_INET, &type, &code), 0);
		ck_assert_msg(type == cases[i].type && code == cases[i].code, "%s", cases[i].name);
		ck_assert_int_eq(icmp_message_lookup(cases[i].name, AF_INET6, &type, &code), 0);
		ck_assert_msg(type == cases[i].type6 && code == cases[i].code6, "%s", cases[i].name);
	}
	type = code = 0x5a;
	ck_assert_int_eq(icmp_message_lookup("echo", AF_INET, &type, &code), -EINVAL);
	ck_assert_int_eq(icmp_message_lookup("Echo-Request", AF_INET, &type, &code), -EINVAL);
	ck_assert_int_eq(icmp_message_lookup("", AF_INET6, &type, &code), -EINVAL);
	ck_assert_int_eq(icmp_message_lookup("echo-request", AF_UNIX, &type, &code), -EINVAL);
	ck_assert_uint_eq(type, 0x5a);
	ck_assert_uint_eq(code, 0x5a);
}
END_TEST

START_TEST(test_udp_icmp_spec_defaults)
{
	struct icmp_spec icmp;
	struct udp_spec udp;

	udp_spec_init(&udp, AF_INET6);
	ck_assert_int_eq(udp.family, AF_INET6);
	ck_assert_uint_eq(udp.ttl, 64);
	ck_assert_int_eq(udp.length_field, -1);
	ck_assert_uint_eq(udp.payload_len, 0);
	ck_assert_int_eq(udp.checksum, CHECKSUM_CORRECT);

	icmp_spec_init(&icmp, AF_INET);
	ck_assert_uint_eq(icmp.type, 8);
	ck_assert_uint_eq(icmp.code, 0);
	ck_assert_uint_eq(icmp.ttl, 64);
	ck_assert_ptr_eq(icmp.quote, NULL);
	ck_assert_int_eq(icmp.checksum, CHECKSUM_CORRECT);
	icmp_spec_init(&icmp, AF_INET6);
	ck_assert_uint_eq(icmp.type, 128);
}
END_TEST

/* UDP cases, one per loop index: even indexes IPv4, odd IPv6. */
enum udp_case {
	UDP_TRUE_LENGTH, UDP_NO_PAYLOAD, UDP_ODD_PAYLOAD, UDP_LENGTH_TOO_LARGE,
	UDP_LENGTH_MAX, UDP_LENGTH_TOO_SMALL, UDP_LENGTH_UNDER_HEADER, UDP_CHECKSUM_BAD,
	UDP_CHECKSUM_ZERO, UDP_CHECKSUM_VALUE, UDP_LARGEST, UDP_CASES
};

START_TEST(test_udp_round_trip)
{
	int family = _i & 1 ? AF_INET6 : AF_INET;
	size_t ip_hdr_len = family == AF_INET ? 20 : 40;
	struct packet_summary seen;
	struct udp_spec spec;
	size_t len, true_len, i;
	bool checksum_ok = true;

	udp_spec_for(&spec, family);
	spec.tos = 0x28;
	spec.ttl = 3;
	switch (_i / 2) {
	case UDP_TRUE_LENGTH:
		break;
	case UDP_NO_PAYLOAD:
		spec.payload_len = 0;
		break;
	case UDP_ODD_PAYLOAD:
		spec.payload_len = 1001;
		break;
	case UDP_LENGTH_TOO_LARGE:
		spec.length_field = (int)(8 + spec.payload_len + 100);
		break;
	case UDP_LENGTH_MAX:
		spec.length_field = 65535;
		break;
	case UDP_LENGTH_TOO_SMALL:
		spec.length_field = 9;
		break;
	case UDP_LENGTH_UNDER_HEADER:
		spec.length_field = 0;
		break;
	case UDP_CHECKSUM_BAD:
		spec.checksum = CHECKSUM_BAD;
		checksum_ok = false;
		break;
	case UDP_CHECKSUM_ZERO:
		spec.checksum = CHECKSUM_VALUE;
		spec.checksum_value = 0;
		checksum_ok = family == AF_INET;
		break;
	case UDP_CHECKSUM_VALUE:
		spec.checksum = CHECKSUM_VALUE;
		spec.checksum_value = 0x1234;
		checksum_ok = false;
		break;
	case UDP_LARGEST:
		spec.payload_len = 65535 - 8 - (family == AF_INET ? 20 : 0);
		break;
	}
	true_len = 8 + spec.payload_len;
	len = build_udp(&spec);
	/* Whatever the length field says, the IP length carries every byte. */
	ck_assert_uint_eq(len, ip_hdr_len + true_len);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_int_eq(seen.family, family);
	addr_check(family, &seen.src, &spec.src);
	addr_check(family, &seen.dst, &spec.dst);
	ck_assert_uint_eq(seen.protocol, IPPROTO_UDP);
	ck_assert_uint_eq(seen.ttl, 3);
	ck_assert_uint_eq(seen.tos, 0x28);
	ck_assert_uint_eq(seen.ip_len, len);
	ck_assert(seen.ip_checksum_ok);
	if (family == AF_INET)
		ck_assert_uint_eq(seen.ip_id, spec.ip_id);
	else
		ck_assert_uint_eq(seen.flow_label, spec.flow_label);
	ck_assert_uint_eq(seen.sport, spec.sport);
	ck_assert_uint_eq(seen.dport, spec.dport);
	ck_assert_uint_eq(seen.udp_length,
			  spec.length_field < 0 ? true_len : (size_t)spec.length_field);
	ck_assert_int_eq(seen.udp_checksum_ok, checksum_ok);
	if (spec.checksum == CHECKSUM_VALUE)
		ck_assert_uint_eq(packet_buf[ip_hdr_len + 6] << 8 | packet_buf[ip_hdr_len + 7],
				  spec.checksum_value);
	ck_assert_uint_eq(seen.payload_len, spec.payload_len);
	ck_assert(!seen.truncated);
	ck_assert(!seen.tcp_checksum_ok);
	for (i = 0; i < spec.payload_len; i++)
		ck_assert_uint_eq(packet_buf[ip_hdr_len + 8 + i], packet_payload_byte(i));
}
END_TEST

START_TEST(test_udp_checksum_bad_never_verifies)
{
	struct packet_summary seen, good;
	struct udp_spec spec;
	uint32_t sport;

	/* Step the source port so the correct checksum runs through every value. */
	for (sport = 0; sport <= 0xffff; sport++) {
		udp_spec_for(&spec, _i ? AF_INET6 : AF_INET);
		spec.sport = (uint16_t)sport;
		ck_assert_int_eq(packet_parse(packet_buf, build_udp(&spec), &good), 0);
		ck_assert(good.udp_checksum_ok);
		spec.checksum = CHECKSUM_BAD;
		ck_assert_int_eq(packet_parse(packet_buf, build_udp(&spec), &seen), 0);
		ck_assert(!seen.udp_checksum_ok);
	}
}
END_TEST

START_TEST(test_udp_capture_cut)
{
	struct packet_summary seen;
	struct udp_spec spec;
	size_t ip_hdr_len = _i ? 40 : 20, len;

	udp_spec_for(&spec, _i ? AF_INET6 : AF_INET);
	len = build_udp(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, len - 1, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert(!seen.udp_checksum_ok);
	ck_assert_uint_eq(seen.udp_length, len - ip_hdr_len);
	ck_assert_uint_eq(seen.payload_len, spec.payload_len);

	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 4, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert_uint_eq(seen.dport, spec.dport);
	ck_assert_uint_eq(seen.udp_length, 0);
}
END_TEST

START_TEST(test_icmp_echo_round_trip)
{
	int family = _i & 1 ? AF_INET6 : AF_INET;
	size_t ip_hdr_len = family == AF_INET ? 20 : 40;
	struct packet_summary seen;
	struct icmp_spec spec;
	size_t len, i;

	icmp_spec_for(&spec, family);
	ck_assert_int_eq(icmp_message_lookup(_i & 2 ? "echo-reply" : "echo-request", family,
					     &spec.type, &spec.code), 0);
	spec.echo_id = 0xfedc;
	spec.echo_seq = 0xffff;
	spec.payload_len = 57;
	spec.ttl = 200;
	len = build_icmp(&spec);
	ck_assert_uint_eq(len, ip_hdr_len + 8 + 57);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert_uint_eq(seen.protocol, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	addr_check(family, &seen.src, &spec.src);
	addr_check(family, &seen.dst, &spec.dst);
	ck_assert_uint_eq(seen.ip_len, len);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_uint_eq(seen.ttl, 200);
	ck_assert_uint_eq(seen.icmp_type, spec.type);
	ck_assert_uint_eq(seen.icmp_code, 0);
	ck_assert_uint_eq(seen.icmp_id, 0xfedc);
	ck_assert_uint_eq(seen.icmp_seq, 0xffff);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert(!seen.has_quote);
	ck_assert_uint_eq(seen.icmp_mtu, 0);
	ck_assert_uint_eq(seen.payload_len, 57);
	ck_assert(!seen.truncated);
	for (i = 0; i < 57; i++)
		ck_assert_uint_eq(packet_buf[ip_hdr_len + 8 + i], packet_payload_byte(i));

	spec.checksum = CHECKSUM_BAD;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(!seen.icmp_checksum_ok);
	spec.checksum = CHECKSUM_VALUE;
	spec.checksum_value = 0xabcd;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(!seen.icmp_checksum_ok);
	ck_assert_uint_eq(packet_buf[ip_hdr_len + 2], 0xab);
	ck_assert_uint_eq(packet_buf[ip_hdr_len + 3], 0xcd);

	/* Cut in the header: type and code only. */
	spec.checksum = CHECKSUM_CORRECT;
	build_icmp(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 4, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert_uint_eq(seen.icmp_type, spec.type);
	ck_assert_uint_eq(seen.icmp_id, 0);
	ck_assert(!seen.icmp_checksum_ok);
}
END_TEST

START_TEST(test_icmp_pseudo_header)
{
	struct packet_summary seen;
	struct icmp_spec spec;
	size_t len;

	/*
	 * Another source address, IP header fixed up: ICMP does not notice,
	 * ICMPv6 sums the addresses and does.
	 */
	icmp_spec_for(&spec, _i ? AF_INET6 : AF_INET);
	len = build_icmp(&spec);
	packet_buf[_i ? 23 : 15] ^= 0x01;
	if (!_i)
		ipv4_fix_checksum(packet_buf);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(seen.ip_checksum_ok);
	ck_assert_int_eq(seen.icmp_checksum_ok, !_i);
}
END_TEST

START_TEST(test_icmp_port_unreachable_quotes_tcp)
{
	int family = _i ? AF_INET6 : AF_INET;
	size_t ip_hdr_len = family == AF_INET ? 20 : 40;
	uint8_t offending[200];
	struct packet_summary seen;
	struct icmp_spec spec;
	struct tcp_spec tcp;
	ssize_t tcp_len;
	size_t len, cut;

	if (_i)
		spec_v6(&tcp);
	else
		spec_v4(&tcp);
	tcp.timestamp = true;
	tcp.payload_len = 100;
	tcp_len = packet_build_tcp(&tcp, offending, sizeof(offending));
	ck_assert_int_gt(tcp_len, 0);

	/* The receiver answers the sender: addresses reversed. */
	icmp_spec_init(&spec, family);
	spec.src = tcp.dst;
	spec.dst = tcp.src;
	ck_assert_int_eq(icmp_message_lookup("port-unreachable", family, &spec.type,
					     &spec.code), 0);
	spec.quote = offending;
	spec.quote_len = (size_t)tcp_len;
	len = build_icmp(&spec);
	ck_assert_uint_eq(len, ip_hdr_len + 8 + (size_t)tcp_len);
	ck_assert_mem_eq(packet_buf + ip_hdr_len + 8, offending, (size_t)tcp_len);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert_uint_eq(seen.icmp_type, family == AF_INET ? 3 : 1);
	ck_assert_uint_eq(seen.icmp_code, family == AF_INET ? 3 : 4);
	ck_assert_uint_eq(seen.icmp_id, 0);
	ck_assert_uint_eq(seen.payload_len, (size_t)tcp_len);
	ck_assert(!seen.truncated);
	ck_assert(seen.has_quote);
	ck_assert_int_eq(seen.quote.family, family);
	addr_check(family, &seen.quote.src, &tcp.src);
	addr_check(family, &seen.quote.dst, &tcp.dst);
	ck_assert_uint_eq(seen.quote.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(seen.quote.sport, tcp.sport);
	ck_assert_uint_eq(seen.quote.dport, tcp.dport);
	ck_assert_uint_eq(seen.quote.seq, tcp.seq);
	/* The quote is not the packet: its ports stay out of the summary's own. */
	ck_assert_uint_eq(seen.sport, 0);
	ck_assert_uint_eq(seen.seq, 0);

	/* The minimum RFC 792 quote, IP header and 8 bytes, still gives all of it. */
	spec.quote_len = ip_hdr_len + 8;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert(seen.has_quote);
	ck_assert_uint_eq(seen.quote.sport, tcp.sport);
	ck_assert_uint_eq(seen.quote.dport, tcp.dport);
	ck_assert_uint_eq(seen.quote.seq, tcp.seq);

	/* Ports but no seq, then the IP header alone, then not even that. */
	for (cut = ip_hdr_len + 7; cut >= ip_hdr_len - 1; cut--) {
		spec.quote_len = cut;
		ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
		ck_assert(!seen.truncated);
		ck_assert_int_eq(seen.has_quote, cut >= ip_hdr_len);
		ck_assert_uint_eq(seen.quote.sport, cut >= ip_hdr_len + 4 ? tcp.sport : 0);
		ck_assert_uint_eq(seen.quote.seq, 0);
	}

	/* A capture cut inside the quote keeps what it holds. */
	spec.quote_len = (size_t)tcp_len;
	len = build_icmp(&spec);
	ck_assert_int_eq(packet_parse(packet_buf, ip_hdr_len + 8 + ip_hdr_len + 6, &seen), 0);
	ck_assert(seen.truncated);
	ck_assert(!seen.icmp_checksum_ok);
	ck_assert(seen.has_quote);
	ck_assert_uint_eq(seen.quote.dport, tcp.dport);
	ck_assert_uint_eq(seen.quote.seq, 0);
}
END_TEST

START_TEST(test_icmp_quote_udp_and_extension_headers)
{
	uint8_t offending[100];
	struct packet_summary seen;
	struct icmp_spec spec;
	struct udp_spec udp;
	ssize_t udp_len;

	udp_spec_for(&udp, AF_INET6);
	udp_len = packet_build_udp(&udp, offending, sizeof(offending));
	ck_assert_int_gt(udp_len, 0);
	/* Slip a hop-by-hop header (PadN) between the IPv6 header and UDP. */
	memmove(offending + 48, offending + 40, (size_t)udp_len - 40);
	memcpy(offending + 40, "\x11\x00\x01\x04\x00\x00\x00\x00", 8);
	offending[6] = 0;
	offending[5] += 8;

	icmp_spec_init(&spec, AF_INET6);
	spec.src = udp.dst;
	spec.dst = udp.src;
	ck_assert_int_eq(icmp_message_lookup("time-exceeded", AF_INET6, &spec.type,
					     &spec.code), 0);
	spec.quote = offending;
	spec.quote_len = (size_t)udp_len + 8;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(seen.has_quote);
	ck_assert_uint_eq(seen.quote.protocol, IPPROTO_UDP);
	ck_assert_uint_eq(seen.quote.sport, udp.sport);
	ck_assert_uint_eq(seen.quote.dport, udp.dport);
	ck_assert_uint_eq(seen.quote.seq, 0);

	/* Cut inside the extension header: who, but not which ports. */
	spec.quote_len = 44;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(seen.has_quote);
	addr_check(AF_INET6, &seen.quote.src, &udp.src);
	ck_assert_uint_eq(seen.quote.sport, 0);

	/* Echo messages quote nothing, whatever their body holds. */
	icmp_spec_init(&spec, AF_INET6);
	spec.quote = offending;
	spec.quote_len = (size_t)udp_len + 8;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert(!seen.has_quote);
}
END_TEST

START_TEST(test_icmp_quote_cut_to_rfc_size)
{
	int family = _i ? AF_INET6 : AF_INET;
	struct packet_summary seen;
	struct icmp_spec spec;
	struct tcp_spec tcp;
	uint8_t *offending;
	size_t len, quote_max = family == AF_INET ? 548 : 1232;
	ssize_t tcp_len;

	if (_i)
		spec_v6(&tcp);
	else
		spec_v4(&tcp);
	tcp.payload_len = 3000;
	tcp_len = packet_build_tcp(&tcp, packet_buf, sizeof(packet_buf));
	ck_assert_int_gt(tcp_len, 0);
	offending = malloc((size_t)tcp_len);
	ck_assert_ptr_nonnull(offending);
	memcpy(offending, packet_buf, (size_t)tcp_len);

	icmp_spec_init(&spec, family);
	ck_assert_int_eq(icmp_message_lookup("host-unreachable", family, &spec.type, &spec.code), 0);
	spec.quote = offending;
	spec.quote_len = (size_t)tcp_len;
	len = build_icmp(&spec);
	ck_assert_uint_eq(len, family == AF_INET ? 576 : 1280);
	ck_assert_mem_eq(packet_buf + len - quote_max, offending, quote_max);
	free(offending);
	ck_assert_int_eq(packet_parse(packet_buf, len, &seen), 0);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert(seen.has_quote);
	ck_assert_uint_eq(seen.quote.seq, tcp.seq);
	ck_assert_uint_eq(seen.payload_len, quote_max);
}
END_TEST

START_TEST(test_icmp_mtu)
{
	struct packet_summary seen;
	struct icmp_spec spec;

	/* ICMPv6 packet-too-big: all 32 bits. */
	icmp_spec_init(&spec, AF_INET6);
	spec.type = 2;
	spec.mtu = 0x12345678;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert_uint_eq(seen.icmp_mtu, 0x12345678);
	ck_assert(seen.icmp_checksum_ok);
	ck_assert(!seen.has_quote);

	/* ICMP frag-needed: 16 bits, in the second half of the word. */
	icmp_spec_init(&spec, AF_INET);
	spec.type = 3;
	spec.code = 4;
	spec.mtu = 65535;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert_uint_eq(seen.icmp_mtu, 65535);
	ck_assert_uint_eq(packet_buf[24], 0);
	ck_assert_uint_eq(packet_buf[25], 0);
	spec.mtu = 65536;
	ck_assert_int_eq(packet_build_icmp(&spec, packet_buf, sizeof(packet_buf)), -EINVAL);

	/* Other messages have no MTU: the word stays zero. */
	spec.code = 3;
	ck_assert_int_eq(packet_parse(packet_buf, build_icmp(&spec), &seen), 0);
	ck_assert_uint_eq(seen.icmp_mtu, 0);
	ck_assert_mem_eq(packet_buf + 24, "\0\0\0\0", 4);
}
END_TEST

START_TEST(test_udp_icmp_build_errors)
{
	struct icmp_spec icmp;
	struct udp_spec udp;
	size_t len;

	udp_spec_for(&udp, AF_INET);
	udp.family = AF_UNIX;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp_spec_for(&udp, AF_INET6);
	udp.flow_label = IPV6_FLOW_LABEL_MAX + 1;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp_spec_for(&udp, AF_INET);
	udp.length_field = -2;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp.length_field = 65536;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp_spec_for(&udp, AF_INET);
	udp.checksum = 7;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	/* One byte over the IP length. */
	udp.checksum = CHECKSUM_CORRECT;
	udp.payload_len = 65535 - 28 + 1;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp_spec_for(&udp, AF_INET6);
	udp.payload_len = 65535 - 8 + 1;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);
	udp.payload_len = (size_t)-1;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, sizeof(packet_buf)), -EINVAL);

	udp_spec_for(&udp, AF_INET);
	len = 20 + 8 + udp.payload_len;
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, len - 1), -ENOSPC);
	ck_assert_int_eq(packet_build_udp(&udp, packet_buf, len), (ssize_t)len);
	ck_assert_int_eq(packet_build_udp(&udp, NULL, 0), -ENOSPC);

	icmp_spec_for(&icmp, AF_INET);
	icmp.family = AF_UNIX;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	icmp_spec_for(&icmp, AF_INET6);
	icmp.flow_label = IPV6_FLOW_LABEL_MAX + 1;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	icmp_spec_for(&icmp, AF_INET);
	icmp.checksum = 3;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	/* A quote length with no quote, and a quote with a payload too. */
	icmp_spec_for(&icmp, AF_INET);
	icmp.payload_len = 0;
	icmp.quote_len = 28;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	icmp.quote = captured_syn_v4;
	icmp.payload_len = 1;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	icmp_spec_for(&icmp, AF_INET);
	icmp.payload_len = 65535 - 28 + 1;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);
	icmp.payload_len = 65535 - 28;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), 65535);
	icmp_spec_for(&icmp, AF_INET6);
	icmp.payload_len = 65535 - 8 + 1;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, sizeof(packet_buf)), -EINVAL);

	icmp_spec_for(&icmp, AF_INET6);
	len = 40 + 8 + icmp.payload_len;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, len - 1), -ENOSPC);
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, len), (ssize_t)len);
	/* The buffer must hold the quote as cut, not as given. */
	icmp_spec_init(&icmp, AF_INET);
	icmp.type = 11;
	icmp.quote = packet_buf + 1000;
	icmp.quote_len = 5000;
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, 575), -ENOSPC);
	ck_assert_int_eq(packet_build_icmp(&icmp, packet_buf, 576), 576);
}
END_TEST

START_TEST(test_flags_parse)
{
	static const struct {
		const char *text;
		uint8_t flags;
	} cases[] = {
		{ "SA", TCP_FLAG_SYN | TCP_FLAG_ACK },
		{ "AS", TCP_FLAG_SYN | TCP_FLAG_ACK },
		{ "S", TCP_FLAG_SYN },
		{ "R", TCP_FLAG_RST },
		{ "RA", TCP_FLAG_RST | TCP_FLAG_ACK },
		{ "FA", TCP_FLAG_FIN | TCP_FLAG_ACK },
		{ "A", TCP_FLAG_ACK },
		{ "SR", TCP_FLAG_SYN | TCP_FLAG_RST },
		{ "SF", TCP_FLAG_SYN | TCP_FLAG_FIN },
		{ "PA", TCP_FLAG_PSH | TCP_FLAG_ACK },
		{ "U", TCP_FLAG_URG },
		{ "E", TCP_FLAG_ECE },
		{ "C", TCP_FLAG_CWR },
		{ "CEUAPRSF", 0xff },
		{ "none", 0 },
		{ "", 0 },
	};
	static const struct {
		const char *text;
		size_t bad_at;
	} errors[] = {
		{ "s", 0 }, { "SX", 1 }, { "SS", 1 }, { "None", 0 }, { " S", 0 },
		{ "S,A", 1 }, { "nonE", 0 }, { "SA ", 2 },
	};
	const char *bad;
	uint8_t flags;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		flags = 0x5a;
		ck_assert_msg(tcp_flags_parse(cases[i].text, &flags, NULL) == 0, "%s", cases[i].text);
		ck_assert_msg(flags == cases[i].flags, "%s gave %#x", cases[i].text, flags);
	}
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		bad = NULL;
		flags = 0x5a;
		ck_assert_int_eq(tcp_flags_parse(errors[i].text, &flags, &bad), -EINVAL);
		ck_assert_ptr_eq(bad, errors[i].text + errors[i].bad_at);
		ck_assert_uint_eq(flags, 0x5a);
		ck_assert_int_eq(tcp_flags_parse(errors[i].text, &flags, NULL), -EINVAL);
	}
}
END_TEST

START_TEST(test_flags_format)
{
	static const struct {
		uint8_t flags;
		const char *text;
	} cases[] = {
		{ 0, "none" },
		{ TCP_FLAG_SYN, "S" },
		{ TCP_FLAG_SYN | TCP_FLAG_ACK, "SA" },
		{ TCP_FLAG_RST, "R" },
		{ TCP_FLAG_RST | TCP_FLAG_ACK, "RA" },
		{ TCP_FLAG_FIN | TCP_FLAG_ACK, "FA" },
		{ TCP_FLAG_PSH | TCP_FLAG_ACK, "PA" },
		{ TCP_FLAG_SYN | TCP_FLAG_RST, "SR" },
		{ TCP_FLAG_SYN | TCP_FLAG_FIN, "SF" },
		{ TCP_FLAG_SYN | TCP_FLAG_ECE | TCP_FLAG_CWR, "SEC" },
		{ 0xff, "SFRPAUEC" },
	};
	char buf[TCP_FLAGS_STRLEN];
	uint8_t parsed;
	unsigned int flags;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(tcp_flags_format(cases[i].flags, buf), cases[i].text);
	ck_assert_ptr_eq(tcp_flags_format(0x12, buf), buf);

	for (flags = 0; flags <= 0xff; flags++) {
		tcp_flags_format((uint8_t)flags, buf);
		ck_assert_int_eq(tcp_flags_parse(buf, &parsed, NULL), 0);
		ck_assert_uint_eq(parsed, flags);
	}
}
END_TEST

START_TEST(test_spec_defaults)
{
	struct packet_summary seen;
	struct tcp_spec spec;

	tcp_spec_init(&spec, AF_INET6);
	ck_assert_int_eq(spec.family, AF_INET6);
	ck_assert_uint_eq(spec.ttl, 64);
	ck_assert_uint_eq(spec.window, 65535);
	ck_assert_uint_eq(spec.flags, TCP_FLAG_ACK);
	ck_assert_int_eq(spec.mss, -1);
	ck_assert_int_eq(spec.wscale, -1);
	ck_assert(!spec.sack_permitted);
	ck_assert(!spec.timestamp);
	ck_assert_int_eq(spec.data_offset, 0);
	ck_assert_uint_eq(spec.payload_len, 0);
	ck_assert_uint_eq(spec.truncate, 0);
	ck_assert_int_eq(spec.checksum, CHECKSUM_CORRECT);

	/* ttl 0 still means 64 for callers that zero the spec themselves. */
	spec.ttl = 0;
	ck_assert_int_eq(packet_parse(packet_buf, build(&spec), &seen), 0);
	ck_assert_uint_eq(seen.ttl, 64);
	ck_assert(seen.tcp_checksum_ok);
}
END_TEST

/* packet_truncate: the IP length follows the cut, the IPv4 header checksum stays
 * right, and the parser then sees a short transport header. */
START_TEST(test_truncate_udp)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct udp_spec spec;
	struct packet_summary summary;
	uint8_t buf[256];
	size_t ip_len;
	ssize_t len;

	udp_spec_init(&spec, families[_i]);
	spec.sport = 40000;
	spec.dport = 9;
	spec.payload_len = 10;
	len = packet_build_udp(&spec, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	ip_len = families[_i] == AF_INET ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
	ck_assert_int_eq(packet_truncate(buf, (size_t)len, ip_len + 4), (ssize_t)(ip_len + 4));
	ck_assert_int_eq(packet_parse(buf, ip_len + 4, &summary), 0);
	ck_assert_uint_eq(summary.ip_len, ip_len + 4);
	ck_assert(summary.ip_checksum_ok);
	ck_assert(summary.truncated);
	ck_assert_int_eq(packet_truncate(buf, (size_t)len, ip_len - 1), -EINVAL);
	ck_assert_int_eq(packet_truncate(buf, ip_len + 4, ip_len + 5), -EINVAL);
}
END_TEST

static Suite *packet_suite(void)
{
	Suite *suite = suite_create("packet");
	TCase *vectors = tcase_create("vectors");
	TCase *build_parse = tcase_create("build_parse");
	TCase *flags = tcase_create("flags");

	tcase_add_test(vectors, test_rfc1071_example);
	tcase_add_test(vectors, test_ipv4_header_checksum_vector);
	tcase_add_test(vectors, test_build_matches_captured_syn);
	tcase_add_test(vectors, test_parse_captured_syn);
	tcase_add_test(vectors, test_parse_captured_psh_ack);
	tcase_add_test(vectors, test_build_matches_ipv6_vector);
	tcase_add_test(vectors, test_option_layout);
	tcase_add_test(vectors, test_sack_and_raw_options);
	tcase_add_test(vectors, test_udp_vectors);
	tcase_add_loop_test(vectors, test_udp_zero_sum_is_all_ones, 0, 2);
	tcase_add_test(vectors, test_icmp_vectors);
	tcase_add_loop_test(vectors, test_truncate_udp, 0, 2);
	tcase_add_test(vectors, test_icmp_message_lookup);
	suite_add_tcase(suite, vectors);

	tcase_set_timeout(build_parse, 30);
	tcase_add_test(build_parse, test_spec_defaults);
	tcase_add_loop_test(build_parse, test_round_trip, 0, ROUND_TRIP_CASES);
	tcase_add_test(build_parse, test_checksum_value_exact);
	tcase_add_loop_test(build_parse, test_checksum_bad_never_verifies, 0, 2);
	tcase_add_loop_test(build_parse, test_data_offset_lies, 0, 2);
	tcase_add_loop_test(build_parse, test_truncate, 0, 2);
	tcase_add_loop_test(build_parse, test_capture_shorter_than_ip_length, 0, 2);
	tcase_add_test(build_parse, test_build_errors);
	tcase_add_test(build_parse, test_parse_errors);
	tcase_add_test(build_parse, test_parse_ipv4_options_and_fragments);
	tcase_add_test(build_parse, test_parse_ipv6_extension_headers);
	tcase_add_test(build_parse, test_parse_udp_and_icmp);
	tcase_add_test(build_parse, test_udp_icmp_spec_defaults);
	tcase_add_loop_test(build_parse, test_udp_round_trip, 0, 2 * UDP_CASES);
	tcase_add_loop_test(build_parse, test_udp_checksum_bad_never_verifies, 0, 2);
	tcase_add_loop_test(build_parse, test_udp_capture_cut, 0, 2);
	tcase_add_loop_test(build_parse, test_icmp_echo_round_trip, 0, 4);
	tcase_add_loop_test(build_parse, test_icmp_pseudo_header, 0, 2);
	tcase_add_loop_test(build_parse, test_icmp_port_unreachable_quotes_tcp, 0, 2);
	tcase_add_test(build_parse, test_icmp_quote_udp_and_extension_headers);
	tcase_add_loop_test(build_parse, test_icmp_quote_cut_to_rfc_size, 0, 2);
	tcase_add_test(build_parse, test_icmp_mtu);
	tcase_add_test(build_parse, test_udp_icmp_build_errors);
	suite_add_tcase(suite, build_parse);

	tcase_add_test(flags, test_flags_parse);
	tcase_add_test(flags, test_flags_format);
	suite_add_tcase(suite, flags);
	return suite;
}

int main(void)
{
	return suite_main(packet_suite());
}
