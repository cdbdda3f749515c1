# processes_sum.py with its module-level work behind the __main__ guard:
# a child started with spawn runs this file as `__mp_main__`, skips the
# guarded part, and only runs the function it was asked to.
from multiprocessing import Process


def add_up():
    print("adding up")
    total = 0
    for i in range(10**7):
        total += i
    print("added up")


if __name__ == "__main__":
    one = Process(target=add_up)
    two = Process(target=add_up)

    one.start()
    two.start()

    one.join()
    two.join()

    print("both processes joined")
