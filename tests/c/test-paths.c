/* Default lock paths: which base wins, and what is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pwd.h>
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

/* The environments one user starts a daemon from: a login shell or ssh session (with
 * XDG_RUNTIME_DIR), cron (almost nothing), sudo (another user's HOME), a service. */
static const char *const envs[][3] = {
	{ "/run/user/1000", "/home/u/.data", "/home/u" },
	{ NULL, NULL, NULL },
	{ NULL, NULL, "/root" },
	{ "/run/user/0", NULL, "/var/empty" },
	{ "relative", "data", "home" },
	{ "/", "//", "/" },
};

/* Every environment gives the same path, or the same error. */
static int same_everywhere(char *first, size_t size)
{
	size_t i;
	int r0 = -1, r;

	for (i = 0; i < sizeof envs / sizeof envs[0]; i++) {
		env(envs[i][0], envs[i][1], envs[i][2]);
		r = path_of("app");
		if (i == 0) {
			r0 = r;
			snprintf(first, size, "%s", r >= 0 ? got : "");
		} else if (r != r0 || (r >= 0 && strcmp(got, first))) {
			return (int)i + 1;
		}
	}
	return r0 < 0 ? 100 : 0;
}

START_TEST(root_gets_run_in_every_environment)
{
	char first[PATH_MAX];

	if (geteuid() != 0) {
		skip_test("root_gets_run_in_every_environment: not root");
		return;
	}
	ck_assert_int_eq(same_everywhere(first, sizeof first), 0);
	ck_assert_str_eq(first, "/run/app/daemon.lock");
}
END_TEST

/* A user's base is the home of its password entry, whatever $HOME says. */
static int user_home(void *unused)
{
	char first[PATH_MAX], want[PATH_MAX];
	struct passwd *pw = getpwuid(geteuid());

	(void)unused;
	if (!pw)
		return 50;
	snprintf(want, sizeof want, "%s/.local/share/app/daemon.lock", pw->pw_dir);
	if (same_everywhere(first, sizeof first) != 0)
		return 51;
	return strcmp(first, want) ? 52 : 0;
}

START_TEST(user_gets_passwd_home_in_every_environment)
{
	if (geteuid() == 0)
		ck_assert_int_eq(as_nobody(user_home, NULL), 0);
	else
		ck_assert_int_eq(user_home(NULL), 0);
}
END_TEST

START_TEST(bad_app_names)
{
	char longname[NAME_MAX + 2];

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
	char want[PATH_MAX];

	ck_assert_int_gt(pidlock_default_path("app", want, sizeof want), 0);
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
		  root_gets_run_in_every_environment,
		  user_gets_passwd_home_in_every_environment,
		  bad_app_names,
		  buffer_sizes,
		  path_for_dir);
	return s;
}
