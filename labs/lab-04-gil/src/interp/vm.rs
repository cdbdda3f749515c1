//! The virtual machine: runs bytecode on one OS thread. Every interpreter
//! thread — the main one and each `threading.Thread` — has its own `Vm`,
//! all sharing one [`Runtime`].

use super::PyError;
use super::ast::{BinOp, CmpOp};
use super::code::{Builtin, Code, Instr};
use super::pickle;
use super::pools::{self, Executor, FutureObject, Work};
use super::runtime::{
    LockObject, Output, ProcessObject, RunningChild, Runtime, Started, THREAD_STACK, ThreadObject,
};
use super::timeline::State;
use super::value::{Module, Value, lock_list, range_len};
use labkit::child::fork_child;
use nix::sys::wait::WaitStatus;
use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How deep calls may nest, as CPython's default recursion limit.
pub const MAX_DEPTH: usize = 1000;

/// One interpreter thread.
pub struct Vm {
    rt: Arc<Runtime>,
    /// This thread's id: 1 for the main thread.
    me: usize,
    depth: usize,
    /// When the current stretch of running bytecode began, by this thread's
    /// own clock reading (kept only when a timeline is recorded).
    running_since: Cell<Option<f64>>,
}

/// A `for` loop's iterator.
enum Iter {
    Range { next: i64, stop: i64, step: i64 },
    Items { items: Arc<[Value]>, next: usize },
}

impl Iter {
    /// The next item, or `None` at the end. A range that would step past
    /// i64's end is over, not wrapped around.
    #[inline(always)]
    fn next(&mut self) -> Option<Value> {
        match self {
            Iter::Range { next, stop, step } => {
                let more = if *step > 0 {
                    *next < *stop
                } else {
                    *next > *stop
                };
                if !more {
                    return None;
                }
                let item = Value::Int(*next);
                *next = next.checked_add(*step).unwrap_or(*stop);
                Some(item)
            }
            Iter::Items { items, next } => {
                let item = items.get(*next)?.clone();
                *next += 1;
                Some(item)
            }
        }
    }

    fn of(value: Value) -> Result<Iter, PyError> {
        Ok(match value {
            Value::Range(r) => Iter::Range {
                next: r.0,
                stop: r.1,
                step: r.2,
            },
            Value::Tuple(items) => Iter::Items { items, next: 0 },
            // A snapshot: another thread may change the list meanwhile.
            Value::List(items) => Iter::Items {
                items: lock_list(&items).clone().into(),
                next: 0,
            },
            Value::Str(s) => Iter::Items {
                items: s.chars().map(|c| Value::str(&c.to_string())).collect(),
                next: 0,
            },
            other => {
                return Err(type_error(format!(
                    "'{}' object is not iterable",
                    other.type_name()
                )));
            }
        })
    }
}

/// The error for `a` and `b` where numbers (or strings) were expected.
fn type_error(message: String) -> PyError {
    PyError::new("TypeError", message)
}

fn unbound(name: &str) -> PyError {
    PyError::new(
        "UnboundLocalError",
        format!("local variable '{name}' referenced before assignment"),
    )
}

fn overflow() -> PyError {
    PyError::new(
        "OverflowError",
        "integer overflow: integers are 64-bit in this interpreter",
    )
}

/// Seconds on a clock that runs the same for a process and its forked children.
fn perf_counter() -> f64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Turns an instruction's failure into an error that knows its line.
macro_rules! tri {
    ($code:expr, $pc:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(error) => return Err(locate(error, $code, $pc)),
        }
    };
}

fn locate(mut error: PyError, code: &Code, pc: usize) -> PyError {
    let line = code.lines.get(pc.wrapping_sub(1)).copied().unwrap_or(0);
    error.traceback.push((code.name.clone(), line));
    error
}

impl Vm {
    /// A VM for thread `me` of `rt`.
    pub fn new(rt: Arc<Runtime>, me: usize) -> Vm {
        Vm {
            rt,
            me,
            depth: 0,
            running_since: Cell::new(None),
        }
    }

    fn mark(&self, state: State) {
        if let Some(timeline) = &self.rt.timeline {
            timeline.set(self.me, state);
        }
    }

    /// This thread starts running bytecode: it notes the time itself. (The
    /// GIL's own record is kept under the GIL's mutex, so it could never show
    /// two holders at once; this one is taken by each thread on its own, so
    /// a GIL that let two threads run would show in it.)
    fn begin_running(&self) {
        if self.rt.timeline.is_some() {
            self.running_since.set(Some(self.rt.clock()));
        }
    }

    /// This thread stops running bytecode: it records the stretch.
    fn end_running(&self) {
        if let Some(since) = self.running_since.take() {
            self.rt.record_running(self.me, since, self.rt.clock());
        }
    }

    /// Starts running: takes the GIL, if there is one.
    fn enter(&self) {
        match &self.rt.gil {
            Some(gil) => gil.take(self.me),
            None => self.mark(State::Running),
        }
        self.begin_running();
    }

    /// Stops running: drops the GIL, if there is one.
    fn leave(&self) {
        self.end_running();
        match &self.rt.gil {
            Some(gil) => gil.release(self.me, State::Done),
            None => self.mark(State::Done),
        }
    }

    // ANCHOR: blocking
    /// Runs `work`, which blocks (sleeps, waits for a thread or a child),
    /// without the GIL, so that other threads can run meanwhile — as
    /// CPython's `Py_BEGIN_ALLOW_THREADS` / `Py_END_ALLOW_THREADS`.
    fn blocking<T>(&self, work: impl FnOnce() -> T) -> T {
        self.end_running();
        let result = match &self.rt.gil {
            Some(gil) => {
                gil.release(self.me, State::Blocked);
                let result = work();
                gil.take(self.me);
                result
            }
            None => {
                self.mark(State::Blocked);
                let result = work();
                self.mark(State::Running);
                result
            }
        };
        self.begin_running();
        result
    }
    // ANCHOR_END: blocking

    /// The eval breaker: drop the GIL if a waiting thread asked for it.
    #[inline(always)]
    fn check_eval_breaker(&self) {
        if let Some(gil) = &self.rt.gil
            && gil.drop_requested()
        {
            self.end_running();
            gil.yield_to_waiter(self.me);
            self.begin_running();
        }
    }

    /// Runs the module, then joins what it started, as Python does at exit.
    pub fn run_main(mut self) -> Result<(), PyError> {
        self.enter();
        let main = self.rt.program.main.clone();
        let result = self.run(&main, Vec::new());
        self.join_all();
        self.leave();
        result.map(|_| ())
    }

    /// The body of a `threading.Thread`: an error ends the thread, and is
    /// reported, but not the program.
    fn thread_body(mut self, name: &str, target: Value, args: Vec<Value>) {
        self.enter();
        if let Err(error) = self.call(target, args, None) {
            let text = format!(
                "Exception in thread {name}:\n{}",
                error.render(&self.rt.program.file)
            );
            self.rt.report_error(text);
        }
        self.leave();
    }

    /// The body of a forked `multiprocessing.Process`; returns its exit code.
    fn process_body(mut self, name: &str, target: Value, args: Vec<Value>) -> i32 {
        self.enter();
        let code = match self.call(target, args, None) {
            Ok(_) => 0,
            Err(error) => {
                let text = format!("Process {name}:\n{}", error.render(&self.rt.program.file));
                self.rt.report_error(text);
                1
            }
        };
        self.join_all();
        self.leave();
        code
    }

    fn join_all(&mut self) {
        while let Some(started) = self.rt.next_to_join() {
            let _ = match &started {
                Value::Thread(t) => self.join_thread(t),
                Value::Process(p) => self.join_process(p),
                Value::Executor(pool) => self.shutdown(pool),
                _ => Ok(Value::None),
            };
        }
    }

    /// Calls a function with a new frame.
    fn run(&mut self, code: &Arc<Code>, args: Vec<Value>) -> Result<Value, PyError> {
        if self.depth >= MAX_DEPTH {
            return Err(PyError::new(
                "RecursionError",
                "maximum recursion depth exceeded",
            ));
        }
        self.depth += 1;
        let result = self.execute(code, args);
        self.depth -= 1;
        result
    }

