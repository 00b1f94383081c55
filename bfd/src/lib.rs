//! Bidirectional Forwarding Detection (RFC 5880) with the single-hop
//! transport of RFC 5881.
//!
//! `bfd` will own the control-packet codec, the per-session state machine
//! (sans-IO: time is passed in), the session table, authentication, the
//! client API of RFC 5882 (a handle plus a stream of state changes), and a
//! tokio UDP runtime behind the `tokio` feature.
#![forbid(unsafe_code)]
