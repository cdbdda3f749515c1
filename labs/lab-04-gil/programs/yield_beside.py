"""time.sleep(0), CPython's idiom for letting other threads run, in a loop:
alone, and beside a CPU-bound thread. A zero-length sleep is still a
blocking call: the GIL is dropped around it, and getting it back beside a
CPU-bound thread means waiting for that thread to let go.

    python3 yield_beside.py [calls]
"""
import sys
import threading
import time

calls = 200
done = False
if len(sys.argv) > 1:
    calls = int(sys.argv[1])


def spin():
    x = 0
    while not done:
        x += 1


def yield_calls():
    """Seconds per time.sleep(0) call."""
    start = time.perf_counter()
    for _ in range(calls):
        time.sleep(0)
    return (time.perf_counter() - start) / calls


alone = yield_calls()
spinner = threading.Thread(target=spin)
spinner.start()
beside = yield_calls()
done = True
spinner.join()
print(f"alone_us: {alone * 1e6:.3f}")
print(f"beside_cpu_us: {beside * 1e6:.3f}")
print(f"slowdown: {beside / alone:.2f}")
