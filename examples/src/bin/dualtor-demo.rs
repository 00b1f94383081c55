//! `dualtor-demo`: Calico's dual-ToR guide, running, narrated for node A1.
//!
//! ```text
//! sudo dualtor-demo [--tor dualtor|bird|frr] [--json] [--node-bin PATH] [--tor-bin PATH]
//! ```
//!
//! Builds the guide's example topology in network namespaces (racks A and B,
//! two planes, two nodes per rack, the guide's 172.31.X.Y addressing and
//! static bootstrap routes), starts `dualtor-node` on every node from the
//! guide's own BGPPeer/IPPool YAML (one file per node, adapted only to the
//! lab's addresses), then shows for node A1:
//!
//! 1. the routes of the guide's "Verify the deployment" section, checked;
//! 2. plane 1 broken between the racks (ToR-ToR link down): how long A1 took
//!    to go single-path, then the repair and the time back to ECMP;
//! 3. a node-to-ToR link failure (A1 eth0 down) and its repair, then a wait
//!    until the whole network is quiet (every node ECMP, the ToRs' sessions up,
//!    no kernel route changing anywhere for a second): the failure's aftermath
//!    on the ToRs must not be counted against the restart;
//! 4. a restart of A1's routing process (SIGTERM, start again) while a probe
//!    flow runs between pod addresses of A1 and B1: the packets lost.
//!
//! A summary table ends the run; `--json` prints the same as one JSON document
//! on stdout (progress goes to stderr; the JSON says which ToR ran). Exit
//! status: 0 when every check passed, 1 when one failed, 2 without root (or,
//! with `--tor bird|frr`, without that daemon: the message gives the apt
//! command), 130 on Ctrl-C. Every namespace the demo created is removed on
//! exit, on Ctrl-C and on a panic.
//!
//! The ToRs are, by default (`--tor dualtor`), the embedded ToR route
//! reflector `dualtor-tor` built from this project's crates (see
//! `examples::tor`), so that the demo needs nothing installed; or BIRD 2
//! (`--tor bird`) or FRR (`--tor frr`). All three get the same configuration
//! from the lab harness (`test-support`): route reflection for the rack
//! keeping the nodes' next hops, eBGP with next-hop-self to the other rack's
//! same-plane ToR, BFD 100 ms x 3 (BFD Down handled gracefully) and LLGR with
//! GR time 0 on every session, reconnection at once after a failure.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use ipnet::{IpNet, Ipv4Net};
use serde::Serialize;
use test_support::daemons::Process;
use test_support::routes::{Path as Hop, Route};
use test_support::topology::{Daemon, Node, NodeKind, TorKind, Tuning, loopback, pod_block};
use test_support::{Need, Topology, TopologySpec};

use examples::demo::{
    install_ctrl_c, node_binary, node_command_in, pod_addr, preferred, rss_kib, table_is,
    tor_binary, tor_command, wait_established, wait_table, want,
};

/// Our BFD detection time against the ToRs' 100 ms x 3 (the dualtor lab
/// tests' bound), plus one second: the bound on every failover.
const FAILOVER_BOUND: Duration = Duration::from_millis(1500);
/// Back to ECMP after a repair (BFD Up, reconnect at once, End-of-RIB).
const REPAIR_BOUND: Duration = Duration::from_secs(10);
/// How long no kernel route may change on any namespace before the network
/// counts as converged (longer than the ToRs' BFD detection time, so that a
/// session reset a detection time after a repair is seen).
const QUIET: Duration = Duration::from_millis(1000);
/// Bound on waiting for that quiet (FRR ToRs reset a node's session after a
/// link blip and take a few seconds to settle).
const QUIET_BOUND: Duration = Duration::from_secs(30);
/// Probe rate of the restart scenario (datagrams per second, each way).
const PROBE_RATE: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Tor {
    /// The embedded ToR route reflector `dualtor-tor` (nothing to install).
    Dualtor,
    /// BIRD 2 ToRs.
    Bird,
    /// FRR ToRs.
    Frr,
}

