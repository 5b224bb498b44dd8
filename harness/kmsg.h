/* kmsg — read kernel log lines (/dev/kmsg) written since a mark. */
#ifndef CTLAB_KMSG_H
#define CTLAB_KMSG_H

#include <stddef.h>
#include <stdint.h>

/* A point in the kernel log: the sequence number of the next record. */
struct kmsg_mark {
	uint64_t seq;
};

/*
 * kmsg_mark - the position of the kernel log now: records written after
 * this call have a sequence number >= @mark->seq. Reading /dev/kmsg
 * needs root (CAP_SYSLOG, or kernel.dmesg_restrict 0). Returns 0 or
 * -errno (EPERM, ENOENT without /dev/kmsg).
 */
int kmsg_mark(struct kmsg_mark *mark);

/*
 * kmsg_find - wait at most @timeout_ms for a kernel log record written
 * after @since whose message contains @text. The message (without the
 * "pri,seq,usec,flags;" prefix and the key=value lines) is copied to
 * @line, NUL-terminated and cut to @size (@line may be NULL). Records
 * overwritten before they could be read are skipped. Returns 1 when found,
 * 0 when not within @timeout_ms, or -errno (EINVAL: no @text; EPERM).
 */
int kmsg_find(const struct kmsg_mark *since, const char *text, int timeout_ms, char *line,
	      size_t size);

/*
 * kmsg_count_recent - how many records of the last @seconds hold @text, into
 * *@count: to tell whether a rate limit may have silenced a line.  Returns 0
 * or -errno.
 */
int kmsg_count_recent(const char *text, int seconds, unsigned *count);

#endif /* CTLAB_KMSG_H */
