#!/bin/sh
# Usage: run.sh PYTHON TESTDIR. Skips (77) only when python-daemon is missing: scripts/test
# installs it (scripts/deps/daemon.list).
py=$1 dir=$2
if ! "$py" -c 'import daemon' 2>/dev/null; then
	echo "SKIP: python-daemon is not installed for $py (Debian: python3-daemon)"
	exit 77
fi
exec "$py" -m pytest -q -p no:cacheprovider -W error::pytest.PytestUnraisableExceptionWarning "$dir"
