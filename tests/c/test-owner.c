/* The owner model, the way daemons use the public API: waits and waiters copied by fork,
 * children made without pthread_atfork() where MADV_WIPEONFORK is refused, forked workers
 * that outlive a kept-file release, I/O on the exposed descriptor, closed standard
 * descriptors, a program's own signal-driven I/O, forks while another thread is inside the
 * library, and signals that land between two sleeps of a wait. Each case is one that let two
 * instances run, leaked the lock or lost a wake-up before the owner was asked of the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__ /* the musl build's headers have no <linux/...> */
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_SECCOMP_FILTER 1
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Polls a waiter until it returns something other than -EAGAIN or @ms pass. */
static int waiter_until(pidlock_waiter *w, pidlock **l, int ms)
{
	long long end = now_ms() + ms;
	struct pollfd p = { .fd = pidlock_waiter_fd(w), .events = POLLIN };
	int r = -EAGAIN;

	while (r == -EAGAIN && now_ms() < end) {
		poll(&p, 1, 50);
		r = pidlock_waiter_try(w, l, NULL);
	}
	return r;
}

/* A waiter in an event loop, then a fork whose child keeps running the loop (prefork
 * servers): the holder dies (or releases a kept file); at most one process gets the lock,
 * and the copy never gets it through its parent's open file. */
static void forked_waiter(unsigned holder_flags, bool kill_holder)
{
	pid_t holder = start_holder(tpath("w.lock"), holder_flags, false);
	int ready[2], go[2];
	pidlock_waiter *w;
	pidlock *l = NULL;
	pid_t child;
	char c = 0;

	ck_assert_int_eq(pidlock_waiter_new(tpath("w.lock"), holder_flags, &w), 0);
	ck_assert_int_eq(waiter_until(w, &l, 50), -EAGAIN);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pidlock *cl = NULL;
		int r;

		close(ready[0]);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		r = waiter_until(w, &cl, 1000);
		pidlock_waiter_free(w);
		/* 0: refused as a copy; 1: took the lock through the parent's open file. */
		_exit(r == 0 ? 1 : r == -ECHILD ? 0 : 2);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	if (kill_holder) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
	} else {
		stop_holder(holder); /* a release, kept file or not */
	}
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(waiter_until(w, &l, 2000), 0);
	ck_assert_int_eq(wait_child(child), 0);
	pidlock_waiter_free(w);
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
}

START_TEST(forked_waiter_holder_killed) { forked_waiter(0, true); }
END_TEST

START_TEST(forked_waiter_keep_file_release) { forked_waiter(PIDLOCK_KEEP_FILE, false); }
END_TEST

/* A timed wait interrupted by a handler that forks with _Fork(); the child returns into the
 * wait and goes on. At no moment do both hold the lock. */
static volatile sig_atomic_t forked_pid = -1;

static void forking_handler(int sig)
{
	(void)sig;
	forked_pid = (pid_t)syscall(SYS_fork);
}

