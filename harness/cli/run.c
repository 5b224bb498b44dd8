/* run — the run command: its options, the job queue and worker threads, the KTAP/JSON/JUnit/pcap outputs, --ct-max with the journal and the machine lock. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "output/output.h"
#include "engine/engine.h"
#include "journal/journal.h"
#include "observe/observe.h"
#include "base/base.h"
#include "lang/lang.h"
#include "cli.h"

/* -T: a run's whole time, generous (a fill of 262144 entries takes a second
 * here, minutes under valgrind). */
#define RUN_LIMIT_DEFAULT_S	600

/* One run to make: a scenario in one variant and one family. */
struct job {
	const struct scenario *scenario;
	int variant;
	int family;
	size_t position;		/* among all the runs asked for, from 1 */
	struct run_result result;
	bool done;
};

/* Where the report goes: stdout (or stderr under --json -), and the results
 * folder's results.ktap. */
struct sinks {
	FILE *report;
	enum report_format format;
	FILE *ktap;			/* NULL: none */
};

/* Runs go on in worker threads (each in namespaces of its own); the main
 * thread reports them in order as they finish. */
struct job_queue {
	struct job *jobs;
	size_t n_jobs;
	size_t next;			/* next job to start */
	const struct engine_options *options;
	pthread_mutex_t lock;
	pthread_cond_t finished;
};

static void *run_jobs(void *arg)
{
	struct job_queue *queue = arg;
	struct job *job;

	for (;;) {
		pthread_mutex_lock(&queue->lock);
		job = queue->next < queue->n_jobs ? &queue->jobs[queue->next++] : NULL;
		pthread_mutex_unlock(&queue->lock);
		if (!job)
			return NULL;
		engine_run(job->scenario, job->variant, job->family, queue->options, &job->result);
		chain_locate_run(&job->result);
		pthread_mutex_lock(&queue->lock);
		job->done = true;
		pthread_cond_broadcast(&queue->finished);
		pthread_mutex_unlock(&queue->lock);
	}
}

/* --family and --variant: which runs of every chosen scenario. */
struct run_filter {
	unsigned families;		/* 0: both */
	const char *variant;		/* NULL: every variant */
};

/* Whether run (scenario, variant v, family bit) is picked and passes @filter. */
static bool wanted(const struct scenario *scenario, const struct run_pick *pick,
		   const struct run_filter *filter, int v, unsigned family)
{
	if (!(scenario->families & family) || (pick->families && !(pick->families & family)) ||
	    (filter->families && !(filter->families & family)))
		return false;
	if (v < 0)
		return !filter->variant;
	return (!pick->variants || (pick->variants & (1u << v))) &&
	       (!filter->variant || strcmp(filter->variant, scenario->variants[v]) == 0);
}

static struct job *make_jobs(const struct scenario_list *chosen, const struct run_filter *filter,
			     size_t *n_jobs)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct job *jobs;
	size_t i, n = 0, f;
	int v;

	for (i = 0; i < chosen->n; i++)
		n += (size_t)__builtin_popcount(chosen->items[i]->families) *
		     (chosen->items[i]->n_variants ? chosen->items[i]->n_variants : 1);
	jobs = calloc(n ? n : 1, sizeof(*jobs));
	if (!jobs)
		return NULL;
	n = 0;
	for (i = 0; i < chosen->n; i++) {
		const struct scenario *scenario = chosen->items[i];
		int n_variants = scenario->n_variants ? (int)scenario->n_variants : 1;

		for (v = 0; v < n_variants; v++)
			for (f = 0; f < 2; f++) {
				int variant = scenario->n_variants ? v : -1;

				if (!wanted(scenario, &chosen->picks[i], filter, variant,
					    f == 0 ? FAMILY_IPV4 : FAMILY_IPV6))
					continue;
				jobs[n] = (struct job){ .scenario = scenario, .variant = variant,
							.family = families[f], .position = n + 1 };
				n++;
			}
	}
	*n_jobs = n;
	return jobs;
}

/* A run's KTAP name before it runs: NAME[/VARIANT]/FAMILY, as the engine names it. */
static void job_name(const struct job *job, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s/%s", job->scenario->name, job->variant >= 0 ? "/" : "",
		 job->variant >= 0 ? job->scenario->variants[job->variant] : "",
		 job->family == AF_INET ? "ipv4" : "ipv6");
}

