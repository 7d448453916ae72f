"""The exceptions of pidlock, made in one place for both backends.

The SWIG extension calls error() from C when a function returns a negative errno; the CFFI
backend calls it from Python. Either way the caller sees the same exception.
"""
from __future__ import annotations

import errno as _errno
import os
from typing import Optional

__all__ = ["AlreadyRunning", "LockLost", "error"]


class AlreadyRunning(OSError):
    """The lock is held by another process (or another handle in this one).

    ``pid`` is the holder's PID, or None while the holder has not written it yet; ``path`` is
    the lock file. A wait that timed out raises this too.
    """

    pid: Optional[int]
    path: str

    def __init__(self, pid: Optional[int], path: str) -> None:
        if pid is None:
            msg = f"already running (PID not yet written; lock file: {path})"
        else:
            msg = f"already running as PID {pid} (lock file: {path})"
        super().__init__(_errno.EAGAIN, msg, path)
        self.pid = pid
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (self.pid, self.path))


class LockLost(OSError):
    """A lock this process held is no longer the lock at its path: using it would be a lie.

    Raised by the next use of the lock (``with``, fileno(), update(), release()) when its
    descriptor was closed behind the library's back, or its number now names another file
    (errno EBADFD): python-daemon's DaemonContext, closefrom(), os.closerange() and
    ``exec 3<&-`` do that. Also raised by update() when the file was removed from the path
    before it (errno ESTALE): the parent of a fork released first. Either way another process
    can take the lock now, so the program must not carry on as the one instance.

    A subclass of OSError, so that ``except OSError`` still sees it, but a class of its own:
    unlike EIO or ENOSPC it is never worth a retry, and it is not AlreadyRunning.
    """

    path: Optional[str]

    _CLOSED = (
        "its descriptor was closed, or its number reused for another file, by code outside "
        "pidlock (python-daemon's DaemonContext closes every descriptor, as closefrom() and "
        "os.closerange() do); another process can take the lock now. With python-daemon, pass "
        "DaemonContext(pidfile=pidlock.PidFile(path)): it takes the lock inside the daemon, "
        "after the descriptors are closed"
    )
    _REMOVED = (
        "the file was removed from the path before this process recorded its PID: the parent "
        "of the fork released the lock before the child's update(), and another process can "
        "take it now. Daemonize in this order: acquire() in the parent, fork, update() in the "
        "child, then the parent exits without release() (os._exit) or releases only after the "
        "child's update(); with python-daemon, pass DaemonContext(pidfile=pidlock.PidFile(path))"
    )

    def __init__(self, path: Optional[str], code: int = _errno.EBADFD) -> None:
        why = self._REMOVED if code == _errno.ESTALE else self._CLOSED
        where = f"the lock on {path}" if path is not None else "a lock"
        super().__init__(code, f"{where} is lost: {why}", path)
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # type: ignore[override]
        return (type(self), (self.path, self.errno))


def error(code: int, path: Optional[bytes], holder: int) -> OSError:
    """The exception for errno ``code``; OSError picks the subclass (PermissionError, ...)."""
    name = None if path is None else os.fsdecode(path)
    if code == _errno.EAGAIN and name is not None:
        return AlreadyRunning(holder if holder > 0 else None, name)
    if code == _errno.EBADFD:
        return LockLost(name)
    if name is None:
        return OSError(code, os.strerror(code))
    return OSError(code, os.strerror(code), name)
