/*
 * An NFQUEUE rule through nft_compat, for kernels built without nft's own
 * queue expression (CONFIG_NFT_QUEUE) but with xtables' NFQUEUE target: the
 * rule iptables-nft would write, sent over nfnetlink with libmnl, since
 * libnftables cannot write xtables targets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>

#include "netns/netns.h"

#define COMPAT_BUF	4096

static void put_batch_marker(struct mnl_nlmsg_batch *batch, int type, uint32_t seq)
{
	netns_nfnl_put(mnl_nlmsg_batch_current(batch), (uint16_t)type, 0, AF_UNSPEC,
		       NFNL_SUBSYS_NFTABLES, seq);
	mnl_nlmsg_batch_next(batch);
}

static void put_queue_rule(struct mnl_nlmsg_batch *batch, int family, const char *table,
			   const char *chain, uint16_t queue, uint32_t seq)
{
	struct nlmsghdr *nlh;
	/* xt_NFQ_info (revision 0): the queue number, padded as xtables aligns it. */
	uint8_t info[8] = { 0 };
	struct nlattr *exprs, *elem, *data;

	memcpy(info, &queue, sizeof(queue));
	nlh = netns_nfnl_put(mnl_nlmsg_batch_current(batch), (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
			     NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK,
			     (uint8_t)(family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6), 0, seq);
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
	exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, "NFQUEUE");
	mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(0));
	mnl_attr_put(nlh, NFTA_TARGET_INFO, sizeof(info), info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, exprs);
	mnl_nlmsg_batch_next(batch);
}

int netns_nft_queue_compat(struct netns *ns, int family, const char *table, const char *chain,
			   uint16_t queue)
{
	char buf[COMPAT_BUF] = { 0 }, reply[COMPAT_BUF];	/* attribute padding is sent as is */
	uint32_t seq = (uint32_t)time(NULL);
	struct mnl_nlmsg_batch *batch;
	struct mnl_socket *nl;
	int err = 0;
	ssize_t n;

	if (strlen(table) >= NFT_TABLE_MAXNAMELEN || strlen(chain) >= NFT_CHAIN_MAXNAMELEN)
		return -EINVAL;
	err = netns_nfnl_open(ns, &nl);
	if (err < 0)
		return err;
	batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	put_batch_marker(batch, NFNL_MSG_BATCH_BEGIN, seq);
	put_queue_rule(batch, family, table, chain, queue, seq + 1);
	put_batch_marker(batch, NFNL_MSG_BATCH_END, seq + 2);
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch)) < 0)
		err = -errno;
	mnl_nlmsg_batch_stop(batch);
	if (err)
		goto out;
	/* The rule's ack (NLM_F_ACK): 0 or the kernel's -errno. */
	n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
	if (n < 0)
		err = -errno;
	else
		err = mnl_cb_run(reply, (size_t)n, seq + 1, mnl_socket_get_portid(nl), NULL, NULL) < 0
			      ? -errno : 0;
out:
	mnl_socket_close(nl);
	return err;
}
