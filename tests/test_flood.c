// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/flood: the SYN template and its per-tuple patching without
 * a kernel, then (as root) a SYN flood filling the router's conntrack table in
 * the routed topology. Privileged tests are skipped with a "# SKIP" line (exit
 * 0) when not root or when a kernel feature is missing. CTLAB_FLOOD_BENCH=1
 * adds fills of the whole table for every method, thread count and family.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "inject/inject.h"
#include "netns/netns.h"
#include "packet/packet.h"
#include "privileged.h"

#define FLOOD_DPORT		9	/* discard: the server drops it, never answers */
#define FLOOD_COUNT_IPV6	65536
#define FLOOD_OVERFILL		32768	/* SYNs beyond the max */
#define FILL_STALL_S		2.0	/* the count stopped growing for this long: it is done */
#define FILL_TIMEOUT_S		120.0	/* and however it grows, no longer than this */
#define COUNT_TEXT_MAX		32
#define SETTLE_TIMEOUT_S	30.0
#define SETTLED_OBJECTS		16384

static const uint8_t router_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };
static const uint8_t client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void server_addr(int family, union inet_addr *dst)
{
	memset(dst, 0, sizeof(*dst));
	ck_assert_int_eq(inet_pton(family, family == AF_INET ? "198.19.0.2" : "2001:db8:2::2", dst), 1);
}

/* Unprivileged: template, patching, tuples */

/*
 * Check's assertions record each pass through the fork's pipe: millions of
 * them cost seconds. Checked in a loop, a field aborts only when it fails.
 */
