#!/bin/sh
# The manual pages render without a single warning, under mandoc and under groff (what
# man(1) uses). Usage: man-lint.sh PAGE...
set -eu
[ $# -gt 0 ] || { echo "usage: man-lint.sh PAGE..." >&2; exit 2; }
status=0
for page in "$@"; do
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || true
	if [ -n "$out" ]; then
		echo "FAIL: mandoc: $out" >&2
		status=1
	fi
	# groff reports problems on stderr and still exits 0: any output is a failure.
	out=$(groff -ww -z -man -Tutf8 "$page" 2>&1) || { echo "FAIL: groff failed on $page" >&2; status=1; }
	if [ -n "$out" ]; then
		echo "FAIL: groff: $out" >&2
		status=1
	fi
	# Lines longer than 80 columns in the rendered page mean a table or a literal that
	# does not fit a terminal.
	wide=$(groff -man -Tascii -P-cbou -rLL=78n "$page" 2>/dev/null | awk 'length > 80')
	if [ -n "$wide" ]; then
		echo "FAIL: $page renders lines wider than 80 columns:" >&2
		echo "$wide" >&2
		status=1
	fi
done
[ "$status" = 0 ] && echo "ok"
exit "$status"
