/* expect — judging an expect step against what the run observed; expectations.c parses them. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lang/lang.h"

bool reason_matches(const char *pattern, const char *reason)
{
	if (!reason)
		return false;
	while (*pattern) {
		if (*pattern == '#') {
			if (!isdigit((unsigned char)*reason))
				return false;
			while (isdigit((unsigned char)*reason))
				reason++;
			pattern++;
			continue;
		}
		if (*pattern != *reason)
			return false;
		pattern++;
		reason++;
	}
	return *reason == '\0';
}

int reason_resolve(const char *pattern, const uint64_t *values, size_t n, char *buf,
		   size_t size)
{
	size_t used = 0, k = 0;

	while (*pattern) {
		const char *close = strncmp(pattern, "#{", 2) == 0 ? strchr(pattern, '}') : NULL;
		int len;

		if (close && k < n) {
			len = snprintf(buf + used, size - used, "%" PRIu32, (uint32_t)values[k++]);
			pattern = close + 1;
		} else {
			len = snprintf(buf + used, size - used, "%c", *pattern++);
		}
		if (len < 0 || (size_t)len >= size - used)
			return -ENOSPC;
		used += (size_t)len;
	}
	return 0;
}

bool compare(int64_t value, enum compare_op op, int64_t bound)
{
	switch (op) {
	case CMP_EQ:
		return value == bound;
	case CMP_GT:
		return value > bound;
	case CMP_GE:
		return value >= bound;
	case CMP_LT:
		return value < bound;
	case CMP_LE:
		return value <= bound;
	}
	return false;
}

static void describe_reason(const struct observation *seen, char *buf, size_t size)
{
	size_t len;

	if (!seen->reason) {
		snprintf(buf, size, "no reason logged");
		return;
	}
	snprintf(buf, size, "reason \"%s\"", seen->reason);
	for (size_t i = 0; i < seen->n_also && (len = strlen(buf)) < size; i++)
		snprintf(buf + len, size - len, " and \"%s\"", seen->also[i]);
}

/* A packet may have several reasons logged: the pattern may match any. */
static bool any_reason_matches(const char *pattern, const struct observation *seen)
{
	if (reason_matches(pattern, seen->reason))
		return true;
	for (size_t i = 0; i < seen->n_also; i++)
		if (reason_matches(pattern, seen->also[i]))
			return true;
	return false;
}

static bool check_reason(const struct expect_step *expect, const struct observation *seen,
			 char *msg, size_t msgsize)
{
	char saw[SCENARIO_TEXT_MAX + 32];

	describe_reason(seen, saw, sizeof(saw));
	if (expect->reason_none) {
		if (!seen->reason)
			return true;
		snprintf(msg, msgsize, "expected no reason logged, saw %s", saw);
		return false;
	}
	if (any_reason_matches(expect->reason, seen))
		return true;
	snprintf(msg, msgsize, "expected reason \"%s\", saw %s", expect->reason, saw);
	return false;
}

static bool check_flag(const char *name, int want, bool have, char *msg, size_t msgsize)
{
	if (want < 0 || want == have)
		return true;
	snprintf(msg, msgsize, "expected the entry %s %s, it is%s", want ? "to be" : "not to be",
		 name, have ? "" : " not");
	return false;
}

/* state, or one of also (state A|B…); any when state is -1. */
static bool state_accepted(int state, uint32_t also, int seen)
{
	return state < 0 || seen == state || (seen >= 0 && seen < 32 && (also & (1u << seen)));
}

/* "A" or "A|B|…" as the scenario wrote them. */
static void states_text(int state, uint32_t also, const char *(*name)(int), char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "%s", name(state));

	for (int s = 0; s < 32 && len < size; s++)
		if (also & (1u << s))
			len += (size_t)snprintf(buf + len, size - len, "|%s", name(s));
}

static bool check_ct(const struct expect_step *expect, const struct ct_entry *entry,
		     char *msg, size_t msgsize)
{
	char states[160];

	if (expect->gone) {
		if (!entry->found)
			return true;
		snprintf(msg, msgsize, "expected no entry, saw one in state %s",
			 tcp_state_name(entry->state));
		return false;
	}
	if (!entry->found) {
		states_text(expect->state, expect->also_states, tcp_state_name, states, sizeof(states));
		if (expect->state >= 0)
			snprintf(msg, msgsize, "expected an entry in state %s, saw no entry", states);
		else
			snprintf(msg, msgsize, "expected an entry, saw none");
		return false;
	}
	if (!state_accepted(expect->state, expect->also_states, entry->state)) {
		states_text(expect->state, expect->also_states, tcp_state_name, states, sizeof(states));
		snprintf(msg, msgsize, "expected state %s, saw %s", states,
			 tcp_state_name(entry->state));
		return false;
	}
	if (!check_flag("ASSURED", expect->assured, entry->assured, msg, msgsize) ||
	    !check_flag("SEEN_REPLY", expect->seen_reply, entry->seen_reply, msg, msgsize))
		return false;
	if (expect->timeout_min >= 0 &&
	    (entry->timeout < expect->timeout_min || entry->timeout > expect->timeout_max)) {
		snprintf(msg, msgsize, "expected a timeout of %" PRId64 "..%" PRId64 " s, saw %u s",
			 expect->timeout_min, expect->timeout_max, entry->timeout);
		return false;
	}
	return true;
}

