/* netns: throwaway network namespaces held by fds, and the topologies ctlab builds from them. */
#ifndef CTLAB_NETNS_H
#define CTLAB_NETNS_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/*
 * A network namespace kept alive only by an open fd, so the kernel frees it
 * (with its links, addresses and conntrack entries) when ctlab exits for any
 * reason. Sockets made inside it hold it too, until they are closed.
 */
struct netns;

/*
 * netns_new - make a new network namespace called @name (a label for
 * messages and netns_keep, not a /run/netns entry), with lo up.
 * Returns the namespace, or NULL with errno set (EINVAL for an empty
 * @name, EPERM without CAP_SYS_ADMIN, ENOMEM, or from unshare/netlink).
 */
struct netns *netns_new(const char *name);

/*
 * netns_open - hold the network namespace someone else made that @path
 * names (/run/netns/NAME, /proc/PID/ns/net), called @name; netns_free lets
 * go of it, and it lives on. Returns it, or NULL with errno set (ENOENT,
 * EACCES, ENOTSUP: @path is not a network namespace, EINVAL, ENOMEM).
 */
struct netns *netns_open(const char *path, const char *name);

/*
 * netns_free - close the namespace's fd; once no socket made in it is
 * open either, the kernel frees it and everything in it. NULL is a no-op.
 */
void netns_free(struct netns *ns);

/* netns_name - the name given to netns_new. */
const char *netns_name(const struct netns *ns);

/* netns_fd - the fd that holds the namespace (for setns); owned by @ns. */
int netns_fd(const struct netns *ns);

/*
 * netns_run - call @fn(@arg) in a new thread that has setns()'d into @ns,
 * and wait for it. Returns what @fn returned, or -errno if the thread could
 * not be created or could not enter @ns. Whatever @fn opens (sockets,
 * netlink, pcap handles) stays bound to @ns afterwards.
 */
int netns_run(struct netns *ns, int (*fn)(void *arg), void *arg);

/*
 * netns_socket - socket(@domain, @type, @protocol) made inside @ns; it
 * stays in @ns for its whole life. Returns the fd, or -errno.
 */
int netns_socket(struct netns *ns, int domain, int type, int protocol);

struct mnl_socket;

/*
 * netns_nfnl_open - a netfilter netlink socket (NETLINK_NETFILTER) made
 * inside @ns and bound with an automatic port id, in *@nl; close it with
 * mnl_socket_close(). Returns 0 or -errno.
 */
int netns_nfnl_open(struct netns *ns, struct mnl_socket **nl);

struct nlmsghdr;

/*
 * netns_nfnl_put - a netfilter netlink request written at @where (enough
 * room for its headers): message @type (subsystem << 8 | message),
 * NLM_F_REQUEST | @flags, @seq, then its nfgenmsg for @family (AF_UNSPEC,
 * NFPROTO_*) and resource id @res_id (host order). Returns the message;
 * attributes are added with mnl_attr_put_*().
 */
struct nlmsghdr *netns_nfnl_put(void *where, uint16_t type, uint16_t flags, uint8_t family,
				uint16_t res_id, uint32_t seq);

/*
 * netns_sysctl_write - write @value to sysctl @key inside @ns. @key is
 * dotted ("net.netfilter.nf_conntrack_tcp_be_liberal") or, when a
 * component holds a dot itself (an interface "eth0.5"), slashed
 * ("net/ipv4/conf/eth0.5/rp_filter"). Returns 0 or -errno (ENOENT: no
 * such key here; EACCES: read-only or global-only inside a child).
 */
int netns_sysctl_write(struct netns *ns, const char *key, const char *value);

/*
 * netns_sysctl_read - read sysctl @key of @ns into @buf (NUL-terminated,
 * trailing newline stripped). Returns the length, or -errno (EOVERFLOW
 * if it does not fit in @size).
 */
int netns_sysctl_read(struct netns *ns, const char *key, char *buf, size_t size);

/*
 * netns_read_file - read the whole file @path from a thread inside @ns
 * into @buf, NUL-terminated; use /proc/thread-self/net/..., not
 * /proc/net (which shows the main thread's namespace). Returns the number
 * of bytes read, or -errno (EOVERFLOW if it does not fit in @size - 1).
 */
