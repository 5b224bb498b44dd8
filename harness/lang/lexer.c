/* lexer — reading a scenario file, cutting its lines into words, taking words, errors. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/base.h"
#include "lang/lang.h"
#include "lang/parse.h"

/* ---- Reading the file ---- */

/* Only a regular file is read (a FIFO would block, a device never end), opened
 * without blocking and checked on the descriptor itself, up to the size limit. */
struct scenario *scenario_parse_file(const char *path, char *err, size_t errsize)
{
	struct scenario *scenario = NULL;
	char shown[PATH_MAX];
	size_t len = 0;
	struct stat st;
	char *text;
	ssize_t n;
	int fd;

	snprintf(shown, sizeof(shown), "%s", path);
	safetext_escape(shown, sizeof(shown), false);

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		goto out_error;
	if (fstat(fd, &st) < 0)
		goto out_close;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsize, "%s: not a regular file (%s): only regular files are read "
			 "as scenarios", shown, S_ISDIR(st.st_mode) ? "a directory" :
			 S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" :
			 S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "not a file");
		close(fd);
		return NULL;
	}
	if ((uintmax_t)st.st_size > SCENARIO_FILE_MAX) {
		snprintf(err, errsize, "%s: %jd bytes: a scenario file holds at most %u",
			 shown, (intmax_t)st.st_size, SCENARIO_FILE_MAX);
		close(fd);
		return NULL;
	}
	/* One byte more than the limit tells a file that grew since fstat. */
	text = malloc(SCENARIO_FILE_MAX + 1);
	if (!text)
		goto out_close;
	while (len <= SCENARIO_FILE_MAX) {
		n = read(fd, text + len, SCENARIO_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out_free_text;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	scenario = scenario_parse_buffer(text, len, path, err, errsize);
	free(text);
	return scenario;

out_free_text:
	free(text);
out_close:
	close(fd);
out_error:
	snprintf(err, errsize, "%s: %s", shown, strerror(errno));
	return NULL;
}

/* A scenario file is text: refuse anything else at its position, before a word
 * of it reaches a terminal or a report. */
int check_content(struct parser *p, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t line_start = 0;
	int line = 1;

	if (len > SCENARIO_FILE_MAX) {
		snprintf(p->err, p->errsize, "%s: %zu bytes: a scenario file holds at most %u",
			 p->filename, len, SCENARIO_FILE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len;) {
		size_t column = i - line_start + 1;
		uint32_t c = s[i];
		size_t n = safetext_utf8(s + i, len - i, &c);

		if (n == 0) {
			snprintf(p->err, p->errsize, "%s:%d:%zu: expected UTF-8 text, found the "
				 "byte 0x%02X", p->filename, line, column, s[i]);
			return -1;
		}
		/* CR only as part of a CRLF line end (a blank, see is_blank). */
		if (safetext_is_control(c) && c != '\n' && !(c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
			snprintf(p->err, p->errsize, "%s:%d:%zu: expected text, found %s (U+%04X)",
				 p->filename, line, column,
				 c == 0 ? "a NUL byte" : "a control character", (unsigned)c);
			return -1;
		}
		if (c == '\n') {
			line++;
			line_start = i + 1;
		}
		i += n;
	}
	return 0;
}

/* ---- Words of a line ---- */

int error_at(struct parser *p, int column, const char *found, int found_len,
	     const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (found_len < 0)
		found_len = (int)strlen(found);
	snprintf(p->err, p->errsize, "%s:%d:%d: expected %s, found %.*s",
		 p->filename, p->line, column, what, found_len, found);
	return -1;
}

/* Column of offset off of a word's text, exact while the text is unquoted. */
int word_column(const struct word *w, size_t off)
{
	return off <= w->plain_len ? w->column + (int)off : w->column;
}

bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Where the comment starts, or len: '#' outside a string. */
size_t comment_start(const char *line, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		if (in_string && line[i] == '\\' && i + 1 < len)
			i++;
		else if (line[i] == '"')
			in_string = !in_string;
		else if (line[i] == '#' && !in_string)
			return i;
	}
	return len;
}

static int add_word(struct parser *p, struct word **w)
{
	if (p->n_words == p->words_cap) {
		size_t cap = p->words_cap ? 2 * p->words_cap : 16;
		struct word *words = realloc(p->words, cap * sizeof(*words));

		if (!words) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return -1;
		}
		p->words = words;
		p->words_cap = cap;
	}
	*w = &p->words[p->n_words++];
	return 0;
}

/* Cut line[0..len) (comment already removed) into words, decoding strings. */
int split_words(struct parser *p, const char *line, size_t len)
{
	char *out;
	size_t i = 0;

	p->n_words = 0;
	p->next = 0;
	if (p->text_cap < 2 * len + 2) {
		char *buf = realloc(p->text_buf, 2 * len + 2);

		if (!buf) {
			snprintf(p->err, p->errsize, "%s: %s", p->filename, strerror(ENOMEM));
			return -1;
		}
		p->text_buf = buf;
		p->text_cap = 2 * len + 2;
	}
	out = p->text_buf;

	for (;;) {
		struct word *w;
		bool quoted = false;

		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			break;
		if (add_word(p, &w))
			return -1;
		w->raw = line + i;
		w->column = (int)i + 1;
		w->text = out;
		w->string = line[i] == '"';
		while (i < len && !is_blank(line[i])) {
			size_t open;

			if (line[i] != '"') {
				*out++ = line[i++];
				continue;
			}
			if (!quoted)
				w->plain_len = (size_t)(out - w->text);
			quoted = true;
			open = i++;
			for (;;) {
				if (i == len)
					return error_at(p, (int)open + 1, "end of line", -1,
							"a closing \"");
				if (line[i] == '"')
					break;
				if (line[i] != '\\') {
					*out++ = line[i++];
					continue;
				}
				switch (i + 1 < len ? line[i + 1] : '\0') {
				case '"':  *out++ = '"';  break;
				case '\\': *out++ = '\\'; break;
				case 'n':  *out++ = '\n'; break;
				case 't':  *out++ = '\t'; break;
				default:
					return error_at(p, (int)i + 1, line + i,
							i + 1 < len ? 2 : 1,
							"an escape (\\\" \\\\ \\n \\t)");
				}
				i += 2;
			}
			i++;	/* the closing quote */
			/* A string ends at its closing quote only if the word does too. */
			if (i < len && !is_blank(line[i]))
				w->string = false;
		}
		*out++ = '\0';
		w->raw_len = (int)(line + i - w->raw);
		if (!quoted)
			w->plain_len = strlen(w->text);
	}
	return 0;
}

/* ---- Taking words ---- */

struct word *next_word(struct parser *p, const char *what)
{
	if (p->next == p->n_words) {
		error_at(p, p->end_column, "end of line", -1, "%s", what);
		return NULL;
	}
	return &p->words[p->next++];
}

struct word *peek_word(struct parser *p)
{
	return p->next < p->n_words ? &p->words[p->next] : NULL;
}

/* Written without quotes. */
bool is_plain(const struct word *w)
{
	return w->plain_len == strlen(w->text);
}

int expect_end(struct parser *p)
{
	if (p->next < p->n_words)
		return error_word(p, &p->words[p->next], "end of line");
	return 0;
}

/* A word that must be written as is, no quotes. */
struct word *next_plain(struct parser *p, const char *what)
{
	struct word *w = next_word(p, what);

	if (w && !is_plain(w)) {
		error_word(p, w, "%s", what);
		return NULL;
	}
	return w;
}

int expect_keyword(struct parser *p, const char *keyword)
{
	struct word *w = next_plain(p, keyword);

	if (!w)
		return -1;
	if (strcmp(w->text, keyword) != 0)
		return error_word(p, w, "%s", keyword);
	return 0;
}

/* A string word ("…") of at most SCENARIO_TEXT_MAX - 1 characters, kept in *dst;
 * on one line (no \n) unless multiline. */
int take_string(struct parser *p, const char *what, bool multiline, const char **dst)
{
	struct word *w = next_word(p, what);
	size_t len;

	if (!w)
		return -1;
	if (!w->string || w->text[0] == '\0')
		return error_word(p, w, "%s", what);
	len = strlen(w->text);
	if (len >= SCENARIO_TEXT_MAX)
		return error_word(p, w, "a string of at most %d characters",
				  SCENARIO_TEXT_MAX - 1);
	if (!multiline && strchr(w->text, '\n'))
		return error_word(p, w, "a string on one line (no \\n)");
	*dst = keep_text(p, w->text, len);
	return *dst ? 0 : -1;
}

/* A bare list "a, b, c" of a NULL-terminated table, for messages. */
void list_names(const char *const *names, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 i ? ", " : "", names[i]);
}

