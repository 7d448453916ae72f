/* main.c: pidlock(1)'s entry point: the dispatch to a subcommand, the help text and the
 * messages every subcommand prints. The subcommands live in run.c, status.c, stop.c and
 * path.c; what they share is declared in cli.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pidlock.h"
#include "cli.h"

#ifndef PIDLOCK_TOOL_VERSION
#define PIDLOCK_TOOL_VERSION "unknown"
#endif

const char usage_text[] =
	"Usage: pidlock run [--wait[=SECONDS]] [--check-pid] [--keep] [--readable] PATH -- COMMAND [ARG...]\n"
	"       pidlock status PATH\n"
	"       pidlock stop [--signal SIG] [--timeout SECONDS] [--oknodo] [--verbose] PATH\n"
	"       pidlock path APP\n"
	"       pidlock --help | --version\n"
	"\n"
	"PID lock files held by a kernel lock: the lock lives exactly as long as its holder.\n"
	"\n"
	"  run     take the lock at PATH, then exec COMMAND with the lock kept open, so PATH\n"
	"          holds COMMAND's PID and the lock dies with COMMAND\n"
	"          -w, --wait [SECONDS]  wait for the lock (forever without SECONDS)\n"
	"          --check-pid       also honour a live PID written without a lock\n"
	"          --keep            if COMMAND cannot be started, empty PATH, do not remove it\n"
	"          --readable        let other users read PATH (they can then block starts)\n"
	"          -v, --verbose     say when a wait starts and how long taking the lock took\n"
	"          exit: COMMAND's status; 75 already running (or still held after the\n"
	"                wait); 125 lock error; 126 COMMAND not executable;\n"
	"                127 COMMAND not found; 2 usage\n"
	"  status  print the holder's PID; never disturbs a concurrent start\n"
	"          exit: 0 running; 1 not running, file remains; 3 not running; 4 unknown\n"
	"  stop    signal the holder (default TERM) while it holds the lock, wait for the\n"
	"          release, send KILL after the timeout (default 10 seconds), then remove\n"
	"          the file nobody holds any more\n"
	"          -s, --signal SIG, -t, --timeout SECONDS\n"
	"          --oknodo          exit 0, not 3, when nothing was running\n"
	"          -v, --verbose     say what is signalled and how long the release took\n"
	"          exit: 0 stopped; 1 killed after the timeout; 3 was not running;\n"
	"                4 cannot tell; 5 could not stop it; 2 usage\n"
	"  path    print the default lock path for application APP\n"
	"\n"
	"An option's value may follow it as --opt VALUE, --opt=VALUE, -o VALUE or -oVALUE.\n"
	"SECONDS may have a fraction (0.5). SIG is a name (TERM, SIGHUP) or a number.\n"
	"See pidlock(1).\n";

void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("pidlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(int code, const char *fmt, ...)
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
int flush_stdout(int fail_code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg("write error: %s", strerror(errno));
		return fail_code;
	}
	return EXIT_OK;
}

int print_usage(int fail_code)
{
	fputs(usage_text, stdout);
	return flush_stdout(fail_code);
}

/* The library's sentence (pidlock_last_error()) says which part of the path and why; an
 * unsafe path is introduced as "not safe from other users", as in 1.1. A library that does
 * not word this failure leaves the errno's text, or pidlock_check_path()'s sentence. */
void lock_error(const char *path, int err)
{
	const char *last = pidlock_last_error();
	char why[512] = "";

	if (last)
		snprintf(why, sizeof why, "%s", last);
	else if (err == -EPERM && pidlock_check_path(path, why, sizeof why) != -EPERM)
		why[0] = '\0';
	if (err == -EPERM && why[0])
		msg("%s: not safe from other users: %s", path, why);
	else if (why[0])
		msg("%s: %s", path, why);
	else
		msg("%s: %s", path, pidlock_strerror(err));
}

const char *single_operand(int argc, char **argv, const char *what, int usage_code, int *code)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			*code = print_usage(usage_code);
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

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* getopt's own messages would name the subcommand as the program; ours are clearer. */
	opterr = 0;
	if (!cmd)
		return usage_error(EXIT_USAGE, "missing command");
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		return print_usage(EXIT_FAIL);
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
