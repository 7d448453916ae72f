/* Crash: a child cycles acquire / release and is killed with SIGKILL after a random few
 * microseconds, so the kill lands anywhere: in the create, the lock, the PID write, while
 * held, in the release. After each kill (and waitpid) the next fail-at-once acquire must
 * succeed with no cleanup at all: a stuck state is any failure there.
 *
 * Usage: torture-crash [kills] */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"

#define TIME_CAP 30.0
#define MAX_DELAY_US 400

static const char *lock_path;

static int cycle_forever(void *arg)
{
	unsigned flags = (unsigned)(long)arg;

	for (;;) {
		pidlock *l = NULL;

		if (pidlock_acquire(lock_path, flags, PIDLOCK_WAIT_FOREVER, &l, NULL) == 0)
			pidlock_release(l);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long kills = tt_scaled(argc > 1 ? atol(argv[1]) : 10000);
	long done = 0, stuck = 0, absent = 0, empty = 0, child_pid = 0, other = 0, errors = 0;
	char *dir, path[4096];
	double start = tt_now();
	int fds_before = tt_count_fds();

	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = tt_tmpdir("crash");
	snprintf(path, sizeof path, "%s/daemon.lock", dir);
	lock_path = path;
	srandom((unsigned)getpid());

	for (; done < kills && tt_now() - start < TIME_CAP; done++) {
		/* Every other child keeps the file on release, so kills also land in ftruncate. */
		unsigned child_flags = done % 2 ? PIDLOCK_KEEP_FILE : 0;
		unsigned flags = done % 3 == 0 ? PIDLOCK_CHECK_PID : 0;
		pid_t child = tt_spawn(cycle_forever, (void *)(long)child_flags);
		pidlock *l = NULL;
		pid_t holder = 0;
		int r, pid;

		usleep((useconds_t)(random() % MAX_DELAY_US));
		kill(child, SIGKILL);
		if (tt_wait(child) != 128 + SIGKILL)
			errors++;

		pid = pidlock_read_pid(lock_path);
		if (pid == child)
			child_pid++;
		else if (pid == 0 && access(lock_path, F_OK) < 0)
			absent++;
		else if (pid == 0)
			empty++;
		else
			other++;

		r = pidlock_acquire(lock_path, flags, 0, &l, &holder);
		if (r < 0) {
			if (stuck++ < 5)
				printf("stuck after kill %ld: %s (holder %d, file said %d)\n", done,
				       pidlock_strerror(r), (int)holder, pid);
			continue;
		}
		if (pidlock_release(l) < 0)
			errors++;
	}
	printf("crash: %ld SIGKILLs of %ld in %.1f s (file at the kill: absent %ld, empty %ld, "
	       "child's PID %ld, other %ld); stuck states %ld, errors %ld\n",
	       done, kills, tt_now() - start, absent, empty, child_pid, other, stuck, errors);
	if (stuck)
		tt_fail("crash: %ld acquires failed after a kill", stuck);
	if (errors || other)
		tt_fail("crash: %ld errors, %ld files with a foreign PID", errors, other);
	if (done < kills / 10)
		tt_fail("crash: only %ld kills in the time cap", done);
	if (tt_dir_entries(dir) != 0)
		tt_fail("crash: %d files left behind after the last release", tt_dir_entries(dir));
	if (tt_count_fds() != fds_before)
		tt_fail("crash: descriptors %d before, %d after", fds_before, tt_count_fds());
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
