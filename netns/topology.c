// SPDX-License-Identifier: GPL-2.0
/* Topologies: each kind is a table of hosts, veth pairs and routes; one builder makes them all. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "netns/netns.h"

#define TOPOLOGY_MAX_HOSTS	4
#define TOPOLOGY_MAX_VETHS	4
#define TOPOLOGY_MAX_ROUTES	8
#define TOPOLOGY_MAX_SYSCTLS	12

/* Long enough for a veth behind a busy scheduler; normally it takes well under 10 ms. */
#define TOPOLOGY_READY_TIMEOUT_MS	5000

struct iface_spec {
	const char *ifname;
	const char *cidr4;	/* from 198.18.0.0/15 only */
	const char *cidr6;	/* from 2001:db8::/32 only */
};

struct host_spec {
	const char *name;
	size_t iface_count;
	struct iface_spec ifaces[HOST_IFACES_MAX];
};

struct veth_spec {
	size_t a, b;		/* host indexes */
	const char *a_ifname, *b_ifname;
};

/* A route to add, or a path that must go via a gateway before the topology is ready. */
struct route_spec {
	size_t host;
	const char *dst;	/* "default" or a cidr; an address for a path */
	const char *gateway;
};

struct sysctl_spec {
	size_t host;
	const char *key, *value;
};

struct topology_spec {
	const char *name;
	size_t host_count, veth_count, route_count, path_count, sysctl_count;
	struct host_spec hosts[TOPOLOGY_MAX_HOSTS];
	struct veth_spec veths[TOPOLOGY_MAX_VETHS];
	struct route_spec routes[TOPOLOGY_MAX_ROUTES];
	struct route_spec paths[TOPOLOGY_MAX_ROUTES];
	struct sysctl_spec sysctls[TOPOLOGY_MAX_SYSCTLS];
	size_t link_sysctl_count;
	struct sysctl_spec link_sysctls[TOPOLOGY_MAX_SYSCTLS];	/* once the veths exist */
	const char *service4, *service6;	/* on no interface; NULL: none */
};

/*
 * Forwarding is set on every host, not left at the namespace's default:
 * IPv4's is copied from the host namespace, where it is often on.
 */
#define END_HOST_SYSCTLS(host)						\
	{ host, "net.ipv4.ip_forward", "0" },				\
	{ host, "net.ipv6.conf.all.forwarding", "0" }

