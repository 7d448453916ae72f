/* Fork awareness. A handle copied into a child by fork() must not unlink or unlock the
 * parent's lock, and a parent whose child adopted the lock must leave it alone. getpid() on
 * every release would cost a syscall per cycle, so pthread_atfork() keeps count instead. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "pidlock-int.h"

static atomic_uint generation;  /* bumped in every child */
static atomic_uint forks;       /* bumped before every fork, so parent and child both see it */
static atomic_int self_pid;     /* 0: not known in this process yet */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void before_fork(void) { atomic_fetch_add(&forks, 1); }

static void in_child(void)
{
	atomic_fetch_add(&generation, 1);
	atomic_store(&self_pid, 0);
}

static void register_handlers(void) { pthread_atfork(before_fork, NULL, in_child); }

void pidlock__fork_tracking_init(void) { pthread_once(&once, register_handlers); }

pid_t pidlock__self(void)
{
	pid_t pid = atomic_load(&self_pid);
	if (pid == 0) {
		pid = getpid();
		atomic_store(&self_pid, pid);
	}
	return pid;
}

unsigned pidlock__generation(void) { return atomic_load(&generation); }
unsigned pidlock__forks(void) { return atomic_load(&forks); }
