//! Peer descriptions and session events, as the engine receives them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;

/// A route's destination.
pub type Prefix = IpNet;

/// Handle of a peer inside one [`Engine`](crate::Engine), returned by `add_peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub(crate) u32);

impl PeerId {
    /// The index of this peer (stable for the peer's lifetime, reused after removal).
    pub fn index(self) -> u32 {
        self.0
    }
}

/// ADD-PATH path identifier (RFC 7911); `PathId(0)` when ADD-PATH is not negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct PathId(pub u32);

/// The address families the engine handles (AFI 1/2, SAFI 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4Unicast,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6Unicast,
}

impl Family {
    /// Both families, in index order.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The family of a prefix.
    pub fn of(prefix: &Prefix) -> Family {
        match prefix {
            IpNet::V4(_) => Family::Ipv4Unicast,
            IpNet::V6(_) => Family::Ipv6Unicast,
        }
    }

    pub(crate) fn idx(self) -> usize {
        self as usize
    }
}

/// How BGP next hops of a peer become kernel next hops (Calico `birdGatewayMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GatewayMode {
    /// Look the next hop up in the connected subnets and IGP routes the caller feeds in;
    /// a route whose next hop does not resolve is not usable (RFC 4271 §9.1.2.1).
    #[default]
    Recursive,
    /// BIRD 1.6 `gateway direct`: a next hop on the session's connected subnet is used as
    /// is, any other next hop is replaced by the neighbour's own address. (BIRD 2 makes
    /// such routes invalid instead; dual ToR relies on the 1.6 behaviour.)
    Direct,
}

/// What is advertised to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportPolicy {
    /// Only locally originated routes (no transit): the dual-ToR default, so that a node
    /// never becomes a transit between its two planes.
    #[default]
    LocalOnly,
    /// Locally originated routes plus the best learned routes, under RFC 4271 §9.2 and
    /// RFC 4456 rules (iBGP split horizon, reflection for route-reflector clients).
    Transit,
}

/// NEXT_HOP of routes we send (Calico `nextHopMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopMode {
    /// Self towards eBGP peers, unchanged towards iBGP peers (RFC 4271 §5.1.3).
    #[default]
    Auto,
    /// Always the session's local address.
    Self_,
    /// Always unchanged (locally originated routes still get the local address).
    Keep,
}

/// A configured peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The neighbour's address (the final tie-break, RFC 4271 §9.1.2.2 (g)).
    pub address: IpAddr,
    /// The neighbour's AS.
    pub asn: u32,
    /// The neighbour's BGP identifier (set again from the OPEN in [`SessionParams`]).
    pub router_id: Ipv4Addr,
    /// iBGP (same AS) or eBGP; the caller decides (local AS overrides make it not obvious).
    pub internal: bool,
    /// The neighbour is our route-reflector client (RFC 4456); only meaningful for iBGP.
    pub rr_client: bool,
    /// Interface index of the session, when the neighbour is directly connected.
    pub interface: Option<u32>,
    /// Subnets connected over that interface.
    pub connected: Vec<IpNet>,
    /// Next-hop resolution mode.
    pub gateway_mode: GatewayMode,
    /// `numAllowedLocalASNumbers`: how many times our AS may appear in a received AS_PATH.
    pub allowed_local_as: u8,
    /// Maximum number of routes accepted from this peer (all families, all path ids).
    pub prefix_limit: Option<u32>,
    /// What we advertise to this peer.
    pub export: ExportPolicy,
    /// NEXT_HOP of routes we send to this peer.
    pub next_hop_mode: NextHopMode,
    /// Local LLGR configuration (RFC 9494 §5: never on by default). When false, the peer's
    /// routes get plain RFC 4724 treatment whatever its capability 71 says.
    pub llgr: bool,
    /// We advertise the RFC 8538 N bit to this peer.
    pub notification_gr: bool,
}

impl Peer {
    /// A peer with the defaults of a dual-ToR node: eBGP, recursive, local-only export.
    pub fn new(address: IpAddr, asn: u32, router_id: Ipv4Addr) -> Self {
        Peer {
            address,
            asn,
            router_id,
            internal: false,
            rr_client: false,
            interface: None,
            connected: Vec::new(),
            gateway_mode: GatewayMode::Recursive,
            allowed_local_as: 0,
            prefix_limit: None,
            export: ExportPolicy::LocalOnly,
            next_hop_mode: NextHopMode::Auto,
            llgr: false,
            notification_gr: false,
        }
    }
}

