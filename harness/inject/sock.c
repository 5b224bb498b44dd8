#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inject/inject.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

static socklen_t make_sockaddr(int family, const union inet_addr *addr, uint16_t port,
			       struct sockaddr_storage *storage)
{
	memset(storage, 0, sizeof(*storage));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)storage;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = addr->v4;
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)storage;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = addr->v6;
		return sizeof(*sin6);
	}
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* Before bind and listen or connect: what the handshake announces depends on them. */
static int set_options(int fd, const struct sock_options *options)
{
	int on = 1;

	if (!options)
		return 0;
	if (options->maxseg &&
	    setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &options->maxseg, sizeof(options->maxseg)) < 0)
		return -errno;
	if (options->rcvbuf &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options->rcvbuf, sizeof(options->rcvbuf)) < 0)
		return -errno;
	if (options->nodelay && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

int sock_listen(struct netns *ns, int family, const union inet_addr *addr, uint16_t port,
		int backlog, const struct sock_options *options)
{
	struct sockaddr_storage storage;
	socklen_t len = make_sockaddr(family, addr, port, &storage);
	int fd, one = 1, rc;

	fd = netns_socket(ns, family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	rc = set_options(fd, options);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&storage, len) < 0 || listen(fd, backlog > 0 ? backlog : 64) < 0)
		goto out_close;
	return fd;

out_close:
	rc = -errno;
	close(fd);
	return rc;
}

int sock_connect(struct netns *ns, int family, const union inet_addr *src, uint16_t sport,
		 const union inet_addr *dst, uint16_t port, int timeout_ms,
		 const struct sock_options *options, uint16_t *local_port)
{
	struct sockaddr_storage storage;
	socklen_t len;
	int fd, rc, error = 0, on = 1;
	socklen_t error_len = sizeof(error);

	fd = netns_socket(ns, family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd < 0)
		return fd;
	/* A chosen port may still be in TIME_WAIT from an earlier connection. */
	if (sport && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto out_errno;
	rc = set_options(fd, options);
	if (rc < 0)
		goto out_close;
	len = make_sockaddr(family, src, sport, &storage);
	if (bind(fd, (struct sockaddr *)&storage, len) < 0)
		goto out_errno;
	/* The port is chosen by bind: known even if the handshake then fails. */
	if (local_port) {
		len = sizeof(storage);
		if (getsockname(fd, (struct sockaddr *)&storage, &len) == 0)
			*local_port = ntohs(family == AF_INET6 ?
					    ((struct sockaddr_in6 *)&storage)->sin6_port :
					    ((struct sockaddr_in *)&storage)->sin_port);
	}
	len = make_sockaddr(family, dst, port, &storage);
	if (connect(fd, (struct sockaddr *)&storage, len) < 0 && errno != EINPROGRESS)
		goto out_errno;
	if (timeout_ms < 0) {
		/* The handshake goes on in the kernel, whatever the fd's mode. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return fd;
	}
	rc = wait_fd(fd, POLLOUT, timeout_ms);
	if (rc < 0)
		goto out_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0)
		goto out_errno;
	if (error) {
		rc = -error;
		goto out_close;
	}
	/* Blocking from here on: later reads and writes are bounded by poll. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;

out_errno:
	rc = -errno;
out_close:
	close(fd);
	return rc;
}

int sock_accept(int listen_fd, int timeout_ms)
{
	int rc = wait_fd(listen_fd, POLLIN, timeout_ms);

	if (rc < 0)
		return rc;
	rc = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	return rc < 0 ? -errno : rc;
}

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0)
		return -errno;
	if (getsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq, &len) < 0)
		return -errno;
	return 0;
}

int sock_tcp_tsval(int fd, uint32_t *tsval)
{
	socklen_t len = sizeof(*tsval);

	if (getsockopt(fd, SOL_TCP, TCP_TIMESTAMP, tsval, &len) < 0)
		return -errno;
	return 0;
}

int sock_tcp_live(int fd, struct tcp_live *live)
{
	struct tcp_repair_window window;
	struct tcp_info info;
	socklen_t info_len = sizeof(info);
	struct sockaddr_storage local, remote;
	socklen_t len = sizeof(window), local_len = sizeof(local), remote_len = sizeof(remote);
	int on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF_NO_WP, rc;

	if (getsockname(fd, (struct sockaddr *)&local, &local_len) < 0)
		return -errno;
	/* Both port fields sit at the same offset in sockaddr_in and sockaddr_in6.
	 * A socket whose connection ended has no peer, but its numbers remain. */
	live->local_port = ntohs(((struct sockaddr_in *)&local)->sin_port);
	live->remote_port = 0;
	if (getpeername(fd, (struct sockaddr *)&remote, &remote_len) == 0)
		live->remote_port = ntohs(((struct sockaddr_in *)&remote)->sin_port);
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &info_len) < 0)
		return -errno;
	live->rcv_wscale = info.tcpi_rcv_wscale;

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
		return -errno;
	rc = queue_seq(fd, TCP_SEND_QUEUE, &live->snd_nxt);
	if (rc < 0)
		goto out_repair_off;
	rc = queue_seq(fd, TCP_RECV_QUEUE, &live->rcv_nxt);
	if (rc < 0)
		goto out_repair_off;
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &window, &len) < 0) {
		rc = -errno;
		goto out_repair_off;
	}
	live->rcv_wnd = window.rcv_wnd;
	live->snd_wnd = window.snd_wnd;

