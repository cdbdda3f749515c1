"""Lab 10 in CPython: the capstone job - fetch items from the lab's server,
hash each one many times, XOR the digests - one item after another, on a
ThreadPoolExecutor, on a ProcessPoolExecutor, and both at once (threads
wait, processes hash).

The lab starts its item server and runs this script once per round:

    python3 capstone.py --port=PORT --items=32 --rounds=5000 --workers=2

It times every variant once, starting with variant number --first, checks
that all four gave the same answer, and prints {variant: seconds,
"aggregate": hex}. With --mode=rate it prints how many hash rounds per
second this interpreter does, so that the lab can give CPython a job of
the same mix (as long hashing as waiting, say) in its own time.
"""

import argparse
import hashlib
import json
import multiprocessing
import socket
import struct
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial

ITEM_BYTES = 1024


# ANCHOR: job
def fetch(port, index):
    """One request to the lab's server, which answers after its delay."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(struct.pack("<I", index))
        chunks, size = [], 0
        while size < ITEM_BYTES:
            chunk = connection.recv(ITEM_BYTES - size)
            if not chunk:
                raise ConnectionError("the server closed the connection early")
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def transform(item, rounds):
    """SHA-256 of the item, then `rounds` more times of the digest. hashlib
    lets go of the GIL only for inputs of 2 KiB or more: not here."""
    digest = hashlib.sha256(item).digest()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


def process_item(port, rounds, index):
    return transform(fetch(port, index), rounds)


def combine(digests):
    """The XOR of the digests, in hex: the lab's answer, whatever the order."""
    total = 0
    for digest in digests:
        total ^= int.from_bytes(digest, "little")
    return total.to_bytes(32, "little").hex()
# ANCHOR_END: job


# ANCHOR: models
def sequential(port, rounds, items, pools):
    return combine(process_item(port, rounds, index) for index in range(items))


def threads(port, rounds, items, pools):
    job = partial(process_item, port, rounds)
    return combine(pools["threads"].map(job, range(items)))


def processes(port, rounds, items, pools):
    job = partial(process_item, port, rounds)
    return combine(pools["processes"].map(job, range(items)))


def hybrid(port, rounds, items, pools):
    hashers = pools["processes"]

    def one(index):
        item = fetch(port, index)  # this thread waits, the GIL free meanwhile
        return hashers.submit(transform, item, rounds).result()  # a process hashes

    return combine(pools["fetchers"].map(one, range(items)))
# ANCHOR_END: models


VARIANTS = {
    "sequential": sequential,
    "threads": threads,
    "processes": processes,
    "hybrid": hybrid,
}


def rate():
    """Hash rounds per second: the fastest of a few short tries."""
    transform(b"\0" * 32, 2000)  # CPython 3.11+ specialises a loop as it runs
    best = 0.0
    for _ in range(5):
        rounds = 5000
        start = time.perf_counter()
        transform(b"\0" * 32, rounds)
        best = max(best, rounds / (time.perf_counter() - start))
    return best


def run(args):
    context = multiprocessing.get_context("fork")
    # The processes first, while this process has no thread of its own to
    # leave a lock held in a child.
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as hashers:
        list(hashers.map(abs, range(4 * args.workers)))  # its workers exist before timing
        with ThreadPoolExecutor() as thread_pool, \
                ThreadPoolExecutor(max_workers=args.items) as fetchers:
            # Threads start on demand: start them all before timing.
            list(thread_pool.map(time.sleep, [0.001] * 32))
            list(fetchers.map(time.sleep, [0.001] * args.items))
            transform(b"\0" * 32, 2000)
            pools = {"threads": thread_pool, "processes": hashers, "fetchers": fetchers}
            names = list(VARIANTS)
            seconds, answers = {}, {}
            for offset in range(len(names)):
                name = names[(args.first + offset) % len(names)]
                start = time.perf_counter()
                answers[name] = VARIANTS[name](args.port, args.rounds, args.items, pools)
                seconds[name] = time.perf_counter() - start
    if len(set(answers.values())) != 1:
        raise SystemExit(f"the variants disagree: {answers}")
    return {**{name: seconds[name] for name in names}, "aggregate": answers["sequential"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["job", "rate"], default="job")
    parser.add_argument("--port", type=int, help="the lab's item server")
    parser.add_argument("--items", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5000, help="hash rounds per item")
    parser.add_argument("--workers", type=int, default=2, help="processes that hash")
    parser.add_argument("--first", type=int, default=0, help="index of the variant timed first")
    args = parser.parse_args()
    if args.mode == "rate":
        print(json.dumps({"rounds_per_second": rate()}))
        return
    if args.port is None:
        parser.error("--port is needed: the lab starts the server and passes its port")
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
