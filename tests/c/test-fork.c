/* Forked copies of a lock: a worker's copy does not outlive
 * the owner's release, a waiter never sleeps on a file that left the path, and a child made
 * without pthread_atfork (_Fork(), a raw clone) is still a child. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* A process that acquires @path, forks a worker that keeps the descriptor and sleeps, waits
 * for a byte on @go, releases 200 ms later (so the waiter is already waiting), then sleeps; returns it (the worker is its child and
 * goes with it: the worker dies of SIGKILL when the owner is killed, by PR_SET_PDEATHSIG). */
static pid_t owner_with_worker(const char *path, unsigned flags, int go, int ready)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pidlock *l;
		char c = 'n';
		pid_t worker;

		if (pidlock_acquire(path, flags, 0, &l, NULL) == 0) {
			worker = fork();
			if (worker == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				for (;;)
					pause(); /* the worker: holds a copy of the descriptor */
			}
			c = worker > 0 ? 'y' : 'n';
		}
		if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
			_exit(1);
		usleep(200000); /* the waiter is asleep on the file by now */
		pidlock_release(l);
		for (;;)
			pause();
	}
	return pid;
}

static void worker_copy_does_not_keep_lock(unsigned flags, int timeout)
{
	int go[2], ready[2];
	char c;
	pidlock *l = NULL;
	pid_t owner;
	long long t0;
	int r;

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ready), 0);
	owner = owner_with_worker(tpath("f.lock"), flags, go[0], ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	/* A waiter already waiting when the owner releases. */
	ck_assert_int_eq(pidlock_acquire(tpath("f.lock"), flags, 0, &l, NULL), -EAGAIN);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	t0 = now_ms();
	r = pidlock_acquire(tpath("f.lock"), flags, timeout, &l, NULL);
	printf("fork: flags %u timeout %d: taken %lld ms after the owner's release (worker alive)\n",
	       flags, timeout, now_ms() - t0 - 200);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("f.lock")), getpid());
	pidlock_release(l);
	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
}

START_TEST(worker_copy_released_with_owner_unlinking)
{
	worker_copy_does_not_keep_lock(0, 5000);
}
END_TEST

START_TEST(worker_copy_released_with_owner_keep_file)
{
	worker_copy_does_not_keep_lock(PIDLOCK_KEEP_FILE, 5000);
}
END_TEST

START_TEST(worker_copy_released_with_owner_endless_wait)
{
	worker_copy_does_not_keep_lock(0, PIDLOCK_WAIT_FOREVER);
}
END_TEST

START_TEST(worker_copy_released_with_owner_endless_wait_keep_file)
{
	worker_copy_does_not_keep_lock(PIDLOCK_KEEP_FILE, PIDLOCK_WAIT_FOREVER);
}
END_TEST

/* The waiter is itself a child the holder forked: it waits, the holder releases. */
START_TEST(waiter_forked_by_holder)
{
	pidlock *l, *mine;
	int status;
	pid_t child;

	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int r = pidlock_acquire(tpath("c.lock"), 0, 5000, &mine, NULL);
		_exit(r == 0 && pidlock_read_pid(tpath("c.lock")) == getpid() ? 0 : 1);
	}
	usleep(100000);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* The file the waiter sleeps on leaves the path while a copy keeps it locked (here the holder
 * removes it by hand) and a new holder takes the path: the waiter gives up naming the new
 * holder, not the one whose file is gone. */
START_TEST(gave_up_waiter_names_current_holder)
{
	pid_t first = start_holder(tpath("g.lock"), 0, false), second, holder = 0;
	pidlock *l = NULL;
	pid_t waiter;
	int p[2], status;

	ck_assert_int_eq(pipe(p), 0);
	waiter = fork();
	ck_assert_int_ge(waiter, 0);
	if (waiter == 0) {
		int r = pidlock_acquire(tpath("g.lock"), 0, 1500, &l, &holder);
		_exit(r == -EAGAIN && write(p[1], &holder, sizeof holder) == sizeof holder ? 0 : 1);
	}
	usleep(200000);
	/* The second holder's file takes the path in one step, so the waiter cannot find the
	 * path free in between (it would rightly take the lock then). */
	second = start_holder(tpath("g2.lock"), 0, false);
	ck_assert_int_eq(rename(tpath("g2.lock"), tpath("g.lock")), 0);
	ck_assert_int_eq(waitpid(waiter, &status, 0), waiter);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(read(p[0], &holder, sizeof holder), sizeof holder);
	ck_assert_int_eq(holder, second);
	stop_holder(first);
	stop_holder(second);
}
END_TEST

/* A child made without pthread_atfork: its copy is a copy. @how 0: _Fork(), 1: a raw clone
 * system call. */
