//! Resolution of the whole resource set into what one node must run: its
//! sessions (with what each advertises), BFD timers, and the prefixes it
//! originates; and the difference between two plans, so that a reload
//! touches only the affected sessions.
//!
//! The rules are those of `shared/spec/calico-semantics.md` (Calico OSS
//! templates for the OSS fields, Calico Enterprise docs for the rest).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::error::{ConfigError, ConfigErrorKind, ResourceId, ResourceKind};
use super::model::{
    AsNumber, BfdInterface, BgpConfiguration, BindMode, Community, Config, FailureDetectionMode,
    GatewayMode, InterfacePattern, IpPool, NextHopMode, NodeConfig, PeerConfig, RestartMode,
    Secret, SourceAddress,
};
use super::validate::{InterfaceAddress, SecretStore, resolve_password};

/// BGP's well-known port (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;
/// BIRD's default graceful restart time, which Calico keeps (RFC 4724).
pub const DEFAULT_GR_RESTART_TIME: Duration = Duration::from_secs(120);
/// BIRD's default LLGR stale time, which Calico keeps (RFC 9494).
pub const DEFAULT_LLGR_STALE_TIME: Duration = Duration::from_secs(3600);

/// What we put in the Long-Lived Graceful Restart capability (RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LlgrAdvert {
    /// An empty LLGR capability: we honour LLGR_STALE from others but run no
    /// LLGR procedure for our own restarts (BIRD 1.6 / Calico default).
    Aware,
    /// The capability with F=1 for every family and this stale time, in
    /// seconds (24 bits).
    StaleTime(u32),
}

/// What we advertise for our own restart (RFC 4724 §3, RFC 9494 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartAdvert {
    /// The GR capability's Restart Time, seconds (12 bits). 0 with
    /// `LongLivedGracefulRestart`.
    pub restart_time: u16,
    /// The LLGR capability.
    pub llgr: LlgrAdvert,
}

/// Where the BGP session's local address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionSource {
    /// Bind to the node's address (`sourceAddress: UseNodeIP`).
    NodeIp(IpAddr),
    /// Let the kernel choose (`sourceAddress: None`, or no node address of
    /// the peer's family).
    Kernel,
}

/// Next-hop resolution for routes from a peer (BIRD `gateway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Gateway {
    /// Resolve the next hop through the routing table.
    Recursive,
    /// BIRD 1.6 `gateway direct`: the next hop when it is on the session's
    /// subnet, otherwise the neighbour's own address.
    Direct,
}

/// BFD parameters for one session (RFC 5880 §6.8.1 variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BfdTimers {
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DesiredMinTxInterval while Up.
    pub desired_min_tx: Duration,
    /// bfd.DesiredMinTxInterval while not Up (RFC 5880 §6.8.3: >= 1 s).
    pub idle_tx: Duration,
    /// bfd.DetectMult.
    pub detect_mult: u8,
}

impl From<&BfdInterface> for BfdTimers {
    fn from(i: &BfdInterface) -> Self {
        BfdTimers {
            required_min_rx: i.minimum_recv_interval,
            desired_min_tx: i.minimum_send_interval,
            idle_tx: i.idle_send_interval,
            detect_mult: i.multiplier,
        }
    }
}

