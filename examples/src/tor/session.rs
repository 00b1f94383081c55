//! The ToR's sessions: one BGP task per peer, the node's own
//! ([`dualtor::node::WireTransport::spawn_session`] on `bgp_wire::transport`:
//! active connect plus the shared listener, RFC 4271 §6.8 collisions resolved
//! there) and one BFD request per peer to the `bfd` runtime (RFC 5882 client).
//! Both tasks only forward: every decision is the runtime loop's.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_wire::Family;
use bgp_wire::session::{
    GracefulRestartConfig, IdleHoldConfig, LlgrConfig, LlgrFamilyConfig, SessionConfig,
};
use bgp_wire::transport::{self, PeerConfig as WirePeer};
use dualtor::node::{SessionCommand, SessionEvent, SessionLink, WireTransport};
use tokio::sync::mpsc;

use super::config::{Config, PeerConfig};

/// What a BGP or BFD task reports, tagged with the peer's index.
#[derive(Debug)]
pub(crate) enum Event {
    /// What the BGP task reports.
    Bgp(SessionEvent),
    /// A BFD state change.
    Bfd(bfd::StateChange),
    /// The BFD runtime refused the session.
    BfdFailed(bfd::runtime::Error),
}

/// The session configuration of a peer: GR restart time 0 with F=1 and LLGR with
/// our stale time (RFC 4724 §3, RFC 9494 §3; the lab BIRD ToR's
/// `graceful restart time 0; long lived graceful restart on`), reconnection after
/// `connect_retry_ms` doubling to `max_connect_retry_ms` for a failing peer.
pub(crate) fn session_config(cfg: &Config, peer: &PeerConfig) -> SessionConfig {
    let fam = if peer.address.is_ipv4() {
        Family::IPV4_UNICAST
    } else {
        Family::IPV6_UNICAST
    };
    let retry = Duration::from_millis(cfg.connect_retry_ms.max(1));
    let mut c = SessionConfig::new(cfg.asn, cfg.router_id).with_peer_as(peer.asn);
    c.hold_time = cfg.hold_time;
    c.connect_retry_time = retry;
    c.idle_hold = IdleHoldConfig {
        initial: retry,
        max: Duration::from_millis(cfg.max_connect_retry_ms).max(retry),
        ..IdleHoldConfig::default()
    };
    c.families = vec![fam];
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 0,
        forwarding: vec![fam],
        notification: false,
    });
    c.llgr = LlgrConfig::Enabled(vec![LlgrFamilyConfig {
        family: fam,
        stale_time: cfg.llgr_stale_time.min(0xFF_FFFF),
        forwarding: true,
    }]);
    c
}

/// Starts the BGP task of peer `idx`; it ends on [`SessionCommand::Stop`] or
/// when the command sender is dropped (graceful: no NOTIFICATION).
/// `restarting`: our OPENs carry the Restart State bit (RFC 4724 §3) until
/// [`SessionCommand::RestartComplete`], so that the peer keeps our routes
/// until our End-of-RIB and sends its own at once (§4.2).
pub(crate) fn spawn_bgp(
    idx: usize,
    cfg: &Config,
    peer: &PeerConfig,
    restarting: bool,
    wire: &WireTransport,
    events: mpsc::UnboundedSender<(usize, Event)>,
) -> (
    mpsc::UnboundedSender<SessionCommand>,
    tokio::task::JoinHandle<()>,
) {
    let remote = SocketAddr::new(peer.address, transport::BGP_PORT);
    let (tx, commands) = mpsc::unbounded_channel();
    let (bgp_tx, mut bgp_rx) = mpsc::channel(64);
    let join = wire.spawn_session(
        WirePeer::new(session_config(cfg, peer), remote).with_restarting(restarting),
        SessionLink::new(commands, bgp_tx),
    );
    // Tag the session's events with the peer for the runtime's one queue.
    tokio::spawn(async move {
        while let Some(ev) = bgp_rx.recv().await {
            if events.send((idx, Event::Bgp(ev))).is_err() {
                return;
            }
        }
    });
    (tx, join)
}

/// Requests the BFD session of peer `idx` over `interface`; state changes go to
/// `events`. Dropping the returned sender releases the session (AdminDown for
/// one Detection Time, RFC 5880 §6.8.16).
pub(crate) fn spawn_bfd(
    idx: usize,
    runtime: bfd::runtime::Runtime,
    peer: IpAddr,
    interface: Option<String>,
    config: bfd::session::Config,
    events: mpsc::UnboundedSender<(usize, Event)>,
) -> mpsc::UnboundedSender<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        let req = bfd::runtime::SessionRequest {
            peer,
            local: None,
            interface,
            config,
        };
        let mut handle = match runtime.request(req).await {
            Ok(h) => h,
            Err(e) => {
                let _ = events.send((idx, Event::BfdFailed(e)));
                return;
            }
        };
        loop {
            tokio::select! {
                c = handle.next_change() => match c {
                    Some(c) => { let _ = events.send((idx, Event::Bfd(c))); }
                    None => return,
                },
                r = rx.recv() => if r.is_none() { return },
            }
        }
    });
    tx
}
