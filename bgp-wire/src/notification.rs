//! NOTIFICATION message (RFC 4271 §4.5) with every registered error code and subcode.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Codes and subcodes are plain newtypes with named constants, so unknown values received
//! from a peer are kept and re-emitted unchanged (style rule 12).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::NotificationError;

/// NOTIFICATION Error Code (RFC 4271 §4.5, IANA "BGP Error (Notification) Codes").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// Message Header Error (RFC 4271 §6.1).
    pub const MESSAGE_HEADER_ERROR: ErrorCode = ErrorCode(1);
    /// OPEN Message Error (RFC 4271 §6.2).
    pub const OPEN_MESSAGE_ERROR: ErrorCode = ErrorCode(2);
    /// UPDATE Message Error (RFC 4271 §6.3).
    pub const UPDATE_MESSAGE_ERROR: ErrorCode = ErrorCode(3);
    /// Hold Timer Expired (RFC 4271 §6.5).
    pub const HOLD_TIMER_EXPIRED: ErrorCode = ErrorCode(4);
    /// Finite State Machine Error (RFC 4271 §6.6, subcodes RFC 6608).
    pub const FINITE_STATE_MACHINE_ERROR: ErrorCode = ErrorCode(5);
    /// Cease (RFC 4271 §6.7, subcodes RFC 4486, 8538, 9384).
    pub const CEASE: ErrorCode = ErrorCode(6);
    /// ROUTE-REFRESH Message Error (RFC 7313 §5).
    pub const ROUTE_REFRESH_MESSAGE_ERROR: ErrorCode = ErrorCode(7);
}

/// Error subcodes, one module per error code. Subcode 0 is "Unspecific" everywhere.
pub mod subcode {
    /// Unspecific subcode, valid under every code (RFC 4271 §4.5).
    pub const UNSPECIFIC: u8 = 0;

    /// Message Header Error subcodes (RFC 4271 §6.1).
    pub mod header {
        /// Marker is not all ones.
        pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
        /// Length field out of range for the message type.
        pub const BAD_MESSAGE_LENGTH: u8 = 2;
        /// Unknown message type.
        pub const BAD_MESSAGE_TYPE: u8 = 3;
    }

    /// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492, RFC 9234).
    pub mod open {
        /// Version is not 4.
        pub const UNSUPPORTED_VERSION_NUMBER: u8 = 1;
        /// The peer's AS is unacceptable.
        pub const BAD_PEER_AS: u8 = 2;
        /// The BGP Identifier is invalid.
        pub const BAD_BGP_IDENTIFIER: u8 = 3;
        /// An optional parameter is not recognised.
        pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
        /// Hold time 1 or 2 seconds, or otherwise unacceptable.
        pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
        /// A required capability is not supported (RFC 5492 §5).
        pub const UNSUPPORTED_CAPABILITY: u8 = 7;
        /// BGP roles do not match (RFC 9234 §4.2).
        pub const ROLE_MISMATCH: u8 = 11;
    }

    /// UPDATE Message Error subcodes (RFC 4271 §6.3).
    pub mod update {
        /// Malformed Attribute List.
        pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
        /// Unrecognized Well-known Attribute.
        pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
        /// Missing Well-known Attribute.
        pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
        /// Attribute Flags Error.
        pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
        /// Attribute Length Error.
        pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
        /// Invalid ORIGIN Attribute.
        pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
        /// Invalid NEXT_HOP Attribute.
        pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
        /// Optional Attribute Error.
        pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
        /// Invalid Network Field.
        pub const INVALID_NETWORK_FIELD: u8 = 10;
        /// Malformed AS_PATH.
        pub const MALFORMED_AS_PATH: u8 = 11;
    }

    /// Finite State Machine Error subcodes (RFC 6608 §3).
    pub mod fsm {
        /// Receive Unexpected Message in OpenSent State.
        pub const UNEXPECTED_MESSAGE_IN_OPENSENT: u8 = 1;
        /// Receive Unexpected Message in OpenConfirm State.
        pub const UNEXPECTED_MESSAGE_IN_OPENCONFIRM: u8 = 2;
        /// Receive Unexpected Message in Established State.
        pub const UNEXPECTED_MESSAGE_IN_ESTABLISHED: u8 = 3;
    }

