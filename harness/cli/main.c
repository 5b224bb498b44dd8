/* ctlab — the command line: run, list and show conntrack scenarios. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/output.h"
#include "engine/engine.h"
#include "journal/journal.h"
#include "netns/netns.h"
#include "base/base.h"
#include "lang/lang.h"

/* kselftest exit codes */
enum { EXIT_PASS = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SKIPPED = 4 };

/* -T: a run's whole time, generous (a fill of 262144 entries takes a second
 * here, minutes under valgrind). */
#define RUN_LIMIT_DEFAULT_S	600

#ifndef CTLAB_DATADIR
#define CTLAB_DATADIR "/usr/local/share/ctlab"
#endif

struct scenario_list {
	size_t n, cap;
	struct scenario **items;
};

static const char usage_text[] =
	"usage: ctlab [--help] COMMAND [ARGS]\n"
	"\n"
	"ctlab reproduces and tests Linux conntrack behaviour: it builds network\n"
	"namespaces, drives real TCP sockets and crafted packets through them and\n"
	"checks conntrack's verdict, logged reason, entry state and counters.\n"
	"\n"
	"commands:\n"
	"  run [-v] [-t MS] [-T S] [-j N] [--keep] [--json FILE] [--junit FILE]\n"
	"      [--pcap DIR] [--ct-max N] [NAME|FILE|DIR ...]\n"
	"                  run scenarios (all when none is named), each in every\n"
	"                  variant and family; KTAP on stdout, readable text and\n"
	"                  ladder diagrams with -v; -t bounds each wait for the\n"
	"                  kernel (default 2000 ms); -T bounds a whole run in seconds\n"
	"                  (default 600: it fails, the suite goes on); -j runs N at\n"
	"                  once (default: one per CPU); runs that flood, fill or read\n"
	"                  the kernel log have the machine to themselves, across ctlab\n"
	"                  processes; --keep leaves the namespaces bind-mounted under\n"
	"                  /run/netns for `ip netns exec`; --json FILE and\n"
	"                  --junit FILE also write the results there; --pcap DIR\n"
	"                  writes every packet on every link of each run as a\n"
	"                  pcapng file (DIR/NAME-FAMILY.pcapng) for Wireshark;\n"
	"                  --ct-max N sets the global net.netfilter.nf_conntrack_max\n"
	"                  and _buckets to N for this run (root; journaled, restored\n"
	"                  on exit, on any fatal signal, after a SIGKILL by a guardian)\n"
	"                  for faster table-full runs; other ctlab runs on the machine\n"
	"                  wait meanwhile\n"
	"  list            list the scenarios with their files\n"
	"  show NAME       print a scenario's explanation and steps\n"
	"  clean           remove namespaces kept by --keep whose ctlab has exited, and\n"
	"                  restore global settings a killed run left changed\n"
	"  diff OLD NEW    compare two --json results (say, before and after a kernel\n"
	"                  upgrade): every run whose outcome, and every packet whose\n"
	"                  verdict or reason, changed; exit 1 when anything did\n"
	"  help            this text\n"
	"\n"
	"Scenarios are read from $CTLAB_SCENARIOS, ./scenarios, the scenarios folder\n"
	"beside the binary, or " CTLAB_DATADIR "/scenarios.\n"
	"\n"
	"exit status: 0 all passed, 1 something failed, 2 usage or scenario syntax\n"
	"error, 4 everything skipped (not root, kernel feature missing).\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "ctlab: ");
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\nTry 'ctlab --help'.\n");
	return EXIT_USAGE;
}

static const char *scenario_dir(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	struct stat st;
	ssize_t len;

	if (getenv("CTLAB_SCENARIOS"))
		return getenv("CTLAB_SCENARIOS");
	if (stat("scenarios", &st) == 0 && S_ISDIR(st.st_mode))
		return "scenarios";
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		snprintf(path, sizeof(path), "%s/scenarios", dirname(exe));
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return path;
	}
	return CTLAB_DATADIR "/scenarios";
}

/* nftw has no user argument: the walk collects into this. */
static struct {
	char **paths;
	size_t n, cap;
} found_files;

