//! tokio transport (feature `tokio`): TCP connections, framing and timers around a
//! [`Session`], as a loop that forwards calls and makes no protocol decision
//! (style rule 21).
//!
//! ```text
//!  PeerHandle ──commands──► Peer task ──► Session (sans-IO)
//!   (start/stop/send)         │  ▲            │
//!                             │  └─ frames ◄──┤ FramedRead<BgpCodec> (length checked
//!                             │     timers    │  before buffering, RFC 4271 §4.1)
//!  events ◄── Action ─────────┘               └─► writer task: UPDATEs coalesced into
//!  (SessionUp, Update, ...)                        one write; bounded in-flight bytes
//! ```
//!
//! Backpressure: the peer task takes new UPDATEs from its handle only while fewer than
//! [`PeerConfig::max_queued_bytes`] are waiting for the socket, and while the event
//! channel is full it stops reading the socket, which lets TCP push back on the peer;
//! timers and commands keep running meanwhile, so KEEPALIVEs still go out and a slow
//! consumer does not make the peer's hold timer expire; our own HoldTimer is held
//! back while reading is paused ([`Session::handle_receive_paused`]).
//!
//! Collisions (RFC 4271 §6.8): a connection that arrives while the session is past
//! Active runs a second `Session`; [`resolve_collision`] closes the loser.

mod listener;
mod socket;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;

pub use listener::{BGP_PORT, Listener};
pub use socket::SocketOptions;

use crate::ctx::Family;
use crate::error::DecodeError;
use crate::framing::{BgpCodec, FramingError};
use crate::notification::Notification;
use crate::route_refresh::Subtype;
use crate::session::{
    Action, Direction, Loser, Session, SessionConfig, StartKind, State, StopKind, resolve_collision,
};
use crate::update::Update;

/// Configuration of one peer's transport.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PeerConfig {
    /// The session.
    pub session: SessionConfig,
    /// The peer's address and port (179).
    pub remote: SocketAddr,
    /// Socket options.
    pub socket: SocketOptions,
    /// Give up a connection attempt after this long.
    pub connect_timeout: Duration,
    /// Most octets of encoded messages waiting for the socket before the handle's
    /// `send_updates` waits (backpressure).
    pub max_queued_bytes: usize,
    /// Capacity of the event channel.
    pub event_capacity: usize,
    /// Start as a restarting speaker (RFC 4724 §4.1): we restarted with forwarding
    /// state preserved, so our OPENs carry R=1 (and the F bit of every family listed
    /// in [`GracefulRestartConfig::forwarding`](crate::session::GracefulRestartConfig)
    /// and every LLGR family with `forwarding`) until the session reaches Established
    /// or [`PeerHandle::set_restarting`] clears it. Needs
    /// [`SessionConfig::graceful_restart`]; without a GR capability there is no R bit.
    pub restarting: bool,
}

impl PeerConfig {
    /// A peer at `remote` with default socket options, a 5 s connect timeout and 4 MiB
    /// of queued output.
    pub fn new(session: SessionConfig, remote: SocketAddr) -> Self {
        PeerConfig {
            session,
            remote,
            socket: SocketOptions::default(),
            connect_timeout: Duration::from_secs(5),
            max_queued_bytes: 4 << 20,
            event_capacity: 1024,
            restarting: false,
        }
    }

    /// Starts the session as a restarting speaker (see [`PeerConfig::restarting`]).
    #[must_use]
    pub fn with_restarting(mut self, on: bool) -> Self {
        self.restarting = on;
        self
    }
}

/// A command to the peer task.
#[derive(Debug)]
enum Command {
    Start(StartKind),
    Stop(StopKind),
    Send(Vec<Update>),
    InitialTableSent,
    RouteRefresh(Family),
    RefreshMarker(Family, Subtype),
    SetRestarting(bool),
}

/// The peer task has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the peer task has ended")]
pub struct Closed;

/// Commands to a running peer. Cloneable; the task ends when every handle is dropped.
#[derive(Clone, Debug)]
pub struct PeerHandle {
    tx: mpsc::Sender<Command>,
}

