"""The seed articles' CPU-bound example: tasks that each sum range(n), run one
after another, in threads, and in processes (multiprocessing, fork start
method, like the Rust lab's fork).

Run it by itself to see the seed's demo:

    python3 cpu_bound.py

The lab runs it with --json (see rounds.py).
"""

import multiprocessing
import threading

import rounds


# ANCHOR: variants
def task(n):
    """Pure Python arithmetic: the interpreter holds the GIL for all of it."""
    total = 0
    for i in range(n):
        total += i
    return total


def sequential(workers, n):
    for _ in range(workers):
        task(n)


def in_threads(workers, n):
    threads = [threading.Thread(target=task, args=(n,)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def in_processes(workers, n):
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=task, args=(n,)) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    for process in processes:
        if process.exitcode != 0:
            raise SystemExit(f"a worker process failed with exit code {process.exitcode}")


# ANCHOR_END: variants

VARIANTS = {"sequential": sequential, "threads": in_threads, "processes": in_processes}

if __name__ == "__main__":
    rounds.main(__doc__.splitlines()[0], VARIANTS, "n", int, 10**7)
