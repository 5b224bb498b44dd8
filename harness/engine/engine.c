/* The engine: a scenario's run from set-up to tear-down, and what its steps share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "journal/journal.h"
#include "base/base.h"
#include "run.h"

/* Where conntrack runs in each topology, and so where the observer sits. */
static const struct {
	const char *topology;
	const char *observing_host;
} observing_hosts[] = {
	{ "pair", "server" },
	{ "routed", "router" },
};

uint32_t engine_kernel_version(void)
{
	static uint32_t version;
	struct utsname uts;
	unsigned major = 0, minor = 0, patch = 0;

	if (version)
		return version;
	if (uname(&uts) == 0)
		sscanf(uts.release, "%u.%u.%u", &major, &minor, &patch);
	/* As the kernel's KERNEL_VERSION: the patch level saturates at 255. */
	version = CTLAB_KERNEL_VERSION(major, minor, patch > 255 ? 255 : patch);
	return version;
}

static const char *host_addr_text(const struct run *run, const struct host *host)
{
	return run->family == AF_INET ? host->addr4 : host->addr6;
}

static int do_step(struct run *run, const struct step *step, struct step_result *result)
{
	switch (step->kind) {
	case STEP_SYSCTL:
		return do_sysctl(run, &step->sysctl, result);
	case STEP_NFT:
		return do_nft(run, &step->nft, result);
	case STEP_LISTEN:
		return do_listen(run, &step->listen, result);
	case STEP_CONNECT:
		return do_connect(run, &step->connect, result);
	case STEP_SEND:
		return do_send(run, &step->send, result);
	case STEP_EXPECT:
		return do_expect(run, &step->expect, result);
	case STEP_SOCKET:
		return do_socket(run, &step->socket, result);
	case STEP_CT:
		return do_ct(run, &step->ct, result);
	case STEP_FLOOD:
		return do_flood(run, &step->flood, result);
	case STEP_FILL:
		return do_fill(run, &step->fill, result);
	case STEP_MUTE:
		return do_mute(run, &step->mute, result);
	case STEP_SLEEP:
		return do_sleep(run, &step->sleep, result);
	case STEP_LINK:
		return do_link(run, &step->link, result);
	case STEP_BYPASS:
		return do_bypass(run, &step->bypass, result);
	case STEP_HOLD:
		return do_hold(run, &step->hold, result);
	case STEP_RELEASE:
		return do_release(run, &step->release, result);
	}
	return step_error(result, "unknown step");
}

/*
 * The entry of every TCP or UDP connection made so far, as the step left it,
 * for comparing runs step by step.  A lookup that fails leaves that
 * connection out; it never fails the run.
 */
static void keep_entries(struct run *run, struct step_result *result)
{
	struct step_result scratch;
	size_t i;

	result->n_entries = 0;
	for (i = 0; i < run->scenario->n_conns && i < SCENARIO_CONNS_MAX; i++) {
		const struct conn *conn = &run->conns[i];
		struct step_entry *kept = &result->entries[result->n_entries];

		if (!conn->client || !conn->client_port ||
		    (conn->protocol != PROTO_TCP && conn->protocol != PROTO_UDP))
			continue;
		if (lookup_entry(run, (int)i, &kept->entry, &scratch) < 0)
			continue;
		kept->conn = (int)i;
		result->n_entries++;
	}
}

/* ---- A whole run ---- */

static void keep_namespaces(struct run *run)
{
	char path[256];
	size_t i;
	int rc;

	for (i = 0; i < topology_host_count(run->topology) && run->n_kept < RUN_HOSTS_MAX; i++) {
		struct host *host = topology_host_at(run->topology, i);

		snprintf(path, sizeof(path), "/run/netns/ctlab-%d-%s", (int)getpid(),
			 run->result->name);
		for (char *c = path + strlen("/run/netns/"); *c; c++)
			if (*c == '/')
				*c = '-';
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "-%s", host->name);
		if (strlen(path) >= sizeof(run->kept[0])) {
			fprintf(stderr, "ctlab: cannot keep %s: name too long\n", path);
			continue;
		}
		rc = netns_keep(host->ns, path);
		if (rc < 0) {
			fprintf(stderr, "ctlab: cannot keep %s: %s\n", path, strerror(-rc));
			continue;
		}
		/* The observing host's first: a pause names it first. */
		if (host == run->observing_host) {
			memmove(run->kept[1], run->kept[0], run->n_kept * sizeof(run->kept[0]));
			snprintf(run->kept[0], sizeof(run->kept[0]), "%s", path);
		} else {
			snprintf(run->kept[run->n_kept], sizeof(run->kept[0]), "%s", path);
		}
		run->n_kept++;
		if (run->options->keep)
			fprintf(stderr, "ctlab: kept %s (ip netns exec %s ...)\n", path,
				path + strlen("/run/netns/"));
	}
}

