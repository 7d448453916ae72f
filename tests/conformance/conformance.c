/* The conformance cases (cases.txt) run against the C library, and the setup helper every
 * language's runner uses, so that the C, Python and Lua suites judge the same situations.
 *
 *   conformance CASES                       run every case; prints "N passed, N failed, ..."
 *   conformance --setup SETUP DIR RELPATH   make DIR and the SETUP situation at DIR/RELPATH,
 *                                           print "ready PID" (the helper to SIGTERM when the
 *                                           case is over, 0 when none stays) or "skip REASON"
 *   conformance --errnos                    print "NAME NUMBER" per errno (for Lua, which has
 *                                           no table of them)
 *   conformance --lock-method               print pidlock_lock_method() (what every language
 *                                           must report too)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"
#include "../errnames.h"

#define HELPER_LIFETIME_S 60 /* a helper whose runner died goes away by itself */

struct kase {
	char name[64], setup[32], path[256], flags[64], acquire[64], probe[64], check[64];
};

static const char *errno_name(int e)
{
	const char *n = test_errno_name(e);
	return n ? n : "E?";
}

/* ---------------------------------------------------------------- setup helper */

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t len = (ssize_t)strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int write_pid(const char *path, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%d\n", (int)pid);
	return write_file(path, buf);
}

static void ready(pid_t pid)
{
	printf("ready %d\n", (int)pid);
	fflush(stdout);
}

/* Stay alive (holding whatever the setup made) until the runner's SIGTERM. */
static void hold(void)
{
	while (!stop)
		pause();
}

static int fail_setup(const char *what)
{
	fprintf(stderr, "conformance --setup: %s: %s\n", what, strerror(errno));
	return 1;
}

static int setup_main(const char *setup, const char *dir, const char *rel)
{
	struct sigaction sa = { .sa_handler = on_stop };
	char path[PATH_MAX], other[PATH_MAX];
	pidlock *lock = NULL;
	pid_t child;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(HELPER_LIFETIME_S);
	if (mkdir(dir, 0700) < 0)
		return fail_setup(dir);
	snprintf(path, sizeof path, "%s/%s", dir, rel);

	if (!strcmp(setup, "none")) {
		ready(0);
	} else if (!strcmp(setup, "empty") || !strcmp(setup, "garbage")) {
		if (write_file(path, !strcmp(setup, "empty") ? "" : "not a pid\n") < 0)
			return fail_setup(path);
		ready(0);
	} else if (!strcmp(setup, "dead")) {
		child = fork();
		if (child == 0)
			_exit(0);
		if (child < 0 || waitpid(child, NULL, 0) < 0 || write_pid(path, child) < 0)
			return fail_setup(path);
		ready(0);
	} else if (!strcmp(setup, "symlink")) {
		snprintf(other, sizeof other, "%s/target", dir);
		if (write_file(other, "") < 0 || symlink(other, path) < 0)
			return fail_setup(path);
		ready(0);
	} else if (!strcmp(setup, "fifo")) {
		if (mkfifo(path, 0644) < 0)
			return fail_setup(path);
		ready(0);
	} else if (!strcmp(setup, "directory")) {
		if (mkdir(path, 0700) < 0)
			return fail_setup(path);
		ready(0);
	} else if (!strcmp(setup, "lock")) {
		int r = pidlock_acquire(path, 0, 0, &lock, NULL);
		if (r < 0) {
			errno = -r;
			return fail_setup(path);
		}
		ready(getpid());
		hold();
		pidlock_release(lock);
	} else if (!strcmp(setup, "raw")) {
		/* Locked, no PID written: taken by the library and emptied, so that the lock is the
		 * primitive of the build under test (OFD or flock). */
		int r = pidlock_acquire(path, 0, 0, &lock, NULL);
		if (r < 0 || ftruncate(pidlock_fd(lock), 0) < 0) {
			errno = r < 0 ? -r : errno;
			return fail_setup(path);
		}
		ready(getpid());
		hold();
		pidlock_release(lock);
	} else if (!strcmp(setup, "pidonly") || !strcmp(setup, "pidonly-old")) {
		if (write_pid(path, getpid()) < 0)
			return fail_setup(path);
		if (!strcmp(setup, "pidonly-old")) {
			/* Written "a day before this process started": a clock step, not a reuse. */
			struct timespec times[2];
			clock_gettime(CLOCK_REALTIME, &times[0]);
			times[0].tv_sec -= 86400;
			times[1] = times[0];
			if (utimensat(AT_FDCWD, path, times, 0) < 0)
				return fail_setup(path);
		}
		ready(getpid());
		hold();
	} else if (!strcmp(setup, "unsafe-dir")) {
		snprintf(other, sizeof other, "%s", path);
		*strrchr(other, '/') = '\0';
		if (mkdir(other, 0700) < 0 || chmod(other, 0777) < 0)
			return fail_setup(other);
		ready(0);
	} else if (!strcmp(setup, "ro-parent")) {
		bool mounted = false;
		snprintf(other, sizeof other, "%s", path);
		*strrchr(other, '/') = '\0';
		if (mkdir(other, 0755) < 0)
			return fail_setup(other);
		if (geteuid() == 0) {
			/* Permission bits do not stop root: a read-only bind mount does. */
			if (mount(other, other, NULL, MS_BIND, NULL) < 0) {
				printf("skip cannot make a read-only directory as root (mount: %s)\n",
				       strerror(errno));
				return 0;
			}
			mounted = true;
			if (mount(NULL, other, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
				printf("skip cannot remount read-only (%s)\n", strerror(errno));
				umount2(other, MNT_DETACH);
				return 0;
			}
		} else if (chmod(other, 0555) < 0) {
			return fail_setup(other);
		}
		ready(getpid());
		hold();
		if (mounted)
			umount2(other, MNT_DETACH);
		else
			chmod(other, 0755);
	} else {
		fprintf(stderr, "conformance --setup: unknown setup '%s'\n", setup);
		return 2;
	}
	return 0;
}

/* ---------------------------------------------------------------- the runner */

static int parse_case(char *line, struct kase *k)
{
	char extra;
	char *hash = strchr(line, '#');
	int n;

	if (hash)
		*hash = '\0';
	n = sscanf(line, "%63s %31s %255s %63s %63s %63s %63s %c", k->name, k->setup, k->path,
		   k->flags, k->acquire, k->probe, k->check, &extra);
	if (n <= 0)
		return 0;
	return n == 7 ? 1 : -1;
}

static int parse_flags(const char *text, unsigned *flags)
{
	char buf[64], *save = NULL, *tok;

	*flags = 0;
	if (!strcmp(text, "-"))
		return 0;
	snprintf(buf, sizeof buf, "%s", text);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "check_pid"))
			*flags |= PIDLOCK_CHECK_PID;
		else if (!strcmp(tok, "fsync"))
			*flags |= PIDLOCK_FSYNC;
		else if (!strcmp(tok, "keep_file"))
			*flags |= PIDLOCK_KEEP_FILE;
		else if (!strcmp(tok, "readable"))
			*flags |= PIDLOCK_READABLE;
		else
			return -1;
	}
	return 0;
}

