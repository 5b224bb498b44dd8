/* steps — the step statements: sysctl, nft, listen, connect, send, socket, ct, flood, fill. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <netinet/tcp.h>

#include "packet/packet.h"
#include "base/base.h"
#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Tables ---- */

static const char *const send_field_names[SEND_FIELD_COUNT] = {
	[SEND_SPORT]	= "sport",
	[SEND_DPORT]	= "dport",
	[SEND_SEQ]	= "seq",
	[SEND_ACK]	= "ack",
	[SEND_WIN]	= "win",
	[SEND_URG]	= "urg",
	[SEND_DOFF]	= "doff",
	[SEND_LEN]	= "len",
	[SEND_MSS]	= "mss",
	[SEND_WSCALE]	= "wscale",
	[SEND_TTL]	= "ttl",
	[SEND_TOS]	= "tos",
	[SEND_TSVAL]	= "tsval",
	[SEND_TSECR]	= "tsecr",
	[SEND_TRUNCATE]	= "truncate",
	[SEND_CSUM]	= "csum",
	[SEND_ULEN]	= "ulen",
	[SEND_TYPE]	= "type",
	[SEND_CODE]	= "code",
	[SEND_MTU]	= "mtu",
	[SEND_ICMP_ID]	= "icmpid",
	[SEND_ICMP_SEQ]	= "icmpseq",
};

/* Largest value a pure-number expression may take, per field. */
static const uint64_t send_field_max[SEND_FIELD_COUNT] = {
	[SEND_SPORT]	= 65535,
	[SEND_DPORT]	= 65535,
	[SEND_SEQ]	= UINT32_MAX,
	[SEND_ACK]	= UINT32_MAX,
	[SEND_WIN]	= 65535,
	[SEND_URG]	= 65535,
	[SEND_DOFF]	= 15,
	[SEND_LEN]	= 65000,
	[SEND_MSS]	= 65535,
	[SEND_WSCALE]	= 14,
	[SEND_TTL]	= 255,
	[SEND_TOS]	= 255,
	[SEND_TSVAL]	= UINT32_MAX,
	[SEND_TSECR]	= UINT32_MAX,
	[SEND_TRUNCATE]	= 65535,
	[SEND_CSUM]	= 65535,
	[SEND_ULEN]	= 65535,
	[SEND_TYPE]	= 255,
	[SEND_CODE]	= 255,
	[SEND_MTU]	= 65535,
	[SEND_ICMP_ID]	= 65535,
	[SEND_ICMP_SEQ]	= 65535,
};

const char *send_field_name(enum send_field field)
{
	if ((unsigned)field >= SEND_FIELD_COUNT)
		return "?";
	return send_field_names[field];
}

/*
 * What each protocol of send takes, in the order error messages list them.
 * Each name is a send_field_names entry or one of conn, flags, sackok, ts, sack,
 * opt, quote.
 */
static const char *const tcp_send_fields[] = {
	"conn", "flags", "sackok", "ts", "sport", "dport", "seq", "ack", "win", "urg",
	"doff", "len", "mss", "wscale", "ttl", "tos", "tsval", "tsecr", "sack", "opt",
	"truncate", "csum", NULL,
};

static const char *const udp_send_fields[] = {
	"conn", "sport", "dport", "len", "ulen", "ttl", "tos", "csum", "truncate", NULL,
};

static const char *const icmp_send_fields[] = {
	"type", "code", "mtu", "icmpid", "icmpseq", "quote", "len", "ttl", "tos", "csum",
	"truncate", NULL,
};

static const char *const *const send_fields[] = {
	[PROTO_TCP]	= tcp_send_fields,
	[PROTO_UDP]	= udp_send_fields,
	[PROTO_ICMP]	= icmp_send_fields,
};

/* NONE has no name: type= was a number, which reports print as such. */
static const char *const icmp_message_names[ICMP_MSG_COUNT] = {
	[ICMP_MSG_NONE]			= NULL,
	[ICMP_MSG_ECHO_REQUEST]		= "echo-request",
	[ICMP_MSG_ECHO_REPLY]		= "echo-reply",
	[ICMP_MSG_PORT_UNREACHABLE]	= "port-unreachable",
	[ICMP_MSG_HOST_UNREACHABLE]	= "host-unreachable",
	[ICMP_MSG_ADMIN_PROHIBITED]	= "admin-prohibited",
	[ICMP_MSG_TOO_BIG]		= "too-big",
	[ICMP_MSG_TIME_EXCEEDED]	= "time-exceeded",
};

const char *icmp_message_name(enum icmp_message message)
{
	if ((unsigned)message >= ICMP_MSG_COUNT || !icmp_message_names[message])
		return "?";
	return icmp_message_names[message];
}

enum icmp_message icmp_message_parse(const char *name)
{
	for (int message = ICMP_MSG_NONE + 1; message < ICMP_MSG_COUNT; message++)
		if (strcmp(name, icmp_message_names[message]) == 0)
			return message;
	return ICMP_MSG_NONE;
}

