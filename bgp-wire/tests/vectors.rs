//! Vectors in both directions for every message, capability and attribute (style rules
//! 32-33). RFC 4271 has no hex examples: every vector below is hand-assembled from the
//! field diagrams of the cited RFC sections, with the values a BIRD 2 / FRR / GoBGP speaker
//! of a dual-ToR fabric sends (ASes 65001/65002, 4-octet AS 4200000000).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_wire::attr::{
    Aggregator, AsPath, AttrValue, Attribute, Community, ExtendedCommunity, LargeCommunity,
    MpReach, MpUnreach, NextHop, Origin, Segment, flags,
};
use bgp_wire::capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHop, Fqdn, GrFamily, GracefulRestart,
    LlgrFamily, Role,
};
use bgp_wire::keepalive::Keepalive;
use bgp_wire::notification::subcode;
use bgp_wire::open::OptionalParameter;
use bgp_wire::route_refresh::{RouteRefresh, Subtype};
use bgp_wire::{
    Afi, DecodeCtx, EncodeCtx, ErrorCode, Family, Message, Nlri, Notification, Open, Update,
};
use bytes::Bytes;
use common::assert_vector;

fn v4(s: &str) -> Nlri {
    Nlri::new(s.parse::<ipnet::Ipv4Net>().unwrap())
}

fn v6(s: &str) -> Nlri {
    Nlri::new(s.parse::<ipnet::Ipv6Net>().unwrap())
}

fn modern() -> (DecodeCtx, EncodeCtx) {
    (DecodeCtx::modern(), EncodeCtx::modern())
}

/// RFC 4271 §4.4: a KEEPALIVE is only the header, Length 19.
static KEEPALIVE: [u8; 19] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x13, // Length 19
    0x04, // Type KEEPALIVE
];

#[test]
fn keepalive_vector() {
    // RFC 4271 §4.4
    let (d, e) = modern();
    assert_vector(&KEEPALIVE, &Message::Keepalive(Keepalive), &d, &e);
}

/// OPEN as BIRD 2 sends it: every capability in one Capabilities parameter.
static OPEN_BIRD: [u8; 105] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x69, // Length 105
    0x01, // Type OPEN
    0x04, // RFC 4271 §4.2 Version 4
    0xfd, 0xe9, // My Autonomous System 65001
    0x00, 0x5a, // Hold Time 90
    0x0a, 0x00, 0x00, 0x01, // BGP Identifier 10.0.0.1
    0x4c, // Opt Parm Len 76
    0x02, 0x4a, // Parameter Type 2 (Capabilities, RFC 5492 §4), Length 74
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // RFC 4760 §8 MP: AFI 1, reserved, SAFI 1
    0x01, 0x04, 0x00, 0x02, 0x00, 0x01, // RFC 4760 §8 MP: AFI 2, reserved, SAFI 1
    0x02, 0x00, // RFC 2918 §2 Route Refresh
    0x46, 0x00, // RFC 7313 §3.1 Enhanced Route Refresh (70)
    0x40, 0x06, 0xc0, 0x78, 0x00, 0x01, 0x01,
    0x80, // RFC 4724 §3 GR: R+N, 120 s; IPv4/unicast F
    0x41, 0x04, 0x00, 0x00, 0xfd, 0xe9, // RFC 6793 §3 4-octet AS 65001
    0x45, 0x04, 0x00, 0x01, 0x01, 0x03, // RFC 7911 §4 ADD-PATH IPv4/unicast send+receive
    0x47, 0x07, 0x00, 0x01, 0x01, 0x80, 0x00, 0x0e,
    0x10, // RFC 9494 §3 LLGR IPv4/unicast F, 3600 s
    0x49, 0x0a, 0x04, b'l', b'e', b'a', b'f', 0x04, b't', b'e', b's',
    b't', // FQDN "leaf" "test"
    0x09, 0x01, 0x03, // RFC 9234 §4.1 Role: customer
    0x05, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, // RFC 8950 §3 ENH: IPv4/unicast via IPv6
    0x06, 0x00, // RFC 8654 §3 Extended Message
    0x83, 0x02, 0xab, 0xcd, // unknown capability 131, kept raw (RFC 5492 §3)
];

