#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "ctfill.h"
#include "flood.h"
#include "run.h"

/* Where conntrack runs in each topology, and so where the observer sits. */
static const struct {
	const char *topology;
	const char *observing_host;
} observing_hosts[] = {
	{ "pair", "server" },
	{ "routed", "router" },
};

const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

uint32_t engine_kernel_version(void)
{
	static uint32_t version;
	struct utsname uts;
	unsigned major = 0, minor = 0, patch = 0;

	if (version)
		return version;
	if (uname(&uts) == 0)
		sscanf(uts.release, "%u.%u.%u", &major, &minor, &patch);
	/* As the kernel's KERNEL_VERSION: the patch level saturates at 255. */
	version = CTLAB_KERNEL_VERSION(major, minor, patch > 255 ? 255 : patch);
	return version;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static long ms_since(const struct timespec *start)
{
	return (long)(seconds_since(start) * 1000);
}

const union inet_addr *host_addr(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? (const union inet_addr *)&host->in4
				      : (const union inet_addr *)&host->in6;
}

static const char *host_addr_text(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? host->addr4 : host->addr6;
}

int step_error(struct step_result *result, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(result->message, sizeof(result->message), fmt, args);
	va_end(args);
	result->passed = false;
	return -1;
}

const struct host *find_host(struct run *run, const char *name)
{
	if (strcmp(name, SERVICE_HOST) == 0)
		name = "server";	/* the service's sockets live on the server */
	return topology_host(run->topology, name);
}

static const union inet_addr *iface_addr(const struct run *run, const struct host_iface *iface)
{
	return run->family == AF_INET ? (const union inet_addr *)&iface->in4
				      : (const union inet_addr *)&iface->in6;
}

/* Two addresses on one link: the same /24 (IPv4) or /64 (IPv6). */
static bool same_link(int family, const union inet_addr *a, const union inet_addr *b)
{
	return memcmp(a, b, family == AF_INET ? 3 : 8) == 0;
}

void route_addrs(const struct run *run, const struct host *src, const char *dst,
		 union inet_addr *src_addr, union inet_addr *dst_addr)
{
	const struct host *dst_host;
	size_t i, j;

	*src_addr = *host_addr(run, src);
	if (strcmp(dst, SERVICE_HOST) == 0) {
		*dst_addr = *iface_addr(run, topology_service(run->topology));
		return;
	}
	dst_host = topology_host(run->topology, dst);
	*dst_addr = *host_addr(run, dst_host);
	/* A router speaks from, and is spoken to on, the interface that faces
	 * the other host. */
	for (i = 0; i < src->iface_count; i++)
		for (j = 0; j < dst_host->iface_count; j++)
			if (same_link(run->family, iface_addr(run, &src->ifaces[i]),
				      iface_addr(run, &dst_host->ifaces[j]))) {
				*src_addr = *iface_addr(run, &src->ifaces[i]);
				*dst_addr = *iface_addr(run, &dst_host->ifaces[j]);
				return;
			}
}

void conn_view(const struct conn *conn, bool from_client, union inet_addr *src,
	       uint16_t *sport, union inet_addr *dst, uint16_t *dport)
{
	if (from_client) {
		*src = conn->client_addr;
		*sport = conn->client_port;
		*dst = conn->dialed_addr;
		*dport = conn->dialed_port;
	} else {
		*src = conn->server_addr;
		*sport = conn->server_port;
		*dst = conn->peer_addr;
		*dport = conn->peer_port;
	}
}

/* ---- Connections and their ends ---- */

static int *endpoint_fd(struct run *run, const struct endpoint *endpoint)
{
	struct conn *conn = &run->conns[endpoint->conn];

	return endpoint->side == SIDE_CLIENT ? &conn->client_fd : &conn->server_fd;
}

static int *endpoint_error(struct run *run, const struct endpoint *endpoint)
{
	struct conn *conn = &run->conns[endpoint->conn];

	return endpoint->side == SIDE_CLIENT ? &conn->client_error : &conn->server_error;
}

static const char *endpoint_name(const struct run *run, const struct endpoint *endpoint,
				 char *buf, size_t size)
{
	snprintf(buf, size, "%s.%s", run->scenario->conns[endpoint->conn],
		 endpoint->side == SIDE_CLIENT ? "client" : "server");
	return buf;
}

/* The entry's original tuple: what the client sent, before any NAT. */
static struct ct_tuple conn_tuple(const struct run *run, const struct conn *conn)
{
	struct ct_tuple tuple = {
		.family = run->family,
		.protocol = conn->protocol == PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
		.src = conn->client_addr,
		.dst = conn->dialed_addr,
		.sport = conn->client_port,
		.dport = conn->dialed_port,
	};
	return tuple;
}

int conn_live(struct conn *conn, bool client, struct tcp_live *live)
{
	int fd = client ? conn->client_fd : conn->server_fd;
	struct tcp_live *cache = client ? &conn->client_live : &conn->server_live;
	bool *known = client ? &conn->client_live_known : &conn->server_live_known;
	int rc = fd >= 0 ? sock_tcp_live(fd, live) : -ENOTCONN;

	if (rc == 0) {
		*cache = *live;
		*known = true;
		return 0;
	}
	if (!*known)
		return rc;
	*live = *cache;
	return 0;
}

/* The live value a term names: c.client.nxt, c.server.win… */
static int conn_value(struct run *run, const struct expr_term *term, uint64_t *value)
{
	struct tcp_live live;
	int rc = conn_live(&run->conns[term->conn], term->side == SIDE_CLIENT, &live);

	if (rc < 0)
		return rc;
	*value = term->value == CONN_NXT ? live.snd_nxt : live.rcv_wnd;
	return 0;
}

int eval_expr(struct run *run, const struct expr *expr, uint64_t *value)
{
	uint64_t sum = 0, term_value;
	size_t i;
	int rc;

	for (i = 0; i < expr->n_terms; i++) {
		const struct expr_term *term = &expr->terms[i];

		term_value = term->number;
		if (term->is_conn) {
			rc = conn_value(run, term, &term_value);
			if (rc < 0)
				return rc;
		}
		sum += term->sign < 0 ? -term_value : term_value;
	}
	*value = sum;
	return 0;
}

/* ---- Waiting for what the kernel did ---- */

/* Before a step that sends: remember the counters and where its packets start. */
static int begin_sending(struct run *run, struct step_result *result)
{
	int rc = observer_stats(run->observer, &run->stats_before);

	if (rc < 0)
		return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
	observer_poll(run->observer, 0);
	run->last_from = observer_count(run->observer);
	run->last = NULL;
	if (run->wire) {
		wire_poll(run->wire, 0);
		run->wire_from = wire_count(run->wire);
	}
	return 0;
}

typedef bool (*packet_filter)(const struct run *run, const struct observed *observed,
			      const void *arg);

/* The first packet from index `from` on that filter accepts, waiting for it up
 * to the run's timeout. */
static const struct observed *wait_packet(struct run *run, size_t from, packet_filter filter,
					  const void *arg)
{
	struct timespec start;
	size_t i;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (i = from; i < observer_count(run->observer); i++) {
			const struct observed *observed = observer_at(run->observer, i);

			if (filter(run, observed, arg))
				return observed;
		}
		from = observer_count(run->observer);
		left = run->options->timeout_ms - ms_since(&start);
		if (left <= 0 || observer_poll(run->observer, (int)left) < 0)
			return NULL;
	}
}

