/* test_expect.c — the expectation matcher: reason patterns and each kind of check. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "suite.h"

START_TEST(reason_exact_and_numbers)
{
	ck_assert(reason_matches("invalid tcp flag combination", "invalid tcp flag combination"));
	ck_assert(!reason_matches("invalid tcp flag combination", "invalid tcp flag combinatio"));
	ck_assert(!reason_matches("invalid tcp flag", "invalid tcp flag combination"));
	ck_assert(reason_matches("SEQ is over upper bound # (over the window of the receiver)",
				 "SEQ is over upper bound 2766733 (over the window of the receiver)"));
	ck_assert(!reason_matches("SEQ is over upper bound # (over the window of the receiver)",
				  "SEQ is over upper bound (over the window of the receiver)"));
	ck_assert(!reason_matches("SEQ is over upper bound # (over", "SEQ is over upper bound x (over"));
	ck_assert(reason_matches("packet (index #) in dir # invalid, state ESTABLISHED",
				 "packet (index 1) in dir 0 invalid, state ESTABLISHED"));
	ck_assert(reason_matches("#", "0"));
	ck_assert(!reason_matches("#", ""));
	ck_assert(!reason_matches("anything", NULL));
	ck_assert(reason_matches("", ""));
}
END_TEST

START_TEST(reason_values_resolved)
{
	const uint64_t values[] = { 1046127731, 0x100000005ull };
	char buf[128];

	ck_assert_int_eq(reason_resolve("ACK is over upper bound #{c.server.nxt+1} (ACKed)", values,
					1, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ACK is over upper bound 1046127731 (ACKed)");
	ck_assert(reason_matches(buf, "ACK is over upper bound 1046127731 (ACKed)"));
	ck_assert(!reason_matches(buf, "ACK is over upper bound 1046127730 (ACKed)"));
	/* In order, modulo 2^32 as the kernel prints sequence numbers; # stays a wildcard. */
	ck_assert_int_eq(reason_resolve("#{a} # #{b}", values, 2, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "1046127731 # 5");
	ck_assert(reason_matches(buf, "1046127731 77 5"));
	ck_assert_int_eq(reason_resolve("no values", values, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "no values");
	ck_assert_int_eq(reason_resolve("#{a} is long", values, 1, buf, 8), -ENOSPC);
}
END_TEST

static struct expect_step verdict_expect(enum verdict verdict, const char *reason)
{
	struct expect_step expect = { .kind = EXPECT_VERDICT, .verdict = verdict, .reason = "" };

	if (reason) {
		expect.has_reason = true;
		expect.reason = reason;
	}
	return expect;
}

START_TEST(verdict_and_reason)
{
	struct observation seen = { .verdict = VERDICT_INVALID, .reason = "invalid rst" };
	struct expect_step expect = verdict_expect(VERDICT_INVALID, "invalid rst");
	char msg[512] = "";

	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));

	expect = verdict_expect(VERDICT_ESTABLISHED, NULL);
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected verdict established, saw invalid");

	expect = verdict_expect(VERDICT_INVALID, "invalid tcp flag combination");
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected reason \"invalid tcp flag combination\", saw reason \"invalid rst\"");

	seen.reason = NULL;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected reason \"invalid tcp flag combination\", saw no reason logged");

	seen.verdict = VERDICT_UNSEEN;
	expect = verdict_expect(VERDICT_NEW, NULL);
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected verdict new, saw unseen");
}
END_TEST

/* The kernel may log two reasons for one packet: either may be expected. */
START_TEST(second_reason)
{
	struct observation seen = {
		.verdict = VERDICT_INVALID,
		.reason = "SEQ is over upper bound 7 (over the window of the receiver)",
		.n_also = 1,
		.also = { "packet (index 4, dir 1) response for index 4 lower timeout to 75000" },
	};
	struct expect_step expect = { .kind = EXPECT_REASON, .has_reason = true,
				      .reason = "packet (index 4, dir 1) response for index 4 lower timeout to #" };
	char msg[512] = "";

	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	expect.reason = "SEQ is over upper bound # (over the window of the receiver)";
	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	expect.reason = "invalid rst";
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected reason \"invalid rst\", saw reason \"SEQ is over upper bound 7 "
			      "(over the window of the receiver)\" and \"packet (index 4, dir 1) response "
			      "for index 4 lower timeout to 75000\"");
}
END_TEST

START_TEST(reason_none)
{
	struct observation seen = { .verdict = VERDICT_ESTABLISHED };
	struct expect_step expect = { .kind = EXPECT_REASON, .reason_none = true };
	char msg[512] = "";

	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	seen.reason = "SEQ is over upper bound 5 (over the window of the receiver)";
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected no reason logged, saw reason \"SEQ is over upper bound 5 "
			      "(over the window of the receiver)\"");
}
END_TEST

START_TEST(ct_entry)
{
	struct observation seen = {
		.entry = { .found = true, .state = 3, .assured = true, .seen_reply = true },
	};
	struct expect_step expect = { .kind = EXPECT_CT, .state = 3, .assured = 1, .seen_reply = -1 };
	char msg[512] = "";

	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	expect.state = 8;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected state CLOSE, saw ESTABLISHED");
	/* state CLOSE|FIN_WAIT: either, where a timer may have moved it on. */
	expect.also_states = 1u << 4;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected state CLOSE|FIN_WAIT, saw ESTABLISHED");
	expect.also_states |= 1u << 3;
	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	expect.also_states = 0;
	expect.state = 3;
	expect.assured = 0;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected the entry not to be ASSURED, it is");
	seen.entry.found = false;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected an entry in state ESTABLISHED, saw no entry");
	expect.gone = true;
	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	seen.entry.found = true;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected no entry, saw one in state ESTABLISHED");
}
END_TEST

START_TEST(stat_delta)
{
	struct observation seen = { .counter_known = true, .counter_delta = 1 };
	struct expect_step expect = { .kind = EXPECT_STAT, .counter = "invalid", .delta = 1 };
	char msg[512] = "";

	ck_assert(expect_check(&expect, &seen, msg, sizeof(msg)));
	expect.delta = 0;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected stat invalid +0, saw +1");
	expect.since_start = true;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "expected stat invalid +0 since start, saw +1");
	seen.counter_known = false;
	ck_assert(!expect_check(&expect, &seen, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "counter invalid is not reported by this kernel");
}
END_TEST

static Suite *expect_suite(void)
{
	Suite *suite = suite_create("expect");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, reason_exact_and_numbers);
	tcase_add_test(tc, reason_values_resolved);
	tcase_add_test(tc, verdict_and_reason);
	tcase_add_test(tc, reason_none);
	tcase_add_test(tc, second_reason);
	tcase_add_test(tc, ct_entry);
	tcase_add_test(tc, stat_delta);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return suite_main(expect_suite());
}
