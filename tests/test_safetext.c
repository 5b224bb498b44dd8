/* Unit tests of safetext: what reaches a terminal or a report shows, never acts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "suite.h"

static void assert_escaped(const char *in, size_t size, bool keep_newlines, const char *out,
			   bool changed)
{
	char buf[256];

	ck_assert_uint_le(size, sizeof(buf));
	snprintf(buf, sizeof(buf), "%s", in);
	ck_assert_int_eq(safetext_escape(buf, size, keep_newlines), changed);
	ck_assert_str_eq(buf, out);
}

START_TEST(plain_text_unchanged)
{
	assert_escaped("SEQ is over upper bound 5 (over the window of the receiver)", 256, false,
		       "SEQ is over upper bound 5 (over the window of the receiver)", false);
	assert_escaped("定位 conntrack\tRST — ok", 256, false, "定位 conntrack\tRST — ok", false);
	assert_escaped("", 256, false, "", false);
}
END_TEST

START_TEST(controls_escaped)
{
	assert_escaped("\033[31mred\033[0m", 256, false, "\\x1b[31mred\\x1b[0m", true);
	assert_escaped("over\rwrite", 256, false, "over\\x0dwrite", true);
	assert_escaped("a\nb", 256, false, "a\\x0ab", true);
	assert_escaped("a\nb", 256, true, "a\nb", false);
	assert_escaped("del\177", 256, false, "del\\x7f", true);
	/* C1 CSI, a bidi override, a lone byte that is not UTF-8. */
	assert_escaped("\302\233x", 256, false, "\\x9bx", true);
	assert_escaped("\342\200\256abc", 256, false, "\\u{202e}abc", true);
	assert_escaped("\377 \300\257", 256, false, "\\xff \\xc0\\xaf", true);
}
END_TEST

/* A result that does not fit is cut between characters, never inside one. */
START_TEST(cut_at_a_boundary)
{
	assert_escaped("ab\033cd", 6, false, "ab", true);
	assert_escaped("ab\033cd", 7, false, "ab\\x1b", true);
	assert_escaped("a定\033", 6, false, "a定", true);
}
END_TEST

START_TEST(utf8_sequences)
{
	uint32_t code;

	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"A", 1, &code), 1);
	ck_assert_uint_eq(code, 'A');
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\344\270\255", 3, &code), 3);
	ck_assert_uint_eq(code, 0x4e2d);
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\360\237\230\200", 4, &code), 4);
	ck_assert_uint_eq(code, 0x1f600);
	/* truncated, overlong, surrogate, beyond U+10FFFF, a continuation alone */
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\344\270", 2, &code), 0);
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\340\200\200", 3, &code), 0);
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\355\240\200", 3, &code), 0);
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\364\220\200\200", 4, &code), 0);
	ck_assert_uint_eq(safetext_utf8((const unsigned char *)"\200", 1, &code), 0);
	ck_assert(safetext_is_control(0x1b) && safetext_is_control(0x85) &&
		  safetext_is_control(0x2066) && !safetext_is_control('\t') &&
		  !safetext_is_control(0x4e2d));
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("safetext");
	TCase *tc = tcase_create("safetext");

	tcase_add_test(tc, plain_text_unchanged);
	tcase_add_test(tc, controls_escaped);
	tcase_add_test(tc, cut_at_a_boundary);
	tcase_add_test(tc, utf8_sequences);
	suite_add_tcase(suite, tc);
	return suite_main(suite);
}
