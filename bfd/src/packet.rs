//! BFD Control packets (RFC 5880 §4.1-§4.4).
//!
//! Two layers (house style rule 7): [`Packet`] is a checked view over
//! borrowed bytes for the receive hot path, and [`Repr`] is the owned
//! representation with [`Repr::parse`], [`Repr::emit`] and
//! [`Repr::buffer_len`], which are exact inverses on canonical input.
//!
//! The view checks only the framing ([`Packet::new_checked`]): version,
//! lengths and the authentication section's bounds. The semantic discards of
//! RFC 5880 §6.8.6 (zero Detect Mult, M bit, zero My Discriminator) are the
//! session layer's business so that each one gets its own drop counter.

use core::fmt;

/// Length of the mandatory section (RFC 5880 §4.1).
pub const HEADER_LEN: usize = 24;
/// Largest control packet we build or accept (header + keyed SHA1 section).
pub const MAX_LEN: usize = HEADER_LEN + 28;
/// The only protocol version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;

//= https://www.rfc-editor.org/rfc/rfc5880#section-4.1
//#  0                   1                   2                   3
//#  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                       My Discriminator                        |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                      Your Discriminator                       |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                    Desired Min TX Interval                    |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                   Required Min RX Interval                    |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |                 Required Min Echo RX Interval                 |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//# |   Auth Type   |   Auth Len    |    Authentication Data...     |
//# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Keyed MD5 / SHA1 sections (§4.3, §4.4) continue after Auth Key ID with a
// reserved byte, a 32-bit Sequence Number and the 16- or 20-byte digest.
mod field {
    use core::ops::Range;
    pub(super) const VERS_DIAG: usize = 0;
    pub(super) const FLAGS: usize = 1;
    pub(super) const DETECT_MULT: usize = 2;
    pub(super) const LENGTH: usize = 3;
    pub(super) const MY_DISCR: Range<usize> = 4..8;
    pub(super) const YOUR_DISCR: Range<usize> = 8..12;
    pub(super) const DESIRED_MIN_TX: Range<usize> = 12..16;
    pub(super) const REQUIRED_MIN_RX: Range<usize> = 16..20;
    pub(super) const REQUIRED_MIN_ECHO_RX: Range<usize> = 20..24;
    // Offsets below are relative to the start of the auth section.
    pub(super) const AUTH_TYPE: usize = 0;
    pub(super) const AUTH_LEN: usize = 1;
    pub(super) const AUTH_KEY_ID: usize = 2;
    pub(super) const AUTH_PASSWORD: usize = 3;
    pub(super) const AUTH_SEQ: Range<usize> = 4..8;
    pub(super) const AUTH_DIGEST: usize = 8;
}

const FLAG_P: u8 = 0x20;
const FLAG_F: u8 = 0x10;
const FLAG_C: u8 = 0x08;
const FLAG_A: u8 = 0x04;
const FLAG_D: u8 = 0x02;
const FLAG_M: u8 = 0x01;

/// A framing error found by [`Packet::new_checked`] or [`Repr::parse`].
///
/// `Display` text is not a stable interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fewer bytes than the mandatory section (RFC 5880 §6.8.6).
    #[error("buffer of {len} bytes is shorter than the 24-byte header")]
    Truncated {
        /// Bytes available.
        len: usize,
    },
    /// Version field is not 1 (RFC 5880 §6.8.6).
    #[error("version {0} is not 1")]
    Version(u8),
    /// Length field below 24, or below 26 with the A bit (RFC 5880 §6.8.6).
    #[error("length field {length} below the minimum {min}")]
    LengthTooShort {
        /// Length field value.
        length: u8,
        /// Minimum for this packet (24 or 26).
        min: u8,
    },
    /// Length field larger than the datagram (RFC 5880 §6.8.6).
    #[error("length field {length} exceeds the {payload}-byte payload")]
    LengthExceedsPayload {
        /// Length field value.
        length: u8,
        /// Bytes available.
        payload: usize,
    },
    /// Auth Len inconsistent with the Length field or the Auth Type
    /// (RFC 5880 §4.2-§4.4).
    #[error("auth len {auth_len} invalid for auth type {auth_type} in a {length}-byte packet")]
    AuthLength {
        /// Auth Type field.
        auth_type: u8,
        /// Auth Len field.
        auth_len: u8,
        /// Length field.
        length: u8,
    },
}

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $val:literal => $text:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A code point this crate does not know, kept for round trips.
            Other(u8),
        }
        impl From<u8> for $name {
            fn from(v: u8) -> Self {
                match v { $($val => Self::$var,)* other => Self::Other(other) }
            }
        }
        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v { $($name::$var => $val,)* $name::Other(o) => o }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $(Self::$var => f.write_str($text),)* Self::Other(o) => write!(f, "{o}") }
            }
        }
    };
}

