"""What the lab's CPython programs share: running their variants interleaved,
round by round, and the command line.

Run by itself, a program shows the article's demo: each variant once, with its
time. With --json it measures `--rounds` rounds (each starting at a different
variant, beginning with variant number `--first`) and prints the times as JSON;
the lab runs it one round at a time so that it can measure the machine's
parallel capacity between rounds.
"""

import argparse
import json
import time


def measure(variants, rounds, first, *args):
    """Seconds each variant took, round by round: {name: [seconds, ...]}."""
    names = list(variants)
    times = {name: [] for name in names}
    for round_number in range(rounds):
        for offset in range(len(names)):
            name = names[(first + round_number + offset) % len(names)]
            start = time.perf_counter()
            variants[name](*args)
            times[name].append(time.perf_counter() - start)
    return times


def main(description, variants, size_name, size_type, size_default):
    """Parses the command line and runs the demo or the measurement.
    Every variant is called as variant(workers, size)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(f"--{size_name}", type=size_type, default=size_default)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the variant that starts")
    parser.add_argument("--json", action="store_true", help="measure and print JSON")
    args = parser.parse_args()
    size = getattr(args, size_name)
    if args.json:
        print(json.dumps(measure(variants, args.rounds, args.first, args.workers, size)))
        return
    for name, run in variants.items():
        start = time.perf_counter()
        run(args.workers, size)
        print(f"{name:>10}: {args.workers} tasks in {time.perf_counter() - start:.2f} s")
