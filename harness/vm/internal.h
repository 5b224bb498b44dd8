/* What the vm's files share and nobody else sees: running tools, small files. */
#ifndef CTLAB_VM_INTERNAL_H
#define CTLAB_VM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* Runs @argv (stdin /dev/null, stderr to @err_fd or /dev/null) and keeps
 * what it printed on stdout in @buf (cut to @size - 1 bytes, terminated).
 * Returns its exit status or -errno. (spawn.c) */
int vm_spawn_capture(char *const argv[], int err_fd, char *buf, size_t size);

/* vm_spawn in @cwd (NULL: ours). (spawn.c) */
int vm_spawn_at(char *const argv[], const char *cwd, int in_fd, int out_fd, int err_fd,
		int timeout_s);

/* vm_spawn, calling @tick(@arg) at least every 200 ms while it runs. (spawn.c) */
int vm_spawn_watch(char *const argv[], int in_fd, int out_fd, int err_fd, int timeout_s,
		   void (*tick)(void *arg), void *arg);

/* Runs the @n commands @argvs, @parallel at a time, stderr to @err_fd.
 * Returns 0, the first non-zero exit status, or -errno. (spawn.c) */
int vm_spawn_all(char **const argvs[], size_t n, size_t parallel, int err_fd);

/* true when @name is an executable in $PATH. (spawn.c) */
bool vm_have_tool(const char *name);

/* A whole small file into @buf (terminated, trailing newline dropped):
 * its length or -errno.  Neither it nor vm_write_text goes through a
 * symlink (ELOOP): the guest's share is written by the guest. (kernel.c) */
int vm_read_text(const char *path, char *buf, size_t size);
/* @text as the whole of @path (created 0644 or truncated): 0 or -errno. (kernel.c) */
int vm_write_text(const char *path, const char *text);
/* mkdir -p: 0 or -errno. (kernel.c) */
int vm_mkdirs(const char *path, unsigned mode);
/* rm -rf through the tool, for trees of thousands of files: 0 or -errno. (kernel.c) */
int vm_remove_tree(const char *path);

#endif
