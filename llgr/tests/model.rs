//! Property test against a naive reference model.
//!
//! The model keeps a plain map of routes with a stale flag and per-family GR/LLGR phases,
//! written from RFC 4724 §4.2 and RFC 9494 §4.2, and recomputes every prefix's best paths
//! and ECMP set from scratch after each input with its own selection code (RFC 4271
//! §9.1.2.2, RFC 9494 §4.3, BIRD merge rules). It shares no code with the engine's
//! selection, path sets or groups. After each input we check:
//! 1. the engine's Adj-RIBs-In (paths, stale, LLGR-stale) equal the model's;
//! 2. the engine's FIB equals the model's from-scratch FIB;
//! 3. replaying every polled FIB change onto an empty FIB gives the engine's FIB.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use llgr::*;
use proptest::prelude::*;

const ME: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
const LIMIT_P2: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Up {
        peer: usize,
        gr: Option<(u16, bool)>,
        llgr: Option<u32>,
    },
    Down {
        peer: usize,
        reason: DownReason,
    },
    Announce {
        peer: usize,
        prefix: usize,
        pid: u32,
        v: u8,
    },
    Withdraw {
        peer: usize,
        prefix: usize,
        pid: u32,
    },
    Eor {
        peer: usize,
        v6: bool,
    },
    Advance {
        secs: u64,
    },
    Local {
        prefix: usize,
        add: bool,
        blackhole: bool,
    },
    Igp {
        which: usize,
        present: bool,
        metric: u32,
    },
    /// One UPDATE for several prefixes (bit i of `mask` = prefix i).
    AnnounceMany {
        peer: usize,
        mask: u8,
        pid: u32,
        v: u8,
    },
}

/// The IGP routes recursive next hops may resolve through: (prefix, gateway).
const IGP: [(&str, [u8; 4]); 3] = [
    ("192.0.2.0/24", [172, 31, 12, 1]),
    ("192.0.0.0/16", [172, 31, 12, 2]),
    ("198.51.100.0/24", [172, 31, 12, 3]),
];

fn op() -> impl Strategy<Value = Op> {
    let peer = 0usize..3;
    prop_oneof![
        2 => (peer.clone(), proptest::option::weighted(0.9, (0u16..4, proptest::bool::weighted(0.9))),
              proptest::option::of(0u32..4))
            .prop_map(|(peer, gr, llgr)| Op::Up { peer, gr, llgr }),
        2 => (peer.clone(), prop_oneof![
                Just(DownReason::TransportFailure),
                Just(DownReason::DeclaredGraceful),
                Just(DownReason::HoldTimerExpired),
                Just(DownReason::Administrative),
            ]).prop_map(|(peer, reason)| Op::Down { peer, reason }),
        8 => (peer.clone(), 0usize..6, 0u32..2, any::<u8>())
            .prop_map(|(peer, prefix, pid, v)| Op::Announce { peer, prefix, pid, v }),
        2 => (peer.clone(), 0usize..6, 0u32..2)
            .prop_map(|(peer, prefix, pid)| Op::Withdraw { peer, prefix, pid }),
        2 => (peer.clone(), any::<bool>()).prop_map(|(peer, v6)| Op::Eor { peer, v6 }),
        2 => (0u64..5).prop_map(|secs| Op::Advance { secs }),
        1 => (0usize..6, any::<bool>(), any::<bool>())
            .prop_map(|(prefix, add, blackhole)| Op::Local { prefix, add, blackhole }),
        2 => (0usize..3, any::<bool>(), 0u32..3)
            .prop_map(|(which, present, metric)| Op::Igp { which, present, metric }),
        3 => (peer, 1u8..64, 0u32..2, any::<u8>())
            .prop_map(|(peer, mask, pid, v)| Op::AnnounceMany { peer, mask, pid, v }),
    ]
}

