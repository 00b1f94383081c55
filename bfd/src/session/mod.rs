//! One BFD session (RFC 5880 §6), sans-IO.
//!
//! # Call protocol
//!
//! ```text
//!            handle_packet(now, bytes, ttl)   admin_down / admin_up / path_down
//!            handle_timeout(now)              set_timers / set_auth       (now)
//!                        |                               |
//!                        v                               v
//!                   +-------------------------------------------+
//!                   |                  Session                  |
//!                   +-------------------------------------------+
//!                     |                 |                    |
//!    poll_transmit(now, buf)     poll_timeout()         poll_event()
//!    -> Option<len>              -> Option<Instant>     -> Option<Event>
//! ```
//!
//! After every input, drain `poll_transmit` until `None`, drain
//! `poll_event`, then sleep until `poll_timeout()` and call
//! `handle_timeout` with the then-current time. `now` must never go
//! backwards. The session never reads a clock and takes its randomness
//! (jitter, initial sequence number) from a seed given to [`Session::new`].

mod rx;
mod state;
mod timers;
mod tx;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng as _};

pub use rx::DropReason;
pub(crate) use rx::{check_header, check_zero_your_discr};
pub use timers::Timer;

use self::state::{Input, transition};
use self::timers::TimerTable;
use crate::auth::{Auth, SeqState};
use crate::packet::{Diag, Packet, State};

/// Timer and role parameters of a session (RFC 5880 §6.8.1 bfd.* variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// bfd.DesiredMinTxInterval once Up (while not Up, the larger of this
    /// and [`idle_tx`](Self::idle_tx) is used, §6.8.3).
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval; zero asks the peer to send nothing.
    pub required_min_rx: Duration,
    /// bfd.DetectMult, nonzero.
    pub detect_mult: u8,
    /// Passive role (§6.1): send nothing until the peer has spoken. Single
    /// hop sessions (RFC 5881 §3) are normally active.
    pub passive: bool,
    /// Authentication, if any (§6.7).
    pub auth: Option<Auth>,
    /// bfd.DesiredMinTxInterval while not Up: advertised and used as the
    /// transmit interval (jittered as usual) until the session is Up, like
    /// BIRD's `idle tx interval` and Calico's `idleSendInterval`. RFC 5880
    /// §6.8.3 requires at least one second ([`MIN_IDLE_TX`]); a smaller
    /// value is rejected with [`ConfigError::IdleTx`] rather than clamped,
    /// so that a session never advertises a value other than the one
    /// configured. Default 1 s.
    pub idle_tx: Duration,
}

/// The smallest [`Config::idle_tx`]: RFC 5880 §6.8.3 "When
/// bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval
/// to a value of not less than one second".
pub const MIN_IDLE_TX: Duration = Duration::from_secs(1);

impl Default for Config {
    /// 300 ms x 3, 1 s while not Up, active, no authentication.
    fn default() -> Self {
        Self {
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
            passive: false,
            auth: None,
            idle_tx: MIN_IDLE_TX,
        }
    }
}

/// A rejected [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Detect Mult must be nonzero (§6.8.1).
    #[error("detect multiplier must be nonzero")]
    ZeroDetectMult,
    /// Desired Min TX must be 1 µs ..= u32::MAX µs (§4.1: "MUST be nonzero").
    #[error("desired min tx {0:?} outside 1us..=4294s")]
    DesiredMinTx(Duration),
    /// Required Min RX must fit in 32 bits of µs.
    #[error("required min rx {0:?} above 4294s")]
    RequiredMinRx(Duration),
    /// The interval while not Up must be 1 s ..= u32::MAX µs (§6.8.3: "not
    /// less than one second"; §4.1: 32 bits of µs).
    #[error("idle tx {0:?} outside 1s..=4294s")]
    IdleTx(Duration),
}

/// A [`Config`]'s intervals in µs, checked.
#[derive(Debug, Clone, Copy)]
struct Micros {
    tx: u32,
    rx: u32,
    idle: u32,
}

