# Two threads that each wait two seconds, started one after the other: the
# shape of the articles' threading example (threading.Thread with target=
# and args=, f-strings, no __main__ guard). Waiting drops the GIL, so the
# program takes about two seconds, not four.
import threading
import time


def wait_for(label):
    print(f"{label}: waiting")
    time.sleep(2)
    print(f"{label}: done waiting")


first = threading.Thread(target=wait_for, args=("first",))
second = threading.Thread(target=wait_for, args=("second",))

first.start()
second.start()

first.join()
second.join()

print("both threads joined")
