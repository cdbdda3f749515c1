//! The parser: tokens to a syntax tree, by recursive descent, one function
//! per grammar rule, lowest precedence first.

use super::SyntaxError;
use super::ast::{BinOp, CmpOp, Expr, ExprKind, FPart, Stmt, StmtKind, UnaryOp};
use super::lexer::{Tok, Token, tokenize};

/// What the subset supports, for error messages about what it does not.
pub const SUPPORTED: &str = "supported: int, float, str, tuples, lists, arithmetic \
(+ - * / // % **), comparisons, and/or/not, x if c else y, def/return/global, \
if/elif/else, while, for … in range(…) or a list, break/continue/pass, assert, \
with lock: and with … as name:, print, len, int, float, str, abs, min, max, list, \
import and from … import of threading, time, multiprocessing, sys, concurrent.futures";

/// Keywords of full Python that the subset leaves out.
const UNSUPPORTED_KEYWORDS: [&str; 13] = [
    "class", "try", "except", "finally", "raise", "lambda", "yield", "async", "await", "del",
    "nonlocal", "match", "is",
];

/// Parses a whole program.
pub fn parse(source: &str) -> Result<Vec<Stmt>, SyntaxError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser { tokens, pos: 0 };
    let mut body = Vec::new();
    while parser.peek() != &Tok::Eof {
        body.push(parser.statement()?);
    }
    Ok(body)
}

