/* Fork and daemonize: the two-phase flow (acquire, fork, child pidlock_update(), parent
 * releases and exits) leaves the child's PID in the file and the lock held; a child that
 * exits, or releases its inherited copy, leaves the parent's lock and file alone; an exec'd
 * program never holds the lock (O_CLOEXEC). Every "held" is asked from a third process.
 *
 * Usage: torture-fork            (the helper mode "exec-child PATH" is for the exec check) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"

static char lock_path[4096];

struct probe {
	int r;
	pid_t pid;
	int acquire;
};
static struct probe *probe;

static int probe_child(void *arg)
{
	pidlock *l = NULL;

	(void)arg;
	probe->r = pidlock_holder(lock_path, &probe->pid);
	probe->acquire = pidlock_acquire(lock_path, 0, 0, &l, NULL);
	pidlock_release(l);
	return 0;
}

/* From a process that is neither holder nor parent: held by @want (0: free)? A fail-at-once
 * acquire from there must agree. */
static void expect_holder(const char *what, pid_t want)
{
	tt_wait(tt_spawn(probe_child, NULL));
	if (want > 0 && (probe->r != 1 || probe->pid != want || probe->acquire != -EAGAIN))
		tt_fail("%s: wanted held by %d, probe says %d (pid %d), acquire %d", what, (int)want,
			probe->r, (int)probe->pid, probe->acquire);
	if (want == 0 && (probe->r != 0 || probe->acquire != 0))
		tt_fail("%s: wanted free, probe says %d (pid %d), acquire %d", what, probe->r,
			(int)probe->pid, probe->acquire);
}

static void expect_file(const char *what, pid_t want)
{
	int pid = pidlock_read_pid(lock_path);

	if (want == 0 ? access(lock_path, F_OK) == 0 : pid != want)
		tt_fail("%s: file should %s, it says %d", what, want ? "name the holder" : "be gone", pid);
}

static int read_int(int fd)
{
	int v = -1;

	return read(fd, &v, sizeof v) == sizeof v ? v : -1;
}

static void write_int(int fd, int v)
{
	if (write(fd, &v, sizeof v) != sizeof v)
		_exit(3);
}

/* Pipes of the daemonize flow: child -> parent "adopted", parent -> us "released for this
 * child", us -> child "checks done, stop". */
struct daemon_pipes {
	int adopted[2], released[2], stop[2];
};

/* The parent of the daemonize flow: acquire, fork, wait for the child to adopt, release. */
static int daemonize_parent(void *arg)
{
	struct daemon_pipes *p = arg;
	pidlock *l = NULL;
	pid_t child;

	if (pidlock_acquire(lock_path, 0, 0, &l, NULL) < 0)
		return 10;
	child = fork();
	if (child == 0) {
		int r = pidlock_update(l);

		write_int(p->adopted[1], r == 0 ? (int)getpid() : r);
		read_int(p->stop[0]);
		return pidlock_release(l) == 0 ? 0 : 11;
	}
	if (read_int(p->adopted[0]) != (int)child) /* as a daemon's parent must, wait for it */
		return 12;
	if (pidlock_release(l) < 0)
		return 13;
	write_int(p->released[1], child);
	return 0;
}

static void check_daemonize(void)
{
	bool reaper;
	struct daemon_pipes p;
	pid_t parent, child;
	int st;

	if (pipe2(p.adopted, O_CLOEXEC) < 0 || pipe2(p.released, O_CLOEXEC) < 0 ||
	    pipe2(p.stop, O_CLOEXEC) < 0) {
		tt_fail("pipe: %s", strerror(errno));
		return;
	}
	/* The daemon child outlives its parent: become its reaper to collect its status. */
	reaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
	parent = tt_spawn(daemonize_parent, &p);
	child = read_int(p.released[0]);
	if ((st = tt_wait(parent)) != 0 || child <= 0) {
		tt_fail("daemonize: the parent failed (%d)", st);
		return;
	}
	expect_file("daemonize: after the parent's release and exit", child);
	expect_holder("daemonize: after the parent's release and exit", child);
	write_int(p.stop[1], 0);
	if (!reaper) {
		/* qemu-user refuses PR_SET_CHILD_SUBREAPER: the grandchild is not ours to wait
		 * for, so its release is waited out through the file below. */
		printf("fork daemonize: no subreaper here (qemu-user): the child's exit status "
		       "is not collected\n");
		for (int i = 0; i < 500 && access(lock_path, F_OK) == 0; i++)
			usleep(10000);
	} else if ((st = tt_wait(child)) != 0) {
		tt_fail("daemonize: the child failed (%d)", st);
	}
	expect_file("daemonize: after the child's release", 0);
	expect_holder("daemonize: after the child's release", 0);
	for (int i = 0; i < 2; i++) {
		close(p.adopted[i]);
		close(p.released[i]);
		close(p.stop[i]);
	}
	printf("fork daemonize: child %d holds the lock and its PID is in the file after the parent "
	       "released and exited; the child's release frees it\n", (int)child);
}

