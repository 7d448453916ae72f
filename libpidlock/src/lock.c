/* Acquire, release, update: the lock itself, and the one place that knows its primitive.
 *
 * The kernel is the authority. The lock is an open-file-description lock on the file, so it
 * lives exactly as long as some descriptor of that open file does; the PID written in the file
 * is for people and tools, and is reported only while the kernel shows its process holding
 * the lock. Holders take write locks only: a read lock on the file is a reader's (another
 * user's, on a PIDLOCK_READABLE file), never a holder's. Each rule below is written once, here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "pidlock-int.h"

/* Owner model. A handle belongs to the process that acquired it (or adopted it with
 * pidlock_update()), asked of the kernel with getpid() whenever it matters: a copy made by any
 * kind of fork (fork(), _Fork(), a raw clone) has another PID and only ever closes its own
 * descriptor. The lock's byte range names the owner (ident.c), so the kernel also tells a
 * parent that a child adopted the lock, and tells our open file from a number closed behind
 * our back and reused. The owner's release always unlocks before it closes: a forked worker
 * that still has the descriptor does not keep the lock. */

#define OPEN_FLAGS (O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* The one place that knows the locking primitive. OFD locks conflict between two opens in
 * one process, survive unrelated close() calls, are shared by forked copies of the descriptor
 * (so one unlock frees them all) and can be tested without being taken; flock is the fallback
 * where they do not exist, and its probe takes a shared lock for a moment. Never blocks. */
static int lock_fd(int fd, long long tag)
{
	int r;

	do {
#ifdef PIDLOCK_HAVE_OFD
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = tag };
		r = fcntl(fd, F_OFD_SETLK, &fl);
#else
		(void)tag;
		r = flock(fd, LOCK_EX | LOCK_NB);
#endif
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0;
	return errno == EACCES || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static void unlock_fd(int fd)
{
#ifdef PIDLOCK_HAVE_OFD
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };
	fcntl(fd, F_OFD_SETLK, &fl);
#else
	flock(fd, LOCK_UN);
#endif
}

/* Re-takes the lock of an open file that holds it under a new tag, never letting go between:
 * the new range is locked first (contained in the old one, or extending it), then whatever of
 * the old range lies past it is unlocked. */
static int retag_fd(int fd, long long tag)
{
#ifdef PIDLOCK_HAVE_OFD
	struct flock tail = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = tag };
	int r = lock_fd(fd, tag);

	if (r == 0 && fcntl(fd, F_OFD_SETLK, &tail) < 0)
		r = -errno;
	return r;
#else
	return lock_fd(fd, tag);
#endif
}

/* What kind of lock stands in the way of a write lock: F_WRLCK (a holder), F_RDLCK (a
 * reader), F_UNLCK (none), or a negative errno. @refused: a write lock was just refused, which
 * the flock fallback needs to tell a reader's shared lock (its own probe gets one too) from
 * none. */
int pidlock__conflict(int fd, bool refused)
{
#ifdef PIDLOCK_HAVE_OFD
	/* Short of the queue: a waiter's place in line is neither a holder nor a reader. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = PIDLOCK_QUEUE_BASE };

	(void)refused; /* F_OFD_GETLK tells the type itself */
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type;
#else
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		/* Someone's shared lock refused our exclusive one: a reader's, or another
		 * starter's probe of a moment. flock cannot tell them apart, so it counts as
		 * held (waits retry it) rather than -EBUSY, or as free for a probe. */
		return refused ? F_WRLCK : F_UNLCK;
	}
	return errno == EWOULDBLOCK ? F_WRLCK : -errno;
#endif
}

