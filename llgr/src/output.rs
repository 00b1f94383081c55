//! What the engine produces: FIB changes, Adj-RIB-Out changes, events and counters.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::attrs::Attrs;
use crate::peer::{Family, PathId, PeerId, Prefix};

/// One kernel next hop of an ECMP set, with the peer it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// `via gateway [dev interface]`.
    Gateway {
        /// Gateway address.
        gateway: IpAddr,
        /// Outgoing interface index, when known.
        interface: Option<u32>,
        /// Peer whose path this is.
        peer: PeerId,
    },
    /// `dev interface` (the next hop is the route's own address on a connected link).
    Device {
        /// Outgoing interface index.
        interface: u32,
        /// Peer whose path this is.
        peer: PeerId,
    },
    /// `blackhole` (a locally originated block).
    Blackhole,
}

/// Identifier of a next-hop group (never reused within one engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u64);

/// A FIB change. [`Engine::poll_fib`](crate::Engine::poll_fib) returns group additions and
/// changes first, then route changes, then group removals, so they can be applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibChange {
    /// A new next-hop group.
    GroupAdded {
        /// Its id.
        id: GroupId,
        /// Its next hops (sorted, at most the ECMP limit).
        nexthops: Arc<[NextHop]>,
    },
    /// A group's next hops changed: every route using it changes with it (PIC).
    GroupChanged {
        /// Its id.
        id: GroupId,
        /// The new next hops.
        nexthops: Arc<[NextHop]>,
    },
    /// A group no route uses any more.
    GroupRemoved {
        /// Its id.
        id: GroupId,
    },
    /// A prefix now uses `group`, or is no longer installed (`None`).
    Route {
        /// The prefix.
        prefix: Prefix,
        /// Its group.
        group: Option<GroupId>,
    },
}

/// A change of what we advertise to a peer (its Adj-RIB-Out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibOutChange {
    /// The peer.
    pub peer: PeerId,
    /// The prefix.
    pub prefix: Prefix,
    /// The attributes to announce, or `None` to withdraw.
    pub attrs: Option<Attrs>,
}

/// A change of what we advertise to an ADD-PATH peer (RFC 7911), one path at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibOutPath {
    /// The peer.
    pub peer: PeerId,
    /// The prefix.
    pub prefix: Prefix,
    /// Our path identifier (RFC 7911 §3): stable for as long as the source path's peer
    /// exists, so an attribute change re-announces the same identifier (implicit withdraw).
    pub path_id: PathId,
    /// The attributes to announce, or `None` to withdraw this path.
    pub attrs: Option<Attrs>,
}

/// Why stale routes were deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepReason {
    /// RFC 4724 §4.2: End-of-RIB received; routes not refreshed are deleted.
    EndOfRib,
    /// RFC 4724 §4.2: the Restart Time expired and no LLGR phase follows.
    RestartTimeExpired,
    /// RFC 9494 §4.2: the long-lived stale time expired.
    LlgrStaleTimeExpired,
    /// RFC 9494 §4.2: NO_LLGR routes deleted on LLGR entry.
    NoLlgr,
    /// RFC 4724 §4.2: routes still stale from an earlier restart, on a consecutive restart.
    ConsecutiveRestart,
    /// RFC 4724 §4.2 / RFC 9494 §4.2: the new session lacks the capability, the family or the F bit.
    CapabilityLost,
    /// RFC 4724 §4.2 optional upper bound: no End-of-RIB in time after re-establishment.
    UpperBound,
}

/// Typed observations (style rule 46); the runtime turns them into logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// RFC 4724 §4.2: a graceful loss; the peer's routes of these families are kept as stale.
    EnteredGr {
        /// The peer.
        peer: PeerId,
        /// Families in the GR phase.
        families: Vec<Family>,
        /// Restart time (after clamping).
        restart_time: Duration,
        /// Routes marked stale.
        stale_routes: u64,
    },
    /// RFC 9494 §4.2: a family entered the long-lived stale phase.
    EnteredLlgr {
        /// The peer.
        peer: PeerId,
        /// The family.
        family: Family,
        /// Long-lived stale time (after clamping).
        stale_time: Duration,
        /// Routes now carrying LLGR_STALE.
        stale_routes: u64,
    },
    /// Stale routes were deleted.
    StaleSwept {
        /// The peer.
        peer: PeerId,
        /// The family.
        family: Family,
        /// Why.
        reason: SweepReason,
        /// How many routes.
        routes: u64,
    },
    /// A non-graceful loss deleted the peer's routes of a family.
    RoutesFlushed {
        /// The peer.
        peer: PeerId,
        /// The family.
        family: Family,
        /// How many routes.
        routes: u64,
    },
    /// The peer's prefix limit was reached; further routes are dropped (the session layer
    /// should send Cease/1, RFC 4486).
    PrefixLimitExceeded {
        /// The peer.
        peer: PeerId,
        /// The limit.
        limit: u32,
    },
}

/// Why a route from a peer was not accepted (counted in [`Stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Our AS appears more often than `allowed_local_as` (RFC 4271 §9.1.2).
    AsPathLoop,
    /// ORIGINATOR_ID equals our router ID (RFC 4456 §8).
    OriginatorIdIsUs,
    /// Our cluster ID is in CLUSTER_LIST (RFC 4456 §8).
    ClusterLoop,
    /// The next hop is one of our own addresses (RFC 4271 §5.1.3).
    NextHopIsUs,
    /// No next hop in a learned route.
    MissingNextHop,
    /// The peer's prefix limit.
    PrefixLimit,
}

/// Counters of ignored bad input and rejected routes. Nothing here ever panics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// An input named a peer that does not exist.
    pub unknown_peer: u64,
    /// UPDATE or End-of-RIB from a peer whose session is not up.
    pub peer_not_up: u64,
    /// Session up while already up.
    pub session_up_twice: u64,
    /// Session down while not up.
    pub session_down_twice: u64,
    /// End-of-RIB received twice in one session.
    pub end_of_rib_twice: u64,
    /// Withdraw for a route the peer never announced.
    pub unknown_withdraw: u64,
    /// Routes rejected by import checks: AS loop.
    pub rejected_as_loop: u64,
    /// Routes rejected: ORIGINATOR_ID is ours.
    pub rejected_originator_id: u64,
    /// Routes rejected: cluster loop.
    pub rejected_cluster_loop: u64,
    /// Routes rejected: next hop is ours.
    pub rejected_next_hop_is_us: u64,
    /// Routes rejected: no next hop.
    pub rejected_missing_next_hop: u64,
    /// Routes dropped by the prefix limit.
    pub rejected_prefix_limit: u64,
    /// Time went backwards in an input; the later of the two was used.
    pub time_went_backwards: u64,
}

impl Stats {
    pub(crate) fn reject(&mut self, r: Rejection, n: u64) {
        let c = match r {
            Rejection::AsPathLoop => &mut self.rejected_as_loop,
            Rejection::OriginatorIdIsUs => &mut self.rejected_originator_id,
            Rejection::ClusterLoop => &mut self.rejected_cluster_loop,
            Rejection::NextHopIsUs => &mut self.rejected_next_hop_is_us,
            Rejection::MissingNextHop => &mut self.rejected_missing_next_hop,
            Rejection::PrefixLimit => &mut self.rejected_prefix_limit,
        };
        *c += n;
    }
}
