#include <arpa/inet.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "output/output.h"
#include "text.h"

#define LADDER_WIDTH	80	/* the narrowest it is drawn for: a projector's terminal */
#define LADDER_WIDTH_MAX 200
#define LADDER_MARGIN	5	/* room for the packet number left of the first lifeline */
#define LADDER_SPAN	44	/* first lifeline to last, where the width allows */
#define VERDICT_ROOM	(9 + 26)	/* "INVALID  " and a reason's first 26 columns */
#define LADDER_GAP	4	/* last lifeline to the verdict column */
#define REASON_MIN	20	/* narrowest a wrapped reason gets */
#define CANVAS_MAX	256
#define LABEL_MAX	192
#define FLOWS_MAX	32

static struct report_style text_style;

/* The characters of one style: ASCII for pipes and logs, box drawing for terminals. */
struct glyphs {
	const char *life, *shaft, *cross, *right, *left, *self, *rule;
	const char *ok, *fail, *skip;	/* expectation marks, mark_width columns each */
	int mark_width;
};

static const struct glyphs ascii_glyphs = {
	.life = "|", .shaft = "-", .cross = "+", .right = ">", .left = "<", .self = "*", .rule = "--",
	.ok = "ok  ", .fail = "FAIL", .skip = "skip", .mark_width = 4,
};

static const struct glyphs box_glyphs = {
	.life = "│", .shaft = "─", .cross = "┼", .right = ">", .left = "<", .self = "●", .rule = "──",
	.ok = "✓ ok  ", .fail = "✗ FAIL", .skip = "· skip", .mark_width = 6,
};

enum tint { TINT_NONE, TINT_RED, TINT_GREEN, TINT_DIM };

static const char *const tint_codes[] = {
	[TINT_NONE]	= "",
	[TINT_RED]	= "\033[31m",
	[TINT_GREEN]	= "\033[32m",
	[TINT_DIM]	= "\033[2m",
};

static const enum tint verdict_tints[VERDICT_COUNT] = {
	[VERDICT_UNSEEN]	= TINT_DIM,
	[VERDICT_NEW]		= TINT_GREEN,
	[VERDICT_INVALID]	= TINT_RED,
	[VERDICT_UNTRACKED]	= TINT_DIM,
};

/* Names of the ICMP types worth knowing by name; others print as numbers. */
static const char *const icmp_names[256] = {
	[0] = "echo-reply", [3] = "unreachable", [5] = "redirect", [8] = "echo-request",
	[11] = "time-exceeded", [12] = "parameter-problem",
};

static const char *const icmp6_names[256] = {
	[1] = "unreachable", [2] = "too-big", [3] = "time-exceeded", [4] = "parameter-problem",
	[128] = "echo-request", [129] = "echo-reply", [130] = "mld-query", [131] = "mld-report",
	[132] = "mld-done", [133] = "router-solicit", [134] = "router-advert",
	[135] = "neighbor-solicit", [136] = "neighbor-advert", [143] = "mld2-report",
};

static bool locale_is_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	size_t i;

	/* The first one set decides, as setlocale() would have it. */
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *value = getenv(vars[i]);

		if (value && *value)
			return strcasestr(value, "utf-8") || strcasestr(value, "utf8");
	}
	return false;
}

static enum report_color color_mode = COLOR_AUTO;

void report_color_choose(enum report_color mode)
{
	color_mode = mode;
}

struct report_style report_style_detect(FILE *out)
{
	int fd = fileno(out);
	bool tty = fd >= 0 && isatty(fd);
	const char *no_color = getenv("NO_COLOR");

	const char *columns = getenv("COLUMNS");
	struct winsize size;
	unsigned width = 0;

	if (tty && ioctl(fd, TIOCGWINSZ, &size) == 0)
		width = size.ws_col;
	else if (columns && *columns)
		width = (unsigned)strtoul(columns, NULL, 10);
	if (width < LADDER_WIDTH)
		width = LADDER_WIDTH;
	return (struct report_style){
		.color = color_mode == COLOR_ALWAYS ||
			 (color_mode == COLOR_AUTO && tty && !(no_color && *no_color)),
		.unicode = tty && locale_is_utf8(),
		.width = width < LADDER_WIDTH_MAX ? width : LADDER_WIDTH_MAX,
	};
}

void report_set_style(const struct report_style *style)
{
	text_style = *style;
}

void report_begin(FILE *out, enum report_format format, size_t n_runs)
{
	if (format == REPORT_TEXT)
		text_style = report_style_detect(out);
	if (format == REPORT_KTAP)
		fprintf(out, "KTAP version 1\n1..%zu\n", n_runs);
}