impl PeerHandle {
    async fn cmd(&self, c: Command) -> Result<(), Closed> {
        self.tx.send(c).await.map_err(|_| Closed)
    }

    /// Starts the session.
    pub async fn start(&self, kind: StartKind) -> Result<(), Closed> {
        self.cmd(Command::Start(kind)).await
    }

    /// Stops the session.
    pub async fn stop(&self, kind: StopKind) -> Result<(), Closed> {
        self.cmd(Command::Stop(kind)).await
    }

    /// Queues UPDATEs (dropped unless Established); waits while the output queue is full.
    pub async fn send_updates(&self, updates: Vec<Update>) -> Result<(), Closed> {
        self.cmd(Command::Send(updates)).await
    }

    /// The initial table has been sent: End-of-RIB for every negotiated family.
    pub async fn initial_table_sent(&self) -> Result<(), Closed> {
        self.cmd(Command::InitialTableSent).await
    }

    /// Asks the peer to re-send a family (RFC 2918).
    pub async fn route_refresh(&self, family: Family) -> Result<(), Closed> {
        self.cmd(Command::RouteRefresh(family)).await
    }

    /// Sends BoRR or EoRR around our answer to the peer's refresh request (RFC 7313 §4,
    /// [`Session::send_refresh_marker`]); dropped unless Enhanced Route Refresh was
    /// negotiated. Updates queued between the two go out in order.
    pub async fn send_refresh_marker(
        &self,
        family: Family,
        subtype: Subtype,
    ) -> Result<(), Closed> {
        self.cmd(Command::RefreshMarker(family, subtype)).await
    }

    /// Sets or clears the Restart State (R) bit of the OPENs sent from now on
    /// (RFC 4724 §4.1, [`Session::set_restarting`]). `true` declares our own restart
    /// with forwarding preserved; `false` ends it, for example when the restart is over
    /// (all End-of-RIBs received or the selection deferral timer fired) before this
    /// session came back. The session clears it itself on reaching Established, and a
    /// [`StopKind::Graceful`] sets it again for the next OPEN. An OPEN already sent is
    /// not changed.
    pub async fn set_restarting(&self, on: bool) -> Result<(), Closed> {
        self.cmd(Command::SetRestarting(on)).await
    }
}

/// Spawns the task of one peer on the current runtime. `incoming` yields connections
/// accepted for this peer (from [`Listener::register`]). Events are the session's
/// [`Action`]s other than I/O (state changes, session up/down, updates, End-of-RIB,
/// refresh requests).
pub fn spawn(
    cfg: PeerConfig,
    incoming: Option<mpsc::Receiver<TcpStream>>,
) -> (PeerHandle, mpsc::Receiver<Action>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let (etx, erx) = mpsc::channel(cfg.event_capacity.max(1));
    let mut session = Session::new(cfg.session.clone());
    session.set_restarting(cfg.restarting);
    let driver = Driver {
        primary: Side::new(session),
        secondary: None,
        io: Io {
            cfg,
            connecting: None,
            events: etx,
            pending: VecDeque::new(),
        },
    };
    let task = tokio::spawn(driver.run(rx, incoming));
    (PeerHandle { tx }, erx, task)
}

/// How long a closed connection keeps draining the peer's bytes so that our last
/// NOTIFICATION is delivered before the socket goes away.
const CLOSE_LINGER: Duration = Duration::from_secs(3);

