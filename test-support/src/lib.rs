//! The dualtor lab harness (unpublished): real routing daemons in network namespaces,
//! made cheap enough for every crate's tests.
//!
//! # What it gives a test
//! - **Gate** — [`lab`] checks [`Need`]s (root, BIRD, FRR, GoBGP, tshark, nft); it
//!   prints `SKIP <test>: <reason>` and returns `None` when something is missing, or
//!   panics under `DUALTOR_REQUIRE_LAB=1` (CI). When it runs it prints
//!   `LAB-RAN <test>`, appends the name to `$DUALTOR_LAB_LOG`, and serializes the lab
//!   tests of the binary.
//! - **Namespaces** — [`Netns`]: unique names, never the root namespace, removed on
//!   Drop with everything inside (also on panic, and by [`sweep_stale`] after a test
//!   process was killed). `sh`, `cmd`, `ip`, [`Netns::enter`] (run a closure on a
//!   thread inside it), addresses with scope, routes, sysctls, bridges;
//!   [`veth`] pairs with distinct interface indexes (lab.md pitfall 6).
//! - **Daemons** — [`daemons::Bird`], [`daemons::Frr`], [`daemons::Gobgp`]: raw config
//!   or typed [`daemons::config::Router`]/[`Neighbor`](daemons::config::Neighbor)
//!   rendered per dialect; start, wait until the control socket answers, stop by PID on
//!   Drop, `kill()`/`restart()`; state as data ([`daemons::birdc`],
//!   [`daemons::state`]).
//! - **Faults** — [`faults`]: link down/up guards, silent loss with an nftables
//!   `netdev` table (this kernel has no netem), daemon kill/restart.
//! - **Observation** — [`routes`] (kernel routes and nexthop objects as structs,
//!   printed in the guide's style), [`watch::RouteWatcher`] (timestamped route
//!   changes: "when did P become single-path / ECMP"), [`probe::Probe`] (UDP flow
//!   reporting every lost sequence number), [`pcap`] (classic pcap writer, BGP over
//!   IPv4/TCP framing).
//! - **The guide's topology** — [`Topology::build`]: racks × nodes × 2 planes,
//!   addressing `172.31.X.Y`, BIRD 2 or FRR ToRs, BIRD configured as calico-node or a
//!   command per node (see [`topology`] for the exact scheme).
//!
//! Everything is synchronous (`std::process`, `std::thread`) and usable from plain
//! `#[test]`s. Put a crate's lab tests in one integration test file.
//!
//! ```no_run
//! use std::time::Duration;
//! use test_support::{Need, Netns, Topology, TopologySpec, lab, veth};
//! # fn main() -> Result<(), test_support::Error> {
//! let Some(_lab) = lab("doc_example", &[Need::Root, Need::Bird]) else { return Ok(()) };
//! let a = Netns::new("doc")?;
//! let b = Netns::new("doc")?;
//! veth(&a, "eth0", &b, "eth0")?;
//! a.addr_add_scoped("eth0", "10.99.0.1/24", "link")?;
//! b.addr_add("eth0", "10.99.0.2/24")?;
//! let bird = test_support::daemons::Bird::start_raw(&a, "router id 10.99.0.1;\nprotocol device {}\n")?;
//! assert!(bird.birdc("show status")?.contains("Daemon is up"));
//!
//! let topo = Topology::build(TopologySpec::default())?; // the guide, BIRD everywhere
//! topo.wait_converged(Duration::from_secs(20))?;
//! for route in topo.node(1, 1).routes()? {
//!     println!("{route}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Tested with
//! BIRD 2.0.12, FRR 8.4.4, GoBGP 3.10.0, iproute2 and nftables from Debian, kernel
//! 6.18, as root. BIRD everywhere converges to full ECMP in about 1 s; FRR ToRs in
//! about 7 s.
//!
//! # What it does not do
//! Touch the root namespace, start a daemon outside a namespace it created, send
//! traffic anywhere but inside its namespaces, or keep anything after Drop
//! (namespaces, processes, FRR run directories, temp directories). It is not a
//! simulator: timings are real and tests should use generous bounds (detection time
//! plus 1 s); exact figures belong in benchmarks. IPv6 topologies are **not
//! implemented**.
#![forbid(unsafe_code)]

pub mod calico;
pub mod daemons;
mod error;
mod exec;
pub mod faults;
mod lab;
mod netns;
pub mod pcap;
pub mod probe;
pub mod routes;
pub mod topology;
pub mod watch;

pub use error::{Error, Result};
pub use exec::which;
pub use lab::{LabGuard, Need, lab, missing};
pub use netns::{Netns, REGISTRY, Veth, sweep_stale, veth};
pub use topology::{NodeKind, Topology, TopologySpec, TorKind};