fn open_bird() -> Open {
    Open {
        my_as: 65001,
        hold_time: 90,
        bgp_identifier: Ipv4Addr::new(10, 0, 0, 1),
        params: vec![OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::GracefulRestart(GracefulRestart {
                restart_flags: GracefulRestart::RESTART_STATE | GracefulRestart::NOTIFICATION,
                restart_time: 120,
                families: vec![GrFamily {
                    family: Family::IPV4_UNICAST,
                    flags: GrFamily::FORWARDING_STATE,
                }],
            }),
            Capability::FourOctetAs(65001),
            Capability::AddPath(vec![AddPathFamily {
                family: Family::IPV4_UNICAST,
                mode: AddPathMode::BOTH,
            }]),
            Capability::LongLivedGracefulRestart(vec![LlgrFamily {
                family: Family::IPV4_UNICAST,
                flags: LlgrFamily::FORWARDING_STATE,
                stale_time: 3600,
            }]),
            Capability::Fqdn(Fqdn {
                hostname: Bytes::from_static(b"leaf"),
                domain: Bytes::from_static(b"test"),
            }),
            Capability::Role(Role::CUSTOMER),
            Capability::ExtendedNextHop(vec![ExtendedNextHop {
                nlri_afi: Afi::IPV4,
                nlri_safi: 1,
                next_hop_afi: Afi::IPV6,
            }]),
            Capability::ExtendedMessage,
            Capability::Unknown {
                code: 131,
                value: Bytes::from_static(&[0xab, 0xcd]),
            },
        ])],
        extended_params: false,
    }
}

#[test]
fn open_all_capabilities_vector() {
    // RFC 4271 §4.2, RFC 5492 §4 and the capability RFCs cited per field.
    let (d, e) = modern();
    let open = open_bird();
    assert_vector(&OPEN_BIRD, &Message::Open(open.clone()), &d, &e);
    let Capability::GracefulRestart(gr) = open.capabilities().nth(4).unwrap() else {
        panic!()
    };
    assert!(gr.restart_state() && gr.notification());
    assert!(gr.families[0].forwarding_state());
    assert_eq!(open.asn(), 65001);
}

/// OPEN as FRR sends it: one capability per parameter, AS_TRANS in My AS.
static OPEN_FRR: [u8; 49] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x31, // Length 49
    0x01, // Type OPEN
    0x04, // Version
    0x5b, 0xa0, // My AS = AS_TRANS 23456 (RFC 6793 §9)
    0x00, 0xb4, // Hold Time 180
    0xc0, 0x00, 0x02, 0x02, // BGP Identifier 192.0.2.2
    0x14, // Opt Parm Len 20
    0x02, 0x06, 0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // Capabilities: MP IPv4 unicast
    0x02, 0x06, 0x41, 0x04, 0xfa, 0x56, 0xea, 0x00, // Capabilities: 4-octet AS 4200000000
    0x02, 0x02, 0x02, 0x00, // Capabilities: Route Refresh
];

#[test]
fn open_one_capability_per_parameter_vector() {
    // RFC 5492 §4: parameters may each hold one capability; grouping is preserved.
    let (d, e) = modern();
    let caps = |c| OptionalParameter::Capabilities(vec![c]);
    let open = Open {
        my_as: 23456,
        hold_time: 180,
        bgp_identifier: Ipv4Addr::new(192, 0, 2, 2),
        params: vec![
            caps(Capability::Multiprotocol(Family::IPV4_UNICAST)),
            caps(Capability::FourOctetAs(4_200_000_000)),
            caps(Capability::RouteRefresh),
        ],
        extended_params: false,
    };
    assert_vector(&OPEN_FRR, &Message::Open(open.clone()), &d, &e);
    // RFC 6793 §4.1: the speaker's AS comes from the capability.
    assert_eq!(open.asn(), 4_200_000_000);
}

/// RFC 9072 §2: extended optional parameters; also LLGR with zero tuples (RFC 9494 §3).
static OPEN_RFC9072: [u8; 49] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x31, // Length 49
    0x01, // Type OPEN
    0x04, // Version
    0xfd, 0xe9, // My AS 65001
    0x00, 0x5a, // Hold Time 90
    0x0a, 0x00, 0x00, 0x01, // BGP Identifier 10.0.0.1
    0xff, // Non-Ext OP Len 255
    0xff, // Non-Ext OP Type 255
    0x00, 0x11, // Extended Opt. Parm. Length 17
    0x02, 0x00, 0x0e, // Parameter Type 2, 2-octet Parameter Length 14
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01, // MP IPv4 unicast
    0x41, 0x04, 0x00, 0x00, 0xfd, 0xe9, // 4-octet AS 65001
    0x47, 0x00, // LLGR with zero tuples
];

#[test]
fn open_extended_optional_parameters_vector() {
    // RFC 9072 §2
    let (d, e) = modern();
    let open = Open {
        my_as: 65001,
        hold_time: 90,
        bgp_identifier: Ipv4Addr::new(10, 0, 0, 1),
        params: vec![OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(65001),
            Capability::LongLivedGracefulRestart(vec![]),
        ])],
        extended_params: true,
    };
    assert_vector(&OPEN_RFC9072, &Message::Open(open), &d, &e);
}

