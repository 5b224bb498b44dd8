/* run — the engine's private parts: one run's state; its world (world.c), which the
 * steps (steps.c, checks.c, craft.c) use; and the steps, which engine.c dispatches. */
#ifndef CTLAB_RUN_H
#define CTLAB_RUN_H

#include <time.h>

#include "engine/engine.h"
#include "netns/netns.h"
#include "observe/observe.h"
#include "inject/inject.h"

#define LISTENERS_MAX	16
#define RAW_SOCKETS_MAX	8
#define PACKET_MAX	65600

struct listener {
	const struct host *host;
	uint16_t port;
	int fd;
};

/* A connection made by `connect`: kernel sockets at both ends.  Each end has
 * its own view of the addresses: NAT between them changes what the other sees. */
struct conn {
	enum protocol protocol;
	const struct host *client, *server;
	int client_fd, server_fd;	/* -1 once closed */
	uint16_t client_port, server_port;	/* each end's own port */
	union inet_addr client_addr, dialed_addr;	/* the client's view */
	uint16_t dialed_port;
	union inet_addr server_addr, peer_addr;	/* the server's view */
	uint16_t peer_port;
	int client_error, server_error;	/* errno a socket step met, 0 if none */
	struct tcp_live client_live, server_live;	/* last read, for after a close */
	bool client_live_known, server_live_known;
	int accept_fd;			/* connect … nowait: the listener whose next connection
					 * is the server's, accepted when first needed; -1 */
	bool scripted_server;		/* the server is muted: crafted packets speak for it,
					 * with numbers mirrored from the client's socket */
	bool udp_server_connected;	/* UDP: the server's end knows its peer (its first
					 * datagram's source, after any NAT) */
};

/* A packet an expectation named (as NAME), for NAME.seq … */
struct named_packet {
	bool seen;
	struct packet_summary packet;
};

struct raw_socket {
	const struct host *host;
	int fd;
};

struct run {
	const struct scenario *scenario;
	const struct engine_options *options;
	int family;
	int variant;
	struct run_result *result;
	struct topology *topology;
	const struct host *observing_host;
	struct observer *observer;
	char kept[RUN_HOSTS_MAX][128];	/* the /run/netns paths made for --keep or pause */
	size_t n_kept;
	struct wire *wire;		/* NULL unless the run looks at the wire */
	struct hold *hold;		/* NFQUEUE listener of hold steps; NULL: none yet */
	bool hold_table;		/* their nft table is loaded (a release deletes it) */
	bool kmsg_marked;		/* the kernel log position when the run began */
	struct kmsg_mark kmsg_since;
	size_t wire_from;		/* wire records from the last sending step on */
	struct listener listeners[LISTENERS_MAX];
	size_t n_listeners;
	struct conn conns[SCENARIO_CONNS_MAX];
	struct raw_socket raw[RAW_SOCKETS_MAX];
	size_t n_raw;
	uint32_t next_packet_id;
	uint32_t flood_next;		/* the next flood tuple: floods never repeat one */
	/* The last packet sent, what conntrack made of it, and the counters and
	 * observed packets just before the step that sent it. */
	const struct observed *last;
	size_t last_from;
	bool sent_any;
	struct packet_summary last_sent;	/* the last crafted packet, for "ct last" */
	struct ct_stats stats_before;
	const struct host *muted[SCENARIO_MUTED_MAX];
	size_t n_muted;
	struct named_packet named[SCENARIO_PACKETS_MAX];
	struct mib *mib_before;		/* per host, before the last sending step (expect netstat) */
	size_t n_mib;
	/* The same before the first sending step, for stat and netstat since start. */
	bool counters_started;
	struct ct_stats stats_start;
	struct mib *mib_start;
};

/* ---- The world (world.c) ---- */

