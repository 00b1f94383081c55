//! bfd CPU bench: N single-hop sessions at 50 ms x 3 between two of our
//! runtimes over a veth pair between two network namespaces, then the same N
//! sessions between two BIRD 2 instances in two other namespaces, in the same
//! run. Reports CPU per 100 sessions for each (process CPU from
//! `/proc/<pid>/stat` over the measuring window, both ends together, divided
//! by the 2 x N sessions) and flaps (Up -> Down after all were Up).
//!
//! Check: every contender must have all N sessions Up on both ends (the
//! "checksum" is the sorted list of Up peer addresses, compared between
//! contenders). The full run also reports our
//! runtime alone at `--big` sessions.
//!
//! Final line: `cpu per 100 sessions dualtor/bird: X.XX` (lower is better).
//! `--tiny`: 20 sessions, 2 s windows. Needs root and BIRD; otherwise it
//! prints SKIP and `n/a`.
#![forbid(unsafe_code)]
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bfd::State;
use bfd::runtime::{Options, Runtime, SessionRequest};
use bfd::session::Config;
use clap::Parser;
use test_support::daemons::Bird;
use test_support::{Need, Netns};

#[derive(Debug, Parser)]
struct Args {
    /// Quick run for CI (20 sessions, 2 s).
    #[arg(long)]
    tiny: bool,
    /// Sessions per contender.
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// Measuring window, seconds.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Also run ours alone at this many sessions (0: skip). Each session
    /// is a distinct peer address, so the host's IPv4 neighbour table
    /// (gc_thresh2 512 / gc_thresh3 1024, shared by all namespaces) limits
    /// this without touching host sysctls: 240 runs clean; at 450 ARP
    /// garbage collection made sessions flap in one run (not yet proven to
    /// be the only cause).
    #[arg(long, default_value_t = 240)]
    big: usize,
}

fn addr(side: u8, i: usize) -> Ipv4Addr {
    // Side 0: 10.96.0.0/17, side 1: 10.96.128.0/17, on one /16 link.
    Ipv4Addr::new(10, 96, side * 128 + (i / 250) as u8, (i % 250) as u8 + 1)
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in seconds.
fn cpu_of(pid: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after ")" start at field 3 (state); utime is 14, stime 15.
    (t(11) + t(12)) / clk_tck()
}

fn pair(n: usize) -> (Netns, Netns) {
    let a = Netns::new("bfdb").unwrap();
    let b = Netns::new("bfdb").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    for (side, ns) in [(0u8, &a), (1, &b)] {
        let path = format!("/tmp/bfd-cpu-{}-{side}.batch", std::process::id());
        let script: String = (0..n)
            .map(|i| format!("addr add {}/16 dev eth0\n", addr(side, i)))
            .collect();
        std::fs::write(&path, script).unwrap();
        ns.sh(&format!("ip -batch {path}")).unwrap();
        let _ = std::fs::remove_file(&path);
    }
    (a, b)
}

#[derive(Debug, Default)]
struct SideStats {
    up: BTreeSet<Ipv4Addr>,
    flaps: usize,
    /// Engine time of the last Up -> Down.
    last_down: Option<Instant>,
}

/// One of our runtimes in `ns`, with `n` sessions from side `side`.
fn our_side(
    ns: &Netns,
    side: u8,
    n: usize,
    interval: Duration,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<SideStats>>,
) -> std::thread::JoinHandle<()> {
    ns.spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let bfd = Runtime::spawn(Options {
                ipv6: false,
                seed: Some(u64::from(side)),
                ..Options::default()
            })
            .unwrap();
            let cfg = Config {
                desired_min_tx: interval,
                required_min_rx: interval,
                detect_mult: 3,
                ..Config::default()
            };
            let mut handles = Vec::with_capacity(n);
            for i in 0..n {
                let req = SessionRequest {
                    peer: IpAddr::V4(addr(1 - side, i)),
                    local: Some(IpAddr::V4(addr(side, i))),
                    interface: Some("eth0".into()),
                    config: cfg.clone(),
                };
                handles.push((addr(1 - side, i), bfd.request(req).await.unwrap()));
            }
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let mut s = stats.lock().unwrap();
                for (peer, h) in &mut handles {
                    while let Some(c) = h.try_next_change() {
                        if c.to == State::Up {
                            s.up.insert(*peer);
                        } else if c.from == State::Up {
                            s.up.remove(peer);
                            s.flaps += 1;
                            s.last_down = Some(c.at);
                        }
                    }
                }
            }
        });
    })
}

