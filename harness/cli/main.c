/* ctlab — the command line's entry: the command table, the dispatcher and the top-level usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char usage_text[] =
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

static int cmd_help(int argc, char **argv)
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
	{ "run", cmd_run },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "clean", cmd_clean },
	{ "diff", cmd_diff },
	{ "help", cmd_help },
	{ "--help", cmd_help },
	{ "-h", cmd_help },
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
