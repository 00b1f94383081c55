//! Calico's label selector language, as used by `BGPPeer.spec.nodeSelector`,
//! `peerSelector`, `IPPool.spec.nodeSelector` and
//! `BFDConfiguration.spec.nodeSelector`.
//!
//! Grammar (libcalico-go `lib/selector`):
//!
//! ```text
//! selector := or EOF
//! or       := and ( "||" and )*
//! and      := unary ( "&&" unary )*
//! unary    := "!" unary | "(" or ")" | "all()" | "global()" | "has(" key ")"
//!           | key ( "==" str | "!=" str | "in" set | "not in" set
//!                 | "contains" str | "starts with" str | "ends with" str )
//! set      := "{" [ str ( "," str )* ] "}"
//! str      := '…' | "…"          (no escapes)
//! key      := [a-zA-Z0-9_./-]{1,512}
//! ```
//!
//! Semantics follow Calico: `!=` and `not in` also match when the label is
//! absent; `contains`, `starts with` and `ends with` need the label present.
//! `global()` matches everything here (nodes are not namespaced). The empty
//! string is not a selector: callers treat an empty field as "not set".

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Longest label key Calico accepts.
pub const MAX_KEY_LEN: usize = 512;
/// Deepest nesting of `!` and parentheses accepted, so that hostile input
/// cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// A label map (Kubernetes `metadata.labels`).
pub type Labels = BTreeMap<String, String>;

/// A parsed selector. `Display` prints a canonical form that parses back to
/// the same tree (string values containing both quote characters cannot be
/// written and are not produced by the parser).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Selector {
    /// `all()`: every label set.
    All,
    /// `global()`: every label set (nodes are not namespaced).
    Global,
    /// `has(key)`.
    Has(String),
    /// `key == 'value'`.
    Eq(String, String),
    /// `key != 'value'`: also true when the label is absent.
    Ne(String, String),
    /// `key in {'a', 'b'}`.
    In(String, Vec<String>),
    /// `key not in {'a', 'b'}`: also true when the label is absent.
    NotIn(String, Vec<String>),
    /// `key contains 'sub'`.
    Contains(String, String),
    /// `key starts with 'prefix'`.
    StartsWith(String, String),
    /// `key ends with 'suffix'`.
    EndsWith(String, String),
    /// `!expr`.
    Not(Box<Selector>),
    /// `a && b`.
    And(Box<Selector>, Box<Selector>),
    /// `a || b`.
    Or(Box<Selector>, Box<Selector>),
}

/// What went wrong while parsing a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectorErrorKind {
    /// The selector is empty or only whitespace.
    Empty,
    /// A string literal has no closing quote.
    UnterminatedString,
    /// A character that starts no token (`=` alone, `&` alone, `#`, …).
    UnexpectedChar,
    /// A label is followed by something that is not an operator.
    ExpectedOperator,
    /// A string literal was expected (after `==`, `contains`, in a set, …).
    ExpectedString,
    /// A label, `!`, `(`, `all()`, `has(…)` was expected.
    ExpectedExpression,
    /// `)` was expected.
    ExpectedCloseParen,
    /// `,` or `}` was expected inside a set.
    ExpectedSetSeparator,
    /// Input continues after a complete selector.
    TrailingInput,
    /// A label key longer than [`MAX_KEY_LEN`].
    KeyTooLong,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for SelectorErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty selector",
            Self::UnterminatedString => "unterminated string",
            Self::UnexpectedChar => "unexpected character",
            Self::ExpectedOperator => "expected an operator after the label",
            Self::ExpectedString => "expected a quoted string",
            Self::ExpectedExpression => "expected an expression",
            Self::ExpectedCloseParen => "expected ')'",
            Self::ExpectedSetSeparator => "expected ',' or '}'",
            Self::TrailingInput => "unexpected input after the selector",
            Self::KeyTooLong => "label key too long",
            Self::TooDeep => "selector nested too deeply",
        })
    }
}

