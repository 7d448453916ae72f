/* Taking the lock: creation, modes, options, reclaiming what a dead holder left. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static void assert_holds_own_pid(const char *path)
{
	char buf[64], want[32];

	snprintf(want, sizeof want, "%d\n", (int)getpid());
	ck_assert_int_ge(read_file(path, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(creates_file_0600_or_readable_0644)
{
	pidlock *l;
	struct stat st;
	mode_t old = umask(022);

	/* Other users could block starts with read locks on a file they can open (1.1). */
	ck_assert_int_eq(pidlock_acquire(tpath("m.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(stat(tpath("m.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	pidlock_release(l);
	ck_assert_int_eq(pidlock_acquire(tpath("m.lock"), PIDLOCK_READABLE, 0, &l, NULL), 0);
	ck_assert_int_eq(stat(tpath("m.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	pidlock_release(l);
	/* A readable file left from before (1.0 made them 0644) is made private when taken. */
	write_file(tpath("k.lock"), "");
	ck_assert_int_eq(chmod(tpath("k.lock"), 0644), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("k.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	ck_assert_int_eq(stat(tpath("k.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	pidlock_release(l);
	umask(077);
	ck_assert_int_eq(pidlock_acquire(tpath("m.lock"), PIDLOCK_READABLE, 0, &l, NULL), 0);
	ck_assert_int_eq(stat(tpath("m.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	pidlock_release(l);
	umask(old);
}
END_TEST


START_TEST(creates_missing_parents_0700)
{
	pidlock *l;
	struct stat st;
	mode_t old = umask(0);

	ck_assert_int_eq(pidlock_acquire(tpath("a/b/c/x.lock"), 0, 0, &l, NULL), 0);
	umask(old);
	ck_assert_int_eq(stat(tpath("a"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(tpath("a/b/c"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	assert_holds_own_pid(tpath("a/b/c/x.lock"));
	pidlock_release(l);
}
END_TEST

START_TEST(descriptor_is_cloexec)
{
	pidlock *l;

	ck_assert_int_eq(pidlock_acquire(tpath("x.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_ge(pidlock_fd(l), 0);
	ck_assert(fcntl(pidlock_fd(l), F_GETFD) & FD_CLOEXEC);
	ck_assert_str_eq(pidlock_path(l), tpath("x.lock"));
	pidlock_release(l);
}
END_TEST

START_TEST(empty_unlocked_file_is_reclaimed)
{
	pidlock *l;

	write_file(tpath("e.lock"), "");
	ck_assert_int_eq(pidlock_acquire(tpath("e.lock"), 0, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("e.lock"));
	pidlock_release(l);
	write_file(tpath("e.lock"), "");
	ck_assert_int_eq(pidlock_acquire(tpath("e.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), 0);
	pidlock_release(l);
}
END_TEST

START_TEST(empty_locked_file_is_held_not_written)
{
	pidlock *l = NULL;
	pid_t holder = 0, child = start_holder(tpath("e.lock"), 0, true);

	ck_assert_int_eq(pidlock_acquire(tpath("e.lock"), 0, 0, &l, &holder), -EAGAIN);
	ck_assert_int_eq(holder, -1);
	ck_assert_int_eq(pidlock_acquire(tpath("e.lock"), PIDLOCK_CHECK_PID, 0, &l, &holder), -EAGAIN);
	ck_assert_int_eq(holder, -1);
	stop_holder(child);
	ck_assert_int_eq(pidlock_acquire(tpath("e.lock"), 0, 0, &l, &holder), 0);
	pidlock_release(l);
}
END_TEST

START_TEST(stale_content_fully_replaced)
{
	pidlock *l;

	write_file(tpath("s.lock"), "1234567890 garbage that is longer than a pid\n");
	ck_assert_int_eq(pidlock_acquire(tpath("s.lock"), 0, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("s.lock"));
	pidlock_release(l);
}
END_TEST

START_TEST(check_pid_reclaims_reused_pid)
{
	pidlock *l;
	struct timeval past[2];
	pid_t child = sleeper();

	/* 1.1: no clock decides (a step would change the answer): a live PID of the file's
	 * owner counts as held however old the file looks, in either direction... */
	write_pid_file(tpath("r.lock"), child);
	gettimeofday(&past[0], NULL);
	past[0].tv_sec -= 3600;
	past[1] = past[0];
	ck_assert_int_eq(utimes(tpath("r.lock"), past), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), -EAGAIN);
	past[0].tv_sec += 7200;
	past[1] = past[0];
	ck_assert_int_eq(utimes(tpath("r.lock"), past), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), -EAGAIN);
	stop_holder(child);
	/* ... and PID 1, always alive in a container, never holds a legacy file. */
	write_pid_file(tpath("r.lock"), 1);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("r.lock"));
	pidlock_release(l);
}
END_TEST

START_TEST(check_pid_ignores_own_pid)
{
	pidlock *l;

	/* A container's PID 1 finds its own PID in the file its predecessor left. */
	write_pid_file(tpath("o.lock"), getpid());
	ck_assert_int_eq(pidlock_acquire(tpath("o.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), 0);
	pidlock_release(l);
}
END_TEST

START_TEST(keep_file_leaves_empty_file)
{
	pidlock *l;
	char buf[64];

	ck_assert_int_eq(pidlock_acquire(tpath("k.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("k.lock"));
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(read_file(tpath("k.lock"), buf, sizeof buf), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("k.lock"), PIDLOCK_KEEP_FILE | PIDLOCK_FSYNC, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("k.lock"));
	pidlock_release(l);
	ck_assert(exists(tpath("k.lock")));
}
END_TEST

START_TEST(fsync_option_writes_pid)
{
	pidlock *l;

	ck_assert_int_eq(pidlock_acquire(tpath("f.lock"), PIDLOCK_FSYNC, 0, &l, NULL), 0);
	assert_holds_own_pid(tpath("f.lock"));
	ck_assert_int_eq(pidlock_update(l), 0);
	assert_holds_own_pid(tpath("f.lock"));
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

START_TEST(bad_arguments)
{
	pidlock *l = (pidlock *)&l;

	ck_assert_int_eq(pidlock_acquire(tpath("b.lock"), 0, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(pidlock_acquire(tpath("b.lock"), 1u << 20, 0, &l, NULL), -EINVAL);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(pidlock_acquire(tpath("b.lock"), 0, -2, &l, NULL), -EINVAL);
	ck_assert(!exists(tpath("b.lock")));
	ck_assert_int_eq(pidlock_update(NULL), -EINVAL);
	ck_assert_int_eq(pidlock_fd(NULL), -EINVAL);
	ck_assert_int_eq(pidlock_pid(NULL), -EINVAL);
	ck_assert_ptr_null(pidlock_path(NULL));
}
END_TEST

START_TEST(messages_and_version)
{
	char want[32];

	ck_assert_ptr_nonnull(strstr(pidlock_strerror(-EAGAIN), "already running"));
	ck_assert_str_eq(pidlock_strerror(-ELOOP), strerror(ELOOP));
	ck_assert_ptr_nonnull(pidlock_strerror(-123456));
	snprintf(want, sizeof want, "%d.%d.%d", PIDLOCK_VERSION_MAJOR, PIDLOCK_VERSION_MINOR,
		 PIDLOCK_VERSION_PATCH);
	ck_assert_str_eq(pidlock_version(), want);
}
END_TEST

static void scoped(const char *path)
{
	_pidlock_cleanup_ pidlock *l = NULL;

	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, NULL), 0);
	ck_assert(exists(path));
}

START_TEST(cleanup_attribute_releases)
{
	scoped(tpath("c.lock"));
	ck_assert(!exists(tpath("c.lock")));
	pidlock_releasep(NULL);
}
END_TEST

Suite *suite_acquire(void)
{
	Suite *s = suite_create("acquire");
	ADD_TCASE(s, "acquire", 0,
		  creates_file_0600_or_readable_0644,
		  creates_missing_parents_0700,
		  descriptor_is_cloexec,
		  empty_unlocked_file_is_reclaimed,
		  empty_locked_file_is_held_not_written,
		  stale_content_fully_replaced,
		  check_pid_reclaims_reused_pid,
		  check_pid_ignores_own_pid,
		  keep_file_leaves_empty_file,
		  fsync_option_writes_pid,
		  bad_arguments,
		  messages_and_version,
		  cleanup_attribute_releases);
	return s;
}
