//! Lab tests of `dualtor-node`: the Calico dual-ToR guide's topology (2 racks
//! x 2 nodes, BIRD 2 ToRs) with the daemon on every node, started from the
//! guide's own BGPPeer/IPPool YAML (the lab uses the guide's addresses).
//!
//! Every test asserts on the nodes' kernel tables (prefixes, next hops,
//! sources), with bounds of BFD detection time + 1 s. They skip without
//! root or BIRD, except under `DUALTOR_REQUIRE_LAB=1`. The daemon binary is
//! built on first use (`cargo build -p examples --bin dualtor-node`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use test_support::routes::Path as Hop;
use test_support::topology::{NodeKind, TorKind, Tuning, rack_letter};
use test_support::{Need, Topology, TopologySpec, lab};

/// Our BFD detection time with Calico's defaults against the ToRs' 100 ms
/// x 3: at most 5 x 100 ms.
#[allow(dead_code)]
const DETECTION: Duration = Duration::from_millis(500);
/// BFD detection + 1 s.
#[allow(dead_code)]
const BOUND: Duration = Duration::from_millis(1500);

/// The workspace's target dir and the daemon built into it.
fn daemon() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/lab-<hash>
        let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
        let target = profile_dir.parent().expect("target root");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "examples", "--bin", "dualtor-node"])
            .env("CARGO_TARGET_DIR", target)
            .current_dir(workspace)
            .status()
            .expect("cargo build");
        assert!(status.success(), "building dualtor-node failed");
        profile_dir.join("dualtor-node")
    })
    .clone()
}

/// The cluster's resources: the guide's BGPPeers and loopback IPPools
/// verbatim, a pod pool without encapsulation, the BGPConfiguration patch,
/// and one Node and BlockAffinity per lab node.
fn cluster_yaml(racks: u8, per_rack: u8) -> String {
    let mut y = String::new();
    for r in 1..=racks {
        let l = rack_letter(r);
        for p in 1..=2u8 {
            y += &format!(
                "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: r{l}{p}\nspec:\n  \
                 nodeSelector: \"rack == 'r{l}'\"\n  peerIP: 172.31.{}.250\n  asNumber: {}\n  \
                 sourceAddress: None\n  failureDetectionMode: BFDIfDirectlyConnected\n  \
                 restartMode: LongLivedGracefulRestart\n  birdGatewayMode: DirectIfDirectlyConnected\n---\n",
                10 * u16::from(r) + u16::from(p),
                65000 + u32::from(r)
            );
        }
        y += &format!(
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: loopbacks-rack-{l}\n\
             spec:\n  cidr: 172.31.{}.0/24\n  disabled: True\n---\n",
            10 * u16::from(r)
        );
        for n in 1..=per_rack {
            let name = format!("{l}{n}");
            y += &format!(
                "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n    \
                 rack: r{l}\nspec:\n  bgp:\n    asNumber: {}\n    ipv4Address: {}/32\n---\n",
                65000 + u32::from(r),
                test_support::topology::loopback(r, n)
            );
            y += &format!(
                "apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  name: {name}-block\n\
                 spec:\n  node: {name}\n  cidr: {}\n  state: confirmed\n---\n",
                test_support::topology::pod_block(r, n)
            );
        }
    }
    y += "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata:\n  name: default\n\
          spec:\n  nodeToNodeMeshEnabled: false\n---\n\
          apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: default-ipv4-ippool\n\
          spec:\n  cidr: 10.244.0.0/16\n  ipipMode: Never\n  vxlanMode: Never\n  blockSize: 26\n";
    y
}

struct Lab {
    topo: Topology,
    dir: tempfile::TempDir,
}

impl Lab {
    #[allow(dead_code)]
    fn config_path(&self) -> PathBuf {
        self.dir.path().join("cluster.yaml")
    }

    fn node_command(config: &Path, node: &test_support::topology::Node) -> Command {
        let mut c = node.ns.cmd(daemon().to_str().expect("utf-8 path"));
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
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("cluster.yaml");
        std::fs::write(&config, cluster_yaml(2, 2)).expect("write config");
        let bin = daemon();
        assert!(bin.exists(), "{} missing", bin.display());
        let cfg = config.clone();
        let spec = TopologySpec {
            racks: 2,
            nodes_per_rack: 2,
            tor: TorKind::Bird,
            node: NodeKind::Command(Arc::new(move |n| Lab::node_command(&cfg, n))),
        };
        let topo = Topology::build_with(spec, Tuning::default()).expect("topology");
        Lab { topo, dir }
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

#[allow(dead_code)]
/// Waits until `f` holds, polling every 20 ms; returns the time it took.
fn wait(what: &str, bound: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() <= bound, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[allow(dead_code)]
fn route_paths(ns: &test_support::Netns, dst: &str) -> Vec<Hop> {
    ns.route(dst)
        .expect("ip route")
        .map(|r| r.sorted_paths())
        .unwrap_or_default()
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
    eprintln!("converged in {took:?}");
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
