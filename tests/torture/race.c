/* Race: 32 processes take turns on one path; a counter in shared memory proves that never two
 * are inside at once. Variants: clean; stale (every few rounds the holder leaves a file
 * behind: an empty one kept by PIDLOCK_KEEP_FILE, or one renamed over the path holding a dead
 * PID or junk); prober (one process calls pidlock_holder() at full speed alongside; then a
 * lone acquirer cycles in fail-at-once mode while two probers probe: nobody else competes,
 * so any -EAGAIN it sees was caused by a probe).
 *
 * Usage: torture-race clean|stale|prober [rounds-per-process] */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"

#define PROCS 32
#define PROBERS 2 /* beside the lone acquirer; the 32-process variant has one */
#define TIME_CAP 25.0     /* s: workers stop starting rounds after this */
#define STUCK_AFTER 15.0  /* s without a single entry while workers live: wedged */

enum variant { CLEAN, STALE, PROBER };

struct shared {
	atomic_int inside;
	atomic_int stop;
	atomic_int capped; /* a worker stopped at the time cap */
	atomic_long entries, doubles, not_at_path, wrong_pid, wrong_probe, errors, timeouts, retries;
	atomic_long probes, probes_held, probe_errors;
	atomic_long left_behind;
	atomic_long solo_cycles, solo_eagain, solo_errors;
	pid_t dead_pid;
	int last_errno;
};

static struct shared *sh;
static const char *lock_path;
static enum variant variant;
static long rounds;
static double deadline;

static void record_error(int r)
{
	atomic_fetch_add(&sh->errors, 1);
	sh->last_errno = r;
}

/* The critical section: we must be alone, and the file and a probe must both name us. */
static void critical_section(const pidlock *l)
{
	pid_t me = getpid(), who = 0;
	struct stat at_path, held;

	if (atomic_fetch_add(&sh->inside, 1) != 0)
		atomic_fetch_add(&sh->doubles, 1);
	if (lstat(lock_path, &at_path) < 0 || fstat(pidlock_fd(l), &held) < 0 ||
	    at_path.st_ino != held.st_ino || at_path.st_dev != held.st_dev)
		atomic_fetch_add(&sh->not_at_path, 1);
	if (pidlock_read_pid(lock_path) != me)
		atomic_fetch_add(&sh->wrong_pid, 1);
	if (pidlock_holder(lock_path, &who) != 1 || who != me)
		atomic_fetch_add(&sh->wrong_probe, 1);
	atomic_fetch_add(&sh->entries, 1);
	atomic_fetch_sub(&sh->inside, 1);
}

/* Put a different file at the path while we still hold the old one: a stale PID or junk, as
 * left by a crashed or foreign writer. Our release then must not unlink it, and whoever
 * waited on our inode must notice the path moved on. */
static void replace_file(int worker, const char *content)
{
	char tmp[4096];

	snprintf(tmp, sizeof tmp, "%s.tmp%d", lock_path, worker);
	if (tt_write_file(tmp, content, strlen(content)) < 0 || rename(tmp, lock_path) < 0) {
		record_error(-errno);
		return;
	}
	atomic_fetch_add(&sh->left_behind, 1);
}

static int worker(void *arg)
{
	int id = (int)(long)arg;
	bool waiting = id % 2 == 1; /* half wait in the library, half retry at once */
	char stale[32];

	snprintf(stale, sizeof stale, "%d\n", (int)sh->dead_pid);
	for (long round = 0; round < rounds && !atomic_load(&sh->stop); round++) {
		unsigned flags = variant == STALE && round % 4 == 0 ? PIDLOCK_KEEP_FILE : 0;
		pidlock *l = NULL;
		pid_t holder;
		int r;

		for (int tries = 0;; tries++) {
			if (atomic_load(&sh->stop))
				return 0;
			if (tt_now() > deadline) {
				atomic_store(&sh->capped, 1);
				return 0;
			}
			r = pidlock_acquire(lock_path, flags, waiting ? 1000 : 0, &l, &holder);
			if (r != -EAGAIN)
				break;
			if (holder == 0)
				record_error(-EPROTO); /* -EAGAIN must name a holder or say -1 */
			if (waiting) {
				atomic_fetch_add(&sh->timeouts, 1);
			} else {
				/* Spin a little, then back off: 16 spinners on 2 cores would starve
				 * the holder they wait for. */
				atomic_fetch_add(&sh->retries, 1);
				if (tries < 8)
					sched_yield();
				else
					usleep(50);
			}
		}
		if (r < 0) {
			record_error(r);
			continue;
		}
		critical_section(l);
		if (variant == STALE && round % 4 == 1)
			replace_file(id, stale);
		else if (variant == STALE && round % 4 == 2)
			replace_file(id, "\x01junk, not a PID");
		r = pidlock_release(l);
		if (r < 0)
			record_error(r);
	}
	return 0;
}

