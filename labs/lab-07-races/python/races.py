"""Lab 07 in CPython: lost updates on threads and between processes.

    python3 races.py --increments 200000

Two threads do `counter += 1`; two threads read, call a function, then
write; two processes do `v.value += 1` on a multiprocessing.Value, without
and with its lock. Prints one JSON object: for each, the updates made and lost.
"""

import argparse
import json
import multiprocessing
import threading

counter = 0


# ANCHOR: threads
def plus_equals(n):
    """`counter += 1`: one line, several bytecodes (load, add, store)."""
    global counter
    for _ in range(n):
        counter += 1


def nothing():
    return None


def read_call_write(n):
    """The same read and write with a function call between them."""
    global counter
    for _ in range(n):
        seen = counter
        nothing()
        counter = seen + 1
# ANCHOR_END: threads


def lost_on_threads(work, n):
    """Runs `work(n)` on two threads; returns the updates lost."""
    global counter
    counter = 0
    threads = [threading.Thread(target=work, args=(n,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 2 * n - counter


# ANCHOR: value
def add_unlocked(value, n):
    """`+=` on a Value: the Value's lock is taken to read, released, and
    taken again to write."""
    for _ in range(n):
        value.value += 1


def add_locked(value, n):
    """The same, holding the Value's lock around the read and the write."""
    for _ in range(n):
        with value.get_lock():
            value.value += 1
# ANCHOR_END: value


def lost_on_processes(work, n):
    """Runs `work(value, n)` in two forked processes; returns the updates lost."""
    value = multiprocessing.Value("q", 0)
    processes = [multiprocessing.Process(target=work, args=(value, n)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        if p.is_alive():
            p.kill()
            p.join()
            raise SystemExit("a counting process did not finish in 120 s")
    return 2 * n - value.value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--increments", type=int, default=200_000)
    args = parser.parse_args()
    n = args.increments
    multiprocessing.set_start_method("fork")
    # The processes count a tenth as much: each `+=` on a Value takes a lock
    # twice, some hundred times slower than an `+=` on a global.
    m = max(n // 10, 1000)
    print(json.dumps({
        "plus_equals": {"lost": lost_on_threads(plus_equals, n), "made": 2 * n},
        "read_call_write": {"lost": lost_on_threads(read_call_write, n), "made": 2 * n},
        "value_no_lock": {"lost": lost_on_processes(add_unlocked, m), "made": 2 * m},
        "value_locked": {"lost": lost_on_processes(add_locked, m), "made": 2 * m},
    }))

if __name__ == "__main__":
    main()