#define CHECK_FIELD(cond, index)						\
	do {									\
		if (!(cond))							\
			ck_abort_msg("index %llu: %s", (unsigned long long)(index), #cond); \
	} while (0)

/* A SYN flood's frames, or a UDP flood's datagrams (right checksums, never 0):
 * the tuple's source, the template's destination. */
static void check_frames(int family, int protocol, uint32_t first, uint32_t count, uint32_t step)
{
	size_t addr_len = family == AF_INET ? 4 : 16, ip_len = family == AF_INET ? 20 : 40;
	uint16_t dport = protocol == IPPROTO_TCP ? FLOOD_DPORT : 53;
	struct flood_template tpl;
	struct packet_summary sum;
	uint8_t frame[FLOOD_FRAME_MAX];
	union inet_addr dst, src;
	uint16_t sport;
	uint64_t i;

	server_addr(family, &dst);
	if (protocol == IPPROTO_TCP) {
		ck_assert_int_eq(flood_template_init(&tpl, family, router_mac, client_mac, &dst, dport), 0);
		ck_assert_uint_eq(tpl.len, FLOOD_ETH_LEN + ip_len + 24);
	} else {
		ck_assert_int_eq(flood_template_init_udp(&tpl, family, router_mac, client_mac, &dst, dport), 0);
		ck_assert_uint_eq(tpl.len, FLOOD_ETH_LEN + ip_len + 8 + 12);
	}
	for (i = first; i < (uint64_t)first + count; i += step) {
		memset(frame, 0xa5, sizeof(frame));
		flood_template_write(&tpl, (uint32_t)i, frame);
		CHECK_FIELD(memcmp(frame, router_mac, 6) == 0, i);
		CHECK_FIELD(memcmp(frame + 6, client_mac, 6) == 0, i);
		CHECK_FIELD((frame[12] << 8 | frame[13]) == (family == AF_INET ? 0x0800 : 0x86dd), i);
		CHECK_FIELD(packet_parse(frame + FLOOD_ETH_LEN, tpl.len - FLOOD_ETH_LEN, &sum) == 0, i);
		CHECK_FIELD(sum.family == family, i);
		CHECK_FIELD(family != AF_INET || sum.ip_checksum_ok, i);
		CHECK_FIELD(!sum.truncated, i);
		CHECK_FIELD(sum.protocol == protocol, i);
		if (protocol == IPPROTO_TCP) {
			CHECK_FIELD(sum.tcp_checksum_ok, i);
			CHECK_FIELD(sum.flags == TCP_FLAG_SYN, i);
			CHECK_FIELD(sum.ttl == 64, i);
			CHECK_FIELD(sum.ip_id == 0, i);
			CHECK_FIELD(sum.mss == 1460, i);
		} else {
			CHECK_FIELD(sum.udp_checksum_ok, i);
			CHECK_FIELD((frame[tpl.len - 12 - 2] | frame[tpl.len - 12 - 1]) != 0, i);
		}
		CHECK_FIELD(sum.dport == dport, i);
		CHECK_FIELD(memcmp(&sum.dst, &dst, addr_len) == 0, i);
		flood_tuple(family, (uint32_t)i, &src, &sport);
		CHECK_FIELD(memcmp(&sum.src, &src, addr_len) == 0, i);
		CHECK_FIELD(sum.sport == sport, i);
		CHECK_FIELD(sport >= FLOOD_SPORT_MIN, i);
	}
}

START_TEST(test_udp_frames_verify)
{
	check_frames(AF_INET, IPPROTO_UDP, 0, 200000, 1);
	check_frames(AF_INET, IPPROTO_UDP, 0, (uint32_t)flood_tuple_max(AF_INET), 7919);
	check_frames(AF_INET6, IPPROTO_UDP, 0, 200000, 1);
	check_frames(AF_INET6, IPPROTO_UDP, 0xffff0000u, 65535, 1);
	ck_assert_int_eq(flood_template_init_udp(&(struct flood_template){ 0 }, AF_UNIX, router_mac,
						 client_mac, &(union inet_addr){ 0 }, 9), -EINVAL);
}
END_TEST

START_TEST(test_frames_verify_ipv4)
{
	check_frames(AF_INET, IPPROTO_TCP, 0, 300000, 1);
	check_frames(AF_INET, IPPROTO_TCP, (uint32_t)(flood_tuple_max(AF_INET) - 100000), 100000, 1);
	check_frames(AF_INET, IPPROTO_TCP, 0, (uint32_t)flood_tuple_max(AF_INET), 7919);
}
END_TEST

START_TEST(test_frames_verify_ipv6)
{
	check_frames(AF_INET6, IPPROTO_TCP, 0, 300000, 1);
	check_frames(AF_INET6, IPPROTO_TCP, UINT32_MAX - 100000, 100001, 1);
	check_frames(AF_INET6, IPPROTO_TCP, 0, UINT32_MAX, 104729);
}
END_TEST

static int key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* (low 32 bits of the source, port) of @count tuples from @first, sorted, have no repeat. */
static void check_distinct(int family, uint32_t first, uint32_t count)
{
	uint64_t *keys = calloc(count, sizeof(*keys));
	union inet_addr src, prefix;
	uint16_t sport;
	uint32_t i, low;

	ck_assert_ptr_nonnull(keys);
	flood_tuple(family, first, &prefix, &sport);
	ck_assert_uint_eq(prefix.v6.s6_addr[0], family == AF_INET ? 198 : 0x20);
	for (i = 0; i < count; i++) {
		flood_tuple(family, first + i, &src, &sport);
		if (family == AF_INET) {
			low = ntohl(src.v4.s_addr);
			CHECK_FIELD(low >> 15 == 0xc6128000u >> 15, first + i);	/* 198.18.128.0/17 */
		} else {
			/* 2001:db8:3::/48, only the low 32 bits vary */
			CHECK_FIELD(memcmp(&src.v6, &prefix.v6, 12) == 0, first + i);
			CHECK_FIELD(src.v6.s6_addr[5] == 3, first + i);
			low = (uint32_t)src.v6.s6_addr[12] << 24 | (uint32_t)src.v6.s6_addr[13] << 16 |
			      (uint32_t)src.v6.s6_addr[14] << 8 | src.v6.s6_addr[15];
		}
		keys[i] = (uint64_t)low << 16 | sport;
	}
	qsort(keys, count, sizeof(*keys), key_cmp);
	for (i = 1; i < count; i++)
		if (keys[i] == keys[i - 1])
			ck_abort_msg("tuple repeated: %016llx", (unsigned long long)keys[i]);
	free(keys);
}

START_TEST(test_tuples_distinct)
{
	check_distinct(AF_INET, 0, 1u << 20);
	check_distinct(AF_INET, (uint32_t)(flood_tuple_max(AF_INET) - (1u << 20)), 1u << 20);
	check_distinct(AF_INET6, 0, 1u << 20);
	check_distinct(AF_INET6, UINT32_MAX - (1u << 20), 1u << 20);
}
END_TEST

START_TEST(test_bad_specs)
{
	struct flood_template tpl;
	struct flood_result result;
	struct flood_spec spec = { .family = AF_INET, .count = 1 };
	union inet_addr dst;

	server_addr(AF_INET, &dst);
	ck_assert_int_eq(flood_template_init(&tpl, AF_UNIX, router_mac, client_mac, &dst, 9), -EINVAL);
	ck_assert_int_eq(flood_run(&spec, &result, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(flood_tuple_max(AF_UNIX), 0);
	ck_assert_str_eq(flood_method_name(FLOOD_METHOD_TX_RING), "tx-ring");
	ck_assert_ptr_null(flood_method_name(FLOOD_METHOD_COUNT));
}
END_TEST

/* Privileged: filling the router's table */

/* Conntrack runs on the router; the server drops the SYNs so nothing answers them. */
static const char router_rules[] =
	"table inet flood {\n"
	" chain forward {\n"
	"  type filter hook forward priority 0; policy accept;\n"
	"  ct state new counter\n"
	" }\n"
	"}\n";
/* At ingress, the first hook: the server spends nothing on them. */
static const char server_rules[] =
	"table netdev flood {\n"
	" chain ingress {\n"
	"  type filter hook ingress device eth0 priority 0; policy accept;\n"
	"  tcp dport 9 drop\n"
	" }\n"
	"}\n";

struct fill {
	struct topology *topology;
	struct host *client, *router, *server;
	int count_fd;			/* the router's nf_conntrack_count, opened inside it */
	long max;
	long target;			/* count that means full */
	double start, filled;		/* filled: seconds from start, < 0 until seen */
	long last_count;
};

static int open_count(void *arg)
{
	int fd;

	(void)arg;
	fd = open("/proc/sys/net/netfilter/nf_conntrack_count", O_RDONLY | O_CLOEXEC);
	/* cppcheck-suppress resourceLeak ; the file is returned, the caller's to close */
	return fd < 0 ? -errno : fd;
}

static long read_count(const struct fill *fill)
{
	char text[COUNT_TEXT_MAX];
	ssize_t len;

	len = pread(fill->count_fd, text, sizeof(text) - 1, 0);
	ck_assert_int_gt(len, 0);
	text[len] = '\0';
	return strtol(text, NULL, 10);
}

/* How far short of its target a fill may end: SYNs lost before conntrack on a
 * loaded machine (0.1 %), and, at the max, what one early drop can evict beyond
 * the entry it makes room for (a whole hash chain of unreplied entries). */
static long fill_slack(long target)
{
	return target / 1000 + 64;
}

static void fill_poll(struct fill *fill)
{
	fill->last_count = read_count(fill);
	if (fill->filled < 0 && fill->last_count >= fill->target)
		fill->filled = now_seconds() - fill->start;
}

static void fill_progress(uint32_t sent, void *arg)
{
	(void)sent;
	fill_poll(arg);
}

/*
 * A freed namespace's entries are destroyed by a kernel worker afterwards,
 * a CPU busy for a good part of a second after a full table: a run started
 * then measures the worker. Wait, bounded, until the host holds few entries.
 */
static void wait_conntrack_settled(void)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	double deadline = now_seconds() + SETTLE_TIMEOUT_S;
	long objects;

	do {
		objects = ctfill_host_entries();
		if (objects < SETTLED_OBJECTS)
			return;
		nanosleep(&tick, NULL);
	} while (now_seconds() < deadline);
	printf("# %ld conntrack entries still on the host after %.0f s\n", objects, SETTLE_TIMEOUT_S);
}

static void fill_setup(struct fill *fill)
{
	char text[COUNT_TEXT_MAX], err[512];

	wait_conntrack_settled();
	memset(fill, 0, sizeof(*fill));
	fill->topology = topology_new(TOPOLOGY_ROUTED);
	ck_assert_msg(fill->topology != NULL, "topology_new: %s", strerror(errno));
	fill->client = topology_host(fill->topology, "client");
	fill->router = topology_host(fill->topology, "router");
	fill->server = topology_host(fill->topology, "server");
	ck_assert_msg(netns_nft_load(fill->router->ns, router_rules, err, sizeof(err)) == 0, "router nft: %s", err);
	ck_assert_msg(netns_nft_load(fill->server->ns, server_rules, err, sizeof(err)) == 0, "server nft: %s", err);
	/* Global, read-only in a child namespace: read, never written. */
	ck_assert_int_gt(netns_sysctl_read(fill->router->ns, "net.netfilter.nf_conntrack_max", text, sizeof(text)), 0);
	fill->max = strtol(text, NULL, 10);
	ck_assert_int_gt(fill->max, 0);
	fill->count_fd = netns_run(fill->router->ns, open_count, NULL);
	ck_assert_int_ge(fill->count_fd, 0);
	ck_assert_int_eq(read_count(fill), 0);
	fill->filled = -1;
}

static void fill_teardown(struct fill *fill)
{
	close(fill->count_fd);
	topology_free(fill->topology);
}

/* early_drop summed over the router's CPUs (hex columns of stat/nf_conntrack). */
static unsigned long router_early_drops(struct fill *fill)
{
	static char text[1 << 16];
	unsigned long total = 0, value;
	int column, early_col = -1;
	char *line, *save, *field, *fsave;

	ck_assert_int_gt(netns_read_file(fill->router->ns, "/proc/thread-self/net/stat/nf_conntrack", text,
					 sizeof(text)), 0);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		column = 0;
		for (field = strtok_r(line, " ", &fsave); field; field = strtok_r(NULL, " ", &fsave), column++) {
			if (early_col < 0) {
				if (strcmp(field, "early_drop") == 0)
					early_col = column;
				continue;
			}
			if (column == early_col) {
				value = strtoul(field, NULL, 16);
				total += value;
			}
		}
	}
	return total;
}

static long peak_rss_kib(void)
{
	struct rusage usage;

	getrusage(RUSAGE_SELF, &usage);
	return usage.ru_maxrss;
}

struct fill_figures {
	long max, count;
	unsigned long early_drops;
};

/*
 * Floods @extra SYNs more than the table's max (@count of them if not 0)
 * and waits, bounded, for the router's count to reach min(max, SYNs sent).
 * Prints the figures; fills @figures if not NULL.
 */
static void fill_run(int family, uint32_t count, uint32_t extra, enum flood_method method, unsigned int threads,
		     struct fill_figures *figures)
{
	char threads_text[16];
	unsigned long early_drops;
	struct flood_result result;
	struct flood_spec spec;
	struct fill fill;
	double deadline, stalled;
	int err;

	fill_setup(&fill);
	if (!count)
		count = (uint32_t)fill.max + extra;
	fill.target = (long)count < fill.max ? (long)count : fill.max;
	memset(&spec, 0, sizeof(spec));
	spec.family = family;
	spec.ns = fill.client->ns;
	spec.ifname = fill.client->ifname;
	spec.gateway_ns = fill.router->ns;
	spec.gateway_ifname = "eth0";
	server_addr(family, &spec.dst);
	spec.dport = FLOOD_DPORT;
	spec.count = count;
	spec.threads = threads;
	spec.method = method;

	fill.start = now_seconds();
	err = flood_run(&spec, &result, fill_progress, &fill);
	ck_assert_msg(err == 0, "flood_run: %s", strerror(-err));
	ck_assert_uint_eq(result.sent, count);
	/* The router works in the senders' softirqs: the count is normally there
	 * already; on a loaded machine ksoftirqd may still be at it, so wait while
	 * it grows, not for a fixed time. */
	deadline = now_seconds() + FILL_TIMEOUT_S;
	stalled = now_seconds() + FILL_STALL_S;
	while (fill.filled < 0 && now_seconds() < deadline && now_seconds() < stalled) {
		long before = fill.last_count;

		fill_poll(&fill);
		if (fill.last_count != before)
			stalled = now_seconds() + FILL_STALL_S;
		sched_yield();
	}
	early_drops = router_early_drops(&fill);
	/* Past the max the count stands still while early drops go on: wait for
	 * their sum to settle as well. */
	stalled = now_seconds() + FILL_STALL_S;
	while (fill.last_count + (long)early_drops < (long)count && now_seconds() < deadline &&
	       now_seconds() < stalled) {
		long before = fill.last_count + (long)early_drops;
		struct timespec pause = { 0, 20 * 1000 * 1000 };

		nanosleep(&pause, NULL);	/* paces the polling, not a wait for the kernel */
		fill_poll(&fill);
		early_drops = router_early_drops(&fill);
		if (fill.last_count + (long)early_drops != before)
			stalled = now_seconds() + FILL_STALL_S;
	}
	if (threads)
		snprintf(threads_text, sizeof(threads_text), "%u", threads);
	else
		snprintf(threads_text, sizeof(threads_text), "auto");
	printf("# %s %s threads=%s: %u SYNs in %.3f s (%.2f Mpps), count %ld of max %ld, "
	       "filled in %.3f s, early_drop %lu, peak RSS %ld KiB\n",
	       family == AF_INET ? "IPv4" : "IPv6", flood_method_name(method), threads_text,
	       result.sent, result.seconds, result.sent / result.seconds / 1e6, fill.last_count, fill.max,
	       fill.filled, early_drops, peak_rss_kib());
	/* A SYN may be lost before conntrack sees it (a full backlog under load):
	 * the kernel promises an entry per SYN it handled, not per SYN sent. */
	ck_assert_msg(fill.last_count >= fill.target - fill_slack(fill.target),
		      "count %ld never came within %ld of %ld", fill.last_count,
		      fill_slack(fill.target), fill.target);
	if (figures) {
		figures->max = fill.max;
		figures->count = fill.last_count;
		figures->early_drops = early_drops;
	}
	fill_teardown(&fill);
}

START_TEST(test_fill_ipv4)
{
	struct fill_figures figures;

	fill_run(AF_INET, 0, 0, FLOOD_METHOD_AUTO, 0, &figures);
	ck_assert_int_le(figures.count, figures.max);
	ck_assert_int_ge(figures.count, figures.max - fill_slack(figures.max));
}
END_TEST

START_TEST(test_fill_ipv6)
{
	struct fill_figures figures;

	fill_run(AF_INET6, FLOOD_COUNT_IPV6, 0, FLOOD_METHOD_AUTO, 0, &figures);
	ck_assert_int_le(figures.count, FLOOD_COUNT_IPV6);
	ck_assert_int_ge(figures.count, FLOOD_COUNT_IPV6 - fill_slack(FLOOD_COUNT_IPV6));
}
END_TEST

/*
 * Past the max, early_drop evicts unreplied entries to make room for each
 * new one: the count stays at the max and nothing is dropped.
 */
START_TEST(test_overfill_ipv4)
{
	struct fill_figures figures;
	long sent;

	fill_run(AF_INET, 0, FLOOD_OVERFILL, FLOOD_METHOD_AUTO, 0, &figures);
	/* Each SYN conntrack handled made an entry, present or evicted (several may
	 * go at once); a few may have been lost before it under load. */
	sent = figures.max + FLOOD_OVERFILL;
	ck_assert_int_gt(figures.early_drops, 0);
	ck_assert_int_le(figures.count + (long)figures.early_drops, sent);
	ck_assert_int_ge(figures.count + (long)figures.early_drops, sent - fill_slack(sent));
	ck_assert_int_ge(figures.count, figures.max - fill_slack(figures.max));
}
END_TEST

START_TEST(test_bench)
{
	static const enum flood_method methods[] = { FLOOD_METHOD_TX_RING, FLOOD_METHOD_SENDMMSG };
	static const int families[] = { AF_INET, AF_INET6 };
	unsigned int m, f, threads;

	for (f = 0; f < 2; f++)
		for (m = 0; m < 2; m++)
			for (threads = 1; threads <= 2; threads++)
				fill_run(families[f], 0, 0, methods[m], threads, NULL);
}
END_TEST

static int probe_packet_nft(struct netns *probe)
{
	int fd = netns_socket(probe, AF_PACKET, SOCK_RAW, 0);

	if (fd < 0)
		return fd;
	close(fd);
	return netns_nft_load(probe, router_rules, NULL, 0);
}

static const char *missing_feature(void)
{
	return privileged_missing(probe_packet_nft, "kernel lacks AF_PACKET or nftables with conntrack");
}

static Suite *flood_suite(const char *skip_reason)
{
	Suite *suite = suite_create("flood");
	TCase *unprivileged = tcase_create("unprivileged");
	TCase *fill = tcase_create("fill");
	const char *bench = getenv("CTLAB_FLOOD_BENCH");

	tcase_set_timeout(unprivileged, 60);
	tcase_add_test(unprivileged, test_frames_verify_ipv4);
	tcase_add_test(unprivileged, test_frames_verify_ipv6);
	tcase_add_test(unprivileged, test_udp_frames_verify);
	tcase_add_test(unprivileged, test_tuples_distinct);
	tcase_add_test(unprivileged, test_bad_specs);
	suite_add_tcase(suite, unprivileged);
	if (skip_reason)
		return suite;

	tcase_set_timeout(fill, 120);
	tcase_add_test(fill, test_fill_ipv4);
	tcase_add_test(fill, test_fill_ipv6);
	tcase_add_test(fill, test_overfill_ipv4);
	if (bench && strcmp(bench, "1") == 0)
		tcase_add_test(fill, test_bench);
	suite_add_tcase(suite, fill);
	return suite;
}

int main(void)
{
	char links_before[HOST_LINKS_MAX];
	const char *skip_reason;
	int failed;

	skip_reason = privileged_skip(missing_feature, "# SKIP privileged flood tests");
	if (privileged_take_machine(skip_reason) < -1)
		return EXIT_FAILURE;
	host_links(links_before, sizeof(links_before));

	failed = suite_run(flood_suite(skip_reason));

	failed += host_links_changed(links_before);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
