"""Two threads add 1 to a shared global, n times each, with no lock.

`counter += 1` is three steps: read the global, add, write it back. Another
thread can write in between, and then one of the two additions is lost.

    python3 racy_counter.py [n]
"""
import sys
import threading

counter = 0


def work(n):
    global counter
    for _ in range(n):
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
