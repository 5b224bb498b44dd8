/* lang — the scenario language: a scenario file (*.ct) parsed into the steps the
 * engine runs, and the expectations judged against what was observed.  Pure: no
 * namespaces, no sockets, no kernel. */
#ifndef CTLAB_LANG_H
#define CTLAB_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define SCENARIO_NAME_MAX	64
#define SCENARIO_IDENT_MAX	32	/* host, connection, counter names */
#define SCENARIO_TEXT_MAX	1024	/* reason patterns, nft rulesets, sysctl values */
#define SCENARIO_CONNS_MAX	16
#define SCENARIO_PACKETS_MAX	32	/* packets named by `expect packet … as NAME` */
#define SCENARIO_MUTED_MAX	4	/* hosts muted by `mute` */
#define SLEEP_MS_MAX		10000	/* sleep MS */
#define QUIET_MS_DEFAULT	200	/* expect no packet: the quiet period (the kernel's longest delayed ACK) */
#define WITHIN_MS_MAX		60000	/* expect … within T */
#define CONN_LAST		(-2)	/* "last" in ct steps: the entry of the last packet sent */
#define EXPR_TERMS_MAX		8
#define SCENARIO_VARIANTS_MAX	8
#define SCENARIO_FILE_MAX	(8u << 20)	/* bytes in one scenario file */
#define SCENARIO_STEPS_MAX	100000		/* steps in one scenario */
#define UDP_DATAGRAM_MAX	65507		/* payload of one IPv4 UDP datagram */
#define TABLE_COUNT_MAX		16777216	/* flood and fill count=, the --ct-max limit */

/* Where a statement or word stands in its file, 1-based, for error messages. */
struct source_pos {
	int line;
	int column;
};

/* A number of entries written N, max, max+N or max-N: "max" is the global
 * net.netfilter.nf_conntrack_max as the run finds it (it follows the machine's
 * memory, and --ct-max), so that table-full stories hold on any machine. */
struct table_size {
	bool of_max;
	int64_t n;			/* the number, or what is added to max */
};

/* Its value for a table of max entries, never below 0. */
int64_t table_size_value(const struct table_size *size, uint64_t max);


/* NAT on the router of topology routed (nat statement). */
enum nat_kind {
	NAT_NONE,
	NAT_DNAT,		/* the service address is translated to the server, as kube-proxy does */
	NAT_SNAT,		/* the client's address is translated to the router's, towards the server */
	NAT_MASQUERADE,		/* the same with masquerade */
};

const char *nat_kind_name(enum nat_kind nat);	/* "none", "dnat", "snat", "masquerade" */

/* The name that stands for the DNAT service address in topology routed. */
#define SERVICE_HOST	"service"

enum families {
	FAMILY_IPV4 = 1 << 0,
	FAMILY_IPV6 = 1 << 1,
	FAMILY_BOTH = FAMILY_IPV4 | FAMILY_IPV6,
};

/* A number, or a live value of a connection: c.client.nxt is the next sequence
 * number the client of connection c will send, c.server.win the receive window
 * (bytes, scaled) the server advertises. */
enum conn_side { SIDE_CLIENT, SIDE_SERVER };
/* What a connection term names of one end: its next sequence number, its
 * receive window, the TSval it would send now, the last TSval it received. */
enum conn_value { CONN_NXT, CONN_WIN, CONN_TSVAL, CONN_TSECR };

/* A field of a packet named by `as NAME`: sa.seq, sa.ack, sa.win (the raw
 * window field), sa.sport, sa.dport, sa.tsval, sa.tsecr, sa.len (payload). */
enum packet_value {
	PACKET_SEQ, PACKET_ACK, PACKET_WIN, PACKET_SPORT, PACKET_DPORT, PACKET_TSVAL,
	PACKET_TSECR, PACKET_LEN,
	PACKET_VALUE_COUNT
};

const char *packet_value_name(enum packet_value value);	/* "seq", "ack" … */

