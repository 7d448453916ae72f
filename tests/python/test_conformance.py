"""tests/conformance/cases.txt through the Python API (see that file for the format), each case
through acquire() and through acquire_async(), whose first try must give the same outcome."""
import asyncio
import errno
import os
import shutil
import signal
import subprocess

import pytest

import pidlock

FLAGS = {"check_pid", "fsync", "keep_file", "readable"}


def load_cases():
    path = os.environ.get("PIDLOCK_CASES")
    if not path:
        return []
    cases = []
    with open(path) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                assert len(fields) == 7, f"malformed case line: {line!r}"
                cases.append(fields)
    return cases


def describe(prefix, pid, helper):
    if pid is None or pid == -1:
        return f"{prefix}:unwritten"
    return f"{prefix}:helper" if helper > 0 and pid == helper else f"{prefix}:{pid}"


def outcome(call, helper):
    """What a call did, in the vocabulary of cases.txt."""
    try:
        return "ok", call()
    except pidlock.AlreadyRunning as e:
        return describe("EAGAIN", e.pid, helper), None
    except OSError as e:
        return errno.errorcode[e.errno], None


def _acquire_async(path, **options):
    async def first():
        return await pidlock.acquire_async(path, **options)
    return asyncio.run(first())


ACQUIRE = {"acquire": pidlock.acquire, "acquire_async": _acquire_async}


@pytest.mark.parametrize("via", sorted(ACQUIRE))
@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c[0])
def test_case(case, via, conformance, tmp_path):
    name, setup, rel, flags, want_acquire, want_probe, want_check = case
    helper_bin, _ = conformance
    options = {} if flags == "-" else {f: True for f in flags.split(",")}
    assert set(options) <= FLAGS
    casedir = tmp_path / name
    path = str(casedir / rel)
    proc = subprocess.Popen([helper_bin, "--setup", setup, str(casedir), rel],
                            stdout=subprocess.PIPE, text=True)
    helper = 0
    try:
        line = proc.stdout.readline()
        if line.startswith("skip "):
            pytest.skip(line[5:].strip())
        assert line.startswith("ready "), f"setup {setup} failed: {line!r}"
        helper = int(line.split()[1])

        got, pid = outcome(lambda: pidlock.holder(path), helper)
        if got == "ok":
            got = "free" if pid is None else describe("held", pid, helper)
        assert got in want_probe.split("|"), f"holder(): expected {want_probe}, got {got}"

        got, why = outcome(lambda: pidlock.check_path(path), helper)
        if got == "ok":
            got = "safe" if why is None else "unsafe"
        assert got in want_check.split("|"), f"check_path(): expected {want_check}, got {got}"

        got, lock = outcome(lambda: ACQUIRE[via](path, **options), helper)
        assert got in want_acquire.split("|"), f"{via}: expected {want_acquire}, got {got}"
        if got == "EPERM" and why:
            with pytest.raises(PermissionError) as info:
                ACQUIRE[via](path, **options)
            assert why in str(info.value), "the error lacks check_path()'s sentence"
        if got.startswith("EAGAIN") and helper > 0:
            assert pidlock.holds(path, os.getpid()) is False
            assert pidlock.holds(path, helper) is want_probe.startswith("held:")
        if lock is not None:
            assert lock.pid == os.getpid()
            assert pidlock.read_pid(path) == os.getpid()
            assert pidlock.holder(path) == os.getpid()
            assert pidlock.holds(path, os.getpid()) is True
            mask = os.umask(0)
            os.umask(mask)
            want_mode = 0o644 & ~mask if "readable" in options else 0o600
            assert os.stat(path).st_mode & 0o7777 == want_mode
            lock.release()
            if "keep_file" in options:
                assert os.path.getsize(path) == 0
            else:
                assert not os.path.lexists(path)
    finally:
        if helper > 0:
            os.kill(helper, signal.SIGTERM)
        proc.stdout.close()
        proc.wait(timeout=10)
        shutil.rmtree(casedir, ignore_errors=True)


def test_lock_method_is_the_c_librarys(conformance):
    helper_bin, _ = conformance
    out = subprocess.run([helper_bin, "--lock-method"], capture_output=True, text=True,
                         check=True)
    assert pidlock.lock_method() == out.stdout.strip()
