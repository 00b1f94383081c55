//! Conversions between `bgp-wire` UPDATEs and the route engine's inputs and
//! outputs (`llgr`). Pure functions: no I/O, no clock.
//!
//! Import keeps what selection and export read (RFC 4271 §9.1.2, RFC 4456,
//! RFC 1997, RFC 8092, RFC 9494 communities); unknown optional attributes
//! travel as [`llgr::RawAttr`]. The node never re-exports learned routes
//! (no transit between planes), so attributes that only matter for transit
//! (AGGREGATOR, ATOMIC_AGGREGATE, extended communities) are not kept.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bgp_wire::attr::{
    AsPath, AttrValue, Attribute, Community, LargeCommunity, MpReach, MpUnreach, NextHop, Origin,
    Segment, SegmentType,
};
use bgp_wire::{Family, Nlri, Update};
use llgr::{AsSegment, PathAttrs, PathId, Prefix, RibOutChange};

/// One UPDATE as the engine takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Import {
    /// Reachable prefixes (with their ADD-PATH ids).
    pub(crate) announced: Vec<(Prefix, PathId)>,
    /// Their attributes.
    pub(crate) attrs: PathAttrs,
    /// Unreachable prefixes.
    pub(crate) withdrawn: Vec<(Prefix, PathId)>,
    /// The End-of-RIB marker of this family (RFC 4724 §2).
    pub(crate) end_of_rib: Option<llgr::Family>,
}

fn unicast(f: Family) -> bool {
    f == Family::IPV4_UNICAST || f == Family::IPV6_UNICAST
}

fn route(n: &Nlri) -> (Prefix, PathId) {
    (n.prefix.trunc(), PathId(n.path_id.unwrap_or(0)))
}

fn segment(s: &Segment) -> AsSegment {
    if s.kind == SegmentType::AS_SET || s.kind == SegmentType::AS_CONFED_SET {
        AsSegment::Set(s.asns.clone())
    } else {
        AsSegment::Sequence(s.asns.clone())
    }
}

/// Converts a received UPDATE. Families other than IPv4/IPv6 unicast are
/// ignored (we negotiate only those).
pub(crate) fn import(update: &Update) -> Import {
    if let Some(f) = update.is_end_of_rib() {
        return Import {
            end_of_rib: super::bgp::family(f),
            ..Import::default()
        };
    }
    let mut out = Import {
        announced: update
            .announced()
            .filter(|(f, _)| unicast(*f))
            .map(|(_, n)| route(n))
            .collect(),
        withdrawn: update
            .withdrawals()
            .filter(|(f, _)| unicast(*f))
            .map(|(_, n)| route(n))
            .collect(),
        ..Import::default()
    };
    if out.announced.is_empty() {
        return out;
    }
    let a = &mut out.attrs;
    a.origin = match update.origin() {
        Some(Origin::EGP) => llgr::Origin::Egp,
        Some(Origin::INCOMPLETE) => llgr::Origin::Incomplete,
        _ => llgr::Origin::Igp,
    };
    if let Some(p) = update.effective_as_path() {
        a.as_path = p.segments.iter().map(segment).collect();
    }
    a.next_hop = update.next_hop().map(IpAddr::V4);
    if let Some(m) = update.mp_reach().filter(|m| unicast(m.family)) {
        match m.next_hop {
            NextHop::Ipv4(v4) => a.next_hop = Some(IpAddr::V4(v4)),
            NextHop::Ipv6 { global, link_local } => {
                a.next_hop = Some(IpAddr::V6(global));
                a.link_local_next_hop = link_local;
            }
        }
    }
    a.med = update.multi_exit_disc();
    a.local_pref = update.local_pref();
    a.communities = update.communities().iter().map(|c| c.0).collect();
    a.large_communities = update
        .large_communities()
        .iter()
        .map(|l| llgr::LargeCommunity {
            global: l.global,
            local1: l.local1,
            local2: l.local2,
        })
        .collect();
    for attr in &update.attributes {
        match &attr.value {
            AttrValue::OriginatorId(id) => a.originator_id = Some(*id),
            AttrValue::ClusterList(l) => a.cluster_list = l.iter().map(|c| u32::from(*c)).collect(),
            AttrValue::Raw { type_code, value } => a.other.push(llgr::RawAttr {
                flags: attr.flags,
                type_code: *type_code,
                value: value.clone(),
            }),
            _ => {}
        }
    }
    out
}

