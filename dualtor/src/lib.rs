//! The dual-ToR node: Calico's resources turned into running BGP, BFD,
//! LLGR and FIB state.
//!
//! `dualtor` is a thin facade that CNIs and routing daemons embed:
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
//! `config::Config::from_yaml` reads the guide's own multi-document YAML.
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
//!
//! # Running a node
//!
//! [`node::Node`] runs the plan: one task owns the route engine and wires the
//! BGP sessions (one [`node::Transport`] task per peer; [`node::WireTransport`]
//! runs them on `bgp_wire::transport`), the BFD sessions (`bfd::runtime`), the
//! kernel programmer (`fib`, on its own thread, with the link monitor) and
//! origination. BFD Down or carrier loss takes a plane's sessions down at
//! once as a graceful loss (LLGR stale at once in `LongLivedGracefulRestart`
//! mode); only originated prefixes are exported; routes to other nodes are
//! ECMP over both planes through shared kernel nexthop groups, with the
//! loopback as preferred source; our own restart keeps the previous run's
//! routes forwarding until End-of-RIB from every peer. A typed
//! [`node::Event`] stream, a [`node::Status`] snapshot, `tracing` spans and
//! (feature `metrics`) Prometheus text report what happens. The
//! `dualtor-node` daemon (`examples/`) is this API plus a YAML file.
//!
//! Embedding it in a CNI: build the configuration in code, start, add a pod
//! block, watch events, stop gracefully.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dualtor::config::{AsNumber, Config, IpPool, NodeConfig, PeerConfig};
//! use dualtor::node::{Event, Node, Options, StopMode, WireTransport};
//!
//! # async fn cni() -> Result<(), Box<dyn std::error::Error>> {
//! let rack_as = AsNumber::new(65001).unwrap();
//! let mut config = Config::new();
//! let mut me = NodeConfig::new("a1");
//! me.as_number = Some(rack_as);
//! me.ipv4_address = Some("172.31.10.1/32".parse()?);
//! config.nodes.push(me);
//! for (name, tor) in [("ra1", "172.31.11.250"), ("ra2", "172.31.12.250")] {
//!     config.peers.push(PeerConfig::dual_tor(name, tor.parse()?, rack_as));
//! }
//! let mut loopbacks = IpPool::new("loopbacks-rack-a", "172.31.10.0/24".parse()?);
//! loopbacks.disabled = true;
//! config.ip_pools.push(loopbacks);
//! config.ip_pools.push(IpPool::new("pods", "10.244.0.0/16".parse()?));
//!
//! // Reads the interfaces, opens the kernel programmer (previous routes keep
//! // forwarding), starts BGP and BFD to both ToRs.
//! let transport = Arc::new(WireTransport::new());
//! let node = Node::start(config, Options::new("a1", transport)).await?;
//! let handle = node.handle();
//! let mut events = handle.events();
//!
//! // IPAM gave this node a block: blackholed locally, advertised to both ToRs.
//! handle.add_block("10.244.17.0/26".parse()?).await?;
//!
//! tokio::spawn(async move {
//!     while let Ok(event) = events.recv().await {
//!         if let Event::SessionDown { name, reason, .. } = &event {
//!             eprintln!("{name} down: {reason}");
//!         }
//!     }
//! });
//! for peer in handle.status().await?.peers {
//!     println!("{} {:?} {} prefixes", peer.name, peer.state, peer.prefixes_accepted);
//! }
//!
//! // BGP closed without NOTIFICATION, BFD AdminDown, routes left in the
//! // kernel: the ToRs keep ours (GR/LLGR) while the CNI restarts.
//! node.stop(StopMode::Graceful).await;
//! # Ok(())
//! # }
//! ```
//!
//! # Building your own routing daemon
//!
//! [`rib`] holds the node's conversions between the route engine and its
//! neighbours, public so that a daemon running its own [`llgr::Engine`]
//! (the `dualtor-tor` example, a route reflector) does not rewrite them:
//! UPDATE import and export (with an outbound policy hook), the engine's
//! session parameters from a negotiation, and the FIB translation.
//!
//! # What it does not do
//!
//! No transit between planes, no node-to-node mesh, no route reflection;
//! passive BGP only when the embedder gives [`node::WireTransport`] a
//! listener (the daemon connects actively; the ToRs accept); interfaces
//! and addresses are read at start (a reload re-plans with them); service
//! CIDRs are advertised but not installed as blackholes. Recursive gateway
//! mode resolves over connected subnets, `reachableBy` routes and the alien
//! routes of the kernel's main table, read every 2 s as calico-node's BIRD
//! does (`learn; scan time 2`), not from route events.
//!
//! # Compliance
//!
//! - RFC 4724 §4.1 restarting speaker: R=1 in our OPENs after a restart
//!   with our routes still in the kernel (cleared once the restart is over),
//!   F=1 for every family, kernel routes kept, FIB update deferred until
//!   End-of-RIB from every peer (or a deferral timer), then reconciled and
//!   swept; a graceful stop closes BGP before BFD AdminDown (FRR 8.4 ToRs
//!   take any BFD Down of an Established session as a hard reset); §4.2
//!   receiving side in `llgr`.
//! - RFC 9494: LLGR capability with F=1 and our stale time in
//!   `LongLivedGracefulRestart` mode (GR time 0), LLGR phase at once on a
//!   graceful loss.
//! - RFC 5882 §3-§4: BFD Down (not AdminDown) takes the session down;
//!   RFC 9384 Cease/10 sent best-effort; RFC 5880 §6.8.16 AdminDown on a
//!   graceful stop; §6.8.17 local path down on carrier loss.
//! - RFC 4486 Cease subcodes on hard stop, de-configuration and OPEN-level
//!   configuration changes.
//!
//! **Not implemented:** **BFD multihop (RFC 5883); the calico-node
//! `bird.ctl` compatibility socket.**
#![forbid(unsafe_code)]

pub use bfd;
pub use bgp_wire;
pub use fib;
pub use llgr;

pub mod config;
pub mod node;
pub mod rib;
