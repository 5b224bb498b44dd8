/* text — what the ladder and the RST chains write alike: bounded appending, and TCP seq/ack relative to each way's SYN. */
#ifndef CTLAB_TEXT_H
#define CTLAB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "packet/packet.h"

/*
 * text_append - printf @fmt into @buf at @len, never past @size.  Returns the
 * length the whole text would have, so calls chain; once it reaches @size,
 * later calls add nothing.
 */
size_t text_append(char *buf, size_t size, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The initial sequence numbers of a TCP flow, as its SYNs carried them: [0] one way, [1] the other. */
struct isn {
	bool known[2];
	uint32_t value[2];
};

/*
 * isn_note - remember the seq of @packet as the ISN of way @dir (0 or 1; a
 * negative @dir, a packet that is not a TCP SYN: nothing).  A SYN without ACK
 * that conntrack took as NEW (@new_conn) on a way already known with another
 * seq opens a new connection on the tuple (port reuse): both ways are
 * forgotten first.  Returns true then, with its seq relative to the old ISN
 * in *@old_seq (unless NULL); else false.
 */
bool isn_note(struct isn *isn, const struct packet_summary *packet, int dir, bool new_conn,
	      int32_t *old_seq);

/*
 * text_append_seq - text_append() "@nameN" (a blank, if wanted, ends @name):
 * @value relative to the ISN of way @dir when @isn (which may be NULL) knows
 * it, signed as TCP compares them; else as it is.
 */
size_t text_append_seq(char *buf, size_t size, size_t len, const char *name, uint32_t value,
		       const struct isn *isn, int dir);

/*
 * markup_text - @text as XML or HTML text (attribute values too): < > & " '
 * as entities; controls (but newline), U+FFFE, U+FFFF and bytes that are not
 * UTF-8 written visibly as safetext does (\x1b, \u{202e}); a backslash doubled,
 * so that no text reads as an escape.
 */
void markup_text(FILE *out, const char *text);

#endif
