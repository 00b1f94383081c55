//! The engine: Adj-RIBs-In stored as shared path sets, GR/LLGR lifecycle, selection,
//! next-hop groups and Adj-RIBs-Out.
//!
//! # Storage
//! Every prefix points to a *path set*: the interned, sorted list of its candidate paths
//! (peer, path id, session epoch, attributes). All Adj-RIBs-In together are the prefix
//! table plus the path sets, so prefixes with the same candidates share one path set, and
//! best-path selection runs once per path set, not once per prefix. A path set's selection
//! result is a next-hop group, interned by content and shared by path sets.
//!
//! Staleness is not stored per route: a path is stale when its epoch is not the current
//! session epoch of its peer, and long-lived stale when its family is in the LLGR phase.
//! So a session going down, entering LLGR or coming back changes a few path sets and,
//! through them, a few groups (prefix-independent convergence), not a million routes.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// Hash maps keyed by prefixes and path sets. foldhash's quality variant is seeded per map
/// (peers choose the prefixes, so the seed matters) and several times faster than SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::quality::RandomState>;

use crate::attrs::{
    Attrs, Interner, LLGR_STALE, LargeCommunity, NO_ADVERTISE, NO_EXPORT, NO_EXPORT_SUBCONFED,
    NO_LLGR, Origin, PathAttrs,
};
use crate::members::Members;
use crate::output::{
    Event, FibChange, GroupId, NextHop, Rejection, RibOutChange, RibOutPath, Stats, SweepReason,
};
use crate::peer::{
    DownReason, ExportPolicy, Family, GatewayMode, NextHopMode, PathId, Peer, PeerId, Prefix,
    SessionParams,
};
use crate::select::{self, View};
use crate::timer::{Timer, TimerTable};

/// Engine-wide configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Route-reflection cluster ID (RFC 4456 §7); `None` = the router ID.
    pub cluster_id: Option<u32>,
    /// Our own addresses: a received next hop equal to one of them is rejected.
    pub local_addresses: Vec<IpAddr>,
    /// Maximum next hops per ECMP set (BIRD `merge paths ... limit`), default 16.
    pub ecmp_limit: usize,
    /// Compare MED between routes from different neighbouring ASes.
    pub always_compare_med: bool,
    /// LOCAL_PREF of routes that carry none (eBGP routes), default 100.
    pub default_local_pref: u32,
    /// Local bounds on the peer's Restart Time (BIRD 2 `min/max graceful restart time`).
    /// Applied to non-zero values only: 0 means the peer asked for no GR phase.
    pub restart_time_bounds: (Duration, Duration),
    /// Local bounds on the peer's long-lived stale time (`min/max long lived stale time`).
    /// Applied to non-zero values only.
    pub llgr_stale_time_bounds: (Duration, Duration),
    /// RFC 4724 §4.2 optional upper bound on keeping stale routes after re-establishment
    /// while End-of-RIB has not arrived (GR phase only; the LLGR stale timer keeps running).
    pub stale_upper_bound: Option<Duration>,
}

impl Config {
    /// Defaults: ECMP limit 16, no MED always-compare, LOCAL_PREF 100, no clamping beyond
    /// the wire limits (4095 s and 2^24-1 s), no upper bound.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        Config {
            local_as,
            router_id,
            cluster_id: None,
            local_addresses: Vec::new(),
            ecmp_limit: 16,
            always_compare_med: false,
            default_local_pref: 100,
            restart_time_bounds: (Duration::ZERO, Duration::from_secs(4095)),
            llgr_stale_time_bounds: (Duration::ZERO, Duration::from_secs(0xFF_FFFF)),
            stale_upper_bound: None,
        }
    }
}

/// A locally originated route (loopback, pod block, service range).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalRoute {
    /// Install a `blackhole` route for it (Calico pod blocks); otherwise it is only advertised.
    pub blackhole: bool,
    /// Communities attached per origination policy (Calico `communities`).
    pub communities: Vec<u32>,
    /// Large communities attached per origination policy.
    pub large_communities: Vec<LargeCommunity>,
}

/// A route the caller resolves next hops through (Recursive gateway mode), fed from the
/// kernel routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgpRoute {
    /// Metric, the IGP cost of RFC 4271 §9.1.2.2 (e).
    pub metric: u32,
    /// Next hops: gateway (None for a device route) and interface index.
    pub nexthops: Vec<(Option<IpAddr>, u32)>,
}

/// One path of a prefix, as reported by [`Engine::paths`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// The peer, `None` for a locally originated route.
    pub peer: Option<PeerId>,
    /// ADD-PATH identifier.
    pub path_id: PathId,
    /// Attributes as received.
    pub attrs: Attrs,
    /// Stale (RFC 4724).
    pub stale: bool,
    /// Long-lived stale: depreferenced (RFC 9494).
    pub llgr_stale: bool,
}

const LOCAL: u32 = u32::MAX;
const DIRTY_FIB: u8 = 1;
const DIRTY_EXPORT: u8 = 2;

/// One candidate path in a path set. For `peer == LOCAL`, `self_nh` means "blackhole".
#[derive(Debug, Clone)]
struct Cand {
    peer: u32,
    path_id: u32,
    epoch: u32,
    self_nh: bool,
    attrs: Attrs,
}

impl PartialEq for Cand {
    fn eq(&self, o: &Self) -> bool {
        self.peer == o.peer
            && self.path_id == o.path_id
            && self.epoch == o.epoch
            && self.self_nh == o.self_nh
            && Arc::ptr_eq(&self.attrs, &o.attrs)
    }
}
impl Eq for Cand {}
impl Hash for Cand {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.peer.hash(h);
        self.path_id.hash(h);
        self.epoch.hash(h);
        self.self_nh.hash(h);
        (Arc::as_ptr(&self.attrs) as usize).hash(h);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BestKey {
    idx: usize,
    llgr_stale: bool,
}

#[derive(Debug)]
struct PathSet {
    cands: Arc<[Cand]>,
    family: Family,
    members: Members,
    group: Option<GroupId>,
    best: Option<BestKey>,
    canonical: bool,
    has_local: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    set: u32,
    pos: u32,
    dirty: u8,
}

#[derive(Debug)]
struct Group {
    nexthops: Arc<[NextHop]>,
    users: u32,
    announced: bool,
    dirty: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    None,
    Gr,
    Llgr,
}

#[derive(Debug, Default, Clone)]
struct FamState {
    fresh: Option<u32>,
    phase: Phase,
    llst: Duration,
    eor: bool,
    routes: u64,
}

#[derive(Debug)]
struct PeerState {
    cfg: Peer,
    router_id: Ipv4Addr,
    session: Option<SessionParams>,
    last_session: Option<SessionParams>,
    epoch: u32,
    fam: [FamState; 2],
    timers: TimerTable,
    routes: u64,
    limit_reported: bool,
    adj_out: HashMap<Prefix, Attrs>,
    /// RFC 7911 ADD-PATH send negotiated on the current session, per family.
    add_path: [bool; 2],
    /// Adj-RIB-Out of ADD-PATH families: the paths advertised per prefix, by our path id.
    adj_out_paths: HashMap<Prefix, Vec<(u32, Attrs)>>,
}

/// The new path of an upsert: attributes shared by a whole UPDATE, per-prefix flag.
#[derive(Debug, Clone, Copy)]
struct NewPath<'a> {
    attrs: &'a Attrs,
    epoch: u32,
    self_nh: bool,
}

