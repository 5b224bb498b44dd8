/* vocab — the names every layer shares: verdicts, conntrack's TCP states, protocols, families; and the time helpers. */
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/base.h"

static const char *const verdict_names[VERDICT_COUNT] = {
	[VERDICT_UNSEEN]	= "unseen",
	[VERDICT_NEW]		= "new",
	[VERDICT_ESTABLISHED]	= "established",
	[VERDICT_RELATED]	= "related",
	[VERDICT_INVALID]	= "invalid",
	[VERDICT_UNTRACKED]	= "untracked",
};

const char *verdict_name(enum verdict verdict)
{
	if ((unsigned)verdict >= VERDICT_COUNT)
		return "?";
	return verdict_names[verdict];
}

int verdict_parse(const char *name, enum verdict *verdict)
{
	/* "unseen" is what the engine concludes, never what a scenario expects. */
	for (int v = VERDICT_UNSEEN + 1; v < VERDICT_COUNT; v++) {
		if (strcmp(name, verdict_names[v]) == 0) {
			*verdict = v;
			return 0;
		}
	}
	return -1;
}

/* The kernel's enum tcp_conntrack, include/uapi/linux/netfilter/nf_conntrack_tcp.h. */
static const char *const tcp_state_names[] = {
	[0] = "NONE",
	[1] = "SYN_SENT",
	[2] = "SYN_RECV",
	[3] = "ESTABLISHED",
	[4] = "FIN_WAIT",
	[5] = "CLOSE_WAIT",
	[6] = "LAST_ACK",
	[7] = "TIME_WAIT",
	[8] = "CLOSE",
	[9] = "SYN_SENT2",
};

#define TCP_STATE_COUNT	(int)(sizeof(tcp_state_names) / sizeof(tcp_state_names[0]))

const char *tcp_state_name(int state)
{
	if (state < 0 || state >= TCP_STATE_COUNT)
		return "?";
	return tcp_state_names[state];
}

int tcp_state_parse(const char *name)
{
	for (int state = 0; state < TCP_STATE_COUNT; state++)
		if (strcasecmp(name, tcp_state_names[state]) == 0)
			return state;
	return -1;
}

static const char *const protocol_names[] = {
	[PROTO_TCP]	= "tcp",
	[PROTO_UDP]	= "udp",
	[PROTO_ICMP]	= "icmp",
};

#define PROTOCOL_COUNT	(sizeof(protocol_names) / sizeof(protocol_names[0]))

const char *protocol_name(enum protocol protocol)
{
	if ((unsigned)protocol >= PROTOCOL_COUNT)
		return "?";
	return protocol_names[protocol];
}

int protocol_parse(const char *name, enum protocol *protocol)
{
	for (size_t i = 0; i < PROTOCOL_COUNT; i++) {
		if (strcmp(name, protocol_names[i]) == 0) {
			*protocol = i;
			return 0;
		}
	}
	return -1;
}

const char *family_name(int family)
{
	return family == AF_INET ? "ipv4" : "ipv6";
}

double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

void time_text(char *buf, size_t size, const char *format, time_t when, bool utc)
{
	struct tm tm;

	if (!when)
		when = time(NULL);
	if (utc)
		gmtime_r(&when, &tm);
	else
		localtime_r(&when, &tm);
	/* The callers' formats are checked (the strftime attribute in base.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!strftime(buf, size, format, &tm) && size)
		buf[0] = '\0';
#pragma GCC diagnostic pop
}

long ms_since(const struct timespec *start)
{
	return (long)(seconds_since(start) * 1000);
}
