//! Decode and encode errors (style rules 28-31).
//!
//! [`DecodeError`] nests one enum per message kind, whose variants are the RFC 4271 §6
//! NOTIFICATION subcodes; `Notification::from(&DecodeError)` gives what goes on the wire.
//! Every variant carries its evidence: the byte offset from the start of the message and
//! the offending value. `Display` texts are for humans and not a stable interface.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::notification::{ErrorCode, Notification, subcode};

/// Why a message could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The 19-octet header is invalid (RFC 4271 §6.1).
    #[error("message header: {0}")]
    Header(#[from] HeaderError),
    /// The OPEN message is invalid (RFC 4271 §6.2).
    #[error("OPEN: {0}")]
    Open(#[from] OpenError),
    /// The UPDATE message is invalid in a way that resets the session (RFC 7606).
    #[error("UPDATE: {0}")]
    Update(#[from] UpdateError),
    /// The NOTIFICATION message is invalid (RFC 4271 §4.5).
    #[error("NOTIFICATION: {0}")]
    Notification(#[from] NotificationError),
    /// The ROUTE-REFRESH message is invalid (RFC 7313 §5).
    #[error("ROUTE-REFRESH: {0}")]
    RouteRefresh(#[from] RouteRefreshError),
}

/// Message header errors; variants are the subcodes of RFC 4271 §6.1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The Marker (offset 0) is not all ones.
    #[error("marker is not all ones")]
    ConnectionNotSynchronized,
    /// The Length field (offset 16) is out of range for the message type, or does not
    /// match the number of octets supplied (`available`).
    #[error("bad message length {length} ({available} octets available)")]
    BadMessageLength {
        /// The Length field.
        length: u16,
        /// Octets supplied to the decoder.
        available: usize,
    },
    /// The Type field (offset 18) is not a known message type.
    #[error("bad message type {msg_type}")]
    BadMessageType {
        /// The Type field.
        msg_type: u8,
    },
}

/// Which part of an OPEN is malformed (OPEN Message Error / Unspecific).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenField {
    /// The fixed part is shorter than 10 octets.
    FixedPart,
    /// Optional Parameters Length disagrees with the message length.
    OptionalParametersLength,
    /// An optional parameter overruns the Optional Parameters field.
    OptionalParameter,
    /// A capability overruns its optional parameter.
    Capability,
}

/// OPEN message errors; variants are the subcodes of RFC 4271 §6.2.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Version is not 4 (offset 19).
    #[error("unsupported version {version}")]
    UnsupportedVersionNumber {
        /// The Version field.
        version: u8,
    },
    /// My Autonomous System (or the 4-octet AS capability) is 0 (RFC 7607 §2).
    #[error("bad peer AS {asn}")]
    BadPeerAs {
        /// The offending AS number.
        asn: u32,
    },
    /// BGP Identifier is 0 (RFC 6286 §2.2).
    #[error("bad BGP identifier {id}")]
    BadBgpIdentifier {
        /// The BGP Identifier field.
        id: Ipv4Addr,
    },
    /// An optional parameter type other than Capabilities (2).
    #[error("unsupported optional parameter type {param_type} at offset {offset}")]
    UnsupportedOptionalParameter {
        /// Offset of the parameter type octet.
        offset: usize,
        /// The parameter type.
        param_type: u8,
    },
    /// Hold Time of 1 or 2 seconds (RFC 4271 §4.2).
    #[error("unacceptable hold time {hold_time}")]
    UnacceptableHoldTime {
        /// The Hold Time field.
        hold_time: u16,
    },
    /// A length inside the OPEN is inconsistent (subcode 0, Unspecific).
    #[error("malformed {field:?} at offset {offset}")]
    Malformed {
        /// Offset of the inconsistent length or field.
        offset: usize,
        /// Which part is malformed.
        field: OpenField,
    },
}

/// Why the Malformed Attribute List subcode applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeListProblem {
    /// Withdrawn Routes Length overruns the message (RFC 4271 §6.3).
    WithdrawnRoutesLength,
    /// Total Path Attribute Length overruns the message (RFC 7606 §4).
    TotalPathAttributeLength,
    /// An attribute's length overruns the path attributes (RFC 7606 §4).
    AttributeOverrun,
    /// An attribute appears more than once (RFC 7606 §3 g).
    Duplicate,
}

