//! The harness's own lab tests: real namespaces, BIRD 2, FRR and GoBGP.
//!
//! Every test starts with `lab()`, which skips without root or a daemon (fails under
//! `DUALTOR_REQUIRE_LAB=1`) and serializes the tests of this binary. Expected routes
//! are written by hand from the guide's addressing scheme.

use std::time::{Duration, Instant};

use test_support::daemons::config::{Bfd, Neighbor, Router};
use test_support::daemons::{Bird, Frr, Gobgp};
use test_support::routes::Path;
use test_support::watch::RouteWatcher;
use test_support::{Need, Netns, Topology, TopologySpec, TorKind, faults, lab, veth};

type R = Result<(), Box<dyn std::error::Error>>;

/// Node a1's routes to every other node when both planes work (guide, "Verify the
/// deployment"), written out by hand. Same-rack routes: BIRD 2 with `gateway direct`
/// installs the reflected next hops (a2's plane addresses) where the guide's Calico
/// BIRD 1.6 shows `nexthop dev eth0 nexthop dev eth1`.
fn a1_expected_ecmp() -> Vec<(&'static str, Vec<Path>)> {
    let via_tors = || {
        vec![
            Path::via("172.31.11.250", "eth0"),
            Path::via("172.31.12.250", "eth1"),
        ]
    };
    let via_a2 = || {
        vec![
            Path::via("172.31.11.2", "eth0"),
            Path::via("172.31.12.2", "eth1"),
        ]
    };
    vec![
        ("172.31.20.1/32", via_tors()),
        ("172.31.20.2/32", via_tors()),
        ("10.244.33.0/26", via_tors()),
        ("10.244.34.0/26", via_tors()),
        ("172.31.10.2/32", via_a2()),
        ("10.244.18.0/26", via_a2()),
    ]
}

const RACK_B: [&str; 4] = [
    "172.31.20.1/32",
    "172.31.20.2/32",
    "10.244.33.0/26",
    "10.244.34.0/26",
];

fn assert_routes(ns: &Netns, expected: &[(&str, Vec<Path>)], proto: &str) -> R {
    let table = ns.sh("ip route")?;
    for (dst, paths) in expected {
        let r = ns
            .route(dst)?
            .unwrap_or_else(|| panic!("no route to {dst} in:\n{table}"));
        assert!(
            r.has_paths(paths),
            "{dst}: want {paths:?}, got {r}\n{table}"
        );
        assert_eq!(r.protocol, proto, "{dst}");
    }
    Ok(())
}

/// A failover that only changes a nexthop group's members (what dualtor does)
/// emits RTM_NEWNEXTHOP and, with `nexthop_compat_mode=0`, no route event at
/// all; the watcher still sees every route using the group go single-path.
#[test]
fn route_watcher_follows_nexthop_group_changes() -> R {
    let Some(_lab) = lab("route_watcher_follows_nexthop_group_changes", &[Need::Root]) else {
        return Ok(());
    };
    let a = Netns::new("nhw")?;
    let b = Netns::new("nhw")?;
    veth(&a, "eth0", &b, "eth0")?;
    veth(&a, "eth1", &b, "eth1")?;
    a.sh("ip addr add 172.31.11.1/24 dev eth0 && ip addr add 172.31.12.1/24 dev eth1")?;
    a.sysctl("net.ipv4.nexthop_compat_mode", "0")?;
    a.sh("ip nexthop add id 1 via 172.31.11.250 dev eth0 && \
         ip nexthop add id 2 via 172.31.12.250 dev eth1 && \
         ip nexthop add id 10 group 1/2 && \
         ip route add 10.244.33.0/26 nhid 10 proto 214 && \
         ip route add 172.31.20.1/32 nhid 10 proto 214")?;
    let both = [
        Path::via("172.31.11.250", "eth0"),
        Path::via("172.31.12.250", "eth1"),
    ];
    assert!(a.route("10.244.33.0/26")?.expect("route").has_paths(&both));
    let w = RouteWatcher::start(&a)?;
    let t0 = Instant::now();
    a.sh("ip nexthop replace id 10 group 2")?;
    let plane2 = [Path::via("172.31.12.250", "eth1")];
    for dst in ["10.244.33.0/26", "172.31.20.1/32"] {
        w.wait_for(dst, t0, Duration::from_secs(2), |r| {
            r.is_some_and(|r| r.has_paths(&plane2))
        })?;
        let ch = w.changes(dst);
        assert_eq!(ch.len(), 2, "{dst}: {ch:?}");
        assert!(ch[0].1.as_ref().is_some_and(|r| r.has_paths(&both)));
    }
    let t1 = Instant::now();
    a.sh("ip nexthop replace id 10 group 1/2")?;
    w.wait_for("172.31.20.1/32", t1, Duration::from_secs(2), |r| {
        r.is_some_and(|r| r.has_paths(&both))
    })?;
    Ok(())
}