    /// Runs a frame; if it fails inside `with` blocks, their contexts are
    /// exited, innermost first, before the error goes on (a lock held by a
    /// failed thread would otherwise stay locked for every other thread).
    fn execute(&mut self, code: &Code, locals: Vec<Value>) -> Result<Value, PyError> {
        let mut contexts = Vec::new();
        let result = self.execute_frame(code, locals, &mut contexts);
        if result.is_err() {
            while let Some(context) = contexts.pop() {
                let _ = self.call_method(context, "__exit__", Vec::new(), None);
            }
        }
        result
    }

    // ANCHOR: loop_head
    /// The bytecode loop.
    fn execute_frame(
        &mut self,
        code: &Code,
        mut locals: Vec<Value>,
        contexts: &mut Vec<Value>,
    ) -> Result<Value, PyError> {
        locals.resize(code.locals.len(), Value::Unbound);
        let mut stack: Vec<Value> = Vec::with_capacity(16);
        let mut iters: Vec<Iter> = Vec::new();
        let mut pc = 0;
        macro_rules! pop {
            () => {
                stack.pop().expect("the compiler balances the stack")
            };
        }
        loop {
            let instr = code.instrs[pc];
            pc += 1;
            match instr {
                // … one arm per instruction …
                // ANCHOR_END: loop_head
                Instr::LoadLocal(i) => {
                    let value = &locals[i as usize];
                    if let Value::Unbound = value {
                        return Err(locate(unbound(&code.locals[i as usize]), code, pc));
                    }
                    stack.push(value.clone());
                }
                Instr::StoreLocal(i) => locals[i as usize] = pop!(),
                Instr::Const(i) => stack.push(code.consts[i as usize].clone()),
                Instr::Binary(op) => {
                    let b = pop!();
                    let a = pop!();
                    let result = match (op, &a, &b) {
                        (BinOp::Add, Value::Int(x), Value::Int(y)) => {
                            x.checked_add(*y).map(Value::Int).ok_or_else(overflow)
                        }
                        (BinOp::Sub, Value::Int(x), Value::Int(y)) => {
                            x.checked_sub(*y).map(Value::Int).ok_or_else(overflow)
                        }
                        _ => binary(op, &a, &b),
                    };
                    stack.push(tri!(code, pc, result));
                }
                Instr::Compare(op) => {
                    let b = pop!();
                    let a = pop!();
                    let result = match (&a, &b) {
                        (Value::Int(x), Value::Int(y)) => Ok(compare_ordered(op, x, y)),
                        _ => compare(op, &a, &b),
                    };
                    stack.push(Value::Bool(tri!(code, pc, result)));
                }
                Instr::ForIter(exit) => {
                    let iter = iters.last_mut().expect("GetIter came first");
                    match iter.next() {
                        Some(item) => stack.push(item),
                        None => {
                            iters.pop();
                            pc = exit as usize;
                        }
                    }
                }
                Instr::ForIterLocal(exit, slot) => {
                    let iter = iters.last_mut().expect("GetIter came first");
                    match iter.next() {
                        Some(item) => locals[slot as usize] = item,
                        None => {
                            iters.pop();
                            pc = exit as usize;
                        }
                    }
                }
                // ANCHOR: superinstruction
                Instr::AugLocal(op, target, source) => {
                    let result = match (op, &locals[target as usize], &locals[source as usize]) {
                        (BinOp::Add, Value::Int(x), Value::Int(y)) => {
                            x.checked_add(*y).map(Value::Int).ok_or_else(overflow)
                        }
                        (_, Value::Unbound, _) => Err(unbound(&code.locals[target as usize])),
                        (_, _, Value::Unbound) => Err(unbound(&code.locals[source as usize])),
                        (_, a, b) => binary(op, a, b),
                    };
                    locals[target as usize] = tri!(code, pc, result);
                }
                // ANCHOR_END: superinstruction
                Instr::AugLocalConst(op, target, constant) => {
                    let result = match (
                        op,
                        &locals[target as usize],
                        &code.consts[constant as usize],
                    ) {
                        (BinOp::Add, Value::Int(x), Value::Int(y)) => {
                            x.checked_add(*y).map(Value::Int).ok_or_else(overflow)
                        }
                        (_, Value::Unbound, _) => Err(unbound(&code.locals[target as usize])),
                        (_, a, b) => binary(op, a, b),
                    };
                    locals[target as usize] = tri!(code, pc, result);
                }
                // ANCHOR: eval_breaker_checks
                Instr::JumpBack(target) => {
                    pc = target as usize;
                    self.check_eval_breaker();
                }
                Instr::Call(argc) | Instr::CallKw(argc, _) => {
                    // CPython checks the eval breaker at calls, too.
                    self.check_eval_breaker();
                    let args = stack.split_off(stack.len() - argc as usize);
                    let callee = pop!();
                    let keywords = match instr {
                        Instr::CallKw(_, kw) => Some(&code.consts[kw as usize]),
                        _ => None,
                    };
                    stack.push(tri!(code, pc, self.call(callee, args, keywords)));
                }
                // ANCHOR_END: eval_breaker_checks
                Instr::Jump(target) => pc = target as usize,
                Instr::PopJumpIfFalse(target) => {
                    if !pop!().truthy() {
                        pc = target as usize;
                    }
                }
                Instr::PopJumpIfTrue(target) => {
                    if pop!().truthy() {
                        pc = target as usize;
                    }
                }
                Instr::JumpIfFalseOrPop(target) => {
                    if stack.last().is_some_and(|v| !v.truthy()) {
                        pc = target as usize;
                    } else {
                        stack.pop();
                    }
                }
                Instr::JumpIfTrueOrPop(target) => {
                    if stack.last().is_some_and(Value::truthy) {
                        pc = target as usize;
                    } else {
                        stack.pop();
                    }
                }
                Instr::LoadGlobal(i) => {
                    let value = self.rt.globals[i as usize]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    if let Value::Unbound = value {
                        let name = &self.rt.program.globals[i as usize];
                        return Err(locate(
                            PyError::new("NameError", format!("name '{name}' is not defined")),
                            code,
                            pc,
                        ));
                    }
                    stack.push(value);
                }
                Instr::StoreGlobal(i) => {
                    let value = pop!();
                    *self.rt.globals[i as usize]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = value;
                }
                Instr::LoadBuiltin(b) => stack.push(Value::Builtin(b)),
                Instr::LoadAttr(name) => {
                    let object = pop!();
                    stack.push(tri!(
                        code,
                        pc,
                        self.attribute(&object, &code.names[name as usize])
                    ));
                }
                Instr::Pop => {
                    pop!();
                }
                Instr::Dup => {
                    let top = stack
                        .last()
                        .expect("the compiler balances the stack")
                        .clone();
                    stack.push(top);
                }
                Instr::Dup2 => {
                    let n = stack.len();
                    stack.extend_from_within(n - 2..);
                }
                Instr::Rot3 => {
                    let top = pop!();
                    let n = stack.len();
                    stack.insert(n - 2, top);
                }
                Instr::Not => {
                    let value = pop!();
                    stack.push(Value::Bool(!value.truthy()));
                }
                Instr::Neg | Instr::Pos => {
                    let value = pop!();
                    stack.push(tri!(code, pc, unary(instr == Instr::Neg, value)));
                }
                Instr::GetIter => {
                    let iterable = pop!();
                    iters.push(tri!(code, pc, Iter::of(iterable)));
                }
                Instr::PopIter => {
                    iters.pop();
                }
                Instr::CallMethod(name, argc) | Instr::CallMethodKw(name, argc, _) => {
                    self.check_eval_breaker();
                    let args = stack.split_off(stack.len() - argc as usize);
                    let receiver = pop!();
                    let keywords = match instr {
                        Instr::CallMethodKw(_, _, kw) => Some(&code.consts[kw as usize]),
                        _ => None,
                    };
                    let name = &code.names[name as usize];
                    stack.push(tri!(
                        code,
                        pc,
                        self.call_method(receiver, name, args, keywords)
                    ));
                }
                Instr::Index => {
                    let index = pop!();
                    let container = pop!();
                    stack.push(tri!(code, pc, get_item(&container, &index)));
                }
                Instr::StoreIndex => {
                    let index = pop!();
                    let container = pop!();
                    let value = pop!();
                    tri!(code, pc, set_item(&container, &index, value));
                }
                Instr::BuildTuple(n) => {
                    let items = stack.split_off(stack.len() - n as usize);
                    stack.push(Value::Tuple(items.into()));
                }
                Instr::BuildList(n) => {
                    let items = stack.split_off(stack.len() - n as usize);
                    stack.push(Value::List(Arc::new(Mutex::new(items))));
                }
                Instr::Format(digits) => {
                    let value = pop!();
                    stack.push(tri!(code, pc, format_field(&value, digits)));
                }
                Instr::BuildString(n) => {
                    let parts = stack.split_off(stack.len() - n as usize);
                    let text: String = parts.iter().map(|p| p.to_string()).collect();
                    stack.push(Value::str(&text));
                }
                Instr::AssertFail(with_message) => {
                    let message = if with_message {
                        pop!().to_string()
                    } else {
                        String::new()
                    };
                    return Err(locate(PyError::new("AssertionError", message), code, pc));
                }
                Instr::WithEnter => {
                    let context = pop!();
                    let entered = self.call_method(context.clone(), "__enter__", Vec::new(), None);
                    // Remembered only once entered: a failed `__enter__` has
                    // nothing to exit.
                    stack.push(tri!(code, pc, entered));
                    contexts.push(context);
                }
                Instr::WithExit => {
                    let context = contexts
                        .pop()
                        .expect("the compiler pairs WithEnter and WithExit");
                    tri!(
                        code,
                        pc,
                        self.call_method(context, "__exit__", Vec::new(), None)
                    );
                }
                Instr::Return => return Ok(pop!()),
            }
        }
    }

