/* path.c: `pidlock path APP`, the default lock path of an application for this user. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "pidlock.h"
#include "cli.h"

int cmd_path(int argc, char **argv)
{
	char buf[PATH_MAX];
	int code = EXIT_USAGE, r;
	const char *app = single_operand(argc, argv, "APP", EXIT_USAGE, &code);

	if (!app)
		return code;
	r = pidlock_default_path(app, buf, sizeof buf);
	if (r < 0) {
		if (r == -ENOENT)
			msg("%s: no base directory for lock files (this user has no password entry "
			    "or no home)", app);
		else
			lock_error(app, r);
		return EXIT_FAIL;
	}
	puts(buf);
	return flush_stdout(EXIT_FAIL);
}
