//! Values: what a Python variable can hold in the subset.
//!
//! Small values (ints, floats) are copied; everything else is behind an
//! `Arc`, shared by every thread that has it. Shared mutable objects (lists,
//! globals) each have their own lock, so that even without a GIL two threads
//! can never corrupt them — they can only race at the Python level.

use super::code::{Builtin, Code};
use super::pools::{Executor, FutureObject};
use super::runtime::{LockObject, ProcessObject, ThreadObject};
use std::fmt;
use std::sync::{Arc, Mutex};

/// A Python value.
#[derive(Debug, Clone)]
pub enum Value {
    /// A local variable that has not been assigned yet (never seen by programs).
    Unbound,
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(Arc<str>),
    /// A tuple.
    Tuple(Arc<[Value]>),
    /// `range(start, stop, step)`.
    Range(Arc<(i64, i64, i64)>),
    /// A list: shared and mutable, with its own lock.
    List(Arc<Mutex<Vec<Value>>>),
    /// A function defined with `def`.
    Function(Arc<Code>),
    /// A built-in function.
    Builtin(Builtin),
    /// An imported module.
    Module(Module),
    /// A function or class of a module, e.g. `Thread` after
    /// `from threading import Thread`.
    ModuleFunction(Module, &'static str),
    /// A `threading.Thread`.
    Thread(Arc<ThreadObject>),
    /// A `multiprocessing.Process`.
    Process(Arc<ProcessObject>),
    /// A `threading.Lock`.
    Lock(Arc<LockObject>),
    /// A `ThreadPoolExecutor` or `ProcessPoolExecutor`.
    Executor(Arc<Executor>),
    /// A `concurrent.futures.Future`: a task's result, once there is one.
    Future(Arc<FutureObject>),
}

/// The modules a program can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// `threading`.
    Threading,
    /// `time`.
    Time,
    /// `multiprocessing`.
    Multiprocessing,
    /// `sys`.
    Sys,
    /// `concurrent` (only for `import concurrent.futures`).
    Concurrent,
    /// `concurrent.futures`.
    Futures,
}

impl Module {
    /// The module called `name`, if the subset has it.
    pub fn named(name: &str) -> Option<Module> {
        Some(match name {
            "threading" => Module::Threading,
            "time" => Module::Time,
            "multiprocessing" => Module::Multiprocessing,
            "sys" => Module::Sys,
            "concurrent" => Module::Concurrent,
            "concurrent.futures" => Module::Futures,
            _ => return None,
        })
    }

    /// The names the subset gives this module, for `from … import` and
    /// attribute access (`sys.argv` is a value, the rest are functions).
    pub fn exports(self) -> &'static [&'static str] {
        match self {
            Module::Threading => &["Thread", "Lock"],
            Module::Time => &["sleep", "perf_counter", "monotonic", "time"],
            Module::Multiprocessing => &["Process", "cpu_count"],
            Module::Sys => &["argv", "setswitchinterval", "getswitchinterval"],
            Module::Concurrent => &["futures"],
            Module::Futures => &["ThreadPoolExecutor", "ProcessPoolExecutor"],
        }
    }

    /// The name `name` as this module exports it (a `'static` string), if it does.
    pub fn export(self, name: &str) -> Option<&'static str> {
        self.exports().iter().copied().find(|e| *e == name)
    }

    /// Its Python name.
    pub fn name(self) -> &'static str {
        match self {
            Module::Threading => "threading",
            Module::Time => "time",
            Module::Multiprocessing => "multiprocessing",
            Module::Sys => "sys",
            Module::Concurrent => "concurrent",
            Module::Futures => "concurrent.futures",
        }
    }
}

