#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "journal.h"

#define DEFAULT_DIR		"/run/ctlab"
#define DEFAULT_SYSCTL_ROOT	"/proc/sys"
#define KEY_MAX			128
#define VALUE_MAX		256
#define PATH_LEN		512
#define OWNED_MAX		8
#define JOURNAL_MAX		(64 * 1024)

/* A change this process made, with what its restore writes, ready for a signal handler. */
struct owned {
	char key[KEY_MAX];
	char path[PATH_LEN];
	char old[VALUE_MAX + 1];	/* with its newline */
	size_t old_len;
};

struct files {
	char dir[PATH_LEN];
	char journal[PATH_LEN];
	char tmp[PATH_LEN];
	char lock[PATH_LEN];
};

/* One line of the journal, pointing into the buffer it was read to. */
struct line {
	const char *start, *key, *value;
	size_t len, key_len, value_len;
	pid_t pid;
};

static const int handled_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static char config_dir[PATH_LEN];
static char config_sysctl_root[PATH_LEN];

/*
 * Everything the restore of a signal handler touches is here, filled in
 * beforehand: it only parses and writes with open/read/write/close.
 */
static struct files owner_files;
static pid_t owner;
static struct owned owned[OWNED_MAX];
static volatile sig_atomic_t n_owned;
static bool exit_hooks;
static char journal_in[JOURNAL_MAX], journal_out[JOURNAL_MAX];

int journal_set_dir(const char *dir)
{
	if (strlen(dir) >= sizeof(config_dir) - sizeof("/journal.lock"))
		return -ENAMETOOLONG;
	strcpy(config_dir, dir);
	return 0;
}

int journal_set_sysctl_root(const char *root)
{
	if (strlen(root) >= sizeof(config_sysctl_root) - KEY_MAX - 1)
		return -ENAMETOOLONG;
	strcpy(config_sysctl_root, root);
	return 0;
}

static const char *configured(const char *set, const char *env, const char *fallback)
{
	const char *value;

	if (*set)
		return set;
	value = getenv(env);
	return value && *value ? value : fallback;
}

static void files_of(struct files *files)
{
	const char *dir = configured(config_dir, "CTLAB_RUN_DIR", DEFAULT_DIR);

	snprintf(files->dir, sizeof(files->dir), "%s", dir);
	snprintf(files->journal, sizeof(files->journal), "%s/journal", dir);
	snprintf(files->tmp, sizeof(files->tmp), "%s/journal.new", dir);
	snprintf(files->lock, sizeof(files->lock), "%s/journal.lock", dir);
}

/* Dotted keys name /proc/sys/a/b/c; slashed ones are paths already. */
static int sysctl_path(const char *key, char *path, size_t size)
{
	const char *root = configured(config_sysctl_root, "CTLAB_SYSCTL_ROOT", DEFAULT_SYSCTL_ROOT);
	char *p;
	int len;

	len = snprintf(path, size, "%s/%s", root, key);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	if (!strchr(key, '/'))
		for (p = path + strlen(root) + 1; *p; p++)
			if (*p == '.')
				*p = '/';
	return 0;
}

