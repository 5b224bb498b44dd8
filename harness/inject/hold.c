/*
 * hold — real packets kept back in an NFQUEUE queue of a namespace and let go
 * later, through nfnetlink_queue over libmnl.  A packet held at a hook after
 * conntrack's has an entry that is not confirmed yet: a second packet of the
 * same flow then makes its own, which is how a race between two packets of
 * one flow is staged without racing threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "inject/inject.h"

#define HOLD_MAX	64
#define HOLD_BUF	16384	/* a netlink read: acks and packet metadata only */

struct hold {
	struct mnl_socket *nl;
	uint16_t queue;
	size_t n_held;
	uint32_t ids[HOLD_MAX];		/* packet ids, in the order the kernel queued them */
};

static struct nlmsghdr *put_queue_header(char *buf, int type, uint16_t queue)
{
	return netns_nfnl_put(buf, (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type), NLM_F_ACK, AF_UNSPEC,
			      queue, 0);
}

/* Send one request and read its ack; queued packets read meanwhile are kept. */
static int hold_parse(struct hold *hold, const char *buf, ssize_t len, uint32_t seq, bool *acked);

static int request(struct hold *hold, struct nlmsghdr *nlh)
{
	char buf[HOLD_BUF];
	bool acked = false;
	ssize_t n;

	nlh->nlmsg_seq = (uint32_t)time(NULL) ^ (uint32_t)random();
	if (mnl_socket_sendto(hold->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!acked) {
		int err;

		n = mnl_socket_recvfrom(hold->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		err = hold_parse(hold, buf, n, nlh->nlmsg_seq, &acked);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Keeps the id of every queued packet in @buf; an ack or error for @seq ends
 * the wait of request() (0 for none). */
static int hold_parse(struct hold *hold, const char *buf, ssize_t len, uint32_t seq, bool *acked)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	size_t left = (size_t)len;

	for (; mnl_nlmsg_ok(nlh, (int)left); nlh = mnl_nlmsg_next(nlh, (int *)&left)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (seq && nlh->nlmsg_seq == seq) {
				*acked = true;
				if (e->error)
					return e->error;
			}
			continue;
		}
		if ((nlh->nlmsg_type & 0xff) == NFQNL_MSG_PACKET &&
		    (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_QUEUE) {
			const struct nlattr *attr;

			mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg)) {
				const struct nfqnl_msg_packet_hdr *ph;

				if (mnl_attr_get_type(attr) != NFQA_PACKET_HDR ||
				    mnl_attr_get_payload_len(attr) < sizeof(*ph))
					continue;
				ph = mnl_attr_get_payload(attr);
				if (hold->n_held == HOLD_MAX)
					return -ENOBUFS;
				hold->ids[hold->n_held++] = ntohl(ph->packet_id);
			}
		}
	}
	return 0;
}

struct hold *hold_open(struct netns *ns, uint16_t queue, int *error)
{
	char buf[HOLD_BUF] = { 0 };	/* attribute padding is sent as the buffer held it */
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	struct nfqnl_msg_config_params params = { .copy_range = htonl(0),
						  .copy_mode = NFQNL_COPY_META };
	struct nlmsghdr *nlh;
	struct hold *hold;
	int err;

	hold = calloc(1, sizeof(*hold));
	if (!hold) {
		*error = -ENOMEM;
		return NULL;
	}
	hold->queue = queue;
	err = netns_nfnl_open(ns, &hold->nl);
	if (err < 0)
		goto fail;
	nlh = put_queue_header(buf, NFQNL_MSG_CONFIG, queue);
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	err = request(hold, nlh);
	if (err < 0)
		goto fail;
	nlh = put_queue_header(buf, NFQNL_MSG_CONFIG, queue);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	err = request(hold, nlh);
	if (err < 0)
		goto fail;
	return hold;
fail:
	hold_close(hold);
	*error = err;
	return NULL;
}

int hold_wait(struct hold *hold, size_t count, int timeout_ms)
{
	char buf[HOLD_BUF];
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (hold->n_held < count) {
		struct pollfd pfd = { .fd = mnl_socket_get_fd(hold->nl), .events = POLLIN };
		long spent;
		ssize_t n;
		bool acked;
		int err;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(timeout_ms - spent)) <= 0)
			continue;
		n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		err = hold_parse(hold, buf, n, 0, &acked);
		if (err < 0)
			return err;
	}
	return 0;
}

size_t hold_count(const struct hold *hold)
{
	return hold->n_held;
}

int hold_release(struct hold *hold)
{
	char buf[HOLD_BUF] = { 0 };
	size_t i;

	for (i = 0; i < hold->n_held; i++) {
		struct nfqnl_msg_verdict_hdr verdict = { .verdict = htonl(NF_ACCEPT),
							 .id = htonl(hold->ids[i]) };
		struct nlmsghdr *nlh = put_queue_header(buf, NFQNL_MSG_VERDICT, hold->queue);
		int err;

		mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(verdict), &verdict);
		err = request(hold, nlh);
		if (err < 0)
			return err;
	}
	hold->n_held = 0;
	return 0;
}

void hold_close(struct hold *hold)
{
	if (!hold)
		return;
	if (hold->nl)
		mnl_socket_close(hold->nl);
	free(hold);
}
