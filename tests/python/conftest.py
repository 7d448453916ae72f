"""Shared fixtures. The suite runs once per backend: PIDLOCK_BACKEND=swig, then =cffi."""
import os

import pytest


@pytest.fixture
def lockpath(tmp_path):
    return str(tmp_path / "run" / "daemon.lock")


@pytest.fixture
def conformance():
    """The setup helper and the cases file of tests/conformance (set by ctest)."""
    helper = os.environ.get("PIDLOCK_CONFORMANCE")
    cases = os.environ.get("PIDLOCK_CASES")
    if not helper or not cases:
        pytest.skip("PIDLOCK_CONFORMANCE / PIDLOCK_CASES not set (run through ctest)")
    return helper, cases
