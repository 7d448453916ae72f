#!/usr/bin/python3
"""A daemon made with python-daemon (PEP 3143, Debian python3-daemon), one instance at a time.

    $ examples/python/python-daemon/exampled.py /run/example/daemon.lock out.log err.log
    $ pidlock status /run/example/daemon.lock     # 4242: the daemon's own PID
    $ examples/python/python-daemon/exampled.py /run/example/daemon.lock out2.log err2.log
    $ cat err2.log                                # ... AlreadyRunning: already running as PID 4242
    $ pidlock stop /run/example/daemon.lock       # SIGTERM: a clean exit, the file goes

pidfile=pidlock.PidFile(path), not pidlock.acquire(path): DaemonContext forks and closes every
descriptor before it enters its pidfile, so only a lock taken at that moment survives (and
names the daemon's PID). The price of python-daemon's order is that a second start is refused
inside the daemon, after the command has returned 0: its refusal lands in the daemon's stderr
(/dev/null unless DaemonContext is given a file). To refuse in the foreground, fork by hand
instead (acquire, fork, update() in the child; see pidlock.acquire's docstring).

(In a folder of its own: examples/python/daemon.py would shadow python-daemon's `daemon`.)
"""
import os
import signal
import sys
import time

import daemon

import pidlock


def on_sigterm(signum, frame):
    # python-daemon's own handler exits with status 1 and a message on stderr; a stop is a
    # clean exit. Unwinding releases the lock on the way out.
    raise SystemExit(0)


def serve():
    print(f"serving as PID {os.getpid()}", flush=True)
    while True:
        time.sleep(3600)


def main():
    if not 2 <= len(sys.argv) <= 4:
        print("usage: exampled.py LOCKFILE [STDOUT_FILE [STDERR_FILE]]", file=sys.stderr)
        return 2
    path = os.path.abspath(sys.argv[1])  # the daemon runs in /
    names = sys.argv[2:] + [None, None]
    out = open(names[0], "a") if names[0] else None
    err = open(names[1], "a") if names[1] else None
    context = daemon.DaemonContext(pidfile=pidlock.PidFile(path), stdout=out, stderr=err,
                                   signal_map={signal.SIGTERM: on_sigterm})
    with context:
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