/* FNV-1a: the same shard for a run on every machine, kernel and catalogue order. */
static uint32_t name_hash(const char *name)
{
	uint32_t hash = 2166136261u;

	for (; *name; name++)
		hash = (hash ^ (uint8_t)*name) * 16777619u;
	return hash;
}

/* --shard K/N: keep the runs whose name hashes to K (1..N). */
static size_t keep_shard(struct job *jobs, size_t n_jobs, unsigned k, unsigned n)
{
	char name[SCENARIO_NAME_MAX + SCENARIO_IDENT_MAX + 8];
	size_t kept = 0;

	for (size_t i = 0; i < n_jobs; i++) {
		job_name(&jobs[i], name, sizeof(name));
		if (name_hash(name) % n == k - 1)
			jobs[kept++] = jobs[i];
	}
	return kept;
}

static int run_all(struct job *jobs, size_t n_jobs, long workers,
		   const struct engine_options *options, const struct sinks *sinks,
		   struct export *export)
{
	struct job_queue queue = { .jobs = jobs, .n_jobs = n_jobs, .options = options };
	struct report_totals totals = { 0 }, ktap_totals = { 0 };
	pthread_t threads[64];
	size_t i;
	long w, started = 0;

	pthread_mutex_init(&queue.lock, NULL);
	pthread_cond_init(&queue.finished, NULL);
	for (w = 0; w < workers && w < 64; w++)
		if (pthread_create(&threads[w], NULL, run_jobs, &queue) == 0)
			started++;
	if (!started)
		run_jobs(&queue);

	report_begin(sinks->report, sinks->format, n_jobs);
	if (sinks->ktap)
		report_begin(sinks->ktap, REPORT_KTAP, n_jobs);
	for (i = 0; i < n_jobs; i++) {
		pthread_mutex_lock(&queue.lock);
		while (!jobs[i].done)
			pthread_cond_wait(&queue.finished, &queue.lock);
		pthread_mutex_unlock(&queue.lock);
		jobs[i].result.position = jobs[i].position;
		report_run(sinks->report, sinks->format, i + 1, &jobs[i].result, &totals);
		if (sinks->ktap)
			report_run(sinks->ktap, REPORT_KTAP, i + 1, &jobs[i].result, &ktap_totals);
		export_run(export, &jobs[i].result);
		run_result_free(&jobs[i].result);
	}
	report_end(sinks->report, sinks->format, &totals);
	if (sinks->ktap)
		report_end(sinks->ktap, REPORT_KTAP, &ktap_totals);
	for (w = 0; w < started; w++)
		pthread_join(threads[w], NULL);
	pthread_cond_destroy(&queue.finished);
	pthread_mutex_destroy(&queue.lock);

	if (totals.failed)
		return EXIT_FAILED;
	if (totals.skipped && !totals.passed)
		return EXIT_SKIPPED;
	return EXIT_PASS;
}

/* Whether two output paths name one output: the same name in the same
 * folder, or the same stream (/dev/stdout and -). Two hard links to one file
 * are two outputs: each is replaced by a new file, never written through. */
static bool same_file(const char *a, const char *b)
{
	char da[PATH_MAX], db[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
	struct stat sa, sb;

	/* "-" is stdout: the same as /dev/stdout, or as another "-". */
	if (strcmp(a, "-") == 0)
		a = "/dev/stdout";
	if (strcmp(b, "-") == 0)
		b = "/dev/stdout";
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && !S_ISREG(sa.st_mode) && !S_ISREG(sb.st_mode))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	snprintf(da, sizeof(da), "%s", a);
	snprintf(db, sizeof(db), "%s", b);
	if (!realpath(dirname(da), ra) || !realpath(dirname(db), rb))
		return strcmp(a, b) == 0;
	snprintf(da, sizeof(da), "%s", a);
	snprintf(db, sizeof(db), "%s", b);
	return strcmp(ra, rb) == 0 && strcmp(basename(da), basename(db)) == 0;
}

/* The results folder of --out auto: results/DATE-KERNEL, and results/latest
 * (a relative symlink, replaced whole) pointing at it. */
