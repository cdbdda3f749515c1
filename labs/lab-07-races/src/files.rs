//! A race on a file between processes: several children add lines to the
//! same log, each opening it for itself, as separate programs would.
//!
//! "Find the end, then write there" is a read-then-write like the counter's:
//! two processes can find the same end, and the second write lands on the
//! first. `O_APPEND` makes the kernel find the end and write in one step;
//! `flock` makes the two steps one by locking the others out.

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// How a writer adds its line at the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Append {
    /// `lseek(fd, 0, SEEK_END)`, then `write`: two system calls.
    SeekThenWrite,
    /// The file opened with `O_APPEND`: each `write` goes to the end.
    OAppend,
    /// Seek then write, holding `flock(LOCK_EX)` over both.
    Flock,
}

/// Every way, in the order the experiment shows them.
pub const EVERY_WAY: [Append; 3] = [Append::SeekThenWrite, Append::OAppend, Append::Flock];

impl Append {
    /// The name used in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Append::SeekThenWrite => "seek_write",
            Append::OAppend => "o_append",
            Append::Flock => "flock",
        }
    }
}

/// Bytes in every line: fixed, so a line overwritten by another is lost
/// whole rather than torn (a torn line would be counted too).
pub const LINE: usize = 32;

/// Line `n` of writer `worker`: exactly `LINE` bytes, newline included.
pub fn line(worker: usize, n: usize) -> Vec<u8> {
    let mut text = format!("writer {worker:>4} line {n:>8}");
    text.truncate(LINE - 1);
    format!("{text:<width$}\n", width = LINE - 1).into_bytes()
}

// ANCHOR: append
/// Adds `lines` lines of writer `worker` to the file at `path`, the way `how`.
pub fn append_lines(path: &Path, worker: usize, lines: usize, how: Append) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .append(how == Append::OAppend)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    for n in 0..lines {
        let text = line(worker, n);
        match how {
            Append::SeekThenWrite => {
                file.seek(SeekFrom::End(0))?; // another writer can write here...
                file.write_all(&text)?; // ...before this lands on its line
            }
            Append::OAppend => file.write_all(&text)?, // the kernel seeks and writes at once
            Append::Flock => {
                let locked = Flock::lock(file, FlockArg::LockExclusive)
                    .map_err(|(_, e)| e)
                    .context("flock")?;
                let mut inner: &File = &locked;
                inner.seek(SeekFrom::End(0))?;
                inner.write_all(&text)?;
                file = locked.unlock().map_err(|(_, e)| e).context("unlock")?;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: append

/// What a file written by `workers` writers of `lines` lines each holds:
/// (lines missing, lines torn).
pub fn count_damage(contents: &[u8], workers: usize, lines: usize) -> (usize, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut torn = 0;
    for chunk in contents.split_inclusive(|&b| b == b'\n') {
        match parse(chunk).filter(|_| chunk.len() == LINE) {
            Some(id) => {
                seen.insert(id);
            }
            None => torn += 1,
        }
    }
    let missing = workers * lines - seen.len().min(workers * lines);
    (missing, torn)
}

/// The (writer, line) a well-formed line names.
fn parse(chunk: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(chunk).ok()?;
    let mut words = text.split_whitespace();
    let (w, worker, l, n) = (words.next()?, words.next()?, words.next()?, words.next()?);
    (w == "writer" && l == "line").then_some(())?;
    Some((worker.parse().ok()?, n.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_one_length_and_name_their_writer() {
        assert_eq!(line(3, 42).len(), LINE);
        assert_eq!(parse(&line(3, 42)), Some((3, 42)));
        assert_eq!(line(9999, 99_999_999).len(), LINE);
    }

    #[test]
    fn damage_counts_missing_and_torn_lines() {
        let mut file = [line(0, 0), line(0, 1), line(1, 0)].concat();
        assert_eq!(count_damage(&file, 2, 2), (1, 0));
        file.extend_from_slice(b"writer    1 li");
        assert_eq!(count_damage(&file, 2, 2), (1, 1));
    }
}
