/* pidlock(1): the library's guarantees for shell scripts, init systems and operators.
 *
 * Every decision about the lock is libpidlock's: this file parses arguments, execs, signals
 * and maps results to exit statuses. Nothing here reads the PID file or tests the lock on its
 * own, so the command can never disagree with a program that links the library. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"

#ifndef PIDLOCK_TOOL_VERSION
#define PIDLOCK_TOOL_VERSION "unknown"
#endif

/* Exit statuses, documented in pidlock(1). `run` keeps away from small numbers where it can,
 * because after the exec every status is COMMAND's own; `status` follows LSB init scripts. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,

	RUN_HELD = 75, /* EX_TEMPFAIL: someone else runs it; try again later */
	RUN_FAILED = 125, /* the lock could not be taken for another reason */
	RUN_CANNOT_EXEC = 126,
	RUN_NOT_FOUND = 127,

	STATUS_RUNNING = 0,
	STATUS_DEAD_FILE = 1,
	STATUS_NOT_RUNNING = 3,
	STATUS_UNKNOWN = 4,

	STOP_STOPPED = 0,
	STOP_KILLED = 1,
	STOP_NOT_RUNNING = 3,
	STOP_UNKNOWN = 4,
	STOP_FAILED = 5,
};

#define STOP_DEFAULT_TIMEOUT_MS 10000
/* After SIGKILL the kernel frees the lock as soon as the process is gone; this only bounds a
 * holder stuck in uninterruptible sleep or one whose children inherited the descriptor. */
#define KILL_GRACE_MS 5000
/* A holder writes its PID right after locking; a probe waits this long for it to appear. */
#define PID_APPEAR_MS 500
#define POLL_FIRST_MS 1
#define POLL_MAX_MS 50

static const char usage_text[] =
	"Usage: pidlock run [--wait[=SECONDS]] [--check-pid] [--keep] [--readable] PATH -- COMMAND [ARG...]\n"
	"       pidlock status PATH\n"
	"       pidlock stop [--signal SIG] [--timeout SECONDS] PATH\n"
	"       pidlock path APP\n"
	"       pidlock --help | --version\n"
	"\n"
	"PID lock files held by a kernel lock: the lock lives exactly as long as its holder.\n"
	"\n"
	"  run     take the lock at PATH, then exec COMMAND with the lock kept open, so PATH\n"
	"          holds COMMAND's PID and the lock dies with COMMAND\n"
	"          --wait[=SECONDS]  wait for the lock (forever without SECONDS)\n"
	"          --check-pid       also honour a live PID written without a lock\n"
	"          --keep            if COMMAND cannot be started, empty PATH, do not remove it\n"
	"          --readable        let other users read PATH (they can then block starts)\n"
	"          exit: COMMAND's status; 75 already running; 125 lock error;\n"
	"                126 COMMAND not executable; 127 COMMAND not found; 2 usage\n"
	"  status  print the holder's PID; never disturbs a concurrent start\n"
	"          exit: 0 running; 1 not running, file remains; 3 not running; 4 unknown\n"
	"  stop    signal the holder (default TERM) while it holds the lock, wait for the\n"
	"          release, send KILL after the timeout (default 10 seconds)\n"
	"          exit: 0 stopped; 1 killed after the timeout; 3 was not running;\n"
	"                4 cannot tell; 5 could not stop it; 2 usage\n"
	"  path    print the default lock path for application APP\n"
	"\n"
	"SECONDS may have a fraction (0.5). SIG is a name (TERM, SIGHUP) or a number.\n"
	"See pidlock(1).\n";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("pidlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "PATH: reason", with the library's own sentence for an unsafe path (which part of it
 * another user controls, and how). */
static void path_error(const char *path, int err)
{
	char why[512];

	if (err == -EPERM && pidlock_check_path(path, why, sizeof why) == -EPERM && why[0])
		msg("%s: not safe from other users: %s", path, why);
	else
		msg("%s: %s", path, pidlock_strerror(err));
}

/* Why a held lock has no PID to show: the library reports a PID only when the kernel shows
 * that process holding the lock, and the PID in the file may only be a hint. */
static int unverified(const char *path, const char *what, const char *after)
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

