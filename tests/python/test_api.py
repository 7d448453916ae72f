"""The Python API, on whichever backend PIDLOCK_BACKEND names."""
import errno
import gc
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pidlock


def test_backend_is_the_one_asked_for():
    assert pidlock.backend == os.environ.get("PIDLOCK_BACKEND", "swig")


def test_version_is_the_loaded_library():
    major, minor, patch = pidlock.__version__.split(".")
    assert (major, minor, patch) == tuple(str(int(x)) for x in (major, minor, patch))


def test_acquire_release(lockpath):
    lock = pidlock.acquire(lockpath)
    assert lock.locked
    assert lock.path == lockpath
    assert lock.pid == os.getpid()
    assert os.fstat(lock.fileno()).st_ino == os.stat(lockpath).st_ino
    assert pidlock.read_pid(lockpath) == os.getpid()
    assert pidlock.holder(lockpath) == os.getpid()
    assert "locked" in repr(lock) and lockpath in repr(lock) and str(os.getpid()) in repr(lock)
    lock.release()
    assert not lock.locked
    assert "released" in repr(lock)
    assert not os.path.exists(lockpath)
    assert pidlock.holder(lockpath) is None
    lock.release()  # twice is fine
    with pytest.raises(ValueError):
        lock.fileno()
    with pytest.raises(ValueError):
        lock.update()


@pytest.mark.parametrize("kind", [str, bytes, pathlib.Path])
def test_path_types(lockpath, kind):
    arg = os.fsencode(lockpath) if kind is bytes else kind(lockpath)
    with pidlock.acquire(arg) as lock:
        assert lock.path == lockpath
        assert pidlock.holder(arg) == os.getpid()
        assert pidlock.read_pid(arg) == os.getpid()


def test_context_manager(lockpath):
    with pidlock.acquire(lockpath) as lock:
        assert isinstance(lock, pidlock.PidLock)
        assert lock.locked
    assert not lock.locked
    assert not os.path.exists(lockpath)


def test_exit_never_swallows(lockpath):
    with pytest.raises(RuntimeError, match="boom"):
        with pidlock.acquire(lockpath) as lock:
            raise RuntimeError("boom")
    assert not lock.locked
    assert not os.path.exists(lockpath)


def test_already_running(lockpath):
    with pidlock.acquire(lockpath):
        with pytest.raises(pidlock.AlreadyRunning) as info:
            pidlock.acquire(lockpath)
    e = info.value
    assert isinstance(e, OSError)
    assert e.errno == errno.EAGAIN
    assert e.pid == os.getpid()
    assert e.path == lockpath
    assert e.filename == lockpath
    # The holder is this very process: locks are not reentrant, and the message says so.
    assert str(e).startswith(f"already held by this process (lock file: {lockpath})")
    assert "not reentrant" in str(e)
    copy = pickle.loads(pickle.dumps(e))
    assert (type(copy), copy.pid, copy.path, str(copy)) == (type(e), e.pid, e.path, str(e))


def test_timeout_raises_already_running(lockpath):
    with pidlock.acquire(lockpath):
        start = time.monotonic()
        with pytest.raises(pidlock.AlreadyRunning):
            pidlock.acquire(lockpath, timeout=0.2)
        assert time.monotonic() - start >= 0.15


def test_wait_releases_the_gil(lockpath):
    """Another thread must run (and release) while acquire waits in C."""
    first = pidlock.acquire(lockpath)
    timer = threading.Timer(0.1, first.release)
    timer.start()
    try:
        with pidlock.acquire(lockpath, timeout=10) as lock:
            assert lock.pid == os.getpid()
    finally:
        timer.join()
    assert not first.locked


def test_wait_forever(lockpath):
    first = pidlock.acquire(lockpath)
    timer = threading.Timer(0.1, first.release)
    timer.start()
    try:
        with pidlock.acquire(lockpath, timeout=None):
            pass
    finally:
        timer.join()


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (float("nan"), ValueError),
                                     ("1", TypeError), (True, TypeError)])
def test_bad_timeout(lockpath, bad, exc):
    with pytest.raises(exc):
        pidlock.acquire(lockpath, timeout=bad)