START_TEST(wait_forked_by_a_handler)
{
	pid_t holder = start_holder(tpath("h.lock"), 0, false);
	struct sigaction sa = { .sa_handler = forking_handler, .sa_flags = SA_RESTART };
	int results[2], done[2];
	pidlock *l = NULL;
	pid_t self = getpid();
	char buf[16];
	int r, other;

	ck_assert_int_eq(pipe(results), 0);
	ck_assert_int_eq(pipe(done), 0);
	sigaction(SIGUSR1, &sa, NULL);
	if (fork() == 0) {
		usleep(100 * 1000);
		kill(self, SIGUSR1);
		usleep(100 * 1000);
		kill(holder, SIGKILL);
		_exit(0);
	}
	r = pidlock_acquire(tpath("h.lock"), 0, 1500, &l, NULL);
	if (forked_pid == 0) {
		/* The child: report, and keep what it got until the parent's wait is over. */
		buf[0] = r == 0 ? 'y' : 'n';
		if (write(results[1], buf, 1) != 1 || read(done[0], buf, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(write(done[1], "d", 1), 1);
	ck_assert_int_gt(forked_pid, 0);
	ck_assert_int_eq(read(results[0], buf, 1), 1);
	other = buf[0] == 'y';
	/* Both returned while the other still ran: never both with the lock. */
	ck_assert_msg(!(r == 0 && other), "the parent and its forked copy both took the lock");
	ck_assert_msg(r == 0 || other, "neither took the lock freed by the holder's death");
	ck_assert_int_eq(wait_child(forked_pid), 0);
	if (l)
		ck_assert_int_eq(pidlock_release(l), 0);
	while (wait(NULL) > 0)
		;
	close(results[0]), close(results[1]), close(done[0]), close(done[1]);
}
END_TEST

/* Makes madvise(MADV_WIPEONFORK) fail with EINVAL in this process, as kernels before 4.14 and
 * some seccomp profiles do. */
#ifdef HAVE_SECCOMP_FILTER
static bool refuse_wipeonfork(const char *test)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_WIPEONFORK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		return true;
	skip_test("%s: seccomp filters refused here (qemu-user)", test);
	return false;
}
#else
static bool refuse_wipeonfork(const char *test)
{
	skip_test("%s: built without <linux/seccomp.h> (musl)", test);
	return false;
}
#endif

/* Without MADV_WIPEONFORK, a child made by a raw fork system call releases its copy: the
 * parent's file stays, the lock stays held, and the parent's check still says 0. */
START_TEST(raw_fork_child_releases_a_copy_without_wipeonfork)
{
	pidlock *l, *again;
	pid_t child;

	if (!refuse_wipeonfork("raw_fork_child_releases_a_copy_without_wipeonfork"))
		return;
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 0, &l, NULL), 0);
	child = (pid_t)syscall(SYS_fork);
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	ck_assert_int_eq(wait_child(child), 0);
	ck_assert(exists(tpath("r.lock")));
	ck_assert_int_eq(pidlock_read_pid(tpath("r.lock")), getpid());
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("r.lock"), 0, 0, &again, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("r.lock")));
}
END_TEST

/* The owner's kept-file release frees the lock for every copy: a worker made by a raw fork,
 * with or without MADV_WIPEONFORK. */
static void keep_file_copy_by_raw_fork(bool wipeonfork)
{
	pidlock *l, *next;
	pid_t worker;

	if (!wipeonfork && !refuse_wipeonfork("keep_file_release_frees_raw_forked_copy_without_wipeonfork"))
		return;
	ck_assert_int_eq(pidlock_acquire(tpath("k.lock"), PIDLOCK_KEEP_FILE, 0, &l, NULL), 0);
	worker = (pid_t)syscall(SYS_fork);
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("k.lock"), PIDLOCK_KEEP_FILE, 0, &next, NULL), 0);
	ck_assert_int_eq(pidlock_release(next), 0);
	kill(worker, SIGKILL);
	wait_child(worker);
}

START_TEST(keep_file_release_frees_raw_forked_copy) { keep_file_copy_by_raw_fork(true); }
END_TEST

START_TEST(keep_file_release_frees_raw_forked_copy_without_wipeonfork)
{
	keep_file_copy_by_raw_fork(false);
}
END_TEST

/* A thread forks a worker while the main thread is still waiting to acquire: the worker's copy
 * of the wait's descriptor becomes a copy of the lock. The kept-file release frees it. */
static void *fork_worker_later(void *arg)
{
	pid_t *worker = arg;

	usleep(100 * 1000);
	*worker = fork();
	if (*worker == 0) {
		pause();
		_exit(0);
	}
	return NULL;
}

START_TEST(keep_file_release_frees_worker_forked_during_the_wait)
{
	pid_t holder = start_holder(tpath("t.lock"), PIDLOCK_KEEP_FILE, false);
	pid_t worker = -1;
	pthread_t th;
	pidlock *l, *next;

	ck_assert_int_eq(pthread_create(&th, NULL, fork_worker_later, &worker), 0);
	if (fork() == 0) {
		usleep(300 * 1000);
		kill(holder, SIGKILL);
		_exit(0);
	}
	ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), PIDLOCK_KEEP_FILE, 3000, &l, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_gt(worker, 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), PIDLOCK_KEEP_FILE, 0, &next, NULL), 0);
	ck_assert_int_eq(pidlock_release(next), 0);
	kill(worker, SIGKILL);
	while (wait(NULL) > 0)
		;
}
END_TEST

/* Ordinary I/O on pidlock_fd(): reading back its own PID, writing through it, and a forked
 * worker reading the shared descriptor. None of it is a lost lock, and the release frees
 * everything. */
