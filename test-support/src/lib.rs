//! The dualtor lab harness (unpublished).
//!
//! Real-peer tests for every dualtor crate run here: network namespaces, veth pairs and
//! bridges with Drop guards; runners for BIRD 2, FRR and GoBGP inside a namespace;
//! faults (link down, silent loss with nftables, daemon kill/restart); observation
//! (kernel routes as data, a route-change watcher, probe flows, a pcap writer); and the
//! Calico dual-ToR guide's topology as one call.
//!
//! Everything is synchronous (`std::process`, `std::thread`) and usable from plain
//! `#[test]`s. A lab test starts with [`lab`], which skips (or, under
//! `DUALTOR_REQUIRE_LAB=1`, fails) when the machine lacks root or a daemon:
//!
//! ```no_run
//! use test_support::{Need, Netns, lab};
//! # fn main() -> Result<(), test_support::Error> {
//! let Some(_lab) = lab("doc_example", &[Need::Root, Need::Bird]) else { return Ok(()) };
//! let a = Netns::new("doc")?;
//! let b = Netns::new("doc")?;
//! test_support::veth(&a, "eth0", &b, "eth0")?;
//! a.addr_add_scoped("eth0", "10.99.0.1/24", "link")?;
//! b.addr_add("eth0", "10.99.0.2/24")?;
//! let bird = test_support::daemons::Bird::start_raw(&a, "router id 10.99.0.1;\nprotocol device {}\n")?;
//! assert!(bird.birdc("show status")?.contains("Daemon is up"));
//! # Ok(()) }
//! ```
//!
//! It does not: touch the root namespace, run anything outside the namespaces it made,
//! or keep anything after Drop (namespaces, processes, FRR run dirs, temp dirs).
#![forbid(unsafe_code)]

pub mod daemons;
mod error;
mod exec;
pub mod faults;
mod lab;
mod netns;

pub use error::{Error, Result};
pub use exec::which;
pub use lab::{LabGuard, Need, lab, missing};
pub use netns::{Netns, REGISTRY, Veth, sweep_stale, veth};
pub mod routes;
pub mod topology;
pub use topology::{NodeKind, Topology, TopologySpec, TorKind};
pub mod pcap;
pub mod probe;
pub mod watch;