def test_os_errors_carry_the_path(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        pidlock.acquire(str(tmp_path))
    assert info.value.filename == str(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    with pytest.raises(OSError) as info:
        pidlock.acquire(link)
    assert info.value.errno == errno.ELOOP and info.value.filename == str(link)
    with pytest.raises(OSError) as info:
        pidlock.acquire("")
    assert info.value.errno == errno.EINVAL
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        pidlock.acquire(str(tmp_path / "file" / "daemon.lock"))


def test_bad_arguments(lockpath):
    with pytest.raises(TypeError):
        pidlock.acquire(42)
    with pytest.raises(ValueError):
        pidlock.acquire(lockpath + "\0x")
    with pytest.raises(TypeError):
        pidlock.acquire(lockpath, 5)  # keyword-only options


def test_flags(lockpath):
    with pidlock.acquire(lockpath, keep_file=True, fsync=True, check_pid=True):
        pass
    assert os.path.exists(lockpath) and os.path.getsize(lockpath) == 0


def test_unreleased_lock_warns_and_releases(lockpath):
    lock = pidlock.acquire(lockpath)
    with pytest.warns(ResourceWarning, match="unreleased"):
        del lock
        gc.collect()
    assert not os.path.exists(lockpath)
    pidlock.acquire(lockpath).release()


def test_unreleased_lock_in_a_cycle_is_freed_once(lockpath):
    # A double free aborts the interpreter, so the cycles are dropped in a child process.
    code = (
        "import gc, sys, warnings, pidlock\n"
        "warnings.simplefilter('ignore', ResourceWarning)\n"
        "for _ in range(200):\n"
        "    lock = pidlock.acquire(sys.argv[1]); lock.cycle = lock; del lock; gc.collect()\n"
        "pidlock.acquire(sys.argv[1]).release()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, lockpath], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not os.path.exists(lockpath)


def test_release_in_forked_child_leaves_the_parent_lock(lockpath):
    with pidlock.acquire(lockpath) as lock:
        pid = os.fork()
        if pid == 0:
            lock.release()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0
        assert pidlock.holder(lockpath) == os.getpid()
        assert os.path.exists(lockpath)


def test_update_after_fork(lockpath):
    lock = pidlock.acquire(lockpath)
    to_child, from_parent = os.pipe()
    from_child, to_parent = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            lock.update()
            ok = lock.pid == os.getpid() and pidlock.read_pid(lockpath) == os.getpid()
            os.write(to_parent, b"1" if ok else b"0")
            os.read(to_child, 1)
            lock.release()
        finally:
            os._exit(0)
    try:
        assert os.read(from_child, 1) == b"1"
        lock.release()  # the child owns it now: this only closes our copy
        assert os.path.exists(lockpath)
        # The flock fallback keeps the parent's PID on the lock while the parent lives, so it
        # cannot show the child holding it (pidlock(3), LOCK METHODS).
        expected = -1 if pidlock.lock_method() == "flock" else pid
        assert pidlock.holder(lockpath) == expected
    finally:
        os.write(from_parent, b"x")  # the child never waits for ever, also after a failure
        os.waitpid(pid, 0)
    assert not os.path.exists(lockpath)
    for fd in (to_child, from_parent, from_child, to_parent):
        os.close(fd)


def test_helpers(tmp_path):
    p = tmp_path / "pidfile"
    assert pidlock.read_pid(p) is None
    p.write_text("123\n")
    assert pidlock.read_pid(p) == 123
    p.write_text("garbage")
    assert pidlock.read_pid(p) is None
    assert pidlock.holder(p) is None
    with pytest.raises(IsADirectoryError):
        pidlock.read_pid(tmp_path)
    assert pidlock.pid_alive(os.getpid())
    assert not pidlock.pid_alive(0)
    assert not pidlock.pid_alive(-1)
    assert not pidlock.pid_alive(2**31)
    assert not pidlock.pid_alive(2**80)
    with pytest.raises(TypeError):
        pidlock.pid_alive("1")


def test_default_path(monkeypatch, tmp_path):
    # One path per effective user whatever the environment: /run for
    # root, else the home directory of the password database, never $XDG_RUNTIME_DIR or $HOME.
    import pwd
    want = ("/run/app/daemon.lock" if os.geteuid() == 0
            else f"{pwd.getpwuid(os.geteuid()).pw_dir}/.local/share/app/daemon.lock")
    assert pidlock.default_path("app") == want
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pidlock.default_path("app") == want
    with pytest.raises(OSError) as info:
        pidlock.default_path("a/b")
    assert info.value.errno == errno.EINVAL


CHILD = textwrap.dedent("""
    import os, signal, sys, time
    import pidlock
    path, mode = sys.argv[1], sys.argv[2]
    signals = []
    signal.signal(signal.SIGUSR1, lambda *a: signals.append(1))
    print("waiting", flush=True)
    try:
        with pidlock.acquire(path, timeout=None if mode == "forever" else float(mode)):
            print("acquired", len(signals) > 0, flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    except pidlock.AlreadyRunning:
        print("timeout", len(signals) > 0, flush=True)
""")


def _child(lockpath, mode):
    return subprocess.Popen([sys.executable, "-c", CHILD, lockpath, mode],
                            stdout=subprocess.PIPE, text=True)


def _signal_until_done(child, sig, limit):
    assert child.stdout.readline() == "waiting\n"
    end = time.monotonic() + limit
    while child.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
        child.send_signal(sig)


@pytest.mark.parametrize("mode,sig,expected", [
    ("forever", signal.SIGINT, "interrupted\n"),  # Ctrl-C ends a wait
    ("0.5", signal.SIGUSR1, "timeout True\n"),   # handled signals keep the deadline
])
def test_signals_during_a_wait(lockpath, mode, sig, expected):
    with pidlock.acquire(lockpath):
        child = _child(lockpath, mode)
        _signal_until_done(child, sig, 10)
        out, _ = child.communicate(timeout=10)
    assert out == expected


def test_signal_handler_that_returns_lets_the_wait_go_on(lockpath):
    lock = pidlock.acquire(lockpath)
    child = _child(lockpath, "20")
    assert child.stdout.readline() == "waiting\n"
    for _ in range(5):
        time.sleep(0.05)
        child.send_signal(signal.SIGUSR1)
    lock.release()
    out, _ = child.communicate(timeout=20)
    assert out == "acquired True\n"
