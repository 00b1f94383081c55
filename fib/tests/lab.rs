//! Lab tests against the real kernel, in namespaces created by test-support.
//! One file, run serially (a static lock). Skip without root unless
//! `DUALTOR_REQUIRE_LAB=1`.
//!
//! Topology: `node` (lo 10.0.0.1/32, fd00::1/128; eth0 172.31.11.1/24,
//! fd00:11::1/64; eth1 172.31.12.1/24, fd00:12::1/64) <-veth-> `tor`
//! (eth0 172.31.11.250, fd00:11::fe; eth1 172.31.12.250, fd00:12::fe).
//! The guide's static bootstrap route `172.31.10.0/24 nexthop dev eth0
//! nexthop dev eth1` must survive every test.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fib::{
    Config, Event, Failure, Fib, GroupId, Monitor, MonitorConfig, Nexthop, NexthopGroup, Op, Style,
    Target,
};
use ipnet::IpNet;
use serde_json::Value;
use test_support::{Need, Netns, lab, veth};

static LOCK: Mutex<()> = Mutex::new(());

struct Lab {
    node: Netns,
    tor: Netns,
    eth0: u32,
    eth1: u32,
}

const BOOTSTRAP: &str = "172.31.10.0/24 proto boot nexthop dev eth0 nexthop dev eth1";

fn setup() -> Lab {
    let node = Netns::new("fibn").unwrap();
    let tor = Netns::new("fibt").unwrap();
    let v0 = veth(&node, "eth0", &tor, "eth0").unwrap();
    let v1 = veth(&node, "eth1", &tor, "eth1").unwrap();
    node.sh(
        "set -e; ip link set lo up; ip addr add 10.0.0.1/32 dev lo; ip addr add fd00::1/128 dev lo; \
         ip addr add 172.31.11.1/24 dev eth0; ip addr add 172.31.12.1/24 dev eth1; \
         ip addr add fd00:11::1/64 dev eth0 nodad; ip addr add fd00:12::1/64 dev eth1 nodad; \
         sysctl -qw net.ipv6.conf.eth0.keep_addr_on_down=1 net.ipv6.conf.eth1.keep_addr_on_down=1",
    )
    .unwrap();
    node.sh(&format!("ip route add {BOOTSTRAP}")).unwrap();
    tor.sh(
        "set -e; ip link set lo up; ip addr add 172.31.11.250/24 dev eth0; ip addr add 172.31.12.250/24 dev eth1; \
         ip addr add fd00:11::fe/64 dev eth0 nodad; ip addr add fd00:12::fe/64 dev eth1 nodad",
    )
    .unwrap();
    Lab {
        node,
        tor,
        eth0: v0.a_index,
        eth1: v1.a_index,
    }
}

