//! Small API-level checks that do not need a step-file scenario.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use llgr::*;

fn t0() -> Instant {
    // The epoch of virtual time; the engine never reads the clock.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

fn tor(e: &mut Engine, i: u8) -> PeerId {
    let mut p = Peer::new(
        IpAddr::V4(Ipv4Addr::new(172, 31, 10 + i, 250)),
        65010 + u32::from(i),
        Ipv4Addr::new(172, 31, 10 + i, 250),
    );
    p.interface = Some(u32::from(i) + 1);
    p.connected = vec![format!("172.31.{}.0/24", 10 + i).parse().unwrap()];
    p.gateway_mode = GatewayMode::Direct;
    p.llgr = true;
    e.add_peer(p)
}

fn params(rt: u16, llst: Option<u32>) -> SessionParams {
    SessionParams {
        local_address: Some(IpAddr::V4(Ipv4Addr::new(172, 31, 11, 2))),
        gr: Some(GrCapability {
            restart_time: rt,
            families: vec![GrFamily {
                family: Family::Ipv4Unicast,
                forwarding: true,
            }],
            ..Default::default()
        }),
        llgr: llst.map(|st| {
            vec![LlgrFamily {
                family: Family::Ipv4Unicast,
                forwarding: true,
                stale_time: st,
            }]
        }),
        ..Default::default()
    }
}

fn route(nh: &str) -> PathAttrs {
    PathAttrs {
        as_path: vec![AsSegment::Sequence(vec![65011])],
        next_hop: Some(nh.parse().unwrap()),
        ..Default::default()
    }
}

// RFC 4724 §4.2 / RFC 9494 §4.2: the next deadline is the restart timer, then the LLST.
#[test]
fn poll_timeout_follows_gr_then_llgr() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let p = tor(&mut e, 1);
    let t = t0();
    assert_eq!(e.poll_timeout(), None);
    e.handle_session_up(t, p, params(30, Some(600)));
    e.handle_update(
        t,
        p,
        &[("10.1.0.0/24".parse().unwrap(), PathId(0))],
        route("172.31.11.250"),
        &[],
    );
    e.handle_session_down(t, p, DownReason::TransportFailure);
    assert_eq!(e.poll_timeout(), Some(t + Duration::from_secs(30)));
    assert_eq!(
        e.timer(p, Timer::GrRestart),
        Some(t + Duration::from_secs(30))
    );
    e.handle_timeout(t + Duration::from_secs(30));
    assert_eq!(e.poll_timeout(), Some(t + Duration::from_secs(630)));
    assert_eq!(
        e.timer(p, Timer::LlgrStale(Family::Ipv4Unicast)),
        Some(t + Duration::from_secs(630))
    );
    let paths = e.paths(&"10.1.0.0/24".parse().unwrap());
    assert_eq!(paths.len(), 1);
    assert!(paths[0].stale && paths[0].llgr_stale);
}

#[test]
fn time_going_backwards_is_counted_not_fatal() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let p = tor(&mut e, 1);
    let t = t0() + Duration::from_secs(100);
    e.handle_session_up(t, p, params(30, None));
    e.handle_timeout(t - Duration::from_secs(10));
    assert_eq!(e.stats().time_went_backwards, 1);
}

// Calico `communities`: attached to what we originate; RFC 4271 §5.1.2: our AS prepended
// towards eBGP; §5.1.3 NEXT_HOP self (the session's local address).
#[test]
fn originated_routes_carry_their_communities() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let p = tor(&mut e, 1);
    let block = "10.244.0.0/26".parse().unwrap();
    e.originate(
        block,
        LocalRoute {
            blackhole: true,
            communities: vec![(64512 << 16) | 100],
            ..Default::default()
        },
    );
    e.handle_session_up(t0(), p, params(30, None));
    let out = e.poll_rib_out();
    assert_eq!(out.len(), 1);
    let a = out[0].attrs.as_ref().unwrap();
    assert_eq!(a.communities, vec![(64512 << 16) | 100]);
    assert_eq!(a.as_path, vec![AsSegment::Sequence(vec![64512])]);
    assert_eq!(a.next_hop, Some(IpAddr::V4(Ipv4Addr::new(172, 31, 11, 2))));
    assert_eq!(e.adj_rib_out(p, &block).as_deref(), Some(a.as_ref()));
    assert_eq!(
        e.fib_route(&block).as_deref(),
        Some(&[NextHop::Blackhole][..])
    );
}

// Coalescing: a burst of changes to one prefix yields one route change when polled.
#[test]
fn burst_is_coalesced() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let p = tor(&mut e, 1);
    let t = t0();
    e.handle_session_up(t, p, params(30, None));
    let pfx = "10.1.0.0/24".parse().unwrap();
    for nh in ["172.31.11.3", "172.31.11.4", "172.31.11.5"] {
        e.handle_update(t, p, &[(pfx, PathId(0))], route(nh), &[]);
    }
    let out = e.poll_fib();
    let routes: Vec<_> = out
        .iter()
        .filter(|c| matches!(c, FibChange::Route { .. }))
        .collect();
    assert_eq!(routes.len(), 1);
    let groups: Vec<_> = out
        .iter()
        .filter(|c| matches!(c, FibChange::GroupAdded { .. }))
        .collect();
    assert_eq!(
        groups.len(),
        1,
        "groups created and dropped within the burst are not announced"
    );
    assert_eq!(
        e.fib_route(&pfx).as_deref(),
        Some(
            &[NextHop::Gateway {
                gateway: "172.31.11.5".parse().unwrap(),
                interface: Some(2),
                peer: p
            }][..]
        )
    );
}