/// One BGP session this node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerPlan {
    /// The BGPPeer resource it comes from.
    pub name: String,
    /// Neighbour address.
    pub address: IpAddr,
    /// Neighbour TCP port.
    pub port: u16,
    /// Peer AS.
    pub peer_as: AsNumber,
    /// Our AS on this session.
    pub local_as: AsNumber,
    /// Local address.
    pub source: SessionSource,
    /// The interface whose subnet holds the peer (directly connected), if any.
    pub interface: Option<String>,
    /// Next hop of the routes we send.
    pub next_hop_mode: NextHopMode,
    /// TCP MD5 key (RFC 2385).
    pub password: Option<Secret>,
    /// Keepalive interval, when configured.
    pub keepalive_time: Option<Duration>,
    /// Hold time: 3 x keepalive, when configured.
    pub hold_time: Option<Duration>,
    /// Accept our AS up to N times in AS_PATH.
    pub num_allowed_local_as: Option<u32>,
    /// GTSM hop count (RFC 5082).
    pub ttl_security: Option<u8>,
    /// Gateway for a static /32 to the peer.
    pub reachable_by: Option<IpAddr>,
    /// Which restart procedure applies to the peer's routes.
    pub restart_mode: RestartMode,
    /// What we advertise for our own restart.
    pub restart: RestartAdvert,
    /// Next-hop resolution.
    pub gateway: Gateway,
    /// BFD timers when BFD runs on this session.
    pub bfd: Option<BfdTimers>,
}

impl PeerPlan {
    /// Same AS at both ends (RFC 4271 §3: internal peer).
    pub fn is_ibgp(&self) -> bool {
        self.peer_as == self.local_as
    }
}

/// Why a BGPPeer that selects this node produces no session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// `peerSelector` (node-to-node peerings): a dual-ToR node peers only
    /// with its ToRs.
    PeerSelector,
    /// Another BGPPeer (earlier by name) already peers with the same address.
    DuplicatePeerIp {
        /// The BGPPeer kept.
        kept: String,
    },
    /// The peer address is one of this node's own addresses.
    OwnAddress,
}

/// A BGPPeer selecting this node that yields no session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedPeer {
    /// The BGPPeer.
    pub name: String,
    /// Why.
    pub reason: SkipReason,
}

/// Why a prefix is originated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum OriginKind {
    /// The node's loopback (`spec.bgp.ipv4Address` / `ipv6Address`).
    Loopback,
    /// A confirmed pod block of this node.
    PodBlock,
    /// A service CIDR from BGPConfiguration.
    Service,
}

/// One prefix this node advertises.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Origination {
    /// The prefix.
    pub prefix: IpNet,
    /// Why.
    pub kind: OriginKind,
    /// Communities attached (BGPConfiguration `prefixAdvertisements`), sorted.
    pub communities: Vec<Community>,
}

/// Everything one node runs, computed from the resource set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodePlan {
    /// The node's name.
    pub node: String,
    /// The node's AS (Node, else BGPConfiguration `default`, else 64512).
    pub local_as: AsNumber,
    /// BGP Identifier: the node's IPv4 address, when it has one.
    pub router_id: Option<Ipv4Addr>,
    /// TCP port we listen on.
    pub listen_port: u16,
    /// Listen on every address or the node IP only.
    pub bind_mode: BindMode,
    /// Sessions, by neighbour address.
    pub peers: BTreeMap<IpAddr, PeerPlan>,
    /// BGPPeers selecting this node that yield no session.
    pub skipped_peers: Vec<SkippedPeer>,
    /// Prefixes we advertise (and nothing else: no transit between planes).
    pub originations: BTreeMap<IpNet, Origination>,
    /// Pod blocks installed locally as blackhole routes.
    pub blackholes: BTreeSet<IpNet>,
}

fn selects(peer: &PeerConfig, node: &NodeConfig) -> bool {
    match (&peer.node, &peer.node_selector) {
        (Some(n), _) => *n == node.name,
        (None, Some(sel)) => sel.matches(&node.labels),
        (None, None) => true,
    }
}

/// The interface whose (non-host) subnet contains `ip`: the peer is
/// directly connected over it.
fn connected_interface(ip: IpAddr, addresses: &[InterfaceAddress]) -> Option<String> {
    addresses
        .iter()
        .filter(|a| a.interface != "lo" && a.address.prefix_len() < a.address.max_prefix_len())
        .find(|a| a.address.trunc().contains(&ip))
        .map(|a| a.interface.clone())
}

