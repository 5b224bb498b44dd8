// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/wire: the pcapng writer on hand-made wires (no privileges),
 * then captures of real TCP and UDP exchanges between two namespaces. Tests
 * that need root are skipped with a "# SKIP" line (exit 0) when not root or
 * when a kernel feature is missing.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "netns/netns.h"
#include "packet/packet.h"
#include "privileged.h"
#include "observe/observe.h"

#define WAIT_MS		3000
#define TCP_PORT	8080
#define UDP_PORT	9090
#define PCAPNG_MAX_IFS	8
#define PCAPNG_MAX_PKTS	256
#define CLOCK_SKEW_NS	100000000L	/* 100 ms: see check_each_seen_twice */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Made by main and emptied by it at the end, so a failed test leaves no file behind. */
static char temp_dir[] = "/tmp/ctlab-test-wire-XXXXXX";

static void temp_path(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/XXXXXX", temp_dir);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void temp_dir_remove(void)
{
	struct dirent *entry;
	char path[128];
	DIR *dir;

	dir = opendir(temp_dir);
	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", temp_dir, entry->d_name);
		unlink(path);
	}
	closedir(dir);
	rmdir(temp_dir);
}

/* What a pcapng file says, read block by block without libpcap. */
struct pcapng_view {
	size_t n_ifs, n_pkts;
	char if_names[PCAPNG_MAX_IFS][64];
	uint32_t if_tsresol[PCAPNG_MAX_IFS];
	uint16_t if_linktype[PCAPNG_MAX_IFS];
	uint32_t pkt_if[PCAPNG_MAX_PKTS];
	uint32_t pkt_flags[PCAPNG_MAX_PKTS];
	uint64_t pkt_ts[PCAPNG_MAX_PKTS];
	uint32_t pkt_len[PCAPNG_MAX_PKTS];
};

static uint32_t get32(const uint8_t *p)
{
	uint32_t value;

	memcpy(&value, p, sizeof(value));
	return value;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t value;

	memcpy(&value, p, sizeof(value));
	return value;
}

/* Walks the options from @p to @end, calling back with code, value, length. */
static void options_each(const uint8_t *p, const uint8_t *end,
			 void (*fn)(uint16_t code, const uint8_t *value, uint16_t len, void *arg),
			 void *arg)
{
	while (p + 4 <= end) {
		uint16_t code = get16(p), len = get16(p + 2);

		if (code == 0)
			return;
		ck_assert(p + 4 + len <= end);
		fn(code, p + 4, len, arg);
		p += 4 + ((len + 3u) & ~3u);
	}
}

struct idb_options {
	char *name;
	uint32_t *tsresol;
};

static void take_idb_option(uint16_t code, const uint8_t *value, uint16_t len, void *arg)
{
	struct idb_options *options = arg;

	if (code == 2) {		/* if_name */
		ck_assert_uint_lt(len, 64);
		memcpy(options->name, value, len);
		options->name[len] = '\0';
	} else if (code == 9) {		/* if_tsresol */
		ck_assert_uint_eq(len, 1);
		*options->tsresol = value[0];
	}
}

static void take_epb_option(uint16_t code, const uint8_t *value, uint16_t len, void *arg)
{
	if (code == 2) {		/* epb_flags */
		ck_assert_uint_eq(len, 4);
		*(uint32_t *)arg = get32(value);
	}
}

