# Two processes that each add up the numbers below ten million: the shape of
# the articles' multiprocessing example (from multiprocessing import Process,
# module-level code with no __main__ guard). With the fork start method each
# child is a copy of this program; with spawn, each child runs this file
# again from the top — and starts processes of its own while it is still
# starting up, which CPython refuses.
from multiprocessing import Process


def add_up():
    print("adding up")
    total = 0
    for i in range(10**7):
        total += i
    print("added up")


one = Process(target=add_up)
two = Process(target=add_up)

one.start()
two.start()

one.join()
two.join()

print("both processes joined")