/// A call's positional and keyword arguments.
type Arguments = (Vec<Expr>, Vec<(String, Expr)>);

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn here(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn error_here(&self, message: impl Into<String>) -> SyntaxError {
        let token = self.here();
        SyntaxError::new(token.line, token.col, message)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == word)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.next();
            true
        } else {
            false
        }
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.is_keyword(word) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), SyntaxError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.error_here(format!("expected '{op}', found {}", describe(self.peek()))))
        }
    }

    fn expect_name(&mut self) -> Result<String, SyntaxError> {
        match self.peek().clone() {
            Tok::Name(name) if !is_keyword(&name) => {
                self.next();
                Ok(name)
            }
            other => Err(self.error_here(format!("expected a name, found {}", describe(&other)))),
        }
    }

    fn expect_newline(&mut self) -> Result<(), SyntaxError> {
        match self.peek() {
            Tok::Newline => {
                self.next();
                Ok(())
            }
            Tok::Eof | Tok::Dedent => Ok(()),
            Tok::Op(";") => {
                Err(self
                    .error_here("';' between statements is not supported: one statement per line"))
            }
            other => Err(self.error_here(format!(
                "expected the end of the line, found {}",
                describe(other)
            ))),
        }
    }

    // ---- statements ----

    fn statement(&mut self) -> Result<Stmt, SyntaxError> {
        let line = self.here().line;
        if let Tok::Name(word) = self.peek().clone() {
            if UNSUPPORTED_KEYWORDS.contains(&word.as_str()) {
                return Err(self.error_here(format!(
                    "'{word}' is not supported in this subset; {SUPPORTED}"
                )));
            }
            let compound = match word.as_str() {
                "def" => Some(self.def()?),
                "if" => Some(self.if_statement()?),
                "while" => Some(self.while_statement()?),
                "for" => Some(self.for_statement()?),
                "with" => Some(self.with_statement()?),
                _ => None,
            };
            if let Some(kind) = compound {
                return Ok(Stmt { kind, line });
            }
        }
        if matches!(self.peek(), Tok::Indent) {
            return Err(self.error_here("unexpected indent"));
        }
        let kind = self.simple_statement()?;
        self.expect_newline()?;
        Ok(Stmt { kind, line })
    }

    fn simple_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        if self.eat_keyword("pass") {
            return Ok(StmtKind::Pass);
        }
        if self.eat_keyword("break") {
            return Ok(StmtKind::Break);
        }
        if self.eat_keyword("continue") {
            return Ok(StmtKind::Continue);
        }
        if self.eat_keyword("return") {
            if matches!(self.peek(), Tok::Newline | Tok::Eof | Tok::Dedent) {
                return Ok(StmtKind::Return(None));
            }
            return Ok(StmtKind::Return(Some(self.expression_list()?)));
        }
        if self.eat_keyword("global") {
            return Ok(StmtKind::Global(self.names()?));
        }
        if self.eat_keyword("import") {
            let mut modules = vec![self.dotted_name()?];
            while self.eat_op(",") {
                modules.push(self.dotted_name()?);
            }
            self.refuse_as()?;
            return Ok(StmtKind::Import(modules));
        }
        if self.eat_keyword("from") {
            let module = self.dotted_name()?;
            if !self.eat_keyword("import") {
                return Err(self.error_here("expected 'import' after 'from module'"));
            }
            if self.is_op("*") {
                return Err(
                    self.error_here("'from … import *' is not supported: name what you import")
                );
            }
            let names = self.names()?;
            return Ok(StmtKind::ImportFrom(module, names));
        }
        if self.eat_keyword("assert") {
            let condition = self.expression()?;
            let message = if self.eat_op(",") {
                Some(self.expression()?)
            } else {
                None
            };
            return Ok(StmtKind::Assert(condition, message));
        }
        self.expression_statement()
    }

    fn names(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut names = vec![self.expect_name()?];
        while self.eat_op(",") {
            names.push(self.expect_name()?);
        }
        self.refuse_as()?;
        Ok(names)
    }

    /// `a` or `a.b.c`, as written.
    fn dotted_name(&mut self) -> Result<String, SyntaxError> {
        let mut name = self.expect_name()?;
        while self.eat_op(".") {
            name.push('.');
            name += &self.expect_name()?;
        }
        Ok(name)
    }

    fn refuse_as(&self) -> Result<(), SyntaxError> {
        if self.is_keyword("as") {
            return Err(self.error_here("'import … as' is not supported: import the name itself"));
        }
        Ok(())
    }

    fn expression_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        let first = self.expression_list()?;
        if let Some(op) = self.augmented_operator() {
            check_target(&first)?;
            let value = self.expression_list()?;
            return Ok(StmtKind::AugAssign(first, op, value));
        }
        if !self.is_op("=") {
            return Ok(StmtKind::Expr(first));
        }
        let mut targets = vec![first];
        let mut value = None;
        while self.eat_op("=") {
            let next = self.expression_list()?;
            if let Some(previous) = value.replace(next) {
                targets.push(previous);
            }
        }
        for target in &targets {
            check_target(target)?;
        }
        Ok(StmtKind::Assign(
            targets,
            value.expect("at least one '=' was seen"),
        ))
    }

    fn augmented_operator(&mut self) -> Option<BinOp> {
        let op = match self.peek() {
            Tok::Op("+=") => BinOp::Add,
            Tok::Op("-=") => BinOp::Sub,
            Tok::Op("*=") => BinOp::Mul,
            Tok::Op("/=") => BinOp::Div,
            Tok::Op("//=") => BinOp::FloorDiv,
            Tok::Op("%=") => BinOp::Mod,
            Tok::Op("**=") => BinOp::Pow,
            _ => return None,
        };
        self.next();
        Some(op)
    }

    fn block(&mut self) -> Result<Vec<Stmt>, SyntaxError> {
        self.expect_op(":")?;
        if !matches!(self.peek(), Tok::Newline) {
            // `if x: y` on one line.
            let line = self.here().line;
            let kind = self.simple_statement()?;
            self.expect_newline()?;
            return Ok(vec![Stmt { kind, line }]);
        }
        self.next();
        if !matches!(self.peek(), Tok::Indent) {
            return Err(self.error_here("expected an indented block"));
        }
        self.next();
        let mut body = Vec::new();
        while !matches!(self.peek(), Tok::Dedent | Tok::Eof) {
            body.push(self.statement()?);
        }
        if matches!(self.peek(), Tok::Dedent) {
            self.next();
        }
        Ok(body)
    }

    fn def(&mut self) -> Result<StmtKind, SyntaxError> {
        self.next();
        let name = self.expect_name()?;
        self.expect_op("(")?;
        let mut params = Vec::new();
        while !self.is_op(")") {
            if self.is_op("*") || self.is_op("**") {
                return Err(self.error_here(
                    "*args and **kwargs are not supported: positional parameters only",
                ));
            }
            params.push(self.expect_name()?);
            if self.is_op("=") {
                return Err(self.error_here("default parameter values are not supported"));
            }
            if self.is_op(":") {
                return Err(self.error_here("type annotations are not supported"));
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")")?;
        if self.is_op("->") {
            return Err(self.error_here("type annotations are not supported"));
        }
        let body = self.block()?;
        Ok(StmtKind::Def(name, params, body))
    }

    fn if_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        self.next();
        let condition = self.expression()?;
        let body = self.block()?;
        let otherwise = if self.is_keyword("elif") {
            let line = self.here().line;
            vec![Stmt {
                kind: self.if_statement()?,
                line,
            }]
        } else if self.eat_keyword("else") {
            self.block()?
        } else {
            Vec::new()
        };
        Ok(StmtKind::If(condition, body, otherwise))
    }

    fn while_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        self.next();
        let condition = self.expression()?;
        let body = self.block()?;
        if self.is_keyword("else") {
            return Err(self.error_here("'else' after a loop is not supported"));
        }
        Ok(StmtKind::While(condition, body))
    }

    fn for_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        self.next();
        let name = self.expect_name()?;
        if self.is_op(",") {
            return Err(self.error_here("for loops take one variable here (no unpacking)"));
        }
        if !self.eat_keyword("in") {
            return Err(self.error_here(format!("expected 'in', found {}", describe(self.peek()))));
        }
        let iterable = self.expression()?;
        let body = self.block()?;
        if self.is_keyword("else") {
            return Err(self.error_here("'else' after a loop is not supported"));
        }
        Ok(StmtKind::For(name, iterable, body))
    }

    fn with_statement(&mut self) -> Result<StmtKind, SyntaxError> {
        self.next();
        let context = self.expression()?;
        let name = if self.eat_keyword("as") {
            Some(self.expect_name()?)
        } else {
            None
        };
        if self.is_op(",") {
            return Err(self.error_here("one context per 'with' here: nest them instead"));
        }
        let body = self.block()?;
        Ok(StmtKind::With(context, name, body))
    }

    // ---- expressions ----

    /// `a` or `a, b, …` (a tuple without parentheses).
    fn expression_list(&mut self) -> Result<Expr, SyntaxError> {
        let first = self.expression()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let line = first.line;
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Newline | Tok::Op("=")) {
                break;
            }
            items.push(self.expression()?);
        }
        Ok(Expr {
            kind: ExprKind::Tuple(items),
            line,
        })
    }

    fn expression(&mut self) -> Result<Expr, SyntaxError> {
        let value = self.or_test()?;
        if !self.eat_keyword("if") {
            return Ok(value);
        }
        let condition = self.or_test()?;
        if !self.eat_keyword("else") {
            return Err(self.error_here("expected 'else' in a conditional expression"));
        }
        let otherwise = self.expression()?;
        let line = value.line;
        Ok(Expr {
            kind: ExprKind::IfElse(Box::new(condition), Box::new(value), Box::new(otherwise)),
            line,
        })
    }

    fn or_test(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.and_test()?;
        while self.eat_keyword("or") {
            let right = self.and_test()?;
            let line = left.line;
            left = Expr {
                kind: ExprKind::Or(Box::new(left), Box::new(right)),
                line,
            };
        }
        Ok(left)
    }

    fn and_test(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.not_test()?;
        while self.eat_keyword("and") {
            let right = self.not_test()?;
            let line = left.line;
            left = Expr {
                kind: ExprKind::And(Box::new(left), Box::new(right)),
                line,
            };
        }
        Ok(left)
    }

    fn not_test(&mut self) -> Result<Expr, SyntaxError> {
        let line = self.here().line;
        if self.eat_keyword("not") {
            let operand = self.not_test()?;
            return Ok(Expr {
                kind: ExprKind::Unary(UnaryOp::Not, Box::new(operand)),
                line,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        let left = self.arith()?;
        let Some(op) = self.comparison_operator() else {
            return Ok(left);
        };
        let right = self.arith()?;
        if self.comparison_operator().is_some() {
            return Err(
                self.error_here("chained comparisons (a < b < c) are not supported: use 'and'")
            );
        }
        let line = left.line;
        Ok(Expr {
            kind: ExprKind::Compare(op, Box::new(left), Box::new(right)),
            line,
        })
    }

    fn comparison_operator(&mut self) -> Option<CmpOp> {
        let op = match self.peek() {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            _ => return None,
        };
        self.next();
        Some(op)
    }

    fn arith(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok(left),
            };
            self.next();
            let right = self.term()?;
            left = binary(op, left, right);
        }
    }

    fn term(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.factor()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                Tok::Op("//") => BinOp::FloorDiv,
                Tok::Op("%") => BinOp::Mod,
                _ => return Ok(left),
            };
            self.next();
            let right = self.factor()?;
            left = binary(op, left, right);
        }
    }

    fn factor(&mut self) -> Result<Expr, SyntaxError> {
        let line = self.here().line;
        let op = match self.peek() {
            Tok::Op("-") => UnaryOp::Neg,
            Tok::Op("+") => UnaryOp::Pos,
            _ => return self.power(),
        };
        self.next();
        let operand = self.factor()?;
        Ok(Expr {
            kind: ExprKind::Unary(op, Box::new(operand)),
            line,
        })
    }

    fn power(&mut self) -> Result<Expr, SyntaxError> {
        let base = self.primary()?;
        if self.eat_op("**") {
            // Right-associative, and binds tighter than a unary minus on its left.
            let exponent = self.factor()?;
            return Ok(binary(BinOp::Pow, base, exponent));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let mut value = self.atom()?;
        loop {
            let line = value.line;
            if self.eat_op("(") {
                let (args, keywords) = self.arguments()?;
                value = Expr {
                    kind: ExprKind::Call(Box::new(value), args, keywords),
                    line,
                };
            } else if self.eat_op(".") {
                let name = self.expect_name()?;
                value = Expr {
                    kind: ExprKind::Attribute(Box::new(value), name),
                    line,
                };
            } else if self.eat_op("[") {
                if self.is_op(":") {
                    return Err(self.error_here("slices are not supported"));
                }
                let index = self.expression()?;
                if self.is_op(":") {
                    return Err(self.error_here("slices are not supported"));
                }
                self.expect_op("]")?;
                value = Expr {
                    kind: ExprKind::Index(Box::new(value), Box::new(index)),
                    line,
                };
            } else {
                return Ok(value);
            }
        }
    }

    fn arguments(&mut self) -> Result<Arguments, SyntaxError> {
        let mut args = Vec::new();
        let mut keywords = Vec::new();
        while !self.is_op(")") {
            if self.is_op("*") || self.is_op("**") {
                return Err(self.error_here("*args and **kwargs are not supported"));
            }
            let is_keyword = matches!(self.peek(), Tok::Name(_))
                && matches!(
                    self.tokens.get(self.pos + 1).map(|t| &t.tok),
                    Some(Tok::Op("="))
                );
            if is_keyword {
                let name = self.expect_name()?;
                self.next();
                keywords.push((name, self.expression()?));
            } else if !keywords.is_empty() {
                return Err(self.error_here("positional argument follows keyword argument"));
            } else {
                args.push(self.expression()?);
            }
            if self.is_keyword("for") {
                return Err(self.error_here(
                    "comprehensions and generators are not supported: use a for loop",
                ));
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")")?;
        Ok((args, keywords))
    }

    fn atom(&mut self) -> Result<Expr, SyntaxError> {
        let token = self.next();
        let line = token.line;
        let kind = match token.tok {
            Tok::Int(n) => ExprKind::Int(n),
            Tok::Float(x) => ExprKind::Float(x),
            Tok::Str(mut text) => {
                // Adjacent literals join: "a" "b" is "ab".
                while let Tok::Str(more) = self.peek().clone() {
                    self.next();
                    text += &more;
                }
                ExprKind::Str(text)
            }
            Tok::FStr(text) => ExprKind::FString(f_string(&text, token.line, token.col)?),
            Tok::Name(name) => match name.as_str() {
                "None" => ExprKind::None,
                "True" => ExprKind::Bool(true),
                "False" => ExprKind::Bool(false),
                word if UNSUPPORTED_KEYWORDS.contains(&word) => {
                    return Err(SyntaxError::new(
                        line,
                        token.col,
                        format!("'{word}' is not supported in this subset; {SUPPORTED}"),
                    ));
                }
                word if is_keyword(word) => {
                    return Err(SyntaxError::new(
                        line,
                        token.col,
                        format!("unexpected keyword '{word}'"),
                    ));
                }
                _ => ExprKind::Name(name),
            },
            Tok::Op("(") => return self.parenthesized(line),
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expression()?);
                    if self.is_keyword("for") {
                        return Err(self.error_here(
                            "list comprehensions are not supported: use a for loop and append",
                        ));
                    }
                    if !self.eat_op(",") {
                        break;
                    }
                }
                self.expect_op("]")?;
                ExprKind::List(items)
            }
            Tok::Op("{") => {
                return Err(SyntaxError::new(
                    line,
                    token.col,
                    "dicts and sets are not supported",
                ));
            }
            other => {
                return Err(SyntaxError::new(
                    line,
                    token.col,
                    format!("expected an expression, found {}", describe(&other)),
                ));
            }
        };
        Ok(Expr { kind, line })
    }

    fn parenthesized(&mut self, line: u32) -> Result<Expr, SyntaxError> {
        if self.eat_op(")") {
            return Ok(Expr {
                kind: ExprKind::Tuple(Vec::new()),
                line,
            });
        }
        let first = self.expression()?;
        if self.is_keyword("for") {
            return Err(self.error_here("generator expressions are not supported: use a for loop"));
        }
        if self.eat_op(")") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(")") {
                break;
            }
            items.push(self.expression()?);
        }
        self.expect_op(")")?;
        Ok(Expr {
            kind: ExprKind::Tuple(items),
            line,
        })
    }
}

