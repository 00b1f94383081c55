//! Lab tests of `dualtor-node`: the Calico dual-ToR guide's topology (2 racks
//! x 2 nodes, BIRD 2 ToRs) with the daemon on every node, started from the
//! guide's own BGPPeer/IPPool YAML (the lab uses the guide's addresses).
//!
//! The same with FRR 8.4 ToRs for the guide's checks, the faults and our
//! own restart;
//! small two-namespace labs for IPv6, `reachableBy` with Recursive next
//! hops, and a router ID reload.
//!
//! Every test asserts on the nodes' kernel tables (prefixes, next hops,
//! sources), with bounds of BFD detection time + 1 s. They skip without
//! root or BIRD, except under `DUALTOR_REQUIRE_LAB=1`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use test_support::routes::Path as Hop;
use test_support::topology::{NodeKind, TorKind, Tuning, rack_letter};
use test_support::{Need, Topology, TopologySpec, lab};

/// Our BFD detection time with Calico's defaults against the ToRs' 100 ms
/// x 3: at most 5 x 100 ms.
const DETECTION: Duration = Duration::from_millis(500);
/// BFD detection + 1 s.
const BOUND: Duration = Duration::from_millis(DETECTION.as_millis() as u64 + 1000);

/// The daemon, built by cargo with this test and the same features.
fn daemon() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dualtor-node"))
}

struct Lab {
    topo: Topology,
    config: PathBuf,
    /// Holds the configuration file while the daemons run.
    _dir: tempfile::TempDir,
}

impl Lab {
    fn node_command(config: &Path, node: &test_support::topology::Node) -> Command {
        let mut c = node.ns.cmd(daemon().to_str().expect("utf-8 path"));
        let socket = config.with_file_name(format!("{}.sock", node.name));
        c.args(["--status-socket", socket.to_str().expect("utf-8")]);
        // Passive too: the ToRs' own connections are accepted and collisions
        // resolved (RFC 4271 §6.8), as in a real deployment.
        c.args(["--listen", "0.0.0.0:179"]);
        c.args([
            "--config",
            config.to_str().expect("utf-8"),
            "--node",
            &node.name,
        ])
        .args(["--restart-deferral", "10"])
        .env("RUST_LOG", "info");
        c
    }

    /// The guide's topology with `dualtor-node` on every node.
    fn start() -> Lab {
        Lab::start_with(TorKind::Bird, Tuning::default())
    }

    /// Same, with the ToRs' daemon and session tuning.
    fn start_with(tor: TorKind, tuning: Tuning) -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("cluster.yaml");
        std::fs::write(&config, test_support::calico::cluster_yaml(2, 2)).expect("write config");
        let bin = daemon();
        assert!(bin.exists(), "{} missing", bin.display());
        let cfg = config.clone();
        let spec = TopologySpec {
            racks: 2,
            nodes_per_rack: 2,
            tor,
            node: NodeKind::Command(Arc::new(move |n| Lab::node_command(&cfg, n))),
        };
        let topo = Topology::build_with(spec, tuning).expect("topology");
        Lab {
            topo,
            config,
            _dir: dir,
        }
    }

    fn converge(&mut self) -> Duration {
        match self.topo.wait_converged(Duration::from_secs(30)) {
            Ok(d) => d,
            Err(e) => panic!("no convergence: {e}\n{}", self.logs()),
        }
    }

    /// The daemons' last output lines, for failure messages.
    fn logs(&mut self) -> String {
        let mut out = String::new();
        for (r, n) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            if let test_support::topology::Daemon::Command(p) = self.topo.node_daemon(r, n) {
                out += &format!("--- {}{n}:\n{}\n", rack_letter(r), p.output_tail());
            }
        }
        out
    }
}

// The guide's "Verify the deployment": on every node, ECMP /32s to the
// other racks' loopbacks via both ToRs, same-rack loopbacks over eth0 and
// eth1 (via the owner's plane addresses, see `dualtor::node` fib docs), pod
// /26 blocks ECMP, the static /24s still present, every route of ours with
// the loopback as preferred source, and `ip route get` to every other
// loopback choosing our loopback as source. Our own block is a blackhole.
#[test]
fn guide_verify_the_deployment() {
    let Some(_lab) = lab("guide_verify_the_deployment", &[Need::Root, Need::Bird]) else {
        return;
    };
    let mut lab = Lab::start();
    let took = lab.converge();
    eprintln!("BIRD ToRs: converged in {took:?}");
    verify_deployment(&lab);
}

// The same with FRR ToRs (zebra, bgpd, bfdd).
#[test]
fn guide_verify_the_deployment_frr_tors() {
    let Some(_lab) = lab(
        "guide_verify_the_deployment_frr_tors",
        &[Need::Root, Need::Frr],
    ) else {
        return;
    };
    let mut lab = Lab::start_with(TorKind::Frr, Tuning::default());
    let took = lab.converge();
    eprintln!("FRR ToRs: converged in {took:?}");
    verify_deployment(&lab);
}

fn verify_deployment(lab: &Lab) {
    let t = &lab.topo;
    for node in t.nodes() {
        let routes = node.ns.routes().expect("routes");
        for (dst, paths) in t.expected_ecmp(node.rack, node.index) {
            let r = routes
                .iter()
                .filter(|r| r.dst == ipnet::IpNet::V4(dst))
                .min_by_key(|r| r.metric)
                .unwrap_or_else(|| panic!("{}: no route to {dst}", node.name));
            assert!(r.has_paths(&paths), "{}: {r}", node.name);
            assert_eq!(
                r.prefsrc,
                Some(node.loopback.into()),
                "{}: {dst} preferred source",
                node.name
            );
        }
        // The static bootstrap /24s are untouched.
        for other in 1..=2u8 {
            let boot = format!("172.31.{}.0/24", 10 * other);
            let r = routes
                .iter()
                .find(|r| r.dst.to_string() == boot)
                .unwrap_or_else(|| panic!("{}: bootstrap {boot} gone", node.name));
            assert_ne!(r.protocol, "214", "{}: {boot} is not ours", node.name);
            assert!(r.is_ecmp(), "{}: {r}", node.name);
        }
        // Our own pod block: blackhole, tagged with our protocol.
        let own = routes
            .iter()
            .find(|r| r.dst == ipnet::IpNet::V4(node.pod_block))
            .unwrap_or_else(|| panic!("{}: own block missing", node.name));
        assert_eq!(own.kind, "blackhole", "{}: {own}", node.name);
        // The daemon's status socket: both sessions Established with BFD
        // Up, the two originated prefixes advertised, the six routes of the
        // three other nodes accepted from each ToR, no stale routes.
        let sock = lab.config.with_file_name(format!("{}.sock", node.name));
        let mut stream = std::os::unix::net::UnixStream::connect(&sock).unwrap_or_else(|e| {
            let ls = std::fs::read_dir(sock.parent().expect("dir"))
                .map(|d| d.map(|e| e.map(|e| e.file_name())).collect::<Vec<_>>());
            panic!("{}: {e}; dir: {ls:?}", sock.display())
        });
        let mut json = String::new();
        std::io::Read::read_to_string(&mut stream, &mut json).expect("status");
        let st: serde_json::Value = serde_json::from_str(&json).expect("status json");
        assert_eq!(st["node"], node.name.as_str());
        let peers = st["peers"].as_array().expect("peers");
        assert_eq!(peers.len(), 2, "{json}");
        for (p, plane) in peers.iter().zip(1..) {
            assert_eq!(
                p["address"],
                format!("172.31.{}.250", 10 * u16::from(node.rack) + plane),
                "{json}"
            );
            assert_eq!(p["state"], "Established", "{json}");
            assert_eq!(p["bfd"], "Up", "{json}");
            assert_eq!(p["restart"], "None", "{json}");
            assert_eq!(p["prefixes_advertised"], 2, "{json}");
            assert_eq!(p["prefixes_accepted"], 6, "{json}");
            assert_eq!(p["end_of_rib"], true, "{json}");
        }
        // `ip route get` to every other loopback uses our loopback as source.
        for other in t.nodes().iter().filter(|o| o.name != node.name) {
            let out = node
                .ns
                .ip(&["-j", "route", "get", &other.loopback.to_string()])
                .expect("ip route get");
            let v: serde_json::Value = serde_json::from_str(&out).expect("json");
            assert_eq!(
                v[0]["prefsrc"].as_str(),
                Some(node.loopback.to_string().as_str()),
                "{} -> {}: {out}",
                node.name,
                other.name
            );
        }
    }
}

