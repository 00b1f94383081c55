//! Conversions between the route engine ([`llgr`]) and its two neighbours:
//! `bgp-wire` UPDATEs and negotiations on one side, `fib` kernel objects on
//! the other. Pure functions and one small state machine: no I/O, no clock.
//!
//! The node uses them, and so can a routing daemon that runs its own
//! [`llgr::Engine`] (the `dualtor-tor` example, a route reflector, is one):
//!
//! ```
//! use std::net::Ipv4Addr;
//! use dualtor::bgp_wire::{attr::AttrValue, Nlri, Update};
//! use dualtor::rib;
//!
//! let loopback: dualtor::llgr::Prefix = "172.31.10.2/32".parse()?;
//! let received = Update::new()
//!     .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
//!     .with_nlri([Nlri::new(loopback)]);
//! let imp = rib::import(&received);
//! assert_eq!(imp.announced, [(loopback, dualtor::llgr::PathId(0))]);
//! assert_eq!(imp.attrs.next_hop, Some("172.31.11.2".parse()?));
//! // engine.handle_update(now, peer, &imp.announced, imp.attrs, &imp.withdrawn);
//! // ... later: for each peer, rib::export(&its_rib_out_changes) -> UPDATEs.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Import keeps what selection and export read (RFC 4271 §9.1.2, RFC 4456,
//! RFC 1997, RFC 8092, RFC 9494 communities); unknown optional attributes
//! travel as [`llgr::RawAttr`]. AGGREGATOR, ATOMIC_AGGREGATE and extended
//! communities are not kept (neither the node nor the example ToR
//! aggregates or reads them). Only IPv4 and IPv6 unicast are converted.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bgp_wire::attr::{
    AsPath, AttrValue, Attribute, Community, LargeCommunity, MpReach, MpUnreach, NextHop, Origin,
    Segment, SegmentType,
};
use bgp_wire::session::Negotiated;
use bgp_wire::{Family, Nlri, Update};
use ipnet::IpNet;
use llgr::{AsSegment, PathAttrs, PathId, Prefix, RibOutChange};

/// One received UPDATE as the engine takes it: the arguments of
/// [`llgr::Engine::handle_update`], or an End-of-RIB.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Import {
    /// Reachable prefixes (with their ADD-PATH ids, 0 without ADD-PATH).
    pub announced: Vec<(Prefix, PathId)>,
    /// Their attributes (default when nothing is announced).
    pub attrs: PathAttrs,
    /// Unreachable prefixes.
    pub withdrawn: Vec<(Prefix, PathId)>,
    /// The End-of-RIB marker of this family (RFC 4724 §2); the rest is
    /// then empty.
    pub end_of_rib: Option<llgr::Family>,
}

impl Import {
    /// Drops what an eBGP peer may not set: LOCAL_PREF (RFC 4271 §5.1.5:
    /// ignored when received from an external peer), ORIGINATOR_ID and
    /// CLUSTER_LIST (RFC 4456 §8: iBGP only; BIRD discards them too). Call
    /// it on what came over an eBGP session when the engine should not
    /// see them.
    pub fn discard_ibgp_attributes(&mut self) {
        self.attrs.local_pref = None;
        self.attrs.originator_id = None;
        self.attrs.cluster_list.clear();
    }

    /// Hands the routes to the engine as one UPDATE of `peer`; with
    /// `treat_as_withdraw` (RFC 7606 §2) the announced prefixes are
    /// withdrawn instead. An End-of-RIB is left to the caller
    /// ([`llgr::Engine::handle_end_of_rib`]), who usually tracks it.
    pub fn apply(
        self,
        engine: &mut llgr::Engine,
        now: Instant,
        peer: llgr::PeerId,
        treat_as_withdraw: bool,
    ) {
        if treat_as_withdraw {
            engine.handle_update(now, peer, &[], self.attrs, &self.withdrawn);
            engine.handle_treat_as_withdraw(now, peer, &self.announced);
        } else {
            engine.handle_update(now, peer, &self.announced, self.attrs, &self.withdrawn);
        }
    }
}

/// The engine's family of a wire family; `None` for anything but IPv4 and
/// IPv6 unicast.
pub fn family(f: Family) -> Option<llgr::Family> {
    match f {
        Family::IPV4_UNICAST => Some(llgr::Family::Ipv4Unicast),
        Family::IPV6_UNICAST => Some(llgr::Family::Ipv6Unicast),
        _ => None,
    }
}

