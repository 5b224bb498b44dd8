/* journal — change the host's sysctls (global ones, and those of namespaces ctlab did not make) with the old value recorded under /run/ctlab and restored on every exit. */
#ifndef CTLAB_JOURNAL_H
#define CTLAB_JOURNAL_H

#include <stdbool.h>
#include <stdio.h>

/*
 * The journal is the file <dir>/journal, one line per change still in
 * force: "key old-value pid". <dir> is /run/ctlab: on tmpfs, so a journal
 * lives exactly as long as the sysctl values it protects, both reset at
 * boot. Processes share it under a lock (<dir>/journal.lock) and rewrite it
 * through <dir>/journal.new. Only the settings ctlab changes are journaled:
 * the global net.netfilter.nf_conntrack_max, nf_conntrack_buckets and
 * nf_log_all_netns, and in a namespace someone else made (journal_set_in)
 * its net.netfilter.nf_conntrack_log_invalid, nf_log.2 and nf_log.10; such a
 * line goes on "netns-path dev:ino", the namespace's file and its identity,
 * and is restored only into that very namespace (dropped once it is gone).
 *
 * Root acts on what it reads there, so before use <dir> must be a directory
 * (not a symlink) owned by root (or by the caller: tests) that group and
 * others cannot write, and its three files regular files, opened without
 * following symlinks; otherwise the journal is refused with the reason on
 * stderr. Every line is checked before it is acted on (one of those keys, a
 * value the key takes, a positive pid, a namespace's path of the two forms
 * journal_set_in takes); any other line is never
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
 * ("ctlab-guardian", in a session of its own, holding none of our files
 * but the machine lock of journal_guard_lock) that restores this
 * process's entries as soon as it is gone without having restored them
 * (SIGKILL), and exits; journal_restore_all ends it.
 * Call it before starting threads. Returns 0 or -errno (EINVAL: a key
 * ctlab does not change, a value, new or current, that is not a decimal in
 * the key's range; ENOSPC: too many keys; ENOENT: no such sysctl; EACCES:
 * not root; ELOOP, ENOTDIR, EPERM: the journal's directory or files
 * refused, see above; EEXIST: a journal.new that is not a regular file of
 * ours; errors of fork and of the journal).
 */
int journal_set(const char *key, const char *value);

/*
 * journal_set_in - as journal_set, for a setting of the namespace that
 * @netns_path names ("/run/netns/NAME" or "/proc/PID/ns/net"): one of
 * net.netfilter.nf_conntrack_log_invalid (0..255) and net.netfilter.nf_log.2
 * and .10 (a logger's name, or NONE). The setting's file is opened from
 * inside that namespace and kept open, so the restore (a signal handler's
 * too) writes to that namespace whatever becomes of its path; the guardian
 * and recovery go back in by the path, only if it still names the same
 * namespace. Returns as journal_set, and -EINVAL for another key or path,
 * -ESRCH: no such namespace, -ENOTSUP: the path is not a network namespace.
 */
int journal_set_in(const char *netns_path, const char *key, const char *value);

/*
 * journal_restore_all - write back every value this process changed
 * (unless another live process changed the same key after it), remove
 * its journal entries, and end its guardian (which tries again if this
 * failed). Returns 0 or the first -errno.
 */
int journal_restore_all(void);

/*
 * journal_guard_lock - the machine lock (@machine_fd, from
 * journal_machine_lock) under which this process changes global settings:
 * the guardian keeps a copy of it, which holds the lock until the guardian
 * has restored and exits, so that no ctlab process has the machine (or
 * reads the settings under the lock shared) between this process's
 * SIGKILL and the restore. Before the first journal_set; it applies until
 * journal_restore_all. Returns 0, or -EBUSY when the guardian runs already.
 */
int journal_guard_lock(int machine_fd);

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
 * journal_recover_machine - journal_recover for a caller holding the
 * machine lock: the global settings' entries of any other process are
 * restored too, its pid showing or not (it changed them under the lock, so
 * it has let go of it: SIGKILLed and exiting, or a zombie not reaped yet;
 * its guardian, which keeps the lock while it guards, gone too).
 */
int journal_recover_machine(FILE *report);

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
