//! The ToR's routing policy around the `llgr` engine: which engine peer each
//! session is, what a received UPDATE becomes, and what an Adj-RIB-Out change
//! puts on the wire. Pure functions (no I/O, no clock). The UPDATE
//! conversions are [`dualtor::rib`]'s, the node's own; this module only adds
//! the ToR's policy around them.
//!
//! The engine applies the RFC rules of a route reflector with
//! [`llgr::ExportPolicy::Transit`]: RFC 4456 §6 reflection between clients
//! keeping NEXT_HOP and the other attributes, §8 ORIGINATOR_ID (if absent) and
//! CLUSTER_LIST prepend, §8 loop rejection on import; RFC 4271 §5.1 on eBGP
//! export (AS prepend, next-hop-self, no LOCAL_PREF/MED, no RFC 4456
//! attributes); RFC 9494 §4.3 LLGR_STALE on depreferenced routes and no stale
//! route to a peer without capability 71.
//! This module adds the rules of a dual-ToR fabric that the engine's
//! [`llgr::NextHopMode`] and [`llgr::ExportPolicy`] cannot say:
//! - routes learned over eBGP reach the clients with next-hop-self (so nodes
//!   install `via <ToR>`), reflected client routes keep theirs (the lab BIRD
//!   ToR's `next hop keep ibgp; next hop self ebgp` on client sessions);
//! - only the rack's own routes go to the other racks: a ToR is never a
//!   transit between two racks. Every ToR peers with every other rack's
//!   same-plane ToR, so transit is never needed, and with three racks or more
//!   it made LLGR depreferencing hunt paths through a forwarding loop (rb1 via
//!   rc1 and rc1 via rb1 for a moment: 34 packets lost across a node restart
//!   in a 4 x 4 lab); a plane is lost as a whole instead, and the nodes use
//!   the other one;
//! - ORIGINATOR_ID and CLUSTER_LIST received over eBGP are discarded (as
//!   BIRD does: they are iBGP-only attributes, RFC 4456 §8).
//!
//! "Learned over eBGP" travels through the engine as a private marker
//! attribute ([`EBGP_LEARNED`]) added on import and removed on export; it
//! never reaches the wire.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp_wire::Update;
use dualtor::rib::{self, Import};
use ipnet::IpNet;
use llgr::{PathAttrs, RibOutChange};

use super::config::{Config, PeerConfig};

/// Type code of the private marker attribute on routes learned over eBGP (255:
/// "reserved for development", RFC 2042). A received attribute with this code
/// is discarded on import, so the marker is always ours.
pub const EBGP_LEARNED: u8 = 255;

fn ebgp_marker() -> llgr::RawAttr {
    llgr::RawAttr {
        flags: llgr::flags::OPTIONAL | llgr::flags::TRANSITIVE,
        type_code: EBGP_LEARNED,
        value: bytes::Bytes::new(),
    }
}

/// The engine configuration of a ToR: its AS, router ID, cluster ID and own addresses.
pub fn engine_config(cfg: &Config, local_addresses: Vec<IpAddr>) -> llgr::Config {
    let mut e = llgr::Config::new(cfg.asn, cfg.router_id);
    e.cluster_id = Some(cfg.cluster_id());
    e.local_addresses = local_addresses;
    e
}

/// The engine peer of a session: transit export, a route-reflector client when in
/// our AS, direct gateway over `interface` (index, connected subnets), LLGR on.
pub fn engine_peer(
    cfg: &Config,
    peer: &PeerConfig,
    interface: Option<(u32, Vec<IpNet>)>,
) -> llgr::Peer {
    let mut p = llgr::Peer::new(peer.address, peer.asn, Ipv4Addr::UNSPECIFIED);
    p.internal = cfg.is_client(peer);
    p.rr_client = p.internal;
    if let Some((ifindex, connected)) = interface {
        p.interface = Some(ifindex);
        p.connected = connected;
    }
    p.gateway_mode = llgr::GatewayMode::Direct;
    p.export = llgr::ExportPolicy::Transit;
    // Auto: self towards eBGP, kept towards clients; `export` overrides the
    // client side for routes learned over eBGP.
    p.next_hop_mode = llgr::NextHopMode::Auto;
    p.llgr = true;
    p
}

