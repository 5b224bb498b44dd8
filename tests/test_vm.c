/* Unit tests of vm: the request, apt-cache's answer, the stream in a bzImage, module order, the initramfs archive, the console's verdict, spawning, the stamped results (no QEMU, no root). */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/vm.h"
#include "suite.h"

static int parse(struct vm_request *request, int *bad, char **words)
{
	int argc = 0;

	while (words[argc])
		argc++;
	return vm_request_parse(argc, words, request, bad);
}

START_TEST(request_splits_options)
{
	char *words[] = { "vm", "--kernel", "6.1", "-j", "2", "--json=out.json", "-t500", "--no-preload",
			  "--vm-timeout", "120", "syn-rst", "--junit", "x.xml", NULL };
	struct vm_request request;
	int bad = -1;

	ck_assert_int_eq(parse(&request, &bad, words), 0);
	ck_assert_str_eq(request.kernel, "6.1");
	ck_assert_str_eq(request.json, "out.json");
	ck_assert_ptr_null(request.junit);
	ck_assert(!request.preload);
	ck_assert_int_eq(request.timeout_s, 120);
	ck_assert_int_eq(request.memory_mb, VM_MEMORY_DEFAULT_MB);
	/* run's own, passed on as they came; after the first scenario, all is scenarios */
	ck_assert_uint_eq(request.n_run_args, 6);
	ck_assert_str_eq(request.run_args[0], "-j");
	ck_assert_str_eq(request.run_args[1], "2");
	ck_assert_str_eq(request.run_args[2], "-t500");
	ck_assert_str_eq(request.run_args[3], "syn-rst");
	ck_assert_str_eq(request.run_args[4], "--junit");
	ck_assert_str_eq(request.run_args[5], "x.xml");
}
END_TEST

START_TEST(request_refuses)
{
	char *no_kernel[] = { "vm", "syn-rst", NULL };
	char *unknown[] = { "vm", "--kernel", "6.12", "--frobnicate", NULL };
	char *no_value[] = { "vm", "--kernel", NULL };
	char *newline[] = { "vm", "--kernel", "6.12", "a\nb", NULL };
	char *bad_number[] = { "vm", "--kernel", "6.12", "--cpus", "0", NULL };
	char *help[] = { "vm", "--help", NULL };
	struct vm_request request;
	int bad;

	ck_assert_int_eq(parse(&request, &bad, no_kernel), -EINVAL);
	ck_assert_int_eq(bad, 0);
	ck_assert_int_eq(parse(&request, &bad, unknown), -EINVAL);
	ck_assert_int_eq(bad, 3);
	ck_assert_int_eq(parse(&request, &bad, no_value), -EINVAL);
	ck_assert_int_eq(bad, 1);
	ck_assert_int_eq(parse(&request, &bad, newline), -EINVAL);
	ck_assert_int_eq(bad, 3);
	ck_assert_int_eq(parse(&request, &bad, bad_number), -EINVAL);
	ck_assert_int_eq(parse(&request, &bad, help), 0);
	ck_assert(request.help);
}
END_TEST

START_TEST(series_and_depends)
{
	static const char answer[] =
		"linux-image-amd64\n"
		"  Depends: <linux-image-virtual>\n"
		" |Depends: linux-image-6.1.0-57-amd64\n"
		"  Depends: linux-image-6.1.0-56-amd64\n";
	char package[64];

	ck_assert_str_eq(vm_series_meta("6.1"), "linux-image-amd64");
	ck_assert_str_eq(vm_series_meta("6.12"), "linux-image-6.12-amd64");
	ck_assert_ptr_null(vm_series_meta("5.10"));
	ck_assert_int_eq(vm_parse_depends(answer, package, sizeof(package)), 0);
	ck_assert_str_eq(package, "linux-image-6.1.0-57-amd64");
	ck_assert_int_eq(vm_parse_depends("linux-image-amd64\n  Recommends: firmware\n", package,
					  sizeof(package)), -ENOENT);
	ck_assert_int_eq(vm_parse_depends(answer, package, 8), -ENAMETOOLONG);
	ck_assert_int_eq(vm_parse_depends("", package, sizeof(package)), -ENOENT);
}
END_TEST

START_TEST(stream_magic)
{
	unsigned char image[64] = { 0 };
	enum vm_compression kind;

	memcpy(image + 10, "\xfd" "7zXZ\0", 6);
	memcpy(image + 40, "\x28\xb5\x2f\xfd", 4);
	ck_assert_int_eq(vm_find_stream(image, sizeof(image), 0, &kind), 10);
	ck_assert_int_eq(kind, VM_XZ);
	ck_assert_int_eq(vm_find_stream(image, sizeof(image), 11, &kind), 40);
	ck_assert_int_eq(kind, VM_ZSTD);
	ck_assert_int_eq(vm_find_stream(image, sizeof(image), 41, &kind), -1);
	/* a magic cut by the end of the image is none */
	ck_assert_int_eq(vm_find_stream(image, 42, 11, &kind), -1);
}
END_TEST

