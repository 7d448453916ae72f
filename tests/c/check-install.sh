#!/bin/sh
# Install the build into a temporary prefix, then build and run a consumer against it twice:
# with pkg-config, and with CMake's find_package(pidlock 1 CONFIG).
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name 'libpidlock.so.1' -printf '%h\n' | head -n1)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir"

# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -o "$tmp/by-pkg-config" "$src/consumer.c" $(pkg-config --cflags --libs pidlock)
"$tmp/by-pkg-config" "$tmp/a.lock"

cmake -S "$src" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/consumer" "$tmp/b.lock"
echo "consumer built and ran by pkg-config and by find_package(pidlock 1 CONFIG)"
