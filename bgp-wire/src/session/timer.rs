//! The session timers as an enum indexing a fixed table (style rule 18).

use std::time::Instant;

/// The RFC 4271 §8 timers, plus the IdleHoldTimer of §8.1.1 (DampPeerOscillations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Restart a connection attempt (event 13 IdleHoldTimer_Expires → AutomaticStart).
    IdleHold,
    /// ConnectRetryTimer (event 9).
    ConnectRetry,
    /// DelayOpenTimer (event 12).
    DelayOpen,
    /// HoldTimer (event 10).
    Hold,
    /// KeepaliveTimer (event 11).
    Keepalive,
}

impl Timer {
    /// Every timer, in the order their expiries are processed at the same instant.
    pub const ALL: [Timer; 5] = [
        Timer::IdleHold,
        Timer::ConnectRetry,
        Timer::DelayOpen,
        Timer::Hold,
        Timer::Keepalive,
    ];
}

/// One deadline per [`Timer`]; the next deadline is the minimum entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable([Option<Instant>; 5]);

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.0[t as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.0[t as usize] = None;
    }

    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.0[t as usize]
    }

    pub(crate) fn is_running(&self, t: Timer) -> bool {
        self.0[t as usize].is_some()
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; 5];
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// The first timer (in [`Timer::ALL`] order) expired at `now`, cleared.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let t = Timer::ALL
            .into_iter()
            .find(|t| self.get(*t).is_some_and(|d| d <= now))?;
        self.stop(t);
        Some(t)
    }
}