/// The effective BGPConfiguration: `default`, with `node.<name>` overriding
/// the per-node fields (listen port, bind mode).
fn effective_bgp(config: &Config, node: &str) -> (Option<AsNumber>, u16, BindMode) {
    let find = |name: &str| -> Option<&BgpConfiguration> {
        config.bgp_configurations.iter().find(|c| c.name == name)
    };
    let global = find("default");
    let local = find(&format!("node.{node}"));
    let listen_port = local
        .and_then(|c| c.listen_port)
        .or_else(|| global.and_then(|c| c.listen_port))
        .unwrap_or(BGP_PORT);
    let bind_mode = local
        .and_then(|c| c.bind_mode)
        .or_else(|| global.and_then(|c| c.bind_mode))
        .unwrap_or_default();
    (global.and_then(|c| c.as_number), listen_port, bind_mode)
}

/// Calico's export filter (`calico_export_to_bgp_peers`): a prefix is
/// exported when it lies in an IPPool, disabled or not, and in no pool with
/// `disableBGPExport` (checked first).
fn exported(prefix: &IpNet, pools: &[IpPool]) -> bool {
    let inside: Vec<&IpPool> = pools.iter().filter(|p| p.cidr.contains(prefix)).collect();
    !inside.is_empty() && !inside.iter().any(|p| p.disable_bgp_export)
}

/// BFD timers for a session on `interface`: the first matching interface
/// pattern of the BFDConfigurations (by name) that select the node. With no
/// BFDConfiguration at all, Calico's documented defaults apply to every
/// interface (`all()`, `*`), so that the guide's resources alone give BFD.
fn bfd_timers(config: &Config, node: &NodeConfig, interface: &str) -> Option<BfdTimers> {
    if config.bfd_configurations.is_empty() {
        return Some(BfdTimers::from(&BfdInterface::new(InterfacePattern::Any)));
    }
    let mut configs: Vec<_> = config
        .bfd_configurations
        .iter()
        .filter(|c| {
            c.node_selector
                .as_ref()
                .is_none_or(|s| s.matches(&node.labels))
        })
        .collect();
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    configs
        .iter()
        .flat_map(|c| &c.interfaces)
        .find(|i| i.match_pattern.matches(interface))
        .map(BfdTimers::from)
}

fn restart_advert(peer: &PeerConfig) -> RestartAdvert {
    match peer.restart_mode {
        RestartMode::GracefulRestart => {
            let t = peer.max_restart_time.unwrap_or(DEFAULT_GR_RESTART_TIME);
            RestartAdvert {
                restart_time: u16::try_from(t.as_secs()).unwrap_or(u16::MAX).min(4095),
                llgr: LlgrAdvert::Aware,
            }
        }
        RestartMode::LongLivedGracefulRestart => {
            let t = peer.max_restart_time.unwrap_or(DEFAULT_LLGR_STALE_TIME);
            RestartAdvert {
                restart_time: 0,
                llgr: LlgrAdvert::StaleTime(
                    u32::try_from(t.as_secs())
                        .unwrap_or(u32::MAX)
                        .min(0xFF_FFFF),
                ),
            }
        }
    }
}

