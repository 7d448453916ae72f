/* stop.c: `pidlock stop PATH`: signal the holder of the lock, only while the kernel shows it
 * holding the lock, wait for the release, escalate to SIGKILL, and remove the file that
 * nobody holds any more, under its lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pidlock.h"
#include "cli.h"

#define STOP_DEFAULT_TIMEOUT_MS 10000
/* After SIGKILL the kernel frees the lock as soon as the process is gone; this only bounds a
 * holder stuck in uninterruptible sleep or one whose children inherited the descriptor. */
#define KILL_GRACE_MS 5000

/* What one step of stopping found; every function here answers with one of these. */
enum outcome {
	SENT,       /* the signal went to the process that holds the lock */
	NOT_HELD,   /* nothing sent: the lock is free or held under another PID */
	RELEASED,   /* the PID let go: the lock is free or held under another PID */
	STILL_HELD, /* still held under the PID when the time was up */
	INHERITED,  /* the PID is gone, yet the lock stays held with no live PID: a child of
		     * it inherited the lock descriptor (nobody can be signalled safely) */
	FAILED,     /* a system or library error, in *err */
};

struct stop_opts {
	const char *path;
	int sig;
	int timeout_ms;
	bool oknodo;
	bool verbose;
};

/* A descriptor for process @pid that keeps naming it even if it exits and its PID is reused,
 * or -1 where the kernel has none (then kill() is used and the window is a few syscalls). */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

static int send_signal(int pidfd, pid_t pid, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#else
	(void)pidfd;
#endif
	return kill(pid, sig);
}

/* Wait up to @wait_ms until the lock at @path is no longer held under @pid: RELEASED,
 * STILL_HELD, INHERITED or FAILED. */
static enum outcome wait_release(const char *path, pid_t pid, int wait_ms, int pidfd, int *err)
{
	long long deadline = now_ms() + wait_ms, gone_since = 0;
	int interval = 0, r;
	pid_t now = 0;

	for (;;) {
		r = pidlock_holder(path, &now);
		if (r < 0) {
			*err = r;
			return FAILED;
		}
		/* Free, or held under another live PID: ours is gone and a new holder came. */
		if (r == 0 || (now != pid && now != -1))
			return RELEASED;
		/* Held with no live PID (libpidlock never reports a gone one): a new holder
		 * between its lock and its write (moments), or a child of @pid that inherited
		 * the lock descriptor (for good). */
		if (now == -1) {
			if (!gone_since)
				gone_since = now_ms();
			else if (now_ms() - gone_since >= PID_APPEAR_MS)
				return INHERITED;
		} else {
			gone_since = 0;
			if (now_ms() >= deadline)
				return STILL_HELD;
		}
		poll_pause(&interval, gone_since ? gone_since + PID_APPEAR_MS : deadline, &pidfd);
	}
}

/* @pid is gone, yet the lock is held: either a new holder has locked the file and not yet
 * written its PID (moments: NOT_HELD by @pid), or a child of @pid inherited the lock
 * descriptor (for good: INHERITED). */
static enum outcome gone_holder(const char *path, pid_t pid, int *err)
{
	enum outcome o = wait_release(path, pid, PID_APPEAR_MS, -1, err);

	return o == RELEASED ? NOT_HELD : o == FAILED ? FAILED : INHERITED;
}

/* Signal @pid only while it is still the holder of the lock at @path: SENT, NOT_HELD,
 * INHERITED or FAILED. The pidfd is opened before the check, so a PID recycled after the
 * check cannot receive the signal, and a process already gone is never looked up by its
 * number again. *pidfd receives the process's pidfd (or -1) for the next call. */
static enum outcome signal_holder(const char *path, pid_t pid, int sig, int *pidfd, int *err)
{
	pid_t now = 0;
	int r;

	if (*pidfd < 0) {
		*pidfd = open_pidfd(pid);
		if (*pidfd < 0 && errno == ESRCH)
			return gone_holder(path, pid, err);
	}
	r = pidlock_holder(path, &now);
	if (r < 0) {
		*err = r;
		return FAILED;
	}
	if (r == 1 && now == -1)
		return gone_holder(path, pid, err);
	if (r == 0 || now != pid)
		return NOT_HELD;
	if (send_signal(*pidfd, pid, sig) == 0)
		return SENT;
	if (errno == ESRCH)
		return gone_holder(path, pid, err);
	*err = -errno;
	return FAILED;
}

