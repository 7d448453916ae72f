/* contention LOCK PATH NPROC DURATION_MS: NPROC processes take turns on one lock, each
 * acquiring with a wait and releasing at once, for DURATION_MS. Prints acquisitions per
 * second over all processes, the fewest and most acquisitions one process made (the spread
 * shows whether waiting is fair or a releaser keeps winning) and the CPU time (user + system)
 * of all processes together per acquisition in ns: a release that wakes every waiter to race
 * for the lock shows here as CPU per handoff that grows with NPROC. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_PROCS 256

struct board {
	volatile long long end;
	volatile long long count[MAX_PROCS];
};

static void contender(const struct waitlock *wl, const char *path, struct board *b, int slot,
		      int gate)
{
	long long n = 0;
	char c;

	/* the gate opens (EOF) once every contender exists, so nobody runs alone at first */
	while (read(gate, &c, 1) > 0)
		;
	for (;;) {
		struct held h = wl->acquire(path);
		int in_time = now_ns() < b->end;

		wl->release(h);
		if (!in_time)
			break;
		n++;
	}
	b->count[slot] = n;
	_exit(0);
}

int cmd_contention(int argc, char **argv)
{
	const struct waitlock *wl;
	struct board *b;
	long nproc, duration_ms;
	long long total = 0, lo = -1, hi = 0, cpu;
	struct rusage ru;
	pid_t pids[MAX_PROCS];
	int gate[2], status, failed = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: pidlock-bench contention LOCK PATH NPROC DURATION_MS\n");
		return 2;
	}
	wl = waitlock_find(argv[0]);
	nproc = arg_long(argv[2], "NPROC");
	duration_ms = arg_long(argv[3], "DURATION_MS");
	if (nproc < 1 || nproc > MAX_PROCS) {
		fprintf(stderr, "pidlock-bench: NPROC must be 1..%d\n", MAX_PROCS);
		return 2;
	}
	b = shared_alloc(sizeof *b);
	if (pipe2(gate, O_CLOEXEC) < 0)
		die("pipe", errno);
	for (long i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0) {
			close(gate[1]);
			contender(wl, argv[1], b, (int)i, gate[0]);
		}
	}
	close(gate[0]);
	b->end = now_ns() + duration_ms * 1000000LL;
	close(gate[1]);
	for (long i = 0; i < nproc; i++)
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		die("a contender failed", EIO);
	for (long i = 0; i < nproc; i++) {
		total += b->count[i];
		if (lo < 0 || b->count[i] < lo)
			lo = b->count[i];
		if (b->count[i] > hi)
			hi = b->count[i];
	}
	/* every child has been waited for: their user and system time, and nobody else's */
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0)
		die("getrusage", errno);
	cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	printf("%.1f %lld %lld %lld\n", duration_ms ? total * 1000.0 / (double)duration_ms : 0.0, lo,
	       hi, total ? cpu / total : 0);
	return 0;
}
