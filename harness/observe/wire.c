#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "base/base.h"
#include "observe/observe.h"

#define WIRE_BUFFER_SIZE	(4 << 20)
#define IP_PACKET_MAX		65535

#define PCAPNG_SHB		0x0a0d0d0au
#define PCAPNG_IDB		1u
#define PCAPNG_EPB		6u
#define PCAPNG_BYTE_ORDER	0x1a2b3c4du
#define PCAPNG_OPT_END		0
#define PCAPNG_OPT_COMMENT	1
#define PCAPNG_SHB_OS		3
#define PCAPNG_SHB_USERAPPL	4
#define PCAPNG_IF_NAME		2
#define PCAPNG_IF_TSRESOL	9
#define PCAPNG_EPB_FLAGS	2
#define PCAPNG_INBOUND		1u
#define PCAPNG_OUTBOUND		2u
#define LINKTYPE_LINUX_SLL2	276
#define SLL2_HEADER_LEN		20
#define PCAPNG_SNAPLEN		(SLL2_HEADER_LEN + IP_PACKET_MAX)
#define PCAPNG_BLOCK_MAX	(28 + PCAPNG_SNAPLEN + 3 + 12 + 4 + 4 + PCAPNG_COMMENT_MAX + 3)

/* One namespace's capture socket and the names of its interfaces seen so far. */
struct wire_host {
	char name[WIRE_HOST_MAX];
	int fd;
	struct wire_ifname {
		int ifindex;
		char name[WIRE_IFNAME_MAX];
	} *ifnames;
	size_t n_ifnames;
};

struct wire {
	struct wire_host *hosts;
	struct pollfd *pollfds;
	size_t n_hosts;
	struct wire_packet *packets;
	size_t n_packets, cap_packets;
	size_t dropped;
	uint8_t *frame;			/* receive buffer, IP_PACKET_MAX + 1 */
};

/*
 * A packet socket rather than libpcap's "any" device: libpcap sets up and
 * tears down a memory-mapped ring, and each of those waits for an RCU grace
 * period (three per handle, about 35 ms here), where a plain socket bound to
 * every interface costs one, at close. SOCK_DGRAM hands over the IP packet
 * itself, sockaddr_ll the interface, link type and direction; and a
 * non-blocking socket just says EAGAIN when drained (libpcap's NFLOG reader
 * takes that for an error, its "any" ring would not).
 */
static int open_capture(struct netns *ns, struct wire_host *host)
{
	struct sockaddr_ll all = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int size = WIRE_BUFFER_SIZE, one = 1;
	int fd, rc;

	/* Protocol 0 until bind: no tap is registered, so bind need not wait to replace it. */
	fd = netns_socket(ns, AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		goto out_close;
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		goto out_close;
	if (bind(fd, (struct sockaddr *)&all, sizeof(all)) < 0)
		goto out_close;
	host->fd = fd;
	return 0;

out_close:
	rc = -errno;
	close(fd);
	return rc;
}

static void hold_timestamps(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		close(fd);	/* then each capture asks for itself, as before */
}

void wire_hold_timestamps(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, hold_timestamps);
}

struct wire *wire_open(struct netns *const *namespaces, const char *const *names, size_t n,
		       char *err, size_t errsize)
{
	struct wire *wire;
	size_t i;
	int rc = -ENOMEM;

	wire_hold_timestamps();
	wire = calloc(1, sizeof(*wire));
	if (!wire)
		goto out_nomem;
	wire->frame = malloc(IP_PACKET_MAX + 1);
	wire->hosts = calloc(n + 1, sizeof(*wire->hosts));
	wire->pollfds = calloc(n + 1, sizeof(*wire->pollfds));
	if (!wire->frame || !wire->hosts || !wire->pollfds)
		goto out_nomem;
	for (i = 0; i < n; i++) {
		struct wire_host *host = &wire->hosts[i];

		if (!names[i] || !names[i][0] || strlen(names[i]) >= sizeof(host->name)) {
			snprintf(err, errsize, "host %zu: name missing or longer than %d", i,
				 WIRE_HOST_MAX - 1);
			rc = -EINVAL;
			goto out_free;
		}
		strcpy(host->name, names[i]);
		rc = open_capture(namespaces[i], host);
		if (rc < 0) {
			snprintf(err, errsize, "%s: packet socket: %s", host->name, strerror(-rc));
			goto out_free;
		}
		wire->n_hosts++;
		wire->pollfds[i] = (struct pollfd){ .fd = host->fd, .events = POLLIN };
	}
	return wire;

out_nomem:
	snprintf(err, errsize, "%s", strerror(ENOMEM));
out_free:
	wire_free(wire);
	errno = -rc;
	return NULL;
}

