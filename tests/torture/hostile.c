/* Hostile input: every path and file content a lock may meet, each with the exact result the
 * header documents for pidlock_read_pid(), pidlock_holder() and pidlock_acquire(), and a
 * check that nothing leaked: the same descriptors after as before, no file left behind that
 * was not there, and a file that was there unchanged when the acquire refused it. Memory
 * leaks are left to the sanitizer and valgrind runs of scripts/ci-checks.
 *
 * Rows that need root (other users, mounts) run in children and are skipped, with the reason
 * printed, where that is not possible. Usage: torture-hostile */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pidlock.h"
#include "torture.h"
#include "../errnames.h"

#define ANY INT_MIN  /* a result not checked in this row */
#define SKIPPED 77   /* exit status of a child whose rows could not run */

static char *dir;
/* Counted in shared memory: rows that need another user or a mount run in children. */
static struct counts {
	int rows, wrong, skipped;
} *count;
static uid_t nobody_uid = 65534;
static gid_t nobody_gid = 65534;

static const char *result_name(int r, char *buf, size_t size)
{
	const char *name;

	if (r == ANY)
		return "-";
	if (r >= 0) {
		snprintf(buf, size, "%d", r);
		return buf;
	}
	name = test_errno_name(-r);
	if (name)
		snprintf(buf, size, "-%s", name);
	else
		snprintf(buf, size, "-%d", -r);
	return buf;
}

/* Up to 64 bytes of a regular file, to tell whether a refused acquire changed it. */
static ssize_t snapshot(const char *path, char *buf)
{
	struct stat st;
	ssize_t n;
	int fd;

	if (!path || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, 64);
	close(fd);
	return n;
}

static void note_skip(const char *what, const char *why)
{
	printf("hostile %-56s skipped: %s\n", what, why);
	count->skipped++;
}

/* One input: read_pid, holder, then acquire (released at once when it succeeds). */
static void row_full(const char *what, const char *path, unsigned flags, int timeout_ms,
		     int want_read, int want_holder, int want_acquire)
{
	char before[64], after[64], b1[32], b2[32], b3[32];
	ssize_t nbefore = snapshot(path, before), nafter;
	struct stat st;
	bool existed = path && *path && lstat(path, &st) == 0;
	int fds = tt_count_fds();
	pidlock *l = NULL;
	int r_read, r_holder, r_acquire;
	bool ok;

	r_read = pidlock_read_pid(path);
	r_holder = pidlock_holder(path, NULL);
	r_acquire = pidlock_acquire(path, flags, timeout_ms, &l, NULL);
	if (r_acquire == 0 && pidlock_release(l) < 0)
		r_acquire = INT_MAX; /* shows as a mismatch */
	count->rows++;
	ok = (want_read == ANY || r_read == want_read) &&
	     (want_holder == ANY || r_holder == want_holder) &&
	     (want_acquire == ANY || r_acquire == want_acquire);
	printf("hostile %-56s read_pid %-13s holder %-13s acquire %-13s", what,
	       result_name(r_read, b1, sizeof b1), result_name(r_holder, b2, sizeof b2),
	       result_name(r_acquire, b3, sizeof b3));
	if (!ok)
		printf(" WRONG: want %s %s %s", result_name(want_read, b1, sizeof b1),
		       result_name(want_holder, b2, sizeof b2), result_name(want_acquire, b3, sizeof b3));
	printf("\n");
	if (!ok)
		tt_fail("hostile %s: unexpected result", what);
	if (tt_count_fds() != fds)
		tt_fail("hostile %s: %d descriptors before, %d after", what, fds, tt_count_fds());
	if (!existed && path && *path && lstat(path, &st) == 0)
		tt_fail("hostile %s: a file was left behind", what);
	nafter = snapshot(path, after);
	if (existed && r_acquire != 0 &&
	    (nafter != nbefore || (nbefore > 0 && memcmp(before, after, (size_t)nbefore))))
		tt_fail("hostile %s: a refused acquire changed the file", what);
	if (!ok)
		count->wrong++;
}

static void row(const char *what, const char *path, int want_read, int want_holder,
		int want_acquire)
{
	row_full(what, path, 0, 0, want_read, want_holder, want_acquire);
}

