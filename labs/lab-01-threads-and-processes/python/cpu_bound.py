"""The seed articles' CPU-bound example: tasks that each sum range(n), run one
after another, in threads, and in processes (multiprocessing, fork start
method, like the Rust lab's fork).

Run it by itself to see the seed's demo:

    python3 cpu_bound.py

The lab runs it with --json (one round at a time, so that it can measure the
machine's parallel capacity between rounds) to measure the three variants interleaved round by
round (each round starts with a different variant) and reads the JSON it prints.
"""

import argparse
import json
import multiprocessing
import threading
import time


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


VARIANTS = {"sequential": sequential, "threads": in_threads, "processes": in_processes}


def measure(workers, n, rounds, first):
    times = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for round_number in range(rounds):
        for offset in range(len(names)):
            name = names[(first + round_number + offset) % len(names)]
            start = time.perf_counter()
            VARIANTS[name](workers, n)
            times[name].append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n", type=int, default=10**7)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the variant that starts")
    parser.add_argument("--json", action="store_true", help="measure and print JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.workers, args.n, args.rounds, args.first)))
        return
    for name, run in VARIANTS.items():
        start = time.perf_counter()
        run(args.workers, args.n)
        print(f"{name:>10}: {args.workers} tasks in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