/// The session parameters the route engine needs from a negotiation (the
/// peer's RFC 4724 §3 GR and RFC 9494 §3 LLGR capabilities, for unicast
/// families), for [`llgr::Engine::handle_session_up`]; `local` is our end
/// of the connection (next-hop-self).
pub fn session_params(n: &Negotiated, local: IpAddr) -> llgr::SessionParams {
    llgr::SessionParams {
        router_id: Some(n.peer_router_id),
        local_address: Some(local),
        gr: n
            .peer_graceful_restart
            .as_ref()
            .map(|g| llgr::GrCapability {
                restart_time: u16::try_from(g.restart_time).unwrap_or(4095),
                restart_state: g.restart_state,
                notification: g.notification,
                families: g
                    .families
                    .iter()
                    .filter_map(|(f, fwd)| {
                        Some(llgr::GrFamily {
                            family: family(*f)?,
                            forwarding: *fwd,
                        })
                    })
                    .collect(),
            }),
        llgr: n.peer_llgr_capable.then(|| {
            n.peer_llgr
                .iter()
                .filter_map(|l| {
                    Some(llgr::LlgrFamily {
                        family: family(l.family)?,
                        forwarding: l.forwarding,
                        stale_time: l.stale_time,
                    })
                })
                .collect()
        }),
    }
}

fn unicast(f: Family) -> bool {
    f == Family::IPV4_UNICAST || f == Family::IPV6_UNICAST
}

fn route(n: &Nlri) -> (Prefix, PathId) {
    (n.prefix.trunc(), PathId(n.path_id.unwrap_or(0)))
}

fn segment(s: &Segment) -> AsSegment {
    if s.kind == SegmentType::AS_SET || s.kind == SegmentType::AS_CONFED_SET {
        AsSegment::Set(s.asns.to_vec())
    } else {
        AsSegment::Sequence(s.asns.to_vec())
    }
}