START_TEST(io_on_the_descriptor_is_not_a_lost_lock)
{
	pidlock *l, *next;
	char buf[32];
	pid_t worker;
	int fd;

	ck_assert_int_eq(pidlock_acquire(tpath("io.lock"), 0, 0, &l, NULL), 0);
	fd = pidlock_fd(l);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_gt(read(fd, buf, sizeof buf), 0);
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	ck_assert_int_eq(pidlock_check(l), 0);
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		lseek(fd, 0, SEEK_SET);
		_exit(read(fd, buf, sizeof buf) > 0 ? 0 : 1);
	}
	ck_assert_int_eq(wait_child(worker), 0);
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert_int_eq(pidlock_update(l), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(!exists(tpath("io.lock")));
	ck_assert_int_eq(pidlock_acquire(tpath("io.lock"), 0, 0, &next, NULL), 0);
	ck_assert_int_eq(pidlock_release(next), 0);
}
END_TEST

/* A privilege-separated worker (forked; the real daemons then drop to another user) moves the
 * shared offset to every value an update might have left: the owner's release still removes
 * the file and frees the lock. */
START_TEST(worker_moving_the_offset_keeps_nothing)
{
	static const off_t offsets[] = { 0, 1 << 30, (1 << 30) + (1 << 22) + 1, 1LL << 40 };
	pidlock *l, *next;
	pid_t worker;
	size_t i;

	for (i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		ck_assert_int_eq(pidlock_acquire(tpath("o.lock"), 0, 0, &l, NULL), 0);
		worker = fork();
		ck_assert_int_ge(worker, 0);
		if (worker == 0) {
			lseek(pidlock_fd(l), offsets[i], SEEK_SET);
			pause();
			_exit(0);
		}
		usleep(20 * 1000);
		ck_assert_int_eq(pidlock_release(l), 0);
		ck_assert(!exists(tpath("o.lock")));
		ck_assert_int_eq(pidlock_acquire(tpath("o.lock"), 0, 0, &next, NULL), 0);
		ck_assert_int_eq(pidlock_release(next), 0);
		kill(worker, SIGKILL);
		wait_child(worker);
	}
}
END_TEST

/* With stdin, stdout and stderr closed (as some supervisors start daemons), nothing the
 * library keeps lands on 0-2, so a daemon that then points them at /dev/null closes nothing of
 * ours: the kept inotify instance and a waiter's descriptors keep working. */
START_TEST(nothing_kept_on_standard_descriptors)
{
	pid_t holder = start_holder(tpath("s.lock"), 0, false);
	pid_t child = fork();

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pidlock_waiter *w;
		pidlock *l = NULL;
		int fd, r;

		close(0), close(1), close(2);
		if (pidlock_acquire(tpath("s.lock"), 0, 30, &l, NULL) != -EAGAIN)
			_exit(10);
		if (pidlock_waiter_new(tpath("s.lock"), 0, &w) != 0)
			_exit(11);
		if (waiter_until(w, &l, 30) != -EAGAIN)
			_exit(12);
		for (fd = 0; fd < 3; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				_exit(13 + fd); /* something of the library's is on 0-2 */
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 1);
		dup2(fd, 2);
		r = waiter_until(w, &l, 30);
		if (r != -EAGAIN)
			_exit(20);
		pidlock_waiter_free(w);
		_exit(pidlock_acquire(tpath("s.lock"), 0, 30, &l, NULL) == -EAGAIN ? 0 : 21);
	}
	ck_assert_int_eq(wait_child(child), 0);
	stop_holder(holder);
}
END_TEST

/* A program's own signal-driven I/O uses the signal number the library once used as a mark;
 * its pipe takes the number of the kept inotify instance closed behind the library's back
 * while a forked worker still has that instance open. The next wait neither reads the pipe nor
 * blocks on it, and ends at its timeout. */
