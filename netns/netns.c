// SPDX-License-Identifier: GPL-2.0
/* Network namespaces held only by fds, and what ctlab configures in them. */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if.h>
#include <linux/nsfs.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/route.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "netns/netns.h"

struct netns {
	char *name;
	int fd;			/* /proc/thread-self/ns/net of the thread that made it */
};

/* Calling a function from a thread inside a namespace */

struct netns_call {
	int fd;			/* namespace to enter, or -1 to stay */
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *netns_call_thread(void *opaque)
{
	struct netns_call *call = opaque;

	if (call->fd >= 0 && setns(call->fd, CLONE_NEWNET) < 0) {
		call->ret = -errno;
		return NULL;
	}
	call->ret = call->fn(call->arg);
	return NULL;
}

/* A fresh thread each time: setns() and unshare() then touch only it. */
static int call_in_thread(int fd, int (*fn)(void *arg), void *arg)
{
	struct netns_call call = { .fd = fd, .fn = fn, .arg = arg };
	pthread_t thread;
	int err;

	err = pthread_create(&thread, NULL, netns_call_thread, &call);
	if (err)
		return -err;
	pthread_join(thread, NULL);
	return call.ret;
}

int netns_run(struct netns *ns, int (*fn)(void *arg), void *arg)
{
	if (!ns || !fn)
		return -EINVAL;
	return call_in_thread(ns->fd, fn, arg);
}

/* Namespace life */

static int unshare_net(void *arg)
{
	int fd;

	(void)arg;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

struct netns *netns_new(const char *name)
{
	struct netns *ns;
	int err;

	if (!name || !*name) {
		errno = EINVAL;
		return NULL;
	}
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->name = strdup(name);
	if (!ns->name) {
		err = -ENOMEM;
		goto out_free_ns;
	}
	ns->fd = call_in_thread(-1, unshare_net, NULL);
	if (ns->fd < 0) {
		err = ns->fd;
		goto out_free_name;
	}
	err = netns_link_up(ns, "lo");
	if (err < 0)
		goto out_close_fd;
	return ns;

out_close_fd:
	close(ns->fd);
out_free_name:
	free(ns->name);
out_free_ns:
	free(ns);
	errno = -err;
	return NULL;
}

struct netns *netns_open(const char *path, const char *name)
{
	struct netns *ns;
	int fd, type, err;

	if (!path || !name || !*name) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		err = type < 0 && errno != ENOTTY ? errno : ENOTSUP;
		close(fd);
		errno = err;
		return NULL;
	}
	ns = calloc(1, sizeof(*ns));
	if (ns)
		ns->name = strdup(name);
	if (!ns || !ns->name) {
		free(ns);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	ns->fd = fd;
	return ns;
}

void netns_free(struct netns *ns)
{
	if (!ns)
		return;
	close(ns->fd);
	free(ns->name);
	free(ns);
}

const char *netns_name(const struct netns *ns)
{
	return ns->name;
}

int netns_fd(const struct netns *ns)
{
	return ns->fd;
}

/* Sockets and files seen from inside */

struct socket_args {
	int domain, type, protocol;
};

static int make_socket(void *opaque)
{
	struct socket_args *args = opaque;
	int fd;

	fd = socket(args->domain, args->type, args->protocol);
	/* cppcheck-suppress resourceLeak ; the socket is returned, the caller's to close */
	return fd < 0 ? -errno : fd;
}

int netns_socket(struct netns *ns, int domain, int type, int protocol)
{
	struct socket_args args = { domain, type, protocol };

	return netns_run(ns, make_socket, &args);
}

int netns_nfnl_open(struct netns *ns, struct mnl_socket **nl)
{
	int fd, err;

	fd = netns_socket(ns, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return fd;
	*nl = mnl_socket_fdopen(fd);
	if (!*nl) {
		err = -errno;
		close(fd);
		return err;
	}
	if (mnl_socket_bind(*nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(*nl);
		*nl = NULL;
		return err;
	}
	return 0;
}

struct nlmsghdr *netns_nfnl_put(void *where, uint16_t type, uint16_t flags, uint8_t family,
				uint16_t res_id, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(where);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

struct file_args {
	const char *path;	/* absolute, or beneath /proc/sys/net when sysctl */
	bool sysctl;
	char *buf;		/* read into, or NULL to write */
	size_t size;
	const char *value;	/* written when buf is NULL */
};

/*
 * Open args->path from the calling thread's namespace.  A sysctl is opened
 * relative to a /proc/sys/net opened here, inside the namespace, and resolved
 * strictly beneath it: whatever its name, it cannot reach the host's global
 * files (/proc/sys/kernel, vm, fs …).
 */
static int open_file(const struct file_args *args, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dir, fd, err;

	if (!args->sysctl) {
		fd = open(args->path, flags | O_CLOEXEC);
		/* cppcheck-suppress resourceLeak ; the file is returned, the caller's to close */
		return fd < 0 ? -errno : fd;
	}
	dir = open("/proc/sys/net", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dir, args->path, &how, sizeof(how));
	/* Before 5.6: the key was checked to hold no "..", symlinks are refused. */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dir, args->path, flags | O_CLOEXEC | O_NOFOLLOW);
	err = fd < 0 ? -errno : fd;
	close(dir);
	return err;
}

static int read_whole_file(const struct file_args *args)
{
	char *buf = args->buf;
	size_t size = args->size, len = 0;
	ssize_t n;
	int fd, err;

	if (!buf || size == 0)
		return -EINVAL;
	fd = open_file(args, O_RDONLY);
	if (fd < 0)
		return fd;
	for (;;) {
		if (len == size - 1) {
			char probe;

			/* Full: only an immediate end of file makes it fit. */
			n = read(fd, &probe, 1);
			err = n < 0 ? -errno : n > 0 ? -EOVERFLOW : 0;
			break;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (err < 0)
		return err;
	return len > INT_MAX ? -EOVERFLOW : (int)len;
}

static int write_whole_file(const struct file_args *args)
{
	size_t len = strlen(args->value);
	ssize_t n;
	int fd, err = 0;

	fd = open_file(args, O_WRONLY);
	if (fd < 0)
		return fd;
	/* sysctls take the value in one write(). */
	n = write(fd, args->value, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	close(fd);
	return err;
}

static int file_io(void *opaque)
{
	struct file_args *args = opaque;

	return args->buf ? read_whole_file(args) : write_whole_file(args);
}

int netns_read_file(struct netns *ns, const char *path, char *buf, size_t size)
{
	struct file_args args = { .path = path, .buf = buf, .size = size };

	if (!path || !buf || size == 0)
		return -EINVAL;
	return netns_run(ns, file_io, &args);
}

/*
 * The file of @key relative to /proc/sys/net: "net.a.b" -> "a/b", "net/a.1/b"
 * -> "a.1/b".  Only per-namespace keys exist under net.; each component is a
 * plain name (letters, digits, _ - and, slashed, .), never "." or "..".
 */
static int sysctl_path(const char *key, char *path, size_t size)
{
	bool slashed;
	size_t len, start = 0;

	if (!key || (strncmp(key, "net.", 4) != 0 && strncmp(key, "net/", 4) != 0))
		return -EINVAL;
	slashed = key[3] == '/';
	len = strlen(key + 4);
	if (len == 0 || len >= size)
		return len ? -ENAMETOOLONG : -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char c = key[4 + i];
		bool end = c == '\0' || c == '/' || (!slashed && c == '.');

		if (end) {
			size_t n = i - start;

			if (n == 0 || (n == 1 && path[start] == '.') ||
			    (n == 2 && path[start] == '.' && path[start + 1] == '.'))
				return -EINVAL;
			path[i] = c ? '/' : '\0';
			start = i + 1;
		} else if (isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.') {
			path[i] = c;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

int netns_sysctl_write(struct netns *ns, const char *key, const char *value)
{
	struct file_args args = { .value = value, .sysctl = true };
	char path[PATH_MAX];
	int err;

	if (!value)
		return -EINVAL;
	err = sysctl_path(key, path, sizeof(path));
	if (err < 0)
		return err;
	args.path = path;
	return netns_run(ns, file_io, &args);
}

struct steer_args {
	const char *ifname;
	int cpu;
};

/* Inside the namespace: a sysfs of its own (a detached mount, which the kernel
 * ties to the calling thread's network namespace and drops on close), and
 * the first receive queue's RPS mask in it. */
static int steer_rx(void *opaque)
{
	const struct steer_args *args = opaque;
	char path[PATH_MAX], mask[32];
	int fs, mnt, fd, err = 0;
	size_t len;

	if (args->cpu < 0 || args->cpu >= 64)
		return -EINVAL;
	snprintf(path, sizeof(path), "class/net/%s/queues/rx-0/rps_cpus", args->ifname);
	len = (size_t)snprintf(mask, sizeof(mask), "%" PRIx64, (uint64_t)1 << args->cpu);
	fs = fsopen("sysfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = -errno;
		close(fs);
		return err;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	err = mnt < 0 ? -errno : 0;
	close(fs);
	if (err < 0)
		return err;
	fd = openat(mnt, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		err = -errno;
	else if (write(fd, mask, len) != (ssize_t)len)
		err = -errno;
	if (fd >= 0)
		close(fd);
	close(mnt);
	return err;
}

int netns_link_steer_rx(struct netns *ns, const char *ifname, int cpu)
{
	struct steer_args args = { .ifname = ifname, .cpu = cpu };

	if (!ifname || !*ifname || strchr(ifname, '/') || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	return netns_run(ns, steer_rx, &args);
}

int netns_sysctl_read(struct netns *ns, const char *key, char *buf, size_t size)
{
	struct file_args args = { .buf = buf, .size = size, .sysctl = true };
	char path[PATH_MAX];
	int len;

	if (!buf || size == 0)
		return -EINVAL;
	len = sysctl_path(key, path, sizeof(path));
	if (len < 0)
		return len;
	args.path = path;
	len = netns_run(ns, file_io, &args);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return len;
}

/* rtnetlink through libnl, on sockets made inside the namespace */

struct rtnl {
	struct nl_sock *sk;
	int kernel_error;	/* -errno of the last NLMSG_ERROR, kept exact */
};

/* libnl folds kernel errnos into its own codes; this maps back the rest. */
static const int nl_errno[NLE_MAX + 1] = {
	[NLE_INTR] = EINTR,
	[NLE_BAD_SOCK] = EBADF,
	[NLE_AGAIN] = EAGAIN,
	[NLE_NOMEM] = ENOMEM,
	[NLE_EXIST] = EEXIST,
	[NLE_INVAL] = EINVAL,
	[NLE_RANGE] = ERANGE,
	[NLE_MSGSIZE] = EMSGSIZE,
	[NLE_OPNOTSUPP] = EOPNOTSUPP,
	[NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
	[NLE_OBJ_NOTFOUND] = ENOENT,
	[NLE_AF_MISMATCH] = EINVAL,
	[NLE_NOADDR] = EADDRNOTAVAIL,
	[NLE_BUSY] = EBUSY,
	[NLE_NOACCESS] = EACCES,
	[NLE_PERM] = EPERM,
	[NLE_NODEV] = ENODEV,
};

static int rtnl_errno(const struct rtnl *rtnl, int nlerr)
{
	int code = nlerr < 0 ? -nlerr : nlerr;

	if (nlerr >= 0)
		return 0;
	if (rtnl && rtnl->kernel_error)
		return rtnl->kernel_error;
	if (code <= NLE_MAX && nl_errno[code])
		return -nl_errno[code];
	return -EPROTO;
}

static int keep_kernel_error(struct sockaddr_nl *peer, struct nlmsgerr *nlerr, void *opaque)
{
	struct rtnl *rtnl = opaque;

	(void)peer;
	rtnl->kernel_error = nlerr->error;
	return NL_STOP;
}

static int rtnl_connect(void *opaque)
{
	struct rtnl *rtnl = opaque;

	return rtnl_errno(NULL, nl_connect(rtnl->sk, NETLINK_ROUTE));
}

static int rtnl_open(struct netns *ns, struct rtnl *rtnl)
{
	int err;

	rtnl->kernel_error = 0;
	rtnl->sk = nl_socket_alloc();
	if (!rtnl->sk)
		return -ENOMEM;
	err = netns_run(ns, rtnl_connect, rtnl);
	if (err < 0)
		goto out_free_sock;
	err = rtnl_errno(NULL, nl_socket_modify_err_cb(rtnl->sk, NL_CB_CUSTOM, keep_kernel_error, rtnl));
	if (err < 0)
		goto out_free_sock;
	return 0;

out_free_sock:
	nl_socket_free(rtnl->sk);
	return err;
}

static void rtnl_close(struct rtnl *rtnl)
{
	nl_socket_free(rtnl->sk);
}

static int rtnl_get_link(struct rtnl *rtnl, const char *ifname, struct rtnl_link **link)
{
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	rtnl->kernel_error = 0;
	return rtnl_errno(rtnl, rtnl_link_get_kernel(rtnl->sk, 0, ifname, link));
}

int netns_veth_add(struct netns *a, const char *a_ifname, struct netns *b, const char *b_ifname)
{
	struct rtnl_link *link, *peer;
	struct rtnl rtnl;
	int err;

	if (!a || !b || !a_ifname || !b_ifname || strlen(a_ifname) >= IFNAMSIZ || strlen(b_ifname) >= IFNAMSIZ)
		return -EINVAL;
	err = rtnl_open(a, &rtnl);
	if (err < 0)
		return err;
	link = rtnl_link_veth_alloc();
	if (!link) {
		err = -ENOMEM;
		goto out_close_rtnl;
	}
	rtnl_link_set_name(link, a_ifname);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, b_ifname);
	/* Born in b: the peer never exists in the host namespace. */
	rtnl_link_set_ns_fd(peer, b->fd);
	rtnl_link_put(peer);
	err = rtnl_errno(&rtnl, rtnl_link_add(rtnl.sk, link, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_veth_release(link);
out_close_rtnl:
	rtnl_close(&rtnl);
	return err;
}

/* Runs @op on @ifname of @ns, with an rtnetlink socket there. */
static int with_link(struct netns *ns, const char *ifname,
		     int (*op)(struct rtnl *rtnl, struct rtnl_link *link, const void *arg),
		     const void *arg)
{
	struct rtnl_link *link;
	struct rtnl rtnl;
	int err;

	err = rtnl_open(ns, &rtnl);
	if (err < 0)
		return err;
	err = rtnl_get_link(&rtnl, ifname, &link);
	if (err == 0) {
		err = op(&rtnl, link, arg);
		rtnl_link_put(link);
	}
	rtnl_close(&rtnl);
	return err;
}

/* One change to a link: its flags (up) or its MTU. */
struct link_change {
	void (*set)(struct rtnl_link *, unsigned int);
	unsigned int value;
};

static int apply_link_change(struct rtnl *rtnl, struct rtnl_link *link, const void *arg)
{
	const struct link_change *change = arg;
	struct rtnl_link *delta = rtnl_link_alloc();
	int err;

	if (!delta)
		return -ENOMEM;
	change->set(delta, change->value);
	err = rtnl_errno(rtnl, rtnl_link_change(rtnl->sk, link, delta, 0));
	rtnl_link_put(delta);
	return err;
}

static int change_link(struct netns *ns, const char *ifname,
		       void (*set)(struct rtnl_link *, unsigned int), unsigned int value)
{
	const struct link_change change = { .set = set, .value = value };

	return with_link(ns, ifname, apply_link_change, &change);
}

int netns_link_up(struct netns *ns, const char *ifname)
{
	return change_link(ns, ifname, rtnl_link_set_flags, IFF_UP);
}

int netns_link_noarp(struct netns *ns, const char *ifname)
{
	return change_link(ns, ifname, rtnl_link_set_flags, IFF_NOARP);
}

int netns_link_set_mtu(struct netns *ns, const char *ifname, unsigned mtu)
{
	return change_link(ns, ifname, rtnl_link_set_mtu, mtu);
}

/* @link's root qdisc: a netem doing @arg (a netem_spec), or with @arg NULL
 * the default one back. */
static int set_root_qdisc(struct rtnl *rtnl, struct rtnl_link *link, const void *arg)
{
	const struct netem_spec *spec = arg;
	struct rtnl_qdisc *qdisc = rtnl_qdisc_alloc();
	int err;

	if (!qdisc)
		return -ENOMEM;
	rtnl_tc_set_link(TC_CAST(qdisc), link);
	rtnl_tc_set_parent(TC_CAST(qdisc), TC_H_ROOT);
	if (!spec) {
		err = rtnl_errno(rtnl, rtnl_qdisc_delete(rtnl->sk, qdisc));
		goto out_put_qdisc;
	}
	rtnl_tc_set_handle(TC_CAST(qdisc), TC_HANDLE(1, 0));
	if (rtnl_tc_set_kind(TC_CAST(qdisc), "netem") < 0) {
		err = -ENOMEM;
		goto out_put_qdisc;
	}
	rtnl_netem_set_delay(qdisc, (int)spec->delay_us);
	/* libnl passes the fractions on as they are: the kernel's fixed point. */
	rtnl_netem_set_loss(qdisc, (int)spec->loss);
	if (spec->reorder) {
		rtnl_netem_set_reorder_probability(qdisc, (int)spec->reorder);
		/* Gap 0 would delay every packet: no reordering at all (tc sets 1). */
		rtnl_netem_set_gap(qdisc, 1);
	}
	/* A big queue: a delayed link must not drop what it holds. */
	rtnl_netem_set_limit(qdisc, 100000);
	err = rtnl_errno(rtnl, rtnl_qdisc_add(rtnl->sk, qdisc, NLM_F_CREATE | NLM_F_REPLACE));
out_put_qdisc:
	rtnl_qdisc_put(qdisc);
	return err;
}

int netns_link_set_netem(struct netns *ns, const char *ifname, const struct netem_spec *spec)
{
	return spec ? with_link(ns, ifname, set_root_qdisc, spec) : -EINVAL;
}

int netns_link_clear_qdisc(struct netns *ns, const char *ifname)
{
	return with_link(ns, ifname, set_root_qdisc, NULL);
}

/* Parses @text as an address of @family (AF_UNSPEC: either IP family). */
static int parse_addr(const char *text, int family, struct nl_addr **addr)
{
	int err;

	if (!text)
		return -EINVAL;
	err = nl_addr_parse(text, family, addr);
	if (err < 0)
		return -EINVAL;
	family = nl_addr_get_family(*addr);
	if (family != AF_INET && family != AF_INET6) {
		nl_addr_put(*addr);
		return -EINVAL;
	}
	return 0;
}

int netns_addr_add(struct netns *ns, const char *ifname, const char *cidr)
{
	struct rtnl_link *link;
	struct nl_addr *local;
	struct rtnl_addr *addr;
	struct rtnl rtnl;
	int err;

	err = parse_addr(cidr, AF_UNSPEC, &local);
	if (err < 0)
		return err;
	err = rtnl_open(ns, &rtnl);
	if (err < 0)
		goto out_put_local;
	err = rtnl_get_link(&rtnl, ifname, &link);
	if (err < 0)
		goto out_close_rtnl;
	addr = rtnl_addr_alloc();
	if (!addr) {
		err = -ENOMEM;
		goto out_put_link;
	}
	rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
	err = rtnl_errno(NULL, rtnl_addr_set_local(addr, local));
	if (err < 0)
		goto out_put_addr;
	/* Not tentative: usable as a source and a destination at once. */
	if (nl_addr_get_family(local) == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	err = rtnl_errno(&rtnl, rtnl_addr_add(rtnl.sk, addr, NLM_F_EXCL));
out_put_addr:
	rtnl_addr_put(addr);
out_put_link:
	rtnl_link_put(link);
out_close_rtnl:
	rtnl_close(&rtnl);
out_put_local:
	nl_addr_put(local);
	return err;
}

int netns_route_add(struct netns *ns, const char *dst_cidr, const char *gateway)
{
	struct nl_addr *gw, *dst;
	struct rtnl_nexthop *nexthop;
	struct rtnl_route *route;
	struct rtnl rtnl;
	int err;

	err = parse_addr(gateway, AF_UNSPEC, &gw);
	if (err < 0)
		return err;
	/* "default" has no family of its own: it takes the gateway's. */
	err = parse_addr(dst_cidr, nl_addr_get_family(gw), &dst);
	if (err < 0)
		goto out_put_gw;
	err = rtnl_open(ns, &rtnl);
	if (err < 0)
		goto out_put_dst;
	route = rtnl_route_alloc();
	if (!route) {
		err = -ENOMEM;
		goto out_close_rtnl;
	}
	rtnl_route_set_family(route, nl_addr_get_family(gw));
	err = rtnl_errno(NULL, rtnl_route_set_dst(route, dst));
	if (err < 0)
		goto out_put_route;
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	nexthop = rtnl_route_nh_alloc();
	if (!nexthop) {
		err = -ENOMEM;
		goto out_put_route;
	}
	rtnl_route_nh_set_gateway(nexthop, gw);
	rtnl_route_add_nexthop(route, nexthop);	/* the route owns it now */
	err = rtnl_errno(&rtnl, rtnl_route_add(rtnl.sk, route, NLM_F_EXCL));
out_put_route:
	rtnl_route_put(route);
out_close_rtnl:
	rtnl_close(&rtnl);
out_put_dst:
	nl_addr_put(dst);
out_put_gw:
	nl_addr_put(gw);
	return err;
}

struct dev_route {
	const char *dst_cidr;
	int family;
	const char *gateway;		/* on the link whatever the addresses (onlink); NULL none */
};

static int add_dev_route(struct rtnl *rtnl, struct rtnl_link *link, const void *arg)
{
	const struct dev_route *want = arg;
	struct rtnl_nexthop *nexthop;
	struct rtnl_route *route;
	struct nl_addr *dst;
	int err = parse_addr(want->dst_cidr, want->family, &dst);

	if (err < 0)
		return err;
	route = rtnl_route_alloc();
	if (!route) {
		err = -ENOMEM;
		goto out_put_dst;
	}
	rtnl_route_set_family(route, (uint8_t)want->family);
	err = rtnl_errno(NULL, rtnl_route_set_dst(route, dst));
	if (err < 0)
		goto out_put_route;
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	if (!want->gateway)
		rtnl_route_set_scope(route, RT_SCOPE_LINK);
	nexthop = rtnl_route_nh_alloc();
	if (!nexthop) {
		err = -ENOMEM;
		goto out_put_route;
	}
	rtnl_route_nh_set_ifindex(nexthop, rtnl_link_get_ifindex(link));
	if (want->gateway) {
		struct nl_addr *gw;

		err = parse_addr(want->gateway, want->family, &gw);
		if (err < 0) {
			rtnl_route_nh_free(nexthop);
			goto out_put_route;
		}
		rtnl_route_nh_set_gateway(nexthop, gw);
		nl_addr_put(gw);
		rtnl_route_nh_set_flags(nexthop, RTNH_F_ONLINK);
	}
	rtnl_route_add_nexthop(route, nexthop);
	err = rtnl_errno(rtnl, rtnl_route_add(rtnl->sk, route, NLM_F_EXCL));
out_put_route:
	rtnl_route_put(route);
out_put_dst:
	nl_addr_put(dst);
	return err;
}

int netns_route_dev_add(struct netns *ns, const char *dst_cidr, int family, const char *ifname,
			const char *gateway)
{
	struct dev_route want = { dst_cidr, family, gateway };

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	return with_link(ns, ifname, add_dev_route, &want);
}

/* Waiting for the kernel, woken by its own notifications */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 1 when ready, 0 when not yet, or -errno. */
typedef int (*ready_fn)(struct rtnl *rtnl, const void *what);

/* Re-checks this often even without a notification (see wait_ready). */
#define WAIT_RECHECK_MS	5

/*
 * Subscribes to @groups before the first check, so a change after a check
 * wakes the poll. Some changes come without a notification (an IPv6 local
 * route can become usable silently), so the check also runs every
 * WAIT_RECHECK_MS: a bounded busy-wait, never a fixed sleep.
 */
static int wait_ready(struct netns *ns, const unsigned int *groups, size_t group_count,
		      ready_fn ready, const void *what, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct rtnl rtnl;
	int events, err;
	size_t i;

	events = netns_socket(ns, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (events < 0)
		return events;
	for (i = 0; i < group_count; i++) {
		if (setsockopt(events, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof(groups[i])) < 0) {
			err = -errno;
			goto out_close_events;
		}
	}
	err = rtnl_open(ns, &rtnl);
	if (err < 0)
		goto out_close_events;
	for (;;) {
		struct pollfd pfd = { .fd = events, .events = POLLIN };
		char drain[8192];
		long long left;

		err = ready(&rtnl, what);
		if (err != 0)
			break;
		left = deadline - now_ms();
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, left < WAIT_RECHECK_MS ? (int)left : WAIT_RECHECK_MS) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		/* The content does not matter, only that something changed; ENOBUFS too. */
		while (recv(events, drain, sizeof(drain), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
			;
	}
	rtnl_close(&rtnl);
out_close_events:
	close(events);
	return err < 0 ? err : 0;
}

static int link_running(struct rtnl *rtnl, const void *what)
{
	struct rtnl_link *link;
	const char *qdisc;
	int err;

	err = rtnl_get_link(rtnl, what, &link);
	if (err < 0)
		return err;
	/*
	 * Carrier (IFF_LOWER_UP, set at once by the driver) and a real queue:
	 * until the queue is attached the device has the "noop" qdisc, which
	 * drops everything.  Not operstate UP: linkwatch sets it later, and
	 * before 6.7 RTM_GETLINK does not make linkwatch run first, so on 6.1
	 * it came about a second after the carrier, in every run.
	 */
	qdisc = rtnl_link_get_qdisc(link);
	err = (rtnl_link_get_flags(link) & IFF_LOWER_UP) && qdisc && strcmp(qdisc, "noop") != 0;
	rtnl_link_put(link);
	return err;
}

int netns_link_wait_running(struct netns *ns, const char *ifname, int timeout_ms)
{
	static const unsigned int groups[] = { RTNLGRP_LINK };

	if (!ns || !ifname)
		return -EINVAL;
	return wait_ready(ns, groups, 1, link_running, ifname, timeout_ms);
}

static int link_local_ready(struct rtnl *rtnl, const void *what)
{
	struct nl_object *obj;
	struct rtnl_link *link;
	struct nl_cache *addrs;
	int ifindex, err;

	err = rtnl_get_link(rtnl, what, &link);
	if (err < 0)
		return err;
	ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	rtnl->kernel_error = 0;
	err = rtnl_errno(rtnl, rtnl_addr_alloc_cache(rtnl->sk, &addrs));
	if (err < 0)
		return err;
	for (obj = nl_cache_get_first(addrs); obj && err == 0; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;

		err = rtnl_addr_get_ifindex(addr) == ifindex && rtnl_addr_get_family(addr) == AF_INET6 &&
		      rtnl_addr_get_scope(addr) == RT_SCOPE_LINK &&
		      !(rtnl_addr_get_flags(addr) & (IFA_F_TENTATIVE | IFA_F_DADFAILED));
	}
	nl_cache_free(addrs);
	return err;
}

int netns_link_wait_link_local(struct netns *ns, const char *ifname, int timeout_ms)
{
	static const unsigned int groups[] = { RTNLGRP_IPV6_IFADDR };

	if (!ns || !ifname)
		return -EINVAL;
	return wait_ready(ns, groups, 1, link_local_ready, ifname, timeout_ms);
}

/* What the kernel's route lookup (as `ip route get`) answered. */
struct route_lookup {
	unsigned char type;	/* rtm_type: RTN_UNICAST, RTN_LOCAL, ... */
	bool answered;
	bool has_gateway;
	unsigned char gateway[16];	/* RTA_GATEWAY, in the destination's family */
};

static int keep_route_answer(struct nl_msg *msg, void *opaque)
{
	struct route_lookup *lookup = opaque;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *gateway;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlmsg_datalen(nlh) < (int)sizeof(struct rtmsg))
		return NL_OK;
	lookup->type = ((struct rtmsg *)nlmsg_data(nlh))->rtm_type;
	lookup->answered = true;
	gateway = nlmsg_find_attr(nlh, sizeof(struct rtmsg), RTA_GATEWAY);
	if (gateway && nla_len(gateway) > 0 && nla_len(gateway) <= (int)sizeof(lookup->gateway)) {
		memcpy(lookup->gateway, nla_data(gateway), (size_t)nla_len(gateway));
		lookup->has_gateway = true;
	}
	return NL_OK;
}

/*
 * Asks the kernel's route lookup about @dst. Returns 1 with @lookup filled,
 * 0 when there is no route at all (ENETUNREACH), or -errno.
 */
static int route_lookup(struct rtnl *rtnl, const struct nl_addr *dst, struct route_lookup *lookup)
{
	struct rtmsg rtm = {
		.rtm_family = (unsigned char)nl_addr_get_family(dst),
		.rtm_dst_len = (unsigned char)(nl_addr_get_len(dst) * 8),
	};
	struct nl_msg *msg;
	int err;

	memset(lookup, 0, sizeof(*lookup));
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, (int)nl_addr_get_len(dst), nl_addr_get_binary_addr(dst)) < 0) {
		err = -EMSGSIZE;
		goto out_free_msg;
	}
	rtnl->kernel_error = 0;
	err = rtnl_errno(rtnl, nl_send_auto(rtnl->sk, msg));
	if (err < 0)
		goto out_free_msg;
	nl_socket_modify_cb(rtnl->sk, NL_CB_VALID, NL_CB_CUSTOM, keep_route_answer, lookup);
	err = nl_recvmsgs_default(rtnl->sk);
	nl_socket_modify_cb(rtnl->sk, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	if (err < 0 && rtnl->kernel_error == -ENETUNREACH)
		err = 0;
	else if (err < 0)
		err = rtnl_errno(rtnl, err);
	else
		/* The answer came alone; its ACK follows and must not linger. */
		err = rtnl_errno(rtnl, nl_wait_for_ack(rtnl->sk));
	if (err == 0)
		err = lookup->answered;
out_free_msg:
	nlmsg_free(msg);
	return err;
}

static int addr_local(struct rtnl *rtnl, const void *what)
{
	struct route_lookup lookup;
	int err;

	err = route_lookup(rtnl, what, &lookup);
	/* No route at all yet: not ready. */
	return err <= 0 ? err : lookup.type == RTN_LOCAL;
}

int netns_addr_wait_local(struct netns *ns, const char *addr, int timeout_ms)
{
	static const unsigned int groups[] = { RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE };
	struct nl_addr *local;
	int err;

	if (!ns)
		return -EINVAL;
	err = parse_addr(addr, AF_UNSPEC, &local);
	if (err < 0)
		return err;
	err = wait_ready(ns, groups, 2, addr_local, local, timeout_ms);
	nl_addr_put(local);
	return err;
}

int netns_route_get(struct netns *ns, const char *dst, char *gateway, size_t size)
{
	struct route_lookup lookup;
	struct nl_addr *addr;
	struct rtnl rtnl;
	int family, err;

	if (!ns || (gateway && size == 0))
		return -EINVAL;
	err = parse_addr(dst, AF_UNSPEC, &addr);
	if (err < 0)
		return err;
	err = rtnl_open(ns, &rtnl);
	if (err < 0)
		goto out_put_addr;
	err = route_lookup(&rtnl, addr, &lookup);
	if (err == 0)
		err = -ENETUNREACH;
	if (err < 0)
		goto out_close_rtnl;
	err = lookup.type;
	if (!gateway)
		goto out_close_rtnl;
	gateway[0] = '\0';
	family = nl_addr_get_family(addr);
	if (lookup.has_gateway && !inet_ntop(family, lookup.gateway, gateway, (socklen_t)size))
		err = -EOVERFLOW;
out_close_rtnl:
	rtnl_close(&rtnl);
out_put_addr:
	nl_addr_put(addr);
	return err;
}

struct gateway_wait {
	struct nl_addr *dst, *gateway;
};

static int route_via(struct rtnl *rtnl, const void *what)
{
	const struct gateway_wait *wait = what;
	struct route_lookup lookup;
	int err;

	err = route_lookup(rtnl, wait->dst, &lookup);
	if (err <= 0)
		return err;
	return lookup.type == RTN_UNICAST && lookup.has_gateway &&
	       memcmp(lookup.gateway, nl_addr_get_binary_addr(wait->gateway), nl_addr_get_len(wait->gateway)) == 0;
}

int netns_route_wait_gateway(struct netns *ns, const char *dst, const char *gateway, int timeout_ms)
{
	static const unsigned int groups[] = { RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE };
	struct gateway_wait wait;
	int err;

	if (!ns)
		return -EINVAL;
	err = parse_addr(gateway, AF_UNSPEC, &wait.gateway);
	if (err < 0)
		return err;
	err = parse_addr(dst, nl_addr_get_family(wait.gateway), &wait.dst);
	if (err < 0)
		goto out_put_gateway;
	err = wait_ready(ns, groups, 2, route_via, &wait, timeout_ms);
	nl_addr_put(wait.dst);
out_put_gateway:
	nl_addr_put(wait.gateway);
	return err;
}

/* nftables */

struct nft_args {
	const char *ruleset;
	char *err;
	size_t errsize;
	bool check;			/* dry run: parse and evaluate, change nothing */
};

/*
 * nft's error for a ruleset read from a file names the line and shows it
 * ("FILE:4:16-25: Error: …", that line, carets); for a buffer it shows line 1
 * over the carets of another. So the ruleset goes in as a memfd's file, whose
 * name is then said as "ruleset line".
 */
static void ruleset_error(const char *text, const char *path, char *buf, size_t size)
{
	size_t len = 0, path_len = strlen(path);

	buf[0] = '\0';
	while (*text && len + 1 < size) {
		if (strncmp(text, path, path_len) == 0 && text[path_len] == ':') {
			len += (size_t)snprintf(buf + len, size - len, "ruleset line ");
			text += path_len + 1;
			continue;
		}
		buf[len++] = *text++;
		buf[len] = '\0';
	}
	if (len >= size)
		len = size - 1;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
}

static int nft_load_here(void *opaque)
{
	struct nft_args *args = opaque;
	size_t len = strlen(args->ruleset);
	struct nft_ctx *ctx;
	char path[64];
	int err, fd;

	fd = memfd_create("ruleset", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, args->ruleset, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* Its netlink socket is made here, inside the namespace. */
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		close(fd);
		return -ENOMEM;
	}
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		err = -ENOMEM;
		goto out_free_ctx;
	}
	nft_ctx_set_dry_run(ctx, args->check);
	err = nft_run_cmd_from_filename(ctx, path) == 0 ? 0 : -EINVAL;
	if (err < 0 && args->err && args->errsize > 0) {
		const char *text = nft_ctx_get_error_buffer(ctx);

		ruleset_error(text && *text ? text : "nft failed without a message", path, args->err,
			      args->errsize);
	}
out_free_ctx:
	nft_ctx_free(ctx);
	close(fd);
	return err;
}

static int nft_run_in(struct netns *ns, const char *ruleset, char *err, size_t errsize, bool check)
{
	struct nft_args args = { ruleset, err, errsize, check };

	if (err && errsize > 0)
		err[0] = '\0';
	if (!ruleset)
		return -EINVAL;
	return netns_run(ns, nft_load_here, &args);
}

int netns_nft_check(struct netns *ns, const char *ruleset, char *err, size_t errsize)
{
	return nft_run_in(ns, ruleset, err, errsize, true);
}

int netns_nft_load(struct netns *ns, const char *ruleset, char *err, size_t errsize)
{
	return nft_run_in(ns, ruleset, err, errsize, false);
}

/* A named counter in nft's listing: "counter NAME {" then "packets N bytes M". */
static int nft_counter_find(const char *listing, const char *name, uint64_t *packets,
			    uint64_t *bytes)
{
	size_t name_len = strlen(name);
	const char *at = listing;

	while ((at = strstr(at, "counter "))) {
		const char *after = at + strlen("counter ");

		at = after;
		if (strncmp(after, name, name_len) != 0 || after[name_len] != ' ' ||
		    after[name_len + 1] != '{')
			continue;
		after = strstr(after, "packets ");
		if (!after)
			return -EINVAL;
		if (sscanf(after, "packets %" SCNu64 " bytes %" SCNu64, packets, bytes) != 2)
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

struct nft_counter_args {
	const char *name;
	uint64_t *packets, *bytes;
};

static int nft_counter_here(void *opaque)
{
	struct nft_counter_args *args = opaque;
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int err;

	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
		err = -ENOMEM;
		goto out_free_ctx;
	}
	err = nft_run_cmd_from_buffer(ctx, "list counters") == 0 ? 0 : -EIO;
	if (err == 0)
		err = nft_counter_find(nft_ctx_get_output_buffer(ctx), args->name, args->packets,
				       args->bytes);
out_free_ctx:
	nft_ctx_free(ctx);
	return err;
}

int netns_nft_counter(struct netns *ns, const char *name, uint64_t *packets, uint64_t *bytes)
{
	struct nft_counter_args args = { name, packets, bytes };

	if (!name || !*name)
		return -EINVAL;
	return netns_run(ns, nft_counter_here, &args);
}

/* Keeping a namespace for people to look at */

int netns_keep(struct netns *ns, const char *path)
{
	char dir[PATH_MAX], source[64];
	char *slash;
	int fd, err;

	if (!ns || !path || snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -EINVAL;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(source, sizeof(source), "/proc/self/fd/%d", ns->fd);
	if (mount(source, path, "none", MS_BIND, NULL) < 0) {
		err = -errno;
		goto out_unlink;
	}
	return 0;

out_unlink:
	unlink(path);
	return err;
}

int netns_unkeep(const char *path)
{
	if (!path)
		return -EINVAL;
	/* EINVAL: not a mount point (a leftover file); remove it all the same. */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL)
		return -errno;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}
