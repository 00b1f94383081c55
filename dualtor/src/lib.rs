//! The dual-ToR node: Calico's resources turned into running BGP, BFD,
//! LLGR and FIB state.
//!
//! `dualtor` will be a thin facade that CNIs and routing daemons embed:
//! configuration (typed, or loaded from Calico YAML) → per-peer BGP sessions
//! ([`bgp_wire`]) and BFD sessions ([`bfd`]) → the route engine ([`llgr`]) →
//! the Linux FIB ([`fib`]), plus origination of the node's loopback and pod
//! blocks. It re-exports the crates it composes so that users get matching
//! versions.
#![forbid(unsafe_code)]

pub use bfd;
pub use bgp_wire;
pub use fib;
pub use llgr;

pub mod config;
