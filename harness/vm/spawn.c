/* spawn — the tools the vm runs (apt-get, dpkg, xz, qemu), as processes with their descriptors set and a bound on their time. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "vm/vm.h"

/* How long a stopped process has between SIGTERM and SIGKILL. */
#define SPAWN_KILL_GRACE_MS	5000
/* The longest a wait sleeps before it looks at stop_signal again. */
#define SPAWN_POLL_MS		200

/* The signal that asked ctlab vm to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

void vm_stop_on_signals(void)
{
	/* No SA_RESTART: a blocked read or waitpid returns EINTR and looks. */
	struct sigaction action = { .sa_handler = on_stop_signal };
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &action, NULL);
}

int vm_stopped(void)
{
	return stop_signal;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 128;
}

/* What a wait does between looks at its process (vm_spawn_watch). */
struct watch {
	void (*tick)(void *arg);
	void *arg;
};

/* Waits for @pid, polling its pidfd until @deadline (0: for ever), calling
 * @watch's tick (if any) at least every SPAWN_POLL_MS.  1 and *wstatus when
 * it ended, 0 at the deadline, -errno. */
static int wait_watching(pid_t pid, int pidfd, long long deadline, const struct watch *watch,
			 int *wstatus)
{
	for (;;) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		long long left = deadline ? deadline - now_ms() : -1;
		pid_t got = waitpid(pid, wstatus, WNOHANG);

		if (got == pid)
			return 1;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (stop_signal)
			return -EINTR;
		if (deadline && left <= 0)
			return 0;
		if (pidfd < 0) {
			/* No pidfd (a kernel before 5.3): block, unbounded. */
			if (waitpid(pid, wstatus, 0) == pid)
				return 1;
			if (errno != EINTR)
				return -errno;
			continue;
		}
		if (poll(&pfd, 1, left < 0 || left > SPAWN_POLL_MS ? SPAWN_POLL_MS : (int)left) < 0 &&
		    errno != EINTR)
			return -errno;
		if (watch && watch->tick)
			watch->tick(watch->arg);
	}
}