/// Calico's dual-ToR guide in network namespaces, narrated for node A1.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// What runs on the ToRs.
    #[arg(long, value_enum, default_value_t = Tor::Dualtor)]
    tor: Tor,
    /// Print the summary as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// The `dualtor-node` binary (default: next to this one, built if missing).
    #[arg(long)]
    node_bin: Option<PathBuf>,
    /// The `dualtor-tor` binary for `--tor dualtor` (default: next to this one,
    /// built if missing).
    #[arg(long)]
    tor_bin: Option<PathBuf>,
    /// Racks (2..=9): the guide's example has 2; more racks share a per-plane
    /// spine bridge, and "plane 1 broken" cuts ra1's core link.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=9))]
    racks: u8,
    /// Nodes per rack (2..=15).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=15))]
    nodes_per_rack: u8,
}

/// One line of the summary.
#[derive(Debug, Clone, Serialize)]
struct Step {
    /// What was done or checked.
    what: String,
    /// Milliseconds, for timings.
    ms: Option<f64>,
    /// Packets lost, for the probe flow.
    lost: Option<u64>,
    /// The bound or target the value is checked against.
    bound: String,
    /// Whether the check held.
    ok: bool,
    /// Evidence when it did not.
    detail: String,
}

/// The whole run, as `--json` prints it.
#[derive(Debug, Default, Serialize)]
struct Summary {
    tor: String,
    racks: u8,
    nodes_per_rack: u8,
    /// Largest resident set of a ToR process after convergence, KiB (embedded ToR only).
    tor_rss_kib: Option<u64>,
    /// Largest resident set of a `dualtor-node` after convergence, KiB.
    node_rss_kib: Option<u64>,
    ok: bool,
    converged_ms: Option<f64>,
    routes_ok: bool,
    plane_break_single_path_ms: Option<f64>,
    plane_repair_ecmp_ms: Option<f64>,
    link_down_single_path_ms: Option<f64>,
    link_repair_ecmp_ms: Option<f64>,
    restart_packets_sent: Option<u64>,
    restart_packets_lost: Option<u64>,
    steps: Vec<Step>,
}

/// Progress output: stdout, or stderr under `--json`.
struct Out {
    json: bool,
}

impl Out {
    fn say(&self, s: &str) {
        if self.json {
            eprintln!("{s}");
        } else {
            println!("{s}");
            let _ = std::io::stdout().flush();
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    let out = Out { json: args.json };
    let mut needs = vec![Need::Root];
    match args.tor {
        Tor::Dualtor => {}
        Tor::Bird => needs.push(Need::Bird),
        Tor::Frr => needs.push(Need::Frr),
    }
    let missing = test_support::missing(&needs);
    if !missing.is_empty() {
        eprintln!(
            "dualtor-demo needs root (it creates network namespaces){}: {}",
            if args.tor == Tor::Dualtor {
                ""
            } else {
                " and the ToR daemon"
            },
            missing.join("; ")
        );
        if args.tor != Tor::Dualtor {
            eprintln!(
                "  (BIRD 2 / FRR: apt-get install -y --no-install-recommends bird2 frr nftables iproute2)"
            );
        }
        return ExitCode::from(2);
    }
    install_ctrl_c();
    let node_bin = match args.node_bin.clone().map_or_else(node_binary, Ok) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dualtor-node: {e}");
            return ExitCode::from(1);
        }
    };
    let tor_bin = match args.tor {
        Tor::Dualtor => match args.tor_bin.clone().map_or_else(tor_binary, Ok) {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("dualtor-tor: {e}");
                return ExitCode::from(1);
            }
        },
        _ => None,
    };
    let mut summary = Summary {
        tor: format!("{:?}", args.tor).to_lowercase(),
        racks: args.racks,
        nodes_per_rack: args.nodes_per_rack,
        ..Summary::default()
    };
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&args, &node_bin, tor_bin.as_deref(), &out, &mut summary)
    }));
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => summary.steps.push(Step {
            what: "demo aborted".into(),
            ms: None,
            lost: None,
            bound: String::new(),
            ok: false,
            detail: e,
        }),
        Err(_) => summary.steps.push(Step {
            what: "demo panicked".into(),
            ms: None,
            lost: None,
            bound: String::new(),
            ok: false,
            detail: "see the panic message above".into(),
        }),
    }
    summary.ok = !summary.steps.is_empty() && summary.steps.iter().all(|s| s.ok);
    print_table(&out, &summary);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summary serialises")
        );
    }
    if summary.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn step(s: &mut Summary, out: &Out, st: Step) {
    let mark = if st.ok { "ok" } else { "FAILED" };
    let mut line = format!("   [{mark}] {}", st.what);
    if let Some(m) = st.ms {
        line += &format!(": {m} ms");
    }
    if let Some(l) = st.lost {
        line += &format!(": {l} packets lost");
    }
    if !st.bound.is_empty() {
        line += &format!(" ({})", st.bound);
    }
    out.say(&line);
    if !st.ok && !st.detail.is_empty() {
        out.say(&format!(
            "          {}",
            st.detail.replace('\n', "\n          ")
        ));
    }
    s.steps.push(st);
}