impl Config {
    fn check(&self) -> Result<Micros, ConfigError> {
        if self.detect_mult == 0 {
            return Err(ConfigError::ZeroDetectMult);
        }
        let tx = u32::try_from(self.desired_min_tx.as_micros())
            .ok()
            .filter(|&v| v > 0)
            .ok_or(ConfigError::DesiredMinTx(self.desired_min_tx))?;
        let rx = u32::try_from(self.required_min_rx.as_micros())
            .map_err(|_| ConfigError::RequiredMinRx(self.required_min_rx))?;
        let idle = u32::try_from(self.idle_tx.as_micros())
            .ok()
            .filter(|_| self.idle_tx >= MIN_IDLE_TX)
            .ok_or(ConfigError::IdleTx(self.idle_tx))?;
        Ok(Micros { tx, rx, idle })
    }
}

/// A state change, reported to clients (RFC 5882).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// bfd.LocalDiag after the change: why it happened.
    pub diag: Diag,
    /// bfd.RemoteSessionState when it happened.
    pub remote_state: State,
    /// When it happened.
    pub at: Instant,
}

impl StateChange {
    /// An administrative change on either side: local AdminDown, or Down
    /// because the remote signalled AdminDown. RFC 5882 §4.1-§4.2: clients
    /// SHOULD NOT treat these as path failures.
    pub fn is_admin_down(&self) -> bool {
        self.to == State::AdminDown
            || (self.to == State::Down
                && self.diag == Diag::NeighborSignaledSessionDown
                && self.remote_state == State::AdminDown)
    }

    /// A forwarding-path failure a client should act on: leaving Up for
    /// Down for any reason other than AdminDown (RFC 5882 §3.2, §4.2).
    /// Bring-up transitions never count (§3.3).
    pub fn is_failure(&self) -> bool {
        self.from == State::Up && self.to == State::Down && !self.is_admin_down()
    }
}

/// Something a session reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// bfd.SessionState changed.
    StateChange(StateChange),
    /// A Poll Sequence we started ended with a Final (§6.5); deferred timer
    /// values are now in effect.
    PollComplete,
}

/// Per-reason discard counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::COUNT]);

impl Default for DropCounters {
    fn default() -> Self {
        Self([0; DropReason::COUNT])
    }
}

impl DropCounters {
    /// Packets discarded for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }
    /// All discards.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    /// Nonzero counters, in §6.8.6 order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|&(_, n)| n > 0)
    }
    pub(crate) fn count(&mut self, reason: DropReason) {
        self.0[reason as usize] += 1;
    }
}

/// Per-session counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets accepted (past every §6.8.6 discard).
    pub packets_in: u64,
    /// Packets built by `poll_transmit`.
    pub packets_out: u64,
    /// Discards by reason.
    pub drops: DropCounters,
    /// State changes.
    pub state_changes: u64,
    /// Time of the last state change.
    pub last_change: Option<Instant>,
    /// Poll Sequences completed.
    pub polls_completed: u64,
}

impl Counters {
    pub(crate) fn count_drop(&mut self, r: DropReason) {
        self.drops.count(r);
    }
}

/// A read-only copy of a session's variables and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// Diag last received.
    pub remote_diag: Diag,
    /// bfd.LocalDiscr.
    pub local_discr: u32,
    /// bfd.RemoteDiscr.
    pub remote_discr: u32,
    /// bfd.DesiredMinTxInterval as advertised, µs.
    pub desired_min_tx_us: u32,
    /// bfd.RequiredMinRxInterval as advertised, µs.
    pub required_min_rx_us: u32,
    /// bfd.RemoteMinRxInterval, µs.
    pub remote_min_rx_us: u32,
    /// Periodic transmit interval in use (before jitter), µs.
    pub tx_interval_us: u32,
    /// Detection Time in use.
    pub detection_time: Duration,
    /// A Poll Sequence is running.
    pub polling: bool,
    /// bfd.RemoteDemandMode.
    pub remote_demand: bool,
    /// Counters.
    pub counters: Counters,
}

#[derive(Debug, Clone, Copy, Default)]
struct Poll {
    active: bool,
    /// Values changed again during the Poll: poll once more (§6.8.3, rule 36).
    repeat: bool,
}

