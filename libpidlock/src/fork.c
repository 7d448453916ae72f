/* Who we are. A handle copied into a child must not unlink or unlock the parent's lock, and a
 * parent whose child adopted the lock must leave it alone; getpid() on every call would cost a
 * syscall per cycle. pthread_atfork() sees only fork(): _Fork(), a raw fork or clone system
 * call (some runtimes and sandboxes make children so) bypass it. A page marked
 * MADV_WIPEONFORK reads as zeros in every child however it was made, so the PID cached there
 * is right in every process, and finding it zeroed is how a child notices it is one. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pidlock-int.h"

static unsigned generation;     /* bumped once in every child, when the library notices it */
static unsigned forks;          /* fork() calls of this process (pthread_atfork) */
static pid_t known_pid;         /* the PID last seen; copied into a child, unlike the page */
static pid_t *page;             /* the wiped page's PID, or NULL where it cannot be had */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void before_fork(void) { PL_ADD(&forks, 1); }

static void in_child(void)
{
	/* Without the page this is all a child learns. With it pidlock__self() notices, and
	 * zeroing it here too covers a kernel (or qemu-user) that accepts the advice but does
	 * not wipe: there fork() still works, a raw clone does not. */
	if (page)
		PL_STORE(page, 0);
	else {
		PL_ADD(&generation, 1);
		PL_STORE(&known_pid, 0);
	}
}

static void init(void)
{
#ifdef PIDLOCK_HAVE_WIPEONFORK
	long size = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p != MAP_FAILED) {
		if (madvise(p, (size_t)size, MADV_WIPEONFORK) == 0)
			page = p;
		else
			munmap(p, (size_t)size);
	}
#endif
	pthread_atfork(before_fork, NULL, in_child);
}

pid_t pidlock__self(void)
{
	pid_t pid, was;

	pthread_once(&once, init);
	if (!page) {
		pid = PL_LOAD(&known_pid);
		if (pid == 0) {
			pid = getpid();
			PL_STORE(&known_pid, pid);
		}
		return pid;
	}
	pid = PL_LOAD(page);
	if (pid != 0)
		return pid;
	/* First call in this process, or in a child: the page was wiped, the PID seen before
	 * (copied with the rest of memory) is the parent's. */
	pid = getpid();
	was = PL_XCHG(&known_pid, pid);
	if (was != 0 && was != pid)
		PL_ADD(&generation, 1);
	PL_STORE(page, pid);
	return pid;
}

unsigned pidlock__generation(void)
{
	pidlock__self(); /* a child is counted when first noticed */
	return PL_LOAD(&generation);
}

unsigned pidlock__forks(void) { return PL_LOAD(&forks); }

/* Whether @uid is the caller's effective user, asked of the kernel every time: a process that
 * changes its euid (seteuid() and back) must not go on trusting the other user's files. */
bool pidlock__is_euid(uid_t uid) { return geteuid() == uid; }