struct endpoint_packet {
	const union inet_addr *addr;
	uint16_t port;
	uint8_t protocol;
	uint8_t flags_any;		/* one of these TCP flags, or 0 */
	bool payload;			/* carries data */
};

static bool is_endpoint_packet(const struct run *run, const struct observed *observed,
			       const void *arg)
{
	const struct endpoint_packet *want = arg;
	const struct packet_summary *packet = &observed->packet;
	size_t len = run->family == AF_INET ? sizeof(want->addr->v4) : sizeof(want->addr->v6);

	if (packet->family != run->family || packet->protocol != want->protocol ||
	    memcmp(&packet->src, want->addr, len) || packet->sport != want->port)
		return false;
	if (want->flags_any && !(packet->flags & want->flags_any))
		return false;
	return !want->payload || packet->payload_len > 0;
}

/* After a socket step: the packet that endpoint's kernel socket sent for it. */
static void wait_endpoint_packet(struct run *run, const struct endpoint *endpoint,
				 uint8_t flags_any, bool payload)
{
	const struct conn *conn = &run->conns[endpoint->conn];
	bool client = endpoint->side == SIDE_CLIENT;
	struct endpoint_packet want = {
		.addr = client ? &conn->client_addr : &conn->server_addr,
		.port = client ? conn->client_port : conn->server_port,
		.protocol = conn->protocol == PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
		.flags_any = flags_any,
		.payload = payload,
	};

	run->last = wait_packet(run, run->last_from, is_endpoint_packet, &want);
}

/* ---- Steps ---- */

static int do_sysctl(struct run *run, const struct sysctl_step *sysctl, struct step_result *result)
{
	const struct host *host = find_host(run, sysctl->host);
	int rc = netns_sysctl_write(host->ns, sysctl->key, sysctl->value);

	if (rc < 0)
		return step_error(result, "cannot set %s=%s on %s: %s", sysctl->key, sysctl->value,
				  host->name, strerror(-rc));
	return 0;
}

static int do_nft(struct run *run, const struct nft_step *nft, struct step_result *result)
{
	const struct host *host = find_host(run, nft->host);
	char err[1024] = "";

	if (netns_nft_load(host->ns, nft->ruleset, err, sizeof(err)) < 0)
		return step_error(result, "nft on %s: %s", host->name, err);
	return 0;
}

static struct listener *ensure_listener(struct run *run, const struct host *host, uint16_t port,
					struct step_result *result)
{
	struct listener *listener;
	size_t i;
	int fd;

	for (i = 0; i < run->n_listeners; i++)
		if (run->listeners[i].host == host && run->listeners[i].port == port)
			return &run->listeners[i];
	if (run->n_listeners == LISTENERS_MAX) {
		step_error(result, "more than %d listeners", LISTENERS_MAX);
		return NULL;
	}
	fd = sock_listen(host->ns, run->family, host_addr(run, host), port);
	if (fd < 0) {
		step_error(result, "cannot listen on %s:%u: %s", host->name, port, strerror(-fd));
		return NULL;
	}
	listener = &run->listeners[run->n_listeners++];
	*listener = (struct listener){ .host = host, .port = port, .fd = fd };
	return listener;
}

static int do_listen(struct run *run, const struct listen_step *listen, struct step_result *result)
{
	return ensure_listener(run, find_host(run, listen->host), listen->port, result) ? 0 : -1;
}

static int connect_udp(struct run *run, struct conn *conn, uint16_t port,
		       struct step_result *result)
{
	struct sockaddr_storage name;
	socklen_t len = sizeof(name);
	int rc;

	rc = sock_udp_pair(conn->client->ns, conn->server->ns, run->family, &conn->client_addr,
			   &conn->dialed_addr, port, &conn->client_fd, &conn->server_fd);
	if (rc < 0)
		return step_error(result, "UDP sockets %s -> %s:%u: %s", conn->client->name,
				  conn->server->name, port, strerror(-rc));
	getsockname(conn->client_fd, (struct sockaddr *)&name, &len);
	/* The port sits at the same offset in sockaddr_in and sockaddr_in6. */
	conn->client_port = ntohs(((struct sockaddr_in *)&name)->sin_port);
	conn->server_port = port;
	conn->server_addr = conn->dialed_addr;
	conn->peer_addr = conn->client_addr;
	conn->peer_port = conn->client_port;
	return 0;
}

/* An end's address and port as a socket name says them. */
static void sockaddr_split(const struct sockaddr_storage *name, union inet_addr *addr,
			   uint16_t *port)
{
	if (name->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)name;

		addr->v4 = sin->sin_addr;
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)name;

		addr->v6 = sin6->sin6_addr;
		*port = ntohs(sin6->sin6_port);
	}
}

static int connect_tcp(struct run *run, struct conn *conn, uint16_t port,
		       struct step_result *result)
{
	struct listener *listener = ensure_listener(run, conn->server, port, result);
	struct sockaddr_storage name;
	socklen_t len = sizeof(name);
	struct tcp_live live;
	int fd, rc;

	if (!listener)
		return -1;
	fd = sock_connect(conn->client->ns, run->family, &conn->client_addr, &conn->dialed_addr,
			  port, run->options->timeout_ms);
	if (fd < 0)
		return step_error(result, "connect %s -> %s:%u: %s", conn->client->name,
				  conn->server->name, port, strerror(-fd));
	conn->client_fd = fd;
	fd = sock_accept(listener->fd, run->options->timeout_ms);
	if (fd < 0)
		return step_error(result, "accept on %s:%u: %s", conn->server->name, port,
				  strerror(-fd));
	conn->server_fd = fd;
	rc = conn_live(conn, true, &live);
	if (rc < 0)
		return step_error(result, "reading the connection's sequence numbers: %s",
				  strerror(-rc));
	conn->client_port = live.local_port;
	/* What the server sees: its own name, and a peer NAT may have changed. */
	if (getsockname(conn->server_fd, (struct sockaddr *)&name, &len) < 0)
		return step_error(result, "getsockname: %s", strerror(errno));
	sockaddr_split(&name, &conn->server_addr, &conn->server_port);
	len = sizeof(name);
	if (getpeername(conn->server_fd, (struct sockaddr *)&name, &len) < 0)
		return step_error(result, "getpeername: %s", strerror(errno));
	sockaddr_split(&name, &conn->peer_addr, &conn->peer_port);
	return 0;
}

/* The errno a failed connect step reported in its message. */
static int errno_of_connect(const struct step_result *result)
{
	static const int errors[] = { ETIMEDOUT, ECONNREFUSED, ECONNRESET, EHOSTUNREACH,
				      ENETUNREACH };
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strstr(result->message, strerror(errors[i])))
			return errors[i];
	return EIO;
}

