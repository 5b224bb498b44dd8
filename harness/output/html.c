/*
 * html — a results document as one self-contained page: a summary table,
 * and per run its story, its topology and an SVG sequence diagram with one
 * arrow per hop (a routed packet is two), conntrack's verdict where it was
 * judged, NAT's rewriting on the labels, drops, crafted packets and the RST
 * chains.  Everything is inline: no fetch, no font, no framework.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "output/output.h"
#include "output/text.h"

/* A diagram draws this many hops; a captured flood's rest is in its pcapng. */
#define HTML_HOPS_MAX		400
#define HTML_LANES_MAX		4

#define LANE_GAP		340
#define LANE_X0			170	/* room on the left for the RST chains */
#define ROW_HOP			38
#define ROW_NOTE		13	/* under a hop whose addresses NAT shows */
#define ROW_STEP		22
#define REASON_SHOWN		96	/* characters of a reason beside its hop; all on hover */

struct lane {
	const char *host;
	int x;
};

/* One arrow: a packet crossing one link, drawn from where it left to where it arrived. */
struct hop {
	json_t *copy;			/* the wire copy as it arrived (or the observed packet) */
	json_t *sent;			/* the copy as it left, NULL if not seen */
	json_t *before;			/* sent on by a host that judged it: the copy as it
					 * arrived there (what NAT rewrote shows), else NULL */
	json_t *judged;			/* the observed packet conntrack judged here, NULL none */
	int from, to;			/* lanes */
	long step;			/* 1-based, 0 none */
	bool dropped;			/* arrived at a forwarding host and never left it */
	bool crafted;
	bool note;			/* a line under it: NAT's rewriting, or a DNAT not undone */
	bool background;		/* neighbour discovery, MLD: the link's own chatter */
	int y;
	long index;			/* the arriving copy's wire index (packets: its index) */
	long sent_index;
};

struct diagram {
	json_t *run;
	struct lane lanes[HTML_LANES_MAX];
	size_t n_lanes;
	struct hop *hops;
	size_t n_hops, hops_left_out;
	const char *service_addr, *server_addr;
	/* client ports whose SYN went to the service: replies must come from it */
	long service_ports[16];
	size_t n_service_ports;
};

/* ---- Small readers ---- */

static json_t *member(json_t *object, const char *key)
{
	return json_object_get(object, key);
}

static bool flag(json_t *object, const char *key)
{
	return json_is_true(member(object, key));
}

static void text(FILE *out, const char *s)
{
	markup_text(out, s ? s : "");
}

/* @s escaped, between @before and @after (markup, written as they are). */
static void text_in(FILE *out, const char *before, const char *s, const char *after)
{
	fputs(before, out);
	text(out, s);
	fputs(after, out);
}

static int lane_of(const struct diagram *d, const char *host)
{
	for (size_t i = 0; host && i < d->n_lanes; i++)
		if (strcmp(d->lanes[i].host, host) == 0)
			return (int)i;
	return -1;
}

/* The host at the other end of host's ifname, by the run's links. */
static const char *peer_of(json_t *run, const char *host, const char *ifname)
{
	size_t i;
	json_t *link;

	json_array_foreach(member(run, "links"), i, link) {
		if (strcmp(json_text(link, "a", ""), host) == 0 &&
		    strcmp(json_text(link, "a_ifname", ""), ifname) == 0)
			return json_text(link, "b", NULL);
		if (strcmp(json_text(link, "b", ""), host) == 0 &&
		    strcmp(json_text(link, "b_ifname", ""), ifname) == 0)
			return json_text(link, "a", NULL);
	}
	return NULL;
}

static json_t *host_named(json_t *run, const char *name)
{
	return json_find(member(run, "hosts"), "name", name);
}

/* Whether addr is one of host's own (a packet to it is delivered, not forwarded). */
static bool host_owns(json_t *host, const char *addr)
{
	size_t i;
	json_t *iface;

	if (strcmp(json_text(host, "addr", ""), addr) == 0)
		return true;
	json_array_foreach(member(host, "interfaces"), i, iface)
		if (strcmp(json_text(iface, "addr", ""), addr) == 0)
			return true;
	return false;
}

/* Two copies of one packet on one link: what NAT and the link leave alike. */
static bool same_packet(json_t *a, json_t *b)
{
	static const char *const keys[] = { "seq", "ack", "sport", "dport", "length" };

	if (strcmp(json_text(a, "flags", ""), json_text(b, "flags", "")) != 0 ||
	    strcmp(json_text(a, "protocol", ""), json_text(b, "protocol", "")) != 0)
		return false;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_number(a, keys[i], -1) != json_number(b, keys[i], -1))
			return false;
	return true;
}

/* ---- Building the diagram ---- */

static void add_lanes(struct diagram *d)
{
	size_t i;
	json_t *host;

	json_array_foreach(member(d->run, "hosts"), i, host) {
		if (flag(host, "service")) {
			d->service_addr = json_text(host, "addr", NULL);
			continue;
		}
		if (d->n_lanes == HTML_LANES_MAX)
			break;
		d->lanes[d->n_lanes].host = json_text(host, "name", "?");
		d->lanes[d->n_lanes].x = LANE_X0 + (int)d->n_lanes * LANE_GAP;
		d->n_lanes++;
	}
	host = host_named(d->run, "server");
	d->server_addr = host ? json_text(host, "addr", NULL) : NULL;
}