void report_packet(FILE *out, const struct observed *observed)
{
	const struct packet_summary *packet = &observed->packet;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[16];

	inet_ntop(packet->family, &packet->src, src, sizeof(src));
	inet_ntop(packet->family, &packet->dst, dst, sizeof(dst));
	fprintf(out, "      #%-3zu ", observed->index + 1);
	/* Each protocol's own fields: a UDP datagram has no flags or sequence. */
	if (packet->protocol == IPPROTO_TCP)
		fprintf(out, "%s:%u > %s:%u %-3s seq %u ack %u win %u len %zu", src, packet->sport,
			dst, packet->dport, tcp_flags_format(packet->flags, flags), packet->seq,
			packet->ack, packet->window, packet->payload_len);
	else if (packet->protocol == IPPROTO_UDP)
		fprintf(out, "%s:%u > %s:%u udp len %zu", src, packet->sport, dst, packet->dport,
			packet->payload_len);
	else if (packet->protocol == IPPROTO_ICMP || packet->protocol == IPPROTO_ICMPV6)
		fprintf(out, "%s > %s icmp type %u code %u len %zu", src, dst, packet->icmp_type,
			packet->icmp_code, packet->payload_len);
	else
		fprintf(out, "%s > %s protocol %u len %zu", src, dst, packet->protocol,
			packet->payload_len);
	fprintf(out, "  %s", verdict_name(observed->verdict));
	if (observed->has_reason)
		fprintf(out, " \"%s\"", observed->reason);
	fputc('\n', out);
}

static void put_tinted(FILE *out, const struct report_style *style, enum tint tint,
		       const char *text)
{
	if (style->color && tint != TINT_NONE)
		fprintf(out, "%s%s\033[0m", tint_codes[tint], text);
	else
		fputs(text, out);
}

/* One line of the diagram, a cell per terminal column (a UTF-8 sequence each). */
struct canvas {
	size_t len;
	char cells[CANVAS_MAX][5];
};

/* A TCP or UDP 4-tuple seen in the run; dir 0 is the way its first packet went. */
struct flow {
	int family;
	uint8_t protocol;
	union inet_addr addr[2];
	uint16_t port[2];
	struct isn isn;
};

struct ladder {
	FILE *out;
	const struct run_result *result;
	const struct report_style *style;
	const struct glyphs *glyphs;
	size_t n_cols;
	size_t col_x[RUN_HOSTS_MAX];
	bool has_addr[RUN_HOSTS_MAX];
	union inet_addr addr[RUN_HOSTS_MAX];
	size_t observing;
	size_t verdict_x;
	size_t width;			/* columns to fit in */
	bool show_ports;		/* more than one 4-tuple: tell them apart */
	bool has_tcp;
	size_t n_flows;
	struct flow flows[FLOWS_MAX];
};

static void canvas_put(struct canvas *canvas, size_t x, const char *glyph)
{
	if (x >= CANVAS_MAX)
		return;
	snprintf(canvas->cells[x], sizeof(canvas->cells[x]), "%s", glyph);
	if (canvas->len <= x)
		canvas->len = x + 1;
}

/* Write text from column x on; returns the column after it. */
static size_t canvas_text(struct canvas *canvas, size_t x, const char *text)
{
	while (*text) {
		unsigned char lead = (unsigned char)*text;
		size_t n = lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
		char glyph[5] = "";

		memcpy(glyph, text, strnlen(text, n));
		canvas_put(canvas, x++, glyph);
		text += strnlen(text, n);
	}
	return x;
}

static void canvas_lifelines(struct canvas *canvas, const struct ladder *ladder)
{
	size_t i;

	canvas->len = 0;
	for (i = 0; i < CANVAS_MAX; i++)
		strcpy(canvas->cells[i], " ");
	for (i = 0; i < ladder->n_cols; i++)
		canvas_put(canvas, ladder->col_x[i], ladder->glyphs->life);
}

/* Print the line without trailing blanks, padded to pad_to columns; returns its width. */
static size_t canvas_print(FILE *out, const struct canvas *canvas, size_t pad_to)
{
	size_t len = canvas->len, i;

	while (len > 0 && strcmp(canvas->cells[len - 1], " ") == 0)
		len--;
	for (i = 0; i < len; i++)
		fputs(canvas->cells[i], out);
	for (; i < pad_to; i++)
		fputc(' ', out);
	return i;
}

static size_t addr_size(int family)
{
	return family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
}

/* The column of the host with addr; an address of no host goes to the observing one. */
static size_t host_column(const struct ladder *ladder, int family, const union inet_addr *addr,
			  bool *known)
{
	size_t i;

	for (i = 0; i < ladder->n_cols; i++) {
		if (ladder->has_addr[i] && family == ladder->result->family &&
		    memcmp(&ladder->addr[i], addr, addr_size(family)) == 0) {
			*known = true;
			return i;
		}
	}
	*known = false;
	return ladder->observing;
}

static bool has_ports(const struct packet_summary *packet)
{
	return (packet->protocol == IPPROTO_TCP || packet->protocol == IPPROTO_UDP) &&
	       !packet->fragment;
}

static bool flow_matches(const struct flow *flow, const struct packet_summary *packet, int dir)
{
	size_t size = addr_size(packet->family);

	return flow->family == packet->family && flow->protocol == packet->protocol &&
	       flow->port[dir] == packet->sport && flow->port[!dir] == packet->dport &&
	       memcmp(&flow->addr[dir], &packet->src, size) == 0 &&
	       memcmp(&flow->addr[!dir], &packet->dst, size) == 0;
}

/*
 * A packet of a flow whose addresses NAT changed: a reply seen before NAT
 * reverses it comes from the real server (DNAT) or goes to the router (SNAT),
 * and a client answering it writes to the server's real address.  Its ports,
 * in order, and the address on the untranslated side still say which flow.
 */