int netns_read_file(struct netns *ns, const char *path, char *buf, size_t size);

/*
 * netns_veth_add - make a veth pair @a_ifname in @a <-> @b_ifname in @b.
 * It is created from inside @a with the peer placed straight into @b, so
 * no link ever exists in the host namespace. Both ends start down.
 * Returns 0 or -errno (EEXIST: a name is taken).
 */
int netns_veth_add(struct netns *a, const char *a_ifname, struct netns *b, const char *b_ifname);

/* netns_link_up - set @ifname in @ns up. Returns 0 or -errno (ENODEV). */
int netns_link_up(struct netns *ns, const char *ifname);

/* netns_link_set_mtu - set @ifname's MTU in @ns. Returns 0 or -errno. */
int netns_link_set_mtu(struct netns *ns, const char *ifname, unsigned mtu);
/* netns_link_noarp - no ARP or neighbour discovery on @ifname: frames out of
 * it go to its own MAC address. 0 or -errno. */
int netns_link_noarp(struct netns *ns, const char *ifname);

/*
 * netns_link_steer_rx - have what @ifname in @ns receives processed on CPU
 * @cpu (0..63; receive packet steering of its first queue, through a sysfs
 * of @ns's own): a sender on another CPU then shares the work of its packets.
 * Returns 0 or -errno (ENOENT: a kernel without RPS; ENOSYS: before 5.2).
 */
int netns_link_steer_rx(struct netns *ns, const char *ifname, int cpu);

/* What a netem qdisc does to the packets a device sends.  Fractions are the
 * kernel's fixed point: UINT32_MAX is every packet. */
struct netem_spec {
	uint32_t delay_us;
	uint32_t loss;			/* dropped */
	uint32_t reorder;		/* sent at once, ahead of the delayed ones */
};

/*
 * netns_link_set_netem - make @ifname's root qdisc in @ns a netem doing
 * @spec.  Returns 0, -ENOENT when the kernel has no netem (sch_netem not
 * built or loadable), or another -errno.
 */
int netns_link_set_netem(struct netns *ns, const char *ifname, const struct netem_spec *spec);

/* netns_link_clear_qdisc - give @ifname in @ns its default root qdisc back.
 * Returns 0 or -errno. */
int netns_link_clear_qdisc(struct netns *ns, const char *ifname);

/*
 * netns_link_wait_running - wait until @ifname in @ns can send: carrier on
 * (IFF_LOWER_UP) and a real queue attached, so the first packet is not
 * dropped; not operstate UP, which comes later on kernels before 6.7. At most
 * @timeout_ms. Returns 0 or -errno (ETIMEDOUT, ENODEV).
 */
int netns_link_wait_running(struct netns *ns, const char *ifname, int timeout_ms);

/*
 * netns_link_wait_link_local - wait until @ifname in @ns has an IPv6
 * link-local address that is no longer tentative, at most @timeout_ms.
 * The kernel makes it in a work queue once the link runs. A router
 * solicits neighbours for the packets it forwards from that address, and
 * until it has one sends no solicitation at all: the packet waits for the
 * retransmission a second later. Returns 0 or -errno (ETIMEDOUT, ENODEV).
 */
int netns_link_wait_link_local(struct netns *ns, const char *ifname, int timeout_ms);

/*
 * netns_addr_add - add @cidr ("198.18.0.1/24", "2001:db8::1/64") to
 * @ifname in @ns. IPv6 addresses get IFA_F_NODAD so they are not
 * tentative. Add them once netns_link_wait_running has returned: an IPv6
 * address added while the kernel still handles the carrier change can wait
 * seconds for its local route. Returns 0 or -errno (EINVAL: bad @cidr,
 * ENODEV, EEXIST).
 */
int netns_addr_add(struct netns *ns, const char *ifname, const char *cidr);

/*
 * netns_addr_wait_local - wait until @addr (no prefix) is a local
 * address of @ns that packets can be delivered to, at most @timeout_ms.
 * IPv6 addresses become so a moment after netns_addr_add returns (the
 * kernel finishes them in a work queue). Returns 0 or -errno (EINVAL,
 * ETIMEDOUT).
 */