static const struct topology_spec topology_specs[TOPOLOGY_KIND_COUNT] = {
	[TOPOLOGY_PAIR] = {
		.name = "pair",
		.host_count = 2,
		.hosts = {
			{ "client", 1, { { "eth0", "198.18.0.1/24", "2001:db8::1/64" } } },
			{ "server", 1, { { "eth0", "198.18.0.2/24", "2001:db8::2/64" } } },
		},
		.veth_count = 1,
		.veths = { { 0, 1, "eth0", "eth0" } },
		.sysctl_count = 4,
		.sysctls = { END_HOST_SYSCTLS(0), END_HOST_SYSCTLS(1) },
	},
	[TOPOLOGY_ROUTED] = {
		.name = "routed",
		.host_count = 3,
		.hosts = {
			{ "client", 1, { { "eth0", "198.18.0.1/24", "2001:db8:1::1/64" } } },
			{ "router", 2, {
				{ "eth0", "198.18.0.254/24", "2001:db8:1::fe/64" },
				{ "eth1", "198.19.0.254/24", "2001:db8:2::fe/64" },
			} },
			{ "server", 1, { { "eth0", "198.19.0.2/24", "2001:db8:2::2/64" } } },
		},
		.veth_count = 2,
		.veths = {
			{ 0, 1, "eth0", "eth0" },
			{ 1, 2, "eth1", "eth0" },
		},
		.route_count = 6,
		.routes = {
			{ 0, "default", "198.18.0.254" },
			{ 0, "default", "2001:db8:1::fe" },
			{ 2, "default", "198.19.0.254" },
			{ 2, "default", "2001:db8:2::fe" },
			/* Flood sources live behind the client, as many clients behind a NAT would. */
			{ 1, TOPOLOGY_FLOOD_SRC4, "198.18.0.1" },
			{ 1, TOPOLOGY_FLOOD_SRC6, "2001:db8:1::1" },
		},
		.path_count = 6,
		.paths = {
			{ 0, "198.19.0.2", "198.18.0.254" },
			{ 0, "2001:db8:2::2", "2001:db8:1::fe" },
			{ 0, "198.18.100.1", "198.18.0.254" },
			{ 0, "2001:db8:100::1", "2001:db8:1::fe" },
			{ 2, "198.18.0.1", "198.19.0.254" },
			{ 2, "2001:db8:1::1", "2001:db8:2::fe" },
		},
		.sysctl_count = 8,
		.sysctls = {
			END_HOST_SYSCTLS(0),
			{ 1, "net.ipv4.ip_forward", "1" },
			{ 1, "net.ipv6.conf.all.forwarding", "1" },
			/*
			 * Off whatever the namespace started with: a
			 * reverse-path check costs a FIB lookup per flood
			 * packet, and a source outside every route must still
			 * reach conntrack. The maximum of all and the
			 * interface's value applies, so eth0's is set too.
			 */
			{ 1, "net.ipv4.conf.all.rp_filter", "0" },
			{ 1, "net.ipv4.conf.default.rp_filter", "0" },
			END_HOST_SYSCTLS(2),
		},
		.link_sysctl_count = 1,
		.link_sysctls = { { 1, "net.ipv4.conf.eth0.rp_filter", "0" } },
		/* Like a ClusterIP: in the client's range, routed by its default route. */
		.service4 = "198.18.100.1",
		.service6 = "2001:db8:100::1",
	},
};

/* Set in every namespace before its first veth exists, so the veth inherits them. */
static const char *const host_sysctls[][2] = {
	{ "net.ipv6.conf.all.accept_dad", "0" },
	{ "net.ipv6.conf.default.accept_dad", "0" },
};

struct topology {
	enum topology_kind kind;
	size_t host_count;
	struct host hosts[TOPOLOGY_MAX_HOSTS];
	bool has_service;
	struct host_iface service;
};

const char *topology_kind_name(enum topology_kind kind)
{
	if ((unsigned int)kind >= TOPOLOGY_KIND_COUNT)
		return NULL;
	return topology_specs[kind].name;
}