/// An IPv4 UPDATE carrying every attribute of RFC 4271 §5 and the extensions, on a
/// 4-octet AS session.
static UPDATE_V4: [u8; 157] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x9d, // Length 157
    0x02, // Type UPDATE
    0x00, 0x04, // RFC 4271 §4.3 Withdrawn Routes Length 4
    0x18, 0xc6, 0x33, 0x64, // withdrawn 198.51.100.0/24
    0x00, 0x77, // Total Path Attribute Length 119
    0x40, 0x01, 0x01, 0x00, // ORIGIN IGP (§5.1.1)
    0x40, 0x02, 0x0e, 0x02, 0x03, 0x00, 0x00, 0xfd, 0xe9, 0x00, 0x00, 0xfd, 0xea, 0xfa, 0x56, 0xea,
    0x00, // AS_PATH AS_SEQUENCE 65001 65002 4200000000 (§5.1.2, RFC 6793)
    0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01, // NEXT_HOP 192.0.2.1 (§5.1.3)
    0x80, 0x04, 0x04, 0x00, 0x00, 0x00, 0x64, // MULTI_EXIT_DISC 100 (§5.1.4)
    0x40, 0x05, 0x04, 0x00, 0x00, 0x00, 0xc8, // LOCAL_PREF 200 (§5.1.5)
    0x40, 0x06, 0x00, // ATOMIC_AGGREGATE (§5.1.6)
    0xc0, 0x07, 0x08, 0x00, 0x00, 0xfd, 0xe9, 0x0a, 0x00, 0x00,
    0x01, // AGGREGATOR 65001 10.0.0.1 (§5.1.7)
    0xc0, 0x08, 0x08, 0xff, 0xff, 0xff, 0x01, 0xff, 0xff, 0x00,
    0x06, // COMMUNITIES NO_EXPORT LLGR_STALE
    0x80, 0x09, 0x04, 0x0a, 0x00, 0x00, 0x02, // ORIGINATOR_ID 10.0.0.2 (RFC 4456 §8)
    0x80, 0x0a, 0x04, 0x0a, 0x00, 0x00, 0x03, // CLUSTER_LIST 10.0.0.3 (RFC 4456 §8)
    0xc0, 0x10, 0x08, 0x00, 0x02, 0xfd, 0xe9, 0x00, 0x00, 0x00,
    0x64, // EXT COMM RT 65001:100 (RFC 4360)
    0xc0, 0x20, 0x0c, 0x00, 0x00, 0xfd, 0xe9, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x02, // LARGE_COMMUNITY 65001:1:2 (RFC 8092 §3)
    0xc0, 0x23, 0x04, 0x00, 0x00, 0xfd, 0xe9, // OTC 65001 (RFC 9234 §5)
    0xe0, 0x63, 0x02, 0xde, 0xad, // unknown 99, optional transitive Partial, kept raw
    0x08, 0x0a, // NLRI 10.0.0.0/8
    0x18, 0xc0, 0xa8, 0x01, // NLRI 192.168.1.0/24
    0x20, 0xc0, 0x00, 0x02, 0xff, // NLRI 192.0.2.255/32
];

