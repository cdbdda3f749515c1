# process_pool_square.py without the pool: the same five squares, computed
# in a plain loop in this one thread.
def squared(x):
    return x * x


squares = []
for n in range(5):
    squares.append(squared(n))

print(list(squares))