fn binary(op: BinOp, left: Expr, right: Expr) -> Expr {
    let line = left.line;
    Expr {
        kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
        line,
    }
}

/// Only names and `x[i]` can be assigned to.
fn check_target(target: &Expr) -> Result<(), SyntaxError> {
    match &target.kind {
        ExprKind::Name(_) | ExprKind::Index(..) => Ok(()),
        ExprKind::Tuple(_) => Err(SyntaxError::new(
            target.line,
            1,
            "unpacking assignment (a, b = …) is not supported",
        )),
        ExprKind::Attribute(..) => Err(SyntaxError::new(
            target.line,
            1,
            "assigning to attributes is not supported",
        )),
        _ => Err(SyntaxError::new(
            target.line,
            1,
            "cannot assign to this expression",
        )),
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 22] = [
        "def", "return", "global", "if", "elif", "else", "while", "for", "in", "with", "import",
        "from", "pass", "break", "continue", "and", "or", "not", "assert", "True", "False", "None",
    ];
    KEYWORDS.contains(&word) || UNSUPPORTED_KEYWORDS.contains(&word)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Name(n) => format!("'{n}'"),
        Tok::Int(n) => format!("{n}"),
        Tok::Float(x) => format!("{x}"),
        Tok::Str(_) | Tok::FStr(_) => "a string".into(),
        Tok::Op(op) => format!("'{op}'"),
        Tok::Newline => "the end of the line".into(),
        Tok::Indent => "an indent".into(),
        Tok::Dedent => "a dedent".into(),
        Tok::Eof => "the end of the file".into(),
    }
}