static int do_connect(struct run *run, const struct connect_step *connect,
		      struct step_result *result)
{
	struct conn *conn = &run->conns[connect->conn];
	char client[INET6_ADDRSTRLEN], dialed[INET6_ADDRSTRLEN];
	char server[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	int rc;

	conn->protocol = connect->protocol;
	conn->client = find_host(run, connect->client);
	conn->server = find_host(run, connect->server);
	route_addrs(run, conn->client, connect->server, &conn->client_addr, &conn->dialed_addr);
	conn->dialed_port = connect->port;
	if (begin_sending(run, result) < 0)
		return -1;
	rc = conn->protocol == PROTO_UDP ? connect_udp(run, conn, connect->port, result)
					 : connect_tcp(run, conn, connect->port, result);
	if (rc < 0 && connect->may_fail) {
		/* The story is that it fails: keep why for expect socket. */
		conn->client_error = errno_of_connect(result);
		result->passed = true;
		return 0;
	}
	if (rc < 0)
		return rc;
	inet_ntop(run->family, &conn->client_addr, client, sizeof(client));
	inet_ntop(run->family, &conn->dialed_addr, dialed, sizeof(dialed));
	inet_ntop(run->family, &conn->server_addr, server, sizeof(server));
	inet_ntop(run->family, &conn->peer_addr, peer, sizeof(peer));
	if (memcmp(&conn->dialed_addr, &conn->server_addr, sizeof(conn->dialed_addr)) == 0 &&
	    memcmp(&conn->client_addr, &conn->peer_addr, sizeof(conn->client_addr)) == 0)
		snprintf(result->message, sizeof(result->message), "%s:%u -> %s:%u", client,
			 conn->client_port, dialed, conn->dialed_port);
	else
		snprintf(result->message, sizeof(result->message),
			 "%s:%u -> %s:%u, the server sees %s:%u -> %s:%u", client,
			 conn->client_port, dialed, conn->dialed_port, peer, conn->peer_port,
			 server, conn->server_port);
	/* The handshake's last packet (the client's ACK) is "the last packet". */
	if (conn->protocol == PROTO_TCP) {
		struct endpoint client_end = { .conn = connect->conn, .side = SIDE_CLIENT };

		wait_endpoint_packet(run, &client_end, TCP_FLAG_ACK, false);
	}
	return 0;
}

static int do_send(struct run *run, const struct send_step *send, struct step_result *result)
{
	const struct host *src = find_host(run, send->src);
	struct packet_summary want;
	uint8_t packet[PACKET_MAX];
	ssize_t len;
	int fd, rc;

	len = craft_packet(run, send, packet, sizeof(packet), result);
	if (len < 0)
		return -1;
	if (packet_parse(packet, (size_t)len, &want) < 0)
		return step_error(result, "cannot parse the packet just built");
	if (begin_sending(run, result) < 0)
		return -1;
	fd = -1;
	for (size_t i = 0; i < run->n_raw; i++)
		if (run->raw[i].host == src)
			fd = run->raw[i].fd;
	if (fd < 0) {
		if (run->n_raw == RAW_SOCKETS_MAX)
			return step_error(result, "too many raw sockets");
		fd = sock_raw_open(src->ns, run->family);
		if (fd < 0)
			return step_error(result, "raw socket on %s: %s", src->name, strerror(-fd));
		run->raw[run->n_raw++] = (struct raw_socket){ .host = src, .fd = fd };
	}
	rc = sock_raw_send(fd, packet, (size_t)len);
	if (rc < 0)
		return step_error(result, "sending from %s: %s", src->name, strerror(-rc));
	run->sent_any = true;
	run->last_sent = want;

	run->last = observer_wait_for(run->observer, &want, run->last_from,
				      run->options->timeout_ms);
	result->sent_packet = run->last ? (long)run->last->index : -1;
	return 0;
}

static int do_socket(struct run *run, const struct socket_step *socket_step,
		     struct step_result *result)
{
	const struct endpoint *endpoint = &socket_step->endpoint;
	struct conn *conn = &run->conns[endpoint->conn];
	int *fd = endpoint_fd(run, endpoint), *error = endpoint_error(run, endpoint);
	bool tcp = conn->protocol == PROTO_TCP;
	char name[64];
	int rc = 0;

	endpoint_name(run, endpoint, name, sizeof(name));
	if (*fd < 0)
		return step_error(result, "%s is closed", name);
	if (socket_step->action != SOCKET_READ && socket_step->action != SOCKET_WAIT &&
	    begin_sending(run, result) < 0)
		return -1;

	switch (socket_step->action) {
	case SOCKET_WRITE:
		rc = sock_write(*fd, socket_step->bytes);
		if (rc == 0)
			wait_endpoint_packet(run, endpoint, 0, true);
		break;
	case SOCKET_READ:
		rc = sock_read(*fd, socket_step->bytes, run->options->timeout_ms);
		break;
	case SOCKET_SHUTDOWN:
		rc = shutdown(*fd, SHUT_WR) < 0 ? -errno : 0;
		if (rc == 0)
			wait_endpoint_packet(run, endpoint, TCP_FLAG_FIN, false);
		break;
	case SOCKET_CLOSE: {
		/* A socket whose connection already ended closes without a word. */
		int state = tcp ? sock_tcp_state(*fd) : TCP_CLOSE;
		bool speaks = state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT ||
			      state == TCP_SYN_RECV ||
			      (socket_step->abort && (state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
						      state == TCP_LAST_ACK || state == TCP_CLOSING));

		if (tcp) {
			struct tcp_live live;

			/* Keep its numbers: a crafted packet may still speak for it. */
			conn_live(conn, endpoint->side == SIDE_CLIENT, &live);
		}
		rc = sock_close(*fd, socket_step->abort);
		*fd = -1;
		if (rc == 0 && speaks)
			wait_endpoint_packet(run, endpoint,
					     socket_step->abort ? TCP_FLAG_RST : TCP_FLAG_FIN, false);
		break;
	}
	case SOCKET_WAIT:
		rc = sock_wait_tcp_state(*fd, socket_step->state, run->options->timeout_ms);
		if (rc < 0) {
			int now = sock_tcp_state(*fd);

			return step_error(result, "%s did not reach %s in %d ms (it is %s)", name,
					  socket_state_name(socket_step->state),
					  run->options->timeout_ms,
					  now > 0 ? socket_state_name(now) : strerror(-now));
		}
		return 0;
	}
	/* A reset or a timeout is what some stories are about: remember it for
	 * `expect socket`, and say it, but it does not stop the run. */
	if (rc < 0) {
		*error = -rc;
		snprintf(result->message, sizeof(result->message), "%s: %s", name, strerror(-rc));
	}
	return 0;
}

/* The original tuple of a connection's entry, or of the last crafted packet's. */
static int entry_tuple(struct run *run, int conn_index, struct ct_tuple *tuple,
		       struct step_result *result)
{
	const struct packet_summary *sent = &run->last_sent;

	if (conn_index >= 0) {
		*tuple = conn_tuple(run, &run->conns[conn_index]);
		return 0;
	}
	if (!run->sent_any)
		return step_error(result, "no packet was sent yet");
	if (sent->protocol != IPPROTO_TCP && sent->protocol != IPPROTO_UDP)
		return step_error(result, "ct last needs a TCP or UDP packet");
	*tuple = (struct ct_tuple){ .family = sent->family, .protocol = sent->protocol,
				    .src = sent->src, .dst = sent->dst,
				    .sport = sent->sport, .dport = sent->dport };
	return 0;
}

static int lookup_entry(struct run *run, int conn_index, struct ct_entry *entry,
			struct step_result *result)
{
	struct ct_tuple tuple;
	int rc;