/// One family of the received GR capability (RFC 4724 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GrFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state was preserved.
    pub forwarding: bool,
}

/// The GR capability (code 64) as received in the peer's OPEN.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GrCapability {
    /// Restart Time in seconds (12 bits on the wire).
    pub restart_time: u16,
    /// R bit (the peer restarted).
    pub restart_state: bool,
    /// N bit (RFC 8538).
    pub notification: bool,
    /// Families listed in the capability.
    pub families: Vec<GrFamily>,
}

/// One family of the received LLGR capability (RFC 9494 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LlgrFamily {
    /// The family.
    pub family: Family,
    /// F bit: forwarding state preserved.
    pub forwarding: bool,
    /// Long-lived stale time in seconds (24 bits on the wire).
    pub stale_time: u32,
}

/// What the session negotiated, given to [`Engine::handle_session_up`](crate::Engine::handle_session_up).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionParams {
    /// The neighbour's BGP identifier from its OPEN.
    pub router_id: Option<Ipv4Addr>,
    /// Our address on the session (NEXT_HOP self).
    pub local_address: Option<IpAddr>,
    /// The received GR capability, if any.
    pub gr: Option<GrCapability>,
    /// The received LLGR capability (code 71), if any; `Some` with no families means
    /// "LLGR aware". Ignored without a GR capability (RFC 9494 §4.1).
    pub llgr: Option<Vec<LlgrFamily>>,
}

impl SessionParams {
    /// Whether the peer sent capability 71 together with capability 64 (RFC 9494 §4.1, §4.3).
    pub fn llgr_capable(&self) -> bool {
        self.gr.is_some() && self.llgr.is_some()
    }

    pub(crate) fn gr_family(&self, f: Family) -> Option<GrFamily> {
        self.gr
            .as_ref()?
            .families
            .iter()
            .copied()
            .find(|x| x.family == f)
    }

    pub(crate) fn llgr_family(&self, f: Family) -> Option<LlgrFamily> {
        self.gr.as_ref()?;
        self.llgr.as_ref()?.iter().copied().find(|x| x.family == f)
    }

    /// RFC 9494 §4.2: per-family Restart Time (0 when the family is not in capability 64).
    pub(crate) fn restart_time(&self, f: Family) -> Duration {
        match (&self.gr, self.gr_family(f)) {
            (Some(g), Some(_)) => Duration::from_secs(u64::from(g.restart_time)),
            _ => Duration::ZERO,
        }
    }
}

/// Why a session went down; [`DownReason::graceful`] says whether RFC 4724 applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum DownReason {
    /// TCP failure, or a new OPEN while Established (RFC 4724 §4.2).
    TransportFailure,
    /// Hold timer expired (graceful only with RFC 8538 N negotiated).
    HoldTimerExpired,
    /// We sent a NOTIFICATION.
    NotificationSent {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// We received a NOTIFICATION.
    NotificationReceived {
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// The caller declares the loss graceful (local policy, e.g. BFD Down with BIRD's
    /// `bfd graceful`, as the dual-ToR facade does).
    DeclaredGraceful,
    /// Administrative stop or peer removal: never graceful.
    Administrative,
}

impl DownReason {
    /// Whether the loss keeps the routes as stale, given whether the N bit was negotiated
    /// in both directions. RFC 4724 §4: a NOTIFICATION ends GR; RFC 8538 §4: with N, any
    /// NOTIFICATION except Cease/Hard Reset (6/9), and hold-timer expiry, are graceful.
    pub fn graceful(self, n_negotiated: bool) -> bool {
        match self {
            DownReason::TransportFailure | DownReason::DeclaredGraceful => true,
            DownReason::HoldTimerExpired => n_negotiated,
            DownReason::NotificationSent { code, subcode }
            | DownReason::NotificationReceived { code, subcode } => {
                n_negotiated && !(code == 6 && subcode == 9)
            }
            DownReason::Administrative => false,
        }
    }
}
