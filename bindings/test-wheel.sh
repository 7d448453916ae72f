#!/bin/sh
# The packaging check: build a wheel offline from a copy of the tree, install it into a
# fresh venv, and take a lock from another directory with nothing else on the path.
# Usage: test-wheel.sh PYTHON SOURCE_TOP WORKDIR
set -eu
py=$1 top=$2 work=$3
rm -rf "$work"
mkdir -p "$work/src" "$work/elsewhere"
# A copy, so the build leaves the source tree alone and parallel builds cannot collide.
cp -r "$top/pyproject.toml" "$top/setup.py" "$top/python" "$top/libpidlock" "$work/src/"
mkdir -p "$work/src/bindings" && cp "$top/bindings/pidlock.i" "$top/bindings/pidlock_message.h" \
  "$top/bindings/cffi_build.py" "$work/src/bindings/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +

"$py" -m pip wheel -q --no-build-isolation --no-deps -w "$work/dist" "$work/src"
"$py" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install -q --no-index --no-deps "$work/dist"/pidlock-*.whl

cd "$work/elsewhere"
env -u PYTHONPATH -u LD_LIBRARY_PATH -u PIDLOCK_BACKEND "$work/venv/bin/python" - "$work" <<'PY'
import os, subprocess, sys
import pidlock

work = sys.argv[1]
assert pidlock.__file__.startswith(os.path.join(work, "venv")), pidlock.__file__
assert pidlock.backend == "swig", pidlock.backend
ext = [f for f in os.listdir(os.path.dirname(pidlock.__file__)) if f.startswith("_pidlock_core")]
deps = subprocess.run(["ldd", os.path.join(os.path.dirname(pidlock.__file__), ext[0])],
                      capture_output=True, text=True).stdout
assert "libpidlock" not in deps, deps
p = os.path.join(work, "elsewhere", "daemon.lock")
with pidlock.acquire(p) as lock:
    assert pidlock.holder(p) == os.getpid()
    assert os.path.exists(os.path.join(os.path.dirname(pidlock.__file__), "py.typed"))
    # the CFFI declarations, written from pidlock.h by the build
    assert os.path.exists(os.path.join(os.path.dirname(pidlock.__file__), "pidlock.cdef"))
assert not os.path.exists(p)
print("wheel ok:", pidlock.__version__, pidlock.__file__)
PY
