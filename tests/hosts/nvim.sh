#!/bin/sh
# Usage: nvim.sh SOURCE_DIR LUAJIT_MODULE_DIR, with PIDLOCK set.
top=$1 moddir=$2
if ! command -v nvim >/dev/null; then
	echo "SKIP: nvim is not installed (Debian: neovim)"
	exit 77
fi
. "$(dirname "$0")/common.sh"
export PIDLOCK_TEST_OUT="$work/nvim.out"
rc=0
timeout 30 nvim --headless -u NONE -i NONE -n -c "luafile $top/tests/hosts/nvim.lua" \
	</dev/null >"$work/nvim.tty" 2>&1 || rc=$?
result=$(cat "$PIDLOCK_TEST_OUT" 2>/dev/null || true)
[ "$rc" = 0 ] && [ "$result" = ok ] ||
	fail "nvim exited $rc: ${result:-no result}; $(cat "$work/nvim.tty")"
[ ! -e "$lock" ] || fail "the lock file is left after release"
echo ok