fn update_v4() -> Update {
    let a = |f, v| Attribute { flags: f, value: v };
    const WK: u8 = flags::TRANSITIVE;
    const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    const ON: u8 = flags::OPTIONAL;
    Update {
        withdrawn: vec![v4("198.51.100.0/24")],
        attributes: vec![
            a(WK, AttrValue::Origin(Origin::IGP)),
            a(
                WK,
                AttrValue::AsPath(AsPath::sequence([65001, 65002, 4_200_000_000])),
            ),
            a(WK, AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            a(ON, AttrValue::MultiExitDisc(100)),
            a(WK, AttrValue::LocalPref(200)),
            a(WK, AttrValue::AtomicAggregate),
            a(
                OT,
                AttrValue::Aggregator(Aggregator {
                    asn: 65001,
                    address: Ipv4Addr::new(10, 0, 0, 1),
                }),
            ),
            a(
                OT,
                AttrValue::Communities(vec![Community::NO_EXPORT, Community::LLGR_STALE].into()),
            ),
            a(ON, AttrValue::OriginatorId(Ipv4Addr::new(10, 0, 0, 2))),
            a(ON, AttrValue::ClusterList(vec![Ipv4Addr::new(10, 0, 0, 3)])),
            a(
                OT,
                AttrValue::ExtendedCommunities(vec![ExtendedCommunity([
                    0, 2, 0xfd, 0xe9, 0, 0, 0, 100,
                ])]),
            ),
            a(
                OT,
                AttrValue::LargeCommunities(
                    vec![LargeCommunity {
                        global: 65001,
                        local1: 1,
                        local2: 2,
                    }]
                    .into(),
                ),
            ),
            a(OT, AttrValue::Otc(65001)),
            a(
                OT | flags::PARTIAL,
                AttrValue::Raw {
                    type_code: 99,
                    value: Bytes::from_static(&[0xde, 0xad]),
                },
            ),
        ],
        nlri: vec![v4("10.0.0.0/8"), v4("192.168.1.0/24"), v4("192.0.2.255/32")],
    }
}

#[test]
fn update_ipv4_all_attributes_vector() {
    // RFC 4271 §4.3, §5.1; RFC 1997, 4360, 4456, 6793, 8092, 9234.
    let (d, e) = modern();
    let u = update_v4();
    assert_vector(&UPDATE_V4, &Message::Update(u.clone()), &d, &e);
    assert_eq!(u.origin(), Some(Origin::IGP));
    assert_eq!(u.next_hop(), Some(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(u.local_pref(), Some(200));
    assert_eq!(u.multi_exit_disc(), Some(100));
    assert_eq!(
        u.communities(),
        &[Community::NO_EXPORT, Community::LLGR_STALE]
    );
    assert_eq!(u.as_path().unwrap().to_string(), "65001 65002 4200000000");
    assert_eq!(u.is_end_of_rib(), None);
}

#[test]
fn update_view_path_attributes_read_every_attribute_in_place() {
    // RFC 4271 §5.1; RFC 1997, 4360, 4456, 6793, 8092, 9234: UPDATE_V4 through the
    // zero-copy view, values written by hand from the octets above.
    use bgp_wire::UpdateView;
    use bgp_wire::attr::AttrRef;
    let v = UpdateView::new_checked(&UPDATE_V4[..], &DecodeCtx::modern()).unwrap();
    let attrs: Vec<_> = v.path_attributes().collect();
    assert_eq!(attrs.len(), 14);
    let flags: Vec<u8> = attrs.iter().map(|a| a.flags).collect();
    assert_eq!(
        flags,
        [
            0x40, 0x40, 0x40, 0x80, 0x40, 0x40, 0xc0, 0xc0, 0x80, 0x80, 0xc0, 0xc0, 0xc0, 0xe0
        ]
    );
    let mut it = attrs.iter().map(|a| &a.value);
    assert!(matches!(it.next(), Some(AttrRef::Origin(Origin::IGP))));
    match it.next() {
        Some(AttrRef::AsPath(p)) => {
            assert_eq!(p.asns().collect::<Vec<_>>(), [65001, 65002, 4_200_000_000]);
        }
        other => panic!("AS_PATH: {other:?}"),
    }
    assert!(matches!(it.next(), Some(AttrRef::NextHop(a)) if *a == Ipv4Addr::new(192, 0, 2, 1)));
    assert!(matches!(it.next(), Some(AttrRef::MultiExitDisc(100))));
    assert!(matches!(it.next(), Some(AttrRef::LocalPref(200))));
    assert!(matches!(it.next(), Some(AttrRef::AtomicAggregate)));
    assert!(matches!(
        it.next(),
        Some(AttrRef::Aggregator(Aggregator { asn: 65001, address })) if *address == Ipv4Addr::new(10, 0, 0, 1)
    ));
    match it.next() {
        Some(AttrRef::Communities(c)) => {
            assert_eq!(c.len(), 2);
            assert_eq!(
                c.iter().collect::<Vec<_>>(),
                [Community::NO_EXPORT, Community::LLGR_STALE]
            );
        }
        other => panic!("COMMUNITIES: {other:?}"),
    }
    assert!(
        matches!(it.next(), Some(AttrRef::OriginatorId(a)) if *a == Ipv4Addr::new(10, 0, 0, 2))
    );
    match it.next() {
        Some(AttrRef::ClusterList(c)) => {
            assert_eq!(c.iter().collect::<Vec<_>>(), [Ipv4Addr::new(10, 0, 0, 3)]);
        }
        other => panic!("CLUSTER_LIST: {other:?}"),
    }
    match it.next() {
        Some(AttrRef::ExtendedCommunities(c)) => assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [ExtendedCommunity([0, 2, 0xfd, 0xe9, 0, 0, 0, 100])]
        ),
        other => panic!("EXTENDED COMMUNITIES: {other:?}"),
    }
    match it.next() {
        Some(AttrRef::LargeCommunities(c)) => assert_eq!(
            c.iter().collect::<Vec<_>>(),
            [LargeCommunity {
                global: 65001,
                local1: 1,
                local2: 2
            }]
        ),
        other => panic!("LARGE_COMMUNITY: {other:?}"),
    }
    assert!(matches!(it.next(), Some(AttrRef::Otc(65001))));
    match it.next() {
        Some(AttrRef::Raw(r)) => {
            assert_eq!((r.type_code, r.value), (99, &[0xde, 0xad][..]));
        }
        other => panic!("unknown 99: {other:?}"),
    }
    // The owned attributes, as the owned decoder gives them.
    let owned: Vec<Attribute> = attrs.iter().map(|a| a.to_attribute()).collect();
    assert_eq!(owned, update_v4().attributes);

    // RFC 4760 §3, §4 and RFC 2545 §3: UPDATE_V6's MP attributes.
    let v = UpdateView::new_checked(&UPDATE_V6[..], &DecodeCtx::modern()).unwrap();
    let mut n = 0;
    for a in v.path_attributes() {
        match a.value {
            AttrRef::MpReachNlri(m) => {
                n += 1;
                assert_eq!(m.family, Family::IPV6_UNICAST);
                assert_eq!(
                    m.next_hop,
                    NextHop::Ipv6 {
                        global: "2001:db8::1".parse().unwrap(),
                        link_local: Some("fe80::1".parse().unwrap()),
                    }
                );
                assert_eq!(
                    m.nlri.collect::<Vec<_>>(),
                    [v6("2001:db8:0:1::/64"), v6("2001:db8:2::/48")]
                );
            }
            AttrRef::MpUnreachNlri(f, w) => {
                n += 1;
                assert_eq!(f, Family::IPV6_UNICAST);
                assert_eq!(w.collect::<Vec<_>>(), [v6("2001:db8:0:9::/64")]);
            }
            _ => {}
        }
    }
    assert_eq!(n, 2);

    // RFC 6793 §3: on a 2-octet session AGGREGATOR has a 2-octet AS, AS4_PATH and
    // AS4_AGGREGATOR 4-octet ones.
    let v = UpdateView::new_checked(&UPDATE_AS4[..], &DecodeCtx::new()).unwrap();
    let vals: Vec<_> = v.path_attributes().map(|a| a.value).collect();
    assert!(matches!(
        vals[3],
        AttrRef::Aggregator(Aggregator { asn: 23456, .. })
    ));
    match &vals[4] {
        AttrRef::As4Path(p) => assert_eq!(
            p.asns().collect::<Vec<_>>(),
            [4_200_000_000, 4_200_000_001, 65002]
        ),
        other => panic!("AS4_PATH: {other:?}"),
    }
    assert!(matches!(
        vals[5],
        AttrRef::As4Aggregator(Aggregator {
            asn: 4_200_000_000,
            ..
        })
    ));
}

/// IPv6 unicast via MP_REACH_NLRI with global + link-local next hop, and MP_UNREACH_NLRI.
static UPDATE_V6: [u8; 108] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x6c, // Length 108
    0x02, // Type UPDATE
    0x00, 0x00, // Withdrawn Routes Length 0
    0x00, 0x55, // Total Path Attribute Length 85
    0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
    0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9, // AS_PATH AS_SEQUENCE 65001
    0x90, 0x0e, 0x00, 0x35, // MP_REACH_NLRI, Extended Length, 53 octets (RFC 4760 §3)
    0x00, 0x02, 0x01, // AFI 2, SAFI 1
    0x20, // Length of Next Hop 32: global + link-local (RFC 2545 §3)
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, // 2001:db8::1
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, // fe80::1
    0x00, // Reserved
    0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x01, // 2001:db8:0:1::/64
    0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02, // 2001:db8:2::/48
    0x80, 0x0f, 0x0c, // MP_UNREACH_NLRI, 12 octets (RFC 4760 §4)
    0x00, 0x02, 0x01, // AFI 2, SAFI 1
    0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x09, // 2001:db8:0:9::/64
];

#[test]
fn update_ipv6_mp_reach_link_local_vector() {
    // RFC 4760 §3, §4; RFC 2545 §3.
    let (d, e) = modern();
    let u = Update {
        withdrawn: vec![],
        attributes: vec![
            Attribute::new(AttrValue::Origin(Origin::IGP)),
            Attribute::new(AttrValue::AsPath(AsPath::sequence([65001]))),
            Attribute {
                flags: flags::OPTIONAL | flags::EXTENDED_LENGTH,
                value: AttrValue::MpReachNlri(MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: NextHop::Ipv6 {
                        global: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
                        link_local: Some("fe80::1".parse().unwrap()),
                    },
                    nlri: vec![v6("2001:db8:0:1::/64"), v6("2001:db8:2::/48")],
                }),
            },
            Attribute::new(AttrValue::MpUnreachNlri(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: vec![v6("2001:db8:0:9::/64")],
            })),
        ],
        nlri: vec![],
    };
    assert_vector(&UPDATE_V6, &Message::Update(u.clone()), &d, &e);
    let ann: Vec<_> = u
        .announced()
        .map(|(f, n)| (f, n.prefix.to_string()))
        .collect();
    assert_eq!(
        ann,
        [
            (Family::IPV6_UNICAST, "2001:db8:0:1::/64".to_string()),
            (Family::IPV6_UNICAST, "2001:db8:2::/48".into())
        ]
    );
    assert_eq!(u.withdrawals().count(), 1);
}

