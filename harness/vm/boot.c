/* boot — a guest on the prepared kernel: its initramfs (static busybox, ctlab's init, the virtio and 9p modules), QEMU under software emulation with no network, and what the guest left in the share. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vm/vm.h"

/* The modules that mount the shares; the rest of the tree is reached over 9p. */
static const char *const boot_modules[] = { "virtio_pci", "9pnet_virtio", "9p" };

/*
 * The guest's /init (busybox sh), twice: first as PID 1 of the initramfs
 * (modules, the 9p shares, module autoloading, switch_root into the host's
 * root), then as "stage2" inside it (the run, its status, power off).
 *
 * After switch_root the host's root has neither the guest kernel's modules
 * nor a modprobe that knows them, so the kernel's module helper is a script
 * that runs busybox's modprobe chrooted into /run/vm, where the modules
 * share is.  Busybox's modprobe ignores softdeps, so the preload names
 * crc32c_generic itself (libcrc32c's softdep, which kmod would follow).
 */
static const char guest_init[] =
	"#!/bin/busybox sh\n"
	"# ctlab's guest init: see harness/vm/boot.c\n"
	"PRELOAD_MODULES='crc32c_generic nf_conntrack nf_conntrack_netlink nf_tables nft_ct nft_log\n"
	"  nfnetlink_log nf_log_syslog nf_reject_ipv4 nf_reject_ipv6 nft_reject_inet nf_nat\n"
	"  nft_chain_nat nft_nat nft_masq veth'\n"
	"say() { echo \"ctlab-init: $*\" > /dev/console; }\n"
	"if [ \"$1\" != stage2 ]; then\n"
	"  B=/bin/busybox\n"
	"  $B mkdir -p /proc /sys /dev /newroot /lib/modules\n"
	"  $B mount -t proc proc /proc\n"
	"  $B mount -t sysfs sysfs /sys\n"
	"  $B mount -t devtmpfs devtmpfs /dev\n"
	"  for m in $($B cat /etc/boot-modules); do\n"
	"    $B insmod \"/boot-modules/$m\" || say \"insmod $m failed\"\n"
	"  done\n"
	"  O=trans=virtio,version=9p2000.L,msize=512000\n"
	"  $B mount -t 9p -o $O,cache=loose,ro root /newroot || { say 'cannot mount the root share'; $B poweroff -f; }\n"
	"  $B mount -t 9p -o $O,cache=loose,ro mods /lib/modules || say 'cannot mount the modules share'\n"
	"  PRELOAD=1 CTMAX= BUCKETS=\n"
	"  for w in $($B cat /proc/cmdline); do\n"
	"    case $w in\n"
	"    ctlab.preload=*) PRELOAD=${w#*=} ;;\n"
	"    ctlab.ctmax=*) CTMAX=${w#*=} ;;\n"
	"    ctlab.buckets=*) BUCKETS=${w#*=} ;;\n"
	"    esac\n"
	"  done\n"
	"  if [ \"$PRELOAD\" = 1 ]; then\n"
	"    for m in $PRELOAD_MODULES; do $B modprobe \"$m\" || say \"modprobe $m failed\"; done\n"
	"  else\n"
	"    say 'netfilter modules not preloaded (ctlab.preload=0)'\n"
	"  fi\n"
	"  for d in run tmp var/tmp var/log root; do\n"
	"    $B mount -t tmpfs -o mode=0755 tmpfs \"/newroot/$d\" || say \"no tmpfs on /$d\"\n"
	"  done\n"
	"  $B chmod 1777 /newroot/tmp /newroot/var/tmp\n"
	"  $B mkdir -p /newroot/run/vm/lib/modules /newroot/run/vm/proc /newroot/run/out /newroot/run/netns\n"
	"  $B cp /bin/busybox /init /newroot/run/vm/\n"
	"  $B mount -t 9p -o $O,rw out /newroot/run/out || { say 'cannot mount the results share'; $B poweroff -f; }\n"
	"  $B mount --move /lib/modules /newroot/run/vm/lib/modules\n"
	"  $B mount -t proc proc /newroot/run/vm/proc\n"
	"  printf '#!/run/vm/busybox sh\\nexec /run/vm/busybox chroot /run/vm /busybox modprobe \"$@\"\\n' \\\n"
	"    > /newroot/run/vm/modprobe\n"
	"  $B chmod 755 /newroot/run/vm/modprobe\n"
	"  echo /run/vm/modprobe > /proc/sys/kernel/modprobe\n"
	"  echo \"$CTMAX $BUCKETS\" > /newroot/run/vm/ct-size\n"
	"  $B mount --move /dev /newroot/dev\n"
	"  $B mount --move /sys /newroot/sys\n"
	"  $B mount --move /proc /newroot/proc\n"
	"  exec $B switch_root /newroot /run/vm/busybox sh /run/vm/init stage2\n"
	"fi\n"
	"B=/run/vm/busybox\n"
	"export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb\n"
	"$B mkdir -p /dev/pts /dev/shm\n"
	"$B mount -t devpts devpts /dev/pts\n"
	"$B mount -t tmpfs tmpfs /dev/shm\n"
	"read -r CTMAX BUCKETS < /run/vm/ct-size\n"
	"N=/proc/sys/net/netfilter\n"
	"if [ -n \"$BUCKETS\" ] && [ -e $N/nf_conntrack_buckets ]; then echo \"$BUCKETS\" > $N/nf_conntrack_buckets; fi\n"
	"if [ -n \"$CTMAX\" ] && [ -e $N/nf_conntrack_max ]; then echo \"$CTMAX\" > $N/nf_conntrack_max; fi\n"
	"CTLAB=$($B cat /run/out/ctlab)\n"
	"cd \"$($B cat /run/out/cwd)\" || cd /\n"
	"if [ -f /run/out/scenarios-env ]; then CTLAB_SCENARIOS=$($B cat /run/out/scenarios-env); export CTLAB_SCENARIOS; fi\n"
	"set --\n"
	"while IFS= read -r a; do set -- \"$@\" \"$a\"; done < /run/out/args\n"
	"say \"ctlab starts at $($B cut -d' ' -f1 /proc/uptime) s, kernel $($B uname -r)\"\n"
	"$B cut -d' ' -f1 /proc/uptime > /run/out/uptime-start\n"
	"\"$CTLAB\" \"$@\" > /run/out/stdout 2> /run/out/stderr\n"
	"echo $? > /run/out/status.part\n"
	"$B cut -d' ' -f1 /proc/uptime > /run/out/uptime-end\n"
	"$B dmesg > /run/out/dmesg.txt\n"
	"$B cat /proc/modules > /run/out/modules.txt\n"
	"$B mv /run/out/status.part /run/out/status\n"
	"$B sync\n"
	"$B poweroff -f\n";

