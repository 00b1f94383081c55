//! llgr engine benchmark: two ToR peers x 1M IPv4 (+200k IPv6) prefixes with shared
//! attributes, as on a dual-ToR node.
//!
//! Measures: load rate, heap bytes per route per peer (counting global allocator) and RSS,
//! one ToR going down under LLGR with Restart Time 0 while every prefix is ECMP over both
//! ToRs (target < 1 ms for the complete FIB output, via group-level changes), a full LLGR
//! entry after a GR phase (every route gets LLGR_STALE), and the End-of-RIB sweep after the
//! ToR returns having re-sent half of its routes. Every phase checks the FIB it produced
//! against a replay of the engine's output (checksum). `--runs K` repeats the load and
//! prints the median and range (the machine may be shared: the load average is printed).
//!
//! Then the same two-ToR table, IPv4 and IPv6 (next hop = the ToR's own address on the
//! shared subnet, so that BIRD 2's direct eBGP accepts it; IPv6 in MP_REACH_NLRI with the
//! ToR's global IPv6 address), goes to BIRD 2 in a namespace, over BGP from two bgp-wire
//! feeders (one per ToR, in their own namespaces, sending at the same time), and into a
//! fresh engine. Reported side by side: BIRD's time from both sessions Established to
//! `show route count` at the full table (it includes TCP and UPDATE decoding, which the
//! engine-only figure does not), its `show memory` and RSS growth per route, and the
//! engine's load rate and heap per route. Both ECMP results are checksummed, both
//! families: BIRD's through its kernel protocols with `merge paths` exporting into table
//! 100 of the namespace (read back with `ip -4/-6 route`; the kernel export is timed
//! separately, it is not part of the load), the engine's through its FIB; the checksums
//! must be equal.
//! Without root or BIRD the comparison is skipped with a message; `--no-bird` skips it.
//! `--tiny` runs everything in a few seconds.
#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use llgr::*;

/// Counts live heap bytes so memory per route can be measured without the allocator's slack.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, which
// upholds GlobalAlloc's contract; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Number of distinct attribute sets per ToR (origin racks/nodes behind it).
const ORIGINS: u32 = 64;
const BATCH: usize = 200;

fn v4_prefix(i: u32) -> IpNet {
    // /26 pod blocks and /32s laid out in 10.0.0.0/8 and 100.64.0.0/10.
    let base = u32::from(Ipv4Addr::new(10, 0, 0, 0));
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(base + i * 64), 26).expect("valid"))
}

fn v6_prefix(i: u32) -> IpNet {
    let a = Ipv6Addr::new(0x2001, 0xdb8, (i >> 16) as u16, i as u16, 0, 0, 0, 0);
    IpNet::V6(Ipv6Net::new(a, 64).expect("valid"))
}

fn attrs(tor: u32, origin: u32, v6: bool) -> PathAttrs {
    PathAttrs {
        as_path: vec![AsSegment::Sequence(vec![65010 + tor, 64600 + origin])],
        // Other-rack next hops: not on the session subnet, so Direct mode uses the ToR.
        next_hop: Some(if v6 {
            IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                0,
                tor as u16,
                0,
                0,
                0,
                0,
                origin as u16 + 1,
            ))
        } else {
            IpAddr::V4(Ipv4Addr::new(172, 31, 20 + tor as u8, origin as u8 + 1))
        }),
        communities: vec![(64512 << 16) | origin],
        ..Default::default()
    }
}

/// Replays the engine's FIB output; panics if it breaks a FIB invariant. Returns (group
/// changes, route changes).
fn replay(fib: &mut FibTable, changes: Vec<FibChange>) -> (usize, usize) {
    match fib.apply_all(changes) {
        Ok(n) => (n.groups(), n.routes),
        Err(e) => panic!("engine output breaks a FIB invariant: {e}"),
    }
}

fn engine_checksum(e: &Engine) -> u64 {
    FibTable::checksum_of(e.fib_snapshot().iter().map(|(p, n)| (*p, &**n)))
}