/// One TCP connection: framed reader here, writer task behind a channel.
#[derive(Debug)]
struct Conn {
    reader: FramedRead<OwnedReadHalf, BgpCodec>,
    writer: mpsc::UnboundedSender<Bytes>,
    inflight: Arc<AtomicUsize>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        let (r, mut w) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let inflight = Arc::new(AtomicUsize::new(0));
        let inf = inflight.clone();
        tokio::spawn(async move {
            let mut buf = BytesMut::new();
            while let Some(chunk) = rx.recv().await {
                buf.extend_from_slice(&chunk);
                // Coalesce what is already queued into one write.
                while buf.len() < (256 << 10) {
                    match rx.try_recv() {
                        Ok(more) => buf.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                let n = buf.len();
                if w.write_all(&buf).await.is_err() {
                    return;
                }
                buf.clear();
                inf.fetch_sub(n, Ordering::Relaxed);
            }
            let _ = w.shutdown().await;
        });
        Conn {
            reader: FramedRead::new(r, BgpCodec::new()),
            writer: tx,
            inflight,
        }
    }

    /// Closes without losing what was queued: the writer flushes and sends FIN, while the
    /// read half keeps draining (discarding) until the peer closes or [`CLOSE_LINGER`]
    /// passes. Dropping the read half at once would close the socket with unread data in
    /// it, and Linux then answers with RST, which makes the peer discard the NOTIFICATION
    /// we just sent (seen with BIRD 2 after it re-sent its table: "Connection closed"
    /// instead of "Administrative shutdown").
    fn close_gracefully(self) {
        let mut rh = self.reader.into_inner();
        drop(self.writer);
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(CLOSE_LINGER, async {
                while let Ok(n) = rh.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        });
    }

    fn write(&self, b: Bytes) {
        if !b.is_empty() {
            self.inflight.fetch_add(b.len(), Ordering::Relaxed);
            let _ = self.writer.send(b);
        }
    }
}

#[derive(Debug)]
struct Side {
    session: Session,
    conn: Option<Conn>,
}

impl Side {
    fn new(session: Session) -> Side {
        Side {
            session,
            conn: None,
        }
    }
}

enum Input {
    Timeout,
    Command(Option<Command>),
    Frame(bool, Option<Result<Bytes, FramingError>>),
    Connected(Result<io::Result<TcpStream>, tokio::task::JoinError>),
    Incoming(Option<TcpStream>),
    EventSpace(Result<mpsc::OwnedPermit<Action>, mpsc::error::SendError<()>>),
}

#[derive(Debug)]
struct Driver {
    primary: Side,
    secondary: Option<Side>,
    io: Io,
}

/// What performing actions needs besides the session.
#[derive(Debug)]
struct Io {
    cfg: PeerConfig,
    connecting: Option<JoinHandle<io::Result<TcpStream>>>,
    events: mpsc::Sender<Action>,
    /// Events the channel had no room for yet. While any wait, the socket is not read
    /// (backpressure), but timers and commands still run, so KEEPALIVEs keep going out
    /// and a slow consumer does not cost the session its hold timer.
    pending: VecDeque<Action>,
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

async fn next_frame(conn: &mut Option<Conn>) -> Option<Result<Bytes, FramingError>> {
    match conn {
        Some(c) => c.reader.next().await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(
        mut self,
        mut cmds: mpsc::Receiver<Command>,
        mut incoming: Option<mpsc::Receiver<TcpStream>>,
    ) {
        let mut cmds_open = true;
        loop {
            self.io.perform(&mut self.primary, true);
            if let Some(s) = self.secondary.as_mut() {
                self.io.perform(s, false);
            }
            self.settle_collision();
            self.io.flush_events();
            if !cmds_open && self.primary.session.state() == State::Idle {
                // Deliver what is left (nobody listening is fine).
                for a in self.io.pending.drain(..) {
                    let _ = self.io.events.send(a).await;
                }
                return;
            }
            // Read only while the consumer keeps up.
            let reading = self.io.pending.is_empty();
            let space = (!reading).then(|| self.io.events.clone().reserve_owned());
            let deadline = [
                self.primary.session.poll_timeout(),
                self.secondary
                    .as_ref()
                    .and_then(|s| s.session.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            let queued = self
                .primary
                .conn
                .as_ref()
                .map_or(0, |c| c.inflight.load(Ordering::Relaxed));
            let may_take = cmds_open && queued < self.io.cfg.max_queued_bytes;
            let secondary_conn = match self.secondary.as_mut() {
                Some(s) => &mut s.conn,
                None => &mut None,
            };
            let input = tokio::select! {
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d.into()).await,
                        None => std::future::pending().await,
                    }
                } => Input::Timeout,
                c = cmds.recv(), if may_take => Input::Command(c),
                f = next_frame(&mut self.primary.conn), if reading => Input::Frame(true, f),
                f = next_frame(secondary_conn), if reading => Input::Frame(false, f),
                p = async {
                    match space {
                        Some(r) => r.await,
                        None => std::future::pending().await,
                    }
                } => Input::EventSpace(p),
                r = async {
                    match self.io.connecting.as_mut() {
                        Some(h) => h.await,
                        None => std::future::pending().await,
                    }
                } => Input::Connected(r),
                s = async {
                    match incoming.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => Input::Incoming(s),
            };
            let now = now();
            match input {
                Input::Timeout => {
                    if !reading {
                        self.primary.session.handle_receive_paused(now);
                        if let Some(s) = self.secondary.as_mut() {
                            s.session.handle_receive_paused(now);
                        }
                    }
                    self.primary.session.handle_timeout(now);
                    if let Some(s) = self.secondary.as_mut() {
                        s.session.handle_timeout(now);
                    }
                }
                Input::Command(None) => {
                    cmds_open = false;
                    self.primary.session.handle_stop(
                        now,
                        StopKind::Administrative {
                            message: String::new(),
                        },
                    );
                }
                Input::Command(Some(c)) => self.command(now, c),
                Input::Frame(primary, f) => {
                    let side = if primary {
                        &mut self.primary
                    } else {
                        match self.secondary.as_mut() {
                            Some(s) => s,
                            None => continue,
                        }
                    };
                    match f {
                        Some(Ok(frame)) => side.session.handle_bytes(now, &frame),
                        Some(Err(FramingError::Header(e))) => {
                            let n = Notification::from(&DecodeError::Header(e));
                            side.session.handle_framing_error(now, n);
                        }
                        Some(Err(_)) | None => {
                            side.conn = None;
                            side.session.handle_connection_failed(now);
                        }
                    }
                }
                Input::Connected(r) => {
                    self.io.connecting = None;
                    match r {
                        Ok(Ok(stream)) if self.primary.session.accepts_connection() => {
                            self.primary.conn = Some(Conn::new(stream));
                            self.primary
                                .session
                                .handle_connected(now, Direction::Outbound);
                        }
                        Ok(Ok(_)) => {}
                        _ => self.primary.session.handle_connection_failed(now),
                    }
                }
                Input::EventSpace(Ok(permit)) => {
                    if let Some(a) = self.io.pending.pop_front() {
                        permit.send(a);
                    }
                }
                // The receiver is gone: nobody listens, the handle may still drive.
                Input::EventSpace(Err(_)) => self.io.pending.clear(),
                Input::Incoming(None) => incoming = None,
                Input::Incoming(Some(stream)) => self.accept(now, stream),
            }
        }
    }

    fn command(&mut self, now: std::time::Instant, c: Command) {
        let s = &mut self.primary.session;
        match c {
            Command::Start(k) => s.handle_start(now, k),
            Command::Stop(k) => s.handle_stop(now, k),
            Command::Send(v) => {
                for u in v {
                    if s.send_update(now, u).is_err() {
                        break;
                    }
                }
            }
            Command::InitialTableSent => {
                let _ = s.initial_table_sent(now);
            }
            Command::RouteRefresh(f) => {
                let _ = s.request_route_refresh(now, f);
            }
            Command::RefreshMarker(f, st) => {
                let _ = s.send_refresh_marker(now, f, st);
            }
            Command::SetRestarting(on) => {
                s.set_restarting(on);
                if let Some(sec) = self.secondary.as_mut() {
                    sec.session.set_restarting(on);
                }
            }
        }
    }

    fn accept(&mut self, now: std::time::Instant, stream: TcpStream) {
        if self.primary.session.accepts_connection() {
            if let Some(h) = self.io.connecting.take() {
                h.abort();
            }
            self.primary.conn = Some(Conn::new(stream));
            self.primary
                .session
                .handle_connected(now, Direction::Inbound);
        } else if self.secondary.is_none()
            && matches!(
                self.primary.session.state(),
                State::OpenSent | State::OpenConfirm | State::Established
            )
        {
            // A second connection: tracked until its OPEN arrives (RFC 4271 §6.8).
            let mut s = Session::new(self.io.cfg.session.clone());
            s.set_restarting(self.primary.session.restarting());
            s.handle_start(now, StartKind::ManualPassive);
            s.handle_connected(now, Direction::Inbound);
            self.secondary = Some(Side {
                session: s,
                conn: Some(Conn::new(stream)),
            });
        }
        // Otherwise (Idle, or a second collision in progress): refuse by dropping it.
    }

    fn settle_collision(&mut self) {
        let Some(sec) = self.secondary.as_mut() else {
            return;
        };
        match resolve_collision(now(), &mut self.primary.session, &mut sec.session) {
            Some(Loser::Existing) => {
                self.io.perform(&mut self.primary, true);
                if let Some(s) = self.secondary.take() {
                    self.primary = s;
                }
            }
            Some(Loser::New) => {
                if let Some(mut s) = self.secondary.take() {
                    self.io.perform(&mut s, false);
                }
            }
            None => {
                // A second connection that failed, or a primary that lost its own:
                // promote or drop.
                let sec_dead = matches!(sec.session.state(), State::Idle | State::Active)
                    && sec.conn.is_none();
                if sec_dead {
                    self.secondary = None;
                } else if self.primary.conn.is_none()
                    && matches!(self.primary.session.state(), State::Idle | State::Active)
                    && let Some(s) = self.secondary.take()
                {
                    self.primary = s;
                }
            }
        }
    }
}

impl Io {
    /// Moves pending events into the channel while it has room; drops them if nobody
    /// listens.
    fn flush_events(&mut self) {
        while let Some(a) = self.pending.pop_front() {
            match self.events.try_send(a) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(a)) => {
                    self.pending.push_front(a);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => self.pending.clear(),
            }
        }
    }

    /// Drains a session's actions: I/O here, everything else to the event channel.
    fn perform(&mut self, side: &mut Side, primary: bool) {
        let mut out = BytesMut::new();
        while let Some(a) = side.session.poll_action() {
            match a {
                Action::Send(m) => {
                    if m.emit(side.session.encode_ctx(), &mut out).is_err() {
                        tracing::warn!(?m, "message too long to encode; not sent");
                    }
                }
                Action::OpenConnection => {
                    if primary && self.connecting.is_none() {
                        let remote = self.cfg.remote;
                        let opts = self.cfg.socket.clone();
                        let limit = self.cfg.connect_timeout;
                        self.connecting = Some(tokio::spawn(async move {
                            let sock = opts.connect_socket(remote)?;
                            tokio::time::timeout(limit, sock.connect(remote))
                                .await
                                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
                        }));
                    }
                }
                Action::CloseConnection => {
                    if let Some(c) = side.conn.take() {
                        c.write(out.split().freeze());
                        c.close_gracefully();
                    }
                    if primary && let Some(h) = self.connecting.take() {
                        h.abort();
                    }
                }
                other => {
                    if let Some(c) = side.conn.as_mut()
                        && matches!(other, Action::SessionUp(_))
                    {
                        c.reader
                            .decoder_mut()
                            .set_ctx(side.session.encode_ctx().clone());
                    }
                    if !primary && matches!(other, Action::StateChange { .. }) {
                        continue;
                    }
                    tracing::debug!(peer = %self.cfg.remote, event = ?other, "bgp session");
                    if let Some(c) = side.conn.as_ref() {
                        c.write(out.split().freeze());
                    }
                    self.pending.push_back(other);
                }
            }
        }
        if let Some(c) = side.conn.as_ref() {
            c.write(out.freeze());
        }
    }
}