/* The kernel's socket states, as tcp_info's tcpi_state gives them. */
static const char *const socket_state_names[] = {
	[TCP_ESTABLISHED]	= "ESTABLISHED",
	[TCP_SYN_SENT]		= "SYN_SENT",
	[TCP_SYN_RECV]		= "SYN_RECV",
	[TCP_FIN_WAIT1]		= "FIN_WAIT1",
	[TCP_FIN_WAIT2]		= "FIN_WAIT2",
	[TCP_TIME_WAIT]		= "TIME_WAIT",
	[TCP_CLOSE]		= "CLOSE",
	[TCP_CLOSE_WAIT]	= "CLOSE_WAIT",
	[TCP_LAST_ACK]		= "LAST_ACK",
	[TCP_LISTEN]		= "LISTEN",
	[TCP_CLOSING]		= "CLOSING",
};

#define SOCKET_STATE_COUNT \
	(int)(sizeof(socket_state_names) / sizeof(socket_state_names[0]))

const char *socket_state_name(int state)
{
	if (state < 0 || state >= SOCKET_STATE_COUNT || !socket_state_names[state])
		return "?";
	return socket_state_names[state];
}

int socket_state_parse(const char *name)
{
	for (int state = 0; state < SOCKET_STATE_COUNT; state++)
		if (socket_state_names[state] && strcasecmp(name, socket_state_names[state]) == 0)
			return state;
	return -1;
}

/* ---- Setting up: sysctl, nft, listen, connect ---- */

/* A host's place in its topology's list; neighbours in it share a link. */
static int host_index(const struct parser *p, const char *host)
{
	for (int i = 0; p->hosts[i]; i++)
		if (strcmp(p->hosts[i], host) == 0)
			return i;
	return -1;
}

int parse_sysctl(struct parser *p)
{
	struct sysctl_step *sysctl = &p->step->sysctl;
	static const char short_prefix[] = "net.netfilter.";
	const char *what = "KEY=VALUE";
	struct word *w;
	bool short_key, valid_key;
	char *eq;
	size_t key_len;

	if (take_host(p, sysctl->host))
		return -1;
	w = next_word(p, what);
	if (!w)
		return -1;
	eq = strchr(w->text, '=');
	/* The key is never quoted; the value may be. */
	if (!eq || (size_t)(eq - w->text) >= w->plain_len)
		return error_word(p, w, "%s", what);
	key_len = (size_t)(eq - w->text);
	short_key = strncmp(w->text, "nf_", 3) == 0;
	/* Only net. keys are per namespace: kernel., vm., fs. … would change the
	 * host.  Dotted names of plain components only, no paths. */
	valid_key = key_len > 0 && (short_key || (key_len > 4 && strncmp(w->text, "net.", 4) == 0));
	for (size_t i = 0; i < key_len; i++)
		if ((!isalnum((unsigned char)w->text[i]) && !strchr("_.-", w->text[i])) ||
		    (w->text[i] == '.' && (i + 1 == key_len || w->text[i + 1] == '.')))
			valid_key = false;
	if (!valid_key)
		return error_at(p, w->column, key_len ? w->text : "nothing",
				key_len ? (int)key_len : -1,
				"a per-namespace sysctl (net.…, or nf_… for net.netfilter.nf_…)");
	if (short_key) {
		char key[SCENARIO_TEXT_MAX];

		snprintf(key, sizeof(key), "%s%.*s", short_prefix, (int)key_len, w->text);
		sysctl->key = keep_text(p, key, strlen(key));
	} else {
		sysctl->key = keep_text(p, w->text, key_len);
	}
	if (!sysctl->key)
		return -1;
	if (eq[1] == '\0')
		return error_at(p, word_column(w, key_len + 1), "nothing", -1, "a value");
	if (strlen(eq + 1) >= SCENARIO_TEXT_MAX)
		return error_word(p, w, "a value of at most %d characters",
				  SCENARIO_TEXT_MAX - 1);
	for (const char *c = eq + 1; *c; c++)
		if ((unsigned char)*c < 0x20)
			return error_word(p, w, "a value without control characters");
	sysctl->value = keep_text(p, eq + 1, strlen(eq + 1));
	if (!sysctl->value)
		return -1;
	return expect_end(p);
}

/*
 * The first word of ruleset that would reach beyond the ruleset's text: include
 * reads a file (any file: /etc/shadow would end up in the reports), monitor
 * never returns.  Words inside "strings" and # comments do not count.  NULL if
 * there is none.
 */
static const char *nft_forbidden_word(const char *ruleset, size_t *len)
{
	static const char *const forbidden[] = { "include", "monitor", "import", NULL };
	const char *c = ruleset;

	while (*c) {
		const char *start = c;

		if (*c == '"') {
			c = strchrnul(c + 1, '"');
			c += *c != '\0';
			continue;
		}
		if (*c == '#') {
			c = strchrnul(c, '\n');
			continue;
		}
		if (!isalpha((unsigned char)*c)) {
			c++;
			continue;
		}
		while (isalnum((unsigned char)*c) || *c == '_' || *c == '-')
			c++;
		for (size_t i = 0; forbidden[i]; i++)
			if ((size_t)(c - start) == strlen(forbidden[i]) &&
			    strncmp(start, forbidden[i], (size_t)(c - start)) == 0) {
				*len = (size_t)(c - start);
				return start;
			}
	}
	return NULL;
}

