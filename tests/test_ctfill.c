// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/ctfill: ASSURED entries inserted through ctnetlink into
 * a throwaway namespace, counted and flushed, and the time a full table
 * takes, batched and one request at a time. Without root or ctnetlink the
 * privileged tests are skipped with a "# SKIP" line.
 */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "inject/inject.h"
#include "observe/observe.h"
#include "privileged.h"

#define BENCH_ENTRIES	262144u

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t conntrack_max(void)
{
	unsigned long max = 0;
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_max", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu", &max), 1);
	fclose(f);
	return (uint32_t)max;
}

static unsigned long long netns_inode(struct netns *ns)
{
	struct stat st;

	ck_assert_int_eq(fstat(netns_fd(ns), &st), 0);
	return (unsigned long long)st.st_ino;
}

static uint32_t count_of(struct netns *ns)
{
	uint32_t count = UINT32_MAX;

	ck_assert_int_eq(ctfill_count(ns, &count), 0);
	return count;
}

/* Entry number n of a spec, as ctfill lays them out, as libnetfilter_conntrack attributes. */
static void set_entry(struct nf_conntrack *ct, const struct ctfill_spec *spec, uint32_t n)
{
	uint16_t sport = htons((uint16_t)(1024 + n % CTFILL_PORTS_PER_SRC));
	uint32_t i = n / CTFILL_PORTS_PER_SRC;

	nfct_set_attr_u8(ct, ATTR_L3PROTO, (uint8_t)spec->family);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, (uint8_t)spec->family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, spec->protocol);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, spec->protocol);
	if (spec->family == AF_INET) {
		uint32_t src = htonl(ntohl(spec->src_base.v4.s_addr) + i);

		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, spec->dst.v4.s_addr);
		nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, spec->dst.v4.s_addr);
		nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, src);
	} else {
		struct in6_addr src = spec->src_base.v6;

		src.s6_addr[15] = (uint8_t)(src.s6_addr[15] + i);	/* small i only */
		nfct_set_attr(ct, ATTR_IPV6_SRC, &src);
		nfct_set_attr(ct, ATTR_IPV6_DST, &spec->dst.v6);
		nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, &spec->dst.v6);
		nfct_set_attr(ct, ATTR_REPL_IPV6_DST, &src);
	}
	nfct_set_attr_u16(ct, ATTR_PORT_SRC, sport);
	nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(spec->dport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(spec->dport));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, sport);
}

struct ct_request {
	const struct ctfill_spec *spec;
	uint32_t n;		/* get: the entry; create: how many */
	uint32_t status;	/* get: what the kernel holds */
	uint8_t tcp_state;
	uint32_t timeout;
	uint32_t created;	/* create */
};

static int get_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct ct_request *req = data;

	(void)type;
	req->status = nfct_get_attr_u32(ct, ATTR_STATUS);
	req->tcp_state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	req->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	return NFCT_CB_STOP;
}

/* Runs inside the namespace: the kernel's view of entry req->n. */
static int get_entry(void *arg)
{
	struct ct_request *req = arg;
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nf_conntrack *ct = nfct_new();
	int rc = -1;

	if (!h || !ct)
		goto out;
	set_entry(ct, req->spec, req->n);
	nfct_callback_register(h, NFCT_T_ALL, get_cb, req);
	rc = nfct_query(h, NFCT_Q_GET, ct) < 0 ? -errno : 0;
out:
	if (ct)
		nfct_destroy(ct);
	if (h)
		nfct_close(h);
	return rc;
}

/* Runs inside the namespace: the naive way, one nfct_query per entry. */
static int create_one_by_one(void *arg)
{
	struct ct_request *req = arg;
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nf_conntrack *ct = nfct_new();
	int rc = 0;

	if (!h || !ct) {
		rc = -errno;
		goto out;
	}
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_ASSURED | IPS_SEEN_REPLY);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, req->spec->timeout);
	for (req->created = 0; req->created < req->n; req->created++) {
		set_entry(ct, req->spec, req->created);
		if (nfct_query(h, NFCT_Q_CREATE, ct) < 0) {
			rc = -errno;
			break;
		}
	}
