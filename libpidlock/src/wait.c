/* Waiting for a held lock to change hands: pidlock_acquire()'s waits and the waiter object an
 * event loop polls. One machinery serves both.
 *
 * The waiter sleeps on an inotify watch of the file it found locked: the holder's close
 * (IN_CLOSE_WRITE: its release, its death, a lock it never wrote a PID into) and unlink
 * (IN_ATTRIB) wake it at once. Blocking in F_OFD_SETLKW instead would sleep on that one file
 * for as long as any forked copy of the holder's descriptor lives, even after the holder
 * released and a new file stands at the path; so after every wake the waiter checks that its
 * file is still the one at the path, and opens the path again when not. The kernel reports a
 * close a moment before it drops the lock, so after each wake the retry interval starts again
 * at a few microseconds and doubles up to a cap; the cap also bounds the wait when no event can
 * come (no inotify, or a PID-only holder under PIDLOCK_CHECK_PID). The watch follows the
 * file's identity (device and inode), never its descriptor number, which a reopen reuses. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pidlock-int.h"
#ifdef PIDLOCK_HAVE_INOTIFY
#include <sys/inotify.h>
#endif
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/timerfd.h>
#endif

#define FIRST_DELAY_NS 20000L      /* 20 us */
#define MAX_DELAY_NS 100000000L    /* 100 ms */
#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define MAX_QUICK_TRIES 8          /* tries in a row without sleeping, per wake */

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long next_delay(long delay, bool woken)
{
	if (woken)
		return FIRST_DELAY_NS;
	return delay >= MAX_DELAY_NS / 2 ? MAX_DELAY_NS : delay * 2;
}

/* Descriptors the library keeps between calls carry a signal number set with F_SETSIG, which
 * nothing else sets (it only matters with O_ASYNC, which nothing here uses): a number closed
 * behind our back and reused shows another, and is then neither read nor closed. */
#define OUR_SIG 63

static int marks; /* 1 they work, 0 refused (qemu-user has no F_SETSIG), -1 not known yet */

static inline bool marks_work(void) { return PL_LOAD(&marks) == 1; }

static inline bool mark_ours(int fd)
{
	if (fd < 0)
		return false;
	if (fcntl(fd, F_SETSIG, OUR_SIG) == 0) {
		PL_STORE(&marks, 1);
		return true;
	}
	/* Without marks nothing is kept between calls of the blocking waits; a waiter's
	 * descriptors then cannot be checked, which pidlock(3) says. */
	PL_STORE(&marks, 0);
	return errno == EINVAL;
}

static inline bool is_ours(int fd)
{
	return fd >= 0 && (!marks_work() || fcntl(fd, F_GETSIG) == OUR_SIG);
}

/* The watch of one waiter: which file it is on. */
struct watch {
	int ifd;
	int wd;
	dev_t dev;
	ino_t ino;
};

#ifdef PIDLOCK_HAVE_INOTIFY
/* Drains the events; returns whether there were any. Only ever called on an instance known
 * to be ours and non-blocking. */
static bool drain(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	while (read(ifd, buf, sizeof buf) > 0)
		any = true;
	return any;
}

/* Watches the file of the last try, when it is not already the watched one. Returns true when
 * a new watch went in: the caller must try once more before sleeping, or a release between
 * its last try and the watch is missed. */
static bool watch_file(struct watch *w, struct pidlock_try *t)
{
	char proc[64];

	if (w->ifd < 0 || t->fd < 0)
		return false;
	if (w->wd >= 0 && w->dev == t->st.st_dev && w->ino == t->st.st_ino)
		return false;
	if (w->wd >= 0)
		inotify_rm_watch(w->ifd, w->wd);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->fd);
	w->wd = inotify_add_watch(w->ifd, proc, WATCH_EVENTS);
	if (w->wd < 0) /* no /proc: the path, which pidlock__try_moved() just showed is ours */
		w->wd = inotify_add_watch(w->ifd, t->l->real, WATCH_EVENTS | IN_DONT_FOLLOW);
	w->dev = t->st.st_dev;
	w->ino = t->st.st_ino;
	return w->wd >= 0;
}

