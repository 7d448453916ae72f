/* Descriptors closed behind the library's back: closefrom(),
 * close_range(), python-daemon, `exec 3<&-`. The library never reads, writes or closes a
 * descriptor that is no longer the one it opened, and no timed wait outlives its timeout. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(release_after_close_leaves_the_next_holder_alone)
{
	pidlock *l, *again;
	pid_t next;

	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_check(l), 0);
	close(pidlock_fd(l)); /* the lock goes with the descriptor */
	ck_assert_int_eq(pidlock_check(l), -EBADFD);
	next = start_holder(tpath("c.lock"), 0, false);
	ck_assert_int_eq(pidlock_release(l), -EBADFD);
	/* The next holder's file is still there and still held: a third start is refused. */
	ck_assert(exists(tpath("c.lock")));
	ck_assert_int_eq(pidlock_read_pid(tpath("c.lock")), next);
	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &again, NULL), -EAGAIN);
	stop_holder(next);
}
END_TEST

START_TEST(number_reused_for_another_file)
{
	pidlock *l;
	char buf[64];
	int fd, other;

	ck_assert_int_eq(pidlock_acquire(tpath("n.lock"), 0, 0, &l, NULL), 0);
	fd = pidlock_fd(l);
	close(fd);
	write_file(tpath("other"), "precious\n");
	other = open(tpath("other"), O_RDWR | O_CLOEXEC);
	ck_assert_int_eq(other, fd); /* the same number, another file */
	ck_assert_int_eq(pidlock_update(l), -EBADFD);
	ck_assert_int_eq(pidlock_check(l), -EBADFD);
	ck_assert_int_eq(pidlock_release(l), -EBADFD);
	/* Not written, not closed. */
	ck_assert_int_eq(read_file(tpath("other"), buf, sizeof buf), 9);
	ck_assert(!memcmp(buf, "precious\n", 9));
	ck_assert_int_ge(fcntl(other, F_GETFD), 0);
	close(other);
}
END_TEST

/* The number reused by a new open of the same file, by this same process taking the lock
 * again: the old handle must still know the descriptor is not its own open file. */
START_TEST(number_reused_for_the_same_file)
{
	pidlock *first, *second, *third;

	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &first, NULL), 0);
	close(pidlock_fd(first));
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &second, NULL), 0);
	ck_assert_int_eq(pidlock_fd(second), pidlock_fd(first)); /* same number, same file */
	if (flock_build()) {
		/* flock has no range to carry a handle id: the fallback tells a closed number
		 * and another file, not a new lock of the same file (pidlock(3)). */
		skip_test("number_reused_for_the_same_file: the flock build cannot tell two "
			  "handles of one file apart");
		ck_assert_int_eq(pidlock_release(second), 0);
		return;
	}
	ck_assert_int_eq(pidlock_check(first), -EBADFD);
	ck_assert_int_eq(pidlock_check(second), 0);
	ck_assert_int_eq(pidlock_update(first), -EBADFD);
	ck_assert_int_eq(pidlock_release(first), -EBADFD);
	ck_assert(exists(tpath("s.lock")));
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &third, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_release(second), 0);
	ck_assert(!exists(tpath("s.lock")));
}
END_TEST

/* The inotify descriptor a timed wait keeps for the next one is closed and its number given
 * to an empty pipe: the next timed wait neither reads the pipe (it would block for ever) nor
 * closes it, and gives up at its timeout. */
START_TEST(kept_inotify_replaced_by_a_pipe)
{
	pid_t holder = start_holder(tpath("i.lock"), 0, false);
	pidlock *l = NULL;
	int ifd, p[2];

	if (flock_build()) {
		skip_test("kept_inotify_replaced_by_a_pipe: the flock build waits without inotify");
		stop_holder(holder);
		return;
	}
	ck_assert_int_eq(pidlock_acquire(tpath("i.lock"), 0, 50, &l, NULL), -EAGAIN);
	ifd = fd_linking_to("anon_inode:inotify");
	ck_assert_int_ge(ifd, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], ifd), ifd); /* closes the inotify descriptor */
	close(p[0]);
	ck_assert_int_eq(pidlock_acquire(tpath("i.lock"), 0, 300, &l, NULL), -EAGAIN);
	ck_assert_int_ge(fcntl(ifd, F_GETFD), 0); /* still open: not ours to close */
	ck_assert_msg(write(p[1], "x", 1) == 1, "write: %s (ifd %d, pipe %d %d)", strerror(errno),
		      ifd, p[0], p[1]);
	ck_assert_int_eq(read(ifd, p, 1), 1); /* and not read either */
	close(ifd);
	close(p[1]);
	stop_holder(holder);
}
END_TEST

/* A waiter keeps descriptors between calls (its poll descriptor; no descriptor of the lock
 * file, which it opens again at each try): closed behind its back and reused, they are neither
 * written, read nor closed. */
START_TEST(waiter_descriptors_closed_behind_its_back)
{
	pid_t holder = start_holder(tpath("w.lock"), 0, false);
	char buf[64];
	pidlock_waiter *w;
	pidlock *l = NULL;
	int efd, lfd, other, p[2];

	ck_assert_int_eq(pidlock_waiter_new(tpath("w.lock"), 0, &w), 0);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EAGAIN);
	efd = pidlock_waiter_fd(w);
	ck_assert_int_eq(fd_linking_to(tpath("w.lock")), -1); /* none kept between calls */
	write_file(tpath("precious"), "precious\n");
	other = open(tpath("precious"), O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(other, 0);
	lfd = other;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], efd), efd); /* the poll descriptor's number: a pipe */
	close(p[0]);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EBADFD);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(pidlock_waiter_fd(w), -EINVAL); /* ended: no descriptor, no crash */
	pidlock_waiter_free(w);
	ck_assert_int_ge(fcntl(efd, F_GETFD), 0);
	ck_assert_int_ge(fcntl(lfd, F_GETFD), 0);
	ck_assert_int_eq(read_file(tpath("precious"), buf, sizeof buf), 9);
	ck_assert(!memcmp(buf, "precious\n", 9));
	ck_assert_int_eq(pidlock_read_pid(tpath("w.lock")), holder);
	close(efd);
	close(lfd);
	close(p[1]);
	stop_holder(holder);
}
END_TEST

/* A process started with stdin closed: the lock descriptor is never 0, 1 or 2, where a
 * command's `exec </dev/null` would drop it or its output would go into the file. */
START_TEST(lock_never_on_a_standard_descriptor)
{
	pidlock *l;
	int saved = dup(0);

	ck_assert_int_ge(saved, 0);
	close(0);
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_gt(pidlock_fd(l), 2);
	ck_assert_int_eq(fcntl(0, F_GETFD), -1); /* nothing left on 0 */
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	ck_assert_int_gt(pidlock_fd(l), 2);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(dup2(saved, 0), 0);
	close(saved);
}
END_TEST

Suite *suite_descriptors(void)
{
	Suite *s = suite_create("descriptors");
	ADD_TCASE(s, "descriptors", 0,
		  release_after_close_leaves_the_next_holder_alone,
		  number_reused_for_another_file,
		  number_reused_for_the_same_file,
		  kept_inotify_replaced_by_a_pipe,
		  waiter_descriptors_closed_behind_its_back,
		  lock_never_on_a_standard_descriptor);
	return s;
}
