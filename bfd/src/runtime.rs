//! The RFC 5881 single-hop runtime on tokio (feature `tokio`).
//!
//! One task drives every session of an [`Engine`]: it waits on the receive
//! sockets, on one timer reset to `Engine::poll_timeout()` and on a command
//! channel, forwards each to the matching `handle_*` call, and drains the
//! `poll_*` outputs (house style rule 21: no protocol decisions here).
//!
//! Transport (RFC 5881):
//! * receive on UDP 3784, one socket per family, with `IP_RECVTTL` /
//!   `IPV6_RECVHOPLIMIT` and packet-info control messages, so the engine
//!   sees the TTL (and counts a wrong one as [`DropReason::BadTtl`] instead
//!   of the kernel hiding it, which `IP_MINTTL` would do) and the interface;
//! * send from one socket per session, bound to a source port in
//!   49152-65535 fixed for the session's life, with TTL / Hop Limit 255
//!   and `SO_BINDTODEVICE` to the session's interface (single hop).
//!
//! Clients get a [`Handle`] per session with a stream of [`StateChange`]s.
#![allow(clippy::disallowed_methods)] // the runtime owns the clock

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use rand::Rng as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket as TokioUdp;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{self, Engine, Path, Request, RxMeta, SessionId};
use crate::session::{Config, DropCounters, Event, Snapshot, StateChange};
use crate::{DropReason, packet};

/// Destination port of single-hop Control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// Source ports (RFC 5881 §4: "MUST be in the range 49152 through 65535").
pub const SOURCE_PORTS: RangeInclusive<u16> = 49152..=65535;
/// TTL / Hop Limit of every packet we send (RFC 5881 §5).
pub const TTL: u8 = 255;

/// A runtime error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Socket setup failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// The engine refused the request.
    #[error(transparent)]
    Engine(#[from] engine::Error),
    /// The interface name is unknown.
    #[error("no interface {0:?}")]
    NoSuchInterface(String),
    /// The runtime task has stopped.
    #[error("runtime stopped")]
    Stopped,
}

/// Runtime options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Listen on IPv4 (`0.0.0.0:3784`).
    pub ipv4: bool,
    /// Listen on IPv6 (`[::]:3784`).
    pub ipv6: bool,
    /// Seed of the engine's randomness; `None` takes one from the OS.
    pub seed: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ipv4: true,
            ipv6: true,
            seed: None,
        }
    }
}

/// A session request for the runtime: the engine's [`Request`] plus the
/// interface name for `SO_BINDTODEVICE` (its index fills `path.ifindex`).
#[derive(Debug, Clone)]
pub struct SessionRequest {
    /// Peer address.
    pub peer: IpAddr,
    /// Source address, if pinned.
    pub local: Option<IpAddr>,
    /// Interface for single hop.
    pub interface: Option<String>,
    /// Timers, role, authentication.
    pub config: Config,
}

enum Command {
    Request(
        SessionRequest,
        oneshot::Sender<Result<(SessionId, mpsc::UnboundedReceiver<StateChange>), Error>>,
    ),
    Release(SessionId),
    AdminDown(SessionId),
    AdminUp(SessionId),
    SetTimers(SessionId, Config),
    PathDown(u32),
    Snapshot(SessionId, oneshot::Sender<Option<Snapshot>>),
    Drops(oneshot::Sender<(DropCounters, u64)>),
}

/// The runtime: a handle to the driver task. Dropping it stops the task
/// once every [`Handle`] is gone too.
#[derive(Debug, Clone)]
pub struct Runtime {
    cmd: mpsc::UnboundedSender<Command>,
}

impl core::fmt::Debug for Command {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Command")
    }
}

/// A client's session (RFC 5882): commands plus its state-change stream.
/// Dropping it releases the session (AdminDown for one Detection Time).
#[derive(Debug)]
pub struct Handle {
    id: SessionId,
    cmd: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<StateChange>,
}

impl Handle {
    /// The session's discriminator.
    pub fn id(&self) -> SessionId {
        self.id
    }
    /// The next state change (`None` once the runtime stopped).
    pub async fn next_change(&mut self) -> Option<StateChange> {
        self.events.recv().await
    }
    /// A state change if one is queued.
    pub fn try_next_change(&mut self) -> Option<StateChange> {
        self.events.try_recv().ok()
    }
    /// AdminDown (RFC 5880 §6.8.16).
    pub fn admin_down(&self) {
        let _ = self.cmd.send(Command::AdminDown(self.id));
    }
    /// Leave AdminDown.
    pub fn admin_up(&self) {
        let _ = self.cmd.send(Command::AdminUp(self.id));
    }
    /// Change timers / auth (Poll sequence while Up, RFC 5880 §6.8.3).
    pub fn set_config(&self, cfg: Config) {
        let _ = self.cmd.send(Command::SetTimers(self.id, cfg));
    }
    /// Variables and counters.
    pub async fn snapshot(&self) -> Option<Snapshot> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(Command::Snapshot(self.id, tx)).ok()?;
        rx.await.ok().flatten()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.cmd.send(Command::Release(self.id));
    }
}

