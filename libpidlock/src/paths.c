/* Where lock files live, and the checks every path goes through before it reaches a syscall.
 *
 * A lock is only as safe as the directories above it: whoever may rename or delete entries of
 * one of them can delete a live lock file (and a second instance starts), or put a file of
 * their own in its place (and status reports their process, stop signals it). So every
 * directory on the way must be one that only root and the caller can change:
 *   - it belongs to root or the caller;
 *   - nobody else may write to it: not others, and not its group unless only root and the
 *     caller can be in that group (root's group, or the caller's user private group:
 *     trusted_group()); a sticky directory like /tmp is fine whoever may write to it, since
 *     there others may add names but not touch ours;
 *   - a symbolic link on the way is followed only when root or the caller made it.
 * The lock file itself must be the caller's, with one link, and writable by nobody else under
 * the same group rule. (systemd's CHASE_SAFE, for comparison, only compares the owners of
 * consecutive components; Postfix's safe_open checks the owner and link count of the file.)
 * The walk goes one component at a time with lstat(). Checking and then using a path is safe
 * here because the check itself proves that nobody else can change what was checked.
 *
 * Nothing is remembered between calls: every acquire, every probe and every retry of a wait
 * walks the whole path again (a few lstat() calls, about a microsecond each). A remembered
 * answer would keep trusting a directory after an ancestor of it was opened to other users,
 * where a fresh process refuses; systemd, libbsd and Postfix remember nothing either. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
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

/* A refusal's sentence: into @why when the caller gave one (pidlock_check_path()), and always
 * as the thread's last error (pidlock_last_error()), so both read the same. */
static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t size, const char *fmt, ...)
{
	char sentence[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start just above */
	vsnprintf(sentence, sizeof sentence, fmt, ap);
	va_end(ap);
	pidlock__explain("%s", sentence);
	if (why && size > 0)
		snprintf(why, size, "%s", sentence);
}

static bool trusted_owner(uid_t uid) { return uid == 0 || pidlock__is_euid(uid); }

/* Whether a local user other than root and @uid has @gid as primary group (/etc/passwd, the
 * file useradd writes; a group given to users only by a network directory is judged by the
 * member list alone). Unreadable counts as yes. */
static bool others_primary(gid_t gid, uid_t uid)
{
	char line[4096];
	bool other = false;
	FILE *f = fopen("/etc/passwd", "re");

	if (!f)
		return true;
	/* "name:password:uid:gid:..." read by hand: fgetpwent_r() is glibc's alone, and
	 * fgetpwent() is not thread-safe. A line too long or malformed counts as another user. */
	while (!other && fgets(line, sizeof line, f)) {
		char *p = line, *end;
		unsigned long u, g;
		int field;

		if (!strchr(line, '\n') && !feof(f))
			other = true;
		for (field = 0; field < 2 && p; field++)
			p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
		if (!p)
			continue;
		u = strtoul(p, &end, 10);
		if (end == p || *end != ':')
			continue;
		p = end + 1;
		g = strtoul(p, &end, 10);
		if (end == p || *end != ':')
			continue;
		other = (gid_t)g == gid && (uid_t)u != uid && u != 0;
	}
	fclose(f);
	return other;
}

/* Whether only root and the caller can be in group @gid: root's group, or the caller's user
 * private group. That is the group named as the caller, which is the caller's primary group,
 * lists no other member and is no other local user's primary group: the rule pam_umask's
 * usergroups option uses before giving a user umask 002, and what `useradd -U` (the default
 * on Debian, Ubuntu and Fedora) makes. Such a user's directories are 0775 and safe. Any doubt
 * (a lookup that fails) counts as other members. */
static bool trusted_group(gid_t gid)
{
	char pwbuf[4096], grbuf[8192];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	uid_t euid = geteuid();
	char **m;

	if (gid == 0)
		return true;
	if (getpwuid_r(euid, &pw, pwbuf, sizeof pwbuf, &pwp) != 0 || !pwp || pw.pw_gid != gid)
		return false;
	if (getgrgid_r(gid, &gr, grbuf, sizeof grbuf, &grp) != 0 || !grp ||
	    strcmp(gr.gr_name, pw.pw_name) != 0)
		return false;
	for (m = gr.gr_mem; m && *m; m++)
		if (strcmp(*m, pw.pw_name) != 0)
			return false;
	return !others_primary(gid, euid);
}

/* Whether anyone but root and the caller may write to what @st describes (its owner is
 * checked apart). */
static bool others_write(const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return true;
	return (st->st_mode & S_IWGRP) && !trusted_group(st->st_gid);
}

/* Who, besides root and the caller, may write to what @st describes, for a sentence. */
static const char *writers(const struct stat *st, char *buf, size_t size)
{
	if (st->st_mode & S_IWOTH)
		return "other users";
	snprintf(buf, size, "group %u, which users other than root and the caller may be in",
		 (unsigned)st->st_gid);
	return buf;
}

/* What makes a directory (or a link in one) unsafe, or 0. */
static int dir_problem(const char *path, const struct stat *st, char *why, size_t size)
{
	char who[96];

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
	if (!(st->st_mode & S_ISVTX) && others_write(st)) {
		say(why, size, "directory %s is writable by %s (mode %04o) and not sticky", path,
		    writers(st, who, sizeof who), (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int pidlock__file_problem(const char *path, const struct stat *st, bool existing, char *why,
			  size_t size)
{
	char who[96];

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
	if (others_write(st)) {
		say(why, size, "file %s is writable by %s (mode %04o)", path,
		    writers(st, who, sizeof who), (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
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
		size_t size)
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
	if (lstat("/", &st) < 0)
		return -errno;
	if ((r = dir_problem("/", &st, why, size)) < 0)
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

/* Splits absolute @abs into its directory (@dir, "/" for the root) and its last name. */
static const char *split(const char *abs, char *dir)
{
	const char *slash = strrchr(abs, '/');

	memcpy(dir, abs, (size_t)(slash - abs));
	dir[slash - abs] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	return slash + 1;
}

int pidlock__resolve(const char *path, char *real, bool create, struct pidlock_made *made,
		     char *why, size_t size)
{
	char abs[PATH_MAX], dir[PATH_MAX];
	const char *name;
	int r;

	if ((r = absolute(path, abs)) < 0)
		return r;
	name = split(abs, dir);
	r = walk(dir, real, create, made, why, size);
	if (r < 0)
		return r;
	if (strlen(real) + 1 + strlen(name) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (strcmp(real, "/") != 0)
		strcat(real, "/");
	strcat(real, name);
	return 0;
}

int pidlock__recheck(const char *real)
{
	char dir[PATH_MAX], again[PATH_MAX];
	struct pidlock_made none = { 0 };

	if (real[0] != '/' || strlen(real) >= PATH_MAX)
		return -EINVAL;
	split(real, dir);
	/* Links on the way (root's or the caller's, made since) are followed and their targets
	 * proven too, as the open of @real will follow them. */
	return walk(dir, again, false, &none, NULL, 0);
}

int pidlock_check_path(const char *path, char *why, size_t size)
{
	char real[PATH_MAX];
	struct pidlock_made none = { 0 };
	struct stat st;
	int r;

	if (why && size > 0)
		why[0] = '\0';
	pidlock__explain_clear();
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
	return pidlock__file_problem(real, &st, true, why, size);
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