static char *in_dir(const char *name)
{
	/* Enough slots for every name one test function keeps at once. */
	static char buf[32][PATH_MAX + 256];
	static int next;
	char *p = buf[next++ % 32];

	snprintf(p, PATH_MAX + 256, "%s/%s", dir, name);
	return p;
}

static void make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		tt_fail("mkdir %s: %s", path, strerror(errno));
	chmod(path, mode); /* past the umask */
}

static void write_str(const char *path, const char *s)
{
	if (tt_write_file(path, s, strlen(s)) < 0)
		tt_fail("cannot write %s", path);
}

static void arguments(void)
{
	char *p = in_dir("args.lock"), buf[32];
	int r;

	row("NULL path", NULL, -EINVAL, -EINVAL, -EINVAL);
	row("empty path", "", -EINVAL, -EINVAL, -EINVAL);
	row_full("unknown flag 1<<20", p, 1u << 20, 0, 0, 0, -EINVAL);
	row_full("timeout -2", p, 0, -2, 0, 0, -EINVAL);
	r = pidlock_acquire(p, 0, 0, NULL, NULL);
	count->rows++;
	printf("hostile %-56s acquire %s\n", "NULL ret_lock", result_name(r, buf, sizeof buf));
	if (r != -EINVAL || access(p, F_OK) == 0)
		tt_fail("hostile NULL ret_lock: %d", r);
}

static void lengths(void)
{
	char *p = malloc(PATH_MAX + 200);
	size_t n = (size_t)snprintf(p, PATH_MAX + 200, "%s/", dir);

	/* PATH_MAX bytes without the NUL: one too many for the kernel. */
	memset(p + n, 'a', PATH_MAX - n);
	p[PATH_MAX] = '\0';
	row("path of PATH_MAX bytes", p, -ENAMETOOLONG, -ENAMETOOLONG, -ENAMETOOLONG);
	memset(p + n, 'a', PATH_MAX + 100 - n);
	p[PATH_MAX + 100] = '\0';
	row("path of PATH_MAX+100 bytes", p, -ENAMETOOLONG, -ENAMETOOLONG, -ENAMETOOLONG);
	memset(p + n, 'b', NAME_MAX + 1);
	p[n + NAME_MAX + 1] = '\0';
	row("component of NAME_MAX+1 bytes", p, -ENAMETOOLONG, -ENAMETOOLONG, -ENAMETOOLONG);
	p[n + NAME_MAX] = '\0';
	row("component of NAME_MAX bytes (control)", p, 0, 0, 0);
	free(p);
}

