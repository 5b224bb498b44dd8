#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "inject/inject.h"

/*
 * One sendmsg carries about 64 KiB of requests (some 380 IPv4 entries):
 * bigger batches gain nothing measurable, and their acks must all fit in
 * the receive buffer at once, since the kernel handles the whole batch
 * before we read a single ack.
 */
#define BATCH_LIMIT	(64 * 1024)
#define BATCH_BUF	(2 * BATCH_LIMIT)	/* room for the request that overflows */
#define SOCK_BUF	(16 * 1024 * 1024)
#define SRC_PORT_FIRST	1024

struct ctfill_sock {
	struct mnl_socket *nl;
	char *rbuf;
};

int ctfill_spec_flood(struct ctfill_spec *spec, int family, uint32_t count)
{
	const char *src, *dst;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(spec, 0, sizeof(*spec));
	src = family == AF_INET ? CTFILL_SRC4 : CTFILL_SRC6;
	dst = family == AF_INET ? CTFILL_DST4 : CTFILL_DST6;
	inet_pton(family, src, &spec->src_base);
	inet_pton(family, dst, &spec->dst);
	spec->family = family;
	spec->protocol = IPPROTO_TCP;
	spec->dport = CTFILL_DPORT;
	spec->count = count;
	spec->timeout = 3600;
	return 0;
}

/* Source address number @i of @spec; false when it runs past the family's space. */
static bool src_addr(const struct ctfill_spec *spec, uint32_t i, union inet_addr *addr)
{
	uint64_t low;

	*addr = spec->src_base;
	if (spec->family == AF_INET) {
		uint32_t base = ntohl(spec->src_base.v4.s_addr);

		if (i > UINT32_MAX - base)
			return false;
		addr->v4.s_addr = htonl(base + i);
		return true;
	}
	/* The flood ranges are /48 and /17: adding to the low 64 bits is enough. */
	memcpy(&low, &spec->src_base.v6.s6_addr[8], sizeof(low));
	low = be64toh(low);
	if (i > UINT64_MAX - low)
		return false;
	low = htobe64(low + i);
	memcpy(&addr->v6.s6_addr[8], &low, sizeof(low));
	return true;
}

static int spec_check(const struct ctfill_spec *spec)
{
	union inet_addr last;

	if (spec->family != AF_INET && spec->family != AF_INET6)
		return -EAFNOSUPPORT;
	/* Source ports carry the entry number: TCP and UDP have them. */
	if ((spec->protocol != IPPROTO_TCP && spec->protocol != IPPROTO_UDP) || !spec->timeout)
		return -EINVAL;
	if (spec->count && !src_addr(spec, (spec->count - 1) / CTFILL_PORTS_PER_SRC, &last))
		return -EINVAL;
	return 0;
}

/* The fixed part of every entry: everything but the client's address and port. */
static struct nf_conntrack *entry_template(const struct ctfill_spec *spec)
{
	struct nf_conntrack *ct = nfct_new();

	if (!ct)
		return NULL;
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, (uint8_t)spec->family);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, (uint8_t)spec->family);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, spec->protocol);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, spec->protocol);
	if (spec->family == AF_INET) {
		nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, spec->dst.v4.s_addr);
		nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, spec->dst.v4.s_addr);
	} else {
		nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, &spec->dst.v6);
		nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, &spec->dst.v6);
	}
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(spec->dport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(spec->dport));
	if (spec->protocol == IPPROTO_TCP)
		nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	/* CONFIRMED is the kernel's to set, when the entry goes into the table. */
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_ASSURED | IPS_SEEN_REPLY);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, spec->timeout);
	return ct;
}

static void entry_set_client(struct nf_conntrack *ct, const struct ctfill_spec *spec, uint32_t n)
{
	uint16_t sport = htons((uint16_t)(SRC_PORT_FIRST + n % CTFILL_PORTS_PER_SRC));
	union inet_addr src;

	src_addr(spec, n / CTFILL_PORTS_PER_SRC, &src);
	if (spec->family == AF_INET) {
		nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, src.v4.s_addr);
		nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, src.v4.s_addr);
	} else {
		nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, &src.v6);
		nfct_set_attr(ct, ATTR_REPL_IPV6_DST, &src.v6);
	}
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, sport);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, sport);
}

static struct nlmsghdr *put_request(void *where, uint16_t type, uint16_t flags, uint8_t family,
				    uint32_t seq)
{
	return netns_nfnl_put(where, (NFNL_SUBSYS_CTNETLINK << 8) | type, flags, family, 0, seq);
}

static void ctsock_close(struct ctfill_sock *sock)
{
	if (sock->nl)
		mnl_socket_close(sock->nl);
	free(sock->rbuf);
}

static int ctsock_open(struct netns *ns, struct ctfill_sock *sock)
{
	int one = 1, size = SOCK_BUF;
	int fd, err;

	memset(sock, 0, sizeof(*sock));
	err = netns_nfnl_open(ns, &sock->nl);
	if (err < 0)
		return err;
	fd = mnl_socket_get_fd(sock->nl);
	sock->rbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!sock->rbuf) {
		err = -ENOMEM;
		goto out_close;
	}
	/* Failures leave the defaults, which only hold smaller batches' acks. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* A failed request's ack then carries only its header, not the request. */
	mnl_socket_setsockopt(sock->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;

out_close:
	ctsock_close(sock);
	return err;
}

