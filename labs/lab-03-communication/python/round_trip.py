"""Round trips of a small message in CPython: queue.Queue between two threads,
and multiprocessing.Queue and multiprocessing.Pipe between two processes (fork
start method). The echo side sends back each number plus one.

Run it by itself to see the times:

    python3 round_trip.py

The lab runs it with --json, once per round, and reads the seconds per round trip.
"""

import argparse
import json
import multiprocessing
import queue
import threading
import time


def echo_queue(inbox, outbox):
    while (n := inbox.get()) is not None:
        outbox.put(n + 1)


def echo_pipe(end):
    while (n := end.recv()) is not None:
        end.send(n + 1)


def ping(send, receive, count):
    value = 0
    start = time.perf_counter()
    for _ in range(count):
        send(value)
        value = receive()
    seconds = time.perf_counter() - start
    if value != count:
        raise SystemExit(f"{count} round trips returned {value}")
    return seconds / count


# ANCHOR: queues
def threads_queue(count):
    inbox, outbox = queue.Queue(), queue.Queue()
    echo = threading.Thread(target=echo_queue, args=(inbox, outbox))
    echo.start()
    seconds = ping(inbox.put, outbox.get, count)
    inbox.put(None)
    echo.join()
    return seconds


def processes_queue(count):
    context = multiprocessing.get_context("fork")
    inbox, outbox = context.Queue(), context.Queue()
    echo = context.Process(target=echo_queue, args=(inbox, outbox))
    echo.start()
    seconds = ping(inbox.put, outbox.get, count)
    inbox.put(None)
    echo.join()
    return seconds


def processes_pipe(count):
    context = multiprocessing.get_context("fork")
    mine, theirs = context.Pipe()  # duplex: a socket pair
    echo = context.Process(target=echo_pipe, args=(theirs,))
    echo.start()
    seconds = ping(mine.send, mine.recv, count)
    mine.send(None)
    echo.join()
    return seconds
# ANCHOR_END: queues


MECHANISMS = {
    "queue": threads_queue,
    "mp_queue": processes_queue,
    "mp_pipe": processes_pipe,
}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON for the lab")
    parser.add_argument("--count", type=int, default=2000, help="round trips per mechanism")
    parser.add_argument("--first", type=int, default=0, help="index of the mechanism measured first")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    names = list(MECHANISMS)
    order = [names[(args.first + i) % len(names)] for i in range(len(names))]
    times = {name: MECHANISMS[name](args.count) for name in order}
    if args.json:
        print(json.dumps(times))
    else:
        for name in names:
            print(f"{name:>8}: {times[name] * 1e6:8.1f} µs per round trip")
