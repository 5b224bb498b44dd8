/* expr — numbers, field expressions (term (('+'|'-') term)*) and table sizes (max±N). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Numbers ---- */

/* A decimal or 0x hex number, at most UINT32_MAX, filling all of text[0..len). */
static int parse_number(const char *text, size_t len, uint64_t *value)
{
	unsigned base = 10;
	size_t i = 0;

	*value = 0;
	if (len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		unsigned digit;

		if (isdigit((unsigned char)text[i]))
			digit = (unsigned)(text[i] - '0');
		else if (base == 16 && isxdigit((unsigned char)text[i]))
			digit = (unsigned)(tolower((unsigned char)text[i]) - 'a' + 10);
		else
			return -1;
		*value = *value * base + digit;
		if (*value > UINT32_MAX)
			return -1;
	}
	return 0;
}

/* The number text[0..len) at column, within min..max. */
int number_in_range(struct parser *p, const char *text, size_t len, int column,
		    uint64_t min, uint64_t max, uint64_t *value)
{
	if (parse_number(text, len, value) || *value < min || *value > max)
		return error_at(p, column, len ? text : "nothing", len ? (int)len : -1,
				"a number %" PRIu64 "..%" PRIu64, min, max);
	return 0;
}

/* ---- Expressions: term (('+'|'-') term)* ---- */

static const struct {
	const char *name;
	enum conn_side side;
	enum conn_value value;
} conn_values[] = {
	{ "client.nxt", SIDE_CLIENT, CONN_NXT },
	{ "client.win", SIDE_CLIENT, CONN_WIN },
	{ "client.tsval", SIDE_CLIENT, CONN_TSVAL },
	{ "client.tsecr", SIDE_CLIENT, CONN_TSECR },
	{ "server.nxt", SIDE_SERVER, CONN_NXT },
	{ "server.win", SIDE_SERVER, CONN_WIN },
	{ "server.tsval", SIDE_SERVER, CONN_TSVAL },
	{ "server.tsecr", SIDE_SERVER, CONN_TSECR },
};

static const char *const packet_value_names[PACKET_VALUE_COUNT] = {
	[PACKET_SEQ] = "seq", [PACKET_ACK] = "ack", [PACKET_WIN] = "win",
	[PACKET_SPORT] = "sport", [PACKET_DPORT] = "dport", [PACKET_TSVAL] = "tsval",
	[PACKET_TSECR] = "tsecr", [PACKET_LEN] = "len",
};

const char *packet_value_name(enum packet_value value)
{
	return (unsigned)value < PACKET_VALUE_COUNT ? packet_value_names[value] : "?";
}

/* NAME.FIELD of a packet named by as: NAME is text[0..name_len). */
static int parse_packet_term(struct parser *p, const char *text, size_t len, size_t name_len,
			     int column, struct expr_term *term)
{
	const char *field = text + name_len + 1;
	size_t field_len = name_len < len ? len - name_len - 1 : 0;

	for (size_t i = 0; name_len < len && i < PACKET_VALUE_COUNT; i++)
		if (strlen(packet_value_names[i]) == field_len &&
		    strncmp(packet_value_names[i], field, field_len) == 0) {
			term->is_packet = true;
			term->field = (enum packet_value)i;
			return 0;
		}
	return error_at(p, column, text, (int)len,
			"%.*s.seq, .ack, .win, .sport, .dport, .tsval, .tsecr or .len",
			(int)name_len, text);
}

static int parse_term(struct parser *p, const struct word *w, size_t off, size_t len,
		      struct expr_term *term)
{
	const char *text = w->text + off;
	int column = word_column(w, off);
	const char *dot;
	size_t name_len;

	if (len == 0)
		return error_at(p, column, "nothing", -1,
				"a number or CONN.client.nxt");
	if (isdigit((unsigned char)text[0])) {
		if (parse_number(text, len, &term->number))
			return error_at(p, column, text, (int)len,
					"a number 0..4294967295");
		return 0;
	}
	dot = memchr(text, '.', len);
	name_len = dot ? (size_t)(dot - text) : len;
	term->conn = find_conn(p, text, name_len);
	term->packet = find_packet(p, text, name_len);
	if (term->packet >= 0)
		return parse_packet_term(p, text, len, name_len, column, term);
	if (term->conn < 0)
		return error_at(p, column, text, (int)name_len,
				"a number, a connection declared by connect or a packet named "
				"by as");
	for (size_t i = 0; dot && i < sizeof(conn_values) / sizeof(conn_values[0]); i++) {
		const char *value = conn_values[i].name;

		if (strlen(value) == len - name_len - 1 &&
		    strncmp(value, dot + 1, len - name_len - 1) == 0) {
			term->is_conn = true;
			term->side = conn_values[i].side;
			term->value = conn_values[i].value;
			return 0;
		}
	}
	return error_at(p, column, text, (int)len,
			"%.*s.client.nxt, .client.win, .client.tsval, .client.tsecr or the same "
			"of .server", (int)name_len, text);
}

