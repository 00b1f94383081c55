//! Per-node plans computed from the guide's resources, and plan diffs.
//! Expected plans are written by hand from the dual-ToR guide and
//! `shared/spec/calico-semantics.md`.
#![cfg(feature = "serde")]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use dualtor::config::{
    AddressScope, AsNumber, BfdTimers, BindMode, BlockAffinity, Community, Config, ConfigErrorKind,
    Gateway, InterfaceAddress, IpPool, LlgrAdvert, NextHopMode, NoSecrets, NodeConfig, NodePlan,
    OriginKind, PeerConfig, PeerField, PeerPlan, ResourceId, ResourceKind, RestartAdvert,
    RestartMode, Secret, SecretDir, SessionSource, SkipReason, diff, plan,
};
use ipnet::IpNet;

const GUIDE: &str = include_str!("fixtures/guide.yaml");
const EXTRAS: &str = include_str!("fixtures/extras.yaml");

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}
fn asn(n: u32) -> AsNumber {
    AsNumber::new(n).unwrap()
}

/// The guide's addressing for node `n` of rack `r` (1-based):
/// loopback 172.31.<10r>.n on lo, plane NICs 172.31.<10r+p>.n/24 scope link.
fn addresses(rack: u8, n: u8) -> Vec<InterfaceAddress> {
    let x = 10 * rack;
    vec![
        InterfaceAddress::new("lo", net("127.0.0.1/8"), AddressScope::Host),
        InterfaceAddress::new(
            "lo",
            net(&format!("172.31.{x}.{n}/32")),
            AddressScope::Universe,
        ),
        InterfaceAddress::new(
            "eth0",
            net(&format!("172.31.{}.{n}/24", x + 1)),
            AddressScope::Link,
        ),
        InterfaceAddress::new(
            "eth1",
            net(&format!("172.31.{}.{n}/24", x + 2)),
            AddressScope::Link,
        ),
    ]
}

/// Calico's documented BFDConfiguration defaults (10ms / 100ms / 1m / 5).
const BFD_DEFAULTS: BfdTimers = BfdTimers {
    required_min_rx: Duration::from_millis(10),
    desired_min_tx: Duration::from_millis(100),
    idle_tx: Duration::from_secs(60),
    detect_mult: 5,
};

/// What `restartMode: LongLivedGracefulRestart` without maxRestartTime
/// advertises: GR time 0 and the LLGR stale time BIRD defaults to (3600 s).
const LLGR_DEFAULT: RestartAdvert = RestartAdvert {
    restart_time: 0,
    llgr: LlgrAdvert::StaleTime(3600),
};

/// Asserts a guide ToR session: iBGP, `sourceAddress: None`, LLGR, direct
/// gateway over `interface`, and the given BFD timers.
#[track_caller]
fn assert_guide_tor(
    p: &PeerPlan,
    name: &str,
    addr: &str,
    asn_: u32,
    interface: &str,
    bfd: Option<BfdTimers>,
) {
    assert_eq!(p.name, name);
    assert_eq!(p.address, ip(addr));
    assert_eq!(p.port, 179);
    assert_eq!(p.peer_as, asn(asn_));
    assert_eq!(p.local_as, asn(asn_));
    assert!(p.is_ibgp());
    assert_eq!(p.source, SessionSource::Kernel);
    assert_eq!(p.interface.as_deref(), Some(interface));
    assert_eq!(p.next_hop_mode, NextHopMode::Auto);
    assert_eq!(p.password, None);
    assert_eq!(p.keepalive_time, None);
    assert_eq!(p.hold_time, None);
    assert_eq!(p.num_allowed_local_as, None);
    assert_eq!(p.ttl_security, None);
    assert_eq!(p.reachable_by, None);
    assert_eq!(p.restart_mode, RestartMode::LongLivedGracefulRestart);
    assert_eq!(p.restart, LLGR_DEFAULT);
    assert_eq!(p.gateway, Gateway::Direct);
    assert_eq!(p.bfd, bfd);
}

