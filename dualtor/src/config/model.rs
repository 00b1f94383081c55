//! Typed configuration values: one type per Calico resource, usable without
//! serde. Every field is named after the Calico field it mirrors (in
//! snake_case), and every default is the documented Calico default.
//!
//! Structs are `#[non_exhaustive]`: build them with `new` and set the public
//! fields, then check the whole set with [`Config::validate`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::selector::{Labels, Selector};

/// Node annotation listing the plane interfaces, comma-separated
/// (`eth0,eth1`). Not a Calico field; see [`NodeConfig::plane_interfaces`].
pub const PLANE_INTERFACES_ANNOTATION: &str = "dualtor.dev/plane-interfaces";

/// A BGP autonomous system number (RFC 6793: 4 octets). Zero is reserved
/// (RFC 7607) and not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsNumber(NonZeroU32);

impl AsNumber {
    /// Calico's default AS when neither the Node nor BGPConfiguration sets one.
    pub const CALICO_DEFAULT: AsNumber = AsNumber(NonZeroU32::new(64512).unwrap());

    /// `None` for 0.
    pub const fn new(asn: u32) -> Option<AsNumber> {
        match NonZeroU32::new(asn) {
            Some(n) => Some(AsNumber(n)),
            None => None,
        }
    }

    /// The AS number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for AsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An AS number string that is not a number in `1..=4294967295`, nor asdot
/// (`"1.10"`, RFC 5396) within range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("AS number out of range")]
pub struct AsNumberError;

impl FromStr for AsNumber {
    type Err = AsNumberError;
    /// Accepts `asplain` (`"65001"`) and `asdot` (`"1.10"`), as Calico's
    /// `numorstring.ASNumber` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let n = match s.split_once('.') {
            Some((hi, lo)) if all_digits(hi) && all_digits(lo) => {
                let hi: u16 = hi.parse().map_err(|_| AsNumberError)?;
                let lo: u16 = lo.parse().map_err(|_| AsNumberError)?;
                (u32::from(hi) << 16) | u32::from(lo)
            }
            None if all_digits(s) => s.parse().map_err(|_| AsNumberError)?,
            _ => return Err(AsNumberError),
        };
        AsNumber::new(n).ok_or(AsNumberError)
    }
}

/// Calico `Node` (`projectcalico.org/v3`): the node we run on, and the
/// labels that selectors match.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeConfig {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`, matched by `nodeSelector`s (`rack: ra`).
    pub labels: Labels,
    /// `spec.bgp.asNumber`: overrides BGPConfiguration's default AS.
    pub as_number: Option<AsNumber>,
    /// `spec.bgp.ipv4Address` (CIDR form): the loopback in the dual-ToR
    /// guide; default router ID; source address for `UseNodeIP`.
    pub ipv4_address: Option<Ipv4Net>,
    /// `spec.bgp.ipv6Address` (CIDR form).
    pub ipv6_address: Option<Ipv6Net>,
    /// `spec.bgp.routeReflectorClusterID` (parsed; not used on dual-ToR nodes).
    pub route_reflector_cluster_id: Option<Ipv4Addr>,
    /// The fabric-facing interfaces, one per plane (`eth0`, `eth1`). Not a
    /// Calico field: from YAML it comes from the annotation
    /// [`PLANE_INTERFACES_ANNOTATION`].
    /// Empty means "every interface that connects a peer".
    pub plane_interfaces: Vec<String>,
}

impl NodeConfig {
    /// A node with no labels, AS or addresses.
    pub fn new(name: impl Into<String>) -> Self {
        NodeConfig {
            name: name.into(),
            labels: Labels::new(),
            as_number: None,
            ipv4_address: None,
            ipv6_address: None,
            route_reflector_cluster_id: None,
            plane_interfaces: Vec::new(),
        }
    }
}

/// BGPPeer `spec.peerIP`: `IP`, `IPv4:port` or `[IPv6]:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerAddress {
    /// The neighbor address.
    pub ip: IpAddr,
    /// The TCP port when given (179 otherwise).
    pub port: Option<u16>,
}

impl PeerAddress {
    /// A peer address without a port.
    pub const fn new(ip: IpAddr) -> Self {
        PeerAddress { ip, port: None }
    }
}

/// `spec.peerIP` is not an address, or its port is 0 or not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer address")]
pub struct PeerAddressError;

