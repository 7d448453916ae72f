"""A held lock whose descriptor was closed or reused behind the library's back, and the wrong
daemonize order: loud failures, never EBADF or silence, and nothing closed or removed that is not
the lock's own. Ordinary I/O on fileno() is none of these."""
import errno
import os
import pickle
import subprocess
import sys

import pytest

import pidlock


def lose(lock, reopen):
    """Close the lock's descriptor as python-daemon does; with reopen, put another file on the
    same number, as python-daemon's redirection to /dev/null does."""
    fd = lock.fileno()
    os.close(fd)
    if not reopen:
        return None
    other = os.open(os.devnull, os.O_RDWR)
    assert other == fd, "the test needs the number reused"
    return other


def assert_lost_error(e, lockpath):
    assert isinstance(e, OSError)
    assert e.errno == errno.EBADFD
    assert e.filename == lockpath
    text = str(e)
    # The library's sentence (it says which descriptor, or that the lock is lost), then what
    # to do about it in Python.
    assert lockpath in text and ("lost" in text or "no longer" in text) and "PidFile" in text
    assert "Bad file descriptor" not in text


@pytest.mark.parametrize("reopen", [False, True], ids=["closed", "reused"])
@pytest.mark.parametrize("use", ["with", "fileno", "update", "release"])
def test_next_use_fails_loudly(lockpath, reopen, use):
    lock = pidlock.acquire(lockpath)
    other = lose(lock, reopen)
    try:
        with pytest.raises(pidlock.LockLost) as info:
            if use == "with":
                with lock:
                    pytest.fail("the body ran with a lost lock")
            else:
                getattr(lock, use)()
        assert_lost_error(info.value, lockpath)
        assert not lock.locked
        assert "lost" in repr(lock)
        lock.release()  # reported once; releasing again is quiet, as after any release
        with pytest.raises(pidlock.LockLost):
            lock.fileno()
        if other is not None:
            # The descriptor that now has the number is not the lock's: still open.
            assert os.fstat(other).st_ino == os.stat(os.devnull).st_ino
        # The file the lock wrote stays (its lock went with the descriptor); a new start
        # takes it over.
        assert pidlock.holder(lockpath) is None
        pidlock.acquire(lockpath).release()
    finally:
        if other is not None:
            os.close(other)


def test_release_leaves_the_next_holders_file_alone(lockpath):
    """The number is reused by the next holder of the same file, in this very process."""
    if pidlock.lock_method() == "flock":
        pytest.skip("the flock build cannot tell two handles of one file apart (pidlock(3))")
    first = pidlock.acquire(lockpath)
    fd = first.fileno()
    os.close(fd)
    second = pidlock.acquire(lockpath)
    assert second.fileno() == fd
    with pytest.raises(pidlock.LockLost):
        first.release()
    assert second.locked
    assert os.fstat(second.fileno()).st_ino == os.stat(lockpath).st_ino
    assert pidlock.holder(lockpath) == os.getpid()
    second.release()
    assert not os.path.exists(lockpath)


def test_release_leaves_another_process_lock_alone(lockpath):
    first = pidlock.acquire(lockpath)
    lose(first, reopen=False)
    other = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, pidlock\n"
         "with pidlock.acquire(sys.argv[1]):\n"
         "    print('held', flush=True); sys.stdin.read()\n", lockpath],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        with pytest.raises(pidlock.LockLost):
            first.release()
        assert pidlock.holder(lockpath) == other.pid
        assert pidlock.read_pid(lockpath) == other.pid
    finally:
        other.stdin.close()
        assert other.wait(timeout=10) == 0
    assert not os.path.exists(lockpath)


def test_exit_with_an_exception_in_flight_keeps_it(lockpath):
    lock = pidlock.acquire(lockpath)
    with pytest.raises(KeyError) as info:
        with lock:
            lose(lock, reopen=False)
            raise KeyError("from the body")
    if sys.version_info >= (3, 11):
        assert any("PidFile" in note for note in info.value.__notes__)


