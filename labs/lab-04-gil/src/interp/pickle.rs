//! What crosses to a `ProcessPoolExecutor`'s worker process and back: a
//! task (a function, by name, and its arguments) and its outcome, as bytes.
//!
//! CPython pickles a function by its qualified name, and the worker finds
//! it in its own copy of the module; so do we. Numbers, strings, `None`,
//! booleans, tuples and lists cross by value; threads, locks, pools and
//! futures cannot cross at all, as in CPython ("cannot pickle").

use super::PyError;
use super::value::{Value, lock_list};
use std::sync::{Arc, Mutex};

const NONE: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const TUPLE: u8 = 6;
const LIST: u8 = 7;
const FUNCTION: u8 = 8;

/// How deeply values may nest to be sent (CPython's pickle stops at its
/// recursion limit too; a list that holds itself would never end).
const MAX_DEPTH: usize = 100;

/// Appends `value` to `out`; functions go by name.
pub fn encode(value: &Value, out: &mut Vec<u8>) -> Result<(), PyError> {
    encode_nested(value, out, 0)
}

fn encode_nested(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), PyError> {
    if depth > MAX_DEPTH {
        return Err(PyError::new(
            "RecursionError",
            "maximum recursion depth exceeded while pickling an object",
        ));
    }
    let sequence = |items: &[Value], out: &mut Vec<u8>| -> Result<(), PyError> {
        out.extend_from_slice(&(items.len() as u64).to_le_bytes());
        items
            .iter()
            .try_for_each(|item| encode_nested(item, out, depth + 1))
    };
    match value {
        Value::None => out.push(NONE),
        Value::Bool(b) => out.push(if *b { TRUE } else { FALSE }),
        Value::Int(n) => {
            out.push(INT);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(FLOAT);
            out.extend_from_slice(&x.to_le_bytes());
        }
        Value::Str(s) => {
            out.push(STR);
            text(s, out);
        }
        Value::Tuple(items) => {
            out.push(TUPLE);
            sequence(items, out)?;
        }
        Value::List(items) => {
            out.push(LIST);
            // A copy, so that no lock is held while the items are encoded
            // (a list may hold itself).
            let copy = lock_list(items).clone();
            sequence(&copy, out)?;
        }
        Value::Function(code) => {
            out.push(FUNCTION);
            text(&code.name, out);
        }
        other => {
            return Err(PyError::new(
                "TypeError",
                format!("cannot pickle '{}' object", other.type_name()),
            ));
        }
    }
    Ok(())
}

