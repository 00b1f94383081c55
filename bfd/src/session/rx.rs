//! Reception (RFC 5880 §6.8.6): the discard ladder, one early return and one
//! [`DropReason`] per rule, in the RFC's order.

use std::time::Instant;

use super::Session;
use super::state::{Input, transition};
use super::timers::Timer;
use crate::auth::AuthError;
use crate::packet::{self, Packet, State};

macro_rules! drop_reasons {
    ($($(#[$m:meta])* $v:ident => $name:literal,)*) => {
        /// Why a received packet was discarded. Each variant is one rule of
        /// RFC 5880 §6.8.6 / RFC 5881 §5 (listed in the RFC's order) and has
        /// its own counter. A discarded packet changes no session state and
        /// never restarts the Detection Time (§6.8.4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum DropReason {
            $($(#[$m])* $v,)*
        }
        impl DropReason {
            /// Every reason, in §6.8.6 order (the counter index order).
            pub const ALL: &'static [DropReason] = &[$(DropReason::$v,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();
            /// A short stable name (`bad-version`, ...), used by tools.
            pub const fn name(self) -> &'static str {
                match self { $(Self::$v => $name,)* }
            }
        }
    };
}

drop_reasons! {
    /// Datagram shorter than 24 bytes.
    Truncated => "truncated",
    /// Version != 1.
    BadVersion => "bad-version",
    /// Length < 24, or < 26 with the A bit.
    LengthTooShort => "length-too-short",
    /// Length > UDP payload.
    LengthExceedsPayload => "length-exceeds-payload",
    /// Auth Len inconsistent with Length or Auth Type (§4.2-§4.4).
    BadAuthLength => "bad-auth-length",
    /// Detect Mult == 0.
    ZeroDetectMult => "zero-detect-mult",
    /// M bit set.
    MultipointSet => "multipoint-set",
    /// My Discriminator == 0.
    ZeroMyDiscriminator => "zero-my-discriminator",
    /// Your Discriminator names no session.
    UnknownYourDiscriminator => "unknown-your-discriminator",
    /// Your Discriminator == 0 and State is Init or Up.
    ZeroYourDiscriminatorNotDown => "zero-your-discriminator-not-down",
    /// Your Discriminator == 0 and no session for (peer, interface, family).
    NoSessionForPeer => "no-session-for-peer",
    /// Received TTL / Hop Limit != 255 (RFC 5881 §5).
    BadTtl => "bad-ttl",
    /// A bit set, no authentication configured.
    AuthUnexpected => "auth-unexpected",
    /// A bit clear, authentication configured.
    AuthMissing => "auth-missing",
    /// Auth Type differs from the configured one.
    AuthTypeMismatch => "auth-type-mismatch",
    /// Auth Key ID not configured.
    AuthUnknownKeyId => "auth-unknown-key-id",
    /// Password or digest wrong.
    AuthBadDigest => "auth-bad-digest",
    /// Sequence Number outside the replay window.
    AuthSequenceOutOfWindow => "auth-sequence-out-of-window",
    /// P and F both set (§6.5; BIRD and holo discard these too).
    PollAndFinal => "poll-and-final",
    /// Local state AdminDown: discarded after updating the remote variables.
    LocalAdminDown => "local-admin-down",
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<packet::Error> for DropReason {
    fn from(e: packet::Error) -> Self {
        match e {
            packet::Error::Truncated { .. } => Self::Truncated,
            packet::Error::Version(_) => Self::BadVersion,
            packet::Error::LengthTooShort { .. } => Self::LengthTooShort,
            packet::Error::LengthExceedsPayload { .. } => Self::LengthExceedsPayload,
            packet::Error::AuthLength { .. } => Self::BadAuthLength,
        }
    }
}

impl From<AuthError> for DropReason {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => Self::AuthMissing,
            AuthError::Unexpected => Self::AuthUnexpected,
            AuthError::TypeMismatch { .. } => Self::AuthTypeMismatch,
            AuthError::UnknownKeyId(_) => Self::AuthUnknownKeyId,
            AuthError::BadDigest => Self::AuthBadDigest,
            AuthError::SequenceOutOfWindow { .. } => Self::AuthSequenceOutOfWindow,
        }
    }
}

/// The session-independent checks of §6.8.6 that follow framing: Detect
/// Mult, M bit, My Discriminator.
pub(crate) fn check_header<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<(), DropReason> {
    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
    //# If the Detect Mult field is zero, the packet MUST be discarded.
    if p.detect_mult() == 0 {
        return Err(DropReason::ZeroDetectMult);
    }
    //# If the Multipoint (M) bit is nonzero, the packet MUST be discarded.
    if p.multipoint() {
        return Err(DropReason::MultipointSet);
    }
    //# If the My Discriminator field is zero, the packet MUST be discarded.
    if p.my_discriminator() == 0 {
        return Err(DropReason::ZeroMyDiscriminator);
    }
    Ok(())
}

/// The demultiplexing check on a zero Your Discriminator (§6.8.6).
pub(crate) fn check_zero_your_discr<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<(), DropReason> {
    //# If the Your Discriminator field is zero and the State field is not
    //# Down or AdminDown, the packet MUST be discarded.
    if p.your_discriminator() == 0 && !matches!(p.state(), State::Down | State::AdminDown) {
        return Err(DropReason::ZeroYourDiscriminatorNotDown);
    }
    Ok(())
}

impl Session {
    /// The per-session part of §6.8.6, after demultiplexing. `ttl` is the
    /// received TTL / Hop Limit when the transport knows it.
    pub(crate) fn receive<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        p: &Packet<T>,
        ttl: Option<u8>,
    ) -> Result<(), DropReason> {
        let r = self.receive_inner(now, p, ttl);
        match r {
            Ok(()) => self.counters.packets_in += 1,
            Err(reason) => self.counters.count_drop(reason),
        }
        r
    }

    fn receive_inner<T: AsRef<[u8]>>(
        &mut self,
        now: Instant,
        p: &Packet<T>,
        ttl: Option<u8>,
    ) -> Result<(), DropReason> {
        //= https://www.rfc-editor.org/rfc/rfc5881#section-5
        //# If no authentication is in use for a session, all received BFD
        //# Control packets MUST be discarded if the received TTL or Hop Limit
        //# is not equal to 255.
        // With authentication the RFC says MAY; we check anyway, first.
        if ttl.is_some_and(|t| t != 255) {
            return Err(DropReason::BadTtl);
        }
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.8.6
        //# If the A bit is set and no authentication is in use (bfd.AuthType
        //# is zero), the packet MUST be discarded.
        //# If the A bit is clear and authentication is in use (bfd.AuthType
        //# is nonzero), the packet MUST be discarded.
        //# If the A bit is set, the packet MUST be authenticated under the
        //# rules of section 6.7, based on the authentication type in use
        //# (bfd.AuthType).  This may cause the packet to be discarded.
        let seq = match (&self.cfg.auth, p.auth_present()) {
            (None, true) => return Err(DropReason::AuthUnexpected),
            (Some(_), false) => return Err(DropReason::AuthMissing),
            (None, false) => None,
            (Some(a), true) => a.verify(p, &self.seq)?,
        };
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.5
        //# A BFD Control packet MUST NOT have both the Poll (P) and Final (F)
        //# bits set.
        if p.poll() && p.final_() {
            return Err(DropReason::PollAndFinal);
        }
        if let Some(s) = seq {
            self.seq.accept(s);
        }

        //# Set bfd.RemoteDiscr to the value of My Discriminator.
        //# Set bfd.RemoteState to the value of the State (Sta) field.
        //# Set bfd.RemoteDemandMode to the value of the Demand (D) bit.
        //# Set bfd.RemoteMinRxInterval to the value of Required Min RX
        //# Interval.
        self.remote_discr = p.my_discriminator();
        self.remote_state = p.state();
        self.remote_diag = p.diag();
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.6
        //# If the remote system [clears D], periodic transmission [resumes]
        // at once rather than at the next timer tick.
        if self.remote_demand && !p.demand() {
            self.send_now = true;
        }
        self.remote_demand = p.demand();
        self.remote_min_rx = p.required_min_rx_interval();
        self.remote_desired_min_tx = p.desired_min_tx_interval();
        self.remote_detect_mult = p.detect_mult();

        //# If the Required Min Echo RX Interval field is zero, the
        //# transmission of Echo packets, if any, MUST cease.
        // (Echo is not implemented: nothing to stop.)

        //# If a Poll Sequence is being transmitted by the local system and
        //# the Final (F) bit in the received packet is set, the Poll Sequence
        //# MUST be terminated.
        if p.final_() {
            self.on_final();
        }

        //# Update the transmit interval as described in section 6.8.2.
        //# Update the Detection Time as described in section 6.8.4.
        self.update_tx_interval(now);
        self.last_rx = Some(now);
        self.arm_detect(now);
        if self.cfg.auth.is_some() {
            self.timers
                .set(Timer::AuthSeq, now + 2 * self.detection_time());
        }

        //# If bfd.SessionState is AdminDown
        //#     Discard the packet
        if self.state == State::AdminDown {
            return Err(DropReason::LocalAdminDown);
        }

        // §6.8.6 state rules 13-15, declared in `state::transition`.
        if let Some((next, diag)) = transition(self.state, Input::Received(self.remote_state)) {
            self.set_state(now, next, diag);
        }

        //# If the Poll (P) bit is set, send a BFD Control packet to the
        //# remote system with the Poll (P) bit clear, and the Final (F) bit
        //# set (see section 6.8.7).
        if p.poll() {
            self.send_final = true;
        }
        Ok(())
    }
}