static int prober(void *arg)
{
	(void)arg;
	while (!atomic_load(&sh->stop)) {
		pid_t pid = 12345;
		int r = pidlock_holder(lock_path, &pid);

		atomic_fetch_add(&sh->probes, 1);
		if (r == 1) {
			atomic_fetch_add(&sh->probes_held, 1);
			if (pid == 0 || pid < -1)
				atomic_fetch_add(&sh->probe_errors, 1);
		} else if (r != 0 || pid != 0) {
			atomic_fetch_add(&sh->probe_errors, 1);
		}
	}
	return 0;
}

/* A lone acquirer in fail-at-once mode: nobody else ever takes the lock, so every -EAGAIN
 * it sees was caused by a probe (and every -EBUSY: in the flock build the probe's shared lock
 * reads as a reader's). */
static int solo(void *arg)
{
	long cycles = (long)arg;

	for (long i = 0; i < cycles && tt_now() < deadline; i++) {
		pidlock *l = NULL;
		int r = pidlock_acquire(lock_path, 0, 0, &l, NULL);

		if (r == -EAGAIN || r == -EBUSY)
			atomic_fetch_add(&sh->solo_eagain, 1);
		else if (r < 0)
			atomic_fetch_add(&sh->solo_errors, 1);
		else if (pidlock_release(l) < 0)
			atomic_fetch_add(&sh->solo_errors, 1);
		atomic_fetch_add(&sh->solo_cycles, 1);
	}
	return 0;
}

/* Wait for @pids; kill them all and report a wedge when entries stop moving. */
static void reap(pid_t *pids, int n, atomic_long *progress)
{
	long last = -1;
	double last_move = tt_now();
	int left = n;

	while (left > 0) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			for (int i = 0; i < n; i++)
				if (pids[i] == p) {
					pids[i] = 0;
					left--;
					if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
						tt_fail("race: a worker died (status %#x)", st);
				}
			continue;
		}
		if (atomic_load(progress) != last) {
			last = atomic_load(progress);
			last_move = tt_now();
		} else if (tt_now() - last_move > STUCK_AFTER) {
			tt_fail("race: stuck: no progress for %.0f s", STUCK_AFTER);
			for (int i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			atomic_store(&sh->stop, 1);
			last_move = tt_now();
		}
		usleep(10000);
	}
}

static void stop_probers(pid_t *pids, int n)
{
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < n; i++)
		if (tt_wait(pids[i]) != 0)
			tt_fail("race: a prober died");
}

