/*
 * capture — a run's wire as pcapng files for Wireshark (--pcap DIR): all links
 * in one file (NAME-FAMILY.pcapng, where NAT shows hop by hop), and each
 * interface in a file of its own (NAME-FAMILY/HOST-IFNAME.pcapng), where every
 * packet appears once, so Wireshark's TCP analysis sees no false
 * retransmissions.  The observing host's copies of the packets conntrack
 * judged carry its verdict and reason as a packet comment (frame.comment).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/run.h"
#include "base/base.h"

/* A wire copy and the packet conntrack judged are one packet within this
 * (NFLOG's time may be when ctlab read it, late on a loaded machine; equal
 * packets close together are taken in order, so a wide window is safe). */
#define SAME_PACKET_NS	5000000000LL

/* Interfaces of a topology, with room to spare: a file each. */
#define CAPTURE_IFACES_MAX	32

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* The same packet: protocol, TCP flags and numbers, ICMP type, payload
 * length, and with @addresses its addresses and ports too (without: a
 * forwarded copy, rewritten by NAT on its way out). */
static bool same_packet(const struct packet_summary *a, const struct packet_summary *b,
			bool addresses)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	if (a->family != b->family || a->protocol != b->protocol || a->flags != b->flags ||
	    a->seq != b->seq || a->ack != b->ack || a->payload_len != b->payload_len ||
	    a->icmp_type != b->icmp_type)
		return false;
	if (!addresses)
		return a->sport == b->sport || a->dport == b->dport;
	return a->sport == b->sport && a->dport == b->dport && !memcmp(&a->src, &b->src, len) &&
	       !memcmp(&a->dst, &b->dst, len);
}

/* The line of the send step that crafted observed packet @index, or 0. */
static int crafted_at(const struct run_result *result, size_t index)
{
	for (size_t i = 0; i < result->n_steps; i++)
		if (result->steps[i].sent_packet >= 0 && (size_t)result->steps[i].sent_packet == index)
			return result->steps[i].step->pos.line;
	return 0;
}

/* "ct INVALID at router: REASON; also: …; crafted (line 16)" */
static char *verdict_comment(const struct run *run, const struct observed *observed, bool forwarded)
{
	char text[PCAPNG_COMMENT_MAX + 1], verdict[16];
	size_t len, i;
	int line = crafted_at(run->result, observed->index);

	snprintf(verdict, sizeof(verdict), "%s", verdict_name(observed->verdict));
	for (i = 0; verdict[i]; i++)
		verdict[i] = (char)toupper((unsigned char)verdict[i]);
	len = (size_t)snprintf(text, sizeof(text), "ct %s at %s", verdict, run->observing_host->name);
	if (observed->has_reason && len < sizeof(text))
		len += (size_t)snprintf(text + len, sizeof(text) - len, ": %s", observed->reason);
	for (i = 0; i < observed->n_also && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "; also: %s", observed->also[i]);
	if (forwarded && len < sizeof(text))
		len += (size_t)snprintf(text + len, sizeof(text) - len, " (judged as it arrived)");
	if (line && len < sizeof(text))
		snprintf(text + len, sizeof(text) - len, "; crafted (line %d)", line);
	return strdup(text);
}

/*
 * Each judged packet to its copies at the observing host, into @judged and
 * @forwarded (by arrival index): the copy with the same addresses (as it
 * arrived, or as the host sent it, maybe NATed on its way out), then a copy
 * sent on after it with the same numbers (forwarded, maybe NATed).  Both lists are in time order, so
 * the search window only moves forward.
 */