static bool key_valid(const char *key)
{
	size_t len = strlen(key), i;

	if (!len || len >= KEY_MAX || key[0] == '/' || key[0] == '.' || strstr(key, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (key[i] <= ' ' || key[i] > '~')
			return false;
	return true;
}

static bool value_valid(const char *value)
{
	size_t len = strlen(value);

	return len && len < VALUE_MAX && !strchr(value, '\n');
}

/* Async-signal-safe helpers from here to restore_own(). */

static void add_text(char *buf, size_t size, size_t *len, const char *text, size_t text_len)
{
	if (*len + text_len >= size)
		text_len = size - 1 - *len;
	memcpy(buf + *len, text, text_len);
	*len += text_len;
	buf[*len] = '\0';
}

static size_t pid_text(pid_t pid, char *buf)
{
	char digits[16];
	size_t n = 0, len = 0;
	unsigned long v = (unsigned long)pid;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[len++] = digits[--n];
	return len;
}

static bool pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* "key old-value pid": the key ends at the first space, the pid starts after the last. */
static bool parse_line(const char *start, size_t len, struct line *line)
{
	const char *first, *last;
	long pid = 0;
	size_t i;

	first = memchr(start, ' ', len);
	for (last = start + len; last > start && last[-1] != ' '; last--)
		;
	if (!first || last <= first + 1 || last == start + len)
		return false;
	for (i = (size_t)(last - start); i < len; i++) {
		if (start[i] < '0' || start[i] > '9' || pid > INT_MAX / 10)
			return false;
		pid = pid * 10 + (start[i] - '0');
	}
	line->start = start;
	line->len = len;
	line->key = start;
	line->key_len = (size_t)(first - start);
	line->value = first + 1;
	line->value_len = (size_t)(last - 1 - line->value);
	line->pid = (pid_t)pid;
	return pid > 0;
}

/* The next line of @buf from *@pos: false at the end. Lines that do not parse are skipped. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct line *line)
{
	while (*pos < len) {
		const char *start = buf + *pos;
		const char *end = memchr(start, '\n', len - *pos);
		size_t line_len = end ? (size_t)(end - start) : len - *pos;

		*pos += line_len + 1;
		if (parse_line(start, line_len, line))
			return true;
	}
	return false;
}

static bool same_key(const struct line *line, const char *key)
{
	return line->key_len == strlen(key) && !memcmp(line->key, key, line->key_len);
}

/* Another live process than @self changed @key and still counts on it. */
static bool held_by_other(const char *buf, size_t len, const char *key, pid_t self)
{
	struct line line;
	size_t pos = 0;

	while (next_line(buf, len, &pos, &line))
		if (line.pid != self && same_key(&line, key) && pid_alive(line.pid))
			return true;
	return false;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_file(const char *path, const char *buf, size_t len)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* The whole journal into @buf (NUL-terminated); a missing journal is empty. */
static int read_journal(const struct files *files, char *buf, size_t size, size_t *len)
{
	ssize_t n;
	int fd;

	*len = 0;
	buf[0] = '\0';
	fd = open(files->journal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	while (*len < size - 1) {
		n = read(fd, buf + *len, size - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	close(fd);
	return *len == size - 1 ? -EFBIG : 0;
}

/* Replaces the journal by @buf, all at once: a crash leaves the old one or the new one. */
static int replace_journal(const struct files *files, const char *buf, size_t len)
{
	int fd, rc;

	fd = open(files->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, buf, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(files->tmp, files->journal) < 0)
		rc = -errno;
	if (rc) {
		unlink(files->tmp);
		return rc;
	}
	fd = open(files->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* A write lock on the lock file, which is never replaced: returns its fd or -errno. */
static int lock_journal(const struct files *files)
{
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	fd = open(files->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (fcntl(fd, F_SETLKW, &lock) < 0) {
		if (errno != EINTR) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	return fd;
}

/*
 * Writes back this process's old values (@restore) of @key (NULL: all)
 * unless another live process holds the key, then drops their lines from
 * the journal; values first, so a crash in between only repeats them.
 * Async-signal-safe: runs in the signal handlers, where @restore is true.
 */
static int restore_own(bool restore, const char *key)
{
	size_t in_len, out_len = 0, pos = 0;
	int lock_fd, rc, first_err = 0, i;
	struct line line;

	lock_fd = lock_journal(&owner_files);
	if (lock_fd < 0)
		return lock_fd;
	rc = read_journal(&owner_files, journal_in, sizeof(journal_in), &in_len);
	if (rc)
		goto out_unlock;
	journal_out[0] = '\0';
	while (next_line(journal_in, in_len, &pos, &line)) {
		if (line.pid == owner && (!key || same_key(&line, key)))
			continue;
		add_text(journal_out, sizeof(journal_out), &out_len, line.start, line.len + 1);
		journal_out[out_len - 1] = '\n';
	}
	for (i = 0; restore && i < n_owned; i++) {
		if (key && strcmp(owned[i].key, key))
			continue;
		if (held_by_other(journal_out, out_len, owned[i].key, owner))
			continue;
		rc = write_file(owned[i].path, owned[i].old, owned[i].old_len);
		if (rc && !first_err)
			first_err = rc;
	}
	rc = replace_journal(&owner_files, journal_out, out_len);
	if (!rc)
		rc = first_err;
out_unlock:
	close(lock_fd);
	return rc;
}

static void on_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int saved_errno = errno;

	/* A forked child inherits the handler, not the changes. */
	if (getpid() == owner && n_owned) {
		restore_own(true, NULL);
		n_owned = 0;
	}
	/* Pending until the handler returns, then the default action as if we had never caught it. */
	sigaction(sig, &dfl, NULL);
	raise(sig);
	errno = saved_errno;
}

/* End of the async-signal-safe part. */

static void on_exit_restore(void)
{
	if (getpid() == owner)
		journal_restore_all();
}

static void install_exit_hooks(void)
{
	struct sigaction action = { .sa_handler = on_signal }, old;
	size_t i;

	if (exit_hooks)
		return;
	exit_hooks = true;
	atexit(on_exit_restore);
	sigemptyset(&action.sa_mask);
	for (i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		sigaddset(&action.sa_mask, handled_signals[i]);
	/* An ignored signal kills nobody; a handler of ctlab's own ends in exit(). */
	for (i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		if (sigaction(handled_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			sigaction(handled_signals[i], &action, NULL);
}

/* Keeps the handlers out while the journal and owned[] change under this thread. */
static void block_signals(sigset_t *saved)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++)
		sigaddset(&set, handled_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, saved);
}

static int read_value(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -EOVERFLOW;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static struct owned *owned_key(const char *key)
{
	int i;

	for (i = 0; i < n_owned; i++)
		if (!strcmp(owned[i].key, key))
			return &owned[i];
	return NULL;
}

/* Records @entry's old value: the first change of @key, or the one of a live process before us. */
static int record(struct owned *entry, const char *key)
{
	char line[KEY_MAX + VALUE_MAX + 32], old[VALUE_MAX];
	size_t in_len, len, pos = 0;
	struct line other;
	bool found = false;
	int fd, rc;

	rc = read_journal(&owner_files, journal_in, sizeof(journal_in), &in_len);
	if (rc)
		return rc;
	while (!found && next_line(journal_in, in_len, &pos, &other)) {
		if (!same_key(&other, key) || other.pid == owner || !pid_alive(other.pid))
			continue;
		snprintf(old, sizeof(old), "%.*s", (int)other.value_len, other.value);
		found = true;
	}
	if (!found) {
		rc = read_value(entry->path, old, sizeof(old));
		if (rc)
			return rc;
	}
	len = (size_t)snprintf(line, sizeof(line), "%s %s ", key, old);
	len += pid_text(owner, line + len);
	line[len++] = '\n';

	fd = open(owner_files.journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, line, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	snprintf(entry->key, sizeof(entry->key), "%s", key);
	entry->old_len = (size_t)snprintf(entry->old, sizeof(entry->old), "%s\n", old);
	return 0;
}

int journal_set(const char *key, const char *value)
{
	char new_value[VALUE_MAX + 1], path[PATH_LEN];
	struct owned *entry;
	sigset_t saved;
	int lock_fd, rc;
	bool recorded = false;

	if (!key || !value || !key_valid(key) || !value_valid(value))
		return -EINVAL;
	rc = sysctl_path(key, path, sizeof(path));
	if (rc)
		return rc;
	if (access(path, W_OK) < 0)
		return -errno;

	block_signals(&saved);
	if (!n_owned) {
		files_of(&owner_files);
		owner = getpid();
	}
	if (mkdir(owner_files.dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out_unblock;
	}
	lock_fd = lock_journal(&owner_files);
	if (lock_fd < 0) {
		rc = lock_fd;
		goto out_unblock;
	}
	entry = owned_key(key);
	if (!entry) {
		rc = -ENOSPC;
		if (n_owned == OWNED_MAX)
			goto out_unlock;
		entry = &owned[n_owned];
		snprintf(entry->path, sizeof(entry->path), "%s", path);
		rc = record(entry, key);
		if (rc)
			goto out_unlock;
		n_owned++;
		recorded = true;
	}
	install_exit_hooks();
	snprintf(new_value, sizeof(new_value), "%s\n", value);
	rc = write_file(path, new_value, strlen(new_value));

out_unlock:
	close(lock_fd);
	/* Nothing changed: the entry would only restore what is there. */
	if (rc && recorded) {
		restore_own(false, key);
		n_owned--;
	}
out_unblock:
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

int journal_restore_all(void)
{
	sigset_t saved;
	int rc = 0;

	block_signals(&saved);
	if (n_owned && getpid() == owner) {
		rc = restore_own(true, NULL);
		n_owned = 0;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

int journal_recover(FILE *report)
{
	char *in, *out, old[VALUE_MAX + 1], path[PATH_LEN], key[KEY_MAX];
	size_t in_len, out_len = 0, pos = 0;
	int lock_fd, rc, first_err = 0;
	struct files files;
	struct line line;
	sigset_t saved;

	files_of(&files);
	if (access(files.journal, F_OK) < 0)
		return errno == ENOENT ? 0 : -errno;
	in = malloc(JOURNAL_MAX);
	out = malloc(JOURNAL_MAX);
	rc = -ENOMEM;
	if (!in || !out)
		goto out_free;
	/* This process's own entries may be in the journal too: keep its handlers out. */
	block_signals(&saved);
	lock_fd = lock_journal(&files);
	if (lock_fd < 0) {
		rc = lock_fd;
		goto out_unblock;
	}
	rc = read_journal(&files, in, JOURNAL_MAX, &in_len);
	if (rc)
		goto out_unlock;
	out[0] = '\0';
	while (next_line(in, in_len, &pos, &line)) {
		bool keep = pid_alive(line.pid);

		snprintf(key, sizeof(key), "%.*s", (int)line.key_len, line.key);
		/* Restore a key of the dead only when no live process still counts on it. */
		if (!keep && !held_by_other(in, in_len, key, line.pid)) {
			snprintf(old, sizeof(old), "%.*s\n", (int)line.value_len, line.value);
			rc = sysctl_path(key, path, sizeof(path));
			if (!rc)
				rc = write_file(path, old, strlen(old));
			if (rc) {
				keep = true;
				if (!first_err)
					first_err = rc;
			}
			if (report)
				fprintf(report, "%s %s=%.*s (left by pid %d)%s%s\n",
					rc ? "could not restore" : "restored", key,
					(int)line.value_len, line.value, (int)line.pid,
					rc ? ": " : "", rc ? strerror(-rc) : "");
		} else if (!keep && report) {
			fprintf(report, "dropped %s=%.*s (left by pid %d; changed since by a live process)\n",
				key, (int)line.value_len, line.value, (int)line.pid);
		}
		if (keep) {
			add_text(out, JOURNAL_MAX, &out_len, line.start, line.len + 1);
			out[out_len - 1] = '\n';
		}
	}
	rc = replace_journal(&files, out, out_len);
	if (!rc)
		rc = first_err;
out_unlock:
	close(lock_fd);
out_unblock:
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
out_free:
	free(out);
	free(in);
	return rc;
}
