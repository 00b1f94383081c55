//! Bidirectional Forwarding Detection (RFC 5880) with the single-hop
//! transport of RFC 5881 and the client model of RFC 5882.
//!
//! # Scope
//!
//! * [`packet`]: the Control packet, as a checked view ([`packet::Packet`])
//!   and an owned [`packet::Repr`] with all five authentication sections.
//! * [`session`]: one session's state machine, reception, transmission,
//!   timers and Poll/Final sequences, **sans-IO**: it performs no I/O, reads
//!   no clock (`now` is an argument) and takes its randomness from a seed.
//! * [`auth`]: simple password, keyed / meticulous keyed MD5 and SHA1, with
//!   sequence windows and key rings for rotation without a flap.
//! * [`Engine`]: the session table (demultiplexing, discriminators, one
//!   deadline queue) and the RFC 5882 client API: request a session, get a
//!   [`SessionId`], receive [`StateChange`]s that say whether they are
//!   failures or administrative.
//! * `runtime` (feature `tokio`): UDP port 3784, TTL 255, received-TTL
//!   check, one task for all sessions, handles with event streams.
//!
//! This crate does not do multihop (RFC 5883), Demand mode or Echo (see
//! the compliance list), and does not decide what a failure means: that is
//! the client's job (RFC 5882).
//!
//! # Call protocol
//!
//! ```text
//!  datagram ──► handle_packet(now, bytes, meta) ─┐
//!  deadline ──► handle_timeout(now) ─────────────┤      ┌─► poll_transmit(now, buf) ─► UDP
//!  client   ──► add_session / remove_session /   ├─► Engine ─► poll_event() ─► clients
//!               admin_down / set_timers /        │      └─► poll_timeout() ─► sleep until
//!               path_down (now) ─────────────────┘
//! ```
//!
//! After each input drain `poll_transmit` and `poll_event` until `None`,
//! then sleep until `poll_timeout()`. Time must not go backwards.
//!
//! # Example: two engines talk until both are Up
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use bfd::{Engine, Path, Request, RxMeta, State, session::Config};
//!
//! // The caller owns the clock and passes `now` in (here: a start time).
//! fn two_engines(mut now: Instant) {
//! let (a_ip, b_ip) = (IpAddr::from(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::from(Ipv4Addr::new(10, 0, 0, 2)));
//! let cfg = Config { desired_min_tx: Duration::from_millis(50), required_min_rx: Duration::from_millis(50), ..Config::default() };
//! let mut a = Engine::new(1);
//! let mut b = Engine::new(2);
//! let sa = a.add_session(now, Request { path: Path { peer: b_ip, local: None, ifindex: None }, config: cfg.clone() }).unwrap();
//! let sb = b.add_session(now, Request { path: Path { peer: a_ip, local: None, ifindex: None }, config: cfg }).unwrap();
//! let mut buf = [0u8; bfd::packet::MAX_LEN];
//! fn step(from: &mut Engine, to: &mut Engine, src: IpAddr, now: Instant, buf: &mut [u8]) {
//!     from.handle_timeout(now);
//!     while let Some(t) = from.poll_transmit(now, buf) {
//!         let meta = RxMeta { source: src, ifindex: None, ttl: Some(255) };
//!         let _ = to.handle_packet(now, &buf[..t.len], meta);
//!     }
//! }
//! for _ in 0..300 {
//!     step(&mut a, &mut b, a_ip, now, &mut buf);
//!     step(&mut b, &mut a, b_ip, now, &mut buf);
//!     now += Duration::from_millis(10);
//! }
//! assert_eq!(a.snapshot(sa).unwrap().state, State::Up);
//! assert_eq!(b.snapshot(sb).unwrap().state, State::Up);
//! }
//! # let _ = two_engines;
//! ```
//!
//! # Compliance
//!
//! * RFC 5880 §4.1-§4.4 packet format, all five auth types, unknown Diag
//!   code points kept.
//! * RFC 5880 §6.1-§6.2 three-way handshake and state machine (one table in
//!   `session::state`).
//! * RFC 5880 §6.3 demultiplexing by Your Discriminator, else by (peer,
//!   interface, family); random nonzero unique discriminators.
//! * RFC 5880 §6.5, §6.8.3 Poll/Final; a raised DesiredMinTx and a lowered
//!   RequiredMinRx wait for the Final; several changes in one Poll.
//! * RFC 5880 §6.7 authentication with sequence windows and key rings.
//! * RFC 5880 §6.8.1 variables; RemoteDiscr and RemoteMinRxInterval reset
//!   one Detection Time after the last packet (§6.8.18); AuthSeqKnown reset
//!   after two.
//! * RFC 5880 §6.8.4 detection time; §6.8.6 reception in order, each
//!   discard a [`DropReason`] with its own counter; P+F packets discarded
//!   as BIRD and holo do.
//! * RFC 5880 §6.8.7 transmission: jitter 75-100 % (75-90 % at Detect Mult
//!   1), [`session::Config::idle_tx`] (1 s by default, never less) while
//!   not Up, Finals at once, passive role.
//! * RFC 5880 §6.8.16 AdminDown: sends for one Detection Time, then stops.
//! * RFC 5880 §6.8.17: a local path-down input takes sessions **Down** (not
//!   AdminDown) with diag 5, so that clients treat it as a failure.
//! * RFC 5881 (feature `tokio`): port 3784, source ports 49152-65535 fixed
//!   per session, TTL 255 out, TTL 255 checked in, bound to the interface;
//!   IPv4 and IPv6 (link-local peers with the interface as scope id), both
//!   tested against FRR's bfdd.
//! * RFC 5882 §3-§4: [`StateChange::is_failure`] / [`StateChange::is_admin_down`].
//!
//! **Not implemented:** **Demand mode (§6.6, §6.8.14): we never set D; a
//! peer's D bit only stops our periodic packets while both are Up, as
//! §6.8.7 requires, and its Polls get Finals at once; since Demand works
//! per direction, the peer keeps sending to us and our detection keeps
//! running. Echo function (§6.4, §6.8.9, RFC 5881 §4): we always advertise
//! Required Min Echo RX 0, which tells a peer not to send us Echo packets
//! (tested with FRR in echo-mode), and never send Echo. Multihop (RFC
//! 5883). Concatenated path diagnostics (§6.8.17, diag 6 and 8) are never
//! set.**
#![deny(unsafe_code)]

pub mod auth;
pub mod engine;
pub mod packet;
pub mod session;

#[cfg(feature = "tokio")]
pub mod runtime;

pub use engine::{Engine, Path, Request, RxMeta, SessionId, Transmit};
pub use packet::{Diag, State};
pub use session::{DropReason, StateChange};