impl Runtime {
    /// Open the sockets and spawn the driver on the current tokio runtime.
    pub fn spawn(opts: Options) -> Result<Self, Error> {
        let open = |v6| -> io::Result<TokioUdp> { TokioUdp::from_std(rx_socket(v6)?.into()) };
        let rx4 = if opts.ipv4 { Some(open(false)?) } else { None };
        let rx6 = if opts.ipv6 { Some(open(true)?) } else { None };
        let seed = opts.seed.unwrap_or_else(|| rand::rng().random());
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            engine: Engine::new(seed),
            tx: HashMap::new(),
            clients: HashMap::new(),
            send_errors: 0,
        };
        tokio::spawn(driver.run(rx4, rx6, cmd_rx));
        Ok(Self { cmd })
    }

    /// Request a session (RFC 5882 §2).
    pub async fn request(&self, req: SessionRequest) -> Result<Handle, Error> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(Command::Request(req, tx))
            .map_err(|_| Error::Stopped)?;
        let (id, events) = rx.await.map_err(|_| Error::Stopped)??;
        Ok(Handle {
            id,
            cmd: self.cmd.clone(),
            events,
        })
    }

    /// The link `ifindex` lost carrier: its sessions go Down now (diag Path
    /// Down, see [`crate::session::Session::path_down`]).
    pub fn path_down(&self, ifindex: u32) {
        let _ = self.cmd.send(Command::PathDown(ifindex));
    }

    /// Discards before demultiplexing, and packets the kernel refused.
    pub async fn drops(&self) -> Option<(DropCounters, u64)> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(Command::Drops(tx)).ok()?;
        rx.await.ok()
    }
}