out_repair_off:
	/* TCP_REPAIR_OFF would send a window probe, an extra ACK on the wire. */
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int sock_udp_pair(struct netns *client_ns, struct netns *server_ns, int family,
		  const union inet_addr *client_addr, const union inet_addr *server_addr,
		  uint16_t port, int *client_fd, int *server_fd)
{
	struct sockaddr_storage storage;
	union inet_addr any;
	socklen_t len;
	int client, server, rc;

	server = netns_socket(server_ns, family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (server < 0)
		return server;
	client = netns_socket(client_ns, family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (client < 0) {
		rc = client;
		goto out_close_server;
	}
	/* The server's end listens on the port, on every address: behind DNAT
	 * the client dialed an address the server does not have. */
	memset(&any, 0, sizeof(any));
	len = make_sockaddr(family, &any, port, &storage);
	if (bind(server, (struct sockaddr *)&storage, len) < 0)
		goto out_errno;
	len = make_sockaddr(family, server_addr, port, &storage);
	if (connect(client, (struct sockaddr *)&storage, len) < 0)
		goto out_errno;
	(void)client_addr;
	*client_fd = client;
	*server_fd = server;
	return 0;

out_errno:
	rc = -errno;
	close(client);
out_close_server:
	close(server);
	return rc;
}

int sock_udp_connect(int fd, int family, const union inet_addr *addr, uint16_t port)
{
	struct sockaddr_storage storage;
	socklen_t len = make_sockaddr(family, addr, port, &storage);

	return connect(fd, (struct sockaddr *)&storage, len) < 0 ? -errno : 0;
}

/* A UDP socket bound but not connected: a server's end before its first datagram. */
static bool udp_unconnected(int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int type = 0;
	socklen_t type_len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_DGRAM &&
	       getpeername(fd, (struct sockaddr *)&peer, &len) < 0 && errno == ENOTCONN;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

int sock_write(int fd, size_t len, int timeout_ms)
{
	uint8_t buf[65536];	/* the largest datagram */
	struct timespec start;
	size_t i, done = 0;
	int type = 0, rc;
	socklen_t type_len = sizeof(type);
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0)
		return -errno;
	/* A datagram goes whole; a stream in pieces as room comes. */
	if (len > sizeof(buf) && type == SOCK_DGRAM)
		return -EMSGSIZE;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = packet_payload_byte(i);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (done < len) {
		size_t chunk = len - done < sizeof(buf) ? len - done : sizeof(buf);
		long left;

		n = send(fd, buf, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		left = timeout_ms - elapsed_ms(&start);
		rc = wait_fd(fd, POLLOUT, left > 0 ? (int)left : 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sock_read(int fd, size_t len, int timeout_ms)
{
	uint8_t buf[4096];
	struct timespec start;
	size_t done = 0;
	ssize_t n;
	long left;
	bool learn_peer = udp_unconnected(fd);
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (done < len) {
		left = timeout_ms - elapsed_ms(&start);
		rc = wait_fd(fd, POLLIN, left > 0 ? (int)left : 0);
		if (rc < 0)
			return rc;
		/* No more than asked: what is left unread is part of some stories
		 * (close() with unread data sends a RST). */
		if (learn_peer) {
			struct sockaddr_storage from;
			socklen_t from_len = sizeof(from);

			/* The first datagram names the peer (after any NAT): the
			 * socket answers it, and takes only it from now on. */
			n = recvfrom(fd, buf, len - done < sizeof(buf) ? len - done : sizeof(buf),
				     MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
			if (n >= 0) {
				if (connect(fd, (struct sockaddr *)&from, from_len) < 0)
					return -errno;
				learn_peer = false;
			}
		} else {
			n = recv(fd, buf, len - done < sizeof(buf) ? len - done : sizeof(buf),
				 MSG_DONTWAIT);
		}
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (n > 0)
			done += (size_t)n;
	}
	return 0;
}

int sock_close(int fd, bool abort)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };

	if (abort && setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

int sock_tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &info, &len) < 0)
		return -errno;
	return info.tcpi_state;
}

int sock_wait_tcp_state(int fd, int state, int timeout_ms)
{
	struct timespec start, tick = { 0, 200000 };

	/* No event says "the state changed": poll it, as kselftest's busywait. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int now = sock_tcp_state(fd);

		if (now == state)
			return 0;
		if (now < 0)
			return now;
		if (elapsed_ms(&start) >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

int sock_pending_error(int fd)
{
	int error = 0;
	socklen_t len = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
		return errno;
	return error;
}

int sock_raw_open(struct netns *ns, int family)
{
	int fd, one = 1, rc;

	fd = netns_socket(ns, family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return fd;
	/* IPPROTO_RAW implies IP_HDRINCL for IPv4; IPv6 has to be asked. */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int sock_raw_send(int fd, const uint8_t *packet, size_t len)
{
	struct sockaddr_storage storage;
	union inet_addr dst;
	socklen_t addr_len;
	int family;

	if (len < 20)
		return -EINVAL;
	if (packet[0] >> 4 == 4) {
		family = AF_INET;
		memcpy(&dst.v4, packet + 16, sizeof(dst.v4));
	} else if (packet[0] >> 4 == 6 && len >= 40) {
		family = AF_INET6;
		memcpy(&dst.v6, packet + 24, sizeof(dst.v6));
	} else {
		return -EINVAL;
	}
	addr_len = make_sockaddr(family, &dst, 0, &storage);
	if (sendto(fd, packet, len, 0, (struct sockaddr *)&storage, addr_len) < 0)
		return -errno;
	return 0;
}
