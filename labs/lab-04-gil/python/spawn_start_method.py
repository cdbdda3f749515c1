"""Runs one of lab 04's programs under CPython with the `spawn` start method
(a child is a fresh interpreter that imports the program again, as
`__mp_main__`) and reports what happened, as JSON: what it printed, how many
RuntimeErrors its children raised, and the first line of that error.

    python3 spawn_start_method.py PROGRAM

(`spawn` is the default on Windows and macOS; `forkserver`, which imports the
program the same way, is the default on Linux from CPython 3.14.)
"""

import json
import multiprocessing
import multiprocessing.resource_tracker
import os
import runpy
import sys
import tempfile


def stop_resource_tracker():
    """spawn starts a helper process, the resource tracker, which would end
    a moment *after* this script: an orphan. Stop it and wait for it."""
    tracker = getattr(multiprocessing.resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        stop()


def main():
    program = sys.argv[1]
    multiprocessing.set_start_method("spawn")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            runpy.run_path(program, run_name="__main__")
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            stop_resource_tracker()
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(), err.read().decode()
    lines = errors.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("RuntimeError")]
    message = ""
    if starts:
        # The message's first paragraph, which CPython wraps over lines.
        paragraph = []
        for line in lines[starts[0] + 1 :]:
            if not line.strip():
                if paragraph:
                    break
                continue
            paragraph.append(line.strip())
        message = " ".join(paragraph)
    print(json.dumps({"output": printed, "runtime_errors": len(starts), "error": message}))


if __name__ == "__main__":
    main()