#[test]
fn core_contract_smoke() -> R {
    let Some(_lab) = lab(
        "core_contract_smoke",
        &[Need::Root, Need::Bird, Need::Frr, Need::Gobgp],
    ) else {
        return Ok(());
    };
    let a = Netns::new("smk")?;
    let b = Netns::new("smk")?;
    let v = veth(&a, "eth0", &b, "eth0")?;
    assert_ne!(v.a_index, v.b_index, "lab.md pitfall 6");
    assert_eq!(a.ifindex("eth0")?, v.a_index);
    assert_eq!(b.ifindex("eth0")?, v.b_index);
    a.sh("ip addr add 10.99.0.1/24 dev eth0")?;
    b.addr_add("eth0", "10.99.0.2/24")?;
    // enter(): the closure sees the namespace's interfaces, not the test's.
    let inside = a.enter(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap());
    assert!(inside.contains("eth0:"), "{inside}");
    let bird = Bird::start_raw(
        &a,
        "router id 10.99.0.1;\nprotocol device {}\nprotocol bgp x { local 10.99.0.1 as 65001; neighbor 10.99.0.2 as 65002; ipv4 { import all; export all; }; }\n",
    )?;
    let p = bird.protocols()?;
    assert_eq!(
        p.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["device1", "x"]
    );
    let frr = Frr::start_raw(
        &b,
        &["bgpd", "bfdd"],
        "router bgp 65002\n bgp router-id 10.99.0.2\n no bgp ebgp-requires-policy\n neighbor 10.99.0.1 remote-as 65001\nexit\n",
    )?;
    let v = frr.vtysh_json("show bgp summary json")?;
    assert_eq!(v["ipv4Unicast"]["as"], 65002);
    assert_eq!(v["ipv4Unicast"]["routerId"], "10.99.0.2");
    let c = Netns::new("smk")?;
    let g = Gobgp::start_raw(
        &c,
        "[global.config]\n  as = 65003\n  router-id = \"10.99.1.1\"\n",
    )?;
    let gl = g.cli_json(&["global"])?;
    assert_eq!(gl["asn"], 65003, "{gl}");
    Ok(())
}

#[test]
fn guide_topology_bird_converges_to_guide_routes() -> R {
    let Some(_lab) = lab(
        "guide_topology_bird_converges_to_guide_routes",
        &[Need::Root, Need::Bird],
    ) else {
        return Ok(());
    };
    let t = Topology::build(TopologySpec::default())?;
    let took = t.wait_converged(Duration::from_secs(20))?;
    eprintln!("BIRD everywhere: full ECMP after {took:?}");
    let a1 = t.node(1, 1);
    assert_routes(a1, &a1_expected_ecmp(), "bird")?;
    // The guide's bootstrap routes stay, less specific.
    let own = a1
        .route("172.31.10.0/24")?
        .expect("own-rack bootstrap route");
    assert!(
        own.has_paths(&[Path::dev("eth0"), Path::dev("eth1")]),
        "{own}"
    );
    let other = a1.route("172.31.20.0/24")?.expect("rack B bootstrap route");
    assert!(
        other.has_paths(&[
            Path::via("172.31.11.250", "eth0"),
            Path::via("172.31.12.250", "eth1")
        ]),
        "{other}"
    );
    // NIC addresses are scope link, the loopback is on lo.
    let addrs = a1.sh("ip -4 -o addr show")?;
    assert!(
        addrs.contains("eth0    inet 172.31.11.1/24 scope link"),
        "{addrs}"
    );
    assert!(
        addrs.contains("eth1    inet 172.31.12.1/24 scope link"),
        "{addrs}"
    );
    assert!(
        addrs.contains("lo    inet 172.31.10.1/32 scope global"),
        "{addrs}"
    );
    assert_eq!(
        a1.sh("sysctl -n net.ipv4.fib_multipath_hash_policy")?
            .trim(),
        "1"
    );
    // BIRD's own view: both sessions up with BFD, LLGR negotiated.
    let bird = t.node_bird(1, 1).expect("BIRD on a1");
    let protos = bird.protocols()?;
    for tor in ["ra1", "ra2"] {
        let p = protos
            .iter()
            .find(|p| p.name == tor)
            .expect("session to ToR");
        assert!(p.is_established(), "{p:?}");
        let b = p.bgp.as_ref().expect("BGP details");
        assert_eq!(b.neighbor_as, Some(65001));
        assert_eq!(b.neighbor_ll_stale_time, Some(3600));
    }
    let mut bfd: Vec<(String, String, String)> = bird
        .bfd_sessions()?
        .into_iter()
        .map(|s| (s.address.to_string(), s.interface, s.state))
        .collect();
    bfd.sort();
    assert_eq!(
        bfd,
        [
            ("172.31.11.250".into(), "eth0".into(), "Up".into()),
            ("172.31.12.250".into(), "eth1".into(), "Up".into())
        ]
    );
    let r = bird.routes("for 172.31.20.1")?;
    assert_eq!(r.len(), 2);
    assert_eq!(
        r.iter().map(|r| r.as_path()).collect::<Vec<_>>(),
        [vec![65002], vec![65002]]
    );
    Ok(())
}

