/* Path resolution with hostile environments: pidlock_default_path() and
 * pidlock_path_for_dir() with fuzzed XDG_RUNTIME_DIR, XDG_DATA_HOME, HOME, app, dir and buffer
 * size, as root and (when root) with the effective user switched to nobody, which takes the
 * non-root branches.
 *
 * Input: one byte of switches, one byte of buffer size, then app, XDG_RUNTIME_DIR,
 * XDG_DATA_HOME, HOME and dir separated by NUL bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"

enum {
	SET_RUNTIME = 1 << 0,
	SET_DATA = 1 << 1,
	SET_HOME = 1 << 2,
	AS_NOBODY = 1 << 3,
	SMALL_BUF = 1 << 4,
};

#define FIELDS 5
#define LOCK_NAME "/daemon.lock"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;

/* A whole environment of our own per input: setenv() keeps every value it ever saw, which
 * would grow the fuzzer's memory without end. */
static char *env_entry(const char *name, const char *value, bool set)
{
	char *e;

	if (!set || asprintf(&e, "%s=%s", name, value) < 0)
		return NULL;
	return e;
}

/* A success must be a NUL-terminated absolute path of the length returned, inside the buffer,
 * naming daemon.lock; a failure one of the documented codes. */
static void check(const char *what, int r, const char *buf, size_t size, const int *allowed)
{
	size_t len;

	if (r < 0) {
		for (; *allowed; allowed++)
			if (r == -*allowed)
				return;
		fprintf(stderr, "%s: undocumented %d (%s)\n", what, r, pidlock_strerror(r));
		abort();
	}
	len = strnlen(buf, size);
	if (len != (size_t)r || len >= size || len < sizeof LOCK_NAME - 1 ||
	    strcmp(buf + len - (sizeof LOCK_NAME - 1), LOCK_NAME) != 0) {
		fprintf(stderr, "%s: returned %d for \"%.*s\"\n", what, r, (int)len, buf);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int path_errors[] = { EINVAL, ENOENT, ENAMETOOLONG, ERANGE, 0 };
	static const int dir_errors[] = { EINVAL, ENAMETOOLONG, ERANGE, 0 };
	const char *field[FIELDS] = { "", "", "", "", "" };
	char *copy, *p, *buf;
	unsigned switches;
	size_t bufsize;
	char *entries[3], *env[4], **saved_env;
	bool dropped = false;
	int r, n = 0, nenv = 0;

	if (size < 2)
		return 0;
	switches = data[0];
	bufsize = switches & SMALL_BUF ? data[1] : PATH_MAX + 64;
	/* Fields are C strings: the NUL bytes of the input split them. */
	copy = malloc(size - 2 + 1);
	memcpy(copy, data + 2, size - 2);
	copy[size - 2] = '\0';
	for (p = copy; n < FIELDS && p <= copy + (size - 2); p += strlen(p) + 1)
		field[n++] = p;

	entries[0] = env_entry("XDG_RUNTIME_DIR", field[1], switches & SET_RUNTIME);
	entries[1] = env_entry("XDG_DATA_HOME", field[2], switches & SET_DATA);
	entries[2] = env_entry("HOME", field[3], switches & SET_HOME);
	for (int i = 0; i < 3; i++)
		if (entries[i])
			env[nenv++] = entries[i];
	env[nenv] = NULL;
	saved_env = environ;
	environ = env;
	if ((switches & AS_NOBODY) && geteuid() == 0)
		dropped = seteuid(65534) == 0;

	buf = malloc(bufsize ? bufsize : 1);
	r = pidlock_default_path(field[0], buf, bufsize);
	check("pidlock_default_path", r, buf, bufsize, path_errors);
	if (r >= 0 && (buf[0] != '/' || !strstr(buf, field[0]))) {
		fprintf(stderr, "default path \"%s\" is not absolute or lacks app \"%s\"\n", buf,
			field[0]);
		abort();
	}
	r = pidlock_path_for_dir(field[4], buf, bufsize);
	check("pidlock_path_for_dir", r, buf, bufsize, dir_errors);

	if (dropped && seteuid(0) < 0)
		abort();
	environ = saved_env;
	for (int i = 0; i < 3; i++)
		free(entries[i]);
	free(buf);
	free(copy);
	return 0;
}
