//! The RFC 5881 single-hop runtime on tokio (feature `tokio`).
//!
//! One task drives every session of an [`Engine`]: it waits on the receive
//! sockets, on one timer reset to `Engine::poll_timeout()` and on a command
//! channel, forwards each to the matching `handle_*` call, and drains the
//! `poll_*` outputs (house style rule 21: no protocol decisions here).
//!
//! Each wake-up, whatever caused it, first reads every queued datagram
//! (`recvmmsg`, 64 per call, at most 4,096 per wake-up so that a flood
//! cannot starve transmission) and only then runs the timers. A task that
//! wakes late, because the machine is busy, therefore never expires a
//! session whose packets arrived in time and sit in the socket: the
//! simulation test `starved_scheduler_flaps_only_on_real_silence` shows the
//! other order does. What remains under CPU starvation is real: our own
//! packets leave late, and [`Stats::max_timer_lateness`] says by how much.
//! At 1,000 sessions x 50 ms one runtime needs about half a core; on a
//! host whose CPUs are oversubscribed give its thread a real-time priority
//! (`chrt -f`) or a reserved core, or the 150 ms Detection Time of its
//! peers will expire while it waits for a CPU.
//!
//! Transport (RFC 5881):
//! * receive on UDP 3784, one socket per family (8 MiB buffer), with
//!   `IP_RECVTTL` / `IPV6_RECVHOPLIMIT` and packet-info control messages,
//!   so the engine sees the TTL (and counts a wrong one as
//!   [`DropReason::BadTtl`] instead of the kernel hiding it, which
//!   `IP_MINTTL` would do) and the interface;
//! * send from one socket per session, bound to a source port in
//!   49152-65535 fixed for the session's life, with TTL / Hop Limit 255
//!   and `SO_BINDTODEVICE` to the session's interface (single hop); a
//!   link-local IPv6 peer or source gets the interface as scope id.
//!
//! Clients get a [`Handle`] per session with a stream of [`StateChange`]s.
//!
//! Many peers on one link each need a neighbour-table entry; the kernel's
//! table is shared by all namespaces and overflows at `gc_thresh3` (1024
//! by default). An overflowing table drops our packets silently (UDP counts
//! them in `UdpSndbufErrors`, not as a send error); the `bfd-cpu` bench
//! installs permanent neighbours for its 1,000 peers.
#![allow(clippy::disallowed_methods)] // the runtime owns the clock

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::ops::RangeInclusive;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, setsockopt, sockopt,
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
    Stats(oneshot::Sender<Stats>, bool),
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
    /// Change timers, idle interval and auth (Poll sequence while Up, RFC
    /// 5880 §6.8.3); the role is kept. An invalid `cfg` is ignored.
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
    ///
    /// The driver then shares that runtime's workers with the caller's
    /// tasks: a task that computes for longer than a Detection Time without
    /// yielding (a large routing table change, say) delays our packets and
    /// the peer declares the session down. Embedders that do heavy work on
    /// their runtime should use [`Runtime::spawn_thread`].
    pub fn spawn(opts: Options) -> Result<Self, Error> {
        let (rx4, rx6) = rx_sockets(&opts)?;
        let (rx4, rx6) = (register(rx4)?, register(rx6)?);
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        tokio::spawn(Driver::new(&opts).run(rx4, rx6, cmd_rx));
        Ok(Self { cmd })
    }

    /// Open the sockets in the calling thread's network namespace and run
    /// the driver on a thread of its own (`bfd-runtime`, a current-thread
    /// tokio runtime), as BIRD runs BFD in its own thread and FRR in its
    /// own daemon: BFD's timers then never wait behind the embedder's
    /// tasks, only for a CPU. Callable from inside or outside a tokio
    /// runtime; [`Handle`]s work from any runtime. The thread ends once the
    /// `Runtime` and every `Handle` are dropped.
    pub fn spawn_thread(opts: Options) -> Result<Self, Error> {
        let (rx4, rx6) = rx_sockets(&opts)?;
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(&opts);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        // A new thread starts in the namespace of the thread that creates
        // it, so sessions' send sockets open where the receive sockets did.
        std::thread::Builder::new()
            .name("bfd-runtime".into())
            .spawn(move || {
                rt.block_on(async move {
                    match (register(rx4), register(rx6)) {
                        (Ok(rx4), Ok(rx6)) => driver.run(rx4, rx6, cmd_rx).await,
                        (Err(e), _) | (_, Err(e)) => {
                            tracing::error!("bfd runtime: registering sockets: {e}");
                        }
                    }
                });
            })?;
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
        self.stats().await.map(|s| (s.drops, s.send_errors))
    }

    /// The runtime's counters since it started or since the last
    /// [`take_stats`](Self::take_stats).
    pub async fn stats(&self) -> Option<Stats> {
        self.stats_cmd(false).await
    }

    /// The runtime's counters, then zero them (except the engine's discard
    /// counters), to measure a window.
    pub async fn take_stats(&self) -> Option<Stats> {
        self.stats_cmd(true).await
    }

    async fn stats_cmd(&self, reset: bool) -> Option<Stats> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(Command::Stats(tx, reset)).ok()?;
        rx.await.ok()
    }
}

