/* Turn a scenario's send step into packet bytes, with the connections' live numbers. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

/* ICMP and ICMPv6 type/code of each named message. */
static const struct {
	uint8_t type4, code4, type6, code6;
} icmp_messages[ICMP_MSG_COUNT] = {
	[ICMP_MSG_ECHO_REQUEST]		= { 8, 0, 128, 0 },
	[ICMP_MSG_ECHO_REPLY]		= { 0, 0, 129, 0 },
	[ICMP_MSG_PORT_UNREACHABLE]	= { 3, 3, 1, 4 },
	[ICMP_MSG_HOST_UNREACHABLE]	= { 3, 1, 1, 3 },
	[ICMP_MSG_ADMIN_PROHIBITED]	= { 3, 13, 1, 1 },
	[ICMP_MSG_TOO_BIG]		= { 3, 4, 2, 0 },
	[ICMP_MSG_TIME_EXCEEDED]	= { 11, 0, 3, 0 },
};

void icmp_message_code(int family, enum icmp_message message, uint8_t *type, uint8_t *code)
{
	*type = family == AF_INET ? icmp_messages[message].type4 : icmp_messages[message].type6;
	*code = family == AF_INET ? icmp_messages[message].code4 : icmp_messages[message].code6;
}

/* What the sender's own socket would put in a segment right now: its addresses
 * and ports as it sees them (NAT may stand between the two ends) and numbers. */
static int tcp_from_endpoint(struct run *run, struct conn *conn, bool from_client,
			     struct tcp_spec *spec)
{
	struct tcp_live sender;
	int rc;

	conn_view(conn, from_client, &spec->src, &spec->sport, &spec->dst, &spec->dport);
	rc = conn_live(run, conn, from_client, &sender);
	if (rc < 0)
		return rc;
	spec->seq = sender.snd_nxt;
	spec->ack = sender.rcv_nxt;
	spec->window = (uint16_t)(sender.rcv_wnd >> sender.rcv_wscale);
	return 0;
}

/* The numeric fields of a send step, evaluated; present[] says which were given. */
static int eval_fields(struct run *run, const struct send_step *send, uint64_t *value,
		       struct step_result *result)
{
	size_t field;
	int rc;

	for (field = 0; field < SEND_FIELD_COUNT; field++) {
		if (!send->fields[field].present)
			continue;
		rc = eval_expr(run, &send->fields[field], &value[field]);
		if (rc < 0)
			return step_error(result, "%s=: %s", send_field_name(field), eval_strerror(rc));
	}
	return 0;
}

#define SET(spec, field, member) \
	do { if (send->fields[field].present) (spec)->member = value[field]; } while (0)

static void set_checksum(const struct send_step *send, const uint64_t *value,
			 enum checksum_mode *mode, uint16_t *checksum_value)
{
	if (send->fields[SEND_CSUM].present) {
		*mode = CHECKSUM_VALUE;
		*checksum_value = (uint16_t)value[SEND_CSUM];
	}
	if (send->bad_checksum)
		*mode = CHECKSUM_BAD;
}

/* The IPv4 ID and IPv6 flow label that mark the next crafted packet. */
static void crafted_ids(const struct run *run, uint16_t *ip_id, uint32_t *flow_label)
{
	*ip_id = (uint16_t)(0xc000 | (run->next_packet_id & 0x3fff));
	*flow_label = 0xc0000 | (run->next_packet_id & 0xffff);
}

static ssize_t craft_tcp(struct run *run, const struct send_step *send, const struct host *src,
			 const char *dst, const uint64_t *value, uint8_t *buf, size_t size,
			 struct step_result *result)
{
	struct tcp_spec spec;
	int rc;

