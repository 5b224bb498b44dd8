// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of netns/: namespaces, sysctls, veth, addresses, routes, nft and
 * the pair and routed topologies, on the real kernel. Tests that need root are skipped with a
 * "# SKIP" line (exit 0) when not root or when a kernel feature is missing.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/errqueue.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "netns/netns.h"
#include "privileged.h"

#ifndef FD_NSFS_ROOT
#define FD_NSFS_ROOT	-10003	/* open_by_handle_at() on namespaces, Linux 6.18 */
#endif

#define WAIT_MS		5000
#define TEST_PORT	8080

/* Helpers */

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static ino_t fd_inode(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_ino;
}

static ino_t path_inode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

/* 1 if the calling thread is in the namespace whose inode is *@arg. */
static int thread_in_ns(void *arg)
{
	return path_inode("/proc/thread-self/ns/net") == *(ino_t *)arg;
}

struct ns_handle {
	struct file_handle fh;
	unsigned char bytes[64];
};

/* A handle that names the namespace without holding it; 0 or -errno. */
static int ns_handle_get(int ns_fd, struct ns_handle *handle)
{
	int mount_id, fd;

	handle->fh.handle_bytes = sizeof(handle->bytes);
	if (name_to_handle_at(ns_fd, "", &handle->fh, &mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	fd = open_by_handle_at(FD_NSFS_ROOT, &handle->fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;	/* kernel before 6.18: no way to look it up */
	close(fd);
	return 0;
}

/* Busy-waits (bounded) until the kernel no longer finds the namespace. */
static void ns_handle_wait_gone(struct ns_handle *handle)
{
	long long deadline = now_us() + WAIT_MS * 1000LL;
	int fd;

	for (;;) {
		fd = open_by_handle_at(FD_NSFS_ROOT, &handle->fh, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		close(fd);
		ck_assert_msg(now_us() < deadline, "namespace still alive %d ms after its fd was closed", WAIT_MS);
		sched_yield();
	}
	ck_assert_msg(errno == ESTALE || errno == ENOENT, "open_by_handle_at: %s", strerror(errno));
}

/* A NETLINK_ROUTE socket inside @ns subscribed to link events. */
static int link_events_open(struct netns *ns)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd;

	fd = netns_socket(ns, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&local, sizeof(local)), 0);
	return fd;
}

/* Waits for RTM_DELLINK of each of @ifnames (at most 4) on @events, at most WAIT_MS. */
static void link_events_wait_del(int events, const char *const *ifnames, size_t count)
{
	long long deadline = now_us() + WAIT_MS * 1000LL;
	int seen[4] = { 0 };
	size_t i, left_links = count;
	char buf[16384];

	ck_assert_uint_le(count, 4);
	while (left_links > 0) {
		struct pollfd pfd = { .fd = events, .events = POLLIN };
		long long left = (deadline - now_us()) / 1000;
		struct nlmsghdr *nlh;
		ssize_t n;

		ck_assert_msg(left > 0, "no RTM_DELLINK for %zu of %zu links", left_links, count);
		ck_assert_int_ge(poll(&pfd, 1, (int)left), 0);
		n = recv(events, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nlh);
			struct rtattr *rta = IFLA_RTA(ifi);
			int len = IFLA_PAYLOAD(nlh);

			if (nlh->nlmsg_type != RTM_DELLINK)
				continue;
			for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
				if (rta->rta_type != IFLA_IFNAME)
					continue;
				for (i = 0; i < count; i++) {
					if (!seen[i] && strcmp(RTA_DATA(rta), ifnames[i]) == 0) {
						seen[i] = 1;
						left_links--;
					}
				}
			}
		}
	}
}

/* Unprivileged: topology kind names */

START_TEST(test_kind_names)
{
	enum topology_kind kind = TOPOLOGY_KIND_COUNT;

	ck_assert_str_eq(topology_kind_name(TOPOLOGY_PAIR), "pair");
	ck_assert_int_eq(topology_kind_parse("pair", &kind), 0);
	ck_assert_int_eq(kind, TOPOLOGY_PAIR);
	ck_assert_int_eq(topology_kind_parse("Pair", &kind), -EINVAL);
	ck_assert_int_eq(topology_kind_parse("pai", &kind), -EINVAL);
	ck_assert_str_eq(topology_kind_name(TOPOLOGY_ROUTED), "routed");
	ck_assert_int_eq(topology_kind_parse("routed", &kind), 0);
	ck_assert_int_eq(kind, TOPOLOGY_ROUTED);
	ck_assert_int_eq(topology_kind_parse("route", &kind), -EINVAL);
	ck_assert_int_eq(topology_kind_parse("", &kind), -EINVAL);
	ck_assert_int_eq(topology_kind_parse(NULL, &kind), -EINVAL);
	ck_assert_ptr_null(topology_kind_name(TOPOLOGY_KIND_COUNT));
}
END_TEST

START_TEST(test_new_rejects_bad_args)
{
	errno = 0;
	ck_assert_ptr_null(netns_new(""));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(topology_new(TOPOLOGY_KIND_COUNT));
	ck_assert_int_eq(errno, EINVAL);
	netns_free(NULL);
	topology_free(NULL);
}
END_TEST

/* Privileged: namespaces */

