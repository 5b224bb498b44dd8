/*
 * diff_steps — one run's steps on both sides, and what happened in them.
 *
 * A step is known by its kind, its text (blanks collapsed) and its ordinal
 * among the run's steps of that kind and text, never by its line, so that an
 * edited scenario still lines up.  A packet belongs to the step during which
 * it was observed, and is known by that step, who sent it to whom, its flags
 * (or protocol and ICMP type) and its ordinal among those; one that arrived
 * just after its step ended, in the next step, or just before, is still
 * matched; a kernel socket's retransmission (the same segment again) is
 * matched only with one, and on one side only is not a change (its timer
 * fired before the step ended, or not).  Seq and ack are not compared across
 * sides (each run has its own ISNs), nor are
 * the numbers in reasons and in what expectations saw (each becomes '#'), but
 * an entry's remaining time is, with a tolerance.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "output/output.h"
#include "diff.h"

#define DIFF_CONNS_MAX	32

/* ---- Recording changes ---- */

/* The step as a change names it: where in which file, on the side that has it. */
static void set_step(struct change *change, const struct side *old_side,
		     const struct side *new_side, long old_step, long new_step)
{
	const struct side *side = new_step >= 0 ? new_side : old_side;
	long step = new_step >= 0 ? new_step : old_step;

	if (!change)
		return;
	if (step < 0 || step >= (long)side->n_steps) {
		snprintf(change->where, sizeof(change->where), "%s: after the last step", side->file);
		return;
	}
	snprintf(change->step, sizeof(change->step), "%s", side->steps[step].text);
	snprintf(change->where, sizeof(change->where), "%s:%d: %s", side->file,
		 side->steps[step].line, side->steps[step].text);
	if (old_step >= 0 && old_step < (long)old_side->n_steps)
		change->old_line = old_side->steps[old_step].line;
	if (new_step >= 0 && new_step < (long)new_side->n_steps)
		change->new_line = new_side->steps[new_step].line;
}

/*
 * One direction's kernel data over the whole run, by flags without PSH: its
 * bytes on each side and its verdict.  Over the whole run because a write's
 * last segments may leave while the next step runs, and without PSH because
 * the kernel sets it on whichever segment ends a burst.
 */
#define SEGMENT_GROUPS_MAX 16
struct segment_group {
	const char *from_to;
	char flags[sizeof(((struct side_packet *)0)->flags)];
	const char *verdict;
	long long bytes[2];		/* old, new */
	bool mixed;			/* verdicts differ among its packets */
};

struct run_diff {
	struct diff *diff;
	const char *run;
	struct side old_side, new_side;
	/* Per connection, whether its entry differed after the last step compared:
	 * a difference is reported where it begins, not again after every step. */
	size_t n_conns;
	long timing_step;		/* the last new step with a lone ACK on one side */
	/* The expectation of new step seen_step reported how the entry of
	 * seen_conn changed: its entry after that step is not reported again. */
	long seen_step;
	char seen_conn[64];
	struct segment_group groups[SEGMENT_GROUPS_MAX];
	size_t n_groups;
	struct {
		char name[64];
		bool state_differed, timeout_differed;
	} conns[DIFF_CONNS_MAX];
};

static struct change *add_at(struct run_diff *rd, enum change_kind kind, long old_step,
			     long new_step, const char *subject)
{
	struct change *change = diff_add(rd->diff, kind, rd->run);

	set_step(change, &rd->old_side, &rd->new_side, old_step, new_step);
	if (change)
		snprintf(change->subject, sizeof(change->subject), "%s", subject);
	return change;
}

static void packet_subject(const struct side_packet *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s %s", p->role, p->flags, p->from_to);
}

static const char *reason_of(json_t *packet)
{
	return json_string_value(json_object_get(packet, "reason")) ?: "(none)";
}

