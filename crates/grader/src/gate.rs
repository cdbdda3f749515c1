//! The source gate: reads a submission's `exercises.rs` before it is built
//! and refuses the names that only an attack on the grader needs.
//!
//! A test's process runs the student's code, so that code could compile the
//! instructor's files into itself (`#[path]`, `include_str!`), run before
//! libtest does (a constructor in `.init_array`), end the process before
//! libtest reports (`std::process::exit`), or write a forged report past
//! libtest's capture (`std::io::stdout()`, `/dev/stdout`, raw descriptors).
//! Each of these needs a name — an attribute, a macro, a function, a path
//! or the report's text — and the gate refuses the file when one appears.
//!
//! The gate works on tokens, not on syn's syntax tree: syn leaves the
//! arguments of every macro invocation (and every `macro_rules!` body) as
//! opaque token streams, and a denied name spelled inside `println!(…)` or
//! passed to a `macro_rules!` as `e!(exit)` is as dangerous as one written
//! out. So every token tree of the file is walked. syn decodes literals
//! (escapes such as `"\x2fdev/stdout"`), and `concat!`/`stringify!` pieces
//! are joined before the text is checked.
//!
//! It is a name-level check: code that builds a name at run time — a path
//! assembled with `format!`, the report's text pushed a character at a time —
//! can still evade it. The sandbox and the verdict (a pass is libtest's own
//! report, with a clean exit) stay the defence behind it.

use crate::config::GateConfig;
use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use std::collections::BTreeSet;
use std::fmt;

/// What kind of token a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An identifier inside `#[…]` or `#![…]` (so also inside `unsafe(…)`
    /// and `cfg_attr(…)`).
    Attribute,
    /// A built-in macro; refused wherever its name appears, except `env`,
    /// which is also `std::env`, and is refused only when invoked or renamed.
    Macro,
    /// An identifier anywhere in the file.
    Ident,
    /// Text inside a literal, or joined by `concat!`/`stringify!`.
    Text,
    /// The `unsafe` keyword.
    Unsafe,
    /// An `extern` block (a foreign module).
    Foreign,
    /// A `macro_rules!` metavariable used as a macro's name, in an attribute
    /// or in `concat!`/`stringify!`: it hides a name from the other rules.
    Metavariable,
}

/// One thing the gate refuses by default, and why.
struct Rule {
    name: &'static str,
    kind: Kind,
    reason: &'static str,
}

const PATH: &str =
    "makes a module out of another file; a submission is this one file, so write the code here";
const CONSTRUCTOR: &str = "places code or data where the loader runs it before any test (a constructor); remove the attribute";
const SYMBOL: &str =
    "replaces a symbol that the test program or the C library links to; remove the attribute";
const ASSEMBLY: &str =
    "is assembly, which runs past every check the grader makes; write the code in Rust";
const INCLUDE: &str = "reads another file into the build (the hidden tests, the instructor's solution); write what you need in this file";
const ENV: &str = "reads the grading machine's environment while building; leave it out";
const EXIT: &str = "ends or replaces the test's process before the test harness reports its result; return a value or an error (or panic) instead";
const STREAM: &str =
    "writes past the test harness's capture of output; print with println! or eprintln! instead";
const DESCRIPTOR: &str = "works on raw file descriptors, which reach the test's own output; use the std or nix types the lab shows";
const OWN_FILE: &str =
    "names the test's own output or memory as a file; print with println! or eprintln! instead";
const REPORT: &str = "is text of the test harness's own report, which only a forgery prints; word your output differently";

const fn rule(name: &'static str, kind: Kind, reason: &'static str) -> Rule {
    Rule { name, kind, reason }
}