#[test]
fn plane1_core_link_down_makes_rack_b_single_path_and_repair_restores_ecmp() -> R {
    let Some(_lab) = lab(
        "plane1_core_link_down_makes_rack_b_single_path_and_repair_restores_ecmp",
        &[Need::Root, Need::Bird],
    ) else {
        return Ok(());
    };
    let t = Topology::build(TopologySpec::default())?;
    t.wait_converged(Duration::from_secs(20))?;
    let a1 = t.node(1, 1);
    let w = RouteWatcher::start(a1)?;
    let broke = Instant::now();
    let mut cut = faults::link_down(t.tor(1, 1), "core")?;
    for dst in RACK_B {
        w.wait_for(dst, broke, Duration::from_secs(5), |r| {
            r.is_some_and(|r| r.has_paths(&[Path::via("172.31.12.250", "eth1")]))
        })?;
    }
    let single = w
        .when_single_path("172.31.20.1/32", broke)
        .expect("seen single-path");
    eprintln!(
        "ra1-rb1 down: a1 single-path to rack B after {:?}",
        single - broke
    );
    assert_routes(
        a1,
        &RACK_B
            .iter()
            .map(|d| (*d, vec![Path::via("172.31.12.250", "eth1")]))
            .collect::<Vec<_>>(),
        "bird",
    )?;
    // Same rack is unaffected, and the static bootstrap route still (wrongly) says
    // ECMP, as the guide warns.
    assert_routes(a1, &a1_expected_ecmp()[4..], "bird")?;
    assert!(a1.route("172.31.20.0/24")?.expect("bootstrap").is_ecmp());

    let repaired = Instant::now();
    cut.repair()?;
    for dst in RACK_B {
        w.wait_for(dst, repaired, Duration::from_secs(15), |r| {
            r.is_some_and(|r| {
                r.has_paths(&[
                    Path::via("172.31.11.250", "eth0"),
                    Path::via("172.31.12.250", "eth1"),
                ])
            })
        })?;
    }
    let back = w.when_ecmp("172.31.20.1/32", repaired).expect("seen ECMP");
    eprintln!(
        "ra1-rb1 repaired: a1 ECMP again after {:?}",
        back - repaired
    );
    assert_routes(a1, &a1_expected_ecmp(), "bird")?;
    Ok(())
}

#[test]
fn silent_loss_on_a1_eth0_moves_a1_to_plane2() -> R {
    let Some(_lab) = lab(
        "silent_loss_on_a1_eth0_moves_a1_to_plane2",
        &[Need::Root, Need::Bird, Need::Nft],
    ) else {
        return Ok(());
    };
    let t = Topology::build(TopologySpec::default())?;
    t.wait_converged(Duration::from_secs(20))?;
    let a1 = t.node(1, 1);
    let w = RouteWatcher::start(a1)?;
    let start = Instant::now();
    let mut loss = faults::drop_all(a1, "eth0")?;
    // BFD 100 ms x 3 detects in ~300 ms; bound: detection + 1 s.
    let at = w.wait_for("172.31.20.1/32", start, Duration::from_millis(1300), |r| {
        r.is_some_and(|r| r.has_paths(&[Path::via("172.31.12.250", "eth1")]))
    })?;
    eprintln!("silent loss on a1 eth0: single-path after {:?}", at - start);
    w.wait_for("172.31.10.2/32", start, Duration::from_millis(1300), |r| {
        r.is_some_and(|r| r.has_paths(&[Path::via("172.31.12.2", "eth1")]))
    })?;
    // The carrier stayed up: only the nft table dropped traffic.
    assert!(a1.sh("ip link show eth0")?.contains("state UP"));
    let bfd = t.node_bird(1, 1).expect("BIRD").bfd_sessions()?;
    let s = bfd
        .iter()
        .find(|s| s.interface == "eth0")
        .expect("eth0 session");
    assert_eq!(s.state, "Down");
    let healed = Instant::now();
    loss.clear()?;
    w.wait_for("172.31.20.1/32", healed, Duration::from_secs(15), |r| {
        r.is_some_and(|r| r.is_ecmp())
    })?;
    Ok(())
}