static pid_t fork_without_atfork(int how)
{
	if (how == 0)
		return _Fork();
	return (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Whether a child made without pthread_atfork is noticed here at all: the portable build
 * has no MADV_WIPEONFORK page, and qemu-user accepts the advice without wiping. */
static bool raw_children_noticed(void)
{
	long size = sysconf(_SC_PAGESIZE);
	volatile int *p;
	int status;
	pid_t child;

	if (flock_build()) {
		printf("documented difference: the portable build notices only children made by "
		       "fork() (pthread_atfork), not by _Fork() or a raw clone\n");
		return false;
	}
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(p != MAP_FAILED);
	if (madvise((void *)p, (size_t)size, MADV_WIPEONFORK) < 0) {
		munmap((void *)p, (size_t)size);
		return false;
	}
	*p = 42;
	child = fork_without_atfork(1);
	if (child == 0)
		_exit(*p == 0 ? 0 : 1);
	waitpid(child, &status, 0);
	munmap((void *)p, (size_t)size);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	printf("documented difference: this kernel (or emulator: qemu-user) accepts "
	       "MADV_WIPEONFORK without wiping; only fork() children are noticed\n");
	return false;
}

static void raw_child_is_a_copy(int how)
{
	pidlock *l, *other;
	int status;
	pid_t child;

	if (!raw_children_noticed())
		return;
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 0, &l, NULL), 0);
	child = fork_without_atfork(how);
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* The child's release only closes its copy; its own new lock records its own PID. */
		int ok = pidlock_release(l) == 0 && exists(tpath("r.lock")) &&
			 pidlock_acquire(tpath("o.lock"), 0, 0, &other, NULL) == 0 &&
			 pidlock_read_pid(tpath("o.lock")) == (int)syscall(SYS_getpid) &&
			 pidlock_pid(other) == (pid_t)syscall(SYS_getpid) &&
			 pidlock_release(other) == 0;
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent still holds its lock, and a second instance is refused. */
	ck_assert(exists(tpath("r.lock")));
	ck_assert_int_eq(pidlock_read_pid(tpath("r.lock")), getpid());
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 0, &other, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("r.lock")));
}

/* The daemonize flow with a child made without pthread_atfork: the child adopts the lock,
 * then the parent releases; that release only closes the parent's copy. */
static void raw_daemonize(int how)
{
	pidlock *l, *other;
	int status, p[2], q[2];
	char c;
	pid_t child;

	if (!raw_children_noticed())
		return;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &l, NULL), 0);
	child = fork_without_atfork(how);
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		c = pidlock_update(l) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || read(q[0], &c, 1) != 1)
			_exit(2);
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(pidlock_release(l), 0);
	/* The daemon child still holds its file: a second instance is refused. */
	ck_assert(exists(tpath("a.lock")));
	ck_assert_int_eq(pidlock_read_pid(tpath("a.lock")), child);
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &other, NULL), -EAGAIN);
	ck_assert_int_eq(write(q[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!exists(tpath("a.lock")));
}

START_TEST(underscore_fork_daemonize) { raw_daemonize(0); }
END_TEST
START_TEST(raw_clone_daemonize) { raw_daemonize(1); }
END_TEST

START_TEST(underscore_fork_child_is_a_copy) { raw_child_is_a_copy(0); }
END_TEST
START_TEST(raw_clone_child_is_a_copy) { raw_child_is_a_copy(1); }
END_TEST

/* The daemonize flow in the wrong order: the parent releases before the child's update. The
 * child's update must say so (-ESTALE) instead of writing its PID into a dead file while a
 * second instance starts. Unlinking: the file and the lock are gone. Kept file: the file
 * stays, but the parent's release let the lock go for every copy, and a second instance took
 * it; the child must not claim it. */
static void update_after_parent_released(const char *path, unsigned flags)
{
	pidlock *l;
	int status, p[2];
	char c;
	pid_t child, second = 0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pidlock_acquire(path, flags, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		_exit(pidlock_update(l) == -ESTALE ? 0 : 1);
	}
	ck_assert_int_eq(pidlock_release(l), 0);
	if (flags & PIDLOCK_KEEP_FILE)
		second = start_holder(path, flags, false);
	ck_assert_int_eq(write(p[1], "g", 1), 1);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (flags & PIDLOCK_KEEP_FILE) {
		ck_assert_int_eq(pidlock_read_pid(path), second);
		stop_holder(second);
	} else {
		ck_assert(!exists(path));
	}
}

START_TEST(update_after_parent_released_fails)
{
	update_after_parent_released(tpath("d.lock"), 0);
}
END_TEST

START_TEST(update_after_parent_released_keep_file_fails)
{
	update_after_parent_released(tpath("k.lock"), PIDLOCK_KEEP_FILE);
}
END_TEST

static void *sleep_thread(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

/* A holder whose main thread exited while another thread runs on: the kernel shows its
 * descriptors through the thread, and it is still named as the holder. */
START_TEST(holder_with_exited_main_thread)
{
	pid_t child, who = 0;
	int p[2], status;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pthread_t t;
		pidlock *l;
		if (pidlock_acquire(tpath("z.lock"), 0, 0, &l, NULL) < 0 ||
		    pthread_create(&t, NULL, sleep_thread, NULL) != 0 || write(p[1], "y", 1) != 1)
			_exit(1);
		pthread_exit(NULL);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	usleep(100000); /* the leader is a zombie now */
	ck_assert_int_eq(pidlock_holder(tpath("z.lock"), &who), 1);
	ck_assert_int_eq(who, child);
	ck_assert_int_eq(pidlock_holds(tpath("z.lock"), child), 1);
	kill(child, SIGKILL);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
}
END_TEST

Suite *suite_fork(void)
{
	Suite *s = suite_create("fork");
	ADD_TCASE(s, "fork", 30,
		  worker_copy_released_with_owner_unlinking,
		  worker_copy_released_with_owner_keep_file,
		  worker_copy_released_with_owner_endless_wait,
		  worker_copy_released_with_owner_endless_wait_keep_file,
		  waiter_forked_by_holder,
		  gave_up_waiter_names_current_holder,
		  underscore_fork_child_is_a_copy,
		  raw_clone_child_is_a_copy,
		  underscore_fork_daemonize,
		  raw_clone_daemonize,
		  update_after_parent_released_fails,
		  update_after_parent_released_keep_file_fails,
		  holder_with_exited_main_thread);
	return s;
}
