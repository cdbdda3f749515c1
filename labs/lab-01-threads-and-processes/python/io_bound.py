"""The seed articles' I/O-bound example: tasks that only wait, run one after
another, in threads, and in processes (multiprocessing, fork start method).

Run it by itself to see the seed's demo:

    python3 io_bound.py

The lab runs it with --json (see rounds.py).
"""

import multiprocessing
import threading
import time

import rounds


def task(seconds):
    """Stands for a network call or a disk read: the thread just waits."""
    time.sleep(seconds)


def sequential(workers, seconds):
    for _ in range(workers):
        task(seconds)


def in_threads(workers, seconds):
    threads = [threading.Thread(target=task, args=(seconds,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def in_processes(workers, seconds):
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=task, args=(seconds,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a child process failed with exit code {process.exitcode}")


VARIANTS = {"sequential": sequential, "threads": in_threads, "processes": in_processes}

if __name__ == "__main__":
    rounds.main(__doc__.splitlines()[0], VARIANTS, "seconds", float, 2.0)
