//! Transmission (RFC 5880 §6.8.7): interval, jitter and packet contents.

use std::time::{Duration, Instant};

use rand::Rng as _;

use super::Session;
use super::timers::Timer;
use crate::packet::{self, Repr, State};

impl Session {
    /// §6.8.7 periodic interval in µs: max(DesiredMinTx in use,
    /// RemoteMinRxInterval). While a Poll for a raised DesiredMinTx runs,
    /// the old, smaller value stays in use (§6.8.3).
    pub(crate) fn tx_interval_us(&self) -> u32 {
        let desired = self
            .tx_floor
            .map_or(self.desired_min_tx, |f| f.min(self.desired_min_tx));
        desired.max(self.remote_min_rx)
    }

    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
    //# The periodic transmission of BFD Control packets MUST be jittered on
    //# a per-packet basis by up to 25%, that is, the interval MUST be
    //# reduced by a random value of 0 to 25% [...]
    //# If bfd.DetectMult is equal to 1, the interval between transmitted BFD
    //# Control packets MUST be no more than 90% of the negotiated
    //# transmission interval, and MUST be no less than 75% of the
    //# negotiated transmission interval.
    pub(crate) fn jittered(&mut self, interval_us: u32) -> Duration {
        let hi = if self.cfg.detect_mult == 1 { 900 } else { 1000 };
        let permille = self.rng.random_range(750..=hi);
        Duration::from_micros(u64::from(interval_us) * permille / 1000)
    }

    /// Recompute the interval after an input; when it changed, the next
    /// packet is due one (jittered) new interval after the last one, or at
    /// once if that time has passed (§6.8.3, rule 35).
    pub(crate) fn update_tx_interval(&mut self, now: Instant) {
        let new = self.tx_interval_us();
        if new == self.tx_interval_in_use {
            return;
        }
        self.tx_interval_in_use = new;
        if self.timers.get(Timer::Tx).is_none() {
            return;
        }
        let from = self.last_tx.unwrap_or(now);
        let at = (from + self.jittered(new)).max(now);
        self.timers.set(Timer::Tx, at);
    }

    /// Whether periodic packets may go out now (§6.8.7).
    pub(crate) fn periodic_allowed(&self) -> bool {
        //# A system MUST NOT transmit BFD Control packets if bfd.RemoteDiscr
        //# is zero and the system is taking the Passive role.
        if self.cfg.passive && self.remote_discr == 0 {
            return false;
        }
        //# A system MUST NOT periodically transmit BFD Control packets if
        //# bfd.RemoteMinRxInterval is zero.
        if self.remote_min_rx == 0 {
            return false;
        }
        //# A system MUST NOT periodically transmit BFD Control packets if
        //# Demand mode is active on the remote system (bfd.RemoteDemandMode
        //# is 1, bfd.SessionState is Up, and bfd.RemoteSessionState is Up)
        //# and a Poll Sequence is not being transmitted.
        !(self.remote_demand
            && self.state == State::Up
            && self.remote_state == State::Up
            && !self.poll.active)
    }

    /// Build the next packet into `buf` if one is due; see
    /// [`Session::poll_transmit`].
    pub(crate) fn build(&mut self, now: Instant, buf: &mut [u8]) -> Option<usize> {
        let final_ = self.send_final;
        let extra = self.send_now;
        let periodic = self.tx_pending;
        self.send_final = false;
        self.send_now = false;
        self.tx_pending = false;
        if !self.tx_enabled && !final_ {
            return None;
        }
        if self.cfg.passive && self.remote_discr == 0 {
            return None;
        }
        if !final_ && !((periodic || extra) && self.periodic_allowed()) {
            return None;
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.7
        //# Required Min Echo RX Interval ... MUST be zero if [Echo is not
        //# supported]; M bit MUST be zero; A bit set iff bfd.AuthType != 0.
        let repr = Repr {
            diag: self.local_diag,
            state: self.state,
            // P and F never together (§6.5): a Final goes out without P and
            // the Poll continues on the next periodic packet.
            poll: self.poll.active && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: self.cfg.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_interval: self.desired_min_tx,
            required_min_rx_interval: self.required_min_rx,
            required_min_echo_rx_interval: 0,
            auth: None,
        };
        let mut len = repr.emit(buf);
        if let Some(auth) = &self.cfg.auth {
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.7.3
            //# For Meticulous Keyed MD5, bfd.XmitAuthSeq MUST be incremented
            //# [on every packet]; for Keyed MD5 it MAY be incremented.
            // Keyed types bump at most once a second, as BIRD does, so a
            // burst of losses never walks us out of the peer's window.
            let bump = auth.kind().is_meticulous()
                || self
                    .seq_bumped_at
                    .is_none_or(|t| now >= t + Duration::from_secs(1));
            if bump {
                self.seq.xmit = self.seq.xmit.wrapping_add(1);
                self.seq_bumped_at = Some(now);
            }
            len += auth.auth_len();
            packet::set_auth_present(buf, len as u8);
            auth.sign(&mut buf[..len], self.seq.xmit);
        }
        self.last_tx = Some(now);
        self.counters.packets_out += 1;
        Some(len)
    }
}