static bool is_host(struct parser *p, const char *name)
{
	for (size_t i = 0; p->hosts[i]; i++)
		if (strcmp(name, p->hosts[i]) == 0)
			return true;
	return false;
}

static int host_error(struct parser *p, int column, const char *found, int found_len)
{
	char hosts[256];

	list_names(p->hosts, hosts, sizeof(hosts));
	return error_at(p, column, found, found_len, "a host of topology %s (%s)",
			p->scenario->topology, hosts);
}

int take_host(struct parser *p, char *dst)
{
	struct word *w = next_word(p, "a host");

	if (!w)
		return -1;
	if (!is_plain(w) || !is_host(p, w->text))
		return host_error(p, w->column, w->raw, w->raw_len);
	strcpy(dst, w->text);
	return 0;
}

/* A packet's destination: a host, or the service address where there is one. */
bool is_destination(struct parser *p, const char *name)
{
	return is_host(p, name) || (strcmp(name, SERVICE_HOST) == 0 &&
				    topology_has_service(p->scenario->topology));
}

int destination_error(struct parser *p, int column, const char *found, int found_len)
{
	char hosts[256];

	if (!topology_has_service(p->scenario->topology))
		return host_error(p, column, found, found_len);
	list_names(p->hosts, hosts, sizeof(hosts));
	return error_at(p, column, found, found_len, "a host of topology %s (%s) or %s",
			p->scenario->topology, hosts, SERVICE_HOST);
}

