#!/bin/sh
# -DPIDLOCK_BUILD_STATIC=ON adds libpidlock.a, which links into a program that needs no
# libpidlock.so at run time.
set -eu
src=$1 cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake -S "$src" -B "$tmp/build" -DPIDLOCK_BUILD_STATIC=ON -DBUILD_TESTING=OFF \
	-DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$tmp/build" --target pidlock_static >/dev/null
cat >"$tmp/use.c" <<'C'
#include <pidlock.h>
int main(int argc, char **argv)
{
	pidlock *lock;
	if (argc != 2 || pidlock_acquire(argv[1], 0, 0, &lock, NULL) < 0)
		return 1;
	return pidlock_release(lock) == 0 ? 0 : 1;
}
C
"$cc" -Wall -Wextra -Werror -I"$src/libpidlock/include" -o "$tmp/use" "$tmp/use.c" \
	"$tmp/build/libpidlock/libpidlock.a"
if ldd "$tmp/use" | grep -q libpidlock; then
	echo "the program still needs libpidlock.so"
	exit 1
fi
"$tmp/use" "$tmp/x.lock"
[ ! -e "$tmp/x.lock" ]
echo "libpidlock.a built and linked statically"
