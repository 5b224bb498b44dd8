/* expectations — the expect statements parsed into steps; expect.c judges them. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Tables ---- */

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

/* ---- The expect statements ---- */

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

/* Each #{EXPR} of a reason pattern (the string word w), parsed. */
static int parse_reason_values(struct parser *p, const struct word *w, struct reason_values *values)
{
	struct expr exprs[REASON_VALUES_MAX], *kept;
	const char *text = w->text, *open = text;
	size_t n = 0;

	while ((open = strstr(open, "#{"))) {
		const char *close = strchr(open, '}');
		size_t off = (size_t)(open - text) + 2;

		if (!close)
			return error_word(p, w, "a reason pattern whose #{ is closed by }");
		if (n == REASON_VALUES_MAX)
			return error_word(p, w, "at most %d #{…} in a reason pattern",
					  REASON_VALUES_MAX);
		if (parse_expr_len(p, w, off, (size_t)(close - text) - off, UINT32_MAX, &exprs[n++]))
			return -1;
		open = close + 1;
	}
	if (!n)
		return 0;
	kept = keep(p, n * sizeof(*kept));
	if (!kept)
		return -1;
	memcpy(kept, exprs, n * sizeof(*kept));
	values->exprs = kept;
	values->n = (uint8_t)n;
	return 0;
}

/* The pattern after "reason": "TEXT" or none. */
static int take_reason(struct parser *p, bool *has_reason, bool *reason_none, const char **reason,
		       struct reason_values *values)
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
	if (take_string(p, "\"TEXT\" or none", false, reason))
		return -1;
	return parse_reason_values(p, w, values);
}

/* Optional "reason "TEXT"" or "reason none" after a verdict; required alone. */
static int parse_reason_clause(struct parser *p, struct expect_step *expect)
{
	return take_reason(p, &expect->has_reason, &expect->reason_none, &expect->reason,
			   &expect->values);
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
	[PROTO_TCP]	= "flags=, seq=, ack=, sport=, dport=, verdict, reason, within, as or end of line",
	[PROTO_UDP]	= "sport=, dport=, verdict, reason, within, as or end of line",
	[PROTO_ICMP]	= "type=, verdict, reason, within, as or end of line",
};

