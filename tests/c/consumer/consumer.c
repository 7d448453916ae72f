/* The smallest user of an installed libpidlock. */
#include <pidlock.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	pidlock *lock;
	int r;

	if (argc != 2)
		return 2;
	if (strcmp(pidlock_version(), "1.0.0") != 0 || PIDLOCK_VERSION_MAJOR != 1)
		return 3;
	r = pidlock_acquire(argv[1], 0, 0, &lock, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], pidlock_strerror(r));
		return 1;
	}
	return pidlock_release(lock) == 0 ? 0 : 1;
}