/// The default deny list. A lab's `[gate] allow` removes names from it.
const RULES: &[Rule] = &[
    rule("path", Kind::Attribute, PATH),
    rule("link_section", Kind::Attribute, CONSTRUCTOR),
    rule("used", Kind::Attribute, CONSTRUCTOR),
    rule("no_mangle", Kind::Attribute, SYMBOL),
    rule("export_name", Kind::Attribute, SYMBOL),
    rule("link_name", Kind::Attribute, SYMBOL),
    rule(
        "link",
        Kind::Attribute,
        "links a native library into the test program; use the lab's Rust dependencies instead",
    ),
    rule(
        "global_allocator",
        Kind::Attribute,
        "replaces the memory allocator of the whole test program; remove it",
    ),
    rule("naked", Kind::Attribute, ASSEMBLY),
    rule(
        "extern",
        Kind::Foreign,
        "declares foreign functions that call the C library or the kernel past Rust's checks; use std or nix instead",
    ),
    rule("asm", Kind::Macro, ASSEMBLY),
    rule("global_asm", Kind::Macro, ASSEMBLY),
    rule("naked_asm", Kind::Macro, ASSEMBLY),
    rule("include", Kind::Macro, INCLUDE),
    rule("include_str", Kind::Macro, INCLUDE),
    rule("include_bytes", Kind::Macro, INCLUDE),
    rule("env", Kind::Macro, ENV),
    rule("option_env", Kind::Macro, ENV),
    rule("exit", Kind::Ident, EXIT),
    rule("_exit", Kind::Ident, EXIT),
    rule("exit_group", Kind::Ident, EXIT),
    rule("syscall", Kind::Ident, EXIT),
    rule("exec", Kind::Ident, EXIT),
    rule("execv", Kind::Ident, EXIT),
    rule("execve", Kind::Ident, EXIT),
    rule("execveat", Kind::Ident, EXIT),
    rule("execvp", Kind::Ident, EXIT),
    rule("execvpe", Kind::Ident, EXIT),
    rule("fexecve", Kind::Ident, EXIT),
    rule("execl", Kind::Ident, EXIT),
    rule("execle", Kind::Ident, EXIT),
    rule("execlp", Kind::Ident, EXIT),
    rule("stdout", Kind::Ident, STREAM),
    rule("stderr", Kind::Ident, STREAM),
    rule("from_raw_fd", Kind::Ident, DESCRIPTOR),
    rule("borrow_raw", Kind::Ident, DESCRIPTOR),
    rule("dup2", Kind::Ident, DESCRIPTOR),
    rule("dup2_raw", Kind::Ident, DESCRIPTOR),
    rule("dup2_stdout", Kind::Ident, DESCRIPTOR),
    rule("dup2_stderr", Kind::Ident, DESCRIPTOR),
    rule("dup3", Kind::Ident, DESCRIPTOR),
    rule("dup3_raw", Kind::Ident, DESCRIPTOR),
    rule("pidfd_getfd", Kind::Ident, DESCRIPTOR),
    rule(
        "libc",
        Kind::Ident,
        "calls the C library directly, past Rust's and the grader's checks; use std or nix instead",
    ),
    rule("/dev/stdout", Kind::Text, OWN_FILE),
    rule("/dev/stderr", Kind::Text, OWN_FILE),
    rule("/dev/fd", Kind::Text, OWN_FILE),
    rule("/dev/tty", Kind::Text, OWN_FILE),
    rule("/proc/self/fd", Kind::Text, OWN_FILE),
    rule("/proc/thread-self/fd", Kind::Text, OWN_FILE),
    rule("/proc/self/mem", Kind::Text, OWN_FILE),
    rule("test result", Kind::Text, REPORT),
    rule("... ok", Kind::Text, REPORT),
    rule("running 1 test", Kind::Text, REPORT),
    rule(
        "unsafe",
        Kind::Unsafe,
        "is unsafe code, which this lab's exercises do not need; write it in safe Rust (the lab's helpers, std and nix have safe versions)",
    ),
    rule(
        "macro-metavariable",
        Kind::Metavariable,
        "a macro_rules! metavariable stands for a macro's name, an attribute or concat!/stringify! text, which hides what the code does; write it out",
    ),
];

const DENIED_BY_LAB: &str = "is not allowed in this lab (its grading.toml denies it)";

/// The names of every default rule: what `[gate] allow` may list.
pub fn rule_names() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.name)
}

