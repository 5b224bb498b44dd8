/*
 * mkcapture - write a capture of mixed flows for `make bench` to replay:
 * mkcapture FILE PACKETS [SEED].
 *
 * Classic pcap, raw IP (LINKTYPE_RAW), a microsecond apart. A thousand flows
 * at a time interleave, IPv4 and IPv6 (one in four), made by ctlab's own
 * packet builder: TCP connections that open, carry a request and an answer and
 * close; some reset by the server; some with a segment far over the window
 * (INVALID, and the RST after it); some picked up mid-stream (no SYN); UDP
 * exchanges. Addresses in 198.18.0.0/15 and 2001:db8::/32 outside the flood's
 * ranges, so every packet is judged and logged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet/packet.h"

#define ACTIVE		1000
#define LINKTYPE_RAW	101

enum flow_kind { FLOW_CLOSE, FLOW_RESET, FLOW_OVER_WINDOW, FLOW_MID_STREAM, FLOW_UDP };

struct flow {
	enum flow_kind kind;
	int family;
	union inet_addr client, server;
	uint16_t sport, dport;
	uint32_t cseq, sseq;		/* the next sequence number each side sends */
	uint32_t label;
	int step;			/* the next packet of the flow's script */
};

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

static uint16_t ip_id;
static uint64_t flows_made;

static void flow_new(struct flow *f)
{
	uint32_t pick = rng() % 100;
	uint64_t n = flows_made++;

	memset(f, 0, sizeof(*f));
	f->kind = pick < 70 ? FLOW_CLOSE : pick < 78 ? FLOW_RESET : pick < 82 ? FLOW_OVER_WINDOW :
		  pick < 86 ? FLOW_MID_STREAM : FLOW_UDP;
	f->family = rng() % 4 == 0 ? AF_INET6 : AF_INET;
	if (f->family == AF_INET) {
		/* clients 198.18.1.0-198.18.127.255, servers 198.19.0.0/16 */
		f->client.v4.s_addr = htonl(0xc6120100u + (uint32_t)(n % 32512));
		f->server.v4.s_addr = htonl(0xc6130000u + rng() % 256);
	} else {
		inet_pton(AF_INET6, "2001:db8:1::", &f->client.v6);
		inet_pton(AF_INET6, "2001:db8:2::", &f->server.v6);
		f->client.v6.s6_addr[14] = (uint8_t)(n >> 8);
		f->client.v6.s6_addr[15] = (uint8_t)n;
		f->server.v6.s6_addr[15] = (uint8_t)(rng() % 256);
	}
	/* Ports cycle through 40000..65535 per client: no tuple is reused for
	 * 25,000 flows of that client, long after its entry is closed. */
	f->sport = (uint16_t)(40000 + (n / 32512) % 25536);
	f->dport = f->kind == FLOW_UDP ? 5001 : 443;
	f->cseq = rng();
	f->sseq = rng();
	f->label = rng() & IPV6_FLOW_LABEL_MAX;
}

/* One TCP segment of the flow, from the client or the server, with payload bytes. */
static ssize_t segment(struct flow *f, bool from_client, uint8_t flags, size_t payload, uint8_t *buf,
		       size_t size)
{
	struct tcp_spec s;

	tcp_spec_init(&s, f->family);
	s.src = from_client ? f->client : f->server;
	s.dst = from_client ? f->server : f->client;
	s.sport = from_client ? f->sport : f->dport;
	s.dport = from_client ? f->dport : f->sport;
	s.seq = from_client ? f->cseq : f->sseq;
	s.ack = flags & TCP_FLAG_ACK ? (from_client ? f->sseq : f->cseq) : 0;
	s.flags = flags;
	s.ip_id = ip_id++;
	s.flow_label = f->label;
	s.payload_len = payload;
	if (flags & TCP_FLAG_SYN)
		s.mss = 1460;
	if (f->kind == FLOW_OVER_WINDOW && payload == 1)
		s.seq += 50000000;	/* far over any window the receiver advertised */
	else if (from_client)
		f->cseq += (uint32_t)payload + !!(flags & (TCP_FLAG_SYN | TCP_FLAG_FIN));
	else
		f->sseq += (uint32_t)payload + !!(flags & (TCP_FLAG_SYN | TCP_FLAG_FIN));
	return packet_build_tcp(&s, buf, size);
}

