/* What the library says about itself and its codes: messages, version, locking primitive. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "pidlock-int.h"

const char *pidlock_lock_method(void)
{
#ifdef PIDLOCK_HAVE_OFD
	return "ofd";
#else
	return "flock";
#endif
}

const char *pidlock_strerror(int err)
{
	if (err == -EAGAIN)
		return "already running (the lock is held by another process)";
	if (err == -EBUSY)
		return "the lock file is read-locked by a process that is not a holder";
	if (err == -EBADFD)
		return "the lock's descriptor was closed or replaced behind the library's back: the lock is lost";
	if (err == 0)
		return "success";
	return strerror(err < 0 ? -err : err);
}

const char *pidlock_version(void)
{
#define STR_(x) #x
#define STR(x) STR_(x)
	return STR(PIDLOCK_VERSION_MAJOR) "." STR(PIDLOCK_VERSION_MINOR) "." STR(PIDLOCK_VERSION_PATCH);
}
