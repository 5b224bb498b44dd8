/* safetext — text from a scenario, a file or the kernel made safe to show: UTF-8 checks, and escapes for what a terminal would act on. */
#ifndef CTLAB_SAFETEXT_H
#define CTLAB_SAFETEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * safetext_utf8 - the length of the UTF-8 sequence at @s[0..@len) (1 for
 * ASCII), its code point in *@code; 0 when it is malformed, overlong, a
 * surrogate or beyond U+10FFFF.
 */
size_t safetext_utf8(const unsigned char *s, size_t len, uint32_t *code);

/*
 * safetext_is_control - true for what a terminal acts on rather than shows:
 * C0 controls but tab, DEL, C1 controls, and the bidirectional overrides and
 * isolates that reorder what is displayed (U+202A..202E, U+2066..2069).
 */
bool safetext_is_control(uint32_t code);

/*
 * safetext_escape - rewrite the string in @buf (of @size bytes) so that it
 * shows as it is: each control character (see above; newlines kept when
 * @keep_newlines) and each byte that is not UTF-8 becomes \xNN (a control
 * beyond U+00FF becomes \u{NNNN}).  A result that does not fit is cut at a
 * character boundary.  Returns true when something was escaped.
 */
bool safetext_escape(char *buf, size_t size, bool keep_newlines);

#endif
