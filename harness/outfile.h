/* outfile — output files written whole and renamed into place: nothing planted at their path is followed. */
#ifndef CTLAB_OUTFILE_H
#define CTLAB_OUTFILE_H

#include <stdio.h>

struct outfile;

/*
 * outfile_open - start writing @path. The text goes to a new file beside it
 * (".NAME.XXXXXXXX" in the same directory, created with O_EXCL, mode 0644
 * less the umask) that outfile_commit renames over @path: a reader sees the
 * old file or the whole new one, and what is at @path is never opened. An
 * existing @path must be a regular file; it is replaced (a hard link to it
 * elsewhere keeps the old text). A symlink there is refused rather than
 * followed or replaced (it may be the user's); one planted after this check
 * is replaced by the rename, never followed. A stream is written as it is: a
 * character device or FIFO owned by root or the caller, or such a symlink to
 * one (/dev/stdout, /dev/null, >(jq .)); a FIFO nobody reads is ENXIO. Only the last
 * component is checked: the directories on the way are the caller's choice.
 * Returns the file, or NULL with errno set: ELOOP @path is a symlink, EISDIR
 * a directory, EEXIST something else that is not a regular file (a FIFO, a
 * device), ENAMETOOLONG, ENOMEM, or errors of open(2).
 */
struct outfile *outfile_open(const char *path);

/* outfile_stream - the stream to write the text to; the outfile owns it. */
FILE *outfile_stream(const struct outfile *file);

/*
 * outfile_commit - close the stream and rename the new file over the path
 * given to outfile_open; free @file. Returns 0, or -errno (EIO for an
 * earlier write error of the stream) with the new file removed and the path
 * left as it was.
 */
int outfile_commit(struct outfile *file);

/* outfile_discard - close and remove the new file, the path left as it was; free
 * @file. NULL is a no-op. */
void outfile_discard(struct outfile *file);

/*
 * outfile_mkdir - make @path a directory (mode 0755 less the umask) unless
 * there is one; what is there must be a real directory, not a symlink to
 * one. Returns 0 or -errno: ELOOP a symlink, ENOTDIR something else, errors
 * of mkdir(2) and lstat(2).
 */
int outfile_mkdir(const char *path);

/*
 * outfile_strerror - what the errno @err (positive) of the functions above
 * means for a user: "a symlink: refusing to write through it" for ELOOP,
 * "not a regular file: refusing to replace it" for EEXIST, else strerror.
 */
const char *outfile_strerror(int err);

#endif /* CTLAB_OUTFILE_H */