#[test]
fn frr_tors_with_bird_nodes_converge_to_guide_routes() -> R {
    let Some(_lab) = lab(
        "frr_tors_with_bird_nodes_converge_to_guide_routes",
        &[Need::Root, Need::Bird, Need::Frr],
    ) else {
        return Ok(());
    };
    let t = Topology::build(TopologySpec {
        tor: TorKind::Frr,
        ..TopologySpec::default()
    })?;
    let took = t.wait_converged(Duration::from_secs(25))?;
    eprintln!("FRR ToRs: full ECMP after {took:?}");
    assert_routes(t.node(1, 1), &a1_expected_ecmp(), "bird")?;
    // The FRR ToRs advertise what the BIRD ToRs do (RFC 4724 §3 Restart Time 0,
    // RFC 9494 §3 LLST 3600) from their config files: a node keeps a failed ToR's
    // routes GR-stale for no time before LLGR demotes them.
    let protos = t.node_bird(1, 1).expect("BIRD on a1").protocols()?;
    for tor in ["ra1", "ra2"] {
        let p = protos
            .iter()
            .find(|p| p.name == tor)
            .expect("session to ToR");
        let b = p.bgp.as_ref().expect("BGP details");
        assert_eq!(
            (b.neighbor_restart_time, b.neighbor_ll_stale_time),
            (Some(0), Some(3600)),
            "{tor}: {b:?}"
        );
    }
    let frr = t.tor_frr(1, 1).expect("FRR on ra1");
    // The ToR-to-ToR BFD session is not part of the node-side convergence check.
    let deadline = Instant::now() + Duration::from_secs(5);
    let up = loop {
        let up: Vec<String> = frr
            .bfd_peers()?
            .into_iter()
            .filter(|p| p.status == "up")
            .map(|p| p.peer.to_string())
            .collect();
        if up.len() == 3 || Instant::now() > deadline {
            break up;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(up, ["172.31.1.2", "172.31.11.1", "172.31.11.2"]);
    Ok(())
}

#[test]
fn typed_config_bird_gobgp_and_frr_exchange_routes() -> R {
    let Some(_lab) = lab(
        "typed_config_bird_gobgp_and_frr_exchange_routes",
        &[Need::Root, Need::Bird, Need::Frr, Need::Gobgp],
    ) else {
        return Ok(());
    };
    // bird (AS 65001) -- gobgp (65002) -- frr (65003), MD5 on the first session.
    let (b, g, f) = (
        Netns::new("cfgb")?,
        Netns::new("cfgg")?,
        Netns::new("cfgf")?,
    );
    veth(&b, "eth0", &g, "eth0")?;
    veth(&g, "eth1", &f, "eth0")?;
    b.addr_add("eth0", "10.98.1.1/24")?;
    g.addr_add("eth0", "10.98.1.2/24")?;
    g.addr_add("eth1", "10.98.2.2/24")?;
    f.addr_add("eth0", "10.98.2.3/24")?;
    let ip = |s: &str| s.parse().unwrap();

    let mut rb = Router::new(ip("10.98.1.1"), 65001);
    rb.originate = vec!["10.200.1.0/24".parse()?];
    let mut n = Neighbor::new("gobgp", ip("10.98.1.2"), 65002);
    n.direct = true;
    n.password = Some("s3cret".into());
    n.connect_retry_time = Some(1);
    n.connect_delay_time = Some(1);
    rb.neighbors.push(n);

    let mut rg = Router::new(ip("10.98.1.2"), 65002);
    rg.originate = vec!["10.200.2.0/24".parse()?];
    let mut n = Neighbor::new("bird", ip("10.98.1.1"), 65001);
    n.password = Some("s3cret".into());
    n.connect_retry_time = Some(1);
    rg.neighbors.push(n);
    let mut n = Neighbor::new("frr", ip("10.98.2.3"), 65003);
    n.connect_retry_time = Some(1);
    rg.neighbors.push(n);

    let mut rf = Router::new(ip("10.98.2.3"), 65003);
    rf.originate = vec!["10.200.3.0/24".parse()?];
    let mut n = Neighbor::new("gobgp", ip("10.98.2.2"), 65002);
    n.direct = true;
    n.connect_retry_time = Some(1);
    n.bfd = Some(Bfd::with_interval(Duration::from_millis(100)));
    rf.neighbors.push(n);

    let bird = Bird::start(&b, &rb)?;
    let gobgp = Gobgp::start(&g, &rg)?;
    let frr = Frr::start(&f, &rf)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bird_has = b.route("10.200.3.0/24")?.is_some();
        let frr_has = f.route("10.200.1.0/24")?.is_some();
        if bird_has && frr_has {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no full exchange: bird {}\nfrr {}\ngobgp {}",
            b.sh("ip route")?,
            f.sh("ip route")?,
            gobgp.cli(&["neighbor"])?
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // BIRD learned GoBGP's and FRR's prefixes through GoBGP, with the AS path.
    let r = bird.routes("for 10.200.3.0/24")?;
    assert_eq!(r[0].as_path(), vec![65002, 65003]);
    assert_eq!(
        b.route("10.200.2.0/24")?.expect("gobgp's prefix").paths,
        vec![Path::via("10.98.1.2", "eth0")]
    );
    // GoBGP sees both neighbours established, and all three prefixes.
    let neigh = gobgp.neighbors()?;
    let got: Vec<(String, Option<u32>, String)> = neigh
        .iter()
        .map(|n| (n.address.to_string(), n.peer_as, n.state.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "10.98.1.1".to_owned(),
                Some(65001),
                "established".to_owned()
            ),
            (
                "10.98.2.3".to_owned(),
                Some(65003),
                "established".to_owned()
            )
        ]
    );
    let rib: Vec<(String, Vec<u32>)> = gobgp
        .rib()?
        .into_iter()
        .filter(|p| p.best)
        .map(|p| (p.prefix.to_string(), p.as_path))
        .collect();
    assert_eq!(
        rib,
        [
            ("10.200.1.0/24".to_owned(), vec![65001]),
            ("10.200.2.0/24".to_owned(), vec![]),
            ("10.200.3.0/24".to_owned(), vec![65003])
        ]
    );
    // FRR: the route from BIRD via GoBGP, with its AS path and next hop.
    let routes = frr.bgp_routes()?;
    let p = routes
        .iter()
        .find(|p| p.prefix.to_string() == "10.200.1.0/24")
        .expect("BIRD's prefix at FRR");
    assert_eq!(p.as_path, [65002, 65001]);
    assert_eq!(p.next_hops, [ip("10.98.2.2")]);
    let bfd = frr.bfd_peers()?;
    assert_eq!(bfd.len(), 1);
    assert_eq!(bfd[0].peer, ip("10.98.2.2"));
    Ok(())
}

#[test]
fn harness_cleans_up_after_a_failing_test() -> R {
    let Some(_lab) = lab(
        "harness_cleans_up_after_a_failing_test",
        &[Need::Root, Need::Bird, Need::Frr, Need::Nft],
    ) else {
        return Ok(());
    };
    let seen = std::sync::Mutex::new((Vec::<String>::new(), Vec::<u32>::new(), String::new()));
    let stray_child = std::sync::Mutex::new(None::<std::process::Child>);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let a = Netns::new("boom").unwrap();
        let b = Netns::new("boom").unwrap();
        veth(&a, "eth0", &b, "eth0").unwrap();
        let bird = Bird::start_raw(&a, "router id 1.1.1.1;\nprotocol device {}\n").unwrap();
        let frr = Frr::start_raw(&b, &["bgpd"], "router bgp 65001\nexit\n").unwrap();
        let _loss = faults::drop_all(&a, "eth0").unwrap();
        // A stray process the test started inside the namespace, not tracked by anyone.
        let stray = a.cmd("sleep").arg("600").spawn().unwrap();
        let mut s = seen.lock().unwrap();
        s.0 = vec![a.name().to_owned(), b.name().to_owned()];
        s.1 = vec![bird.pid().unwrap(), stray.id()];
        s.1.extend(frr.pids().into_iter().map(|(_, p)| p));
        s.2 = format!("/var/run/frr/{}", frr.pathspace());
        drop(s);
        *stray_child.lock().unwrap() = Some(stray);
        panic!("deliberate failure inside a lab test");
    }));
    let payload = result.expect_err("the lab test body must panic");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"deliberate failure inside a lab test")
    );
    let (names, pids, rundir) = seen.into_inner().unwrap();
    assert_eq!(names.len(), 2);
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()?;
    let list = String::from_utf8(list.stdout)?;
    for n in &names {
        assert!(
            !list.lines().any(|l| l.split_whitespace().next() == Some(n)),
            "{n} left in:\n{list}"
        );
    }
    for p in pids {
        // Killed processes may linger as zombies of this test only if nobody reaped
        // them; the harness reaps what it spawned, the stray one is reaped by init
        // or is a zombie child of ours: either way it is not running.
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("gone");
        assert!(
            state == "gone" || state == "Z",
            "pid {p} still running: {stat}"
        );
    }
    assert!(
        !std::path::Path::new(&rundir).exists(),
        "{rundir} left behind"
    );
    Ok(())
}

