/* vm — the vm command: ctlab run inside a QEMU guest booted on another Debian kernel, its results and exit status brought back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "journal/journal.h"
#include "vm/vm.h"
#include "cli.h"

/* The guest died (no status, an Oops or panic, a timeout) twice, or the
 * kernel could not be made bootable: not a test result. */
#define EXIT_VM_FAILED	3
#define VM_TRIES	2

/* The last @lines lines of @path on stderr, each indented. */
static void show_tail(const char *path, int lines)
{
	char buf[65536], *start;
	ssize_t n;
	off_t size;
	int fd, seen = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	for (start = buf + n; start > buf; start--)
		if (start[-1] == '\n' && ++seen == lines)
			break;
	for (; *start; start += strcspn(start, "\n") + (start[strcspn(start, "\n")] != '\0')) {
		char line[1024];

		/* A console has the firmware's escape sequences in it. */
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(start, "\r\n"), start);
		safetext_escape(line, sizeof(line), false);
		fprintf(stderr, "    %s\n", line);
	}
}

/* A file of the share to one of our streams. */
/* The guest sees the host's root, but its own empty tmpfs on these. */
static bool hidden_in_guest(const char *path)
{
	static const char *const masked[] = { "/run", "/tmp", "/var/tmp", "/var/log", "/root" };
	size_t i, len;

	for (i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
		len = strlen(masked[i]);
		if (strncmp(path, masked[i], len) == 0 && (path[len] == '/' || path[len] == '\0'))
			return true;
	}
	return false;
}

/* Where an output goes must be there before the guest boots, not found
 * missing after it ran: the folder of a file, or the --pcap folder (made). */
static int check_output(const char *option, const char *path, bool is_dir)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	int rc;

	if (!path)
		return 0;
	if (is_dir) {
		rc = outfile_mkdir(path);
		if (rc < 0)
			fprintf(stderr, "ctlab: vm: %s %s: %s\n", option, path, outfile_strerror(-rc));
		return rc < 0 ? -1 : 0;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	if (dir[0] && (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "ctlab: vm: %s %s: no folder %s to write it in\n", option, path, dir);
		return -1;
	}
	return 0;
}

static long host_sysctl(const char *path)
{
	char text[64] = "";
	FILE *file = fopen(path, "re");
	long value = 0;

	if (file) {
		if (fgets(text, sizeof(text), file))
			value = strtol(text, NULL, 10);
		fclose(file);
	}
	return value;
}

/*
 * read_host_table_size - the guest's default table follows its RAM; the
 * scenarios expect the host's. Read under the shared machine lock, so a
 * `run --ct-max` of another ctlab process (which holds it exclusively while
 * the host's value is changed) is waited out, not copied into the guest.
 */
static void read_host_table_size(struct vm_guest *guest)
{
	int lock = journal_machine_lock(false, true);

	guest->ct_max = host_sysctl("/proc/sys/net/netfilter/nf_conntrack_max");
	guest->ct_buckets = host_sysctl("/proc/sys/net/netfilter/nf_conntrack_buckets");
	if (lock >= 0)
		close(lock);
}

static int fetch_failed(const char *spec, const struct vm_kernel *kernel, int rc)
{
	struct stat st;

	switch (-rc) {
	case ENOENT:
		if (vm_series_meta(spec))
			fprintf(stderr, "ctlab: vm: SKIP: apt knows no package for %s (%s); "
				"is the registry reachable?\n", spec, vm_series_meta(spec));
		else
			fprintf(stderr, "ctlab: vm: SKIP: unknown kernel '%s': expected 6.1, 6.12, a "
				"kernel .deb or an unpacked kernel tree\n", spec);
		break;
	case ENETUNREACH:
		fprintf(stderr, "ctlab: vm: SKIP: cannot download %s (registry unreachable?)\n",
			kernel->package[0] ? kernel->package : spec);
		break;
	case ENOEXEC:
		fprintf(stderr, "ctlab: vm: SKIP: %s is not a kernel package or tree "
			"(boot/vmlinuz-*, lib/modules/*)\n", spec);
		break;
	default:
		fprintf(stderr, "ctlab: vm: SKIP: cannot fetch kernel %s: %s\n", spec, strerror(-rc));
	}
	if (kernel->log[0] && stat(kernel->log, &st) == 0 && st.st_size > 0) {
		fprintf(stderr, "ctlab: vm: the end of %s:\n", kernel->log);
		show_tail(kernel->log, 8);
	}
	return EXIT_SKIPPED;
}

