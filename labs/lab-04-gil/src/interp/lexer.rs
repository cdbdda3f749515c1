//! The lexer: Python source text to tokens, with INDENT and DEDENT tokens
//! for the block structure, and a line and column on every token.

use super::SyntaxError;

/// One token of the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or a keyword (`def`, `while`, …): the parser tells them apart.
    Name(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// An f-string literal: its text, still holding the `{…}` fields.
    FStr(String),
    /// An operator or punctuation, e.g. `+=`, `(`, `:`.
    Op(&'static str),
    /// The end of a logical line.
    Newline,
    /// The start of an indented block.
    Indent,
    /// The end of an indented block.
    Dedent,
    /// The end of the source.
    Eof,
}

/// A token and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its line.
    pub line: u32,
    /// Its column.
    pub col: u32,
}

/// Operators, longest first so that `**=` wins over `**` and `*`.
const OPERATORS: [&str; 35] = [
    "**=", "//=", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "**", "//", "->", "+", "-",
    "*", "/", "%", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "@", "&", "|",
];

/// Splits `source` into tokens.
pub fn tokenize(source: &str) -> Result<Vec<Token>, SyntaxError> {
    Lexer {
        chars: source.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        tokens: Vec::new(),
        indents: vec![0],
        depth: 0,
    }
    .run()
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    /// The indentation of each open block; 0 at the bottom.
    indents: Vec<u32>,
    /// How many brackets are open: inside them, newlines do not end a line.
    depth: u32,
}

impl Lexer {
    fn run(mut self) -> Result<Vec<Token>, SyntaxError> {
        let mut at_line_start = true;
        while self.pos < self.chars.len() {
            if at_line_start && self.depth == 0 {
                at_line_start = false;
                if self.indentation()? {
                    // A blank or comment-only line: the next one starts a line too.
                    at_line_start = true;
                    continue;
                }
            }
            let c = self.chars[self.pos];
            match c {
                '\n' => {
                    // The newline token sits at the end of its own line.
                    if self.depth == 0 {
                        self.push_newline();
                        at_line_start = true;
                    }
                    self.bump();
                }
                ' ' | '\t' | '\r' | '\x0c' => {
                    self.bump();
                }
                '#' => self.skip_comment(),
                '\\' if self.peek(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                '0'..='9' => self.number()?,
                '.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
                '"' | '\'' => self.string(false)?,
                c if c.is_alphabetic() || c == '_' => self.name_or_prefixed_string()?,
                _ => self.operator()?,
            }
        }
        self.push_newline();
        while self.indents.len() > 1 {
            self.indents.pop();
            self.push(Tok::Dedent, self.line, 1);
        }
        self.push(Tok::Eof, self.line, self.col);
        Ok(self.tokens)
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> char {
        let c = self.chars[self.pos];
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        c
    }

    fn push(&mut self, tok: Tok, line: u32, col: u32) {
        self.tokens.push(Token { tok, line, col });
    }

    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.line, self.col, message)
    }

    /// Ends a logical line, unless it is empty.
    fn push_newline(&mut self) {
        let empty = matches!(
            self.tokens.last().map(|t| &t.tok),
            None | Some(Tok::Newline | Tok::Indent | Tok::Dedent)
        );
        if !empty {
            self.push(Tok::Newline, self.line, self.col);
        }
    }