impl FromStr for PeerAddress {
    type Err = PeerAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(PeerAddress::new(ip));
        }
        let (host, port) = s.rsplit_once(':').ok_or(PeerAddressError)?;
        let ip: IpAddr = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => IpAddr::V6(v6.parse().map_err(|_| PeerAddressError)?),
            None => IpAddr::V4(host.parse().map_err(|_| PeerAddressError)?),
        };
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeerAddressError);
        }
        let port: u16 = port.parse().map_err(|_| PeerAddressError)?;
        if port == 0 {
            return Err(PeerAddressError);
        }
        Ok(PeerAddress {
            ip,
            port: Some(port),
        })
    }
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (ip, None) => write!(f, "{ip}"),
            (IpAddr::V4(ip), Some(p)) => write!(f, "{ip}:{p}"),
            (IpAddr::V6(ip), Some(p)) => write!(f, "[{ip}]:{p}"),
        }
    }
}

/// BGPPeer `spec.nextHopMode` (and the older `keepOriginalNextHop: true`,
/// which means `Keep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NextHopMode {
    /// Calico's default: next hop self towards external peers, BGP's own
    /// rules otherwise.
    #[default]
    Auto,
    /// Always our session address.
    Self_,
    /// Never change the next hop.
    Keep,
}

/// BGPPeer `spec.sourceAddress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SourceAddress {
    /// Bind the session to the node's `spec.bgp.ipv4Address`/`ipv6Address`.
    #[default]
    UseNodeIp,
    /// Let the kernel pick the interface address: each ToR session lives on
    /// its own plane and dies with it (the dual-ToR guide's choice).
    None,
}

/// BGPPeer `spec.failureDetectionMode` (Calico Enterprise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailureDetectionMode {
    /// BGP's hold timer only.
    #[default]
    None,
    /// Single-hop BFD (RFC 5881) when the peer is on a connected subnet.
    BfdIfDirectlyConnected,
}

/// BGPPeer `spec.restartMode` (Calico Enterprise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RestartMode {
    /// RFC 4724 graceful restart.
    #[default]
    GracefulRestart,
    /// RFC 9494 long-lived graceful restart.
    LongLivedGracefulRestart,
}

/// BGPPeer `spec.birdGatewayMode` (Calico Enterprise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum GatewayMode {
    /// Resolve the BGP next hop through the routing table.
    #[default]
    Recursive,
    /// BIRD 1.6 `gateway direct` when the peer is directly connected.
    DirectIfDirectlyConnected,
}

/// A secret string (a TCP MD5 key). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where BGPPeer `spec.password` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordSource {
    /// Calico's `secretKeyRef: {name, key}`, resolved through a
    /// [`SecretStore`](super::SecretStore) when the node's plan is built.
    SecretKeyRef {
        /// The Kubernetes Secret's name.
        name: String,
        /// The key within the Secret.
        key: String,
    },
    /// A value given in code (not expressible in Calico YAML).
    Value(Secret),
    /// A file holding the password (one trailing newline is ignored).
    File(PathBuf),
    /// An environment variable holding the password.
    Env(String),
}

/// Calico `BGPPeer`: one peering rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerConfig {
    /// `metadata.name`.
    pub name: String,
    /// `spec.node`: the one node that runs this peering.
    pub node: Option<String>,
    /// `spec.nodeSelector`: the nodes that run this peering. With `node`
    /// also unset, every node does.
    pub node_selector: Option<Selector>,
    /// `spec.peerIP`.
    pub peer_ip: Option<PeerAddress>,
    /// `spec.asNumber`: the peer's AS (equal to ours = iBGP).
    pub as_number: Option<AsNumber>,
    /// `spec.localASNumber`: overrides our AS for this peering.
    pub local_as_number: Option<AsNumber>,
    /// `spec.peerSelector`: node-to-node peerings. Parsed, but a dual-ToR
    /// node peers only with its ToRs, so [`plan`](super::plan()) skips it.
    pub peer_selector: Option<Selector>,
    /// `spec.nextHopMode` / `spec.keepOriginalNextHop`.
    pub next_hop_mode: NextHopMode,
    /// `spec.password`: TCP MD5 key (RFC 2385), at most 80 characters.
    pub password: Option<PasswordSource>,
    /// `spec.sourceAddress`.
    pub source_address: SourceAddress,
    /// `spec.maxRestartTime`: the restart time we advertise (the LLGR stale
    /// time with `LongLivedGracefulRestart`).
    pub max_restart_time: Option<Duration>,
    /// `spec.keepaliveTime`: hold time is three times this.
    pub keepalive_time: Option<Duration>,
    /// `spec.numAllowedLocalASNumbers`: accept our AS in AS_PATH up to N times.
    pub num_allowed_local_as_numbers: Option<u32>,
    /// `spec.ttlSecurity`: GTSM (RFC 5082) hop count.
    pub ttl_security: Option<u8>,
    /// `spec.reachableBy`: gateway for a static /32 route to the peer.
    pub reachable_by: Option<IpAddr>,
    /// `spec.failureDetectionMode`.
    pub failure_detection_mode: FailureDetectionMode,
    /// `spec.restartMode`.
    pub restart_mode: RestartMode,
    /// `spec.birdGatewayMode`.
    pub bird_gateway_mode: GatewayMode,
}