fn cfg(objects: bool) -> Config {
    Config {
        prefsrc_v4: Some("10.0.0.1".parse().unwrap()),
        prefsrc_v6: Some("fd00::1".parse().unwrap()),
        nexthop_objects: objects,
        compat_mode: Some(false),
        multipath_hash_l4: true,
        ignore_linkdown: vec!["eth0".into(), "eth1".into()],
        ..Config::default()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

const PLANES: GroupId = GroupId(1);
const DEVS: GroupId = GroupId(2);

fn planes(l: &Lab, p1: bool, p2: bool) -> NexthopGroup {
    let mut v = Vec::new();
    if p1 {
        v.push(Nexthop::via(ip("172.31.11.250"), l.eth0));
        v.push(Nexthop::via(ip("fd00:11::fe"), l.eth0));
    }
    if p2 {
        v.push(Nexthop::via(ip("172.31.12.250"), l.eth1));
        v.push(Nexthop::via(ip("fd00:12::fe"), l.eth1));
    }
    NexthopGroup::ecmp(v)
}

fn json(ns: &Netns, cmd: &str) -> Vec<Value> {
    let out = ns.sh(cmd).unwrap();
    if out.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `dst -> sorted list of "gateway@dev"` for our routes, as `ip -j route` reports.
/// Routes on nexthop objects are resolved through `ip -j nexthop show`
/// (with compat mode 0 `ip route` shows only `nhid N`).
fn our_routes(ns: &Netns, v6: bool) -> Vec<(String, Vec<String>, String)> {
    let fam = if v6 { "-6" } else { "-4" };
    let nhs = json(ns, "ip -j nexthop show");
    let nh = |id: u64| {
        nhs.iter()
            .find(|n| n["id"].as_u64() == Some(id))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let hop = |h: &Value| {
        format!(
            "{}@{}",
            h["gateway"].as_str().unwrap_or("-"),
            h["dev"].as_str().unwrap_or("-")
        )
    };
    let mut v: Vec<_> = json(ns, &format!("ip {fam} -j route show proto 214"))
        .into_iter()
        .map(|r| {
            let dst = r["dst"].as_str().unwrap().to_owned();
            let mut hops: Vec<String> = if let Some(id) = r["nhid"].as_u64() {
                let g = nh(id);
                match g["group"].as_array() {
                    Some(m) => m
                        .iter()
                        .map(|e| hop(&nh(e["id"].as_u64().unwrap())))
                        .collect(),
                    None => vec![hop(&g)],
                }
            } else if let Some(m) = r["nexthops"].as_array() {
                m.iter()
                    .map(|h| {
                        format!(
                            "{}@{}",
                            h["gateway"].as_str().unwrap_or("-"),
                            h["dev"].as_str().unwrap_or("-")
                        )
                    })
                    .collect()
            } else if r["type"].as_str() == Some("blackhole") {
                vec!["blackhole".into()]
            } else {
                vec![format!(
                    "{}@{}",
                    r["gateway"].as_str().unwrap_or("-"),
                    r["dev"].as_str().unwrap_or("-")
                )]
            };
            hops.sort();
            let how = if let Some(id) = r["nhid"].as_u64() {
                format!("nhid {id}")
            } else {
                "legacy".into()
            };
            (dst, hops, how)
        })
        .collect();
    v.sort();
    v
}

fn route_src(ns: &Netns, dst: &str) -> String {
    let r = json(ns, &format!("ip -j route get {dst}"));
    r[0]["prefsrc"]
        .as_str()
        .or(r[0]["src"].as_str())
        .unwrap_or("")
        .to_owned()
}

fn bootstrap_intact(ns: &Netns) {
    let r = json(ns, "ip -4 -j route show 172.31.10.0/24");
    assert_eq!(r.len(), 1, "bootstrap route must survive: {r:?}");
    assert!(
        r[0]["protocol"].is_null(),
        "proto boot (iproute2 omits it): {r:?}"
    );
    let devs: BTreeSet<&str> = r[0]["nexthops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["dev"].as_str().unwrap())
        .collect();
    assert_eq!(devs, BTreeSet::from(["eth0", "eth1"]));
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn install_failover_delete(l: &Lab, objects: bool) {
    let mut fib = l.node.enter(|| Fib::open(cfg(objects))).unwrap();
    let st = fib.status();
    assert_eq!(
        st.style,
        if objects {
            Style::NexthopObjects
        } else {
            Style::Legacy
        }
    );
    assert_eq!(st.hash_policy, (Some(1), Some(1)));
    if objects {
        assert_eq!(st.compat_mode, Some(0));
    }
    fib.set_group(PLANES, planes(l, true, true));
    fib.set_group(
        DEVS,
        NexthopGroup::ecmp([Nexthop::dev(l.eth0), Nexthop::dev(l.eth1)]),
    );
    fib.set_route(net("172.31.10.2/32"), Target::Group(PLANES));
    fib.set_route(net("172.31.10.3/32"), Target::Group(DEVS));
    fib.set_route(net("10.2.0.0/26"), Target::Blackhole);
    fib.set_route(net("fd00:10::2/128"), Target::Group(PLANES));
    fib.set_route(net("fd00:10::3/128"), Target::Group(DEVS));
    let rep = fib.commit().unwrap();
    if objects {
        assert_eq!(rep.errors, vec![]);
        assert_eq!(rep.created, 5);
    } else {
        // linux-fib.md: IPv6 rejects dev-only RTA_MULTIPATH; reported per route,
        // the rest of the batch is installed.
        assert_eq!(rep.created, 4);
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(rep.errors[0].op, Op::CreateRoute(net("fd00:10::3/128")));
        assert!(matches!(
            rep.errors[0].failure,
            Failure::Build(fib::BuildError::V6DevOnlyMultipath(_))
        ));
    }
    let v4 = our_routes(&l.node, false);
    let how = |r: &(String, Vec<String>, String)| {
        r.2.starts_with(if objects { "nhid" } else { "legacy" })
    };
    assert_eq!(
        v4.iter()
            .map(|r| (r.0.clone(), r.1.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("10.2.0.0/26".into(), s(&["blackhole"])),
            (
                "172.31.10.2".into(),
                s(&["172.31.11.250@eth0", "172.31.12.250@eth1"])
            ),
            ("172.31.10.3".into(), s(&["-@eth0", "-@eth1"])),
        ]
    );
    assert!(how(&v4[1]) && how(&v4[2]), "{v4:?}");
    let v6 = our_routes(&l.node, true);
    let mut want6 = vec![(
        "fd00:10::2".to_string(),
        s(&["fd00:11::fe@eth0", "fd00:12::fe@eth1"]),
    )];
    if objects {
        want6.push(("fd00:10::3".into(), s(&["-@eth0", "-@eth1"])));
    }
    assert_eq!(
        v6.iter()
            .map(|r| (r.0.clone(), r.1.clone()))
            .collect::<Vec<_>>(),
        want6
    );
    // The loopback is the source in ECMP state (RTA_PREFSRC on every route).
    for dst in ["172.31.10.2", "172.31.10.3"] {
        assert_eq!(route_src(&l.node, dst), "10.0.0.1", "{dst}");
    }
    assert_eq!(route_src(&l.node, "fd00:10::2"), "fd00::1");
    if objects {
        let nh = json(&l.node, "ip -j nexthop show");
        assert!(nh.iter().all(|n| n["protocol"] == "214"), "{nh:?}");
        assert_eq!(
            nh.iter().filter(|n| n["group"].is_array()).count(),
            4,
            "{nh:?}"
        );
    }

    // Failover to plane 2: one group replace per family (objects), or every
    // route of the group replaced (legacy).
    fib.set_group(PLANES, planes(l, false, true));
    fib.set_group(DEVS, NexthopGroup::ecmp([Nexthop::dev(l.eth1)]));
    let rep = fib.commit().unwrap();
    assert_eq!(rep.errors, vec![]);
    if objects {
        assert_eq!((rep.created, rep.replaced, rep.deleted), (0, 0, 0));
        // One replace per group and family, nothing else: the unused plane-1
        // members are swept by a later commit.
        assert_eq!(rep.nexthop_messages, 4);
    } else {
        assert_eq!(rep.replaced, 3);
    }
    let v4 = our_routes(&l.node, false);
    assert_eq!(v4[1].1, s(&["172.31.12.250@eth1"]));
    assert_eq!(v4[2].1, s(&["-@eth1"]));
    assert_eq!(our_routes(&l.node, true)[0].1, s(&["fd00:12::fe@eth1"]));
    // Single-path state keeps the loopback source too.
    for dst in ["172.31.10.2", "172.31.10.3"] {
        assert_eq!(route_src(&l.node, dst), "10.0.0.1", "{dst}");
    }
    assert_eq!(route_src(&l.node, "fd00:10::2"), "fd00::1");
    // And back.
    fib.set_group(PLANES, planes(l, true, true));
    fib.set_group(
        DEVS,
        NexthopGroup::ecmp([Nexthop::dev(l.eth0), Nexthop::dev(l.eth1)]),
    );
    let rep = fib.commit().unwrap();
    if objects {
        assert_eq!(rep.errors, vec![]);
    } else {
        // The IPv6 dev-only route could go single-path (dev eth1) but not back
        // to dev-only multipath: reported, and the single path keeps forwarding.
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(rep.errors[0].op, Op::ReplaceRoute(net("fd00:10::3/128")));
        assert_eq!(our_routes(&l.node, true)[1].1, s(&["-@eth1"]));
    }
    assert_eq!(
        our_routes(&l.node, false)[1].1,
        s(&["172.31.11.250@eth0", "172.31.12.250@eth1"])
    );

    // The kernel's view through the read API matches.
    let kr = fib.kernel_routes().unwrap();
    let kp: BTreeSet<IpNet> = kr.iter().map(|r| r.prefix).collect();
    let want: BTreeSet<IpNet> = [
        "172.31.10.2/32",
        "172.31.10.3/32",
        "10.2.0.0/26",
        "fd00:10::2/128",
        "fd00:10::3/128",
    ]
    .into_iter()
    .map(net)
    .collect();
    assert_eq!(kp, want);

    // Delete everything; objects go too; bootstrap stays.
    for p in want {
        fib.remove_route(p);
    }
    fib.remove_group(PLANES);
    fib.remove_group(DEVS);
    let rep = fib.commit().unwrap();
    assert_eq!(rep.errors, vec![]);
    assert_eq!(our_routes(&l.node, false), vec![]);
    assert_eq!(our_routes(&l.node, true), vec![]);
    assert_eq!(json(&l.node, "ip -j nexthop show"), Vec::<Value>::new());
    bootstrap_intact(&l.node);
}

#[test]
fn nexthop_objects_install_failover_delete_v4_v6() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_nexthop_objects_install_failover_delete", &[Need::Root]) else {
        return;
    };
    let l = setup();
    install_failover_delete(&l, true);
}

#[test]
fn legacy_multipath_install_failover_delete_v4_v6() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_legacy_install_failover_delete", &[Need::Root]) else {
        return;
    };
    let l = setup();
    install_failover_delete(&l, false);
    // ignore_routes_with_linkdown is set on the plane interfaces in legacy style.
    assert_eq!(
        l.node
            .sh("sysctl -n net.ipv4.conf.eth0.ignore_routes_with_linkdown")
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(
        l.node
            .sh("sysctl -n net.ipv6.conf.eth1.ignore_routes_with_linkdown")
            .unwrap()
            .trim(),
        "1"
    );
}

#[test]
fn foreign_route_with_our_key_is_never_overwritten() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_foreign_route_not_overwritten", &[Need::Root]) else {
        return;
    };
    let l = setup();
    // Another owner uses our metric for a prefix we also want (linux-fib.md:
    // an IPv4 REPLACE would overwrite it whatever its protocol).
    l.node
        .sh("ip route add 10.9.0.0/24 via 172.31.11.250 proto static metric 20")
        .unwrap();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    fib.set_route(net("10.9.0.0/24"), Target::Blackhole);
    fib.set_route(net("10.9.1.0/24"), Target::Blackhole);
    let rep = fib.commit().unwrap();
    assert_eq!(rep.created, 1);
    assert_eq!(rep.errors.len(), 1);
    assert_eq!(rep.errors[0].op, Op::CreateRoute(net("10.9.0.0/24")));
    assert!(matches!(&rep.errors[0].failure, Failure::Kernel(e) if e.errno == libc_eexist()));
    let r = json(&l.node, "ip -4 -j route show 10.9.0.0/24");
    assert_eq!(
        (r[0]["protocol"].as_str(), r[0]["gateway"].as_str()),
        (Some("static"), Some("172.31.11.250"))
    );
    // Deleting our routes never touches theirs.
    fib.remove_route(net("10.9.0.0/24"));
    fib.remove_route(net("10.9.1.0/24"));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    assert_eq!(json(&l.node, "ip -4 -j route show 10.9.0.0/24").len(), 1);
    bootstrap_intact(&l.node);
}

fn libc_eexist() -> i32 {
    17
}

#[test]
fn carrier_loss_is_reported_and_flushed_nexthops_are_restored() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_carrier_loss_restore", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    let mut mon = l
        .node
        .enter(|| Monitor::open(MonitorConfig::default()))
        .unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    fib.set_route(net("172.31.10.2/32"), Target::Group(PLANES));
    fib.set_route(net("fd00:10::2/128"), Target::Group(PLANES));
    assert_eq!(fib.commit().unwrap().errors, vec![]);

    // Carrier loss on eth0: the ToR end goes down.
    let t0 = Instant::now();
    l.tor.sh("ip link set eth0 down").unwrap();
    let mut seen = None;
    while t0.elapsed() < Duration::from_secs(2) && seen.is_none() {
        for ev in mon.recv(Duration::from_millis(100)).unwrap() {
            if matches!(ev, Event::Link { ifindex, carrier: false, .. } if ifindex == l.eth0) {
                seen = Some(t0.elapsed());
            }
            fib.handle_event(&ev);
        }
    }
    let detect = seen.expect("carrier loss on eth0 reported");
    eprintln!("carrier loss reported after {:?}", detect);
    assert!(detect < Duration::from_millis(1000));
    // The kernel flushed our eth0 nexthop objects; the group shrank to plane 2.
    assert_eq!(our_routes(&l.node, false)[0].1, s(&["172.31.12.250@eth1"]));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    assert_eq!(our_routes(&l.node, false)[0].1, s(&["172.31.12.250@eth1"]));

    // Carrier back: the crate recreates the members and restores the group.
    l.tor.sh("ip link set eth0 up").unwrap();
    let t1 = Instant::now();
    let mut repaired = false;
    while t1.elapsed() < Duration::from_secs(3) && !repaired {
        for ev in mon.recv(Duration::from_millis(100)).unwrap() {
            fib.handle_event(&ev);
        }
        assert_eq!(fib.commit().unwrap().errors, vec![]);
        repaired =
            our_routes(&l.node, false)[0].1 == s(&["172.31.11.250@eth0", "172.31.12.250@eth1"]);
    }
    assert!(repaired, "{:?}", our_routes(&l.node, false));
    assert_eq!(
        our_routes(&l.node, true)[0].1,
        s(&["fd00:11::fe@eth0", "fd00:12::fe@eth1"])
    );
    assert_eq!(route_src(&l.node, "172.31.10.2"), "10.0.0.1");
    bootstrap_intact(&l.node);
}

#[test]
fn admin_link_down_drops_our_routes_and_link_up_restores_them() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_link_down_restore", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    let mut mon = l
        .node
        .enter(|| Monitor::open(MonitorConfig::default()))
        .unwrap();
    fib.set_group(DEVS, NexthopGroup::ecmp([Nexthop::dev(l.eth0)]));
    fib.set_route(net("172.31.10.4/32"), Target::Group(DEVS));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    // The group's only member is flushed with the link: the kernel deletes the
    // group and every route on it.
    l.node.sh("ip link set eth0 down").unwrap();
    for ev in mon.recv(Duration::from_millis(500)).unwrap() {
        fib.handle_event(&ev);
    }
    assert_eq!(our_routes(&l.node, false), vec![]);
    l.node.sh("ip link set eth0 up").unwrap();
    let t = Instant::now();
    let mut ok = false;
    while t.elapsed() < Duration::from_secs(3) && !ok {
        for ev in mon.recv(Duration::from_millis(100)).unwrap() {
            fib.handle_event(&ev);
        }
        assert_eq!(fib.commit().unwrap().errors, vec![]);
        ok = our_routes(&l.node, false).len() == 1;
    }
    assert!(ok, "route restored on link up");
    assert_eq!(our_routes(&l.node, false)[0].1, s(&["-@eth0"]));
    bootstrap_intact(&l.node);
}