code_enum! {
    /// Diagnostic code (RFC 5880 §4.1), 5 bits on the wire.
    ///
    /// `Other` values above 31 cannot be emitted; [`Repr::emit`] masks them.
    Diag {
        /// 0: No Diagnostic.
        None = 0 => "none",
        /// 1: Control Detection Time Expired.
        ControlDetectionTimeExpired = 1 => "control-detection-time-expired",
        /// 2: Echo Function Failed.
        EchoFunctionFailed = 2 => "echo-function-failed",
        /// 3: Neighbor Signaled Session Down.
        NeighborSignaledSessionDown = 3 => "neighbor-signaled-session-down",
        /// 4: Forwarding Plane Reset.
        ForwardingPlaneReset = 4 => "forwarding-plane-reset",
        /// 5: Path Down.
        PathDown = 5 => "path-down",
        /// 6: Concatenated Path Down.
        ConcatenatedPathDown = 6 => "concatenated-path-down",
        /// 7: Administratively Down.
        AdministrativelyDown = 7 => "administratively-down",
        /// 8: Reverse Concatenated Path Down.
        ReverseConcatenatedPathDown = 8 => "reverse-concatenated-path-down",
    }
}

/// Session state (RFC 5880 §4.1, §6.2), 2 bits on the wire.
///
/// All four code points are defined, so there is no `Other` variant.
/// `Display` uses the RFC spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum State {
    /// 0: AdminDown.
    AdminDown = 0,
    /// 1: Down.
    Down = 1,
    /// 2: Init.
    Init = 2,
    /// 3: Up.
    Up = 3,
}

impl State {
    /// Decode the 2-bit Sta field; higher bits are ignored.
    pub const fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => Self::AdminDown,
            1 => Self::Down,
            2 => Self::Init,
            _ => Self::Up,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AdminDown => "AdminDown",
            Self::Down => "Down",
            Self::Init => "Init",
            Self::Up => "Up",
        })
    }
}

/// Authentication Type code points (RFC 5880 §4.1).
pub mod auth_type {
    /// 1: Simple Password.
    pub const SIMPLE_PASSWORD: u8 = 1;
    /// 2: Keyed MD5.
    pub const KEYED_MD5: u8 = 2;
    /// 3: Meticulous Keyed MD5.
    pub const METICULOUS_KEYED_MD5: u8 = 3;
    /// 4: Keyed SHA1.
    pub const KEYED_SHA1: u8 = 4;
    /// 5: Meticulous Keyed SHA1.
    pub const METICULOUS_KEYED_SHA1: u8 = 5;
}

/// Required Auth Len of a digest-based auth type, if it is one.
pub(crate) const fn digest_auth_len(auth_type: u8) -> Option<u8> {
    match auth_type {
        auth_type::KEYED_MD5 | auth_type::METICULOUS_KEYED_MD5 => Some(24),
        auth_type::KEYED_SHA1 | auth_type::METICULOUS_KEYED_SHA1 => Some(28),
        _ => None,
    }
}

