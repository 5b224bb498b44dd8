/* Scaffolding of the tests that need root: why they cannot run here, the host's interfaces before and after, running the suite. */
#ifndef CTLAB_TESTS_PRIVILEGED_H
#define CTLAB_TESTS_PRIVILEGED_H

/*
 * Each tests/test_*.c is a program of its own and takes what it needs from
 * here; inline, so what one of them leaves unused is no warning.
 */

#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"
#include "suite.h"
#include "netns/netns.h"

#define REASON_MAX	256
#define HOST_LINKS_MAX	4096

/*
 * privileged_missing - why the privileged tests cannot run: "not root", no
 * network namespace, or, when @probe (run on a throwaway namespace, returning
 * 0 or a negative errno) fails, "<lacks>: <error>".  Returns NULL when they
 * can run.  The reason lives in a static buffer.
 */
static inline const char *privileged_missing(int (*probe)(struct netns *ns), const char *lacks)
{
	static char reason[REASON_MAX];
	struct netns *ns;
	int err;

	if (geteuid() != 0)
		return "not root";
	ns = netns_new("probe");
	if (!ns) {
		snprintf(reason, sizeof(reason), "cannot make a network namespace: %s", strerror(errno));
		return reason;
	}
	err = probe(ns);
	netns_free(ns);
	if (err < 0) {
		snprintf(reason, sizeof(reason), "%s: %s", lacks, strerror(-err));
		return reason;
	}
	return NULL;
}

/* probe_veth_ipv6 - a veth pair in @ns and IPv6: 0, or a negative errno. */
static inline int probe_veth_ipv6(struct netns *ns)
{
	int err = netns_veth_add(ns, "p0", ns, "p1");

	if (err == 0)
		err = access("/proc/sys/net/ipv6", F_OK) == 0 ? 0 : -EAFNOSUPPORT;
	return err;
}

/*
 * privileged_skip - line-buffer stdout, so "# " lines keep their place among
 * Check's, then ask @missing_feature why the privileged tests cannot run and,
 * if they cannot, print "<skip_line>: <reason>".  Returns the reason, or NULL.
 */
static inline const char *privileged_skip(const char *(*missing_feature)(void), const char *skip_line)
{
	const char *reason;

	setvbuf(stdout, NULL, _IOLBF, 0);
	reason = missing_feature();
	if (reason)
		printf("%s: %s\n", skip_line, reason);
	return reason;
}

/* The host namespace's interfaces as "index:name " text. */
static inline void host_links(char *buf, size_t size)
{
	struct if_nameindex *links, *link;
	size_t len = 0;

	snprintf(buf, size, "if_nameindex failed");
	links = if_nameindex();
	if (!links)
		return;
	buf[0] = '\0';
	for (link = links; link->if_index; link++)
		len += (size_t)snprintf(buf + len, size - len, "%u:%s ", link->if_index, link->if_name);
	if_freenameindex(links);
}

/*
 * host_links_changed - 0 when the host's interfaces are still @links_before
 * (from host_links()), else 1, after printing how they changed.
 */
static inline int host_links_changed(const char *links_before)
{
	char links_after[HOST_LINKS_MAX];

	host_links(links_after, sizeof(links_after));
	if (strcmp(links_before, links_after) == 0)
		return 0;
	printf("# host changed: links '%s' -> '%s'\n", links_before, links_after);
	return 1;
}

/*
 * privileged_take_machine - unless the tests skip (@skip_reason), hold the lock
 * every ctlab process on the machine shares, exclusively, until the program
 * exits: tests that fill conntrack's table need its hash to themselves, as
 * ctlab's own floods and fills do (another job's run waits meanwhile, and
 * this one waits for theirs).  Returns the lock's fd, -1 when skipping, or
 * a negative errno when the lock cannot be taken.
 */
static inline int privileged_take_machine(const char *skip_reason)
{
	int fd;

	if (skip_reason)
		return -1;
	fd = journal_machine_lock(true, false);
	if (fd == -EWOULDBLOCK) {
		printf("# waiting for other ctlab processes to leave the machine\n");
		fflush(stdout);
		fd = journal_machine_lock(true, true);
	}
	if (fd < 0)
		fprintf(stderr, "machine lock: %s\n", strerror(-fd));
	return fd;
}

#endif