/* Pause before the steps: the caller is given the namespaces' names. */
static void pause_run(struct run *run)
{
	const char *names[RUN_HOSTS_MAX];

	for (size_t i = 0; i < run->n_kept; i++)
		names[i] = run->kept[i] + strlen("/run/netns/");
	run->options->pause(run->result->name, names, run->n_kept, run->options->pause_arg);
}

static void describe_hosts(struct run *run)
{
	struct run_result *result = run->result;
	struct topology_link link;
	size_t i, k;

	for (i = 0; i < topology_host_count(run->topology) && i < RUN_HOSTS_MAX; i++) {
		const struct host *host = topology_host_at(run->topology, i);

		snprintf(result->hosts[i].name, sizeof(result->hosts[i].name), "%s", host->name);
		snprintf(result->hosts[i].addr, sizeof(result->hosts[i].addr), "%s",
			 host_addr_text(run, host));
		result->hosts[i].observing = host == run->observing_host;
		for (k = 0; k < host->iface_count && k < RUN_IFACES_MAX; k++) {
			const struct host_iface *iface = &host->ifaces[k];

			snprintf(result->hosts[i].ifaces[k].ifname,
				 sizeof(result->hosts[i].ifaces[k].ifname), "%s", iface->ifname);
			snprintf(result->hosts[i].ifaces[k].addr,
				 sizeof(result->hosts[i].ifaces[k].addr), "%s",
				 run->family == AF_INET ? iface->addr4 : iface->addr6);
		}
		result->hosts[i].n_ifaces = k;
	}
	result->n_hosts = i;
	for (i = 0; i < RUN_LINKS_MAX && topology_link_at(run->topology, i, &link) == 0; i++) {
		struct run_link *to = &result->links[i];

		snprintf(to->a, sizeof(to->a), "%s", link.a);
		snprintf(to->a_ifname, sizeof(to->a_ifname), "%s", link.a_ifname);
		snprintf(to->b, sizeof(to->b), "%s", link.b);
		snprintf(to->b_ifname, sizeof(to->b_ifname), "%s", link.b_ifname);
	}
	result->n_links = i;
	if (topology_service(run->topology))
		snprintf(result->service_addr, sizeof(result->service_addr), "%s",
			 run->family == AF_INET ? topology_service(run->topology)->addr4
						: topology_service(run->topology)->addr6);
}

static void version_text(uint32_t version, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u", version >> 16, (version >> 8) & 0xff);
}

/* Why this run cannot happen on this machine, or NULL. */
static bool kernel_excluded(struct run *run)
{
	const struct scenario *scenario = run->scenario;
	uint32_t kernel = engine_kernel_version();
	char want[32], have[32];

	version_text(kernel, have, sizeof(have));
	if (scenario->kernel_min && kernel < scenario->kernel_min) {
		version_text(scenario->kernel_min, want, sizeof(want));
		snprintf(run->result->reason, sizeof(run->result->reason),
			 "needs kernel >= %s, this is %s", want, have);
		return true;
	}
	if (scenario->kernel_below && kernel >= scenario->kernel_below) {
		version_text(scenario->kernel_below, want, sizeof(want));
		snprintf(run->result->reason, sizeof(run->result->reason),
			 "shows the behaviour of kernels before %s, this is %s", want, have);
		return true;
	}
	return false;
}

/* The router's own packets to the service go towards the server, as a node's
 * to a ClusterIP: routed first, then rewritten by the output DNAT. */
static int route_service(const struct host *router, const struct host *server,
			 const struct host_iface *service, char *err, size_t errsize)
{
	char cidr4[64], cidr6[80];
	int rc;

	snprintf(cidr4, sizeof(cidr4), "%s/32", service->addr4);
	snprintf(cidr6, sizeof(cidr6), "%s/128", service->addr6);
	rc = netns_route_add(router->ns, cidr4, server->addr4);
	if (rc == 0)
		rc = netns_route_add(router->ns, cidr6, server->addr6);
	if (rc < 0)
		snprintf(err, errsize, "route to the service on the router: %s", strerror(-rc));
	return rc < 0 ? -1 : 0;
}

