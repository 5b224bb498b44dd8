/* engine — run one scenario in one address family on a fresh topology. */
#ifndef CTLAB_ENGINE_H
#define CTLAB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observer.h"
#include "scenario.h"

enum outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_SKIP };

/* What one step did.  Packets [first_packet, end_packet) arrived during it. */
struct step_result {
	const struct step *step;
	bool skipped;			/* its condition does not hold in this run */
	bool passed;			/* an expectation met, or an action done */
	char message[1024];		/* why not, or what the action found */
	long sent_packet;		/* SEND: index of its observed packet, -1 if none */
	size_t first_packet, end_packet;
};

#define RUN_HOSTS_MAX	4

/* A host of the run's topology as the reports name it. */
struct run_host {
	char name[SCENARIO_IDENT_MAX];	/* "client" */
	char addr[48];			/* its address in this run's family */
	bool observing;			/* conntrack is observed there */
};

struct run_result {
	const struct scenario *scenario;
	int family;			/* AF_INET or AF_INET6 */
	int variant;			/* index into scenario->variants, -1 if none */
	char name[SCENARIO_NAME_MAX + SCENARIO_IDENT_MAX + 8];	/* "syn-rst/liberal/ipv4" */
	size_t n_hosts;			/* in topology order: client, (router,) server */
	struct run_host hosts[RUN_HOSTS_MAX];
	enum outcome outcome;
	char reason[1200];		/* skip reason, or the first failure with file:line:column */
	size_t failures;
	size_t n_steps;			/* steps run; a step that could not be done ends the run */
	struct step_result *steps;
	size_t n_packets;		/* every packet the observer saw, in order */
	struct observed *packets;
	double seconds;			/* setup + run + teardown */
};

struct engine_options {
	int timeout_ms;			/* bound of each wait for the kernel */
	bool keep;			/* bind-mount the namespaces under /run/netns */
};

/*
 * Run scenario in one variant (index into scenario->variants, -1 when it has
 * none) and family (AF_INET/AF_INET6); fill result (run_result_free it).
 * Thread-safe: runs share nothing, so several may go at once.
 */
void engine_run(const struct scenario *scenario, int variant, int family,
		const struct engine_options *options, struct run_result *result);
void run_result_free(struct run_result *result);

const char *family_name(int family);	/* "ipv4" / "ipv6" */

/* The running kernel as CTLAB_KERNEL_VERSION(major, minor, patch). */
uint32_t engine_kernel_version(void);

#endif
