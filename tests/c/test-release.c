/* Letting go: never another's file, never the parent's lock from a child, the daemonize flow. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(release_null_is_noop)
{
	ck_assert_int_eq(pidlock_release(NULL), 0);
}
END_TEST

START_TEST(child_release_keeps_parent_lock)
{
	pidlock *l;
	pid_t child, who = 0;

	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	ck_assert_int_eq(wait_child(child), 0);
	ck_assert(exists(tpath("p.lock")));
	ck_assert_int_eq(pidlock_read_pid(tpath("p.lock")), getpid());
	ck_assert_int_eq(pidlock_holder(tpath("p.lock"), &who), 1);
	ck_assert_int_eq(who, getpid());
	/* KEEP_FILE too: the child must not empty the parent's file. */
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	ck_assert_int_eq(wait_child(child), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("p.lock")), getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(child_exit_keeps_parent_lock)
{
	pidlock *l, *other = NULL;
	pid_t child;

	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0); /* the kernel closes the child's copy; nothing else may happen */
	ck_assert_int_eq(wait_child(child), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &other, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_read_pid(tpath("p.lock")), getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(daemonize_flow)
{
	pidlock *l;
	pid_t child, who = 0;
	int ready[2];
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("d.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		c = pidlock_update(l) == 0 && pidlock_pid(l) == getpid() ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	/* The parent returns normally: its release must leave the child's file and lock. */
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("d.lock")), child);
	ck_assert_int_eq(pidlock_holder(tpath("d.lock"), &who), 1);
	/* flock keeps the parent's PID on the lock after the child adopts it: while the parent
	 * lives, the fallback cannot show the child holding it (pidlock(3)). */
	if (flock_build())
		printf("daemonize_flow: flock build, holder reported as %d while the parent lives\n",
		       (int)who);
	else
		ck_assert_int_eq(who, child);
	kill(child, SIGKILL);
	wait_child(child);
	ck_assert_int_eq(pidlock_holder(tpath("d.lock"), &who), 0);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(adopting_child_releases_for_real)
{
	pidlock *l;
	pid_t child;

	ck_assert_int_eq(pidlock_acquire(tpath("d.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (pidlock_update(l) < 0)
			_exit(1);
		_exit(pidlock_release(l) == 0 ? 0 : 2);
	}
	ck_assert_int_eq(wait_child(child), 0);
	/* The child owned the file and removed it. The parent's descriptor now holds no lock,
	 * which nothing tells from a number closed behind its back and reused by other code for
	 * the same file: it says so and closes nothing. */
	ck_assert(!exists(tpath("d.lock")));
	ck_assert_int_eq(pidlock_release(l), -EBADFD);
}
END_TEST

START_TEST(never_unlinks_a_replaced_file)
{
	pidlock *l;
	char buf[64];

	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 0, &l, NULL), 0);
	/* Someone removed our file and another file took the name. */
	ck_assert_int_eq(unlink(tpath("r.lock")), 0);
	write_file(tpath("r.lock"), "999\n");
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(read_file(tpath("r.lock"), buf, sizeof buf), 4);
	ck_assert_str_eq(buf, "999\n");
}
END_TEST

START_TEST(release_after_file_vanished)
{
	pidlock *l;

	ck_assert_int_eq(pidlock_acquire(tpath("v.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(unlink(tpath("v.lock")), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("v.lock")));
}
END_TEST

START_TEST(exec_does_not_inherit_lock)
{
	pidlock *l, *again;
	pid_t child;

	ck_assert_int_eq(pidlock_acquire(tpath("x.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	usleep(100000); /* let the exec happen; a kept descriptor would then hold the lock */
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("x.lock"), 0, 0, &again, NULL), 0);
	pidlock_release(again);
	kill(child, SIGKILL);
	wait_child(child);
}
END_TEST

Suite *suite_release(void)
{
	Suite *s = suite_create("release");
	ADD_TCASE(s, "release", 0,
		  release_null_is_noop,
		  child_release_keeps_parent_lock,
		  child_exit_keeps_parent_lock,
		  daemonize_flow,
		  adopting_child_releases_for_real,
		  never_unlinks_a_replaced_file,
		  release_after_file_vanished,
		  exec_does_not_inherit_lock);
	return s;
}
