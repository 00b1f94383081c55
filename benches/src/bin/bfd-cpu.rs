//! bfd CPU bench: N single-hop sessions at 50 ms x 3 between two of our
//! runtimes over a veth pair between two network namespaces, then the same N
//! sessions between two BIRD 2 instances in two other namespaces, in the same
//! run. Reports CPU per 100 sessions for each (process CPU from
//! `/proc/<pid>/stat` over the measuring window, both ends together, divided
//! by the 2 x N sessions) and flaps (Up -> Down after all were Up).
//!
//! Check: every contender must have all N sessions Up on both ends (the
//! "checksum" is the sorted list of Up peer addresses, compared between
//! contenders). The full run then does the same at `--big` sessions (1,000
//! by default) for `--big-seconds`, ours and BIRD side by side.
//!
//! Each session is a distinct peer address, so N sessions need N neighbour
//! entries per namespace, and the kernel's IPv4 neighbour table is one table
//! for all namespaces (`gc_thresh3` 1024 by default, set only on the host).
//! The bench installs the peers' MAC addresses as permanent neighbours
//! (`nud permanent`, exempt from garbage collection and from `gc_thresh3`),
//! in its own namespaces only; `--dynamic-neigh` leaves them to ARP.
//!
//! Every run prints what could explain a flap: the kernel's UDP counters
//! in each namespace (`/proc/net/snmp`: receive-buffer and checksum errors),
//! the neighbour table's overflow and forced-GC counters, our engine's
//! discards by reason, send errors, the driver's worst timer lateness, the
//! diagnostics of the Down transitions, and the machine's load.
//!
//! Then one session under a flood of unknown-discriminator packets at
//! rising rates: the highest rate without a flap.
//!
//! Final line: `cpu per 100 sessions dualtor/bird: X.XX` (lower is better).
//! `--tiny`: 20 sessions, 2 s windows. Needs root and BIRD; otherwise it
//! prints SKIP and `n/a`.
//!
//! Reproduce (release build, root, BIRD 2):
//!
//! ```text
//! cargo build --release -p benches --bin bfd-cpu
//! target/release/bfd-cpu                  # 200 side by side, then 1000 for 60 s
//! chrt -f 10 target/release/bfd-cpu       # the same with the CPU guaranteed
//! ```
//!
//! On a busy machine the timers of both contenders run late: the
//! "busiest threads" line (time runnable but waiting for a CPU, from
//! `schedstat`) and "worst timer lateness" tell starvation from loss, and
//! the "lost between the runtimes" line counts packets that never arrived.
//! Under `chrt` BIRD (a child) runs at the same real-time priority.
#![forbid(unsafe_code)]
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
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
    /// Then ours and BIRD side by side at this many sessions (0: skip).
    #[arg(long, default_value_t = 1000)]
    big: usize,
    /// Measuring window of the `--big` run, seconds.
    #[arg(long, default_value_t = 60)]
    big_seconds: u64,
    /// Leave the peers' addresses to ARP instead of permanent neighbours
    /// (to reproduce the neighbour-table limit).
    #[arg(long)]
    dynamic_neigh: bool,
    /// Skip BIRD in the `--big` run.
    #[arg(long)]
    big_ours_only: bool,
    /// Skip the 10 ms precision rounds.
    #[arg(long)]
    no_precision: bool,
    /// Skip the flood sweep.
    #[arg(long)]
    no_flood: bool,
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

fn ip_batch(ns: &Netns, tag: &str, script: &str) {
    let path = format!("/tmp/bfd-cpu-{}-{tag}.batch", std::process::id());
    std::fs::write(&path, script).unwrap();
    ns.sh(&format!("ip -batch {path}")).unwrap();
    let _ = std::fs::remove_file(&path);
}

/// Two namespaces joined by a veth, N addresses on each end, and (unless
/// `dynamic`) the other end's N addresses as permanent neighbours.
fn pair(n: usize, dynamic: bool) -> (Netns, Netns) {
    let a = Netns::new("bfdb").unwrap();
    let b = Netns::new("bfdb").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    let mac = |ns: &Netns| {
        ns.sh("cat /sys/class/net/eth0/address")
            .unwrap()
            .trim()
            .to_string()
    };
    let macs = [mac(&a), mac(&b)];
    for (side, ns) in [(0u8, &a), (1, &b)] {
        let mut script: String = (0..n)
            .map(|i| format!("addr add {}/16 dev eth0\n", addr(side, i)))
            .collect();
        if !dynamic {
            let peer_mac = &macs[usize::from(1 - side)];
            script += &(0..n)
                .map(|i| {
                    format!(
                        "neigh replace {} lladdr {peer_mac} dev eth0 nud permanent\n",
                        addr(1 - side, i)
                    )
                })
                .collect::<String>();
        }
        ip_batch(ns, &side.to_string(), &script);
    }
    (a, b)
}

