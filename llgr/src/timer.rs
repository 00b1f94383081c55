//! Per-peer timers as an enum indexing a fixed table (style rule 18): no timer heap.

use std::time::{Duration, Instant};

use crate::peer::Family;

/// The timers a peer can have armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// RFC 4724 §4.2 Restart Time: started on a graceful loss, stopped on re-establishment.
    GrRestart,
    /// RFC 9494 §4.2 long-lived stale time of one family: runs until End-of-RIB.
    LlgrStale(Family),
    /// RFC 4724 §4.2 optional upper bound on waiting for End-of-RIB after re-establishment.
    EorWait(Family),
}

impl Timer {
    pub(crate) const ALL: [Timer; 5] = [
        Timer::GrRestart,
        Timer::LlgrStale(Family::Ipv4Unicast),
        Timer::LlgrStale(Family::Ipv6Unicast),
        Timer::EorWait(Family::Ipv4Unicast),
        Timer::EorWait(Family::Ipv6Unicast),
    ];

    fn idx(self) -> usize {
        match self {
            Timer::GrRestart => 0,
            Timer::LlgrStale(f) => 1 + f.idx(),
            Timer::EorWait(f) => 3 + f.idx(),
        }
    }
}

/// Deadlines of one peer.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable([Option<Instant>; 5]);

impl TimerTable {
    /// Arm `t` to fire `after` from `now`. A deadline past what `Instant` can represent
    /// (absurd configured bounds) leaves the timer unarmed: it never fires.
    pub(crate) fn set_after(&mut self, t: Timer, now: Instant, after: Duration) {
        self.0[t.idx()] = now.checked_add(after);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.0[t.idx()] = None;
    }

    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t.idx()]
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}