    /// Calls `callee` with positional `args`; the last of them are named by
    /// the tuple `keywords`, if given.
    fn call(
        &mut self,
        callee: Value,
        args: Vec<Value>,
        keywords: Option<&Value>,
    ) -> Result<Value, PyError> {
        match callee {
            Value::Function(code) => {
                if keywords.is_some() {
                    return Err(type_error(format!(
                        "{}() takes positional arguments only in this interpreter",
                        code.name
                    )));
                }
                if args.len() != code.params {
                    return Err(type_error(format!(
                        "{}() takes {} positional arguments but {} were given",
                        code.name,
                        code.params,
                        args.len()
                    )));
                }
                self.run(&code, args)
            }
            Value::Builtin(builtin) => self.call_builtin(builtin, args, keywords),
            Value::ModuleFunction(module, name) => {
                let (args, named) = split_keywords(args, keywords);
                self.call_module(module, name, args, named)
            }
            other => Err(type_error(format!(
                "'{}' object is not callable",
                other.type_name()
            ))),
        }
    }

    fn call_builtin(
        &mut self,
        builtin: Builtin,
        args: Vec<Value>,
        keywords: Option<&Value>,
    ) -> Result<Value, PyError> {
        let (args, named) = split_keywords(args, keywords);
        if builtin == Builtin::Print {
            return self.print(&args, &named);
        }
        if let Some((name, _)) = named.first() {
            return Err(type_error(format!(
                "{}() got an unexpected keyword argument '{name}'",
                builtin.name()
            )));
        }
        builtin_function(builtin, &args)
    }

    fn print(&self, args: &[Value], named: &[(String, Value)]) -> Result<Value, PyError> {
        let mut sep = " ".to_string();
        let mut end = "\n".to_string();
        for (name, value) in named {
            match name.as_str() {
                "sep" => sep = value.to_string(),
                "end" => end = value.to_string(),
                "flush" => {}
                other => {
                    return Err(type_error(format!(
                        "print() got an unexpected keyword argument '{other}'"
                    )));
                }
            }
        }
        let words: Vec<String> = args.iter().map(Value::to_string).collect();
        let line = words.join(&sep) + &end;
        self.rt.output.write(line.as_bytes());
        Ok(Value::None)
    }

    fn attribute(&self, object: &Value, name: &str) -> Result<Value, PyError> {
        match (object, name) {
            (Value::Module(Module::Sys), "argv") => Ok(self.rt.argv.clone()),
            (Value::Thread(t), "name") => Ok(Value::str(&t.name)),
            (Value::Process(p), "name") => Ok(Value::str(&p.name)),
            (Value::Process(p), "exitcode") => Ok(p
                .exitcode
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .map_or(Value::None, Value::Int)),
            (Value::Module(Module::Concurrent), "futures") => Ok(Value::Module(Module::Futures)),
            (Value::Module(m), _) => match m.export(name) {
                Some(export) => Ok(Value::ModuleFunction(*m, export)),
                None => Err(PyError::new(
                    "AttributeError",
                    format!(
                        "module '{}' has no attribute '{name}' here (it has: {})",
                        m.name(),
                        m.exports().join(", ")
                    ),
                )),
            },
            _ => Err(PyError::new(
                "AttributeError",
                format!(
                    "'{}' object has no attribute '{name}' here",
                    object.type_name()
                ),
            )),
        }
    }

