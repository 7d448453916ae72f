/* The waiter: a descriptor an event loop polls, and a try that never blocks.
 *
 * Every wait here is poll() on pidlock_waiter_fd() bounded at WAKE_BOUND_MS: the bound only
 * turns a missed wake-up into a failure instead of a hang, it is never a timing assertion.
 * Each wake-up cause is made to happen after the waiter has seen the lock held, as it would
 * between two turns of a loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define WAKE_BOUND_MS 5000
#define MAX_WAKES 1000 /* the retry timer wakes a waiter on a held lock; this many is a hang */

static void wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ck_assert_msg(poll(&pfd, 1, WAKE_BOUND_MS) == 1 && (pfd.revents & POLLIN),
		      "the waiter's descriptor did not become readable within %d ms", WAKE_BOUND_MS);
}

static pidlock_waiter *new_waiter(const char *path, unsigned flags)
{
	pidlock_waiter *w = NULL;

	ck_assert_int_eq(pidlock_waiter_new(path, flags, &w), 0);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_ge(pidlock_waiter_fd(w), 0);
	return w;
}

/* One turn: wait for the descriptor, then try. */
static int turn(pidlock_waiter *w, pidlock **l, pid_t *holder)
{
	wait_readable(pidlock_waiter_fd(w));
	return pidlock_waiter_try(w, l, holder);
}

/* Turns until the lock is ours; the waiter is freed. */
static pidlock *take(pidlock_waiter *w)
{
	pidlock *l = NULL;
	pid_t holder;
	int r = -EAGAIN, n;

	for (n = 0; n < MAX_WAKES && r == -EAGAIN; n++)
		r = turn(w, &l, &holder);
	ck_assert_int_eq(r, 0);
	ck_assert_ptr_nonnull(l);
	pidlock_waiter_free(w);
	return l;
}

/* The waiter sees the lock held by @holder, with as many turns as the loop would make. */
static void sees_held(pidlock_waiter *w, pid_t holder)
{
	pidlock *l = (pidlock *)&l; /* set to NULL by every try that does not take the lock */
	pid_t who = 0;

	ck_assert_int_eq(turn(w, &l, &who), -EAGAIN);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(who, holder);
}

/* A holder that releases when told to and then stays alive, so that the wake-up is its
 * release, not its exit. */
struct releaser {
	pid_t pid;
	int go;     /* write a byte: release now */
	int answer; /* 'y' once it holds, then 'y' once it has released */
};

static struct releaser start_releaser(const char *path, unsigned flags)
{
	int answer[2], go[2];
	struct releaser r;
	char c = 0;

