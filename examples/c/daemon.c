/* example-daemon: the two-phase start of a daemon with libpidlock.
 *
 * Phase one, before fork(): take the lock. A second start learns "already running" while it
 * is still in the foreground, and exits non-zero where the shell or the init system sees it
 * (a lock taken after fork() would leave the parent reporting success for a child that then
 * fails). Phase two, in the child: pidlock_update() records the child's own PID and makes
 * the child the owner; only then does the parent release its copy (which now just closes a
 * descriptor) and exit 0. The daemon keeps the lock until it exits, however it exits.
 *
 * Build:  cc daemon.c $(pkg-config --cflags --libs pidlock) -o example-daemon
 *    or:  cmake -S . -B build && cmake --build build      (find_package(pidlock))
 * Use:    example-daemon [LOCKFILE]       default: `pidlock path example-daemon`
 *         pidlock status LOCKFILE; pidlock stop LOCKFILE
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <pidlock.h>

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The daemon proper: detached from the terminal, it waits for SIGTERM or SIGINT, then gives
 * the lock back, which removes the file. */
static int serve(pidlock *lock)
{
	int r, null = open("/dev/null", O_RDWR);

	setsid();
	if (chdir("/") < 0 || null < 0)
		return 1;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);

	/* ... a real daemon does its work here ... */
	while (!stopping)
		pause();
	r = pidlock_release(lock);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	char buf[PATH_MAX];
	const char *path = argv[1];
	pidlock *lock;
	pid_t holder, child;
	int r, adopted, ready[2];
	ssize_t n;

	if (argc > 2) {
		fputs("usage: example-daemon [LOCKFILE]\n", stderr);
		return 2;
	}
	if (!path) {
		r = pidlock_default_path("example-daemon", buf, sizeof buf);
		if (r < 0) {
			fprintf(stderr, "example-daemon: no lock path: %s\n", pidlock_strerror(r));
			return 1;
		}
		path = buf;
	}

	r = pidlock_acquire(path, 0, 0, &lock, &holder);
	if (r == -EAGAIN) {
		if (holder > 0)
			fprintf(stderr, "example-daemon: already running as PID %d (lock file: %s)\n",
				(int)holder, path);
		else
			fprintf(stderr, "example-daemon: already running (lock file: %s)\n", path);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "example-daemon: %s: %s\n", path, pidlock_strerror(r));
		return 1;
	}

	/* Handlers go in before the child's PID is in the file: from then on `pidlock stop`
	 * may signal it, and SIGTERM must end in a clean release. */
	sigemptyset(&sa.sa_mask);
	if (pipe(ready) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
		perror("example-daemon");
		pidlock_release(lock);
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("example-daemon: fork");
		pidlock_release(lock);
		return 1;
	}
	if (child == 0) {
		close(ready[0]);
		r = pidlock_update(lock);
		/* Tell the parent how the update went; it must not release before this. */
		if (write(ready[1], &r, sizeof r) != sizeof r || r < 0)
			_exit(1);
		close(ready[1]);
		return serve(lock);
	}

	close(ready[1]);
	do
		n = read(ready[0], &adopted, sizeof adopted);
	while (n < 0 && errno == EINTR);
	r = n == (ssize_t)sizeof adopted ? adopted : -ECHILD; /* the child died first */
	/* After the child's update this only closes the parent's copy; without it (r < 0) the
	 * parent still owns the file and removes it. */
	pidlock_release(lock);
	if (r < 0) {
		fprintf(stderr, "example-daemon: %s: %s\n", path, pidlock_strerror(r));
		return 1;
	}
	printf("example-daemon: started as PID %d (lock file: %s)\n", (int)child, path);
	return 0;
}
