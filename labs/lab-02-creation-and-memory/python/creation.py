"""What starting a thread or a process costs in CPython: threading.Thread and
multiprocessing.Process (fork and spawn start methods), each started and joined
with a target that does nothing.

Run it by itself to see the times:

    python3 creation.py

The lab runs it with --json, once per round, and reads the seconds per start + join.
"""

import argparse
import json
import multiprocessing
import multiprocessing.resource_tracker
import threading
import time


# ANCHOR: operations
def nothing():
    pass


def thread_once():
    thread = threading.Thread(target=nothing)
    thread.start()
    thread.join()


def process_once(context):
    process = context.Process(target=nothing)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"a child process failed with exit code {process.exitcode}")
# ANCHOR_END: operations


def seconds_each(operation, count):
    operation()  # warm-up: imports, the first thread, the resource tracker
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return (time.perf_counter() - start) / count


def stop_resource_tracker():
    """The spawn start method starts a helper process, the resource tracker,
    which would otherwise end a moment *after* this script: an orphan. Stop it
    and wait for it, as every parent should. (`_stop` is private but present
    in CPython 3.8 and later; without it the helper still ends by itself.)"""
    tracker = getattr(multiprocessing.resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        stop()


def measure(first):
    """Seconds per start + join of each operation, starting with number `first`."""
    fork = multiprocessing.get_context("fork")
    spawn = multiprocessing.get_context("spawn")
    operations = {
        "thread": (thread_once, 200),
        "fork": (lambda: process_once(fork), 20),
        "spawn": (lambda: process_once(spawn), 3),
    }
    names = list(operations)
    times = {}
    for offset in range(len(names)):
        name = names[(first + offset) % len(names)]
        operation, count = operations[name]
        times[name] = seconds_each(operation, count)
    stop_resource_tracker()
    return {name: times[name] for name in names}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON for the lab")
    parser.add_argument("--first", type=int, default=0, help="index of the operation timed first")
    args = parser.parse_args()
    times = measure(args.first)
    if args.json:
        print(json.dumps(times))
    else:
        for name, seconds in times.items():
            print(f"{name:>6}: {seconds * 1e6:10.1f} µs per start + join")
