//! The running node: one task that owns the route engine and wires BGP
//! sessions, BFD sessions, the kernel and origination together.
//!
//! ```text
//!  NodeHandle ──commands──►┐
//!  BGP session tasks ──────┤   ┌──────────── node task ────────────┐
//!  (Transport, per peer)   ├──►│ llgr::Engine  (handle_* / poll_*)  │──► fib thread ──► kernel
//!  BFD tasks (bfd runtime) ┤   │ BFD Down / carrier loss → session  │──► session tasks (UPDATEs)
//!  fib monitor (links) ────┘   │ down at once, graceful (LLGR)      │──► Event stream, Status
//!                              └────────────────────────────────────┘
//! ```
//!
//! The task is a loop that forwards inputs to the engine and drains its
//! outputs (style rule 21); the composition decisions it makes are the
//! facade's policy, from `shared/spec/calico-semantics.md`:
//! - a BFD failure (RFC 5882 §4.3) or carrier loss on a plane takes the
//!   sessions over it down at once, as a *graceful* loss (LLGR stale at once
//!   with `restartMode: LongLivedGracefulRestart`), sending Cease/10 "BFD
//!   Down" (RFC 9384) best-effort;
//! - only originated prefixes are exported;
//! - on start with routes of a previous run in the kernel (our own
//!   graceful restart, RFC 4724 §4.1), the kernel keeps them forwarding and
//!   the engine's FIB output is deferred until End-of-RIB from every peer
//!   or [`Options::restart_deferral`], then the kernel is reconciled and
//!   the leftovers swept.
//!
//! # Backpressure
//! Every channel into the node task is bounded: [`NodeHandle`] calls wait
//! while 64 commands are queued; session events (64 per session, then 1,024
//! shared with BFD reports and kernel-route changes) make the session tasks
//! wait, so their transports stop reading the sockets and TCP pushes back
//! on the peers; the kernel programmer thread waits on 256 queued reports.
//! The node task itself never waits on a session: its commands to a
//! session ([`SessionLink::commands`]) carry only our own originations, so
//! they are bounded by the configuration and API changes made while that
//! session cannot send, and a session that cannot send for a hold time is
//! torn down. Its requests to the programmer thread (one batch per loop
//! turn) are bounded the same way.

mod bfd;
pub mod bgp;
mod core;
pub mod events;
mod fib;
mod kernel;
#[cfg(feature = "metrics")]
pub mod metrics;
mod origination;
pub mod status;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, NoSecrets, PlanDiff, SecretStore};

pub use self::bgp::{
    DownReason, SessionCommand, SessionEvent, SessionLink, SessionSetup, StopReason, Transport,
};
pub use self::events::Event;
pub use self::fib::Interfaces;
pub use self::status::{BfdState, FibStatus, PeerStatus, RestartState, SessionState, Status};
pub use self::wire::WireTransport;

/// How the node starts.
#[non_exhaustive]
pub struct Options {
    /// The node's name (`metadata.name` of its Node resource).
    pub node: String,
    /// The BGP session implementation.
    pub transport: Arc<dyn Transport>,
    /// The node's interfaces; `None` reads them from the kernel.
    pub interfaces: Option<Interfaces>,
    /// Kernel programming; `None` runs without touching the kernel (the
    /// engine's decisions are still visible in events and status).
    pub fib: Option<::fib::Config>,
    /// Run BFD (UDP 3784) for the peerings the plan asks it for.
    pub bfd: bool,
    /// Resolves BGPPeer `password` secret references.
    pub secrets: Arc<dyn SecretStore + Send + Sync>,
    /// Our own graceful restart: how long to wait for End-of-RIB from every
    /// peer before reconciling the kernel anyway (BIRD `graceful restart
    /// wait`, FRR `select-defer-time`).
    pub restart_deferral: Duration,
    /// First reconnection delay after a failure; the transport doubles it
    /// only for a peer that keeps failing.
    pub connect_retry: Duration,
    /// Cap of the reconnection delay.
    pub max_connect_retry: Duration,
    /// Capacity of the event stream (slow subscribers miss events beyond it).
    pub event_capacity: usize,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("node", &self.node)
            .field("transport", &self.transport)
            .field("interfaces", &self.interfaces)
            .field("fib", &self.fib)
            .field("bfd", &self.bfd)
            .field("restart_deferral", &self.restart_deferral)
            .field("connect_retry", &self.connect_retry)
            .field("max_connect_retry", &self.max_connect_retry)
            .field("event_capacity", &self.event_capacity)
            .finish_non_exhaustive()
    }
}