int netns_addr_wait_local(struct netns *ns, const char *addr, int timeout_ms);

/*
 * netns_route_add - add a route to @dst_cidr ("198.19.0.0/24", or
 * "default") via @gateway in @ns; the family is the gateway's. Returns 0
 * or -errno (EINVAL: bad or mixed-family addresses; ENETUNREACH (IPv4) or
 * EHOSTUNREACH (IPv6): gateway not on a connected network; EEXIST).
 */
int netns_route_add(struct netns *ns, const char *dst_cidr, const char *gateway);

/*
 * netns_route_dev_add - add a route to @dst_cidr ("default" too) of @family
 * out of @ifname: via @gateway taken as on the link (onlink) whatever the
 * addresses, or with @gateway NULL straight to the destination (scope link).
 * Returns 0 or -errno (EEXIST, ENODEV).
 */
int netns_route_dev_add(struct netns *ns, const char *dst_cidr, int family, const char *ifname,
			const char *gateway);

/*
 * netns_route_get - look up the route @ns takes to @dst (an address, no
 * prefix), as `ip route get` does. The gateway is written to @gateway as
 * text, "" when @dst is local or on a connected network; @gateway may be
 * NULL. Returns the route type (RTN_UNICAST, RTN_LOCAL, RTN_UNREACHABLE,
 * ...), or -errno (EINVAL: bad @dst; ENETUNREACH: no route; EOVERFLOW:
 * the gateway does not fit in @size).
 */
int netns_route_get(struct netns *ns, const char *dst, char *gateway, size_t size);

/*
 * netns_route_wait_gateway - wait until @ns routes packets to @dst via
 * @gateway (a unicast route through it), at most @timeout_ms. Returns 0
 * or -errno (EINVAL: bad or mixed-family addresses; ETIMEDOUT).
 */
int netns_route_wait_gateway(struct netns *ns, const char *dst, const char *gateway, int timeout_ms);

/*
 * netns_nft_load - run the nft script @ruleset inside @ns with
 * libnftables. On failure nft's error text goes to @err (NUL-terminated,
 * truncated to @errsize; may be NULL), naming the ruleset's own line
 * ("ruleset line 4:16-25: Error: …", that line, carets). Returns 0,
 * -EINVAL if nft rejected the ruleset, or another -errno (ENOMEM, thread
 * errors).
 */
int netns_nft_load(struct netns *ns, const char *ruleset, char *err, size_t errsize);

/* netns_nft_check - the same as a dry run (nft -c): parsed and evaluated
 * against @ns, nothing changed. */
int netns_nft_check(struct netns *ns, const char *ruleset, char *err, size_t errsize);

/*
 * netns_nft_queue_compat - append to @chain of the ip (@family AF_INET) or ip6
 * table @table in @ns a rule that queues every packet to NFQUEUE @queue,
 * through nft_compat and xtables' NFQUEUE target: for kernels whose nft has
 * no queue expression. Returns 0 or -errno (ENOENT: no such target either).
 */
int netns_nft_queue_compat(struct netns *ns, int family, const char *table, const char *chain,
			   uint16_t queue);

/*
 * netns_nft_counter - the named counter @name (an nft `counter NAME { }`
 * object of any table in @ns), as `nft list counters` shows it. Returns 0,
 * -ENOENT if no table has one, or another -errno.
 */
int netns_nft_counter(struct netns *ns, const char *name, uint64_t *packets, uint64_t *bytes);

/*
 * netns_keep - bind-mount @ns at @path (e.g. /run/netns/ctlab-<pid>-client)
 * so `ip netns exec` can enter it after ctlab exits. Creates the parent
 * directory (one level, e.g. /run/netns) if missing. Returns 0 or -errno
 * (EEXIST: @path exists).
 */
int netns_keep(struct netns *ns, const char *path);

/*
 * netns_unkeep - undo netns_keep: unmount and remove @path (also a leftover
 * file that is no longer mounted). Returns 0 or -errno (ENOENT); the parent
 * directory stays.
 */
