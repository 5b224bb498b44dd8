#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "journal/journal.h"

#define DEFAULT_DIR		"/run/ctlab"
#define DEFAULT_SYSCTL_ROOT	"/proc/sys"
#define KEY_MAX			128
#define VALUE_MAX		256
#define PATH_LEN		512
#define OWNED_MAX		8
#define JOURNAL_MAX		(64 * 1024)

/* The global settings ctlab changes: the only keys journal_set takes and a
 * journal line may name. */
static const struct setting {
	const char *key;
	long long min, max;		/* the values it can hold */
} settings[] = {
	{ "net.netfilter.nf_conntrack_max", 0, INT_MAX },
	{ "net.netfilter.nf_conntrack_buckets", 1, INT_MAX },	/* the hash, sized with --ct-max */
	{ "net.netfilter.nf_log_all_netns", 0, 1 },
};

/* A change this process made, with what its restore writes, ready for a signal handler. */
struct owned {
	const struct setting *setting;
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
	int number;			/* from 1; counted on by next_any_line */
	const char *start, *value;
	size_t len, value_len;
	const struct setting *setting;
	pid_t pid;
};

/*
 * Every signal whose default action ends the process, but SIGKILL, which
 * cannot be caught, and the real-time ones: those are the guardian's. The
 * crashes (SIGSEGV and after) are best effort: memory may be what broke.
 */
static const int handled_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM,
	SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGXCPU, SIGXFSZ,
	SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
};

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
static sig_atomic_t restoring;		/* a signal handler has begun to */
static bool exit_hooks;
/* The guardian while this process has changes in force: its pid, our end of its socket. */
static pid_t guardian;
static int guardian_fd = -1;
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

/* The dotted key a.b.c of a setting names <root>/a/b/c. */
static int sysctl_path(const struct setting *setting, char *path, size_t size)
{
	const char *root = configured(config_sysctl_root, "CTLAB_SYSCTL_ROOT", DEFAULT_SYSCTL_ROOT);
	char *p;
	int len;

	len = snprintf(path, size, "%s/%s", root, setting->key);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	for (p = path + strlen(root) + 1; *p; p++)
		if (*p == '.')
			*p = '/';
	return 0;
}