int take_destination(struct parser *p, char *dst)
{
	struct word *w = next_word(p, "a host");

	if (!w)
		return -1;
	if (!is_plain(w) || !is_destination(p, w->text))
		return destination_error(p, w->column, w->raw, w->raw_len);
	strcpy(dst, w->text);
	return 0;
}

/* HOST:PORT in one word. */
int take_host_port(struct parser *p, char *host, uint16_t *port)
{
	return take_host_port_as(p, host, port, false);
}

/* HOST:PORT; with destination, also service:PORT where the topology has one. */
int take_host_port_as(struct parser *p, char *host, uint16_t *port, bool destination)
{
	struct word *w = next_plain(p, "HOST:PORT");
	const char *colon;
	size_t host_len;
	uint64_t value;

	if (!w)
		return -1;
	colon = strchr(w->text, ':');
	if (!colon)
		return error_word(p, w, "HOST:PORT");
	host_len = (size_t)(colon - w->text);
	if (host_len >= SCENARIO_IDENT_MAX)
		return host_error(p, w->column, w->text, (int)host_len);
	memcpy(host, w->text, host_len);
	host[host_len] = '\0';
	if (destination ? !is_destination(p, host) : !is_host(p, host))
		return (destination ? destination_error : host_error)(p, w->column, w->text,
								      (int)host_len);
	if (number_in_range(p, colon + 1, strlen(colon + 1),
			    word_column(w, host_len + 1), 1, 65535, &value))
		return -1;
	*port = (uint16_t)value;
	return 0;
}

int find_conn(struct parser *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->scenario->n_conns; i++)
		if (strlen(p->scenario->conns[i]) == len &&
		    strncmp(p->scenario->conns[i], name, len) == 0)
			return (int)i;
	return -1;
}