static int usage_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("pidlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'pidlock --help'.\n", stderr);
	return code;
}

/* stdout may be a full disk or a closed pipe: a script must not read half an answer as one. */
static int flush_stdout(int fail_code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg("write error: %s", strerror(errno));
		return fail_code;
	}
	return EXIT_OK;
}

/* "SECONDS" as a decimal with an optional fraction, into milliseconds (sub-millisecond
 * digits are dropped). Written by hand: strtod() takes "inf", hex and the locale's comma. */
static int parse_seconds(const char *s, int *ret_ms)
{
	long long ms = 0, scale = 1000;
	bool digits = false;

	for (; *s >= '0' && *s <= '9'; s++, digits = true) {
		ms = ms * 10 + (*s - '0') * 1000;
		if (ms > INT_MAX)
			return -ERANGE;
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
			scale /= 10;
			ms += (*s - '0') * scale;
		}
	if (!digits || *s != '\0')
		return -EINVAL;
	if (ms > INT_MAX)
		return -ERANGE;
	*ret_ms = (int)ms;
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },     { "INT", SIGINT },       { "QUIT", SIGQUIT },   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP },   { "ABRT", SIGABRT },     { "IOT", SIGIOT },     { "BUS", SIGBUS },
	{ "FPE", SIGFPE },     { "KILL", SIGKILL },     { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },   { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD },   { "CONT", SIGCONT },     { "STOP", SIGSTOP },   { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN },   { "TTOU", SIGTTOU },     { "URG", SIGURG },     { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },   { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },   { "WINCH", SIGWINCH },
	{ "IO", SIGIO },       { "POLL", SIGPOLL },     { "PWR", SIGPWR },     { "SYS", SIGSYS },
};

/* A decimal number with nothing around it, in [min, max]. */
static int parse_int(const char *s, int min, int max, int *ret)
{
	long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -ERANGE;
	}
	if (v < min)
		return -ERANGE;
	*ret = (int)v;
	return 0;
}

/* "TERM", "SIGTERM", "term", "15", "RTMIN+2", "SIGRTMAX-1". Signal 0 is refused: it sends
 * nothing, so waiting for it to end the holder would only ever time out. */
static int parse_signal(const char *s, int *ret)
{
	size_t i;
	int n;

	if (*s >= '0' && *s <= '9')
		return parse_int(s, 1, NSIG - 1, ret);
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (strcasecmp(s, signal_names[i].name) == 0) {
			*ret = signal_names[i].sig;
			return 0;
		}
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		bool from_max = strncasecmp(s, "RTMAX", 5) == 0;
		const char *off = s + 5;

		n = 0;
		if (*off != '\0') {
			if (*off != (from_max ? '-' : '+') ||
			    parse_int(off + 1, 0, SIGRTMAX - SIGRTMIN, &n) < 0)
				return -EINVAL;
		}
		*ret = from_max ? SIGRTMAX - n : SIGRTMIN + n;
		return 0;
	}
	return -EINVAL;
}

