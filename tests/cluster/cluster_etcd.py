#!/usr/bin/python3
"""cluster-etcd: one active instance across three "hosts" with examples/cluster's recipe,
`etcdctl lock --ttl TTL NAME -- etcd-lock-guard -- pidlock run LOCK -- daemon`, on a real
3-member etcd cluster on loopback.

Usage: cluster_etcd.py PIDLOCK GUARD UNIT [TTL]

Every host runs the ExecStart= line of the example unit UNIT, with this test's paths, TTL and
daemon, in a restart loop that sleeps RestartSec= (what systemd's Restart= does on a real
machine), in a session of its own with its own lock directory. A sampler reads /proc/locks
every 10 ms for the whole run and fails the test if two hosts' lock files are ever held at
once; the daemons append
"SEQ TOKEN HOST" to one shared log, which must show SEQ 1, 2, 3... (a second writer would
repeat one), fencing tokens that never go down, and each token used by one host only.
Bounds the issue sets are asserted (take-over within TTL + 2 s, stop within the TTL on loss of
quorum); every other figure is printed, not asserted. Exit 77 (skip) when etcd is missing.
"""

import atexit
import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
PR_SET_CHILD_SUBREAPER = 36
LOCK_NAME = "pidlock-cluster-test"


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


def note(msg):
    print(msg, flush=True)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def proc_stat(pid):
    """(ppid, session) of a live process; None when gone or a zombie (dead, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (int(fields[1]), int(fields[3]))


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


class Cluster:
    def __init__(self, work, etcd):
        self.work = work
        self.etcd = etcd
        ports = free_ports(6)
        self.client = ports[:3]
        self.peer = ports[3:]
        self.names = ["m1", "m2", "m3"]
        self.procs = [None, None, None]
        self.endpoints = ",".join(f"127.0.0.1:{p}" for p in self.client)
        self.initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer))

    def start(self, i):
        n = self.names[i]
        log = open(os.path.join(self.work, f"etcd-{n}.log"), "a")
        # --pdeathsig: a member never outlives the test, even when the test is SIGKILLed.
        self.procs[i] = subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", self.etcd, "--name", n,
             "--data-dir", os.path.join(self.work, f"etcd-{n}"),
             "--listen-client-urls", f"http://127.0.0.1:{self.client[i]}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.client[i]}",
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
             "--initial-cluster", self.initial, "--initial-cluster-token", "pidlock-test",
             "--initial-cluster-state", "new",
             # Loopback answers in microseconds: etcd's tuning guide sizes the heartbeat by the
             # round trip and the election timeout at 10 heartbeats. A leader's crash then
             # costs ~0.5-1 s instead of 1-2 s, well inside a 3 s TTL.
             "--heartbeat-interval", "50", "--election-timeout", "500"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def kill(self, i):
        """SIGKILL: the member crashes, as with a power cut; no leadership hand-over."""
        p = self.procs[i]
        p.kill()
        p.wait()
        self.procs[i] = None

    def leader(self, env):
        r = subprocess.run(["etcdctl", "endpoint", "status", "-w", "json"], env=env,
                           capture_output=True, text=True, timeout=20)
        for st in json.loads(r.stdout or "[]"):
            s = st["Status"]
            if s["header"]["member_id"] == s["leader"]:
                return self.client.index(int(st["Endpoint"].rsplit(":", 1)[1]))
        fail(f"no leader in the cluster: {r.stdout} {r.stderr}")
        return None


class Sampler(threading.Thread):
    """Every 10 ms: which hosts' lock files are held (by anyone), from /proc/locks."""

    def __init__(self, lockfiles):
        super().__init__(daemon=True)
        self.lockfiles = lockfiles
        self.samples = []  # (time, frozenset of host indexes)
        self.stopping = threading.Event()
        self.max_gap = 0.0
        self.late = 0  # samples more than 50 ms after the one before
        self.two = None  # the first sample with two hosts active

    def held(self):
        ids = {}
        for i, path in enumerate(self.lockfiles):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            ids[f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"] = i
        hosts = set()
        with open("/proc/locks") as f:
            for line in f:
                for field in line.split():
                    if field in ids:
                        hosts.add(ids[field])
        return frozenset(hosts)

    def run(self):
        # Nice values are per thread on Linux: only the sampler gets ahead of a busy machine
        # (when allowed; as root it is).
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -10)
        except OSError:
            pass
        last = None
        while not self.stopping.is_set():
            t = time.monotonic()
            h = self.held()
            self.samples.append((t, h))
            if last is not None:
                self.max_gap = max(self.max_gap, t - last)
                self.late += t - last > 0.05
            last = t
            if len(h) > 1 and self.two is None:
                self.two = (t, h)
            time.sleep(0.01)

    def now(self):
        return self.samples[-1][1] if self.samples else frozenset()

    def since(self, t0):
        return [s for s in self.samples if s[0] >= t0]


