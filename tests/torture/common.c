#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pidlock.h>

#include "torture.h"

static int failures;

long tt_scaled(long rounds)
{
	const char *s = getenv("PIDLOCK_TORTURE_SCALE");
	long pct = s && *s ? strtol(s, NULL, 10) : 100;

	if (pct <= 0)
		pct = 100;
	rounds = rounds * pct / 100;
	return rounds > 0 ? rounds : 1;
}

void *tt_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

double tt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *tt_tmpdir(const char *tag)
{
	char *dir;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	if (asprintf(&dir, "%s/pidlock-torture-%s-XXXXXX", base, tag) < 0 || !mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	/* Reachable by an unprivileged child too, when a test drops to nobody. */
	chmod(dir, 0755);
	return dir;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void tt_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int tt_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct rlimit lim;
	int n = 0;

	if (!d) {
		/* No descriptor left to read /proc with (an RLIMIT_NOFILE test): ask each slot. */
		if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
			return -1;
		for (rlim_t fd = 0; fd < lim.rlim_cur && fd < 65536; fd++)
			n += fcntl((int)fd, F_GETFD) >= 0;
		return n;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

int tt_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

pid_t tt_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		failures = 0; /* the child's exit status tells its own failures only */
		_exit(fn(arg));
	}
	return pid;
}

int tt_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static int exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

pid_t tt_dead_pid(void)
{
	pid_t pid = tt_spawn(exit_at_once, NULL);

	tt_wait(pid);
	return pid;
}

int tt_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

void tt_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	va_end(ap);
	failures++;
}

int tt_failures(void) { return failures ? 1 : 0; }

bool tt_flock_build(void)
{
	return strcmp(pidlock_lock_method(), "flock") == 0;
}
