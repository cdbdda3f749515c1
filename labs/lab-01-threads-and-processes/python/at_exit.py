"""What CPython does with a thread that is still running when the main program
ends: a thread that needs --seconds is started and never joined, and the main
program simply ends.

    python3 at_exit.py             # prints "finished": CPython joins it at exit
    python3 at_exit.py --daemon    # prints nothing: a daemon thread is killed

(Rust ends every thread when main returns: see the lab's `detached` demo.)
"""

import argparse
import threading
import time


def work(seconds):
    time.sleep(seconds)
    print("finished", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.1)
    parser.add_argument("--daemon", action="store_true", help="start it as a daemon thread")
    args = parser.parse_args()
    threading.Thread(target=work, args=(args.seconds,), daemon=args.daemon).start()
    # No join(): the main program ends here.
