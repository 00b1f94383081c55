//! The session table (RFC 5880 §6.3) and the client API of RFC 5882.
//!
//! An [`Engine`] owns many [`Session`]s, demultiplexes received packets by
//! Your Discriminator (or by peer address, interface and address family
//! when it is zero), keeps one deadline queue for all sessions and one
//! queue of sessions with packets to send, so that a runtime does O(log n)
//! work per event and allocates nothing per packet.
//!
//! Same call protocol as [`Session`], with a [`SessionId`] on every output.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng as _};

use crate::packet::Packet;
use crate::session::{
    self, Config, ConfigError, DropCounters, DropReason, Event, Session, Snapshot, check_header,
    check_zero_your_discr,
};

/// A session handle: its local discriminator, unique on the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u32);

/// Where a single-hop session runs: one per (peer, interface, family)
/// (RFC 5881 §3). The family is the peer address's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    /// The peer's address (destination of our packets).
    pub peer: IpAddr,
    /// Our source address, if pinned.
    pub local: Option<IpAddr>,
    /// The interface index, for single hop; `None` matches any.
    pub ifindex: Option<u32>,
}

impl Path {
    fn key(&self) -> (IpAddr, Option<u32>) {
        (self.peer, self.ifindex)
    }
}

/// What a client asks for (RFC 5882 §2, BIRD's `bfd_request_session`).
#[derive(Debug, Clone)]
pub struct Request {
    /// Peer, local address, interface.
    pub path: Path,
    /// Timers, role and authentication.
    pub config: Config,
}

/// Metadata of a received datagram, from the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxMeta {
    /// Source address.
    pub source: IpAddr,
    /// Receiving interface, if known.
    pub ifindex: Option<u32>,
    /// TTL / Hop Limit, if known (RFC 5881 §5).
    pub ttl: Option<u8>,
}

/// A packet to send, written into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Sending session (the runtime maps it to its source port).
    pub session: SessionId,
    /// Destination, UDP port 3784.
    pub path: Path,
    /// Bytes written.
    pub len: usize,
}

/// An engine error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session for this (peer, interface, family) exists (RFC 5881 §3).
    #[error("a session to {peer} on interface {ifindex:?} exists: {existing:?}")]
    Duplicate {
        /// Peer.
        peer: IpAddr,
        /// Interface.
        ifindex: Option<u32>,
        /// The existing session.
        existing: SessionId,
    },
    /// The session configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No such session.
    #[error("no session {0:?}")]
    NoSuchSession(SessionId),
}

#[derive(Debug)]
struct Slot {
    session: Session,
    path: Path,
    /// Deadline currently in the queue for this session.
    queued: Option<Instant>,
    in_ready: bool,
    /// Released by the client: deleted when it stops transmitting.
    releasing: bool,
}

/// A table of BFD sessions.
///
/// Call protocol, as for [`Session`]: feed [`handle_packet`](Self::handle_packet)
/// and [`handle_timeout`](Self::handle_timeout), issue commands
/// ([`add_session`](Self::add_session), [`admin_down`](Self::admin_down),
/// [`path_down`](Self::path_down), ...), then drain
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event)
/// until `None` and sleep until [`poll_timeout`](Self::poll_timeout). `now`
/// never goes backwards. Work per event is O(log n) in the number of
/// sessions (one deadline heap, one ready queue); nothing is allocated per
/// packet.
#[derive(Debug)]
pub struct Engine {
    slots: HashMap<u32, Slot>,
    by_path: HashMap<(IpAddr, Option<u32>), u32>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    ready: VecDeque<u32>,
    events: VecDeque<(SessionId, Event)>,
    drops: DropCounters,
    rng: SmallRng,
}

