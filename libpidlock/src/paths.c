/* Where lock files live, and the checks every path goes through before it reaches a syscall.
 *
 * A lock is only as safe as the directories above it: whoever may rename or delete entries of
 * one of them can delete a live lock file (and a second instance starts), or put a file of
 * their own in its place (and status reports their process, stop signals it). So every
 * directory on the way must belong to root or the caller and be writable by nobody else,
 * unless sticky like /tmp (there others may add names but not touch ours), and a symbolic
 * link is followed only when root or the caller made it. That is systemd's CHASE_SAFE rule for
 * PIDFile=, walked one component at a time with lstat(). Checking and then using a path is
 * safe here because the check itself proves that nobody else can change what was checked.
 *
 * The walk costs a syscall per directory, so its result for the last directory is kept and
 * reused while one stat() shows the same directory with the same owner and mode: a directory
 * that only root or the caller can change stays as safe as it was proven unless they change
 * it, and removing it and letting another user make one with the same name shows up as
 * another inode or owner. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidlock-int.h"

#define LOCK_NAME "daemon.lock"
#define MAX_LINKS 40 /* as the kernel's own limit of symlinks in one lookup */

int pidlock__check_path(const char *path)
{
	const char *p, *c;
	size_t len;

	if (!path || !*path)
		return -EINVAL;
	len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	/* A trailing slash, "." or ".." names a directory: refused before anything is made. */
	if (path[len - 1] == '/')
		return -EISDIR;
	c = strrchr(path, '/');
	c = c ? c + 1 : path;
	if (!strcmp(c, ".") || !strcmp(c, ".."))
		return -EISDIR;
	/* Every component fits, so no directory is made for a path that fails at its end. */
	for (p = path; *p; p = *c ? c + 1 : c) {
		c = strchrnul(p, '/');
		if (c - p > NAME_MAX)
			return -ENAMETOOLONG;
	}
	return 0;
}

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!why || size == 0)
		return;
	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start just above */
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

static bool trusted_owner(uid_t uid) { return uid == 0 || pidlock__is_euid(uid); }