fn check(what: &str, ok: bool, detail: String) -> Step {
    Step {
        what: what.into(),
        ms: None,
        lost: None,
        bound: String::new(),
        ok,
        detail: if ok { String::new() } else { detail },
    }
}

fn timing(what: &str, took: Result<Duration, String>, bound: Duration) -> Step {
    match took {
        Ok(d) => Step {
            what: what.into(),
            ms: Some(ms(d)),
            lost: None,
            bound: format!("bound {} ms", bound.as_millis()),
            ok: d <= bound,
            detail: String::new(),
        },
        Err(e) => Step {
            what: what.into(),
            ms: None,
            lost: None,
            bound: format!("bound {} ms", bound.as_millis()),
            ok: false,
            detail: e,
        },
    }
}

/// A route as the guide prints it.
fn guide_style(r: &Route) -> String {
    let hop = |p: &Hop| {
        let mut s = String::new();
        if let Some(g) = p.gateway {
            s += &format!("via {g} ");
        }
        if let Some(d) = &p.dev {
            s += &format!("dev {d}");
        }
        s.trim_end().to_owned()
    };
    match r.paths.as_slice() {
        [] => format!("{} {}", r.dst, r.kind),
        [one] => format!("{} {}", r.dst, hop(one)),
        many => {
            let mut s = r.dst.to_string();
            for p in many {
                s += &format!("\n   nexthop {}", hop(p));
            }
            s
        }
    }
}

