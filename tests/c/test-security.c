/* Other users must not be able to hold, move or delete the lock, and a failed
 * acquire leaves nothing behind. The hostile user is a real one: nobody,
 * in a forked child (as_nobody); those tests need root and say so when skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define NOBODY 65534

static bool root_or_skip(const char *test)
{
	if (geteuid() == 0)
		return true;
	skip_test("%s: needs root to act as another user", test);
	return false;
}

/* tdir is root's 0700: let nobody reach (not write) what is below it. */
static void open_tdir(void) { ck_assert_int_eq(chmod(tdir, 0755), 0); }

static int try_open_read(void *path)
{
	return open((const char *)path, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES ? 0 : 1;
}

/* A lock file left by a holder that died (a SIGKILL; a finished `pidlock run` leaves one). */
static void leave_file(const char *path, unsigned flags)
{
	pid_t pid = start_holder(path, flags, false);
	stop_holder(pid);
	ck_assert(exists(path));
}

/* nobody cannot even open the file to take a read lock on it. */
START_TEST(reader_cannot_open_private_file)
{
	pidlock *l;

	if (!root_or_skip("reader_cannot_open_private_file"))
		return;
	open_tdir();
	leave_file(tpath("p.lock"), 0);
	ck_assert_int_eq(as_nobody(try_open_read, (void *)tpath("p.lock")), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

static int hold_read_lock(void *arg)
{
	const char *path = arg;
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return 1;
	if (write(3, "y", 1) != 1)
		return 2;
	pause();
	return 0;
}

/* With PIDLOCK_READABLE (the user's trade-off) a reader's lock blocks starts: reported as
 * what it is (-EBUSY), never as "already running", and never as a holder by the probe. */
START_TEST(reader_lock_on_readable_file_is_not_a_holder)
{
	pidlock *l = NULL;
	pid_t reader, holder = 0;
	int p[2];
	char c;

	if (!root_or_skip("reader_lock_on_readable_file_is_not_a_holder") || flock_build())
		return;
	open_tdir();
	leave_file(tpath("r.lock"), PIDLOCK_READABLE);
	ck_assert_int_eq(pipe(p), 0);
	reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0) {
		dup2(p[1], 3);
		if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
			_exit(99);
		_exit(hold_read_lock((void *)tpath("r.lock")));
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_READABLE, 0, &l, &holder), -EBUSY);
	ck_assert_int_eq(holder, 0);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_READABLE, 100, &l, NULL), -EBUSY);
	ck_assert_int_eq(pidlock_holder(tpath("r.lock"), &holder), 0);
	stop_holder(reader);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), PIDLOCK_READABLE, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

