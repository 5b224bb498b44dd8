// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/kmsg: marks and finding lines in the kernel log. Each
 * privileged test writes one harmless "ctlab-test <random>" line to the
 * host's kernel log. Without root or /dev/kmsg they are skipped with a
 * "# SKIP" line.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "observe/observe.h"
#include "privileged.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A text no other line of the log contains. */
static void unique_text(const char *what, char *text, size_t size)
{
	unsigned long long nonce;

	ck_assert_int_eq(getrandom(&nonce, sizeof(nonce), 0), (ssize_t)sizeof(nonce));
	snprintf(text, size, "ctlab-test %s %016llx", what, nonce);
}

static void write_kmsg(const char *text)
{
	char line[256];
	int fd, len;

	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "/dev/kmsg: %s", strerror(errno));
	len = snprintf(line, sizeof(line), "%s\n", text);
	ck_assert_int_eq(write(fd, line, (size_t)len), len);
	close(fd);
}

START_TEST(test_find_rejects_bad_args)
{
	struct kmsg_mark mark = { 0 };

	ck_assert_int_eq(kmsg_find(NULL, "x", 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(kmsg_find(&mark, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(kmsg_find(&mark, "", 0, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_find_line_after_mark)
{
	struct kmsg_mark mark;
	char text[64], line[256];

	unique_text("after", text, sizeof(text));
	ck_assert_int_eq(kmsg_mark(&mark), 0);
	write_kmsg(text);
	ck_assert_int_eq(kmsg_find(&mark, text, 2000, line, sizeof(line)), 1);
	ck_assert_str_eq(line, text);
	/* Only part of the message, and a line that does not fit: cut, still found. */
	ck_assert_int_eq(kmsg_find(&mark, text + 11, 0, line, 12), 1);
	ck_assert_str_eq(line, "ctlab-test ");
}
END_TEST

START_TEST(test_line_before_mark_not_found)
{
	struct kmsg_mark before, after;
	char text[64];

	unique_text("before", text, sizeof(text));
	ck_assert_int_eq(kmsg_mark(&before), 0);
	write_kmsg(text);
	ck_assert_int_eq(kmsg_mark(&after), 0);
	ck_assert_uint_gt(after.seq, before.seq);
	ck_assert_int_eq(kmsg_find(&after, text, 200, NULL, 0), 0);
	ck_assert_int_eq(kmsg_find(&before, text, 0, NULL, 0), 1);
}
END_TEST

START_TEST(test_timeout_honoured)
{
	struct kmsg_mark mark;
	char text[64], line[64] = "untouched";
	long long start, took;

	unique_text("never", text, sizeof(text));
	ck_assert_int_eq(kmsg_mark(&mark), 0);
	start = now_ms();
	ck_assert_int_eq(kmsg_find(&mark, text, 300, line, sizeof(line)), 0);
	took = now_ms() - start;
	/* Not early; and it ends (a loaded machine may wake us late: no tight bound). */
	ck_assert_msg(took >= 300 && took < 20000, "waited %lld ms for a 300 ms timeout", took);
	ck_assert_str_eq(line, "untouched");
}
END_TEST

static const char *missing_feature(void)
{
	static char reason[128];
	struct kmsg_mark mark;
	int rc;

	if (geteuid() != 0)
		return "not root";
	rc = kmsg_mark(&mark);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "cannot read /dev/kmsg: %s", strerror(-rc));
		return reason;
	}
	return NULL;
}

/* Lines of the last seconds are counted: what tells a rate limit may be at work. */
START_TEST(test_count_recent)
{
	char text[64];
	unsigned count = 99;

	unique_text("recent", text, sizeof(text));
	ck_assert_int_eq(kmsg_count_recent(text, 60, &count), 0);
	ck_assert_uint_eq(count, 0);
	write_kmsg(text);
	write_kmsg(text);
	ck_assert_int_eq(kmsg_count_recent(text, 60, &count), 0);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(kmsg_count_recent("", 60, &count), -EINVAL);
}
END_TEST

static Suite *kmsg_suite(const char *skip_reason)
{
	Suite *suite = suite_create("kmsg");
	TCase *unprivileged = tcase_create("unprivileged");
	TCase *log = tcase_create("log");

	tcase_add_test(unprivileged, test_find_rejects_bad_args);
	suite_add_tcase(suite, unprivileged);
	if (skip_reason)
		return suite;
	/* Each test waits up to a second or two for the kernel: room for a loaded machine. */
	tcase_set_timeout(log, 30);
	tcase_add_test(log, test_find_line_after_mark);
	tcase_add_test(log, test_line_before_mark_not_found);
	tcase_add_test(log, test_timeout_honoured);
	tcase_add_test(log, test_count_recent);
	suite_add_tcase(suite, log);
	return suite;
}

int main(void)
{
	const char *skip_reason = privileged_skip(missing_feature, "# SKIP privileged kmsg tests");

	return suite_run(kmsg_suite(skip_reason)) ? EXIT_FAILURE : EXIT_SUCCESS;
}
