//! The node's typed event stream (style rule 46): what changed, and why.
//! The node logs each event through `tracing`; embedders subscribe with
//! [`NodeHandle::events`](super::NodeHandle::events).

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::bgp::DownReason;

/// Something that happened on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A BGP session reached Established.
    SessionUp {
        /// Neighbour address.
        peer: IpAddr,
        /// The BGPPeer it comes from.
        name: String,
    },
    /// A BGP session left Established.
    SessionDown {
        /// Neighbour address.
        peer: IpAddr,
        /// The BGPPeer it comes from.
        name: String,
        /// Why.
        reason: DownReason,
        /// Whether the peer's routes are kept (graceful: GR or LLGR stale).
        graceful: bool,
    },
    /// A BFD session changed state (RFC 5880 §6.2).
    BfdStateChange {
        /// Neighbour address.
        peer: IpAddr,
        /// State before.
        from: bfd::State,
        /// State after.
        to: bfd::State,
        /// Why (bfd.LocalDiag).
        diag: bfd::Diag,
    },
    /// A plane link changed state (from the kernel).
    LinkChange {
        /// Interface index.
        ifindex: u32,
        /// Name, when known.
        name: Option<String>,
        /// Administratively up and with carrier.
        usable: bool,
    },
    /// RFC 4724 §4.2: the peer's routes are kept as stale.
    GrEntered {
        /// Neighbour address.
        peer: IpAddr,
        /// Restart time (after clamping).
        restart_time: Duration,
        /// Routes marked stale.
        stale_routes: u64,
    },
    /// RFC 9494 §4.2: the peer's routes of a family are long-lived stale
    /// (depreferenced, still usable as backup).
    LlgrEntered {
        /// Neighbour address.
        peer: IpAddr,
        /// Family.
        family: llgr::Family,
        /// Long-lived stale time (after clamping).
        stale_time: Duration,
        /// Routes now carrying LLGR_STALE.
        stale_routes: u64,
    },
    /// The peer's stale routes of a family were swept or flushed: the GR or
    /// LLGR phase is over.
    StaleRoutesRemoved {
        /// Neighbour address.
        peer: IpAddr,
        /// Family.
        family: llgr::Family,
        /// Why (`None`: a non-graceful loss flushed them).
        reason: Option<llgr::SweepReason>,
        /// How many routes.
        routes: u64,
        /// Whether the family was in the LLGR phase (LLGR exited).
        was_llgr: bool,
    },
    /// A batch of kernel changes was committed.
    FibProgrammed {
        /// Engine changes in the batch (groups and routes).
        changes: usize,
        /// Routes created.
        created: usize,
        /// Routes replaced.
        replaced: usize,
        /// Routes deleted.
        deleted: usize,
        /// Nexthop object messages.
        nexthop_messages: usize,
        /// Operations the kernel refused.
        errors: usize,
        /// From the engine's output to the kernel's acknowledgement.
        latency: Duration,
    },
    /// Our own graceful restart is over: End-of-RIB from every peer (or the
    /// deferral timer), and the previous run's leftovers were swept.
    RestartComplete {
        /// How long it took.
        waited: Duration,
        /// Peers that never sent End-of-RIB (the timer fired).
        missing: Vec<IpAddr>,
        /// Stale kernel routes deleted.
        swept: usize,
    },
    /// A prefix started or stopped being advertised.
    Origination {
        /// The prefix.
        prefix: IpNet,
        /// Advertised (`true`) or withdrawn.
        advertised: bool,
    },
    /// A configuration reload was applied.
    Reloaded {
        /// Sessions started.
        peers_added: usize,
        /// Sessions stopped.
        peers_removed: usize,
        /// Sessions re-established because an OPEN-level setting changed.
        peers_reset: usize,
        /// Sessions changed in place.
        peers_updated: usize,
    },
    /// The kernel programmer failed; routes are no longer maintained.
    FibFailed {
        /// The error's text (the `fib` error is not `Clone`).
        error: String,
    },
    /// The node stopped.
    Stopped {
        /// Graceful (routes left in the kernel) or hard (flushed).
        graceful: bool,
    },
}
