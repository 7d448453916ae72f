/* Probes: who holds the lock at a path, asked without taking anything, so that a probe never
 * makes a concurrent acquire fail. What the kernel shows decides; the PID in the file is
 * reported only once holder.c has seen that process holding the lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "pidlock-int.h"

/* Opens the file at @path for looking, after the same proof of its directories an acquire
 * makes: a probe must not report, and a command must not signal, a process that another
 * user put in the place of the lock. The file must belong to root or the caller. Returns the
 * descriptor, -ENOENT when there is none, or an error. */
static int open_probe(const char *path, struct stat *st)
{
	char real[PATH_MAX];
	struct pidlock_made none = { 0 };
	int fd, r;

	r = pidlock__check_path(path);
	if (r < 0)
		return r;
	r = pidlock__resolve(path, real, false, &none, NULL, 0);
	if (r < 0)
		return r;
	fd = pidlock__open_existing(real, O_RDONLY, st);
	if (fd >= 0 && st->st_uid != 0 && !pidlock__is_euid(st->st_uid)) {
		close(fd);
		pidlock__explain("file %s belongs to uid %u, not to root or the caller", real,
				 (unsigned)st->st_uid);
		return -EPERM;
	}
	return fd;
}

int pidlock_holder(const char *path, pid_t *ret_pid)
{
	struct stat st;
	int fd, r;

	if (ret_pid)
		*ret_pid = 0;
	fd = open_probe(path, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = pidlock__conflict(fd, false);
	if (r >= 0)
		r = r == F_WRLCK; /* a reader's lock is not a holder */
	if (r == 1 && ret_pid)
		*ret_pid = pidlock__verified_holder(fd, &st);
	close(fd);
	return r;
}

int pidlock_holds(const char *path, pid_t pid)
{
	struct stat st;
	int fd;

	if (pid <= 0)
		return -EINVAL;
	fd = open_probe(path, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	close(fd);
	return pidlock__pid_holds(pid, &st);
}