/* The router's NAT rules for the scenario's `nat`, as kube-proxy or a NAT
 * gateway would have them, in an inet table that covers both families. */
static int load_nat(struct run *run, char *err, size_t errsize)
{
	const struct host *router = find_host(run, "router");
	const struct host *server = find_host(run, "server");
	const struct host_iface *service = topology_service(run->topology);
	char ruleset[1024];

	switch (run->scenario->nat) {
	case NAT_NONE:
		return 0;
	case NAT_DNAT:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain prerouting {\n"
			 "type nat hook prerouting priority -100; policy accept;\n"
			 "ip daddr %s dnat ip to %s\n"
			 "ip6 daddr %s dnat ip6 to %s\n"
			 "}\n"
			 /* the router's own connections to the service, as a node's */
			 "chain output {\n"
			 "type nat hook output priority -100; policy accept;\n"
			 "ip daddr %s dnat ip to %s\n"
			 "ip6 daddr %s dnat ip6 to %s\n"
			 "}\n}\n", service->addr4, server->addr4, service->addr6, server->addr6,
			 service->addr4, server->addr4, service->addr6, server->addr6);
		break;
	case NAT_SNAT:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain postrouting {\n"
			 "type nat hook postrouting priority 100; policy accept;\n"
			 "oifname \"%s\" meta nfproto ipv4 snat ip to %s\n"
			 "oifname \"%s\" meta nfproto ipv6 snat ip6 to %s\n"
			 "}\n}\n", router->ifaces[1].ifname, router->ifaces[1].addr4,
			 router->ifaces[1].ifname, router->ifaces[1].addr6);
		break;
	case NAT_MASQUERADE:
		snprintf(ruleset, sizeof(ruleset),
			 "table inet ctlab_nat {\n"
			 "chain postrouting {\n"
			 "type nat hook postrouting priority 100; policy accept;\n"
			 "oifname \"%s\" masquerade\n"
			 "}\n}\n", router->ifaces[1].ifname);
		break;
	}
	if (netns_nft_load(router->ns, ruleset, err, errsize) < 0)
		return -1;
	snprintf(run->result->nat_rules, sizeof(run->result->nat_rules), "%s", ruleset);
	return run->scenario->nat == NAT_DNAT ? route_service(router, server, service, err, errsize)
					      : 0;
}

/* The wire is captured where packets cross more than one link (routed) or
 * where the scenario asks about it: capture is cheap to open, not to close. */
static bool needs_wire(const struct run *run)
{
	size_t i;

	bool routed = strcmp(run->scenario->topology, "routed") == 0;

	for (i = 0; i < run->scenario->n_steps; i++) {
		const struct step *step = &run->scenario->steps[i];

		if (step->kind == STEP_EXPECT && step->expect.kind == EXPECT_WIRE)
			return true;
		/* A flood would be a million copies to keep: not unless asked. */
		if (step->kind == STEP_FLOOD)
			routed = false;
	}
	return run->options->pcap_dir || routed;
}

static int open_wire(struct run *run, char *err, size_t errsize)
{
	struct netns *namespaces[RUN_HOSTS_MAX];
	const char *names[RUN_HOSTS_MAX];
	size_t i, n = topology_host_count(run->topology);

	for (i = 0; i < n && i < RUN_HOSTS_MAX; i++) {
		namespaces[i] = topology_host_at(run->topology, i)->ns;
		names[i] = topology_host_at(run->topology, i)->name;
	}
	run->wire = wire_open(namespaces, names, i, err, errsize);
	return run->wire ? 0 : -1;
}

/* Set up the topology and the observer; a failure here is a skip when the
 * machine cannot do it at all (not root, no netfilter), else a failure. */
/* Whether this kernel has netem (sch_netem built in or loadable): tried on the
 * observing host's loopback, which no scenario's packets cross, then undone. */
static bool have_netem(struct run *run)
{
	const struct netem_spec none = { 0 };
	int rc = netns_link_set_netem(run->observing_host->ns, "lo", &none);

	if (rc == 0)
		netns_link_clear_qdisc(run->observing_host->ns, "lo");
	return rc == 0;
}

