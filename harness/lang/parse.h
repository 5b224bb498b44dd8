/* parse — what the files of the scenario parser share; private to harness/lang. */
#ifndef CTLAB_LANG_PARSE_H
#define CTLAB_LANG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lang/lang.h"

/* ---- Words of a line ---- */

struct word {
	const char *raw;	/* as written, for "found …" */
	int raw_len;
	int column;
	char *text;		/* strings decoded, NUL-terminated */
	size_t plain_len;	/* text[0..plain_len) was written unquoted */
	bool string;		/* the whole word is one "quoted string" */
};

struct parser {
	const char *filename;
	char *err;
	size_t errsize;
	int line;
	int end_column;		/* column just after the statement */
	struct word *words;
	size_t n_words, words_cap;
	size_t next;		/* the next word to take */
	char *text_buf;
	size_t text_cap;
	struct scenario *scenario;
	size_t steps_cap;
	struct step *step;	/* being parsed, for step statements */
	size_t keyword;		/* index of the statement's keyword, after any @condition */
	bool seen_name, seen_topology, seen_family;
	bool seen_kernel_min, seen_kernel_below;
	bool seen_sender;	/* a step that makes packets: send, connect, socket steps */
	int n_about;
	size_t about_len, about_cap;
	bool seen_statement;	/* a statement parsed: the file is a scenario */
	const char *const *hosts;
	unsigned muted;		/* bit i: hosts[i] is muted by a mute step */
};

/* ---- Statements ---- */

struct command {
	const char *name;
	const char *usage;	/* how lists show it, when not just the name */
	int (*parse)(struct parser *p);
	bool is_step;
	enum step_kind step_kind;
};

/* ---- lexer.c: the file, the words of a line, errors, taking words ---- */

/* "FILE:LINE:COLUMN: expected WHAT, found FOUND"; found_len -1 for all of found. */
int error_at(struct parser *p, int column, const char *found, int found_len,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define error_word(p, w, ...) \
	error_at(p, (w)->column, (w)->raw, (w)->raw_len, __VA_ARGS__)

int word_column(const struct word *w, size_t off);
bool is_blank(char c);
size_t comment_start(const char *line, size_t len);
int split_words(struct parser *p, const char *line, size_t len);
struct word *next_word(struct parser *p, const char *what);
struct word *peek_word(struct parser *p);
bool is_plain(const struct word *w);
int expect_end(struct parser *p);
struct word *next_plain(struct parser *p, const char *what);
int expect_keyword(struct parser *p, const char *keyword);
int take_string(struct parser *p, const char *what, bool multiline, const char **dst);
void list_names(const char *const *names, char *buf, size_t size);
int take_host(struct parser *p, char *dst);
bool is_destination(struct parser *p, const char *name);
int destination_error(struct parser *p, int column, const char *found, int found_len);
int take_destination(struct parser *p, char *dst);
int take_host_port(struct parser *p, char *host, uint16_t *port);
int take_host_port_as(struct parser *p, char *host, uint16_t *port, bool destination);
int find_conn(struct parser *p, const char *name, size_t len);
int find_packet(struct parser *p, const char *name, size_t len);
bool is_ident(const char *text);
bool is_counter_name(const char *text);
int parse_duration(struct parser *p, const struct word *w, size_t off, uint32_t max_ms,
		   uint32_t *ms);
int take_duration(struct parser *p, uint32_t max_ms, uint32_t *ms);
int conn_error(struct parser *p, int column, const char *found, int found_len);
bool conn_is_udp(const struct parser *p, int conn);
int take_ct_conn(struct parser *p, int *conn);
int parse_endpoint(struct parser *p, const struct word *w, size_t off,
		   struct endpoint *endpoint);
int take_endpoint(struct parser *p, struct endpoint *endpoint);
int take_protocol(struct parser *p, enum protocol *protocol);
int check_content(struct parser *p, const char *text, size_t len);

/* ---- expr.c: numbers, expressions, table sizes ---- */

int number_in_range(struct parser *p, const char *text, size_t len, int column,
		    uint64_t min, uint64_t max, uint64_t *value);
int parse_expr(struct parser *p, const struct word *w, size_t off, uint64_t max,
	       struct expr *expr);
int parse_expr_len(struct parser *p, const struct word *w, size_t off, size_t len, uint64_t max,
		   struct expr *expr);
int take_keyed_number(struct parser *p, const char *key, uint64_t min, uint64_t max,
		      uint64_t *value);
int parse_table_size(struct parser *p, const struct word *w, size_t off, uint64_t min,
		     uint64_t limit, struct table_size *size);
int take_count(struct parser *p, struct table_size *count);

/* ---- header.c: header statements, about, @conditions ---- */

bool topology_has_service(const char *topology);
int parse_name(struct parser *p);
int parse_fact(struct parser *p);
int parse_topology(struct parser *p);
int parse_family(struct parser *p);
int parse_nat(struct parser *p);
int parse_variant(struct parser *p);
int parse_kernel(struct parser *p);
int parse_about_words(struct parser *p);
int parse_condition(struct parser *p, const struct word *w, struct condition *when);
int add_about(struct parser *p, const char *text, size_t len);

/* ---- steps.c: step statements ---- */

enum icmp_message icmp_message_parse(const char *name);
int parse_sysctl(struct parser *p);
int parse_nft(struct parser *p);
int parse_listen(struct parser *p);
int parse_connect(struct parser *p);
int parse_flood(struct parser *p);
int parse_fill(struct parser *p);
int parse_flush(struct parser *p);
extern const char tcp_states_what[];
extern const char socket_states_what[];
int parse_write(struct parser *p);
int parse_read(struct parser *p);
int parse_shutdown(struct parser *p);
int parse_close(struct parser *p);
int parse_wait(struct parser *p);
int parse_delete(struct parser *p);
int parse_mute(struct parser *p);
int parse_bypass(struct parser *p);
int parse_hold(struct parser *p);
int parse_release(struct parser *p);
int parse_sleep(struct parser *p);
int parse_link(struct parser *p);
int parse_flags(struct parser *p, const struct word *w, size_t off, uint8_t *flags);
extern const char icmp_type_what[];
int parse_send(struct parser *p);

/* ---- expectations.c: expect statements ---- */

int parse_expect(struct parser *p);

/* ---- parse.c: the scenario's memory, statement tables ---- */

void *keep(struct parser *p, size_t size);
const char *keep_text(struct parser *p, const char *text, size_t len);
const struct command *select_command(struct parser *p, const struct command *table,
				     const char *what);

#endif