#[test]
fn probe_reports_exactly_the_packets_lost_to_an_nft_drop() -> R {
    use test_support::probe::Probe;
    let Some(_lab) = lab(
        "probe_reports_exactly_the_packets_lost_to_an_nft_drop",
        &[Need::Root, Need::Nft],
    ) else {
        return Ok(());
    };
    let (a, b) = (Netns::new("prb")?, Netns::new("prb")?);
    veth(&a, "eth0", &b, "eth0")?;
    a.addr_add("eth0", "10.97.0.1/24")?;
    b.addr_add("eth0", "10.97.0.2/24")?;
    let ip = |s: &str| s.parse().unwrap();
    let p = Probe::start(&a, ip("10.97.0.1"), &b, ip("10.97.0.2"), 1000)?;
    std::thread::sleep(Duration::from_millis(300));
    let loss = faults::drop_all(&b, "eth0")?;
    let dropped_at = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    drop(loss);
    let healed_at = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let r = p.stop();
    assert!(r.sent >= 800, "{r:?}");
    assert_eq!(r.duplicates, 0);
    assert_eq!(r.received + r.lost.len() as u64, r.sent);
    // One outage, as long as the drop (300 ms at 1 ms per datagram, give or take the
    // time nft takes to load and the ARP entry that stays valid).
    let outages = r.outages();
    assert_eq!(outages.len(), 1, "{outages:?}");
    let (first, n) = outages[0];
    assert!((250..=450).contains(&n), "lost {n} in a row");
    assert!(
        r.sent_at(first) + Duration::from_millis(50) >= dropped_at,
        "loss began before the drop"
    );
    assert!(
        r.sent_at(first + n - 1) <= healed_at + Duration::from_millis(50),
        "loss outlived the drop"
    );
    eprintln!(
        "probe: sent {}, lost {} in one run, longest outage {:?}",
        r.sent,
        r.lost.len(),
        r.longest_outage()
    );
    Ok(())
}

