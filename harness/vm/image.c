/* image — an unpacked kernel made bootable: modules decompressed and indexed, the uncompressed vmlinux cut out of the bzImage for a PVH boot; the initramfs's archive format and module order. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vm/vm.h"

#define DECOMPRESS_TIMEOUT_S	600
#define MODULES_PER_XZ		200

static const struct {
	unsigned char magic[6];
	size_t len;
	enum vm_compression kind;
} stream_magics[] = {
	{ { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6, VM_XZ },
	{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, VM_ZSTD },
};

long vm_find_stream(const unsigned char *data, size_t len, size_t from, enum vm_compression *kind)
{
	size_t off, i;

	for (off = from; off < len; off++) {
		for (i = 0; i < sizeof(stream_magics) / sizeof(stream_magics[0]); i++) {
			if (len - off < stream_magics[i].len ||
			    memcmp(data + off, stream_magics[i].magic, stream_magics[i].len) != 0)
				continue;
			*kind = stream_magics[i].kind;
			return (long)off;
		}
	}
	return -1;
}

/* ---- Module order ---- */

/* The module name of a path in modules.dep: "kernel/fs/9p/9p.ko" -> "9p",
 * '-' as '_'. */
static void module_name(const char *path, size_t len, char *name, size_t size)
{
	const char *base = path, *p;
	size_t n, i;

	for (p = path; p < path + len; p++)
		if (*p == '/')
			base = p + 1;
	n = (size_t)(path + len - base);
	for (i = 0; i + 1 < size && i < n && base[i] != '.'; i++)
		name[i] = base[i] == '-' ? '_' : base[i];
	name[i] = '\0';
}

static bool same_module(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return false;
	return *a == *b;
}

/* The line of modules.dep for @name: the path's start and length, its
 * dependencies after the colon. */
static const char *dep_line(const char *modules_dep, const char *name, size_t *path_len)
{
	const char *line, *colon, *end;
	char found[256];

	for (line = modules_dep; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		colon = strchr(line, ':');
		if (!colon || (end && colon > end))
			continue;
		module_name(line, (size_t)(colon - line), found, sizeof(found));
		if (same_module(found, name)) {
			*path_len = (size_t)(colon - line);
			return line;
		}
	}
	return NULL;
}

struct order {
	char **paths;
	size_t n, cap;
};

