/* diff_match — one run's steps and packets on both sides, read from the JSON
 * and lined up (the rules are in diff_steps.c's opening comment). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "output/output.h"
#include "diff.h"

static void collapse_blanks(const char *text, char *out, size_t size)
{
	size_t len = 0;
	bool blank = false;

	while (*text == ' ' || *text == '\t')
		text++;
	for (; *text && len + 1 < size; text++) {
		if (*text == ' ' || *text == '\t') {
			blank = true;
			continue;
		}
		if (blank && len + 2 < size)
			out[len++] = ' ';
		blank = false;
		out[len++] = *text;
	}
	out[len] = '\0';
}

long long json_number(json_t *object, const char *key, long long fallback)
{
	json_t *value = json_object_get(object, key);

	return json_is_integer(value) ? (long long)json_integer_value(value) : fallback;
}

/* The host an address belongs to in this run, or the address itself (the
 * service's too: results before schema 2 do not name it, and must still match). */
static const char *host_name(json_t *run, const char *addr)
{
	size_t i, len;
	json_t *host;

	json_array_foreach(json_object_get(run, "hosts"), i, host) {
		const char *host_addr = json_text(host, "addr", "");

		if (json_is_true(json_object_get(host, "service")))
			continue;
		len = strcspn(host_addr, "/");
		if (strlen(addr) == len && strncmp(host_addr, addr, len) == 0)
			return json_text(host, "name", addr);
	}
	return addr;
}

static void packet_flags(json_t *packet, char *buf, size_t size)
{
	const char *protocol = json_text(packet, "protocol", "?");

	if (strcmp(protocol, "tcp") == 0)
		snprintf(buf, size, "%s", json_text(packet, "flags", "?"));
	else if (strcmp(protocol, "icmp") == 0 || strcmp(protocol, "icmpv6") == 0)
		snprintf(buf, size, "%s %lld/%lld", strcmp(protocol, "icmp") == 0 ? "ICMP" : "ICMPv6",
			 json_number(packet, "icmp_type", -1), json_number(packet, "icmp_code", -1));
	else
		snprintf(buf, size, "%s", strcmp(protocol, "udp") == 0 ? "UDP" : protocol);
}

/* Whether packet @i, @p, is a TCP segment that takes sequence space (data,
 * SYN or FIN) sent before in the run: the same way, flags, seq and length. */
static bool retransmits(const struct side *side, const struct side_packet *p, size_t i)
{
	long long seq = json_number(p->json, "seq", -1), len = json_number(p->json, "length", -1);

	if (strcmp(json_text(p->json, "protocol", ""), "tcp") != 0 || seq < 0 ||
	    (len <= 0 && !strpbrk(p->flags, "SF")))
		return false;
	for (size_t j = 0; j < i; j++) {
		const struct side_packet *before = &side->packets[j];

		if (strcmp(before->from_to, p->from_to) == 0 && strcmp(before->flags, p->flags) == 0 &&
		    json_number(before->json, "seq", -2) == seq &&
		    json_number(before->json, "length", -2) == len)
			return true;
	}
	return false;
}

