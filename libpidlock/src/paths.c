/* Where lock files live, and the checks every path goes through before it reaches a syscall. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidlock-int.h"

#define LOCK_NAME "daemon.lock"

int pidlock__check_path(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int pidlock__make_parents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	strcpy(buf, path); /* pidlock__check_path() bounded it */
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* "<dir>/<app>/daemon.lock" or "<dir>/daemon.lock", trailing slashes of dir folded. */
static int join(char *buf, size_t size, const char *dir, const char *app)
{
	size_t dlen;
	int n;

	if (!buf && size > 0)
		return -EINVAL;
	for (dlen = strlen(dir); dlen > 1 && dir[dlen - 1] == '/'; dlen--)
		;
	if (dlen == 1 && dir[0] == '/')
		dlen = 0; /* "/" + "/daemon.lock" */
	n = snprintf(buf, buf ? size : 0, "%.*s%s%s/" LOCK_NAME, (int)dlen, dir, app ? "/" : "",
		     app ? app : "");
	if (n < 0)
		return -EINVAL;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	if (buf && (size_t)n >= size)
		return -ERANGE;
	return n;
}

int pidlock_path_for_dir(const char *dir, char *buf, size_t size)
{
	if (!dir || !*dir)
		return -EINVAL;
	return join(buf, size, dir, NULL);
}

static bool usable_base(const char *base)
{
	const char *p;

	if (base[0] != '/')
		return false;
	for (p = base; *p == '/'; p++)
		;
	return *p != '\0'; /* "/", "//": locks of every app in the root directory, no */
}

int pidlock_default_path(const char *app, char *buf, size_t size)
{
	const char *base, *home;
	char tmp[PATH_MAX];
	size_t hlen;

	if (!app || !*app || strchr(app, '/') || strstr(app, "..") || !strcmp(app, "."))
		return -EINVAL;
	if (strnlen(app, NAME_MAX + 1) > NAME_MAX)
		return -ENAMETOOLONG;

	/* $XDG_RUNTIME_DIR only when absolute (as the XDG spec says); the user's own bases are
	 * taken as given and refused below when relative. */
	base = getenv("XDG_RUNTIME_DIR");
	if (!base || base[0] != '/')
		base = geteuid() == 0 ? "/run" : getenv("XDG_DATA_HOME");
	if (!base || !*base) {
		home = getenv("HOME");
		if (!home || !*home)
			return -ENOENT;
		if (!usable_base(home))
			return -EINVAL;
		for (hlen = strlen(home); home[hlen - 1] == '/'; hlen--)
			;
		if (snprintf(tmp, sizeof tmp, "%.*s/.local/share", (int)hlen, home) >= (int)sizeof tmp)
			return -ENAMETOOLONG;
		base = tmp;
	}
	if (!usable_base(base))
		return -EINVAL;
	return join(buf, size, base, app);
}
