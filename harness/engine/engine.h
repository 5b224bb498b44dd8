/* engine — run one scenario in one address family on a fresh topology. */
#ifndef CTLAB_ENGINE_H
#define CTLAB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/observe.h"
#include "lang/lang.h"

enum outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_SKIP };

/* A connection's conntrack entry as a step left it. */
struct step_entry {
	int conn;			/* index into the scenario's connections */
	struct ct_entry entry;		/* entry.found false: none */
};

/* What one step did.  Packets [first_packet, end_packet) arrived during it. */
struct step_result {
	const struct step *step;
	bool skipped;			/* its condition does not hold in this run */
	bool passed;			/* an expectation met, or an action done */
	char message[1024];		/* why not, or what the action found */
	long sent_packet;		/* SEND: index of its observed packet, -1 if none */
	size_t first_packet, end_packet;
	struct timespec began, ended;	/* CLOCK_REALTIME, as the wire's timestamps */
	/* EXPECT: what was seen, met or not ("verdict invalid reason \"…\"",
	 * "entry ESTABLISHED ASSURED timeout 299 s"); "" if nothing was looked at. */
	char observed[512];
	/* The entry of each TCP or UDP connection made so far, read after the
	 * step (those the lookup failed for are left out). */
	size_t n_entries;
	struct step_entry entries[SCENARIO_CONNS_MAX];
};

#define RUN_HOSTS_MAX	4
#define RUN_IFACES_MAX	2	/* of one host (the router: two) */
#define RUN_LINKS_MAX	4
#define WIRE_IFNAME_LEN	16

/* One interface of a host with its address in the run's family. */
struct run_iface {
	char ifname[WIRE_IFNAME_LEN];
	char addr[48];
};

/* A host of the run's topology as the reports name it. */
struct run_host {
	char name[SCENARIO_IDENT_MAX];	/* "client" */
	char addr[48];			/* its address in this run's family */
	bool observing;			/* conntrack is observed there */
	size_t n_ifaces;
	struct run_iface ifaces[RUN_IFACES_MAX];
};

/* A veth between two hosts: a's a_ifname is b's b_ifname's peer. */
struct run_link {
	char a[SCENARIO_IDENT_MAX], a_ifname[WIRE_IFNAME_LEN];
	char b[SCENARIO_IDENT_MAX], b_ifname[WIRE_IFNAME_LEN];
};

/* A packet seen on a link by the wire capture (routed runs, and runs that
 * expect something of the wire). */
struct wire_record {
	size_t index;			/* 0-based, in time order over all links */
	char host[SCENARIO_IDENT_MAX];	/* the host whose interface saw it */
	char ifname[WIRE_IFNAME_LEN];
	bool outgoing;			/* sent by that host, else received by it */
	struct timespec when;
	struct packet_summary packet;	/* addresses as on that link (NAT shows) */
	size_t arrival;			/* its index in the capture (arrival order) */
	size_t judged;			/* the observed packet this copy is, from 1 (at the
					 * observing host: as it arrived or was sent); 0 none */
	bool forwarded;			/* judged: the copy it sent on (maybe NATed) */
};

/* A connection made by `connect`, as both ends see it: with DNAT the client
 * dialed the service address; with SNAT the server's peer is the router. */
struct run_conn {
	char name[SCENARIO_IDENT_MAX];
	enum protocol protocol;
	char client[SCENARIO_IDENT_MAX];	/* host names */
	char server[SCENARIO_IDENT_MAX];
	union inet_addr client_addr, dialed_addr;	/* the client's view */
	uint16_t client_port, dialed_port;
	union inet_addr server_addr, peer_addr;	/* the server's view */
	uint16_t server_port, peer_port;
	int client_error, server_error;	/* errno its sockets reported, 0 none */
};

/* A RST on the wire and what caused it (chain_locate). */
struct rst_chain {
	size_t rst;			/* index into wire[]: the RST as its sender sent it */
	char rst_sender[SCENARIO_IDENT_MAX];
	char rst_receiver[SCENARIO_IDENT_MAX];
	long origin_step;		/* index into steps[]: the step that made the RST itself
					 * (a crafted RST, close … rst), -1 if none */
	long rst_observed;		/* index into packets[] of the RST's own verdict, -1 */
	bool has_cause;			/* the packet the RST answers was found */
	size_t cause;			/* index into wire[]: that packet arriving at the RST's sender */
	char cause_sender[SCENARIO_IDENT_MAX];
	long cause_observed;		/* index into packets[] of its verdict, -1 if none */
	enum verdict cause_verdict;
	char cause_reason[OBSERVER_REASON_MAX];	/* "" if none */
	char judged_at[SCENARIO_IDENT_MAX];	/* the observing host */
	bool resets_conn;		/* the RST hit a socket of a connection */
	int conn;			/* index into conns[] */
	enum conn_side reset_side;
	int reset_errno;		/* what that socket reported (ECONNRESET), 0 if none */
	char text[768];			/* the chain in one line */
};

