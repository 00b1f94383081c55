//! The dual-ToR node: Calico's resources turned into running BGP, BFD,
//! LLGR and FIB state.
//!
//! `dualtor` will be a thin facade that CNIs and routing daemons embed:
//! configuration (typed, or loaded from Calico YAML) → per-peer BGP sessions
//! ([`bgp_wire`]) and BFD sessions ([`bfd`]) → the route engine ([`llgr`]) →
//! the Linux FIB ([`fib`]), plus origination of the node's loopback and pod
//! blocks. It re-exports the crates it composes so that users get matching
//! versions.
//!
//! # Configuration
//!
//! [`config`] holds Calico's resources as typed values (`Node`, `BGPPeer`,
//! `IPPool`, `BGPConfiguration`, `BFDConfiguration`, `BlockAffinity`), the
//! selector language, validation, and [`config::plan()`], which resolves the
//! resource set into what one node runs: its sessions with what each
//! advertises (GR/LLGR times), BFD timers, next-hop handling, and the
//! prefixes it originates. [`config::diff`] compares two plans so that a
//! reload touches only the affected sessions. With the `serde` feature,
//! [`config::Config::from_yaml`] reads the guide's own multi-document YAML.
//!
//! The configuration layer performs no network I/O and never touches the
//! kernel: the node's interface addresses are passed in as data (they decide
//! which peers are directly connected), and
//! [`config::check_node_addresses`] turns them into warnings. Errors are
//! [`config::ConfigError`]: document, resource, field and a typed kind.
//!
//! Building the guide's rack-A configuration in code, as a CNI would:
//!
//! ```
//! use std::net::IpAddr;
//! use dualtor::config::{
//!     AddressScope, AsNumber, BlockAffinity, Config, Gateway, InterfaceAddress, IpPool,
//!     LlgrAdvert, NoSecrets, NodeConfig, PeerConfig, plan,
//! };
//!
//! let rack_as = AsNumber::new(65001).unwrap();
//! let mut config = Config::new();
//!
//! let mut node = NodeConfig::new("a1");
//! node.labels.insert("rack".into(), "ra".into());
//! node.as_number = Some(rack_as);
//! node.ipv4_address = Some("172.31.10.1/32".parse()?);
//! config.nodes.push(node);
//!
//! // sourceAddress None, BFDIfDirectlyConnected, LongLivedGracefulRestart,
//! // DirectIfDirectlyConnected: the guide's recommended BGPPeer.
//! for (name, tor) in [("ra1", "172.31.11.250"), ("ra2", "172.31.12.250")] {
//!     let mut peer = PeerConfig::dual_tor(name, tor.parse()?, rack_as);
//!     peer.node_selector = Some("rack == 'ra'".parse()?);
//!     config.peers.push(peer);
//! }
//!
//! // The loopback is advertised because it lies in a (disabled) IP pool.
//! let mut loopbacks = IpPool::new("loopbacks-rack-a", "172.31.10.0/24".parse()?);
//! loopbacks.disabled = true;
//! config.ip_pools.push(loopbacks);
//! config.ip_pools.push(IpPool::new("pods", "10.244.0.0/16".parse()?));
//! config
//!     .block_affinities
//!     .push(BlockAffinity::confirmed("a1-block", "a1", "10.244.192.128/26".parse()?));
//! config.validate()?;
//!
//! // The node's addresses, as the kernel reports them.
//! let addresses = [
//!     InterfaceAddress::new("lo", "172.31.10.1/32".parse()?, AddressScope::Universe),
//!     InterfaceAddress::new("eth0", "172.31.11.1/24".parse()?, AddressScope::Link),
//!     InterfaceAddress::new("eth1", "172.31.12.1/24".parse()?, AddressScope::Link),
//! ];
//! let plan = plan(&config, "a1", &addresses, &NoSecrets)?;
//!
//! let ra1 = &plan.peers[&"172.31.11.250".parse::<IpAddr>()?];
//! assert_eq!(ra1.interface.as_deref(), Some("eth0"));
//! assert_eq!(ra1.gateway, Gateway::Direct);
//! assert!(ra1.bfd.is_some());
//! // LongLivedGracefulRestart: GR time 0, LLGR stale time advertised.
//! assert_eq!(ra1.restart.restart_time, 0);
//! assert_eq!(ra1.restart.llgr, LlgrAdvert::StaleTime(3600));
//! assert_eq!(plan.originations.len(), 2); // loopback /32 and the pod block
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub use bfd;
pub use bgp_wire;
pub use fib;
pub use llgr;

pub mod config;
pub mod node;