#[test]
fn route_deleted_by_someone_else_is_repaired() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_foreign_delete_repaired", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    let mut mon = l
        .node
        .enter(|| {
            Monitor::open(MonitorConfig {
                routes: true,
                ..Default::default()
            })
        })
        .unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    fib.set_route(net("172.31.10.5/32"), Target::Group(PLANES));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    while !mon.recv(Duration::from_millis(50)).unwrap().is_empty() {}
    l.node
        .sh("ip route del 172.31.10.5/32 proto 214 metric 20")
        .unwrap();
    let mut need = false;
    let t = Instant::now();
    while !need && t.elapsed() < Duration::from_secs(2) {
        for ev in mon.recv(Duration::from_millis(100)).unwrap() {
            need |= fib.handle_event(&ev);
        }
    }
    assert!(need, "route deletion detected");
    let rep = fib.commit().unwrap();
    assert_eq!(rep.created, 1);
    assert_eq!(our_routes(&l.node, false).len(), 1);
}

#[test]
fn restart_reconciles_without_removing_a_desired_route() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_restart_reconcile", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let prefixes: Vec<IpNet> = (0..300u32)
        .map(|i| net(&format!("10.50.{}.{}/32", i / 250, i % 250 + 1)))
        .collect();
    let desire = |fib: &mut Fib, n: usize| {
        fib.set_group(PLANES, planes(&l, true, true));
        for p in &prefixes[..n] {
            fib.set_route(*p, Target::Group(PLANES));
        }
    };
    {
        let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
        desire(&mut fib, 300);
        let rep = fib.commit().unwrap();
        assert_eq!((rep.created, rep.errors.len()), (300, 0));
    } // "crash": the programmer goes away, its routes stay.

    // Poller: no desired prefix may disappear at any moment of the restart.
    let stop = AtomicBool::new(false);
    let missing = std::thread::scope(|sc| {
        let poll = sc.spawn(|| {
            let mut missing = BTreeSet::new();
            let mut polls = 0;
            while !stop.load(Ordering::Relaxed) {
                let have: BTreeSet<String> = json(&l.node, "ip -4 -j route show proto 214")
                    .iter()
                    .map(|r| r["dst"].as_str().unwrap().to_owned())
                    .collect();
                for p in &prefixes[..250] {
                    if !have.contains(&p.addr().to_string()) {
                        missing.insert(*p);
                    }
                }
                polls += 1;
            }
            (missing, polls)
        });
        let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
        assert_eq!(fib.installed_len(), 300);
        // The new run wants only the first 250.
        desire(&mut fib, 250);
        let rep = fib.commit().unwrap();
        // The identical group is adopted: nothing to change, nothing removed yet.
        assert_eq!(
            (rep.created, rep.replaced, rep.deleted, rep.errors.len()),
            (0, 0, 0, 0),
            "{rep:?}"
        );
        assert_eq!(
            our_routes(&l.node, false).len(),
            300,
            "stale routes keep forwarding until complete()"
        );
        let rep = fib.complete().unwrap();
        assert_eq!((rep.deleted, rep.errors.len()), (50, 0));
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        poll.join().unwrap()
    });
    assert!(missing.1 > 0);
    assert_eq!(
        missing.0,
        BTreeSet::new(),
        "desired prefixes vanished during restart"
    );
    assert_eq!(our_routes(&l.node, false).len(), 250);
    bootstrap_intact(&l.node);
}

