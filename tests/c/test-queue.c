/* The line endless waits stand in: first come, first served, one process woken per handoff,
 * a release that keeps the file for the line, and places in line that are never taken for a
 * holder. Where a test waits for a process to be in line it polls /proc/locks, bounded: the
 * bound turns a hang into a failure, it is never a timing assertion. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Where the library's places in line lie (libpidlock/src/ident.c draws the map). */
#define QUEUE_BASE ((1LL << 62) + (1LL << 48))
#define BOUND_MS 5000

/* How many places in line the file at @path has: the kernel is asked through a descriptor
 * of that very file (its lock list, so no other file with the same inode number counts),
 * stepping through the locks of the line's range one by one. */
static int in_line(const char *path)
{
	long long from = QUEUE_BASE, end = QUEUE_BASE + (1LL << 48);
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;

	if (fd < 0)
		return 0;
	while (from < end) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = from,
				    .l_len = end - from };

		if (fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
			break;
		n += fl.l_type == F_RDLCK;
		from = fl.l_start + (fl.l_len > 0 ? fl.l_len : 1);
	}
	close(fd);
	return n;
}

static void until_in_line(const char *path, int n)
{
	long long end = now_ms() + BOUND_MS;

	while (in_line(path) < n && now_ms() < end)
		usleep(1000);
	ck_assert_msg(in_line(path) >= n, "%d in line after %d ms, not %d", in_line(path), BOUND_MS, n);
}

static bool no_line_here(const char *test)
{
	if (flock_build()) {
		skip_test("%s: the flock build has no byte ranges, so no line", test);
		return true;
	}
	return false;
}

/* A process that waits without end for @path, reports its index on @out once it holds the
 * lock, and then releases at once (@hold false) or holds until killed. */
static pid_t waiting_child(const char *path, int index, int out, bool hold)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pidlock *l;
		char c = (char)('0' + index);

		if (pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &l, NULL) != 0)
			_exit(1);
		if (write(out, &c, 1) != 1)
			_exit(2);
		if (hold)
			for (;;)
				pause();
		_exit(pidlock_release(l) == 0 ? 0 : 3);
	}
	return pid;
}

/* @n waiting children lined up in order behind the holder of @path: each starts once the one
 * before it stands in line. They report on @out. */
static void line_up_children(const char *path, pid_t *kids, int n, int out, bool hold)
{
	int i;

	for (i = 0; i < n; i++) {
		kids[i] = waiting_child(path, i, out, hold);
		until_in_line(path, i + 1);
	}
}

START_TEST(first_come_first_served)
{
	const char *path = tpath("q.lock");
	pid_t holder, kids[5];
	int out[2], i;
	char order[6] = { 0 };

	if (no_line_here("first_come_first_served"))
		return;
	holder = start_holder(path, 0, false);
	ck_assert_int_eq(pipe(out), 0);
	line_up_children(path, kids, 5, out[1], false);
	stop_holder(holder);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(read(out[0], &order[i], 1), 1);
	ck_assert_str_eq(order, "01234");
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(wait_child(kids[i]), 0);
	close(out[0]);
	close(out[1]);
}
END_TEST

