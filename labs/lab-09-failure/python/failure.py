"""Lab 09 in CPython: when things go wrong in threads and in processes.

    python3 failure.py --part crash     # an exception and os.abort() in a thread,
                                        # in a multiprocessing.Process, in a pool
    python3 failure.py --part exit      # what the end of the program does to threads
    python3 failure.py --part timer     # threading.Timer, cancelled

Each part prints one JSON object. Stories that end their interpreter run in
a fresh one (this script again, with --story), under a deadline; every
child process is waited for.
"""

import argparse
import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
import ctypes
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import threading
import time

WORKERS = 3
STEPS = 10
STEP = 0.02
LIMIT = 30
POOL_TASKS = 8
DAEMON_SLOWDOWN = 3


def no_core_dumps():
    """A crash on purpose leaves no core file (as in the Rust stories)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass


def write_line(line):
    """One line, in one write(2): lines from several threads never mix (print
    writes the text and its end separately, and two threads' can interleave)."""
    os.write(1, (line + "\n").encode())


def work_and_log(who, log, step_s=STEP):
    for step in range(1, STEPS + 1):
        time.sleep(step_s)
        log(f"{who}: step {step}")
    log(f"{who}: done")


# ANCHOR: exception
def exception_in_a_thread():
    """Worker 0 raises; threading.excepthook reports it; the others go on."""
    lines, seen = [], []
    previous, threading.excepthook = threading.excepthook, seen.append
    all_started = threading.Barrier(WORKERS)

    def worker(i):
        lines.append(f"worker {i}: started")
        all_started.wait()
        if i == 0:
            raise RuntimeError("worker 0 failed")
        work_and_log(f"worker {i}", lines.append)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    threading.excepthook = previous
    hook = f"{seen[0].exc_type.__name__}: {seen[0].exc_value}" if seen else ""
    called = any(args.exc_type is RuntimeError for args in seen)
    return hook, called, sum(f"worker {i}: done" in lines for i in range(1, WORKERS))
# ANCHOR_END: exception


# ANCHOR: abort_thread
def abort_in_a_thread_story():
    """Run in a fresh interpreter: worker 0 calls os.abort(), the others work."""
    no_core_dumps()
    log = write_line
    all_started = threading.Barrier(WORKERS)

    def worker(i):
        log(f"worker {i}: started")
        all_started.wait()
        if i == 0:
            os.abort()
        work_and_log(f"worker {i}", log)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log("main: exits normally")
# ANCHOR_END: abort_thread


def run_story(story):
    """This script in a fresh interpreter, running `story`: (returncode, lines)."""
    done = subprocess.run(
        [sys.executable, __file__, f"--story={story}"],
        capture_output=True, text=True, timeout=LIMIT,
    )
    return done.returncode, done.stdout.splitlines()


# ANCHOR: process
def child_work(i):
    """A child process: child 0 aborts, the others work and exit 0."""
    no_core_dumps()
    if i == 0:
        os.abort()
    work_and_log(f"worker {i}", lambda line: None)


def abort_in_a_process(context):
    children = [context.Process(target=child_work, args=(i,)) for i in range(WORKERS)]
    for child in children:
        child.start()
    for child in children:
        child.join(LIMIT)
        if child.exitcode is None:  # still running at the deadline
            child.kill()
            child.join()
    return [child.exitcode for child in children]  # the parent goes on
# ANCHOR_END: process


# ANCHOR: pool
def task(i):
    if i == 0:
        no_core_dumps()
        os.abort()
    time.sleep(STEP)
    return i


def abort_in_a_pool(context):
    """One task aborts its worker process: the pool is broken, and every
    task not yet finished fails with it (or is refused, once it is broken)."""
    outcomes, futures = [], []
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        for i in range(POOL_TASKS):
            try:
                futures.append(pool.submit(task, i))
            except BrokenProcessPool:
                outcomes.append("broken")
        for future in futures:
            try:
                future.result(timeout=LIMIT)
                outcomes.append("done")
            except BrokenProcessPool:
                outcomes.append("broken")
    return outcomes
# ANCHOR_END: pool


def crash_part():
    hook, hook_called, finished = exception_in_a_thread()
    code, lines = run_story("abort-thread")
    # fork, named so that the result does not depend on the version's
    # default (and no resource tracker process is started).
    context = multiprocessing.get_context("fork")
    exitcodes = abort_in_a_process(context)
    outcomes = abort_in_a_pool(context)
    return {
        "exception_hook": hook,
        "exception_hook_called": hook_called,
        "exception_siblings_finished": finished,
        "abort_thread_returncode": code,
        "abort_thread_siblings_finished": sum(
            f"worker {i}: done" in lines for i in range(1, WORKERS)),
        "abort_thread_main_went_on": "main: exits normally" in lines,
        "abort_thread_last_line": lines[-1] if lines else "",
        "process_exitcode": exitcodes[0],
        "process_siblings_finished": sum(code == 0 for code in exitcodes[1:]),
        "pool_broken": "broken" in outcomes,
        "pool_tasks_done": outcomes.count("done"),
        "pool_tasks_broken": outcomes.count("broken"),
        "pool_tasks": POOL_TASKS,
    }


# ANCHOR: exit
def exit_story():
    """Run in a fresh interpreter: a thread and a daemon thread each log
    STEPS steps (the daemon's DAEMON_SLOWDOWN times as long); the main
    program ends after about two."""
    log = write_line
    threading.Thread(target=work_and_log, args=("thread", log)).start()
    slow = DAEMON_SLOWDOWN * STEP
    daemon = threading.Thread(target=work_and_log, args=("daemon", log, slow), daemon=True)
    daemon.start()
    time.sleep(2.5 * STEP)
    log("main: returns")
# ANCHOR_END: exit


def exit_part():
    code, lines = run_story("exit")
    return {
        "returncode": code,
        "thread_finished": "thread: done" in lines,
        "daemon_finished": "daemon: done" in lines,
        "daemon_steps": sum(line.startswith("daemon: step") for line in lines),
        "thread_steps": sum(line.startswith("thread: step") for line in lines),
        "steps": STEPS,
        "daemon_slowdown": DAEMON_SLOWDOWN,
    }


# ANCHOR: timer
def timer_cancelled(delay):
    """A threading.Timer set for `delay`, cancelled at once: how long the
    cancel and the join took, and whether it fired."""
    fired = []
    timer = threading.Timer(delay, lambda: fired.append(True))
    timer.start()
    start = time.perf_counter()
    timer.cancel()
    timer.join()
    return time.perf_counter() - start, bool(fired)
# ANCHOR_END: timer


def timer_part(delay, rounds):
    times = []
    fired_when_cancelled = False
    for _ in range(rounds):
        seconds, fired = timer_cancelled(delay)
        times.append(seconds)
        fired_when_cancelled |= fired
    fired = []
    timer = threading.Timer(0.01, lambda: fired.append(True))
    timer.start()
    timer.join()
    return {
        "cancel_s": sorted(times)[len(times) // 2],
        "fired_when_cancelled": fired_when_cancelled,
        "fired_when_left": bool(fired),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["crash", "exit", "timer"])
    parser.add_argument("--story", choices=["abort-thread", "exit"])
    parser.add_argument("--delay", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if args.story == "abort-thread":
        return abort_in_a_thread_story()
    if args.story == "exit":
        return exit_story()
    part = {
        "crash": crash_part,
        "exit": exit_part,
        "timer": lambda: timer_part(args.delay, args.rounds),
    }[args.part or "crash"]
    print(json.dumps(part()))


if __name__ == "__main__":
    main()