    fn call_method(
        &mut self,
        receiver: Value,
        name: &str,
        args: Vec<Value>,
        keywords: Option<&Value>,
    ) -> Result<Value, PyError> {
        let (args, named) = split_keywords(args, keywords);
        if let Value::Module(module) = receiver {
            return self.call_module(module, name, args, named);
        }
        if let Value::Executor(pool) = &receiver {
            return self.call_executor(pool, name, args, named);
        }
        if let Some((keyword, _)) = named.first() {
            return Err(type_error(format!(
                "{name}() got an unexpected keyword argument '{keyword}'"
            )));
        }
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(type_error(format!(
                    "{name}() takes {n} arguments ({} given)",
                    args.len()
                )))
            }
        };
        match (&receiver, name) {
            (Value::Thread(t), "start") => arity(0).and_then(|_| self.start_thread(t)),
            (Value::Thread(t), "join") => arity(0).and_then(|_| self.join_thread(t)),
            (Value::Thread(t), "is_alive") => {
                arity(0)?;
                let state = t.state.lock().unwrap_or_else(|p| p.into_inner());
                Ok(Value::Bool(
                    matches!(&*state, Started::Running(h) if !h.is_finished()),
                ))
            }
            (Value::Process(p), "start") => arity(0).and_then(|_| self.start_process(p)),
            (Value::Process(p), "join") => arity(0).and_then(|_| self.join_process(p)),
            (Value::Lock(lock), "acquire" | "__enter__") => arity(0).map(|_| self.acquire(lock)),
            (Value::Lock(lock), "__exit__") => {
                arity(0).and_then(|_| lock.release()).map(|_| Value::None)
            }
            (Value::Future(future), "result") => {
                arity(0)?;
                if future.owner != self.rt.pid && !future.is_done() {
                    return Err(PyError::new(
                        "RuntimeError",
                        "this future's task runs in the parent process: its result cannot come to a forked child",
                    ));
                }
                self.blocking(|| future.wait())
            }
            (Value::Future(future), "done") => arity(0).map(|_| Value::Bool(future.is_done())),
            (Value::Lock(lock), "release") => {
                arity(0).and_then(|_| lock.release()).map(|_| Value::None)
            }
            (Value::Lock(lock), "locked") => arity(0).map(|_| Value::Bool(lock.is_locked())),
            (Value::List(items), "append") => {
                arity(1)?;
                lock_list(items).push(args.into_iter().next().expect("one argument"));
                Ok(Value::None)
            }
            (Value::List(items), "pop") => {
                arity(0)?;
                lock_list(items)
                    .pop()
                    .ok_or_else(|| PyError::new("IndexError", "pop from empty list"))
            }
            _ => Err(PyError::new(
                "AttributeError",
                format!(
                    "'{}' object has no method '{name}' here (supported: Thread.start/join/is_alive, Process.start/join, Lock.acquire/release/locked, list.append/pop, executor.submit/map/shutdown, Future.result/done)",
                    receiver.type_name()
                ),
            )),
        }
    }

    fn call_module(
        &mut self,
        module: Module,
        name: &str,
        args: Vec<Value>,
        named: Vec<(String, Value)>,
    ) -> Result<Value, PyError> {
        let unexpected_keywords = || match named.first() {
            Some((k, _)) => Err(type_error(format!(
                "{}.{name}() got an unexpected keyword argument '{k}'",
                module.name()
            ))),
            None => Ok(()),
        };
        match (module, name) {
            (Module::Threading, "Thread") => {
                let (target, args) = target_and_args("Thread", &args, named)?;
                Ok(Value::Thread(Arc::new(ThreadObject {
                    name: self.rt.new_thread_name(),
                    target,
                    args,
                    state: Mutex::new(Started::New),
                    id: Default::default(),
                    owner: nix::unistd::getpid(),
                })))
            }
            (Module::Multiprocessing, "Process") => {
                let (target, args) = target_and_args("Process", &args, named)?;
                Ok(Value::Process(Arc::new(ProcessObject {
                    name: self.rt.new_process_name(),
                    target,
                    args,
                    state: Mutex::new(Started::New),
                    exitcode: Mutex::new(None),
                    owner: nix::unistd::getpid(),
                })))
            }
            (Module::Threading, "Lock") => {
                unexpected_keywords()?;
                Ok(Value::Lock(Arc::new(LockObject::default())))
            }
            (Module::Futures, "ThreadPoolExecutor" | "ProcessPoolExecutor") => {
                let kind = if name == "ThreadPoolExecutor" {
                    pools::Kind::Threads
                } else {
                    pools::Kind::Processes
                };
                let pool = Arc::new(Executor::new(kind, max_workers(kind, &args, named)?));
                self.rt.register(Value::Executor(pool.clone()));
                Ok(Value::Executor(pool))
            }
            (Module::Time, "sleep") => {
                unexpected_keywords()?;
                let seconds = one_number("time.sleep", &args)?;
                if seconds < 0.0 || seconds.is_nan() {
                    return Err(PyError::new(
                        "ValueError",
                        "sleep length must be non-negative",
                    ));
                }
                if seconds > MAX_SLEEP_S {
                    return Err(PyError::new("OverflowError", "sleep length is too large"));
                }
                self.blocking(|| sleep_for(seconds));
                Ok(Value::None)
            }
            (Module::Time, "perf_counter" | "monotonic") => Ok(Value::Float(perf_counter())),
            (Module::Time, "time") => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                Ok(Value::Float(now.as_secs_f64()))
            }
            (Module::Multiprocessing, "cpu_count") => {
                Ok(Value::Int(labkit::machine::logical_cores() as i64))
            }
            (Module::Sys, "setswitchinterval") => {
                let seconds = one_number("sys.setswitchinterval", &args)?;
                if seconds <= 0.0 || !seconds.is_finite() {
                    return Err(PyError::new(
                        "ValueError",
                        "switch interval must be strictly positive",
                    ));
                }
                if let Some(gil) = &self.rt.gil {
                    gil.set_interval(Duration::from_secs_f64(seconds));
                }
                Ok(Value::None)
            }
            (Module::Sys, "getswitchinterval") => {
                let interval = self
                    .rt
                    .gil
                    .as_ref()
                    .map_or(self.rt.options.switch_interval, |g| g.interval());
                Ok(Value::Float(interval.as_secs_f64()))
            }
            _ => Err(PyError::new(
                "AttributeError",
                format!(
                    "module '{}' has no function '{name}' here (supported: threading.Thread/Lock, multiprocessing.Process/cpu_count, time.sleep/perf_counter/monotonic/time, sys.argv/setswitchinterval/getswitchinterval, concurrent.futures.ThreadPoolExecutor/ProcessPoolExecutor)",
                    module.name()
                ),
            )),
        }
    }

    // ANCHOR: start_thread
    /// `Thread.start()`: a new OS thread with its own VM. Under the GIL it
    /// first waits to take the lock, like any other thread.
    fn start_thread(&mut self, thread: &Arc<ThreadObject>) -> Result<Value, PyError> {
        let mut state = thread.state.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*state, Started::New) || thread.owner != self.rt.pid {
            return Err(PyError::new(
                "RuntimeError",
                "threads can only be started once",
            ));
        }
        let id = self.rt.new_thread_id();
        thread.id.store(id, Ordering::Relaxed);
        let (rt, name, target, args) = (
            self.rt.clone(),
            thread.name.clone(),
            thread.target.clone(),
            thread.args.clone(),
        );
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .stack_size(THREAD_STACK)
            .spawn(move || Vm::new(rt, id).thread_body(&name, target, args))
            .map_err(|e| PyError::new("RuntimeError", format!("can't start new thread: {e}")))?;
        *state = Started::Running(handle);
        drop(state);
        self.rt.register(Value::Thread(thread.clone()));
        Ok(Value::None)
    }
    // ANCHOR_END: start_thread

    /// `Thread.join()`: waits without the GIL.
    fn join_thread(&mut self, thread: &Arc<ThreadObject>) -> Result<Value, PyError> {
        if thread.owner != self.rt.pid {
            return Err(PyError::new(
                "RuntimeError",
                "cannot join a thread started by another process",
            ));
        }
        if thread.id.load(Ordering::Relaxed) == self.me {
            return Err(PyError::new("RuntimeError", "cannot join current thread"));
        }
        let handle = {
            let mut state = thread.state.lock().unwrap_or_else(|p| p.into_inner());
            match std::mem::replace(&mut *state, Started::Joined) {
                Started::New => {
                    *state = Started::New;
                    return Err(PyError::new(
                        "RuntimeError",
                        "cannot join thread before it is started",
                    ));
                }
                Started::Running(handle) => Some(handle),
                Started::Joined => None,
            }
        };
        if let Some(handle) = handle {
            self.blocking(|| {
                let _ = handle.join();
            });
        }
        Ok(Value::None)
    }

    // ANCHOR: start_process
    /// `Process.start()`: forks. The child gets a copy of the globals and a
    /// fresh interpreter with its own GIL, runs the target, joins what it
    /// started, and exits; the parent carries on.
    fn start_process(&mut self, process: &Arc<ProcessObject>) -> Result<Value, PyError> {
        let mut state = process.state.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*state, Started::New) || process.owner != self.rt.pid {
            return Err(PyError::new(
                "RuntimeError",
                "a process can only be started once",
            ));
        }
        let globals = self.rt.snapshot_globals();
        // No other thread may fork while our pipe is open, or its child
        // would inherit the pipe's write end and our reader never see EOF.
        let _forking = self.rt.fork_lock();
        let (reader, writer) = self.output_pipe()?;
        let reader_fd = reader.as_ref().map(|r| r.as_raw_fd());
        // Without capture, the child writes where this interpreter writes
        // (stdout, or the pipe to its own parent when it is itself a child).
        let inherited = self.rt.output.clone();
        let mut options = self.rt.options.clone();
        options.timeline = false;
        let (program, name) = (self.rt.program.clone(), process.name.clone());
        let (target, args) = (process.target.clone(), process.args.clone());
        let child = fork_child(move || {
            if let Some(fd) = reader_fd {
                let _ = nix::unistd::close(fd);
            }
            let output = match writer {
                Some(w) => Output::Fd(w.into_raw_fd()),
                None => inherited,
            };
            let rt = Arc::new(Runtime::new(program, options, output, Some(globals)));
            Vm::new(rt, 1).process_body(&name, target, args)
        })
        .map_err(|e| PyError::new("OSError", format!("{e:#}")))?;
        *state = Started::Running(RunningChild {
            child,
            output: reader,
        });
        drop(state);
        self.rt.register(Value::Process(process.clone()));
        Ok(Value::None)
    }
    // ANCHOR_END: start_process

    /// When output is captured, a pipe for a child's output: the parent's
    /// reading end and the child's writing end.
    fn output_pipe(&self) -> Result<(Option<OwnedFd>, Option<OwnedFd>), PyError> {
        match self.rt.output {
            Output::Capture(_) => {
                let (r, w) = nix::unistd::pipe()
                    .map_err(|e| PyError::new("OSError", format!("pipe: {e}")))?;
                Ok((Some(r), Some(w)))
            }
            Output::Fd(_) => Ok((None, None)),
        }
    }

    /// `Process.join()`: collects the child's output, then reaps it, all
    /// without the GIL.
    fn join_process(&mut self, process: &Arc<ProcessObject>) -> Result<Value, PyError> {
        if process.owner != self.rt.pid {
            return Err(PyError::new(
                "RuntimeError",
                "can only join a child process",
            ));
        }
        let running = {
            let mut state = process.state.lock().unwrap_or_else(|p| p.into_inner());
            match std::mem::replace(&mut *state, Started::Joined) {
                Started::New => {
                    *state = Started::New;
                    return Err(PyError::new(
                        "RuntimeError",
                        "can only join a started process",
                    ));
                }
                Started::Running(running) => running,
                Started::Joined => return Ok(Value::None),
            }
        };
        let output = self.rt.output.clone();
        let status = self.blocking(move || {
            if let Some(reader) = running.output {
                let mut bytes = Vec::new();
                let _ = std::fs::File::from(reader).read_to_end(&mut bytes);
                output.write(&bytes);
            }
            running.child.wait()
        });
        let code = match status {
            Ok(WaitStatus::Exited(_, code)) => code as i64,
            Ok(WaitStatus::Signaled(_, signal, _)) => -(signal as i64),
            Ok(_) => -1,
            Err(e) => return Err(PyError::new("OSError", format!("{e:#}"))),
        };
        *process.exitcode.lock().unwrap_or_else(|p| p.into_inner()) = Some(code);
        Ok(Value::None)
    }

    /// `Lock.acquire()`: takes a free lock at once; otherwise waits without the GIL.
    fn acquire(&self, lock: &LockObject) -> Value {
        if !lock.try_acquire() {
            self.blocking(|| lock.acquire_blocking());
        }
        Value::Bool(true)
    }
}