impl Options {
    /// Defaults for a dual-ToR node: kernel programming with the `fib`
    /// defaults (nexthop objects, protocol 214, L4 multipath hash), BFD on,
    /// interfaces from the kernel, no secrets, 30 s restart deferral, 1 s
    /// reconnection capped at 30 s.
    pub fn new(node: impl Into<String>, transport: Arc<dyn Transport>) -> Self {
        Options {
            node: node.into(),
            transport,
            interfaces: None,
            fib: Some(::fib::Config {
                multipath_hash_l4: true,
                ..::fib::Config::default()
            }),
            bfd: true,
            secrets: Arc::new(NoSecrets),
            restart_deferral: Duration::from_secs(30),
            connect_retry: Duration::from_secs(1),
            max_connect_retry: Duration::from_secs(30),
            event_capacity: 4096,
        }
    }
}

/// Why the node did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid (nothing was changed in the kernel).
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// The node's interfaces could not be read.
    #[error("reading interfaces: {0}")]
    Interfaces(#[source] std::io::Error),
    /// The node has no IPv4 address to use as BGP Identifier.
    #[error("no router ID: the Node has no ipv4Address")]
    NoRouterId,
    /// The kernel programmer could not start.
    #[error("fib: {0}")]
    Fib(#[source] ::fib::Error),
    /// The BFD runtime could not start.
    #[error("bfd: {0}")]
    Bfd(#[source] ::bfd::runtime::Error),
}

/// Why a request to a running node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The new configuration is invalid; nothing changed.
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// The new configuration leaves the node without a router ID (no
    /// `ipv4Address` and no IPv4 interface address).
    #[error("no router ID: the Node has no ipv4Address")]
    NoRouterId,
    /// The kernel programmer could not be re-opened after an identity
    /// change (the sessions are down; the kernel keeps our routes).
    #[error("fib: {0}")]
    Fib(#[source] ::fib::Error),
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> Self {
        StartError::Config(Box::new(e))
    }
}

impl From<ConfigError> for NodeError {
    fn from(e: ConfigError) -> Self {
        NodeError::Config(Box::new(e))
    }
}

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopMode {
    /// Graceful restart of our own routing: close the BGP connections
    /// without a NOTIFICATION (RFC 4724: the ToRs keep our routes), then
    /// BFD AdminDown for one detection time (RFC 5880 §6.8.16), and leave
    /// our routes in the kernel. BGP goes first because FRR 8.4 takes any
    /// BFD Down of an Established session, AdminDown included, as a hard
    /// reset and flushes our routes (measured: 1,186 packets lost); once the
    /// connection is closed it is already the GR helper and keeps them.
    Graceful,
    /// Cease/Administrative Shutdown to every peer (RFC 4486) and remove
    /// our routes from the kernel.
    Hard,
}

pub(crate) enum Command {
    AddBlock(IpNet, oneshot::Sender<Result<(), NodeError>>),
    RemoveBlock(IpNet, oneshot::Sender<Result<(), NodeError>>),
    AddPrefix(IpNet, oneshot::Sender<Result<(), NodeError>>),
    RemovePrefix(IpNet, oneshot::Sender<Result<(), NodeError>>),
    Reload(Box<Config>, oneshot::Sender<Result<PlanDiff, NodeError>>),
    Status(oneshot::Sender<Status>),
    Stop(StopMode, oneshot::Sender<()>),
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Command::AddBlock(..) => "AddBlock",
            Command::RemoveBlock(..) => "RemoveBlock",
            Command::AddPrefix(..) => "AddPrefix",
            Command::RemovePrefix(..) => "RemovePrefix",
            Command::Reload(..) => "Reload",
            Command::Status(..) => "Status",
            Command::Stop(..) => "Stop",
        })
    }
}

