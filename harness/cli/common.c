/* common — what several commands share: the usage error, and finding, loading and choosing scenario files. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "journal/journal.h"
#include "output/output.h"
#include "lang/lang.h"
#include "cli.h"

/* The usage that `ctlab --help` and `ctlab run --help` print. */
const char usage_text[] =
	"usage: ctlab [--help] [--version] COMMAND [ARGS]\n"
	"\n"
	"ctlab reproduces and tests Linux conntrack behaviour: it builds network\n"
	"namespaces, drives real TCP sockets and crafted packets through them and\n"
	"checks conntrack's verdict, logged reason, entry state and counters.\n"
	"\n"
	"commands:\n"
	"  run [-v] [-t MS] [-T S] [-j N] [--keep] [--json FILE] [--junit FILE]\n"
	"      [--html FILE] [--pcap DIR] [--ct-max N] [--family ipv4|ipv6] [--variant NAME]\n"
	"      [--color auto|always|never] [--out DIR|auto] [--shard K/N] [--pause]\n"
	"      [--no-reasons] [NAME|RUN|FILE|DIR ...]\n"
	"                  run scenarios (all when none is named), each in every\n"
	"                  variant and family, or one run by its KTAP name\n"
	"                  (NAME/VARIANT/FAMILY, as `ok 3 syn-rst/nofilter/ipv4`\n"
	"                  printed it); --family and --variant keep only those\n"
	"                  runs; options go anywhere; --out DIR writes results.json,\n"
	"                  junit.xml, results.ktap, report.html and pcap/ there (auto:\n"
	"                  results/DATE-KERNEL, and results/latest to it); --shard\n"
	"                  K/N runs the K-th of N fixed parts (by run name, the same\n"
	"                  on every machine), for `ctlab merge`; `--json -` is\n"
	"                  stdout (the report then goes to stderr); KTAP on stdout, readable text and\n"
	"                  ladder diagrams with -v; -t bounds each wait for the\n"
	"                  kernel (default 2000 ms); -T bounds a whole run in seconds\n"
	"                  (default 600: it fails, the suite goes on); -j runs N at\n"
	"                  once (default: one per CPU); runs that flood, fill or read\n"
	"                  the kernel log have the machine to themselves, across ctlab\n"
	"                  processes; --keep leaves the namespaces bind-mounted under\n"
	"                  /run/netns for `ip netns exec`; --pause: before each\n"
	"                  run's steps, its namespaces' names on stderr (in\n"
	"                  /run/netns while it runs), and a line from stdin goes on\n"
	"                  (to look around, or attach ctlab diagnose); --no-reasons\n"
	"                  leaves NFLOG group 0, conntrack's reasons, to another\n"
	"                  listener (ctlab diagnose): verdicts are checked, reasons\n"
	"                  not; --json FILE,\n"
	"                  --junit FILE and --html FILE (the page of `ctlab report`)\n"
	"                  also write the results there; --pcap DIR\n"
	"                  writes every packet on every link of each run as a\n"
	"                  pcapng file (DIR/NAME-FAMILY.pcapng, and one per\n"
	"                  interface in DIR/NAME-FAMILY/) for Wireshark, with\n"
	"                  conntrack's verdicts as packet comments;\n"
	"                  --ct-max N sets the global net.netfilter.nf_conntrack_max\n"
	"                  and _buckets to N for this run (root; journaled, restored\n"
	"                  on exit, on any fatal signal, after a SIGKILL by a guardian)\n"
	"                  for faster table-full runs; other ctlab runs on the machine\n"
	"                  wait meanwhile; --color: colours in -v (auto: on a\n"
	"                  terminal, unless NO_COLOR is set)\n"
	"  list            list the scenarios with their files\n"
	"  show NAME [--html [-o FILE]]\n"
	"                  print a scenario's explanation and steps; --html: the\n"
	"                  page of its runs in results/latest, or of a fresh run\n"
	"                  when there are none there (to stdout, or FILE)\n"
	"  report RESULTS [-o FILE]\n"
	"                  a results.json (or results folder) as one self-contained\n"
	"                  HTML page (to stdout, or FILE): a summary with failures\n"
	"                  first, then each run's story, topology and sequence\n"
	"                  diagram, one arrow per hop, with conntrack's verdicts and\n"
	"                  reasons, NAT's rewriting, drops and RST chains; keys n/p\n"
	"                  step through the packets\n"
	"  replay [-v] [-t MS] [--sysctl net.netfilter.KEY=VALUE]... [--sysctl-file FILE]\n"
	"      [--all-copies]\n"
	"      [--nat 'dnat SERVICE=BACKEND'|'snat ADDRESS']... [--nft FILE]\n"
	"      [--side IFNAME=MAC|PREFIX[,...]]... [--keep-checksums] [--ct-max N]\n"
	"      [--flush-before FRAME]... [--scenario FILE]\n"
	"      [--json FILE] [--html FILE] [--paced] [--entries] CAPTURE\n"
	"                  feed a pcap or pcapng capture (tcpdump's, Wireshark's,\n"
	"                  ctlab's; Ethernet, Linux cooked v1/v2, raw) packet by packet\n"
	"                  through a conntrack of its own, set up with those settings\n"
	"                  (--sysctl-file: the nf_conntrack ones of a saved sysctl -a)\n"
	"                  and that NAT (or the nft ruleset FILE),\n"
	"                  that forwards nothing anywhere: the packets it marks\n"
	"                  INVALID with their reasons, the RSTs after them, flows\n"
	"                  picked up mid-stream (-v: every packet's verdict); the\n"
	"                  copies a host forwarded are left out, as it judged each\n"
	"                  packet once; each packet comes in by an interface named\n"
	"                  as its capture interface (pcapng; else eth0) or by its\n"
	"                  --side (its source MAC or address), and one to a side's\n"
	"                  prefix goes out by it: iifname and oifname rules match;\n"
	"                  packets dropped before conntrack's log (a\n"
	"                  rule, a full table) are counted; --ct-max: the table's\n"
	"                  size, as run's; --flush-before: every entry deleted\n"
	"                  there, as conntrack -F (an agent's delete at that time);\n"
	"                  --scenario FILE: the flows with INVALID packets or RSTs\n"
	"                  written as a scenario of crafted packets between muted\n"
	"                  hosts, each verdict and reason expected (a regression\n"
	"                  test: ctlab run FILE; a --flush-before as a flush step,\n"
	"                  one --nat dnat as the router's; not with --nft or snat);\n"
	"                  --json FILE: the replay as JSON\n"
	"                  (docs/results.md); --html FILE: its flows with INVALID\n"
	"                  packets or RSTs drawn as the report draws a run;\n"
	"                  --paced: each packet sent as long after the first as\n"
	"                  captured, so conntrack's timeouts run as they did;\n"
	"                  each INVALID packet and RST says its entry's state after\n"
	"                  it (from NFLOG on kernels with ctnetlink's glue, else read\n"
	"                  when nothing more of its flow was sent yet; --entries\n"
	"                  waits for that, slower); -t: how long to wait with no verdict\n"
	"                  coming (2000 ms); exit 1 when some packet was INVALID\n"
	"  diagnose --netns NAME|--pid PID|--host [--duration S] [-v] [--json FILE]\n"
	"                  watch a live namespace's conntrack (one in /run/netns, a\n"
	"                  process's, or the host's) for S seconds (30; Ctrl-C ends\n"
	"                  it sooner): the reasons it logged, ranked, INVALID first,\n"
	"                  with sample packets, what each usually means, how people\n"
	"                  fix it and the scenario that shows it; the RSTs seen and\n"
	"                  which followed a logged packet of their flow; its counters'\n"
	"                  moves (table full, clashes). Changes only the logging\n"
	"                  switch (nf_conntrack_log_invalid, nf_log.2/.10, journaled\n"
	"                  and put back on every exit, SIGKILL included), never a\n"
	"                  rule; refuses when another program listens on NFLOG\n"
	"                  group 0 there; -v: each packet as it comes; --json FILE:\n"
	"                  the summary as JSON (docs/results.md); exit 1 when\n"
	"                  some packet was INVALID\n"
	"  clean           remove namespaces kept by --keep whose ctlab has exited, and\n"
	"                  restore global settings a killed run left changed\n"
	"  diff [--json] OLD NEW\n"
	"                  compare two --json results (files, or folders holding\n"
	"                  results.json), say before and after a kernel upgrade: a\n"
	"                  summary, then every packet, verdict, reason, expectation,\n"
	"                  entry, RST chain, setting and run that changed; exit 0\n"
	"                  none, 1 changes, 2 bad input (ctlab diff --help)\n"
	"  merge --out DIR INPUT...\n"
	"                  join result folders (--shard runs, other kernels) into\n"
	"                  one: results.json, junit.xml, results.ktap\n"
	"  vm --kernel 6.1|6.12|PATH [--no-preload] [--vm-timeout S] [--memory MB]\n"
	"      [--cpus N] [--cache DIR] [--ctlab BIN] [run options] [NAME|FILE|DIR ...]\n"
	"                  run the same `ctlab run` inside a QEMU guest (software\n"
	"                  emulation, no network) booted on Debian's current 6.1 or\n"
	"                  6.12 kernel (downloaded with apt-get download into\n"
	"                  /var/cache/ctlab/kernels or $CTLAB_KERNEL_CACHE, never\n"
	"                  installed), a kernel .deb or an unpacked kernel tree; the\n"
	"                  host's / is the guest's, read-only; --json, --junit and\n"
	"                  --pcap come back to the host, the JSON with the kernel\n"
	"                  package; its exit status is the guest's ctlab's, 3 when\n"
	"                  the guest died twice (oops, panic, timeout: default\n"
	"                  3600 s), 4 when the kernel or a tool is missing\n"
	"  help            this text\n"
	"  version         ctlab's version and the commit it was built from\n"
	"\n"
	"Scenarios are read from $CTLAB_SCENARIOS, ./scenarios, the scenarios folder\n"
	"beside the binary, or " CTLAB_DATADIR "/scenarios.\n"
	"\n"
	"exit status: 0 all passed, 1 something failed, 2 usage or scenario syntax\n"
	"error, 4 everything skipped (not root, kernel feature missing).\n";

