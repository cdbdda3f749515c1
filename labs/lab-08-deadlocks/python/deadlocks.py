"""Lab 08 in CPython: the multiprocessing pitfall its documentation warns of.

A process that has put items on a multiprocessing.Queue does not end until
they are all flushed into the queue's pipe, by a feeder thread. An item
larger than the pipe holds is flushed only as someone reads it. So joining
the process before draining the queue waits for a process that waits for
us: a deadlock ("Joining processes that use queues", in the programming
guidelines of the multiprocessing documentation).

    python3 deadlocks.py --timeout 1.0 --size 1048576

Every wait here has a deadline, and whatever is stuck is ended: the script
always returns, and prints one JSON object.
"""

import argparse
import json
import multiprocessing
import time


# ANCHOR: producer
def put_one_item(queue, size):
    """The child: put one large item on the queue, then return (and exit,
    once the feeder thread has flushed it into the pipe)."""
    queue.put(b"x" * size)
# ANCHOR_END: producer


# ANCHOR: pitfall
def join_before_draining(context, size, timeout):
    """The pitfall: join first. join(timeout) returns with the child still
    alive; draining the queue then lets it end."""
    queue = context.Queue()
    child = context.Process(target=put_one_item, args=(queue, size))
    child.start()
    child.join(timeout)  # would wait forever without the timeout
    alive_after_join = child.is_alive()
    item = queue.get(timeout=timeout * 10)  # drain: now the child can end
    child.join(timeout * 10)
    drained_then_joined = not child.is_alive() and child.exitcode == 0
    return alive_after_join, drained_then_joined and len(item) == size, child
# ANCHOR_END: pitfall


# ANCHOR: fix
def drain_then_join(context, size, timeout):
    """The fix: take everything off the queue first, then join."""
    queue = context.Queue()
    child = context.Process(target=put_one_item, args=(queue, size))
    start = time.perf_counter()
    child.start()
    item = queue.get(timeout=timeout * 10)
    child.join(timeout * 10)
    seconds = time.perf_counter() - start
    works = not child.is_alive() and child.exitcode == 0 and len(item) == size
    return works, seconds, child
# ANCHOR_END: fix


def end(child):
    """Whatever happened, leave no process behind."""
    if child.is_alive():
        child.kill()
    child.join()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=1 << 20)
    args = parser.parse_args()
    # fork, the default on Linux before 3.14, named so that the result does
    # not depend on the version (and no resource tracker process is needed).
    context = multiprocessing.get_context("fork")
    alive, drained, child = join_before_draining(context, args.size, args.timeout)
    end(child)
    works, seconds, child = drain_then_join(context, args.size, args.timeout)
    end(child)
    print(json.dumps({
        "alive_after_join": alive,
        "drained_then_joined": drained,
        "drain_first_works": works,
        "drain_first_s": seconds,
    }))


if __name__ == "__main__":
    main()
