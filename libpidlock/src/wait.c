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
 * file's identity (device and inode), never its descriptor number, which a reopen reuses.
 *
 * A wait belongs to the process that started it. Its descriptors are shared with any child
 * forked meanwhile, and an OFD lock taken through a shared open file would be the parent's
 * too: so before every try the wait asks getpid(), and a copy goes on with descriptors of its
 * own (a blocking wait) or is refused with -ECHILD (a waiter, whose descriptor sits in the
 * event loop the child copied). While a blocking wait runs, signals are blocked except inside
 * its sleep: a handler then runs only where the wait looks at once at what it did (ended the
 * wait under PIDLOCK_INTERRUPTIBLE, forked), never between a try and the sleep.
 *
 * An endless wait first stands in line (queue.c, line_up() below): asleep in the kernel's lock
 * queue until nobody is ahead of it, so that only the first in line watches the file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
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

/* The descriptors a wait keeps: an epoll instance that lists them with our tag (ident.c, the
 * proof that a number is still ours) and the inotify instance. Closing an inotify instance that
 * had watches waits for an SRCU grace period in the kernel (milliseconds, tens of them on a
 * busy machine), and it would fall between winning the lock and returning, so one set is kept
 * for the process's next wait. It belongs to the process that made it: a forked child closes
 * its copies (a child must not read its parent's events) and makes its own. */
struct kept {
	pid_t owner;
	ino_t ns;           /* the owner's PID namespace */
	int epfd;
	int ifd;            /* -1 where inotify is refused: the retry timer alone then */
};

static struct kept *spare;

static bool drain(int ifd);

/* A set copied into a forked child, or one whose numbers are no longer ours: the child's
 * copies are closed when the epoll still lists them, else nothing is touched. */
static void forget(struct kept *k, bool close_copies)
{
	if (!k)
		return;
	if (close_copies && k->ifd >= 0 && pidlock__kept_listed(k->epfd, &k->ifd, 1) == 1) {
		close(k->ifd);
		close(k->epfd);
	}
	free(k);
}

static bool register_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = pidlock__kept_tag() };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

static struct kept *take_kept(void)
{
	struct kept *k = PL_XCHG(&spare, (struct kept *)NULL);

	if (k) {
		int listed = pidlock__is_proc(k->owner, k->ns) ? pidlock__kept_listed(k->epfd, &k->ifd, 1) : 0;
		if (listed == 1) {
			drain(k->ifd);
			return k;
		}
		if (listed < 0) {
			/* Cannot be asked now (no descriptor left): kept, unused, for later. */
			struct kept *none = NULL;
			if (!PL_CAS(&spare, &none, k))
				free(k);
			return NULL;
		}
		forget(k, !pidlock__is_proc(k->owner, k->ns));
	}
	k = malloc(sizeof *k);
	if (!k)
		return NULL;
	k->owner = getpid();
	k->ns = pidlock__pidns();
	k->ifd = -1;
	k->epfd = pidlock__above_std(epoll_create1(EPOLL_CLOEXEC));
	if (k->epfd < 0) {
		free(k);
		return NULL;
	}
#ifdef PIDLOCK_HAVE_INOTIFY
	k->ifd = pidlock__above_std(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
	if (k->ifd >= 0 && !register_fd(k->epfd, k->ifd)) {
		close(k->ifd);
		k->ifd = -1;
	}
#endif
	return k;
}

static void give_back(struct kept *k, int wd)
{
	struct kept *none = NULL;

	if (!k)
		return;
	if (!pidlock__is_proc(k->owner, k->ns)) {
		forget(k, true);
		return;
	}
#ifdef PIDLOCK_HAVE_INOTIFY
	if (wd >= 0 && k->ifd >= 0)
		inotify_rm_watch(k->ifd, wd);
#else
	(void)wd;
#endif
	/* Only a set with an inotify instance is kept: an epoll that lists nothing of ours could
	 * not be proven ours at the next take. */
	if (k->ifd < 0 || !PL_CAS(&spare, &none, k)) {
		if (k->ifd >= 0)
			close(k->ifd);
		close(k->epfd);
		free(k);
	}
}

/* The watch of one wait: which file it is on. */
struct watch {
	struct kept *k;
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