static void compare_packet(struct run_diff *rd, const struct side_packet *p,
			   const struct side_packet *q, long old_step, long new_step)
{
	char subject[300], before[DIFF_VALUE_MAX], after[DIFF_VALUE_MAX];
	const char *old_verdict = json_text(p->json, "verdict", "?");
	const char *new_verdict = json_text(q->json, "verdict", "?");

	packet_subject(q, subject, sizeof(subject));
	if (strcmp(old_verdict, new_verdict) != 0)
		change_values(add_at(rd, CHANGE_VERDICT, old_step, new_step, subject), "verdict",
			      old_verdict, new_verdict);
	normalize_numbers(reason_of(p->json), before, sizeof(before));
	normalize_numbers(reason_of(q->json), after, sizeof(after));
	if (strcmp(before, after) != 0)
		change_values(add_at(rd, CHANGE_REASON, old_step, new_step, subject), "reason",
			      reason_of(p->json), reason_of(q->json));
	if (json_number(p->json, "length", -1) != json_number(q->json, "length", -1)) {
		snprintf(before, sizeof(before), "%lld", json_number(p->json, "length", -1));
		snprintf(after, sizeof(after), "%lld", json_number(q->json, "length", -1));
		change_values(add_at(rd, CHANGE_LENGTH, old_step, new_step, subject), "length",
			      before, after);
	}
}

/* "missing: reply SA server -> client after step `connect c client -> server:80`" */
static void one_side_packet(struct run_diff *rd, const struct side *side,
			    const struct side_packet *p, long old_step, long new_step, bool added)
{
	struct change *change = add_at(rd, added ? CHANGE_NEW_PACKET : CHANGE_MISSING_PACKET,
				       old_step, new_step, "");
	json_t *reason = json_object_get(p->json, "reason");
	char step[DIFF_WHERE_MAX + 16];

	if (!change)
		return;
	if (p->step < (long)side->n_steps)
		snprintf(step, sizeof(step), "step `%s`", side->steps[p->step].text);
	else
		snprintf(step, sizeof(step), "the last step");
	snprintf(change->old_value, sizeof(change->old_value), "%s: %s %s %s after %s (%s%s%s%s)",
		 added ? "new" : "missing", p->role, p->flags, p->from_to, step,
		 json_text(p->json, "verdict", "?"), json_is_string(reason) ? ", \"" : "",
		 json_is_string(reason) ? json_string_value(reason) : "",
		 json_is_string(reason) ? "\"" : "");
}

/*
 * A pure ACK that a kernel socket sent outside a send step: whether the
 * kernel sends it alone or with the next segment (a delayed ACK) is timing,
 * so one on one side only is not a change.  An ACK that answers a crafted
 * packet (a challenge ACK) is in a send step, and counts.
 */
static bool timing_ack(const struct side *side, const struct side_packet *p)
{
	return strcmp(p->flags, "A") == 0 && json_number(p->json, "length", -1) == 0 &&
	       strcmp(p->role, "crafted") != 0 &&
	       (p->step >= (long)side->n_steps || strcmp(side->steps[p->step].kind, "send") != 0);
}

/* A packet a kernel socket sent during a wait step: it waited as long as it took. */
static bool timing_wait(const struct side *side, const struct side_packet *p)
{
	return strcmp(p->role, "crafted") != 0 && p->step < (long)side->n_steps &&
	       strncmp(side->steps[p->step].text, "wait", 4) == 0;
}

static void unmatched_packet(struct run_diff *rd, const struct side *side,
			     const struct side_packet *p, long old_step, long new_step, bool added)
{
	if (timing_wait(side, p)) {
		rd->diff->timing_waits++;
		return;
	}
	if (p->retransmit) {
		rd->diff->timing_retransmits++;
		return;
	}
	if (timing_ack(side, p)) {
		rd->diff->timing_acks++;
		rd->timing_step = new_step;
		return;
	}
	one_side_packet(rd, side, p, old_step, new_step, added);
}

/* Data a kernel socket sent (not crafted), the first time: how it is cut into
 * packets is timing. */
