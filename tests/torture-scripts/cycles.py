"""Cycles from Python: 100,000 acquire/release cycles (with-statement) on tmpfs must leave the
resident set flat and the descriptor count unchanged; then 10,000 locks dropped without release,
half freed by reference counting (__del__) and half as cyclic garbage found by gc, must be
released all the same.

Usage: cycles.py [cycles] [dropped]
"""
from __future__ import annotations

import gc
import os
import sys
import warnings

import pidlock
import tortlib

RSS_BOUND = 1 << 20  # bytes the resident set may grow by after warm-up
WARMUP = 2000        # cycles before the first reading: allocator pools, caches, lazy imports
GC_BATCH = 100       # locks left in reference cycles before each gc.collect()


def with_cycles(path: str, n: int) -> int:
    """n with-blocks; counts those that did not find the lock free."""
    failed = 0
    for _ in range(n):
        try:
            with pidlock.acquire(path):
                pass
        except OSError:
            failed += 1
    return failed


def dropped_cycles(tmp: str, n: int) -> int:
    """n locks never released by hand; counts acquires that found a dropped lock still held."""
    failed = 0
    paths = [os.path.join(tmp, f"drop{i}.lock") for i in range(GC_BATCH)]
    for i in range(n):
        cyclic = i % (2 * GC_BATCH) >= GC_BATCH
        try:
            lock = pidlock.acquire(paths[i % GC_BATCH] if cyclic else paths[0] + ".rc")
        except OSError:
            failed += 1
            continue
        if cyclic:
            # Only the cycle collector can free it: each path is reused once gc has run.
            lock.cycle = lock  # type: ignore[attr-defined]
        del lock  # a plain drop: __del__ runs here, by reference counting
        if i % GC_BATCH == GC_BATCH - 1:
            gc.collect()
    gc.collect()
    return failed


def measure(label: str, run, n: int) -> None:
    gc.collect()
    fds_before = tortlib.count_fds()
    run(min(WARMUP, n))
    gc.collect()
    rss_before = tortlib.rss_bytes()
    start = tortlib.now()
    failed = run(n)
    took = tortlib.now() - start
    gc.collect()
    rss_after = tortlib.rss_bytes()
    fds_after = tortlib.count_fds()
    grew = rss_after - rss_before
    print(f"{tortlib.banner('cycles')} {label}: {n} cycles in {took:.1f} s "
          f"({took / n * 1e6:.1f} us each); failed acquires {failed}; "
          f"RSS before {rss_before // 1024} KiB, after {rss_after // 1024} KiB "
          f"(grew {grew // 1024} KiB, bound {RSS_BOUND // 1024} KiB); "
          f"fds before {fds_before}, after {fds_after}", flush=True)
    if failed:
        tortlib.fail(f"cycles {label}: {failed} acquires failed")
    if grew > RSS_BOUND:
        tortlib.fail(f"cycles {label}: RSS grew by {grew} bytes")
    if fds_after != fds_before:
        tortlib.fail(f"cycles {label}: descriptors went from {fds_before} to {fds_after}")


def main() -> None:
    n = tortlib.scaled(int(sys.argv[1]) if len(sys.argv) > 1 else 100000)
    dropped = tortlib.scaled(int(sys.argv[2]) if len(sys.argv) > 2 else 10000)
    tmp = tortlib.tmpdir("cycles")
    path = os.path.join(tmp, "daemon.lock")

    measure("with", lambda k: with_cycles(path, k), n)
    # The ResourceWarning each dropped lock gives is the point of the test, not a finding.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        measure("dropped (__del__ and gc)", lambda k: dropped_cycles(tmp, k), dropped)
    if gc.garbage:
        tortlib.fail(f"cycles: {len(gc.garbage)} objects in gc.garbage")
    left = os.listdir(tmp)
    if left:
        tortlib.fail(f"cycles: files left behind: {sorted(left)[:5]}")
    tortlib.rmtree(tmp)
    tortlib.finish()


if __name__ == "__main__":
    main()
