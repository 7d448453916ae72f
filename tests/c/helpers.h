/* Shared by the Check suites: scratch directories, file contents, helper processes. */
#ifndef PIDLOCK_TEST_HELPERS_H
#define PIDLOCK_TEST_HELPERS_H

#include <check.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pidlock.h"

/* A fresh directory for one test (removed by the checked fixture), and paths inside it. */
extern char tdir[];
void tdir_setup(void);
void tdir_teardown(void);
const char *tpath(const char *name);

/* File helpers; read_file returns the byte count or -1 when missing. */
void write_file(const char *path, const char *content);
ssize_t read_file(const char *path, char *buf, size_t size);
bool exists(const char *path);
int open_fd_count(void);

/* A process that holds the lock at @path until stop_holder(). With @no_write the child
 * empties the file once it holds the lock (an acquirer "not written yet"). */
pid_t start_holder(const char *path, unsigned flags, bool no_write);
/* A child stopped in pause() after @prepare(@arg) returned 0 in it (the test fails if not);
 * end it with stop_holder(). */
pid_t paused_child(int (*prepare)(void *), void *arg);
void stop_holder(pid_t pid);
/* Waits for child @pid: its exit status, 128 + the signal that ended it, or -1. */
int wait_child(pid_t pid);

/* Milliseconds on the monotonic clock (bounds and printed figures, never assertions). */
long long now_ms(void);

/* The number of this process's descriptor whose /proc link reads @target, or -1. */
int fd_linking_to(const char *target);

/* A PID that certainly belonged to a process that has exited. */
pid_t dead_pid(void);

/* True when the library under test is the flock fallback (cmake -DPIDLOCK_LOCK=flock): where
 * the fallback cannot give a guarantee, the test measures and prints instead. */
bool flock_build(void);

/* A live child that only sleeps (end it with stop_holder()), and a file saying "PID\n" as
 * code that holds no kernel lock writes it. */
pid_t sleeper(void);
void write_pid_file(const char *path, pid_t pid);

/* Runs @fn in a child with the effective uid of nobody; returns its exit status. */
int as_nobody(int (*fn)(void *), void *arg);

/* Adds to @s a test case of @tests, each run in a fresh tdir; @timeout 0 keeps Check's. */
TCase *add_tcase(Suite *s, const char *name, int timeout, const TTest *const *tests, size_t n);
#define ADD_TCASE(s, name, timeout, ...)                                          \
	add_tcase(s, name, timeout, (const TTest *const[]){ __VA_ARGS__ },         \
		  sizeof((const TTest *const[]){ __VA_ARGS__ }) / sizeof(const TTest *))

/* A test that cannot run here calls skip_test("name: why") and returns: it prints "skipped
 * name: why" and counts the skip where the runner sees it, also from Check's forked children
 * (skips_start() makes the counter before the suites run). The runner exits 77 when tests
 * were skipped and none failed, and ctest reports the suite as skipped. */
void skip_test(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void skips_start(void);
int skips_counted(void);

/* Every suite (tests/c/suites.h is the list). */
#define SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef SUITE

#endif
