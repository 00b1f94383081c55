//! The BGP side of a node: the boundary between the node and a BGP session
//! implementation, and what the node puts in its OPEN.
//!
//! A [`Transport`] runs one task per peer: it connects (and reconnects),
//! exchanges OPENs, runs the RFC 4271 §8 FSM and its timers, and reports
//! [`SessionEvent`]s; the node drives it with [`SessionCommand`]s. Nothing
//! above this boundary reads a socket, and nothing below it knows about
//! routes: the node converts UPDATEs to and from the route engine
//! (the `rib` module).
//!
//! Every event carries the transport's connection serial (`conn`), so that
//! the node can ignore events of a connection it has already declared down
//! (BFD Down and carrier loss take the session down *before* the transport
//! notices).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp_wire::session::{
    GracefulRestartConfig, IdleHoldConfig, LlgrConfig, LlgrFamilyConfig, Negotiated, Reason,
    SessionConfig,
};
use bgp_wire::{Family, Notification, Update};
use tokio::sync::mpsc;

use crate::config::{LlgrAdvert, PeerPlan, SessionSource};

/// Hold time we propose when the BGPPeer sets no keepalive (BIRD's default
/// is 240 s; Calico keeps it). Failure detection belongs to BFD, not to BGP
/// timers (Calico issue #7086).
pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(240);

/// Everything a transport needs to run one session.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionSetup {
    /// The peering, from the node's plan.
    pub peer: PeerPlan,
    /// Neighbour socket address.
    pub remote: SocketAddr,
    /// Local address to bind, when the plan pins one (`UseNodeIP`).
    pub local: Option<IpAddr>,
    /// Interface the peer is directly connected over, if any.
    pub interface: Option<String>,
    /// The session's configuration (what goes into our OPEN, timers,
    /// reconnection backoff).
    pub config: SessionConfig,
    /// Our OPEN carries R=1: we restarted with our routes still in the
    /// kernel (RFC 4724 §4.1), until the session reaches Established or
    /// [`SessionCommand::RestartComplete`] arrives.
    pub restarting: bool,
}

/// Why a session left Established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The TCP connection failed or was closed without a NOTIFICATION.
    TransportClosed,
    /// Hold timer expired (RFC 4271 §6.5).
    HoldTimerExpired,
    /// We sent a NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
    /// BFD declared the path down (RFC 5882 §4.3, Calico `bfd graceful`).
    BfdDown,
    /// The plane's link lost carrier.
    CarrierLost {
        /// The interface.
        interface: String,
    },
    /// The peer reconnected while Established (RFC 4724 §4.2).
    PeerRestarted,
    /// The node stopped the session (reload, stop).
    Administrative,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::TransportClosed => f.write_str("transport closed"),
            DownReason::HoldTimerExpired => f.write_str("hold timer expired"),
            DownReason::NotificationSent(n) => {
                write!(f, "NOTIFICATION sent {}/{}", n.code.0, n.subcode)
            }
            DownReason::NotificationReceived(n) => {
                write!(f, "NOTIFICATION received {}/{}", n.code.0, n.subcode)
            }
            DownReason::BfdDown => f.write_str("BFD down"),
            DownReason::CarrierLost { interface } => write!(f, "carrier lost on {interface}"),
            DownReason::PeerRestarted => f.write_str("peer restarted"),
            DownReason::Administrative => f.write_str("administrative"),
        }
    }
}

impl From<&Reason> for DownReason {
    fn from(r: &Reason) -> Self {
        match r {
            Reason::BfdDown => DownReason::BfdDown,
            Reason::Notification {
                initiator: bgp_wire::session::Initiator::Local,
                notification,
            } => DownReason::NotificationSent(notification.clone()),
            Reason::Notification { notification, .. } => {
                DownReason::NotificationReceived(notification.clone())
            }
            Reason::HoldTimerExpired => DownReason::HoldTimerExpired,
            Reason::TcpFailure => DownReason::TransportClosed,
            Reason::PeerRestarted => DownReason::PeerRestarted,
            _ => DownReason::Administrative,
        }
    }
}

/// What a session task reports.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session reached Established (RFC 4271 §8.2.2).
    Established {
        /// Connection serial.
        conn: u64,
        /// What was negotiated.
        negotiated: Box<Negotiated>,
        /// Our end of the TCP connection.
        local: SocketAddr,
    },
    /// An UPDATE, already checked per RFC 7606.
    Update {
        /// Connection serial.
        conn: u64,
        /// The message.
        update: Update,
        /// RFC 7606 treat-as-withdraw: the announced prefixes are withdrawn.
        treat_as_withdraw: bool,
    },
    /// The peer's End-of-RIB for a family (RFC 4724 §2).
    EndOfRib {
        /// Connection serial.
        conn: u64,
        /// The family.
        family: Family,
    },
    /// The connection left Established.
    Down {
        /// Connection serial.
        conn: u64,
        /// Why.
        reason: DownReason,
        /// The FSM's verdict: keep the peer's routes as stale (graceful).
        retain_stale: bool,
    },
}

