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
#include <time.h>
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

/* Start of @pid in ns since boot, from /proc/PID/stat field 22 (clock ticks since boot). */
static int process_start(pid_t pid, long long *ret_ns)
{
	char path[64], buf[1024], *end;
	unsigned long long ticks;
	const char *p;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -EIO;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -EIO : -ESRCH;
	buf[n] = '\0';
	/* The command name in field 2 may hold spaces and parentheses: count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || hz <= 0)
		return -EIO;
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	errno = 0;
	ticks = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1 || *end != ' ')
		return -EIO;
	*ret_ns = (long long)(ticks * (1000000000ULL / (unsigned long long)hz));
	return 0;
}

static int started_before(pid_t pid, const struct timespec *when)
{
	struct timespec real, boot, res;
	long long start_ns, when_ns;
	int r = process_start(pid, &start_ns);

	if (r < 0)
		return r;
	/* Move the file's mtime (wall clock) into boot time, where the start is counted: one
	 * clock, no whole-second rounding of /proc/stat's btime. */
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	when_ns = (when->tv_sec - real.tv_sec + boot.tv_sec) * 1000000000LL +
		  (when->tv_nsec - real.tv_nsec + boot.tv_nsec);
	/* File times come from the coarse clock, up to one of its ticks behind the write: a
	 * holder that wrote its PID right after it started must not look younger than it. */
	if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0)
		when_ns += res.tv_sec * 1000000000LL + res.tv_nsec;
	return start_ns <= when_ns;
}

/* The PID in the file, if a live process by that number wrote it: one that started before the
 * file's last write. The PID a crashed holder left, read in the moment between a new holder's
 * lock and its write, or taken over by an unrelated process since, gives 0. When /proc cannot
 * tell, a live PID is believed: better "already running" than two instances. */
pid_t pidlock__writer(int fd, const struct timespec *mtime)
{
	int pid = pidlock__read_pid_fd(fd);

	if (pid <= 0 || !pidlock_pid_alive(pid))
		return 0;
	return started_before(pid, mtime) == 0 ? 0 : pid;
}
