//! A small ToR route reflector built only from this project's crates: what a
//! bespoke routing daemon looks like on top of `bgp-wire`, `bfd`, `llgr` and
//! `fib`. It is the default ToR of `dualtor-demo` (binary `dualtor-tor`).
//!
//! One ToR serves one plane of one rack, as in Calico's dual-ToR guide:
//! - iBGP to the rack's nodes as a route reflector (RFC 4456): client routes
//!   are reflected to the other clients with their NEXT_HOP and attributes,
//!   ORIGINATOR_ID set if absent and our CLUSTER_ID prepended to CLUSTER_LIST;
//!   a route carrying our cluster id or our router id as originator is
//!   rejected (§8);
//! - eBGP to the same-plane ToR of every other rack: next-hop-self, our AS
//!   prepended, LOCAL_PREF/MED/ORIGINATOR_ID/CLUSTER_LIST stripped (RFC 4271
//!   §5.1); what it learns there goes to the clients with next-hop-self (the
//!   lab BIRD ToR's `next hop keep ibgp; next hop self ebgp`), and never to
//!   another rack (no transit between racks, see [`policy`]);
//! - BFD on every session (RFC 5880/5881, 100 ms x 3 by default): BFD Down or
//!   carrier loss takes the session down at once, gracefully;
//! - GR time 0 with LLGR (RFC 9494) on every session: a lost peer's routes
//!   stay usable, depreferenced, and are re-advertised with LLGR_STALE, never
//!   to a peer without the LLGR capability;
//! - End-of-RIB after the initial table; reconnection at once after a failure;
//! - its best routes in its own kernel FIB (protocol 214), so that it forwards;
//! - its own graceful restart (RFC 4724 §4.1): after a restart (SIGTERM, or a
//!   crash) the previous run's kernel routes keep forwarding, our OPENs carry
//!   the R bit, and End-of-RIB is deferred until every peer sent its own; then
//!   what was not re-learned is swept (see [`runtime`]);
//! - a status snapshot as JSON on a unix socket ([`status`]), with the
//!   facade's field names and state types.
//!
//! ```text
//!  config ──► runtime loop ◄── BGP tasks (bgp_wire::transport, listener + connect)
//!               │   ▲     ◄── BFD requests (bfd::runtime)
//!               │   └──── link monitor (fib::Monitor): carrier loss = path down
//!               ▼
//!         llgr::Engine (Adj-RIB-In, LLGR staleness, best path, RR/eBGP export)
//!               │ poll_rib_out ──► policy::export ──► UPDATEs per peer
//!               │ poll_fib     ──► fib thread (nexthop objects, protocol 214)
//! ```
//! Modules, one concern each: [`config`] (YAML), [`policy`] (RIB and export
//! policy around the engine, pure), `session` (BGP and BFD tasks), `fib`
//! (kernel programming and link monitor), [`status`] (the JSON snapshot),
//! [`runtime`] (the loop).
//!
//! # Example
//! ```no_run
//! # async fn f() -> Result<(), examples::tor::Error> {
//! use examples::tor::{Config, PeerConfig, Stop};
//! let mut cfg = Config::new("172.31.11.250".parse().unwrap(), 65001);
//! cfg.peers.push(PeerConfig::new("172.31.11.1".parse().unwrap(), 65001)); // client a1
//! cfg.peers.push(PeerConfig::new("172.31.1.2".parse().unwrap(), 65002)); // ToR rb1
//! examples::tor::run(cfg, async {
//!     let _ = tokio::signal::ctrl_c().await;
//!     Stop::Shutdown
//! })
//! .await
//! # }
//! ```
//!
//! # Compliance
//! - RFC 4271: FSM, OPEN, UPDATE (bgp-wire); §9.1 decision process and §5.1
//!   export attribute rules (llgr).
//! - RFC 4456 §6, §7, §8: reflection, CLUSTER_ID, ORIGINATOR_ID/CLUSTER_LIST.
//! - RFC 4724 (GR time 0, End-of-RIB, §4.1 our own restart with the R bit and
//!   deferred End-of-RIB) and RFC 9494 §4.2-§4.3 (LLGR).
//! - RFC 5880/5881/5882: single-hop BFD as the sessions' liveness.
//!
//! - IPv6: sessions over IPv6 carry IPv6 unicast (RFC 4760 MP_REACH, RFC 2545
//!   global and link-local next hops, kept when reflected); the listener is
//!   dual-stack.
//!
//! **Not implemented:** import/export filters, TCP MD5, ADD-PATH, IPv4 and
//! IPv6 on one session (one family per session, by the peer's address), a
//! control socket that changes anything (the status socket only reads); our
//! own restart defers End-of-RIB but not the UPDATEs themselves (RFC 4724
//! §4.1 defers both; the peers keep our stale routes until End-of-RIB, so
//! nothing is lost, only a few routes are sent twice).

pub mod config;
mod fib;
pub mod policy;
pub mod runtime;
mod session;
pub mod status;

pub use config::{BfdConfig, Config, ConfigError, PeerConfig};
pub use runtime::{Stop, run};
pub use status::Status;

/// Why the ToR could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading the namespace's interfaces failed.
    #[error("reading interfaces: {0}")]
    Interfaces(#[source] std::io::Error),
    /// The BGP listening socket could not be opened.
    #[error("listening for BGP: {0}")]
    Listen(#[source] std::io::Error),
    /// The BFD runtime could not start.
    #[error("bfd: {0}")]
    Bfd(#[from] bfd::runtime::Error),
    /// The kernel programmer or monitor could not start.
    #[error("fib: {0}")]
    Fib(#[from] ::fib::Error),
    /// The status socket could not be opened.
    #[error("status socket: {0}")]
    Status(#[source] std::io::Error),
}