static bool kernel_data(const struct side_packet *p)
{
	return strcmp(p->role, "crafted") != 0 && !p->retransmit &&
	       json_number(p->json, "length", -1) > 0 &&
	       strcmp(json_text(p->json, "protocol", ""), "tcp") == 0 &&
	       !json_is_string(json_object_get(p->json, "reason"));
}

static void flags_without_psh(const char *flags, char *out)
{
	for (; *flags; flags++)
		if (*flags != 'P')
			*out++ = *flags;
	*out = '\0';
}

static struct segment_group *find_group(struct run_diff *rd, const struct side_packet *p)
{
	char flags[sizeof(p->flags)];

	flags_without_psh(p->flags, flags);
	for (size_t i = 0; i < rd->n_groups; i++)
		if (strcmp(rd->groups[i].from_to, p->from_to) == 0 &&
		    strcmp(rd->groups[i].flags, flags) == 0)
			return &rd->groups[i];
	return NULL;
}

static void add_to_group(struct run_diff *rd, const struct side_packet *p, int side)
{
	const char *verdict = json_text(p->json, "verdict", "?");
	struct segment_group *group = find_group(rd, p);

	if (!group) {
		if (rd->n_groups == SEGMENT_GROUPS_MAX)
			return;
		group = &rd->groups[rd->n_groups++];
		*group = (struct segment_group){ .from_to = p->from_to, .verdict = verdict };
		flags_without_psh(p->flags, group->flags);
	}
	group->bytes[side] += json_number(p->json, "length", 0);
	if (strcmp(group->verdict, verdict) != 0)
		group->mixed = true;
}

static void group_kernel_data(struct run_diff *rd)
{
	const struct side *sides[2] = { &rd->old_side, &rd->new_side };

	for (int side = 0; side < 2; side++)
		for (size_t i = 0; i < sides[side]->n_packets; i++)
			if (kernel_data(&sides[side]->packets[i]))
				add_to_group(rd, &sides[side]->packets[i], side);
}

/* Whether p belongs to a group whose bytes agree on both sides: the same
 * data, cut differently. */
static bool same_data(struct run_diff *rd, const struct side_packet *p)
{
	const struct segment_group *group = kernel_data(p) ? find_group(rd, p) : NULL;

	return group && !group->mixed && group->bytes[0] == group->bytes[1];
}

/* The packets of new step new_step (n_steps: after the last) and of the old
 * steps it matches. */
static void diff_step_packets(struct run_diff *rd, long old_step, long new_step)
{
	struct side *o = &rd->old_side, *n = &rd->new_side;
	size_t i;
	bool cut_differently = false;

	for (i = 0; i < n->n_packets; i++) {
		const struct side_packet *q = &n->packets[i];

		if (q->step != new_step)
			continue;
		if (same_data(rd, q)) {
			/* Compared as a whole: only its segments may differ. */
			cut_differently |= q->match < 0 ||
					   json_number(o->packets[q->match].json, "length", -1) !=
					   json_number(q->json, "length", -1);
			continue;
		}
		if (q->match >= 0)
			compare_packet(rd, &o->packets[q->match], q, old_step, new_step);
		else
			unmatched_packet(rd, n, q, old_step, new_step, true);
	}
	for (i = 0; i < o->n_packets; i++) {
		const struct side_packet *p = &o->packets[i];

		if (p->match >= 0 || new_step_of(o, n, p->step) != new_step)
			continue;
		if (same_data(rd, p))
			cut_differently = true;
		else
			unmatched_packet(rd, o, p, old_step, new_step, false);
	}
	if (cut_differently)
		rd->diff->timing_segments++;
}

/* ---- Expectations and entries ---- */

/*
 * Compare what two expectations saw: numbers as '#', except a number after
 * "timeout ", which must agree within the tolerance.  0 alike, 1 the texts
 * differ, 2 only a timeout does (its two values in *a_timeout, *b_timeout).
 */
