//! The desired-state programmer: the caller sets groups and routes, `commit`
//! converges the kernel with the fewest messages.
//!
//! Phases of a commit, in this order because the kernel deletes every route
//! of a nexthop group whose last member goes away:
//! 1. nexthop objects: member next hops, then groups (create or one replace);
//! 2. routes: create (`EXCL`), replace (`REPLACE`, only keys we own) or delete;
//! 3. unused groups, then unused members.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap as StdHashMap, HashSet as StdHashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = StdHashSet<K, foldhash::fast::RandomState>;

use crate::decode::{
    self, KernelMessage, KernelNexthop, KernelNexthopKind, KernelRoute, RTN_BLACKHOLE,
};
use crate::error::{BuildError, Error, KernelError};
use crate::knobs;
use crate::message::{self, Mode, NexthopObject, RT_TABLE_MAIN, RouteParams, Via};
use crate::monitor::Event;
use crate::socket::{Conn, SocketConfig};
use crate::types::{Family, GroupId, Nexthop, NexthopGroup, Protocol, Resilient, Target, Weighted};

/// How routes reach their next hops in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Kernel nexthop objects and groups (Linux 5.3+): routes carry `nhid`,
    /// a group change is one message.
    NexthopObjects,
    /// `RTA_MULTIPATH` routes: a group change replaces every route using it.
    Legacy,
}

/// Programmer configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// `rtm_protocol`/`nh_protocol` of everything we create; the ownership mark.
    pub protocol: Protocol,
    /// Routing table id (`RT_TABLE_MAIN` 254 by default). Everything an
    /// instance reads and writes is limited to this table: dumps are
    /// filtered by it (strict checking), ids above 255 travel in `RTA_TABLE`,
    /// and our protocol's routes in other tables are never touched. Two
    /// instances in one namespace need distinct [`protocol`](Self::protocol)s,
    /// since nexthop objects belong to no table.
    pub table: u32,
    /// Metric (`RTA_PRIORITY`) of our routes. Our own value keeps an IPv4
    /// REPLACE (which ignores the protocol) off other owners' routes.
    pub metric: u32,
    /// `RTA_PREFSRC` of IPv4 routes (the node loopback).
    pub prefsrc_v4: Option<Ipv4Addr>,
    /// `RTA_PREFSRC` of IPv6 routes.
    pub prefsrc_v6: Option<Ipv6Addr>,
    /// Use nexthop objects when the kernel has them (`true`), or always legacy.
    pub nexthop_objects: bool,
    /// Make groups resilient (Linux 5.13+).
    pub resilient: Option<Resilient>,
    /// First kernel nexthop id this crate allocates (ids in use are skipped).
    pub nexthop_id_base: u32,
    /// Socket sizes.
    pub socket: SocketConfig,
    /// `Some(false)`: set `net.ipv4.nexthop_compat_mode=0` in this namespace.
    pub compat_mode: Option<bool>,
    /// Set `fib_multipath_hash_policy=1` for IPv4 and IPv6.
    pub multipath_hash_l4: bool,
    /// Interfaces that get `ignore_routes_with_linkdown=1` when the legacy
    /// style is in use (the plane interfaces).
    pub ignore_linkdown: Vec<String>,
    /// Number of prefixes the table should hold without growing (0:
    /// unknown, grow as needed). The table has one entry per prefix that is
    /// desired or installed, IPv4 and IPv6 together, and is reserved for this
    /// many before the startup dump.
    ///
    /// # Sizing
    /// Pass the larger of (a) the number of routes the caller will desire
    /// once converged, and (b) the number of our routes the previous run left
    /// in the kernel (undesired ones stay in the table until
    /// [`Fib::complete`] sweeps them), plus headroom for churn, e.g. 10 %.
    /// For a dual-ToR node, (a) is roughly the other nodes' loopbacks and
    /// pod blocks learned from the ToRs, plus local blocks and statics; a
    /// caller that persists nothing can take (a) alone, or the previous
    /// run's [`installed_len`](Fib::installed_len) if it logged it.
    ///
    /// The table rounds up to a power of two of 32-byte slots with 7/8 of
    /// them usable: 1,000,000 routes take 2^21 slots, 66 MiB; up to 917,504
    /// take 2^20, 33 MiB. Too small a value costs what 0 costs: the table
    /// doubles as it fills, each growth rehashing every entry and briefly
    /// holding the old and the new table (measured with 1M IPv4 routes:
    /// reconcile peak 143 MiB without the hint, 75 MiB with it). Too large a
    /// value costs only the memory. Below about 100k routes the growth costs
    /// a few milliseconds and 0 is fine.
    pub expected_routes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocol: Protocol::DUALTOR,
            table: RT_TABLE_MAIN,
            metric: 20,
            prefsrc_v4: None,
            prefsrc_v6: None,
            nexthop_objects: true,
            resilient: None,
            nexthop_id_base: 0x00d7_0000,
            socket: SocketConfig::default(),
            compat_mode: None,
            multipath_hash_l4: false,
            ignore_linkdown: Vec::new(),
            expected_routes: 0,
        }
    }
}

/// What a failed operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Route create (`EXCL`).
    CreateRoute(IpNet),
    /// Route replace.
    ReplaceRoute(IpNet),
    /// Route delete.
    DeleteRoute(IpNet),
    /// Member nexthop object create.
    CreateNexthop(u32),
    /// Group create or replace.
    SetGroup(GroupId, Family),
    /// Nexthop object delete.
    DeleteNexthop(u32),
}

/// Why it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The kernel said no (errno + extended-ACK message).
    Kernel(KernelError),
    /// The request could not be encoded (e.g. IPv6 dev-only legacy multipath).
    Build(BuildError),
}

/// One failed operation; the rest of the batch went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpError {
    /// The operation.
    pub op: Op,
    /// The cause.
    pub failure: Failure,
}

/// What a commit did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Report {
    /// Routes created.
    pub created: usize,
    /// Routes replaced.
    pub replaced: usize,
    /// Routes deleted.
    pub deleted: usize,
    /// Nexthop objects created, replaced or deleted.
    pub nexthop_messages: usize,
    /// Per-operation failures.
    pub errors: Vec<OpError>,
}

/// The crate's view of its environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Routing style in force.
    pub style: Style,
    /// `net.ipv4.nexthop_compat_mode` in this namespace (`None`: no knob).
    pub compat_mode: Option<u8>,
    /// `(ipv4, ipv6)` `fib_multipath_hash_policy`.
    pub hash_policy: (Option<u8>, Option<u8>),
}

type GroupKey = (GroupId, Family);
/// What the kernel should have for a route, and the legacy hops to send.
type Want = (Have, Option<std::rc::Rc<[Weighted]>>);
type MemberKey = (Family, Nexthop);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Have {
    Nhid(u32),
    Blackhole,
    Legacy(u32),
    Mismatch,
}