	tcp_spec_init(&spec, run->family);
	route_addrs(run, src, dst, &spec.src, &spec.dst);
	crafted_ids(run, &spec.ip_id, &spec.flow_label);
	spec.sport = 40000;
	spec.dport = 80;
	if (send->conn >= 0) {
		struct conn *conn = &run->conns[send->conn];

		/* Numbers given in full need no socket to read (one in SYN_SENT
		 * cannot be read). */
		rc = tcp_from_endpoint(run, conn, src == conn->client, &spec);
		if (rc < 0 && !(send->fields[SEND_SEQ].present && send->fields[SEND_ACK].present))
			return step_error(result, "connection %s: %s",
					  run->scenario->conns[send->conn], eval_strerror(rc));
	}
	SET(&spec, SEND_SPORT, sport);
	SET(&spec, SEND_DPORT, dport);
	SET(&spec, SEND_SEQ, seq);
	SET(&spec, SEND_ACK, ack);
	SET(&spec, SEND_WIN, window);
	SET(&spec, SEND_URG, urgent);
	SET(&spec, SEND_DOFF, data_offset);
	SET(&spec, SEND_LEN, payload_len);
	SET(&spec, SEND_MSS, mss);
	SET(&spec, SEND_WSCALE, wscale);
	SET(&spec, SEND_TTL, ttl);
	SET(&spec, SEND_TOS, tos);
	SET(&spec, SEND_TSVAL, ts_val);
	SET(&spec, SEND_TSECR, ts_ecr);
	SET(&spec, SEND_TRUNCATE, truncate);
	set_checksum(send, value, &spec.checksum, &spec.checksum_value);
	if (send->has_flags)
		spec.flags = send->flags;
	spec.sack_permitted = send->sack_permitted;
	spec.timestamp = send->timestamp;
	for (size_t i = 0; i < 2u * send->n_sack; i++) {
		uint64_t edge;

		rc = eval_expr(run, &send->sack[i], &edge);
		if (rc < 0)
			return step_error(result, "sack=: %s", eval_strerror(rc));
		spec.sack[i / 2][i % 2] = (uint32_t)edge;
	}
	spec.n_sack = send->n_sack;
	if (send->raw_len)	/* raw_options is NULL without opt= */
		memcpy(spec.raw_options, send->raw_options, send->raw_len);
	spec.raw_len = send->raw_len;
	return packet_build_tcp(&spec, buf, size);
}

static ssize_t craft_udp(struct run *run, const struct send_step *send, const struct host *src,
			 const char *dst, const uint64_t *value, uint8_t *buf, size_t size)
{
	struct udp_spec spec;

	udp_spec_init(&spec, run->family);
	route_addrs(run, src, dst, &spec.src, &spec.dst);
	crafted_ids(run, &spec.ip_id, &spec.flow_label);
	spec.sport = 40000;
	spec.dport = 53;
	if (send->conn >= 0) {
		const struct conn *conn = &run->conns[send->conn];

		conn_view(conn, src == conn->client, &spec.src, &spec.sport, &spec.dst, &spec.dport);
	}
	SET(&spec, SEND_SPORT, sport);
	SET(&spec, SEND_DPORT, dport);
	SET(&spec, SEND_LEN, payload_len);
	SET(&spec, SEND_TTL, ttl);
	SET(&spec, SEND_TOS, tos);
	if (send->fields[SEND_ULEN].present)
		spec.length_field = (int)value[SEND_ULEN];
	set_checksum(send, value, &spec.checksum, &spec.checksum_value);
	return packet_build_udp(&spec, buf, size);
}

/* The packet an endpoint of a connection would send next, for an ICMP error to
 * quote: its header says which entry the error is about. */