static int set_up(struct run *run)
{
	struct run_result *result = run->result;
	enum topology_kind kind;
	char err[1024] = "";
	size_t i;

	if (kernel_excluded(run)) {
		result->outcome = OUTCOME_SKIP;
		return -1;
	}
	if (geteuid() != 0) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason),
			 "not root: ctlab needs CAP_NET_ADMIN to make namespaces");
		return -1;
	}
	if (topology_kind_parse(run->scenario->topology, &kind) < 0) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "unknown topology %s",
			 run->scenario->topology);
		return -1;
	}
	run->topology = topology_new(kind);
	if (!run->topology) {
		result->outcome = errno == EPERM || errno == EOPNOTSUPP ? OUTCOME_SKIP : OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "cannot build topology %s: %s",
			 run->scenario->topology, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(observing_hosts) / sizeof(observing_hosts[0]); i++)
		if (strcmp(observing_hosts[i].topology, run->scenario->topology) == 0)
			run->observing_host = find_host(run, observing_hosts[i].observing_host);
	describe_hosts(run);
	run->observer = observer_new(run->observing_host->ns,
				     run->options->no_reasons ? 0 : OBSERVE_REASONS, err, sizeof(err));
	if (!run->observer) {
		/* Conntrack, nf_tables or NFLOG missing from this kernel. */
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason), "kernel lacks what is needed: %s",
			 err);
		return -1;
	}
	if (load_nat(run, err, sizeof(err)) < 0) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason), "cannot load NAT rules: %s", err);
		return -1;
	}
	if (run->scenario->uses_netem && !have_netem(run)) {
		result->outcome = OUTCOME_SKIP;
		snprintf(result->reason, sizeof(result->reason),
			 "kernel lacks netem for link delay=/loss= (CONFIG_NET_SCH_NETEM, module "
			 "sch_netem)");
		return -1;
	}
	/* The kernel log is the host's: mark where this run begins in it. */
	run->kmsg_marked = kmsg_mark(&run->kmsg_since) == 0;
	if (needs_wire(run) && open_wire(run, err, sizeof(err)) < 0) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "wire capture: %s", err);
		return -1;
	}
	if (run->options->keep || run->options->pause)
		keep_namespaces(run);
	return 0;
}

static void tear_down(struct run *run)
{
	size_t i;

	for (i = 0; i < run->n_raw; i++)
		close(run->raw[i].fd);
	for (i = 0; i < SCENARIO_CONNS_MAX; i++) {
		if (run->conns[i].client_fd >= 0)
			close(run->conns[i].client_fd);
		if (run->conns[i].server_fd >= 0)
			close(run->conns[i].server_fd);
	}
	for (i = 0; i < run->n_listeners; i++)
		close(run->listeners[i].fd);
	free(run->mib_before);
	free(run->mib_start);
	hold_close(run->hold);
	wire_free(run->wire);
	observer_free(run->observer);
	/* Bind-mounted only for the pause: gone with the run. */
	for (i = 0; !run->options->keep && i < run->n_kept; i++)
		netns_unkeep(run->kept[i]);
	topology_free(run->topology);
}