#[test]
fn monitor_overflow_triggers_a_full_resync_without_changes() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_monitor_overflow_resync", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    // A deliberately tiny receive buffer, subscribed to route events.
    let small = fib::SocketConfig {
        rcvbuf: 4096,
        sndbuf: 1 << 20,
        batch_bytes: 64 << 10,
    };
    let mut mon = l
        .node
        .enter(|| {
            Monitor::open(MonitorConfig {
                routes: true,
                socket: small,
            })
        })
        .unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    for i in 0..3000u32 {
        fib.set_route(
            net(&format!("10.60.{}.{}/32", i / 250, i % 250 + 1)),
            Target::Group(PLANES),
        );
    }
    assert_eq!(fib.commit().unwrap().created, 3000);
    let mut overflow = false;
    for _ in 0..50 {
        let evs = mon.recv(Duration::from_millis(20)).unwrap();
        if evs.contains(&Event::Overflow) {
            overflow = true;
            assert!(fib.handle_event(&Event::Overflow));
            break;
        }
    }
    assert!(
        overflow,
        "3000 route events overflow a 4 KiB monitor buffer"
    );
    // Someone deletes one of our routes while events are lost: the re-dump
    // finds it missing and the diff re-creates exactly that one.
    l.node
        .sh("ip route del 10.60.0.7/32 proto 214 metric 20")
        .unwrap();
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors.len()),
        (1, 0, 0, 0)
    );
    assert_eq!(our_routes(&l.node, false).len(), 3000);
}

#[test]
fn resilient_groups_when_configured() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_resilient_groups", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let res = fib::Resilient {
        buckets: 32,
        idle_timer: 1000,
        unbalanced_timer: 0,
    };
    let mut fib = l
        .node
        .enter(|| {
            Fib::open(Config {
                resilient: Some(res),
                ..cfg(true)
            })
        })
        .unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    fib.set_route(net("172.31.10.9/32"), Target::Group(PLANES));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    let nh = json(&l.node, "ip -j nexthop show");
    let g: Vec<&Value> = nh.iter().filter(|n| n["group"].is_array()).collect();
    assert_eq!(g.len(), 1, "{nh:?}");
    assert_eq!(g[0]["type"], "resilient");
    assert_eq!(g[0]["resilient_args"]["buckets"], 32);
    // Failover keeps the group id (routes untouched) and its type.
    fib.set_group(PLANES, planes(&l, false, true));
    let rep = fib.commit().unwrap();
    assert_eq!((rep.errors.len(), rep.replaced), (0, 0));
    assert_eq!(our_routes(&l.node, false)[0].1, s(&["172.31.12.250@eth1"]));
}

