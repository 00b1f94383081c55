//! llgr engine benchmark: two ToR peers x 1M IPv4 (+200k IPv6) prefixes with shared
//! attributes, as on a dual-ToR node.
//!
//! Measures: load rate, heap bytes per route per peer (counting global allocator) and RSS,
//! one ToR going down under LLGR with Restart Time 0 while every prefix is ECMP over both
//! ToRs (target < 1 ms for the complete FIB output, via group-level changes), a full LLGR
//! entry after a GR phase (every route gets LLGR_STALE), and the End-of-RIB sweep after the
//! ToR returns having re-sent half of its routes. Every phase checks the FIB it produced
//! against a replay of the engine's output (checksum). `--tiny` runs in well under a second.
//!
//! Not done: the comparison with BIRD 2 loading the same table in a namespace.
#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
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

struct Replay {
    groups: HashMap<GroupId, Arc<[NextHop]>>,
    routes: HashMap<IpNet, GroupId>,
}

impl Replay {
    fn apply(&mut self, changes: &[FibChange]) -> (usize, usize) {
        let (mut g, mut r) = (0, 0);
        for c in changes {
            match c {
                FibChange::GroupAdded { id, nexthops }
                | FibChange::GroupChanged { id, nexthops } => {
                    g += 1;
                    self.groups.insert(*id, nexthops.clone());
                }
                FibChange::GroupRemoved { id } => {
                    g += 1;
                    self.groups.remove(id);
                }
                FibChange::Route { prefix, group } => {
                    r += 1;
                    match group {
                        Some(gid) => self.routes.insert(*prefix, *gid),
                        None => self.routes.remove(prefix),
                    };
                }
            }
        }
        (g, r)
    }

    /// Order-independent checksum of prefix -> next hops.
    fn checksum(&self) -> u64 {
        self.routes.iter().fold(0u64, |acc, (p, g)| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            self.groups[g].hash(&mut h);
            acc ^ h.finish()
        })
    }
}

fn engine_checksum(e: &Engine) -> u64 {
    e.fib_snapshot().iter().fold(0u64, |acc, (p, n)| {
        let mut h = DefaultHasher::new();
        p.hash(&mut h);
        n.hash(&mut h);
        acc ^ h.finish()
    })
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
    let tiny = std::env::args().any(|a| a == "--tiny");
    let (n4, n6) = if tiny {
        (20_000u32, 4_000u32)
    } else {
        (1_000_000, 200_000)
    };
    println!(
        "llgr-bench: 2 ToRs x ({n4} IPv4 + {n6} IPv6) prefixes, {ORIGINS} attribute sets per ToR"
    );

    let t0 = Instant::now();
    let heap0 = LIVE.load(Ordering::Relaxed);
    let rss0 = rss_bytes();
    let mut e = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
    let mut tors = Vec::new();
    for i in 1..=2u8 {
        let mut p = Peer::new(
            IpAddr::V4(Ipv4Addr::new(172, 31, 10 + i, 250)),
            65010 + u32::from(i),
            Ipv4Addr::new(172, 31, 10 + i, 250),
        );
        p.interface = Some(u32::from(i) + 1);
        p.connected = vec![format!("172.31.{}.0/24", 10 + i).parse().expect("valid")];
        p.gateway_mode = GatewayMode::Direct;
        p.llgr = true;
        tors.push(e.add_peer(p));
    }
    let mut replay = Replay {
        groups: HashMap::new(),
        routes: HashMap::new(),
    };
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
    replay.apply(&out);
    drop(out);
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
    assert_eq!(replay.checksum(), engine_checksum(&e), "FIB after load");
    let sum_load = replay.checksum();

    // 2. One ToR drops under LLGR with Restart Time 0 (BFD Down declared graceful).
    let start = Instant::now();
    let cpu0 = cpu_ns();
    e.handle_session_down(now, tors[0], DownReason::DeclaredGraceful);
    let out = e.poll_fib();
    let pic_t = start.elapsed();
    let pic_cpu = (cpu_ns() - cpu0) as f64 / 1e6;
    let (g, r) = replay.apply(&out);
    assert_eq!(
        replay.checksum(),
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
    replay.apply(&out);
    let start = Instant::now();
    for f in Family::ALL {
        e.handle_end_of_rib(now, tors[0], f);
    }
    let out = e.poll_fib();
    let sweep_t = start.elapsed();
    let (g, r) = replay.apply(&out);
    assert_eq!(
        replay.checksum(),
        engine_checksum(&e),
        "FIB after EoR sweep"
    );
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
    replay.apply(&out);
    while e.poll_event().is_some() {}
    let start = Instant::now();
    e.handle_session_down(now, tors[1], DownReason::TransportFailure);
    let out = e.poll_fib();
    let gr_t = start.elapsed();
    replay.apply(&out);
    now += Duration::from_secs(60);
    let start = Instant::now();
    e.handle_timeout(now);
    let out = e.poll_fib();
    let llgr_t = start.elapsed();
    let (g, r) = replay.apply(&out);
    assert_eq!(
        replay.checksum(),
        engine_checksum(&e),
        "FIB after LLGR entry"
    );
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
    println!(
        "summary: load {:.2} M routes/CPU-s, {per_route:.1} B/route/peer, PIC failover {:.3} ms, EoR sweep {:.1} ms, LLGR entry {:.3} ms, checksum {sum_load:016x}",
        cpu_rate / 1e6,
        ms(pic_t),
        ms(sweep_t),
        ms(llgr_t)
    );
}
