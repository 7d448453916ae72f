"""acquire_async(), on whichever backend PIDLOCK_BACKEND names.

Every wait is bounded (BOUND seconds) only so that a missed wake-up fails instead of hanging;
no test asserts how long anything took.
"""
import asyncio
import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import pidlock

BOUND = 10

# A holder in another process that releases when told to and then stays alive, so that the
# waiter's wake-up is the release itself, not the holder's exit.
_HOLDER = textwrap.dedent("""
    import sys, pidlock
    lock = pidlock.acquire(sys.argv[1], keep_file=sys.argv[2] == "keep")
    print("ready", flush=True)
    if sys.stdin.readline():
        lock.release()
        print("released", flush=True)
        sys.stdin.read()
""")


class Holder:
    def __init__(self, path, keep_file=False):
        self.proc = subprocess.Popen([sys.executable, "-c", _HOLDER, path,
                                      "keep" if keep_file else "unlink"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline() == "ready\n"
        self.pid = self.proc.pid

    def release(self):
        self.proc.stdin.write("release\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "released\n"

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class Helper:
    """The C conformance helper holding the lock (--setup lock), or holding it without a PID
    written (--setup raw), until it is killed."""

    def __init__(self, binary, setup, path):
        directory, rel = os.path.split(path)
        self.proc = subprocess.Popen([binary, "--setup", setup, directory, rel],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("ready "), f"setup {setup} failed: {line!r}"
        self.pid = int(line.split()[1])

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.close()


def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


async def waiting(path, **options):
    """A task waiting for the lock at ``path``, after its first try has found it held (the
    try happens in the task's first step, before its first await)."""
    task = asyncio.ensure_future(pidlock.acquire_async(path, **options))
    await asyncio.sleep(0)
    assert not task.done(), task
    return task


def test_free_lock(lockpath):
    async def main():
        async with pidlock.acquire_async(lockpath, timeout=5) as lock:
            assert isinstance(lock, pidlock.PidLock)
            assert lock.pid == os.getpid() and lock.locked and lock.path == lockpath
            assert pidlock.read_pid(lockpath) == os.getpid()
        assert not lock.locked
        assert not os.path.lexists(lockpath)
        lock = await pidlock.acquire_async(lockpath)
        assert pidlock.holder(lockpath) == os.getpid()
        lock.release()
    asyncio.run(main())


def test_options_are_acquires(lockpath):
    async def main():
        async with pidlock.acquire_async(lockpath, keep_file=True, fsync=True):
            pass
        assert os.path.getsize(lockpath) == 0
    asyncio.run(main())


def test_held_raises_already_running(lockpath, procs):
    procs.append(Holder(lockpath))
    holder = procs[0].pid

    async def main():
        for timeout in (0, 0.05):
            with pytest.raises(pidlock.AlreadyRunning) as info:
                await pidlock.acquire_async(lockpath, timeout=timeout)
            assert info.value.pid == holder
            assert info.value.errno == errno.EAGAIN
            assert info.value.filename == lockpath
            assert str(info.value).endswith(f"already running as PID {holder} (lock file: {lockpath})")
            assert isinstance(info.value, pidlock.Timeout) == (timeout > 0)
    asyncio.run(main())
    assert pidlock.read_pid(lockpath) == holder


def test_errors_are_acquires(tmp_path):
    async def main():
        with pytest.raises(IsADirectoryError) as info:
            await pidlock.acquire_async(str(tmp_path), timeout=1)
        assert info.value.filename == str(tmp_path)
        os.symlink("elsewhere", tmp_path / "link")
        with pytest.raises(OSError) as info:
            await pidlock.acquire_async(str(tmp_path / "link"), timeout=1)
        assert info.value.errno == errno.ELOOP
        assert info.value.filename == str(tmp_path / "link")
    asyncio.run(main())


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (float("nan"), ValueError),
                                     ("1", TypeError), (True, TypeError)])
def test_bad_arguments_raise_at_the_call(lockpath, bad, exc):
    with pytest.raises(exc):
        pidlock.acquire_async(lockpath, timeout=bad)
    with pytest.raises(ValueError):
        pidlock.acquire_async(lockpath + "\0x")
    with pytest.raises(TypeError):
        pidlock.acquire_async(None)
    assert not os.path.lexists(os.path.dirname(lockpath))


def _wake(cause, path, procs, conformance_helper):
    """Starts the holder of ``cause`` and returns (holder's PID as a waiter sees it, the cause)."""
    if cause in ("release", "release_keep_file"):
        h = Holder(path, keep_file=cause == "release_keep_file")
        procs.append(h)
        return h.pid, h.release
    if cause == "sigkill":
        h = Holder(path)
        procs.append(h)
        return h.pid, h.kill
    if cause == "unwritten":
        h = Helper(conformance_helper, "raw", path)
        procs.append(h)
        return None, h.kill
    raise AssertionError(cause)


@pytest.mark.parametrize("cause", ["release", "release_keep_file", "sigkill", "unwritten"])
def test_woken_by(cause, lockpath, procs, request):
    helper = None
    if cause == "unwritten":
        helper = request.getfixturevalue("conformance")[0]
    holder, make_it_happen = _wake(cause, lockpath, procs, helper)

    async def main():
        with pytest.raises(pidlock.AlreadyRunning) as info:
            await pidlock.acquire_async(lockpath)
        assert info.value.pid == holder
        task = await waiting(lockpath, timeout=None)
        make_it_happen()
        with await asyncio.wait_for(task, BOUND) as lock:
            assert lock.pid == os.getpid()
            assert pidlock.read_pid(lockpath) == os.getpid()
    asyncio.run(main())
    assert not os.path.lexists(lockpath)


def test_follows_the_file_now_at_the_path(tmp_path, procs):
    """Another holder's file renamed over the path: the waiter takes the lock only when that
    holder lets go, not when the holder of the replaced file does."""
    path = str(tmp_path / "daemon.lock")
    first = Holder(path)
    procs.append(first)
    second = Holder(str(tmp_path / "other.lock"))
    procs.append(second)

    async def main():
        task = await waiting(path, timeout=BOUND)
        os.rename(tmp_path / "other.lock", path)
        first.kill()
        # Whatever the task does now it must not take the lock: a few turns of the loop.
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not task.done()
        with pytest.raises(pidlock.AlreadyRunning) as info:
            pidlock.acquire(path)
        assert info.value.pid == second.pid
        second.release()
        lock = await asyncio.wait_for(task, BOUND)
        assert pidlock.read_pid(path) == os.getpid()
        lock.release()
    asyncio.run(main())


def test_no_thread(lockpath):
    """The wait runs on the loop alone: no thread is started while it waits."""
    async def main():
        first = pidlock.acquire(lockpath)
        before = threading.active_count()
        task = await waiting(lockpath, timeout=BOUND)
        for _ in range(5):
            await asyncio.sleep(0.01)
            assert threading.active_count() == before
        first.release()
        (await task).release()
    asyncio.run(main())


def test_two_waiters_take_turns(lockpath):
    async def main():
        first = pidlock.acquire(lockpath)
        a = await waiting(lockpath, timeout=BOUND)
        b = await waiting(lockpath, timeout=BOUND)
        first.release()
        done, pending = await asyncio.wait({a, b}, timeout=BOUND,
                                           return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1 and len(pending) == 1
        winner = done.pop().result()
        assert pidlock.holder(lockpath) == os.getpid()
        winner.release()
        (await asyncio.wait_for(pending.pop(), BOUND)).release()
    asyncio.run(main())


def test_timeout_while_waiting(lockpath, procs):
    procs.append(Holder(lockpath))

    async def main():
        fds = open_fds()
        with pytest.raises(pidlock.AlreadyRunning) as info:
            await pidlock.acquire_async(lockpath, timeout=0.1)
        assert info.value.pid == procs[0].pid
        assert open_fds() == fds
    asyncio.run(main())


def test_body_exception_releases(lockpath):
    async def main():
        with pytest.raises(KeyError):
            async with pidlock.acquire_async(lockpath):
                raise KeyError("body")
        assert pidlock.holder(lockpath) is None
    asyncio.run(main())
    assert not os.path.lexists(lockpath)


@pytest.mark.parametrize("how", ["cancel", "wait_for", "timeout_cm"])
def test_cancelled_wait_leaves_nothing(how, tmp_path):
    """A cancelled wait closes its descriptors and leaves no file and no directory of its own:
    once the holder releases (unlinking), nothing is left at the path."""
    path = str(tmp_path / "run" / "app" / "daemon.lock")

    async def main():
        fds = open_fds()
        first = pidlock.acquire(path)
        if how == "cancel":
            task = await waiting(path, timeout=None)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif how == "wait_for":
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pidlock.acquire_async(path, timeout=None), 0.05)
        else:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await pidlock.acquire_async(path, timeout=None)
        assert pidlock.read_pid(path) == os.getpid() and first.locked
        first.release()
        assert open_fds() == fds
        assert not os.path.lexists(path)
    asyncio.run(main())


def test_thousand_cancelled_waits_leak_nothing(tmp_path, procs):
    path = str(tmp_path / "daemon.lock")
    holder = Holder(path)
    procs.append(holder)

    async def main():
        fds = open_fds()
        for i in range(1000):
            task = await waiting(path, timeout=None)
            if i % 2:
                # Some cancelled after a wake-up or two, not only right after the first try.
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert open_fds() == fds
        assert sorted(os.listdir(tmp_path)) == ["daemon.lock"]
        assert pidlock.read_pid(path) == holder.pid
        holder.release()
        assert os.listdir(tmp_path) == []
        # And the next wait still works.
        async with pidlock.acquire_async(path):
            pass
    asyncio.run(main())