struct expr_term {
	int sign;			/* +1 or -1 */
	bool is_conn;
	bool is_packet;			/* a named packet's field */
	uint64_t number;		/* when neither */
	int conn;			/* index into scenario.conns, when is_conn */
	enum conn_side side;
	enum conn_value value;
	int packet;			/* index into scenario.packets, when is_packet */
	enum packet_value field;
};

/* term (('+'|'-') term)*, evaluated modulo 2^32 for sequence numbers.  The
 * terms are kept with the scenario: most fields are unset and take no room. */
struct expr {
	bool present;
	uint8_t n_terms;
	const struct expr_term *terms;
};

/* The settable numeric fields of a crafted TCP packet (field=EXPR). */
enum send_field {
	SEND_SPORT, SEND_DPORT, SEND_SEQ, SEND_ACK, SEND_WIN, SEND_URG,
	SEND_DOFF, SEND_LEN, SEND_MSS, SEND_WSCALE, SEND_TTL, SEND_TOS,
	SEND_TSVAL, SEND_TSECR, SEND_TRUNCATE, SEND_CSUM,
	SEND_ULEN,		/* UDP length field (default: the true length) */
	SEND_TYPE, SEND_CODE,	/* ICMP/ICMPv6 type and code (type= also takes a name) */
	SEND_MTU,		/* ICMP "fragmentation needed" / ICMPv6 "packet too big" */
	SEND_ICMP_ID, SEND_ICMP_SEQ,	/* echo identifier and sequence ("icmpid", "icmpseq") */
	SEND_FIELD_COUNT
};

/* Keyword of each field as written in a scenario ("sport", "seq", "win"…). */
const char *send_field_name(enum send_field field);


/*
 * Named ICMP messages, mapped to the right type and code for each family
 * (type=port-unreachable is 3/3 in ICMP and 1/4 in ICMPv6).
 */
enum icmp_message {
	ICMP_MSG_NONE,		/* type= given as a number, or not at all */
	ICMP_MSG_ECHO_REQUEST, ICMP_MSG_ECHO_REPLY, ICMP_MSG_PORT_UNREACHABLE,
	ICMP_MSG_HOST_UNREACHABLE, ICMP_MSG_ADMIN_PROHIBITED, ICMP_MSG_TOO_BIG,
	ICMP_MSG_TIME_EXCEEDED,
	ICMP_MSG_COUNT
};

/* "echo-request", "echo-reply", "port-unreachable", "host-unreachable",
 * "admin-prohibited", "too-big", "time-exceeded"; "?" for ICMP_MSG_NONE. */
const char *icmp_message_name(enum icmp_message message);

/* A host:side of a connection, written c.client or c.server. */
struct endpoint {
	int conn;
	enum conn_side side;
};

struct send_step {
	char src[SCENARIO_IDENT_MAX];	/* host names, checked against the topology */
	char dst[SCENARIO_IDENT_MAX];
	enum protocol protocol;		/* tcp, udp or icmp (ICMPv6 in IPv6 runs) */
	enum icmp_message icmp_message;	/* type=NAME */
	bool has_quote;			/* quote=c.client: an ICMP error about the packet */
	struct endpoint quote;		/* that endpoint would send next on its connection */
	int conn;			/* conn=NAME: ports, seq, ack default from it; -1 none */
	bool has_flags;
	uint8_t flags;			/* TCP_FLAG_* bits (flags=SA) */
	bool sack_permitted;		/* sackok */
	bool timestamp;			/* ts: set by tsval= or tsecr= too */
	bool bad_checksum;		/* csum=bad; csum=NUMBER sets fields[SEND_CSUM] */
	struct expr fields[SEND_FIELD_COUNT];
	uint8_t n_sack;			/* sack=L:R[,L:R…]: SACK blocks, up to 4 */
	const struct expr *sack;	/* 2 * n_sack edges: left, right, left, … */
	uint8_t raw_len;		/* opt=HEX: option bytes written after the others */
	const uint8_t *raw_options;
};

struct sysctl_step {
	char host[SCENARIO_IDENT_MAX];
	const char *key;		/* always full and dotted: net.netfilter.nf_… */
	const char *value;
};

struct nft_step {
	char host[SCENARIO_IDENT_MAX];
	const char *ruleset;
};

