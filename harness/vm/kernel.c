/* kernel — a kernel to boot: a Debian series resolved through its meta-package, downloaded and unpacked into the cache (never installed), or the user's .deb or tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vm/vm.h"

#define APT_TIMEOUT_S		900	/* a download on a slow mirror */
#define UNPACK_TIMEOUT_S	900

static const struct {
	const char *series, *meta;
} series_meta[] = {
	{ "6.1", "linux-image-amd64" },		/* bookworm's own kernel */
	{ "6.12", "linux-image-6.12-amd64" },	/* bookworm-backports and -security */
};

const char *vm_series_meta(const char *series)
{
	size_t i;

	for (i = 0; i < sizeof(series_meta) / sizeof(series_meta[0]); i++)
		if (strcmp(series, series_meta[i].series) == 0)
			return series_meta[i].meta;
	return NULL;
}

int vm_parse_depends(const char *text, char *package, size_t size)
{
	static const char key[] = "Depends: ";
	const char *line, *next, *name;
	size_t len;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		while (*line == ' ' || *line == '\t' || *line == '|')
			line++;
		if (strncmp(line, key, sizeof(key) - 1) != 0)
			continue;
		name = line + sizeof(key) - 1;
		if (strncmp(name, "linux-image-", 12) != 0)
			continue;	/* <virtual>, or another kind of dependency */
		len = strcspn(name, " \t\n:");
		if (len + 1 > size)
			return -ENAMETOOLONG;
		memcpy(package, name, len);
		package[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

const char *vm_tools_missing(void)
{
	static const char *const tools[] = { "qemu-system-x86_64", "busybox", "xz", "zstd",
					     "apt-get", "apt-cache", "dpkg", "dpkg-deb" };
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!vm_have_tool(tools[i]))
			return tools[i];
	return NULL;
}

int vm_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t used = 0;
	int fd, err = 0;

	if (size == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (used + 1 < size) {
		n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	while (used && buf[used - 1] == '\n')
		buf[--used] = '\0';
	return err ? err : (int)used;
}

int vm_write_text(const char *path, const char *text)
{
	size_t len = strlen(text), done = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

int vm_mkdirs(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

int vm_remove_tree(const char *path)
{
	char *const argv[] = { "rm", "-rf", "--", (char *)path, NULL };
	int rc = vm_spawn(argv, -1, -1, -1, UNPACK_TIMEOUT_S);

	return rc > 0 ? -EIO : rc;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The one name in @dir whose name ends with @suffix (or any, for ""), into @name. */
static int only_entry(const char *dir, const char *prefix, const char *suffix, char *name,
		      size_t size)
{
	struct dirent *entry;
	DIR *d = opendir(dir);
	int found = -ENOENT;

	if (!d)
		return -errno;
	while ((entry = readdir(d))) {
		size_t len = strlen(entry->d_name), slen = strlen(suffix);

		if (entry->d_name[0] == '.' || len < slen ||
		    strncmp(entry->d_name, prefix, strlen(prefix)) != 0 ||
		    strcmp(entry->d_name + len - slen, suffix) != 0)
			continue;
		if ((size_t)snprintf(name, size, "%s", entry->d_name) >= size) {
			found = -ENAMETOOLONG;
			break;
		}
		found = 0;
		break;
	}
	closedir(d);
	return found;
}

/* One field of a .deb's control file (dpkg-deb -f). */
static int deb_field(const char *deb, const char *field, char *buf, size_t size, int log_fd)
{
	char *const argv[] = { "dpkg-deb", "-f", (char *)deb, (char *)field, NULL };
	int rc = vm_spawn_capture(argv, log_fd, buf, size);

	if (rc != 0)
		return rc < 0 ? rc : -ENOEXEC;
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? 0 : -ENOEXEC;
}

/* The package a meta-package depends on now; apt-get update once if the
 * lists do not know it. */
static int resolve_meta(const char *meta, char *package, size_t size, int log_fd)
{
	char *const depends[] = { "apt-cache", "depends", (char *)meta, NULL };
	char *const update[] = { "apt-get", "update", "-q", NULL };
	char text[8192];
	int attempt, rc = -ENOENT;

	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt == 1) {
			dprintf(log_fd, "ctlab vm: apt-cache does not know %s: apt-get update\n", meta);
			if (vm_spawn(update, -1, log_fd, log_fd, APT_TIMEOUT_S) != 0)
				return -ENETUNREACH;
		}
		rc = vm_spawn_capture(depends, log_fd, text, sizeof(text));
		if (rc == 0 && vm_parse_depends(text, package, size) == 0)
			return 0;
		rc = -ENOENT;
	}
	return rc;
}

/* The version apt would download for @package now. */
static int candidate_version(const char *package, char *version, size_t size, int log_fd)
{
	char *const argv[] = { "apt-cache", "show", "--no-all-versions", (char *)package, NULL };
	char text[16384], *line;
	int rc = vm_spawn_capture(argv, log_fd, text, sizeof(text));

	if (rc != 0)
		return -ENOENT;
	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "Version: ", 9) == 0) {
			snprintf(version, size, "%.*s", (int)strcspn(line + 9, "\n"), line + 9);
			return 0;
		}
	}
	return -ENOENT;
}