static int order_add(struct order *order, const char *path, size_t len)
{
	size_t i;
	char **grown;

	for (i = 0; i < order->n; i++)
		if (strlen(order->paths[i]) == len && strncmp(order->paths[i], path, len) == 0)
			return 0;
	if (order->n == order->cap) {
		order->cap = order->cap ? order->cap * 2 : 16;
		grown = realloc(order->paths, order->cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		order->paths = grown;
	}
	order->paths[order->n] = strndup(path, len);
	if (!order->paths[order->n])
		return -ENOMEM;
	order->n++;
	return 0;
}

/* Depth first: a module's dependencies, then itself. */
static int order_module(const char *modules_dep, const char *name, struct order *order, int depth)
{
	const char *line, *dep, *end;
	size_t path_len;
	char dep_name[256];
	int rc;

	if (depth > 64)
		return -ELOOP;
	line = dep_line(modules_dep, name, &path_len);
	if (!line)
		return 0;	/* built in */
	end = strchr(line, '\n');
	if (!end)
		end = line + strlen(line);
	for (dep = line + path_len + 1; dep < end;) {
		size_t len;

		while (dep < end && (*dep == ' ' || *dep == '\t'))
			dep++;
		len = strcspn(dep, " \t\n");
		if (dep + len > end)
			len = (size_t)(end - dep);
		if (len == 0)
			break;
		module_name(dep, len, dep_name, sizeof(dep_name));
		rc = order_module(modules_dep, dep_name, order, depth + 1);
		if (rc < 0)
			return rc;
		dep += len;
	}
	return order_add(order, line, path_len);
}

int vm_module_order(const char *modules_dep, const char *const *wanted, size_t n_wanted,
		    char ***paths)
{
	struct order order = { 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < n_wanted && rc == 0; i++)
		rc = order_module(modules_dep, wanted[i], &order, 0);
	if (rc < 0) {
		for (i = 0; i < order.n; i++)
			free(order.paths[i]);
		free(order.paths);
		*paths = NULL;
		return rc;
	}
	*paths = order.paths;
	return (int)order.n;
}

/* ---- The initramfs archive: cpio "newc" ---- */

static int pad4(FILE *out, size_t len)
{
	static const char zeros[4];
	size_t pad = (4 - len % 4) % 4;

	return pad && fwrite(zeros, 1, pad, out) != pad ? -EIO : 0;
}

int vm_cpio_add(FILE *out, const char *name, unsigned mode, const void *data, size_t len,
		unsigned major, unsigned minor)
{
	static unsigned inode = 1;
	size_t name_len = strlen(name) + 1;

	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	 * devminor, rdevmajor, rdevminor, namesize, check */
	if (fprintf(out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		    inode++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, (unsigned)len, 0u, 0u,
		    major, minor, (unsigned)name_len, 0u) < 0 ||
	    fwrite(name, 1, name_len, out) != name_len || pad4(out, 110 + name_len) < 0)
		return -EIO;
	if (len && (fwrite(data, 1, len, out) != len || pad4(out, len) < 0))
		return -EIO;
	return 0;
}

int vm_cpio_end(FILE *out)
{
	return vm_cpio_add(out, "TRAILER!!!", 0, NULL, 0, 0, 0);
}

/* ---- Prepare ---- */

/* nftw has no user argument: the walk collects the .ko.xz files here. */
static struct {
	char **paths;
	size_t n, cap;
	int err;
} compressed;

static int collect_compressed(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len = strlen(path);
	char **grown;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < 6 || strcmp(path + len - 6, ".ko.xz") != 0)
		return 0;
	if (compressed.n == compressed.cap) {
		compressed.cap = compressed.cap ? compressed.cap * 2 : 1024;
		grown = realloc(compressed.paths, compressed.cap * sizeof(*grown));
		if (!grown) {
			compressed.err = -ENOMEM;
			return 1;
		}
		compressed.paths = grown;
	}
	compressed.paths[compressed.n] = strdup(path);
	if (!compressed.paths[compressed.n]) {
		compressed.err = -ENOMEM;
		return 1;
	}
	compressed.n++;
	return 0;
}

/* Every .ko.xz becomes a .ko (busybox's modprobe and insmod read only
 * those), in batches, as many at once as there are CPUs. */
static int decompress_modules(const char *modules, int log_fd)
{
	char ***argvs = NULL;
	size_t n_batches, b, i;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	memset(&compressed, 0, sizeof(compressed));
	if (nftw(modules, collect_compressed, 16, FTW_PHYS) < 0)
		return -errno;
	rc = compressed.err;
	if (rc < 0 || compressed.n == 0)
		goto out_free_paths;
	n_batches = (compressed.n + MODULES_PER_XZ - 1) / MODULES_PER_XZ;
	argvs = calloc(n_batches, sizeof(*argvs));
	if (!argvs) {
		rc = -ENOMEM;
		goto out_free_paths;
	}
	for (b = 0; b < n_batches; b++) {
		size_t first = b * MODULES_PER_XZ, count = compressed.n - first;

		if (count > MODULES_PER_XZ)
			count = MODULES_PER_XZ;
		argvs[b] = calloc(count + 5, sizeof(char *));
		if (!argvs[b]) {
			rc = -ENOMEM;
			goto out_free_argvs;
		}
		argvs[b][0] = "xz";
		argvs[b][1] = "-d";
		argvs[b][2] = "-f";
		argvs[b][3] = "--";
		for (i = 0; i < count; i++)
			argvs[b][4 + i] = compressed.paths[first + i];
	}
	rc = vm_spawn_all(argvs, n_batches, cpus > 0 ? (size_t)cpus : 1, log_fd);
	if (rc > 0)
		rc = -EIO;
out_free_argvs:
	for (b = 0; argvs && b < n_batches; b++)
		free(argvs[b]);
	free(argvs);
out_free_paths:
	for (i = 0; i < compressed.n; i++)
		free(compressed.paths[i]);
	free(compressed.paths);
	memset(&compressed, 0, sizeof(compressed));
	return rc;
}