int main(int argc, char **argv)
{
	static const char *names[] = { "clean", "stale", "prober" };
	pid_t workers[PROCS], probers[PROBERS];
	char *dir, path[4096];
	double start, took;
	long planned;

	if (argc < 2) {
		fprintf(stderr, "usage: %s clean|stale|prober [rounds]\n", argv[0]);
		return 2;
	}
	for (variant = CLEAN; variant <= PROBER; variant++)
		if (!strcmp(argv[1], names[variant]))
			break;
	if (variant > PROBER) {
		fprintf(stderr, "%s: unknown variant %s\n", argv[0], argv[1]);
		return 2;
	}
	rounds = tt_scaled(argc > 2 ? atol(argv[2]) : 2000);
	sh = tt_shared(sizeof *sh);
	sh->dead_pid = tt_dead_pid();
	dir = tt_tmpdir("race");
	snprintf(path, sizeof path, "%s/daemon.lock", dir);
	lock_path = path;
	setvbuf(stdout, NULL, _IOLBF, 0);

	start = tt_now();
	deadline = start + TIME_CAP;
	/* One prober at full speed: a second always-runnable process on 2 cores would mostly
	 * measure how often the holder is preempted. */
	if (variant == PROBER)
		probers[0] = tt_spawn(prober, NULL);
	for (int i = 0; i < PROCS; i++)
		workers[i] = tt_spawn(worker, (void *)(long)i);
	reap(workers, PROCS, &sh->entries);
	if (variant == PROBER)
		stop_probers(probers, 1);
	took = tt_now() - start;

	planned = PROCS * rounds;
	printf("race %s: %d processes x %ld rounds: %ld entries of %ld in %.1f s%s; double holders %ld, "
	       "held file no longer at the path %ld, wrong PID while held %ld, wrong probe while held %ld, errors %ld, "
	       "waits timed out %ld, fail-at-once retries %ld",
	       names[variant], PROCS, rounds, (long)sh->entries, planned, took,
	       sh->capped ? " (time cap hit)" : "", (long)sh->doubles, (long)sh->not_at_path, (long)sh->wrong_pid,
	       (long)sh->wrong_probe, (long)sh->errors, (long)sh->timeouts, (long)sh->retries);
	if (variant == STALE)
		printf(", files left behind %ld (+ %ld kept empty)", (long)sh->left_behind,
		       (long)sh->entries / 4);
	if (variant == PROBER)
		printf(", probes %ld (%ld saw it held), bad probe answers %ld", (long)sh->probes,
		       (long)sh->probes_held, (long)sh->probe_errors);
	printf("\n");
	if (sh->doubles || sh->not_at_path || sh->wrong_pid || sh->wrong_probe)
		tt_fail("race %s: exclusivity broken", names[variant]);
	if (sh->errors)
		tt_fail("race %s: %ld errors, last %s", names[variant], (long)sh->errors,
			pidlock_strerror(sh->last_errno));
	if (sh->probe_errors)
		tt_fail("race %s: %ld probes answered wrongly", names[variant], (long)sh->probe_errors);
	if (sh->entries == 0)
		tt_fail("race %s: no entries at all", names[variant]);

	if (variant == PROBER) {
		long cycles = tt_scaled(100000);

		atomic_store(&sh->stop, 0);
		deadline = tt_now() + TIME_CAP / 2;
		start = tt_now();
		for (int i = 0; i < PROBERS; i++)
			probers[i] = tt_spawn(prober, NULL);
		workers[0] = tt_spawn(solo, (void *)cycles);
		sh->probes = sh->probes_held = 0;
		reap(workers, 1, &sh->solo_cycles);
		stop_probers(probers, PROBERS);
		printf("race prober-solo: 1 acquirer x %ld fail-at-once cycles of %ld in %.1f s with %d "
		       "probers (%ld probes, %ld saw it held); prober-caused failed acquires %ld, "
		       "errors %ld, bad probe answers %ld\n",
		       (long)sh->solo_cycles, cycles, tt_now() - start, PROBERS, (long)sh->probes,
		       (long)sh->probes_held, (long)sh->solo_eagain, (long)sh->solo_errors,
		       (long)sh->probe_errors);
		printf("race prober-solo: probe-caused failures: %ld of %ld acquires (%s build)\n",
		       (long)sh->solo_eagain, (long)sh->solo_cycles, tt_flock_build() ? "flock" : "ofd");
		/* The flock fallback's probe holds LOCK_SH for a moment: its documented difference,
		 * measured above. Errors and wrong answers fail in every build. */
		if (sh->solo_eagain && !tt_flock_build())
			tt_fail("race prober-solo: probes made acquires fail");
		if (sh->solo_errors || sh->probe_errors)
			tt_fail("race prober-solo: errors or wrong probe answers beside the probers");
	}
	if (tt_dir_entries(dir) > 1)
		tt_fail("race %s: %d files left in the directory", names[variant], tt_dir_entries(dir));
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