/* dpkg -x @deb into @dir/root, recording the package and its version. */
static int unpack_deb(const char *deb, const char *dir, int log_fd)
{
	char root[PATH_MAX], path[PATH_MAX], package[128], version[128];
	int rc;

	rc = deb_field(deb, "Package", package, sizeof(package), log_fd);
	if (rc == 0)
		rc = deb_field(deb, "Version", version, sizeof(version), log_fd);
	if (rc < 0)
		return rc;
	/* No version on record while the tree is half there: an interrupted
	 * unpack is never taken for a cached one. */
	snprintf(path, sizeof(path), "%s/version", dir);
	unlink(path);
	snprintf(root, sizeof(root), "%s/root", dir);
	rc = vm_remove_tree(root);
	if (rc == 0)
		rc = vm_mkdirs(root, 0755);
	if (rc < 0)
		return rc;
	{
		char *const argv[] = { "dpkg", "-x", (char *)deb, root, NULL };

		rc = vm_spawn(argv, -1, log_fd, log_fd, UNPACK_TIMEOUT_S);
		if (rc != 0)
			return rc < 0 ? rc : -ENOEXEC;
	}
	snprintf(path, sizeof(path), "%s/package", dir);
	rc = vm_write_text(path, package);
	snprintf(path, sizeof(path), "%s/version", dir);
	if (rc == 0)
		rc = vm_write_text(path, version);
	return rc;
}

/* A series: resolve, and download unless the cache has that version. */
static int fetch_series(const char *meta, const char *cache, struct vm_kernel *kernel, int log_fd)
{
	char debdir[PATH_MAX], deb[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX];
	char wanted[128] = "", have[128] = "";
	int rc;

	rc = resolve_meta(meta, kernel->package, sizeof(kernel->package), log_fd);
	if (rc < 0)
		return rc;
	candidate_version(kernel->package, wanted, sizeof(wanted), log_fd);
	snprintf(kernel->dir, sizeof(kernel->dir), "%s/%s", cache, kernel->package);
	snprintf(path, sizeof(path), "%s/version", kernel->dir);
	if (vm_read_text(path, have, sizeof(have)) > 0 && (!wanted[0] || strcmp(have, wanted) == 0)) {
		kernel->cached = true;
		return 0;
	}
	snprintf(debdir, sizeof(debdir), "%s/deb", kernel->dir);
	rc = vm_remove_tree(debdir);
	if (rc == 0)
		rc = vm_mkdirs(debdir, 0755);
	if (rc < 0)
		return rc;
	{
		char *const argv[] = { "apt-get", "download", "-q", kernel->package, NULL };

		rc = vm_spawn_at(argv, debdir, -1, log_fd, log_fd, APT_TIMEOUT_S);
		if (rc != 0)
			return rc < 0 && rc != -ETIMEDOUT ? rc : -ENETUNREACH;
	}
	rc = only_entry(debdir, "", ".deb", name, sizeof(name));
	if (rc < 0)
		return -ENETUNREACH;
	snprintf(deb, sizeof(deb), "%s/%s", debdir, name);
	/* A new version: what was prepared from the old one goes. */
	snprintf(path, sizeof(path), "%s/prepared", kernel->dir);
	unlink(path);
	return unpack_deb(deb, kernel->dir, log_fd);
}

/* The user's .deb, unpacked once per package and version. */
static int fetch_deb(const char *deb, const char *cache, struct vm_kernel *kernel, int log_fd)
{
	char version[128], have[128] = "", path[PATH_MAX];
	int rc;

	rc = deb_field(deb, "Package", kernel->package, sizeof(kernel->package), log_fd);
	if (rc == 0)
		rc = deb_field(deb, "Version", version, sizeof(version), log_fd);
	if (rc < 0)
		return -ENOEXEC;
	snprintf(kernel->dir, sizeof(kernel->dir), "%s/%s", cache, kernel->package);
	snprintf(path, sizeof(path), "%s/version", kernel->dir);
	if (vm_read_text(path, have, sizeof(have)) > 0 && strcmp(have, version) == 0) {
		kernel->cached = true;
		return 0;
	}
	rc = vm_mkdirs(kernel->dir, 0755);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/prepared", kernel->dir);
	unlink(path);
	return unpack_deb(deb, kernel->dir, log_fd);
}