/* Closing an inotify instance that had watches waits for an SRCU grace period in the kernel
 * (milliseconds, tens of them on a busy machine), and it would fall between winning the lock
 * and returning. So one instance is kept for the process's next wait, with its watch removed,
 * tagged with the fork generation that made it (a child must not read its parent's events).
 * A program may close it behind our back (closefrom(), close_range()) and the number may then
 * name anything, even a blocking pipe: so it also carries a signal number set with F_SETSIG,
 * which nothing else sets, and is used only while fcntl(F_GETSIG) still shows it. */
#define SPARE_NONE ULLONG_MAX
static unsigned long long spare = SPARE_NONE;

static int take_instance(void)
{
	unsigned long long v = PL_XCHG(&spare, SPARE_NONE);
	int ifd;

	if (v != SPARE_NONE) {
		ifd = (int)(v & 0xffffffffu);
		if (is_ours(ifd)) {
			if ((unsigned)(v >> 32) == pidlock__generation()) {
				drain(ifd);
				return ifd;
			}
			close(ifd); /* the parent's, copied by fork() */
		}
	}
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0 && !mark_ours(ifd)) {
		close(ifd);
		return -1;
	}
	return ifd;
}

static void give_back(struct watch *w)
{
	unsigned long long none = SPARE_NONE;

	if (w->ifd < 0)
		return;
	if (w->wd >= 0)
		inotify_rm_watch(w->ifd, w->wd);
	if (!marks_work() || !PL_CAS(&spare, &none,
					    (unsigned long long)pidlock__generation() << 32 |
						    (unsigned)w->ifd))
		close(w->ifd);
	w->ifd = -1;
}
#else
static bool drain(int ifd) { (void)ifd; return false; }
static bool watch_file(struct watch *w, struct pidlock_try *t) { (void)w, (void)t; return false; }
static int take_instance(void) { return -1; }
static void give_back(struct watch *w) { (void)w; }
#endif

static bool still_held(int r) { return r == -EAGAIN || r == -EBUSY; }

/* After a failed try: reopen the path if the file left it, and make sure the watch is on the
 * file now at the path, trying again each time something changed. Returns the last result. */
static int settle_watch(struct watch *w, struct pidlock_try *t, int r)
{
	int n;

	for (n = 0; still_held(r) && n < MAX_QUICK_TRIES; n++) {
		if (pidlock__try_moved(t) || watch_file(w, t))
			r = pidlock__try(t);
		else
			break;
	}
	return r;
}

int pidlock__wait_for(struct pidlock_try *t, int timeout_ms)
{
	struct watch w = { .ifd = take_instance(), .wd = -1 };
	long long deadline = timeout_ms > 0 ? now_ns() + timeout_ms * 1000000LL : LLONG_MAX;
	long delay = FIRST_DELAY_NS;
	struct pollfd pfd;
	struct timespec ts;
	long long left;
	int r = -EAGAIN, n;

	for (;;) {
		r = settle_watch(&w, t, r);
		if (!still_held(r))
			break;
		left = deadline - now_ns();
		if (left <= 0)
			break;
		if (left > delay)
			left = delay;
		ts.tv_sec = left / 1000000000LL;
		ts.tv_nsec = left % 1000000000LL;
		pfd.fd = w.wd >= 0 ? w.ifd : -1;
		pfd.events = POLLIN;
		n = ppoll(&pfd, 1, &ts, NULL);
		if (n < 0 && errno == EINTR && (t->l->flags & PIDLOCK_INTERRUPTIBLE)) {
			r = -EINTR;
			break;
		}
		/* Without the flag a signal is only a pause: the handler ran, the wait goes on. */
		delay = next_delay(delay, n > 0 && drain(w.ifd));
		r = pidlock__try(t);
	}
	give_back(&w);
	return r;
}

#ifdef __linux__
struct pidlock_waiter {
	struct pidlock_try t;
	struct watch w;
	int tfd;            /* the retry timer */
	int epfd;           /* the one descriptor a loop watches: the timer and the watch */
	long delay;
	bool done;          /* an error or a success ended it */
};

static void arm(pidlock_waiter *wt, long ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = ns / 1000000000L,
						.tv_nsec = ns % 1000000000L } };

	timerfd_settime(wt->tfd, 0, &its, NULL);
}