/// Kernel counters that can explain a lost packet.
#[derive(Debug, Default, Clone, Copy)]
struct Kernel {
    /// Per namespace (both summed): Udp InErrors, RcvbufErrors,
    /// SndbufErrors, NoPorts.
    udp: [u64; 4],
    /// Neighbour table (global): table_fulls, forced_gc_runs, res_failed.
    neigh: [u64; 3],
}

fn kernel(nss: &[&Netns]) -> Kernel {
    let mut k = Kernel::default();
    for ns in nss {
        let snmp = ns.sh("cat /proc/net/snmp").unwrap_or_default();
        let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
        if let (Some(h), Some(v)) = (udp.next(), udp.next()) {
            let row: std::collections::HashMap<&str, u64> = h
                .split_whitespace()
                .zip(v.split_whitespace())
                .filter_map(|(h, v)| Some((h, v.parse().ok()?)))
                .collect();
            for (i, name) in ["InErrors", "RcvbufErrors", "SndbufErrors", "NoPorts"]
                .iter()
                .enumerate()
            {
                k.udp[i] += row.get(name).copied().unwrap_or(0);
            }
        }
    }
    let nt = std::process::Command::new("ip")
        .args(["-s", "ntable", "show", "name", "arp_cache"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let words: Vec<&str> = nt.split_whitespace().collect();
    for (i, name) in ["table_fulls", "forced_gc_runs", "res_failed"]
        .iter()
        .enumerate()
    {
        // The table-wide stats block comes first; take the first hit.
        k.neigh[i] = words
            .windows(2)
            .find(|w| w[0] == *name)
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(0);
    }
    k
}

impl Kernel {
    fn since(self, before: Kernel) -> Kernel {
        let mut d = self;
        for (x, y) in d.udp.iter_mut().zip(before.udp) {
            *x = x.saturating_sub(y);
        }
        for (x, y) in d.neigh.iter_mut().zip(before.neigh) {
            *x = x.saturating_sub(y);
        }
        d
    }
    fn line(&self) -> String {
        format!(
            "kernel: udp InErrors={} RcvbufErrors={} SndbufErrors={} NoPorts={}; arp table_fulls={} forced_gc_runs={} res_failed={} (neighbour counters are host-wide)",
            self.udp[0],
            self.udp[1],
            self.udp[2],
            self.udp[3],
            self.neigh[0],
            self.neigh[1],
            self.neigh[2]
        )
    }
}

/// Per thread of process `pid` ("self" for ours): (CPU time, time spent
/// runnable but waiting for a CPU), ns, from `/proc/<pid>/task/*/schedstat`.
fn run_delay(pid: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        let v: Vec<u64> = s
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 2 {
            out.insert(
                format!("{pid}/{}", t.file_name().to_string_lossy()),
                (v[0], v[1]),
            );
        }
    }
    out
}

/// How long the busiest threads waited for a CPU over the window.
fn wait_line(
    before: &BTreeMap<String, (u64, u64)>,
    after: &BTreeMap<String, (u64, u64)>,
    wall: f64,
) -> String {
    let mut rows: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|(k, (cpu, wait))| {
            let (c0, w0) = before.get(k)?;
            Some(((cpu - c0) as f64 / 1e9, (wait - w0) as f64 / 1e9))
        })
        .filter(|(cpu, _)| *cpu > 0.01 * wall)
        .collect();
    rows.sort_by(|x, y| y.0.total_cmp(&x.0));
    let parts: Vec<String> = rows
        .iter()
        .take(3)
        .map(|(cpu, wait)| {
            format!(
                "ran {:.0} ms/s, waited for a CPU {:.0} ms/s",
                1000.0 * cpu / wall,
                1000.0 * wait / wall
            )
        })
        .collect();
    format!("busiest threads (schedstat): {}", parts.join("; "))
}

