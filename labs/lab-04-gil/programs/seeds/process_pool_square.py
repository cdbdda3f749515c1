# Five squares computed by a process pool: the shape of the articles'
# ProcessPoolExecutor example. Each number travels to a worker process and
# each square travels back; square_loop.py computes the same in a loop.
from concurrent.futures import ProcessPoolExecutor


def squared(x):
    return x * x


with ProcessPoolExecutor() as pool:
    squares = pool.map(squared, range(5))

print(list(squares))