void match_judged(const struct run *run, long *judged, bool *forwarded)
{
	const struct run_result *result = run->result;
	size_t n = wire_count(run->wire), from = 0, i, j;
	/* A flood captured with --pcap is a million copies in one window: the
	 * packets past this many comparisons go unmatched. */
	long budget = 50000000;

	for (j = 0; j < n; j++) {
		judged[j] = -1;
		forwarded[j] = false;
	}
	for (i = 0; i < result->n_packets && budget > 0; i++) {
		const struct observed *observed = &result->packets[i];
		const struct wire_packet *arrived = NULL;

		/* Copies already matched, or of other hosts, are behind us. */
		while (from < n && (judged[from] >= 0 ||
				    strcmp(wire_at(run->wire, from)->host, run->observing_host->name)))
			from++;
		for (j = from; j < n && budget > 0; j++, budget--) {
			const struct wire_packet *copy = wire_at(run->wire, j);
			long long apart = ns_between(&observed->when, &copy->when);

			if (strcmp(copy->host, run->observing_host->name) != 0)
				continue;
			if (apart < -SAME_PACKET_NS) {
				from = j + 1;
				continue;
			}
			if (apart > SAME_PACKET_NS)
				break;
			if (judged[j] >= 0)
				continue;
			/* The host's own packet may leave NATed (DNAT in its output path). */
			if (!arrived && (same_packet(&observed->packet, &copy->packet, true) ||
					 (observed->output && copy->outgoing &&
					  same_packet(&observed->packet, &copy->packet, false)))) {
				judged[j] = (long)i;
				arrived = copy;
				if (observed->output)
					break;
			} else if (arrived && copy->outgoing && !arrived->outgoing &&
				   same_packet(&observed->packet, &copy->packet, false)) {
				judged[j] = (long)i;
				forwarded[j] = true;
				break;
			}
		}
	}
}

/* The comments of the pcapng files, by arrival index, from the records. */
static char **verdict_comments(const struct run *run)
{
	const struct run_result *result = run->result;
	size_t n = wire_count(run->wire), i;
	char **comments = calloc(n ? n : 1, sizeof(*comments));

	if (!comments)
		return NULL;
	for (i = 0; i < result->n_wire; i++) {
		const struct wire_record *record = &result->wire[i];

		if (record->judged && record->judged <= result->n_packets && record->arrival < n)
			comments[record->arrival] = verdict_comment(run, &result->packets[record->judged - 1],
								    record->forwarded);
	}
	return comments;
}

static void free_comments(char **comments, size_t n)
{
	for (size_t i = 0; comments && i < n; i++)
		free(comments[i]);
	free(comments);
}

static void write_one(const char *path, const struct wire *wire, const struct pcapng_meta *meta)
{
	int rc = wire_write_pcapng(wire, path, meta);

	if (rc < 0)
		fprintf(stderr, "ctlab: --pcap %s: %s\n", path, outfile_strerror(-rc));
}

void write_captures(struct run *run)
{
	const struct run_result *result = run->result;
	const struct wire_packet *seen[CAPTURE_IFACES_MAX];
	size_t n = wire_count(run->wire), n_seen = 0, i, j, len;
	char base[4096], path[4200], comment[600], application[80];
	char **comments = verdict_comments(run);
	struct pcapng_meta meta = { .application = application, .comment = comment,
				    .comments = (const char *const *)comments };
	int rc;

	snprintf(application, sizeof(application), "ctlab %s", ctlab_version_long());
	snprintf(comment, sizeof(comment), "ctlab run %s (%s), conntrack observed at %s",
		 result->name, run->scenario->path, run->observing_host->name);
	/* NAME-FAMILY: the run's name with its slashes as dashes. */
	len = (size_t)snprintf(base, sizeof(base), "%s/", run->options->pcap_dir);
	for (i = 0; result->name[i] && len + 1 < sizeof(base); i++)
		base[len++] = result->name[i] == '/' ? '-' : result->name[i];
	base[len] = '\0';
	snprintf(path, sizeof(path), "%s.pcapng", base);
	write_one(path, run->wire, &meta);

	rc = outfile_mkdir(base);
	if (rc < 0) {
		fprintf(stderr, "ctlab: --pcap %s: %s\n", base, outfile_strerror(-rc));
		goto out;
	}
	/* Each interface once, at its first packet (a captured flood is a
	 * million packets on a handful of interfaces). */
	for (i = 0; i < n && n_seen < CAPTURE_IFACES_MAX; i++) {
		const struct wire_packet *packet = wire_at(run->wire, i);

		for (j = 0; j < n_seen; j++)
			if (!strcmp(seen[j]->host, packet->host) && !strcmp(seen[j]->ifname, packet->ifname))
				break;
		if (j < n_seen)
			continue;
		seen[n_seen++] = packet;
		meta.host = packet->host;
		meta.ifname = packet->ifname;
		snprintf(path, sizeof(path), "%s/%s-%s.pcapng", base, packet->host, packet->ifname);
		write_one(path, run->wire, &meta);
	}
out:
	free_comments(comments, n);
}
