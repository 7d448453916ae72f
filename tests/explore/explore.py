#!/usr/bin/python3
"""Systematic explorer of libpidlock across real processes (run through scripts/explore).

Agents (pidlock-explore-agent) are real processes that call the real library, one command at
a time, on a schedule this program chooses: 2 or 3 starters and the copies they fork. After
every step it checks what the library promises:

  exclusion  at most one live process believes it holds the lock (a rogue unlink or replace
             of the file, which no library can prevent, is reported apart, not as a break);
  kernel     a process that believes it holds the lock has the kernel lock on its file, and
             pidlock_check() says 0 only while it does;
  pidfile    a PID in a locked file is a process that holds that lock;
  release    a release changes the file at the path only when its caller owns that file, and
             an owner's release frees the lock for every copy;
  liveness   no wait or waiter sleeps on a free lock longer than a bound (1 s);
  sanity     no hang (10 s for one command), no crash, no -EINTR without
             PIDLOCK_INTERRUPTIBLE.

Search: random weighted schedules (each with a random subset of the action kinds, "swarm"
testing, and random environment faults) from a seed, or bounded exhaustive enumeration of
every schedule up to a depth (--depth). A failing schedule is shrunk by delta debugging, each
candidate replayed up to 3 times since the failures are races, and printed one action a line
with what it returned; --replay runs a printed schedule again.
"""
import argparse
import ctypes
import os
import random
import select
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time

KEEP, INTR = 4, 8
EINTR, EAGAIN, EBADFD = 4, 11, 77
HANG_S = 10.0
LIVE_BOUND_S = 1.0
SETTLE_S = 0.003
MAX_AGENTS = 6
STARTED = set()  # every agent process ever started, killed again on any way out

ERRNAMES = {-1: "-EPERM", -2: "-ENOENT", -4: "-EINTR", -9: "-EBADF", -11: "-EAGAIN",
            -12: "-ENOMEM", -16: "-EBUSY", -22: "-EINVAL", -24: "-EMFILE", -77: "-EBADFD",
            -116: "-ESTALE", -13: "-EACCES", -5: "-EIO", -17: "-EEXIST"}


def ename(rc):
    return ERRNAMES.get(rc, str(rc))


def flags_text(f):
    parts = [n for b, n in ((KEEP, "keep"), (INTR, "intr")) if f & b]
    return "+".join(parts) if parts else "0"


def flags_parse(t):
    f = 0
    for p in t.split("+"):
        f |= {"0": 0, "keep": KEEP, "intr": INTR}[p]
    return f


class Violation(Exception):
    def __init__(self, prop, message):
        super().__init__(f"{prop}: {message}")
        self.prop = prop
        self.message = message


class Agent:
    def __init__(self, name, pid, sock, env):
        self.name, self.pid, self.sock, self.env = name, pid, sock, env
        self.alive = True
        self.slot = None      # handle id (acquired here, or a copy inherited by fork)
        self.sab = False      # its descriptor was closed or replaced behind the library's back
        self.lost = False     # pidlock_check() said the lock is lost
        self.waiter = False
        self.waiter_live = False  # made here and not yet used up by a successful try
        self.pending = None   # {"flags", "timeout", "t0"} of a wait in flight
        self.emfile = False
        self.touched = False  # close/dup2 behind the library's back here (or in a parent)
        self.expect_death = False


class Handle:
    def __init__(self, hid, owner, fd, dev, ino, flags):
        self.hid, self.owner, self.fd, self.dev, self.ino, self.flags = hid, owner, fd, dev, ino, flags


# ---------------------------------------------------------------- kernel views

def lock_lines(pid):
    """{fd: [(dev_text, ino)]} of the write locks /proc/PID/fdinfo shows."""
    out = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return out
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("lock:") and "WRITE" in line:
                fields = line.split()
                for fld in fields:
                    if fld.count(":") == 2:
                        maj, mnr, ino = fld.split(":")
                        out.setdefault(int(fd), []).append((int(maj, 16), int(mnr, 16), int(ino)))
    return out