impl Vm {
    /// The methods of a `ThreadPoolExecutor` or `ProcessPoolExecutor`.
    fn call_executor(
        &mut self,
        pool: &Arc<Executor>,
        name: &str,
        args: Vec<Value>,
        named: Vec<(String, Value)>,
    ) -> Result<Value, PyError> {
        if pool.owner != self.rt.pid {
            return Err(PyError::new(
                "RuntimeError",
                "a pool can only be used by the process that made it",
            ));
        }
        match (name, args.as_slice()) {
            ("submit", [function, rest @ ..]) if named.is_empty() => {
                let future = self.submit(pool, function.clone(), rest.to_vec())?;
                Ok(Value::Future(future))
            }
            ("map", [function, iterable]) if named.is_empty() => {
                let futures = items_of(iterable.clone())?
                    .into_iter()
                    .map(|item| self.submit(pool, function.clone(), vec![item]))
                    .collect::<Result<Vec<_>, _>>()?;
                // Results in the order of the inputs, each waited for
                // without the GIL, so that the workers can run.
                let results = self.blocking(|| {
                    futures
                        .iter()
                        .map(|f| f.wait())
                        .collect::<Result<Vec<_>, _>>()
                })?;
                Ok(Value::List(Arc::new(Mutex::new(results))))
            }
            ("shutdown", _) => {
                if wants_wait(&args, &named)? {
                    self.shutdown(pool)
                } else {
                    pool.close();
                    Ok(Value::None)
                }
            }
            ("__enter__", []) => Ok(Value::Executor(pool.clone())),
            ("__exit__", []) => self.shutdown(pool),
            _ => Err(type_error(format!(
                "{}.{name}() was called wrongly here (supported: submit(f, *args), map(f, iterable), shutdown(wait=True), with … as)",
                pool.type_name()
            ))),
        }
    }

    /// Queues one call of `function(*args)` and starts a worker if none is
    /// free and the pool may have another.
    fn submit(
        &mut self,
        pool: &Arc<Executor>,
        function: Value,
        args: Vec<Value>,
    ) -> Result<Arc<FutureObject>, PyError> {
        let work = match pool.kind {
            pools::Kind::Threads => Work::Call(function, args),
            pools::Kind::Processes => {
                // As CPython pickles it: the function by name, the arguments by value.
                let mut bytes = Vec::new();
                pickle::encode(&function, &mut bytes)?;
                pickle::encode(&Value::Tuple(args.into()), &mut bytes)?;
                Work::Bytes(bytes)
            }
        };
        let (future, start_one) = pool.submit(work)?;
        if start_one {
            match pool.kind {
                pools::Kind::Threads => self.start_pool_thread(pool)?,
                pools::Kind::Processes => self.start_pool_process(pool)?,
            }
        }
        Ok(future)
    }

