/* The C side of the benchmarks: one program, one subcommand per measurement. Each run prints
 * one line of numbers on stdout; bench/harness.py repeats the runs, takes the medians and
 * writes the report. The program measures one repetition only, so that repetitions of
 * different variants can be interleaved and drift hits them all alike. */
#ifndef PIDLOCK_BENCH_H
#define PIDLOCK_BENCH_H

#include <stddef.h>

#include "pidlock.h"

/* CLOCK_MONOTONIC in ns: the same clock Python's time.monotonic_ns() reads, so timestamps
 * taken in different processes compare. */
long long now_ns(void);
/* CPU time (user + system) of the process, in ns. */
long long cpu_ns(void);
void sleep_ns(long long ns);

/* Memory shared with the children forked after the call (zeroed). */
void *shared_alloc(size_t size);

/* A non-negative integer argument, or exit with a usage error naming @what. */
long arg_long(const char *s, const char *what);

/* Report a failure (@err: an errno, either sign) and exit 1: a benchmark that silently
 * measured a failing call would publish nonsense. */
void die(const char *what, int err);

/* Median and 99th percentile of @n samples (sorted in place). */
void summarize(long long *samples, size_t n, long long *median, long long *p99);

/* A fixed-seed generator for hold times: runs differ only in what they measure. */
unsigned long long next_random(void);

/* A lock that can be waited for, as the handoff and contention runs use one. */
struct held {
	pidlock *lock;
	int fd;
};
struct waitlock {
	const char *name;
	struct held (*acquire)(const char *path);
	void (*release)(struct held h);
};
const struct waitlock *waitlock_find(const char *name);

/* A child holding the pidlock at @path until holder_stop(); returns its PID. */
int holder_start(const char *path);
void holder_stop(int pid);

int cmd_cycle(int argc, char **argv);
int cmd_handoff(int argc, char **argv);
int cmd_contention(int argc, char **argv);
int cmd_probe(int argc, char **argv);
/* The library's version and the names of the locks that can be waited for, one a line. */
int cmd_locks(int argc, char **argv);

#endif
