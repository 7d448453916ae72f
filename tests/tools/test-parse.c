/* The syntax of pidlock(1)'s operands (tools/parse.c): seconds, integers, signals, and
 * seconds written back for people. Exact codes, edge values, and what must be refused. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

START_TEST(seconds_accepted)
{
	static const struct {
		const char *in;
		int ms;
	} cases[] = {
		{ "0", 0 },          { "1", 1000 },       { "60", 60000 },   { "0.5", 500 },
		{ ".5", 500 },       { "5.", 5000 },      { "1.25", 1250 },  { "0.0001", 0 },
		{ "0.0019", 1 },     { "007", 7000 },     { "2147483", 2147483000 },
		{ "2147483.647", INT_MAX },
	};
	size_t i;
	int ms;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ms = -42;
		ck_assert_msg(parse_seconds(cases[i].in, &ms) == 0, "'%s' refused", cases[i].in);
		ck_assert_int_eq(ms, cases[i].ms);
	}
}
END_TEST

START_TEST(seconds_refused)
{
	static const char *const bad[] = { "", ".", "abc", "-1", "+1", "1e3", "0x10", " 1", "1 ",
					   "1.2.3", "1,5", "inf", "nan", "1s" };
	size_t i;
	int ms = -42;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse_seconds(bad[i], &ms) == -EINVAL, "'%s' accepted", bad[i]);
	ck_assert_int_eq(parse_seconds("2147484", &ms), -ERANGE);
	ck_assert_int_eq(parse_seconds("2147483.648", &ms), -ERANGE);
	ck_assert_int_eq(parse_seconds("99999999999999999999999", &ms), -ERANGE);
	ck_assert_int_eq(ms, -42);
}
END_TEST

START_TEST(integers)
{
	int v = -42;

	ck_assert_int_eq(parse_int("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(parse_int("10", 0, 10, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(parse_int("2147483647", 0, INT_MAX, &v), 0);
	ck_assert_int_eq(v, INT_MAX);
	v = -42;
	ck_assert_int_eq(parse_int("11", 0, 10, &v), -ERANGE);
	ck_assert_int_eq(parse_int("0", 1, 10, &v), -ERANGE);
	ck_assert_int_eq(parse_int("2147483648", 0, INT_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse_int("99999999999999999999", 0, INT_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse_int("", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(parse_int("-1", -5, 10, &v), -EINVAL);
	ck_assert_int_eq(parse_int("+1", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(parse_int("1x", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(parse_int(" 1", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(v, -42);
}
END_TEST

START_TEST(signals_accepted)
{
	static const struct {
		const char *in;
		int sig;
	} cases[] = {
		{ "TERM", SIGTERM }, { "SIGTERM", SIGTERM }, { "term", SIGTERM }, { "sigterm", SIGTERM },
		{ "15", SIGTERM },   { "HUP", SIGHUP },      { "SIGKILL", SIGKILL }, { "usr1", SIGUSR1 },
		{ "1", 1 },
	};
	size_t i;
	int sig;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sig = -42;
		ck_assert_msg(parse_signal(cases[i].in, &sig) == 0, "'%s' refused", cases[i].in);
		ck_assert_int_eq(sig, cases[i].sig);
	}
	ck_assert_int_eq(parse_signal("RTMIN", &sig), 0);
	ck_assert_int_eq(sig, SIGRTMIN);
	ck_assert_int_eq(parse_signal("SIGRTMIN+2", &sig), 0);
	ck_assert_int_eq(sig, SIGRTMIN + 2);
	ck_assert_int_eq(parse_signal("rtmax-1", &sig), 0);
	ck_assert_int_eq(sig, SIGRTMAX - 1);
	ck_assert_int_eq(parse_signal("RTMAX", &sig), 0);
	ck_assert_int_eq(sig, SIGRTMAX);
	ck_assert_int_eq(parse_signal("64", &sig), NSIG - 1 >= 64 ? 0 : -ERANGE);
}
END_TEST

START_TEST(signals_refused)
{
	static const char *const bad[] = { "", "FOO", "SIG", "-15", "RTMIN-1", "RTMAX+1",
					   "RTMIN+", "RTMIN+99", "TERM ", "1.5", "SIGSIGTERM" };
	size_t i;
	int sig = -42;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse_signal(bad[i], &sig) < 0, "'%s' accepted", bad[i]);
	/* Signal 0 sends nothing: stopping with it could only time out. */
	ck_assert_int_eq(parse_signal("0", &sig), -ERANGE);
	ck_assert_int_eq(parse_signal("65", &sig), NSIG - 1 < 65 ? -ERANGE : 0);
	ck_assert_int_eq(parse_signal("99999", &sig), -ERANGE);
}
END_TEST

START_TEST(signal_names)
{
	char buf[32], rt[32];

	ck_assert_str_eq(signal_name(SIGTERM, buf, sizeof buf), "SIGTERM");
	ck_assert_str_eq(signal_name(SIGKILL, buf, sizeof buf), "SIGKILL");
	snprintf(rt, sizeof rt, "signal %d", SIGRTMIN + 1);
	ck_assert_str_eq(signal_name(SIGRTMIN + 1, buf, sizeof buf), rt);
	ck_assert_str_eq(signal_name(SIGTERM, buf, 4), "SIG");
}
END_TEST

START_TEST(seconds_for_people)
{
	char buf[24];

	ck_assert_str_eq(format_seconds(0, buf, sizeof buf), "0");
	ck_assert_str_eq(format_seconds(60000, buf, sizeof buf), "60");
	ck_assert_str_eq(format_seconds(200, buf, sizeof buf), "0.2");
	ck_assert_str_eq(format_seconds(1250, buf, sizeof buf), "1.25");
	ck_assert_str_eq(format_seconds(1, buf, sizeof buf), "0.001");
	ck_assert_str_eq(format_seconds(10010, buf, sizeof buf), "10.01");
	ck_assert_str_eq(format_seconds(INT_MAX, buf, sizeof buf), "2147483.647");
	ck_assert_str_eq(format_seconds(-5, buf, sizeof buf), "0");
}
END_TEST

START_TEST(optional_seconds)
{
	/* "--wait 60 PATH -- CMD" takes 60; "--wait PATH -- CMD" and "--wait 60 -- CMD" (a
	 * file named 60) wait forever. */
	ck_assert(takes_seconds("60", "/run/x.lock"));
	ck_assert(takes_seconds("0.5", "--check-pid"));
	ck_assert(!takes_seconds("60", "--"));
	ck_assert(!takes_seconds("60", NULL));
	ck_assert(!takes_seconds("/run/x.lock", "--"));
	ck_assert(!takes_seconds("abc", "/run/x.lock"));
	ck_assert(!takes_seconds("-1", "/run/x.lock"));
	ck_assert(!takes_seconds(NULL, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, seconds_accepted);
	tcase_add_test(tc, seconds_refused);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, signals_accepted);
	tcase_add_test(tc, signals_refused);
	tcase_add_test(tc, signal_names);
	tcase_add_test(tc, seconds_for_people);
	tcase_add_test(tc, optional_seconds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