    /// `shutdown(wait=True)`: no new work; wait for the queued work, the
    /// workers, and (for processes) reap them.
    fn shutdown(&mut self, pool: &Arc<Executor>) -> Result<Value, PyError> {
        if pool.owner != self.rt.pid {
            return Ok(Value::None); // a forked child's copy: not its to end
        }
        let me = std::thread::current().id();
        let own_worker = pool
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|t| t.thread().id() == me);
        if own_worker {
            return Err(PyError::new(
                "RuntimeError",
                "cannot join current thread: a pool's task cannot wait for its own pool to shut down",
            ));
        }
        pool.close();
        // One shutdown at a time: a second caller waits until the first has
        // joined every worker, so that neither returns while tasks still run.
        self.blocking(|| {
            let _joining = pool.joining.lock().unwrap_or_else(|p| p.into_inner());
            let threads =
                std::mem::take(&mut *pool.threads.lock().unwrap_or_else(|p| p.into_inner()));
            let children =
                std::mem::take(&mut *pool.children.lock().unwrap_or_else(|p| p.into_inner()));
            for thread in threads {
                let _ = thread.join();
            }
            for child in children {
                let _ = child.wait();
            }
        });
        Ok(Value::None)
    }

    /// A thread pool's worker: an interpreter thread that takes the GIL for
    /// each task it runs, and waits for the next one without it.
    fn start_pool_thread(&mut self, pool: &Arc<Executor>) -> Result<(), PyError> {
        let id = self.rt.new_thread_id();
        let (rt, work) = (self.rt.clone(), pool.clone());
        let handle = std::thread::Builder::new()
            .name(format!("ThreadPoolExecutor-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || Vm::new(rt, id).pool_thread(&work))
            .map_err(|e| PyError::new("RuntimeError", format!("can't start new thread: {e}")))?;
        pool.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
        Ok(())
    }

    // ANCHOR: pool_thread
    /// The loop of a thread pool's worker: it waits for a task without the
    /// GIL, takes the GIL to run it, lets go, and hands over the outcome.
    fn pool_thread(mut self, pool: &Executor) {
        while let Some(task) = pool.next_task() {
            let Work::Call(function, args) = task.work else {
                unreachable!("a thread pool queues calls")
            };
            self.enter();
            let outcome = self.call(function, args, None);
            self.leave();
            task.future.set(outcome);
        }
    }
    // ANCHOR_END: pool_thread

    /// A process pool's worker: a forked child with its own interpreter,
    /// which runs the tasks it reads from a pipe and writes back their
    /// outcomes; in this process, a thread feeds it from the pool's queue.
    fn start_pool_process(&mut self, pool: &Arc<Executor>) -> Result<(), PyError> {
        let os_error = |e: nix::errno::Errno| PyError::new("OSError", format!("pipe: {e}"));
        // As in start_process: no other fork while these pipes are open here.
        let forking = self.rt.fork_lock();
        let (task_read, task_write) = nix::unistd::pipe().map_err(os_error)?;
        let (result_read, result_write) = nix::unistd::pipe().map_err(os_error)?;
        let parents_ends = [task_write.as_raw_fd(), result_read.as_raw_fd()];
        let globals = self.rt.snapshot_globals();
        // With captured output, a worker keeps what it prints and sends it
        // back with each outcome; otherwise it writes where we write.
        let captured = matches!(self.rt.output, Output::Capture(_));
        let inherited = self.rt.output.clone();
        let mut options = self.rt.options.clone();
        options.timeline = false;
        let program = self.rt.program.clone();
        let child = fork_child(move || {
            for fd in parents_ends {
                let _ = nix::unistd::close(fd);
            }
            let output = if captured {
                Output::Capture(Arc::default())
            } else {
                inherited
            };
            let rt = Arc::new(Runtime::new(program, options, output, Some(globals)));
            Vm::new(rt, 1).pool_process(File::from(task_read), File::from(result_write))
        })
        .map_err(|e| PyError::new("OSError", format!("{e:#}")))?;
        drop(forking);
        let pid = child.pid();
        pool.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(child);
        let (work, output) = (pool.clone(), self.rt.output.clone());
        let feeder = std::thread::Builder::new()
            .name(format!("ProcessPoolExecutor-feeder-{pid}"))
            .spawn(move || {
                feed_worker(
                    &work,
                    File::from(task_write),
                    File::from(result_read),
                    pid,
                    &output,
                )
            })
            .map_err(|e| PyError::new("RuntimeError", format!("can't start new thread: {e}")))?;
        pool.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(feeder);
        Ok(())
    }

    /// The loop of a process pool's worker process; returns its exit code.
    fn pool_process(mut self, mut tasks: File, mut results: File) -> i32 {
        self.enter();
        while let Ok(Some(frame)) = self.blocking(|| read_frame(&mut tasks)) {
            let outcome = self.run_task(&frame);
            let printed = match &self.rt.output {
                Output::Capture(buffer) => {
                    std::mem::take(&mut *buffer.lock().unwrap_or_else(|p| p.into_inner()))
                }
                Output::Fd(_) => Vec::new(),
            };
            let reply = [
                (printed.len() as u64).to_le_bytes().to_vec(),
                printed,
                pickle::encode_outcome(&outcome),
            ]
            .concat();
            if self.blocking(|| write_frame(&mut results, &reply)).is_err() {
                break;
            }
        }
        self.join_all();
        self.leave();
        0
    }

    /// Runs one task a worker process read: the function, found by name in
    /// this copy of the module as CPython's unpickling does, on its arguments.
    fn run_task(&mut self, frame: &[u8]) -> Result<Value, PyError> {
        let mut bytes = frame;
        let function = pickle::decode(&mut bytes, &|name| self.module_function(name))?;
        let args = match pickle::decode(&mut bytes, &|name| self.module_function(name))? {
            Value::Tuple(args) => args.to_vec(),
            other => vec![other],
        };
        self.call(function, args, None)
    }

    /// The module-level function called `name`.
    fn module_function(&self, name: &str) -> Result<Value, PyError> {
        let slot = self.rt.program.globals.iter().position(|g| g == name);
        let value = slot.map(|i| {
            self.rt.globals[i]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        });
        match value {
            Some(function @ Value::Function(_)) => Ok(function),
            _ => Err(PyError::new(
                "AttributeError",
                format!("Can't get attribute '{name}' on <module '__main__'>"),
            )),
        }
    }
}

/// Feeds one worker process from the pool's queue: sends each task, waits
/// for its outcome, hands it to the task's future; at the end, tells the
/// worker to stop. A worker that dies breaks the pool, as in CPython.
fn feed_worker(
    pool: &Executor,
    mut to_worker: File,
    mut from_worker: File,
    pid: nix::unistd::Pid,
    output: &Output,
) {
    while let Some(task) = pool.next_task() {
        let Work::Bytes(bytes) = task.work else {
            unreachable!("a process pool queues bytes")
        };
        let reply =
            write_frame(&mut to_worker, &bytes).and_then(|_| read_reply(&mut from_worker, pid));
        match reply {
            Ok(reply) => {
                let (printed, outcome) = split_reply(&reply);
                output.write(printed);
                task.future.set(pickle::decode_outcome(outcome));
            }
            Err(_) => {
                let broken = PyError::new(
                    "BrokenProcessPool",
                    "A process in the process pool was terminated abruptly while the future was running or pending.",
                );
                task.future.set(Err(broken.clone()));
                pool.break_with(broken);
                return;
            }
        }
    }
    let _ = write_frame(&mut to_worker, &[]); // an empty frame: stop
}

/// A reply's printed output and the outcome's bytes.
fn split_reply(reply: &[u8]) -> (&[u8], &[u8]) {
    let len = reply
        .get(..8)
        .map_or(0, |b| {
            u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize
        })
        .min(reply.len().saturating_sub(8));
    (&reply[8..8 + len], &reply[8 + len..])
}

/// Writes one frame: its length, then its bytes. An empty frame means "stop".
fn write_frame(to: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    to.write_all(&(bytes.len() as u64).to_le_bytes())?;
    to.write_all(bytes)
}

/// Reads one frame; `None` for the empty "stop" frame or end of file.
fn read_frame(from: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 8];
    if from.read_exact(&mut len).is_err() {
        return Ok(None);
    }
    let len = u64::from_le_bytes(len) as usize;
    if len == 0 {
        return Ok(None);
    }
    let mut bytes = vec![0u8; len];
    from.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

/// Reads a worker's reply, giving up if the worker process has ended: a
/// copy of the pipe's write end may live on in another forked child, so
/// end-of-file alone cannot be trusted to come.
fn read_reply(from: &mut File, pid: nix::unistd::Pid) -> std::io::Result<Vec<u8>> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let worker = labkit::child::Child::watch(pid);
    loop {
        let mut fds = [PollFd::new(from.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0);
        if ready > 0 {
            return match read_frame(from)? {
                Some(reply) => Ok(reply),
                None => Err(std::io::Error::other("the worker stopped")),
            };
        }
        if worker.has_ended() {
            return Err(std::io::Error::other("the worker process ended"));
        }
    }
}

/// The most items `list()` or a pool's `map` will make at once.
const MAX_ITEMS: i64 = 100_000_000;

/// The items of a range, tuple, list or string, as `for` would see them.
fn items_of(iterable: Value) -> Result<Vec<Value>, PyError> {
    if let Value::Range(r) = &iterable
        && range_len(r.0, r.1, r.2) > MAX_ITEMS
    {
        return Err(PyError::new(
            "MemoryError",
            format!("more than {MAX_ITEMS} items: too many for this interpreter"),
        ));
    }
    let mut iter = Iter::of(iterable)?;
    Ok(std::iter::from_fn(|| iter.next()).collect())
}

/// `shutdown(wait=…)`'s argument (positional or named; `True` by default).
fn wants_wait(args: &[Value], named: &[(String, Value)]) -> Result<bool, PyError> {
    match (args, named) {
        ([], []) => Ok(true),
        ([wait], []) => Ok(wait.truthy()),
        ([], [(name, wait)]) if name == "wait" => Ok(wait.truthy()),
        _ => Err(type_error(
            "shutdown() takes wait=True or wait=False".to_string(),
        )),
    }
}

/// A pool's size: `max_workers` (positional or named), or CPython's default.
fn max_workers(
    kind: pools::Kind,
    args: &[Value],
    named: Vec<(String, Value)>,
) -> Result<usize, PyError> {
    let given = match (args, named.as_slice()) {
        ([], []) => None,
        ([n], []) => Some(n.clone()),
        ([], [(name, n)]) if name == "max_workers" => Some(n.clone()),
        _ => return Err(type_error("an executor takes max_workers only".to_string())),
    };
    let cores = labkit::machine::logical_cores();
    match given {
        None | Some(Value::None) => Ok(match kind {
            pools::Kind::Threads => pools::default_thread_workers(cores),
            pools::Kind::Processes => cores,
        }),
        Some(Value::Int(n)) if n > 0 => Ok(n as usize),
        Some(Value::Int(_)) => Err(PyError::new(
            "ValueError",
            "max_workers must be greater than 0",
        )),
        Some(other) => Err(type_error(format!(
            "max_workers must be an int, not {}",
            other.type_name()
        ))),
    }
}

/// The longest sleep: a deadline that still fits the kernel's clock (a
/// century, far below where the seconds would overflow).
const MAX_SLEEP_S: f64 = 100.0 * 365.25 * 24.0 * 3600.0;

/// Sleeps until `seconds` from now, in the kernel even when that is now:
/// CPython's `time.sleep` calls `clock_nanosleep` with an absolute deadline
/// for any length, zero included, so a `sleep(0)` is a real blocking call
/// (around which the GIL is dropped) and not a no-op.
fn sleep_for(seconds: f64) {
    use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};
    let clock = ClockId::CLOCK_MONOTONIC;
    let Ok(now) = clock_gettime(clock) else {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        return;
    };
    let deadline = now + nix::sys::time::TimeSpec::from_duration(Duration::from_secs_f64(seconds));
    while let Err(nix::errno::Errno::EINTR) =
        clock_nanosleep(clock, ClockNanosleepFlags::TIMER_ABSTIME, &deadline)
    {}
}

