"""PID lock files held by a kernel lock: Python bindings of libpidlock.

    with pidlock.acquire(pidlock.default_path("mydaemon")):
        serve()

    with daemon.DaemonContext(pidfile=pidlock.PidFile("/run/mydaemon/daemon.lock")):
        serve()                                  # python-daemon: the lock taken in the daemon

Every decision about the lock is made by the C library; this package translates its results
into Python's habits (exceptions, context managers, None) and nothing more.
"""
from __future__ import annotations

import errno
import math
import operator
import os
import time
import warnings
from typing import Any, Optional, Union

from ._errors import AlreadyRunning, LockLost

__all__ = [
    "AlreadyRunning", "LockLost", "PidFile", "PidLock", "acquire", "backend", "default_path",
    "holder", "pid_alive", "read_pid", "acquire_async",
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
    # Compared before multiplying: from about 1.8e305 s the product is infinite, and
    # math.ceil(inf) raises OverflowError. Any wait past the C library's cap is the cap.
    if timeout >= _INT_MAX / 1000:
        return _INT_MAX
    return math.ceil(timeout * 1000)


class PidLock:
    """A held lock. Release it with release(), a ``with`` block, or let the process end.

    Every use checks that the lock is still this process's: when its descriptor was closed
    or reused behind the library's back (python-daemon, closefrom()), ``with``, fileno(),
    update() and release() raise LockLost, once; the lock is then released (nothing that is
    not its own is closed or removed) and release() does nothing more.
    """

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._path = os.fsdecode(_core.path(handle))
        self._pid = _core.pid(handle)
        self._lost = 0  # the errno of the LockLost already raised, 0 while not lost

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
        """True until release() (or until the lock was found lost)."""
        return self._handle is not None

    def fileno(self) -> int:
        """The locked descriptor (close-on-exec; closing it drops the lock)."""
        return _core.fd(self._checked())

    def update(self) -> None:
        """After fork(): record this process's PID; from now on this process owns the lock.

        The parent must not release before this has run: its release would remove the file
        (it still owns it) and let a second instance start. Acquire in the parent, fork, call
        update() in the child, then let the parent leave with os._exit() or release only
        after the child's update() (the parent's release then only closes its copy). When the
        file is already gone from the path, this raises LockLost.
        """
        handle = self._live()
        try:
            _core.update(handle)
        except LockLost:
            raise self._lose(errno.EBADFD) from None
        except OSError as e:
            # ESTALE: the C library found the file unlinked, the wrong order above.
            if e.errno != errno.ESTALE:
                raise
            raise self._lose(errno.ESTALE) from None
        self._pid = _core.pid(handle)

    def release(self) -> None:
        """Unlock and remove the file (or only close it in a forked copy). Safe to repeat."""
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                _core.release(handle)
            except LockLost:
                self._lost = errno.EBADFD
                raise LockLost(self._path) from None

    def _live(self) -> Any:
        if self._handle is None:
            if self._lost:
                raise LockLost(self._path, self._lost)
            raise ValueError(f"pidlock: lock on {self._path} was released")
        return self._handle

    def _checked(self) -> Any:
        handle = self._live()
        try:
            _core.check(handle)
        except LockLost:
            raise self._lose(errno.EBADFD) from None
        return handle

    def _lose(self, code: int) -> LockLost:
        """Free the handle of a lost lock and make the error to raise. The C library closes
        and removes only what is still its own; the loss is the error the caller must see,
        so what the release says about it is not."""
        handle, self._handle = self._handle, None
        self._lost = code
        if handle is not None:
            try:
                _core.release(handle)
            except OSError:
                pass
        return LockLost(self._path, code)

    def __enter__(self) -> "PidLock":
        self._checked()
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
        state = "locked" if self._handle is not None else "lost" if self._lost else "released"
        return f"<PidLock path={self._path!r} pid={self._pid} {state}>"

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            warnings.warn(f"pidlock: unreleased lock {self!r}", ResourceWarning, source=self)
            self.release()


def _lock_flags(check_pid: bool, fsync: bool, keep_file: bool) -> int:
    """The C flags of acquire()'s options (acquire_async() shares them)."""
    return ((_core.CHECK_PID if check_pid else 0) | (_core.FSYNC if fsync else 0)
            | (_core.KEEP_FILE if keep_file else 0))


def acquire(path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
            fsync: bool = False, keep_file: bool = False) -> PidLock:
    """Take the lock at ``path`` and write this process's PID into it.

    ``timeout``: 0 fails at once, a number of seconds waits up to that long (waits beyond
    about 24.8 days, the C library's cap, are that long), None waits forever. Raises
    AlreadyRunning when the lock stays held, another OSError subclass (with ``filename`` set)
    when the file cannot be used.

    Daemonizing: with python-daemon, do not pass this lock as ``pidfile=``: DaemonContext
    closes every descriptor, the lock with them. Pass ``pidfile=PidFile(path)``, which takes
    the lock inside the daemon. Forking by hand: acquire here, fork, call update() in the
    child, and let the parent exit with os._exit() (or release only after the child's
    update()); a parent that releases first removes the file and lets a second instance in.
    """
    raw = _fspath(path)
    ms = _timeout_ms(timeout)
    flags = _core.INTERRUPTIBLE | _lock_flags(check_pid, fsync, keep_file)
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
    """The usual lock path for ``app``, the same for one user in every environment:
    /run/app/daemon.lock for root, else ~/.local/share/app/daemon.lock (home from the
    password database)."""
    return os.fsdecode(_core.default_path(_fspath(app)))


class PidFile:
    """The lock as a context manager that takes nothing until it is entered: the ``pidfile``
    of python-daemon (PEP 3143)::

        with daemon.DaemonContext(pidfile=pidlock.PidFile("/run/mydaemon/daemon.lock")):
            serve()

    DaemonContext forks and closes every descriptor before it enters its ``pidfile``, so the
    lock is taken in the daemon itself and the file names the daemon's PID. Entering acquires
    (arguments as for acquire()) and returns the PidLock; it raises AlreadyRunning when the
    lock is held, in the daemon, whose stderr is /dev/null unless DaemonContext is given
    one. Leaving releases. A plain ``with`` block works too, and a PidFile can be entered
    again once it has been left.
    """

    def __init__(self, path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
                 keep_file: bool = False) -> None:
        # Checked now, in the foreground: a daemon has nowhere to show a TypeError.
        _fspath(path)
        _timeout_ms(timeout)
        self._path = path
        self._options = {"timeout": timeout, "check_pid": check_pid, "keep_file": keep_file}
        self._lock: Optional[PidLock] = None

    @property
    def path(self) -> str:
        """The lock file."""
        return os.fsdecode(os.fspath(self._path))

    @property
    def lock(self) -> Optional[PidLock]:
        """The lock taken by the current ``with`` block, None outside one."""
        return self._lock

    def __enter__(self) -> PidLock:
        if self._lock is not None:
            raise RuntimeError(f"pidlock: {self!r} is already entered; leave it first")
        self._lock = acquire(self._path, **self._options)
        return self._lock

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        state = "entered" if self._lock is not None else "not entered"
        return f"<PidFile path={self.path!r} {state}>"


from ._async import acquire_async  # noqa: E402  (it builds on the names above)