    /// Cease subcodes (RFC 4486 §4, RFC 8538 §5, RFC 9384 §2).
    pub mod cease {
        /// Maximum Number of Prefixes Reached.
        pub const MAXIMUM_NUMBER_OF_PREFIXES_REACHED: u8 = 1;
        /// Administrative Shutdown (may carry an RFC 9003 shutdown communication).
        pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
        /// Peer De-configured.
        pub const PEER_DE_CONFIGURED: u8 = 3;
        /// Administrative Reset (may carry an RFC 9003 shutdown communication).
        pub const ADMINISTRATIVE_RESET: u8 = 4;
        /// Connection Rejected.
        pub const CONNECTION_REJECTED: u8 = 5;
        /// Other Configuration Change.
        pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
        /// Connection Collision Resolution.
        pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
        /// Out of Resources.
        pub const OUT_OF_RESOURCES: u8 = 8;
        /// Hard Reset (RFC 8538 §3): graceful restart must not be used.
        pub const HARD_RESET: u8 = 9;
        /// BFD Down (RFC 9384 §2).
        pub const BFD_DOWN: u8 = 10;
    }

    /// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
    pub mod route_refresh {
        /// Invalid Message Length.
        pub const INVALID_MESSAGE_LENGTH: u8 = 1;
    }
}

/// Longest RFC 9003 shutdown communication, in octets.
pub const MAX_SHUTDOWN_COMMUNICATION_LEN: usize = 255;

/// A NOTIFICATION message: code, subcode and diagnostic data (RFC 4271 §4.5).
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Notification {
    /// Error code.
    pub code: ErrorCode,
    /// Error subcode; see [`subcode`] for the named values.
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Bytes,
}

impl Notification {
    /// Minimum body length: code and subcode.
    pub const MIN_BODY_LEN: usize = 2;

    /// Builds a NOTIFICATION.
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Bytes>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Cease with an RFC 9003 shutdown communication (`subcode` should be
    /// [`subcode::cease::ADMINISTRATIVE_SHUTDOWN`] or `ADMINISTRATIVE_RESET`).
    ///
    /// The message is cut at a character boundary to 255 octets (RFC 9003 §2).
    pub fn cease_with_communication(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION_LEN);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = BytesMut::with_capacity(end + 1);
        data.put_u8(end as u8);
        data.put_slice(&message.as_bytes()[..end]);
        Notification::new(ErrorCode::CEASE, subcode, data.freeze())
    }

    /// The RFC 9003 shutdown communication, when this is a Cease/Administrative Shutdown
    /// or Reset whose data holds a length octet and that many octets of valid UTF-8.
    pub fn shutdown_communication(&self) -> Option<&str> {
        if self.code != ErrorCode::CEASE
            || !matches!(
                self.subcode,
                subcode::cease::ADMINISTRATIVE_SHUTDOWN | subcode::cease::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        // RFC 9003 §4: a length that overruns the data means "no communication".
        let text = rest.get(..usize::from(len))?;
        core::str::from_utf8(text).ok()
    }

    /// Whether this NOTIFICATION is a Hard Reset (RFC 8538 §3), or one that RFC 8538 §5
    /// says must be treated as such when the N bit was negotiated: any NOTIFICATION but a
    /// Cease other than Hard Reset keeps graceful restart available.
    pub fn is_hard_reset(&self) -> bool {
        self.code == ErrorCode::CEASE && self.subcode == subcode::cease::HARD_RESET
    }

    /// Wraps this NOTIFICATION as the data of a Cease/Hard Reset (RFC 8538 §3).
    pub fn into_hard_reset(self) -> Notification {
        let mut data = BytesMut::with_capacity(2 + self.data.len());
        data.put_u8(self.code.0);
        data.put_u8(self.subcode);
        data.put_slice(&self.data);
        Notification::new(ErrorCode::CEASE, subcode::cease::HARD_RESET, data.freeze())
    }

    pub(crate) fn parse_body(body: &[u8]) -> Result<Notification, NotificationError> {
        match body {
            [code, sub, data @ ..] => Ok(Notification::new(
                ErrorCode(*code),
                *sub,
                Bytes::copy_from_slice(data),
            )),
            _ => Err(NotificationError::TooShort { length: body.len() }),
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.data.len()
    }

    pub(crate) fn emit_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code.0);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }
}

impl core::fmt::Display for Notification {
    /// `code/subcode` followed by the RFC name of the code; not a stable interface.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match self.code {
            ErrorCode::MESSAGE_HEADER_ERROR => "Message Header Error",
            ErrorCode::OPEN_MESSAGE_ERROR => "OPEN Message Error",
            ErrorCode::UPDATE_MESSAGE_ERROR => "UPDATE Message Error",
            ErrorCode::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            ErrorCode::FINITE_STATE_MACHINE_ERROR => "Finite State Machine Error",
            ErrorCode::CEASE => "Cease",
            ErrorCode::ROUTE_REFRESH_MESSAGE_ERROR => "ROUTE-REFRESH Message Error",
            _ => "unknown",
        };
        write!(f, "{}/{} ({name})", self.code.0, self.subcode)
    }
}
