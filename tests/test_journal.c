// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/journal: changes recorded before they are made and
 * undone on every exit path. Every test keeps its journal and a fake
 * sysctl tree in a temporary directory: no real sysctl is ever touched.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "journal.h"

#define KEY		"net.netfilter.nf_conntrack_max"
#define ORIGINAL	"262144"

static char root[] = "/tmp/ctlab-journal-XXXXXX";
static char run_dir[256], journal_path[256], lock_path[256], sysctl_dir[256], value_path[256];

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
}

static void teardown(void)
{
	char path[300];

	unlink(journal_path);
	unlink(lock_path);
	snprintf(path, sizeof(path), "%s/journal.new", run_dir);
	unlink(path);
	rmdir(run_dir);
	unlink(value_path);
	snprintf(path, sizeof(path), "%s/net/netfilter", sysctl_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/net", sysctl_dir);
	rmdir(path);
	rmdir(sysctl_dir);
	ck_assert_int_eq(rmdir(root), 0);
}

/*
 * A child that sets @value and then waits for a signal, or with @wait_fd
 * -1 exits at once. Returns its pid once the value is set.
 */
static pid_t child_setting(const char *value, int wait_fd)
{
	int ready[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		/* As ctlab starts: Check's own handlers would kill the whole test instead. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* Other children's pipes, so that closing them reaches their readers. */
		for (fd = 3; fd < 64; fd++)
			if (fd != ready[1] && fd != wait_fd)
				close(fd);
		if (journal_set(KEY, value) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (wait_fd < 0)
			exit(0);
		/* Until the parent closes its end, or a signal ends us. */
		while (read(wait_fd, &c, 1) < 0 && errno == EINTR)
			;
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
	ck_assert_int_eq(journal_set("net.netfilter.no_such_key", "1"), -ENOENT);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

START_TEST(test_exit_restores)
{
	pid_t pid = child_setting("1048576", -1);

	ck_assert_int_eq(wait_status(pid), 0);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}
END_TEST

static void check_signal_restores(int sig)
{
	int hold[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(hold), 0);
	pid = child_setting("1048576", hold[0]);
	close(hold[0]);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(pid, ORIGINAL));
	kill(pid, sig);
	status = wait_status(pid);
	close(hold[1]);
	/* Restored, then died of the signal all the same. */
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "status %#x", status);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
}

START_TEST(test_sigterm_restores)
{
	check_signal_restores(SIGTERM);
}
END_TEST

START_TEST(test_sigint_sighup_restore)
{
	check_signal_restores(SIGINT);
	check_signal_restores(SIGHUP);
}
END_TEST

START_TEST(test_sigkill_recovered)
{
	int hold[2], status;
	char *report = NULL;
	size_t report_len;
	FILE *stream;
	pid_t pid;

	ck_assert_int_eq(pipe(hold), 0);
	pid = child_setting("1048576", hold[0]);
	close(hold[0]);
	kill(pid, SIGKILL);
	status = wait_status(pid);
	close(hold[1]);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_str_eq(read_text(value_path), "1048576\n");
	ck_assert_str_eq(read_text(journal_path), journal_line(pid, ORIGINAL));

	stream = open_memstream(&report, &report_len);
	ck_assert_int_eq(journal_recover(stream), 0);
	fclose(stream);
	ck_assert_str_eq(read_text(value_path), ORIGINAL "\n");
	ck_assert_str_eq(read_text(journal_path), "");
	ck_assert_msg(strstr(report, "restored " KEY "=" ORIGINAL), "report: %s", report);
	free(report);
	ck_assert_int_eq(journal_recover(NULL), 0);	/* nothing left */
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
	a = child_setting("1000000", hold_a[0]);
	b = child_setting("2000000", hold_b[0]);
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

static Suite *journal_suite(void)
{
	Suite *suite = suite_create("journal");
	TCase *tc = tcase_create("journal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_then_restore);
	tcase_add_test(tc, test_set_rejects_bad_args);
	tcase_add_test(tc, test_exit_restores);
	tcase_add_test(tc, test_sigterm_restores);
	tcase_add_test(tc, test_sigint_sighup_restore);
	tcase_add_test(tc, test_sigkill_recovered);
	tcase_add_test(tc, test_recover_keeps_live_entries);
	tcase_add_test(tc, test_recover_without_journal);
	tcase_add_test(tc, test_two_processes_same_key);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *runner;
	int failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	runner = srunner_create(journal_suite());
	srunner_set_fork_status(runner, CK_FORK_GETENV);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
