//! The RFC 4271 §8 finite state machine of one BGP connection.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};

use super::config::{SessionConfig, StartKind, StopKind};
use super::negotiated::{Negotiated, build_open, check_open};
use super::reason::{Down, Initiator, Reason, route_fate};
use super::timer::{Timer, TimerTable};
use crate::ctx::{DecodeCtx, EncodeCtx, Family};
use crate::keepalive::Keepalive;
use crate::message::{Message, Verdict};
use crate::nlri::Nlri;
use crate::notification::{ErrorCode, Notification, subcode};
use crate::open::Open;
use crate::route_refresh::{RouteRefresh, Subtype};
use crate::update::Update;

/// The six states of RFC 4271 §8.2.2, displayed in RFC spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Refuses connections; waits for a start event.
    Idle,
    /// Waiting for the TCP connection we initiated.
    Connect,
    /// Listening for the peer's connection.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for a KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        })
    }
}

/// Who initiated a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Direction {
    /// We connected (event 16 Tcp_CR_Acked).
    Outbound,
    /// The peer connected (event 17 TcpConnectionConfirmed).
    Inbound,
}

/// What the session asks of its caller, in order. Drain with
/// [`Session::poll_action`] after every `handle_*` call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Initiate a TCP connection to the peer, then call
    /// [`Session::handle_connected`] or [`Session::handle_connection_failed`].
    OpenConnection,
    /// Drop the TCP connection (after writing the messages queued before this action),
    /// or abandon the connection attempt.
    CloseConnection,
    /// Encode with [`Session::encode_ctx`] and send.
    Send(Message),
    /// The state changed (observability, style rule 46).
    StateChange {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// The session is Established with these parameters. Send the initial table, then
    /// call [`Session::initial_table_sent`] (End-of-RIB).
    SessionUp(Box<Negotiated>),
    /// An Established session went down.
    SessionDown(Down),
    /// A connection that had not reached Established closed.
    ConnectionClosed(Reason),
    /// An UPDATE arrived (End-of-RIB markers come as [`Action::EndOfRib`]); apply the
    /// RFC 7606 verdict (accepted, attributes discarded, or treat-as-withdraw).
    Update {
        /// The UPDATE as decoded.
        update: Update,
        /// What to do with it.
        verdict: Verdict,
    },
    /// The peer's End-of-RIB for a family (RFC 4724 §2).
    EndOfRib(Family),
    /// The peer asks us to re-send a family (RFC 2918), or marks the beginning or end of
    /// an enhanced refresh (RFC 7313 BoRR/EoRR).
    RouteRefresh(RouteRefresh),
}

/// Errors of the caller-facing commands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The command needs an Established session.
    #[error("session is {state}, not Established")]
    NotEstablished {
        /// The current state.
        state: State,
    },
    /// The family was not negotiated, or the peer cannot receive ROUTE-REFRESH.
    #[error("{family} not negotiated for this command")]
    NotNegotiated {
        /// The family concerned.
        family: Family,
    },
    /// BoRR/EoRR need Enhanced Route Refresh negotiated by both sides (RFC 7313 §4),
    /// and no other subtype may be sent.
    #[error("ROUTE-REFRESH subtype {subtype} cannot be sent on this session")]
    RefreshSubtype {
        /// The refused subtype.
        subtype: u8,
    },
}

/// The inputs of RFC 4271 §8.1, as the transition table sees them.
#[derive(Clone, Debug)]
enum Event {
    /// Events 1, 3, 4, 5.
    Start(StartKind),
    /// Events 2 (ManualStop) and 8 (AutomaticStop).
    Stop(StopKind),
    /// Event 9.
    ConnectRetryTimerExpires,
    /// Event 10.
    HoldTimerExpires,
    /// Event 11.
    KeepaliveTimerExpires,
    /// Event 12.
    DelayOpenTimerExpires,
    /// Event 13.
    IdleHoldTimerExpires,
    /// Events 16 and 17.
    TcpConnected(Direction),
    /// Event 18.
    TcpConnectionFails,
    /// Events 19 and 20.
    BgpOpen(Open),
    /// Events 21, 22 and 28: a message that resets the session, with what to send.
    MessageErr(Notification),
    /// Events 24 and 25.
    NotifMsg(Notification),
    /// Event 26.
    KeepAliveMsg,
    /// Event 27.
    UpdateMsg(Update, Verdict),
    /// ROUTE-REFRESH (RFC 2918; no RFC 4271 number).
    RouteRefreshMsg(RouteRefresh),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    None,
    Connecting,
    Up,
}

