/* sock — kernel sockets inside namespaces: real TCP endpoints and raw injection. */
#ifndef CTLAB_SOCK_H
#define CTLAB_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns.h"
#include "packet.h"

/* What a TCP socket's kernel state says right now. */
struct tcp_live {
	uint32_t snd_nxt;	/* next sequence number it will send (write_seq) */
	uint32_t rcv_nxt;	/* next sequence number it expects */
	uint32_t rcv_wnd;	/* its receive window, bytes */
	uint32_t snd_wnd;	/* the peer's window as it last saw it, bytes */
	uint8_t rcv_wscale;	/* shift applied to the window field it sends */
	uint16_t local_port;
	uint16_t remote_port;	/* 0 once the connection has ended */
};

/* A listening TCP socket bound to addr:port inside ns.  fd or -errno. */
int sock_listen(struct netns *ns, int family, const union inet_addr *addr, uint16_t port);

/*
 * A TCP connection from ns (source address src, kernel-chosen port, put in
 * *local_port unless NULL, also when the handshake fails) to dst:port, with
 * the handshake completed within timeout_ms.  fd or -errno (-ETIMEDOUT,
 * -ECONNREFUSED…).
 */
int sock_connect(struct netns *ns, int family, const union inet_addr *src,
		 const union inet_addr *dst, uint16_t port, int timeout_ms, uint16_t *local_port);

/* Accept the next connection within timeout_ms.  fd or -errno. */
int sock_accept(int listen_fd, int timeout_ms);

/*
 * Read a TCP socket's sequence numbers and windows through TCP_REPAIR (also
 * after its connection ended, as long as the fd is open),
 * leaving repair mode without the window probe TCP_REPAIR_OFF would send.
 * 0 or -errno.
 */
int sock_tcp_live(int fd, struct tcp_live *live);

/*
 * A connected pair of UDP sockets: the client's in client_ns bound to client_addr
 * and connected to server_addr:port, the server's in server_ns bound to
 * server_addr:port and connected back to the client's address and port.
 * 0 or -errno; on error nothing is left open.
 */
int sock_udp_pair(struct netns *client_ns, struct netns *server_ns, int family,
		  const union inet_addr *client_addr, const union inet_addr *server_addr,
		  uint16_t port, int *client_fd, int *server_fd);

/* Write len bytes of the payload pattern (one datagram on UDP), waiting at most
 * timeout_ms in all for room in the send buffer.  0 or -errno (-ETIMEDOUT when
 * the peer does not read and the buffers are full, -EMSGSIZE …). */
int sock_write(int fd, size_t len, int timeout_ms);

/* Read until len bytes came, waiting at most timeout_ms in all.  0, or -errno
 * (-ECONNRESET, -ETIMEDOUT, -EPIPE for end of stream before len bytes). */
int sock_read(int fd, size_t len, int timeout_ms);

/* close(); with abort, SO_LINGER 0 first so that the kernel sends a RST. */
int sock_close(int fd, bool abort);

/* The TCP state tcp_info reports (TCP_ESTABLISHED…), or -errno. */
int sock_tcp_state(int fd);

/* Wait, bounded, until the socket is in TCP state `state`.  0 or -ETIMEDOUT. */
int sock_wait_tcp_state(int fd, int state, int timeout_ms);

/* The socket's pending error (SO_ERROR, cleared by reading it), 0 if none. */
int sock_pending_error(int fd);

/* A raw socket inside ns that sends whole IP packets (header included).  fd or -errno. */
int sock_raw_open(struct netns *ns, int family);

/* Send a packet built by packet_build_*; its destination is read from it.  0 or -errno. */
int sock_raw_send(int fd, const uint8_t *packet, size_t len);

#endif