int cli_getopt(const char *command, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char spec[64];
	int opt;

	/* ':' first: a missing value is told apart from an unknown option, and
	 * getopt prints nothing, so each mistake is one message, ours. */
	snprintf(spec, sizeof(spec), ":%s", shortopts);
	opterr = 0;
	opt = getopt_long(argc, argv, spec, longopts, NULL);
	if (opt != '?' && opt != ':')
		return opt;
	/* The word that was wrong is the last one getopt took. */
	if (opt == ':')
		usage_error("%s: option '%s' expects a value", command, argv[optind - 1]);
	else if (optopt)	/* a short option, maybe inside a cluster (-vx) */
		usage_error("%s: unknown option '-%c'", command, optopt);
	else
		usage_error("%s: unknown option '%s'", command, argv[optind - 1]);
	return -2;
}

int usage_error(const char *fmt, ...)
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

/* Append scenario, with its pick (NULL: every run) when the list has picks. */
static int add_picked(struct scenario_list *list, struct scenario *scenario,
		      const struct run_pick *pick)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 32;
		struct scenario **items = realloc(list->items, cap * sizeof(*items));
		struct run_pick *picks;

		if (!items)
			return -1;
		list->items = items;
		picks = realloc(list->picks, cap * sizeof(*picks));
		if (!picks)
			return -1;
		list->picks = picks;
		list->cap = cap;
	}
	list->picks[list->n] = pick ? *pick : (struct run_pick){ 0 };
	list->items[list->n++] = scenario;
	return 0;
}

