"""The CFFI backend: libpidlock.so.1 called through CFFI.

API mode (out of line) where the package was built with a compiler: _pidlock_cffi was compiled
against pidlock.h and links libpidlock.so.1, so nothing is parsed at import. ABI mode
otherwise: the declarations bindings/cffi_build.py wrote from pidlock.h (pidlock.cdef beside
this file) are parsed and the library is opened by its SONAME; errors then carry the C
library's own sentence without the binding's wording of the holder (pidlock_message.h is
compiled code). PIDLOCK_CFFI=abi asks for ABI mode.

It offers the same low-level functions as the SWIG extension (pidlock_core), with the same
names, arguments, results and exceptions, so the package above cannot tell them apart.
"""
from __future__ import annotations

import errno
import os
import weakref
from typing import Any, Callable, Tuple

from ._errors import error

_SONAME = "libpidlock.so.1"
_PATH_MAX = 4096  # Linux's PATH_MAX, the room the SWIG wrapper gives too
_message: Callable[[int, Any, int], bytes]


def _load_abi() -> Tuple[Any, Any]:
    import cffi

    ffi = cffi.FFI()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pidlock.cdef")) as f:
        ffi.cdef(f.read())
    try:
        return ffi, ffi.dlopen(_SONAME)
    except OSError as first:
        # By SONAME first (the ABI these declarations describe), then the linker's cache.
        import ctypes.util
        found = ctypes.util.find_library("pidlock")
        if not found:
            raise ImportError(f"pidlock: cannot load {_SONAME}: {first}") from first
        return ffi, ffi.dlopen(found)


if os.environ.get("PIDLOCK_CFFI") == "abi":
    ffi, lib = _load_abi()
    mode = "abi"
else:
    try:
        from ._pidlock_cffi import ffi, lib  # type: ignore[import-not-found,no-redef]
        mode = "api"
    except ImportError:
        ffi, lib = _load_abi()
        mode = "abi"

# The flags and constants under the SWIG module's names: FLAG_<NAME> from the header's enum
# (no list of them here), the other PIDLOCK_ constants without their prefix.
for _name, _value in ffi.typeof("enum pidlock_flags").relements.items():
    globals()["FLAG_" + _name[len("PIDLOCK_"):]] = _value
WAIT_FOREVER: int = lib.PIDLOCK_WAIT_FOREVER


if mode == "api":
    def _message(rc: int, path: Any, holder: int) -> bytes:
        buf = ffi.new("char[]", _PATH_MAX + 1024)
        return ffi.string(lib.pidlock_message(buf, len(buf), rc, path or ffi.NULL, holder))
else:
    def _message(rc: int, path: Any, holder: int) -> bytes:
        why = lib.pidlock_last_error()
        text = ffi.string(why if why != ffi.NULL else lib.pidlock_strerror(rc))
        return path + b": " + text if path else text


def _check(rc: int, path: bytes | None = None, holder: int = 0) -> int:
    if rc < 0:
        raise error(-rc, path, holder, _message(rc, path, holder))
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
    return ffi.string(lib.pidlock_path(lock.ptr))  # type: ignore[no-any-return]


def pid(lock: Handle) -> int:
    return _check(lib.pidlock_pid(lock.ptr))


def holder(path: bytes) -> Tuple[int, int]:
    ret = ffi.new("pid_t *")
    held = _check(lib.pidlock_holder(path, ret), path)
    return held, ret[0]


def holds(path: bytes, pid: int) -> int:
    return _check(lib.pidlock_holds(path, pid), path)


def check_path(path: bytes) -> bytes:
    """b"" when safe, the library's sentence when not (-EPERM is an answer, not an error)."""
    buf = ffi.new("char[]", _PATH_MAX)
    rc = lib.pidlock_check_path(path, buf, len(buf))
    if rc == -errno.EPERM:
        return ffi.string(buf) or ffi.string(lib.pidlock_strerror(rc))  # type: ignore[no-any-return]
    _check(rc, path)
    return b""


def read_pid(path: bytes) -> int:
    return _check(lib.pidlock_read_pid(path), path)


def pid_alive(pid: int) -> int:
    return lib.pidlock_pid_alive(pid)  # type: ignore[no-any-return]


def default_path(app: bytes) -> bytes:
    buf = ffi.new("char[]", _PATH_MAX)
    _check(lib.pidlock_default_path(app, buf, len(buf)))
    return ffi.string(buf)  # type: ignore[no-any-return]


def path_for_dir(dir: bytes) -> bytes:
    buf = ffi.new("char[]", _PATH_MAX)
    _check(lib.pidlock_path_for_dir(dir, buf, len(buf)))
    return ffi.string(buf)  # type: ignore[no-any-return]


def version() -> bytes:
    return ffi.string(lib.pidlock_version())  # type: ignore[no-any-return]


def lock_method() -> bytes:
    return ffi.string(lib.pidlock_lock_method())  # type: ignore[no-any-return]


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
