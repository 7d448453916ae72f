"""The CFFI backend: libpidlock.so.1 opened in ABI mode, nothing compiled.

It offers the same low-level functions as the SWIG extension (pidlock_core), with the same
arguments, results and exceptions, so the package above cannot tell them apart.
"""
from __future__ import annotations

import ctypes.util
import os
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


def acquire(path: bytes, flags: int, timeout_ms: int) -> Any:
    ret = ffi.new("pidlock **")
    holder = ffi.new("pid_t *")
    _check(lib.pidlock_acquire(path, flags, timeout_ms, ret, holder), path, holder[0])
    # The safety net for a handle lost before the package wraps it; release() detaches it.
    return ffi.gc(ret[0], lib.pidlock_release)


def release(lock: Any) -> None:
    ffi.gc(lock, None)
    _check(lib.pidlock_release(lock))


def update(lock: Any) -> None:
    _check(lib.pidlock_update(lock))


def fd(lock: Any) -> int:
    return _check(lib.pidlock_fd(lock))


def path(lock: Any) -> bytes:
    return ffi.string(lib.pidlock_path(lock))


def pid(lock: Any) -> int:
    return _check(lib.pidlock_pid(lock))


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