	ck_assert_int_eq(pipe2(answer, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	r.pid = fork();
	ck_assert_int_ge(r.pid, 0);
	if (r.pid == 0) {
		pidlock *l;

		c = pidlock_acquire(path, flags, 0, &l, NULL) == 0 ? 'y' : 'n';
		if (write(answer[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		c = pidlock_release(l) == 0 ? 'y' : 'n';
		if (write(answer[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(answer[1]);
	close(go[0]);
	r.go = go[1];
	r.answer = answer[0];
	ck_assert_int_eq(read(r.answer, &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	return r;
}

static void release_now(struct releaser *r)
{
	char c = 'g';

	ck_assert_int_eq(write(r->go, &c, 1), 1);
	ck_assert_int_eq(read(r->answer, &c, 1), 1);
	ck_assert_int_eq(c, 'y');
}

static void released_by_holder(unsigned holder_flags)
{
	const char *path = tpath("r.lock");
	struct releaser r = start_releaser(path, holder_flags);
	pidlock_waiter *w = new_waiter(path, 0);
	pidlock *l;

	sees_held(w, r.pid);
	release_now(&r);
	ck_assert(exists(path) == !!(holder_flags & PIDLOCK_KEEP_FILE));
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(path), getpid());
	ck_assert_int_eq(pidlock_holder(path, NULL), 1);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(path));
	close(r.go);
	close(r.answer);
	stop_holder(r.pid);
}

START_TEST(woken_by_release_with_unlink)
{
	released_by_holder(0);
}
END_TEST

START_TEST(woken_by_release_with_keep_file)
{
	released_by_holder(PIDLOCK_KEEP_FILE);
}
END_TEST

START_TEST(woken_by_holder_sigkill)
{
	pid_t child = start_holder(tpath("k.lock"), 0, false);
	pidlock_waiter *w = new_waiter(tpath("k.lock"), 0);
	pidlock *l;

	sees_held(w, child);
	stop_holder(child);
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("k.lock")), getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(woken_by_holder_that_never_wrote_a_pid)
{
	pid_t child = start_holder(tpath("u.lock"), 0, true);
	pidlock_waiter *w = new_waiter(tpath("u.lock"), 0);
	pidlock *l;

	sees_held(w, -1);
	stop_holder(child);
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("u.lock")), getpid());
	pidlock_release(l);
}
END_TEST

/* Another file takes the path in one step (rename) while the first holder keeps the old one:
 * the waiter must follow the path, see the new holder, ignore the old one's death, and take
 * the lock when the new holder dies. */
START_TEST(follows_file_replaced_at_path)
{
	const char *path = tpath("p.lock");
	pid_t first = start_holder(path, 0, false), second;
	pidlock_waiter *w = new_waiter(path, 0);
	pidlock *l;

	sees_held(w, first);
	second = start_holder(tpath("p2.lock"), 0, false);
	ck_assert_int_eq(rename(tpath("p2.lock"), path), 0);
	sees_held(w, second);
	stop_holder(first); /* its file is no longer at the path: not a handoff */
	sees_held(w, second);
	stop_holder(second);
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(path), getpid());
	pidlock_release(l);
}
END_TEST

/* A free file replaced by an unlocked one: the waiter takes the file now at the path. */
START_TEST(takes_unlocked_file_renamed_over_held_one)
{
	const char *path = tpath("q.lock");
	pid_t first = start_holder(path, 0, false);
	pidlock_waiter *w = new_waiter(path, 0);
	pidlock *l;

	sees_held(w, first);
	write_file(tpath("q2.lock"), "");
	ck_assert_int_eq(rename(tpath("q2.lock"), path), 0);
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(path), getpid());
	ck_assert_int_eq(pidlock_holder(path, NULL), 1);
	pidlock_release(l);
	stop_holder(first);
}
END_TEST

/* Under PIDLOCK_CHECK_PID a PID-only holder sends no event: the retry timer wakes the loop. */
START_TEST(woken_by_timer_for_pid_only_holder)
{
	pid_t child = sleeper();
	pidlock_waiter *w;
	pidlock *l;

	write_pid_file(tpath("o.lock"), child);
	w = new_waiter(tpath("o.lock"), PIDLOCK_CHECK_PID);
	sees_held(w, child);
	stop_holder(child);
	l = take(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("o.lock")), getpid());
	pidlock_release(l);
}
END_TEST

/* Without any turn of a loop: a waiter's first poll is readable, for a free lock and a held
 * one alike (a loop that waits before it tries must not sleep forever). */
START_TEST(readable_at_once_after_new)
{
	pid_t child = start_holder(tpath("h.lock"), 0, false);
	pidlock_waiter *held = new_waiter(tpath("h.lock"), 0);
	pidlock_waiter *free_ = new_waiter(tpath("f.lock"), 0);
	pidlock *l;

	wait_readable(pidlock_waiter_fd(held));
	wait_readable(pidlock_waiter_fd(free_));
	ck_assert_int_eq(pidlock_waiter_try(free_, &l, NULL), 0);
	pidlock_waiter_free(free_);
	pidlock_release(l);
	pidlock_waiter_free(held);
	stop_holder(child);
}
END_TEST

/* try() on a held lock answers at once, without the descriptor being readable, and again
 * and again: it never blocks (a block would hang here until Check's timeout). */
START_TEST(try_never_blocks)
{
	pid_t child = start_holder(tpath("b.lock"), 0, false), who;
	pidlock_waiter *w = new_waiter(tpath("b.lock"), 0);
	pidlock *l;
	int i;

	for (i = 0; i < 100; i++) {
		who = 0;
		l = (pidlock *)&l;
		ck_assert_int_eq(pidlock_waiter_try(w, &l, &who), -EAGAIN);
		ck_assert_ptr_null(l);
		ck_assert_int_eq(who, child);
	}
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EAGAIN); /* holder is optional */
	pidlock_waiter_free(w);
	/* The holder's file and lock are untouched by the waiter's tries and free. */
	ck_assert_int_eq(pidlock_read_pid(tpath("b.lock")), child);
	who = 0;
	ck_assert_int_eq(pidlock_holder(tpath("b.lock"), &who), 1);
	ck_assert_int_eq(who, child);
	stop_holder(child);
}
END_TEST

/* Waiters on a held lock sleep: their tries never wake them or each other. A retry that
 * opened the file for writing and closed it again was an inotify IN_CLOSE_WRITE, the event of
 * a holder's death: each try woke every waiter at once, and a lone waiter spun at 100 % CPU.
 * Over one second of turns the retry timer alone wakes each about 20 times (its interval
 * doubles from 20 us to 100 ms); a spinning waiter wakes tens of thousands of times. */
START_TEST(waiters_on_a_held_lock_sleep)
{
	const char *path = tpath("s.lock");
	pid_t child = start_holder(path, 0, false);
	pidlock_waiter *w[3] = { new_waiter(path, 0), new_waiter(path, 0),
				 new_waiter(path, PIDLOCK_CHECK_PID) };
	struct pollfd pfd[3];
	long long end = now_ms() + 1000;
	int wakes = 0, i, n;

	for (i = 0; i < 3; i++)
		pfd[i] = (struct pollfd){ .fd = pidlock_waiter_fd(w[i]), .events = POLLIN };
	while (now_ms() < end) {
		n = poll(pfd, 3, 100);
		ck_assert_int_ge(n, 0);
		for (i = 0; i < 3; i++) {
			pidlock *l = NULL;

			if (!(pfd[i].revents & POLLIN))
				continue;
			wakes++;
			ck_assert_int_eq(pidlock_waiter_try(w[i], &l, NULL), -EAGAIN);
		}
	}
	ck_assert_msg(wakes < 300, "3 waiters woke %d times in one second of a held lock", wakes);
	for (i = 0; i < 3; i++)
		pidlock_waiter_free(w[i]);
	stop_holder(child);
}
END_TEST

/* Giving up: a waiter freed while it waits leaves no descriptor, no file and none of the
 * directories it made; the holder's file is untouched. */
START_TEST(free_while_waiting_leaves_nothing)
{
	pid_t child = start_holder(tpath("x.lock"), 0, false);
	pidlock_waiter *w;
	pidlock *l;
	int fds, i;

	/* The first free leaves the process's one kept inotify instance (pidlock.h): count
	 * after it, then no waiter may leave anything more. */
	w = new_waiter(tpath("x.lock"), 0);
	pidlock_waiter_free(w);
	fds = open_fd_count();
	for (i = 0; i < 200; i++) {
		w = new_waiter(tpath("x.lock"), 0);
		sees_held(w, child);
		pidlock_waiter_free(w);
	}
	ck_assert_int_eq(open_fd_count(), fds);
	ck_assert_int_eq(pidlock_read_pid(tpath("x.lock")), child);

	/* Missing directories are made by new and removed by free, tried or not. */
	w = new_waiter(tpath("a/b/x.lock"), 0);
	wait_readable(pidlock_waiter_fd(w));
	pidlock_waiter_free(w);
	ck_assert(!exists(tpath("a")));
	ck_assert_int_eq(open_fd_count(), fds);

	/* A waiter that took the lock and was freed leaves the lock (and its directories). */
	w = new_waiter(tpath("a/b/x.lock"), 0);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), 0);
	pidlock_waiter_free(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("a/b/x.lock")), getpid());
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("a/b/x.lock")));
	stop_holder(child);
}
END_TEST

