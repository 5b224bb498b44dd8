// SPDX-License-Identifier: GPL-2.0
/*
 * A live namespace ctlab did not make, watched without touching it: what its
 * conntrack logs on NFLOG group 0 (where nf_log.2 and .10 = nfnetlink_log send
 * it) and the TCP RSTs on its interfaces, from a packet socket that only reads.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_packet.h>

#include <pcap/pcap.h>

#include "observe/nflog.h"
#include "observe/observe.h"

#define WATCH_IFACES_MAX	64
#define SLL2_HEADER		20	/* protocol, reserved, ifindex, hatype, pkttype, addrlen, addr */

/* A RST in either family, IPv6 without extension headers before TCP. */
static const char rst_filter[] =
	"(ip and tcp and tcp[13] & 4 != 0) or (ip6 and ip6[6] == 6 and ip6[53] & 4 != 0)";

struct watch {
	struct netns *ns;
	pcap_t *nflog, *rsts;
	struct {
		int ifindex;
		char name[IF_NAMESIZE];
	} ifaces[WATCH_IFACES_MAX];
	size_t n_ifaces;
	uint64_t other_logs;		/* group 0 records that were not conntrack's */
};

struct open_args {
	struct watch *watch;
	char *err;
	size_t errsize;
};

static pcap_t *open_pcap(const char *device, int snaplen, const char *filter, char *err,
			 size_t errsize)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program program;
	pcap_t *pcap;

	pcap = pcap_create(device, pcap_err);
	if (!pcap) {
		snprintf(err, errsize, "%s: %s", device, pcap_err);
		return NULL;
	}
	if (pcap_set_snaplen(pcap, snaplen) || pcap_set_immediate_mode(pcap, 1) ||
	    pcap_set_buffer_size(pcap, 4 << 20) || pcap_activate(pcap) < 0)
		goto out_geterr;
	if (filter) {
		/* Cooked v2 for the interface's index and the direction. */
		if (pcap_set_datalink(pcap, DLT_LINUX_SLL2) < 0)
			goto out_geterr;
		if (pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
			goto out_geterr;
		if (pcap_setfilter(pcap, &program) < 0) {
			pcap_freecode(&program);
			goto out_geterr;
		}
		pcap_freecode(&program);
	}
	return pcap;

out_geterr:
	snprintf(err, errsize, "%s: %s", device, pcap_geterr(pcap));
	pcap_close(pcap);
	return NULL;
}

static int open_in_ns(void *arg)
{
	struct open_args *open = arg;
	struct watch *watch = open->watch;

	/* NFLOG first: a group someone else listens to is the one refusal that matters. */
	watch->nflog = open_pcap("nflog:0", 65535, NULL, open->err, open->errsize);
	if (!watch->nflog)
		return -1;
	watch->rsts = open_pcap("any", 256, rst_filter, open->err, open->errsize);
	return watch->rsts ? 0 : -1;
}

struct watch *watch_open(struct netns *ns, char *err, size_t errsize)
{
	struct watch *watch = calloc(1, sizeof(*watch));
	struct open_args open = { .watch = watch, .err = err, .errsize = errsize };

	if (!watch) {
		snprintf(err, errsize, "%s", strerror(ENOMEM));
		return NULL;
	}
	watch->ns = ns;
	if (netns_run(ns, open_in_ns, &open) != 0) {
		watch_free(watch);
		return NULL;
	}
	return watch;
}

void watch_free(struct watch *watch)
{
	if (!watch)
		return;
	if (watch->nflog)
		pcap_close(watch->nflog);
	if (watch->rsts)
		pcap_close(watch->rsts);
	free(watch);
}

struct ifname_args {
	int ifindex;
	char *name;
};

static int ifname_in_ns(void *arg)
{
	struct ifname_args *args = arg;

	return if_indextoname((unsigned)args->ifindex, args->name) ? 0 : -errno;
}

