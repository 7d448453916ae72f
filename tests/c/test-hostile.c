/* Hostile paths and bad input: a clear errno, no blocking, no leak, nothing left behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* acquire must fail with @err, leave the fd count as it was and create nothing at @path. */
static void assert_refused(const char *path, unsigned flags, int err)
{
	pidlock *l = (pidlock *)&l;
	int fds = open_fd_count();
	bool existed = path && *path && exists(path);

	alarm(5); /* a FIFO or device must not block */
	ck_assert_int_eq(pidlock_acquire(path, flags, 0, &l, NULL), err);
	alarm(0);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(open_fd_count(), fds);
	if (path && *path && !existed)
		ck_assert(!exists(path));
}

START_TEST(null_and_empty_path)
{
	assert_refused(NULL, 0, -EINVAL);
	assert_refused("", 0, -EINVAL);
}
END_TEST

START_TEST(overlong_paths)
{
	char path[PATH_MAX + 16], name[NAME_MAX + 16];

	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	assert_refused(path, 0, -ENAMETOOLONG);
	memset(name, 'n', NAME_MAX + 1);
	name[NAME_MAX + 1] = '\0';
	assert_refused(tpath(name), 0, -ENAMETOOLONG);
}
END_TEST

START_TEST(symlink_never_followed)
{
	char buf[64];

	write_file(tpath("target"), "keep me\n");
	ck_assert_int_eq(symlink(tpath("target"), tpath("link")), 0);
	assert_refused(tpath("link"), 0, -ELOOP);
	ck_assert_int_eq(read_file(tpath("target"), buf, sizeof buf), 8);
	ck_assert_str_eq(buf, "keep me\n");
	ck_assert_int_eq(symlink(tpath("nowhere"), tpath("dangling")), 0);
	assert_refused(tpath("dangling"), 0, -ELOOP);
	ck_assert(!exists(tpath("nowhere")));
}
END_TEST

START_TEST(fifo_refused_without_blocking)
{
	ck_assert_int_eq(mkfifo(tpath("fifo"), 0644), 0);
	assert_refused(tpath("fifo"), 0, -EINVAL);
}
END_TEST

START_TEST(directory_refused)
{
	ck_assert_int_eq(mkdir(tpath("dir"), 0755), 0);
	assert_refused(tpath("dir"), 0, -EISDIR);
}
END_TEST

START_TEST(device_refused)
{
	assert_refused("/dev/null", 0, -EINVAL);
}
END_TEST

START_TEST(parent_is_a_file)
{
	write_file(tpath("file"), "");
	assert_refused(tpath("file/x.lock"), 0, -ENOTDIR);
}
END_TEST

START_TEST(other_users_file_refused)
{
	char buf[64];

	if (geteuid() != 0) {
		skip_test("other_users_file_refused: needs root to chown");
		return;
	}
	write_file(tpath("theirs"), "1\n");
	ck_assert_int_eq(chmod(tpath("theirs"), 0666), 0);
	ck_assert_int_eq(chown(tpath("theirs"), 65534, 65534), 0);
	assert_refused(tpath("theirs"), 0, -EPERM);
	ck_assert_int_eq(read_file(tpath("theirs"), buf, sizeof buf), 2);
}
END_TEST

static int acquire_errno(void *path)
{
	pidlock *l = NULL;
	int r = pidlock_acquire(path, 0, 0, &l, NULL);

	pidlock_release(l);
	return r < 0 ? -r : 0;
}

START_TEST(unwritable_location)
{
	if (geteuid() != 0) {
		skip_test("unwritable_location: needs root to become nobody");
		return;
	}
	ck_assert_int_eq(mkdir(tpath("ro"), 0755), 0);
	ck_assert_int_eq(as_nobody(acquire_errno, (void *)tpath("ro/x.lock")), EACCES);
	ck_assert_int_eq(as_nobody(acquire_errno, (void *)tpath("ro/sub/x.lock")), EACCES);
	ck_assert(!exists(tpath("ro/x.lock")));
	ck_assert(!exists(tpath("ro/sub")));
	/* A root-owned file nobody may write: refused before anything is touched. */
	write_file(tpath("ro/root.lock"), "1\n");
	ck_assert_int_eq(as_nobody(acquire_errno, (void *)tpath("ro/root.lock")), EACCES);
}
END_TEST

