//! BGP-4 on the wire: message codecs and the session protocol.
//!
//! `bgp-wire` will own everything that crosses a BGP TCP connection:
//!
//! - the message codecs of RFC 4271 §4 (OPEN, UPDATE, NOTIFICATION, KEEPALIVE,
//!   ROUTE-REFRESH) with the capabilities and path attributes a dual-ToR node
//!   meets, RFC 7606 error handling as data, and exact parse/emit inverses;
//! - the RFC 4271 §8 session state machine as a sans-IO core (time is passed in);
//! - a thin tokio transport behind the `tokio` feature.
//!
//! The codec and the state machine perform no I/O and never read the clock.
#![forbid(unsafe_code)]
