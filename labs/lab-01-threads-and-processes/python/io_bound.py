"""The seed articles' I/O-bound example: tasks that only wait, run one after
another and then in threads.

Run it by itself to see the seed's demo:

    python3 io_bound.py

The lab runs it with --json (one round at a time, so that it can measure the
machine's parallel capacity between rounds) to measure sequential and threaded runs interleaved
round by round (each round starts with a different variant) and reads the JSON
it prints.
"""

import argparse
import json
import threading
import time


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


VARIANTS = {"sequential": sequential, "threads": in_threads}


def measure(workers, seconds, rounds, first):
    times = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for round_number in range(rounds):
        for offset in range(len(names)):
            name = names[(first + round_number + offset) % len(names)]
            start = time.perf_counter()
            VARIANTS[name](workers, seconds)
            times[name].append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the variant that starts")
    parser.add_argument("--json", action="store_true", help="measure and print JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.workers, args.seconds, args.rounds, args.first)))
        return
    for name, run in VARIANTS.items():
        start = time.perf_counter()
        run(args.workers, args.seconds)
        print(f"{name:>10}: {args.workers} tasks in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