/* Runs @fn in a child, in a private mount namespace where a tmpfs mounted with @opts and
 * @flags stands at @dir; returns its exit status, 77 when the mount cannot be made here. */
static int on_private_tmpfs(const char *dir, const char *opts, unsigned long flags,
			    int (*fn)(const char *dir))
{
	int status;
	pid_t child;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("pidlock-test", dir, "tmpfs", flags, opts) < 0)
			_exit(77);
		_exit(fn(dir));
	}
	waitpid(child, &status, 0);
	if (WEXITSTATUS(status) == 77)
		skip_test("%s: cannot mount a tmpfs here (not root?)", dir);
	return WEXITSTATUS(status);
}

static int acquire_in(const char *dir)
{
	char path[PATH_MAX];
	pidlock *l = NULL;
	struct stat st;
	int r;

	snprintf(path, sizeof path, "%s/x.lock", dir);
	r = pidlock_acquire(path, 0, 0, &l, NULL);
	pidlock_release(l);
	if (r < 0 && lstat(path, &st) == 0)
		return 100; /* a half-made lock file was left behind */
	return -r;
}

static int fill_then_acquire_in(const char *dir)
{
	char path[PATH_MAX], page[4096];
	int fd;

	snprintf(path, sizeof path, "%s/filler", dir);
	memset(page, 'x', sizeof page);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	while (write(fd, page, sizeof page) > 0)
		;
	close(fd);
	return acquire_in(dir);
}

START_TEST(read_only_filesystem)
{
	int r = on_private_tmpfs(tpath("rofs"), "size=64k", MS_RDONLY, acquire_in);

	if (r != 77)
		ck_assert_int_eq(r, EROFS);
}
END_TEST

START_TEST(full_filesystem_leaves_nothing)
{
	int r = on_private_tmpfs(tpath("full"), "size=4k", 0, fill_then_acquire_in);

	if (r != 77)
		ck_assert_int_eq(r, ENOSPC);
}
END_TEST

static rlim_t lowest_free_fd(void)
{
	int fd = dup(0);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return (rlim_t)fd;
}

START_TEST(descriptor_exhaustion)
{
	struct rlimit old, tight;
	pidlock *l = NULL;
	pid_t who = 0, child;
	int fds = open_fd_count();

	write_file(tpath("y.lock"), "");
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	tight = old;
	tight.rlim_cur = lowest_free_fd();
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("x.lock"), 0, 0, &l, NULL), -EMFILE);
	ck_assert_int_eq(pidlock_holder(tpath("y.lock"), &who), -EMFILE);
	ck_assert_int_eq(pidlock_read_pid(tpath("y.lock")), -EMFILE);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ck_assert_ptr_null(l);
	ck_assert(!exists(tpath("x.lock")));

	/* Room for the lock file but not for the waiter's inotify descriptor: waiting still
	 * works, by polling, and gives up at its timeout without a leak. */
	child = start_holder(tpath("y.lock"), 0, false);
	tight.rlim_cur = lowest_free_fd() + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("y.lock"), 0, 100, &l, &who), -EAGAIN);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Showing that the PID holds the lock takes descriptors (/proc/PID/fdinfo): without
	 * them the holder cannot be verified, and an unverified PID is never reported. */
	ck_assert_int_eq(who, -1);
	stop_holder(child);
	ck_assert_int_eq(open_fd_count(), fds);
}
END_TEST

Suite *suite_hostile(void)
{
	Suite *s = suite_create("hostile");
	ADD_TCASE(s, "hostile", 0,
		  null_and_empty_path,
		  overlong_paths,
		  symlink_never_followed,
		  fifo_refused_without_blocking,
		  directory_refused,
		  device_refused,
		  parent_is_a_file,
		  other_users_file_refused,
		  unwritable_location,
		  read_only_filesystem,
		  full_filesystem_leaves_nothing);
	/* valgrind emulates RLIMIT_NOFILE after the kernel's open() succeeded, closing a file
	 * the library never sees: it would look like a leftover. */
	tcase_set_tags(ADD_TCASE(s, "limits", 0, descriptor_exhaustion), "no-valgrind");
	return s;
}
