//! How measured values are written for people: the same in the terminal and the book.

use crate::results::Unit;

/// A value with its unit, scaled to a readable magnitude ("2.00 s", "48.3 µs", "1.93×").
pub fn value(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Seconds => seconds(value),
        Unit::Times => format!("{}×", significant(value, 3)),
        Unit::Bytes => bytes(value),
        Unit::Count => count(value.round() as i64),
        Unit::Flag => (if value != 0.0 { "yes" } else { "no" }).to_string(),
        Unit::BytesPerSecond => format!("{}/s", bytes(value)),
        Unit::Percent => format!("{}%", significant(value, 3)),
    }
}

/// A whole number; from 10 000 on, with its digits grouped by thin spaces
/// ("157 398"), so that large counts can be read at a glance.
fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    if digits.len() <= 4 {
        return n.to_string();
    }
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push('\u{2009}');
        }
        grouped.push(digit);
    }
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

fn seconds(s: f64) -> String {
    let (scaled, suffix) = if s.abs() >= 1.0 {
        (s, "s")
    } else if s.abs() >= 1e-3 {
        (s * 1e3, "ms")
    } else if s.abs() >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    format!("{} {suffix}", significant(scaled, 3))
}

fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut scaled = b;
    let mut index = 0;
    while scaled.abs() >= 1024.0 && index + 1 < UNITS.len() {
        scaled /= 1024.0;
        index += 1;
    }
    if index == 0 {
        format!("{} B", b.round() as i64)
    } else {
        format!("{} {}", significant(scaled, 3), UNITS[index])
    }
}

/// `digits` significant digits, keeping trailing zeros ("2.00") because they
/// say how precise the number is.
pub fn significant(value: f64, digits: usize) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i64;
    let decimals = (digits as i64 - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_scale_to_a_readable_unit() {
        assert_eq!(value(2.0031, Unit::Seconds), "2.00 s");
        assert_eq!(value(0.0102, Unit::Seconds), "10.2 ms");
        assert_eq!(value(45.1e-6, Unit::Seconds), "45.1 µs");
        assert_eq!(value(812e-9, Unit::Seconds), "812 ns");
    }

    #[test]
    fn ratios_bytes_counts_and_flags() {
        assert_eq!(value(1.934, Unit::Times), "1.93×");
        assert_eq!(value(12.34, Unit::Times), "12.3×");
        assert_eq!(value(45.678, Unit::Percent), "45.7%");
        assert_eq!(value(3.0 * 1024.0 * 1024.0, Unit::Bytes), "3.00 MiB");
        assert_eq!(value(512.0, Unit::Bytes), "512 B");
        assert_eq!(value(41.6, Unit::Count), "42");
        assert_eq!(value(9999.0, Unit::Count), "9999");
        assert_eq!(value(157_398.0, Unit::Count), "157\u{2009}398");
        assert_eq!(value(-12_000.0, Unit::Count), "-12\u{2009}000");
        assert_eq!(value(1.0, Unit::Flag), "yes");
        assert_eq!(value(0.0, Unit::Flag), "no");
        assert_eq!(
            value(2.5 * 1024.0 * 1024.0 * 1024.0, Unit::BytesPerSecond),
            "2.50 GiB/s"
        );
    }
}
