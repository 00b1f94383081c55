//! Calico selectors: Display -> parse round trip, and parse + evaluate
//! against a naive reference model that lives only in this test (its own
//! expression type, renderer and evaluator).

use std::collections::BTreeMap;

use dualtor::config::{Labels, Selector, SelectorErrorKind};
use proptest::prelude::*;

const KEYS: &[&str] = &["rack", "zone", "a", "k8s.io/role", "x-y_z"];
const VALUES: &[&str] = &["ra", "rb", "", "r", "a'b", "with space"];

/// The reference model's expression.
#[derive(Debug, Clone)]
enum Ref {
    All,
    Has(&'static str),
    Eq(&'static str, &'static str),
    Ne(&'static str, &'static str),
    In(&'static str, Vec<&'static str>),
    NotIn(&'static str, Vec<&'static str>),
    Contains(&'static str, &'static str),
    Starts(&'static str, &'static str),
    Ends(&'static str, &'static str),
    Not(Box<Ref>),
    And(Box<Ref>, Box<Ref>),
    Or(Box<Ref>, Box<Ref>),
}

/// Calico's documented semantics, written out independently.
fn eval(e: &Ref, labels: &Labels) -> bool {
    let v = |k: &str| labels.get(k).cloned();
    match e {
        Ref::All => true,
        Ref::Has(k) => v(k).is_some(),
        Ref::Eq(k, x) => v(k).as_deref() == Some(*x),
        // "!=" also matches when the label is missing.
        Ref::Ne(k, x) => v(k).as_deref() != Some(*x),
        Ref::In(k, set) => match v(k) {
            Some(l) => set.iter().any(|s| *s == l),
            None => false,
        },
        Ref::NotIn(k, set) => match v(k) {
            Some(l) => !set.iter().any(|s| *s == l),
            None => true,
        },
        Ref::Contains(k, x) => v(k).is_some_and(|l| l.find(x).is_some()),
        Ref::Starts(k, x) => v(k).is_some_and(|l| l.len() >= x.len() && &l[..x.len()] == *x),
        Ref::Ends(k, x) => {
            v(k).is_some_and(|l| l.len() >= x.len() && &l[l.len() - x.len()..] == *x)
        }
        Ref::Not(a) => !eval(a, labels),
        Ref::And(a, b) => eval(a, labels) && eval(b, labels),
        Ref::Or(a, b) => eval(a, labels) || eval(b, labels),
    }
}

fn quote(s: &str, double: bool) -> String {
    if s.contains('\'') || double {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

/// Precedence: `||` 1, `&&` 2, unary 3.
fn prec(e: &Ref) -> u8 {
    match e {
        Ref::Or(..) => 1,
        Ref::And(..) => 2,
        _ => 3,
    }
}

/// Renders with the minimum parentheses that standard precedence needs
/// (plus extra ones where `noise` says), with varied spacing and quotes.
fn render(e: &Ref, noise: &mut dyn Iterator<Item = u8>) -> String {
    let mut n = || noise.next().unwrap_or(0);
    let sp = if n().is_multiple_of(2) { " " } else { "  " };
    let dq = n().is_multiple_of(3);
    let set = |s: &[&str], dq: bool| {
        let items: Vec<String> = s.iter().map(|x| quote(x, dq)).collect();
        format!("{{{}}}", items.join(","))
    };
    let sub = |c: &Ref, min: u8, noise: &mut dyn Iterator<Item = u8>| {
        let extra = noise.next().unwrap_or(1).is_multiple_of(5);
        let text = render(c, noise);
        if prec(c) < min || extra {
            format!("({text})")
        } else {
            text
        }
    };
    match e {
        Ref::All => "all()".into(),
        Ref::Has(k) => format!("has({k})"),
        Ref::Eq(k, x) => format!("{k}{sp}=={sp}{}", quote(x, dq)),
        Ref::Ne(k, x) => format!("{k}{sp}!={}", quote(x, dq)),
        Ref::In(k, s) => format!("{k} in{sp}{}", set(s, dq)),
        Ref::NotIn(k, s) => format!("{k} not{sp}in {}", set(s, dq)),
        Ref::Contains(k, x) => format!("{k} contains {}", quote(x, dq)),
        Ref::Starts(k, x) => format!("{k} starts{sp}with {}", quote(x, dq)),
        Ref::Ends(k, x) => format!("{k} ends with{sp}{}", quote(x, dq)),
        Ref::Not(a) => format!("!{}", sub(a, 3, noise)),
        // Left-associative: a right operand of the same precedence needs
        // parentheses.
        Ref::And(a, b) => format!("{}{sp}&&{sp}{}", sub(a, 2, noise), sub(b, 3, noise)),
        Ref::Or(a, b) => format!("{} ||{sp}{}", sub(a, 1, noise), sub(b, 2, noise)),
    }
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(KEYS)
}
fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(VALUES)
}

fn leaf() -> impl Strategy<Value = Ref> {
    prop_oneof![
        Just(Ref::All),
        key().prop_map(Ref::Has),
        (key(), value()).prop_map(|(k, v)| Ref::Eq(k, v)),
        (key(), value()).prop_map(|(k, v)| Ref::Ne(k, v)),
        (key(), prop::collection::vec(value(), 0..3)).prop_map(|(k, v)| Ref::In(k, v)),
        (key(), prop::collection::vec(value(), 0..3)).prop_map(|(k, v)| Ref::NotIn(k, v)),
        (key(), value()).prop_map(|(k, v)| Ref::Contains(k, v)),
        (key(), value()).prop_map(|(k, v)| Ref::Starts(k, v)),
        (key(), value()).prop_map(|(k, v)| Ref::Ends(k, v)),
    ]
}

fn expr() -> impl Strategy<Value = Ref> {
    leaf().prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| Ref::Not(Box::new(a))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Ref::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Ref::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn labels() -> impl Strategy<Value = Labels> {
    prop::collection::btree_map(
        key().prop_map(String::from),
        value().prop_map(String::from),
        0..4,
    )
}

proptest! {
    /// Parsing the model's rendering and evaluating agrees with the model.
    #[test]
    fn parse_and_match_agree_with_reference(e in expr(), l in labels(), noise in prop::collection::vec(any::<u8>(), 64)) {
        let text = render(&e, &mut noise.into_iter());
        let sel = Selector::parse(&text).map_err(|err| TestCaseError::fail(format!("{text:?}: {err}")))?;
        prop_assert_eq!(sel.matches(&l), eval(&e, &l), "selector {:?} labels {:?}", text, l);
    }

    /// Display prints a selector that parses back to the same tree.
    #[test]
    fn display_parse_round_trip(e in expr(), noise in prop::collection::vec(any::<u8>(), 64)) {
        let sel = Selector::parse(&render(&e, &mut noise.into_iter())).unwrap();
        let shown = sel.to_string();
        prop_assert_eq!(Selector::parse(&shown), Ok(sel), "{}", shown);
    }

    /// Arbitrary input never panics, and errors point inside the input.
    #[test]
    fn arbitrary_input_never_panics(s in "[ -~]{0,40}") {
        if let Err(e) = Selector::parse(&s) {
            prop_assert!(e.offset <= s.len());
        }
    }
}

#[test]
fn calico_examples() {
    let l: Labels = BTreeMap::from([
        ("rack".to_owned(), "ra".to_owned()),
        ("role".to_owned(), "worker-1".to_owned()),
    ]);
    let cases = [
        ("rack == 'ra'", true),
        ("rack == \"rb\"", false),
        ("rack != 'rb'", true),
        ("missing != 'x'", true),
        ("all()", true),
        ("has(rack)", true),
        ("!has(rack)", false),
        ("rack in {'ra', 'rb'}", true),
        ("rack not in {'ra'}", false),
        ("missing not in {'ra'}", true),
        ("missing in {}", false),
        ("role contains 'ker'", true),
        ("role starts with 'work'", true),
        ("role ends with '-1'", true),
        ("missing contains ''", false),
        ("rack == 'rb' || role ends with '1' && has(rack)", true),
        ("(rack == 'rb' || has(role)) && !(rack == 'ra')", false),
        ("global()", true),
        // Keywords are labels when not followed by '('.
        ("has == 'x'", false),
    ];
    for (src, want) in cases {
        assert_eq!(Selector::parse(src).unwrap().matches(&l), want, "{src}");
    }
}

#[test]
fn key_length_limit() {
    let ok = format!("has({})", "k".repeat(512));
    assert!(Selector::parse(&ok).is_ok());
    let long = format!("{} == 'x'", "k".repeat(513));
    assert_eq!(
        Selector::parse(&long).unwrap_err().kind,
        SelectorErrorKind::KeyTooLong
    );
}
