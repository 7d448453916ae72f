"""The report of a benchmark run: bench/results/latest.md and latest.png (see harness.py)."""
import os
import statistics

# Why a target is missed, as profiled (strace -c, perf trace, perf sched timehist; details in
# bench/README.md). Shown only next to a MISS, so a fixed library stops printing them.
WHY = {
    "libbsd": "Not reachable by any lock that creates and unlinks its file: on this kernel "
              "the floor itself costs {floor_libbsd:.2f}x libbsd's cycle. open(O_CREAT) and "
              "unlink dominate; pidfile(3)'s extra calls (fstat, ftruncate, getpid, ...) are "
              "the cheap ones. libpidlock is at {pidlock_floor:.2f}x the floor.",
    "floor": "libpidlock's calls beyond the floor (strace -c, section 2): fstat of the new file "
             "and lstat before unlink (never unlink another's file); since 1.2 a stat of every "
             "directory of the path on every acquire (no cache: a path a fresh process would "
             "refuse is never used), the lock's own fdinfo read at release (open, read, close: "
             "is this still our open file, who owns it now), getpid and a stat of "
             "/proc/self/ns/pid at acquire and release (a forked copy, even in a new PID "
             "namespace, is told apart), and an unlock before the close (no forked copy keeps "
             "the lock).",
    "syscalls": "See the breakdown in section 2: since 1.2 the walk of every directory of the "
                "path (4 stats here), the fdinfo read at release (3), getpid and the PID "
                "namespace's stat at acquire and release (4), the unlock before the close (1); "
                "a kept file adds futimens after the unlock (the wake-up a forked worker's copy "
                "would hold back).",
    "keep": "filelock keeps an empty file and checks nothing: no PID written, no owner, link or "
            "identity check, no safe-path proof.",
    "python": "Interpreter work on top of the C cycle (profiled: ~3 µs in the package: "
              "_fspath, _timeout_ms, PidLock.__init__ with two more wrapped calls, path() and "
              "pid(), and fsdecode; ~1-2 µs in the SWIG calls, which release the GIL). Not "
              "in the core: the bindings could keep the path given and read the PID lazily.",
    "lua": "Interpreter overhead of the Lua layer on top of the C cycle.",
    "handoff": "A waiter sleeps in ppoll on an inotify watch; closing an inotify instance waits "
               "for an SRCU grace period (fsnotify_destroy_group), milliseconds on a busy machine, "
               "so the library keeps one per process instead. A slow handoff now points at "
               "scheduling (perf sched timehist).",
}


def median(values):
    return statistics.median(values) if values else None


def col(rows, i):
    return [r[i] for r in rows] if rows else []


def us(ns, digits=1):
    return "n/a" if ns is None else f"{ns / 1000:.{digits}f}"


def ms(ns):
    return "n/a" if ns is None else (f"{ns / 1e6:.3f}" if ns < 1e7 else f"{ns / 1e6:.1f}")


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def x(r, digits=2):
    return "n/a" if r is None else f"{r:.{digits}f}x"


def has_numbers(sections):
    return any(v for v in (sections.get("cycle") or {}).values())


