/* Two starters racing on a new file (run with interpose.so preloaded): the file this acquire
 * created was written by another starter before our lock went in; the file must say exactly
 * our PID. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"

int main(int argc, char **argv)
{
	char buf[64], want[32];
	pidlock *l;
	FILE *f;
	size_t n;
	int r;

	if (argc != 2)
		return 2;
	unlink(argv[1]);
	r = pidlock_acquire(argv[1], 0, 0, &l, NULL);
	if (r < 0) {
		fprintf(stderr, "acquire: %s\n", pidlock_strerror(r));
		return 1;
	}
	f = fopen(argv[1], "r");
	n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	snprintf(want, sizeof want, "%d\n", (int)getpid());
	pidlock_release(l);
	if (strcmp(buf, want)) {
		fprintf(stderr, "FAIL: the file says '%s', not '%s'\n", buf, want);
		return 1;
	}
	printf("ok: the file says exactly our PID\n");
	return 0;
}
