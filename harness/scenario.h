/* scenario — parse a scenario file (*.ct) into the steps the engine runs. */
#ifndef CTLAB_SCENARIO_H
#define CTLAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCENARIO_NAME_MAX	64
#define SCENARIO_IDENT_MAX	32	/* host, connection, counter names */
#define SCENARIO_TEXT_MAX	1024	/* reason patterns, nft rulesets, sysctl values */
#define SCENARIO_CONNS_MAX	16
#define EXPR_TERMS_MAX		8

/* Where a statement or word stands in its file, 1-based, for error messages. */
struct source_pos {
	int line;
	int column;
};

/* What conntrack made of a packet, as the observer's nft rules log it. */
enum verdict {
	VERDICT_UNSEEN,		/* no record arrived for the packet */
	VERDICT_NEW,
	VERDICT_ESTABLISHED,
	VERDICT_RELATED,
	VERDICT_INVALID,
	VERDICT_UNTRACKED,
	VERDICT_COUNT
};

const char *verdict_name(enum verdict verdict);
/* 0 and *verdict set, or -1 for an unknown name ("unseen" is not parsed). */
int verdict_parse(const char *name, enum verdict *verdict);

/* Conntrack's TCP states, numbered as the kernel's enum tcp_conntrack. */
const char *tcp_state_name(int state);
/* The state number, or -1 for an unknown name (NONE, SYN_SENT, ..., CLOSE, SYN_SENT2). */
int tcp_state_parse(const char *name);

enum families {
	FAMILY_IPV4 = 1 << 0,
	FAMILY_IPV6 = 1 << 1,
	FAMILY_BOTH = FAMILY_IPV4 | FAMILY_IPV6,
};

/* A number, or a live value of a connection: c.client.nxt is the next sequence
 * number the client of connection c will send, c.server.win the receive window
 * (bytes, scaled) the server advertises. */
enum conn_side { SIDE_CLIENT, SIDE_SERVER };
enum conn_value { CONN_NXT, CONN_WIN };

struct expr_term {
	int sign;			/* +1 or -1 */
	bool is_conn;
	uint64_t number;		/* when !is_conn */
	int conn;			/* index into scenario.conns, when is_conn */
	enum conn_side side;
	enum conn_value value;
};

/* term (('+'|'-') term)*, evaluated modulo 2^32 for sequence numbers. */
struct expr {
	bool present;
	size_t n_terms;
	struct expr_term terms[EXPR_TERMS_MAX];
};

/* The settable numeric fields of a crafted TCP packet (field=EXPR). */
enum send_field {
	SEND_SPORT, SEND_DPORT, SEND_SEQ, SEND_ACK, SEND_WIN, SEND_URG,
	SEND_DOFF, SEND_LEN, SEND_MSS, SEND_WSCALE, SEND_TTL, SEND_TOS,
	SEND_TSVAL, SEND_TSECR, SEND_TRUNCATE, SEND_CSUM,
	SEND_FIELD_COUNT
};

/* Keyword of each field as written in a scenario ("sport", "seq", "win"…). */
const char *send_field_name(enum send_field field);

struct send_step {
	char src[SCENARIO_IDENT_MAX];	/* host names, checked against the topology */
	char dst[SCENARIO_IDENT_MAX];
	int conn;			/* conn=NAME: ports, seq, ack default from it; -1 none */
	bool has_flags;
	uint8_t flags;			/* TCP_FLAG_* bits (flags=SA) */
	bool sack_permitted;		/* sackok */
	bool timestamp;			/* ts: set by tsval= or tsecr= too */
	bool bad_checksum;		/* csum=bad; csum=NUMBER sets fields[SEND_CSUM] */
	struct expr fields[SEND_FIELD_COUNT];
};

struct sysctl_step {
	char host[SCENARIO_IDENT_MAX];
	char key[SCENARIO_TEXT_MAX];	/* always full and dotted: net.netfilter.nf_… */
	char value[SCENARIO_TEXT_MAX];
};

struct nft_step {
	char host[SCENARIO_IDENT_MAX];
	char ruleset[SCENARIO_TEXT_MAX];
};

struct listen_step {
	char host[SCENARIO_IDENT_MAX];
	uint16_t port;
};

struct connect_step {
	int conn;
	char client[SCENARIO_IDENT_MAX];
	char server[SCENARIO_IDENT_MAX];
	uint16_t port;
};

enum expect_kind {
	EXPECT_VERDICT,		/* verdict V [reason "TEXT" | reason none] */
	EXPECT_REASON,		/* reason "TEXT" | reason none */
	EXPECT_CT,		/* ct CONN state S [assured|!assured] [seen_reply|!seen_reply] | ct CONN gone */
	EXPECT_STAT,		/* stat COUNTER +N | -N | N: delta since before the last send */
};

/* A reason pattern matches the logged reason exactly, except that '#' stands for
 * any decimal number (kernels print window bounds that change from run to run). */
struct expect_step {
	enum expect_kind kind;
	enum verdict verdict;
	bool has_reason;		/* a reason clause was given */
	bool reason_none;		/* reason none: nothing may be logged */
	char reason[SCENARIO_TEXT_MAX];
	int conn;
	bool gone;
	int state;			/* tcp_state_parse value */
	int assured;			/* -1 not checked, 0 must be clear, 1 must be set */
	int seen_reply;			/* likewise */
	char counter[SCENARIO_IDENT_MAX];	/* a column of stat/nf_conntrack */
	int64_t delta;
};

enum step_kind {
	STEP_SYSCTL, STEP_NFT, STEP_LISTEN, STEP_CONNECT, STEP_SEND, STEP_EXPECT,
};

struct step {
	enum step_kind kind;
	struct source_pos pos;
	char text[SCENARIO_TEXT_MAX];	/* the statement as written, for reports */
	union {
		struct sysctl_step sysctl;
		struct nft_step nft;
		struct listen_step listen;
		struct connect_step connect;
		struct send_step send;
		struct expect_step expect;
	};
};

struct scenario {
	char path[4096];
	char name[SCENARIO_NAME_MAX];
	char *about;			/* the about lines joined with '\n'; "" if none */
	char topology[SCENARIO_IDENT_MAX];	/* "pair" */
	unsigned families;		/* enum families bits */
	size_t n_conns;
	char conns[SCENARIO_CONNS_MAX][SCENARIO_IDENT_MAX];
	size_t n_steps;
	struct step *steps;
};

/*
 * Parse a scenario from text.  On error returns NULL and writes
 * "FILE:LINE:COLUMN: expected …, found …" into err.  Columns count bytes from 1;
 * a missing name or topology statement is reported at the line after the last,
 * column 1, "found end of file".
 */
struct scenario *scenario_parse_string(const char *text, const char *filename,
				       char *err, size_t errsize);
/* Read and parse a file; errors as scenario_parse_string (or "FILE: strerror"). */
struct scenario *scenario_parse_file(const char *path, char *err, size_t errsize);
void scenario_free(struct scenario *scenario);

/* Hosts of a topology, NULL-terminated, or NULL for an unknown topology. */
const char *const *scenario_topology_hosts(const char *topology);

#endif
