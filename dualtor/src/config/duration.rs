//! Go-style durations (`"10s"`, `"1m"`, `"100ms"`, `"1h2m"`), as Kubernetes'
//! `metav1.Duration` writes them in Calico resources.
//!
//! Grammar (Go `time.ParseDuration`): one or more `<decimal><unit>` terms,
//! units `ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`; a lone `0` is zero.
//! Negative durations are rejected (no Calico field takes one), and so is
//! anything beyond Go's `int64` nanoseconds (about 292 years).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Largest duration Go can represent: `i64::MAX` nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Why a duration string did not parse. Carries the byte offset of the
/// offending term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration")]
    Empty,
    /// A sign: `-` (negative) is meaningless for every Calico field.
    #[error("negative duration at offset {offset}")]
    Negative {
        /// Byte offset of the sign.
        offset: usize,
    },
    /// A term has no digits (`"s"`, `".s"`).
    #[error("expected a number at offset {offset}")]
    ExpectedNumber {
        /// Byte offset where a number was expected.
        offset: usize,
    },
    /// A number is not followed by a unit (`"10"`).
    #[error("missing unit at offset {offset}")]
    MissingUnit {
        /// Byte offset where the unit was expected.
        offset: usize,
    },
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("unknown unit at offset {offset}")]
    UnknownUnit {
        /// Byte offset of the unit.
        offset: usize,
    },
    /// The value exceeds Go's range (`int64` nanoseconds).
    #[error("duration overflows at offset {offset}")]
    Overflow {
        /// Byte offset of the term that overflowed.
        offset: usize,
    },
}

/// Parses a Go duration string (`"1h2m3.5s"`) into a [`Duration`].
///
/// ```
/// use std::time::Duration;
/// use dualtor::config::parse_duration;
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    match bytes[0] {
        b'-' => return Err(DurationError::Negative { offset: 0 }),
        b'+' => i = 1,
        _ => {}
    }
    if &s[i..] == "0" {
        return Ok(Duration::ZERO);
    }
    if i == bytes.len() {
        return Err(DurationError::ExpectedNumber { offset: i });
    }
    let mut total: u128 = 0;
    while i < bytes.len() {
        let term = i;
        // Integer part.
        let int_start = i;
        let mut int: u128 = 0;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            int = int
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(bytes[i] - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or(DurationError::Overflow { offset: term })?;
            i += 1;
        }
        let has_int = i > int_start;
        // Fraction: keep at most 18 significant digits (below 1 ns for every unit
        // >= 1 ns once scaled); further digits cannot change the result in
        // nanoseconds except through rounding, which Go truncates as well.
        let mut frac: u128 = 0;
        let mut frac_scale: u128 = 1;
        let mut has_frac = false;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                if frac_scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + u128::from(bytes[i] - b'0');
                    frac_scale *= 10;
                }
                i += 1;
            }
            has_frac = i > frac_start;
        }
        if !has_int && !has_frac {
            return Err(DurationError::ExpectedNumber { offset: term });
        }
        // Unit.
        let unit_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_digit() && bytes[i] != b'.' {
            i += 1;
        }
        if i == unit_start {
            return Err(DurationError::MissingUnit { offset: unit_start });
        }
        let unit: u128 = match &s[unit_start..i] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(DurationError::UnknownUnit { offset: unit_start }),
        };
        let overflow = DurationError::Overflow { offset: term };
        let whole = int.checked_mul(unit).ok_or(overflow)?;
        let part = frac * unit / frac_scale;
        total = total
            .checked_add(whole)
            .and_then(|t| t.checked_add(part))
            .filter(|t| *t <= MAX_NANOS)
            .ok_or(overflow)?;
    }
    let secs = (total / 1_000_000_000) as u64;
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// A [`Duration`] that displays and parses in Go's notation
/// (`time.Duration.String`: `"1h2m3.5s"`, `"100ms"`, `"0s"`).
///
/// `GoDuration::from_str(&d.to_string()) == Ok(d)` for every duration within
/// Go's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration(pub Duration);

impl FromStr for GoDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(GoDuration)
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        GoDuration(d)
    }
}

/// Writes `value / 10^digits` with the fraction's trailing zeros trimmed.
fn write_fixed(f: &mut fmt::Formatter<'_>, value: u128, digits: u32) -> fmt::Result {
    let scale = 10u128.pow(digits);
    let (int, mut frac) = (value / scale, value % scale);
    write!(f, "{int}")?;
    if frac != 0 {
        let mut width = digits as usize;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, ".{frac:0width$}")?;
    }
    Ok(())
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.as_nanos();
        if n == 0 {
            return f.write_str("0s");
        }
        if n < 1_000 {
            return write!(f, "{n}ns");
        }
        if n < 1_000_000 {
            write_fixed(f, n, 3)?;
            return f.write_str("\u{b5}s");
        }
        if n < 1_000_000_000 {
            write_fixed(f, n, 6)?;
            return f.write_str("ms");
        }
        let hours = n / 3_600_000_000_000;
        let rest = n % 3_600_000_000_000;
        let minutes = rest / 60_000_000_000;
        let secs = rest % 60_000_000_000;
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if hours > 0 || minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        write_fixed(f, secs, 9)?;
        f.write_str("s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_examples() {
        let cases: &[(&str, Duration)] = &[
            ("10s", Duration::from_secs(10)),
            ("1m", Duration::from_secs(60)),
            ("100ms", Duration::from_millis(100)),
            ("1h2m", Duration::from_secs(3720)),
            ("1.5h", Duration::from_secs(5400)),
            ("0", Duration::ZERO),
            ("+5s", Duration::from_secs(5)),
            ("2us", Duration::from_micros(2)),
            ("2\u{b5}s", Duration::from_micros(2)),
            (".5s", Duration::from_millis(500)),
            ("3ns", Duration::from_nanos(3)),
        ];
        for (s, d) in cases {
            assert_eq!(parse_duration(s), Ok(*d), "{s}");
        }
    }

    #[test]
    fn go_errors() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("-1s"),
            Err(DurationError::Negative { offset: 0 })
        );
        assert_eq!(
            parse_duration("10"),
            Err(DurationError::MissingUnit { offset: 2 })
        );
        assert_eq!(
            parse_duration("10x"),
            Err(DurationError::UnknownUnit { offset: 2 })
        );
        assert_eq!(
            parse_duration("1s.m"),
            Err(DurationError::ExpectedNumber { offset: 2 })
        );
        assert_eq!(
            parse_duration("3000000h"),
            Err(DurationError::Overflow { offset: 0 })
        );
    }

    #[test]
    fn display_like_go() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(3720), "1h2m0s"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_micros(2), "2\u{b5}s"),
            (Duration::from_nanos(1_500), "1.5\u{b5}s"),
        ];
        for (d, s) in cases {
            assert_eq!(GoDuration(*d).to_string(), *s);
        }
    }
}