static int add_scenario(struct scenario_list *list, struct scenario *scenario)
{
	return add_picked(list, scenario, NULL);
}

void free_chosen(struct scenario_list *chosen)
{
	free(chosen->items);
	free(chosen->picks);
}

void free_scenarios(struct scenario_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		scenario_free(list->items[i]);
	free_chosen(list);
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

int load_all(struct scenario_list *list)
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

static struct scenario *find_named(const struct scenario_list *all, const char *name, size_t len)
{
	for (size_t j = 0; j < all->n; j++)
		if (strlen(all->items[j]->name) == len && strncmp(all->items[j]->name, name, len) == 0)
			return all->items[j];
	return NULL;
}

static int family_bit(const char *name, size_t len)
{
	if (len == 4 && strncmp(name, "ipv4", 4) == 0)
		return FAMILY_IPV4;
	if (len == 4 && strncmp(name, "ipv6", 4) == 0)
		return FAMILY_IPV6;
	return 0;
}

/* The variant NAME (@len bytes) of scenario as a pick bit; 0 if it has none. */
static unsigned variant_bit(const struct scenario *scenario, const char *name, size_t len)
{
	for (size_t v = 0; v < scenario->n_variants; v++)
		if (strlen(scenario->variants[v]) == len && strncmp(scenario->variants[v], name, len) == 0)
			return 1u << v;
	return 0;
}

/*
 * A run's KTAP name, NAME[/VARIANT][/FAMILY], as a failing run printed it
 * ("syn-rst/nofilter/ipv4"): its scenario in *@found and which runs in *@pick.
 * 0; 1 when @arg is no such name (no scenario by its first part); -1 after
 * saying what does not fit.
 */
static int lookup_run_name(const struct scenario_list *all, const char *arg,
			   struct scenario **found, struct run_pick *pick)
{
	const char *part[3], *slash;
	size_t len[3], n = 0;
	struct scenario *scenario;

	for (const char *at = arg;; at = slash + 1) {
		slash = strchr(at, '/');
		if (n == 3)
			return 1;
		part[n] = at;
		len[n++] = slash ? (size_t)(slash - at) : strlen(at);
		if (!slash)
			break;
	}
	scenario = find_named(all, part[0], len[0]);
	if (!scenario)
		return 1;
	*pick = (struct run_pick){ 0 };
	if (n > 1 && family_bit(part[n - 1], len[n - 1])) {
		pick->families = (unsigned)family_bit(part[n - 1], len[n - 1]);
		n--;
		if (!(scenario->families & pick->families)) {
			fprintf(stderr, "ctlab: %s: scenario %s has no %.*s run\n", arg, scenario->name,
				(int)len[n], part[n]);
			return -1;
		}
	}
	if (n == 3 || (n == 2 && !(pick->variants = variant_bit(scenario, part[1], len[1])))) {
		fprintf(stderr, "ctlab: %s: expected NAME[/VARIANT][/ipv4|ipv6], and %s has ",
			arg, scenario->name);
		for (size_t v = 0; v < scenario->n_variants; v++)
			fprintf(stderr, "%s%s", v ? ", " : "the variants ", scenario->variants[v]);
		fprintf(stderr, "%s\n", scenario->n_variants ? "" : "no variants");
		return -1;
	}
	*found = scenario;
	return 0;
}

/* The scenarios named on the command line: a path is parsed as given, a name is
 * looked up among all scenarios, a run's KTAP name picks that run. */
int select_scenarios(int argc, char **argv, struct scenario_list *all,
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
	/* Facts are probes the runs need, not tests: only named one by one do they run. */
	if (argc == 0) {
		for (j = 0; j < all->n; j++)
			if (!all->items[j]->is_fact && add_scenario(chosen, all->items[j]) < 0)
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
				if (!all->items[j]->is_fact && add_scenario(chosen, all->items[j]) < 0)
					return -1;
			continue;
		}
		struct run_pick pick = { 0 };
		struct stat st;
		int named = 1;

		/* A KTAP name has slashes too: a file of that name comes first. */
		if (!is_path(argv[i]) || (stat(argv[i], &st) < 0 && errno == ENOENT))
			named = lookup_run_name(all, argv[i], &scenario, &pick);
		if (named < 0)
			return -1;
		if (named == 0) {
			if (add_picked(chosen, scenario, &pick) < 0)
				return -1;
			continue;
		}
		if (is_path(argv[i]) && strchr(argv[i], '/') && !is_dir(argv[i]) &&
		    stat(argv[i], &st) < 0 && errno == ENOENT && !strstr(argv[i], ".ct")) {
			fprintf(stderr, "ctlab: %s: no such file, nor a run of that name "
				"(NAME[/VARIANT][/ipv4|ipv6], see 'ctlab list')\n", argv[i]);
			return -1;
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
			fprintf(stderr, "ctlab: no scenario named %s (see 'ctlab list')\n", argv[i]);
			return -1;
		}
		if (add_scenario(chosen, scenario) < 0)
			return -1;
	}
	return 0;
}

