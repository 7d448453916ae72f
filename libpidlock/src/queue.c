/* The line endless waits stand in: first come, first served, and one process woken per
 * handoff, asleep in the kernel's own lock queue.
 *
 * A wait with neither deadline nor PIDLOCK_INTERRUPTIBLE takes a ticket, the moment it lined
 * up in microseconds of CLOCK_MONOTONIC, and holds a read lock on byte PIDLOCK_QUEUE_BASE +
 * ticket of the lock file for as long as it waits (ident.c draws where these bytes lie, past
 * every tag). It then looks for the process just ahead of it, the highest locked byte below its
 * own, and asks for a write lock on that byte with F_SETLKW: the kernel wakes it when that one
 * leaves the line (it took the lock, or died). It looks again, and once nobody is ahead it is
 * next: it alone watches the lock (wait.c). Leaving the line wakes the one behind, and only
 * that one, where a watch on the file wakes every waiter at each release.
 *
 * Places are classic POSIX record locks, not OFD locks like the lock itself: they belong to
 * the process, so a forked copy of the descriptor (a worker forked while its parent waits)
 * holds no place, and a waiter's death frees its place whatever copies live on. Their one
 * quirk, that a close() of any descriptor of the file by the process drops all of its record
 * locks on it, costs at most order: the one behind then finds nobody ahead and is one more
 * watcher of the lock. The kernel's deadlock detection, which sees threads of one process as
 * one owner, can answer EDEADLK: that wait then only watches.
 *
 * Nothing is counted and nothing is shared but the locks. The clock only orders: two waits
 * that took the same microsecond are both next, and a wait whose read lock went in after a
 * later one looked may have one more ahead than it waits for; each is then one more watcher
 * of the lock, never a second holder. A release sees the line (pidlock__queue_behind()) and
 * keeps the file, emptied, for it, so the line never has to move to a new file. What can hold
 * the line up is a process stopped (SIGSTOP, Ctrl-Z) while in it: the ones behind it sleep
 * until it runs again, as in the kernel's own queue of F_SETLKW waiters. The waits that have
 * a deadline, and the event-loop waiter, do not line up: the kernel's queue has no deadline
 * and no descriptor to poll. A whole-file lock of 1.0 or 1.1 covers these bytes: while one
 * is held nobody lines up, and waits only watch. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "pidlock-int.h"

#ifdef PIDLOCK_HAVE_OFD
static int range_lock(int fd, int cmd, short type, long long start, long long len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = PIDLOCK_QUEUE_BASE + start, .l_len = len };

	return fcntl(fd, cmd, &fl) < 0 ? -errno : 0;
}

/* The ticket of some place in line in [from, to), or -1. F_OFD_GETLK answers with one of the
 * locks there, not the highest: which one is the kernel's order, not ours. Asked for the open
 * file, it shows the record locks of this process too (another thread's place). */
static long long someone(int fd, long long from, long long to)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = PIDLOCK_QUEUE_BASE + from, .l_len = to - from };

	if (from >= to || fcntl(fd, F_OFD_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return -1;
	return fl.l_start - PIDLOCK_QUEUE_BASE;
}

int pidlock__queue_join(struct pidlock_try *t)
{
	struct timespec now;
	int r;

	if (t->queued)
		return 1;
	r = pidlock__try_writable(t);
	if (r <= 0)
		return r;
	if (t->ticket < 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		t->ticket = (now.tv_sec * 1000000LL + now.tv_nsec / 1000) % PIDLOCK_QUEUE_SPAN;
	}
	if (range_lock(t->fd, F_SETLK, F_RDLCK, t->ticket, 1) < 0)
		return 0; /* an old version's whole-file lock: no line while it holds */
	t->queued = true;
	return 1;
}

/* The ticket of the one just ahead, or -1 when nobody is: the highest locked byte below ours.
 * A window below our ticket grows until it holds someone (waits line up a handoff apart, tens
 * to hundreds of microseconds), then the ones in it are stepped through: a handful of
 * F_OFD_GETLK calls, each of which the kernel answers by walking the file's locks. */
long long pidlock__queue_ahead(int fd, long long ticket)
{
	long long span = 256, from, best, next;

	if (someone(fd, 0, ticket) < 0)
		return -1;
	do {
		from = span < ticket ? ticket - span : 0;
		best = someone(fd, from, ticket);
		span *= 4;
	} while (best < 0 && from > 0);
	if (best < 0)
		return -1; /* only a lock that is not a place in line (an old version's) */
	while ((next = someone(fd, best + 1, ticket)) > best)
		best = next;
	return best;
}

/* Asleep until the one at @ticket has left the line, under @sleep_mask (a handler may run:
 * -EINTR, and the caller asks whether it is still the process that waits; -EDEADLK: see the
 * top). */
int pidlock__queue_wait(int fd, long long ticket, const sigset_t *sleep_mask)
{
	sigset_t held;
	int r;

	pthread_sigmask(SIG_SETMASK, sleep_mask, &held);
	r = range_lock(fd, F_SETLKW, F_WRLCK, ticket, 1);
	pthread_sigmask(SIG_SETMASK, &held, NULL);
	range_lock(fd, F_SETLK, F_UNLCK, ticket, 1); /* granted or not: nothing of ours there */
	return r;
}

void pidlock__queue_leave(int fd, long long ticket)
{
	range_lock(fd, F_SETLK, F_UNLCK, ticket, 1);
}

bool pidlock__queue_behind(int fd)
{
	return someone(fd, 0, PIDLOCK_QUEUE_SPAN) >= 0;
}
#else
/* flock has no byte ranges: waits only watch. */
int pidlock__queue_join(struct pidlock_try *t) { (void)t; return 0; }
long long pidlock__queue_ahead(int fd, long long ticket) { (void)fd, (void)ticket; return -1; }
int pidlock__queue_wait(int fd, long long ticket, const sigset_t *sleep_mask)
{
	(void)fd, (void)ticket, (void)sleep_mask;
	return 0;
}
void pidlock__queue_leave(int fd, long long ticket) { (void)fd, (void)ticket; }
bool pidlock__queue_behind(int fd) { (void)fd; return false; }
#endif