/// What an upsert does to a prefix in a given old path set (see [`Engine::upsert`]).
#[derive(Debug, Clone, Copy)]
struct Transition {
    found: bool,
    unchanged: bool,
    new_set: Option<u32>,
    dirty: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MemoKey {
    /// Path sets are per family: an UPDATE may mix IPv4 and IPv6 prefixes.
    family: Family,
    old: Option<u32>,
    path_id: u32,
    self_nh: bool,
    adding: bool,
}

#[derive(Debug, Clone, Copy)]
struct Memo {
    key: MemoKey,
    t: Transition,
}

struct Eval {
    content: Vec<NextHop>,
    best: Option<BestKey>,
}

/// The route-preference engine. See the crate docs for the call protocol.
#[derive(Debug)]
pub struct Engine {
    cfg: Config,
    now: Option<Instant>,
    peers: Vec<Option<PeerState>>,
    table: HashMap<Prefix, Entry>,
    sets: Vec<Option<PathSet>>,
    free_sets: Vec<u32>,
    /// Canonical path set per candidate list, one index per family.
    set_index: [HashMap<Arc<[Cand]>, u32>; 2],
    peer_sets: HashMap<u32, HashSet<u32>>,
    /// Path sets per recursively resolved next hop (what an IGP change re-evaluates).
    nh_sets: HashMap<IpAddr, HashSet<u32>>,
    evaluations: u64,
    groups: HashMap<GroupId, Group>,
    group_index: HashMap<Arc<[NextHop]>, GroupId>,
    next_group: u64,
    interner: Interner,
    connected: HashMap<u32, Vec<IpNet>>,
    igp: HashMap<IpNet, IgpRoute>,
    transit_up: usize,
    /// Sessions with ADD-PATH send for some family: every candidate change is exported.
    add_path_up: usize,
    rib_out_paths: Vec<RibOutPath>,
    /// Our ADD-PATH path identifiers (RFC 7911 §3), per source path (peer, its path id):
    /// the same source path keeps its identifier for as long as its peer exists.
    out_path_ids: HashMap<(u32, u32), u32>,
    next_out_path_id: u32,
    fib_dirty: Vec<Prefix>,
    group_dirty: Vec<GroupId>,
    group_removed: Vec<GroupId>,
    export_dirty: Vec<Prefix>,
    rib_out: Vec<RibOutChange>,
    events: VecDeque<Event>,
    stats: Stats,
    scratch: Vec<Cand>,
}

fn clamp_nonzero(d: Duration, (lo, hi): (Duration, Duration)) -> Duration {
    if d.is_zero() {
        d
    } else {
        d.clamp(lo, hi.max(lo))
    }
}

fn is_host(p: &Prefix) -> bool {
    p.prefix_len() == p.max_prefix_len()
}

impl Engine {
    /// A new engine with no peers and no routes.
    pub fn new(cfg: Config) -> Self {
        Engine {
            cfg,
            now: None,
            peers: Vec::new(),
            table: HashMap::default(),
            sets: Vec::new(),
            free_sets: Vec::new(),
            set_index: Default::default(),
            peer_sets: HashMap::default(),
            nh_sets: HashMap::default(),
            evaluations: 0,
            groups: HashMap::default(),
            group_index: HashMap::default(),
            next_group: 1,
            interner: Interner::default(),
            connected: HashMap::default(),
            igp: HashMap::default(),
            transit_up: 0,
            add_path_up: 0,
            rib_out_paths: Vec::new(),
            out_path_ids: HashMap::default(),
            next_out_path_id: 1,
            fib_dirty: Vec::new(),
            group_dirty: Vec::new(),
            group_removed: Vec::new(),
            export_dirty: Vec::new(),
            rib_out: Vec::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            scratch: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    // ===== peers =====

    /// Add a peer; its session starts down.
    pub fn add_peer(&mut self, peer: Peer) -> PeerId {
        let st = PeerState {
            router_id: peer.router_id,
            cfg: peer,
            session: None,
            last_session: None,
            epoch: 0,
            fam: Default::default(),
            timers: TimerTable::default(),
            routes: 0,
            limit_reported: false,
            adj_out: HashMap::default(),
            add_path: [false; 2],
            adj_out_paths: HashMap::default(),
        };
        if let Some(i) = self.peers.iter().position(Option::is_none) {
            self.peers[i] = Some(st);
            PeerId(i as u32)
        } else {
            self.peers.push(Some(st));
            PeerId(self.peers.len() as u32 - 1)
        }
    }

    /// Remove a peer: its session is closed administratively and all its routes, stale or
    /// not, are deleted. Unknown peers are counted and ignored.
    pub fn remove_peer(&mut self, now: Instant, peer: PeerId) {
        if self.peer(peer).is_none() {
            self.stats.unknown_peer += 1;
            return;
        }
        if self.peer(peer).is_some_and(|p| p.session.is_some()) {
            self.handle_session_down(now, peer, DownReason::Administrative);
        }
        for f in Family::ALL {
            self.remove_cands(peer.0, f, |_| true);
        }
        self.peer_sets.remove(&peer.0);
        self.out_path_ids.retain(|(p, _), _| *p != peer.0);
        self.peers[peer.0 as usize] = None;
    }

    /// The configuration of a peer.
    pub fn peer_config(&self, peer: PeerId) -> Option<&Peer> {
        self.peer(peer).map(|p| &p.cfg)
    }

    /// Replace the connected subnets of a peer's session interface (re-resolves).
    pub fn set_peer_connected(&mut self, peer: PeerId, connected: Vec<IpNet>) {
        let Some(p) = self.peer_mut(peer) else {
            self.stats.unknown_peer += 1;
            return;
        };
        p.cfg.connected = connected;
        let ids = self.sets_of(peer.0, None);
        self.recompute(ids);
    }

    fn peer(&self, p: PeerId) -> Option<&PeerState> {
        self.peers.get(p.0 as usize).and_then(Option::as_ref)
    }

    fn peer_mut(&mut self, p: PeerId) -> Option<&mut PeerState> {
        self.peers.get_mut(p.0 as usize).and_then(Option::as_mut)
    }

    /// Advance time and check that `peer` exists and its session is up, counting the
    /// input as ignored otherwise.
    fn established(&mut self, now: Instant, peer: PeerId) -> bool {
        self.tick(now);
        match self.peer(peer) {
            None => self.stats.unknown_peer += 1,
            Some(p) if p.session.is_none() => self.stats.peer_not_up += 1,
            Some(_) => return true,
        }
        false
    }

    fn tick(&mut self, now: Instant) -> Instant {
        match self.now {
            Some(last) if now < last => {
                self.stats.time_went_backwards += 1;
                last
            }
            _ => {
                self.now = Some(now);
                now
            }
        }
    }

    // ===== next-hop resolution inputs =====

    /// Replace the connected subnets of an interface (for Recursive resolution).
    /// Only the path sets with a recursive next hop inside the old or new subnets are
    /// re-evaluated.
    pub fn set_connected(&mut self, interface: u32, subnets: Vec<IpNet>) {
        let old = if subnets.is_empty() {
            self.connected.remove(&interface)
        } else {
            self.connected.insert(interface, subnets.clone())
        };
        let changed: Vec<IpNet> = old.unwrap_or_default().into_iter().chain(subnets).collect();
        let ids = self.sets_resolving_in(&changed);
        self.recompute(ids);
    }

    /// Add, replace (`Some`) or remove (`None`) a route next hops may resolve through.
    /// Only the path sets with a recursive next hop inside `prefix` are re-evaluated (a
    /// longest match can only change for next hops the prefix covers).
    pub fn set_igp_route(&mut self, prefix: IpNet, route: Option<IgpRoute>) {
        let prefix = prefix.trunc();
        match route {
            Some(r) => self.igp.insert(prefix, r),
            None => self.igp.remove(&prefix),
        };
        let ids = self.sets_resolving_in(&[prefix]);
        self.recompute(ids);
    }

    /// Path sets with a recursively resolved next hop inside one of `nets`.
    fn sets_resolving_in(&self, nets: &[IpNet]) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .nh_sets
            .iter()
            .filter(|(nh, _)| nets.iter().any(|n| n.contains(*nh)))
            .flat_map(|(_, sets)| sets.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The next hop of a candidate whose resolution depends on the connected subnets and
    /// IGP routes the caller feeds in (a learned path from a Recursive-mode peer).
    fn recursive_next_hop(&self, c: &Cand) -> Option<IpAddr> {
        let p = self.peers.get(c.peer as usize)?.as_ref()?;
        (p.cfg.gateway_mode == GatewayMode::Recursive)
            .then_some(c.attrs.next_hop)
            .flatten()
    }

    /// Drop path set `id` from the next-hop index entry of `c`, unless another of
    /// `remaining` uses the same next hop.
    fn unindex_next_hop(&mut self, id: u32, c: &Cand, remaining: &[Cand]) {
        let Some(nh) = c.attrs.next_hop else { return };
        if c.peer == LOCAL
            || remaining
                .iter()
                .any(|r| r.peer != LOCAL && r.attrs.next_hop == Some(nh))
        {
            return;
        }
        if let Some(ids) = self.nh_sets.get_mut(&nh) {
            ids.remove(&id);
            if ids.is_empty() {
                self.nh_sets.remove(&nh);
            }
        }
    }

    /// Number of path-set evaluations (best path and ECMP set) since the engine was
    /// created: a diagnostic that shows how much work an input caused.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    // ===== session events =====

    /// The session with `peer` reached Established with these negotiated parameters.
    ///
    /// RFC 4724 §4.2 / RFC 9494 §4.2: the restart timer stops; stale routes of a family
    /// whose GR (or, in the LLGR phase, LLGR) capability is missing, lacks the family or has
    /// F=0 are deleted at once; the others stay stale until End-of-RIB.
    pub fn handle_session_up(&mut self, now: Instant, peer: PeerId, params: SessionParams) {
        let now = self.tick(now);
        let ub = self.cfg.stale_upper_bound;
        let Some(p) = self.peer_mut(peer) else {
            self.stats.unknown_peer += 1;
            return;
        };
        if p.session.is_some() {
            self.stats.session_up_twice += 1;
            return;
        }
        p.epoch = p.epoch.wrapping_add(1);
        let mut id_changed = false;
        if let Some(id) = params.router_id {
            id_changed = p.router_id != id;
            p.router_id = id;
        }
        p.limit_reported = false;
        p.timers.stop(Timer::GrRestart);
        let llgr_local = p.cfg.llgr;
        let mut lost = Vec::new();
        for f in Family::ALL {
            let fs = &mut p.fam[f.idx()];
            fs.fresh = Some(p.epoch);
            fs.eor = false;
            let keep = match fs.phase {
                Phase::None => continue,
                //= https://www.rfc-editor.org/rfc/rfc4724#section-4.2
                //# If the Graceful Restart Capability is not received ... or the F bit is
                //# not set for an AFI/SAFI, the stale routes MUST be deleted.
                Phase::Gr => params.gr_family(f).is_some_and(|g| g.forwarding),
                // RFC 9494 §4.2 (checklist 28): GR+LLGR, the family in capability 71, F=1.
                Phase::Llgr => llgr_local && params.llgr_family(f).is_some_and(|g| g.forwarding),
            };
            if !keep {
                lost.push(f);
            } else if fs.phase == Phase::Gr
                && let Some(ub) = ub
            {
                p.timers.set_after(Timer::EorWait(f), now, ub);
            }
        }
        if p.cfg.export == ExportPolicy::Transit {
            self.transit_up += 1;
        }
        let p = self.peer_mut(peer).expect("checked");
        p.session = Some(params);
        for f in lost {
            self.sweep(peer, f, SweepReason::CapabilityLost);
        }
        if id_changed {
            // The BGP identifier is a tie-break (RFC 4271 §9.1.2.2 (f)) for its stale routes.
            let ids = self.sets_of(peer.0, None);
            self.recompute(ids);
        }
        self.export_full(peer.0);
    }

    /// The session with `peer` went down. Whether the routes are kept as stale follows
    /// RFC 4724 §4 and RFC 8538 (see [`DownReason::graceful`]).
    pub fn handle_session_down(&mut self, now: Instant, peer: PeerId, reason: DownReason) {
        let now = self.tick(now);
        let Some(p) = self.peer_mut(peer) else {
            self.stats.unknown_peer += 1;
            return;
        };
        let Some(params) = p.session.take() else {
            self.stats.session_down_twice += 1;
            return;
        };
        p.adj_out.clear();
        p.adj_out_paths.clear();
        let had_add_path = std::mem::take(&mut p.add_path).contains(&true);
        let transit = p.cfg.export == ExportPolicy::Transit;
        let n = params.gr.as_ref().is_some_and(|g| g.notification) && p.cfg.notification_gr;
        let graceful = params.gr.is_some() && reason.graceful(n);
        let last_epoch = p.epoch;
        let llgr_local = p.cfg.llgr;
        p.last_session = Some(params.clone());
        self.rib_out.retain(|c| c.peer != peer);
        self.rib_out_paths.retain(|c| c.peer != peer);
        if had_add_path {
            self.add_path_up -= 1;
        }
        if transit {
            self.transit_up -= 1;
        }
        let (rtb, llb) = (
            self.cfg.restart_time_bounds,
            self.cfg.llgr_stale_time_bounds,
        );
        let mut gr_fams = Vec::new();
        let mut llgr_fams = Vec::new();
        let mut max_rt = Duration::ZERO;
        for f in Family::ALL {
            let p = self.peer_mut(peer).expect("checked");
            let fs = &mut p.fam[f.idx()];
            fs.fresh = None;
            p.timers.stop(Timer::EorWait(f));
            if !graceful {
                p.timers.stop(Timer::LlgrStale(f));
                fs.phase = Phase::None;
                self.flush(peer, f);
                continue;
            }
            let phase = fs.phase;
            match phase {
                //= https://www.rfc-editor.org/rfc/rfc9494#section-4.2
                //# previously stale routes MUST NOT be deleted before their LLST expires
                // (checklist 31): the LLGR phase and its timer continue unchanged; routes
                // of the session that just ended join it, minus those carrying NO_LLGR.
                Phase::Llgr => {
                    self.drop_no_llgr(peer, f);
                    continue;
                }
                //= https://www.rfc-editor.org/rfc/rfc4724#section-4.2
                //# If there are any stale routes from a previous restart, they MUST be deleted.
                Phase::Gr => {
                    let n = self.remove_cands(peer.0, f, |c| c.epoch != last_epoch);
                    self.events.push_back(Event::StaleSwept {
                        peer,
                        family: f,
                        reason: SweepReason::ConsecutiveRestart,
                        routes: n,
                    });
                }
                Phase::None => {}
            }
            let rt = clamp_nonzero(params.restart_time(f), rtb);
            let llst = if llgr_local {
                params
                    .llgr_family(f)
                    .map(|x| clamp_nonzero(Duration::from_secs(u64::from(x.stale_time)), llb))
                    .unwrap_or_default()
            } else {
                Duration::ZERO
            };
            let p = self.peer_mut(peer).expect("checked");
            let fs = &mut p.fam[f.idx()];
            fs.llst = llst;
            if rt.is_zero() && llst.is_zero() {
                // RFC 9494 §4.2 (checklist 14): both zero is plain RFC 4271 behaviour.
                fs.phase = Phase::None;
                self.flush(peer, f);
            } else if !rt.is_zero() {
                fs.phase = Phase::Gr;
                max_rt = max_rt.max(rt);
                gr_fams.push(f);
            } else {
                // RFC 9494 §4.2 (checklist 14): restart time 0 goes straight to LLGR.
                llgr_fams.push(f);
            }
        }
        if !gr_fams.is_empty() {
            let p = self.peer_mut(peer).expect("checked");
            p.timers.set_after(Timer::GrRestart, now, max_rt);
            let stale_routes = gr_fams.iter().map(|f| p.fam[f.idx()].routes).sum();
            self.events.push_back(Event::EnteredGr {
                peer,
                families: gr_fams,
                restart_time: max_rt,
                stale_routes,
            });
        }
        for f in llgr_fams {
            self.enter_llgr(now, peer, f);
        }
        // Staleness is derived from the epoch: re-evaluate the peer's path sets once.
        let ids = self.sets_of(peer.0, None);
        self.recompute(ids);
    }

    /// RFC 9494 §4.2: enter the long-lived stale phase for one family. The caller must
    /// re-evaluate the peer's path sets afterwards.
    fn enter_llgr(&mut self, now: Instant, peer: PeerId, f: Family) {
        let Some(p) = self.peer_mut(peer) else { return };
        let fs = &mut p.fam[f.idx()];
        fs.phase = Phase::Llgr;
        let llst = fs.llst;
        p.timers.set_after(Timer::LlgrStale(f), now, llst);
        self.drop_no_llgr(peer, f);
        let stale_routes = self.count_stale(peer.0, f);
        self.events.push_back(Event::EnteredLlgr {
            peer,
            family: f,
            stale_time: llst,
            stale_routes,
        });
        // The caller re-evaluates the peer's path sets once for all families, so that a
        // group shared by IPv4 and IPv6 prefixes changes in place (one change, not a split).
    }

    /// RFC 9494 §4.2: stale routes carrying NO_LLGR are deleted when they would become
    /// long-lived stale.
    fn drop_no_llgr(&mut self, peer: PeerId, f: Family) {
        let fresh = self.peer(peer).and_then(|p| p.fam[f.idx()].fresh);
        //= https://www.rfc-editor.org/rfc/rfc9494#section-4.2
        //# stale routes carrying NO_LLGR MUST be deleted
        let n = self.remove_cands(peer.0, f, |c| {
            Some(c.epoch) != fresh && c.attrs.has_community(NO_LLGR)
        });
        if n > 0 {
            self.events.push_back(Event::StaleSwept {
                peer,
                family: f,
                reason: SweepReason::NoLlgr,
                routes: n,
            });
        }
    }

    fn count_stale(&self, peer: u32, f: Family) -> u64 {
        let fresh = self.peers[peer as usize]
            .as_ref()
            .and_then(|p| p.fam[f.idx()].fresh);
        self.sets_of(peer, Some(f))
            .iter()
            .filter_map(|i| self.sets[*i as usize].as_ref())
            .map(|s| {
                let n = s
                    .cands
                    .iter()
                    .filter(|c| c.peer == peer && Some(c.epoch) != fresh)
                    .count();
                n as u64 * s.members.len() as u64
            })
            .sum()
    }

    /// Delete every route of a family from a peer (a non-graceful loss, RFC 4271).
    fn flush(&mut self, peer: PeerId, f: Family) {
        let n = self.remove_cands(peer.0, f, |_| true);
        if n > 0 {
            self.events.push_back(Event::RoutesFlushed {
                peer,
                family: f,
                routes: n,
            });
        }
    }

    /// Delete the stale routes of a family and leave the stale phase.
    fn sweep(&mut self, peer: PeerId, f: Family, reason: SweepReason) {
        let Some(p) = self.peer_mut(peer) else { return };
        p.fam[f.idx()].phase = Phase::None;
        p.timers.stop(Timer::LlgrStale(f));
        p.timers.stop(Timer::EorWait(f));
        let fresh = p.fam[f.idx()].fresh;
        let n = self.remove_cands(peer.0, f, |c| Some(c.epoch) != fresh);
        self.events.push_back(Event::StaleSwept {
            peer,
            family: f,
            reason,
            routes: n,
        });
    }

    /// End-of-RIB for a family (RFC 4724 §2): routes still stale are deleted.
    pub fn handle_end_of_rib(&mut self, now: Instant, peer: PeerId, family: Family) {
        if !self.established(now, peer) {
            return;
        }
        let p = self.peer_mut(peer).expect("checked");
        let fs = &mut p.fam[family.idx()];
        if fs.eor {
            self.stats.end_of_rib_twice += 1;
            return;
        }
        fs.eor = true;
        if fs.phase != Phase::None {
            //= https://www.rfc-editor.org/rfc/rfc4724#section-4.2
            //# the Receiving Speaker MUST immediately remove all the stale routes from the
            //# peer that it is retaining for that address family.
            self.sweep(peer, family, SweepReason::EndOfRib);
        }
    }

    /// Process expired timers. Call when [`Engine::poll_timeout`] is reached (or later).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.tick(now);
        for i in 0..self.peers.len() {
            let peer = PeerId(i as u32);
            for t in Timer::ALL {
                let Some(p) = self.peer_mut(peer) else { break };
                if p.timers.get(t).is_none_or(|d| d > now) {
                    continue;
                }
                p.timers.stop(t);
                match t {
                    Timer::GrRestart => {
                        let mut entered = false;
                        //= https://www.rfc-editor.org/rfc/rfc9494#section-4.2
                        //# [on Restart Time expiry] for each AFI/SAFI with LLST > 0 the
                        //# LLST timer starts; the other stale routes are deleted.
                        for f in Family::ALL {
                            let p = self.peer_mut(peer).expect("exists");
                            let fs = &p.fam[f.idx()];
                            if fs.phase != Phase::Gr || fs.fresh.is_some() {
                                continue;
                            }
                            if fs.llst.is_zero() {
                                self.sweep(peer, f, SweepReason::RestartTimeExpired);
                            } else {
                                self.enter_llgr(now, peer, f);
                                entered = true;
                            }
                        }
                        if entered {
                            let ids = self.sets_of(peer.0, None);
                            self.recompute(ids);
                        }
                    }
                    Timer::LlgrStale(f) => self.sweep(peer, f, SweepReason::LlgrStaleTimeExpired),
                    Timer::EorWait(f) => self.sweep(peer, f, SweepReason::UpperBound),
                }
            }
        }
    }

    /// The next deadline at which [`Engine::handle_timeout`] must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .flatten()
            .filter_map(|p| p.timers.next())
            .min()
    }

    /// The deadline of one timer of a peer.
    pub fn timer(&self, peer: PeerId, timer: Timer) -> Option<Instant> {
        self.peer(peer)?.timers.get(timer)
    }

    // ===== UPDATEs =====

    /// A decoded UPDATE: `withdrawn` first, then `announced` with `attrs` (RFC 4271 §9).
    ///
    /// Import checks (RFC 4271 §9.1.2, RFC 4456 §8) reject the announcement as a whole; a
    /// rejected announcement withdraws what the peer had for those prefixes.
    pub fn handle_update(
        &mut self,
        now: Instant,
        peer: PeerId,
        announced: &[(Prefix, PathId)],
        attrs: PathAttrs,
        withdrawn: &[(Prefix, PathId)],
    ) {
        if !self.established(now, peer) {
            return;
        }
        let mut memo = None;
        for (pfx, id) in withdrawn {
            if !self.upsert(pfx.trunc(), peer.0, id.0, None, &mut memo) {
                self.stats.unknown_withdraw += 1;
            }
        }
        if announced.is_empty() {
            return;
        }
        if let Err(r) = self.import_check(peer, &attrs) {
            self.stats.reject(r, announced.len() as u64);
            let mut memo = None;
            for (pfx, id) in announced {
                self.upsert(pfx.trunc(), peer.0, id.0, None, &mut memo);
            }
            return;
        }
        let attrs = self.interner.intern(attrs);
        let epoch = self.peer(peer).expect("checked").epoch;
        let mut memo = None;
        for (pfx, id) in announced {
            let pfx = pfx.trunc();
            let self_nh = is_host(&pfx) && attrs.next_hop == Some(pfx.addr());
            let new = NewPath {
                attrs: &attrs,
                epoch,
                self_nh,
            };
            self.upsert(pfx, peer.0, id.0, Some(new), &mut memo);
        }
    }

    /// RFC 7606 treat-as-withdraw: the routes are withdrawn; unknown ones are not errors.
    pub fn handle_treat_as_withdraw(
        &mut self,
        now: Instant,
        peer: PeerId,
        routes: &[(Prefix, PathId)],
    ) {
        self.tick(now);
        if self.peer(peer).is_none() {
            self.stats.unknown_peer += 1;
            return;
        }
        let mut memo = None;
        for (pfx, id) in routes {
            self.upsert(pfx.trunc(), peer.0, id.0, None, &mut memo);
        }
    }

    fn import_check(&self, peer: PeerId, a: &PathAttrs) -> Result<(), Rejection> {
        let p = self.peer(peer).expect("checked");
        //= https://www.rfc-editor.org/rfc/rfc4271#section-9.1.2
        //# If the AS_PATH attribute of a BGP route contains an AS loop, the BGP route
        //# should be excluded from the Phase 2 decision function.
        if a.as_count(self.cfg.local_as) > usize::from(p.cfg.allowed_local_as) {
            return Err(Rejection::AsPathLoop);
        }
        // RFC 4456 §8: ORIGINATOR_ID equal to our own ID, or our CLUSTER_ID in CLUSTER_LIST.
        if a.originator_id == Some(self.cfg.router_id) {
            return Err(Rejection::OriginatorIdIsUs);
        }
        let cluster = self.cfg.cluster_id.unwrap_or(u32::from(self.cfg.router_id));
        if a.cluster_list.contains(&cluster) {
            return Err(Rejection::ClusterLoop);
        }
        let Some(nh) = a.next_hop else {
            return Err(Rejection::MissingNextHop);
        };
        // RFC 4271 §5.1.3 / §6.3: a next hop that is one of our own addresses.
        let session_local = p.session.as_ref().and_then(|s| s.local_address);
        if self.cfg.local_addresses.contains(&nh) || session_local == Some(nh) {
            return Err(Rejection::NextHopIsUs);
        }
        Ok(())
    }

    // ===== local origination =====

    /// Originate (or replace) a local route. A locally originated route always wins over
    /// learned ones for the same prefix (they are kept, and used again once it is withdrawn).
    pub fn originate(&mut self, prefix: Prefix, route: LocalRoute) {
        let prefix = prefix.trunc();
        let attrs = self.interner.intern(PathAttrs {
            origin: Origin::Igp,
            communities: route.communities,
            large_communities: route.large_communities,
            ..Default::default()
        });
        let new = NewPath {
            attrs: &attrs,
            epoch: 0,
            self_nh: route.blackhole,
        };
        self.upsert(prefix, LOCAL, 0, Some(new), &mut None);
    }

    /// Withdraw a locally originated route; returns whether there was one.
    pub fn withdraw_local(&mut self, prefix: Prefix) -> bool {
        self.upsert(prefix.trunc(), LOCAL, 0, None, &mut None)
    }

    // ===== path sets =====

    /// Replace, add (`new = Some`) or remove the path `(peer, path_id)` of a prefix.
    /// Returns false when removing a path that does not exist or a route was refused.
    ///
    /// `memo` remembers the last path-set transition within one batch of the same change
    /// (one UPDATE): consecutive prefixes of an UPDATE usually move from the same old path
    /// set to the same new one, so only the first of them builds and interns a candidate
    /// list; the others cost one table lookup.
    fn upsert(
        &mut self,
        prefix: Prefix,
        peer: u32,
        path_id: u32,
        new: Option<NewPath<'_>>,
        memo: &mut Option<Memo>,
    ) -> bool {
        let old_entry = self.table.get(&prefix).copied();
        let old = old_entry.map(|e| e.set);
        let family = Family::of(&prefix);
        let key = MemoKey {
            family,
            old,
            path_id,
            self_nh: new.as_ref().is_some_and(|n| n.self_nh),
            adding: new.is_some(),
        };
        let t = match memo {
            Some(m) if m.key == key => m.t,
            _ => {
                let t = self.transition(prefix, peer, path_id, new, old);
                *memo = Some(Memo { key, t });
                t
            }
        };
        if t.unchanged {
            return true;
        }
        if !t.found && !key.adding {
            return false;
        }
        if peer != LOCAL && t.found != key.adding {
            let p = self.peers[peer as usize].as_mut().expect("checked");
            if key.adding
                && let Some(limit) = p.cfg.prefix_limit
                && p.routes >= u64::from(limit)
            {
                self.stats.reject(Rejection::PrefixLimit, 1);
                if !p.limit_reported {
                    p.limit_reported = true;
                    self.events.push_back(Event::PrefixLimitExceeded {
                        peer: PeerId(peer),
                        limit,
                    });
                }
                // The candidate list interned for this transition may now have no user.
                if let Some(s) = t.new_set
                    && self.sets[s as usize]
                        .as_ref()
                        .is_some_and(|x| x.members.len() == 0)
                {
                    self.free_set(s);
                    *memo = None;
                }
                return false;
            }
            let fs = &mut p.fam[family.idx()];
            if key.adding {
                p.routes += 1;
                fs.routes += 1;
            } else {
                p.routes -= 1;
                fs.routes -= 1;
            }
        }
        if let (Some(s), Some(e)) = (old, old_entry)
            && self.leave_set_at(s, e.pos)
        {
            // The old set is gone: its id may be reused by the next intern.
            *memo = None;
        }
        // One table access for the new state: the dirty flags land on the entry itself.
        let newly = match t.new_set {
            Some(s) => {
                let pos = self.sets[s as usize]
                    .as_mut()
                    .expect("live")
                    .members
                    .push(prefix);
                let e = self.table.entry(prefix).or_insert(Entry {
                    set: s,
                    pos,
                    dirty: 0,
                });
                e.set = s;
                e.pos = pos;
                let newly = t.dirty & !e.dirty;
                e.dirty |= t.dirty;
                newly
            }
            None => {
                self.table.remove(&prefix);
                t.dirty
            }
        };
        if newly & DIRTY_FIB != 0 {
            self.fib_dirty.push(prefix);
        }
        if newly & DIRTY_EXPORT != 0 {
            self.export_dirty.push(prefix);
        }
        true
    }

    /// What replacing the path `(peer, path_id)` of a prefix in path set `old` with `new`
    /// does: the new path set (interned) and which outputs become dirty.
    fn transition(
        &mut self,
        prefix: Prefix,
        peer: u32,
        path_id: u32,
        new: Option<NewPath<'_>>,
        old: Option<u32>,
    ) -> Transition {
        let family = Family::of(&prefix);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut found = false;
        if let Some(s) = old {
            for c in self.sets[s as usize].as_ref().expect("live").cands.iter() {
                if c.peer == peer && c.path_id == path_id {
                    found = true;
                } else {
                    scratch.push(c.clone());
                }
            }
        }
        let mut t = Transition {
            found,
            unchanged: false,
            new_set: None,
            dirty: 0,
        };
        if !found && new.is_none() {
            self.scratch = scratch;
            return t;
        }
        if let Some(n) = new {
            let c = Cand {
                peer,
                path_id,
                epoch: n.epoch,
                self_nh: n.self_nh,
                attrs: n.attrs.clone(),
            };
            let at = scratch.partition_point(|x| (x.peer, x.path_id) < (c.peer, c.path_id));
            scratch.insert(at, c);
        }
        if let Some(s) = old
            && *self.sets[s as usize].as_ref().expect("live").cands == *scratch
        {
            self.scratch = scratch;
            t.unchanged = true;
            return t;
        }
        t.new_set = if scratch.is_empty() {
            None
        } else {
            Some(self.intern_set(&scratch, family))
        };
        self.scratch = scratch;
        let (old_group, old_best, old_local) = match old {
            Some(s) => {
                let s = self.sets[s as usize].as_ref().expect("live");
                (s.group, s.best.map(|b| self.best_ident(s, b)), s.has_local)
            }
            None => (None, None, false),
        };
        let (new_group, new_best, exportable) = match t.new_set {
            Some(s) => {
                let st = self.sets[s as usize].as_ref().expect("live");
                (
                    st.group,
                    st.best.map(|b| self.best_ident(st, b)),
                    st.has_local,
                )
            }
            None => (None, None, false),
        };
        let dirty_fib = old_group != new_group || t.new_set.is_none();
        let dirty_export = (old_best != new_best || self.add_path_up > 0)
            && (exportable || old_local || self.transit_up > 0);
        t.dirty = (u8::from(dirty_fib) * DIRTY_FIB) | (u8::from(dirty_export) * DIRTY_EXPORT);
        t
    }

    /// Identity of a best path for export-change detection.
    fn best_ident(&self, s: &PathSet, b: BestKey) -> (u32, u32, usize, bool) {
        let c = &s.cands[b.idx];
        (
            c.peer,
            c.path_id,
            Arc::as_ptr(&c.attrs) as usize,
            b.llgr_stale,
        )
    }

    fn mark(&mut self, prefix: Prefix, bit: u8) {
        if let Some(e) = self.table.get_mut(&prefix) {
            if e.dirty & bit != 0 {
                return;
            }
            e.dirty |= bit;
        }
        if bit == DIRTY_FIB {
            self.fib_dirty.push(prefix);
        } else {
            self.export_dirty.push(prefix);
        }
    }

    /// Remove the member at `pos` from a path set's member list (the table entry stays).
    /// Returns whether the path set was freed (its last member left).
    fn leave_set_at(&mut self, s: u32, pos: u32) -> bool {
        let set = self.sets[s as usize].as_mut().expect("live");
        if set.members.remove(pos) {
            let table = &mut self.table;
            set.members.compact(|p, pos| {
                if let Some(e) = table.get_mut(&p) {
                    e.pos = pos;
                }
            });
        }
        if set.members.len() == 0 {
            self.free_set(s);
            return true;
        }
        false
    }

    fn intern_set(&mut self, cands: &[Cand], family: Family) -> u32 {
        if let Some(&id) = self.set_index[family.idx()].get(cands) {
            return id;
        }
        self.evaluations += 1;
        let ev = self.evaluate(cands, family);
        let group = self.acquire_group(ev.content);
        let arc: Arc<[Cand]> = Arc::from(cands);
        let set = PathSet {
            cands: arc.clone(),
            family,
            members: Members::default(),
            group,
            best: ev.best,
            canonical: true,
            has_local: cands.iter().any(|c| c.peer == LOCAL),
        };
        let id = match self.free_sets.pop() {
            Some(id) => {
                self.sets[id as usize] = Some(set);
                id
            }
            None => {
                self.sets.push(Some(set));
                self.sets.len() as u32 - 1
            }
        };
        self.set_index[family.idx()].insert(arc, id);
        for c in cands {
            self.peer_sets.entry(c.peer).or_default().insert(id);
            if let Some(nh) = self.recursive_next_hop(c) {
                self.nh_sets.entry(nh).or_default().insert(id);
            }
        }
        id
    }

    fn free_set(&mut self, id: u32) {
        let Some(set) = self.sets[id as usize].take() else {
            return;
        };
        self.release_group(set.group);
        let index = &mut self.set_index[set.family.idx()];
        if set.canonical && index.get(&*set.cands) == Some(&id) {
            index.remove(&*set.cands);
        }
        for c in set.cands.iter() {
            if let Some(ps) = self.peer_sets.get_mut(&c.peer) {
                ps.remove(&id);
            }
            self.unindex_next_hop(id, c, &[]);
        }
        self.free_sets.push(id);
    }

    fn sets_of(&self, peer: u32, family: Option<Family>) -> Vec<u32> {
        let Some(ids) = self.peer_sets.get(&peer) else {
            return Vec::new();
        };
        ids.iter()
            .copied()
            .filter(|i| {
                family.is_none_or(|f| {
                    self.sets[*i as usize]
                        .as_ref()
                        .is_some_and(|s| s.family == f)
                })
            })
            .collect()
    }

    /// Remove the paths of `peer` in `family` that match `pred`, per path set; returns the
    /// number of routes (prefix, path) removed.
    fn remove_cands(&mut self, peer: u32, family: Family, pred: impl Fn(&Cand) -> bool) -> u64 {
        let mut removed = 0u64;
        let mut changed = Vec::new();
        for id in self.sets_of(peer, Some(family)) {
            let set = self.sets[id as usize].as_ref().expect("live");
            let keep: Vec<Cand> = set
                .cands
                .iter()
                .filter(|c| !(c.peer == peer && pred(c)))
                .cloned()
                .collect();
            let n = (set.cands.len() - keep.len()) as u64;
            if n == 0 {
                continue;
            }
            let routes = n * set.members.len() as u64;
            removed += routes;
            if keep.is_empty() {
                let set = self.sets[id as usize].as_mut().expect("live");
                let members = std::mem::take(&mut set.members).to_vec();
                let exportable = set.has_local || self.transit_up > 0;
                for m in members {
                    self.mark(m, DIRTY_FIB);
                    if exportable {
                        self.mark(m, DIRTY_EXPORT);
                    }
                    self.table.remove(&m);
                }
                self.free_set(id);
            } else {
                let still = keep.iter().any(|c| c.peer == peer);
                let keep: Arc<[Cand]> = keep.into();
                let set = self.sets[id as usize].as_mut().expect("live");
                let old = std::mem::replace(&mut set.cands, keep.clone());
                // Keep the best-path index pointing at the same path (or none if removed).
                let old_best = set.best.map(|b| (old[b.idx].clone(), b.llgr_stale));
                set.best = old_best.and_then(|(c, llgr_stale)| {
                    keep.iter()
                        .position(|k| *k == c)
                        .map(|idx| BestKey { idx, llgr_stale })
                });
                let was_canonical = set.canonical;
                set.canonical = false;
                let index = &mut self.set_index[family.idx()];
                if was_canonical && index.get(&*old) == Some(&id) {
                    index.remove(&*old);
                }
                if !index.contains_key(&*keep) {
                    index.insert(keep, id);
                    self.sets[id as usize].as_mut().expect("live").canonical = true;
                }
                if !still && let Some(ps) = self.peer_sets.get_mut(&peer) {
                    ps.remove(&id);
                }
                let now = self.sets[id as usize].as_ref().expect("live").cands.clone();
                for c in old.iter().filter(|c| c.peer == peer && pred(c)) {
                    self.unindex_next_hop(id, c, &now);
                }
                changed.push(id);
            }
        }
        if peer != LOCAL
            && let Some(p) = self.peers[peer as usize].as_mut()
        {
            p.routes -= removed;
            p.fam[family.idx()].routes -= removed;
        }
        self.recompute(changed);
        removed
    }

    /// Re-run selection for path sets whose inputs changed, and apply the result per
    /// next-hop group: when every path set using a group moves to the same new next hops,
    /// the group itself changes (one FIB change for any number of prefixes).
    fn recompute(&mut self, ids: Vec<u32>) {
        let mut moved: HashMap<GroupId, Vec<(u32, Vec<NextHop>)>> = HashMap::default();
        let mut from_none: Vec<(u32, Vec<NextHop>)> = Vec::new();
        for id in ids {
            let Some(set) = self.sets[id as usize].as_ref() else {
                continue;
            };
            self.evaluations += 1;
            let ev = self.evaluate(&set.cands, set.family);
            let old_best = set.best.map(|b| self.best_ident(set, b));
            let new_best = ev.best.map(|b| self.best_ident(set, b));
            if (old_best != new_best || self.add_path_up > 0)
                && (set.has_local || self.transit_up > 0)
            {
                let members = set.members.to_vec();
                for m in members {
                    self.mark(m, DIRTY_EXPORT);
                }
            }
            let set = self.sets[id as usize].as_mut().expect("live");
            set.best = ev.best;
            let same = match set.group {
                Some(g) => *self.groups[&g].nexthops == *ev.content,
                None => ev.content.is_empty(),
            };
            if same {
                continue;
            }
            match set.group {
                Some(g) => moved.entry(g).or_default().push((id, ev.content)),
                None => from_none.push((id, ev.content)),
            }
        }
        for (g, list) in moved {
            let users = self.groups[&g].users as usize;
            let first = &list[0].1;
            if list.len() == users && !first.is_empty() && list.iter().all(|(_, c)| c == first) {
                let content: Arc<[NextHop]> = first.as_slice().into();
                let grp = self.groups.get_mut(&g).expect("live");
                let old = std::mem::replace(&mut grp.nexthops, content.clone());
                if !grp.dirty {
                    grp.dirty = true;
                    self.group_dirty.push(g);
                }
                if self.group_index.get(&old) == Some(&g) {
                    self.group_index.remove(&old);
                }
                self.group_index.entry(content).or_insert(g);
            } else {
                for (id, content) in list {
                    self.regroup(id, content);
                }
            }
        }
        for (id, content) in from_none {
            self.regroup(id, content);
        }
    }

    fn regroup(&mut self, id: u32, content: Vec<NextHop>) {
        let g = self.acquire_group(content);
        let set = self.sets[id as usize].as_mut().expect("live");
        let old = std::mem::replace(&mut set.group, g);
        let members = set.members.to_vec();
        self.release_group(old);
        for m in members {
            self.mark(m, DIRTY_FIB);
        }
    }

    fn acquire_group(&mut self, content: Vec<NextHop>) -> Option<GroupId> {
        if content.is_empty() {
            return None;
        }
        if let Some(&g) = self.group_index.get(content.as_slice()) {
            self.groups.get_mut(&g).expect("indexed").users += 1;
            return Some(g);
        }
        let g = GroupId(self.next_group);
        self.next_group += 1;
        let nexthops: Arc<[NextHop]> = content.into();
        self.group_index.insert(nexthops.clone(), g);
        self.groups.insert(
            g,
            Group {
                nexthops,
                users: 1,
                announced: false,
                dirty: true,
            },
        );
        self.group_dirty.push(g);
        Some(g)
    }

    fn release_group(&mut self, g: Option<GroupId>) {
        let Some(g) = g else { return };
        let grp = self.groups.get_mut(&g).expect("live");
        grp.users -= 1;
        if grp.users == 0 {
            let grp = self.groups.remove(&g).expect("live");
            if self.group_index.get(&grp.nexthops) == Some(&g) {
                self.group_index.remove(&grp.nexthops);
            }
            if grp.announced {
                self.group_removed.push(g);
            }
        }
    }

    // ===== selection =====

    fn evaluate(&self, cands: &[Cand], family: Family) -> Eval {
        // A learned route never replaces a locally originated one.
        if let Some(i) = cands.iter().position(|c| c.peer == LOCAL) {
            let content = if cands[i].self_nh {
                vec![NextHop::Blackhole]
            } else {
                Vec::new()
            };
            return Eval {
                content,
                best: Some(BestKey {
                    idx: i,
                    llgr_stale: false,
                }),
            };
        }
        let mut views = Vec::with_capacity(cands.len());
        let mut resolved: Vec<Vec<NextHop>> = Vec::with_capacity(cands.len());
        for (i, c) in cands.iter().enumerate() {
            let Some(p) = self.peers.get(c.peer as usize).and_then(Option::as_ref) else {
                continue;
            };
            let fs = &p.fam[family.idx()];
            let stale = fs.fresh != Some(c.epoch);
            let llgr_stale =
                c.attrs.has_community(LLGR_STALE) || (stale && fs.phase == Phase::Llgr);
            // RFC 4271 §9.1.2.1: unresolvable routes are excluded.
            let Some((nhs, cost)) = self.resolve(p, c) else {
                continue;
            };
            let a = &c.attrs;
            views.push(View {
                idx: i,
                llgr_stale,
                local_pref: if p.cfg.internal {
                    a.local_pref.unwrap_or(self.cfg.default_local_pref)
                } else {
                    self.cfg.default_local_pref
                },
                as_path_len: a.as_path_len(),
                origin: a.origin,
                med: a.med.unwrap_or(0),
                neighbor_as: a.neighbor_as(),
                external: !p.cfg.internal,
                igp_cost: cost,
                bgp_id: u32::from(a.originator_id.unwrap_or(p.router_id)),
                cluster_len: a.cluster_list.len(),
                peer_addr: p.cfg.address,
                path_id: c.path_id,
            });
            resolved.push(nhs);
        }
        let Some(best) = select::best(&views, self.cfg.always_compare_med) else {
            return Eval {
                content: Vec::new(),
                best: None,
            };
        };
        let mut order: Vec<usize> = (0..views.len())
            .filter(|&k| select::mergeable(&best, &views[k]))
            .collect();
        order.sort_by_key(|&k| {
            (
                views[k].idx != best.idx,
                views[k].peer_addr,
                views[k].path_id,
            )
        });
        let mut content: Vec<NextHop> = Vec::new();
        for k in order {
            for nh in &resolved[k] {
                if content.len() < self.cfg.ecmp_limit.max(1) && !content.contains(nh) {
                    content.push(*nh);
                }
            }
        }
        content.sort();
        Eval {
            content,
            best: Some(BestKey {
                idx: best.idx,
                llgr_stale: best.llgr_stale,
            }),
        }
    }

    /// Next hops of a learned path and their IGP cost, or `None` when unresolvable.
    fn resolve(&self, p: &PeerState, c: &Cand) -> Option<(Vec<NextHop>, u32)> {
        let peer = PeerId(c.peer);
        let nh = c.attrs.next_hop?;
        let iface = p.cfg.interface;
        let on_link = |gw: IpAddr, interface: Option<u32>| match (c.self_nh, interface) {
            (true, Some(interface)) => NextHop::Device { interface, peer },
            _ => NextHop::Gateway {
                gateway: gw,
                interface,
                peer,
            },
        };
        if let (Some(ll), Some(_)) = (c.attrs.link_local_next_hop, iface) {
            return Some((
                vec![NextHop::Gateway {
                    gateway: IpAddr::V6(ll),
                    interface: iface,
                    peer,
                }],
                0,
            ));
        }
        if p.cfg.connected.iter().any(|n| n.contains(&nh)) {
            return Some((vec![on_link(nh, iface)], 0));
        }
        match p.cfg.gateway_mode {
            // BIRD 1.6 `gateway direct`: not on the session's subnet -> the neighbour itself.
            GatewayMode::Direct => Some((
                vec![NextHop::Gateway {
                    gateway: p.cfg.address,
                    interface: iface,
                    peer,
                }],
                0,
            )),
            GatewayMode::Recursive => {
                let mut ifs: Vec<u32> = self
                    .connected
                    .iter()
                    .filter(|(_, nets)| nets.iter().any(|n| n.contains(&nh)))
                    .map(|(i, _)| *i)
                    .collect();
                if !ifs.is_empty() {
                    ifs.sort();
                    return Some((ifs.into_iter().map(|i| on_link(nh, Some(i))).collect(), 0));
                }
                let max = if nh.is_ipv4() { 32 } else { 128 };
                for len in (0..=max).rev() {
                    let Ok(net) = IpNet::new(nh, len) else {
                        continue;
                    };
                    if let Some(r) = self.igp.get(&net.trunc()) {
                        if r.nexthops.is_empty() {
                            return None;
                        }
                        let nhs = r
                            .nexthops
                            .iter()
                            .map(|(gw, i)| NextHop::Gateway {
                                gateway: gw.unwrap_or(nh),
                                interface: Some(*i),
                                peer,
                            })
                            .collect();
                        return Some((nhs, r.metric));
                    }
                }
                None
            }
        }
    }

    // ===== export =====

    /// Send the whole exportable table to a peer whose session just came up.
    fn export_full(&mut self, q: u32) {
        let transit = self.peers[q as usize]
            .as_ref()
            .is_some_and(|p| p.cfg.export == ExportPolicy::Transit);
        let prefixes: Vec<Prefix> = if transit {
            self.table.keys().copied().collect()
        } else {
            self.sets_of(LOCAL, None)
                .iter()
                .flat_map(|i| {
                    self.sets[*i as usize]
                        .as_ref()
                        .expect("live")
                        .members
                        .to_vec()
                })
                .collect()
        };
        for pfx in prefixes {
            self.sync_export(q, pfx);
        }
    }

    fn sync_export(&mut self, q: u32, prefix: Prefix) {
        if self.peers[q as usize]
            .as_ref()
            .is_some_and(|p| p.add_path[Family::of(&prefix).idx()])
        {
            return self.sync_export_paths(q, prefix);
        }
        let desired = self
            .export_attrs(q, &prefix)
            .map(|a| self.interner.intern(a));
        let Some(p) = self.peers[q as usize].as_mut() else {
            return;
        };
        if p.session.is_none() {
            return;
        }
        let cur = p.adj_out.get(&prefix);
        let same = match (cur, &desired) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        match &desired {
            Some(a) => p.adj_out.insert(prefix, a.clone()),
            None => p.adj_out.remove(&prefix),
        };
        self.rib_out.push(RibOutChange {
            peer: PeerId(q),
            prefix,
            attrs: desired,
        });
    }

    /// What we advertise to peer `q` for `prefix` (RFC 4271 §9.2, RFC 4456, RFC 9494 §4.3).
    fn export_attrs(&self, q: u32, prefix: &Prefix) -> Option<PathAttrs> {
        let e = self.table.get(prefix)?;
        let set = self.sets[e.set as usize].as_ref()?;
        let b = set.best?;
        self.export_path(q, &set.cands[b.idx], b.llgr_stale)
    }

    /// What we advertise to peer `q` for one path (candidate `c`, LLGR-stale or not).
    fn export_path(&self, q: u32, c: &Cand, llgr_stale: bool) -> Option<PathAttrs> {
        let qs = self.peers[q as usize].as_ref()?;
        let sess = qs.session.as_ref()?;
        let q_internal = qs.cfg.internal;
        let local_addr = sess.local_address;
        if c.peer == LOCAL {
            let mut out = PathAttrs {
                origin: Origin::Igp,
                next_hop: local_addr,
                communities: c.attrs.communities.clone(),
                large_communities: c.attrs.large_communities.clone(),
                ..Default::default()
            };
            if q_internal {
                out.local_pref = Some(self.cfg.default_local_pref);
            } else {
                out.prepend_as(self.cfg.local_as);
            }
            return Some(out);
        }
        // No transit: a node never re-advertises a route learned from one plane to another.
        if qs.cfg.export == ExportPolicy::LocalOnly || c.peer == q {
            return None;
        }
        let ps = self.peers[c.peer as usize].as_ref()?;
        let a = &c.attrs;
        // RFC 1997 well-known communities.
        if a.has_community(NO_ADVERTISE)
            || (!q_internal && (a.has_community(NO_EXPORT) || a.has_community(NO_EXPORT_SUBCONFED)))
        {
            return None;
        }
        //= https://www.rfc-editor.org/rfc/rfc9494#section-4.3
        //# LLGR_STALE routes SHOULD NOT be advertised to a neighbor that did not send
        //# capability 71 (and are withdrawn if sent before: the diff does that).
        if llgr_stale && !sess.llgr_capable() {
            return None;
        }
        // RFC 4271 §9.2 iBGP split horizon, relaxed by RFC 4456 §6 reflection.
        if ps.cfg.internal && q_internal && !(ps.cfg.rr_client || qs.cfg.rr_client) {
            return None;
        }
        let mut out = PathAttrs {
            other: a.other.iter().filter_map(|r| r.propagated()).collect(),
            ..(**a).clone()
        };
        if q_internal {
            out.local_pref = Some(if ps.cfg.internal {
                a.local_pref.unwrap_or(self.cfg.default_local_pref)
            } else {
                self.cfg.default_local_pref
            });
            if ps.cfg.internal {
                // RFC 4456 §8: set ORIGINATOR_ID if absent, prepend our CLUSTER_ID.
                out.originator_id.get_or_insert(ps.router_id);
                out.cluster_list.insert(
                    0,
                    self.cfg.cluster_id.unwrap_or(u32::from(self.cfg.router_id)),
                );
            }
        } else {
            // RFC 4271 §5.1.2 prepend; §5.1.4 MED not propagated to other ASes; §5.1.5
            // LOCAL_PREF not sent to eBGP; RFC 4456 attributes are iBGP-only.
            out.prepend_as(self.cfg.local_as);
            out.med = None;
            out.local_pref = None;
            out.originator_id = None;
            out.cluster_list.clear();
        }
        let next_hop_self = match qs.cfg.next_hop_mode {
            NextHopMode::Self_ => true,
            NextHopMode::Keep => false,
            NextHopMode::Auto => !q_internal,
        };
        if next_hop_self && local_addr.is_some() {
            out.next_hop = local_addr;
            out.link_local_next_hop = None;
        }
        // RFC 9494 §4.3: the community is attached when we depreference, and never removed.
        if llgr_stale && !out.has_community(LLGR_STALE) {
            out.communities.push(LLGR_STALE);
        }
        Some(out)
    }

    // ===== ADD-PATH export (RFC 7911) =====

    /// RFC 7911 §4: the families for which the current session with `peer` negotiated
    /// ADD-PATH *send* (we advertised send, the peer receive). For those families the
    /// peer's Adj-RIB-Out holds every usable, exportable path of a prefix, each under a
    /// path identifier of ours, and its changes come from [`Engine::poll_rib_out_paths`]
    /// instead of [`Engine::poll_rib_out`]. Call it right after
    /// [`Engine::handle_session_up`], before polling; it lasts until the session goes down.
    pub fn set_add_path_send(&mut self, peer: PeerId, families: &[Family]) {
        let Some(p) = self.peer_mut(peer) else {
            self.stats.unknown_peer += 1;
            return;
        };
        if p.session.is_none() {
            self.stats.peer_not_up += 1;
            return;
        }
        let before = p.add_path.contains(&true);
        let mut add_path = [false; 2];
        for f in families {
            add_path[f.idx()] = true;
        }
        // Whatever was queued or recorded for the peer under the other mode is void: the
        // session has just come up and nothing has been sent yet.
        p.add_path = add_path;
        p.adj_out.retain(|pfx, _| !add_path[Family::of(pfx).idx()]);
        p.adj_out_paths
            .retain(|pfx, _| add_path[Family::of(pfx).idx()]);
        let after = add_path.contains(&true);
        self.add_path_up = self.add_path_up + usize::from(after) - usize::from(before);
        self.rib_out
            .retain(|c| c.peer != peer || !add_path[Family::of(&c.prefix).idx()]);
        self.rib_out_paths
            .retain(|c| c.peer != peer || add_path[Family::of(&c.prefix).idx()]);
        self.export_full(peer.0);
    }

    /// Our path identifier for a source path: allocated on first use, then stable.
    fn out_path_id(&mut self, source: (u32, u32)) -> u32 {
        let next = &mut self.next_out_path_id;
        *self.out_path_ids.entry(source).or_insert_with(|| {
            let id = *next;
            *next = next.wrapping_add(1).max(1);
            id
        })
    }

    /// The paths of `prefix` we advertise to an ADD-PATH peer: every usable path that
    /// passes the export rules on its own; only the local one when we originate it.
    fn export_paths(&self, q: u32, prefix: &Prefix) -> Vec<((u32, u32), PathAttrs)> {
        let Some(set) = self
            .table
            .get(prefix)
            .and_then(|e| self.sets[e.set as usize].as_ref())
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for c in set.cands.iter() {
            if set.has_local && c.peer != LOCAL {
                continue;
            }
            let llgr_stale = match self.peers.get(c.peer as usize).and_then(Option::as_ref) {
                None => false,
                Some(p) => {
                    let fs = &p.fam[set.family.idx()];
                    // RFC 4271 §9.1.2.1: an unresolvable path is not used, so not advertised.
                    if self.resolve(p, c).is_none() {
                        continue;
                    }
                    c.attrs.has_community(LLGR_STALE)
                        || (fs.fresh != Some(c.epoch) && fs.phase == Phase::Llgr)
                }
            };
            if let Some(a) = self.export_path(q, c, llgr_stale) {
                out.push(((c.peer, c.path_id), a));
            }
        }
        out
    }

    fn sync_export_paths(&mut self, q: u32, prefix: Prefix) {
        let mut desired: Vec<(u32, Attrs)> = Vec::new();
        for (source, a) in self.export_paths(q, &prefix) {
            let id = self.out_path_id(source);
            desired.push((id, self.interner.intern(a)));
        }
        desired.sort_by_key(|(id, _)| *id);
        let Some(p) = self.peers[q as usize].as_mut() else {
            return;
        };
        let cur = p.adj_out_paths.remove(&prefix).unwrap_or_default();
        let peer = PeerId(q);
        //= https://www.rfc-editor.org/rfc/rfc7911#section-3
        //# the Path Identifier ... uniquely identif[ies] a path ... a new advertisement
        //# with the same identifier replaces the previous one (implicit withdraw).
        for (id, _) in cur
            .iter()
            .filter(|(id, _)| desired.iter().all(|(d, _)| d != id))
        {
            self.rib_out_paths.push(RibOutPath {
                peer,
                prefix,
                path_id: PathId(*id),
                attrs: None,
            });
        }
        for (id, a) in &desired {
            let same = cur.iter().any(|(c, ca)| c == id && Arc::ptr_eq(ca, a));
            if !same {
                self.rib_out_paths.push(RibOutPath {
                    peer,
                    prefix,
                    path_id: PathId(*id),
                    attrs: Some(a.clone()),
                });
            }
        }
        if !desired.is_empty() {
            p.adj_out_paths.insert(prefix, desired);
        }
    }

    /// Adj-RIB-Out changes for ADD-PATH families ([`Engine::set_add_path_send`]) since the
    /// last call: per peer, prefix and our path identifier, announce or withdraw.
    #[must_use]
    pub fn poll_rib_out_paths(&mut self) -> Vec<RibOutPath> {
        self.flush_export();
        std::mem::take(&mut self.rib_out_paths)
    }

    /// The paths we currently advertise to an ADD-PATH peer for a prefix, by path id.
    pub fn adj_rib_out_paths(&self, peer: PeerId, prefix: &Prefix) -> Vec<(PathId, Attrs)> {
        self.peer(peer)
            .and_then(|p| p.adj_out_paths.get(prefix))
            .map_or(Vec::new(), |v| {
                v.iter().map(|(id, a)| (PathId(*id), a.clone())).collect()
            })
    }

    // ===== outputs =====

    /// FIB changes since the last call, coalesced: one change per group and per prefix.
    /// Order: group additions and changes, then routes, then group removals.
    #[must_use]
    pub fn poll_fib(&mut self) -> Vec<FibChange> {
        let mut out = Vec::new();
        for g in std::mem::take(&mut self.group_dirty) {
            let Some(grp) = self.groups.get_mut(&g) else {
                continue;
            };
            if !grp.dirty {
                continue;
            }
            grp.dirty = false;
            let nexthops = grp.nexthops.clone();
            if grp.announced {
                out.push(FibChange::GroupChanged { id: g, nexthops });
            } else {
                grp.announced = true;
                out.push(FibChange::GroupAdded { id: g, nexthops });
            }
        }
        let mut gone = HashSet::default();
        for pfx in std::mem::take(&mut self.fib_dirty) {
            match self.table.get_mut(&pfx) {
                Some(e) => {
                    if e.dirty & DIRTY_FIB == 0 {
                        continue;
                    }
                    e.dirty &= !DIRTY_FIB;
                    let group = self.sets[e.set as usize].as_ref().and_then(|s| s.group);
                    out.push(FibChange::Route { prefix: pfx, group });
                }
                None => {
                    if gone.insert(pfx) {
                        out.push(FibChange::Route {
                            prefix: pfx,
                            group: None,
                        });
                    }
                }
            }
        }
        for g in std::mem::take(&mut self.group_removed) {
            out.push(FibChange::GroupRemoved { id: g });
        }
        out
    }

    /// Adj-RIB-Out changes since the last call, for every peer whose session is up.
    #[must_use]
    pub fn poll_rib_out(&mut self) -> Vec<RibOutChange> {
        self.flush_export();
        std::mem::take(&mut self.rib_out)
    }

    /// Bring every up peer's Adj-RIB-Out up to date for the prefixes marked dirty.
    fn flush_export(&mut self) {
        let dirty = std::mem::take(&mut self.export_dirty);
        let up: Vec<u32> = (0..self.peers.len() as u32)
            .filter(|i| {
                self.peers[*i as usize]
                    .as_ref()
                    .is_some_and(|p| p.session.is_some())
            })
            .collect();
        let mut gone = HashSet::default();
        for pfx in dirty {
            match self.table.get_mut(&pfx) {
                Some(e) => {
                    if e.dirty & DIRTY_EXPORT == 0 {
                        continue;
                    }
                    e.dirty &= !DIRTY_EXPORT;
                }
                None => {
                    if !gone.insert(pfx) {
                        continue;
                    }
                }
            }
            for &q in &up {
                self.sync_export(q, pfx);
            }
        }
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ===== queries =====

    /// Counters of ignored input and rejected routes.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The installed next hops of a prefix (current state, whether polled or not).
    pub fn fib_route(&self, prefix: &Prefix) -> Option<Arc<[NextHop]>> {
        let e = self.table.get(&prefix.trunc())?;
        let g = self.sets[e.set as usize].as_ref()?.group?;
        Some(self.groups[&g].nexthops.clone())
    }

    /// The next hops of a group.
    pub fn group(&self, id: GroupId) -> Option<Arc<[NextHop]>> {
        self.groups.get(&id).map(|g| g.nexthops.clone())
    }

    /// All paths of a prefix (the Adj-RIBs-In for it), with their stale state.
    pub fn paths(&self, prefix: &Prefix) -> Vec<PathInfo> {
        let Some(e) = self.table.get(&prefix.trunc()) else {
            return Vec::new();
        };
        let Some(set) = self.sets[e.set as usize].as_ref() else {
            return Vec::new();
        };
        set.cands
            .iter()
            .map(|c| {
                let st = (c.peer != LOCAL)
                    .then(|| self.peers.get(c.peer as usize).and_then(Option::as_ref))
                    .flatten();
                let fs = st.map(|p| &p.fam[set.family.idx()]);
                let stale = fs.is_some_and(|f| f.fresh != Some(c.epoch));
                let llgr_stale = c.attrs.has_community(LLGR_STALE)
                    || (stale && fs.is_some_and(|f| f.phase == Phase::Llgr));
                PathInfo {
                    peer: (c.peer != LOCAL).then_some(PeerId(c.peer)),
                    path_id: PathId(c.path_id),
                    attrs: c.attrs.clone(),
                    stale,
                    llgr_stale,
                }
            })
            .collect()
    }

    /// Number of routes (prefix, path id) held from a peer in a family.
    pub fn route_count(&self, peer: PeerId, family: Family) -> u64 {
        self.peer(peer).map_or(0, |p| p.fam[family.idx()].routes)
    }

    /// Number of prefixes with at least one path.
    pub fn prefix_count(&self) -> usize {
        self.table.len()
    }

    /// Number of live path sets, next-hop groups and interned attribute sets (sharing
    /// diagnostics).
    pub fn sharing(&self) -> (usize, usize, usize) {
        (
            self.sets.len() - self.free_sets.len(),
            self.groups.len(),
            self.interner.len(),
        )
    }

    /// What we currently advertise to a peer for a prefix.
    pub fn adj_rib_out(&self, peer: PeerId, prefix: &Prefix) -> Option<Attrs> {
        self.peer(peer)?.adj_out.get(prefix).cloned()
    }

    /// The current FIB: every installed prefix and its next hops (a full scan; for tests
    /// and diagnostics).
    pub fn fib_snapshot(&self) -> std::collections::HashMap<Prefix, Arc<[NextHop]>> {
        self.table
            .iter()
            .filter_map(|(p, e)| {
                let g = self.sets[e.set as usize].as_ref()?.group?;
                Some((*p, self.groups[&g].nexthops.clone()))
            })
            .collect()
    }
}
