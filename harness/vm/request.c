/* request — ctlab vm's command line: its own options, the outputs the guest writes for the host, and the rest for the guest's ctlab run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

enum word_kind {
	WORD_KERNEL, WORD_CACHE, WORD_CTLAB, WORD_TIMEOUT, WORD_MEMORY, WORD_CPUS,
	WORD_NO_PRELOAD, WORD_HELP,
	WORD_JSON, WORD_JUNIT, WORD_PCAP,
	WORD_RUN_FLAG,		/* run's own, passed on */
	WORD_RUN_VALUE,		/* run's own with a value, passed on with it */
};

static const struct vm_option {
	const char *name;
	enum word_kind kind;
	bool value;
} vm_options[] = {
	{ "--kernel", WORD_KERNEL, true },
	{ "--cache", WORD_CACHE, true },
	{ "--ctlab", WORD_CTLAB, true },
	{ "--vm-timeout", WORD_TIMEOUT, true },
	{ "--memory", WORD_MEMORY, true },
	{ "--cpus", WORD_CPUS, true },
	{ "--no-preload", WORD_NO_PRELOAD, false },
	{ "--help", WORD_HELP, false },
	{ "-h", WORD_HELP, false },
	{ "--json", WORD_JSON, true },
	{ "--junit", WORD_JUNIT, true },
	{ "--pcap", WORD_PCAP, true },
	{ "-v", WORD_RUN_FLAG, false },
	{ "--verbose", WORD_RUN_FLAG, false },
	{ "-k", WORD_RUN_FLAG, false },
	{ "--keep", WORD_RUN_FLAG, false },
	{ "-t", WORD_RUN_VALUE, true },
	{ "--timeout", WORD_RUN_VALUE, true },
	{ "-T", WORD_RUN_VALUE, true },
	{ "--run-limit", WORD_RUN_VALUE, true },
	{ "-j", WORD_RUN_VALUE, true },
	{ "--jobs", WORD_RUN_VALUE, true },
	{ "--ct-max", WORD_RUN_VALUE, true },
	{ "--shard", WORD_RUN_VALUE, true },
	{ "--family", WORD_RUN_VALUE, true },
	{ "--variant", WORD_RUN_VALUE, true },
	{ "--color", WORD_RUN_VALUE, true },
	{ "--colour", WORD_RUN_VALUE, true },
};

/* The option @word names: "--json FILE", "--json=FILE", "-j2".  *@inline_value
 * is what followed '=' (or a short option's letter), or NULL. */
static const struct vm_option *find_option(const char *word, const char **inline_value)
{
	size_t i, len;

	*inline_value = NULL;
	for (i = 0; i < sizeof(vm_options) / sizeof(vm_options[0]); i++) {
		const struct vm_option *option = &vm_options[i];

		len = strlen(option->name);
		if (strncmp(word, option->name, len) != 0)
			continue;
		if (word[len] == '\0')
			return option;
		if (!option->value)
			continue;
		if (word[len] == '=' && len > 2) {
			*inline_value = word + len + 1;
			return option;
		}
		if (len == 2) {		/* -j2 */
			*inline_value = word + len;
			return option;
		}
	}
	return NULL;
}

static bool parse_count(const char *text, long low, long high, int *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value < low || value > high)
		return false;
	*out = (int)value;
	return true;
}

static int pass_on(struct vm_request *request, const char *word)
{
	if (request->n_run_args >= VM_GUEST_ARGS_MAX)
		return -E2BIG;
	request->run_args[request->n_run_args++] = word;
	return 0;
}

int vm_request_parse(int argc, char **argv, struct vm_request *request, int *bad)
{
	int i, rc;
	bool options = true;

	*request = (struct vm_request){ .timeout_s = VM_TIMEOUT_DEFAULT_S,
					.memory_mb = VM_MEMORY_DEFAULT_MB,
					.cpus = VM_CPUS_DEFAULT, .preload = true };
	for (i = 1; i < argc; i++) {
		const struct vm_option *option;
		const char *value = NULL, *word = argv[i];
		bool separate = false;

		*bad = i;
		/* The guest reads its arguments one a line. */
		if (strchr(word, '\n'))
			return -EINVAL;
		if (!options || word[0] != '-' || word[1] == '\0') {
			options = false;
			rc = pass_on(request, word);
			if (rc < 0)
				return rc;
			continue;
		}
		if (strcmp(word, "--") == 0) {
			options = false;
			rc = pass_on(request, word);
			if (rc < 0)
				return rc;
			continue;
		}
		option = find_option(word, &value);
		if (!option)
			return -EINVAL;
		if (option->value && !value) {
			if (i + 1 >= argc || strchr(argv[i + 1], '\n'))
				return -EINVAL;
			value = argv[++i];
			separate = true;
		}
		switch (option->kind) {
		case WORD_KERNEL:
			request->kernel = value;
			break;
		case WORD_CACHE:
			request->cache = value;
			break;
		case WORD_CTLAB:
			request->ctlab = value;
			break;
		case WORD_TIMEOUT:
			if (!parse_count(value, 10, 86400, &request->timeout_s))
				return -EINVAL;
			break;
		case WORD_MEMORY:
			if (!parse_count(value, 256, 65536, &request->memory_mb))
				return -EINVAL;
			break;
		case WORD_CPUS:
			if (!parse_count(value, 1, 64, &request->cpus))
				return -EINVAL;
			break;
		case WORD_NO_PRELOAD:
			request->preload = false;
			break;
		case WORD_HELP:
			request->help = true;
			break;
		case WORD_JSON:
			request->json = value;
			break;
		case WORD_JUNIT:
			request->junit = value;
			break;
		case WORD_PCAP:
			request->pcap = value;
			break;
		case WORD_RUN_FLAG:
			rc = pass_on(request, word);
			if (rc < 0)
				return rc;
			break;
		case WORD_RUN_VALUE:
			/* Passed on as one word, whichever way it came. */
			rc = pass_on(request, word);
			if (rc == 0 && separate)
				rc = pass_on(request, value);
			if (rc < 0)
				return rc;
			break;
		}
	}
	*bad = 0;
	if (!request->kernel && !request->help)
		return -EINVAL;
	return 0;
}