START_TEST(module_order_deps_first)
{
	static const char modules_dep[] =
		"kernel/net/9p/9pnet.ko:\n"
		"kernel/fs/netfs/netfs.ko:\n"
		"kernel/fs/9p/9p.ko: kernel/fs/netfs/netfs.ko kernel/net/9p/9pnet.ko\n"
		"kernel/net/9p/9pnet_virtio.ko: kernel/drivers/virtio/virtio_ring.ko kernel/net/9p/9pnet.ko\n"
		"kernel/drivers/virtio/virtio_ring.ko:\n"
		"kernel/drivers/net/veth.ko:\n";
	const char *const wanted[] = { "virtio_pci", "9pnet-virtio", "9p" };
	char **paths;
	int n, i;

	n = vm_module_order(modules_dep, wanted, 3, &paths);
	ck_assert_int_eq(n, 5);		/* virtio_pci is built in */
	ck_assert_str_eq(paths[0], "kernel/drivers/virtio/virtio_ring.ko");
	ck_assert_str_eq(paths[1], "kernel/net/9p/9pnet.ko");
	ck_assert_str_eq(paths[2], "kernel/net/9p/9pnet_virtio.ko");
	ck_assert_str_eq(paths[3], "kernel/fs/netfs/netfs.ko");
	ck_assert_str_eq(paths[4], "kernel/fs/9p/9p.ko");
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
END_TEST

START_TEST(cpio_newc)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vm_cpio_add(out, "dev", S_IFDIR | 0755, NULL, 0, 0, 0), 0);
	ck_assert_int_eq(vm_cpio_add(out, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1), 0);
	ck_assert_int_eq(vm_cpio_add(out, "init", S_IFREG | 0755, "#!/bin/sh\n", 10, 0, 0), 0);
	ck_assert_int_eq(vm_cpio_end(out), 0);
	fclose(out);
	ck_assert_uint_eq(size % 4, 0);
	ck_assert_int_eq(memcmp(buf, "070701", 6), 0);
	/* the directory: mode 040755, name "dev" after the 110-byte header */
	ck_assert_int_eq(memcmp(buf + 14, "000041ED", 8), 0);
	ck_assert_str_eq(buf + 110, "dev");
	/* every name and its data are there, each entry padded to 4 bytes */
	ck_assert_ptr_nonnull(memmem(buf, size, "dev/console", 11));
	ck_assert_ptr_nonnull(memmem(buf, size, "#!/bin/sh\n", 10));
	ck_assert_ptr_nonnull(memmem(buf, size, "TRAILER!!!", 10));
	free(buf);
}
END_TEST

START_TEST(console_failure_lines)
{
	static const char oops[] =
		"[    2.1] virtio-pci 0000:00:02.0: enabling device\n"
		"[   31.4] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\r\n"
		"[   31.4] RIP: 0010:nf_hook_slow+0x1/0xc0\n";
	char line[128];

	ck_assert(vm_console_failure(oops, line, sizeof(line)));
	ck_assert_str_eq(line, "[   31.4] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI");
	ck_assert(vm_console_failure("x\nKernel panic - not syncing: Attempted to kill init!", line,
				     sizeof(line)));
	ck_assert_str_eq(line, "Kernel panic - not syncing: Attempted to kill init!");
	ck_assert(!vm_console_failure("ctlab-init: ctlab starts at 3.1 s, kernel 6.12\n", line,
				      sizeof(line)));
}
END_TEST

START_TEST(spawn_status_and_timeout)
{
	char *const yes[] = { "true", NULL };
	char *const no[] = { "false", NULL };
	char *const slow[] = { "sleep", "30", NULL };
	char *const absent[] = { "/nonexistent/ctlab-tool", NULL };

	ck_assert_int_eq(vm_spawn(yes, -1, -1, -1, 0), 0);
	ck_assert_int_eq(vm_spawn(no, -1, -1, -1, 5), 1);
	ck_assert_int_eq(vm_spawn(slow, -1, -1, -1, 1), -ETIMEDOUT);
	ck_assert_int_lt(vm_spawn(absent, -1, -1, -1, 0), 0);
}
END_TEST

START_TEST(results_stamped)
{
	struct vm_kernel kernel = { .package = "linux-image-6.1.0-57-amd64", .version = "6.1.192-3",
				    .release = "6.1.0-57-amd64" };
	struct vm_outcome outcome = { .wall_s = 50, .boot_s = 3, .guest_s = 45 };
	char path[PATH_MAX + 32], out[PATH_MAX + 32];
	json_t *results;
	FILE *file;

	snprintf(outcome.dir, sizeof(outcome.dir), "%s", "/tmp/test_vm.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(outcome.dir));
	snprintf(out, sizeof(out), "%s/out.json", outcome.dir);
	ck_assert_int_eq(vm_results_stamp(&kernel, &outcome, 1, true, out), -ENOENT);
	snprintf(path, sizeof(path), "%s/results.json", outcome.dir);
	/* The guest writes the share: a symlink it left there is not followed. */
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	ck_assert_int_eq(vm_results_stamp(&kernel, &outcome, 1, true, out), -ELOOP);
	unlink(path);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	fputs("{\"kernel\": \"6.1.0-57-amd64\", \"runs\": []}\n", file);
	fclose(file);
	ck_assert_int_eq(vm_results_stamp(&kernel, &outcome, 2, false, out), 0);
	results = json_load_file(out, 0, NULL);
	ck_assert_ptr_nonnull(results);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(results, "kernel_package"),
							   "name")), "linux-image-6.1.0-57-amd64");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(results, "kernel_package"),
							   "version")), "6.1.192-3");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(results, "vm"), "tries")), 2);
	ck_assert_ptr_nonnull(json_object_get(results, "runs"));
	json_decref(results);
	unlink(out);
	unlink(path);
	rmdir(outcome.dir);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("vm");
	TCase *tc = tcase_create("vm");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, request_splits_options);
	tcase_add_test(tc, request_refuses);
	tcase_add_test(tc, series_and_depends);
	tcase_add_test(tc, stream_magic);
	tcase_add_test(tc, module_order_deps_first);
	tcase_add_test(tc, cpio_newc);
	tcase_add_test(tc, console_failure_lines);
	tcase_add_test(tc, spawn_status_and_timeout);
	tcase_add_test(tc, results_stamped);
	suite_add_tcase(suite, tc);
	return suite_main(suite);
}
