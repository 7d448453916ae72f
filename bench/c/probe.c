/* probe VARIANT PATH N: the cost of asking "who holds it?" while a child holds the lock.
 * pidlock: pidlock_holder(), which tests the kernel lock (F_OFD_GETLK) and reads the PID.
 * readkill: the traditional way, read the PID from the file and kill(pid, 0); cheaper, but
 * wrong for a stale file whose PID was reused and blind to a holder that has not written.
 * Prints ns per probe; every probe's answer is checked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static int probe_pidlock(const char *path)
{
	pid_t pid;
	int r = pidlock_holder(path, &pid);

	if (r < 0)
		die("pidlock_holder", r);
	return r == 1 ? pid : 0;
}

static int probe_readkill(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		die("open", errno);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? (int)pid : 0;
}

int cmd_probe(int argc, char **argv)
{
	int (*probe)(const char *path);
	long n, i;
	long long t0, t1;
	int holder;

	if (argc != 3) {
		fprintf(stderr, "usage: pidlock-bench probe pidlock|readkill PATH N\n");
		return 2;
	}
	if (strcmp(argv[0], "pidlock") == 0) {
		probe = probe_pidlock;
	} else if (strcmp(argv[0], "readkill") == 0) {
		probe = probe_readkill;
	} else {
		fprintf(stderr, "pidlock-bench: unknown probe '%s'\n", argv[0]);
		return 2;
	}
	n = arg_long(argv[2], "N");
	holder = holder_start(argv[1]);
	for (i = 0; i < 100; i++)
		if (probe(argv[1]) != holder)
			die("probe did not find the holder", ESRCH);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (probe(argv[1]) != holder)
			die("probe did not find the holder", ESRCH);
	t1 = now_ns();
	holder_stop(holder);
	printf("%.1f\n", n ? (double)(t1 - t0) / (double)n : 0.0);
	return 0;
}