int parse_nft(struct parser *p)
{
	struct nft_step *nft = &p->step->nft;
	const struct word *w;
	const char *word;
	size_t len;

	if (take_host(p, nft->host))
		return -1;
	w = peek_word(p);
	if (take_string(p, "a \"RULESET\"", true, &nft->ruleset))
		return -1;
	word = nft_forbidden_word(nft->ruleset, &len);
	if (word)
		return error_at(p, w->column, word, (int)len,
				"a ruleset that reads no file and returns (no include, monitor "
				"or import)");
	return expect_end(p);
}

/* listen HOST:PORT [backlog=N]: nothing accepts but a connect step to it. */
/* maxseg=N, rcvbuf=N or nodelay, each once: 1 taken, 0 not one of them, -1 error. */
static int take_sockopt(struct parser *p, struct sockopt_set *options)
{
	struct word *w = peek_word(p);
	uint64_t value;

	if (!w || !is_plain(w))
		return 0;
	if (strncmp(w->text, "maxseg=", 7) == 0 && !options->maxseg) {
		/* The kernel takes 88 (TCP_MIN_MSS) up to 65535 - 40 on a socket. */
		if (take_keyed_number(p, "maxseg", 88, 65495, &value))
			return -1;
		options->maxseg = (uint16_t)value;
		return 1;
	}
	if (strncmp(w->text, "rcvbuf=", 7) == 0 && !options->rcvbuf) {
		if (take_keyed_number(p, "rcvbuf", 256, 16777216, &value))
			return -1;
		options->rcvbuf = (uint32_t)value;
		return 1;
	}
	if (strcmp(w->text, "nodelay") == 0 && !options->nodelay) {
		options->nodelay = true;
		p->next++;
		return 1;
	}
	return 0;
}

/* listen HOST:PORT [backlog=N] [maxseg=N] [rcvbuf=N] [nodelay]: nothing accepts
 * but a connect step to it. */