/// The machine's load: 1-min load average and busy share of all cores.
#[derive(Debug, Clone, Copy)]
struct Load {
    busy: u64,
    total: u64,
}

fn load() -> Load {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    Load {
        busy: total - idle,
        total,
    }
}

fn load_line(before: Load) -> String {
    let now = load();
    let busy = 100.0 * (now.busy - before.busy) as f64 / (now.total - before.total).max(1) as f64;
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let avg = avg.split_whitespace().next().unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("machine: {busy:.0}% busy over the window on {cores} cores, load average {avg}")
}

#[derive(Debug, Default)]
struct SideStats {
    up: BTreeSet<Ipv4Addr>,
    flaps: usize,
    /// Engine time of the last Up -> Down.
    last_down: Option<Instant>,
    /// Up -> Down transitions by diagnostic.
    down_diags: std::collections::BTreeMap<String, usize>,
    /// At the end: discards summed over sessions and the runtime's own.
    drops: std::collections::BTreeMap<&'static str, u64>,
    /// At the end: the runtime's counters.
    runtime: Option<bfd::runtime::Stats>,
    packets_in: u64,
    /// Set by the main thread when the measuring window starts.
    window: bool,
    /// The runtime's counters before the window.
    before_window: Option<bfd::runtime::Stats>,
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
            let mut window_started = false;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if !window_started && stats.lock().unwrap().window {
                    // Runtime counters cover the measuring window only.
                    window_started = true;
                    let before = bfd.take_stats().await;
                    stats.lock().unwrap().before_window = before;
                }
                let mut s = stats.lock().unwrap();
                for (peer, h) in &mut handles {
                    while let Some(c) = h.try_next_change() {
                        if c.to == State::Up {
                            s.up.insert(*peer);
                        } else if c.from == State::Up {
                            s.up.remove(peer);
                            s.flaps += 1;
                            s.last_down = Some(c.at);
                            *s.down_diags.entry(c.diag.to_string()).or_default() += 1;
                        }
                    }
                }
            }
            // Quiesce: release every session (AdminDown for a Detection
            // Time, then silence) and let the queues drain, so that the
            // runtime's sent / read totals compare exactly with the peer's.
            let mut drops = std::collections::BTreeMap::new();
            let mut packets_in = 0;
            let snaps = handles.iter().map(|(_, h)| h.snapshot());
            let snaps = futures_join(snaps).await;
            drop(handles);
            tokio::time::sleep(Duration::from_secs(8)).await;
            for snap in snaps.into_iter().flatten() {
                packets_in += snap.counters.packets_in;
                for (r, n) in snap.counters.drops.iter() {
                    *drops.entry(r.name()).or_default() += n;
                }
            }
            let rs = bfd.stats().await;
            if let Some(rs) = rs {
                for (r, n) in rs.drops.iter() {
                    *drops.entry(r.name()).or_default() += n;
                }
            }
            let mut s = stats.lock().unwrap();
            s.drops = drops;
            s.runtime = rs;
            s.packets_in = packets_in;
        });
    })
}

struct Result {
    cpu_per_100: f64,
    core_pct: f64,
    flaps: usize,
    up: BTreeSet<Ipv4Addr>,
    /// Diagnostic lines (kernel, engine, load).
    notes: Vec<String>,
}

/// Await every future in order (they are answered by one driver).
async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let fs: Vec<F> = fs.collect();
    let mut out = Vec::with_capacity(fs.len());
    for f in fs {
        out.push(f.await);
    }
    out
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

