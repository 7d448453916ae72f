/* An LD_PRELOAD shim that plays the other of two starters racing on a new file: just before the
 * library's first lock attempt on a descriptor, another starter (here: this shim) has opened
 * the same new file, written a longer PID into it and died. The library must then write its
 * PID over a file that is not empty, and a reader must never see its PID followed by the
 * other's tail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static int (*real_fcntl)(int, int, ...);
static int done_fd = -1;

static int interposed(int fd, int cmd, va_list ap)
{
	void *arg = va_arg(ap, void *);

	if (!real_fcntl)
		real_fcntl = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
	if (cmd == F_OFD_SETLK && fd != done_fd) {
		static const char other[] = "1234567890\n";
		done_fd = fd;
		if (pwrite(fd, other, sizeof other - 1, 0) != (ssize_t)(sizeof other - 1))
			return -1;
	}
	return real_fcntl(fd, cmd, arg);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int r;

	va_start(ap, cmd);
	r = interposed(fd, cmd, ap);
	va_end(ap);
	return r;
}

/* glibc's other name for it, in builds with a 64-bit off_t */
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