/// Separates keyword arguments (named by the tuple `keywords`) from positional ones.
fn split_keywords(
    mut args: Vec<Value>,
    keywords: Option<&Value>,
) -> (Vec<Value>, Vec<(String, Value)>) {
    let Some(Value::Tuple(names)) = keywords else {
        return (args, Vec::new());
    };
    let values = args.split_off(args.len() - names.len());
    let named = names.iter().map(|n| n.to_string()).zip(values).collect();
    (args, named)
}

/// `target=` and `args=` of `Thread(…)` and `Process(…)`.
fn target_and_args(
    what: &str,
    positional: &[Value],
    named: Vec<(String, Value)>,
) -> Result<(Value, Vec<Value>), PyError> {
    if !positional.is_empty() {
        return Err(type_error(format!(
            "{what}() takes keyword arguments here: {what}(target=f, args=(…)) "
        )));
    }
    let mut target = None;
    let mut args = Vec::new();
    for (name, value) in named {
        match (name.as_str(), value) {
            ("target", value) => target = Some(value),
            ("args", Value::Tuple(items)) => args = items.to_vec(),
            ("args", Value::List(items)) => args = lock_list(&items).clone(),
            ("args", other) => {
                return Err(type_error(format!(
                    "args must be a tuple, not {}",
                    other.type_name()
                )));
            }
            ("name" | "daemon", _) => {}
            (other, _) => {
                return Err(type_error(format!(
                    "{what}() got an unexpected keyword argument '{other}' (supported: target, args)"
                )));
            }
        }
    }
    match target {
        Some(target @ (Value::Function(_) | Value::Builtin(_))) => Ok((target, args)),
        Some(other) => Err(type_error(format!(
            "{what} target must be a function, not {}",
            other.type_name()
        ))),
        None => Err(type_error(format!("{what}() needs target=a function"))),
    }
}

fn one_number(what: &str, args: &[Value]) -> Result<f64, PyError> {
    match args {
        [Value::Int(n)] => Ok(*n as f64),
        [Value::Float(x)] => Ok(*x),
        [other] => Err(type_error(format!(
            "{what}() needs a number, not {}",
            other.type_name()
        ))),
        _ => Err(type_error(format!(
            "{what}() takes exactly one argument ({} given)",
            args.len()
        ))),
    }
}

fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Mod => "%",
        BinOp::Pow => "**",
    }
}

/// Any binary operation, with Python's semantics.
pub fn binary(op: BinOp, a: &Value, b: &Value) -> Result<Value, PyError> {
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return int_binary(op, x, y);
    }
    if let (Some(x), Some(y)) = (as_float(a), as_float(b)) {
        return float_binary(op, x, y);
    }
    match (op, a, b) {
        (BinOp::Add, Value::Str(x), Value::Str(y)) => Ok(Value::str(&format!("{x}{y}"))),
        (BinOp::Mul, Value::Str(s), Value::Int(n)) | (BinOp::Mul, Value::Int(n), Value::Str(s)) => {
            Ok(Value::str(&s.repeat((*n).max(0) as usize)))
        }
        (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => {
            Ok(Value::Tuple(x.iter().chain(y.iter()).cloned().collect()))
        }
        (BinOp::Add, Value::List(x), Value::List(y)) => {
            let mut items = lock_list(x).clone();
            items.extend(lock_list(y).iter().cloned());
            Ok(Value::List(Arc::new(Mutex::new(items))))
        }
        (BinOp::Mod, Value::Str(_), _) => Err(type_error(
            "%-formatting is not supported here: use an f-string".into(),
        )),
        _ => Err(type_error(format!(
            "unsupported operand type(s) for {}: '{}' and '{}'",
            op_symbol(op),
            a.type_name(),
            b.type_name()
        ))),
    }
}

fn int_binary(op: BinOp, x: i64, y: i64) -> Result<Value, PyError> {
    let zero = |what: &str| Err(PyError::new("ZeroDivisionError", what.to_string()));
    let n = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div => {
            return if y == 0 {
                zero("division by zero")
            } else {
                Ok(Value::Float(x as f64 / y as f64))
            };
        }
        BinOp::FloorDiv => {
            if y == 0 {
                return zero("integer division or modulo by zero");
            }
            x.checked_div(y).map(|q| {
                if (x % y != 0) && ((x < 0) != (y < 0)) {
                    q - 1
                } else {
                    q
                }
            })
        }
        BinOp::Mod => {
            if y == 0 {
                return zero("integer modulo by zero");
            }
            x.checked_rem(y).map(|r| {
                if r != 0 && ((r < 0) != (y < 0)) {
                    r + y
                } else {
                    r
                }
            })
        }
        BinOp::Pow => {
            if y < 0 {
                return float_binary(op, x as f64, y as f64);
            }
            u32::try_from(y).ok().and_then(|e| x.checked_pow(e))
        }
    };
    n.map(Value::Int).ok_or_else(overflow)
}

fn float_binary(op: BinOp, x: f64, y: f64) -> Result<Value, PyError> {
    let zero = || Err(PyError::new("ZeroDivisionError", "float division by zero"));
    Ok(Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => return zero(),
        BinOp::Div => x / y,
        BinOp::FloorDiv if y == 0.0 => return zero(),
        BinOp::FloorDiv => (x / y).floor(),
        BinOp::Mod if y == 0.0 => return Err(PyError::new("ZeroDivisionError", "float modulo")),
        BinOp::Mod => {
            let r = x % y;
            if r != 0.0 && ((r < 0.0) != (y < 0.0)) {
                r + y
            } else {
                r
            }
        }
        BinOp::Pow => {
            if x < 0.0 && y.fract() != 0.0 {
                return Err(PyError::new(
                    "ValueError",
                    "a negative number to a fractional power is complex: not supported",
                ));
            }
            if x == 0.0 && y < 0.0 {
                return Err(PyError::new(
                    "ZeroDivisionError",
                    "0.0 cannot be raised to a negative power",
                ));
            }
            x.powf(y)
        }
    }))
}

fn compare_ordered<T: PartialOrd>(op: CmpOp, x: &T, y: &T) -> bool {
    match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        CmpOp::Ge => x >= y,
    }
}

/// Python equality.
fn equal(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (as_float(a), as_float(b)) {
        if let (Some(i), Some(j)) = (as_int(a), as_int(b)) {
            return i == j;
        }
        return x == y;
    }
    match (a, b) {
        (Value::None, Value::None) => true,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q))
        }
        (Value::List(x), Value::List(y)) => {
            if Arc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (lock_list(x).clone(), lock_list(y).clone());
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q))
        }
        (Value::Function(x), Value::Function(y)) => Arc::ptr_eq(x, y),
        (Value::Thread(x), Value::Thread(y)) => Arc::ptr_eq(x, y),
        (Value::Process(x), Value::Process(y)) => Arc::ptr_eq(x, y),
        (Value::Lock(x), Value::Lock(y)) => Arc::ptr_eq(x, y),
        (Value::Module(x), Value::Module(y)) => x == y,
        (Value::Builtin(x), Value::Builtin(y)) => x == y,
        _ => false,
    }
}