static bool flow_matches_translated(const struct flow *flow, const struct packet_summary *packet,
				    int dir)
{
	size_t size = addr_size(packet->family);

	return flow->family == packet->family && flow->protocol == packet->protocol &&
	       flow->port[dir] == packet->sport && flow->port[!dir] == packet->dport &&
	       (memcmp(&flow->addr[dir], &packet->src, size) == 0 ||
		memcmp(&flow->addr[!dir], &packet->dst, size) == 0);
}

/* The packet's 4-tuple, added if new; NULL without ports or when the table is full. */
static struct flow *flow_of(struct ladder *ladder, const struct packet_summary *packet, int *dir)
{
	struct flow *flow;
	size_t i;

	if (!has_ports(packet))
		return NULL;
	for (i = 0; i < ladder->n_flows; i++) {
		for (*dir = 0; *dir < 2; (*dir)++)
			if (flow_matches(&ladder->flows[i], packet, *dir))
				return &ladder->flows[i];
	}
	for (i = 0; i < ladder->n_flows; i++) {
		for (*dir = 0; *dir < 2; (*dir)++)
			if (flow_matches_translated(&ladder->flows[i], packet, *dir))
				return &ladder->flows[i];
	}
	if (ladder->n_flows == FLOWS_MAX)
		return NULL;
	flow = &ladder->flows[ladder->n_flows++];
	*flow = (struct flow){
		.family = packet->family, .protocol = packet->protocol,
		.addr = { packet->src, packet->dst }, .port = { packet->sport, packet->dport },
	};
	*dir = 0;
	return flow;
}

static size_t tcp_label(const struct observed *observed, const struct flow *flow, int dir,
			const int32_t *old_seq, char *buf, size_t size, size_t len)
{
	const struct packet_summary *packet = &observed->packet;
	size_t ip_header = packet->family == AF_INET ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
	size_t segment = packet->ip_len > ip_header ? packet->ip_len - ip_header : 0;
	char flags[TCP_FLAGS_STRLEN];

	/* A segment cut before its flags has no flags, seq or ack worth printing. */
	if (packet->truncated && segment < TCP_HEADER_MIN)
		return text_append(buf, size, len, "tcp cut to %zu bytes", segment);
	len = text_append(buf, size, len, "%s", tcp_flags_format(packet->flags, flags));
	if (packet->truncated)
		len = text_append(buf, size, len, " (truncated)");
	len = text_append_seq(buf, size, len, " seq ", packet->seq, flow ? &flow->isn : NULL, dir);
	if (old_seq)
		len = text_append(buf, size, len, " (old seq %" PRId32 ")", *old_seq);
	if ((packet->flags & TCP_FLAG_ACK) || packet->ack)
		len = text_append_seq(buf, size, len, " ack ", packet->ack, flow ? &flow->isn : NULL,
				      !dir);
	len = text_append(buf, size, len, " win %u", packet->window);
	/* SACK edges count in the acknowledging direction, like the ACK. */
	for (size_t i = 0; i < packet->n_sack; i++) {
		len = text_append_seq(buf, size, len, i ? "," : " sack ", packet->sack[i][0],
				      flow ? &flow->isn : NULL, !dir);
		len = text_append_seq(buf, size, len, ":", packet->sack[i][1],
				      flow ? &flow->isn : NULL, !dir);
	}
	return len;
}

static size_t icmp_label(const struct packet_summary *packet, char *buf, size_t size, size_t len)
{
	bool v6 = packet->protocol == IPPROTO_ICMPV6;
	const char *name = (v6 ? icmp6_names : icmp_names)[packet->icmp_type];

	len = text_append(buf, size, len, "%s", v6 ? "icmp6" : "icmp");
	if (name)
		len = text_append(buf, size, len, " %s", name);
	else
		len = text_append(buf, size, len, " type %u", packet->icmp_type);
	if (packet->icmp_code || !name)
		len = text_append(buf, size, len, " code %u", packet->icmp_code);
	return len;
}

/* What the arrow says: flags, seq/ack, window, length, and any address of no host. */
static void packet_label(struct ladder *ladder, const struct observed *observed, bool src_known,
			 bool dst_known, char *buf, size_t size)
{
	const struct packet_summary *packet = &observed->packet;
	char addr[INET6_ADDRSTRLEN];
	struct flow *flow;
	size_t len = 0;
	int32_t old_seq = 0;
	bool restarted = false;
	int dir = 0;

	flow = flow_of(ladder, packet, &dir);
	if (flow)
		restarted = isn_note(&flow->isn, packet, dir, observed->verdict == VERDICT_NEW,
				     &old_seq);
	buf[0] = '\0';
	if (ladder->show_ports && has_ports(packet))
		len = text_append(buf, size, len, "%u>%u ", packet->sport, packet->dport);
	switch (packet->protocol) {
	case IPPROTO_TCP:
		len = tcp_label(observed, flow, dir, restarted ? &old_seq : NULL, buf, size, len);
		break;
	case IPPROTO_UDP:
		len = text_append(buf, size, len, "udp");
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		len = icmp_label(packet, buf, size, len);
		break;
	default:
		len = text_append(buf, size, len, "proto %u", packet->protocol);
		break;
	}
	if (packet->payload_len)
		len = text_append(buf, size, len, " len %zu", packet->payload_len);
	if (!src_known && inet_ntop(packet->family, &packet->src, addr, sizeof(addr)))
		len = text_append(buf, size, len, " from %s", addr);
	if (!dst_known && inet_ntop(packet->family, &packet->dst, addr, sizeof(addr)))
		text_append(buf, size, len, " to %s", addr);
}