def dev_key(dev, ino):
    return (os.major(dev), os.minor(dev), ino)


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def wait_dead(pid, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        st = proc_state(pid)
        if st is None or st in ("Z", "X"):
            return True
        reap()
        time.sleep(0.0005)
    return False


def death_note(pid):
    """How @pid ended, when it is our child (starters are)."""
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return f"state {proc_state(pid)}"
        if got == pid:
            if os.WIFSIGNALED(status):
                return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            return f"exit status {os.WEXITSTATUS(status)}"
        time.sleep(0.001)
    return f"state {proc_state(pid)}"


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------- one run of one schedule

class Run:
    """One schedule executed on fresh agents; step() raises Violation."""

    def __init__(self, cfg, rundir, only=None):
        self.cfg = cfg
        self.rundir = rundir
        self.path = os.path.join(rundir, "d", "daemon.lock")
        os.makedirs(os.path.dirname(self.path), mode=0o700)
        self.agents = {}
        self.handles = {}
        self.next_hid = 0
        self.rogue_displaced = set()
        self.rogue_notes = []
        self.only = only
        # PIDs the application made stale labels of itself: written through pidlock_fd()
        # ("write"), or of a process whose descriptor it closed or replaced behind the library
        self.app_written = set()
        self.transcript = []
        self.orphan_watch = None

    # -- agent plumbing
    def start_agent(self, name, env):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args = [self.cfg.agent, self.cfg.libfile, str(b.fileno()), self.path] + env
        pid = self._spawn(args, b)
        b.close()
        ag = Agent(name, pid, a, env)
        self.agents[name] = ag
        msg = self.recv_reply(ag, hello=True)
        if not msg.startswith("H "):
            raise Violation("crash", f"agent {name} did not start: {msg!r}")
        return ag

    def _spawn(self, args, b):
        pid = os.fork()
        if pid > 0:
            STARTED.add(pid)
        if pid == 0:
            try:
                os.set_inheritable(b.fileno(), True)
                err = os.open(os.path.join(self.rundir, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(err, 2)
                os.execv(args[0], args)
            finally:
                os._exit(127)
        return pid

    def recv_reply(self, ag, hello=False):
        end = time.monotonic() + HANG_S
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Violation("hang", f"{ag.name} (pid {ag.pid}) did not answer within {HANG_S:.0f} s")
            r, _, _ = select.select([ag.sock], [], [], left)
            if not r:
                continue
            msg, fds, _, _ = socket.recv_fds(ag.sock, 512, 2)
            if not msg:
                ag.alive = False
                raise Violation("crash", f"{ag.name} (pid {ag.pid}) died during a command"
                                f" ({death_note(ag.pid)})")
            text = msg.decode()
            if text.startswith("E "):
                self.on_event(ag, text)
                continue
            if fds:
                ag._fds = fds
            return text[2:] if text.startswith("R ") else text

    def cmd(self, ag, text):
        ag._fds = []
        try:
            ag.sock.send(text.encode())
        except OSError:
            ag.alive = False
            raise Violation("crash", f"{ag.name} (pid {ag.pid}) is gone")
        return self.recv_reply(ag)

    def drain(self, seconds):
        """Collect the events (wait results) that arrive within @seconds."""
        end = time.monotonic() + seconds
        while True:
            socks = {a.sock: a for a in self.agents.values() if a.alive}
            left = end - time.monotonic()
            if not socks or left < 0:
                return
            r, _, _ = select.select(list(socks), [], [], max(left, 0))
            if not r:
                return
            for s in r:
                ag = socks[s]
                try:
                    msg, _, _, _ = socket.recv_fds(s, 512, 2)
                except OSError:
                    msg = b""
                if not msg:
                    if not ag.expect_death:
                        ag.alive = False
                        raise Violation("crash", f"{ag.name} (pid {ag.pid}) died ({death_note(ag.pid)})")
                    ag.alive = False
                    continue
                self.on_event(ag, msg.decode())

    def on_event(self, ag, text):
        f = text.split()
        if f[1] != "acq" or ag.pending is None:
            return
        p = ag.pending
        ag.pending = None
        rc, holder = int(f[2]), int(f[3])
        self.note(f"  {ag.name}: its wait ({flags_text(p['flags'])} {p['timeout']}) returned "
                  f"{ename(rc)}" + (self.took(ag, p["flags"], f[4:]) if rc == 0 else
                                    f" holder {holder}"))
        self.after_acquire(ag, p["flags"], rc, f[4:], p)

    def took(self, ag, flags, d):
        return f": {ag.name} holds inode {d[2]}"

    def note(self, line):
        self.transcript.append(line)

    # -- model updates
    def after_acquire(self, ag, flags, rc, d, pend=None):
        if rc == 0:
            fd, dev, ino = int(d[0]), int(d[1]), int(d[2])
            h = Handle(self.next_hid, ag.name, fd, dev, ino, flags)
            self.next_hid += 1
            self.handles[h.hid] = h
            ag.slot, ag.sab, ag.lost = h.hid, False, False
            self.check_exclusion()
        elif rc == -EINTR and not flags & INTR:
            raise Violation("sanity", f"{ag.name}: a wait without PIDLOCK_INTERRUPTIBLE returned -EINTR")
        elif rc == -EAGAIN and pend is not None and pend.get("free_since") is not None:
            waited = time.monotonic() - pend["free_since"]
            if waited > 0.1:
                raise Violation("liveness", f"{ag.name}: a timed wait returned -EAGAIN although the lock"
                                f" had been free for {waited * 1000:.0f} ms")

    def believers(self):
        out = []
        for a in self.agents.values():
            if a.alive and a.slot is not None and not a.sab and not a.lost \
                    and self.handles[a.slot].owner == a.name:
                out.append(a)
        return out

    def path_stat(self):
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return None, None
        try:
            with open(self.path, "rb") as f:
                content = f.read(64)
        except OSError:
            content = None
        return st, content

    # -- checks
    def check_exclusion(self):
        if self.only not in (None, "exclusion"):
            return
        bs = self.believers()
        if len(bs) < 2:
            return
        st, _ = self.path_stat()
        at_path = st.st_ino if st else None
        for i, a in enumerate(bs):
            for b in bs[i + 1:]:
                ha, hb = self.handles[a.slot], self.handles[b.slot]
                if ha.ino == hb.ino:
                    raise Violation("exclusion", f"{a.name} (pid {a.pid}) and {b.name} (pid {b.pid})"
                                    f" both hold the lock on inode {ha.ino}")
                old = [h for h in (ha, hb) if h.ino != at_path]
                if all(h.ino in self.rogue_displaced for h in old):
                    note = (f"{a.name} and {b.name} hold locks on inodes {ha.ino} and {hb.ino}:"
                            f" the older file was unlinked or replaced by the rogue action")
                    if note not in self.rogue_notes:
                        self.rogue_notes.append(note)
                        self.note("  (after a rogue unlink/replace: " + note + ")")
                    continue
                raise Violation("exclusion", f"{a.name} (pid {a.pid}, inode {ha.ino}) and {b.name}"
                                f" (pid {b.pid}, inode {hb.ino}) both hold the lock; the file at the"
                                f" path is inode {at_path}, and no rogue action removed the other")

    def kernel_view(self):
        return {a.name: lock_lines(a.pid) for a in self.agents.values() if a.alive}

    def locked_by(self, view, dev, ino):
        key = dev_key(dev, ino)
        return {n for n, fds in view.items() for locks in fds.values() if key in locks}

    def racy_checks(self):
        """Checks that a wait finishing right now could race: each failure is confirmed after
        the events of 100 ms more have been read."""
        err = self._racy_checks()
        if err is None:
            return
        self.drain(0.1)
        self.check_exclusion()
        err = self._racy_checks()
        if err is not None:
            raise err

    def _racy_checks(self):
        view = self.kernel_view()
        if self.only in (None, "kernel"):
            for a in self.believers():
                h = self.handles[a.slot]
                if dev_key(h.dev, h.ino) not in view.get(a.name, {}).get(h.fd, []):
                    return Violation("kernel", f"{a.name} (pid {a.pid}) believes it holds the lock"
                                     f" (inode {h.ino}, fd {h.fd}) but the kernel shows no lock there")
        st, content = self.path_stat()
        if st is not None and self.only in (None, "pidfile"):
            holders = self.locked_by(view, st.st_dev, st.st_ino)
            text = (content or b"").decode(errors="replace").strip()
            if holders and text.isdigit():
                pid = int(text)
                names = [a.name for a in self.agents.values() if a.alive and a.pid == pid]
                owner = self.agents[names[0]] if names else None
                if owner is not None and names[0] not in holders and not owner.sab \
                        and pid not in self.app_written:
                    return Violation("pidfile", f"the file (inode {st.st_ino}) says {pid} ({names[0]}),"
                                     f" which holds no lock on it; the lock is held by"
                                     f" {', '.join(sorted(holders))}")
        if self.orphan_watch is not None and self.only in (None, "release"):
            who, dev, ino = self.orphan_watch
            holders = self.locked_by(view, dev, ino)
            if st is None or st.st_ino != ino:
                holders = None  # the file left the path: a lock on it blocks nobody
            if holders and not any(self.handles[b.slot].ino == ino for b in self.believers()):
                return Violation("release", f"{who}'s release returned 0, but the lock on inode {ino}"
                                 f" is still held through {', '.join(sorted(holders))}, which"
                                 f" believe(s) nothing")
        return None

    # -- the steps
    def step(self, action):
        f = action.split()
        who, op, args = f[0], f[1], f[2:]
        if who == "-":
            return self.rogue(op)
        ag = self.agents.get(who)
        if ag is None or not ag.alive:
            self.note(f"{action:<28} (skipped: {who} does not exist)")
            return
        self.orphan_watch = None
        before = self.path_stat()
        line = action.ljust(28)
        if op == "acq":
            flags, timeout = flags_parse(args[0]), int(args[1])
            r = self.cmd(ag, f"acq {flags} {timeout}")
            if r == "pending":
                ag.pending = {"flags": flags, "timeout": timeout, "free_since": None}
                self.note(f"{line} -> waiting")
            elif r == "busy":
                self.note(f"{line} (skipped: busy)")
            else:
                d = r.split()
                rc = int(d[0])
                self.note(f"{line} -> {ename(rc)}" + (self.took(ag, flags, d[2:]) if rc == 0 else
                                                    f" holder {d[1]}"))
                self.after_acquire(ag, flags, rc, d[2:])
        elif op == "rel":
            h = self.handles.get(ag.slot) if ag.slot is not None else None
            was_owner = h is not None and h.owner == ag.name and not ag.sab and not ag.lost
            r = self.cmd(ag, "rel")
            if r == "none":
                self.note(f"{line} (skipped: no handle)")
                return
            rc = int(r)
            role = "owner" if was_owner else ("copy" if h and h.owner != ag.name else "sabotaged/lost owner")
            self.note(f"{line} -> {ename(rc)} (as {role})")
            ag.slot, ag.sab, ag.lost = None, False, False
            self.settle()
            self.check_release(ag, h, was_owner, before)
            if was_owner and rc == 0:
                self.orphan_watch = (ag.name, h.dev, h.ino)
        elif op == "upd":
            r = self.cmd(ag, "upd")
            if r == "none":
                self.note(f"{line} (skipped: no handle)")
                return
            rc = int(r.split()[0])
            self.note(f"{line} -> {ename(rc)}")
            if rc == 0:
                h = self.handles[ag.slot]
                h.owner = ag.name
                ag.lost = False
        elif op == "chk":
            r = self.cmd(ag, "chk")
            if r == "none":
                self.note(f"{line} (skipped: no handle)")
                return
            rc = int(r)
            self.note(f"{line} -> {ename(rc)}")
            h = self.handles[ag.slot]
            if rc == -EBADFD and h.owner == ag.name:
                ag.lost = True
            elif rc == 0 and h.owner == ag.name and self.only in (None, "kernel"):
                key = dev_key(h.dev, h.ino)
                if key not in lock_lines(ag.pid).get(h.fd, []):
                    raise Violation("kernel", f"pidlock_check() returned 0 in {ag.name}, the owner,"
                                    f" but the kernel shows no lock on inode {h.ino} at fd {h.fd}")
        elif op == "wnew":
            r = self.cmd(ag, f"wnew {flags_parse(args[0])}")
            if r in ("busy", "none"):
                self.note(f"{line} (skipped: {r})")
                return
            rc = int(r)
            self.note(f"{line} -> {ename(rc)}")
            ag.waiter = ag.waiter_live = rc == 0
        elif op == "wtry":
            r = self.cmd(ag, "wtry")
            if r == "none":
                self.note(f"{line} (skipped: no waiter or already holding)")
                return
            d = r.split()
            rc = int(d[0])
            self.note(f"{line} -> {ename(rc)}" + (self.took(ag, 0, d[2:]) if rc == 0 else f" holder {d[1]}"))
            if rc == 0:
                ag.waiter_live = False  # done: a waiter that took the lock is freed next
            if rc == -EBADFD and not ag.touched and self.only is None:
                raise Violation("sanity", f"{ag.name}'s waiter says a descriptor it keeps was closed"
                                f" behind its back, but no descriptor of {ag.name} was closed or replaced")
            self.after_acquire(ag, 0, rc, d[2:])
        elif op == "wfree":
            self.cmd(ag, "wfree")
            ag.waiter = ag.waiter_live = False
            self.note(line)
        elif op in ("fork", "rfork"):
            child = args[0]
            r = self.cmd(ag, op)
            pid = int(r)
            if pid < 0 or not ag._fds:
                self.note(f"{line} -> {ename(pid)}")
                return
            STARTED.add(pid)
            sock = socket.socket(fileno=ag._fds[0])
            c = Agent(child, pid, sock, ag.env)
            c.slot, c.sab, c.lost, c.waiter, c.emfile = ag.slot, ag.sab, ag.lost, ag.waiter, ag.emfile
            c.touched = ag.touched
            self.agents[child] = c
            what = []
            if c.slot is not None:
                what.append("a copy of its handle")
            if c.waiter:
                what.append("a copy of its waiter")
            if ag.pending:
                what.append("the descriptors of its wait in flight")
            self.note(f"{line} -> {child} is pid {pid}" + (" with " + ", ".join(what) if what else ""))
        elif op in ("kill", "exit"):
            ag.expect_death = True
            if op == "kill":
                os.kill(ag.pid, signal.SIGKILL)
            else:
                ag.sock.send(b"exit")
            # SIGKILL ends any wait of the library; only the kernel's exit (closing an inotify
            # instance waits for an SRCU grace period) can take long, seconds on a 2-core machine
            # whose other programs keep both cores busy. Ten times that is a hang.
            if not wait_dead(ag.pid, 30.0):
                raise Violation("hang", f"{ag.name} (pid {ag.pid}) did not die within 30 s")
            ag.alive = False
            ag.sock.close()
            self.note(line)
        elif op in ("sig", "signh", "close", "dup2", "readpid", "write", "emfile"):
            cmdtext = op
            if op == "emfile":
                cmdtext = f"emfile {1 if args[0] == 'on' else 0}"
            r = self.cmd(ag, cmdtext)
            self.note(f"{line} -> {r}")
            if op in ("close", "dup2") and r == "0":
                ag.touched = True
                self.app_written.add(ag.pid)  # its PID may stay in a file it no longer locks
                if ag.slot is not None:
                    ag.sab = True
            if op == "emfile":
                ag.emfile = args[0] == "on"
            if op == "write" and r.lstrip("-").isdigit() and int(r) > 0:
                self.app_written.add(ag.pid)
        else:
            raise ValueError(f"unknown action {action!r}")
        self.settle()
        self.check_exclusion()
        self.racy_checks()

    def settle(self):
        self.drain(SETTLE_S)

    def check_release(self, ag, h, was_owner, before):
        """A release that changed a file it did not own; confirmed after 100 ms more of events,
        like the racy checks: another process's wait may have taken the free file and written
        its PID during the release step, and its answer be still on the way."""
        err = self._check_release(ag, h, was_owner, before)
        if err is None:
            return
        self.drain(0.1)
        self.check_exclusion()
        err = self._check_release(ag, h, was_owner, before)
        if err is not None:
            raise err

    def _check_release(self, ag, h, was_owner, before):
        if self.only not in (None, "release"):
            return None
        st0, c0 = before
        if st0 is None:
            return None
        st1, c1 = self.path_stat()
        changed = st1 is None or st1.st_ino != st0.st_ino or (c0 and c1 != c0)
        if not changed:
            return None
        if was_owner and h is not None and h.ino == st0.st_ino:
            return None
        if any(a.pending is None and a.slot is not None and self.handles[a.slot].owner == a.name
               and self.handles[a.slot].ino == (st1.st_ino if st1 else None) and a is not ag
               for a in self.agents.values()) and st1 is not None and st1.st_ino == st0.st_ino:
            return None  # another starter took the (free) file and wrote its PID meanwhile
        what = "unlinked" if st1 is None else ("replaced" if st1.st_ino != st0.st_ino else "rewrote/emptied")
        role = "a copy" if h is not None and h.owner != ag.name else "not the owner of that file"
        return Violation("release", f"{ag.name}'s release {what} the file at the path (inode "
                         f"{st0.st_ino}, {c0!r}), but {ag.name} was {role}")

    def rogue(self, op):
        st, _ = self.path_stat()
        if st is not None:
            self.rogue_displaced.add(st.st_ino)
        if op == "unlink":
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.note(f"- unlink                     (rogue: the file at the path is removed)")
        elif op == "replace":
            tmp = self.path + ".rogue"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            os.rename(tmp, self.path)
            self.note(f"- replace                    (rogue: an empty file replaces it)")
        self.settle()
        self.check_exclusion()
        self.racy_checks()

    def finish(self):
        """End of schedule: lift EMFILE, then no wait may sleep on a free lock for more than
        LIVE_BOUND_S."""
        for a in list(self.agents.values()):
            if a.alive and a.emfile:
                self.cmd(a, "emfile 0")
                a.emfile = False
        if self.only not in (None, "liveness"):
            return
        free_since = None
        end = time.monotonic() + LIVE_BOUND_S + 1.0
        while time.monotonic() < end:
            self.drain(0.02)
            self.check_exclusion()
            waiting = [a for a in self.agents.values() if a.alive and a.pending]
            # Only a waiter in the process that made it, not yet used up, must wake: what a
            # forked copy of a waiter sees is not promised.
            waiters = [a for a in self.agents.values() if a.alive and a.waiter_live and a.slot is None
                       and not a.pending]
            if not waiting and not waiters:
                return
            if not self.lock_free():
                return  # held: a wait has nothing to take
            now = time.monotonic()
            if free_since is None:
                free_since = now
                for a in waiting:
                    a.pending["free_since"] = now
            if waiters:
                for a in waiters:
                    r = self.cmd(a, f"wpoll {int(LIVE_BOUND_S * 1000)}")
                    if r == "0" and self.lock_free():
                        raise Violation("liveness", f"{a.name}'s waiter descriptor stayed unreadable"
                                        f" {LIVE_BOUND_S:.0f} s while the lock was free")
                    a.waiter_live = False  # its part is done: readable
                continue
            if now - free_since > LIVE_BOUND_S:
                names = ", ".join(f"{a.name} ({flags_text(a.pending['flags'])} {a.pending['timeout']})"
                                  for a in waiting)
                raise Violation("liveness", f"wait(s) of {names} still asleep {LIVE_BOUND_S:.0f} s after"
                                f" the lock became free")

    def lock_free(self):
        st, _ = self.path_stat()
        if st is None:
            return True
        key = dev_key(st.st_dev, st.st_ino)
        try:
            with open("/proc/locks") as f:
                text = f.read()
        except OSError:
            return False
        tag = "%02x:%02x:%d" % key
        return not any(tag in line and "WRITE" in line for line in text.splitlines())

    def close(self):
        for a in self.agents.values():
            try:
                os.kill(a.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for a in self.agents.values():
            if wait_dead(a.pid, 2.0):
                STARTED.discard(a.pid)
            try:
                a.sock.close()
            except OSError:
                pass
        reap()
        shutil.rmtree(self.rundir, ignore_errors=True)


# ---------------------------------------------------------------- schedules

class Schedule:
    def __init__(self, starters, actions):
        self.starters = starters  # [(name, [faults])]
        self.actions = actions    # ["p0 acq keep 0", ...]

    def text(self):
        lines = [f"start {n}" + "".join(" " + x for x in env) for n, env in self.starters]
        return "\n".join(lines + self.actions)

    @staticmethod
    def parse(text):
        starters, actions = [], []
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].split("->", 1)[0].split("(", 1)[0].strip()
            if not line or line.startswith("explore:"):
                continue
            f = line.split()
            if f[0].endswith(":"):
                continue  # an event line of a transcript ("p1: its wait returned ...")
            if f[0] == "start":
                starters.append((f[1], f[2:]))
            else:
                actions.append(" ".join(f))
        return Schedule(starters, actions)


def run_schedule(cfg, sched, only=None, stop_event=None):
    """Runs @sched on fresh agents. Returns (violation or None, run)."""
    cfg.runs += 1
    rundir = tempfile.mkdtemp(prefix=f"r{cfg.runs}.", dir=cfg.workdir)
    run = Run(cfg, rundir, only)
    try:
        for name, env in sched.starters:
            run.start_agent(name, env)
            run.note(f"start {name}" + "".join(" " + x for x in env)
                     + (f"   (pid {run.agents[name].pid})" if name in run.agents else ""))
        for act in sched.actions:
            run.step(act)
            cfg.steps += 1
        run.finish()
        return None, run
    except Violation as v:
        if v.prop in ("crash", "hang"):
            time.sleep(0.05)
            try:
                with open(os.path.join(rundir, "stderr")) as f:
                    err = f.read()[-3000:].strip()
            except OSError:
                err = ""
            if err:
                v.message += "\n  agent stderr:\n" + "\n".join("    " + x for x in err.splitlines())
                v.args = (f"{v.prop}: {v.message}",)
        run.note(f"# BROKEN: {v}")
        return v, run
    finally:
        run.close()


# The action set, with weights: (kind, weight, needs)
KINDS = ["acq", "rel", "upd", "chk", "wnew", "wtry", "wfree", "fork", "rfork", "kill", "exit",
         "sig", "signh", "close", "dup2", "readpid", "write", "emfile", "unlink", "replace"]
CORE = {"acq", "rel"}


class Gen:
    """Random schedules: the model's view of which actions make sense now, weighted."""

    def __init__(self, rng, without=()):
        self.rng = rng
        r = rng
        self.kinds = {k for k in KINDS if k in CORE or r.random() < 0.75} - set(without)
        nst = 2 if r.random() < 0.7 else 3
        self.starters = []
        for i in range(nst):
            env = []
            if r.random() < 0.3 and "nowipe" not in without:
                env.append("nowipe")
            if r.random() < 0.12 and "noinotify" not in without:
                env.append("noinotify")
            self.starters.append((f"p{i}", env))
        self.depth = r.randint(3, 10)
        self.next_name = nst

    def generate(self):
        """A schedule predicted from a simple model of the agents (racy results are the
        run's business: an action on a process that does not exist is skipped)."""
        r = self.rng
        # model: name -> {"slot": bool, "owner": bool, "waiter": bool, "pending": bool, "emfile"}
        m = {n: {"slot": False, "owner": False, "waiter": False, "pending": False, "emfile": False}
             for n, _ in self.starters}
        held = [False]
        acts = []
        for _ in range(self.depth):
            choices = []

            def add(w, text, eff=None, kind=None):
                k = kind or text.split()[1]
                if k in self.kinds and w > 0:
                    choices.append((w, text, eff))

            alive = list(m)
            for n in alive:
                s = m[n]
                if not s["slot"] and not s["pending"]:
                    fl = r.choice(["0", "keep", "keep", "intr", "keep+intr"])
                    to = r.choice([0, 0, -1, -1, 300])

                    def acq_eff(n=n, to=to):
                        if not held[0]:
                            m[n].update(slot=True, owner=True)
                            held[0] = True
                        elif to != 0:
                            m[n]["pending"] = True
                    add(3, f"{n} acq {fl} {to}", acq_eff)
                if s["slot"]:
                    def rel_eff(n=n):
                        if m[n]["owner"]:
                            held[0] = False
                        m[n].update(slot=False, owner=False)
                    add(3, f"{n} rel", rel_eff)
                    add(2 if not s["owner"] else 0.3, f"{n} upd",
                        lambda n=n: [x.update(owner=False) for x in m.values()] and m[n].update(owner=True))
                    add(0.5, f"{n} chk")
                    add(0.3, f"{n} close", lambda n=n: m[n].update(owner=False))
                    add(0.3, f"{n} dup2", lambda n=n: m[n].update(owner=False))
                    add(0.5, f"{n} readpid")
                    add(0.3, f"{n} write")
                if not s["waiter"] and not s["slot"]:
                    add(1.5, f"{n} wnew {r.choice(['0', 'keep'])}", lambda n=n: m[n].update(waiter=True))
                if s["waiter"] and not s["slot"] and not s["pending"]:
                    def wtry_eff(n=n):
                        if not held[0]:
                            m[n].update(slot=True, owner=True)
                            held[0] = True
                    # a try is most telling right after the lock may have changed hands
                    add(8 if not held[0] or s.get("wcopy") else 3, f"{n} wtry", wtry_eff)
                if s["waiter"]:
                    add(0.3, f"{n} wfree", lambda n=n: m[n].update(waiter=False))
                if len(m) < MAX_AGENTS:
                    w = 6 if s["waiter"] else 4 if (s["slot"] or s["pending"]) else 0.7
                    for k in ("fork", "rfork"):
                        child = f"p{self.next_name}"

                        def fork_eff(n=n, child=child):
                            m[child] = dict(m[n], owner=False, pending=False, wcopy=m[n]["waiter"])
                            self.next_name += 1
                        add(w, f"{n} {k} {child}", fork_eff)
                if len(alive) > 1 or s["slot"]:
                    def die_eff(n=n):
                        if m[n]["owner"]:
                            held[0] = False
                        del m[n]
                    # killing the owner while others wait or hold copies is the telling case
                    others = any(x["waiter"] or x["pending"] or x["slot"] for k, x in m.items() if k != n)
                    add(4 if s["owner"] and others else 1.5, f"{n} kill", die_eff)
                    add(0.3, f"{n} exit", die_eff)
                add(0.6 if s["pending"] else 0.15, f"{n} sig")
                add(0.3 if s["pending"] else 0.1, f"{n} signh")
                if not s["emfile"]:
                    add(0.2, f"{n} emfile on", lambda n=n: m[n].update(emfile=True))
                else:
                    add(1, f"{n} emfile off", lambda n=n: m[n].update(emfile=False))
            add(0.2, "- unlink", kind="unlink")
            add(0.2, "- replace", kind="replace")
            if not choices:
                break
            total = sum(w for w, _, _ in choices)
            x = r.random() * total
            for w, text, eff in choices:
                x -= w
                if x <= 0:
                    break
            acts.append(text)
            if eff:
                eff()
        return Schedule(self.starters, acts)


# ---------------------------------------------------------------- exhaustive enumeration

EXH_ACTIONS = ["acq 0 0", "acq keep 0", "acq keep -1", "rel", "upd", "wnew 0", "wtry", "fork",
               "rfork", "kill"]
EXH_ENVS = [[], ["nowipe"]]


def exhaustive(cfg, depth, deadline, report):
    """Every schedule of @depth actions over 2 starters and EXH_ACTIONS (any live process may
    act; forks add processes, up to 4), in each environment of EXH_ENVS, depth first. A small
    model (exh_next) leaves out what cannot apply: a release without a handle, a try without
    a waiter. Returns (schedules run, True at a break / False when the budget ran out / None
    when complete)."""
    count = 0
    for env in EXH_ENVS:
        stack = [[]]
        while stack:
            if time.monotonic() > deadline or cfg.stop:
                return count, False
            prefix = stack.pop()
            if len(prefix) == depth:
                sched = Schedule([("p0", env), ("p1", env)], prefix)
                v, run = run_schedule(cfg, sched, cfg.only)
                count += 1
                if v is not None:
                    report(sched, v, run)
                    return count, True
                continue
            for nxt in reversed(exh_next(prefix)):
                stack.append(prefix + [nxt])
    return count, None


def exh_next(prefix):
    names = ["p0", "p1"]
    dead = set()
    slot, waiter = {}, {}
    k = 2
    for a in prefix:
        f = a.split()
        if f[1] in ("fork", "rfork"):
            names.append(f[2])
            slot[f[2]], waiter[f[2]] = slot.get(f[0]), waiter.get(f[0])
            k += 1
        elif f[1] == "kill":
            dead.add(f[0])
        elif f[1] == "acq" or f[1] == "wtry":
            slot[f[0]] = True
        elif f[1] == "rel":
            slot[f[0]] = False
        elif f[1] == "wnew":
            waiter[f[0]] = True
    out = []
    for n in names:
        if n in dead:
            continue
        for act in EXH_ACTIONS:
            op = act.split()[0]
            if op in ("rel", "upd") and not slot.get(n):
                continue
            if op == "acq" and slot.get(n):
                continue
            if op == "wtry" and (not waiter.get(n) or slot.get(n)):
                continue
            if op == "wnew" and waiter.get(n):
                continue
            if op in ("fork", "rfork"):
                if len(names) - len(dead) >= 4:
                    continue
                act = f"{op} p{k}"
            out.append(f"{n} {act}")
    return out


# ---------------------------------------------------------------- shrinking

def fails(cfg, sched, prop, tries=None):
    for _ in range(tries or cfg.tries):
        v, run = run_schedule(cfg, sched, cfg.only)
        if v is not None and v.prop == prop:
            return v, run
        if cfg.stop:
            break
    return None, None


def shrink(cfg, sched, v, run, deadline):
    """Delta debugging over the actions, then the environment faults; each candidate is run
    up to N times, N from how often the schedule as found breaks again (a race may need more
    than one try: 3 tries for a schedule that breaks every time, up to 20 for a rare one)."""
    best, best_v, best_run = sched, v, run
    hits = 0
    for i in range(10):
        if cfg.stop:
            break
        cv, cr = fails(cfg, sched, v.prop, tries=1)
        if cv is not None:
            hits += 1
            best_v, best_run = cv, cr
        if hits >= 3:
            break
    rate = hits / (i + 1)
    cfg.tries = 3 if rate >= 0.9 else min(20, max(4, int(3 / max(rate, 0.05))))
    print(f"explore: the schedule as found broke again {hits} of {i + 1} times; shrinking"
          f" with up to {cfg.tries} runs a candidate", flush=True)
    acts = list(sched.actions)
    n = 2
    while len(acts) >= 2 and time.monotonic() < deadline and not cfg.stop:
        chunk = max(1, len(acts) // n)
        reduced = False
        for i in range(0, len(acts), chunk):
            cand = acts[:i] + acts[i + chunk:]
            s = Schedule(best.starters, cand)
            cv, cr = fails(cfg, s, v.prop)
            if cv is not None:
                acts, best, best_v, best_run = cand, s, cv, cr
                n = max(n - 1, 2)
                reduced = True
                break
            if time.monotonic() > deadline:
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(n * 2, len(acts))
    # environment faults, then starters no action names
    for i, (name, env) in enumerate(best.starters):
        for fault in list(env):
            starters = [(nm, [x for x in e if not (j == i and x == fault)]) for j, (nm, e) in enumerate(best.starters)]
            s = Schedule(starters, best.actions)
            cv, cr = fails(cfg, s, v.prop)
            if cv is not None:
                best, best_v, best_run = s, cv, cr
    used = {a.split()[0] for a in best.actions}
    starters = [(nm, e) for nm, e in best.starters if nm in used or nm == best.starters[0][0]]
    if len(starters) < len(best.starters):
        s = Schedule(starters, best.actions)
        cv, cr = fails(cfg, s, v.prop)
        if cv is not None:
            best, best_v, best_run = s, cv, cr
    return best, best_v, best_run


# ---------------------------------------------------------------- main

class Cfg:
    pass


def main():
    ap = argparse.ArgumentParser(prog="scripts/explore", description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", required=True, help="folder with libpidlock.so.1 (or the file)")
    ap.add_argument("--seconds", type=float, default=60, help="search budget (shrinking comes after)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the random search (default: time)")
    ap.add_argument("--replay", help="a schedule file as printed (or '-' for stdin): run it again")
    ap.add_argument("--repeat", type=int, default=5, help="runs of --replay (stops at the first break)")
    ap.add_argument("--depth", type=int, default=0,
                    help="first enumerate every schedule of this many actions (bounded exhaustive)")
    ap.add_argument("--only", choices=["exclusion", "kernel", "pidfile", "release", "liveness"],
                    help="check only this property (the others are not checked)")
    ap.add_argument("--without", default="",
                    help="action kinds or faults left out, comma-separated (e.g. rfork,nowipe: to look"
                    " past a known break); kinds: " + ",".join(KINDS) + "; faults: nowipe,noinotify")
    ap.add_argument("--shrink-seconds", type=float, default=180)
    ap.add_argument("--agent", help="the agent program (default: found next to the build)")
    ap.add_argument("--quiet", action="store_true")
    opt = ap.parse_args()

    cfg = Cfg()
    cfg.stop = False
    cfg.only = opt.only
    cfg.without = {w for w in opt.without.split(",") if w}
    unknown = cfg.without - set(KINDS) - {"nowipe", "noinotify"}
    if unknown or cfg.without & CORE:
        sys.exit(f"explore: --without: cannot leave out {', '.join(sorted(unknown | (cfg.without & CORE)))}")
    cfg.runs = cfg.steps = 0
    lib = opt.lib
    cfg.libfile = os.path.abspath(os.path.join(lib, "libpidlock.so.1") if os.path.isdir(lib) else lib)
    if not os.path.exists(cfg.libfile):
        sys.exit(f"explore: no {cfg.libfile}")
    cfg.workdir = tempfile.mkdtemp(prefix="pidlock-explore.")
    cfg.agent = opt.agent or os.environ.get("PIDLOCK_EXPLORE_AGENT")
    if not cfg.agent:
        # Built from source each time (a second): never a stale agent.
        cfg.agent = os.path.join(cfg.workdir, "pidlock-explore-agent")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agent.c")
        cc = os.environ.get("CC", "cc")
        if os.spawnvp(os.P_WAIT, cc, [cc, "-O2", "-Wall", "-o", cfg.agent, src, "-ldl", "-lpthread"]):
            shutil.rmtree(cfg.workdir, ignore_errors=True)
            sys.exit(f"explore: {cc} could not build {src}")
    if not os.access(cfg.agent, os.X_OK):
        shutil.rmtree(cfg.workdir, ignore_errors=True)
        sys.exit(f"explore: no agent program {cfg.agent}")

    # Orphans of killed agents come back to us and are reaped here.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass

    # The first signal ends the search after the schedule in progress (its agents are killed
    # as always); a second one at once. Every process ever started is killed on the way out.
    def on_signal(sig, _frame):
        if cfg.stop:
            raise KeyboardInterrupt
        cfg.stop = True
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    started = time.monotonic()
    found = None
    try:
        print(f"explore: {cfg.libfile}", flush=True)
        if opt.replay:
            text = sys.stdin.read() if opt.replay == "-" else open(opt.replay).read()
            sched = Schedule.parse(text)
            for i in range(opt.repeat):
                if cfg.stop:
                    break
                v, run = run_schedule(cfg, sched, opt.only)
                print(f"explore: replay {i + 1}/{opt.repeat}:")
                print("\n".join("  " + x for x in run.transcript))
                if v is not None:
                    print(f"explore: BROKEN ({v.prop}) on replay {i + 1}")
                    return 1
            if cfg.stop:
                return 130
            print(f"explore: {opt.repeat} replays, nothing broke")
            return 0

        seed = opt.seed if opt.seed is not None else int(time.time()) % 1000000
        deadline = started + opt.seconds
        print(f"explore: seed {seed}, budget {opt.seconds:.0f} s", flush=True)

        def report(sched, v, run):
            nonlocal found
            found = (sched, v, run, time.monotonic() - started)

        if opt.depth:
            cnt, res = exhaustive(cfg, opt.depth, deadline, report)
            state = "complete" if res is None else ("stopped at a break" if res else "budget ran out")
            print(f"explore: exhaustive depth {opt.depth}: {cnt} schedules ({state})", flush=True)
        i = 0
        last = time.monotonic()
        while found is None and time.monotonic() < deadline and not cfg.stop:
            rng = random.Random(f"{seed}:{i}")
            sched = Gen(rng, cfg.without).generate()
            v, run = run_schedule(cfg, sched, opt.only)
            if run.rogue_notes:
                cfg.rogue = getattr(cfg, "rogue", 0) + 1
            if v is not None:
                found = (sched, v, run, time.monotonic() - started)
                print(f"explore: schedule {i} of seed {seed} broke {v.prop} after "
                      f"{found[3]:.1f} s", flush=True)
            i += 1
            if not opt.quiet and time.monotonic() - last > 30:
                last = time.monotonic()
                el = last - started
                print(f"explore: {el:.0f} s: {cfg.runs} schedules, {cfg.steps} steps "
                      f"({cfg.runs / el:.1f} schedules/s)", flush=True)
        el = time.monotonic() - started
        print(f"explore: explored {cfg.runs} schedules, {cfg.steps} steps in {el:.0f} s "
              f"({cfg.runs / max(el, 1e-9):.1f} schedules/s); {getattr(cfg, 'rogue', 0)} with a second"
              f" holder after a rogue unlink/replace (not a break)", flush=True)
        if found is None:
            if cfg.stop:
                print("explore: interrupted; nothing broke so far", file=sys.stderr)
                return 130
            print("explore: nothing broke")
            return 0
        sched, v, run, t = found
        print(f"explore: BROKEN after {t:.1f} s: {v}")
        print("explore: the schedule as found:")
        print("\n".join("  " + x for x in run.transcript))
        t0 = time.monotonic()
        small, sv, srun = shrink(cfg, sched, v, run, t0 + opt.shrink_seconds)
        print(f"explore: shrunk from {len(sched.actions)} to {len(small.actions)} actions in "
              f"{time.monotonic() - t0:.0f} s; the minimal counterexample (replay it with "
              f"--replay FILE):")
        print("\n".join("  " + x for x in srun.transcript))
        print(f"explore: property broken: {sv.prop}: {sv.message}")
        return 1
    except KeyboardInterrupt:
        print("explore: interrupted", file=sys.stderr)
        return 130
    finally:
        for pid in STARTED:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in STARTED:
            wait_dead(pid, 1.0)
        reap()
        shutil.rmtree(cfg.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
