"""acquire_async(): waiting for the lock inside an asyncio event loop.

    async with pidlock.acquire_async(path, timeout=30) as lock:
        await serve()

The loop watches the C library's waiter descriptor (loop.add_reader), which becomes readable
whenever the lock may have changed hands: the holder's release or death, the file leaving the
path, or the library's retry timer. Each wake-up is one non-blocking try. No thread is used
and nothing polls from Python: between wake-ups the task costs nothing. Imported by the first
acquire_async() call, so that `import pidlock` does not import asyncio.
"""
from __future__ import annotations

import asyncio
import collections.abc
import os
from typing import Any, Coroutine, Generator, Optional

from . import _DEBUG, PidLock, _core, _log, _wait_steps

__all__ = ["AcquireAsync"]


class AcquireAsync(collections.abc.Coroutine):  # type: ignore[type-arg]
    """What acquire_async() returns: ``await`` it for a PidLock, hand it to
    asyncio.create_task() (it is a coroutine), or use ``async with``, which releases the lock
    when the block ends. Nothing is tried before one of them starts."""

    __slots__ = ("_raw", "_flags", "_ms", "_lock", "_running")

    def __init__(self, raw: bytes, flags: int, ms: int) -> None:
        self._raw = raw
        self._flags = flags
        self._ms = ms
        self._lock: Optional[PidLock] = None
        self._running: Optional[Coroutine[Any, Any, PidLock]] = None

    # The coroutine protocol, over one _acquire() made when first needed: a never awaited
    # AcquireAsync (used only with ``async with``) leaves no "never awaited" warning.
    def _coro(self) -> Coroutine[Any, Any, PidLock]:
        if self._running is None:
            self._running = self._acquire()
        return self._running

    def __await__(self) -> Generator[Any, None, PidLock]:
        return self._coro().__await__()

    def send(self, value: Any) -> Any:
        return self._coro().send(value)

    def throw(self, *args: Any) -> Any:
        return self._coro().throw(*args)

    def close(self) -> None:
        if self._running is not None:
            self._running.close()

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
        path = os.fsdecode(self._raw)
        waiter = _core.waiter_new(self._raw, self._flags)
        # Whatever ends the wait (the lock, an error, the timeout, a cancellation) frees the
        # waiter here: its descriptors close and the directories it made go, unless a try
        # took the lock. A try and the PidLock around its result happen with no await in
        # between, so a cancellation can never fall between taking the lock and returning it.
        try:
            fd = _core.waiter_fd(waiter)
            _log(_DEBUG, "trying %s", path)
            steps = _wait_steps(waiter, self._raw, path, self._ms, loop.time)
            try:
                while True:
                    left = next(steps)
                    await _readable(loop, fd, None if left is None else loop.time() + left)
            except StopIteration as done:
                return done.value
        finally:
            _core.waiter_free(waiter)

    def __repr__(self) -> str:
        state = "entered" if self._lock is not None else "not entered"
        return f"<pidlock.acquire_async path={os.fsdecode(self._raw)!r} {state}>"


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