START_TEST(test_new_free)
{
	char before[4096], during[4096], after[4096];
	struct ifreq ifr = { .ifr_name = "lo" };
	struct netns *a, *b;
	struct ns_handle handle_a, handle_b;
	int events, err_a, err_b, sock;
	ino_t host_ino;

	host_links(before, sizeof(before));
	host_ino = path_inode("/proc/thread-self/ns/net");
	a = netns_new("a");
	b = netns_new("b");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(netns_name(a), "a");
	ck_assert_uint_ne(fd_inode(netns_fd(a)), host_ino);
	ck_assert_uint_ne(fd_inode(netns_fd(a)), fd_inode(netns_fd(b)));
	/* lo is up in a fresh namespace. */
	sock = netns_socket(a, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(ioctl(sock, SIOCGIFFLAGS, &ifr), 0);
	ck_assert(ifr.ifr_flags & IFF_UP);
	close(sock);
	ck_assert_int_eq(netns_veth_add(a, "a0", b, "b0"), 0);
	host_links(during, sizeof(during));
	ck_assert_str_eq(during, before);

	err_a = ns_handle_get(netns_fd(a), &handle_a);
	err_b = ns_handle_get(netns_fd(b), &handle_b);
	/* b's socket keeps b alive and watches a's end of the veth go. */
	events = link_events_open(b);
	netns_free(a);
	link_events_wait_del(events, (const char *const[]){ "b0" }, 1);
	if (err_a == 0)
		ns_handle_wait_gone(&handle_a);
	close(events);
	netns_free(b);
	if (err_b == 0)
		ns_handle_wait_gone(&handle_b);
	else
		printf("# no nsfs file handles (%s): checked by the veth going away only\n", strerror(-err_b));
	host_links(after, sizeof(after));
	ck_assert_str_eq(after, before);
}
END_TEST

static int return_42(void *arg)
{
	(void)arg;
	return 42;
}

START_TEST(test_run_and_socket_inside)
{
	struct netns *ns;
	int sock, sock_ns, host_sock, host_sock_ns;
	ino_t ns_ino;

	ns = netns_new("inside");
	ck_assert_ptr_nonnull(ns);
	ns_ino = fd_inode(netns_fd(ns));
	ck_assert_int_eq(netns_run(ns, return_42, NULL), 42);
	ck_assert_int_eq(netns_run(ns, thread_in_ns, &ns_ino), 1);
	/* The calling thread never moved. */
	ck_assert_uint_ne(path_inode("/proc/thread-self/ns/net"), ns_ino);

	sock = netns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	sock_ns = ioctl(sock, SIOCGSKNS);
	ck_assert_int_ge(sock_ns, 0);
	ck_assert_uint_eq(fd_inode(sock_ns), ns_ino);
	host_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	host_sock_ns = ioctl(host_sock, SIOCGSKNS);
	ck_assert_uint_ne(fd_inode(host_sock_ns), ns_ino);
	close(host_sock_ns);
	close(host_sock);
	close(sock_ns);
	close(sock);

	ck_assert_int_eq(netns_socket(ns, AF_INET, 12345, 0), -EINVAL);
	ck_assert_int_eq(netns_run(NULL, return_42, NULL), -EINVAL);
	netns_free(ns);
}
END_TEST

START_TEST(test_read_file_inside)
{
	struct netns *ns;
	char buf[8192], tiny[8];
	int len;

	ns = netns_new("files");
	ck_assert_ptr_nonnull(ns);
	len = netns_read_file(ns, "/proc/thread-self/net/dev", buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq((int)strlen(buf), len);
	ck_assert_ptr_nonnull(strstr(buf, "lo:"));
	/* The host has eth0; a fresh namespace has only lo. */
	ck_assert_ptr_null(strstr(buf, "eth0"));
	ck_assert_int_eq(netns_read_file(ns, "/proc/thread-self/net/dev", tiny, sizeof(tiny)), -EOVERFLOW);
	ck_assert_int_eq(netns_read_file(ns, "/proc/thread-self/net/no-such-file", buf, sizeof(buf)), -ENOENT);
	netns_free(ns);
}
END_TEST

/* Writes a value other than the host's to @key in a child and checks the host kept its own. */
static void check_sysctl_child_only(struct netns *ns, const char *key, const char *host_path)
{
	char host_before[64], host_after[64], child[64], other[64];
	FILE *f;

	f = fopen(host_path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(host_before, sizeof(host_before), f));
	fclose(f);
	host_before[strcspn(host_before, "\n")] = '\0';
	snprintf(other, sizeof(other), "%d", atoi(host_before) == 1 ? 2 : 1);

	ck_assert_int_eq(netns_sysctl_write(ns, key, other), 0);
	ck_assert_int_eq(netns_sysctl_read(ns, key, child, sizeof(child)), (int)strlen(other));
	ck_assert_str_eq(child, other);

	f = fopen(host_path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(host_after, sizeof(host_after), f));
	fclose(f);
	host_after[strcspn(host_after, "\n")] = '\0';
	ck_assert_str_eq(host_after, host_before);
}

START_TEST(test_sysctl_child_only)
{
	struct netns *ns;
	char buf[64];

	ns = netns_new("sysctl");
	ck_assert_ptr_nonnull(ns);
	check_sysctl_child_only(ns, "net.ipv4.tcp_syn_retries", "/proc/sys/net/ipv4/tcp_syn_retries");
	check_sysctl_child_only(ns, "net/ipv6/conf/lo/accept_dad", "/proc/sys/net/ipv6/conf/lo/accept_dad");
	if (access("/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal", F_OK) == 0) {
		check_sysctl_child_only(ns, "net.netfilter.nf_conntrack_tcp_be_liberal",
					"/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal");
		/* Global only: read-only inside a child namespace. */
		ck_assert_int_gt(netns_sysctl_read(ns, "net.netfilter.nf_conntrack_max", buf, sizeof(buf)), 0);
		ck_assert_int_eq(netns_sysctl_write(ns, "net.netfilter.nf_conntrack_max", buf), -EACCES);
	}
	ck_assert_int_eq(netns_sysctl_read(ns, "net.ipv4.no_such_key", buf, sizeof(buf)), -ENOENT);
	ck_assert_int_eq(netns_sysctl_write(ns, "net.ipv4.no_such_key", "1"), -ENOENT);
	ck_assert_int_eq(netns_sysctl_write(ns, "../../etc/passwd", "1"), -EINVAL);
	ck_assert_int_eq(netns_sysctl_write(ns, "", "1"), -EINVAL);
	/* Only net. keys, resolved beneath the namespace's /proc/sys/net: the
	 * host-wide kernel., vm., fs. files are out of reach by any spelling. */
	{
		static const char *const outside[] = {
			"kernel.printk_ratelimit_burst", "./kernel/printk_ratelimit_burst",
			"kernel/printk_ratelimit_burst", "net/../kernel/printk_ratelimit_burst",
			"net.ipv4..tcp_syn_retries", "net/ipv4/./tcp_syn_retries", "net.",
			"net/ipv4//tcp_syn_retries", "/proc/sys/kernel/printk_ratelimit_burst",
			"net/ipv4/tcp_syn_retries/", "net.ipv4.tcp syn", "vm.swappiness",
		};
		char before[64], after[64];

		ck_assert_int_gt(netns_read_file(ns, "/proc/sys/kernel/printk_ratelimit_burst",
						 before, sizeof(before)), 0);
		for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
			ck_assert_msg(netns_sysctl_write(ns, outside[i], "15") == -EINVAL, "%s", outside[i]);
			ck_assert_msg(netns_sysctl_read(ns, outside[i], buf, sizeof(buf)) == -EINVAL,
				      "%s", outside[i]);
		}
		ck_assert_int_gt(netns_read_file(ns, "/proc/sys/kernel/printk_ratelimit_burst",
						 after, sizeof(after)), 0);
		ck_assert_str_eq(after, before);
	}
	netns_free(ns);
}
END_TEST

START_TEST(test_link_errors)
{
	struct netns *a, *b;

	a = netns_new("a");
	b = netns_new("b");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(netns_link_up(a, "nosuch0"), -ENODEV);
	ck_assert_int_eq(netns_addr_add(a, "nosuch0", "198.18.0.1/24"), -ENODEV);
	ck_assert_int_eq(netns_veth_add(a, "v0", b, "v1"), 0);
	ck_assert_int_eq(netns_veth_add(a, "v0", b, "v2"), -EEXIST);
	ck_assert_int_eq(netns_veth_add(a, "v3", b, "v1"), -EEXIST);
	ck_assert_int_eq(netns_addr_add(a, "v0", "not-an-address"), -EINVAL);
	ck_assert_int_eq(netns_addr_add(a, "v0", "198.18.0.1/24"), 0);
	ck_assert_int_eq(netns_addr_add(a, "v0", "198.18.0.1/24"), -EEXIST);
	ck_assert_int_eq(netns_route_add(a, "default", "198.19.0.9"), -ENETUNREACH);
	ck_assert_int_eq(netns_route_add(a, "default", "2001:db8::9"), -EHOSTUNREACH);
	ck_assert_int_eq(netns_route_add(a, "2001:db8:1::/64", "198.18.0.9"), -EINVAL);
	/* v0 is down and its peer too: it never runs. */
	ck_assert_int_eq(netns_link_wait_running(a, "v0", 10), -ETIMEDOUT);
	ck_assert_int_eq(netns_link_wait_running(a, "nosuch0", 10), -ENODEV);
	netns_free(a);
	netns_free(b);
}
END_TEST

static const char good_ruleset[] =
	"table inet ctlab_test {\n"
	"	chain prerouting {\n"
	"		type filter hook prerouting priority -150; policy accept;\n"
	"		ct state invalid counter\n"
	"	}\n"
	"}\n";

START_TEST(test_nft_load)
{
	char err[1024];
	struct netns *ns, *other;

	ns = netns_new("nft");
	other = netns_new("other");
	ck_assert_ptr_nonnull(ns);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(netns_nft_load(ns, good_ruleset, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	/* It is there in ns (delete succeeds once) and nowhere else. */
	ck_assert_int_eq(netns_nft_load(other, "delete table inet ctlab_test", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(netns_nft_load(ns, "delete table inet ctlab_test", err, sizeof(err)), 0);
	ck_assert_int_eq(netns_nft_load(ns, "delete table inet ctlab_test", err, sizeof(err)), -EINVAL);

	ck_assert_int_eq(netns_nft_load(ns, "table inet broken { chain c { frobnicate; } }", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "Error") && strstr(err, "frobnicate"), "nft error text: '%s'", err);
	ck_assert_int_eq(netns_nft_load(ns, "table inet broken { chain c { frobnicate; } }", NULL, 0), -EINVAL);
	/* The error names the ruleset's own line and shows that line, not line 1. */
	ck_assert_int_eq(netns_nft_load(ns, "table inet t {\n chain c {\n  tcp dport 80 frobnicate\n }\n}",
					err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, "ruleset line 3:", 15) == 0 && strstr(err, "\n  tcp dport 80 frobnicate\n") &&
		      !strstr(err, "/proc/self/fd"), "nft error text: '%s'", err);
	/* A dry run checks and changes nothing. */
	ck_assert_int_eq(netns_nft_check(ns, good_ruleset, err, sizeof(err)), 0);
	ck_assert_int_eq(netns_nft_load(ns, "delete table inet ctlab_test", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(netns_nft_check(ns, "table inet t { chain c { frobnicate; } }", err, sizeof(err)), -EINVAL);
	netns_free(other);
	netns_free(ns);
}
END_TEST

START_TEST(test_keep)
{
	char path[128], dir_path[] = "/run/netns";
	struct netns *ns;
	struct stat st;

	ns = netns_new("kept");
	ck_assert_ptr_nonnull(ns);
	/* A private mount namespace and /run: nothing can stay behind on the host. */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
	snprintf(path, sizeof(path), "%s/ctlab-%d-client", dir_path, (int)getpid());
	ck_assert_int_eq(netns_keep(ns, path), 0);
	ck_assert_int_eq(stat(dir_path, &st), 0);
	ck_assert_uint_eq(path_inode(path), fd_inode(netns_fd(ns)));
	ck_assert_int_eq(netns_keep(ns, path), -EEXIST);
	ck_assert_int_eq(netns_unkeep(path), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(netns_unkeep(path), -ENOENT);
	netns_free(ns);
}
END_TEST

/* Privileged: the pair topology */

START_TEST(test_pair_hosts)
{
	struct topology *t;
	struct host *client, *server;
	char buf[64];

	t = topology_new(TOPOLOGY_PAIR);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(topology_kind_of(t), TOPOLOGY_PAIR);
	ck_assert_uint_eq(topology_host_count(t), 2);
	client = topology_host(t, "client");
	server = topology_host(t, "server");
	ck_assert_ptr_eq(topology_host_at(t, 0), client);
	ck_assert_ptr_eq(topology_host_at(t, 1), server);
	ck_assert_ptr_null(topology_host_at(t, 2));
	ck_assert_ptr_null(topology_host(t, "router"));
	ck_assert_str_eq(client->ifname, "eth0");
	ck_assert_str_eq(netns_name(client->ns), "client");
	ck_assert_str_eq(client->addr4, "198.18.0.1");
	ck_assert_str_eq(server->addr4, "198.18.0.2");
	ck_assert_str_eq(client->addr6, "2001:db8::1");
	ck_assert_str_eq(server->addr6, "2001:db8::2");
	ck_assert_uint_eq(client->in4.s_addr, htonl(0xc6120001));
	ck_assert_uint_eq(server->in6.s6_addr[15], 2);
	ck_assert_int_eq(netns_sysctl_read(server->ns, "net.ipv6.conf.eth0.accept_dad", buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "0");
	ck_assert_uint_eq(client->iface_count, 1);
	ck_assert_str_eq(client->ifaces[0].ifname, "eth0");
	ck_assert_str_eq(client->ifaces[0].addr4, client->addr4);
	ck_assert_str_eq(server->ifaces[0].addr6, server->addr6);
	ck_assert_ptr_null(topology_service(t));
	topology_free(t);
}
END_TEST

struct tcp_peer {
	struct sockaddr_storage addr;
	socklen_t len;
};

static void peer_of(const struct host *host, int family, struct tcp_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&peer->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(TEST_PORT);
		sin->sin_addr = host->in4;
		peer->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(TEST_PORT);
		sin6->sin6_addr = host->in6;
		peer->len = sizeof(*sin6);
	}
}

static int same_addr(const struct sockaddr_storage *addr, const struct host *host)
{
	if (addr->ss_family == AF_INET)
		return ((const struct sockaddr_in *)addr)->sin_addr.s_addr == host->in4.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)addr)->sin6_addr, &host->in6, sizeof(host->in6)) == 0;
}

/*
 * Connects client -> server right after the topology is built and
 * requires it done well inside the first SYN or ARP/ND retransmission
 * (1 s): nothing may be lost while the links or addresses settle. The
 * server must see the client's own address (no NAT on the way). Returns
 * how long the connect took, in microseconds.
 */
static long long tcp_connect_us(struct topology *t, int family)
{
	struct host *client = topology_host(t, "client"), *server = topology_host(t, "server");
	struct tcp_peer server_addr, client_addr;
	struct sockaddr_storage seen;
	socklen_t len, seen_len = sizeof(seen);
	struct pollfd pfd;
	struct tcp_info info;
	int listener, conn, accepted, so_error, one = 1;
	long long start, elapsed_us;
	char buf[16];

	peer_of(server, family, &server_addr);
	peer_of(client, family, &client_addr);
	listener = netns_socket(server->ns, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&server_addr.addr, server_addr.len), 0);
	ck_assert_int_eq(listen(listener, 1), 0);

	conn = netns_socket(client->ns, family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(conn, 0);
	/* The server's address is not local in the client: the client address is its own. */
	ck_assert_int_eq(bind(conn, (struct sockaddr *)&server_addr.addr, server_addr.len), -1);
	ck_assert_int_eq(errno, EADDRNOTAVAIL);
	start = now_us();
	ck_assert_int_eq(connect(conn, (struct sockaddr *)&server_addr.addr, server_addr.len), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	pfd = (struct pollfd){ .fd = conn, .events = POLLOUT };
	ck_assert_int_eq(poll(&pfd, 1, 900), 1);
	elapsed_us = now_us() - start;
	len = sizeof(so_error);
	ck_assert_int_eq(getsockopt(conn, SOL_SOCKET, SO_ERROR, &so_error, &len), 0);
	ck_assert_msg(so_error == 0, "connect: %s", strerror(so_error));
	len = sizeof(info);
	ck_assert_int_eq(getsockopt(conn, IPPROTO_TCP, TCP_INFO, &info, &len), 0);
	ck_assert_uint_eq(info.tcpi_total_retrans, 0);

	accepted = accept4(listener, (struct sockaddr *)&seen, &seen_len, SOCK_CLOEXEC);
	ck_assert_int_ge(accepted, 0);
	ck_assert_int_eq(seen.ss_family, family);
	ck_assert_msg(same_addr(&seen, client), "the server sees another address than the client's");
	ck_assert_int_eq(send(conn, "ping", 4, 0), 4);
	ck_assert_int_eq(recv(accepted, buf, sizeof(buf), 0), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	close(accepted);
	close(conn);
	close(listener);
	return elapsed_us;
}

static void check_tcp_connect(struct topology *t, int family)
{
	long long elapsed_us = tcp_connect_us(t, family);

	printf("# %s %s connect client -> server: %lld us\n", topology_kind_name(topology_kind_of(t)),
	       family == AF_INET ? "IPv4" : "IPv6", elapsed_us);
}

START_TEST(test_pair_tcp_ipv4)
{
	struct topology *t = topology_new(TOPOLOGY_PAIR);

	ck_assert_ptr_nonnull(t);
	check_tcp_connect(t, AF_INET);
	topology_free(t);
}
END_TEST

START_TEST(test_pair_tcp_ipv6)
{
	struct topology *t = topology_new(TOPOLOGY_PAIR);

	ck_assert_ptr_nonnull(t);
	check_tcp_connect(t, AF_INET6);
	check_tcp_connect(t, AF_INET);
	topology_free(t);
}
END_TEST

START_TEST(test_pair_route_and_nft)
{
	struct topology *t = topology_new(TOPOLOGY_PAIR);
	struct host *client;
	char err[512];

	ck_assert_ptr_nonnull(t);
	client = topology_host(t, "client");
	ck_assert_int_eq(netns_route_add(client->ns, "default", "198.18.0.2"), 0);
	ck_assert_int_eq(netns_route_add(client->ns, "default", "2001:db8::2"), 0);
	ck_assert_int_eq(netns_route_add(client->ns, "198.19.0.0/24", "198.18.0.2"), 0);
	ck_assert_int_eq(netns_route_add(client->ns, "198.19.0.0/24", "198.18.0.2"), -EEXIST);
	ck_assert_int_eq(netns_nft_load(topology_host(t, "server")->ns, good_ruleset, err, sizeof(err)), 0);
	check_tcp_connect(t, AF_INET6);
	topology_free(t);
}
END_TEST

/*
 * Frees a topology of @kind while a socket in host @watcher outlives it and
 * sees @ifnames, its veths, go with their peers' namespaces; then every
 * namespace is gone and the host namespace has the links it had.
 */
static void check_free_removes_everything(enum topology_kind kind, const char *watcher,
					  const char *const *ifnames, size_t ifname_count)
{
	char before[4096], during[4096], after[4096];
	struct ns_handle handles[4];
	struct topology *t;
	int events, have_handles = 1;
	size_t i, count, watcher_at = 0;

	host_links(before, sizeof(before));
	t = topology_new(kind);
	ck_assert_ptr_nonnull(t);
	host_links(during, sizeof(during));
	ck_assert_str_eq(during, before);
	count = topology_host_count(t);
	ck_assert_uint_le(count, 4);
	for (i = 0; i < count; i++) {
		if (ns_handle_get(netns_fd(topology_host_at(t, i)->ns), &handles[i]) < 0)
			have_handles = 0;
		if (strcmp(topology_host_at(t, i)->name, watcher) == 0)
			watcher_at = i;
	}
	events = link_events_open(topology_host(t, watcher)->ns);
	topology_free(t);
	link_events_wait_del(events, ifnames, ifname_count);
	for (i = 0; have_handles && i < count; i++)
		if (i != watcher_at)
			ns_handle_wait_gone(&handles[i]);
	close(events);
	if (have_handles)
		ns_handle_wait_gone(&handles[watcher_at]);
	host_links(after, sizeof(after));
	ck_assert_str_eq(after, before);
}

START_TEST(test_pair_free_removes_everything)
{
	/* The server sees the client take the veth with it. */
	check_free_removes_everything(TOPOLOGY_PAIR, "server", (const char *const[]){ "eth0" }, 1);
}
END_TEST

/* Builds and frees the topology 20 times over and prints the average time. */
static void check_repeat(enum topology_kind kind)
{
	enum { rounds = 20 };
	long long start, total = 0;
	struct topology *t;
	int i;

	for (i = 0; i < rounds; i++) {
		start = now_us();
		t = topology_new(kind);
		ck_assert_msg(t != NULL, "round %d: %s", i, strerror(errno));
		topology_free(t);
		total += now_us() - start;
	}
	printf("# %s topology_new + topology_free: %.2f ms on average over %d\n",
	       topology_kind_name(kind), (double)total / rounds / 1000.0, rounds);
}

START_TEST(test_pair_repeat)
{
	check_repeat(TOPOLOGY_PAIR);
}
END_TEST

/* Privileged: the routed topology */

static void check_iface(const struct host_iface *iface, const char *ifname, const char *addr4, const char *addr6)
{
	struct in6_addr in6;
	struct in_addr in4;

	if (ifname)
		ck_assert_str_eq(iface->ifname, ifname);
	else
		ck_assert_ptr_null(iface->ifname);
	ck_assert_str_eq(iface->addr4, addr4);
	ck_assert_str_eq(iface->addr6, addr6);
	ck_assert_int_eq(inet_pton(AF_INET, addr4, &in4), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, addr6, &in6), 1);
	ck_assert_uint_eq(iface->in4.s_addr, in4.s_addr);
	ck_assert_int_eq(memcmp(&iface->in6, &in6, sizeof(in6)), 0);
}

/* The host's own fields repeat its first interface. */
static void check_first_iface(const struct host *host)
{
	ck_assert_str_eq(host->ifname, host->ifaces[0].ifname);
	ck_assert_str_eq(host->addr4, host->ifaces[0].addr4);
	ck_assert_str_eq(host->addr6, host->ifaces[0].addr6);
	ck_assert_uint_eq(host->in4.s_addr, host->ifaces[0].in4.s_addr);
	ck_assert_int_eq(memcmp(&host->in6, &host->ifaces[0].in6, sizeof(host->in6)), 0);
}

/* Asserts @ns routes @dst via @gateway ("": directly) as a route of @type. */
static void check_route(struct netns *ns, const char *dst, int type, const char *gateway)
{
	char via[INET6_ADDRSTRLEN];

	ck_assert_int_eq(netns_route_get(ns, dst, via, sizeof(via)), type);
	ck_assert_msg(strcmp(via, gateway) == 0, "%s: %s goes via '%s', not '%s'", netns_name(ns), dst, via, gateway);
}

START_TEST(test_routed_hosts)
{
	struct host *client, *router, *server;
	const struct host_iface *service;
	struct topology *t;

	t = topology_new(TOPOLOGY_ROUTED);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(topology_kind_of(t), TOPOLOGY_ROUTED);
	ck_assert_uint_eq(topology_host_count(t), 3);
	client = topology_host(t, "client");
	router = topology_host(t, "router");
	server = topology_host(t, "server");
	ck_assert_ptr_eq(topology_host_at(t, 0), client);
	ck_assert_ptr_eq(topology_host_at(t, 1), router);
	ck_assert_ptr_eq(topology_host_at(t, 2), server);
	ck_assert_ptr_null(topology_host_at(t, 3));
	ck_assert_str_eq(netns_name(router->ns), "router");

	ck_assert_uint_eq(client->iface_count, 1);
	check_iface(&client->ifaces[0], "eth0", "198.18.0.1", "2001:db8:1::1");
	ck_assert_uint_eq(router->iface_count, 2);
	check_iface(&router->ifaces[0], "eth0", "198.18.0.254", "2001:db8:1::fe");
	check_iface(&router->ifaces[1], "eth1", "198.19.0.254", "2001:db8:2::fe");
	ck_assert_uint_eq(server->iface_count, 1);
	check_iface(&server->ifaces[0], "eth0", "198.19.0.2", "2001:db8:2::2");
	check_first_iface(client);
	check_first_iface(router);
	check_first_iface(server);
	service = topology_service(t);
	ck_assert_ptr_nonnull(service);
	check_iface(service, NULL, "198.18.100.1", "2001:db8:100::1");

	/* Every address is local where it belongs, and the router's on the right veth. */
	check_route(router->ns, "198.19.0.254", RTN_LOCAL, "");
	check_route(router->ns, "2001:db8:1::fe", RTN_LOCAL, "");
	check_route(router->ns, "198.19.0.2", RTN_UNICAST, "");
	check_route(router->ns, "2001:db8:1::1", RTN_UNICAST, "");
	check_route(client->ns, "198.19.0.2", RTN_UNICAST, "198.18.0.254");
	check_route(client->ns, "2001:db8:2::2", RTN_UNICAST, "2001:db8:1::fe");
	check_route(server->ns, "198.18.0.1", RTN_UNICAST, "198.19.0.254");
	check_route(server->ns, "2001:db8:1::1", RTN_UNICAST, "2001:db8:2::fe");
	topology_free(t);
}
END_TEST

/* Reads a sysctl of the host namespace (this thread never left it). */
static void host_sysctl(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, (int)size, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void check_sysctl(struct netns *ns, const char *key, const char *value)
{
	char buf[64];

	ck_assert_int_ge(netns_sysctl_read(ns, key, buf, sizeof(buf)), 0);
	ck_assert_msg(strcmp(buf, value) == 0, "%s: %s is %s, not %s", netns_name(ns), key, buf, value);
}

START_TEST(test_routed_forwarding_in_router_only)
{
	static const char *const host_paths[] = {
		"/proc/sys/net/ipv4/ip_forward",
		"/proc/sys/net/ipv6/conf/all/forwarding",
		"/proc/sys/net/ipv6/conf/default/forwarding",
	};
	char before[3][64], after[3][64];
	struct topology *t;
	size_t i;

	for (i = 0; i < 3; i++)
		host_sysctl(host_paths[i], before[i], sizeof(before[i]));
	t = topology_new(TOPOLOGY_ROUTED);
	ck_assert_ptr_nonnull(t);
	for (i = 0; i < 3; i++) {
		host_sysctl(host_paths[i], after[i], sizeof(after[i]));
		ck_assert_str_eq(after[i], before[i]);
	}
	check_sysctl(topology_host(t, "router")->ns, "net.ipv4.ip_forward", "1");
	check_sysctl(topology_host(t, "router")->ns, "net.ipv6.conf.all.forwarding", "1");
	/* Each veth took it too: forwarding is decided on the incoming one. */
	check_sysctl(topology_host(t, "router")->ns, "net.ipv4.conf.eth0.forwarding", "1");
	check_sysctl(topology_host(t, "router")->ns, "net.ipv4.conf.eth1.forwarding", "1");
	check_sysctl(topology_host(t, "router")->ns, "net.ipv6.conf.eth0.forwarding", "1");
	check_sysctl(topology_host(t, "router")->ns, "net.ipv6.conf.eth1.forwarding", "1");
	check_sysctl(topology_host(t, "client")->ns, "net.ipv4.ip_forward", "0");
	check_sysctl(topology_host(t, "client")->ns, "net.ipv6.conf.all.forwarding", "0");
	check_sysctl(topology_host(t, "server")->ns, "net.ipv4.ip_forward", "0");
	check_sysctl(topology_host(t, "server")->ns, "net.ipv6.conf.eth0.forwarding", "0");
	topology_free(t);
}
END_TEST

START_TEST(test_routed_tcp_ipv4)
{
	struct topology *t = topology_new(TOPOLOGY_ROUTED);

	ck_assert_ptr_nonnull(t);
	check_tcp_connect(t, AF_INET);
	check_tcp_connect(t, AF_INET6);
	topology_free(t);
}
END_TEST

START_TEST(test_routed_tcp_ipv6)
{
	struct topology *t = topology_new(TOPOLOGY_ROUTED);

	ck_assert_ptr_nonnull(t);
	check_tcp_connect(t, AF_INET6);
	check_tcp_connect(t, AF_INET);
	topology_free(t);
}
END_TEST

/*
 * The IPv6 connect through the router right after topology_new, on a new
 * topology each round: the router's neighbour discovery towards the server
 * must work on its first try every time.
 */
START_TEST(test_routed_tcp_ipv6_every_time)
{
	enum { rounds = 50 };
	long long start, build_total = 0, connect_total = 0, connect_max = 0, elapsed;
	struct topology *t;
	int i;

	for (i = 0; i < rounds; i++) {
		start = now_us();
		t = topology_new(TOPOLOGY_ROUTED);
		ck_assert_msg(t != NULL, "round %d: %s", i, strerror(errno));
		build_total += now_us() - start;
		elapsed = tcp_connect_us(t, AF_INET6);
		connect_total += elapsed;
		if (elapsed > connect_max)
			connect_max = elapsed;
		topology_free(t);
	}
	printf("# routed IPv6 connect right after topology_new: %lld us on average, %lld us at most over %d (build %.2f ms)\n",
	       connect_total / rounds, connect_max, rounds, (double)build_total / rounds / 1000.0);
}
END_TEST

/*
 * Sends a UDP datagram from the client to the service address with no
 * DNAT rule: the router, which has no route for it, must answer ICMP
 * network unreachable, and the error queue names the router as its sender.
 * Not a TCP connect: an ICMP error that arrives while connect() still holds
 * the socket is only kept as a soft error, and the SYN's retransmission a
 * second later draws the one that ends it.
 */
static void check_service_unreachable(struct topology *t, int family)
{
	const struct host_iface *service = topology_service(t);
	const struct host *router = topology_host(t, "router");
	struct host dst = { .in4 = service->in4, .in6 = service->in6 };
	char control[512], payload[64];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
	const struct sock_extended_err *ee = NULL;
	struct tcp_peer service_addr;
	struct sockaddr_storage offender = { 0 };
	struct cmsghdr *cmsg;
	struct pollfd pfd;
	int sock, one = 1;

	peer_of(&dst, family, &service_addr);
	sock = netns_socket(topology_host(t, "client")->ns, family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(sock, 0);
	if (family == AF_INET)
		ck_assert_int_eq(setsockopt(sock, SOL_IP, IP_RECVERR, &one, sizeof(one)), 0);
	else
		ck_assert_int_eq(setsockopt(sock, SOL_IPV6, IPV6_RECVERR, &one, sizeof(one)), 0);
	ck_assert_int_eq(sendto(sock, "ping", 4, 0, (struct sockaddr *)&service_addr.addr, service_addr.len), 4);
	pfd = (struct pollfd){ .fd = sock, .events = 0 };
	ck_assert_msg(poll(&pfd, 1, 900) == 1 && (pfd.revents & POLLERR), "%s: no answer from the router",
		      family == AF_INET ? "IPv4" : "IPv6");
	ck_assert_int_ge(recvmsg(sock, &msg, MSG_ERRQUEUE), 0);
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if ((cmsg->cmsg_level == SOL_IP && cmsg->cmsg_type == IP_RECVERR) ||
		    (cmsg->cmsg_level == SOL_IPV6 && cmsg->cmsg_type == IPV6_RECVERR))
			ee = (const struct sock_extended_err *)CMSG_DATA(cmsg);
	ck_assert_ptr_nonnull(ee);
	ck_assert_uint_eq(ee->ee_errno, ENETUNREACH);
	ck_assert_uint_eq(ee->ee_origin, family == AF_INET ? SO_EE_ORIGIN_ICMP : SO_EE_ORIGIN_ICMP6);
	memcpy(&offender, SO_EE_OFFENDER(ee), family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	ck_assert_msg(same_addr(&offender, router), "%s: the ICMP error does not come from the router's eth0",
		      family == AF_INET ? "IPv4" : "IPv6");
	close(sock);
}

static const char service_dnat[] =
	"table inet ctlab_test_nat {\n"
	"	chain prerouting {\n"
	"		type nat hook prerouting priority dstnat; policy accept;\n"
	"		ip daddr 198.18.100.1 tcp dport 8080 dnat ip to 198.19.0.2\n"
	"		ip6 daddr 2001:db8:100::1 tcp dport 8080 dnat ip6 to 2001:db8:2::2\n"
	"	}\n"
	"}\n";

/* With DNAT on the router the service address reaches the server's listener. */
static void check_service_dnat(struct topology *t, int family)
{
	const struct host_iface *service = topology_service(t);
	struct host dst = { .in4 = service->in4, .in6 = service->in6 };
	struct host *client = topology_host(t, "client"), *server = topology_host(t, "server");
	struct tcp_peer service_addr, server_addr;
	struct sockaddr_storage seen;
	socklen_t seen_len = sizeof(seen);
	int listener, conn, accepted, one = 1;

	peer_of(&dst, family, &service_addr);
	peer_of(server, family, &server_addr);
	listener = netns_socket(server->ns, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&server_addr.addr, server_addr.len), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	conn = netns_socket(client->ns, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(conn, 0);
	ck_assert_msg(connect(conn, (struct sockaddr *)&service_addr.addr, service_addr.len) == 0,
		      "connect to the service: %s", strerror(errno));
	accepted = accept4(listener, (struct sockaddr *)&seen, &seen_len, SOCK_CLOEXEC);
	ck_assert_int_ge(accepted, 0);
	ck_assert(same_addr(&seen, client));
	close(accepted);
	close(conn);
	close(listener);
}

START_TEST(test_routed_service_addr)
{
	struct host *client, *router;
	struct topology *t;
	char via[INET6_ADDRSTRLEN], err[1024];

	t = topology_new(TOPOLOGY_ROUTED);
	ck_assert_ptr_nonnull(t);
	client = topology_host(t, "client");
	router = topology_host(t, "router");
	/* On no interface anywhere; the client sends it to the router, which has no route for it. */
	check_route(client->ns, "198.18.100.1", RTN_UNICAST, "198.18.0.254");
	check_route(client->ns, "2001:db8:100::1", RTN_UNICAST, "2001:db8:1::fe");
	ck_assert_int_eq(netns_route_get(router->ns, "198.18.100.1", via, sizeof(via)), -ENETUNREACH);
	ck_assert_int_eq(netns_route_get(router->ns, "2001:db8:100::1", via, sizeof(via)), -ENETUNREACH);
	check_service_unreachable(t, AF_INET);
	check_service_unreachable(t, AF_INET6);

	ck_assert_int_eq(netns_nft_load(router->ns, service_dnat, err, sizeof(err)), 0);
	check_service_dnat(t, AF_INET);
	check_service_dnat(t, AF_INET6);

	ck_assert_int_eq(netns_route_get(client->ns, "not-an-address", via, sizeof(via)), -EINVAL);
	ck_assert_int_eq(netns_route_get(client->ns, "198.18.100.1", via, 4), -EOVERFLOW);
	ck_assert_int_eq(netns_route_get(client->ns, "198.18.100.1", NULL, 0), RTN_UNICAST);
	ck_assert_int_eq(netns_route_wait_gateway(client->ns, "198.18.100.1", "198.18.0.254", 10), 0);
	ck_assert_int_eq(netns_route_wait_gateway(client->ns, "198.18.100.1", "198.18.0.253", 10), -ETIMEDOUT);
	ck_assert_int_eq(netns_route_wait_gateway(client->ns, "2001:db8:100::1", "198.18.0.254", 10), -EINVAL);
	topology_free(t);
}
END_TEST

START_TEST(test_routed_free_removes_everything)
{
	/* The router sees the client and the server take its two veths with them. */
	check_free_removes_everything(TOPOLOGY_ROUTED, "router", (const char *const[]){ "eth0", "eth1" }, 2);
}
END_TEST

START_TEST(test_routed_repeat)
{
	check_repeat(TOPOLOGY_ROUTED);
}
END_TEST

/* Skipping without root or kernel features */

static int probe_veth_ipv6_nft(struct netns *probe)
{
	int err = probe_veth_ipv6(probe);

	if (err == 0)
		err = netns_nft_load(probe, "table inet probe {\n chain c {\n type filter hook input priority 0; ct state invalid drop\n }\n}\n",
				     NULL, 0);
	return err;
}

static const char *missing_feature(void)
{
	return privileged_missing(probe_veth_ipv6_nft, "kernel lacks veth, IPv6 or nftables with conntrack");
}

static Suite *netns_suite(const char *skip_reason)
{
	Suite *suite = suite_create("netns");
	TCase *unprivileged = tcase_create("unprivileged");
	TCase *namespaces = tcase_create("namespaces");
	TCase *pair = tcase_create("pair");
	TCase *routed = tcase_create("routed");

	tcase_add_test(unprivileged, test_kind_names);
	tcase_add_test(unprivileged, test_new_rejects_bad_args);
	suite_add_tcase(suite, unprivileged);
	if (skip_reason)
		return suite;

	/* Check's default 4 s is less than one bounded wait (5 s) inside. */
	tcase_set_timeout(namespaces, 30);
	tcase_add_test(namespaces, test_new_free);
	tcase_add_test(namespaces, test_run_and_socket_inside);
	tcase_add_test(namespaces, test_read_file_inside);
	tcase_add_test(namespaces, test_sysctl_child_only);
	tcase_add_test(namespaces, test_link_errors);
	tcase_add_test(namespaces, test_nft_load);
	tcase_add_test(namespaces, test_keep);
	suite_add_tcase(suite, namespaces);

	tcase_set_timeout(pair, 30);
	tcase_add_test(pair, test_pair_hosts);
	tcase_add_test(pair, test_pair_tcp_ipv4);
	tcase_add_test(pair, test_pair_tcp_ipv6);
	tcase_add_test(pair, test_pair_route_and_nft);
	tcase_add_test(pair, test_pair_free_removes_everything);
	tcase_add_test(pair, test_pair_repeat);
	suite_add_tcase(suite, pair);

	tcase_set_timeout(routed, 60);
	tcase_add_test(routed, test_routed_hosts);
	tcase_add_test(routed, test_routed_forwarding_in_router_only);
	tcase_add_test(routed, test_routed_tcp_ipv4);
	tcase_add_test(routed, test_routed_tcp_ipv6);
	tcase_add_test(routed, test_routed_tcp_ipv6_every_time);
	tcase_add_test(routed, test_routed_service_addr);
	tcase_add_test(routed, test_routed_free_removes_everything);
	tcase_add_test(routed, test_routed_repeat);
	suite_add_tcase(suite, routed);
	return suite;
}

/* /run/netns entries, so the run can check it left none. */
static void run_netns_list(char *buf, size_t size)
{
	struct dirent *entry;
	size_t len = 0;
	DIR *dir;

	buf[0] = '\0';
	dir = opendir("/run/netns");
	if (!dir)
		return;
	while ((entry = readdir(dir)))
		len += (size_t)snprintf(buf + len, size - len, "%s ", entry->d_name);
	closedir(dir);
}

int main(void)
{
	char links_before[HOST_LINKS_MAX], links_after[HOST_LINKS_MAX];
	char kept_before[4096], kept_after[4096];
	const char *skip_reason;
	int failed;

	skip_reason = privileged_skip(missing_feature, "# SKIP privileged netns tests");
	host_links(links_before, sizeof(links_before));
	run_netns_list(kept_before, sizeof(kept_before));

	failed = suite_run(netns_suite(skip_reason));

	host_links(links_after, sizeof(links_after));
	run_netns_list(kept_after, sizeof(kept_after));
	if (strcmp(links_before, links_after) != 0 || strcmp(kept_before, kept_after) != 0) {
		printf("# host changed: links '%s' -> '%s', /run/netns '%s' -> '%s'\n",
		       links_before, links_after, kept_before, kept_after);
		failed++;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
