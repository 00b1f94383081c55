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