/* The user's unpacked tree, copied (prepare writes into it) once per tree
 * and kernel image. */
static int fetch_tree(const char *tree, const char *cache, struct vm_kernel *kernel, int log_fd)
{
	char real[PATH_MAX], path[PATH_MAX], image[NAME_MAX + 1], source[PATH_MAX + 64];
	char have[PATH_MAX + 64] = "", root[PATH_MAX], from[PATH_MAX + 2], *c;
	struct stat st;
	int rc;

	if (!realpath(tree, real))
		return -errno;
	snprintf(path, sizeof(path), "%s/boot", real);
	if (only_entry(path, "vmlinuz-", "", image, sizeof(image)) < 0)
		return -ENOEXEC;
	snprintf(path, sizeof(path), "%s/boot/%s", real, image);
	if (stat(path, &st) < 0)
		return -errno;
	snprintf(source, sizeof(source), "%s %lld", real, (long long)st.st_mtime);
	/* tree-PATH, its slashes made dashes */
	snprintf(kernel->package, sizeof(kernel->package), "%s", real);
	snprintf(path, sizeof(path), "tree%s", real);
	for (c = path; *c; c++)
		if (*c == '/')
			*c = '-';
	snprintf(kernel->dir, sizeof(kernel->dir), "%s/%s", cache, path);
	snprintf(path, sizeof(path), "%s/source", kernel->dir);
	if (vm_read_text(path, have, sizeof(have)) > 0 && strcmp(have, source) == 0) {
		kernel->cached = true;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/source", kernel->dir);
	unlink(path);
	snprintf(root, sizeof(root), "%s/root", kernel->dir);
	rc = vm_remove_tree(root);
	if (rc == 0)
		rc = vm_mkdirs(root, 0755);
	if (rc < 0)
		return rc;
	snprintf(from, sizeof(from), "%s/.", real);
	{
		char *const argv[] = { "cp", "-a", "--", from, root, NULL };

		rc = vm_spawn(argv, -1, log_fd, log_fd, UNPACK_TIMEOUT_S);
		if (rc != 0)
			return rc < 0 ? rc : -EIO;
	}
	snprintf(path, sizeof(path), "%s/prepared", kernel->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/source", kernel->dir);
	return vm_write_text(path, source);
}

int vm_kernel_fetch(const char *spec, const char *cache, struct vm_kernel *kernel)
{
	struct timespec t0, t1;
	char path[PATH_MAX];
	const char *meta = vm_series_meta(spec);
	struct stat st;
	int log_fd, lock_fd, rc;

	memset(kernel, 0, sizeof(*kernel));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = vm_mkdirs(cache, 0755);
	if (rc < 0)
		return rc;
	/* Two ctlab vm at once unpack one package once. */
	snprintf(path, sizeof(path), "%s/.lock", cache);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0)
		return -errno;
	while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR)
		;
	snprintf(kernel->log, sizeof(kernel->log), "%s/fetch.log", cache);
	log_fd = open(kernel->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		rc = -errno;
		goto out_close_lock;
	}
	if (meta)
		rc = fetch_series(meta, cache, kernel, log_fd);
	else if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
		rc = fetch_tree(spec, cache, kernel, log_fd);
	else if (stat(spec, &st) == 0 && S_ISREG(st.st_mode))
		rc = fetch_deb(spec, cache, kernel, log_fd);
	else
		rc = -ENOENT;
	if (rc < 0)
		goto out_close_log;
	snprintf(path, sizeof(path), "%s/version", kernel->dir);
	if (vm_read_text(path, kernel->version, sizeof(kernel->version)) <= 0)
		kernel->version[0] = '\0';
	snprintf(kernel->modules, sizeof(kernel->modules), "%s/root/lib/modules", kernel->dir);
	rc = only_entry(kernel->modules, "", "", kernel->release, sizeof(kernel->release));
	if (rc < 0) {
		rc = -ENOEXEC;
		goto out_close_log;
	}
	if (!kernel->version[0])
		snprintf(kernel->version, sizeof(kernel->version), "%s", kernel->release);
	snprintf(kernel->vmlinux, sizeof(kernel->vmlinux), "%s/vmlinux", kernel->dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kernel->fetch_s = seconds_between(&t0, &t1);
out_close_log:
	close(log_fd);
out_close_lock:
	close(lock_fd);
	return rc;
}