/* The shaft of an arrow over [from, to), crossing the lifelines it passes. */
static void canvas_shaft(struct canvas *canvas, const struct ladder *ladder, size_t from,
			 size_t to)
{
	size_t i;

	for (; from < to; from++) {
		const char *glyph = ladder->glyphs->shaft;

		for (i = 0; i < ladder->n_cols; i++)
			if (ladder->col_x[i] == from)
				glyph = ladder->glyphs->cross;
		canvas_put(canvas, from, glyph);
	}
}

/* The arrow from column a to b, the label inside it if it fits; false if it does not. */
static bool draw_arrow(struct canvas *canvas, const struct ladder *ladder, size_t a, size_t b,
		       const char *label)
{
	size_t left = ladder->col_x[a < b ? a : b], right = ladder->col_x[a < b ? b : a];
	size_t len = strlen(label);
	bool inside = right - left >= 6 && len <= right - left - 6;

	canvas_shaft(canvas, ladder, left + 1, right);
	if (a < b)
		canvas_put(canvas, right - 1, ladder->glyphs->right);
	else
		canvas_put(canvas, left + 1, ladder->glyphs->left);
	if (!inside)
		return false;
	if (len == 0)
		return true;
	/* The label sits at the sender's end of the arrow. */
	if (a < b) {
		canvas_put(canvas, left + 1, " ");
		canvas_put(canvas, canvas_text(canvas, left + 2, label), " ");
	} else {
		canvas_put(canvas, right - 2 - len, " ");
		canvas_text(canvas, right - 1 - len, label);
		canvas_put(canvas, right - 1, " ");
	}
	return true;
}

/* A label too long for its arrow goes on the line above, from the sender's end. */
static void draw_label_line(const struct ladder *ladder, size_t a, size_t b, const char *label)
{
	size_t left = ladder->col_x[a < b ? a : b], right = ladder->col_x[a < b ? b : a];
	size_t len = strlen(label), x = left + 2;
	struct canvas canvas;

	if (a > b && right >= len + 1 && right - 1 - len > x)
		x = right - 1 - len;
	/* Moved left rather than past the width, as far as the first lifeline. */
	if (x + len > ladder->width)
		x = ladder->width > len + LADDER_MARGIN + 1 ? ladder->width - len : LADDER_MARGIN + 1;
	canvas_lifelines(&canvas, ladder);
	canvas_text(&canvas, x, label);
	canvas_print(ladder->out, &canvas, 0);
	fputc('\n', ladder->out);
}

/*
 * A packet whose both ends map to one host: a mark on its lifeline, the label
 * beside it where a lane has room, else false (the label goes above).
 */
static bool draw_self(struct canvas *canvas, const struct ladder *ladder, size_t col,
		      const char *label)
{
	size_t x = ladder->col_x[col], len = strlen(label);

	canvas_put(canvas, x, ladder->glyphs->self);
	if (col + 1 < ladder->n_cols && len + 3 <= ladder->col_x[col + 1] - x) {
		canvas_text(canvas, x + 2, label);
		return true;
	}
	if (col > 0 && len + 3 <= x - ladder->col_x[col - 1]) {
		canvas_text(canvas, x - 1 - len, label);
		return true;
	}
	return len == 0;
}

/* Up to width bytes of text, cut at the last blank that fits; the rest in *rest. */
static size_t wrap_at(const char *text, size_t width, const char **rest)
{
	size_t len = strlen(text), cut;

	if (len <= width) {
		*rest = text + len;
		return len;
	}
	for (cut = width; cut > 0 && text[cut] != ' '; cut--)
		;
	if (cut == 0)
		cut = width;
	*rest = text + cut;
	while (**rest == ' ')
		(*rest)++;
	return cut;
}

/* Verdict and reason right of the lifelines, the reason wrapped under itself. */
static void print_verdict(const struct ladder *ladder, const struct canvas *canvas,
			  const struct observed *observed)
{
	FILE *out = ladder->out;
	enum verdict verdict = observed->verdict;
	const char *word = verdict == VERDICT_INVALID ? "INVALID" : verdict_name(verdict);
	size_t reason_x = ladder->verdict_x + strlen(word) + 2, width = REASON_MIN;
	const char *reason = observed->reason, *rest;
	struct canvas blank;
	size_t n;

	canvas_print(out, canvas, ladder->verdict_x);
	put_tinted(out, ladder->style, (unsigned)verdict < VERDICT_COUNT ?
		   verdict_tints[verdict] : TINT_NONE, word);
	if (!observed->has_reason || !reason[0]) {
		fputc('\n', out);
		return;
	}
	if (ladder->width > reason_x + REASON_MIN)
		width = ladder->width - reason_x;
	n = wrap_at(reason, width, &rest);
	fprintf(out, "  %.*s\n", (int)n, reason);
	/* Then the rest of it, and each further reason on lines of its own. */
	for (size_t also = 0;; ) {
		while (*rest) {
			reason = rest;
			n = wrap_at(reason, width, &rest);
			canvas_lifelines(&blank, ladder);
			canvas_print(out, &blank, reason_x);
			fprintf(out, "%.*s\n", (int)n, reason);
		}
		if (also == observed->n_also)
			break;
		rest = observed->also[also++];
	}
}