bool vm_console_failure(const char *console, char *line, size_t size)
{
	static const char *const signs[] = { "Oops", "BUG:", "Kernel panic", "general protection fault" };
	const char *start, *end;
	size_t i;

	for (start = console; start && *start; start = end ? end + 1 : NULL) {
		end = strchr(start, '\n');
		for (i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
			const char *hit = strstr(start, signs[i]);
			size_t len;

			if (!hit || (end && hit > end))
				continue;
			len = end ? (size_t)(end - start) : strlen(start);
			while (len && (start[len - 1] == '\r' || start[len - 1] == '\n'))
				len--;
			snprintf(line, size, "%.*s", (int)len, start);
			return true;
		}
	}
	return false;
}

/* A static executable has no program interpreter: what the initramfs needs. */
static bool is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	bool is_static = false;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		goto out_close;
	is_static = true;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph)) {
			is_static = false;
			break;
		}
		if (ph.p_type == PT_INTERP)
			is_static = false;
	}
out_close:
	close(fd);
	return is_static;
}

/* The busybox the initramfs gets: the static one of busybox-static. */
static const char *static_busybox(void)
{
	static const char *const candidates[] = { "/bin/busybox", "/usr/bin/busybox" };
	size_t i;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (is_static_elf(candidates[i]))
			return candidates[i];
	return NULL;
}

static int add_file(FILE *out, const char *name, const char *path, unsigned mode)
{
	struct stat st;
	void *data;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		close(fd);
		return -ENOMEM;
	}
	rc = pread(fd, data, (size_t)st.st_size, 0) == st.st_size ? 0 : -EIO;
	close(fd);
	if (rc == 0)
		rc = vm_cpio_add(out, name, S_IFREG | mode, data, (size_t)st.st_size, 0, 0);
	free(data);
	return rc;
}

/* The initramfs at @path: busybox, the init, /dev/console, the boot modules
 * and the order to insmod them in. */