fn run_ours(n: usize, secs: u64, dynamic: bool) -> Result {
    let (a, b) = pair(n, dynamic);
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
    sa.lock().unwrap().window = true;
    sb.lock().unwrap().window = true;
    let flaps0 = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps;
    let k0 = kernel(&[&a, &b]);
    let w0 = run_delay("self");
    let l0 = load();
    let c0 = cpu_of("self");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let cpu = cpu_of("self") - c0;
    let wall = t0.elapsed().as_secs_f64();
    let mut notes = vec![
        load_line(l0),
        kernel(&[&a, &b]).since(k0).line(),
        wait_line(&w0, &run_delay("self"), wall),
    ];
    let flaps = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps - flaps0;
    let up: BTreeSet<Ipv4Addr> = sa.lock().unwrap().up.clone();
    stop.store(true, Ordering::Relaxed);
    let _ = ta.join();
    let _ = tb.join();
    for (name, st) in [("a", &sa), ("b", &sb)] {
        let st = st.lock().unwrap();
        let drops: Vec<String> = st
            .drops
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        let rs = st.runtime.unwrap_or_default();
        notes.push(format!(
            "dualtor end {name} (window, then quiesce): sent {}, send errors {}, read {} in {} recvmmsg calls, accepted {}, discards [{}], wake-ups {}, worst timer lateness {:?}, {} runs > {:?} late, longest wake-up {:?} ({} longer than {:?}), Up->Down by diag {:?}",
            rs.sent,
            rs.send_errors,
            rs.datagrams,
            rs.recv_calls,
            st.packets_in,
            drops.join(" "),
            rs.wakeups,
            rs.max_timer_lateness,
            rs.late_wakeups,
            bfd::runtime::LATE,
            rs.max_busy,
            rs.slow_wakeups,
            bfd::runtime::LATE,
            st.down_diags
        ));
    }
    let total = |st: &Mutex<SideStats>| {
        let st = st.lock().unwrap();
        let (w, b) = (
            st.runtime.unwrap_or_default(),
            st.before_window.unwrap_or_default(),
        );
        (w.sent + b.sent, w.datagrams + b.datagrams)
    };
    let (ra, rb) = (total(&sa), total(&sb));
    notes.push(format!(
        "lost between the runtimes (sent by one end - read by the other, after quiescing): a->b {}, b->a {}",
        ra.0 as i64 - rb.1 as i64,
        rb.0 as i64 - ra.1 as i64
    ));
    drop((a, b));
    Result {
        cpu_per_100: 100.0 * 100.0 * cpu / wall / (2 * n) as f64,
        core_pct: 100.0 * cpu / wall,
        flaps,
        up,
        notes,
    }
}

