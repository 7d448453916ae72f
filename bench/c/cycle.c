/* cycle VARIANT PATH N [WARMUP]: the cost of one uncontended acquire, write PID, release.
 * Prints ns per cycle of wall-clock time and of CPU time (user + system): on a machine shared
 * with other work the wall clock also counts the time the process sat preempted, the CPU time
 * only what the cycle itself cost. WARMUP (default 100) untimed cycles go first: the first cycle of a
 * process pays for page faults and, in libpidlock, the one getpid() it caches. A fixed
 * warm-up also lets `strace -c` runs of N and 2N cycles be subtracted into a per-cycle
 * count. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_LIBBSD
#include <bsd/libutil.h>
#endif

#include "bench.h"

static char pid_text[16];
static int pid_len;

static void cycle_flags(const char *path, unsigned flags)
{
	pidlock *l;
	int r = pidlock_acquire(path, flags, 0, &l, NULL);

	if (r < 0)
		die("pidlock_acquire", r);
	r = pidlock_release(l);
	if (r < 0)
		die("pidlock_release", r);
}

static void cycle_pidlock(const char *path) { cycle_flags(path, 0); }
/* For a daemon that wants its file, inode and mode kept between runs: no create, no unlink. */
static void cycle_keep(const char *path) { cycle_flags(path, PIDLOCK_KEEP_FILE); }

#ifdef HAVE_LIBBSD
static void cycle_libbsd(const char *path)
{
	pid_t other;
	struct pidfh *pfh = pidfile_open(path, 0644, &other);

	if (!pfh)
		die("pidfile_open", errno);
	if (pidfile_write(pfh) < 0)
		die("pidfile_write", errno);
	if (pidfile_remove(pfh) < 0)
		die("pidfile_remove", errno);
}
#endif

/* The least any correct lock does: create, lock, write the PID, unlink, close. No checks at
 * all, so not a usable lock: only the yardstick. */
static void cycle_floor(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		die("open", errno);
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		die("F_OFD_SETLK", errno);
	if (pwrite(fd, pid_text, (size_t)pid_len, 0) != pid_len)
		die("pwrite", errno);
	unlink(path);
	close(fd);
}

static const struct {
	const char *name;
	void (*cycle)(const char *path);
} variants[] = {
	{ "pidlock", cycle_pidlock },
	{ "pidlock-keep", cycle_keep },
#ifdef HAVE_LIBBSD
	{ "libbsd", cycle_libbsd },
#endif
	{ "floor", cycle_floor },
};

int cmd_cycle(int argc, char **argv)
{
	void (*cycle)(const char *path) = NULL;
	long n, warmup, i;
	long long t0, t1, c0, c1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: pidlock-bench cycle VARIANT PATH N [WARMUP]\n");
		return 2;
	}
	for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
		if (strcmp(variants[v].name, argv[0]) == 0)
			cycle = variants[v].cycle;
	if (!cycle) {
		/* exit 3: the harness reports a variant this build lacks as "n/a", not a crash */
		fprintf(stderr, "pidlock-bench: cycle variant '%s' not built in\n", argv[0]);
		return 3;
	}
	n = arg_long(argv[2], "N");
	warmup = argc > 3 ? arg_long(argv[3], "WARMUP") : 100;
	pid_len = snprintf(pid_text, sizeof pid_text, "%d\n", (int)getpid());

	for (i = 0; i < warmup; i++)
		cycle(argv[1]);
	t0 = now_ns();
	c0 = cpu_ns();
	for (i = 0; i < n; i++)
		cycle(argv[1]);
	c1 = cpu_ns();
	t1 = now_ns();
	if (n == 0)
		n = 1;
	printf("%.1f %.1f\n", (double)(t1 - t0) / (double)n, (double)(c1 - c0) / (double)n);
	return 0;
}