int parse_listen(struct parser *p)
{
	struct listen_step *listen = &p->step->listen;
	struct word *w;
	uint64_t backlog;
	int rc;

	if (take_host_port(p, listen->host, &listen->port))
		return -1;
	while ((w = peek_word(p))) {
		if ((rc = take_sockopt(p, &listen->options)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		if (!is_plain(w) || strncmp(w->text, "backlog=", 8) != 0 || listen->backlog)
			return error_word(p, w, "backlog=, maxseg=, rcvbuf=, nodelay (each once) or "
					  "end of line");
		if (take_keyed_number(p, "backlog", 1, 4096, &backlog))
			return -1;
		listen->backlog = (uint16_t)backlog;
	}
	return 0;
}

/* link A B mtu=N: A and B neighbours in the topology (a veth between them). */
/* loss=P% or reorder=P%: P a percentage 0..100 with up to two decimals (loss=0.5%),
 * into *fraction (of UINT32_MAX) and *in_hundredths. */
static int parse_percent(struct parser *p, const struct word *w, size_t off, uint32_t *fraction,
			 uint32_t *in_hundredths)
{
	static const char what[] = "a percentage 0..100% with up to two decimals (10%, 0.5%)";
	const char *text = w->text + off, *c = text;
	uint64_t hundredths = 0;
	int decimals = -1;

	/* Digits, at most one point, two digits after it, then "%" and nothing else. */
	for (; isdigit((unsigned char)*c) || (*c == '.' && decimals < 0 && c > text); c++) {
		if (*c == '.') {
			decimals = 0;
			continue;
		}
		/* A third decimal, or more digits than 100 has: not a percentage. */
		if (decimals >= 2 || hundredths > 1000)
			break;
		hundredths = hundredths * 10 + (uint64_t)(*c - '0');
		if (decimals >= 0)
			decimals++;
	}
	for (int i = decimals < 0 ? 0 : decimals; i < 2; i++)
		hundredths *= 10;
	if (c == text || decimals == 0 || strcmp(c, "%") != 0 || hundredths > 10000)
		return error_at(p, word_column(w, off), *text ? text : "nothing", -1, "%s", what);
	*in_hundredths = (uint32_t)hundredths;
	*fraction = (uint32_t)(hundredths * UINT32_MAX / 10000);
	return 0;
}

int parse_link(struct parser *p)
{
	static const char what[] = "mtu=N, delay=T, loss=P% or reorder=P% (each once)";
	struct link_step *link = &p->step->link;
	struct word *b, *w, *reorder = NULL;
	bool has_loss = false, has_reorder = false;
	uint64_t mtu;
	int ia, ib;

	if (take_host(p, link->a))
		return -1;
	b = peek_word(p);
	if (take_host(p, link->b))
		return -1;
	ia = host_index(p, link->a);
	ib = host_index(p, link->b);
	if (ia < 0 || ib < 0 || (ia - ib != 1 && ib - ia != 1))
		return error_word(p, b, "a neighbour of %s (hosts with a link between them)",
				  link->a);
	while ((w = peek_word(p))) {
		const char *eq = strchr(w->text, '=');
		size_t key_len = eq ? (size_t)(eq - w->text) : 0;
		size_t off = key_len + 1;

		if (!is_plain(w) || !eq)
			return error_word(p, w, "%s", what);
		p->next++;
		if (key_len == 3 && strncmp(w->text, "mtu", 3) == 0 && !link->mtu) {
			if (number_in_range(p, eq + 1, strlen(eq + 1), word_column(w, off), 1280,
					    65535, &mtu))
				return -1;
			link->mtu = (uint32_t)mtu;
		} else if (key_len == 5 && strncmp(w->text, "delay", 5) == 0 && !link->delay_ms) {
			if (parse_duration(p, w, off, LINK_DELAY_MS_MAX, &link->delay_ms))
				return -1;
			link->netem = true;
		} else if (key_len == 4 && strncmp(w->text, "loss", 4) == 0 && !has_loss) {
			if (parse_percent(p, w, off, &link->loss, &link->loss_hundredths))
				return -1;
			has_loss = link->netem = true;
		} else if (key_len == 7 && strncmp(w->text, "reorder", 7) == 0 && !has_reorder) {
			if (parse_percent(p, w, off, &link->reorder, &link->reorder_hundredths))
				return -1;
			has_reorder = link->netem = true;
			reorder = w;
		} else {
			return error_word(p, w, "%s", what);
		}
	}
	if (!link->mtu && !link->netem)
		return error_at(p, p->end_column, "end of line", -1, "%s", what);
	/* Reordering sends some packets ahead of the delayed others: no delay, no order to change. */
	if (reorder && !link->delay_ms)
		return error_word(p, reorder, "delay=T beside reorder= (it sends some packets ahead "
				  "of the delayed ones)");
	p->scenario->uses_netem |= link->netem;
	return 0;
}

/* mute HOST: from here on HOST's kernel answers nothing; crafted packets speak
 * for it (a scripted peer). */
int parse_mute(struct parser *p)
{
	struct mute_step *mute = &p->step->mute;
	int host;

	if (take_host(p, mute->host))
		return -1;
	host = host_index(p, mute->host);
	if (host >= 0)
		p->muted |= 1u << host;
	return expect_end(p);
}

/* bypass SRC -> DST [tcp [flags=X]|udp|icmp]: such packets pass the observing
 * host's conntrack untracked from here on (asymmetric routing, a bridge
 * without br_netfilter, a notrack rule). */
/* "before conntrack" (hold only) ends the statement. */
static int take_path_end(struct parser *p, struct packet_path *path, bool hold)
{
	struct word *w = peek_word(p);

	if (!w)
		return 0;
	if (!hold || strcmp(w->text, "before") != 0)
		return expect_end(p);
	p->next++;
	if (expect_keyword(p, "conntrack"))
		return -1;
	path->before_conntrack = true;
	return expect_end(p);
}

static int take_packet_path(struct parser *p, struct packet_path *path, bool hold)
{
	struct word *dst, *w;
	size_t len;

	if (take_host(p, path->src) || expect_keyword(p, "->"))
		return -1;
	dst = peek_word(p);
	if (take_destination(p, path->dst))
		return -1;
	if (strcmp(path->src, path->dst) == 0)
		return error_word(p, dst, "a destination other than the source");
	w = peek_word(p);
	if (!w || (hold && strcmp(w->text, "before") == 0))
		return take_path_end(p, path, hold);
	if (take_protocol(p, &path->protocol))
		return -1;
	path->has_protocol = true;
	w = peek_word(p);
	if (!w || path->protocol != PROTO_TCP || strncmp(w->text, "flags=", 6) != 0) {
		if (w && path->protocol == PROTO_TCP && !(hold && strcmp(w->text, "before") == 0))
			return error_word(p, w, hold ? "flags=X, before conntrack or end of line"
						     : "flags=X or end of line");
		return take_path_end(p, path, hold);
	}
	p->next++;
	path->has_flags = true;
	len = strlen(w->text);
	if (len > 7 && w->text[len - 1] == '+') {
		path->flags_contain = true;
		w->text[len - 1] = '\0';
	}
	if (parse_flags(p, w, 6, &path->flags))
		return -1;
	return take_path_end(p, path, hold);
}

int parse_bypass(struct parser *p)
{
	return take_packet_path(p, &p->step->bypass, false);
}

/* hold SRC -> DST [PROTO [flags=X[+]]] [before conntrack]: the observing host
 * keeps such packets back until a release: once its conntrack has seen them,
 * or before it does. */
int parse_hold(struct parser *p)
{
	return take_packet_path(p, &p->step->hold, true);
}

/* release [N] */
int parse_release(struct parser *p)
{
	uint64_t count = 1;
	struct word *w = peek_word(p);

	if (w) {
		p->next++;
		if (number_in_range(p, w->text, strlen(w->text), w->column, 1, HOLD_PACKETS_MAX,
				    &count))
			return -1;
	}
	p->step->release.count = (uint32_t)count;
	return expect_end(p);
}

/* sleep T: wait for time itself (a kernel timer the story is about). */
int parse_sleep(struct parser *p)
{
	if (take_duration(p, SLEEP_MS_MAX, &p->step->sleep.ms))
		return -1;
	return expect_end(p);
}

/* The options after connect's server: [tcp|udp] [sport=N] [nowait] [may-fail]. */
static int parse_connect_options(struct parser *p, struct connect_step *connect)
{
	const char *what = "tcp, udp, sport=, maxseg=, rcvbuf=, nodelay, nowait, may-fail or end "
			   "of line";
	struct word *w = peek_word(p);
	uint64_t port;

	if (w && is_plain(w) && (strcmp(w->text, "tcp") == 0 || strcmp(w->text, "udp") == 0)) {
		connect->protocol = strcmp(w->text, "udp") ? PROTO_TCP : PROTO_UDP;
		p->next++;
		what = connect->protocol == PROTO_UDP ? "sport=, may-fail or end of line"
						      : "sport=, maxseg=, rcvbuf=, nodelay, nowait, "
							"may-fail or end of line";
	}
	while ((w = peek_word(p))) {
		int rc;

		if (!is_plain(w))
			return error_word(p, w, "%s", what);
		if (connect->protocol == PROTO_TCP && (rc = take_sockopt(p, &connect->options)) != 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		if (strncmp(w->text, "sport=", 6) == 0 && !connect->sport) {
			if (take_keyed_number(p, "sport", 1, 65535, &port))
				return -1;
			connect->sport = (uint16_t)port;
			continue;
		}
		if (strcmp(w->text, "nowait") == 0 && !connect->nowait && !connect->may_fail) {
			if (connect->protocol == PROTO_UDP)
				return error_word(p, w, "may-fail or end of line (a udp connection "
						  "has no handshake to wait for)");
			connect->nowait = true;
		} else if (strcmp(w->text, "may-fail") == 0 && !connect->may_fail &&
			   !connect->nowait) {
			connect->may_fail = true;
		} else if (strcmp(w->text, "nowait") == 0 || strcmp(w->text, "may-fail") == 0 ||
			   strncmp(w->text, "sport=", 6) == 0) {
			return error_word(p, w, "%s, each once (nowait and may-fail exclude each "
					  "other)", what);
		} else {
			return error_word(p, w, "%s", what);
		}
		p->next++;
	}
	return 0;
}

int parse_connect(struct parser *p)
{
	struct connect_step *connect = &p->step->connect;
	struct scenario *scenario = p->scenario;
	struct word *w = next_plain(p, "a connection name");
	struct word *server;
	int host;

	if (!w)
		return -1;
	if (!is_ident(w->text) || strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "a connection name of [a-z][a-z0-9_]*, at most %d characters",
				  SCENARIO_IDENT_MAX - 1);
	if (find_conn(p, w->text, strlen(w->text)) >= 0 ||
	    find_packet(p, w->text, strlen(w->text)) >= 0)
		return error_word(p, w, "a connection name not used before");
	if (strcmp(w->text, "last") == 0)
		return error_word(p, w, "a connection name other than last (it means the last "
				  "packet's entry)");
	if (scenario->n_conns == SCENARIO_CONNS_MAX)
		return error_word(p, w, "at most %d connections", SCENARIO_CONNS_MAX);
	connect->conn = (int)scenario->n_conns;
	strcpy(scenario->conns[scenario->n_conns++], w->text);

	if (take_host(p, connect->client) || expect_keyword(p, "->"))
		return -1;
	server = peek_word(p);
	if (take_host_port_as(p, connect->server, &connect->port, true))
		return -1;
	if (strcmp(connect->client, connect->server) == 0)
		return error_at(p, server->column, server->raw,
				(int)strlen(connect->server),
				"a server other than the client");
	p->seen_sender = true;
	if (parse_connect_options(p, connect))
		return -1;
	host = host_index(p, connect->server);
	if (host >= 0 && (p->muted & (1u << host)) &&
	    (connect->protocol != PROTO_TCP || !connect->nowait))
		return error_at(p, server->column, server->raw, (int)strlen(connect->server),
				"a host that answers (%s is muted: connect … tcp nowait to it, "
				"and crafted packets answer)", connect->server);
	scenario->conn_protocols[connect->conn] = connect->protocol;
	return expect_end(p);
}

/* ---- Table exhaustion ---- */

/* flood SRC -> DST:PORT syn count=N [threads=T] */
int parse_flood(struct parser *p)
{
	struct flood_step *flood = &p->step->flood;
	uint64_t value;

	struct word *w;

	if (take_host(p, flood->src) || expect_keyword(p, "->") ||
	    take_host_port_as(p, flood->dst, &flood->port, true))
		return -1;
	w = next_plain(p, "syn or udp");
	if (!w)
		return -1;
	if (strcmp(w->text, "udp") == 0)
		flood->udp = true;
	else if (strcmp(w->text, "syn") != 0)
		return error_word(p, w, "syn or udp");
	if (take_count(p, &flood->count))
		return -1;
	if (peek_word(p)) {
		if (take_keyed_number(p, "threads", 1, 64, &value))
			return -1;
		flood->threads = (unsigned)value;
	}
	p->seen_sender = true;
	return expect_end(p);
}

/* fill HOST count=N [timeout=S] */
int parse_fill(struct parser *p)
{
	struct fill_step *fill = &p->step->fill;
	uint64_t value;

	struct word *w;

	if (take_host(p, fill->host) || take_count(p, &fill->count))
		return -1;
	w = peek_word(p);
	if (w && strncmp(w->text, "timeout=", 8) == 0) {
		if (take_keyed_number(p, "timeout", 1, 432000, &value))
			return -1;
		fill->timeout = (uint32_t)value;
		w = peek_word(p);
	}
	if (w && strcmp(w->text, "udp") == 0) {
		p->next++;
		fill->udp = true;
	} else if (w) {
		return error_word(p, w, "%s", fill->timeout ? "udp or end of line"
							    : "timeout=S, udp or end of line");
	}
	p->seen_sender = true;
	return expect_end(p);
}

/* flush ct HOST */
int parse_flush(struct parser *p)
{
	struct ct_step *ct = &p->step->ct;

	ct->flush = true;
	ct->conn = -1;
	ct->state = -1;
	if (expect_keyword(p, "ct") || take_host(p, ct->host))
		return -1;
	return expect_end(p);
}

/* ---- Socket and conntrack steps ---- */

const char tcp_states_what[] =
	"a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, "
	"CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2)";

const char socket_states_what[] =
	"a socket state (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, "
	"TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING)";

static int take_tcp_state(struct parser *p, int *state)
{
	struct word *w = next_plain(p, tcp_states_what);

	if (!w)
		return -1;
	*state = tcp_state_parse(w->text);
	if (*state < 0)
		return error_word(p, w, "%s", tcp_states_what);
	return 0;
}

static int take_socket_state(struct parser *p, int *state)
{
	struct word *w = next_plain(p, socket_states_what);

	if (!w)
		return -1;
	*state = socket_state_parse(w->text);
	if (*state < 0)
		return error_word(p, w, "%s", socket_states_what);
	return 0;
}

static int parse_socket_step(struct parser *p, enum socket_action action)
{
	struct socket_step *sock = &p->step->socket;
	const struct word *keyword = &p->words[p->keyword];
	const char *conn_name;
	struct word *w;
	uint64_t bytes;

	sock->action = action;
	sock->state = -1;
	if (take_endpoint(p, &sock->endpoint))
		return -1;
	conn_name = p->scenario->conns[sock->endpoint.conn];
	/* A UDP socket has no FIN to send and no TCP state to wait for. */
	if (conn_is_udp(p, sock->endpoint.conn) &&
	    (action == SOCKET_SHUTDOWN || action == SOCKET_WAIT))
		return error_word(p, keyword, "write, read or close (%s is a udp connection)",
				  conn_name);
	p->seen_sender = true;
	switch (action) {
	case SOCKET_WRITE:
	case SOCKET_READ: {
		/* A UDP write is one datagram: at most what IPv4 can carry. */
		uint64_t max = action == SOCKET_WRITE && conn_is_udp(p, sock->endpoint.conn) ?
			       UDP_DATAGRAM_MAX : 1000000;
		char what[64];

		snprintf(what, sizeof(what), "a number 1..%" PRIu64 "%s", max,
			 max == UDP_DATAGRAM_MAX ? " (one datagram)" : "");
		w = next_plain(p, what);
		if (!w)
			return -1;
		if (number_in_range(p, w->text, strlen(w->text), w->column, 1, max, &bytes)) {
			if (max == UDP_DATAGRAM_MAX)
				error_word(p, w, "%s", what);
			return -1;
		}
		sock->bytes = (uint32_t)bytes;
		break;
	}
	case SOCKET_CLOSE:
		w = peek_word(p);
		if (!w || (is_plain(w) && strcmp(w->text, "may-fail") == 0))
			break;
		if (conn_is_udp(p, sock->endpoint.conn))
			return error_word(p, w, "may-fail or end of line (%s is a udp connection)",
					  conn_name);
		if (!is_plain(w) || strcmp(w->text, "rst") != 0)
			return error_word(p, w, "rst, may-fail or end of line");
		p->next++;
		sock->abort = true;
		break;
	case SOCKET_WAIT:
		if (expect_keyword(p, "state") || take_socket_state(p, &sock->state))
			return -1;
		break;
	case SOCKET_SHUTDOWN:
		break;
	}
	/* A failed operation fails the run, unless the story is about it. */
	w = peek_word(p);
	if (w && action != SOCKET_WAIT && is_plain(w) && strcmp(w->text, "may-fail") == 0) {
		p->next++;
		sock->may_fail = true;
	}
	return expect_end(p);
}

int parse_write(struct parser *p)
{
	return parse_socket_step(p, SOCKET_WRITE);
}

int parse_read(struct parser *p)
{
	return parse_socket_step(p, SOCKET_READ);
}

int parse_shutdown(struct parser *p)
{
	return parse_socket_step(p, SOCKET_SHUTDOWN);
}

int parse_close(struct parser *p)
{
	return parse_socket_step(p, SOCKET_CLOSE);
}

/* wait ct CONN state S | wait ct CONN gone */
static int parse_wait_ct(struct parser *p)
{
	struct ct_step *ct = &p->step->ct;
	struct word *w;

	ct->state = -1;
	if (take_ct_conn(p, &ct->conn))
		return -1;
	w = next_plain(p, "state, gone or assured");
	if (!w)
		return -1;
	if (strcmp(w->text, "gone") == 0) {
		ct->gone = true;
		return expect_end(p);
	}
	if (strcmp(w->text, "assured") == 0) {
		if (ct->conn < 0)
			return error_word(p, w, "state or gone (assured needs a connection)");
		ct->assured = true;
		return expect_end(p);
	}
	if (strcmp(w->text, "state") != 0)
		return error_word(p, w, "state, gone or assured");
	if (conn_is_udp(p, ct->conn))
		return error_word(p, w, "gone (%s is a udp connection)",
				  p->scenario->conns[ct->conn]);
	if (take_tcp_state(p, &ct->state))
		return -1;
	return expect_end(p);
}

/* wait EP state S, or wait ct …: the same keyword for a socket and for conntrack. */
int parse_wait(struct parser *p)
{
	struct word *w = peek_word(p);

	if (!w)
		return error_at(p, p->end_column, "end of line", -1,
				"ct, CONN.client or CONN.server");
	if (is_plain(w) && strcmp(w->text, "ct") == 0) {
		p->next++;
		p->step->kind = STEP_CT;
		return parse_wait_ct(p);
	}
	return parse_socket_step(p, SOCKET_WAIT);
}

int parse_delete(struct parser *p)
{
	struct ct_step *ct = &p->step->ct;

	ct->delete = true;
	ct->state = -1;
	if (expect_keyword(p, "ct") || take_ct_conn(p, &ct->conn))
		return -1;
	return expect_end(p);
}

/* ---- Crafted packets: send ---- */

int parse_flags(struct parser *p, const struct word *w, size_t off, uint8_t *flags)
{
	const char *letters = w->text + off;
	const char *bad;

	if (letters[0] == '\0')
		return error_at(p, word_column(w, off), "nothing", -1,
				"TCP flags (letters of FSRPAUEC, or none)");
	if (tcp_flags_parse(letters, flags, &bad) == 0)
		return 0;
	return error_at(p, word_column(w, (size_t)(bad - w->text)), bad, 1,
			strchr("FSRPAUEC", *bad) ? "each TCP flag once"
						 : "a TCP flag letter (F S R P A U E C)");
}

static int field_error(struct parser *p, const struct word *w, enum protocol protocol)
{
	char list[256];

	list_names(send_fields[protocol], list, sizeof(list));
	return error_word(p, w, "%s %s field (%s)", protocol == PROTO_ICMP ? "an" : "a",
			  protocol_name(protocol), list);
}

static bool is_send_field(enum protocol protocol, const char *key, size_t key_len)
{
	for (const char *const *name = send_fields[protocol]; *name; name++)
		if (strlen(*name) == key_len && strncmp(*name, key, key_len) == 0)
			return true;
	return false;
}

const char icmp_type_what[] =
	"an ICMP type (echo-request, echo-reply, port-unreachable, host-unreachable, "
	"admin-prohibited, too-big, time-exceeded) or a number 0..255";

/* type=NAME: the message; type=NUMBER: the raw type, in fields[SEND_TYPE]. */
static int parse_icmp_type(struct parser *p, const struct word *w, size_t off,
			   struct send_step *send)
{
	const char *text = w->text + off;

	if (isdigit((unsigned char)*text))
		return parse_expr(p, w, off, send_field_max[SEND_TYPE], &send->fields[SEND_TYPE]);
	send->icmp_message = icmp_message_parse(text);
	if (send->icmp_message == ICMP_MSG_NONE)
		return error_at(p, word_column(w, off), *text ? text : "nothing", -1,
				"%s", icmp_type_what);
	return 0;
}

/* sack=L:R[,L:R…]: each edge an expression (c.client.nxt+1000, sa.ack+10 …). */
static int parse_sack(struct parser *p, const struct word *w, size_t off, struct send_step *send)
{
	struct expr edges[2 * TCP_SACK_BLOCKS_MAX], *kept;
	const char *text = w->text;
	size_t n = 0;

	for (size_t start = off;; start++) {
		size_t end = start;
		char want = n % 2 ? ',' : ':';

		while (text[end] && text[end] != ':' && text[end] != ',')
			end++;
		if (n == 2 * TCP_SACK_BLOCKS_MAX)
			return error_at(p, word_column(w, start - 1), text + start - 1, -1,
					"at most %d SACK blocks", TCP_SACK_BLOCKS_MAX);
		if ((text[end] && text[end] != want) || (!text[end] && n % 2 == 0))
			return error_at(p, word_column(w, end), text[end] ? text + end : "nothing",
					text[end] ? 1 : -1,
					"%s", n % 2 ? "',' or the end of the blocks"
						    : "':' and the right edge (sack=LEFT:RIGHT)");
		if (parse_expr_len(p, w, start, end - start, UINT32_MAX, &edges[n++]))
			return -1;
		if (!text[end])
			break;
		start = end;
	}
	kept = keep(p, n * sizeof(*kept));
	if (!kept)
		return -1;
	memcpy(kept, edges, n * sizeof(*kept));
	send->sack = kept;
	send->n_sack = (uint8_t)(n / 2);
	return 0;
}

/* opt=HEX: raw option bytes, two hex digits each (opt=1e0401020304). */
static int parse_raw_options(struct parser *p, const struct word *w, size_t off,
			     struct send_step *send)
{
	const char *hex = w->text + off;
	size_t len = strlen(hex);
	uint8_t *bytes;

	if (len == 0 || len % 2 || len / 2 > TCP_OPTIONS_MAX)
		return error_at(p, word_column(w, off), len ? hex : "nothing", -1,
				"1..%d option bytes as pairs of hex digits", TCP_OPTIONS_MAX);
	bytes = keep(p, len / 2);
	if (!bytes)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		unsigned byte;

		if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]) ||
		    sscanf(hex + i, "%2x", &byte) != 1)
			return error_at(p, word_column(w, off + i), hex + i, 2, "two hex digits");
		bytes[i / 2] = (uint8_t)byte;
	}
	send->raw_options = bytes;
	send->raw_len = (uint8_t)(len / 2);
	return 0;
}