/// Which (node, other node, plane) paths work.
type PlaneOk<'a> = &'a dyn Fn(&TNode, &TNode, usize) -> bool;
type TNode = test_support::topology::Node;

/// The routes every node must have when `ok` says which planes carry
/// traffic between two nodes: same rack via the owner's plane address,
/// other racks via our ToR on that plane.
fn expected(t: &Topology, ok: PlaneOk<'_>) -> Vec<(usize, String, Vec<Hop>)> {
    let mut v = Vec::new();
    for (i, me) in t.nodes().iter().enumerate() {
        for other in t.nodes().iter().filter(|o| o.name != me.name) {
            let paths: Vec<Hop> = (0..2)
                .filter(|&q| ok(me, other, q))
                .map(|q| {
                    let dev = format!("eth{q}");
                    if other.rack == me.rack {
                        Hop::via(&other.nic[q].to_string(), &dev)
                    } else {
                        Hop::via(&me.tor_addr[q].to_string(), &dev)
                    }
                })
                .collect();
            v.push((i, format!("{}/32", other.loopback), paths.clone()));
            v.push((i, other.pod_block.to_string(), paths));
        }
    }
    v
}

/// Whether every node's table is as `want` says (preferred route per prefix).
fn tables_match(t: &Topology, want: &[(usize, String, Vec<Hop>)]) -> Result<(), String> {
    let tables: Vec<_> = t
        .nodes()
        .iter()
        .map(|n| n.ns.routes().expect("ip route"))
        .collect();
    for (i, dst, paths) in want {
        let net: ipnet::IpNet = dst.parse().expect("prefix");
        let got = tables[*i]
            .iter()
            .filter(|r| r.dst == net)
            .min_by_key(|r| r.metric);
        let ok = got.is_some_and(|r| r.has_paths(paths));
        if !ok {
            return Err(format!(
                "{}: {dst}: want {paths:?}, have {}",
                t.nodes()[*i].name,
                got.map(ToString::to_string)
                    .unwrap_or_else(|| "none".into())
            ));
        }
    }
    Ok(())
}