/// The attributes of one announcement, in RFC 4271 §5 order.
fn attributes(a: &PathAttrs, family: llgr::Family, nlri: Vec<Nlri>) -> Vec<Attribute> {
    let mut v = vec![
        Attribute::new(AttrValue::Origin(match a.origin {
            llgr::Origin::Igp => Origin::IGP,
            llgr::Origin::Egp => Origin::EGP,
            llgr::Origin::Incomplete => Origin::INCOMPLETE,
        })),
        Attribute::new(AttrValue::AsPath(AsPath {
            segments: a
                .as_path
                .iter()
                .map(|s| match s {
                    AsSegment::Sequence(x) => Segment::sequence(x.clone()),
                    AsSegment::Set(x) => Segment::set(x.clone()),
                })
                .collect(),
        })),
    ];
    match (family, a.next_hop) {
        (llgr::Family::Ipv4Unicast, Some(IpAddr::V4(nh))) => {
            v.push(Attribute::new(AttrValue::NextHop(nh)));
        }
        (llgr::Family::Ipv6Unicast, Some(IpAddr::V6(global))) => {
            v.push(Attribute::new(AttrValue::MpReachNlri(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::Ipv6 {
                    global,
                    link_local: a.link_local_next_hop,
                },
                nlri,
            })));
        }
        (llgr::Family::Ipv6Unicast, Some(IpAddr::V4(v4))) => {
            // RFC 4291 §2.5.5.2: IPv4-mapped next hop for an IPv6 route over an IPv4 session.
            v.push(Attribute::new(AttrValue::MpReachNlri(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::Ipv6 {
                    global: v4.to_ipv6_mapped(),
                    link_local: None,
                },
                nlri,
            })));
        }
        _ => {}
    }
    if let Some(m) = a.med {
        v.push(Attribute::new(AttrValue::MultiExitDisc(m)));
    }
    if let Some(lp) = a.local_pref {
        v.push(Attribute::new(AttrValue::LocalPref(lp)));
    }
    if !a.communities.is_empty() {
        v.push(Attribute::new(AttrValue::Communities(
            a.communities.iter().map(|c| Community(*c)).collect(),
        )));
    }
    if let Some(id) = a.originator_id {
        v.push(Attribute::new(AttrValue::OriginatorId(id)));
    }
    if !a.cluster_list.is_empty() {
        v.push(Attribute::new(AttrValue::ClusterList(
            a.cluster_list.iter().map(|c| (*c).into()).collect(),
        )));
    }
    if !a.large_communities.is_empty() {
        v.push(Attribute::new(AttrValue::LargeCommunities(
            a.large_communities
                .iter()
                .map(|l| LargeCommunity {
                    global: l.global,
                    local1: l.local1,
                    local2: l.local2,
                })
                .collect(),
        )));
    }
    for r in &a.other {
        v.push(Attribute {
            flags: r.flags,
            value: AttrValue::Raw {
                type_code: r.type_code,
                value: r.value.clone(),
            },
        });
    }
    v
}

/// Most prefixes per UPDATE we build (well under 4096 octets for /32s).
const MAX_NLRI_PER_UPDATE: usize = 400;