static ssize_t datagram(struct flow *f, bool from_client, size_t payload, uint8_t *buf, size_t size)
{
	struct udp_spec s;

	udp_spec_init(&s, f->family);
	s.src = from_client ? f->client : f->server;
	s.dst = from_client ? f->server : f->client;
	s.sport = from_client ? f->sport : f->dport;
	s.dport = from_client ? f->dport : f->sport;
	s.ip_id = ip_id++;
	s.flow_label = f->label;
	s.payload_len = payload;
	return packet_build_udp(&s, buf, size);
}

/* The flow's next packet into buf: its length, or 0 when the flow is over. */
static ssize_t flow_next(struct flow *f, uint8_t *buf, size_t size)
{
	const uint8_t A = TCP_FLAG_ACK, PA = TCP_FLAG_PSH | TCP_FLAG_ACK, FA = TCP_FLAG_FIN | TCP_FLAG_ACK;
	int step = f->step++;

	if (f->kind == FLOW_UDP) {
		static const size_t sizes[] = { 40, 120, 40, 300 };

		return step < 4 ? datagram(f, step % 2 == 0, sizes[step], buf, size) : 0;
	}
	if (f->kind == FLOW_MID_STREAM)
		step += 3;	/* from the first data segment: the handshake was before the capture */
	switch (step) {
	case 0: return segment(f, true, TCP_FLAG_SYN, 0, buf, size);
	case 1: return segment(f, false, TCP_FLAG_SYN | A, 0, buf, size);
	case 2: return segment(f, true, A, 0, buf, size);
	case 3: return segment(f, true, PA, 200, buf, size);
	case 4: return segment(f, false, A, 0, buf, size);
	case 5:
		if (f->kind == FLOW_RESET)
			return segment(f, false, TCP_FLAG_RST | A, 0, buf, size);
		if (f->kind == FLOW_OVER_WINDOW)
			return segment(f, true, PA, 1, buf, size);
		return segment(f, false, PA, 1200, buf, size);
	case 6:
		if (f->kind == FLOW_RESET)
			return 0;
		if (f->kind == FLOW_OVER_WINDOW)
			return segment(f, false, TCP_FLAG_RST, 0, buf, size);
		return segment(f, true, A, 0, buf, size);
	case 7: return f->kind == FLOW_OVER_WINDOW ? 0 : segment(f, true, FA, 0, buf, size);
	case 8: return segment(f, false, FA, 0, buf, size);
	case 9: return segment(f, true, A, 0, buf, size);
	default: return 0;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);	/* native order: the magic number tells readers which */
}

int main(int argc, char **argv)
{
	static struct flow active[ACTIVE];
	uint8_t header[24] = { 0 }, record[16], buf[2048];
	unsigned long long packets, written = 0;
	uint64_t usec = 1700000000ull * 1000000ull;
	FILE *out;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: mkcapture FILE PACKETS [SEED]\n");
		return 2;
	}
	packets = strtoull(argv[2], NULL, 10);
	rng_state = argc == 4 ? strtoull(argv[3], NULL, 10) : 1;
	out = fopen(argv[1], "we");
	if (!out) {
		fprintf(stderr, "mkcapture: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	put32(header, 0xa1b2c3d4u);
	header[4] = 2;		/* version 2.4, little-endian on this machine */
	header[6] = 4;
	put32(header + 16, 65535);
	put32(header + 20, LINKTYPE_RAW);
	fwrite(header, 1, sizeof(header), out);
	for (size_t i = 0; i < ACTIVE; i++)
		flow_new(&active[i]);
	while (written < packets) {
		struct flow *f = &active[rng() % ACTIVE];
		ssize_t len = flow_next(f, buf, sizeof(buf));

		if (len == 0) {
			flow_new(f);
			continue;
		}
		if (len < 0) {
			fprintf(stderr, "mkcapture: building a packet: %s\n", strerror((int)-len));
			return 1;
		}
		put32(record, (uint32_t)(usec / 1000000));
		put32(record + 4, (uint32_t)(usec % 1000000));
		put32(record + 8, (uint32_t)len);
		put32(record + 12, (uint32_t)len);
		fwrite(record, 1, sizeof(record), out);
		fwrite(buf, 1, (size_t)len, out);
		usec++;
		written++;
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "mkcapture: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	fprintf(stderr, "mkcapture: %llu packets, %llu flows begun\n", written,
		(unsigned long long)flows_made);
	return 0;
}