static int compare_seen(const char *a, const char *b, long long *a_timeout, long long *b_timeout)
{
	const char *a_start = a;
	int rc = 0;

	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			bool timeout = a - a_start >= 8 && strncmp(a - 8, "timeout ", 8) == 0;
			char *a_end, *b_end;
			long long x = strtoll(a, &a_end, 10), y = strtoll(b, &b_end, 10);

			if (timeout && timeouts_differ(x, y)) {
				*a_timeout = x;
				*b_timeout = y;
				rc = 2;
			}
			a = a_end;
			b = b_end;
			continue;
		}
		if (*a != *b)
			return 1;
		a++;
		b++;
	}
	return *a || *b ? 1 : rc;
}

/* The connection an `expect ct NAME …` step looks at, else "". */
static void expected_conn(const char *text, char *conn, size_t size)
{
	const char *ct = strstr(text, "expect ct ");

	conn[0] = '\0';
	if (ct)
		snprintf(conn, size, "%.*s", (int)strcspn(ct + 10, " "), ct + 10);
}

static void result_text(json_t *step, char *buf, size_t size)
{
	if (json_is_true(json_object_get(step, "passed")))
		snprintf(buf, size, "passed");
	else
		snprintf(buf, size, "failed: %s", json_text(step, "message", "?"));
}

static void diff_result(struct run_diff *rd, long old_step, long new_step)
{
	struct side_step *o = &rd->old_side.steps[old_step], *n = &rd->new_side.steps[new_step];
	const char *subject = strcmp(n->kind, "expect") == 0 ? "expectation" : "step";
	char before[DIFF_VALUE_MAX], after[DIFF_VALUE_MAX];
	const char *old_seen = json_text(o->json, "observed", NULL);
	const char *new_seen = json_text(n->json, "observed", NULL);
	long long old_timeout = 0, new_timeout = 0;
	bool old_passed = json_is_true(json_object_get(o->json, "passed"));
	bool new_passed = json_is_true(json_object_get(n->json, "passed"));

	if (o->skipped != n->skipped) {
		change_values(add_at(rd, CHANGE_STEP, old_step, new_step, "step"), "",
			      o->skipped ? "skipped" : "run", n->skipped ? "skipped" : "run");
		return;
	}
	if (o->skipped)
		return;
	normalize_numbers(json_text(o->json, "message", ""), before, sizeof(before));
	normalize_numbers(json_text(n->json, "message", ""), after, sizeof(after));
	if (old_passed != new_passed || (!old_passed && strcmp(before, after) != 0)) {
		result_text(o->json, before, sizeof(before));
		result_text(n->json, after, sizeof(after));
		change_values(add_at(rd, CHANGE_RESULT, old_step, new_step, subject), "result",
			      before, after);
	}
	if (!old_seen || !new_seen)
		return;		/* not exported on one side: nothing to compare */
	switch (compare_seen(old_seen, new_seen, &old_timeout, &new_timeout)) {
	case 0:
		return;
	case 1:
		change_values(add_at(rd, CHANGE_OBSERVED, old_step, new_step, subject), "seen",
			      old_seen, new_seen);
		break;
	case 2:
		snprintf(before, sizeof(before), "%lld s", old_timeout);
		snprintf(after, sizeof(after), "%lld s", new_timeout);
		change_values(add_at(rd, CHANGE_ENTRY_TIMEOUT, old_step, new_step, subject),
			      "timeout", before, after);
		break;
	}
	expected_conn(n->text, rd->seen_conn, sizeof(rd->seen_conn));
	if (rd->seen_conn[0])
		rd->seen_step = new_step;
}

static void entry_state(json_t *entry, char *buf, size_t size)
{
	if (!entry)
		snprintf(buf, size, "not looked up");
	else if (!json_is_true(json_object_get(entry, "found")))
		snprintf(buf, size, "no entry");
	else
		snprintf(buf, size, "%s%s%s", json_text(entry, "state", "entry"),
			 json_is_true(json_object_get(entry, "assured")) ? " ASSURED" : "",
			 json_is_true(json_object_get(entry, "seen_reply")) ? " SEEN_REPLY" : "");
}

