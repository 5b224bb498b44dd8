/* vm — ctlab under another kernel: Debian's kernel packages fetched and prepared, a QEMU guest booted on them running the host's own ctlab, its results brought back.
 *
 * It faces the system (processes, files): functions return 0 or -1 with errno,
 * or a negative errno, as each says.  The pure parts (the request, apt-cache's
 * answer, the compressed stream in a bzImage, module order, the initramfs
 * archive, the console's verdict) are exposed for the unit tests.
 */
#ifndef CTLAB_VM_H
#define CTLAB_VM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Where kernels are unpacked unless --cache or $CTLAB_KERNEL_CACHE says otherwise. */
#define VM_CACHE_DEFAULT	"/var/cache/ctlab/kernels"
/* What the guest gets unless the request says otherwise. */
#define VM_TIMEOUT_DEFAULT_S	3600
#define VM_MEMORY_DEFAULT_MB	1536
#define VM_CPUS_DEFAULT		2
/* The tools the host needs, and the Debian packages that have them. */
#define VM_TOOLS_PACKAGES	"qemu-system-x86 busybox-static xz-utils zstd"

/* ---- The request: ctlab vm's command line (request.c) ---- */

#define VM_GUEST_ARGS_MAX	256

struct vm_request {
	const char *kernel;		/* --kernel: 6.1, 6.12, a .deb or an unpacked tree */
	const char *cache;		/* --cache DIR, or NULL */
	const char *ctlab;		/* --ctlab BIN, or NULL: this very binary */
	int timeout_s;			/* --vm-timeout */
	int memory_mb;			/* --memory */
	int cpus;			/* --cpus */
	bool preload;			/* false with --no-preload */
	bool help;
	/* Outputs the guest writes into the share, then brought to these paths. */
	const char *json, *junit, *pcap;
	/* Everything else, in order: ctlab run's options and the scenarios. */
	const char *run_args[VM_GUEST_ARGS_MAX];
	size_t n_run_args;
};

/*
 * vm_request_parse - split `ctlab vm ARGS` (@argv[0] is "vm") into the vm's
 * own options, the outputs to bring back and what goes to the guest's
 * `ctlab run` unchanged.  Options end at the first word that is not one, as
 * for run.  Returns 0, or -EINVAL with *@bad the index of the offending word
 * (a missing value, an unknown option, a bad number, a newline in a word,
 * no --kernel), or -E2BIG for too many words.
 */
int vm_request_parse(int argc, char **argv, struct vm_request *request, int *bad);

/* ---- Pure helpers the rest builds on (kernel.c, image.c, boot.c) ---- */

/* The meta-package that depends on a series' current kernel ("6.1" ->
 * "linux-image-amd64"), or NULL for a series ctlab does not know. */
const char *vm_series_meta(const char *series);

/*
 * vm_parse_depends - the first "Depends: linux-image-…" package in the text
 * `apt-cache depends META` printed, into @package.  Returns 0, or -ENOENT
 * when there is none, -ENAMETOOLONG when it does not fit.
 */
int vm_parse_depends(const char *text, char *package, size_t size);

enum vm_compression { VM_XZ, VM_ZSTD };

/*
 * vm_find_stream - the offset of the first xz or zstd stream magic at or
 * after @from in @data (a bzImage), its kind in *@kind; -1 when there is
 * none.  A magic is only a candidate: the caller decompresses to find out.
 */
long vm_find_stream(const unsigned char *data, size_t len, size_t from, enum vm_compression *kind);

/*
 * vm_module_order - the files (paths relative to the modules directory, as
 * in modules.dep) to insmod, in order, for @n_wanted modules named by
 * their names ("9pnet_virtio"; '-' and '_' alike), each after its own
 * dependencies, none twice.  A module not in @modules_dep is built in and
 * left out.  Returns how many paths are in *@paths (the caller frees each
 * and the array), or -ENOMEM, -ELOOP (a circle).
 */
int vm_module_order(const char *modules_dep, const char *const *wanted, size_t n_wanted,
		    char ***paths);

/*
 * vm_cpio_add - append one entry of a newc ("070701") cpio archive, the
 * initramfs format, to @out: @name with @mode (S_IFDIR, S_IFREG with @data
 * of @len bytes, S_IFCHR with device @major:@minor).  vm_cpio_end writes
 * the trailer.  Return 0 or -EIO.
 */
int vm_cpio_add(FILE *out, const char *name, unsigned mode, const void *data, size_t len,
		unsigned major, unsigned minor);
int vm_cpio_end(FILE *out);

/*
 * vm_console_failure - the first line of a guest's console that says the
 * kernel died or broke (an Oops, a BUG, a panic), into @line; true when
 * there is one.
 */
bool vm_console_failure(const char *console, char *line, size_t size);

/* ---- A kernel: fetched and prepared (kernel.c, image.c) ---- */

struct vm_kernel {
	char package[128];		/* linux-image-6.1.0-57-amd64, or the tree's path */
	char version[128];		/* 6.1.192-1, or the tree's release */
	char release[128];		/* 6.1.0-57-amd64: the folder in lib/modules */
	char dir[PATH_MAX];		/* its folder in the cache */
	char modules[PATH_MAX];		/* dir/root/lib/modules: shared with the guest */
	char vmlinux[PATH_MAX];		/* the uncompressed kernel, booted through PVH */
	char log[PATH_MAX];		/* what apt-get, dpkg and xz said */
	bool cached;			/* already unpacked: nothing was downloaded */
	double fetch_s, prepare_s;
};