/// A checked view of a BFD Control packet over `T` (RFC 5880 §4.1).
///
/// After [`Packet::new_checked`] succeeds no accessor panics: the buffer
/// holds at least `length()` bytes, `length() >= 24` and, with the A bit,
/// the auth section lies inside `length()`.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checks; accessors may panic until
    /// [`check_len`](Self::check_len) has succeeded.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wrap a buffer and check its framing (RFC 5880 §6.8.6, first four
    /// rules, plus the auth section's bounds).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Check the framing of the wrapped buffer.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated { len: b.len() });
        }
        let version = b[field::VERS_DIAG] >> 5;
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let length = b[field::LENGTH];
        let a = b[field::FLAGS] & FLAG_A != 0;
        let min = if a { 26 } else { 24 };
        if length < min {
            return Err(Error::LengthTooShort { length, min });
        }
        if usize::from(length) > b.len() {
            return Err(Error::LengthExceedsPayload {
                length,
                payload: b.len(),
            });
        }
        if a {
            let auth_type = b[HEADER_LEN + field::AUTH_TYPE];
            let auth_len = b[HEADER_LEN + field::AUTH_LEN];
            let bad = Error::AuthLength {
                auth_type,
                auth_len,
                length,
            };
            if usize::from(auth_len) + HEADER_LEN > usize::from(length) || auth_len < 2 {
                return Err(bad);
            }
            match (auth_type, digest_auth_len(auth_type)) {
                (auth_type::SIMPLE_PASSWORD, _) if !(4..=19).contains(&auth_len) => {
                    return Err(bad);
                }
                (_, Some(need)) if auth_len != need => return Err(bad),
                _ => {}
            }
        }
        Ok(())
    }

    /// Consume the view and return the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.b()[r]);
        u32::from_be_bytes(a)
    }

    /// Vers field.
    pub fn version(&self) -> u8 {
        self.b()[field::VERS_DIAG] >> 5
    }
    /// Diag field.
    pub fn diag(&self) -> Diag {
        Diag::from(self.b()[field::VERS_DIAG] & 0x1f)
    }
    /// Sta field.
    pub fn state(&self) -> State {
        State::from_bits(self.b()[field::FLAGS] >> 6)
    }
    /// P (Poll) bit.
    pub fn poll(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_P != 0
    }
    /// F (Final) bit.
    pub fn final_(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_F != 0
    }
    /// C (Control Plane Independent) bit.
    pub fn control_plane_independent(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_C != 0
    }
    /// A (Authentication Present) bit.
    pub fn auth_present(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_A != 0
    }
    /// D (Demand) bit.
    pub fn demand(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_D != 0
    }
    /// M (Multipoint) bit.
    pub fn multipoint(&self) -> bool {
        self.b()[field::FLAGS] & FLAG_M != 0
    }
    /// Detect Mult field.
    pub fn detect_mult(&self) -> u8 {
        self.b()[field::DETECT_MULT]
    }
    /// Length field.
    pub fn length(&self) -> u8 {
        self.b()[field::LENGTH]
    }
    /// My Discriminator field.
    pub fn my_discriminator(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }
    /// Your Discriminator field.
    pub fn your_discriminator(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }
    /// Desired Min TX Interval, µs.
    pub fn desired_min_tx_interval(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }
    /// Required Min RX Interval, µs.
    pub fn required_min_rx_interval(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }
    /// Required Min Echo RX Interval, µs.
    pub fn required_min_echo_rx_interval(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }
    /// The packet's bytes, `length()` long (trailing datagram bytes cut).
    pub fn as_bytes(&self) -> &[u8] {
        &self.b()[..usize::from(self.length())]
    }
    /// The authentication section, if the A bit is set.
    pub fn auth(&self) -> Option<AuthSection<'_>> {
        if !self.auth_present() {
            return None;
        }
        let s = &self.b()[HEADER_LEN..];
        let len = usize::from(s[field::AUTH_LEN]);
        Some(AuthSection { bytes: &s[..len] })
    }
}

/// A view of the authentication section (RFC 5880 §4.2-§4.4), already
/// bounds-checked by [`Packet::check_len`].
#[derive(Debug, Clone, Copy)]
pub struct AuthSection<'a> {
    bytes: &'a [u8],
}