static long switches(pid_t pid)
{
	char name[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(name, sizeof name, "/proc/%d/status", (int)pid);
	f = fopen(name, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/* A handoff wakes the next in line and the one behind it (which becomes next), nobody else:
 * the ones further back have not run at all (their voluntary context switches are
 * unchanged), where a watch of the file would have woken every waiter. */
START_TEST(a_handoff_wakes_nobody_further_back)
{
	const char *path = tpath("w.lock");
	pid_t holder, kids[6];
	long before[6];
	int out[2], i;
	char c;

	if (no_line_here("a_handoff_wakes_nobody_further_back"))
		return;
	holder = start_holder(path, 0, false);
	ck_assert_int_eq(pipe(out), 0);
	line_up_children(path, kids, 6, out[1], true);
	usleep(100 * 1000); /* the last one's first sleep */
	for (i = 2; i < 6; i++)
		before[i] = switches(kids[i]);
	stop_holder(holder);
	ck_assert_int_eq(read(out[0], &c, 1), 1);
	ck_assert_int_eq(c, '0');
	until_in_line(path, 5);
	usleep(200 * 1000);
	for (i = 2; i < 6; i++)
		ck_assert_msg(switches(kids[i]) == before[i],
			      "waiter %d, behind the next, ran during the handoff (%ld -> %ld switches)",
			      i, before[i], switches(kids[i]));
	for (i = 0; i < 6; i++)
		stop_holder(kids[i]);
	close(out[0]);
	close(out[1]);
}
END_TEST

/* A default release (the file unlinked) while a process is in line keeps the file, emptied,
 * for it: it takes that very file. The last release, with nobody in line, removes it. */
START_TEST(release_keeps_the_file_for_the_line)
{
	const char *path = tpath("k.lock");
	struct stat st, taken;
	pidlock *l;
	int out[2];
	pid_t kid;
	char c;

	if (no_line_here("release_keeps_the_file_for_the_line"))
		return;
	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, NULL), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(pipe(out), 0);
	kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		pidlock *mine;

		if (pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &mine, NULL) != 0 ||
		    stat(path, &taken) < 0 || taken.st_ino != st.st_ino)
			_exit(1);
		if (write(out[1], "y", 1) != 1)
			_exit(2);
		usleep(100 * 1000);
		_exit(pidlock_release(mine) == 0 ? 0 : 3);
	}
	until_in_line(path, 1);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(exists(path));
	ck_assert_int_eq(read(out[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(wait_child(kid), 0);
	ck_assert(!exists(path));
	close(out[0]);
	close(out[1]);
}
END_TEST

/* A place in line is never a holder nor a reader: with one and no lock, the lock is free to
 * every question and to a fail-at-once acquire. */
static int take_a_place(void *arg)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = QUEUE_BASE + 5, .l_len = 1 };
	int fd = open((const char *)arg, O_RDWR);

	return fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1;
}

START_TEST(a_place_in_line_is_not_a_holder)
{
	const char *path = tpath("p.lock");
	pid_t placed, holder, who = 1;
	pidlock *l;

	if (no_line_here("a_place_in_line_is_not_a_holder"))
		return;
	write_pid_file(path, getpid());
	ck_assert_int_eq(chmod(path, 0600), 0);
	placed = paused_child(take_a_place, (void *)path);
	ck_assert_int_eq(in_line(path), 1);
	ck_assert_int_eq(pidlock_holder(path, &who), 0);
	ck_assert_int_eq(pidlock_holds(path, placed), 0);
	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert_int_eq(pidlock_holds(path, getpid()), 1);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(exists(path)); /* someone is in line: kept for it */
	/* Held, with the place in line before the holder's lock in the kernel's list: "already
	 * running" (-EAGAIN, the holder named), never "a reader has it" (-EBUSY). */
	holder = start_holder(path, 0, false);
	who = 0;
	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, &who), -EAGAIN);
	ck_assert_int_eq(who, holder);
	ck_assert_int_eq(pidlock_holder(path, &who), 1);
	ck_assert_int_eq(who, holder);
	stop_holder(holder);
	stop_holder(placed);
}
END_TEST

/* A handler that forks while a wait sleeps in line: the child comes back into the wait with a
 * copy of the parent's open file, and so of its place. It lines up anew; parent, child and
 * the one ahead of them all get the lock in turn, never two at once. */
static volatile sig_atomic_t forked = -1;

static void fork_in_handler(int sig)
{
	(void)sig;
	forked = (pid_t)syscall(SYS_fork);
}

struct board {
	int holding, most, turns;
};

static void take_turn(struct board *b)
{
	int now = __atomic_add_fetch(&b->holding, 1, __ATOMIC_SEQ_CST);

	if (now > __atomic_load_n(&b->most, __ATOMIC_SEQ_CST))
		__atomic_store_n(&b->most, now, __ATOMIC_SEQ_CST);
	usleep(30 * 1000);
	__atomic_sub_fetch(&b->holding, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&b->turns, 1, __ATOMIC_SEQ_CST);
}

START_TEST(handler_fork_while_in_line)
{
	const char *path = tpath("f.lock");
	struct sigaction sa = { .sa_handler = fork_in_handler, .sa_flags = SA_RESTART };
	struct board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			       -1, 0);
	pid_t holder, ahead, self = getpid(), helper;
	pidlock *l;
	int out[2];

	if (no_line_here("handler_fork_while_in_line"))
		return;
	ck_assert_ptr_ne(b, MAP_FAILED);
	holder = start_holder(path, 0, false);
	ck_assert_int_eq(pipe(out), 0);
	ahead = fork();
	ck_assert_int_ge(ahead, 0);
	if (ahead == 0) {
		if (pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &l, NULL) != 0)
			_exit(1);
		take_turn(b);
		_exit(pidlock_release(l) == 0 ? 0 : 2);
	}
	until_in_line(path, 1);
	helper = fork();
	ck_assert_int_ge(helper, 0);
	if (helper == 0) {
		long long end = now_ms() + BOUND_MS;

		while (in_line(path) < 2 && now_ms() < end)
			usleep(1000);
		usleep(50 * 1000); /* asleep in line behind the first */
		kill(self, SIGUSR1);
		usleep(100 * 1000);
		kill(holder, SIGKILL);
		_exit(0);
	}
	sigaction(SIGUSR1, &sa, NULL);
	ck_assert_int_eq(pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &l, NULL), 0);
	take_turn(b);
	if (forked == 0)
		_exit(pidlock_release(l) == 0 ? 0 : 4);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_gt(forked, 0);
	ck_assert_int_eq(wait_child(forked), 0);
	ck_assert_int_eq(wait_child(ahead), 0);
	ck_assert_int_eq(wait_child(helper), 0);
	waitpid(holder, NULL, 0);
	ck_assert_int_eq(b->turns, 3);
	ck_assert_msg(b->most == 1, "%d processes held the lock at once", b->most);
	signal(SIGUSR1, SIG_DFL);
	close(out[0]);
	close(out[1]);
	munmap(b, sizeof *b);
}
END_TEST