struct Result {
    cpu_per_100: f64,
    core_pct: f64,
    flaps: usize,
    up: BTreeSet<Ipv4Addr>,
}

fn wait_all_up(n: usize, within: Duration, mut up: impl FnMut() -> usize) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if up() >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn run_ours(n: usize, secs: u64) -> Result {
    let (a, b) = pair(n);
    let stop = Arc::new(AtomicBool::new(false));
    let sa = Arc::new(Mutex::new(SideStats::default()));
    let sb = Arc::new(Mutex::new(SideStats::default()));
    let ms50 = Duration::from_millis(50);
    let ta = our_side(&a, 0, n, ms50, stop.clone(), sa.clone());
    let tb = our_side(&b, 1, n, ms50, stop.clone(), sb.clone());
    let ok = wait_all_up(n, Duration::from_secs(30), || {
        sa.lock().unwrap().up.len().min(sb.lock().unwrap().up.len())
    });
    if !ok {
        eprintln!(
            "dualtor: only {} / {} sessions Up",
            sa.lock().unwrap().up.len(),
            n
        );
    }
    std::thread::sleep(Duration::from_secs(1));
    let flaps0 = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps;
    let c0 = cpu_of("self");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let cpu = cpu_of("self") - c0;
    let wall = t0.elapsed().as_secs_f64();
    let flaps = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps - flaps0;
    let up: BTreeSet<Ipv4Addr> = sa.lock().unwrap().up.clone();
    stop.store(true, Ordering::Relaxed);
    let _ = ta.join();
    let _ = tb.join();
    drop((a, b));
    Result {
        cpu_per_100: 100.0 * 100.0 * cpu / wall / (2 * n) as f64,
        core_pct: 100.0 * cpu / wall,
        flaps,
        up,
    }
}

/// Timer precision: one session at 10 ms x 3; drop the peer's packets and
/// time drop -> Down (issue target: 3 intervals + 2 ms = 32 ms).
fn precision(rounds: usize) -> Vec<Duration> {
    let (a, b) = pair(1);
    let stop = Arc::new(AtomicBool::new(false));
    let sa = Arc::new(Mutex::new(SideStats::default()));
    let sb = Arc::new(Mutex::new(SideStats::default()));
    let ms10 = Duration::from_millis(10);
    let ta = our_side(&a, 0, 1, ms10, stop.clone(), sa.clone());
    let tb = our_side(&b, 1, 1, ms10, stop.clone(), sb.clone());
    let mut out = vec![];
    for _ in 0..rounds {
        if !wait_all_up(1, Duration::from_secs(10), || sa.lock().unwrap().up.len()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        let expr = format!("ip saddr {} udp dport 3784", addr(1, 0));
        let guard = test_support::faults::drop_matching(&a, "eth0", &expr).unwrap();
        let t0 = Instant::now();
        let ok = wait_all_up(1, Duration::from_secs(2), || {
            usize::from(sa.lock().unwrap().up.is_empty())
        });
        if let (true, Some(at)) = (ok, sa.lock().unwrap().last_down) {
            out.push(at.saturating_duration_since(t0));
        }
        drop(guard);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = ta.join();
    let _ = tb.join();
    drop((a, b));
    out
}

fn bird_conf(side: u8, n: usize) -> String {
    let mut c = format!(
        "router id {};\nprotocol device {{ }}\nprotocol bfd {{\n  interface \"eth0\" {{ min rx interval 50 ms; min tx interval 50 ms; multiplier 3; }};\n",
        addr(side, 0)
    );
    for i in 0..n {
        c += &format!(
            "  neighbor {} dev \"eth0\" local {};\n",
            addr(1 - side, i),
            addr(side, i)
        );
    }
    c + "}\n"
}

fn bird_up(b: &Bird) -> BTreeSet<Ipv4Addr> {
    b.bfd_sessions()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.state == "Up")
        .filter_map(|s| match s.address {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .collect()
}

fn run_bird(n: usize, secs: u64) -> Result {
    let (a, b) = pair(n);
    let ba = Bird::start_raw(&a, &bird_conf(0, n)).unwrap();
    let bb = Bird::start_raw(&b, &bird_conf(1, n)).unwrap();
    let ok = wait_all_up(n, Duration::from_secs(30), || {
        bird_up(&ba).len().min(bird_up(&bb).len())
    });
    if !ok {
        eprintln!("bird: only {} / {n} sessions Up", bird_up(&ba).len());
    }
    std::thread::sleep(Duration::from_secs(1));
    let pids = [ba.pid().unwrap().to_string(), bb.pid().unwrap().to_string()];
    let c0: f64 = pids.iter().map(|p| cpu_of(p)).sum();
    let t0 = Instant::now();
    // Flaps: a session whose "since" changed during the window (or that is
    // not Up at a sample) went Down and came back.
    let since = |b: &Bird| -> std::collections::BTreeMap<IpAddr, String> {
        b.bfd_sessions()
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.address, s.since))
            .collect()
    };
    let (s0a, s0b) = (since(&ba), since(&bb));
    let mut flaps = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        flaps = flaps.max(n - bird_up(&ba).len().min(n));
    }
    let changed = |s0: &std::collections::BTreeMap<IpAddr, String>, b: &Bird| {
        since(b)
            .iter()
            .filter(|(k, v)| s0.get(*k) != Some(*v))
            .count()
    };
    flaps = flaps.max(changed(&s0a, &ba) + changed(&s0b, &bb));
    let cpu: f64 = pids.iter().map(|p| cpu_of(p)).sum::<f64>() - c0;
    let wall = t0.elapsed().as_secs_f64();
    let up = bird_up(&bb);
    drop((ba, bb, a, b));
    Result {
        cpu_per_100: 100.0 * 100.0 * cpu / wall / (2 * n) as f64,
        core_pct: 100.0 * cpu / wall,
        flaps,
        up,
    }
}