/* The wire copies of observed packet @index at the observing host: as it
 * arrived and as it was sent on (NULL where there is none). */
static void judged_copies(const struct run_result *result, size_t index,
			  const struct wire_record **arrived, const struct wire_record **forwarded)
{
	*arrived = *forwarded = NULL;
	for (size_t i = 0; i < result->n_wire; i++) {
		const struct wire_record *record = &result->wire[i];

		if (record->judged != index + 1)
			continue;
		if (record->forwarded)
			*forwarded = record;
		else
			*arrived = record;
	}
}

static bool same_addr(int family, const union inet_addr *a, const union inet_addr *b)
{
	return memcmp(a, b, family == AF_INET6 ? 16 : 4) == 0;
}

static bool host_has_addr(const struct run_host *host, const char *text)
{
	for (size_t i = 0; i < host->n_ifaces; i++)
		if (strcmp(host->ifaces[i].addr, text) == 0)
			return true;
	return strcmp(host->addr, text) == 0;
}

/* A connection the client made to the DNAT service, by the client's port. */
static bool to_service(const struct run_result *result, uint16_t client_port)
{
	union inet_addr service;

	if (!result->service_addr[0] ||
	    inet_pton(result->family, result->service_addr, &service) != 1)
		return false;
	for (size_t i = 0; i < result->n_packets; i++) {
		const struct packet_summary *p = &result->packets[i].packet;

		if (p->sport == client_port && same_addr(p->family, &p->dst, &service))
			return true;
	}
	return false;
}

/*
 * What happened to the packet at the observing host that the arrow alone
 * cannot show, in @buf ("" none): NAT's rewriting, a DNAT reply the router
 * did not undo (the crux of kubernetes 74839), or a drop there.
 */
