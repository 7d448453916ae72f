/* pidlock_message.h: the one wording of a failed call for every binding.
 *
 * Compiled into the SWIG module (Python and Lua) and into the CFFI module (API mode), so that
 * Python with either backend and Lua say the same sentence. The reason itself is the C
 * library's: pidlock_last_error() when it has one, pidlock_strerror() otherwise; this adds
 * only what a binding knows and the library does not word: the path of the call and who the
 * holder is. Read it right after the failing call, in the same thread (the reason is per
 * thread and valid until the thread's next pidlock call).
 */
#ifndef PIDLOCK_MESSAGE_H
#define PIDLOCK_MESSAGE_H

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "pidlock.h"

/* Fill @buf with the message for return code @rc (negative errno) of a call on @path (may be
 * NULL), whose holder output was @holder (0 when the call has none). Returns @buf. */
static inline const char *pidlock_message(char *buf, size_t size, int rc, const char *path,
					  pid_t holder)
{
	const char *why = pidlock_last_error();
	char checked[512];

	if (rc == -EAGAIN && path) {
		/* The PID is the kernel's answer, never the file's word: a holder that is this very
		 * process is a second acquire of a lock this process has (locks are not reentrant). */
		if (holder > 0 && holder == getpid())
			snprintf(buf, size, "already held by this process (lock file: %s); a pidlock is "
				 "not reentrant: use the lock this process already has", path);
		else if (holder > 0)
			snprintf(buf, size, "already running as PID %d (lock file: %s)", (int)holder,
				 path);
		else
			snprintf(buf, size, "already running (lock file: %s): %s", path,
				 why ? why : "no PID in the file could be shown to hold the lock "
				 "(not written yet, or not visible to this process)");
		return buf;
	}
	if (!why && rc == -EPERM && path &&
	    pidlock_check_path(path, checked, sizeof checked) == -EPERM && checked[0])
		why = checked;
	if (!why && rc == -ECHILD)
		why = "this handle was made by another process and was copied into this one by "
		      "fork(): make a new one in this process";
	if (!why)
		why = pidlock_strerror(rc);
	if (path)
		snprintf(buf, size, "%s: %s", path, why);
	else
		snprintf(buf, size, "%s", why);
	return buf;
}

#endif /* PIDLOCK_MESSAGE_H */