static int compare_wire_time(const void *a, const void *b)
{
	const struct wire_record *x = a, *y = b;

	if (x->when.tv_sec != y->when.tv_sec)
		return x->when.tv_sec < y->when.tv_sec ? -1 : 1;
	if (x->when.tv_nsec != y->when.tv_nsec)
		return x->when.tv_nsec < y->when.tv_nsec ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The wire in time order over all links (each host's capture is in order on
 * its own), and as a pcapng file when asked. */
static void keep_wire(struct run *run)
{
	struct run_result *result = run->result;
	size_t i, n;

	if (!run->wire)
		return;
	long *judged;
	bool *forwarded;

	wire_poll(run->wire, 0);
	n = wire_count(run->wire);
	result->wire = calloc(n ? n : 1, sizeof(*result->wire));
	judged = calloc(n ? n : 1, sizeof(*judged));
	forwarded = calloc(n ? n : 1, sizeof(*forwarded));
	if (!result->wire || !judged || !forwarded) {
		free(result->wire);
		result->wire = NULL;
		free(judged);
		free(forwarded);
		return;
	}
	match_judged(run, judged, forwarded);
	for (i = 0; i < n; i++) {
		const struct wire_packet *packet = wire_at(run->wire, i);
		struct wire_record *record = &result->wire[i];

		record->index = i;
		record->arrival = i;
		record->judged = judged[i] >= 0 ? (size_t)judged[i] + 1 : 0;
		record->forwarded = forwarded[i];
		snprintf(record->host, sizeof(record->host), "%s", packet->host);
		snprintf(record->ifname, sizeof(record->ifname), "%s", packet->ifname);
		record->outgoing = packet->outgoing;
		record->when = packet->when;
		record->packet = packet->packet;
	}
	free(judged);
	free(forwarded);
	qsort(result->wire, n, sizeof(*result->wire), compare_wire_time);
	for (i = 0; i < n; i++)
		result->wire[i].index = i;
	result->n_wire = n;
	if (run->options->pcap_dir)
		write_captures(run);
}

/* The conntrack settings that decide the verdicts, as the run left them. */
static void keep_sysctls(struct run *run)
{
	static const char *const keys[] = {
		"net.netfilter.nf_conntrack_tcp_be_liberal",
		"net.netfilter.nf_conntrack_tcp_loose",
		"net.netfilter.nf_conntrack_tcp_ignore_invalid_rst",
		"net.netfilter.nf_conntrack_tcp_max_retrans",
		"net.netfilter.nf_conntrack_checksum",
		"net.netfilter.nf_conntrack_log_invalid",
		"net.netfilter.nf_conntrack_max",
		"net.netfilter.nf_conntrack_buckets",
	};
	struct run_result *result = run->result;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && result->n_sysctls < RUN_SYSCTLS_MAX; i++) {
		struct run_sysctl *sysctl = &result->sysctls[result->n_sysctls];

		if (netns_sysctl_read(run->observing_host->ns, keys[i], sysctl->value,
				      sizeof(sysctl->value)) < 0)
			continue;
		sysctl->key = keys[i];
		result->n_sysctls++;
	}
}

/* The connections as the reports name them. */
static void keep_conns(struct run *run)
{
	struct run_result *result = run->result;
	size_t i;

	for (i = 0; i < run->scenario->n_conns && i < SCENARIO_CONNS_MAX; i++) {
		const struct conn *conn = &run->conns[i];
		struct run_conn *out = &result->conns[i];

		snprintf(out->name, sizeof(out->name), "%s", run->scenario->conns[i]);
		out->protocol = conn->protocol;
		if (conn->client)
			snprintf(out->client, sizeof(out->client), "%s", conn->client->name);
		if (conn->server)
			snprintf(out->server, sizeof(out->server), "%s", conn->server->name);
		out->client_addr = conn->client_addr;
		out->client_port = conn->client_port;
		out->dialed_addr = conn->dialed_addr;
		out->dialed_port = conn->dialed_port;
		out->server_addr = conn->server_addr;
		out->server_port = conn->server_port;
		out->peer_addr = conn->peer_addr;
		out->peer_port = conn->peer_port;
		out->client_error = conn->client_error ? conn->client_error :
				    conn->client_fd >= 0 ? sock_pending_error(conn->client_fd) : 0;
		out->server_error = conn->server_error ? conn->server_error :
				    conn->server_fd >= 0 ? sock_pending_error(conn->server_fd) : 0;
	}
	result->n_conns = i;
}

static void keep_packets(struct run *run)
{
	struct run_result *result = run->result;
	size_t i, n;

	observer_poll(run->observer, 0);
	n = observer_count(run->observer);
	result->packets = calloc(n ? n : 1, sizeof(*result->packets));
	if (!result->packets)
		return;
	for (i = 0; i < n; i++)
		result->packets[i] = *observer_at(run->observer, i);
	result->n_packets = n;
}

static void name_run(const struct scenario *scenario, int variant, int family,
		     struct run_result *result)
{
	if (variant >= 0)
		snprintf(result->name, sizeof(result->name), "%s/%s/%s", scenario->name,
			 scenario->variants[variant], family_name(family));
	else
		snprintf(result->name, sizeof(result->name), "%s/%s", scenario->name,
			 family_name(family));
}

/*
 * A step whose @fact: condition does not hold on this kernel is skipped, saying
 * which fact; one whose fact could not be probed cannot run: -1, with the
 * run's reason.
 */
