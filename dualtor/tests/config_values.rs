//! Typed values without serde: Go durations (round trip against a model),
//! AS numbers, peer addresses, communities, interface patterns, validation
//! of configuration built in code, and the node-address warnings.

use std::net::IpAddr;
use std::time::Duration;

use dualtor::config::{
    AddressScope, AddressWarning, AsNumber, BfdConfiguration, BfdInterface, Community, Config,
    ConfigErrorKind, DurationError, EncapMode, GoDuration, InterfaceAddress, InterfacePattern,
    IpPool, NodeConfig, PasswordSource, PeerAddress, PeerConfig, ResourceId, ResourceKind, Secret,
    check_node_addresses, parse_duration,
};
use proptest::prelude::*;

fn asn(n: u32) -> AsNumber {
    AsNumber::new(n).unwrap()
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

proptest! {
    /// Go's `Duration.String` output parses back to the same value.
    #[test]
    fn duration_display_round_trip(nanos in 0u64..=i64::MAX as u64) {
        let d = Duration::from_nanos(nanos);
        let text = GoDuration(d).to_string();
        prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
    }

    /// A sum of integer terms in any order equals the model's sum.
    #[test]
    fn duration_terms_sum(terms in prop::collection::vec((0u64..100_000, 0usize..6), 1..5)) {
        let text: String = terms.iter().map(|(n, u)| format!("{n}{}", UNITS[*u].0)).collect();
        let want: u128 = terms.iter().map(|(n, u)| u128::from(*n) * UNITS[*u].1).sum();
        let got = parse_duration(&text).unwrap();
        prop_assert_eq!(got.as_nanos(), want, "{}", text);
    }

    /// Arbitrary input never panics.
    #[test]
    fn duration_arbitrary_input(s in "[0-9a-z.+\\-µ]{0,24}") {
        let _ = parse_duration(&s);
    }
}

#[test]
fn duration_fractions() {
    // Go: "1.5h" = 90m; ".5s" = 500ms.
    assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("2.25ms"), Ok(Duration::from_micros(2250)));
    assert_eq!(
        parse_duration("1.s.5"),
        Err(DurationError::MissingUnit { offset: 5 })
    );
}

#[test]
fn as_numbers() {
    assert_eq!("65001".parse::<AsNumber>(), Ok(asn(65001)));
    // RFC 5396 asdot.
    assert_eq!("1.10".parse::<AsNumber>(), Ok(asn(65546)));
    assert_eq!("4294967295".parse::<AsNumber>(), Ok(asn(u32::MAX)));
    for bad in [
        "0",
        "0.0",
        "4294967296",
        "-1",
        "",
        "65001x",
        "1.65536",
        "+5",
    ] {
        assert!(bad.parse::<AsNumber>().is_err(), "{bad}");
    }
    assert_eq!(AsNumber::new(0), None);
    assert_eq!(AsNumber::CALICO_DEFAULT.get(), 64512);
}

#[test]
fn peer_addresses() {
    let p = |s: &str| s.parse::<PeerAddress>();
    assert_eq!(
        p("172.31.11.250"),
        Ok(PeerAddress::new("172.31.11.250".parse().unwrap()))
    );
    let v4 = p("172.31.11.250:1179").unwrap();
    assert_eq!(
        (v4.ip, v4.port),
        ("172.31.11.250".parse::<IpAddr>().unwrap(), Some(1179))
    );
    let v6 = p("[fd00::250]:179").unwrap();
    assert_eq!(
        (v6.ip, v6.port),
        ("fd00::250".parse::<IpAddr>().unwrap(), Some(179))
    );
    assert_eq!(p("fd00::250").unwrap().port, None);
    for bad in [
        "172.31.11.250:0",
        "172.31.11.250:65536",
        "[fd00::250]",
        "fd00::250]:1",
        "host:179",
        "1.2.3.4:+1",
    ] {
        assert!(p(bad).is_err(), "{bad}");
    }
    assert_eq!(v6.to_string(), "[fd00::250]:179");
    assert_eq!(v4.to_string(), "172.31.11.250:1179");
}

#[test]
fn communities() {
    assert_eq!("65000:100".parse(), Ok(Community::Standard(65000, 100)));
    assert_eq!(
        "4200000000:1:2".parse(),
        Ok(Community::Large(4_200_000_000, 1, 2))
    );
    for bad in ["65536:1", "1", "1:2:3:4", "a:b", "1::2", ""] {
        assert!(bad.parse::<Community>().is_err(), "{bad}");
    }
}

#[test]
fn interface_patterns() {
    let p = |s: &str| s.parse::<InterfacePattern>().unwrap();
    assert!(p("*").matches("eth0"));
    assert!(p("eth*").matches("eth1"));
    assert!(!p("eth*").matches("ens3"));
    assert!(p("eth0").matches("eth0"));
    assert!(!p("eth0").matches("eth01"));
    for bad in ["", "e*h", "**", "a/b*", "waytoolonginterfacename"] {
        assert!(bad.parse::<InterfacePattern>().is_err(), "{bad}");
    }
}

#[test]
fn validate_in_code_password_too_long() {
    let mut c = Config::new();
    let mut p = PeerConfig::new("ra1", "172.31.11.250".parse().unwrap(), asn(65001));
    p.password = Some(PasswordSource::Value(Secret::new("x".repeat(81))));
    c.peers.push(p);
    let e = c.validate().unwrap_err();
    assert_eq!(e.document, None);
    assert_eq!(
        e.resource,
        Some(ResourceId::new(ResourceKind::BgpPeer, "ra1"))
    );
    assert_eq!(e.field, "spec.password");
    assert_eq!(e.kind, ConfigErrorKind::PasswordTooLong { len: 81 });
}

