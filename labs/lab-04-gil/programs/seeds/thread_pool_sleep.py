# Five one-second waits handed to a thread pool: the shape of the articles'
# ThreadPoolExecutor example (from concurrent.futures import, with … as,
# map, list). The default pool has min(32, cores + 4) threads — at least
# five — so all five waits overlap: about one second in all.
from concurrent.futures import ThreadPoolExecutor
import time


def fetch(item):
    time.sleep(1)
    return item


with ThreadPoolExecutor() as pool:
    answers = pool.map(fetch, range(5))

print(list(answers))