/// How to end a session for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// Our graceful restart: no NOTIFICATION (RFC 4724 §4).
    Graceful,
    /// Cease/Administrative Shutdown (RFC 4486, RFC 9003 message).
    Shutdown,
    /// The peer was removed from the configuration.
    Deconfigured,
    /// A setting in the OPEN changed: Cease, then a new session.
    ConfigChanged,
}

/// What the node asks of a session task.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionCommand {
    /// Send these UPDATEs (only while Established; dropped otherwise, since
    /// the node re-sends its whole Adj-RIB-Out on the next Established).
    Send(Vec<Update>),
    /// The initial table is out: send End-of-RIB (RFC 4724 §4).
    InitialTableSent,
    /// Our own restart is over (End-of-RIB from every peer, or the
    /// deferral timer): OPENs sent from now on carry R=0 (RFC 4724 §4.1).
    RestartComplete,
    /// The path is down (BFD or carrier): Cease/10 best-effort (RFC 9384),
    /// drop the connection, and reconnect as usual.
    PathDown,
    /// The path works again (BFD Up, carrier back): if the session is
    /// idle in a reconnection backoff, connect now and reset the backoff
    /// (RFC 4271 ManualStart).
    Reconnect,
    /// End the session and the task.
    Stop(StopReason),
}

/// The node's end of one session task.
///
/// Backpressure: `events` is bounded, and a session task waits while it is
/// full (so its transport stops reading the socket and TCP pushes back on
/// the peer). `commands` is not bounded, so that the node task never waits
/// on a session: what it carries is bounded by what the node exports (only
/// its own originations, a handful of prefixes) times the configuration and
/// API changes made while the session cannot send, and a session that
/// cannot send for a hold time is torn down, after which `Send` commands
/// are dropped at once.
#[derive(Debug)]
#[non_exhaustive]
pub struct SessionLink {
    /// Commands from the node.
    pub commands: mpsc::UnboundedReceiver<SessionCommand>,
    /// Events to the node (bounded: wait while full).
    pub events: mpsc::Sender<SessionEvent>,
}

impl SessionLink {
    /// A link from its two channel ends, for a daemon that drives session
    /// tasks itself ([`super::WireTransport::spawn_session`]); the node
    /// builds its own.
    pub fn new(
        commands: mpsc::UnboundedReceiver<SessionCommand>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Self {
        SessionLink { commands, events }
    }
}

/// A BGP session implementation. `spawn` starts one task for the peer on
/// the current tokio runtime; the task ends on [`SessionCommand::Stop`] or
/// when the command channel closes.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Starts the session task.
    fn spawn(&self, setup: SessionSetup, link: SessionLink);
}

/// The families a session carries: IPv4 unicast when the node or the peer
/// is IPv4, IPv6 unicast when either is IPv6.
pub(crate) fn families(peer: &PeerPlan, v4: bool, v6: bool) -> Vec<Family> {
    let mut f = Vec::new();
    if v4 || peer.address.is_ipv4() {
        f.push(Family::IPV4_UNICAST);
    }
    if v6 || peer.address.is_ipv6() {
        f.push(Family::IPV6_UNICAST);
    }
    f
}

/// The session configuration for a peer (RFC 4271 §4.2 OPEN, RFC 5492):
/// graceful restart with the F bit for every family, because the kernel
/// keeps forwarding our routes through any session loss and across a
/// restart of the process (RFC 4724 §3; on a cold start the only routes a
/// ToR could still hold for us are our own prefixes, which reach us
/// regardless of our FIB); the LLGR capability
/// as the plan says (RFC 9494 §3: empty = LLGR aware; stale time with F=1
/// in `LongLivedGracefulRestart` mode, GR time 0); R=1 after our own
/// restart; reconnection after `retry`, backed off (capped) only for a peer
/// that keeps failing.
pub(crate) fn session_config(
    peer: &PeerPlan,
    router_id: Ipv4Addr,
    families: &[Family],
    retry: Duration,
    max_retry: Duration,
) -> SessionConfig {
    let mut c = SessionConfig::new(peer.local_as.get(), router_id).with_peer_as(peer.peer_as.get());
    let hold = peer.hold_time.unwrap_or(DEFAULT_HOLD_TIME).as_secs();
    c.hold_time = u16::try_from(hold).unwrap_or(u16::MAX);
    c.keepalive_time = peer
        .keepalive_time
        .map(|k| u16::try_from(k.as_secs()).unwrap_or(u16::MAX));
    c.connect_retry_time = retry;
    c.idle_hold = IdleHoldConfig {
        initial: retry,
        max: max_retry,
        ..IdleHoldConfig::default()
    };
    c.families = families.to_vec();
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: peer.restart.restart_time.min(4095),
        forwarding: families.to_vec(),
        notification: false,
    });
    c.llgr = match peer.restart.llgr {
        LlgrAdvert::StaleTime(t) => LlgrConfig::Enabled(
            families
                .iter()
                .map(|f| LlgrFamilyConfig {
                    family: *f,
                    stale_time: t.min(0xFF_FFFF),
                    forwarding: true,
                })
                .collect(),
        ),
        _ => LlgrConfig::Aware,
    };
    c
}