/* How many steps on a lagging side may catch up: a delayed ACK can outlast a
 * `wait` for the peer socket's state and show only after the next `wait ct`. */
#define ENTRY_LAG_STEPS 3

/* The entry @conn's state after step @step of @side; false if it has none. */
static bool state_after(const struct side *side, long step, const char *conn, char *buf, size_t size)
{
	json_t *entry;

	if (step >= (long)side->n_steps)
		return false;
	entry = json_find(json_object_get(side->steps[step].json, "entries"), "conn", conn);
	if (!entry)
		return false;
	entry_state(entry, buf, size);
	return true;
}

/*
 * Whether an entry state that differs after a step (@before on the old side,
 * @after on the new) is one side a few steps behind the other: within
 * ENTRY_LAG_STEPS the two agree on one of those two states, neither side
 * meanwhile in a third.  The other side's kernel answered (a delayed ACK)
 * after a snapshot instead of before it.  Timing, not behaviour.
 */
static bool steps_apart(const struct run_diff *rd, long old_step, long new_step, const char *conn,
			const char *before, const char *after)
{
	char old_next[DIFF_VALUE_MAX], new_next[DIFF_VALUE_MAX];
	long k;

	for (k = 1; k <= ENTRY_LAG_STEPS; k++) {
		if (!state_after(&rd->old_side, old_step + k, conn, old_next, sizeof(old_next)) ||
		    !state_after(&rd->new_side, new_step + k, conn, new_next, sizeof(new_next)))
			return false;
		/* Each side where it was or where the other was, nowhere else. */
		if ((strcmp(old_next, before) != 0 && strcmp(old_next, after) != 0) ||
		    (strcmp(new_next, before) != 0 && strcmp(new_next, after) != 0))
			return false;
		if (strcmp(old_next, new_next) == 0)
			return true;
	}
	return false;
}

static void diff_conn_entry(struct run_diff *rd, long old_step, long new_step, const char *conn,
			    json_t *old_entry, json_t *new_entry)
{
	char before[DIFF_VALUE_MAX], after[DIFF_VALUE_MAX], subject[100];
	bool state_differs, timeout_differs = false, quiet;
	size_t i;

	for (i = 0; i < rd->n_conns && strcmp(rd->conns[i].name, conn) != 0; i++)
		;
	if (i == rd->n_conns) {
		if (i == DIFF_CONNS_MAX)
			return;
		snprintf(rd->conns[i].name, sizeof(rd->conns[i].name), "%s", conn);
		rd->n_conns++;
	}
	snprintf(subject, sizeof(subject), "entry %s", conn);
	quiet = rd->seen_step == new_step && strcmp(rd->seen_conn, conn) == 0;
	entry_state(old_entry, before, sizeof(before));
	entry_state(new_entry, after, sizeof(after));
	state_differs = strcmp(before, after) != 0;
	if (state_differs && rd->timing_step >= 0 && new_step >= rd->timing_step &&
	    new_step <= rd->timing_step + 1) {
		/* The entry followed a lone ACK on one side (timing_ack): reported
		 * only if it still differs two steps on. */
		rd->diff->timing_entries++;
		return;
	}
	if (state_differs && !rd->conns[i].state_differed &&
	    steps_apart(rd, old_step, new_step, conn, before, after)) {
		rd->diff->timing_entries++;
		return;
	}
	if (state_differs && !rd->conns[i].state_differed && !quiet)
		change_values(add_at(rd, CHANGE_ENTRY_STATE, old_step, new_step, subject), "state",
			      before, after);
	if (!state_differs && json_is_true(json_object_get(old_entry, "found"))) {
		long long x = json_number(old_entry, "timeout", 0);
		long long y = json_number(new_entry, "timeout", 0);

		timeout_differs = timeouts_differ(x, y);
		if (timeout_differs && !rd->conns[i].timeout_differed && !quiet) {
			snprintf(before, sizeof(before), "%lld s", x);
			snprintf(after, sizeof(after), "%lld s", y);
			change_values(add_at(rd, CHANGE_ENTRY_TIMEOUT, old_step, new_step, subject),
				      "timeout", before, after);
		}
	}
	rd->conns[i].state_differed = state_differs;
	rd->conns[i].timeout_differed = timeout_differs;
}