fn originations(p: &NodePlan) -> Vec<(IpNet, OriginKind, Vec<Community>)> {
    p.originations
        .values()
        .map(|o| (o.prefix, o.kind, o.communities.clone()))
        .collect()
}

#[test]
fn guide_plan_a1() {
    let c = Config::from_yaml(GUIDE).unwrap();
    let p = plan(&c, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    assert_eq!(p.node, "a1");
    assert_eq!(p.local_as, asn(65001));
    assert_eq!(p.router_id, Some("172.31.10.1".parse().unwrap()));
    assert_eq!(p.listen_port, 179);
    assert_eq!(p.bind_mode, BindMode::None);
    // nodeSelector rack == 'ra': ra1 and ra2, not rb1/rb2.
    let keys: Vec<IpAddr> = p.peers.keys().copied().collect();
    assert_eq!(keys, [ip("172.31.11.250"), ip("172.31.12.250")]);
    assert_guide_tor(
        &p.peers[&ip("172.31.11.250")],
        "ra1",
        "172.31.11.250",
        65001,
        "eth0",
        Some(BFD_DEFAULTS),
    );
    assert_guide_tor(
        &p.peers[&ip("172.31.12.250")],
        "ra2",
        "172.31.12.250",
        65001,
        "eth1",
        Some(BFD_DEFAULTS),
    );
    assert!(p.skipped_peers.is_empty());
    // The loopback /32 lies in the disabled pool loopbacks-rack-a: exported.
    // The confirmed block is exported (pod pool) and blackholed; the pending
    // one is neither.
    assert_eq!(
        originations(&p),
        [
            (net("10.244.192.128/26"), OriginKind::PodBlock, vec![]),
            (net("172.31.10.1/32"), OriginKind::Loopback, vec![]),
        ]
    );
    assert_eq!(p.blackholes, BTreeSet::from([net("10.244.192.128/26")]));
}

#[test]
fn guide_plan_b1() {
    let c = Config::from_yaml(GUIDE).unwrap();
    let p = plan(&c, "b1", &addresses(2, 1), &NoSecrets).unwrap();
    assert_eq!(p.local_as, asn(65002));
    let keys: Vec<IpAddr> = p.peers.keys().copied().collect();
    assert_eq!(keys, [ip("172.31.21.250"), ip("172.31.22.250")]);
    assert_guide_tor(
        &p.peers[&ip("172.31.21.250")],
        "rb1",
        "172.31.21.250",
        65002,
        "eth0",
        Some(BFD_DEFAULTS),
    );
    assert_guide_tor(
        &p.peers[&ip("172.31.22.250")],
        "rb2",
        "172.31.22.250",
        65002,
        "eth1",
        Some(BFD_DEFAULTS),
    );
    assert_eq!(
        originations(&p),
        [
            (net("10.244.200.0/26"), OriginKind::PodBlock, vec![]),
            (net("172.31.20.1/32"), OriginKind::Loopback, vec![]),
        ]
    );
}

#[test]
fn not_directly_connected_falls_back_to_recursive_without_bfd() {
    // calico-semantics: "for a peer that is not on a connected subnet both
    // options fall back to off".
    let c = Config::from_yaml(GUIDE).unwrap();
    let p = plan(&c, "a1", &[], &NoSecrets).unwrap();
    for peer in p.peers.values() {
        assert_eq!(peer.interface, None);
        assert_eq!(peer.gateway, Gateway::Recursive);
        assert_eq!(peer.bfd, None);
    }
}

fn secrets() -> SecretDir {
    SecretDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets"))
}

#[test]
fn extras_plan_a1() {
    let c = Config::from_yaml(&format!("{GUIDE}---\n{EXTRAS}")).unwrap();
    let p = plan(&c, "a1", &addresses(1, 1), &secrets()).unwrap();
    // BGPConfiguration node.a1 overrides the listen port.
    assert_eq!(p.listen_port, 1179);
    let keys: Vec<IpAddr> = p.peers.keys().copied().collect();
    assert_eq!(
        keys,
        [ip("172.31.11.250"), ip("172.31.12.250"), ip("fd00::250")]
    );
    // BFDConfiguration rack-a: eth1 has its own timers, eth0 matches "eth*"
    // with the defaults.
    assert_eq!(p.peers[&ip("172.31.11.250")].bfd, Some(BFD_DEFAULTS));
    assert_eq!(
        p.peers[&ip("172.31.12.250")].bfd,
        Some(BfdTimers {
            required_min_rx: Duration::from_millis(50),
            desired_min_tx: Duration::from_millis(50),
            idle_tx: Duration::from_secs(60),
            detect_mult: 3,
        })
    );
    let rr = &p.peers[&ip("fd00::250")];
    assert_eq!(rr.name, "global-rr");
    assert_eq!(rr.port, 1179);
    assert_eq!(rr.peer_as, asn(65100));
    assert_eq!(rr.local_as, asn(4_200_000_001));
    assert!(!rr.is_ibgp());
    // UseNodeIP, but a1 has no spec.bgp.ipv6Address: the kernel chooses.
    assert_eq!(rr.source, SessionSource::Kernel);
    assert_eq!(rr.interface, None);
    assert_eq!(rr.next_hop_mode, NextHopMode::Self_);
    assert_eq!(rr.password, Some(Secret::new("s3cret")));
    assert_eq!(rr.keepalive_time, Some(Duration::from_secs(10)));
    // Hold time = 3 x keepalive.
    assert_eq!(rr.hold_time, Some(Duration::from_secs(30)));
    assert_eq!(rr.num_allowed_local_as, Some(2));
    assert_eq!(rr.ttl_security, Some(1));
    assert_eq!(rr.reachable_by, Some(ip("fd00::1")));
    assert_eq!(rr.restart_mode, RestartMode::GracefulRestart);
    // GracefulRestart: maxRestartTime is the GR time; LLGR capability empty.
    assert_eq!(
        rr.restart,
        RestartAdvert {
            restart_time: 90,
            llgr: LlgrAdvert::Aware
        }
    );
    assert_eq!(rr.gateway, Gateway::Recursive);
    assert_eq!(rr.bfd, None);
    let skipped: Vec<(&str, &SkipReason)> = p
        .skipped_peers
        .iter()
        .map(|s| (s.name.as_str(), &s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            ("mesh", &SkipReason::PeerSelector),
            (
                "ra1-dup",
                &SkipReason::DuplicatePeerIp { kept: "ra1".into() }
            ),
        ]
    );
}

#[test]
fn extras_plan_b1_bfd_only_on_matching_interface() {
    // rack-b's only pattern is eth0: the eth1 session runs without BFD.
    let c = Config::from_yaml(&format!("{GUIDE}---\n{EXTRAS}")).unwrap();
    let p = plan(&c, "b1", &addresses(2, 1), &secrets()).unwrap();
    assert_eq!(p.listen_port, 179);
    assert_eq!(p.peers[&ip("172.31.21.250")].bfd, Some(BFD_DEFAULTS));
    assert_eq!(p.peers[&ip("172.31.22.250")].bfd, None);
    // ra1-dup names node a1 only.
    assert_eq!(
        p.skipped_peers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["mesh"]
    );
}

#[test]
fn communities_services_and_export_rules() {
    let yaml = "
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64600
  communities:
  - {name: loopbacks, value: '65000:100'}
  prefixAdvertisements:
  - cidr: 172.31.0.0/16
    communities: [loopbacks, '65000:1:2']
  - cidr: 172.31.40.0/24
    communities: ['65000:100', '65000:7']
  serviceClusterIPs:
  - cidr: 10.96.0.0/12
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: loopbacks}
spec: {cidr: 172.31.0.0/16, disabled: true}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: private}
spec: {cidr: 172.31.30.0/24, disableBGPExport: true}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: c1}
spec: {bgp: {ipv4Address: 172.31.30.1/32}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: c2}
spec: {bgp: {ipv4Address: 172.31.40.1/24}}
---
apiVersion: projectcalico.org/v3
kind: BlockAffinity
metadata: {name: c2-block}
spec: {state: confirmed, node: c2, cidr: 192.168.0.0/26}
";
    let c = Config::from_yaml(yaml).unwrap();
    // c1: no Node AS, BGPConfiguration's 64600. Its loopback lies in a
    // disableBGPExport pool (checked first): not exported.
    let p1 = plan(&c, "c1", &[], &NoSecrets).unwrap();
    assert_eq!(p1.local_as, asn(64600));
    assert_eq!(
        originations(&p1),
        [(net("10.96.0.0/12"), OriginKind::Service, vec![])]
    );
    // c2: the /32 of its address (given as /24) is exported with the
    // communities of every advertisement containing it, sorted, deduplicated.
    // Its block is in no pool: blackholed but not exported.
    let p2 = plan(&c, "c2", &[], &NoSecrets).unwrap();
    assert_eq!(
        originations(&p2),
        [
            (net("10.96.0.0/12"), OriginKind::Service, vec![]),
            (
                net("172.31.40.1/32"),
                OriginKind::Loopback,
                vec![
                    Community::Standard(65000, 7),
                    Community::Standard(65000, 100),
                    Community::Large(65000, 1, 2),
                ]
            ),
        ]
    );
    assert_eq!(p2.blackholes, BTreeSet::from([net("192.168.0.0/26")]));
}