/// Converts a received UPDATE; `ebgp`: it came over an eBGP session, whose
/// ORIGINATOR_ID and CLUSTER_LIST are discarded (RFC 4456 §8: iBGP only), and
/// its routes get the [`EBGP_LEARNED`] marker.
pub fn import(update: &Update, ebgp: bool) -> Import {
    let mut imp = rib::import(update);
    if imp.announced.is_empty() {
        return imp;
    }
    imp.attrs.other.retain(|r| r.type_code != EBGP_LEARNED);
    if ebgp {
        imp.discard_ibgp_attributes();
        imp.attrs.other.push(ebgp_marker());
    }
    imp
}

/// The attributes we send to one peer, from the engine's (see the module docs):
/// a route learned over eBGP goes to clients with next-hop-self and to no eBGP
/// peer (`None`: withdraw it there); the marker is removed.
pub fn outgoing(attrs: &PathAttrs, to_client: bool, local: Option<IpAddr>) -> Option<PathAttrs> {
    let mut a = attrs.clone();
    let before = a.other.len();
    a.other.retain(|r| r.type_code != EBGP_LEARNED);
    let learned_over_ebgp = a.other.len() != before;
    if learned_over_ebgp {
        if !to_client {
            return None;
        }
        if local.is_some() {
            a.next_hop = local;
            a.link_local_next_hop = None;
        }
    }
    Some(a)
}

/// Builds the UPDATEs for one peer's Adj-RIB-Out changes ([`rib::export_with`])
/// with [`outgoing`] applied: a route it refuses is withdrawn.
pub fn export(changes: &[RibOutChange], to_client: bool, local: Option<IpAddr>) -> Vec<Update> {
    rib::export_with(changes, |a| outgoing(a, to_client, local).map(Arc::new))
}

#[cfg(test)]
mod tests {
    //! The ToR's export policy end to end through the engine: UPDATEs in, UPDATEs
    //! out. Topology: ToR ra1 (172.31.11.250, AS 65001, br0 = ifindex 3 on
    //! 172.31.11.0/24, core = ifindex 4 on 172.31.1.0/24), clients a1 and a2 on
    //! br0, eBGP peer rb1 (172.31.1.2, AS 65002) on core. Expected UPDATEs are
    //! written by hand from the RFCs.
    use super::*;
    use std::collections::HashMap;
    use std::time::Instant;

    use bgp_wire::attr::{AsPath, AttrValue, Attribute, Community, Origin};
    use bgp_wire::{Family, Nlri};
    use llgr::Prefix;

    use llgr::{Engine, PeerId};

    const RA1: Ipv4Addr = Ipv4Addr::new(172, 31, 11, 250);
    const RA1_CORE: Ipv4Addr = Ipv4Addr::new(172, 31, 1, 1);

    struct Lab {
        e: Engine,
        now: Instant,
        a1: PeerId,
        a2: PeerId,
        a3: PeerId,
        rb1: PeerId,
        rc1: PeerId,
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn params(router_id: &str, local: Ipv4Addr, llgr: bool) -> llgr::SessionParams {
        llgr::SessionParams {
            router_id: Some(router_id.parse().unwrap()),
            local_address: Some(IpAddr::V4(local)),
            gr: Some(llgr::GrCapability {
                restart_time: 0,
                families: vec![llgr::GrFamily {
                    family: llgr::Family::Ipv4Unicast,
                    forwarding: true,
                }],
                ..Default::default()
            }),
            llgr: llgr.then(|| {
                vec![llgr::LlgrFamily {
                    family: llgr::Family::Ipv4Unicast,
                    forwarding: true,
                    stale_time: 3600,
                }]
            }),
        }
    }