START_TEST(bad_arguments)
{
	pidlock_waiter *w = (pidlock_waiter *)&w;
	pidlock *l = (pidlock *)&l, *taken;
	pid_t who = 7;

	ck_assert_int_eq(pidlock_waiter_new(NULL, 0, &w), -EINVAL);
	ck_assert_ptr_null(w);
	w = (pidlock_waiter *)&w;
	ck_assert_int_eq(pidlock_waiter_new("", 0, &w), -EINVAL);
	ck_assert_ptr_null(w);
	w = (pidlock_waiter *)&w;
	ck_assert_int_eq(pidlock_waiter_new(tpath("e.lock"), 1u << 20, &w), -EINVAL);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(pidlock_waiter_new(tpath("e.lock"), 0, NULL), -EINVAL);
	ck_assert_int_eq(pidlock_waiter_fd(NULL), -EINVAL);
	ck_assert_int_eq(pidlock_waiter_try(NULL, &l, &who), -EINVAL);
	ck_assert_int_eq(who, 0);
	pidlock_waiter_free(NULL);
	ck_assert(!exists(tpath("e.lock")));

	w = new_waiter(tpath("e.lock"), 0);
	ck_assert_int_eq(pidlock_waiter_try(w, NULL, &who), -EINVAL);
	ck_assert(!exists(tpath("e.lock")));
	/* Once it has given its lock away the waiter is done: a second try cannot take another. */
	ck_assert_int_eq(pidlock_waiter_try(w, &taken, &who), 0);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, &who), -EINVAL);
	ck_assert_ptr_null(l);
	pidlock_waiter_free(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("e.lock")), getpid());
	ck_assert_int_eq(pidlock_release(taken), 0);
}
END_TEST

