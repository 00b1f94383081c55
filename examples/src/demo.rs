//! Pieces of the dual-ToR demo shared with the `dualtor-vs-bird` benchmark:
//! running `dualtor-node` on the lab harness's guide topology from per-node
//! Calico YAML, running the embedded ToR `dualtor-tor` on its ToRs from the
//! configuration the lab gives BIRD and FRR, and removing the lab on Ctrl-C.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};
use test_support::Topology;
use test_support::daemons::config::Router;
use test_support::routes::{Path as Hop, Route};
use test_support::topology::{Node, Tor};

/// On Ctrl-C: remove every namespace this process registered (killing what
/// runs inside, as `Netns`'s Drop does), then exit 130. The main thread may
/// be anywhere in the narrative, so the cleanup goes by the lab registry
/// rather than by the `Topology` value.
pub fn install_ctrl_c() {
    std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("signal runtime");
        rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        eprintln!("\ninterrupted: removing the lab's namespaces");
        remove_own_namespaces();
        std::process::exit(130);
    });
}

/// Removes every namespace registered by this process (see
/// [`test_support::REGISTRY`]), killing what runs inside first.
pub fn remove_own_namespaces() {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir(test_support::REGISTRY) else {
        return;
    };
    for e in entries.flatten() {
        let owner = std::fs::read_to_string(e.path()).unwrap_or_default();
        if owner.trim() != me {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        for _ in 0..3 {
            let pids = Command::new("ip")
                .args(["netns", "pids", &name])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let pids: Vec<&str> = pids.split_whitespace().collect();
            if pids.is_empty() {
                break;
            }
            let _ = Command::new("kill").arg("-KILL").args(&pids).status();
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        let _ = std::fs::remove_file(e.path());
    }
}

/// `dualtor-node` next to this binary; built with cargo (same profile and
/// target dir) when missing.
pub fn node_binary() -> Result<PathBuf, String> {
    example_binary("dualtor-node")
}

/// `dualtor-tor` next to this binary; built with cargo when missing.
pub fn tor_binary() -> Result<PathBuf, String> {
    example_binary("dualtor-tor")
}

/// An example binary next to this one; built with cargo (same profile and
/// target dir) when missing, and always brought up to date under `cargo run`
/// (which sets `CARGO`), so that a stale binary from an earlier build is never
/// what the demo measures.
pub fn example_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no exe dir")?;
    // Test binaries live in `deps/`, one level below the binaries.
    let in_test = dir.file_name().is_some_and(|n| n == "deps");
    let dir = if in_test {
        dir.parent().ok_or("no target dir")?
    } else {
        dir
    };
    let bin = dir.join(name);
    // Under `cargo test` the binaries were just built with the tests' features
    // (and a nested cargo would wait on the outer one's lock): take them as they are.
    let under_cargo_run = std::env::var_os("CARGO").is_some() && !in_test;
    if bin.exists() && !under_cargo_run {
        return Ok(bin);
    }
    let target = dir.parent().ok_or("no target dir")?;
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args(["build", "-q", "-p", "examples", "--bin", name])
        .env("CARGO_TARGET_DIR", target);
    if release {
        c.arg("--release");
    }
    if !bin.exists() {
        eprintln!("building {name} ...");
    }
    let st = c.status().map_err(|e| format!("cargo: {e}"))?;
    if !st.success() || !bin.exists() {
        return Err(format!("could not build {}", bin.display()));
    }
    Ok(bin)
}

/// The embedded ToR's configuration for one lab ToR, from the BGP configuration
/// the lab gives BIRD and FRR ([`Topology::tor_router`]): the same peers, BFD
/// timers, LLGR stale time and reconnection backoff (BIRD `error wait time`).
/// BFD Down is always handled gracefully by the embedded ToR (BIRD's `bfd
/// graceful`), whatever the lab's tuning says.
pub fn tor_config(router: &Router) -> crate::tor::Config {
    let mut c = crate::tor::Config::new(router.router_id, router.asn);
    for n in &router.neighbors {
        let mut p = crate::tor::PeerConfig::new(n.peer_addr.into(), n.peer_as);
        p.name = Some(n.name.clone());
        c.peers.push(p);
    }
    c.bfd = router
        .neighbors
        .iter()
        .find_map(|n| n.bfd)
        .map(|b| crate::tor::BfdConfig {
            interval_ms: u64::try_from(b.min_tx.as_millis()).unwrap_or(u64::MAX),
            multiplier: b.multiplier,
        });
    if let Some(l) = router.neighbors.iter().find_map(|n| n.llgr) {
        c.llgr_stale_time = l.stale_time;
    }
    if let Some((lo, hi)) = router.neighbors.iter().find_map(|n| n.error_wait_time) {
        c.connect_retry_ms = u64::from(lo.max(1)) * 1000;
        c.max_connect_retry_ms = u64::from(hi.max(lo).max(1)) * 1000;
    }
    c
}

/// Resident set size of a process, KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The command that runs `dualtor-tor` on `tor`, its YAML written to `dir`.
pub fn tor_command(bin: &Path, dir: &Path, tor: &Tor, router: &Router) -> Command {
    let cfg = dir.join(format!("{}.yaml", tor.name));
    std::fs::write(&cfg, tor_config(router).to_yaml()).expect("writing the ToR's YAML");
    let mut c = tor.ns.cmd(bin.to_str().expect("utf-8 path"));
    c.arg("--config").arg(&cfg).env("RUST_LOG", "info");
    c
}

/// One node's Calico resources: the guide's two BGPPeers per rack and the
/// loopback IPPools verbatim (lab addresses), a pod pool without
/// encapsulation, the BGPConfiguration patch, the node and its block.
pub fn node_yaml(racks: u8, node: &Node, extra: u32) -> String {
    let mut y = test_support::calico::racks_yaml(racks);
    y += &test_support::calico::node_yaml(node.rack, node.index);
    y += test_support::calico::CLUSTER_YAML;
    if extra > 0 {
        y += "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: extra\n\
              spec:\n  cidr: 100.64.0.0/10\n  ipipMode: Never\n  vxlanMode: Never\n  blockSize: 32\n";
        for (i, net) in extra_routes(node, extra).iter().enumerate() {
            y += &format!(
                "---\napiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  \
                 name: {}-extra-{i}\nspec:\n  node: {}\n  cidr: {net}\n  state: confirmed\n",
                node.name, node.name
            );
        }
    }
    y
}

/// `n` extra /32 routes for `node` (up to 65,536), distinct across nodes,
/// in 100.64.0.0/10: the scale variant of the benchmark.
pub fn extra_routes(node: &Node, n: u32) -> Vec<Ipv4Net> {
    let base = u32::from(Ipv4Addr::new(100, 64, 0, 0))
        + ((u32::from(node.rack) - 1) * 16 + u32::from(node.index)) * 65_536;
    (0..n.min(65_536))
        .map(|i| Ipv4Net::new(Ipv4Addr::from(base + i), 32).expect("valid /32"))
        .collect()
}

/// The command that runs `dualtor-node` on `node`, its YAML (with `extra`
/// extra routes) written to `dir`.
pub fn node_command(bin: &Path, dir: &Path, node: &Node, extra: u32) -> Command {
    node_command_in(2, bin, dir, node, extra)
}

/// [`node_command`] in a lab of `racks` racks (the BGPPeers of every rack).
pub fn node_command_in(racks: u8, bin: &Path, dir: &Path, node: &Node, extra: u32) -> Command {
    let cfg = dir.join(format!("{}.yaml", node.name));
    std::fs::write(&cfg, node_yaml(racks, node, extra)).expect("writing the node's YAML");
    let mut c = node.ns.cmd(bin.to_str().expect("utf-8 path"));
    c.arg("--config")
        .arg(&cfg)
        .arg("--status-socket")
        .arg(dir.join(format!("{}.sock", node.name)))
        .args(["--restart-deferral", "10"])
        .env("RUST_LOG", node_log_filter());
    c
}

/// The nodes' `RUST_LOG`: `info`, or `DUALTOR_NODE_LOG` when set (for
/// diagnosis, e.g. `dualtor=debug` to see every FIB commit).
pub fn node_log_filter() -> String {
    std::env::var("DUALTOR_NODE_LOG").unwrap_or_else(|_| "info".to_owned())
}

/// The first address of a block: a pod address the static routes do not cover.
pub fn pod_addr(block: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(block.network()) + 1)
}

