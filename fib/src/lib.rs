//! The Linux FIB programmer of a dual-ToR node: it installs the route
//! engine's output into the kernel over rtnetlink, at the kernel's own speed,
//! and fails every route over to the other plane with one message.
//!
//! # Scope
//! - [`message`]: pure builders (no I/O, style rule 25) turning our typed
//!   values into complete `RTM_NEWROUTE`/`RTM_DELROUTE`/`RTM_*NEXTHOP`
//!   messages. Routes are encoded with netlink-packet-route 0.34; nexthop
//!   objects (`NHA_ID`, `NHA_GROUP`, `NHA_GATEWAY`, `NHA_OIF`,
//!   `NHA_BLACKHOLE`, resilient `NHA_RES_GROUP`) are encoded here because
//!   that crate has no nexthop module (and rtnetlink 0.24 can only reference
//!   one by `nhid`).
//! - [`decode`]: kernel messages (dumps, events, ACKs with extended-ACK text)
//!   into compact typed values; a route costs a few dozen bytes, not the
//!   ~700 B of a parsed `RouteMessage`.
//! - [`Fib`] ([`programmer`]): desired state in, minimal kernel changes out;
//!   startup reconcile by diff; graceful-restart sweep; repair after link
//!   flaps, foreign deletions and overflows.
//! - [`Monitor`]: links (admin, carrier), addresses, nexthop objects (and
//!   optionally routes) as a typed [`Event`] stream.
//! - [`knobs`]: `nexthop_compat_mode`, `fib_multipath_hash_policy`,
//!   `ignore_routes_with_linkdown`.
//! - [`KernelReader`] ([`reader`]): read-only dumps of every owner's links,
//!   routes and nexthop objects, for tools and tests that verify the kernel.
//!
//! It does **not** choose routes (that is `llgr`), speak BGP or BFD, manage
//! addresses or links, or run its own thread: calls are synchronous and the
//! caller drives them (one [`Fib`] and one [`Monitor`] per namespace).
//!
//! # Call protocol
//! ```text
//!  Fib::open(cfg) ── dumps links, our nexthop objects and our routes:
//!       │            previous-run routes become "stale" and keep forwarding
//!       ▼
//!  set_group(id, members) / set_route(prefix, Group(id) | Blackhole)
//!  set_routes(iter) (a whole table at once) / remove_route / remove_group
//!                                         (any number, no I/O)
//!       │
//!       ▼
//!  commit() ─► 1 member nexthops + groups (a member change = one replace)
//!       │      2 routes: create EXCL | replace (only keys we own) | delete
//!       │      3 unused groups, then unused members
//!       ▼
//!  complete() once the engine's state is whole: sweeps stale routes/objects
//!       │
//!  loop { for ev in monitor.recv(t)? { if fib.handle_event(&ev) { fib.commit()?; } } }
//! ```
//!
//! # Example
//! ```no_run
//! use fib::{Config, Fib, GroupId, Monitor, MonitorConfig, Nexthop, NexthopGroup, Target};
//! # fn main() -> Result<(), fib::Error> {
//! let mut fib = Fib::open(Config {
//!     prefsrc_v4: Some("10.0.0.1".parse().unwrap()), // the node loopback
//!     compat_mode: Some(false),                      // group replace: O(1) for IPv4
//!     ..Config::default()
//! })?;
//! let (eth0, eth1) = (2, 3);
//! let planes = GroupId(1);
//! fib.set_group(planes, NexthopGroup::ecmp([
//!     Nexthop::via("172.31.11.250".parse().unwrap(), eth0),
//!     Nexthop::via("172.31.12.250".parse().unwrap(), eth1),
//! ]));
//! fib.set_route("172.31.10.2/32".parse().unwrap(), Target::Group(planes));
//! let report = fib.commit()?;
//! assert!(report.errors.is_empty());
//! fib.complete()?; // graceful restart: the desired state is whole
//!
//! // Plane 1 lost: one RTM_NEWNEXTHOP replace, whatever the number of routes.
//! fib.set_group(planes, NexthopGroup::ecmp([Nexthop::via("172.31.12.250".parse().unwrap(), eth1)]));
//! let _ = fib.commit()?;
//!
//! let mut mon = Monitor::open(MonitorConfig::default())?;
//! for ev in mon.recv(std::time::Duration::from_millis(100))? {
//!     if fib.handle_event(&ev) {
//!         let _ = fib.commit()?;
//!     }
//! }
//! # Ok(()) }
//! ```
//! Pure message building needs no root:
//! ```
//! use fib::message::{Mode, RouteParams, Via, new_route, RT_TABLE_MAIN};
//! use fib::decode::{messages, KernelMessage};
//! let p = RouteParams { table: RT_TABLE_MAIN, protocol: fib::Protocol::DUALTOR, metric: 20,
//!                       prefsrc: Some("10.0.0.1".parse().unwrap()) };
//! let mut buf = Vec::new();
//! new_route(&mut buf, 1, "10.1.0.3/32".parse().unwrap(), Via::Nhid(10), &p, Mode::Create, true).unwrap();
//! let Some(Ok(d)) = messages(&buf).next() else { panic!() };
//! let KernelMessage::Route { route, .. } = d.message else { panic!() };
//! assert_eq!((route.nhid, route.metric, route.protocol), (Some(10), 20, 214));
//! ```
//!
//! # Ownership and idempotence (style rule 26)
//! Everything created carries [`Protocol::DUALTOR`] (214, configurable; see
//! [`Protocol`] for why that number). Creates use `NLM_F_EXCL`, so a foreign
//! route with our key fails with `EEXIST` (reported per route) instead of
//! being overwritten; `NLM_F_REPLACE` is sent only for keys the dump or our
//! own ACKed creates show as ours (IPv4 REPLACE ignores the protocol). An
//! `EEXIST` is first checked against a re-dump of our routes in the same
//! commit: a route of ours we believed absent is adopted and replaced
//! (`late_route_deleted_event_for_an_installed_route_resolves_by_replace`).
//! Route-deletion events caused by our own requests (`nlmsg_pid` = our port
//! id) are ignored: the monitor reads them late, after we may have installed
//! the route again
//! (`flaps_failovers_and_late_route_events_leave_the_exact_desired_table`).
//! Deletes name our protocol, so the kernel itself refuses to delete another
//! owner's route. Nexthop objects of other owners are never touched and their
//! ids are skipped when allocating.
//!
//! # Compliance (linux-fib.md pitfalls, each with a test)
//! - IPv6 ECMP "append": exactly one of `EXCL`/`REPLACE` on every create
//!   ([`message::Mode`] has no third value).
//! - IPv4 REPLACE ignores the protocol: own metric, EXCL creates, REPLACE only
//!   on owned keys (`foreign_route_with_our_key_is_never_overwritten`).
//! - Delete with `RT_SCOPE_NOWHERE`; `ESRCH` on delete is success
//!   (`v4_delete_uses_scope_nowhere`).
//! - IPv6 dev-only multipath only through nexthop objects; the legacy style
//!   reports [`BuildError::V6DevOnlyMultipath`] per route.
//! - Gateways outside connected prefixes: [`Nexthop::onlink`].
//! - `RTA_PREFSRC` (the loopback) on every non-blackhole route; lab tests check
//!   `ip route get` in ECMP and single-path state for both styles.
//! - The kernel flushes nexthop objects on link down *and on carrier loss*,
//!   without an event, and does not recreate them: link events trigger a
//!   nexthop re-dump and repair; members on links without carrier are left
//!   out of groups.
//! - Legacy multipath keeps using `RTNH_F_LINKDOWN` hops: `ignore_routes_with_linkdown=1`
//!   on [`Config::ignore_linkdown`] interfaces when the legacy style is in force.
//! - ACK overflow: no per-message ACK, `NETLINK_CAP_ACK`, a barrier per chunk,
//!   chunks below the send buffer (no `EMSGSIZE`), `SO_RCVBUFFORCE`.
//! - Monitor overflow (`ENOBUFS`): [`Event::Overflow`] → full re-dump and diff.
//! - Route events off the hot path by default (compat mode 1 floods them).
//! - Compact streaming dumps (no parsed `RouteMessage` per route).
//! - `NETLINK_EXT_ACK` and `NETLINK_GET_STRICT_CHK` (dumps filtered by the
//!   kernel by table and protocol).
//!
//! - Tables other than main: [`Config::table`] (ids above 255 in `RTA_TABLE`);
//!   dumps, reconcile, sweep and repair see only that table
//!   (`routes_in_table_above_255_stay_in_it`, `…_below_256_…`).
//!
//! - RFC 8950 next hops (IPv4 routes over IPv6 gateways): an IPv4 route of a
//!   group without IPv4 gateway or dev-only members uses its IPv6 gateways,
//!   as `RTA_VIA` on legacy routes and as IPv6 nexthop objects in the IPv4
//!   route's group (`v4_routes_over_v6_gateways_with_rta_via`,
//!   `…_with_nexthop_objects`). IPv6 routes over IPv4 gateways do not exist
//!   in Linux: [`BuildError::GatewayFamily`].
//!
//! **Not implemented:** MPLS/encap next hops; several tables per instance (one instance per
//! table, each with its own protocol); FDB nexthops; an async runtime wrapper; kernel
//! nexthop-object failover for IPv6 is O(routes) inside the kernel (about
//! 3 us a route measured here), not O(1) as for IPv4.
//!
//! # Performance (benches/src/bin/fib-compare.rs, loaded 2-vCPU VM)
//! 100k IPv4 + 100k IPv6 two-path routes: install 2.0 s vs `ip -batch` 14.4 s
//! and rtnetlink 0.24 11.3 s (ratio 7.1). Failover with compat mode 0: 0.5 ms
//! at 100k IPv4 and 0.17 ms at 1M IPv4 (one replace; mode 1: 160 ms / 1.8 s);
//! IPv6 routes on a group make the kernel walk them (291 ms at 100k).
//!
//! Restart reconcile (open, set the same desired state with
//! [`Fib::set_routes`], commit: nothing to change), 1M IPv4 routes,
//! `--reconcile-only --v6 0`, eight runs at load average 5-9: **1.08-1.47 s
//! CPU, peak RSS 75 MiB** with [`Config::expected_routes`] (143 MiB without:
//! the table grows by doubling). The work is single-threaded and never
//! waits but for the kernel's dump, done inside `recv` and counted as its
//! system time, so the CPU time is the wall time of an idle machine; under
//! this load the wall time was 1.14-3.16 s. The kernel's bare dump of the
//! same routes, decoded and not stored, took 0.72-0.94 s CPU in the same
//! runs: the dump phase adds 0.15-0.4 s to it, the desired state 0.15-0.24 s,
//! the diff 0.01-0.03 s. Before (same machine, load 8): 2.23 s CPU (dump
//! phase 1.69 s, desired state via `set_route` 0.53 s); the lead measured
//! 2.03 s on an idle machine. With 100k IPv6 routes added (the bench's
//! default): 1.65 s CPU.
//!
//! How: desired and installed state share one 32-byte entry per prefix; the
//! dump is framed and decoded in place into one reused value (nothing
//! allocated per route); dumped routes and `set_routes` batches go into the
//! table 64k at a time in the order of the slots they hash to, so a batch
//! walks the 66 MiB table in one direction instead of at random (with the
//! in-place decoding, the dump phase's overhead over the bare dump went from
//! 0.8 s to 0.2-0.4 s, the desired state from 0.53 s to 0.15-0.23 s); the diff is one
//! walk with no lookup. Known weak: a route set with `set_route` one at a
//! time still costs a random access (about 0.5 us at 1M on this VM); the
//! kernel's own dump work (about 0.7 s at 1M) is the floor. Receiving on a
//! second thread while decoding (overlapping the kernel's work with ours)
//! was tried and showed no gain measurable on this loaded machine, so the
//! crate still runs no thread of its own.
//!
//! `Display` texts of errors are not a stable interface.
#![deny(unsafe_code)]

pub mod decode;
pub mod error;
pub mod knobs;
pub mod message;
pub mod monitor;
pub mod programmer;
pub mod reader;
mod socket;
mod sys;
pub mod types;

/// The netlink-packet-core this crate encodes with (matching versions).
pub use netlink_packet_core as packet_core;
/// The netlink-packet-route this crate encodes routes with.
pub use netlink_packet_route as packet_route;

pub use error::{BuildError, DecodeError, Error, KernelError};
pub use monitor::{Event, Monitor, MonitorConfig};
pub use programmer::{Config, Failure, Fib, Op, OpError, Report, Status, Style};
pub use reader::{Dump, KernelReader};
pub use socket::SocketConfig;
pub use types::{Family, GroupId, Nexthop, NexthopGroup, Protocol, Resilient, Target, Weighted};