static bool path_names(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int pidlock__try_new(const char *path, unsigned flags, struct pidlock_try *t)
{
	char real[PATH_MAX];
	size_t len;
	int r;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	r = pidlock__check_path(path);
	if (r < 0)
		return r;
	if (flags & ~(unsigned)PIDLOCK_KNOWN_FLAGS)
		return -EINVAL;
	r = pidlock__resolve(path, real, true, &t->made, NULL, 0);
	if (r < 0) {
		pidlock__unmake(&t->made, true);
		return r;
	}
	len = strlen(path) + 1;
	t->l = malloc(sizeof *t->l + len + strlen(real) + 1);
	if (!t->l) {
		pidlock__unmake(&t->made, true);
		return -ENOMEM;
	}
	memcpy(t->l->path, path, len);
	strcpy(t->l->path + len, real);
	t->l->real = t->l->path + len;
	t->l->flags = flags;
	t->l->fd = -1;
	t->ticket = -1;
	t->pid = getpid();
	t->ns = pidlock__pidns();
	t->id = pidlock__new_id();
	return 0;
}

/* Open the file, creating it when absent; *created tells which. The usual case is tried
 * first: an unlinking lock finds no file, a PIDLOCK_KEEP_FILE one finds its own. */
static int open_lockfile(pidlock *l, bool *created)
{
	mode_t mode = l->flags & PIDLOCK_READABLE ? 0644 : 0600;
	bool create = !(l->flags & PIDLOCK_KEEP_FILE);
	int fd;

	for (;;) {
		fd = create ? open(l->real, OPEN_FLAGS | O_CREAT | O_EXCL, mode)
			    : open(l->real, OPEN_FLAGS);
		if (fd >= 0 && fd <= 2) {
			fd = pidlock__above_std(fd);
			if (fd < 0) {
				int r = -errno;
				if (create)
					unlink(l->real);
				return r;
			}
		}
		if (fd >= 0) {
			*created = create;
			return fd;
		}
		/* O_EXCL also fails on a symlink; O_NOFOLLOW turns that into ELOOP below. */
		if (errno != (create ? EEXIST : ENOENT))
			return pidlock__open_errno();
		/* Made or removed between two opens by another starter or a releasing holder. */
		create = !create;
	}
}

/* Our PID into the file we now hold, and the handle filled in. A file that is not empty (a
 * crashed holder's PID, or a longer PID another starter wrote into the file we had just
 * created before it died) is emptied first, so a reader never sees our PID followed by the
 * tail of another. */
static int fill_handle(struct pidlock_try *t, bool created)
{
	pidlock *l = t->l;
	int r;

	l->pid = t->pid;
	l->ns = t->ns;
	l->id = t->id;
	r = pidlock__write_pid(t->fd, l->pid, t->st.st_size > 0, l->flags & PIDLOCK_FSYNC);
	if (r < 0)
		return r;
	/* A file from before follows the flag: one 1.0 made (0644) becomes unreadable to others
	 * unless asked, one made private becomes readable when asked. */
	if (!created && !(l->flags & PIDLOCK_READABLE) && (t->st.st_mode & 077))
		fchmod(t->fd, t->st.st_mode & 0700);
	else if (!created && (l->flags & PIDLOCK_READABLE) && !(t->st.st_mode & 044))
		fchmod(t->fd, 0644);
	l->fd = t->fd;
	l->dev = t->st.st_dev;
	l->ino = t->st.st_ino;
	t->fd = -1;
	return 0;
}

/* Closes the descriptor of the last try. Within one call it is ours; between the calls of a
 * waiter none is kept (pidlock__try_park()), so nothing here can close a number that other
 * code reused. */
static void drop(struct pidlock_try *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->ro = false;
	t->queued = false; /* a place in line is the open file's: it goes with it (not the ticket) */
}

/* The file at the path as t->fd, opened with @access when none is open but never created, and
 * checked as a try checks what it finds: still linked, and no file another user put at the
 * path. Returns 1, 0 (absent or gone: nothing open) or an error (nothing open). A read-only
 * open that fails is 0 too: the open for writing that follows says why. */
static int open_existing(struct pidlock_try *t, int access)
{
	int r;

	if (t->fd < 0) {
		t->fd = pidlock__above_std(open(t->l->real, (OPEN_FLAGS & ~O_RDWR) | access));
		if (t->fd < 0) {
			r = errno == ENOENT || access == O_RDONLY ? 0 : pidlock__open_errno();
			t->fd = -1;
			return r;
		}
		t->ro = access == O_RDONLY;
	}
	if (fstat(t->fd, &t->st) < 0 || t->st.st_nlink == 0) {
		drop(t);
		return 0;
	}
	r = pidlock__file_problem(t->l->real, &t->st, true, NULL, 0);
	if (r < 0)
		drop(t);
	return r < 0 ? r : 1;
}

/* A wait's look at the lock before it reaches for it, through a read-only descriptor. Waits
 * sleep on inotify's IN_CLOSE_WRITE (a holder's death), and closing a descriptor opened for
 * writing is one: a retry that opened the file for writing and closed it again would wake
 * every waiter of the file, itself included (an event-loop waiter, whose descriptor goes
 * between calls, then spun at 100 % CPU on a held lock). A read-only close is IN_CLOSE_NOWRITE,
 * which nobody watches. Returns -EAGAIN or -EBUSY (held; the descriptor kept to watch and to
 * read the holder from), 0 (free or gone: the caller opens for writing) or an error. */
static int look(struct pidlock_try *t)
{
	int r, c;

	if (t->fd >= 0 && !t->ro)
		return 0; /* a descriptor for writing kept from the last try locks through itself */
	r = open_existing(t, O_RDONLY);
	if (r <= 0)
		return r;
	c = pidlock__conflict(t->fd, false);
	if (c == F_RDLCK || c == F_WRLCK || ((t->l->flags & PIDLOCK_CHECK_PID) && c == F_UNLCK &&
					     pidlock__pid_only_holder(t->fd, &t->st) > 0))
		return c == F_RDLCK ? -EBUSY : -EAGAIN;
	drop(t);
	return 0;
}

void pidlock__try_park(struct pidlock_try *t) { drop(t); }

/* Whether @t is a wait (or a waiter) copied into a forked child: its descriptors then belong to
 * the process that made it, and an OFD lock taken through them would be that process's too. */
bool pidlock__try_copied(const struct pidlock_try *t) { return !pidlock__is_proc(t->pid, t->ns); }

int pidlock__try(struct pidlock_try *t)
{
	pidlock *l = t->l;
	bool created, woke;
	int r, c;

	/* A try after a sleep (a wait's) proves the path again: a directory above it may have
	 * been handed to another user since, and a fresh process would refuse it. The tries of
	 * one wake, microseconds apart, share that proof. Then it looks before it reaches. */
	woke = t->woke;
	t->woke = false;
	if (woke && (r = pidlock__recheck(l->real)) < 0) {
		drop(t);
		return r;
	}
	if (woke || t->ro) {
		r = look(t);
		if (r < 0)
			return r;
	}
	for (;;) {
		created = false;
		if (t->fd < 0) {
			t->fd = open_lockfile(l, &created);
			if (t->fd < 0) {
				r = t->fd;
				t->fd = -1;
				return r;
			}
		}
		r = lock_fd(t->fd, pidlock__tag(t->pid, t->id));
		c = F_UNLCK;
		if (r == -EAGAIN) {
			c = pidlock__conflict(t->fd, true);
			if (c < 0)
				r = c;
			else if (c == F_UNLCK)
				continue; /* let go between the two calls */
		}
		/* The owner and mode are checked before a refusal is believed: a file that another
		 * user put at the path is -EPERM with its sentence, never "already running", and
		 * never waited on. */
		if ((r == 0 || r == -EAGAIN) && fstat(t->fd, &t->st) < 0)
			r = -errno;
		if (r == 0 || r == -EAGAIN) {
			int p = pidlock__file_problem(l->real, &t->st, !created, NULL, 0);
			if (p < 0)
				r = p;
		}
		if (r == -EAGAIN)
			return c == F_RDLCK ? -EBUSY : -EAGAIN;
		if (r < 0) {
			drop(t);
			return r;
		}
		/* Only holders unlink and nobody renames: a file still linked is the one at the
		 * path. An unlinked one was released by a holder between our open and our lock
		 * (or created by us and used up by another starter): start over. */
		if (t->st.st_nlink == 0) {
			drop(t);
			continue;
		}
		if (!created && (l->flags & PIDLOCK_CHECK_PID) &&
		    pidlock__pid_only_holder(t->fd, &t->st) > 0) {
			/* Not ours to take: let go of the lock, keep the descriptor to read the
			 * holder from and to watch. */
			unlock_fd(t->fd);
			return -EAGAIN;
		}
		r = fill_handle(t, created);
		if (r < 0) {
			/* A failed acquire leaves no file behind that it created. */
			if (created && path_names(l->real, t->st.st_dev, t->st.st_ino))
				unlink(l->real);
			drop(t);
		}
		return r;
	}
}

/* On the way to a wait: whether the file of the last try has left the path (a holder
 * unlinked it; a forked copy may keep its lock for long). Then its descriptor is closed, and
 * the next try opens the path again. */
bool pidlock__try_reopen_if_moved(struct pidlock_try *t)
{
	if (t->fd < 0)
		return false;
	if (fstat(t->fd, &t->st) == 0 && t->st.st_nlink > 0 &&
	    path_names(t->l->real, t->st.st_dev, t->st.st_ino))
		return false;
	drop(t);
	return true;
}

pid_t pidlock__try_holder(struct pidlock_try *t)
{
	struct stat st;
	pid_t pid;

	if (t->fd < 0 || fstat(t->fd, &st) < 0)
		return -1;
	if (t->l->flags & PIDLOCK_CHECK_PID) {
		pid = pidlock__pid_only_holder(t->fd, &st);
		if (pid > 0 && pidlock__conflict(t->fd, false) == F_UNLCK)
			return pid;
	}
	return pidlock__verified_holder(t->fd, &st);
}

void pidlock__try_done(struct pidlock_try *t, int r)
{
	drop(t);
	pidlock__unmake(&t->made, r != 0);
	if (r != 0)
		free(t->l);
	t->l = NULL;
}

/* The descriptor a wait lines up with (queue.c): the file at the path, opened for writing
 * (a place in line is a lock) but not created (a missing file has nobody in line), and checked
 * as a try checks it: nobody lines up on a file another user put at the path. Returns 1, 0
 * (no file, or it just left the path) or an error. */
int pidlock__try_writable(struct pidlock_try *t)
{
	if (t->fd >= 0 && t->ro)
		drop(t);
	return open_existing(t, O_RDWR);
}

int pidlock_acquire(const char *path, unsigned flags, int timeout_ms, pidlock **ret_lock,
		    pid_t *ret_holder)
{
	struct pidlock_try t;
	sigset_t old;
	int r;

	if (ret_holder)
		*ret_holder = 0;
	if (!ret_lock)
		return -EINVAL;
	*ret_lock = NULL;
	pidlock__explain_clear();
	if (timeout_ms < PIDLOCK_WAIT_FOREVER)
		return -EINVAL;
	/* A wait runs its handlers only inside its sleep (wait.c): from the very start, the walk
	 * of the path included, so that none runs unseen before the first sleep. */
	if (timeout_ms != 0)
		pidlock__block_signals(&old);
	r = pidlock__try_new(path, flags, &t);
	if (r == 0) {
		r = timeout_ms != 0 ? pidlock__wait_for(&t, timeout_ms, &old) : pidlock__try(&t);
		if (r == -EAGAIN && ret_holder)
			*ret_holder = pidlock__try_holder(&t);
		if (r == 0)
			*ret_lock = t.l;
		pidlock__try_done(&t, r);
	}
	if (timeout_ms != 0)
		pidlock__restore_signals(&old);
	return r;
}

/* The owner's release: the file leaves the path (or, kept, is emptied) while we still hold the
 * lock, so nobody can take it between the check and the removal; then the lock is let go for
 * every forked copy of the descriptor. A file with a process in line for it (an endless wait,
 * wait.c) is kept too, emptied: the next one takes this very file, and the ones behind it stay
 * asleep in line instead of all moving to a new file. A kept file is touched after the unlock:
 * its truncate came before, and the close wakes nobody while a forked copy keeps the file
 * open, so this is the event that wakes the waiters. */
static int release_owned(pidlock *l)
{
	bool keep = (l->flags & PIDLOCK_KEEP_FILE) || pidlock__queue_behind(l->fd);
	int r = 0;

	if (keep) {
		if (ftruncate(l->fd, 0) < 0)
			r = -errno;
	} else if (path_names(l->real, l->dev, l->ino) && unlink(l->real) < 0) {
		r = -errno;
	}
	unlock_fd(l->fd);
	if (keep)
		futimens(l->fd, NULL);
	return r;
}

int pidlock_release(pidlock *l)
{
	pid_t owner = 0;
	int r = 0, id;

	if (!l)
		return 0;
	pidlock__explain_clear();
	id = pidlock__ident(l->fd, l->dev, l->ino, l->id, &owner);
	if (!pidlock__is_proc(l->pid, l->ns)) {
		/* A copy made by forking: only our descriptor of it is closed (after the owner's
		 * release its open file holds no lock any more, but it is still the file). */
		if (id != PL_ID_OTHER)
			close(l->fd);
		free(l);
		return 0;
	}
	/* No lock through our descriptor (a child that adopted it and released it since, or a
	 * number closed behind our back and now another open of the file by other code): nothing
	 * tells the two apart, so nothing is closed. */
	if (id != PL_ID_OURS) {
		pidlock__explain("the descriptor %d of %s no longer holds this handle's lock: it was "
				 "closed or replaced behind the library's back, or the lock was let "
				 "go through a copy of it", l->fd, l->path);
		free(l);
		return -EBADFD;
	}
	/* A child that adopted the lock (pidlock_update(), which only the file's owner may do)
	 * owns it now, also after it changed to another user: ours is only a copy. Where that
	 * cannot be asked (no descriptor left to read /proc with) and the file names another
	 * process, nothing is let go: a second instance is worse than a lock held on by a copy,
	 * and the error says the release was not done. */
	if (owner == 0 || owner == l->pid) {
		r = release_owned(l);
	} else if (owner < 0) {
		pidlock__explain("no descriptor was left to ask /proc whether %s was taken over by "
				 "another process: only this handle's descriptor was closed", l->path);
		r = -EMFILE;
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
	struct stat st;
	pid_t self, owner = 0;
	int r;

	if (!l)
		return -EINVAL;
	pidlock__explain_clear();
	r = pidlock__ident(l->fd, l->dev, l->ino, l->id, &owner);
	if (r != PL_ID_OURS) {
		/* Released by the parent before this child's update: the file removed, or the
		 * lock let go for every copy and perhaps taken by another process since. Writing
		 * our PID into it would only hide that. */
		if (r == PL_ID_UNLOCKED) {
			pidlock__explain("the lock on %s was released before this process took it over",
					 l->path);
			return -ESTALE;
		}
		return -EBADFD;
	}
	/* Only the file's owner takes it over: a worker that changed to another user (privilege
	 * separation) keeps a copy, never the lock. */
	if (fstat(l->fd, &st) < 0)
		return -EBADFD;
	if (!pidlock__is_euid(st.st_uid)) {
		pidlock__explain("file %s belongs to uid %u, not to the caller (uid %u): a process "
				 "of another user does not take the lock over", l->path,
				 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	self = getpid();
	/* From here this process owns the lock: the range names it, so every other copy's
	 * release sees its descriptor adopted and only closes it. Asked of the lock, not of the
	 * handle: a copy may have adopted it since this process last did. */
	if (owner != self && retag_fd(l->fd, pidlock__tag(self, l->id)) < 0)
		return -ESTALE;
	r = pidlock__write_pid(l->fd, self, true, l->flags & PIDLOCK_FSYNC);
	if (r < 0)
		return r;
	l->pid = self;
	l->ns = pidlock__pidns();
	return 0;
}

int pidlock_check(const pidlock *l)
{
	if (!l)
		return -EINVAL;
	return pidlock__ident(l->fd, l->dev, l->ino, l->id, NULL) == PL_ID_OURS ? 0 : -EBADFD;
}

int pidlock_fd(const pidlock *l) { return l ? l->fd : -EINVAL; }
const char *pidlock_path(const pidlock *l) { return l ? l->path : NULL; }
pid_t pidlock_pid(const pidlock *l) { return l ? l->pid : -EINVAL; }
