/* handoff LOCK PATH ROUNDS HOLD_MIN_US HOLD_SPAN_US [worker]: how soon a blocked waiter takes
 * over. With "worker" the holder forks a child each round that keeps a copy of the lock's
 * descriptor open (a prefork worker) until the waiter has the lock: the release must wake the
 * waiter without the close event that the worker's copy holds back.
 *
 * Each round the holder takes the lock, tells the waiter to go, holds for a random time in
 * [HOLD_MIN, HOLD_MIN + HOLD_SPAN] µs (long enough for the waiter to be asleep in its wait),
 * stamps CLOCK_MONOTONIC just before it releases, and the waiter stamps the clock as soon as
 * its acquire returns. Prints the median and p99 of (waiter's stamp - holder's stamp) in ns,
 * and the number of rounds. The stamps live in shared memory; pipes only order the rounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

struct stamps {
	volatile long long released;
	volatile long long acquired;
};

static void waiter(const struct waitlock *wl, const char *path, struct stamps *st, int go,
		   int done)
{
	char c;

	while (read(go, &c, 1) == 1) {
		struct held h = wl->acquire(path);

		st->acquired = now_ns();
		wl->release(h);
		if (write(done, "x", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

int cmd_handoff(int argc, char **argv)
{
	const struct waitlock *wl;
	struct stamps *st;
	long long *samples, median, p99, hold_min, hold_span;
	long rounds;
	int go[2], done[2], status;
	pid_t pid;
	char c;

	bool with_worker = argc == 6 && strcmp(argv[5], "worker") == 0;

	if (argc != 5 && !with_worker) {
		fprintf(stderr, "usage: pidlock-bench handoff LOCK PATH ROUNDS HOLD_MIN_US HOLD_SPAN_US [worker]\n");
		return 2;
	}
	wl = waitlock_find(argv[0]);
	rounds = arg_long(argv[2], "ROUNDS");
	hold_min = arg_long(argv[3], "HOLD_MIN_US") * 1000LL;
	hold_span = arg_long(argv[4], "HOLD_SPAN_US") * 1000LL;
	samples = calloc((size_t)rounds + 1, sizeof *samples);
	if (!samples)
		die("calloc", ENOMEM);
	st = shared_alloc(sizeof *st);
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(go[1]);
		close(done[0]);
		waiter(wl, argv[1], st, go[0], done[1]);
	}
	close(go[0]);
	close(done[1]);

	for (long i = 0; i < rounds; i++) {
		struct held h = wl->acquire(argv[1]);
		long long hold = hold_min + (hold_span ? (long long)(next_random() % (unsigned long long)hold_span) : 0);
		pid_t worker = with_worker ? fork() : -1;

		if (worker == 0) {
			pause();
			_exit(0);
		}
		if (write(go[1], "x", 1) != 1)
			die("waiter gone", EPIPE);
		sleep_ns(hold);
		st->released = now_ns();
		wl->release(h);
		if (read(done[0], &c, 1) != 1)
			die("waiter failed", EIO);
		samples[i] = st->acquired - st->released;
		if (worker > 0) {
			kill(worker, SIGKILL);
			waitpid(worker, NULL, 0);
		}
	}
	close(go[1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("waiter failed", EIO);
	summarize(samples, (size_t)rounds, &median, &p99);
	printf("%lld %lld %ld\n", median, p99, rounds);
	free(samples);
	return 0;
}