/* Decompresses the stream at @offset of @image into @out: 1 when it gave an
 * ELF, 0 when it was no stream after all, -errno. */
static int try_stream(const char *image, long offset, enum vm_compression kind, const char *out,
		      int log_fd)
{
	char *const xz[] = { "xz", "-dc", "--single-stream", NULL };
	char *const zstd[] = { "zstd", "-dcq", NULL };
	unsigned char head[4] = { 0 };
	struct stat st;
	int in_fd, out_fd, rc;

	in_fd = open(image, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		return -errno;
	if (lseek(in_fd, offset, SEEK_SET) < 0) {
		rc = -errno;
		goto out_close_in;
	}
	out_fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out_fd < 0) {
		rc = -errno;
		goto out_close_in;
	}
	/* What follows the stream in a bzImage is not compressed: zstd says so
	 * and exits 1 after writing the whole frame, so only the result tells. */
	rc = vm_spawn(kind == VM_XZ ? xz : zstd, in_fd, out_fd, log_fd, DECOMPRESS_TIMEOUT_S);
	if (rc < 0 && rc != -ETIMEDOUT)
		goto out_close_out;
	rc = pread(out_fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	     memcmp(head, "\177ELF", 4) == 0 && fstat(out_fd, &st) == 0 && st.st_size > (1 << 20);
out_close_out:
	close(out_fd);
out_close_in:
	close(in_fd);
	return rc;
}

static int extract_vmlinux(const char *image, const char *vmlinux, int log_fd)
{
	char tmp[PATH_MAX];
	enum vm_compression kind;
	struct stat st;
	unsigned char *data;
	long offset;
	int fd, rc = -ENOEXEC;

	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return -ENOEXEC;
	}
	data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.part", vmlinux);
	for (offset = vm_find_stream(data, (size_t)st.st_size, 0, &kind); offset >= 0;
	     offset = vm_find_stream(data, (size_t)st.st_size, (size_t)offset + 1, &kind)) {
		rc = try_stream(image, offset, kind, tmp, log_fd);
		if (rc != 0)
			break;
		rc = -ENOEXEC;
	}
	munmap(data, (size_t)st.st_size);
	if (rc == 1) {
		dprintf(log_fd, "ctlab vm: %s: %s stream at offset %ld is the vmlinux\n", image,
			kind == VM_XZ ? "xz" : "zstd", offset);
		rc = rename(tmp, vmlinux) < 0 ? -errno : 0;
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int vm_kernel_prepare(struct vm_kernel *kernel)
{
	struct timespec t0, t1;
	char stamp[PATH_MAX], path[PATH_MAX], root[PATH_MAX];
	struct stat st;
	int log_fd, lock_fd, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(stamp, sizeof(stamp), "%s/prepared", kernel->dir);
	log_fd = open(kernel->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/.lock", kernel->dir);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0) {
		rc = -errno;
		goto out_close_log;
	}
	while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR)
		;
	rc = 0;
	if (stat(stamp, &st) == 0 && stat(kernel->vmlinux, &st) == 0)
		goto out_time;
	rc = decompress_modules(kernel->modules, log_fd);
	if (rc < 0)
		goto out_close_lock;
	snprintf(root, sizeof(root), "%s/root", kernel->dir);
	{
		char *const argv[] = { "busybox", "depmod", "-b", root, kernel->release, NULL };

		rc = vm_spawn(argv, -1, log_fd, log_fd, DECOMPRESS_TIMEOUT_S);
		if (rc != 0) {
			rc = rc < 0 ? rc : -EIO;
			goto out_close_lock;
		}
	}
	snprintf(path, sizeof(path), "%s/boot/vmlinuz-%s", root, kernel->release);
	rc = extract_vmlinux(path, kernel->vmlinux, log_fd);
	if (rc < 0)
		goto out_close_lock;
	rc = vm_write_text(stamp, "");
out_time:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kernel->prepare_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
out_close_lock:
	close(lock_fd);
out_close_log:
	close(log_fd);
	return rc;
}