static struct hop *new_hop(struct diagram *d)
{
	if (d->n_hops == HTML_HOPS_MAX) {
		d->hops_left_out++;
		return NULL;
	}
	return &d->hops[d->n_hops++];
}

static json_t *packet_at(json_t *run, long index)
{
	return index >= 1 ? json_array_get(member(run, "packets"), (size_t)index - 1) : NULL;
}

/* The wire copy of packet K judged @as ("arrived", "forwarded") at the host
 * that judged it, else NULL. */
static json_t *judged_copy(json_t *wire, long judged, const char *as)
{
	size_t i;
	json_t *copy;

	json_array_foreach(wire, i, copy)
		if (json_number(copy, "judged", 0) == judged &&
		    strcmp(json_text(copy, "judged_as", ""), as) == 0)
			return copy;
	return NULL;
}

/* Whether an address is for the link itself (multicast, link-local): never forwarded. */
static bool link_scope(const char *addr)
{
	return strncmp(addr, "ff", 2) == 0 || strncmp(addr, "fe80:", 5) == 0 ||
	       (strchr(addr, '.') && atoi(addr) >= 224);
}

/* How far after its arrival a forwarded copy is looked for. */
#define FORWARD_WINDOW	64

/*
 * Whether copy i, which arrived at host, was dropped there: the host forwards
 * (it has two interfaces), the packet was not for it, and it never left again.
 * Judged packets are followed by the copy conntrack's host sent on; others
 * (a full table drops before conntrack has an entry) by what NAT leaves alone.
 */
static bool dropped_at(json_t *run, json_t *wire, size_t i, const char *host)
{
	json_t *copy = json_array_get(wire, i), *at = host_named(run, host);
	long judged = (long)json_number(copy, "judged", 0);
	const char *dst = json_text(copy, "dst", "");

	if (!at || json_array_size(member(at, "interfaces")) < 2 || host_owns(at, dst) ||
	    link_scope(dst))
		return false;
	if (judged)
		return !judged_copy(wire, judged, "forwarded");
	for (size_t k = i + 1; k < json_array_size(wire) && k <= i + FORWARD_WINDOW; k++) {
		json_t *later = json_array_get(wire, k);

		if (strcmp(json_text(later, "host", ""), host) == 0 &&
		    strcmp(json_text(later, "direction", ""), "out") == 0 &&
		    strcmp(json_text(later, "flags", ""), json_text(copy, "flags", "")) == 0 &&
		    json_number(later, "seq", -1) == json_number(copy, "seq", -1) &&
		    json_number(later, "length", -1) == json_number(copy, "length", -1))
			return false;
	}
	return true;
}

/* Hops from the wire: every copy that arrived, from the host its link comes from. */
static void hops_from_wire(struct diagram *d)
{
	json_t *wire = member(d->run, "wire"), *copy;
	size_t i;

	json_array_foreach(wire, i, copy) {
		const char *host = json_text(copy, "host", "");
		const char *peer = peer_of(d->run, host, json_text(copy, "ifname", ""));
		long judged = json_number(copy, "judged", 0);
		struct hop *hop;

		if (strcmp(json_text(copy, "direction", ""), "in") != 0)
			continue;
		hop = new_hop(d);
		if (!hop)
			continue;
		*hop = (struct hop){ .copy = copy, .from = lane_of(d, peer), .to = lane_of(d, host),
				     .step = (long)json_number(copy, "step", 0),
				     .index = (long)json_number(copy, "index", 0) };
		/* The same packet as it left the peer: the latest such copy before it. */
		for (size_t k = i; k-- > 0;) {
			json_t *before = json_array_get(wire, k);

			if (strcmp(json_text(before, "direction", ""), "out") == 0 && peer &&
			    strcmp(json_text(before, "host", ""), peer) == 0 && same_packet(before, copy)) {
				hop->sent = before;
				hop->sent_index = (long)json_number(before, "index", 0);
				break;
			}
		}
		if (judged && strcmp(json_text(copy, "judged_as", ""), "arrived") == 0)
			hop->judged = packet_at(d->run, judged);
		hop->dropped = dropped_at(d->run, wire, i, host);
		if (hop->sent && json_number(hop->sent, "judged", 0)) {
			long k = (long)json_number(hop->sent, "judged", 0);

			hop->crafted = flag(packet_at(d->run, k), "crafted");
			hop->before = judged_copy(wire, k, "arrived");
		}
		if (hop->judged)
			hop->crafted = flag(hop->judged, "crafted");
	}
}

