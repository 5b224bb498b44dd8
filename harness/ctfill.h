/* ctfill — insert, count and flush conntrack entries of a namespace through ctnetlink. */
#ifndef CTLAB_CTFILL_H
#define CTLAB_CTFILL_H

#include <stdint.h>

#include "netns.h"
#include "packet.h"

/* ctlab's flood ranges and the server the flood is aimed at. */
#define CTFILL_SRC4	"198.18.128.0"	/* 198.18.128.0/17 */
#define CTFILL_SRC6	"2001:db8:3::"	/* 2001:db8:3::/48 */
#define CTFILL_DST4	"198.19.0.2"
#define CTFILL_DST6	"2001:db8:2::2"
#define CTFILL_DPORT	80

/* Source ports 1024..65535: the ports of one source address. */
#define CTFILL_PORTS_PER_SRC	64512u

/*
 * Entry n is src_base + n / CTFILL_PORTS_PER_SRC, port 1024 + n %
 * CTFILL_PORTS_PER_SRC -> dst:dport, so all are distinct. Each is made
 * as `conntrack -I ... --state ESTABLISHED -u ASSURED,SEEN_REPLY` does:
 * TCP ESTABLISHED, status ASSURED|SEEN_REPLY (the kernel adds CONFIRMED).
 */
struct ctfill_spec {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t protocol;		/* IPPROTO_TCP */
	union inet_addr src_base, dst;
	uint16_t dport;			/* host order */
	uint32_t count;
	uint32_t timeout;		/* seconds, e.g. 3600 */
};

/*
 * ctfill_spec_flood - fill @spec for @count TCP entries of @family from
 * ctlab's flood range to the server's port 80, timeout 3600 s.
 * Returns 0 or -EAFNOSUPPORT.
 */
int ctfill_spec_flood(struct ctfill_spec *spec, int family, uint32_t count);

/*
 * ctfill_insert - insert the entries of @spec into @ns's table: many
 * IPCTNL_MSG_CT_NEW messages per sendmsg, each acknowledged. An entry
 * already there (EEXIST) is skipped. After each batch @progress (may be
 * NULL) gets the number of entries handled so far. *@inserted (may be
 * NULL) gets how many entries got in, also on failure. Returns 0, or the
 * first other error as -errno, after the batch it came in: ENOMEM when
 * the table is full (nf_conntrack_max, global), EINVAL for a bad @spec
 * (a protocol other than TCP, a source range that overflows).
 */
int ctfill_insert(struct netns *ns, const struct ctfill_spec *spec, uint32_t *inserted,
		  void (*progress)(uint32_t done, void *arg), void *arg);

/*
 * ctfill_count - @ns's net.netfilter.nf_conntrack_count into *@count.
 * Returns 0 or -errno.
 */
int ctfill_count(struct netns *ns, uint32_t *count);

/*
 * ctfill_host_entries - conntrack entries allocated on the whole machine, every
 * namespace's, from the nf_conntrack slab (/proc/slabinfo, root only): dead
 * namespaces' entries stay there until a kernel worker has freed them.
 * Returns the count, or -errno.
 */
long ctfill_host_entries(void);

/* ctfill_flush - delete every entry of @ns, as `conntrack -F`. Returns 0 or -errno. */
int ctfill_flush(struct netns *ns);

#endif /* CTLAB_CTFILL_H */
