//! Bytecode: the instructions the compiler emits and the VM runs, and the
//! compiled form of a function or a module.

use super::ast::{BinOp, CmpOp};
use super::value::Value;
use std::sync::Arc;

/// One instruction. Operands are indexes into the code's tables or jump
/// targets (instruction positions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instr {
    /// Push `consts[i]`.
    Const(u32),
    /// Push local variable `i`.
    LoadLocal(u32),
    /// Pop into local variable `i`.
    StoreLocal(u32),
    /// Push module global `i` (shared by every thread).
    LoadGlobal(u32),
    /// Pop into module global `i`.
    StoreGlobal(u32),
    /// Push a built-in function.
    LoadBuiltin(Builtin),
    /// Push `pop().names[i]` (e.g. `sys.argv`).
    LoadAttr(u32),
    /// Drop the top of the stack.
    Pop,
    /// Push a copy of the top value.
    Dup,
    /// Push a copy of the top two values (for `x[i] += …`).
    Dup2,
    /// Move the top value below the next two: `a b c` → `c a b`.
    Rot3,
    /// Pop two values, push the result.
    Binary(BinOp),
    /// Pop two values, push the comparison.
    Compare(CmpOp),
    /// Logical not of the top.
    Not,
    /// Arithmetic negation of the top.
    Neg,
    /// Unary plus of the top.
    Pos,
    /// Jump forward to `target`.
    Jump(u32),
    /// Jump back to `target`: a loop's end. This is where the eval breaker is
    /// checked, as in CPython, so a thread in a loop notices a drop request.
    JumpBack(u32),
    /// Pop; jump if it is false.
    PopJumpIfFalse(u32),
    /// Pop; jump if it is true.
    PopJumpIfTrue(u32),
    /// If the top is false jump, leaving it; else pop it (`and`).
    JumpIfFalseOrPop(u32),
    /// If the top is true jump, leaving it; else pop it (`or`).
    JumpIfTrueOrPop(u32),
    /// Pop an iterable, start iterating it.
    GetIter,
    /// Push the next item, or end the loop: drop the iterator and jump.
    ForIter(u32),
    /// `ForIter` and `StoreLocal` in one: the loop variable goes straight
    /// into its local slot (a superinstruction, like CPython 3.11's).
    ForIterLocal(u32, u32),
    /// `local op= local` in one instruction: `AugLocal(op, target, source)`.
    AugLocal(BinOp, u32, u32),
    /// `local op= constant`: `AugLocalConst(op, target, const)`.
    AugLocalConst(BinOp, u32, u32),
    /// Drop the innermost iterator (`break` out of a `for`).
    PopIter,
    /// Call with `argc` positional arguments: callee below them.
    Call(u32),
    /// Call with `argc` values, the last ones named by the tuple `consts[kw]`.
    CallKw(u32, u32),
    /// Call method `names[name]` of the value below `argc` arguments.
    CallMethod(u32, u32),
    /// Like `CallMethod`, with the tuple of keyword names `consts[kw]`.
    CallMethodKw(u32, u32, u32),
    /// `container[index]`.
    Index,
    /// `container[index] = value`: pops the index, the container, then the value.
    StoreIndex,
    /// Make a tuple of the top `n` values.
    BuildTuple(u32),
    /// Make a list of the top `n` values.
    BuildList(u32),
    /// Format the top as `str()`, or with `digits` after the point (`:.Nf`).
    Format(Option<u8>),
    /// Join the top `n` strings.
    BuildString(u32),
    /// Fail with an AssertionError; with a message if `true` (on the stack).
    AssertFail(bool),
    /// Pop a context (a lock, a pool), remember it in the frame, and push
    /// what its `__enter__` gives (`with … as name`).
    WithEnter,
    /// Forget the innermost context and call its `__exit__`.
    WithExit,
    /// Return the top.
    Return,
}

/// The built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `print(*values)`.
    Print,
    /// `range(stop)`, `range(start, stop[, step])`.
    Range,
    /// `len(x)`.
    Len,
    /// `int(x)`.
    Int,
    /// `float(x)`.
    Float,
    /// `str(x)`.
    Str,
    /// `abs(x)`.
    Abs,
    /// `min(a, b, …)`.
    Min,
    /// `max(a, b, …)`.
    Max,
    /// `list(iterable)`.
    List,
}

impl Builtin {
    /// The built-in called `name`, if there is one.
    pub fn named(name: &str) -> Option<Builtin> {
        Some(match name {
            "print" => Builtin::Print,
            "range" => Builtin::Range,
            "len" => Builtin::Len,
            "int" => Builtin::Int,
            "float" => Builtin::Float,
            "str" => Builtin::Str,
            "abs" => Builtin::Abs,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "list" => Builtin::List,
            _ => return None,
        })
    }

    /// Its Python name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Print => "print",
            Builtin::Range => "range",
            Builtin::Len => "len",
            Builtin::Int => "int",
            Builtin::Float => "float",
            Builtin::Str => "str",
            Builtin::Abs => "abs",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::List => "list",
        }
    }
}

/// A compiled function (or the module's top level).
#[derive(Debug)]
pub struct Code {
    /// The function's name (`<module>` for the top level).
    pub name: String,
    /// How many positional parameters it takes (the first locals).
    pub params: usize,
    /// Names of its local variables, parameters first.
    pub locals: Vec<String>,
    /// The instructions.
    pub instrs: Vec<Instr>,
    /// The source line of each instruction, for error messages.
    pub lines: Vec<u32>,
    /// Constants, including compiled functions.
    pub consts: Vec<Value>,
    /// Attribute and method names.
    pub names: Vec<Arc<str>>,
}

/// A compiled program: the module's code and its global variables' names.
#[derive(Debug)]
pub struct Program {
    /// The file it came from, for error messages.
    pub file: String,
    /// The module's top-level code.
    pub main: Arc<Code>,
    /// The names of the module's globals, by slot.
    pub globals: Vec<String>,
}