static void *close_capture(void *arg)
{
	close(((struct wire_host *)arg)->fd);
	return NULL;
}

/* Each close waits for a grace period: from one thread each, they wait together. */
static void close_captures(struct wire *wire)
{
	pthread_t *threads = calloc(wire->n_hosts, sizeof(*threads));
	bool *started = calloc(wire->n_hosts, sizeof(*started));
	size_t i;

	for (i = 0; i < wire->n_hosts; i++) {
		if (threads && started && wire->n_hosts > 1 &&
		    pthread_create(&threads[i], NULL, close_capture, &wire->hosts[i]) == 0)
			started[i] = true;
		else
			close_capture(&wire->hosts[i]);
	}
	for (i = 0; i < wire->n_hosts; i++)
		if (started && started[i])
			pthread_join(threads[i], NULL);
	free(started);
	free(threads);
}

void wire_free(struct wire *wire)
{
	size_t i;

	if (!wire)
		return;
	if (wire->hosts)
		close_captures(wire);
	for (i = 0; i < wire->n_hosts; i++)
		free(wire->hosts[i].ifnames);
	for (i = 0; i < wire->n_packets; i++)
		free(wire->packets[i].data);
	free(wire->packets);
	free(wire->pollfds);
	free(wire->hosts);
	free(wire->frame);
	free(wire);
}

int wire_add(struct wire *wire, const char *host, const char *ifname, bool outgoing,
	     const struct timespec *when, const uint8_t *data, size_t len)
{
	struct packet_summary summary;
	struct wire_packet *packet;

	if (len > IP_PACKET_MAX || packet_parse(data, len, &summary) < 0)
		return -EINVAL;
	if (wire->n_packets == wire->cap_packets) {
		size_t cap = wire->cap_packets ? wire->cap_packets * 2 : 64;
		struct wire_packet *grown = realloc(wire->packets, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		wire->packets = grown;
		wire->cap_packets = cap;
	}
	packet = &wire->packets[wire->n_packets];
	memset(packet, 0, sizeof(*packet));
	packet->data = malloc(len ? len : 1);
	if (!packet->data)
		return -ENOMEM;
	memcpy(packet->data, data, len);
	packet->len = len;
	packet->index = wire->n_packets++;
	snprintf(packet->host, sizeof(packet->host), "%s", host);
	snprintf(packet->ifname, sizeof(packet->ifname), "%s", ifname);
	packet->outgoing = outgoing;
	packet->when = *when;
	packet->packet = summary;
	return 0;
}

/*
 * The name of @ifindex in the host's namespace. SIOCGIFNAME answers for the
 * namespace of the socket it is asked on, so the capture socket names the
 * interface from any thread; names are kept, as indexes are not reused while
 * the capture lasts.
 */
static const char *host_ifname(struct wire_host *host, int ifindex)
{
	struct wire_ifname *grown, *entry;
	struct ifreq ifr = { .ifr_ifindex = ifindex };
	size_t i;

	for (i = 0; i < host->n_ifnames; i++)
		if (host->ifnames[i].ifindex == ifindex)
			return host->ifnames[i].name;
	grown = realloc(host->ifnames, (host->n_ifnames + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	host->ifnames = grown;
	entry = &host->ifnames[host->n_ifnames++];
	entry->ifindex = ifindex;
	if (ioctl(host->fd, SIOCGIFNAME, &ifr) == 0)
		snprintf(entry->name, sizeof(entry->name), "%s", ifr.ifr_name);
	else
		snprintf(entry->name, sizeof(entry->name), "if%d", ifindex);
	return entry->name;
}

/* Reads every packet queued on @host's socket. Returns the number kept or -errno. */
static int read_host(struct wire *wire, struct wire_host *host)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} control;
	struct tpacket_stats stats;
	socklen_t stats_len = sizeof(stats);
	struct sockaddr_ll from;
	struct iovec iov = { .iov_base = wire->frame, .iov_len = IP_PACKET_MAX + 1 };
	struct msghdr msg;
	struct cmsghdr *cmsg;
	struct timespec when;
	const char *ifname;
	uint16_t protocol;
	int added = 0, rc;
	ssize_t len;

	for (;;) {
		msg = (struct msghdr){ .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				       .msg_iovlen = 1, .msg_control = control.buf,
				       .msg_controllen = sizeof(control.buf) };
		len = recvmsg(host->fd, &msg, MSG_DONTWAIT);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			break;
		if (len < 0)
			return -errno;
		/* Truncated means over 65535 bytes: only an IPv6 jumbogram (BIG TCP), left out. */
		protocol = ntohs(from.sll_protocol);
		if (from.sll_hatype == ARPHRD_LOOPBACK || (protocol != ETH_P_IP && protocol != ETH_P_IPV6) ||
		    (msg.msg_flags & MSG_TRUNC))
			continue;
		/* The kernel stamps every packet once a socket asked; the clock is a fallback. */
		clock_gettime(CLOCK_REALTIME, &when);
		for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
			if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_TIMESTAMPNS)
				memcpy(&when, CMSG_DATA(cmsg), sizeof(when));
		ifname = host_ifname(host, from.sll_ifindex);
		if (!ifname)
			return -ENOMEM;
		rc = wire_add(wire, host->name, ifname, from.sll_pkttype == PACKET_OUTGOING, &when,
			      wire->frame, (size_t)len);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 0)
			added++;
	}
	/* Reading the statistics resets them, so each drop is counted once. */
	if (getsockopt(host->fd, SOL_PACKET, PACKET_STATISTICS, &stats, &stats_len) == 0)
		wire->dropped += stats.tp_drops;
	return added;
}