#[test]
fn default_as_without_any_configuration_is_64512() {
    let mut c = Config::new();
    c.nodes.push(NodeConfig::new("n"));
    let p = plan(&c, "n", &[], &NoSecrets).unwrap();
    assert_eq!(p.local_as, asn(64512));
    assert_eq!(p.router_id, None);
}

#[test]
fn unknown_node() {
    let c = Config::from_yaml(GUIDE).unwrap();
    let e = plan(&c, "zz", &[], &NoSecrets).unwrap_err();
    assert_eq!(e.resource, Some(ResourceId::new(ResourceKind::Node, "zz")));
    assert_eq!(e.kind, ConfigErrorKind::UnknownNode { name: "zz".into() });
}

#[test]
fn peer_at_own_address_is_skipped() {
    let mut c = Config::from_yaml(GUIDE).unwrap();
    c.peers
        .push(PeerConfig::new("self", ip("172.31.10.1"), asn(65001)));
    let p = plan(&c, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    assert!(!p.peers.contains_key(&ip("172.31.10.1")));
    assert_eq!(p.skipped_peers[0].reason, SkipReason::OwnAddress);
}

/// The guide's configuration for rack A, built in code as a CNI would.
fn guide_in_code() -> Config {
    let mut c = Config::new();
    let mut a1 = NodeConfig::new("a1");
    a1.labels.insert("rack".into(), "ra".into());
    a1.as_number = Some(asn(65001));
    a1.ipv4_address = Some("172.31.10.1/32".parse().unwrap());
    c.nodes.push(a1);
    for (name, tor) in [("ra1", "172.31.11.250"), ("ra2", "172.31.12.250")] {
        let mut p = PeerConfig::dual_tor(name, ip(tor), asn(65001));
        p.node_selector = Some("rack == 'ra'".parse().unwrap());
        c.peers.push(p);
    }
    let mut lo = IpPool::new("loopbacks-rack-a", net("172.31.10.0/24"));
    lo.disabled = true;
    c.ip_pools.push(lo);
    c.ip_pools
        .push(IpPool::new("default-ipv4-ippool", net("10.244.0.0/16")));
    c.block_affinities.push(BlockAffinity::confirmed(
        "a1-block",
        "a1",
        net("10.244.192.128/26"),
    ));
    c
}

#[test]
fn typed_config_plans_like_yaml() {
    let from_yaml = plan(
        &Config::from_yaml(GUIDE).unwrap(),
        "a1",
        &addresses(1, 1),
        &NoSecrets,
    )
    .unwrap();
    let in_code = plan(&guide_in_code(), "a1", &addresses(1, 1), &NoSecrets).unwrap();
    assert_eq!(in_code, from_yaml);
}

#[test]
fn diff_of_identical_plans_is_empty() {
    let c = guide_in_code();
    let p = plan(&c, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    assert!(diff(&p, &p.clone()).is_empty());
}

#[test]
fn diff_touches_only_affected_sessions() {
    let old_config = guide_in_code();
    let mut new_config = old_config.clone();
    // ra2: a new restart time (goes into OPEN: session reset).
    set_peer(&mut new_config, "ra2", |p| {
        p.max_restart_time = Some(Duration::from_secs(10))
    });
    // ra1: gateway mode (applies live: next hops re-resolved).
    set_peer(&mut new_config, "ra1", |p| {
        p.bird_gateway_mode = dualtor::config::GatewayMode::Recursive
    });
    new_config.block_affinities.push(BlockAffinity::confirmed(
        "a1-block-2",
        "a1",
        net("10.244.193.0/26"),
    ));
    new_config.ip_pools.retain(|p| p.name != "loopbacks-rack-a");

    let old = plan(&old_config, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    let new = plan(&new_config, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    let d = diff(&old, &new);
    assert!(d.peers_added.is_empty());
    assert!(d.peers_removed.is_empty());
    let changes: Vec<(IpAddr, Vec<PeerField>, bool)> = d
        .peers_changed
        .iter()
        .map(|c| (c.address, c.fields.clone(), c.requires_session_reset()))
        .collect();
    assert_eq!(
        changes,
        [
            (ip("172.31.11.250"), vec![PeerField::Gateway], false),
            (ip("172.31.12.250"), vec![PeerField::Restart], true),
        ]
    );
    assert_eq!(d.originations_added, [net("10.244.193.0/26")]);
    assert_eq!(d.originations_removed, [net("172.31.10.1/32")]);
    assert!(d.originations_changed.is_empty());
    assert_eq!(d.blackholes_added, [net("10.244.193.0/26")]);
    assert!(d.blackholes_removed.is_empty());
    assert!(!d.identity_changed);
    assert!(!d.listener_changed);
}

/// Mutates the BGPPeer `name` of `c`.
fn set_peer(c: &mut Config, name: &str, f: impl FnOnce(&mut PeerConfig)) {
    f(c.peers.iter_mut().find(|p| p.name == name).unwrap());
}

#[test]
fn diff_peers_added_removed_and_identity() {
    let old_config = guide_in_code();
    let mut new_config = old_config.clone();
    new_config.peers.retain(|p| p.name != "ra2");
    let mut extra = PeerConfig::new("edge", ip("172.31.11.251"), asn(65010));
    extra.node = Some("a1".into());
    new_config.peers.push(extra);
    new_config.nodes[0].as_number = Some(asn(65005));
    let old = plan(&old_config, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    let new = plan(&new_config, "a1", &addresses(1, 1), &NoSecrets).unwrap();
    let d = diff(&old, &new);
    assert_eq!(d.peers_added, [ip("172.31.11.251")]);
    assert_eq!(d.peers_removed, [ip("172.31.12.250")]);
    assert_eq!(d.peers_changed.len(), 1);
    assert_eq!(d.peers_changed[0].address, ip("172.31.11.250"));
    assert_eq!(d.peers_changed[0].fields, [PeerField::LocalAs]);
    assert!(d.peers_changed[0].requires_session_reset());
    assert!(d.identity_changed);
}