/// `(dst, protocol, type)` of every route of one table and family.
fn table_routes(ns: &Netns, fam: &str, table: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = json(ns, &format!("ip {fam} -j route show table {table}"))
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap_or("").to_owned(),
                r["protocol"].as_str().unwrap_or("").to_owned(),
                r["type"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Tables other than main: a table id above 255 travels in `RTA_TABLE`
/// (`rtm_table` is `RT_TABLE_UNSPEC`), one below in `rtm_table`. Routes go
/// only to the configured table; the dump, the reconcile, the sweep and the
/// deletion-repair see only that table, so our own protocol's routes in main
/// (another instance, another configuration) survive everything.
fn table_instance(l: &Lab, table: u32) {
    let t = table.to_string();
    // Same protocol and metric as ours, but in main: not ours to touch.
    l.node
        .sh("ip route add blackhole 10.77.0.0/24 proto 214 metric 20")
        .unwrap();
    l.node
        .sh("ip -6 route add blackhole fd00:77::/64 proto 214 metric 20")
        .unwrap();
    let cfg_t = || Config { table, ..cfg(true) };
    let desire = |fib: &mut Fib| {
        fib.set_group(PLANES, planes(l, true, true));
        fib.set_route(net("172.31.10.2/32"), Target::Group(PLANES));
        fib.set_route(net("fd00:10::2/128"), Target::Group(PLANES));
        // The same prefix as the main-table route: a different key (table).
        fib.set_route(net("10.77.0.0/24"), Target::Blackhole);
    };
    let mut fib = l.node.enter(|| Fib::open(cfg_t())).unwrap();
    assert_eq!(
        fib.installed_len(),
        0,
        "main's proto 214 routes are not ours"
    );
    desire(&mut fib);
    let rep = fib.commit().unwrap();
    assert_eq!((rep.created, rep.errors), (3, vec![]));
    let _ = fib.complete().unwrap();
    assert_eq!(
        table_routes(&l.node, "-4", &t),
        vec![
            ("10.77.0.0/24".into(), "214".into(), "blackhole".into()),
            ("172.31.10.2".into(), "214".into(), "".into()),
        ]
    );
    assert_eq!(
        table_routes(&l.node, "-6", &t),
        vec![("fd00:10::2".into(), "214".into(), "".into())]
    );
    // Main kept exactly its routes: nothing of ours went there, the
    // complete() sweep did not take the proto-214 routes of main.
    let main4: Vec<_> = table_routes(&l.node, "-4", "main")
        .into_iter()
        .filter(|r| r.1 == "214")
        .collect();
    assert_eq!(
        main4,
        vec![("10.77.0.0/24".into(), "214".into(), "blackhole".into())]
    );
    let main6: Vec<_> = table_routes(&l.node, "-6", "main")
        .into_iter()
        .filter(|r| r.1 == "214")
        .collect();
    assert_eq!(
        main6,
        vec![("fd00:77::/64".into(), "214".into(), "blackhole".into())]
    );
    bootstrap_intact(&l.node);
    // The read API reports the table of each route.
    let kr = fib.kernel_routes().unwrap();
    assert_eq!(kr.len(), 3);
    assert!(kr.iter().all(|r| r.table == table), "{kr:?}");
    drop(fib);

    // Restart: the previous run's routes in our table are found, nothing to change.
    let mut fib = l.node.enter(|| Fib::open(cfg_t())).unwrap();
    assert_eq!(fib.installed_len(), 3);
    desire(&mut fib);
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 0, 0, vec![])
    );
    // A deletion of the main-table twin is not ours to repair; a deletion
    // in our table is.
    let mut mon = l
        .node
        .enter(|| {
            Monitor::open(MonitorConfig {
                routes: true,
                ..Default::default()
            })
        })
        .unwrap();
    l.node
        .sh("ip route del 10.77.0.0/24 proto 214 metric 20 table main")
        .unwrap();
    let mut need = false;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(300) {
        for ev in mon.recv(Duration::from_millis(50)).unwrap() {
            need |= fib.handle_event(&ev);
        }
    }
    assert!(
        !need,
        "a main-table deletion needs no repair of table {table}"
    );
    l.node
        .sh(&format!(
            "ip route del 10.77.0.0/24 proto 214 metric 20 table {table}"
        ))
        .unwrap();
    let t0 = Instant::now();
    while !need && t0.elapsed() < Duration::from_secs(2) {
        for ev in mon.recv(Duration::from_millis(50)).unwrap() {
            need |= fib.handle_event(&ev);
        }
    }
    assert!(need, "deletion in table {table} detected");
    let rep = fib.commit().unwrap();
    assert_eq!((rep.created, rep.errors), (1, vec![]));
    assert_eq!(table_routes(&l.node, "-4", &t).len(), 2);
    // Removing everything empties our table only.
    fib.remove_route(net("172.31.10.2/32"));
    fib.remove_route(net("fd00:10::2/128"));
    fib.remove_route(net("10.77.0.0/24"));
    fib.remove_group(PLANES);
    let rep = fib.complete().unwrap();
    assert_eq!((rep.deleted, rep.errors), (3, vec![]));
    assert_eq!(table_routes(&l.node, "-4", &t), vec![]);
    assert_eq!(table_routes(&l.node, "-6", &t), vec![]);
    assert_eq!(
        table_routes(&l.node, "-6", "main")
            .into_iter()
            .filter(|r| r.1 == "214")
            .count(),
        1
    );
    bootstrap_intact(&l.node);
}

#[test]
fn routes_in_table_above_255_stay_in_it() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_table_1000", &[Need::Root]) else {
        return;
    };
    table_instance(&setup(), 1000);
}

#[test]
fn routes_in_table_below_256_stay_in_it() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_table_100", &[Need::Root]) else {
        return;
    };
    table_instance(&setup(), 100);
}

