#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

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
