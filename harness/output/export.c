#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "output/output.h"
#include "output/junit.h"
#include "base/base.h"

struct export {
	struct export_paths paths;
	struct outfile *json_file, *junit_file, *html_file;	/* written whole at export_close */
	bool json_stdout;		/* --json -: to stdout as it is, at export_close */
	json_t *runs;			/* JSON array of runs (for the JSON and the page) */
	struct junit *junit;		/* written at the end */
};

static const char *const outcome_names[] = {
	[OUTCOME_PASS] = "pass",
	[OUTCOME_FAIL] = "fail",
	[OUTCOME_SKIP] = "skip",
};

static const char *const step_kind_names[STEP_KIND_COUNT] = {
	[STEP_SYSCTL] = "sysctl", [STEP_NFT] = "nft", [STEP_LISTEN] = "listen",
	[STEP_CONNECT] = "connect", [STEP_SEND] = "send", [STEP_EXPECT] = "expect",
	[STEP_SOCKET] = "socket", [STEP_CT] = "ct", [STEP_FLOOD] = "flood", [STEP_FILL] = "fill",
	[STEP_MUTE] = "mute", [STEP_SLEEP] = "sleep", [STEP_LINK] = "link",
	[STEP_BYPASS] = "bypass", [STEP_HOLD] = "hold", [STEP_RELEASE] = "release",
};

/* Opens one output file, or says why not in err: 0 or -1. */
static int open_output(struct outfile **file, const char *option, const char *path, char *err,
		       size_t errsize)
{
	if (!path)
		return 0;
	*file = outfile_open(path);
	if (*file)
		return 0;
	snprintf(err, errsize, "%s %s: %s", option, path, outfile_strerror(errno));
	return -1;
}

struct export *export_open(const struct export_paths *paths, char *err, size_t errsize)
{
	struct export *export = calloc(1, sizeof(*export));

	if (!export)
		goto out_errno;
	export->runs = json_array();
	export->junit = junit_new();
	if (!export->runs || !export->junit)
		goto out_errno;
	export->paths = *paths;
	export->json_stdout = paths->json && strcmp(paths->json, "-") == 0;
	if (open_output(&export->json_file, "--json", export->json_stdout ? NULL : paths->json,
			err, errsize) < 0 ||
	    open_output(&export->junit_file, "--junit", paths->junit, err, errsize) < 0 ||
	    open_output(&export->html_file, "--html", paths->html, err, errsize) < 0)
		goto out_free;
	return export;

out_errno:
	snprintf(err, errsize, "%s", strerror(errno));
out_free:
	if (export) {
		outfile_discard(export->json_file);
		outfile_discard(export->junit_file);
		junit_free(export->junit);
		json_decref(export->runs);
		free(export);
	}
	return NULL;
}

static const char *protocol_text(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	return "other";
}

/* The host name whose address @addr is in this run ("service" for the DNAT
 * address), or NULL for an address of none (a flood's, a crafted stranger's). */
static const char *host_of(const struct run_result *result, int family, const union inet_addr *addr)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, text, sizeof(text));
	for (size_t i = 0; i < result->n_hosts; i++)
		if (strcmp(result->hosts[i].addr, text) == 0)
			return result->hosts[i].name;
	return result->service_addr[0] && strcmp(result->service_addr, text) == 0 ? "service" : NULL;
}

static json_t *name_or_null(const char *name)
{
	return name ? json_string(name) : json_null();
}

json_t *packet_headers_json(const struct packet_summary *packet, json_t *from, json_t *to)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[TCP_FLAGS_STRLEN];
	json_t *object;

	inet_ntop(packet->family, &packet->src, src, sizeof(src));
	inet_ntop(packet->family, &packet->dst, dst, sizeof(dst));
	object = json_pack("{s:s, s:s}", "src", src, "dst", dst);
	if (!object) {
		json_decref(from);
		json_decref(to);
		return NULL;
	}
	if (from)
		json_object_set_new(object, "from", from);
	if (to)
		json_object_set_new(object, "to", to);
	json_object_set_new(object, "protocol", json_string(protocol_text(packet->protocol)));
	json_object_set_new(object, "length", json_integer((json_int_t)packet->payload_len));
	if (packet->protocol == IPPROTO_TCP || packet->protocol == IPPROTO_UDP) {
		json_object_set_new(object, "sport", json_integer(packet->sport));
		json_object_set_new(object, "dport", json_integer(packet->dport));
	}
	if (packet->protocol == IPPROTO_TCP) {
		json_object_set_new(object, "flags", json_string(tcp_flags_format(packet->flags, flags)));
		json_object_set_new(object, "seq", json_integer(packet->seq));
		json_object_set_new(object, "ack", json_integer(packet->ack));
		json_object_set_new(object, "window", json_integer(packet->window));
	}
	if (packet->protocol == IPPROTO_ICMP || packet->protocol == IPPROTO_ICMPV6) {
		json_object_set_new(object, "icmp_type", json_integer(packet->icmp_type));
		json_object_set_new(object, "icmp_code", json_integer(packet->icmp_code));
	}
	return object;
}