/// `dst -> sorted "gateway@dev"` of our IPv4 routes as `ip -j route` shows
/// IPv4 routes over IPv6 gateways (`"via": {"family": "inet6", "host": …}`),
/// resolving nexthop objects through `ip -j nexthop show`.
fn v4_over_v6_routes(ns: &Netns) -> Vec<(String, Vec<String>)> {
    let nhs = json(ns, "ip -j nexthop show");
    let nh = |id: u64| {
        nhs.iter()
            .find(|n| n["id"].as_u64() == Some(id))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let gw = |h: &Value| {
        let g = h["via"]["host"].as_str().or(h["gateway"].as_str());
        format!("{}@{}", g.unwrap_or("-"), h["dev"].as_str().unwrap_or("-"))
    };
    let mut v: Vec<_> = json(ns, "ip -4 -j route show proto 214")
        .iter()
        .map(|r| {
            let mut hops: Vec<String> = if let Some(id) = r["nhid"].as_u64() {
                let g = nh(id);
                match g["group"].as_array() {
                    Some(m) => m
                        .iter()
                        .map(|e| gw(&nh(e["id"].as_u64().unwrap())))
                        .collect(),
                    None => vec![gw(&g)],
                }
            } else if let Some(m) = r["nexthops"].as_array() {
                m.iter().map(gw).collect()
            } else {
                vec![gw(r)]
            };
            hops.sort();
            (r["dst"].as_str().unwrap().to_owned(), hops)
        })
        .collect();
    v.sort();
    v
}

/// RFC 8950 next hops: a group with only IPv6 gateways carries IPv4 routes
/// too (`RTA_VIA` on legacy routes, IPv6 nexthop objects in the IPv4 route's
/// group), with the loopback as source, a failover, and a restart that
/// changes nothing.
fn v4_over_v6(l: &Lab, objects: bool) {
    const V6GW: GroupId = GroupId(7);
    let group = |p1: bool| {
        let mut v = Vec::new();
        if p1 {
            v.push(Nexthop::via(ip("fd00:11::fe"), l.eth0));
        }
        v.push(Nexthop::via(ip("fd00:12::fe"), l.eth1));
        NexthopGroup::ecmp(v)
    };
    let desire = |fib: &mut Fib, p1: bool| {
        fib.set_group(V6GW, group(p1));
        fib.set_route(net("10.88.0.1/32"), Target::Group(V6GW));
        fib.set_route(net("10.88.1.0/24"), Target::Group(V6GW));
        fib.set_route(net("fd00:88::1/128"), Target::Group(V6GW));
    };
    let mut fib = l.node.enter(|| Fib::open(cfg(objects))).unwrap();
    desire(&mut fib, true);
    let rep = fib.commit().unwrap();
    assert_eq!((rep.created, rep.errors), (3, vec![]));
    let both = s(&["fd00:11::fe@eth0", "fd00:12::fe@eth1"]);
    assert_eq!(
        v4_over_v6_routes(&l.node),
        vec![
            ("10.88.0.1".into(), both.clone()),
            ("10.88.1.0/24".into(), both.clone())
        ]
    );
    assert_eq!(our_routes(&l.node, true)[0].1, both);
    assert_eq!(route_src(&l.node, "10.88.0.1"), "10.0.0.1");
    let _ = fib.complete().unwrap();

    // Failover to plane 2: single path, still over the IPv6 gateway.
    desire(&mut fib, false);
    let rep = fib.commit().unwrap();
    assert_eq!(rep.errors, vec![]);
    let two = s(&["fd00:12::fe@eth1"]);
    assert_eq!(
        v4_over_v6_routes(&l.node),
        vec![
            ("10.88.0.1".into(), two.clone()),
            ("10.88.1.0/24".into(), two.clone())
        ]
    );
    assert_eq!(route_src(&l.node, "10.88.0.1"), "10.0.0.1");
    desire(&mut fib, true);
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    drop(fib);

    // Restart: the dump reads the IPv6 gateways back (RTA_VIA, or the
    // IPv4 routes' own group among two with identical members): nothing to do.
    let mut fib = l.node.enter(|| Fib::open(cfg(objects))).unwrap();
    assert_eq!(fib.installed_len(), 3);
    desire(&mut fib, true);
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 0, 0, vec![])
    );
    let rep = fib.complete().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 0, 0, vec![])
    );
    assert_eq!(v4_over_v6_routes(&l.node).len(), 2);
    bootstrap_intact(&l.node);
}

#[test]
fn v4_routes_over_v6_gateways_with_nexthop_objects() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_v4_over_v6_objects", &[Need::Root]) else {
        return;
    };
    v4_over_v6(&setup(), true);
}

#[test]
fn v4_routes_over_v6_gateways_with_rta_via() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_v4_over_v6_legacy", &[Need::Root]) else {
        return;
    };
    v4_over_v6(&setup(), false);
}

/// Our routes as `dst -> hops` (see [`our_routes`]), both families.
fn kernel_table(ns: &Netns) -> std::collections::BTreeMap<String, Vec<String>> {
    our_routes(ns, false)
        .into_iter()
        .chain(our_routes(ns, true))
        .map(|(dst, hops, _)| (dst, hops))
        .collect()
}

/// Feeds every queued monitor event to the programmer, as dualtor's monitor
/// thread does: late, after the programmer's own later changes.
fn deliver(fib: &mut Fib, mon: &mut Monitor) -> bool {
    // `recv` also returns nothing for a datagram of uninteresting messages
    // (compat mode's per-route RTM_NEWROUTE): stop after 300 ms of nothing.
    let mut repair = false;
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_millis(300) {
        let evs = mon.recv(Duration::from_millis(30)).unwrap();
        if !evs.is_empty() {
            quiet = Instant::now();
        }
        for ev in &evs {
            repair |= fib.handle_event(ev);
        }
    }
    repair
}

