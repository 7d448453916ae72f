#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* Skips counted in a shared page made before Check forks its children. */
static int *skips;

void skips_start(void)
{
	void *p = mmap(NULL, sizeof *skips, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED) {
		perror("skips_start: mmap");
		exit(EXIT_FAILURE);
	}
	skips = p;
}

int skips_counted(void)
{
	return skips ? __atomic_load_n(skips, __ATOMIC_SEQ_CST) : 0;
}

void skip_test(const char *fmt, ...)
{
	va_list ap;

	printf("skipped ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (skips)
		__atomic_add_fetch(skips, 1, __ATOMIC_SEQ_CST);
}

char tdir[PATH_MAX];
static char tbuf[4][PATH_MAX];
static int tbuf_next;

void tdir_setup(void)
{
	snprintf(tdir, sizeof tdir, "/dev/shm/pidlock-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tdir));
	chmod(tdir, 0755); /* helpers running as nobody must reach it */
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st; (void)type; (void)ftw;
	chmod(p, 0700);
	remove(p);
	return 0;
}

void tdir_teardown(void)
{
	nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tpath(const char *name)
{
	char *b = tbuf[tbuf_next++ % 4];

	/* A name too long for the buffer is cut: tests of over-long paths build their own. */
	if (snprintf(b, PATH_MAX, "%s/%s", tdir, name) >= PATH_MAX)
		b[PATH_MAX - 1] = '\0';
	return b;
}

void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

ssize_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

pid_t paused_child(int (*prepare)(void *), void *arg)
{
	int p[2];
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		c = prepare(arg) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	ck_assert_int_eq(c, 'y');
	return pid;
}

struct holding {
	const char *path;
	unsigned flags;
	bool no_write;
};

static int hold(void *arg)
{
	const struct holding *h = arg;
	pidlock *l;

	if (pidlock_acquire(h->path, h->flags, 0, &l, NULL) != 0)
		return -1;
	/* A starter caught between lock and write: the kernel lock, no PID. Taken by the
	 * library, so it is the primitive of the build under test (OFD or flock). */
	if (h->no_write && ftruncate(pidlock_fd(l), 0) != 0)
		return -1;
	return 0;
}

pid_t start_holder(const char *path, unsigned flags, bool no_write)
{
	struct holding h = { path, flags, no_write };

	return paused_child(hold, &h);
}

void stop_holder(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

bool flock_build(void)
{
	return strcmp(pidlock_lock_method(), "flock") == 0;
}

pid_t dead_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

pid_t sleeper(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

void write_pid_file(const char *path, pid_t pid)
{
	char content[32];

	snprintf(content, sizeof content, "%d\n", (int)pid);
	write_file(path, content);
}

int as_nobody(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TCase *add_tcase(Suite *s, const char *name, int timeout, const TTest *const *tests, size_t n)
{
	TCase *tc = tcase_create(name);
	size_t i;

	tcase_add_checked_fixture(tc, tdir_setup, tdir_teardown);
	for (i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int fd_linking_to(const char *target)
{
	char link[PATH_MAX], got[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int found = -1;
	ssize_t n;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		n = readlink(link, got, sizeof got - 1);
		if (n > 0) {
			got[n] = '\0';
			if (!strcmp(got, target))
				found = atoi(e->d_name);
		}
	}
	closedir(d);
	return found;
}