	if (entry_tuple(run, conn_index, &tuple, result) < 0)
		return -1;
	rc = observer_ct_lookup(run->observer, &tuple, entry);
	if (rc < 0)
		return step_error(result, "ctnetlink lookup: %s", strerror(-rc));
	return 0;
}

static bool entry_is(const struct ct_step *ct, const struct ct_entry *entry)
{
	if (ct->gone)
		return !entry->found;
	if (ct->assured)
		return entry->found && entry->assured;
	return entry->found && entry->state == ct->state;
}

static int delete_entry(struct run *run, const struct ct_step *ct, struct step_result *result)
{
	struct ct_tuple tuple;
	int rc;

	if (entry_tuple(run, ct->conn, &tuple, result) < 0)
		return -1;
	rc = observer_ct_delete(run->observer, &tuple);
	if (rc < 0)
		return step_error(result, "deleting the entry: %s", strerror(-rc));
	return 0;
}

static int do_ct(struct run *run, const struct ct_step *ct, struct step_result *result)
{
	struct timespec start, tick = { 0, 200000 };
	const struct conn *conn = ct->conn >= 0 ? &run->conns[ct->conn] : NULL;
	/* A UDP entry turns ASSURED only when traffic goes on 2 s after the reply
	 * (nf_conntrack_proto_udp.c): keep the stream alive, at a slow pace. */
	bool stream = ct->assured && conn && conn->protocol == PROTO_UDP;
	long timeout = run->options->timeout_ms + (stream ? 2000 : 0);
	struct ct_entry entry;

	if (ct->delete)
		return delete_entry(run, ct, result);
	if (ct->flush) {
		int rc;

		if (find_host(run, ct->host) != run->observing_host)
			return step_error(result, "conntrack is observed on %s, not on %s",
					  run->observing_host->name, ct->host);
		rc = observer_ct_flush(run->observer);
		if (rc < 0)
			return step_error(result, "flushing the table: %s", strerror(-rc));
		return 0;
	}
	if (stream)
		tick.tv_nsec = 250 * 1000000L;
	/* ctnetlink events would tell of a new state, but not of a timer that has not
	 * fired yet; a bounded poll says both. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (lookup_entry(run, ct->conn, &entry, result) < 0)
			return -1;
		if (entry_is(ct, &entry))
			return 0;
		if (ms_since(&start) >= timeout)
			break;
		nanosleep(&tick, NULL);
		if (stream && conn->client_fd >= 0)
			sock_write(conn->client_fd, 1);
	}
	if (ct->gone)
		return step_error(result, "the entry is still there (state %s) after %ld ms",
				  tcp_state_name(entry.state), timeout);
	if (ct->assured)
		return step_error(result, "the entry is not ASSURED after %ld ms", timeout);
	return step_error(result, "the entry did not reach %s in %ld ms (%s%s)",
			  tcp_state_name(ct->state), timeout,
			  entry.found ? "it is " : "no entry",
			  entry.found ? tcp_state_name(entry.state) : "");
}

/* ---- Table exhaustion ---- */

/* A progress line on stderr while a table fills, when a person watches. */
struct progress {
	const char *what;
	uint32_t total;
	struct timespec start;
	double shown_at;		/* seconds since start of the last line drawn */
	bool shown;
};

static void show_progress(uint32_t done, void *arg)
{
	struct progress *progress = arg;
	double seconds = seconds_since(&progress->start);
	double rate = seconds > 0 ? done / seconds : 0;
	int width = 30, filled = progress->total ? (int)((uint64_t)done * width / progress->total) : 0;

	/* A line every 50 ms is all an eye can follow. */
	if (!isatty(STDERR_FILENO) ||
	    (progress->shown && seconds - progress->shown_at < 0.05 && done < progress->total))
		return;
	progress->shown_at = seconds;
	fprintf(stderr, "\r%s [%.*s%*s] %u/%u  %.0f/s  %.1f s left ", progress->what, filled,
		"##############################", width - filled, "", done, progress->total, rate,
		rate > 0 ? (progress->total - done) / rate : 0.0);
	progress->shown = true;
}

static void end_progress(const struct progress *progress)
{
	if (progress->shown)
		fputs("\r\033[K", stderr);
}

static int read_number(struct netns *ns, const char *key, uint64_t *value);

/*
 * Each SYN the router handled either made an entry, made one after evicting
 * others (early_drop counts them), or was dropped: so the count's change plus
 * early_drop's plus drop's reaches the number sent once all are handled.
 */
static int wait_flood_handled(struct run *run, uint64_t count_before, uint32_t sent)
{
	struct timespec start, tick = { 0, 1000000 };
	struct ct_stats now;
	uint64_t count, early_drop[2] = { 0 }, drop[2] = { 0 };

	ct_stats_get(&run->stats_before, "early_drop", &early_drop[0]);
	ct_stats_get(&run->stats_before, "drop", &drop[0]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_count",
				&count) < 0 || observer_stats(run->observer, &now) < 0)
			return -1;
		ct_stats_get(&now, "early_drop", &early_drop[1]);
		ct_stats_get(&now, "drop", &drop[1]);
		if ((int64_t)(count - count_before) + (int64_t)(early_drop[1] - early_drop[0]) +
		    (int64_t)(drop[1] - drop[0]) >= (int64_t)sent)
			return 0;
		if (ms_since(&start) >= run->options->timeout_ms)
			return -1;
		nanosleep(&tick, NULL);
	}
}

