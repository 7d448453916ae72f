/* What every measurement shares: the clock, shared memory, statistics, the lock variants
 * that can be waited for, and a helper process that holds a lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

long long cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

void sleep_ns(long long ns)
{
	struct timespec t = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &t) == EINTR)
		;
}

void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

long arg_long(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "pidlock-bench: %s must be a non-negative integer, not '%s'\n", what, s);
		exit(2);
	}
	return v;
}

void die(const char *what, int err)
{
	fprintf(stderr, "pidlock-bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

void summarize(long long *samples, size_t n, long long *median, long long *p99)
{
	size_t i99;

	if (n == 0) {
		*median = *p99 = 0;
		return;
	}
	qsort(samples, n, sizeof *samples, cmp_ll);
	*median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
	/* nearest rank: the smallest sample with at least 99 % of them at or below it */
	i99 = (n * 99 + 99) / 100;
	*p99 = samples[(i99 ? i99 : 1) - 1];
}

unsigned long long next_random(void)
{
	static unsigned long long s = 0x9e3779b97f4a7c15ULL;

	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

/* libpidlock waiting as a daemon would: forever, or with a deadline it never reaches. */
static struct held acquire_pidlock(const char *path, int timeout_ms)
{
	struct held h = { NULL, -1 };
	int r = pidlock_acquire(path, 0, timeout_ms, &h.lock, NULL);

	if (r < 0)
		die("pidlock_acquire", r);
	return h;
}

static struct held acquire_forever(const char *path)
{
	return acquire_pidlock(path, PIDLOCK_WAIT_FOREVER);
}

static struct held acquire_timeout(const char *path)
{
	return acquire_pidlock(path, 60000);
}

/* A kept file (PIDLOCK_KEEP_FILE), with a deadline it never reaches. */
static struct held acquire_keep(const char *path)
{
	struct held h = { NULL, -1 };
	int r = pidlock_acquire(path, PIDLOCK_KEEP_FILE, 60000, &h.lock, NULL);

	if (r < 0)
		die("pidlock_acquire", r);
	return h;
}

static void release_pidlock(struct held h)
{
	int r = pidlock_release(h.lock);

	if (r < 0)
		die("pidlock_release", r);
}

#if PIDLOCK_VERSION_NUMBER >= 10100
/* An event loop's wait (since 1.1): poll() on the waiter's descriptor, then a try that never
 * blocks, until the lock is ours; a fresh waiter per acquisition, as a loop would make one. */
static struct held acquire_waiter(const char *path)
{
	struct held h = { NULL, -1 };
	pidlock_waiter *w;
	int r = pidlock_waiter_new(path, 0, &w);

	if (r < 0)
		die("pidlock_waiter_new", r);
	for (;;) {
		struct pollfd p = { .fd = pidlock_waiter_fd(w), .events = POLLIN };

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll", errno);
		}
		r = pidlock_waiter_try(w, &h.lock, NULL);
		if (r == 0)
			break;
		if (r != -EAGAIN && r != -EBUSY)
			die("pidlock_waiter_try", r);
	}
	pidlock_waiter_free(w);
	return h;
}
#endif

/* The floor of a waiting lock: the kernel's own blocking wait (F_OFD_SETLKW) on a file that
 * is never removed, so that every waiter is queued on the one inode; the PID is written as
 * libpidlock writes it. No timeout is possible and no stale content is ever cleaned. */
static struct held acquire_floor(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct held h = { NULL, -1 };
	char buf[16];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());

	h.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (h.fd < 0)
		die("open", errno);
	while (fcntl(h.fd, F_OFD_SETLKW, &fl) < 0)
		if (errno != EINTR)
			die("F_OFD_SETLKW", errno);
	if (pwrite(h.fd, buf, (size_t)len, 0) != len)
		die("pwrite", errno);
	return h;
}

static void release_floor(struct held h)
{
	close(h.fd);
}

static const struct waitlock waitlocks[] = {
	{ "pidlock", acquire_forever, release_pidlock },
	{ "pidlock-timeout", acquire_timeout, release_pidlock },
	{ "pidlock-keep", acquire_keep, release_pidlock },
#if PIDLOCK_VERSION_NUMBER >= 10100
	{ "pidlock-waiter", acquire_waiter, release_pidlock },
#endif
	{ "floor", acquire_floor, release_floor },
};

const struct waitlock *waitlock_find(const char *name)
{
	for (size_t i = 0; i < sizeof waitlocks / sizeof *waitlocks; i++)
		if (strcmp(waitlocks[i].name, name) == 0)
			return &waitlocks[i];
	fprintf(stderr, "pidlock-bench: unknown lock '%s' (see pidlock-bench locks)\n", name);
	exit(2);
}

int cmd_locks(int argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "usage: pidlock-bench locks\n");
		return 2;
	}
	printf("library %s\n", pidlock_version());
	for (size_t i = 0; i < sizeof waitlocks / sizeof *waitlocks; i++)
		printf("%s\n", waitlocks[i].name);
	return 0;
}

static int holder_stop_fd = -1;

int holder_start(const char *path)
{
	int ready[2], stop[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0)
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		pidlock *l;
		int r = pidlock_acquire(path, 0, 0, &l, NULL);

		if (r < 0)
			die("holder: pidlock_acquire", r);
		close(stop[1]);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		while (read(stop[0], &c, 1) > 0)
			;
		pidlock_release(l);
		_exit(0);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &c, 1) != 1)
		die("holder did not start", EIO);
	close(ready[0]);
	holder_stop_fd = stop[1];
	return pid;
}

void holder_stop(int pid)
{
	int status;

	close(holder_stop_fd);
	holder_stop_fd = -1;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("holder failed", EIO);
}