/*
 * vm_tools_missing - the first tool the vm needs that is not in PATH
 * (qemu-system-x86_64, busybox, xz, zstd, apt-get, dpkg-deb), or NULL.
 */
const char *vm_tools_missing(void);

/*
 * vm_kernel_fetch - resolve @spec to a kernel package and have it unpacked
 * in @cache (never installed): a series ("6.1", "6.12") through its
 * meta-package every time (apt-get update once when the lists do not know
 * it), then apt-get download and dpkg -x unless that package is already
 * unpacked; a .deb as it is; an unpacked tree (boot/vmlinuz-*,
 * lib/modules/RELEASE) copied.  Returns 0, or -ENOENT (unknown series or
 * package), -ENETUNREACH (the download failed), -ENOEXEC (not a kernel
 * package or tree), -errno; what the tools said is in @kernel->log.
 */
int vm_kernel_fetch(const char *spec, const char *cache, struct vm_kernel *kernel);

/*
 * vm_kernel_prepare - make the unpacked kernel bootable: .ko.xz modules
 * decompressed, busybox depmod, the vmlinux cut out of the bzImage.  Done
 * once per package (a stamp file says so).  Returns 0, or -ENOEXEC (no
 * stream in the bzImage gives an ELF), -errno.
 */
int vm_kernel_prepare(struct vm_kernel *kernel);

/* ---- A guest: booted, its results collected (boot.c, collect.c) ---- */

struct vm_guest {
	const char *ctlab;		/* the binary the guest runs (a host path) */
	const char *cwd;		/* the guest's working directory (a host path) */
	const char *const *args;	/* after the binary: "run", "--json", … */
	size_t n_args;
	int timeout_s, memory_mb, cpus;
	bool preload;			/* the init loads netfilter's modules first */
	long ct_max, ct_buckets;	/* the host's; 0: the guest's own default */
	FILE *live_stdout;		/* the guest's stdout as it comes, or NULL */
};

struct vm_outcome {
	char dir[PATH_MAX];		/* the writable share: results, console, dmesg */
	bool finished;			/* the guest wrote its status */
	int status;			/* the guest's ctlab exit status */
	bool timed_out;
	char failure[1024];		/* why the guest died, from its console */
	double wall_s;			/* QEMU, start to exit */
	double boot_s, guest_s;		/* guest uptime when ctlab started; ctlab's run */
	int lock_fd;			/* holds the share's owner.lock: it is in use */
};

/*
 * vm_boot - build the initramfs, boot @kernel in QEMU (TCG, one thread, no
 * network, the host's / read-only over 9p, the modules and a writable share
 * in @outcome->dir, which the caller made) and wait for it to power off,
 * at most @guest->timeout_s.  @outcome says whether the guest finished and
 * with what status, or why it died.  Returns 0 (whatever the guest did),
 * or -errno when QEMU could not be run.
 */
int vm_boot(const struct vm_kernel *kernel, const struct vm_guest *guest,
	    struct vm_outcome *outcome);

/*
 * vm_results_stamp - add the kernel package (name, version) and the VM's
 * figures to the results.json the guest wrote in @outcome->dir, and write
 * it to @json (through an outfile; NULL: back in place).  Returns 0, or
 * -ENOENT (the guest wrote none), -EINVAL (not JSON), -errno of the output.
 */
int vm_results_stamp(const struct vm_kernel *kernel, const struct vm_outcome *outcome,
		     int tries, bool preload, const char *json);

/* vm_relay - what the guest wrote to @dir/@name from byte @from on, copied
 * to @to; returns where it ended (the next @from). */
long vm_relay(const char *dir, const char *name, long from, FILE *to);

/* vm_share_new - a fresh folder for the guest's results (/var/tmp/ctlab-vm.*),
 * in @outcome->dir, locked while this process lives; first it removes the
 * shares of this user's killed ctlab vm runs (their lock is free).
 * vm_share_remove removes it (call it once).  0 or -errno. */
int vm_share_new(struct vm_outcome *outcome);
int vm_share_remove(const struct vm_outcome *outcome);
/* vm_share_keep - leave the share for the user to read (a dead guest's
 * console): no sweep removes it. */
void vm_share_keep(struct vm_outcome *outcome);

/* vm_bring_back - the JUnit file and the pcapng files the guest wrote, to
 * @junit and into @pcap (either NULL: not asked for).  0 or -errno. */
int vm_bring_back(const struct vm_outcome *outcome, const char *junit, const char *pcap);

/* vm_spawn - run @argv (argv[0] looked up in PATH) with stdin from @in_fd,
 * stdout and stderr to @out_fd and @err_fd (-1: /dev/null), at most
 * @timeout_s seconds (0: unbounded; then SIGTERM, 5 s later SIGKILL).
 * Returns its exit status, 128 + the signal that ended it, or -errno
 * (-ETIMEDOUT when it was stopped). */
int vm_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, int timeout_s);

/*
 * vm_stop_on_signals - from now on SIGINT, SIGTERM and SIGHUP ask the vm to
 * stop: the tool or guest running is stopped (SIGTERM, then SIGKILL), and
 * the call running it returns -EINTR; vm_stopped() then names the signal
 * (else 0).  Every tool dies with ctlab vm, SIGKILL included (PDEATHSIG).
 */
void vm_stop_on_signals(void);
int vm_stopped(void);

#endif