static int skip_for_facts(const struct step *step, const struct engine_options *options,
			  struct step_result *result)
{
	const struct fact_value *value = NULL;
	const char *name = NULL;
	int holds = condition_facts_hold(&step->when, options->facts, options->n_facts, &name);
	size_t i;

	if (holds == 1)
		return 0;
	for (i = 0; i < options->n_facts && !value; i++)
		if (!strcmp(options->facts[i].name, name))
			value = &options->facts[i];
	if (holds < 0)
		return step_error(result, "needs fact %s, which %s", name,
				  value ? value->why : "was not probed");
	result->skipped = true;
	result->end_packet = result->first_packet;
	snprintf(result->message, sizeof(result->message), "fact %s is %s on this kernel", name,
		 value && value->value == 1 ? "true" : "false");
	return 0;
}

/*
 * A run that fills a table has the machine to itself: the kernel log it reads
 * is the host's, the conntrack hash and the freeing of dead namespaces'
 * entries are shared by all, and it measures how fast the kernel fills a
 * table.  Others run side by side.  Within the process a rwlock says so, across
 * ctlab processes the machine lock under /run/ctlab (without it, as when not
 * root, the process's own runs are still kept apart).
 */
static pthread_rwlock_t machine_lock = PTHREAD_RWLOCK_INITIALIZER;

static bool needs_machine(const struct scenario *scenario)
{
	size_t i;

	for (i = 0; i < scenario->n_steps; i++) {
		const struct step *step = &scenario->steps[i];

		if (step->kind == STEP_FLOOD || step->kind == STEP_FILL ||
		    (step->kind == STEP_EXPECT && step->expect.kind == EXPECT_KMSG))
			return true;
	}
	return false;
}

static void engine_run_locked(const struct scenario *scenario, int variant, int family,
			      const struct engine_options *options, struct run_result *result);

void engine_run(const struct scenario *scenario, int variant, int family,
		const struct engine_options *options, struct run_result *result)
{
	bool alone = needs_machine(scenario);
	int machine_fd = -1;

	if (alone)
		pthread_rwlock_wrlock(&machine_lock);
	else
		pthread_rwlock_rdlock(&machine_lock);
	if (!options->machine_held) {
		machine_fd = journal_machine_lock(alone, false);
		if (machine_fd == -EWOULDBLOCK) {
			/* Once: a run that seems to hang says why. */
			static bool told;

			if (!__atomic_exchange_n(&told, true, __ATOMIC_SEQ_CST))
				fprintf(stderr, "ctlab: waiting for the machine: another ctlab process "
					"has it (a flood, a fill, the kernel log, or --ct-max); the runs "
					"go on when it lets go\n");
			machine_fd = journal_machine_lock(alone, true);
		}
	}
	/* A ctlab killed with --ct-max left the lock free at once, but its
	 * global setting changed until its guardian (or ctlab clean) puts it
	 * back: a flood sized before that would meet another table. With the
	 * machine ours, every global entry of another process is put back
	 * now, even while its pid still shows (a zombie: seen as a fill of an
	 * 8192 table, then ctlab clean restoring 262144 under the run). */
	if (alone && machine_fd >= 0)
		journal_recover_machine(NULL);
	engine_run_locked(scenario, variant, family, options, result);
	if (machine_fd >= 0)
		close(machine_fd);
	pthread_rwlock_unlock(&machine_lock);
}