/// Computes the plan of node `node` from the resource set.
///
/// `addresses` are the node's interface addresses (from the kernel), used to
/// decide which peers are directly connected (BFD, `gateway direct`); an
/// empty slice makes every peer multihop. `secrets` resolves
/// `secretKeyRef` passwords.
///
/// The whole set is validated first: on error nothing of the plan exists.
pub fn plan(
    config: &Config,
    node: &str,
    addresses: &[InterfaceAddress],
    secrets: &dyn SecretStore,
) -> Result<NodePlan, ConfigError> {
    config.validate()?;
    let me = config
        .nodes
        .iter()
        .find(|n| n.name == node)
        .ok_or_else(|| {
            ConfigError::new(
                Some(ResourceId::new(ResourceKind::Node, node)),
                "",
                ConfigErrorKind::UnknownNode {
                    name: node.to_owned(),
                },
            )
        })?;
    let (default_as, listen_port, bind_mode) = effective_bgp(config, node);
    let local_as = me
        .as_number
        .or(default_as)
        .unwrap_or(AsNumber::CALICO_DEFAULT);
    let own: Vec<IpAddr> = me
        .ipv4_address
        .map(|a| IpAddr::V4(a.addr()))
        .into_iter()
        .chain(me.ipv6_address.map(|a| IpAddr::V6(a.addr())))
        .chain(addresses.iter().map(|a| a.address.addr()))
        .collect();

    let mut peers_in_order: Vec<&PeerConfig> =
        config.peers.iter().filter(|p| selects(p, me)).collect();
    peers_in_order.sort_by(|a, b| a.name.cmp(&b.name));

    let mut peers = BTreeMap::new();
    let mut skipped_peers = Vec::new();
    for p in peers_in_order {
        let skip = |reason| SkippedPeer {
            name: p.name.clone(),
            reason,
        };
        // Validated: without peerSelector, peerIP and asNumber are set.
        let (Some(addr), Some(peer_as)) = (p.peer_ip, p.as_number) else {
            skipped_peers.push(skip(SkipReason::PeerSelector));
            continue;
        };
        if own.contains(&addr.ip) {
            skipped_peers.push(skip(SkipReason::OwnAddress));
            continue;
        }
        if let Some(kept) = peers.get(&addr.ip).map(|k: &PeerPlan| k.name.clone()) {
            skipped_peers.push(skip(SkipReason::DuplicatePeerIp { kept }));
            continue;
        }
        let password = p
            .password
            .as_ref()
            .map(|src| resolve_password(src, secrets))
            .transpose()
            .map_err(|k| {
                ConfigError::new(
                    Some(ResourceId::new(ResourceKind::BgpPeer, &p.name)),
                    "spec.password",
                    k,
                )
            })?;
        let source = match (p.source_address, addr.ip) {
            (SourceAddress::UseNodeIp, IpAddr::V4(_)) => {
                me.ipv4_address.map_or(SessionSource::Kernel, |a| {
                    SessionSource::NodeIp(IpAddr::V4(a.addr()))
                })
            }
            (SourceAddress::UseNodeIp, IpAddr::V6(_)) => {
                me.ipv6_address.map_or(SessionSource::Kernel, |a| {
                    SessionSource::NodeIp(IpAddr::V6(a.addr()))
                })
            }
            (SourceAddress::None, _) => SessionSource::Kernel,
        };
        let interface = connected_interface(addr.ip, addresses);
        let gateway = match (p.bird_gateway_mode, &interface) {
            (GatewayMode::DirectIfDirectlyConnected, Some(_)) => Gateway::Direct,
            _ => Gateway::Recursive,
        };
        let bfd = match (p.failure_detection_mode, &interface) {
            (FailureDetectionMode::BfdIfDirectlyConnected, Some(ifname)) => {
                bfd_timers(config, me, ifname)
            }
            _ => None,
        };
        peers.insert(
            addr.ip,
            PeerPlan {
                name: p.name.clone(),
                address: addr.ip,
                port: addr.port.unwrap_or(BGP_PORT),
                peer_as,
                local_as: p.local_as_number.unwrap_or(local_as),
                source,
                interface,
                next_hop_mode: p.next_hop_mode,
                password,
                keepalive_time: p.keepalive_time,
                hold_time: p.keepalive_time.map(|k| k * 3),
                num_allowed_local_as: p.num_allowed_local_as_numbers,
                ttl_security: p.ttl_security,
                reachable_by: p.reachable_by,
                restart_mode: p.restart_mode,
                restart: restart_advert(p),
                gateway,
                bfd,
            },
        );
    }

    let (originations, blackholes) = originations(config, me);
    Ok(NodePlan {
        node: me.name.clone(),
        local_as,
        router_id: me.ipv4_address.map(|a| a.addr()),
        listen_port,
        bind_mode,
        peers,
        skipped_peers,
        originations,
        blackholes,
    })
}