/// A 2-octet session UPDATE from an OLD speaker carrying AS4_PATH and AS4_AGGREGATOR.
static UPDATE_AS4: [u8; 88] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x58, // Length 88
    0x02, // Type UPDATE
    0x00, 0x00, // Withdrawn Routes Length 0
    0x00, 0x3d, // Total Path Attribute Length 61
    0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
    0x40, 0x02, 0x0a, 0x02, 0x04, 0xfd, 0xe9, 0x5b, 0xa0, 0x5b, 0xa0, 0xfd,
    0xea, // AS_PATH (2-octet) SEQ 65001 AS_TRANS AS_TRANS 65002
    0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01, // NEXT_HOP 192.0.2.1
    0xc0, 0x07, 0x06, 0x5b, 0xa0, 0x0a, 0x00, 0x00,
    0x01, // AGGREGATOR AS_TRANS 10.0.0.1 (2-octet)
    0xc0, 0x11, 0x0e, 0x02, 0x03, 0xfa, 0x56, 0xea, 0x00, 0xfa, 0x56, 0xea, 0x01, 0x00, 0x00, 0xfd,
    0xea, // AS4_PATH SEQ 4200000000 4200000001 65002 (RFC 6793 §3)
    0xc0, 0x12, 0x08, 0xfa, 0x56, 0xea, 0x00, 0x0a, 0x00, 0x00,
    0x01, // AS4_AGGREGATOR 4200000000 10.0.0.1
    0x18, 0xcb, 0x00, 0x71, // NLRI 203.0.113.0/24
];

