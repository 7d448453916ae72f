"""What the Python torture programs share: figures, failures, scratch directories, /proc readings.

The C torture suite (tests/torture) has the same helpers in common.c; these keep the Python
programs' figures and rules (PIDLOCK_TORTURE_SCALE, /dev/shm, FAIL lines) the same.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import pidlock

_failures = 0


def scaled(rounds: int) -> int:
    """PIDLOCK_TORTURE_SCALE (percent, default 100) shrinks round counts, as in the C suite."""
    try:
        pct = int(os.environ.get("PIDLOCK_TORTURE_SCALE") or 100)
    except ValueError:
        pct = 100
    if pct <= 0:
        pct = 100
    return max(1, rounds * pct // 100)


def now() -> float:
    return time.monotonic()


def tmpdir(tag: str) -> str:
    """A fresh directory on tmpfs (like /run, where lock files live) when there is one."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix=f"pidlock-torture-py-{tag}-", dir=base)


def rmtree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def count_fds() -> int:
    # listdir's own descriptor is closed again before it returns, so it is not counted.
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fail(msg: str) -> None:
    global _failures
    _failures += 1
    print(f"FAIL: {msg}", flush=True)


def finish() -> None:
    sys.stdout.flush()
    sys.exit(1 if _failures else 0)


def banner(prog: str) -> str:
    """The program and backend a figure belongs to: 'race (swig)'."""
    return f"{prog} ({pidlock.backend})"


def wait_status(pid: int) -> int:
    """waitpid() for pid: its exit status, or 128 + signal, as tt_wait() in the C suite."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
