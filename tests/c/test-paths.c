/* Default lock paths: which base wins, and what is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

static char got[PATH_MAX];

static int path_of(const char *app) { return pidlock_default_path(app, got, sizeof got); }

static void env(const char *runtime, const char *data, const char *home)
{
	if (runtime) setenv("XDG_RUNTIME_DIR", runtime, 1); else unsetenv("XDG_RUNTIME_DIR");
	if (data) setenv("XDG_DATA_HOME", data, 1); else unsetenv("XDG_DATA_HOME");
	if (home) setenv("HOME", home, 1); else unsetenv("HOME");
}

START_TEST(runtime_dir_wins_when_absolute)
{
	env("/run/user/1000/", "/data", "/home/u");
	ck_assert_int_gt(path_of("app"), 0);
	ck_assert_str_eq(got, "/run/user/1000/app/daemon.lock");
	env("/", "/data", "/home/u");
	ck_assert_int_eq(path_of("app"), -EINVAL);
}
END_TEST

START_TEST(root_falls_back_to_run)
{
	if (geteuid() != 0) {
		printf("skipped root_falls_back_to_run: not root\n");
		return;
	}
	env("relative/dir", "/data", "/home/u");
	ck_assert_int_gt(path_of("app"), 0);
	ck_assert_str_eq(got, "/run/app/daemon.lock");
	env(NULL, NULL, NULL);
	ck_assert_int_gt(path_of("app"), 0);
	ck_assert_str_eq(got, "/run/app/daemon.lock");
}
END_TEST

/* The bases below /run are a user's: check them as nobody, each case an exit code. */
static int user_bases(void *unused)
{
	(void)unused;
	env(NULL, "/data", "/home/u");
	if (path_of("app") < 0 || strcmp(got, "/data/app/daemon.lock"))
		return 1;
	env("", "/data", "/home/u");
	if (path_of("app") < 0 || strcmp(got, "/data/app/daemon.lock"))
		return 2;
	env(NULL, NULL, "/home/u");
	if (path_of("app") < 0 || strcmp(got, "/home/u/.local/share/app/daemon.lock"))
		return 3;
	env(NULL, "", "/home/u/");
	if (path_of("app") < 0 || strcmp(got, "/home/u/.local/share/app/daemon.lock"))
		return 4;
	env(NULL, "data", "/home/u");
	if (path_of("app") != -EINVAL)
		return 5;
	env(NULL, "//", "/home/u");
	if (path_of("app") != -EINVAL)
		return 6;
	env(NULL, NULL, NULL);
	if (path_of("app") != -ENOENT)
		return 7;
	env(NULL, NULL, "/");
	if (path_of("app") != -EINVAL)
		return 8;
	env(NULL, NULL, "home");
	if (path_of("app") != -EINVAL)
		return 9;
	return 0;
}

START_TEST(user_bases_in_order)
{
	if (geteuid() == 0)
		ck_assert_int_eq(as_nobody(user_bases, NULL), 0);
	else
		ck_assert_int_eq(user_bases(NULL), 0);
}
END_TEST

START_TEST(bad_app_names)
{
	char longname[NAME_MAX + 2];

	env("/run/user/1", NULL, NULL);
	ck_assert_int_eq(path_of(NULL), -EINVAL);
	ck_assert_int_eq(path_of(""), -EINVAL);
	ck_assert_int_eq(path_of("a/b"), -EINVAL);
	ck_assert_int_eq(path_of(".."), -EINVAL);
	ck_assert_int_eq(path_of("a..b"), -EINVAL);
	ck_assert_int_eq(path_of("."), -EINVAL);
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ck_assert_int_eq(path_of(longname), -ENAMETOOLONG);
	ck_assert_int_gt(path_of("my-app.v2"), 0);
}
END_TEST

START_TEST(buffer_sizes)
{
	char small[8];
	const char *want = "/run/user/1/app/daemon.lock";

	env("/run/user/1", NULL, NULL);
	ck_assert_int_eq(pidlock_default_path("app", small, sizeof small), -ERANGE);
	ck_assert_int_eq(pidlock_default_path("app", got, strlen(want)), -ERANGE);
	ck_assert_int_eq(pidlock_default_path("app", got, strlen(want) + 1), (int)strlen(want));
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(pidlock_default_path("app", NULL, 0), (int)strlen(want));
}
END_TEST

START_TEST(path_for_dir)
{
	char big[PATH_MAX + 8];

	ck_assert_int_eq(pidlock_path_for_dir("/srv/x///", got, sizeof got), 18);
	ck_assert_str_eq(got, "/srv/x/daemon.lock");
	ck_assert_int_gt(pidlock_path_for_dir("/", got, sizeof got), 0);
	ck_assert_str_eq(got, "/daemon.lock");
	ck_assert_int_gt(pidlock_path_for_dir("run", got, sizeof got), 0);
	ck_assert_str_eq(got, "run/daemon.lock");
	ck_assert_int_eq(pidlock_path_for_dir("", got, sizeof got), -EINVAL);
	ck_assert_int_eq(pidlock_path_for_dir(NULL, got, sizeof got), -EINVAL);
	ck_assert_int_eq(pidlock_path_for_dir("/x", NULL, 10), -EINVAL);
	memset(big, 'd', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(pidlock_path_for_dir(big, NULL, 0), -ENAMETOOLONG);
}
END_TEST

Suite *suite_paths(void)
{
	Suite *s = suite_create("paths");
	ADD_TCASE(s, "paths", 0,
		  runtime_dir_wins_when_absolute,
		  root_falls_back_to_run,
		  user_bases_in_order,
		  bad_app_names,
		  buffer_sizes,
		  path_for_dir);
	return s;
}