static const char *signal_name(int sig, char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (signal_names[i].sig == sig) {
			snprintf(buf, size, "SIG%s", signal_names[i].name);
			return buf;
		}
	snprintf(buf, size, "signal %d", sig);
	return buf;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sleep for the next poll interval (growing from 1 ms to 50 ms, never past @deadline), or
 * until *watch_fd, a pidfd, says its process has exited. An exited process stays readable
 * for good, so it is watched once and then set to -1: from there on this just sleeps, which
 * matters when a child that inherited the lock descriptor keeps the lock after it. */
static void poll_pause(int *interval_ms, long long deadline, int *watch_fd)
{
	struct pollfd pfd = { .fd = *watch_fd, .events = POLLIN };
	long long left = deadline - now_ms();
	int wait_ms = *interval_ms;

	if (left < wait_ms)
		wait_ms = left > 0 ? (int)left : 0;
	if (poll(&pfd, 1, wait_ms) > 0)
		*watch_fd = -1;
	if (*interval_ms < POLL_MAX_MS)
		*interval_ms *= 2;
}

/* pidlock_holder(), waiting up to @wait_ms while the lock is held but names no live holder
 * (-1): the moment between a holder's lock and its write. The library never reports a gone
 * or reused PID, so -1 is the only case to wait out. Returns as pidlock_holder() does; *pid
 * is still -1 when no PID appeared in time. */
static int probe(const char *path, pid_t *pid, int wait_ms)
{
	long long deadline = now_ms() + wait_ms;
	int interval = POLL_FIRST_MS, nofd = -1, r;

	while ((r = pidlock_holder(path, pid)) == 1 && *pid == -1 && now_ms() < deadline)
		poll_pause(&interval, deadline, &nofd);
	return r;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", optional_argument, NULL, 'w' },
		{ "check-pid", no_argument, NULL, 'c' },
		{ "keep", no_argument, NULL, 'k' },
		{ "readable", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned flags = 0;
	int timeout_ms = 0, c, r, fd, err;
	const char *path;
	pidlock *lock = NULL;
	pid_t holder = 0;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (!optarg)
				timeout_ms = PIDLOCK_WAIT_FOREVER;
			else if (parse_seconds(optarg, &timeout_ms) < 0)
				return usage_error(EXIT_USAGE, "run: --wait: bad number of seconds '%s'",
						   optarg);
			break;
		case 'c':
			flags |= PIDLOCK_CHECK_PID;
			break;
		case 'k':
			flags |= PIDLOCK_KEEP_FILE;
			break;
		case 'r':
			flags |= PIDLOCK_READABLE;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return flush_stdout(EXIT_FAIL);
		default:
			return usage_error(EXIT_USAGE, "run: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(EXIT_USAGE, "run: missing PATH");
	path = argv[optind++];
	if (optind >= argc || strcmp(argv[optind], "--") != 0)
		return usage_error(EXIT_USAGE, "run: expected '--' after PATH '%s'%s", path,
				   timeout_ms == PIDLOCK_WAIT_FOREVER ?
					   " (a --wait value goes after '=': --wait=SECONDS)" : "");
	if (++optind >= argc)
		return usage_error(EXIT_USAGE, "run: missing COMMAND after '--'");

	r = pidlock_acquire(path, flags, timeout_ms, &lock, &holder);
	if (r == -EAGAIN) {
		/* The holder writes its PID a moment after locking: give it that moment. */
		if (holder == -1 && probe(path, &holder, PID_APPEAR_MS) != 1)
			holder = -1;
		if (holder > 0)
			msg("already running as PID %d (lock file: %s)", (int)holder, path);
		else
			msg("already running (lock file: %s; no live PID recorded in it yet)", path);
		return RUN_HELD;
	}
	if (r < 0) {
		path_error(path, r);
		return RUN_FAILED;
	}

	/* exec keeps the PID, so the PID the library wrote is COMMAND's; keeping the
	 * descriptor open across exec makes the lock last exactly as long as COMMAND. */
	fd = pidlock_fd(lock);
	c = fcntl(fd, F_GETFD);
	if (c < 0 || fcntl(fd, F_SETFD, c & ~FD_CLOEXEC) < 0) {
		err = -errno;
		pidlock_release(lock);
		msg("%s: %s", path, pidlock_strerror(err));
		return RUN_FAILED;
	}
	execvp(argv[optind], argv + optind);
	err = errno;
	/* Nothing runs under the lock: give it back rather than leave a file behind. */
	pidlock_release(lock);
	msg("%s: %s", argv[optind], strerror(err));
	return err == ENOENT || err == ENOTDIR ? RUN_NOT_FOUND : RUN_CANNOT_EXEC;
}

/* One path operand and nothing else; --help accepted. Returns the path or NULL after
 * reporting a usage error (or printing help: *code then says which). */
static const char *single_operand(int argc, char **argv, const char *what, int usage_code,
				  int *code)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			*code = flush_stdout(usage_code);
			return NULL;
		}
		*code = usage_error(usage_code, "%s: unknown option '%s'", argv[0],
				    argv[optind - 1]);
		return NULL;
	}
	if (argc - optind != 1) {
		*code = usage_error(usage_code, "%s: expected exactly one %s", argv[0], what);
		return NULL;
	}
	return argv[optind];
}