/* Hops from what the observing host saw, where the wire was not captured. */
static void hops_from_packets(struct diagram *d)
{
	json_t *packet;
	size_t i;
	int observing = -1;

	for (i = 0; i < d->n_lanes; i++)
		if (flag(host_named(d->run, d->lanes[i].host), "observing"))
			observing = (int)i;
	json_array_foreach(member(d->run, "packets"), i, packet) {
		bool in = strcmp(json_text(packet, "direction", ""), "in") == 0;
		int from = lane_of(d, json_text(packet, "from", NULL));
		int to = lane_of(d, json_text(packet, "to", NULL));
		struct hop *hop = new_hop(d);

		if (!hop)
			continue;
		/* An address no host has (a flood's source): the far end of the lanes. */
		if (from < 0)
			from = in ? (observing == 0 ? (int)d->n_lanes - 1 : 0) : observing;
		if (to < 0)
			to = in ? observing : (observing == 0 ? (int)d->n_lanes - 1 : 0);
		/* Without the wire the packet judged is the packet sent: a chain
		 * (a replay's) names its RST by that index too. */
		*hop = (struct hop){ .copy = packet, .judged = packet, .from = from, .to = to,
				     .step = (long)json_number(packet, "step", 0),
				     .crafted = flag(packet, "crafted"),
				     .index = (long)json_number(packet, "index", 0),
				     .sent_index = (long)json_number(packet, "index", 0) };
	}
}

static void note_service_ports(struct diagram *d)
{
	json_t *packets = json_array_size(member(d->run, "wire")) ? member(d->run, "wire")
								    : member(d->run, "packets");
	json_t *p;
	size_t i;

	if (!d->service_addr)
		return;
	json_array_foreach(packets, i, p)
		if (strcmp(json_text(p, "flags", ""), "S") == 0 &&
		    strcmp(json_text(p, "dst", ""), d->service_addr) == 0 &&
		    d->n_service_ports < sizeof(d->service_ports) / sizeof(d->service_ports[0]))
			d->service_ports[d->n_service_ports++] = (long)json_number(p, "sport", -1);
}

/* A reply on a connection the client made to the service, from the server's own
 * address: the DNAT was not undone. */
static bool not_unnated(const struct diagram *d, const struct hop *hop)
{
	json_t *copy = hop->copy;

	if (!d->service_addr || !d->server_addr || hop->to < 0 ||
	    strcmp(d->lanes[hop->to].host, "client") != 0 ||
	    strcmp(json_text(copy, "src", ""), d->server_addr) != 0)
		return false;
	for (size_t i = 0; i < d->n_service_ports; i++)
		if (json_number(copy, "dport", -2) == d->service_ports[i])
			return true;
	return false;
}

/* Whether NAT rewrote the hop's address @key ("src", "dst") at the host that sent it on. */
static bool rewritten(const struct hop *hop, const char *key)
{
	return hop->before &&
	       strcmp(json_text(hop->before, key, ""), json_text(hop->copy, key, "")) != 0;
}

/* What each hop needs besides its arrow: a line for NAT, a grey for the link's chatter. */
static void mark_hops(struct diagram *d)
{
	for (size_t i = 0; i < d->n_hops; i++) {
		struct hop *hop = &d->hops[i];
		long long type = json_number(hop->copy, "icmp_type", -1);

		hop->note = rewritten(hop, "src") || rewritten(hop, "dst") || not_unnated(d, hop);
		hop->background = strcmp(json_text(hop->copy, "protocol", ""), "icmpv6") == 0 &&
				  ((type >= 133 && type <= 137) || type == 143);
	}
}

/* ---- seq and ack relative to each way's SYN ---- */

struct way_isn {
	long long sport, dport;
	uint32_t isn;
};

struct isns {
	struct way_isn ways[64];
	size_t n;
};

static void isns_note(struct isns *isns, json_t *packet)
{
	const char *flags = json_text(packet, "flags", "");

	if (!strchr(flags, 'S') || isns->n == sizeof(isns->ways) / sizeof(isns->ways[0]))
		return;
	for (size_t i = 0; i < isns->n; i++)
		if (isns->ways[i].sport == json_number(packet, "sport", -1) &&
		    isns->ways[i].dport == json_number(packet, "dport", -1)) {
			if (!strchr(flags, 'A'))	/* a new SYN on the tuple: a new ISN */
				isns->ways[i].isn = (uint32_t)json_number(packet, "seq", 0);
			return;
		}
	isns->ways[isns->n++] = (struct way_isn){ json_number(packet, "sport", -1),
						  json_number(packet, "dport", -1),
						  (uint32_t)json_number(packet, "seq", 0) };
}

static const struct way_isn *isn_of(const struct isns *isns, long long sport, long long dport)
{
	for (size_t i = 0; i < isns->n; i++)
		if (isns->ways[i].sport == sport && isns->ways[i].dport == dport)
			return &isns->ways[i];
	return NULL;
}

/* ---- Writing ---- */