	while (ifd >= 0 && read(ifd, buf, sizeof buf) > 0)
		any = true;
	return any;
}

/* Watches the file of the last try, when it is not already the watched one. Returns true when
 * a new watch went in: the caller must try once more before sleeping, or a release between
 * its last try and the watch is missed. */
static bool watch_file(struct watch *w, struct pidlock_try *t)
{
	char proc[64];
	int ifd = w->k ? w->k->ifd : -1;

	if (ifd < 0 || t->fd < 0)
		return false;
	if (w->wd >= 0 && w->dev == t->st.st_dev && w->ino == t->st.st_ino)
		return false;
	if (w->wd >= 0)
		inotify_rm_watch(ifd, w->wd);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->fd);
	w->wd = inotify_add_watch(ifd, proc, WATCH_EVENTS);
	if (w->wd < 0) /* no /proc: the path, which the last try just showed is this file */
		w->wd = inotify_add_watch(ifd, t->l->real, WATCH_EVENTS | IN_DONT_FOLLOW);
	w->dev = t->st.st_dev;
	w->ino = t->st.st_ino;
	return w->wd >= 0;
}
#else
static bool drain(int ifd) { (void)ifd; return false; }
static bool watch_file(struct watch *w, struct pidlock_try *t) { (void)w, (void)t; return false; }
#endif

static bool still_held(int r) { return r == -EAGAIN || r == -EBUSY; }

/* After a failed try: reopen the path if the file left it, and make sure the watch is on the
 * file now at the path, trying again each time something changed. Returns the last result. */
static int follow_file(struct watch *w, struct pidlock_try *t, int r)
{
	int n;

	for (n = 0; still_held(r) && n < MAX_QUICK_TRIES; n++) {
		if (pidlock__try_reopen_if_moved(t) || watch_file(w, t))
			r = pidlock__try(t);
		else
			break;
	}
	return r;
}

/* A blocking wait copied into a child (a signal handler forked and the child returned into
 * the wait): it goes on as the child's own, with descriptors of its own. */
static void rehome(struct pidlock_try *t, struct watch *w)
{
	forget(w->k, true);
	w->k = take_kept();
	w->wd = -1;
	pidlock__try_park(t);
	t->pid = getpid();
	t->ns = pidlock__pidns();
	t->id = pidlock__new_id();
	t->ticket = -1; /* a new place in line: the parent's stays the parent's */
}

/* Signals a wait holds back until its sleep: all but those the kernel raises for the
 * instruction itself, which must never be blocked. */
static void wait_signals(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGILL);
	sigdelset(set, SIGTRAP);
	sigdelset(set, SIGSYS);
}