fn prefixes() -> Vec<IpNet> {
    [
        "10.0.0.0/24",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.0.3.0/24",
        "2001:db8::/64",
        "2001:db8:1::/64",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn peer_addr(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(172, 31, 10 + i as u8, 250))
}

/// The attribute variants. Peer 2 is iBGP, so LOCAL_PREF matters for it.
fn attrs(peer: usize, v: u8) -> PathAttrs {
    let nh = match v & 3 {
        0 => IpAddr::V4(Ipv4Addr::new(172, 31, 10 + peer as u8, 1)),
        1 if v >> 7 == 1 => IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9)),
        1 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
        2 => IpAddr::V4(ME),
        _ => IpAddr::V4(Ipv4Addr::new(172, 31, 10 + peer as u8, 7)),
    };
    let mut communities = Vec::new();
    match v >> 5 & 3 {
        1 => communities.push(LLGR_STALE),
        2 => communities.push(NO_LLGR),
        3 => communities.extend([LLGR_STALE, NO_LLGR]),
        _ => {}
    }
    PathAttrs {
        as_path: vec![AsSegment::Sequence(vec![65099; 1 + (v as usize >> 2 & 1)])],
        next_hop: Some(nh),
        med: Some(u32::from(v >> 3 & 1)),
        local_pref: Some(100 + 50 * u32::from(v >> 4 & 1)),
        communities,
        ..Default::default()
    }
}

// ===== the naive model =====

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ph {
    Fresh,
    Gr,
    Llgr,
}

#[derive(Debug, Clone)]
struct MPeer {
    up: bool,
    gr: Option<(u16, bool)>,
    llgr: Option<u32>,
    phase: [Ph; 2],
    gr_deadline: Option<u64>,
    llst: [u64; 2],
    llst_deadline: [Option<u64>; 2],
    eor: [bool; 2],
}

#[derive(Debug, Clone)]
struct MRoute {
    v: u8,
    stale: bool,
}

struct Model {
    now: u64,
    peers: Vec<MPeer>,
    llgr_local: [bool; 3],
    routes: BTreeMap<(usize, usize, u32), MRoute>, // (peer, prefix, path id)
    local: BTreeMap<usize, bool>,
    igp: [Option<u32>; 3],
    limit_hit: bool,
}

fn fam(prefix: usize) -> usize {
    usize::from(prefix >= 4)
}

impl Model {
    fn new() -> Self {
        let p = MPeer {
            up: false,
            gr: None,
            llgr: None,
            phase: [Ph::Fresh; 2],
            gr_deadline: None,
            llst: [0; 2],
            llst_deadline: [None; 2],
            eor: [false; 2],
        };
        Model {
            now: 0,
            peers: vec![p.clone(), p.clone(), p],
            llgr_local: [true, false, true],
            routes: BTreeMap::new(),
            local: BTreeMap::new(),
            igp: [None; 3],
            limit_hit: false,
        }
    }

