"""Import time of pidlock (both backends) beside filelock's and fasteners', measured in one run.

    importtime.py [--reps N] [--python PYTHON]

Each import runs in a fresh interpreter (bytecode cached first, untimed), interleaved so that
load on the machine falls on every module alike; the median of N runs is reported, with each
one's difference to filelock and ratio. pidlock is imported from PYTHONPATH as the environment
gives it (a build tree's python/ or an installed package); its backend is PIDLOCK_BACKEND.
Prints a table; exits 0 whatever the numbers (a report, not a test).
"""
import argparse
import os
import statistics
import subprocess
import sys

CODE = ("import time; t = time.perf_counter_ns(); import {mod}; "
        "print(time.perf_counter_ns() - t)")
SUBJECTS = [("pidlock (swig)", "pidlock", {"PIDLOCK_BACKEND": "swig"}),
            ("pidlock (cffi)", "pidlock", {"PIDLOCK_BACKEND": "cffi"}),
            ("filelock", "filelock", {}), ("fasteners", "fasteners", {})]


def once(python, mod, extra):
    env = dict(os.environ, **extra)
    out = subprocess.run([python, "-c", CODE.format(mod=mod)], env=env, capture_output=True,
                         text=True)
    return int(out.stdout) if out.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    subjects = [s for s in SUBJECTS if once(args.python, s[1], s[2]) is not None]
    times = {name: [] for name, _, _ in subjects}
    for _ in range(args.reps):
        for name, mod, extra in subjects:
            ns = once(args.python, mod, extra)
            if ns is not None:
                times[name].append(ns / 1e6)
    med = {name: statistics.median(v) for name, v in times.items() if v}
    base = med.get("filelock")
    print(f"import time, median of {args.reps} fresh interpreters ({args.python})")
    print(f"{'module':<16} {'ms':>8} {'vs filelock':>12} {'ratio':>7}")
    for name in med:
        diff = f"{med[name] - base:+.2f} ms" if base else "-"
        ratio = f"{med[name] / base:.2f}x" if base else "-"
        print(f"{name:<16} {med[name]:8.2f} {diff:>12} {ratio:>7}")
    missing = [name for name, _, _ in SUBJECTS if name not in med]
    if missing:
        print("not importable here:", ", ".join(missing))


if __name__ == "__main__":
    main()
