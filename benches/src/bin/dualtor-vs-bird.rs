//! `dualtor-vs-bird`: the same dual-ToR lab twice, once with BIRD 2 on the
//! nodes configured as calico-node would for the guide, once with
//! `dualtor-node`, with the same BIRD 2 ToRs and BFD timers.
//!
//! ```text
//! sudo dualtor-vs-bird [--runs N] [--extra-routes N] [--tiny] [--node-bin PATH]
//! ```
//!
//! Both runs: BFD 100 ms x 3 in graceful mode on every session, LLGR (GR time
//! 0), ToRs accepting a reconnection at once (BIRD `error wait time 1,10`).
//! Scenarios on node a1, each `--runs` times (median and range):
//! - silent node-to-ToR loss (nftables drop on a1 eth0): time until a1's
//!   routes are single-path via eth1; then the end of the loss: time until
//!   ECMP is back;
//! - node-to-ToR link down (a1 eth0): the same two times;
//! - the node's own restart (BIRD: `Bird::restart`; dualtor: SIGTERM and
//!   start) under a pod-to-pod probe flow a1 <-> b1: packets lost.
//!
//! Times are read by polling a1's `ip route` (a few ms per read: that is the
//! resolution; with `--extra-routes 10000` a1 holds 30,000 routes and one
//! read takes a few hundred ms, which then dominates the figures). Each contender must end every scenario with the same table
//! (the checksum of a1's expected routes), else the bench fails.
//! `--extra-routes N` adds N /32s per node (BIRD: static routes exported;
//! dualtor: BlockAffinities). `--tiny`: one run, the guide's routes only.
//! Final line: `failover dualtor/bird: X.XX, repair dualtor/bird: Y.YY,
//! restart loss dualtor: N` (ratios of the medians of link-down + silent
//! loss failover, and of repair).
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use examples::demo::{
    extra_routes, install_ctrl_c, node_binary, node_command, pod_addr, wait_established,
    wait_table, want,
};
use test_support::daemons::Process;
use test_support::daemons::config::to_bird;
use test_support::topology::{Daemon, NodeKind, TorKind, Tuning};
use test_support::{Need, Topology, TopologySpec};

/// The same lab twice: BIRD 2 nodes against dualtor-node.
#[derive(Debug, Parser)]
struct Args {
    /// Runs per scenario.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Extra /32 routes originated by every node (0 = the guide's routes).
    #[arg(long, default_value_t = 0)]
    extra_routes: u32,
    /// One run, the guide's routes: a few seconds per contender.
    #[arg(long)]
    tiny: bool,
    /// The `dualtor-node` binary (default: next to the examples' binaries).
    #[arg(long)]
    node_bin: Option<PathBuf>,
    /// Measure dualtor-node only (diagnosis: per-run lines, no comparison).
    #[arg(long)]
    dualtor_only: bool,
    /// dualtor-node's `--nexthop-compat-mode` (default: the kernel's, 1).
    /// BIRD installs plain multipath routes, which the knob does not affect.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    nexthop_compat_mode: Option<u8>,
}

