"""Runs some of lab 04's programs once each under CPython, in the order given
(rotated by --first), and prints as JSON how long each took — timed from
inside CPython, so its start-up is not counted — and, under "output:NAME",
what each printed, child processes included.

    python3 run_programs.py [--first K] PROGRAM...

A program's name is its file name without `.py`.
"""

import argparse
import json
import os
import pathlib
import runpy
import sys
import tempfile
import time


def run_captured(program):
    """Runs `program` as __main__ with file descriptor 1 sent to a temporary
    file, so that forked children's output is kept too; returns (seconds, text)."""
    with tempfile.TemporaryFile() as captured:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(captured.fileno(), 1)
        try:
            start = time.perf_counter()
            runpy.run_path(program, run_name="__main__")
            seconds = time.perf_counter() - start
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        return seconds, captured.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("programs", nargs="+")
    options = parser.parse_intermixed_args()
    programs = options.programs
    report = {}
    for offset in range(len(programs)):
        program = programs[(options.first + offset) % len(programs)]
        name = pathlib.Path(program).stem
        seconds, output = run_captured(program)
        report[name] = seconds
        report[f"output:{name}"] = output
    print(json.dumps(report))


if __name__ == "__main__":
    main()