/* The options a send step asks for must fit in a TCP header. */
static int check_options_fit(struct parser *p, const struct word *last, const struct send_step *send)
{
	struct tcp_spec spec;
	size_t len;

	tcp_spec_init(&spec, AF_INET);
	spec.mss = send->fields[SEND_MSS].present ? 0 : -1;
	spec.wscale = send->fields[SEND_WSCALE].present ? 0 : -1;
	spec.sack_permitted = send->sack_permitted;
	spec.timestamp = send->timestamp;
	spec.n_sack = send->n_sack;
	spec.raw_len = send->raw_len;
	len = packet_tcp_options_len(&spec);
	if (len <= TCP_OPTIONS_MAX)
		return 0;
	return error_word(p, last, "TCP options of at most %d bytes (these take %zu)",
			  TCP_OPTIONS_MAX, len);
}

/* One field of send: conn=, flags=, sackok, ts, quote=, sack=, opt=, csum=bad or NAME=EXPR. */
static int parse_send_field(struct parser *p, struct send_step *send, bool *ts_given)
{
	struct word *w = next_word(p, "a field");
	char *eq;
	size_t key_len;
	int field;

	if (!w)
		return -1;
	if (!is_plain(w))
		return error_word(p, w, "a field without quotes");
	eq = strchr(w->text, '=');
	key_len = eq ? (size_t)(eq - w->text) : strlen(w->text);
	if (!is_send_field(send->protocol, w->text, key_len))
		return field_error(p, w, send->protocol);

#define KEY_IS(name)	(key_len == strlen(name) && strncmp(w->text, name, key_len) == 0)
	if (KEY_IS("sackok") || KEY_IS("ts")) {
		bool is_ts = KEY_IS("ts");
		bool *given = is_ts ? ts_given : &send->sack_permitted;

		if (eq)
			return error_word(p, w, "%.*s without a value", (int)key_len, w->text);
		if (*given)
			return error_word(p, w, "each field at most once");
		*given = true;
		if (is_ts)
			send->timestamp = true;
		return 0;
	}
	if (!eq)
		return error_word(p, w, "%s=VALUE", w->text);
	if (KEY_IS("conn")) {
		if (send->conn >= 0)
			return error_word(p, w, "each field at most once");
		send->conn = find_conn(p, eq + 1, strlen(eq + 1));
		if (send->conn < 0)
			return conn_error(p, word_column(w, key_len + 1),
					  eq[1] ? eq + 1 : "nothing", -1);
		/* seq, ack and window come from a TCP socket; ports alone from either. */
		if (send->protocol == PROTO_TCP && conn_is_udp(p, send->conn))
			return error_at(p, word_column(w, key_len + 1), eq + 1, -1,
					"a tcp connection (%s is a udp connection)", eq + 1);
		return 0;
	}
	if (KEY_IS("flags")) {
		if (send->has_flags)
			return error_word(p, w, "each field at most once");
		send->has_flags = true;
		return parse_flags(p, w, key_len + 1, &send->flags);
	}
	if (KEY_IS("quote")) {
		if (send->has_quote)
			return error_word(p, w, "each field at most once");
		send->has_quote = true;
		return parse_endpoint(p, w, key_len + 1, &send->quote);
	}
	if (KEY_IS("sack") || KEY_IS("opt")) {
		bool is_sack = KEY_IS("sack");

		if (is_sack ? send->n_sack != 0 : send->raw_len != 0)
			return error_word(p, w, "each field at most once");
		return is_sack ? parse_sack(p, w, key_len + 1, send)
			       : parse_raw_options(p, w, key_len + 1, send);
	}
	for (field = 0; field < SEND_FIELD_COUNT; field++)
		if (KEY_IS(send_field_names[field]))
			break;
#undef KEY_IS
	if (field == SEND_FIELD_COUNT)
		return field_error(p, w, send->protocol);
	if (send->fields[field].present || (field == SEND_CSUM && send->bad_checksum) ||
	    (field == SEND_TYPE && send->icmp_message != ICMP_MSG_NONE))
		return error_word(p, w, "each field at most once");
	if (field == SEND_CSUM && strcmp(eq + 1, "bad") == 0) {
		send->bad_checksum = true;
		return 0;
	}
	if (field == SEND_TYPE)
		return parse_icmp_type(p, w, key_len + 1, send);
	if (field == SEND_TSVAL || field == SEND_TSECR)
		send->timestamp = true;
	return parse_expr(p, w, key_len + 1, send_field_max[field], &send->fields[field]);
}

int parse_send(struct parser *p)
{
	struct send_step *send = &p->step->send;
	struct word *dst, *field, *last = NULL;
	bool ts_given = false;

	send->conn = -1;
	send->quote.conn = -1;
	if (take_host(p, send->src) || expect_keyword(p, "->"))
		return -1;
	dst = peek_word(p);
	if (take_destination(p, send->dst))
		return -1;
	if (strcmp(send->src, send->dst) == 0)
		return error_word(p, dst, "a destination other than the source");
	if (take_protocol(p, &send->protocol))
		return -1;
	while ((field = peek_word(p))) {
		if (parse_send_field(p, send, &ts_given))
			return -1;
		last = field;
	}
	if (last && send->protocol == PROTO_TCP && check_options_fit(p, last, send))
		return -1;
	p->seen_sender = true;
	return 0;
}