int wire_poll(struct wire *wire, int timeout_ms)
{
	int added = 0, rc;
	size_t i;

	if (!wire->n_hosts)
		return 0;
	do {
		rc = poll(wire->pollfds, wire->n_hosts, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return rc < 0 ? -errno : 0;
	for (i = 0; i < wire->n_hosts; i++) {
		if (!wire->pollfds[i].revents)
			continue;
		rc = read_host(wire, &wire->hosts[i]);
		if (rc < 0)
			return rc;
		added += rc;
	}
	return added;
}

size_t wire_count(const struct wire *wire)
{
	return wire->n_packets;
}

const struct wire_packet *wire_at(const struct wire *wire, size_t index)
{
	return index < wire->n_packets ? &wire->packets[index] : NULL;
}

size_t wire_dropped(const struct wire *wire)
{
	return wire->dropped;
}

/*
 * pcapng writing: blocks are built in a buffer in host byte order (the SHB's
 * magic says which).
 *
 * Packets go out as LINKTYPE_LINUX_SLL2, not LINKTYPE_RAW: libpcap (so
 * tcpdump) refuses a pcapng file whose second interface is RAW, as it compares
 * each link type with the first one's DLT (12, not 101); the IPv4 and IPv6
 * types fail as soon as both families are on the wire. SLL2's number is the
 * same in both lists, and it carries the direction too.
 */

struct block {
	uint8_t *buf;
	size_t len;
};

static void put(struct block *block, const void *data, size_t len)
{
	if (len)
		memcpy(block->buf + block->len, data, len);
	block->len += len;
}

static void put16(struct block *block, uint16_t value)
{
	put(block, &value, sizeof(value));
}

static void put32(struct block *block, uint32_t value)
{
	put(block, &value, sizeof(value));
}

static void put_padded(struct block *block, const void *data, size_t len)
{
	static const uint8_t zeros[4];

	put(block, data, len);
	put(block, zeros, (4 - len % 4) % 4);
}

static void put_option(struct block *block, uint16_t code, const void *data, size_t len)
{
	put16(block, code);
	put16(block, (uint16_t)len);
	put_padded(block, data, len);
}

static void block_begin(struct block *block, uint32_t type)
{
	block->len = 0;
	put32(block, type);
	put32(block, 0);	/* total length, filled in by block_end */
}

/* The Linux cooked header (LINKTYPE_LINUX_SLL2) in front of an IP packet. */
static void put_sll2(struct block *block, const struct wire_packet *packet)
{
	static const uint8_t no_address[8];
	uint16_t protocol = htons(packet->packet.family == AF_INET ? ETH_P_IP : ETH_P_IPV6);
	uint16_t hatype = htons(ARPHRD_NONE);
	uint8_t pkttype = packet->outgoing ? PACKET_OUTGOING : PACKET_HOST;
	uint8_t halen = 0;

	put(block, &protocol, sizeof(protocol));
	put16(block, 0);
	/* No index: tcpdump would name it after the reading host's interface of that index. */
	put32(block, 0);
	put(block, &hatype, sizeof(hatype));
	put(block, &pkttype, sizeof(pkttype));
	put(block, &halen, sizeof(halen));
	put(block, no_address, sizeof(no_address));
}

static int block_end(struct block *block, FILE *file)
{
	uint32_t total = (uint32_t)block->len + 4;

	memcpy(block->buf + 4, &total, sizeof(total));
	put32(block, total);
	return fwrite(block->buf, block->len, 1, file) == 1 ? 0 : -EIO;
}

struct pcapng_if {
	const char *host;
	const char *ifname;
};

static int by_time(const void *a, const void *b)
{
	const struct wire_packet *pa = *(const struct wire_packet *const *)a;
	const struct wire_packet *pb = *(const struct wire_packet *const *)b;

	if (pa->when.tv_sec != pb->when.tv_sec)
		return pa->when.tv_sec < pb->when.tv_sec ? -1 : 1;
	if (pa->when.tv_nsec != pb->when.tv_nsec)
		return pa->when.tv_nsec < pb->when.tv_nsec ? -1 : 1;
	return pa->index < pb->index ? -1 : pa->index > pb->index;
}

static int by_name(const void *a, const void *b)
{
	const struct pcapng_if *ia = a, *ib = b;
	int host = strcmp(ia->host, ib->host);

	return host ? host : strcmp(ia->ifname, ib->ifname);
}

static uint32_t if_id(const struct pcapng_if *ifs, size_t n_ifs, const struct wire_packet *packet)
{
	uint32_t id;

	for (id = 0; id < n_ifs; id++)
		if (!strcmp(ifs[id].host, packet->host) && !strcmp(ifs[id].ifname, packet->ifname))
			break;
	return id;
}

/* A text option, cut to PCAPNG_COMMENT_MAX bytes (at a UTF-8 boundary). */
static void put_text_option(struct block *block, uint16_t code, const char *text)
{
	size_t len = strlen(text);

	if (len > PCAPNG_COMMENT_MAX) {
		len = PCAPNG_COMMENT_MAX;
		while (len && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	}
	if (len)
		put_option(block, code, text, len);
}

static void put_section_header(struct block *block, const struct pcapng_meta *meta)
{
	char os[2 * sizeof(((struct utsname *)0)->release)];
	struct utsname uts;

	block_begin(block, PCAPNG_SHB);
	put32(block, PCAPNG_BYTE_ORDER);
	put16(block, 1);		/* version 1.0 */
	put16(block, 0);
	put32(block, 0xffffffffu);	/* section length not given */
	put32(block, 0xffffffffu);
	if (!meta)
		return;
	if (meta->comment)
		put_text_option(block, PCAPNG_OPT_COMMENT, meta->comment);
	if (uname(&uts) == 0) {
		snprintf(os, sizeof(os), "%s %s", uts.sysname, uts.release);
		put_text_option(block, PCAPNG_SHB_OS, os);
	}
	if (meta->application)
		put_text_option(block, PCAPNG_SHB_USERAPPL, meta->application);
	put_option(block, PCAPNG_OPT_END, NULL, 0);
}

static bool kept(const struct pcapng_meta *meta, const struct wire_packet *packet)
{
	return !meta || !meta->host || (!strcmp(meta->host, packet->host) &&
					(!meta->ifname || !strcmp(meta->ifname, packet->ifname)));
}

static int write_blocks(const struct wire_packet *const *sorted, size_t n, struct pcapng_if *ifs,
			struct block *block, FILE *file, const struct pcapng_meta *meta)
{
	char name[WIRE_HOST_MAX + 1 + WIRE_IFNAME_MAX];
	const uint8_t nanoseconds = 9;
	size_t n_ifs = 0, i;
	uint64_t ts;
	int rc;

	put_section_header(block, meta);
	rc = block_end(block, file);

	/* Interfaces by host and name, all before the packets that name them: in
	 * order of first appearance, a host's own neighbour discovery could come
	 * first in one run and not in the next. */
	for (i = 0; i < n; i++) {
		if (!kept(meta, sorted[i]) || if_id(ifs, n_ifs, sorted[i]) < n_ifs)
			continue;
		ifs[n_ifs].host = sorted[i]->host;
		ifs[n_ifs++].ifname = sorted[i]->ifname;
	}
	qsort(ifs, n_ifs, sizeof(*ifs), by_name);
	for (i = 0; i < n_ifs && !rc; i++) {
		block_begin(block, PCAPNG_IDB);
		put16(block, LINKTYPE_LINUX_SLL2);
		put16(block, 0);
		put32(block, PCAPNG_SNAPLEN);
		snprintf(name, sizeof(name), "%s/%s", ifs[i].host, ifs[i].ifname);
		put_option(block, PCAPNG_IF_NAME, name, strlen(name));
		put_option(block, PCAPNG_IF_TSRESOL, &nanoseconds, 1);
		put_option(block, PCAPNG_OPT_END, NULL, 0);
		rc = block_end(block, file);
	}

	for (i = 0; i < n && !rc; i++) {
		const struct wire_packet *packet = sorted[i];
		uint32_t flags = packet->outgoing ? PCAPNG_OUTBOUND : PCAPNG_INBOUND;

		if (!kept(meta, packet))
			continue;
		ts = (uint64_t)packet->when.tv_sec * 1000000000u + (uint64_t)packet->when.tv_nsec;
		block_begin(block, PCAPNG_EPB);
		put32(block, if_id(ifs, n_ifs, packet));
		put32(block, (uint32_t)(ts >> 32));
		put32(block, (uint32_t)ts);
		put32(block, (uint32_t)(SLL2_HEADER_LEN + packet->len));
		put32(block, (uint32_t)(SLL2_HEADER_LEN + packet->len));
		put_sll2(block, packet);
		put_padded(block, packet->data, packet->len);
		put_option(block, PCAPNG_EPB_FLAGS, &flags, sizeof(flags));
		if (meta && meta->comments && meta->comments[packet->index])
			put_text_option(block, PCAPNG_OPT_COMMENT, meta->comments[packet->index]);
		put_option(block, PCAPNG_OPT_END, NULL, 0);
		rc = block_end(block, file);
	}
	return rc;
}

int wire_write_pcapng(const struct wire *wire, const char *path, const struct pcapng_meta *meta)
{
	const struct wire_packet **sorted;
	struct pcapng_if *ifs;
	struct outfile *file;
	struct block block;
	size_t i;
	int rc = -ENOMEM;

	sorted = calloc(wire->n_packets + 1, sizeof(*sorted));
	if (!sorted)
		goto out;
	ifs = calloc(wire->n_packets + 1, sizeof(*ifs));
	if (!ifs)
		goto out_free_sorted;
	block.buf = malloc(PCAPNG_BLOCK_MAX);
	if (!block.buf)
		goto out_free_ifs;
	for (i = 0; i < wire->n_packets; i++)
		sorted[i] = &wire->packets[i];
	qsort(sorted, wire->n_packets, sizeof(*sorted), by_time);

	file = outfile_open(path);
	if (!file) {
		rc = -errno;
		goto out_free_buf;
	}
	rc = write_blocks(sorted, wire->n_packets, ifs, &block, outfile_stream(file), meta);
	if (rc)
		outfile_discard(file);
	else
		rc = outfile_commit(file);

out_free_buf:
	free(block.buf);
out_free_ifs:
	free(ifs);
out_free_sorted:
	free(sorted);
out:
	return rc;
}