/* A packet's headers, and from and to: the hosts of its addresses. */
static json_t *summary_json(const struct run_result *result, const struct packet_summary *packet)
{
	return packet_headers_json(packet,
				   name_or_null(host_of(result, packet->family, &packet->src)),
				   name_or_null(host_of(result, packet->family, &packet->dst)));
}

/* The step (1-based) during which observed packet @index arrived, 0 if none. */
static size_t step_of_packet(const struct run_result *result, size_t index)
{
	for (size_t i = 0; i < result->n_steps; i++)
		if (index >= result->steps[i].first_packet && index < result->steps[i].end_packet)
			return i + 1;
	return 0;
}

/* Whether observed packet @index is one a send step crafted. */
static bool is_crafted(const struct run_result *result, size_t index)
{
	for (size_t i = 0; i < result->n_steps; i++)
		if (result->steps[i].sent_packet >= 0 && (size_t)result->steps[i].sent_packet == index)
			return true;
	return false;
}

static json_t *step_number(size_t step)
{
	return step ? json_integer((json_int_t)step) : json_null();
}

/* {"index": N} followed by the packet's headers. */
static json_t *indexed_summary(const struct run_result *result, size_t index,
			       const struct packet_summary *packet)
{
	json_t *object = json_pack("{s:I}", "index", (json_int_t)index + 1);
	json_t *summary = summary_json(result, packet);

	if (!object || !summary || json_object_update(object, summary) < 0) {
		json_decref(object);
		object = NULL;
	}
	json_decref(summary);
	return object;
}

static json_t *packet_json(const struct run_result *result, const struct observed *observed)
{
	json_t *object = indexed_summary(result, observed->index, &observed->packet);

	if (!object)
		return NULL;
	json_object_set_new(object, "direction", json_string(observed->output ? "out" : "in"));
	json_object_set_new(object, "step", step_number(step_of_packet(result, observed->index)));
	json_object_set_new(object, "crafted", json_boolean(is_crafted(result, observed->index)));
	json_object_set_new(object, "verdict", json_string(verdict_name(observed->verdict)));
	json_object_set_new(object, "reason",
			    observed->has_reason ? json_string(observed->reason) : json_null());
	if (observed->n_also) {
		json_t *also = json_array();

		for (size_t i = 0; i < observed->n_also; i++)
			json_array_append_new(also, json_string(observed->also[i]));
		json_object_set_new(object, "also_reasons", also);
	}
	return object;
}

