"""Crash from Python: a forked child cycles acquire / release and is killed with SIGKILL after a
random delay, so the kill lands anywhere in the cycle. After each kill (and waitpid) the next
acquire(timeout=0) in the parent must succeed with no cleanup: a stuck state is any failure.

Usage: crash.py [kills]
"""
from __future__ import annotations

import os
import random
import signal
import sys
import time

import pidlock
import tortlib

TIME_CAP = 20.0
MAX_DELAY = 0.002  # s: a Python cycle takes tens of microseconds, so this spans many of them


def cycle_forever(path: str, keep_file: bool) -> None:
    while True:
        with pidlock.acquire(path, timeout=None, keep_file=keep_file):
            pass


def main() -> None:
    kills = tortlib.scaled(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    tmp = tortlib.tmpdir("crash")
    path = os.path.join(tmp, "daemon.lock")
    fds_before = tortlib.count_fds()
    fig = dict(done=0, stuck=0, absent=0, empty=0, child_pid=0, other=0, errors=0)
    start = tortlib.now()
    rng = random.Random(os.getpid())

    while fig["done"] < kills and tortlib.now() - start < TIME_CAP:
        n = fig["done"]
        child = os.fork()
        if child == 0:
            status = 3
            try:
                cycle_forever(path, keep_file=n % 2 == 1)
            finally:
                os._exit(status)  # never back into the parent's loop
        time.sleep(rng.uniform(0, MAX_DELAY))
        os.kill(child, signal.SIGKILL)
        if tortlib.wait_status(child) != 128 + signal.SIGKILL:
            fig["errors"] += 1

        pid = pidlock.read_pid(path)
        if pid == child:
            fig["child_pid"] += 1
        elif pid is None and not os.path.exists(path):
            fig["absent"] += 1
        elif pid is None:
            fig["empty"] += 1
        else:
            fig["other"] += 1

        try:
            lock = pidlock.acquire(path, timeout=0, check_pid=n % 3 == 0)
        except OSError as e:
            fig["stuck"] += 1
            if fig["stuck"] <= 5:
                print(f"stuck after kill {n}: {e} (file said {pid})", flush=True)
        else:
            try:
                lock.release()
            except OSError:
                fig["errors"] += 1
        fig["done"] += 1

    took = tortlib.now() - start
    fds_after = tortlib.count_fds()
    print(f"{tortlib.banner('crash')}: {fig['done']} SIGKILLs of {kills} in {took:.1f} s "
          f"(file at the kill: absent {fig['absent']}, empty {fig['empty']}, "
          f"child's PID {fig['child_pid']}, other {fig['other']}); stuck {fig['stuck']}, "
          f"errors {fig['errors']}; fds before {fds_before}, after {fds_after}", flush=True)
    if fig["stuck"]:
        tortlib.fail(f"crash: {fig['stuck']} stuck states")
    if fig["errors"] or fig["other"]:
        tortlib.fail(f"crash: {fig['errors']} errors, {fig['other']} files naming a stranger")
    if fig["done"] < min(kills, 100):
        tortlib.fail(f"crash: only {fig['done']} kills before the time cap")
    if fds_after != fds_before:
        tortlib.fail("crash: descriptors leaked")
    tortlib.rmtree(tmp)
    tortlib.finish()


if __name__ == "__main__":
    main()
