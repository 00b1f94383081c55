//! The 19-octet message header (RFC 4271 §4.1) and its checks (RFC 4271 §6.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, BytesMut};

use crate::error::HeaderError;

/// Length of the message header.
pub const HEADER_LEN: usize = 19;
/// Maximum message length without RFC 8654 extended messages.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Maximum message length with RFC 8654 extended messages.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;
/// The all-ones Marker.
pub const MARKER: [u8; 16] = [0xff; 16];

pub(crate) mod field {
    use core::ops::Range;
    pub(crate) const MARKER: Range<usize> = 0..16;
    pub(crate) const LENGTH: Range<usize> = 16..18;
    pub(crate) const TYPE: usize = 18;
}

/// Message Type (RFC 4271 §4.1, IANA "BGP Message Types").
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MessageType(pub u8);

impl MessageType {
    /// OPEN (RFC 4271 §4.2).
    pub const OPEN: MessageType = MessageType(1);
    /// UPDATE (RFC 4271 §4.3).
    pub const UPDATE: MessageType = MessageType(2);
    /// NOTIFICATION (RFC 4271 §4.5).
    pub const NOTIFICATION: MessageType = MessageType(3);
    /// KEEPALIVE (RFC 4271 §4.4).
    pub const KEEPALIVE: MessageType = MessageType(4);
    /// ROUTE-REFRESH (RFC 2918 §3).
    pub const ROUTE_REFRESH: MessageType = MessageType(5);

    /// The RFC name of the type, `None` when unknown.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::OPEN => "OPEN",
            Self::UPDATE => "UPDATE",
            Self::NOTIFICATION => "NOTIFICATION",
            Self::KEEPALIVE => "KEEPALIVE",
            Self::ROUTE_REFRESH => "ROUTE-REFRESH",
            _ => return None,
        })
    }
}

/// A checked message header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// Total message length, header included.
    pub length: u16,
    /// Message type.
    pub msg_type: MessageType,
}

impl Header {
    /// Checks the header at the start of `buf` in RFC 4271 §6.1 order: marker, length
    /// range (`max` is 4096 or 65535), known type, per-type minimum length. The body need
    /// not be present: this is what the framing layer uses before buffering.
    ///
    /// ROUTE-REFRESH messages of the wrong length pass here: RFC 7313 §5 answers them with
    /// their own error code, checked when the body is parsed.
    pub fn parse(buf: &[u8], max: usize) -> Result<Header, HeaderError> {
        let available = buf.len();
        if buf.len() < HEADER_LEN {
            return Err(HeaderError::BadMessageLength {
                length: available as u16,
                available,
            });
        }
        if buf[field::MARKER] != MARKER {
            return Err(HeaderError::ConnectionNotSynchronized);
        }
        let length = u16::from_be_bytes([buf[field::LENGTH.start], buf[field::LENGTH.start + 1]]);
        let msg_type = MessageType(buf[field::TYPE]);
        let len = usize::from(length);
        if len < HEADER_LEN || len > max {
            return Err(HeaderError::BadMessageLength { length, available });
        }
        let ok = match msg_type {
            // RFC 8654 §4: OPEN and KEEPALIVE never exceed 4096 octets.
            MessageType::OPEN => (HEADER_LEN + 10..=MAX_MESSAGE_LEN).contains(&len),
            MessageType::UPDATE => len >= HEADER_LEN + 4,
            MessageType::NOTIFICATION => len >= HEADER_LEN + 2,
            MessageType::KEEPALIVE => len == HEADER_LEN,
            MessageType::ROUTE_REFRESH => true,
            _ => {
                return Err(HeaderError::BadMessageType {
                    msg_type: msg_type.0,
                });
            }
        };
        if !ok {
            return Err(HeaderError::BadMessageLength { length, available });
        }
        Ok(Header { length, msg_type })
    }

    /// Writes the header.
    pub fn emit(&self, out: &mut BytesMut) {
        out.put_slice(&MARKER);
        out.put_u16(self.length);
        out.put_u8(self.msg_type.0);
    }
}
