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
 * Past every tag lie the bytes of the line endless waits stand in (queue.c): from
 * PIDLOCK_QUEUE_BASE = 2^62 + 2^48, one byte per ticket, each waiter's place a read lock on
 * its own byte. None is ever a holder's lock: every question about holders and readers
 * (pidlock__conflict(), the lock lines below) looks at ranges that start at byte 0 only.
 *
 * The flock fallback has no ranges: its lock line carries the PID of the process that took
 * it, which serves as the owner, and there is no handle id, and no queue. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
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
	out->start = strtoll(tok[6], NULL, 10);
	out->end = !strcmp(tok[7], "EOF") ? -1 : strtoll(tok[7], NULL, 10);
	out->owner = 0;
	if (out->ofd && out->start == 0 && out->end >= 0)
		pidlock__tag_parse(out->end + 1, &out->owner, &out->id);
	else if (out->flock)
		out->owner = out->pid;
	return true;
}

int pidlock__read_proc(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return (int)n;
}

int pidlock__fdinfo_locks(int dirfd, const char *name, struct pidlock_lockline *lines, int max)
{
	char buf[4096], *line, *next;
	int n = pidlock__read_proc(dirfd, name, buf, sizeof buf);
	int count = 0;

	if (n < 0)
		return n;
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
	struct pidlock_lockline lines[8] = { { 0 } };
	char name[48];
	bool others = false;
	int n, i;

	(void)dev; /* the lock line's device is the superblock's, not stat()'s (btrfs) */
	snprintf(name, sizeof name, "/proc/self/fdinfo/%d", fd);
	n = pidlock__fdinfo_locks(AT_FDCWD, name, lines, 8);
	if (n == -ENOENT && fcntl(fd, F_GETFD) < 0)
		return PL_ID_OTHER; /* the number is closed */
	for (i = 0; i < n; i++) {
		if (lines[i].ino != (unsigned long long)ino || lines[i].start != 0)
			continue; /* another file, or a place in the queue */
#ifdef PIDLOCK_HAVE_OFD
		if (!lines[i].write || !lines[i].ofd || lines[i].id != id) {
			others = true;
			continue;
		}
#else
		if (!lines[i].write || !lines[i].flock) {
			others = true;
			continue;
		}
		(void)id;
		/* flock has no range to re-take: pidlock_update() cannot move the lock's own PID,
		 * so the fallback reads the owner from the file it wrote. */
		lines[i].owner = pidlock__read_pid_fd(fd);
#endif
		if (owner)
			*owner = lines[i].owner;
		return PL_ID_OURS;
	}
	if (others)
		return PL_ID_OTHER;
	if (n >= 0)
		return pidlock__same_file(fd, dev, ino) ? PL_ID_UNLOCKED : PL_ID_OTHER;
	/* /proc unreadable here (not mounted, out of descriptors): the file alone is compared,
	 * and its holding the lock is taken on trust. */
#endif
	(void)id;
	if (!pidlock__same_file(fd, dev, ino))
		return PL_ID_OTHER;
	if (owner) {
		/* The owner as the file says it, which pidlock_update() rewrote: weaker than the
		 * lock's own word, the best there is without /proc. Where /proc exists but no
		 * descriptor is left to read it with, a label naming another process is not
		 * believed: I/O through a forked copy's descriptor writes labels too. -1: cannot
		 * tell. */
		int pid = pidlock__read_pid_fd(fd);
		*owner = pid > 0 ? pid : 0;
#ifdef PIDLOCK_HAVE_PROC
		if (n == -EMFILE || n == -ENFILE)
			*owner = pid > 0 && pid != getpid() ? -1 : 0;
#endif
	}
	return PL_ID_OURS;
}

