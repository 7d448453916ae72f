/* Descriptor identity: is this descriptor still the open file that holds our lock, and which
 * process owns that lock. Everything the library believes about "its" descriptor is asked of
 * the kernel here, never inferred from state that other code can move (a file offset, a signal
 * number, a counter of forks).
 *
 * The lock itself is the mark. A holder takes its write lock over bytes [0, TAG), not over the
 * whole file, and TAG names the owning process and the handle:
 *
 *    63  62  61          46 45                    24 23                  0
 *   +---+---+--------------+------------------------+--------------------+
 *   | 0 | 1 |   0 (16)     |   owner PID (22 bits)  |  handle id (24)    |
 *   +---+---+--------------+------------------------+--------------------+
 *
 * Bit 62 keeps the range past any PID file's content and tells our locks from anyone else's;
 * 22 bits hold every PID Linux can give (pid_max is at most 2^22); the handle id tells two
 * handles of one process apart (a number closed behind our back and reused by a new acquire
 * of the same file). Any other locker's whole-file test overlaps byte 0, so the range excludes
 * exactly as a whole-file lock does, 1.0 and 1.1 starters included.
 *
 * The kernel lists a lock in /proc/PID/fdinfo/FD only for the descriptor whose open file holds
 * it, with its range ("lock:\t1: OFDLCK ADVISORY  WRITE -1 00:1b:2 0 4611686112195248132"), so
 * reading our own descriptor's fdinfo answers three questions at once: is this number still an
 * open file of ours (a closed and reused number shows no line with our handle id), does that
 * open file still hold the lock, and who owns it now (pidlock_update() in a forked child
 * re-takes the range with its own PID: the parent then sees that its copy was adopted).
 * Ordinary I/O on pidlock_fd() (read, write, lseek) changes none of it. What can disturb it:
 * a program that takes or drops fcntl locks through the lock's descriptor itself (pidlock(3)
 * forbids it), and a kernel without /proc (then only the file's device and inode are
 * compared: a number reused for a new open of the same file is not told apart).
 *
 * The flock fallback has no ranges: its lock line carries the PID of the process that took
 * it, which serves as the owner, and there is no handle id. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock-int.h"

#define TAG_BASE (1LL << 62)
#define TAG_PID_SHIFT 24
#define TAG_PID_MASK ((1LL << 22) - 1)
#define TAG_ID_MASK ((1LL << TAG_PID_SHIFT) - 1)

long long pidlock__tag(pid_t owner, unsigned id)
{
	return TAG_BASE | (((long long)owner & TAG_PID_MASK) << TAG_PID_SHIFT) |
	       ((long long)id & TAG_ID_MASK);
}

bool pidlock__tag_parse(long long tag, pid_t *owner, unsigned *id)
{
	if ((tag & ~(TAG_BASE | (TAG_PID_MASK << TAG_PID_SHIFT) | TAG_ID_MASK)) != 0 ||
	    !(tag & TAG_BASE))
		return false;
	if (owner)
		*owner = (pid_t)((tag >> TAG_PID_SHIFT) & TAG_PID_MASK);
	if (id)
		*id = (unsigned)(tag & TAG_ID_MASK);
	return true;
}

unsigned pidlock__new_id(void)
{
	static unsigned counter;
	unsigned id;

	do
		id = PL_ADD(&counter, 1) & (unsigned)TAG_ID_MASK;
	while (id == 0);
	return id;
}

/* One "lock:" line: "lock:\t1: OFDLCK ADVISORY  WRITE -1 00:1b:2 0 EOF". The words are the
 * kernel's (fs/locks.c, lock_get_status()); a line that does not read so is skipped. */
static bool parse_line(char *s, struct pidlock_lockline *out)
{
	char *tok[8], *save = NULL, *p;
	unsigned long long ino;
	int n = 0;

	for (p = strtok_r(s, " \t", &save); p && n < 8; p = strtok_r(NULL, " \t", &save))
		tok[n++] = p;
	if (n < 8)
		return false;
	memset(out, 0, sizeof *out);
	out->ofd = !strcmp(tok[1], "OFDLCK");
	out->flock = !strcmp(tok[1], "FLOCK");
	out->write = !strcmp(tok[3], "WRITE");
	out->pid = (pid_t)strtol(tok[4], NULL, 10);
	p = strrchr(tok[5], ':');
	if (!p)
		return false;
	ino = strtoull(p + 1, NULL, 10);
	out->ino = ino;
	out->end = !strcmp(tok[7], "EOF") ? -1 : strtoll(tok[7], NULL, 10);
	out->owner = 0;
	if (out->ofd && out->end >= 0)
		pidlock__tag_parse(out->end + 1, &out->owner, &out->id);
	else if (out->flock)
		out->owner = out->pid;
	return true;
}

int pidlock__fdinfo_locks(int dirfd, const char *name, struct pidlock_lockline *lines, int max)
{
	char buf[4096], *line, *next;
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int count = 0;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	for (line = buf; line && count < max; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, "lock:", 5) && parse_line(line + 5, &lines[count]))
			count++;
	}
	return count;
}

int pidlock__ident(int fd, dev_t dev, ino_t ino, unsigned id, pid_t *owner)
{
#ifdef PIDLOCK_HAVE_PROC
	struct pidlock_lockline lines[8];
	char name[48];
	int n, i;

	(void)dev; /* the lock line's device is the superblock's, not stat()'s (btrfs) */
	snprintf(name, sizeof name, "/proc/self/fdinfo/%d", fd);
	n = pidlock__fdinfo_locks(AT_FDCWD, name, lines, 8);
	if (n == -ENOENT)
		return 0; /* the number is closed */
	if (n >= 0) {
		for (i = 0; i < n; i++) {
			if (!lines[i].write || lines[i].ino != (unsigned long long)ino)
				continue;
#ifdef PIDLOCK_HAVE_OFD
			if (!lines[i].ofd || lines[i].id != id)
				continue;
#else
			if (!lines[i].flock)
				continue;
			(void)id;
#endif
			if (owner)
				*owner = lines[i].owner;
			return 1;
		}
		return 0;
	}
	/* /proc unreadable here (not mounted, out of descriptors): fall through to the weaker
	 * test of the file alone. */
#endif
	{
		struct stat st;

		(void)id;
		if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
			return 0;
		if (owner)
			*owner = 0; /* unknown */
		return 1;
	}
}
