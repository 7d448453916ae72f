#!/bin/sh
# The shared library must export exactly the symbols its version script lists.
set -eu
lib=$1 map=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" { sub(/@.*/, "", $3); print $3 }' | sort)
listed=$(sed -n 's/^[[:space:]]*\(pidlock_[a-z_]*\);.*/\1/p' "$map" | sort)
if [ "$exported" != "$listed" ]; then
	echo "exported symbols differ from $map:"
	printf '%s\n' "$exported" > /tmp/pidlock-exported.$$
	printf '%s\n' "$listed" | diff - /tmp/pidlock-exported.$$ || true
	rm -f /tmp/pidlock-exported.$$
	exit 1
fi
nm -D "$lib" | grep -q ' A PIDLOCK_1.0$' || { echo "no PIDLOCK_1.0 version node"; exit 1; }
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libpidlock.so.1 ] || { echo "SONAME is '$soname', want libpidlock.so.1"; exit 1; }
echo "exported: $(printf '%s\n' "$exported" | wc -l) symbols, all in PIDLOCK_1.0, SONAME $soname"
