/* inject — traffic into the namespaces: kernel sockets, SYN floods, entries
 * filled through ctnetlink.  Knows nothing of scenarios or runs. */
#ifndef CTLAB_INJECT_H
#define CTLAB_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns/netns.h"
#include "packet/packet.h"

/* ---- sock — kernel sockets inside namespaces: real TCP endpoints and raw injection. (sock.c) ---- */

/* What a TCP socket's kernel state says right now. */
struct tcp_live {
	uint32_t snd_nxt;	/* next sequence number it will send (write_seq) */
	uint32_t rcv_nxt;	/* next sequence number it expects */
	uint32_t rcv_wnd;	/* its receive window, bytes */
	uint32_t snd_wnd;	/* the peer's window as it last saw it, bytes */
	uint8_t rcv_wscale;	/* shift applied to the window field it sends */
	uint16_t local_port;
	uint16_t remote_port;	/* 0 once the connection has ended */
};

/* Options a TCP socket gets before its handshake; 0 and false leave the
 * kernel's default. */
struct sock_options {
	int maxseg;		/* TCP_MAXSEG: the MSS it announces and sends at most */
	int rcvbuf;		/* SO_RCVBUF (the kernel doubles it), which bounds its window */
	bool nodelay;		/* TCP_NODELAY: no Nagle */
};

/* A listening TCP socket bound to addr:port inside ns, with room for backlog
 * connections not yet accepted (0: 64); accepted sockets inherit @options
 * (may be NULL).  fd or -errno. */
int sock_listen(struct netns *ns, int family, const union inet_addr *addr, uint16_t port,
		int backlog, const struct sock_options *options);

/*
 * A TCP connection from ns (source address src, port sport or the kernel's
 * choice when 0, put in *local_port unless NULL, also when the handshake
 * fails) to dst:port, with @options (may be NULL) set first and the handshake
 * completed within timeout_ms; with a negative timeout_ms only started (the
 * socket in SYN_SENT).  fd or -errno
 * (-ETIMEDOUT, -ECONNREFUSED, -EADDRINUSE…).
 */
int sock_connect(struct netns *ns, int family, const union inet_addr *src, uint16_t sport,
		 const union inet_addr *dst, uint16_t port, int timeout_ms,
		 const struct sock_options *options, uint16_t *local_port);

/* Accept the next connection within timeout_ms.  fd or -errno. */
int sock_accept(int listen_fd, int timeout_ms);

/*
 * Read a TCP socket's sequence numbers and windows through TCP_REPAIR (also
 * after its connection ended, as long as the fd is open),
 * leaving repair mode without the window probe TCP_REPAIR_OFF would send.
 * 0 or -errno.
 */
int sock_tcp_live(int fd, struct tcp_live *live);

/* The TSval the socket would put in a segment now (TCP_TIMESTAMP: its clock
 * plus its connection's offset).  0 or -errno. */
int sock_tcp_tsval(int fd, uint32_t *tsval);

/*
 * A pair of UDP sockets: the client's in client_ns connected to
 * server_addr:port (what it dials: behind DNAT the service), the server's in
 * server_ns bound to the port on every address and connected to nobody yet:
 * its first sock_read() connects it to the datagram's source, the client as
 * NAT made it look (sock_udp_connect() before, for a server that speaks
 * first).  0 or -errno; on error nothing is left open.
 */
int sock_udp_pair(struct netns *client_ns, struct netns *server_ns, int family,
		  const union inet_addr *client_addr, const union inet_addr *server_addr,
		  uint16_t port, int *client_fd, int *server_fd);

/* Write len bytes of the payload pattern (one datagram on UDP), waiting at most
 * timeout_ms in all for room in the send buffer.  0 or -errno (-ETIMEDOUT when
 * the peer does not read and the buffers are full, -EMSGSIZE …). */
int sock_write(int fd, size_t len, int timeout_ms);

/* Connect a UDP socket to addr:port.  0 or -errno. */
int sock_udp_connect(int fd, int family, const union inet_addr *addr, uint16_t port);