#[test]
fn pcap_writer_output_decodes_as_bgp_in_tshark() -> R {
    use test_support::pcap::{LinkType, PcapWriter, TcpFlow};
    let Some(_lab) = lab(
        "pcap_writer_output_decodes_as_bgp_in_tshark",
        &[Need::Tshark],
    ) else {
        return Ok(());
    };
    // RFC 4271 §4.2 OPEN: version 4, AS 65001, hold 90, BGP ID 10.0.0.1, no options.
    let mut open = vec![0xff; 16];
    open.extend_from_slice(&[0, 29, 1, 4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 0]);
    // RFC 4271 §4.4 KEEPALIVE.
    let mut keepalive = vec![0xff; 16];
    keepalive.extend_from_slice(&[0, 19, 4]);
    let dir = tempfile::tempdir()?;
    for link in [LinkType::Ethernet, LinkType::RawIp] {
        let path = dir.path().join(format!("{link:?}.pcap"));
        let mut w = PcapWriter::new(std::fs::File::create(&path)?, link)?;
        let mut flow = TcpFlow::new("10.0.0.1:40000".parse()?, "10.0.0.2:179".parse()?);
        w.write_tcp(Duration::from_secs(1_700_000_000), &mut flow, true, &open)?;
        w.write_tcp(
            Duration::from_secs(1_700_000_001),
            &mut flow,
            false,
            &keepalive,
        )?;
        w.into_inner()?;
        let out = std::process::Command::new(test_support::which("tshark").expect("tshark"))
            .arg("-r")
            .arg(&path)
            .args([
                "-o",
                "tcp.check_checksum:TRUE",
                "-T",
                "fields",
                "-E",
                "separator=,",
            ])
            .args([
                "-e",
                "ip.src",
                "-e",
                "tcp.checksum.status",
                "-e",
                "bgp.type",
                "-e",
                "bgp.open.myas",
            ])
            .output()?;
        let text = String::from_utf8(out.stdout)?;
        assert_eq!(
            text,
            "10.0.0.1,1,1,65001\n10.0.0.2,1,4,\n",
            "{link:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

#[test]
fn sweep_removes_namespaces_of_dead_test_processes_only() -> R {
    let Some(_lab) = lab(
        "sweep_removes_namespaces_of_dead_test_processes_only",
        &[Need::Root],
    ) else {
        return Ok(());
    };
    let live = Netns::new("swp")?;
    let orphan = Netns::new("swp")?;
    let mut inside = orphan.cmd("sleep").arg("600").spawn()?;
    // Pretend its owner died: a PID that has exited, and no Drop.
    let mut gone = std::process::Command::new("true").spawn()?;
    let dead_pid = gone.id();
    gone.wait()?;
    std::fs::write(
        std::path::Path::new(test_support::REGISTRY).join(orphan.name()),
        dead_pid.to_string(),
    )?;
    let orphan_name = orphan.name().to_owned();
    std::mem::forget(orphan);

    let swept = test_support::sweep_stale();
    assert!(swept.contains(&orphan_name), "{swept:?}");
    assert!(
        !swept.iter().any(|s| s == live.name()),
        "swept a live namespace: {swept:?}"
    );
    let list = String::from_utf8(
        std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()?
            .stdout,
    )?;
    assert!(
        !list
            .lines()
            .any(|l| l.starts_with(&format!("{orphan_name} ")))
            && !list.lines().any(|l| l == orphan_name)
    );
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().next() == Some(live.name())),
        "{list}"
    );
    assert!(!inside.wait()?.success(), "the process inside was killed");
    Ok(())
}

#[test]
fn node_command_runs_inside_each_node_and_three_racks_converge() -> R {
    let Some(_lab) = lab(
        "node_command_runs_inside_each_node_and_three_racks_converge",
        &[Need::Root, Need::Bird],
    ) else {
        return Ok(());
    };
    // 3 racks x 1 node: the core is a per-plane spine bridge; BIRD on the ToRs, a
    // command on the nodes (as the dualtor node daemon will be started), then BIRD
    // started per node through `spawn_on_nodes` to check convergence.
    let spec = TopologySpec {
        racks: 3,
        nodes_per_rack: 1,
        tor: TorKind::Bird,
        node: test_support::NodeKind::Command(std::sync::Arc::new(
            |n: &test_support::topology::Node| {
                let mut c = n.ns.cmd("sh");
                c.args([
                    "-c",
                    &format!("echo {} > /dev/null; exec sleep 600", n.name),
                ]);
                c
            },
        )),
    };
    let mut t = Topology::build(spec)?;
    let c1 = t.node(3, 1);
    assert_eq!(
        c1.sh("ip -4 -o addr show dev eth1")?
            .split_whitespace()
            .nth(3),
        Some("172.31.32.1/24")
    );
    assert_eq!(t.tor_info(3, 2).core_addr.to_string(), "172.31.2.3");
    let pids = t.node(2, 1).pids()?;
    assert_eq!(pids.len(), 1, "the node command runs inside b1: {pids:?}");
    // Replace the commands by BIRD configured as calico-node.
    let cfgs: Vec<String> = t
        .nodes()
        .iter()
        .map(|n| test_support::daemons::config::to_bird(&t.node_router(n.rack, n.index)))
        .collect();
    let dirs: Vec<tempfile::TempDir> = cfgs
        .iter()
        .map(|c| {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("bird.conf"), c).unwrap();
            d
        })
        .collect();
    let mut i = 0;
    t.spawn_on_nodes(|n| {
        let d = dirs[i].path();
        i += 1;
        let mut c = n.ns.cmd("bird");
        c.arg("-f")
            .arg("-c")
            .arg(d.join("bird.conf"))
            .arg("-s")
            .arg(d.join("ctl"))
            .arg("-P")
            .arg(d.join("pid"));
        c
    })?;
    assert_eq!(t.node(2, 1).pids()?.len(), 1, "the old command was stopped");
    let took = t.wait_converged(Duration::from_secs(20))?;
    eprintln!("3 racks: converged after {took:?}");
    let a1 = t.node(1, 1);
    let via_tors = vec![
        Path::via("172.31.11.250", "eth0"),
        Path::via("172.31.12.250", "eth1"),
    ];
    assert_routes(
        a1,
        &[
            ("172.31.20.1/32", via_tors.clone()),
            ("172.31.30.1/32", via_tors.clone()),
            ("10.244.33.0/26", via_tors.clone()),
            ("10.244.49.0/26", via_tors.clone()),
        ],
        "bird",
    )?;
    let boot = a1
        .route("172.31.30.0/24")?
        .expect("bootstrap route to rack C");
    assert!(boot.has_paths(&via_tors));
    drop(t);
    drop(dirs);
    Ok(())
}

