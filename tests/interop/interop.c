/* What flock-based tools see of a libpidlock lock, and what libpidlock sees of theirs: libbsd's
 * pidfile(3) and util-linux flock(1), both real. On Linux OFD locks and flock locks live in
 * separate worlds: with the OFD build neither side sees the other (and libbsd's starter
 * overwrites and then removes the holder's file); with the flock build they exclude each
 * other. Each answer is asserted for the primitive the library says it uses, and printed;
 * that answer must be the one CMake configured (PIDLOCK_EXPECT_METHOD, set by ctest). */
#define _GNU_SOURCE
#include <bsd/libutil.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pidlock.h>

#include "torture.h"

static bool ofd;
static char *dir;

/* Fork a process group leader that runs fn and reports through a pipe once it holds its lock;
 * the caller kills the whole group (flock(1) forks its command). */
static pid_t start_holder(void (*fn)(const char *path, int ready), const char *path)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) < 0) {
		perror("pipe");
		exit(2);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		setpgid(0, 0);
		close(p[0]);
		fn(path, p[1]);
		_exit(3);
	}
	setpgid(pid, pid);
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		tt_fail("holder %d died before it held %s", (int)pid, path);
	close(p[0]);
	return pid;
}

static void stop_holder(pid_t pid)
{
	kill(-pid, SIGKILL);
	tt_wait(pid);
}

static void libpidlock_holder_child(const char *path, int ready)
{
	pidlock *lock;

	if (pidlock_acquire(path, 0, 0, &lock, NULL) != 0)
		_exit(4);
	if (write(ready, "r", 1) != 1)
		_exit(5);
	pause();
}

static void libbsd_holds(const char *path, int ready)
{
	struct pidfh *pfh = pidfile_open(path, 0600, NULL);

	if (!pfh || pidfile_write(pfh) < 0)
		_exit(4);
	if (write(ready, "r", 1) != 1)
		_exit(5);
	pause();
}

/* flock(1) itself takes the lock, then its command says so on the pipe and sleeps. */
static void flock1_holds(const char *path, int ready)
{
	char cmd[64];

	snprintf(cmd, sizeof cmd, "printf r >&%d; exec sleep 600", ready);
	execlp("flock", "flock", "-n", path, "-c", cmd, (char *)NULL);
	_exit(127);
}

/* `flock -n PATH true`: 0 when it got the lock, 1 when it found it held. */
static int flock1_try(const char *path)
{
	char cmd[512];
	int status;

	snprintf(cmd, sizeof cmd, "flock -n -E 1 '%s' true", path);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void expect(bool ok, const char *what)
{
	printf("  %-64s %s\n", what, ok ? "as expected" : "NOT as expected");
	if (!ok)
		tt_fail("%s build: %s", ofd ? "ofd" : "flock", what);
}

static char *path_for(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		exit(2);
	return p;
}

/* A libpidlock holder, seen by flock(1) and by a libbsd starter in this process. */
static void against_pidlock_holder(void)
{
	char *path = path_for("held-by-pidlock.pid");
	pid_t holder = start_holder(libpidlock_holder_child, path), other = 0;
	struct pidfh *pfh;
	int flock_rc;

	printf("a libpidlock holder (PID %d):\n", (int)holder);
	flock_rc = flock1_try(path);
	printf("  flock -n FILE true exits %d\n", flock_rc);
	expect(flock_rc == (ofd ? 0 : 1), ofd ? "flock(1) does not see it held" : "flock(1) sees it held");

	errno = 0;
	pfh = pidfile_open(path, 0600, &other);
	printf("  pidfile_open: %s (errno %d, other PID %d)\n", pfh ? "a handle" : "NULL", errno, (int)other);
	if (ofd) {
		pidlock *second = NULL;
		int r;

		expect(pfh != NULL, "pidfile_open does not see it held");
		if (!pfh)
			goto out;
		expect(pidfile_write(pfh) == 0 && pidlock_read_pid(path) == getpid(),
		       "pidfile_write replaces the holder's PID with its own");
		expect(pidlock_holder(path, NULL) == 1, "the kernel lock of the holder is still there");
		/* The libbsd starter exits and removes "its" file: the holder's lock goes with the
		 * name, and the next libpidlock starter wins beside the running holder. */
		expect(pidfile_remove(pfh) == 0 && access(path, F_OK) < 0 && errno == ENOENT,
		       "pidfile_remove unlinks the holder's file");
		r = pidlock_acquire(path, 0, 0, &second, NULL);
		expect(r == 0 && kill(holder, 0) == 0, "a second libpidlock starter then wins: two run");
		pidlock_release(second);
	} else {
		/* libbsd reads the holder's PID, then rejects "PID\n" for its trailing newline
		 * (EINVAL); a file without one would give EEXIST. Either way it refuses. */
		expect(!pfh && (errno == EINVAL || errno == EEXIST), "pidfile_open refuses (EINVAL or EEXIST)");
		expect(other == holder, "pidfile_open reports the holder's PID");
		expect(pidlock_read_pid(path) == holder, "the holder's PID is still in the file");
		if (pfh)
			pidfile_remove(pfh);
	}
out:
	stop_holder(holder);
	free(path);
}

/* A holder from a flock-based tool, seen by libpidlock. */
static void against_flock_holder(const char *tool, void (*fn)(const char *, int), const char *name)
{
	char *path = path_for(name);
	pid_t holder = start_holder(fn, path), seen = 0;
	pidlock *lock = NULL;
	int r, probe;

	printf("a %s holder (PID %d):\n", tool, (int)holder);
	probe = pidlock_holder(path, &seen);
	r = pidlock_acquire(path, 0, 0, &lock, NULL);
	printf("  pidlock_holder says %d (PID %d), pidlock_acquire returns %d\n", probe, (int)seen, r);
	if (ofd) {
		expect(probe == 0, "pidlock_holder does not see it held");
		expect(r == 0, "pidlock_acquire takes the lock beside it");
	} else {
		expect(probe == 1, "pidlock_holder sees it held");
		expect(r == -EAGAIN, "pidlock_acquire refuses: -EAGAIN");
	}
	pidlock_release(lock);
	stop_holder(holder);
	free(path);
}

int main(void)
{
	const char *want = getenv("PIDLOCK_EXPECT_METHOD");

	ofd = !tt_flock_build();
	if (want && strcmp(want, pidlock_lock_method()) != 0)
		tt_fail("the library uses %s locks, the build was configured for %s",
			pidlock_lock_method(), want);
	dir = tt_tmpdir("interop");
	printf("interop, library built with %s locks:\n", ofd ? "ofd" : "flock");
	against_pidlock_holder();
	against_flock_holder("libbsd pidfile(3)", libbsd_holds, "held-by-libbsd.pid");
	against_flock_holder("flock(1)", flock1_holds, "held-by-flock1.lock");
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
