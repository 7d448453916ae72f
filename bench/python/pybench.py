"""The Python side of the benchmarks, one repetition per run (bench/harness.py repeats them).

    pybench.py cycle LIB PATH N [WARMUP]      -> ns per acquire+release: wall, CPU
    pybench.py handoff LIB PATH ROUNDS HOLD_MIN_US HOLD_SPAN_US
                                              -> median_ns p99_ns rounds

LIB is pidlock (the backend follows PIDLOCK_BACKEND, as for any user), filelock or fasteners.
Each is used the way its documentation shows: a context manager for the cycle, and its
default blocking acquire for the handoff. pidlock-async and filelock-async wait inside an
asyncio loop: pidlock.acquire_async(), and filelock's blocking acquire in asyncio.to_thread()
(Debian 12's filelock, 3.9, has no AsyncFileLock; it came in 3.15). Timestamps are CLOCK_MONOTONIC
(time.monotonic_ns), the clock the C benchmark uses.
"""
import os
import random
import sys
import time


def _pidlock(keep_file=False):
    import pidlock

    def cycle(path):
        with pidlock.acquire(path, keep_file=keep_file):
            pass

    def wait(path):
        return pidlock.acquire(path, timeout=None)

    return cycle, wait, lambda lock: lock.release()


def _lock_class(module, name):
    """filelock.FileLock and fasteners.InterProcessLock: one object per acquire, as documented."""
    cls = getattr(__import__(module), name)

    def cycle(path):
        with cls(path):
            pass

    def wait(path):
        lock = cls(path)
        lock.acquire()
        return lock

    return cycle, wait, lambda lock: lock.release()


def _in_loop(start):
    """wait(path) for the asyncio variants: ``start(path)`` awaited in an event loop kept for
    the process, made on its first wait (after the fork: holder and waiter never share one)."""
    import asyncio
    loops = {}

    def wait(path):
        loop = loops.get(os.getpid())
        if loop is None:
            loop = loops[os.getpid()] = asyncio.new_event_loop()
        return loop.run_until_complete(start(path))

    return wait


def _pidlock_async():
    import pidlock
    cycle, _, release = _pidlock()
    return cycle, _in_loop(lambda path: pidlock.acquire_async(path, timeout=None)), release


def _filelock_async():
    """filelock from asyncio as users of Debian 12's filelock (3.9, which has no AsyncFileLock:
    that came in 3.15) do it: the blocking acquire in a worker thread."""
    import asyncio
    import filelock
    cycle, _, release = _lock_class("filelock", "FileLock")

    async def start(path):
        lock = filelock.FileLock(path)
        await asyncio.to_thread(lock.acquire)
        return lock

    return cycle, _in_loop(start), release


LIBS = {"pidlock-async": _pidlock_async, "filelock-async": _filelock_async,
        "pidlock": _pidlock, "pidlock-keep": lambda: _pidlock(keep_file=True), "filelock": lambda: _lock_class("filelock", "FileLock"),
        "fasteners": lambda: _lock_class("fasteners", "InterProcessLock")}


def run_cycle(cycle, path, n, warmup):
    for _ in range(warmup):
        cycle(path)
    t0, c0 = time.monotonic_ns(), time.process_time_ns()
    for _ in range(n):
        cycle(path)
    c1, t1 = time.process_time_ns(), time.monotonic_ns()
    n = max(n, 1)
    print(f"{(t1 - t0) / n:.1f} {(c1 - c0) / n:.1f}")


def percentile(sorted_samples, q):
    """Nearest rank, as the C side computes it."""
    rank = max(1, -(-len(sorted_samples) * q // 100))
    return sorted_samples[rank - 1]


def run_handoff(wait, release, path, rounds, hold_min_us, hold_span_us):
    rng = random.Random(0x5EED)
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(done_r)
            while os.read(go_r, 1):
                lock = wait(path)
                stamp = time.monotonic_ns()
                release(lock)
                os.write(done_w, stamp.to_bytes(8, "little"))
            code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(done_w)
    samples = []
    for _ in range(rounds):
        lock = wait(path)
        os.write(go_w, b"x")
        time.sleep((hold_min_us + rng.random() * hold_span_us) / 1e6)
        released = time.monotonic_ns()
        release(lock)
        got = os.read(done_r, 8)
        if len(got) != 8:
            sys.exit("pybench: the waiter failed")
        samples.append(int.from_bytes(got, "little") - released)
    os.close(go_w)
    _, status = os.waitpid(child, 0)
    if status != 0:
        sys.exit("pybench: the waiter failed")
    samples.sort()
    median = samples[len(samples) // 2] if len(samples) % 2 else \
        (samples[len(samples) // 2 - 1] + samples[len(samples) // 2]) // 2
    print(median, percentile(samples, 99), rounds)


def main(argv):
    if len(argv) < 4 or argv[1] not in LIBS or argv[0] not in ("cycle", "handoff"):
        sys.exit(__doc__)
    cycle, wait, release = LIBS[argv[1]]()
    path, nums = argv[2], [int(a) for a in argv[3:]]
    if argv[0] == "cycle":
        run_cycle(cycle, path, nums[0], nums[1] if len(nums) > 1 else 100)
    else:
        run_handoff(wait, release, path, *nums)


if __name__ == "__main__":
    main(sys.argv[1:])
