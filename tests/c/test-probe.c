/* pidlock_holder(): who holds it, found without taking anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

START_TEST(probe_missing_creates_nothing)
{
	pid_t who = 99;

	ck_assert_int_eq(pidlock_holder(tpath("none.lock"), &who), 0);
	ck_assert_int_eq(who, 0);
	ck_assert(!exists(tpath("none.lock")));
	ck_assert_int_eq(pidlock_holder(tpath("none.lock"), NULL), 0);
}
END_TEST

START_TEST(probe_stale_file_is_free)
{
	char buf[32];
	pid_t who = 99;

	write_file(tpath("s.lock"), "12345\n");
	ck_assert_int_eq(pidlock_holder(tpath("s.lock"), &who), 0);
	ck_assert_int_eq(who, 0);
	ck_assert_int_eq(read_file(tpath("s.lock"), buf, sizeof buf), 6);
}
END_TEST

START_TEST(probe_held)
{
	pid_t who = 0, child = start_holder(tpath("h.lock"), 0, false);

	ck_assert_int_eq(pidlock_holder(tpath("h.lock"), &who), 1);
	ck_assert_int_eq(who, child);
	stop_holder(child);
	ck_assert_int_eq(pidlock_holder(tpath("h.lock"), &who), 0);
}
END_TEST

START_TEST(probe_held_not_written)
{
	pid_t who = 0, child = start_holder(tpath("n.lock"), 0, true);

	ck_assert_int_eq(pidlock_holder(tpath("n.lock"), &who), 1);
	ck_assert_int_eq(who, -1);
	stop_holder(child);
}
END_TEST

START_TEST(probe_never_names_a_gone_holder)
{
	pidlock *l = NULL;
	pid_t who = 0, child;

	/* A new holder has locked the file a crashed one left, and not yet written over it. */
	write_pid_file(tpath("g.lock"), dead_pid());
	child = start_holder(tpath("g.lock"), 0, true);
	ck_assert_int_eq(pidlock_holder(tpath("g.lock"), &who), 1);
	ck_assert_int_eq(who, -1);
	ck_assert_int_eq(pidlock_acquire(tpath("g.lock"), 0, 0, &l, &who), -EAGAIN);
	ck_assert_int_eq(who, -1);
	stop_holder(child);
}
END_TEST

START_TEST(probe_self_held)
{
	pidlock *l;
	pid_t who = 0;

	ck_assert_int_eq(pidlock_acquire(tpath("m.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pidlock_holder(tpath("m.lock"), &who), 1);
	ck_assert_int_eq(who, getpid());
	pidlock_release(l);
}
END_TEST

START_TEST(probe_bad_paths)
{
	ck_assert_int_eq(pidlock_holder(NULL, NULL), -EINVAL);
	ck_assert_int_eq(pidlock_holder("", NULL), -EINVAL);
	ck_assert_int_eq(pidlock_holder(tdir, NULL), -EISDIR);
	ck_assert_int_eq(symlink("x", tpath("l")), 0);
	ck_assert_int_eq(pidlock_holder(tpath("l"), NULL), -ELOOP);
	ck_assert_int_eq(mkfifo(tpath("f"), 0644), 0);
	alarm(5);
	ck_assert_int_eq(pidlock_holder(tpath("f"), NULL), -EINVAL);
	alarm(0);
}
END_TEST

/* A monitoring script asking "is it running?" must never make a start fail: one process
 * acquires and releases while another probes as fast as it can. */
START_TEST(probe_never_fails_an_acquire)
{
	enum { ROUNDS = 20000 };
	pid_t prober = fork();
	long probes_held = 0, failures = 0;
	int i;

	ck_assert_int_ge(prober, 0);
	if (prober == 0) {
		for (;;)
			pidlock_holder(tpath("p.lock"), NULL);
	}
	for (i = 0; i < ROUNDS; i++) {
		pidlock *l;
		int r = pidlock_acquire(tpath("p.lock"), i % 2 ? PIDLOCK_KEEP_FILE : 0, 0, &l, NULL);
		/* Refused while only the prober is there: as held (-EAGAIN), or, in the flock
		 * build, as a reader's shared lock (-EBUSY), which is what the probe takes. */
		if (r == -EAGAIN || r == -EBUSY) {
			failures++;
			continue;
		}
		ck_assert_int_eq(r, 0);
		probes_held += pidlock_holder(tpath("p.lock"), NULL) == 1;
		pidlock_release(l);
	}
	kill(prober, SIGKILL);
	waitpid(prober, NULL, 0);
	printf("probe: %d acquire/release cycles beside a full-speed prober; probe-caused failures: "
	       "%ld of %d (%s build)\n", ROUNDS, failures, ROUNDS, flock_build() ? "flock" : "ofd");
	ck_assert_int_eq(probes_held, ROUNDS - failures);
	/* The flock fallback's probe holds LOCK_SH for a moment, which can make an acquire fail:
	 * its documented difference, measured above. */
	if (!flock_build())
		ck_assert_int_eq(failures, 0);
}
END_TEST

Suite *suite_probe(void)
{
	Suite *s = suite_create("probe");
	ADD_TCASE(s, "probe", 60,
		  probe_missing_creates_nothing,
		  probe_stale_file_is_free,
		  probe_held,
		  probe_held_not_written,
		  probe_never_names_a_gone_holder,
		  probe_self_held,
		  probe_bad_paths,
		  probe_never_fails_an_acquire);
	return s;
}
