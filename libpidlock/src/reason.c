/* The sentence behind the last failure: which directory, file or process, and why. Written
 * once here, where the library refuses, and shown unchanged by the command and every binding,
 * so that a refusal reads the same in C, Python, Lua and the shell. One buffer per thread: a
 * call in one thread never changes what another thread is told. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>

#include "pidlock-int.h"

#define REASON_MAX 512

static __thread char reason[REASON_MAX];

void pidlock__explain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* clang-analyzer 14 takes a va_list started just above for uninitialized when the buffer
	 * is thread-local: a false positive. */
	vsnprintf(reason, sizeof reason, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
}

void pidlock__explain_clear(void) { reason[0] = '\0'; }

const char *pidlock_last_error(void) { return reason[0] ? reason : NULL; }