/* Options set on a TCP socket before its handshake (listen, connect):
 * maxseg=N (TCP_MAXSEG), rcvbuf=N (SO_RCVBUF), nodelay (TCP_NODELAY). */
struct sockopt_set {
	uint16_t maxseg;		/* 0: not set */
	uint32_t rcvbuf;		/* 0: not set */
	bool nodelay;
};

struct listen_step {
	char host[SCENARIO_IDENT_MAX];
	uint16_t port;
	uint16_t backlog;		/* backlog=N; 0: the engine's default */
	struct sockopt_set options;	/* accepted sockets inherit them */
};

/* link A B [mtu=N] [delay=T] [loss=P%] [reorder=P%]: both ends of the link
 * between two neighbours: their MTU, and a netem qdisc that delays, drops
 * and reorders (sends some at once, ahead of the delayed) what each end sends. */
#define LINK_DELAY_MS_MAX	10000
struct link_step {
	char a[SCENARIO_IDENT_MAX];
	char b[SCENARIO_IDENT_MAX];
	uint32_t mtu;			/* 0: unchanged */
	bool netem;			/* delay= or loss= given */
	uint32_t delay_ms;
	uint32_t loss;			/* the fraction loss / UINT32_MAX of packets dropped */
	uint32_t loss_hundredths;	/* the same in hundredths of a percent, for reports */
	uint32_t reorder;		/* the fraction reorder / UINT32_MAX sent undelayed */
	uint32_t reorder_hundredths;
};

/* mute HOST: HOST's kernel answers nothing from then on (its TCP, UDP and
 * ICMP echo input is dropped before conntrack and sockets); crafted packets
 * speak for it: a scripted peer. */
struct mute_step {
	char host[SCENARIO_IDENT_MAX];
};

/* SRC -> DST [PROTO [flags=X[+]]]: the packets a bypass or hold step takes.
 * bypass: from here on they pass the observing host untracked, as if they took
 * another path past its conntrack; hold: the observing host keeps them back,
 * after its conntrack saw them, until a release. */
struct packet_path {
	char src[SCENARIO_IDENT_MAX];
	char dst[SCENARIO_IDENT_MAX];	/* a host or "service" */
	bool has_protocol;
	enum protocol protocol;
	bool has_flags;			/* tcp: exactly these flags */
	bool flags_contain;		/* flags=R+: these flags and maybe others */
	uint8_t flags;
	bool before_conntrack;		/* hold … before conntrack: queued in prerouting/output first */
};

/* release [N]: wait (bounded) until N packets (1..64, default 1) are held, then
 * let every held packet go on, in the order they came, and hold no more. */
#define HOLD_PACKETS_MAX	64
struct release_step {
	uint32_t count;
};

/* sleep MS: the one step that waits for time itself, 1..SLEEP_MS_MAX. */
struct sleep_step {
	uint32_t ms;
};

/* connect c client -> server:80 [udp]: a kernel TCP connection (or a pair of
 * connected UDP sockets) named c. */
struct connect_step {
	int conn;
	char client[SCENARIO_IDENT_MAX];
	char server[SCENARIO_IDENT_MAX];
	uint16_t port;
	enum protocol protocol;		/* PROTO_TCP or PROTO_UDP */
	bool may_fail;			/* … may-fail: a failure is recorded for expect socket */
	bool nowait;			/* … nowait: start the handshake and go on (tcp) */
	uint16_t sport;			/* sport=N: the client's port; 0 the kernel's choice */
	struct sockopt_set options;	/* the client socket's (tcp) */
};

/* Socket states as the kernel's tcp_info reports them (TCP_ESTABLISHED = 1 …). */
const char *socket_state_name(int state);
/* ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE CLOSE_WAIT
 * LAST_ACK LISTEN CLOSING; -1 for an unknown name. */
int socket_state_parse(const char *name);

/* Kernel socket steps on one end of a connection. */
enum socket_action {
	SOCKET_WRITE,		/* write EP N: N bytes (one datagram for UDP) */
	SOCKET_READ,		/* read EP N: wait (bounded) until N bytes were read */
	SOCKET_SHUTDOWN,	/* shutdown EP: SHUT_WR, the socket sends its FIN */
	SOCKET_CLOSE,		/* close EP [rst]: close(); with rst, SO_LINGER 0 sends a RST */
	SOCKET_WAIT,		/* wait EP state S: until tcp_info says state S */
};

