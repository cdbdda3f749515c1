"""Runs one of lab 04's programs (programs/*.py) once under CPython and prints,
as JSON, every number the program printed after a `name:` — e.g. `lost: 0`
or `beside_cpu_ms: 5.2`, several to a line or one.

    python3 printed.py PROGRAM [ARGS...] [--first K]

(--first is accepted and ignored: the lab passes it to every script it runs
once per round.)
"""

import argparse
import contextlib
import io
import json
import re
import runpy
import sys

NUMBER = re.compile(r"(\w+):\s*(-?[0-9][0-9.eE+-]*)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    options = parser.parse_intermixed_args()
    sys.argv = [options.program, *options.args]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        runpy.run_path(options.program, run_name="__main__")
    numbers = {}
    for name, value in NUMBER.findall(output.getvalue()):
        try:
            numbers[name] = float(value)
        except ValueError:
            pass
    print(json.dumps(numbers))


if __name__ == "__main__":
    main()
