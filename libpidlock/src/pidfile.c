/* The file's content, "PID\n": written, read and parsed here. The content is a label for
 * people and tools; who holds the lock is asked of the kernel (holder.c), and only
 * PIDLOCK_CHECK_PID ever lets the PID decide anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