/// The local address to bind, from the plan.
pub(crate) fn bind_address(peer: &PeerPlan) -> Option<IpAddr> {
    match peer.source {
        SessionSource::NodeIp(a) => Some(a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoSecrets;
    use crate::config::{AsNumber, Config, IpPool, NodeConfig, PeerConfig, RestartMode, plan};

    fn guide_peer(mode: RestartMode) -> PeerPlan {
        let mut c = Config::new();
        let mut n = NodeConfig::new("a1");
        n.as_number = AsNumber::new(65001);
        n.ipv4_address = Some("172.31.10.1/32".parse().unwrap());
        c.nodes.push(n);
        let mut p = PeerConfig::dual_tor(
            "ra1",
            "172.31.11.250".parse().unwrap(),
            AsNumber::new(65001).unwrap(),
        );
        p.restart_mode = mode;
        c.peers.push(p);
        c.ip_pools
            .push(IpPool::new("lo", "172.31.10.0/24".parse().unwrap()));
        let p = plan(&c, "a1", &[], &NoSecrets).unwrap();
        p.peers.values().next().unwrap().clone()
    }

    // RFC 4724 §3 and RFC 9494 §3: with restartMode LongLivedGracefulRestart
    // we advertise GR with Restart Time 0 and F=1, and LLGR with the stale
    // time (3600 s, BIRD's default) and F=1.
    #[test]
    fn llgr_mode_advertises_gr_zero_and_llgr_stale_time() {
        let peer = guide_peer(RestartMode::LongLivedGracefulRestart);
        let fams = families(&peer, true, false);
        assert_eq!(fams, vec![Family::IPV4_UNICAST]);
        let c = session_config(
            &peer,
            Ipv4Addr::new(172, 31, 10, 1),
            &fams,
            Duration::from_secs(1),
            Duration::from_secs(30),
        );
        assert_eq!(c.local_as, 65001);
        assert_eq!(c.peer_as, Some(65001));
        assert_eq!(c.hold_time, 240);
        assert_eq!(
            c.graceful_restart,
            Some(GracefulRestartConfig {
                restart_time: 0,
                forwarding: vec![Family::IPV4_UNICAST],
                notification: false,
            })
        );
        assert_eq!(
            c.llgr,
            LlgrConfig::Enabled(vec![LlgrFamilyConfig {
                family: Family::IPV4_UNICAST,
                stale_time: 3600,
                forwarding: true,
            }])
        );
        // Reconnection within a second, backed off to 30 s for a flapping peer.
        assert_eq!(c.connect_retry_time, Duration::from_secs(1));
        assert_eq!(c.idle_hold.initial, Duration::from_secs(1));
        assert_eq!(c.idle_hold.max, Duration::from_secs(30));
    }

    // Calico default restartMode GracefulRestart: GR 120 s (BIRD default),
    // empty LLGR capability (LLGR aware, BIRD 1.6).
    #[test]
    fn gr_mode_advertises_restart_time_and_llgr_aware() {
        let peer = guide_peer(RestartMode::GracefulRestart);
        let c = session_config(
            &peer,
            Ipv4Addr::new(172, 31, 10, 1),
            &[Family::IPV4_UNICAST],
            Duration::from_secs(1),
            Duration::from_secs(30),
        );
        assert_eq!(
            c.graceful_restart.as_ref().map(|g| g.restart_time),
            Some(120)
        );
        assert_eq!(c.llgr, LlgrConfig::Aware);
    }

    // The FSM's reasons as the node reports them.
    #[test]
    fn down_reasons_from_fsm_reasons() {
        assert_eq!(DownReason::from(&Reason::BfdDown), DownReason::BfdDown);
        assert_eq!(
            DownReason::from(&Reason::TcpFailure),
            DownReason::TransportClosed
        );
        assert_eq!(
            DownReason::from(&Reason::HoldTimerExpired),
            DownReason::HoldTimerExpired
        );
        let n = Notification::new(bgp_wire::ErrorCode::CEASE, 2, Vec::<u8>::new());
        assert_eq!(
            DownReason::from(&Reason::Notification {
                initiator: bgp_wire::session::Initiator::Peer,
                notification: n.clone()
            }),
            DownReason::NotificationReceived(n)
        );
    }
}