static void pcapng_read(const char *path, struct pcapng_view *view)
{
	static uint8_t buf[1 << 20];
	size_t size, off = 0;
	FILE *file;

	memset(view, 0, sizeof(*view));
	file = fopen(path, "rb");
	ck_assert_ptr_nonnull(file);
	size = fread(buf, 1, sizeof(buf), file);
	fclose(file);
	ck_assert_uint_ge(size, 28);
	ck_assert_uint_eq(get32(buf), 0x0a0d0d0a);
	ck_assert_uint_eq(get32(buf + 8), 0x1a2b3c4d);	/* written in host order */
	while (off < size) {
		const uint8_t *block = buf + off;
		uint32_t type, len;

		ck_assert_uint_ge(size - off, 12);
		type = get32(block);
		len = get32(block + 4);
		ck_assert_uint_eq(len % 4, 0);
		ck_assert_uint_ge(len, 12);
		ck_assert_uint_le(len, size - off);
		ck_assert_uint_eq(get32(block + len - 4), len);
		if (type == 1) {
			struct idb_options options;

			ck_assert_uint_lt(view->n_ifs, PCAPNG_MAX_IFS);
			ck_assert_uint_eq(view->n_pkts, 0);	/* every IDB before the packets */
			options.name = view->if_names[view->n_ifs];
			options.tsresol = &view->if_tsresol[view->n_ifs];
			view->if_linktype[view->n_ifs] = get16(block + 8);
			options_each(block + 16, block + len - 4, take_idb_option, &options);
			view->n_ifs++;
		} else if (type == 6) {
			size_t n = view->n_pkts++;
			uint32_t caplen = get32(block + 20);

			ck_assert_uint_lt(n, PCAPNG_MAX_PKTS);
			view->pkt_if[n] = get32(block + 8);
			ck_assert_uint_lt(view->pkt_if[n], view->n_ifs);
			view->pkt_ts[n] = (uint64_t)get32(block + 12) << 32 | get32(block + 16);
			view->pkt_len[n] = caplen;
			ck_assert_uint_eq(get32(block + 24), caplen);
			options_each(block + 28 + ((caplen + 3u) & ~3u), block + len - 4, take_epb_option,
				     &view->pkt_flags[n]);
		}
		off += len;
	}
	ck_assert_uint_eq(off, size);
}

/*
 * Counts the packets libpcap reads from @path, and checks each is an IP
 * packet behind a cooked header that says its direction as @wire does.
 */
static size_t pcap_count(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *header;
	const u_char *data;
	size_t count = 0;
	pcap_t *pcap;
	int rc;

	pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(pcap != NULL, "pcap_open_offline: %s", err);
	ck_assert_int_eq(pcap_datalink(pcap), DLT_LINUX_SLL2);
	while ((rc = pcap_next_ex(pcap, &header, &data)) == 1) {
		ck_assert_uint_eq(header->caplen, header->len);
		ck_assert_uint_gt(header->caplen, 20);
		ck_assert(data[20] >> 4 == 4 || data[20] >> 4 == 6);
		ck_assert_uint_eq(data[0] << 8 | data[1], data[20] >> 4 == 4 ? 0x0800 : 0x86dd);
		ck_assert(data[10] == 0 || data[10] == 4);	/* PACKET_HOST or PACKET_OUTGOING */
		count++;
	}
	ck_assert_msg(rc == PCAP_ERROR_BREAK, "pcap_next_ex: %d %s", rc, pcap_geterr(pcap));
	pcap_close(pcap);
	return count;
}

/*
 * Runs tshark on @path, when it is installed, and checks it names each
 * packet's interface and direction as @view does. Returns false without tshark.
 */
static bool tshark_agrees(const char *path, const struct pcapng_view *view)
{
	char command[256], line[256], name[64];
	unsigned int direction;
	size_t n = 0;
	FILE *out;

	if (system("command -v tshark >/dev/null 2>&1") != 0)
		return false;
	/* No HOME: a user's Wireshark profile must not change the output (or be unreadable). */
	snprintf(command, sizeof(command),
		 "HOME=/nonexistent tshark -r %s -T fields -E separator=' ' -e frame.interface_name "
		 "-e frame.packet_flags_direction 2>/dev/null", path);
	out = popen(command, "r");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), out)) {
		ck_assert_int_eq(sscanf(line, "%63s %x", name, &direction), 2);
		ck_assert_uint_lt(n, view->n_pkts);
		ck_assert_str_eq(name, view->if_names[view->pkt_if[n]]);
		ck_assert_uint_eq(direction, view->pkt_flags[n] & 3);
		n++;
	}
	ck_assert_int_eq(pclose(out), 0);
	ck_assert_uint_eq(n, view->n_pkts);
	return true;
}

/* Unprivileged: hand-made wires */