static double seconds_of(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

/* The step (1-based) whose time a wire packet fell in, 0 if none. */
static size_t step_of_time(const struct run_result *result, const struct timespec *when)
{
	double at = seconds_of(when);

	for (size_t i = 0; i < result->n_steps; i++)
		if (at >= seconds_of(&result->steps[i].began) && at <= seconds_of(&result->steps[i].ended))
			return i + 1;
	return 0;
}

/* A flood captured with --pcap is a million copies: the JSON keeps the first
 * ones and counts the rest (the pcapng has them all). */
#define WIRE_JSON_MAX	20000

/* Every packet on every link, each copy as one host's interface saw it. */
static json_t *wire_json(const struct run_result *result)
{
	json_t *wire = json_array();

	for (size_t i = 0; wire && i < result->n_wire && i < WIRE_JSON_MAX; i++) {
		const struct wire_record *record = &result->wire[i];
		json_t *object = indexed_summary(result, record->index, &record->packet);

		if (!object)
			continue;
		json_object_set_new(object, "host", json_string(record->host));
		json_object_set_new(object, "ifname", json_string(record->ifname));
		json_object_set_new(object, "direction", json_string(record->outgoing ? "out" : "in"));
		json_object_set_new(object, "time", json_real(seconds_of(&record->when)));
		json_object_set_new(object, "step", step_number(step_of_time(result, &record->when)));
		/* The packet conntrack judged that this copy is, at the observing host. */
		json_object_set_new(object, "judged", record->judged ?
				    json_integer((json_int_t)record->judged) : json_null());
		if (record->judged)
			json_object_set_new(object, "judged_as",
					    json_string(record->forwarded ? "forwarded" : "arrived"));
		json_array_append_new(wire, object);
	}
	return wire;
}

/* The entries of the run's connections after a step: {"conn", "found", and when
 * found "state" (TCP), "assured", "seen_reply", "timeout" (seconds left)}. */
static json_t *entries_json(const struct run_result *result, const struct step_result *step)
{
	const struct scenario *scenario = result->scenario;
	json_t *entries = json_array();
	size_t i;

	for (i = 0; entries && i < step->n_entries; i++) {
		const struct step_entry *kept = &step->entries[i];
		json_t *object;

		if (kept->conn < 0 || (size_t)kept->conn >= scenario->n_conns)
			continue;
		object = json_pack("{s:s, s:b}", "conn", scenario->conns[kept->conn], "found",
				   kept->entry.found);
		if (!object)
			continue;
		if (kept->entry.found) {
			if (scenario->conn_protocols[kept->conn] == PROTO_TCP)
				json_object_set_new(object, "state",
						    json_string(tcp_state_name(kept->entry.state)));
			json_object_set_new(object, "assured", json_boolean(kept->entry.assured));
			json_object_set_new(object, "seen_reply",
					    json_boolean(kept->entry.seen_reply));
			json_object_set_new(object, "timeout", json_integer(kept->entry.timeout));
		}
		json_array_append_new(entries, object);
	}
	return entries;
}

/* What an expectation asks, as written after `expect` ("verdict invalid reason
 * \"…\""), its condition and keyword left out. */
static const char *expected_text(const char *text)
{
	const char *at = strstr(text, "expect");

	if (!at)
		return text;
	at += strlen("expect");
	return at + strspn(at, " \t");
}

/* A step: line, column, kind, text, skipped, passed, first_packet, end_packet,
 * and when there are: message, sent_packet, observed (what an expectation saw,
 * met or not), entries (each connection's entry after the step).  Every field
 * is described in docs/results.md. */
static json_t *step_json(const struct run_result *result, const struct step_result *step)
{
	json_t *object = json_pack("{s:i, s:i, s:s, s:s, s:b, s:b, s:I, s:I}",
				   "line", step->step->pos.line, "column", step->step->pos.column,
				   "kind", step_kind_names[step->step->kind], "text", step->step->text,
				   "skipped", step->skipped, "passed", step->passed,
				   "first_packet", (json_int_t)step->first_packet + 1,
				   "end_packet", (json_int_t)step->end_packet + 1);

	if (object && step->message[0])
		json_object_set_new(object, "message", json_string(step->message));
	if (object && step->sent_packet >= 0)
		json_object_set_new(object, "sent_packet", json_integer(step->sent_packet + 1));
	if (object && step->step->kind == STEP_EXPECT)
		json_object_set_new(object, "expected", json_string(expected_text(step->step->text)));
	if (object && step->observed[0])
		json_object_set_new(object, "observed", json_string(step->observed));
	if (object && !step->skipped && result->scenario)
		json_object_set_new(object, "entries", entries_json(result, step));
	return object;
}

/* Every RST with its cause: the sender, the packet it answered and its verdict
 * there, the socket it reset. */
static json_t *chains_json(const struct run_result *result)
{
	json_t *chains = json_array();
	size_t i;

	for (i = 0; i < result->n_chains; i++) {
		const struct rst_chain *chain = &result->chains[i];
		json_t *object = json_pack("{s:s, s:s, s:s}", "text", chain->text,
					   "rst_sender", chain->rst_sender,
					   "rst_receiver", chain->rst_receiver);

		if (!object)
			continue;
		/* The RST and its cause among the wire copies (index), where they are kept. */
		if (chain->rst < result->n_wire && chain->rst < WIRE_JSON_MAX)
			json_object_set_new(object, "rst_wire",
					    json_integer((json_int_t)result->wire[chain->rst].index + 1));
		if (chain->has_cause && chain->cause < result->n_wire && chain->cause < WIRE_JSON_MAX)
			json_object_set_new(object, "cause_wire",
					    json_integer((json_int_t)result->wire[chain->cause].index + 1));
		if (chain->has_cause) {
			json_object_set_new(object, "cause_sender", json_string(chain->cause_sender));
			json_object_set_new(object, "cause_packet", chain->cause_observed >= 0 ?
					    json_integer(chain->cause_observed + 1) : json_null());
			json_object_set_new(object, "cause_verdict",
					    json_string(verdict_name(chain->cause_verdict)));
			json_object_set_new(object, "cause_reason", chain->cause_reason[0] ?
					    json_string(chain->cause_reason) : json_null());
			json_object_set_new(object, "judged_at", json_string(chain->judged_at));
		}
		if (chain->resets_conn) {
			char end[2 * SCENARIO_IDENT_MAX + 8];

			snprintf(end, sizeof(end), "%s.%s", result->conns[chain->conn].name,
				 chain->reset_side == SIDE_CLIENT ? "client" : "server");
			json_object_set_new(object, "reset", json_string(end));
			json_object_set_new(object, "reset_error", chain->reset_errno ?
					    json_string(strerrorname_np(chain->reset_errno)) :
					    json_null());
		}
		json_array_append_new(chains, object);
	}
	return chains;
}

static json_t *sysctls_json(const struct run_result *result)
{
	json_t *sysctls = json_object();
	size_t i;

	for (i = 0; i < result->n_sysctls; i++)
		json_object_set_new(sysctls, result->sysctls[i].key,
				    json_string(result->sysctls[i].value));
	return sysctls;
}

/* The facts the run's conditions name, as probed: "true", "false" or "unknown". */
static json_t *facts_json(const struct run_result *result)
{
	const char *names[CONDITION_FACTS_MAX * 16];
	size_t n = scenario_facts(result->scenario, names, sizeof(names) / sizeof(names[0]));
	json_t *facts = json_object();

	for (size_t i = 0; i < n && i < sizeof(names) / sizeof(names[0]); i++) {
		const char *value = "unknown";

		for (size_t j = 0; j < result->n_facts; j++)
			if (!strcmp(result->facts[j].name, names[i]))
				value = result->facts[j].value == 1 ? "true" :
					result->facts[j].value == 0 ? "false" : "unknown";
		json_object_set_new(facts, names[i], json_string(value));
	}
	return facts;
}

static json_t *host_json(const struct run_host *host)
{
	json_t *ifaces = json_array();

	for (size_t i = 0; i < host->n_ifaces; i++)
		json_array_append_new(ifaces, json_pack("{s:s, s:s}", "ifname", host->ifaces[i].ifname,
							"addr", host->ifaces[i].addr));
	return json_pack("{s:s, s:s, s:b, s:o}", "name", host->name, "addr", host->addr,
			 "observing", host->observing, "interfaces", ifaces);
}

static json_t *links_json(const struct run_result *result)
{
	json_t *links = json_array();

	for (size_t i = 0; i < result->n_links; i++) {
		const struct run_link *link = &result->links[i];

		json_array_append_new(links, json_pack("{s:s, s:s, s:s, s:s}", "a", link->a,
						       "a_ifname", link->a_ifname, "b", link->b,
						       "b_ifname", link->b_ifname));
	}
	return links;
}

static json_t *run_json(const struct run_result *result)
{
	const struct scenario *scenario = result->scenario;
	json_t *object, *hosts, *steps, *packets;
	size_t i;

	object = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f}", "name", result->name,
			   "scenario", scenario->name, "file", scenario->path,
			   "family", family_name(result->family),
			   "outcome", outcome_names[result->outcome], "seconds", result->seconds);
	if (!object)
		return NULL;
	if (result->position)
		json_object_set_new(object, "position", json_integer((json_int_t)result->position));
	json_object_set_new(object, "variant", result->variant >= 0 ?
			    json_string(scenario->variants[result->variant]) : json_null());
	if (result->reason[0])
		json_object_set_new(object, "reason", json_string(result->reason));
	json_object_set_new(object, "about", json_string(scenario->about));
	json_object_set_new(object, "topology", json_string(scenario->topology));
	json_object_set_new(object, "nat", scenario->nat != NAT_NONE ?
			    json_string(nat_kind_name(scenario->nat)) : json_null());
	json_object_set_new(object, "nat_rules", result->nat_rules[0] ?
			    json_string(result->nat_rules) : json_null());
	json_object_set_new(object, "observing_rules", result->observing_rules ?
			    json_string(result->observing_rules) : json_null());
	hosts = json_array();
	for (i = 0; i < result->n_hosts; i++)
		json_array_append_new(hosts, host_json(&result->hosts[i]));
	if (result->service_addr[0])	/* an address on no interface: what DNAT rewrites */
		json_array_append_new(hosts, json_pack("{s:s, s:s, s:b, s:b}", "name", "service",
						       "addr", result->service_addr, "observing",
						       false, "service", true));
	json_object_set_new(object, "hosts", hosts);
	json_object_set_new(object, "links", links_json(result));
	steps = json_array();
	for (i = 0; i < result->n_steps; i++)
		json_array_append_new(steps, step_json(result, &result->steps[i]));
	json_object_set_new(object, "steps", steps);
	packets = json_array();
	for (i = 0; i < result->n_packets; i++)
		json_array_append_new(packets, packet_json(result, &result->packets[i]));
	json_object_set_new(object, "packets", packets);
	json_object_set_new(object, "wire", wire_json(result));
	if (result->n_wire > WIRE_JSON_MAX)
		json_object_set_new(object, "wire_left_out",
				    json_integer((json_int_t)(result->n_wire - WIRE_JSON_MAX)));
	json_object_set_new(object, "chains", chains_json(result));
	json_object_set_new(object, "sysctls", sysctls_json(result));
	if (scenario_facts(result->scenario, NULL, 0))
		json_object_set_new(object, "facts", facts_json(result));
	return object;
}

