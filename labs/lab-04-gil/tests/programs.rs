//! The programs in `programs/` give their expected output in the lab's
//! interpreter, and the interpreter's errors say where and why.

use lab_04::interp::{Error, Options, run_source};
use lab_04::run_program;

fn output(name: &str, args: &[&str], gil: bool) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let options = Options {
        gil,
        ..Options::default()
    };
    run_program(name, &args, options)
        .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        .output
}

/// Output lines with timings replaced by `T`, sorted (threads print in any order).
fn lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|w| {
                    if w.contains('.') && w.parse::<f64>().is_ok() {
                        "T"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}

fn seed(name: &str) -> String {
    output(&format!("seeds/{name}.py"), &[], true)
}

#[test]
fn the_seed_shaped_programs_give_their_output() {
    assert_eq!(
        lines(&seed("threads_sleep")),
        [
            "both threads joined",
            "first: done waiting",
            "first: waiting",
            "second: done waiting",
            "second: waiting"
        ]
    );
    let processes = [
        "added up",
        "added up",
        "adding up",
        "adding up",
        "both processes joined",
    ];
    assert_eq!(lines(&seed("processes_sum")), processes);
    assert_eq!(lines(&seed("processes_sum_guarded")), processes);
    assert_eq!(seed("thread_pool_sleep"), "[0, 1, 2, 3, 4]\n");
    assert_eq!(seed("process_pool_square"), "[0, 1, 4, 9, 16]\n");
    assert_eq!(seed("square_loop"), "[0, 1, 4, 9, 16]\n");
}

#[test]
fn imports_in_every_form_the_articles_use() {
    let program = "from threading import Thread, Lock\nfrom time import sleep\nimport concurrent.futures\nfrom sys import argv\n\
                   def hi(name):\n    sleep(0)\n    print(f'hi {name}')\n\
                   t = Thread(target=hi, args=('A',))\nt.start()\nt.join()\n\
                   with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:\n    print(pool.submit(hi, 'B').result())\n\
                   lock = Lock()\nwith lock:\n    print(lock.locked(), len(argv))\nprint(lock.locked())\n";
    assert_eq!(run(program).unwrap(), "hi A\nhi B\nNone\nTrue 1\nFalse\n");
    let guarded = "def main():\n    print('guarded')\nif __name__ == '__main__':\n    main()\n";
    assert_eq!(run(guarded).unwrap(), "guarded\n");
}

#[test]
fn pools_keep_the_order_of_map_and_the_errors_of_tasks() {
    for pool in ["ThreadPoolExecutor", "ProcessPoolExecutor"] {
        let program = format!(
            "from concurrent.futures import {pool}\ndef inverse(n):\n    return 1 / n\n\
             with {pool}(max_workers=3) as ex:\n    print(ex.map(inverse, [1, 2, 4, 8, 5]))\n    f = ex.submit(inverse, 0)\n    print(f.result())\n"
        );
        let error = run(&program).unwrap_err().to_string();
        assert!(error.contains("ZeroDivisionError"), "{pool}: {error}");
        let report = match report(&program) {
            Err(Error::Runtime { report, .. }) => report,
            other => panic!("{pool}: {other:?}"),
        };
        assert_eq!(report.output, "[1.0, 0.5, 0.25, 0.125, 0.2]\n", "{pool}");
    }
}

#[test]
fn a_process_pool_sends_functions_by_name_and_refuses_what_cannot_be_pickled() {
    let lock = "from concurrent.futures import ProcessPoolExecutor\nimport threading\ndef f(x):\n    return x\n\
                with ProcessPoolExecutor() as ex:\n    print(ex.submit(f, threading.Lock()).result())\n";
    let error = run(lock).unwrap_err().to_string();
    assert!(
        error.contains("TypeError: cannot pickle 'lock' object"),
        "{error}"
    );
    // Work goes to other processes: a global the task changes stays unchanged here.
    let program = "from concurrent.futures import ProcessPoolExecutor\ncount = 0\ndef bump(x):\n    global count\n    count += x\n    return count\n\
                   with ProcessPoolExecutor(max_workers=1) as ex:\n    print(ex.submit(bump, 5).result(), ex.submit(bump, 5).result())\nprint(count)\n";
    assert_eq!(run(program).unwrap(), "5 10\n0\n");
}

#[test]
fn sleep_zero_drops_the_gil_as_cpython_does() {
    // Beside a CPU-bound thread, each sleep(0) waits for the GIL to come
    // back (about one 5 ms switch interval); alone it takes microseconds.
    let slowdown = |gil: bool| -> f64 {
        let text = output("yield_beside.py", &["40"], gil);
        let line = text
            .lines()
            .find(|l| l.starts_with("slowdown:"))
            .expect("a slowdown line");
        line["slowdown:".len()..].trim().parse().unwrap()
    };
    let with_gil = slowdown(true);
    assert!(
        with_gil >= 5.0,
        "sleep(0) beside a CPU-bound thread was only {with_gil}x slower"
    );
    assert!(
        slowdown(false) < with_gil,
        "free-threaded should not wait for a GIL"
    );
}

#[test]
fn cpu_bound_prints_each_workers_sum_in_every_variant_and_mode() {
    for variant in ["sequential", "threads", "processes"] {
        for gil in [true, false] {
            assert_eq!(
                lines(&output("cpu_bound.py", &[variant, "1000", "3"], gil)),
                [
                    "499500",
                    "499500",
                    "499500",
                    &format!("{variant}: 3 tasks in T s")
                ],
                "{variant}, gil {gil}"
            );
        }
    }
}

#[test]
fn io_bound_and_convoy_print_their_times() {
    assert_eq!(
        lines(&output("io_bound.py", &["threads", "0.01"], true)),
        ["threads: 2 waits of T s in T s"]
    );
    assert_eq!(
        lines(&output("convoy.py", &["2", "0.1"], true)),
        ["alone_ms: T", "beside_cpu_ms: T"]
    );
}

#[test]
fn the_counters_count_exactly_with_the_gil_or_a_lock() {
    assert_eq!(
        output("racy_counter.py", &["10000"], true).trim(),
        "counter: 20000 expected: 20000 lost: 0"
    );
    assert_eq!(
        output("locked_counter.py", &["10000"], false).trim(),
        "counter: 20000 expected: 20000 lost: 0"
    );
}

/// Runs `source` with its output captured; the whole report.
fn report(source: &str) -> Result<lab_04::interp::Report, Error> {
    run_source(
        source,
        "t.py",
        &Options {
            capture: true,
            ..Options::default()
        },
    )
}

/// Runs `source` with its output captured; what it printed.
fn run(source: &str) -> Result<String, Error> {
    report(source).map(|r| r.output)
}

#[test]
fn arithmetic_follows_python() {
    let program = "print(7 // 2, -7 // 2, 7 % -3, -7 % 3, 2 ** 10, 2 ** -1, 7 / 2, 10**7)\n\
                   print(1 == 1.0, 3 > 2 and not 2 > 3, None or 'x', 0.1 + 0.2, 1e20, f'{2/3:.3f}')\n\
                   x = [1, 2]\nx[0] += 5\nx.append(len(x))\nprint(x, (1,), abs(-3), min(3, 1, 2), max([4, 9]), int('42') + 1, str(5) + 'a')\n";
    assert_eq!(
        run(program).unwrap(),
        "3 -4 -2 2 1024 0.5 3.5 10000000\nTrue True x 0.30000000000000004 1e+20 0.667\n[6, 2, 2] (1,) 3 1 9 43 5a\n"
    );
}

#[test]
fn functions_loops_and_globals() {
    let program = "total = 0\ndef add(n):\n    global total\n    for i in range(n):\n        if i % 2 == 0:\n            continue\n        total += i\n    return total\n\
                   def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n\
                   i = 0\nwhile True:\n    i += 1\n    if i == 5:\n        break\nprint(add(10), fact(20), i)\n";
    assert_eq!(run(program).unwrap(), "25 2432902008176640000 5\n");
}

#[test]
fn errors_name_the_file_line_and_what_went_wrong() {
    let error = run("x = 1\ndef f(a):\n    return a // 0\nf(x)\n").unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("line 4, in <module>") && text.contains("line 3, in f"),
        "{text}"
    );
    assert!(
        text.ends_with("ZeroDivisionError: integer division or modulo by zero"),
        "{text}"
    );
    assert!(
        run("print(y)\n")
            .unwrap_err()
            .to_string()
            .contains("NameError: name 'y' is not defined")
    );
    assert!(
        run("print(2 ** 70)\n")
            .unwrap_err()
            .to_string()
            .contains("OverflowError")
    );
    assert!(
        run("def f():\n    return f()\nf()\n")
            .unwrap_err()
            .to_string()
            .contains("RecursionError")
    );
    let syntax = run("x = 1\nclass A:\n    pass\n").unwrap_err().to_string();
    assert!(
        syntax.starts_with("t.py:2:1: SyntaxError: 'class' is not supported")
            && syntax.contains("supported:"),
        "{syntax}"
    );
    for (source, says) in [
        ("from os import path\n", "no module named 'os'"),
        (
            "from threading import Event\n",
            "cannot import name 'Event' from 'threading': this subset has Thread, Lock",
        ),
        ("import threading as t\n", "'import … as' is not supported"),
        ("from time import *\n", "'from … import *' is not supported"),
        ("with a as b, c as d:\n    pass\n", "one context per 'with'"),
    ] {
        let text = run(source).unwrap_err().to_string();
        assert!(
            text.starts_with("t.py:1:") && text.contains(says),
            "{source:?}: {text}"
        );
    }
}