static size_t build_tcp(int family, uint8_t flags, uint8_t *buf, size_t size)
{
	struct tcp_spec spec;
	ssize_t len;

	tcp_spec_init(&spec, family);
	if (family == AF_INET) {
		inet_pton(AF_INET, "198.18.0.1", &spec.src.v4);
		inet_pton(AF_INET, "198.18.0.2", &spec.dst.v4);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", &spec.src.v6);
		inet_pton(AF_INET6, "2001:db8::2", &spec.dst.v6);
	}
	spec.sport = 40000;
	spec.dport = TCP_PORT;
	spec.flags = flags;
	spec.payload_len = 3;
	len = packet_build_tcp(&spec, buf, size);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

START_TEST(test_add_and_lookup)
{
	static const uint8_t arp[28] = { 0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1 };
	struct timespec when = { 100, 5 };
	const struct wire_packet *packet;
	uint8_t buf[128], big[65536] = { 0x45 };
	struct wire *wire;
	char err[256];
	size_t len;

	wire = wire_open(NULL, NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(wire);
	ck_assert_uint_eq(wire_count(wire), 0);
	ck_assert_ptr_null(wire_at(wire, 0));
	ck_assert_int_eq(wire_poll(wire, 10), 0);

	len = build_tcp(AF_INET, TCP_FLAG_SYN, buf, sizeof(buf));
	ck_assert_int_eq(wire_add(wire, "client", "eth0", true, &when, buf, len), 0);
	ck_assert_int_eq(wire_add(wire, "server", "eth0", false, &when, arp, sizeof(arp)), -EINVAL);
	ck_assert_int_eq(wire_add(wire, "server", "eth0", false, &when, big, sizeof(big)), -EINVAL);
	ck_assert_int_eq(wire_add(wire, "a-host-name-much-longer-than-32-bytes", "an-interface-name-too-long",
				  false, &when, buf, len), 0);
	ck_assert_uint_eq(wire_count(wire), 2);

	packet = wire_at(wire, 0);
	ck_assert_ptr_nonnull(packet);
	ck_assert_uint_eq(packet->index, 0);
	ck_assert_str_eq(packet->host, "client");
	ck_assert_str_eq(packet->ifname, "eth0");
	ck_assert(packet->outgoing);
	ck_assert_int_eq(packet->when.tv_sec, 100);
	ck_assert_int_eq(packet->when.tv_nsec, 5);
	ck_assert_uint_eq(packet->len, len);
	ck_assert_mem_eq(packet->data, buf, len);
	ck_assert_int_eq(packet->packet.family, AF_INET);
	ck_assert_uint_eq(packet->packet.flags, TCP_FLAG_SYN);
	ck_assert_uint_eq(packet->packet.dport, TCP_PORT);

	packet = wire_at(wire, 1);
	ck_assert_uint_eq(packet->index, 1);
	ck_assert_str_eq(packet->host, "a-host-name-much-longer-than-32");
	ck_assert_str_eq(packet->ifname, "an-interface-na");
	ck_assert_ptr_null(wire_at(wire, 2));
	wire_free(wire);
	wire_free(NULL);
}
END_TEST

START_TEST(test_open_rejects_bad_names)
{
	struct netns *namespaces[1] = { NULL };
	const char *names[1] = { "a-host-name-much-longer-than-32-bytes" };
	char err[256];

	errno = 0;
	ck_assert_ptr_null(wire_open(namespaces, names, 1, err, sizeof(err)));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 31"));
	names[0] = "";
	errno = 0;
	ck_assert_ptr_null(wire_open(namespaces, names, 1, err, sizeof(err)));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_pcapng_handmade)
{
	/* Arrival order is not time order across hosts: the file must be. */
	static const struct {
		const char *host, *ifname;
		bool outgoing;
		int family;
		uint8_t flags;
		struct timespec when;
	} added[] = {
		{ "client", "eth0", true, AF_INET, TCP_FLAG_SYN, { 1700000000, 100 } },
		{ "server", "eth0", false, AF_INET, TCP_FLAG_SYN, { 1700000000, 200 } },
		{ "server", "eth0", true, AF_INET6, TCP_FLAG_SYN | TCP_FLAG_ACK, { 1700000000, 300 } },
		{ "router", "eth1", false, AF_INET6, TCP_FLAG_RST, { 1699999999, 999999999 } },
		{ "client", "eth0", false, AF_INET6, TCP_FLAG_SYN | TCP_FLAG_ACK, { 1700000000, 400 } },
		{ "client", "eth0", true, AF_INET, TCP_FLAG_ACK, { 1700000000, 400 } },
	};
	/* Index into added[] of each packet in the file. */
	static const size_t order[] = { 3, 0, 1, 2, 4, 5 };
	/* Interfaces by host and name, whatever the packets' order. */
	static const char *const if_names[] = { "client/eth0", "router/eth1", "server/eth0" };
	struct pcapng_view view;
	struct wire *wire;
	uint8_t buf[128];
	char err[256], path[128];
	size_t i, len;

	wire = wire_open(NULL, NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(wire);
	for (i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
		len = build_tcp(added[i].family, added[i].flags, buf, sizeof(buf));
		ck_assert_int_eq(wire_add(wire, added[i].host, added[i].ifname, added[i].outgoing,
					  &added[i].when, buf, len), 0);
	}
	temp_path(path, sizeof(path));
	ck_assert_int_eq(wire_write_pcapng(wire, path, NULL), 0);

	ck_assert_uint_eq(pcap_count(path), sizeof(added) / sizeof(added[0]));
	pcapng_read(path, &view);
	ck_assert_uint_eq(view.n_ifs, 3);
	for (i = 0; i < view.n_ifs; i++) {
		ck_assert_str_eq(view.if_names[i], if_names[i]);
		ck_assert_uint_eq(view.if_tsresol[i], 9);
		ck_assert_uint_eq(view.if_linktype[i], 276);
	}
	ck_assert_uint_eq(view.n_pkts, sizeof(added) / sizeof(added[0]));
	for (i = 0; i < view.n_pkts; i++) {
		const struct wire_packet *packet = wire_at(wire, order[i]);
		char name[64];

		snprintf(name, sizeof(name), "%s/%s", packet->host, packet->ifname);
		ck_assert_str_eq(view.if_names[view.pkt_if[i]], name);
		ck_assert_uint_eq(view.pkt_flags[i], packet->outgoing ? 2 : 1);
		ck_assert_uint_eq(view.pkt_ts[i],
				  (uint64_t)packet->when.tv_sec * 1000000000u + (uint64_t)packet->when.tv_nsec);
		ck_assert_uint_eq(view.pkt_len[i], 20 + packet->len);
	}
	if (!tshark_agrees(path, &view))
		printf("# tshark not installed: interface names checked by parsing the file only\n");

	ck_assert_int_eq(wire_write_pcapng(wire, "/nonexistent-dir/x.pcapng", NULL), -ENOENT);
	unlink(path);
	wire_free(wire);
}
END_TEST

START_TEST(test_pcapng_empty)
{
	struct pcapng_view view;
	struct wire *wire;
	char err[256], path[128];

	wire = wire_open(NULL, NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(wire);
	temp_path(path, sizeof(path));
	ck_assert_int_eq(wire_write_pcapng(wire, path, NULL), 0);
	pcapng_read(path, &view);
	ck_assert_uint_eq(view.n_ifs, 0);
	ck_assert_uint_eq(view.n_pkts, 0);
	unlink(path);
	wire_free(wire);
}
END_TEST

/* Privileged: two namespaces joined by a veth pair */

struct pair {
	struct netns *ns[2];		/* client, server */
	const char *names[2];
};

static void pair_new(struct pair *pair)
{
	static const char *const addrs[2][2] = {
		{ "198.18.0.1/24", "2001:db8::1/64" },
		{ "198.18.0.2/24", "2001:db8::2/64" },
	};
	static const char *const locals[2][2] = {
		{ "198.18.0.1", "2001:db8::1" },
		{ "198.18.0.2", "2001:db8::2" },
	};
	size_t i, j;

	pair->names[0] = "client";
	pair->names[1] = "server";
	for (i = 0; i < 2; i++) {
		pair->ns[i] = netns_new(pair->names[i]);
		ck_assert_msg(pair->ns[i] != NULL, "netns_new: %s", strerror(errno));
	}
	ck_assert_int_eq(netns_veth_add(pair->ns[0], "eth0", pair->ns[1], "eth0"), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(netns_link_up(pair->ns[i], "eth0"), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(netns_link_wait_running(pair->ns[i], "eth0", WAIT_MS), 0);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			ck_assert_int_eq(netns_addr_add(pair->ns[i], "eth0", addrs[i][j]), 0);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			ck_assert_int_eq(netns_addr_wait_local(pair->ns[i], locals[i][j], WAIT_MS), 0);
}

static void pair_free(struct pair *pair)
{
	netns_free(pair->ns[0]);
	netns_free(pair->ns[1]);
}

static socklen_t sockaddr_of(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	return sizeof(*sin6);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* What a test waits for: a packet of the exchange as one host saw it. */
struct want {
	const char *host;
	bool outgoing;
	uint8_t protocol;
	uint16_t sport, dport;
	uint8_t flags;			/* TCP: exactly these */
	int64_t ack;			/* TCP: -1 for any */
};

static bool wanted(const struct wire_packet *packet, const struct want *want)
{
	return !strcmp(packet->host, want->host) && packet->outgoing == want->outgoing &&
	       packet->packet.protocol == want->protocol && packet->packet.sport == want->sport &&
	       packet->packet.dport == want->dport &&
	       (want->protocol != IPPROTO_TCP || packet->packet.flags == want->flags) &&
	       (want->ack < 0 || packet->packet.ack == want->ack);
}

/* Polls @wire until a packet like @want is there, at most WAIT_MS. */
static const struct wire_packet *wait_for(struct wire *wire, const char *host, bool outgoing,
					  uint8_t protocol, uint16_t sport, uint16_t dport,
					  uint8_t flags, int64_t ack)
{
	const struct want want = { host, outgoing, protocol, sport, dport, flags, ack };
	long long deadline = now_us() + WAIT_MS * 1000LL;
	size_t i, next = 0;
	long long left;

	for (;;) {
		for (i = next; i < wire_count(wire); i++)
			if (wanted(wire_at(wire, i), &want))
				return wire_at(wire, i);
		next = wire_count(wire);
		left = (deadline - now_us()) / 1000;
		ck_assert_msg(left > 0, "%s never saw %s %u -> %u flags %#x", host,
			      outgoing ? "outgoing" : "incoming", sport, dport, flags);
		ck_assert_int_ge(wire_poll(wire, (int)left), 0);
	}
}

static bool addr_is(const struct packet_summary *packet, const union inet_addr *addr,
		    const char *text)
{
	union inet_addr want;

	ck_assert_int_eq(inet_pton(packet->family, text, &want), 1);
	return !memcmp(addr, &want, packet->family == AF_INET ? sizeof(want.v4) : sizeof(want.v6));
}

/* Nanoseconds from @a to @b (negative when @b is earlier). */
static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* The sending side and the receiving side of each packet of the exchange. */
static void check_each_seen_twice(const struct wire *wire, const char *const addrs[2],
				  uint16_t tcp_port, uint16_t udp_port)
{
	size_t i, j, paired = 0, ours = 0;

	for (i = 0; i < wire_count(wire); i++) {
		const struct wire_packet *p = wire_at(wire, i);
		const struct packet_summary *s = &p->packet;
		size_t twins = 0;
		int sender;

		ck_assert_str_eq(p->ifname, "eth0");
		ck_assert(p->data[0] >> 4 == (s->family == AF_INET ? 4 : 6));
		if (!(s->protocol == IPPROTO_TCP && (s->sport == tcp_port || s->dport == tcp_port)) &&
		    !(s->protocol == IPPROTO_UDP && s->sport == udp_port))
			continue;
		ours++;
		sender = addr_is(s, &s->src, addrs[0]) ? 0 : 1;
		ck_assert(addr_is(s, &s->src, addrs[sender]));
		ck_assert(addr_is(s, &s->dst, addrs[!sender]));
		if (!p->outgoing)
			continue;
		ck_assert_str_eq(p->host, sender ? "server" : "client");
		for (j = 0; j < wire_count(wire); j++) {
			const struct wire_packet *q = wire_at(wire, j);

			if (q->outgoing || strcmp(q->host, sender ? "client" : "server") ||
			    q->len != p->len || memcmp(q->data, p->data, p->len))
				continue;
			twins++;
			/*
			 * One clock for every namespace: received after sent, give
			 * or take CLOCK_SKEW_NS.  The kernel does not promise exact
			 * order: received copies of segments the server sent were
			 * stamped 20-32 us before the sent copies at a load of 6 on
			 * 6.18.44 (most likely the departure time TCP gives a segment,
			 * kept across the veth, against the time the sender's copy
			 * reached the capture; more if the sender is preempted between).
			 */
			ck_assert_int_ge(ns_between(&p->when, &q->when), -CLOCK_SKEW_NS);
		}
		ck_assert_uint_eq(twins, 1);
		paired++;
	}
	ck_assert_uint_eq(ours, 2 * paired);
}

static void check_exchange(int family)
{
	const char *const addrs[2] = { family == AF_INET ? "198.18.0.1" : "2001:db8::1",
				       family == AF_INET ? "198.18.0.2" : "2001:db8::2" };
	const struct wire_packet *syn, *seen, *fin;
	struct sockaddr_storage server_addr, loopback;
	socklen_t server_len, loopback_len;
	int listener, conn, accepted, udp_rx, udp_tx, udp_lo, one = 1;
	uint16_t client_port, udp_port;
	struct pcapng_view view;
	struct pair pair;
	struct wire *wire;
	char err[256], path[128], buf[16];
	size_t i, solicits = 0, adverts = 0;

	pair_new(&pair);
	wire = wire_open(pair.ns, pair.names, 2, err, sizeof(err));
	ck_assert_msg(wire != NULL, "wire_open: %s", err);

	/* Loopback traffic is never reported. */
	udp_lo = netns_socket(pair.ns[0], family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(udp_lo, 0);
	loopback_len = sockaddr_of(family, family == AF_INET ? "127.0.0.1" : "::1", UDP_PORT, &loopback);
	ck_assert_int_eq(sendto(udp_lo, "lo", 2, 0, (struct sockaddr *)&loopback, loopback_len), 2);

	server_len = sockaddr_of(family, addrs[1], TCP_PORT, &server_addr);
	listener = netns_socket(pair.ns[1], family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&server_addr, server_len), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	conn = netns_socket(pair.ns[0], family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(conn, 0);
	ck_assert_int_eq(connect(conn, (struct sockaddr *)&server_addr, server_len), 0);
	client_port = local_port(conn);
	accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(accepted, 0);
	ck_assert_int_eq(send(conn, "hello", 5, 0), 5);
	ck_assert_int_eq(recv(accepted, buf, sizeof(buf), 0), 5);
	close(conn);
	ck_assert_int_eq(recv(accepted, buf, sizeof(buf), 0), 0);
	close(accepted);
	close(listener);

	server_len = sockaddr_of(family, addrs[1], UDP_PORT, &server_addr);
	udp_rx = netns_socket(pair.ns[1], family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(udp_rx, 0);
	ck_assert_int_eq(bind(udp_rx, (struct sockaddr *)&server_addr, server_len), 0);
	udp_tx = netns_socket(pair.ns[0], family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(udp_tx, 0);
	ck_assert_int_eq(sendto(udp_tx, "hello", 5, 0, (struct sockaddr *)&server_addr, server_len), 5);
	udp_port = local_port(udp_tx);
	ck_assert_int_eq(recv(udp_rx, buf, sizeof(buf), 0), 5);

	/* Handshake, data, both FINs and the last ACK, each on both sides. */
	syn = wait_for(wire, "client", true, IPPROTO_TCP, client_port, TCP_PORT, TCP_FLAG_SYN, -1);
	ck_assert(addr_is(&syn->packet, &syn->packet.src, addrs[0]));
	ck_assert(addr_is(&syn->packet, &syn->packet.dst, addrs[1]));
	ck_assert_int_eq(syn->packet.family, family);
	ck_assert_int_ne(syn->packet.mss, -1);
	wait_for(wire, "server", false, IPPROTO_TCP, client_port, TCP_PORT, TCP_FLAG_SYN, -1);
	wait_for(wire, "server", true, IPPROTO_TCP, TCP_PORT, client_port, TCP_FLAG_SYN | TCP_FLAG_ACK,
		 (uint32_t)(syn->packet.seq + 1));
	wait_for(wire, "client", false, IPPROTO_TCP, TCP_PORT, client_port, TCP_FLAG_SYN | TCP_FLAG_ACK,
		 (uint32_t)(syn->packet.seq + 1));
	seen = wait_for(wire, "server", false, IPPROTO_TCP, client_port, TCP_PORT,
			TCP_FLAG_PSH | TCP_FLAG_ACK, -1);
	ck_assert_uint_eq(seen->packet.payload_len, 5);
	wait_for(wire, "server", false, IPPROTO_TCP, client_port, TCP_PORT, TCP_FLAG_FIN | TCP_FLAG_ACK, -1);
	fin = wait_for(wire, "client", false, IPPROTO_TCP, TCP_PORT, client_port,
		       TCP_FLAG_FIN | TCP_FLAG_ACK, -1);
	wait_for(wire, "server", false, IPPROTO_TCP, client_port, TCP_PORT, TCP_FLAG_ACK,
		 (uint32_t)(fin->packet.seq + 1));
	seen = wait_for(wire, "server", false, IPPROTO_UDP, udp_port, UDP_PORT, 0, -1);
	ck_assert_uint_eq(seen->packet.payload_len, 5);
	ck_assert(addr_is(&seen->packet, &seen->packet.src, addrs[0]));
	wait_for(wire, "client", true, IPPROTO_UDP, udp_port, UDP_PORT, 0, -1);
	/* Anything still in flight (a late ACK) is taken before the pairing check. */
	while (wire_poll(wire, 20) > 0)
		;

	ck_assert_uint_eq(wire_dropped(wire), 0);
	check_each_seen_twice(wire, addrs, TCP_PORT, udp_port);
	for (i = 0; i < wire_count(wire); i++) {
		const struct packet_summary *s = &wire_at(wire, i)->packet;

		ck_assert(!(s->protocol == IPPROTO_UDP && s->dport == UDP_PORT && s->payload_len == 2));
		if (s->protocol == IPPROTO_ICMPV6 && s->icmp_type == ND_NEIGHBOR_SOLICIT)
			solicits++;
		if (s->protocol == IPPROTO_ICMPV6 && s->icmp_type == ND_NEIGHBOR_ADVERT)
			adverts++;
	}
	/* Neighbour discovery is IP and is reported (on both sides); ARP is not IP and is not. */
	if (family == AF_INET6) {
		ck_assert_uint_ge(solicits, 2);
		ck_assert_uint_ge(adverts, 2);
	}

	temp_path(path, sizeof(path));
	ck_assert_int_eq(wire_write_pcapng(wire, path, NULL), 0);
	ck_assert_uint_eq(pcap_count(path), wire_count(wire));
	pcapng_read(path, &view);
	ck_assert_uint_eq(view.n_ifs, 2);
	ck_assert_str_eq(view.if_names[0], "client/eth0");
	ck_assert_str_eq(view.if_names[1], "server/eth0");
	ck_assert_uint_eq(view.n_pkts, wire_count(wire));
	for (i = 1; i < view.n_pkts; i++)
		ck_assert_uint_le(view.pkt_ts[i - 1], view.pkt_ts[i]);
	tshark_agrees(path, &view);
	unlink(path);

	printf("# %s: %zu packets on the wire\n", family == AF_INET ? "IPv4" : "IPv6", wire_count(wire));
	close(udp_tx);
	close(udp_rx);
	close(udp_lo);
	wire_free(wire);
	pair_free(&pair);
}

START_TEST(test_exchange)
{
	check_exchange(_i == 0 ? AF_INET : AF_INET6);
}
END_TEST

/* A burst larger than the buffers while nobody reads: the drops are counted. */
START_TEST(test_drops_counted)
{
	static const char payload[1400];
	struct sockaddr_storage server_addr;
	socklen_t server_len;
	const int burst = 6000;
	struct pair pair;
	struct wire *wire;
	char err[256];
	int rx, tx, i;

	pair_new(&pair);
	wire = wire_open(pair.ns, pair.names, 2, err, sizeof(err));
	ck_assert_msg(wire != NULL, "wire_open: %s", err);
	server_len = sockaddr_of(AF_INET, "198.18.0.2", UDP_PORT, &server_addr);
	rx = netns_socket(pair.ns[1], AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(rx, 0);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&server_addr, server_len), 0);
	tx = netns_socket(pair.ns[0], AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(tx, 0);
	for (i = 0; i < burst; i++)
		ck_assert_int_eq(sendto(tx, payload, sizeof(payload), 0, (struct sockaddr *)&server_addr,
					server_len), (int)sizeof(payload));
	while (wire_poll(wire, 100) > 0)
		;
	printf("# burst of %d datagrams: %zu packets kept, %zu dropped\n", burst, wire_count(wire),
	       wire_dropped(wire));
	ck_assert_uint_gt(wire_dropped(wire), 0);
	/* The client's socket sees every datagram leave, whatever veth drops after. */
	ck_assert_uint_ge(wire_count(wire) + wire_dropped(wire), (size_t)burst);
	close(tx);
	close(rx);
	wire_free(wire);
	pair_free(&pair);
}
END_TEST

/* Namespaces with only lo: nothing ever comes, and wire_poll says so in time. */
START_TEST(test_poll_timeout)
{
	const char *const names[2] = { "client", "server" };
	struct netns *namespaces[2];
	long long start, elapsed;
	struct wire *wire;
	char err[256];
	int i;

	for (i = 0; i < 2; i++) {
		namespaces[i] = netns_new(names[i]);
		ck_assert_ptr_nonnull(namespaces[i]);
	}
	wire = wire_open(namespaces, names, 2, err, sizeof(err));
	ck_assert_msg(wire != NULL, "wire_open: %s", err);
	start = now_us();
	ck_assert_int_eq(wire_poll(wire, 0), 0);
	ck_assert_int_eq(wire_poll(wire, 50), 0);
	elapsed = now_us() - start;
	ck_assert_int_ge(elapsed, 45000);
	ck_assert_int_lt(elapsed, 1000000);
	ck_assert_uint_eq(wire_count(wire), 0);
	wire_free(wire);
	for (i = 0; i < 2; i++)
		netns_free(namespaces[i]);
}
END_TEST

START_TEST(test_open_free_speed)
{
	const char *const names[3] = { "client", "router", "server" };
	const int rounds = 50;
	struct netns *namespaces[3];
	long long start, opened, open_total = 0, free_total = 0, worst = 0;
	struct wire *wire;
	char err[256];
	int i;

	for (i = 0; i < 3; i++) {
		namespaces[i] = netns_new(names[i]);
		ck_assert_ptr_nonnull(namespaces[i]);
	}
	for (i = 0; i < rounds; i++) {
		start = now_us();
		wire = wire_open(namespaces, names, 3, err, sizeof(err));
		ck_assert_msg(wire != NULL, "wire_open: %s", err);
		opened = now_us();
		wire_free(wire);
		open_total += opened - start;
		free_total += now_us() - opened;
		if (now_us() - start > worst)
			worst = now_us() - start;
	}
	printf("# 3 namespaces: wire_open %.2f ms + wire_free %.2f ms on average, %.2f ms at worst, over %d\n",
	       (double)open_total / rounds / 1000.0, (double)free_total / rounds / 1000.0,
	       (double)worst / 1000.0, rounds);
	ck_assert_int_lt((open_total + free_total) / rounds, 50000);
	for (i = 0; i < 3; i++)
		netns_free(namespaces[i]);
}
END_TEST

static const char *missing_feature(void)
{
	return privileged_missing(probe_veth_ipv6, "kernel lacks veth or IPv6");
}

static Suite *wire_suite(const char *skip_reason)
{
	Suite *suite = suite_create("wire");
	TCase *unprivileged = tcase_create("unprivileged");
	TCase *capture = tcase_create("capture");

	/*
	 * test_pcapng_handmade runs tshark, a program of its own: 0.3 s here idle,
	 * over 4 s (Check's default) on a loaded 2-core machine under ASan.
	 */
	tcase_set_timeout(unprivileged, 60);
	tcase_add_test(unprivileged, test_add_and_lookup);
	tcase_add_test(unprivileged, test_open_rejects_bad_names);
	tcase_add_test(unprivileged, test_pcapng_handmade);
	tcase_add_test(unprivileged, test_pcapng_empty);
	suite_add_tcase(suite, unprivileged);
	if (skip_reason)
		return suite;

	tcase_set_timeout(capture, 30);
	tcase_add_loop_test(capture, test_exchange, 0, 2);
	tcase_add_test(capture, test_drops_counted);
	tcase_add_test(capture, test_poll_timeout);
	tcase_add_test(capture, test_open_free_speed);
	suite_add_tcase(suite, capture);
	return suite;
}

int main(void)
{
	char links_before[HOST_LINKS_MAX];
	const char *skip_reason;
	int failed;

	skip_reason = privileged_skip(missing_feature, "# SKIP privileged wire tests");
	host_links(links_before, sizeof(links_before));
	if (!mkdtemp(temp_dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}

	failed = suite_run(wire_suite(skip_reason));
	temp_dir_remove();

	failed += host_links_changed(links_before);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