/// One reason the gate refuses a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusal {
    /// The 1-based line of the offending token.
    pub line: usize,
    /// The rule's name, as `[gate] allow` and `deny` spell it.
    pub rule: String,
    /// What was found and what to do instead, in one sentence.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The rules in force for one lab: the defaults minus `allow`, plus `deny`.
struct Active<'a> {
    rules: Vec<&'a Rule>,
    denied: Vec<String>,
}

impl Active<'_> {
    fn find(&self, kind: Kind, name: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .copied()
            .find(|r| r.kind == kind && r.name == name)
    }

    fn has(&self, kind: Kind) -> Option<&Rule> {
        self.rules.iter().copied().find(|r| r.kind == kind)
    }
}

/// Checks a submission's `exercises.rs` under a lab's gate configuration:
/// every refusal, by line (empty when the file may be built).
pub fn check(source: &str, config: &GateConfig) -> Vec<Refusal> {
    let active = Active {
        rules: RULES
            .iter()
            .filter(|r| !config.allow.iter().any(|a| a == r.name))
            .collect(),
        denied: config.deny.clone(),
    };
    // rustc skips a first line that starts with `#!` but is no inner
    // attribute; the lexer would not, so blank it (keeping line numbers).
    let source = match source.strip_prefix("#!") {
        Some(rest) if !rest.trim_start().starts_with('[') => {
            &source[source.find('\n').unwrap_or(source.len())..]
        }
        _ => source,
    };
    let mut scan = Scan {
        active: &active,
        found: BTreeSet::new(),
    };
    match source.parse::<TokenStream>() {
        Ok(tokens) => scan.walk(tokens, Context::default()),
        Err(error) => {
            // A file without valid tokens would not compile either, but
            // the gate cannot vouch for what it cannot read.
            scan.found.insert(Refusal {
                line: error.span().start().line,
                rule: "tokens".into(),
                reason: format!(
                    "the file is not valid Rust, so the gate cannot read it ({error}); fix it so it compiles"
                ),
            });
        }
    }
    scan.found.into_iter().collect()
}

/// Where in the file the walk is.
#[derive(Debug, Clone, Copy, Default)]
struct Context {
    /// Inside `#[…]`.
    attribute: bool,
    /// Inside `#[doc …]` outside any macro: its text is documentation only.
    doc: bool,
    /// Inside a macro invocation's arguments or a `macro_rules!` body, where
    /// tokens may be re-arranged into anything.
    macro_input: bool,
}

struct Scan<'a> {
    active: &'a Active<'a>,
    found: BTreeSet<Refusal>,
}