impl PeerConfig {
    /// A peering with `peerIP` and `asNumber` set, every other field at its
    /// Calico default (applies to every node).
    pub fn new(name: impl Into<String>, peer_ip: IpAddr, as_number: AsNumber) -> Self {
        PeerConfig {
            name: name.into(),
            node: None,
            node_selector: None,
            peer_ip: Some(PeerAddress::new(peer_ip)),
            as_number: Some(as_number),
            local_as_number: None,
            peer_selector: None,
            next_hop_mode: NextHopMode::Auto,
            password: None,
            source_address: SourceAddress::UseNodeIp,
            max_restart_time: None,
            keepalive_time: None,
            num_allowed_local_as_numbers: None,
            ttl_security: None,
            reachable_by: None,
            failure_detection_mode: FailureDetectionMode::None,
            restart_mode: RestartMode::GracefulRestart,
            bird_gateway_mode: GatewayMode::Recursive,
        }
    }

    /// The dual-ToR guide's recommended settings: `sourceAddress: None`,
    /// `failureDetectionMode: BFDIfDirectlyConnected`,
    /// `restartMode: LongLivedGracefulRestart`,
    /// `birdGatewayMode: DirectIfDirectlyConnected`.
    pub fn dual_tor(name: impl Into<String>, peer_ip: IpAddr, as_number: AsNumber) -> Self {
        let mut p = PeerConfig::new(name, peer_ip, as_number);
        p.source_address = SourceAddress::None;
        p.failure_detection_mode = FailureDetectionMode::BfdIfDirectlyConnected;
        p.restart_mode = RestartMode::LongLivedGracefulRestart;
        p.bird_gateway_mode = GatewayMode::DirectIfDirectlyConnected;
        p
    }
}

/// IPPool `spec.ipipMode` / `spec.vxlanMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EncapMode {
    /// No encapsulation: the only mode a dual-ToR node accepts.
    #[default]
    Never,
    /// Always encapsulate.
    Always,
    /// Encapsulate across subnets.
    CrossSubnet,
}

impl fmt::Display for EncapMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncapMode::Never => "Never",
            EncapMode::Always => "Always",
            EncapMode::CrossSubnet => "CrossSubnet",
        })
    }
}

/// Calico `IPPool`: which prefixes may be exported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpPool {
    /// `metadata.name`.
    pub name: String,
    /// `spec.cidr`: routes inside it are exported to BGP peers.
    pub cidr: IpNet,
    /// `spec.disabled`: no IPAM from it, but its routes are still exported
    /// (how the guide advertises loopbacks).
    pub disabled: bool,
    /// `spec.disableBGPExport`: never export routes inside it.
    pub disable_bgp_export: bool,
    /// `spec.ipipMode`: must be `Never` on a dual-ToR node.
    pub ipip_mode: EncapMode,
    /// `spec.vxlanMode`: must be `Never` on a dual-ToR node.
    pub vxlan_mode: EncapMode,
    /// `spec.blockSize`: 26 (IPv4) or 122 (IPv6) when unset.
    pub block_size: Option<u8>,
    /// `spec.natOutgoing` (parsed; not acted on here).
    pub nat_outgoing: bool,
    /// `spec.nodeSelector`: nodes that may allocate from it (IPAM only).
    pub node_selector: Option<Selector>,
}

impl IpPool {
    /// An enabled, exported pool without encapsulation.
    pub fn new(name: impl Into<String>, cidr: IpNet) -> Self {
        IpPool {
            name: name.into(),
            cidr,
            disabled: false,
            disable_bgp_export: false,
            ipip_mode: EncapMode::Never,
            vxlan_mode: EncapMode::Never,
            block_size: None,
            nat_outgoing: false,
            node_selector: None,
        }
    }

