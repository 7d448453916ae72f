/* The tests of the module libpidlock replaces, and FreeBSD pidfile's five, ported. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(path_construction)
{
	char buf[PATH_MAX];

	/* 1.1: the environment no longer picks the base (test-paths.c has the rule). */
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	ck_assert_int_gt(pidlock_default_path("myapp", buf, sizeof buf), 0);
	ck_assert_str_ne(buf, "/run/user/1000/myapp/daemon.lock");
	if (geteuid() == 0)
		ck_assert_str_eq(buf, "/run/myapp/daemon.lock");
	ck_assert_int_eq(pidlock_path_for_dir("/var/lib/myapp", buf, sizeof buf), 26);
	ck_assert_str_eq(buf, "/var/lib/myapp/daemon.lock");
}
END_TEST

START_TEST(read_pid_missing_valid_empty)
{
	ck_assert_int_eq(pidlock_read_pid(tpath("missing")), 0);
	write_file(tpath("valid"), "4242\n");
	ck_assert_int_eq(pidlock_read_pid(tpath("valid")), 4242);
	write_file(tpath("empty"), "");
	ck_assert_int_eq(pidlock_read_pid(tpath("empty")), 0);
}
END_TEST

START_TEST(pid_alive_self_zero_overflow)
{
	ck_assert_int_eq(pidlock_pid_alive(getpid()), 1);
	ck_assert_int_eq(pidlock_pid_alive(0), 0);
	ck_assert_int_eq(pidlock_pid_alive(-1), 0);
	ck_assert_int_eq(pidlock_pid_alive((long long)INT_MAX + 1), 0);
	ck_assert_int_eq(pidlock_pid_alive(1LL << 40), 0);
	ck_assert_int_eq(pidlock_pid_alive(dead_pid()), 0);
	/* PID 1 belongs to another user for most callers; EPERM still means alive. */
	ck_assert_int_eq(pidlock_pid_alive(1), 1);
}
END_TEST

START_TEST(acquire_writes_own_pid)
{
	pidlock *l;
	char buf[64], want[32];

	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &l, NULL), 0);
	snprintf(want, sizeof want, "%d\n", (int)getpid());
	ck_assert_int_eq(read_file(tpath("a.lock"), buf, sizeof buf), (ssize_t)strlen(want));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(pidlock_pid(l), getpid());
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

START_TEST(reclaims_dead_pid)
{
	pidlock *l;

	write_pid_file(tpath("a.lock"), dead_pid());
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("a.lock")), getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(refuses_live_pid_with_check_pid)
{
	pidlock *l = NULL;
	pid_t holder = 0, child = sleeper();

	/* Written after the child started, with no kernel lock: the original design's file. */
	usleep(20000);
	write_pid_file(tpath("a.lock"), child);
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), PIDLOCK_CHECK_PID, 0, &l, &holder), -EAGAIN);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(holder, child);
	/* The refused attempt left the file as it found it. */
	ck_assert_int_eq(pidlock_read_pid(tpath("a.lock")), child);
	/* Without the flag only the kernel lock counts: nobody holds it. */
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &l, NULL), 0);
	pidlock_release(l);
	stop_holder(child);
}
END_TEST

START_TEST(release_removes_file)
{
	pidlock *l;

	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &l, NULL), 0);
	ck_assert(exists(tpath("a.lock")));
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("a.lock")));
}
END_TEST

/* FreeBSD's pidfile tests: uncontested, self, contested, inherited, relative. */
START_TEST(fbsd_uncontested)
{
	pidlock *l;
	pid_t holder = 123;

	ck_assert_int_eq(pidlock_acquire(tpath("u.lock"), 0, 0, &l, &holder), 0);
	ck_assert_int_eq(holder, 0);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

START_TEST(fbsd_self)
{
	pidlock *l, *again = NULL;
	pid_t holder = 0;

	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &again, &holder), -EAGAIN);
	ck_assert_ptr_null(again);
	ck_assert_int_eq(holder, getpid());
	/* The refused attempt left the holder's file alone. */
	ck_assert_int_eq(pidlock_read_pid(tpath("s.lock")), getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(fbsd_contested)
{
	pidlock *l = NULL;
	pid_t holder = 0, child = start_holder(tpath("c.lock"), 0, false);

	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &l, &holder), -EAGAIN);
	ck_assert_int_eq(holder, child);
	stop_holder(child);
	/* SIGKILL left the file; the lock went with the process. */
	ck_assert(exists(tpath("c.lock")));
	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &l, &holder), 0);
	pidlock_release(l);
}
END_TEST

START_TEST(fbsd_inherited)
{
	pidlock *l;
	int status;
	pid_t child;

	ck_assert_int_eq(pidlock_acquire(tpath("i.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pidlock *mine = NULL;
		pid_t holder = 0;
		/* The inherited descriptor is the parent's lock: the child cannot take it anew. */
		int r = pidlock_acquire(tpath("i.lock"), 0, 0, &mine, &holder);
		_exit(r == -EAGAIN && holder == getppid() ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("i.lock")), getpid());
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

START_TEST(fbsd_relative)
{
	pidlock *l;
	char cwd[PATH_MAX];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tdir), 0);
	ck_assert_int_eq(pidlock_acquire("rel.lock", 0, 0, &l, NULL), 0);
	ck_assert_str_eq(pidlock_path(l), "rel.lock");
	ck_assert(exists(tpath("rel.lock")));
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("rel.lock")));
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

Suite *suite_port(void)
{
	Suite *s = suite_create("port");
	ADD_TCASE(s, "original-module", 0,
		  path_construction,
		  read_pid_missing_valid_empty,
		  pid_alive_self_zero_overflow,
		  acquire_writes_own_pid,
		  reclaims_dead_pid,
		  refuses_live_pid_with_check_pid,
		  release_removes_file);
	ADD_TCASE(s, "freebsd-pidfile", 0,
		  fbsd_uncontested,
		  fbsd_self,
		  fbsd_contested,
		  fbsd_inherited,
		  fbsd_relative);
	return s;
}