fn run(
    args: &Args,
    bin: &Path,
    tor_bin: Option<&Path>,
    out: &Out,
    s: &mut Summary,
) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    out.say(&format!(
        "== Calico's dual-ToR guide: {} racks, planes 1 and 2, {} nodes per rack, {} ToRs",
        args.racks,
        args.nodes_per_rack,
        match args.tor {
            Tor::Dualtor => "embedded dualtor-tor",
            Tor::Bird => "BIRD 2",
            Tor::Frr => "FRR",
        }
    ));
    out.say("   node loopbacks 172.31.10.x (rack A), 172.31.20.x (rack B); plane NICs 172.31.<10r+p>.x scope link");
    out.say("   static bootstrap routes as the guide; dualtor-node on every node from the guide's BGPPeer/IPPool YAML");
    // The guide recommends that BFD Down "initiate LLGR procedures" on the
    // ToRs too: a node's own restart must not make the ToRs drop its routes.
    let mut tuning = Tuning::default();
    if let Some(b) = tuning.bfd.as_mut() {
        b.graceful = true;
    }
    let (b2, d2) = (bin.to_path_buf(), dir.path().to_path_buf());
    let racks = args.racks;
    let spec = TopologySpec {
        racks: args.racks,
        nodes_per_rack: args.nodes_per_rack,
        tor: match (args.tor, tor_bin) {
            (Tor::Dualtor, Some(tb)) => {
                let (tb, d) = (tb.to_path_buf(), dir.path().to_path_buf());
                TorKind::Command(Arc::new(move |t, r| tor_command(&tb, &d, t, r)))
            }
            (Tor::Dualtor, None) => return Err("no dualtor-tor binary".into()),
            (Tor::Bird, _) => TorKind::Bird,
            (Tor::Frr, _) => TorKind::Frr,
        },
        node: NodeKind::Command(Arc::new(move |n| node_command_in(racks, &b2, &d2, n, 0))),
    };
    let started = Instant::now();
    let mut topo =
        Topology::build_with(spec, tuning).map_err(|e| format!("building the lab: {e}"))?;
    out.say(&format!(
        "   built {} namespaces in {} ms; waiting for full ECMP on every node ...",
        topo.nodes().len() + topo.tors().len() + if args.racks > 2 { 2 } else { 0 },
        started.elapsed().as_millis()
    ));
    let conv = topo.wait_converged(Duration::from_secs(30));
    let conv_step = timing(
        "converged (full ECMP on every node)",
        conv.map_err(|e| format!("{e}\n{}", logs(&mut topo))),
        Duration::from_secs(30),
    );
    s.converged_ms = conv_step.ms;
    let converged = conv_step.ok;
    step(s, out, conv_step);
    if !converged {
        return Ok(());
    }
    let (tor_rss, node_rss) = largest_rss(&mut topo);
    s.tor_rss_kib = tor_rss;
    s.node_rss_kib = node_rss;
    out.say(&format!(
        "   resident memory after convergence: largest ToR process {}, largest dualtor-node {}",
        tor_rss.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        node_rss.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
    ));

    // 1. The guide's "Verify the deployment", on A1.
    out.say("\n== 1. Verify the deployment (the guide's last section), on node a1:");
    verify(&topo, out, s);

    let a1 = topo.node_info(1, 1);
    let cross: Vec<Ipv4Net> = want(&topo, |o, _| o.rack != 1)
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(d, _)| d)
        .collect();
    let all: Vec<Ipv4Net> = want(&topo, |_, _| true)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let full = want(&topo, |_, _| true);

    // 2. Plane 1 broken between the racks.
    out.say("\n== 2. Break plane 1 between the racks (ra1's core link down):");
    let ra1 = topo.tor(1, 1);
    let t0 = Instant::now();
    let mut core = test_support::faults::link_down(ra1, "core").map_err(|e| e.to_string())?;
    let single = want(&topo, |o, q| !(o.rack != 1 && q == 0));
    let took = wait_table(a1, &single, t0, FAILOVER_BOUND);
    let st = timing(
        "a1 single-path to the other racks (via plane 2)",
        took,
        FAILOVER_BOUND,
    );
    s.plane_break_single_path_ms = st.ms;
    step(s, out, st);
    print_routes(out, a1, &cross[..2.min(cross.len())]);
    let t1 = Instant::now();
    core.repair().map_err(|e| e.to_string())?;
    let took = wait_table(a1, &full, t1, REPAIR_BOUND);
    let st = timing("repaired: a1 back to ECMP", took, REPAIR_BOUND);
    s.plane_repair_ecmp_ms = st.ms;
    step(s, out, st);

    // 3. Node-to-ToR link failure.
    out.say("\n== 3. Node-to-ToR link failure (a1 eth0 down):");
    let t0 = Instant::now();
    let mut eth0 = test_support::faults::link_down(&a1.ns, "eth0").map_err(|e| e.to_string())?;
    let single = want(&topo, |_, q| q == 1);
    let took = wait_table(a1, &single, t0, FAILOVER_BOUND);
    let st = timing(
        "a1 single-path to every node (via eth1)",
        took,
        FAILOVER_BOUND,
    );
    s.link_down_single_path_ms = st.ms;
    step(s, out, st);
    print_routes(out, a1, &all[..2.min(all.len())]);
    let t1 = Instant::now();
    eth0.repair().map_err(|e| e.to_string())?;
    let took = wait_table(a1, &full, t1, REPAIR_BOUND);
    let st = timing("repaired: a1 back to ECMP", took, REPAIR_BOUND);
    s.link_repair_ecmp_ms = st.ms;
    step(s, out, st);
    // a1's own table is back, but the failure's aftermath may still be on its
    // way through the ToRs (a ToR resetting a1's session a BFD detection time
    // after the repair, a withdrawal and re-announcement to the other rack):
    // the restart's probe must measure the restart, so wait for the whole
    // network to be quiet first.
    let quiet = topo.wait_quiet(QUIET, QUIET_BOUND);
    let st = timing(
        &format!(
            "every node ECMP, ToR sessions up, no route change for {} ms",
            QUIET.as_millis()
        ),
        quiet.map_err(|e| e.to_string()),
        QUIET_BOUND,
    );
    step(s, out, st);

    // 4. Restart of a1's routing process under a pod-to-pod flow.
    out.say("\n== 4. Restart a1's routing process (SIGTERM, start again) under a pod-to-pod flow:");
    restart(&mut topo, bin, dir.path(), out, s)?;
    Ok(())
}