static void file_types(void)
{
	char *target = in_dir("target.lock"), *link = in_dir("link.lock");
	char *sticky = in_dir("sticky"), *fifo = in_dir("fifo.lock"), *sock = in_dir("sock.lock");
	char *plain = in_dir("plain"), *sticky_link = in_dir("sticky/daemon.lock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	write_str(target, "4242\n");
	if (symlink(target, link) < 0)
		tt_fail("symlink: %s", strerror(errno));
	row("symlink to a lock file", link, -ELOOP, -ELOOP, -ELOOP);
	unlink(link);
	if (symlink(in_dir("missing.lock"), link) < 0)
		tt_fail("symlink: %s", strerror(errno));
	row("symlink to a missing target", link, -ELOOP, -ELOOP, -ELOOP);
	if (access(in_dir("missing.lock"), F_OK) == 0)
		tt_fail("hostile: the symlink's missing target was created");
	unlink(link);

	make_dir(sticky, 01777);
	if (symlink(target, sticky_link) < 0)
		tt_fail("symlink: %s", strerror(errno));
	if (geteuid() == 0 && lchown(sticky_link, nobody_uid, nobody_gid) < 0)
		tt_fail("lchown: %s", strerror(errno));
	row("symlink by another user in a sticky 1777 dir", sticky_link, -ELOOP, -ELOOP, -ELOOP);
	if (pidlock_read_pid(target) != 4242)
		tt_fail("hostile: a symlink's target was changed");
	unlink(sticky_link);

	if (mkfifo(fifo, 0644) < 0)
		tt_fail("mkfifo: %s", strerror(errno));
	alarm(5); /* a FIFO must not block: SIGALRM ends the program with a message */
	row("FIFO (no writer: must not block)", fifo, -EINVAL, -EINVAL, -EINVAL);
	alarm(0);
	unlink(fifo);

	make_dir(plain, 0755);
	row("directory", plain, -EISDIR, -EISDIR, -EISDIR);
	row("directory with a trailing slash", in_dir("plain/"), -EISDIR, -EISDIR, -EISDIR);
	row("device /dev/null", "/dev/null", -EINVAL, -EINVAL, -EINVAL);

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	if (s < 0 || strlen(sock) >= sizeof sa.sun_path || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		note_skip("unix socket", "cannot bind one here");
	} else {
		row("unix socket", sock, -EINVAL, -EINVAL, -EINVAL);
		unlink(sock);
	}
	if (s >= 0)
		close(s);

	write_str(in_dir("afile"), "");
	row("a regular file used as a directory", in_dir("afile/daemon.lock"), -ENOTDIR, -ENOTDIR,
	    -ENOTDIR);
	row("missing file", in_dir("nothing.lock"), 0, 0, 0);
	row("missing parents (made 0700)", in_dir("new/deeper/daemon.lock"), 0, 0, 0);
}

static void contents(void)
{
	static const struct {
		const char *what;
		const char *data;
		size_t len;
		int pid;
	} cases[] = {
		{ "content: empty", "", 0, 0 },
		{ "content: \"0\"", "0", 1, 0 },
		{ "content: \"-1\"", "-1", 2, 0 },
		{ "content: \"+5\"", "+5", 2, 0 },
		{ "content: \" 42 \"", " 42 ", 4, 0 },
		{ "content: \"42abc\"", "42abc", 5, 0 },
		{ "content: \"42\\n\\n\"", "42\n\n", 4, 0 },
		{ "content: \"99999999999\"", "99999999999", 11, 0 },
		{ "content: \"2147483648\" (2^31)", "2147483648", 10, 0 },
		{ "content: \"4294967338\" (2^32 + 42)", "4294967338", 10, 0 },
		{ "content: binary \"\\0\\3774\\n\"", "\0\3774\n", 4, 0 },
		{ "content: \"42\\0\"", "42\0", 3, 0 },
		{ "content: \"42\\n\" (control)", "42\n", 3, 42 },
		{ "content: \"2147483647\" (control: INT_MAX)", "2147483647", 10, INT_MAX },
	};
	char *p = in_dir("content.lock");
	size_t big = 1 << 20;
	char *digits = malloc(big);

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (tt_write_file(p, cases[i].data, cases[i].len) < 0)
			tt_fail("cannot write %s", p);
		/* Unlocked, whatever it says: acquire reclaims it, with and without CHECK_PID. */
		row(cases[i].what, p, cases[i].pid, 0, 0);
		if (tt_write_file(p, cases[i].data, cases[i].len) < 0)
			tt_fail("cannot write %s", p);
		pidlock *l = NULL;
		int r = pidlock_acquire(p, PIDLOCK_CHECK_PID, 0, &l, NULL);
		if (r != 0 && cases[i].pid == 0)
			tt_fail("hostile %s: CHECK_PID acquire %d", cases[i].what, r);
		pidlock_release(l);
		unlink(p);
	}
	memset(digits, '7', big);
	if (tt_write_file(p, digits, big) < 0)
		tt_fail("cannot write %s", p);
	row("content: 1 MiB of digits", p, 0, 0, 0);
	free(digits);
}

static void nobody_rows(void);

static int as_nobody(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) < 0 || setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0) {
		printf("hostile (as nobody) skipped: cannot switch user: %s\n", strerror(errno));
		return SKIPPED;
	}
	nobody_rows();
	return tt_failures();
}