/// Polls until the tables match; panics with the last mismatch after `bound`.
fn wait_tables(
    t: &Topology,
    what: &str,
    want: &[(usize, String, Vec<Hop>)],
    bound: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        match tables_match(t, want) {
            Ok(()) => return start.elapsed(),
            Err(e) if start.elapsed() > bound => panic!("{what}: not within {bound:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The guide's lab for the fault tests, converged. FRR ToRs get GR restart
/// time 0 from their config file like the BIRD ToRs (`graceful restart time
/// 0`, as Calico does): FRR's default restart time of 120 s would have a node
/// seeing a ToR's session fail keep its routes in the ECMP set for that time
/// as a GR helper (RFC 4724 §4.2; FRR's bfdd sends C = 0, so BFD Down may be
/// a control plane failure, RFC 5882 §4.3.1) before LLGR demotes them
/// (RFC 9494 §4.3).
fn fault_lab(tor: TorKind) -> Lab {
    let mut lab = Lab::start_with(tor, Tuning::default());
    lab.converge();
    lab
}

/// Back to full ECMP after a repair: BFD comes Up, the sessions reconnect at
/// once (the backoff is reset by BFD Up / carrier), End-of-RIB flows.
const REPAIR_BOUND: Duration = Duration::from_secs(10);

/// A fault on node a1's plane-1 link: a1 reaches everyone over eth1 only,
/// and everyone reaches a1 over plane 2 only.
fn a1_plane1_broken(me: &TNode, other: &TNode, q: usize) -> bool {
    !(q == 0 && (me.name == "a1" || other.name == "a1"))
}

fn all_ok(_: &TNode, _: &TNode, _: usize) -> bool {
    true
}

// Node-to-ToR link down (carrier loss on a1 eth0): a1's plane-1 sessions
// go down at once from the kernel's link event; the ToR's BFD takes a1's
// routes off plane 1 for the others. Repair brings ECMP back.
#[test]
fn fault_node_tor_link_down() {
    let Some(_lab) = lab("fault_node_tor_link_down", &[Need::Root, Need::Bird]) else {
        return;
    };
    node_tor_link_down(TorKind::Bird);
}

// The same with FRR 8.4 ToRs: the nodes' tables must be the same.
#[test]
fn fault_node_tor_link_down_frr_tors() {
    let Some(_lab) = lab(
        "fault_node_tor_link_down_frr_tors",
        &[Need::Root, Need::Frr],
    ) else {
        return;
    };
    node_tor_link_down(TorKind::Frr);
}

fn node_tor_link_down(tor: TorKind) {
    let lab = fault_lab(tor);
    let t = &lab.topo;
    let a1 = t.node_info(1, 1);
    let mut guard = test_support::faults::link_down(&a1.ns, "eth0").expect("link down");
    let took = wait_tables(t, "a1 eth0 down", &expected(t, &a1_plane1_broken), BOUND);
    eprintln!("link down: single-path everywhere in {took:?}");
    guard.repair().expect("repair");
    let back = wait_tables(t, "a1 eth0 repaired", &expected(t, &all_ok), REPAIR_BOUND);
    eprintln!("link repaired: ECMP back in {back:?}");
}

// Silent node-to-ToR loss (nftables drops everything on a1 eth0, carrier
// up): BFD detects it (RFC 5880 §6.8.4), the BGP session goes down at once
// as a graceful loss, and the routes move to plane 2 within detection + 1 s.
#[test]
fn fault_node_tor_silent_loss() {
    let Some(_lab) = lab(
        "fault_node_tor_silent_loss",
        &[Need::Root, Need::Bird, Need::Nft],
    ) else {
        return;
    };
    node_tor_silent_loss(TorKind::Bird);
}

// The same with FRR 8.4 ToRs: the nodes' tables must be the same. On the
// ToR's side, FRR 8.4 treats BFD Down as a hard reset of the BGP session
// (no counterpart of BIRD's `bfd graceful`), so ra1 deletes a1's routes
// instead of keeping them stale: asserted from its `show bgp` JSON.
#[test]
fn fault_node_tor_silent_loss_frr_tors() {
    let Some(_lab) = lab(
        "fault_node_tor_silent_loss_frr_tors",
        &[Need::Root, Need::Frr, Need::Nft],
    ) else {
        return;
    };
    node_tor_silent_loss(TorKind::Frr);
}

fn node_tor_silent_loss(tor: TorKind) {
    let frr = matches!(tor, TorKind::Frr);
    let lab = fault_lab(tor);
    let t = &lab.topo;
    let a1 = t.node_info(1, 1);
    let mut loss = test_support::faults::drop_all(&a1.ns, "eth0").expect("nft");
    let took = wait_tables(
        t,
        "a1 eth0 silent loss",
        &expected(t, &a1_plane1_broken),
        BOUND,
    );
    eprintln!("silent loss: single-path everywhere in {took:?}");
    if frr {
        let ra1 = t.tor_frr(1, 1).expect("FRR ToR");
        let from_a1 = Some(std::net::IpAddr::V4(a1.nic[0]));
        let mine = [
            ipnet::IpNet::V4(ipnet::Ipv4Net::from(a1.loopback)),
            ipnet::IpNet::V4(a1.pod_block),
        ];
        let gone = wait_for("ra1 deletes a1's routes on BFD Down", BOUND, || {
            let kept: Vec<_> = ra1
                .bgp_routes()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|r| r.peer == from_a1 && mine.contains(&r.prefix))
                .map(|r| format!("{} stale={} {:?}", r.prefix, r.stale, r.communities))
                .collect();
            if kept.is_empty() {
                Ok(())
            } else {
                Err(format!("ra1 still has from a1: {kept:?}"))
            }
        });
        eprintln!("silent loss: FRR ra1 deleted a1's routes (not stale) in {gone:?}");
    }
    loss.clear().expect("clear");
    let back = wait_tables(
        t,
        "a1 eth0 loss cleared",
        &expected(t, &all_ok),
        REPAIR_BOUND,
    );
    eprintln!("loss cleared: ECMP back in {back:?}");
}

/// Plane 1 broken between racks A and B: cross-rack traffic on plane 2
/// only, same-rack routes stay ECMP.
fn plane1_between_racks(me: &TNode, other: &TNode, q: usize) -> bool {
    !(q == 0 && me.rack != other.rack)
}

// A plane broken between racks (the ToR-ToR link of plane 1 down, then
// silent): the guide's "within only a few seconds ... single path only, via
// the plane that is still unbroken"; repair makes them ECMP again.
#[test]
fn fault_plane_broken_between_racks() {
    let Some(_lab) = lab(
        "fault_plane_broken_between_racks",
        &[Need::Root, Need::Bird, Need::Nft],
    ) else {
        return;
    };
    plane_broken_between_racks(TorKind::Bird);
}

// The same with FRR 8.4 ToRs: the nodes' tables must be the same.
#[test]
fn fault_plane_broken_between_racks_frr_tors() {
    let Some(_lab) = lab(
        "fault_plane_broken_between_racks_frr_tors",
        &[Need::Root, Need::Frr, Need::Nft],
    ) else {
        return;
    };
    plane_broken_between_racks(TorKind::Frr);
}

fn plane_broken_between_racks(tor: TorKind) {
    let lab = fault_lab(tor);
    let t = &lab.topo;
    let ra1 = t.tor(1, 1);
    let mut guard = test_support::faults::link_down(ra1, "core").expect("link down");
    let took = wait_tables(
        t,
        "plane 1 core link down",
        &expected(t, &plane1_between_racks),
        BOUND,
    );
    eprintln!("core link down: cross-rack single-path in {took:?}");
    guard.repair().expect("repair");
    let back = wait_tables(
        t,
        "plane 1 core link repaired",
        &expected(t, &all_ok),
        REPAIR_BOUND,
    );
    eprintln!("core link repaired: ECMP back in {back:?}");

    let mut loss = test_support::faults::drop_all(ra1, "core").expect("nft");
    let took = wait_tables(
        t,
        "plane 1 core silent loss",
        &expected(t, &plane1_between_racks),
        BOUND,
    );
    eprintln!("core silent loss: cross-rack single-path in {took:?}");
    loss.clear().expect("clear");
    let back = wait_tables(
        t,
        "plane 1 core loss cleared",
        &expected(t, &all_ok),
        REPAIR_BOUND,
    );
    eprintln!("core loss cleared: ECMP back in {back:?}");
}

/// The first address of a block (a pod address, not covered by the static
/// bootstrap routes).
fn pod_addr(block: ipnet::Ipv4Net) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(u32::from(block.network()) + 1)
}

/// The "Neighbor capabilities" part of `show protocols all` for a1's session on
/// the rack A ToR of `plane` (what a1's last OPEN said).
fn a1_neighbor_caps(lab: &Lab, plane: u8) -> String {
    let tor = lab.topo.tor_bird(1, plane).expect("BIRD ToR");
    let name = tor
        .protocols()
        .expect("birdc")
        .into_iter()
        .find(|p| p.name.starts_with("a1"))
        .expect("a1 protocol")
        .name;
    let all = tor
        .birdc(&format!("show protocols all {name}"))
        .expect("birdc");
    all.split("Neighbor capabilities")
        .nth(1)
        .and_then(|c| c.split("Session:").next())
        .unwrap_or_default()
        .to_owned()
}

/// Stops a1's daemon (SIGTERM, or SIGKILL), checks the ToRs hold a1's routes
/// as stale meanwhile, starts it again and waits for full ECMP everywhere.
fn restart_a1(lab: &mut Lab, kill: bool) {
    let what = if kill { "SIGKILL" } else { "SIGTERM" };
    let stopped = Instant::now();
    if let test_support::topology::Daemon::Command(p) = lab.topo.node_daemon(1, 1) {
        if kill {
            p.kill();
        } else {
            p.stop();
        }
    }
    // RFC 4724 / RFC 9494: both ToRs keep a1's routes, marked stale.
    let lo = format!("for {}", lab.topo.node_info(1, 1).loopback);
    for plane in 1..=2 {
        let tor = lab.topo.tor_bird(1, plane).expect("BIRD ToR");
        let start = Instant::now();
        loop {
            let routes = tor.routes(&lo).expect("birdc");
            if routes
                .iter()
                .any(|r| r.stale && r.protocol.starts_with("a1"))
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "{what}: ToR r{}{plane} does not hold a1's loopback as stale: {routes:?}",
                rack_letter(1)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let cmd = Lab::node_command(&lab.config, lab.topo.node_info(1, 1));
    let p = test_support::daemons::Process::spawn_logged("a1", cmd).expect("restart a1");
    *lab.topo.node_daemon(1, 1) = test_support::topology::Daemon::Command(p);
    // The new process re-established both sessions and refreshed its routes
    // (End-of-RIB): the ToRs hold them fresh again.
    for plane in 1..=2 {
        let tor = lab.topo.tor_bird(1, plane).expect("BIRD ToR");
        let start = Instant::now();
        loop {
            let routes = tor.routes(&lo).expect("birdc");
            let fresh = routes
                .iter()
                .any(|r| !r.stale && r.protocol.starts_with("a1"));
            if fresh && !routes.iter().any(|r| r.stale) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{what}: a1's session to ToR {plane} did not come back: {routes:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    eprintln!("{what}: a1 back in {:?}", stopped.elapsed());
    // RFC 4724 §4.1: the new process's OPENs carried R=1 (routes kept in
    // the kernel) and F=1 for IPv4; BIRD shows them as the neighbour's
    // "Restart recovery" and "AF preserved".
    for plane in 1..=2 {
        let caps = a1_neighbor_caps(lab, plane);
        assert!(
            caps.contains("Restart recovery") && caps.contains("AF preserved: ipv4"),
            "{what}: ToR {plane} did not see R=1/F=1 from a1:\n{caps}"
        );
    }
    wait_tables(
        &lab.topo,
        &format!("after {what} and restart"),
        &expected(&lab.topo, &all_ok),
        Duration::from_secs(15),
    );
}

// Our own graceful restart (RFC 4724 §4.1 restarting speaker, RFC 9494):
// a continuous flow between pod addresses of a1 and b1 (in both directions;
// the static /24s do not cover them) loses no packet while a1's daemon is
// stopped with SIGTERM and started again, and again across SIGKILL; no route
// of ours is deleted from a1's kernel meanwhile, and the ToRs hold a1's
// routes as stale. The ToRs run `bfd graceful`, as the guide recommends
// ("initiate LLGR procedures"), so that a killed node's BFD silence is a
// graceful loss too.
#[test]
fn own_graceful_restart_loses_no_packet() {
    let Some(_lab) = lab(
        "own_graceful_restart_loses_no_packet",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let mut tuning = Tuning::default();
    if let Some(b) = tuning.bfd.as_mut() {
        b.graceful = true;
    }
    let mut lab = Lab::start_with(TorKind::Bird, tuning);
    lab.converge();
    let (a1, b1) = (lab.topo.node_info(1, 1), lab.topo.node_info(2, 1));
    let (a1_pod, b1_pod) = (pod_addr(a1.pod_block), pod_addr(b1.pod_block));
    a1.ns
        .addr_add("lo", &format!("{a1_pod}/32"))
        .expect("a1 pod address");
    b1.ns
        .addr_add("lo", &format!("{b1_pod}/32"))
        .expect("b1 pod address");
    let ours: Vec<String> = lab
        .topo
        .expected_ecmp(1, 1)
        .into_iter()
        .map(|(dst, _)| dst.to_string())
        .collect();
    let watcher = test_support::watch::RouteWatcher::start(&a1.ns).expect("watch");
    let fwd = test_support::probe::Probe::start(&a1.ns, a1_pod, &b1.ns, b1_pod, 1000)
        .expect("probe a1->b1");
    let back = test_support::probe::Probe::start(&b1.ns, b1_pod, &a1.ns, a1_pod, 1000)
        .expect("probe b1->a1");
    std::thread::sleep(Duration::from_millis(300));
    restart_a1(&mut lab, false);
    restart_a1(&mut lab, true);
    std::thread::sleep(Duration::from_millis(300));
    let (fwd, back) = (fwd.stop(), back.stop());
    eprintln!(
        "a1->b1: {} sent, lost {:?}; b1->a1: {} sent, lost {:?}",
        fwd.sent,
        fwd.outages(),
        back.sent,
        back.outages()
    );
    assert!(fwd.sent > 1000 && back.sent > 1000);
    assert_eq!(fwd.lost, Vec::<u64>::new(), "a1->b1 lost packets");
    assert_eq!(back.lost, Vec::<u64>::new(), "b1->a1 lost packets");
    for dst in &ours {
        let deleted = watcher.changes(dst).iter().any(|(_, r)| r.is_none());
        assert!(!deleted, "a1: {dst} was deleted during the restarts");
    }
    // Once the restart is over, R is cleared (RFC 4724 §4.1): a session
    // that comes back later (here the ToR resets it) gets an OPEN with R=0.
    let tor = lab.topo.tor_bird(1, 1).expect("BIRD ToR");
    let name = tor
        .protocols()
        .expect("birdc")
        .into_iter()
        .find(|p| p.name.starts_with("a1"))
        .expect("a1 protocol")
        .name;
    tor.birdc(&format!("restart {name}"))
        .expect("birdc restart");
    let start = Instant::now();
    loop {
        let up = tor
            .protocols()
            .expect("birdc")
            .into_iter()
            .any(|p| p.name == name && p.is_established());
        let caps = a1_neighbor_caps(&lab, 1);
        if up && caps.contains("Graceful restart") {
            assert!(
                !caps.contains("Restart recovery"),
                "R=1 after the restart was over:\n{caps}"
            );
            assert!(caps.contains("AF preserved: ipv4"), "F=0:\n{caps}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a1 not back: {caps}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// Bad configuration files: each kind of error exits 2 naming the resource
// and the field, and nothing changes in the kernel (routes and nexthop
// objects of the namespace are the same before and after).
#[test]
fn bad_configuration_exits_2_and_leaves_kernel_untouched() {
    let Some(_lab) = lab(
        "bad_configuration_exits_2_and_leaves_kernel_untouched",
        &[Need::Root],
    ) else {
        return;
    };
    let ns = test_support::Netns::new("badcfg").expect("netns");
    ns.sh("ip link add eth0 type veth peer name eth0p && ip link set eth0 up && ip link set lo up")
        .expect("veth");
    ns.addr_add("eth0", "172.31.11.1/24").expect("addr");
    ns.addr_add("lo", "172.31.10.1/32").expect("addr");
    ns.route_add("172.31.20.0/24 via 172.31.11.250")
        .expect("route");
    let kernel = || {
        (
            ns.ip(&["-j", "route", "show", "table", "all"])
                .expect("routes"),
            ns.ip(&["-j", "nexthop", "show"]).unwrap_or_default(),
        )
    };
    let before = kernel();
    // The facade's configuration fixtures (its own tests check the same files' errors).
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dualtor/tests/fixtures");
    // (file, node, what the message must name), written from the fixtures.
    let cases = [
        (
            "err-bad-cidr.yaml",
            "a1",
            ["IPPool loopbacks-rack-a", "spec.cidr"],
        ),
        (
            "err-ipip.yaml",
            "a1",
            ["IPPool default-ipv4-ippool", "spec.ipipMode"],
        ),
        (
            "err-vxlan.yaml",
            "a1",
            ["IPPool default-ipv4-ippool", "spec.vxlanMode"],
        ),
        (
            "err-as-too-big.yaml",
            "a1",
            ["Node a1", "spec.bgp.asNumber"],
        ),
        (
            "err-selector.yaml",
            "a1",
            ["BGPPeer ra1", "spec.nodeSelector"],
        ),
        (
            "err-unknown-field.yaml",
            "a1",
            ["BGPPeer ra1", "spec.peerIp"],
        ),
        (
            "err-unknown-kind.yaml",
            "a1",
            ["document 2", "unsupported kind"],
        ),
        // Valid resources, but no such node: caught when planning.
        ("guide.yaml", "zz", ["Node zz", "zz"]),
    ];
    for (file, node, names) in cases {
        let out = ns
            .cmd(daemon().to_str().expect("utf-8"))
            .args(["--config", fixtures.join(file).to_str().expect("utf-8")])
            .args(["--node", node])
            .output()
            .expect("run dualtor-node");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        for n in names {
            assert!(
                stderr.contains(n),
                "{file}: message does not name {n:?}: {stderr}"
            );
        }
        assert_eq!(kernel(), before, "{file}: the kernel changed");
    }
}

/// Rack A's plane 1 is dead (its ToR is gone): everything that involves a
/// rack-A node uses plane 2.
fn rack_a_plane1_dead(me: &TNode, other: &TNode, q: usize) -> bool {
    !(q == 0 && (me.rack == 1 || other.rack == 1))
}

// A ToR's BGP daemon killed and restarted: rack A's routes move to the other
// ToR within BFD detection + 1 s (the dead ToR's routes stay as LLGR-stale
// backup in our engine, not in the kernel's ECMP set), and ECMP returns once
// the ToR is back and has sent End-of-RIB.
#[test]
fn fault_tor_daemon_killed_and_restarted() {
    let Some(_lab) = lab(
        "fault_tor_daemon_killed_and_restarted",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    tor_daemon_killed_and_restarted(TorKind::Bird);
}

// The same with FRR 8.4 ToRs: ra1's bgpd and bfdd are killed (zebra and
// staticd stay, as when FRR's routing daemons crash), then restarted with
// the configuration re-applied. The nodes' tables must be the same.
#[test]
fn fault_tor_daemon_killed_and_restarted_frr_tors() {
    let Some(_lab) = lab(
        "fault_tor_daemon_killed_and_restarted_frr_tors",
        &[Need::Root, Need::Frr],
    ) else {
        return;
    };
    tor_daemon_killed_and_restarted(TorKind::Frr);
}

fn tor_daemon_killed_and_restarted(tor: TorKind) {
    let mut lab = fault_lab(tor);
    match lab.topo.tor_daemon(1, 1) {
        test_support::topology::Daemon::Bird(b) => b.kill(),
        test_support::topology::Daemon::Frr(f) => {
            f.kill("bgpd");
            f.kill("bfdd");
        }
        _ => panic!("ra1 runs neither BIRD nor FRR"),
    }
    let took = wait_tables(
        &lab.topo,
        "ToR ra1 killed",
        &expected(&lab.topo, &rack_a_plane1_dead),
        BOUND,
    );
    eprintln!("ToR killed: plane 2 only in {took:?}");
    match lab.topo.tor_daemon(1, 1) {
        test_support::topology::Daemon::Bird(b) => b.restart().expect("restart ra1"),
        test_support::topology::Daemon::Frr(f) => f.restart().expect("restart ra1"),
        _ => panic!("ra1 runs neither BIRD nor FRR"),
    }
    let back = wait_tables(
        &lab.topo,
        "ToR ra1 restarted",
        &expected(&lab.topo, &all_ok),
        REPAIR_BOUND,
    );
    eprintln!("ToR restarted: ECMP back in {back:?}");
}

// SIGHUP reload: a new BlockAffinity for a1 is advertised and reaches every
// other node as ECMP, without resetting a1's sessions (the ToRs' view of the
// a1 session keeps its `since` time).
#[test]
fn sighup_reload_advertises_new_block_without_session_reset() {
    let Some(_lab) = lab(
        "sighup_reload_advertises_new_block_without_session_reset",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let mut lab = Lab::start();
    lab.converge();
    let since = |lab: &Lab| -> Vec<String> {
        (1..=2)
            .map(|p| {
                let tor = lab.topo.tor_bird(1, p).expect("BIRD ToR");
                let protos = tor.protocols().expect("birdc");
                let a1 = protos
                    .iter()
                    .find(|x| x.name.starts_with("a1"))
                    .unwrap_or_else(|| panic!("no a1 protocol on ToR {p}: {protos:?}"));
                assert!(a1.is_established(), "{a1:?}");
                a1.since.clone()
            })
            .collect()
    };
    let before = since(&lab);
    let block = "10.244.17.64/26";
    let mut yaml = std::fs::read_to_string(&lab.config).expect("read config");
    yaml += &format!(
        "---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  name: a1-block2\n\
         spec:\n  node: a1\n  cidr: {block}\n  state: confirmed\n"
    );
    std::fs::write(&lab.config, yaml).expect("write config");
    let pid = match lab.topo.node_daemon(1, 1) {
        test_support::topology::Daemon::Command(p) => p.pid().expect("a1 running"),
        _ => unreachable!("a1 runs dualtor-node"),
    };
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let b1 = lab.topo.node_info(2, 1);
    let want = vec![(
        lab.topo
            .nodes()
            .iter()
            .position(|n| n.name == "b1")
            .expect("b1"),
        block.to_string(),
        vec![
            Hop::via(&b1.tor_addr[0].to_string(), "eth0"),
            Hop::via(&b1.tor_addr[1].to_string(), "eth1"),
        ],
    )];
    let took = wait_tables(&lab.topo, "new block at b1", &want, Duration::from_secs(5));
    eprintln!("reload: new block ECMP at b1 in {took:?}");
    // The whole table is still as the guide says, and no session was reset.
    // BIRD may restamp `since` by a millisecond or so as the channel settles
    // just after Established; a reset would move it by at least the ToRs'
    // error wait time (1 s), so half a second tells them apart.
    tables_match(&lab.topo, &expected(&lab.topo, &all_ok)).expect("tables");
    let after = since(&lab);
    let ms = |t: &str| -> i64 {
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        let mut f = hms
            .split(':')
            .map(|x| x.parse::<i64>().expect("since time"));
        let (h, m, sec) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        ((h * 60 + m) * 60 + sec) * 1000 + format!("{frac:0<3}")[..3].parse::<i64>().unwrap()
    };
    for (b, a) in before.iter().zip(&after) {
        assert!(
            (ms(a) - ms(b)).abs() < 500,
            "a1's sessions were reset by the reload: since {before:?} -> {after:?}"
        );
    }
}

/// One path as an FRR ToR holds it: `(peer, best, stale, communities)`.
type TorPath = (Option<std::net::IpAddr>, bool, bool, Vec<String>);

/// One sample of the FRR ToRs' and b1's view of a1's pod block during a1's
/// restart (the timeline printed when a packet is lost).
#[derive(Debug)]
struct FrrSample {
    at: Duration,
    /// Per ToR (ra1, ra2, rb1, rb2): `(peer, best, stale, communities)` of
    /// each path to a1's block.
    tors: Vec<Vec<TorPath>>,
    /// b1's kernel route to a1's block (`via` list).
    b1: Vec<String>,
}

/// Samples the FRR ToRs' BGP tables and b1's kernel route for `prefix`
/// every few ms until `stop` is set.
fn sample_frr(
    lab: &Lab,
    prefix: ipnet::IpNet,
    t0: Instant,
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<FrrSample> {
    let mut out = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let at = t0.elapsed();
        let tors = [(1, 1), (1, 2), (2, 1), (2, 2)]
            .iter()
            .map(|&(r, p)| {
                let frr = lab.topo.tor_frr(r, p).expect("FRR ToR");
                frr.bgp_routes()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|x| x.prefix == prefix)
                    .map(|x| (x.peer, x.best, x.stale, x.communities))
                    .collect()
            })
            .collect();
        let b1 = lab
            .topo
            .node_info(2, 1)
            .ns
            .routes()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.dst == prefix)
            .map(|r| format!("{}:{:?}", r.kind, r.paths))
            .collect();
        out.push(FrrSample { at, tors, b1 });
    }
    out
}

// Our own graceful restart with FRR 8.4 ToRs (RFC 4724 §4.2 receiving
// speaker, RFC 9494 §4.3): a pod-to-pod flow between a1 and b1 loses no
// packet while a1's daemon is stopped with SIGTERM and started again. When
// it does, the ToRs' tables sampled during the restart are printed.
#[test]
fn own_graceful_restart_frr_tors() {
    let Some(_lab) = lab("own_graceful_restart_frr_tors", &[Need::Root, Need::Frr]) else {
        return;
    };
    let mut tuning = Tuning::default();
    if let Some(b) = tuning.bfd.as_mut() {
        b.graceful = true;
    }
    let mut lab = Lab::start_with(TorKind::Frr, tuning);
    lab.converge();
    let (a1, b1) = (lab.topo.node_info(1, 1), lab.topo.node_info(2, 1));
    let (a1_pod, b1_pod) = (pod_addr(a1.pod_block), pod_addr(b1.pod_block));
    let block = ipnet::IpNet::V4(a1.pod_block);
    a1.ns
        .addr_add("lo", &format!("{a1_pod}/32"))
        .expect("a1 pod address");
    b1.ns
        .addr_add("lo", &format!("{b1_pod}/32"))
        .expect("b1 pod address");
    for kill in [false, true] {
        let (a1, b1) = (lab.topo.node_info(1, 1), lab.topo.node_info(2, 1));
        let (fwd, back) = (
            test_support::probe::Probe::start(&a1.ns, a1_pod, &b1.ns, b1_pod, 1000)
                .expect("probe a1->b1"),
            test_support::probe::Probe::start(&b1.ns, b1_pod, &a1.ns, a1_pod, 1000)
                .expect("probe b1->a1"),
        );
        std::thread::sleep(Duration::from_millis(300));
        restart_a1_sampled(&mut lab, block, kill, fwd, back);
    }
}

/// Stops a1's daemon (SIGTERM or SIGKILL) and starts it again while the
/// FRR ToRs' tables are sampled; asserts the probe flows lost nothing and
/// prints the timeline when they did.
fn restart_a1_sampled(
    lab: &mut Lab,
    block: ipnet::IpNet,
    kill: bool,
    fwd: test_support::probe::Probe,
    back: test_support::probe::Probe,
) {
    let signal = if kill { "-KILL" } else { "-TERM" };
    let pid = match lab.topo.node_daemon(1, 1) {
        test_support::topology::Daemon::Command(p) => p.pid().expect("a1 running"),
        _ => unreachable!("a1 runs dualtor-node"),
    };
    let t0 = Instant::now();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (samples, new, marks) = std::thread::scope(|s| {
        let sampler = s.spawn(|| sample_frr(lab, block, t0, &stop));
        std::thread::sleep(Duration::from_millis(300));
        let mut marks = vec![(signal, t0.elapsed())];
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        // Exited (a zombie until the harness reaps it).
        let exited = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|st| st.split_whitespace().nth(2) == Some("Z"))
                .unwrap_or(true)
        };
        while !exited(pid) {
            std::thread::sleep(Duration::from_millis(10));
        }
        marks.push(("exited", t0.elapsed()));
        std::thread::sleep(Duration::from_millis(500));
        let cmd = Lab::node_command(&lab.config, lab.topo.node_info(1, 1));
        let p = test_support::daemons::Process::spawn_logged("a1", cmd).expect("restart a1");
        marks.push(("started", t0.elapsed()));
        std::thread::sleep(Duration::from_secs(6));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (sampler.join().expect("sampler"), p, marks)
    });
    *lab.topo.node_daemon(1, 1) = test_support::topology::Daemon::Command(new);
    std::thread::sleep(Duration::from_millis(300));
    let (fwd, back) = (fwd.stop(), back.stop());
    let when = |r: &test_support::probe::ProbeReport| -> Vec<(Duration, u64)> {
        r.outages()
            .into_iter()
            .map(|(seq, n)| (r.sent_at(seq).saturating_duration_since(t0), n))
            .collect()
    };
    eprintln!(
        "FRR ToRs, {signal} restart: a1->b1 {} sent, outages {:?}; b1->a1 {} sent, outages {:?}; marks {marks:?}",
        fwd.sent,
        when(&fwd),
        back.sent,
        when(&back)
    );
    let lost = !fwd.lost.is_empty() || !back.lost.is_empty();
    if lost || std::env::var_os("DUALTOR_LAB_TIMELINE").is_some() {
        let mut last = String::new();
        for s in &samples {
            let line = format!("{:?} b1 {:?}", s.tors, s.b1);
            if line != last {
                eprintln!("{:>6} ms {line}", s.at.as_millis());
                last = line;
            }
        }
        eprintln!("{}", lab.logs());
    }
    assert!(fwd.sent > 1000 && back.sent > 1000);
    assert_eq!(fwd.lost, Vec::<u64>::new(), "a1->b1 lost packets");
    assert_eq!(back.lost, Vec::<u64>::new(), "b1->a1 lost packets");
    // RFC 4724 §4.2 / RFC 9494 §4.3 on the ToRs: both rack A ToRs hold a
    // path to a1's block in every sample, and mark it stale (LLGR_STALE,
    // GR time 0) while a1 is away.
    for (i, name) in [(0, "ra1"), (1, "ra2")] {
        let gap = samples.iter().find(|x| x.tors[i].is_empty());
        assert!(
            gap.is_none(),
            "{signal}: {name} had no path to a1's block: {gap:?}"
        );
        assert!(
            samples.iter().any(|x| x.tors[i]
                .iter()
                .any(|(_, _, stale, c)| *stale || c.iter().any(|c| c == "llgr-stale"))),
            "{signal}: {name} never marked a1's block stale"
        );
    }
}

/// Waits until `f` holds, or panics with `what` and the last value seen.
fn wait_for(what: &str, bound: Duration, mut f: impl FnMut() -> Result<(), String>) -> Duration {
    let start = Instant::now();
    loop {
        match f() {
            Ok(()) => return start.elapsed(),
            Err(e) if start.elapsed() > bound => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

// IPv6: a node with an IPv6 loopback (`ipv6Address`) and an IPv6 pod block
// peers over IPv6 with a BIRD 2 ToR (RFC 2545 next hops, RFC 4760 IPv6
// unicast). The ToR learns our /128 and /122 (and nothing else); we install
// the ToR's IPv6 prefix via the ToR over eth0 with our IPv6 loopback as
// preferred source, and our block as a blackhole.
#[test]
fn ipv6_loopback_and_pod_block_over_an_ipv6_session() {
    let Some(_lab) = lab(
        "ipv6_loopback_and_pod_block_over_an_ipv6_session",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let node = test_support::Netns::new("v6n").expect("netns");
    let tor = test_support::Netns::new("v6t").expect("netns");
    let _veth = test_support::veth(&node, "eth0", &tor, "eth0").expect("veth");
    node.sh(
        "sysctl -qw net.ipv6.conf.all.forwarding=1; ip link set lo up; \
         ip addr add 172.31.10.1/32 dev lo; ip addr add fd00:10::1/128 dev lo; \
         ip addr add 172.31.11.1/24 dev eth0 scope link; \
         ip addr add fd00:11::1/64 dev eth0 nodad",
    )
    .expect("node addresses");
    tor.sh(
        "sysctl -qw net.ipv6.conf.all.forwarding=1; ip link set lo up; \
         ip addr add 172.31.11.250/24 dev eth0; ip addr add fd00:11::250/64 dev eth0 nodad",
    )
    .expect("tor addresses");
    let bird = test_support::daemons::Bird::start_raw(
        &tor,
        "router id 172.31.11.250;\n\
         protocol device { }\n\
         protocol static s6 { ipv6; route fd00:20::/64 blackhole; }\n\
         protocol bgp a1 {\n  local fd00:11::250 as 65001;\n  neighbor fd00:11::1 as 65001;\n  \
         direct;\n  rr client;\n  graceful restart on;\n  \
         ipv6 { import all; export all; next hop self; };\n}\n",
    )
    .expect("bird");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("a1.yaml");
    std::fs::write(
        &config,
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: a1\nspec:\n  bgp:\n    \
         asNumber: 65001\n    ipv4Address: 172.31.10.1/32\n    ipv6Address: fd00:10::1/128\n---\n\
         apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: ra1-v6\nspec:\n  \
         peerIP: fd00:11::250\n  asNumber: 65001\n  sourceAddress: None\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: loopbacks-v6\nspec:\n  \
         cidr: fd00:10::/64\n  disabled: true\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pods-v6\nspec:\n  \
         cidr: fd00:244::/48\n  blockSize: 122\n---\n\
         apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  name: a1-v6\nspec:\n  \
         node: a1\n  cidr: fd00:244::/122\n  state: confirmed\n",
    )
    .expect("write config");
    let mut cmd = node.cmd(daemon().to_str().expect("utf-8 path"));
    cmd.args(["--config", config.to_str().expect("utf-8"), "--node", "a1"])
        .env("RUST_LOG", "info");
    let mut p = test_support::daemons::Process::spawn_logged("a1", cmd).expect("dualtor-node");
    let took = wait_for(
        "the ToR learns a1's IPv6 prefixes",
        Duration::from_secs(20),
        || {
            let out = bird
                .birdc("show route protocol a1")
                .map_err(|e| e.to_string())?;
            let ok = out.contains("fd00:10::1/128") && out.contains("fd00:244::/122");
            if ok {
                Ok(())
            } else {
                Err(format!("{out}\n{}", p.output_tail()))
            }
        },
    );
    eprintln!("IPv6: ToR has a1's /128 and /122 after {took:?}");
    // Only what a1 originates: two IPv6 prefixes, no IPv4 route over this
    // session (IPv4 unicast is negotiated too, with nothing to send).
    let out = bird.birdc("show route protocol a1").expect("birdc");
    let mut got: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| t.contains('/'))
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec!["fd00:10::1/128", "fd00:244::/122"], "{out}");
    let route6 = |dst: &str| -> Result<test_support::routes::Route, String> {
        let routes = node.routes_all().map_err(|e| e.to_string())?;
        routes
            .into_iter()
            .find(|r| r.dst.to_string() == dst && r.table == "main")
            .ok_or_else(|| format!("no {dst} in a1's main table"))
    };
    wait_for(
        "a1 installs the ToR's IPv6 prefix",
        Duration::from_secs(10),
        || {
            let r = route6("fd00:20::/64")?;
            let via_tor = r.paths.len() == 1
                && r.paths[0].dev.as_deref() == Some("eth0")
                && r.paths[0].gateway.is_some_and(|g| {
                    g == "fd00:11::250".parse::<std::net::IpAddr>().unwrap()
                        || matches!(g, std::net::IpAddr::V6(v6) if v6.segments()[0] == 0xfe80)
                });
            let src = r.prefsrc == Some("fd00:10::1".parse().unwrap());
            if via_tor && src {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        },
    );
    let block = route6("fd00:244::/122").expect("block");
    assert_eq!(block.kind, "blackhole", "{block:?}");
    p.stop();
    drop(bird);
}

// Calico BGPPeer `reachableBy` and Recursive next hops: the ToR peers from
// its loopback 10.0.0.250 (multihop), which the node reaches only through
// the static /32 that `reachableBy: 172.31.11.250` installs (ours, never
// advertised). The ToR sends 10.9.0.0/16 with itself (10.0.0.250, on no
// connected subnet) as next hop; `birdGatewayMode: Recursive` resolves it
// through that /32 (RFC 4271 §9.1.2.1), so the route is installed via
// 172.31.11.250 dev eth0. The ToR learns only our loopback.
#[test]
fn reachable_by_route_and_recursive_next_hop() {
    let Some(_lab) = lab(
        "reachable_by_route_and_recursive_next_hop",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let node = test_support::Netns::new("rbn").expect("netns");
    let tor = test_support::Netns::new("rbt").expect("netns");
    let _veth = test_support::veth(&node, "eth0", &tor, "eth0").expect("veth");
    node.sh("ip link set lo up; ip addr add 172.31.10.1/32 dev lo; \
         ip addr add 172.31.11.1/24 dev eth0 scope link")
        .expect("node addresses");
    tor.sh(
        "sysctl -qw net.ipv4.ip_forward=1; ip link set lo up; ip addr add 10.0.0.250/32 dev lo; \
         ip addr add 172.31.11.250/24 dev eth0; ip route add 172.31.10.1/32 via 172.31.11.1",
    )
    .expect("tor addresses");
    let bird = test_support::daemons::Bird::start_raw(
        &tor,
        "router id 10.0.0.250;\n\
         protocol device { }\n\
         protocol static s4 { ipv4; route 10.9.0.0/16 blackhole; route 10.8.0.0/16 blackhole; }\n\
         protocol bgp a1 {\n  local 10.0.0.250 as 65001;\n  neighbor 172.31.10.1 as 65001;\n  \
         multihop 2;\n  rr client;\n  ipv4 { import all; export filter {\n    \
         if net = 10.8.0.0/16 then bgp_next_hop = 10.0.1.1;\n    accept;\n  }; };\n}\n",
    )
    .expect("bird");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("a1.yaml");
    std::fs::write(
        &config,
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: a1\nspec:\n  bgp:\n    \
         asNumber: 65001\n    ipv4Address: 172.31.10.1/32\n---\n\
         apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: tor-lo\nspec:\n  \
         peerIP: 10.0.0.250\n  asNumber: 65001\n  reachableBy: 172.31.11.250\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: loopbacks\nspec:\n  \
         cidr: 172.31.10.0/24\n  disabled: true\n",
    )
    .expect("write config");
    let mut cmd = node.cmd(daemon().to_str().expect("utf-8 path"));
    cmd.args(["--config", config.to_str().expect("utf-8"), "--node", "a1"])
        .env("RUST_LOG", "info");
    let mut p = test_support::daemons::Process::spawn_logged("a1", cmd).expect("dualtor-node");
    let route = |dst: &str| -> Result<test_support::routes::Route, String> {
        node.routes()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|r| r.dst.to_string() == dst)
            .ok_or_else(|| format!("no {dst} in a1's table: {}", p.output_tail()))
    };
    let via_tor = |r: &test_support::routes::Route| {
        r.paths.len() == 1
            && r.paths[0].dev.as_deref() == Some("eth0")
            && r.paths[0].gateway == Some("172.31.11.250".parse().unwrap())
    };
    wait_for("the reachableBy route", Duration::from_secs(10), || {
        let r = route("10.0.0.250/32")?;
        if via_tor(&r) && r.protocol == "214" {
            Ok(())
        } else {
            Err(format!("{r:?}"))
        }
    });
    let took = wait_for(
        "10.9.0.0/16 resolved through the reachableBy route",
        Duration::from_secs(20),
        || {
            let r = route("10.9.0.0/16")?;
            if via_tor(&r) {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        },
    );
    eprintln!("reachableBy: session up and 10.9.0.0/16 installed via the gateway in {took:?}");
    // A next hop that only an alien kernel route covers (the static
    // 10.0.1.0/24 added here, learned by the 2 s scan, as calico-node's
    // BIRD `learn`s kernel routes).
    let unresolved = route("10.8.0.0/16");
    assert!(
        unresolved.is_err(),
        "installed before its next hop resolved: {unresolved:?}"
    );
    node.sh("ip route add 10.0.1.0/24 via 172.31.11.250 dev eth0 proto static")
        .expect("static route");
    let took = wait_for(
        "10.8.0.0/16 resolved through the alien kernel route",
        Duration::from_secs(10),
        || {
            let r = route("10.8.0.0/16")?;
            if via_tor(&r) {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        },
    );
    eprintln!("kernel route learned and 10.8.0.0/16 (next hop 10.0.1.1) installed in {took:?}");
    let out = bird.birdc("show route protocol a1").expect("birdc");
    let got: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| t.contains('/'))
        .collect();
    assert_eq!(got, vec!["172.31.10.1/32"], "{out}");
    p.stop();
}

// A SIGHUP reload that changes the node's router ID (its `ipv4Address`,
// hence its loopback) re-establishes the session with the new BGP
// Identifier, as BIRD resets its protocols, but as an in-process graceful
// restart: the route learned from the ToR is never deleted from the kernel
// meanwhile, it ends up with the new loopback as preferred source, and the
// ToR gets the new loopback instead of the old one.
#[test]
fn reload_with_new_router_id_keeps_forwarding() {
    let Some(_lab) = lab(
        "reload_with_new_router_id_keeps_forwarding",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let node = test_support::Netns::new("rid").expect("netns");
    let tor = test_support::Netns::new("ridt").expect("netns");
    let _veth = test_support::veth(&node, "eth0", &tor, "eth0").expect("veth");
    node.sh(
        "ip link set lo up; ip addr add 172.31.10.1/32 dev lo; ip addr add 172.31.10.9/32 dev lo; \
         ip addr add 172.31.11.1/24 dev eth0 scope link",
    )
    .expect("node addresses");
    tor.sh("ip link set lo up; ip addr add 172.31.11.250/24 dev eth0")
        .expect("tor addresses");
    let bird = test_support::daemons::Bird::start_raw(
        &tor,
        "router id 172.31.11.250;\n\
         protocol device { }\n\
         protocol static s4 { ipv4; route 10.9.0.0/16 blackhole; }\n\
         protocol bgp a1 {\n  local 172.31.11.250 as 65001;\n  neighbor 172.31.11.1 as 65001;\n  \
         direct;\n  rr client;\n  graceful restart on;\n  \
         ipv4 { import all; export all; next hop self; };\n}\n",
    )
    .expect("bird");
    let yaml = |lo: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: a1\nspec:\n  bgp:\n    \
             asNumber: 65001\n    ipv4Address: {lo}/32\n---\n\
             apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: ra1\nspec:\n  \
             peerIP: 172.31.11.250\n  asNumber: 65001\n  sourceAddress: None\n---\n\
             apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: loopbacks\nspec:\n  \
             cidr: 172.31.10.0/24\n  disabled: true\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("a1.yaml");
    std::fs::write(&config, yaml("172.31.10.1")).expect("write config");
    let mut cmd = node.cmd(daemon().to_str().expect("utf-8 path"));
    cmd.args(["--config", config.to_str().expect("utf-8"), "--node", "a1"])
        .args(["--restart-deferral", "10"])
        .env("RUST_LOG", "info");
    let mut p = test_support::daemons::Process::spawn_logged("a1", cmd).expect("dualtor-node");
    let learned = |src: &str| -> Result<(), String> {
        let r = node
            .routes()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|r| r.dst.to_string() == "10.9.0.0/16")
            .ok_or("no 10.9.0.0/16")?;
        let src: std::net::IpAddr = src.parse().unwrap();
        if r.prefsrc == Some(src) && r.paths.len() == 1 {
            Ok(())
        } else {
            Err(format!("{r:?}"))
        }
    };
    let tor_has = |want: &str| -> Result<(), String> {
        let out = bird
            .birdc("show route protocol a1")
            .map_err(|e| e.to_string())?;
        let got: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|t| t.contains('/'))
            .collect();
        let caps = bird
            .birdc("show protocols all a1")
            .map_err(|e| e.to_string())?;
        if got == vec![want] && caps.contains("Established") {
            Ok(())
        } else {
            Err(format!("{got:?}\n{caps}"))
        }
    };
    wait_for(
        "learned with the first loopback",
        Duration::from_secs(20),
        || learned("172.31.10.1"),
    );
    wait_for("ToR has the first loopback", Duration::from_secs(5), || {
        tor_has("172.31.10.1/32")
    });
    let watcher = test_support::watch::RouteWatcher::start(&node).expect("watch");
    std::fs::write(&config, yaml("172.31.10.9")).expect("write config");
    let pid = p.pid().expect("running");
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let took = wait_for(
        "re-established with the new router ID",
        Duration::from_secs(20),
        || {
            tor_has("172.31.10.9/32")?;
            let caps = bird
                .birdc("show protocols all a1")
                .map_err(|e| e.to_string())?;
            if caps.contains("Neighbor ID:      172.31.10.9") {
                Ok(())
            } else {
                Err(caps)
            }
        },
    );
    wait_for("new preferred source", Duration::from_secs(15), || {
        learned("172.31.10.9")
    });
    eprintln!("router ID reload: session back with the new identity in {took:?}");
    let deleted = watcher
        .changes("10.9.0.0/16")
        .iter()
        .any(|(_, r)| r.is_none());
    assert!(
        !deleted,
        "10.9.0.0/16 was deleted during the identity change"
    );
    p.stop();
}