    fn delete(&mut self, peer: usize, f: usize, only_stale: bool, only_no_llgr: bool) {
        self.routes.retain(|(p, pfx, _), r| {
            !(*p == peer
                && fam(*pfx) == f
                && (!only_stale || r.stale)
                && (!only_no_llgr || attrs(peer, r.v).communities.contains(&NO_LLGR)))
        });
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Up { peer, gr, llgr } => {
                if self.peers[peer].up {
                    return;
                }
                let llgr_ok = self.llgr_local[peer];
                let p = &mut self.peers[peer];
                p.up = true;
                p.gr = gr;
                p.llgr = llgr;
                p.gr_deadline = None;
                let mut drop = Vec::new();
                for f in 0..2 {
                    p.eor[f] = false;
                    let keep = match p.phase[f] {
                        Ph::Fresh => continue,
                        Ph::Gr => gr.is_some_and(|(_, fwd)| fwd),
                        Ph::Llgr => llgr_ok && llgr.is_some() && gr.is_some_and(|(_, fwd)| fwd),
                    };
                    if !keep {
                        p.phase[f] = Ph::Fresh;
                        p.llst_deadline[f] = None;
                        drop.push(f);
                    }
                }
                for f in drop {
                    self.delete(peer, f, true, false);
                }
            }
            Op::Down { peer, reason } => {
                if !self.peers[peer].up {
                    return;
                }
                self.peers[peer].up = false;
                let p = self.peers[peer].clone();
                let graceful = p.gr.is_some()
                    && matches!(
                        reason,
                        DownReason::TransportFailure | DownReason::DeclaredGraceful
                    );
                let rt = p.gr.map_or(0, |(rt, _)| u64::from(rt));
                let llst = if self.llgr_local[peer] && p.gr.is_some() {
                    u64::from(p.llgr.unwrap_or(0))
                } else {
                    0
                };
                for f in 0..2 {
                    if !graceful {
                        self.delete(peer, f, false, false);
                        self.peers[peer].phase[f] = Ph::Fresh;
                        self.peers[peer].llst_deadline[f] = None;
                        continue;
                    }
                    match p.phase[f] {
                        Ph::Llgr => {
                            self.delete(peer, f, false, true);
                            self.mark_stale(peer, f);
                            continue;
                        }
                        Ph::Gr => self.delete(peer, f, true, false),
                        Ph::Fresh => {}
                    }
                    self.mark_stale(peer, f);
                    self.peers[peer].llst[f] = llst;
                    if rt == 0 && llst == 0 {
                        self.delete(peer, f, false, false);
                        self.peers[peer].phase[f] = Ph::Fresh;
                    } else if rt > 0 {
                        self.peers[peer].phase[f] = Ph::Gr;
                        self.peers[peer].gr_deadline = Some(self.now + rt);
                    } else {
                        self.enter_llgr(peer, f);
                    }
                }
            }
            Op::Announce {
                peer,
                prefix,
                pid,
                v,
            } => {
                if !self.peers[peer].up {
                    return;
                }
                let a = attrs(peer, v);
                if a.next_hop == Some(IpAddr::V4(ME)) {
                    self.routes.remove(&(peer, prefix, pid));
                    return;
                }
                let key = (peer, prefix, pid);
                let n = self.routes.keys().filter(|k| k.0 == peer).count();
                if peer == 2 && !self.routes.contains_key(&key) && n >= LIMIT_P2 {
                    self.limit_hit = true;
                    return;
                }
                self.routes.insert(key, MRoute { v, stale: false });
            }
            Op::Withdraw { peer, prefix, pid } => {
                if self.peers[peer].up {
                    self.routes.remove(&(peer, prefix, pid));
                }
            }
            Op::Eor { peer, v6 } => {
                let f = usize::from(v6);
                let p = &mut self.peers[peer];
                if !p.up || p.eor[f] {
                    return;
                }
                p.eor[f] = true;
                if p.phase[f] != Ph::Fresh {
                    p.phase[f] = Ph::Fresh;
                    p.llst_deadline[f] = None;
                    self.delete(peer, f, true, false);
                }
            }
            Op::Advance { secs } => {
                self.now += secs;
                for peer in 0..3 {
                    if self.peers[peer].gr_deadline.is_some_and(|d| d <= self.now) {
                        self.peers[peer].gr_deadline = None;
                        for f in 0..2 {
                            let p = &self.peers[peer];
                            if p.phase[f] != Ph::Gr || p.up {
                                continue;
                            }
                            if p.llst[f] == 0 {
                                self.peers[peer].phase[f] = Ph::Fresh;
                                self.delete(peer, f, true, false);
                            } else {
                                self.enter_llgr(peer, f);
                            }
                        }
                    }
                    for f in 0..2 {
                        if self.peers[peer].llst_deadline[f].is_some_and(|d| d <= self.now) {
                            self.peers[peer].llst_deadline[f] = None;
                            self.peers[peer].phase[f] = Ph::Fresh;
                            self.delete(peer, f, true, false);
                        }
                    }
                }
            }
            Op::Local {
                prefix,
                add,
                blackhole,
            } => {
                if add {
                    self.local.insert(prefix, blackhole);
                } else {
                    self.local.remove(&prefix);
                }
            }
            Op::Igp {
                which,
                present,
                metric,
            } => self.igp[which] = present.then_some(metric),
            Op::AnnounceMany { peer, mask, pid, v } => {
                for prefix in (0..6).filter(|i| mask & (1 << i) != 0) {
                    self.apply(&Op::Announce {
                        peer,
                        prefix,
                        pid,
                        v,
                    });
                }
            }
        }
    }

    fn mark_stale(&mut self, peer: usize, f: usize) {
        for ((p, pfx, _), r) in self.routes.iter_mut() {
            if *p == peer && fam(*pfx) == f {
                r.stale = true;
            }
        }
    }

    fn enter_llgr(&mut self, peer: usize, f: usize) {
        self.peers[peer].phase[f] = Ph::Llgr;
        self.peers[peer].llst_deadline[f] = Some(self.now + self.peers[peer].llst[f]);
        self.delete(peer, f, true, true);
    }

    fn llgr_stale(&self, peer: usize, prefix: usize, r: &MRoute) -> bool {
        attrs(peer, r.v).communities.contains(&LLGR_STALE)
            || (r.stale && self.peers[peer].phase[fam(prefix)] == Ph::Llgr)
    }

    /// Resolve a path: (next hop, IGP cost), `None` if unusable.
    fn resolve(&self, peer: usize, a: &PathAttrs) -> Option<(NextHop, u32)> {
        let nh = a.next_hop.unwrap();
        let pid = PEERS.with(|p| p.borrow()[peer]);
        let iface = Some(peer as u32 + 2);
        let subnet: IpNet = IpNet::new(peer_addr(peer), 24).unwrap().trunc();
        if subnet.contains(&nh) {
            return Some((
                NextHop::Gateway {
                    gateway: nh,
                    interface: iface,
                    peer: pid,
                },
                0,
            ));
        }
        if peer < 2 {
            // Direct (BIRD 1.6): the neighbour itself.
            return Some((
                NextHop::Gateway {
                    gateway: peer_addr(peer),
                    interface: iface,
                    peer: pid,
                },
                0,
            ));
        }
        // Longest match among the IGP routes present.
        let (_, gw, metric) = IGP
            .iter()
            .zip(self.igp)
            .filter_map(|((net, gw), m)| Some((net.parse::<IpNet>().unwrap(), *gw, m?)))
            .filter(|(net, _, _)| net.contains(&nh))
            .max_by_key(|(net, _, _)| net.prefix_len())?;
        let gw = IpAddr::V4(Ipv4Addr::from(gw));
        Some((
            NextHop::Gateway {
                gateway: gw,
                interface: Some(4),
                peer: pid,
            },
            metric,
        ))
    }

    fn fib(&self) -> HashMap<IpNet, Vec<NextHop>> {
        let pfx = prefixes();
        let mut out = HashMap::new();
        for (i, p) in pfx.iter().enumerate() {
            if let Some(bh) = self.local.get(&i) {
                if *bh {
                    out.insert(*p, vec![NextHop::Blackhole]);
                }
                continue;
            }
            // (stale, lp, aspath, origin=0, med, neighbor as, external, cost, id, addr, pid, nh)
            struct C {
                stale: bool,
                lp: u32,
                len: usize,
                med: u32,
                nas: u32,
                ext: bool,
                cost: u32,
                id: u32,
                addr: IpAddr,
                pid: u32,
                nh: NextHop,
            }
            let mut cs = Vec::new();
            for ((peer, prefix, pid), r) in &self.routes {
                if *prefix != i {
                    continue;
                }
                let a = attrs(*peer, r.v);
                let Some((nh, cost)) = self.resolve(*peer, &a) else {
                    continue;
                };
                let ext = *peer != 2;
                let AsSegment::Sequence(seq) = &a.as_path[0] else {
                    unreachable!()
                };
                cs.push(C {
                    stale: self.llgr_stale(*peer, *prefix, r),
                    lp: if ext { 100 } else { a.local_pref.unwrap() },
                    len: seq.len(),
                    med: a.med.unwrap(),
                    nas: seq[0],
                    ext,
                    cost,
                    id: u32::from(Ipv4Addr::new(1, 1, 1, *peer as u8)),
                    addr: peer_addr(*peer),
                    pid: *pid,
                    nh,
                });
            }
            if cs.is_empty() {
                continue;
            }
            // Naive: survivors of each RFC step, one loop per step.
            let mut alive: Vec<usize> = (0..cs.len()).collect();
            let step = |alive: &mut Vec<usize>, better: &dyn Fn(&C, &C) -> bool| {
                let snapshot = alive.clone();
                alive.retain(|&x| !snapshot.iter().any(|&y| better(&cs[y], &cs[x])));
            };
            step(&mut alive, &|y, x| !y.stale && x.stale);
            step(&mut alive, &|y, x| y.lp > x.lp);
            step(&mut alive, &|y, x| y.len < x.len);
            step(&mut alive, &|y, x| y.nas == x.nas && y.med < x.med);
            step(&mut alive, &|y, x| y.ext && !x.ext);
            step(&mut alive, &|y, x| y.cost < x.cost);
            step(&mut alive, &|y, x| y.id < x.id);
            step(&mut alive, &|y, x| y.addr < x.addr);
            step(&mut alive, &|y, x| y.pid < x.pid);
            assert_eq!(alive.len(), 1, "model tie-breaks must end with one path");
            let b = &cs[alive[0]];
            let mut nhs: Vec<NextHop> = cs
                .iter()
                .filter(|c| {
                    c.stale == b.stale
                        && c.lp == b.lp
                        && c.len == b.len
                        && c.med == b.med
                        && c.ext == b.ext
                        && c.cost == b.cost
                })
                .map(|c| c.nh)
                .collect();
            nhs.sort();
            nhs.dedup();
            out.insert(*p, nhs);
        }
        out
    }
}