out:
	if (ct)
		nfct_destroy(ct);
	if (h)
		nfct_close(h);
	return rc;
}

START_TEST(test_spec_flood)
{
	struct ctfill_spec spec;
	char addr[INET6_ADDRSTRLEN];

	ck_assert_int_eq(ctfill_spec_flood(&spec, AF_INET, 10), 0);
	ck_assert_str_eq(inet_ntop(AF_INET, &spec.src_base, addr, sizeof(addr)), "198.18.128.0");
	ck_assert_str_eq(inet_ntop(AF_INET, &spec.dst, addr, sizeof(addr)), "198.19.0.2");
	ck_assert_int_eq(spec.protocol, IPPROTO_TCP);
	ck_assert_uint_eq(spec.dport, 80);
	ck_assert_uint_eq(spec.count, 10);
	ck_assert_uint_eq(spec.timeout, 3600);
	ck_assert_int_eq(ctfill_spec_flood(&spec, AF_INET6, 10), 0);
	ck_assert_str_eq(inet_ntop(AF_INET6, &spec.src_base, addr, sizeof(addr)), "2001:db8:3::");
	ck_assert_str_eq(inet_ntop(AF_INET6, &spec.dst, addr, sizeof(addr)), "2001:db8:2::2");
	ck_assert_int_eq(ctfill_spec_flood(&spec, AF_PACKET, 10), -EAFNOSUPPORT);
}
END_TEST