static void hop_note(const struct ladder *ladder, const struct observed *observed, char *buf,
		     size_t size)
{
	const struct run_result *result = ladder->result;
	const struct run_host *at = &result->hosts[ladder->observing];
	const struct wire_record *arrived, *forwarded;
	char was[INET6_ADDRSTRLEN], now[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int family = observed->packet.family;

	buf[0] = '\0';
	judged_copies(result, observed->index, &arrived, &forwarded);
	if (!arrived)
		return;
	inet_ntop(family, &arrived->packet.dst, dst, sizeof(dst));
	if (!forwarded) {
		if (at->n_ifaces > 1 && !host_has_addr(at, dst))
			snprintf(buf, size, "%s dropped at %s: never sent on", ladder->glyphs->fail,
				 at->name);
		return;
	}
	if (!same_addr(family, &arrived->packet.dst, &forwarded->packet.dst)) {
		inet_ntop(family, &forwarded->packet.dst, now, sizeof(now));
		snprintf(buf, size, "NAT: dst %s -> %s", dst, now);
	} else if (!same_addr(family, &arrived->packet.src, &forwarded->packet.src)) {
		inet_ntop(family, &arrived->packet.src, was, sizeof(was));
		inet_ntop(family, &forwarded->packet.src, now, sizeof(now));
		snprintf(buf, size, "NAT: src %s -> %s", was, now);
	} else if (result->n_hosts && strcmp(forwarded->host, at->name) == 0 &&
		   host_has_addr(&result->hosts[0], dst) && to_service(result, arrived->packet.dport)) {
		inet_ntop(family, &forwarded->packet.src, now, sizeof(now));
		snprintf(buf, size, "not un-DNATed: leaves %s from %s, not the service %s",
			 at->name, now, result->service_addr);
	}
}

/* The note under an arrow, in the verdict column, wrapped there. */
static void print_note(const struct ladder *ladder, const char *note)
{
	size_t width = ladder->width > ladder->verdict_x + REASON_MIN ?
		       ladder->width - ladder->verdict_x : REASON_MIN;
	struct canvas blank;
	const char *rest = note;

	while (*rest) {
		const char *line = rest;
		size_t n = wrap_at(line, width, &rest);

		canvas_lifelines(&blank, ladder);
		canvas_print(ladder->out, &blank, ladder->verdict_x);
		fprintf(ladder->out, "%.*s\n", (int)n, line);
	}
}

static void draw_packet(struct ladder *ladder, const struct observed *observed, bool crafted)
{
	const struct packet_summary *packet = &observed->packet;
	bool src_known, dst_known;
	size_t a = host_column(ladder, packet->family, &packet->src, &src_known);
	size_t b = host_column(ladder, packet->family, &packet->dst, &dst_known);
	char label[LABEL_MAX], number[24], note[300];
	struct canvas canvas;

	if (crafted) {
		/* The scenario's own packet, not one a kernel socket sent. */
		memcpy(label, "crafted ", 8);
		packet_label(ladder, observed, src_known, dst_known, label + 8, sizeof(label) - 8);
	} else {
		packet_label(ladder, observed, src_known, dst_known, label, sizeof(label));
	}
	canvas_lifelines(&canvas, ladder);
	if (a == b) {
		if (!draw_self(&canvas, ladder, a, label)) {
			draw_label_line(ladder, a, 0, label);
			canvas_lifelines(&canvas, ladder);
			draw_self(&canvas, ladder, a, "");
		}
	} else if (!draw_arrow(&canvas, ladder, a, b, label)) {
		draw_label_line(ladder, a, b, label);
		canvas_lifelines(&canvas, ladder);
		draw_arrow(&canvas, ladder, a, b, "");
	}
	snprintf(number, sizeof(number), "#%zu", observed->index + 1);
	if (strlen(number) < LADDER_MARGIN)
		canvas_text(&canvas, LADDER_MARGIN - 1 - strlen(number), number);
	print_verdict(ladder, &canvas, observed);
	/* A reason's bounds are absolute: the packet's own numbers beside them. */
	if (observed->has_reason && strpbrk(observed->reason, "0123456789") &&
	    packet->protocol == IPPROTO_TCP) {
		snprintf(note, sizeof(note), "(as sent: seq %" PRIu32 " ack %" PRIu32 ")", packet->seq,
			 packet->ack);
		print_note(ladder, note);
	}
	hop_note(ladder, observed, note, sizeof(note));
	if (note[0])
		print_note(ladder, note);
}

/* The statement as written, its alignment blanks squeezed (not inside quotes). */
static size_t squeeze_statement(const char *text, char *buf, size_t size)
{
	bool quoted = false, blank = false;
	size_t len = 0;

	for (; *text && len + 2 < size; text++) {
		if (*text == '"')
			quoted = !quoted;
		if (!quoted && (*text == ' ' || *text == '\t')) {
			blank = len > 0;
			continue;
		}
		if (blank)
			buf[len++] = ' ';
		blank = false;
		buf[len++] = *text;
	}
	buf[len] = '\0';
	return len;
}

/* text from column indent on, wrapped at blanks to fit in total columns. */
static void print_wrapped(FILE *out, const char *text, size_t indent, size_t total)
{
	size_t width = total > indent + REASON_MIN ? total - indent : REASON_MIN;
	const char *rest;
	size_t n = wrap_at(text, width, &rest);

	fprintf(out, "%.*s", (int)n, text);
	while (*rest) {
		text = rest;
		n = wrap_at(text, width, &rest);
		fprintf(out, "\n%*s%.*s", (int)indent, "", (int)n, text);
	}
}

static const char *skip_note(const struct ladder *ladder, const struct step *step)
{
	unsigned family = ladder->result->family == AF_INET6 ? FAMILY_IPV6 : FAMILY_IPV4;

	if (step->when.families && !(step->when.families & family))
		return "(not in this family)";
	if (step->when.variants && ladder->result->variant >= 0 &&
	    !(step->when.variants & (1u << ladder->result->variant)))
		return "(not in this variant)";
	if (step->when.variants && ladder->result->variant < 0)
		return "(not in this variant)";
	return "(not on this kernel)";
}

/* The step's line in its file, in the gutter where packets have their number. */
static void print_gutter(const struct ladder *ladder, const struct step_result *step)
{
	fprintf(ladder->out, "%*d ", LADDER_MARGIN - 1, step->step->pos.line);
}

/* The statement, what an action found and why a step was skipped, wrapped from indent. */
static void print_step_text(const struct ladder *ladder, const struct step_result *step,
			    bool found, size_t indent)
{
	char text[SCENARIO_TEXT_MAX + sizeof(step->message) + 64];
	size_t len = squeeze_statement(step->step->text, text, sizeof(text));

	if (found && step->passed && !step->skipped && step->message[0])
		len = text_append(text, sizeof(text), len, "  [%s]", step->message);
	/* A step skipped as it ran says why in its message. */
	if (step->skipped && step->message[0])
		text_append(text, sizeof(text), len, "  (%s)", step->message);
	else if (step->skipped)
		text_append(text, sizeof(text), len, "  %s", skip_note(ladder, step->step));
	print_wrapped(ladder->out, text, indent, ladder->width);
}

/* What went wrong, on its own line under the statement. */
static void print_failure(const struct ladder *ladder, const char *message)
{
	fprintf(ladder->out, "%*s%s\n", (int)(LADDER_MARGIN + ladder->glyphs->mark_width + 2), "",
		message);
}

static void tint_on(const struct ladder *ladder, enum tint tint)
{
	if (ladder->style->color && tint != TINT_NONE)
		fputs(tint_codes[tint], ladder->out);
}

static void tint_off(const struct ladder *ladder, enum tint tint)
{
	if (ladder->style->color && tint != TINT_NONE)
		fputs("\033[0m", ladder->out);
}

/* An expectation: ok, or FAIL and what was seen instead. */
static void print_expect(const struct ladder *ladder, const struct step_result *step)
{
	FILE *out = ladder->out;
	const struct glyphs *glyphs = ladder->glyphs;
	enum tint tint = step->skipped ? TINT_DIM : step->passed ? TINT_GREEN : TINT_RED;

	print_gutter(ladder, step);
	tint_on(ladder, tint);
	fputs(step->skipped ? glyphs->skip : step->passed ? glyphs->ok : glyphs->fail, out);
	if (!step->skipped)
		tint_off(ladder, tint);
	fputs("  ", out);
	print_step_text(ladder, step, false, LADDER_MARGIN + glyphs->mark_width + 2);
	if (step->skipped)
		tint_off(ladder, tint);
	fputc('\n', out);
	if (!step->skipped && !step->passed)
		print_failure(ladder, step->message);
}

/* An action: a rule across the diagram, what it found, FAIL if it could not be done. */
static void print_section(const struct ladder *ladder, const struct step_result *step)
{
	FILE *out = ladder->out;

	print_gutter(ladder, step);
	if (step->skipped)
		tint_on(ladder, TINT_DIM);
	fprintf(out, "%s ", ladder->glyphs->rule);
	print_step_text(ladder, step, true, LADDER_MARGIN + 3);
	if (step->skipped)
		tint_off(ladder, TINT_DIM);
	fputc('\n', out);
	if (step->skipped || step->passed)
		return;
	fprintf(out, "%*s", LADDER_MARGIN, "");
	put_tinted(out, ladder->style, TINT_RED, ladder->glyphs->fail);
	fprintf(out, "  %s\n", step->message);
}

static void ladder_init(struct ladder *ladder, FILE *out, const struct run_result *result,
			const struct report_style *style)
{
	size_t i, lane, span;
	int dir;

	*ladder = (struct ladder){ .out = out, .result = result, .style = style,
				   .glyphs = style->unicode ? &box_glyphs : &ascii_glyphs };
	ladder->n_cols = result->n_hosts < RUN_HOSTS_MAX ? result->n_hosts : RUN_HOSTS_MAX;
	ladder->observing = ladder->n_cols - 1;
	ladder->width = style->width >= LADDER_WIDTH ? style->width : LADDER_WIDTH;
	/* Narrower lanes where the verdict and the start of its reason would not fit. */
	span = ladder->width - LADDER_MARGIN - LADDER_GAP - VERDICT_ROOM;
	if (span > LADDER_SPAN)
		span = LADDER_SPAN;
	lane = ladder->n_cols > 1 ? span / (ladder->n_cols - 1) : 0;
	for (i = 0; i < ladder->n_cols; i++) {
		char addr[sizeof(result->hosts[i].addr)];

		ladder->col_x[i] = LADDER_MARGIN + i * lane;
		/* Tolerate a prefix length after the address. */
		snprintf(addr, sizeof(addr), "%s", result->hosts[i].addr);
		addr[strcspn(addr, "/")] = '\0';
		ladder->has_addr[i] = inet_pton(result->family, addr, &ladder->addr[i]) == 1;
		if (result->hosts[i].observing)
			ladder->observing = i;
	}
	ladder->verdict_x = ladder->col_x[ladder->n_cols - 1] + LADDER_GAP;

	for (i = 0; i < result->n_packets; i++) {
		ladder->has_tcp |= result->packets[i].packet.protocol == IPPROTO_TCP;
		flow_of(ladder, &result->packets[i].packet, &dir);
	}
	ladder->show_ports = ladder->n_flows > 1;
	ladder->n_flows = 0;
}

/* Host names over their lifelines, the observing one marked, addresses below. */
static void print_hosts(const struct ladder *ladder)
{
	const struct run_result *result = ladder->result;
	struct canvas names, addrs;
	size_t i, name_end = 0, addr_end = 0;

	canvas_lifelines(&names, ladder);
	canvas_lifelines(&addrs, ladder);
	for (i = 0; i < ladder->n_cols; i++) {
		size_t x = ladder->col_x[i];

		name_end = canvas_text(&names, x > name_end ? x : name_end + 1, result->hosts[i].name);
		if (i == ladder->observing)
			name_end = canvas_text(&names, name_end, "*");
		addr_end = canvas_text(&addrs, x > addr_end ? x : addr_end + 1, result->hosts[i].addr);
	}
	canvas_print(ladder->out, &names, 0);
	fputc('\n', ladder->out);
	canvas_print(ladder->out, &addrs, 0);
	fputc('\n', ladder->out);
	fprintf(ladder->out, "%*s* conntrack observed here", LADDER_MARGIN, "");
	if (ladder->has_tcp)
		fprintf(ladder->out, "; seq/ack relative to the SYN of their direction");
	fputc('\n', ladder->out);
}

/* Without hosts to draw lifelines for, one line per packet. */
static void report_flat(FILE *out, const struct run_result *result)
{
	size_t i, p;

	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		fprintf(out, "  %s:%d  %s%s%s\n", result->scenario->path, step->step->pos.line,
			step->step->text, step->passed ? "" : "\n      FAIL: ",
			step->passed ? "" : step->message);
		for (p = step->first_packet; p < step->end_packet && p < result->n_packets; p++)
			report_packet(out, &result->packets[p]);
	}
}