/// One BFD session: the bfd.* variables of RFC 5880 §6.8.1, the state
/// machine, reception, transmission and timers.
///
/// Call protocol: inputs are [`handle_packet`](Self::handle_packet) and
/// [`handle_timeout`](Self::handle_timeout), commands are verbs
/// ([`admin_down`](Self::admin_down), [`set_timers`](Self::set_timers), ...),
/// outputs are `poll_*`. After every input drain
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event)
/// until `None`, then wake at [`poll_timeout`](Self::poll_timeout). Every
/// call takes `now`, which must never go backwards; the session reads no
/// clock. See the [module docs](self) for a diagram.
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    local_discr: u32,
    state: State,
    remote_state: State,
    remote_discr: u32,
    local_diag: Diag,
    remote_diag: Diag,
    /// bfd.DesiredMinTxInterval as advertised, µs.
    desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval as advertised, µs.
    required_min_rx: u32,
    /// Checked intervals of `cfg`, µs.
    cfg_us: Micros,
    remote_min_rx: u32,
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// §6.8.3: old, smaller DesiredMinTx kept in use until the Poll ends.
    tx_floor: Option<u32>,
    /// §6.8.3: old, larger RequiredMinRx kept in the Detection Time until
    /// the Poll ends.
    rx_floor: Option<u32>,
    tx_interval_in_use: u32,
    poll: Poll,
    send_final: bool,
    send_now: bool,
    tx_pending: bool,
    tx_enabled: bool,
    last_tx: Option<Instant>,
    last_rx: Option<Instant>,
    seq: SeqState,
    seq_bumped_at: Option<Instant>,
    timers: TimerTable,
    rng: SmallRng,
    events: VecDeque<Event>,
    counters: Counters,
}

