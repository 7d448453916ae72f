"""The 1.1 functions (holds, check_path, lock_method, readable), the library's sentence in
every error, and the habits of filelock users: Timeout, logging, a mistaken constructor,
create_task, reentrancy. On whichever backend PIDLOCK_BACKEND names."""
import asyncio
import errno
import logging
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import pidlock


def unsafe_dir(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    d.chmod(0o777)  # writable by others, not sticky: refused
    return d


# ---------------------------------------------------------------- the 1.1 functions

def test_lock_method():
    assert pidlock.lock_method() in ("ofd", "flock")


def test_holds(lockpath):
    assert pidlock.holds(lockpath, os.getpid()) is False  # no file
    with pidlock.acquire(lockpath):
        assert pidlock.holds(lockpath, os.getpid()) is True
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert pidlock.holds(lockpath, child.pid) is False
        finally:
            child.kill()
            child.wait()


def test_check_path(lockpath, tmp_path):
    assert pidlock.check_path(lockpath) is None  # missing parts are fine
    d = unsafe_dir(tmp_path)
    why = pidlock.check_path(str(d / "x.lock"))
    assert isinstance(why, str) and str(d) in why
    assert not os.path.exists(d / "x.lock")
    os.symlink(lockpath, tmp_path / "link")
    with pytest.raises(OSError) as info:
        pidlock.check_path(str(tmp_path / "link"))
    assert info.value.errno == errno.ELOOP


def test_readable(lockpath):
    old = os.umask(0o022)
    try:
        with pidlock.acquire(lockpath, readable=True):
            assert stat.S_IMODE(os.stat(lockpath).st_mode) == 0o644
        with pidlock.acquire(lockpath):
            assert stat.S_IMODE(os.stat(lockpath).st_mode) == 0o600
        with pidlock.PidFile(lockpath, readable=True):
            assert stat.S_IMODE(os.stat(lockpath).st_mode) == 0o644
    finally:
        os.umask(old)


def test_readable_async(lockpath):
    async def main():
        async with pidlock.acquire_async(lockpath, readable=True):
            return stat.S_IMODE(os.stat(lockpath).st_mode)
    old = os.umask(0o022)
    try:
        assert asyncio.run(main()) == 0o644
    finally:
        os.umask(old)


# ---------------------------------------------------------------- the library's sentence

def test_refused_path_says_why(tmp_path):
    d = unsafe_dir(tmp_path)
    path = str(d / "x.lock")
    why = pidlock.check_path(path)
    with pytest.raises(PermissionError) as info:
        pidlock.acquire(path)
    assert info.value.filename == path
    assert why in str(info.value)  # the same sentence the command prints
    assert "Operation not permitted" not in str(info.value)


def test_refused_path_async_says_why(tmp_path):
    path = str(unsafe_dir(tmp_path) / "x.lock")
    with pytest.raises(PermissionError) as info:
        asyncio.run(_await(pidlock.acquire_async(path)))
    assert pidlock.check_path(path) in str(info.value)


async def _await(aw):
    return await aw


def test_holder_probe_of_refused_path_says_why(tmp_path):
    path = str(unsafe_dir(tmp_path) / "x.lock")
    with pytest.raises(PermissionError) as info:
        pidlock.holder(path)
    assert pidlock.check_path(path) in str(info.value)


def test_waiter_copied_into_a_child_is_refused(lockpath):
    """A waiter made before fork() belongs to the parent; the child's try fails clearly."""
    first = pidlock.acquire(lockpath)
    waiter = pidlock._core.waiter_new(os.fsencode(lockpath), 0)
    try:
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            try:
                pidlock._core.waiter_try(waiter, os.fsencode(lockpath))
                os.write(w, b"no error")
            except ChildProcessError as e:
                os.write(w, ("ECHILD " + str(e)).encode())
            except BaseException as e:  # noqa: BLE001
                os.write(w, repr(e).encode())
            os._exit(0)
        os.close(w)
        got = os.read(r, 4096).decode()
        os.close(r)
        os.waitpid(child, 0)
    finally:
        pidlock._core.waiter_free(waiter)
        first.release()
    if got.startswith("already") or "AlreadyRunning" in got:
        pytest.skip("this library lets a child use the parent's waiter")
    assert got.startswith("ECHILD"), got
    assert "fork" in got or "process" in got, got


# ---------------------------------------------------------------- Timeout

def test_timeout_is_already_running_and_timeout_error(lockpath):
    with pidlock.acquire(lockpath):
        start = time.monotonic()
        with pytest.raises(pidlock.Timeout) as info:
            pidlock.acquire(lockpath, timeout=0.2)
        assert time.monotonic() - start >= 0.15
    e = info.value
    assert isinstance(e, pidlock.AlreadyRunning) and isinstance(e, TimeoutError)
    assert e.errno == errno.EAGAIN and e.pid == os.getpid() and e.path == lockpath
    assert 0.15 <= e.waited < 5
    assert "after waiting 0.2" in str(e)
    copy = pickle.loads(pickle.dumps(e))
    assert (type(copy), copy.pid, copy.waited, str(copy)) == (type(e), e.pid, e.waited, str(e))


def test_no_wait_is_not_a_timeout(lockpath):
    with pidlock.acquire(lockpath):
        with pytest.raises(pidlock.AlreadyRunning) as info:
            pidlock.acquire(lockpath)
    assert not isinstance(info.value, pidlock.Timeout)


def test_timeout_async(lockpath):
    async def main():
        with pidlock.acquire(lockpath):
            with pytest.raises(pidlock.Timeout) as info:
                await pidlock.acquire_async(lockpath, timeout=0.1)
        return info.value
    e = asyncio.run(main())
    assert isinstance(e, TimeoutError) and "after waiting" in str(e)


def test_timeout_pidfile(lockpath):
    with pidlock.acquire(lockpath):
        with pytest.raises(TimeoutError):
            with pidlock.PidFile(lockpath, timeout=0.05):
                pytest.fail("entered a held lock")


# ---------------------------------------------------------------- logging

def test_logging_of_a_wait(lockpath, caplog):
    caplog.set_level(logging.DEBUG, logger="pidlock")
    first = pidlock.acquire(lockpath)
    with pytest.raises(pidlock.Timeout):
        pidlock.acquire(lockpath, timeout=0.1)
    first.release()
    records = [r for r in caplog.records if r.name == "pidlock"]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert infos == [f"waiting for PID {os.getpid()} to release {lockpath}"]
    debugs = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert debugs and debugs[0] == f"trying {lockpath}"
    assert any(m.startswith("woken") for m in debugs), debugs


def test_logging_of_a_wait_async(lockpath, caplog):
    caplog.set_level(logging.DEBUG, logger="pidlock")
    first = pidlock.acquire(lockpath)

    async def main():
        with pytest.raises(pidlock.Timeout):
            await pidlock.acquire_async(lockpath, timeout=0.1)
    asyncio.run(main())
    first.release()
    infos = [r.getMessage() for r in caplog.records
             if r.name == "pidlock" and r.levelno == logging.INFO]
    assert infos == [f"waiting for PID {os.getpid()} to release {lockpath}"]


def test_no_wait_logs_no_info(lockpath, caplog):
    caplog.set_level(logging.DEBUG, logger="pidlock")
    with pidlock.acquire(lockpath):
        pass
    assert [r.levelno for r in caplog.records if r.name == "pidlock"] == [logging.DEBUG]


# ---------------------------------------------------------------- the mistaken constructor

def test_pidlock_constructor_points_to_acquire():
    code = textwrap.dedent("""
        import gc, pidlock
        try:
            pidlock.PidLock("/tmp/x.lock")
        except TypeError as e:
            print(e)
        gc.collect()
    """)
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "pidlock.acquire(" in out.stdout
    assert out.stderr == ""  # no "Exception ignored in __del__"


def test_half_built_lock_is_safe():
    lock = pidlock.PidLock.__new__(pidlock.PidLock)
    assert "PidLock" in repr(lock) and "released" in repr(lock)
    lock.__del__()
    lock.release()
    assert not lock.locked


# ---------------------------------------------------------------- asyncio

def test_create_task_accepts_acquire_async(lockpath):
    async def main():
        task = asyncio.create_task(pidlock.acquire_async(lockpath, timeout=5))
        lock = await task
        assert lock.pid == os.getpid()
        lock.release()

        # A wait cancelled through its task leaves nothing behind.
        first = pidlock.acquire(lockpath)
        task = asyncio.create_task(pidlock.acquire_async(lockpath, timeout=None))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        first.release()
    asyncio.run(main())
    assert not os.path.exists(lockpath)


def test_acquire_async_repr_shows_str_path(lockpath):
    aw = pidlock.acquire_async(lockpath)
    assert f"path={lockpath!r}" in repr(aw)
    assert "b'" not in repr(aw)


def test_import_does_not_load_asyncio_or_the_cffi_parser():
    code = ("import sys, pidlock; "
            "print(sorted(m for m in ('asyncio', 'pycparser', 'logging') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- reentrancy, threads

def test_second_acquire_in_this_process_says_so(lockpath):
    with pidlock.acquire(lockpath):
        with pytest.raises(pidlock.AlreadyRunning) as info:
            pidlock.acquire(lockpath)
    assert info.value.pid == os.getpid()
    assert "already held by this process" in str(info.value)
    assert "already running as PID" not in str(info.value)


def test_docstrings_state_reentrancy_and_threads():
    for doc in (pidlock.__doc__, pidlock.acquire.__doc__, pidlock.PidLock.__doc__):
        assert "reentrant" in doc
    assert "thread" in pidlock.__doc__.lower() and "thread" in pidlock.acquire.__doc__.lower()


def test_docstrings_give_every_meaning_of_minus_one():
    for doc in (pidlock.holder.__doc__, pidlock.AlreadyRunning.__doc__):
        for meaning in ("not written", "malformed", "does not hold", "namespace", "inspect"):
            assert meaning in doc, (meaning, doc)


# ---------------------------------------------------------------- CFFI in ABI mode

@pytest.mark.skipif(pidlock.backend != "cffi", reason="the CFFI backend's fallback")
def test_cffi_abi_fallback(lockpath, tmp_path):
    code = textwrap.dedent("""
        import os, sys, pidlock
        assert pidlock._core.mode == "abi", pidlock._core.mode
        path, bad = sys.argv[1], sys.argv[2]
        with pidlock.acquire(path, readable=True):
            assert pidlock.holds(path, os.getpid())
        try:
            pidlock.acquire(bad)
        except PermissionError as e:
            assert pidlock.check_path(bad) in str(e), str(e)
        print("ok", pidlock.lock_method())
    """)
    bad = str(unsafe_dir(tmp_path) / "x.lock")
    env = dict(os.environ, PIDLOCK_CFFI="abi")
    out = subprocess.run([sys.executable, "-c", code, lockpath, bad], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")
