# The seed articles' threading example: two tasks that each wait 2 seconds,
# in two threads. Waiting releases the GIL, so they take 2 s, not 4.
import threading
import time


def task():
    print("Task started")
    time.sleep(2)
    print("Task finished")


start = time.time()
t1 = threading.Thread(target=task)
t2 = threading.Thread(target=task)
t1.start()
t2.start()
t1.join()
t2.join()
print("Time taken:", time.time() - start)