    /// `spec.blockSize` or its default (26 for IPv4, 122 for IPv6).
    pub fn effective_block_size(&self) -> u8 {
        self.block_size.unwrap_or(match self.cidr {
            IpNet::V4(_) => 26,
            IpNet::V6(_) => 122,
        })
    }
}

/// A BGP community: standard (RFC 1997, `aa:nn`) or large (RFC 8092,
/// `aa:nn:mm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Community {
    /// `aa:nn`, 16 bits each.
    Standard(u16, u16),
    /// `aa:nn:mm`, 32 bits each.
    Large(u32, u32, u32),
}

/// A community string that is not `aa:nn` (16-bit parts) or `aa:nn:mm`
/// (32-bit parts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid community")]
pub struct CommunityError;

impl FromStr for Community {
    type Err = CommunityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(CommunityError);
        }
        match parts[..] {
            [a, n] => Ok(Community::Standard(
                a.parse().map_err(|_| CommunityError)?,
                n.parse().map_err(|_| CommunityError)?,
            )),
            [a, n, m] => Ok(Community::Large(
                a.parse().map_err(|_| CommunityError)?,
                n.parse().map_err(|_| CommunityError)?,
                m.parse().map_err(|_| CommunityError)?,
            )),
            _ => Err(CommunityError),
        }
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Community::Standard(a, n) => write!(f, "{a}:{n}"),
            Community::Large(a, n, m) => write!(f, "{a}:{n}:{m}"),
        }
    }
}

/// BGPConfiguration `spec.prefixAdvertisements[]`: communities attached to
/// every exported route inside `cidr` (names already resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrefixAdvertisement {
    /// Routes inside this prefix get the communities.
    pub cidr: IpNet,
    /// Community values.
    pub communities: Vec<Community>,
}

impl PrefixAdvertisement {
    /// Communities for routes inside `cidr`.
    pub fn new(cidr: IpNet, communities: Vec<Community>) -> Self {
        PrefixAdvertisement { cidr, communities }
    }
}

/// BGPConfiguration `spec.bindMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BindMode {
    /// Listen on every address.
    #[default]
    None,
    /// Listen only on the node IP.
    NodeIp,
}

/// Calico `BGPConfiguration`: `default` holds cluster-wide values,
/// `node.<name>` overrides them for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BgpConfiguration {
    /// `metadata.name`: `default` or `node.<nodename>`.
    pub name: String,
    /// `spec.asNumber`: the default node AS (64512 when unset everywhere).
    pub as_number: Option<AsNumber>,
    /// `spec.nodeToNodeMeshEnabled` (Calico default true; the guide sets
    /// false). A dual-ToR node never meshes; kept for status reporting.
    pub node_to_node_mesh_enabled: Option<bool>,
    /// `spec.listenPort` (179 when unset).
    pub listen_port: Option<u16>,
    /// `spec.bindMode`.
    pub bind_mode: Option<BindMode>,
    /// `spec.logSeverityScreen`.
    pub log_severity_screen: Option<String>,
    /// `spec.prefixAdvertisements`, community names resolved.
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// `spec.serviceClusterIPs[].cidr`: advertised as is.
    pub service_cluster_ips: Vec<IpNet>,
    /// `spec.serviceExternalIPs[].cidr`: advertised as is.
    pub service_external_ips: Vec<IpNet>,
    /// `spec.serviceLoadBalancerIPs[].cidr`: advertised as is.
    pub service_load_balancer_ips: Vec<IpNet>,
    /// `spec.ignoredInterfaces` (parsed; informational).
    pub ignored_interfaces: Vec<String>,
}

impl BgpConfiguration {
    /// An empty configuration named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        BgpConfiguration {
            name: name.into(),
            as_number: None,
            node_to_node_mesh_enabled: None,
            listen_port: None,
            bind_mode: None,
            log_severity_screen: None,
            prefix_advertisements: Vec::new(),
            service_cluster_ips: Vec::new(),
            service_external_ips: Vec::new(),
            service_load_balancer_ips: Vec::new(),
            ignored_interfaces: Vec::new(),
        }
    }
}

/// BFDConfiguration `interfaces[].matchPattern`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InterfacePattern {
    /// `*`: every interface.
    Any,
    /// `eth*`: names starting with the prefix.
    Prefix(String),
    /// An exact interface name.
    Exact(String),
}

/// A `matchPattern` with `*` anywhere but at the end, or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid interface pattern")]
pub struct InterfacePatternError;

