/* PID reuse under PIDLOCK_CHECK_PID: an unlocked file naming a live process of the file's
 * owner is honoured, however the file's mtime stands against the process's start: a step of
 * the wall clock (moving the mtime stands in for one) changes nothing, in either direction.
 * A PID that is dead, ours, 1, or a process of another user is reclaimed.
 *
 * Usage: torture-pidreuse */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"

static char lock_path[4096];

static int sleep_until_killed(void *arg)
{
	int fd = (int)(long)arg;

	if (write(fd, "", 1) != 1) /* running now: the parent may look at our start time */
		return 1;
	for (;;)
		pause();
}

static int sleep_as_nobody(void *arg)
{
	if (setresuid(65534, 65534, 65534) < 0)
		return 1;
	return sleep_until_killed(arg);
}

/* Write "@pid\n" with mtime @ago seconds in the past (negative: in the future). */
static void plant(pid_t pid, double ago)
{
	char buf[32];
	struct timespec when[2];

	snprintf(buf, sizeof buf, "%d\n", (int)pid);
	if (tt_write_file(lock_path, buf, strlen(buf)) < 0) {
		tt_fail("pidreuse: cannot write %s", lock_path);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &when[0]);
	when[0].tv_sec -= (time_t)ago;
	when[1] = when[0];
	if (utimensat(AT_FDCWD, lock_path, when, AT_SYMLINK_NOFOLLOW) < 0)
		tt_fail("pidreuse: utimensat: %s", strerror(errno));
}

/* Acquire fail-at-once with @flags; want 0 (reclaimed) or -EAGAIN naming @holder_want. */
static void expect(const char *what, unsigned flags, int want, pid_t holder_want)
{
	pidlock *l = NULL;
	pid_t holder = 0;
	int r = pidlock_acquire(lock_path, flags, 0, &l, &holder);
	int file_pid = pidlock_read_pid(lock_path);
	int probe = pidlock_holder(lock_path, NULL);

	printf("pidreuse %-58s -> %s (holder %d, file says %d)\n", what,
	       r == 0 ? "acquired" : pidlock_strerror(r), (int)holder, file_pid);
	if (r != want || (want == -EAGAIN && holder != holder_want))
		tt_fail("pidreuse %s: wanted %d holder %d, got %d holder %d", what, want,
			(int)holder_want, r, (int)holder);
	if (r == 0 && file_pid != getpid())
		tt_fail("pidreuse %s: acquired but the file says %d", what, file_pid);
	if (r == -EAGAIN && file_pid != holder_want)
		tt_fail("pidreuse %s: a refused acquire changed the file to %d", what, file_pid);
	/* The probe reports kernel locks only: a PID-only holder holds none. */
	if (probe != (r == 0))
		tt_fail("pidreuse %s: pidlock_holder says %d", what, probe);
	if (pidlock_release(l) < 0)
		tt_fail("pidreuse %s: release failed", what);
}

int main(void)
{
	int ready[2], fds_before = tt_count_fds();
	char *dir = tt_tmpdir("pidreuse");
	pid_t sleeper;
	char c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(lock_path, sizeof lock_path, "%s/daemon.lock", dir);
	if (pipe(ready) < 0)
		return 2;
	sleeper = tt_spawn(sleep_until_killed, (void *)(long)ready[1]);
	if (read(ready[0], &c, 1) != 1)
		return 2;
	close(ready[0]);
	close(ready[1]);

	plant(sleeper, 3600);
	expect("live PID, mtime 1 h before it started (clock stepped forward)", PIDLOCK_CHECK_PID,
	       -EAGAIN, sleeper);
	plant(sleeper, 86400);
	expect("live PID, mtime 1 day before it started", PIDLOCK_CHECK_PID, -EAGAIN, sleeper);
	plant(sleeper, 0);
	expect("live PID, file written after it started (honoured)", PIDLOCK_CHECK_PID, -EAGAIN,
	       sleeper);
	plant(sleeper, -3600);
	expect("live PID, mtime 1 h in the future (clock stepped back)", PIDLOCK_CHECK_PID,
	       -EAGAIN, sleeper);
	plant(sleeper, 0);
	expect("live PID, file written after it started, no CHECK_PID", 0, 0, 0);
	plant(tt_dead_pid(), 0);
	expect("dead PID", PIDLOCK_CHECK_PID, 0, 0);
	plant(getpid(), 0);
	expect("our own PID", PIDLOCK_CHECK_PID, 0, 0);
	plant(1, 0);
	expect("PID 1 (an init: a container's first process)", PIDLOCK_CHECK_PID, 0, 0);
	if (geteuid() == 0) {
		pid_t other;
		if (pipe(ready) < 0)
			return 2;
		other = tt_spawn(sleep_as_nobody, (void *)(long)ready[1]);
		if (read(ready[0], &c, 1) != 1)
			return 2;
		close(ready[0]);
		close(ready[1]);
		plant(other, 0);
		expect("live PID of another user (a reused PID)", PIDLOCK_CHECK_PID, 0, 0);
		kill(other, SIGKILL);
		tt_wait(other);
	} else {
		printf("pidreuse: skipped the other user's PID: not root\n");
	}

	kill(sleeper, SIGKILL);
	tt_wait(sleeper);
	if (tt_count_fds() != fds_before)
		tt_fail("pidreuse: descriptors %d before, %d after", fds_before, tt_count_fds());
	if (tt_dir_entries(dir) != 0)
		tt_fail("pidreuse: files left behind");
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
