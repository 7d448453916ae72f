/* The file's content: what counts as a PID, and what a concurrent reader can see. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static const struct {
	const char *content;
	int pid;
} cases[] = {
	{ "42\n", 42 },
	{ "42", 42 },
	{ "2147483647\n", 2147483647 },
	{ "", 0 },
	{ "\n", 0 },
	{ "0\n", 0 },
	{ "-1\n", 0 },
	{ "+5\n", 0 },
	{ " 42 \n", 0 },
	{ "42abc\n", 0 },
	{ "42\n\n", 0 },
	{ "99999999999\n", 0 },
	{ "2147483648\n", 0 },
	{ "\x01\x02\xff\n", 0 },
};

START_TEST(read_pid_cases)
{
	write_file(tpath("c.lock"), cases[_i].content);
	ck_assert_msg(pidlock_read_pid(tpath("c.lock")) == cases[_i].pid, "content %d", _i);
}
END_TEST

START_TEST(read_pid_huge_file)
{
	size_t n = 1 << 20;
	char *digits = malloc(n + 1);

	memset(digits, '7', n);
	digits[n] = '\0';
	write_file(tpath("h.lock"), digits);
	free(digits);
	ck_assert_int_eq(pidlock_read_pid(tpath("h.lock")), 0);
}
END_TEST

START_TEST(read_pid_errors)
{
	ck_assert_int_eq(pidlock_read_pid(NULL), -EINVAL);
	ck_assert_int_eq(pidlock_read_pid(""), -EINVAL);
	ck_assert_int_eq(pidlock_read_pid(tdir), -EISDIR);
	ck_assert_int_eq(symlink("target", tpath("link")), 0);
	ck_assert_int_eq(pidlock_read_pid(tpath("link")), -ELOOP);
	ck_assert_int_eq(mkfifo(tpath("fifo"), 0644), 0);
	alarm(5);
	ck_assert_int_eq(pidlock_read_pid(tpath("fifo")), -EINVAL);
	alarm(0);
	write_file(tpath("f"), "1\n");
	ck_assert_int_eq(pidlock_read_pid(tpath("f/x")), -ENOTDIR);
}
END_TEST

static bool whole_pid(const char *buf, ssize_t n)
{
	ssize_t i;

	if (n < 2 || buf[n - 1] != '\n')
		return false;
	for (i = 0; i < n - 1; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return false;
	return atoi(buf) == (int)getppid();
}

/* A reader sees "" or a whole "PID\n", never a part, while holders come and go and rewrite
 * the file in place (PIDLOCK_KEEP_FILE, pidlock_update). */
START_TEST(reader_never_sees_partial_pid)
{
	long *torn = mmap(NULL, sizeof(long) * 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t reader;
	char buf[64];
	int i;

	ck_assert_ptr_ne(torn, MAP_FAILED);
	write_file(tpath("t.lock"), "");
	reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0) {
		for (;;) {
			ssize_t n = read_file(tpath("t.lock"), buf, sizeof buf);
			torn[1]++;
			if (n > 0 && !whole_pid(buf, n))
				torn[0]++;
		}
	}
	for (i = 0; i < 20000; i++) {
		pidlock *l;
		ck_assert_int_eq(pidlock_acquire(tpath("t.lock"), PIDLOCK_KEEP_FILE, PIDLOCK_WAIT_FOREVER, &l, NULL), 0);
		ck_assert_int_eq(pidlock_update(l), 0);
		ck_assert_int_eq(pidlock_release(l), 0);
	}
	kill(reader, SIGKILL);
	waitpid(reader, NULL, 0);
	printf("content: %ld reads during 20000 rewrites, %ld partial\n", torn[1], torn[0]);
	ck_assert_int_gt(torn[1], 0);
	ck_assert_int_eq(torn[0], 0);
	munmap(torn, sizeof(long) * 2);
}
END_TEST

START_TEST(failed_acquire_never_touches_holder_content)
{
	pidlock *l = NULL;
	char before[64], after[64];
	pid_t child = start_holder(tpath("h.lock"), 0, false);

	ck_assert_int_gt(read_file(tpath("h.lock"), before, sizeof before), 0);
	ck_assert_int_eq(pidlock_acquire(tpath("h.lock"), 0, 0, &l, NULL), -EAGAIN);
	ck_assert_int_eq(pidlock_acquire(tpath("h.lock"), PIDLOCK_CHECK_PID, 50, &l, NULL), -EAGAIN);
	ck_assert_int_gt(read_file(tpath("h.lock"), after, sizeof after), 0);
	ck_assert_str_eq(before, after);
	stop_holder(child);
}
END_TEST

Suite *suite_content(void)
{
	Suite *s = suite_create("content");
	TCase *tc = ADD_TCASE(s, "content", 60,
		  read_pid_huge_file,
		  read_pid_errors,
		  reader_never_sees_partial_pid,
		  failed_acquire_never_touches_holder_content);
	tcase_add_loop_test(tc, read_pid_cases, 0, (int)(sizeof cases / sizeof cases[0]));
	return s;
}