static void engine_run_locked(const struct scenario *scenario, int variant, int family,
			      const struct engine_options *options, struct run_result *result)
{
	struct run run = {
		.scenario = scenario, .options = options, .family = family, .variant = variant,
		.result = result,
	};
	uint32_t kernel = engine_kernel_version();
	struct timespec start;
	double paused = 0;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < SCENARIO_CONNS_MAX; i++)
		run.conns[i].client_fd = run.conns[i].server_fd = run.conns[i].accept_fd = -1;
	memset(result, 0, sizeof(*result));
	result->scenario = scenario;
	result->facts = options->facts;
	result->n_facts = options->n_facts;
	result->family = family;
	result->variant = variant;
	name_run(scenario, variant, family, result);
	result->steps = calloc(scenario->n_steps ? scenario->n_steps : 1, sizeof(*result->steps));
	if (!result->steps) {
		result->outcome = OUTCOME_FAIL;
		snprintf(result->reason, sizeof(result->reason), "out of memory");
		return;
	}
	if (set_up(&run) < 0)
		goto out_tear_down;
	if (options->pause) {
		/* The time paused counts neither for -T nor in the run's seconds. */
		double before = seconds_since(&start);

		pause_run(&run);
		paused = seconds_since(&start) - before;
	}

	for (i = 0; i < scenario->n_steps; i++) {
		const struct step *step = &scenario->steps[i];
		struct step_result *step_result = &result->steps[i];
		int rc;

		observer_poll(run.observer, 0);
		*step_result = (struct step_result){ .step = step, .sent_packet = -1, .passed = true,
						     .first_packet = observer_count(run.observer) };
		result->n_steps = i + 1;
		/* Each step's waits are bounded; this bounds their sum, so one slow
		 * run cannot hold up the suite. */
		if (options->run_limit_ms &&
		    (seconds_since(&start) - paused) * 1000 > options->run_limit_ms) {
			step_error(step_result, "not run: the run had taken %.1f s, over its limit "
				   "(-T %d s)", seconds_since(&start) - paused,
				   options->run_limit_ms / 1000);
			snprintf(result->reason, sizeof(result->reason), "%s:%d:%d: %s: %s",
				 scenario->path, step->pos.line, step->pos.column, step->text,
				 step_result->message);
			result->failures++;
			break;
		}
		if (!condition_holds(&step->when, variant,
				     family == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6, kernel)) {
			step_result->skipped = true;
			step_result->end_packet = step_result->first_packet;
			continue;
		}
		if (skip_for_facts(step, options, step_result) < 0) {
			result->failures++;
			break;
		}
		if (step_result->skipped)
			continue;
		clock_gettime(CLOCK_REALTIME, &step_result->began);
		rc = do_step(&run, step, step_result);
		clock_gettime(CLOCK_REALTIME, &step_result->ended);
		observer_poll(run.observer, 0);
		step_result->end_packet = observer_count(run.observer);
		keep_entries(&run, step_result);
		if (!step_result->passed && !result->reason[0])
			snprintf(result->reason, sizeof(result->reason), "%s:%d:%d: %s: %s",
				 scenario->path, step->pos.line, step->pos.column, step->text,
				 step_result->message);
		if (rc < 0) {
			result->failures++;
			break;
		}
	}
	result->outcome = result->failures ? OUTCOME_FAIL : OUTCOME_PASS;
	keep_packets(&run);
	keep_wire(&run);
	keep_conns(&run);
	keep_sysctls(&run);

out_tear_down:
	tear_down(&run);
	result->seconds = seconds_since(&start) - paused;
}

void run_result_free(struct run_result *result)
{
	free(result->steps);
	free(result->packets);
	free(result->wire);
	free(result->chains);
	free(result->observing_rules);
	result->observing_rules = NULL;
	result->steps = NULL;
	result->packets = NULL;
	result->wire = NULL;
	result->chains = NULL;
}

/* An nft error the ruleset alone explains: not a table, chain or set a step
 * before it may have made, not the kernel refusing (a device, a module). */
static bool ruleset_mistake(const char *nft_err)
{
	return !strstr(nft_err, "Could not process rule") &&
	       !strstr(nft_err, "No such file or directory") && !strstr(nft_err, "does not exist");
}

int engine_check_rulesets(const struct scenario *scenario, char *err, size_t errsize)
{
	char nft_err[2048];
	struct netns *ns = NULL;
	int rc = 0;

	for (size_t i = 0; i < scenario->n_steps && rc == 0; i++) {
		const struct step *step = &scenario->steps[i];

		if (step->kind != STEP_NFT)
			continue;
		if (!ns && !(ns = netns_new("nft-check")))
			return 0;	/* not allowed to: the run will say what it can */
		if (netns_nft_check(ns, step->nft.ruleset, nft_err, sizeof(nft_err)) == -EINVAL &&
		    ruleset_mistake(nft_err)) {
			safetext_escape(nft_err, sizeof(nft_err), true);
			snprintf(err, errsize, "%s:%d:%d: nft ruleset: %s", scenario->path,
				 step->pos.line, step->pos.column, nft_err);
			rc = -1;
		}
	}
	if (ns)
		netns_free(ns);
	return rc;
}