int side_read(struct side *side, json_t *run)
{
	json_t *steps = json_object_get(run, "steps"), *packets = json_object_get(run, "packets");
	json_t *step, *packet;
	size_t i, j;

	side->run = run;
	side->file = json_text(run, "file", "?");
	side->n_steps = json_array_size(steps);
	side->n_packets = json_array_size(packets);
	side->steps = calloc(side->n_steps + 1, sizeof(*side->steps));
	side->packets = calloc(side->n_packets + 1, sizeof(*side->packets));
	if (!side->steps || !side->packets)
		return -1;
	json_array_foreach(steps, i, step) {
		struct side_step *s = &side->steps[i];

		s->json = step;
		s->kind = json_text(step, "kind", "?");
		collapse_blanks(json_text(step, "text", ""), s->text, sizeof(s->text));
		for (j = 0; j < i; j++)
			s->ordinal += strcmp(side->steps[j].kind, s->kind) == 0 &&
				      strcmp(side->steps[j].text, s->text) == 0;
		s->line = (int)json_number(step, "line", 0);
		s->first = (long)json_number(step, "first_packet", 0);
		s->end = (long)json_number(step, "end_packet", 0);
		s->sent = (long)json_number(step, "sent_packet", 0);
		s->skipped = json_is_true(json_object_get(step, "skipped"));
		s->match = -1;
	}
	json_array_foreach(packets, i, packet) {
		struct side_packet *p = &side->packets[i];
		long number = (long)i + 1, first_of_step = 0;

		p->json = packet;
		p->match = -1;
		p->step = (long)side->n_steps;
		for (j = 0; j < side->n_steps; j++)
			if (!side->steps[j].skipped && side->steps[j].first <= number &&
			    number < side->steps[j].end) {
				p->step = (long)j;
				first_of_step = side->steps[j].first;
				break;
			}
		snprintf(p->from_to, sizeof(p->from_to), "%s -> %s",
			 host_name(run, json_text(packet, "src", "?")),
			 host_name(run, json_text(packet, "dst", "?")));
		packet_flags(packet, p->flags, sizeof(p->flags));
		snprintf(p->role, sizeof(p->role), "packet");
		if (p->step < (long)side->n_steps && side->steps[p->step].sent == number) {
			snprintf(p->role, sizeof(p->role), "crafted");
		} else if (first_of_step && first_of_step < number) {
			/* The other way from the step's first packet: an answer to it. */
			const struct side_packet *opener = &side->packets[first_of_step - 1];
			char reversed[sizeof(p->from_to)];
			const char *arrow = strstr(opener->from_to, " -> ");

			if (arrow) {
				snprintf(reversed, sizeof(reversed), "%s -> %.*s", arrow + 4,
					 (int)(arrow - opener->from_to), opener->from_to);
				if (strcmp(reversed, p->from_to) == 0)
					snprintf(p->role, sizeof(p->role), "reply");
			}
		}
		p->retransmit = strcmp(p->role, "crafted") != 0 && retransmits(side, p, i);
		for (j = 0; j < i; j++)
			p->ordinal += side->packets[j].step == p->step &&
				      side->packets[j].retransmit == p->retransmit &&
				      strcmp(side->packets[j].from_to, p->from_to) == 0 &&
				      strcmp(side->packets[j].flags, p->flags) == 0;
	}
	return 0;
}

void side_free(struct side *side)
{
	free(side->steps);
	free(side->packets);
}

/* Steps by kind, text and ordinal. */
void match_steps(struct side *old_side, struct side *new_side)
{
	size_t i, j;

	for (i = 0; i < new_side->n_steps; i++) {
		struct side_step *s = &new_side->steps[i];

		for (j = 0; j < old_side->n_steps; j++) {
			struct side_step *o = &old_side->steps[j];

			if (o->match < 0 && o->ordinal == s->ordinal && strcmp(o->kind, s->kind) == 0 &&
			    strcmp(o->text, s->text) == 0) {
				o->match = (long)i;
				s->match = (long)j;
				break;
			}
		}
	}
}

/* The new step an old packet's step corresponds to (n_steps: after the last). */
long new_step_of(const struct side *old_side, const struct side *new_side, long step)
{
	if (step >= (long)old_side->n_steps)
		return (long)new_side->n_steps;
	return old_side->steps[step].match;
}

static bool same_packet_kind(const struct side_packet *a, const struct side_packet *b)
{
	return a->retransmit == b->retransmit && strcmp(a->from_to, b->from_to) == 0 &&
	       strcmp(a->flags, b->flags) == 0;
}

/* By step, direction, flags and ordinal; then what is left by direction and
 * flags within one step either way (a packet that arrived as a step ended). */
void match_packets(struct side *old_side, struct side *new_side)
{
	size_t i, j;

	for (i = 0; i < new_side->n_packets; i++) {
		struct side_packet *q = &new_side->packets[i];

		for (j = 0; j < old_side->n_packets; j++) {
			struct side_packet *p = &old_side->packets[j];

			if (p->match < 0 && new_step_of(old_side, new_side, p->step) == q->step &&
			    p->ordinal == q->ordinal && same_packet_kind(p, q)) {
				p->match = (long)i;
				q->match = (long)j;
				break;
			}
		}
	}
	for (i = 0; i < new_side->n_packets; i++) {
		struct side_packet *q = &new_side->packets[i];

		if (q->step < (long)new_side->n_steps && new_side->steps[q->step].match < 0)
			continue;	/* a step on one side only keeps its packets */
		for (j = 0; j < old_side->n_packets && q->match < 0; j++) {
			struct side_packet *p = &old_side->packets[j];
			long step = new_step_of(old_side, new_side, p->step);

			if (p->match < 0 && step >= 0 && step - q->step <= 1 && q->step - step <= 1 &&
			    same_packet_kind(p, q)) {
				p->match = (long)i;
				q->match = (long)j;
			}
		}
	}
}
