"""pidlock.PidFile: the lock as a context manager that takes nothing until entered,
and finite timeouts of any size."""
import os
import subprocess
import sys
import threading

import pytest

import pidlock


def test_nothing_is_taken_until_entered(lockpath):
    pidfile = pidlock.PidFile(lockpath)
    assert pidfile.lock is None
    assert not os.path.exists(lockpath)
    assert pidlock.holder(lockpath) is None
    assert pidfile.path == lockpath
    assert "not entered" in repr(pidfile)


def test_with_block_holds_then_releases(lockpath):
    pidfile = pidlock.PidFile(lockpath)
    with pidfile as lock:
        assert isinstance(lock, pidlock.PidLock)
        assert pidfile.lock is lock
        assert lock.pid == os.getpid()
        assert pidlock.read_pid(lockpath) == os.getpid()
        assert pidlock.holder(lockpath) == os.getpid()
        assert "entered" in repr(pidfile)
    assert not lock.locked
    assert pidfile.lock is None
    assert not os.path.exists(lockpath)


def test_entered_again_after_it_is_left(lockpath):
    pidfile = pidlock.PidFile(lockpath)
    for _ in range(3):
        with pidfile:
            assert pidlock.holder(lockpath) == os.getpid()
        assert pidlock.holder(lockpath) is None


def test_entering_twice_without_leaving_is_refused(lockpath):
    pidfile = pidlock.PidFile(lockpath)
    with pidfile:
        with pytest.raises(RuntimeError, match="already entered"):
            pidfile.__enter__()
        assert pidlock.holder(lockpath) == os.getpid()
    assert not os.path.exists(lockpath)


def test_held_elsewhere_raises_already_running(lockpath):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, pidlock\n"
         "with pidlock.acquire(sys.argv[1]):\n"
         "    print('held', flush=True); sys.stdin.read()\n", lockpath],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        pidfile = pidlock.PidFile(lockpath)
        with pytest.raises(pidlock.AlreadyRunning) as info:
            pidfile.__enter__()
        assert info.value.pid == holder.pid
        assert pidfile.lock is None
        with pytest.raises(pidlock.AlreadyRunning):
            with pidlock.PidFile(lockpath, timeout=0.05):
                pytest.fail("the body of a refused PidFile ran")
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    with pidlock.PidFile(lockpath):  # and once it is free, the same arguments work
        pass


def test_options_reach_acquire(lockpath):
    with pidlock.PidFile(lockpath, keep_file=True, check_pid=True):
        pass
    assert os.path.getsize(lockpath) == 0


def test_the_body_exception_wins(lockpath):
    with pytest.raises(KeyError):
        with pidlock.PidFile(lockpath):
            raise KeyError("from the body")
    assert not os.path.exists(lockpath)


@pytest.mark.parametrize("bad,exc", [(None, TypeError), (b"a\0b", ValueError)])
def test_bad_path_fails_at_construction(bad, exc):
    with pytest.raises(exc):
        pidlock.PidFile(bad)


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (float("nan"), ValueError),
                                     ("1", TypeError), (True, TypeError)])
def test_bad_timeout_fails_at_construction(lockpath, bad, exc):
    with pytest.raises(exc):
        pidlock.PidFile(lockpath, timeout=bad)
    assert not os.path.exists(lockpath)


@pytest.mark.parametrize("timeout", [1e306, sys.float_info.max, 10**400, 2**31, 1e7])
def test_any_finite_timeout_is_a_long_wait(lockpath, timeout):
    # Free: taken at once, no OverflowError on the way.
    pidlock.acquire(lockpath, timeout=timeout).release()
    # Held: the wait goes on until the holder releases, as a very long one does.
    first = pidlock.acquire(lockpath)
    got = []
    waiter = threading.Thread(target=lambda: got.append(pidlock.acquire(lockpath, timeout=timeout)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not got, "a long timeout gave up while the lock was held"
    first.release()
    waiter.join(30)
    assert not waiter.is_alive() and len(got) == 1
    assert got[0].pid == os.getpid()
    got[0].release()
