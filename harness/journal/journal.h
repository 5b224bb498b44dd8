/* journal — change global sysctls with the old value recorded under /run/ctlab and restored on every exit. */
#ifndef CTLAB_JOURNAL_H
#define CTLAB_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>

/*
 * The journal is the file <dir>/journal, one line per change still in
 * force: "key old-value pid". <dir> is /run/ctlab: on tmpfs, so a journal
 * lives exactly as long as the sysctl values it protects, both reset at
 * boot. Processes share it under a lock (<dir>/journal.lock) and rewrite it
 * through <dir>/journal.new. Only the global settings ctlab changes are
 * journaled: net.netfilter.nf_conntrack_max and nf_log_all_netns.
 *
 * Root acts on what it reads there, so before use <dir> must be a directory
 * (not a symlink) owned by root (or by the caller: tests) that group and
 * others cannot write, and its three files regular files, opened without
 * following symlinks; otherwise the journal is refused with the reason on
 * stderr. Every line is checked before it is acted on (one of those keys, a
 * decimal value in its range, a positive pid); any other line is never
 * acted on, and is dropped the next time the journal is rewritten.
 */

/*
 * journal_set_dir - keep the journal in @dir instead of $CTLAB_RUN_DIR or
 * /run/ctlab (tests). journal_set_sysctl_root - find sysctl files under
 * @root instead of $CTLAB_SYSCTL_ROOT or /proc/sys (tests: a directory
 * of plain files). Both apply to later calls; entries already recorded
 * by this process stay where they were. Return 0 or -ENAMETOOLONG.
 */
int journal_set_dir(const char *dir);
int journal_set_sysctl_root(const char *root);

/*
 * journal_set - write @value (a decimal number) to the global sysctl @key
 * (dotted, "net.netfilter.nf_conntrack_max", one of the keys above), having
 * first recorded and fsync'ed "key old-value pid" in the journal (its
 * directory made 0700 if missing). A key this process already changed
 * keeps its first old value; a key another live process changed records
 * that process's old value, and whichever of them restores last writes it
 * back. The first call installs what restores on exit: atexit, and
 * handlers of every signal that would end the process (SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGALRM, SIGSEGV, SIGABRT, ...; those
 * still at their default action) that restore, then die of the signal as
 * they would have. Before the first change it also forks a guardian
 * ("ctlab-guardian", in a session of its own, holding none of our files)
 * that restores this process's entries as soon as it is gone without
 * having restored them (SIGKILL), and exits; journal_restore_all ends it.
 * Call it before starting threads. Returns 0 or -errno (EINVAL: a key
 * ctlab does not change, a value, new or current, that is not a decimal in
 * the key's range; ENOSPC: too many keys; ENOENT: no such sysctl; EACCES:
 * not root; ELOOP, ENOTDIR, EPERM: the journal's directory or files
 * refused, see above; EEXIST: a journal.new that is not a regular file of
 * ours; errors of fork and of the journal).
 */
int journal_set(const char *key, const char *value);

/*
 * journal_restore_all - write back every value this process changed
 * (unless another live process changed the same key after it), remove
 * its journal entries, and end its guardian (which tries again if this
 * failed). Returns 0 or the first -errno.
 */
int journal_restore_all(void);

/*
 * journal_recover - for `ctlab clean` and ctlab's start: restore the
 * entries left by processes that are gone (killed, crashed), saying on
 * @report (may be NULL) what was restored, and which lines were ignored
 * ("ignoring journal line 3: not a setting ctlab changes (dropped)").
 * Entries of live processes stay. Returns 0 (also when there is no
 * journal) or the first -errno (those of journal_set for a refused
 * journal); an entry that could not be restored stays in the journal.
 */
int journal_recover(FILE *report);

/*
 * journal_machine_lock - take the lock every ctlab process on the machine
 * shares, <dir>/machine.lock beside the journal (the directory made and
 * checked as the journal's): @exclusive for what needs the machine to itself
 * (a flood, a fill, the kernel log, a changed global setting), shared for the
 * rest.  Waits for it, if @wait.  Each call is a holder of its own, threads
 * included.  Returns the fd whose close() releases it, or -errno
 * (EWOULDBLOCK: held by others and not @wait).
 */
int journal_machine_lock(bool exclusive, bool wait);

#endif /* CTLAB_JOURNAL_H */
