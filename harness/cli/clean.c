/* clean — the clean command: namespaces kept by --keep whose ctlab has exited, and global settings a killed run left changed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"
#include "netns/netns.h"
#include "cli.h"

/*
 * Remove namespaces kept by --keep whose ctlab process is gone, and only
 * the caller's: those of a live pid, or made by another user, are left.
 */
int cmd_clean(int argc, char **argv)
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