static int collect_ct_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path);
	char **grown;

	(void)st;
	(void)ftw;
	/* Symlinks too: scenario_parse_file reads only what is a regular file. */
	if ((type != FTW_F && type != FTW_SL) || len < 3 || strcmp(path + len - 3, ".ct") != 0)
		return 0;
	if (found_files.n == found_files.cap) {
		found_files.cap = found_files.cap ? found_files.cap * 2 : 32;
		grown = realloc(found_files.paths, found_files.cap * sizeof(*grown));
		if (!grown)
			return -1;
		found_files.paths = grown;
	}
	found_files.paths[found_files.n] = strdup(path);
	return found_files.paths[found_files.n++] ? 0 : -1;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_found_files(void)
{
	size_t i;

	for (i = 0; i < found_files.n; i++)
		free(found_files.paths[i]);
	free(found_files.paths);
	memset(&found_files, 0, sizeof(found_files));
}

static int add_scenario(struct scenario_list *list, struct scenario *scenario)
{
	struct scenario **grown;

	if (list->n == list->cap) {
		list->cap = list->cap ? list->cap * 2 : 32;
		grown = realloc(list->items, list->cap * sizeof(*grown));
		if (!grown)
			return -1;
		list->items = grown;
	}
	list->items[list->n++] = scenario;
	return 0;
}

static void free_scenarios(struct scenario_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		scenario_free(list->items[i]);
	free(list->items);
}

/* Parse every scenario file under dir, in path order, each error on stderr.
 * Returns how many files could not be parsed (the others are in list), or -1
 * when the folder could not be walked. */
static int load_dir(const char *dir, struct scenario_list *list)
{
	char err[2048];
	size_t i;
	int bad = 0;

	if (nftw(dir, collect_ct_file, 16, FTW_PHYS) < 0) {
		fprintf(stderr, "ctlab: %s: %s\n", dir, strerror(errno));
		free_found_files();
		return -1;
	}
	qsort(found_files.paths, found_files.n, sizeof(char *), compare_paths);
	for (i = 0; i < found_files.n && bad >= 0; i++) {
		struct scenario *scenario = scenario_parse_file(found_files.paths[i], err, sizeof(err));

		if (!scenario) {
			fprintf(stderr, "%s\n", err);
			bad++;
		} else if (add_scenario(list, scenario) < 0) {
			scenario_free(scenario);
			bad = -1;
		}
	}
	free_found_files();
	return bad;
}

static int load_all(struct scenario_list *list)
{
	return load_dir(scenario_dir(), list);
}