def read_unit(unit):
    """The ExecStart= words of the example unit, checked for the recipe's shape, and its
    RestartSec=. Returns (argv, where each part the test replaces sits, restart seconds)."""
    conf = {}
    with open(unit) as f:
        for line in f:
            k, eq, v = line.strip().partition("=")
            if eq and not k.startswith("#"):
                conf[k] = v
    argv = shlex.split(conf.get("ExecStart", ""))
    where = {}
    try:
        if os.path.basename(argv[0]) != "etcdctl" or argv[1] != "lock":
            raise ValueError("ExecStart= is not 'etcdctl lock'")
        i = 2
        while argv[i].startswith("--"):
            if argv[i] == "--ttl":
                where["ttl"] = i + 1
            i += 1 if "=" in argv[i] else 2
        where["name"] = i
        if argv[i + 1] != "--" or os.path.basename(argv[i + 2]) != "etcd-lock-guard":
            raise ValueError("etcdctl lock NAME is not followed by '-- etcd-lock-guard'")
        where["guard"] = i = i + 2
        i = argv.index("--", i) + 1
        if os.path.basename(argv[i]) != "pidlock" or argv[i + 1] != "run" or argv[i + 3] != "--":
            raise ValueError("the guard does not run 'pidlock run PATH -- COMMAND'")
        where["pidlock"], where["lock"], where["command"] = i, i + 2, i + 4
        if "ttl" not in where or len(argv) <= where["command"]:
            raise ValueError("no --ttl or no COMMAND")
    except (IndexError, ValueError) as e:
        fail(f"{unit}: {e}: {argv}")
    return argv, where, float(conf.get("RestartSec", "0.1"))


DAEMON = r'''
log=$SHARED/log
while :; do
	seq=$(($(wc -l <"$log") + 1))
	echo "$seq $ETCD_LOCK_REV $HOST" >>"$log"
	sleep 0.05
done
'''


