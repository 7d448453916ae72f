"""The exceptions of pidlock, made in one place for both backends.

The SWIG extension calls error() from C when a function returns a negative errno; the CFFI
backend calls it from Python. Either way the caller sees the same exception.
"""
from __future__ import annotations

import errno as _errno
import os
from typing import Optional

__all__ = ["AlreadyRunning", "error"]


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


def error(code: int, path: Optional[bytes], holder: int) -> OSError:
    """The exception for errno ``code``; OSError picks the subclass (PermissionError, ...)."""
    name = None if path is None else os.fsdecode(path)
    if code == _errno.EAGAIN and name is not None:
        return AlreadyRunning(holder if holder > 0 else None, name)
    if name is None:
        return OSError(code, os.strerror(code))
    return OSError(code, os.strerror(code), name)