fn rx_socket(v6: bool) -> io::Result<Socket> {
    let (domain, addr) = if v6 {
        (
            Domain::IPV6,
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, CONTROL_PORT)),
        )
    } else {
        (
            Domain::IPV4,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, CONTROL_PORT)),
        )
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    // Room for a burst of junk without losing the peers' packets behind it.
    s.set_recv_buffer_size(4 << 20)?;
    if v6 {
        s.set_only_v6(true)?;
        setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
        setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
    } else {
        setsockopt(&s, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)?;
        setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

/// A session's send socket: source port from 49152-65535, TTL 255, bound
/// to the interface (RFC 5881 §4-§5).
fn tx_socket(req: &SessionRequest) -> io::Result<UdpSocket> {
    let v6 = req.peer.is_ipv6();
    let s = Socket::new(
        if v6 { Domain::IPV6 } else { Domain::IPV4 },
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if v6 {
        s.set_unicast_hops_v6(u32::from(TTL))?;
    } else {
        s.set_ttl_v4(u32::from(TTL))?;
    }
    if let Some(ifname) = &req.interface {
        s.bind_device(Some(ifname.as_bytes()))?;
    }
    let ip = req.local.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    let mut rng = rand::rng();
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for _ in 0..64 {
        let port = rng.random_range(SOURCE_PORTS);
        match s.bind(&SocketAddr::new(ip, port).into()) {
            Ok(()) => {
                s.set_nonblocking(true)?;
                return Ok(s.into());
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Datagrams read per wake-up before timers get their turn.
const BATCH: usize = 256;

struct Driver {
    engine: Engine,
    tx: HashMap<SessionId, UdpSocket>,
    clients: HashMap<SessionId, mpsc::UnboundedSender<StateChange>>,
    send_errors: u64,
}

async fn readable(s: &Option<TokioUdp>) -> io::Result<&TokioUdp> {
    match s {
        Some(s) => s.readable().await.map(|()| s),
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(
        mut self,
        rx4: Option<TokioUdp>,
        rx6: Option<TokioUdp>,
        mut cmd: mpsc::UnboundedReceiver<Command>,
    ) {
        let mut buf = [0u8; 512];
        let mut out = [0u8; 512];
        let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo, i32, nix::libc::in6_pktinfo, i32);
        let far = || tokio::time::Instant::now() + Duration::from_secs(3600);
        let sleep = tokio::time::sleep_until(far());
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                c = cmd.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                s = readable(&rx4) => if let Ok(s) = s {
                    self.drain(s, &mut buf, &mut cmsg);
                },
                s = readable(&rx6) => if let Ok(s) = s {
                    self.drain(s, &mut buf, &mut cmsg);
                },
                () = &mut sleep => {}
            }
            let now = Instant::now();
            self.engine.handle_timeout(now);
            self.flush(now, &mut out);
            let next = self
                .engine
                .poll_timeout()
                .map_or_else(far, tokio::time::Instant::from_std);
            if next != sleep.deadline() {
                sleep.as_mut().reset(next);
            }
        }
    }

    /// Read the queued datagrams (one wake-up, many packets), at most
    /// [`BATCH`] so that a flood cannot starve the timers: the loop then
    /// runs `handle_timeout` and comes back (readiness is still set).
    #[allow(
        clippy::ptr_arg,
        reason = "nix::recvmsg takes the cmsg buffer as &mut Vec"
    )]
    fn drain(&mut self, s: &TokioUdp, buf: &mut [u8], cmsg: &mut Vec<u8>) {
        for _ in 0..BATCH {
            // try_io clears the readiness on WouldBlock, so the next
            // `readable()` waits for new datagrams.
            let r = s.try_io(Interest::READABLE, || {
                let mut iov = [IoSliceMut::new(buf)];
                let m = recvmsg::<SockaddrStorage>(
                    s.as_raw_fd(),
                    &mut iov,
                    Some(cmsg),
                    MsgFlags::MSG_DONTWAIT,
                )
                .map_err(io::Error::from)?;
                let mut ttl = None;
                let mut ifindex = None;
                if let Ok(cmsgs) = m.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).ok(),
                            ControlMessageOwned::Ipv6HopLimit(t) => ttl = u8::try_from(t).ok(),
                            ControlMessageOwned::Ipv4PacketInfo(pi) => {
                                ifindex = u32::try_from(pi.ipi_ifindex).ok()
                            }
                            ControlMessageOwned::Ipv6PacketInfo(pi) => {
                                ifindex = Some(pi.ipi6_ifindex)
                            }
                            _ => {}
                        }
                    }
                }
                let src = m.address.and_then(|a: SockaddrStorage| {
                    a.as_sockaddr_in()
                        .map(|a| IpAddr::V4(a.ip()))
                        .or_else(|| a.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())))
                });
                Ok((m.bytes, src, ttl, ifindex))
            });
            // WouldBlock: drained. Other errors: retry on the next wake-up.
            let Ok((len, src, ttl, ifindex)) = r else {
                return;
            };
            let Some(source) = src else { continue };
            let source = match source {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            let now = Instant::now();
            let meta = RxMeta {
                source,
                ifindex,
                ttl,
            };
            let r = self.engine.handle_packet(now, &buf[..len], meta);
            if let Err(reason) = r {
                tracing::trace!(%source, ?reason, "bfd: packet discarded");
            }
            let mut out = [0u8; packet::MAX_LEN];
            self.flush(now, &mut out);
        }
    }

    fn flush(&mut self, now: Instant, out: &mut [u8]) {
        while let Some(t) = self.engine.poll_transmit(now, out) {
            let dst = SocketAddr::new(t.path.peer, CONTROL_PORT);
            match self.tx.get(&t.session) {
                Some(s) if s.send_to(&out[..t.len], dst).is_ok() => {}
                _ => self.send_errors += 1,
            }
        }
        while let Some((id, ev)) = self.engine.poll_event() {
            if let Event::StateChange(c) = ev {
                tracing::debug!(session = id.0, from = %c.from, to = %c.to, diag = %c.diag, "bfd: state change");
                if let Some(tx) = self.clients.get(&id) {
                    let _ = tx.send(c);
                }
            }
        }
        // Sessions released and gone from the engine: close their sockets.
        if self.tx.len() > self.engine.len() {
            let engine = &self.engine;
            self.tx.retain(|id, _| engine.snapshot(*id).is_some());
        }
    }

    fn on_command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Request(req, reply) => {
                let _ = reply.send(self.request(now, req));
            }
            Command::Release(id) => {
                self.clients.remove(&id);
                let _ = self.engine.remove_session(now, id);
            }
            Command::AdminDown(id) => {
                let _ = self.engine.admin_down(now, id);
            }
            Command::AdminUp(id) => {
                let _ = self.engine.admin_up(now, id);
            }
            Command::SetTimers(id, cfg) => {
                let _ = self.engine.set_timers(now, id, &cfg);
            }
            Command::PathDown(ifindex) => {
                self.engine.path_down(now, ifindex);
            }
            Command::Snapshot(id, reply) => {
                let _ = reply.send(self.engine.snapshot(id));
            }
            Command::Drops(reply) => {
                let _ = reply.send((*self.engine.drops(), self.send_errors));
            }
        }
        let mut out = [0u8; packet::MAX_LEN];
        self.flush(now, &mut out);
    }

    fn request(
        &mut self,
        now: Instant,
        req: SessionRequest,
    ) -> Result<(SessionId, mpsc::UnboundedReceiver<StateChange>), Error> {
        let ifindex = match &req.interface {
            Some(name) => Some(
                nix::net::if_::if_nametoindex(name.as_str())
                    .map_err(|_| Error::NoSuchInterface(name.clone()))?,
            ),
            None => None,
        };
        let sock = tx_socket(&req)?;
        let path = Path {
            peer: req.peer,
            local: req.local,
            ifindex,
        };
        let id = self.engine.add_session(
            now,
            Request {
                path,
                config: req.config,
            },
        )?;
        self.tx.insert(id, sock);
        let (tx, rx) = mpsc::unbounded_channel();
        self.clients.insert(id, tx);
        Ok((id, rx))
    }
}

/// Every reason the runtime can count, for tools that print counters.
pub fn drop_reasons() -> &'static [DropReason] {
    DropReason::ALL
}