/// Polls the status socket until both peers are Established with End-of-RIB.
pub fn wait_established(sock: &Path, bound: Duration) -> Result<(), String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < bound {
        if let Ok(mut st) = std::os::unix::net::UnixStream::connect(sock) {
            let mut json = String::new();
            let _ = std::io::Read::read_to_string(&mut st, &mut json);
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json) {
                let peers = v["peers"].as_array().cloned().unwrap_or_default();
                if peers.len() == 2
                    && peers
                        .iter()
                        .all(|p| p["state"] == "Established" && p["end_of_rib"] == true)
                {
                    return Ok(());
                }
            }
            last = json;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("status: {last}"))
}

/// node a1's preferred route to `dst`.
pub fn preferred(routes: &[Route], dst: Ipv4Net) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| r.dst == IpNet::V4(dst))
        .min_by_key(|r| r.metric)
}

/// Whether node a1's table has `want` for every prefix; the first mismatch.
///
/// Reads the table over rtnetlink ([`routes_to`]); when that read fails it
/// falls back to `ip -j route` (`Netns::routes`) and says why in a mismatch.
pub fn table_is(a1: &Node, want: &[(Ipv4Net, Vec<Hop>)]) -> Result<(), String> {
    let dsts: Vec<Ipv4Net> = want.iter().map(|(d, _)| *d).collect();
    let (routes, how) = match routes_to(&a1.ns, &dsts) {
        Ok(r) => (r, String::new()),
        Err(nl) => {
            let r = a1
                .ns
                .routes()
                .map_err(|e| format!("netlink read failed ({nl}); ip route too: {e}"))?;
            (r, format!(" (read with ip: netlink read failed: {nl})"))
        }
    };
    for (dst, paths) in want {
        match preferred(&routes, *dst) {
            Some(r) if r.has_paths(paths) => {}
            got => {
                return Err(format!(
                    "{dst}: want {paths:?}, have {}{how}",
                    got.map_or("none".into(), ToString::to_string)
                ));
            }
        }
    }
    Ok(())
}

