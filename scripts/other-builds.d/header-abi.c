/* The public header means the same whatever the includer's feature macros: compiled by
 * scripts/other-builds for i386 with and without -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 (and
 * natively). Every type the API passes is named here with its size; the script also fails
 * when the header starts to use a typedef (*_t) or a struct this file does not pin: the API
 * passes only opaque handles, so no off_t, time_t or struct stat can change size under it. */
#include <pidlock.h>

_Static_assert(sizeof(pid_t) == 4, "pid_t is 32 bits on every Linux ABI");
_Static_assert(sizeof(size_t) == sizeof(void *), "size_t is pointer-sized");
_Static_assert(sizeof(unsigned) == 4, "flags are 32 bits");
_Static_assert(sizeof(int) == 4, "timeouts and returns are 32 bits");
_Static_assert(sizeof(long long) == 8, "pidlock_pid_alive() takes any PID-like value");