impl<'a> AuthSection<'a> {
    /// Auth Type.
    pub fn auth_type(&self) -> u8 {
        self.bytes[field::AUTH_TYPE]
    }
    /// Auth Len.
    pub fn auth_len(&self) -> u8 {
        self.bytes[field::AUTH_LEN]
    }
    /// Auth Key ID (absent only for unknown types with Auth Len 2).
    pub fn key_id(&self) -> Option<u8> {
        self.bytes.get(field::AUTH_KEY_ID).copied()
    }
    /// Password of a Simple Password section (§4.2).
    pub fn password(&self) -> Option<&'a [u8]> {
        (self.auth_type() == auth_type::SIMPLE_PASSWORD)
            .then(|| &self.bytes[field::AUTH_PASSWORD..])
    }
    /// Sequence Number of a keyed MD5 / SHA1 section (§4.3, §4.4).
    pub fn sequence(&self) -> Option<u32> {
        digest_auth_len(self.auth_type()).map(|_| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&self.bytes[field::AUTH_SEQ]);
            u32::from_be_bytes(a)
        })
    }
    /// Digest (16 bytes MD5, 20 bytes SHA1) of a keyed section.
    pub fn digest(&self) -> Option<&'a [u8]> {
        digest_auth_len(self.auth_type()).map(|_| &self.bytes[field::AUTH_DIGEST..])
    }
    /// Byte offset of the digest inside the whole packet.
    pub(crate) const DIGEST_OFFSET: usize = HEADER_LEN + field::AUTH_DIGEST;
}

/// The authentication section, owned (RFC 5880 §4.2-§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Auth {
    /// Simple Password (§4.2): 1-16 bytes.
    SimplePassword {
        /// Auth Key ID.
        key_id: u8,
        /// Password, 1-16 bytes.
        password: Vec<u8>,
    },
    /// Keyed or Meticulous Keyed MD5 (§4.3).
    Md5 {
        /// Meticulous (type 3) rather than keyed (type 2).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// Auth Key/Digest field.
        digest: [u8; 16],
    },
    /// Keyed or Meticulous Keyed SHA1 (§4.4).
    Sha1 {
        /// Meticulous (type 5) rather than keyed (type 4).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        sequence: u32,
        /// Auth Key/Hash field.
        hash: [u8; 20],
    },
    /// An Auth Type this crate does not know: the bytes after Auth Len.
    Other {
        /// Auth Type.
        auth_type: u8,
        /// Everything after the Auth Len byte (0-253 bytes).
        data: Vec<u8>,
    },
}

impl Auth {
    /// The Auth Type code point.
    pub fn auth_type(&self) -> u8 {
        match self {
            Self::SimplePassword { .. } => auth_type::SIMPLE_PASSWORD,
            Self::Md5 {
                meticulous: false, ..
            } => auth_type::KEYED_MD5,
            Self::Md5 {
                meticulous: true, ..
            } => auth_type::METICULOUS_KEYED_MD5,
            Self::Sha1 {
                meticulous: false, ..
            } => auth_type::KEYED_SHA1,
            Self::Sha1 {
                meticulous: true, ..
            } => auth_type::METICULOUS_KEYED_SHA1,
            Self::Other { auth_type, .. } => *auth_type,
        }
    }

    /// Auth Len: bytes of the whole section.
    pub fn auth_len(&self) -> usize {
        match self {
            Self::SimplePassword { password, .. } => 3 + password.len(),
            Self::Md5 { .. } => 24,
            Self::Sha1 { .. } => 28,
            Self::Other { data, .. } => 2 + data.len(),
        }
    }

