// SPDX-License-Identifier: GPL-2.0
/* Topologies: each kind is a table of hosts, veth pairs and routes; one builder makes them all. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netns.h"

#define TOPOLOGY_MAX_HOSTS	4
#define TOPOLOGY_MAX_VETHS	4
#define TOPOLOGY_MAX_ROUTES	8

/* Long enough for a veth behind a busy scheduler; normally it takes well under 10 ms. */
#define TOPOLOGY_READY_TIMEOUT_MS	5000

struct host_spec {
	const char *name;
	const char *ifname;	/* the veth its addresses go on */
	const char *cidr4;	/* from 198.18.0.0/15 only */
	const char *cidr6;	/* from 2001:db8::/32 only */
};

struct veth_spec {
	size_t a, b;		/* host indexes */
	const char *a_ifname, *b_ifname;
};

struct route_spec {
	size_t host;
	const char *dst;	/* "default" or a cidr */
	const char *gateway;
};

struct topology_spec {
	const char *name;
	size_t host_count, veth_count, route_count;
	struct host_spec hosts[TOPOLOGY_MAX_HOSTS];
	struct veth_spec veths[TOPOLOGY_MAX_VETHS];
	struct route_spec routes[TOPOLOGY_MAX_ROUTES];
};

static const struct topology_spec topology_specs[TOPOLOGY_KIND_COUNT] = {
	[TOPOLOGY_PAIR] = {
		.name = "pair",
		.host_count = 2,
		.hosts = {
			{ "client", "eth0", "198.18.0.1/24", "2001:db8::1/64" },
			{ "server", "eth0", "198.18.0.2/24", "2001:db8::2/64" },
		},
		.veth_count = 1,
		.veths = { { 0, 1, "eth0", "eth0" } },
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

static int topology_make_hosts(struct topology *t, const struct topology_spec *spec)
{
	size_t i, j;
	int err;

	for (i = 0; i < spec->host_count; i++) {
		const struct host_spec *hs = &spec->hosts[i];
		struct host *host = &t->hosts[i];

		host->name = hs->name;
		host->ifname = hs->ifname;
		err = host_set_addr(hs->cidr4, AF_INET, host->addr4, sizeof(host->addr4), &host->in4);
		if (err < 0)
			return err;
		err = host_set_addr(hs->cidr6, AF_INET6, host->addr6, sizeof(host->addr6), &host->in6);
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
	return 0;
}

static int topology_add_addresses(struct topology *t, const struct topology_spec *spec)
{
	size_t i;
	int err;

	for (i = 0; i < spec->host_count; i++) {
		err = netns_addr_add(t->hosts[i].ns, spec->hosts[i].ifname, spec->hosts[i].cidr4);
		if (err < 0)
			return err;
		err = netns_addr_add(t->hosts[i].ns, spec->hosts[i].ifname, spec->hosts[i].cidr6);
		if (err < 0)
			return err;
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
 * Every veth has carrier and its queue attached. Addresses go on only after
 * this: an IPv6 address added while the kernel is still handling the carrier
 * change may wait seconds for its local route (seen on 6.18).
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
	size_t i;
	int err;

	for (i = 0; i < t->host_count; i++) {
		err = netns_addr_wait_local(t->hosts[i].ns, t->hosts[i].addr4, TOPOLOGY_READY_TIMEOUT_MS);
		if (err < 0)
			return err;
		err = netns_addr_wait_local(t->hosts[i].ns, t->hosts[i].addr6, TOPOLOGY_READY_TIMEOUT_MS);
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
