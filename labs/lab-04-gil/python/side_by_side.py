"""Runs one of lab 04's programs (programs/*.py) under CPython, once per
variant, and prints how long each run took, as JSON: {variant: seconds}.

Each run is timed from inside CPython, so the interpreter's start-up is not
counted — just as the lab times its own interpreter from the start of the
program to its end. The program's own output is discarded.

    python3 side_by_side.py --variants sequential,threads,processes \
        [--first K] PROGRAM [ARGS...]

runs `PROGRAM VARIANT ARGS...` for each variant, starting with variant
number K (so that rounds rotate which variant goes first).
"""

import argparse
import contextlib
import io
import json
import runpy
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", required=True, help="comma-separated")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    # Intermixed: the lab adds --first after the program's own arguments.
    options = parser.parse_intermixed_args()
    names = options.variants.split(",")
    times = {}
    for offset in range(len(names)):
        name = names[(options.first + offset) % len(names)]
        sys.argv = [options.program, name, *options.args]
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(options.program, run_name="__main__")
        times[name] = time.perf_counter() - start
    print(json.dumps(times))


if __name__ == "__main__":
    main()
