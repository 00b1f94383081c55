//! The ToR's status snapshot, served as one JSON document per connection on a
//! unix socket (`dualtor-tor --status-socket PATH`), as `dualtor-node` serves
//! [`dualtor::node::Status`]. Each peer is the facade's
//! [`dualtor::node::PeerStatus`] (flattened: the same JSON fields) and the
//! kernel side its [`FibStatus`], so one reader handles both; the ToR adds what a route
//! reflector has and a node does not: client or eBGP, stale counts, and its
//! best routes with their next hops.
//!
//! ```text
//! $ socat - UNIX-CONNECT:/run/ra1.sock | jq '.routes[0]'
//! { "prefix": "172.31.10.2/32", "stale": false, "llgr_stale": false,
//!   "next_hops": [ { "gateway": "172.31.11.2", "interface": "br0", "peer": "a2" } ] }
//! ```

use std::net::{IpAddr, Ipv4Addr};

use dualtor::node::FibStatus;
use ipnet::IpNet;
use serde::Serialize;
use tokio::sync::oneshot;

/// One peer: the facade's [`dualtor::node::PeerStatus`] (the same JSON
/// fields), plus what a route reflector has and a node does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PeerStatus {
    /// Session, BFD and GR state and prefix counts, as the facade reports
    /// them (`prefixes_advertised` after the ToR's export policy).
    #[serde(flatten)]
    pub peer: dualtor::node::PeerStatus,
    /// Route-reflector client (iBGP, our AS); else an eBGP ToR of another rack.
    pub client: bool,
    /// Of the accepted routes, those kept as stale (RFC 4724) ...
    pub prefixes_stale: u64,
    /// ... and those long-lived stale, depreferenced (RFC 9494).
    pub prefixes_llgr_stale: u64,
}

/// One next hop of a best route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NextHopStatus {
    /// The gateway (`None`: the destination is on the link).
    pub gateway: Option<IpAddr>,
    /// Outgoing interface.
    pub interface: Option<String>,
    /// The peer whose path this is.
    pub peer: Option<String>,
}

/// A best route as the ToR installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RouteStatus {
    /// The destination.
    pub prefix: IpNet,
    /// Its next hops (several: ECMP).
    pub next_hops: Vec<NextHopStatus>,
    /// Every path behind it is stale (RFC 4724) ...
    pub stale: bool,
    /// ... or long-lived stale (RFC 9494).
    pub llgr_stale: bool,
}

/// A snapshot of the whole ToR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// Its BGP identifier.
    pub router_id: Ipv4Addr,
    /// Its AS.
    pub local_as: u32,
    /// Its CLUSTER_ID (RFC 4456 §7).
    pub cluster_id: Ipv4Addr,
    /// Our own graceful restart is in progress (RFC 4724 §4.1: kernel routes of
    /// the previous run kept, End-of-RIB deferred until every peer sent its own).
    pub restarting: bool,
    /// Peers, in configuration order.
    pub peers: Vec<PeerStatus>,
    /// Kernel side.
    pub fib: FibStatus,
    /// The best routes, sorted by prefix.
    pub routes: Vec<RouteStatus>,
}

/// A request for a snapshot, answered by the runtime loop.
pub(crate) type Request = oneshot::Sender<Status>;

/// Reads one snapshot from a running ToR's status socket (blocking; for tests
/// and tools).
pub use crate::daemon::query_status as query;
