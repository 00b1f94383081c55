//! The dual-ToR demo end to end, once per ToR kind (the embedded
//! `dualtor-tor`, BIRD 2, FRR), checked through its `--json` summary: the
//! guide's routes on A1, single-path within BFD detection + 1 s after each
//! failure, ECMP back after each repair, and no packet lost across A1's own
//! restart. Lab tests: they skip without root (or the ToR daemon for BIRD and
//! FRR), except under `DUALTOR_REQUIRE_LAB=1`, and run one at a time.

use std::process::{Command, Stdio};
use std::sync::Mutex;

use test_support::{Need, lab};

static LOCK: Mutex<()> = Mutex::new(());

/// BFD detection (at most 5 x 100 ms against the ToRs) + 1 s, in ms.
const FAILOVER_BOUND_MS: f64 = 1500.0;

fn run_demo(tor: &str) {
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // The daemons cargo built with this test (the demo would otherwise
    // rebuild them with a nested cargo, since `cargo test` sets CARGO).
    let child = Command::new(env!("CARGO_BIN_EXE_dualtor-demo"))
        .args(["--tor", tor, "--json"])
        .args(["--node-bin", env!("CARGO_BIN_EXE_dualtor-node")])
        .args(["--tor-bin", env!("CARGO_BIN_EXE_dualtor-tor")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running dualtor-demo");
    let pid = child.id().to_string();
    let out = child.wait_with_output().expect("dualtor-demo output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{tor}: summary is not JSON ({e}):\n{stdout}\n{stderr}"));
    let failed: Vec<_> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["ok"] != true)
        .collect();
    assert!(
        failed.is_empty(),
        "{tor}: failed steps {failed:#?}\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{tor}: exit status\n{stderr}");
    assert_eq!(v["tor"], tor);
    assert_eq!(v["ok"], true);
    assert_eq!(v["routes_ok"], true, "{tor}: the guide's routes on a1");
    for key in ["plane_break_single_path_ms", "link_down_single_path_ms"] {
        let ms = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{tor}: {key} missing"));
        assert!(ms <= FAILOVER_BOUND_MS, "{tor}: {key} = {ms} ms");
    }
    for key in ["plane_repair_ecmp_ms", "link_repair_ecmp_ms"] {
        assert!(v[key].as_f64().is_some(), "{tor}: {key}: ECMP not back");
    }
    assert!(
        v["restart_packets_sent"].as_u64() > Some(1000),
        "{tor}: probe flow"
    );
    assert_eq!(
        v["restart_packets_lost"], 0,
        "{tor}: packets lost on restart"
    );
    // Nothing left behind: no namespace registered by the demo's PID remains.
    let left: Vec<String> = std::fs::read_dir(test_support::REGISTRY)
        .map(|d| {
            d.flatten()
                .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|o| o.trim() == pid))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(left, Vec::<String>::new(), "{tor}: namespaces left behind");
}

#[test]
fn demo_with_embedded_tors() {
    let Some(_lab) = lab("demo_with_embedded_tors", &[Need::Root]) else {
        return;
    };
    run_demo("dualtor");
}

#[test]
fn demo_with_bird_tors() {
    let Some(_lab) = lab("demo_with_bird_tors", &[Need::Root, Need::Bird]) else {
        return;
    };
    run_demo("bird");
}

#[test]
fn demo_with_frr_tors() {
    let Some(_lab) = lab("demo_with_frr_tors", &[Need::Root, Need::Frr]) else {
        return;
    };
    run_demo("frr");
}

/// The embedded ToR with BIRD 2 on the nodes (configured as calico-node would):
/// every node gets the guide's full ECMP table, and the ToR's own kernel FIB
/// holds its best routes (protocol 214): same-rack loopbacks via the owner's
/// plane address on `br0` (RFC 4456 reflection keeps the next hop), other-rack
/// ones via the other ToR's core address (eBGP next-hop-self).
#[test]
fn embedded_tors_with_bird_nodes() {
    use std::sync::Arc;
    use std::time::Duration;
    use test_support::topology::{NodeKind, TorKind};
    use test_support::{Topology, TopologySpec};

    let Some(_lab) = lab("embedded_tors_with_bird_nodes", &[Need::Root, Need::Bird]) else {
        return;
    };
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_dualtor-tor"));
    let spec = TopologySpec {
        racks: 2,
        nodes_per_rack: 2,
        tor: TorKind::Command(Arc::new(move |t, r| {
            examples::demo::tor_command(&bin, &d, t, r)
        })),
        node: NodeKind::Bird,
    };
    let topo = Topology::build(spec).expect("lab");
    topo.wait_converged(Duration::from_secs(30))
        .expect("full ECMP on every BIRD node");
    let ra1 = topo.tor(1, 1);
    let fib = ra1.sh("ip -4 route show proto 214").expect("ra1's routes");
    for (dst, via) in [
        ("172.31.10.2 ", "via 172.31.11.2 dev br0"),
        ("10.244.18.0/26 ", "via 172.31.11.2 dev br0"),
        ("172.31.20.1 ", "via 172.31.1.2 dev core"),
        ("10.244.33.0/26 ", "via 172.31.1.2 dev core"),
    ] {
        assert!(
            fib.lines().any(|l| l.starts_with(dst) && l.contains(via)),
            "ra1 lacks {dst}{via}:\n{fib}"
        );
    }
}