static int auto_out(char *dir, size_t size)
{
	char stamp[32], link_tmp[64];
	struct utsname uts;
	int rc;

	uname(&uts);
	time_text(stamp, sizeof(stamp), "%Y-%m-%dT%H%M%S", 0, false);
	rc = outfile_mkdir("results");
	if (rc < 0)
		return rc;
	snprintf(dir, size, "results/%s-%s", stamp, uts.release);
	rc = outfile_mkdir(dir);
	if (rc < 0)
		return rc;
	snprintf(link_tmp, sizeof(link_tmp), "results/.latest.%d", (int)getpid());
	unlink(link_tmp);
	if (symlink(dir + strlen("results/"), link_tmp) < 0 || rename(link_tmp, "results/latest") < 0) {
		rc = -errno;
		unlink(link_tmp);
		return rc;
	}
	return 0;
}

/*
 * --pause: the run's namespaces named on stderr, then a line from stdin (or
 * its end) lets the steps go on. Runs side by side pause one at a time.
 */
static void pause_before_steps(const char *run_name, const char *const *netns, size_t n,
			       void *arg)
{
	static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
	char line[256];

	(void)arg;
	pthread_mutex_lock(&one_at_a_time);
	fprintf(stderr, "ctlab: paused before the steps of %s; its namespaces:\n", run_name);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "ctlab:   %s%s\n", netns[i],
			i == 0 ? " (conntrack observed here)" : "");
	fprintf(stderr, "ctlab: Enter goes on\n");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		clearerr(stdin);
	pthread_mutex_unlock(&one_at_a_time);
}