void report_ladder(FILE *out, const struct run_result *result, const struct report_style *style)
{
	struct ladder *ladder;
	size_t i, p;

	if (result->n_hosts == 0) {
		report_flat(out, result);
		return;
	}
	/* Too big for the stack with its flow table; one per run is cheap. */
	ladder = malloc(sizeof(*ladder));
	if (!ladder) {
		report_flat(out, result);
		return;
	}
	ladder_init(ladder, out, result, style);
	print_hosts(ladder);
	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		if (step->step->kind == STEP_EXPECT)
			print_expect(ladder, step);
		else
			print_section(ladder, step);
		for (p = step->first_packet; p < step->end_packet && p < result->n_packets; p++)
			draw_packet(ladder, &result->packets[p],
				    step->step->kind == STEP_SEND && step->sent_packet == (long)p);
		if (step->step->kind == STEP_SEND && !step->skipped && step->passed &&
		    step->sent_packet < 0)
			fprintf(out, "%*sno verdict seen for the packet sent\n", LADDER_MARGIN, "");
	}
	free(ladder);
}

/* Why each RST happened, under the ladder that shows it. */
static void report_chains(FILE *out, const struct run_result *result, unsigned width)
{
	size_t i;

	for (i = 0; i < result->n_chains; i++) {
		fputs("  ", out);
		print_wrapped(out, result->chains[i].text, 4, width >= LADDER_WIDTH ? width : LADDER_WIDTH);
		fputc('\n', out);
	}
}