/* The interface's name in the watched namespace, "if<N>" once it is gone. */
static const char *ifname_of(struct watch *watch, int ifindex)
{
	struct ifname_args args;
	size_t i;

	for (i = 0; i < watch->n_ifaces; i++)
		if (watch->ifaces[i].ifindex == ifindex)
			return watch->ifaces[i].name;
	if (watch->n_ifaces == WATCH_IFACES_MAX)
		watch->n_ifaces = 0;	/* a namespace of many links: forget, ask again */
	i = watch->n_ifaces++;
	watch->ifaces[i].ifindex = ifindex;
	args = (struct ifname_args){ .ifindex = ifindex, .name = watch->ifaces[i].name };
	if (netns_run(watch->ns, ifname_in_ns, &args) != 0)
		snprintf(watch->ifaces[i].name, sizeof(watch->ifaces[i].name), "if%d", ifindex);
	return watch->ifaces[i].name;
}

static void stamp(const struct pcap_pkthdr *header, struct timespec *when)
{
	when->tv_sec = header->ts.tv_sec;
	when->tv_nsec = (long)header->ts.tv_usec * 1000;
}

struct dispatch {
	struct watch *watch;
	watch_fn each;
	void *arg;
	int n;
};

static void on_reason(u_char *user, const struct pcap_pkthdr *header, const u_char *data)
{
	struct dispatch *dispatch = (struct dispatch *)user;
	struct watch_event event = { .kind = WATCH_REASON };
	struct nflog_record rec;

	if (nflog_parse(data, header->caplen, &rec) < 0 || !rec.payload ||
	    nflog_reason(&rec, event.reason, sizeof(event.reason)) < 0 ||
	    packet_parse(rec.payload, rec.payload_len, &event.packet) < 0) {
		dispatch->watch->other_logs++;
		return;
	}
	/* It reaches terminals and reports: show it, never let it act. */
	safetext_escape(event.reason, sizeof(event.reason), false);
	event.hook = rec.hook;
	if (rec.indev && rec.indev <= INT32_MAX)
		snprintf(event.ifname, sizeof(event.ifname), "%s",
			 ifname_of(dispatch->watch, (int)rec.indev));
	stamp(header, &event.when);
	dispatch->each(&event, dispatch->arg);
	dispatch->n++;
}

static void on_rst(u_char *user, const struct pcap_pkthdr *header, const u_char *data)
{
	struct dispatch *dispatch = (struct dispatch *)user;
	struct watch_event event = { .kind = WATCH_RST };
	int ifindex;

	if (header->caplen < SLL2_HEADER ||
	    packet_parse(data + SLL2_HEADER, header->caplen - SLL2_HEADER, &event.packet) < 0)
		return;
	ifindex = (int)((uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
			(uint32_t)data[6] << 8 | data[7]);
	event.outgoing = data[10] == PACKET_OUTGOING;
	snprintf(event.ifname, sizeof(event.ifname), "%s", ifname_of(dispatch->watch, ifindex));
	stamp(header, &event.when);
	dispatch->each(&event, dispatch->arg);
	dispatch->n++;
}

int watch_poll(struct watch *watch, int timeout_ms, watch_fn each, void *arg)
{
	struct pollfd fds[2] = {
		{ .fd = pcap_get_selectable_fd(watch->nflog), .events = POLLIN },
		{ .fd = pcap_get_selectable_fd(watch->rsts), .events = POLLIN },
	};
	struct dispatch dispatch = { .watch = watch, .each = each, .arg = arg };
	int rc;

	/* As the observer: libpcap's NFLOG reader takes EAGAIN for an error, so
	 * both stay blocking and are read only when poll says something is there. */
	for (;;) {
		rc = poll(fds, 2, timeout_ms);
		if (rc < 0 && errno == EINTR)
			return dispatch.n;	/* Ctrl-C: the caller looks */
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return dispatch.n;
		/* The reasons first: a RST that followed an INVALID packet comes after it. */
		if ((fds[0].revents & POLLIN) &&
		    pcap_dispatch(watch->nflog, -1, on_reason, (u_char *)&dispatch) < 0)
			return -EIO;
		if ((fds[1].revents & POLLIN) &&
		    pcap_dispatch(watch->rsts, -1, on_rst, (u_char *)&dispatch) < 0)
			return -EIO;
		timeout_ms = 0;
	}
}

void watch_drops(const struct watch *watch, uint64_t *reasons, uint64_t *rsts,
		 uint64_t *other_logs)
{
	struct pcap_stat stat;

	*reasons = pcap_stats(watch->nflog, &stat) == 0 ? stat.ps_drop : 0;
	*rsts = pcap_stats(watch->rsts, &stat) == 0 ? stat.ps_drop : 0;
	*other_logs = watch->other_logs;
}
