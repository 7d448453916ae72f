/* Names of the errnos the test programs print or read back (conformance's --errnos table,
 * torture-hostile's matrix). strerrorname_np() would do, but it is glibc's alone, and the
 * musl build of scripts/other-builds runs these programs too. Header-only: each program
 * that includes it gets its own copy of the one table. */
#ifndef PIDLOCK_TESTS_ERRNAMES_H
#define PIDLOCK_TESTS_ERRNAMES_H

#include <errno.h>
#include <stddef.h>

#define ERRNAME(x) { x, #x }
static const struct {
	int e;
	const char *name;
} test_errnames[] = {
	ERRNAME(EPERM), ERRNAME(ENOENT), ERRNAME(ESRCH), ERRNAME(EINTR), ERRNAME(EIO),
	ERRNAME(ENXIO), ERRNAME(EBADF), ERRNAME(ECHILD), ERRNAME(EAGAIN), ERRNAME(ENOMEM),
	ERRNAME(EACCES), ERRNAME(EBUSY), ERRNAME(EEXIST), ERRNAME(EXDEV), ERRNAME(ENODEV),
	ERRNAME(ENOTDIR), ERRNAME(EISDIR), ERRNAME(EINVAL), ERRNAME(ENFILE), ERRNAME(EMFILE),
	ERRNAME(ETXTBSY), ERRNAME(EFBIG), ERRNAME(ENOSPC), ERRNAME(ESPIPE), ERRNAME(EROFS),
	ERRNAME(EMLINK), ERRNAME(ERANGE), ERRNAME(EDEADLK), ERRNAME(ENAMETOOLONG),
	ERRNAME(ENOLCK), ERRNAME(ENOSYS), ERRNAME(ELOOP), ERRNAME(EOVERFLOW), ERRNAME(EBADFD),
	ERRNAME(ENOTSUP), ERRNAME(ETIMEDOUT), ERRNAME(ESTALE), ERRNAME(EDQUOT),
};
#undef ERRNAME

/* The name of @e ("EINVAL"), or NULL for one the table does not hold. */
static inline const char *test_errno_name(int e)
{
	for (size_t i = 0; i < sizeof test_errnames / sizeof *test_errnames; i++)
		if (test_errnames[i].e == e)
			return test_errnames[i].name;
	return NULL;
}

#endif
