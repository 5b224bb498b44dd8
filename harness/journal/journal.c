#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
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

#define WORD_MAX		31	/* a logger's name */
#define NETNS_PATH_MAX		256

/* The settings ctlab changes: the only keys journal_set and journal_set_in
 * take and a journal line may name. */
static const struct setting {
	const char *key;
	long long min, max;		/* the values it can hold, when a number */
	bool per_netns;			/* one of a namespace's own (journal_set_in) */
	bool word;			/* a logger's name, NONE when none, not a number */
} settings[] = {
	{ "net.netfilter.nf_conntrack_max", 0, INT_MAX, false, false },
	{ "net.netfilter.nf_conntrack_buckets", 1, INT_MAX, false, false },	/* sized with --ct-max */
	{ "net.netfilter.nf_log_all_netns", 0, 1, false, false },
	/* What diagnose turns on in a namespace it did not make. */
	{ "net.netfilter.nf_conntrack_log_invalid", 0, 255, true, false },
	{ "net.netfilter.nf_log.2", 0, 0, true, true },
	{ "net.netfilter.nf_log.10", 0, 0, true, true },
};

/* A namespace by the file that names it and the identity of what it named. */
struct netns_id {
	char path[NETNS_PATH_MAX];	/* "" for the global settings */
	unsigned long long dev, ino;
};

/* A change this process made, with what its restore writes, ready for a signal handler. */
struct owned {
	const struct setting *setting;
	char path[PATH_LEN];
	struct netns_id ns;
	int fd;				/* a namespace's setting: its file, opened in there */
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
	struct netns_id ns;		/* a namespace's setting: which one */
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
/* The machine lock the next guardian keeps (journal_guard_lock), or -1. */
static int guarded_lock = -1;
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

/* @text[0..@len) is a logger's name (letters, digits, '_'), or NONE. */
static bool logger_name(const char *text, size_t len)
{
	size_t i;

	if (!len || len > WORD_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
		      (text[i] >= '0' && text[i] <= '9') || text[i] == '_'))
			return false;
	return true;
}

static bool value_ok(const struct setting *setting, const char *text, size_t len)
{
	long long number;

	if (setting->word)
		return logger_name(text, len);
	return decimal(text, len, setting->min, setting->max, &number);
}

static bool prefix_of(const char *prefix, const char *text, size_t len)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(text, prefix, n);
}

/*
 * @text[0..@len) names a namespace as ctlab takes them: /run/netns/NAME
 * (NAME letters, digits, '_', '.', '-', not starting with '.') or
 * /proc/PID/ns/net. Nothing else is ever opened from a journal line.
 */
