"""The racy counter, fixed: a lock makes read-add-write one step for the
other threads.

    python3 locked_counter.py [n]
"""
import sys
import threading

counter = 0
lock = threading.Lock()


def work(n):
    global counter
    for _ in range(n):
        with lock:
            counter += 1


n = 200000
if len(sys.argv) > 1:
    n = int(sys.argv[1])
threads = [threading.Thread(target=work, args=(n,)), threading.Thread(target=work, args=(n,))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(f"counter: {counter} expected: {2 * n} lost: {2 * n - counter}")