static const char page_style[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:0 1.5em 6em;color:#1d232b;max-width:1500px}"
	"h1{font-size:1.5em}h2{font-size:1.2em;margin:1.6em 0 .3em;border-top:1px solid #ccd;padding-top:.8em}"
	"table.sum{border-collapse:collapse}table.sum td,table.sum th{padding:2px 10px;border-bottom:1px solid #e2e4ea;text-align:left}"
	".o{font-weight:600;padding:0 .4em;border-radius:3px}.o.pass{background:#d8f0dc;color:#13511f}"
	".o.fail{background:#fbd5d5;color:#7a1010}.o.skip{background:#eee;color:#555}"
	".about{white-space:pre-line;max-width:60em}.why{color:#7a1010;font-family:monospace;white-space:pre-wrap}"
	".topo{display:flex;align-items:center;flex-wrap:wrap;gap:0;margin:.6em 0}"
	".host{border:1px solid #889;border-radius:6px;padding:.3em .7em;background:#f7f8fb}.host.obs{border:2px solid #2a5bd7;background:#eef3ff}"
	".host b{display:block}.wire{border-top:2px solid #889;margin:0 .3em;padding:0 .8em;font-size:10px;color:#667}.ifs{font:12px monospace;color:#345}"
	".svc{margin:.2em 0;font-size:13px}pre{background:#f4f5f7;padding:.5em;overflow:auto;font-size:12px}"
	".seqbox{overflow-x:auto}svg{display:block;margin:.6em 0;font:11px monospace}svg .lane{stroke:#99a;stroke-dasharray:4 3}"
	"svg .lh{font:bold 13px system-ui,sans-serif}svg .hop line{stroke:#234;stroke-width:1.4}"
	"svg .hop.crafted line{stroke:#a04d00;stroke-dasharray:6 3}svg .hop.rst line{stroke:#b00}"
	"svg .hop.cur line{stroke:#e0a800;stroke-width:4}svg .hop.cur text{fill:#7a4f00;font-weight:bold}"
	"svg .hop.bg text,svg .hop.bg line{opacity:.45}"
	"svg circle.v.invalid{fill:#c62828}svg circle.v.new{fill:#2e7d32}svg circle.v.established{fill:#1565c0}"
	"svg circle.v.related{fill:#6a1b9a}svg circle.v.untracked,svg circle.v.unseen{fill:#666}"
	"svg .b{font-weight:bold}svg .b.invalid rect{fill:#c62828}svg .b.new rect{fill:#2e7d32}svg .b.established rect{fill:#1565c0}"
	"svg .b.related rect{fill:#6a1b9a}svg .b.untracked rect,svg .b.unseen rect{fill:#666}svg .b text{fill:#fff}"
	"svg .reason{fill:#7a1010}svg .nat{fill:#a04d00;font-weight:bold}svg .drop{fill:#b00;font:bold 18px sans-serif}"
	"svg .st text{font:12px system-ui,sans-serif}svg .st.ok text.m{fill:#13511f}svg .st.bad text.m{fill:#b00}"
	"svg .st rect{fill:#f1f2f6}svg .chain path{fill:none;stroke:#b00;stroke-width:1.2;stroke-dasharray:3 2}"
	"svg .chain text{fill:#b00}.tag{font-size:10px}"
	"#panel{position:fixed;bottom:0;left:0;right:0;background:#1d232b;color:#fff;font:13px monospace;padding:.5em 1em;min-height:1.4em}"
	".keys{color:#667;font-size:12px}";

/* Next/previous packet with the keys, or a click: the hop's details in the panel;
 * page.html#step=N opens at the N-th. */
static const char page_script[] =
	"(function(){var hops=[].slice.call(document.querySelectorAll('.hop')),cur=-1,"
	"panel=document.getElementById('panel');"
	"function show(i){if(i<0||i>=hops.length)return;if(cur>=0)hops[cur].classList.remove('cur');"
	"cur=i;var h=hops[i];h.classList.add('cur');panel.textContent=h.querySelector('title').textContent;"
	"h.scrollIntoView({block:'center'});}"
	"hops.forEach(function(h,i){h.addEventListener('click',function(){show(i);});});"
	"var m=/^#step=(\\d+)$/.exec(location.hash);if(m)show(+m[1]-1);"
	"document.addEventListener('keydown',function(e){"
	"if(e.key==='n'||e.key==='j'||e.key==='ArrowDown'){show(cur+1);e.preventDefault();}"
	"else if(e.key==='p'||e.key==='k'||e.key==='ArrowUp'){show(cur-1);e.preventDefault();}});})();";

static const char *outcome_of(json_t *run)
{
	return json_text(run, "outcome", "skip");
}

/* The anchor of run i: r1, r2, … */
static void summary_row(FILE *out, json_t *run, size_t i)
{
	fprintf(out, "<tr><td><a href=\"#r%zu\">", i + 1);
	text(out, json_text(run, "scenario", "?"));
	text_in(out, "</a></td><td>", json_text(run, "variant", ""), "</td><td>");
	text(out, json_text(run, "family", ""));
	if (member(run, "kernel")) {
		fputs("</td><td>", out);
		text(out, json_text(run, "kernel", ""));
	}
	fprintf(out, "</td><td><span class=\"o %s\">%s</span></td><td>%.2f s</td></tr>\n",
		outcome_of(run), outcome_of(run),
		json_number_value(member(run, "seconds")));
}

static void write_summary(FILE *out, json_t *runs)
{
	static const char *const order[] = { "fail", "skip", "pass" };
	size_t counts[3] = { 0 }, i, k;
	json_t *run;

	json_array_foreach(runs, i, run)
		for (k = 0; k < 3; k++)
			if (strcmp(outcome_of(run), order[k]) == 0)
				counts[k]++;
	fprintf(out, "<p><span class=\"o pass\">%zu passed</span> <span class=\"o fail\">%zu failed"
		"</span> <span class=\"o skip\">%zu skipped</span></p>\n", counts[2], counts[0],
		counts[1]);
	fputs("<table class=\"sum\" id=\"summary\"><tr><th>scenario</th><th>variant</th><th>family</th>",
	      out);
	if (json_array_size(runs) && member(json_array_get(runs, 0), "kernel"))
		fputs("<th>kernel</th>", out);
	fputs("<th>outcome</th><th>time</th></tr>\n", out);
	/* Failures first, then skips, then the rest in run order. */
	for (k = 0; k < 3; k++)
		json_array_foreach(runs, i, run)
			if (strcmp(outcome_of(run), order[k]) == 0)
				summary_row(out, run, i);
	fputs("</table>\n", out);
}

static void write_topology(FILE *out, json_t *run)
{
	json_t *host, *iface;
	size_t i, k, lanes = 0;

	fputs("<div class=\"topo\">", out);
	json_array_foreach(member(run, "hosts"), i, host) {
		if (flag(host, "service"))
			continue;
		if (lanes++)
			fputs("<span class=\"wire\">veth</span>", out);
		fprintf(out, "<div class=\"host%s\"><b>", flag(host, "observing") ? " obs" : "");
		text(out, json_text(host, "name", "?"));
		fputs(flag(host, "observing") ? " · conntrack observed" : "", out);
		fputs("</b>", out);
		json_array_foreach(member(host, "interfaces"), k, iface) {
			text_in(out, "<span class=\"ifs\">", json_text(iface, "ifname", ""), " ");
			text(out, json_text(iface, "addr", ""));
			fputs("</span><br>", out);
		}
		if (!json_array_size(member(host, "interfaces"))) {
			text_in(out, "<span class=\"ifs\">", json_text(host, "addr", ""), "</span>");
		}
		fputs("</div>", out);
	}
	fputs("</div>\n", out);
	host = json_find(member(run, "hosts"), "name", "service");
	if (host && flag(host, "service")) {
		json_t *server = host_named(run, "server");

		text_in(out, "<p class=\"svc\">service address <b>", json_text(host, "addr", ""), "</b>: the client connects to it, the router DNATs it to the server (");
		text(out, server ? json_text(server, "addr", "") : "");
		fputs(") and must undo that on every reply.</p>\n", out);
	} else if (json_is_string(member(run, "nat"))) {
		text_in(out, "<p class=\"svc\">the router applies ", json_text(run, "nat", ""), " to what it forwards to the server.</p>\n");
	}
	if (json_is_string(member(run, "nat_rules"))) {
		text_in(out, "<details><summary>the router's NAT rules</summary><pre>", json_text(run, "nat_rules", ""), "</pre></details>\n");
	}
}

/* "198.18.0.1:4000", with the address marked where NAT shows on this hop. */
static void endpoint(FILE *out, json_t *copy, const char *addr_key, const char *port_key,
		     bool marked)
{
	if (marked)
		fputs("<tspan class=\"nat\">", out);
	text(out, json_text(copy, addr_key, "?"));
	if (marked)
		fputs("</tspan>", out);
	if (json_number(copy, port_key, -1) >= 0)
		fprintf(out, ":%lld", json_number(copy, port_key, 0));
}

/* The words of one hop: "TCP PA seq 1 ack 1 len 100", seq and ack relative. */
static void hop_words(char *buf, size_t size, json_t *copy, const struct isns *isns, bool absolute)
{
	const char *protocol = json_text(copy, "protocol", "?");
	long long sport = json_number(copy, "sport", -1), dport = json_number(copy, "dport", -1);
	size_t len = 0;

	if (strcmp(protocol, "tcp") == 0) {
		const struct way_isn *mine = isn_of(isns, sport, dport);
		const struct way_isn *theirs = isn_of(isns, dport, sport);
		uint32_t seq = (uint32_t)json_number(copy, "seq", 0);
		uint32_t ack = (uint32_t)json_number(copy, "ack", 0);
		const char *flags = json_text(copy, "flags", "");

		len = text_append(buf, size, len, "%s", flags);
		if (mine && !absolute)
			len = text_append(buf, size, len, " seq %d", (int32_t)(seq - mine->isn));
		else
			len = text_append(buf, size, len, " seq %u", seq);
		if (strchr(flags, 'A')) {
			if (theirs && !absolute)
				len = text_append(buf, size, len, " ack %d", (int32_t)(ack - theirs->isn));
			else
				len = text_append(buf, size, len, " ack %u", ack);
		}
	} else if (member(copy, "icmp_type")) {
		len = text_append(buf, size, len, "%s %lld/%lld", protocol,
				  json_number(copy, "icmp_type", 0), json_number(copy, "icmp_code", 0));
	} else {
		len = text_append(buf, size, len, "%s", protocol);
	}
	text_append(buf, size, len, " len %lld", json_number(copy, "length", 0));
}

/* The verdict as a word in a coloured box, conntrack's reason after it (cut; whole on hover). */
static void write_verdict(FILE *out, int x, int y, json_t *judged)
{
	const char *verdict = json_text(judged, "verdict", "unseen");
	const char *reason = json_text(judged, "reason", NULL);
	char upper[16], shown[REASON_SHOWN + 4];
	size_t i;

	for (i = 0; verdict[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)(verdict[i] >= 'a' && verdict[i] <= 'z' ? verdict[i] - 32 : verdict[i]);
	upper[i] = '\0';
	fprintf(out, "<g class=\"b %s\"><rect x=\"%d\" y=\"%d\" width=\"%zu\" height=\"15\" rx=\"3\"/>"
		"<text x=\"%d\" y=\"%d\">%s</text></g>", verdict, x, y - 11, i * 7 + 10, x + 5, y,
		upper);
	if (!reason)
		return;
	/* Cut at a character's start: the text is UTF-8. */
	snprintf(shown, sizeof(shown), "%s", reason);
	if (strlen(reason) > REASON_SHOWN) {
		i = REASON_SHOWN;
		while (i > 0 && ((unsigned char)shown[i] & 0xc0) == 0x80)
			i--;
		snprintf(shown + i, sizeof(shown) - i, "…");
	}
	fprintf(out, "<text class=\"reason\" x=\"%d\" y=\"%d\">", x + (int)strlen(upper) * 7 + 16, y);
	text(out, shown);
	fputs("</text>", out);
}

static void write_hop(FILE *out, const struct diagram *d, const struct hop *hop,
		      const struct isns *isns, int reason_x)
{
	json_t *copy = hop->copy, *before = hop->before ? hop->before : hop->copy;
	int x1 = d->lanes[hop->from < 0 ? 0 : hop->from].x;
	int x2 = d->lanes[hop->to < 0 ? 0 : hop->to].x;
	int dir = x2 >= x1 ? 1 : -1, mid = (x1 + x2) / 2;
	bool src_nat = rewritten(hop, "src"), dst_nat = rewritten(hop, "dst");
	bool missed = not_unnated(d, hop);
	bool rst = strchr(json_text(copy, "flags", ""), 'R') != NULL;
	char words[120], absolute[120];

	hop_words(words, sizeof(words), copy, isns, false);
	hop_words(absolute, sizeof(absolute), copy, isns, true);
	fprintf(out, "<g class=\"hop%s%s%s\" id=\"h%ld\" data-from=\"%s\" data-to=\"%s\"><title>",
		hop->crafted ? " crafted" : "", rst ? " rst" : "", hop->background ? " bg" : "",
		hop->index,
		d->lanes[hop->from < 0 ? 0 : hop->from].host, d->lanes[hop->to < 0 ? 0 : hop->to].host);
	fprintf(out, "#%ld %s -> %s: ", hop->index, d->lanes[hop->from < 0 ? 0 : hop->from].host,
		d->lanes[hop->to < 0 ? 0 : hop->to].host);
	text(out, json_text(copy, "src", "?"));
	text_in(out, " -> ", json_text(copy, "dst", "?"), " ");
	text(out, absolute);
	if (hop->judged) {
		fputs("; conntrack: ", out);
		text(out, json_text(hop->judged, "verdict", "?"));
		if (json_is_string(member(hop->judged, "reason"))) {
			fputs(", ", out);
			text(out, json_text(hop->judged, "reason", ""));
		}
	}
	fputs(hop->crafted ? "; crafted by the scenario" : "", out);
	fputs(hop->dropped ? "; dropped here: it arrived and was never sent on" : "", out);
	fprintf(out, "</title><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", x1, hop->y, x2, hop->y);
	if (!hop->dropped)
		fprintf(out, "<path d=\"M%d %d l%d -4 v8 z\"/>", x2, hop->y, -8 * dir);
	fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", mid, hop->y - 5);
	endpoint(out, copy, "src", "sport", src_nat || missed);
	fputs(" → ", out);
	endpoint(out, copy, "dst", "dport", dst_nat);
	fprintf(out, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", mid, hop->y + 12);
	text(out, words);
	fputs(hop->crafted ? " · crafted" : "", out);
	fputs("</text>", out);
	if (src_nat || dst_nat || missed) {
		fprintf(out, "<text class=\"nat\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", mid,
			hop->y + 12 + ROW_NOTE);
		if (missed) {
			text_in(out, "from the server's own address: the DNAT was not undone (expected ", d->service_addr, ")");
		} else if (dst_nat) {
			fputs("NAT at the router: it arrived for ", out);
			text(out, json_text(before, "dst", ""));
		} else {
			fputs("NAT at the router: it arrived from ", out);
			text(out, json_text(before, "src", ""));
		}
		fputs("</text>", out);
	}
	if (hop->dropped)
		fprintf(out, "<text class=\"drop\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">✗</text>"
			"<text class=\"reason\" x=\"%d\" y=\"%d\">dropped</text>", x2 - 12 * dir, hop->y + 6,
			x2 + 6, hop->y + 14);
	if (hop->judged) {
		fprintf(out, "<circle class=\"v %s\" cx=\"%d\" cy=\"%d\" r=\"4\"/>",
			json_text(hop->judged, "verdict", "unseen"), x2, hop->y);
		write_verdict(out, reason_x, hop->y + 4, hop->judged);
	}
	fputs("</g>\n", out);
}

static void write_step_row(FILE *out, json_t *step, int y, int width)
{
	const char *kind = json_text(step, "kind", "");
	bool expect = strcmp(kind, "expect") == 0;
	bool skipped = flag(step, "skipped"), passed = flag(step, "passed");
	const char *seen = json_text(step, "observed", NULL);
	const char *message = json_text(step, "message", NULL);

	fprintf(out, "<g class=\"st %s\" data-line=\"%lld\"><rect x=\"0\" y=\"%d\" width=\"%d\" "
		"height=\"%d\"/><text x=\"4\" y=\"%d\">%lld: ", skipped ? "skip" : passed ? "ok" : "bad",
		json_number(step, "line", 0), y - 15, width, ROW_STEP, y, json_number(step, "line", 0));
	text(out, json_text(step, "text", ""));
	fputs("</text>", out);
	if (skipped || expect || !passed) {
		fprintf(out, "<text class=\"m\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", width - 4, y);
		if (skipped)
			fputs("skipped here", out);
		else
			fputs(passed ? "✓ " : "✗ ", out);
		if (!skipped && !passed && message) {
			text(out, message);
		} else if (!skipped && seen) {
			fputs("saw ", out);
			text(out, seen);
		}
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
}

/* The RST chains: from each RST back to the packet it answered, on its sender's lane. */
static void write_chains(FILE *out, const struct diagram *d)
{
	json_t *chain;
	size_t i, k;

	json_array_foreach(member(d->run, "chains"), i, chain) {
		long rst = (long)json_number(chain, "rst_wire", 0);
		long cause = (long)json_number(chain, "cause_wire", 0);
		const struct hop *rst_hop = NULL, *cause_hop = NULL;

		for (k = 0; k < d->n_hops; k++) {
			if (rst && d->hops[k].sent_index == rst)
				rst_hop = &d->hops[k];
			if (cause && d->hops[k].index == cause)
				cause_hop = &d->hops[k];
		}
		if (!rst_hop || !cause_hop)
			continue;
		int x = d->lanes[rst_hop->from < 0 ? 0 : rst_hop->from].x;
		int bend = x <= LANE_X0 ? -60 : -70;

		fprintf(out, "<g class=\"chain\" data-rst=\"%ld\" data-cause=\"%ld\"><title>", rst, cause);
		text(out, json_text(chain, "text", ""));
		fprintf(out, "</title><path d=\"M%d %d C%d %d %d %d %d %d\"/><text x=\"%d\" y=\"%d\""
			">RST answers</text></g>\n", x, rst_hop->y,
			x + bend, rst_hop->y, x + bend, cause_hop->y, x, cause_hop->y,
			4, (rst_hop->y + cause_hop->y) / 2 + 4);
	}
}

/* Row s of a diagram: 0 before the first step, 1..n_steps a step's, then after the last. */
static bool in_row(const struct hop *hop, size_t s, size_t n_steps)
{
	return (s == 0 && hop->step < 1) || hop->step == (long)s ||
	       (s == n_steps + 1 && hop->step > (long)n_steps);
}

static void write_diagram(FILE *out, struct diagram *d)
{
	json_t *steps = member(d->run, "steps"), *step;
	size_t n_steps = json_array_size(steps), i, h = 0;
	int reason_x = LANE_X0 + (int)(d->n_lanes ? d->n_lanes - 1 : 0) * LANE_GAP + 70;
	int width = reason_x + 520, y = 30;
	struct isns isns = { .n = 0 };

	/* Positions first: a row per step, its hops under it. */
	for (size_t s = 0; s <= n_steps + 1; s++) {
		if (s >= 1 && s <= n_steps)
			y += ROW_STEP + 16;
		for (i = 0; i < d->n_hops; i++) {
			if (in_row(&d->hops[i], s, n_steps)) {
				y += ROW_HOP;
				d->hops[i].y = y;
				if (d->hops[i].note)
					y += ROW_NOTE;
			}
		}
	}
	fputs("<div class=\"seqbox\">", out);
	fprintf(out, "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\"><title>sequence diagram of ", width, y + 30, width, y + 30);
	text(out, json_text(d->run, "name", ""));
	fputs("</title>\n", out);
	for (i = 0; i < d->n_lanes; i++) {
		fprintf(out, "<text class=\"lh\" x=\"%d\" y=\"16\" text-anchor=\"middle\">", d->lanes[i].x);
		text(out, d->lanes[i].host);
		fprintf(out, "</text><line class=\"lane\" x1=\"%d\" y1=\"22\" x2=\"%d\" y2=\"%d\"/>\n",
			d->lanes[i].x, d->lanes[i].x, y + 20);
	}
	/* Steps and hops in the same order as the positions. */
	y = 30;
	for (size_t s = 0; s <= n_steps + 1; s++) {
		if (s >= 1 && s <= n_steps) {
			y += ROW_STEP + 16;
			step = json_array_get(steps, s - 1);
			write_step_row(out, step, y - 4, width);
		}
		for (i = 0; i < d->n_hops; i++) {
			const struct hop *hop = &d->hops[i];

			if (in_row(hop, s, n_steps)) {
				isns_note(&isns, hop->copy);
				write_hop(out, d, hop, &isns, reason_x);
				y = hop->y + (hop->note ? ROW_NOTE : 0);
				h++;
			}
		}
	}
	write_chains(out, d);
	fputs("</svg></div>\n", out);
	if (d->hops_left_out)
		fprintf(out, "<p>%zu more hops are not drawn: the run's pcapng has them all.</p>\n",
			d->hops_left_out);
	(void)h;
}

/* The run's pcapng files where they exist: NAME-FAMILY.pcapng, NAME-FAMILY/HOST-IF.pcapng. */
static void write_pcap_links(FILE *out, json_t *run, const struct html_links *links)
{
	char base[600], path[1400];
	const char *name = json_text(run, "name", "");
	struct stat st;
	size_t i, k, len = 0;
	json_t *host, *iface;

	if (!links || !links->pcap_dir)
		return;
	for (i = 0; name[i] && len + 1 < sizeof(base); i++)
		base[len++] = name[i] == '/' ? '-' : name[i];
	base[len] = '\0';
	snprintf(path, sizeof(path), "%s/%s.pcapng", links->pcap_dir, base);
	if (stat(path, &st) != 0)
		return;
	text_in(out, "<p class=\"pcap\">capture: <a href=\"", links->pcap_href, "/");
	text(out, base);
	fputs(".pcapng\">every link</a>", out);
	json_array_foreach(member(run, "hosts"), i, host) {
		json_array_foreach(member(host, "interfaces"), k, iface) {
			const char *h = json_text(host, "name", ""), *f = json_text(iface, "ifname", "");

			snprintf(path, sizeof(path), "%s/%s/%s-%s.pcapng", links->pcap_dir, base, h, f);
			if (stat(path, &st) != 0)
				continue;
			text_in(out, " · <a href=\"", links->pcap_href, "/");
			text(out, base);
			text_in(out, "/", h, "-");
			text(out, f);
			text_in(out, ".pcapng\">", h, " ");
			text(out, f);
			fputs("</a>", out);
		}
	}
	fputs("</p>\n", out);
}

static int write_run(FILE *out, json_t *run, size_t i, const struct html_links *links)
{
	struct diagram d = { .run = run };

	d.hops = calloc(HTML_HOPS_MAX, sizeof(*d.hops));
	if (!d.hops)
		return -1;
	fprintf(out, "<section class=\"run\" id=\"r%zu\" data-name=\"", i + 1);
	text(out, json_text(run, "name", ""));
	fprintf(out, "\" data-outcome=\"%s\"><h2>", outcome_of(run));
	text(out, json_text(run, "name", ""));
	if (json_is_string(member(run, "kernel"))) {	/* merged from several kernels */
		fputs(" · kernel ", out);
		text(out, json_text(run, "kernel", ""));
	}
	fprintf(out, " <span class=\"o %s\">%s</span></h2>\n<p class=\"about\">", outcome_of(run),
		outcome_of(run));
	text(out, json_text(run, "about", ""));
	fputs("</p>\n", out);
	if (json_is_string(member(run, "reason"))) {
		text_in(out, "<p class=\"why\">", json_text(run, "reason", ""), "</p>\n");
	}
	write_topology(out, run);
	write_pcap_links(out, run, links);
	add_lanes(&d);
	note_service_ports(&d);
	if (json_array_size(member(run, "wire")))
		hops_from_wire(&d);
	else
		hops_from_packets(&d);
	mark_hops(&d);
	if (d.n_lanes)
		write_diagram(out, &d);
	fputs("</section>\n", out);
	free(d.hops);
	return 0;
}

int report_html(struct json_t *document, FILE *out, const struct html_links *links)
{
	json_t *runs = member(document, "runs"), *run;
	size_t i;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width\"><title>ctlab: ", out);
	text(out, json_text(document, "kernel", "results"));
	fprintf(out, "</title><style>%s</style></head><body>\n<h1>ctlab results</h1>\n<p>", page_style);
	text(out, json_text(document, "ctlab_version", ""));
	text_in(out, " · kernel ", json_text(document, "kernel", "?"), " · ");
	text(out, json_text(document, "hostname", ""));
	fputs(" · ", out);
	text(out, json_text(document, "date", ""));
	fputs("</p>\n<p class=\"keys\">n / j / ↓: next packet · p / k / ↑: previous · a click "
	      "shows a packet below. Seq and ack are relative to each side's SYN; hover for "
	      "the numbers as sent.</p>\n", out);
	write_summary(out, runs);
	json_array_foreach(runs, i, run)
		if (write_run(out, run, i, links) < 0)
			return -1;
	fprintf(out, "<div id=\"panel\">choose a packet: n / p</div>\n<script>%s</script>\n"
		"</body></html>\n", page_script);
	return ferror(out) ? -1 : 0;
}

void html_links_for(const char *html_path, const char *pcap_dir, char *href, size_t size,
		    struct html_links *links)
{
	char page_dir[4096], *slash, *pcap_real = NULL, *page_real = NULL;
	size_t len;

	*links = (struct html_links){ 0 };
	if (!pcap_dir || !html_path)
		return;
	snprintf(page_dir, sizeof(page_dir), "%s", html_path);
	slash = strrchr(page_dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(page_dir, sizeof(page_dir), ".");
	pcap_real = realpath(pcap_dir, NULL);
	page_real = realpath(page_dir[0] ? page_dir : "/", NULL);
	if (!pcap_real)
		goto out_free;
	len = page_real ? strlen(page_real) : 0;
	if (page_real && strncmp(pcap_real, page_real, len) == 0 && pcap_real[len] == '/')
		snprintf(href, size, "%s", pcap_real + len + 1);
	else
		snprintf(href, size, "%s", pcap_real);
	links->pcap_dir = pcap_dir;
	links->pcap_href = href;
out_free:
	free(page_real);
	free(pcap_real);
}