bool pidlock__same_file(int fd, dev_t dev, ino_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* A process started with stdin, stdout or stderr closed gets new descriptors on 0, 1 or 2,
 * where a daemon's `exec </dev/null` or its redirection of stdio closes them behind our back
 * or its log lines go into the lock file. Every descriptor the library keeps is moved to 3 or
 * above. */
int pidlock__above_std(int fd)
{
	int moved, err;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	err = errno;
	close(fd);
	errno = err;
	return moved;
}

/* Who we are, asked of the kernel every time (glibc caches no PID since 2.25), so that a child
 * made by any kind of fork is told apart, with or without pthread_atfork(): getpid() and the PID
 * namespace of the caller (the inode of /proc/self/ns/pid, 0 where it cannot be read). A child
 * forked into a new PID namespace can have its parent's PID number (a container's 1), so a
 * process is told by its PID and its namespace together. */
ino_t pidlock__pidns(void)
{
#ifdef PIDLOCK_HAVE_PROC
	/* The link's text ("pid:[4026531836]") carries the namespace's inode number: reading it
	 * costs less than half of a stat(), which follows the link into nsfs (2.5 against 5.6 us
	 * here), and this is asked twice in every acquire and release. */
	char text[64], *end;
	unsigned long long ino;
	ssize_t n = readlink("/proc/self/ns/pid", text, sizeof text - 1);

	if (n > 6 && memcmp(text, "pid:[", 5) == 0) {
		text[n] = '\0';
		errno = 0;
		ino = strtoull(text + 5, &end, 10);
		if (errno == 0 && end[0] == ']' && end[1] == '\0' && ino != 0)
			return (ino_t)ino;
	}
#endif
	return 0;
}

bool pidlock__is_proc(pid_t pid, ino_t ns)
{
	ino_t now;

	if (getpid() != pid)
		return false;
	now = ns ? pidlock__pidns() : 0;
	return now == 0 || now == ns; /* /proc gone since: the PID alone says it */
}


/* Whether @uid is the caller's effective user, asked every time: a process that changes its
 * euid (seteuid() and back) must not go on trusting the other user's files. */
bool pidlock__is_euid(uid_t uid) { return geteuid() == uid; }

/* Descriptors the library keeps between calls (a waiter's, and the inotify instance kept for
 * the process's next wait) are registered in an epoll instance of ours whose registrations
 * carry, as their data, a 64-bit tag drawn once per process. The kernel lists every
 * registration in the epoll's fdinfo ("tfd:        5 events:       19 data: 6b8b4567327b23c6
 * ..."), under the number it was added with, for as long as that file is open: so an epoll
 * that lists our tag is ours, and a kept descriptor is ours while our epoll lists its number.
 * A number closed behind our back (closefrom(), close_range()) leaves the list when its file
 * is released; but a forked child (a prefork worker) may still have that file open, and then
 * the registration stays listed under the old number. So each kept descriptor is also compared
 * with the epoll's registration itself: kcmp(KCMP_EPOLL_TFD) tells whether the file at that
 * number now is the file registered, and whatever reuses the number is then neither read,
 * written nor closed. Where kcmp is refused (a seccomp profile, a kernel without
 * CONFIG_KCMP), the number must at least still name an anonymous-inode descriptor (an inotify
 * instance, a timer); what can disturb that: another such descriptor of the program put at
 * the number while a forked child keeps ours open. */
uint64_t pidlock__kept_tag(void)
{
	static uint64_t tag;
	uint64_t t = PL_LOAD(&tag);

	if (t == 0) {
		/* Not secret, only unlikely for other code to put in an epoll's data; the
		 * address of this variable and the clock serve where getrandom() is missing. */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ((uint64_t)(uintptr_t)&tag * 0x9e3779b97f4a7c15ULL) ^
		    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
		/* The kernel prints the data as %16llx, padded with spaces: a top bit set
		 * gives every tag all sixteen digits, so the text matched below is exact. */
		t |= 1ULL << 63;
		PL_STORE(&tag, t);
	}
	return t;
}

#ifdef PIDLOCK_HAVE_PROC
#ifndef KCMP_EPOLL_TFD
#define KCMP_EPOLL_TFD 7 /* <linux/kcmp.h>, not in every libc's headers */
#endif
struct epoll_slot {
	uint32_t efd, tfd, toff;
};

/* Whether the file at @fd is the one registered in @epfd under that number. */
static bool is_registered(int epfd, int fd)
{
	char link[64], name[32];
	ssize_t n;
#ifdef SYS_kcmp
	struct epoll_slot slot = { (uint32_t)epfd, (uint32_t)fd, 0 };
	long r = syscall(SYS_kcmp, (long)getpid(), (long)getpid(), KCMP_EPOLL_TFD, (long)fd,
			 (unsigned long)&slot);

	if (r >= 0)
		return r == 0;
#endif
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	n = readlink(name, link, sizeof link - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return strncmp(link, "anon_inode:", 11) == 0;
}
#endif

int pidlock__kept_listed(int epfd, const int *fds, int n)
{
#ifdef PIDLOCK_HAVE_PROC
	char name[48], buf[4096], want[40], *line;
	int i, found = 0, len;

	if (epfd < 0)
		return 0;
	snprintf(name, sizeof name, "/proc/self/fdinfo/%d", epfd);
	len = pidlock__read_proc(AT_FDCWD, name, buf, sizeof buf);
	if (len < 0)
		return len == -ENOENT ? 0 : len; /* closed, or no descriptor left to ask with */
	snprintf(want, sizeof want, " data: %llx ", (unsigned long long)pidlock__kept_tag());
	for (i = 0; i < n; i++) {
		for (line = strstr(buf, "tfd:"); line; line = strstr(line + 4, "tfd:")) {
			char *end = strchr(line, '\n');
			char *data = strstr(line, want);
			if (strtol(line + 4, NULL, 10) == fds[i] && data && (!end || data < end)) {
				found += is_registered(epfd, fds[i]);
				break;
			}
		}
	}
	return found == n;
#else
	(void)epfd, (void)fds, (void)n;
	return 1; /* nothing to ask: pidlock(3) says so */
#endif
}