/// Timer precision: one session at 10 ms x 3; drop the peer's packets and
/// time drop -> Down (issue target: 3 intervals + 2 ms = 32 ms).
fn precision(rounds: usize) -> Vec<Duration> {
    let (a, b) = pair(1, false);
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

/// Flood of packets naming no session (unknown Your Discriminator, valid
/// otherwise) from the peer's address at increasing rates, against one
/// healthy session at 50 ms x 3. Returns (target rate, achieved rate, flaps,
/// unknown-discriminator discards counted).
fn flood_sweep(rates: &[u64], secs: u64) -> Vec<(u64, u64, usize, u64)> {
    let (a, b) = pair(1, false);
    let stop = Arc::new(AtomicBool::new(false));
    let sa = Arc::new(Mutex::new(SideStats::default()));
    let sb = Arc::new(Mutex::new(SideStats::default()));
    let ms50 = Duration::from_millis(50);
    let ta = our_side(&a, 0, 1, ms50, stop.clone(), sa.clone());
    let tb = our_side(&b, 1, 1, ms50, stop.clone(), sb.clone());
    let mut out = vec![];
    if wait_all_up(1, Duration::from_secs(10), || {
        sa.lock().unwrap().up.len().min(sb.lock().unwrap().up.len())
    }) {
        std::thread::sleep(Duration::from_millis(500));
        for &rate in rates {
            let flaps0 = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps;
            let sent = b.enter(move || {
                let s = std::net::UdpSocket::bind((addr(1, 0), 0)).unwrap();
                s.set_ttl(255).unwrap();
                // Version 1, Up, Detect Mult 3, Length 24, My 9, Your
                // 0xdeadbeef (no such session), 50 ms.
                let pkt = [
                    0x20, 0xc0, 3, 24, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0xc3, 0x50, 0, 0,
                    0xc3, 0x50, 0, 0, 0, 0,
                ];
                let dst = (addr(0, 0), 3784);
                let t0 = Instant::now();
                let mut n = 0u64;
                while t0.elapsed() < Duration::from_secs(secs) {
                    // Pace per millisecond.
                    let due = (t0.elapsed().as_micros() as u64 * rate / 1_000_000).max(n);
                    while n < due {
                        let _ = s.send_to(&pkt, dst);
                        n += 1;
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                n
            });
            std::thread::sleep(Duration::from_millis(300));
            let flaps = sa.lock().unwrap().flaps + sb.lock().unwrap().flaps - flaps0;
            out.push((rate, sent / secs, flaps, 0));
            if !wait_all_up(1, Duration::from_secs(10), || {
                sa.lock().unwrap().up.len().min(sb.lock().unwrap().up.len())
            }) {
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = ta.join();
    let _ = tb.join();
    let counted = sa
        .lock()
        .unwrap()
        .drops
        .get("unknown-your-discriminator")
        .copied()
        .unwrap_or(0);
    if let Some(last) = out.last_mut() {
        last.3 = counted;
    }
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

fn run_bird(n: usize, secs: u64, dynamic: bool) -> Result {
    let (a, b) = pair(n, dynamic);
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
    let k0 = kernel(&[&a, &b]);
    let l0 = load();
    let c0: f64 = pids.iter().map(|p| cpu_of(p)).sum();
    let w0: Vec<_> = pids.iter().map(|p| run_delay(p)).collect();
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
    let w0: BTreeMap<String, (u64, u64)> = w0.into_iter().flatten().collect();
    let w1: BTreeMap<String, (u64, u64)> = pids.iter().flat_map(|p| run_delay(p)).collect();
    let notes = vec![
        load_line(l0),
        kernel(&[&a, &b]).since(k0).line(),
        wait_line(&w0, &w1, wall),
    ];
    let up = bird_up(&bb);
    drop((ba, bb, a, b));
    Result {
        cpu_per_100: 100.0 * 100.0 * cpu / wall / (2 * n) as f64,
        core_pct: 100.0 * cpu / wall,
        flaps,
        up,
        notes,
    }
}

fn report(who: &str, n: usize, secs: u64, r: &Result) {
    println!(
        "{who} {n} sessions x 2 ends @50ms for {secs} s: {:.2}% of a core, {:.2}% of a core per 100 sessions, {} flaps, {} Up",
        r.core_pct,
        r.cpu_per_100,
        r.flaps,
        r.up.len()
    );
    for l in &r.notes {
        println!("  {l}");
    }
}

/// Ours, then BIRD (unless `ours_only`), at `n` sessions.
fn side_by_side(n: usize, secs: u64, dynamic: bool, ours_only: bool) -> (Result, Result) {
    let ours = run_ours(n, secs, dynamic);
    report("dualtor", n, secs, &ours);
    let bird = if ours_only {
        Result {
            cpu_per_100: 0.0,
            core_pct: 0.0,
            flaps: 0,
            up: BTreeSet::new(),
            notes: vec![],
        }
    } else {
        let b = run_bird(n, secs, dynamic);
        report("bird2  ", n, secs, &b);
        b
    };
    (ours, bird)
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
    let dynamic = args.dynamic_neigh;
    println!(
        "neighbours: {}",
        if dynamic {
            "dynamic (ARP)"
        } else {
            "permanent, installed by the bench in its namespaces"
        }
    );
    let (ours, bird) = side_by_side(n, args.seconds, dynamic, false);
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
        let (big, big_bird) = side_by_side(args.big, args.big_seconds, dynamic, args.big_ours_only);
        println!(
            "big: dualtor {} sessions for {} s: {} flaps, {} Up, {:.2}% of a core per end; bird: {} flaps, {} Up, {:.2}% of a core per end",
            args.big,
            args.big_seconds,
            big.flaps,
            big.up.len(),
            big.core_pct / 2.0,
            big_bird.flaps,
            big_bird.up.len(),
            big_bird.core_pct / 2.0,
        );
    }
    let p = if args.no_precision {
        vec![]
    } else {
        precision(if args.tiny { 2 } else { 10 })
    };
    let worst = p.iter().max().copied().unwrap_or_default();
    if !args.no_flood {
        let rates: &[u64] = if args.tiny {
            &[5_000]
        } else {
            &[5_000, 20_000, 50_000, 100_000, 200_000, 400_000]
        };
        let secs = if args.tiny { 1 } else { 3 };
        let sweep = flood_sweep(rates, secs);
        for (rate, got, flaps, _) in &sweep {
            println!("flood {rate} pps asked, {got} pps sent: {flaps} flaps");
        }
        let best = sweep
            .iter()
            .filter(|r| r.2 == 0)
            .map(|r| r.1)
            .max()
            .unwrap_or(0);
        println!(
            "flood: highest rate without a flap at 50 ms x 3: {best} pps of unknown-discriminator packets ({} counted as discards in all)",
            sweep.last().map_or(0, |r| r.3)
        );
    }
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
