"""Race from Python: N processes (multiprocessing) take turns on one path.

Exclusivity is proven in shared memory, not by timing: a holder bumps an "inside" counter and
finds it was 0, writes its id into an owner slot and finds it still there when leaving. Half
the workers fail at once and retry, half wait in the library (timeout=1). Inside, the file and
a probe must both name the holder.

Usage: race.py [processes] [rounds-per-process]
"""
from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import sys
import time

import pidlock
import tortlib

TIME_CAP = 15.0     # s: workers stop starting rounds after this
STUCK_AFTER = 10.0  # s without a single entry while workers live: wedged

# Per-worker figures, one row each in a shared array: no cross-process increments needed.
FIELDS = ("entries", "doubles", "wrong_owner", "wrong_pid", "wrong_probe", "errors",
          "timeouts", "retries", "capped")


def worker(wid: int, path: str, rounds: int, deadline: float, inside, owner, stats) -> None:
    row = {name: 0 for name in FIELDS}
    base = wid * len(FIELDS)
    waiting = wid % 2 == 1
    me = os.getpid()

    def publish() -> None:
        for i, name in enumerate(FIELDS):
            stats[base + i] = row[name]

    for _ in range(rounds):
        lock = None
        tries = 0
        while lock is None:
            if time.monotonic() > deadline:
                row["capped"] = 1
                publish()
                return
            try:
                lock = pidlock.acquire(path, timeout=1.0 if waiting else 0)
            except pidlock.AlreadyRunning:
                if waiting:
                    row["timeouts"] += 1
                else:
                    # Spin a little, then back off: 8 spinners on 2 cores would starve the
                    # holder they wait for.
                    row["retries"] += 1
                    tries += 1
                    if tries < 8:
                        os.sched_yield()
                    else:
                        time.sleep(0.0001)
            except OSError as e:
                row["errors"] += 1
                print(f"worker {wid}: {e!r}", flush=True)
                time.sleep(0.01)
        with lock:
            inside.value += 1
            if inside.value != 1:
                row["doubles"] += 1
            owner.value = me
            if pidlock.read_pid(path) != me:
                row["wrong_pid"] += 1
            if pidlock.holder(path) != me:
                row["wrong_probe"] += 1
            if owner.value != me:
                row["wrong_owner"] += 1
            inside.value -= 1
            row["entries"] += 1
        if row["entries"] % 16 == 0:
            publish()
    publish()


def main() -> None:
    procs = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    rounds = tortlib.scaled(int(sys.argv[2]) if len(sys.argv) > 2 else 500)
    ctx = mp.get_context("fork")
    # Raw shared memory: the check must not take a lock of its own, or it would serialize
    # the holders and hide a double entry.
    inside = ctx.RawValue(ctypes.c_int, 0)
    owner = ctx.RawValue(ctypes.c_int, 0)
    stats = ctx.RawArray(ctypes.c_long, procs * len(FIELDS))
    tmp = tortlib.tmpdir("race")
    path = os.path.join(tmp, "daemon.lock")
    fds_before = tortlib.count_fds()

    start = tortlib.now()
    deadline = time.monotonic() + TIME_CAP
    workers = [ctx.Process(target=worker, args=(i, path, rounds, deadline, inside, owner, stats))
               for i in range(procs)]
    for w in workers:
        w.start()

    def total(name: str) -> int:
        i = FIELDS.index(name)
        return sum(stats[w * len(FIELDS) + i] for w in range(procs))

    last, last_move = -1, tortlib.now()
    while any(w.is_alive() for w in workers):
        entries = total("entries")
        if entries != last:
            last, last_move = entries, tortlib.now()
        elif tortlib.now() - last_move > STUCK_AFTER:
            tortlib.fail(f"race: stuck: no progress for {STUCK_AFTER:.0f} s")
            for w in workers:
                w.kill()
            break
        time.sleep(0.05)
    for w in workers:
        w.join()
        if w.exitcode != 0:
            tortlib.fail(f"race: worker {w.pid} ended with {w.exitcode}")
        w.close()  # its sentinel pipe, or the parent's descriptor count would grow
    took = tortlib.now() - start

    f = {name: total(name) for name in FIELDS}
    planned = procs * rounds
    print(f"{tortlib.banner('race')}: {procs} processes x {rounds} rounds: {f['entries']} entries "
          f"of {planned} in {took:.1f} s{' (time cap hit)' if f['capped'] else ''}; "
          f"double holders {f['doubles']}, owner overwritten while held {f['wrong_owner']}, "
          f"wrong PID while held {f['wrong_pid']}, wrong probe while held {f['wrong_probe']}, "
          f"errors {f['errors']}, waits timed out {f['timeouts']}, "
          f"fail-at-once retries {f['retries']}", flush=True)
    if f["doubles"] or f["wrong_owner"] or f["wrong_pid"] or f["wrong_probe"]:
        tortlib.fail("race: exclusivity broken")
    if f["errors"]:
        tortlib.fail(f"race: {f['errors']} errors")
    if f["entries"] == 0:
        tortlib.fail("race: no entries at all")
    left = os.listdir(tmp)
    if left:
        tortlib.fail(f"race: files left in the directory: {left}")
    fds_after = tortlib.count_fds()
    print(f"{tortlib.banner('race')}: fds before {fds_before}, after {fds_after}", flush=True)
    if fds_after != fds_before:
        tortlib.fail("race: descriptors leaked in the parent")
    tortlib.rmtree(tmp)
    tortlib.finish()


if __name__ == "__main__":
    main()
