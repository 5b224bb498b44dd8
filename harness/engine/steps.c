/* The steps that act: sysctls, nft, sockets, crafted packets, ct entries, floods, fills. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"
#include "run.h"
#include "base/base.h"

/* ---- Waiting for what the kernel did ---- */

/* Before a step that sends: remember the counters and where its packets start. */
/* Every host's MIB counters, for expect netstat after the step. */
static int keep_mibs(struct run *run, struct step_result *result)
{
	size_t i, n = topology_host_count(run->topology);
	int rc;

	if (!run->mib_before) {
		run->mib_before = calloc(n, sizeof(*run->mib_before));
		if (!run->mib_before)
			return step_error(result, "out of memory");
		run->n_mib = n;
	}
	for (i = 0; i < run->n_mib; i++) {
		const struct host *host = topology_host_at(run->topology, i);

		rc = mib_read(host->ns, &run->mib_before[i]);
		if (rc < 0)
			return step_error(result, "reading %s's netstat counters: %s", host->name,
					  strerror(-rc));
	}
	return 0;
}

static int begin_sending(struct run *run, struct step_result *result)
{
	int rc = observer_stats(run->observer, &run->stats_before);

	if (rc < 0)
		return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
	if (run->scenario->uses_netstat && keep_mibs(run, result) < 0)
		return -1;
	if (!run->counters_started) {
		run->stats_start = run->stats_before;
		if (run->mib_before) {
			run->mib_start = malloc(run->n_mib * sizeof(*run->mib_start));
			if (!run->mib_start)
				return step_error(result, "out of memory");
			memcpy(run->mib_start, run->mib_before, run->n_mib * sizeof(*run->mib_start));
		}
		run->counters_started = true;
	}
	observer_poll(run->observer, 0);
	run->last_from = observer_count(run->observer);
	run->last = NULL;
	if (run->wire) {
		wire_poll(run->wire, 0);
		run->wire_from = wire_count(run->wire);
	}
	return 0;
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

int do_sysctl(struct run *run, const struct sysctl_step *sysctl, struct step_result *result)
{
	const struct host *host = find_host(run, sysctl->host);
	int rc = netns_sysctl_write(host->ns, sysctl->key, sysctl->value);

	/* Global keys are read-only (or absent) inside a namespace: say so. */
	if (rc == -EACCES)
		return step_error(result, "cannot set %s=%s on %s: %s: a global setting, read-only "
				  "inside a namespace (ctlab changes one only with an explicit flag, "
				  "such as --ct-max)", sysctl->key, sysctl->value, host->name,
				  strerror(-rc));
	if (rc == -ENOENT)
		return step_error(result, "cannot set %s=%s on %s: no such per-namespace sysctl "
				  "(global ones are not there inside a namespace)", sysctl->key,
				  sysctl->value, host->name);
	if (rc < 0)
		return step_error(result, "cannot set %s=%s on %s: %s", sysctl->key, sysctl->value,
				  host->name, strerror(-rc));
	return 0;
}

/*
 * Keeps @ruleset, loaded on the observing host, in the run's result: what a
 * replay of the host's capture needs beside its NAT. Out of memory it is
 * left out, which only a replay misses.
 */
static void keep_observing_rules(struct run *run, const char *ruleset)
{
	char **rules = &run->result->observing_rules;
	size_t old = *rules ? strlen(*rules) : 0, add = strlen(ruleset);
	char *grown = realloc(*rules, old + add + 2);

	if (!grown)
		return;
	memcpy(grown + old, ruleset, add);
	grown[old + add] = '\0';
	if (add && ruleset[add - 1] != '\n')
		strcat(grown, "\n");
	*rules = grown;
}

int do_nft(struct run *run, const struct nft_step *nft, struct step_result *result)
{
	const struct host *host = find_host(run, nft->host);
	char err[1024] = "";

	if (netns_nft_load(host->ns, nft->ruleset, err, sizeof(err)) < 0) {
		/* nft quotes the ruleset back: show its lines, never let them act. */
		safetext_escape(err, sizeof(err), true);
		return step_error(result, "nft on %s: %s", host->name, err);
	}
	if (host == run->observing_host)
		keep_observing_rules(run, nft->ruleset);
	return 0;
}

static struct sock_options sock_options_of(const struct sockopt_set *set)
{
	return (struct sock_options){ .maxseg = set->maxseg, .rcvbuf = (int)set->rcvbuf,
				      .nodelay = set->nodelay };
}

static struct listener *ensure_listener(struct run *run, const struct host *host, uint16_t port,
					int backlog, const struct sockopt_set *set,
					struct step_result *result)
{
	struct sock_options options = sock_options_of(set);
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
	fd = sock_listen(host->ns, run->family, host_addr(run, host), port, backlog, &options);
	if (fd < 0) {
		step_error(result, "cannot listen on %s:%u: %s", host->name, port, strerror(-fd));
		return NULL;
	}
	listener = &run->listeners[run->n_listeners++];
	*listener = (struct listener){ .host = host, .port = port, .fd = fd };
	return listener;
}

int do_listen(struct run *run, const struct listen_step *listen, struct step_result *result)
{
	return ensure_listener(run, find_host(run, listen->host), listen->port, listen->backlog,
			       &listen->options, result) ? 0 : -1;
}

int do_link(struct run *run, const struct link_step *link, struct step_result *result)
{
	const struct host *ends[2] = { find_host(run, link->a), find_host(run, link->b) };
	const struct netem_spec netem = {
		.delay_us = link->delay_ms * 1000, .loss = link->loss, .reorder = link->reorder,
	};

	for (int i = 0; i < 2; i++) {
		const char *ifname = iface_facing(run, ends[i], ends[!i]);
		int rc;

		if (!ifname)
			return step_error(result, "%s has no link to %s", ends[i]->name,
					  ends[!i]->name);
		rc = link->mtu ? netns_link_set_mtu(ends[i]->ns, ifname, link->mtu) : 0;
		if (rc < 0)
			return step_error(result, "mtu %u on %s/%s: %s", link->mtu, ends[i]->name,
					  ifname, strerror(-rc));
		rc = link->netem ? netns_link_set_netem(ends[i]->ns, ifname, &netem) : 0;
		if (rc < 0)
			return step_error(result, "netem on %s/%s: %s", ends[i]->name, ifname,
					  strerror(-rc));
	}
	return 0;
}

/*
 * What a muted host's kernel receives is dropped before its conntrack and its
 * sockets see it: TCP, UDP and ICMP echo (ARP and neighbour discovery go on,
 * so packets still reach it, and its wire capture still shows them).
 */
static const char mute_ruleset[] =
	"table inet ctlab_mute {\n"
	"\tchain prerouting {\n"
	"\t\ttype filter hook prerouting priority -400; policy accept;\n"
	"\t\tmeta l4proto { tcp, udp } drop\n"
	"\t\ticmp type echo-request drop\n"
	"\t\ticmpv6 type echo-request drop\n"
	"\t}\n"
	"}\n";

int do_mute(struct run *run, const struct mute_step *mute, struct step_result *result)
{
	const struct host *host = find_host(run, mute->host);
	char err[1024] = "";

	if (host_is_muted(run, host))
		return 0;
	if (run->n_muted == SCENARIO_MUTED_MAX)
		return step_error(result, "more than %d muted hosts", SCENARIO_MUTED_MAX);
	if (netns_nft_load(host->ns, mute_ruleset, err, sizeof(err)) < 0)
		return step_error(result, "muting %s: %s", host->name, err);
	run->muted[run->n_muted++] = host;
	return 0;
}

/* "{ 198.19.0.254, 198.18.0.254 }": NAME's addresses in the run's family. */
static size_t bypass_addrs(struct run *run, const char *name, char *buf, size_t size)
{
	const struct host *host;
	size_t i, len;

	if (strcmp(name, SERVICE_HOST) == 0) {
		const struct host_iface *service = topology_service(run->topology);

		return (size_t)snprintf(buf, size, "%s", run->family == AF_INET ? service->addr4
										 : service->addr6);
	}
	host = topology_host(run->topology, name);
	len = (size_t)snprintf(buf, size, "{ ");
	for (i = 0; i < host->iface_count && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
					run->family == AF_INET ? host->ifaces[i].addr4
							       : host->ifaces[i].addr6);
	if (len < size)
		len += (size_t)snprintf(buf + len, size - len, " }");
	return len;
}

/* "ip saddr { … } ip daddr { … } tcp flags == 0x12 ACTION": @path's packets.
 * @after_dnat: the rule sits after the DNAT, so a packet to the service is
 * known by its entry's original destination. */
static void path_rule(struct run *run, const struct packet_path *path, bool after_dnat,
		      const char *action, char *rule, size_t size)
{
	const char *daddr = after_dnat && strcmp(path->dst, SERVICE_HOST) == 0 ? "ct original " : "";
	const char *ip = run->family == AF_INET ? "ip" : "ip6";
	char src[256], dst[256], match[64] = "";

	bypass_addrs(run, path->src, src, sizeof(src));
	bypass_addrs(run, path->dst, dst, sizeof(dst));
	if (path->has_flags && path->flags_contain)
		snprintf(match, sizeof(match), "tcp flags & 0x%02x == 0x%02x ", path->flags,
			 path->flags);
	else if (path->has_flags)
		snprintf(match, sizeof(match), "tcp flags == 0x%02x ", path->flags);
	else if (path->has_protocol)
		snprintf(match, sizeof(match), "meta l4proto %s ", protocol_name(path->protocol));
	snprintf(rule, size, "%s saddr %s %s%s daddr %s %s%s\n", ip, src, daddr, ip, dst, match,
		 action);
}

/*
 * A notrack rule on the observing host, in the raw hooks before conntrack:
 * the packets it matches are forwarded or delivered untracked, never NATed,
 * as if they had taken another path past this conntrack.
 */
int do_bypass(struct run *run, const struct packet_path *bypass, struct step_result *result)
{
	char rule[700], ruleset[1600], err[1024] = "";

	path_rule(run, bypass, false, "notrack", rule, sizeof(rule));
	snprintf(ruleset, sizeof(ruleset),
		 "table inet ctlab_bypass {\n"
		 "chain prerouting {\ntype filter hook prerouting priority raw; policy accept;\n%s}\n"
		 "chain output {\ntype filter hook output priority raw; policy accept;\n%s}\n"
		 "}\n", rule, rule);
	if (netns_nft_load(run->observing_host->ns, ruleset, err, sizeof(err)) < 0)
		return step_error(result, "bypass at %s: %s", run->observing_host->name, err);
	keep_observing_rules(run, ruleset);
	return 0;
}

/* The NFQUEUE queue ctlab's hold steps use in the observing namespace. */
#define HOLD_QUEUE	7
#define HOLD_TABLE	"ctlab_hold"
#define HOLD_CHAIN	"queue_held"

static const char *hold_table_family(const struct run *run)
{
	return run->family == AF_INET ? "ip" : "ip6";
}

/*
 * Queue the packets at the observing host's forward, input and output hooks
 * (filter priority, after conntrack and DNAT, before the entry is confirmed)
 * to a queue ctlab listens to: they wait there, their entry unconfirmed, and
 * a second packet of the same flow makes an entry of its own. The queueing
 * rule is nft's own, or xtables' NFQUEUE through nft_compat where nft has no
 * queue expression (CONFIG_NFT_QUEUE unset).
 */
int do_hold(struct run *run, const struct packet_path *hold, struct step_result *result)
{
	char rule[700], ruleset[2400], err[1024] = "";
	struct netns *ns = run->observing_host->ns;
	int rc;

	if (!run->hold) {
		run->hold = hold_open(ns, HOLD_QUEUE, &rc);
		if (!run->hold)
			return step_error(result, "NFQUEUE at %s: %s", run->observing_host->name,
					  strerror(-rc));
	}
	/* A release took the table away: a later hold makes it again. */
	if (!run->hold_table) {
		snprintf(ruleset, sizeof(ruleset), "table %s " HOLD_TABLE " {\n"
			 "chain " HOLD_CHAIN " {\nqueue num %d\n}\n}\n",
			 hold_table_family(run), HOLD_QUEUE);
		if (netns_nft_load(ns, ruleset, NULL, 0) < 0) {
			snprintf(ruleset, sizeof(ruleset), "table %s " HOLD_TABLE " {\n"
				 "chain " HOLD_CHAIN " {\n}\n}\n", hold_table_family(run));
			if (netns_nft_load(ns, ruleset, err, sizeof(err)) < 0)
				return step_error(result, "hold at %s: %s", run->observing_host->name,
						  err);
			rc = netns_nft_queue_compat(ns, run->family, HOLD_TABLE, HOLD_CHAIN,
						    HOLD_QUEUE);
			if (rc < 0)
				return step_error(result, "hold at %s: the kernel queues nothing "
						  "(neither nft's queue nor xtables' NFQUEUE): %s",
						  run->observing_host->name, strerror(-rc));
		}
		run->hold_table = true;
	}
	path_rule(run, hold, !hold->before_conntrack, "jump " HOLD_CHAIN, rule, sizeof(rule));
	if (hold->before_conntrack)
		/* Before raw's notrack and conntrack's own hook: not tracked yet. */
		snprintf(ruleset, sizeof(ruleset),
			 "table %s " HOLD_TABLE " {\n"
			 "chain early_prerouting {\ntype filter hook prerouting priority -350; "
			 "policy accept;\n%s}\n"
			 "chain early_output {\ntype filter hook output priority -350; "
			 "policy accept;\n%s}\n"
			 "}\n", hold_table_family(run), rule, rule);
	else
		snprintf(ruleset, sizeof(ruleset),
			 "table %s " HOLD_TABLE " {\n"
			 "chain forward {\ntype filter hook forward priority filter; policy accept;\n%s}\n"
			 "chain input {\ntype filter hook input priority filter; policy accept;\n%s}\n"
			 "chain output {\ntype filter hook output priority filter; policy accept;\n%s}\n"
			 "}\n", hold_table_family(run), rule, rule, rule);
	if (netns_nft_load(ns, ruleset, err, sizeof(err)) < 0)
		return step_error(result, "hold at %s: %s", run->observing_host->name, err);
	return 0;
}

/* Wait for the held packets, stop holding, then let them go in their order. */
int do_release(struct run *run, const struct release_step *release, struct step_result *result)
{
	char err[1024] = "", ruleset[64];
	size_t held;
	int rc;

	if (!run->hold)
		return step_error(result, "nothing is held (no hold step ran)");
	rc = hold_wait(run->hold, release->count, run->options->timeout_ms);
	held = hold_count(run->hold);
	if (rc == 0 || rc == -ETIMEDOUT) {
		int released = hold_release(run->hold);

		if (rc == 0)
			rc = released;
	}
	/* Only now: taking the hooks away drops what they still hold. */
	snprintf(ruleset, sizeof(ruleset), "delete table %s " HOLD_TABLE "\n", hold_table_family(run));
	if (netns_nft_load(run->observing_host->ns, ruleset, err, sizeof(err)) < 0)
		return step_error(result, "release at %s: %s", run->observing_host->name, err);
	run->hold_table = false;
	if (rc == -ETIMEDOUT)
		return step_error(result, "%zu of %" PRIu32 " packets held after %d ms", held,
				  release->count, run->options->timeout_ms);
	if (rc < 0)
		return step_error(result, "release at %s: %s", run->observing_host->name,
				  strerror(-rc));
	snprintf(result->message, sizeof(result->message), "released %zu held packet%s", held,
		 held == 1 ? "" : "s");
	return 0;
}

int do_sleep(struct run *run, const struct sleep_step *sleep, struct step_result *result)
{
	struct timespec left = { sleep->ms / 1000, (long)(sleep->ms % 1000) * 1000000 };

	(void)run;
	(void)result;
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
	return 0;
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
	/* Until the server's end hears from the client: the view without NAT. */
	conn->server_addr = conn->dialed_addr;
	conn->peer_addr = conn->client_addr;
	conn->peer_port = conn->client_port;
	conn->udp_server_connected = false;
	return 0;
}

/* The UDP server's end answers its peer: the one its first datagram came from
 * (sock_read connected it), or, if it speaks first, the client as it is
 * without NAT.  Its view of the connection follows. */
static int udp_server_peer(struct run *run, struct conn *conn, int fd, bool read_done)
{
	int rc = 0;

	if (conn->udp_server_connected)
		return 0;
	if (!read_done)
		rc = sock_udp_connect(fd, run->family, &conn->peer_addr, conn->peer_port);
	if (rc == 0) {
		conn->udp_server_connected = true;
		rc = conn_server_view(conn);
	}
	return rc;
}

static int connect_tcp(struct run *run, struct conn *conn, const struct connect_step *connect,
		       struct step_result *result)
{
	struct sock_options options = sock_options_of(&connect->options);
	struct sockopt_set none = { 0 };
	struct listener *listener = NULL;
	struct tcp_live live;
	uint16_t port = connect->port;
	int fd, rc;

	conn->scripted_server = host_is_muted(run, conn->server);
	if (!conn->scripted_server) {
		listener = ensure_listener(run, conn->server, port, 0, &none, result);
		if (!listener)
			return -1;
	}
	fd = sock_connect(conn->client->ns, run->family, &conn->client_addr, connect->sport,
			  &conn->dialed_addr, port, connect->nowait ? -1 : run->options->timeout_ms,
			  &options, &conn->client_port);
	if (fd < 0)
		return step_error(result, "connect %s -> %s:%u: %s", conn->client->name,
				  conn->server->name, port, strerror(-fd));
	conn->client_fd = fd;
	if (connect->nowait) {
		/* Accepted when the server's end is first needed; a scripted
		 * server sees what the client dialed, through no NAT. */
		conn->accept_fd = listener ? listener->fd : -1;
		conn->server_addr = conn->dialed_addr;
		conn->server_port = port;
		conn->peer_addr = conn->client_addr;
		conn->peer_port = conn->client_port;
		return 0;
	}
	fd = sock_accept(listener->fd, run->options->timeout_ms);
	if (fd < 0)
		return step_error(result, "accept on %s:%u: %s", conn->server->name, port,
				  strerror(-fd));
	conn->server_fd = fd;
	rc = conn_live(run, conn, true, &live);
	if (rc < 0)
		return step_error(result, "reading the connection's sequence numbers: %s",
				  strerror(-rc));
	conn->client_port = live.local_port;
	rc = conn_server_view(conn);
	if (rc < 0)
		return step_error(result, "the server's socket name: %s", strerror(-rc));
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

int do_connect(struct run *run, const struct connect_step *connect,
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
					 : connect_tcp(run, conn, connect, result);
	if (rc < 0 && connect->may_fail) {
		/* The story is that it fails: keep why for expect socket, on the
		 * side that met it (an accept that timed out is the server's). */
		if (conn->client_fd >= 0)
			conn->server_error = errno_of_connect(result);
		else
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
	/* The handshake's last packet (the client's ACK) is "the last packet";
	 * with nowait, the SYN that starts it. */
	if (conn->protocol == PROTO_TCP) {
		struct endpoint client_end = { .conn = connect->conn, .side = SIDE_CLIENT };

		wait_endpoint_packet(run, &client_end, connect->nowait ? TCP_FLAG_SYN : TCP_FLAG_ACK,
				     false);
	}
	return 0;
}

int do_send(struct run *run, const struct send_step *send, struct step_result *result)
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

static const char *endpoint_name(const struct run *run, const struct endpoint *endpoint,
				 char *buf, size_t size)
{
	snprintf(buf, size, "%s.%s", run->scenario->conns[endpoint->conn],
		 endpoint->side == SIDE_CLIENT ? "client" : "server");
	return buf;
}

int do_socket(struct run *run, const struct socket_step *socket_step,
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
		if (!tcp && endpoint->side == SIDE_SERVER)
			rc = udp_server_peer(run, conn, *fd, false);
		if (rc == 0)
			rc = sock_write(*fd, socket_step->bytes, run->options->timeout_ms);
		if (rc == 0)
			wait_endpoint_packet(run, endpoint, 0, true);
		break;
	case SOCKET_READ:
		rc = sock_read(*fd, socket_step->bytes, run->options->timeout_ms);
		if (rc == 0 && !tcp && endpoint->side == SIDE_SERVER)
			rc = udp_server_peer(run, conn, *fd, true);
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
			conn_live(run, conn, endpoint->side == SIDE_CLIENT, &live);
		}
		rc = sock_close(*fd, socket_step->abort);
		*fd = -1;
		/* A close with data still unread is answered by the kernel with a RST
		 * instead of a FIN: wait for either. */
		if (rc == 0 && speaks)
			wait_endpoint_packet(run, endpoint, socket_step->abort ? TCP_FLAG_RST :
					     TCP_FLAG_FIN | TCP_FLAG_RST, false);
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
	/* A reset or a timeout is what some stories are about (may-fail): then it
	 * is remembered for `expect socket` and said, and the run goes on. */
	if (rc < 0) {
		*error = -rc;
		if (!socket_step->may_fail)
			return step_error(result, "%s: %s (add may-fail if the story expects it)",
					  name, strerror(-rc));
		snprintf(result->message, sizeof(result->message), "%s: %s", name, strerror(-rc));
	}
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

/* How long a flood or fill waits for dead namespaces' entries to go: while
 * their number falls, up to a bound. */
#define SETTLE_STALL_MS		10000
#define SETTLE_MAX_MS		600000

/* wait ct … gone waits out an entry's timer only if it is this short. */
#define CT_TIMER_WAIT_MAX_S	120

int do_ct(struct run *run, const struct ct_step *ct, struct step_result *result)
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
		/* Waiting for an entry to go is waiting for its own timer: as long as
		 * the timeout it shows (a short one), and -t beyond that. */
		if (ct->gone && entry.found && entry.timeout <= CT_TIMER_WAIT_MAX_S &&
		    timeout < ms_since(&start) + entry.timeout * 1000L + run->options->timeout_ms)
			timeout = ms_since(&start) + entry.timeout * 1000L + run->options->timeout_ms;
		if (ms_since(&start) >= timeout)
			break;
		nanosleep(&tick, NULL);
		if (stream && conn->client_fd >= 0)
			sock_write(conn->client_fd, 1, run->options->timeout_ms);
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

/*
 * Each SYN the router handled either made an entry, made one after evicting
 * others (early_drop counts them), or was dropped: so the count's change plus
 * early_drop's plus drop's reaches the number sent once all are handled.
 */
/* SYNs conntrack may never see on a loaded machine (a full backlog drops them
 * before it): 0.1 %, and a few. */
static uint32_t flood_slack(uint32_t sent)
{
	return sent / 1000 + 64;
}

/*
 * Every SYN the flood sent comes to the observing host's conntrack: a veth
 * that cannot hand a frame over (its peer's backlog full under load) says
 * ENOBUFS and the flood sends it again.  The observer counts them as they
 * pass the hook just before conntrack; the entry count is no measure (a full
 * table evicts entries, not every eviction counted), nor are the devices'
 * drop counters (they count the frames sent again).  Wait while that count
 * grows (ksoftirqd may be at the backlog for a while under load; the wait
 * scales with the work), until it reaches sent or stops growing for -t.
 * Returns how many did not come, or -1.
 */
static long wait_flood_seen(struct run *run, uint64_t seen_before, uint32_t sent)
{
	struct timespec still, tick = { 0, 2 * 1000 * 1000 };
	uint64_t seen, last = UINT64_MAX;

	clock_gettime(CLOCK_MONOTONIC, &still);
	for (;;) {
		if (observer_flood_seen(run->observer, &seen) < 0)
			return -1;
		seen -= seen_before;
		if (seen >= sent)
			return 0;
		if (seen != last) {
			last = seen;
			clock_gettime(CLOCK_MONOTONIC, &still);
		} else if (ms_since(&still) >= run->options->timeout_ms) {
			return (long)(sent - seen);
		}
		nanosleep(&tick, NULL);
	}
}

/*
 * Entries of namespaces freed by earlier runs (this process's or another's)
 * stay in the kernel's one hash table until a worker has destroyed them, up to
 * minutes after a full table: a fill then meets over-long chains (ENOSPC), a
 * flood is slowed.  Before either, wait while that number falls, until it is
 * below a quarter of max (what is left may be other runs' live entries).
 * Returns the seconds waited, 0 if none.
 */
static double wait_table_settled(struct run *run)
{
	struct timespec start, falling, tick = { 0, 20 * 1000 * 1000 };
	long entries, last = -1;
	uint64_t max = 0;

	if (read_number(run->observing_host->ns, "net.netfilter.nf_conntrack_max", &max) < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	falling = start;
	for (;;) {
		uint32_t own = 0;

		/* This run's own entries (a flood before this one) are not in the way. */
		entries = ctfill_host_entries();
		if (ctfill_count(run->observing_host->ns, &own) < 0)
			break;
		if (entries < 0 || (uint64_t)entries <= max / 4 + own ||
		    ms_since(&falling) >= SETTLE_STALL_MS || ms_since(&start) >= SETTLE_MAX_MS)
			break;
		if (last < 0 || entries < last) {
			last = entries;
			clock_gettime(CLOCK_MONOTONIC, &falling);
		}
		nanosleep(&tick, NULL);
	}
	return ms_since(&start) > 100 ? ms_since(&start) / 1000.0 : 0;
}

/* Adds " (waited N s …)" to a step's message when wait_table_settled did. */
static void note_settled(struct step_result *result, double waited)
{
	size_t len = strlen(result->message);

	if (waited > 0 && len < sizeof(result->message))
		snprintf(result->message + len, sizeof(result->message) - len,
			 " (after waiting %.1f s for the kernel to free earlier runs' entries)", waited);
}

/* count=N|max±N as a number: max is the global nf_conntrack_max now. */
static int table_count(struct run *run, const struct table_size *size, uint32_t *count,
		       struct step_result *result)
{
	uint64_t max = 0;
	int64_t value;
	int rc = size->of_max ? read_number(run->observing_host->ns,
					    "net.netfilter.nf_conntrack_max", &max) : 0;

	if (rc < 0)
		return step_error(result, "reading nf_conntrack_max: %s", strerror(-rc));
	value = table_size_value(size, max);
	if (value < 1 || value > TABLE_COUNT_MAX)
		return step_error(result, "count %" PRId64 " (from nf_conntrack_max %" PRIu64 ") is "
				  "not 1..%u", value, max, TABLE_COUNT_MAX);
	*count = (uint32_t)value;
	return 0;
}

int do_flood(struct run *run, const struct flood_step *flood, struct step_result *result)
{
	const struct host *src = find_host(run, flood->src);
	const struct host *gateway = strcmp(run->scenario->topology, "routed") == 0 ?
				     find_host(run, "router") : find_host(run, "server");
	struct progress progress = { .what = "flood" };
	struct flood_spec spec = {
		.family = run->family, .ns = src->ns, .ifname = src->ifname,
		.gateway_ns = gateway->ns, .gateway_ifname = gateway->ifname,
		.dport = flood->port, .first = run->flood_next,
		.threads = flood->threads, .method = FLOOD_METHOD_AUTO,
		.protocol = flood->udp ? IPPROTO_UDP : IPPROTO_TCP,
	};
	const char *what = flood->udp ? "datagrams" : "SYNs";
	struct flood_result sent = { 0 };
	union inet_addr src_addr;
	uint64_t seen_before;
	double settled;
	long missing;
	int rc;

	if (table_count(run, &flood->count, &spec.count, result) < 0)
		return -1;
	settled = wait_table_settled(run);
	progress.total = spec.count;
	route_addrs(run, src, flood->dst, &src_addr, &spec.dst);
	if (begin_sending(run, result) < 0)
		return -1;
	rc = observer_flood_seen(run->observer, &seen_before);
	if (rc < 0)
		return step_error(result, "reading the observer's flood counter: %s", strerror(-rc));
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	rc = flood_run(&spec, &sent, show_progress, &progress);
	end_progress(&progress);
	run->flood_next += spec.count;
	if (rc < 0)
		return step_error(result, "flood: %s after %u %s", strerror(-rc), sent.sent, what);
	/* Under load the kernel hands softirq work to ksoftirqd, so the router may
	 * still be at it: wait until every SYN came to conntrack, or nearly. */
	missing = wait_flood_seen(run, seen_before, sent.sent);
	if (missing < 0)
		return step_error(result, "reading the observer's flood counter: %s", strerror(errno));
	if (missing > flood_slack(sent.sent))
		return step_error(result, "only %ld of %u %s came to the router's conntrack (no "
				  "progress for %d ms)", (long)sent.sent - missing, sent.sent, what,
				  run->options->timeout_ms);
	snprintf(result->message, sizeof(result->message),
		 "%u %s sent in %.3f s (%.0f/s), %ld came to the router's conntrack after %.3f s",
		 sent.sent, what, sent.seconds, sent.seconds > 0 ? sent.sent / sent.seconds : 0.0,
		 (long)sent.sent - missing, seconds_since(&progress.start));
	note_settled(result, settled);
	return 0;
}

int do_fill(struct run *run, const struct fill_step *fill, struct step_result *result)
{
	const struct host *host = find_host(run, fill->host);
	struct progress progress = { .what = "fill" };
	struct ctfill_spec spec;
	uint32_t inserted = 0, count;
	double settled;
	int rc;

	if (table_count(run, &fill->count, &count, result) < 0)
		return -1;
	settled = wait_table_settled(run);
	progress.total = count;
	rc = ctfill_spec_flood(&spec, run->family, count);
	if (rc < 0)
		return step_error(result, "fill: %s", strerror(-rc));
	spec.timeout = fill->timeout ? fill->timeout : 3600;
	if (fill->udp) {
		spec.protocol = IPPROTO_UDP;
		spec.dport = CTFILL_UDP_DPORT;
	}
	if (begin_sending(run, result) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	rc = ctfill_insert(host->ns, &spec, &inserted, show_progress, &progress);
	end_progress(&progress);
	/* A table that is full before the count is reached is a story, not an error. */
	if (rc == -ENOSPC)
		return step_error(result, "fill: %s after %u entries: a hash chain of the kernel's "
				  "table grew too long (chaintoolong); the hash is shared by every "
				  "namespace, and dead namespaces' entries may still be in it",
				  strerror(-rc), inserted);
	if (rc < 0 && rc != -ENOMEM)
		return step_error(result, "fill: %s after %u entries", strerror(-rc), inserted);
	snprintf(result->message, sizeof(result->message), "%u ASSURED entries in %.3f s%s",
		 inserted, seconds_since(&progress.start), rc == -ENOMEM ? " (table full)" : "");
	note_settled(result, settled);
	return 0;
}
