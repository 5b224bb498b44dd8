// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of harness/outfile: output files written whole through a new file
 * renamed over the path, with nothing planted at the path ever followed.
 * Each test works in a temporary directory of its own; no privileges needed.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/base.h"
#include "suite.h"

static char dir[] = "/tmp/ctlab-outfile-XXXXXX";
static char target[300], elsewhere[300];

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
	size_t n;
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

/* How many names the directory holds, so that no new file is left behind. */
static int entries(const char *path)
{
	struct dirent *entry;
	DIR *d = opendir(path);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((entry = readdir(d)))
		n += strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..");
	closedir(d);
	return n;
}

static void setup(void)
{
	strcpy(dir, "/tmp/ctlab-outfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(target, sizeof(target), "%s/results.json", dir);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", dir);
	write_text(elsewhere, "not yours\n");
}

static void teardown(void)
{
	char command[400];

	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(command), 0);
}

static int write_file(const char *path, const char *text)
{
	struct outfile *file = outfile_open(path);

	if (!file)
		return -errno;
	fputs(text, outfile_stream(file));
	return outfile_commit(file);
}

START_TEST(test_new_file)
{
	struct stat st;
	mode_t old_umask = umask(022);

	ck_assert_int_eq(write_file(target, "{}\n"), 0);
	umask(old_umask);
	ck_assert_str_eq(read_text(target), "{}\n");
	ck_assert_int_eq(lstat(target, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(entries(dir), 2);	/* elsewhere, results.json */
}
END_TEST

/* A reader sees the old text until the new one is complete. */
START_TEST(test_replaced_when_complete)
{
	struct outfile *file;
	char hard_link[320];

	write_text(target, "old\n");
	snprintf(hard_link, sizeof(hard_link), "%s/hard-link", dir);
	ck_assert_int_eq(link(target, hard_link), 0);
	file = outfile_open(target);
	ck_assert_ptr_nonnull(file);
	fputs("new\n", outfile_stream(file));
	fflush(outfile_stream(file));
	ck_assert_str_eq(read_text(target), "old\n");
	ck_assert_int_eq(outfile_commit(file), 0);
	ck_assert_str_eq(read_text(target), "new\n");
	/* A hard link planted at the path keeps what it had. */
	ck_assert_str_eq(read_text(hard_link), "old\n");
	ck_assert_int_eq(entries(dir), 3);
}
END_TEST

START_TEST(test_symlink_refused)
{
	struct stat st;

	ck_assert_int_eq(symlink(elsewhere, target), 0);
	ck_assert_ptr_null(outfile_open(target));
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(outfile_strerror(errno), "a symlink: refusing to write through it");
	ck_assert_str_eq(read_text(elsewhere), "not yours\n");
	ck_assert_int_eq(lstat(target, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(entries(dir), 2);

	/* Dangling, it would have created the file it names. */
	ck_assert_int_eq(unlink(target), 0);
	ck_assert_int_eq(symlink("nothing-here", target), 0);
	ck_assert_int_eq(write_file(target, "x"), -ELOOP);
	ck_assert_int_eq(access(elsewhere, F_OK), 0);
	ck_assert_int_eq(entries(dir), 2);
}
END_TEST

/* A symlink planted while the file is being written is replaced, not followed. */
START_TEST(test_symlink_planted_later_replaced)
{
	struct outfile *file = outfile_open(target);
	struct stat st;

	ck_assert_ptr_nonnull(file);
	fputs("results\n", outfile_stream(file));
	ck_assert_int_eq(symlink(elsewhere, target), 0);
	ck_assert_int_eq(outfile_commit(file), 0);
	ck_assert_str_eq(read_text(elsewhere), "not yours\n");
	ck_assert_int_eq(lstat(target, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_str_eq(read_text(target), "results\n");
}
END_TEST

START_TEST(test_not_regular_refused)
{
	/* A FIFO of ours is a stream: written as it is, an error when nobody reads. */
	ck_assert_int_eq(mkfifo(target, 0600), 0);
	ck_assert_int_eq(write_file(target, "x"), -ENXIO);
	if (geteuid() == 0) {
		/* Another user's is what they planted. */
		ck_assert_int_eq(chown(target, 65534, 65534), 0);
		ck_assert_int_eq(write_file(target, "x"), -EEXIST);
	}
	ck_assert_str_eq(outfile_strerror(EEXIST), "not a regular file: refusing to replace it");
	ck_assert_int_eq(unlink(target), 0);
	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(write_file(target, "x"), -EISDIR);
	ck_assert_int_eq(rmdir(target), 0);
	/* /dev/null and /dev/stdout are streams a user points an output at. */
	ck_assert_int_eq(write_file("/dev/null", "x"), 0);
	ck_assert_int_eq(symlink("/dev/null", target), 0);
	ck_assert_int_eq(write_file(target, "x"), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(lchown(target, 65534, 65534), 0);
		ck_assert_int_eq(write_file(target, "x"), -ELOOP);
	}
	ck_assert_int_eq(unlink(target), 0);
	ck_assert_int_eq(entries(dir), 1);
}
END_TEST

START_TEST(test_discard_leaves_old)
{
	struct outfile *file;

	write_text(target, "old\n");
	file = outfile_open(target);
	ck_assert_ptr_nonnull(file);
	fputs("half a fi", outfile_stream(file));
	outfile_discard(file);
	outfile_discard(NULL);
	ck_assert_str_eq(read_text(target), "old\n");
	ck_assert_int_eq(entries(dir), 2);
}
END_TEST

START_TEST(test_missing_directory)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/no-such-dir/x.json", dir);
	ck_assert_int_eq(write_file(path, "x"), -ENOENT);
	ck_assert_int_eq(write_file("", "x"), -EISDIR);
	snprintf(path, sizeof(path), "%s/", dir);
	ck_assert_int_eq(write_file(path, "x"), -EISDIR);
}
END_TEST

START_TEST(test_mkdir)
{
	char path[320], link_path[320];
	struct stat st;
	mode_t old_umask = umask(022);

	snprintf(path, sizeof(path), "%s/pcap", dir);
	ck_assert_int_eq(outfile_mkdir(path), 0);
	umask(old_umask);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0755);
	ck_assert_int_eq(outfile_mkdir(path), 0);	/* there already */

	/* A symlink to a directory, with or without a trailing slash. */
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	ck_assert_int_eq(symlink(path, link_path), 0);
	ck_assert_int_eq(outfile_mkdir(link_path), -ELOOP);
	snprintf(link_path, sizeof(link_path), "%s/link//", dir);
	ck_assert_int_eq(outfile_mkdir(link_path), -ELOOP);
	/* Dangling: mkdir would not make its target, and nor may we. */
	snprintf(link_path, sizeof(link_path), "%s/dangling", dir);
	ck_assert_int_eq(symlink("made-by-nobody", link_path), 0);
	ck_assert_int_eq(outfile_mkdir(link_path), -ELOOP);
	snprintf(path, sizeof(path), "%s/made-by-nobody", dir);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(outfile_mkdir(elsewhere), -ENOTDIR);
}
END_TEST

static Suite *outfile_suite(void)
{
	Suite *suite = suite_create("outfile");
	TCase *tc = tcase_create("outfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_file);
	tcase_add_test(tc, test_replaced_when_complete);
	tcase_add_test(tc, test_symlink_refused);
	tcase_add_test(tc, test_symlink_planted_later_replaced);
	tcase_add_test(tc, test_not_regular_refused);
	tcase_add_test(tc, test_discard_leaves_old);
	tcase_add_test(tc, test_missing_directory);
	tcase_add_test(tc, test_mkdir);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return suite_main(outfile_suite());
}