/* A path that cannot be locked ends the waiter with acquire's error, at new or at the try. */
START_TEST(path_errors_end_the_waiter)
{
	pidlock_waiter *w = NULL;
	pidlock *l;
	int r;

	ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
	r = pidlock_waiter_new(tpath("fifo"), 0, &w);
	if (r == 0) {
		ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EINVAL);
		ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EINVAL);
		pidlock_waiter_free(w);
	} else {
		ck_assert_int_eq(r, -EINVAL);
	}
	ck_assert_int_eq(symlink("elsewhere", tpath("link")), 0);
	w = NULL;
	r = pidlock_waiter_new(tpath("link"), 0, &w);
	if (r == 0) {
		ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -ELOOP);
		pidlock_waiter_free(w);
	} else {
		ck_assert_int_eq(r, -ELOOP);
	}
	ck_assert(!exists(tpath("elsewhere")));
}
END_TEST

Suite *suite_waiter(void)
{
	Suite *s = suite_create("waiter");

	ADD_TCASE(s, "wake-up causes", 60,
		  woken_by_release_with_unlink,
		  woken_by_release_with_keep_file,
		  woken_by_holder_sigkill,
		  woken_by_holder_that_never_wrote_a_pid,
		  follows_file_replaced_at_path,
		  takes_unlocked_file_renamed_over_held_one,
		  woken_by_timer_for_pid_only_holder);
	ADD_TCASE(s, "waiter", 60,
		  readable_at_once_after_new,
		  try_never_blocks,
		  waiters_on_a_held_lock_sleep,
		  free_while_waiting_leaves_nothing,
		  bad_arguments,
		  path_errors_end_the_waiter);
	return s;
}