/* Record why a step could not be done; returns -1 so callers can return it. */
int step_error(struct step_result *result, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

const union inet_addr *host_addr(const struct run *run, const struct host *host);
const union inet_addr *iface_addr(const struct run *run, const struct host_iface *iface);
const struct host *find_host(struct run *run, const char *name);

/*
 * The addresses a packet from host src to the host or service named dst
 * carries: on a router, the interface on dst's side; for "service", the DNAT
 * address.
 */
void route_addrs(const struct run *run, const struct host *src, const char *dst,
		 union inet_addr *src_addr, union inet_addr *dst_addr);

/* The addresses and ports a connection's end puts on what it sends. */
void conn_view(const struct conn *conn, bool from_client, union inet_addr *src,
	       uint16_t *sport, union inet_addr *dst, uint16_t *dport);

int *endpoint_fd(struct run *run, const struct endpoint *endpoint);
int *endpoint_error(struct run *run, const struct endpoint *endpoint);

/* An end's live TCP numbers, or the last ones read when its socket is closed.
 * 0 or -errno (-ENOTCONN: never read and closed). */
int conn_live(struct run *run, struct conn *conn, bool client, struct tcp_live *live);

/* The server's own address and port and its peer's, from its socket.  0 or -errno. */
int conn_server_view(struct conn *conn);

/* The server's socket of a connect … nowait, accepted now (bounded by -t) if
 * it was not yet.  0 or -errno. */
int conn_accept(struct run *run, struct conn *conn);

bool host_is_muted(const struct run *run, const struct host *host);

/* The name of host's interface on its link to peer, NULL if they share none. */
const char *iface_facing(const struct run *run, const struct host *host, const struct host *peer);

/* Evaluate a field expression with the connections' live values and the named
 * packets' fields.  0 or -errno (-ESRCH: a named packet not seen; see
 * eval_strerror). */
int eval_expr(struct run *run, const struct expr *expr, uint64_t *value);
const char *eval_strerror(int rc);

typedef bool (*packet_filter)(const struct run *run, const struct observed *observed,
			      const void *arg);

/* The first packet from index `from` on that filter accepts, waiting for it up
 * to the run's timeout. */
const struct observed *wait_packet(struct run *run, size_t from, packet_filter filter,
				   const void *arg);
/* The same, waiting up to timeout_ms. */
const struct observed *wait_packet_for(struct run *run, size_t from, packet_filter filter,
				       const void *arg, int timeout_ms);

/* The original tuple of connection conn_index's entry (CONN_LAST: of the last
 * crafted packet).  0, or -1 with the reason in result. */
int entry_tuple(struct run *run, int conn_index, struct ct_tuple *tuple,
		struct step_result *result);
int lookup_entry(struct run *run, int conn_index, struct ct_entry *entry,
		 struct step_result *result);
int read_number(struct netns *ns, const char *key, uint64_t *value);

/* ---- The steps (steps.c, checks.c, craft.c); engine.c dispatches them ---- */

int do_sysctl(struct run *run, const struct sysctl_step *sysctl, struct step_result *result);
int do_nft(struct run *run, const struct nft_step *nft, struct step_result *result);
int do_listen(struct run *run, const struct listen_step *listen, struct step_result *result);
int do_connect(struct run *run, const struct connect_step *connect,
	       struct step_result *result);
int do_send(struct run *run, const struct send_step *send, struct step_result *result);
int do_socket(struct run *run, const struct socket_step *socket_step,
	      struct step_result *result);
int do_ct(struct run *run, const struct ct_step *ct, struct step_result *result);
int do_flood(struct run *run, const struct flood_step *flood, struct step_result *result);
int do_fill(struct run *run, const struct fill_step *fill, struct step_result *result);
int do_expect(struct run *run, const struct expect_step *expect, struct step_result *result);
int do_mute(struct run *run, const struct mute_step *mute, struct step_result *result);
int do_sleep(struct run *run, const struct sleep_step *sleep, struct step_result *result);
int do_hold(struct run *run, const struct packet_path *hold, struct step_result *result);
int do_release(struct run *run, const struct release_step *release, struct step_result *result);
int do_bypass(struct run *run, const struct packet_path *bypass, struct step_result *result);
int do_link(struct run *run, const struct link_step *link, struct step_result *result);

/* The type and code a named ICMP message has in the run's family. */
void icmp_message_code(int family, enum icmp_message message, uint8_t *type, uint8_t *code);

/*
 * Build the packet a send step describes (TCP, UDP or ICMP/ICMPv6, with a
 * fresh IP ID / flow label) into buf.  Returns its length, or -1 with the
 * reason in result.
 */
ssize_t craft_packet(struct run *run, const struct send_step *send, uint8_t *buf, size_t size,
		     struct step_result *result);

/* The run's wire as pcapng files under --pcap DIR, with conntrack's verdicts as
 * packet comments. (capture.c) */
void write_captures(struct run *run);
/* Which observed packet each wire copy (by arrival index) is, -1 none, and
 * whether it is the copy the observing host sent on. (capture.c) */
void match_judged(const struct run *run, long *judged, bool *forwarded);

#endif