START_TEST(test_insert_rejects_bad_spec)
{
	struct ctfill_spec spec;
	uint32_t inserted = 7;

	/* Checked before the namespace is used: none is needed. */
	ctfill_spec_flood(&spec, AF_INET, 10);
	spec.protocol = IPPROTO_ICMP;	/* no ports to number entries by */
	ck_assert_int_eq(ctfill_insert(NULL, &spec, &inserted, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(inserted, 0);
	ctfill_spec_flood(&spec, AF_INET, 10);
	spec.timeout = 0;
	ck_assert_int_eq(ctfill_insert(NULL, &spec, NULL, NULL, NULL), -EINVAL);
	ctfill_spec_flood(&spec, AF_INET, UINT32_MAX);
	inet_pton(AF_INET, "255.255.255.0", &spec.src_base);
	ck_assert_int_eq(ctfill_insert(NULL, &spec, NULL, NULL, NULL), -EINVAL);
	spec.family = AF_UNIX;
	ck_assert_int_eq(ctfill_insert(NULL, &spec, NULL, NULL, NULL), -EAFNOSUPPORT);
}
END_TEST

struct progress_log {
	uint32_t calls, last;
	int backwards;
};

static void log_progress(uint32_t done, void *arg)
{
	struct progress_log *log = arg;

	if (done <= log->last)
		log->backwards++;
	log->last = done;
	log->calls++;
}

/* UDP entries (fill … udp) are numbered by source port as TCP's, ASSURED, with
 * no TCP state; the same tuples as TCP are other entries. */
static void check_insert_count_flush(int family, int protocol, uint32_t count)
{
	struct progress_log log = { 0 };
	struct ctfill_spec spec;
	struct ct_request req;
	uint32_t inserted = 0;
	struct netns *ns;

	ns = netns_new("ctfill");
	ck_assert_ptr_nonnull(ns);
	ctfill_spec_flood(&spec, family, count);
	if (protocol == IPPROTO_UDP) {
		spec.protocol = IPPROTO_UDP;
		spec.dport = CTFILL_UDP_DPORT;
	}
	ck_assert_int_eq(ctfill_insert(ns, &spec, &inserted, log_progress, &log), 0);
	ck_assert_uint_eq(inserted, count);
	ck_assert_uint_eq(count_of(ns), count);
	ck_assert_uint_gt(log.calls, 1);	/* more than one batch */
	ck_assert_int_eq(log.backwards, 0);
	ck_assert_uint_eq(log.last, count);

	/* What the kernel made of the last entry: conntrack -I's ESTABLISHED, ASSURED. */
	req = (struct ct_request){ .spec = &spec, .n = count - 1 };
	ck_assert_int_eq(netns_run(ns, get_entry, &req), 0);
	ck_assert_uint_eq(req.status & (IPS_ASSURED | IPS_SEEN_REPLY | IPS_CONFIRMED),
			  IPS_ASSURED | IPS_SEEN_REPLY | IPS_CONFIRMED);
	if (protocol == IPPROTO_TCP) {
		ck_assert_uint_eq(req.tcp_state, TCP_CONNTRACK_ESTABLISHED);
		ck_assert_uint_le(req.timeout, 3600);
		ck_assert_uint_gt(req.timeout, 3500);
	} else {
		spec.protocol = IPPROTO_TCP;
		ck_assert_int_eq(netns_run(ns, get_entry, &req), -ENOENT);
		spec.protocol = IPPROTO_UDP;
	}

	/* Entries already there are skipped, not errors. */
	ck_assert_int_eq(ctfill_insert(ns, &spec, &inserted, NULL, NULL), 0);
	ck_assert_uint_eq(inserted, 0);
	ck_assert_uint_eq(count_of(ns), count);

	ck_assert_int_eq(ctfill_flush(ns), 0);
	ck_assert_uint_eq(count_of(ns), 0);
	netns_free(ns);
}

START_TEST(test_insert_count_flush_ipv4)
{
	check_insert_count_flush(AF_INET, IPPROTO_TCP, 2000);
}
END_TEST

START_TEST(test_insert_count_flush_ipv6)
{
	check_insert_count_flush(AF_INET6, IPPROTO_TCP, 2000);
}
END_TEST

START_TEST(test_insert_udp)
{
	check_insert_count_flush(AF_INET, IPPROTO_UDP, 2000);
}
END_TEST

START_TEST(test_flush_both_families)
{
	struct ctfill_spec spec;
	struct netns *ns;

	ns = netns_new("ctfill");
	ck_assert_ptr_nonnull(ns);
	ctfill_spec_flood(&spec, AF_INET, 100);
	ck_assert_int_eq(ctfill_insert(ns, &spec, NULL, NULL, NULL), 0);
	ctfill_spec_flood(&spec, AF_INET6, 100);
	ck_assert_int_eq(ctfill_insert(ns, &spec, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(count_of(ns), 200);
	ck_assert_int_eq(ctfill_flush(ns), 0);
	ck_assert_uint_eq(count_of(ns), 0);
	ck_assert_int_eq(ctfill_flush(ns), 0);	/* an empty table flushes too */
	netns_free(ns);
}
END_TEST

/*
 * The table filled to nf_conntrack_max (global) with ASSURED entries:
 * nothing can be evicted, the next insert fails with ENOMEM and the kernel
 * logs "table full". Timed against one nfct_query per entry.
 */
START_TEST(test_fill_table_batched_vs_naive)
{
	uint32_t max = conntrack_max(), expect, inserted = 0;
	struct ctfill_spec spec, one_more;
	long long start, batched_us, naive_us, flush_us;
	struct kmsg_mark mark;
	struct ct_request req;
	struct netns *ns;
	char line[256], text[64];
	int rc, logged;

	expect = max < BENCH_ENTRIES ? max : BENCH_ENTRIES;
	ns = netns_new("ctfill");
	ck_assert_ptr_nonnull(ns);
	ctfill_spec_flood(&spec, AF_INET, BENCH_ENTRIES);
	start = now_us();
	rc = ctfill_insert(ns, &spec, &inserted, NULL, NULL);
	batched_us = now_us() - start;
	ck_assert_int_eq(rc, expect < BENCH_ENTRIES ? -ENOMEM : 0);
	ck_assert_uint_eq(inserted, expect);
	ck_assert_uint_eq(count_of(ns), expect);

	if (expect == max) {
		ctfill_spec_flood(&one_more, AF_INET, 1);
		one_more.dport = 81;
		ck_assert_int_eq(kmsg_mark(&mark), 0);
		ck_assert_int_eq(ctfill_insert(ns, &one_more, &inserted, NULL, NULL), -ENOMEM);
		ck_assert_uint_eq(inserted, 0);
		ck_assert_uint_eq(count_of(ns), max);
		/* Since 6.x the line names the namespace; before, it did not. */
		snprintf(text, sizeof(text), "table full in netns %llu,", netns_inode(ns));
		logged = kmsg_find(&mark, text, 1000, line, sizeof(line));
		if (!logged)
			logged = kmsg_find(&mark, "nf_conntrack: table full, dropping packet", 0,
					   line, sizeof(line));
		/* The line goes through the kernel's global net_ratelimit (10 per 5 s for
		 * the whole machine): another run's drops may have used it up. */
		ck_assert_msg(logged >= 0, "reading the kernel log: %s", strerror(-logged));
		if (logged)
			printf("# table full at %u entries: next insert ENOMEM, kernel log \"%s\"\n",
			       max, line);
		else
			printf("# table full at %u entries: next insert ENOMEM; no kernel log line "
			       "(rate limited)\n", max);
	}
	/* Flushed here, not by the namespace's teardown, which would run during the next timing. */
	start = now_us();
	ck_assert_int_eq(ctfill_flush(ns), 0);
	flush_us = now_us() - start;
	ck_assert_uint_eq(count_of(ns), 0);
	netns_free(ns);

	ns = netns_new("ctfill-naive");
	ck_assert_ptr_nonnull(ns);
	req = (struct ct_request){ .spec = &spec, .n = expect };
	start = now_us();
	rc = netns_run(ns, create_one_by_one, &req);
	naive_us = now_us() - start;
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(req.created, expect);
	ck_assert_uint_eq(count_of(ns), expect);
	ck_assert_int_eq(ctfill_flush(ns), 0);
	netns_free(ns);

	printf("# %u IPv4 entries in a fresh namespace: batched %.0f ms (%.2f us each), "
	       "one nfct_query each %.0f ms (%.2f us each), %.1fx\n",
	       expect, batched_us / 1000.0, (double)batched_us / expect, naive_us / 1000.0,
	       (double)naive_us / expect, (double)naive_us / (double)batched_us);
	printf("# flushing them: %.0f ms\n", flush_us / 1000.0);
}
END_TEST

static int probe_ctnetlink(struct netns *probe)
{
	struct ctfill_spec spec;

	ctfill_spec_flood(&spec, AF_INET, 1);
	return ctfill_insert(probe, &spec, NULL, NULL, NULL);
}

static const char *missing_feature(void)
{
	return privileged_missing(probe_ctnetlink, "no ctnetlink");
}

static Suite *ctfill_suite(const char *skip_reason)
{
	Suite *suite = suite_create("ctfill");
	TCase *unprivileged = tcase_create("unprivileged");
	TCase *table = tcase_create("table");
	TCase *full = tcase_create("full");

	tcase_add_test(unprivileged, test_spec_flood);
	tcase_add_test(unprivileged, test_insert_rejects_bad_spec);
	suite_add_tcase(suite, unprivileged);
	if (skip_reason)
		return suite;

	tcase_set_timeout(table, 30);
	tcase_add_test(table, test_insert_count_flush_ipv4);
	tcase_add_test(table, test_insert_count_flush_ipv6);
	tcase_add_test(table, test_flush_both_families);
	tcase_add_test(table, test_insert_udp);
	suite_add_tcase(suite, table);

	tcase_set_timeout(full, 120);
	tcase_add_test(full, test_fill_table_batched_vs_naive);
	suite_add_tcase(suite, full);
	return suite;
}

int main(void)
{
	const char *skip_reason = privileged_skip(missing_feature, "# SKIP privileged ctfill tests");

	if (privileged_take_machine(skip_reason) < -1)
		return EXIT_FAILURE;
	return suite_run(ctfill_suite(skip_reason)) ? EXIT_FAILURE : EXIT_SUCCESS;
}