static int do_flood(struct run *run, const struct flood_step *flood, struct step_result *result)
{
	const struct host *src = find_host(run, flood->src);
	const struct host *gateway = strcmp(run->scenario->topology, "routed") == 0 ?
				     find_host(run, "router") : find_host(run, "server");
	struct progress progress = { .what = "flood", .total = flood->count };
	struct flood_spec spec = {
		.family = run->family, .ns = src->ns, .ifname = src->ifname,
		.gateway_ns = gateway->ns, .gateway_ifname = gateway->ifname,
		.dport = flood->port, .count = flood->count, .first = run->flood_next,
		.threads = flood->threads, .method = FLOOD_METHOD_AUTO,
	};
	struct flood_result sent = { 0 };
	union inet_addr src_addr;
	uint64_t before;
	int rc;

	route_addrs(run, src, flood->dst, &src_addr, &spec.dst);
	if (begin_sending(run, result) < 0)
		return -1;
	if (read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_count", &before) < 0)
		return step_error(result, "reading the entry count: %s", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	rc = flood_run(&spec, &sent, show_progress, &progress);
	end_progress(&progress);
	run->flood_next += flood->count;
	if (rc < 0)
		return step_error(result, "flood: %s after %u SYNs", strerror(-rc), sent.sent);
	/* Under load the kernel hands softirq work to ksoftirqd, so the router may
	 * still be at it: wait until every SYN is accounted for. */
	if (wait_flood_handled(run, before, sent.sent) < 0)
		return step_error(result, "the router handled only part of %u SYNs in %d ms",
				  sent.sent, run->options->timeout_ms);
	snprintf(result->message, sizeof(result->message),
		 "%u SYNs sent in %.3f s (%.0f/s), all handled by the router after %.3f s",
		 sent.sent, sent.seconds, sent.seconds > 0 ? sent.sent / sent.seconds : 0.0,
		 seconds_since(&progress.start));
	return 0;
}

static int do_fill(struct run *run, const struct fill_step *fill, struct step_result *result)
{
	const struct host *host = find_host(run, fill->host);
	struct progress progress = { .what = "fill", .total = fill->count };
	struct ctfill_spec spec;
	uint32_t inserted = 0;
	int rc;

	rc = ctfill_spec_flood(&spec, run->family, fill->count);
	if (rc < 0)
		return step_error(result, "fill: %s", strerror(-rc));
	spec.timeout = fill->timeout ? fill->timeout : 3600;
	if (begin_sending(run, result) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	rc = ctfill_insert(host->ns, &spec, &inserted, show_progress, &progress);
	end_progress(&progress);
	/* A table that is full before the count is reached is a story, not an error. */
	if (rc < 0 && rc != -ENOMEM)
		return step_error(result, "fill: %s after %u entries", strerror(-rc), inserted);
	snprintf(result->message, sizeof(result->message), "%u ASSURED entries in %.3f s%s",
		 inserted, seconds_since(&progress.start), rc == -ENOMEM ? " (table full)" : "");
	return 0;
}

/* ---- Expectations ---- */

struct packet_want {
	const struct packet_match *match;
	union inet_addr src, dst;	/* expect packet: the addresses it carries */
	uint64_t seq, ack;
	uint8_t icmp_type;
};

/* Protocol, flags, numbers and ICMP type, as the match asks. */
static bool summary_matches(const struct run *run, const struct packet_summary *packet,
			    const struct packet_want *want)
{
	const struct packet_match *match = want->match;
	static const uint8_t protocols[2][3] = {
		{ IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP },
		{ IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 },
	};

	if (packet->family != run->family ||
	    packet->protocol != protocols[run->family == AF_INET6][match->protocol])
		return false;
	if (match->has_flags && packet->flags != match->flags)
		return false;
	if (match->seq.present && packet->seq != (uint32_t)want->seq)
		return false;
	if (match->ack.present && packet->ack != (uint32_t)want->ack)
		return false;
	return !match->has_type || packet->icmp_type == want->icmp_type;
}

static bool is_wanted_packet(const struct run *run, const struct observed *observed,
			     const void *arg)
{
	const struct packet_want *want = arg;
	const struct packet_match *match = want->match;
	const struct packet_summary *packet = &observed->packet;
	size_t len = run->family == AF_INET ? sizeof(want->src.v4) : sizeof(want->src.v6);

	if (!summary_matches(run, packet, want) || memcmp(&packet->src, &want->src, len) ||
	    memcmp(&packet->dst, &want->dst, len))
		return false;
	if (match->has_reason &&
	    (match->reason_none ? observed->has_reason
				: !observed->has_reason || !reason_matches(match->reason, observed->reason)))
		return false;
	return match->verdict == VERDICT_UNSEEN || observed->verdict == match->verdict;
}

/* Evaluate what a match says with numbers: seq, ack, the ICMP type. */
static int prepare_want(struct run *run, const struct packet_match *match,
			struct packet_want *want, struct step_result *result)
{
	uint8_t code;
	int rc;

	want->match = match;
	want->icmp_type = match->icmp_type;
	if (match->seq.present && (rc = eval_expr(run, &match->seq, &want->seq)) < 0)
		return step_error(result, "seq=: %s", strerror(-rc));
	if (match->ack.present && (rc = eval_expr(run, &match->ack, &want->ack)) < 0)
		return step_error(result, "ack=: %s", strerror(-rc));
	if (match->has_type && match->icmp_message != ICMP_MSG_NONE)
		icmp_message_code(run->family, match->icmp_message, &want->icmp_type, &code);
	return 0;
}

static int find_packet(struct run *run, const struct packet_match *match, bool *seen,
		       char *what, size_t size, struct step_result *result)
{
	struct packet_want want;
	const struct observed *found;

	if (prepare_want(run, match, &want, result) < 0)
		return -1;
	route_addrs(run, find_host(run, match->src), match->dst, &want.src, &want.dst);
	if (match->absent) {
		/* What the kernel answers to a packet it answers at once, in the same
		 * softirq as the packet itself: by now it has been logged. */
		size_t i;

		observer_poll(run->observer, 0);
		found = NULL;
		for (i = run->last_from; i < observer_count(run->observer) && !found; i++)
			if (is_wanted_packet(run, observer_at(run->observer, i), &want))
				found = observer_at(run->observer, i);
	} else {
		found = wait_packet(run, run->last_from, is_wanted_packet, &want);
	}
	*seen = found != NULL;
	if (found)
		snprintf(what, size, "packet #%zu", found->index + 1);
	return 0;
}

/* An address is the named host's (any of its interfaces) or the service's. */
static bool addr_is_named(struct run *run, const union inet_addr *addr, const char *name)
{
	size_t len = run->family == AF_INET ? sizeof(addr->v4) : sizeof(addr->v6);
	const struct host *host;
	size_t i;

	if (!name[0])
		return true;
	if (strcmp(name, SERVICE_HOST) == 0)
		return memcmp(addr, iface_addr(run, topology_service(run->topology)), len) == 0;
	host = topology_host(run->topology, name);
	for (i = 0; i < host->iface_count; i++)
		if (memcmp(addr, iface_addr(run, &host->ifaces[i]), len) == 0)
			return true;
	return false;
}

/* A packet received by the hop's receiver that its sender put on the link. */
static const struct wire_packet *wire_hop(struct run *run, const struct packet_want *want,
					  size_t from)
{
	const struct packet_match *match = want->match;
	size_t i, j, n = wire_count(run->wire);

	for (i = from; i < n; i++) {
		const struct wire_packet *in = wire_at(run->wire, i);

		if (in->outgoing || strcmp(in->host, match->dst) != 0 ||
		    !summary_matches(run, &in->packet, want) ||
		    !addr_is_named(run, &in->packet.src, match->addr_src) ||
		    !addr_is_named(run, &in->packet.dst, match->addr_dst))
			continue;
		for (j = 0; j < n; j++) {
			const struct wire_packet *out = wire_at(run->wire, j);

			if (out->outgoing && strcmp(out->host, match->src) == 0 &&
			    packet_same(&out->packet, &in->packet))
				return in;
		}
	}
	return NULL;
}

static int find_wire(struct run *run, const struct packet_match *match, bool *seen,
		     char *what, size_t size, struct step_result *result)
{
	const struct wire_packet *found;
	struct packet_want want;
	struct timespec start;
	long left;

	if (!run->wire)
		return step_error(result, "the wire is not captured in this run");
	if (prepare_want(run, match, &want, result) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		wire_poll(run->wire, 0);
		found = wire_hop(run, &want, run->wire_from);
		/* Absence: what the kernel sends in answer it sends at once. */
		if (found || match->absent)
			break;
		left = run->options->timeout_ms - ms_since(&start);
		if (left <= 0 || wire_poll(run->wire, (int)left) < 0)
			break;
	}
	*seen = found != NULL;
	if (found) {
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		inet_ntop(run->family, &found->packet.src, src, sizeof(src));
		inet_ntop(run->family, &found->packet.dst, dst, sizeof(dst));
		snprintf(what, size, "one %s -> %s on %s/%s", src, dst, found->host,
			 found->ifname);
	}
	return 0;
}

/* A kernel log line since the run began.  The kernel prints "table full" in
 * the packet's own path, so absence needs no wait. */
static int find_kmsg(struct run *run, const struct expect_step *expect,
		     struct observation *seen, struct step_result *result)
{
	char text[SCENARIO_TEXT_MAX + 32];
	const char *mark = strstr(expect->reason, "$NETNS");
	struct stat st;
	int rc;

	if (!run->kmsg_marked)
		return step_error(result, "the kernel log cannot be read here");
	/* Newer kernels name the namespace by its inode: this run's, no other's. */
	snprintf(text, sizeof(text), "%s", expect->reason);
	if (mark && fstat(netns_fd(run->observing_host->ns), &st) == 0)
		snprintf(text + (mark - expect->reason), sizeof(text) - (size_t)(mark - expect->reason),
			 "%lu%s", (unsigned long)st.st_ino, mark + strlen("$NETNS"));
	rc = kmsg_find(&run->kmsg_since, text,
		       expect->absent ? 0 : run->options->timeout_ms, seen->kmsg_line,
		       sizeof(seen->kmsg_line));
	if (rc < 0)
		return step_error(result, "reading /dev/kmsg: %s", strerror(-rc));
	seen->kmsg_seen = rc > 0;
	return 0;
}

static int read_number(struct netns *ns, const char *key, uint64_t *value)
{
	char text[32];
	int rc = netns_sysctl_read(ns, key, text, sizeof(text));

	if (rc < 0)
		return rc;
	*value = strtoull(text, NULL, 10);
	return 0;
}

/* The observing namespace's entry count, and the global maximum it counts against. */
static int read_entries(struct run *run, uint64_t *entries, uint64_t *max,
			struct step_result *result)
{
	int rc = read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_count", entries);

	if (rc == 0)
		rc = read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_max", max);
	if (rc < 0)
		return step_error(result, "reading the entry count: %s", strerror(-rc));
	return 0;
}

static int do_expect(struct run *run, const struct expect_step *expect, struct step_result *result)
{
	struct observation seen = { .verdict = VERDICT_UNSEEN, .socket_errno = -1,
				    .socket_state = -1 };
	struct ct_stats now;
	uint64_t before = 0, after = 0;
	int rc;

	if (run->last) {
		seen.verdict = run->last->verdict;
		seen.reason = run->last->has_reason ? run->last->reason : NULL;
	}
	switch (expect->kind) {
	case EXPECT_VERDICT:
	case EXPECT_REASON:
		break;
	case EXPECT_CT:
		if (lookup_entry(run, expect->conn, &seen.entry, result) < 0)
			return -1;
		break;
	case EXPECT_STAT:
		rc = observer_stats(run->observer, &now);
		if (rc < 0)
			return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
		seen.counter_known = ct_stats_get(&run->stats_before, expect->counter, &before) &&
				     ct_stats_get(&now, expect->counter, &after);
		seen.counter_delta = (int64_t)(after - before);
		break;
	case EXPECT_PACKET:
		if (find_packet(run, &expect->packet, &seen.packet_seen, seen.packet_what,
				sizeof(seen.packet_what), result) < 0)
			return -1;
		break;
	case EXPECT_WIRE:
		if (find_wire(run, &expect->packet, &seen.packet_seen, seen.packet_what,
			      sizeof(seen.packet_what), result) < 0)
			return -1;
		break;
	case EXPECT_ENTRIES:
		if (read_entries(run, &seen.entries, &seen.entries_max, result) < 0)
			return -1;
		break;
	case EXPECT_KMSG:
		if (find_kmsg(run, expect, &seen, result) < 0)
			return -1;
		break;
	case EXPECT_SOCKET: {
		int fd = *endpoint_fd(run, &expect->endpoint);
		int *error = endpoint_error(run, &expect->endpoint);

		if (fd >= 0 && !*error)
			*error = sock_pending_error(fd);
		seen.socket_errno = *error;
		seen.socket_state = fd >= 0 ? sock_tcp_state(fd) : TCP_CLOSE;
		break;
	}
	}
	result->passed = expect_check(expect, &seen, result->message, sizeof(result->message));
	if (!result->passed)
		run->result->failures++;
	return 0;
}

static int do_step(struct run *run, const struct step *step, struct step_result *result)
{
	switch (step->kind) {
	case STEP_SYSCTL:
		return do_sysctl(run, &step->sysctl, result);
	case STEP_NFT:
		return do_nft(run, &step->nft, result);
	case STEP_LISTEN:
		return do_listen(run, &step->listen, result);
	case STEP_CONNECT:
		return do_connect(run, &step->connect, result);
	case STEP_SEND:
		return do_send(run, &step->send, result);
	case STEP_EXPECT:
		return do_expect(run, &step->expect, result);
	case STEP_SOCKET:
		return do_socket(run, &step->socket, result);
	case STEP_CT:
		return do_ct(run, &step->ct, result);
	case STEP_FLOOD:
		return do_flood(run, &step->flood, result);
	case STEP_FILL:
		return do_fill(run, &step->fill, result);
	}
	return step_error(result, "unknown step");
}

/* ---- A whole run ---- */

static void keep_namespaces(struct run *run)
{
	char path[256];
	size_t i;
	int rc;

	for (i = 0; i < topology_host_count(run->topology); i++) {
		struct host *host = topology_host_at(run->topology, i);

		snprintf(path, sizeof(path), "/run/netns/ctlab-%d-%s", (int)getpid(),
			 run->result->name);
		for (char *c = path + strlen("/run/netns/"); *c; c++)
			if (*c == '/')
				*c = '-';
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "-%s", host->name);
		rc = netns_keep(host->ns, path);
		if (rc < 0)
			fprintf(stderr, "ctlab: cannot keep %s: %s\n", path, strerror(-rc));
		else
			fprintf(stderr, "ctlab: kept %s (ip netns exec %s ...)\n", path,
				path + strlen("/run/netns/"));
	}
}

static void describe_hosts(struct run *run)
{
	struct run_result *result = run->result;
	size_t i;

	for (i = 0; i < topology_host_count(run->topology) && i < RUN_HOSTS_MAX; i++) {
		const struct host *host = topology_host_at(run->topology, i);

		snprintf(result->hosts[i].name, sizeof(result->hosts[i].name), "%s", host->name);
		snprintf(result->hosts[i].addr, sizeof(result->hosts[i].addr), "%s",
			 host_addr_text(run, host));
		result->hosts[i].observing = host == run->observing_host;
	}
	result->n_hosts = i;
}

static void version_text(uint32_t version, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u", version >> 16, (version >> 8) & 0xff);
}

/* Why this run cannot happen on this machine, or NULL. */
static bool kernel_excluded(struct run *run)
{
	const struct scenario *scenario = run->scenario;
	uint32_t kernel = engine_kernel_version();
	char want[32], have[32];

	version_text(kernel, have, sizeof(have));
	if (scenario->kernel_min && kernel < scenario->kernel_min) {
		version_text(scenario->kernel_min, want, sizeof(want));
		snprintf(run->result->reason, sizeof(run->result->reason),
			 "needs kernel >= %s, this is %s", want, have);
		return true;
	}
	if (scenario->kernel_below && kernel >= scenario->kernel_below) {
		version_text(scenario->kernel_below, want, sizeof(want));
		snprintf(run->result->reason, sizeof(run->result->reason),
			 "shows the behaviour of kernels before %s, this is %s", want, have);
		return true;
	}
	return false;
}

/* The router's NAT rules for the scenario's `nat`, as kube-proxy or a NAT
 * gateway would have them, in an inet table that covers both families. */
static int load_nat(struct run *run, char *err, size_t errsize)
{
	const struct host *router = find_host(run, "router");
	const struct host *server = find_host(run, "server");
	const struct host_iface *service = topology_service(run->topology);
	char ruleset[1024];

	switch (run->scenario->nat) {
	case NAT_NONE:
		return 0;
	case NAT_DNAT:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain prerouting {\n"
			 "type nat hook prerouting priority -100; policy accept;\n"
			 "ip daddr %s dnat ip to %s\n"
			 "ip6 daddr %s dnat ip6 to %s\n"
			 "}\n}\n", service->addr4, server->addr4, service->addr6, server->addr6);
		break;
	case NAT_SNAT:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain postrouting {\n"
			 "type nat hook postrouting priority 100; policy accept;\n"
			 "oifname \"%s\" meta nfproto ipv4 snat ip to %s\n"
			 "oifname \"%s\" meta nfproto ipv6 snat ip6 to %s\n"
			 "}\n}\n", router->ifaces[1].ifname, router->ifaces[1].addr4,
			 router->ifaces[1].ifname, router->ifaces[1].addr6);
		break;
	case NAT_MASQUERADE:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain postrouting {\n"
			 "type nat hook postrouting priority 100; policy accept;\n"
			 "oifname \"%s\" masquerade\n"
			 "}\n}\n", router->ifaces[1].ifname);
		break;
	}
	return netns_nft_load(router->ns, ruleset, err, errsize);
}

/* The wire is captured where packets cross more than one link (routed) or
 * where the scenario asks about it: capture is cheap to open, not to close. */
static bool needs_wire(const struct run *run)
{
	size_t i;

	bool routed = strcmp(run->scenario->topology, "routed") == 0;

	for (i = 0; i < run->scenario->n_steps; i++) {
		const struct step *step = &run->scenario->steps[i];

		if (step->kind == STEP_EXPECT && step->expect.kind == EXPECT_WIRE)
			return true;
		/* A flood would be a million copies to keep: not unless asked. */
		if (step->kind == STEP_FLOOD)
			routed = false;
	}
	return run->options->pcap_dir || routed;
}

static int open_wire(struct run *run, char *err, size_t errsize)
{
	struct netns *namespaces[RUN_HOSTS_MAX];
	const char *names[RUN_HOSTS_MAX];
	size_t i, n = topology_host_count(run->topology);

	for (i = 0; i < n && i < RUN_HOSTS_MAX; i++) {
		namespaces[i] = topology_host_at(run->topology, i)->ns;
		names[i] = topology_host_at(run->topology, i)->name;
	}
	run->wire = wire_open(namespaces, names, i, err, errsize);
	return run->wire ? 0 : -1;
}

/* Set up the topology and the observer; a failure here is a skip when the
 * machine cannot do it at all (not root, no netfilter), else a failure. */
static int set_up(struct run *run)
{
	struct run_result *result = run->result;
	enum topology_kind kind;
	char err[1024] = "";
	size_t i;

	if (kernel_excluded(run)) {
		result->outcome = OUTCOME_SKIP;
		return -1;
	}
	if (geteuid() != 0) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason),
			 "not root: ctlab needs CAP_NET_ADMIN to make namespaces");
		return -1;
	}
	if (topology_kind_parse(run->scenario->topology, &kind) < 0) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "unknown topology %s",
			 run->scenario->topology);
		return -1;
	}
	run->topology = topology_new(kind);
	if (!run->topology) {
		result->outcome = errno == EPERM || errno == EOPNOTSUPP ? OUTCOME_SKIP : OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "cannot build topology %s: %s",
			 run->scenario->topology, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(observing_hosts) / sizeof(observing_hosts[0]); i++)
		if (strcmp(observing_hosts[i].topology, run->scenario->topology) == 0)
			run->observing_host = find_host(run, observing_hosts[i].observing_host);
	describe_hosts(run);
	run->observer = observer_new(run->observing_host->ns, err, sizeof(err));
	if (!run->observer) {
		/* Conntrack, nf_tables or NFLOG missing from this kernel. */
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason), "kernel lacks what is needed: %s",
			 err);
		return -1;
	}
	if (load_nat(run, err, sizeof(err)) < 0) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason), "cannot load NAT rules: %s", err);
		return -1;
	}
	/* The kernel log is the host's: mark where this run begins in it. */
	run->kmsg_marked = kmsg_mark(&run->kmsg_since) == 0;
	if (needs_wire(run) && open_wire(run, err, sizeof(err)) < 0) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "wire capture: %s", err);
		return -1;
	}
	if (run->options->keep)
		keep_namespaces(run);
	return 0;
}

