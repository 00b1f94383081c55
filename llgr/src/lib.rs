//! The route-preference engine of a dual-ToR node.
//!
//! `llgr` will own the per-peer Adj-RIB-In, graceful restart (RFC 4724) and
//! long-lived graceful restart (RFC 9494) staleness, best-path selection
//! (RFC 4271 §9.1.2), ECMP sets shared as next-hop groups, and the per-peer
//! Adj-RIB-Out. It is a pure engine: no I/O, and time is passed in.
#![forbid(unsafe_code)]
