/* world — a run's world as its steps see it: hosts and their addresses, the
 * connections and each end's view of them, expression values, and waiting for
 * what the observer saw.  Below the steps and the checks; engine.c, the
 * lifecycle, sits above them all. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "base/base.h"
#include "run.h"

const union inet_addr *host_addr(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? (const union inet_addr *)&host->in4
				      : (const union inet_addr *)&host->in6;
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

const union inet_addr *iface_addr(const struct run *run, const struct host_iface *iface)
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

const char *iface_facing(const struct run *run, const struct host *host, const struct host *peer)
{
	for (size_t i = 0; i < host->iface_count; i++)
		for (size_t j = 0; j < peer->iface_count; j++)
			if (host->ifaces[i].ifname &&
			    same_link(run->family, iface_addr(run, &host->ifaces[i]),
				      iface_addr(run, &peer->ifaces[j])))
				return host->ifaces[i].ifname;
	return NULL;
}

bool host_is_muted(const struct run *run, const struct host *host)
{
	for (size_t i = 0; i < run->n_muted; i++)
		if (run->muted[i] == host)
			return true;
	return false;
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

int conn_server_view(struct conn *conn)
{
	struct sockaddr_storage name;
	socklen_t len = sizeof(name);

	/* What the server sees: its own name, and a peer NAT may have changed. */
	if (getsockname(conn->server_fd, (struct sockaddr *)&name, &len) < 0)
		return -errno;
	sockaddr_split(&name, &conn->server_addr, &conn->server_port);
	len = sizeof(name);
	if (getpeername(conn->server_fd, (struct sockaddr *)&name, &len) < 0)
		return -errno;
	sockaddr_split(&name, &conn->peer_addr, &conn->peer_port);
	return 0;
}

int conn_accept(struct run *run, struct conn *conn)
{
	int fd;

	if (conn->server_fd >= 0 || conn->accept_fd < 0)
		return 0;
	fd = sock_accept(conn->accept_fd, run->options->timeout_ms);
	if (fd < 0)
		return fd;
	conn->accept_fd = -1;
	conn->server_fd = fd;
	return conn_server_view(conn);
}

int *endpoint_fd(struct run *run, const struct endpoint *endpoint)
{
	struct conn *conn = &run->conns[endpoint->conn];

	if (endpoint->side == SIDE_SERVER)
		conn_accept(run, conn);	/* a failure leaves the fd at -1, which says it */
	return endpoint->side == SIDE_CLIENT ? &conn->client_fd : &conn->server_fd;
}

int *endpoint_error(struct run *run, const struct endpoint *endpoint)
{
	struct conn *conn = &run->conns[endpoint->conn];

	return endpoint->side == SIDE_CLIENT ? &conn->client_error : &conn->server_error;
}

/* A scripted server's numbers are its peer's, mirrored: it sends what the
 * client's socket expects next and acknowledges what the client sent. */
static int mirrored_live(struct run *run, struct conn *conn, struct tcp_live *live)
{
	struct tcp_live client;
	int rc = conn_live(run, conn, true, &client);

	if (rc < 0)
		return rc;
	*live = (struct tcp_live){
		.snd_nxt = client.rcv_nxt, .rcv_nxt = client.snd_nxt,
		.rcv_wnd = client.snd_wnd < 65535 ? client.snd_wnd : 65535,
		.snd_wnd = client.rcv_wnd, .local_port = client.remote_port,
		.remote_port = client.local_port,
	};
	return 0;
}