class Test:
    def __init__(self, pidlock, guard, unit, ttl):
        self.pidlock = pidlock
        self.guard = guard
        self.unit = unit
        self.ttl = ttl
        self.work = tempfile.mkdtemp(prefix="pidlock-cluster.")
        self.shared = os.path.join(self.work, "shared")
        os.mkdir(self.shared)
        open(os.path.join(self.shared, "log"), "w").close()
        self.cluster = Cluster(self.work, shutil.which("etcd"))
        self.env = dict(os.environ, ETCDCTL_API="3", ETCDCTL_ENDPOINTS=self.cluster.endpoints,
                        SHARED=self.shared)
        for k in ("ETCD_LOCK_KEY", "ETCD_LOCK_REV"):
            self.env.pop(k, None)
        self.hosts = []
        self.lockfiles = [os.path.join(self.work, f"host{i}", "run", "daemon.lock")
                          for i in range(3)]
        self.sampler = Sampler(self.lockfiles)
        self.figures = {}
        self.stopped = set()  # hosts stopped on purpose

    # -- helpers -----------------------------------------------------------------------------
    def until(self, what, cond, limit):
        """Poll cond() every 10 ms until it returns neither None nor False (host 0 is a
        result); return that, or fail after `limit` seconds."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.sampler.two:
                fail(f"hosts {sorted(self.sampler.two[1])} active at once (while waiting for: {what})")
            v = cond()
            if v is not None and v is not False:
                return v
            time.sleep(0.01)
        fail(f"gave up after {limit:g} s waiting for: {what}")
        return None

    def active(self):
        h = self.sampler.now()
        return next(iter(h)) if len(h) == 1 else None

    def log_lines(self):
        with open(os.path.join(self.shared, "log")) as f:
            return [line.split() for line in f.read().splitlines()]

    def start_host(self, i):
        d = os.path.join(self.work, f"host{i}")
        os.makedirs(d, exist_ok=True)
        argv, where, restart = read_unit(self.unit)
        argv = list(argv)
        argv[0] = "etcdctl"
        argv[where["ttl"]] = str(self.ttl)
        argv[where["name"]] = LOCK_NAME
        argv[where["guard"]] = self.guard
        argv[where["pidlock"]] = self.pidlock
        argv[where["lock"]] = self.lockfiles[i]
        argv[where["command"]:] = ["sh", "-c", DAEMON]
        # etcdctl dies with the loop, as everything on a machine dies with it. SIGTERM to all
        # the host's processes is `systemctl stop`: the loop, like systemd, waits for etcdctl
        # to exit (sh runs a trap once its foreground command is done), then restarts nothing.
        loop = ("trap 'exit 143' TERM; "
                f'while :; do setpriv --pdeathsig KILL "$@"; sleep {restart:g}; done')
        log = open(os.path.join(d, "host.log"), "a")
        p = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "sh", "-c", loop, "sh", *argv],
                             env=dict(self.env, HOST=f"host{i}"), stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.hosts.append(p)

    def holder_pid(self, i):
        with open(self.lockfiles[i]) as f:
            return int(f.read())

    def sessions(self):
        return {p.pid for p in self.hosts} | {p.pid for p in self.cluster.procs if p}

    def ours(self):
        """Every live process we started: in one of our sessions or below us (we are the
        subreaper, so orphans stay below us)."""
        me = os.getpid()
        sids = self.sessions()
        found = []
        for pid in all_pids():
            st = proc_stat(pid)
            if st is None or pid == me:
                continue
            if st[1] in sids:
                found.append(pid)
                continue
            p, hops = st[0], 0
            while p > 1 and p != me and hops < 64:
                s = proc_stat(p)
                p, hops = (s[0] if s else 0), hops + 1
            if p == me:
                found.append(pid)
        return found

    def reap_orphans(self):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    # -- the scenario ------------------------------------------------------------------------
    def run(self):
        c = self.cluster
        t = time.monotonic()
        for i in range(3):
            c.start(i)
        self.until("a healthy 3-member cluster", lambda: subprocess.run(
            ["etcdctl", "endpoint", "health"], env=self.env, capture_output=True).returncode == 0,
            30)
        note(f"cluster healthy in {time.monotonic() - t:.2f} s (endpoints {c.endpoints})")

        # The guard never starts COMMAND outside `etcdctl lock` (2), or for a key that does
        # not hold the lock (69).
        marker = os.path.join(self.work, "must-not-run")
        for extra, want in (({}, 2), ({"ETCD_LOCK_KEY": f"{LOCK_NAME}/1234", "ETCD_LOCK_REV": "1"}, 69)):
            r = subprocess.run([self.guard, "--", "touch", marker], env=dict(self.env, **extra),
                               capture_output=True, text=True, timeout=30)
            if r.returncode != want or os.path.exists(marker):
                fail(f"guard with {extra or 'no ETCD_LOCK_*'}: exit {r.returncode} (want {want}), "
                     f"COMMAND {'ran' if os.path.exists(marker) else 'did not run'}: {r.stderr}")

        self.sampler.start()
        t = time.monotonic()
        for i in range(3):
            self.start_host(i)
        first = self.until("a first active host", self.active, 30)
        note(f"host{first} active {time.monotonic() - t:.2f} s after the hosts started")
        self.until("the daemon writing the shared log", lambda: len(self.log_lines()) >= 3, 10)
        self.check_stable(first, 1.0)

        # 1. SIGKILL of the active command: etcdctl sees it end and deletes its key.
        old = self.active()
        os.kill(self.holder_pid(old), signal.SIGKILL)
        new = self.take_over(old, "SIGKILL of the command")

        # 2. SIGKILL of the active host's etcdctl: the guard stops the command, revokes.
        old = new
        daemon, guard, etcdctl = self.chain(old)
        os.kill(etcdctl, signal.SIGKILL)
        new = self.take_over(old, "SIGKILL of etcdctl", [daemon, guard])

        # 3. SIGKILL of the active host's guard: the command dies with it (PR_SET_PDEATHSIG).
        old = new
        daemon, guard, etcdctl = self.chain(old)
        os.kill(guard, signal.SIGKILL)
        new = self.take_over(old, "SIGKILL of the guard", [daemon])

        # 4. `systemctl stop` of the active host (KillMode=control-group): SIGTERM to every
        # process of it. Everything exits by itself and the next host takes over at once.
        old = new
        self.signal_host(old, signal.SIGTERM)
        new = self.take_over(old, "SIGTERM to every process of the host (systemctl stop)")
        self.until(f"every process of host{old} to exit after SIGTERM",
                   lambda: not self.host_pids(old), 15)
        self.stopped.add(old)

        # 5. One member of three down (the leader, the harder case): nothing changes.
        active = new
        tokens = self.tokens()
        leader = c.leader(self.env)
        c.kill(leader)
        t0 = time.monotonic()
        note(f"killed member m{leader + 1} (the leader)")
        self.check_stable(active, 2 * self.ttl + 2)
        if self.tokens() != tokens:
            fail("the fencing token changed while only one member of three was down")
        if not any(line[2] == f"host{active}" for line in self.log_lines()[-5:]):
            fail(f"host{active} stopped writing while one member was down")

        # 6. Two members of three down: no quorum. The active stops within the TTL, and none
        # starts until the quorum is back.
        second = next(i for i in range(3) if c.procs[i] is not None)
        c.kill(second)
        t0 = time.monotonic()
        note(f"killed member m{second + 1}: one member of three left")
        self.until("the active host to stop without quorum",
                   lambda: not self.sampler.now(), self.ttl + 10)
        stopped = time.monotonic() - t0
        self.figures["stop after loss of quorum (s)"] = stopped
        note(f"no quorum: host{active}'s command stopped after {stopped:.3f} s (TTL {self.ttl} s)")
        if stopped > self.ttl:
            fail(f"the command ran {stopped:.2f} s without quorum, longer than the TTL")
        quiet_from = time.monotonic()
        lines = len(self.log_lines())
        time.sleep(2 * self.ttl + 2)
        started = [s for s in self.sampler.since(quiet_from) if s[1]]
        if started:
            fail(f"host{sorted(started[0][1])} started without quorum")
        if len(self.log_lines()) != lines:
            fail("the shared log was written without quorum")
        for i, h in enumerate(self.hosts):
            if h.poll() is not None and i not in self.stopped:
                fail(f"host{i}'s restart loop died")

        t0 = time.monotonic()
        for i in range(3):
            if c.procs[i] is None:
                c.start(i)
        new = self.until("an active host once the quorum is back", self.active, 60)
        took = time.monotonic() - t0
        self.figures["active again after quorum returned (s)"] = took
        note(f"quorum back: host{new} active after {took:.3f} s")
        self.check_stable(new, 1.0)

        # 7. The lock key deleted by hand (`etcdctl del`), with no other host waiting (with
        # one, it would start at once, before any guard can notice): the guard stops the
        # command, and the host queues again and gets a new token.
        active = new
        for i in range(3):
            if i != active and i not in self.stopped:
                # Again and again: the loop may fork between listing and killing.
                self.until(f"host{i} to be gone",
                           lambda i=i: self.signal_host(i, signal.SIGKILL) == 0, 15)
                self.stopped.add(i)
        daemon, guard, _ = self.chain(active)
        with open(f"/proc/{guard}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        before = self.tokens()[-1]
        t0 = time.monotonic()
        subprocess.run(["etcdctl", "del", env[b"ETCD_LOCK_KEY"].decode()], env=self.env,
                       check=True, capture_output=True, timeout=20)
        self.until(f"host{active}'s command to stop after its lock key was deleted",
                   lambda: proc_stat(daemon) is None, self.ttl + 10)
        stopped = time.monotonic() - t0
        self.until(f"host{active} to hold the lock again with a new token",
                   lambda: self.active() == active and self.tokens()[-1] > before, self.ttl + 15)
        self.figures["local stop after the lock key was deleted (s)"] = stopped
        note(f"lock key deleted: host{active}'s command stopped after {stopped:.3f} s, "
             f"active again after {time.monotonic() - t0:.3f} s with a new token")

    def chain(self, host):
        """(daemon, guard, etcdctl) PIDs of an active host; the guard's parent must be etcdctl."""
        daemon = self.holder_pid(host)
        guard = proc_stat(daemon)[0]
        etcdctl = proc_stat(guard)[0]
        with open(f"/proc/{etcdctl}/comm") as f:
            comm = f.read().strip()
        if comm != "etcdctl":
            fail(f"host{host}: the guard's parent is '{comm}', not etcdctl")
        return daemon, guard, etcdctl

    def take_over(self, old, event, gone=()):
        """After `event` on the active host `old`: its command stops, another host takes over
        within TTL + 2 s (the issue's bound), and the processes `gone` are gone."""
        t0 = time.monotonic()
        self.until(f"host{old}'s command to stop after {event}",
                   lambda: old not in self.sampler.now(), self.ttl + 10)
        stopped = time.monotonic() - t0
        new = self.until(f"another host to take over after {event}",
                         lambda: self.active() not in (None, old) and self.active(),
                         self.ttl + 10)
        took = time.monotonic() - t0
        self.figures[f"local stop after {event} (s)"] = stopped
        self.figures[f"take-over after {event} (s)"] = took
        note(f"{event} on host{old}: its command stopped after {stopped:.3f} s, "
             f"host{new} active after {took:.3f} s")
        left = [p for p in gone if proc_stat(p) is not None]
        if left:
            fail(f"host{old}: PIDs {left} outlived {event}")
        if took > self.ttl + 2:
            fail(f"take-over took {took:.2f} s, more than TTL + 2 = {self.ttl + 2} s")
        self.check_stable(new, 1.0)
        return new

    def host_pids(self, host):
        sid = self.hosts[host].pid
        return [pid for pid in all_pids() if (proc_stat(pid) or (0, 0))[1] == sid]

    def signal_host(self, host, sig):
        """Signal every process of a host; returns how many there were."""
        pids = self.host_pids(host)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return len(pids)

    def tokens(self):
        return sorted({int(line[1]) for line in self.log_lines()})

    def check_stable(self, host, seconds):
        """For `seconds`, every sample shows exactly `host` active."""
        t0 = time.monotonic()
        time.sleep(seconds)
        bad = [s for s in self.sampler.since(t0) if s[1] != frozenset([host])]
        if bad:
            fail(f"expected host{host} alone active for {seconds:g} s; at +{bad[0][0] - t0:.3f} s "
                 f"the active hosts were {sorted(bad[0][1])}")

    def check_log(self):
        lines = self.log_lines()
        owner = {}
        last = 0
        for n, (seq, tok, host) in enumerate(lines, 1):
            if int(seq) != n:
                fail(f"shared log line {n} has SEQ {seq}: two writers at once")
            tok = int(tok)
            if tok < last:
                fail(f"fencing token went down at line {n}: {tok} after {last}")
            if owner.setdefault(tok, host) != host:
                fail(f"token {tok} used by {owner[tok]} and {host}")
            last = tok
        note(f"shared log: {len(lines)} lines, tokens {sorted(owner)} "
             f"held by {[owner[t] for t in sorted(owner)]}")
        if len(owner) < 7:
            fail(f"expected 7 holders (start, 4 take-overs, after quorum, after del), "
                 f"saw {len(owner)}")

    def check_samples(self):
        s = self.sampler.samples
        two = [x for x in s if len(x[1]) > 1]
        none = sum(1 for x in s if not x[1])
        note(f"sampler: {len(s)} samples (max gap {self.sampler.max_gap * 1000:.0f} ms, "
             f"{self.sampler.late} gaps over 50 ms), "
             f"{len(s) - none - len(two)} with one active, {none} with none, {len(two)} with two")
        if two:
            fail(f"{len(two)} samples saw two hosts active at once")

    def cleanup(self):
        """Stop everything: every process of our sessions and below us, then the members."""
        self.sampler.stopping.set()
        for _ in range(100):
            left = self.ours()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for p in self.hosts + [p for p in self.cluster.procs if p]:
                p.poll()
            self.reap_orphans()
            time.sleep(0.05)
        for p in self.hosts + [p for p in self.cluster.procs if p]:
            p.wait()
        self.reap_orphans()
        return self.ours()