    fn parse(s: AuthSection<'_>) -> Self {
        let b = s.bytes;
        match s.auth_type() {
            auth_type::SIMPLE_PASSWORD => Self::SimplePassword {
                key_id: b[field::AUTH_KEY_ID],
                password: b[field::AUTH_PASSWORD..].to_vec(),
            },
            t @ (auth_type::KEYED_MD5 | auth_type::METICULOUS_KEYED_MD5) => {
                let mut digest = [0; 16];
                digest.copy_from_slice(&b[field::AUTH_DIGEST..]);
                Self::Md5 {
                    meticulous: t == auth_type::METICULOUS_KEYED_MD5,
                    key_id: b[field::AUTH_KEY_ID],
                    sequence: s.sequence().unwrap_or(0),
                    digest,
                }
            }
            t @ (auth_type::KEYED_SHA1 | auth_type::METICULOUS_KEYED_SHA1) => {
                let mut hash = [0; 20];
                hash.copy_from_slice(&b[field::AUTH_DIGEST..]);
                Self::Sha1 {
                    meticulous: t == auth_type::METICULOUS_KEYED_SHA1,
                    key_id: b[field::AUTH_KEY_ID],
                    sequence: s.sequence().unwrap_or(0),
                    hash,
                }
            }
            auth_type => Self::Other {
                auth_type,
                data: b[2..].to_vec(),
            },
        }
    }

    fn emit(&self, out: &mut [u8]) {
        out[field::AUTH_TYPE] = self.auth_type();
        // auth_len() <= 255 is guaranteed by Repr::buffer_len's clamp.
        out[field::AUTH_LEN] = self.auth_len() as u8;
        match self {
            Self::SimplePassword { key_id, password } => {
                out[field::AUTH_KEY_ID] = *key_id;
                out[field::AUTH_PASSWORD..].copy_from_slice(password);
            }
            Self::Md5 {
                key_id,
                sequence,
                digest: d,
                ..
            } => {
                Self::emit_keyed(out, *key_id, *sequence, d);
            }
            Self::Sha1 {
                key_id,
                sequence,
                hash: d,
                ..
            } => {
                Self::emit_keyed(out, *key_id, *sequence, d);
            }
            Self::Other { data, .. } => out[2..].copy_from_slice(data),
        }
    }

    fn emit_keyed(out: &mut [u8], key_id: u8, seq: u32, digest: &[u8]) {
        out[field::AUTH_KEY_ID] = key_id;
        out[field::AUTH_KEY_ID + 1] = 0;
        out[field::AUTH_SEQ].copy_from_slice(&seq.to_be_bytes());
        out[field::AUTH_DIGEST..].copy_from_slice(digest);
    }
}

/// An owned BFD Control packet (RFC 5880 §4.1).
///
/// Fields carry the wire values (intervals in µs). The A bit and the Length
/// field are derived from [`auth`](Self::auth).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Diag.
    pub diag: Diag,
    /// Sta.
    pub state: State,
    /// P bit.
    pub poll: bool,
    /// F bit.
    pub final_: bool,
    /// C bit.
    pub control_plane_independent: bool,
    /// D bit.
    pub demand: bool,
    /// M bit (must be zero; kept so that such packets round-trip).
    pub multipoint: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, µs.
    pub desired_min_tx_interval: u32,
    /// Required Min RX Interval, µs.
    pub required_min_rx_interval: u32,
    /// Required Min Echo RX Interval, µs.
    pub required_min_echo_rx_interval: u32,
    /// Authentication section, present iff the A bit is set.
    pub auth: Option<Auth>,
}

