/* status.c: `pidlock status PATH`, the holder's PID and LSB's status codes. The probe takes
 * nothing and creates nothing, so it never disturbs a concurrent start. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pidlock.h"
#include "cli.h"

int cmd_status(int argc, char **argv)
{
	struct stat st;
	pid_t pid = 0;
	int code = STATUS_UNKNOWN, r;
	const char *path = single_operand(argc, argv, "PATH", STATUS_UNKNOWN, &code);

	if (!path)
		return code;
	r = probe(path, &pid, PID_APPEAR_MS);
	if (r < 0) {
		lock_error(path, r);
		return STATUS_UNKNOWN;
	}
	if (r == 1) {
		if (pid > 0)
			printf("%d\n", (int)pid);
		else
			unverified(path, "running", "");
		return flush_stdout(STATUS_UNKNOWN);
	}
	/* The library says "free" for a missing file and for a file nobody holds; LSB tells
	 * them apart. A start racing with this lstat only makes the answer a moment old. */
	if (lstat(path, &st) == 0) {
		msg("%s: not running (the lock file remains)", path);
		return STATUS_DEAD_FILE;
	}
	if (errno == ENOENT) {
		msg("%s: not running", path);
		return STATUS_NOT_RUNNING;
	}
	msg("%s: %s", path, strerror(errno));
	return STATUS_UNKNOWN;
}
