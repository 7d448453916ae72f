"""The exceptions of pidlock, made in one place for both backends.

The SWIG extension calls error() from C when a function returns a negative errno; the CFFI
backend calls it from Python. Either way the caller sees the same exception, with the same
message: the C library's sentence (pidlock_last_error(), worded once in C for the command and
every binding) with the path and the holder, composed by bindings/pidlock_message.h.
"""
from __future__ import annotations

import errno as _errno
import os

__all__ = ["AlreadyRunning", "LockLost", "Timeout", "error"]


class AlreadyRunning(OSError):
    """The lock is held by another process, or by another lock of this one.

    ``pid`` is the holder's PID as the kernel shows it, or None when no PID could be shown to
    hold the lock: the holder has not written it yet, the file is empty or malformed, or the
    PID in it is of a process that does not hold the lock, of another PID namespace (a
    container), or of a process this one may not inspect. ``path`` is the lock file.

    When ``pid`` is this process (os.getpid()) the message says "already held by this
    process": locks are not reentrant, and a second acquire() of a path this process holds
    fails as another process's would. ``errno`` is EAGAIN, or EBUSY when the file is
    read-locked by a process that is not a holder (a reader of a ``readable=True`` file).
    """

    pid: int | None
    path: str

    def __init__(self, pid: int | None, path: str, message: str | None = None,
                 code: int = _errno.EAGAIN) -> None:
        super().__init__(code, message or f"{path}: {os.strerror(code)}", path)
        self.pid = pid
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.pid, self.path, self.strerror, self.errno))


class Timeout(AlreadyRunning, TimeoutError):
    """A wait (``timeout`` > 0) ended without the lock: raised by acquire(), acquire_async()
    and PidFile when the lock stayed held for the whole timeout. A subclass of AlreadyRunning
    (``pid`` and ``path`` as there) and of TimeoutError, like filelock's Timeout; ``waited``
    is how long it waited, in seconds, and the message says it."""

    waited: float

    def __init__(self, pid: int | None, path: str, message: str | None = None,
                 code: int = _errno.EAGAIN, waited: float = 0.0) -> None:
        super().__init__(pid, path, message, code)
        self.waited = waited

    @classmethod
    def after(cls, held: OSError, path: str, waited: float) -> "Timeout":
        """The Timeout of a wait whose last try failed with ``held``."""
        pid = held.pid if isinstance(held, AlreadyRunning) else None
        return cls(pid, path, f"still held after waiting {waited:g} s: {held.strerror}",
                   held.errno or _errno.EAGAIN, waited)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.pid, self.path, self.strerror, self.errno, self.waited))


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

    path: str | None

    # What only Python adds to the library's sentence: what to do about it in Python.
    _ADVICE = {
        _errno.EBADFD: "python-daemon's DaemonContext closes every descriptor, as closefrom() "
        "and os.closerange() do: with python-daemon, pass "
        "DaemonContext(pidfile=pidlock.PidFile(path)), which takes the lock inside the daemon, "
        "after the descriptors are closed",
        _errno.ESTALE: "the parent of the fork released the lock before the child's update(), "
        "and another process can take it now. Daemonize in this order: acquire() in the parent, "
        "fork, update() in the child, then the parent exits without release() (os._exit) or "
        "releases only after the child's update(); with python-daemon, pass "
        "DaemonContext(pidfile=pidlock.PidFile(path))",
    }

    def __init__(self, path: str | None, code: int = _errno.EBADFD,
                 message: str | None = None) -> None:
        if message is None:
            message = os.strerror(code)
        if path is not None and path not in message:
            message = f"{path}: {message}"
        advice = self._ADVICE.get(code)
        text = message if advice is None or advice in message else f"{message}. {advice}"
        super().__init__(code, text, path)
        self.path = path

    def __str__(self) -> str:
        return str(self.strerror)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.path, self.errno, self.strerror))


def error(code: int, path: bytes | None, holder: int, message: bytes | str) -> OSError:
    """The exception for errno ``code`` of a call on ``path`` with the binding's ``message``;
    OSError picks the subclass (PermissionError, ChildProcessError, ...) by itself."""
    name = None if path is None else os.fsdecode(path)
    text = os.fsdecode(message) if isinstance(message, bytes) else message
    if code == _errno.EAGAIN and name is not None:
        return AlreadyRunning(holder if holder > 0 else None, name, text)
    if code == _errno.EBADFD:
        return LockLost(name, code, text)
    if name is None:
        return OSError(code, text)
    # OSError shows the file name itself: "[Errno 1] directory ... not sticky: 'PATH'".
    if text.startswith(name + ": "):
        text = text[len(name) + 2:]
    return OSError(code, text, name)
