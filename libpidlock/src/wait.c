/* Waiting for a held lock to change hands, when there is a deadline (an endless wait blocks
 * in the kernel instead: see lock_fd()).
 *
 * F_OFD_SETLKW cannot time out, so the waiter sleeps in ppoll() on an inotify watch of the
 * locked file: the holder's close (IN_CLOSE_WRITE), unlink (IN_ATTRIB) or a rename wake it at
 * once. The kernel reports the close a moment before it drops the lock, so after each wake the
 * retry interval starts again at a few microseconds and doubles up to a cap; the cap also
 * bounds the wait when no event can come (no inotify to be had, or a PID-only holder under
 * PIDLOCK_CHECK_PID). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "pidlock-int.h"

#define FIRST_DELAY_NS 20000L      /* 20 us */
#define MAX_DELAY_NS 100000000L    /* 100 ms */
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static long long ns_of(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

/* Closing an inotify instance waits for an SRCU grace period in the kernel (milliseconds,
 * tens of them on a busy machine), and it would fall between winning the lock and returning.
 * So one instance is kept for the process's next timed wait: given back with its watch
 * removed, tagged with the fork generation that made it, since a child must not read its
 * parent's events. A second concurrent waiter closes its own. */
#define SPARE_NONE ULLONG_MAX
static _Atomic unsigned long long spare = SPARE_NONE;

static void drain(int ifd);

static int take_instance(void)
{
	unsigned long long v = atomic_exchange(&spare, SPARE_NONE);
	int ifd;

	if (v != SPARE_NONE) {
		ifd = (int)(v & 0xffffffffu);
		if ((unsigned)(v >> 32) == pidlock__generation()) {
			drain(ifd);
			return ifd;
		}
		close(ifd); /* the parent's, copied by fork() */
	}
	return inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

static void give_back(int ifd, int wd)
{
	unsigned long long none = SPARE_NONE;

	if (wd >= 0)
		inotify_rm_watch(ifd, wd);
	if (!atomic_compare_exchange_strong(&spare, &none,
					    (unsigned long long)pidlock__generation() << 32 | (unsigned)ifd))
		close(ifd);
}

void pidlock__waiter_init(struct pidlock_waiter *w, int timeout_ms, unsigned flags)
{
	struct timespec now;

	w->ifd = -2; /* not tried yet */
	w->wd = -1;
	w->watched_fd = -1;
	w->delay_ns = FIRST_DELAY_NS;
	w->flags = flags;
	w->forever = timeout_ms < 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (timeout_ms > 0) {
		long long end = ns_of(&now) + timeout_ms * 1000000LL;
		w->deadline.tv_sec = end / 1000000000LL;
		w->deadline.tv_nsec = end % 1000000000LL;
	}
}

void pidlock__waiter_done(struct pidlock_waiter *w)
{
	if (w->ifd >= 0)
		give_back(w->ifd, w->wd);
	w->ifd = -2;
}

/* Watch the file behind @fd. Returns true when a new watch went in: the caller must try the
 * lock once more before sleeping, or a release between its last try and now is missed. */
static bool watch(struct pidlock_waiter *w, int fd)
{
	char proc[64];

	if (w->ifd == -2)
		w->ifd = take_instance();
	if (w->ifd < 0 || fd < 0 || fd == w->watched_fd)
		return false;
	if (w->wd >= 0)
		inotify_rm_watch(w->ifd, w->wd);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	w->wd = inotify_add_watch(w->ifd, proc, WATCH_EVENTS);
	w->watched_fd = w->wd >= 0 ? fd : -1;
	return w->wd >= 0;
}

static void drain(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ifd, buf, sizeof buf) > 0)
		;
}

int pidlock__wait(struct pidlock_waiter *w, int fd)
{
	struct pollfd pfd;
	struct timespec now, ts;
	long long left = MAX_DELAY_NS;
	int r;

	if (watch(w, fd))
		return 0;
	if (!w->forever) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ns_of(&w->deadline) - ns_of(&now);
		if (left <= 0)
			return -ETIMEDOUT;
	}
	if (left > w->delay_ns)
		left = w->delay_ns;
	ts.tv_sec = left / 1000000000LL;
	ts.tv_nsec = left % 1000000000LL;
	pfd.fd = w->ifd >= 0 && w->watched_fd == fd ? w->ifd : -1;
	pfd.events = POLLIN;
	r = ppoll(&pfd, 1, &ts, NULL);
	if (r < 0) {
		if (errno == EINTR && (w->flags & PIDLOCK_INTERRUPTIBLE))
			return -EINTR;
		return 0;
	}
	if (r > 0) {
		drain(w->ifd);
		w->delay_ns = FIRST_DELAY_NS;
	} else if (w->delay_ns < MAX_DELAY_NS) {
		w->delay_ns *= 2;
	}
	return 0;
}