/// One BGP connection's state machine (RFC 4271 §8), sans-IO.
///
/// # Call protocol
///
/// Inputs are `handle_*` calls, each taking `now` (monotonic, never decreasing); the
/// session never reads the clock. After every input, drain [`poll_action`](Self::poll_action)
/// until `None` and perform the actions in order; then sleep until
/// [`poll_timeout`](Self::poll_timeout) and call [`handle_timeout`](Self::handle_timeout).
///
/// ```text
///  handle_start / handle_stop ─┐
///  handle_connected / _failed ─┤        ┌─► poll_action(): OpenConnection, CloseConnection,
///  handle_bytes / _message ────┼─► FSM ─┤      Send(Message), SessionUp, SessionDown,
///  handle_timeout(now) ────────┘        │      Update, EndOfRib, RouteRefresh, ...
///  send_update / initial_table_sent ───►│
///                                       └─► poll_timeout(): next deadline
/// ```
///
/// One `Session` tracks one TCP connection. While a second connection from the same peer
/// is being opened, the caller runs a second `Session` for it and settles the collision
/// with [`resolve_collision`](super::resolve_collision) (RFC 4271 §6.8).
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    timers: TimerTable,
    connect_retry_counter: u32,
    conn: Conn,
    direction: Option<Direction>,
    local_open: Option<Open>,
    negotiated: Option<Box<Negotiated>>,
    restarting: bool,
    passive: bool,
    stopped: bool,
    backoff_level: u32,
    established_at: Option<Instant>,
    prefixes: Option<HashSet<(Family, Nlri)>>,
    actions: VecDeque<Action>,
    default_decode: DecodeCtx,
    default_encode: EncodeCtx,
    jitter_state: u64,
}

impl Session {
    /// A session in Idle. Nothing happens until [`handle_start`](Self::handle_start).
    pub fn new(cfg: SessionConfig) -> Self {
        let (cfg_id, cfg_as) = (cfg.router_id, cfg.local_as);
        Session {
            cfg,
            state: State::Idle,
            timers: TimerTable::default(),
            connect_retry_counter: 0,
            conn: Conn::None,
            direction: None,
            local_open: None,
            negotiated: None,
            restarting: false,
            passive: false,
            stopped: true,
            backoff_level: 0,
            established_at: None,
            prefixes: None,
            actions: VecDeque::new(),
            default_decode: DecodeCtx::default(),
            default_encode: EncodeCtx::default(),
            jitter_state: ((u64::from(u32::from(cfg_id)) << 32) | u64::from(cfg_as)) | 1,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// ConnectRetryCounter (RFC 4271 §8.1.1).
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// Who initiated the current connection.
    pub fn direction(&self) -> Option<Direction> {
        self.direction
    }

    /// The negotiated parameters, from OpenConfirm on.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_deref()
    }

    /// The peer's BGP Identifier, once its OPEN was accepted.
    pub fn peer_router_id(&self) -> Option<Ipv4Addr> {
        self.negotiated.as_ref().map(|n| n.peer_router_id)
    }

    /// When a timer is due, if it runs.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers.get(t)
    }

    /// Whether the next OPEN will carry R=1 (after a graceful local stop, or
    /// [`set_restarting`](Self::set_restarting)).
    pub fn restarting(&self) -> bool {
        self.restarting
    }

    /// Declares that we restarted with forwarding state preserved (RFC 4724 §4.1): the
    /// OPENs we send carry R=1 until a session reaches Established.
    pub fn set_restarting(&mut self, on: bool) {
        self.restarting = on;
    }

    /// Whether a TCP connection handed over now would be used by this session (Connect
    /// or Active without a connection). Otherwise run a second `Session` for it.
    pub fn accepts_connection(&self) -> bool {
        matches!(self.state, State::Connect | State::Active) && self.conn != Conn::Up
    }

    /// How to decode received messages: negotiated, or the RFC 4271 baseline before.
    pub fn decode_ctx(&self) -> &DecodeCtx {
        self.negotiated
            .as_ref()
            .map_or(&self.default_decode, |n| n.decode_ctx())
    }

    /// How to encode messages to send: negotiated, or the RFC 4271 baseline before.
    pub fn encode_ctx(&self) -> &EncodeCtx {
        self.negotiated
            .as_ref()
            .map_or(&self.default_encode, |n| n.encode_ctx())
    }