static void nobody_rows(void)
{
	row("(as nobody) root's 0644 file", in_dir("root644.lock"), 4242, 0, -EACCES);
	row("(as nobody) root's 0666 file in a 1777 dir", in_dir("sticky/root666.lock"), 4242, 0,
	    -EPERM);
	row("(as nobody) new file in root's 0755 dir", in_dir("root755/daemon.lock"), 0, 0,
	    -EACCES);
	row("(as nobody) missing parent in root's 0755 dir", in_dir("root755/sub/daemon.lock"), 0,
	    0, -EACCES);
	row("(as nobody) file in root's 0000 dir", in_dir("root000/daemon.lock"), -EACCES,
	    -EACCES, -EACCES);
	row("(as nobody) file in root's 0700 dir", in_dir("root700/daemon.lock"), -EACCES,
	    -EACCES, -EACCES);
}

static void run_child(const char *what, int (*fn)(void *), void *arg)
{
	int st = tt_wait(tt_spawn(fn, arg));

	if (st == SKIPPED)
		count->skipped++;
	else if (st != 0)
		tt_fail("hostile %s: the child reported failures (%d)", what, st);
}

static void other_users(void)
{
	struct passwd *pw = getpwnam("nobody");
	char *theirs = in_dir("theirs.lock");

	if (geteuid() != 0) {
		note_skip("other users' files", "not root");
		return;
	}
	if (pw) {
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
	}
	write_str(theirs, "4242\n");
	if (chown(theirs, nobody_uid, nobody_gid) < 0)
		tt_fail("chown: %s", strerror(errno));
	/* 1.1: a probe never reports what another user put at the path as the holder. */
	row("(as root) a file owned by nobody", theirs, 4242, -EPERM, -EPERM);

	/* 1.1: what another user controls on the way to the file. */
	make_dir(in_dir("nobodys"), 0755);
	if (chown(in_dir("nobodys"), nobody_uid, nobody_gid) < 0)
		tt_fail("chown: %s", strerror(errno));
	row("(as root) file in nobody's directory", in_dir("nobodys/daemon.lock"), 0, -EPERM,
	    -EPERM);
	row("(as root) missing parent in nobody's directory", in_dir("nobodys/sub/daemon.lock"),
	    0, -EPERM, -EPERM);
	make_dir(in_dir("open777"), 0777);
	chmod(in_dir("open777"), 0777);
	row("(as root) file in a 0777 directory, not sticky", in_dir("open777/daemon.lock"), 0,
	    -EPERM, -EPERM);
	make_dir(in_dir("realdir"), 0755);
	if (symlink(in_dir("realdir"), in_dir("nobodylink")) < 0 ||
	    lchown(in_dir("nobodylink"), nobody_uid, nobody_gid) < 0)
		tt_fail("nobody's symlink: %s", strerror(errno));
	row("(as root) symlinked parent made by nobody", in_dir("nobodylink/daemon.lock"), 0,
	    -EPERM, -EPERM);
	write_str(in_dir("victim"), "4242\n");
	if (link(in_dir("victim"), in_dir("hardlink.lock")) < 0)
		tt_fail("link: %s", strerror(errno));
	row("(as root) a second hard link to a file", in_dir("hardlink.lock"), 4242, 0, -EPERM);

	write_str(in_dir("root644.lock"), "4242\n");
	write_str(in_dir("sticky/root666.lock"), "4242\n");
	chmod(in_dir("sticky/root666.lock"), 0666);
	make_dir(in_dir("root755"), 0755);
	make_dir(in_dir("root000"), 0000);
	make_dir(in_dir("root700"), 0700);
	write_str(in_dir("root700/daemon.lock"), "4242\n");
	run_child("as nobody", as_nobody, NULL);
}

/* In a mount namespace of its own, so that nothing stays mounted if we die. */
static int own_tmpfs(const char *mnt, const char *opts)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("hostile (mounts) skipped: no mount namespace: %s\n", strerror(errno));
		return -1;
	}
	make_dir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) < 0) {
		printf("hostile (mounts) skipped: mount tmpfs %s: %s\n", opts, strerror(errno));
		return -1;
	}
	return 0;
}