static ssize_t quoted_packet(struct run *run, const struct endpoint *endpoint, uint8_t *buf,
			     size_t size, struct step_result *result)
{
	struct conn *conn = &run->conns[endpoint->conn];
	bool from_client = endpoint->side == SIDE_CLIENT;
	struct tcp_spec tcp;
	struct udp_spec udp;
	int rc;

	if (conn->protocol == PROTO_UDP) {
		udp_spec_init(&udp, run->family);
		conn_view(conn, from_client, &udp.src, &udp.sport, &udp.dst, &udp.dport);
		udp.payload_len = 8;
		return packet_build_udp(&udp, buf, size);
	}
	tcp_spec_init(&tcp, run->family);
	rc = tcp_from_endpoint(run, conn, from_client, &tcp);
	if (rc < 0)
		return step_error(result, "quote=%s: %s", run->scenario->conns[endpoint->conn],
				  eval_strerror(rc));
	tcp.flags = TCP_FLAG_ACK | TCP_FLAG_PSH;
	tcp.payload_len = 100;
	return packet_build_tcp(&tcp, buf, size);
}

static ssize_t craft_icmp(struct run *run, const struct send_step *send, const struct host *src,
			  const char *dst, const uint64_t *value, uint8_t *buf, size_t size,
			  struct step_result *result)
{
	uint8_t quote[PACKET_MAX / 8];
	struct icmp_spec spec;
	ssize_t quote_len;

	icmp_spec_init(&spec, run->family);
	route_addrs(run, src, dst, &spec.src, &spec.dst);
	crafted_ids(run, &spec.ip_id, &spec.flow_label);
	icmp_message_code(run->family, ICMP_MSG_ECHO_REQUEST, &spec.type, &spec.code);
	if (send->icmp_message != ICMP_MSG_NONE)
		icmp_message_code(run->family, send->icmp_message, &spec.type, &spec.code);
	spec.echo_id = (uint16_t)run->next_packet_id;
	SET(&spec, SEND_TYPE, type);
	SET(&spec, SEND_CODE, code);
	SET(&spec, SEND_MTU, mtu);
	SET(&spec, SEND_ICMP_ID, echo_id);
	SET(&spec, SEND_ICMP_SEQ, echo_seq);
	SET(&spec, SEND_LEN, payload_len);
	SET(&spec, SEND_TTL, ttl);
	SET(&spec, SEND_TOS, tos);
	set_checksum(send, value, &spec.checksum, &spec.checksum_value);
	if (send->has_quote) {
		quote_len = quoted_packet(run, &send->quote, quote, sizeof(quote), result);
		if (quote_len < 0)
			return -1;
		spec.quote = quote;
		spec.quote_len = (size_t)quote_len;
	}
	return packet_build_icmp(&spec, buf, size);
}

#undef SET

ssize_t craft_packet(struct run *run, const struct send_step *send, uint8_t *buf, size_t size,
		     struct step_result *result)
{
	const struct host *src = find_host(run, send->src);
	const char *dst = send->dst;
	uint64_t value[SEND_FIELD_COUNT] = { 0 };
	ssize_t len;

	if (eval_fields(run, send, value, result) < 0)
		return -1;
	/* Every injected packet gets its own IP ID / flow label so that its NFLOG
	 * records can be told from all others. */
	run->next_packet_id++;
	switch (send->protocol) {
	case PROTO_TCP:
		len = craft_tcp(run, send, src, dst, value, buf, size, result);
		break;
	case PROTO_UDP:
		len = craft_udp(run, send, src, dst, value, buf, size);
		break;
	case PROTO_ICMP:
		len = craft_icmp(run, send, src, dst, value, buf, size, result);
		break;
	default:
		len = -EINVAL;
	}
	if (len < 0 && !result->message[0])
		return step_error(result, "cannot build the packet: %s", strerror((int)-len));
	/* The TCP builder cuts its own packets (keeping a checksum over what is
	 * left); UDP and ICMP are cut after the fact. */
	if (len > 0 && send->protocol != PROTO_TCP && send->fields[SEND_TRUNCATE].present) {
		len = packet_truncate(buf, (size_t)len, value[SEND_TRUNCATE]);
		if (len < 0)
			return step_error(result, "truncate=%" PRIu64 ": shorter than the IP header "
					  "or longer than the packet", value[SEND_TRUNCATE]);
	}
	return len;
}