    /// ra1 with a1, a2, rb1 Established and LLGR-capable; a3 configured, down.
    fn lab() -> Lab {
        let mut cfg = Config::new(RA1, 65001);
        let peer = |a: &str, asn| PeerConfig::new(ip(a), asn);
        let br0 = || Some((3, vec!["172.31.11.0/24".parse().unwrap()]));
        let core = Some((4, vec!["172.31.1.0/24".parse().unwrap()]));
        cfg.peers = vec![
            peer("172.31.11.1", 65001),
            peer("172.31.11.2", 65001),
            peer("172.31.11.3", 65001),
            peer("172.31.1.2", 65002),
            peer("172.31.1.3", 65003),
        ];
        let mut e = Engine::new(engine_config(
            &cfg,
            vec![IpAddr::V4(RA1), IpAddr::V4(RA1_CORE)],
        ));
        let a1 = e.add_peer(engine_peer(&cfg, &cfg.peers[0], br0()));
        let a2 = e.add_peer(engine_peer(&cfg, &cfg.peers[1], br0()));
        let a3 = e.add_peer(engine_peer(&cfg, &cfg.peers[2], br0()));
        let rb1 = e.add_peer(engine_peer(&cfg, &cfg.peers[3], core.clone()));
        let rc1 = e.add_peer(engine_peer(&cfg, &cfg.peers[4], core));
        let now = Instant::now();
        e.handle_session_up(now, a1, params("172.31.10.1", RA1, true));
        e.handle_session_up(now, a2, params("172.31.10.2", RA1, true));
        e.handle_session_up(now, rb1, params("172.31.21.250", RA1_CORE, true));
        e.handle_session_up(now, rc1, params("172.31.31.250", RA1_CORE, true));
        let _ = e.poll_rib_out();
        Lab {
            e,
            now,
            a1,
            a2,
            a3,
            rb1,
            rc1,
        }
    }

    impl Lab {
        fn receive(&mut self, from: PeerId, u: &Update) {
            let imp = import(u, from == self.rb1 || from == self.rc1);
            self.e
                .handle_update(self.now, from, &imp.announced, imp.attrs, &imp.withdrawn);
        }

        /// What each peer is sent, as UPDATEs.
        fn sent(&mut self) -> HashMap<PeerId, Vec<Update>> {
            let mut by: HashMap<PeerId, Vec<RibOutChange>> = HashMap::new();
            for c in self.e.poll_rib_out() {
                by.entry(c.peer).or_default().push(c);
            }
            by.into_iter()
                .map(|(p, c)| {
                    let (client, local) = if p == self.rb1 || p == self.rc1 {
                        (false, RA1_CORE)
                    } else {
                        (true, RA1)
                    };
                    (p, export(&c, client, Some(IpAddr::V4(local))))
                })
                .collect()
        }
    }

    fn empty_path() -> AttrValue {
        AttrValue::AsPath(AsPath {
            segments: Default::default(),
        })
    }

