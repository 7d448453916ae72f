/* Acquire, release, update: the lock itself.
 *
 * The kernel is the authority. The lock is an open-file-description lock on the file, so it
 * lives exactly as long as some descriptor of that open file does; the PID written in the file
 * is for people and tools. Each rule below is written once, here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pidlock-int.h"

#define KNOWN_FLAGS (PIDLOCK_CHECK_PID | PIDLOCK_FSYNC | PIDLOCK_KEEP_FILE | PIDLOCK_INTERRUPTIBLE)
#define OPEN_FLAGS (O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* The one place that knows the locking primitive. OFD locks conflict between two opens in
 * one process, survive unrelated close() calls and can be tested without being taken; flock
 * is the fallback where they do not exist, and its probe takes a shared lock for a moment.
 * With @block the kernel queues us until the lock is free; a signal handler without
 * SA_RESTART ends that wait with -EINTR when @interruptible, and is only a pause otherwise. */
static int lock_fd(int fd, bool block, bool interruptible)
{
	for (;;) {
#ifdef F_OFD_SETLK
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		if (fcntl(fd, block ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0)
			return 0;
#else
		if (flock(fd, LOCK_EX | (block ? 0 : LOCK_NB)) == 0)
			return 0;
#endif
		if (errno != EINTR || interruptible)
			break;
	}
	return errno == EACCES || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int test_fd(int fd)
{
#ifdef F_OFD_GETLK
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
#else
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK ? 1 : -errno;
#endif
}

/* Open the file, creating it when absent. *created tells which: a file this call created
 * with O_EXCL is a fresh regular file of ours, which saves the type and owner checks and the
 * lstat() of the path (settle() explains why a link count is proof enough). */
static int open_lockfile(const char *path, bool *created)
{
	bool parents_made = false;
	int fd;

	for (;;) {
		fd = open(path, OPEN_FLAGS | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			*created = true;
			return fd;
		}
		if (errno == ENOENT && !parents_made) {
			int r = pidlock__make_parents(path);
			if (r < 0)
				return r;
			parents_made = true;
			continue;
		}
		if (errno != EEXIST)
			return pidlock__open_errno();
		/* O_EXCL also fails on a symlink; O_NOFOLLOW turns that into ELOOP here. */
		fd = open(path, OPEN_FLAGS);
		if (fd >= 0) {
			*created = false;
			return fd;
		}
		if (errno != ENOENT)
			return pidlock__open_errno();
		/* Unlinked between the two opens by a releasing holder: start over. */
	}
}

/* A file that was there before us must be a regular file of our own user. */
static int check_existing(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return -errno;
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_uid != geteuid())
		return -EPERM;
	return 0;
}

static bool path_names(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* A file left by code that holds no kernel lock still counts as held when its PID is alive,
 * is not us, and wrote the file (see pidlock__writer()). */
static pid_t pid_only_holder(int fd)
{
	struct stat st;
	pid_t pid;

	if (fstat(fd, &st) < 0)
		return 0;
	pid = pidlock__writer(fd, &st.st_mtim);
	return pid > 0 && pid != pidlock__self() ? pid : 0;
}

/* The PID to report for a lock someone holds: -1 until the holder has written its own. */
static pid_t reported_holder(int fd, const struct stat *st)
{
	pid_t pid = pidlock__writer(fd, &st->st_mtim);

	return pid > 0 ? pid : -1;
}

/* We hold the kernel lock on @fd: make sure it is the lock at @path, then write our PID.
 * Returns 0, -ESTALE (the path moved on: start over), -EAGAIN (*holder: a PID-only holder
 * under PIDLOCK_CHECK_PID), or an error. */
static int settle(pidlock *l, int fd, bool created, const struct stat *st, pid_t *holder)
{
	struct stat own;
	int r;

	if (created) {
		/* Created by us, but another starter may have opened, locked, used and unlinked
		 * it before our lock went in. Only holders unlink, nobody renames: a file still
		 * linked is still the one at the path. */
		if (fstat(fd, &own) < 0)
			return -errno;
		if (own.st_nlink == 0)
			return -ESTALE;
		st = &own;
	} else if (!path_names(l->path, st->st_dev, st->st_ino)) {
		/* The holder we waited for unlinked this file; a newer one may stand at the path. */
		return -ESTALE;
	} else if ((l->flags & PIDLOCK_CHECK_PID) && (*holder = pid_only_holder(fd)) > 0) {
		return -EAGAIN;
	}
	l->pid = pidlock__self();
	r = pidlock__write_pid(fd, l->pid, !created, l->flags & PIDLOCK_FSYNC);
	if (r < 0) {
		/* A failed acquire leaves no file behind that it created. */
		if (created && path_names(l->path, st->st_dev, st->st_ino))
			unlink(l->path);
		return r;
	}
	l->fd = fd;
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->gen = pidlock__generation();
	l->forks = pidlock__forks();
	return 0;
}

int pidlock_acquire(const char *path, unsigned flags, int timeout_ms, pidlock **ret_lock,
		    pid_t *ret_holder)
{
	struct pidlock_waiter w;
	struct stat st, now;
	pidlock *l = NULL;
	pid_t holder = 0;
	bool created = false, block = false;
	int fd = -1, r;

	if (ret_holder)
		*ret_holder = 0;
	if (!ret_lock)
		return -EINVAL;
	*ret_lock = NULL;
	r = pidlock__check_path(path);
	if (r < 0)
		return r;
	if ((flags & ~(unsigned)KNOWN_FLAGS) || timeout_ms < PIDLOCK_WAIT_FOREVER)
		return -EINVAL;
	l = malloc(sizeof *l + strlen(path) + 1);
	if (!l)
		return -ENOMEM;
	strcpy(l->path, path);
	l->flags = flags;
	pidlock__fork_tracking_init();
	pidlock__waiter_init(&w, timeout_ms, flags);

	for (;;) {
		if (fd < 0) {
			fd = open_lockfile(path, &created);
			if (fd < 0) {
				r = fd;
				break;
			}
			if (!created && (r = check_existing(fd, &st)) < 0)
				break;
		}
		r = lock_fd(fd, block, flags & PIDLOCK_INTERRUPTIBLE);
		block = false;
		if (r == 0) {
			holder = 0;
			r = settle(l, fd, created, &st, &holder);
			if (r == 0) {
				pidlock__waiter_done(&w);
				*ret_lock = l;
				return 0;
			}
			if (r != -ESTALE && r != -EAGAIN)
				break;
			/* Not ours to keep: drop the descriptor (and with it the lock). */
			close(fd);
			fd = -1;
			if (r == -ESTALE)
				continue;
		} else if (r == -EAGAIN) {
			/* Someone else may have the file we just created: from now on it is
			 * someone's file like any other. */
			if (created && (r = check_existing(fd, &st)) < 0)
				break;
			created = false;
			holder = fstat(fd, &now) == 0 ? reported_holder(fd, &now) : -1;
			r = -EAGAIN;
		} else {
			break;
		}
		if (timeout_ms == 0)
			break;
		if (timeout_ms == PIDLOCK_WAIT_FOREVER && fd >= 0) {
			/* No deadline: let the kernel queue us and hand the lock over at the
			 * holder's last close, within microseconds. */
			block = true;
			continue;
		}
		r = pidlock__wait(&w, fd);
		if (r == -ETIMEDOUT)
			r = -EAGAIN;
		if (r < 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	pidlock__waiter_done(&w);
	free(l);
	if (r == -EAGAIN && ret_holder)
		*ret_holder = holder;
	return r;
}

/* Whether this handle is the one that may unlink or empty the file: not a copy a child got by
 * fork(), and not a parent's copy after a child adopted the lock with pidlock_update(). */
static bool owns_file(const pidlock *l)
{
	if (l->gen != pidlock__generation())
		return false;
	if (l->forks == pidlock__forks())
		return true;
	return pidlock__read_pid_fd(l->fd) == l->pid;
}

int pidlock_release(pidlock *l)
{
	int r = 0;

	if (!l)
		return 0;
	if (owns_file(l)) {
		/* Still holding the lock here: nobody can take it between the check and the
		 * unlink, and the check keeps us from removing a file that is not ours. */
		if (l->flags & PIDLOCK_KEEP_FILE) {
			if (ftruncate(l->fd, 0) < 0)
				r = -errno;
		} else if (path_names(l->path, l->dev, l->ino) && unlink(l->path) < 0) {
			r = -errno;
		}
	}
	if (close(l->fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	free(l);
	return r;
}

void pidlock_releasep(pidlock **lockp)
{
	if (lockp) {
		pidlock_release(*lockp);
		*lockp = NULL;
	}
}

int pidlock_update(pidlock *l)
{
	pid_t self;
	int r;

	if (!l)
		return -EINVAL;
	self = pidlock__self();
	r = pidlock__write_pid(l->fd, self, true, l->flags & PIDLOCK_FSYNC);
	if (r < 0)
		return r;
	/* From here this process owns the file; the parent's copy becomes a plain descriptor. */
	l->pid = self;
	l->gen = pidlock__generation();
	l->forks = pidlock__forks();
	return 0;
}

int pidlock_fd(const pidlock *l) { return l ? l->fd : -EINVAL; }
const char *pidlock_path(const pidlock *l) { return l ? l->path : NULL; }
pid_t pidlock_pid(const pidlock *l) { return l ? l->pid : -EINVAL; }

int pidlock_holder(const char *path, pid_t *ret_pid)
{
	struct stat st;
	int fd, r;

	if (ret_pid)
		*ret_pid = 0;
	fd = pidlock__open_existing(path, O_RDONLY, &st);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = test_fd(fd);
	if (r == 1 && ret_pid)
		*ret_pid = reported_holder(fd, &st);
	close(fd);
	return r;
}

const char *pidlock_strerror(int err)
{
	if (err == -EAGAIN)
		return "already running (the lock is held by another process)";
	if (err == 0)
		return "success";
	return strerror(err < 0 ? -err : err);
}

const char *pidlock_version(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(PIDLOCK_VERSION_MAJOR) "." STR(PIDLOCK_VERSION_MINOR) "." STR(PIDLOCK_VERSION_PATCH);
}