fn originations(
    config: &Config,
    me: &NodeConfig,
) -> (BTreeMap<IpNet, Origination>, BTreeSet<IpNet>) {
    let pools = &config.ip_pools;
    let mut out: Vec<(IpNet, OriginKind)> = Vec::new();
    let loopbacks = me
        .ipv4_address
        .map(|a| IpNet::V4(Ipv4Net::from(a.addr())))
        .into_iter()
        .chain(me.ipv6_address.map(|a| IpNet::V6(Ipv6Net::from(a.addr()))));
    for lo in loopbacks {
        if exported(&lo, pools) {
            out.push((lo, OriginKind::Loopback));
        }
    }
    let mut blackholes = BTreeSet::new();
    for b in &config.block_affinities {
        if b.node == me.name && b.state == super::model::AffinityState::Confirmed && !b.deleted {
            blackholes.insert(b.cidr);
            if exported(&b.cidr, pools) {
                out.push((b.cidr, OriginKind::PodBlock));
            }
        }
    }
    let global = config
        .bgp_configurations
        .iter()
        .find(|c| c.name == "default");
    if let Some(g) = global {
        for cidr in g
            .service_cluster_ips
            .iter()
            .chain(&g.service_external_ips)
            .chain(&g.service_load_balancer_ips)
        {
            out.push((*cidr, OriginKind::Service));
        }
    }
    let adverts = global
        .map(|g| g.prefix_advertisements.as_slice())
        .unwrap_or(&[]);
    let mut map = BTreeMap::new();
    for (prefix, kind) in out {
        let mut communities: Vec<Community> = adverts
            .iter()
            .filter(|a| a.cidr.contains(&prefix))
            .flat_map(|a| a.communities.iter().copied())
            .collect();
        communities.sort();
        communities.dedup();
        // The first reason wins (a loopback inside a service range stays a
        // loopback).
        map.entry(prefix).or_insert(Origination {
            prefix,
            kind,
            communities,
        });
    }
    (map, blackholes)
}

/// A property of a session that changed between two plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PeerField {
    /// The BGPPeer it comes from.
    Name,
    /// TCP port.
    Port,
    /// Peer AS.
    PeerAs,
    /// Local AS.
    LocalAs,
    /// Local address.
    Source,
    /// Connected interface.
    Interface,
    /// Next-hop mode.
    NextHopMode,
    /// TCP MD5 key.
    Password,
    /// Keepalive / hold time.
    Keepalive,
    /// Allowed local AS count.
    NumAllowedLocalAs,
    /// GTSM.
    TtlSecurity,
    /// Static route gateway.
    ReachableBy,
    /// Restart mode.
    RestartMode,
    /// Advertised restart times.
    Restart,
    /// Gateway mode.
    Gateway,
    /// BFD timers (or BFD on/off).
    Bfd,
}

impl PeerField {
    /// Whether the change needs the BGP session re-established: everything
    /// that goes into the OPEN message or the TCP connection. The others
    /// apply live (re-export, re-resolution, BFD Poll sequence).
    pub fn requires_session_reset(self) -> bool {
        matches!(
            self,
            PeerField::Port
                | PeerField::PeerAs
                | PeerField::LocalAs
                | PeerField::Source
                | PeerField::Password
                | PeerField::Keepalive
                | PeerField::TtlSecurity
                | PeerField::RestartMode
                | PeerField::Restart
        )
    }
}

/// A session present in both plans with different settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerChange {
    /// Neighbour address.
    pub address: IpAddr,
    /// What changed, sorted.
    pub fields: Vec<PeerField>,
}

impl PeerChange {
    /// Whether any change needs the session re-established.
    pub fn requires_session_reset(&self) -> bool {
        self.fields.iter().any(|f| f.requires_session_reset())
    }
}

