//! The compiler: a syntax tree to bytecode. Names are resolved here, once:
//! a function's variables become numbered local slots, module variables
//! numbered global slots, so the VM never looks a name up by its text.

use super::SyntaxError;
use super::ast::{Expr, ExprKind, FPart, Stmt, StmtKind};
use super::code::{Builtin, Code, Instr, Program};
use super::parser::parse;
use super::value::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Parses and compiles a whole program.
pub fn compile(source: &str, file: &str) -> Result<Program, SyntaxError> {
    let body = parse(source)?;
    let mut globals = Globals::default();
    globals.slot("__name__");
    collect_globals(&body, &mut globals);
    let mut unit = Unit::new("<module>", Vec::new(), None);
    unit.block(&body, &mut globals)?;
    unit.emit(Instr::Const(0), 0);
    unit.emit(Instr::Return, 0);
    let main = Arc::new(unit.finish());
    Ok(Program {
        file: file.to_string(),
        main,
        globals: globals.names,
    })
}

/// The module's global variables, by slot.
#[derive(Default)]
struct Globals {
    names: Vec<String>,
    slots: HashMap<String, u32>,
}

impl Globals {
    fn slot(&mut self, name: &str) -> u32 {
        if let Some(&slot) = self.slots.get(name) {
            return slot;
        }
        let slot = self.names.len() as u32;
        self.names.push(name.to_string());
        self.slots.insert(name.to_string(), slot);
        slot
    }
}

/// Every name the module assigns, defines or imports, and every name a
/// function declares `global`: these are global variables, not built-ins.
fn collect_globals(body: &[Stmt], globals: &mut Globals) {
    let mut names = BTreeSet::new();
    assigned_names(body, &mut names);
    for statement in body {
        if let StmtKind::Def(_, _, function_body) = &statement.kind {
            global_declarations(function_body, &mut names);
        }
    }
    for name in names {
        globals.slot(&name);
    }
}

/// Names bound in `body` (not inside nested functions): assignment targets,
/// loop variables, functions and imports.
fn assigned_names(body: &[Stmt], names: &mut BTreeSet<String>) {
    for statement in body {
        match &statement.kind {
            StmtKind::Assign(targets, _) => {
                for target in targets {
                    if let ExprKind::Name(n) = &target.kind {
                        names.insert(n.clone());
                    }
                }
            }
            StmtKind::AugAssign(target, ..) => {
                if let ExprKind::Name(n) = &target.kind {
                    names.insert(n.clone());
                }
            }
            StmtKind::For(name, _, loop_body) => {
                names.insert(name.clone());
                assigned_names(loop_body, names);
            }
            StmtKind::Def(name, ..) => {
                names.insert(name.clone());
            }
            StmtKind::Import(modules) => {
                // `import concurrent.futures` binds `concurrent`.
                names.extend(modules.iter().map(|m| bound_name(m).to_string()))
            }
            StmtKind::ImportFrom(_, imported) => names.extend(imported.iter().cloned()),
            StmtKind::If(_, yes, no) => {
                assigned_names(yes, names);
                assigned_names(no, names);
            }
            StmtKind::While(_, loop_body) => assigned_names(loop_body, names),
            StmtKind::With(_, name, body) => {
                names.extend(name.iter().cloned());
                assigned_names(body, names)
            }
            _ => {}
        }
    }
}

fn global_declarations(body: &[Stmt], names: &mut BTreeSet<String>) {
    for statement in body {
        match &statement.kind {
            StmtKind::Global(declared) => names.extend(declared.iter().cloned()),
            StmtKind::If(_, yes, no) => {
                global_declarations(yes, names);
                global_declarations(no, names);
            }
            StmtKind::While(_, b) | StmtKind::For(_, _, b) | StmtKind::With(_, _, b) => {
                global_declarations(b, names)
            }
            _ => {}
        }
    }
}

/// The name an `import` binds: `concurrent` for `concurrent.futures`.
fn bound_name(module: &str) -> &str {
    module.split('.').next().unwrap_or(module)
}

/// The module called `name`, or an error that lists those the subset has.
fn known_module(name: &str, line: u32) -> Result<super::value::Module, SyntaxError> {
    super::value::Module::named(name).ok_or_else(|| {
        SyntaxError::new(
            line,
            1,
            format!(
                "no module named '{name}' here: the subset has threading, time, multiprocessing, sys and concurrent.futures"
            ),
        )
    })
}

