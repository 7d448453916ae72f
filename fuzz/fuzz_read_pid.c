/* The PID parser, through the public API: the input becomes the content of a lock file on
 * tmpfs, read back with pidlock_read_pid() and then reclaimed by pidlock_acquire(). Checked
 * against the header's rule: exactly "N\n" or "N", N in 1..INT_MAX, anything else 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"

/* Any "PID\n" is shorter: the library reads no further, so longer contents prove nothing. */
#define SHORT_CONTENT 32

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/dev/shm/pidlock-fuzz-XXXXXX";

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/daemon.lock", dir);
	return 0;
}

/* The rule, written from the header rather than from the library's code. */
static long long expected(const uint8_t *data, size_t size)
{
	long long v = 0;

	if (size > 0 && data[size - 1] == '\n')
		size--;
	if (size == 0)
		return 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] < '0' || data[i] > '9')
			return 0;
		v = v * 10 + (data[i] - '0');
		if (v > INT_MAX)
			return 0;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pidlock *l = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int pid, r;

	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	pid = pidlock_read_pid(path);
	if (pid < 0 || (size < SHORT_CONTENT && pid != expected(data, size))) {
		fprintf(stderr, "read_pid gave %d, the rule says %lld\n", pid, expected(data, size));
		abort();
	}
	/* Nobody holds the file: whatever it says, it is reclaimed and then removed. */
	r = pidlock_acquire(path, 0, 0, &l, NULL);
	if (r != 0 || pidlock_read_pid(path) != getpid() || pidlock_release(l) != 0 ||
	    access(path, F_OK) == 0) {
		fprintf(stderr, "acquire over that content: %s\n", pidlock_strerror(r));
		abort();
	}
	return 0;
}
