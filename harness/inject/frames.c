/* frames: IP packets sent out of an interface as Ethernet frames to one peer, whatever their addresses (replays). */
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "inject/inject.h"

/* Through a socket made in the namespace: the ioctls answer for the socket's namespace. */
static int query_link(int fd, const char *ifname, struct link_info *info)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (!ifname || strlen(ifname) >= sizeof(ifr.ifr_name))
		return -EINVAL;
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(info->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		return -errno;
	info->ifindex = ifr.ifr_ifindex;
	return 0;
}

int link_info_get(struct netns *ns, const char *ifname, struct link_info *info)
{
	int fd, err;

	fd = netns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	err = query_link(fd, ifname, info);
	close(fd);
	return err;
}

#define FRAME_SEND_TRIES	1000

struct frame_sender {
	int fd;
	struct sockaddr_ll to;
};

int frame_sender_open(struct netns *ns, const char *ifname, struct netns *peer_ns,
		      const char *peer_ifname, struct frame_sender **out)
{
	struct link_info local, peer;
	struct frame_sender *s;
	int one = 1, err;

	err = link_info_get(peer_ns, peer_ifname, &peer);
	if (err == 0)
		err = link_info_get(ns, ifname, &local);
	if (err < 0)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* Protocol 0: it receives nothing. The kernel writes the Ethernet header. */
	s->fd = netns_socket(ns, AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = s->fd;
		goto out_free;
	}
	if (setsockopt(s->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
		err = -errno;
		goto out_close;
	}
	s->to = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_ifindex = local.ifindex,
				      .sll_halen = ETH_ALEN };
	memcpy(s->to.sll_addr, peer.mac, ETH_ALEN);
	*out = s;
	return 0;

out_close:
	close(s->fd);
out_free:
	free(s);
	return err;
}

int frame_sender_send(struct frame_sender *s, const uint8_t *ip, size_t len)
{
	if (len < 1 || ((ip[0] >> 4) != 4 && (ip[0] >> 4) != 6))
		return -EINVAL;
	s->to.sll_protocol = htons((ip[0] >> 4) == 4 ? ETH_P_IP : ETH_P_IPV6);
	for (int tries = 0; tries < FRAME_SEND_TRIES; tries++) {
		if (sendto(s->fd, ip, len, 0, (struct sockaddr *)&s->to, sizeof(s->to)) == (ssize_t)len)
			return 0;
		/* The device did not take it (a full queue): again, a bounded number of times. */
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -ENOBUFS;
}

void frame_sender_close(struct frame_sender *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}