static void tear_down(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_raw; i++)
		close(run->raw[i].fd);
	for (i = 0; i < SCENARIO_CONNS_MAX; i++) {
		if (run->conns[i].client_fd >= 0)
			close(run->conns[i].client_fd);
		if (run->conns[i].server_fd >= 0)
			close(run->conns[i].server_fd);
	}
	for (i = 0; i < run->n_listeners; i++)
		close(run->listeners[i].fd);
	wire_free(run->wire);
	observer_free(run->observer);
	topology_free(run->topology);
}

static int compare_wire_time(const void *a, const void *b)
{
	const struct wire_record *x = a, *y = b;

	if (x->when.tv_sec != y->when.tv_sec)
		return x->when.tv_sec < y->when.tv_sec ? -1 : 1;
	if (x->when.tv_nsec != y->when.tv_nsec)
		return x->when.tv_nsec < y->when.tv_nsec ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The wire in time order over all links (each host's capture is in order on
 * its own), and as a pcapng file when asked. */
static void keep_wire(struct run *run)
{
	struct run_result *result = run->result;
	size_t i, n;

	if (!run->wire)
		return;
	wire_poll(run->wire, 0);
	n = wire_count(run->wire);
	result->wire = calloc(n ? n : 1, sizeof(*result->wire));
	if (!result->wire)
		return;
	for (i = 0; i < n; i++) {
		const struct wire_packet *packet = wire_at(run->wire, i);
		struct wire_record *record = &result->wire[i];

		record->index = i;
		snprintf(record->host, sizeof(record->host), "%s", packet->host);
		snprintf(record->ifname, sizeof(record->ifname), "%s", packet->ifname);
		record->outgoing = packet->outgoing;
		record->when = packet->when;
		record->packet = packet->packet;
	}
	qsort(result->wire, n, sizeof(*result->wire), compare_wire_time);
	for (i = 0; i < n; i++)
		result->wire[i].index = i;
	result->n_wire = n;
	if (run->options->pcap_dir) {
		char path[4096], *c;

		snprintf(path, sizeof(path), "%s/%s.pcapng", run->options->pcap_dir, result->name);
		for (c = path + strlen(run->options->pcap_dir) + 1; *c; c++)
			if (*c == '/')
				*c = '-';
		if (wire_write_pcapng(run->wire, path) < 0)
			fprintf(stderr, "ctlab: writing %s: %s\n", path, strerror(errno));
	}
}

/* The conntrack settings that decide the verdicts, as the run left them. */
static void keep_sysctls(struct run *run)
{
	static const char *const keys[] = {
		"net.netfilter.nf_conntrack_tcp_be_liberal",
		"net.netfilter.nf_conntrack_tcp_loose",
		"net.netfilter.nf_conntrack_tcp_ignore_invalid_rst",
		"net.netfilter.nf_conntrack_tcp_max_retrans",
		"net.netfilter.nf_conntrack_checksum",
		"net.netfilter.nf_conntrack_log_invalid",
		"net.netfilter.nf_conntrack_max",
		"net.netfilter.nf_conntrack_buckets",
	};
	struct run_result *result = run->result;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && result->n_sysctls < RUN_SYSCTLS_MAX; i++) {
		struct run_sysctl *sysctl = &result->sysctls[result->n_sysctls];

		if (netns_sysctl_read(run->observing_host->ns, keys[i], sysctl->value,
				      sizeof(sysctl->value)) < 0)
			continue;
		sysctl->key = keys[i];
		result->n_sysctls++;
	}
}