class Report:
    def __init__(self, sections, machine, have, cfg, quick, failures):
        self.s, self.m, self.have, self.cfg, self.quick, self.failures = \
            sections, machine, have, cfg, quick, failures
        cyc = sections.get("cycle", {})
        # cycle figures: (wall, CPU) ns; the targets use CPU time, which a busy machine's
        # preemptions do not inflate
        self.cyc = {k: (median(col(v, 0)), median(col(v, 1))) for k, v in cyc.items() if v}
        ho = sections.get("handoff", {})
        self.ho = {k: (median(col(v, 0)), median(col(v, 1))) for k, v in ho.items()}

    def c(self, name, fs="tmpfs", metric=1):
        return self.cyc.get((fs, name), (None, None))[metric]

    # ---------------------------------------------------------------- targets
    def targets(self):
        rows = []
        pid, bsd, floor = self.c("C pidlock"), self.c("C libbsd"), self.c("C floor")
        ctx = dict(floor_libbsd=ratio(floor, bsd) or 0, pidlock_floor=ratio(pid, floor) or 0)
        rows.append(("C cycle vs libbsd pidfile(3)", "<= 0.8x", ratio(pid, bsd), 0.8, "le", "libbsd"))
        rows.append(("C cycle vs the floor", "<= 1.25x", ratio(pid, floor), 1.25, "le", "floor"))
        sc = self.s.get("syscalls", {}).get("C pidlock")
        rows.append(("system calls per default cycle", "<= 7", sc[0] if sc else None, 7, "le", "syscalls"))
        sc = self.s.get("syscalls", {}).get("C pidlock keep_file")
        rows.append(("system calls per keep_file cycle", "<= 7", sc[0] if sc else None, 7, "le",
                     "syscalls"))
        rows.append(("Python keep_file cycle vs filelock's", "<= 1.5x",
                     ratio(self.c("Python swig keep_file"), self.c("Python filelock")), 1.5, "le",
                     "keep"))
        rows.append(("Python (SWIG) cycle vs C", "<= 1.3x", ratio(self.c("Python swig"), pid), 1.3, "le", "python"))
        rows.append(("Python (CFFI) cycle vs C", "<= 2x", ratio(self.c("Python cffi"), pid), 2.0, "le", "python"))
        rows.append(("Lua 5.4 cycle vs C", "<= 1.3x", ratio(self.c("Lua 5.4"), pid), 1.3, "le", "lua"))
        filelock = self.ho.get(("tmpfs", "Python filelock"), (None,))[0]
        for name in ("C pidlock, wait forever", "C pidlock, 60 s timeout",
                     "C pidlock, kept file, forked worker", "Python swig, timeout=None",
                     "Python cffi, timeout=None", "Python swig, acquire_async",
                     "Python cffi, acquire_async"):
            med = self.ho.get(("tmpfs", name), (None,))[0]
            rows.append((f"handoff median: {name}", "< 1 ms", None if med is None else med / 1e6,
                         1.0, "lt", "handoff"))
            rows.append((f"handoff vs filelock's: {name}", ">= 20x faster", ratio(filelock, med), 20.0,
                         "ge", "handoff"))
            if name.endswith("acquire_async"):
                rows.append((f"handoff vs filelock's in asyncio.to_thread: {name}", ">= 20x faster",
                             ratio(self.ho.get(("tmpfs", "Python filelock-async"), (None,))[0], med),
                             20.0, "ge", "handoff"))
        lines = ["| target (tmpfs, same run) | limit | measured | verdict | by how much, and why |",
                 "|---|---|---|---|---|"]
        verdicts = []
        for what, limit, val, lim, op, why in rows:
            if val is None:
                verdict, note = "n/a", "not measured (see availability below)"
            else:
                ok = val <= lim if op == "le" else val < lim if op == "lt" else val >= lim
                verdict = "PASS" if ok else "MISS"
                note = ""
                if not ok:
                    off = val / lim - 1 if op in ("le", "lt") else lim / val - 1
                    note = f"{off * 100:.0f} % {'over' if op != 'ge' else 'short of'} the limit. " + \
                        WHY[why].format(**ctx)
            shown = "n/a" if val is None else (f"{val:.2f} ms" if why == "handoff" and op == "lt" else
                                               f"{val:.1f}" if why == "syscalls" else f"{val:.2f}x")
            lines.append(f"| {what} | {limit} | {shown} | {verdict} | {note} |")
            verdicts.append((what, shown, verdict))
        self.verdicts = verdicts
        # A median can pass while the tail shows the cause of a miss in another run.
        for (fs, name), (med, p99) in sorted(self.ho.items()):
            if fs == "tmpfs" and "pidlock" in name and med and p99 and p99 > 1e6 and p99 > 10 * med:
                lines += ["", f"Tail: {name} has a p99 of {ms(p99)} ms (median {ms(med)} ms). " +
                          WHY["handoff"]]
        return lines

    # ---------------------------------------------------------------- sections
    def cycle_names(self):
        names = []
        for fs, name in self.s.get("cycle", {}):
            if name not in names:
                names.append(name)
        return names

    def cycle_table(self, metric):
        lines = ["| variant | tmpfs µs | vs C pidlock | vs floor | disk µs | vs C pidlock | vs floor |",
                 "|---|---|---|---|---|---|---|"]
        for name in self.cycle_names():
            cells = [name]
            for fs in ("tmpfs", "disk"):
                v = self.c(name, fs, metric)
                cells += [us(v), x(ratio(v, self.c("C pidlock", fs, metric))),
                          x(ratio(v, self.c("C floor", fs, metric)))]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def syscall_table(self):
        sc = self.s.get("syscalls", {})
        if not sc:
            return ["strace not available: not measured."]
        lines = ["| variant | per cycle | first cycle of a process | per cycle, by call |", "|---|---|---|---|"]
        for name, (total, per, first) in sc.items():
            calls = ", ".join(f"{k} {v:g}" for k, v in sorted(per.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"| {name} | {total:.1f} | {'' if first is None else first} | {calls} |")
        return lines

    def handoff_table(self):
        names = []
        for fs, name in self.s.get("handoff", {}):
            if name not in names:
                names.append(name)
        lines = ["| waiter | tmpfs median ms | tmpfs p99 ms | filelock / this | disk median ms | disk p99 ms | "
                 "filelock / this |", "|---|---|---|---|---|---|---|"]
        for name in names:
            cells = [name]
            for fs in ("tmpfs", "disk"):
                med, p99 = self.ho.get((fs, name), (None, None))
                fl = self.ho.get((fs, "Python filelock"), (None,))[0]
                cells += [ms(med), ms(p99), x(ratio(fl, med), 1)]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def contention_table(self):
        data = self.s.get("contention", {})
        lines = ["| fs | processes | pidlock acq/s | pidlock min-max per process | floor acq/s | "
                 "floor min-max per process | pidlock / floor |", "|---|---|---|---|---|---|---|"]
        for fs in ("tmpfs", "disk"):
            for n in self.cfg["nprocs"]:
                row = [fs, str(n)]
                rates = {}
                for lock in ("pidlock", "floor"):
                    v = data.get((fs, lock, n))
                    rates[lock] = median(col(v, 0))
                    row += [f"{rates[lock]:.0f}" if rates[lock] is not None else "n/a",
                            f"{median(col(v, 1)):.0f}-{median(col(v, 2)):.0f}" if v else "n/a"]
                row.append(x(ratio(rates["pidlock"], rates["floor"])))
                lines.append("| " + " | ".join(row) + " |")
        return lines

    def probe_table(self):
        data = {k: median(v) for k, v in self.s.get("probe", {}).items()}
        lines = ["| fs | pidlock_holder µs | read file + kill(pid, 0) µs | pidlock / read+kill |", "|---|---|---|---|"]
        for fs in ("tmpfs", "disk"):
            a, b = data.get((fs, "pidlock")), data.get((fs, "readkill"))
            lines.append(f"| {fs} | {us(a, 2)} | {us(b, 2)} | {x(ratio(a, b))} |")
        return lines

    def import_table(self):
        data = {k: median(v) for k, v in self.s.get("import", {}).items()}
        fl = data.get("filelock")
        lines = ["| module | import ms (fresh interpreter) | vs filelock |", "|---|---|---|"]
        for k, v in data.items():
            lines.append(f"| {k} | {ms(v)} | {x(ratio(v, fl))} |")
        return lines

    # ---------------------------------------------------------------- whole file
    def markdown(self, chart_name):
        m, cfg = self.m, self.cfg
        out = ["# libpidlock benchmarks", ""]
        if self.quick:
            out += ["**Smoke run (--quick): one repetition of a few rounds. The numbers only show "
                    "that every part runs; they mean nothing.**", ""]
        load = lambda t: " ".join(f"{v:.2f}" for v in t)
        out += [f"Run {m['date']}, commit {m['commit']}, Linux {m['kernel']}, {m['cpus']} CPUs, "
                f"load average {load(m['load_before'])} before and {load(m['load_after'])} after, "
                f"{m['duration_s']:.0f} s. tmpfs = {m['fs']['tmpfs']}, disk = {m['fs']['disk']}.",
                "",
                f"Each figure is the median of {cfg['reps']} repetitions (fresh processes, variants "
                "interleaved); each ratio compares two figures of this run. Produced by "
                "`scripts/bench` (bench/harness.py); how each number is taken: bench/README.md.",
                "", f"![chart]({chart_name})", "", "## Targets", ""]
        out += self.targets()
        missing = [k for k, v in self.have.items() if not v]
        if missing:
            out += ["", "Not available in this run (package missing or binding not built): " +
                    ", ".join(sorted(missing)) + "."]
        if self.failures:
            out += ["", "Failed measurements:", ""] + [f"- `{f}`" for f in self.failures]
        out += ["", "## 1. Cycle: acquire, write the PID, release (µs per cycle)", "",
                f"C: {cfg['c_cycles']['tmpfs']} cycles on tmpfs, {cfg['c_cycles']['disk']} on disk per "
                f"repetition; Python and Lua: {cfg['py_cycles']['tmpfs']} / {cfg['py_cycles']['disk']}. "
                "filelock and fasteners keep their file and write no PID: they do less than a PID lock.",
                "", "CPU time (user + system) per cycle; the targets use these: on a machine shared with "
                "other work they do not count the time the process sat preempted.", ""]
        out += self.cycle_table(1)
        out += ["", "Wall-clock time per cycle (includes preemption by other work, and on disk the "
                "time spent waiting for the filesystem):", ""]
        out += self.cycle_table(0)
        out += ["", "## 2. System calls per cycle (strace -f -c; tmpfs)", "",
                f"Runs of {cfg['sys_cycles'][1]} and {cfg['sys_cycles'][0]} cycles after the same warm-up, "
                "subtracted and divided, so process start-up cancels; the first cycle of a process is a "
                "run of 1 minus a run of 0 without warm-up.", ""]
        out += self.syscall_table()
        out += ["", "## 3. Handoff: holder's release to the waiter holding the lock", "",
                f"{cfg['rounds']} handoffs per repetition ({cfg['poll_rounds']} for the polling "
                "filelock and fasteners); the holder stamps CLOCK_MONOTONIC just before it releases, "
                "the waiter just after its acquire returns. The holder holds 1-3 ms for waiters woken by "
                "an event and 1-51 ms (one filelock poll period) for the polling ones, so that their "
                "phase is uniform. Figures: the median over repetitions of each repetition's median and "
                "p99. acquire_async: the waiter is an asyncio loop awaiting pidlock.acquire_async() "
                "(the event-loop waiter); filelock-async: filelock's blocking acquire in asyncio.to_thread(), what "
                "users of Debian 12's filelock 3.9 have (AsyncFileLock came in 3.15).", ""]
        out += self.handoff_table()
        out += ["", "## 4. Contention: processes taking turns, waiting acquires", "",
                f"{cfg['duration_ms']} ms per repetition; each process acquires (waiting forever), "
                "releases at once, repeats. floor = F_OFD_SETLKW on a kept file (no create, no unlink).", ""]
        out += self.contention_table()
        out += ["", "## 5. Probe: who holds the lock (held by a child)", ""]
        out += self.probe_table()
        out += ["", "## 6. Python import time", ""]
        out += self.import_table()
        return "\n".join(out) + "\n"

    def chart(self, path):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return False
        fig, ax = plt.subplots(2, 2, figsize=(13, 9))
        fig.suptitle(f"libpidlock benchmarks ({self.m['date']}, medians of {self.cfg['reps']})")

        def bars(a, labels, series, title, ylabel, log=False):
            width = 0.8 / max(1, len(series))
            for i, (name, vals) in enumerate(series.items()):
                xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(labels))]
                a.bar(xs, [v if v is not None else 0 for v in vals], width, label=name)
            a.set_xticks(range(len(labels)))
            a.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
            a.set_title(title, fontsize=10)
            a.set_ylabel(ylabel)
            if log:
                a.set_yscale("log")
            a.legend(fontsize=8)

        names = self.cycle_names()
        bars(ax[0][0], names, {fs: [(self.c(n, fs) or 0) / 1000 for n in names] for fs in ("tmpfs", "disk")},
             "1. acquire + release cycle (CPU time)", "µs per cycle (log)", log=True)
        sc = self.s.get("syscalls", {})
        bars(ax[0][1], list(sc), {"per cycle": [v[0] for v in sc.values()]}, "2. system calls per cycle", "calls")
        ax[0][1].axhline(7, color="red", linestyle="--", linewidth=1, label="target for libpidlock: 7")
        ax[0][1].legend(fontsize=8)
        hn = []
        for fs, name in self.ho:
            if name not in hn:
                hn.append(name)
        bars(ax[1][0], [n.replace(", ", "\n") for n in hn],
             {f"{fs} median": [(self.ho.get((fs, n), (None,))[0] or 0) / 1000 for n in hn] for fs in ("tmpfs", "disk")},
             "3. handoff, release to waiter holding", "µs (log)", log=True)
        ax[1][0].axhline(1000, color="red", linestyle="--", linewidth=1, label="target: 1 ms")
        ax[1][0].legend(fontsize=8)
        con = self.s.get("contention", {})
        labels = [f"{fs} {n}p" for fs in ("tmpfs", "disk") for n in self.cfg["nprocs"]]
        bars(ax[1][1], labels, {lock: [median(col(con.get((fs, lock, n)), 0)) or 0 for fs in ("tmpfs", "disk")
                                       for n in self.cfg["nprocs"]] for lock in ("pidlock", "floor")},
             "4. contention", "acquisitions / s")
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return True


def write(out_dir, sections, machine, have, cfg, quick, failures):
    r = Report(sections, machine, have, cfg, quick, failures)
    md = r.markdown("latest.png")
    if not r.chart(os.path.join(out_dir, "latest.png")):
        md = md.replace("![chart](latest.png)", "(no chart: matplotlib is missing)")
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write(md)
    return md