/// Every IPv4 main-table route of `ns` whose destination is one of `dsts`
/// (all metrics, in the kernel's order), as `Netns::routes` gives them, but
/// read over rtnetlink: one `RTM_GETROUTE` dump decoded by `fib::decode`,
/// plus the links (ifindex to name) and, when a kept route names a nexthop
/// object without carrying its paths, the nexthop objects
/// ([`resolve_nexthops`](test_support::routes::resolve_nexthops)).
///
/// `ip -j route` prints and parses every route as JSON; with 40,000 routes
/// that is hundreds of ms a read, this a few tens (see [`wait_table`]).
/// Names follow iproute2: `rt_protos` names (numbers otherwise), `if<N>` for
/// an unknown ifindex, scope `universe` when none is printed.
pub fn routes_to(ns: &test_support::Netns, dsts: &[Ipv4Net]) -> Result<Vec<Route>, String> {
    ns.enter(|| {
        // A dump interrupted by a change (NLM_F_DUMP_INTR) may be
        // inconsistent: read again, a few times.
        let mut last = String::new();
        for _ in 0..3 {
            match read_routes(dsts) {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => last = "dump interrupted by changes 3 times".into(),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    })
}

/// [`routes_to`] in the current namespace; `None` when a dump was interrupted.
fn read_routes(dsts: &[Ipv4Net]) -> Result<Option<Vec<Route>>, String> {
    use fib::decode::KernelNexthopKind;
    use test_support::routes::{Nexthop, resolve_nexthops};

    let err = |e: fib::Error| format!("netlink: {e}");
    let mut reader = fib::KernelReader::open().map_err(err)?;
    let links = reader.links().map_err(err)?;
    let mut consistent = !links.interrupted;
    let names: std::collections::HashMap<u32, String> = links
        .items
        .into_iter()
        .filter_map(|l| Some((l.ifindex, l.name?)))
        .collect();
    let dev = |i: u32| (i != 0).then(|| names.get(&i).cloned().unwrap_or_else(|| format!("if{i}")));

    let dump = reader
        .routes(fib::Family::V4, fib::message::RT_TABLE_MAIN)
        .map_err(err)?;
    consistent &= !dump.interrupted;
    let mut routes = Vec::new();
    for r in dump.items {
        let IpNet::V4(dst) = r.prefix else { continue };
        if r.table != fib::message::RT_TABLE_MAIN
            || r.flags & RTM_F_CLONED != 0
            || !dsts.contains(&dst)
        {
            continue;
        }
        let paths = match r.hops.as_slice() {
            // One path: iproute2 prints the route's own flags.
            [h] => vec![Hop {
                gateway: h.gateway,
                dev: dev(h.ifindex),
                weight: 1,
                flags: flag_names(r.flags),
            }],
            hops => hops
                .iter()
                .map(|h| Hop {
                    gateway: h.gateway,
                    dev: dev(h.ifindex),
                    weight: u32::from(h.weight),
                    flags: flag_names(u32::from(h.flags)),
                })
                .collect(),
        };
        routes.push(Route {
            dst: r.prefix,
            kind: route_type_name(r.kind),
            table: "main".into(),
            protocol: protocol_name(r.protocol),
            scope: scope_name(r.scope),
            prefsrc: r.prefsrc,
            metric: r.metric,
            nhid: r.nhid,
            paths,
        });
    }

    if routes
        .iter()
        .any(|r| r.nhid.is_some() && r.paths.is_empty() && r.kind == "unicast")
    {
        let dump = reader.nexthops().map_err(err)?;
        consistent &= !dump.interrupted;
        let objects: Vec<Nexthop> = dump
            .items
            .into_iter()
            .map(|n| {
                let mut o = Nexthop {
                    id: n.id,
                    gateway: None,
                    dev: None,
                    group: Vec::new(),
                    blackhole: false,
                    flags: flag_names(n.flags),
                };
                match n.kind {
                    KernelNexthopKind::Single { ifindex, gateway } => {
                        o.gateway = gateway;
                        o.dev = dev(ifindex);
                    }
                    KernelNexthopKind::Blackhole => o.blackhole = true,
                    KernelNexthopKind::Group { members, .. } => o.group = members,
                    _ => {}
                }
                o
            })
            .collect();
        resolve_nexthops(&mut routes, &objects);
    }
    Ok(consistent.then_some(routes))
}

/// `RTM_F_CLONED`: a cache entry, which `ip route show` leaves out.
const RTM_F_CLONED: u32 = 0x200;

/// iproute2's `flags` words for `RTNH_F_*` / `RTM_F_*` bits (`print_rt_flags`).
fn flag_names(flags: u32) -> Vec<String> {
    const NAMES: [(u32, &str); 11] = [
        (1, "dead"),
        (4, "onlink"),
        (2, "pervasive"),
        (8, "offload"),
        (0x40, "trap"),
        (0x100, "notify"),
        (0x10, "linkdown"),
        (0x20, "unresolved"),
        (0x2000, "rt_offload"),
        (0x4000, "rt_trap"),
        (0x2000_0000, "rt_offload_failed"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_owned())
        .collect()
}

/// `rtm_type` as `ip -j route` names it (`unicast` when it prints none).
fn route_type_name(t: u8) -> String {
    const NAMES: [&str; 12] = [
        "none",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
        "xresolve",
    ];
    NAMES
        .get(usize::from(t))
        .map_or_else(|| t.to_string(), |n| (*n).to_owned())
}

/// `rtm_scope` as `Route::scope` holds it (`universe` when `ip` prints none).
fn scope_name(s: u8) -> String {
    match s {
        0 => "universe".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        _ => s.to_string(),
    }
}

/// `rtm_protocol` as `ip` names it: iproute2's built-in names, then
/// `/etc/iproute2/rt_protos` and `rt_protos.d/*.conf`, else the number.
fn protocol_name(p: u8) -> String {
    static NAMES: std::sync::OnceLock<std::collections::HashMap<u8, String>> =
        std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        let mut files = vec![PathBuf::from("/etc/iproute2/rt_protos")];
        if let Ok(d) = std::fs::read_dir("/etc/iproute2/rt_protos.d") {
            let mut conf: Vec<PathBuf> = d
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                .collect();
            conf.sort();
            files.extend(conf);
        }
        for f in files {
            for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
                let mut w = line.split_whitespace();
                if let (Some(id), Some(name)) = (w.next(), w.next())
                    && let Ok(id) = id.parse::<u8>()
                    && !name.starts_with('#')
                {
                    m.insert(id, name.to_owned());
                }
            }
        }
        // iproute2's built-in table wins over the files.
        for (id, name) in [
            (0, "unspec"),
            (1, "redirect"),
            (2, "kernel"),
            (3, "boot"),
            (4, "static"),
            (8, "gated"),
            (9, "ra"),
            (10, "mrt"),
            (11, "zebra"),
            (12, "bird"),
            (13, "dnrouted"),
            (14, "xorp"),
            (15, "ntk"),
            (16, "dhcp"),
            (18, "keepalived"),
            (42, "babel"),
            (99, "openr"),
            (186, "bgp"),
            (187, "isis"),
            (188, "ospf"),
            (189, "rip"),
            (192, "eigrp"),
        ] {
            m.insert(id, name.to_owned());
        }
        m
    });
    names.get(&p).cloned().unwrap_or_else(|| p.to_string())
}

