/* Holds the kernel lock on a file without ever writing a PID into it, until killed: the
 * state a holder is in between its lock and its write, frozen so a test can look at it.
 * The lock is the library's, so it is the primitive of the build under test (OFD or flock):
 * taken on PATH.tmp, emptied, then renamed to PATH, so PATH never shows a PID. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <pidlock.h>

int main(int argc, char **argv)
{
	char tmp[PATH_MAX];
	pidlock *lock;
	int r;

	if (argc != 2) {
		fputs("usage: hold-unwritten PATH\n", stderr);
		return 2;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= (int)sizeof tmp) {
		fprintf(stderr, "%s: path too long\n", argv[1]);
		return 1;
	}
	r = pidlock_acquire(tmp, 0, 0, &lock, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", tmp, pidlock_strerror(r));
		return 1;
	}
	if (ftruncate(pidlock_fd(lock), 0) < 0 || rename(tmp, argv[1]) < 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;)
		pause();
}