/* Read until len bytes came, waiting at most timeout_ms in all; a UDP socket
 * not yet connected connects to its first datagram's source.  0, or -errno
 * (-ECONNRESET, -ETIMEDOUT, -EPIPE for end of stream before len bytes). */
int sock_read(int fd, size_t len, int timeout_ms);

/* close(); with abort, SO_LINGER 0 first so that the kernel sends a RST. */
int sock_close(int fd, bool abort);

/* The TCP state tcp_info reports (TCP_ESTABLISHED…), or -errno. */
int sock_tcp_state(int fd);

/* Wait, bounded, until the socket is in TCP state `state`.  0 or -ETIMEDOUT. */
int sock_wait_tcp_state(int fd, int state, int timeout_ms);

/* The socket's pending error (SO_ERROR, cleared by reading it), 0 if none. */
int sock_pending_error(int fd);

/* A raw socket inside ns that sends whole IP packets (header included).  fd or -errno. */
int sock_raw_open(struct netns *ns, int family);

/* Send a packet built by packet_build_*; its destination is read from it.  0 or -errno. */
int sock_raw_send(int fd, const uint8_t *packet, size_t len);

/* ---- flood: SYNs from many source addresses and ports, sent from a namespace as fast as its cores allow. (flood.c) ---- */

struct netns;

/* How a sender hands frames to the kernel. */
enum flood_method {
	FLOOD_METHOD_AUTO,		/* the one measured faster here: FLOOD_METHOD_SENDMMSG */
	FLOOD_METHOD_TX_RING,		/* PACKET_TX_RING (TPACKET_V2), one send() per ring */
	FLOOD_METHOD_SENDMMSG,		/* sendmmsg() of FLOOD_BATCH frames */
	FLOOD_METHOD_COUNT
};

/* Frames per sendmmsg() call (the kernel's UIO_MAXIOV limit) and per progress report. */
#define FLOOD_BATCH		1024

/* Source ranges (TOPOLOGY_FLOOD_SRC4/6 in netns.h): 2^15 IPv4 addresses, 2^32 IPv6 ones. */
#define FLOOD_SRC4_BASE		0xc6128000u	/* 198.18.128.0 */
#define FLOOD_SRC4_ADDRS	32768u
#define FLOOD_SPORT_MIN		1024u
#define FLOOD_SPORT_COUNT	(65536u - FLOOD_SPORT_MIN)

struct flood_spec {
	int family;			/* AF_INET or AF_INET6 */
	struct netns *ns;		/* the sender's namespace (the client) */
	const char *ifname;		/* its interface toward the router ("eth0") */
	struct netns *gateway_ns;	/* the next hop's namespace (the router) ... */
	const char *gateway_ifname;	/* ... and its interface on that link: the frames' destination MAC */
	union inet_addr dst;		/* the target (the server) */
	uint16_t dport;
	uint8_t protocol;		/* IPPROTO_TCP (SYNs; also 0) or IPPROTO_UDP (datagrams) */
	uint32_t count;			/* SYNs to send, each from a distinct (source address, source port) */
	uint32_t first;			/* index of the first tuple: a later flood can go on with new ones */
	unsigned int threads;		/* 0: one per online CPU */
	enum flood_method method;
};

struct flood_result {
	uint32_t sent;			/* frames the kernel took */
	double seconds;			/* from the first send to the last thread's end */
};

/*
 * flood_run - send @spec->count SYNs (TCP, MSS option, IPv4 ID 0, TTL 64) from
 * the tuples @spec->first onwards (flood_tuple) to @spec->dst:@spec->dport,
 * through an AF_PACKET socket per thread bound to @spec->ifname, bypassing
 * the qdisc; each thread sends its own slice of the tuples and is pinned to
 * a CPU of its own (the calling thread too, until it returns). @progress (may be NULL) is called from the calling thread after
 * each of its batches with the frames sent by all threads so far, and once
 * at the end. Returns 0, or -errno: EINVAL (bad family, count beyond
 * flood_tuple_max, missing namespace or interface), ENODEV, EPERM, or what
 * socket, setsockopt, mmap or send failed with; @result holds what was sent
 * until then.
 */
