"""PID lock files held by a kernel lock: Python bindings of libpidlock.

    with pidlock.acquire(pidlock.default_path("mydaemon")):
        serve()

    with daemon.DaemonContext(pidfile=pidlock.PidFile("/run/mydaemon/daemon.lock")):
        serve()                                  # python-daemon: the lock taken in the daemon

Every decision about the lock is made by the C library; this package translates its results
into Python's habits (exceptions, context managers, None) and nothing more.

Locks are not reentrant: a second acquire() of a path this process already holds fails with
AlreadyRunning ("already held by this process"), as another process's would; keep the first
lock. Threads: a PidLock may be used from any thread, one thread at a time; two threads that
acquire one path conflict as two processes do (one gets the lock, the other AlreadyRunning or
a wait). The lock belongs to the process, so every thread runs "as the one instance" while it
is held.

Logging: on logging.getLogger("pidlock"), DEBUG for each try and wake-up of a wait, one INFO
line when a wait starts ("waiting for PID N to release PATH"). Nothing is logged, and logging
is not imported, by a program that has not imported logging itself.
"""
from __future__ import annotations

import errno
import math
import operator
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Generator, Optional, Union

from ._errors import AlreadyRunning, LockLost, Timeout

if TYPE_CHECKING:
    from ._async import AcquireAsync

