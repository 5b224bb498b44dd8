/* collect — what comes back from a guest: its results.json, stamped with the kernel package it ran on and the VM's figures, written where the user asked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/base.h"
#include "internal.h"
#include "vm/vm.h"

int vm_results_stamp(const struct vm_kernel *kernel, const struct vm_outcome *outcome,
		     int tries, bool preload, const char *json)
{
	char path[PATH_MAX];
	json_error_t error;
	struct outfile *file;
	json_t *results;
	int rc, fd;

	snprintf(path, sizeof(path), "%s/results.json", outcome->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	results = json_loadfd(fd, JSON_DECODE_ANY, &error);
	close(fd);
	if (!results)
		return -EINVAL;
	if (!json_is_object(results)) {
		rc = -EINVAL;
		goto out_put;
	}
	json_object_set_new(results, "kernel_package",
			    json_pack("{s:s, s:s, s:s}", "name", kernel->package, "version",
				      kernel->version, "release", kernel->release));
	json_object_set_new(results, "vm",
			    json_pack("{s:s, s:b, s:i, s:f, s:f, s:f}", "accel", "tcg,thread=single",
				      "preload", preload, "tries", tries, "qemu_seconds",
				      outcome->wall_s, "boot_seconds", outcome->boot_s,
				      "guest_seconds", outcome->guest_s));
	file = outfile_open(json ? json : path);
	if (!file) {
		rc = -errno;
		goto out_put;
	}
	if (json_dumpf(results, outfile_stream(file), JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fputc('\n', outfile_stream(file)) == EOF) {
		outfile_discard(file);
		rc = -EIO;
		goto out_put;
	}
	rc = outfile_commit(file);
out_put:
	json_decref(results);
	return rc;
}

long vm_relay(const char *dir, const char *name, long from, FILE *to)
{
	char path[PATH_MAX], buf[65536];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* The guest wrote it: never through a symlink it left there. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return from;
	while ((n = pread(fd, buf, sizeof(buf), from)) > 0) {
		if (fwrite(buf, 1, (size_t)n, to) != (size_t)n)
			break;
		from += n;
	}
	close(fd);
	fflush(to);
	return from;
}

#define SHARE_PARENT	"/var/tmp"
#define SHARE_PREFIX	"ctlab-vm."
/* Held (flock) by the ctlab vm that made the share, for as long as it lives. */
#define SHARE_LOCK	"owner.lock"

/* Shares of a ctlab vm that was killed (SIGKILL) before it could remove
 * them: their lock is free.  Those of other users and of older ctlabs
 * (no lock) are left alone. */
static void sweep_orphan_shares(void)
{
	DIR *dir = opendir(SHARE_PARENT);
	struct dirent *entry;

	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		char path[PATH_MAX], lock[PATH_MAX];
		struct stat st;
		int fd;

		if (strncmp(entry->d_name, SHARE_PREFIX, strlen(SHARE_PREFIX)) != 0)
			continue;
		snprintf(path, sizeof(path), SHARE_PARENT "/%s", entry->d_name);
		snprintf(lock, sizeof(lock), "%s/" SHARE_LOCK, path);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			vm_remove_tree(path);
		close(fd);
	}
	closedir(dir);
}

int vm_share_new(struct vm_outcome *outcome)
{
	char dir[] = SHARE_PARENT "/" SHARE_PREFIX "XXXXXX";
	char part[PATH_MAX], lock[PATH_MAX];
	int fd, rc;

	memset(outcome, 0, sizeof(*outcome));
	outcome->lock_fd = -1;
	sweep_orphan_shares();
	if (!mkdtemp(dir))
		return -errno;
	/* The guest's root writes here through 9p as the host's QEMU user. */
	chmod(dir, 0755);
	snprintf(outcome->dir, sizeof(outcome->dir), "%s", dir);
	/* Locked before it has its name, so no sweep sees it free. */
	snprintf(part, sizeof(part), "%s/" SHARE_LOCK ".part", dir);
	snprintf(lock, sizeof(lock), "%s/" SHARE_LOCK, dir);
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || rename(part, lock) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		vm_remove_tree(dir);
		outcome->dir[0] = '\0';
		return rc;
	}
	outcome->lock_fd = fd;
	return 0;
}

void vm_share_keep(struct vm_outcome *outcome)
{
	char lock[PATH_MAX];

	snprintf(lock, sizeof(lock), "%s/" SHARE_LOCK, outcome->dir);
	unlink(lock);
	if (outcome->lock_fd >= 0)
		close(outcome->lock_fd);
	outcome->lock_fd = -1;
}

int vm_share_remove(const struct vm_outcome *outcome)
{
	int rc = outcome->dir[0] ? vm_remove_tree(outcome->dir) : 0;

	if (outcome->lock_fd >= 0)
		close(outcome->lock_fd);
	return rc;
}

/* Copies @from to @to, written whole through an outfile. */
static int copy_out(const char *from, const char *to)
{
	struct outfile *file;
	char buf[65536];
	ssize_t n;
	int fd, rc = 0;

	fd = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	file = outfile_open(to);
	if (!file) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, outfile_stream(file)) != (size_t)n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(fd);
	if (rc < 0) {
		outfile_discard(file);
		return rc;
	}
	return outfile_commit(file);
}

/*
 * The files of the guest's folder @from into @to, and those of its folders
 * one level down (--pcap writes a folder of per-interface files per run).
 * Anything else (a deeper folder, a symlink, a device) is refused, not followed.
 */
static int copy_folder(const char *from, const char *to, int depth)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *entry;
	struct stat st;
	DIR *dir;
	int rc;

	rc = outfile_mkdir(to);
	if (rc < 0)
		return rc;
	/* QEMU has exited: nothing changes the share between this and opendir. */
	if (lstat(from, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	dir = opendir(from);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((entry = readdir(dir)) && rc == 0) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, entry->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, entry->d_name);
		if (lstat(src, &st) < 0)
			rc = -errno;
		else if (S_ISDIR(st.st_mode))
			rc = depth > 0 ? copy_folder(src, dst, depth - 1) : -ELOOP;
		else
			rc = copy_out(src, dst);
	}
	closedir(dir);
	return rc;
}

int vm_bring_back(const struct vm_outcome *outcome, const char *junit, const char *pcap)
{
	char from[PATH_MAX];
	int rc = 0;

	if (junit) {
		snprintf(from, sizeof(from), "%s/junit.xml", outcome->dir);
		rc = copy_out(from, junit);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (!pcap)
		return 0;
	snprintf(from, sizeof(from), "%s/pcap", outcome->dir);
	return copy_folder(from, pcap, 1);
}