def test_pidfile_exit_reports_the_loss(lockpath):
    with pytest.raises(pidlock.LockLost):
        with pidlock.PidFile(lockpath) as lock:
            lose(lock, reopen=False)


def test_lock_lost_survives_pickling():
    e = pidlock.LockLost("/run/x/daemon.lock")
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is pidlock.LockLost
    assert str(again) == str(e) and again.errno == errno.EBADFD and again.path == e.path


def test_gc_of_a_lost_lock_is_quiet(lockpath):
    code = (
        "import gc, os, sys, warnings, pidlock\n"
        "warnings.simplefilter('ignore', ResourceWarning)\n"
        "lock = pidlock.acquire(sys.argv[1])\n"
        "os.close(lock.fileno())\n"
        "try:\n"
        "    lock.fileno()\n"
        "except pidlock.LockLost:\n"
        "    pass\n"
        "del lock; gc.collect()\n"
    )
    done = subprocess.run([sys.executable, "-c", code, lockpath], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_parent_release_before_child_update_fails_loudly_in_the_child(lockpath):
    """The wrong daemonize order: the parent's release removes the file (it still owns it),
    so the child's update() must not pretend to hold the lock at the path."""
    lock = pidlock.acquire(lockpath)
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(go_w)
            os.close(res_r)
            os.read(go_r, 1)
            try:
                lock.update()
                os.write(res_w, b"no error")
            except pidlock.LockLost as e:
                ok = e.errno == errno.ESTALE and "update()" in str(e) and "os._exit" in str(e)
                os.write(res_w, b"lost" if ok else str(e).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(res_w)  # so that a child that dies early gives EOF, not a hang
    lock.release()  # too early: the file goes
    assert not os.path.exists(lockpath)
    os.write(go_w, b"x")
    result = os.read(res_r, 4096)
    _, status = os.waitpid(pid, 0)
    os.close(go_w)
    os.close(res_r)
    assert status == 0
    assert result == b"lost"


def test_parent_exit_without_release_after_child_update(lockpath):
    """The safe order: the child updates, the parent leaves with os._exit (no release)."""
    code = (
        "import os, sys, pidlock\n"
        "lock = pidlock.acquire(sys.argv[1])\n"
        "r, w = os.pipe()\n"
        "if os.fork() == 0:\n"
        "    lock.update()\n"
        "    print(os.getpid(), flush=True)\n"
        "    os.write(w, b'x')\n"
        "    sys.stdin.read()\n"
        "    lock.release()\n"
        "    print('released', flush=True)\n"
        "    os._exit(0)\n"
        "os.read(r, 1)\n"
        "os._exit(0)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, lockpath], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        daemon = int(child.stdout.readline())
        assert child.wait(timeout=10) == 0
        assert pidlock.holder(lockpath) == daemon
        assert pidlock.read_pid(lockpath) == daemon
    finally:
        child.stdin.close()  # the daemon's stdin too: it releases
    assert child.stdout.readline() == "released\n"
    child.stdout.close()
    assert not os.path.exists(lockpath)


def test_io_on_fileno_is_not_a_lost_lock(lockpath):
    """Reading back the PID, writing and seeking through fileno(), also from a forked worker,
    move the file offset: the lock is still held, and the release removes the file."""
    lock = pidlock.acquire(lockpath)
    fd = lock.fileno()
    os.lseek(fd, 0, os.SEEK_SET)
    assert os.read(fd, 32) == b"%d\n" % os.getpid()
    os.write(fd, b"x")
    pid = os.fork()
    if pid == 0:
        os.lseek(fd, 0, os.SEEK_SET)
        os.read(fd, 32)
        os._exit(0)
    os.waitpid(pid, 0)
    assert lock.fileno() == fd  # fileno() asks the library whether the lock is still held
    with pytest.raises(pidlock.AlreadyRunning):
        pidlock.acquire(lockpath)
    lock.release()
    assert not os.path.exists(lockpath)
    pidlock.acquire(lockpath).release()