/* A waiter that forked a worker (another thread forked while it waited, prefork style) and
 * then died: its place went with it, although the worker still has the descriptor open, and
 * the one behind it takes the lock. */
static void *fork_a_worker(void *arg)
{
	pid_t test = *(pid_t *)arg;

	usleep(100 * 1000);
	if (fork() == 0) {
		while (kill(test, 0) == 0) /* gone with the test, also one that failed */
			usleep(20 * 1000);
		_exit(0);
	}
	return NULL;
}

START_TEST(a_dead_waiter_with_a_forked_worker_holds_nobody_up)
{
	const char *path = tpath("d.lock");
	pid_t holder, first, second, test = getpid();
	int out[2];
	char c;

	if (no_line_here("a_dead_waiter_with_a_forked_worker_holds_nobody_up"))
		return;
	holder = start_holder(path, 0, false);
	ck_assert_int_eq(pipe(out), 0);
	first = fork();
	ck_assert_int_ge(first, 0);
	if (first == 0) {
		pthread_t th;
		pidlock *l;

		setpgid(0, 0); /* the worker goes with it at the end */
		if (pthread_create(&th, NULL, fork_a_worker, &test) != 0)
			_exit(1);
		_exit(pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &l, NULL) == 0 ? 0 : 2);
	}
	until_in_line(path, 1);
	usleep(300 * 1000); /* the worker forked */
	second = waiting_child(path, 2, out[1], false);
	until_in_line(path, 2);
	kill(first, SIGKILL);
	ck_assert_int_eq(wait_child(first), 128 + SIGKILL);
	stop_holder(holder);
	ck_assert_int_eq(read(out[0], &c, 1), 1); /* a hang here: the line waits for the dead */
	ck_assert_int_eq(c, '2');
	ck_assert_int_eq(wait_child(second), 0);
	kill(-first, SIGKILL);
	close(out[0]);
	close(out[1]);
}
END_TEST

/* Behind a whole-file lock as 1.0 and 1.1 take it (or lockf()), which covers the places, an
 * endless wait cannot line up: it sleeps (no spinning: its state is S) and Ctrl-C still ends
 * it, as any wait. */
static int whole_file_lock(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open((const char *)arg, O_RDWR | O_CREAT, 0600);

	return fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : 1;
}

static char proc_state(pid_t pid)
{
	char name[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(name, sizeof name, "/proc/%d/stat", (int)pid);
	fd = open(name, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

START_TEST(behind_an_old_whole_file_lock_a_wait_sleeps)
{
	const char *path = tpath("o.lock");
	pid_t old, waiter;
	int i, running = 0;

	if (no_line_here("behind_an_old_whole_file_lock_a_wait_sleeps"))
		return;
	old = paused_child(whole_file_lock, (void *)path);
	waiter = fork();
	ck_assert_int_ge(waiter, 0);
	if (waiter == 0) {
		pidlock *l;

		signal(SIGINT, SIG_DFL);
		_exit(pidlock_acquire(path, 0, PIDLOCK_WAIT_FOREVER, &l, NULL) == 0 ? 1 : 2);
	}
	usleep(200 * 1000);
	for (i = 0; i < 10; i++) {
		running += proc_state(waiter) == 'R';
		usleep(20 * 1000);
	}
	ck_assert_msg(running < 5, "the wait was running in %d of 10 looks: it spins", running);
	kill(waiter, SIGINT);
	ck_assert_int_eq(wait_child(waiter), 128 + SIGINT); /* a hang here: SIGINT held back */
	stop_holder(old);
}
END_TEST

Suite *suite_queue(void)
{
	Suite *s = suite_create("queue");

	ADD_TCASE(s, "line", 60,
		  first_come_first_served,
		  a_handoff_wakes_nobody_further_back,
		  release_keeps_the_file_for_the_line,
		  a_place_in_line_is_not_a_holder,
		  a_dead_waiter_with_a_forked_worker_holds_nobody_up,
		  behind_an_old_whole_file_lock_a_wait_sleeps);
	/* valgrind cannot interrupt a blocking F_SETLKW with a signal: the handler would run
	 * only after the wait, and fork there. */
	tcase_set_tags(ADD_TCASE(s, "signals in line", 60, handler_fork_while_in_line),
		       "no-valgrind");
	return s;
}