thread_local! {
    static PEERS: std::cell::RefCell<Vec<PeerId>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Sut {
    e: Engine,
    t0: Instant,
    now: u64,
    peers: Vec<PeerId>,
    /// The engine's FIB output replayed (the side under test, not the model).
    fib: FibTable,
}

impl Sut {
    fn new() -> Self {
        let mut cfg = Config::new(64512, ME);
        cfg.local_addresses = vec![IpAddr::V4(ME)];
        let mut e = Engine::new(cfg);
        let mut peers = Vec::new();
        for i in 0..3usize {
            let asn = if i == 2 { 64512 } else { 65010 + i as u32 };
            let mut p = Peer::new(peer_addr(i), asn, Ipv4Addr::new(1, 1, 1, i as u8));
            p.internal = i == 2;
            p.interface = Some(i as u32 + 2);
            p.connected = vec![IpNet::new(peer_addr(i), 24).unwrap().trunc()];
            p.gateway_mode = if i < 2 {
                GatewayMode::Direct
            } else {
                GatewayMode::Recursive
            };
            p.llgr = i != 1;
            p.prefix_limit = (i == 2).then_some(LIMIT_P2 as u32);
            peers.push(e.add_peer(p));
        }
        PEERS.with(|p| *p.borrow_mut() = peers.clone());
        Sut {
            e,
            // The epoch of virtual time; the engine itself never reads the clock.
            t0: {
                #[allow(clippy::disallowed_methods)]
                Instant::now()
            },
            now: 0,
            peers,
            fib: FibTable::new(),
        }
    }

    fn apply(&mut self, op: &Op) {
        let t = self.t0 + Duration::from_secs(self.now);
        let pfx = prefixes();
        match *op {
            Op::Up { peer, gr, llgr } => {
                let families = |fwd| {
                    vec![
                        GrFamily {
                            family: Family::Ipv4Unicast,
                            forwarding: fwd,
                        },
                        GrFamily {
                            family: Family::Ipv6Unicast,
                            forwarding: fwd,
                        },
                    ]
                };
                let fwd = gr.is_some_and(|(_, f)| f);
                let params = SessionParams {
                    gr: gr.map(|(rt, fwd)| GrCapability {
                        restart_time: rt,
                        families: families(fwd),
                        ..Default::default()
                    }),
                    llgr: llgr.map(|st| {
                        Family::ALL
                            .iter()
                            .map(|&family| LlgrFamily {
                                family,
                                forwarding: fwd,
                                stale_time: st,
                            })
                            .collect()
                    }),
                    ..Default::default()
                };
                self.e.handle_session_up(t, self.peers[peer], params);
            }
            Op::Down { peer, reason } => self.e.handle_session_down(t, self.peers[peer], reason),
            Op::Announce {
                peer,
                prefix,
                pid,
                v,
            } => self.e.handle_update(
                t,
                self.peers[peer],
                &[(pfx[prefix], PathId(pid))],
                attrs(peer, v),
                &[],
            ),
            Op::Withdraw { peer, prefix, pid } => self.e.handle_update(
                t,
                self.peers[peer],
                &[],
                PathAttrs::default(),
                &[(pfx[prefix], PathId(pid))],
            ),
            Op::Eor { peer, v6 } => {
                let f = if v6 {
                    Family::Ipv6Unicast
                } else {
                    Family::Ipv4Unicast
                };
                self.e.handle_end_of_rib(t, self.peers[peer], f)
            }
            Op::Advance { secs } => {
                self.now += secs;
                self.e
                    .handle_timeout(self.t0 + Duration::from_secs(self.now));
            }
            Op::Local {
                prefix,
                add,
                blackhole,
            } => {
                if add {
                    self.e.originate(
                        pfx[prefix],
                        LocalRoute {
                            blackhole,
                            ..Default::default()
                        },
                    );
                } else {
                    self.e.withdraw_local(pfx[prefix]);
                }
            }
            Op::Igp {
                which,
                present,
                metric,
            } => {
                let (net, gw) = IGP[which];
                let r = present.then(|| IgpRoute {
                    metric,
                    nexthops: vec![(Some(IpAddr::V4(Ipv4Addr::from(gw))), 4)],
                });
                self.e.set_igp_route(net.parse().unwrap(), r);
            }
            Op::AnnounceMany { peer, mask, pid, v } => {
                let many: Vec<(IpNet, PathId)> = (0..6)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| (pfx[i], PathId(pid)))
                    .collect();
                self.e
                    .handle_update(t, self.peers[peer], &many, attrs(peer, v), &[]);
            }
        }
        if let Err(e) = self.fib.apply_all(self.e.poll_fib()) {
            panic!("engine output breaks a FIB invariant: {e}");
        }
        let _ = self.e.poll_rib_out();
        while self.e.poll_event().is_some() {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_naive_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut sut = Sut::new();
        let mut model = Model::new();
        let pfx = prefixes();
        for (step, op) in ops.iter().enumerate() {
            sut.apply(op);
            model.apply(op);
            // 1. Adj-RIBs-In.
            for (i, p) in pfx.iter().enumerate() {
                let mut got: Vec<(usize, u32, bool, bool, PathAttrs)> = sut.e.paths(p).into_iter()
                    .filter_map(|x| Some((x.peer?.index() as usize, x.path_id.0, x.stale, x.llgr_stale, (*x.attrs).clone())))
                    .collect();
                got.sort_by_key(|x| (x.0, x.1));
                let want: Vec<(usize, u32, bool, bool, PathAttrs)> = model.routes.iter()
                    .filter(|((_, pf, _), _)| *pf == i)
                    .map(|((peer, _, pid), r)| (*peer, *pid, r.stale, model.llgr_stale(*peer, i, r), attrs(*peer, r.v)))
                    .collect();
                prop_assert_eq!(got, want, "Adj-RIB-In of {} after step {} {:?}", p, step, op);
            }
            // 2. FIB vs from-scratch model.
            let fib: HashMap<IpNet, Vec<NextHop>> =
                sut.e.fib_snapshot().into_iter().map(|(p, n)| (p, n.to_vec())).collect();
            prop_assert_eq!(&fib, &model.fib(), "FIB after step {} {:?}", step, op);
            // 3. Replayed output.
            let replayed: HashMap<IpNet, Vec<NextHop>> =
                sut.fib.routes().map(|(p, n)| (p, n.to_vec())).collect();
            prop_assert_eq!(&replayed, &fib, "replayed FIB after step {} {:?}", step, op);
        }
    }
}