int topology_kind_parse(const char *name, enum topology_kind *kind)
{
	unsigned int i;

	if (!name || !kind)
		return -EINVAL;
	for (i = 0; i < TOPOLOGY_KIND_COUNT; i++) {
		if (strcmp(name, topology_specs[i].name) == 0) {
			*kind = (enum topology_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Copies the address part of @cidr as text and binary. */
static int host_set_addr(const char *cidr, int family, char *text, size_t size, void *binary)
{
	const char *slash = strchr(cidr, '/');
	size_t len = slash ? (size_t)(slash - cidr) : strlen(cidr);

	if (len >= size)
		return -EINVAL;
	memcpy(text, cidr, len);
	text[len] = '\0';
	return inet_pton(family, text, binary) == 1 ? 0 : -EINVAL;
}

static int iface_set_addrs(struct host_iface *iface, const char *ifname, const char *cidr4, const char *cidr6)
{
	int err;

	iface->ifname = ifname;
	err = host_set_addr(cidr4, AF_INET, iface->addr4, sizeof(iface->addr4), &iface->in4);
	if (err < 0)
		return err;
	return host_set_addr(cidr6, AF_INET6, iface->addr6, sizeof(iface->addr6), &iface->in6);
}

static int host_set_ifaces(struct host *host, const struct host_spec *hs)
{
	size_t i;
	int err;

	for (i = 0; i < hs->iface_count; i++) {
		const struct iface_spec *is = &hs->ifaces[i];

		err = iface_set_addrs(&host->ifaces[i], is->ifname, is->cidr4, is->cidr6);
		if (err < 0)
			return err;
	}
	host->iface_count = hs->iface_count;
	host->ifname = host->ifaces[0].ifname;
	memcpy(host->addr4, host->ifaces[0].addr4, sizeof(host->addr4));
	host->in4 = host->ifaces[0].in4;
	memcpy(host->addr6, host->ifaces[0].addr6, sizeof(host->addr6));
	host->in6 = host->ifaces[0].in6;
	return 0;
}

static int topology_make_hosts(struct topology *t, const struct topology_spec *spec)
{
	size_t i, j;
	int err;

	for (i = 0; i < spec->host_count; i++) {
		const struct host_spec *hs = &spec->hosts[i];
		struct host *host = &t->hosts[i];

		host->name = hs->name;
		err = host_set_ifaces(host, hs);
		if (err < 0)
			return err;
		host->ns = netns_new(hs->name);
		if (!host->ns)
			return -errno;
		t->host_count = i + 1;
		for (j = 0; j < sizeof(host_sysctls) / sizeof(host_sysctls[0]); j++) {
			err = netns_sysctl_write(host->ns, host_sysctls[j][0], host_sysctls[j][1]);
			if (err < 0)
				return err;
		}
	}
	/* After all hosts and before the veths: the veths inherit them too. */
	for (i = 0; i < spec->sysctl_count; i++) {
		const struct sysctl_spec *ss = &spec->sysctls[i];

		err = netns_sysctl_write(t->hosts[ss->host].ns, ss->key, ss->value);
		if (err < 0)
			return err;
	}
	return 0;
}

static int topology_make_links(struct topology *t, const struct topology_spec *spec)
{
	size_t i;
	int err;

	for (i = 0; i < spec->veth_count; i++) {
		const struct veth_spec *vs = &spec->veths[i];

		err = netns_veth_add(t->hosts[vs->a].ns, vs->a_ifname, t->hosts[vs->b].ns, vs->b_ifname);
		if (err < 0)
			return err;
		err = netns_link_up(t->hosts[vs->a].ns, vs->a_ifname);
		if (err < 0)
			return err;
		err = netns_link_up(t->hosts[vs->b].ns, vs->b_ifname);
		if (err < 0)
			return err;
	}
	for (i = 0; i < spec->link_sysctl_count; i++) {
		const struct sysctl_spec *ss = &spec->link_sysctls[i];

		err = netns_sysctl_write(t->hosts[ss->host].ns, ss->key, ss->value);
		if (err < 0)
			return err;
	}
	return 0;
}

static int topology_add_addresses(struct topology *t, const struct topology_spec *spec)
{
	size_t i, j;
	int err;

	for (i = 0; i < spec->host_count; i++) {
		for (j = 0; j < spec->hosts[i].iface_count; j++) {
			const struct iface_spec *is = &spec->hosts[i].ifaces[j];

			err = netns_addr_add(t->hosts[i].ns, is->ifname, is->cidr4);
			if (err < 0)
				return err;
			err = netns_addr_add(t->hosts[i].ns, is->ifname, is->cidr6);
			if (err < 0)
				return err;
		}
	}
	for (i = 0; i < spec->route_count; i++) {
		const struct route_spec *rs = &spec->routes[i];

		err = netns_route_add(t->hosts[rs->host].ns, rs->dst, rs->gateway);
		if (err < 0)
			return err;
	}
	return 0;
}

/*
 * Every veth has carrier, its queue attached and its IPv6 link-local
 * address. Addresses go on only after this: an IPv6 address added while the
 * kernel is still handling the carrier change may wait seconds for its local
 * route (seen on 6.18). The router's neighbour solicitations for forwarded
 * packets come from the link-local address.
 */
static int topology_wait_links(struct topology *t, const struct topology_spec *spec)
{
	size_t i;
	int err;

	for (i = 0; i < spec->veth_count; i++) {
		const struct veth_spec *vs = &spec->veths[i];

		err = netns_link_wait_running(t->hosts[vs->a].ns, vs->a_ifname, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
		err = netns_link_wait_running(t->hosts[vs->b].ns, vs->b_ifname, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
		err = netns_link_wait_link_local(t->hosts[vs->a].ns, vs->a_ifname, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
		err = netns_link_wait_link_local(t->hosts[vs->b].ns, vs->b_ifname, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
	}
	return 0;
}

/*
 * Every address is local: IPv6 ones get their local route and
 * solicited-node group from a work queue, a moment after they were added.
 * After this the first packet of a connection is not lost.
 */
static int topology_wait_addresses(struct topology *t)
{
	size_t i, j;
	int err;

	for (i = 0; i < t->host_count; i++) {
		for (j = 0; j < t->hosts[i].iface_count; j++) {
			const struct host_iface *iface = &t->hosts[i].ifaces[j];

			err = netns_addr_wait_local(t->hosts[i].ns, iface->addr4, TOPOLOGY_READY_TIMEOUT_MS);
			if (err < 0)
				return err;
			err = netns_addr_wait_local(t->hosts[i].ns, iface->addr6, TOPOLOGY_READY_TIMEOUT_MS);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

/* Packets between the hosts (and to the service address) take the router. */
static int topology_wait_paths(struct topology *t, const struct topology_spec *spec)
{
	size_t i;
	int err;

	for (i = 0; i < spec->path_count; i++) {
		const struct route_spec *ps = &spec->paths[i];

		err = netns_route_wait_gateway(t->hosts[ps->host].ns, ps->dst, ps->gateway, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
	}
	return 0;
}

struct topology *topology_new(enum topology_kind kind)
{
	const struct topology_spec *spec;
	struct topology *t;
	int err;

	if ((unsigned int)kind >= TOPOLOGY_KIND_COUNT) {
		errno = EINVAL;
		return NULL;
	}
	spec = &topology_specs[kind];
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->kind = kind;
	if (spec->service4) {
		err = iface_set_addrs(&t->service, NULL, spec->service4, spec->service6);
		if (err < 0)
			goto out_free_topology;
		t->has_service = true;
	}
	err = topology_make_hosts(t, spec);
	if (err < 0)
		goto out_free_topology;
	err = topology_make_links(t, spec);
	if (err < 0)
		goto out_free_topology;
	err = topology_wait_links(t, spec);
	if (err < 0)
		goto out_free_topology;
	err = topology_add_addresses(t, spec);
	if (err < 0)
		goto out_free_topology;
	err = topology_wait_addresses(t);
	if (err < 0)
		goto out_free_topology;
	err = topology_wait_paths(t, spec);
	if (err < 0)
		goto out_free_topology;
	return t;

out_free_topology:
	/* Freeing the namespaces takes their veths, addresses and routes with them. */
	topology_free(t);
	errno = -err;
	return NULL;
}

void topology_free(struct topology *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->host_count; i++)
		netns_free(t->hosts[i].ns);
	free(t);
}

enum topology_kind topology_kind_of(const struct topology *t)
{
	return t->kind;
}

struct host *topology_host(struct topology *t, const char *name)
{
	size_t i;

	for (i = 0; name && i < t->host_count; i++)
		if (strcmp(t->hosts[i].name, name) == 0)
			return &t->hosts[i];
	return NULL;
}

size_t topology_host_count(const struct topology *t)
{
	return t->host_count;
}

struct host *topology_host_at(struct topology *t, size_t i)
{
	return i < t->host_count ? &t->hosts[i] : NULL;
}

size_t topology_link_count(const struct topology *t)
{
	return topology_specs[t->kind].veth_count;
}

int topology_link_at(const struct topology *t, size_t i, struct topology_link *link)
{
	const struct topology_spec *spec = &topology_specs[t->kind];

	if (i >= spec->veth_count)
		return -ERANGE;
	*link = (struct topology_link){
		.a = spec->hosts[spec->veths[i].a].name, .a_ifname = spec->veths[i].a_ifname,
		.b = spec->hosts[spec->veths[i].b].name, .b_ifname = spec->veths[i].b_ifname,
	};
	return 0;
}

const struct host_iface *topology_service(const struct topology *t)
{
	return t->has_service ? &t->service : NULL;
}
