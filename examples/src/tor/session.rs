//! The ToR's sessions: one BGP task per peer on `bgp_wire::transport` (active
//! connect plus the shared listener, RFC 4271 §6.8 collisions resolved there)
//! and one BFD request per peer to the `bfd` runtime (RFC 5882 client). Both
//! tasks only forward: every decision is the runtime loop's.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use bgp_wire::session::{
    Action, GracefulRestartConfig, IdleHoldConfig, LlgrConfig, LlgrFamilyConfig, Negotiated,
    RouteFate, SessionConfig, StartKind, StopKind,
};
use bgp_wire::transport::{self, Listener, PeerConfig as WirePeer};
use bgp_wire::{Family, Update};
use tokio::sync::mpsc;

use super::config::{Config, PeerConfig};

/// What the runtime asks of a BGP task.
#[derive(Debug)]
pub(crate) enum Command {
    /// UPDATEs (dropped by the transport unless Established).
    Send(Vec<Update>),
    /// The initial table is out: End-of-RIB (RFC 4724 §4.1).
    InitialTableSent,
    /// BFD or carrier said the path is down: Cease/10 (RFC 9384), reconnect.
    PathDown,
    /// The path works again: connect now if idle in backoff (RFC 4271 ManualStart).
    Reconnect,
    /// End the session and the task.
    Stop(StopKind),
}

/// What a BGP or BFD task reports, tagged with the peer's index.
#[derive(Debug)]
pub(crate) enum Event {
    /// Established (RFC 4271 §8.2.2), connection serial `conn`.
    Up {
        conn: u64,
        negotiated: Box<Negotiated>,
        local: IpAddr,
    },
    /// An UPDATE (RFC 7606 verdict applied: `withdraw` = treat-as-withdraw).
    Update {
        conn: u64,
        update: Update,
        withdraw: bool,
    },
    /// The peer's End-of-RIB.
    EndOfRib { conn: u64, family: Family },
    /// The connection left Established; `graceful`: the FSM says keep the routes.
    Down {
        conn: u64,
        graceful: bool,
        reason: String,
    },
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

/// Our address towards `remote` (NEXT_HOP self): a route lookup through a
/// connected UDP socket, nothing sent.
fn local_address(remote: IpAddr) -> Option<IpAddr> {
    let any: SocketAddr = if remote.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(any).ok()?;
    s.connect((remote, transport::BGP_PORT)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// Starts the BGP task of peer `idx`; it ends on [`Command::Stop`] or when the
/// command sender is dropped (graceful: no NOTIFICATION).
pub(crate) fn spawn_bgp(
    idx: usize,
    cfg: &Config,
    peer: &PeerConfig,
    listener: Option<&Listener>,
    events: mpsc::UnboundedSender<(usize, Event)>,
) -> (mpsc::UnboundedSender<Command>, tokio::task::JoinHandle<()>) {
    let remote = SocketAddr::new(peer.address, transport::BGP_PORT);
    let wire = WirePeer::new(session_config(cfg, peer), remote);
    let incoming = listener.and_then(|l| l.register(peer.address, &wire.socket).ok());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let join = tokio::spawn(async move {
        let (handle, mut actions, task) = transport::spawn(wire, incoming);
        let _ = handle.start(StartKind::Manual).await;
        let mut conn = 0u64;
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(Command::Send(u)) => { let _ = handle.send_updates(u).await; }
                    Some(Command::InitialTableSent) => { let _ = handle.initial_table_sent().await; }
                    Some(Command::PathDown) => {
                        let _ = handle.stop(StopKind::BfdDown).await;
                        let _ = handle.start(StartKind::Automatic).await;
                    }
                    Some(Command::Reconnect) => { let _ = handle.start(StartKind::Manual).await; }
                    Some(Command::Stop(k)) => { let _ = handle.stop(k).await; break; }
                    None => { let _ = handle.stop(StopKind::Graceful).await; break; }
                },
                a = actions.recv() => {
                    let Some(a) = a else { break };
                    let ev = match a {
                        Action::SessionUp(negotiated) => {
                            conn += 1;
                            let local = local_address(remote.ip()).unwrap_or(remote.ip());
                            Event::Up { conn, negotiated, local }
                        }
                        Action::SessionDown(d) => Event::Down {
                            conn,
                            graceful: d.fate == RouteFate::RetainStale,
                            reason: format!("{:?}", d.reason),
                        },
                        Action::Update { update, verdict } => Event::Update {
                            conn,
                            update,
                            withdraw: matches!(verdict, bgp_wire::Verdict::TreatAsWithdraw { .. }),
                        },
                        Action::EndOfRib(family) => Event::EndOfRib { conn, family },
                        _ => continue,
                    };
                    if events.send((idx, ev)).is_err() {
                        break;
                    }
                }
            }
        }
        drop(handle);
        let _ = task.await;
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
