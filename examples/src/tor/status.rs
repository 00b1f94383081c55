//! The ToR's status snapshot, served as one JSON document per connection on a
//! unix socket (`dualtor-tor --status-socket PATH`), as `dualtor-node` serves
//! [`dualtor::node::Status`]. The per-peer fields carry the facade's names and
//! its state types ([`SessionState`], [`BfdState`], [`RestartState`],
//! [`FibStatus`]), so one reader handles both; the ToR adds what a route
//! reflector has and a node does not: client or eBGP, stale counts, and its
//! best routes with their next hops.
//!
//! ```text
//! $ socat - UNIX-CONNECT:/run/ra1.sock | jq '.routes[0]'
//! { "prefix": "172.31.10.2/32", "stale": false, "llgr_stale": false,
//!   "next_hops": [ { "gateway": "172.31.11.2", "interface": "br0", "peer": "a2" } ] }
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use dualtor::node::{BfdState, FibStatus, RestartState, SessionState};
use ipnet::IpNet;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

/// One peer (the facade's [`dualtor::node::PeerStatus`] fields, plus the ToR's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PeerStatus {
    /// The configured name (the address when unnamed).
    pub name: String,
    /// Neighbour address.
    pub address: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Route-reflector client (iBGP, our AS); else an eBGP ToR of another rack.
    pub client: bool,
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
    /// Prefixes we advertise to it (after the ToR's export policy).
    pub prefixes_advertised: u64,
    /// Of the accepted routes, those kept as stale (RFC 4724) ...
    pub prefixes_stale: u64,
    /// ... and those long-lived stale, depreferenced (RFC 9494).
    pub prefixes_llgr_stale: u64,
    /// End-of-RIB received in this session.
    pub end_of_rib: bool,
    /// BFD state, when BFD runs for this peer.
    pub bfd: Option<BfdState>,
    /// GR/LLGR state of its routes.
    pub restart: RestartState,
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

/// Serves the snapshot on a unix socket at `path` (replacing a stale socket
/// file): each connection receives one JSON document and a newline. Ends when
/// the runtime is gone.
pub(crate) async fn serve(listener: tokio::net::UnixListener, requests: mpsc::Sender<Request>) {
    while let Ok((mut s, _)) = listener.accept().await {
        let (tx, rx) = oneshot::channel();
        if requests.send(tx).await.is_err() {
            return;
        }
        let Ok(status) = rx.await else { return };
        let json = serde_json::to_string(&status).unwrap_or_default();
        let _ = s.write_all(json.as_bytes()).await;
        let _ = s.write_all(b"\n").await;
    }
}

/// Binds the status socket at `path`, removing a previous run's socket file.
pub(crate) fn bind(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    tokio::net::UnixListener::bind(path)
}

/// Reads one snapshot from a running ToR's status socket (blocking; for tests
/// and tools).
pub fn query(path: &Path) -> std::io::Result<serde_json::Value> {
    use std::io::Read;
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}