bool ct_max_valid(const char *text)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(text, &end, 10);
	return !errno && end != text && !*end && n >= 1024 && n <= 16777216;
}

void reason_pattern(const char *reason, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = reason; *p && n + 1 < size; p++) {
		if (*p >= '0' && *p <= '9') {
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			out[n++] = '#';
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

json_t *document_new(const char *kind, int schema_version)
{
	char date[32], host[256] = "localhost";
	struct utsname uts;

	uname(&uts);
	time_text(date, sizeof(date), TIME_ISO_UTC, 0, true);
	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "tool", "ctlab", "kind", kind,
			 "schema_version", schema_version, "ctlab_version", ctlab_version_long(),
			 "date", date, "hostname", host, "kernel", uts.release);
}

int json_pretty(json_t *document, FILE *out)
{
	if (json_dumpf(document, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return -1;
	return fputc('\n', out) == EOF ? -1 : 0;
}

int write_document(const char *option, const char *path, int (*write)(json_t *, FILE *),
		   json_t *document)
{
	struct outfile *file;
	int rc;

	if (!document) {
		fprintf(stderr, "ctlab: %s %s: out of memory\n", option, path);
		return EXIT_FAILED;
	}
	file = outfile_open(path);
	if (!file) {
		fprintf(stderr, "ctlab: %s %s: %s\n", option, path, outfile_strerror(errno));
		json_decref(document);
		return EXIT_FAILED;
	}
	rc = write(document, outfile_stream(file));
	json_decref(document);
	if (rc < 0) {
		outfile_discard(file);
		rc = -EIO;
	} else {
		rc = outfile_commit(file);
	}
	if (rc < 0) {
		fprintf(stderr, "ctlab: %s %s: %s\n", option, path, outfile_strerror(-rc));
		return EXIT_FAILED;
	}
	return EXIT_PASS;
}

static int take_machine(void)
{
	int fd = journal_machine_lock(true, false);

	if (fd != -EWOULDBLOCK)
		return fd;
	fprintf(stderr, "ctlab: waiting for the other ctlab runs on this machine to finish\n");
	return journal_machine_lock(true, true);
}

int take_ct_max(const char *ct_max)
{
	int machine_fd, rc;

	if (geteuid() != 0) {
		fprintf(stderr, "ctlab: --ct-max needs root (it changes the host's global "
			"net.netfilter.nf_conntrack_max)\n");
		return -EXIT_SKIPPED;
	}
	/* A changed global is every ctlab run's world: this process has the
	 * machine to itself until it is put back. */
	machine_fd = take_machine();
	if (machine_fd < 0) {
		fprintf(stderr, "ctlab: --ct-max: the machine lock: %s\n", strerror(-machine_fd));
		return -EXIT_FAILED;
	}
	/* Buckets as many as entries, as the kernel sizes its table (since
	 * 5.15): a smaller table is as dense as a smaller machine's. The
	 * guardian keeps the lock until it has put them back, should we be
	 * SIGKILLed: seen otherwise, another run reading a 65536 left between
	 * the kill and the guardian's restore. */
	rc = journal_guard_lock(machine_fd);
	if (rc == 0)
		rc = journal_set("net.netfilter.nf_conntrack_buckets", ct_max);
	if (rc == 0)
		rc = journal_set("net.netfilter.nf_conntrack_max", ct_max);
	if (rc < 0) {
		fprintf(stderr, "ctlab: --ct-max: %s\n", strerror(-rc));
		journal_restore_all();
		close(machine_fd);
		return -EXIT_FAILED;
	}
	fprintf(stderr, "ctlab: net.netfilter.nf_conntrack_max and _buckets are %s for this "
		"run (the old values are journaled in /run/ctlab)\n", ct_max);
	return machine_fd;
}