def main():
    if len(sys.argv) < 4:
        print("usage: cluster_etcd.py PIDLOCK GUARD UNIT [TTL]", file=sys.stderr)
        return 2
    missing = [t for t in ("etcd", "etcdctl", "setpriv") if not shutil.which(t)]
    if missing:
        print(f"SKIP: {' '.join(missing)} not installed (Debian etcd-server, etcd-client, "
              "util-linux; scripts/test installs them)")
        return SKIP
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    test = Test(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3],
                int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    note(f"work directory {test.work}, TTL {test.ttl} s")
    # SIGTERM, ^C: the cleanup below still runs. SIGKILL (how ctest ends a test that timed out;
    # it kills the process tree, which as subreaper we keep whole): the members and the host
    # loops die with us (--pdeathsig), and the guards stop their daemons once etcd is gone.
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda signum, _f: (_ for _ in ()).throw(Failure(f"signal {signum}")))
    start = time.monotonic()
    failed = None
    try:
        read_unit(test.unit)
        if shutil.which("systemd-analyze"):
            r = subprocess.run(["systemd-analyze", "verify", "--man=no", test.unit],
                               capture_output=True, text=True)
            if r.returncode or r.stdout or r.stderr:
                fail(f"systemd-analyze verify {test.unit}: {r.stdout}{r.stderr}")
        test.run()
        test.check_samples()
        test.check_log()
    except Failure as e:
        failed = str(e)
    finally:
        left = test.cleanup()
        keep = os.environ.get("KEEP_WORK")  # KEEP_WORK=1 leaves the logs for a post-mortem
        if not keep:
            atexit.register(shutil.rmtree, test.work, ignore_errors=True)
    if left:
        failed = failed or f"processes left after cleanup: {left}"
    if failed:
        print(f"FAIL: {failed}", file=sys.stderr)
        for name in sorted(os.listdir(test.work)):
            p = os.path.join(test.work, name)
            logs = [os.path.join(p, "host.log")] if os.path.isdir(p) else []
            for log in logs:
                if os.path.exists(log):
                    with open(log) as f:
                        print(f"--- {log} (last lines)\n" + "".join(f.readlines()[-15:]),
                              file=sys.stderr)
    else:
        for k, v in test.figures.items():
            note(f"figure: {k}: {v:.3f}")
        note(f"ok ({time.monotonic() - start:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
