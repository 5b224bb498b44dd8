#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "text.h"

size_t text_append(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	va_list args;
	int n;

	if (len >= size)
		return len;
	va_start(args, fmt);
	n = vsnprintf(buf + len, size - len, fmt, args);
	va_end(args);
	return n < 0 ? len : len + (size_t)n;
}

bool isn_note(struct isn *isn, const struct packet_summary *packet, int dir, bool new_conn,
	      int32_t *old_seq)
{
	bool restarted = false;

	if (dir < 0 || packet->protocol != IPPROTO_TCP || !(packet->flags & TCP_FLAG_SYN))
		return false;
	if (!(packet->flags & TCP_FLAG_ACK) && new_conn && isn->known[dir] &&
	    isn->value[dir] != packet->seq) {
		if (old_seq)
			*old_seq = (int32_t)(packet->seq - isn->value[dir]);
		isn->known[0] = isn->known[1] = false;
		restarted = true;
	}
	if (!isn->known[dir]) {
		isn->value[dir] = packet->seq;
		isn->known[dir] = true;
	}
	return restarted;
}

size_t text_append_seq(char *buf, size_t size, size_t len, const char *name, uint32_t value,
		       const struct isn *isn, int dir)
{
	if (isn && isn->known[dir])
		return text_append(buf, size, len, "%s%" PRId32, name, (int32_t)(value - isn->value[dir]));
	return text_append(buf, size, len, "%s%" PRIu32, name, value);
}

/* What XML 1.0 cannot carry (C0 controls but tab and newline, U+FFFE, U+FFFF),
 * and what a reader would not see as it is (safetext_is_control). */
static bool xml_escaped(uint32_t c)
{
	return (safetext_is_control(c) && c != '\n') || c == 0xfffe || c == 0xffff;
}

/* The entity of a character XML gives a meaning, and the doubled backslash. */
static const char *xml_entity(uint32_t c)
{
	switch (c) {
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '&':
		return "&amp;";
	case '"':
		return "&quot;";
	case '\'':
		return "&apos;";
	case '\\':
		return "\\\\";
	}
	return NULL;
}

/*
 * XML text: the five characters that matter as entities; the characters above
 * and bytes that are not UTF-8 written visibly as safetext does (\x1b, \xff,
 * \u{202e}), so the file stays well-formed and shows what was there; a
 * backslash doubled, so that no text reads as an escape.
 */
void markup_text(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), n;
	const char *entity;
	uint32_t c;

	for (; len; s += n, len -= n) {
		n = safetext_utf8(s, len, &c);
		if (!n) {
			c = *s;		/* a byte that is not UTF-8 */
			n = 1;
		} else if (!xml_escaped(c)) {
			entity = xml_entity(c);
			if (entity)
				fputs(entity, out);
			else
				fwrite(s, 1, n, out);
			continue;
		}
		fprintf(out, c <= 0xff ? "\\x%02x" : "\\u{%04x}", (unsigned)c);
	}
}
