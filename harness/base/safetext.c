/* safetext — text from a scenario, a file or the kernel made safe to show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

size_t safetext_utf8(const unsigned char *s, size_t len, uint32_t *code)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	uint32_t c;

	if (n == 0 || s[0] >= 0xf8 || len < n)
		return 0;
	if (n == 1) {
		*code = s[0];
		return 1;
	}
	c = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*code = c;
	return n;
}

bool safetext_is_control(uint32_t c)
{
	return (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

bool safetext_escape(char *buf, size_t size, bool keep_newlines)
{
	size_t len, in = 0, out = 0;
	bool escaped = false;
	unsigned char *copy;

	if (!buf || size == 0)
		return false;
	len = strnlen(buf, size - 1);
	buf[len] = '\0';
	/* Most text needs nothing: look before copying. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			goto rewrite;
	return false;

rewrite:
	copy = malloc(len + 1);
	if (!copy) {
		/* No room to escape: blank out what a terminal would act on. */
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)buf[i] < 0x20 && !(keep_newlines && buf[i] == '\n'))
				buf[i] = '?';
		return true;
	}
	memcpy(copy, buf, len + 1);
	while (in < len) {
		uint32_t c;
		size_t n = safetext_utf8(copy + in, len - in, &c);
		char piece[16];
		size_t piece_len;

		if (n && (!safetext_is_control(c) || (keep_newlines && c == '\n'))) {
			memcpy(piece, copy + in, n);
			piece_len = n;
		} else {
			escaped = true;
			if (!n) {
				c = copy[in];
				n = 1;
			}
			piece_len = (size_t)snprintf(piece, sizeof(piece),
						     c <= 0xff ? "\\x%02x" : "\\u{%04x}", (unsigned)c);
		}
		if (out + piece_len > size - 1)
			break;
		memcpy(buf + out, piece, piece_len);
		out += piece_len;
		in += n;
	}
	buf[out] = '\0';
	free(copy);
	return escaped;
}
