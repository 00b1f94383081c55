//! The route-preference engine of a dual-ToR node: per-peer Adj-RIB-In, graceful restart
//! (RFC 4724, RFC 8538) and long-lived graceful restart (RFC 9494) staleness, best-path
//! selection (RFC 4271 §9.1.2), ECMP sets shared as next-hop groups, and Adj-RIB-Out.
//!
//! # Scope
//! A pure engine: it performs no I/O, reads no clock (every state change takes
//! `now: Instant`) and never panics on input. It does **not** parse BGP (the facade converts
//! `bgp-wire`'s decoded UPDATEs into [`PathAttrs`] and prefix lists), run the BGP FSM, send
//! messages, or program the kernel: its outputs are polled and applied by the caller.
//!
//! # Call protocol
//! ```text
//!  add_peer / set_connected / set_igp_route / originate      (configuration, any time)
//!  handle_session_up(now, peer, SessionParams)                 (Established)
//!  handle_update(now, peer, announced, attrs, withdrawn)       (each decoded UPDATE)
//!  handle_treat_as_withdraw / handle_end_of_rib(now, ...)
//!  handle_session_down(now, peer, DownReason)
//!  handle_timeout(now)           when now >= poll_timeout()
//!        |
//!        v   after any batch of inputs, drain:
//!  poll_fib()      -> Vec<FibChange>    groups first, then routes, then group removals
//!  poll_rib_out()  -> Vec<RibOutChange> per peer, announce or withdraw
//!  poll_rib_out_paths() -> Vec<RibOutPath> ADD-PATH peers: per path id
//!  poll_event()    -> Option<Event>     entered GR/LLGR, swept, flushed, prefix limit
//!  poll_timeout()  -> Option<Instant>   next GR/LLGR deadline
//! ```
//! Without a kernel, [`FibTable`] replays `poll_fib()`'s changes into a prefix -> next hops
//! table and checks their invariants.
//!
//! Time must not go backwards (a backwards `now` is counted in [`Stats`] and replaced by
//! the latest time seen). Outputs are coalesced: polling after a burst of inputs yields one
//! change per group and per prefix.
//!
//! # Prefix-independent convergence
//! Prefixes with the same candidate paths share a path set, and path sets with the same
//! ECMP next hops share a [`GroupId`]. When a peer goes down, goes stale or comes back,
//! only the path sets containing it are re-evaluated, and a group whose users all move to
//! the same new next hops changes in place: a million prefixes ECMP over two ToRs fail
//! over to one ToR with a single [`FibChange::GroupChanged`]. Likewise an IGP route or a
//! connected subnet that changes re-evaluates only the path sets whose recursive next hop
//! it covers (an index from next hop to path sets), never the whole table.
//!
//! # Memory per route
//! Per prefix: one table entry (prefix, path-set index, member position, flags: 32 bytes
//! plus hash-table slack) and one member slot in its path set (18 bytes plus `Vec` slack,
//! and one liveness bit: a route that leaves a path set only clears its bit, and the slots
//! are compacted once dead ones outnumber live ones four to one, so a path set holds at
//! most four dead slots per live one plus 64).
//! Per path: nothing, as long as attributes and candidate lists are shared (path sets are
//! interned; [`PathAttrs`] are hash-consed). The worst case, every prefix with its own
//! attributes, adds one path set (about 120 bytes plus 40 per path) and one attribute set
//! per prefix. Adj-RIB-Out holds one (prefix, pointer) entry per advertised route.
//! `benches/src/bin/llgr-bench.rs` measures it: 67.5 heap bytes per route per peer with two
//! ToRs x 1.2M prefixes (135 bytes per prefix, hash-table and `Vec` slack included).
//!
//! # Example
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use llgr::*;
//!
//! // The caller owns the clock and passes `t0` in.
//! fn ecmp_then_llgr(t0: Instant) {
//! let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 0, 0, 1)));
//! let mut tor = Peer::new("172.31.11.250".parse().unwrap(), 65011, Ipv4Addr::new(1, 1, 1, 1));
//! tor.interface = Some(2);
//! tor.connected = vec!["172.31.11.0/24".parse().unwrap()];
//! tor.gateway_mode = GatewayMode::Direct;
//! tor.llgr = true;
//! let tor = e.add_peer(tor);
//! // GR capability with restart time 0 and LLGR with a one-hour stale time:
//! // Calico's `restartMode: LongLivedGracefulRestart` on a dual-ToR node.
//! let params = SessionParams {
//!     gr: Some(GrCapability {
//!         restart_time: 0,
//!         families: vec![GrFamily { family: Family::Ipv4Unicast, forwarding: true }],
//!         ..Default::default()
//!     }),
//!     llgr: Some(vec![LlgrFamily { family: Family::Ipv4Unicast, forwarding: true, stale_time: 3600 }]),
//!     ..Default::default()
//! };
//! e.handle_session_up(t0, tor, params);
//! let attrs = PathAttrs {
//!     as_path: vec![AsSegment::Sequence(vec![65011])],
//!     next_hop: Some("172.31.11.250".parse().unwrap()),
//!     ..Default::default()
//! };
//! e.handle_update(t0, tor, &[("10.1.0.0/26".parse().unwrap(), PathId(0))], attrs, &[]);
//! let fib = e.poll_fib();
//! assert!(matches!(fib[0], FibChange::GroupAdded { .. }));
//!
//! // The session drops (BFD Down declared graceful): the route stays, LLGR-stale.
//! e.handle_session_down(t0, tor, DownReason::DeclaredGraceful);
//! assert!(matches!(e.poll_event(), Some(Event::EnteredLlgr { stale_routes: 1, .. })));
//! assert_eq!(e.poll_timeout(), Some(t0 + Duration::from_secs(3600)));
//! e.handle_timeout(t0 + Duration::from_secs(3600));
//! assert_eq!(e.prefix_count(), 0);
//! }
//! # let _ = ecmp_then_llgr;
//! ```
//!
//! # Compliance
//! - RFC 4271 §9.1 decision process: §9.1.2 loop detection and resolvability, §9.1.2.2
//!   elimination steps (a)-(g) including MED per neighbouring AS; §9.2 export with iBGP
//!   split horizon, §5.1.2-§5.1.5 attribute handling on export, Partial bit (§5).
//! - RFC 4456 route reflection: ORIGINATOR_ID / CLUSTER_LIST loop checks (§8), reflection
//!   rules (§6), tie-breaks (§9).
//! - RFC 4724 receiving speaker (§4.2): stale marking, Restart Time, consecutive-restart
//!   purge, F bit and missing family on re-establishment, End-of-RIB sweep, optional upper
//!   bound. RFC 8538 N bit and Hard Reset in [`DownReason::graceful`].
//! - RFC 9494 §4.2-§4.4: LLGR phase after GR (or at once with restart time 0), per-family
//!   stale timer, NO_LLGR deletion, LLGR_STALE depreference in a fixed place, consecutive
//!   restarts keep routes, no export to peers without capability 71, local clamping.
//! - RFC 7911 path identifiers in Adj-RIB-In, and ADD-PATH send (§3, §4): for a session
//!   that negotiated it ([`Engine::set_add_path_send`]) every usable exportable path of a
//!   prefix is advertised under an identifier of ours that stays the same while the source
//!   path's peer exists ([`Engine::poll_rib_out_paths`]). RFC 1997 NO_EXPORT / NO_ADVERTISE.
//!
//! **Not implemented:** RFC 9494 §4.6 partial deployment (stale routes to non-LLGR iBGP
//! peers with NO_EXPORT and LOCAL_PREF 0: we always withdraw, like BIRD and GoBGP), §4.7
//! VPN cases; the restarting-speaker side (selection deferral, RFC 4724 §4.1: the session
//! layer's business); ADD-PATH send policies other than "all usable paths" (best-N,
//! best per AS); confederations; import/export route maps beyond the fixed policies; BGP-learned routes
//! as recursive next-hop resolvers.
#![forbid(unsafe_code)]

mod attrs;
mod engine;
mod fib_table;
mod members;
#[cfg(feature = "arbitrary")]
pub mod ops;
mod output;
mod peer;
mod select;
mod timer;

pub use attrs::{
    AsSegment, Attrs, LLGR_STALE, LargeCommunity, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED,
    NO_LLGR, Origin, PathAttrs, RawAttr, flags,
};
pub use engine::{Config, Engine, IgpRoute, LocalRoute, PathInfo};
pub use fib_table::{Applied, FibTable, FibTableError};
pub use output::{
    Event, FibChange, GroupId, NextHop, Rejection, RibOutChange, RibOutPath, Stats, SweepReason,
};
pub use peer::{
    DownReason, ExportPolicy, Family, GatewayMode, GrCapability, GrFamily, LlgrFamily, NextHopMode,
    PathId, Peer, PeerId, Prefix, SessionParams,
};
pub use timer::Timer;