/* The part of `stop` after the holder is known: signal, wait, escalate. */
static int stop_holder(const struct stop_opts *so, pid_t pid, int *pidfd)
{
	const char *path = so->path;
	long long start = now_ms();
	char name[32], secs[24];
	enum outcome o;
	int err = 0;

	if (so->verbose)
		msg("sending %s to PID %d (lock file: %s)", signal_name(so->sig, name, sizeof name),
		    (int)pid, path);
	o = signal_holder(path, pid, so->sig, pidfd, &err);
	if (o == NOT_HELD) {
		msg("%s: not running (PID %d released the lock before the signal)", path, (int)pid);
		return STOP_NOT_RUNNING;
	}
	if (o == SENT)
		o = wait_release(path, pid, so->timeout_ms, *pidfd, &err);
	if (o == RELEASED) {
		if (so->verbose)
			msg("PID %d released the lock after %s s", (int)pid,
			    format_seconds(now_ms() - start, secs, sizeof secs));
		return STOP_STOPPED;
	}
	if (o == STILL_HELD && so->sig != SIGKILL) {
		msg("%s: PID %d still holds the lock %s second%s after %s: sending SIGKILL", path,
		    (int)pid, format_seconds(so->timeout_ms, secs, sizeof secs),
		    so->timeout_ms == 1000 ? "" : "s", signal_name(so->sig, name, sizeof name));
		o = signal_holder(path, pid, SIGKILL, pidfd, &err);
		if (o == NOT_HELD)
			return STOP_STOPPED; /* it made it just before the KILL */
		if (o == SENT)
			o = wait_release(path, pid, KILL_GRACE_MS, *pidfd, &err);
		if (o == RELEASED)
			return STOP_KILLED;
	}
	if (o == STILL_HELD || o == INHERITED) {
		msg("%s: the lock is still held under PID %d (a child of it may have inherited the "
		    "lock descriptor)", path, (int)pid);
		return STOP_FAILED;
	}
	lock_error(path, err);
	return err == -EPERM ? STOP_FAILED : STOP_UNKNOWN;
}

/* Once nobody holds the lock, the file left behind goes, so that `status` says 3 (not
 * running), not 1 (a crash). It is removed the library's way: take the lock and release it,
 * which unlinks only the file this process locked, so a new instance that took the lock
 * meanwhile keeps its file. */
static void remove_unheld(const struct stop_opts *so)
{
	pidlock *lock = NULL;
	struct stat st;
	int r;

	if (lstat(so->path, &st) != 0)
		return;
	r = pidlock_acquire(so->path, 0, 0, &lock, NULL);
	if (r == 0)
		r = pidlock_release(lock);
	if (r == 0 && so->verbose)
		msg("removed %s", so->path);
	else if (r < 0 && r != -EAGAIN && r != -EBUSY) {
		fputs("pidlock: the lock file remains: ", stderr);
		lock_error(so->path, r);
	}
}

/* Options and the one PATH; returns -1 when parsed, else the exit status. */
static int parse_stop(int argc, char **argv, struct stop_opts *so)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "oknodo", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+hs:t:v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_signal(optarg, &so->sig) < 0)
				return usage_error(EXIT_USAGE, "stop: --signal: unknown signal '%s'",
						   optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &so->timeout_ms) < 0)
				return usage_error(EXIT_USAGE,
						   "stop: --timeout: bad number of seconds '%s'", optarg);
			break;
		case 'o':
			so->oknodo = true;
			break;
		case 'v':
			so->verbose = true;
			break;
		case 'h':
			return print_usage(EXIT_FAIL);
		default:
			return usage_error(EXIT_USAGE, "stop: unknown option or missing value '%s'",
					   argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(EXIT_USAGE, "stop: expected exactly one PATH");
	so->path = argv[optind];
	return -1;
}

int cmd_stop(int argc, char **argv)
{
	struct stop_opts so = { .sig = SIGTERM, .timeout_ms = STOP_DEFAULT_TIMEOUT_MS };
	int pidfd = -1, r;
	pid_t pid = 0;

	r = parse_stop(argc, argv, &so);
	if (r >= 0)
		return r;
	r = probe(so.path, &pid, so.timeout_ms < PID_APPEAR_MS ? PID_APPEAR_MS : so.timeout_ms);
	if (r < 0) {
		lock_error(so.path, r);
		return STOP_UNKNOWN;
	}
	if (r == 0) {
		msg("%s: not running", so.path);
		r = STOP_NOT_RUNNING;
	} else if (pid == -1 && pidlock_read_pid(so.path) <= 0) {
		msg("%s: held, but no live PID is recorded in it: nothing signalled", so.path);
		return STOP_FAILED;
	} else if (pid == -1) {
		/* Only a process the kernel shows holding the lock is ever signalled. */
		unverified(so.path, "held", ": nothing signalled");
		return STOP_UNKNOWN;
	} else {
		r = stop_holder(&so, pid, &pidfd);
		if (pidfd >= 0)
			close(pidfd);
	}
	if (r == STOP_STOPPED || r == STOP_KILLED || r == STOP_NOT_RUNNING)
		remove_unheld(&so);
	return r == STOP_NOT_RUNNING && so.oknodo ? EXIT_OK : r;
}