/// One prefix's desired and installed state in a single map entry: a
/// 1M-route table stores 1M of these next to their prefix (32 bytes with the
/// key, instead of two maps keyed by prefix).
///
/// `tags` bits: 0-1 the desired target kind (0 none, 1 group `want`,
/// 2 blackhole); 2-4 the installed kind (0 none, 1 nhid `have`, 2 blackhole,
/// 3 legacy hash `have`, 4 mismatch); [`STALE`]; [`PREV`].
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    want: u32,
    have: u32,
    tags: u8,
}

/// From a previous run, not yet confirmed by the caller (graceful restart).
const STALE: u8 = 1 << 5;
/// Installed before a re-dump that has not reported it yet.
const PREV: u8 = 1 << 6;

impl Slot {
    fn want(self) -> Option<Target> {
        match self.tags & 3 {
            1 => Some(Target::Group(GroupId(self.want))),
            2 => Some(Target::Blackhole),
            _ => None,
        }
    }
    fn set_want(&mut self, t: Option<Target>) {
        let (kind, id) = match t {
            None => (0, 0),
            Some(Target::Group(g)) => (1, g.0),
            Some(Target::Blackhole) => (2, 0),
        };
        self.want = id;
        self.tags = (self.tags & !3) | kind;
    }
    fn have(self) -> Option<Have> {
        match (self.tags >> 2) & 7 {
            1 => Some(Have::Nhid(self.have)),
            2 => Some(Have::Blackhole),
            3 => Some(Have::Legacy(self.have)),
            4 => Some(Have::Mismatch),
            _ => None,
        }
    }
    fn set_have(&mut self, h: Option<Have>) {
        let (kind, v) = match h {
            None => (0, 0),
            Some(Have::Nhid(id)) => (1, id),
            Some(Have::Blackhole) => (2, 0),
            Some(Have::Legacy(x)) => (3, x),
            Some(Have::Mismatch) => (4, 0),
        };
        self.have = v;
        self.tags = (self.tags & !(7 << 2)) | (kind << 2);
    }
    fn stale(self) -> bool {
        self.tags & STALE != 0
    }
    fn set_stale(&mut self, on: bool) {
        if on {
            self.tags |= STALE;
        } else {
            self.tags &= !STALE;
        }
    }
    /// Neither desired nor installed: the entry can go.
    fn is_empty(self) -> bool {
        self.tags & (3 | 7 << 2 | PREV) == 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct KGroup {
    id: u32,
    members: Vec<(u32, u16)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LinkState {
    up: bool,
    carrier: bool,
}

/// The FIB programmer. Synchronous: every call does its netlink I/O before
/// returning. Not `Sync`; use one per namespace.
///
/// Call protocol: `open` (dumps links, our nexthop objects and our routes:
/// those become *stale*, still forwarding) → `set_group`/`set_route`… →
/// `commit` (repeat as the engine's output changes) → `complete` once the
/// desired state is whole (sweeps stale routes and objects). Feed
/// [`Monitor`](crate::Monitor) events to `handle_event` and `commit` again.
#[derive(Debug)]
pub struct Fib {
    conn: Conn,
    cfg: Config,
    style: Style,
    groups: HashMap<GroupId, NexthopGroup>,
    group_refs: HashMap<GroupId, [u32; 2]>,
    /// Desired and installed state per prefix (one map: see [`Slot`]).
    table: HashMap<IpNet, Slot>,
    /// Number of desired routes.
    desired: usize,
    dirty: HashSet<IpNet>,
    all_dirty: bool,
    dirty_groups: HashSet<GroupId>,
    members: HashMap<(Family, Nexthop), u32>,
    kgroups: HashMap<(GroupId, Family), KGroup>,
    orphan_groups: HashMap<u32, Vec<(u32, u16)>>,
    /// Nexthop ids our routes of each family pointed at in the last dump.
    route_nhids: HashMap<u32, [bool; 2]>,
    used_ids: HashSet<u32>,
    next_id: u32,
    links: HashMap<u32, LinkState>,
    complete: bool,
    complete_pending: bool,
    status: Status,
    resync_nexthops: bool,
    resync_routes: bool,
}

fn fam(p: &IpNet) -> Family {
    match p {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

fn fidx(f: Family) -> usize {
    match f {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

fn af_family(af: u8) -> Option<Family> {
    match i32::from(af) {
        libc::AF_INET => Some(Family::V4),
        libc::AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

impl Fib {
    /// Opens the netlink socket in the calling thread's namespace, applies
    /// the configured knobs, detects nexthop-object support, and loads the
    /// kernel's links, our nexthop objects and our routes (startup reconcile).
    pub fn open(cfg: Config) -> Result<Fib, Error> {
        let conn = Conn::open(cfg.socket, &[])?;
        let mut fib = Fib {
            conn,
            style: Style::Legacy,
            groups: HashMap::default(),
            group_refs: HashMap::default(),
            table: HashMap::with_capacity_and_hasher(cfg.expected_routes, Default::default()),
            desired: 0,
            dirty: HashSet::default(),
            all_dirty: true,
            dirty_groups: HashSet::default(),
            members: HashMap::default(),
            kgroups: HashMap::default(),
            orphan_groups: HashMap::default(),
            route_nhids: HashMap::default(),
            used_ids: HashSet::default(),
            next_id: cfg.nexthop_id_base.max(1),
            links: HashMap::default(),
            complete: false,
            complete_pending: false,
            status: Status {
                style: Style::Legacy,
                compat_mode: None,
                hash_policy: (None, None),
            },
            resync_nexthops: false,
            resync_routes: false,
            cfg,
        };
        if let Some(on) = fib.cfg.compat_mode {
            knobs::set_nexthop_compat_mode(on)?;
        }
        if fib.cfg.multipath_hash_l4 {
            knobs::set_multipath_hash_policy_l4()?;
        }
        fib.style = if fib.cfg.nexthop_objects && fib.load_nexthops(true)? {
            Style::NexthopObjects
        } else {
            Style::Legacy
        };
        if fib.style == Style::Legacy {
            for ifname in fib.cfg.ignore_linkdown.clone() {
                knobs::set_ignore_routes_with_linkdown(&ifname)?;
            }
        }
        fib.status = Status {
            style: fib.style,
            compat_mode: knobs::nexthop_compat_mode()?,
            hash_policy: knobs::multipath_hash_policy()?,
        };
        fib.load_links()?;
        fib.load_routes()?;
        Ok(fib)
    }

    /// The routing style in force and the knobs as read by `open` in its
    /// namespace (the [`knobs`](mod@crate::knobs) functions re-read them in the
    /// calling thread's namespace).
    pub fn status(&self) -> Status {
        self.status
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    // ----- desired state ------------------------------------------------

    /// Sets (adds or changes) a group. A member change is one
    /// `RTM_NEWNEXTHOP` replace per family at the next commit, whatever the
    /// number of routes (nexthop-object style).
    pub fn set_group(&mut self, id: GroupId, group: NexthopGroup) {
        if self.groups.get(&id) == Some(&group) {
            return;
        }
        self.groups.insert(id, group);
        self.group_changed(id);
    }

    /// Removes a group; routes still pointing at it are removed from the kernel.
    pub fn remove_group(&mut self, id: GroupId) {
        if self.groups.remove(&id).is_some() {
            self.group_changed(id);
        }
    }

    fn group_changed(&mut self, id: GroupId) {
        self.dirty_groups.insert(id);
        if self.style == Style::Legacy {
            self.mark_routes_of(id);
        }
    }

    fn mark_routes_of(&mut self, id: GroupId) {
        if self.all_dirty {
            return;
        }
        let t = Some(Target::Group(id));
        for (p, s) in &self.table {
            if s.want() == t {
                self.dirty.insert(*p);
            }
        }
    }

    /// Sets a route's target.
    pub fn set_route(&mut self, prefix: IpNet, target: Target) {
        self.set_trunc(prefix.trunc(), target);
    }

    /// Sets many routes' targets: the same as [`set_route`](Self::set_route)
    /// on each, in order (the last target of a prefix wins), but several
    /// times faster on a large table, e.g. the whole desired state at
    /// startup. The routes are applied in batches of 64k, each in the order
    /// of the table slots their prefixes hash to, so the batch walks the
    /// table's memory in one direction instead of at random (a 1M-route
    /// table is 66 MiB; random accesses miss the caches and the TLB). Memory
    /// beyond the table: one batch, about 2.5 MiB.
    pub fn set_routes(&mut self, routes: impl IntoIterator<Item = (IpNet, Target)>) {
        let mut it = routes.into_iter();
        let mut batch: Vec<(IpNet, Target)> = Vec::new();
        let mut order = Vec::new();
        loop {
            batch.clear();
            batch.extend(it.by_ref().take(BATCH).map(|(p, t)| (p.trunc(), t)));
            bucket_order(&self.table, batch.iter().map(|r| &r.0), &mut order);
            for &o in &order {
                let (p, t) = batch[(o & INDEX_MASK) as usize];
                self.set_trunc(p, t);
            }
            if batch.len() < BATCH {
                return;
            }
        }
    }

    fn set_trunc(&mut self, prefix: IpNet, target: Target) {
        let slot = self.table.entry(prefix).or_default();
        let old = slot.want();
        slot.set_want(Some(target));
        match old {
            Some(old) if old == target => return,
            Some(old) => self.unref(old, fam(&prefix)),
            None => self.desired += 1,
        }
        if let Target::Group(g) = target {
            self.group_refs.entry(g).or_default()[fidx(fam(&prefix))] += 1;
            // A full diff looks at every group anyway.
            if !self.all_dirty {
                self.dirty_groups.insert(g);
            }
        }
        if !self.all_dirty {
            self.dirty.insert(prefix);
        }
    }

    /// Removes a route (deleted from the kernel at the next commit, even
    /// before `complete`).
    pub fn remove_route(&mut self, prefix: IpNet) {
        let prefix = prefix.trunc();
        let Some(slot) = self.table.get_mut(&prefix) else {
            return;
        };
        if let Some(old) = slot.want() {
            slot.set_want(None);
            slot.set_stale(false);
            if slot.is_empty() {
                self.table.remove(&prefix);
            }
            self.desired -= 1;
            self.unref(old, fam(&prefix));
            if !self.all_dirty {
                self.dirty.insert(prefix);
            }
        }
    }

    /// Empties the desired state: every route and group of ours is removed
    /// at the next commit (a daemon's shutdown that takes its routes with it;
    /// a graceful restart leaves the kernel as it is instead). Routes and
    /// objects left by a previous run are swept by [`Fib::complete`].
    pub fn clear(&mut self) {
        let routes: Vec<IpNet> = self.routes().map(|(p, _)| *p).collect();
        for p in routes {
            self.remove_route(p);
        }
        let groups: Vec<GroupId> = self.groups.keys().copied().collect();
        for g in groups {
            self.remove_group(g);
        }
    }

    fn unref(&mut self, t: Target, f: Family) {
        if let Target::Group(g) = t {
            if let Some(r) = self.group_refs.get_mut(&g) {
                r[fidx(f)] = r[fidx(f)].saturating_sub(1);
                if *r == [0, 0] {
                    self.group_refs.remove(&g);
                }
            }
            self.dirty_groups.insert(g);
        }
    }

    /// The desired routes.
    pub fn routes(&self) -> impl Iterator<Item = (&IpNet, Target)> {
        self.table
            .iter()
            .filter_map(|(p, s)| s.want().map(|t| (p, t)))
    }

    /// Number of desired routes.
    pub fn routes_len(&self) -> usize {
        self.desired
    }

    /// The desired target of one prefix.
    pub fn route(&self, prefix: &IpNet) -> Option<Target> {
        self.table.get(&prefix.trunc()).and_then(|s| s.want())
    }

    /// The desired groups.
    pub fn groups(&self) -> impl Iterator<Item = (&GroupId, &NexthopGroup)> {
        self.groups.iter()
    }

    /// Kernel nexthop id of a group's object for a family, if installed.
    pub fn group_nhid(&self, id: GroupId, family: Family) -> Option<u32> {
        self.kgroups.get(&(id, family)).map(|k| k.id)
    }

    // ----- events ---------------------------------------------------------

    /// Feeds a monitor event. Returns `true` when a `commit` is needed to
    /// repair the kernel (our nexthops flushed by a link change, our route or
    /// nexthop deleted by someone else, or a monitor overflow).
    pub fn handle_event(&mut self, ev: &Event) -> bool {
        match ev {
            Event::Link {
                ifindex,
                up,
                carrier,
                ..
            } => {
                let new = LinkState {
                    up: *up,
                    carrier: *carrier,
                };
                let old = self.links.insert(*ifindex, new);
                if old == Some(new) {
                    return false;
                }
                let used = self
                    .groups
                    .values()
                    .any(|g| g.members.iter().any(|m| m.nexthop.ifindex == *ifindex));
                if used && self.style == Style::NexthopObjects {
                    // The kernel flushes nexthop objects of a device on admin
                    // down and on carrier loss, without a netlink event, and
                    // never recreates them: re-read and repair.
                    self.resync_nexthops = true;
                    for (g, grp) in &self.groups {
                        if grp.members.iter().any(|m| m.nexthop.ifindex == *ifindex) {
                            self.dirty_groups.insert(*g);
                        }
                    }
                }
                used && self.style == Style::NexthopObjects
            }
            Event::NexthopDeleted { id, protocol } => {
                if *protocol == self.cfg.protocol.0 || self.is_our_id(*id) {
                    self.resync_nexthops = true;
                    true
                } else {
                    self.used_ids.remove(id);
                    false
                }
            }
            Event::NexthopAdded { id, .. } => {
                self.used_ids.insert(*id);
                false
            }
            Event::RouteDeleted {
                prefix,
                table,
                protocol,
                metric,
                sender,
            } => {
                // The echo of our own delete was applied when its ACK came;
                // read later (the monitor lags), it would make us forget the
                // route if it has been installed again since.
                if *sender == self.conn.portid
                    || *protocol != self.cfg.protocol.0
                    || *table != self.cfg.table
                    || *metric != self.cfg.metric
                {
                    return false;
                }
                let Some(slot) = self.table.get_mut(prefix) else {
                    return false;
                };
                let was = slot.have().is_some();
                slot.set_have(None);
                let desired = slot.want().is_some();
                if slot.is_empty() {
                    self.table.remove(prefix);
                }
                if was && desired {
                    if !self.all_dirty {
                        self.dirty.insert(*prefix);
                    }
                    return true;
                }
                false
            }
            Event::Overflow => {
                self.resync_nexthops = true;
                self.resync_routes = true;
                true
            }
            _ => false,
        }
    }

    fn is_our_id(&self, id: u32) -> bool {
        self.members.values().any(|&m| m == id) || self.kgroups.values().any(|k| k.id == id)
    }

    // ----- commit -----------------------------------------------------------

    /// Converges the kernel to the desired state. Per-operation failures are
    /// in the report; only socket failures are `Err`. A receive overflow
    /// triggers a full re-dump and a second pass.
    pub fn commit(&mut self) -> Result<Report, Error> {
        let mut report = Report::default();
        for _ in 0..3 {
            match self.commit_once(&mut report) {
                Err(Error::Overflow) => {
                    self.resync_nexthops = true;
                    self.resync_routes = true;
                }
                other => return other.map(|()| report),
            }
        }
        Err(Error::Overflow)
    }

    /// Graceful restart done: the desired state is complete. Deletes our
    /// routes from the previous run that are not desired, then unused
    /// nexthop objects of the previous run.
    pub fn complete(&mut self) -> Result<Report, Error> {
        self.complete = true;
        self.complete_pending = true;
        for s in self.table.values_mut() {
            s.set_stale(false);
        }
        self.all_dirty = true;
        self.commit()
    }

    fn commit_once(&mut self, report: &mut Report) -> Result<(), Error> {
        if self.resync_nexthops && self.style == Style::NexthopObjects {
            self.load_nexthops(false)?;
            self.resync_nexthops = false;
        }
        if self.resync_routes {
            self.load_routes()?;
            self.resync_routes = false;
        }
        let mut replaced_groups = false;
        if self.style == Style::NexthopObjects {
            let before = report.errors.len();
            replaced_groups = self.commit_groups(report)?;
            if report.errors.len() > before {
                // A nexthop message failed, most often because the kernel
                // flushed a member with its link before we saw the event
                // ("Invalid nexthop id"): without a retry, the routes moving
                // to that group would be deleted until the event arrives.
                // Re-read the objects and try once more; only the second
                // attempt's failures are reported.
                report.errors.truncate(before);
                self.load_nexthops(false)?;
                replaced_groups |= self.commit_groups(report)?;
            }
        }
        let mut exists = Vec::new();
        self.commit_routes(report, &mut exists)?;
        if !exists.is_empty() {
            // A create met a route with our key that we believed absent (an
            // event from before our last change, a route the kernel kept,
            // another process). Ours are found by a re-dump and converged by
            // replace; a foreign one fails again and is reported, never
            // overwritten.
            self.load_routes()?;
            let mut again = Vec::new();
            self.commit_routes(report, &mut again)?;
            report.errors.extend(again);
        }
        if self.style == Style::NexthopObjects {
            // A failover commit stays one message: unused member objects
            // are swept by the next commit that replaces no group.
            self.sweep_nexthops(report, !replaced_groups || self.complete_pending)?;
            self.complete_pending = false;
        }
        self.dirty_groups.clear();
        Ok(())
    }

    fn usable(&self, nh: &Nexthop) -> bool {
        self.links
            .get(&nh.ifindex)
            .is_none_or(|l| l.up && l.carrier)
    }

    fn members_for(&self, g: &NexthopGroup, f: Family, filter_links: bool) -> Vec<Weighted> {
        // A route uses its own family's gateways and the dev-only members;
        // an IPv4 route of a group that has none uses its IPv6 gateways
        // (RFC 8950 next hops: `RTA_VIA`, or IPv6 nexthop objects in an IPv4
        // route's group). Decided on the definition, not on link state, so a
        // link flap never switches a route's family of next hops.
        let own = |m: &&Weighted| m.nexthop.gateway.is_none_or(|gw| Family::of(&gw) == f);
        let over_v6 = f == Family::V4 && !g.members.iter().any(|m| own(&m));
        let mut v: Vec<Weighted> = g
            .members
            .iter()
            .filter(|m| own(m) || (over_v6 && m.nexthop.gateway.is_some()))
            .filter(|m| !filter_links || self.usable(&m.nexthop))
            .copied()
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.nexthop == b.nexthop);
        v
    }

    fn alloc_id(&mut self) -> u32 {
        while self.used_ids.contains(&self.next_id) || self.next_id == 0 {
            self.next_id = self.next_id.wrapping_add(1);
        }
        let id = self.next_id;
        self.used_ids.insert(id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Returns whether an existing group was replaced.
    fn commit_groups(&mut self, report: &mut Report) -> Result<bool, Error> {
        let dirty: Vec<GroupId> = if self.all_dirty {
            self.groups
                .keys()
                .chain(self.kgroups.keys().map(|(g, _)| g))
                .copied()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        } else {
            self.dirty_groups.iter().copied().collect()
        };
        let mut buf = Vec::new();
        let mut ops: Vec<(u32, Op)> = Vec::new();
        let mut pending_members: Vec<((Family, Nexthop), u32)> = Vec::new();
        let mut pending_groups: Vec<((GroupId, Family), KGroup)> = Vec::new();
        let mut routes_to_mark: Vec<GroupId> = Vec::new();
        for g in dirty {
            for f in [Family::V4, Family::V6] {
                let refs = self.group_refs.get(&g).map_or(0, |r| r[fidx(f)]);
                let Some(group) = self.groups.get(&g).filter(|_| refs > 0) else {
                    continue;
                };
                let wanted = self.members_for(group, f, true);
                if wanted.is_empty() {
                    // Nothing usable: leave an existing kernel group alone
                    // (the kernel already dropped dead members); without one
                    // the routes cannot be installed.
                    continue;
                }
                let mut ids = Vec::with_capacity(wanted.len());
                for w in &wanted {
                    let obj_f = w.nexthop.gateway.as_ref().map_or(f, Family::of);
                    let key = (obj_f, w.nexthop);
                    let id =
                        match self.members.get(&key).copied().or_else(|| {
                            pending_members.iter().find(|(k, _)| *k == key).map(|x| x.1)
                        }) {
                            Some(id) => id,
                            None => {
                                let id = self.alloc_id();
                                let seq = self.conn.next_seq();
                                message::new_nexthop(
                                    &mut buf,
                                    seq,
                                    id,
                                    NexthopObject::Single {
                                        family: obj_f,
                                        nexthop: w.nexthop,
                                    },
                                    self.cfg.protocol,
                                    Mode::Create,
                                    false,
                                );
                                ops.push((seq, Op::CreateNexthop(id)));
                                pending_members.push((key, id));
                                id
                            }
                        };
                    ids.push((id, w.weight.clamp(1, 256)));
                }
                let current = self.kgroups.get(&(g, f)).cloned();
                if current.as_ref().is_some_and(|k| k.members == ids) {
                    continue;
                }
                let (id, mode) = match &current {
                    Some(k) => (k.id, Mode::Replace),
                    None => {
                        // Adopt a group of a previous run: an identical one
                        // needs no message, another one of this family one
                        // replace; either way its routes need no change.
                        match self.adopt_orphan(f, &ids) {
                            Some((id, true)) => {
                                self.kgroups.insert((g, f), KGroup { id, members: ids });
                                routes_to_mark.push(g);
                                continue;
                            }
                            Some((id, false)) => {
                                self.kgroups.insert(
                                    (g, f),
                                    KGroup {
                                        id,
                                        members: Vec::new(),
                                    },
                                );
                                routes_to_mark.push(g);
                                (id, Mode::Replace)
                            }
                            None => (self.alloc_id(), Mode::Create),
                        }
                    }
                };
                if current.is_none() {
                    routes_to_mark.push(g);
                }
                let seq = self.conn.next_seq();
                message::new_nexthop(
                    &mut buf,
                    seq,
                    id,
                    NexthopObject::Group {
                        members: &ids,
                        resilient: self.cfg.resilient,
                    },
                    self.cfg.protocol,
                    mode,
                    false,
                );
                ops.push((seq, Op::SetGroup(g, f)));
                pending_groups.push(((g, f), KGroup { id, members: ids }));
            }
        }
        if buf.is_empty() {
            for g in routes_to_mark {
                self.mark_routes_of(g);
            }
            return Ok(false);
        }
        let replaced = ops.iter().any(
            |(_, op)| matches!(op, Op::SetGroup(g, f) if self.kgroups.contains_key(&(*g, *f))),
        );
        let mut failed: HashMap<u32, KernelError> = HashMap::default();
        self.conn.execute(&buf, |seq, e| {
            failed.insert(seq, e);
        })?;
        report.nexthop_messages += ops.len();
        let mut failed_members = HashSet::default();
        for (seq, op) in &ops {
            if let Some(e) = failed.remove(seq) {
                if let Op::CreateNexthop(id) = op {
                    failed_members.insert(*id);
                }
                report.errors.push(OpError {
                    op: *op,
                    failure: Failure::Kernel(e),
                });
            }
        }
        for (key, id) in pending_members {
            if !failed_members.contains(&id) {
                self.members.insert(key, id);
            }
        }
        let failed_groups: HashSet<(GroupId, Family)> = report
            .errors
            .iter()
            .filter_map(|e| {
                if let Op::SetGroup(g, f) = e.op {
                    Some((g, f))
                } else {
                    None
                }
            })
            .collect();
        for (key, kg) in pending_groups {
            if !failed_groups.contains(&key) {
                self.kgroups.insert(key, kg);
            } else if self.kgroups.get(&key).is_some_and(|k| k.members.is_empty()) {
                // A failed replace of an adopted group: it stays an orphan.
                if let Some(k) = self.kgroups.remove(&key) {
                    self.orphan_groups.insert(k.id, Vec::new());
                }
            }
        }
        for g in routes_to_mark {
            self.mark_routes_of(g);
        }
        Ok(replaced)
    }

    /// Picks a previous-run group for family `f`: identical members first,
    /// else the one sharing most members. Returns `(id, identical)`.
    ///
    /// Among candidates, one that the dumped routes of family `f` point at
    /// wins: an IPv4-over-IPv6 group and an IPv6 group can have identical
    /// members, and adopting the other family's would re-point every route.
    fn adopt_orphan(&mut self, f: Family, ids: &[(u32, u16)]) -> Option<(u32, bool)> {
        let fam_of: HashMap<u32, Family> = self.members.iter().map(|(k, id)| (*id, k.0)).collect();
        let mut best: Option<((bool, bool, usize), u32)> = None;
        for (id, m) in &self.orphan_groups {
            let all = |x: Family| m.iter().all(|(mid, _)| fam_of.get(mid) == Some(&x));
            if !(all(f) || (f == Family::V4 && all(Family::V6))) {
                continue;
            }
            let identical = m.as_slice() == ids;
            let overlap = m.iter().filter(|x| ids.iter().any(|y| y.0 == x.0)).count();
            let used = self.route_nhids.get(id).is_some_and(|u| u[fidx(f)]);
            let score = (identical, used, overlap);
            if (identical || overlap > 0) && best.is_none_or(|b| score > b.0) {
                best = Some((score, *id));
            }
        }
        let ((identical, _, _), id) = best?;
        self.orphan_groups.remove(&id);
        Some((id, identical))
    }

    fn prefsrc(&self, f: Family) -> Option<IpAddr> {
        match f {
            Family::V4 => self.cfg.prefsrc_v4.map(IpAddr::V4),
            Family::V6 => self.cfg.prefsrc_v6.map(IpAddr::V6),
        }
    }

    fn params(&self) -> RouteParams {
        RouteParams {
            table: self.cfg.table,
            protocol: self.cfg.protocol,
            metric: self.cfg.metric,
            prefsrc: None,
        }
    }

    /// What the kernel should have for a route of family `f` desired to
    /// forward to `target`; `None` = no route.
    fn want_of(&self, f: Family, target: Option<Target>) -> Option<Want> {
        match target? {
            Target::Blackhole => Some((Have::Blackhole, None)),
            Target::Group(g) => match self.style {
                Style::NexthopObjects => {
                    self.kgroups.get(&(g, f)).map(|k| (Have::Nhid(k.id), None))
                }
                Style::Legacy => {
                    let m = self.members_for(self.groups.get(&g)?, f, false);
                    if m.is_empty() {
                        return None;
                    }
                    Some((
                        Have::Legacy(legacy_hash(&m, self.prefsrc(f))),
                        Some(m.into()),
                    ))
                }
            },
        }
    }

    /// Converges the dirty routes. Creates that fail with `EEXIST` go to
    /// `exists`, not to the report: the caller finds out whose route it is.
    fn commit_routes(
        &mut self,
        report: &mut Report,
        exists: &mut Vec<OpError>,
    ) -> Result<(), Error> {
        // What each (target, family) needs, computed once per commit: a
        // legacy group's hop list is built once, not once per route.
        let mut wants: HashMap<(Option<Target>, Family), Option<Want>> = HashMap::default();
        let keys: Vec<IpNet> = if self.all_dirty {
            // One walk of the table, no lookup per route; only the keys that
            // need a message are collected, so a restart with nothing to
            // change allocates nothing per route.
            let mut keys = Vec::new();
            for (p, s) in &self.table {
                let f = fam(p);
                let w = wants
                    .entry((s.want(), f))
                    .or_insert_with(|| self.want_of(f, s.want()))
                    .as_ref()
                    .map(|w| w.0);
                let differs = match (w, s.have()) {
                    (Some(w), Some(h)) => w != h,
                    (None, None) => false,
                    _ => true,
                };
                if differs {
                    keys.push(*p);
                }
            }
            keys
        } else {
            self.dirty.drain().collect()
        };
        self.all_dirty = false;
        self.dirty.clear();
        // Messages are built and sent in slices of about `FLUSH` bytes: the
        // memory a commit needs stays bounded whatever the table size.
        const FLUSH: usize = 1 << 20;
        let mut buf = Vec::with_capacity(FLUSH + 4096);
        let mut first_seq = self.conn.next_seq();
        let mut ops: Vec<(IpNet, Op, Option<Have>)> = Vec::new();
        let mut p = self.params();
        for prefix in keys {
            let Some(slot) = self.table.get(&prefix).copied() else {
                continue;
            };
            let have = slot.have();
            let f = fam(&prefix);
            let want = wants
                .entry((slot.want(), f))
                .or_insert_with(|| self.want_of(f, slot.want()))
                .clone();
            let seq = first_seq.wrapping_add(ops.len() as u32);
            match (want, have) {
                (Some((w, _)), Some(h)) if h == w => {
                    if let Some(s) = self.table.get_mut(&prefix) {
                        s.set_stale(false);
                    }
                }
                (Some((w, hops)), h) => {
                    p.prefsrc = self.prefsrc(fam(&prefix));
                    let via = match (w, &hops) {
                        (Have::Nhid(id), _) => Via::Nhid(id),
                        (Have::Blackhole, _) => Via::Blackhole,
                        (_, Some(h)) => Via::Nexthops(h),
                        _ => Via::Blackhole,
                    };
                    // REPLACE only a key we own (it has an installed state,
                    // which only routes with our protocol get); otherwise EXCL, so a
                    // foreign route with our key fails with EEXIST instead of
                    // being overwritten.
                    let (mode, op) = if h.is_some() {
                        (Mode::Replace, Op::ReplaceRoute(prefix))
                    } else {
                        (Mode::Create, Op::CreateRoute(prefix))
                    };
                    if let Err(e) = message::new_route(&mut buf, seq, prefix, via, &p, mode, false)
                    {
                        report.errors.push(OpError {
                            op,
                            failure: Failure::Build(e),
                        });
                        continue;
                    }
                    ops.push((prefix, op, Some(w)));
                }
                (None, Some(_)) => {
                    if slot.stale() && !self.complete {
                        continue;
                    }
                    message::del_route(&mut buf, seq, prefix, &p, false);
                    ops.push((prefix, Op::DeleteRoute(prefix), None));
                }
                (None, None) => {}
            }
            if buf.len() >= FLUSH {
                self.flush_routes(&mut buf, &mut ops, first_seq, report, exists)?;
                first_seq = self.conn.next_seq();
            }
        }
        self.flush_routes(&mut buf, &mut ops, first_seq, report, exists)
    }

    /// Sends the built route messages (sequence numbers `first_seq..`) and
    /// applies each outcome to the installed state of the table.
    fn flush_routes(
        &mut self,
        buf: &mut Vec<u8>,
        ops: &mut Vec<(IpNet, Op, Option<Have>)>,
        first_seq: u32,
        report: &mut Report,
        exists: &mut Vec<OpError>,
    ) -> Result<(), Error> {
        if ops.is_empty() {
            return Ok(());
        }
        // Seqs must be contiguous per message for the mapping below.
        for _ in 1..ops.len() {
            self.conn.next_seq();
        }
        let mut failed: HashMap<u32, KernelError> = HashMap::default();
        self.conn.execute(buf, |seq, e| {
            failed.insert(seq, e);
        })?;
        buf.clear();
        for (i, (prefix, op, w)) in ops.drain(..).enumerate() {
            let seq = first_seq.wrapping_add(i as u32);
            match (failed.remove(&seq), op) {
                (Some(e), Op::DeleteRoute(_)) if e.errno == libc::ESRCH => {
                    self.uninstall(&prefix);
                    report.deleted += 1;
                }
                (Some(e), Op::CreateRoute(_)) if e.errno == libc::EEXIST => exists.push(OpError {
                    op,
                    failure: Failure::Kernel(e),
                }),
                (Some(e), _) => report.errors.push(OpError {
                    op,
                    failure: Failure::Kernel(e),
                }),
                (None, Op::DeleteRoute(_)) => {
                    self.uninstall(&prefix);
                    report.deleted += 1;
                }
                (None, op) => {
                    if let Some(have) = w {
                        let s = self.table.entry(prefix).or_default();
                        s.set_have(Some(have));
                        s.set_stale(false);
                    }
                    if matches!(op, Op::CreateRoute(_)) {
                        report.created += 1;
                    } else {
                        report.replaced += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// The kernel no longer has our route for `prefix`.
    fn uninstall(&mut self, prefix: &IpNet) {
        if let Some(s) = self.table.get_mut(prefix) {
            s.set_have(None);
            s.set_stale(false);
            if s.is_empty() {
                self.table.remove(prefix);
            }
        }
    }

    fn sweep_nexthops(&mut self, report: &mut Report, members_too: bool) -> Result<(), Error> {
        // Groups no longer referenced by a desired route family.
        let mut del: Vec<(u32, Option<GroupKey>, Option<MemberKey>)> = Vec::new();
        for (key, k) in &self.kgroups {
            let refs = self.group_refs.get(&key.0).map_or(0, |r| r[fidx(key.1)]);
            if refs == 0 || !self.groups.contains_key(&key.0) {
                del.push((k.id, Some(*key), None));
            }
        }
        if self.complete {
            del.extend(self.orphan_groups.keys().map(|id| (*id, None, None)));
        }
        if !del.is_empty() {
            // A group still used by an installed route stays (deleting it
            // would delete the route). Walks the routes only in this case, so
            // a failover commit never does.
            let in_use: HashSet<u32> = self
                .table
                .values()
                .filter_map(|s| {
                    if let Some(Have::Nhid(id)) = s.have() {
                        Some(id)
                    } else {
                        None
                    }
                })
                .collect();
            del.retain(|d| !in_use.contains(&d.0));
        }
        let mut member_use: HashSet<u32> = HashSet::default();
        for k in self.kgroups.values() {
            if !del.iter().any(|d| d.0 == k.id) {
                member_use.extend(k.members.iter().map(|m| m.0));
            }
        }
        for (id, m) in &self.orphan_groups {
            if !del.iter().any(|d| d.0 == *id) {
                member_use.extend(m.iter().map(|m| m.0));
            }
        }
        for (key, id) in &self.members {
            let desired = self
                .groups
                .values()
                .any(|g| g.members.iter().any(|m| m.nexthop == key.1));
            // Members are never route targets (routes always use a group).
            if members_too && !member_use.contains(id) && (!desired || self.complete) {
                del.push((*id, None, Some(*key)));
            }
        }
        if del.is_empty() {
            return Ok(());
        }
        // Groups first, then members: a message stream is processed in order.
        del.sort_by_key(|d| d.2.is_some());
        let mut buf = Vec::new();
        let mut seqs = Vec::new();
        for (id, _, _) in &del {
            let seq = self.conn.next_seq();
            message::del_nexthop(&mut buf, seq, *id, false);
            seqs.push(seq);
        }
        let mut failed: HashMap<u32, KernelError> = HashMap::default();
        self.conn.execute(&buf, |seq, e| {
            failed.insert(seq, e);
        })?;
        for (seq, (id, g, m)) in seqs.into_iter().zip(del) {
            report.nexthop_messages += 1;
            match failed.remove(&seq) {
                Some(e) if e.errno != libc::ENOENT => report.errors.push(OpError {
                    op: Op::DeleteNexthop(id),
                    failure: Failure::Kernel(e),
                }),
                _ => {
                    if let Some(g) = g {
                        self.kgroups.remove(&g);
                    }
                    if let Some(m) = m {
                        self.members.remove(&m);
                    }
                    self.orphan_groups.remove(&id);
                    self.used_ids.remove(&id);
                }
            }
        }
        Ok(())
    }

    // ----- kernel state -------------------------------------------------------

    /// Dumps nexthop objects; `Ok(false)` if the kernel has none (no support).
    fn load_nexthops(&mut self, probe: bool) -> Result<bool, Error> {
        let mut all = Vec::new();
        match self.conn.dump(message::dump_nexthops, |m| {
            if let KernelMessage::Nexthop { nexthop, .. } = m {
                all.push(nexthop)
            }
        }) {
            Ok(()) => {}
            Err(Error::Kernel(e))
                if probe && matches!(e.errno, libc::EOPNOTSUPP | libc::EINVAL | libc::ENOENT) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        let proto = self.cfg.protocol.0;
        self.used_ids = all.iter().map(|n| n.id).collect();
        let ours: Vec<&KernelNexthop> = all.iter().filter(|n| n.protocol == proto).collect();
        let mut members = HashMap::default();
        let mut groups: HashMap<u32, Vec<(u32, u16)>> = HashMap::default();
        for n in &ours {
            match &n.kind {
                KernelNexthopKind::Single { ifindex, gateway } => {
                    let Some(f) = af_family(n.family) else {
                        continue;
                    };
                    let nh = Nexthop {
                        ifindex: *ifindex,
                        gateway: *gateway,
                        onlink: n.flags & message::RTNH_F_ONLINK != 0,
                    };
                    members.insert((f, nh), n.id);
                }
                KernelNexthopKind::Group { members: m, .. } => {
                    groups.insert(
                        n.id,
                        m.iter().map(|&(id, w)| (id, w.min(256) as u16)).collect(),
                    );
                }
                _ => {}
            }
        }
        // Keep our groups that still exist (with their current members);
        // groups that vanished took their routes with them (kernel rule):
        // forget those routes so they are re-created.
        let mut vanished = HashSet::default();
        self.kgroups.retain(|_, k| match groups.remove(&k.id) {
            Some(m) => {
                k.members = m;
                true
            }
            None => {
                vanished.insert(k.id);
                false
            }
        });
        self.orphan_groups = groups;
        self.members = members;
        if !vanished.is_empty() {
            self.table.retain(|_, s| {
                if matches!(s.have(), Some(Have::Nhid(id)) if vanished.contains(&id)) {
                    s.set_have(None);
                    s.set_stale(false);
                }
                !s.is_empty()
            });
            self.all_dirty = true;
        }
        self.dirty_groups.extend(self.groups.keys().copied());
        Ok(true)
    }

    fn load_links(&mut self) -> Result<(), Error> {
        let mut links = HashMap::default();
        self.conn.dump(message::dump_links, |m| {
            if let KernelMessage::Link { link, .. } = m {
                links.insert(
                    link.ifindex,
                    LinkState {
                        up: link.up,
                        carrier: link.carrier,
                    },
                );
            }
        })?;
        self.links = links;
        Ok(())
    }

    /// Streams our routes straight into the table (no intermediate list:
    /// a dumped route costs its slot, nothing else).
    fn load_routes(&mut self) -> Result<(), Error> {
        let (proto, table, metric) = (self.cfg.protocol.0, self.cfg.table, self.cfg.metric);
        let pv4 = self.prefsrc(Family::V4);
        let pv6 = self.prefsrc(Family::V6);
        let style = self.style;
        let complete = self.complete;
        // What we believed installed becomes PREV: a re-dump keeps its stale
        // mark; whatever the dump does not report is gone.
        for s in self.table.values_mut() {
            if s.have().is_some() {
                s.set_have(None);
                s.tags |= PREV;
            }
        }
        let map = &mut self.table;
        let nhids = &mut self.route_nhids;
        nhids.clear();
        // Dumped routes go into the table a batch at a time, in slot order
        // (see `set_routes`).
        let mut batch: Vec<(IpNet, Have)> = Vec::with_capacity(BATCH);
        let mut order = Vec::with_capacity(BATCH);
        let mut apply = |map: &mut HashMap<IpNet, Slot>, batch: &mut Vec<(IpNet, Have)>| {
            map.reserve(batch.len());
            bucket_order(map, batch.iter().map(|r| &r.0), &mut order);
            for &o in &order {
                let (prefix, have) = batch[(o & INDEX_MASK) as usize];
                let s = map.entry(prefix).or_default();
                let stale = if s.tags & PREV != 0 {
                    s.stale()
                } else {
                    !complete
                };
                s.tags &= !PREV;
                s.set_have(Some(have));
                s.set_stale(stale);
            }
            batch.clear();
        };
        // Decoded in place into one reused value: nothing allocated per route.
        let mut route = KernelRoute::default();
        for f in [Family::V4, Family::V6] {
            let prefsrc = if f == Family::V4 { pv4 } else { pv6 };
            let mut last_nhid = None;
            self.conn.dump_frames(
                |b, s| message::dump_routes(b, s, f, table, Protocol(proto)),
                |fr| {
                    if fr.msg_type != message::RTM_NEWROUTE {
                        return Ok(());
                    }
                    decode::decode_route_into(fr.payload, fr.base, &mut route)?;
                    if route.protocol != proto || route.table != table || route.metric != metric {
                        return Ok(());
                    }
                    let have = classify(&route, prefsrc, style);
                    if let Have::Nhid(id) = have
                        && last_nhid != Some(id)
                    {
                        // Routes share few groups: one lookup per run of them.
                        last_nhid = Some(id);
                        nhids.entry(id).or_default()[fidx(f)] = true;
                    }
                    batch.push((route.prefix, have));
                    if batch.len() == BATCH {
                        apply(map, &mut batch);
                    }
                    Ok(())
                },
            )?;
        }
        apply(map, &mut batch);
        self.table.retain(|_, s| {
            if s.tags & PREV != 0 {
                s.tags &= !PREV;
                s.set_stale(false);
            }
            !s.is_empty()
        });
        self.all_dirty = true;
        Ok(())
    }

    /// Streams our routes as the kernel reports them (read API).
    pub fn for_each_kernel_route(&mut self, mut f: impl FnMut(&KernelRoute)) -> Result<(), Error> {
        let (proto, table) = (self.cfg.protocol, self.cfg.table);
        for fam in [Family::V4, Family::V6] {
            self.conn.dump(
                |b, s| message::dump_routes(b, s, fam, table, proto),
                |m| {
                    if let KernelMessage::Route { route, .. } = m
                        && route.protocol == proto.0
                    {
                        f(&route)
                    }
                },
            )?;
        }
        Ok(())
    }

    /// Our routes as the kernel reports them.
    pub fn kernel_routes(&mut self) -> Result<Vec<KernelRoute>, Error> {
        let mut v = Vec::new();
        self.for_each_kernel_route(|r| v.push(r.clone()))?;
        Ok(v)
    }

    /// Our nexthop objects as the kernel reports them.
    pub fn kernel_nexthops(&mut self) -> Result<Vec<KernelNexthop>, Error> {
        let proto = self.cfg.protocol.0;
        let mut v = Vec::new();
        if self.style == Style::NexthopObjects {
            self.conn.dump(message::dump_nexthops, |m| {
                if let KernelMessage::Nexthop { nexthop, .. } = m
                    && nexthop.protocol == proto
                {
                    v.push(nexthop)
                }
            })?;
        }
        Ok(v)
    }

    /// Number of routes we believe are in the kernel (walks the table).
    pub fn installed_len(&self) -> usize {
        self.table.values().filter(|s| s.have().is_some()).count()
    }
}

/// Routes per batch of [`Fib::set_routes`] and of the startup dump.
const BATCH: usize = 1 << 16;
/// The low bits of an [`bucket_order`] entry: the index in the batch.
const INDEX_MASK: u64 = (1 << 24) - 1;

/// Orders a batch (at most [`BATCH`] keys) by the table slot each key hashes
/// to: `order` receives `slot << 24 | index`, sorted, so equal keys keep
/// their batch order. The slot is the hash's low bits, as the table (std's
/// SwissTable) probes from `hash & (buckets - 1)`; were that to change, only
/// the speed would, never the result.
fn bucket_order<'a>(
    table: &HashMap<IpNet, Slot>,
    keys: impl Iterator<Item = &'a IpNet>,
    order: &mut Vec<u64>,
) {
    // Buckets are a power of two with 7/8 of them usable.
    let buckets = (table.capacity().max(8) * 8 / 7).next_power_of_two() as u64;
    let hasher = table.hasher();
    order.clear();
    order.extend(
        keys.enumerate()
            .map(|(i, k)| (hasher.hash_one(k) & (buckets - 1)) << 24 | i as u64),
    );
    order.sort_unstable();
}

fn legacy_hash(m: &[Weighted], prefsrc: Option<IpAddr>) -> u32 {
    let mut h = DefaultHasher::new();
    for w in m {
        // A single path has no weight in the kernel.
        let weight = if m.len() == 1 {
            1
        } else {
            w.weight.clamp(1, 256)
        };
        (w.nexthop.ifindex, w.nexthop.gateway, weight).hash(&mut h);
    }
    prefsrc.hash(&mut h);
    h.finish() as u32
}

fn classify(r: &KernelRoute, prefsrc: Option<IpAddr>, style: Style) -> Have {
    if r.kind == RTN_BLACKHOLE {
        return Have::Blackhole;
    }
    if r.prefsrc != prefsrc {
        return Have::Mismatch;
    }
    if let Some(id) = r.nhid {
        return Have::Nhid(id);
    }
    if style == Style::Legacy && !r.hops.is_empty() {
        let mut m: Vec<Weighted> = r
            .hops
            .iter()
            .map(|h| Weighted {
                nexthop: Nexthop {
                    ifindex: h.ifindex,
                    gateway: h.gateway,
                    onlink: false,
                },
                weight: h.weight,
            })
            .collect();
        m.sort();
        return Have::Legacy(legacy_hash(&m, prefsrc));
    }
    Have::Mismatch
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_table_entry_is_32_bytes() {
        // Key and both states: 1M routes cost 2^21 buckets of 33 bytes
        // (entry + control byte) = 66 MiB, the reconcile's memory budget.
        assert_eq!(std::mem::size_of::<(IpNet, Slot)>(), 32);
    }

    fn target() -> impl Strategy<Value = Option<Target>> {
        prop_oneof![
            Just(None),
            Just(Some(Target::Blackhole)),
            any::<u32>().prop_map(|g| Some(Target::Group(GroupId(g)))),
        ]
    }

    fn have() -> impl Strategy<Value = Option<Have>> {
        prop_oneof![
            Just(None),
            Just(Some(Have::Blackhole)),
            Just(Some(Have::Mismatch)),
            any::<u32>().prop_map(|x| Some(Have::Nhid(x))),
            any::<u32>().prop_map(|x| Some(Have::Legacy(x))),
        ]
    }

    proptest! {
        /// The packed fields are independent: setting one never changes
        /// another (checked against a plain struct of the three values).
        #[test]
        fn slot_fields_round_trip(
            ops in proptest::collection::vec((0u8..3, target(), have(), any::<bool>()), 1..20)
        ) {
            let mut slot = Slot::default();
            let mut model: (Option<Target>, Option<Have>, bool) = (None, None, false);
            for (which, t, h, st) in ops {
                match which {
                    0 => { slot.set_want(t); model.0 = t; }
                    1 => { slot.set_have(h); model.1 = h; }
                    _ => { slot.set_stale(st); model.2 = st; }
                }
                prop_assert_eq!((slot.want(), slot.have(), slot.stale()), model);
                prop_assert_eq!(slot.is_empty(), model.0.is_none() && model.1.is_none());
            }
        }
    }
}