/* The connections as the reports name them. */
static void keep_conns(struct run *run)
{
	struct run_result *result = run->result;
	size_t i;

	for (i = 0; i < run->scenario->n_conns && i < SCENARIO_CONNS_MAX; i++) {
		const struct conn *conn = &run->conns[i];
		struct run_conn *out = &result->conns[i];

		snprintf(out->name, sizeof(out->name), "%s", run->scenario->conns[i]);
		out->protocol = conn->protocol;
		if (conn->client)
			snprintf(out->client, sizeof(out->client), "%s", conn->client->name);
		if (conn->server)
			snprintf(out->server, sizeof(out->server), "%s", conn->server->name);
		out->client_addr = conn->client_addr;
		out->client_port = conn->client_port;
		out->dialed_addr = conn->dialed_addr;
		out->dialed_port = conn->dialed_port;
		out->server_addr = conn->server_addr;
		out->server_port = conn->server_port;
		out->peer_addr = conn->peer_addr;
		out->peer_port = conn->peer_port;
		out->client_error = conn->client_error ? conn->client_error :
				    conn->client_fd >= 0 ? sock_pending_error(conn->client_fd) : 0;
		out->server_error = conn->server_error ? conn->server_error :
				    conn->server_fd >= 0 ? sock_pending_error(conn->server_fd) : 0;
	}
	result->n_conns = i;
}

