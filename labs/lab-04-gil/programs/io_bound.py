"""I/O-bound work: tasks that each wait (sleep), run one after another, in
threads, or in processes. Waiting needs no CPU and, in CPython, no GIL.

    python3 io_bound.py [sequential|threads|processes] [seconds] [workers]
"""
import multiprocessing
import sys
import threading
import time


def task(seconds):
    time.sleep(seconds)


def sequential(seconds, workers):
    for _ in range(workers):
        task(seconds)


def in_threads(seconds, workers):
    threads = []
    for _ in range(workers):
        thread = threading.Thread(target=task, args=(seconds,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def in_processes(seconds, workers):
    processes = []
    for _ in range(workers):
        process = multiprocessing.Process(target=task, args=(seconds,))
        process.start()
        processes.append(process)
    for process in processes:
        process.join()


variant = "threads"
seconds = 1.0
workers = 2
if len(sys.argv) > 1:
    variant = sys.argv[1]
if len(sys.argv) > 2:
    seconds = float(sys.argv[2])
if len(sys.argv) > 3:
    workers = int(sys.argv[3])

if __name__ == "__main__":
    start = time.perf_counter()
    if variant == "sequential":
        sequential(seconds, workers)
    elif variant == "threads":
        in_threads(seconds, workers)
    elif variant == "processes":
        in_processes(seconds, workers)
    else:
        assert False, "the variant must be sequential, threads or processes"
    print(f"{variant}: {workers} waits of {seconds} s in {time.perf_counter() - start:.3f} s")