/// Waits until node a1's table is `want`; how long it took after `since`.
///
/// Polls the table every millisecond over rtnetlink ([`routes_to`]): the
/// table itself, with nothing coalesced. One read of ~40,000 routes (a1 with
/// `--extra-routes 10000`) takes ~29 ms in a release build on an idle lab
/// machine, against ~260 ms for `ip -j route` (test `route_poll`, medians of
/// 5); a loaded machine makes both slower. A failover time is thus late by
/// up to one read. (`test_support::watch::RouteWatcher` follows nexthop
/// groups too, so it also sees dualtor moving a whole plane by changing one
/// group, but its timestamps are those of coalesced events.)
pub fn wait_table(
    a1: &Node,
    want: &[(Ipv4Net, Vec<Hop>)],
    since: Instant,
    bound: Duration,
) -> Result<Duration, String> {
    loop {
        match table_is(a1, want) {
            Ok(()) => return Ok(since.elapsed()),
            Err(e) if since.elapsed() > bound => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// node a1's expected routes with only the planes `ok` says work for each peer.
pub fn want(t: &Topology, ok: impl Fn(&Node, usize) -> bool) -> Vec<(Ipv4Net, Vec<Hop>)> {
    let full = t.expected_ecmp(1, 1);
    let mut v = Vec::new();
    for other in t.nodes().iter().filter(|o| o.name != "a1") {
        let paths: Vec<Hop> = (0..2)
            .filter(|&q| ok(other, q))
            .map(|q| {
                let dev = format!("eth{q}");
                if other.rack == 1 {
                    Hop::via(&other.nic[q].to_string(), &dev)
                } else {
                    Hop::via(&t.node_info(1, 1).tor_addr[q].to_string(), &dev)
                }
            })
            .collect();
        for (dst, _) in full
            .iter()
            .filter(|(d, _)| d.addr() == other.loopback || *d == other.pod_block)
        {
            v.push((*dst, paths.clone()));
        }
    }
    v
}