impl Engine {
    /// An empty engine; `seed` drives discriminators and per-session
    /// jitter (the runtime seeds it from the OS, tests from a constant).
    pub fn new(seed: u64) -> Self {
        Self {
            slots: HashMap::new(),
            by_path: HashMap::new(),
            deadlines: BinaryHeap::new(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            drops: DropCounters::default(),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Create a session (RFC 5882 §2). Its discriminator is random, nonzero
    /// and unique (§6.8.1).
    pub fn add_session(&mut self, now: Instant, req: Request) -> Result<SessionId, Error> {
        if let Some(&d) = self.by_path.get(&req.path.key()) {
            return Err(Error::Duplicate {
                peer: req.path.peer,
                ifindex: req.path.ifindex,
                existing: SessionId(d),
            });
        }
        let discr = loop {
            let d: u32 = self.rng.random();
            if d != 0 && !self.slots.contains_key(&d) {
                break d;
            }
        };
        let session = Session::new(now, discr, req.config, self.rng.random())?;
        self.by_path.insert(req.path.key(), discr);
        self.slots.insert(
            discr,
            Slot {
                session,
                path: req.path,
                queued: None,
                in_ready: false,
                releasing: false,
            },
        );
        self.after(discr);
        Ok(SessionId(discr))
    }

    /// Release a session: it goes AdminDown, keeps sending for a Detection
    /// Time (§6.8.16) and is then deleted (§6.8.18). Its path is free for a
    /// new request at once.
    pub fn remove_session(&mut self, now: Instant, id: SessionId) -> Result<(), Error> {
        let slot = self.slots.get_mut(&id.0).ok_or(Error::NoSuchSession(id))?;
        slot.session.admin_down(now);
        slot.releasing = true;
        if self.by_path.get(&slot.path.key()) == Some(&id.0) {
            self.by_path.remove(&slot.path.key());
        }
        self.after(id.0);
        Ok(())
    }

    /// Run `f` on a session, then queue its outputs.
    fn with<R>(&mut self, id: SessionId, f: impl FnOnce(&mut Session) -> R) -> Result<R, Error> {
        let slot = self.slots.get_mut(&id.0).ok_or(Error::NoSuchSession(id))?;
        let r = f(&mut slot.session);
        self.after(id.0);
        Ok(r)
    }

    /// Administratively disable a session (§6.8.16).
    pub fn admin_down(&mut self, now: Instant, id: SessionId) -> Result<(), Error> {
        self.with(id, |s| s.admin_down(now))
    }

    /// Administratively enable a session (§6.8.16).
    pub fn admin_up(&mut self, now: Instant, id: SessionId) -> Result<(), Error> {
        self.with(id, |s| s.admin_up(now))
    }

    /// Change a session's timers (§6.8.3), idle interval and
    /// authentication; see [`Session::set_config`]. The role is kept.
    pub fn set_timers(&mut self, now: Instant, id: SessionId, cfg: &Config) -> Result<(), Error> {
        let cfg = cfg.clone();
        Ok(self.with(id, |s| s.set_config(now, cfg))??)
    }

    /// The local link `ifindex` lost carrier: its sessions go Down at once
    /// with diag Path Down (see [`Session::path_down`]). Returns how many.
    pub fn path_down(&mut self, now: Instant, ifindex: u32) -> usize {
        let ids: Vec<u32> = self
            .slots
            .iter()
            .filter(|(_, s)| s.path.ifindex == Some(ifindex))
            .map(|(&d, _)| d)
            .collect();
        for &d in &ids {
            let _ = self.with(SessionId(d), |s| s.path_down(now));
        }
        ids.len()
    }

    /// Feed a received datagram: §6.8.6 framing and header checks, then
    /// demultiplexing (§6.3), then the session's own checks. Discards before
    /// demultiplexing are counted in [`Engine::drops`], later ones in the
    /// session's counters.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        bytes: &[u8],
        meta: RxMeta,
    ) -> Result<SessionId, DropReason> {
        let p = match Packet::new_checked(bytes) {
            Ok(p) => p,
            Err(e) => return Err(self.drop(e.into())),
        };
        if let Err(r) = check_header(&p) {
            return Err(self.drop(r));
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the Your Discriminator field is nonzero, it MUST be used to
        //# select the session with which this BFD packet is associated.  If
        //# no session is found, the packet MUST be discarded.
        let your = p.your_discriminator();
        let discr = if your != 0 {
            if !self.slots.contains_key(&your) {
                return Err(self.drop(DropReason::UnknownYourDiscriminator));
            }
            your
        } else {
            if let Err(r) = check_zero_your_discr(&p) {
                return Err(self.drop(r));
            }
            //= https://www.rfc-editor.org/rfc/rfc5881#section-3
            //# [the session is selected by] source address, destination
            //# address, interface [...] one per (interface, peer, family).
            let found = meta
                .ifindex
                .and_then(|i| self.by_path.get(&(meta.source, Some(i))))
                .or_else(|| self.by_path.get(&(meta.source, None)));
            match found {
                Some(&d) => d,
                None => return Err(self.drop(DropReason::NoSessionForPeer)),
            }
        };
        let slot = self
            .slots
            .get_mut(&discr)
            .ok_or(DropReason::UnknownYourDiscriminator)?;
        let r = slot.session.receive(now, &p, meta.ttl);
        self.after(discr);
        r.map(|()| SessionId(discr))
    }

    fn drop(&mut self, r: DropReason) -> DropReason {
        self.drops.count(r);
        r
    }

    /// Process every session timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, d))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(slot) = self.slots.get_mut(&d) else {
                continue;
            };
            if slot.queued != Some(at) {
                continue; // stale entry
            }
            slot.queued = None;
            slot.session.handle_timeout(now);
            if slot.releasing && !slot.session.is_transmitting() {
                self.drain_events(d);
                self.slots.remove(&d);
                continue;
            }
            self.after(d);
        }
    }