int flood_run(const struct flood_spec *spec, struct flood_result *result,
	      void (*progress)(uint32_t sent, void *arg), void *arg);

/* flood_tuple_max - how many distinct tuples @family has (0 for a bad family). */
uint64_t flood_tuple_max(int family);

/*
 * flood_tuple - the source address and port of tuple @index of @family:
 * addresses vary first, so consecutive tuples spread over hash buckets.
 * IPv4: 198.18.128.0 + index % 2^15, port 1024 + index / 2^15.
 * IPv6: 2001:db8:3::<index as the low 32 bits>, port 1024 + index % 64512.
 * Distinct for every index below flood_tuple_max(@family).
 */
void flood_tuple(int family, uint32_t index, union inet_addr *src, uint16_t *sport);

/* A SYN frame with an Ethernet header, and the checksum sums of what stays fixed. */
#define FLOOD_FRAME_MAX		128
#define FLOOD_ETH_LEN		14

struct flood_template {
	int family;
	uint8_t protocol;		/* 0 (TCP SYN) or IPPROTO_UDP */
	size_t len;			/* Ethernet frame length */
	uint8_t frame[FLOOD_FRAME_MAX];
	uint32_t ip_sum;		/* IPv4 header without source and checksum */
	uint32_t tcp_sum;		/* pseudo header and TCP (UDP) header and payload without
					 * source, port, seq, checksum */
};

/*
 * flood_template_init - build the SYN frame @dst_mac <- @src_mac for
 * @family to @dst:@dport with packet_build_tcp. Returns 0, or -EINVAL for a
 * bad family.
 */
int flood_template_init(struct flood_template *tpl, int family, const uint8_t dst_mac[6],
			const uint8_t src_mac[6], const union inet_addr *dst, uint16_t dport);

/* flood_template_init_udp - the same for a UDP datagram with a 12-byte payload. */
int flood_template_init_udp(struct flood_template *tpl, int family, const uint8_t dst_mac[6],
			    const uint8_t src_mac[6], const union inet_addr *dst, uint16_t dport);

/*
 * flood_template_write - write the frame of tuple @index into @frame
 * (tpl->len bytes): the template with the source address, source port and
 * sequence number of @index and checksums made right from the fixed sums.
 */
void flood_template_write(const struct flood_template *tpl, uint32_t index, uint8_t *frame);

/* flood_method_name - "auto", "tx-ring", "sendmmsg"; NULL for an unknown method. */
const char *flood_method_name(enum flood_method method);

/* ---- ctfill — insert, count and flush conntrack entries of a namespace through ctnetlink. (ctfill.c) ---- */

/* ctlab's flood ranges and the server the flood is aimed at. */
#define CTFILL_SRC4	"198.18.128.0"	/* 198.18.128.0/17 */
#define CTFILL_SRC6	"2001:db8:3::"	/* 2001:db8:3::/48 */
#define CTFILL_DST4	"198.19.0.2"
#define CTFILL_DST6	"2001:db8:2::2"
#define CTFILL_DPORT	80
#define CTFILL_UDP_DPORT	53	/* a fill of UDP entries: a DNS server's */

/* Source ports 1024..65535: the ports of one source address. */
#define CTFILL_PORTS_PER_SRC	64512u

/*
 * Entry n is src_base + n / CTFILL_PORTS_PER_SRC, port 1024 + n %
 * CTFILL_PORTS_PER_SRC -> dst:dport, so all are distinct. Each is made
 * as `conntrack -I ... --state ESTABLISHED -u ASSURED,SEEN_REPLY` does:
 * TCP ESTABLISHED, status ASSURED|SEEN_REPLY (the kernel adds CONFIRMED).
 */
struct ctfill_spec {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t protocol;		/* IPPROTO_TCP or IPPROTO_UDP (then no TCP state) */
	union inet_addr src_base, dst;
	uint16_t dport;			/* host order */
	uint32_t count;
	uint32_t timeout;		/* seconds, e.g. 3600 */
};