    /// a2's loopback as the node sends it (iBGP: empty AS_PATH, LOCAL_PREF 100).
    fn a2_loopback(med: Option<u32>) -> Update {
        let mut u = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(empty_path())
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)));
        if let Some(m) = med {
            u = u.with(AttrValue::MultiExitDisc(m));
        }
        u.with(AttrValue::LocalPref(100))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))])
    }

    // RFC 4456 §6 and §8: a client's route is reflected to the other clients
    // with NEXT_HOP and MED unchanged, ORIGINATOR_ID = the client's router id,
    // CLUSTER_LIST = [our cluster id]; never back to the client itself.
    #[test]
    fn rfc4456_s8_reflects_client_route_keeping_next_hop() {
        let mut l = lab();
        l.receive(l.a2, &a2_loopback(Some(50)));
        let sent = l.sent();
        let want = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(empty_path())
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
            .with(AttrValue::MultiExitDisc(50))
            .with(AttrValue::LocalPref(100))
            .with(AttrValue::OriginatorId(Ipv4Addr::new(172, 31, 10, 2)))
            .with(AttrValue::ClusterList(vec![RA1]))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]);
        assert_eq!(sent[&l.a1], vec![want]);
        assert!(
            !sent.contains_key(&l.a2),
            "not reflected back to its client"
        );
        assert!(!sent.contains_key(&l.a3), "a3 is down");
    }

    // RFC 4271 §5.1.2-§5.1.5 and RFC 4456 §8: towards the eBGP peer, our AS is
    // prepended, NEXT_HOP is our core address, and MED (from another AS's point
    // of view), LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are not sent.
    #[test]
    fn rfc4271_s5_1_ebgp_export_next_hop_self_prepend_strip() {
        let mut l = lab();
        l.receive(l.a2, &a2_loopback(Some(50)));
        let sent = l.sent();
        let want = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65001])))
            .with(AttrValue::NextHop(RA1_CORE))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]);
        assert_eq!(sent[&l.rb1], vec![want.clone()]);
        assert_eq!(sent[&l.rc1], vec![want]);
    }

    // The lab BIRD ToR's `next hop self ebgp` on client sessions: a route from
    // the other rack reaches the clients via the ToR itself, with LOCAL_PREF 100
    // (RFC 4271 §5.1.5: the received LOCAL_PREF is ignored), and the
    // ORIGINATOR_ID/CLUSTER_LIST an eBGP peer sent are discarded; not sent back
    // to the eBGP peer.
    #[test]
    fn ebgp_route_reaches_clients_with_next_hop_self() {
        let mut l = lab();
        let from_rb1 = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65002])))
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 1, 2)))
            .with(AttrValue::MultiExitDisc(7))
            .with(AttrValue::LocalPref(500))
            .with(AttrValue::OriginatorId(Ipv4Addr::new(9, 9, 9, 9)))
            .with(AttrValue::ClusterList(vec![Ipv4Addr::new(9, 9, 9, 9)]))
            .with_nlri([Nlri::new(pfx("172.31.20.1/32"))]);
        l.receive(l.rb1, &from_rb1);
        let sent = l.sent();
        let want = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65002])))
            .with(AttrValue::NextHop(RA1))
            .with(AttrValue::MultiExitDisc(7))
            .with(AttrValue::LocalPref(100))
            .with_nlri([Nlri::new(pfx("172.31.20.1/32"))]);
        assert_eq!(sent[&l.a1], vec![want.clone()]);
        assert_eq!(sent[&l.a2], vec![want]);
        assert!(!sent.contains_key(&l.rb1), "not sent back over eBGP");
        // No transit between racks: rc1 gets a withdrawal, never rack B's route.
        let withdraw = Update::new().with_withdrawn([Nlri::new(pfx("172.31.20.1/32"))]);
        assert_eq!(sent[&l.rc1], vec![withdraw]);
        // The kernel route goes via rb1's core address on the core link.
        assert_eq!(
            l.e.fib_route(&pfx("172.31.20.1/32")).as_deref(),
            Some(
                &[llgr::NextHop::Gateway {
                    gateway: ip("172.31.1.2"),
                    interface: Some(4),
                    peer: l.rb1,
                }][..]
            )
        );
    }

    // RFC 4456 §8: a route whose CLUSTER_LIST holds our cluster id, or whose
    // ORIGINATOR_ID is our router id, is a reflection loop: ignored.
    #[test]
    fn rfc4456_s8_rejects_own_cluster_id_and_originator_id() {
        let mut l = lab();
        let looped = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(empty_path())
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
            .with(AttrValue::ClusterList(vec![Ipv4Addr::new(1, 2, 3, 4), RA1]))
            .with_nlri([Nlri::new(pfx("10.244.18.0/26"))]);
        let mine = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(empty_path())
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
            .with(AttrValue::OriginatorId(RA1))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]);
        l.receive(l.a2, &looped);
        l.receive(l.a2, &mine);
        assert!(l.sent().is_empty());
        assert!(l.e.paths(&pfx("10.244.18.0/26")).is_empty());
        assert!(l.e.paths(&pfx("172.31.10.2/32")).is_empty());
    }

    // RFC 9494 §4.3: when a2's session is lost gracefully (GR time 0, LLGR), its
    // routes are re-advertised with LLGR_STALE (65535:6) to LLGR-capable peers
    // (a1, and rb1 over eBGP) and withdrawn from a peer without capability 71 (a3).
    #[test]
    fn rfc9494_s4_3_stale_routes_carry_llgr_stale_and_skip_unaware_peers() {
        let mut l = lab();
        l.e.handle_session_up(l.now, l.a3, params("172.31.10.3", RA1, false));
        l.receive(l.a2, &a2_loopback(None));
        let _ = l.sent();
        l.e.handle_session_down(l.now, l.a2, llgr::DownReason::DeclaredGraceful);
        let sent = l.sent();
        let stale = AttrValue::Communities(vec![Community(0xFFFF_0006)].into());
        let to_a1 = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(empty_path())
            .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 2)))
            .with(AttrValue::LocalPref(100))
            .with(stale.clone())
            .with(AttrValue::OriginatorId(Ipv4Addr::new(172, 31, 10, 2)))
            .with(AttrValue::ClusterList(vec![RA1]))
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]);
        let to_rb1 = Update::new()
            .with(AttrValue::Origin(Origin::IGP))
            .with(AttrValue::AsPath(AsPath::sequence([65001])))
            .with(AttrValue::NextHop(RA1_CORE))
            .with(stale)
            .with_nlri([Nlri::new(pfx("172.31.10.2/32"))]);
        let withdraw = Update::new().with_withdrawn([Nlri::new(pfx("172.31.10.2/32"))]);
        assert_eq!(sent[&l.a1], vec![to_a1]);
        assert_eq!(sent[&l.rb1], vec![to_rb1.clone()]);
        assert_eq!(sent[&l.rc1], vec![to_rb1]);
        assert_eq!(sent[&l.a3], vec![withdraw]);
        // Still installed: the stale path is the only one (a last resort).
        assert!(l.e.fib_route(&pfx("172.31.10.2/32")).is_some());
    }

    // The rules `outgoing` adds, alone: a route marked as learned over eBGP
    // goes to clients with next-hop-self and to no eBGP peer; others unchanged;
    // the marker never leaves.
    #[test]
    fn outgoing_marks_ebgp_learned_routes() {
        let reflected = PathAttrs {
            next_hop: Some(ip("172.31.11.2")),
            originator_id: Some(Ipv4Addr::new(172, 31, 10, 2)),
            ..Default::default()
        };
        let learned = PathAttrs {
            next_hop: Some(ip("172.31.1.2")),
            other: vec![ebgp_marker()],
            ..Default::default()
        };
        let me = Some(IpAddr::V4(RA1));
        assert_eq!(outgoing(&reflected, true, me), Some(reflected.clone()));
        assert_eq!(outgoing(&reflected, false, me), Some(reflected));
        let to_client = outgoing(&learned, true, me).unwrap();
        assert_eq!(to_client.next_hop, me);
        assert!(to_client.other.is_empty());
        assert_eq!(outgoing(&learned, false, me), None);
    }

    // A received attribute with the marker's type code is discarded, so a peer
    // cannot make us treat its routes as learned over eBGP.
    #[test]
    fn received_marker_code_is_discarded() {
        let u = a2_loopback(None).with_attribute(Attribute {
            flags: 0xC0,
            value: AttrValue::Raw {
                type_code: EBGP_LEARNED,
                value: bytes::Bytes::from_static(b"x"),
            },
        });
        assert!(import(&u, false).attrs.other.is_empty());
        assert_eq!(import(&u, true).attrs.other, vec![ebgp_marker()]);
    }

    // RFC 4724 §2: End-of-RIB is recognised, and carries no routes.
    #[test]
    fn rfc4724_s2_end_of_rib() {
        let i = import(&Update::end_of_rib(Family::IPV4_UNICAST), false);
        assert_eq!(i.end_of_rib, Some(llgr::Family::Ipv4Unicast));
        assert!(i.announced.is_empty() && i.withdrawn.is_empty());
    }
}