static int child_exits(void *arg)
{
	(void)arg;
	exit(0); /* with stdio flush and atexit, as a real child would */
}

static int child_releases(void *arg)
{
	return pidlock_release(arg) == 0 ? 0 : 1;
}

static void check_child_leaves_parent_alone(void)
{
	pidlock *l = NULL;
	int st;

	if (pidlock_acquire(lock_path, 0, 0, &l, NULL) < 0) {
		tt_fail("child-exit: acquire failed");
		return;
	}
	if ((st = tt_wait(tt_spawn(child_exits, NULL))) != 0)
		tt_fail("child-exit: child status %d", st);
	expect_file("child-exit: after a child exited", getpid());
	expect_holder("child-exit: after a child exited", getpid());
	if ((st = tt_wait(tt_spawn(child_releases, l))) != 0)
		tt_fail("child-release: the child's release failed (%d)", st);
	expect_file("child-release: after a child released its copy", getpid());
	expect_holder("child-release: after a child released its copy", getpid());
	if (pidlock_release(l) < 0)
		tt_fail("child-release: the parent's release failed");
	expect_file("child-release: after the parent's release", 0);
	expect_holder("child-release: after the parent's release", 0);
	printf("fork child-exit, child-release: the parent's lock and file stay intact\n");
}

/* Run in the exec'd program: no descriptor of ours may name the lock file. */
static int exec_child(const char *path)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int leaked = 0;

	if (!d)
		return 2;
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof target - 1);
		if (n > 0) {
			target[n] = '\0';
			if (!strcmp(target, path))
				leaked++;
		}
	}
	closedir(d);
	/* Stay alive until told, so the parent can show the lock went with its release. */
	read_int(0);
	return leaked ? 1 : 0;
}

static void check_cloexec(void)
{
	pidlock *l = NULL;
	int to_child[2], st;
	pid_t child;

	if (pidlock_acquire(lock_path, 0, 0, &l, NULL) < 0 || pipe(to_child) < 0) {
		tt_fail("cloexec: setup failed");
		return;
	}
	child = fork();
	if (child == 0) {
		dup2(to_child[0], 0);
		execl("/proc/self/exe", "torture-fork", "exec-child", lock_path, (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	signal(SIGPIPE, SIG_IGN); /* a child whose exec failed is reported below, not by a signal */
	if (pidlock_release(l) < 0)
		tt_fail("cloexec: release failed");
	/* If the exec'd program had kept the descriptor, it would hold the lock now. */
	expect_holder("cloexec: released while an exec'd child lives", 0);
	if (write(to_child[1], "", 1) != 1 && !getenv("PIDLOCK_EMULATED"))
		tt_fail("cloexec: the exec'd program is gone early");
	close(to_child[1]);
	st = tt_wait(child);
	if (st == 127 && getenv("PIDLOCK_EMULATED")) {
		/* Under qemu-user the exec'd program is an i386 one, which this kernel refuses. */
		printf("fork cloexec: not run under an emulator (the exec'd i386 program cannot "
		       "start)\n");
		return;
	}
	if (st != 0)
		tt_fail("cloexec: the exec'd program %s", st == 1 ? "had the lock file open" : "failed");
	printf("fork cloexec: an exec'd program has no descriptor of the lock and does not hold it "
	       "(exec status %d)\n", st);
}

int main(int argc, char **argv)
{
	char *dir;
	int fds_before;

	if (argc == 3 && !strcmp(argv[1], "exec-child"))
		return exec_child(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe = tt_shared(sizeof *probe);
	dir = tt_tmpdir("fork");
	snprintf(lock_path, sizeof lock_path, "%s/daemon.lock", dir);
	fds_before = tt_count_fds();

	alarm(60); /* a lost pipe message must not hang the suite */
	check_daemonize();
	check_child_leaves_parent_alone();
	check_cloexec();

	if (tt_count_fds() != fds_before)
		tt_fail("fork: descriptors %d before, %d after", fds_before, tt_count_fds());
	if (tt_dir_entries(dir) != 0)
		tt_fail("fork: files left behind");
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