/// A selector parse error, with the byte offset where it was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub struct SelectorError {
    /// Byte offset into the selector text.
    pub offset: usize,
    /// What was wrong there.
    pub kind: SelectorErrorKind,
}

impl Selector {
    /// Parses a selector.
    ///
    /// ```
    /// use dualtor::config::{Labels, Selector};
    /// let s = Selector::parse("rack == 'ra' && !has(drain)").unwrap();
    /// let labels = Labels::from([("rack".into(), "ra".into())]);
    /// assert!(s.matches(&labels));
    /// ```
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        let mut p = Parser {
            src: input,
            pos: 0,
            depth: 0,
        };
        p.skip_ws();
        if p.pos == input.len() {
            return Err(p.err(SelectorErrorKind::Empty));
        }
        let sel = p.or()?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.err(SelectorErrorKind::TrailingInput));
        }
        Ok(sel)
    }

    /// Evaluates the selector against a label map.
    pub fn matches(&self, labels: &Labels) -> bool {
        let get = |k: &String| labels.get(k).map(String::as_str);
        match self {
            Self::All | Self::Global => true,
            Self::Has(k) => labels.contains_key(k),
            Self::Eq(k, v) => get(k) == Some(v.as_str()),
            Self::Ne(k, v) => get(k) != Some(v.as_str()),
            Self::In(k, set) => get(k).is_some_and(|l| set.iter().any(|v| v == l)),
            Self::NotIn(k, set) => !get(k).is_some_and(|l| set.iter().any(|v| v == l)),
            Self::Contains(k, v) => get(k).is_some_and(|l| l.contains(v.as_str())),
            Self::StartsWith(k, v) => get(k).is_some_and(|l| l.starts_with(v.as_str())),
            Self::EndsWith(k, v) => get(k).is_some_and(|l| l.ends_with(v.as_str())),
            Self::Not(s) => !s.matches(labels),
            Self::And(a, b) => a.matches(labels) && b.matches(labels),
            Self::Or(a, b) => a.matches(labels) || b.matches(labels),
        }
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, kind: SelectorErrorKind) -> SelectorError {
        SelectorError {
            offset: self.pos,
            kind,
        }
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start_matches([' ', '\t']);
        self.pos = self.src.len() - trimmed.len();
    }

    /// Consumes `tok` (after whitespace) if it is next.
    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), SelectorError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(SelectorErrorKind::TooDeep));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Selector::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Selector, SelectorError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = Selector::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn key(&mut self) -> Option<Result<String, SelectorError>> {
        let start = self.pos;
        let len = self.rest().bytes().take_while(|b| is_key_byte(*b)).count();
        if len == 0 {
            return None;
        }
        if len > MAX_KEY_LEN {
            return Some(Err(self.err(SelectorErrorKind::KeyTooLong)));
        }
        self.pos += len;
        Some(Ok(self.src[start..self.pos].to_owned()))
    }

    fn unary(&mut self) -> Result<Selector, SelectorError> {
        self.skip_ws();
        let rest = self.rest();
        let next_is_punct = rest.starts_with(['\'', '"', '{', '}', ',', ')', '&', '|']);
        if rest.starts_with("!") && !rest.starts_with("!=") {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Selector::Not(Box::new(inner)));
        }
        if rest.starts_with('(') {
            self.pos += 1;
            self.enter()?;
            let inner = self.or()?;
            if !self.eat(")") {
                return Err(self.err(SelectorErrorKind::ExpectedCloseParen));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        if let Some(sel) = self.function()? {
            return Ok(sel);
        }
        match self.key() {
            Some(key) => {
                let key = key?;
                self.operator(key)
            }
            None if self.pos == self.src.len() => {
                Err(self.err(SelectorErrorKind::ExpectedExpression))
            }
            None => Err(self.err(if next_is_punct {
                SelectorErrorKind::ExpectedExpression
            } else {
                SelectorErrorKind::UnexpectedChar
            })),
        }
    }

    /// `all()`, `global()`, `has(key)`; as in Calico, these win over a label
    /// of the same name only when followed by `(`.
    fn function(&mut self) -> Result<Option<Selector>, SelectorError> {
        for (name, sel) in [("all(", Selector::All), ("global(", Selector::Global)] {
            if self.rest().starts_with(name) {
                self.pos += name.len();
                if !self.eat(")") {
                    return Err(self.err(SelectorErrorKind::ExpectedCloseParen));
                }
                return Ok(Some(sel));
            }
        }
        if self.rest().starts_with("has(") {
            self.pos += "has(".len();
            self.skip_ws();
            let Some(key) = self.key() else {
                return Err(self.err(SelectorErrorKind::ExpectedExpression));
            };
            let key = key?;
            if !self.eat(")") {
                return Err(self.err(SelectorErrorKind::ExpectedCloseParen));
            }
            return Ok(Some(Selector::Has(key)));
        }
        Ok(None)
    }

    /// Consumes a keyword that must be followed by a non-key character, so
    /// that `rack inx` is not read as `rack in x`.
    fn keyword(&mut self, words: &[&str]) -> bool {
        let save = self.pos;
        for w in words {
            self.skip_ws();
            if !self.rest().starts_with(w) {
                self.pos = save;
                return false;
            }
            self.pos += w.len();
        }
        if self.rest().bytes().next().is_some_and(is_key_byte) {
            self.pos = save;
            return false;
        }
        true
    }

    fn operator(&mut self, key: String) -> Result<Selector, SelectorError> {
        if self.eat("==") {
            return Ok(Selector::Eq(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Selector::Ne(key, self.string()?));
        }
        if self.keyword(&["not", "in"]) {
            return Ok(Selector::NotIn(key, self.set()?));
        }
        if self.keyword(&["in"]) {
            return Ok(Selector::In(key, self.set()?));
        }
        if self.keyword(&["contains"]) {
            return Ok(Selector::Contains(key, self.string()?));
        }
        if self.keyword(&["starts", "with"]) {
            return Ok(Selector::StartsWith(key, self.string()?));
        }
        if self.keyword(&["ends", "with"]) {
            return Ok(Selector::EndsWith(key, self.string()?));
        }
        self.skip_ws();
        Err(self.err(SelectorErrorKind::ExpectedOperator))
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        self.skip_ws();
        let Some(quote) = self
            .rest()
            .chars()
            .next()
            .filter(|c| matches!(c, '\'' | '"'))
        else {
            return Err(self.err(SelectorErrorKind::ExpectedString));
        };
        let body = &self.rest()[1..];
        let Some(end) = body.find(quote) else {
            return Err(self.err(SelectorErrorKind::UnterminatedString));
        };
        let value = body[..end].to_owned();
        self.pos += end + 2;
        Ok(value)
    }

    fn set(&mut self) -> Result<Vec<String>, SelectorError> {
        if !self.eat("{") {
            return Err(self.err(SelectorErrorKind::ExpectedString));
        }
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            if !self.eat(",") {
                return Err(self.err(SelectorErrorKind::ExpectedSetSeparator));
            }
        }
    }
}

struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains('\'') {
            write!(f, "\"{}\"", self.0)
        } else {
            write!(f, "'{}'", self.0)
        }
    }
}

fn write_set(f: &mut fmt::Formatter<'_>, set: &[String]) -> fmt::Result {
    f.write_str("{")?;
    for (i, v) in set.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", Quoted(v))?;
    }
    f.write_str("}")
}

/// Writes `s`, in parentheses when `paren` says so.
fn write_sub(f: &mut fmt::Formatter<'_>, s: &Selector, paren: bool) -> fmt::Result {
    if paren {
        write!(f, "({s})")
    } else {
        write!(f, "{s}")
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Selector as S;
        match self {
            S::All => f.write_str("all()"),
            S::Global => f.write_str("global()"),
            S::Has(k) => write!(f, "has({k})"),
            S::Eq(k, v) => write!(f, "{k} == {}", Quoted(v)),
            S::Ne(k, v) => write!(f, "{k} != {}", Quoted(v)),
            S::In(k, set) => {
                write!(f, "{k} in ")?;
                write_set(f, set)
            }
            S::NotIn(k, set) => {
                write!(f, "{k} not in ")?;
                write_set(f, set)
            }
            S::Contains(k, v) => write!(f, "{k} contains {}", Quoted(v)),
            S::StartsWith(k, v) => write!(f, "{k} starts with {}", Quoted(v)),
            S::EndsWith(k, v) => write!(f, "{k} ends with {}", Quoted(v)),
            S::Not(s) => {
                f.write_str("!")?;
                write_sub(f, s, matches!(**s, S::And(..) | S::Or(..)))
            }
            // Left-associative: a nested tree on the right needs parentheses.
            S::And(a, b) => {
                write_sub(f, a, matches!(**a, S::Or(..)))?;
                f.write_str(" && ")?;
                write_sub(f, b, matches!(**b, S::Or(..) | S::And(..)))
            }
            S::Or(a, b) => {
                write_sub(f, a, false)?;
                f.write_str(" || ")?;
                write_sub(f, b, matches!(**b, S::Or(..)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn guide_selector() {
        assert_eq!(
            Selector::parse("rack == 'ra'"),
            Ok(Selector::Eq(k("rack"), k("ra")))
        );
    }

    #[test]
    fn precedence_and_over_or() {
        let s = Selector::parse("a == 'x' || b == 'y' && !has(c)").unwrap();
        assert_eq!(
            s,
            Selector::Or(
                Box::new(Selector::Eq(k("a"), k("x"))),
                Box::new(Selector::And(
                    Box::new(Selector::Eq(k("b"), k("y"))),
                    Box::new(Selector::Not(Box::new(Selector::Has(k("c"))))),
                )),
            )
        );
    }

    #[test]
    fn keywords_need_a_boundary() {
        let e = Selector::parse("rack inx {'a'}").unwrap_err();
        assert_eq!(e.kind, SelectorErrorKind::ExpectedOperator);
        assert_eq!(e.offset, 5);
        assert_eq!(
            Selector::parse("rack not  in {}"),
            Ok(Selector::NotIn(k("rack"), vec![]))
        );
    }

    #[test]
    fn errors_carry_offsets() {
        let cases: &[(&str, usize, SelectorErrorKind)] = &[
            ("", 0, SelectorErrorKind::Empty),
            ("  ", 2, SelectorErrorKind::Empty),
            ("rack == 'ra", 8, SelectorErrorKind::UnterminatedString),
            ("rack = 'ra'", 5, SelectorErrorKind::ExpectedOperator),
            ("rack == ra", 8, SelectorErrorKind::ExpectedString),
            ("(a == 'x'", 9, SelectorErrorKind::ExpectedCloseParen),
            (
                "a in {'x' 'y'}",
                10,
                SelectorErrorKind::ExpectedSetSeparator,
            ),
            ("all() all()", 6, SelectorErrorKind::TrailingInput),
            ("a == 'x' &&", 11, SelectorErrorKind::ExpectedExpression),
            ("#", 0, SelectorErrorKind::UnexpectedChar),
            ("has()", 4, SelectorErrorKind::ExpectedExpression),
        ];
        for (src, offset, kind) in cases {
            assert_eq!(
                Selector::parse(src),
                Err(SelectorError {
                    offset: *offset,
                    kind: *kind
                }),
                "{src:?}"
            );
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "!".repeat(MAX_DEPTH + 1) + "all()";
        assert_eq!(
            Selector::parse(&deep).unwrap_err().kind,
            SelectorErrorKind::TooDeep
        );
        let deep = "(".repeat(10_000);
        assert_eq!(
            Selector::parse(&deep).unwrap_err().kind,
            SelectorErrorKind::TooDeep
        );
    }
}