static int build_initramfs(const struct vm_kernel *kernel, const char *path)
{
	static const char *const dirs[] = { "bin", "dev", "etc", "boot-modules" };
	char dep_path[PATH_MAX], module[PATH_MAX], name[PATH_MAX], *modules_dep = NULL;
	char list[8192] = "", **order = NULL;
	const char *busybox = static_busybox();
	struct stat st;
	FILE *out;
	int n = 0, i, rc, fd;
	size_t used = 0;

	if (!busybox)
		return -ENOEXEC;
	snprintf(dep_path, sizeof(dep_path), "%s/%s/modules.dep", kernel->modules, kernel->release);
	fd = open(dep_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(modules_dep = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	rc = pread(fd, modules_dep, (size_t)st.st_size, 0) == st.st_size ? 0 : -EIO;
	close(fd);
	modules_dep[st.st_size] = '\0';
	if (rc < 0)
		goto out_free_dep;
	n = vm_module_order(modules_dep, boot_modules, sizeof(boot_modules) / sizeof(boot_modules[0]),
			    &order);
	if (n < 0) {
		rc = n;
		goto out_free_dep;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto out_free_order;
	}
	for (i = 0; i < (int)(sizeof(dirs) / sizeof(dirs[0])) && rc == 0; i++)
		rc = vm_cpio_add(out, dirs[i], S_IFDIR | 0755, NULL, 0, 0, 0);
	if (rc == 0)
		rc = vm_cpio_add(out, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
	if (rc == 0)
		rc = add_file(out, "bin/busybox", busybox, 0755);
	if (rc == 0)
		rc = vm_cpio_add(out, "init", S_IFREG | 0755, guest_init, sizeof(guest_init) - 1, 0, 0);
	for (i = 0; i < n && rc == 0; i++) {
		const char *base = strrchr(order[i], '/') ? strrchr(order[i], '/') + 1 : order[i];

		snprintf(module, sizeof(module), "%s/%s/%s", kernel->modules, kernel->release, order[i]);
		snprintf(name, sizeof(name), "boot-modules/%s", base);
		rc = add_file(out, name, module, 0644);
		if (rc == 0 && used + strlen(base) + 2 < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\n", base);
	}
	if (rc == 0)
		rc = vm_cpio_add(out, "etc/boot-modules", S_IFREG | 0644, list, used, 0, 0);
	if (rc == 0)
		rc = vm_cpio_end(out);
	if (fclose(out) != 0 && rc == 0)
		rc = -EIO;
out_free_order:
	for (i = 0; i < n; i++)
		free(order[i]);
	free(order);
out_free_dep:
	free(modules_dep);
	return rc;
}

/* The files the guest's stage 2 reads: the binary, its cwd, its arguments. */
static int write_guest_files(const struct vm_guest *guest, const char *dir)
{
	char path[PATH_MAX];
	const char *scenarios = getenv("CTLAB_SCENARIOS");
	FILE *args;
	size_t i;
	int rc, fd;

	snprintf(path, sizeof(path), "%s/ctlab", dir);
	rc = vm_write_text(path, guest->ctlab);
	snprintf(path, sizeof(path), "%s/cwd", dir);
	if (rc == 0)
		rc = vm_write_text(path, guest->cwd);
	if (rc == 0 && scenarios) {
		snprintf(path, sizeof(path), "%s/scenarios-env", dir);
		rc = vm_write_text(path, scenarios);
	}
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/args", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	args = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!args) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	for (i = 0; i < guest->n_args; i++)
		fprintf(args, "%s\n", guest->args[i]);
	return fclose(args) == 0 ? 0 : -EIO;
}

/* What an earlier try left goes first: the guest wrote those files, and
 * the host writes only files it made itself (never through a symlink). */
static void clear_share(const char *dir)
{
	static const char *const files[] = { "status", "status.part", "stdout", "stderr",
					     "uptime-start", "uptime-end", "dmesg.txt",
					     "modules.txt", "results.json", "junit.xml",
					     "ctlab", "cwd", "args", "scenarios-env",
					     "initrd.img", "console.log" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
}

static double read_seconds(const char *dir, const char *name)
{
	char path[PATH_MAX], text[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return vm_read_text(path, text, sizeof(text)) > 0 ? strtod(text, NULL) : 0;
}

/* Why the guest gave no status: an Oops or panic line, else the init's
 * last word, else the console's last line. */
static void explain_death(const char *console, struct vm_outcome *outcome)
{
	char line[sizeof(outcome->failure)] = "";
	const char *start, *end, *last = NULL, *init = NULL;

	if (vm_console_failure(console, line, sizeof(line))) {
		snprintf(outcome->failure, sizeof(outcome->failure), "%s", line);
		return;
	}
	for (start = console; start && *start; start = end ? end + 1 : NULL) {
		end = strchr(start, '\n');
		if (end ? end - start > 1 : strlen(start) > 1)
			last = start;
		if (strncmp(start, "ctlab-init:", 11) == 0)
			init = start;
	}
	if (init || last) {
		start = init ? init : last;
		snprintf(outcome->failure, sizeof(outcome->failure), "%s%.*s",
			 outcome->timed_out ? "timed out; the console last said: " : "",
			 (int)strcspn(start, "\r\n"), start);
	} else {
		snprintf(outcome->failure, sizeof(outcome->failure), "%s",
			 outcome->timed_out ? "timed out with nothing on the console"
					    : "the guest said nothing on its console");
	}
}

/* The guest's stdout, relayed while it runs. */
struct live_relay {
	const char *dir;
	FILE *to;
	long offset;
};

static void relay_tick(void *arg)
{
	struct live_relay *live = arg;

	live->offset = vm_relay(live->dir, "stdout", live->offset, live->to);
}

int vm_boot(const struct vm_kernel *kernel, const struct vm_guest *guest,
	    struct vm_outcome *outcome)
{
	struct live_relay live = { .dir = outcome->dir, .to = guest->live_stdout };
	char initrd[PATH_MAX], console_path[PATH_MAX], append[512], memory[16], cpus[16];
	char root_share[128], mods_share[PATH_MAX + 96], out_share[PATH_MAX + 96];
	char path[PATH_MAX], status[32], *console = NULL;
	struct timespec t0, t1;
	struct stat st;
	int console_fd, rc;

	outcome->finished = outcome->timed_out = false;
	outcome->failure[0] = '\0';
	outcome->status = -1;
	/* QEMU's option syntax takes a comma as a separator. */
	if (strchr(outcome->dir, ',') || strchr(kernel->modules, ','))
		return -EINVAL;
	clear_share(outcome->dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", outcome->dir);
	rc = build_initramfs(kernel, initrd);
	if (rc < 0)
		return rc;
	rc = write_guest_files(guest, outcome->dir);
	if (rc < 0)
		return rc;
	snprintf(append, sizeof(append),
		 "console=ttyS0 panic=-1 loglevel=4 nowatchdog rcupdate.rcu_cpu_stall_suppress=1 "
		 "ctlab.preload=%d", guest->preload ? 1 : 0);
	if (guest->ct_max > 0)
		snprintf(append + strlen(append), sizeof(append) - strlen(append), " ctlab.ctmax=%ld",
			 guest->ct_max);
	if (guest->ct_buckets > 0)
		snprintf(append + strlen(append), sizeof(append) - strlen(append),
			 " ctlab.buckets=%ld", guest->ct_buckets);
	snprintf(memory, sizeof(memory), "%d", guest->memory_mb);
	snprintf(cpus, sizeof(cpus), "%d", guest->cpus);
	snprintf(root_share, sizeof(root_share),
		 "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap");
	snprintf(mods_share, sizeof(mods_share),
		 "local,path=%s,mount_tag=mods,security_model=none,readonly=on", kernel->modules);
	snprintf(out_share, sizeof(out_share), "local,path=%s,mount_tag=out,security_model=none",
		 outcome->dir);
	snprintf(console_path, sizeof(console_path), "%s/console.log", outcome->dir);
	console_fd = open(console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (console_fd < 0)
		return -errno;
	{
		/* thread=single: multi-threaded TCG once oopsed a guest in NF_HOOK
		 * while static keys flipped (code modified under a running vCPU). */
		char *const argv[] = {
			"qemu-system-x86_64", "-accel", "tcg,thread=single", "-m", memory, "-smp", cpus,
			"-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
			"-monitor", "none", "-no-reboot", "-nic", "none",
			"-kernel", (char *)kernel->vmlinux, "-initrd", initrd, "-append", append,
			"-virtfs", root_share, "-virtfs", mods_share, "-virtfs", out_share, NULL,
		};

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = vm_spawn_watch(argv, -1, console_fd, console_fd, guest->timeout_s,
				    live.to ? relay_tick : NULL, &live);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (live.to)
			relay_tick(&live);
	}
	close(console_fd);
	outcome->wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc == -ETIMEDOUT)
		outcome->timed_out = true;
	else if (rc < 0)
		return rc;
	if (stat(console_path, &st) == 0 && (console = malloc((size_t)st.st_size + 1)))
		vm_read_text(console_path, console, (size_t)st.st_size + 1);
	snprintf(path, sizeof(path), "%s/status", outcome->dir);
	if (!outcome->timed_out && vm_read_text(path, status, sizeof(status)) > 0) {
		char line[sizeof(outcome->failure)];

		/* A guest that broke while ctlab ran: its results are not to be trusted. */
		if (console && vm_console_failure(console, line, sizeof(line))) {
			snprintf(outcome->failure, sizeof(outcome->failure), "%s", line);
		} else {
			outcome->finished = true;
			outcome->status = atoi(status);
		}
	} else {
		explain_death(console ? console : "", outcome);
	}
	outcome->boot_s = read_seconds(outcome->dir, "uptime-start");
	outcome->guest_s = read_seconds(outcome->dir, "uptime-end") - outcome->boot_s;
	free(console);
	return 0;
}