#[test]
fn validate_in_code_encapsulation_and_duplicates() {
    let mut c = Config::new();
    let mut pool = IpPool::new("p", "10.0.0.0/16".parse().unwrap());
    pool.vxlan_mode = EncapMode::Always;
    c.ip_pools.push(pool);
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "spec.vxlanMode");
    assert_eq!(
        e.kind,
        ConfigErrorKind::Encapsulation {
            mode: EncapMode::Always
        }
    );

    let mut c = Config::new();
    c.nodes.push(NodeConfig::new("a1"));
    c.nodes.push(NodeConfig::new("a1"));
    let e = c.validate().unwrap_err();
    assert_eq!(e.resource, Some(ResourceId::new(ResourceKind::Node, "a1")));
    assert_eq!(
        e.kind,
        ConfigErrorKind::Duplicate {
            first_document: None
        }
    );
}

#[test]
fn validate_in_code_bfd_intervals() {
    // Calico: intervals are whole milliseconds greater than 0.
    let mut c = Config::new();
    let mut b = BfdConfiguration::new("default");
    let mut i = BfdInterface::new(InterfacePattern::Any);
    i.minimum_send_interval = Duration::from_micros(1500);
    b.interfaces.push(i);
    c.bfd_configurations.push(b);
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "spec.interfaces[0].minimumSendInterval");
    assert_eq!(
        e.kind,
        ConfigErrorKind::DurationOutOfRange {
            value: "1.5ms".into()
        }
    );
}

#[test]
fn validate_in_code_bfd_idle_send_interval_at_least_one_second() {
    // RFC 5880 §6.8.3: while the session is not Up, DesiredMinTxInterval MUST
    // be at least one second; `idleSendInterval` is that interval.
    let mut c = Config::new();
    let mut b = BfdConfiguration::new("default");
    let mut i = BfdInterface::new(InterfacePattern::Any);
    i.idle_send_interval = Duration::from_millis(500);
    b.interfaces.push(i);
    c.bfd_configurations.push(b);
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "spec.interfaces[0].idleSendInterval");
    assert_eq!(
        e.kind,
        ConfigErrorKind::DurationOutOfRange {
            value: "500ms".into()
        }
    );
    c.bfd_configurations[0].interfaces[0].idle_send_interval = Duration::from_secs(1);
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn validate_in_code_block_size() {
    let mut c = Config::new();
    let mut pool = IpPool::new("p", "10.0.0.0/24".parse().unwrap());
    pool.block_size = Some(20);
    c.ip_pools.push(pool);
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "spec.blockSize");
    assert_eq!(
        e.kind,
        ConfigErrorKind::OutOfRange {
            value: "20".into(),
            min: 24,
            max: 32
        }
    );
}

fn a1() -> NodeConfig {
    let mut n = NodeConfig::new("a1");
    n.ipv4_address = Some("172.31.10.1/32".parse().unwrap());
    n
}

fn addr(ifname: &str, a: &str, scope: AddressScope) -> InterfaceAddress {
    InterfaceAddress::new(ifname, a.parse().unwrap(), scope)
}

#[test]
fn addresses_as_the_guide_wants_give_no_warning() {
    // Guide: "ip address add 172.31.11.1/24 dev eth0 scope link",
    // "ip address add 172.31.10.1/32 dev lo".
    let addrs = [
        addr("lo", "127.0.0.1/8", AddressScope::Host),
        addr("lo", "172.31.10.1/32", AddressScope::Universe),
        addr("eth0", "172.31.11.1/24", AddressScope::Link),
        addr("eth1", "172.31.12.1/24", AddressScope::Link),
        addr("eth1", "fe80::1/64", AddressScope::Link),
    ];
    assert_eq!(check_node_addresses(&a1(), &addrs), []);
}

#[test]
fn address_warnings() {
    let addrs = [
        addr("lo", "127.0.0.1/8", AddressScope::Host),
        addr("dummy0", "172.31.10.1/32", AddressScope::Universe),
        addr("eth0", "172.31.11.1/24", AddressScope::Universe),
        addr("eth1", "172.31.12.1/24", AddressScope::Link),
    ];
    assert_eq!(
        check_node_addresses(&a1(), &addrs),
        [
            AddressWarning::LoopbackNotOnLo {
                interface: "dummy0".into(),
                address: "172.31.10.1".parse().unwrap(),
            },
            AddressWarning::PlaneAddressNotScopeLink {
                interface: "eth0".into(),
                address: "172.31.11.1/24".parse().unwrap(),
                scope: AddressScope::Universe,
            },
        ]
    );
}

#[test]
fn address_warnings_only_on_declared_planes() {
    let mut n = a1();
    n.plane_interfaces = vec!["eth0".into(), "eth1".into()];
    let addrs = [
        addr("docker0", "172.17.0.1/16", AddressScope::Universe),
        addr("eth1", "172.31.12.1/24", AddressScope::Universe),
    ];
    assert_eq!(
        check_node_addresses(&n, &addrs),
        [
            AddressWarning::LoopbackMissing {
                address: "172.31.10.1".parse().unwrap()
            },
            AddressWarning::PlaneAddressNotScopeLink {
                interface: "eth1".into(),
                address: "172.31.12.1/24".parse().unwrap(),
                scope: AddressScope::Universe,
            },
        ]
    );
    assert_eq!(AddressScope::from(253), AddressScope::Link);
}
