/* wire — capture every packet on every link of a set of namespaces, and write them as pcapng. */
#ifndef CTLAB_WIRE_H
#define CTLAB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netns.h"
#include "packet.h"

#define WIRE_HOST_MAX	32
#define WIRE_IFNAME_MAX	16

/* One IP packet seen on one interface of one host. */
struct wire_packet {
	size_t index;			/* 0-based, in order of arrival at ctlab: per host in time
					 * order, but not across hosts (the pcapng file is) */
	char host[WIRE_HOST_MAX];	/* the namespace's name as given to wire_open */
	char ifname[WIRE_IFNAME_MAX];	/* the interface inside it */
	bool outgoing;			/* sent by this host, else received */
	struct timespec when;		/* kernel timestamp (CLOCK_REALTIME, one clock for every namespace) */
	struct packet_summary packet;	/* packet_parse() of data */
	uint8_t *data;			/* the IP packet (a copy, owned by the wire) */
	size_t len;
};

struct wire;

/*
 * wire_open - start capturing in each of @namespaces[0..@n-1], called
 * @names[i] (shorter than WIRE_HOST_MAX), on every interface but loopback:
 * one packet socket per namespace, bound to all its interfaces, present and
 * future. Only packets that arrive after it returns are seen. @n may be 0
 * (an empty wire, for wire_add). Returns the wire, or NULL with errno set
 * and a message in @err (EINVAL: a name missing or too long; EPERM without
 * CAP_NET_RAW).
 */
struct wire *wire_open(struct netns *const *namespaces, const char *const *names, size_t n,
		       char *err, size_t errsize);

/*
 * wire_poll - take every packet ready on any of the wire's handles, waiting
 * up to @timeout_ms (-1: no limit) for the first. Non-IP frames (ARP) and
 * loopback traffic are left out. Returns the number of packets added (0 on
 * timeout, and at once for a wire of no namespaces), or -errno (ENOMEM, or
 * from poll/recvmsg).
 */
int wire_poll(struct wire *wire, int timeout_ms);

/* wire_count - how many packets the wire holds. */
size_t wire_count(const struct wire *wire);

/* wire_at - packet @index (arrival order), NULL if out of range. */
const struct wire_packet *wire_at(const struct wire *wire, size_t index);

/*
 * wire_dropped - how many packets the kernel dropped, as of the last
 * wire_poll, because the wire was not read fast enough (4 MB a namespace).
 * Unless it is 0, that a packet was not seen proves nothing.
 */
size_t wire_dropped(const struct wire *wire);

/*
 * wire_write_pcapng - write every packet to the pcapng file @path, in
 * timestamp order: one interface per host and interface seen, named
 * "host/ifname", with nanosecond timestamps; each packet behind a Linux
 * cooked header (LINKTYPE_LINUX_SLL2, which libpcap and Wireshark both read
 * for many interfaces) and its direction in the header and in its flags.
 * A wire with no packets gives a file with no interface, which Wireshark
 * opens and libpcap refuses. The file is written whole through outfile_open
 * (a symlink at @path is refused, an existing file replaced when complete).
 * Returns 0 or -errno (outfile_strerror explains ELOOP and EEXIST).
 */
int wire_write_pcapng(const struct wire *wire, const char *path);

/*
 * wire_add - record the IP packet @data of @len bytes as if captured on
 * @host/@ifname (truncated to fit) at @when. Used by the capture itself;
 * public for tests and replays. Returns 0, -EINVAL if @data is not an IP
 * packet (or is over 65535 bytes), or -ENOMEM.
 */
int wire_add(struct wire *wire, const char *host, const char *ifname, bool outgoing,
	     const struct timespec *when, const uint8_t *data, size_t len);

/*
 * wire_free - stop capturing and free every packet. NULL is a no-op. Takes
 * one RCU grace period (some 10 ms), for all the namespaces at once.
 */
void wire_free(struct wire *wire);

#endif /* CTLAB_WIRE_H */
