/* Holder verification: which process, if any, the kernel shows holding the lock on a file.
 * The PID in the file is only a label; a PID is reported, and may be signalled by the
 * command, only when this file's checks say that process holds the lock. Linux shows it in
 * /proc; a port to another kernel replaces this file.
 *
 * A process P holds the lock on a file when all of these hold:
 *   - a descriptor of P is that file: stat() through /proc/P/fd/N gives its device and inode
 *     (the same stat() the caller made of the file, so the devices agree on every file
 *     system);
 *   - that descriptor is open for writing (the mode of the /proc/P/fd/N link says so): only
 *     a process that could open the file for writing can be its holder, so a reader of a
 *     PIDLOCK_READABLE file never is, whatever lock it takes;
 *   - /proc/P/fdinfo/N lists a write lock of the library's own kind on that inode: an OFD
 *     lock (a flock lock in the flock build). The inode alone is compared: the device in a
 *     lock line is the superblock's, which on btrfs subvolumes and on overlayfs is not the
 *     device stat() reports;
 *   - the lock's owner is P. An OFD lock's range names its owner (ident.c); a copy of the
 *     descriptor that a helper inherited (a command started without closing descriptors)
 *     shows the same line with the owner's PID, not its own. A range without our tag is a
 *     1.0 or 1.1 holder's, which named nobody: there every process with the line counts, as
 *     it did then. A flock line carries the PID that took the lock; it counts for P when it
 *     is P, or when that process is gone (a parent that handed the lock to the child it
 *     forked and exited: flock keeps the first locker's PID).
 *
 * Reading another user's descriptors needs the right to trace that process: -EACCES. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock-int.h"

#ifdef PIDLOCK_HAVE_PROC
#define MAX_LINES 16 /* lock lines of one descriptor: ours, and any a program added */

/* Whether @ln is the library's lock on inode @ino, owned by @pid. */
static bool holds_line(const struct pidlock_lockline *ln, ino_t ino, pid_t pid)
{
	if (!ln->write || ln->ino != (unsigned long long)ino || ln->start != 0)
		return false; /* not this file, or a waiter's place in the queue */
#ifdef PIDLOCK_HAVE_OFD
	return ln->ofd && (ln->owner == 0 || ln->owner == pid);
#else
	return ln->flock && (ln->owner == pid || (kill(ln->owner, 0) < 0 && errno == ESRCH));
#endif
}

/* Whether descriptor @name of a table, already known to be the lock's file, is the holder's:
 * open for writing, with the library's lock owned by @pid on it. */
static int fd_holds(int fddir, int infodir, const char *name, ino_t ino, pid_t pid)
{
	struct pidlock_lockline lines[MAX_LINES];
	struct stat link;
	int n, i;

	if (fstatat(fddir, name, &link, AT_SYMLINK_NOFOLLOW) < 0 || !(link.st_mode & S_IWUSR))
		return 0; /* closed since, or open for reading only */
	n = pidlock__fdinfo_locks(infodir, name, lines, MAX_LINES);
	for (i = 0; i < n; i++)
		if (holds_line(&lines[i], ino, pid))
			return 1;
	return 0;
}

/* Scans one descriptor table (/proc/PID/fd and fdinfo, or a thread's under task/): a
 * descriptor is read only when stat() through its link shows the lock's file, so a holder
 * with thousands of descriptors costs one stat each, not three calls. Returns 1, 0, -1 when
 * the table is empty (a zombie thread group leader keeps none), or -errno. */
static int table_holds(const char *base, dev_t dev, ino_t ino, pid_t pid)
{
	char path[96];
	struct dirent *e;
	struct stat st;
	int fddir, infodir, r = 0, seen = 0;
	DIR *d;

	snprintf(path, sizeof path, "%s/fd", base);
	fddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fddir < 0)
		return errno == EPERM || errno == EACCES ? -EACCES : errno == ENOENT ? 0 : -errno;
	snprintf(path, sizeof path, "%s/fdinfo", base);
	infodir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fdopendir(fddir);
	if (!d || infodir < 0) {
		r = infodir < 0 ? -errno : -ENOMEM;
		if (d)
			closedir(d);
		else
			close(fddir);
		if (infodir >= 0)
			close(infodir);
		return r == -EPERM ? -EACCES : r;
	}
	errno = 0;
	while (r == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		seen++;
		if (fstatat(fddir, e->d_name, &st, 0) == 0 && st.st_dev == dev && st.st_ino == ino)
			r = fd_holds(fddir, infodir, e->d_name, ino, pid);
	}
	if (r == 0 && errno == EACCES)
		r = -EACCES;
	closedir(d);
	close(infodir);
	return r == 0 && seen == 0 ? -1 : r;
}

/* A leader that exited before its threads shows no descriptors: a thread's table is read
 * then. */