__all__ = [
    "AlreadyRunning", "LockLost", "PidFile", "PidLock", "Timeout", "acquire", "acquire_async",
    "backend", "check_path", "default_path", "holder", "holds", "lock_method", "pid_alive",
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

# acquire()'s options are the header's flags (enum pidlock_flags), lower-cased: the backends
# expose them as FLAG_<NAME>. INTERRUPTIBLE is how a wait is made, not an option.
_FLAGS = {name[len("FLAG_"):].lower(): getattr(_core, name)
          for name in dir(_core) if name.startswith("FLAG_")}
_FLAGS.pop("interruptible", None)

_INT_MAX = 2**31 - 1
_LLONG_MAX = 2**63 - 1
# A held lock (EAGAIN) and a read-locked file (EBUSY) are worth waiting out; any other error
# ends a wait, as it ends the first try.
_STILL_HELD = (errno.EAGAIN, errno.EBUSY)


def _log(level: int, msg: str, *args: Any) -> None:
    """On logging.getLogger("pidlock"), if the program uses logging at all: one that never
    imported it has no handler that could show the record, so it is not imported for it."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logger = logging.getLogger("pidlock")
        if logger.isEnabledFor(level):
            logger.log(level, msg, *args)


_DEBUG, _INFO = 10, 20  # logging.DEBUG, logging.INFO


def _fspath(path: StrPath) -> bytes:
    raw = os.fsencode(os.fspath(path))
    if b"\0" in raw:
        raise ValueError(f"pidlock: embedded null byte in {path!r}")
    return raw


def _timeout_ms(timeout: Optional[float]) -> int:
    if timeout is None or timeout == math.inf:
        return int(_core.WAIT_FOREVER)
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
    """A held lock, as acquire() returns it. Release it with release(), a ``with`` block, or
    let the process end. Not made directly: ``pidlock.PidLock(path)`` raises TypeError (use
    ``pidlock.acquire(path)``, or ``pidlock.PidFile(path)`` for a lock taken when a ``with``
    block starts, as filelock's FileLock(path) is).

    Every use checks that the lock is still this process's: when its descriptor was closed
    or reused behind the library's back (python-daemon, closefrom()), ``with``, fileno(),
    update() and release() raise LockLost, once; the lock is then released (nothing that is
    not its own is closed or removed) and release() does nothing more.

    Not reentrant: acquiring its path again in this process raises AlreadyRunning ("already
    held by this process"). Any thread may use it, one at a time.
    """

    # Class defaults, so that repr() and the collector are safe on an object whose
    # construction failed half-way.
    _handle: Any = None
    _path: str = "?"
    _pid: int = 0
    _lost: Optional[LockLost] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "pidlock.PidLock is the lock that pidlock.acquire() returns and is not made "
            "directly: use pidlock.acquire(path, timeout=...) to take the lock now, or "
            "pidlock.PidFile(path) for a lock taken when a with block starts")

    @classmethod
    def _wrap(cls, handle: Any) -> "PidLock":
        self = cls.__new__(cls)
        self._handle = handle
        self._path = os.fsdecode(_core.path(handle))
        self._pid = _core.pid(handle)
        return self

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
        return int(_core.fd(self._checked()))

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
        except LockLost as e:
            raise self._lose(LockLost(self._path, e.errno, e.strerror)) from None
        except OSError as e:
            # ESTALE: the C library found the file unlinked, the wrong order above.
            if e.errno != errno.ESTALE:
                raise
            raise self._lose(LockLost(self._path, errno.ESTALE, e.strerror)) from None
        self._pid = _core.pid(handle)

    def release(self) -> None:
        """Unlock and remove the file (or only close it in a forked copy). Safe to repeat."""
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                _core.release(handle)
            except LockLost as e:
                self._lost = LockLost(self._path, e.errno, e.strerror)
                raise self._lost from None

    def _live(self) -> Any:
        if self._handle is None:
            if self._lost is not None:
                lost = self._lost
                raise LockLost(lost.path, lost.errno, lost.strerror)
            raise ValueError(f"pidlock: lock on {self._path} was released")
        return self._handle

    def _checked(self) -> Any:
        handle = self._live()
        try:
            _core.check(handle)
        except LockLost as e:
            raise self._lose(LockLost(self._path, e.errno, e.strerror)) from None
        return handle

    def _lose(self, lost: LockLost) -> LockLost:
        """Free the handle of a lost lock and keep the error to raise. The C library closes
        and removes only what is still its own; the loss is the error the caller must see,
        so what the release says about it is not."""
        handle, self._handle = self._handle, None
        self._lost = lost
        if handle is not None:
            try:
                _core.release(handle)
            except OSError:
                pass
        return lost

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
        state = ("locked" if self._handle is not None else
                 "lost" if self._lost is not None else "released")
        return f"<PidLock path={self._path!r} pid={self._pid} {state}>"

    def __del__(self) -> None:
        if self._handle is not None:
            warnings.warn(f"pidlock: unreleased lock {self!r}", ResourceWarning, source=self)
            self.release()


def _lock_flags(options: dict[str, bool]) -> int:
    """The C flags of acquire()'s options (acquire_async() and PidFile share them)."""
    flags = 0
    for name, on in options.items():
        if name not in _FLAGS:
            raise TypeError(f"pidlock: unknown option {name!r}")
        if on:
            flags |= _FLAGS[name]
    return flags


def _waiting(held: OSError, path: str) -> None:
    if held.errno == errno.EBUSY:
        _log(_INFO, "waiting for a reader to let go of %s", path)
    elif isinstance(held, AlreadyRunning) and held.pid is not None:
        _log(_INFO, "waiting for PID %d to release %s", held.pid, path)
    else:
        _log(_INFO, "waiting for the holder (PID not shown) to release %s", path)


def _wait_steps(waiter: Any, raw: bytes, path: str, ms: int,
                clock: Callable[[], float]) -> Generator[Optional[float], None, PidLock]:
    """The waiting loop of acquire() and acquire_async(), without its sleep: tries the waiter,
    yields how long to sleep in seconds (None: until its descriptor is readable) while the lock
    is held, raises Timeout at the deadline, and returns the PidLock. Each caller sleeps in its
    own way (poll, the event loop)."""
    start = clock()
    deadline = None if ms < 0 else start + ms / 1000
    tries = 0
    while True:
        try:
            return PidLock._wrap(_core.waiter_try(waiter, raw))
        except OSError as e:
            if e.errno not in _STILL_HELD or ms == 0:
                raise
            held = e
        tries += 1
        if tries == 1:
            _waiting(held, path)
        now = clock()
        if deadline is not None and now >= deadline:
            raise Timeout.after(held, path, round(now - start, 3)) from None
        yield None if deadline is None else deadline - now
        _log(_DEBUG, "woken: trying %s again", path)


def _acquire(raw: bytes, flags: int, ms: int) -> PidLock:
    path = os.fsdecode(raw)
    _log(_DEBUG, "trying %s", path)
    if ms == 0:
        return PidLock._wrap(_core.acquire(raw, flags, 0))
    # A wait: the C library's waiter, whose descriptor becomes readable whenever the lock may
    # have changed hands, polled here so that each wake-up is seen (and logged) and Python's
    # signal handlers run during the wait (Ctrl-C ends it; a handler that returns lets it go
    # on, with the same deadline).
    import select

    waiter = _core.waiter_new(raw, flags)
    try:
        poller = select.poll()
        poller.register(_core.waiter_fd(waiter), select.POLLIN)
        steps = _wait_steps(waiter, raw, path, ms, time.monotonic)
        try:
            while True:
                left = next(steps)
                poller.poll(None if left is None else max(1, math.ceil(left * 1000)))
        except StopIteration as done:
            return done.value
    finally:
        _core.waiter_free(waiter)


def acquire(path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
            fsync: bool = False, keep_file: bool = False, readable: bool = False) -> PidLock:
    """Take the lock at ``path`` and write this process's PID into it.

    ``timeout``: 0 fails at once, a number of seconds waits up to that long (waits beyond
    about 24.8 days, the C library's cap, are that long), None waits forever; Ctrl-C ends a
    wait. Raises AlreadyRunning when the lock is held, its subclass Timeout (also a
    TimeoutError) when a wait ran out, another OSError subclass (with ``filename`` set, the
    message the C library's reason, e.g. PermissionError "directory /tmp/x belongs to uid
    65534, not to root or the caller") when the file cannot be used.

    ``check_pid``: also honour a PID written by code that holds no kernel lock (a live
    process of the file's owner, not this one and not PID 1). ``fsync``: fdatasync() after
    writing the PID. ``keep_file``: on release, empty the file instead of removing it.
    ``readable``: make a new file readable by other users (0644 minus umask) for monitoring
    agents; any user who can open it can then hold a read lock that makes acquires fail with
    EBUSY until the reader lets go. Without it the file is 0600.

    Not reentrant: a second acquire of a path this process holds raises AlreadyRunning
    ("already held by this process"). Threads: any thread may acquire; two threads
    acquiring one path conflict as two processes do.

    Daemonizing: with python-daemon, do not pass this lock as ``pidfile=``: DaemonContext
    closes every descriptor, the lock with them. Pass ``pidfile=PidFile(path)``, which takes
    the lock inside the daemon. Forking by hand: acquire here, fork, call update() in the
    child, and let the parent exit with os._exit() (or release only after the child's
    update()); a parent that releases first removes the file and lets a second instance in.
    """
    flags = _lock_flags({"check_pid": check_pid, "fsync": fsync, "keep_file": keep_file,
                         "readable": readable})
    return _acquire(_fspath(path), flags, _timeout_ms(timeout))


def holder(path: StrPath) -> Optional[int]:
    """Who holds the lock: its PID as the kernel shows it, None when free (no file, a file
    nobody holds, or one that is only read-locked), or -1 when it is held but no PID can be
    shown to hold it: the holder has not written it yet, the file is empty or malformed, or
    the PID in it is of a process that does not hold the lock, of another PID namespace (a
    container), or of a process this one may not inspect. Nothing is created."""
    held, pid = _core.holder(_fspath(path))
    return int(pid) if held else None


def holds(path: StrPath, pid: int) -> bool:
    """Whether process ``pid`` holds the lock on the file at ``path``, as the kernel shows it
    (the PID in the file is not consulted): what to ask before signalling a PID. False when
    the file is missing. Raises PermissionError when this process may not inspect ``pid``."""
    return bool(_core.holds(_fspath(path), operator.index(pid)))


def check_path(path: StrPath) -> Optional[str]:
    """None when ``path`` is safe to lock (missing parts are fine: they would be made 0700),
    else the C library's sentence naming the file or directory and what is wrong with it
    (for example "directory /tmp/x belongs to uid 65534, not to root or the caller").
    Nothing is created. Raises OSError for what is not a question of safety (ELOOP,
    EISDIR, EACCES, ENAMETOOLONG, ENOTDIR, EINVAL)."""
    why = _core.check_path(_fspath(path))
    return os.fsdecode(why) or None


def lock_method() -> str:
    """The locking primitive of the loaded library: "ofd" (open-file-description locks) or
    "flock" (the portable fallback; see pidlock(3) for what it cannot do)."""
    return str(_core.lock_method().decode())


def read_pid(path: StrPath) -> Optional[int]:
    """The PID written in the file, None when it is missing, empty or malformed. Only what
    the file says: holder() says who holds the lock."""
    return int(_core.read_pid(_fspath(path))) or None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (False for pid <= 0, which would name a group)."""
    pid = operator.index(pid)
    # Only what a C long long cannot carry is decided here; the C library judges the rest.
    if not -_LLONG_MAX <= pid <= _LLONG_MAX:
        return False
    return bool(_core.pid_alive(pid))


def default_path(app: str) -> str:
    """The usual lock path for ``app``, the same for one user in every environment (no
    environment variable is read): /run/app/daemon.lock for root, else
    ~/.local/share/app/daemon.lock with the home directory of the password database."""
    return os.fsdecode(_core.default_path(_fspath(app)))


def acquire_async(path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
                  fsync: bool = False, keep_file: bool = False,
                  readable: bool = False) -> "AcquireAsync":
    """acquire() for asyncio: ``async with acquire_async(path, timeout=...) as lock:``,
    ``lock = await acquire_async(...)``, or ``asyncio.create_task(acquire_async(...))``.

    The options, the PidLock and the errors are acquire()'s: ``timeout`` 0 tries once, a
    number of seconds waits up to that long (then Timeout), None waits forever;
    AlreadyRunning when the lock stays held. The wait is cancellable (task.cancel(),
    asyncio.wait_for(), asyncio.timeout()) and a cancelled wait leaves no descriptor and no
    file behind. Arguments are checked here, before anything is awaited. asyncio is imported
    on the first call, not with the package.
    """
    from ._async import AcquireAsync
    flags = _lock_flags({"check_pid": check_pid, "fsync": fsync, "keep_file": keep_file,
                         "readable": readable})
    return AcquireAsync(_fspath(path), flags, _timeout_ms(timeout))


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
    again once it has been left (it is not reentrant: not while it is entered).
    """

    def __init__(self, path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
                 fsync: bool = False, keep_file: bool = False, readable: bool = False) -> None:
        # Checked now, in the foreground: a daemon has nowhere to show a TypeError.
        _fspath(path)
        _timeout_ms(timeout)
        self._path = path
        self._options = {"timeout": timeout, "check_pid": check_pid, "fsync": fsync,
                         "keep_file": keep_file, "readable": readable}
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
        self._lock = acquire(self._path, **self._options)  # type: ignore[arg-type]
        return self._lock

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        state = "entered" if self._lock is not None else "not entered"
        return f"<PidFile path={self.path!r} {state}>"