    fn skip_comment(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos] != '\n' {
            self.bump();
        }
    }

    /// Measures a line's indentation and emits INDENT or DEDENTs. Returns true
    /// when the line was blank or a comment (nothing to indent).
    fn indentation(&mut self) -> Result<bool, SyntaxError> {
        let mut width = 0;
        while let Some(c) = self.peek(0) {
            match c {
                ' ' => width += 1,
                '\t' => width = (width / 8 + 1) * 8,
                '\r' | '\x0c' => {}
                _ => break,
            }
            self.bump();
        }
        match self.peek(0) {
            None | Some('\n') | Some('#') => {
                self.skip_comment();
                if self.peek(0) == Some('\n') {
                    self.bump();
                }
                return Ok(true);
            }
            _ => {}
        }
        let current = *self.indents.last().unwrap_or(&0);
        if width > current {
            self.indents.push(width);
            self.push(Tok::Indent, self.line, 1);
        } else {
            while width < *self.indents.last().unwrap_or(&0) {
                self.indents.pop();
                self.push(Tok::Dedent, self.line, self.col);
            }
            if width != *self.indents.last().unwrap_or(&0) {
                return Err(self.error("unindent does not match any outer indentation level"));
            }
        }
        Ok(false)
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        let (line, col) = (self.line, self.col);
        let mut text = String::new();
        let mut float = false;
        while let Some(c) = self.peek(0) {
            let exponent_sign = (c == '+' || c == '-') && text.ends_with(['e', 'E']);
            if c.is_ascii_digit() || c == '_' || exponent_sign {
                text.push(c);
            } else if c == '.' || c == 'e' || c == 'E' {
                float = true;
                text.push(c);
            } else {
                break;
            }
            self.bump();
        }
        if self.peek(0).is_some_and(|c| c.is_alphabetic()) {
            return Err(self.error("invalid number literal (only decimal numbers are supported)"));
        }
        let text = text.replace('_', "");
        let tok = if float {
            Tok::Float(
                text.parse()
                    .map_err(|_| SyntaxError::new(line, col, format!("invalid number {text:?}")))?,
            )
        } else {
            Tok::Int(text.parse().map_err(|_| {
                SyntaxError::new(
                    line,
                    col,
                    format!("integer {text} is too large: integers are 64-bit here"),
                )
            })?)
        };
        self.push(tok, line, col);
        Ok(())
    }

    fn name_or_prefixed_string(&mut self) -> Result<(), SyntaxError> {
        let (line, col) = (self.line, self.col);
        let mut name = String::new();
        while let Some(c) = self.peek(0) {
            if c.is_alphanumeric() || c == '_' {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        if matches!(self.peek(0), Some('"' | '\'')) {
            match name.as_str() {
                "f" | "F" => return self.string_at(true, line, col),
                "r" | "b" | "u" | "R" | "B" | "U" | "rb" | "br" => {
                    return Err(SyntaxError::new(
                        line,
                        col,
                        format!("{name}\"…\" strings are not supported: use plain or f-strings"),
                    ));
                }
                _ => {}
            }
        }
        self.push(Tok::Name(name), line, col);
        Ok(())
    }

    fn string(&mut self, formatted: bool) -> Result<(), SyntaxError> {
        let (line, col) = (self.line, self.col);
        self.string_at(formatted, line, col)
    }

    fn string_at(&mut self, formatted: bool, line: u32, col: u32) -> Result<(), SyntaxError> {
        let quote = self.bump();
        let triple = self.peek(0) == Some(quote) && self.peek(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let mut text = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(SyntaxError::new(line, col, "unterminated string literal"));
            };
            if c == quote {
                if !triple {
                    self.bump();
                    break;
                }
                if self.peek(1) == Some(quote) && self.peek(2) == Some(quote) {
                    self.bump();
                    self.bump();
                    self.bump();
                    break;
                }
            }
            if c == '\n' && !triple {
                return Err(SyntaxError::new(line, col, "unterminated string literal"));
            }
            self.bump();
            if c == '\\' {
                text.extend(self.escape()?);
            } else {
                text.push(c);
            }
        }
        let tok = if formatted {
            Tok::FStr(text)
        } else {
            Tok::Str(text)
        };
        self.push(tok, line, col);
        Ok(())
    }

    /// The character an escape stands for; none for a backslash-newline,
    /// which continues the string on the next line.
    fn escape(&mut self) -> Result<Option<char>, SyntaxError> {
        let Some(c) = self.peek(0) else {
            return Err(self.error("unterminated string literal"));
        };
        self.bump();
        Ok(Some(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            '\\' | '\'' | '"' => c,
            '\n' => return Ok(None),
            other => {
                return Err(self.error(format!("the escape \\{other} is not supported")));
            }
        }))
    }

    fn operator(&mut self) -> Result<(), SyntaxError> {
        let (line, col) = (self.line, self.col);
        for op in OPERATORS {
            let matches = op.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c));
            if matches {
                for _ in 0..op.chars().count() {
                    self.bump();
                }
                match op {
                    "(" | "[" | "{" => self.depth += 1,
                    ")" | "]" | "}" => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
                self.push(Tok::Op(op), line, col);
                return Ok(());
            }
        }
        Err(self.error(format!("unexpected character {:?}", self.chars[self.pos])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(source: &str) -> Vec<Tok> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn blocks_become_indent_and_dedent() {
        let t = toks("if x:\n    y = 1\nz\n");
        assert_eq!(
            t,
            vec![
                Tok::Name("if".into()),
                Tok::Name("x".into()),
                Tok::Op(":"),
                Tok::Newline,
                Tok::Indent,
                Tok::Name("y".into()),
                Tok::Op("="),
                Tok::Int(1),
                Tok::Newline,
                Tok::Dedent,
                Tok::Name("z".into()),
                Tok::Newline,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers_strings_and_operators() {
        let t = toks("a **= 10_000 // 2.5e1 'x\\n' \"\"\"doc\"\"\" f\"{a}\"");
        assert_eq!(t[1], Tok::Op("**="));
        assert_eq!(t[2], Tok::Int(10_000));
        assert_eq!(t[3], Tok::Op("//"));
        assert_eq!(t[4], Tok::Float(25.0));
        assert_eq!(t[5], Tok::Str("x\n".into()));
        assert_eq!(t[6], Tok::Str("doc".into()));
        assert_eq!(t[7], Tok::FStr("{a}".into()));
    }

    #[test]
    fn newlines_inside_brackets_do_not_end_the_line() {
        let t = toks("f(1,\n  2)\n");
        assert!(!t[..t.len() - 2].contains(&Tok::Newline));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let t = toks("# hello\n\nx = 1  # one\n\n   # indented comment\ny = 2\n");
        assert_eq!(t.iter().filter(|t| **t == Tok::Newline).count(), 2);
        assert!(!t.contains(&Tok::Indent));
        // A blank line before a dedent still dedents.
        let t = toks("if a:\n    b\n\nc\n");
        assert_eq!(t.iter().filter(|t| **t == Tok::Dedent).count(), 1);
        assert_eq!(t[t.len() - 3], Tok::Name("c".into()));
    }

    #[test]
    fn errors_have_a_position() {
        let e = tokenize("x = 1\ny = 'open\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 5));
        let e = tokenize("if x:\n        a\n    b\n").unwrap_err();
        assert!(e.message.contains("unindent"), "{e:?}");
        assert!(
            tokenize("x = 99999999999999999999\n")
                .unwrap_err()
                .message
                .contains("64-bit")
        );
    }
}
