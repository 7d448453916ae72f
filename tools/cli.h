/* cli.h: what the files of pidlock(1) share. One file per subcommand (run.c, status.c,
 * stop.c, path.c), main.c for the dispatch and the messages, parse.c for the operands' syntax
 * (seconds, signals, integers) and probe.c for the bounded polls of the lock that status and
 * stop make.
 *
 * Every decision about the lock is libpidlock's: these files parse arguments, exec, signal
 * and map results to exit statuses. Nothing here reads the PID file or tests the lock on its
 * own, so the command can never disagree with a program that links the library.
 *
 * Named cli.h, not pidlock.h: that is the library's header, which every file here includes. */
#ifndef PIDLOCK_CLI_H
#define PIDLOCK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* A holder writes its PID right after locking; a probe waits this long for it to appear. */
#define PID_APPEAR_MS 500

/* main.c: the subcommands, messages and the help text. */
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_path(int argc, char **argv);

extern const char usage_text[];
/* "pidlock: ..." on stderr. */
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pidlock: ..." and a pointer to --help on stderr; returns @code. */
int usage_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flush stdout: EXIT_OK, or @fail_code after a write error (a full disk, a closed pipe). */
int flush_stdout(int fail_code);
/* The help text on stdout; returns flush_stdout(@fail_code). */
int print_usage(int fail_code);
/* "PATH: reason" for a failed library call on @path, with the library's own sentence
 * (pidlock_last_error()) where it has one. */
void lock_error(const char *path, int err);
/* One PATH (or APP) operand and --help; returns it, or NULL with *code the exit status. */
const char *single_operand(int argc, char **argv, const char *what, int usage_code, int *code);

/* probe.c: the lock's state, polled within bounds. */
long long now_ms(void);
/* Sleep for the next poll interval (1 ms growing to 50 ms, never past @deadline), or until
 * *watch_fd, a pidfd, says its process exited (then *watch_fd becomes -1). */
void poll_pause(int *interval_ms, long long deadline, int *watch_fd);
/* pidlock_holder(), waiting up to @wait_ms while the lock is held but names no live holder. */
int probe(const char *path, pid_t *pid, int wait_ms);
/* Why a held lock has no PID to show, on stderr: "PATH: WHAT, but ...AFTER". Returns the
 * PID the file names, or <= 0. */
int unverified(const char *path, const char *what, const char *after);

/* parse.c: the operands' syntax. Each returns 0, -EINVAL (not of that form) or -ERANGE. */
/* "SECONDS": a decimal with an optional fraction, into milliseconds (sub-millisecond digits
 * dropped). No sign, exponent, "inf", hex or locale comma. */
int parse_seconds(const char *s, int *ret_ms);
/* A decimal number with nothing around it, in [min, max]. */
int parse_int(const char *s, int min, int max, int *ret);
/* "TERM", "SIGTERM", "term", "15", "RTMIN+2", "SIGRTMAX-1"; signal 0 is refused. */
int parse_signal(const char *s, int *ret);
/* "SIGTERM", or "signal N" for a signal without a name here; returns @buf. */
const char *signal_name(int sig, char *buf, size_t size);
/* Milliseconds as seconds for people: "60", "0.2", "1.25" (no trailing zeros); returns @buf. */
const char *format_seconds(long long ms, char *buf, size_t size);
/* Whether the argument after an option with an optional SECONDS value is that value
 * ("--wait 60 PATH -- CMD"), rather than the PATH that follows a bare "--wait": it must be
 * SECONDS and be followed by something other than "--". @next may be NULL. */
bool takes_seconds(const char *arg, const char *next);

#endif /* PIDLOCK_CLI_H */