/* a directory on the path that another user owns, or may write. */
START_TEST(directory_of_another_user_refused)
{
	char why[256];
	pidlock *l = NULL;

	if (!root_or_skip("directory_of_another_user_refused"))
		return;
	ck_assert_int_eq(mkdir(tpath("app"), 0755), 0);
	ck_assert_int_eq(chown(tpath("app"), NOBODY, NOBODY), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("app/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert(!exists(tpath("app/daemon.lock")));
	ck_assert_int_eq(pidlock_check_path(tpath("app/daemon.lock"), why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "/app belongs to uid 65534"), "why: %s", why);
	ck_assert_int_eq(pidlock_holder(tpath("app/daemon.lock"), NULL), -EPERM);
	/* Deeper: nothing is made below it either. */
	ck_assert_int_eq(pidlock_acquire(tpath("app/sub/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert(!exists(tpath("app/sub")));

	ck_assert_int_eq(mkdir(tpath("open"), 0777), 0);
	ck_assert_int_eq(chmod(tpath("open"), 0777), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("open/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert_int_eq(pidlock_check_path(tpath("open/daemon.lock"), why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "writable by other users (mode 0777) and not sticky"), "why: %s",
		      why);
	/* Sticky, like /tmp: others may add names but not touch ours. */
	ck_assert_int_eq(chmod(tpath("open"), 01777), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("open/daemon.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

/* a symbolic link on the way that another user made is not followed; one root (or
 * the caller) made is, and the release removes the file where the link led. */
START_TEST(symlinked_parent_of_another_user_refused)
{
	char why[256];
	pidlock *l = NULL;

	if (!root_or_skip("symlinked_parent_of_another_user_refused"))
		return;
	ck_assert_int_eq(mkdir(tpath("target"), 0755), 0);
	write_file(tpath("target/daemon.lock"), "precious\n");
	ck_assert_int_eq(symlink(tpath("target"), tpath("link")), 0);
	ck_assert_int_eq(lchown(tpath("link"), NOBODY, NOBODY), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("link/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert_int_eq(pidlock_check_path(tpath("link/daemon.lock"), why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "symbolic link") && strstr(why, "uid 65534"), "why: %s", why);
	ck_assert_int_eq(pidlock_acquire(tpath("link/deeper/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert(!exists(tpath("target/deeper")));
	ck_assert_int_eq(unlink(tpath("target/daemon.lock")), 0);

	ck_assert_int_eq(lchown(tpath("link"), 0, 0), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("link/daemon.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("target/daemon.lock")), getpid());
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("target/daemon.lock")));
}
END_TEST

/* a file with a second name may be another file too: never truncated or written. */
START_TEST(hard_linked_file_refused)
{
	char buf[64];
	pidlock *l = NULL;

	write_file(tpath("victim"), "precious\n");
	ck_assert_int_eq(link(tpath("victim"), tpath("h.lock")), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("h.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert_int_eq(read_file(tpath("victim"), buf, sizeof buf), 9);
	ck_assert(!memcmp(buf, "precious\n", 9));
}
END_TEST

/* parents are 0700 whatever the umask, and usable. */
START_TEST(made_directories_ignore_umask)
{
	struct stat st;
	pidlock *l;
	mode_t old = umask(0177);

	ck_assert_int_eq(pidlock_acquire(tpath("u/v/daemon.lock"), 0, 0, &l, NULL), 0);
	umask(old);
	ck_assert_int_eq(stat(tpath("u"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(tpath("u/v"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(pidlock_release(l), 0);
	old = umask(0177);
	ck_assert_int_eq(pidlock_acquire(tpath("u/v/daemon.lock"), 0, 0, &l, NULL), 0);
	umask(old);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

/* A path that names a directory fails before anything is made, and a failed
 * acquire removes the directories it made. */
START_TEST(failed_acquire_leaves_nothing)
{
	char longname[NAME_MAX + 2], path[PATH_MAX];
	pidlock *l = NULL;

	ck_assert_int_eq(pidlock_acquire(tpath("new/sub/"), 0, 0, &l, NULL), -EISDIR);
	ck_assert(!exists(tpath("new")));
	ck_assert_int_eq(pidlock_acquire(tpath("new/sub/."), 0, 0, &l, NULL), -EISDIR);
	ck_assert(!exists(tpath("new")));
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	snprintf(path, sizeof path, "%s/%s", tpath("new/sub"), longname);
	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, NULL), -ENAMETOOLONG);
	ck_assert(!exists(tpath("new")));
	/* A failure after the directories were made removes them: here the file's path is a
	 * symlink only once they exist, which the acquire cannot know beforehand. */
	ck_assert_int_eq(mkdir(tpath("made"), 0700), 0);
	ck_assert_int_eq(symlink("/nonexistent", tpath("made/daemon.lock")), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("made/daemon.lock"), 0, 0, &l, NULL), -ELOOP);
	ck_assert_ptr_null(l);
}
END_TEST

/* A relative path is the directory of the acquire, even after chdir(). */
START_TEST(relative_path_survives_chdir)
{
	char cwd[PATH_MAX];
	pidlock *l;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tdir), 0);
	ck_assert_int_eq(pidlock_acquire("rel/daemon.lock", 0, 0, &l, NULL), 0);
	ck_assert_str_eq(pidlock_path(l), "rel/daemon.lock");
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("rel/daemon.lock")));
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* A link on the way retargeted (by root or the caller) between two acquires of one process:
 * the second follows the link where every other process does. */
START_TEST(retargeted_link_followed_again)
{
	pidlock *l;

	ck_assert_int_eq(mkdir(tpath("a"), 0700), 0);
	ck_assert_int_eq(mkdir(tpath("b"), 0700), 0);
	ck_assert_int_eq(symlink("a", tpath("cur")), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("cur/x.lock"), 0, 0, &l, NULL), 0);
	ck_assert(exists(tpath("a/x.lock")));
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(unlink(tpath("cur")), 0);
	ck_assert_int_eq(symlink("b", tpath("cur")), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("cur/x.lock"), 0, 0, &l, NULL), 0);
	ck_assert(exists(tpath("b/x.lock")));
	ck_assert(!exists(tpath("a/x.lock")));
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

/* A directory that is missing and left again by ".." is not made. */
START_TEST(missing_directory_left_by_dotdot_not_made)
{
	pidlock *l = NULL;

	ck_assert_int_eq(pidlock_acquire(tpath("nx/../d.lock"), 0, 0, &l, NULL), -ENOENT);
	ck_assert(!exists(tpath("nx")));
	ck_assert(!exists(tpath("d.lock")));
}
END_TEST

static bool become_nobody(void) { return setgid(NOBODY) == 0 && setuid(NOBODY) == 0; }

static int flock_read_only(void *path)
{
	int fd = become_nobody() ? open((const char *)path, O_RDONLY | O_CLOEXEC) : -1;

	return fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0;
}

/* Only the library's own lock, on a descriptor open for writing, makes a holder: an exclusive
 * flock that another user takes through a read-only open of a PIDLOCK_READABLE file does not
 * (in the flock build it is the same kind of lock as the holder's). */
START_TEST(flock_of_a_reader_is_not_a_holder)
{
	pid_t reader;

	if (!root_or_skip("flock_of_a_reader_is_not_a_holder"))
		return;
	open_tdir();
	leave_file(tpath("f.lock"), PIDLOCK_READABLE);
	reader = paused_child(flock_read_only, (void *)tpath("f.lock"));
	write_pid_file(tpath("f.lock"), reader);
	ck_assert_int_eq(pidlock_holds(tpath("f.lock"), reader), 0);
	stop_holder(reader);
}
END_TEST

static int check_nothing(void *path)
{
	char why[256];

	pidlock_check_path((const char *)path, why, sizeof why);
	return 0;
}

/* Trust follows the effective uid of the moment: a root process that was nobody for a while
 * (seteuid() and back) trusts nobody's directories no more than a fresh one does. */
START_TEST(euid_changed_and_back_trusts_nothing_more)
{
	char why[256];
	pidlock *l = NULL;

	if (!root_or_skip("euid_changed_and_back_trusts_nothing_more"))
		return;
	open_tdir();
	ck_assert_int_eq(mkdir(tpath("nb"), 0755), 0);
	ck_assert_int_eq(chown(tpath("nb"), NOBODY, NOBODY), 0);
	ck_assert_int_eq(seteuid(NOBODY), 0);
	check_nothing((void *)tpath("nb/daemon.lock")); /* the library asked while nobody */
	ck_assert_int_eq(seteuid(0), 0);
	ck_assert_int_eq(pidlock_check_path(tpath("nb/daemon.lock"), why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "belongs to uid 65534"), "why: %s", why);
	ck_assert_int_eq(pidlock_acquire(tpath("nb/daemon.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert(!exists(tpath("nb/daemon.lock")));
}
END_TEST

/* A path proven once is proven again on every acquire: an ancestor opened to other users (or
 * handed to one) since makes this process refuse it as a fresh process would. */
START_TEST(ancestor_opened_after_proof_is_refused)
{
	char why[256];
	pidlock *l = NULL;

	ck_assert_int_eq(mkdir(tpath("a"), 0755), 0);
	ck_assert_int_eq(mkdir(tpath("a/b"), 0700), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("a/b/x.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(chmod(tpath("a"), 0777), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("a/b/x.lock"), 0, 0, &l, NULL), -EPERM);
	ck_assert_ptr_nonnull(pidlock_last_error());
	ck_assert_msg(strstr(pidlock_last_error(), "/a is writable by other users"), "said: %s",
		      pidlock_last_error());
	ck_assert_int_eq(pidlock_check_path(tpath("a/b/x.lock"), why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "/a is writable by other users (mode 0777) and not sticky"),
		      "why: %s", why);
	ck_assert_int_eq(chmod(tpath("a"), 0755), 0);
	if (geteuid() != 0)
		return; /* the chown case needs root */
	ck_assert_int_eq(chown(tpath("a"), NOBODY, NOBODY), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("a/b/x.lock"), 0, 0, &l, NULL), -EPERM);
}
END_TEST

/* A wait re-proves the path before every try: the holder goes away after an ancestor was
 * opened to other users, and the wait refuses instead of taking the lock there. */
START_TEST(wait_rechecks_ancestors)
{
	pidlock *l = NULL;
	pidlock_waiter *w = NULL;
	pid_t holder, opener;

	ck_assert_int_eq(mkdir(tpath("w"), 0755), 0);
	holder = start_holder(tpath("w/x.lock"), 0, false);
	ck_assert_int_eq(pidlock_waiter_new(tpath("w/x.lock"), 0, &w), 0);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EAGAIN);
	ck_assert_int_eq(chmod(tpath("w"), 0777), 0);
	stop_holder(holder);
	ck_assert_int_eq(pidlock_waiter_try(w, &l, NULL), -EPERM);
	pidlock_waiter_free(w);
	ck_assert_int_eq(pidlock_read_pid(tpath("w/x.lock")), holder); /* not taken */

	/* The same in a timed acquire: opened, then released, while it waits. */
	ck_assert_int_eq(chmod(tpath("w"), 0755), 0);
	holder = start_holder(tpath("w/x.lock"), 0, false);
	opener = fork();
	ck_assert_int_ge(opener, 0);
	if (opener == 0) {
		usleep(200 * 1000);
		_exit(chmod(tpath("w"), 0777) == 0 && kill(holder, SIGKILL) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(pidlock_acquire(tpath("w/x.lock"), 0, 5000, &l, NULL), -EPERM);
	ck_assert_ptr_null(l);
	stop_holder(holder);
	waitpid(opener, NULL, 0);
}
END_TEST

/* What a set-user-ID program another user started looks like: real uid nobody, effective and
 * saved uid root. */
static int setuid_program_of_nobody(void *unused)
{
	(void)unused;
	return setreuid(NOBODY, 0);
}

/* PIDLOCK_CHECK_PID: a process another user started cannot make root's file count as held,
 * even one that runs with root's effective uid (su, passwd, stopped on a recycled PID). */
START_TEST(check_pid_ignores_another_users_setuid_program)
{
	pidlock *l = NULL;
	pid_t su;

	if (!root_or_skip("check_pid_ignores_another_users_setuid_program"))
		return;
	su = paused_child(setuid_program_of_nobody, NULL);
	write_pid_file(tpath("c.lock"), su);
	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), PIDLOCK_CHECK_PID, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	stop_holder(su);
}
END_TEST

static int squat(void *path)
{
	int fd = become_nobody() ? open((const char *)path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
					0644) : -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());

	return fd < 0 || write(fd, buf, (size_t)len) != len || fcntl(fd, F_OFD_SETLK, &fl) < 0;
}

/* A file another user made first in a sticky directory, with their PID in it and locked: the
 * owner check comes before the lock is tried, so it is refused with the reason (never "already
 * running" with their PID, never waited on). */
START_TEST(squatter_in_sticky_directory_is_refused_not_waited_on)
{
	pidlock *l = NULL;
	pid_t squatter, holder = 0;
	long long t0;

	if (!root_or_skip("squatter_in_sticky_directory_is_refused_not_waited_on"))
		return;
	ck_assert_int_eq(mkdir(tpath("tmp"), 01777), 0);
	ck_assert_int_eq(chmod(tpath("tmp"), 01777), 0);
	open_tdir();
	squatter = paused_child(squat, (void *)tpath("tmp/app.lock"));
	ck_assert_int_eq(pidlock_acquire(tpath("tmp/app.lock"), 0, 0, &l, &holder), -EPERM);
	ck_assert_int_eq(holder, 0);
	ck_assert_ptr_nonnull(pidlock_last_error());
	ck_assert_msg(strstr(pidlock_last_error(), "belongs to uid 65534"), "said: %s",
		      pidlock_last_error());
	t0 = now_ms();
	ck_assert_int_eq(pidlock_acquire(tpath("tmp/app.lock"), 0, 2000, &l, &holder), -EPERM);
	ck_assert_int_lt(now_ms() - t0, 1500); /* refused at once, not after the wait */
	ck_assert_int_eq(holder, 0);
	stop_holder(squatter);
}
END_TEST

Suite *suite_security(void)
{
	Suite *s = suite_create("security");
	ADD_TCASE(s, "security", 0,
		  reader_cannot_open_private_file,
		  reader_lock_on_readable_file_is_not_a_holder,
		  directory_of_another_user_refused,
		  symlinked_parent_of_another_user_refused,
		  hard_linked_file_refused,
		  made_directories_ignore_umask,
		  failed_acquire_leaves_nothing,
		  relative_path_survives_chdir,
		  retargeted_link_followed_again,
		  missing_directory_left_by_dotdot_not_made,
		  flock_of_a_reader_is_not_a_holder,
		  euid_changed_and_back_trusts_nothing_more,
		  ancestor_opened_after_proof_is_refused,
		  wait_rechecks_ancestors,
		  check_pid_ignores_another_users_setuid_program,
		  squatter_in_sticky_directory_is_refused_not_waited_on);
	return s;
}