impl Session {
    /// A new session in state Down (§6.8.1 initial values). `local_discr`
    /// must be nonzero and unique on this system ([`crate::Engine`] picks
    /// random ones); `seed` drives jitter and the initial sequence number.
    ///
    /// The first packet is due at `now` unless the role is passive.
    pub fn new(
        now: Instant,
        local_discr: u32,
        cfg: Config,
        seed: u64,
    ) -> Result<Self, ConfigError> {
        let m = cfg.check()?;
        let mut rng = SmallRng::seed_from_u64(seed);
        let xmit = rng.random();
        let mut s = Self {
            local_discr,
            state: State::Down,
            remote_state: State::Down,
            remote_discr: 0,
            local_diag: Diag::None,
            remote_diag: Diag::None,
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.3
            //# When bfd.SessionState is not Up, the system MUST set
            //# bfd.DesiredMinTxInterval to a value of not less than one
            //# second (1,000,000 microseconds).
            desired_min_tx: m.tx.max(m.idle),
            required_min_rx: m.rx,
            cfg_us: m,
            remote_min_rx: 1,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            tx_floor: None,
            rx_floor: None,
            tx_interval_in_use: 0,
            poll: Poll::default(),
            send_final: false,
            send_now: false,
            tx_pending: false,
            tx_enabled: true,
            last_tx: None,
            last_rx: None,
            seq: SeqState::new(xmit),
            seq_bumped_at: None,
            timers: TimerTable::default(),
            rng,
            events: VecDeque::new(),
            counters: Counters::default(),
            cfg,
        };
        s.tx_interval_in_use = s.tx_interval_us();
        // The first packet is due at once; the next one a jittered interval later.
        s.tx_pending = true;
        let d = s.jittered(s.tx_interval_in_use);
        s.timers.set(Timer::Tx, now + d);
        Ok(s)
    }

    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }
    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }
    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Detection Time in use (§6.8.4): remote Detect Mult x max(our
    /// RequiredMinRx - or the old, larger value while a Poll runs - and the
    /// last received Desired Min TX). Zero before any packet.
    pub fn detection_time(&self) -> Duration {
        let rx = self
            .rx_floor
            .map_or(self.required_min_rx, |f| f.max(self.required_min_rx));
        let interval = u64::from(rx.max(self.remote_desired_min_tx));
        Duration::from_micros(u64::from(self.remote_detect_mult) * interval)
    }

    /// A copy of the variables and counters.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            state: self.state,
            remote_state: self.remote_state,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            local_discr: self.local_discr,
            remote_discr: self.remote_discr,
            desired_min_tx_us: self.desired_min_tx,
            required_min_rx_us: self.required_min_rx,
            remote_min_rx_us: self.remote_min_rx,
            tx_interval_us: self.tx_interval_in_use,
            detection_time: self.detection_time(),
            polling: self.poll.active,
            remote_demand: self.remote_demand,
            counters: self.counters,
        }
    }

    /// Feed a received datagram payload. `ttl` is the received TTL / Hop
    /// Limit when the transport reports it (RFC 5881 §5).
    ///
    /// Runs the whole §6.8.6 ladder, including the discriminator checks a
    /// session table would do ([`crate::Engine`] demultiplexes first and
    /// then runs only the per-session part). Every discard is counted.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        bytes: &[u8],
        ttl: Option<u8>,
    ) -> Result<(), DropReason> {
        let p = match Packet::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => return Err(self.count(e.into())),
        };
        if let Err(r) = check_header(&p).and_then(|()| check_zero_your_discr(&p)) {
            return Err(self.count(r));
        }
        let your = p.your_discriminator();
        if your != 0 && your != self.local_discr {
            return Err(self.count(DropReason::UnknownYourDiscriminator));
        }
        self.receive(now, &p, ttl)
    }

    fn count(&mut self, r: DropReason) -> DropReason {
        self.counters.count_drop(r);
        r
    }

    /// Process every timer that has expired at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.is_expired(Timer::Detect, now) {
            self.timers.stop(Timer::Detect);
            self.on_detect_timer_expired(now);
        }
        if self.timers.is_expired(Timer::AuthSeq, now) {
            self.timers.stop(Timer::AuthSeq);
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.1
            //# bfd.AuthSeqKnown [...] MUST be set to zero after no packets
            //# have been received on this session for at least twice the
            //# Detection Time.
            self.seq.known = false;
        }
        if self.timers.is_expired(Timer::AdminStop, now) {
            self.timers.stop(Timer::AdminStop);
            self.tx_enabled = false;
            self.timers.stop(Timer::Tx);
        }
        if self.timers.is_expired(Timer::Tx, now) {
            self.tx_pending = true;
            let d = self.jittered(self.tx_interval_in_use);
            self.timers.set(Timer::Tx, now + d);
        }
    }

    /// Write the next packet to send into `buf` (at least
    /// [`crate::packet::MAX_LEN`] bytes) and return its length; `None` when
    /// nothing is due. Call until it returns `None`.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        self.build(now, buf)
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has something to do.
    pub fn wants_transmit(&self) -> bool {
        self.send_final || self.send_now || self.tx_pending
    }

    /// Still transmitting (false once an AdminDown session has sent for a
    /// Detection Time, §6.8.16).
    pub fn is_transmitting(&self) -> bool {
        self.tx_enabled
    }

    /// The earliest timer deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The next event to report.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Administratively disable (§6.8.16): AdminDown, diag 7. Packets keep
    /// going out for one Detection Time, then stop.
    pub fn admin_down(&mut self, now: Instant) {
        self.input(now, Input::AdminDisable(Diag::AdministrativelyDown));
    }

    /// Administratively enable (§6.8.16): AdminDown goes to Down.
    pub fn admin_up(&mut self, now: Instant) {
        self.input(now, Input::AdminEnable);
    }

    /// A lower layer reports the local path down (e.g. the link lost
    /// carrier): Init/Up go Down at once with diag 5 Path Down instead of
    /// waiting for the Detection Time. We take Down rather than AdminDown
    /// (§6.8.16 allows either) so that clients see a failure and act on it
    /// (RFC 5882 §4.1 tells clients to ignore AdminDown).
    pub fn path_down(&mut self, now: Instant) {
        self.input(now, Input::PathDown(Diag::PathDown));
    }

    /// Forwarding-plane reset (§6.8.17 diag 4): Down at once.
    pub fn forwarding_plane_reset(&mut self, now: Instant) {
        self.input(now, Input::PathDown(Diag::ForwardingPlaneReset));
    }

    fn input(&mut self, now: Instant, input: Input) {
        if let Some((next, diag)) = transition(self.state, input) {
            self.set_state(now, next, diag);
        }
    }

    /// Change the timers (§6.8.3). While Up a change of DesiredMinTx or
    /// RequiredMinRx starts a Poll; a raised DesiredMinTx and a lowered
    /// RequiredMinRx take effect when it ends. Detect Mult changes at once
    /// (§6.8.12).
    pub fn set_timers(
        &mut self,
        now: Instant,
        desired_min_tx: Duration,
        required_min_rx: Duration,
        detect_mult: u8,
    ) -> Result<(), ConfigError> {
        let cfg = Config {
            desired_min_tx,
            required_min_rx,
            detect_mult,
            ..self.cfg.clone()
        };
        self.set_config(now, cfg)
    }

    /// Replace the whole configuration except the role: timers as in
    /// [`set_timers`](Self::set_timers), [`Config::idle_tx`] (no Poll: it
    /// only matters while not Up, where no Poll runs) and authentication
    /// as in [`set_auth`](Self::set_auth). `cfg.passive` is ignored.
    pub fn set_config(&mut self, now: Instant, cfg: Config) -> Result<(), ConfigError> {
        let m = cfg.check()?;
        let (tx, rx) = (m.tx, m.rx);
        self.cfg = Config {
            passive: self.cfg.passive,
            ..cfg
        };
        self.cfg_us = m;
        let up = self.state == State::Up;
        let new_tx = if up { tx } else { tx.max(m.idle) };
        let mut changed = false;
        if new_tx != self.desired_min_tx {
            if up && new_tx > self.desired_min_tx {
                self.tx_floor = Some(self.tx_floor.unwrap_or(self.desired_min_tx));
            }
            self.desired_min_tx = new_tx;
            changed = true;
        }
        if rx != self.required_min_rx {
            if up && rx < self.required_min_rx {
                self.rx_floor = Some(self.rx_floor.unwrap_or(0).max(self.required_min_rx));
            }
            self.required_min_rx = rx;
            changed = true;
        }
        if changed && up {
            self.start_poll();
        }
        self.update_tx_interval(now);
        self.rearm_detect();
        Ok(())
    }

    /// Replace the authentication (for key rotation, pass a key ring with
    /// the old and the new key and the new transmit key; §6.7.1 lets
    /// several keys be accepted). Sequence state is kept.
    pub fn set_auth(&mut self, auth: Option<Auth>) {
        self.cfg.auth = auth;
    }

    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.3
    //# When bfd.DesiredMinTxInterval or bfd.RequiredMinRxInterval changes
    //# [...] a Poll Sequence MUST be initiated (see section 6.5).
    fn start_poll(&mut self) {
        if self.poll.active {
            self.poll.repeat = true;
        } else {
            self.poll.active = true;
        }
    }

    /// Final received (§6.8.6): end the Poll and apply deferred values.
    fn on_final(&mut self) {
        if !self.poll.active {
            return;
        }
        if self.poll.repeat {
            // The Final may answer a Poll sent before the latest change:
            // poll once more before applying (§6.8.3, rule 36).
            self.poll.repeat = false;
            return;
        }
        self.poll.active = false;
        self.tx_floor = None;
        self.rx_floor = None;
        self.counters.polls_completed += 1;
        self.events.push_back(Event::PollComplete);
    }

    fn arm_detect(&mut self, now: Instant) {
        self.timers.set(Timer::Detect, now + self.detection_time());
    }

    fn rearm_detect(&mut self) {
        if let (Some(last), Some(_)) = (self.last_rx, self.timers.get(Timer::Detect)) {
            self.timers.set(Timer::Detect, last + self.detection_time());
        }
    }

    fn on_detect_timer_expired(&mut self, now: Instant) {
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.4
        //# If Demand mode is not active, and a period of time equal to the
        //# Detection Time passes without receiving a BFD Control packet from
        //# the remote system, and bfd.SessionState is Init or Up, the
        //# session has gone down -- the local system MUST set
        //# bfd.SessionState to Down and bfd.LocalDiag to 1.
        self.input(now, Input::DetectTimerExpired);
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.1
        //# bfd.RemoteDiscr [...] MUST be reset to zero if no packets have
        //# been received from the remote system for a Detection Time.
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.18
        // Session variables are kept for that Detection Time; then
        // RemoteMinRxInterval returns to its initial value 1 (§6.8.1).
        self.remote_discr = 0;
        self.remote_min_rx = 1;
        self.remote_demand = false;
        self.update_tx_interval(now);
    }

    fn set_state(&mut self, now: Instant, next: State, diag: Diag) {
        let from = self.state;
        self.state = next;
        self.local_diag = diag;
        self.counters.state_changes += 1;
        self.counters.last_change = Some(now);
        self.events.push_back(Event::StateChange(StateChange {
            from,
            to: next,
            diag,
            remote_state: self.remote_state,
            at: now,
        }));
        let Micros { tx, idle, .. } = self.cfg_us;
        if next == State::Up {
            // Leaving the slow idle rate is a timer change: Poll (rule 29).
            if self.desired_min_tx != tx {
                self.desired_min_tx = tx;
                self.start_poll();
            }
        } else {
            //# When bfd.SessionState is not Up, the system MUST set
            //# bfd.DesiredMinTxInterval to a value of not less than one second
            self.desired_min_tx = tx.max(idle);
            self.poll = Poll::default();
            self.tx_floor = None;
            self.rx_floor = None;
        }
        match (from, next) {
            (_, State::AdminDown) => {
                //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.16
                //# the system SHOULD [transmit] for at least a Detection
                //# Time with bfd.SessionState AdminDown.
                let detect = self.detection_time().max(
                    Duration::from_micros(u64::from(self.desired_min_tx))
                        * u32::from(self.cfg.detect_mult),
                );
                self.timers.set(Timer::AdminStop, now + detect);
            }
            (State::AdminDown, _) => {
                self.timers.stop(Timer::AdminStop);
                self.tx_enabled = true;
                let d = self.jittered(self.tx_interval_us());
                self.timers.set(Timer::Tx, now + d);
            }
            _ => {}
        }
        self.update_tx_interval(now);
        self.rearm_detect();
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
        //# [A system] SHOULD transmit a BFD Control packet [at once] when
        //# the contents of the next packet change, e.g. the state.
        self.send_now = true;
    }
}

