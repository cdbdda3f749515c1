"""Lab 05 in CPython: one job of equal tasks on 1, 2, 4, 8 threads and
processes (multiprocessing, fork start method), for tasks that compute in
pure Python and for tasks that sleep.

Run it by itself to see the sweep:

    python3 sweep.py

With --json it times every variant once, starting with variant number
--first, and prints {variant: seconds}; the lab runs it once per round.
"""

import argparse
import json
import multiprocessing
import threading
import time


# ANCHOR: tasks
def compute(n):
    """Pure Python arithmetic: the thread holds the GIL for all of it."""
    total = 0
    for i in range(n):
        total += i
    return total


def wait(seconds):
    """Sleeping releases the GIL: other threads run meanwhile."""
    time.sleep(seconds)


def share(worker, workers, tasks, task, argument):
    """Worker `worker` of `workers` runs tasks worker, worker + workers, ..."""
    for _ in range(worker, tasks, workers):
        task(argument)


def in_threads(workers, tasks, task, argument):
    threads = [
        threading.Thread(target=share, args=(w, workers, tasks, task, argument))
        for w in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def in_processes(workers, tasks, task, argument):
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=share, args=(w, workers, tasks, task, argument))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    if any(process.exitcode != 0 for process in processes):
        raise SystemExit("a worker process failed")
# ANCHOR_END: tasks


def variants(counts, tasks, n, seconds):
    """Every variant by name: the two baselines, then each work, model and count."""
    table = {
        "cpu_sequential": lambda: share(0, 1, tasks, compute, n),
        "sleep_sequential": lambda: share(0, 1, tasks, wait, seconds),
    }
    for work, task, argument in (("cpu", compute, n), ("sleep", wait, seconds)):
        for model, run in (("threads", in_threads), ("processes", in_processes)):
            for count in counts:
                table[f"{work}_{model}_{count}"] = (
                    lambda run=run, count=count, task=task, argument=argument:
                    run(count, tasks, task, argument)
                )
    return table


def order(names, first):
    """The variants in the order to time them: those that fork last, each
    group rotated by `first`. After a fork, every page of the interpreter's
    heap is shared with the child until written: the next variant to run in
    this process pays a page fault per page it writes, which made
    "one after another" look slower than 8 threads whenever it followed the
    process variants."""
    def rotated(group):
        return [group[(first + i) % len(group)] for i in range(len(group))] if group else []
    forking = [name for name in names if "_processes_" in name]
    others = [name for name in names if "_processes_" not in name]
    return rotated(others) + rotated(forking)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8", help="worker counts, comma-separated")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--n", type=int, default=100_000, help="additions per CPU task")
    parser.add_argument("--wait", type=float, default=0.005, help="seconds per sleeping task")
    parser.add_argument("--first", type=int, default=0, help="index of the variant timed first")
    parser.add_argument("--json", action="store_true", help="print JSON for the lab")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c]
    table = variants(counts, args.tasks, args.n, args.wait)
    names = list(table)
    # Untimed: the first run of a loop in a fresh interpreter is slower
    # (CPython 3.11 specializes its bytecode as it runs), and whichever
    # variant came first would pay for it.
    compute(args.n)
    seconds = {}
    for name in order(names, args.first):
        start = time.perf_counter()
        table[name]()
        seconds[name] = time.perf_counter() - start
    if args.json:
        print(json.dumps({name: seconds[name] for name in names}))
    else:
        for name in names:
            print(f"{name:>20}: {seconds[name] * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