fn verify(t: &Topology, out: &Out, s: &mut Summary) {
    let a1 = t.node_info(1, 1);
    let routes = match a1.ns.routes() {
        Ok(r) => r,
        Err(e) => {
            step(s, out, check("reading a1's routes", false, e.to_string()));
            return;
        }
    };
    let mut ok = true;
    let mut shown = Vec::new();
    for (dst, paths) in t.expected_ecmp(1, 1) {
        let r = preferred(&routes, dst);
        let fine = r.is_some_and(|r| r.has_paths(&paths) && r.prefsrc == Some(a1.loopback.into()));
        if let Some(r) = r {
            out.say(&format!("   {}", guide_style(r).replace('\n', "\n   ")));
        }
        let what = if dst.prefix_len() == 32 {
            "loopback"
        } else {
            "pod block"
        };
        step(
            s,
            out,
            check(
                &format!("{what} {dst}: ECMP over both planes, src {}", a1.loopback),
                fine,
                format!(
                    "want {paths:?}, have {}",
                    r.map_or("none".into(), ToString::to_string)
                ),
            ),
        );
        ok &= fine;
        shown.push(dst);
    }
    for rack in 1..=2u8 {
        let boot: IpNet = format!("172.31.{}.0/24", 10 * u16::from(rack))
            .parse()
            .expect("prefix");
        let r = routes.iter().find(|r| r.dst == boot);
        let fine = r.is_some_and(Route::is_ecmp);
        step(
            s,
            out,
            check(
                &format!("static bootstrap route {boot} untouched (ECMP)"),
                fine,
                format!("have {}", r.map_or("none".into(), ToString::to_string)),
            ),
        );
        ok &= fine;
    }
    for (r, n) in [(1u8, 2u8), (2, 1), (2, 2)] {
        let lo = loopback(r, n);
        let got = a1
            .ns
            .ip(&["-j", "route", "get", &lo.to_string()])
            .ok()
            .and_then(|o| serde_json::from_str::<serde_json::Value>(&o).ok())
            .and_then(|v| v[0]["prefsrc"].as_str().map(str::to_owned));
        let fine = got.as_deref() == Some(a1.loopback.to_string().as_str());
        step(
            s,
            out,
            check(
                &format!("ip route get {lo}: src {}", a1.loopback),
                fine,
                format!("src {got:?}"),
            ),
        );
        ok &= fine;
    }
    s.routes_ok = ok;
}

fn print_routes(out: &Out, a1: &Node, dsts: &[Ipv4Net]) {
    if let Ok(routes) = a1.ns.routes() {
        for d in dsts {
            if let Some(r) = preferred(&routes, *d) {
                out.say(&format!(
                    "      {}",
                    guide_style(r).replace('\n', "\n      ")
                ));
            }
        }
    }
}

fn restart(
    t: &mut Topology,
    bin: &Path,
    dir: &Path,
    out: &Out,
    s: &mut Summary,
) -> Result<(), String> {
    let (a1, b1) = (t.node_info(1, 1), t.node_info(2, 1));
    let (a1_pod, b1_pod) = (pod_addr(pod_block(1, 1)), pod_addr(pod_block(2, 1)));
    a1.ns
        .addr_add("lo", &format!("{a1_pod}/32"))
        .map_err(|e| e.to_string())?;
    b1.ns
        .addr_add("lo", &format!("{b1_pod}/32"))
        .map_err(|e| e.to_string())?;
    let fwd = test_support::probe::Probe::start(&a1.ns, a1_pod, &b1.ns, b1_pod, PROBE_RATE)
        .map_err(|e| e.to_string())?;
    let back = test_support::probe::Probe::start(&b1.ns, b1_pod, &a1.ns, a1_pod, PROBE_RATE)
        .map_err(|e| e.to_string())?;
    out.say(&format!(
        "   probe flows {a1_pod} <-> {b1_pod} at {PROBE_RATE} packets/s each way"
    ));
    std::thread::sleep(Duration::from_millis(300));
    let stopped = Instant::now();
    if let Daemon::Command(p) = t.node_daemon(1, 1) {
        p.stop();
    }
    out.say(&format!(
        "   a1: dualtor-node stopped (SIGTERM) in {} ms; its routes stay in the kernel",
        stopped.elapsed().as_millis()
    ));
    std::thread::sleep(Duration::from_millis(500));
    let racks = t.spec().racks;
    let cmd = node_command_in(racks, bin, dir, t.node_info(1, 1), 0);
    let p = Process::spawn_logged("a1", cmd).map_err(|e| e.to_string())?;
    *t.node_daemon(1, 1) = Daemon::Command(p);
    let sock = dir.join("a1.sock");
    let back_up = wait_established(&sock, Duration::from_secs(15));
    let st = timing(
        "a1 restarted: both sessions Established with End-of-RIB",
        back_up.map(|()| stopped.elapsed()),
        Duration::from_secs(15),
    );
    step(s, out, st);
    let full = want(t, |_, _| true);
    let st = check(
        "a1's routes unchanged across the restart",
        table_is(t.node_info(1, 1), &full).is_ok(),
        table_is(t.node_info(1, 1), &full).err().unwrap_or_default(),
    );
    step(s, out, st);
    std::thread::sleep(Duration::from_millis(500));
    let (fwd, back) = (fwd.stop(), back.stop());
    let sent = fwd.sent + back.sent;
    let lost = (fwd.lost.len() + back.lost.len()) as u64;
    s.restart_packets_sent = Some(sent);
    s.restart_packets_lost = Some(lost);
    step(
        s,
        out,
        Step {
            what: format!("pod-to-pod probe across the restart ({sent} packets sent)"),
            ms: None,
            lost: Some(lost),
            bound: "target 0".into(),
            ok: lost == 0 && fwd.sent > 0 && back.sent > 0,
            detail: format!(
                "a1->b1 outages {:?}, b1->a1 outages {:?}",
                fwd.outages(),
                back.outages()
            ),
        },
    );
    Ok(())
}