/// The receive sockets `opts` asks for, opened in the calling thread's
/// namespace.
fn rx_sockets(opts: &Options) -> io::Result<(Option<Socket>, Option<Socket>)> {
    let rx4 = if opts.ipv4 {
        Some(rx_socket(false)?)
    } else {
        None
    };
    let rx6 = if opts.ipv6 {
        Some(rx_socket(true)?)
    } else {
        None
    };
    Ok((rx4, rx6))
}

/// A receive socket registered with the current tokio runtime.
fn register(s: Option<Socket>) -> io::Result<Option<TokioUdp>> {
    s.map(|s| TokioUdp::from_std(s.into())).transpose()
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
    // Room for a burst of junk, or a starved wake-up, without losing the
    // peers' packets behind it. Capped by net.core.rmem_max; as root, try
    // SO_RCVBUFFORCE first so the cap does not apply.
    if setsockopt(&s, sockopt::RcvBufForce, &RCVBUF).is_err() {
        s.set_recv_buffer_size(RCVBUF)?;
    }
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
fn tx_socket(req: &SessionRequest, ifindex: Option<u32>) -> io::Result<UdpSocket> {
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
        let mut local = SocketAddr::new(ip, port);
        if let SocketAddr::V6(v6) = &mut local {
            v6.set_scope_id(scope_id(ip, ifindex));
        }
        match s.bind(&local.into()) {
            Ok(()) => {
                s.set_nonblocking(true)?;
                return Ok(s.into());
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Datagrams read per `recvmmsg` call.
const BATCH: usize = 64;
/// Datagrams read per wake-up before the timers get their turn, so that a
/// flood cannot starve transmission (the loop comes back at once: the
/// socket is still readable).
const MAX_PER_WAKE: usize = 4096;
/// Receive buffer: a starved wake-up of 200 ms at 1,000 sessions x 50 ms
/// queues about 4,600 datagrams (each costs ~768 bytes of skb truesize).
const RCVBUF: usize = 8 << 20;
/// Datagram buffer: a Control packet is at most 255 bytes (Length is one
/// octet), so a longer datagram is cut but still framed by its Length.
const DGRAM: usize = 256;

/// Runtime counters, for tools and benchmarks ([`Runtime::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Discards before demultiplexing; later discards are in each
    /// session's [`Snapshot`].
    pub drops: DropCounters,
    /// Packets the kernel refused to send. The kernel does not report a
    /// packet it drops later (e.g. no neighbour-table entry: see the
    /// `UdpSndbufErrors` counter of `/proc/net/snmp`).
    pub send_errors: u64,
    /// Packets handed to the kernel.
    pub sent: u64,
    /// Datagrams read.
    pub datagrams: u64,
    /// `recvmmsg` calls that returned data (up to 64 datagrams each).
    pub recv_calls: u64,
    /// Driver wake-ups.
    pub wakeups: u64,
    /// Worst delay between the engine's earliest deadline and the driver
    /// running it. Once it exceeds a Detection Time minus a transmit
    /// interval, a peer may see a gap of a Detection Time in our packets.
    pub max_timer_lateness: Duration,
    /// Timer runs more than [`LATE`] after their deadline.
    pub late_wakeups: u64,
    /// Longest time one wake-up spent (reading, timers, sending), as wall
    /// time: it includes any time the thread waited for a CPU meanwhile.
    pub max_busy: Duration,
    /// Wake-ups that spent more than [`LATE`].
    pub slow_wakeups: u64,
}

/// A timer wake-up later than this counts in [`Stats::late_wakeups`].
pub const LATE: Duration = Duration::from_millis(20);

struct Driver {
    engine: Engine,
    tx: HashMap<SessionId, UdpSocket>,
    clients: HashMap<SessionId, mpsc::UnboundedSender<StateChange>>,
    stats: Stats,
}

async fn readable(s: &Option<TokioUdp>) -> io::Result<()> {
    match s {
        Some(s) => s.readable().await,
        None => std::future::pending().await,
    }
}

thread_local! {
    /// `recvmmsg` headers with room for the TTL and packet-info control
    /// messages, allocated once per thread (they hold raw pointers, so they
    /// cannot live in the `Send` driver).
    static HEADERS: RefCell<MultiHeaders<SockaddrStorage>> = RefCell::new(MultiHeaders::preallocate(
        BATCH,
        Some(nix::cmsg_space!(nix::libc::in6_pktinfo, i32, nix::libc::in6_pktinfo, i32)),
    ));
}

impl Driver {
    fn new(opts: &Options) -> Driver {
        Driver {
            engine: Engine::new(opts.seed.unwrap_or_else(|| rand::rng().random())),
            tx: HashMap::new(),
            clients: HashMap::new(),
            stats: Stats::default(),
        }
    }

    async fn run(
        mut self,
        rx4: Option<TokioUdp>,
        rx6: Option<TokioUdp>,
        mut cmd: mpsc::UnboundedReceiver<Command>,
    ) {
        let mut out = [0u8; packet::MAX_LEN];
        let far = || tokio::time::Instant::now() + Duration::from_secs(3600);
        let sleep = tokio::time::sleep_until(far());
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                c = cmd.recv() => match c {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                _ = readable(&rx4) => {},
                _ = readable(&rx6) => {},
                () = &mut sleep => {}
            }
            let woke = Instant::now();
            self.stats.wakeups += 1;
            // Whatever woke us, read every queued datagram BEFORE running
            // the timers: after a late wake-up (CPU starvation) a packet
            // that arrived within the Detection Time is still queued, and
            // running the timers first would declare a false failure.
            for s in [&rx4, &rx6].into_iter().flatten() {
                self.drain(s, &mut out);
            }
            let now = Instant::now();
            if let Some(due) = self.engine.poll_timeout().filter(|d| *d <= now) {
                let late = now - due;
                self.stats.max_timer_lateness = self.stats.max_timer_lateness.max(late);
                self.stats.late_wakeups += u64::from(late > LATE);
            }
            self.engine.handle_timeout(now);
            self.flush(now, &mut out);
            let busy = woke.elapsed();
            self.stats.max_busy = self.stats.max_busy.max(busy);
            self.stats.slow_wakeups += u64::from(busy > LATE);
            let next = self
                .engine
                .poll_timeout()
                .map_or_else(far, tokio::time::Instant::from_std);
            if next != sleep.deadline() {
                sleep.as_mut().reset(next);
            }
        }
    }

    /// Read the queued datagrams with `recvmmsg`, [`BATCH`] per system
    /// call and at most [`MAX_PER_WAKE`] per wake-up.
    fn drain(&mut self, s: &TokioUdp, out: &mut [u8]) {
        let mut read = 0;
        while read < MAX_PER_WAKE {
            let mut bufs = [[0u8; DGRAM]; BATCH];
            let mut n = 0;
            // try_io clears the readiness when the closure says WouldBlock
            // (and skips the call when the socket is known not ready). A
            // short batch means the queue was empty, so it says WouldBlock
            // then too: the next `readable()` waits for new datagrams
            // instead of waking once more for an empty read. (A datagram
            // arriving meanwhile raises a new readiness event.)
            let r = s.try_io(Interest::READABLE, || {
                n = HEADERS.with_borrow_mut(|h| self.recv_batch(s.as_raw_fd(), h, &mut bufs))?;
                if n < BATCH {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(())
            });
            read += n;
            if n > 0 {
                self.flush(Instant::now(), out);
            }
            // Drained, or an error: retry on the next wake-up.
            if r.is_err() {
                return;
            }
        }
    }

    fn recv_batch(
        &mut self,
        fd: RawFd,
        headers: &mut MultiHeaders<SockaddrStorage>,
        bufs: &mut [[u8; DGRAM]; BATCH],
    ) -> io::Result<usize> {
        let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] = {
            let mut it = bufs.iter_mut();
            std::array::from_fn(|_| {
                [IoSliceMut::new(
                    it.next().map_or(&mut [][..], |b| &mut b[..]),
                )]
            })
        };
        let msgs = recvmmsg(fd, headers, iovs.iter_mut(), MsgFlags::MSG_DONTWAIT, None)
            .map_err(io::Error::from)?;
        let now = Instant::now();
        let mut n = 0;
        for m in msgs {
            n += 1;
            let Some(data) = m.iovs().next() else {
                continue;
            };
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
                        ControlMessageOwned::Ipv6PacketInfo(pi) => ifindex = Some(pi.ipi6_ifindex),
                        _ => {}
                    }
                }
            }
            let src = m.address.and_then(|a: SockaddrStorage| {
                a.as_sockaddr_in()
                    .map(|a| IpAddr::V4(a.ip()))
                    .or_else(|| a.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())))
            });
            let Some(source) = src else { continue };
            let source = match source {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
                v4 => v4,
            };
            let meta = RxMeta {
                source,
                ifindex,
                ttl,
            };
            if let Err(reason) = self.engine.handle_packet(now, data, meta) {
                tracing::trace!(%source, ?reason, "bfd: packet discarded");
            }
        }
        if n > 0 {
            self.stats.recv_calls += 1;
            self.stats.datagrams += n as u64;
        }
        Ok(n)
    }

    fn flush(&mut self, now: Instant, out: &mut [u8]) {
        while let Some(t) = self.engine.poll_transmit(now, out) {
            let dst = destination(t.path.peer, t.path.ifindex);
            match self.tx.get(&t.session) {
                Some(s) if s.send_to(&out[..t.len], dst).is_ok() => self.stats.sent += 1,
                _ => self.stats.send_errors += 1,
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
            Command::Stats(reply, reset) => {
                let _ = reply.send(Stats {
                    drops: *self.engine.drops(),
                    ..self.stats
                });
                if reset {
                    self.stats = Stats::default();
                }
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
        let sock = tx_socket(&req, ifindex)?;
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

/// A link-local IPv6 address needs its interface as scope id (RFC 4007).
fn scope_id(ip: IpAddr, ifindex: Option<u32>) -> u32 {
    match ip {
        IpAddr::V6(v6) if v6.is_unicast_link_local() => ifindex.unwrap_or(0),
        _ => 0,
    }
}

/// UDP 3784 at the peer, with the scope id for a link-local IPv6 peer.
fn destination(peer: IpAddr, ifindex: Option<u32>) -> SocketAddr {
    match peer {
        IpAddr::V6(v6) => SocketAddrV6::new(v6, CONTROL_PORT, 0, scope_id(peer, ifindex)).into(),
        v4 => SocketAddr::new(v4, CONTROL_PORT),
    }
}

/// Every reason the runtime can count, for tools that print counters.
pub fn drop_reasons() -> &'static [DropReason] {
    DropReason::ALL
}
