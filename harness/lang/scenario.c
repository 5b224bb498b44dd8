/* scenario — parse a scenario file (*.ct) into the steps the engine runs.
 *
 * One statement per line.  Each line is cut into words that remember their
 * column; a table maps the first word to its parser, and the parsers take words
 * through a small set of helpers ("a host", "a number in range", "end of line")
 * that all report errors the same way:
 *
 *	FILE:LINE:COLUMN: expected WHAT, found WHAT
 *
 * Columns count bytes from 1.  A missing argument is reported just after the
 * last character of the statement, with "found end of line".  A missing name or
 * topology statement is reported at the end of the file: the line after the
 * last one, column 1, "found end of file".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/tcp.h>
#include <sys/stat.h>

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
 * Each name is a send_field_names entry or one of conn, flags, sackok, ts, quote.
 */
static const char *const tcp_send_fields[] = {
	"conn", "flags", "sackok", "ts", "sport", "dport", "seq", "ack", "win", "urg",
	"doff", "len", "mss", "wscale", "ttl", "tos", "tsval", "tsecr", "truncate",
	"csum", NULL,
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

static enum icmp_message icmp_message_parse(const char *name)
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

static const struct {
	const char *name;
	int value;
} socket_errnos[] = {
	{ "ECONNRESET", ECONNRESET }, { "ECONNREFUSED", ECONNREFUSED },
	{ "ETIMEDOUT", ETIMEDOUT }, { "EPIPE", EPIPE },
	{ "EHOSTUNREACH", EHOSTUNREACH }, { "ENETUNREACH", ENETUNREACH },
	{ "none", 0 },
};

#define N_SOCKET_ERRNOS	(sizeof(socket_errnos) / sizeof(socket_errnos[0]))

int socket_errno_parse(const char *name)
{
	for (size_t i = 0; i < N_SOCKET_ERRNOS; i++)
		if (strcmp(name, socket_errnos[i].name) == 0)
			return socket_errnos[i].value;
	return -1;
}

/* Columns of /proc/net/stat/nf_conntrack. */
static const char *const stat_counters[] = {
	"entries", "clashres", "found", "new", "invalid", "ignore", "delete",
	"chainlength", "insert", "insert_failed", "drop", "early_drop",
	"icmp_error", "expect_new", "expect_create", "expect_delete",
	"search_restart", NULL,
};

/* ---- Where texts and terms are kept ---- */

/* Chunks of at least 64 KiB, never moved: what they hold stays where it is, and
 * a step keeps only a pointer (most steps use few of their fields). */
struct scenario_chunk {
	struct scenario_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define CHUNK_SIZE	(64u << 10)

void *keep(struct parser *p, size_t size)
{
	struct scenario_chunk *chunk = p->scenario->strings;
	size_t align = sizeof(max_align_t);
	void *kept;

	size = (size + align - 1) / align * align;
	if (!chunk || chunk->size - chunk->used < size) {
		size_t room = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		chunk = malloc(sizeof(*chunk) + room);
		if (!chunk) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return NULL;
		}
		chunk->used = 0;
		chunk->size = room;
		chunk->next = p->scenario->strings;
		p->scenario->strings = chunk;
	}
	kept = (char *)chunk->data + chunk->used;
	chunk->used += size;
	return kept;
}

const char *keep_text(struct parser *p, const char *text, size_t len)
{
	char *kept = keep(p, len + 1);

	if (kept) {
		memcpy(kept, text, len);
		kept[len] = '\0';
	}
	return kept;
}

/* ---- Statements ---- */

struct command {
	const char *name;
	const char *usage;	/* how lists show it, when not just the name */
	int (*parse)(struct parser *p);
	bool is_step;
	enum step_kind step_kind;
};

/* The command of table named by the next word, or an error listing them all. */
static const struct command *select_command(struct parser *p, const struct command *table,
					    const char *what)
{
	struct word *w = peek_word(p);
	const char *names[32];
	char list[512];
	size_t n = 0;

	for (; n < sizeof(names) / sizeof(names[0]) - 1 && table[n].name; n++) {
		if (w && is_plain(w) && strcmp(w->text, table[n].name) == 0) {
			p->next++;
			return &table[n];
		}
		names[n] = table[n].usage ? table[n].usage : table[n].name;
	}
	names[n] = NULL;
	list_names(names, list, sizeof(list));
	if (w)
		error_word(p, w, "%s (%s)", what, list);
	else
		error_at(p, p->end_column, "end of line", -1, "%s (%s)", what, list);
	return NULL;
}

static int parse_sysctl(struct parser *p)
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

static int parse_nft(struct parser *p)
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

static int parse_listen(struct parser *p)
{
	struct listen_step *listen = &p->step->listen;

	if (take_host_port(p, listen->host, &listen->port))
		return -1;
	return expect_end(p);
}

static int parse_connect(struct parser *p)
{
	struct connect_step *connect = &p->step->connect;
	struct scenario *scenario = p->scenario;
	struct word *w = next_plain(p, "a connection name");
	struct word *server;
	const char *c;

	if (!w)
		return -1;
	for (c = w->text; *c; c++)
		if (!(islower((unsigned char)*c) || (c > w->text &&
		      (isdigit((unsigned char)*c) || *c == '_'))))
			break;
	if (c == w->text || *c || strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "a connection name of [a-z][a-z0-9_]*, at most %d characters",
				  SCENARIO_IDENT_MAX - 1);
	if (find_conn(p, w->text, strlen(w->text)) >= 0)
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
	const char *what = "tcp, udp, may-fail or end of line";

	w = peek_word(p);
	if (w && is_plain(w) && (strcmp(w->text, "tcp") == 0 || strcmp(w->text, "udp") == 0)) {
		connect->protocol = strcmp(w->text, "udp") ? PROTO_TCP : PROTO_UDP;
		p->next++;
		w = peek_word(p);
		what = "may-fail or end of line";
	}
	if (w) {
		if (!is_plain(w) || strcmp(w->text, "may-fail") != 0)
			return error_word(p, w, "%s", what);
		connect->may_fail = true;
		p->next++;
	}
	scenario->conn_protocols[connect->conn] = connect->protocol;
	return expect_end(p);
}

/* ---- Table exhaustion ---- */

/* flood SRC -> DST:PORT syn count=N [threads=T] */
static int parse_flood(struct parser *p)
{
	struct flood_step *flood = &p->step->flood;
	uint64_t value;

	if (take_host(p, flood->src) || expect_keyword(p, "->") ||
	    take_host_port_as(p, flood->dst, &flood->port, true) || expect_keyword(p, "syn"))
		return -1;
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
static int parse_fill(struct parser *p)
{
	struct fill_step *fill = &p->step->fill;
	uint64_t value;

	if (take_host(p, fill->host) || take_count(p, &fill->count))
		return -1;
	if (peek_word(p)) {
		if (take_keyed_number(p, "timeout", 1, 432000, &value))
			return -1;
		fill->timeout = (uint32_t)value;
	}
	p->seen_sender = true;
	return expect_end(p);
}

/* flush ct HOST */
static int parse_flush(struct parser *p)
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

static const char tcp_states_what[] =
	"a TCP state (NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, "
	"CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2)";

static const char socket_states_what[] =
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

/* STATE or STATE|STATE…, where the kernel may be in either for a reason the
 * scenario gives (a timer that may fire first): the first in *state, each
 * further one as a bit of *also. */
static int take_states(struct parser *p, const char *what, int (*parse)(const char *name),
		       int *state, uint32_t *also)
{
	struct word *w = next_plain(p, what);
	const char *start;

	if (!w)
		return -1;
	*state = -1;
	*also = 0;
	for (start = w->text;;) {
		const char *bar = strchrnul(start, '|');
		char name[32];
		int s;

		snprintf(name, sizeof(name), "%.*s", (int)(bar - start), start);
		s = (size_t)(bar - start) < sizeof(name) ? parse(name) : -1;
		if (s < 0 || s >= 32 || s == *state || (*also & (1u << s)))
			return error_at(p, word_column(w, (size_t)(start - w->text)), start,
					(int)(bar - start), "%s%s", what,
					s >= 0 ? " not named before" : "");
		if (*state < 0)
			*state = s;
		else
			*also |= 1u << s;
		if (!*bar)
			return 0;
		start = bar + 1;
	}
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

static int parse_write(struct parser *p)
{
	return parse_socket_step(p, SOCKET_WRITE);
}

static int parse_read(struct parser *p)
{
	return parse_socket_step(p, SOCKET_READ);
}

static int parse_shutdown(struct parser *p)
{
	return parse_socket_step(p, SOCKET_SHUTDOWN);
}

static int parse_close(struct parser *p)
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
static int parse_wait(struct parser *p)
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

static int parse_delete(struct parser *p)
{
	struct ct_step *ct = &p->step->ct;

	ct->delete = true;
	ct->state = -1;
	if (expect_keyword(p, "ct") || take_ct_conn(p, &ct->conn))
		return -1;
	return expect_end(p);
}

static int parse_flags(struct parser *p, const struct word *w, size_t off, uint8_t *flags)
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

static const char icmp_type_what[] =
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

/* One field of send: conn=, flags=, sackok, ts, quote=, csum=bad or NAME=EXPR. */
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

static int parse_send(struct parser *p)
{
	struct send_step *send = &p->step->send;
	struct word *dst;
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
	while (peek_word(p))
		if (parse_send_field(p, send, &ts_given))
			return -1;
	p->seen_sender = true;
	return 0;
}

/* The pattern after "reason": "TEXT" or none. */
static int take_reason(struct parser *p, bool *has_reason, bool *reason_none, const char **reason)
{
	struct word *w = peek_word(p);

	if (!w)
		return error_at(p, p->end_column, "end of line", -1, "\"TEXT\" or none");
	*has_reason = true;
	if (is_plain(w) && strcmp(w->text, "none") == 0) {
		p->next++;
		*reason_none = true;
		return 0;
	}
	return take_string(p, "\"TEXT\" or none", false, reason);
}

/* Optional "reason "TEXT"" or "reason none" after a verdict; required alone. */
static int parse_reason_clause(struct parser *p, struct expect_step *expect)
{
	return take_reason(p, &expect->has_reason, &expect->reason_none, &expect->reason);
}

/* Expectations on the last packet need a packet: a send, or a connect or socket
 * step, whose last packet the engine takes. */
static int need_send(struct parser *p)
{
	struct word *w = &p->words[p->next - 1];

	if (!p->seen_sender)
		return error_word(p, w, "a send before this expect");
	return 0;
}

static int parse_expect_verdict(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	const char *what = "a verdict (new, established, related, invalid, untracked)";
	struct word *w;

	expect->kind = EXPECT_VERDICT;
	if (need_send(p))
		return -1;
	w = next_plain(p, what);
	if (!w)
		return -1;
	if (verdict_parse(w->text, &expect->verdict))
		return error_word(p, w, "%s", what);
	w = peek_word(p);
	if (!w)
		return 0;
	if (!is_plain(w) || strcmp(w->text, "reason") != 0)
		return error_word(p, w, "reason or end of line");
	p->next++;
	if (parse_reason_clause(p, expect))
		return -1;
	return expect_end(p);
}

static int parse_expect_reason(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;

	expect->kind = EXPECT_REASON;
	if (need_send(p) || parse_reason_clause(p, expect))
		return -1;
	return expect_end(p);
}

/* timeout MIN..MAX, in seconds. */
static int parse_timeout(struct parser *p, struct expect_step *expect)
{
	const char *what = "MIN..MAX seconds";
	struct word *w = next_plain(p, what);
	const char *dots;
	uint64_t min, max;

	if (!w)
		return -1;
	dots = strstr(w->text, "..");
	if (!dots)
		return error_word(p, w, "%s", what);
	if (number_in_range(p, w->text, (size_t)(dots - w->text), w->column,
			    0, UINT32_MAX, &min) ||
	    number_in_range(p, dots + 2, strlen(dots + 2),
			    word_column(w, (size_t)(dots + 2 - w->text)), 0, UINT32_MAX, &max))
		return -1;
	if (max < min)
		return error_at(p, word_column(w, (size_t)(dots + 2 - w->text)), dots + 2, -1,
				"a maximum of at least %" PRIu64, min);
	expect->timeout_min = (int64_t)min;
	expect->timeout_max = (int64_t)max;
	return 0;
}

/* ct CONN gone, or ct CONN and at least one of: state S, [!]assured,
 * [!]seen_reply, timeout MIN..MAX, in any order. */
static int parse_expect_ct(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	struct word *w;

	expect->kind = EXPECT_CT;
	if (take_ct_conn(p, &expect->conn))
		return -1;
	w = peek_word(p);
	if (w && is_plain(w) && strcmp(w->text, "gone") == 0) {
		p->next++;
		expect->gone = true;
		return expect_end(p);
	}
	if (!w)
		return error_at(p, p->end_column, "end of line", -1,
				"state, gone, assured, !assured, seen_reply, !seen_reply or timeout");
	for (bool first = true; (w = peek_word(p)); first = false) {
		/* A quoted word is never a clause. */
		const char *name = is_plain(w) ? w->text : "";
		bool negated = name[0] == '!';
		const char *flag = name + negated;
		int *check = NULL;
		bool given;

		if (strcmp(name, "state") == 0)
			given = expect->state >= 0;
		else if (strcmp(name, "timeout") == 0)
			given = expect->timeout_min >= 0;
		else if (strcmp(flag, "assured") == 0)
			given = *(check = &expect->assured) >= 0;
		else if (strcmp(flag, "seen_reply") == 0)
			given = *(check = &expect->seen_reply) >= 0;
		else if (first)
			return error_word(p, w, "state, gone, assured, !assured, seen_reply, "
					  "!seen_reply or timeout");
		else
			return error_word(p, w, "state, assured, !assured, seen_reply, "
					  "!seen_reply, timeout or end of line");
		if (given)
			return error_word(p, w, "each of state, assured, seen_reply and "
					  "timeout once");
		p->next++;
		if (check) {
			*check = !negated;
		} else if (name[0] == 't') {
			if (parse_timeout(p, expect))
				return -1;
		} else {
			/* UDP conntrack entries have no state to speak of. */
			if (conn_is_udp(p, expect->conn))
				return error_word(p, w, "a clause other than state (%s is a udp "
						  "connection)", p->scenario->conns[expect->conn]);
			if (take_states(p, tcp_states_what, tcp_state_parse, &expect->state,
					&expect->also_states))
				return -1;
		}
	}
	return 0;
}

static int parse_packet_type(struct parser *p, const struct word *w, size_t off,
			     struct packet_match *packet)
{
	const char *text = w->text + off;
	uint64_t type;

	packet->has_type = true;
	if (isdigit((unsigned char)*text)) {
		if (number_in_range(p, text, strlen(text), word_column(w, off), 0, 255, &type))
			return -1;
		packet->icmp_type = (uint8_t)type;
		return 0;
	}
	packet->icmp_message = icmp_message_parse(text);
	if (packet->icmp_message == ICMP_MSG_NONE)
		return error_at(p, word_column(w, off), *text ? text : "nothing", -1,
				"%s", icmp_type_what);
	return 0;
}

/* The clauses of expect [no] packet, per protocol. */
static const char *const packet_clauses_what[] = {
	[PROTO_TCP]	= "flags=, seq=, ack=, verdict, reason or end of line",
	[PROTO_UDP]	= "verdict, reason or end of line",
	[PROTO_ICMP]	= "type=, verdict, reason or end of line",
};

static int parse_packet_clause(struct parser *p, struct packet_match *packet, bool wire)
{
	const char *verdict_what = "a verdict (new, established, related, invalid, untracked)";
	struct word *w = next_word(p, "a clause");
	bool tcp = packet->protocol == PROTO_TCP;
	const char *eq = strchr(w->text, '=');
	size_t key_len = eq ? (size_t)(eq - w->text) : strlen(w->text);
	struct expr *expr = NULL;

#define KEY_IS(name)	(key_len == strlen(name) && strncmp(w->text, name, key_len) == 0)
	if (!is_plain(w))
		return error_word(p, w, "%s", packet_clauses_what[packet->protocol]);
	if (!eq && KEY_IS("verdict")) {
		if (packet->verdict != VERDICT_UNSEEN)
			return error_word(p, w, "each clause once");
		w = next_plain(p, verdict_what);
		if (!w)
			return -1;
		if (verdict_parse(w->text, &packet->verdict))
			return error_word(p, w, "%s", verdict_what);
		return 0;
	}
	if (!eq && KEY_IS("reason")) {
		if (packet->has_reason)
			return error_word(p, w, "each clause once");
		return take_reason(p, &packet->has_reason, &packet->reason_none, &packet->reason);
	}
	if (eq && tcp && KEY_IS("flags")) {
		if (packet->has_flags)
			return error_word(p, w, "each clause once");
		packet->has_flags = true;
		return parse_flags(p, w, key_len + 1, &packet->flags);
	}
	if (eq && tcp && KEY_IS("seq"))
		expr = &packet->seq;
	else if (eq && tcp && KEY_IS("ack"))
		expr = &packet->ack;
	if (expr) {
		if (expr->present)
			return error_word(p, w, "each clause once");
		return parse_expr(p, w, key_len + 1, UINT32_MAX, expr);
	}
	if (eq && packet->protocol == PROTO_ICMP && KEY_IS("type")) {
		if (packet->has_type)
			return error_word(p, w, "each clause once");
		return parse_packet_type(p, w, key_len + 1, packet);
	}
	if (eq && wire && (KEY_IS("src") || KEY_IS("dst"))) {
		char *name = w->text[0] == 's' ? packet->addr_src : packet->addr_dst;
		const char *value = eq + 1;

		if (name[0])
			return error_word(p, w, "each clause once");
		if (!is_destination(p, value))
			return destination_error(p, word_column(w, key_len + 1), value, -1);
		snprintf(name, SCENARIO_IDENT_MAX, "%s", value);
		return 0;
	}
#undef KEY_IS
	return error_word(p, w, "%s", packet_clauses_what[packet->protocol]);
}

/* packet SRC -> DST PROTO [clauses]: the observer saw such a packet since the
 * last step that sent; absent: it did not.  wire SRC -> DST …: the same on the
 * link from SRC to DST, as the wire capture saw it. */
static int parse_packet_match(struct parser *p, bool absent, bool wire)
{
	struct expect_step *expect = &p->step->expect;
	struct packet_match *packet = &expect->packet;
	struct word *dst;

	expect->kind = wire ? EXPECT_WIRE : EXPECT_PACKET;
	packet->absent = absent;
	if (need_send(p) || take_host(p, packet->src) || expect_keyword(p, "->"))
		return -1;
	dst = peek_word(p);
	if (take_host(p, packet->dst))
		return -1;
	if (strcmp(packet->src, packet->dst) == 0)
		return error_word(p, dst, "a destination other than the source");
	if (take_protocol(p, &packet->protocol))
		return -1;
	while (peek_word(p))
		if (parse_packet_clause(p, packet, wire))
			return -1;
	return 0;
}

static int parse_expect_packet(struct parser *p)
{
	return parse_packet_match(p, false, false);
}

static int parse_expect_wire(struct parser *p)
{
	return parse_packet_match(p, false, true);
}

static int parse_kmsg(struct parser *p, bool absent);

/* no packet … | no wire … | no kmsg … */
static int parse_expect_no(struct parser *p)
{
	struct word *w = next_plain(p, "packet, wire or kmsg");

	if (!w)
		return -1;
	if (strcmp(w->text, "packet") == 0)
		return parse_packet_match(p, true, false);
	if (strcmp(w->text, "wire") == 0)
		return parse_packet_match(p, true, true);
	if (strcmp(w->text, "kmsg") == 0)
		return parse_kmsg(p, true);
	return error_word(p, w, "packet, wire or kmsg");
}

/* socket EP error E|none, socket EP state S. */
static int parse_expect_socket(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	const char *errno_what = "an error (ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, "
				 "EHOSTUNREACH, ENETUNREACH, none)";
	struct word *w;

	expect->kind = EXPECT_SOCKET;
	if (take_endpoint(p, &expect->endpoint))
		return -1;
	w = next_plain(p, "error or state");
	if (!w)
		return -1;
	if (strcmp(w->text, "error") == 0) {
		w = next_plain(p, errno_what);
		if (!w)
			return -1;
		expect->socket_errno = socket_errno_parse(w->text);
		if (expect->socket_errno < 0)
			return error_word(p, w, "%s", errno_what);
	} else if (strcmp(w->text, "state") == 0) {
		if (conn_is_udp(p, expect->endpoint.conn))
			return error_word(p, w, "error (%s is a udp connection)",
					  p->scenario->conns[expect->endpoint.conn]);
		if (take_states(p, socket_states_what, socket_state_parse, &expect->socket_state,
				&expect->socket_also_states))
			return -1;
	} else {
		return error_word(p, w, "error or state");
	}
	return expect_end(p);
}

static const char *const compare_op_texts[] = {
	[CMP_EQ] = "", [CMP_GT] = ">", [CMP_GE] = ">=", [CMP_LT] = "<", [CMP_LE] = "<=",
};

const char *compare_op_text(enum compare_op op)
{
	return (unsigned)op < sizeof(compare_op_texts) / sizeof(compare_op_texts[0]) ?
	       compare_op_texts[op] : "?";
}

/* A leading >, >=, < or <=; returns how many characters it took. */
static size_t take_compare_op(const char *text, enum compare_op *op)
{
	*op = CMP_EQ;
	if (text[0] == '>' || text[0] == '<') {
		bool equal = text[1] == '=';

		*op = text[0] == '>' ? (equal ? CMP_GE : CMP_GT) : (equal ? CMP_LE : CMP_LT);
		return equal ? 2 : 1;
	}
	return 0;
}

static int parse_expect_stat(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	char what[512] = "a counter of stat/nf_conntrack (";
	struct word *w;
	const char *delta;
	uint64_t value;
	int sign = 1;

	expect->kind = EXPECT_STAT;
	if (need_send(p))
		return -1;
	list_names(stat_counters, what + strlen(what), sizeof(what) - strlen(what) - 1);
	strcat(what, ")");
	w = next_plain(p, what);
	if (!w)
		return -1;
	for (size_t i = 0; stat_counters[i]; i++)
		if (strcmp(w->text, stat_counters[i]) == 0)
			strcpy(expect->counter, w->text);
	if (!expect->counter[0])
		return error_word(p, w, "%s", what);
	w = next_plain(p, "a delta (+N, -N, N, >N, >=N, <N or <=N)");
	if (!w)
		return -1;
	delta = w->text + take_compare_op(w->text, &expect->op);
	if (expect->op == CMP_EQ && (*delta == '+' || *delta == '-'))
		sign = *delta++ == '-' ? -1 : 1;
	if (number_in_range(p, delta, strlen(delta), word_column(w, (size_t)(delta - w->text)),
			    0, UINT32_MAX, &value))
		return -1;
	expect->delta = sign * (int64_t)value;
	return expect_end(p);
}

/* entries OP N | entries OP max[±N]: the observing host's entry count. */
static int parse_expect_entries(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	struct word *w;
	size_t off;

	expect->kind = EXPECT_ENTRIES;
	w = next_plain(p, "a count (N, >N, >=N, <N, <=N; N may be max, max+N or max-N)");
	if (!w)
		return -1;
	off = take_compare_op(w->text, &expect->op);
	if (parse_table_size(p, w, off, 0, UINT32_MAX, &expect->entries))
		return -1;
	return expect_end(p);
}

/* kmsg "TEXT" | no kmsg "TEXT" (after "no") */
static int parse_kmsg(struct parser *p, bool absent)
{
	struct expect_step *expect = &p->step->expect;

	expect->kind = EXPECT_KMSG;
	expect->absent = absent;
	if (take_string(p, "\"TEXT\"", false, &expect->reason))
		return -1;
	return expect_end(p);
}

static int parse_expect_kmsg(struct parser *p)
{
	return parse_kmsg(p, false);
}

static const struct command expect_commands[] = {
	{ .name = "verdict",	.parse = parse_expect_verdict },
	{ .name = "reason",	.parse = parse_expect_reason },
	{ .name = "ct",		.parse = parse_expect_ct },
	{ .name = "stat",	.parse = parse_expect_stat },
	{ .name = "packet",	.parse = parse_expect_packet },
	{ .name = "wire",	.parse = parse_expect_wire },
	{ .name = "no",		.usage = "no packet, no wire, no kmsg",	.parse = parse_expect_no },
	{ .name = "socket",	.parse = parse_expect_socket },
	{ .name = "entries",	.parse = parse_expect_entries },
	{ .name = "kmsg",	.parse = parse_expect_kmsg },
	{ .name = NULL },
};

static int parse_expect(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	const struct command *command;

	/* Nothing to check unless the expectation says so. */
	expect->reason = "";
	expect->packet.reason = "";
	expect->conn = -1;
	expect->state = -1;
	expect->assured = -1;
	expect->seen_reply = -1;
	expect->timeout_min = -1;
	expect->timeout_max = -1;
	expect->packet.verdict = VERDICT_UNSEEN;
	expect->endpoint.conn = -1;
	expect->socket_errno = -1;
	expect->socket_state = -1;
	command = select_command(p, expect_commands, "an expectation");
	return command ? command->parse(p) : -1;
}

static const struct command statements[] = {
	{ .name = "name",		.parse = parse_name },
	{ .name = "about",	.parse = parse_about_words },	/* the raw line, see parse_line */
	{ .name = "topology",	.parse = parse_topology },
	{ .name = "family",	.parse = parse_family },
	{ .name = "variant",	.parse = parse_variant },
	{ .name = "kernel",	.parse = parse_kernel },
	{ .name = "nat",		.parse = parse_nat },
	{ .name = "sysctl",	.parse = parse_sysctl,	.is_step = true,	.step_kind = STEP_SYSCTL },
	{ .name = "nft",		.parse = parse_nft,	.is_step = true,	.step_kind = STEP_NFT },
	{ .name = "listen",	.parse = parse_listen,	.is_step = true,	.step_kind = STEP_LISTEN },
	{ .name = "connect",	.parse = parse_connect,	.is_step = true,	.step_kind = STEP_CONNECT },
	{ .name = "send",	.parse = parse_send,	.is_step = true,	.step_kind = STEP_SEND },
	{ .name = "write",	.parse = parse_write,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "read",	.parse = parse_read,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "shutdown",	.parse = parse_shutdown, .is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "close",	.parse = parse_close,	.is_step = true,	.step_kind = STEP_SOCKET },
	/* wait ct … turns the step into STEP_CT */
	{ .name = "wait",	.parse = parse_wait,	.is_step = true,	.step_kind = STEP_SOCKET },
	{ .name = "delete",	.parse = parse_delete,	.is_step = true,	.step_kind = STEP_CT },
	{ .name = "flush",	.parse = parse_flush,	.is_step = true,	.step_kind = STEP_CT },
	{ .name = "flood",	.parse = parse_flood,	.is_step = true,	.step_kind = STEP_FLOOD },
	{ .name = "fill",	.parse = parse_fill,	.is_step = true,	.step_kind = STEP_FILL },
	{ .name = "expect",	.parse = parse_expect,	.is_step = true,	.step_kind = STEP_EXPECT },
	{ .name = NULL },
};

static struct step *add_step(struct parser *p)
{
	struct scenario *scenario = p->scenario;

	if (scenario->n_steps == SCENARIO_STEPS_MAX) {
		error_at(p, p->words[p->keyword].column, "another", -1, "at most %d steps",
			 SCENARIO_STEPS_MAX);
		return NULL;
	}
	if (scenario->n_steps == p->steps_cap) {
		/* 1.5 times: a long scenario keeps less room unused. */
		size_t cap = p->steps_cap ? p->steps_cap + p->steps_cap / 2 : 16;
		struct step *steps = realloc(scenario->steps, cap * sizeof(*steps));

		if (!steps) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return NULL;
		}
		scenario->steps = steps;
		p->steps_cap = cap;
	}
	memset(&scenario->steps[scenario->n_steps], 0, sizeof(struct step));
	return &scenario->steps[scenario->n_steps++];
}

/* One line, without its '\n'. */
static int parse_line(struct parser *p, const char *line, size_t len)
{
	const struct command *command;
	struct condition when = { 0 };
	bool has_condition;
	size_t start = 0;
	size_t keyword_len;

	len = comment_start(line, len);
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	while (start < len && is_blank(line[start]))
		start++;
	if (start == len)
		return 0;
	p->end_column = (int)len + 1;

	keyword_len = 0;
	while (start + keyword_len < len && !is_blank(line[start + keyword_len]))
		keyword_len++;
	if (keyword_len == 5 && strncmp(line + start, "about", 5) == 0) {
		size_t text = start + keyword_len;

		while (text < len && is_blank(line[text]))
			text++;
		p->seen_statement = true;
		return add_about(p, line + text, len - text);
	}

	if (split_words(p, line, len))
		return -1;
	has_condition = p->words[0].raw[0] == '@';
	if (has_condition) {
		if (parse_condition(p, &p->words[0], &when))
			return -1;
		p->next = 1;
	}
	p->keyword = p->next;
	command = select_command(p, statements, "a statement");
	if (!command) {
		/* Never echo a file that does not start like a scenario: it may be
		 * anything ctlab can read (a root-only file behind a symlink). */
		if (!p->seen_statement)
			snprintf(p->err, p->errsize, "%s:%d:%d: expected a statement (name, about, "
				 "topology, …): not a scenario file, its content is not shown",
				 p->filename, p->line, p->words[p->keyword].column);
		return -1;
	}
	p->seen_statement = true;
	if (has_condition && !command->is_step)
		return error_word(p, &p->words[p->keyword], "a step after a condition");
	if (command->is_step) {
		const struct word *keyword = &p->words[p->keyword];
		size_t text_len = len - start;

		if (!p->seen_topology)
			return error_word(p, keyword, "a topology statement before the first step");
		p->step = add_step(p);
		if (!p->step)
			return -1;
		p->step->kind = command->step_kind;
		/* The statement as written starts at its condition, if any. */
		p->step->pos.line = p->line;
		p->step->pos.column = p->words[0].column;
		p->step->when = when;
		p->step->text = keep_text(p, line + start, text_len);
		if (!p->step->text)
			return -1;
	}
	return command->parse(p);
}

struct scenario *scenario_parse_buffer(const char *text, size_t len, const char *filename,
				       char *err, size_t errsize)
{
	struct parser p = { .err = err, .errsize = errsize };
	const char *line = text, *end = text + len;
	char shown[sizeof(p.scenario->path)];
	int status = -1;

	/* Even a file name may hold what a terminal acts on: it is shown escaped. */
	snprintf(shown, sizeof(shown), "%s", filename ? filename : "<string>");
	safetext_escape(shown, sizeof(shown), false);
	p.filename = shown;

	if (errsize)
		err[0] = '\0';
	p.scenario = calloc(1, sizeof(*p.scenario));
	if (!p.scenario)
		goto out_nomem;
	p.scenario->about = strdup("");
	if (!p.scenario->about)
		goto out_nomem;
	snprintf(p.scenario->path, sizeof(p.scenario->path), "%s", p.filename);
	p.scenario->families = FAMILY_BOTH;
	if (check_content(&p, text, len))
		goto out_free_words;

	while (line < end) {
		const char *newline = memchr(line, '\n', (size_t)(end - line));

		if (!newline)
			newline = end;
		p.line++;
		if (parse_line(&p, line, (size_t)(newline - line)))
			goto out_free_words;
		line = newline < end ? newline + 1 : end;
	}

	/* Missing statements are reported at the end of the file. */
	p.line++;
	if (!p.seen_name)
		error_at(&p, 1, "end of file", -1, "a name statement");
	else if (!p.seen_topology)
		error_at(&p, 1, "end of file", -1, "a topology statement");
	else
		status = 0;
	/* Give back the room kept for steps that never came. */
	if (!status && p.scenario->n_steps) {
		struct step *fitted = realloc(p.scenario->steps,
					      p.scenario->n_steps * sizeof(*fitted));

		if (fitted)
			p.scenario->steps = fitted;
	}

out_free_words:
	free(p.words);
	free(p.text_buf);
	if (status) {
		scenario_free(p.scenario);
		return NULL;
	}
	return p.scenario;

out_nomem:
	snprintf(err, errsize, "%s: %s", p.filename, strerror(ENOMEM));
	goto out_free_words;
}

struct scenario *scenario_parse_string(const char *text, const char *filename,
				       char *err, size_t errsize)
{
	return scenario_parse_buffer(text, strlen(text), filename, err, errsize);
}

void scenario_free(struct scenario *scenario)
{
	if (!scenario)
		return;
	while (scenario->strings) {
		struct scenario_chunk *next = scenario->strings->next;

		free(scenario->strings);
		scenario->strings = next;
	}
	free(scenario->about);
	free(scenario->steps);
	free(scenario);
}