/// Builds UPDATEs from the engine's Adj-RIB-Out changes for one peer:
/// withdrawals first (one UPDATE per family), then one UPDATE per shared
/// attribute set and family.
pub(crate) fn export(changes: &[RibOutChange]) -> Vec<Update> {
    let mut withdrawn: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
    // Attribute sets are interned by the engine: equal sets are pointer-equal.
    let mut groups: Vec<(llgr::Attrs, llgr::Family, Vec<Nlri>)> = Vec::new();
    let mut index: HashMap<(usize, llgr::Family), usize> = HashMap::new();
    for c in changes {
        let family = llgr::Family::of(&c.prefix);
        let nlri = Nlri::new(c.prefix);
        match &c.attrs {
            None => withdrawn[usize::from(family == llgr::Family::Ipv6Unicast)].push(nlri),
            Some(a) => {
                let key = (Arc::as_ptr(a) as usize, family);
                let i = *index.entry(key).or_insert_with(|| {
                    groups.push((a.clone(), family, Vec::new()));
                    groups.len() - 1
                });
                groups[i].2.push(nlri);
            }
        }
    }
    let mut out = Vec::new();
    for chunk in withdrawn[0].chunks(MAX_NLRI_PER_UPDATE) {
        out.push(Update::new().with_withdrawn(chunk.iter().cloned()));
    }
    for chunk in withdrawn[1].chunks(MAX_NLRI_PER_UPDATE) {
        out.push(Update::new().with(AttrValue::MpUnreachNlri(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: chunk.to_vec(),
        })));
    }
    for (attrs, family, nlri) in groups {
        for chunk in nlri.chunks(MAX_NLRI_PER_UPDATE) {
            let mut u = Update::new();
            match family {
                llgr::Family::Ipv4Unicast => {
                    u.attributes = attributes(&attrs, family, Vec::new());
                    u.nlri = chunk.to_vec();
                }
                llgr::Family::Ipv6Unicast => {
                    u.attributes = attributes(&attrs, family, chunk.to_vec());
                }
            }
            out.push(u);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    // RFC 4271 §4.3: a BIRD ToR reflecting a same-rack loopback with its
    // next hop kept (lab.md pitfall 2): every field reaches the engine.
    #[test]
    fn import_ipv4_update() {
        let u = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65002])))
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
            .with(AttrValue::LocalPref(100))
            .with(AttrValue::Communities(vec![Community(0xFFFF_0006)]))
            .with(AttrValue::OriginatorId(Ipv4Addr::new(172, 31, 10, 2)))
            .with(AttrValue::ClusterList(vec![Ipv4Addr::new(
                172, 31, 11, 250,
            )]))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))])
            .with_withdrawn([Nlri::new(pfx("10.244.18.0/26"))]);
        let i = import(&u);
        assert_eq!(i.announced, vec![(pfx("172.31.10.2/32"), PathId(0))]);
        assert_eq!(i.withdrawn, vec![(pfx("10.244.18.0/26"), PathId(0))]);
        assert_eq!(i.end_of_rib, None);
        assert_eq!(
            i.attrs,
            PathAttrs {
                origin: llgr::Origin::Igp,
                as_path: vec![AsSegment::Sequence(vec![65002])],
                next_hop: Some("172.31.11.2".parse().unwrap()),
                local_pref: Some(100),
                communities: vec![llgr::LLGR_STALE],
                originator_id: Some(Ipv4Addr::new(172, 31, 10, 2)),
                cluster_list: vec![u32::from(Ipv4Addr::new(172, 31, 11, 250))],
                ..Default::default()
            }
        );
    }

    // RFC 4724 §2: an empty UPDATE is the IPv4 unicast End-of-RIB; an
    // MP_UNREACH_NLRI with no prefixes is the IPv6 one.
    #[test]
    fn import_end_of_rib() {
        assert_eq!(
            import(&Update::end_of_rib(Family::IPV4_UNICAST)).end_of_rib,
            Some(llgr::Family::Ipv4Unicast)
        );
        assert_eq!(
            import(&Update::end_of_rib(Family::IPV6_UNICAST)).end_of_rib,
            Some(llgr::Family::Ipv6Unicast)
        );
    }

    // RFC 4760 §3 / RFC 2545 §3: IPv6 routes in MP_REACH_NLRI with a global
    // and link-local next hop.
    #[test]
    fn import_ipv6_mp_reach() {
        let u = Update::new()
            .with(AttrValue::Origin(Origin::INCOMPLETE))
            .with(AttrValue::AsPath(AsPath::sequence([65002, 65003])))
            .with(AttrValue::MpReachNlri(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: NextHop::Ipv6 {
                    global: "fd00::1".parse().unwrap(),
                    link_local: Some("fe80::1".parse().unwrap()),
                },
                nlri: vec![Nlri::new(pfx("fd00:10::/64"))],
            }));
        let i = import(&u);
        assert_eq!(i.announced, vec![(pfx("fd00:10::/64"), PathId(0))]);
        assert_eq!(i.attrs.origin, llgr::Origin::Incomplete);
        assert_eq!(i.attrs.next_hop, Some("fd00::1".parse().unwrap()));
        assert_eq!(
            i.attrs.link_local_next_hop,
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(
            i.attrs.as_path,
            vec![AsSegment::Sequence(vec![65002, 65003])]
        );
    }

    // Export: one UPDATE per attribute set with every prefix that shares it,
    // withdrawals first; RFC 4271 §5.1.2/§5.1.3 attributes as the engine set them.
    #[test]
    fn export_groups_by_attribute_set() {
        let attrs = Arc::new(PathAttrs {
            as_path: vec![AsSegment::Sequence(vec![65001])],
            next_hop: Some("172.31.11.1".parse().unwrap()),
            communities: vec![0xFDE8_0001],
            ..Default::default()
        });
        let peer = {
            // A PeerId can only come from an engine.
            let mut e = llgr::Engine::new(llgr::Config::new(65001, Ipv4Addr::new(1, 1, 1, 1)));
            e.add_peer(llgr::Peer::new(
                "172.31.11.250".parse().unwrap(),
                65001,
                Ipv4Addr::UNSPECIFIED,
            ))
        };
        let changes = vec![
            RibOutChange {
                peer,
                prefix: pfx("172.31.10.1/32"),
                attrs: Some(attrs.clone()),
            },
            RibOutChange {
                peer,
                prefix: pfx("10.244.17.0/26"),
                attrs: Some(attrs.clone()),
            },
            RibOutChange {
                peer,
                prefix: pfx("10.244.99.0/26"),
                attrs: None,
            },
        ];
        let u = export(&changes);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].withdrawn, vec![Nlri::new(pfx("10.244.99.0/26"))]);
        assert!(u[0].attributes.is_empty());
        assert_eq!(
            u[1].nlri,
            vec![
                Nlri::new(pfx("172.31.10.1/32")),
                Nlri::new(pfx("10.244.17.0/26"))
            ]
        );
        assert_eq!(u[1].origin(), Some(Origin::IGP));
        assert_eq!(u[1].as_path(), Some(&AsPath::sequence([65001])));
        assert_eq!(u[1].next_hop(), Some(Ipv4Addr::new(172, 31, 11, 1)));
        assert_eq!(u[1].communities(), &[Community(0xFDE8_0001)]);
        assert_eq!(u[1].local_pref(), None);
        // Round trip through import gives the same attributes back.
        assert_eq!(import(&u[1]).attrs, *attrs);
    }
}