/// UPDATE message errors; variants are the subcodes of RFC 4271 §6.3. As RFC 7606 findings
/// they also explain why an attribute was discarded or routes treated as withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// Malformed Attribute List (subcode 1).
    #[error("malformed attribute list ({problem:?}) at offset {offset}")]
    MalformedAttributeList {
        /// Offset of the offending length or attribute.
        offset: usize,
        /// What exactly is wrong.
        problem: AttributeListProblem,
        /// Type code of the attribute concerned, if any.
        type_code: Option<u8>,
    },
    /// Unrecognized Well-known Attribute (subcode 2): unknown type without the Optional bit.
    #[error("unrecognized well-known attribute {type_code} at offset {offset}")]
    UnrecognizedWellKnownAttribute {
        /// Offset of the attribute.
        offset: usize,
        /// The attribute type code.
        type_code: u8,
        /// The whole attribute (flags, type, length, value): the NOTIFICATION data.
        attribute: Bytes,
    },
    /// Missing Well-known Attribute (subcode 3).
    #[error("missing well-known attribute {type_code}")]
    MissingWellKnownAttribute {
        /// Type code of the missing attribute.
        type_code: u8,
    },
    /// Attribute Flags Error (subcode 4): Optional/Transitive bits conflict with the type.
    #[error("attribute {type_code} at offset {offset}: bad flags {flags:#04x}")]
    AttributeFlagsError {
        /// Offset of the attribute.
        offset: usize,
        /// The attribute type code.
        type_code: u8,
        /// The received flags.
        flags: u8,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// Attribute Length Error (subcode 5).
    #[error("attribute {type_code} at offset {offset}: bad length {length}")]
    AttributeLengthError {
        /// Offset of the attribute.
        offset: usize,
        /// The attribute type code.
        type_code: u8,
        /// The received attribute length.
        length: usize,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// Invalid ORIGIN Attribute (subcode 6).
    #[error("invalid ORIGIN {value} at offset {offset}")]
    InvalidOrigin {
        /// Offset of the attribute.
        offset: usize,
        /// The ORIGIN value.
        value: u8,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// Invalid NEXT_HOP Attribute (subcode 8): not a host address (RFC 4271 §6.3).
    #[error("invalid NEXT_HOP {next_hop} at offset {offset}")]
    InvalidNextHop {
        /// Offset of the attribute.
        offset: usize,
        /// The next hop.
        next_hop: Ipv4Addr,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// Optional Attribute Error (subcode 9): a recognised optional attribute is malformed,
    /// e.g. MP_REACH_NLRI / MP_UNREACH_NLRI that is truncated, has a next hop length that
    /// does not fit its family (RFC 7606 §7.11) or an unparsable NLRI (RFC 4760 §7).
    #[error("optional attribute {type_code} at offset {offset} is malformed")]
    OptionalAttributeError {
        /// Offset of the attribute.
        offset: usize,
        /// The attribute type code.
        type_code: u8,
        /// The whole attribute.
        attribute: Bytes,
    },
    /// Invalid Network Field (subcode 10): a prefix in Withdrawn Routes or NLRI is
    /// syntactically wrong (RFC 7606 §5.3).
    #[error("invalid network field at offset {offset} (prefix length {prefix_len})")]
    InvalidNetworkField {
        /// Offset of the prefix length octet (or path identifier).
        offset: usize,
        /// The prefix length, or 0 when the field was truncated before it.
        prefix_len: u8,
    },
    /// AS4_PATH or AS4_AGGREGATOR received on a 4-octet AS session, where RFC 6793 §3
    /// says they are discarded (reported as Optional Attribute Error).
    #[error("attribute {type_code} at offset {offset} is not expected on this session")]
    UnexpectedAttribute {
        /// Offset of the attribute.
        offset: usize,
        /// The attribute type code.
        type_code: u8,
    },
    /// Malformed AS_PATH (subcode 11), or a malformed AS4_PATH.
    #[error("malformed AS path (attribute {type_code}) at offset {offset}")]
    MalformedAsPath {
        /// Offset of the offending segment.
        offset: usize,
        /// AS_PATH (2) or AS4_PATH (17).
        type_code: u8,
    },
}

/// NOTIFICATION message errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// Fewer than the two octets of code and subcode.
    #[error("body of {length} octets is too short")]
    TooShort {
        /// Body length.
        length: usize,
    },
}

/// ROUTE-REFRESH message errors (RFC 7313 §5).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteRefreshError {
    /// The message length is not 23.
    #[error("invalid message length {length}")]
    InvalidMessageLength {
        /// The Length field.
        length: u16,
        /// The complete message: the NOTIFICATION data (RFC 7313 §5).
        message: Bytes,
    },
}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded message would exceed the negotiated maximum (RFC 4271 §4.1, RFC 8654).
    #[error("message of {length} octets exceeds the maximum {max}")]
    MessageTooLong {
        /// Encoded length.
        length: usize,
        /// Allowed maximum.
        max: usize,
    },
    /// A length field would overflow (capability > 255, attribute > 65535 octets, AS path
    /// segment > 255 AS numbers, Withdrawn Routes or attributes > 65535 octets).
    #[error("{what} of {length} does not fit its length field")]
    FieldTooLong {
        /// Which field.
        what: &'static str,
        /// The length that does not fit.
        length: usize,
    },
    /// An AS number above 65535 in an AS_PATH or AGGREGATOR of a 2-octet session; use
    /// `AsPath::to_two_octet` to split it into AS_PATH + AS4_PATH (RFC 6793 §4.2.2).
    #[error("AS {asn} needs 4 octets but the session uses 2")]
    AsnNeedsFourOctets {
        /// The AS number.
        asn: u32,
    },
    /// A prefix's path identifier presence disagrees with the ADD-PATH context.
    #[error("path identifier presence does not match ADD-PATH for the family")]
    PathIdMismatch,
    /// An IPv6 prefix in the IPv4 NLRI or Withdrawn Routes field, or a prefix of the other
    /// family in an MP attribute.
    #[error("prefix of the wrong address family")]
    WrongFamily,
}