#define RUN_SYSCTLS_MAX	12

/* A setting of the observing namespace as the run ended (for JSON, and for
 * comparing kernels: defaults change between versions). */
struct run_sysctl {
	const char *key;		/* "net.netfilter.nf_conntrack_tcp_be_liberal" */
	char value[32];
};

struct run_result {
	const struct scenario *scenario;
	int family;			/* AF_INET or AF_INET6 */
	int variant;			/* index into scenario->variants, -1 if none */
	char name[SCENARIO_NAME_MAX + SCENARIO_IDENT_MAX + 8];	/* "syn-rst/liberal/ipv4" */
	size_t n_hosts;			/* in topology order: client, (router,) server */
	struct run_host hosts[RUN_HOSTS_MAX];
	char service_addr[48];		/* the DNAT service's address in this family; "" none */
	size_t n_links;
	struct run_link links[RUN_LINKS_MAX];
	char nat_rules[1024];		/* the ruleset `nat` loaded on the router; "" none */
	char *observing_rules;		/* the rulesets the steps loaded on the observing host
					 * (nft, bypass), one after the other; NULL none */
	enum outcome outcome;
	char reason[1200];		/* skip reason, or the first failure with file:line:column */
	size_t failures;
	size_t n_steps;			/* steps run; a step that could not be done ends the run */
	struct step_result *steps;
	size_t n_packets;		/* every packet the observer saw, in order */
	struct observed *packets;
	size_t n_wire;			/* every packet on every link, when captured */
	struct wire_record *wire;
	size_t n_conns;
	struct run_conn conns[SCENARIO_CONNS_MAX];
	size_t n_chains;		/* every RST on the wire with its cause */
	struct rst_chain *chains;
	size_t n_sysctls;
	struct run_sysctl sysctls[RUN_SYSCTLS_MAX];
	double seconds;			/* setup + run + teardown */
	size_t position;		/* its place among the runs asked for before --shard
					 * (set by the caller, for ctlab merge); from 1, 0 unset */
	const struct fact_value *facts;	/* the probed kernel facts (engine_options'), not owned */
	size_t n_facts;
};

struct engine_options {
	int timeout_ms;			/* bound of each wait for the kernel */
	int run_limit_ms;		/* bound of a whole run, checked between steps; 0 none */
	bool machine_held;		/* the caller holds the machine lock exclusively */
	bool keep;			/* bind-mount the namespaces under /run/netns */
	bool no_reasons;		/* leave NFLOG group 0 (conntrack's reasons) to another
					 * listener, such as ctlab diagnose: reason clauses are
					 * not checked, the logging switch is not touched */
	/* When set, called once a run's namespaces are up and bind-mounted under
	 * /run/netns (removed after the run unless keep), before its first step,
	 * with their names; the observing host's first. The run's -T starts after. */
	void (*pause)(const char *run_name, const char *const *netns, size_t n, void *arg);
	void *pause_arg;
	const char *pcap_dir;		/* write each run's wire as a pcapng file there */
	const struct fact_value *facts;	/* the kernel facts probed for @fact: conditions */
	size_t n_facts;
};

/*
 * Run scenario in one variant (index into scenario->variants, -1 when it has
 * none) and family (AF_INET/AF_INET6); fill result (run_result_free it).
 * Thread-safe: runs share nothing, so several may go at once.
 */
void engine_run(const struct scenario *scenario, int variant, int family,
		const struct engine_options *options, struct run_result *result);
void run_result_free(struct run_result *result);

/*
 * engine_check_rulesets - every nft ruleset of @scenario given to nft as a
 * dry run (nft -c) in a namespace of its own, before anything runs: a ruleset
 * nft cannot parse or make sense of is the scenario's mistake. 0, or -1 with
 * "FILE:LINE:COLUMN: nft ruleset: ruleset line L:C: Error: …" in @err. What
 * only the kernel can refuse (a device the topology makes) is left to the run.
 * Needs CAP_NET_ADMIN; without it, nothing is checked (0).
 */
int engine_check_rulesets(const struct scenario *scenario, char *err, size_t errsize);

/* The running kernel as CTLAB_KERNEL_VERSION(major, minor, patch). */
uint32_t engine_kernel_version(void);

#endif