/// Splits an f-string into text and `{expression}` / `{expression:.Nf}` fields.
fn f_string(text: &str, line: u32, col: u32) -> Result<Vec<FPart>, SyntaxError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                if !literal.is_empty() {
                    parts.push(FPart::Text(std::mem::take(&mut literal)));
                }
                parts.push(f_field(&field, line, col)?);
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(FPart::Text(literal));
    }
    Ok(parts)
}

fn f_field(field: &str, line: u32, col: u32) -> Result<FPart, SyntaxError> {
    let (expression, spec) = match field.rsplit_once(':') {
        Some((e, s)) => (e, Some(s)),
        None => (field, None),
    };
    let digits = match spec {
        None => None,
        Some(s) => {
            let digits = s
                .strip_prefix('.')
                .and_then(|s| s.strip_suffix('f'))
                .and_then(|d| d.parse().ok());
            if digits.is_none() {
                return Err(SyntaxError::new(
                    line,
                    col,
                    format!("the format ':{s}' is not supported: only ':.Nf'"),
                ));
            }
            digits
        }
    };
    let mut body = parse(expression)
        .map_err(|e| SyntaxError::new(line, col, format!("in an f-string field: {}", e.message)))?;
    match (body.len(), body.pop()) {
        (
            1,
            Some(Stmt {
                kind: StmtKind::Expr(mut e),
                ..
            }),
        ) => {
            relocate(&mut e, line);
            Ok(FPart::Field(e, digits))
        }
        _ => Err(SyntaxError::new(
            line,
            col,
            format!("{{{field}}} is not an expression"),
        )),
    }
}

