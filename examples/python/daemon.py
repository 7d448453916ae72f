#!/usr/bin/python3
"""A daemon's main with pidlock: one instance at a time, and a clean exit on SIGTERM.

    $ examples/python/daemon.py &           # running as PID 4242 (lock: /run/example/daemon.lock)
    $ examples/python/daemon.py             # example: already running as PID 4242 (...)
    $ kill %1                               # the lock file goes away with the daemon

The lock lives as long as the process: even kill -9 frees it at once (the kernel drops it),
and the next start reclaims the file left behind.
"""
import signal
import sys
import time

import pidlock


def on_sigterm(signum, frame):
    # Unwind like any other exit: the with block below releases the lock on the way out.
    raise SystemExit(0)


def serve(lock):
    print(f"running as PID {lock.pid} (lock: {lock.path})", flush=True)
    while True:
        time.sleep(3600)


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with pidlock.acquire(pidlock.default_path("example")) as lock:
            serve(lock)
    except pidlock.AlreadyRunning as e:
        print(f"example: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