struct socket_step {
	enum socket_action action;
	struct endpoint endpoint;
	uint32_t bytes;			/* write, read */
	bool abort;			/* close ... rst */
	int state;			/* wait: socket_state_parse value */
	bool may_fail;			/* … may-fail: a failure is recorded for expect socket */
};

/* wait ct CONN state S | wait ct CONN gone | wait ct CONN assured: until
 * conntrack's entry gets there (for assured, the client keeps writing: a UDP
 * stream is assured only once it lives on after its first 2 seconds).
 * delete ct CONN: remove the entry through ctnetlink (as conntrack -D does).
 * CONN may be CONN_LAST. */
struct ct_step {
	bool delete;
	bool flush;			/* flush ct HOST: every entry of that host, as conntrack -F */
	char host[SCENARIO_IDENT_MAX];	/* flush only */
	int conn;
	bool gone;
	bool assured;
	int state;			/* tcp_state_parse value, -1 with gone */
};

enum expect_kind {
	EXPECT_VERDICT,		/* verdict V [reason "TEXT" | reason none] */
	EXPECT_REASON,		/* reason "TEXT" | reason none */
	EXPECT_CT,		/* ct CONN [state S] [[!]assured] [[!]seen_reply] [timeout MIN..MAX]
				 * (at least one, any order) | ct CONN gone */
	EXPECT_STAT,		/* stat COUNTER +N | -N | N: delta since before the last send */
	EXPECT_PACKET,		/* [no] packet SRC -> DST PROTO [flags=X] [seq=E] [ack=E] [type=T] [verdict V] [reason R] */
	EXPECT_SOCKET,		/* socket EP error ERRNO|none | socket EP state S */
	EXPECT_WIRE,		/* [no] wire HOST -> HOST PROTO [clauses] [src=NAME] [dst=NAME] */
	EXPECT_ENTRIES,		/* entries OP N|max: the observing host's nf_conntrack_count */
	EXPECT_KMSG,		/* [no] kmsg "TEXT": a kernel log line since the run began */
	EXPECT_COUNTER,		/* counter HOST NAME [packets OP N] [bytes OP N]: an nft named counter */
	EXPECT_NETSTAT,		/* netstat [HOST] NAME OP N: a TCP/IP MIB counter's change */
};

/* How a number is compared: stat deltas ("+1" is EQ 1, ">0"), entry counts. */
enum compare_op { CMP_EQ, CMP_GT, CMP_GE, CMP_LT, CMP_LE };

const char *compare_op_text(enum compare_op op);	/* "", ">", ">=", "<", "<=" */

/* #{EXPR} in a reason pattern: a number that must equal EXPR's value when the
 * expectation is checked ("SEQ is over upper bound #{c.server.nxt+65535} …"). */
#define REASON_VALUES_MAX	4
struct reason_values {
	uint8_t n;
	const struct expr *exprs;	/* n of them, in the pattern's order */
};

/* A packet the observer may have seen since the last send (a challenge ACK, a RST
 * answer, an ICMP error).  Unset fields match anything. */
struct packet_match {
	char src[SCENARIO_IDENT_MAX];
	char dst[SCENARIO_IDENT_MAX];
	enum protocol protocol;
	bool has_flags;
	uint8_t flags;			/* exact TCP flags */
	bool flags_contain;		/* flags=R+: these flags and maybe others */
	struct expr seq, ack;
	struct expr sport, dport;	/* tcp and udp */
	bool has_type;
	enum icmp_message icmp_message;	/* or raw type when ICMP_MSG_NONE */
	uint8_t icmp_type;
	enum verdict verdict;		/* VERDICT_UNSEEN: any */
	bool has_reason;		/* reason "TEXT" | reason none, as for the last packet */
	bool reason_none;
	const char *reason;		/* "" unless has_reason */
	struct reason_values values;	/* its #{EXPR} */
	bool absent;			/* expect no packet …: must not be seen */
	/* expect wire only: src and dst are the hop (the host that sent it on the
	 * link, the host that received it); these name the IP addresses the packet
	 * carried there: a host's, or "service" (the DNAT address); "" any. */
	char addr_src[SCENARIO_IDENT_MAX];
	char addr_dst[SCENARIO_IDENT_MAX];
	uint32_t within_ms;		/* within T: how long to wait for it (absent: the quiet
					 * period); 0: the run's -t (absent: QUIET_MS_DEFAULT) */
	int name;			/* as NAME: index into scenario.packets; -1 none */
};