// RFC 4271 §9.1.2.1: a route's usability and IGP cost follow the route its next hop resolves
// through. An IGP change re-resolves only the path sets whose next hop the changed prefix
// covers (issue #6: no re-evaluation of every path set), and other prefixes see no output.
#[test]
fn igp_change_reevaluates_only_path_sets_using_that_next_hop() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let rr = e.add_peer(Peer::new(
        "10.0.0.250".parse().unwrap(),
        65000,
        Ipv4Addr::new(10, 0, 0, 250),
    ));
    let t = t0();
    e.handle_session_up(t, rr, SessionParams::default());
    let via = |gw: &str| IgpRoute {
        metric: 10,
        nexthops: vec![(Some(gw.parse().unwrap()), 2)],
    };
    e.set_igp_route("192.0.2.0/24".parse().unwrap(), Some(via("172.31.11.1")));
    e.set_igp_route("198.51.100.0/24".parse().unwrap(), Some(via("172.31.11.1")));
    let a: ipnet::IpNet = "10.1.0.0/24".parse().unwrap();
    e.handle_update(t, rr, &[(a, PathId(0))], route("192.0.2.9"), &[]);
    let others: Vec<(ipnet::IpNet, PathId)> = (0..100u32)
        .map(|i| {
            let net = ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a02_0000 + (i << 8)), 24).unwrap();
            (ipnet::IpNet::V4(net), PathId(0))
        })
        .collect();
    e.handle_update(t, rr, &others, route("198.51.100.9"), &[]);
    let _ = e.poll_fib();
    let gw = |g: &str| NextHop::Gateway {
        gateway: g.parse().unwrap(),
        interface: Some(2),
        peer: rr,
    };
    assert_eq!(e.fib_route(&a).as_deref(), Some(&[gw("172.31.11.1")][..]));

    // The route covering a's next hop moves: one path set evaluated, one route change.
    let before = e.evaluations();
    e.set_igp_route("192.0.2.0/24".parse().unwrap(), Some(via("172.31.11.9")));
    assert_eq!(e.evaluations() - before, 1);
    let out = e.poll_fib();
    let FibChange::GroupAdded { id, nexthops } = &out[0] else {
        panic!("expected a new group first: {out:?}");
    };
    assert_eq!(&**nexthops, &[gw("172.31.11.9")][..]);
    assert_eq!(
        out[1..],
        [FibChange::Route {
            prefix: a,
            group: Some(*id)
        }]
    );

    // A route no next hop uses, and an interface no next hop is on: no evaluation at all.
    let before = e.evaluations();
    e.set_igp_route("203.0.113.0/24".parse().unwrap(), Some(via("172.31.11.1")));
    e.set_connected(7, vec!["203.0.113.0/24".parse().unwrap()]);
    assert_eq!(e.evaluations(), before);
    assert_eq!(e.poll_fib(), vec![]);

    // The route under the other 100 prefixes goes away: they become unresolvable
    // (RFC 4271 §9.1.2.1) in one evaluation of their shared path set; a is untouched.
    let before = e.evaluations();
    e.set_igp_route("198.51.100.0/24".parse().unwrap(), None);
    assert_eq!(e.evaluations() - before, 1);
    let out = e.poll_fib();
    let removed: Vec<ipnet::IpNet> = out
        .iter()
        .filter_map(|c| match c {
            FibChange::Route {
                prefix,
                group: None,
            } => Some(*prefix),
            _ => None,
        })
        .collect();
    assert_eq!(removed.len(), 100);
    assert!(others.iter().all(|(p, _)| removed.contains(p)));
    assert!(matches!(out.last(), Some(FibChange::GroupRemoved { .. })));
    assert_eq!(out.len(), 101);
    assert_eq!(e.fib_route(&a).as_deref(), Some(&[gw("172.31.11.9")][..]));
}

/// A route-reflector client that negotiated ADD-PATH send for IPv4 (RFC 7911 §4).
fn add_path_client(e: &mut Engine, t: Instant, llgr_capable: bool) -> PeerId {
    let mut c = Peer::new(
        "10.0.0.9".parse().unwrap(),
        64512,
        Ipv4Addr::new(10, 0, 0, 9),
    );
    c.internal = true;
    c.rr_client = true;
    c.export = ExportPolicy::Transit;
    let c = e.add_peer(c);
    let mut params = params(0, llgr_capable.then_some(0));
    params.local_address = Some("10.0.0.1".parse().unwrap());
    e.handle_session_up(t, c, params);
    e.set_add_path_send(c, &[Family::Ipv4Unicast]);
    c
}

