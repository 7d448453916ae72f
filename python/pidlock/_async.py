"""acquire_async(): waiting for the lock inside an asyncio event loop.

    async with pidlock.acquire_async(path, timeout=30) as lock:
        await serve()

The loop watches the C library's waiter descriptor (loop.add_reader), which becomes readable
whenever the lock may have changed hands: the holder's release or death, the file leaving the
path, or the library's retry timer. Each wake-up is one non-blocking try. No thread is used
and nothing polls from Python: between wake-ups the task costs nothing.
"""
from __future__ import annotations

import asyncio
import errno
from typing import Any, Generator, Optional

from . import PidLock, StrPath, _core, _fspath, _lock_flags, _timeout_ms

__all__ = ["acquire_async"]

# A held lock (AlreadyRunning) and a read-locked file (EBUSY) are worth waiting out; any other
# error ends the wait, as it ends acquire().
_STILL_HELD = (errno.EAGAIN, errno.EBUSY)


class AcquireAsync:
    """What acquire_async() returns: ``await`` it for a PidLock, or use ``async with``, which
    releases the lock when the block ends. Nothing is tried before either starts."""

    __slots__ = ("_raw", "_flags", "_ms", "_lock")

    def __init__(self, raw: bytes, flags: int, ms: int) -> None:
        self._raw = raw
        self._flags = flags
        self._ms = ms
        self._lock: Optional[PidLock] = None

    def __await__(self) -> Generator[Any, None, PidLock]:
        return self._acquire().__await__()

    async def __aenter__(self) -> PidLock:
        if self._lock is not None:
            raise RuntimeError("pidlock: this acquire_async() is already entered; leave it first")
        self._lock = await self._acquire()
        return self._lock

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.__exit__(exc_type, exc, tb)

    async def _acquire(self) -> PidLock:
        loop = asyncio.get_running_loop()
        deadline = None if self._ms == _core.WAIT_FOREVER else loop.time() + self._ms / 1000
        waiter = _core.waiter_new(self._raw, self._flags)
        # Whatever ends the wait (the lock, an error, the timeout, a cancellation) frees the
        # waiter here: its descriptors close and the directories it made go, unless a try
        # took the lock. A try and the PidLock around its result happen with no await in
        # between, so a cancellation can never fall between taking the lock and returning it.
        try:
            fd = _core.waiter_fd(waiter)
            while True:
                try:
                    return PidLock(_core.waiter_try(waiter, self._raw))
                except OSError as e:
                    if e.errno not in _STILL_HELD or (
                            deadline is not None and loop.time() >= deadline):
                        raise
                await _readable(loop, fd, deadline)
        finally:
            _core.waiter_free(waiter)

    def __repr__(self) -> str:
        state = "entered" if self._lock is not None else "not entered"
        return f"<pidlock.acquire_async path={self._raw!r} {state}>"


async def _readable(loop: asyncio.AbstractEventLoop, fd: int, deadline: Optional[float]) -> None:
    """Sleeps until ``fd`` is readable or the deadline has come, whichever is first."""
    woken = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    loop.add_reader(fd, wake)
    timer = loop.call_at(deadline, wake) if deadline is not None else None
    try:
        await woken
    finally:
        loop.remove_reader(fd)
        if timer is not None:
            timer.cancel()


def acquire_async(path: StrPath, *, timeout: Optional[float] = 0, check_pid: bool = False,
                  fsync: bool = False, keep_file: bool = False) -> AcquireAsync:
    """acquire() for asyncio: ``async with acquire_async(path, timeout=...) as lock:`` or
    ``lock = await acquire_async(...)``.

    The options, the PidLock and the errors are acquire()'s: ``timeout`` 0 tries once, a
    number of seconds waits up to that long, None waits forever; AlreadyRunning when the lock
    stays held. The wait is cancellable (task.cancel(), asyncio.wait_for(), asyncio.timeout())
    and a cancelled wait leaves no descriptor and no file behind. Arguments are checked here,
    before anything is awaited.
    """
    return AcquireAsync(_fspath(path), _lock_flags(check_pid, fsync, keep_file),
                        _timeout_ms(timeout))
