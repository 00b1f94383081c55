//! The BGP session: the RFC 4271 §8 state machine, OPEN checks and capability
//! negotiation, collision detection, and session-down reasons that tell the route engine
//! whether to keep the peer's routes as stale or delete them. Sans-IO: no sockets, no
//! clock (style rules 16-21).
//!
//! # Call protocol
//!
//! ```text
//!            caller (transport)                           Session
//!  ─────────────────────────────────────────────────────────────────────────────
//!  handle_start(now, kind) ─────────────────────────────► Idle → Connect/Active
//!  ◄──────────────────────────── poll_action(): OpenConnection
//!  TCP up: handle_connected(now, dir) ──────────────────► send OPEN → OpenSent
//!  ◄──────────────────────────── poll_action(): Send(Open)
//!  each frame: handle_bytes(now, &frame) ───────────────► OpenConfirm → Established
//!  ◄──────────────── Send(Keepalive), SessionUp(Negotiated), Update{..}, EndOfRib(f)
//!  send_update(now, u) …, initial_table_sent(now) ──────► Send(Update), Send(EoR)
//!  at poll_timeout(): handle_timeout(now) ──────────────► keepalives, hold expiry
//!  handle_stop(now, StopKind::…) ───────────────────────► NOTIFICATION, SessionDown
//! ```
//!
//! After every `handle_*` call drain [`Session::poll_action`] and perform the actions in
//! order; `now` must never decrease. Encode [`Action::Send`] messages with
//! [`Session::encode_ctx`] (it switches to the negotiated context at OpenConfirm).
//!
//! # Example
//!
//! Two sessions wired back to back, with time passed in:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bgp_wire::session::{Action, Direction, Session, SessionConfig, StartKind, State};
//!
//! // The caller owns the clock and passes `now` in.
//! fn back_to_back(now: Instant) {
//! let mut a = Session::new(SessionConfig::new(65001, "192.0.2.1".parse().unwrap()));
//! let mut b = Session::new(SessionConfig::new(65002, "192.0.2.2".parse().unwrap()));
//! a.handle_start(now, StartKind::Manual);
//! b.handle_start(now, StartKind::ManualPassive);
//! a.handle_connected(now, Direction::Outbound);
//! b.handle_connected(now, Direction::Inbound);
//! // Shuttle messages until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(act) = a.poll_action() {
//!         if let Action::Send(m) = act {
//!             let bytes = m.to_bytes(a.encode_ctx()).unwrap();
//!             b.handle_bytes(now, &bytes);
//!             moved = true;
//!         }
//!     }
//!     while let Some(act) = b.poll_action() {
//!         if let Action::Send(m) = act {
//!             let bytes = m.to_bytes(b.encode_ctx()).unwrap();
//!             a.handle_bytes(now, &bytes);
//!             moved = true;
//!         }
//!     }
//!     if !moved { break; }
//! }
//! assert_eq!(a.state(), State::Established);
//! assert_eq!(b.state(), State::Established);
//! assert_eq!(a.negotiated().unwrap().hold_time, 90);
//! // The next thing to do is a KEEPALIVE in 30 s.
//! assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(30)));
//! }
//! # let _ = back_to_back;
//! ```
//!
//! # Routes on session down
//!
//! [`Action::SessionDown`] carries a [`Down`] whose [`RouteFate`] is
//! [`RouteFate::RetainStale`] when the peer sent GR/LLGR and the loss is graceful: TCP
//! failure, hold timer expiry, a peer restart seen as a new connection (RFC 4724 §4.2),
//! a NOTIFICATION other than Hard Reset with N negotiated (RFC 8538 §4), BFD Down and our
//! own graceful stop. Administrative shutdown, Hard Reset and max-prefix delete.
//!
//! # Compliance
//!
//! - RFC 4271 §8 (all states and events 1-5, 8-28; DelayOpen; IdleHold backoff in place
//!   of DampPeerOscillations), §6.2 OPEN checks, §6.8 collision detection, §4.4 timers
//! - RFC 6608 FSM error subcodes; RFC 4486 Cease subcodes (1, 2, 7); RFC 9003 shutdown
//!   communication; RFC 8538 N bit and Hard Reset; RFC 9384 BFD Down
//! - RFC 4724 capability, R/F bits, End-of-RIB, §4.2 restart detection; RFC 9494 LLGR
//!   capability (aware or enabled per family); RFC 7911, 8654, 2918, 9234 roles
//! - RFC 7313 Enhanced Route Refresh: BoRR/EoRR from the peer surfaced as
//!   [`Action::RouteRefresh`], ours sent with [`Session::send_refresh_marker`] (the
//!   caller re-advertises the family in between)
//!
//! **Deliberate deviation:** a failed connection attempt in Connect leads to Active
//! (listen, retry on the ConnectRetryTimer), not Idle as RFC 4271 §8.2.2 says, so two
//! speakers that both refuse connections from Idle cannot retry in lockstep forever (the
//! simulation test `sim_both_active_*` found this livelock). FRR does the same.
//!
//! **Not implemented:** CollisionDetectEstablishedState, SendNOTIFICATIONwithoutOPEN as
//! an option (we always send), MinRouteAdvertisementInterval (the caller paces
//! UPDATEs), Selection_Deferral_Timer (the route engine's job), RFC 9234 OTC handling.

mod collision;
mod config;
mod fsm;
mod negotiated;
mod reason;
mod timer;

pub use collision::{Loser, collision_loser, resolve_collision};
pub use config::{
    Bounds, GracefulRestartConfig, IdleHoldConfig, LlgrConfig, LlgrFamilyConfig, SessionConfig,
    StartKind, StopKind,
};
pub use fsm::{Action, Direction, Session, SessionError, State};
pub use negotiated::{AddPath, Negotiated, PeerGracefulRestart, PeerLlgrFamily};
pub use reason::{Down, Initiator, Reason, RouteFate};
pub use timer::Timer;