impl Scan<'_> {
    fn refuse(&mut self, line: usize, rule: &Rule, shown: &str) {
        self.found.insert(Refusal {
            line,
            rule: rule.name.to_string(),
            reason: format!("{shown} {}", rule.reason),
        });
    }

    fn walk(&mut self, stream: TokenStream, context: Context) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1);
            match token {
                TokenTree::Group(group) => {
                    let mut inner = context;
                    let after_hash = |back: usize| {
                        i >= back
                            && matches!(&tokens[i - back], TokenTree::Punct(p) if p.as_char() == '#')
                    };
                    let inner_attribute = i >= 2
                        && after_hash(2)
                        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '!');
                    if group.delimiter() == Delimiter::Bracket && (after_hash(1) || inner_attribute)
                    {
                        inner.attribute = true;
                        let first = group.stream().into_iter().next();
                        inner.doc = !context.macro_input
                            && matches!(&first, Some(TokenTree::Ident(id)) if id == "doc");
                    }
                    let invocation = i >= 2
                        && is_bang(&tokens[i - 1])
                        && matches!(&tokens[i - 2], TokenTree::Ident(_));
                    let macro_rules = i >= 3
                        && matches!(&tokens[i - 3], TokenTree::Ident(id) if id == "macro_rules");
                    if invocation || macro_rules {
                        inner.macro_input = true;
                    }
                    self.walk(group.stream(), inner);
                }
                TokenTree::Ident(ident) => self.ident(ident, next, &tokens[i + 1..], context),
                TokenTree::Punct(punct) => {
                    // `$name!`: a macro called by a name the caller passes in.
                    if punct.as_char() == '$'
                        && matches!(next, Some(TokenTree::Ident(_)))
                        && tokens.get(i + 2).is_some_and(is_bang)
                    {
                        self.metavariable(punct.span().start().line, "`$…!`");
                    } else if punct.as_char() == '$' && context.attribute {
                        self.metavariable(punct.span().start().line, "`#[$…]`");
                    }
                }
                TokenTree::Literal(literal) => {
                    if !context.doc {
                        self.text(literal.span().start().line, &literal_text(literal), "text");
                    }
                }
            }
        }
    }

    fn metavariable(&mut self, line: usize, shown: &str) {
        if let Some(rule) = self.active.has(Kind::Metavariable) {
            self.refuse(line, rule, &format!("{shown}:"));
        }
    }

    fn ident(
        &mut self,
        ident: &proc_macro2::Ident,
        next: Option<&TokenTree>,
        rest: &[TokenTree],
        context: Context,
    ) {
        let text = ident.to_string();
        // `r#exit` names the same function as `exit`.
        let name = text.strip_prefix("r#").unwrap_or(&text);
        let line = ident.span().start().line;
        let invoked = next.is_some_and(is_bang);
        if name == "unsafe"
            && let Some(rule) = self.active.has(Kind::Unsafe)
        {
            self.refuse(line, rule, "`unsafe`");
        }
        if context.attribute
            && let Some(rule) = self.active.find(Kind::Attribute, name)
        {
            self.refuse(line, rule, &format!("#[{name}]"));
        }
        // `use std::env as e;` imports the `env!` macro under another name
        // (and the module, which nobody needs to rename).
        let renamed = matches!(next, Some(TokenTree::Ident(id)) if id == "as");
        if let Some(rule) = self.active.find(Kind::Macro, name)
            && (invoked || renamed || name != "env")
        {
            self.refuse(line, rule, &format!("{name}!"));
        }
        if let Some(rule) = self.active.find(Kind::Ident, name) {
            self.refuse(line, rule, &format!("`{name}`"));
        }
        if self.active.denied.iter().any(|d| d == name) {
            self.found.insert(Refusal {
                line,
                rule: name.to_string(),
                reason: format!("`{name}` {DENIED_BY_LAB}"),
            });
        }
        if name == "extern"
            && let Some(rule) = self.active.has(Kind::Foreign)
        {
            // `extern "C" { … }` or `extern { … }`; not `extern "C" fn`.
            let block = match rest.first() {
                Some(TokenTree::Literal(_)) => rest.get(1),
                other => other,
            };
            if matches!(block, Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace) {
                self.refuse(line, rule, "an `extern` block");
            }
        }
        if (name == "concat" || name == "stringify")
            && invoked
            && let Some(TokenTree::Group(group)) = rest.get(1)
        {
            if contains_dollar(group.stream()) {
                self.metavariable(line, &format!("`{name}!($…)`:"));
            }
            let joined = if name == "concat" {
                joined_text(group.stream())
            } else {
                group.stream().to_string()
            };
            self.text(line, &joined, &format!("{name}!"));
        }
    }

    /// Refuses `text` if it holds a denied path or report text.
    fn text(&mut self, line: usize, text: &str, what: &str) {
        let normal = normalize(text);
        let rules: Vec<&Rule> = self
            .active
            .rules
            .iter()
            .copied()
            .filter(|r| r.kind == Kind::Text && contains_text(&normal, r.name))
            .collect();
        for rule in rules {
            self.refuse(line, rule, &format!("{what} containing {:?}", rule.name));
        }
    }
}

fn is_bang(token: &TokenTree) -> bool {
    matches!(token, TokenTree::Punct(p) if p.as_char() == '!' && p.spacing() == Spacing::Alone)
}

fn contains_dollar(stream: TokenStream) -> bool {
    stream.into_iter().any(|t| match t {
        TokenTree::Punct(p) => p.as_char() == '$',
        TokenTree::Group(g) => contains_dollar(g.stream()),
        _ => false,
    })
}