static bool check_packet(const struct expect_step *expect, const struct observation *seen,
			 char *msg, size_t msgsize)
{
	if (seen->packet_seen == !expect->packet.absent)
		return true;
	if (expect->packet.absent)
		snprintf(msg, msgsize, "expected no such packet, saw %s", seen->packet_what);
	else
		snprintf(msg, msgsize, "expected such a packet, saw none");
	return false;
}

static const char *errno_text(int error)
{
	return error ? strerror(error) : "no error";
}

static bool check_socket(const struct expect_step *expect, const struct observation *seen,
			 char *msg, size_t msgsize)
{
	if (expect->socket_errno >= 0 && seen->socket_errno != expect->socket_errno) {
		snprintf(msg, msgsize, "expected %s, saw %s", errno_text(expect->socket_errno),
			 errno_text(seen->socket_errno));
		return false;
	}
	if (!state_accepted(expect->socket_state, expect->socket_also_states, seen->socket_state)) {
		char states[160];

		states_text(expect->socket_state, expect->socket_also_states, socket_state_name,
			    states, sizeof(states));
		snprintf(msg, msgsize, "expected socket state %s, saw %s", states,
			 seen->socket_state > 0 ? socket_state_name(seen->socket_state) : "unknown");
		return false;
	}
	return true;
}

/* A counter's change since before the last send: stat (conntrack's) or netstat. */
static bool check_delta(const struct expect_step *expect, const struct observation *seen,
			char *msg, size_t msgsize)
{
	const char *what = expect->kind == EXPECT_STAT ? "stat" : "netstat";
	const char *since = expect->since_start ? " since start" : "";

	if (!seen->counter_known) {
		snprintf(msg, msgsize, "counter %s is not reported by this kernel",
			 expect->counter);
		return false;
	}
	if (compare(seen->counter_delta, expect->op, expect->delta))
		return true;
	if (expect->op == CMP_EQ)
		snprintf(msg, msgsize, "expected %s %s %+" PRId64 "%s, saw %+" PRId64, what,
			 expect->counter, expect->delta, since, seen->counter_delta);
	else
		snprintf(msg, msgsize, "expected %s %s %s%" PRId64 "%s, saw %+" PRId64, what,
			 expect->counter, compare_op_text(expect->op), expect->delta, since,
			 seen->counter_delta);
	return false;
}

/* An nft named counter's value now. */
static bool check_counter(const struct expect_step *expect, const struct observation *seen,
			  char *msg, size_t msgsize)
{
	if (expect->has_packets &&
	    !compare((int64_t)seen->nft_packets, expect->packets_op, (int64_t)expect->packets)) {
		snprintf(msg, msgsize, "expected counter %s packets %s%" PRIu64 ", saw %" PRIu64,
			 expect->counter, compare_op_text(expect->packets_op), expect->packets,
			 seen->nft_packets);
		return false;
	}
	if (expect->has_bytes &&
	    !compare((int64_t)seen->nft_bytes, expect->bytes_op, (int64_t)expect->bytes)) {
		snprintf(msg, msgsize, "expected counter %s bytes %s%" PRIu64 ", saw %" PRIu64,
			 expect->counter, compare_op_text(expect->bytes_op), expect->bytes,
			 seen->nft_bytes);
		return false;
	}
	return true;
}

bool expect_check(const struct expect_step *expect, const struct observation *seen,
		  char *msg, size_t msgsize)
{
	switch (expect->kind) {
	case EXPECT_VERDICT:
		if (seen->verdict != expect->verdict) {
			snprintf(msg, msgsize, "expected verdict %s, saw %s",
				 verdict_name(expect->verdict), verdict_name(seen->verdict));
			return false;
		}
		return !expect->has_reason || check_reason(expect, seen, msg, msgsize);
	case EXPECT_REASON:
		return check_reason(expect, seen, msg, msgsize);
	case EXPECT_CT:
		return check_ct(expect, &seen->entry, msg, msgsize);
	case EXPECT_STAT:
	case EXPECT_NETSTAT:
		return check_delta(expect, seen, msg, msgsize);
	case EXPECT_COUNTER:
		return check_counter(expect, seen, msg, msgsize);
	case EXPECT_ENTRIES: {
		int64_t bound = table_size_value(&expect->entries, seen->entries_max);

		if (compare((int64_t)seen->entries, expect->op, bound))
			return true;
		snprintf(msg, msgsize, "expected %s%" PRId64 " entries%s, saw %" PRIu64,
			 compare_op_text(expect->op), bound,
			 expect->entries.of_max ? " (from nf_conntrack_max)" : "", seen->entries);
		return false;
	}
	case EXPECT_KMSG:
		if (seen->kmsg_seen != expect->absent)
			return true;
		if (expect->absent)
			snprintf(msg, msgsize, "expected no kernel log line with \"%s\", saw \"%s\"",
				 expect->reason, seen->kmsg_line);
		else
			snprintf(msg, msgsize, "expected a kernel log line with \"%s\", saw none",
				 expect->reason);
		return false;
	case EXPECT_PACKET:
	case EXPECT_WIRE:
		return check_packet(expect, seen, msg, msgsize);
	case EXPECT_SOCKET:
		return check_socket(expect, seen, msg, msgsize);
	}
	snprintf(msg, msgsize, "unknown expectation");
	return false;
}