/* A folder of scenarios; a name ending in .ct is a file, whatever it is. */
static bool is_dir(const char *arg)
{
	size_t len = strlen(arg);
	struct stat st;

	while (len > 1 && arg[len - 1] == '/')
		len--;
	if (len > 3 && strncmp(arg + len - 3, ".ct", 3) == 0)
		return false;
	return stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_path(const char *arg)
{
	size_t len = strlen(arg);

	return strchr(arg, '/') || (len > 3 && strcmp(arg + len - 3, ".ct") == 0);
}

/* The scenarios named on the command line: a path is parsed as given, a name is
 * looked up among all scenarios. */
static int select_scenarios(int argc, char **argv, struct scenario_list *all,
			    struct scenario_list *chosen)
{
	char err[2048];
	size_t j;
	int i, bad;

	/* The whole catalogue must parse before a namespace is made; looking up a
	 * name, a broken file elsewhere is only reported (it may be a colleague's
	 * draft, and cannot be the one asked for if it never parsed). */
	bad = load_all(all);
	if (bad < 0 || (bad && argc == 0))
		return -1;
	if (argc == 0) {
		for (j = 0; j < all->n; j++)
			if (add_scenario(chosen, all->items[j]) < 0)
				return -1;
		return 0;
	}
	if (bad)
		fprintf(stderr, "ctlab: %d scenario file%s above could not be read; looking among "
			"the others\n", bad, bad == 1 ? "" : "s");
	for (i = 0; i < argc; i++) {
		struct scenario *scenario = NULL;

		if (is_dir(argv[i])) {
			/* A folder: every scenario under it, owned by `all`. */
			size_t first = all->n;

			if (load_dir(argv[i], all) != 0)
				return -1;
			if (all->n == first) {
				fprintf(stderr, "ctlab: %s: no scenario files (*.ct) there\n", argv[i]);
				return -1;
			}
			for (j = first; j < all->n; j++)
				if (add_scenario(chosen, all->items[j]) < 0)
					return -1;
			continue;
		}
		if (is_path(argv[i])) {
			scenario = scenario_parse_file(argv[i], err, sizeof(err));
			if (!scenario) {
				fprintf(stderr, "%s\n", err);
				return -1;
			}
			/* Owned by `all` so that one free releases everything. */
			if (add_scenario(all, scenario) < 0) {
				scenario_free(scenario);
				return -1;
			}
		} else {
			for (j = 0; j < all->n && !scenario; j++)
				if (strcmp(all->items[j]->name, argv[i]) == 0)
					scenario = all->items[j];
			if (!scenario) {
				fprintf(stderr, "ctlab: no scenario named %s (see 'ctlab list')\n",
					argv[i]);
				return -1;
			}
		}
		if (add_scenario(chosen, scenario) < 0)
			return -1;
	}
	return 0;
}

/* One run to make: a scenario in one variant and one family. */
struct job {
	const struct scenario *scenario;
	int variant;
	int family;
	struct run_result result;
	bool done;
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

static struct job *make_jobs(const struct scenario_list *chosen, size_t *n_jobs)
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
				if (!(scenario->families & (f == 0 ? FAMILY_IPV4 : FAMILY_IPV6)))
					continue;
				jobs[n++] = (struct job){ .scenario = scenario,
							  .variant = scenario->n_variants ? v : -1,
							  .family = families[f] };
			}
	}
	*n_jobs = n;
	return jobs;
}

static int run_all(struct job *jobs, size_t n_jobs, long workers,
		   const struct engine_options *options, enum report_format format,
		   struct export *export)
{
	struct job_queue queue = { .jobs = jobs, .n_jobs = n_jobs, .options = options };
	struct report_totals totals = { 0 };
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

