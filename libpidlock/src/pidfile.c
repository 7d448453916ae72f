/* The file's content, "PID\n", and what a recorded PID says about a process. The content is
 * a label for people and tools; only PIDLOCK_CHECK_PID ever lets it decide anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pidlock-int.h"

/* Longer than any "PID\n": a file that fills the buffer is malformed, however long it is. */
#define PID_BUF 32

int pidlock__parse_pid(const char *buf, size_t len)
{
	long long v = 0;
	size_t i = 0;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return 0;
	for (; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
		v = v * 10 + (buf[i] - '0');
		if (v > INT_MAX)
			return 0;
	}
	return (int)v;
}

int pidlock__read_pid_fd(int fd)
{
	char buf[PID_BUF];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof buf)
		return 0;
	return pidlock__parse_pid(buf, (size_t)n);
}

int pidlock__write_pid(int fd, pid_t pid, bool truncate_first, bool sync)
{
	char buf[PID_BUF];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)pid);
	ssize_t n;

	/* The file is empty before the single pwrite, and the kernel publishes the new size
	 * only after the bytes, so a reader sees nothing or the whole PID. */
	if (truncate_first && ftruncate(fd, 0) < 0)
		return -errno;
	do
		n = pwrite(fd, buf, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != len)
		return -ENOSPC;
	if (sync && fdatasync(fd) < 0)
		return -errno;
	return 0;
}

int pidlock__open_errno(void)
{
	/* open() says ENXIO for a socket (or a device with nothing behind it) before we can
	 * fstat() it: the same "not a regular file" as a FIFO. */
	return errno == ENXIO ? -EINVAL : -errno;
}

/* Read-only open for looking, never creating and never blocking on a FIFO. Returns the fd,
 * or -ENOENT, or the reason it is not a regular file. */
int pidlock__open_existing(const char *path, int mode, struct stat *st)
{
	int r = pidlock__check_path(path);
	int fd;

	if (r < 0)
		return r;
	fd = open(path, mode | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return pidlock__open_errno();
	if (fstat(fd, st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

int pidlock_read_pid(const char *path)
{
	struct stat st;
	int fd = pidlock__open_existing(path, O_RDONLY, &st);
	int r;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	r = pidlock__read_pid_fd(fd);
	close(fd);
	return r;
}

int pidlock_pid_alive(long long pid)
{
	/* 0 and negative values address process groups; above INT_MAX a pid_t wraps into them. */
	if (pid <= 0 || pid > INT_MAX)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

#ifdef PIDLOCK_HAVE_PROC
/* Whether a "lock:" line of an fdinfo file shows a write lock on @dev/@ino. The line reads
 * "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:10952756 0 EOF" (FLOCK for flock locks); it is
 * listed only in the fdinfo of a descriptor whose open file holds that lock. */
static bool shows_lock(const char *line, const char *id)
{
	const char *w = strstr(line, " WRITE ");

	return w && strstr(w, id) != NULL;
}

static int fd_holds(int dirfd, const char *name, const char *id)
{
	char buf[4096], *line, *next;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0; /* closed since the directory was read */
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "lock:", 5) && shows_lock(line, id))
			return 1;
	}
	return 0;
}

/* Scans one descriptor table (/proc/PID/fd and fdinfo, or a thread's under task/): a
 * descriptor is read only when stat() through its link shows the lock's file, so a holder
 * with thousands of descriptors costs one stat each, not three calls. Returns 1, 0, -1 when
 * the table is empty (a zombie thread group leader keeps none), or -errno. */
static int table_holds(const char *base, dev_t dev, ino_t ino, const char *id)
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
			r = fd_holds(infodir, e->d_name, id);
	}
	if (r == 0 && errno == EACCES)
		r = -EACCES;
	closedir(d);
	close(infodir);
	return r == 0 && seen == 0 ? -1 : r;
}

/* Whether process @pid has a descriptor whose open file holds the write lock on @dev/@ino.
 * Reading another user's descriptors needs the right to trace that process: -EACCES
 * otherwise. A leader that exited before its threads shows no descriptors: a thread's table
 * is read then. */
int pidlock__pid_holds(pid_t pid, dev_t dev, ino_t ino)
{
	char base[64], id[64];
	struct dirent *e;
	DIR *d;
	int r;

	if (pid <= 0)
		return 0;
	snprintf(id, sizeof id, " %02x:%02x:%llu ", major(dev), minor(dev),
		 (unsigned long long)ino);
	snprintf(base, sizeof base, "/proc/%d", (int)pid);
	r = table_holds(base, dev, ino, id);
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
		r = table_holds(task, dev, ino, id);
	}
	closedir(d);
	return r == -1 ? 0 : r;
}
#else
int pidlock__pid_holds(pid_t pid, dev_t dev, ino_t ino)
{
	(void)pid, (void)dev, (void)ino;
	return -ENOSYS;
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
	return pidlock__pid_holds(pid, st->st_dev, st->st_ino) == 1 ? pid : -1;
}

/* The effective uid of @pid from /proc/PID/status ("Uid:\treal\teffective\t..."); the
 * owner of /proc/PID itself is root for a process that changed its uid. */
static int process_euid(pid_t pid, uid_t *ret)
{
	char path[64], buf[2048], *line, *end;
	unsigned long eff;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* "Uid:\treal\teffective\tsaved\tfs": the second number */
	line = strstr(buf, "\nUid:");
	if (!line)
		return -EIO;
	strtoul(line + 5, &end, 10);
	errno = 0;
	eff = strtoul(end, &line, 10);
	if (errno || line == end)
		return -EIO;
	*ret = (uid_t)eff;
	return 0;
}

/* Under PIDLOCK_CHECK_PID, an unlocked file counts as held by a live PID that is not ours,
 * not an init (a container's PID 1 is always alive: a file from an earlier run names it), and
 * runs as the file's owner. Clocks are not compared: a step of the wall clock would change
 * the answer (see pidlock.h). Where /proc cannot tell the owner, a live PID is believed:
 * better "already running" than two instances. */
pid_t pidlock__pid_only_holder(int fd, const struct stat *st)
{
	uid_t euid = st->st_uid;
	int pid = pidlock__read_pid_fd(fd);

	if (pid <= 1 || pid == pidlock__self() || !pidlock_pid_alive(pid))
		return 0;
	if (process_euid(pid, &euid) == 0 && euid != st->st_uid)
		return 0;
	return pid;
}