/* A reason pattern matches the logged reason exactly, except that '#' stands for
 * any decimal number (kernels print window bounds that change from run to run). */
struct expect_step {
	enum expect_kind kind;
	enum verdict verdict;
	bool has_reason;		/* a reason clause was given */
	bool reason_none;		/* reason none: nothing may be logged */
	const char *reason;		/* the pattern ("" unless has_reason), or kmsg's text */
	struct reason_values values;	/* the pattern's #{EXPR} */
	int conn;
	bool gone;
	int state;			/* tcp_state_parse value; -1 not checked */
	uint32_t also_states;		/* state A|B…: bit s set for each further state accepted */
	int assured;			/* -1 not checked, 0 must be clear, 1 must be set */
	int seen_reply;			/* likewise */
	char counter[SCENARIO_IDENT_MAX];	/* a column of stat/nf_conntrack */
	int64_t delta;
	bool since_start;		/* stat, netstat: since the run's first sending step */
	enum compare_op op;		/* stat and entries: how the value compares */
	struct table_size entries;	/* entries OP N|max|max±N */
	bool absent;			/* no kmsg */
	int64_t timeout_min, timeout_max;	/* ct … timeout MIN..MAX seconds; -1 not checked */
	struct packet_match packet;
	struct endpoint endpoint;		/* socket … */
	int socket_errno;			/* socket EP error E: 0 for none, -1 not checked */
	int socket_state;			/* socket EP state S: -1 not checked */
	uint32_t socket_also_states;		/* state A|B…: further states accepted */
	char host[SCENARIO_IDENT_MAX];		/* counter, netstat: whose ("" netstat: the observing host) */
	bool has_packets, has_bytes;		/* counter … packets OP N, bytes OP N */
	enum compare_op packets_op, bytes_op;
	uint64_t packets, bytes;
};

/* Error names a socket expectation takes: ECONNRESET ECONNREFUSED ETIMEDOUT EPIPE
 * EHOSTUNREACH ENETUNREACH, or "none" for 0; -1 for an unknown name. */
int socket_errno_parse(const char *name);

/* flood SRC -> DST:PORT syn count=N [threads=T]: SYNs from count distinct
 * source address/port pairs (198.18.128.0/17, 2001:db8:3::/48) as fast as the
 * machine can. */
struct flood_step {
	char src[SCENARIO_IDENT_MAX];
	char dst[SCENARIO_IDENT_MAX];
	uint16_t port;
	struct table_size count;
	unsigned threads;		/* 0: one per CPU */
	bool udp;			/* flood … udp: one datagram per tuple instead of a SYN */
};

/* fill HOST count=N [timeout=S]: that host's table gets N ESTABLISHED, ASSURED
 * entries through ctnetlink, as conntrack -I makes them. */
struct fill_step {
	char host[SCENARIO_IDENT_MAX];
	struct table_size count;
	uint32_t timeout;		/* seconds; 0: 3600 */
	bool udp;			/* UDP entries (to port 53) instead of TCP (to 80) */
};

enum step_kind {
	STEP_SYSCTL, STEP_NFT, STEP_LISTEN, STEP_CONNECT, STEP_SEND, STEP_EXPECT,
	STEP_SOCKET, STEP_CT, STEP_FLOOD, STEP_FILL, STEP_MUTE, STEP_SLEEP, STEP_LINK,
	STEP_BYPASS, STEP_HOLD, STEP_RELEASE,
};
#define STEP_KIND_COUNT		(STEP_RELEASE + 1)	/* not in the enum: switches stay exhaustive */

