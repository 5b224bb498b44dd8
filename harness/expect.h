/* expect — decide whether what was observed meets a scenario's expectation. */
#ifndef CTLAB_EXPECT_H
#define CTLAB_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* A conntrack entry as ctnetlink reported it. */
struct ct_entry {
	bool found;
	int state;			/* tcp_state_parse numbering */
	bool assured;
	bool seen_reply;
	uint32_t timeout;		/* seconds left */
};

/* Everything an expectation may look at, gathered by the engine. */
struct observation {
	enum verdict verdict;		/* of the last packet sent */
	const char *reason;		/* conntrack's reason for it, NULL if none */
	struct ct_entry entry;		/* for EXPECT_CT */
	bool counter_known;		/* for EXPECT_STAT */
	int64_t counter_delta;
	bool packet_seen;		/* for EXPECT_PACKET */
	char packet_what[160];		/* "packet #7" or the wire's record, when seen */
	uint64_t entries, entries_max;	/* for EXPECT_ENTRIES: nf_conntrack_count and _max */
	bool kmsg_seen;			/* for EXPECT_KMSG */
	char kmsg_line[256];
	int socket_errno;		/* for EXPECT_SOCKET: pending or met error, 0 none */
	int socket_state;		/* tcp_info state, TCP_CLOSE once closed */
};

/*
 * True when reason matches pattern: the same text, except that each '#' in the
 * pattern stands for one decimal number (one or more digits).
 */
bool reason_matches(const char *pattern, const char *reason);

/* value OP bound, e.g. compare(5, CMP_GT, 0). */
bool compare(int64_t value, enum compare_op op, int64_t bound);

/*
 * Check one expectation.  Returns true when met; otherwise writes what was
 * expected and what was seen into msg ("expected verdict invalid, saw established").
 */
bool expect_check(const struct expect_step *expect, const struct observation *seen,
		  char *msg, size_t msgsize);

#endif