/* The expression in w->text from off to the end; pure numbers checked against max. */
int parse_expr(struct parser *p, const struct word *w, size_t off, uint64_t max,
	       struct expr *expr)
{
	return parse_expr_len(p, w, off, strlen(w->text + off), max, expr);
}

/* The expression in len bytes of w->text from off. */
int parse_expr_len(struct parser *p, const struct word *w, size_t off, size_t len, uint64_t max,
		   struct expr *expr)
{
	const char *text = w->text + off;
	size_t start = 0;
	int64_t sum = 0;
	bool pure = true;
	struct expr_term terms[EXPR_TERMS_MAX] = { 0 }, *kept;

	memset(expr, 0, sizeof(*expr));
	expr->present = true;
	expr->terms = terms;	/* until it is complete */
	for (int sign = 1;;) {
		size_t end = start;
		struct expr_term *term;

		while (end < len && text[end] != '+' && text[end] != '-')
			end++;
		if (expr->n_terms == EXPR_TERMS_MAX)
			return error_at(p, word_column(w, off + start - 1), text + start - 1,
					(int)(len - start + 1), "at most %d terms",
					EXPR_TERMS_MAX);
		term = &terms[expr->n_terms++];
		term->sign = sign;
		if (parse_term(p, w, off + start, end - start, term))
			return -1;
		if (term->is_conn || term->is_packet)
			pure = false;
		else
			sum += sign * (int64_t)term->number;
		if (end == len)
			break;
		sign = text[end] == '-' ? -1 : 1;
		start = end + 1;
	}
	if (pure && (sum < 0 || (uint64_t)sum > max))
		return error_at(p, word_column(w, off), text, (int)len,
				"a number 0..%" PRIu64, max);
	kept = keep(p, expr->n_terms * sizeof(*kept));
	if (!kept)
		return -1;
	memcpy(kept, terms, expr->n_terms * sizeof(*kept));
	expr->terms = kept;
	return 0;
}

/* ---- Table sizes: N, max, max+N, max-N ---- */

/* KEY=NUMBER within min..max, the key already matched. */
int take_keyed_number(struct parser *p, const char *key, uint64_t min, uint64_t max,
		      uint64_t *value)
{
	char what[64];
	struct word *w;
	size_t key_len = strlen(key);

	snprintf(what, sizeof(what), "%s=N", key);
	w = next_plain(p, what);
	if (!w)
		return -1;
	if (strncmp(w->text, key, key_len) != 0 || w->text[key_len] != '=')
		return error_word(p, w, "%s", what);
	return number_in_range(p, w->text + key_len + 1, strlen(w->text + key_len + 1),
			       word_column(w, key_len + 1), min, max, value);
}

int64_t table_size_value(const struct table_size *size, uint64_t max)
{
	int64_t value = size->of_max ? (int64_t)max + size->n : size->n;

	return value < 0 ? 0 : value;
}

/* N, max, max+N or max-N in text (of w, from off), N up to limit. */
int parse_table_size(struct parser *p, const struct word *w, size_t off, uint64_t min,
		     uint64_t limit, struct table_size *size)
{
	const char *text = w->text + off;
	uint64_t value;

	memset(size, 0, sizeof(*size));
	if (strncmp(text, "max", 3) == 0) {
		size->of_max = true;
		if (text[3] == '\0')
			return 0;
		if (text[3] != '+' && text[3] != '-')
			return error_at(p, word_column(w, off), text, -1, "max, max+N or max-N");
		if (number_in_range(p, text + 4, strlen(text + 4), word_column(w, off + 4), 1, limit,
				    &value))
			return -1;
		size->n = text[3] == '-' ? -(int64_t)value : (int64_t)value;
		return 0;
	}
	if (number_in_range(p, text, strlen(text), word_column(w, off), min, limit, &value))
		return -1;
	size->n = (int64_t)value;
	return 0;
}

/* count=N|max|max±N */
int take_count(struct parser *p, struct table_size *count)
{
	struct word *w = next_plain(p, "count=N (or max, max+N, max-N)");

	if (!w)
		return -1;
	if (strncmp(w->text, "count=", 6) != 0)
		return error_word(p, w, "count=N (or max, max+N, max-N)");
	return parse_table_size(p, w, 6, 1, TABLE_COUNT_MAX, count);
}