/// Converts a received UPDATE, every attribute kept as received (see
/// [`Import::discard_ibgp_attributes`] for eBGP sessions). Families other
/// than IPv4/IPv6 unicast are ignored.
pub fn import(update: &Update) -> Import {
    if let Some(f) = update.is_end_of_rib() {
        return Import {
            end_of_rib: family(f),
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
/// attribute set and family, at most 400 prefixes each.
pub fn export(changes: &[RibOutChange]) -> Vec<Update> {
    export_with(changes, |a| Some(a.clone()))
}

/// [`export`] with an outbound policy the engine cannot express: `policy`
/// sees each distinct attribute set once and returns the attributes to
/// send, or `None` to withdraw its prefixes from this peer instead.
pub fn export_with(
    changes: &[RibOutChange],
    mut policy: impl FnMut(&llgr::Attrs) -> Option<llgr::Attrs>,
) -> Vec<Update> {
    let mut withdrawn: [Vec<Nlri>; 2] = [Vec::new(), Vec::new()];
    // Attribute sets are interned by the engine: equal sets are pointer-equal.
    let mut groups: Vec<(Option<llgr::Attrs>, llgr::Family, Vec<Nlri>)> = Vec::new();
    let mut index: HashMap<(usize, llgr::Family), usize> = HashMap::new();
    for c in changes {
        let family = llgr::Family::of(&c.prefix);
        let nlri = Nlri::new(c.prefix);
        let v6 = usize::from(family == llgr::Family::Ipv6Unicast);
        match &c.attrs {
            None => withdrawn[v6].push(nlri),
            Some(a) => {
                let key = (Arc::as_ptr(a) as usize, family);
                let i = *index.entry(key).or_insert_with(|| {
                    groups.push((policy(a), family, Vec::new()));
                    groups.len() - 1
                });
                if groups[i].0.is_some() {
                    groups[i].2.push(nlri);
                } else {
                    withdrawn[v6].push(nlri);
                }
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
        let Some(attrs) = attrs else { continue };
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

/// One engine next hop as `fib`'s; `None` for a next hop the kernel
/// cannot take (a gateway with no known interface) or a blackhole.
fn nexthop(n: &llgr::NextHop) -> Option<fib::Nexthop> {
    match *n {
        llgr::NextHop::Gateway {
            gateway,
            interface: Some(ifindex),
            ..
        } => Some(fib::Nexthop::via(gateway, ifindex)),
        llgr::NextHop::Device { interface, .. } => Some(fib::Nexthop::dev(interface)),
        _ => None,
    }
}

/// The engine's group id as `fib`'s. The engine never reuses ids; the low
/// 32 bits wrap only after 4 billion distinct ECMP sets.
fn group_id(id: llgr::GroupId) -> fib::GroupId {
    fib::GroupId(id.0 as u32)
}

/// Translates the engine's group-level FIB changes
/// ([`llgr::Engine::poll_fib`]) into [`fib::Fib`] calls. A group whose next
/// hops include a blackhole (a locally originated block) is not a kernel
/// nexthop group: its routes become `blackhole` routes, so the translator
/// remembers those groups (this is its only state; start a new one when the
/// engine restarts).
#[derive(Debug, Default)]
pub struct FibTranslator {
    /// Engine groups that are `blackhole`.
    blackhole_groups: HashSet<llgr::GroupId>,
}

/// One call on a [`fib::Fib`], as [`FibTranslator::translate`] produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FibStep {
    /// [`fib::Fib::set_group`].
    SetGroup(fib::GroupId, fib::NexthopGroup),
    /// [`fib::Fib::remove_group`].
    RemoveGroup(fib::GroupId),
    /// [`fib::Fib::set_route`].
    SetRoute(IpNet, fib::Target),
    /// [`fib::Fib::remove_route`].
    RemoveRoute(IpNet),
}

impl FibStep {
    /// Records the step in the programmer's desired state (no I/O until
    /// [`fib::Fib::commit`]).
    pub fn apply(self, fib: &mut fib::Fib) {
        match self {
            FibStep::SetGroup(id, g) => fib.set_group(id, g),
            FibStep::RemoveGroup(id) => fib.remove_group(id),
            FibStep::SetRoute(p, t) => fib.set_route(p, t),
            FibStep::RemoveRoute(p) => fib.remove_route(p),
        }
    }

    /// Records steps in order, like [`FibStep::apply`] on each, with every
    /// run of consecutive [`FibStep::SetRoute`] given to
    /// [`fib::Fib::set_routes`] at once (several times faster on a large
    /// table: a session's whole table after a repair is one run).
    pub fn apply_all(steps: impl IntoIterator<Item = FibStep>, fib: &mut fib::Fib) {
        let mut routes: Vec<(IpNet, fib::Target)> = Vec::new();
        for step in steps {
            match step {
                FibStep::SetRoute(p, t) => routes.push((p, t)),
                other => {
                    if !routes.is_empty() {
                        fib.set_routes(routes.drain(..));
                    }
                    other.apply(fib);
                }
            }
        }
        if !routes.is_empty() {
            fib.set_routes(routes);
        }
    }
}

impl FibTranslator {
    /// A translator that knows no group yet.
    pub fn new() -> Self {
        FibTranslator::default()
    }

    /// Translates engine changes (in the engine's order: groups, routes,
    /// group removals) into steps, in the same order.
    pub fn translate(&mut self, changes: &[llgr::FibChange]) -> Vec<FibStep> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            match c {
                llgr::FibChange::GroupAdded { id, nexthops }
                | llgr::FibChange::GroupChanged { id, nexthops } => {
                    if nexthops
                        .iter()
                        .any(|n| matches!(n, llgr::NextHop::Blackhole))
                    {
                        self.blackhole_groups.insert(*id);
                        continue;
                    }
                    self.blackhole_groups.remove(id);
                    let group = fib::NexthopGroup::ecmp(nexthops.iter().filter_map(nexthop));
                    out.push(FibStep::SetGroup(group_id(*id), group));
                }
                llgr::FibChange::GroupRemoved { id } => {
                    if !self.blackhole_groups.remove(id) {
                        out.push(FibStep::RemoveGroup(group_id(*id)));
                    }
                }
                llgr::FibChange::Route { prefix, group } => match group {
                    Some(g) if self.blackhole_groups.contains(g) => {
                        out.push(FibStep::SetRoute(*prefix, fib::Target::Blackhole));
                    }
                    Some(g) => {
                        out.push(FibStep::SetRoute(*prefix, fib::Target::Group(group_id(*g))))
                    }
                    None => out.push(FibStep::RemoveRoute(*prefix)),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    /// A peer id for Adj-RIB-Out changes (only an engine makes them).
    fn peer_id() -> llgr::PeerId {
        let mut e = llgr::Engine::new(llgr::Config::new(65001, Ipv4Addr::new(1, 1, 1, 1)));
        e.add_peer(llgr::Peer::new(
            "172.31.11.250".parse().unwrap(),
            65001,
            Ipv4Addr::UNSPECIFIED,
        ))
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
            .with(AttrValue::Communities(vec![Community(0xFFFF_0006)].into()))
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
        let peer = peer_id();
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

    // RFC 4271 §5.1.5 and RFC 4456 §8: over eBGP, LOCAL_PREF, ORIGINATOR_ID
    // and CLUSTER_LIST are dropped; everything else stays.
    #[test]
    fn discard_ibgp_attributes_keeps_the_rest() {
        let u = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65002])))
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 1, 2)))
            .with(AttrValue::MultiExitDisc(7))
            .with(AttrValue::LocalPref(500))
            .with(AttrValue::OriginatorId(Ipv4Addr::new(9, 9, 9, 9)))
            .with(AttrValue::ClusterList(vec![Ipv4Addr::new(9, 9, 9, 9)]))
            .with_nlri([Nlri::new(pfx("172.31.20.1/32"))]);
        let mut i = import(&u);
        i.discard_ibgp_attributes();
        assert_eq!(
            i.attrs,
            PathAttrs {
                origin: llgr::Origin::Igp,
                as_path: vec![AsSegment::Sequence(vec![65002])],
                next_hop: Some("172.31.1.2".parse().unwrap()),
                med: Some(7),
                ..Default::default()
            }
        );
        assert_eq!(i.announced, vec![(pfx("172.31.20.1/32"), PathId(0))]);
    }

    // `export_with`: the policy sees each attribute set once; a set it
    // refuses is withdrawn from the peer, one it rewrites goes out rewritten.
    #[test]
    fn export_with_policy_rewrites_or_withdraws() {
        let keep = Arc::new(PathAttrs {
            next_hop: Some("172.31.11.2".parse().unwrap()),
            ..Default::default()
        });
        let refuse = Arc::new(PathAttrs {
            next_hop: Some("172.31.1.2".parse().unwrap()),
            ..Default::default()
        });
        let peer = peer_id();
        let change = |p: &str, a: &Arc<PathAttrs>| RibOutChange {
            peer,
            prefix: pfx(p),
            attrs: Some(a.clone()),
        };
        let changes = vec![
            change("172.31.10.2/32", &keep),
            change("172.31.20.1/32", &refuse),
            change("172.31.20.2/32", &refuse),
        ];
        let mut calls = 0;
        let u = export_with(&changes, |a| {
            calls += 1;
            (a.next_hop == keep.next_hop).then(|| {
                Arc::new(PathAttrs {
                    med: Some(9),
                    ..(**a).clone()
                })
            })
        });
        assert_eq!(calls, 2);
        let want = vec![
            Update::new().with_withdrawn([
                Nlri::new(pfx("172.31.20.1/32")),
                Nlri::new(pfx("172.31.20.2/32")),
            ]),
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath {
                    segments: Default::default(),
                }))
                .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
                .with(AttrValue::MultiExitDisc(9))
                .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]),
        ];
        assert_eq!(u, want);
    }

    #[test]
    fn translate_groups_routes_and_blackholes() {
        let mut e = llgr::Engine::new(llgr::Config::new(1, "1.1.1.1".parse().unwrap()));
        let p1 = e.add_peer(llgr::Peer::new(
            "172.31.11.250".parse().unwrap(),
            1,
            "0.0.0.0".parse().unwrap(),
        ));
        let p2 = e.add_peer(llgr::Peer::new(
            "172.31.12.250".parse().unwrap(),
            1,
            "0.0.0.0".parse().unwrap(),
        ));
        let hops: Arc<[llgr::NextHop]> = Arc::from(vec![
            llgr::NextHop::Gateway {
                gateway: "172.31.11.250".parse().unwrap(),
                interface: Some(2),
                peer: p1,
            },
            llgr::NextHop::Gateway {
                gateway: "172.31.12.250".parse().unwrap(),
                interface: Some(3),
                peer: p2,
            },
        ]);
        let bh: Arc<[llgr::NextHop]> = Arc::from(vec![llgr::NextHop::Blackhole]);
        let mut d = FibTranslator::new();
        let steps = d.translate(&[
            llgr::FibChange::GroupAdded {
                id: llgr::GroupId(7),
                nexthops: hops,
            },
            llgr::FibChange::GroupAdded {
                id: llgr::GroupId(8),
                nexthops: bh,
            },
            llgr::FibChange::Route {
                prefix: "172.31.20.1/32".parse().unwrap(),
                group: Some(llgr::GroupId(7)),
            },
            llgr::FibChange::Route {
                prefix: "10.244.17.0/26".parse().unwrap(),
                group: Some(llgr::GroupId(8)),
            },
            llgr::FibChange::Route {
                prefix: "10.244.33.0/26".parse().unwrap(),
                group: None,
            },
            llgr::FibChange::GroupRemoved {
                id: llgr::GroupId(8),
            },
        ]);
        assert_eq!(
            steps,
            vec![
                FibStep::SetGroup(
                    fib::GroupId(7),
                    fib::NexthopGroup::ecmp([
                        fib::Nexthop::via("172.31.11.250".parse().unwrap(), 2),
                        fib::Nexthop::via("172.31.12.250".parse().unwrap(), 3),
                    ])
                ),
                FibStep::SetRoute(
                    "172.31.20.1/32".parse().unwrap(),
                    fib::Target::Group(fib::GroupId(7))
                ),
                FibStep::SetRoute("10.244.17.0/26".parse().unwrap(), fib::Target::Blackhole),
                FibStep::RemoveRoute("10.244.33.0/26".parse().unwrap()),
            ]
        );
    }
}