/// A literal's value, escapes decoded (so `"\x2fdev"` is `/dev`).
fn literal_text(literal: &proc_macro2::Literal) -> String {
    match syn::Lit::new(literal.clone()) {
        syn::Lit::Str(s) => s.value(),
        syn::Lit::ByteStr(s) => String::from_utf8_lossy(&s.value()).into_owned(),
        syn::Lit::CStr(s) => s.value().to_string_lossy().into_owned(),
        syn::Lit::Char(c) => c.value().to_string(),
        syn::Lit::Byte(b) => char::from(b.value()).to_string(),
        syn::Lit::Int(i) => i.base10_digits().to_string(),
        syn::Lit::Float(f) => f.base10_digits().to_string(),
        syn::Lit::Bool(b) => b.value.to_string(),
        _ => literal.to_string(),
    }
}

/// What `concat!` makes of its arguments: the literals' values joined,
/// nested `concat!`s and `stringify!`s included.
fn joined_text(stream: TokenStream) -> String {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Literal(literal) => out.push_str(&literal_text(literal)),
            TokenTree::Ident(ident) => {
                if let (Some(bang), Some(TokenTree::Group(group))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                    && is_bang(bang)
                {
                    if ident == "stringify" {
                        out.push_str(&group.stream().to_string());
                    } else if ident == "concat" {
                        out.push_str(&joined_text(group.stream()));
                    }
                    i += 3;
                    continue;
                }
                // `true`, `false`, or a path the compiler would reject.
                out.push_str(&ident.to_string());
            }
            TokenTree::Group(group) => out.push_str(&joined_text(group.stream())),
            TokenTree::Punct(_) => {}
        }
        i += 1;
    }
    out
}