// RFC 7911 §3: with ADD-PATH each path is advertised under its own Path Identifier, and
// a later advertisement with the same identifier replaces that path only (implicit
// withdraw); the identifier of a path does not change while the path exists, so a change
// of one ToR's path never touches the other's. RFC 9494 §4.3: a path that became
// LLGR-stale is withdrawn from a peer without capability 71, path by path.
#[test]
fn rfc7911_s3_add_path_ids_stay_stable_across_changes() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let (t1, t2) = (tor(&mut e, 1), tor(&mut e, 2));
    let t = t0();
    e.handle_session_up(t, t1, params(0, Some(3600)));
    e.handle_session_up(t, t2, params(0, Some(3600)));
    let client = add_path_client(&mut e, t, false);
    let pfx: ipnet::IpNet = "10.1.0.0/24".parse().unwrap();
    e.handle_update(t, t1, &[(pfx, PathId(0))], route("172.31.11.3"), &[]);
    e.handle_update(t, t2, &[(pfx, PathId(0))], route("172.31.12.3"), &[]);

    // Both paths, each with its own identifier; nothing on the single-path channel.
    let out = e.poll_rib_out_paths();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|c| c.peer == client && c.prefix == pfx));
    let nh = |c: &RibOutPath| c.attrs.as_ref().unwrap().next_hop.unwrap().to_string();
    let id1 = out.iter().find(|c| nh(c) == "172.31.11.3").unwrap().path_id;
    let id2 = out.iter().find(|c| nh(c) == "172.31.12.3").unwrap().path_id;
    assert_ne!(id1, id2);
    // RFC 4271 §5.1.5 / RFC 4456: towards an iBGP client, LOCAL_PREF is set and the
    // next hop is kept (no next-hop-self towards iBGP in Auto mode).
    assert!(
        out.iter()
            .all(|c| c.attrs.as_ref().unwrap().local_pref == Some(100))
    );
    assert_eq!(e.poll_rib_out(), vec![]);
    assert_eq!(e.adj_rib_out_paths(client, &pfx).len(), 2);

    // tor1's path changes: the same identifier is re-announced, tor2's is untouched.
    let mut a = route("172.31.11.3");
    a.med = Some(7);
    e.handle_update(t, t1, &[(pfx, PathId(0))], a, &[]);
    let out = e.poll_rib_out_paths();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].path_id, id1);
    assert_eq!(out[0].attrs.as_ref().unwrap().med, Some(7));

    // tor2 withdraws: only its identifier is withdrawn.
    e.handle_update(t, t2, &[], PathAttrs::default(), &[(pfx, PathId(0))]);
    assert_eq!(
        e.poll_rib_out_paths(),
        vec![RibOutPath {
            peer: client,
            prefix: pfx,
            path_id: id2,
            attrs: None
        }]
    );
    // ... and gets the same identifier back when it re-announces.
    e.handle_update(t, t2, &[(pfx, PathId(0))], route("172.31.12.3"), &[]);
    let out = e.poll_rib_out_paths();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].path_id, id2);

    // tor1 drops under LLGR (restart time 0): its path is LLGR-stale, and the client did
    // not send capability 71, so exactly that path is withdrawn (RFC 9494 §4.3).
    e.handle_session_down(t, t1, DownReason::DeclaredGraceful);
    assert_eq!(
        e.poll_rib_out_paths(),
        vec![RibOutPath {
            peer: client,
            prefix: pfx,
            path_id: id1,
            attrs: None
        }]
    );
}

// RFC 7911 §3 with RFC 9494 §4.3: an LLGR-capable ADD-PATH peer keeps receiving the
// stale path, now carrying LLGR_STALE, under the same identifier.
#[test]
fn rfc7911_s3_add_path_stale_path_keeps_its_id_with_llgr_stale() {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let (t1, t2) = (tor(&mut e, 1), tor(&mut e, 2));
    let t = t0();
    e.handle_session_up(t, t1, params(0, Some(3600)));
    e.handle_session_up(t, t2, params(0, Some(3600)));
    let client = add_path_client(&mut e, t, true);
    let pfx: ipnet::IpNet = "10.1.0.0/24".parse().unwrap();
    e.handle_update(t, t1, &[(pfx, PathId(0))], route("172.31.11.3"), &[]);
    e.handle_update(t, t2, &[(pfx, PathId(0))], route("172.31.12.3"), &[]);
    let _ = e.poll_rib_out_paths();
    let before = e.adj_rib_out_paths(client, &pfx);
    assert_eq!(before.len(), 2);
    e.handle_session_down(t, t1, DownReason::DeclaredGraceful);
    let out = e.poll_rib_out_paths();
    assert_eq!(out.len(), 1, "{out:?}");
    let id1 = before
        .iter()
        .find(|(_, a)| a.next_hop == Some("172.31.11.3".parse().unwrap()))
        .unwrap()
        .0;
    assert_eq!(out[0].path_id, id1);
    assert!(out[0].attrs.as_ref().unwrap().has_community(LLGR_STALE));
}
