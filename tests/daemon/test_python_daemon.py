"""pidlock with the real python-daemon: examples/python/python_daemon.py, started
as a user would start it, and the old mistake (an acquired lock passed as pidfile=).

python-daemon forks twice and the daemon is orphaned; this process makes itself a child
subreaper, so the daemons are re-parented to it and their exit statuses can be read."""
import ctypes
import errno
import os
import signal
import subprocess
import sys
import time

import pytest

import pidlock

PR_SET_CHILD_SUBREAPER = 36
EXAMPLE = os.environ.get("PIDLOCK_EXAMPLE", "")
CLI = os.environ.get("PIDLOCK", "")

MISTAKE = """\
import sys, daemon, pidlock
lock = pidlock.acquire(sys.argv[1])
with daemon.DaemonContext(pidfile=lock, stdout=open(sys.argv[2], "a"),
                          stderr=open(sys.argv[3], "a")):
    print("the body ran", flush=True)
"""


@pytest.fixture(autouse=True)
def subreaper():
    if not EXAMPLE or not CLI:
        pytest.skip("PIDLOCK_EXAMPLE / PIDLOCK not set (run through ctest)")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    started = []
    yield started
    for pid in started:  # a daemon left by a failed test
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reap_all()
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap_all():
    """The exit statuses of every child that has ended: {pid: status}."""
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended[pid] = status


def until(what, check, limit=20.0):
    """Bounds the test, not a timing assertion: a correct program gets there at once."""
    deadline = time.monotonic() + limit
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start(args):
    """Run a python-daemon program the way a user does; it returns once it has detached."""
    done = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done
    return done


def wait_failed_daemon(err):
    """A daemon that must die: wait for its error text and for a child exiting non-zero (the
    intermediate processes of the double fork exit 0)."""
    ended = {}

    def failed():
        ended.update(reap_all())
        return "Traceback" in read(err) and any(s != 0 for s in ended.values())

    until("the refused daemon to exit", failed)
    return read(err)


def test_daemon_holds_its_own_pid_and_refuses_a_second(tmp_path, subreaper):
    lock = str(tmp_path / "run" / "daemon.lock")
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    start([EXAMPLE, lock, str(out), str(err)])
    line = until("the daemon to serve", lambda: read(out).endswith("\n") and read(out))
    assert line.startswith("serving as PID "), line
    daemon = int(line.split()[-1])
    subreaper.append(daemon)
    assert daemon != os.getpid()

    # The file, the library and the command all name the daemon itself.
    assert pidlock.read_pid(lock) == daemon
    assert pidlock.holder(lock) == daemon
    status = subprocess.run([CLI, "status", lock], capture_output=True, text=True)
    assert status.returncode == 0 and status.stdout.strip() == str(daemon), status

    # A second start is refused in its daemon, whose body never runs.
    out2, err2 = tmp_path / "out2.log", tmp_path / "err2.log"
    start([EXAMPLE, lock, str(out2), str(err2)])
    text = wait_failed_daemon(err2)
    assert "AlreadyRunning" in text and f"already running as PID {daemon}" in text, text
    assert read(out2) == ""
    assert pidlock.holder(lock) == daemon

    # `pidlock stop` (SIGTERM to the verified holder): a clean exit that removes the file,
    # with nothing on stderr.
    stop = subprocess.run([CLI, "stop", lock], capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop
    _, code = os.waitpid(daemon, 0)
    assert os.WIFEXITED(code) and os.WEXITSTATUS(code) == 0, code
    assert not os.path.lexists(lock)
    assert read(err) == ""
    assert read(out) == line


def test_acquired_lock_as_pidfile_stops_the_daemon_clearly(tmp_path):
    lock = str(tmp_path / "run" / "daemon.lock")
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    start(["-c", MISTAKE, lock, str(out), str(err)])
    text = wait_failed_daemon(err)
    assert "pidlock._errors.LockLost" in text or "LockLost" in text, text
    assert "is lost" in text and "PidFile" in text, text
    assert "Bad file descriptor" not in text and f"[Errno {errno.EBADF}]" not in text, text
    assert read(out) == ""
    # Nobody holds it: the file the starter wrote is stale, and the next start takes it.
    assert pidlock.holder(lock) is None
    pidlock.acquire(lock).release()