/* Whether @got is one of the '|'-separated alternatives of @want. */
static bool matches(const char *want, const char *got)
{
	size_t len = strlen(got);

	for (;;) {
		const char *bar = strchr(want, '|');
		size_t n = bar ? (size_t)(bar - want) : strlen(want);
		if (n == len && !strncmp(want, got, n))
			return true;
		if (!bar)
			return false;
		want = bar + 1;
	}
}

static void describe_holder(char *buf, size_t size, const char *prefix, pid_t pid, pid_t helper)
{
	if (pid == -1)
		snprintf(buf, size, "%s:unwritten", prefix);
	else if (pid == helper && helper > 0)
		snprintf(buf, size, "%s:helper", prefix);
	else
		snprintf(buf, size, "%s:%d", prefix, (int)pid);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Start the setup helper and read its first line. Returns its PID, or -1. */
static pid_t start_helper(const char *self, const struct kase *k, const char *dir, char *line,
			  size_t size)
{
	int pipefd[2];
	pid_t pid;
	FILE *out;

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(self, self, "--setup", k->setup, dir, k->path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	if (!out || !fgets(line, (int)size, out))
		line[0] = '\0';
	if (out)
		fclose(out);
	return pid;
}

/* One case; returns 1 passed, 0 failed, -1 skipped. */
static int run_case(const char *self, const char *top, const struct kase *k)
{
	char dir[PATH_MAX], path[PATH_MAX + sizeof k->path + 1], line[256], got[64], why[512];
	pid_t helper_proc, helper = 0, pid = 0;
	unsigned flags;
	pidlock *lock = NULL;
	int r, ok = 1, probed_helper;

	if (parse_flags(k->flags, &flags) < 0) {
		printf("FAIL %s: bad flags '%s'\n", k->name, k->flags);
		return 0;
	}
	snprintf(dir, sizeof dir, "%s/%s", top, k->name);
	snprintf(path, sizeof path, "%s/%s", dir, k->path);
	helper_proc = start_helper(self, k, dir, line, sizeof line);
	if (helper_proc < 0 || sscanf(line, "ready %d", &helper) != 1) {
		if (!strncmp(line, "skip ", 5)) {
			printf("skip %s: %s", k->name, line + 5);
			ok = -1;
		} else {
			printf("FAIL %s: setup '%s' failed (%s)\n", k->name, k->setup, line);
			ok = 0;
		}
		goto out;
	}

	r = pidlock_holder(path, &pid);
	if (r < 0)
		snprintf(got, sizeof got, "%s", errno_name(-r));
	else if (r == 0)
		snprintf(got, sizeof got, "free");
	else
		describe_holder(got, sizeof got, "held", pid, helper);
	if (!matches(k->probe, got)) {
		printf("FAIL %s: holder() expected %s, got %s\n", k->name, k->probe, got);
		ok = 0;
	}

	r = pidlock_check_path(path, why, sizeof why);
	if (r == 0)
		snprintf(got, sizeof got, "safe");
	else if (r == -EPERM)
		snprintf(got, sizeof got, "unsafe");
	else
		snprintf(got, sizeof got, "%s", errno_name(-r));
	if (!matches(k->check, got) || (r == -EPERM && !why[0])) {
		printf("FAIL %s: check_path() expected %s, got %s\n", k->name, k->check, got);
		ok = 0;
	}
	probed_helper = !strncmp(k->probe, "held:", 5);

	r = pidlock_acquire(path, flags, 0, &lock, &pid);
	if (r == -EPERM && why[0] && (!pidlock_last_error() || !strstr(pidlock_last_error(), why))) {
		printf("FAIL %s: the acquire's reason is not check_path()'s sentence\n", k->name);
		ok = 0;
	}
	if (r == -EAGAIN && helper > 0 &&
	    (pidlock_holds(path, getpid()) != 0 || pidlock_holds(path, helper) != probed_helper)) {
		printf("FAIL %s: holds() does not agree with the holder\n", k->name);
		ok = 0;
	}
	if (r == -EAGAIN)
		describe_holder(got, sizeof got, "EAGAIN", pid, helper);
	else if (r < 0)
		snprintf(got, sizeof got, "%s", errno_name(-r));
	else
		snprintf(got, sizeof got, "ok");
	if (!matches(k->acquire, got)) {
		printf("FAIL %s: acquire expected %s, got %s\n", k->name, k->acquire, got);
		ok = 0;
	}
	if (r == 0) {
		struct stat st;
		pid_t held_by = 0;
		mode_t mask = umask(0);
		umask(mask);
		if (pidlock_pid(lock) != getpid() || pidlock_read_pid(path) != getpid() ||
		    pidlock_holder(path, &held_by) != 1 || held_by != getpid() ||
		    pidlock_holds(path, getpid()) != 1) {
			printf("FAIL %s: the lock does not name this process\n", k->name);
			ok = 0;
		}
		if (lstat(path, &st) < 0 ||
		    (st.st_mode & 07777) != ((flags & PIDLOCK_READABLE) ? (0644 & ~mask) : 0600)) {
			printf("FAIL %s: the file's mode is %o\n", k->name, (unsigned)(st.st_mode & 07777));
			ok = 0;
		}
		if (pidlock_release(lock) < 0) {
			printf("FAIL %s: release failed\n", k->name);
			ok = 0;
		}
		if ((flags & PIDLOCK_KEEP_FILE) ?
			    (lstat(path, &st) < 0 || st.st_size != 0) :
			    (lstat(path, &st) == 0 || errno != ENOENT)) {
			printf("FAIL %s: file left wrong after release\n", k->name);
			ok = 0;
		}
	}
	if (ok)
		printf("ok %s\n", k->name);
out:
	if (helper > 0)
		kill(helper, SIGTERM);
	if (helper_proc > 0)
		waitpid(helper_proc, NULL, 0);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return ok;
}

static int run_main(const char *self, const char *cases)
{
	char top[] = "/tmp/pidlock-conformance-XXXXXX", line[512];
	int passed = 0, failed = 0, skipped = 0, lineno = 0;
	struct kase k;
	FILE *f = fopen(cases, "r");

	if (!f) {
		fprintf(stderr, "conformance: %s: %s\n", cases, strerror(errno));
		return 2;
	}
	if (!mkdtemp(top)) {
		fprintf(stderr, "conformance: mkdtemp: %s\n", strerror(errno));
		fclose(f);
		return 2;
	}
	while (fgets(line, sizeof line, f)) {
		int r;
		lineno++;
		r = parse_case(line, &k);
		if (r < 0) {
			printf("FAIL %s:%d: malformed case line\n", cases, lineno);
			failed++;
			continue;
		}
		if (r == 0)
			continue;
		r = run_case(self, top, &k);
		if (r > 0)
			passed++;
		else if (r == 0)
			failed++;
		else
			skipped++;
	}
	fclose(f);
	rmdir(top);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed || passed == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;

	if (argc == 5 && !strcmp(argv[1], "--setup"))
		return setup_main(argv[2], argv[3], argv[4]);
	if (argc == 2 && !strcmp(argv[1], "--lock-method")) {
		printf("%s\n", pidlock_lock_method());
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--errnos")) {
		for (size_t i = 0; i < sizeof test_errnames / sizeof *test_errnames; i++)
			printf("%s %d\n", test_errnames[i].name, test_errnames[i].e);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: conformance CASES | --setup SETUP DIR RELPATH | --errnos | "
			"--lock-method\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0) {
		perror("conformance: /proc/self/exe");
		return 2;
	}
	self[n] = '\0';
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_main(self, argv[1]);
}
