/* Exactly one winner among processes and threads, and nothing a killed holder leaves blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

struct shared {
	atomic_int inside;      /* holders in the critical section right now */
	atomic_long doubles;    /* times a holder found company there */
	atomic_long entries;
};

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof *sh);
	return sh;
}

static void critical_section(struct shared *sh)
{
	if (atomic_fetch_add(&sh->inside, 1) != 0)
		atomic_fetch_add(&sh->doubles, 1);
	atomic_fetch_add(&sh->entries, 1);
	sched_yield();
	atomic_fetch_sub(&sh->inside, 1);
}

/* @procs processes each take the lock @rounds times; variant 1 leaves an old file behind
 * every few rounds, variant 2 waits instead of retrying. */
static void race(int procs, int rounds, int variant)
{
	struct shared *sh = shared_new();
	int i, status;

	for (i = 0; i < procs; i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			int done = 0;
			while (done < rounds) {
				pidlock *l;
				unsigned flags = variant == 1 && done % 3 == 0 ? PIDLOCK_KEEP_FILE : 0;
				int r = pidlock_acquire(tpath("race.lock"), flags,
							variant == 2 ? PIDLOCK_WAIT_FOREVER : 0, &l, NULL);
				if (r == -EAGAIN)
					continue;
				if (r < 0)
					_exit(10);
				critical_section(sh);
				pidlock_release(l);
				done++;
			}
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	printf("race variant %d: %d processes x %d rounds, %ld entries, %ld double holders\n",
	       variant, procs, rounds, (long)sh->entries, (long)sh->doubles);
	ck_assert_int_eq(sh->entries, (long)procs * rounds);
	ck_assert_int_eq(sh->doubles, 0);
	munmap(sh, sizeof *sh);
}

START_TEST(race_clean) { race(8, 400, 0); }
END_TEST
START_TEST(race_old_files) { race(8, 400, 1); }
END_TEST
START_TEST(race_waiting) { race(8, 400, 2); }
END_TEST

/* SIGKILL at random instants inside and after acquire: the next acquire always succeeds. */
START_TEST(crash_at_any_instant)
{
	enum { KILLS = 300 };
	int i, stuck = 0;

	srand(42);
	for (i = 0; i < KILLS; i++) {
		pidlock *l;
		pid_t child = fork();
		ck_assert_int_ge(child, 0);
		if (child == 0) {
			for (;;) {
				pidlock *mine;
				if (pidlock_acquire(tpath("crash.lock"), i % 2 ? PIDLOCK_KEEP_FILE : 0, 0, &mine, NULL) == 0)
					pidlock_release(mine);
			}
		}
		usleep((useconds_t)(rand() % 300));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		if (pidlock_acquire(tpath("crash.lock"), 0, 0, &l, NULL) != 0)
			stuck++;
		else
			pidlock_release(l);
	}
	printf("crash: %d SIGKILLs, %d stuck\n", KILLS, stuck);
	ck_assert_int_eq(stuck, 0);
}
END_TEST

struct thread_arg {
	struct shared *sh;
	const char *path;   /* tpath() is not for threads: computed once, before them */
	int rounds;
	int errors;
};

static void *thread_racer(void *p)
{
	struct thread_arg *a = p;
	int done = 0;

	while (done < a->rounds) {
		pidlock *l;
		int r = pidlock_acquire(a->path, 0, 0, &l, NULL);
		if (r == -EAGAIN)
			continue;
		if (r < 0) {
			a->errors++;
			break;
		}
		critical_section(a->sh);
		pidlock_release(l);
		done++;
	}
	return NULL;
}

START_TEST(threads_conflict_like_processes)
{
	struct shared *sh = shared_new();
	struct thread_arg args[4];
	const char *path = tpath("t.lock");
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ .sh = sh, .path = path, .rounds = 500 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_racer, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].errors, 0);
	}
	ck_assert_int_eq(sh->entries, 2000);
	ck_assert_int_eq(sh->doubles, 0);
	munmap(sh, sizeof *sh);
}
END_TEST

static void *release_in_thread(void *l) { return (void *)(long)pidlock_release(l); }

START_TEST(handle_moves_between_threads)
{
	pidlock *l;
	pthread_t t;
	void *ret;

	ck_assert_int_eq(pidlock_acquire(tpath("m.lock"), 0, 0, &l, NULL), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, release_in_thread, l), 0);
	pthread_join(t, &ret);
	ck_assert_int_eq((long)ret, 0);
	ck_assert(!exists(tpath("m.lock")));
}
END_TEST

Suite *suite_concurrency(void)
{
	Suite *s = suite_create("concurrency");
	ADD_TCASE(s, "concurrency", 120,
		  race_clean,
		  race_old_files,
		  race_waiting,
		  crash_at_any_instant,
		  threads_conflict_like_processes,
		  handle_moves_between_threads);
	return s;
}