fn main() {
    let mut args = Args::parse();
    if args.tiny {
        args.sessions = 20;
        args.seconds = 2;
        args.big = 0;
    }
    let missing = test_support::missing(&[Need::Root, Need::Bird]);
    if !missing.is_empty() {
        println!("SKIP bfd-cpu: {}", missing.join("; "));
        println!("cpu per 100 sessions dualtor/bird: n/a");
        return;
    }
    let n = args.sessions;
    let ours = run_ours(n, args.seconds);
    println!(
        "dualtor {n} sessions x 2 ends @50ms: {:.2}% of a core, {:.2}% of a core per 100 sessions, {} flaps, {} Up",
        ours.core_pct,
        ours.cpu_per_100,
        ours.flaps,
        ours.up.len()
    );
    let bird = run_bird(n, args.seconds);
    println!(
        "bird2   {n} sessions x 2 ends @50ms: {:.2}% of a core, {:.2}% of a core per 100 sessions, {} flaps (sessions whose last change moved), {} Up",
        bird.core_pct,
        bird.cpu_per_100,
        bird.flaps,
        bird.up.len()
    );
    // Checksum: both contenders brought up the same set of peers.
    let ours_peers: BTreeSet<Ipv4Addr> = ours.up.clone();
    let bird_peers: BTreeSet<Ipv4Addr> = (0..n)
        .map(|i| addr(0, i))
        .filter(|a| bird.up.contains(a))
        .collect();
    let ours_expect: BTreeSet<Ipv4Addr> = (0..n).map(|i| addr(1, i)).collect();
    let same = ours_peers == ours_expect && bird_peers.len() == n;
    println!(
        "checksum: dualtor {} Up, bird {} Up, all sessions Up on both: {same}",
        ours_peers.len(),
        bird_peers.len()
    );
    if args.big > 0 {
        let big = run_ours(args.big, args.seconds);
        println!(
            "dualtor {} sessions x 2 ends @50ms: {:.2}% of a core per end, {} flaps, {} Up",
            args.big,
            big.core_pct / 2.0,
            big.flaps,
            big.up.len()
        );
    }
    let p = precision(if args.tiny { 2 } else { 10 });
    let worst = p.iter().max().copied().unwrap_or_default();
    println!(
        "precision 10ms x 3: drop -> Down {:?} (worst {worst:?}; bound 32 ms counted from the last packet, which precedes the drop)",
        p
    );
    if same && bird.cpu_per_100 > 0.0 {
        println!(
            "cpu per 100 sessions dualtor/bird: {:.2}",
            ours.cpu_per_100 / bird.cpu_per_100
        );
    } else {
        println!("cpu per 100 sessions dualtor/bird: n/a (checksum mismatch or no BIRD CPU)");
    }
}