#[test]
fn an_error_in_a_thread_is_reported_and_the_program_goes_on() {
    let program = "import threading\ndef bad():\n    return 1 // 0\nt = threading.Thread(target=bad)\nt.start()\nt.join()\nprint('still here')\n";
    let report = report(program).unwrap();
    assert_eq!(report.output, "still here\n");
    assert_eq!(report.thread_errors.len(), 1);
    assert!(
        report.thread_errors[0].contains("Exception in thread Thread-1")
            && report.thread_errors[0].contains("ZeroDivisionError")
    );
}

#[test]
fn a_failing_child_process_has_exit_code_one_and_is_reaped() {
    // exitcode is set only once waitpid has reaped the child.
    let program = "import multiprocessing\ndef bad():\n    assert False, 'boom'\np = multiprocessing.Process(target=bad)\np.start()\np.join()\nprint(p.exitcode)\n";
    assert_eq!(run(program).unwrap(), "1\n");
    // A process nobody joins is joined at exit, as Python does: its output arrives.
    let unjoined = "import multiprocessing\ndef hello():\n    print('child')\np = multiprocessing.Process(target=hello)\np.start()\n";
    assert_eq!(run(unjoined).unwrap(), "child\n");
    // A grandchild's output comes back through its parent's pipe, too.
    let nested = "import multiprocessing\ndef inner():\n    print('grandchild')\ndef outer():\n    p = multiprocessing.Process(target=inner)\n    p.start()\n    p.join()\n    print('child')\nq = multiprocessing.Process(target=outer)\nq.start()\nq.join()\n";
    assert_eq!(run(nested).unwrap(), "grandchild\nchild\n");
}

