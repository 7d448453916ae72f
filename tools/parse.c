/* parse.c: the syntax of pidlock(1)'s operands: seconds, signals, integers, and seconds
 * written back for people. Pure functions, no I/O: tests/tools/test-parse.c tests them. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* Written by hand: strtod() takes "inf", hex and the locale's comma. */
int parse_seconds(const char *s, int *ret_ms)
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

int parse_int(const char *s, int min, int max, int *ret)
{
	long long v = 0;

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

/* Signal 0 is refused: it sends nothing, so waiting for it to end the holder would only ever
 * time out. */
int parse_signal(const char *s, int *ret)
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

const char *signal_name(int sig, char *buf, size_t size)
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

const char *format_seconds(long long ms, char *buf, size_t size)
{
	int len;

	if (ms < 0)
		ms = 0;
	len = snprintf(buf, size, "%lld.%03lld", ms / 1000, ms % 1000);
	if (len <= 0 || (size_t)len >= size)
		return buf;
	while (buf[len - 1] == '0')
		buf[--len] = '\0';
	if (buf[len - 1] == '.')
		buf[len - 1] = '\0';
	return buf;
}

bool takes_seconds(const char *arg, const char *next)
{
	int ms;

	return arg && parse_seconds(arg, &ms) == 0 && next && strcmp(next, "--") != 0;
}