fn session(rt: u16) -> SessionParams {
    let fams = Family::ALL.to_vec();
    SessionParams {
        gr: Some(GrCapability {
            restart_time: rt,
            families: fams
                .iter()
                .map(|&family| GrFamily {
                    family,
                    forwarding: true,
                })
                .collect(),
            ..Default::default()
        }),
        llgr: Some(
            fams.iter()
                .map(|&family| LlgrFamily {
                    family,
                    forwarding: true,
                    stale_time: 3600,
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn load(e: &mut Engine, now: Instant, peer: PeerId, tor: u32, n4: u32, n6: u32, every: u32) -> u64 {
    let mut routes = 0u64;
    for (n, v6) in [(n4, false), (n6, true)] {
        // Prefix i belongs to origin i % ORIGINS; group prefixes by origin into UPDATEs.
        for origin in 0..ORIGINS {
            let mut batch = Vec::with_capacity(BATCH);
            let mut i = origin;
            while i < n {
                if i % every == 0 {
                    let p = if v6 { v6_prefix(i) } else { v4_prefix(i) };
                    batch.push((p, PathId(0)));
                }
                if batch.len() == BATCH {
                    routes += batch.len() as u64;
                    e.handle_update(now, peer, &batch, attrs(tor, origin, v6), &[]);
                    batch.clear();
                }
                i += ORIGINS;
            }
            if !batch.is_empty() {
                routes += batch.len() as u64;
                e.handle_update(now, peer, &batch, attrs(tor, origin, v6), &[]);
            }
        }
    }
    routes
}

/// CPU time of this thread (ns), from /proc/thread-self/schedstat: the machine may be shared,
/// so rates are given per CPU second as well as per wall second.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tiny = args.iter().any(|a| a == "--tiny");
    let no_bird = args.iter().any(|a| a == "--no-bird");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(1)
        .max(1);
    let (n4, n6) = if tiny {
        (20_000u32, 4_000u32)
    } else {
        (1_000_000, 200_000)
    };
    println!(
        "llgr-bench: 2 ToRs x ({n4} IPv4 + {n6} IPv6) prefixes, {ORIGINS} attribute sets per ToR; load average {}",
        load_avg()
    );
    let mut rates: Vec<f64> = (1..runs).map(|_| load_once(n4, n6)).collect();

    let t0 = Instant::now();
    let heap0 = LIVE.load(Ordering::Relaxed);
    let rss0 = rss_bytes();
    let (mut e, tors) = engine_with_tors();
    let mut fib = FibTable::new();
    let mut now = t0;
    for &t in &tors {
        e.handle_session_up(now, t, session(0));
    }

    // 1. Load.
    let start = Instant::now();
    let cpu0 = cpu_ns();
    let mut routes = 0;
    for (k, &t) in tors.iter().enumerate() {
        routes += load(&mut e, now, t, k as u32 + 1, n4, n6, 1);
        for f in Family::ALL {
            e.handle_end_of_rib(now, t, f);
        }
    }
    let load_t = start.elapsed();
    let load_cpu = (cpu_ns() - cpu0) as f64 / 1e9;
    let start = Instant::now();
    let out = e.poll_fib();
    let poll_t = start.elapsed();
    replay(&mut fib, out);
    let rate = routes as f64 / load_t.as_secs_f64();
    let cpu_rate = routes as f64 / load_cpu;
    let heap = LIVE.load(Ordering::Relaxed) - heap0;
    let rss = rss_bytes().saturating_sub(rss0);
    let per_route = heap as f64 / routes as f64;
    let (sets, groups, attrsets) = e.sharing();
    println!(
        "load: {routes} routes in {:.1} ms = {:.2} M routes/s wall, {:.2} M routes per CPU second; initial FIB poll {:.1} ms",
        ms(load_t),
        rate / 1e6,
        cpu_rate / 1e6,
        ms(poll_t)
    );
    println!(
        "memory: heap {:.1} MiB = {per_route:.1} B/route/peer (RSS +{:.1} MiB); {sets} path sets, {groups} groups, {attrsets} attribute sets",
        heap as f64 / 1048576.0,
        rss as f64 / 1048576.0
    );
    assert_eq!(fib.checksum(), engine_checksum(&e), "FIB after load");
    let sum_load = fib.checksum();

    // 2. One ToR drops under LLGR with Restart Time 0 (BFD Down declared graceful).
    let start = Instant::now();
    let cpu0 = cpu_ns();
    e.handle_session_down(now, tors[0], DownReason::DeclaredGraceful);
    let out = e.poll_fib();
    let pic_t = start.elapsed();
    let pic_cpu = (cpu_ns() - cpu0) as f64 / 1e6;
    let (g, r) = replay(&mut fib, out);
    assert_eq!(
        fib.checksum(),
        engine_checksum(&e),
        "FIB after PIC failover"
    );
    let single: usize = e.fib_snapshot().values().filter(|n| n.len() == 1).count();
    assert_eq!(single as u32, n4 + n6, "every prefix single-path via tor2");
    println!(
        "PIC: tor1 down under LLGR (RT 0): {:.3} ms wall ({pic_cpu:.3} ms CPU) for {} prefixes: {g} group changes, {r} route changes (target < 1 ms)",
        ms(pic_t),
        n4 + n6
    );
    while e.poll_event().is_some() {}

    // 3. tor1 returns and re-sends half of its routes, then End-of-RIB sweeps the rest.
    now += Duration::from_secs(10);
    e.handle_session_up(now, tors[0], session(0));
    let start = Instant::now();
    load(&mut e, now, tors[0], 1, n4, n6, 2);
    let out = e.poll_fib();
    let reload_t = start.elapsed();
    replay(&mut fib, out);
    let start = Instant::now();
    for f in Family::ALL {
        e.handle_end_of_rib(now, tors[0], f);
    }
    let out = e.poll_fib();
    let sweep_t = start.elapsed();
    let (g, r) = replay(&mut fib, out);
    assert_eq!(fib.checksum(), engine_checksum(&e), "FIB after EoR sweep");
    let mut swept = 0;
    while let Some(ev) = e.poll_event() {
        if let Event::StaleSwept { routes, .. } = ev {
            swept += routes;
        }
    }
    println!(
        "EoR: re-send half {:.1} ms; sweep of {swept} stale routes {:.1} ms ({g} group, {r} route changes)",
        ms(reload_t),
        ms(sweep_t)
    );

    // 4. Full LLGR entry after a GR phase: tor2 (all routes) with Restart Time 60.
    e.handle_session_down(now, tors[1], DownReason::Administrative);
    e.handle_session_up(now, tors[1], session(60));
    load(&mut e, now, tors[1], 2, n4, n6, 1);
    let out = e.poll_fib();
    replay(&mut fib, out);
    while e.poll_event().is_some() {}
    let start = Instant::now();
    e.handle_session_down(now, tors[1], DownReason::TransportFailure);
    let out = e.poll_fib();
    let gr_t = start.elapsed();
    replay(&mut fib, out);
    now += Duration::from_secs(60);
    let start = Instant::now();
    e.handle_timeout(now);
    let out = e.poll_fib();
    let llgr_t = start.elapsed();
    let (g, r) = replay(&mut fib, out);
    assert_eq!(fib.checksum(), engine_checksum(&e), "FIB after LLGR entry");
    let mut entered = 0;
    while let Some(ev) = e.poll_event() {
        if let Event::EnteredLlgr { stale_routes, .. } = ev {
            entered += stale_routes;
        }
    }
    println!(
        "LLGR entry: GR marking {:.3} ms; {entered} routes get LLGR_STALE in {:.3} ms ({g} group, {r} route changes)",
        ms(gr_t),
        ms(llgr_t)
    );
    rates.push(cpu_rate);
    let (med, lo, hi) = median_range(rates);
    drop(e);
    drop(fib);

    // 5. The same two-ToR table (IPv4 and IPv6) into BIRD 2 and into a fresh engine.
    let mut bird_line = String::from("BIRD skipped");
    if !no_bird {
        let total = 2.0 * f64::from(n4 + n6);
        let (eng, eng_count) = bird::engine_side(n4, n6);
        println!(
            "engine, BIRD's input (2 x ({n4} IPv4 + {n6} IPv6), next hop = ToR): {:.2} M routes/CPU-s (engine only), {:.1} B/route, {eng_count} ECMP prefixes, checksum {:016x}",
            total / eng.secs / 1e6,
            eng.bytes_per_route,
            eng.checksum
        );
        if let Some((b, rss_per_route, b_count)) = bird::bird_side(n4, n6) {
            let same = b.checksum == eng.checksum && b_count == eng_count;
            println!(
                "BIRD 2, same input over BGP: {:.2} s wall from Established to `show route count` at the full table, {:.2} s BIRD CPU = {:.2} M routes/CPU-s (TCP and decoding included), {:.1} B/route (show memory), {rss_per_route:.1} B/route (RSS), {b_count} kernel ECMP prefixes, checksum {:016x} ({})",
                b.wall,
                b.secs,
                total / b.secs / 1e6,
                b.bytes_per_route,
                b.checksum,
                if same {
                    "same as the engine"
                } else {
                    "DIFFERS from the engine"
                }
            );
            assert!(same, "BIRD and the engine disagree on the ECMP sets");
            bird_line = format!(
                "BIRD {:.2} s wall {:.2} M routes/CPU-s {:.1} B/route vs engine {:.2} M routes/CPU-s {:.1} B/route (2 x ({n4} IPv4 + {n6} IPv6)), ECMP checksums equal",
                b.wall,
                total / b.secs / 1e6,
                b.bytes_per_route,
                total / eng.secs / 1e6,
                eng.bytes_per_route
            );
        }
    }
    println!(
        "summary: load {:.2} M routes/CPU-s (median of {runs}, range {:.2}-{:.2}), {per_route:.1} B/route/peer, PIC failover {:.3} ms, EoR sweep {:.1} ms, LLGR entry {:.3} ms, checksum {sum_load:016x}; {bird_line}",
        med / 1e6,
        lo / 1e6,
        hi / 1e6,
        ms(pic_t),
        ms(sweep_t),
        ms(llgr_t)
    );
}

// ---- repeated load runs ------------------------------------------------------------

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The two ToR peers of a dual-ToR node (Direct gateway mode, LLGR on).
fn engine_with_tors() -> (Engine, Vec<PeerId>) {
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let mut tors = Vec::new();
    for i in 1..=2u8 {
        let mut p = Peer::new(
            IpAddr::V4(Ipv4Addr::new(172, 31, 10 + i, 250)),
            65010 + u32::from(i),
            Ipv4Addr::new(172, 31, 10 + i, 250),
        );
        p.interface = Some(u32::from(i) + 1);
        p.connected = vec![
            format!("172.31.{}.0/24", 10 + i).parse().expect("valid"),
            format!("fd31:{}::/64", 10 + i).parse().expect("valid"),
        ];
        p.gateway_mode = GatewayMode::Direct;
        p.llgr = true;
        tors.push(e.add_peer(p));
    }
    (e, tors)
}

/// One load of the full table into a fresh engine: routes per CPU second.
fn load_once(n4: u32, n6: u32) -> f64 {
    let (mut e, tors) = engine_with_tors();
    let now = Instant::now();
    for &t in &tors {
        e.handle_session_up(now, t, session(0));
    }
    let cpu0 = cpu_ns();
    let mut routes = 0;
    for (k, &t) in tors.iter().enumerate() {
        routes += load(&mut e, now, t, k as u32 + 1, n4, n6, 1);
    }
    routes as f64 / ((cpu_ns() - cpu0) as f64 / 1e9)
}

fn median_range(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

// ---- BIRD 2 comparison -------------------------------------------------------------

mod bird {
    use super::*;
    use bgp_wire::attr::{
        AsPath, AttrValue, Community, MpReach, NextHop as WireNextHop, Origin as WireOrigin,
    };
    use bgp_wire::session::{Action, SessionConfig, StartKind, StopKind};
    use bgp_wire::transport::{self, PeerConfig};
    use bgp_wire::{Family as WireFamily, Nlri, Update};
    use std::path::Path;
    use std::sync::{Barrier, mpsc};
    use test_support::daemons::Bird;
    use test_support::{Need, Netns};

    /// One UPDATE for the engine: ToR index, origin, prefixes.
    type Batch = (usize, bool, u32, Vec<(IpNet, PathId)>);

    /// What one side of the comparison produced.
    pub(super) struct Side {
        /// CPU seconds of the process that loaded the table.
        pub(super) secs: f64,
        /// Wall seconds (BIRD: from both sessions Established to both tables imported).
        pub(super) wall: f64,
        pub(super) bytes_per_route: f64,
        pub(super) checksum: u64,
    }

    fn tor_addr(k: u32) -> Ipv4Addr {
        Ipv4Addr::new(172, 31, 10 + k as u8, 250)
    }

    /// ToR `k`'s global IPv6 address on the shared subnet `fd31:1k::/64`.
    fn tor_addr6(k: u32) -> Ipv6Addr {
        Ipv6Addr::new(0xfd31, 0x10 + k as u16, 0, 0, 0, 0, 0, 0x250)
    }

    /// The table of a ToR: `(v6, origin, prefixes)` batches, IPv4 then IPv6, as `load`
    /// sends them.
    fn batches(n4: u32, n6: u32) -> Vec<(bool, u32, Vec<IpNet>)> {
        let mut out = Vec::new();
        for (n, v6) in [(n4, false), (n6, true)] {
            for origin in 0..ORIGINS {
                let all: Vec<IpNet> = (origin..n)
                    .step_by(ORIGINS as usize)
                    .map(|i| if v6 { v6_prefix(i) } else { v4_prefix(i) })
                    .collect();
                for c in all.chunks(BATCH) {
                    out.push((v6, origin, c.to_vec()));
                }
            }
        }
        out
    }

    fn engine_attrs(k: u32, origin: u32, v6: bool) -> PathAttrs {
        PathAttrs {
            as_path: vec![AsSegment::Sequence(vec![65010 + k, 64600 + origin])],
            next_hop: Some(if v6 {
                IpAddr::V6(tor_addr6(k))
            } else {
                IpAddr::V4(tor_addr(k))
            }),
            communities: vec![(64512 << 16) | origin],
            ..Default::default()
        }
    }

    fn updates(k: u32, n4: u32, n6: u32) -> Vec<Update> {
        batches(n4, n6)
            .into_iter()
            .map(|(v6, origin, c)| {
                let u = Update::new()
                    .with(AttrValue::Origin(WireOrigin::IGP))
                    .with(AttrValue::AsPath(AsPath::sequence([
                        65010 + k,
                        64600 + origin,
                    ])))
                    .with(AttrValue::Communities(
                        vec![Community((64512 << 16) | origin)].into(),
                    ));
                if v6 {
                    // RFC 4760 §3: IPv6 reachability in MP_REACH_NLRI, global next hop only.
                    u.with(AttrValue::MpReachNlri(MpReach {
                        family: WireFamily::IPV6_UNICAST,
                        next_hop: WireNextHop::Ipv6 {
                            global: tor_addr6(k),
                            link_local: None,
                        },
                        nlri: c.into_iter().map(Nlri::new).collect(),
                    }))
                } else {
                    u.with(AttrValue::NextHop(tor_addr(k)))
                        .with_nlri(c.into_iter().map(Nlri::new))
                }
            })
            .collect()
    }

    /// Order-independent checksum of prefix -> sorted gateway addresses.
    fn checksum<'a>(routes: impl Iterator<Item = (IpNet, Vec<IpAddr>)> + 'a) -> (usize, u64) {
        routes.fold((0, 0u64), |(n, acc), (p, mut gws)| {
            gws.sort();
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            gws.hash(&mut h);
            (n + 1, acc ^ h.finish())
        })
    }

    /// The engine with the same table: CPU seconds, heap bytes per route, FIB checksum.
    pub(super) fn engine_side(n4: u32, n6: u32) -> (Side, usize) {
        let heap0 = LIVE.load(Ordering::Relaxed);
        let (mut e, tors) = engine_with_tors();
        let now = Instant::now();
        for &t in &tors {
            e.handle_session_up(now, t, session(0));
        }
        let work: Vec<Batch> = (1..=2u32)
            .flat_map(|k| {
                batches(n4, n6).into_iter().map(move |(v6, o, c)| {
                    (
                        k as usize - 1,
                        v6,
                        o,
                        c.into_iter().map(|p| (p, PathId(0))).collect(),
                    )
                })
            })
            .collect();
        let heap_in = LIVE.load(Ordering::Relaxed);
        let cpu0 = cpu_ns();
        for (t, v6, o, prefixes) in &work {
            e.handle_update(
                now,
                tors[*t],
                prefixes,
                engine_attrs(*t as u32 + 1, *o, *v6),
                &[],
            );
        }
        let secs = (cpu_ns() - cpu0) as f64 / 1e9;
        let heap = LIVE.load(Ordering::Relaxed) - heap_in;
        drop(work);
        let _ = heap0;
        let (count, sum) = checksum(e.fib_snapshot().into_iter().map(|(p, nhs)| {
            let gws = nhs
                .iter()
                .filter_map(|nh| match nh {
                    NextHop::Gateway { gateway, .. } => Some(*gateway),
                    _ => None,
                })
                .collect();
            (p, gws)
        }));
        let side = Side {
            secs,
            wall: secs,
            bytes_per_route: heap as f64 / (2.0 * f64::from(n4 + n6)),
            checksum: sum,
        };
        (side, count)
    }

    fn birdc(sock: &Path, cmd: &str) -> String {
        std::process::Command::new("birdc")
            .arg("-s")
            .arg(sock)
            .args(cmd.split_whitespace())
            .stdin(std::process::Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// `Routes: N <word>` (`imported`, `exported`) of a protocol, summed over its channels.
    fn route_stat(sock: &Path, proto: &str, word: &str) -> u64 {
        let out = birdc(sock, &format!("show protocols all {proto}"));
        out.lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("Routes:")?;
                let words: Vec<&str> = rest.split([' ', ',']).filter(|w| !w.is_empty()).collect();
                let i = words.iter().position(|w| *w == word)?;
                words.get(i.checked_sub(1)?)?.parse::<u64>().ok()
            })
            .sum()
    }

    /// Routes in all of BIRD's tables: the sum of `N of M routes for ...` of
    /// `show route count`.
    fn route_count(sock: &Path) -> u64 {
        birdc(sock, "show route count")
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// Bytes from `show memory`'s `Total:` line: (effective, effective + overhead).
    fn bird_memory(sock: &Path) -> (f64, f64) {
        let out = birdc(sock, "show memory");
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with("Total:"))
            .unwrap_or_default();
        let w: Vec<&str> = line.split_whitespace().skip(1).collect();
        let val = |i: usize| -> f64 {
            let (Some(v), Some(u)) = (w.get(i), w.get(i + 1)) else {
                return 0.0;
            };
            let mult = match *u {
                "kB" => 1024.0,
                "MB" => 1048576.0,
                "GB" => 1073741824.0,
                _ => 1.0,
            };
            v.parse::<f64>().unwrap_or(0.0) * mult
        };
        let eff = val(0);
        (eff, eff + val(2))
    }

    fn rss(pid: Option<u32>) -> f64 {
        pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<f64>()
                    .ok()
            })
            .map_or(0.0, |kb| kb * 1024.0)
    }

    /// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
    fn proc_cpu(pid: Option<u32>) -> f64 {
        pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
            .and_then(|s| {
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                // Fields 14 and 15 (utime, stime), counted after the command name.
                let t: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
                Some(t / 100.0)
            })
            .unwrap_or(0.0)
    }

    fn wait(what: &str, limit: Duration, every: Duration, mut done: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !done() {
            assert!(t0.elapsed() < limit, "{what}: not done after {limit:?}");
            std::thread::sleep(every);
        }
    }

    /// A feeder: connects from ToR `k`'s namespace, waits at `go` until both are
    /// Established, sends its table and End-of-RIB, and holds the session until `stop`.
    /// Returns its CPU seconds and when it had handed the whole table to its transport.
    fn feeder(
        ns: &Netns,
        k: u32,
        (n4, n6): (u32, u32),
        go: std::sync::Arc<Barrier>,
        stop: mpsc::Receiver<()>,
    ) -> std::thread::JoinHandle<(f64, Instant)> {
        let table = updates(k, n4, n6);
        ns.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let sent = rt.block_on(async move {
                let mut c = SessionConfig::new(65010 + k, tor_addr(k)).with_peer_as(64512);
                c.families = vec![WireFamily::IPV4_UNICAST, WireFamily::IPV6_UNICAST];
                c.hold_time = 240;
                let remote =
                    std::net::SocketAddr::from((Ipv4Addr::new(172, 31, 10 + k as u8, 2), 179));
                let mut pc = PeerConfig::new(c, remote);
                pc.socket.local = Some(IpAddr::V4(tor_addr(k)));
                let (h, mut ev, task) = transport::spawn(pc, None);
                h.start(StartKind::Manual).await.expect("start");
                let up = tokio::time::timeout(Duration::from_secs(60), async {
                    while let Some(a) = ev.recv().await {
                        if matches!(a, Action::SessionUp(_)) {
                            return true;
                        }
                    }
                    false
                })
                .await;
                assert!(matches!(up, Ok(true)), "ToR {k}: BIRD session not up");
                tokio::spawn(async move { while ev.recv().await.is_some() {} });
                let _ = tokio::task::spawn_blocking(move || go.wait()).await;
                for c in table.chunks(64) {
                    h.send_updates(c.to_vec()).await.expect("send");
                }
                h.initial_table_sent().await.expect("eor");
                let sent = Instant::now();
                let _ = tokio::task::spawn_blocking(move || stop.recv()).await;
                let _ = h
                    .stop(StopKind::Administrative {
                        message: "bench".into(),
                    })
                    .await;
                drop(h);
                let _ = task.await;
                sent
            });
            // CPU seconds of this thread: the feeder's encoding and its transport task.
            (cpu_ns() as f64 / 1e9, sent)
        })
    }

    /// `ip route` of one table: prefix -> gateways (multipath `nexthop via` lines included).
    fn kernel_routes(out: &str, parsed: &mut Vec<(IpNet, Vec<IpAddr>)>) {
        for l in out.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if !l.starts_with(char::is_whitespace)
                && let Some(p) = w.first().and_then(|p| p.parse::<IpNet>().ok())
            {
                parsed.push((p, Vec::new()));
            }
            if let (Some(i), Some(last)) = (w.iter().position(|x| *x == "via"), parsed.last_mut())
                && let Some(gw) = w.get(i + 1).and_then(|g| g.parse().ok())
            {
                last.1.push(gw);
            }
        }
    }

    /// BIRD 2 loading the same table: wire-to-table seconds, memory per route, checksum
    /// of its merged (ECMP) kernel routes. `None` when root or BIRD is missing.
    pub(super) fn bird_side(n4: u32, n6: u32) -> Option<(Side, f64, usize)> {
        let missing = test_support::missing(&[Need::Root, Need::Bird]);
        if !missing.is_empty() {
            println!("SKIP BIRD comparison: {}", missing.join("; "));
            return None;
        }
        let r = Netns::new("llb").expect("netns");
        let t1 = Netns::new("llb").expect("netns");
        let t2 = Netns::new("llb").expect("netns");
        let _v1 = test_support::veth(&t1, "eth0", &r, "e1").expect("veth");
        let _v2 = test_support::veth(&t2, "eth0", &r, "e2").expect("veth");
        t1.sh(
            "ip addr add 172.31.11.250/24 dev eth0; ip -6 addr add fd31:11::250/64 dev eth0 nodad",
        )
        .expect("addr");
        t2.sh(
            "ip addr add 172.31.12.250/24 dev eth0; ip -6 addr add fd31:12::250/64 dev eth0 nodad",
        )
        .expect("addr");
        r.sh(
            "ip addr add 172.31.11.2/24 dev e1; ip addr add 172.31.12.2/24 dev e2; \
              ip -6 addr add fd31:11::2/64 dev e1 nodad; ip -6 addr add fd31:12::2/64 dev e2 nodad",
        )
        .expect("addr");
        let mut conf = String::from("router id 10.255.0.1;\nprotocol device {}\n");
        for k in 1..=2u32 {
            conf += &format!(
                "protocol bgp tor{k} {{\n  local 172.31.{a}.2 as 64512;\n  neighbor 172.31.{a}.250 as {asn};\n  passive on;\n  hold time 240;\n  ipv4 {{ import all; export none; }};\n  ipv6 {{ import all; export none; }};\n}}\n",
                a = 10 + k,
                asn = 65010 + k
            );
        }
        // Exported only after the load is measured: BIRD's own ECMP sets (merge paths).
        for (name, fam) in [("k4", "ipv4"), ("k6", "ipv6")] {
            conf += &format!(
                "protocol kernel {name} {{\n  disabled;\n  kernel table 100;\n  merge paths on;\n  learn off;\n  {fam} {{ import none; export all; }};\n}}\n"
            );
        }
        let bird = Bird::start_raw(&r, &conf).expect("bird");
        let sock = bird.socket();
        let (mem0, tot0) = bird_memory(&sock);
        let rss0 = rss(bird.pid());
        let cpu0 = proc_cpu(bird.pid());
        let go = std::sync::Arc::new(Barrier::new(3));
        let (s1, r1) = mpsc::channel();
        let (s2, r2) = mpsc::channel();
        let f1 = feeder(&t1, 1, (n4, n6), go.clone(), r1);
        let f2 = feeder(&t2, 2, (n4, n6), go.clone(), r2);
        go.wait();
        let start = Instant::now();
        let limit = Duration::from_secs(if n4 < 100_000 { 30 } else { 900 });
        let full = 2 * u64::from(n4 + n6);
        // Two measures: both sessions' import counters, and `show route count` (the table).
        let mut imported_at = None;
        wait(
            "BIRD imports both tables",
            limit,
            Duration::from_millis(20),
            || {
                if imported_at.is_none()
                    && route_stat(&sock, "tor1", "imported") + route_stat(&sock, "tor2", "imported")
                        >= full
                {
                    imported_at = Some(start.elapsed().as_secs_f64());
                }
                if start.elapsed() + Duration::from_millis(100) > limit {
                    println!(
                        "BIRD state:\n{}\n{}",
                        birdc(&sock, "show protocols all"),
                        birdc(&sock, "show route count")
                    );
                }
                imported_at.is_some() && route_count(&sock) >= full
            },
        );
        let wall = start.elapsed().as_secs_f64();
        let secs = proc_cpu(bird.pid()) - cpu0;
        let (mem1, tot1) = bird_memory(&sock);
        let rss1 = rss(bird.pid());
        let routes = full as f64;
        println!(
            "BIRD 2: show memory +{:.1} MiB effective, +{:.1} MiB with overhead; RSS +{:.1} MiB",
            (mem1 - mem0) / 1048576.0,
            (tot1 - tot0) / 1048576.0,
            (rss1 - rss0) / 1048576.0
        );
        // The kernel export, timed on its own: not part of the load.
        let k_start = Instant::now();
        let k_cpu0 = proc_cpu(bird.pid());
        bird.birdc("enable k4").expect("enable k4");
        bird.birdc("enable k6").expect("enable k6");
        wait(
            "BIRD exports to the kernel",
            limit,
            Duration::from_millis(200),
            || {
                route_stat(&sock, "k4", "exported") >= u64::from(n4)
                    && route_stat(&sock, "k6", "exported") >= u64::from(n6)
            },
        );
        let k_exported = k_start.elapsed().as_secs_f64();
        let k_cpu = proc_cpu(bird.pid()) - k_cpu0;
        let mut parsed: Vec<(IpNet, Vec<IpAddr>)> = Vec::new();
        kernel_routes(
            &r.sh("ip -4 route show table 100").expect("ip route"),
            &mut parsed,
        );
        kernel_routes(
            &r.sh("ip -6 route show table 100").expect("ip route"),
            &mut parsed,
        );
        let k_read = k_start.elapsed().as_secs_f64();
        let (count, sum) = checksum(parsed.into_iter());
        let _ = s1.send(());
        let _ = s2.send(());
        let (c1, sent1) = f1.join().unwrap_or((0.0, start));
        let (c2, sent2) = f2.join().unwrap_or((0.0, start));
        let sent = sent1.max(sent2).saturating_duration_since(start);
        println!(
            "BIRD 2 load: {wall:.2} s wall to `show route count` full (import counters full at {:.2} s; feeders done sending at {:.2} s), BIRD {secs:.2} CPU s, both bgp-wire feeders {:.2} CPU s",
            imported_at.unwrap_or(wall),
            sent.as_secs_f64(),
            c1 + c2
        );
        println!(
            "BIRD 2 kernel export (merge paths, table 100): {k_exported:.2} s wall, BIRD {k_cpu:.2} CPU s, kernel table read back at {k_read:.2} s ({count} prefixes)"
        );
        drop(bird);
        let side = Side {
            secs,
            wall,
            bytes_per_route: (mem1 - mem0) / routes,
            checksum: sum,
        };
        Some((side, (rss1 - rss0) / routes, count))
    }
}