START_TEST(program_pipe_with_our_old_signal_is_not_taken)
{
	pid_t holder = start_holder(tpath("g.lock"), 0, false);
	pidlock *l = NULL;
	pid_t worker;
	int ifd, p[2];
	long long t0;

	if (flock_build()) {
		skip_test("program_pipe_with_our_old_signal_is_not_taken: the flock build waits "
			  "without inotify");
		stop_holder(holder);
		return;
	}
	ck_assert_int_eq(pidlock_acquire(tpath("g.lock"), 0, 30, &l, NULL), -EAGAIN);
	ifd = fd_linking_to("anon_inode:inotify");
	ck_assert_int_ge(ifd, 0);
	/* A prefork worker keeps a copy of the kept instance open, so the kernel still lists it
	 * in the kept epoll under its old number after the program closes that number. */
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], ifd), ifd);
	close(p[0]);
	/* The signal the library once used as a mark (qemu-user refuses F_SETSIG: the pipe
	 * alone is then the same case). */
	fcntl(ifd, F_SETSIG, SIGRTMAX - 1);
	ck_assert_int_eq(write(p[1], "data", 4), 4);
	t0 = now_ms();
	ck_assert_int_eq(pidlock_acquire(tpath("g.lock"), 0, 100, &l, NULL), -EAGAIN);
	ck_assert_msg(now_ms() - t0 < 1500, "a 100 ms wait took %lld ms", now_ms() - t0);
	ck_assert_int_eq(read(ifd, p, 4), 4); /* the program's data is still there */
	ck_assert_int_ge(fcntl(ifd, F_GETFD), 0);
	close(ifd);
	close(p[1]);
	kill(worker, SIGKILL);
	wait_child(worker);
	stop_holder(holder);
}
END_TEST

/* A fork while another thread is inside the library: every function works in the child
 * (python-daemon forks, then acquires in the child). */
static volatile int spinning = 1;

static void *probe_forever(void *arg)
{
	pid_t who;

	while (spinning) {
		pidlock_holder((const char *)arg, &who);
		pidlock_check_path((const char *)arg, NULL, 0);
	}
	return NULL;
}

START_TEST(fork_while_another_thread_is_inside)
{
	char path[4096];
	pthread_t th;
	int i, bad = 0;

	if (getenv("PIDLOCK_EMULATED")) {
		/* qemu-user's child can deadlock in qemu itself: its path() translation takes a
		 * mutex the other thread may hold at the fork (seen in gdb: qemu_mutex_lock_impl
		 * under path(), in about 1 run in 8 with two suites in parallel). */
		skip_test("fork_while_another_thread_is_inside: qemu-user's own path lock is "
			  "not reset in a forked child");
		return;
	}
	snprintf(path, sizeof path, "%s", tpath("sub/deeper/p.lock"));
	ck_assert_int_eq(pthread_create(&th, NULL, probe_forever, path), 0);
	for (i = 0; i < 100 && !bad; i++) {
		pid_t child = fork();

		ck_assert_int_ge(child, 0);
		if (child == 0) {
			pidlock *l;
			pid_t who;

			alarm(5); /* a deadlock ends as SIGALRM */
			if (pidlock_holder(path, &who) < 0 ||
			    pidlock_acquire(path, 0, 0, &l, NULL) != 0)
				_exit(1);
			_exit(pidlock_release(l) == 0 ? 0 : 2);
		}
		bad = wait_child(child) != 0;
	}
	spinning = 0;
	pthread_join(th, NULL);
	ck_assert_msg(!bad, "a child of fork %d failed or hung", i);
}
END_TEST

/* A signal with a handler, under PIDLOCK_INTERRUPTIBLE, landing at any moment of a wait (in
 * a try as well as in a sleep) ends it with -EINTR: none sleeps on to its timeout. */
static void noop(int sig) { (void)sig; }

struct sender {
	pthread_t target;
	volatile int go;
	unsigned seed;
};

static void *send_soon(void *arg)
{
	struct sender *s = arg;

	while (!s->go)
		;
	usleep(50 + rand_r(&s->seed) % 3000);
	pthread_kill(s->target, SIGUSR2);
	return NULL;
}

START_TEST(signal_between_two_sleeps_is_not_lost)
{
	pid_t holder = start_holder(tpath("i.lock"), 0, false);
	struct sigaction sa = { .sa_handler = noop };
	struct sender s = { .target = pthread_self(), .seed = 1 };
	int i, lost = 0, r;
	pidlock *l = NULL;
	pthread_t th;

	sigaction(SIGUSR2, &sa, NULL);
	for (i = 0; i < 200; i++) {
		s.go = 0;
		ck_assert_int_eq(pthread_create(&th, NULL, send_soon, &s), 0);
		s.go = 1;
		r = pidlock_acquire(tpath("i.lock"), PIDLOCK_INTERRUPTIBLE, 1000, &l, NULL);
		pthread_join(th, NULL);
		if (r != -EINTR)
			lost++;
	}
	stop_holder(holder);
	ck_assert_msg(lost == 0, "%d of 200 signals did not end the wait", lost);
}
END_TEST