void export_run(struct export *export, const struct run_result *result)
{
	if (export->json_file || export->json_stdout || export->html_file)
		json_array_append_new(export->runs, run_json(result));
	if (export->junit_file)
		junit_add(export->junit, result);
}

/* The whole results.json document of the runs added; NULL when memory ran out. */
static json_t *document_of(struct export *export)
{
	char date[32], host[256] = "localhost";
	struct utsname uts;

	uname(&uts);
	time_text(date, sizeof(date), TIME_ISO_UTC, 0, true);
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "tool", "ctlab",
			 "schema_version", RESULTS_SCHEMA_VERSION, "ctlab_version",
			 ctlab_version_long(), "date", date, "hostname", host,
			 "kernel", uts.release, "kernel_version", uts.version,
			 "machine", uts.machine, "runs", export->runs);
}

static int write_json(json_t *document, FILE *out)
{
	int rc;

	if (!document)
		return -1;
	rc = json_dumpf(document, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	return rc;
}

static int write_html(struct export *export, json_t *document, FILE *out)
{
	struct html_links links;
	char href[4096];

	if (!document)
		return -1;
	html_links_for(export->paths.html, export->paths.pcap_dir, href, sizeof(href), &links);
	return report_html(document, out, &links);
}

/* Writes and renames one output into place, or leaves what was at its path: 0 or -1. */
static int commit_output(struct outfile *file, const char *option, const char *path, int write_rc)
{
	int rc;

	if (write_rc < 0) {
		outfile_discard(file);
		rc = -EIO;
	} else {
		rc = outfile_commit(file);
	}
	if (rc < 0)
		fprintf(stderr, "ctlab: %s %s: %s\n", option, path, outfile_strerror(-rc));
	return rc < 0 ? -1 : 0;
}

int export_close(struct export *export)
{
	json_t *document = document_of(export);
	FILE *out;
	int rc = 0;

	if (export->json_file) {
		out = outfile_stream(export->json_file);
		if (commit_output(export->json_file, "--json", export->paths.json,
				  write_json(document, out)) < 0)
			rc = -1;
	}
	if (export->json_stdout && (write_json(document, stdout) < 0 || fflush(stdout) != 0)) {
		fprintf(stderr, "ctlab: --json -: %s\n", strerror(errno));
		rc = -1;
	}
	if (export->html_file) {
		out = outfile_stream(export->html_file);
		if (commit_output(export->html_file, "--html", export->paths.html,
				  write_html(export, document, out)) < 0)
			rc = -1;
	}
	if (export->junit_file) {
		int written;

		out = outfile_stream(export->junit_file);
		written = junit_finish(export->junit, out);
		export->junit = NULL;
		if (commit_output(export->junit_file, "--junit", export->paths.junit, written) < 0)
			rc = -1;
	}
	junit_free(export->junit);
	json_decref(document);
	json_decref(export->runs);
	free(export);
	return rc;
}