	report_begin(stdout, format, n_jobs);
	for (i = 0; i < n_jobs; i++) {
		pthread_mutex_lock(&queue.lock);
		while (!jobs[i].done)
			pthread_cond_wait(&queue.finished, &queue.lock);
		pthread_mutex_unlock(&queue.lock);
		report_run(stdout, format, i + 1, &jobs[i].result, &totals);
		export_run(export, &jobs[i].result);
		run_result_free(&jobs[i].result);
	}
	report_end(stdout, format, &totals);
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

/* The machine lock, exclusively; says so when other ctlab runs hold it. */
static int take_machine(void)
{
	int fd = journal_machine_lock(true, false);

	if (fd != -EWOULDBLOCK)
		return fd;
	fprintf(stderr, "ctlab: waiting for the other ctlab runs on this machine to finish\n");
	return journal_machine_lock(true, true);
}

static int do_run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "timeout", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "keep", no_argument, NULL, 'k' },
		{ "json", required_argument, NULL, 'J' },
		{ "junit", required_argument, NULL, 'U' },
		{ "pcap", required_argument, NULL, 'P' },
		{ "ct-max", required_argument, NULL, 'M' },
		{ "run-limit", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_options engine_options = { .timeout_ms = 2000,
						 .run_limit_ms = RUN_LIMIT_DEFAULT_S * 1000 };
	const char *json_path = NULL, *junit_path = NULL, *ct_max = NULL;
	struct export *export;
	char err[1024];
	enum report_format format = REPORT_KTAP;
	struct scenario_list all = { 0 }, chosen = { 0 };
	long workers = sysconf(_SC_NPROCESSORS_ONLN);
	struct job *jobs = NULL;
	size_t n_jobs = 0;
	char *end;
	int opt, status = EXIT_USAGE, machine_fd = -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+vt:T:j:kh", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			format = REPORT_TEXT;
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
		case 'J':
			json_path = optarg;
			break;
		case 'U':
			junit_path = optarg;
			break;
		case 'M':
			if (strtol(optarg, &end, 10) < 1024 || *end || strtol(optarg, NULL, 10) > 16777216)
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
			return usage_error("%s", "run: unknown option");
		}
	}
	if (workers < 1)
		workers = 1;
	if (select_scenarios(argc - optind, argv + optind, &all, &chosen) < 0)
		goto out_free;
	jobs = make_jobs(&chosen, &n_jobs);
	if (!jobs) {
		fprintf(stderr, "ctlab: out of memory\n");
		status = EXIT_FAILED;
		goto out_free;
	}
	/* A crashed run may have left a global setting changed: put it back first. */
	journal_recover(stderr);
	/* The one global setting ctlab touches, and only when asked: journaled
	 * first, restored on every exit and fatal signal, after a SIGKILL by the
	 * journal's guardian (or `ctlab clean` if that was killed too). */
	if (ct_max) {
		int rc;

		if (geteuid() != 0) {
			fprintf(stderr, "ctlab: --ct-max needs root (it changes the host's global "
				"net.netfilter.nf_conntrack_max)\n");
			status = EXIT_SKIPPED;
			goto out_free;
		}
		/* A changed global is every ctlab run's world: this process has the
		 * machine to itself until it is put back. */
		machine_fd = take_machine();
		if (machine_fd < 0) {
			fprintf(stderr, "ctlab: --ct-max: the machine lock: %s\n", strerror(-machine_fd));
			status = EXIT_FAILED;
			goto out_free;
		}
		engine_options.machine_held = true;
		/* Buckets as many as entries, as the kernel sizes its table (since
		 * 5.15): a smaller table is as dense as a smaller machine's. */
		rc = journal_set("net.netfilter.nf_conntrack_buckets", ct_max);
		if (rc == 0)
			rc = journal_set("net.netfilter.nf_conntrack_max", ct_max);
		if (rc < 0) {
			fprintf(stderr, "ctlab: --ct-max: %s\n", strerror(-rc));
			status = EXIT_FAILED;
			goto out_free;
		}
		fprintf(stderr, "ctlab: net.netfilter.nf_conntrack_max and _buckets are %s for this "
			"run (the old values are journaled in /run/ctlab)\n", ct_max);
	}
	export = export_open(json_path, junit_path, err, sizeof(err));
	if (!export) {
		fprintf(stderr, "ctlab: %s\n", err);
		goto out_free;
	}
	status = run_all(jobs, n_jobs, workers, &engine_options, format, export);
	if (export_close(export) < 0 && status == EXIT_PASS)
		status = EXIT_FAILED;

out_free:
	if (ct_max)
		journal_restore_all();
	if (machine_fd >= 0)
		close(machine_fd);
	free(jobs);
	free(chosen.items);
	free_scenarios(&all);
	return status;
}

static int do_list(int argc, char **argv)
{
	struct scenario_list all = { 0 };
	size_t i;
	int bad;

	(void)argv;
	if (argc > 1)
		return usage_error("list takes no arguments, found '%s'", argv[1]);
	/* The files that parse are listed even when others do not. */
	bad = load_all(&all);
	for (i = 0; i < all.n; i++)
		printf("%-28s %s\n", all.items[i]->name, all.items[i]->path);
	free_scenarios(&all);
	return bad ? EXIT_USAGE : EXIT_PASS;
}