/* Every RST on the wire with what caused it: the story's punch line. */
static void locate_chains(struct run_result *result)
{
	size_t i, n_rst = 0;

	for (i = 0; i < result->n_wire; i++)
		n_rst += result->wire[i].packet.protocol == IPPROTO_TCP &&
			 (result->wire[i].packet.flags & TCP_FLAG_RST);
	if (!n_rst)
		return;
	result->chains = calloc(n_rst, sizeof(*result->chains));
	if (result->chains)
		result->n_chains = chain_locate(result, result->chains, n_rst);
}

static void keep_packets(struct run *run)
{
	struct run_result *result = run->result;
	size_t i, n;

	observer_poll(run->observer, 0);
	n = observer_count(run->observer);
	result->packets = calloc(n ? n : 1, sizeof(*result->packets));
	if (!result->packets)
		return;
	for (i = 0; i < n; i++)
		result->packets[i] = *observer_at(run->observer, i);
	result->n_packets = n;
}

static void name_run(const struct scenario *scenario, int variant, int family,
		     struct run_result *result)
{
	if (variant >= 0)
		snprintf(result->name, sizeof(result->name), "%s/%s/%s", scenario->name,
			 scenario->variants[variant], family_name(family));
	else
		snprintf(result->name, sizeof(result->name), "%s/%s", scenario->name,
			 family_name(family));
}

/*
 * A run that fills a table has the machine to itself: the kernel log it reads
 * is the host's, and it measures how fast the kernel fills a table.  Others
 * run side by side.
 */
static pthread_rwlock_t machine_lock = PTHREAD_RWLOCK_INITIALIZER;

static bool needs_machine(const struct scenario *scenario)
{
	size_t i;

	for (i = 0; i < scenario->n_steps; i++) {
		const struct step *step = &scenario->steps[i];

		if (step->kind == STEP_FLOOD || step->kind == STEP_FILL ||
		    (step->kind == STEP_EXPECT && step->expect.kind == EXPECT_KMSG))
			return true;
	}
	return false;
}

static void engine_run_locked(const struct scenario *scenario, int variant, int family,
			      const struct engine_options *options, struct run_result *result);

void engine_run(const struct scenario *scenario, int variant, int family,
		const struct engine_options *options, struct run_result *result)
{
	if (needs_machine(scenario))
		pthread_rwlock_wrlock(&machine_lock);
	else
		pthread_rwlock_rdlock(&machine_lock);
	engine_run_locked(scenario, variant, family, options, result);
	pthread_rwlock_unlock(&machine_lock);
}

static void engine_run_locked(const struct scenario *scenario, int variant, int family,
			      const struct engine_options *options, struct run_result *result)
{
	struct run run = {
		.scenario = scenario, .options = options, .family = family, .variant = variant,
		.result = result,
	};
	uint32_t kernel = engine_kernel_version();
	struct timespec start;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < SCENARIO_CONNS_MAX; i++)
		run.conns[i].client_fd = run.conns[i].server_fd = -1;
	memset(result, 0, sizeof(*result));
	result->scenario = scenario;
	result->family = family;
	result->variant = variant;
	name_run(scenario, variant, family, result);
	result->steps = calloc(scenario->n_steps ? scenario->n_steps : 1, sizeof(*result->steps));
	if (!result->steps) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "out of memory");
		return;
	}
	if (set_up(&run) < 0)
		goto out_tear_down;

	for (i = 0; i < scenario->n_steps; i++) {
		const struct step *step = &scenario->steps[i];
		struct step_result *step_result = &result->steps[i];
		int rc;

		observer_poll(run.observer, 0);
		*step_result = (struct step_result){ .step = step, .sent_packet = -1, .passed = true,
						     .first_packet = observer_count(run.observer) };
		result->n_steps = i + 1;
		if (!condition_holds(&step->when, variant,
				     family == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6, kernel)) {
			step_result->skipped = true;
			step_result->end_packet = step_result->first_packet;
			continue;
		}
		rc = do_step(&run, step, step_result);
		observer_poll(run.observer, 0);
		step_result->end_packet = observer_count(run.observer);
		if (!step_result->passed && !result->reason[0])
			snprintf(result->reason, sizeof(result->reason), "%s:%d:%d: %s: %s",
				 scenario->path, step->pos.line, step->pos.column, step->text,
				 step_result->message);
		if (rc < 0) {
			result->failures++;
			break;
		}
	}
	result->outcome = result->failures ? OUTCOME_FAIL : OUTCOME_PASS;
	keep_packets(&run);
	keep_wire(&run);
	keep_conns(&run);
	keep_sysctls(&run);
	locate_chains(result);

out_tear_down:
	tear_down(&run);
	result->seconds = seconds_since(&start);
}

void run_result_free(struct run_result *result)
{
	free(result->steps);
	free(result->packets);
	free(result->wire);
	free(result->chains);
	result->steps = NULL;
	result->packets = NULL;
	result->wire = NULL;
	result->chains = NULL;
}
