/* The TCP/IP MIB counters of one namespace (/proc/net/netstat, snmp, snmp6),
 * named as nstat names them: "TcpExt" + "PAWSEstab", "Tcp" + "OutRsts". */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/observe.h"

#define MIB_TEXT_MAX	65536

static int mib_add(struct mib *mib, const char *prefix, size_t prefix_len, const char *name,
		   size_t name_len, uint64_t value)
{
	if (mib->n == MIB_COUNTERS_MAX)
		return -ENOSPC;
	if (prefix_len + name_len >= sizeof(mib->names[0]))
		return 0;	/* longer than any name a scenario can write: not kept */
	memcpy(mib->names[mib->n], prefix, prefix_len);
	memcpy(mib->names[mib->n] + prefix_len, name, name_len);
	mib->names[mib->n][prefix_len + name_len] = '\0';
	mib->values[mib->n++] = value;
	return 0;
}

/* The next space-separated word of *text within the line, or NULL at its end. */
static const char *next_word(const char **text, size_t *len)
{
	const char *start = *text;

	while (*start == ' ' || *start == '\t')
		start++;
	if (*start == '\0' || *start == '\n')
		return NULL;
	*text = start;
	while (**text && **text != ' ' && **text != '\t' && **text != '\n')
		(*text)++;
	*len = (size_t)(*text - start);
	return start;
}

static const char *line_end(const char *text)
{
	const char *end = strchr(text, '\n');

	return end ? end + 1 : text + strlen(text);
}

int mib_parse(const char *text, struct mib *mib)
{
	const char *line = text;

	while (*line) {
		const char *next = line_end(line), *colon = strchr(line, ':');
		const char *names, *values, *name, *value;
		size_t prefix_len, name_len, value_len;
		int rc;

		if (!colon || colon > next) {
			/* snmp6: "Ip6InReceives    42" */
			names = line;
			name = next_word(&names, &name_len);
			value = name ? next_word(&names, &value_len) : NULL;
			if (value && (rc = mib_add(mib, "", 0, name, name_len,
						   strtoull(value, NULL, 10))) < 0)
				return rc;
			line = next;
			continue;
		}
		/* netstat, snmp: "TcpExt: A B …" then "TcpExt: 1 2 …" */
		prefix_len = (size_t)(colon - line);
		values = next;
		if (!*values || strncmp(values, line, prefix_len + 1) != 0)
			return -EINVAL;
		names = colon + 1;
		values += prefix_len + 1;
		while ((name = next_word(&names, &name_len))) {
			value = next_word(&values, &value_len);
			if (!value)
				return -EINVAL;
			rc = mib_add(mib, line, prefix_len, name, name_len,
				     (uint64_t)strtoll(value, NULL, 10));
			if (rc < 0)
				return rc;
		}
		line = line_end(values);
	}
	return 0;
}

int mib_read(struct netns *ns, struct mib *mib)
{
	static const char *const files[] = {
		"/proc/thread-self/net/netstat",
		"/proc/thread-self/net/snmp",
		"/proc/thread-self/net/snmp6",
	};
	char *text = malloc(MIB_TEXT_MAX);
	int rc = 0;

	if (!text)
		return -ENOMEM;
	mib->n = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && rc == 0; i++) {
		rc = netns_read_file(ns, files[i], text, MIB_TEXT_MAX);
		if (rc == -ENOENT && i == 2)
			rc = 0;		/* a kernel without IPv6 */
		else if (rc >= 0)
			rc = mib_parse(text, mib);
	}
	free(text);
	return rc < 0 ? rc : 0;
}

bool mib_get(const struct mib *mib, const char *name, uint64_t *value)
{
	for (size_t i = 0; i < mib->n; i++)
		if (strcmp(mib->names[i], name) == 0) {
			*value = mib->values[i];
			return true;
		}
	return false;
}