fn text(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads one value from the front of `bytes`; a function's name is looked
/// up with `function`.
pub fn decode(
    bytes: &mut &[u8],
    function: &dyn Fn(&str) -> Result<Value, PyError>,
) -> Result<Value, PyError> {
    let tag = take(bytes, 1)?[0];
    Ok(match tag {
        NONE => Value::None,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        INT => Value::Int(i64::from_le_bytes(eight(bytes)?)),
        FLOAT => Value::Float(f64::from_le_bytes(eight(bytes)?)),
        STR => Value::str(&read_text(bytes)?),
        TUPLE => Value::Tuple(read_sequence(bytes, function)?.into()),
        LIST => Value::List(Arc::new(Mutex::new(read_sequence(bytes, function)?))),
        FUNCTION => function(&read_text(bytes)?)?,
        other => return Err(broken(&format!("unknown tag {other}"))),
    })
}

fn broken(what: &str) -> PyError {
    PyError::new(
        "BrokenProcessPool",
        format!("a message from a worker process was cut short or garbled ({what})"),
    )
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], PyError> {
    if bytes.len() < n {
        return Err(broken("too short"));
    }
    let (front, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(front)
}

fn eight(bytes: &mut &[u8]) -> Result<[u8; 8], PyError> {
    Ok(take(bytes, 8)?.try_into().expect("eight bytes"))
}

fn read_text(bytes: &mut &[u8]) -> Result<String, PyError> {
    let len = u64::from_le_bytes(eight(bytes)?) as usize;
    String::from_utf8(take(bytes, len)?.to_vec()).map_err(|_| broken("not UTF-8"))
}

fn read_sequence(
    bytes: &mut &[u8],
    function: &dyn Fn(&str) -> Result<Value, PyError>,
) -> Result<Vec<Value>, PyError> {
    let len = u64::from_le_bytes(eight(bytes)?) as usize;
    (0..len).map(|_| decode(bytes, function)).collect()
}

/// A task's outcome as bytes: its value, or its exception's type and message.
pub fn encode_outcome(outcome: &Result<Value, PyError>) -> Vec<u8> {
    let mut out = Vec::new();
    let failure = match outcome {
        Ok(value) => match encode(value, &mut out) {
            Ok(()) => return [vec![0], out].concat(),
            Err(error) => error,
        },
        Err(error) => error.clone(),
    };
    out.clear();
    out.push(1);
    text(failure.kind, &mut out);
    text(&failure.message, &mut out);
    out
}

/// The outcome [`encode_outcome`] wrote. An exception keeps its type when
/// it is one this interpreter knows.
pub fn decode_outcome(mut bytes: &[u8]) -> Result<Value, PyError> {
    let bytes = &mut bytes;
    match take(bytes, 1)?[0] {
        0 => decode(bytes, &|name| {
            Err(PyError::new(
                "TypeError",
                format!("a worker returned the function {name}: functions cannot come back"),
            ))
        }),
        _ => {
            let kind = known_kind(&read_text(bytes)?);
            Err(PyError::new(kind, read_text(bytes)?))
        }
    }
}

/// The `'static` name of an exception type this interpreter raises.
fn known_kind(name: &str) -> &'static str {
    const KINDS: [&str; 16] = [
        "ZeroDivisionError",
        "OverflowError",
        "TypeError",
        "ValueError",
        "NameError",
        "IndexError",
        "AttributeError",
        "AssertionError",
        "RuntimeError",
        "RecursionError",
        "UnboundLocalError",
        "OSError",
        "KeyError",
        "SystemError",
        "BrokenProcessPool",
        "ImportError",
    ];
    KINDS
        .iter()
        .copied()
        .find(|k| *k == name)
        .unwrap_or("Exception")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) -> Value {
        let mut bytes = Vec::new();
        encode(value, &mut bytes).unwrap();
        let mut slice = &bytes[..];
        let back = decode(&mut slice, &|name| Ok(Value::str(name))).unwrap();
        assert!(slice.is_empty(), "bytes left over");
        back
    }

    #[test]
    fn plain_values_cross_by_value() {
        let list = Value::List(Arc::new(Mutex::new(vec![
            Value::Int(-3),
            Value::Float(0.5),
        ])));
        let value = Value::Tuple(Arc::from(vec![
            Value::str("é"),
            Value::None,
            Value::Bool(true),
            list,
        ]));
        assert_eq!(round_trip(&value).to_string(), value.to_string());
    }

    #[test]
    fn a_lock_cannot_cross_and_an_error_keeps_its_type() {
        let lock = Value::Lock(Arc::default());
        let err = encode(&lock, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind, "TypeError");
        assert!(err.message.contains("cannot pickle 'lock'"));
        let outcome = Err(PyError::new("ZeroDivisionError", "division by zero"));
        let back = decode_outcome(&encode_outcome(&outcome)).unwrap_err();
        assert_eq!(
            (back.kind, back.message.as_str()),
            ("ZeroDivisionError", "division by zero")
        );
        let value = decode_outcome(&encode_outcome(&Ok(Value::Int(49)))).unwrap();
        assert_eq!(value.to_string(), "49");
    }

    #[test]
    fn cut_bytes_are_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        encode(&Value::str("hello"), &mut bytes).unwrap();
        for end in 0..bytes.len() {
            let mut slice = &bytes[..end];
            assert!(decode(&mut slice, &|_| Ok(Value::None)).is_err());
        }
    }
}