/* The parent takes the lock back after its child adopted it: the last update owns it, so the
 * child's release is a copy's and the parent still holds the lock. */
START_TEST(parent_update_after_child_adopted)
{
	pidlock *l, *other;
	pid_t child;
	int go[2], done[2];
	char c;

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		c = pidlock_update(l) == 0 ? 'y' : 'n';
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(pidlock_release(l) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(pidlock_update(l), 0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(wait_child(child), 0);
	ck_assert_int_eq(pidlock_check(l), 0);
	ck_assert(exists(tpath("a.lock")));
	ck_assert_int_eq(pidlock_acquire(tpath("a.lock"), 0, 0, &other, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_release(l), 0);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}
END_TEST

/* A waiter at the descriptor limit cannot ask /proc whether its descriptors are its own: that
 * try fails with -EMFILE and the waiter goes on, never taking its descriptors for lost. */
START_TEST(waiter_at_the_descriptor_limit)
{
	pid_t holder = start_holder(tpath("m.lock"), 0, false);
	struct rlimit was, none = { 0, 0 };
	pidlock_waiter *w;
	pidlock *l = NULL;
	int r;

	ck_assert_int_eq(pidlock_waiter_new(tpath("m.lock"), 0, &w), 0);
	ck_assert_int_eq(waiter_until(w, &l, 30), -EAGAIN);
	getrlimit(RLIMIT_NOFILE, &was);
	none.rlim_max = was.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
	r = pidlock_waiter_try(w, &l, NULL);
	setrlimit(RLIMIT_NOFILE, &was);
	ck_assert_msg(r == -EMFILE || r == -EAGAIN, "waiter_try at the limit: %d", r);
	ck_assert_int_ge(pidlock_waiter_fd(w), 3);
	stop_holder(holder);
	ck_assert_int_eq(waiter_until(w, &l, 2000), 0);
	pidlock_waiter_free(w);
	ck_assert_int_eq(pidlock_release(l), 0);
}
END_TEST

/* A release with no descriptor left to read /proc with: its own label in the file, it lets
 * go as always; a label a forked copy wrote through its descriptor (ordinary I/O, not an
 * adoption) is not believed, and nothing is let go either: -EMFILE says so, and the copy
 * still holds the lock (never a free lock beside a holder that believes). */
static void release_at_the_limit(bool forged)
{
	const char *path = tpath("e.lock");
	struct rlimit was, none = { 0, 0 };
	int go[2], r;
	pidlock *l;
	pid_t copy;
	char c;

	ck_assert_int_eq(pidlock_acquire(path, 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pipe(go), 0);
	copy = fork();
	ck_assert_int_ge(copy, 0);
	if (copy == 0) {
		char label[16];
		int n = snprintf(label, sizeof label, "%d\n", (int)getpid());

		if (forged && pwrite(pidlock_fd(l), label, (size_t)n, 0) != n)
			_exit(1);
		if (write(go[1], "w", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	getrlimit(RLIMIT_NOFILE, &was);
	none.rlim_max = was.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
	r = pidlock_release(l);
	setrlimit(RLIMIT_NOFILE, &was);
	if (forged) {
		ck_assert_int_eq(r, -EMFILE);
		ck_assert_int_eq(pidlock_holder(path, NULL), 1); /* the copy's, not let go */
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert(!exists(path));
	}
	stop_holder(copy);
	ck_assert_int_eq(pidlock_holder(path, NULL), 0);
	close(go[0]);
	close(go[1]);
}

START_TEST(release_at_the_limit_with_own_label) { release_at_the_limit(false); }
END_TEST

START_TEST(release_at_the_limit_with_a_copy_label) { release_at_the_limit(true); }
END_TEST

/* A child forked into a new PID namespace can have its parent's PID number (a container's 1):
 * its release of the copy it inherited still only closes it. */
START_TEST(copy_in_a_new_pid_namespace_with_the_same_pid)
{
	pid_t outer;
	int status;

	if (geteuid() != 0) {
		skip_test("copy_in_a_new_pid_namespace_with_the_same_pid: needs root to unshare");
		return;
	}
	outer = fork();
	ck_assert_int_ge(outer, 0);
	if (outer == 0) {
		pid_t init, copy;

		if (unshare(CLONE_NEWPID) < 0)
			_exit(77);
		init = fork(); /* PID 1 of the new namespace: the owner */
		if (init != 0)
			_exit(init > 0 ? wait_child(init) : 2);
		{
			pidlock *l, *other;
			int r;

			if (getpid() != 1 || pidlock_acquire(tpath("n.lock"), 0, 0, &l, NULL) != 0)
				_exit(3);
			if (unshare(CLONE_NEWPID) < 0)
				_exit(4);
			copy = fork(); /* PID 1 of a nested namespace, with a copy of the handle */
			if (copy == 0)
				_exit(getpid() == 1 && pidlock_release(l) == 0 ? 0 : 5);
			if (copy < 0 || wait_child(copy) != 0)
				_exit(6);
			r = pidlock_acquire(tpath("n.lock"), 0, 0, &other, NULL);
			if (!exists(tpath("n.lock")) || pidlock_check(l) != 0 || r != -EAGAIN)
				_exit(7);
			_exit(pidlock_release(l) == 0 ? 0 : 8);
		}
	}
	status = wait_child(outer);
	if (status == 77)
		skip_test("copy_in_a_new_pid_namespace_with_the_same_pid: unshare refused here");
	else
		ck_assert_msg(status == 0, "the copy in the nested namespace released the owner's "
			      "lock (step %d)", status);
}
END_TEST

/* A privilege-separated worker (forked, then another user) has a copy of root's descriptor:
 * its update is refused, and a range it re-takes through the copy to name itself never makes it
 * the holder that `pidlock stop` would signal. (Lock operations through the descriptor are
 * forbidden: root's release then only closes, and the worker keeps the lock until it exits.) */
START_TEST(privsep_worker_takes_nothing_over)
{
	pidlock *l, *next;
	int go[2], done[2];
	pid_t worker;
	char c;

	if (geteuid() != 0) {
		skip_test("privsep_worker_takes_nothing_over: needs root to become nobody");
		return;
	}
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &l, NULL), 0);
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char info[64], buf[512], *end;
		long long last = -1;
		int f, n;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		c = pidlock_update(l) == -EPERM ? 'y' : 'n';
		/* The range of the lock, re-taken to name this process (the id kept). */
		snprintf(info, sizeof info, "/proc/self/fdinfo/%d", pidlock_fd(l));
		f = open(info, O_RDONLY);
		n = f >= 0 ? (int)read(f, buf, sizeof buf - 1) : -1;
		if (n > 0) {
			buf[n] = '\0';
			end = strrchr(buf, ' ');
			last = end ? strtoll(end + 1, NULL, 10) : -1;
		}
		if (last > 0) {
			long long tag = last + 1;
			fl.l_len = (tag & ~(((1LL << 22) - 1) << 24)) | ((long long)getpid() << 24);
			fcntl(pidlock_fd(l), F_OFD_SETLK, &fl);
		}
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(pidlock_holds(tpath("p.lock"), worker), 0);
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(wait_child(worker), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("p.lock"), 0, 0, &next, NULL), 0);
	ck_assert_int_eq(pidlock_release(next), 0);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}
END_TEST

/* The lock's number closed behind the library's back, the program opens the same file at that
 * number, and the file leaves the path: the release cannot prove the descriptor is its own,
 * says so and closes nothing. */
START_TEST(release_leaves_a_program_descriptor_of_the_same_file)
{
	pidlock *l;
	int fd, mine;

	ck_assert_int_eq(pidlock_acquire(tpath("c.lock"), 0, 0, &l, NULL), 0);
	fd = pidlock_fd(l);
	close(fd);
	mine = open(tpath("c.lock"), O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(mine, fd);
	ck_assert_int_eq(unlink(tpath("c.lock")), 0);
	ck_assert_int_eq(pidlock_check(l), -EBADFD);
	ck_assert_int_eq(pidlock_release(l), -EBADFD);
	ck_assert_int_ge(fcntl(mine, F_GETFD), 0); /* still the program's */
	close(mine);
}
END_TEST

/* A signal that arrives while the acquire still walks a long path, before its first sleep,
 * ends the wait under PIDLOCK_INTERRUPTIBLE. */
START_TEST(signal_during_the_path_walk_is_not_lost)
{
	struct sigaction sa = { .sa_handler = noop };
	struct sender s = { .target = pthread_self(), .seed = 7 };
	char path[4096];
	size_t len;
	pid_t holder;
	pidlock *l = NULL;
	pthread_t th;
	int i, lost = 0;

	len = (size_t)snprintf(path, sizeof path, "%s", tdir);
	for (i = 0; i < 300; i++) {
		len += (size_t)snprintf(path + len, sizeof path - len, "/d");
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	snprintf(path + len, sizeof path - len, "/x.lock");
	holder = start_holder(path, 0, false);
	sigaction(SIGUSR2, &sa, NULL);
	for (i = 0; i < 40; i++) {
		s.go = 0;
		ck_assert_int_eq(pthread_create(&th, NULL, send_soon, &s), 0);
		s.go = 1;
		if (pidlock_acquire(path, PIDLOCK_INTERRUPTIBLE, 1000, &l, NULL) != -EINTR)
			lost++;
		pthread_join(th, NULL);
	}
	stop_holder(holder);
	ck_assert_msg(lost == 0, "%d of 40 signals did not end the wait", lost);
}
END_TEST

/* The daemonize order that drops privileges: the child adopts while still root, then becomes
 * another user; the parent's release only closes its copy, and no second instance starts. */
START_TEST(adopter_that_drops_privileges_keeps_the_lock)
{
	pidlock *l, *other;
	int go[2], done[2];
	pid_t child;
	char c;

	if (geteuid() != 0) {
		skip_test("adopter_that_drops_privileges_keeps_the_lock: needs root");
		return;
	}
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(done), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("u.lock"), 0, 0, &l, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		c = pidlock_update(l) == 0 && setgid(65534) == 0 && setuid(65534) == 0 ? 'y' : 'n';
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(read(done[0], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(pidlock_release(l), 0);
	ck_assert(exists(tpath("u.lock")));
	ck_assert_int_eq(pidlock_acquire(tpath("u.lock"), 0, 0, &other, NULL), -EAGAIN);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(wait_child(child), 0);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}
END_TEST

/* Without /proc (a private mount namespace that unmounted it): acquire, check and release
 * work, comparing the file alone. */
START_TEST(works_without_proc)
{
	pid_t child;
	int status;

	if (geteuid() != 0) {
		skip_test("works_without_proc: needs root for a mount namespace");
		return;
	}
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pidlock *l, *other;

		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    umount2("/proc", MNT_DETACH) < 0)
			_exit(77);
		if (access("/proc/self", F_OK) == 0)
			_exit(77);
		if (pidlock_acquire(tpath("x.lock"), 0, 0, &l, NULL) != 0)
			_exit(1);
		if (pidlock_check(l) != 0)
			_exit(2);
		if (pidlock_acquire(tpath("x.lock"), 0, 0, &other, NULL) != -EAGAIN)
			_exit(3);
		if (pidlock_release(l) != 0 || exists(tpath("x.lock")))
			_exit(4);
		_exit(0);
	}
	status = wait_child(child);
	if (status == 77)
		skip_test("works_without_proc: no private mount namespace here");
	else
		ck_assert_msg(status == 0, "step %d failed without /proc", status);
}
END_TEST

Suite *suite_owner(void)
{
	Suite *s = suite_create("owner");

	ADD_TCASE(s, "forked waits", 30, forked_waiter_holder_killed,
		  forked_waiter_keep_file_release, wait_forked_by_a_handler);
	ADD_TCASE(s, "forked copies", 30, raw_fork_child_releases_a_copy_without_wipeonfork,
		  parent_update_after_child_adopted,
		  keep_file_release_frees_raw_forked_copy,
		  keep_file_release_frees_raw_forked_copy_without_wipeonfork,
		  keep_file_release_frees_worker_forked_during_the_wait);
	ADD_TCASE(s, "descriptor", 30, io_on_the_descriptor_is_not_a_lost_lock,
		  worker_moving_the_offset_keeps_nothing, nothing_kept_on_standard_descriptors,
		  program_pipe_with_our_old_signal_is_not_taken, waiter_at_the_descriptor_limit,
		  release_at_the_limit_with_own_label, release_at_the_limit_with_a_copy_label);
	ADD_TCASE(s, "threads and signals", 120, fork_while_another_thread_is_inside,
		  signal_between_two_sleeps_is_not_lost, signal_during_the_path_walk_is_not_lost);
	ADD_TCASE(s, "other processes", 30, copy_in_a_new_pid_namespace_with_the_same_pid,
		  privsep_worker_takes_nothing_over, release_leaves_a_program_descriptor_of_the_same_file,
		  adopter_that_drops_privileges_keeps_the_lock, works_without_proc);
	return s;
}