static int cmd_status(int argc, char **argv)
{
	struct stat st;
	pid_t pid = 0;
	int code = STATUS_UNKNOWN, r;
	const char *path = single_operand(argc, argv, "PATH", STATUS_UNKNOWN, &code);

	if (!path)
		return code;
	r = probe(path, &pid, PID_APPEAR_MS);
	if (r < 0) {
		path_error(path, r);
		return STATUS_UNKNOWN;
	}
	if (r == 1) {
		if (pid > 0)
			printf("%d\n", (int)pid);
		else
			unverified(path, "running", "");
		return flush_stdout(STATUS_UNKNOWN);
	}
	/* The library says "free" for a missing file and for a file nobody holds; LSB tells
	 * them apart. A start racing with this lstat only makes the answer a moment old. */
	if (lstat(path, &st) == 0) {
		msg("%s: not running (the lock file remains)", path);
		return STATUS_DEAD_FILE;
	}
	if (errno == ENOENT) {
		msg("%s: not running", path);
		return STATUS_NOT_RUNNING;
	}
	msg("%s: %s", path, strerror(errno));
	return STATUS_UNKNOWN;
}

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

/* Wait until the lock at @path is no longer held under @pid. Returns 1 released (free, or
 * another PID in the file), 0 still held under @pid at the deadline, or a negative errno. */
static int wait_release(const char *path, pid_t pid, int wait_ms, int pidfd)
{
	long long deadline = now_ms() + wait_ms, gone_since = 0;
	int interval = POLL_FIRST_MS, r;
	pid_t now = 0;

	for (;;) {
		r = pidlock_holder(path, &now);
		if (r < 0)
			return r;
		/* Free, or held under another live PID: ours is gone and a new holder came. */
		if (r == 0 || (now != pid && now != -1))
			return 1;
		/* Held with no live PID (libpidlock never reports a gone one): a new holder
		 * between its lock and its write (moments), or a child of @pid that inherited
		 * the lock descriptor (for good). */
		if (now == -1) {
			if (!gone_since)
				gone_since = now_ms();
			else if (now_ms() - gone_since >= PID_APPEAR_MS)
				return -ESRCH;
		} else {
			gone_since = 0;
			if (now_ms() >= deadline)
				return 0;
		}
		poll_pause(&interval, gone_since ? gone_since + PID_APPEAR_MS : deadline, &pidfd);
	}
}

/* @pid is gone, yet the lock is held: either a new holder has locked the file and not yet
 * written its PID (moments), or a child of @pid inherited the lock descriptor (for good).
 * Returns 0 for the first, -ESRCH for the second. */
static int gone_holder(const char *path, pid_t pid)
{
	int r = wait_release(path, pid, PID_APPEAR_MS, -1);

	return r == 1 ? 0 : r == 0 ? -ESRCH : r;
}

/* Signal @pid only while it is still the holder of the lock at @path. The pidfd is opened
 * before the check, so a PID recycled after the check cannot receive the signal, and a
 * process already gone is never looked up by its number again.
 * Returns 1 sent, 0 not sent because the lock is free or no longer held under @pid, -ESRCH
 * when @pid is gone but a child of it keeps the lock (nobody can be signalled safely), or
 * another -errno. *pidfd receives the process's pidfd (or -1) for the next call. */
static int signal_holder(const char *path, pid_t pid, int sig, int *pidfd)
{
	pid_t now = 0;
	int r;

	if (*pidfd < 0) {
		*pidfd = open_pidfd(pid);
		if (*pidfd < 0 && errno == ESRCH)
			return gone_holder(path, pid);
	}
	r = pidlock_holder(path, &now);
	if (r < 0)
		return r;
	if (r == 1 && now == -1)
		return gone_holder(path, pid);
	if (r == 0 || now != pid)
		return 0;
	if (send_signal(*pidfd, pid, sig) == 0)
		return 1;
	return errno == ESRCH ? gone_holder(path, pid) : -errno;
}

