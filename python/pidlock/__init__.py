"""PID lock files held by a kernel lock: Python bindings of libpidlock.

    with pidlock.acquire(pidlock.default_path("mydaemon")):
        serve()

Every decision about the lock is made by the C library; this package translates its results
into Python's habits (exceptions, context managers, None) and nothing more.
"""
from __future__ import annotations

import math
import operator
import os
import time
import warnings
from typing import Any, Optional, Union

from ._errors import AlreadyRunning

__all__ = [
    "AlreadyRunning", "PidLock", "acquire", "backend", "default_path", "holder", "pid_alive",
    "read_pid",
]

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _load_backend() -> Any:
    choice = os.environ.get("PIDLOCK_BACKEND", "")
    if choice not in ("", "swig", "cffi"):
        raise ImportError(f"pidlock: PIDLOCK_BACKEND={choice!r}: expected 'swig' or 'cffi'")
    if choice != "cffi":
        try:
            from . import pidlock_core
            return pidlock_core
        except ImportError:
            if choice == "swig":
                raise
    from . import _cffi
    return _cffi


_core = _load_backend()
backend: str = "cffi" if _core.__name__.endswith("._cffi") else "swig"
__version__: str = _core.version().decode()

_INT_MAX = 2**31 - 1
_LLONG_MAX = 2**63 - 1


def _fspath(path: StrPath) -> bytes:
    raw = os.fsencode(os.fspath(path))
    if b"\0" in raw:
        raise ValueError(f"pidlock: embedded null byte in {path!r}")
    return raw


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None or timeout == math.inf:
        return _core.WAIT_FOREVER
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"pidlock: timeout must be a number of seconds or None, not {timeout!r}")
    if not timeout >= 0:  # also NaN
        raise ValueError(f"pidlock: timeout must be >= 0 or None, not {timeout!r}")
    return min(math.ceil(timeout * 1000), _INT_MAX)


class PidLock:
    """A held lock. Release it with release(), a ``with`` block, or let the process end."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._path = os.fsdecode(_core.path(handle))
        self._pid = _core.pid(handle)

    @property
    def path(self) -> str:
        """The lock file, as given to acquire()."""
        return self._path

    @property
    def pid(self) -> int:
        """The PID this lock wrote into the file (changed by update())."""
        if self._handle is not None:
            self._pid = _core.pid(self._handle)
        return self._pid

    @property
    def locked(self) -> bool:
        """True until release()."""
        return self._handle is not None

    def fileno(self) -> int:
        """The locked descriptor (close-on-exec; closing it drops the lock)."""
        return _core.fd(self._live())

    def update(self) -> None:
        """After fork(): record this process's PID; from now on this process owns the lock."""
        _core.update(self._live())
        self._pid = _core.pid(self._handle)

    def release(self) -> None:
        """Unlock and remove the file (or only close it in a forked copy). Safe to repeat."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _core.release(handle)

    def _live(self) -> Any:
        if self._handle is None:
            raise ValueError(f"pidlock: lock on {self._path} was released")
        return self._handle

    def __enter__(self) -> "PidLock":
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        try:
            self.release()
        except OSError as failure:
            if exc is None:
                raise
            # The exception in flight is the one the caller must see.
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"pidlock: releasing {self._path} also failed: {failure}")

    def __repr__(self) -> str:
        state = "locked" if self._handle is not None else "released"
        return f"<PidLock path={self._path!r} pid={self._pid} {state}>"

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            warnings.warn(f"pidlock: unreleased lock {self!r}", ResourceWarning, source=self)
            self.release()


def acquire(path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
            fsync: bool = False, keep_file: bool = False) -> PidLock:
    """Take the lock at ``path`` and write this process's PID into it.

    ``timeout``: 0 fails at once, a number of seconds waits up to that long, None waits
    forever. Raises AlreadyRunning when the lock stays held, another OSError subclass (with
    ``filename`` set) when the file cannot be used.
    """
    raw = _fspath(path)
    ms = _timeout_ms(timeout)
    flags = _core.INTERRUPTIBLE
    if check_pid:
        flags |= _core.CHECK_PID
    if fsync:
        flags |= _core.FSYNC
    if keep_file:
        flags |= _core.KEEP_FILE
    deadline = time.monotonic() + ms / 1000 if ms > 0 else None
    while True:
        try:
            return PidLock(_core.acquire(raw, flags, ms))
        except InterruptedError:
            pass
        # Back in the interpreter, outside the except block: a pending Python signal handler
        # runs at the next bytecode, so Ctrl-C raises KeyboardInterrupt here, with no
        # InterruptedError chained to it. A handler that returns lets the wait go on.
        if deadline is not None:
            ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))


def holder(path: StrPath) -> Optional[int]:
    """Who holds the lock: its PID, -1 while it has not written one, None when free."""
    held, pid = _core.holder(_fspath(path))
    return pid if held else None


def read_pid(path: StrPath) -> Optional[int]:
    """The PID written in the file, None when it is missing, empty or malformed."""
    return _core.read_pid(_fspath(path)) or None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (False for pid <= 0, which would name a group)."""
    pid = operator.index(pid)
    # Only what a C long long cannot carry is decided here; the C library judges the rest.
    if not -_LLONG_MAX <= pid <= _LLONG_MAX:
        return False
    return bool(_core.pid_alive(pid))


def default_path(app: str) -> str:
    """The usual lock path for ``app``: $XDG_RUNTIME_DIR/app/daemon.lock, /run/app/... ."""
    return os.fsdecode(_core.default_path(_fspath(app)))