#[cfg(test)]
mod tests {
    use super::state::{Input, transition};
    use crate::packet::{Diag, State};

    /// Style rule 19: snapshot of the full transition table, written by
    /// hand from RFC 5880 §6.2 / §6.8.6.
    #[test]
    fn transition_table_snapshot() {
        use State::*;
        let states = [AdminDown, Down, Init, Up];
        let mut got = String::new();
        for s in states {
            for r in states {
                let t = transition(s, Input::Received(r));
                got += &format!("{s} --rx {r}--> {:?}\n", t.map(|(n, d)| (n, u8::from(d))));
            }
            for (name, i) in [
                ("timer", Input::DetectTimerExpired),
                (
                    "admin-down",
                    Input::AdminDisable(Diag::AdministrativelyDown),
                ),
                ("admin-up", Input::AdminEnable),
                ("path-down", Input::PathDown(Diag::PathDown)),
            ] {
                got += &format!(
                    "{s} --{name}--> {:?}\n",
                    transition(s, i).map(|(n, d)| (n, u8::from(d)))
                );
            }
        }
        let want = "\
AdminDown --rx AdminDown--> None
AdminDown --rx Down--> None
AdminDown --rx Init--> None
AdminDown --rx Up--> None
AdminDown --timer--> None
AdminDown --admin-down--> None
AdminDown --admin-up--> Some((Down, 0))
AdminDown --path-down--> None
Down --rx AdminDown--> None
Down --rx Down--> Some((Init, 0))
Down --rx Init--> Some((Up, 0))
Down --rx Up--> None
Down --timer--> None
Down --admin-down--> Some((AdminDown, 7))
Down --admin-up--> None
Down --path-down--> None
Init --rx AdminDown--> Some((Down, 3))
Init --rx Down--> None
Init --rx Init--> Some((Up, 0))
Init --rx Up--> Some((Up, 0))
Init --timer--> Some((Down, 1))
Init --admin-down--> Some((AdminDown, 7))
Init --admin-up--> None
Init --path-down--> Some((Down, 5))
Up --rx AdminDown--> Some((Down, 3))
Up --rx Down--> Some((Down, 3))
Up --rx Init--> None
Up --rx Up--> None
Up --timer--> Some((Down, 1))
Up --admin-down--> Some((AdminDown, 7))
Up --admin-up--> None
Up --path-down--> Some((Down, 5))
";
        assert_eq!(got, want);
    }
}
