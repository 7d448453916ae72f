"""The CFFI backend: libpidlock.so.1 opened in ABI mode, nothing compiled.

It offers the same low-level functions as the SWIG extension (pidlock_core), with the same
arguments, results and exceptions, so the package above cannot tell them apart.
"""
from __future__ import annotations

import ctypes.util
import os
import weakref
from typing import Any, Optional, Tuple

import cffi

from ._errors import error

_SONAME = "libpidlock.so.1"

ffi = cffi.FFI()
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pidlock.cdef")) as _f:
    ffi.cdef(_f.read())


def _open_library() -> Any:
    """By SONAME first (the ABI this cdef describes), then wherever the linker's cache says."""
    try:
        return ffi.dlopen(_SONAME)
    except OSError as first:
        found = ctypes.util.find_library("pidlock")
        if not found:
            raise ImportError(f"pidlock: cannot load {_SONAME}: {first}") from first
        return ffi.dlopen(found)


lib = _open_library()

CHECK_PID = lib.PIDLOCK_CHECK_PID
FSYNC = lib.PIDLOCK_FSYNC
KEEP_FILE = lib.PIDLOCK_KEEP_FILE
INTERRUPTIBLE = lib.PIDLOCK_INTERRUPTIBLE
WAIT_FOREVER = -1
_PATH_MAX = 4096  # Linux's PATH_MAX, the room the SWIG wrapper gives default_path() too


def _check(rc: int, path: Optional[bytes] = None, holder: int = 0) -> int:
    if rc < 0:
        raise error(-rc, path, holder)
    return rc


class Handle:
    """An acquired lock, freed exactly once: by release(), or by the safety net for a handle
    lost before the package wraps it. weakref.finalize runs at most once whichever comes first;
    an ffi.gc destructor would not know that release() already ran when the two meet in one
    garbage cycle (they would free the handle twice)."""

    __slots__ = ("ptr", "_free", "__weakref__")

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self._free = weakref.finalize(self, lib.pidlock_release, ptr)


def acquire(path: bytes, flags: int, timeout_ms: int) -> Handle:
    ret = ffi.new("pidlock **")
    holder = ffi.new("pid_t *")
    _check(lib.pidlock_acquire(path, flags, timeout_ms, ret, holder), path, holder[0])
    return Handle(ret[0])


def release(lock: Handle) -> None:
    if lock._free.detach() is not None:
        _check(lib.pidlock_release(lock.ptr))


def update(lock: Handle) -> None:
    _check(lib.pidlock_update(lock.ptr))


def check(lock: Handle) -> None:
    _check(lib.pidlock_check(lock.ptr))


def fd(lock: Handle) -> int:
    return _check(lib.pidlock_fd(lock.ptr))


def path(lock: Handle) -> bytes:
    return ffi.string(lib.pidlock_path(lock.ptr))


def pid(lock: Handle) -> int:
    return _check(lib.pidlock_pid(lock.ptr))


def holder(path: bytes) -> Tuple[int, int]:
    ret = ffi.new("pid_t *")
    held = _check(lib.pidlock_holder(path, ret), path)
    return held, ret[0]


def read_pid(path: bytes) -> int:
    return _check(lib.pidlock_read_pid(path), path)


def pid_alive(pid: int) -> int:
    return lib.pidlock_pid_alive(pid)


def default_path(app: bytes) -> bytes:
    buf = ffi.new("char[]", _PATH_MAX)
    _check(lib.pidlock_default_path(app, buf, len(buf)))
    return ffi.string(buf)


def version() -> bytes:
    return ffi.string(lib.pidlock_version())


class Waiter:
    """A waiter, freed exactly once: by waiter_free(), or when lost (as for Handle)."""

    __slots__ = ("ptr", "_free", "__weakref__")

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self._free = weakref.finalize(self, lib.pidlock_waiter_free, ptr)


def waiter_new(path: bytes, flags: int) -> Waiter:
    ret = ffi.new("pidlock_waiter **")
    _check(lib.pidlock_waiter_new(path, flags, ret), path)
    return Waiter(ret[0])


def waiter_fd(waiter: Waiter) -> int:
    return _check(lib.pidlock_waiter_fd(waiter.ptr))


def waiter_try(waiter: Waiter, path: bytes) -> Handle:
    """The lock, or the error acquire would raise (AlreadyRunning while held); ``path`` is
    only for the message."""
    ret = ffi.new("pidlock **")
    holder = ffi.new("pid_t *")
    _check(lib.pidlock_waiter_try(waiter.ptr, ret, holder), path, holder[0])
    return Handle(ret[0])


def waiter_free(waiter: Waiter) -> None:
    waiter._free()