#[test]
fn killing_and_restarting_a_tor_daemon() -> R {
    use test_support::topology::Daemon;
    let Some(_lab) = lab(
        "killing_and_restarting_a_tor_daemon",
        &[Need::Root, Need::Bird],
    ) else {
        return Ok(());
    };
    let mut t = Topology::build(TopologySpec::default())?;
    t.wait_converged(Duration::from_secs(20))?;
    let w = RouteWatcher::start(t.node(1, 1))?;
    let killed = Instant::now();
    let Daemon::Bird(ra1) = t.tor_daemon(1, 1) else {
        panic!("BIRD on ra1")
    };
    ra1.kill();
    assert_eq!(ra1.pid(), None);
    // The kernel closes the dead BIRD's TCP sessions and its BFD stops: whichever a1's
    // BIRD sees first decides whether ra1's paths are kept as LLGR-stale (session
    // closed, RFC 9494) or withdrawn (BFD Down with `bfd on`: hard reset). Either way
    // plane 2 is the only installed path.
    let at = w.wait_for("172.31.20.1/32", killed, Duration::from_secs(2), |r| {
        r.is_some_and(|r| r.has_paths(&[Path::via("172.31.12.250", "eth1")]))
    })?;
    eprintln!("ra1's BIRD killed: a1 single-path after {:?}", at - killed);
    let stale = t
        .node_bird(1, 1)
        .expect("BIRD on a1")
        .routes("for 172.31.20.1")?;
    let via_ra1 = stale.iter().find(|r| r.protocol == "ra1");
    if let Some(r) = via_ra1 {
        assert!(r.stale && r.is_llgr_stale() && !r.primary, "{r:?}");
        assert_eq!(r.communities(), [(65535, 6)]);
    }
    let restarted = Instant::now();
    let Daemon::Bird(ra1) = t.tor_daemon(1, 1) else {
        panic!("BIRD on ra1")
    };
    ra1.restart()?;
    assert!(ra1.pid().is_some());
    w.wait_for("172.31.20.1/32", restarted, Duration::from_secs(15), |r| {
        r.is_some_and(|r| r.is_ecmp())
    })?;
    t.wait_converged(Duration::from_secs(5))?;
    Ok(())
}