/// The NOTIFICATION to send for a decode error (RFC 4271 §6, RFC 7313 §5).
impl From<&DecodeError> for Notification {
    fn from(e: &DecodeError) -> Notification {
        use subcode::{header, open, update};
        let n = |code, sub, data: Bytes| Notification::new(code, sub, data);
        match e {
            DecodeError::Header(h) => {
                let c = ErrorCode::MESSAGE_HEADER_ERROR;
                match h {
                    HeaderError::ConnectionNotSynchronized => {
                        n(c, header::CONNECTION_NOT_SYNCHRONIZED, Bytes::new())
                    }
                    // RFC 4271 §6.1: data is the erroneous Length field.
                    HeaderError::BadMessageLength { length, .. } => n(
                        c,
                        header::BAD_MESSAGE_LENGTH,
                        Bytes::copy_from_slice(&length.to_be_bytes()),
                    ),
                    // RFC 4271 §6.1: data is the erroneous Type field.
                    HeaderError::BadMessageType { msg_type } => n(
                        c,
                        header::BAD_MESSAGE_TYPE,
                        Bytes::copy_from_slice(&[*msg_type]),
                    ),
                }
            }
            DecodeError::Open(o) => {
                let c = ErrorCode::OPEN_MESSAGE_ERROR;
                match o {
                    // RFC 4271 §6.2: data is the largest supported version, 2 octets.
                    OpenError::UnsupportedVersionNumber { .. } => n(
                        c,
                        open::UNSUPPORTED_VERSION_NUMBER,
                        Bytes::from_static(&[0, 4]),
                    ),
                    OpenError::BadPeerAs { .. } => n(c, open::BAD_PEER_AS, Bytes::new()),
                    OpenError::BadBgpIdentifier { .. } => {
                        n(c, open::BAD_BGP_IDENTIFIER, Bytes::new())
                    }
                    OpenError::UnsupportedOptionalParameter { .. } => {
                        n(c, open::UNSUPPORTED_OPTIONAL_PARAMETER, Bytes::new())
                    }
                    OpenError::UnacceptableHoldTime { .. } => {
                        n(c, open::UNACCEPTABLE_HOLD_TIME, Bytes::new())
                    }
                    OpenError::Malformed { .. } => n(c, subcode::UNSPECIFIC, Bytes::new()),
                }
            }
            DecodeError::Update(u) => {
                let c = ErrorCode::UPDATE_MESSAGE_ERROR;
                match u {
                    UpdateError::MalformedAttributeList { .. } => {
                        n(c, update::MALFORMED_ATTRIBUTE_LIST, Bytes::new())
                    }
                    UpdateError::UnrecognizedWellKnownAttribute { attribute, .. } => n(
                        c,
                        update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                        attribute.clone(),
                    ),
                    // RFC 4271 §6.3: data is the type code of the missing attribute.
                    UpdateError::MissingWellKnownAttribute { type_code } => n(
                        c,
                        update::MISSING_WELL_KNOWN_ATTRIBUTE,
                        Bytes::copy_from_slice(&[*type_code]),
                    ),
                    UpdateError::AttributeFlagsError { attribute, .. } => {
                        n(c, update::ATTRIBUTE_FLAGS_ERROR, attribute.clone())
                    }
                    UpdateError::AttributeLengthError { attribute, .. } => {
                        n(c, update::ATTRIBUTE_LENGTH_ERROR, attribute.clone())
                    }
                    UpdateError::InvalidOrigin { attribute, .. } => {
                        n(c, update::INVALID_ORIGIN_ATTRIBUTE, attribute.clone())
                    }
                    UpdateError::InvalidNextHop { attribute, .. } => {
                        n(c, update::INVALID_NEXT_HOP_ATTRIBUTE, attribute.clone())
                    }
                    UpdateError::OptionalAttributeError { attribute, .. } => {
                        n(c, update::OPTIONAL_ATTRIBUTE_ERROR, attribute.clone())
                    }
                    UpdateError::UnexpectedAttribute { .. } => {
                        n(c, update::OPTIONAL_ATTRIBUTE_ERROR, Bytes::new())
                    }
                    UpdateError::InvalidNetworkField { .. } => {
                        n(c, update::INVALID_NETWORK_FIELD, Bytes::new())
                    }
                    UpdateError::MalformedAsPath { .. } => {
                        n(c, update::MALFORMED_AS_PATH, Bytes::new())
                    }
                }
            }
            // RFC 4271 §6.1: a NOTIFICATION shorter than 21 octets has a bad length.
            DecodeError::Notification(NotificationError::TooShort { length }) => {
                let mut d = BytesMut::with_capacity(2);
                d.put_u16((length + crate::header::HEADER_LEN) as u16);
                n(
                    ErrorCode::MESSAGE_HEADER_ERROR,
                    header::BAD_MESSAGE_LENGTH,
                    d.freeze(),
                )
            }
            DecodeError::RouteRefresh(RouteRefreshError::InvalidMessageLength {
                message, ..
            }) => n(
                ErrorCode::ROUTE_REFRESH_MESSAGE_ERROR,
                subcode::route_refresh::INVALID_MESSAGE_LENGTH,
                message.clone(),
            ),
        }
    }
}

impl DecodeError {
    /// The NOTIFICATION to send to the peer for this error.
    pub fn notification(&self) -> Notification {
        Notification::from(self)
    }
}
