//! `demo::routes_to` (the rtnetlink read the failover benchmark polls) returns
//! exactly what `Netns::routes` (`ip -j route` + `ip -j nexthop`) returns for
//! the wanted destinations, and both equal hand-written routes: single-path,
//! two metrics on one prefix, weighted multipath with a preferred source, a
//! device route, routes on a nexthop object and a nexthop group (with
//! `nexthop_compat_mode` 0 and 1), a blackhole, and an absent prefix, among
//! 20,000 (then 40,000) filler /32s. Lab test: skips without root, except
//! under `DUALTOR_REQUIRE_LAB=1`. Prints both read times; asserts none.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use examples::demo::routes_to;
use ipnet::{IpNet, Ipv4Net};
use test_support::routes::{Path, Route};
use test_support::{Need, Netns, lab};

static LOCK: Mutex<()> = Mutex::new(());

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn route(dst: &str, protocol: &str, metric: u32, paths: Vec<Path>) -> Route {
    Route {
        dst: net(dst),
        kind: "unicast".into(),
        table: "main".into(),
        protocol: protocol.into(),
        scope: "universe".into(),
        prefsrc: None,
        metric,
        nhid: None,
        paths,
    }
}

fn weighted(mut p: Path, weight: u32) -> Path {
    p.weight = weight;
    p
}

/// The routes the setup below installs, written from the `ip` commands.
fn expected() -> Vec<Route> {
    let eth0 = || Path::via("10.98.0.2", "eth0");
    let eth1 = || Path::via("10.98.1.2", "eth1");
    vec![
        route("10.200.0.1/32", "bird", 20, vec![eth0()]),
        route("10.200.0.1/32", "static", 50, vec![eth1()]),
        Route {
            prefsrc: Some(IpAddr::from([10, 98, 0, 1])),
            ..route(
                "10.200.0.2/32",
                "214",
                0,
                vec![weighted(eth0(), 1), weighted(eth1(), 3)],
            )
        },
        Route {
            scope: "link".into(),
            ..route("10.200.0.3/32", "static", 0, vec![Path::dev("eth1")])
        },
        Route {
            nhid: Some(10),
            ..route("10.200.1.0/26", "214", 0, vec![eth0(), eth1()])
        },
        Route {
            nhid: Some(1),
            ..route("10.200.1.64/26", "214", 0, vec![eth0()])
        },
        Route {
            kind: "blackhole".into(),
            ..route("10.200.2.0/26", "bird", 0, vec![])
        },
    ]
}

fn wanted() -> Vec<Ipv4Net> {
    [
        "10.200.0.1/32",
        "10.200.0.2/32",
        "10.200.0.3/32",
        "10.200.1.0/26",
        "10.200.1.64/26",
        "10.200.2.0/26",
        // Absent: neither reader may invent it.
        "10.200.9.9/32",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn sorted(mut v: Vec<Route>) -> Vec<Route> {
    v.sort_by_key(|a| (a.dst, a.metric));
    v
}

/// `n` filler /32s `10.<hi>.x.y` via eth0, installed with one `ip -batch`.
fn add_filler(ns: &Netns, hi: u8, n: u32) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for i in 0..n {
        writeln!(
            f,
            "route add 10.{hi}.{}.{}/32 via 10.98.0.2 dev eth0 proto bird",
            i / 256,
            i % 256
        )
        .unwrap();
    }
    f.flush().unwrap();
    ns.sh(&format!("ip -batch {}", f.path().display())).unwrap();
}

/// Both reads, compared with each other and with `expected()`; their times.
fn check(ns: &Netns) -> (Duration, Duration) {
    let want = wanted();
    let t = Instant::now();
    let nl = routes_to(ns, &want).expect("netlink read");
    let t_nl = t.elapsed();
    let t = Instant::now();
    let ip: Vec<Route> = ns
        .routes()
        .expect("ip route read")
        .into_iter()
        .filter(|r| matches!(r.dst, IpNet::V4(d) if want.contains(&d)))
        .collect();
    let t_ip = t.elapsed();
    assert_eq!(nl, ip, "netlink and ip reads differ");
    assert_eq!(sorted(nl), expected());
    (t_nl, t_ip)
}

#[test]
fn netlink_read_equals_ip_read() {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("route_poll_netlink_equals_ip", &[Need::Root]) else {
        return;
    };
    let a = Netns::new("poll").unwrap();
    let b = Netns::new("poll").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    test_support::veth(&a, "eth1", &b, "eth1").unwrap();
    a.sh("ip link set lo up
         ip addr add 10.98.0.1/24 dev eth0
         ip addr add 10.98.1.1/24 dev eth1
         ip route add 10.200.0.1/32 via 10.98.0.2 dev eth0 proto bird metric 20
         ip route add 10.200.0.1/32 via 10.98.1.2 dev eth1 proto static metric 50
         ip route add 10.200.0.2/32 src 10.98.0.1 proto 214 \
            nexthop via 10.98.0.2 dev eth0 weight 1 nexthop via 10.98.1.2 dev eth1 weight 3
         ip route add 10.200.0.3/32 dev eth1 proto static scope link
         ip nexthop add id 1 via 10.98.0.2 dev eth0
         ip nexthop add id 2 via 10.98.1.2 dev eth1
         ip nexthop add id 10 group 1/2
         ip route add 10.200.1.0/26 nhid 10 proto 214
         ip route add 10.200.1.64/26 nhid 1 proto 214
         ip route add blackhole 10.200.2.0/26 proto bird")
        .unwrap();
    b.sh("ip addr add 10.98.0.2/24 dev eth0; ip addr add 10.98.1.2/24 dev eth1")
        .unwrap();
    add_filler(&a, 201, 20_000);
    // Mode 0: routes on nexthop objects carry only their nhid, so both
    // readers resolve them from the objects; mode 1: the kernel expands them.
    for mode in ["0", "1"] {
        a.sysctl("net.ipv4.nexthop_compat_mode", mode).unwrap();
        check(&a);
    }
    for (label, filler) in [("20,000", None), ("40,000", Some(202))] {
        if let Some(hi) = filler {
            add_filler(&a, hi, 20_000);
        }
        let times: Vec<(Duration, Duration)> = (0..5).map(|_| check(&a)).collect();
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e3
        };
        println!(
            "read of ~{label} routes (median of 5): netlink {:.1} ms, ip -j route {:.1} ms",
            median(times.iter().map(|t| t.0).collect()),
            median(times.iter().map(|t| t.1).collect()),
        );
    }
}
