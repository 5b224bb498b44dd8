// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/journal: changes recorded before they are made and
 * undone on every exit path. Every test keeps its journal and a fake
 * sysctl tree in a temporary directory: no real sysctl is ever touched.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "journal/journal.h"
#include "suite.h"

#define KEY		"net.netfilter.nf_conntrack_max"
#define LOG_KEY		"net.netfilter.nf_log_all_netns"
#define ORIGINAL	"262144"
#define CHANGED		"1048576"

static char root[] = "/tmp/ctlab-journal-XXXXXX";
static char run_dir[256], journal_path[256], lock_path[256], tmp_path[256], sysctl_dir[256],
	    value_path[256];
/* Files the tests plant beside the journal's directory, which nothing may write. */
static char outside[256], other_dir[256], core_pattern[256];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The file's text, "" when it does not exist. */
static const char *read_text(const char *path)
{
	static char text[4096];
	size_t n = 0;
	FILE *f;

	text[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return text;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static const char *journal_line(pid_t pid, const char *old)
{
	static char line[256];

	snprintf(line, sizeof(line), KEY " %s %d\n", old, (int)pid);
	return line;
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(run_dir, sizeof(run_dir), "%s/ctlab", root);
	snprintf(journal_path, sizeof(journal_path), "%s/journal", run_dir);
	snprintf(lock_path, sizeof(lock_path), "%s/journal.lock", run_dir);
	snprintf(tmp_path, sizeof(tmp_path), "%s/journal.new", run_dir);
	snprintf(outside, sizeof(outside), "%s/outside", root);
	snprintf(other_dir, sizeof(other_dir), "%s/other", root);
	snprintf(core_pattern, sizeof(core_pattern), "%s/sys/kernel/core_pattern", root);
	snprintf(sysctl_dir, sizeof(sysctl_dir), "%s/sys", root);
	ck_assert_int_eq(mkdir(sysctl_dir, 0755), 0);
	snprintf(value_path, sizeof(value_path), "%s/net", sysctl_dir);
	ck_assert_int_eq(mkdir(value_path, 0755), 0);
	snprintf(value_path, sizeof(value_path), "%s/net/netfilter", sysctl_dir);
	ck_assert_int_eq(mkdir(value_path, 0755), 0);
	snprintf(value_path, sizeof(value_path), "%s/net/netfilter/nf_conntrack_max", sysctl_dir);
	write_text(value_path, ORIGINAL "\n");
	ck_assert_int_eq(journal_set_dir(run_dir), 0);
	ck_assert_int_eq(journal_set_sysctl_root(sysctl_dir), 0);
	/* A killed child's guardian becomes ours, to be waited for. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

/* Removes what the tests made, and only that: root must then be empty. */
static void teardown(void)
{
	static const char *const other_files[] = { "journal", "journal.lock", "journal.new" };
	char path[300];
	size_t i;

	unlink(journal_path);
	unlink(lock_path);
	unlink(tmp_path);
	snprintf(path, sizeof(path), "%s/machine.lock", run_dir);
	unlink(path);
	if (rmdir(run_dir) < 0)
		unlink(run_dir);	/* a symlink or a file planted there */
	for (i = 0; i < sizeof(other_files) / sizeof(other_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", other_dir, other_files[i]);
		unlink(path);
	}
	rmdir(other_dir);
	unlink(outside);
	unlink(core_pattern);
	snprintf(path, sizeof(path), "%s/kernel", sysctl_dir);
	rmdir(path);
	unlink(value_path);
	snprintf(path, sizeof(path), "%s/net/netfilter", sysctl_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/net", sysctl_dir);
	rmdir(path);
	rmdir(sysctl_dir);
	ck_assert_int_eq(rmdir(root), 0);
}

/* One holder alone or many sharing, threads and processes alike. */
START_TEST(test_machine_lock)
{
	int alone, shared[2];

	alone = journal_machine_lock(true, false);
	ck_assert_int_ge(alone, 0);
	ck_assert_int_eq(journal_machine_lock(true, false), -EWOULDBLOCK);
	ck_assert_int_eq(journal_machine_lock(false, false), -EWOULDBLOCK);
	close(alone);
	shared[0] = journal_machine_lock(false, false);
	shared[1] = journal_machine_lock(false, false);
	ck_assert(shared[0] >= 0 && shared[1] >= 0);
	ck_assert_int_eq(journal_machine_lock(true, false), -EWOULDBLOCK);
	close(shared[0]);
	close(shared[1]);
	alone = journal_machine_lock(true, true);
	ck_assert_int_ge(alone, 0);
	close(alone);
}
END_TEST

/* Dies as told: 'S' raises SIGSEGV, 'P' writes into a pipe nobody reads (SIGPIPE). */
static void crash(char how)
{
	struct rlimit no_core = { 0, 0 };
	int broken[2];
	ssize_t n;

	setrlimit(RLIMIT_CORE, &no_core);
	if (how == 'S')
		raise(SIGSEGV);
	if (how == 'P' && pipe(broken) == 0) {
		close(broken[0]);
		n = write(broken[1], "x", 1);
		(void)n;
	}
	_exit(5);
}

/*
 * A child that sets @value (with @machine, under the machine lock given to
 * its guardian, as --ct-max does) and then waits for a signal, for a byte on
 * @wait_fd that tells it how to crash, or for its end of file; with
 * @wait_fd -1 it exits at once. Returns its pid once the value is set.
 */
static pid_t child_setting(const char *value, int wait_fd, bool machine)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1,
				     SIGUSR2, SIGALRM, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
	int ready[2];
	ssize_t n;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t i;
		int fd;

		/* As ctlab starts: Check's own handlers would kill the whole test instead. */
		for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		/* Other children's pipes, so that closing them reaches their readers. */
		for (fd = 3; fd < 64; fd++)
			if (fd != ready[1] && fd != wait_fd)
				close(fd);
		fd = machine ? journal_machine_lock(true, true) : -1;
		if ((machine && (fd < 0 || journal_guard_lock(fd) != 0)) || journal_set(KEY, value) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (wait_fd < 0)
			exit(0);
		/* Until the parent closes its end or says how to crash, or a signal ends us. */
		while ((n = read(wait_fd, &c, 1)) < 0 && errno == EINTR)
			;
		if (n == 1)
			crash(c);
		exit(0);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* No process was left to us (a subreaper): no guardian outlived its ctlab. */
static void check_none_left(void)
{
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/*
 * Waits for the guardian of a child killed with SIGKILL, ours since (the
 * only other child is still running, or there is none): bounded by the
 * test's timeout. It must have exited on its own, at once.
 */
static void wait_guardian(void)
{
	int status;

	ck_assert_int_gt(waitpid(-1, &status, 0), 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

START_TEST(test_set_then_restore)
{
	struct stat st;

	ck_assert_int_eq(journal_set(KEY, "1048576"), 0);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(getpid(), ORIGINAL));
	ck_assert_int_eq(stat(run_dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);

	/* A second change keeps the first old value. */
	ck_assert_int_eq(journal_set(KEY, "2000000"), 0);
	ck_assert_str_eq(read_text(value_path), "2000000\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(getpid(), ORIGINAL));

	ck_assert_int_eq(journal_restore_all(), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();	/* the guardian ended with the changes */
	ck_assert_int_eq(journal_restore_all(), 0);	/* nothing left to do */
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
}
END_TEST

START_TEST(test_set_rejects_bad_args)
{
	ck_assert_int_eq(journal_set("", "1"), -EINVAL);
	ck_assert_int_eq(journal_set("net.netfilter nf", "1"), -EINVAL);
	ck_assert_int_eq(journal_set("../etc/passwd", "1"), -EINVAL);
	ck_assert_int_eq(journal_set("/etc/passwd", "1"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, ""), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "1\n2"), -EINVAL);
	ck_assert_int_eq(journal_set("net.netfilter.no_such_key", "1"), -EINVAL);
	/* A value is a decimal number in the key's range. */
	ck_assert_int_eq(journal_set(KEY, "abc"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "-1"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "+5"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "1.5"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "1 2"), -EINVAL);
	ck_assert_int_eq(journal_set(KEY, "99999999999999999999"), -EINVAL);
	ck_assert_int_eq(journal_set(LOG_KEY, "2"), -EINVAL);
	ck_assert_int_eq(journal_set(LOG_KEY, "1"), -ENOENT);	/* a key of ours, not in this tree */
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

/* Only the keys ctlab changes, even where the file is there to write. */
START_TEST(test_set_rejects_other_keys)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/kernel", sysctl_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	write_text(core_pattern, "core\n");
	ck_assert_int_eq(journal_set("kernel.core_pattern", "1"), -EINVAL);
	ck_assert_int_eq(journal_set("kernel/core_pattern", "1"), -EINVAL);
	ck_assert_int_eq(journal_set("net.netfilter.nf_conntrack_max/../../../kernel/core_pattern",
				     "1"), -EINVAL);
	ck_assert_str_eq(read_text(core_pattern), "core\n");
	ck_assert_int_eq(access(run_dir, F_OK), -1);	/* refused before the journal is made */
}
END_TEST

/* The current value is recorded only if recovery could trust it back. */
START_TEST(test_set_rejects_bad_current_value)
{
	write_text(value_path, "abc\n");
	ck_assert_int_eq(journal_set(KEY, "1048576"), -EINVAL);
	ck_assert_str_eq(read_text(value_path), "abc\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

START_TEST(test_exit_restores)
{
	pid_t pid = child_setting("1048576", -1, false);

	ck_assert_int_eq(wait_status(pid), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}
END_TEST

/*
 * A child changes the value, then dies of @sig: sent to it, or with @how
 * its own doing (see crash()). It restored first, then died of the signal
 * all the same, and ended its guardian.
 */
static void check_signal_restores(int sig, char how)
{
	int hold[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(hold), 0);
	pid = child_setting("1048576", hold[0], false);
	close(hold[0]);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(pid, ORIGINAL));
	if (how)
		ck_assert_int_eq(write(hold[1], &how, 1), 1);
	else
		kill(pid, sig);
	status = wait_status(pid);
	close(hold[1]);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "signal %d: status %#x",
		      sig, status);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}

START_TEST(test_sigterm_restores)
{
	check_signal_restores(SIGTERM, 0);
}
END_TEST

START_TEST(test_sigint_sighup_restore)
{
	check_signal_restores(SIGINT, 0);
	check_signal_restores(SIGHUP, 0);
}
END_TEST

/* `ctlab run ... | head`: the next write after head has gone. */
START_TEST(test_sigpipe_restores)
{
	check_signal_restores(SIGPIPE, 'P');
	check_signal_restores(SIGPIPE, 0);
}
END_TEST

START_TEST(test_sigusr_sigalrm_restore)
{
	check_signal_restores(SIGUSR1, 0);
	check_signal_restores(SIGUSR2, 0);
	check_signal_restores(SIGALRM, 0);
}
END_TEST

START_TEST(test_crash_restores)
{
	check_signal_restores(SIGSEGV, 'S');
	check_signal_restores(SIGBUS, 0);
	check_signal_restores(SIGABRT, 0);
	check_signal_restores(SIGFPE, 0);
	check_signal_restores(SIGILL, 0);
}
END_TEST

/* What no handler sees: the guardian restores, then exits. */
START_TEST(test_sigkill_guardian_restores)
{
	int hold[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(hold), 0);
	pid = child_setting("1048576", hold[0], false);
	close(hold[0]);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	kill(pid, SIGKILL);
	status = wait_status(pid);
	close(hold[1]);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	wait_guardian();
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}
END_TEST

/*
 * A child SIGKILLed with a change made under the machine lock: its guardian
 * keeps the lock until it has restored (held up here by the journal's own
 * lock, which it must take first), so no one has the machine, or reads the
 * settings under it, while the dead child's value is in force.
 */
START_TEST(test_sigkill_guardian_keeps_machine)
{
	struct flock journal_lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int hold[2], journal_fd, machine_fd;
	pid_t pid;

	ck_assert_int_eq(pipe(hold), 0);
	pid = child_setting(CHANGED, hold[0], true);
	close(hold[0]);
	journal_fd = open(lock_path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(journal_fd, 0);
	ck_assert_int_eq(fcntl(journal_fd, F_SETLKW, &journal_lock), 0);
	kill(pid, SIGKILL);
	ck_assert(WIFSIGNALED(wait_status(pid)));
	close(hold[1]);
	ck_assert_str_eq(read_text(value_path), CHANGED "\n");
	ck_assert_int_eq(journal_machine_lock(false, false), -EWOULDBLOCK);
	close(journal_fd);	/* the guardian restores, then lets go */
	wait_guardian();
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	machine_fd = journal_machine_lock(true, false);
	ck_assert_int_ge(machine_fd, 0);
	close(machine_fd);
	check_none_left();
}
END_TEST

/* A killed run's guardian leaves a key another live run still counts on. */
START_TEST(test_sigkill_while_other_holds)
{
	int hold_a[2], hold_b[2];
	pid_t a, b;

	ck_assert_int_eq(pipe(hold_a), 0);
	ck_assert_int_eq(pipe(hold_b), 0);
	a = child_setting("1000000", hold_a[0], false);
	b = child_setting("2000000", hold_b[0], false);
	close(hold_a[0]);
	close(hold_b[0]);
	kill(a, SIGKILL);
	ck_assert_int_eq(WTERMSIG(wait_status(a)), SIGKILL);
	close(hold_a[1]);
	wait_guardian();
	ck_assert_str_eq(read_text(value_path), "2000000\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(b, ORIGINAL));

	close(hold_b[1]);
	ck_assert_int_eq(wait_status(b), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}
END_TEST

/*
 * The guardian keeps none of our files: not the standard ones (a terminal,
 * a CI job's pipe), not the others. The pipe's end of file comes (bounded
 * wait) once we have closed every end of ours.
 */
START_TEST(test_guardian_holds_no_fds)
{
	struct pollfd spy = { .events = POLLIN };
	int pipe_fds[2], saved_out, saved_err;
	char c;

	ck_assert_int_eq(pipe(pipe_fds), 0);
	spy.fd = pipe_fds[0];
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_out, 0);
	ck_assert_int_ge(saved_err, 0);
	dup2(pipe_fds[1], STDOUT_FILENO);
	dup2(pipe_fds[1], STDERR_FILENO);
	ck_assert_int_eq(journal_set(KEY, CHANGED), 0);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	close(pipe_fds[1]);
	ck_assert_int_eq(poll(&spy, 1, 20000), 1);
	ck_assert_int_eq(read(pipe_fds[0], &c, 1), 0);
	close(pipe_fds[0]);
	ck_assert_int_eq(journal_restore_all(), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	check_none_left();
}
END_TEST

START_TEST(test_recover_keeps_live_entries)
{
	ck_assert_int_eq(journal_set(KEY, "1048576"), 0);
	ck_assert_int_eq(journal_recover(NULL), 0);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(getpid(), ORIGINAL));
	ck_assert_int_eq(journal_restore_all(), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
}
END_TEST

START_TEST(test_recover_without_journal)
{
	ck_assert_int_eq(journal_recover(NULL), 0);
	ck_assert_int_eq(access(run_dir, F_OK), -1);	/* nothing made */
}
END_TEST

/* Two live processes change the same key: whichever ends last brings the original back. */
START_TEST(test_two_processes_same_key)
{
	int hold_a[2], hold_b[2];
	pid_t a, b;

	ck_assert_int_eq(pipe(hold_a), 0);
	ck_assert_int_eq(pipe(hold_b), 0);
	a = child_setting("1000000", hold_a[0], false);
	b = child_setting("2000000", hold_b[0], false);
	close(hold_a[0]);
	close(hold_b[0]);
	ck_assert_str_eq(read_text(value_path), "2000000\n");

	close(hold_a[1]);	/* a exits first: b still counts on its value */
	ck_assert_int_eq(wait_status(a), 0);
	ck_assert_str_eq(read_text(value_path), "2000000\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(b, ORIGINAL));

	close(hold_b[1]);
	ck_assert_int_eq(wait_status(b), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

/* A pid that no process has: a child that has been reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(wait_status(pid), 0);
	return pid;
}

/* journal_recover with what it reported, in @report (of @size bytes). */
static int recover(char *report, size_t size)
{
	FILE *stream;
	int rc;

	report[0] = '\0';
	stream = fmemopen(report, size, "w");

	ck_assert_ptr_nonnull(stream);
	rc = journal_recover(stream);
	fclose(stream);
	return rc;
}

/*
 * The sysctl as a killed run would have left it, and in @journal_file (the
 * journal, or what a planted one points to) the line that says to restore
 * the original: a recovery that trusted it would write ORIGINAL back.
 * Returns that line.
 */
static const char *left_by_killed_run(const char *journal_file)
{
	static char line[256];

	snprintf(line, sizeof(line), "%s", journal_line(dead_pid(), ORIGINAL));
	write_text(value_path, CHANGED "\n");
	write_text(journal_file, line);
	return line;
}

/* journal_set and journal_recover both refuse with @err: the sysctl stays as left. */
static void check_refused(int err)
{
	ck_assert_int_eq(journal_set(KEY, "2000000"), err);
	ck_assert_str_eq(read_text(value_path), CHANGED "\n");
	ck_assert_int_eq(journal_recover(NULL), err);
	ck_assert_str_eq(read_text(value_path), CHANGED "\n");
}

/* A run killed with its guardian (or before it could act): journal_recover restores. */
START_TEST(test_recover_restores_dead)
{
	char report[1024], want[256];
	const char *line;

	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	line = left_by_killed_run(journal_path);
	snprintf(want, sizeof(want), "restored " KEY "=" ORIGINAL " (left by pid %d)\n",
		 atoi(strrchr(line, ' ') + 1));
	ck_assert_int_eq(recover(report, sizeof(report)), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	ck_assert_str_eq(report, want);
	ck_assert_int_eq(recover(report, sizeof(report)), 0);
	ck_assert_str_eq(report, "");	/* nothing left */
}
END_TEST

START_TEST(test_dir_symlink_refused)
{
	const char *line;
	char path[300];

	ck_assert_int_eq(mkdir(other_dir, 0700), 0);
	ck_assert_int_eq(symlink(other_dir, run_dir), 0);
	snprintf(path, sizeof(path), "%s/journal", other_dir);
	line = left_by_killed_run(path);
	check_refused(-ELOOP);
	ck_assert_str_eq(read_text(path), line);
	/* Nothing made where it points: no lock, no new journal. */
	snprintf(path, sizeof(path), "%s/journal.lock", other_dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/journal.new", other_dir);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_dir_not_directory_refused)
{
	write_text(run_dir, "");
	write_text(value_path, CHANGED "\n");
	check_refused(-ENOTDIR);
	ck_assert_str_eq(read_text(run_dir), "");
}
END_TEST

START_TEST(test_dir_mode_refused)
{
	static const mode_t modes[] = { 0770, 0720, 0702, 0777, 01777 };
	size_t i;

	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	left_by_killed_run(journal_path);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(chmod(run_dir, modes[i]), 0);
		check_refused(-EPERM);
	}
	/* Readable by others is no danger: the files in it are 0600. */
	ck_assert_int_eq(chmod(run_dir, 0755), 0);
	ck_assert_int_eq(journal_recover(NULL), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
}
END_TEST

START_TEST(test_dir_owner_refused)
{
	if (geteuid() != 0) {
		puts("# SKIP a directory of another user's: needs root to make one");
		return;
	}
	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	left_by_killed_run(journal_path);
	ck_assert_int_eq(chown(run_dir, 65534, 65534), 0);
	check_refused(-EPERM);
	/* Nor a journal of theirs in a directory of ours. */
	ck_assert_int_eq(chown(run_dir, 0, 0), 0);
	ck_assert_int_eq(chown(journal_path, 65534, 65534), 0);
	check_refused(-EPERM);
}
END_TEST

START_TEST(test_journal_symlink_refused)
{
	const char *line;

	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	line = left_by_killed_run(outside);
	ck_assert_int_eq(symlink(outside, journal_path), 0);
	check_refused(-ELOOP);
	ck_assert_str_eq(read_text(outside), line);
}
END_TEST

START_TEST(test_lock_symlink_refused)
{
	struct stat st;

	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	left_by_killed_run(journal_path);
	ck_assert_int_eq(symlink(outside, lock_path), 0);
	check_refused(-ELOOP);
	ck_assert_int_eq(lstat(outside, &st), -1);	/* not created through the link */
	/* Nor written through when it exists. */
	write_text(outside, "not yours\n");
	check_refused(-ELOOP);
	ck_assert_str_eq(read_text(outside), "not yours\n");
}
END_TEST

START_TEST(test_new_journal_planted)
{
	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	write_text(outside, "not yours\n");
	ck_assert_int_eq(symlink(outside, tmp_path), 0);
	write_text(value_path, CHANGED "\n");
	check_refused(-ELOOP);
	ck_assert_str_eq(read_text(outside), "not yours\n");

	/* One planted after the checks is refused where it would be written. */
	ck_assert_int_eq(unlink(tmp_path), 0);
	write_text(value_path, ORIGINAL "\n");
	ck_assert_int_eq(journal_set(KEY, CHANGED), 0);
	ck_assert_int_eq(symlink(outside, tmp_path), 0);
	ck_assert_int_eq(journal_restore_all(), -EEXIST);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");	/* values come first */
	ck_assert_str_eq(read_text(outside), "not yours\n");
}
END_TEST

/* A new journal left by a run killed while writing it is ours to remove. */
START_TEST(test_stale_new_journal_removed)
{
	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	write_text(tmp_path, "half a li");
	ck_assert_int_eq(journal_set(KEY, CHANGED), 0);
	ck_assert_int_eq(journal_restore_all(), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	ck_assert_int_eq(access(tmp_path, F_OK), -1);
}
END_TEST

/* Lines that name anything but a setting of ours, or hold anything but
 * numbers, are never acted on. */
START_TEST(test_recover_ignores_bad_lines)
{
	char journal[2048], report[4096], x_path[300], escape_path[300], path[300], want[128];
	pid_t dead = dead_pid();
	bool x_existed;
	int i;

	snprintf(x_path, sizeof(x_path), "%s/x", root);
	/* "../../x" beneath the sysctl root: a file beside our temporary directory. */
	snprintf(escape_path, sizeof(escape_path), "%s/../../x", sysctl_dir);
	x_existed = access(escape_path, F_OK) == 0;
	snprintf(path, sizeof(path), "%s/kernel", sysctl_dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	write_text(core_pattern, "core\n");
	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	write_text(value_path, CHANGED "\n");

	snprintf(journal, sizeof(journal),
		"../../x 1 123\n"				/* 1 */
		"kernel.core_pattern |x 123\n"			/* 2 */
		"../x 1 %d\n"					/* 3 */
		KEY " abc %d\n"					/* 4 */
		KEY " 5 abc\n"					/* 5 */
		KEY " 5 -1\n"					/* 6 */
		KEY " 5 0\n"					/* 7 */
		KEY " 99999999999 %d\n"				/* 8 */
		KEY " 5 %d extra\n"				/* 9 */
		KEY " -5 %d\n"					/* 10 */
		"\n"						/* 11 */
		LOG_KEY " 7 %d\n"				/* 12 */
		KEY " " ORIGINAL " %d\n"			/* 13: the one to restore */
		KEY " 5 99999999999\n",				/* 14 */
		(int)dead, (int)dead, (int)dead, (int)dead, (int)dead, (int)dead, (int)dead);
	write_text(journal_path, journal);

	ck_assert_int_eq(recover(report, sizeof(report)), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_msg(strstr(report, "restored " KEY "=" ORIGINAL), "report: %s", report);
	ck_assert_msg(strstr(report, "ignoring journal line 1: not a setting ctlab changes (dropped)"),
		      "report: %s", report);
	ck_assert_msg(strstr(report, "ignoring journal line 4: the value is not one the setting takes"),
		      "report: %s", report);
	ck_assert_msg(strstr(report, "ignoring journal line 5: the pid is not a positive decimal"),
		      "report: %s", report);
	ck_assert_msg(strstr(report, "ignoring journal line 9: not \"key value pid\""),
		      "report: %s", report);
	for (i = 1; i <= 14; i++) {
		snprintf(want, sizeof(want), "ignoring journal line %d: ", i);
		ck_assert_msg(!strstr(report, want) == (i == 13), "line %d; report: %s", i, report);
	}
	/* Nothing written outside: the files a trusted key would have named. */
	ck_assert_str_eq(read_text(core_pattern), "core\n");
	ck_assert_int_eq(access(x_path, F_OK), -1);
	if (!x_existed)
		ck_assert_int_eq(access(escape_path, F_OK), -1);
	/* Dropped, so not reported again. */
	ck_assert_str_eq(read_text(journal_path), "");
	ck_assert_int_eq(recover(report, sizeof(report)), 0);
	ck_assert_str_eq(report, "");
}
END_TEST

/* ---- a namespace's settings (journal_set_in), in this process's own namespace ---- */

#define INVALID_KEY	"net.netfilter.nf_conntrack_log_invalid"
#define LOGGER_KEY	"net.netfilter.nf_log.2"

static char invalid_path[300], logger_dir[300], logger_path[300], ns_path[64];

static void setup_netns(void)
{
	setup();
	snprintf(invalid_path, sizeof(invalid_path), "%s/net/netfilter/nf_conntrack_log_invalid",
		 sysctl_dir);
	snprintf(logger_dir, sizeof(logger_dir), "%s/net/netfilter/nf_log", sysctl_dir);
	snprintf(logger_path, sizeof(logger_path), "%s/2", logger_dir);
	write_text(invalid_path, "0\n");
	ck_assert_int_eq(mkdir(logger_dir, 0755), 0);
	write_text(logger_path, "NONE\n");
	snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/net", (int)getpid());
}

static void teardown_netns(void)
{
	unlink(invalid_path);
	unlink(logger_path);
	rmdir(logger_dir);
	teardown();
}

/* Entering a namespace, even one's own, takes CAP_SYS_ADMIN. */
static bool can_setns(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "# SKIP a namespace's settings: not root\n");
	return false;
}

/* "KEY OLD PID NSPATH dev:ino" with this namespace's identity. */
static const char *netns_line(const char *key, const char *old, pid_t pid)
{
	static char line[512];
	struct stat st;

	ck_assert_int_eq(stat(ns_path, &st), 0);
	snprintf(line, sizeof(line), "%s %s %d %s %llu:%llu\n", key, old, (int)pid, ns_path,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return line;
}

START_TEST(test_set_in_then_restore)
{
	char both[1024];

	if (!can_setns())
		return;
	ck_assert_int_eq(journal_set_in(ns_path, INVALID_KEY, "255"), 0);
	ck_assert_str_eq(read_text(invalid_path), "255\n");
	ck_assert_str_eq(read_text(journal_path), netns_line(INVALID_KEY, "0", getpid()));
	ck_assert_int_eq(journal_set_in(ns_path, LOGGER_KEY, "nfnetlink_log"), 0);
	ck_assert_str_eq(read_text(logger_path), "nfnetlink_log\n");
	snprintf(both, sizeof(both), "%s", netns_line(INVALID_KEY, "0", getpid()));
	strcat(both, netns_line(LOGGER_KEY, "NONE", getpid()));
	ck_assert_str_eq(read_text(journal_path), both);

	ck_assert_int_eq(journal_restore_all(), 0);
	ck_assert_str_eq(read_text(invalid_path), "0\n");
	ck_assert_str_eq(read_text(logger_path), "NONE\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}
END_TEST

START_TEST(test_set_in_rejects_bad_args)
{
	if (!can_setns())
		return;
	/* Each kind of key only where it belongs. */
	ck_assert_int_eq(journal_set_in(ns_path, KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set(INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in(NULL, INVALID_KEY, "1"), -EINVAL);
	/* Paths of the two forms only. */
	ck_assert_int_eq(journal_set_in("/etc/passwd", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/proc/self/ns/net", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/proc/1/ns/mnt", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/run/netns/../x", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/run/netns/a/b", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/run/netns/", INVALID_KEY, "1"), -EINVAL);
	ck_assert_int_eq(journal_set_in("/run/netns/ctlab-no-such-namespace-here", INVALID_KEY, "1"),
			 -ESRCH);
	/* Values the setting takes. */
	ck_assert_int_eq(journal_set_in(ns_path, INVALID_KEY, "256"), -EINVAL);
	ck_assert_int_eq(journal_set_in(ns_path, LOGGER_KEY, "nf log"), -EINVAL);
	ck_assert_int_eq(journal_set_in(ns_path, LOGGER_KEY, "../x"), -EINVAL);
	ck_assert_int_eq(journal_set_in(ns_path, LOGGER_KEY, ""), -EINVAL);
	ck_assert_str_eq(read_text(invalid_path), "0\n");
	ck_assert_str_eq(read_text(logger_path), "NONE\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

/* SIGKILL: the guardian goes back into the namespace by its path. */
START_TEST(test_set_in_sigkill_guardian_restores)
{
	int ready[2], hold[2];
	pid_t pid;
	char c;

	if (!can_setns())
		return;
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(hold), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (journal_set_in(ns_path, INVALID_KEY, "255") != 0 ||
		    journal_set_in(ns_path, LOGGER_KEY, "nfnetlink_log") != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	ck_assert_str_eq(read_text(invalid_path), "255\n");
	kill(pid, SIGKILL);
	ck_assert(WIFSIGNALED(wait_status(pid)));
	close(hold[0]);
	close(hold[1]);
	wait_guardian();
	ck_assert_str_eq(read_text(invalid_path), "0\n");
	ck_assert_str_eq(read_text(logger_path), "NONE\n");
	ck_assert_str_eq(read_text(journal_path), "");
	check_none_left();
}
END_TEST

/* Recovery trusts a namespace's line only whole, and only for that very namespace. */
START_TEST(test_recover_netns_lines)
{
	char journal[2048], report[4096], other[512];
	pid_t dead = dead_pid();

	if (!can_setns())
		return;
	ck_assert_int_eq(mkdir(run_dir, 0700), 0);
	write_text(invalid_path, "255\n");
	write_text(logger_path, "nfnetlink_log\n");
	/* The same path, another namespace's identity: that one is gone. */
	snprintf(other, sizeof(other), "%s", netns_line(INVALID_KEY, "7", dead));
	*strrchr(other, ':') = '\0';
	snprintf(journal, sizeof(journal),
		 INVALID_KEY " 0 %d\n"					/* 1 */
		 KEY " 5 %d %s 1:2\n"					/* 2 */
		 INVALID_KEY " 0 %d /etc/passwd 1:2\n"			/* 3 */
		 INVALID_KEY " 0 %d %s x\n"				/* 4 */
		 LOGGER_KEY " ../x %d %s 1:2\n"				/* 5 */
		 "%s:1\n"						/* 6 */
		 "%s",							/* 7: the one to restore */
		 (int)dead, (int)dead, ns_path, (int)dead, (int)dead, ns_path, (int)dead, ns_path,
		 other, netns_line(LOGGER_KEY, "NONE", dead));
	write_text(journal_path, journal);

	ck_assert_int_eq(recover(report, sizeof(report)), 0);
	ck_assert_msg(strstr(report, "line 1: a namespace's setting without its namespace"), "%s",
		      report);
	ck_assert_msg(strstr(report, "line 2: a global setting with a namespace"), "%s", report);
	ck_assert_msg(strstr(report, "line 3: not a namespace's path"), "%s", report);
	ck_assert_msg(strstr(report, "line 4: the namespace's identity"), "%s", report);
	ck_assert_msg(strstr(report, "line 5: the value is not one"), "%s", report);
	ck_assert_msg(strstr(report, "the namespace is gone"), "%s", report);
	ck_assert_msg(strstr(report, "restored " LOGGER_KEY "=NONE in "), "%s", report);
	ck_assert_str_eq(read_text(invalid_path), "255\n");	/* never written */
	ck_assert_str_eq(read_text(logger_path), "NONE\n");
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *suite = suite_create("journal");
	TCase *tc = tcase_create("journal"), *signals = tcase_create("signals");
	TCase *netns = tcase_create("netns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_then_restore);
	tcase_add_test(tc, test_machine_lock);
	tcase_add_test(tc, test_set_rejects_bad_args);
	tcase_add_test(tc, test_set_rejects_other_keys);
	tcase_add_test(tc, test_set_rejects_bad_current_value);
	tcase_add_test(tc, test_recover_restores_dead);
	tcase_add_test(tc, test_recover_keeps_live_entries);
	tcase_add_test(tc, test_recover_without_journal);
	tcase_add_test(tc, test_two_processes_same_key);
	tcase_add_test(tc, test_dir_symlink_refused);
	tcase_add_test(tc, test_dir_not_directory_refused);
	tcase_add_test(tc, test_dir_mode_refused);
	tcase_add_test(tc, test_dir_owner_refused);
	tcase_add_test(tc, test_journal_symlink_refused);
	tcase_add_test(tc, test_lock_symlink_refused);
	tcase_add_test(tc, test_new_journal_planted);
	tcase_add_test(tc, test_stale_new_journal_removed);
	tcase_add_test(tc, test_recover_ignores_bad_lines);
	suite_add_tcase(suite, tc);

	/* Children that die and guardians that act: above the waits inside, on a loaded machine. */
	tcase_add_checked_fixture(signals, setup, teardown);
	tcase_set_timeout(signals, 30);
	tcase_add_test(signals, test_exit_restores);
	tcase_add_test(signals, test_sigterm_restores);
	tcase_add_test(signals, test_sigint_sighup_restore);
	tcase_add_test(signals, test_sigpipe_restores);
	tcase_add_test(signals, test_sigusr_sigalrm_restore);
	tcase_add_test(signals, test_crash_restores);
	tcase_add_test(signals, test_sigkill_guardian_restores);
	tcase_add_test(signals, test_sigkill_guardian_keeps_machine);
	tcase_add_test(signals, test_sigkill_while_other_holds);
	tcase_add_test(signals, test_guardian_holds_no_fds);
	suite_add_tcase(suite, signals);

	tcase_add_checked_fixture(netns, setup_netns, teardown_netns);
	tcase_set_timeout(netns, 30);
	tcase_add_test(netns, test_set_in_then_restore);
	tcase_add_test(netns, test_set_in_rejects_bad_args);
	tcase_add_test(netns, test_set_in_sigkill_guardian_restores);
	tcase_add_test(netns, test_recover_netns_lines);
	suite_add_tcase(suite, netns);
	return suite;
}

int main(void)
{
	return suite_main(journal_suite());
}