/// Any comparison, with Python's semantics.
pub fn compare(op: CmpOp, a: &Value, b: &Value) -> Result<bool, PyError> {
    match op {
        CmpOp::Eq => return Ok(equal(a, b)),
        CmpOp::Ne => return Ok(!equal(a, b)),
        _ => {}
    }
    if let (Some(x), Some(y)) = (as_int(a), as_int(b)) {
        return Ok(compare_ordered(op, &x, &y));
    }
    if let (Some(x), Some(y)) = (as_float(a), as_float(b)) {
        return Ok(compare_ordered(op, &x, &y));
    }
    if let (Value::Str(x), Value::Str(y)) = (a, b) {
        return Ok(compare_ordered(op, x, y));
    }
    let symbol = match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        _ => ">=",
    };
    Err(type_error(format!(
        "'{symbol}' not supported between instances of '{}' and '{}'",
        a.type_name(),
        b.type_name()
    )))
}

fn unary(negate: bool, value: Value) -> Result<Value, PyError> {
    match (negate, &value) {
        (true, Value::Int(n)) => n.checked_neg().map(Value::Int).ok_or_else(overflow),
        (true, Value::Bool(b)) => Ok(Value::Int(-i64::from(*b))),
        (true, Value::Float(x)) => Ok(Value::Float(-x)),
        (false, Value::Int(_) | Value::Float(_)) => Ok(value),
        (false, Value::Bool(b)) => Ok(Value::Int(i64::from(*b))),
        _ => Err(type_error(format!(
            "bad operand type for unary {}: '{}'",
            if negate { "-" } else { "+" },
            value.type_name()
        ))),
    }
}

fn index_in(len: usize, index: &Value, what: &str) -> Result<usize, PyError> {
    let Some(i) = as_int(index) else {
        return Err(type_error(format!(
            "{what} indices must be integers, not {}",
            index.type_name()
        )));
    };
    let position = if i < 0 { i + len as i64 } else { i };
    if position < 0 || position >= len as i64 {
        return Err(PyError::new(
            "IndexError",
            format!("{what} index out of range"),
        ));
    }
    Ok(position as usize)
}

fn get_item(container: &Value, index: &Value) -> Result<Value, PyError> {
    match container {
        Value::Tuple(items) => Ok(items[index_in(items.len(), index, "tuple")?].clone()),
        Value::List(items) => {
            let items = lock_list(items);
            Ok(items[index_in(items.len(), index, "list")?].clone())
        }
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            Ok(Value::str(
                &chars[index_in(chars.len(), index, "string")?].to_string(),
            ))
        }
        other => Err(type_error(format!(
            "'{}' object is not subscriptable",
            other.type_name()
        ))),
    }
}

fn set_item(container: &Value, index: &Value, value: Value) -> Result<(), PyError> {
    match container {
        Value::List(items) => {
            let mut items = lock_list(items);
            let i = index_in(items.len(), index, "list")?;
            items[i] = value;
            Ok(())
        }
        other => Err(type_error(format!(
            "'{}' object does not support item assignment",
            other.type_name()
        ))),
    }
}

fn format_field(value: &Value, digits: Option<u8>) -> Result<Value, PyError> {
    match digits {
        None => Ok(Value::str(&value.to_string())),
        Some(d) => match as_float(value) {
            Some(x) => Ok(Value::str(&format!("{x:.prec$}", prec = d as usize))),
            None => Err(PyError::new(
                "ValueError",
                format!(
                    "unknown format code 'f' for object of type '{}'",
                    value.type_name()
                ),
            )),
        },
    }
}

fn builtin_function(builtin: Builtin, args: &[Value]) -> Result<Value, PyError> {
    let name = builtin.name();
    match (builtin, args) {
        (Builtin::Range, [_] | [_, _] | [_, _, _]) => {
            let mut numbers = Vec::new();
            for a in args {
                numbers.push(as_int(a).ok_or_else(|| {
                    type_error(format!(
                        "'{}' object cannot be interpreted as an integer",
                        a.type_name()
                    ))
                })?);
            }
            let (start, stop, step) = match numbers[..] {
                [stop] => (0, stop, 1),
                [start, stop] => (start, stop, 1),
                [start, stop, step] => (start, stop, step),
                _ => unreachable!("matched 1 to 3 arguments"),
            };
            if step == 0 {
                return Err(PyError::new("ValueError", "range() arg 3 must not be zero"));
            }
            Ok(Value::Range(Arc::new((start, stop, step))))
        }
        (Builtin::List, []) => Ok(Value::List(Arc::new(Mutex::new(Vec::new())))),
        (Builtin::List, [iterable]) => {
            let items = items_of(iterable.clone())?;
            Ok(Value::List(Arc::new(Mutex::new(items))))
        }
        (Builtin::Len, [value]) => match value {
            Value::Str(s) => Ok(Value::Int(s.chars().count() as i64)),
            Value::Tuple(items) => Ok(Value::Int(items.len() as i64)),
            Value::List(items) => Ok(Value::Int(lock_list(items).len() as i64)),
            Value::Range(r) => Ok(Value::Int(range_len(r.0, r.1, r.2))),
            other => Err(type_error(format!(
                "object of type '{}' has no len()",
                other.type_name()
            ))),
        },
        (Builtin::Int, [value]) => match value {
            Value::Int(_) => Ok(value.clone()),
            Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Value::Float(x) if x.is_finite() && x.abs() < 9.2e18 => {
                Ok(Value::Int(x.trunc() as i64))
            }
            Value::Float(_) => Err(overflow()),
            Value::Str(s) => s
                .trim()
                .replace('_', "")
                .parse()
                .map(Value::Int)
                .map_err(|_| {
                    PyError::new(
                        "ValueError",
                        format!("invalid literal for int() with base 10: '{s}'"),
                    )
                }),
            other => Err(type_error(format!(
                "int() argument must be a string or a number, not '{}'",
                other.type_name()
            ))),
        },
        (Builtin::Float, [value]) => match (as_float(value), value) {
            (Some(x), _) => Ok(Value::Float(x)),
            (None, Value::Str(s)) => s.trim().parse().map(Value::Float).map_err(|_| {
                PyError::new(
                    "ValueError",
                    format!("could not convert string to float: '{s}'"),
                )
            }),
            _ => Err(type_error(format!(
                "float() argument must be a string or a number, not '{}'",
                value.type_name()
            ))),
        },
        (Builtin::Str, [value]) => Ok(Value::str(&value.to_string())),
        (Builtin::Abs, [value]) => match value {
            Value::Int(n) => n.checked_abs().map(Value::Int).ok_or_else(overflow),
            Value::Float(x) => Ok(Value::Float(x.abs())),
            other => Err(type_error(format!(
                "bad operand type for abs(): '{}'",
                other.type_name()
            ))),
        },
        (Builtin::Min | Builtin::Max, [_, ..]) => {
            let items: Vec<Value> = match args {
                [Value::Tuple(items)] => items.to_vec(),
                [Value::List(items)] => lock_list(items).clone(),
                _ => args.to_vec(),
            };
            let mut best = items.first().cloned().ok_or_else(|| {
                PyError::new("ValueError", format!("{name}() arg is an empty sequence"))
            })?;
            let better = if builtin == Builtin::Min {
                CmpOp::Lt
            } else {
                CmpOp::Gt
            };
            for item in &items[1..] {
                if compare(better, item, &best)? {
                    best = item.clone();
                }
            }
            Ok(best)
        }
        _ => Err(type_error(format!(
            "{name}() got the wrong number of arguments ({} given)",
            args.len()
        ))),
    }
}