impl Repr {
    /// Parse a datagram payload. Bytes beyond the Length field are ignored
    /// (RFC 5880 §6.8.6 only discards packets longer than the payload), so
    /// `emit(parse(b)) == b[..length]`.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self::from_packet(&Packet::new_checked(bytes)?))
    }

    /// Build from a checked view.
    pub fn from_packet<T: AsRef<[u8]>>(p: &Packet<T>) -> Self {
        Self {
            diag: p.diag(),
            state: p.state(),
            poll: p.poll(),
            final_: p.final_(),
            control_plane_independent: p.control_plane_independent(),
            demand: p.demand(),
            multipoint: p.multipoint(),
            detect_mult: p.detect_mult(),
            my_discriminator: p.my_discriminator(),
            your_discriminator: p.your_discriminator(),
            desired_min_tx_interval: p.desired_min_tx_interval(),
            required_min_rx_interval: p.required_min_rx_interval(),
            required_min_echo_rx_interval: p.required_min_echo_rx_interval(),
            auth: p.auth().map(Auth::parse),
        }
    }

    /// Bytes [`emit`](Self::emit) writes: 24 plus the auth section.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, Auth::auth_len)
    }

    /// Write the packet into `out[..buffer_len()]` and return that length.
    ///
    /// # Panics
    /// If `out` is shorter than [`buffer_len`](Self::buffer_len), or if an
    /// auth section is longer than the 8-bit Length field allows (more than
    /// 231 bytes) - both are caller bugs, not input errors.
    pub fn emit(&self, out: &mut [u8]) -> usize {
        let len = self.buffer_len();
        assert!(len <= 255, "auth section too long for the Length field");
        let out = &mut out[..len];
        out[field::VERS_DIAG] = (VERSION << 5) | (u8::from(self.diag) & 0x1f);
        let mut flags = (self.state as u8) << 6;
        for (set, bit) in [
            (self.poll, FLAG_P),
            (self.final_, FLAG_F),
            (self.control_plane_independent, FLAG_C),
            (self.auth.is_some(), FLAG_A),
            (self.demand, FLAG_D),
            (self.multipoint, FLAG_M),
        ] {
            if set {
                flags |= bit;
            }
        }
        out[field::FLAGS] = flags;
        out[field::DETECT_MULT] = self.detect_mult;
        out[field::LENGTH] = len as u8;
        out[field::MY_DISCR].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[field::YOUR_DISCR].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[field::DESIRED_MIN_TX].copy_from_slice(&self.desired_min_tx_interval.to_be_bytes());
        out[field::REQUIRED_MIN_RX].copy_from_slice(&self.required_min_rx_interval.to_be_bytes());
        out[field::REQUIRED_MIN_ECHO_RX]
            .copy_from_slice(&self.required_min_echo_rx_interval.to_be_bytes());
        if let Some(a) = &self.auth {
            a.emit(&mut out[HEADER_LEN..]);
        }
        len
    }
}

#[cfg(feature = "arbitrary")]
mod arb {
    use super::*;
    use arbitrary::{Arbitrary, Result, Unstructured};

    impl<'a> Arbitrary<'a> for Auth {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(match u.int_in_range(0..=3)? {
                0 => {
                    let n = u.int_in_range(1..=16)?;
                    Self::SimplePassword {
                        key_id: u.arbitrary()?,
                        password: u.bytes(n)?.to_vec(),
                    }
                }
                1 => Self::Md5 {
                    meticulous: u.arbitrary()?,
                    key_id: u.arbitrary()?,
                    sequence: u.arbitrary()?,
                    digest: u.arbitrary()?,
                },
                2 => Self::Sha1 {
                    meticulous: u.arbitrary()?,
                    key_id: u.arbitrary()?,
                    sequence: u.arbitrary()?,
                    hash: u.arbitrary()?,
                },
                _ => {
                    let auth_type = u.int_in_range(6..=255)?;
                    let n = u.int_in_range(1..=40)?;
                    Self::Other {
                        auth_type,
                        data: u.bytes(n)?.to_vec(),
                    }
                }
            })
        }
    }

    impl<'a> Arbitrary<'a> for Repr {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Self {
                diag: Diag::from(u.int_in_range(0..=31)?),
                state: u.arbitrary()?,
                poll: u.arbitrary()?,
                final_: u.arbitrary()?,
                control_plane_independent: u.arbitrary()?,
                demand: u.arbitrary()?,
                multipoint: u.arbitrary()?,
                detect_mult: u.arbitrary()?,
                my_discriminator: u.arbitrary()?,
                your_discriminator: u.arbitrary()?,
                desired_min_tx_interval: u.arbitrary()?,
                required_min_rx_interval: u.arbitrary()?,
                required_min_echo_rx_interval: u.arbitrary()?,
                auth: u.arbitrary()?,
            })
        }
    }
}

/// Set the A bit and the Length field of an emitted header (the session
/// then writes the auth section in place, with no allocation).
pub(crate) fn set_auth_present(buf: &mut [u8], length: u8) {
    buf[field::FLAGS] |= FLAG_A;
    buf[field::LENGTH] = length;
}