/* Kernel versions as KERNEL_VERSION(major, minor, patch) would make them. */
#define CTLAB_KERNEL_VERSION(a, b, c)	(((uint32_t)(a) << 16) + ((b) << 8) + (c))

/*
 * When a step applies: written "@liberal", "@strict,loose", "@kernel>=6.0",
 * "@liberal,kernel<6.1", "@ipv6" before the statement.  Variant names are ORed
 * with one another; the family and kernel bounds are ANDed with them.
 */
struct condition {
	unsigned variants;		/* bit i: scenario->variants[i]; 0: every variant */
	unsigned families;		/* @ipv4 / @ipv6: enum families bits; 0: both */
	uint32_t kernel_min;		/* kernel >= this; 0: no bound */
	uint32_t kernel_below;		/* kernel < this; 0: no bound */
	uint8_t n_facts;		/* @fact:NAME / @!fact:NAME, ANDed with the rest */
	const struct fact_need *facts;
};

#define CONDITION_FACTS_MAX	4

/* A kernel fact a step's condition names, and the value it needs. */
struct fact_need {
	const char *name;		/* a scenario that says `fact NAME` */
	bool value;			/* fact:NAME true, !fact:NAME false */
};

/* What a probe found a fact to be on the running kernel. */
struct fact_value {
	char name[SCENARIO_NAME_MAX];
	int value;			/* 1 true, 0 false, -1 unknown (its probe could not tell) */
	char why[256];			/* unknown: why; false: its first unmet expectation */
};

struct step {
	enum step_kind kind;
	struct source_pos pos;
	const char *text;		/* the statement as written, for reports */
	struct condition when;
	union {
		struct sysctl_step sysctl;
		struct nft_step nft;
		struct listen_step listen;
		struct connect_step connect;
		struct send_step send;
		struct expect_step expect;
		struct socket_step socket;
		struct ct_step ct;
		struct flood_step flood;
		struct fill_step fill;
		struct mute_step mute;
		struct sleep_step sleep;
		struct link_step link;
		struct packet_path bypass;
		struct packet_path hold;
		struct release_step release;
	};
};

struct scenario {
	char path[4096];
	char name[SCENARIO_NAME_MAX];
	bool is_fact;			/* `fact NAME` instead of `name NAME`: a probe, not a test */
	char *about;			/* the about lines joined with '\n'; "" if none */
	char topology[SCENARIO_IDENT_MAX];	/* "pair" */
	unsigned families;		/* enum families bits */
	enum nat_kind nat;		/* nat dnat|snat|masquerade|none (routed only) */
	uint32_t kernel_min;		/* kernel >= V / kernel < V statements; 0: none */
	uint32_t kernel_below;
	size_t n_variants;		/* variant NAME statements; 0: one unnamed run */
	char variants[SCENARIO_VARIANTS_MAX][SCENARIO_IDENT_MAX];
	enum protocol conn_protocols[SCENARIO_CONNS_MAX];	/* tcp or udp, by connection */
	size_t n_conns;
	char conns[SCENARIO_CONNS_MAX][SCENARIO_IDENT_MAX];
	size_t n_packets;		/* packets named by `as` */
	char packets[SCENARIO_PACKETS_MAX][SCENARIO_IDENT_MAX];
	bool uses_netstat;		/* an expect netstat: the engine keeps the MIBs before each send */
	bool uses_netem;		/* a link with delay= or loss=: needs the kernel's sch_netem */
	size_t n_steps;
	struct step *steps;
	struct scenario_chunk *strings;	/* private: where texts and terms are kept */
};

/*
 * Parse a scenario from text.  On error returns NULL and writes
 * "FILE:LINE:COLUMN: expected …, found …" into err.  Columns count bytes from 1;
 * a missing name or topology statement is reported at the line after the last,
 * column 1, "found end of file".
 */
struct scenario *scenario_parse_string(const char *text, const char *filename,
				       char *err, size_t errsize);