/// dualtor-vs-bird with 10,000 extra routes per node: groups replaced
/// (failover to one plane and back), routes withdrawn and learned again,
/// links flapping, route events read late (dualtor's monitor runs on its own
/// thread), then a forced resync. After every round the kernel must hold
/// exactly the desired table, and no create may fail with `EEXIST` (it did:
/// a late `RTM_DELROUTE` of our own delete made the programmer forget a
/// route it had re-created since, and a later group sweep deleted it).
#[test]
fn flaps_failovers_and_late_route_events_leave_the_exact_desired_table() {
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, Ipv6Addr};
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_flaps_late_events_exact_table", &[Need::Root]) else {
        return;
    };
    let l = setup();
    // dualtor's settings: the kernel's default compat mode (1), route events on.
    let mut fib = l
        .node
        .enter(|| {
            Fib::open(Config {
                compat_mode: None,
                ..cfg(true)
            })
        })
        .unwrap();
    let mut mon = l
        .node
        .enter(|| {
            Monitor::open(MonitorConfig {
                routes: true,
                ..MonitorConfig::default()
            })
        })
        .unwrap();
    const N4: u32 = 10_000;
    const N6: u32 = 2_000;
    const ECMP: GroupId = GroupId(1);
    let prefixes: Vec<IpNet> = (0..N4)
        .map(|i| IpNet::from(IpAddr::V4(Ipv4Addr::from(0x0a40_0000 + i))))
        .chain((0..N6).map(|i| {
            IpNet::from(IpAddr::V6(Ipv6Addr::from(
                0xfd00_0064_0000_0000_0000_0000_0000_0000u128 + u128::from(i),
            )))
        }))
        .collect();
    let mut model: BTreeMap<IpNet, GroupId> = BTreeMap::new();
    let mut errors = Vec::new();
    let expected = |model: &BTreeMap<IpNet, GroupId>| -> BTreeMap<String, Vec<String>> {
        model
            .iter()
            .map(|(p, g)| {
                let hops = match (p, *g == ECMP) {
                    (IpNet::V4(_), true) => s(&["172.31.11.250@eth0", "172.31.12.250@eth1"]),
                    (IpNet::V4(_), false) => s(&["172.31.11.250@eth0"]),
                    (IpNet::V6(_), true) => s(&["fd00:11::fe@eth0", "fd00:12::fe@eth1"]),
                    (IpNet::V6(_), false) => s(&["fd00:11::fe@eth0"]),
                };
                (p.addr().to_string(), hops)
            })
            .collect()
    };
    let flap = || {
        l.node
            .sh("ip link set eth0 down; ip link set eth0 up; ip link set eth0 down; ip link set eth0 up")
            .unwrap();
    };

    fib.set_group(ECMP, planes(&l, true, true));
    for p in &prefixes {
        fib.set_route(*p, Target::Group(ECMP));
        model.insert(*p, ECMP);
    }
    let rep = fib.commit().unwrap();
    assert_eq!((rep.created, rep.errors), (prefixes.len(), vec![]));
    deliver(&mut fib, &mut mon);

    for round in 0..3u32 {
        // Rounds 0 and 2 flap eth0 before the failover, unseen yet.
        if round != 1 {
            flap();
        }
        // Plane 2 lost for every other route: they move to a plane-1 group
        // (the engine never reuses a group id).
        let only0 = GroupId(100 + round);
        fib.set_group(only0, planes(&l, true, false));
        for p in prefixes.iter().step_by(2) {
            fib.set_route(*p, Target::Group(only0));
            model.insert(*p, only0);
        }
        errors.extend(fib.commit().unwrap().errors);
        // A tenth withdrawn and learned again before the events are read.
        let churn: Vec<IpNet> = prefixes.iter().step_by(10).copied().collect();
        for p in &churn {
            fib.remove_route(*p);
        }
        errors.extend(fib.commit().unwrap().errors);
        for p in &churn {
            fib.set_route(*p, Target::Group(only0));
        }
        errors.extend(fib.commit().unwrap().errors);
        if deliver(&mut fib, &mut mon) {
            errors.extend(fib.commit().unwrap().errors);
        }
        if round != 1 {
            flap();
            std::thread::sleep(Duration::from_millis(200));
            if deliver(&mut fib, &mut mon) {
                errors.extend(fib.commit().unwrap().errors);
            }
        }
        // Plane 2 back: everything returns to ECMP, the plane-1 group goes.
        for p in prefixes.iter().step_by(2) {
            fib.set_route(*p, Target::Group(ECMP));
            model.insert(*p, ECMP);
        }
        fib.remove_group(only0);
        errors.extend(fib.commit().unwrap().errors);
        if deliver(&mut fib, &mut mon) {
            errors.extend(fib.commit().unwrap().errors);
        }
        let have = kernel_table(&l.node);
        let want = expected(&model);
        let wrong: Vec<_> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone(), have.get(k).cloned()))
            .take(5)
            .collect();
        let eexist = errors
            .iter()
            .filter(|e| matches!(&e.failure, Failure::Kernel(k) if k.errno == libc_eexist()))
            .count();
        assert_eq!(
            (have.len(), wrong, eexist),
            (want.len(), vec![], 0),
            "round {round}: kernel routes, first wrong (prefix, want, have), EEXIST failures"
        );
    }
    // A monitor overflow: full re-dump and diff, nothing to change.
    assert!(fib.handle_event(&Event::Overflow));
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 0, 0, vec![])
    );
    assert_eq!(kernel_table(&l.node), expected(&model));
    // Not even transient errors: a group over a member the kernel flushed
    // with an unseen flap is retried after a re-read of the objects.
    assert_eq!(errors, vec![]);
    bootstrap_intact(&l.node);
}

/// A deletion event for a route the kernel still has (read late, or from
/// before a change that re-installed the route): the create it triggers meets
/// `EEXIST`; the route is ours (a re-dump shows our protocol), so it is adopted
/// and replaced, never reported as failed and never left out of the sweep's
/// accounting (which would delete it with its old group).
#[test]
fn late_route_deleted_event_for_an_installed_route_resolves_by_replace() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_late_route_deleted_event", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    let (p4, p6) = (net("172.31.10.6/32"), net("fd00:10::6/128"));
    fib.set_route(p4, Target::Group(PLANES));
    fib.set_route(p6, Target::Group(PLANES));
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    let late = |prefix| Event::RouteDeleted {
        prefix,
        table: 254,
        protocol: 214,
        metric: 20,
        sender: 0,
    };
    // Same target: the re-dump finds both as they should be, nothing to send.
    assert!(fib.handle_event(&late(p4)));
    assert!(fib.handle_event(&late(p6)));
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 0, 0, vec![])
    );
    // New target before the repair commit: one replace each; the old group
    // goes only after its routes left it.
    fib.handle_event(&late(p4));
    fib.handle_event(&late(p6));
    fib.set_group(DEVS, NexthopGroup::ecmp([Nexthop::dev(l.eth1)]));
    fib.set_route(p4, Target::Group(DEVS));
    fib.set_route(p6, Target::Group(DEVS));
    fib.remove_group(PLANES);
    let rep = fib.commit().unwrap();
    assert_eq!(
        (rep.created, rep.replaced, rep.deleted, rep.errors),
        (0, 2, 0, vec![])
    );
    let r4 = our_routes(&l.node, false);
    let r6 = our_routes(&l.node, true);
    assert_eq!(
        (r4.len(), &r4[0].0, &r4[0].1, r6.len(), &r6[0].0, &r6[0].1),
        (
            1,
            &"172.31.10.6".to_string(),
            &s(&["-@eth1"]),
            1,
            &"fd00:10::6".to_string(),
            &s(&["-@eth1"])
        )
    );
    bootstrap_intact(&l.node);
}