int conn_live(struct run *run, struct conn *conn, bool client, struct tcp_live *live)
{
	struct tcp_live *cache = client ? &conn->client_live : &conn->server_live;
	bool *known = client ? &conn->client_live_known : &conn->server_live_known;
	int fd, rc;

	if (!client && conn->scripted_server)
		return mirrored_live(run, conn, live);
	if (!client)
		conn_accept(run, conn);
	fd = client ? conn->client_fd : conn->server_fd;
	rc = fd >= 0 ? sock_tcp_live(fd, live) : -ENOTCONN;

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

/* The last TSval an end of a connection received: that of the newest packet
 * with a timestamp the observer saw from its peer, -ENODATA if none. */
static int last_tsval_received(struct run *run, const struct conn *conn, bool client,
			       uint32_t *tsval)
{
	union inet_addr src, dst;
	uint16_t sport, dport;
	size_t len = run->family == AF_INET ? sizeof(src.v4) : sizeof(src.v6);

	/* The peer's packets, addressed as the peer sends them. */
	conn_view(conn, !client, &src, &sport, &dst, &dport);
	for (size_t i = observer_count(run->observer); i-- > 0;) {
		const struct packet_summary *packet = &observer_at(run->observer, i)->packet;

		if (packet->protocol == IPPROTO_TCP && packet->timestamp && packet->sport == sport &&
		    packet->dport == dport && memcmp(&packet->src, &src, len) == 0 &&
		    memcmp(&packet->dst, &dst, len) == 0) {
			*tsval = packet->ts_val;
			return 0;
		}
	}
	return -ENODATA;
}

/* The live value a term names: c.client.nxt, c.server.win, c.client.tsval… */
static int conn_value(struct run *run, const struct expr_term *term, uint64_t *value)
{
	struct conn *conn = &run->conns[term->conn];
	bool client = term->side == SIDE_CLIENT;
	struct tcp_live live;
	uint32_t tsval;
	int rc, fd;

	switch (term->value) {
	case CONN_TSVAL:
		if (!client && conn->scripted_server)
			return -ENOTSOCK;
		if (!client)
			conn_accept(run, conn);
		fd = client ? conn->client_fd : conn->server_fd;
		rc = fd >= 0 ? sock_tcp_tsval(fd, &tsval) : -ENOTCONN;
		break;
	case CONN_TSECR:
		rc = last_tsval_received(run, conn, client, &tsval);
		break;
	default:
		rc = conn_live(run, conn, client, &live);
		tsval = term->value == CONN_NXT ? live.snd_nxt : live.rcv_wnd;
		break;
	}
	if (rc < 0)
		return rc;
	*value = tsval;
	return 0;
}

/* The field a term names of a packet an expectation named. */
static int packet_value(const struct run *run, const struct expr_term *term, uint64_t *value)
{
	const struct named_packet *named = &run->named[term->packet];
	const struct packet_summary *packet = &named->packet;

	if (!named->seen)
		return -ESRCH;
	switch (term->field) {
	case PACKET_SEQ: *value = packet->seq; return 0;
	case PACKET_ACK: *value = packet->ack; return 0;
	case PACKET_WIN: *value = packet->window; return 0;
	case PACKET_SPORT: *value = packet->sport; return 0;
	case PACKET_DPORT: *value = packet->dport; return 0;
	case PACKET_TSVAL: *value = packet->ts_val; return 0;
	case PACKET_TSECR: *value = packet->ts_ecr; return 0;
	case PACKET_LEN: *value = packet->payload_len; return 0;
	case PACKET_VALUE_COUNT: break;
	}
	return -EINVAL;
}

const char *eval_strerror(int rc)
{
	if (rc == -ESRCH)
		return "a named packet that was not seen (its expectation failed or was skipped)";
	if (rc == -ENOTSOCK)
		return "a scripted end has no socket clock (name its packets with as NAME and use "
		       "NAME.tsval)";
	if (rc == -ENODATA)
		return "no packet with a timestamp came from the other end yet";
	if (rc == -EPERM)
		return "the socket's numbers cannot be read in its state (SYN_SENT: name the SYN "
		       "with expect packet … as NAME and use NAME.seq)";
	return strerror(-rc);
}

int eval_expr(struct run *run, const struct expr *expr, uint64_t *value)
{
	uint64_t sum = 0, term_value;
	size_t i;
	int rc;

	for (i = 0; i < expr->n_terms; i++) {
		const struct expr_term *term = &expr->terms[i];

		term_value = term->number;
		if (term->is_conn || term->is_packet) {
			rc = term->is_conn ? conn_value(run, term, &term_value)
					   : packet_value(run, term, &term_value);
			if (rc < 0)
				return rc;
		}
		sum += term->sign < 0 ? -term_value : term_value;
	}
	*value = sum;
	return 0;
}

const struct observed *wait_packet(struct run *run, size_t from, packet_filter filter,
				   const void *arg)
{
	return wait_packet_for(run, from, filter, arg, run->options->timeout_ms);
}

const struct observed *wait_packet_for(struct run *run, size_t from, packet_filter filter,
				       const void *arg, int timeout_ms)
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
		left = timeout_ms - ms_since(&start);
		if (left <= 0 || observer_poll(run->observer, (int)left) < 0)
			return NULL;
	}
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

/* The original tuple of a connection's entry, or of the last crafted packet's. */
int entry_tuple(struct run *run, int conn_index, struct ct_tuple *tuple,
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

int lookup_entry(struct run *run, int conn_index, struct ct_entry *entry,
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

int read_number(struct netns *ns, const char *key, uint64_t *value)
{
	char text[32];
	int rc = netns_sysctl_read(ns, key, text, sizeof(text));

	if (rc < 0)
		return rc;
	*value = strtoull(text, NULL, 10);
	return 0;
}