/*
 * ctfill_spec_flood - fill @spec for @count TCP entries of @family from
 * ctlab's flood range to the server's port 80, timeout 3600 s.
 * Returns 0 or -EAFNOSUPPORT.
 */
int ctfill_spec_flood(struct ctfill_spec *spec, int family, uint32_t count);

/*
 * ctfill_insert - insert the entries of @spec into @ns's table: many
 * IPCTNL_MSG_CT_NEW messages per sendmsg, each acknowledged. An entry
 * already there (EEXIST) is skipped. After each batch @progress (may be
 * NULL) gets the number of entries handled so far. *@inserted (may be
 * NULL) gets how many entries got in, also on failure. Returns 0, or the
 * first other error as -errno, after the batch it came in: ENOMEM when
 * the table is full (nf_conntrack_max, global), EINVAL for a bad @spec
 * (a protocol other than TCP, a source range that overflows).
 */
int ctfill_insert(struct netns *ns, const struct ctfill_spec *spec, uint32_t *inserted,
		  void (*progress)(uint32_t done, void *arg), void *arg);

/*
 * ctfill_count - @ns's net.netfilter.nf_conntrack_count into *@count.
 * Returns 0 or -errno.
 */
int ctfill_count(struct netns *ns, uint32_t *count);

/*
 * ctfill_host_entries - conntrack entries allocated on the whole machine, every
 * namespace's, from the nf_conntrack slab (/proc/slabinfo, root only): dead
 * namespaces' entries stay there until a kernel worker has freed them.
 * Returns the count, or -errno.
 */
long ctfill_host_entries(void);

/* ctfill_flush - delete every entry of @ns, as `conntrack -F`. Returns 0 or -errno. */
int ctfill_flush(struct netns *ns);

/* ---- hold — real packets kept back in a namespace's NFQUEUE queue and let go later. (hold.c) ---- */

struct hold;

/* Listen to NFQUEUE @queue inside @ns (the rule that queues is the caller's).
 * NULL with *error set to -errno on failure. */
struct hold *hold_open(struct netns *ns, uint16_t queue, int *error);
/* Wait until at least @count packets are held, up to @timeout_ms: 0 or -errno
 * (ETIMEDOUT). */
int hold_wait(struct hold *hold, size_t count, int timeout_ms);
/* How many packets are held now (as far as read). */
size_t hold_count(const struct hold *hold);
/* Accept every held packet, in the order they were queued: 0 or -errno. */
int hold_release(struct hold *hold);
/* Stop listening; packets still held are dropped by the kernel. */
void hold_close(struct hold *hold);

/* ---- frames — IP packets out of an interface to one peer, as they are. (frames.c) ---- */

/* An interface's MAC address and index. */
struct link_info {
	uint8_t mac[6];
	int ifindex;
};

/* link_info_get - of @ifname in @ns. 0 or -errno (ENODEV, EINVAL for a bad name). */
int link_info_get(struct netns *ns, const char *ifname, struct link_info *info);

struct frame_sender;

/*
 * frame_sender_open - a sender of IP packets out of @ifname of @ns as
 * Ethernet frames to the MAC of @peer_ifname in @peer_ns (its veth peer),
 * whatever the packets' addresses: no route, no neighbour lookup, no qdisc.
 * 0 with *@out, or -errno.
 */
int frame_sender_open(struct netns *ns, const char *ifname, struct netns *peer_ns,
		      const char *peer_ifname, struct frame_sender **out);

/*
 * frame_sender_send - send the IPv4 or IPv6 packet @ip of @len bytes as it
 * is. 0, -EINVAL (not IP), -ENOBUFS (the device refused it again and again),
 * or what sendto failed with. A veth peer whose backlog is full drops the
 * frame without saying so: the caller paces itself.
 */
int frame_sender_send(struct frame_sender *s, const uint8_t *ip, size_t len);
void frame_sender_close(struct frame_sender *s);

#endif