/* Each connection's entry after the step, where both sides looked. */
static void diff_entries(struct run_diff *rd, long old_step, long new_step)
{
	json_t *old_entries = json_object_get(rd->old_side.steps[old_step].json, "entries");
	json_t *new_entries = json_object_get(rd->new_side.steps[new_step].json, "entries");
	size_t i;
	json_t *entry;

	if (!json_is_array(old_entries) || !json_is_array(new_entries))
		return;
	json_array_foreach(new_entries, i, entry) {
		const char *conn = json_text(entry, "conn", "?");

		diff_conn_entry(rd, old_step, new_step, conn, json_find(old_entries, "conn", conn), entry);
	}
	json_array_foreach(old_entries, i, entry) {
		const char *conn = json_text(entry, "conn", "?");

		if (!json_find(new_entries, "conn", conn))
			diff_conn_entry(rd, old_step, new_step, conn, entry, NULL);
	}
}

/* A step on one side only (an edited scenario, or a run that ended early),
 * with the packets observed during it. */
static void one_side_step(struct run_diff *rd, long old_step, long new_step)
{
	const struct side *side = new_step >= 0 ? &rd->new_side : &rd->old_side;
	long index = new_step >= 0 ? new_step : old_step;
	struct change *change = add_at(rd, CHANGE_STEP, old_step, new_step, "");
	size_t i, len, n = 0;

	if (!change)
		return;
	len = (size_t)snprintf(change->old_value, sizeof(change->old_value), "only in %s: step `%s`",
			       new_step >= 0 ? "NEW" : "OLD", side->steps[index].text);
	for (i = 0; i < side->n_packets && len < sizeof(change->old_value); i++) {
		const struct side_packet *p = &side->packets[i];

		if (p->step != index)
			continue;
		len += (size_t)snprintf(change->old_value + len, sizeof(change->old_value) - len,
					"%s%s %s %s", n++ ? ", " : " with ", p->role, p->flags,
					p->from_to);
	}
}

void diff_steps(struct diff *diff, const char *run, json_t *old_run, json_t *new_run)
{
	struct run_diff *rd = calloc(1, sizeof(*rd));
	size_t i;

	if (!rd) {
		diff->out_of_memory = true;
		return;
	}
	rd->diff = diff;
	rd->run = run;
	rd->timing_step = -1;
	rd->seen_step = -1;
	if (side_read(&rd->old_side, old_run) < 0 || side_read(&rd->new_side, new_run) < 0) {
		diff->out_of_memory = true;
		goto out_free;
	}
	match_steps(&rd->old_side, &rd->new_side);
	match_packets(&rd->old_side, &rd->new_side);
	group_kernel_data(rd);
	for (i = 0; i < rd->new_side.n_steps; i++) {
		long old_step = rd->new_side.steps[i].match;

		if (old_step < 0) {
			one_side_step(rd, -1, (long)i);
			continue;
		}
		diff_result(rd, old_step, (long)i);
		diff_step_packets(rd, old_step, (long)i);
		if (!rd->old_side.steps[old_step].skipped && !rd->new_side.steps[i].skipped)
			diff_entries(rd, old_step, (long)i);
	}
	for (i = 0; i < rd->old_side.n_steps; i++) {
		if (rd->old_side.steps[i].match >= 0)
			continue;
		one_side_step(rd, (long)i, -1);
	}
	diff_step_packets(rd, (long)rd->old_side.n_steps, (long)rd->new_side.n_steps);

out_free:
	side_free(&rd->old_side);
	side_free(&rd->new_side);
	free(rd);
}
