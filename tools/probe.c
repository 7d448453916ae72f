/* probe.c: the lock's state as status and stop see it, polled within bounds: the moment
 * between a holder's lock and its PID, and why a held lock has no PID to show. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "pidlock.h"
#include "cli.h"

#define POLL_FIRST_MS 1
#define POLL_MAX_MS 50

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* An exited process stays readable for good, so *watch_fd is watched once and then set to
 * -1: from there on this just sleeps, which matters when a child that inherited the lock
 * descriptor keeps the lock after it. */
void poll_pause(int *interval_ms, long long deadline, int *watch_fd)
{
	struct pollfd pfd = { .fd = *watch_fd, .events = POLLIN };
	long long left = deadline - now_ms();
	int wait_ms = *interval_ms;

	if (*interval_ms < POLL_FIRST_MS)
		wait_ms = *interval_ms = POLL_FIRST_MS;
	if (left < wait_ms)
		wait_ms = left > 0 ? (int)left : 0;
	if (poll(&pfd, 1, wait_ms) > 0)
		*watch_fd = -1;
	if (*interval_ms < POLL_MAX_MS)
		*interval_ms *= 2;
}

/* The library never reports a gone or reused PID, so -1 (held, no live holder shown) is the
 * only case to wait out. Returns as pidlock_holder() does; *pid is still -1 when no PID
 * appeared in time. */
int probe(const char *path, pid_t *pid, int wait_ms)
{
	long long deadline = now_ms() + wait_ms;
	int interval = POLL_FIRST_MS, nofd = -1, r;

	while ((r = pidlock_holder(path, pid)) == 1 && *pid == -1 && now_ms() < deadline)
		poll_pause(&interval, deadline, &nofd);
	return r;
}

/* The library reports a PID only when the kernel shows that process holding the lock, and
 * the PID in the file may only be a hint. */
int unverified(const char *path, const char *what, const char *after)
{
	int pid = pidlock_read_pid(path);
	int r = pid > 0 ? pidlock_holds(path, pid) : 0;

	if (pid <= 0)
		msg("%s: %s, but no live PID is recorded in it yet%s", path, what, after);
	else if (r == -ENOSYS)
		msg("%s: %s, but the file names PID %d, and this system cannot show who holds a "
		    "lock%s", path, what, pid, after);
	else if (r == -EACCES)
		msg("%s: %s, but the file names PID %d, which this user may not inspect (run as "
		    "root or as its user)%s", path, what, pid, after);
	else
		msg("%s: %s, but the file names PID %d, which does not hold the lock (a PID of "
		    "another PID namespace, or a label that is not the holder's)%s", path, what, pid,
		    after);
	return pid;
}