/* The scenario's story, as one paragraph wrapped to the width. */
static void report_about(FILE *out, const struct run_result *result, unsigned width)
{
	char text[4096];
	size_t i;

	if (!result->scenario->about || !result->scenario->about[0])
		return;
	snprintf(text, sizeof(text), "%s", result->scenario->about);
	for (i = 0; text[i]; i++)
		if (text[i] == '\n')
			text[i] = ' ';
	fputs("  ", out);
	print_wrapped(out, text, 2, width >= LADDER_WIDTH ? width : LADDER_WIDTH);
	fputs("\n\n", out);
}

void report_story(FILE *out, const struct run_result *result, const struct report_style *style)
{
	report_ladder(out, result, style);
	report_chains(out, result, style->width);
}

static void report_text_run(FILE *out, const struct run_result *result)
{
	if (strlen(result->name) + strlen(result->scenario->path) + 4 <= text_style.width)
		fprintf(out, "%s  (%s)\n", result->name, result->scenario->path);
	else
		fprintf(out, "%s\n  (%s)\n", result->name, result->scenario->path);
	report_about(out, result, text_style.width);
	if (result->n_steps)
		report_ladder(out, result, &text_style);
	report_chains(out, result, text_style.width);
	switch (result->outcome) {
	case OUTCOME_PASS:
		fprintf(out, "PASS %s (%.3f s)\n\n", result->name, result->seconds);
		break;
	case OUTCOME_FAIL:
		fprintf(out, "FAIL %s: %zu failed (%.3f s)\n  %s\n\n", result->name,
			result->failures, result->seconds, result->reason);
		break;
	case OUTCOME_SKIP:
		fprintf(out, "SKIP %s: %s\n\n", result->name, result->reason);
		break;
	}
	fflush(out);
}

/* Every failed step of a run as a KTAP diagnostic line, file:line:column first. */
/* A diagnostic that may span lines (nft's errors do): each line a KTAP comment. */
static void ktap_comment(FILE *out, const char *text)
{
	if (!*text)
		return;
	fputs("# ", out);
	for (; *text; text++) {
		fputc(*text, out);
		if (*text == '\n' && text[1])
			fputs("# ", out);
	}
	if (text[-1] != '\n')
		fputc('\n', out);
}

static void report_ktap_failures(FILE *out, const struct run_result *result)
{
	char line[4096];
	size_t i;

	if (result->n_steps == 0 && result->reason[0])
		ktap_comment(out, result->reason);
	for (i = 0; i < result->n_steps; i++) {
		const struct step_result *step = &result->steps[i];

		if (step->passed)
			continue;
		snprintf(line, sizeof(line), "%s:%d:%d: %s: %s", result->scenario->path,
			 step->step->pos.line, step->step->pos.column, step->step->text,
			 step->message);
		ktap_comment(out, line);
	}
}

void report_run(FILE *out, enum report_format format, size_t number,
		const struct run_result *result, struct report_totals *totals)
{
	switch (result->outcome) {
	case OUTCOME_PASS:
		totals->passed++;
		break;
	case OUTCOME_FAIL:
		totals->failed++;
		break;
	case OUTCOME_SKIP:
		totals->skipped++;
		break;
	}
	if (format == REPORT_TEXT) {
		report_text_run(out, result);
		return;
	}
	if (result->outcome == OUTCOME_FAIL)
		report_ktap_failures(out, result);
	if (result->outcome == OUTCOME_SKIP)
		fprintf(out, "ok %zu %s # SKIP %s\n", number, result->name, result->reason);
	else
		fprintf(out, "%s %zu %s\n", result->outcome == OUTCOME_PASS ? "ok" : "not ok",
			number, result->name);
	fflush(out);
}

void report_end(FILE *out, enum report_format format, const struct report_totals *totals)
{
	if (format == REPORT_KTAP)
		/* kselftest's own totals line (ksft_print_cnts), word for word. */
		fprintf(out, "# Totals: pass:%zu fail:%zu xfail:0 xpass:0 skip:%zu error:0\n",
			totals->passed, totals->failed, totals->skipped);
	else
		fprintf(out, "%zu passed, %zu failed, %zu skipped\n", totals->passed,
			totals->failed, totals->skipped);
}