/* What makes a directory (or a link in one) unsafe, or 0. */
static int dir_problem(const char *path, const struct stat *st, char *why, size_t size)
{
	if (S_ISLNK(st->st_mode)) {
		if (trusted_owner(st->st_uid))
			return 0;
		say(why, size, "symbolic link %s belongs to uid %u, not to root or the caller", path,
		    (unsigned)st->st_uid);
		return -EPERM;
	}
	if (!S_ISDIR(st->st_mode)) {
		say(why, size, "%s is not a directory", path);
		return -ENOTDIR;
	}
	if (!trusted_owner(st->st_uid)) {
		say(why, size, "directory %s belongs to uid %u, not to root or the caller", path,
		    (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		say(why, size, "directory %s is writable by other users (mode %04o) and not sticky",
		    path, (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int pidlock__file_problem(const struct stat *st, bool existing, char *why, size_t size,
			  const char *path)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode)) {
		say(why, size, "%s is not a regular file", path);
		return -EINVAL;
	}
	if (!existing)
		return 0;
	if (!pidlock__is_euid(st->st_uid)) {
		say(why, size, "file %s belongs to uid %u, not to the caller", path,
		    (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_nlink > 1) {
		say(why, size, "file %s has %lu hard links: it may be another file too", path,
		    (unsigned long)st->st_nlink);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		say(why, size, "file %s is writable by other users (mode %04o)", path,
		    (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* The last directory proven safe, shared by the threads of a process. */
static struct {
	pthread_mutex_t lock;
	char given[PATH_MAX];   /* the directory as the absolute path spelled it */
	char real[PATH_MAX];    /* the same, symlinks resolved */
	dev_t dev;
	ino_t ino;
	uid_t uid;
	mode_t mode;
	unsigned gen;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool cached(const char *given, char *real)
{
	struct stat st;
	bool hit = false;

	pthread_mutex_lock(&cache.lock);
	/* stat() of the path as given, links followed: a link on the way that now leads
	 * elsewhere (retargeted by root or the caller) is a miss, and walked again. */
	if (cache.gen != 0 && cache.gen == pidlock__generation() + 1 &&
	    !strcmp(cache.given, given) && stat(given, &st) == 0 && st.st_dev == cache.dev &&
	    st.st_ino == cache.ino && st.st_uid == cache.uid && st.st_mode == cache.mode &&
	    trusted_owner(st.st_uid)) {
		strcpy(real, cache.real);
		hit = true;
	}
	pthread_mutex_unlock(&cache.lock);
	return hit;
}

static void remember(const char *given, const char *real, const struct stat *st)
{
	pthread_mutex_lock(&cache.lock);
	strcpy(cache.given, given);
	strcpy(cache.real, real);
	cache.dev = st->st_dev;
	cache.ino = st->st_ino;
	cache.uid = st->st_uid;
	cache.mode = st->st_mode;
	cache.gen = pidlock__generation() + 1;
	pthread_mutex_unlock(&cache.lock);
}

void pidlock__unmake(struct pidlock_made *made, bool remove)
{
	while (made->n > 0) {
		char *dir = made->dirs[--made->n];
		if (remove)
			rmdir(dir);
		free(dir);
	}
	free(made->dirs);
	made->dirs = NULL;
}

/* Whether a ".." comes after the component ending at @end: a directory that is missing and
 * then left again is not made (the kernel would say ENOENT for such a path). */
static bool left_again(const char *end)
{
	const char *p = end;

	while (*p) {
		while (*p == '/')
			p++;
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return true;
		p = strchrnul(p, '/');
	}
	return false;
}

/* mkdir 0700 whatever the umask: a directory the umask left unusable (0600 under umask 0177)
 * would fail this acquire and every later one. */
static int make_dir(const char *path, struct pidlock_made *made)
{
	char **more;

	if (made->n % 16 == 0) {
		more = realloc(made->dirs, (size_t)(made->n + 16) * sizeof *more);
		if (!more)
			return -ENOMEM;
		made->dirs = more;
	}
	if (mkdir(path, 0700) < 0)
		return errno == EEXIST ? 0 : -errno;
	if (!(made->dirs[made->n] = strdup(path))) {
		rmdir(path);
		return -ENOMEM;
	}
	made->n++;
	if (chmod(path, 0700) < 0)
		return -errno;
	return 0;
}

/* Appends "/name" (name of @len bytes) to @buf; "" stands for the root. */
static int append(char *buf, const char *name, size_t len)
{
	size_t have = strlen(buf);

	if (have + 1 + len >= PATH_MAX)
		return -ENAMETOOLONG;
	buf[have] = '/';
	memcpy(buf + have + 1, name, len);
	buf[have + 1 + len] = '\0';
	return 0;
}

/* Walks @dir (absolute) from the root, proving each component safe; @real receives it with
 * symlinks resolved. Missing directories are made with @create, else -ENOENT. */
static int walk(const char *dir, char *real, bool create, struct pidlock_made *made, char *why,
		size_t size, struct stat *last)
{
	char rest[PATH_MAX], target[PATH_MAX];
	const char *p, *end;
	struct stat st;
	int links = 0, r;
	ssize_t n;

	if (strlen(dir) >= sizeof rest)
		return -ENAMETOOLONG;
	strcpy(rest, dir);
	real[0] = '\0';
	if (lstat("/", last) < 0)
		return -errno;
	if ((r = dir_problem("/", last, why, size)) < 0)
		return r;
	p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		if (end - p == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (end - p == 2 && p[0] == '.' && p[1] == '.') {
			/* real holds no symlink, so its parent is just a shorter string */
			char *slash = strrchr(real, '/');
			if (slash)
				*slash = '\0';
			p = end;
			continue;
		}
		if ((r = append(real, p, (size_t)(end - p))) < 0)
			return r;
		if (lstat(real, &st) < 0) {
			if (errno != ENOENT || !create || left_again(end))
				return -errno;
			if ((r = make_dir(real, made)) < 0)
				return r;
			if (lstat(real, &st) < 0)
				return -errno;
		}
		if ((r = dir_problem(real, &st, why, size)) < 0)
			return r;
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_LINKS)
				return -ELOOP;
			n = readlink(real, target, sizeof target - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (n + 1 + strlen(end) >= sizeof rest)
				return -ENAMETOOLONG;
			/* The rest of the walk is the link's target followed by what remained. */
			memmove(rest + n, end, strlen(end) + 1);
			memcpy(rest, target, (size_t)n);
			p = rest;
			if (target[0] == '/')
				real[0] = '\0';
			else
				*strrchr(real, '/') = '\0';
			continue;
		}
		*last = st;
		p = end;
	}
	if (!real[0])
		strcpy(real, "/");
	return 0;
}

/* The absolute form of @path: relative ones are taken from the current directory now, so a
 * later chdir() does not move the lock (FreeBSD's pidfile keeps a directory descriptor for
 * the same reason). */
static int absolute(const char *path, char *abs)
{
	size_t len;

	if (path[0] == '/') {
		strcpy(abs, path);
		return 0;
	}
	if (!getcwd(abs, PATH_MAX))
		return errno == ERANGE ? -ENAMETOOLONG : -errno;
	len = strlen(abs);
	if (len + 1 + strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (len > 1)
		abs[len++] = '/';
	strcpy(abs + len, path);
	return 0;
}

int pidlock__resolve(const char *path, char *real, bool create, struct pidlock_made *made,
		     char *why, size_t size)
{
	char abs[PATH_MAX], dir[PATH_MAX], *slash;
	struct stat last;
	const char *name;
	int r;

	if ((r = absolute(path, abs)) < 0)
		return r;
	slash = strrchr(abs, '/');
	name = slash + 1;
	memcpy(dir, abs, (size_t)(slash - abs));
	dir[slash - abs] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	if (!cached(dir, real)) {
		r = walk(dir, real, create, made, why, size, &last);
		if (r < 0)
			return r;
		remember(dir, real, &last);
	}
	if (strlen(real) + 1 + strlen(name) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (strcmp(real, "/") != 0)
		strcat(real, "/");
	strcat(real, name);
	return 0;
}

int pidlock_check_path(const char *path, char *why, size_t size)
{
	char real[PATH_MAX];
	struct pidlock_made none = { 0 };
	struct stat st;
	int r;

	if (why && size > 0)
		why[0] = '\0';
	if ((r = pidlock__check_path(path)) < 0)
		return r;
	r = pidlock__resolve(path, real, false, &none, why, size);
	if (r == -ENOENT)
		return 0; /* the missing directories would be made, 0700 and ours */
	if (r < 0)
		return r;
	if (lstat(real, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode)) {
		say(why, size, "%s is a symbolic link (never followed)", real);
		return -ELOOP;
	}
	return pidlock__file_problem(&st, true, why, size, real);
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
	char pwbuf[4096], base[PATH_MAX];
	struct passwd pw, *found = NULL;
	uid_t euid = geteuid();
	int r;

	if (!app || !*app || strchr(app, '/') || strstr(app, "..") || !strcmp(app, "."))
		return -EINVAL;
	if (strnlen(app, NAME_MAX + 1) > NAME_MAX)
		return -ENAMETOOLONG;
	/* No environment variable: the same user must get the same path from a login shell,
	 * ssh, sudo, cron and a service, or "refuse to start twice" fails between them. */
	if (euid == 0)
		return join(buf, size, "/run", app);
	r = getpwuid_r(euid, &pw, pwbuf, sizeof pwbuf, &found);
	if (r != 0)
		return r == ERANGE ? -ENAMETOOLONG : -r;
	if (!found || !pw.pw_dir || !*pw.pw_dir)
		return -ENOENT;
	if (!usable_base(pw.pw_dir))
		return -EINVAL;
	if (snprintf(base, sizeof base, "%s/.local/share", pw.pw_dir) >= (int)sizeof base)
		return -ENAMETOOLONG;
	return join(buf, size, base, app);
}