int netns_unkeep(const char *path);

/* Topologies: named sets of namespaces joined by veth pairs. */

enum topology_kind {
	TOPOLOGY_PAIR,		/* client eth0 <-> server eth0 */
	TOPOLOGY_ROUTED,	/* client eth0 <-> eth0 router eth1 <-> server eth0 */
	TOPOLOGY_KIND_COUNT
};

/* Most interfaces a host of any topology has (the router: two). */
#define HOST_IFACES_MAX	2

/* One interface of a host with its addresses. */
struct host_iface {
	const char *ifname;		/* "eth0"; NULL for a service address */
	char addr4[INET_ADDRSTRLEN];	/* "198.18.0.1" */
	struct in_addr in4;
	char addr6[INET6_ADDRSTRLEN];	/* "2001:db8::1" */
	struct in6_addr in6;
};

/*
 * One namespace of a topology with its veths and addresses. The fields
 * from ifname to in6 repeat ifaces[0], the host's first interface (the
 * router's eth0), for code that knows only one.
 */
struct host {
	const char *name;		/* "client", "router", "server" */
	struct netns *ns;
	const char *ifname;		/* its veth, e.g. "eth0" */
	char addr4[INET_ADDRSTRLEN];	/* "198.18.0.1" */
	struct in_addr in4;
	char addr6[INET6_ADDRSTRLEN];	/* "2001:db8::1" */
	struct in6_addr in6;
	size_t iface_count;
	struct host_iface ifaces[HOST_IFACES_MAX];
};

struct topology;

/*
 * Flood sources of the routed topology: the router routes them back via
 * the client (and checks no reverse path), so a client may send from any
 * address in them, e.g. to fill the router's conntrack table.
 */
#define TOPOLOGY_FLOOD_SRC4	"198.18.128.0/17"
#define TOPOLOGY_FLOOD_SRC6	"2001:db8:3::/48"

/*
 * topology_new - build a topology of @kind: namespaces, veths up, IPv4
 * and IPv6 addresses (198.18.0.0/15, 2001:db8::/32), DAD off, routes, and
 * forwarding on in the router only. When it returns, ARP and neighbour
 * discovery work at once: a connect() between any two hosts, through the
 * router too, succeeds without a retransmission. Returns the topology,
 * or NULL with errno set; on failure nothing is left behind.
 */
struct topology *topology_new(enum topology_kind kind);

/* topology_free - free every namespace of @t (NULL is a no-op). */
void topology_free(struct topology *t);

/* topology_kind_of - the kind @t was built as. */
enum topology_kind topology_kind_of(const struct topology *t);

/* topology_host - the host called @name, or NULL if there is none. */
struct host *topology_host(struct topology *t, const char *name);

/* topology_host_count - how many hosts @t has. */
size_t topology_host_count(const struct topology *t);

/* topology_host_at - host @i (0-based, in build order), NULL if out of range. */
struct host *topology_host_at(struct topology *t, size_t i);

/* One veth of a topology: host a's interface a_ifname to host b's b_ifname. */
struct topology_link {
	const char *a, *a_ifname, *b, *b_ifname;
};

/* topology_link_count - how many veths @t has. */
size_t topology_link_count(const struct topology *t);

/* topology_link_at - veth @i (0-based, in build order) into @link: 0, or
 * -ERANGE when there is none. */
int topology_link_at(const struct topology *t, size_t i, struct topology_link *link);

/*
 * topology_service - the service address of @t: an IPv4 and an IPv6
 * address on no interface (ifname is NULL) that the client routes to the
 * router, for a scenario to DNAT there as kube-proxy does with a
 * ClusterIP. Without such a rule the router has no route for it and
 * answers ICMP network unreachable. NULL when @t has none (pair).
 */
const struct host_iface *topology_service(const struct topology *t);

/* topology_kind_name - "pair", "routed"; NULL for an unknown kind. */
const char *topology_kind_name(enum topology_kind kind);

/* topology_kind_parse - the kind called @name (exact). Returns 0 or -EINVAL. */
int topology_kind_parse(const char *name, enum topology_kind *kind);

#endif /* CTLAB_NETNS_H */