/// `set_routes` (batched, slot order) means the same as `set_route` on each
/// pair in order: the last target of a prefix wins, also across its 64k
/// batches. Checked against a plain ordered map, then installed.
#[test]
fn set_routes_equals_set_route_in_order() {
    use std::collections::BTreeMap;
    use std::net::Ipv4Addr;
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_set_routes_in_order", &[Need::Root]) else {
        return;
    };
    let l = setup();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    fib.set_group(PLANES, planes(&l, true, true));
    fib.set_group(DEVS, NexthopGroup::ecmp([Nexthop::dev(l.eth1)]));
    // 150,000 pairs over 40,000 prefixes (xorshift), three targets, /31s
    // given with host bits set (the prefix is truncated, as by set_route).
    let mut x = 0x9e37_79b9u32;
    let pairs: Vec<(IpNet, Target)> = (0..150_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let addr = Ipv4Addr::from(0x0a50_0000 + (x % 80_000));
            let p = IpNet::new(IpAddr::V4(addr), 31).unwrap();
            let t = match x % 3 {
                0 => Target::Group(PLANES),
                1 => Target::Group(DEVS),
                _ => Target::Blackhole,
            };
            (p, t)
        })
        .collect();
    let mut model: BTreeMap<IpNet, Target> = BTreeMap::new();
    for (p, t) in &pairs {
        model.insert(p.trunc(), *t);
    }
    fib.set_routes(pairs.iter().copied());
    let got: BTreeMap<IpNet, Target> = fib.routes().map(|(p, t)| (*p, t)).collect();
    assert_eq!(got, model);
    assert_eq!(fib.routes_len(), model.len());
    let rep = fib.commit().unwrap();
    assert_eq!((rep.created, rep.errors), (model.len(), vec![]));
    // The kernel agrees route by route (type and group).
    let want: BTreeMap<IpNet, Option<u32>> = model
        .iter()
        .map(|(p, t)| {
            let nhid = match t {
                Target::Group(g) => fib.group_nhid(*g, fib::Family::V4),
                Target::Blackhole => None,
            };
            (*p, nhid)
        })
        .collect();
    let have: BTreeMap<IpNet, Option<u32>> = fib
        .kernel_routes()
        .unwrap()
        .into_iter()
        .map(|r| (r.prefix, r.nhid))
        .collect();
    assert_eq!(have, want);
}

// `Fib::clear` (a daemon's shutdown): every route and nexthop object of ours
// is deleted at the next commit; another owner's route for the same prefix
// and the guide's bootstrap route stay.
#[test]
fn clear_removes_every_route_and_group_of_ours_and_nothing_else() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_clear", &[Need::Root]) else {
        return;
    };
    let l = setup();
    l.node
        .sh("ip route add 10.9.0.0/24 via 172.31.11.250 proto static metric 99")
        .unwrap();
    let mut fib = l.node.enter(|| Fib::open(cfg(true))).unwrap();
    fib.set_group(GroupId(1), planes(&l, true, true));
    fib.set_route(net("10.9.0.0/24"), Target::Group(GroupId(1)));
    fib.set_route(net("10.9.2.2/32"), Target::Group(GroupId(1)));
    fib.set_route(net("fd00:99::/64"), Target::Group(GroupId(1)));
    fib.set_route(net("10.9.3.0/26"), Target::Blackhole);
    assert_eq!(fib.commit().unwrap().errors, vec![]);
    assert_eq!(our_routes(&l.node, false).len(), 3);
    assert_eq!(our_routes(&l.node, true).len(), 1);
    assert!(!json(&l.node, "ip -j nexthop show proto 214").is_empty());

    fib.clear();
    assert_eq!((fib.routes_len(), fib.groups().count()), (0, 0));
    assert_eq!(fib.complete().unwrap().errors, vec![]);
    assert_eq!(our_routes(&l.node, false), vec![]);
    assert_eq!(our_routes(&l.node, true), vec![]);
    assert_eq!(
        json(&l.node, "ip -j nexthop show proto 214"),
        Vec::<Value>::new()
    );
    let theirs = json(&l.node, "ip -4 -j route show 10.9.0.0/24");
    assert_eq!(
        (theirs.len(), theirs[0]["protocol"].as_str()),
        (1, Some("static"))
    );
    bootstrap_intact(&l.node);
}

// `KernelReader`: every owner's routes, the links and the nexthop objects,
// as the kernel dumps them (here: the guide's bootstrap route, a static
// route and a route on a nexthop object added with `ip`).
#[test]
fn kernel_reader_dumps_every_owner() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_lab) = lab("fib_kernel_reader", &[Need::Root]) else {
        return;
    };
    let l = setup();
    l.node
        .sh(
            "set -e; ip route add 10.9.0.0/24 via 172.31.11.250 proto static; \
             ip nexthop add id 77 via 172.31.12.250 dev eth1; ip route add 10.9.1.0/24 nhid 77",
        )
        .unwrap();
    let mut r = l.node.enter(fib::KernelReader::open).unwrap();
    let links = r.links().unwrap();
    let eth1 = links
        .items
        .iter()
        .find(|k| k.name.as_deref() == Some("eth1"))
        .map(|k| k.ifindex);
    assert_eq!(eth1, Some(l.eth1));
    let routes = r
        .routes(fib::Family::V4, fib::message::RT_TABLE_MAIN)
        .unwrap();
    assert!(!routes.interrupted);
    let got = |p: &str| routes.items.iter().find(|k| k.prefix == net(p)).cloned();
    let stat = got("10.9.0.0/24").expect("static route");
    assert_eq!((stat.protocol, stat.hops.len()), (4, 1)); // RTPROT_STATIC
    assert_eq!(stat.hops[0].gateway, Some(ip("172.31.11.250")));
    assert_eq!(got("10.9.1.0/24").and_then(|k| k.nhid), Some(77));
    assert_eq!(got("172.31.10.0/24").map(|k| k.hops.len()), Some(2));
    let nh = r.nexthops().unwrap();
    assert_eq!(nh.items.iter().map(|n| n.id).collect::<Vec<_>>(), vec![77]);
}