#[test]
fn every_option_renders_to_configs_the_daemons_accept() -> R {
    use test_support::daemons::config::{
        self, Gateway, GracefulRestart, Llgr, NextHop, Policy, to_bird, to_frr, to_gobgp,
    };
    let Some(_lab) = lab(
        "every_option_renders_to_configs_the_daemons_accept",
        &[Need::Bird, Need::Frr, Need::Gobgp],
    ) else {
        return Ok(());
    };
    let ip = |s: &str| s.parse().unwrap();
    let mut r = Router::new(ip("10.0.0.1"), 65001);
    r.originate = vec!["10.1.0.0/24".parse()?, "10.2.0.1/32".parse()?];
    let policies = [Policy::All, Policy::None, Policy::Originated];
    let hops = [
        NextHop::Default,
        NextHop::Self_,
        NextHop::Keep,
        NextHop::KeepIbgpSelfEbgp,
    ];
    let gws = [Gateway::Default, Gateway::Direct, Gateway::Recursive];
    for i in 0..12u8 {
        let ibgp = i % 2 == 0;
        let mut n = Neighbor::new(
            &format!("p{i}"),
            ip(&format!("10.0.{i}.2")),
            if ibgp { 65001 } else { 65100 + u32::from(i) },
        );
        n.direct = i % 4 < 2;
        n.bfd = (i % 3 != 2).then(|| Bfd {
            graceful: i % 2 == 0,
            ..Bfd::with_interval(Duration::from_millis(50))
        });
        // BIRD: multihop with BFD needs the local address (lab.md pitfall 3).
        let multihop = ibgp || !n.direct;
        n.local_addr =
            (i % 3 == 0 || (multihop && n.bfd.is_some())).then(|| ip(&format!("10.0.{i}.1")));
        n.hold_time = (i % 5 == 0).then_some(9);
        n.graceful_restart = (i % 3 == 1).then_some(GracefulRestart { restart_time: 120 });
        n.llgr = (i % 2 == 1).then_some(Llgr { stale_time: 3600 });
        n.rr_client = ibgp && i % 4 == 0;
        n.next_hop = hops[usize::from(i) % 4];
        n.gateway = if multihop {
            Gateway::Recursive
        } else {
            gws[usize::from(i) % 3]
        };
        n.password = (i % 4 == 3).then(|| format!("secret{i}"));
        n.import = policies[usize::from(i) % 3];
        n.export = policies[usize::from(i / 3) % 3];
        n.passive = i == 5;
        n.connect_retry_time = Some(1);
        n.connect_delay_time = Some(1);
        n.error_wait_time = Some((1, 2));
        r.neighbors.push(n);
    }
    config::validate_bird(&to_bird(&r))?;
    config::validate_frr(&to_frr(&r))?;
    config::validate_gobgp(&to_gobgp(&r))?;
    // And a config error is reported as such.
    let e = config::validate_bird("protocol bgp x { nonsense; }").unwrap_err();
    assert!(matches!(e, test_support::Error::Command { .. }), "{e}");
    Ok(())
}
