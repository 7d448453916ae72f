"""pidlock.h is the one declaration of the API: every function and flag it declares reaches
Python on both backends, or this names what is missing. The CFFI declarations are the header's
(made from it at build time); the flag options are the header's enum."""
import inspect
import os
import re
import sys

import pytest

import pidlock

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(TOP, "libpidlock", "include", "pidlock.h")

# The header's functions that scripts do not call, and why.
NOT_FOR_SCRIPTS = {
    "releasep": "the C cleanup attribute's helper; release() and with blocks do its work",
    "strerror": "inside every error's message",
    "last_error": "inside every error's message",
}

# Where each function of the header is in the Python API.
PYTHON_API = {
    "acquire": pidlock.acquire, "release": pidlock.PidLock.release,
    "update": pidlock.PidLock.update, "check": pidlock.PidLock.__enter__,
    "fd": pidlock.PidLock.fileno, "path": pidlock.PidLock.path, "pid": pidlock.PidLock.pid,
    "holder": pidlock.holder, "holds": pidlock.holds, "check_path": pidlock.check_path,
    "read_pid": pidlock.read_pid, "pid_alive": pidlock.pid_alive,
    "default_path": pidlock.default_path, "path_for_dir": pidlock.default_path,
    "version": pidlock.__version__, "lock_method": pidlock.lock_method,
    "waiter_new": pidlock.acquire_async, "waiter_fd": pidlock.acquire_async,
    "waiter_try": pidlock.acquire_async, "waiter_free": pidlock.acquire_async,
}


def header_text():
    with open(HEADER) as f:
        return f.read()


def header_functions():
    return sorted(set(re.findall(r"PIDLOCK_API\s+[\w\s\*]*?\bpidlock_(\w+)\s*\(",
                                 header_text())))


def header_flags():
    body = re.search(r"enum pidlock_flags\s*\{(.*?)\}", header_text(), re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    return re.findall(r"\bPIDLOCK_(\w+)\s*=", body)


def test_every_function_reaches_the_core_module():
    core = pidlock._core
    missing = [f"pidlock_{name}" for name in header_functions()
               if name not in NOT_FOR_SCRIPTS and not hasattr(core, name)]
    assert not missing, f"not in the {pidlock.backend} core module: {missing}"


def test_every_function_has_a_python_counterpart():
    missing = [f"pidlock_{name}" for name in header_functions()
               if name not in NOT_FOR_SCRIPTS and name not in PYTHON_API]
    assert not missing, f"no Python API for {missing}: add one (and list it here)"


def test_every_flag_is_an_option():
    flags = [f.lower() for f in header_flags() if f != "INTERRUPTIBLE"]
    assert flags and set(flags) == set(pidlock._FLAGS), (flags, pidlock._FLAGS)
    for api in (pidlock.acquire, pidlock.acquire_async, pidlock.PidFile):
        params = inspect.signature(api).parameters
        missing = [f for f in flags if f not in params]
        assert not missing, f"{api.__name__}() lacks the options {missing}"


def test_flag_values_are_the_headers():
    text = header_text()
    for name, value in pidlock._FLAGS.items():
        shift = re.search(rf"PIDLOCK_{name.upper()}\s*=\s*1\s*<<\s*(\d+)", text)
        assert shift and value == 1 << int(shift.group(1)), name


def test_cffi_declarations_are_the_headers():
    sys.path.insert(0, os.path.join(TOP, "bindings"))
    try:
        import cffi_build
    finally:
        sys.path.pop(0)
    generated = os.path.join(os.path.dirname(pidlock.__file__), "pidlock.cdef")
    with open(generated) as f:
        assert f.read() == cffi_build.cdef_from_header(header_text()), \
            "pidlock.cdef is not what pidlock.h declares: rebuild"
    for name in header_functions():
        assert re.search(rf"\bpidlock_{name}\s*\(", cffi_build.cdef_from_header(header_text()))


def test_cffi_backend_is_built_out_of_line():
    if pidlock.backend != "cffi":
        pytest.skip("the SWIG backend is loaded")
    assert pidlock._core.mode == "api", "the CFFI backend fell back to ABI mode"


def test_version_is_the_headers():
    text = header_text()
    want = ".".join(re.search(rf"#define PIDLOCK_VERSION_{part}\s+(\d+)", text).group(1)
                    for part in ("MAJOR", "MINOR", "PATCH"))
    assert pidlock.__version__ == want