impl Value {
    /// The Python type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Unbound => "unbound",
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::Range(_) => "range",
            Value::List(_) => "list",
            Value::Function(_) => "function",
            Value::Builtin(_) => "builtin_function",
            Value::Module(_) => "module",
            Value::ModuleFunction(..) => "builtin_function",
            Value::Executor(e) => e.type_name(),
            Value::Future(_) => "Future",
            Value::Thread(_) => "Thread",
            Value::Process(_) => "Process",
            Value::Lock(_) => "lock",
        }
    }

    /// Python's truth value.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None | Value::Unbound => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(x) => *x != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Tuple(items) => !items.is_empty(),
            Value::Range(r) => range_len(r.0, r.1, r.2) > 0,
            Value::List(items) => !lock_list(items).is_empty(),
            _ => true,
        }
    }

    /// A string value.
    pub fn str(text: &str) -> Value {
        Value::Str(Arc::from(text))
    }

    /// What `repr()` shows (strings quoted), for items inside tuples and lists.
    pub fn repr(&self) -> String {
        match self {
            Value::Str(s) => format!("'{s}'"),
            other => other.to_string(),
        }
    }
}

/// Locks a list. A thread that failed while holding it cannot have left it
/// half-changed (every change is one `Vec` call), so a poisoned lock is used as is.
pub fn lock_list(list: &Mutex<Vec<Value>>) -> std::sync::MutexGuard<'_, Vec<Value>> {
    list.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many numbers `range(start, stop, step)` yields (`step` is not 0).
pub fn range_len(start: i64, stop: i64, step: i64) -> i64 {
    let (start, stop, step) = (start as i128, stop as i128, step as i128);
    let n = if step > 0 {
        (stop - start + step - 1) / step
    } else {
        (start - stop - step - 1) / -step
    };
    n.max(0) as i64
}

/// Formats a float the way Python's `repr` does for ordinary values.
pub fn float_text(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.1}")
    } else if x.abs() >= 1e16 || x.abs() < 1e-4 {
        let text = format!("{x:e}");
        // Rust writes 1e20 and 1.5e-7; Python writes 1e+20 and 1.5e-07.
        match text.split_once('e') {
            Some((mantissa, exponent)) => {
                let (sign, digits) = match exponent.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exponent),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        }
    } else {
        format!("{x}")
    }
}

impl fmt::Display for Value {
    /// What `str()` and `print` show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unbound => write!(f, "<unbound>"),
            Value::None => write!(f, "None"),
            Value::Bool(true) => write!(f, "True"),
            Value::Bool(false) => write!(f, "False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{}", float_text(*x)),
            Value::Str(s) => write!(f, "{s}"),
            Value::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                if inner.len() == 1 {
                    write!(f, "({},)", inner[0])
                } else {
                    write!(f, "({})", inner.join(", "))
                }
            }
            Value::Range(r) if r.2 == 1 => write!(f, "range({}, {})", r.0, r.1),
            Value::Range(r) => write!(f, "range({}, {}, {})", r.0, r.1, r.2),
            Value::List(items) => {
                let inner: Vec<String> = lock_list(items).iter().map(Value::repr).collect();
                write!(f, "[{}]", inner.join(", "))
            }
            Value::Function(code) => write!(f, "<function {}>", code.name),
            Value::Builtin(b) => write!(f, "<built-in function {}>", b.name()),
            Value::Module(m) => write!(f, "<module '{}'>", m.name()),
            Value::Thread(t) => write!(f, "<Thread({})>", t.name),
            Value::Process(p) => write!(f, "<Process({})>", p.name),
            Value::Lock(_) => write!(f, "<lock>"),
            Value::ModuleFunction(m, name) => write!(f, "<built-in function {}.{name}>", m.name()),
            Value::Executor(e) => write!(f, "<{} object>", e.type_name()),
            Value::Future(_) => write!(f, "<Future>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_like_python() {
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
        assert_eq!(Value::Float(0.1 + 0.2).to_string(), "0.30000000000000004");
        assert_eq!(Value::Float(1e20).to_string(), "1e+20");
        assert_eq!(Value::Float(1.5e-7).to_string(), "1.5e-07");
        let tuple = Value::Tuple(Arc::from(vec![Value::Int(1), Value::str("a")]));
        assert_eq!(tuple.to_string(), "(1, 'a')");
        let single = Value::Tuple(Arc::from(vec![Value::Int(1)]));
        assert_eq!(single.to_string(), "(1,)");
        assert_eq!(Value::Bool(true).to_string(), "True");
        assert_eq!(range_len(0, 10, 3), 4);
        assert_eq!(range_len(10, 0, -3), 4);
        assert_eq!(range_len(5, 0, 1), 0);
    }
}