/* A stop asked for by a signal: nothing of the guest is left; 128 + the signal. */
static int stopped_by_signal(const struct vm_outcome *outcome)
{
	int sig = vm_stopped();

	if (outcome)
		vm_share_remove(outcome);
	fprintf(stderr, "ctlab vm: stopped by SIG%s: the guest and the tools it ran are gone, "
		"and so are its files\n", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	return 128 + sig;
}

int cmd_vm(int argc, char **argv)
{
	const char *guest_args[VM_GUEST_ARGS_MAX + 8];
	char ctlab[PATH_MAX], cwd[PATH_MAX], console[PATH_MAX];
	struct vm_request request;
	struct vm_kernel kernel;
	struct vm_outcome outcome;
	struct vm_guest guest;
	const char *cache, *missing;
	size_t n = 0, i;
	int rc, bad, tries;

	rc = vm_request_parse(argc, argv, &request, &bad);
	if (rc == -E2BIG)
		return usage_error("vm: more than %d arguments for the guest", VM_GUEST_ARGS_MAX);
	if (rc < 0 && bad)
		return usage_error("vm: cannot use '%s' (a vm or run option, with its value; no "
				   "newline in any)", argv[bad]);
	if (rc < 0)
		return usage_error("%s", "vm expects --kernel 6.1|6.12|PATH");
	if (request.help) {
		fputs(usage_text, stdout);
		return EXIT_PASS;
	}
	missing = vm_tools_missing();
	if (missing) {
		fprintf(stderr, "ctlab: vm: SKIP: %s is missing; install what the vm needs with\n"
			"    apt-get install -y --no-install-recommends " VM_TOOLS_PACKAGES
			"\n(or make vm-deps)\n", missing);
		return EXIT_SKIPPED;
	}
	/* The guest runs this very binary, from the host's root over 9p. */
	if (request.ctlab) {
		if (!realpath(request.ctlab, ctlab)) {
			fprintf(stderr, "ctlab: vm: --ctlab %s: %s\n", request.ctlab, strerror(errno));
			return EXIT_USAGE;
		}
	} else {
		ssize_t len = readlink("/proc/self/exe", ctlab, sizeof(ctlab) - 1);

		if (len < 0) {
			fprintf(stderr, "ctlab: vm: /proc/self/exe: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
		ctlab[len] = '\0';
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "ctlab: vm: getcwd: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	if (check_output("--json", request.json, false) < 0 ||
	    check_output("--junit", request.junit, false) < 0 ||
	    check_output("--pcap", request.pcap, true) < 0)
		return EXIT_USAGE;
	if (hidden_in_guest(ctlab) || hidden_in_guest(cwd))
		return usage_error("vm: the guest has its own /run, /tmp, /var/tmp, /var/log and /root: "
				   "%s is not there for it (put the binary and the working folder "
				   "elsewhere)", hidden_in_guest(ctlab) ? ctlab : cwd);
	cache = request.cache ? request.cache
			      : getenv("CTLAB_KERNEL_CACHE") ? getenv("CTLAB_KERNEL_CACHE")
							     : VM_CACHE_DEFAULT;

	vm_stop_on_signals();
	rc = vm_kernel_fetch(request.kernel, cache, &kernel);
	if (vm_stopped())
		return stopped_by_signal(NULL);
	if (rc < 0)
		return fetch_failed(request.kernel, &kernel, rc);
	fprintf(stderr, "ctlab vm: %s %s (kernel %s): %s in %.1f s\n", kernel.package, kernel.version,
		kernel.release,
		kernel.cached ? "in the cache"
		: vm_series_meta(request.kernel) ? "downloaded and unpacked" : "unpacked into the cache",
		kernel.fetch_s);
	rc = vm_kernel_prepare(&kernel);
	if (vm_stopped())
		return stopped_by_signal(NULL);
	if (rc < 0) {
		fprintf(stderr, "ctlab: vm: cannot prepare %s in %s: %s\n", kernel.package, kernel.dir,
			rc == -ENOEXEC ? "no xz or zstd stream in its bzImage gives an ELF vmlinux"
				       : strerror(-rc));
		show_tail(kernel.log, 8);
		return EXIT_VM_FAILED;
	}
	fprintf(stderr, "ctlab vm: prepared (modules, depmod, vmlinux) in %.1f s\n", kernel.prepare_s);

	guest_args[n++] = "run";
	guest_args[n++] = "--json";
	guest_args[n++] = "/run/out/results.json";
	if (request.junit) {
		guest_args[n++] = "--junit";
		guest_args[n++] = "/run/out/junit.xml";
	}
	if (request.pcap) {
		guest_args[n++] = "--pcap";
		guest_args[n++] = "/run/out/pcap";
	}
	for (i = 0; i < request.n_run_args; i++)
		guest_args[n++] = request.run_args[i];
	guest = (struct vm_guest){
		.ctlab = ctlab, .cwd = cwd, .args = guest_args, .n_args = n,
		.timeout_s = request.timeout_s, .memory_mb = request.memory_mb,
		.cpus = request.cpus, .preload = request.preload, .live_stdout = stdout,
	};
	read_host_table_size(&guest);
	rc = vm_share_new(&outcome);
	if (rc < 0) {
		fprintf(stderr, "ctlab: vm: a folder for the results: %s\n", strerror(-rc));
		return EXIT_VM_FAILED;
	}
	for (tries = 1; tries <= VM_TRIES; tries++) {
		rc = vm_boot(&kernel, &guest, &outcome);
		if (vm_stopped())
			return stopped_by_signal(&outcome);
		safetext_escape(outcome.failure, sizeof(outcome.failure), false);
		if (rc < 0) {
			fprintf(stderr, "ctlab: vm: cannot boot %s: %s\n", kernel.package,
				rc == -ENOEXEC ? "no static busybox (apt-get install busybox-static)"
					       : strerror(-rc));
			vm_share_remove(&outcome);
			return EXIT_VM_FAILED;
		}
		if (outcome.finished)
			break;
		fprintf(stderr, "ctlab vm: the guest died (try %d of %d, %.1f s): %s\n", tries, VM_TRIES,
			outcome.wall_s, outcome.failure);
		/* Its KTAP came out as it ran: say where the next try's begins. */
		printf("# ctlab vm: the guest died (try %d of %d); the runs start again below\n",
		       tries, VM_TRIES);
		fflush(stdout);
	}
	snprintf(console, sizeof(console), "%s/console.log", outcome.dir);
	if (!outcome.finished) {
		fprintf(stderr, "ctlab: vm: VM FAILURE on %s %s: %s\nthe end of its console (%s):\n",
			kernel.package, kernel.version, outcome.failure, console);
		show_tail(console, 15);
		vm_share_keep(&outcome);
		return EXIT_VM_FAILED;
	}
	/* stdout came out while the guest ran. */
	vm_relay(outcome.dir, "stderr", 0, stderr);
	rc = vm_results_stamp(&kernel, &outcome, tries, request.preload, request.json);
	if (rc < 0 && (rc != -ENOENT || request.json)) {
		fprintf(stderr, "ctlab: vm: --json %s: %s\n", request.json ? request.json : "(the share)",
			rc == -ENOENT ? "the guest wrote no results" : strerror(-rc));
		if (outcome.status == EXIT_PASS)
			outcome.status = EXIT_FAILED;
	}
	rc = vm_bring_back(&outcome, request.junit, request.pcap);
	if (rc < 0) {
		fprintf(stderr, "ctlab: vm: bringing back --junit/--pcap: %s\n", strerror(-rc));
		if (outcome.status == EXIT_PASS)
			outcome.status = EXIT_FAILED;
	}
	fprintf(stderr, "ctlab vm: %s %s: qemu %.1f s (ctlab started at %.1f s of guest uptime, ran "
		"%.1f s), try %d, exit %d\n", kernel.package, kernel.version, outcome.wall_s,
		outcome.boot_s, outcome.guest_s, tries, outcome.status);
	vm_share_remove(&outcome);
	return outcome.status;
}