/// An f-string field's expression was parsed on its own, from line 1: give it
/// the f-string's line, so errors point to the right place.
fn relocate(expr: &mut Expr, line: u32) {
    expr.line = line;
    match &mut expr.kind {
        ExprKind::Binary(_, a, b)
        | ExprKind::Compare(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b)
        | ExprKind::Index(a, b) => {
            relocate(a, line);
            relocate(b, line);
        }
        ExprKind::Unary(_, a) | ExprKind::Attribute(a, _) => relocate(a, line),
        ExprKind::IfElse(a, b, c) => {
            relocate(a, line);
            relocate(b, line);
            relocate(c, line);
        }
        ExprKind::Call(f, args, keywords) => {
            relocate(f, line);
            args.iter_mut().for_each(|a| relocate(a, line));
            keywords.iter_mut().for_each(|(_, a)| relocate(a, line));
        }
        ExprKind::Tuple(items) | ExprKind::List(items) => {
            items.iter_mut().for_each(|a| relocate(a, line))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(source: &str) -> ExprKind {
        match parse(source).unwrap().remove(0).kind {
            StmtKind::Expr(e) => e.kind,
            other => panic!("not an expression: {other:?}"),
        }
    }

    #[test]
    fn precedence_follows_python() {
        // -2 ** 2 is -(2 ** 2); 1 + 2 * 3 is 1 + (2 * 3); 2 ** 3 ** 2 is 2 ** (3 ** 2).
        assert!(matches!(expr("-2 ** 2"), ExprKind::Unary(UnaryOp::Neg, _)));
        let ExprKind::Binary(BinOp::Add, _, right) = expr("1 + 2 * 3") else {
            panic!()
        };
        assert!(matches!(right.kind, ExprKind::Binary(BinOp::Mul, ..)));
        let ExprKind::Binary(BinOp::Pow, _, right) = expr("2 ** 3 ** 2") else {
            panic!()
        };
        assert!(matches!(right.kind, ExprKind::Binary(BinOp::Pow, ..)));
        assert!(matches!(
            expr("not a == b"),
            ExprKind::Unary(UnaryOp::Not, _)
        ));
        assert!(matches!(expr("a or b and c"), ExprKind::Or(..)));
    }

    #[test]
    fn statements_and_blocks() {
        let program = parse(
            "def f(a, b):\n    global g\n    if a:\n        return b\n    elif b:\n        pass\n    else:\n        g += 1\n    return\nfor i in range(3): f(i, 2)\n",
        )
        .unwrap();
        assert_eq!(program.len(), 2);
        let StmtKind::Def(name, params, body) = &program[0].kind else {
            panic!()
        };
        assert_eq!((name.as_str(), params.len(), body.len()), ("f", 2, 3));
        assert!(matches!(program[1].kind, StmtKind::For(..)));
        assert_eq!(program[1].line, 10);
    }

    #[test]
    fn calls_with_keywords_and_tuples() {
        let ExprKind::Call(_, args, keywords) = expr("threading.Thread(target=f, args=(1,))")
        else {
            panic!()
        };
        assert!(args.is_empty());
        assert_eq!(keywords[0].0, "target");
        assert!(matches!(&keywords[1].1.kind, ExprKind::Tuple(items) if items.len() == 1));
    }

    #[test]
    fn f_strings_have_fields() {
        let ExprKind::FString(parts) = expr("f\"took {t:.2f} s, {n} items\"") else {
            panic!()
        };
        assert_eq!(parts.len(), 5);
        assert!(matches!(&parts[1], FPart::Field(_, Some(2))));
        assert!(matches!(&parts[4], FPart::Text(t) if t == " items"));
    }

    #[test]
    fn unsupported_features_say_what_is_supported() {
        for (source, expected) in [
            ("class A:\n    pass\n", "'class' is not supported"),
            ("x = [i for i in range(3)]\n", "comprehensions"),
            ("a, b = 1, 2\n", "unpacking"),
            ("def f(x=1):\n    pass\n", "default parameter"),
            ("x = {}\n", "dicts"),
            ("if a < b < c:\n    pass\n", "chained"),
        ] {
            let error = parse(source).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{source:?}: {}",
                error.message
            );
            assert_eq!(error.line, 1);
        }
        assert!(
            parse("class A: pass\n")
                .unwrap_err()
                .message
                .contains("supported: int")
        );
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let error = parse("x = 1\nif x\n    y = 2\n").unwrap_err();
        assert_eq!((error.line, error.col), (2, 5));
        assert!(error.message.contains("expected ':'"), "{}", error.message);
    }
}
