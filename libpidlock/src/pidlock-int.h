/* Private to libpidlock: the handle and the helpers shared between its source files. */
#ifndef PIDLOCK_INT_H
#define PIDLOCK_INT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pidlock.h"

#define PIDLOCK_HIDDEN __attribute__((visibility("hidden")))

struct pidlock {
	int fd;
	unsigned flags;
	pid_t pid;          /* the PID this handle last wrote */
	dev_t dev;          /* identity of the locked file, to never unlink another one */
	ino_t ino;
	unsigned gen;       /* fork generation that created (or adopted) the handle */
	unsigned forks;     /* forks made by this process before that */
	char path[];
};

/* fork.c: who we are, without a syscall per call, kept right across fork(). */
PIDLOCK_HIDDEN void pidlock__fork_tracking_init(void);
PIDLOCK_HIDDEN pid_t pidlock__self(void);
PIDLOCK_HIDDEN unsigned pidlock__generation(void);
PIDLOCK_HIDDEN unsigned pidlock__forks(void);

/* pidfile.c: the "PID\n" content and what it says about a process. */
PIDLOCK_HIDDEN int pidlock__parse_pid(const char *buf, size_t len);
PIDLOCK_HIDDEN int pidlock__read_pid_fd(int fd);
PIDLOCK_HIDDEN int pidlock__write_pid(int fd, pid_t pid, bool truncate_first, bool sync);
PIDLOCK_HIDDEN pid_t pidlock__writer(int fd, const struct timespec *mtime);
PIDLOCK_HIDDEN int pidlock__open_errno(void);
PIDLOCK_HIDDEN int pidlock__open_existing(const char *path, int mode, struct stat *st);

/* paths.c */
PIDLOCK_HIDDEN int pidlock__check_path(const char *path);
PIDLOCK_HIDDEN int pidlock__make_parents(const char *path);

/* wait.c: sleeping until the lock may have changed hands. */
struct pidlock_waiter {
	int ifd;            /* inotify descriptor, -1 when none could be had */
	int wd;
	int watched_fd;
	long delay_ns;
	unsigned flags;
	struct timespec deadline;
	bool forever;
};
PIDLOCK_HIDDEN void pidlock__waiter_init(struct pidlock_waiter *w, int timeout_ms, unsigned flags);
PIDLOCK_HIDDEN int pidlock__wait(struct pidlock_waiter *w, int fd);
PIDLOCK_HIDDEN void pidlock__waiter_done(struct pidlock_waiter *w);

#endif