/// What a reload must do: the difference between two plans of one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PlanDiff {
    /// Sessions to start.
    pub peers_added: Vec<IpAddr>,
    /// Sessions to stop.
    pub peers_removed: Vec<IpAddr>,
    /// Sessions whose settings changed.
    pub peers_changed: Vec<PeerChange>,
    /// Prefixes to start advertising.
    pub originations_added: Vec<IpNet>,
    /// Prefixes to withdraw.
    pub originations_removed: Vec<IpNet>,
    /// Prefixes to re-advertise (communities or kind changed).
    pub originations_changed: Vec<IpNet>,
    /// Blackhole routes to install.
    pub blackholes_added: Vec<IpNet>,
    /// Blackhole routes to remove.
    pub blackholes_removed: Vec<IpNet>,
    /// Local AS or router ID changed: every session must be re-established.
    pub identity_changed: bool,
    /// Listen port or bind mode changed: the listener must be re-opened.
    pub listener_changed: bool,
}

impl PlanDiff {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        *self == PlanDiff::default()
    }
}

fn peer_fields(a: &PeerPlan, b: &PeerPlan) -> Vec<PeerField> {
    let mut f = Vec::new();
    let mut check = |changed: bool, field| {
        if changed {
            f.push(field);
        }
    };
    check(a.name != b.name, PeerField::Name);
    check(a.port != b.port, PeerField::Port);
    check(a.peer_as != b.peer_as, PeerField::PeerAs);
    check(a.local_as != b.local_as, PeerField::LocalAs);
    check(a.source != b.source, PeerField::Source);
    check(a.interface != b.interface, PeerField::Interface);
    check(a.next_hop_mode != b.next_hop_mode, PeerField::NextHopMode);
    check(a.password != b.password, PeerField::Password);
    check(a.keepalive_time != b.keepalive_time, PeerField::Keepalive);
    check(
        a.num_allowed_local_as != b.num_allowed_local_as,
        PeerField::NumAllowedLocalAs,
    );
    check(a.ttl_security != b.ttl_security, PeerField::TtlSecurity);
    check(a.reachable_by != b.reachable_by, PeerField::ReachableBy);
    check(a.restart_mode != b.restart_mode, PeerField::RestartMode);
    check(a.restart != b.restart, PeerField::Restart);
    check(a.gateway != b.gateway, PeerField::Gateway);
    check(a.bfd != b.bfd, PeerField::Bfd);
    f
}

fn keys_diff<K: Ord + Copy, V>(old: &BTreeMap<K, V>, new: &BTreeMap<K, V>) -> (Vec<K>, Vec<K>) {
    let added = new
        .keys()
        .filter(|k| !old.contains_key(k))
        .copied()
        .collect();
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(k))
        .copied()
        .collect();
    (added, removed)
}

/// The difference between the plan in force and a new one.
pub fn diff(old: &NodePlan, new: &NodePlan) -> PlanDiff {
    let (peers_added, peers_removed) = keys_diff(&old.peers, &new.peers);
    let peers_changed = old
        .peers
        .iter()
        .filter_map(|(addr, a)| {
            let b = new.peers.get(addr)?;
            let fields = peer_fields(a, b);
            (!fields.is_empty()).then_some(PeerChange {
                address: *addr,
                fields,
            })
        })
        .collect();
    let (originations_added, originations_removed) =
        keys_diff(&old.originations, &new.originations);
    let originations_changed = old
        .originations
        .iter()
        .filter(|(p, o)| new.originations.get(p).is_some_and(|n| n != *o))
        .map(|(p, _)| *p)
        .collect();
    PlanDiff {
        peers_added,
        peers_removed,
        peers_changed,
        originations_added,
        originations_removed,
        originations_changed,
        blackholes_added: new
            .blackholes
            .difference(&old.blackholes)
            .copied()
            .collect(),
        blackholes_removed: old
            .blackholes
            .difference(&new.blackholes)
            .copied()
            .collect(),
        identity_changed: old.local_as != new.local_as || old.router_id != new.router_id,
        listener_changed: old.listen_port != new.listen_port || old.bind_mode != new.bind_mode,
    }
}