    /// The next action to perform, in order.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next deadline; call [`handle_timeout`](Self::handle_timeout) then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Start the session (events 1, 3, 4, 5). `config.passive` makes every start passive.
    pub fn handle_start(&mut self, now: Instant, kind: StartKind) {
        self.on_event(now, Event::Start(kind));
    }

    /// Stop the session (events 2 and 8); it stays Idle until the next start.
    pub fn handle_stop(&mut self, now: Instant, kind: StopKind) {
        self.on_event(now, Event::Stop(kind));
    }

    /// The TCP connection is up (events 16/17). Ignored unless
    /// [`accepts_connection`](Self::accepts_connection); in Idle the caller is told to
    /// close it (Idle refuses connections).
    pub fn handle_connected(&mut self, now: Instant, direction: Direction) {
        self.on_event(now, Event::TcpConnected(direction));
    }

    /// The TCP connection (or the attempt) failed or was closed by the peer (event 18).
    pub fn handle_connection_failed(&mut self, now: Instant) {
        self.on_event(now, Event::TcpConnectionFails);
    }

    /// Timers due at `now` expire (events 9-13).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.take_expired(now) {
            let ev = match t {
                Timer::IdleHold => Event::IdleHoldTimerExpires,
                Timer::ConnectRetry => Event::ConnectRetryTimerExpires,
                Timer::DelayOpen => Event::DelayOpenTimerExpires,
                Timer::Hold => Event::HoldTimerExpires,
                Timer::Keepalive => Event::KeepaliveTimerExpires,
            };
            self.on_event(now, ev);
        }
    }

    /// One complete framed message (header included), decoded with
    /// [`decode_ctx`](Self::decode_ctx) and RFC 7606 error handling.
    pub fn handle_bytes(&mut self, now: Instant, frame: &[u8]) {
        let d = Message::decode(frame, self.decode_ctx());
        match (d.message, d.verdict) {
            (_, Verdict::SessionReset { notification, .. }) => {
                self.on_event(now, Event::MessageErr(notification));
            }
            (Some(m), verdict) => self.dispatch(now, m, verdict),
            (None, _) => {}
        }
    }

    /// One message already decoded (its verdict taken as [`Verdict::Accepted`]).
    pub fn handle_message(&mut self, now: Instant, msg: Message) {
        self.dispatch(now, msg, Verdict::Accepted);
    }

    /// A framing error before the message could be decoded (bad marker, length or type:
    /// events 21): send its NOTIFICATION and close.
    pub fn handle_framing_error(&mut self, now: Instant, notification: Notification) {
        self.on_event(now, Event::MessageErr(notification));
    }

    fn dispatch(&mut self, now: Instant, msg: Message, verdict: Verdict) {
        let ev = match msg {
            Message::Open(o) => Event::BgpOpen(o),
            Message::Update(u) => Event::UpdateMsg(u, verdict),
            Message::Notification(n) => Event::NotifMsg(n),
            Message::Keepalive(_) => Event::KeepAliveMsg,
            Message::RouteRefresh(r) => Event::RouteRefreshMsg(r),
        };
        self.on_event(now, ev);
    }

    /// Queue an UPDATE (Established only); restarts the KeepaliveTimer (RFC 4271 §4.4).
    pub fn send_update(&mut self, now: Instant, update: Update) -> Result<(), SessionError> {
        self.require_established()?;
        self.actions
            .push_back(Action::Send(Message::Update(update)));
        self.handle_updates_sent(now);
        Ok(())
    }

    /// The caller has stopped reading the connection for a local reason (its consumer
    /// is behind: backpressure), so the peer's KEEPALIVEs and UPDATEs wait unread in
    /// the socket: restart a running HoldTimer, so that our own stall is not taken for
    /// the peer's silence (RFC 4271 §4.4 counts what is received). Call it before
    /// [`handle_timeout`](Self::handle_timeout) while reading is paused; a dead peer is
    /// then detected once reading resumes.
    pub fn handle_receive_paused(&mut self, now: Instant) {
        if matches!(self.state, State::OpenConfirm | State::Established)
            && self.timers.get(Timer::Hold).is_some()
        {
            self.restart_hold(now);
        }
    }

    /// The caller wrote UPDATEs itself (a batched fast path): restart the KeepaliveTimer.
    pub fn handle_updates_sent(&mut self, now: Instant) {
        if self.state == State::Established {
            self.restart_keepalive(now);
        }
    }

    /// The initial table has been sent: queue End-of-RIB for every negotiated family
    /// (RFC 4724 §4; also sent by a receiving speaker, §4.2).
    pub fn initial_table_sent(&mut self, now: Instant) -> Result<(), SessionError> {
        self.require_established()?;
        let eors: Vec<Update> = self
            .negotiated
            .as_ref()
            .map(|n| n.end_of_rib().collect())
            .unwrap_or_default();
        for u in eors {
            self.send_update(now, u)?;
        }
        Ok(())
    }

    /// Ask the peer to re-send a family (RFC 2918 §3).
    pub fn request_route_refresh(
        &mut self,
        now: Instant,
        family: Family,
    ) -> Result<(), SessionError> {
        self.require_established()?;
        let ok = self
            .negotiated
            .as_ref()
            .is_some_and(|n| n.route_refresh && n.families.contains(&family));
        if !ok {
            return Err(SessionError::NotNegotiated { family });
        }
        self.actions
            .push_back(Action::Send(Message::RouteRefresh(RouteRefresh::new(
                family,
            ))));
        self.restart_keepalive(now);
        Ok(())
    }

    /// Marks the beginning (BoRR) or end (EoRR) of our answer to the peer's refresh
    /// request for a family (RFC 7313 §4): send BoRR, re-advertise the family's routes
    /// with [`send_update`](Self::send_update), then send EoRR; the peer drops the
    /// routes it did not see again. Needs Enhanced Route Refresh negotiated.
    pub fn send_refresh_marker(
        &mut self,
        now: Instant,
        family: Family,
        subtype: Subtype,
    ) -> Result<(), SessionError> {
        self.require_established()?;
        let Some(n) = self.negotiated.as_ref() else {
            return Err(SessionError::NotNegotiated { family });
        };
        if !matches!(subtype, Subtype::BORR | Subtype::EORR) || !n.enhanced_route_refresh {
            return Err(SessionError::RefreshSubtype { subtype: subtype.0 });
        }
        if !n.families.contains(&family) {
            return Err(SessionError::NotNegotiated { family });
        }
        self.actions
            .push_back(Action::Send(Message::RouteRefresh(RouteRefresh {
                family,
                subtype,
            })));
        self.restart_keepalive(now);
        Ok(())
    }

    fn require_established(&self) -> Result<(), SessionError> {
        if self.state == State::Established {
            Ok(())
        } else {
            Err(SessionError::NotEstablished { state: self.state })
        }
    }

    // ----- helpers -------------------------------------------------------------------

    fn enter(&mut self, to: State) {
        if self.state != to {
            let from = self.state;
            self.state = to;
            self.actions.push_back(Action::StateChange { from, to });
        }
    }

    fn send(&mut self, m: impl Into<Message>) {
        self.actions.push_back(Action::Send(m.into()));
    }

    fn open_connection(&mut self) {
        self.conn = Conn::Connecting;
        self.actions.push_back(Action::OpenConnection);
    }

    fn drop_connection(&mut self) {
        if self.conn != Conn::None {
            self.actions.push_back(Action::CloseConnection);
        }
        self.conn = Conn::None;
        self.direction = None;
        self.local_open = None;
        self.negotiated = None;
        self.prefixes = None;
    }

    fn restart_keepalive(&mut self, now: Instant) {
        if let Some(k) = self.negotiated.as_ref().map(|n| n.keepalive_time)
            && k > 0
        {
            self.timers
                .set(Timer::Keepalive, now + Duration::from_secs(k.into()));
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.negotiated.as_ref().map(|n| n.hold_time) {
            Some(h) if h > 0 => self
                .timers
                .set(Timer::Hold, now + Duration::from_secs(h.into())),
            _ => self.timers.stop(Timer::Hold),
        }
    }

    fn start_connect_retry(&mut self, now: Instant) {
        let d = self.jittered(self.cfg.connect_retry_time);
        self.timers.set(Timer::ConnectRetry, now + d);
    }

    /// RFC 4271 §10: jitter of ConnectRetryTime (and our IdleHold) by a factor in
    /// [0.75, 1], from a xorshift sequence seeded by the router ID.
    fn jittered(&mut self, d: Duration) -> Duration {
        if !self.cfg.jitter {
            return d;
        }
        let mut x = self.jitter_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter_state = x;
        // 0..=256 parts of a quarter.
        let frac = (x >> 56) as u32;
        d.mul_f64(0.75 + 0.25 * f64::from(frac) / 255.0)
    }

    fn idle_hold_delay(&self) -> Duration {
        let ih = self.cfg.idle_hold;
        let mut d = ih.initial;
        for _ in 0..self.backoff_level.min(32) {
            d = d.saturating_mul(2);
            if d >= ih.max {
                return ih.max;
            }
        }
        d.min(ih.max)
    }

    /// Sends our OPEN and arms the "large" HoldTimer (RFC 4271 §8.2.2 Connect).
    fn send_open(&mut self, now: Instant) {
        let open = build_open(&self.cfg, self.restarting);
        self.send(open.clone());
        self.local_open = Some(open);
        self.timers.set(Timer::Hold, now + self.cfg.open_hold_time);
    }

    /// Checks the peer's OPEN; on success sends KEEPALIVE, arms the negotiated timers and
    /// enters OpenConfirm (RFC 4271 §8.2.2 OpenSent, event 19).
    fn accept_open(&mut self, now: Instant, open: &Open) {
        let Some(local) = self.local_open.as_ref() else {
            return;
        };
        match check_open(&self.cfg, local, open) {
            Ok(n) => {
                self.timers.stop(Timer::ConnectRetry);
                self.timers.stop(Timer::DelayOpen);
                self.negotiated = Some(Box::new(n));
                self.send(Message::Keepalive(Keepalive));
                self.restart_keepalive(now);
                self.restart_hold(now);
                self.enter(State::OpenConfirm);
            }
            Err(notification) => self.error_exit(
                now,
                Some(notification.clone()),
                Reason::Notification {
                    initiator: Initiator::Local,
                    notification,
                },
                true,
                true,
            ),
        }
    }

    /// The common exit to Idle (RFC 4271 §8.2.2, rule 15): send `notify`, drop TCP,
    /// stop timers, count, report, and arm the IdleHoldTimer when restarting by itself.
    /// `flap`: the connection got past Connect/Active, which grows the backoff.
    fn error_exit(
        &mut self,
        now: Instant,
        notify: Option<Notification>,
        reason: Reason,
        count: bool,
        flap: bool,
    ) {
        if let Some(n) = notify {
            self.send(n);
        }
        self.report_close(now, reason);
        self.drop_connection();
        self.timers.stop_all();
        if count {
            self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
        }
        self.enter(State::Idle);
        if !self.stopped && self.cfg.auto_restart {
            let d = self.idle_hold_delay();
            let d = self.jittered(d);
            if flap {
                self.backoff_level = self.backoff_level.saturating_add(1);
            }
            self.timers.set(Timer::IdleHold, now + d);
        }
    }

    fn report_close(&mut self, now: Instant, reason: Reason) {
        if self.state == State::Established {
            let (gr, n) = self
                .negotiated
                .as_ref()
                .map_or((false, false), |n| (n.peer_gr_capable(), n.notification_gr));
            let fate = route_fate(&reason, gr, n);
            if let Some(at) = self.established_at.take()
                && now.saturating_duration_since(at) >= self.cfg.idle_hold.forget
            {
                self.backoff_level = 0;
            }
            self.actions
                .push_back(Action::SessionDown(Down { reason, fate }));
        } else if self.conn != Conn::None || self.state != State::Idle {
            self.actions.push_back(Action::ConnectionClosed(reason));
        }
    }

    /// The NOTIFICATION for a local stop, and the reason to report.
    fn stop_notification(&self, kind: &StopKind) -> (Option<Notification>, Reason) {
        let n_bit = self.negotiated.as_ref().is_some_and(|n| n.notification_gr);
        match kind {
            StopKind::Administrative { message } => {
                let n = Notification::cease_with_communication(
                    subcode::cease::ADMINISTRATIVE_SHUTDOWN,
                    message,
                );
                // RFC 8538 §5.1: a full reset goes as Hard Reset when N was negotiated.
                let n = if n_bit { n.into_hard_reset() } else { n };
                (
                    Some(n),
                    Reason::AdministrativeShutdown {
                        message: message.clone(),
                    },
                )
            }
            StopKind::HardReset => {
                let n = Notification::new(ErrorCode::CEASE, subcode::cease::HARD_RESET, vec![]);
                (Some(n), Reason::HardReset)
            }
            StopKind::Graceful => (None, Reason::LocalRestart),
            StopKind::BfdDown => (
                Some(Notification::new(
                    ErrorCode::CEASE,
                    subcode::cease::BFD_DOWN,
                    vec![],
                )),
                Reason::BfdDown,
            ),
        }
    }

    fn fsm_error(&self) -> Notification {
        let sub = match self.state {
            State::OpenSent => subcode::fsm::UNEXPECTED_MESSAGE_IN_OPENSENT,
            State::OpenConfirm => subcode::fsm::UNEXPECTED_MESSAGE_IN_OPENCONFIRM,
            State::Established => subcode::fsm::UNEXPECTED_MESSAGE_IN_ESTABLISHED,
            _ => subcode::UNSPECIFIC,
        };
        Notification::new(ErrorCode::FINITE_STATE_MACHINE_ERROR, sub, vec![])
    }

    fn local_error(&mut self, now: Instant, n: Notification) {
        self.error_exit(
            now,
            Some(n.clone()),
            Reason::Notification {
                initiator: Initiator::Local,
                notification: n,
            },
            true,
            true,
        );
    }

    fn peer_notification(&mut self, now: Instant, n: Notification) {
        // Event 24 NotifMsgVerErr does not count (RFC 4271 §8.2.2 OpenSent).
        let count = !super::reason::is_version_error(&n);
        self.error_exit(
            now,
            None,
            Reason::Notification {
                initiator: Initiator::Peer,
                notification: n,
            },
            count,
            true,
        );
    }

    /// Established UPDATE handling: RFC 7606 verdicts, End-of-RIB, max prefixes.
    fn on_update(&mut self, now: Instant, update: Update, verdict: Verdict) {
        self.restart_hold(now);
        if let Verdict::Accepted = verdict
            && let Some(f) = update.is_end_of_rib()
        {
            self.actions.push_back(Action::EndOfRib(f));
            return;
        }
        if let (Some(limit), Some(set)) = (self.cfg.max_prefixes, self.prefixes.as_mut()) {
            let mut over = None;
            match &verdict {
                Verdict::TreatAsWithdraw { prefixes, .. } => {
                    for p in prefixes {
                        set.remove(p);
                    }
                }
                _ => {
                    for (f, n) in update.withdrawals() {
                        set.remove(&(f, *n));
                    }
                    for (f, n) in update.announced() {
                        set.insert((f, *n));
                        if set.len() > limit as usize {
                            over = Some(f);
                            break;
                        }
                    }
                }
            }
            if let Some(f) = over {
                //= https://www.rfc-editor.org/rfc/rfc4486#section-4
                //# the Data field ... AFI (2 octets), SAFI (1 octet), prefix upper bound (4)
                let mut d = BytesMut::with_capacity(7);
                d.put_u16(f.afi.0);
                d.put_u8(f.safi.0);
                d.put_u32(limit);
                let n = Notification::new(
                    ErrorCode::CEASE,
                    subcode::cease::MAXIMUM_NUMBER_OF_PREFIXES_REACHED,
                    d.freeze(),
                );
                // RFC 8538 §5.1: MUST be sent as a Hard Reset when N was negotiated.
                let n_bit = self.negotiated.as_ref().is_some_and(|n| n.notification_gr);
                let n = if n_bit { n.into_hard_reset() } else { n };
                self.stopped = true;
                self.error_exit(now, Some(n), Reason::MaxPrefixes { limit }, true, true);
                return;
            }
        }
        self.actions.push_back(Action::Update { update, verdict });
    }

    fn on_route_refresh(&mut self, r: RouteRefresh) {
        let Some(n) = self.negotiated.as_ref() else {
            return;
        };
        // RFC 2918 §4: ignore a family we did not advertise; RFC 7313 §5: ignore
        // unknown subtypes, and BoRR/EoRR unless Enhanced Route Refresh was negotiated.
        let ok = n.families.contains(&r.family)
            && (r.subtype == Subtype::NORMAL
                || (n.enhanced_route_refresh
                    && matches!(r.subtype, Subtype::BORR | Subtype::EORR)));
        if ok {
            self.actions.push_back(Action::RouteRefresh(r));
        }
    }

    // ----- the transition table ------------------------------------------------------

    /// The RFC 4271 §8.2.2 transition table, in one place.
    ///
    /// ```text
    ///                      +------+  start (1,3)        +---------+
    ///         +----------->| Idle |-------------------->| Connect |<---+ 9: retry
    ///         | errors,    +------+  passive (4,5)      +---------+----+
    ///         | stops         |  ^ 13 IdleHold            |  |   ^ 9 (active)
    ///         |               |  |               16/17     |  | 18 (DelayOpen)
    ///         |               v  |               no delay  |  v   |
    ///         |            +--------+  16/17 / 12 DelayOpen  +--------+
    ///         |            | Active |----------------------->|OpenSent|
    ///         |            +--------+<-----------------------+--------+
    ///         |                       18 TcpConnectionFails      | 19 valid OPEN
    ///         |                                                  v  (send KEEPALIVE)
    ///         |            +-------------+   26 KEEPALIVE  +-----------+
    ///         +------------| Established |<----------------|OpenConfirm|
    ///                      +-------------+                 +-----------+
    /// ```
    fn on_event(&mut self, now: Instant, ev: Event) {
        use State::*;
        match (self.state, ev) {
            // ---- Idle: refuse connections; only starts matter (rule 8) --------------
            (Idle, Event::Start(kind)) => {
                if matches!(kind, StartKind::Manual | StartKind::ManualPassive) {
                    self.backoff_level = 0;
                }
                self.stopped = false;
                self.timers.stop_all();
                self.passive = self.cfg.passive || kind.passive();
                self.start_connect_retry(now);
                if self.passive {
                    self.enter(Active);
                } else {
                    self.open_connection();
                    self.enter(Connect);
                }
            }
            (Idle, Event::IdleHoldTimerExpires) => {
                let kind = if self.cfg.passive {
                    StartKind::AutomaticPassive
                } else {
                    StartKind::Automatic
                };
                self.on_event(now, Event::Start(kind));
            }
            (Idle, Event::Stop(_)) => {
                self.stopped = true;
                self.timers.stop(Timer::IdleHold);
            }
            (Idle, Event::TcpConnected(_)) => {
                // Idle refuses incoming connections.
                self.actions.push_back(Action::CloseConnection);
            }
            (Idle, _) => {}

            // ---- starts in any other state are ignored ------------------------------
            (_, Event::Start(_)) => {}

            // ---- stops (events 2 and 8) in every non-Idle state ---------------------
            (state, Event::Stop(kind)) => {
                self.stopped = true;
                if matches!(kind, StopKind::Graceful) {
                    self.restarting = true;
                }
                let (n, reason) = self.stop_notification(&kind);
                // A NOTIFICATION needs an OPEN exchange: only from OpenSent on.
                let n = if matches!(state, OpenSent | OpenConfirm | Established) {
                    n
                } else {
                    None
                };
                self.error_exit(now, n, reason, false, false);
                self.connect_retry_counter = 0;
            }

            // ---- Connect and Active (rules 9 and 10) --------------------------------
            (Connect, Event::ConnectRetryTimerExpires) => {
                self.drop_connection();
                self.timers.stop(Timer::DelayOpen);
                self.start_connect_retry(now);
                self.open_connection();
            }
            (Active, Event::ConnectRetryTimerExpires) => {
                self.start_connect_retry(now);
                if !self.passive {
                    self.open_connection();
                    self.enter(Connect);
                }
            }
            (Connect | Active, Event::TcpConnected(dir)) => {
                if self.conn == Conn::Up {
                    return;
                }
                self.conn = Conn::Up;
                self.direction = Some(dir);
                self.timers.stop(Timer::ConnectRetry);
                match self.cfg.delay_open {
                    Some(d) => self.timers.set(Timer::DelayOpen, now + d),
                    None => {
                        self.send_open(now);
                        self.enter(OpenSent);
                    }
                }
            }
            (Connect | Active, Event::DelayOpenTimerExpires) => {
                self.send_open(now);
                self.enter(OpenSent);
            }
            (Connect, Event::TcpConnectionFails) => {
                // RFC 4271 says Idle unless the DelayOpenTimer runs. We go to Active in
                // both cases (as FRR does): keep listening and retry when the
                // ConnectRetryTimer expires, so that two speakers whose attempts meet
                // each other's Idle state (which refuses connections) cannot livelock.
                if self.conn == Conn::Up {
                    self.report_close(now, Reason::TcpFailure);
                }
                self.timers.stop(Timer::DelayOpen);
                self.drop_connection();
                self.start_connect_retry(now);
                self.enter(Active);
            }
            (Active, Event::TcpConnectionFails) => {
                self.error_exit(now, None, Reason::TcpFailure, true, false);
            }
            (Connect | Active, Event::BgpOpen(open))
                if self.timers.is_running(Timer::DelayOpen) =>
            {
                // Event 20: OPEN while DelayOpenTimer runs: send ours, then go straight
                // to OpenConfirm.
                self.timers.stop(Timer::DelayOpen);
                self.send_open(now);
                self.accept_open(now, &open);
            }
            (Connect | Active, Event::NotifMsg(n)) if self.timers.is_running(Timer::DelayOpen) => {
                self.peer_notification(now, n);
            }
            (Connect | Active, Event::MessageErr(n)) => self.local_error(now, n),
            (Connect | Active, Event::NotifMsg(n)) => self.peer_notification(now, n),
            (Connect | Active, Event::HoldTimerExpires | Event::KeepaliveTimerExpires) => {}
            (Connect | Active, Event::IdleHoldTimerExpires) => {}
            (
                Connect | Active,
                Event::BgpOpen(_)
                | Event::KeepAliveMsg
                | Event::UpdateMsg(..)
                | Event::RouteRefreshMsg(_),
            ) => {
                // "any other event": release, count, Idle.
                let n = self.fsm_error();
                self.local_error(now, n);
            }

            // ---- OpenSent (rule 11) -------------------------------------------------
            (OpenSent, Event::BgpOpen(open)) => self.accept_open(now, &open),
            (OpenSent, Event::TcpConnectionFails) => {
                self.report_close(now, Reason::TcpFailure);
                self.drop_connection();
                self.timers.stop_all();
                self.start_connect_retry(now);
                self.enter(Active);
            }

            // ---- OpenConfirm (rule 12) ----------------------------------------------
            (OpenConfirm, Event::KeepAliveMsg) => {
                self.restart_hold(now);
                self.restarting = false;
                self.established_at = Some(now);
                self.prefixes = self.cfg.max_prefixes.map(|_| HashSet::new());
                self.enter(Established);
                if let Some(n) = self.negotiated.clone() {
                    self.actions.push_back(Action::SessionUp(n));
                }
            }

            // ---- Established (rule 13) ----------------------------------------------
            (Established, Event::KeepAliveMsg) => self.restart_hold(now),
            (Established, Event::UpdateMsg(u, v)) => self.on_update(now, u, v),
            (Established, Event::RouteRefreshMsg(r)) => {
                self.restart_hold(now);
                self.on_route_refresh(r);
            }

            // ---- common to OpenSent, OpenConfirm, Established -----------------------
            (OpenConfirm | Established, Event::KeepaliveTimerExpires) => {
                self.send(Message::Keepalive(Keepalive));
                self.restart_keepalive(now);
            }
            (_, Event::HoldTimerExpires) => {
                let n = Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, vec![]);
                self.error_exit(now, Some(n), Reason::HoldTimerExpired, true, true);
            }
            (_, Event::TcpConnectionFails) => {
                self.error_exit(now, None, Reason::TcpFailure, true, true);
            }
            (_, Event::NotifMsg(n)) => self.peer_notification(now, n),
            (_, Event::MessageErr(n)) => self.local_error(now, n),
            (_, Event::TcpConnected(_)) => {
                // A second connection: tracked by the caller with a second Session
                // (RFC 4271 §8.2.2, §6.8).
            }
            (_, Event::IdleHoldTimerExpires) => {}
            // Rule 14: any other event is an FSM error (RFC 6608 subcodes).
            (
                _,
                Event::BgpOpen(_)
                | Event::KeepAliveMsg
                | Event::UpdateMsg(..)
                | Event::RouteRefreshMsg(_)
                | Event::ConnectRetryTimerExpires
                | Event::KeepaliveTimerExpires
                | Event::DelayOpenTimerExpires,
            ) => {
                let n = self.fsm_error();
                self.local_error(now, n);
            }
        }
    }

    /// Closes this connection as the loser of a collision, or as the old session of a
    /// restarted GR peer.
    pub(crate) fn close_for_collision(&mut self, now: Instant, graceful_replace: bool) {
        self.stopped = true;
        if graceful_replace {
            // RFC 4724 §4.2: close the old session without a NOTIFICATION.
            self.error_exit(now, None, Reason::PeerRestarted, false, false);
        } else {
            let n = Notification::new(
                ErrorCode::CEASE,
                subcode::cease::CONNECTION_COLLISION_RESOLUTION,
                vec![],
            );
            self.error_exit(now, Some(n), Reason::CollisionResolved, true, false);
        }
    }
}