#[test]
fn update_as4_path_merge_vector() {
    // RFC 6793 §3 (attributes) and §4.2.3 (merge).
    let (d, e) = (DecodeCtx::new(), EncodeCtx::new());
    let u = Update::new()
        .with(AttrValue::Origin(Origin::IGP))
        .with(AttrValue::AsPath(AsPath::sequence([
            65001, 23456, 23456, 65002,
        ])))
        .with(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1)))
        .with(AttrValue::Aggregator(Aggregator {
            asn: 23456,
            address: Ipv4Addr::new(10, 0, 0, 1),
        }))
        .with(AttrValue::As4Path(AsPath::sequence([
            4_200_000_000,
            4_200_000_001,
            65002,
        ])))
        .with(AttrValue::As4Aggregator(Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::new(10, 0, 0, 1),
        }))
        .with_nlri([v4("203.0.113.0/24")]);
    assert_vector(&UPDATE_AS4, &Message::Update(u.clone()), &d, &e);
    // RFC 6793 §4.2.3: AS_PATH has 4 ASes, AS4_PATH 3: take 1 leading AS from AS_PATH.
    assert_eq!(
        u.effective_as_path().unwrap().into_owned(),
        AsPath::sequence([65001, 4_200_000_000, 4_200_000_001, 65002])
    );
}

#[test]
fn as4_merge_rules() {
    // RFC 6793 §4.2.3: AS4_PATH longer than AS_PATH is ignored.
    let p = AsPath::sequence([65001]);
    assert_eq!(AsPath::merge_as4(&p, &AsPath::sequence([1, 2])), p);
    // An AS_SET counts as one AS, and leading segments are taken whole.
    let p = AsPath {
        segments: vec![Segment::set([1, 2, 3]), Segment::sequence([23456, 23456])].into(),
    };
    let p4 = AsPath::sequence([4_200_000_000, 4_200_000_001]);
    assert_eq!(
        AsPath::merge_as4(&p, &p4),
        AsPath {
            segments: vec![
                Segment::set([1, 2, 3]),
                Segment::sequence([4_200_000_000, 4_200_000_001])
            ]
            .into()
        }
    );
    // RFC 6793 §4.2.2: split for a 2-octet session.
    let full = AsPath::sequence([65001, 4_200_000_000]);
    let (two, four) = full.to_two_octet();
    assert_eq!(two, AsPath::sequence([65001, 23456]));
    assert_eq!(four, Some(full));
}

/// ADD-PATH NLRI and withdrawn routes with Path Identifiers (RFC 7911 §3).
static UPDATE_ADD_PATH: [u8; 53] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x35, // Length 53
    0x02, // Type UPDATE
    0x00, 0x08, // Withdrawn Routes Length 8
    0x00, 0x00, 0x00, 0x02, 0x18, 0xc6, 0x33, 0x65, // Path Identifier 2, 198.51.101.0/24
    0x00, 0x0e, // Total Path Attribute Length 14
    0x40, 0x01, 0x01, 0x02, // ORIGIN INCOMPLETE
    0x40, 0x02, 0x00, // AS_PATH empty (iBGP)
    0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01, // NEXT_HOP 192.0.2.1
    0x00, 0x00, 0x00, 0x01, 0x18, 0xc6, 0x33, 0x64, // Path Identifier 1, 198.51.100.0/24
];

