/* Holds the kernel lock on a file without ever writing a PID into it, until killed: the
 * state a holder is in between its lock and its write, frozen so a test can look at it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	if (argc != 2) {
		fputs("usage: hold-unwritten PATH\n", stderr);
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;)
		pause();
}
