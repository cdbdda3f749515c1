"""The convoy effect (David Beazley): a thread doing short I/O operations
beside a CPU-bound thread. Each operation releases the GIL; getting it back
means waiting for the CPU-bound thread to drop it — about a switch interval.

    python3 convoy.py [operations] [wait_ms]
"""
import sys
import threading
import time

operations = 20
wait = 0.0001
done = False
if len(sys.argv) > 1:
    operations = int(sys.argv[1])
if len(sys.argv) > 2:
    wait = float(sys.argv[2]) / 1000


def spin():
    x = 0
    while not done:
        x += 1


def io_operations():
    """Seconds per operation: each one is a short wait, like a read from a
    socket whose data is already on its way."""
    start = time.perf_counter()
    for _ in range(operations):
        time.sleep(wait)
    return (time.perf_counter() - start) / operations


alone = io_operations()
spinner = threading.Thread(target=spin)
spinner.start()
beside = io_operations()
done = True
spinner.join()
print(f"alone_ms: {alone * 1000:.4f}")
print(f"beside_cpu_ms: {beside * 1000:.4f}")