#[test]
fn update_add_path_vector() {
    // RFC 7911 §3
    let d = DecodeCtx::modern().with_add_path(Family::IPV4_UNICAST, true);
    let e = EncodeCtx::modern().with_add_path(Family::IPV4_UNICAST, true);
    let p = |id, s: &str| Nlri::with_path_id(id, s.parse::<ipnet::Ipv4Net>().unwrap());
    let u = Update::new()
        .with_withdrawn([p(2, "198.51.101.0/24")])
        .with(AttrValue::Origin(Origin::INCOMPLETE))
        .with(AttrValue::AsPath(AsPath::default()))
        .with(AttrValue::NextHop(Ipv4Addr::new(192, 0, 2, 1)))
        .with_nlri([p(1, "198.51.100.0/24")]);
    assert_vector(&UPDATE_ADD_PATH, &Message::Update(u), &d, &e);
}

/// RFC 4724 §2: End-of-RIB for IPv4 unicast is an UPDATE with nothing in it.
static EOR_V4: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x17, // Length 23
    0x02, // Type UPDATE
    0x00, 0x00, // Withdrawn Routes Length 0
    0x00, 0x00, // Total Path Attribute Length 0
];

/// RFC 4724 §2: End-of-RIB for other families is an empty MP_UNREACH_NLRI.
static EOR_V6: [u8; 29] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x1d, // Length 29
    0x02, // Type UPDATE
    0x00, 0x00, // Withdrawn Routes Length 0
    0x00, 0x06, // Total Path Attribute Length 6
    0x80, 0x0f, 0x03, 0x00, 0x02, 0x01, // MP_UNREACH_NLRI AFI 2 SAFI 1, no prefixes
];

/// End-of-RIB of a family whose NLRI this crate keeps raw (VPNv4, SAFI 128).
static EOR_VPN: [u8; 29] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x1d, // Length 29
    0x02, // Type UPDATE
    0x00, 0x00, // Withdrawn Routes Length 0
    0x00, 0x06, // Total Path Attribute Length 6
    0x80, 0x0f, 0x03, 0x00, 0x01, 0x80, // MP_UNREACH_NLRI AFI 1 SAFI 128
];

#[test]
fn end_of_rib_vectors() {
    // RFC 4724 §2
    let (d, e) = modern();
    assert_vector(
        &EOR_V4,
        &Message::Update(Update::end_of_rib(Family::IPV4_UNICAST)),
        &d,
        &e,
    );
    assert_vector(
        &EOR_V6,
        &Message::Update(Update::end_of_rib(Family::IPV6_UNICAST)),
        &d,
        &e,
    );
    let vpn = Family::new(Afi::IPV4, bgp_wire::Safi::MPLS_VPN);
    assert_vector(&EOR_VPN, &Message::Update(Update::end_of_rib(vpn)), &d, &e);
    for (bytes, fam) in [
        (&EOR_V4[..], Family::IPV4_UNICAST),
        (&EOR_V6, Family::IPV6_UNICAST),
        (&EOR_VPN, vpn),
    ] {
        let Message::Update(u) = Message::parse(bytes, &d).unwrap() else {
            panic!()
        };
        assert_eq!(u.is_end_of_rib(), Some(fam));
    }
}

/// RFC 9003 §2: Cease / Administrative Shutdown with a shutdown communication.
static NOTIFICATION_SHUTDOWN: [u8; 33] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x21, // Length 33
    0x03, // Type NOTIFICATION
    0x06, // Error code Cease
    0x02, // Subcode Administrative Shutdown (RFC 4486 §4)
    0x0b, // Shutdown communication length 11
    b'm', b'a', b'i', b'n', b't', b'e', b'n', b'a', b'n', b'c', b'e',
];

/// RFC 9384 §2: Cease / BFD Down, no data.
static NOTIFICATION_BFD_DOWN: [u8; 21] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x15, // Length 21
    0x03, // Type NOTIFICATION
    0x06, 0x0a, // Cease / BFD Down
];

/// RFC 8538 §3: Cease / Hard Reset wrapping Hold Timer Expired.
static NOTIFICATION_HARD_RESET: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, // Marker
    0x00, 0x17, // Length 23
    0x03, // Type NOTIFICATION
    0x06, 0x09, // Cease / Hard Reset
    0x04, 0x00, // data: the original code 4 (Hold Timer Expired) and subcode 0
];

#[test]
fn notification_vectors() {
    // RFC 4271 §4.5, RFC 9003 §2, RFC 9384 §2, RFC 8538 §3
    let (d, e) = modern();
    let n = Notification::cease_with_communication(
        subcode::cease::ADMINISTRATIVE_SHUTDOWN,
        "maintenance",
    );
    assert_vector(
        &NOTIFICATION_SHUTDOWN,
        &Message::Notification(n.clone()),
        &d,
        &e,
    );
    assert_eq!(n.shutdown_communication(), Some("maintenance"));
    let bfd = Notification::new(ErrorCode::CEASE, subcode::cease::BFD_DOWN, Bytes::new());
    assert_vector(&NOTIFICATION_BFD_DOWN, &Message::Notification(bfd), &d, &e);
    let hr = Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new()).into_hard_reset();
    assert!(hr.is_hard_reset());
    assert_vector(&NOTIFICATION_HARD_RESET, &Message::Notification(hr), &d, &e);
}