int find_packet(struct parser *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->scenario->n_packets; i++)
		if (strlen(p->scenario->packets[i]) == len &&
		    strncmp(p->scenario->packets[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* A connection's or a packet's name: [a-z][a-z0-9_]*. */
bool is_ident(const char *text)
{
	for (const char *c = text; *c; c++)
		if (!islower((unsigned char)*c) &&
		    (c == text || (!isdigit((unsigned char)*c) && *c != '_')))
			return false;
	return text[0] != '\0';
}

/* An nft object's or a MIB counter's name: [A-Za-z][A-Za-z0-9_]*. */
bool is_counter_name(const char *text)
{
	for (const char *c = text; *c; c++)
		if (!isalpha((unsigned char)*c) &&
		    (c == text || (!isdigit((unsigned char)*c) && *c != '_')))
			return false;
	return text[0] != '\0';
}

/* A time in w->text from off: N or Nms (milliseconds), Ns (seconds), 1 ms up
 * to max_ms. */
int parse_duration(struct parser *p, const struct word *w, size_t off, uint32_t max_ms,
		   uint32_t *ms)
{
	const char *text = w->text + off;
	size_t len = strlen(text), unit = 1;
	uint64_t value;

	if (len > 2 && strcmp(text + len - 2, "ms") == 0) {
		len -= 2;
	} else if (len > 1 && text[len - 1] == 's') {
		len -= 1;
		unit = 1000;
	}
	if (number_in_range(p, text, len, word_column(w, off), 1, max_ms / unit, &value))
		return -1;
	*ms = (uint32_t)(value * unit);
	return 0;
}

int take_duration(struct parser *p, uint32_t max_ms, uint32_t *ms)
{
	struct word *w = next_plain(p, "a time (N ms: 50, 50ms, 2s)");

	return w ? parse_duration(p, w, 0, max_ms, ms) : -1;
}

int conn_error(struct parser *p, int column, const char *found, int found_len)
{
	return error_at(p, column, found, found_len, "a connection declared by connect");
}

static int take_conn(struct parser *p, int *conn)
{
	struct word *w = next_plain(p, "a connection");

	if (!w)
		return -1;
	*conn = find_conn(p, w->text, strlen(w->text));
	if (*conn < 0)
		return conn_error(p, w->column, w->raw, w->raw_len);
	return 0;
}

bool conn_is_udp(const struct parser *p, int conn)
{
	return conn >= 0 && p->scenario->conn_protocols[conn] == PROTO_UDP;
}

/* A connection, or "last": the entry of the last packet sent, for a flow that
 * no connect made (a crafted SYN, a stray ACK). */
int take_ct_conn(struct parser *p, int *conn)
{
	struct word *w = peek_word(p);

	if (w && is_plain(w) && strcmp(w->text, "last") == 0) {
		p->next++;
		*conn = CONN_LAST;
		return 0;
	}
	return take_conn(p, conn);
}

/* CONN.client or CONN.server in w->text from off to the end. */
int parse_endpoint(struct parser *p, const struct word *w, size_t off,
		   struct endpoint *endpoint)
{
	const char *text = w->text + off;
	int column = word_column(w, off);
	const char *dot = strchr(text, '.');
	size_t name_len = dot ? (size_t)(dot - text) : strlen(text);

	if (!*text)
		return error_at(p, column, "nothing", -1, "CONN.client or CONN.server");
	endpoint->conn = find_conn(p, text, name_len);
	if (endpoint->conn < 0)
		return conn_error(p, column, text, name_len ? (int)name_len : -1);
	if (dot && strcmp(dot + 1, "client") == 0)
		endpoint->side = SIDE_CLIENT;
	else if (dot && strcmp(dot + 1, "server") == 0)
		endpoint->side = SIDE_SERVER;
	else
		return error_at(p, column, text, -1, "%.*s.client or %.*s.server",
				(int)name_len, text, (int)name_len, text);
	return 0;
}

int take_endpoint(struct parser *p, struct endpoint *endpoint)
{
	struct word *w = next_plain(p, "CONN.client or CONN.server");

	if (!w)
		return -1;
	return parse_endpoint(p, w, 0, endpoint);
}

/* tcp, udp or icmp. */
int take_protocol(struct parser *p, enum protocol *protocol)
{
	const char *what = "a protocol (tcp, udp, icmp)";
	struct word *w = next_plain(p, what);

	if (!w)
		return -1;
	if (protocol_parse(w->text, protocol) == 0)
		return 0;
	return error_word(p, w, "%s", what);
}
