/* Timed waiters while the file at the path is replaced. Each round a
 * holder A releases (unlinking its file), a starter B takes the path at once with a new file
 * and releases it a moment later, and W, a waiter with a 5 s timeout that was sleeping on A's
 * file, must follow the path to B's file and take the lock right after B's release: its watch
 * follows the file, not the descriptor number a reopen gets back. A waiter that times out
 * while the lock was free most of its wait is a failure; the handoff from B's release to W's
 * acquire is printed (median, p99, worst). Then 4 processes contend, each taking the lock
 * 500 times with a 5 s timeout and holding it 0.2 ms: no acquire may time out. (The timeouts
 * are bounds for a loaded 2-core machine, not figures: the handoffs are printed.)
 *
 * Usage: torture-replaced */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"

#define ROUNDS 300

struct shared {
	volatile int stage;        /* 0 idle, 1 W waiting, 2 B released, 3 W done */
	volatile double b_released;
	volatile double w_acquired;
	volatile long w_result;
};

static char lock_path[4096];

static void wait_stage(struct shared *sh, int stage)
{
	double end = tt_now() + 10;

	while (sh->stage < stage && tt_now() < end)
		usleep(50);
}

static int waiter(void *arg)
{
	struct shared *sh = arg;
	pidlock *l;
	int r;

	sh->stage = 1;
	r = pidlock_acquire(lock_path, 0, 5000, &l, NULL);
	sh->w_acquired = tt_now();
	sh->w_result = r;
	if (r == 0)
		pidlock_release(l);
	sh->stage = 3;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define CONTENDERS 4
#define TAKES 500

static int contender(void *arg)
{
	volatile long *timeouts = arg;
	long i, n = tt_scaled(TAKES);
	pidlock *l;
	int r;

	for (i = 0; i < n; i++) {
		r = pidlock_acquire(lock_path, 0, 5000, &l, NULL);
		if (r == -EAGAIN) {
			__atomic_add_fetch(timeouts, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (r < 0)
			return 1;
		usleep(200);
		pidlock_release(l);
	}
	return 0;
}

static void contend(struct shared *sh)
{
	volatile long *timeouts = (volatile long *)&sh->w_result;
	pid_t pids[CONTENDERS];
	int i;

	*timeouts = 0;
	for (i = 0; i < CONTENDERS; i++)
		pids[i] = tt_spawn(contender, (void *)timeouts);
	for (i = 0; i < CONTENDERS; i++)
		if (tt_wait(pids[i]) != 0)
			tt_fail("replaced: a contender failed");
	printf("replaced: %d contenders x %ld timed acquires (5 s): %ld timed out\n", CONTENDERS,
	       tt_scaled(TAKES), *timeouts);
	if (*timeouts)
		tt_fail("replaced: %ld timed acquires gave up while the lock changed hands", *timeouts);
}

int main(void)
{
	struct shared *sh = tt_shared(sizeof *sh);
	char *dir = tt_tmpdir("replaced");
	long rounds = tt_scaled(ROUNDS), i, n = 0, timeouts = 0;
	double *ms = calloc((size_t)rounds, sizeof *ms);
	pidlock *a, *b;
	pid_t w;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(lock_path, sizeof lock_path, "%s/daemon.lock", dir);
	for (i = 0; i < rounds; i++) {
		memset((void *)sh, 0, sizeof *sh);
		if ((r = pidlock_acquire(lock_path, 0, 0, &a, NULL)) < 0) {
			tt_fail("replaced: A's acquire: %s", strerror(-r));
			break;
		}
		w = tt_spawn(waiter, sh);
		wait_stage(sh, 1);
		usleep(2000); /* W is asleep on A's file now */
		pidlock_release(a);
		/* B takes the path at once (it races W for it: W may win, then B waits) */
		r = pidlock_acquire(lock_path, 0, 2000, &b, NULL);
		if (r == 0) {
			usleep(1000);
			sh->b_released = tt_now();
			pidlock_release(b);
		}
		sh->stage = sh->stage < 2 ? 2 : sh->stage;
		tt_wait(w);
		if (sh->w_result == -EAGAIN)
			timeouts++;
		else if (sh->w_result != 0)
			tt_fail("replaced: W's acquire: %s", strerror(-sh->w_result));
		else if (r == 0 && sh->w_acquired >= sh->b_released)
			ms[n++] = (sh->w_acquired - sh->b_released) * 1000;
	}
	qsort(ms, (size_t)n, sizeof *ms, cmp);
	printf("replaced: %ld rounds, %ld handoffs after a replacement: median %.3f ms, p99 %.3f "
	       "ms, worst %.3f ms; %ld waiters timed out\n", rounds, n, n ? ms[n / 2] : 0.0,
	       n ? ms[(n * 99) / 100] : 0.0, n ? ms[n - 1] : 0.0, timeouts);
	if (timeouts)
		tt_fail("replaced: %ld waiters timed out although the lock was free", timeouts);
	if (n < rounds / 4)
		tt_fail("replaced: only %ld of %ld rounds handed over after B", n, rounds);
	free(ms);
	contend(sh);
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