#[test]
fn shutdown_communication_length_checked() {
    // RFC 9003 §4: a length that overruns the data, or invalid UTF-8, is no communication.
    let bad_len = Notification::new(ErrorCode::CEASE, 2, Bytes::from_static(&[5, b'a', b'b']));
    assert_eq!(bad_len.shutdown_communication(), None);
    let bad_utf8 = Notification::new(ErrorCode::CEASE, 4, Bytes::from_static(&[2, 0xc3, 0x28]));
    assert_eq!(bad_utf8.shutdown_communication(), None);
    // Only Administrative Shutdown / Reset carry one.
    let other = Notification::new(ErrorCode::CEASE, 3, Bytes::from_static(&[1, b'a']));
    assert_eq!(other.shutdown_communication(), None);
    // Builder truncates to 255 octets at a character boundary.
    let long = "é".repeat(200);
    let n = Notification::cease_with_communication(2, &long);
    assert_eq!(n.data[0], 254);
    assert_eq!(n.shutdown_communication().unwrap().chars().count(), 127);
}

/// ROUTE-REFRESH (RFC 2918 §3) and the RFC 7313 §3 subtypes.
static ROUTE_REFRESH: [[u8; 23]; 3] = [
    [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, // Marker
        0x00, 0x17, 0x05, // Length 23, Type ROUTE-REFRESH
        0x00, 0x01, 0x00, 0x01, // AFI 1, Subtype 0 (normal), SAFI 1
    ],
    [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, // Marker
        0x00, 0x17, 0x05, // Length 23, Type ROUTE-REFRESH
        0x00, 0x02, 0x01, 0x01, // AFI 2, Subtype 1 (BoRR), SAFI 1
    ],
    [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, // Marker
        0x00, 0x17, 0x05, // Length 23, Type ROUTE-REFRESH
        0x00, 0x02, 0x02, 0x01, // AFI 2, Subtype 2 (EoRR), SAFI 1
    ],
];

#[test]
fn route_refresh_vectors() {
    // RFC 2918 §3, RFC 7313 §3
    let (d, e) = modern();
    let rr = |family, subtype| Message::RouteRefresh(RouteRefresh { family, subtype });
    assert_vector(
        &ROUTE_REFRESH[0],
        &rr(Family::IPV4_UNICAST, Subtype::NORMAL),
        &d,
        &e,
    );
    assert_vector(
        &ROUTE_REFRESH[1],
        &rr(Family::IPV6_UNICAST, Subtype::BORR),
        &d,
        &e,
    );
    assert_vector(
        &ROUTE_REFRESH[2],
        &rr(Family::IPV6_UNICAST, Subtype::EORR),
        &d,
        &e,
    );
}

#[test]
fn partial_bit_helper() {
    // RFC 4271 §5: unrecognised optional transitive attributes are passed on with Partial,
    // unrecognised optional non-transitive ones are not passed on.
    let ot = Attribute {
        flags: 0xc0,
        value: AttrValue::Raw {
            type_code: 99,
            value: Bytes::new(),
        },
    };
    assert_eq!(ot.for_propagation().unwrap().flags, 0xe0);
    let on = Attribute {
        flags: 0x80,
        value: AttrValue::Raw {
            type_code: 98,
            value: Bytes::new(),
        },
    };
    assert_eq!(on.for_propagation(), None);
    let known = Attribute::new(AttrValue::MultiExitDisc(5));
    assert_eq!(known.for_propagation(), Some(known.clone()));
}

#[test]
fn negotiate_contexts_from_opens() {
    // RFC 6793 §3, RFC 4760 §8, RFC 7911 §5, RFC 8654 §3
    let local = open_bird();
    let remote = Open::new(4_200_000_000, 90, Ipv4Addr::new(10, 0, 0, 2))
        .with_capability(Capability::Multiprotocol(Family::IPV4_UNICAST))
        .with_capability(Capability::AddPath(vec![AddPathFamily {
            family: Family::IPV4_UNICAST,
            mode: AddPathMode::SEND,
        }]));
    let (d, e) = bgp_wire::negotiate(&local, &remote);
    assert!(d.four_octet_as() && e.four_octet_as());
    assert!(!d.extended_message(), "only one side offered RFC 8654");
    assert_eq!(d.families(), &[Family::IPV4_UNICAST]);
    assert!(d.add_path(Family::IPV4_UNICAST), "we receive, peer sends");
    assert!(!e.add_path(Family::IPV4_UNICAST), "peer does not receive");
}
