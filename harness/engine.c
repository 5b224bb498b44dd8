#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "netns.h"
#include "sock.h"

#define LISTENERS_MAX	16
#define PACKET_MAX	65600

struct listener {
	const struct host *host;
	uint16_t port;
	int fd;
};

struct conn {
	const struct host *client, *server;
	int client_fd, server_fd;
	uint16_t client_port, server_port;
};

/* Raw sockets, one per host, opened on first use. */
struct raw_fd {
	const struct host *host;
	int fd;
};

struct run {
	const struct scenario *scenario;
	const struct engine_options *options;
	int family;
	struct run_result *result;
	struct topology *topology;
	const struct host *observing_host;
	struct observer *observer;
	struct listener listeners[LISTENERS_MAX];
	size_t n_listeners;
	struct conn conns[SCENARIO_CONNS_MAX];
	struct raw_fd raw[8];
	size_t n_raw;
	uint32_t next_packet_id;
	/* The last packet sent and what conntrack made of it. */
	bool sent;
	const struct observed *last;
	struct ct_stats stats_before;
};

/* Where conntrack runs in each topology, and so where the observer sits. */
static const struct {
	const char *topology;
	const char *observing_host;
} observing_hosts[] = {
	{ "pair", "server" },
};

const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static const union inet_addr *host_addr(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? (const union inet_addr *)&host->in4
				      : (const union inet_addr *)&host->in6;
}

static const char *host_addr_text(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? host->addr4 : host->addr6;
}

