//! The status snapshot ([`NodeHandle::status`](super::NodeHandle::status)):
//! per peer session state, uptime, prefix counts, BFD and GR/LLGR state.
//! With feature `serde` it serializes to the JSON the daemon serves.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;

/// BGP session state as the node sees it (RFC 4271 §8.2.2, coarsened: the
/// transport owns Connect/OpenSent/OpenConfirm).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum SessionState {
    /// Not established; the transport is (re)connecting.
    Connecting,
    /// Established.
    Established,
    /// Stopped by the node.
    Stopped,
}

/// BFD session state (RFC 5880 §6.2), for serialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum BfdState {
    /// AdminDown.
    AdminDown,
    /// Down.
    Down,
    /// Init.
    Init,
    /// Up.
    Up,
}

impl From<bfd::State> for BfdState {
    fn from(s: bfd::State) -> Self {
        match s {
            bfd::State::AdminDown => BfdState::AdminDown,
            bfd::State::Init => BfdState::Init,
            bfd::State::Up => BfdState::Up,
            _ => BfdState::Down,
        }
    }
}

/// Where the peer's routes stand in graceful restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum RestartState {
    /// Routes are fresh (or there are none).
    #[default]
    None,
    /// RFC 4724: routes kept as stale.
    Gr,
    /// RFC 9494: routes long-lived stale (depreferenced).
    Llgr,
}

/// One peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct PeerStatus {
    /// The BGPPeer.
    pub name: String,
    /// Neighbour address.
    pub address: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Directly connected interface.
    pub interface: Option<String>,
    /// Session state.
    pub state: SessionState,
    /// Time in the current state.
    pub uptime: Duration,
    /// Times the session left Established.
    pub flaps: u64,
    /// Why it last went down.
    pub last_down: Option<String>,
    /// Prefixes announced by the peer in this session (NLRIs received).
    pub prefixes_received: u64,
    /// Routes in the Adj-RIB-In after import checks (fresh and stale).
    pub prefixes_accepted: u64,
    /// Prefixes we advertise to it (Adj-RIB-Out).
    pub prefixes_advertised: u64,
    /// End-of-RIB received in this session.
    pub end_of_rib: bool,
    /// BFD state, when BFD runs for this peer.
    pub bfd: Option<BfdState>,
    /// GR/LLGR state of its routes.
    pub restart: RestartState,
}

impl PeerStatus {
    /// A peer that has not connected yet: no prefixes, no BFD, no flaps
    /// (for daemons built on the facade's types, e.g. `dualtor-tor`).
    pub fn new(name: impl Into<String>, address: IpAddr, peer_as: u32) -> Self {
        PeerStatus {
            name: name.into(),
            address,
            peer_as,
            interface: None,
            state: SessionState::Connecting,
            uptime: Duration::ZERO,
            flaps: 0,
            last_down: None,
            prefixes_received: 0,
            prefixes_accepted: 0,
            prefixes_advertised: 0,
            end_of_rib: false,
            bfd: None,
            restart: RestartState::None,
        }
    }
}

/// Counters of the kernel side.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct FibStatus {
    /// Kernel programming enabled.
    pub enabled: bool,
    /// Nexthop objects in use (else legacy multipath routes).
    pub nexthop_objects: bool,
    /// Our routes found at start (previous run).
    pub previous_routes: usize,
    /// Prefixes the engine has installed (including blackholes).
    pub routes: usize,
    /// Commits done.
    pub commits: u64,
    /// Operations the kernel refused, in total.
    pub errors: u64,
    /// Latency of the last commit.
    pub last_latency: Option<Duration>,
}

/// A snapshot of the whole node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Status {
    /// The node's name.
    pub node: String,
    /// Its AS.
    pub local_as: u32,
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Our own graceful restart is in progress (waiting for End-of-RIB).
    pub restarting: bool,
    /// Peers, by address.
    pub peers: Vec<PeerStatus>,
    /// Prefixes we originate.
    pub originated: Vec<IpNet>,
    /// Kernel side.
    pub fib: FibStatus,
}
