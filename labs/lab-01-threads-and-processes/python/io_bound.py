"""The seed articles' I/O-bound example: tasks that only wait, run one after
another and then in threads.

Run it by itself to see the seed's demo:

    python3 io_bound.py

The lab runs it with --json (see rounds.py).
"""

import threading
import time

import rounds


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

if __name__ == "__main__":
    rounds.main(__doc__.splitlines()[0], VARIANTS, "seconds", float, 2.0)
