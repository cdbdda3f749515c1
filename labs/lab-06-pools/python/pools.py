"""Lab 06 in CPython: what a task costs in ThreadPoolExecutor and
ProcessPoolExecutor (fork), what chunking saves, what happens when a worker
dies, and the seed's square example.

    python3 pools.py --mode overhead   # per-task seconds of each executor
    python3 pools.py --mode square     # square 1000 numbers: loop vs pool
    python3 pools.py --mode broken     # kill a worker: BrokenProcessPool?

The lab adds --json-style output by running these modes; each prints JSON.
"""

import argparse
import json
import multiprocessing
import os
import pickle
import signal
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool


# ANCHOR: tasks
def add_one(x):
    """The smallest task: all its cost in a pool is the pool's."""
    return x + 1


def square(x):
    """The seed articles' example task."""
    return x * x


def dies_on_zero(x):
    """Kills its own worker process when given 0."""
    if x == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.005)
    return x
# ANCHOR_END: tasks


def pickled_call(x):
    """What ProcessPoolExecutor pickles for one task at chunksize 1, without
    the pool: the call (function by name, arguments) there, the result back."""
    function, arguments = pickle.loads(pickle.dumps((add_one, (x,))))
    return pickle.loads(pickle.dumps(function(*arguments)))


def per_task(run, tasks):
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / tasks


def overhead(tasks, workers, first):
    """Per-task seconds of a trivial task: a loop, the thread pool, and the
    process pool at chunksizes 1, 10, 100, 1000. Pools are made and warmed
    before timing, as the lab's own are."""
    items = range(tasks)
    context = multiprocessing.get_context("fork")
    with ThreadPoolExecutor(max_workers=workers) as threads, \
            ProcessPoolExecutor(max_workers=workers, mp_context=context) as processes:
        list(threads.map(add_one, range(workers)))
        list(processes.map(add_one, range(workers)))
        variants = {
            "loop": lambda: [add_one(x) for x in items],
            "pickle_1": lambda: [pickled_call(x) for x in items],
            "tpe_1": lambda: list(threads.map(add_one, items)),
        }
        for chunksize in (1, 10, 100, 1000):
            variants[f"ppe_{chunksize}"] = (
                lambda c=chunksize: list(processes.map(add_one, items, chunksize=c)))
        names = list(variants)
        times = {}
        for offset in range(len(names)):
            name = names[(first + offset) % len(names)]
            times[name] = per_task(variants[name], tasks)
    return {name: times[name] for name in names}


# ANCHOR: square
def square_both_ways(first):
    """The seed's example: square 1000 numbers with a plain loop and with a
    ProcessPoolExecutor (made, used and shut down, as the seed's `with` does)."""
    numbers = range(1000)
    context = multiprocessing.get_context("fork")

    def with_pool():
        with ProcessPoolExecutor(mp_context=context) as executor:
            return list(executor.map(square, numbers))

    variants = {"loop": lambda: [square(x) for x in numbers], "pool": with_pool}
    names = list(variants)
    times = {}
    for offset in range(len(names)):
        name = names[(first + offset) % len(names)]
        start = time.perf_counter()
        variants[name]()
        times[name] = time.perf_counter() - start
    return times
# ANCHOR_END: square


def broken():
    """A task kills its worker: does the map raise BrokenProcessPool, and
    does the executor refuse what comes next?"""
    context = multiprocessing.get_context("fork")
    raised = refuses = False
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        try:
            list(executor.map(dies_on_zero, [3, 2, 1, 0, 4, 5]))
        except BrokenProcessPool:
            raised = True
        try:
            executor.submit(add_one, 1).result(timeout=10)
        except BrokenProcessPool:
            refuses = True
    return {"raised": raised, "refuses": refuses}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["overhead", "square", "broken"], default="overhead")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first", type=int, default=0, help="index of the variant timed first")
    args = parser.parse_args()
    if args.mode == "overhead":
        print(json.dumps(overhead(args.tasks, args.workers, args.first)))
    elif args.mode == "square":
        print(json.dumps(square_both_ways(args.first)))
    else:
        print(json.dumps(broken()))


if __name__ == "__main__":
    main()