/* Who may have made the journal's directory and files: root, or ourselves (tests). */
static bool ours(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int refuse(const char *path, const char *why, int err)
{
	fprintf(stderr, "ctlab: %s: %s: refusing to use it for the journal\n", path, why);
	return err;
}

/*
 * The directory must be a real directory of root's (or ours) that nobody
 * else may write to, and the journal, its lock and the new journal, where
 * they exist, regular files of root's (or ours): anything else was put there
 * by someone else, or would let them put things there. Says why not on
 * stderr. Returns 0, -ENOENT without a word when the directory is missing,
 * -ELOOP (a symlink), -ENOTDIR, -EPERM, or an error of lstat.
 */
static int check_files(const struct files *files)
{
	const char *const names[] = { files->journal, files->lock, files->tmp };
	struct stat st;
	char why[64];
	size_t i;

	if (lstat(files->dir, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return refuse(files->dir, "a symlink", -ELOOP);
	if (!S_ISDIR(st.st_mode))
		return refuse(files->dir, "not a directory", -ENOTDIR);
	if (!ours(&st)) {
		snprintf(why, sizeof(why), "owned by uid %u, not root", (unsigned)st.st_uid);
		return refuse(files->dir, why, -EPERM);
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, sizeof(why), "writable by group or others (mode %04o)",
			 (unsigned)(st.st_mode & 07777));
		return refuse(files->dir, why, -EPERM);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (lstat(names[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (S_ISLNK(st.st_mode))
			return refuse(names[i], "a symlink", -ELOOP);
		if (!S_ISREG(st.st_mode))
			return refuse(names[i], "not a regular file", -EPERM);
		if (!ours(&st)) {
			snprintf(why, sizeof(why), "owned by uid %u, not root", (unsigned)st.st_uid);
			return refuse(names[i], why, -EPERM);
		}
	}
	return 0;
}

/* Async-signal-safe helpers from here to restore_own(). */

static const struct setting *setting_of(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strlen(settings[i].key) == len && !memcmp(settings[i].key, key, len))
			return &settings[i];
	return NULL;
}

/* @text[0..@len) is a decimal number (digits only) from @min to @max. */
static bool decimal(const char *text, size_t len, long long min, long long max, long long *value)
{
	long long v = 0;
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (text[i] - '0');
		if (v > max)
			return false;
	}
	*value = v;
	return v >= min;
}

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

/*
 * "key old-value pid", one space apart: a key of settings[], its value in
 * range, a positive pid. Whatever else is in the journal is never acted on:
 * returns what is wrong with the line, NULL when nothing is.
 */
static const char *parse_line(const char *start, size_t len, struct line *line)
{
	const char *end = start + len, *value, *pid;
	long long number;

	value = memchr(start, ' ', len);
	pid = value ? memchr(value + 1, ' ', (size_t)(end - value - 1)) : NULL;
	if (!pid || memchr(pid + 1, ' ', (size_t)(end - pid - 1)))
		return "not \"key value pid\"";
	line->setting = setting_of(start, (size_t)(value - start));
	if (!line->setting)
		return "not a setting ctlab changes";
	value++;
	if (!decimal(value, (size_t)(pid - value), line->setting->min, line->setting->max, &number))
		return "the value is not a decimal number in the setting's range";
	pid++;
	if (!decimal(pid, (size_t)(end - pid), 1, INT_MAX, &number))
		return "the pid is not a positive decimal number";
	line->start = start;
	line->len = len;
	line->value = value;
	line->value_len = (size_t)(pid - 1 - value);
	line->pid = (pid_t)number;
	return NULL;
}

/*
 * The next line of @buf from *@pos into @line, counting line->number on:
 * false at the end. *@why is what is wrong with it, NULL when nothing is.
 */
static bool next_any_line(const char *buf, size_t len, size_t *pos, struct line *line,
			  const char **why)
{
	const char *start = buf + *pos, *end;
	size_t line_len;

	if (*pos >= len)
		return false;
	end = memchr(start, '\n', len - *pos);
	line_len = end ? (size_t)(end - start) : len - *pos;
	*pos += line_len + 1;
	line->number++;
	*why = parse_line(start, line_len, line);
	return true;
}

/* The next valid line: the others are skipped, and so dropped when the journal is rewritten. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct line *line)
{
	const char *why;

	while (next_any_line(buf, len, pos, line, &why))
		if (!why)
			return true;
	return false;
}

/* Another live process than @self changed @setting and still counts on it. */
static bool held_by_other(const char *buf, size_t len, const struct setting *setting, pid_t self)
{
	struct line line = { 0 };
	size_t pos = 0;

	while (next_line(buf, len, &pos, &line))
		if (line.pid != self && line.setting == setting && pid_alive(line.pid))
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

	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
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
	fd = open(files->journal, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

/*
 * Replaces the journal by @buf, all at once: a crash leaves the old one or
 * the new one. The caller holds the lock, so a new journal already there was
 * left by a process killed while writing it: removed if it is a regular file
 * of ours, refused (-EEXIST) if it is anything else.
 */
static int replace_journal(const struct files *files, const char *buf, size_t len)
{
	struct stat st;
	int fd, rc;

	if (lstat(files->tmp, &st) == 0) {
		if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
			return -EEXIST;
		unlink(files->tmp);
	}
	fd = open(files->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

	fd = open(files->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
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
 * Writes back this process's old values (@restore) of @setting (NULL: all)
 * unless another live process holds it, then drops their lines from the
 * journal; values first, so a crash in between only repeats them.
 * Async-signal-safe: runs in the signal handlers, where @restore is true.
 */
static int restore_own(bool restore, const struct setting *setting)
{
	size_t in_len, out_len = 0, pos = 0;
	int lock_fd, rc, first_err = 0, i;
	struct line line = { 0 };

	lock_fd = lock_journal(&owner_files);
	if (lock_fd < 0)
		return lock_fd;
	rc = read_journal(&owner_files, journal_in, sizeof(journal_in), &in_len);
	if (rc)
		goto out_unlock;
	journal_out[0] = '\0';
	while (next_line(journal_in, in_len, &pos, &line)) {
		if (line.pid == owner && (!setting || line.setting == setting))
			continue;
		add_text(journal_out, sizeof(journal_out), &out_len, line.start, line.len + 1);
		journal_out[out_len - 1] = '\n';
	}
	for (i = 0; restore && i < n_owned; i++) {
		if (setting && owned[i].setting != setting)
			continue;
		if (held_by_other(journal_out, out_len, owned[i].setting, owner))
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

/*
 * Ends the guardian, having told it first when this process has restored
 * its entries (it then has nothing to do), and waits for it so that it is
 * not left behind.
 */
static void stop_guardian(bool restored)
{
	if (!guardian)
		return;
	/* MSG_NOSIGNAL: no SIGPIPE if it is gone already. */
	if (restored)
		send(guardian_fd, "r", 1, MSG_NOSIGNAL);
	close(guardian_fd);
	guardian_fd = -1;
	while (waitpid(guardian, NULL, 0) < 0 && errno == EINTR)
		;
	guardian = 0;
}

static void on_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int saved_errno = errno;

	/*
	 * A forked child inherits the handler, not the changes. A second fatal
	 * signal, in another thread, dies at once: the guardian finishes.
	 */
	if (getpid() == owner && n_owned && !__atomic_exchange_n(&restoring, 1, __ATOMIC_SEQ_CST)) {
		int rc = restore_own(true, NULL);

		n_owned = 0;
		stop_guardian(rc == 0);
	}
	/* Pending until the handler returns, then the default action as if we had never caught it. */
	sigaction(sig, &dfl, NULL);
	raise(sig);
	errno = saved_errno;
}

/* End of the async-signal-safe part. */

/*
 * Restores the entries of the processes that are gone and drops them from
 * the journal, saying so on @report (may be NULL). With @gone, only the
 * entries of that process, taken as gone even while its pid still shows
 * (exiting, or a zombie not yet reaped); the others are left as they are.
 * @in and @out hold JOURNAL_MAX bytes. The caller keeps this process's
 * handlers out. Returns 0 or the first -errno; an entry that could not be
 * restored stays.
 */
static int recover_entries(const struct files *files, pid_t gone, char *in, char *out,
			   FILE *report)
{
	char old[VALUE_MAX + 1], path[PATH_LEN];
	size_t in_len, out_len = 0, pos = 0;
	int lock_fd, rc, first_err = 0;
	struct line line = { 0 };
	const char *why;

	lock_fd = lock_journal(files);
	if (lock_fd < 0)
		return lock_fd;
	rc = read_journal(files, in, JOURNAL_MAX, &in_len);
	if (rc)
		goto out_unlock;
	out[0] = '\0';
	while (next_any_line(in, in_len, &pos, &line, &why)) {
		bool keep;

		/* Only root can write there: a bad line is damage, never to be acted on. */
		if (why) {
			if (report)
				fprintf(report, "ignoring journal line %d: %s (dropped)\n", line.number,
					why);
			continue;
		}
		keep = gone ? line.pid != gone : pid_alive(line.pid);
		/* Restore a key of the dead only when no live process still counts on it. */
		if (!keep && !held_by_other(in, in_len, line.setting, line.pid)) {
			snprintf(old, sizeof(old), "%.*s\n", (int)line.value_len, line.value);
			rc = sysctl_path(line.setting, path, sizeof(path));
			if (!rc)
				rc = write_file(path, old, strlen(old));
			if (rc) {
				keep = true;
				if (!first_err)
					first_err = rc;
			}
			if (report)
				fprintf(report, "%s %s=%.*s (left by pid %d)%s%s\n",
					rc ? "could not restore" : "restored", line.setting->key,
					(int)line.value_len, line.value, (int)line.pid,
					rc ? ": " : "", rc ? strerror(-rc) : "");
		} else if (!keep && report) {
			fprintf(report, "dropped %s=%.*s (left by pid %d; changed since by a live process)\n",
				line.setting->key, (int)line.value_len, line.value, (int)line.pid);
		}
		if (keep) {
			add_text(out, JOURNAL_MAX, &out_len, line.start, line.len + 1);
			out[out_len - 1] = '\n';
		}
	}
	rc = replace_journal(files, out, out_len);
	if (!rc)
		rc = first_err;
out_unlock:
	close(lock_fd);
	return rc;
}

/*
 * The guardian's life. It keeps nothing of ours but its end of the socket
 * (the standard three on /dev/null), and sits in a session of its own, so
 * that no terminal or job's pipe waits for it and a signal to our process
 * group (Ctrl-C, a CI runner's kill of the job) reaches only us. When the
 * socket ends without a word, every thread of ours has exited without
 * restoring (SIGKILL, a crash inside the journal, a signal not handled):
 * it restores our entries as recovery would, and exits.
 */
static void __attribute__((noreturn)) guard(int fd)
{
	sigset_t none;
	long i, max;
	ssize_t n;
	char word;
	int null;

	/* Ours as fd 3, /dev/null as 0, 1 and 2, the rest closed (by a loop before Linux 5.9). */
	if (dup2(fd, 3) < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR);
	for (i = 0; i < 3; i++) {
		if (null >= 0)
			dup2(null, (int)i);
		else
			close((int)i);
	}
	if (close_range(4, ~0U, 0) < 0)
		for (i = 4, max = sysconf(_SC_OPEN_MAX); i < max; i++)
			close((int)i);
	fd = 3;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	prctl(PR_SET_NAME, "ctlab-guardian");
	while ((n = read(fd, &word, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		recover_entries(&owner_files, owner, journal_in, journal_out, NULL);
	_exit(0);
}

/*
 * Starts the guardian: a child that restores this process's entries when
 * it is gone without having done so. Why a socket's end rather than
 * PR_SET_PDEATHSIG: the death signal comes when the thread that forked
 * exits, not the process, and may come before the child has asked for it;
 * the socket ends only when the last of our threads has gone (or exec'd:
 * our end is close-on-exec), and carries the word that we restored, with
 * no SIGPIPE for us if the guardian is gone. Forked before any thread
 * starts (journal_set's rule), so the guardian may use what recovery uses.
 * Returns 0 or -errno.
 */
static int start_guardian(void)
{
	int fds[2], err = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	pid = fork();
	if (pid == 0)
		guard(fds[1]);
	if (pid < 0)
		err = -errno;
	close(fds[1]);
	if (err) {
		close(fds[0]);
		return err;
	}
	guardian = pid;
	guardian_fd = fds[0];
	return 0;
}

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

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

static struct owned *owned_setting(const struct setting *setting)
{
	int i;

	for (i = 0; i < n_owned; i++)
		if (owned[i].setting == setting)
			return &owned[i];
	return NULL;
}

/*
 * Records @entry's old value: the first change of @setting, or the one of a
 * live process before us. A current value out of the setting's range is
 * refused (-EINVAL): recovery could not trust it.
 */
static int record(struct owned *entry, const struct setting *setting)
{
	char line[KEY_MAX + VALUE_MAX + 32], old[VALUE_MAX];
	size_t in_len, len, pos = 0;
	struct line other = { 0 };
	bool found = false;
	long long number;
	int fd, rc;

	rc = read_journal(&owner_files, journal_in, sizeof(journal_in), &in_len);
	if (rc)
		return rc;
	while (!found && next_line(journal_in, in_len, &pos, &other)) {
		if (other.setting != setting || other.pid == owner || !pid_alive(other.pid))
			continue;
		snprintf(old, sizeof(old), "%.*s", (int)other.value_len, other.value);
		found = true;
	}
	if (!found) {
		rc = read_value(entry->path, old, sizeof(old));
		if (rc)
			return rc;
		if (!decimal(old, strlen(old), setting->min, setting->max, &number))
			return -EINVAL;
	}
	len = (size_t)snprintf(line, sizeof(line), "%s %s ", setting->key, old);
	len += pid_text(owner, line + len);
	line[len++] = '\n';

	fd = open(owner_files.journal, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, line, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	entry->setting = setting;
	entry->old_len = (size_t)snprintf(entry->old, sizeof(entry->old), "%s\n", old);
	return 0;
}

int journal_machine_lock(bool exclusive, bool wait)
{
	struct files files;
	char path[sizeof(files.dir) + 16];
	struct stat st;
	int fd, rc;

	files_of(&files);
	if (mkdir(files.dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	rc = check_files(&files);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/machine.lock", files.dir);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == ELOOP ? refuse(path, "a symlink", -ELOOP) : -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !ours(&st)) {
		close(fd);
		return refuse(path, "not a regular file of root's", -EPERM);
	}
	/* flock, not fcntl: each open file is a holder of its own, so threads of
	 * one process wait for each other as processes do. */
	while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return rc;
		}
	}
	return fd;
}

int journal_set(const char *key, const char *value)
{
	char new_value[VALUE_MAX + 1], path[PATH_LEN];
	const struct setting *setting;
	struct owned *entry;
	long long number;
	sigset_t saved;
	int lock_fd, rc;
	bool recorded = false;

	setting = key && value ? setting_of(key, strlen(key)) : NULL;
	if (!setting || !decimal(value, strlen(value), setting->min, setting->max, &number))
		return -EINVAL;
	rc = sysctl_path(setting, path, sizeof(path));
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
	rc = check_files(&owner_files);
	if (rc)
		goto out_unblock;
	lock_fd = lock_journal(&owner_files);
	if (lock_fd < 0) {
		rc = lock_fd;
		goto out_unblock;
	}
	entry = owned_setting(setting);
	if (!entry) {
		rc = -ENOSPC;
		if (n_owned == OWNED_MAX)
			goto out_unlock;
		entry = &owned[n_owned];
		snprintf(entry->path, sizeof(entry->path), "%s", path);
		rc = record(entry, setting);
		if (rc)
			goto out_unlock;
		n_owned++;
		recorded = true;
	}
	/* Before the first change: from here on a SIGKILL leaves it to the guardian. */
	if (!guardian) {
		rc = start_guardian();
		if (rc)
			goto out_unlock;
	}
	install_exit_hooks();
	snprintf(new_value, sizeof(new_value), "%s\n", value);
	rc = write_file(path, new_value, strlen(new_value));

out_unlock:
	close(lock_fd);
	/* Nothing changed: the entry would only restore what is there. */
	if (rc && recorded) {
		restore_own(false, setting);
		n_owned--;
	}
	if (rc && !n_owned)
		stop_guardian(true);
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
		stop_guardian(rc == 0);
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

int journal_recover(FILE *report)
{
	struct files files;
	struct stat st;
	sigset_t saved;
	char *in, *out;
	int rc;

	files_of(&files);
	rc = check_files(&files);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	if (lstat(files.journal, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	in = malloc(JOURNAL_MAX);
	out = malloc(JOURNAL_MAX);
	rc = -ENOMEM;
	if (in && out) {
		/* This process's own entries may be in the journal too: keep its handlers out. */
		block_signals(&saved);
		rc = recover_entries(&files, 0, in, out, report);
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	free(out);
	free(in);
	return rc;
}