/// The embedded ToR's own restart (SIGKILL, start again): its routes stay in
/// the kernel and keep forwarding while it is away (style rule 26: never purge
/// at start), the new process takes them over (same routes, each once, after
/// End-of-RIB from its peers), and every node is back to full ECMP.
#[test]
fn embedded_tor_restart_keeps_its_kernel_routes() {
    use std::sync::Arc;
    use std::time::Duration;
    use test_support::daemons::Process;
    use test_support::topology::{Daemon, NodeKind, TorKind};
    use test_support::{Topology, TopologySpec};

    let Some(_lab) = lab(
        "embedded_tor_restart_keeps_its_kernel_routes",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_dualtor-tor"));
    let (b, d) = (bin.clone(), dir.path().to_path_buf());
    let spec = TopologySpec {
        racks: 2,
        nodes_per_rack: 2,
        tor: TorKind::Command(Arc::new(move |t, r| {
            examples::demo::tor_command(&b, &d, t, r)
        })),
        node: NodeKind::Bird,
    };
    let mut topo = Topology::build(spec).expect("lab");
    topo.wait_converged(Duration::from_secs(30))
        .expect("full ECMP on every node");
    let routes = |t: &Topology| {
        let mut v: Vec<String> = t
            .tor(1, 1)
            .sh("ip -4 route show proto 214")
            .expect("ra1's routes")
            .lines()
            .map(|l| {
                // Drop the nexthop object id: a new process may pick new ids.
                l.split_whitespace()
                    .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                    .filter(|w| *w != "nhid")
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        v.sort();
        v
    };
    let before = routes(&topo);
    assert_eq!(before.len(), 8, "ra1's routes: {before:#?}");
    if let Daemon::Command(p) = topo.tor_daemon(1, 1) {
        p.kill();
    }
    assert_eq!(routes(&topo), before, "routes kept while ra1 is away");
    let cmd = examples::demo::tor_command(
        &bin,
        dir.path(),
        topo.tor_info(1, 1),
        &topo.tor_router(1, 1),
    );
    *topo.tor_daemon(1, 1) = Daemon::Command(Process::spawn_logged("ra1", cmd).expect("ra1"));
    topo.wait_converged(Duration::from_secs(30))
        .expect("full ECMP again after ra1's restart");
    // After End-of-RIB from every peer the previous run's objects are swept:
    // the same routes, each once. Awaited (bound 30 s), not sampled once: the
    // new ra1 can be up before the BIRD nodes' BFD (100 ms x 3) has declared
    // the killed one down, and BIRD 2 then resets the new session (seen: a1
    // and a2 sent Cease 6/0 0.2 s after it came up, RFC 5880 §6.8.4), so ra1
    // re-learns that node's routes only when it reconnects.
    std::thread::sleep(Duration::from_secs(2));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut after = routes(&topo);
    while after != before && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = routes(&topo);
    }
    let log = match topo.tor_daemon(1, 1) {
        Daemon::Command(p) if after != before => p.output_tail(),
        _ => String::new(),
    };
    assert_eq!(
        after, before,
        "ra1's routes after its restart; its log:\n{log}"
    );
}

/// Silent loss on plane 1 between the racks (nftables drops everything on
/// ra1's core link, carrier stays up): the embedded ToR's BFD (100 ms x 3)
/// takes its eBGP session down, gracefully, so rack B's routes go LLGR-stale
/// and are re-advertised with LLGR_STALE; BIRD on a1 then prefers plane 2
/// (RFC 9494 §4.3 depreference) within the detection time + 1 s. When the
/// loss ends, BFD comes Up, the session reconnects at once, and a1 is back to
/// ECMP.
#[test]
fn embedded_tor_bfd_detects_silent_core_loss() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use test_support::topology::{NodeKind, TorKind};
    use test_support::{Topology, TopologySpec};

    let Some(_lab) = lab(
        "embedded_tor_bfd_detects_silent_core_loss",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_dualtor-tor"));
    let spec = TopologySpec {
        racks: 2,
        nodes_per_rack: 2,
        tor: TorKind::Command(Arc::new(move |t, r| {
            examples::demo::tor_command(&bin, &d, t, r)
        })),
        node: NodeKind::Bird,
    };
    let topo = Topology::build(spec).expect("lab");
    topo.wait_converged(Duration::from_secs(30))
        .expect("full ECMP on every node");
    let a1 = topo.node_info(1, 1);
    let single = examples::demo::want(&topo, |o, q| !(o.rack == 2 && q == 0));
    let full = examples::demo::want(&topo, |_, _| true);
    let t0 = Instant::now();
    let mut loss = test_support::faults::drop_all(topo.tor(1, 1), "core").expect("nft");
    let took = examples::demo::wait_table(a1, &single, t0, Duration::from_millis(1300))
        .expect("a1 single-path to rack B within BFD detection + 1 s");
    eprintln!("silent core loss: a1 single-path after {took:?}");
    loss.clear().expect("loss ends");
    let t1 = Instant::now();
    let back = examples::demo::wait_table(a1, &full, t1, Duration::from_secs(10))
        .expect("a1 back to ECMP after the loss ends");
    eprintln!("silent core loss ended: a1 ECMP after {back:?}");
}