impl FromStr for InterfacePattern {
    type Err = InterfacePatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(InterfacePattern::Any);
        }
        // Linux interface names: 1..=15 bytes, no '/', no whitespace.
        let valid = |n: &str| {
            !n.is_empty()
                && n.len() <= 15
                && n.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'*')
        };
        match s.strip_suffix('*') {
            Some(prefix) if valid(prefix) => Ok(InterfacePattern::Prefix(prefix.to_owned())),
            None if valid(s) => Ok(InterfacePattern::Exact(s.to_owned())),
            _ => Err(InterfacePatternError),
        }
    }
}

impl fmt::Display for InterfacePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfacePattern::Any => f.write_str("*"),
            InterfacePattern::Prefix(p) => write!(f, "{p}*"),
            InterfacePattern::Exact(n) => f.write_str(n),
        }
    }
}

impl InterfacePattern {
    /// Whether the pattern selects the interface `name`.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            InterfacePattern::Any => true,
            InterfacePattern::Prefix(p) => name.starts_with(p.as_str()),
            InterfacePattern::Exact(n) => n == name,
        }
    }
}

/// BFD timers for the interfaces a pattern selects
/// (BFDConfiguration `spec.interfaces[]`). Defaults are Calico's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BfdInterface {
    /// `matchPattern`.
    pub match_pattern: InterfacePattern,
    /// `minimumRecvInterval` (10 ms): bfd.RequiredMinRxInterval.
    pub minimum_recv_interval: Duration,
    /// `minimumSendInterval` (100 ms): bfd.DesiredMinTxInterval while Up.
    pub minimum_send_interval: Duration,
    /// `idleSendInterval` (1 min): DesiredMinTxInterval while not Up.
    pub idle_send_interval: Duration,
    /// `multiplier` (5): bfd.DetectMult.
    pub multiplier: u8,
}

impl BfdInterface {
    /// Calico's defaults for interfaces matching `pattern`.
    pub fn new(match_pattern: InterfacePattern) -> Self {
        BfdInterface {
            match_pattern,
            minimum_recv_interval: Duration::from_millis(10),
            minimum_send_interval: Duration::from_millis(100),
            idle_send_interval: Duration::from_secs(60),
            multiplier: 5,
        }
    }
}

/// Calico Enterprise `BFDConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BfdConfiguration {
    /// `metadata.name`.
    pub name: String,
    /// `spec.nodeSelector`: unset selects every node (Calico reads an empty
    /// selector as `all()`).
    pub node_selector: Option<Selector>,
    /// `spec.interfaces`, first match wins.
    pub interfaces: Vec<BfdInterface>,
}

impl BfdConfiguration {
    /// A configuration for every node with no interfaces.
    pub fn new(name: impl Into<String>) -> Self {
        BfdConfiguration {
            name: name.into(),
            node_selector: None,
            interfaces: Vec::new(),
        }
    }
}

/// BlockAffinity `spec.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AffinityState {
    /// The block belongs to the node: the only state that counts.
    Confirmed,
    /// Being claimed.
    Pending,
    /// Being released.
    PendingDeletion,
}

/// Calico `BlockAffinity`: a pod block assigned to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockAffinity {
    /// `metadata.name`.
    pub name: String,
    /// `spec.node`.
    pub node: String,
    /// `spec.cidr`: the block.
    pub cidr: IpNet,
    /// `spec.state`.
    pub state: AffinityState,
    /// `spec.deleted`: treat as absent.
    pub deleted: bool,
}

impl BlockAffinity {
    /// A confirmed block of `node`.
    pub fn confirmed(name: impl Into<String>, node: impl Into<String>, cidr: IpNet) -> Self {
        BlockAffinity {
            name: name.into(),
            node: node.into(),
            cidr,
            state: AffinityState::Confirmed,
            deleted: false,
        }
    }
}

/// The full resource set a node's plan is computed from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Config {
    /// `Node` resources (the plan needs at least our own).
    pub nodes: Vec<NodeConfig>,
    /// `BGPPeer` resources.
    pub peers: Vec<PeerConfig>,
    /// `IPPool` resources.
    pub ip_pools: Vec<IpPool>,
    /// `BGPConfiguration` resources.
    pub bgp_configurations: Vec<BgpConfiguration>,
    /// `BFDConfiguration` resources.
    pub bfd_configurations: Vec<BfdConfiguration>,
    /// `BlockAffinity` resources.
    pub block_affinities: Vec<BlockAffinity>,
}

impl Config {
    /// An empty resource set.
    pub fn new() -> Self {
        Config::default()
    }
}