fn logs(t: &mut Topology) -> String {
    let mut s = String::new();
    let nodes: Vec<(u8, u8, String)> = t
        .nodes()
        .iter()
        .map(|n| (n.rack, n.index, n.name.clone()))
        .collect();
    for (r, n, name) in nodes {
        if let Daemon::Command(p) = t.node_daemon(r, n) {
            s += &format!("--- {name}:\n{}\n", p.output_tail());
        }
    }
    let tors: Vec<(u8, u8, String)> = t
        .tors()
        .iter()
        .map(|x| (x.rack, x.plane, x.name.clone()))
        .collect();
    for (r, p, name) in tors {
        if let Daemon::Command(d) = t.tor_daemon(r, p) {
            s += &format!("--- {name}:\n{}\n", d.output_tail());
        }
    }
    s
}

/// The largest resident set of the ToR processes and of the node processes
/// the demo started (KiB), `None` for daemons it did not start itself.
fn largest_rss(t: &mut Topology) -> (Option<u64>, Option<u64>) {
    let tors: Vec<(u8, u8)> = t.tors().iter().map(|x| (x.rack, x.plane)).collect();
    let nodes: Vec<(u8, u8)> = t.nodes().iter().map(|x| (x.rack, x.index)).collect();
    let pid = |d: &mut Daemon| match d {
        Daemon::Command(p) => p.pid(),
        _ => None,
    };
    let tor = tors
        .into_iter()
        .filter_map(|(r, p)| pid(t.tor_daemon(r, p)).and_then(rss_kib))
        .max();
    let node = nodes
        .into_iter()
        .filter_map(|(r, n)| pid(t.node_daemon(r, n)).and_then(rss_kib))
        .max();
    (tor, node)
}

fn print_table(out: &Out, s: &Summary) {
    out.say(&format!(
        "\n== Summary ({} ToRs, {} racks x {} nodes)",
        s.tor, s.racks, s.nodes_per_rack
    ));
    let w = s.steps.iter().map(|st| st.what.len()).max().unwrap_or(10);
    out.say(&format!(
        "   {:<w$}  {:>12}  {:<18}  result",
        "step", "value", "bound"
    ));
    for st in &s.steps {
        let val = match (st.ms, st.lost) {
            (Some(m), _) => format!("{m} ms"),
            (_, Some(l)) => format!("{l} lost"),
            _ => String::new(),
        };
        out.say(&format!(
            "   {:<w$}  {:>12}  {:<18}  {}",
            st.what,
            val,
            st.bound,
            if st.ok { "ok" } else { "FAILED" }
        ));
    }
    out.say(&format!(
        "   => {}",
        if s.ok {
            "every check passed"
        } else {
            "SOME CHECKS FAILED"
        }
    ));
}