/* The machine lock, exclusively; says so when other ctlab runs hold it. */
int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "keep", no_argument, NULL, 'k' },
		{ "json", required_argument, NULL, 'J' },
		{ "junit", required_argument, NULL, 'U' },
		{ "html", required_argument, NULL, 'H' },
		{ "pcap", required_argument, NULL, 'P' },
		{ "ct-max", required_argument, NULL, 'M' },
		{ "run-limit", required_argument, NULL, 'T' },
		{ "family", required_argument, NULL, 'F' },
		{ "variant", required_argument, NULL, 'R' },
		{ "color", required_argument, NULL, 'C' },
		{ "out", required_argument, NULL, 'O' },
		{ "shard", required_argument, NULL, 'S' },
		{ "pause", no_argument, NULL, 'p' },
		{ "no-reasons", no_argument, NULL, 'N' },
		{ "colour", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_options engine_options = { .timeout_ms = 2000,
						 .run_limit_ms = RUN_LIMIT_DEFAULT_S * 1000 };
	const char *json_path = NULL, *junit_path = NULL, *html_path = NULL, *ct_max = NULL;
	struct export *export;
	char err[1024];
	enum report_format format = REPORT_KTAP;
	struct scenario_list all = { 0 }, chosen = { 0 };
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	struct job *jobs = NULL;
	size_t n_jobs = 0, n_facts = 0;
	struct fact_value *facts = NULL;
	struct run_filter filter = { 0 };
	struct sinks sinks = { .report = stdout, .format = REPORT_KTAP };
	const char *out_dir = NULL;
	char out_buf[PATH_MAX], json_buf[PATH_MAX + 16], junit_buf[PATH_MAX + 16];
	char html_buf[PATH_MAX + 16];
	char ktap_path[PATH_MAX + 16], pcap_buf[PATH_MAX + 16];
	struct outfile *ktap_file = NULL;
	unsigned shard_k = 0, shard_n = 0;
	char *end;
	int opt, status = EXIT_USAGE, machine_fd = -1;

	optind = 1;
	while ((opt = cli_getopt("run", argc, argv, "vt:T:j:kh", options)) != -1) {
		switch (opt) {
		case 'F':
			if (strcmp(optarg, "ipv4") == 0)
				filter.families = FAMILY_IPV4;
			else if (strcmp(optarg, "ipv6") == 0)
				filter.families = FAMILY_IPV6;
			else
				return usage_error("--family expects ipv4 or ipv6, found '%s'", optarg);
			break;
		case 'R':
			filter.variant = optarg;
			break;
		case 'C':
			if (strcmp(optarg, "auto") == 0)
				report_color_choose(COLOR_AUTO);
			else if (strcmp(optarg, "always") == 0)
				report_color_choose(COLOR_ALWAYS);
			else if (strcmp(optarg, "never") == 0)
				report_color_choose(COLOR_NEVER);
			else
				return usage_error("--color expects auto, always or never, found '%s'",
						   optarg);
			break;
		case 'v':
			format = REPORT_TEXT;
			break;
		case 'O':
			out_dir = optarg;
			break;
		case 'S':
			if (sscanf(optarg, "%u/%u", &shard_k, &shard_n) != 2 || shard_n < 1 ||
			    shard_n > 1000 || shard_k < 1 || shard_k > shard_n ||
			    strspn(optarg, "0123456789/") != strlen(optarg))
				return usage_error("--shard expects K/N, 1 <= K <= N <= 1000, found '%s'",
						   optarg);
			break;
		case 't':
			engine_options.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || engine_options.timeout_ms <= 0 || engine_options.timeout_ms > 600000)
				return usage_error("-t expects milliseconds 1..600000, found '%s'", optarg);
			break;
		case 'T':
			engine_options.run_limit_ms = (int)strtol(optarg, &end, 10) * 1000;
			if (*end || engine_options.run_limit_ms <= 0 ||
			    engine_options.run_limit_ms > 86400 * 1000)
				return usage_error("-T expects seconds 1..86400, found '%s'", optarg);
			break;
		case 'j':
			workers = strtol(optarg, &end, 10);
			if (*end || workers < 1 || workers > 64)
				return usage_error("-j expects 1..64 parallel runs, found '%s'", optarg);
			break;
		case 'k':
			engine_options.keep = true;
			break;
		case 'p':
			engine_options.pause = pause_before_steps;
			break;
		case 'N':
			engine_options.no_reasons = true;
			break;
		case 'J':
			json_path = optarg;
			break;
		case 'U':
			junit_path = optarg;
			break;
		case 'H':
			html_path = optarg;
			break;
		case 'M':
			if (!ct_max_valid(optarg))
				return usage_error("--ct-max expects 1024..16777216 entries, found '%s'",
						   optarg);
			ct_max = optarg;
			break;
		case 'P': {
			/* Made here, checked before any run: a symlink there is refused. */
			int made = outfile_mkdir(optarg);

			if (made < 0) {
				fprintf(stderr, "ctlab: --pcap %s: %s\n", optarg, outfile_strerror(-made));
				return EXIT_USAGE;
			}
			engine_options.pcap_dir = optarg;
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_PASS;
		default:
			return EXIT_USAGE;	/* cli_getopt said what */
		}
	}
	if (workers < 1)
		workers = 1;
	sinks.format = format;
	/* --json -: the JSON is stdout, so the report goes to stderr. */
	if (json_path && strcmp(json_path, "-") == 0)
		sinks.report = stderr;
	if (out_dir) {
		int rc = strcmp(out_dir, "auto") == 0 ? auto_out(out_buf, sizeof(out_buf))
						     : outfile_mkdir(out_dir);

		if (rc < 0) {
			fprintf(stderr, "ctlab: --out %s: %s\n", out_dir, outfile_strerror(-rc));
			return EXIT_USAGE;
		}
		if (strcmp(out_dir, "auto") == 0)
			out_dir = out_buf;
		snprintf(json_buf, sizeof(json_buf), "%s/results.json", out_dir);
		snprintf(junit_buf, sizeof(junit_buf), "%s/junit.xml", out_dir);
		snprintf(html_buf, sizeof(html_buf), "%s/report.html", out_dir);
		snprintf(ktap_path, sizeof(ktap_path), "%s/results.ktap", out_dir);
		snprintf(pcap_buf, sizeof(pcap_buf), "%s/pcap", out_dir);
		if (!json_path)
			json_path = json_buf;
		if (!junit_path)
			junit_path = junit_buf;
		if (!html_path)
			html_path = html_buf;
		if (!engine_options.pcap_dir) {
			rc = outfile_mkdir(pcap_buf);
			if (rc < 0) {
				fprintf(stderr, "ctlab: --out %s: %s\n", pcap_buf, outfile_strerror(-rc));
				return EXIT_USAGE;
			}
			engine_options.pcap_dir = pcap_buf;
		}
	}
	{
		const char *paths[] = { json_path, junit_path, html_path, out_dir ? ktap_path : NULL };
		const char *names[] = { "--json", "--junit", "--html", "results.ktap" };

		for (size_t a = 0; a < 4; a++)
			for (size_t b = a + 1; b < 4; b++)
				if (paths[a] && paths[b] && same_file(paths[a], paths[b]))
					return usage_error("%s and %s are one file (%s): each output "
							   "needs its own", names[a], names[b], paths[a]);
	}
	/* Before any run: stamping turns on a little after it is first asked for. */
	wire_hold_timestamps();
	if (select_scenarios(argc - optind, argv + optind, &all, &chosen) < 0)
		goto out_free;
	/* A ruleset nft cannot read is the file's mistake: said before anything runs. */
	for (size_t i = 0; i < chosen.n; i++) {
		char ruleset_err[2600];

		if (engine_check_rulesets(chosen.items[i], ruleset_err, sizeof(ruleset_err)) < 0) {
			fprintf(stderr, "%s\n", ruleset_err);
			goto out_free;
		}
	}
	jobs = make_jobs(&chosen, &filter, &n_jobs);
	if (!jobs) {
		fprintf(stderr, "ctlab: out of memory\n");
		status = EXIT_FAILED;
		goto out_free;
	}
	if (shard_n)
		n_jobs = keep_shard(jobs, n_jobs, shard_k, shard_n);
	if (!n_jobs && (filter.families || filter.variant)) {
		usage_error("no run of the chosen scenarios is %s%s%s", filter.variant ? "variant " : "",
			    filter.variant ? filter.variant : "",
			    filter.families ? (filter.families == FAMILY_IPV4 ? " in ipv4" : " in ipv6") : "");
		goto out_free;
	}
	/* A crashed run may have left a global setting changed: put it back first. */
	journal_recover(stderr);
	/* The one global setting ctlab touches, and only when asked: journaled
	 * first, restored on every exit and fatal signal, after a SIGKILL by the
	 * journal's guardian (or `ctlab clean` if that was killed too). */
	if (ct_max) {
		machine_fd = take_ct_max(ct_max);
		if (machine_fd < 0) {
			status = -machine_fd;
			goto out_free;
		}
		engine_options.machine_held = true;
	}
	/* The facts the runs' conditions need, probed on this kernel once. */
	if (probe_facts(&all, &chosen, &engine_options, &facts, &n_facts) < 0) {
		status = EXIT_USAGE;
		goto out_free;
	}
	engine_options.facts = facts;
	engine_options.n_facts = n_facts;
	export = export_open(&(struct export_paths){ .json = json_path, .junit = junit_path,
						     .html = html_path,
						     .pcap_dir = engine_options.pcap_dir },
			     err, sizeof(err));
	if (!export) {
		fprintf(stderr, "ctlab: %s\n", err);
		goto out_free;
	}
	if (out_dir) {
		ktap_file = outfile_open(ktap_path);
		if (!ktap_file) {
			fprintf(stderr, "ctlab: --out %s: %s\n", ktap_path, outfile_strerror(errno));
			export_close(export);
			goto out_free;
		}
		sinks.ktap = outfile_stream(ktap_file);
	}
	status = run_all(jobs, n_jobs, workers, &engine_options, &sinks, export);
	if (export_close(export) < 0 && status == EXIT_PASS)
		status = EXIT_FAILED;
	if (ktap_file) {
		int rc = outfile_commit(ktap_file);

		if (rc < 0) {
			fprintf(stderr, "ctlab: --out %s: %s\n", ktap_path, outfile_strerror(-rc));
			if (status == EXIT_PASS)
				status = EXIT_FAILED;
		}
	}
	if (out_dir)
		fprintf(stderr, "ctlab: results in %s/ (results.json, junit.xml, results.ktap, "
			"report.html, pcap/)\n",
			out_dir);

out_free:
	if (ct_max)
		journal_restore_all();
	if (machine_fd >= 0)
		close(machine_fd);
	free(jobs);
	free(facts);
	free_chosen(&chosen);
	free_scenarios(&all);
	return status;
}