static int readonly_fs(void *arg)
{
	char *mnt = in_dir("ro");

	(void)arg;
	if (own_tmpfs(mnt, "size=64k") < 0)
		return SKIPPED;
	write_str(in_dir("ro/old.lock"), "4242\n");
	if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		printf("hostile (read-only) skipped: remount ro: %s\n", strerror(errno));
		return SKIPPED;
	}
	row("read-only fs: new file", in_dir("ro/daemon.lock"), 0, 0, -EROFS);
	row("read-only fs: existing file", in_dir("ro/old.lock"), 4242, 0, -EROFS);
	row("read-only fs: missing parent", in_dir("ro/sub/daemon.lock"), 0, 0, -EROFS);
	return tt_failures();
}

static int full_fs(void *arg)
{
	static char block[4096];
	char *mnt = in_dir("full");
	int fd;

	(void)arg;
	if (own_tmpfs(mnt, "size=4k") < 0)
		return SKIPPED;
	write_str(in_dir("full/old.lock"), "");
	fd = open(in_dir("full/filler"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	while (fd >= 0 && write(fd, block, sizeof block) > 0)
		;
	if (fd >= 0)
		close(fd);
	row("full fs: new file", in_dir("full/daemon.lock"), 0, 0, -ENOSPC);
	row("full fs: existing empty file", in_dir("full/old.lock"), 0, 0, -ENOSPC);
	if (umount(mnt) < 0 || own_tmpfs(mnt, "nr_inodes=2") < 0)
		return SKIPPED;
	write_str(in_dir("full/last-inode"), "");
	row("no inode left: new file", in_dir("full/daemon.lock"), 0, 0, -ENOSPC);
	return tt_failures();
}

static void mounts(void)
{
	if (geteuid() != 0) {
		note_skip("read-only and full filesystems", "not root");
		return;
	}
	run_child("read-only fs", readonly_fs, NULL);
	run_child("full fs", full_fs, NULL);
}

/* Fill the descriptor table up to @free_slots free ones under a low limit. */
static void fill_fds(int free_slots)
{
	struct rlimit lim = { 64, 64 };
	int fd;

	setrlimit(RLIMIT_NOFILE, &lim);
	while ((fd = dup(0)) >= 0)
		;
	for (fd = 63; free_slots > 0 && fd > 2; fd--)
		if (close(fd) == 0)
			free_slots--;
}

static int no_fds(void *arg)
{
	char *held = arg;

	(void)arg;
	write_str(in_dir("fds.lock"), "4242\n");
	fill_fds(0);
	row("RLIMIT_NOFILE reached: existing file", in_dir("fds.lock"), -EMFILE, -EMFILE, -EMFILE);
	row("RLIMIT_NOFILE reached: new file", in_dir("fds-new.lock"), -EMFILE, -EMFILE, -EMFILE);
	fill_fds(1);
	row("RLIMIT_NOFILE: one descriptor left, free lock", in_dir("fds-new.lock"), 0, 0, 0);
	/* Waiting wants an inotify descriptor too: without one it must still wait, by polling. */
	row_full("one descriptor left, held lock, wait 50 ms", held, 0, 50, getppid(), 1, -EAGAIN);
	return tt_failures();
}

static void descriptor_limit(void)
{
	char *held = in_dir("held.lock");
	pidlock *l = NULL;

	if (pidlock_acquire(held, 0, 0, &l, NULL) < 0) {
		tt_fail("hostile: cannot take %s", held);
		return;
	}
	run_child("RLIMIT_NOFILE", no_fds, held);
	pidlock_release(l);
}

static void blocked(int sig)
{
	static const char msg[] = "FAIL: hostile: a call blocked (SIGALRM)\n";

	(void)sig;
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(3);
	_exit(3);
}

int main(void)
{
	int fds = tt_count_fds();

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, blocked);
	umask(022);
	dir = tt_tmpdir("hostile");
	count = tt_shared(sizeof *count);

	arguments();
	lengths();
	file_types();
	contents();
	other_users();
	mounts();
	descriptor_limit();

	printf("hostile: %d inputs tried, %d with an unexpected result, %d groups skipped\n",
	       count->rows, count->wrong, count->skipped);
	if (tt_count_fds() != fds)
		tt_fail("hostile: descriptors %d before, %d after", fds, tt_count_fds());
	tt_rmtree(dir);
	free(dir);
	return tt_failures();
}
