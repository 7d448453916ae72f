/* Waiting for the lock: takes over after a release, honours its timeout, lets signals in. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* A holder that keeps the lock @ms milliseconds, then releases (or dies). */
static pid_t hold_for(const char *path, unsigned flags, int ms, bool die)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pidlock *l;
		c = pidlock_acquire(path, flags, 0, &l, NULL) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		usleep((useconds_t)ms * 1000);
		if (die)
			raise(SIGKILL);
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	close(p[0]);
	close(p[1]);
	return pid;
}

static void wait_released(const char *path, unsigned holder_flags, bool die, int timeout)
{
	pidlock *l;
	pid_t child = hold_for(path, holder_flags, 100, die);

	ck_assert_int_eq(pidlock_acquire(path, 0, timeout, &l, NULL), 0);
	ck_assert_int_eq(pidlock_read_pid(path), getpid());
	pidlock_release(l);
	waitpid(child, NULL, 0);
}

START_TEST(waiter_takes_over_after_unlinking_release)
{
	wait_released(tpath("w.lock"), 0, false, PIDLOCK_WAIT_FOREVER);
}
END_TEST

START_TEST(waiter_takes_over_after_keep_file_release)
{
	wait_released(tpath("w.lock"), PIDLOCK_KEEP_FILE, false, 10000);
}
END_TEST

START_TEST(waiter_takes_over_from_killed_holder)
{
	wait_released(tpath("w.lock"), 0, true, PIDLOCK_WAIT_FOREVER);
}
END_TEST

START_TEST(timeout_is_honoured)
{
	pidlock *l = NULL;
	pid_t holder = 0, child = start_holder(tpath("t.lock"), 0, false);
	int fds;
	long long t0;

	/* The first timed wait leaves the inotify descriptor kept for the next; no more. */
	ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), 0, 1, &l, &holder), -EAGAIN);
	fds = open_fd_count();
	t0 = now_ms();
	ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), 0, 150, &l, &holder), -EAGAIN);
	ck_assert_int_ge(now_ms() - t0, 150);
	ck_assert_int_eq(holder, child);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(open_fd_count(), fds);
	ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), 0, 20, &l, &holder), -EAGAIN);
	ck_assert_int_eq(open_fd_count(), fds);
	stop_holder(child);
}
END_TEST

START_TEST(timed_waits_in_parent_then_child)
{
	pidlock *l = NULL;
	pid_t child;
	int status;

	/* The parent's wait leaves its inotify instance for later; a forked child must make
	 * its own and still see the release. */
	wait_released(tpath("p.lock"), 0, false, 10000);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pid_t holder = hold_for(tpath("p.lock"), 0, 100, false);
		int r = pidlock_acquire(tpath("p.lock"), 0, 10000, &l, NULL);
		pidlock_release(l);
		waitpid(holder, NULL, 0);
		_exit(r == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	wait_released(tpath("p.lock"), 0, false, 10000);
}
END_TEST

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

/* Repeating, so a wait that starts late (a loaded machine) still meets a signal. */
static void arm(int ms)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = ms * 1000 }, .it_interval = { .tv_usec = ms * 1000 } };

	alarms = 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	struct itimerval off = { 0 };

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
}

START_TEST(signal_runs_handler_and_wait_goes_on)
{
	pidlock *l;
	pid_t child = hold_for(tpath("s.lock"), 0, 300, false);

	arm(50);
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, PIDLOCK_WAIT_FOREVER, &l, NULL), 0);
	disarm();
	ck_assert_int_ge(alarms, 2);
	pidlock_release(l);
	waitpid(child, NULL, 0);
}
END_TEST