static int do_show(int argc, char **argv)
{
	struct scenario_list all = { 0 }, chosen = { 0 };
	int status = EXIT_USAGE;
	size_t i, s;

	if (argc < 2)
		return usage_error("%s", "show expects a scenario name or path");
	if (select_scenarios(argc - 1, argv + 1, &all, &chosen) < 0)
		goto out_free;
	for (i = 0; i < chosen.n; i++) {
		const struct scenario *scenario = chosen.items[i];

		printf("%s  (%s)\n\n%s\n\ntopology %s", scenario->name, scenario->path,
		       scenario->about, scenario->topology);
		if (scenario->nat != NAT_NONE)
			printf(" with %s on the router", nat_kind_name(scenario->nat));
		printf(", %s", scenario->families == FAMILY_BOTH ? "IPv4 and IPv6" :
		       scenario->families == FAMILY_IPV4 ? "IPv4 only" : "IPv6 only");
		for (s = 0; s < scenario->n_variants; s++)
			printf("%s%s", s ? ", " : "; variants ", scenario->variants[s]);
		if (scenario->kernel_min)
			printf("; kernel >= %u.%u", scenario->kernel_min >> 16,
			       (scenario->kernel_min >> 8) & 0xff);
		if (scenario->kernel_below)
			printf("; kernel < %u.%u", scenario->kernel_below >> 16,
			       (scenario->kernel_below >> 8) & 0xff);
		printf("\n\n");
		for (s = 0; s < scenario->n_steps; s++)
			printf("  %3d  %s\n", scenario->steps[s].pos.line, scenario->steps[s].text);
		if (i + 1 < chosen.n)
			putchar('\n');
	}
	status = EXIT_PASS;
out_free:
	free(chosen.items);
	free_scenarios(&all);
	return status;
}

/*
 * Remove namespaces kept by --keep whose ctlab process is gone, and only
 * the caller's: those of a live pid, or made by another user, are left.
 */
static int do_clean(int argc, char **argv)
{
	char path[PATH_MAX];
	struct dirent *entry;
	int pid, removed = 0, status = EXIT_PASS, rc, below;
	struct stat st;
	DIR *dir;

	if (argc > 1)
		return usage_error("clean takes no arguments, found '%s'", argv[1]);
	if (geteuid() != 0) {
		fprintf(stderr, "ctlab: clean needs root (it unmounts namespaces kept under "
			"/run/netns and restores global sysctls)\n");
		return EXIT_SKIPPED;
	}
	if (journal_recover(stdout) < 0)
		status = EXIT_FAILED;
	dir = opendir("/run/netns");
	if (!dir)
		return errno == ENOENT ? status : EXIT_FAILED;
	/* /run/netns without the namespaces mounted on its files: a copy of its own mount only. */
	below = open_tree(AT_FDCWD, "/run/netns", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (below < 0) {
		fprintf(stderr, "ctlab: /run/netns: cannot tell who kept what there: %s\n",
			strerror(errno));
		status = EXIT_FAILED;
		goto out_close_dir;
	}
	while ((entry = readdir(dir))) {
		if (sscanf(entry->d_name, "ctlab-%d-", &pid) != 1 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", entry->d_name);
		/* The mount hides its file, whose owner made it: seen in the copy. */
		if (fstatat(below, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
		} else if (st.st_uid != geteuid()) {
			printf("left %s: kept by uid %u\n", path, (unsigned)st.st_uid);
			continue;
		} else {
			rc = netns_unkeep(path);
		}
		if (rc < 0) {
			fprintf(stderr, "ctlab: %s: %s\n", path, strerror(-rc));
			status = EXIT_FAILED;
		} else {
			removed++;
		}
	}
	close(below);
out_close_dir:
	closedir(dir);
	printf("removed %d kept namespace%s\n", removed, removed == 1 ? "" : "s");
	return status;
}

/* Verdicts and reasons that changed between two --json results. */
static int do_diff(int argc, char **argv)
{
	int differences;

	if (argc != 3)
		return usage_error("%s", "diff expects two files: OLD.json NEW.json");
	differences = diff_results(argv[1], argv[2], stdout);
	if (differences < 0)
		return EXIT_USAGE;
	return differences ? EXIT_FAILED : EXIT_PASS;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(usage_text, stdout);
	return EXIT_PASS;
}

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "run", do_run },
	{ "list", do_list },
	{ "show", do_show },
	{ "clean", do_clean },
	{ "diff", do_diff },
	{ "help", do_help },
	{ "--help", do_help },
	{ "-h", do_help },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage_error("%s", "expected a command: run, list, show, clean, diff, help");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (run, list, show, clean, diff, help)", argv[1]);
}