/*
 * The same for @len bytes that need not end in NUL: a scenario file's whole
 * content.  Scenario files are untrusted: more than SCENARIO_FILE_MAX bytes, a
 * NUL byte, a control character other than tab (and CR before LF), or bytes
 * that are not UTF-8 are errors at their position.
 */
struct scenario *scenario_parse_buffer(const char *text, size_t len, const char *filename,
				       char *err, size_t errsize);
/* Read and parse a file; errors as scenario_parse_string (or "FILE: strerror"). */
struct scenario *scenario_parse_file(const char *path, char *err, size_t errsize);
void scenario_free(struct scenario *scenario);

/* Parse "6.0", "5.12.3" into CTLAB_KERNEL_VERSION form; -1 if malformed (major and
 * minor over 255, a suffix such as "-rc1").  A patch level over 255 counts as 255,
 * as the kernel's KERNEL_VERSION() clamps it. */
int kernel_version_parse(const char *text, uint32_t *version);

/* True when a step's condition holds for variant index (or -1 when the scenario
 * has no variants), in a run of family (FAMILY_IPV4 or FAMILY_IPV6), on kernel
 * version `kernel`. */
bool condition_holds(const struct condition *when, int variant, unsigned family,
		     uint32_t kernel);

/*
 * Whether the facts a condition names have the values it needs, by the probed
 * @facts (@n of them): 1 yes, 0 no (*@name: the first that differs), -1 a
 * fact was not probed or its probe could not tell (*@name: that fact).
 * A condition without facts holds: 1.
 */
int condition_facts_hold(const struct condition *when, const struct fact_value *facts, size_t n,
			 const char **name);

/* The distinct facts @scenario's conditions name, at most @max into @names
 * (pointers into the scenario).  Returns how many there are, even beyond @max. */
size_t scenario_facts(const struct scenario *scenario, const char **names, size_t max);

/* Hosts of a topology, NULL-terminated, or NULL for an unknown topology. */
const char *const *scenario_topology_hosts(const char *topology);

/* ---- Judging expectations (expect.c) ---- */

#define OBSERVATION_ALSO_MAX	3

/* Everything an expectation may look at, gathered by the engine. */
struct observation {
	enum verdict verdict;		/* of the last packet sent */
	const char *reason;		/* conntrack's reason for it, NULL if none */
	size_t n_also;			/* further reasons logged for it */
	const char *also[OBSERVATION_ALSO_MAX];
	struct ct_entry entry;		/* for EXPECT_CT */
	bool counter_known;		/* for EXPECT_STAT and EXPECT_NETSTAT */
	int64_t counter_delta;
	bool packet_seen;		/* for EXPECT_PACKET */
	char packet_what[160];		/* "packet #7" or the wire's record, when seen */
	uint64_t entries, entries_max;	/* for EXPECT_ENTRIES: nf_conntrack_count and _max */
	bool kmsg_seen;			/* for EXPECT_KMSG */
	char kmsg_line[256];
	int socket_errno;		/* for EXPECT_SOCKET: pending or met error, 0 none */
	int socket_state;		/* tcp_info state, TCP_CLOSE once closed */
	uint64_t nft_packets, nft_bytes;	/* for EXPECT_COUNTER */
};

/*
 * True when reason matches pattern: the same text, except that each '#' in the
 * pattern stands for one decimal number (one or more digits).  A #{EXPR} must
 * be resolved first (reason_resolve).
 */
bool reason_matches(const char *pattern, const char *reason);

/*
 * reason_resolve - @pattern with its #{EXPR} replaced, in order, by @values
 * (each as the kernel prints a 32-bit sequence number: modulo 2^32) into
 * @buf.  Returns 0, or -ENOSPC when it does not fit in @size.
 */
int reason_resolve(const char *pattern, const uint64_t *values, size_t n, char *buf,
		   size_t size);

/* value OP bound, e.g. compare(5, CMP_GT, 0). */
bool compare(int64_t value, enum compare_op op, int64_t bound);

/*
 * Check one expectation.  Returns true when met; otherwise writes what was
 * expected and what was seen into msg ("expected verdict invalid, saw established").
 */
bool expect_check(const struct expect_step *expect, const struct observation *seen,
		  char *msg, size_t msgsize);

#endif
