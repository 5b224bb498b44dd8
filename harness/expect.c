#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "expect.h"

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

static void describe_reason(const char *reason, char *buf, size_t size)
{
	if (reason)
		snprintf(buf, size, "reason \"%s\"", reason);
	else
		snprintf(buf, size, "no reason logged");
}

static bool check_reason(const struct expect_step *expect, const struct observation *seen,
			 char *msg, size_t msgsize)
{
	char saw[SCENARIO_TEXT_MAX + 32];

	describe_reason(seen->reason, saw, sizeof(saw));
	if (expect->reason_none) {
		if (!seen->reason)
			return true;
		snprintf(msg, msgsize, "expected no reason logged, saw %s", saw);
		return false;
	}
	if (reason_matches(expect->reason, seen->reason))
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

static bool check_ct(const struct expect_step *expect, const struct ct_entry *entry,
		     char *msg, size_t msgsize)
{
	if (expect->gone) {
		if (!entry->found)
			return true;
		snprintf(msg, msgsize, "expected no entry, saw one in state %s",
			 tcp_state_name(entry->state));
		return false;
	}
	if (!entry->found) {
		snprintf(msg, msgsize, "expected an entry in state %s, saw no entry",
			 tcp_state_name(expect->state));
		return false;
	}
	if (entry->state != expect->state) {
		snprintf(msg, msgsize, "expected state %s, saw %s", tcp_state_name(expect->state),
			 tcp_state_name(entry->state));
		return false;
	}
	return check_flag("ASSURED", expect->assured, entry->assured, msg, msgsize) &&
	       check_flag("SEEN_REPLY", expect->seen_reply, entry->seen_reply, msg, msgsize);
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
		if (!seen->counter_known) {
			snprintf(msg, msgsize, "counter %s is not reported by this kernel",
				 expect->counter);
			return false;
		}
		if (seen->counter_delta == expect->delta)
			return true;
		snprintf(msg, msgsize, "expected stat %s %+" PRId64 ", saw %+" PRId64,
			 expect->counter, expect->delta, seen->counter_delta);
		return false;
	}
	snprintf(msg, msgsize, "unknown expectation");
	return false;
}
