//! The session's timers: an enum indexing a fixed table (house style rule
//! 18). The next deadline is the smallest entry; there is no heap.

use std::time::Instant;

/// A session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Timer {
    /// Next periodic Control packet (RFC 5880 §6.8.7).
    Tx,
    /// Detection Time since the last accepted packet (§6.8.4). Runs in every
    /// state: in Init/Up it takes the session Down; in any state it resets
    /// bfd.RemoteDiscr and bfd.RemoteMinRxInterval (§6.8.1, §6.8.18).
    Detect,
    /// 2 x Detection Time without packets: bfd.AuthSeqKnown = 0 (§6.8.1).
    AuthSeq,
    /// One Detection Time after going AdminDown: stop transmitting
    /// (§6.8.16 "SHOULD ... for at least a Detection Time").
    AdminStop,
}

impl Timer {
    /// All timers, in table order.
    pub const ALL: [Timer; 4] = [Timer::Tx, Timer::Detect, Timer::AuthSeq, Timer::AdminStop];
}

/// Deadlines indexed by [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    at: [Option<Instant>; 4],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.at[t as usize] = Some(at);
    }
    pub(crate) fn stop(&mut self, t: Timer) {
        self.at[t as usize] = None;
    }
    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.at[t as usize]
    }
    pub(crate) fn is_expired(&self, t: Timer, now: Instant) -> bool {
        self.at[t as usize].is_some_and(|at| at <= now)
    }
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}
