"""CPU-bound work: tasks that each sum range(n), run one after another, in
threads, or in processes.

    python3 cpu_bound.py [sequential|threads|processes] [n] [workers]
"""
import multiprocessing
import sys
import threading
import time


def task(n):
    total = 0
    for i in range(n):
        total += i
    print(total)


def sequential(n, workers):
    for _ in range(workers):
        task(n)


def in_threads(n, workers):
    threads = []
    for _ in range(workers):
        thread = threading.Thread(target=task, args=(n,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


def in_processes(n, workers):
    processes = []
    for _ in range(workers):
        process = multiprocessing.Process(target=task, args=(n,))
        process.start()
        processes.append(process)
    for process in processes:
        process.join()
        assert process.exitcode == 0, "a worker process failed"


variant = "threads"
n = 10**7
workers = 2
if len(sys.argv) > 1:
    variant = sys.argv[1]
if len(sys.argv) > 2:
    n = int(sys.argv[2])
if len(sys.argv) > 3:
    workers = int(sys.argv[3])

if __name__ == "__main__":
    start = time.perf_counter()
    if variant == "sequential":
        sequential(n, workers)
    elif variant == "threads":
        in_threads(n, workers)
    elif variant == "processes":
        in_processes(n, workers)
    else:
        assert False, "the variant must be sequential, threads or processes"
    print(f"{variant}: {workers} tasks in {time.perf_counter() - start:.3f} s")