/* The part of `stop` after the holder is known: signal, wait, escalate. */
static int stop_holder(const char *path, pid_t pid, int sig, int timeout_ms, int *pidfd)
{
	char name[32];
	int r;

	r = signal_holder(path, pid, sig, pidfd);
	if (r == 0) {
		msg("%s: not running (PID %d released the lock before the signal)", path, (int)pid);
		return STOP_NOT_RUNNING;
	}
	if (r == 1)
		r = wait_release(path, pid, timeout_ms, *pidfd);
	if (r == 1)
		return STOP_STOPPED;
	if (r == 0 && sig != SIGKILL) {
		msg("%s: PID %d still holds the lock %.3g second%s after %s: sending SIGKILL", path,
		    (int)pid, timeout_ms / 1000.0, timeout_ms == 1000 ? "" : "s",
		    signal_name(sig, name, sizeof name));
		r = signal_holder(path, pid, SIGKILL, pidfd);
		if (r == 0)
			return STOP_STOPPED; /* it made it just before the KILL */
		if (r == 1)
			r = wait_release(path, pid, KILL_GRACE_MS, *pidfd);
		if (r == 1)
			return STOP_KILLED;
	}
	if (r == 0 || r == -ESRCH) {
		msg("%s: the lock is still held under PID %d (a child of it may have inherited the "
		    "lock descriptor)", path, (int)pid);
		return STOP_FAILED;
	}
	msg("%s: cannot stop PID %d: %s", path, (int)pid, pidlock_strerror(r));
	return r == -EPERM ? STOP_FAILED : STOP_UNKNOWN;
}

static int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int sig = SIGTERM, timeout_ms = STOP_DEFAULT_TIMEOUT_MS, pidfd = -1, c, r;
	const char *path;
	pid_t pid = 0;

	while ((c = getopt_long(argc, argv, "+hs:t:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_signal(optarg, &sig) < 0)
				return usage_error(EXIT_USAGE, "stop: --signal: unknown signal '%s'",
						   optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &timeout_ms) < 0)
				return usage_error(EXIT_USAGE,
						   "stop: --timeout: bad number of seconds '%s'", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return flush_stdout(EXIT_FAIL);
		default:
			return usage_error(EXIT_USAGE, "stop: unknown option or missing value '%s'",
					   argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return usage_error(EXIT_USAGE, "stop: expected exactly one PATH");
	path = argv[optind];

	r = probe(path, &pid, timeout_ms < PID_APPEAR_MS ? PID_APPEAR_MS : timeout_ms);
	if (r < 0) {
		path_error(path, r);
		return STOP_UNKNOWN;
	}
	if (r == 0) {
		msg("%s: not running", path);
		return STOP_NOT_RUNNING;
	}
	if (pid == -1 && pidlock_read_pid(path) <= 0) {
		msg("%s: held, but no live PID is recorded in it: nothing signalled", path);
		return STOP_FAILED;
	}
	if (pid == -1) {
		/* Only a process the kernel shows holding the lock is ever signalled. */
		unverified(path, "held", ": nothing signalled");
		return STOP_UNKNOWN;
	}
	r = stop_holder(path, pid, sig, timeout_ms, &pidfd);
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

static int cmd_path(int argc, char **argv)
{
	char buf[PATH_MAX];
	int code = EXIT_USAGE, r;
	const char *app = single_operand(argc, argv, "APP", EXIT_USAGE, &code);

	if (!app)
		return code;
	r = pidlock_default_path(app, buf, sizeof buf);
	if (r < 0) {
		if (r == -ENOENT)
			msg("%s: no base directory for lock files (this user has no password entry "
			    "or no home)", app);
		else
			msg("%s: %s", app, pidlock_strerror(r));
		return EXIT_FAIL;
	}
	puts(buf);
	return flush_stdout(EXIT_FAIL);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* getopt's own messages would name the subcommand as the program; ours are clearer. */
	opterr = 0;
	if (!cmd)
		return usage_error(EXIT_USAGE, "missing command");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return flush_stdout(EXIT_FAIL);
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("pidlock %s (libpidlock %s, %s locks)\n", PIDLOCK_TOOL_VERSION,
		       pidlock_version(), pidlock_lock_method());
		return flush_stdout(EXIT_FAIL);
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(argc - 1, argv + 1);
	if (!strcmp(cmd, "path"))
		return cmd_path(argc - 1, argv + 1);
	return usage_error(EXIT_USAGE, "unknown command '%s'", cmd);
}
