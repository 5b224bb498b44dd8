#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observe/observe.h"
#include "base/base.h"

#define KMSG_PATH	"/dev/kmsg"
/* One read returns one whole record or fails with EINVAL: room for the longest. */
#define RECORD_MAX	8192

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "pri,seq,usec,flags[,...];message\n[ KEY=value\n]..." */
static int parse_record(char *record, uint64_t *seq, uint64_t *usec, char **message)
{
	char *comma, *semicolon, *end;

	comma = strchr(record, ',');
	semicolon = strchr(record, ';');
	if (!comma || !semicolon || comma > semicolon)
		return -EINVAL;
	errno = 0;
	*seq = strtoull(comma + 1, &end, 10);
	if (errno || end == comma + 1 || (*end != ',' && *end != ';'))
		return -EINVAL;
	*usec = *end == ',' ? strtoull(end + 1, NULL, 10) : 0;
	*message = semicolon + 1;
	end = strchr(*message, '\n');
	if (end)
		*end = '\0';
	return 0;
}

/* The next record: its number, when it was written (µs on the kernel's clock,
 * 0 if it does not say) and its message.  1, 0 when none is waiting, or -errno. */
static int read_record(int fd, char *record, uint64_t *seq, uint64_t *usec, char **message)
{
	ssize_t n;

	for (;;) {
		n = read(fd, record, RECORD_MAX - 1);
		if (n < 0) {
			/* EPIPE: the records we were at were overwritten; the next read goes on after them. */
			if (errno == EPIPE || errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		record[n] = '\0';
		if (parse_record(record, seq, usec, message) == 0)
			return 1;
	}
}

/*
 * Open /dev/kmsg, and a buffer for one record into *record.  Returns the fd,
 * or a negative errno with nothing left to free.
 */
static int kmsg_open(char **record)
{
	int fd;

	*record = malloc(RECORD_MAX);
	if (!*record)
		return -ENOMEM;
	fd = open(KMSG_PATH, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fd = -errno;
		free(*record);
	}
	return fd;
}

int kmsg_mark(struct kmsg_mark *mark)
{
	uint64_t seq, usec, next = 0;
	char *record, *message;
	int fd, rc;

	fd = kmsg_open(&record);
	if (fd < 0)
		return fd;
	/*
	 * /dev/kmsg tells no sequence number at its end (SEEK_END only moves
	 * there): read up to it, the last record's number + 1 is the mark.
	 */
	while ((rc = read_record(fd, record, &seq, &usec, &message)) > 0)
		next = seq + 1;
	if (rc == 0)
		mark->seq = next;
	close(fd);
	free(record);
	return rc;
}

int kmsg_find(const struct kmsg_mark *since, const char *text, int timeout_ms, char *line,
	      size_t size)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char *record, *message;
	long long left;
	uint64_t seq, usec;
	int fd, rc;

	if (!since || !text || !*text)
		return -EINVAL;
	fd = kmsg_open(&record);
	if (fd < 0)
		return fd;
	for (;;) {
		rc = read_record(fd, record, &seq, &usec, &message);
		if (rc < 0)
			break;
		if (rc > 0) {
			if (seq < since->seq || !strstr(message, text))
				continue;
			if (line && size) {
				snprintf(line, size, "%s", message);
				safetext_escape(line, size, false);
			}
			break;
		}
		left = deadline - now_ms();
		if (left <= 0)
			break;
		if (poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, (int)left) < 0 &&
		    errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	close(fd);
	free(record);
	return rc;
}

int kmsg_count_recent(const char *text, int seconds, unsigned *count)
{
	struct timespec now;
	char *record, *message;
	uint64_t seq, usec, since;
	int fd, rc;

	if (!text || !*text || !count)
		return -EINVAL;
	*count = 0;
	/* The records' clock is the kernel's local clock: monotonic, from boot. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	since = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	since = since > (uint64_t)seconds * 1000000 ? since - (uint64_t)seconds * 1000000 : 0;
	fd = kmsg_open(&record);
	if (fd < 0)
		return fd;
	while ((rc = read_record(fd, record, &seq, &usec, &message)) > 0)
		if (usec >= since && strstr(message, text))
			(*count)++;
	close(fd);
	free(record);
	return rc;
}