/// An enclosing loop, for `break` and `continue`.
struct Loop {
    /// `for` loops keep an iterator that `break` must drop.
    is_for: bool,
    /// Where `continue` goes.
    start: u32,
    /// Jumps to patch to the loop's end.
    breaks: Vec<usize>,
    /// How many `with` blocks were open when the loop started.
    with_depth: usize,
}

/// One function (or the module) being compiled.
struct Unit {
    code: Code,
    /// Local slots by name; `None` at module level, where every name is global.
    locals: Option<HashMap<String, u32>>,
    loops: Vec<Loop>,
    with_depth: usize,
    names: HashMap<String, u32>,
}

impl Unit {
    fn new(name: &str, params: Vec<String>, locals: Option<Vec<String>>) -> Unit {
        let slots = locals.as_ref().map(|names| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i as u32))
                .collect()
        });
        Unit {
            code: Code {
                name: name.to_string(),
                params: params.len(),
                locals: locals.unwrap_or_default(),
                instrs: Vec::new(),
                lines: Vec::new(),
                consts: vec![Value::None],
                names: Vec::new(),
            },
            locals: slots,
            loops: Vec::new(),
            with_depth: 0,
            names: HashMap::new(),
        }
    }

    fn finish(self) -> Code {
        self.code
    }

    fn emit(&mut self, instr: Instr, line: u32) -> usize {
        self.code.instrs.push(instr);
        self.code.lines.push(line);
        self.code.instrs.len() - 1
    }

    fn here(&self) -> u32 {
        self.code.instrs.len() as u32
    }

    /// Points the jump at `at` to the current position.
    fn patch(&mut self, at: usize) {
        let target = self.here();
        self.code.instrs[at] = match self.code.instrs[at] {
            Instr::Jump(_) => Instr::Jump(target),
            Instr::PopJumpIfFalse(_) => Instr::PopJumpIfFalse(target),
            Instr::PopJumpIfTrue(_) => Instr::PopJumpIfTrue(target),
            Instr::JumpIfFalseOrPop(_) => Instr::JumpIfFalseOrPop(target),
            Instr::JumpIfTrueOrPop(_) => Instr::JumpIfTrueOrPop(target),
            Instr::ForIter(_) => Instr::ForIter(target),
            Instr::ForIterLocal(_, slot) => Instr::ForIterLocal(target, slot),
            other => unreachable!("not a jump: {other:?}"),
        };
    }

    fn constant(&mut self, value: Value) -> u32 {
        self.code.consts.push(value);
        (self.code.consts.len() - 1) as u32
    }

    fn name(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.names.get(name) {
            return i;
        }
        self.code.names.push(Arc::from(name));
        let i = (self.code.names.len() - 1) as u32;
        self.names.insert(name.to_string(), i);
        i
    }

    fn block(&mut self, body: &[Stmt], globals: &mut Globals) -> Result<(), SyntaxError> {
        body.iter().try_for_each(|s| self.statement(s, globals))
    }

    fn statement(&mut self, statement: &Stmt, globals: &mut Globals) -> Result<(), SyntaxError> {
        let line = statement.line;
        match &statement.kind {
            StmtKind::Expr(expr) => {
                self.expression(expr, globals)?;
                self.emit(Instr::Pop, line);
            }
            StmtKind::Assign(targets, value) => {
                self.expression(value, globals)?;
                for (i, target) in targets.iter().enumerate() {
                    if i + 1 < targets.len() {
                        // a = b = value: keep a copy for the next target.
                        self.emit(Instr::Dup, line);
                    }
                    self.store(target, globals)?;
                }
            }
            StmtKind::AugAssign(target, op, value) => {
                self.augmented(target, *op, value, globals)?
            }
            StmtKind::Def(name, params, body) => self.def(name, params, body, line, globals)?,
            StmtKind::Return(value) => {
                if self.locals.is_none() {
                    return Err(SyntaxError::new(line, 1, "'return' outside function"));
                }
                if self.with_depth > 0 {
                    return Err(SyntaxError::new(
                        line,
                        1,
                        "'return' inside 'with' is not supported: return after the block",
                    ));
                }
                match value {
                    Some(v) => self.expression(v, globals)?,
                    None => {
                        self.emit(Instr::Const(0), line);
                    }
                }
                self.emit(Instr::Return, line);
            }
            StmtKind::Global(_) => {
                if self.locals.is_none() {
                    // Harmless at module level, as in Python.
                }
            }
            StmtKind::If(condition, yes, no) => {
                self.expression(condition, globals)?;
                let to_else = self.emit(Instr::PopJumpIfFalse(0), line);
                self.block(yes, globals)?;
                if no.is_empty() {
                    self.patch(to_else);
                } else {
                    let to_end = self.emit(Instr::Jump(0), line);
                    self.patch(to_else);
                    self.block(no, globals)?;
                    self.patch(to_end);
                }
            }
            StmtKind::While(condition, body) => {
                let start = self.here();
                self.expression(condition, globals)?;
                let exit = self.emit(Instr::PopJumpIfFalse(0), line);
                self.loop_body(false, start, body, line, globals)?;
                self.patch(exit);
                self.end_loop();
            }
            StmtKind::For(name, iterable, body) => {
                self.expression(iterable, globals)?;
                self.emit(Instr::GetIter, line);
                let start = self.here();
                let exit = match self.local_slot(name) {
                    Some(slot) => self.emit(Instr::ForIterLocal(0, slot), line),
                    None => {
                        let exit = self.emit(Instr::ForIter(0), line);
                        let variable = Expr {
                            kind: ExprKind::Name(name.clone()),
                            line,
                        };
                        self.store(&variable, globals)?;
                        exit
                    }
                };
                self.loop_body(true, start, body, line, globals)?;
                self.patch(exit);
                self.end_loop();
            }
            StmtKind::With(context, name, body) => {
                // The frame remembers the context while the body runs, so
                // that an error in the body still calls its `__exit__` (the
                // subset has no `try`); `__enter__` gives the value bound by
                // `as`, `__exit__` ends it: a lock's acquire and release, a
                // pool's shutdown(wait=True).
                self.expression(context, globals)?;
                self.emit(Instr::WithEnter, line);
                match name {
                    Some(name) => {
                        let variable = Expr {
                            kind: ExprKind::Name(name.clone()),
                            line,
                        };
                        self.store(&variable, globals)?;
                    }
                    None => {
                        self.emit(Instr::Pop, line);
                    }
                }
                self.with_depth += 1;
                self.block(body, globals)?;
                self.with_depth -= 1;
                self.emit(Instr::WithExit, line);
            }
            StmtKind::Import(modules) => {
                for module in modules {
                    let m = known_module(module, line)?;
                    // `import concurrent.futures` binds `concurrent`, from
                    // which `concurrent.futures` is an attribute.
                    let bound = bound_name(module);
                    let value = if bound == module {
                        m
                    } else {
                        known_module(bound, line)?
                    };
                    self.push_constant(Value::Module(value), line);
                    let variable = Expr {
                        kind: ExprKind::Name(bound.to_string()),
                        line,
                    };
                    self.store(&variable, globals)?;
                }
            }
            StmtKind::ImportFrom(module, names) => {
                let m = known_module(module, line)?;
                for name in names {
                    if m.export(name).is_none() {
                        return Err(SyntaxError::new(
                            line,
                            1,
                            format!(
                                "cannot import name '{name}' from '{module}': this subset has {}",
                                m.exports().join(", ")
                            ),
                        ));
                    }
                    self.push_constant(Value::Module(m), line);
                    let n = self.name(name);
                    self.emit(Instr::LoadAttr(n), line);
                    let variable = Expr {
                        kind: ExprKind::Name(name.clone()),
                        line,
                    };
                    self.store(&variable, globals)?;
                }
            }
            StmtKind::Assert(condition, message) => {
                self.expression(condition, globals)?;
                let ok = self.emit(Instr::PopJumpIfTrue(0), line);
                if let Some(m) = message {
                    self.expression(m, globals)?;
                }
                self.emit(Instr::AssertFail(message.is_some()), line);
                self.patch(ok);
            }
            StmtKind::Break | StmtKind::Continue => {
                self.break_or_continue(&statement.kind, line)?
            }
            StmtKind::Pass => {}
        }
        Ok(())
    }

    fn loop_body(
        &mut self,
        is_for: bool,
        start: u32,
        body: &[Stmt],
        line: u32,
        globals: &mut Globals,
    ) -> Result<(), SyntaxError> {
        self.loops.push(Loop {
            is_for,
            start,
            breaks: Vec::new(),
            with_depth: self.with_depth,
        });
        self.block(body, globals)?;
        self.emit(Instr::JumpBack(start), line);
        Ok(())
    }

    fn end_loop(&mut self) {
        let finished = self.loops.pop().expect("a loop is open");
        for at in finished.breaks {
            self.patch(at);
        }
    }

    fn break_or_continue(&mut self, kind: &StmtKind, line: u32) -> Result<(), SyntaxError> {
        let word = if *kind == StmtKind::Break {
            "break"
        } else {
            "continue"
        };
        let with_depth = self.with_depth;
        let Some(innermost) = self.loops.last() else {
            return Err(SyntaxError::new(line, 1, format!("'{word}' outside loop")));
        };
        if innermost.with_depth != with_depth {
            return Err(SyntaxError::new(
                line,
                1,
                format!("'{word}' inside 'with' is not supported"),
            ));
        }
        let (is_for, start) = (innermost.is_for, innermost.start);
        if *kind == StmtKind::Continue {
            self.emit(Instr::JumpBack(start), line);
            return Ok(());
        }
        if is_for {
            self.emit(Instr::PopIter, line);
        }
        let at = self.emit(Instr::Jump(0), line);
        self.loops
            .last_mut()
            .expect("checked above")
            .breaks
            .push(at);
        Ok(())
    }

    fn def(
        &mut self,
        name: &str,
        params: &[String],
        body: &[Stmt],
        line: u32,
        globals: &mut Globals,
    ) -> Result<(), SyntaxError> {
        if self.locals.is_some() {
            return Err(SyntaxError::new(
                line,
                1,
                "nested functions are not supported: define functions at the top level",
            ));
        }
        let mut declared = BTreeSet::new();
        global_declarations(body, &mut declared);
        let mut assigned = BTreeSet::new();
        assigned_names(body, &mut assigned);
        let mut locals: Vec<String> = params.to_vec();
        for n in assigned {
            if !declared.contains(&n) && !locals.contains(&n) {
                locals.push(n);
            }
        }
        if let Some(p) = params.iter().find(|p| declared.contains(*p)) {
            return Err(SyntaxError::new(
                line,
                1,
                format!("name '{p}' is parameter and global"),
            ));
        }
        let mut unit = Unit::new(name, params.to_vec(), Some(locals));
        unit.block(body, globals)?;
        unit.emit(Instr::Const(0), line);
        unit.emit(Instr::Return, line);
        let function = Value::Function(Arc::new(unit.finish()));
        let c = self.constant(function);
        self.emit(Instr::Const(c), line);
        let variable = Expr {
            kind: ExprKind::Name(name.to_string()),
            line,
        };
        self.store(&variable, globals)
    }

    fn augmented(
        &mut self,
        target: &Expr,
        op: super::ast::BinOp,
        value: &Expr,
        globals: &mut Globals,
    ) -> Result<(), SyntaxError> {
        let line = target.line;
        match &target.kind {
            ExprKind::Name(name) => {
                if let Some(fused) = self.fused_augmented(name, op, value) {
                    self.emit(fused, line);
                    return Ok(());
                }
                self.expression(target, globals)?;
                self.expression(value, globals)?;
                self.emit(Instr::Binary(op), line);
                self.store(target, globals)
            }
            ExprKind::Index(container, index) => {
                self.expression(container, globals)?;
                self.expression(index, globals)?;
                self.emit(Instr::Dup2, line);
                self.emit(Instr::Index, line);
                self.expression(value, globals)?;
                self.emit(Instr::Binary(op), line);
                self.emit(Instr::Rot3, line);
                self.emit(Instr::StoreIndex, line);
                Ok(())
            }
            _ => Err(SyntaxError::new(
                line,
                1,
                "cannot assign to this expression",
            )),
        }
    }

    fn local_slot(&self, name: &str) -> Option<u32> {
        self.locals.as_ref().and_then(|l| l.get(name).copied())
    }

    /// `local op= local` and `local op= constant` as one instruction. Only
    /// for locals: a global's `+=` stays a separate read and write, because
    /// another thread can get in between — that race is what the lab shows.
    fn fused_augmented(
        &mut self,
        name: &str,
        op: super::ast::BinOp,
        value: &Expr,
    ) -> Option<Instr> {
        let target = self.local_slot(name)?;
        match &value.kind {
            ExprKind::Name(source) => Some(Instr::AugLocal(op, target, self.local_slot(source)?)),
            ExprKind::Int(n) => Some(Instr::AugLocalConst(
                op,
                target,
                self.constant(Value::Int(*n)),
            )),
            ExprKind::Float(x) => Some(Instr::AugLocalConst(
                op,
                target,
                self.constant(Value::Float(*x)),
            )),
            _ => None,
        }
    }

    fn store(&mut self, target: &Expr, globals: &mut Globals) -> Result<(), SyntaxError> {
        let line = target.line;
        match &target.kind {
            ExprKind::Name(name) => {
                let local = self.locals.as_ref().and_then(|l| l.get(name).copied());
                match local {
                    Some(slot) => self.emit(Instr::StoreLocal(slot), line),
                    None => {
                        let slot = globals.slot(name);
                        self.emit(Instr::StoreGlobal(slot), line)
                    }
                };
                Ok(())
            }
            ExprKind::Index(container, index) => {
                // The value is on the stack; StoreIndex wants it on top.
                self.expression(container, globals)?;
                self.expression(index, globals)?;
                self.emit(Instr::StoreIndex, line);
                Ok(())
            }
            _ => Err(SyntaxError::new(
                line,
                1,
                "cannot assign to this expression",
            )),
        }
    }

    fn load_name(&mut self, name: &str, line: u32, globals: &mut Globals) {
        if let Some(&slot) = self.locals.as_ref().and_then(|l| l.get(name)) {
            self.emit(Instr::LoadLocal(slot), line);
        } else if let (false, Some(builtin)) =
            (globals.slots.contains_key(name), Builtin::named(name))
        {
            self.emit(Instr::LoadBuiltin(builtin), line);
        } else {
            let slot = globals.slot(name);
            self.emit(Instr::LoadGlobal(slot), line);
        }
    }

    fn expression(&mut self, expr: &Expr, globals: &mut Globals) -> Result<(), SyntaxError> {
        let line = expr.line;
        match &expr.kind {
            ExprKind::None => {
                self.emit(Instr::Const(0), line);
            }
            ExprKind::Bool(b) => self.push_constant(Value::Bool(*b), line),
            ExprKind::Int(n) => self.push_constant(Value::Int(*n), line),
            ExprKind::Float(x) => self.push_constant(Value::Float(*x), line),
            ExprKind::Str(s) => self.push_constant(Value::str(s), line),
            ExprKind::FString(parts) => {
                for part in parts {
                    match part {
                        FPart::Text(text) => self.push_constant(Value::str(text), line),
                        FPart::Field(e, digits) => {
                            self.expression(e, globals)?;
                            let digits = digits.map(|d| d.min(20) as u8);
                            self.emit(Instr::Format(digits), line);
                        }
                    }
                }
                self.emit(Instr::BuildString(parts.len() as u32), line);
            }
            ExprKind::Name(name) => self.load_name(name, line, globals),
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for item in items {
                    self.expression(item, globals)?;
                }
                let n = items.len() as u32;
                let build = if matches!(expr.kind, ExprKind::Tuple(_)) {
                    Instr::BuildTuple(n)
                } else {
                    Instr::BuildList(n)
                };
                self.emit(build, line);
            }
            ExprKind::Binary(op, a, b) => {
                self.expression(a, globals)?;
                self.expression(b, globals)?;
                self.emit(Instr::Binary(*op), line);
            }
            ExprKind::Compare(op, a, b) => {
                self.expression(a, globals)?;
                self.expression(b, globals)?;
                self.emit(Instr::Compare(*op), line);
            }
            ExprKind::Unary(op, a) => {
                self.expression(a, globals)?;
                let instr = match op {
                    super::ast::UnaryOp::Neg => Instr::Neg,
                    super::ast::UnaryOp::Pos => Instr::Pos,
                    super::ast::UnaryOp::Not => Instr::Not,
                };
                self.emit(instr, line);
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.expression(a, globals)?;
                let jump = if matches!(expr.kind, ExprKind::And(..)) {
                    Instr::JumpIfFalseOrPop(0)
                } else {
                    Instr::JumpIfTrueOrPop(0)
                };
                let at = self.emit(jump, line);
                self.expression(b, globals)?;
                self.patch(at);
            }
            ExprKind::IfElse(condition, yes, no) => {
                self.expression(condition, globals)?;
                let to_no = self.emit(Instr::PopJumpIfFalse(0), line);
                self.expression(yes, globals)?;
                let to_end = self.emit(Instr::Jump(0), line);
                self.patch(to_no);
                self.expression(no, globals)?;
                self.patch(to_end);
            }
            ExprKind::Call(callee, args, keywords) => {
                self.call(callee, args, keywords, line, globals)?
            }
            ExprKind::Attribute(object, name) => {
                self.expression(object, globals)?;
                let n = self.name(name);
                self.emit(Instr::LoadAttr(n), line);
            }
            ExprKind::Index(container, index) => {
                self.expression(container, globals)?;
                self.expression(index, globals)?;
                self.emit(Instr::Index, line);
            }
        }
        Ok(())
    }

    fn push_constant(&mut self, value: Value, line: u32) {
        let c = self.constant(value);
        self.emit(Instr::Const(c), line);
    }

    fn call(
        &mut self,
        callee: &Expr,
        args: &[Expr],
        keywords: &[(String, Expr)],
        line: u32,
        globals: &mut Globals,
    ) -> Result<(), SyntaxError> {
        let method = match &callee.kind {
            ExprKind::Attribute(object, name) => {
                self.expression(object, globals)?;
                Some(self.name(name))
            }
            _ => {
                self.expression(callee, globals)?;
                None
            }
        };
        for arg in args {
            self.expression(arg, globals)?;
        }
        for (_, value) in keywords {
            self.expression(value, globals)?;
        }
        let argc = (args.len() + keywords.len()) as u32;
        let kw = if keywords.is_empty() {
            None
        } else {
            let names: Vec<Value> = keywords.iter().map(|(n, _)| Value::str(n)).collect();
            Some(self.constant(Value::Tuple(Arc::from(names))))
        };
        let instr = match (method, kw) {
            (Some(name), None) => Instr::CallMethod(name, argc),
            (Some(name), Some(kw)) => Instr::CallMethodKw(name, argc, kw),
            (None, None) => Instr::Call(argc),
            (None, Some(kw)) => Instr::CallKw(argc, kw),
        };
        self.emit(instr, line);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first function the module defines.
    fn first_function(program: &Program) -> &Code {
        match program
            .main
            .consts
            .iter()
            .find(|c| matches!(c, Value::Function(_)))
        {
            Some(Value::Function(code)) => code,
            _ => panic!("the module defines no function"),
        }
    }

    #[test]
    fn function_variables_are_local_slots_and_module_variables_global() {
        let program = compile("x = 1\ndef f(a):\n    b = a + x\n    return b\n", "t.py").unwrap();
        assert!(program.globals.contains(&"x".to_string()));
        let f = first_function(&program);
        assert_eq!(f.locals, vec!["a".to_string(), "b".to_string()]);
        assert!(f.instrs.contains(&Instr::LoadLocal(0)));
        assert!(f.instrs.iter().any(|i| matches!(i, Instr::LoadGlobal(_))));
    }

    #[test]
    fn a_global_declaration_makes_a_function_write_the_global() {
        let program = compile("n = 0\ndef f():\n    global n\n    n += 1\n", "t.py").unwrap();
        let f = first_function(&program);
        assert!(f.locals.is_empty());
        assert!(f.instrs.iter().any(|i| matches!(i, Instr::StoreGlobal(_))));
    }

    #[test]
    fn loops_end_with_a_backward_jump_where_the_eval_breaker_is_checked() {
        let program = compile(
            "for i in range(3):\n    pass\nwhile False:\n    pass\n",
            "t.py",
        )
        .unwrap();
        let backward = program
            .main
            .instrs
            .iter()
            .filter(|i| matches!(i, Instr::JumpBack(_)))
            .count();
        assert_eq!(backward, 2);
    }

    #[test]
    fn local_loops_and_updates_use_superinstructions_but_globals_do_not() {
        let program = compile("g = 0\ndef f(n):\n    global g\n    t = 0\n    for i in range(n):\n        t += i\n        g += 1\n", "t.py").unwrap();
        let f = first_function(&program);
        assert!(
            f.instrs
                .iter()
                .any(|i| matches!(i, Instr::ForIterLocal(..)))
        );
        assert!(f.instrs.iter().any(|i| matches!(i, Instr::AugLocal(..))));
        // g += 1 stays a load, an add and a store: threads can interleave.
        assert!(f.instrs.iter().any(|i| matches!(i, Instr::LoadGlobal(_))));
        assert!(f.instrs.iter().any(|i| matches!(i, Instr::StoreGlobal(_))));
    }

    #[test]
    fn misplaced_statements_are_errors() {
        assert!(
            compile("return 1\n", "t.py")
                .unwrap_err()
                .message
                .contains("outside function")
        );
        assert!(
            compile("break\n", "t.py")
                .unwrap_err()
                .message
                .contains("outside loop")
        );
        assert!(
            compile("import os\n", "t.py")
                .unwrap_err()
                .message
                .contains("no module named 'os'")
        );
        assert!(
            compile("def f():\n    def g():\n        pass\n", "t.py")
                .unwrap_err()
                .message
                .contains("nested")
        );
    }
}