/// `dualtor-node`'s command for `n`, with the bench's options.
fn dualtor_command(
    bin: &std::path::Path,
    dir: &std::path::Path,
    n: &test_support::topology::Node,
    extra: u32,
    compat: Option<u8>,
) -> std::process::Command {
    let mut c = node_command(bin, dir, n, extra);
    if let Some(m) = compat {
        c.args(["--nexthop-compat-mode", &m.to_string()]);
    }
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contender {
    Bird,
    Dualtor,
}

/// Measurements of one contender, in ms (restart: packets lost).
#[derive(Debug, Default)]
struct Figures {
    silent_failover: Vec<f64>,
    silent_repair: Vec<f64>,
    link_failover: Vec<f64>,
    link_repair: Vec<f64>,
    restart_lost: Vec<f64>,
}

const FAIL_BOUND: Duration = Duration::from_secs(10);
const REPAIR_BOUND: Duration = Duration::from_secs(60);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    if args.tiny {
        args.runs = 1;
        args.extra_routes = 0;
    }
    let missing = test_support::missing(&[Need::Root, Need::Bird, Need::Nft]);
    if !missing.is_empty() {
        eprintln!("dualtor-vs-bird needs {}", missing.join("; "));
        return ExitCode::from(2);
    }
    install_ctrl_c();
    let bin = match args.node_bin.clone().map_or_else(node_binary, Ok) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("dualtor-node: {e}");
            return ExitCode::from(1);
        }
    };
    let mut results = Vec::new();
    let contenders: &[Contender] = if args.dualtor_only {
        &[Contender::Dualtor]
    } else {
        &[Contender::Bird, Contender::Dualtor]
    };
    for &c in contenders {
        match measure(c, &args, &bin) {
            Ok(f) => results.push((c, f)),
            Err(e) => {
                eprintln!("{c:?}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    if args.dualtor_only {
        return ExitCode::SUCCESS;
    }
    print_table(&args, &results);
    let (bird, dual) = (&results[0].1, &results[1].1);
    let fail = |f: &Figures| median(&f.silent_failover) + median(&f.link_failover);
    let rep = |f: &Figures| median(&f.silent_repair) + median(&f.link_repair);
    println!(
        "failover dualtor/bird: {:.2}, repair dualtor/bird: {:.2}, restart loss dualtor: {}",
        fail(dual) / fail(bird),
        rep(dual) / rep(bird),
        dual.restart_lost.iter().sum::<f64>() as u64
    );
    ExitCode::SUCCESS
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// A table row: its name, the figures it shows, and their unit.
type Row = (&'static str, fn(&Figures) -> &Vec<f64>, &'static str);

fn print_table(args: &Args, results: &[(Contender, Figures)]) {
    println!(
        "\n{} run(s) per scenario, {} extra routes per node; BIRD 2 ToRs, BFD 100 ms x 3 graceful, error wait 1,10",
        args.runs, args.extra_routes
    );
    println!(
        "| scenario | BIRD 2 nodes median (range) | dualtor-node median (range) |\n|---|---|---|"
    );
    let rows: [Row; 5] = [
        (
            "silent node-ToR loss -> single-path",
            |f| &f.silent_failover,
            "ms",
        ),
        ("silent loss ends -> ECMP back", |f| &f.silent_repair, "ms"),
        (
            "node-ToR link down -> single-path",
            |f| &f.link_failover,
            "ms",
        ),
        ("link repaired -> ECMP back", |f| &f.link_repair, "ms"),
        ("own restart: packets lost", |f| &f.restart_lost, "pkts"),
    ];
    for (name, get, unit) in rows {
        let cell = |f: &Figures| {
            let v = get(f);
            let (lo, hi) = range(v);
            format!("{:.1} {unit} ({lo:.1}-{hi:.1})", median(v))
        };
        println!(
            "| {name} | {} | {} |",
            cell(&results[0].1),
            cell(&results[1].1)
        );
    }
}

fn measure(c: Contender, args: &Args, bin: &std::path::Path) -> Result<Figures, String> {
    eprintln!("== {c:?} nodes: building the lab");
    let mut tuning = Tuning::default();
    if let Some(b) = tuning.bfd.as_mut() {
        b.graceful = true;
    }
    tuning.error_wait_time = (1, 10);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let extra = args.extra_routes;
    let node = match c {
        Contender::Bird => NodeKind::Bird,
        Contender::Dualtor => {
            let (b, d) = (bin.to_path_buf(), dir.path().to_path_buf());
            let compat = args.nexthop_compat_mode;
            NodeKind::Command(Arc::new(move |n| dualtor_command(&b, &d, n, extra, compat)))
        }
    };
    let spec = TopologySpec {
        racks: 2,
        nodes_per_rack: 2,
        tor: TorKind::Bird,
        node,
    };
    let mut topo = Topology::build_with(spec, tuning).map_err(|e| e.to_string())?;
    if c == Contender::Bird && extra > 0 {
        for (r, n) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            let mut router = topo.node_router(r, n);
            router
                .originate
                .extend(extra_routes(topo.node_info(r, n), extra));
            if let Some(b) = topo.node_bird(r, n) {
                b.reconfigure(&to_bird(&router))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    let took = topo
        .wait_converged(Duration::from_secs(60))
        .map_err(|e| e.to_string())?;
    if extra > 0 {
        wait_extra(&topo, extra)?;
    }
    eprintln!("   converged in {took:?}");
    let mut f = Figures::default();
    let full = want(&topo, |_, _| true);
    let single = want(&topo, |_, q| q == 1);
    let a1 = topo.node_info(1, 1);
    for run in 0..args.runs {
        // Silent loss.
        let t0 = Instant::now();
        let mut loss = test_support::faults::drop_all(&a1.ns, "eth0").map_err(|e| e.to_string())?;
        f.silent_failover
            .push(ms(wait_table(a1, &single, t0, FAIL_BOUND)?));
        let t1 = Instant::now();
        loss.clear().map_err(|e| e.to_string())?;
        f.silent_repair
            .push(ms(wait_table(a1, &full, t1, REPAIR_BOUND)?));
        std::thread::sleep(Duration::from_secs(2));
        // Link down.
        let t0 = Instant::now();
        let mut down =
            test_support::faults::link_down(&a1.ns, "eth0").map_err(|e| e.to_string())?;
        f.link_failover
            .push(ms(wait_table(a1, &single, t0, FAIL_BOUND)?));
        let t1 = Instant::now();
        down.repair().map_err(|e| e.to_string())?;
        f.link_repair
            .push(ms(wait_table(a1, &full, t1, REPAIR_BOUND)?));
        std::thread::sleep(Duration::from_secs(2));
        eprintln!(
            "   run {}: silent {:.1}/{:.1} ms, link {:.1}/{:.1} ms",
            run + 1,
            f.silent_failover[run],
            f.silent_repair[run],
            f.link_failover[run],
            f.link_repair[run]
        );
    }
    // Restart under a probe flow (a1's pod address to b1's, both ways).
    let (a1p, b1p) = (
        pod_addr(topo.node_info(1, 1).pod_block),
        pod_addr(topo.node_info(2, 1).pod_block),
    );
    topo.node_info(1, 1)
        .ns
        .addr_add("lo", &format!("{a1p}/32"))
        .map_err(|e| e.to_string())?;
    topo.node_info(2, 1)
        .ns
        .addr_add("lo", &format!("{b1p}/32"))
        .map_err(|e| e.to_string())?;
    for _ in 0..args.runs {
        let (a1, b1) = (topo.node_info(1, 1), topo.node_info(2, 1));
        let fwd = test_support::probe::Probe::start(&a1.ns, a1p, &b1.ns, b1p, 1000)
            .map_err(|e| e.to_string())?;
        let back = test_support::probe::Probe::start(&b1.ns, b1p, &a1.ns, a1p, 1000)
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(300));
        match c {
            Contender::Bird => {
                if let Daemon::Bird(b) = topo.node_daemon(1, 1) {
                    b.restart().map_err(|e| e.to_string())?;
                }
                std::thread::sleep(Duration::from_secs(3));
            }
            Contender::Dualtor => {
                if let Daemon::Command(p) = topo.node_daemon(1, 1) {
                    p.stop();
                }
                std::thread::sleep(Duration::from_millis(500));
                let cmd = dualtor_command(
                    bin,
                    dir.path(),
                    topo.node_info(1, 1),
                    extra,
                    args.nexthop_compat_mode,
                );
                let p = Process::spawn_logged("a1", cmd).map_err(|e| e.to_string())?;
                *topo.node_daemon(1, 1) = Daemon::Command(p);
                wait_established(&dir.path().join("a1.sock"), Duration::from_secs(30))?;
            }
        }
        wait_table(topo.node_info(1, 1), &full, Instant::now(), REPAIR_BOUND)?;
        std::thread::sleep(Duration::from_millis(500));
        let (fwd, back) = (fwd.stop(), back.stop());
        let lost = fwd.lost.len() + back.lost.len();
        eprintln!("   restart: {} sent, {lost} lost", fwd.sent + back.sent);
        f.restart_lost.push(lost as f64);
        std::thread::sleep(Duration::from_secs(2));
    }
    // Same result for every contender: a1's full table, checked once more.
    wait_table(topo.node_info(1, 1), &full, Instant::now(), REPAIR_BOUND)?;
    Ok(f)
}

/// Waits until a1 has every other node's extra routes.
fn wait_extra(t: &Topology, extra: u32) -> Result<(), String> {
    let start = Instant::now();
    let want = 3 * extra as usize;
    loop {
        let n = t
            .node_info(1, 1)
            .ns
            .sh("ip route show root 100.64.0.0/10 | wc -l")
            .map_err(|e| e.to_string())?;
        let n: usize = n.trim().parse().unwrap_or(0);
        // Own extra routes are blackholes in the same range.
        if n >= want {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(300) {
            return Err(format!("a1 has {n} of {want} extra routes"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