START_TEST(interruptible_wait_returns_eintr)
{
	pidlock *l = NULL;
	pid_t child = start_holder(tpath("i.lock"), 0, false);
	int fds;

	/* An endless wait now sleeps on inotify too: the first wait leaves the instance kept
	 * for the next one (pidlock.h), later ones leave nothing. */
	ck_assert_int_eq(pidlock_acquire(tpath("i.lock"), 0, 1, &l, NULL), -EAGAIN);
	fds = open_fd_count();
	arm(50);
	ck_assert_int_eq(pidlock_acquire(tpath("i.lock"), PIDLOCK_INTERRUPTIBLE, PIDLOCK_WAIT_FOREVER, &l, NULL), -EINTR);
	disarm();
	ck_assert_int_ge(alarms, 1);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(open_fd_count(), fds);
	stop_holder(child);
}
END_TEST

/* The header's rule, the same for both waits: with PIDLOCK_INTERRUPTIBLE any handler ends
 * the wait, SA_RESTART or not (1.0's endless wait carried on after an SA_RESTART handler
 * while its timed wait returned -EINTR). */
static void on_alarm_restart(int sig) { (void)sig; alarms++; }

START_TEST(sa_restart_handler_same_for_both_waits)
{
	struct sigaction sa = { .sa_handler = on_alarm_restart, .sa_flags = SA_RESTART };
	struct itimerval every = { { 0, 50000 }, { 0, 50000 } }, off = { { 0, 0 }, { 0, 0 } };
	pid_t child = start_holder(tpath("r.lock"), 0, false);
	int timeouts[] = { PIDLOCK_WAIT_FOREVER, 5000 };
	pidlock *l = NULL;
	size_t i;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	for (i = 0; i < 2; i++) {
		alarms = 0;
		setitimer(ITIMER_REAL, &every, NULL);
		ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_INTERRUPTIBLE, timeouts[i],
						 &l, NULL), -EINTR);
		setitimer(ITIMER_REAL, &off, NULL);
		ck_assert_int_ge(alarms, 1);
	}
	/* Without the flag, neither wait ends before its timeout. */
	alarms = 0;
	setitimer(ITIMER_REAL, &every, NULL);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 300, &l, NULL), -EAGAIN);
	setitimer(ITIMER_REAL, &off, NULL);
	ck_assert_int_ge(alarms, 2);
	signal(SIGALRM, SIG_DFL);
	stop_holder(child);
}
END_TEST

START_TEST(interruptible_timed_wait_returns_eintr)
{
	pidlock *l = NULL;
	pid_t child = start_holder(tpath("j.lock"), 0, false);

	arm(50);
	ck_assert_int_eq(pidlock_acquire(tpath("j.lock"), PIDLOCK_INTERRUPTIBLE, 10000, &l, NULL), -EINTR);
	disarm();
	ck_assert_int_ge(alarms, 1);
	ck_assert_ptr_null(l);
	stop_holder(child);
}
END_TEST

START_TEST(check_pid_holder_is_waited_out)
{
	pidlock *l;
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		usleep(300000);
		_exit(0);
	}
	usleep(20000);
	write_pid_file(tpath("c.lock"), child);
	/* No kernel lock to wait on: the wait notices the PID's death by polling. */
	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), -EAGAIN);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), PIDLOCK_CHECK_PID, 5000, &l, NULL), 0);
	pidlock_release(l);
}
END_TEST

Suite *suite_wait(void)
{
	Suite *s = suite_create("wait");
	ADD_TCASE(s, "wait", 30,
		  waiter_takes_over_after_unlinking_release,
		  waiter_takes_over_after_keep_file_release,
		  waiter_takes_over_from_killed_holder,
		  timeout_is_honoured,
		  timed_waits_in_parent_then_child,
		  check_pid_holder_is_waited_out);
	/* valgrind does not let a signal end a blocking fcntl(F_OFD_SETLKW). */
	tcase_set_tags(ADD_TCASE(s, "signals", 30,
				 signal_runs_handler_and_wait_goes_on,
				 interruptible_wait_returns_eintr,
				 interruptible_timed_wait_returns_eintr,
				 sa_restart_handler_same_for_both_waits), "no-valgrind");
	return s;
}