static bool netns_path_ok(const char *text, size_t len)
{
	long long number;
	size_t i;

	if (len >= NETNS_PATH_MAX)
		return false;
	if (prefix_of("/run/netns/", text, len)) {
		text += strlen("/run/netns/");
		len -= strlen("/run/netns/");
		if (!len || text[0] == '.')
			return false;
		for (i = 0; i < len; i++)
			if (!((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
			      (text[i] >= '0' && text[i] <= '9') || text[i] == '_' || text[i] == '.' ||
			      text[i] == '-'))
				return false;
		return true;
	}
	if (!prefix_of("/proc/", text, len) || len <= strlen("/proc//ns/net") ||
	    memcmp(text + len - strlen("/ns/net"), "/ns/net", strlen("/ns/net")))
		return false;
	return decimal(text + strlen("/proc/"), len - strlen("/proc//ns/net"), 1, INT_MAX, &number);
}

/* "dev:ino", two decimals. */
static bool netns_ident(const char *text, size_t len, struct netns_id *ns)
{
	const char *colon = memchr(text, ':', len);
	long long dev, ino;

	if (!colon || !decimal(text, (size_t)(colon - text), 0, LLONG_MAX / 10, &dev) ||
	    !decimal(colon + 1, (size_t)(text + len - colon - 1), 1, LLONG_MAX / 10, &ino))
		return false;
	ns->dev = (unsigned long long)dev;
	ns->ino = (unsigned long long)ino;
	return true;
}

/*
 * "key old-value pid", one space apart: a key of settings[], its value in
 * range, a positive pid; a namespace's setting then also "netns-path
 * dev:ino". Whatever else is in the journal is never acted on: returns
 * what is wrong with the line, NULL when nothing is.
 */
static const char *parse_line(const char *start, size_t len, struct line *line)
{
	const char *end = start + len, *field[6];
	size_t n = 0, flen[6];
	long long number;
	const char *p = start;

	while (n < 6) {
		const char *space = memchr(p, ' ', (size_t)(end - p));

		field[n] = p;
		flen[n] = space ? (size_t)(space - p) : (size_t)(end - p);
		n++;
		if (!space)
			break;
		p = space + 1;
	}
	if (n != 3 && n != 5)
		return "not \"key value pid\" or \"key value pid netns dev:ino\"";
	line->setting = setting_of(field[0], flen[0]);
	if (!line->setting)
		return "not a setting ctlab changes";
	if (line->setting->per_netns != (n == 5))
		return line->setting->per_netns ? "a namespace's setting without its namespace" :
						  "a global setting with a namespace";
	if (!value_ok(line->setting, field[1], flen[1]))
		return "the value is not one the setting takes";
	if (!decimal(field[2], flen[2], 1, INT_MAX, &number))
		return "the pid is not a positive decimal number";
	memset(&line->ns, 0, sizeof(line->ns));
	if (n == 5) {
		if (!netns_path_ok(field[3], flen[3]))
			return "not a namespace's path ctlab takes (/run/netns/NAME, /proc/PID/ns/net)";
		if (!netns_ident(field[4], flen[4], &line->ns))
			return "the namespace's identity is not dev:ino";
		memcpy(line->ns.path, field[3], flen[3]);
		line->ns.path[flen[3]] = '\0';
	}
	line->start = start;
	line->len = len;
	line->value = field[1];
	line->value_len = flen[1];
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

static bool same_netns(const struct netns_id *a, const struct netns_id *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * Whether the process of @line still counts on its setting. A global one is
 * changed only under the machine lock, held for the process's life: to a
 * caller that holds that lock now (@machine_ours) its changer is gone, or
 * exiting (SIGKILLed: the lock is let go before the pid stops showing, and a
 * zombie shows until reaped).
 */
static bool still_held(const struct line *line, bool machine_ours)
{
	if (machine_ours && !line->setting->per_netns && line->pid != getpid())
		return false;
	return pid_alive(line->pid);
}

/* Another live process than @self changed @setting (in @ns) and still counts on it. */
static bool held_by_other(const char *buf, size_t len, const struct setting *setting,
			  const struct netns_id *ns, pid_t self, bool machine_ours)
{
	struct line line = { 0 };
	size_t pos = 0;

	while (next_line(buf, len, &pos, &line))
		if (line.pid != self && line.setting == setting && same_netns(&line.ns, ns) &&
		    still_held(&line, machine_ours))
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
 * Writes @len bytes of @buf at the start of the sysctl file @fd, as its
 * whole value: async-signal-safe. A sysctl file shows size 0; a plain
 * file (a test's tree) is cut after the value.
 */
static int pwrite_all(int fd, const char *buf, size_t len)
{
	struct stat st;
	ssize_t n;

	while ((n = pwrite(fd, buf, len, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)len && ftruncate(fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

/* @entry's old value back: a namespace's through the file opened in there. */
static int write_back(const struct owned *entry)
{
	if (entry->fd >= 0)
		return pwrite_all(entry->fd, entry->old, entry->old_len);
	return write_file(entry->path, entry->old, entry->old_len);
}

/*
 * Writes back this process's old values (@restore) of @only (NULL: all)
 * unless another live process holds it, then drops their lines from the
 * journal; values first, so a crash in between only repeats them.
 * Async-signal-safe: runs in the signal handlers, where @restore is true.
 */
static int restore_own(bool restore, const struct owned *only)
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
		if (line.pid == owner &&
		    (!only || (line.setting == only->setting && same_netns(&line.ns, &only->ns))))
			continue;
		add_text(journal_out, sizeof(journal_out), &out_len, line.start, line.len + 1);
		journal_out[out_len - 1] = '\n';
	}
	for (i = 0; restore && i < n_owned; i++) {
		if (only && &owned[i] != only)
			continue;
		if (held_by_other(journal_out, out_len, owned[i].setting, &owned[i].ns, owner, false))
			continue;
		rc = write_back(&owned[i]);
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

struct open_in {
	int ns_fd, flags, fd;
	const char *path;
};

static void *open_in_thread(void *arg)
{
	struct open_in *in = arg;

	if (setns(in->ns_fd, CLONE_NEWNET) < 0)
		in->fd = -errno;
	else if ((in->fd = open(in->path, in->flags | O_NOFOLLOW | O_CLOEXEC)) < 0)
		in->fd = -errno;
	return NULL;
}

/*
 * Opens the sysctl file @path with @flags from inside the namespace @ns
 * names (a thread that enters it: /proc/sys/net is the opener's namespace's,
 * and the file stays that namespace's wherever it is written from). With
 * @ns->ino 0 it is filled in; otherwise the path must still name that very
 * namespace. Returns the fd, -ESRCH when the namespace is gone (or the path
 * names another now), or -errno.
 */
static int open_in_netns(struct netns_id *ns, const char *path, int flags)
{
	struct open_in in = { .flags = flags, .path = path };
	struct stat st;
	pthread_t thread;
	int ns_fd, rc;

	ns_fd = open(ns->path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (fstat(ns_fd, &st) < 0) {
		rc = -errno;
	} else if (ns->ino && (st.st_dev != ns->dev || st.st_ino != ns->ino)) {
		rc = -ESRCH;
	} else {
		ns->dev = st.st_dev;
		ns->ino = st.st_ino;
		in.ns_fd = ns_fd;
		rc = -pthread_create(&thread, NULL, open_in_thread, &in);
		if (!rc) {
			pthread_join(thread, NULL);
			/* setns refuses what is not a network namespace. */
			rc = in.fd == -EINVAL ? -ENOTSUP : in.fd;
		}
	}
	close(ns_fd);
	return rc;
}

/* Writes @text into @setting in the namespace @ns, if it is still there. */
static int write_in_netns(const struct setting *setting, const struct netns_id *ns,
			  const char *text)
{
	struct netns_id check = *ns;
	char path[PATH_LEN];
	int fd, rc;

	rc = sysctl_path(setting, path, sizeof(path));
	if (rc)
		return rc;
	fd = open_in_netns(&check, path, O_WRONLY);
	if (fd < 0)
		return fd;
	rc = pwrite_all(fd, text, strlen(text));
	close(fd);
	return rc;
}

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
			   FILE *report, bool machine_ours)
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
		keep = gone ? line.pid != gone : still_held(&line, machine_ours);
		/* Restore a key of the dead only when no live process still counts on it. */
		if (!keep && !held_by_other(in, in_len, line.setting, &line.ns, line.pid, machine_ours)) {
			snprintf(old, sizeof(old), "%.*s\n", (int)line.value_len, line.value);
			if (line.setting->per_netns) {
				rc = write_in_netns(line.setting, &line.ns, old);
			} else {
				rc = sysctl_path(line.setting, path, sizeof(path));
				if (!rc)
					rc = write_file(path, old, strlen(old));
			}
			if (rc == -ESRCH) {
				/* Its namespace is gone, and the setting with it. */
				if (report)
					fprintf(report, "dropped %s=%.*s in %s (left by pid %d; the "
						"namespace is gone)\n", line.setting->key,
						(int)line.value_len, line.value, line.ns.path,
						(int)line.pid);
				continue;
			}
			if (rc) {
				keep = true;
				if (!first_err)
					first_err = rc;
			}
			if (report)
				fprintf(report, "%s %s=%.*s%s%s (left by pid %d)%s%s\n",
					rc ? "could not restore" : "restored", line.setting->key,
					(int)line.value_len, line.value,
					line.setting->per_netns ? " in " : "", line.ns.path,
					(int)line.pid, rc ? ": " : "", rc ? strerror(-rc) : "");
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
 * and the machine lock it was given (the standard three on /dev/null): a
 * copy of the lock holds it, so the machine is not free while our changes
 * are still in force after we died. It sits in a session of its own, so
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
	int null, lock;

	/* Ours as fd 3, the lock as 4, /dev/null as 0, 1 and 2, the rest closed (by a loop before Linux 5.9);
	 * first both above 4, as either may be 3 or 4 now. */
	fd = fcntl(fd, F_DUPFD, 5);
	lock = guarded_lock >= 0 ? fcntl(guarded_lock, F_DUPFD, 5) : -1;
	if (fd < 0 || dup2(fd, 3) < 0 || (guarded_lock >= 0 && (lock < 0 || dup2(lock, 4) < 0)))
		_exit(1);
	null = open("/dev/null", O_RDWR);
	for (i = 0; i < 3; i++) {
		if (null >= 0)
			dup2(null, (int)i);
		else
			close((int)i);
	}
	if (close_range(guarded_lock >= 0 ? 5 : 4, ~0U, 0) < 0)
		for (i = guarded_lock >= 0 ? 5 : 4, max = sysconf(_SC_OPEN_MAX); i < max; i++)
			close((int)i);
	fd = 3;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	prctl(PR_SET_NAME, "ctlab-guardian");
	while ((n = read(fd, &word, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		recover_entries(&owner_files, owner, journal_in, journal_out, NULL, false);
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

/* The value in the file @fd (from its start), without its newline. */
static int read_value(int fd, char *buf, size_t size)
{
	ssize_t n;

	while ((n = pread(fd, buf, size - 1, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	if ((size_t)n == size - 1)
		return -EOVERFLOW;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static struct owned *owned_setting(const struct setting *setting, const struct netns_id *ns)
{
	int i;

	for (i = 0; i < n_owned; i++)
		if (owned[i].setting == setting && same_netns(&owned[i].ns, ns))
			return &owned[i];
	return NULL;
}

/*
 * Records @entry's old value, read through @fd: the first change of its
 * setting (in its namespace), or the one of a live process before us. A
 * current value the setting does not take is refused (-EINVAL): recovery
 * could not trust it.
 */
static int record(struct owned *entry, int fd)
{
	char line[KEY_MAX + VALUE_MAX + NETNS_PATH_MAX + 64], old[VALUE_MAX];
	const struct setting *setting = entry->setting;
	size_t in_len, len, pos = 0;
	struct line other = { 0 };
	bool found = false;
	int journal_fd, rc;

	rc = read_journal(&owner_files, journal_in, sizeof(journal_in), &in_len);
	if (rc)
		return rc;
	while (!found && next_line(journal_in, in_len, &pos, &other)) {
		if (other.setting != setting || !same_netns(&other.ns, &entry->ns) ||
		    other.pid == owner || !pid_alive(other.pid))
			continue;
		snprintf(old, sizeof(old), "%.*s", (int)other.value_len, other.value);
		found = true;
	}
	if (!found) {
		rc = read_value(fd, old, sizeof(old));
		if (rc)
			return rc;
		if (!value_ok(setting, old, strlen(old)))
			return -EINVAL;
	}
	len = (size_t)snprintf(line, sizeof(line), "%s %s ", setting->key, old);
	len += pid_text(owner, line + len);
	if (setting->per_netns)
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s %llu:%llu",
					entry->ns.path, entry->ns.dev, entry->ns.ino);
	line[len++] = '\n';

	journal_fd = open(owner_files.journal,
			  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (journal_fd < 0)
		return -errno;
	rc = write_all(journal_fd, line, len);
	if (!rc && fsync(journal_fd) < 0)
		rc = -errno;
	close(journal_fd);
	if (rc)
		return rc;
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

/*
 * Sets @setting to @value: the global one, or with @netns_path the one of
 * the namespace it names. See journal_set and journal_set_in.
 */
static int set_value(const struct setting *setting, const char *netns_path, const char *value)
{
	char new_value[VALUE_MAX + 1], path[PATH_LEN];
	struct netns_id ns = { .path = "" };
	struct owned *entry;
	sigset_t saved;
	int lock_fd, rc, fd;
	bool recorded = false;

	if (!value_ok(setting, value, strlen(value)))
		return -EINVAL;
	rc = sysctl_path(setting, path, sizeof(path));
	if (rc)
		return rc;
	if (netns_path) {
		snprintf(ns.path, sizeof(ns.path), "%s", netns_path);
		fd = open_in_netns(&ns, path, O_RDWR);
	} else {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;

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
	entry = owned_setting(setting, &ns);
	if (!entry) {
		rc = -ENOSPC;
		if (n_owned == OWNED_MAX)
			goto out_unlock;
		entry = &owned[n_owned];
		*entry = (struct owned){ .setting = setting, .ns = ns, .fd = -1 };
		snprintf(entry->path, sizeof(entry->path), "%s", path);
		rc = record(entry, fd);
		if (rc)
			goto out_unlock;
		/* A namespace's file is kept: it reaches only that namespace, from anywhere. */
		if (netns_path) {
			entry->fd = fd;
			fd = -1;
		}
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
	rc = entry->fd >= 0 ? pwrite_all(entry->fd, new_value, strlen(new_value)) :
			      write_file(path, new_value, strlen(new_value));

out_unlock:
	close(lock_fd);
	/* Nothing changed: the entry would only restore what is there. */
	if (rc && recorded) {
		restore_own(false, entry);
		if (entry->fd >= 0)
			close(entry->fd);
		n_owned--;
	}
	if (rc && !n_owned)
		stop_guardian(true);
out_unblock:
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (fd >= 0)
		close(fd);
	return rc;
}

int journal_set(const char *key, const char *value)
{
	const struct setting *setting = key && value ? setting_of(key, strlen(key)) : NULL;

	if (!setting || setting->per_netns)
		return -EINVAL;
	return set_value(setting, NULL, value);
}

int journal_set_in(const char *netns_path, const char *key, const char *value)
{
	const struct setting *setting = key && value ? setting_of(key, strlen(key)) : NULL;

	if (!setting || !setting->per_netns || !netns_path ||
	    !netns_path_ok(netns_path, strlen(netns_path)))
		return -EINVAL;
	return set_value(setting, netns_path, value);
}

int journal_restore_all(void)
{
	sigset_t saved;
	int rc = 0;

	block_signals(&saved);
	if (n_owned && getpid() == owner) {
		int i;

		rc = restore_own(true, NULL);
		for (i = 0; i < n_owned; i++)
			if (owned[i].fd >= 0)
				close(owned[i].fd);
		n_owned = 0;
		stop_guardian(rc == 0);
	}
	guarded_lock = -1;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

int journal_guard_lock(int machine_fd)
{
	if (guardian)
		return -EBUSY;
	guarded_lock = machine_fd;
	return 0;
}

static int recover(FILE *report, bool machine_ours)
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
		rc = recover_entries(&files, 0, in, out, report, machine_ours);
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	}
	free(out);
	free(in);
	return rc;
}

int journal_recover(FILE *report)
{
	return recover(report, false);
}

int journal_recover_machine(FILE *report)
{
	return recover(report, true);
}