/*
 * Sends the batch of @requests requests in @len bytes of @buf, of which
 * only the last, @last, asks for an ack: the kernel acks the others only
 * when they fail, and handles a batch in order, so once that ack is read
 * every failure has been. *@ok gets the requests that succeeded. The first
 * error other than EEXIST is returned as -errno.
 */
static int send_batch(struct ctfill_sock *sock, const void *buf, size_t len, uint32_t requests,
		      struct nlmsghdr *last, uint32_t *ok)
{
	uint32_t failed = 0;
	int first_err = 0;
	bool done = false;
	ssize_t n;

	*ok = 0;
	last->nlmsg_flags |= NLM_F_ACK;
	n = mnl_socket_sendto(sock->nl, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	while (!done) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)sock->rbuf;
		int left;

		n = mnl_socket_recvfrom(sock->nl, sock->rbuf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0)
			return -errno;	/* ENOBUFS: acks were lost, the count is unknown */
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *ack;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			ack = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_seq == last->nlmsg_seq)
				done = true;
			if (ack->error == 0)
				continue;
			failed++;
			if (ack->error != -EEXIST && !first_err)
				first_err = ack->error;
		}
	}
	*ok = requests - failed;
	return first_err;
}

int ctfill_insert(struct netns *ns, const struct ctfill_spec *spec, uint32_t *inserted,
		  void (*progress)(uint32_t done, void *arg), void *arg)
{
	struct nlmsghdr *nlh, *last = NULL;
	struct mnl_nlmsg_batch *batch;
	uint32_t n, in_batch = 0, done = 0, total = 0, ok;
	struct nf_conntrack *ct;
	struct ctfill_sock sock;
	char *buf;
	int err;

	if (inserted)
		*inserted = 0;
	err = spec_check(spec);
	if (err)
		return err;
	err = -ENOMEM;
	ct = entry_template(spec);
	if (!ct)
		goto out;
	/* Zeroed: netlink attribute padding goes to the kernel as it is. */
	buf = calloc(1, BATCH_BUF);
	if (!buf)
		goto out_free_ct;
	batch = mnl_nlmsg_batch_start(buf, BATCH_LIMIT);
	if (!batch)
		goto out_free_buf;
	err = ctsock_open(ns, &sock);
	if (err)
		goto out_stop_batch;

	for (n = 0; n < spec->count; n++) {
		nlh = put_request(mnl_nlmsg_batch_current(batch), IPCTNL_MSG_CT_NEW,
				  NLM_F_CREATE | NLM_F_EXCL, (uint8_t)spec->family, n);
		entry_set_client(ct, spec, n);
		nfct_nlmsg_build(nlh, ct);
		if (mnl_nlmsg_batch_next(batch)) {
			last = nlh;
			in_batch++;
			continue;
		}
		/* Request n went past the limit: it opens the next batch. */
		err = send_batch(&sock, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch),
				 in_batch, last, &ok);
		total += ok;
		done += in_batch;
		if (err)
			goto out_close;
		if (progress)
			progress(done, arg);
		mnl_nlmsg_batch_reset(batch);
		last = mnl_nlmsg_batch_head(batch);
		in_batch = 1;
	}
	if (in_batch) {
		err = send_batch(&sock, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch),
				 in_batch, last, &ok);
		total += ok;
		done += in_batch;
		if (!err && progress)
			progress(done, arg);
	}

out_close:
	ctsock_close(&sock);
out_stop_batch:
	mnl_nlmsg_batch_stop(batch);
out_free_buf:
	free(buf);
out_free_ct:
	nfct_destroy(ct);
out:
	if (inserted)
		*inserted = total;
	return err;
}

int ctfill_count(struct netns *ns, uint32_t *count)
{
	char value[32], *end;
	unsigned long n;
	int rc;

	rc = netns_sysctl_read(ns, "net.netfilter.nf_conntrack_count", value, sizeof(value));
	if (rc < 0)
		return rc;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || end == value || *end || n > UINT32_MAX)
		return -EINVAL;
	*count = (uint32_t)n;
	return 0;
}

int ctfill_flush(struct netns *ns)
{
	char buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))];
	struct ctfill_sock sock;
	struct nlmsghdr *nlh;
	uint32_t ok;
	int err;

	err = ctsock_open(ns, &sock);
	if (err)
		return err;
	/* A delete without a tuple flushes; AF_UNSPEC takes both families. */
	nlh = put_request(buf, IPCTNL_MSG_CT_DELETE, 0, AF_UNSPEC, 0);
	err = send_batch(&sock, nlh, nlh->nlmsg_len, 1, nlh, &ok);
	ctsock_close(&sock);
	return err;
}

long ctfill_host_entries(void)
{
	char line[512];
	long active = -ENOENT;
	FILE *file;

	file = fopen("/proc/slabinfo", "re");
	if (!file)
		return -errno;
	while (fgets(line, sizeof(line), file))
		if (sscanf(line, "nf_conntrack %ld", &active) == 1)
			break;
	fclose(file);
	return active;
}
