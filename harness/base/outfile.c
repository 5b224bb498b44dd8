/* outfile — output files written whole and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/base.h"

#define NEW_NAME_TRIES	64

struct outfile {
	FILE *stream;
	bool direct;			/* a stream (/dev/stdout, a pipe): written as it is */
	int dir_fd;			/* both names are in it: resolved once */
	char name[NAME_MAX + 1];	/* the file to replace */
	char new_name[NAME_MAX + 1];	/* the file written, until renamed */
};

/* A name nobody can guess in advance, so nobody can take it first (O_EXCL would refuse it). */
static int create_new(struct outfile *file)
{
	uint32_t bits;
	int fd, i;

	for (i = 0; i < NEW_NAME_TRIES; i++) {
		if (getrandom(&bits, sizeof(bits), 0) != sizeof(bits))
			bits = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16 ^ (uint32_t)i;
		snprintf(file->new_name, sizeof(file->new_name), ".%s.%08x", file->name, bits);
		fd = openat(file->dir_fd, file->new_name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EAGAIN;
	return -1;
}

/* Owned by root or by us: not planted by another user. */
static bool trusted(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/*
 * A character device or FIFO of root's or ours (/dev/null, a pipe given as
 * >(jq .)), or a symlink of root's or ours to one (/dev/stdout): what a user
 * points an output at to stream it, never what another user planted.
 */
static bool is_stream(const struct outfile *file, const struct stat *at)
{
	struct stat st;

	if (!trusted(at))
		return false;
	if (S_ISCHR(at->st_mode) || S_ISFIFO(at->st_mode))
		return true;
	return S_ISLNK(at->st_mode) && fstatat(file->dir_fd, file->name, &st, 0) == 0 &&
	       trusted(&st) && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
}

struct outfile *outfile_open(const char *path)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	char dir[PATH_MAX];
	struct outfile *file;
	struct stat st;
	int fd, err;

	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		errno = EISDIR;
		return NULL;
	}
	/* Room for the new file's dot and suffix; the directory's path as it was given. */
	if (strlen(name) > NAME_MAX - 10 || (size_t)(name - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (!slash)
		strcpy(dir, ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	file = calloc(1, sizeof(*file));
	if (!file)
		return NULL;
	strcpy(file->name, name);
	file->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (file->dir_fd < 0) {
		err = errno;
		goto out_free;
	}
	if (fstatat(file->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && is_stream(file, &st)) {
		/* No name to rename onto: written as it is, opened without blocking
		 * (a FIFO nobody reads is an error, not a hang). */
		fd = openat(file->dir_fd, name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fcntl(fd, F_SETFL, 0) < 0 || !(file->stream = fdopen(fd, "w"))) {
			err = errno;
			if (fd >= 0)
				close(fd);
			goto out_close_dir;
		}
		file->direct = true;
		return file;
	}
	if (fstatat(file->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		err = S_ISLNK(st.st_mode) ? ELOOP : S_ISDIR(st.st_mode) ? EISDIR :
		      !S_ISREG(st.st_mode) ? EEXIST : 0;
		if (err)
			goto out_close_dir;
	} else if (errno != ENOENT) {
		err = errno;
		goto out_close_dir;
	}
	fd = create_new(file);
	if (fd < 0) {
		err = errno;
		goto out_close_dir;
	}
	file->stream = fdopen(fd, "w");
	if (!file->stream) {
		err = errno;
		close(fd);
		goto out_remove_new;
	}
	return file;

out_remove_new:
	unlinkat(file->dir_fd, file->new_name, 0);
out_close_dir:
	close(file->dir_fd);
out_free:
	free(file);
	errno = err;
	return NULL;
}

FILE *outfile_stream(const struct outfile *file)
{
	return file->stream;
}

int outfile_commit(struct outfile *file)
{
	int err = ferror(file->stream) ? EIO : 0;

	if (fclose(file->stream) != 0 && !err)
		err = errno;
	if (file->direct)
		goto out_free;
	/* rename replaces whatever is at the name now, a symlink included, and follows nothing. */
	if (!err && renameat(file->dir_fd, file->new_name, file->dir_fd, file->name) < 0)
		err = errno;
	if (err)
		unlinkat(file->dir_fd, file->new_name, 0);
out_free:
	close(file->dir_fd);
	free(file);
	return -err;
}

void outfile_discard(struct outfile *file)
{
	if (!file)
		return;
	fclose(file->stream);
	if (!file->direct)
		unlinkat(file->dir_fd, file->new_name, 0);
	close(file->dir_fd);
	free(file);
}

int outfile_mkdir(const char *path)
{
	char name[PATH_MAX];
	struct stat st;
	size_t len;

	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* "dir/" would make lstat look through a symlink "dir". */
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, path, len);
	name[len] = '\0';
	if (lstat(name, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

const char *outfile_strerror(int err)
{
	switch (err) {
	case ELOOP:
		return "a symlink: refusing to write through it";
	case EEXIST:
		return "not a regular file: refusing to replace it";
	}
	return strerror(err);
}