static int wait_until(pid_t pid, int pidfd, long long deadline, int *wstatus)
{
	return wait_watching(pid, pidfd, deadline, NULL, wstatus);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(char *const argv[], const char *cwd, const int fds[3], pid_t parent)
{
	/* A ctlab vm that dies, even by SIGKILL, takes QEMU and the tools with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(127);
	if (cwd && chdir(cwd) < 0)
		_exit(127);
	execvp(argv[0], argv);
	_exit(127);
}

/* Starts @argv in @cwd (NULL: ours) with its standard descriptors on these
 * (-1: /dev/null). */
static int start(char *const argv[], const char *cwd, int in_fd, int out_fd, int err_fd,
		 pid_t *pid)
{
	pid_t parent = getpid();
	int null_fd, fds[3], err = 0;

	if (!argv || !argv[0])
		return -EINVAL;
	if (strchr(argv[0], '/') ? access(argv[0], X_OK) < 0 : !vm_have_tool(argv[0]))
		return -ENOENT;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -errno;
	fds[0] = in_fd >= 0 ? in_fd : null_fd;
	fds[1] = out_fd >= 0 ? out_fd : null_fd;
	fds[2] = err_fd >= 0 ? err_fd : null_fd;
	*pid = fork();
	if (*pid == 0)
		exec_child(argv, cwd, fds, parent);
	if (*pid < 0)
		err = errno;
	close(null_fd);
	return -err;
}

/* Stops @pid: SIGTERM, then SIGKILL after the grace period; reaps it. */
static void terminate(pid_t pid, int pidfd, int *wstatus)
{
	sig_atomic_t stopping = stop_signal;
	int fd = pidfd >= 0 ? pidfd : (int)syscall(SYS_pidfd_open, pid, 0);
	int rc;

	kill(pid, SIGTERM);
	/* The wait must not end at once because a stop was asked for. */
	stop_signal = 0;
	rc = fd >= 0 ? wait_until(pid, fd, now_ms() + SPAWN_KILL_GRACE_MS, wstatus) : 0;
	if (rc != 1) {
		kill(pid, SIGKILL);
		while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
			;
	}
	if (fd >= 0 && fd != pidfd)
		close(fd);
	if (stopping)
		stop_signal = stopping;
}

int vm_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, int timeout_s)
{
	return vm_spawn_at(argv, NULL, in_fd, out_fd, err_fd, timeout_s);
}

static int spawn_and_wait(char *const argv[], const char *cwd, int in_fd, int out_fd, int err_fd,
			  int timeout_s, const struct watch *watch)
{
	long long deadline = timeout_s > 0 ? now_ms() + (long long)timeout_s * 1000 : 0;
	int pidfd, wstatus = 0, rc;
	pid_t pid;

	rc = start(argv, cwd, in_fd, out_fd, err_fd, &pid);
	if (rc < 0)
		return rc;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	rc = wait_watching(pid, pidfd, deadline, watch, &wstatus);
	if (rc == 0 || rc == -EINTR) {
		terminate(pid, pidfd, &wstatus);
		if (rc == 0)
			rc = -ETIMEDOUT;
	}
	if (pidfd >= 0)
		close(pidfd);
	return rc < 0 ? rc : exit_code(wstatus);
}

int vm_spawn_at(char *const argv[], const char *cwd, int in_fd, int out_fd, int err_fd,
		int timeout_s)
{
	return spawn_and_wait(argv, cwd, in_fd, out_fd, err_fd, timeout_s, NULL);
}

int vm_spawn_watch(char *const argv[], int in_fd, int out_fd, int err_fd, int timeout_s,
		   void (*tick)(void *arg), void *arg)
{
	const struct watch watch = { .tick = tick, .arg = arg };

	return spawn_and_wait(argv, NULL, in_fd, out_fd, err_fd, timeout_s, &watch);
}

int vm_spawn_capture(char *const argv[], int err_fd, char *buf, size_t size)
{
	int pipe_fds[2], wstatus = 0, rc;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (size == 0)
		return -EINVAL;
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -errno;
	rc = start(argv, NULL, -1, pipe_fds[1], err_fd, &pid);
	close(pipe_fds[1]);
	if (rc < 0)
		goto out_close_pipe;
	/* Read while it runs: a child whose pipe is full would never end. */
	for (;;) {
		char sink[4096];

		if (used + 1 < size)
			n = read(pipe_fds[0], buf + used, size - 1 - used);
		else
			n = read(pipe_fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR && !stop_signal)
			continue;
		if (n <= 0)
			break;
		if (used + 1 < size)
			used += (size_t)n;
	}
	buf[used] = '\0';
	if (stop_signal) {
		terminate(pid, -1, &wstatus);
		rc = -EINTR;
		goto out_close_pipe;
	}
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			goto out_close_pipe;
		}
	}
	rc = exit_code(wstatus);
out_close_pipe:
	close(pipe_fds[0]);
	return rc;
}

int vm_spawn_all(char **const argvs[], size_t n, size_t parallel, int err_fd)
{
	pid_t running[64];
	size_t next = 0, n_running = 0, i;
	int wstatus, worst = 0, rc;

	if (parallel < 1)
		parallel = 1;
	if (parallel > 64)
		parallel = 64;
	while (next < n || n_running) {
		pid_t pid;

		while (next < n && n_running < parallel) {
			rc = start(argvs[next++], NULL, -1, -1, err_fd, &pid);
			if (rc < 0) {
				worst = rc;
				next = n;	/* start no more; wait for the others */
				break;
			}
			running[n_running++] = pid;
		}
		if (!n_running)
			break;
		pid = stop_signal ? -1 : waitpid(-1, &wstatus, 0);
		if (pid < 0 && stop_signal) {
			for (i = 0; i < n_running; i++)
				terminate(running[i], -1, &wstatus);
			return -EINTR;
		}
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n_running; i++) {
			if (running[i] != pid)
				continue;
			running[i] = running[--n_running];
			if (exit_code(wstatus) && worst == 0)
				worst = exit_code(wstatus);
			break;
		}
	}
	return worst;
}

bool vm_have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];
	const char *start, *end;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	for (start = path; *start; start = *end ? end + 1 : end) {
		end = strchrnul(start, ':');
		if (end == start)
			continue;
		if ((size_t)snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)(end - start), start,
				     name) >= sizeof(candidate))
			continue;
		if (access(candidate, X_OK) == 0)
			return true;
	}
	return false;
}
