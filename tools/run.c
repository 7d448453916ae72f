/* run.c: `pidlock run PATH -- COMMAND`: take the lock (waiting for it if asked, and saying
 * so), then exec COMMAND with the lock descriptor kept open. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "cli.h"

/* A wait on a terminal says what it waits for after this long, once. */
#define NOTICE_AFTER_MS 1000

struct run_opts {
	const char *path;
	unsigned flags;
	int timeout_ms; /* 0, > 0, or PIDLOCK_WAIT_FOREVER */
	bool verbose;
};

/* "waiting for PID N to release PATH", "... for the lock on PATH (held, no PID recorded yet)" */
static void say_waiting(const struct run_opts *o, int r, pid_t holder)
{
	char secs[40] = "", n[24];

	if (o->timeout_ms > 0)
		snprintf(secs, sizeof secs, " up to %s s", format_seconds(o->timeout_ms, n, sizeof n));
	if (r == -EBUSY)
		msg("waiting%s for a reader to let go of %s", secs, o->path);
	else if (holder > 0)
		msg("waiting%s for PID %d to release %s", secs, (int)holder, o->path);
	else
		msg("waiting%s for the lock on %s (held, no live PID recorded in it yet)", secs,
		    o->path);
}

static bool busy(int r) { return r == -EAGAIN || r == -EBUSY; }

/* pidlock_acquire() with o->timeout_ms, in slices so that the wait can be announced: at once
 * with --verbose, after NOTICE_AFTER_MS when stderr is a terminal. The library waits; this
 * only splits its deadline. */
static int take_lock(const struct run_opts *o, pidlock **lock, pid_t *holder)
{
	long long start = now_ms(), deadline = start + o->timeout_ms, now;
	bool forever = o->timeout_ms == PIDLOCK_WAIT_FOREVER;
	bool notice = !o->verbose && isatty(STDERR_FILENO);
	int r, slice;

	r = pidlock_acquire(o->path, o->flags, 0, lock, holder);
	if (!busy(r) || o->timeout_ms == 0)
		return r;
	if (o->verbose)
		say_waiting(o, r, *holder);
	for (;;) {
		now = now_ms();
		if (!forever && now >= deadline)
			return r;
		slice = forever ? PIDLOCK_WAIT_FOREVER : (int)(deadline - now);
		if (notice && (slice == PIDLOCK_WAIT_FOREVER || now + slice > start + NOTICE_AFTER_MS))
			slice = start + NOTICE_AFTER_MS > now ? (int)(start + NOTICE_AFTER_MS - now) : 1;
		r = pidlock_acquire(o->path, o->flags, slice, lock, holder);
		if (!busy(r))
			return r;
		if (notice && now_ms() >= start + NOTICE_AFTER_MS) {
			say_waiting(o, r, *holder);
			notice = false;
		}
	}
}

/* The lock is held by another process: at once, or still after the wait. */
static int report_held(const struct run_opts *o, pid_t holder)
{
	char secs[24];

	/* The holder writes its PID a moment after locking: give it that moment. */
	if (holder == -1 && probe(o->path, &holder, PID_APPEAR_MS) != 1)
		holder = -1;
	if (o->timeout_ms != 0) {
		format_seconds(o->timeout_ms == PIDLOCK_WAIT_FOREVER ? 0 : o->timeout_ms, secs,
			       sizeof secs);
		if (holder > 0)
			msg("still held by PID %d after %s s (lock file: %s)", (int)holder, secs,
			    o->path);
		else
			msg("still held after %s s (lock file: %s; no live PID recorded in it yet)",
			    secs, o->path);
	} else if (holder > 0) {
		msg("already running as PID %d (lock file: %s)", (int)holder, o->path);
	} else {
		msg("already running (lock file: %s; no live PID recorded in it yet)", o->path);
	}
	return RUN_HELD;
}

/* Options up to PATH; returns -1 when parsed, else the exit status. */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "wait", optional_argument, NULL, 'w' },
		{ "check-pid", no_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },
		{ "readable", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *val;
	int c;

	while ((c = getopt_long(argc, argv, "+hvw::", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			val = optarg;
			/* "--wait 60 PATH": the value as the next argument; a bare --wait is
			 * followed by PATH, and PATH by "--". */
			if (!val && optind < argc &&
			    takes_seconds(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL))
				val = argv[optind++];
			if (!val)
				o->timeout_ms = PIDLOCK_WAIT_FOREVER;
			else if (parse_seconds(val, &o->timeout_ms) < 0)
				return usage_error(EXIT_USAGE, "run: --wait: bad number of seconds '%s'",
						   val);
			break;
		case 'c':
			o->flags |= PIDLOCK_CHECK_PID;
			break;
		case 'k':
			o->flags |= PIDLOCK_KEEP_FILE;
			break;
		case 'r':
			o->flags |= PIDLOCK_READABLE;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			return print_usage(EXIT_FAIL);
		default:
			return usage_error(EXIT_USAGE, "run: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(EXIT_USAGE, "run: missing PATH");
	o->path = argv[optind++];
	if (optind >= argc || strcmp(argv[optind], "--") != 0)
		return usage_error(EXIT_USAGE, "run: expected '--' after PATH '%s'", o->path);
	if (++optind >= argc)
		return usage_error(EXIT_USAGE, "run: missing COMMAND after '--'");
	return -1;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	pidlock *lock = NULL;
	pid_t holder = 0;
	long long start;
	char secs[24];
	int r, fd, fl, err;

	r = parse_run(argc, argv, &o);
	if (r >= 0)
		return r;
	start = now_ms();
	r = take_lock(&o, &lock, &holder);
	if (r == -EAGAIN)
		return report_held(&o, holder);
	if (r < 0) {
		lock_error(o.path, r);
		return RUN_FAILED;
	}
	if (o.verbose)
		msg("getting the lock on %s took %s s", o.path,
		    format_seconds(now_ms() - start, secs, sizeof secs));

	/* exec keeps the PID, so the PID the library wrote is COMMAND's; keeping the
	 * descriptor open across exec makes the lock last exactly as long as COMMAND. */
	fd = pidlock_fd(lock);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0) {
		err = -errno;
		pidlock_release(lock);
		msg("%s: %s", o.path, pidlock_strerror(err));
		return RUN_FAILED;
	}
	if (o.verbose)
		msg("executing %s", argv[optind]);
	execvp(argv[optind], argv + optind);
	err = errno;
	/* Nothing runs under the lock: give it back rather than leave a file behind. */
	pidlock_release(lock);
	msg("%s: %s", argv[optind], strerror(err));
	return err == ENOENT || err == ENOTDIR ? RUN_NOT_FOUND : RUN_CANNOT_EXEC;
}