    /// Write the next due packet of any session into `buf` (at least
    /// [`crate::packet::MAX_LEN`] bytes).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        while let Some(d) = self.ready.pop_front() {
            let Some(slot) = self.slots.get_mut(&d) else {
                continue;
            };
            slot.in_ready = false;
            if let Some(len) = slot.session.poll_transmit(now, buf) {
                let path = slot.path;
                // More may be due (a Final and a periodic packet).
                if slot.session.wants_transmit() {
                    slot.in_ready = true;
                    self.ready.push_back(d);
                }
                return Some(Transmit {
                    session: SessionId(d),
                    path,
                    len,
                });
            }
        }
        None
    }

    /// The earliest deadline of any session.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        // Drop stale heads so the answer is exact.
        while let Some(&Reverse((at, d))) = self.deadlines.peek() {
            if self.slots.get(&d).is_some_and(|s| s.queued == Some(at)) {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The next event of any session.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<(SessionId, Event)> {
        self.events.pop_front()
    }

    /// A snapshot of one session.
    pub fn snapshot(&self, id: SessionId) -> Option<Snapshot> {
        self.slots.get(&id.0).map(|s| s.session.snapshot())
    }

    /// The session's path.
    pub fn path(&self, id: SessionId) -> Option<Path> {
        self.slots.get(&id.0).map(|s| s.path)
    }

    /// All sessions, including released ones still sending AdminDown.
    pub fn sessions(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.slots.keys().map(|&d| SessionId(d))
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// No sessions.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Discards that happened before a session was found.
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    fn drain_events(&mut self, d: u32) {
        if let Some(slot) = self.slots.get_mut(&d) {
            while let Some(e) = slot.session.poll_event() {
                self.events.push_back((SessionId(d), e));
            }
        }
    }

    /// After any input to session `d`: move its events out, queue it for
    /// transmit, and refresh its deadline in the queue.
    fn after(&mut self, d: u32) {
        self.drain_events(d);
        let Some(slot) = self.slots.get_mut(&d) else {
            return;
        };
        if slot.session.wants_transmit() && !slot.in_ready {
            slot.in_ready = true;
            self.ready.push_back(d);
        }
        let next = slot.session.poll_timeout();
        if next != slot.queued {
            slot.queued = next;
            if let Some(at) = next {
                self.deadlines.push(Reverse((at, d)));
            }
        }
        // Bound the stale entries: rebuild when they dominate.
        if self.deadlines.len() > 64 + 4 * self.slots.len() {
            let slots = &self.slots;
            self.deadlines
                .retain(|Reverse((at, d))| slots.get(d).is_some_and(|s| s.queued == Some(*at)));
        }
    }
}

/// Re-exported for the engine's users.
pub use session::StateChange;
