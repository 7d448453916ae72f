/* Shared by the torture programs: shared-memory counters, bounded runs, descriptor counts and
 * throw-away directories. Every program prints its figures and exits 1 when one is wrong. */
#ifndef TORTURE_H
#define TORTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* PIDLOCK_TORTURE_SCALE (percent, default 100) shrinks round counts, e.g. for the slower
 * sanitizer build; never below 1 round. */
long tt_scaled(long rounds);

/* Anonymous MAP_SHARED memory that survives fork(): where holders count themselves. */
void *tt_shared(size_t size);

/* Seconds on the monotonic clock: time caps are deadlines on it. */
double tt_now(void);

/* A fresh directory under /dev/shm (tmpfs: fast, like /run) or /tmp; removed, with what is
 * in it, by tt_rmtree(). */
char *tt_tmpdir(const char *tag);
void tt_rmtree(const char *dir);

/* Descriptors open in this process right now (entries of /proc/self/fd, minus the one used
 * to read it). */
int tt_count_fds(void);

/* How many entries besides . and .. are in @dir; -1 when it cannot be read. */
int tt_dir_entries(const char *dir);

/* Fork a child that runs fn(arg) and _exit()s with its return value (tt_failures() there
 * counts the child's own failures only); returns the PID. */
pid_t tt_spawn(int (*fn)(void *), void *arg);

/* waitpid() for @pid: its exit status, or 128 + signal, or -1. */
int tt_wait(pid_t pid);

/* A PID that belonged to a process which has exited and been reaped. */
pid_t tt_dead_pid(void);

/* Write @len bytes of @data to @path (created 0644 or truncated); 0 or -errno. */
int tt_write_file(const char *path, const void *data, size_t len);

/* True when the library under test is the flock fallback (cmake -DPIDLOCK_LOCK=flock): where
 * the fallback cannot give a guarantee, a program measures and prints instead. */
bool tt_flock_build(void);

/* Print "FAIL: ..." and count it; tt_failures() is the exit status to return. */
void tt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tt_failures(void);

#endif
