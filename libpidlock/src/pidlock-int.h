/* Private to libpidlock: the handle and the helpers shared between its source files. */
#ifndef PIDLOCK_INT_H
#define PIDLOCK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pidlock.h"

#define PIDLOCK_HIDDEN __attribute__((visibility("hidden")))

/* Atomics through the GCC/clang builtins: the library itself is C99 (scripts/other-builds
 * compiles it with -std=c99 -Wpedantic), which has no _Atomic; CMake builds the project, tests
 * and tools included, as C11. */
#define PL_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define PL_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define PL_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define PL_XCHG(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define PL_CAS(p, expected, v) \
	__atomic_compare_exchange_n((p), (expected), (v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

/* One feature test per Linux-only part; PIDLOCK_FORCE_PORTABLE (cmake -DPIDLOCK_LOCK=flock)
 * turns them all off, so the portable fallbacks run on Linux too. */
#if defined(__linux__) && !defined(PIDLOCK_FORCE_PORTABLE)
#define PIDLOCK_HAVE_OFD 1      /* F_OFD_SETLK: locks of the open file, testable untaken */
#define PIDLOCK_HAVE_INOTIFY 1  /* wake on the holder's release instead of polling */
#define PIDLOCK_HAVE_WIPEONFORK 1 /* a page the kernel zeroes in every child */
#endif
/* /proc/PID/fdinfo lock lines (flock locks too): who holds the lock. No portable equivalent,
 * so the portable build keeps it on Linux; elsewhere no holder can be verified (-ENOSYS). */
#if defined(__linux__)
#define PIDLOCK_HAVE_PROC 1
#endif

/* The bytes of the queue of endless waits, past every tag (ident.c draws the range map,
 * queue.c the queue): one byte per ticket, a ticket being a moment in microseconds. */
#define PIDLOCK_QUEUE_BASE ((1LL << 62) + (1LL << 48))
#define PIDLOCK_QUEUE_SPAN (1LL << 48)

#define PIDLOCK_KNOWN_FLAGS \
	(PIDLOCK_CHECK_PID | PIDLOCK_FSYNC | PIDLOCK_KEEP_FILE | PIDLOCK_INTERRUPTIBLE | \
	 PIDLOCK_READABLE)

struct pidlock {
	int fd;
	unsigned flags;
	pid_t pid;          /* the owner: the process that acquired or adopted the lock */
	ino_t ns;           /* and its PID namespace (pidlock__pidns()) */
	unsigned id;        /* this handle's id in the lock's tag (ident.c) */
	dev_t dev;          /* identity of the locked file, to never touch another one */
	ino_t ino;
	const char *real;   /* the path every call after acquire uses: absolute, no symlinks */
	char path[];        /* as given; the real path follows its NUL */
};

/* ident.c: is this descriptor still ours, and who owns the lock (the lock's range is the
 * mark; the layout is drawn there). */
struct pidlock_lockline {  /* one "lock:" line of a /proc/PID/fdinfo/FD file */
	bool ofd, flock, write;
	pid_t pid;              /* the line's PID field: the locker for flock, -1 for OFD */
	unsigned long long ino;
	long long start;        /* first byte locked: 0 for a holder's, else a queue byte */
	long long end;          /* last byte locked, -1 for EOF */
	pid_t owner;            /* OFD: from our tag (0 when untagged); flock: the locker */
	unsigned id;            /* OFD: the handle id from our tag */
};
PIDLOCK_HIDDEN long long pidlock__tag(pid_t owner, unsigned id);
PIDLOCK_HIDDEN bool pidlock__tag_parse(long long tag, pid_t *owner, unsigned *id);
PIDLOCK_HIDDEN unsigned pidlock__new_id(void);
/* Reads a small /proc file (relative to @dirfd) into @buf, NUL-terminated: the length, or
 * -errno (-ENOENT: no such file, -EMFILE: no descriptor left to read it with). */
PIDLOCK_HIDDEN int pidlock__read_proc(int dirfd, const char *name, char *buf, size_t size);
PIDLOCK_HIDDEN int pidlock__fdinfo_locks(int dirfd, const char *name,
					 struct pidlock_lockline *lines, int max);
enum {
	PL_ID_OTHER,    /* closed, another file, or an open file holding another handle's lock */
	PL_ID_OURS,     /* the open file that holds this handle's lock (owner: who owns it now) */
	PL_ID_UNLOCKED, /* the same file, through an open file that holds no lock (any more) */
};
PIDLOCK_HIDDEN int pidlock__ident(int fd, dev_t dev, ino_t ino, unsigned id, pid_t *owner);
PIDLOCK_HIDDEN bool pidlock__same_file(int fd, dev_t dev, ino_t ino);
PIDLOCK_HIDDEN int pidlock__above_std(int fd);
PIDLOCK_HIDDEN uint64_t pidlock__kept_tag(void);
/* 1 listed, 0 not ours, -errno when it cannot be asked now (-EMFILE: no descriptor left). */
PIDLOCK_HIDDEN int pidlock__kept_listed(int epfd, const int *fds, int n);
PIDLOCK_HIDDEN ino_t pidlock__pidns(void);
/* Whether the caller is the process @pid of PID namespace @ns (0: not known). */
PIDLOCK_HIDDEN bool pidlock__is_proc(pid_t pid, ino_t ns);
PIDLOCK_HIDDEN bool pidlock__is_euid(uid_t uid);

/* reason.c: the sentence behind the last failure, per thread (pidlock_last_error()). */
PIDLOCK_HIDDEN void pidlock__explain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
PIDLOCK_HIDDEN void pidlock__explain_clear(void);


/* pidfile.c: the "PID\n" content. */
PIDLOCK_HIDDEN int pidlock__parse_pid(const char *buf, size_t len);
PIDLOCK_HIDDEN int pidlock__read_pid_fd(int fd);
PIDLOCK_HIDDEN int pidlock__write_pid(int fd, pid_t pid, bool truncate_first, bool sync);
PIDLOCK_HIDDEN int pidlock__open_errno(void);
PIDLOCK_HIDDEN int pidlock__open_existing(const char *path, int mode, struct stat *st);

/* holder.c: which process the kernel shows holding the lock (the rule is written there). */
PIDLOCK_HIDDEN int pidlock__pid_holds(pid_t pid, const struct stat *st);
PIDLOCK_HIDDEN pid_t pidlock__verified_holder(int fd, const struct stat *st);
PIDLOCK_HIDDEN pid_t pidlock__pid_only_holder(int fd, const struct stat *st);

/* paths.c: checks every path goes through, and the walk that proves its directories safe. */
PIDLOCK_HIDDEN int pidlock__check_path(const char *path);
PIDLOCK_HIDDEN int pidlock__file_problem(const char *path, const struct stat *st, bool existing,
					 char *why, size_t size);
struct pidlock_made {       /* directories one acquire made, removed again if it fails */
	int n;
	char **dirs;
};
PIDLOCK_HIDDEN int pidlock__resolve(const char *path, char *real, bool create,
				    struct pidlock_made *made, char *why, size_t size);
PIDLOCK_HIDDEN void pidlock__unmake(struct pidlock_made *made, bool remove);
/* Whether every directory above @real (a path pidlock__resolve() gave) is still safe, walked
 * again: 0, or the refusal (-EPERM with its sentence, -ENOENT...). For a wait before each try. */
PIDLOCK_HIDDEN int pidlock__recheck(const char *real);

/* lock.c: the kind of lock in the way of a write lock (F_WRLCK, F_RDLCK, F_UNLCK) or -errno,
 * taking nothing; and one non-blocking try, shared by pidlock_acquire() and the waiter. */
PIDLOCK_HIDDEN int pidlock__conflict(int fd, bool refused);
struct pidlock_try {
	pidlock *l;         /* the handle being made (path and flags set) */
	int fd;             /* the file opened by the last try, kept within one call only */
	pid_t pid;          /* the process that made this try: its tag's owner */
	ino_t ns;           /* and its PID namespace */
	unsigned id;        /* the handle id its lock will carry */
	bool woke;          /* a wait slept since the last try: the next proves the path again
	                     * and looks at the file read-only before it reaches for it */
	bool ro;            /* fd was opened read-only, to look (pidlock__try()) */
	bool queued;        /* fd holds our place in line (queue.c) */
	long long ticket;   /* our place in line, kept when the file changes; -1: none yet */
	struct stat st;     /* its state at that try */
	struct pidlock_made made;
};
PIDLOCK_HIDDEN int pidlock__try_new(const char *path, unsigned flags, struct pidlock_try *t);
PIDLOCK_HIDDEN int pidlock__try(struct pidlock_try *t);
PIDLOCK_HIDDEN bool pidlock__try_reopen_if_moved(struct pidlock_try *t);
PIDLOCK_HIDDEN bool pidlock__try_copied(const struct pidlock_try *t);
PIDLOCK_HIDDEN void pidlock__try_park(struct pidlock_try *t);
PIDLOCK_HIDDEN pid_t pidlock__try_holder(struct pidlock_try *t);
PIDLOCK_HIDDEN void pidlock__try_done(struct pidlock_try *t, int r);
PIDLOCK_HIDDEN int pidlock__try_writable(struct pidlock_try *t);

/* queue.c: the line endless waits stand in. */
PIDLOCK_HIDDEN int pidlock__queue_join(struct pidlock_try *t);
PIDLOCK_HIDDEN long long pidlock__queue_ahead(int fd, long long ticket);
PIDLOCK_HIDDEN int pidlock__queue_wait(int fd, long long ticket, const sigset_t *sleep_mask);
PIDLOCK_HIDDEN void pidlock__queue_leave(int fd, long long ticket);
PIDLOCK_HIDDEN bool pidlock__queue_behind(int fd);

/* wait.c: sleeping until the lock may have changed hands. */
PIDLOCK_HIDDEN int pidlock__wait_for(struct pidlock_try *t, int timeout_ms,
				     const sigset_t *sleep_mask);
PIDLOCK_HIDDEN void pidlock__block_signals(sigset_t *old);
PIDLOCK_HIDDEN void pidlock__restore_signals(const sigset_t *old);

#endif