int pidlock_waiter_new(const char *path, unsigned flags, pidlock_waiter **ret)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pidlock_waiter *wt;
	int r;

	if (!ret)
		return -EINVAL;
	*ret = NULL;
	wt = calloc(1, sizeof *wt);
	if (!wt)
		return -ENOMEM;
	wt->w.ifd = wt->tfd = wt->epfd = -1;
	wt->w.wd = -1;
	r = pidlock__try_new(path, flags, &wt->t);
	if (r < 0) {
		free(wt);
		return r;
	}
	/* The process's kept instance (or a new one), given back by pidlock_waiter_free(): an
	 * event loop would otherwise pay the kernel's wait on closing it after every wait. */
	wt->w.ifd = take_instance();
	wt->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	wt->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!mark_ours(wt->tfd) || !mark_ours(wt->epfd) ||
	    epoll_ctl(wt->epfd, EPOLL_CTL_ADD, wt->tfd, &ev) < 0 ||
	    (wt->w.ifd >= 0 && epoll_ctl(wt->epfd, EPOLL_CTL_ADD, wt->w.ifd, &ev) < 0)) {
		r = -errno;
		pidlock_waiter_free(wt);
		return r;
	}
	wt->delay = FIRST_DELAY_NS;
	arm(wt, 1); /* readable at once: the loop's first wake is the first try */
	*ret = wt;
	return 0;
}

int pidlock_waiter_fd(const pidlock_waiter *wt) { return wt ? wt->epfd : -EINVAL; }

int pidlock_waiter_try(pidlock_waiter *wt, pidlock **ret_lock, pid_t *ret_holder)
{
	uint64_t ticks;
	bool woken;
	int r;

	if (ret_holder)
		*ret_holder = 0;
	if (ret_lock)
		*ret_lock = NULL;
	if (!wt || !ret_lock)
		return -EINVAL;
	if (wt->done)
		return -EINVAL;
	/* A waiter lives across calls: its descriptors may have been closed behind its back. */
	if (!is_ours(wt->epfd) || !is_ours(wt->tfd) || (wt->w.ifd >= 0 && !is_ours(wt->w.ifd))) {
		wt->epfd = wt->tfd = wt->w.ifd = -1; /* forgotten, not closed: not ours now */
		wt->done = true;
		pidlock__try_done(&wt->t, -EBADFD);
		return -EBADFD;
	}
	woken = wt->w.ifd >= 0 && drain(wt->w.ifd);
	while (read(wt->tfd, &ticks, sizeof ticks) > 0)
		;
	r = settle_watch(&wt->w, &wt->t, pidlock__try(&wt->t));
	if (still_held(r)) {
		wt->delay = next_delay(wt->delay, woken);
		arm(wt, wt->delay);
		if (r == -EAGAIN && ret_holder)
			*ret_holder = pidlock__try_holder(&wt->t);
		return r;
	}
	wt->done = true;
	if (r == 0)
		*ret_lock = wt->t.l;
	pidlock__try_done(&wt->t, r);
	return r;
}

void pidlock_waiter_free(pidlock_waiter *wt)
{
	if (!wt)
		return;
	if (!wt->done && wt->t.l)
		pidlock__try_done(&wt->t, -ECANCELED);
	if (is_ours(wt->epfd))
		close(wt->epfd);
	if (is_ours(wt->tfd))
		close(wt->tfd);
	if (is_ours(wt->w.ifd))
		give_back(&wt->w);
	free(wt);
}
#else
int pidlock_waiter_new(const char *path, unsigned flags, pidlock_waiter **ret)
{
	(void)path, (void)flags;
	if (ret)
		*ret = NULL;
	return -ENOSYS;
}
int pidlock_waiter_fd(const pidlock_waiter *wt) { (void)wt; return -EINVAL; }
int pidlock_waiter_try(pidlock_waiter *wt, pidlock **ret_lock, pid_t *ret_holder)
{
	(void)wt, (void)ret_holder;
	if (ret_lock)
		*ret_lock = NULL;
	return -ENOSYS;
}
void pidlock_waiter_free(pidlock_waiter *wt) { (void)wt; }
#endif