static int step_error(struct step_result *result, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A step that could not be done: the run ends here. */
static int step_error(struct step_result *result, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(result->message, sizeof(result->message), fmt, args);
	va_end(args);
	result->passed = false;
	return -1;
}

static const struct host *find_host(struct run *run, const char *name)
{
	return topology_host(run->topology, name);
}

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

static int do_connect(struct run *run, const struct connect_step *connect,
		      struct step_result *result)
{
	struct conn *conn = &run->conns[connect->conn];
	struct listener *listener;
	struct tcp_live live;
	int fd, rc;

	conn->client = find_host(run, connect->client);
	conn->server = find_host(run, connect->server);
	listener = ensure_listener(run, conn->server, connect->port, result);
	if (!listener)
		return -1;
	fd = sock_connect(conn->client->ns, run->family, host_addr(run, conn->client),
			  host_addr(run, conn->server), connect->port, run->options->timeout_ms);
	if (fd < 0)
		return step_error(result, "connect %s -> %s:%u: %s", conn->client->name,
				  conn->server->name, connect->port, strerror(-fd));
	conn->client_fd = fd;
	fd = sock_accept(listener->fd, run->options->timeout_ms);
	if (fd < 0)
		return step_error(result, "accept on %s:%u: %s", conn->server->name, connect->port,
				  strerror(-fd));
	conn->server_fd = fd;
	rc = sock_tcp_live(conn->client_fd, &live);
	if (rc < 0)
		return step_error(result, "reading the connection's sequence numbers: %s",
				  strerror(-rc));
	conn->client_port = live.local_port;
	conn->server_port = live.remote_port;
	snprintf(result->message, sizeof(result->message), "%s:%u -> %s:%u",
		 host_addr_text(run, conn->client), conn->client_port,
		 host_addr_text(run, conn->server), conn->server_port);
	result->passed = true;
	return 0;
}

/* The live value a term names: c.client.nxt, c.server.win… */
static int conn_value(struct run *run, const struct expr_term *term, uint64_t *value)
{
	const struct conn *conn = &run->conns[term->conn];
	struct tcp_live live;
	int fd = term->side == SIDE_CLIENT ? conn->client_fd : conn->server_fd;
	int rc;

	if (fd < 0)
		return -ENOTCONN;
	rc = sock_tcp_live(fd, &live);
	if (rc < 0)
		return rc;
	*value = term->value == CONN_NXT ? live.snd_nxt : live.rcv_wnd;
	return 0;
}

static int eval_expr(struct run *run, const struct expr *expr, uint64_t *value)
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

/* Defaults from the connection: its ports, and the seq/ack/window the sender's
 * own socket would use right now. */
static int spec_from_conn(struct run *run, const struct send_step *send,
			  const struct host *src, struct tcp_spec *spec)
{
	const struct conn *conn = &run->conns[send->conn];
	bool from_client = src == conn->client;
	struct tcp_live sender;
	int rc;

	if (conn->client_fd < 0)
		return -ENOTCONN;
	rc = sock_tcp_live(from_client ? conn->client_fd : conn->server_fd, &sender);
	if (rc < 0)
		return rc;
	spec->sport = from_client ? conn->client_port : conn->server_port;
	spec->dport = from_client ? conn->server_port : conn->client_port;
	spec->seq = sender.snd_nxt;
	spec->ack = sender.rcv_nxt;
	spec->window = (uint16_t)(sender.rcv_wnd >> sender.rcv_wscale);
	return 0;
}

static int build_spec(struct run *run, const struct send_step *send, const struct host *src,
		      const struct host *dst, struct tcp_spec *spec, struct step_result *result)
{
	uint64_t value[SEND_FIELD_COUNT] = { 0 };
	size_t field;
	int rc;

	tcp_spec_init(spec, run->family);
	if (run->family == AF_INET) {
		spec->src.v4 = src->in4;
		spec->dst.v4 = dst->in4;
	} else {
		spec->src.v6 = src->in6;
		spec->dst.v6 = dst->in6;
	}
	/* Every injected packet gets its own IP ID / flow label so that its NFLOG
	 * records can be told from all others. */
	run->next_packet_id++;
	spec->ip_id = (uint16_t)(0xc000 | (run->next_packet_id & 0x3fff));
	spec->flow_label = 0xc0000 | (run->next_packet_id & 0xffff);
	spec->sport = 40000;
	spec->dport = 80;
	if (send->conn >= 0) {
		rc = spec_from_conn(run, send, src, spec);
		if (rc < 0)
			return step_error(result, "connection %s: %s",
					  run->scenario->conns[send->conn], strerror(-rc));
	}
	for (field = 0; field < SEND_FIELD_COUNT; field++) {
		if (!send->fields[field].present)
			continue;
		rc = eval_expr(run, &send->fields[field], &value[field]);
		if (rc < 0)
			return step_error(result, "%s=: %s", send_field_name(field), strerror(-rc));
	}
#define SET(field, member) \
	do { if (send->fields[field].present) spec->member = value[field]; } while (0)
	SET(SEND_SPORT, sport);
	SET(SEND_DPORT, dport);
	SET(SEND_SEQ, seq);
	SET(SEND_ACK, ack);
	SET(SEND_WIN, window);
	SET(SEND_URG, urgent);
	SET(SEND_DOFF, data_offset);
	SET(SEND_LEN, payload_len);
	SET(SEND_MSS, mss);
	SET(SEND_WSCALE, wscale);
	SET(SEND_TTL, ttl);
	SET(SEND_TOS, tos);
	SET(SEND_TSVAL, ts_val);
	SET(SEND_TSECR, ts_ecr);
	SET(SEND_TRUNCATE, truncate);
#undef SET
	if (send->fields[SEND_CSUM].present) {
		spec->checksum = CHECKSUM_VALUE;
		spec->checksum_value = (uint16_t)value[SEND_CSUM];
	}
	if (send->bad_checksum)
		spec->checksum = CHECKSUM_BAD;
	if (send->has_flags)
		spec->flags = send->flags;
	spec->sack_permitted = send->sack_permitted;
	spec->timestamp = send->timestamp;
	return 0;
}

static int raw_fd_for(struct run *run, const struct host *host)
{
	size_t i;
	int fd;

	for (i = 0; i < run->n_raw; i++)
		if (run->raw[i].host == host)
			return run->raw[i].fd;
	if (run->n_raw == sizeof(run->raw) / sizeof(run->raw[0]))
		return -EMFILE;
	fd = sock_raw_open(host->ns, run->family);
	if (fd < 0)
		return fd;
	run->raw[run->n_raw++] = (struct raw_fd){ .host = host, .fd = fd };
	return fd;
}

static int do_send(struct run *run, const struct send_step *send, struct step_result *result)
{
	const struct host *src = find_host(run, send->src), *dst = find_host(run, send->dst);
	struct packet_summary want;
	struct tcp_spec spec;
	uint8_t packet[PACKET_MAX];
	ssize_t len;
	int fd, rc;

	if (build_spec(run, send, src, dst, &spec, result) < 0)
		return -1;
	len = packet_build_tcp(&spec, packet, sizeof(packet));
	if (len < 0)
		return step_error(result, "cannot build the packet: %s", strerror((int)-len));
	if (packet_parse(packet, (size_t)len, &want) < 0)
		return step_error(result, "cannot parse the packet just built");
	rc = observer_stats(run->observer, &run->stats_before);
	if (rc < 0)
		return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
	fd = raw_fd_for(run, src);
	if (fd < 0)
		return step_error(result, "raw socket on %s: %s", src->name, strerror(-fd));
	rc = sock_raw_send(fd, packet, (size_t)len);
	if (rc < 0)
		return step_error(result, "sending from %s: %s", src->name, strerror(-rc));

	run->sent = true;
	run->last = observer_wait_for(run->observer, &want, 0, run->options->timeout_ms);
	result->sent_packet = run->last ? (long)run->last->index : -1;
	result->passed = true;
	return 0;
}

static int do_expect(struct run *run, const struct expect_step *expect, struct step_result *result)
{
	struct observation seen = { .verdict = VERDICT_UNSEEN };
	struct ct_stats now;
	uint64_t before, after;
	int rc;

	if (run->last) {
		seen.verdict = run->last->verdict;
		seen.reason = run->last->has_reason ? run->last->reason : NULL;
	}
	if (expect->kind == EXPECT_CT) {
		const struct conn *conn = &run->conns[expect->conn];

		rc = observer_ct_lookup(run->observer, run->family, host_addr(run, conn->client),
					conn->client_port, host_addr(run, conn->server),
					conn->server_port, &seen.entry);
		if (rc < 0)
			return step_error(result, "ctnetlink lookup: %s", strerror(-rc));
	}
	if (expect->kind == EXPECT_STAT) {
		rc = observer_stats(run->observer, &now);
		if (rc < 0)
			return step_error(result, "reading conntrack statistics: %s", strerror(-rc));
		seen.counter_known = ct_stats_get(&run->stats_before, expect->counter, &before) &&
				     ct_stats_get(&now, expect->counter, &after);
		seen.counter_delta = (int64_t)(after - before);
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
	}
	return step_error(result, "unknown step");
}

static void keep_namespaces(struct run *run)
{
	char path[256];
	size_t i;
	int rc;

	for (i = 0; i < topology_host_count(run->topology); i++) {
		struct host *host = topology_host_at(run->topology, i);

		snprintf(path, sizeof(path), "/run/netns/ctlab-%d-%s-%s-%s", (int)getpid(),
			 run->scenario->name, family_name(run->family), host->name);
		rc = netns_keep(host->ns, path);
		if (rc < 0)
			fprintf(stderr, "ctlab: cannot keep %s: %s\n", path, strerror(-rc));
		else
			fprintf(stderr, "ctlab: kept %s (ip netns exec %s ...)\n", path, path + 11);
	}
}

/* Set up the topology and the observer; a failure here is a skip when the
 * machine cannot do it at all (not root, no netfilter), else a failure. */
static int set_up(struct run *run)
{
	struct run_result *result = run->result;
	char err[1024] = "";
	size_t i;

	if (geteuid() != 0) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason),
			 "not root: ctlab needs CAP_NET_ADMIN to make namespaces");
		return -1;
	}
	enum topology_kind kind;
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
	run->observer = observer_new(run->observing_host->ns, err, sizeof(err));
	if (!run->observer) {
		/* Conntrack, nf_tables or NFLOG missing from this kernel. */
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason), "kernel lacks what is needed: %s",
			 err);
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
	observer_free(run->observer);
	topology_free(run->topology);
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

void engine_run(const struct scenario *scenario, int family, const struct engine_options *options,
		struct run_result *result)
{
	struct run run = {
		.scenario = scenario, .options = options, .family = family, .result = result,
	};
	struct timespec start;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < SCENARIO_CONNS_MAX; i++)
		run.conns[i].client_fd = run.conns[i].server_fd = -1;
	memset(result, 0, sizeof(*result));
	result->scenario = scenario;
	result->family = family;
	snprintf(result->name, sizeof(result->name), "%s/%s", scenario->name, family_name(family));
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

out_tear_down:
	tear_down(&run);
	result->seconds = seconds_since(&start);
}

void run_result_free(struct run_result *result)
{
	free(result->steps);
	free(result->packets);
	result->steps = NULL;
	result->packets = NULL;
}
