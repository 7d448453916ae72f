#!/usr/bin/python3
"""Runs every benchmark of libpidlock and its alternatives, and writes the report.

    harness.py --build BUILD_DIR [--out DIR] [--quick]

Each figure is the median of REPS repetitions, each a fresh process, with the repetitions of
all variants interleaved so that drift of the machine hits every variant alike. Every
comparison is a ratio against a baseline measured in the same run, on tmpfs (/dev/shm) and on
the disk filesystem (/var/tmp). Writes OUT/latest.md and OUT/latest.png, prints the table.
--quick (or BENCH_QUICK=1) runs a few rounds once: the CI smoke, which checks that every part
still runs and yields numbers, never how fast.
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"

FULL = dict(reps=7, c_cycles={"tmpfs": 20000, "disk": 2000}, py_cycles={"tmpfs": 10000, "disk": 1000},
            sys_cycles=(500, 1000), rounds=200, poll_rounds=200, nprocs=(2, 8, 32), duration_ms=1000,
            probes=20000, import_reps=11)
QUICK = dict(reps=1, c_cycles={"tmpfs": 200, "disk": 50}, py_cycles={"tmpfs": 100, "disk": 20},
             sys_cycles=(20, 40), rounds=10, poll_rounds=3, nprocs=(2, 8), duration_ms=100,
             probes=200, import_reps=1)

# The holder keeps the lock for a random time in [HOLD_MIN, HOLD_MIN + span] µs. A waiter woken
# by an event does not care how long; a polling waiter does, so for those the span is one poll
# period of filelock (50 ms): their phase at the release is then uniform, neither their best
# case nor their worst.
HOLD_MIN_US = 1000
EVENT_SPAN_US = 2000
POLL_SPAN_US = 50000

FILESYSTEMS = (("tmpfs", "/dev/shm"), ("disk", "/var/tmp"))


class Unavailable(Exception):
    """A variant this machine or build cannot run (a missing package): reported as n/a."""


class Bench:
    def __init__(self, build, quick):
        self.build = build
        self.cfg = QUICK if quick else FULL
        self.quick = quick
        self.cbench = os.path.join(build, "bench", "pidlock-bench")
        self.failures = []
        self.dirs = {}
        self.env = dict(os.environ)
        # Bytecode is cached as an installed package would have it: the import-time
        # comparison with Debian's precompiled filelock is otherwise unfair.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.pyenv = {
            "swig": dict(self.env, PYTHONPATH=os.path.join(build, "python"), PIDLOCK_BACKEND="swig"),
            "cffi": dict(self.env, PYTHONPATH=os.path.join(build, "python"), PIDLOCK_BACKEND="cffi",
                         LD_LIBRARY_PATH=os.path.join(build, "libpidlock")),
        }
        self.luaenv = {}
        for interp in ("lua5.4", "luajit"):
            self.luaenv[interp] = dict(self.env, LUA_PATH=os.path.join(TOP, "bindings", "lua", "?.lua"),
                                       LUA_CPATH=os.path.join(build, "lua", interp, "?.so"))
        self.have = {}

    # ------------------------------------------------------------------ running
    def run(self, argv, env=None, timeout=600):
        """stdout of one measuring run; a failure is recorded and raised."""
        try:
            p = subprocess.run(argv, env=env or self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(argv, "timed out")
        if p.returncode != 0:
            if p.returncode == 3:
                raise Unavailable(p.stderr.strip())
            self.fail(argv, f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
        return p.stdout

    def fail(self, argv, why):
        msg = f"{' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv))}: {why}"
        self.failures.append(msg)
        raise RuntimeError(msg)

    def numbers(self, argv, env=None):
        out = self.run(argv, env).split()
        try:
            return [float(x) for x in out]
        except ValueError:
            self.fail(argv, f"not numbers: {out!r}")

    def path(self, fs, name):
        return os.path.join(self.dirs[fs], name)

    def probe_availability(self):
        def works(argv, env):
            try:
                return subprocess.run(argv, env=env, capture_output=True, timeout=60).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                return False

        for backend, env in self.pyenv.items():
            code = f"import pidlock, sys; sys.exit(pidlock.backend != {backend!r})"
            self.have["py-" + backend] = works([PYTHON, "-c", code], env)
        for lib in ("filelock", "fasteners"):
            self.have[lib] = works([PYTHON, "-c", f"import {lib}"], self.env)
        for interp, env in self.luaenv.items():
            self.have[interp] = bool(shutil.which(interp)) and works(
                [interp, "-e", 'require("pidlock")'], env)
        # strace may be installed but not allowed to trace (a container without ptrace)
        self.have["strace"] = bool(shutil.which("strace")) and works(
            ["strace", "-f", "-c", "-o", os.devnull, "--", "true"], self.env)
        try:
            self.run([self.cbench, "cycle", "libbsd", self.path("tmpfs", "probe.pid"), "0", "0"])
            self.have["libbsd"] = True
        except Unavailable:
            self.have["libbsd"] = False

    # ------------------------------------------------------------------ variants
    def py_argv(self, *args):
        return [PYTHON, os.path.join(HERE, "python", "pybench.py"), *args]

    def cycle_variants(self):
        """name -> function(fs, path, n) -> [wall ns, CPU ns] per cycle, or False when unavailable."""
        v = {}
        for c in ("pidlock", "pidlock-keep", "libbsd", "floor"):
            ok = c != "libbsd" or self.have["libbsd"]
            v["C " + c] = ok and (lambda fs, p, n, c=c: self.numbers(
                [self.cbench, "cycle", c, p, str(n)]))
        for backend in ("swig", "cffi"):
            for lib, suffix in (("pidlock", ""), ("pidlock-keep", " keep_file")):
                v["Python " + backend + suffix] = self.have["py-" + backend] and (
                    lambda fs, p, n, b=backend, lib=lib: self.numbers(
                        self.py_argv("cycle", lib, p, str(n)), self.pyenv[b]))
        for lib in ("filelock", "fasteners"):
            v["Python " + lib] = self.have[lib] and (
                lambda fs, p, n, lib=lib: self.numbers(self.py_argv("cycle", lib, p, str(n))))
        for interp in ("lua5.4", "luajit"):
            v["Lua " + interp.replace("lua", "")] = self.have[interp] and (
                lambda fs, p, n, i=interp: self.lua_cycle(i, p, n))
        return v

    def lua_cycle(self, interp, p, n):
        script = os.path.join(HERE, "lua", "cycle.lua")
        times, cpu = [], None
        for count in (n, 0):
            t0 = time.monotonic_ns()
            out = self.run([interp, script, p, str(count)], self.luaenv[interp])
            times.append(time.monotonic_ns() - t0)
            cpu = cpu if cpu is not None else float(out)
        return [(times[0] - times[1]) / n, cpu]

    # ------------------------------------------------------------------ measurements
    def reps(self, reps, variants, measure):
        """Interleaved repetitions; returns {key: [value per repetition]}."""
        out = {}
        for _ in range(reps):
            for key in variants:
                try:
                    out.setdefault(key, []).append(measure(key))
                except Unavailable:
                    out.setdefault(key, [])
                except RuntimeError:
                    out.setdefault(key, [])
        return out

    def cycles(self):
        variants = {k: f for k, f in self.cycle_variants().items()}
        keys = [(fs, name) for fs, _ in FILESYSTEMS for name in variants if variants[name]]

        def measure(key):
            fs, name = key
            cfg = self.cfg["c_cycles" if name.startswith("C ") else "py_cycles"]
            return variants[name](fs, self.path(fs, "cycle.pid"), cfg[fs])
        res = self.reps(self.cfg["reps"], keys, measure)
        for name, f in variants.items():
            if not f:
                for fs, _ in FILESYSTEMS:
                    res[(fs, name)] = None
        return res

    def syscalls(self):
        """Per-cycle counts by subtracting a run of N1 cycles from one of N2 (same warm-up)."""
        if not self.have["strace"]:
            return {}
        n1, n2 = self.cfg["sys_cycles"]
        out = {}
        progs = {"C pidlock": ("c", "pidlock"), "C pidlock keep_file": ("c", "pidlock-keep"),
                 "C libbsd": ("c", "libbsd"), "C floor": ("c", "floor"),
                 "Python swig": ("py", "swig"), "Python cffi": ("py", "cffi"),
                 "Python filelock": ("py", "filelock"), "Python fasteners": ("py", "fasteners")}
        for name, (kind, what) in progs.items():
            if (kind == "c" and what == "libbsd" and not self.have["libbsd"]) or \
                    (kind == "py" and not self.have.get("py-" + what, self.have.get(what))):
                continue
            p = self.path("tmpfs", "sys.pid")

            def argv(n, w=100):
                if kind == "c":
                    return [self.cbench, "cycle", what, p, str(n), str(w)], self.env
                if what in ("swig", "cffi"):
                    return self.py_argv("cycle", "pidlock", p, str(n), str(w)), self.pyenv[what]
                return self.py_argv("cycle", what, p, str(n), str(w)), self.env
            try:
                c1, c2 = self.strace(*argv(n1)), self.strace(*argv(n2))
                per = {s: (c2.get(s, 0) - c1.get(s, 0)) / (n2 - n1) for s in set(c1) | set(c2)}
                per = {s: v for s, v in per.items() if abs(v) >= 0.005}
                first = None
                if kind == "c":
                    f0, f1 = self.strace(*argv(0, 0)), self.strace(*argv(1, 0))
                    first = sum(f1.values()) - sum(f0.values())
                out[name] = (sum(per.values()), per, first)
            except RuntimeError:
                pass
        return out

    def strace(self, argv, env):
        with tempfile.NamedTemporaryFile("r", suffix=".strace") as f:
            self.run(["strace", "-f", "-c", "-o", f.name, "--", *argv], env)
            counts = {}
            for line in f.read().splitlines():
                cols = line.split()
                if len(cols) >= 5 and re.match(r"^\d+\.\d+$", cols[0]) and cols[-1] != "total":
                    counts[cols[-1]] = int(cols[3])
            return counts

    def handoffs(self):
        r, pr = self.cfg["rounds"], self.cfg["poll_rounds"]
        variants = {
            "C floor (F_OFD_SETLKW)": lambda p: self.numbers(
                [self.cbench, "handoff", "floor", p, str(r), str(HOLD_MIN_US), str(EVENT_SPAN_US)]),
            "C pidlock, wait forever": lambda p: self.numbers(
                [self.cbench, "handoff", "pidlock", p, str(r), str(HOLD_MIN_US), str(EVENT_SPAN_US)]),
            "C pidlock, 60 s timeout": lambda p: self.numbers(
                [self.cbench, "handoff", "pidlock-timeout", p, str(r), str(HOLD_MIN_US), str(EVENT_SPAN_US)]),
            # A prefork worker keeps a copy of the kept file's descriptor: no close event wakes
            # the waiter, the owner's release must.
            "C pidlock, kept file, forked worker": lambda p: self.numbers(
                [self.cbench, "handoff", "pidlock-keep", p, str(r), str(HOLD_MIN_US), str(EVENT_SPAN_US),
                 "worker"]),
        }
        for backend in ("swig", "cffi"):
            if self.have["py-" + backend]:
                variants[f"Python {backend}, timeout=None"] = lambda p, b=backend: self.numbers(
                    self.py_argv("handoff", "pidlock", p, str(r), str(HOLD_MIN_US), str(EVENT_SPAN_US)),
                    self.pyenv[b])
                variants[f"Python {backend}, acquire_async"] = lambda p, b=backend: self.numbers(
                    self.py_argv("handoff", "pidlock-async", p, str(r), str(HOLD_MIN_US),
                                 str(EVENT_SPAN_US)), self.pyenv[b])
        keys = [(fs, name) for fs, _ in FILESYSTEMS for name in variants]
        res = self.reps(self.cfg["reps"], keys, lambda k: variants[k[1]](self.path(k[0], "handoff.pid")))
        # The polling waiters sleep through nearly all of a run and their handoff is set by their
        # poll period (ms), so their runs go in parallel: minutes saved, nothing measured changes.
        polled = [(fs, lib) for fs, _ in FILESYSTEMS for lib in ("filelock", "fasteners", "filelock-async")
                  if self.have[lib.split("-")[0]]]
        for _ in range(self.cfg["reps"]):
            runs = {(fs, "Python " + lib): self.py_argv("handoff", lib, self.path(fs, lib + ".pid"), str(pr),
                                                        str(HOLD_MIN_US), str(POLL_SPAN_US))
                    for fs, lib in polled}
            for key, value in self.parallel(runs).items():
                res.setdefault(key, []).extend([value] if value else [])
        return res

    def parallel(self, runs):
        """{key: argv} run at once; {key: numbers or None}."""
        procs = {k: subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for k, argv in runs.items()}
        out = {}
        for k, p in procs.items():
            stdout, stderr = p.communicate(timeout=600)
            try:
                if p.returncode != 0:
                    self.fail(runs[k], f"exit {p.returncode}: {stderr.strip()[-300:]}")
                out[k] = [float(v) for v in stdout.split()]
            except (RuntimeError, ValueError):
                out[k] = None
        return out

    def contention(self):
        keys = [(fs, lock, n) for fs, _ in FILESYSTEMS for n in self.cfg["nprocs"] for lock in ("pidlock", "floor")]
        return self.reps(self.cfg["reps"], keys, lambda k: self.numbers(
            [self.cbench, "contention", k[1], self.path(k[0], "contention.pid"), str(k[2]),
             str(self.cfg["duration_ms"])]))

    def probes(self):
        keys = [(fs, v) for fs, _ in FILESYSTEMS for v in ("pidlock", "readkill")]
        return self.reps(self.cfg["reps"], keys, lambda k: self.numbers(
            [self.cbench, "probe", k[1], self.path(k[0], "probe.pid"), str(self.cfg["probes"])])[0])

    def imports(self):
        mods = {"pidlock (swig)": ("pidlock", self.pyenv["swig"], self.have["py-swig"]),
                "pidlock (cffi)": ("pidlock", self.pyenv["cffi"], self.have["py-cffi"]),
                "filelock": ("filelock", self.env, self.have["filelock"]),
                "fasteners": ("fasteners", self.env, self.have["fasteners"])}
        mods = {k: v for k, v in mods.items() if v[2]}

        def argv(mod):
            return [PYTHON, "-c", "import time; t = time.perf_counter_ns(); import %s; "
                    "print(time.perf_counter_ns() - t)" % mod]
        for mod, env, _ in mods.values():
            self.run(argv(mod), env)  # untimed: writes the bytecode cache
        return self.reps(self.cfg["import_reps"], list(mods),
                         lambda k: self.numbers(argv(mods[k][0]), mods[k][1])[0])

    # ------------------------------------------------------------------ the whole run
    def main(self, out_dir):
        started = time.monotonic()
        sections = {}
        machine = describe_machine()
        for fs, base in FILESYSTEMS:
            self.dirs[fs] = tempfile.mkdtemp(prefix="pidlock-bench.", dir=base)
        try:
            self.probe_availability()
            for name, fn in (("cycle", self.cycles), ("syscalls", self.syscalls), ("handoff", self.handoffs),
                             ("contention", self.contention), ("probe", self.probes),
                             ("import", self.imports)):
                t0 = time.monotonic()
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                sections[name] = fn()
                print(f"bench: {name} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        finally:
            for d in self.dirs.values():
                shutil.rmtree(d, ignore_errors=True)
        machine["load_after"] = os.getloadavg()
        machine["duration_s"] = time.monotonic() - started
        import report  # bench/report.py, beside this file
        os.makedirs(out_dir, exist_ok=True)
        md = report.write(out_dir, sections, machine, self.have, self.cfg, self.quick, self.failures)
        print(md)
        for f in self.failures:
            print("bench: FAILED: " + f, file=sys.stderr)
        return 1 if self.failures or not report.has_numbers(sections) else 0


def describe_machine():
    def fstype(path):
        # findmnt names ext4 as such; stat -f says "ext2/ext3" for all three
        for argv in (["findmnt", "-n", "-o", "FSTYPE", "--target", path], ["stat", "-f", "-c", "%T", path]):
            try:
                out = subprocess.run(argv, capture_output=True, text=True).stdout.strip().split("\n")[0]
            except OSError:
                continue
            if out:
                return out
        return "?"
    try:
        commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), kernel=platform.release(),
                cpus=os.cpu_count(), load_before=os.getloadavg(), commit=commit or "?",
                fs={fs: f"{base} ({fstype(base)})" for fs, base in FILESYSTEMS})


def median(values):
    return statistics.median(values) if values else None


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="the CMake build folder (holds bench/pidlock-bench)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="where latest.md/.png go")
    ap.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    a = ap.parse_args()
    sys.path.insert(0, HERE)
    sys.exit(Bench(os.path.abspath(a.build), a.quick).main(os.path.abspath(a.out)))
