//! Loading Calico YAML: the guide's own resources, and one fixture per error
//! kind asserting the exact variant, document, resource and field.
//! Expected values are written by hand from the dual-ToR guide and
//! `shared/spec/calico-semantics.md`.
#![cfg(feature = "serde")]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use dualtor::config::{
    AffinityState, AsNumber, Config, ConfigError, ConfigErrorKind, DurationError, EncapMode,
    FailureDetectionMode, GatewayMode, NoSecrets, PeerAddress, ResourceId, ResourceKind as K,
    RestartMode, SecretDir, Selector, SelectorError, SelectorErrorKind, SourceAddress, plan,
};

const GUIDE: &str = include_str!("fixtures/guide.yaml");
const EXTRAS: &str = include_str!("fixtures/extras.yaml");

fn asn(n: u32) -> AsNumber {
    AsNumber::new(n).unwrap()
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts where an error points and what it says.
#[track_caller]
fn assert_error(
    e: &ConfigError,
    document: Option<usize>,
    resource: Option<(K, &str)>,
    field: &str,
    kind: ConfigErrorKind,
) {
    assert_eq!(e.document, document, "document of {e}");
    assert_eq!(
        e.resource,
        resource.map(|(k, n)| ResourceId::new(k, n)),
        "resource of {e}"
    );
    assert_eq!(e.field, field, "field of {e}");
    assert_eq!(e.kind, kind, "kind of {e}");
}

#[track_caller]
fn load_err(name: &str) -> ConfigError {
    match Config::from_yaml(&fixture(name)) {
        Ok(c) => panic!("{name} loaded: {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn guide_bgp_peers() {
    let c = Config::from_yaml(GUIDE).unwrap();
    let names: Vec<&str> = c.peers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["ra1", "ra2", "rb1", "rb2"]);
    let ra1 = &c.peers[0];
    assert_eq!(
        ra1.node_selector,
        Some(Selector::Eq("rack".into(), "ra".into()))
    );
    assert_eq!(ra1.node, None);
    assert_eq!(
        ra1.peer_ip,
        Some(PeerAddress::new(IpAddr::V4(Ipv4Addr::new(
            172, 31, 11, 250
        ))))
    );
    assert_eq!(ra1.as_number, Some(asn(65001)));
    assert_eq!(ra1.source_address, SourceAddress::None);
    assert_eq!(
        ra1.failure_detection_mode,
        FailureDetectionMode::BfdIfDirectlyConnected
    );
    assert_eq!(ra1.restart_mode, RestartMode::LongLivedGracefulRestart);
    assert_eq!(
        ra1.bird_gateway_mode,
        GatewayMode::DirectIfDirectlyConnected
    );
    assert_eq!(ra1.max_restart_time, None);
    assert_eq!(ra1.password, None);
    let rb2 = &c.peers[3];
    assert_eq!(
        rb2.peer_ip.map(|p| p.ip),
        Some(IpAddr::V4(Ipv4Addr::new(172, 31, 22, 250)))
    );
    assert_eq!(rb2.as_number, Some(asn(65002)));
}

#[test]
fn guide_pools_nodes_affinities() {
    let c = Config::from_yaml(GUIDE).unwrap();
    let lo_a = &c.ip_pools[0];
    assert_eq!(lo_a.name, "loopbacks-rack-a");
    assert_eq!(lo_a.cidr, "172.31.10.0/24".parse().unwrap());
    // `disabled: True` (YAML 1.1 spelling in the guide).
    assert!(lo_a.disabled);
    assert!(!lo_a.disable_bgp_export);
    assert_eq!(lo_a.effective_block_size(), 26);
    let pods = &c.ip_pools[2];
    assert_eq!(pods.ipip_mode, EncapMode::Never);
    assert_eq!(pods.block_size, Some(26));
    assert!(pods.nat_outgoing);

    // "nodeToNodeMeshEnabled": "false" (a string in the guide's patch).
    assert_eq!(
        c.bgp_configurations[0].node_to_node_mesh_enabled,
        Some(false)
    );

    let a1 = &c.nodes[0];
    assert_eq!(a1.name, "a1");
    assert_eq!(a1.labels.get("rack").map(String::as_str), Some("ra"));
    assert_eq!(a1.as_number, Some(asn(65001)));
    assert_eq!(a1.ipv4_address, Some("172.31.10.1/32".parse().unwrap()));
    assert!(a1.plane_interfaces.is_empty());
    let b1 = &c.nodes[2];
    assert_eq!(b1.plane_interfaces, ["eth0", "eth1"]);

    let states: Vec<(&str, AffinityState, bool)> = c
        .block_affinities
        .iter()
        .map(|b| (b.node.as_str(), b.state, b.deleted))
        .collect();
    assert_eq!(
        states,
        [
            ("a1", AffinityState::Confirmed, false),
            ("a1", AffinityState::Pending, false),
            ("b1", AffinityState::Confirmed, false),
        ]
    );
}

#[test]
fn extras_fields() {
    let c = Config::from_yaml(&format!("{GUIDE}---\n{EXTRAS}")).unwrap();
    let rr = c.peers.iter().find(|p| p.name == "global-rr").unwrap();
    assert_eq!(rr.peer_ip, Some("[fd00::250]:1179".parse().unwrap()));
    assert_eq!(rr.peer_ip.unwrap().port, Some(1179));
    assert_eq!(rr.as_number, Some(asn(65100)));
    assert_eq!(rr.local_as_number, Some(asn(4_200_000_001)));
    assert_eq!(rr.keepalive_time, Some(Duration::from_secs(10)));
    assert_eq!(rr.max_restart_time, Some(Duration::from_secs(90)));
    assert_eq!(rr.ttl_security, Some(1));
    assert_eq!(rr.num_allowed_local_as_numbers, Some(2));
    assert_eq!(rr.next_hop_mode, dualtor::config::NextHopMode::Self_);
    assert_eq!(rr.reachable_by, Some("fd00::1".parse().unwrap()));
    let mesh = c.peers.iter().find(|p| p.name == "mesh").unwrap();
    assert_eq!(mesh.peer_selector, Some(Selector::All));
    let bfd = &c.bfd_configurations[0];
    assert_eq!(bfd.interfaces.len(), 2);
    assert_eq!(
        bfd.interfaces[0].minimum_recv_interval,
        Duration::from_millis(50)
    );
    assert_eq!(bfd.interfaces[0].multiplier, 3);
    // Unset fields take Calico's documented defaults.
    assert_eq!(
        bfd.interfaces[0].idle_send_interval,
        Duration::from_secs(60)
    );
    assert_eq!(
        bfd.interfaces[1].minimum_send_interval,
        Duration::from_millis(100)
    );
}

#[test]
fn list_and_typed_lists() {
    let yaml = "
apiVersion: v1
kind: List
items:
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata: {name: a}
  spec: {cidr: 10.0.0.0/24}
---
apiVersion: projectcalico.org/v3
kind: BGPPeerList
metadata: {resourceVersion: '12'}
items:
- apiVersion: projectcalico.org/v3
  kind: BGPPeer
  metadata: {name: p, uid: x}
  spec: {peerIP: 10.0.0.250, asNumber: 65001}
  status: {}
";
    let c = Config::from_yaml(yaml).unwrap();
    assert_eq!(c.ip_pools[0].name, "a");
    assert_eq!(c.peers[0].name, "p");
}

#[test]
fn crd_api_version_accepted() {
    let yaml = "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/24}\n";
    assert_eq!(Config::from_yaml(yaml).unwrap().ip_pools.len(), 1);
}

#[test]
fn err_unknown_field() {
    assert_error(
        &load_err("err-unknown-field.yaml"),
        Some(3),
        Some((K::BgpPeer, "ra1")),
        "spec.peerIp",
        ConfigErrorKind::UnknownField,
    );
}

#[test]
fn err_unknown_field_display_names_everything() {
    // Display is not a stable interface, but it must name document,
    // resource and field for the daemon's exit message.
    let text = load_err("err-unknown-field.yaml").to_string();
    assert_eq!(text, "document 3 (BGPPeer ra1): spec.peerIp: unknown field");
}

#[test]
fn err_unknown_kind() {
    assert_error(
        &load_err("err-unknown-kind.yaml"),
        Some(2),
        None,
        "kind",
        ConfigErrorKind::UnknownKind {
            value: "GlobalNetworkPolicy".into(),
        },
    );
}

#[test]
fn err_unknown_api_version() {
    assert_error(
        &load_err("err-unknown-api-version.yaml"),
        Some(1),
        None,
        "apiVersion",
        ConfigErrorKind::UnknownApiVersion {
            value: "projectcalico.org/v2".into(),
        },
    );
}

#[test]
fn err_missing_field() {
    assert_error(
        &load_err("err-missing-field.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.peerIP",
        ConfigErrorKind::MissingField,
    );
}

#[test]
fn err_bad_cidr() {
    assert_error(
        &load_err("err-bad-cidr.yaml"),
        Some(2),
        Some((K::IpPool, "loopbacks-rack-a")),
        "spec.cidr",
        ConfigErrorKind::InvalidCidr {
            value: "172.31.10.0/33".into(),
        },
    );
}

#[test]
fn err_as_zero() {
    assert_error(
        &load_err("err-as-zero.yaml"),
        Some(2),
        Some((K::BgpPeer, "ra1")),
        "spec.asNumber",
        ConfigErrorKind::AsNumberOutOfRange { value: "0".into() },
    );
}

#[test]
fn err_as_too_big() {
    assert_error(
        &load_err("err-as-too-big.yaml"),
        Some(1),
        Some((K::Node, "a1")),
        "spec.bgp.asNumber",
        ConfigErrorKind::AsNumberOutOfRange {
            value: "4294967296".into(),
        },
    );
}

#[test]
fn err_selector() {
    assert_error(
        &load_err("err-selector.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.nodeSelector",
        ConfigErrorKind::InvalidSelector {
            value: "rack = 'ra'".into(),
            error: SelectorError {
                offset: 5,
                kind: SelectorErrorKind::ExpectedOperator,
            },
        },
    );
}

#[test]
fn err_ipip() {
    assert_error(
        &load_err("err-ipip.yaml"),
        Some(1),
        Some((K::IpPool, "default-ipv4-ippool")),
        "spec.ipipMode",
        ConfigErrorKind::Encapsulation {
            mode: EncapMode::Always,
        },
    );
}

#[test]
fn err_vxlan() {
    assert_error(
        &load_err("err-vxlan.yaml"),
        Some(1),
        Some((K::IpPool, "default-ipv4-ippool")),
        "spec.vxlanMode",
        ConfigErrorKind::Encapsulation {
            mode: EncapMode::CrossSubnet,
        },
    );
}

#[test]
fn err_duration() {
    assert_error(
        &load_err("err-duration.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.maxRestartTime",
        ConfigErrorKind::InvalidDuration {
            value: "10 seconds".into(),
            error: DurationError::UnknownUnit { offset: 2 },
        },
    );
}

#[test]
fn err_duration_out_of_range() {
    // RFC 4724 §3: the Restart Time is 12 bits (4095 s); 2h does not fit.
    assert_error(
        &load_err("err-duration-out-of-range.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.maxRestartTime",
        ConfigErrorKind::DurationOutOfRange {
            value: "2h0m0s".into(),
        },
    );
}

#[test]
fn err_password_too_long() {
    // Loads (the secret is not read yet); the plan reads it and refuses an
    // 81-byte key (RFC 2385 keys are at most 80 bytes on Linux).
    let c = Config::from_yaml(&fixture("err-password-too-long.yaml")).unwrap();
    let secrets =
        SecretDir::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets"));
    let e = plan(&c, "a1", &[], &secrets).unwrap_err();
    assert_error(
        &e,
        None,
        Some((K::BgpPeer, "ra1")),
        "spec.password",
        ConfigErrorKind::PasswordTooLong { len: 81 },
    );
}

#[test]
fn err_password_missing_secret() {
    let c = Config::from_yaml(&fixture("err-password-too-long.yaml")).unwrap();
    let e = plan(&c, "a1", &[], &NoSecrets).unwrap_err();
    assert_error(
        &e,
        None,
        Some((K::BgpPeer, "ra1")),
        "spec.password",
        ConfigErrorKind::SecretUnavailable {
            name: "bgp-secrets".into(),
            key: "too-long".into(),
            reason: dualtor::config::SecretErrorKind::NotFound,
        },
    );
}

#[test]
fn err_syntax() {
    let e = load_err("err-syntax.yaml");
    assert_eq!(e.document, Some(2));
    assert_eq!(e.resource, None);
    // Document 2 starts at line 9; the unclosed flow mapping is detected
    // inside it.
    assert!(
        matches!(e.kind, ConfigErrorKind::Syntax { line, .. } if line >= 11),
        "{e:?}"
    );
}

#[test]
fn err_invalid_type() {
    assert_error(
        &load_err("err-invalid-type.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.peerIP",
        ConfigErrorKind::InvalidType {
            expected: "a string",
        },
    );
}

#[test]
fn err_invalid_enum() {
    let e = load_err("err-invalid-enum.yaml");
    assert_error(
        &e,
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.restartMode",
        ConfigErrorKind::InvalidEnum {
            value: "LLGR".into(),
            expected: &["GracefulRestart", "LongLivedGracefulRestart"],
        },
    );
}

#[test]
fn err_duplicate() {
    assert_error(
        &load_err("err-duplicate.yaml"),
        Some(2),
        Some((K::BgpPeer, "ok")),
        "metadata.name",
        ConfigErrorKind::Duplicate {
            first_document: Some(1),
        },
    );
}

#[test]
fn err_conflict() {
    // Calico: "When [nodeSelector] is set, the Node field must be empty."
    assert_error(
        &load_err("err-conflict.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.nodeSelector",
        ConfigErrorKind::Conflict { other: "spec.node" },
    );
}

#[test]
fn err_unsupported() {
    assert_error(
        &load_err("err-unsupported.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.filters",
        ConfigErrorKind::Unsupported,
    );
}

#[test]
fn err_out_of_range() {
    // RFC 5880 §6.8.1: bfd.DetectMult must be nonzero.
    assert_error(
        &load_err("err-out-of-range.yaml"),
        Some(1),
        Some((K::BfdConfiguration, "default")),
        "spec.interfaces[0].multiplier",
        ConfigErrorKind::OutOfRange {
            value: "0".into(),
            min: 1,
            max: 255,
        },
    );
}

#[test]
fn err_interface_pattern() {
    assert_error(
        &load_err("err-interface-pattern.yaml"),
        Some(1),
        Some((K::BfdConfiguration, "default")),
        "spec.interfaces[0].matchPattern",
        ConfigErrorKind::InvalidInterfacePattern {
            value: "e*h0".into(),
        },
    );
}

#[test]
fn err_community() {
    assert_error(
        &load_err("err-community.yaml"),
        Some(1),
        Some((K::BgpConfiguration, "default")),
        "spec.prefixAdvertisements[0].communities[0]",
        ConfigErrorKind::InvalidCommunity {
            value: "no-such-name".into(),
        },
    );
}

#[test]
fn err_peer_ip() {
    // A port must fit 16 bits.
    assert_error(
        &load_err("err-peer-ip.yaml"),
        Some(1),
        Some((K::BgpPeer, "ra1")),
        "spec.peerIP",
        ConfigErrorKind::InvalidIp {
            value: "[fd00::250]:99999".into(),
        },
    );
}

#[test]
fn err_list_item_path() {
    assert_error(
        &load_err("err-list-item.yaml"),
        Some(1),
        Some((K::IpPool, "loopbacks-rack-b")),
        "items[1].spec.ipipMode",
        ConfigErrorKind::Encapsulation {
            mode: EncapMode::CrossSubnet,
        },
    );
}

#[test]
fn as_number_as_string_or_number_or_asdot() {
    let yaml = |v: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {{name: default}}\nspec: {{asNumber: {v}}}\n"
        )
    };
    let get = |v: &str| Config::from_yaml(&yaml(v)).unwrap().bgp_configurations[0].as_number;
    assert_eq!(get("65001"), Some(asn(65001)));
    assert_eq!(get("\"65001\""), Some(asn(65001)));
    assert_eq!(get("4294967295"), Some(asn(u32::MAX)));
    // RFC 5396 asdot: 1.10 = 65546.
    assert_eq!(get("\"1.10\""), Some(asn(65546)));
    let e = Config::from_yaml(&yaml("-5")).unwrap_err();
    assert_eq!(
        e.kind,
        ConfigErrorKind::AsNumberOutOfRange { value: "-5".into() }
    );
}

#[test]
fn empty_documents_are_skipped() {
    let c = Config::from_yaml("---\n---\n# only a comment\n").unwrap();
    assert_eq!(c, Config::new());
}

#[test]
fn nothing_returned_when_a_later_document_fails() {
    // All-or-nothing: a good first document does not leak out.
    // guide.yaml has 14 documents; err-unknown-kind.yaml's second is the 16th.
    let e = Config::from_yaml(&format!("{GUIDE}---\n{}", fixture("err-unknown-kind.yaml")))
        .unwrap_err();
    assert_eq!(e.document, Some(16));
    assert!(matches!(e.kind, ConfigErrorKind::UnknownKind { .. }));
}

#[test]
fn alias_bomb_is_refused_quickly() {
    // "Billion laughs": 9 levels of 9 aliases would expand to 9^9 strings.
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        yaml.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let e = Config::from_yaml(&yaml).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    // serde_yaml_ng stops alias expansion ("repetition limit exceeded").
    assert!(matches!(e.kind, ConfigErrorKind::Syntax { .. }), "{e:?}");
    assert_eq!(e.document, Some(1));
}

#[test]
fn secrets_from_environment() {
    use dualtor::config::{SecretEnv, SecretStore};
    assert_eq!(
        SecretEnv::variable("bgp-secrets", "rr.password"),
        "DUALTOR_SECRET_BGP_SECRETS_RR_PASSWORD"
    );
    assert_eq!(
        SecretEnv.secret("dualtor-test-absent", "k"),
        Err(dualtor::config::SecretErrorKind::NotFound)
    );
}