void pidlock__block_signals(sigset_t *old)
{
	sigset_t set;

	wait_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

void pidlock__restore_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

/* An endless wait's place in line (queue.c): returns once nobody is ahead of it, asleep in
 * the kernel's queue meanwhile, or at once when it cannot line up at the file now at the path
 * (none there, an old version's whole-file lock, the kernel's deadlock detection): the wait
 * then only watches, and lines up again only at another file. 0 or the file's error. */
static int line_up(struct pidlock_try *t, struct watch *w, const sigset_t *sleep_mask,
		   struct stat *lined)
{
	long long ahead;
	int r;

	for (;;) {
		r = pidlock__queue_join(t);
		if (t->fd >= 0)
			*lined = t->st;
		if (r <= 0)
			return r;
		ahead = pidlock__queue_ahead(t->fd, t->ticket);
		if (ahead < 0)
			return 0;
		r = pidlock__queue_wait(t->fd, ahead, sleep_mask);
		t->woke = true; /* it slept: the path is proven again */
		/* A handler may have forked: a child that came back into the wait shares our open
		 * file (not our place: record locks are the process's) and lines up anew. */
		if (pidlock__try_copied(t)) {
			rehome(t, w);
			continue;
		}
		if (r < 0 && r != -EINTR) {
			pidlock__queue_leave(t->fd, t->ticket);
			t->queued = false;
			return 0;
		}
	}
}

/* Whether the file of the last try is the one the wait last lined up at. */
static bool lined_at(const struct pidlock_try *t, const struct stat *lined)
{
	return t->fd >= 0 && t->st.st_dev == lined->st_dev && t->st.st_ino == lined->st_ino;
}

int pidlock__wait_for(struct pidlock_try *t, int timeout_ms, const sigset_t *sleep_mask)
{
	struct watch w = { .k = NULL, .wd = -1 };
	long long deadline = timeout_ms > 0 ? now_ns() + timeout_ms * 1000000LL : LLONG_MAX;
	long delay = FIRST_DELAY_NS;
	/* Endless waits line up; a wait with a deadline or PIDLOCK_INTERRUPTIBLE cannot sleep in
	 * the kernel's queue, which has neither, and keeps to the watch alone. */
	bool queue = timeout_ms == PIDLOCK_WAIT_FOREVER && !(t->l->flags & PIDLOCK_INTERRUPTIBLE);
	struct pollfd pfd;
	struct timespec ts;
	long long left;
	int r = 0, n;

	struct stat lined = { 0 };

	if (queue)
		r = line_up(t, &w, sleep_mask, &lined);
	if (r == 0)
		r = pidlock__try(t);
	if (still_held(r) && !w.k) /* a child's line_up() took its own already (rehome()) */
		w.k = take_kept(); /* not before: an acquire that finds the lock free keeps nothing */
	for (;;) {
		r = follow_file(&w, t, r);
		if (!still_held(r))
			break;
		if (queue && !t->queued && !lined_at(t, &lined)) {
			/* Another file than the one it lined up at (or there was none): again. */
			r = line_up(t, &w, sleep_mask, &lined);
			if (r == 0)
				r = pidlock__try(t);
			continue;
		}
		left = deadline - now_ns();
		if (left <= 0)
			break;
		if (left > delay)
			left = delay;
		ts.tv_sec = left / 1000000000LL;
		ts.tv_nsec = left % 1000000000LL;
		pfd.fd = w.wd >= 0 ? w.k->ifd : -1;
		pfd.events = POLLIN;
		n = ppoll(&pfd, 1, &ts, sleep_mask);
		if (n < 0 && errno == EINTR && (t->l->flags & PIDLOCK_INTERRUPTIBLE)) {
			r = -EINTR;
			break;
		}
		/* Without the flag a signal is only a pause: the handler ran, the wait goes on. */
		if (pidlock__try_copied(t))
			rehome(t, &w);
		delay = next_delay(delay, n > 0 && w.k && drain(w.k->ifd));
		t->woke = true;
		r = pidlock__try(t);
	}
	if (t->queued) {
		/* Our turn is over, the lock taken or not: the next in line goes on. */
		pidlock__queue_leave(r == 0 ? t->l->fd : t->fd, t->ticket);
		t->queued = false;
	}
	give_back(w.k, w.wd);
	return r;
}

#ifdef __linux__
struct pidlock_waiter {
	struct pidlock_try t;
	struct watch w;
	int tfd;            /* the retry timer, listed in the kept epoll beside the watch */
	long delay;
	bool done;          /* an error or a success ended it */
};

static void arm(pidlock_waiter *wt, long ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = ns / 1000000000L,
						.tv_nsec = ns % 1000000000L } };

	timerfd_settime(wt->tfd, 0, &its, NULL);
}

/* Whether every descriptor the waiter keeps is still its own (ident.c): 1, 0, or -errno when
 * that cannot be asked now. */
static int waiter_proven(const pidlock_waiter *wt)
{
	int fds[2] = { wt->tfd, wt->w.k->ifd };

	return pidlock__kept_listed(wt->w.k->epfd, fds, wt->w.k->ifd >= 0 ? 2 : 1);
}

