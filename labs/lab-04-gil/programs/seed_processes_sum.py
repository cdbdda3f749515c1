# The seed articles' multiprocessing example: two processes that each sum
# range(10**7). Each process has its own interpreter and its own GIL.
import multiprocessing
import time


def task():
    total = 0
    for i in range(10**7):
        total += i
    print(total)


if __name__ == "__main__":
    start = time.time()
    p1 = multiprocessing.Process(target=task)
    p2 = multiprocessing.Process(target=task)
    p1.start()
    p2.start()
    p1.join()
    p2.join()
    print("Time taken:", time.time() - start)
