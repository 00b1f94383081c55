//! KEEPALIVE message (RFC 4271 §4.4): a header with no body, exactly 19 octets.

/// A KEEPALIVE message; it has no fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Keepalive;