/// A running node. Dropping it stops the node gracefully (as
/// [`StopMode::Graceful`], without waiting).
#[derive(Debug)]
pub struct Node {
    handle: NodeHandle,
    task: Option<JoinHandle<()>>,
}

/// A cloneable handle on a running node.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    cmd: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
}

impl Node {
    /// Validates the configuration, computes this node's plan, opens the
    /// kernel programmer (finding our routes of a previous run, which keep
    /// forwarding), and starts the sessions. Must be called inside a tokio
    /// runtime; the node's tasks run on it. Nothing is changed in the
    /// kernel when the configuration is invalid.
    pub async fn start(config: Config, options: Options) -> Result<Node, StartError> {
        let (handle, task) = core::start(config, options).await?;
        Ok(Node {
            handle,
            task: Some(task),
        })
    }

    /// A handle for requests and events.
    pub fn handle(&self) -> NodeHandle {
        self.handle.clone()
    }

    /// Stops the node and waits until it has.
    pub async fn stop(mut self, mode: StopMode) {
        self.handle.stop(mode).await;
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Waits until the node's task ends (after a stop requested through a
    /// handle).
    pub async fn join(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.task.is_some() {
            let (tx, _rx) = oneshot::channel();
            let _ = self
                .handle
                .cmd
                .try_send(Command::Stop(StopMode::Graceful, tx));
        }
    }
}

impl NodeHandle {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Adds a pod block: installed locally as a blackhole and advertised
    /// (when an IPPool exports it), like a confirmed BlockAffinity.
    pub async fn add_block(&self, block: IpNet) -> Result<(), NodeError> {
        self.call(|tx| Command::AddBlock(block, tx)).await?
    }

    /// Removes a pod block added with [`NodeHandle::add_block`].
    pub async fn remove_block(&self, block: IpNet) -> Result<(), NodeError> {
        self.call(|tx| Command::RemoveBlock(block, tx)).await?
    }

    /// Advertises an extra prefix (not installed locally), with the
    /// communities BGPConfiguration `prefixAdvertisements` give its CIDR.
    pub async fn add_prefix(&self, prefix: IpNet) -> Result<(), NodeError> {
        self.call(|tx| Command::AddPrefix(prefix, tx)).await?
    }

    /// Withdraws a prefix added with [`NodeHandle::add_prefix`].
    pub async fn remove_prefix(&self, prefix: IpNet) -> Result<(), NodeError> {
        self.call(|tx| Command::RemovePrefix(prefix, tx)).await?
    }

    /// Applies a changed resource set: only the sessions whose settings
    /// changed are touched (those whose OPEN or engine settings changed are
    /// re-established; BFD timers change in place). A changed AS number or
    /// router ID re-establishes every session, as an in-process graceful
    /// restart (the kernel keeps forwarding, our OPENs carry R=1). Returns
    /// the diff applied.
    pub async fn reload(&self, config: Config) -> Result<PlanDiff, NodeError> {
        self.call(|tx| Command::Reload(Box::new(config), tx))
            .await?
    }

    /// A snapshot of the node's state.
    pub async fn status(&self) -> Result<Status, NodeError> {
        self.call(Command::Status).await
    }

    /// Subscribes to the event stream.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Stops the node; returns once the stop is done (or the node was
    /// already stopped).
    pub async fn stop(&self, mode: StopMode) {
        let _ = self.call(|tx| Command::Stop(mode, tx)).await;
    }
}