/// Text as the rules compare it: lower case, whitespace runs as one space,
/// and `//`, `/./` and `dir/..` in paths resolved (`/dev//stdout` and
/// `/dev/x/../stdout` are `/dev/stdout`).
fn normalize(text: &str) -> String {
    let spaced = text
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !spaced.contains('/') {
        return spaced;
    }
    let mut parts: Vec<&str> = Vec::new();
    for (index, part) in spaced.split('/').enumerate() {
        match part {
            "" | "." if index > 0 => {}
            ".." if parts.len() > 1 => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let mut joined = parts.join("/");
    if spaced.ends_with('/') {
        joined.push('/');
    }
    joined
}

/// Whether `pattern` occurs in `text` as the start of a word: `latest
/// result` does not contain the report's `test result`.
fn contains_text(text: &str, pattern: &str) -> bool {
    text.match_indices(pattern).any(|(at, _)| {
        !pattern.starts_with(|c: char| c.is_alphanumeric())
            || !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (rule, line) of every refusal under the default rules.
    fn refused(source: &str) -> Vec<(String, usize)> {
        refused_with(source, &GateConfig::default())
    }

    fn refused_with(source: &str, config: &GateConfig) -> Vec<(String, usize)> {
        check(source, config)
            .into_iter()
            .map(|r| (r.rule, r.line))
            .collect()
    }

    fn one(rule: &str, line: usize) -> Vec<(String, usize)> {
        vec![(rule.to_string(), line)]
    }

    #[test]
    fn a_path_attribute_is_refused_however_it_is_spelled() {
        let attack = "pub fn f() {}\n#[path = \"../../../../labs/lab-01-threads-and-processes/src/exercises.rs\"]\nmod instructor;\npub use instructor::*;\n";
        assert_eq!(refused(attack), one("path", 2));
        let in_cfg_attr = "\n#[cfg_attr(all(), path = \"x.rs\")]\nmod m;\n";
        assert_eq!(refused(in_cfg_attr), one("path", 2));
        let in_a_fn = "fn f() {\n    #[path = \"x.rs\"] mod m;\n}\n";
        assert_eq!(refused(in_a_fn), one("path", 2));
        let through_a_macro =
            "macro_rules! m { ($p:literal) => { #[path = $p] mod x; } }\nm!(\"x.rs\");\n";
        assert_eq!(
            refused(through_a_macro),
            [("macro-metavariable".to_string(), 1), ("path".into(), 1)]
        );
        let name_passed_in =
            "macro_rules! m { ($a:ident) => { #[$a = \"x.rs\"] mod x; } }\nm!(path);\n";
        assert_eq!(refused(name_passed_in), one("macro-metavariable", 1));
    }

    #[test]
    fn constructors_and_symbol_attributes_are_refused_also_in_unsafe() {
        let constructor = "\n#[used]\n#[unsafe(link_section = \".init_array\")]\nstatic INIT: extern \"C\" fn() = init;\n";
        let all = check(constructor, &GateConfig::default());
        let rules: Vec<(&str, usize)> = all.iter().map(|r| (r.rule.as_str(), r.line)).collect();
        assert_eq!(rules, [("used", 2), ("link_section", 3), ("unsafe", 3)]);
        assert!(all[1].reason.starts_with("#[link_section] places code"));
        for attribute in [
            "no_mangle",
            "export_name = \"main\"",
            "link(name = \"c\")",
            "link_name = \"x\"",
            "global_allocator",
            "naked",
        ] {
            let source = format!("\n\n#[unsafe({attribute})]\nfn f() {{}}\n");
            let name = attribute.split([' ', '(']).next().unwrap();
            assert!(
                refused(&source).contains(&(name.to_string(), 3)),
                "{attribute}"
            );
            let plain = format!("#[{attribute}]\nfn f() {{}}\n");
            assert_eq!(refused(&plain), one(name, 1), "{attribute}");
        }
    }

    #[test]
    fn a_constructor_inside_a_macro_or_a_test_body_is_refused() {
        let in_macro = "macro_rules! ctor { () => {\n    #[used]\n    #[unsafe(link_section = \".init_array\")]\n    static I: fn() = || {};\n} }\nctor!();\n";
        let rules: Vec<(String, usize)> = refused(in_macro);
        assert!(rules.contains(&("used".into(), 2)), "{rules:?}");
        assert!(rules.contains(&("link_section".into(), 3)), "{rules:?}");
        let in_body = "pub fn f() -> u64 {\n    #[used] #[unsafe(link_section = \".init_array\")]\n    static I: fn() = g;\n    0\n}\n";
        assert!(refused(in_body).contains(&("link_section".into(), 2)));
    }

    #[test]
    fn file_and_environment_macros_are_refused() {
        let source = "fn f() {\n    let hidden = include_str!(\"../tests/hidden.rs\");\n    assert_eq!(hidden, \"\");\n}\n";
        assert_eq!(refused(source), one("include_str", 2));
        assert_eq!(
            refused("const B: &[u8] = core::include_bytes!(\"x\");"),
            one("include_bytes", 1)
        );
        assert_eq!(refused("fn f() { include!(\"x.rs\"); }"), one("include", 1));
        assert_eq!(refused("const H: &str = env!(\"HOME\");"), one("env", 1));
        assert_eq!(
            refused("use std::env as e;\nconst H: &str = e!(\"HOME\");"),
            one("env", 1)
        );
        assert_eq!(refused("use std::env;\nfn f() { env::args(); }"), []);
        assert_eq!(
            refused("\nconst H: Option<&str> = option_env!(\"HOME\");"),
            one("option_env", 2)
        );
        // Passed to a macro as a name: the name itself is refused, and a
        // macro called through a metavariable is refused too.
        let passed =
            "macro_rules! m { ($f:ident) => { $f!(\"x\") } }\nconst S: &str = m!(include_str);\n";
        assert_eq!(
            refused(passed),
            [
                ("macro-metavariable".to_string(), 1),
                ("include_str".into(), 2)
            ]
        );
    }

    #[test]
    fn exits_and_execs_are_refused_also_through_macros() {
        assert_eq!(
            refused("fn f() {\n    std::process::exit(0)\n}"),
            one("exit", 2)
        );
        let through_macro =
            "macro_rules! e { ($f:ident) => { std::process::$f(0) } }\n\nfn f() { e!(exit); }\n";
        assert_eq!(refused(through_macro), one("exit", 3));
        assert_eq!(refused("use std::process::exit as leave;"), one("exit", 1));
        assert_eq!(
            refused("fn f() { std::process::r#exit(0) }"),
            one("exit", 1)
        );
        assert_eq!(
            refused("fn f() { println!(\"{:?}\", std::process::exit(0)); }"),
            one("exit", 1)
        );
        for name in [
            "_exit",
            "exit_group",
            "syscall",
            "exec",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "fexecve",
            "execl",
        ] {
            let source = format!("fn f() {{ x::{name}(); }}");
            assert_eq!(refused(&source), one(name, 1), "{name}");
        }
    }

    #[test]
    fn writes_past_the_capture_are_refused() {
        let write = "use std::io::Write;\nfn f() {\n    let _ = std::io::stdout().write_all(b\"ok\\n\");\n}\n";
        assert_eq!(refused(write), one("stdout", 3));
        assert_eq!(
            refused("fn f() { let _ = std::io::stderr(); }"),
            one("stderr", 1)
        );
        for name in [
            "from_raw_fd",
            "borrow_raw",
            "dup2",
            "dup3",
            "libc",
            "pidfd_getfd",
        ] {
            let source = format!("fn f() {{ x::{name}(1); }}");
            assert_eq!(refused(&source), one(name, 1), "{name}");
        }
        let file = "fn f() {\n    std::fs::write(\"/dev/stdout\", \"ok\").unwrap();\n}\n";
        assert_eq!(refused(file), one("/dev/stdout", 2));
        for path in [
            "/dev/stderr",
            "/dev/fd/1",
            "/proc/self/fd/1",
            "/dev/tty",
            "/proc/self/mem",
        ] {
            let source = format!("const P: &str = {path:?};");
            assert_eq!(refused(&source).len(), 1, "{path}");
        }
        // Spelled with escapes, doubled slashes, `..`, in bytes, or joined.
        assert_eq!(
            refused(r#"const P: &str = "\x2fdev/std\u{6f}ut";"#),
            one("/dev/stdout", 1)
        );
        assert_eq!(
            refused(r#"const P: &str = "/dev//./x/../stdout";"#),
            one("/dev/stdout", 1)
        );
        assert_eq!(
            refused(r#"const P: &[u8] = b"/proc/self/fd/1";"#),
            one("/proc/self/fd", 1)
        );
        assert_eq!(
            refused(r#"const P: &str = concat!("/dev/", "std", 'o', "ut");"#),
            one("/dev/stdout", 1)
        );
    }

    #[test]
    fn the_reports_text_is_refused_also_when_joined() {
        assert_eq!(
            refused("fn f() {\n    println!(\"test result: ok. 1 passed\");\n}"),
            one("test result", 2)
        );
        assert_eq!(
            refused("const S: &str = \"test x ... ok\";"),
            one("... ok", 1)
        );
        assert_eq!(
            refused("const S: &str = \"\\nrunning 1 test\";"),
            one("running 1 test", 1)
        );
        let joined = "fn f() {\n    println!(\"{}\", concat!(\"test res\", \"ult: ok\"));\n}";
        assert_eq!(refused(joined), one("test result", 2));
        let nested = "const S: &str = concat!(stringify!(test), \" \", concat!(\"Result\"));";
        assert_eq!(refused(nested), one("test result", 1));
        assert_eq!(
            refused("const S: &str = stringify!(test result: ok);"),
            one("test result", 1)
        );
        let in_macro = "macro_rules! r { ($a:literal) => { concat!($a, \"ult: ok\") } }\nconst S: &str = r!(\"test res\");";
        assert_eq!(refused(in_macro), one("macro-metavariable", 1));
        // A word that merely ends like the report's is no report.
        assert_eq!(refused("const S: &str = \"the latest result\";"), []);
    }

    #[test]
    fn assembly_and_foreign_blocks_are_refused() {
        assert_eq!(
            refused("fn f() {\n    unsafe { std::arch::asm!(\"nop\") }\n}")[0],
            ("asm".to_string(), 2)
        );
        assert_eq!(
            refused("core::arch::global_asm!(\"\");"),
            one("global_asm", 1)
        );
        assert_eq!(
            refused("fn f() { naked_asm!(\"ret\") }"),
            one("naked_asm", 1)
        );
        let foreign =
            "\nunsafe extern \"C\" {\n    fn write(fd: i32, b: *const u8, n: usize) -> isize;\n}\n";
        assert_eq!(
            refused(foreign),
            [("extern".to_string(), 2), ("unsafe".into(), 2)]
        );
        assert_eq!(refused("extern { fn f(); }"), one("extern", 1));
        let in_macro = "macro_rules! m { () => { extern \"C\" { fn g(); } } }";
        assert_eq!(refused(in_macro), one("extern", 1));
        // A function with a C ABI declares nothing foreign.
        assert_eq!(refused("extern \"C\" fn f() {}"), []);
    }

    #[test]
    fn unsafe_is_refused_unless_the_lab_allows_it() {
        let source = "fn f() {\n    let _ = unsafe { nix::unistd::fork() };\n}\n";
        assert_eq!(refused(source), one("unsafe", 2));
        let allowed = GateConfig {
            allow: vec!["unsafe".into()],
            deny: vec![],
        };
        assert_eq!(refused_with(source, &allowed), []);
        assert_eq!(
            refused("unsafe fn f() {}\nunsafe impl Send for X {}"),
            [("unsafe".to_string(), 1), ("unsafe".into(), 2)]
        );
        assert_eq!(
            refused("fn f() { vec![unsafe { g() }]; }"),
            one("unsafe", 1)
        );
    }

    #[test]
    fn a_lab_can_deny_more_identifiers() {
        let config = GateConfig {
            allow: vec![],
            deny: vec!["spawn".into()],
        };
        let source = "fn f() {\n    std::thread::spawn(|| ());\n}";
        let refusals = check(source, &config);
        assert_eq!(refusals.len(), 1);
        assert_eq!((refusals[0].rule.as_str(), refusals[0].line), ("spawn", 2));
        assert!(refusals[0].to_string().contains("grading.toml denies it"));
        assert_eq!(refused(source), []);
    }

    #[test]
    fn ordinary_code_passes() {
        let source = r#"//! Exercises: documentation may say std::process::exit, "test result" or /dev/stdout.
use anyhow::{Context, Result};
use nix::sys::wait::{WaitStatus, waitpid};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Reads `/dev/stdout`? No: this comment is documentation, not code.
#[derive(Debug, Clone)]
#[allow(unused)]
#[cfg_attr(test, derive(PartialEq))]
pub struct Exited { pub code: i32, used: bool }

macro_rules! square { ($x:expr) => { $x * $x } }

pub fn run(out: &mut String, mut sink: impl Write) -> Result<u64> {
    writeln!(out, "{}", square!(3)).unwrap();
    write!(sink, "done").context("write")?;
    println!("running {} tests, all ok", 2);
    eprintln!("ok");
    let env = std::env::args().count();
    let status = Command::new("true").stdin(Stdio::null()).status()?;
    let _ = nix::unistd::fork;
    let _ = waitpid;
    let _: Option<WaitStatus> = None;
    let text = concat!("a", "b", 1, true);
    let _ = (env, status, text, stringify!(x + y));
    let _latest_result = "the latest result";
    Ok(0)
}

extern "C" fn callback() {}
"#;
        assert_eq!(refused(source), []);
    }

    #[test]
    fn a_file_that_is_not_rust_is_refused_with_its_line() {
        let refusals = check("fn f() {\n    let s = \"open;\n", &GateConfig::default());
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].rule, "tokens");
        let unbalanced = check("fn f() {\n\n", &GateConfig::default());
        assert_eq!(unbalanced[0].rule, "tokens");
    }

    #[test]
    fn every_default_can_be_allowed_by_name() {
        let names: Vec<&str> = rule_names().collect();
        assert!(names.contains(&"unsafe") && names.contains(&"test result"));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a rule is listed twice");
        let everything = GateConfig {
            allow: names.iter().map(|n| n.to_string()).collect(),
            deny: vec![],
        };
        let attack = "#[path = \"x\"] mod m;\nfn f() { unsafe { std::process::exit(0) } }";
        assert_eq!(refused_with(attack, &everything), []);
    }
}