#[test]
fn the_overlap_each_thread_times_itself_is_zero_only_with_the_gil() {
    // The same measurement — stretches of running bytecode, timed by each
    // thread outside the GIL's own bookkeeping — must see two threads at
    // once when nothing stops them, or its zero with the GIL would mean nothing.
    let overlap = |gil: bool| {
        let options = Options {
            gil,
            timeline: true,
            ..Options::default()
        };
        let args = ["threads", "300000", "2"].map(String::from);
        let report = run_program("cpu_bound.py", &args, options).unwrap();
        assert!(
            report.running.iter().filter(|r| r.0 >= 2).count() >= 2,
            "both threads recorded stretches"
        );
        lab_04::running_at_once(&report)
    };
    assert_eq!(overlap(true), 0.0);
    assert!(overlap(false) > 0.0);
}

#[test]
fn an_error_inside_with_still_releases_the_lock() {
    // The subset has no `try`: without the frame's exit on error, the lock
    // stays held and the main thread waits for it forever.
    let program = "import threading\nlock = threading.Lock()\ndef bad():\n    with lock:\n        x = 1 // 0\n\
                   t = threading.Thread(target=bad)\nt.start()\nt.join()\nwith lock:\n    print('the lock is free')\n";
    let report = report(program).unwrap();
    assert_eq!(report.output, "the lock is free\n");
    assert!(report.thread_errors[0].contains("ZeroDivisionError"));
}

#[test]
fn a_task_cannot_wait_for_its_own_pool_to_shut_down() {
    let program = "from concurrent.futures import ThreadPoolExecutor\npool = ThreadPoolExecutor(max_workers=1)\n\
                   def stop():\n    pool.shutdown()\n    return 1\nprint(pool.submit(stop).result())\n";
    let error = run(program).unwrap_err().to_string();
    assert!(
        error.contains("RuntimeError: cannot join current thread"),
        "{error}"
    );
}

#[test]
fn huge_ranges_sleeps_and_self_holding_lists_are_errors_not_hangs() {
    let cases = [
        ("print(len(list(range(10**12))))\n", "MemoryError"),
        (
            "import time\ntime.sleep(1e20)\n",
            "OverflowError: sleep length is too large",
        ),
        (
            "from concurrent.futures import ProcessPoolExecutor\ndef f(x):\n    return 0\na = [1]\na.append(a)\n\
             with ProcessPoolExecutor(max_workers=1) as ex:\n    ex.submit(f, a)\n",
            "RecursionError",
        ),
    ];
    for (program, says) in cases {
        let error = run(program).unwrap_err().to_string();
        assert!(error.contains(says), "{program:?}: {error}");
    }
    // A range that ends next to i64's largest value ends; it does not wrap.
    let edge = "n = 0\nfor i in range(9223372036854775800, 9223372036854775807, 4):\n    n += 1\nprint(n, len(list(range(9223372036854775800, 9223372036854775807, 4))))\n";
    assert_eq!(run(edge).unwrap(), "2 2\n");
}
