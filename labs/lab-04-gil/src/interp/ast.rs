//! The syntax tree the parser builds and the compiler reads.

/// An expression, with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it starts.
    pub line: u32,
}

/// The kinds of expression in the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// An f-string: literal pieces and expressions, in order.
    FString(Vec<FPart>),
    /// A variable.
    Name(String),
    /// `(a, b)`.
    Tuple(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `a + b`, `a ** b`, …
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `a < b`, `a == b`, …
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// `-a`, `+a`, `not a`.
    Unary(UnaryOp, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a if condition else b`.
    IfElse(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `f(args, name=value)`.
    Call(Box<Expr>, Vec<Expr>, Vec<(String, Expr)>),
    /// `object.name`.
    Attribute(Box<Expr>, String),
    /// `object[index]`.
    Index(Box<Expr>, Box<Expr>),
}

/// A piece of an f-string.
#[derive(Debug, Clone, PartialEq)]
pub enum FPart {
    /// Text as written.
    Text(String),
    /// `{expression}` or `{expression:.Nf}`: the expression and the digits
    /// after the point, if a format was given.
    Field(Expr, Option<usize>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `//`
    FloorDiv,
    /// `%`
    Mod,
    /// `**`
    Pow,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-a`
    Neg,
    /// `+a`
    Pos,
    /// `not a`
    Not,
}

/// A statement, with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// Where it starts.
    pub line: u32,
}

/// The kinds of statement in the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect, e.g. a call.
    Expr(Expr),
    /// `target = value` (also `a = b = value`).
    Assign(Vec<Expr>, Expr),
    /// `target += value` and friends.
    AugAssign(Expr, BinOp, Expr),
    /// `def name(params): body`.
    Def(String, Vec<String>, Vec<Stmt>),
    /// `return` or `return value`.
    Return(Option<Expr>),
    /// `global a, b`.
    Global(Vec<String>),
    /// `if`/`elif`/`else`: the elifs are nested ifs in the else branch.
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    /// `while condition: body`.
    While(Expr, Vec<Stmt>),
    /// `for name in iterable: body`.
    For(String, Expr, Vec<Stmt>),
    /// `with context: body` or `with context as name: body`.
    With(Expr, Option<String>, Vec<Stmt>),
    /// `import a, b.c` (dotted names as written).
    Import(Vec<String>),
    /// `from module import a, b`.
    ImportFrom(String, Vec<String>),
    /// `assert condition` or `assert condition, message`.
    Assert(Expr, Option<Expr>),
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `pass`.
    Pass,
}