/* as NAME: the packet's fields become terms (NAME.seq …) for later steps. */
static int take_packet_name(struct parser *p, struct packet_match *packet)
{
	struct scenario *scenario = p->scenario;
	struct word *w = next_plain(p, "a packet name");

	if (!w)
		return -1;
	if (packet->absent)
		return error_word(p, w, "a packet that is seen (expect no … names none)");
	if (packet->name >= 0)
		return error_word(p, w, "each clause once");
	if (!is_ident(w->text) || strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "a packet name of [a-z][a-z0-9_]*, at most %d characters",
				  SCENARIO_IDENT_MAX - 1);
	if (find_conn(p, w->text, strlen(w->text)) >= 0 ||
	    find_packet(p, w->text, strlen(w->text)) >= 0 || strcmp(w->text, "last") == 0)
		return error_word(p, w, "a name not used before (connections and packets share names)");
	if (scenario->n_packets == SCENARIO_PACKETS_MAX)
		return error_word(p, w, "at most %d named packets", SCENARIO_PACKETS_MAX);
	packet->name = (int)scenario->n_packets;
	strcpy(scenario->packets[scenario->n_packets++], w->text);
	return 0;
}

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
		return take_reason(p, &packet->has_reason, &packet->reason_none, &packet->reason,
				   &packet->values);
	}
	if (!eq && KEY_IS("within")) {
		if (packet->within_ms)
			return error_word(p, w, "each clause once");
		return take_duration(p, WITHIN_MS_MAX, &packet->within_ms);
	}
	if (!eq && KEY_IS("as"))
		return take_packet_name(p, packet);
	if (eq && tcp && KEY_IS("flags")) {
		size_t len = strlen(w->text);

		if (packet->has_flags)
			return error_word(p, w, "each clause once");
		packet->has_flags = true;
		/* flags=R+: a RST with or without ACK (flags=R alone would not see an RA). */
		if (len > key_len + 2 && w->text[len - 1] == '+') {
			packet->flags_contain = true;
			w->text[len - 1] = '\0';
		}
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
	if (eq && packet->protocol != PROTO_ICMP && KEY_IS("sport"))
		expr = &packet->sport;
	else if (eq && packet->protocol != PROTO_ICMP && KEY_IS("dport"))
		expr = &packet->dport;
	if (expr) {
		if (expr->present)
			return error_word(p, w, "each clause once");
		return parse_expr(p, w, key_len + 1, UINT16_MAX, expr);
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
	packet->name = -1;
	if (need_send(p) || take_host(p, packet->src) || expect_keyword(p, "->"))
		return -1;
	dst = peek_word(p);
	/* A packet names where it goes, the service too (its address before DNAT,
	 * as the observer sees it); a wire hop names the host that received it. */
	if (wire ? take_host(p, packet->dst) : take_destination(p, packet->dst))
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

static int take_delta(struct parser *p, enum compare_op *op, int64_t *value);
static int take_since(struct parser *p, struct expect_step *expect);

static int parse_expect_stat(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	char what[512] = "a counter of stat/nf_conntrack (";
	struct word *w;

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
	if (take_delta(p, &expect->op, &expect->delta))
		return -1;
	return take_since(p, expect);
}

/* The end of stat and netstat: [since start], then the end of the line. */
static int take_since(struct parser *p, struct expect_step *expect)
{
	struct word *w = peek_word(p);

	if (w && is_plain(w) && strcmp(w->text, "since") == 0) {
		p->next++;
		w = next_plain(p, "start (since start: since before the run's first step that sent)");
		if (!w)
			return -1;
		if (strcmp(w->text, "start") != 0)
			return error_word(p, w, "start (since start: since before the run's first "
					  "step that sent)");
		expect->since_start = true;
	} else if (w) {
		return error_word(p, w, "since start or end of line");
	}
	return expect_end(p);
}

/* A delta (+N, -N, N) or a comparison (>N, >=N, <N, <=N) into op and value. */
static int take_delta(struct parser *p, enum compare_op *op, int64_t *value)
{
	struct word *w = next_plain(p, "a delta (+N, -N, N, >N, >=N, <N or <=N)");
	const char *delta;
	uint64_t number;
	int sign = 1;

	if (!w)
		return -1;
	delta = w->text + take_compare_op(w->text, op);
	if (*op == CMP_EQ && (*delta == '+' || *delta == '-'))
		sign = *delta++ == '-' ? -1 : 1;
	if (number_in_range(p, delta, strlen(delta), word_column(w, (size_t)(delta - w->text)),
			    0, UINT32_MAX, &number))
		return -1;
	*value = sign * (int64_t)number;
	return 0;
}

/* packets OP N or bytes OP N of expect counter: the counter's value now. */
static int take_counter_clause(struct parser *p, struct expect_step *expect)
{
	struct word *w = next_plain(p, "packets or bytes");
	bool packets = w && strcmp(w->text, "packets") == 0;
	bool *has = packets ? &expect->has_packets : &expect->has_bytes;
	enum compare_op *op = packets ? &expect->packets_op : &expect->bytes_op;
	uint64_t *value = packets ? &expect->packets : &expect->bytes;
	struct word *n;
	size_t off;

	if (!w)
		return -1;
	if (!packets && strcmp(w->text, "bytes") != 0)
		return error_word(p, w, "packets or bytes");
	if (*has)
		return error_word(p, w, "each clause once");
	*has = true;
	n = next_plain(p, "a number (N, >N, >=N, <N or <=N)");
	if (!n)
		return -1;
	off = take_compare_op(n->text, op);
	return number_in_range(p, n->text + off, strlen(n->text + off), word_column(n, off), 0,
			       UINT32_MAX, value);
}

/* counter HOST NAME [packets OP N] [bytes OP N]: a named counter of the nft
 * rulesets loaded in HOST (counter NAME { } in a table, `counter name NAME`
 * in a rule), as `nft list counters` shows it. */
static int parse_expect_counter(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	struct word *w;

	expect->kind = EXPECT_COUNTER;
	if (take_host(p, expect->host))
		return -1;
	w = next_plain(p, "a counter name");
	if (!w)
		return -1;
	if (!is_counter_name(w->text) || strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "an nft counter name of [A-Za-z][A-Za-z0-9_]*, at most %d "
				  "characters", SCENARIO_IDENT_MAX - 1);
	strcpy(expect->counter, w->text);
	do {
		if (take_counter_clause(p, expect))
			return -1;
	} while (peek_word(p));
	return expect_end(p);
}

/* netstat [HOST] NAME DELTA: a counter of HOST's /proc/net/netstat or
 * /proc/net/snmp, named as nstat names them (TcpExtPAWSEstab, TcpOutRsts),
 * changed by DELTA since before the last step that sent. */
static int parse_expect_netstat(struct parser *p)
{
	struct expect_step *expect = &p->step->expect;
	struct word *w;

	expect->kind = EXPECT_NETSTAT;
	p->scenario->uses_netstat = true;
	if (need_send(p))
		return -1;
	w = peek_word(p);
	if (w && is_plain(w) && is_destination(p, w->text) &&
	    strcmp(w->text, SERVICE_HOST) != 0 && take_host(p, expect->host))
		return -1;
	w = next_plain(p, "a MIB counter as nstat names it (TcpExtPAWSEstab, TcpOutRsts …)");
	if (!w)
		return -1;
	if (!is_counter_name(w->text) || !isupper((unsigned char)w->text[0]) ||
	    strlen(w->text) >= SCENARIO_IDENT_MAX)
		return error_word(p, w, "a MIB counter as nstat names it (TcpExtPAWSEstab, "
				  "TcpOutRsts …)");
	strcpy(expect->counter, w->text);
	if (take_delta(p, &expect->op, &expect->delta))
		return -1;
	return take_since(p, expect);
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
	{ .name = "counter",	.parse = parse_expect_counter },
	{ .name = "netstat",	.parse = parse_expect_netstat },
	{ .name = NULL },
};

int parse_expect(struct parser *p)
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