int pidlock_waiter_new(const char *path, unsigned flags, pidlock_waiter **ret)
{
	pidlock_waiter *wt;
	int r;

	if (!ret)
		return -EINVAL;
	*ret = NULL;
	pidlock__explain_clear();
	wt = calloc(1, sizeof *wt);
	if (!wt)
		return -ENOMEM;
	wt->tfd = -1;
	wt->w.wd = -1;
	r = pidlock__try_new(path, flags, &wt->t);
	if (r < 0) {
		free(wt);
		return r;
	}
	/* The process's kept set (or a new one), given back by pidlock_waiter_free(): an event
	 * loop would otherwise pay the kernel's wait on closing it after every wait. */
	wt->w.k = take_kept();
	if (wt->w.k)
		wt->tfd = pidlock__above_std(timerfd_create(CLOCK_MONOTONIC,
							    TFD_NONBLOCK | TFD_CLOEXEC));
	if (!wt->w.k || wt->tfd < 0 || !register_fd(wt->w.k->epfd, wt->tfd)) {
		r = errno ? -errno : -ENOMEM;
		pidlock_waiter_free(wt);
		return r;
	}
	wt->delay = FIRST_DELAY_NS;
	arm(wt, 1); /* readable at once: the loop's first wake is the first try */
	*ret = wt;
	return 0;
}

int pidlock_waiter_fd(const pidlock_waiter *wt)
{
	return wt && wt->w.k ? wt->w.k->epfd : -EINVAL; /* none once a lost descriptor ended it */
}

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
	pidlock__explain_clear();
	if (wt->done)
		return -EINVAL;
	if (pidlock__try_copied(&wt->t)) {
		pidlock__explain("this waiter was made by process %d: a forked copy never waits "
				 "through its parent's descriptors (free it and make a new one)",
				 (int)wt->t.pid);
		return -ECHILD;
	}
	/* A waiter lives across calls: its descriptors may have been closed behind its back.
	 * When that cannot be asked now (no descriptor left to read /proc with), this try fails
	 * with that error and the waiter goes on. */
	r = waiter_proven(wt);
	if (r < 0)
		return r;
	if (r == 0) {
		free(wt->w.k);  /* forgotten, not closed: the numbers are not ours now */
		wt->w.k = NULL;
		wt->tfd = -1;
		wt->done = true;
		pidlock__try_done(&wt->t, -EBADFD);
		pidlock__explain("a descriptor this waiter keeps was closed behind the library's back");
		return -EBADFD;
	}
	woken = drain(wt->w.k->ifd);
	while (read(wt->tfd, &ticks, sizeof ticks) > 0)
		;
	r = follow_file(&wt->w, &wt->t, pidlock__try(&wt->t));
	if (still_held(r)) {
		wt->delay = next_delay(wt->delay, woken);
		arm(wt, wt->delay);
		if (r == -EAGAIN && ret_holder)
			*ret_holder = pidlock__try_holder(&wt->t);
		pidlock__try_park(&wt->t); /* no descriptor of a try is kept between calls */
		wt->t.woke = true;         /* the next call comes after the loop slept */
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
	if (pidlock__try_copied(&wt->t)) {
		/* A forked copy: only its copies of the descriptors are closed. The epoll and the
		 * inotify instance are shared with the parent, so nothing is removed from them,
		 * and the directories the parent made are the parent's. */
		if (wt->w.k && waiter_proven(wt) == 1)
			close(wt->tfd);
		forget(wt->w.k, true);
		if (!wt->done)
			free(wt->t.l);
		free(wt);
		return;
	}
	if (!wt->done && wt->t.l)
		pidlock__try_done(&wt->t, -ECANCELED);
	if (wt->w.k && wt->tfd >= 0 && waiter_proven(wt) == 1) {
		epoll_ctl(wt->w.k->epfd, EPOLL_CTL_DEL, wt->tfd, NULL);
		close(wt->tfd);
		give_back(wt->w.k, wt->w.wd);
	} else {
		free(wt->w.k);
	}
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