static int holds(pid_t pid, dev_t dev, ino_t ino)
{
	char base[64];
	struct dirent *e;
	DIR *d;
	int r;

	snprintf(base, sizeof base, "/proc/%d", (int)pid);
	r = table_holds(base, dev, ino, pid);
	if (r != -1)
		return r == 0 && access("/proc/self/fdinfo", F_OK) != 0 ? -ENOSYS : r;
	snprintf(base, sizeof base, "/proc/%d/task", (int)pid);
	d = opendir(base);
	if (!d)
		return 0;
	r = -1;
	while (r == -1 && (e = readdir(d))) {
		char task[96], *end;
		long tid = strtol(e->d_name, &end, 10);
		if (*end || tid <= 0 || tid == pid)
			continue;
		snprintf(task, sizeof task, "/proc/%d/task/%ld", (int)pid, tid);
		r = table_holds(task, dev, ino, pid);
	}
	closedir(d);
	return r == -1 ? 0 : r;
}

static int process_uids(pid_t pid, uid_t uids[4]);

/* A process holds the lock when it has a descriptor of the file whose open file holds the
 * library's lock naming it as owner (holds_line()) and runs with the file owner's effective
 * uid: a helper of another user that inherited a copy of the descriptor (setpriv, runuser)
 * and re-took the lock's range through it to name itself is never the holder. */
int pidlock__pid_holds(pid_t pid, const struct stat *st)
{
	uid_t uids[4] = { (uid_t)-1, (uid_t)-1, (uid_t)-1, (uid_t)-1 };
	int r;

	if (pid <= 0)
		return 0;
	r = holds(pid, st->st_dev, st->st_ino);
	if (r == -EACCES)
		pidlock__explain("process %d may not be inspected by this user (its descriptors "
				 "need ptrace read access)", (int)pid);
	if (r == 1 && process_uids(pid, uids) == 0 && uids[1] != st->st_uid) {
		pidlock__explain("process %d has the lock's descriptor but runs as uid %u, not as the "
				 "file's owner (uid %u)", (int)pid, (unsigned)uids[1],
				 (unsigned)st->st_uid);
		r = 0;
	}
	return r;
}

/* The real, effective, saved and file-system uids of @pid ("Uid:" of /proc/PID/status). */
static int process_uids(pid_t pid, uid_t uids[4])
{
	char path[64], buf[2048], *line, *end;
	unsigned long v;
	int n, i;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	n = pidlock__read_proc(AT_FDCWD, path, buf, sizeof buf);
	if (n < 0)
		return n;
	if (n == 0)
		return -EIO;
	line = strstr(buf, "\nUid:");
	if (!line)
		return -EIO;
	line += 5;
	for (i = 0; i < 4; i++) {
		errno = 0;
		v = strtoul(line, &end, 10);
		if (errno || end == line)
			return -EIO;
		uids[i] = (uid_t)v;
		line = end;
	}
	return 0;
}

/* Whether @pid runs wholly as @owner: every uid of it, the real one included. A set-user-ID
 * program another user started (su, passwd) has the owner's effective uid but the starter's
 * real one, and the starter can stop it and keep it on a PID for as long as they like. */
static int runs_as(pid_t pid, uid_t owner)
{
	uid_t uids[4] = { (uid_t)-1, (uid_t)-1, (uid_t)-1, (uid_t)-1 }; /* none unread matches */
	int i;

	if (process_uids(pid, uids) < 0)
		return -1;
	for (i = 0; i < 4; i++)
		if (uids[i] != owner)
			return 0;
	return 1;
}
#else
int pidlock__pid_holds(pid_t pid, const struct stat *st)
{
	(void)pid, (void)st;
	return -ENOSYS;
}

static int runs_as(pid_t pid, uid_t owner)
{
	(void)pid, (void)owner;
	return -1;
}
#endif

/* The PID in the file when the kernel shows that process holding the lock on it; -1 else. No
 * clock is consulted, and a PID of another PID namespace (a container's "2") or one an
 * unrelated holder wrote is never reported. */
pid_t pidlock__verified_holder(int fd, const struct stat *st)
{
	int pid = pidlock__read_pid_fd(fd);

	if (pid <= 0)
		return -1;
	return pidlock__pid_holds(pid, st) == 1 ? pid : -1;
}

/* Under PIDLOCK_CHECK_PID, an unlocked file counts as held by a live PID that is not ours,
 * not an init (a container's PID 1 is always alive: a file from an earlier run names it), and
 * runs wholly as the file's owner (runs_as()): another user's process never makes the file
 * held. Clocks are not compared: a step of the wall clock would change the answer (see
 * pidlock.h). Where /proc cannot tell the uids, a live PID is believed: better "already
 * running" than two instances. */
pid_t pidlock__pid_only_holder(int fd, const struct stat *st)
{
	int pid = pidlock__read_pid_fd(fd);

	if (pid <= 1 || pid == getpid() || !pidlock_pid_alive(pid))
		return 0;
	return runs_as(pid, st->st_uid) == 0 ? 0 : pid;
}
