//! The [`Message`] enum: one complete BGP message, header included, and the RFC 7606
//! [`Verdict`] that decoding it yields.

use bytes::{Bytes, BytesMut};

use crate::ctx::{DecodeCtx, EncodeCtx, Family};
use crate::error::{DecodeError, EncodeError, HeaderError, RouteRefreshError, UpdateError};
use crate::header::{HEADER_LEN, Header, MAX_MESSAGE_LEN, MessageType};
use crate::keepalive::Keepalive;
use crate::nlri::Nlri;
use crate::notification::Notification;
use crate::open::Open;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;

/// One BGP message.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Message {
    /// OPEN (RFC 4271 §4.2).
    Open(Open),
    /// UPDATE (RFC 4271 §4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 §4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 §4.4).
    Keepalive(Keepalive),
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// One RFC 7606 finding: an attribute that was discarded or made routes withdrawn.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    /// The attribute type code concerned, when known.
    pub type_code: Option<u8>,
    /// What is wrong, as the RFC 4271 §6.3 error it would be without RFC 7606.
    pub error: UpdateError,
}

/// What the receiver must do with a decoded message (RFC 7606 §2).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// The message is fine.
    Accepted,
    /// The message is usable; these attributes were discarded ("attribute discard").
    AttributesDiscarded {
        /// The discarded attributes and why.
        which: Vec<Finding>,
    },
    /// Every prefix of the UPDATE must be treated as withdrawn ("treat-as-withdraw").
    TreatAsWithdraw {
        /// All prefixes of the UPDATE (withdrawn and announced), with their family.
        prefixes: Vec<(Family, Nlri)>,
        /// The findings that led here (any discarded attributes included).
        why: Vec<Finding>,
    },
    /// The session must be reset with this NOTIFICATION ("session reset").
    SessionReset {
        /// What to send.
        notification: Notification,
        /// The evidence.
        error: DecodeError,
    },
}

/// The result of [`Message::decode`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Decoded {
    /// The message, absent only on a session reset.
    pub message: Option<Message>,
    /// What to do with it.
    pub verdict: Verdict,
}

impl Decoded {
    fn reset(error: DecodeError) -> Decoded {
        Decoded {
            message: None,
            verdict: Verdict::SessionReset {
                notification: Notification::from(&error),
                error,
            },
        }
    }
}

impl Message {
    /// The message type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::OPEN,
            Message::Update(_) => MessageType::UPDATE,
            Message::Notification(_) => MessageType::NOTIFICATION,
            Message::Keepalive(_) => MessageType::KEEPALIVE,
            Message::RouteRefresh(_) => MessageType::ROUTE_REFRESH,
        }
    }

    /// Decodes one complete message (header included, `buf.len()` must equal the Length
    /// field) with RFC 7606 error handling. Never fails: errors become a
    /// [`Verdict::SessionReset`] carrying the NOTIFICATION to send.
    pub fn decode(buf: &[u8], ctx: &DecodeCtx) -> Decoded {
        let h = match Header::parse(buf, ctx.max_message_len()) {
            Ok(h) => h,
            Err(e) => return Decoded::reset(e.into()),
        };
        if usize::from(h.length) != buf.len() {
            return Decoded::reset(
                HeaderError::BadMessageLength {
                    length: h.length,
                    available: buf.len(),
                }
                .into(),
            );
        }
        let body = &buf[HEADER_LEN..];
        let r: Result<Message, DecodeError> = match h.msg_type {
            MessageType::OPEN => Open::parse_body(body)
                .map(Message::Open)
                .map_err(Into::into),
            MessageType::UPDATE => {
                let (u, verdict) = Update::decode_body(body, ctx);
                return Decoded {
                    message: u.map(Message::Update),
                    verdict,
                };
            }
            MessageType::NOTIFICATION => Notification::parse_body(body)
                .map(Message::Notification)
                .map_err(Into::into),
            MessageType::KEEPALIVE => Ok(Message::Keepalive(Keepalive)),
            _ => match <&[u8; 4]>::try_from(body) {
                Ok(b) => Ok(Message::RouteRefresh(RouteRefresh::parse_body(b))),
                // RFC 7313 §5: ROUTE-REFRESH Message Error / Invalid Message Length, with
                // the complete message as data.
                Err(_) => Err(RouteRefreshError::InvalidMessageLength {
                    length: h.length,
                    message: Bytes::copy_from_slice(buf),
                }
                .into()),
            },
        };
        match r {
            Ok(m) => Decoded {
                message: Some(m),
                verdict: Verdict::Accepted,
            },
            Err(e) => Decoded::reset(e),
        }
    }

    /// Strict decoding: `Ok` only when the verdict is [`Verdict::Accepted`]. A discarded
    /// attribute or treat-as-withdraw becomes the `UpdateError` of its first finding.
    pub fn parse(buf: &[u8], ctx: &DecodeCtx) -> Result<Message, DecodeError> {
        let d = Message::decode(buf, ctx);
        match (d.message, d.verdict) {
            (Some(m), Verdict::Accepted) => Ok(m),
            (_, Verdict::SessionReset { error, .. }) => Err(error),
            (
                _,
                Verdict::AttributesDiscarded { which: mut f }
                | Verdict::TreatAsWithdraw { why: mut f, .. },
            ) => Err(DecodeError::Update(f.swap_remove(0).error)),
            // Unreachable by construction: only a reset comes without a message.
            (None, _) => Err(HeaderError::BadMessageLength {
                length: 0,
                available: buf.len(),
            }
            .into()),
        }
    }

    fn body_len(&self, ctx: &EncodeCtx) -> usize {
        match self {
            Message::Open(o) => o.body_len(),
            Message::Update(u) => u.body_len(ctx),
            Message::Notification(n) => n.body_len(),
            Message::Keepalive(_) => 0,
            Message::RouteRefresh(_) => RouteRefresh::BODY_LEN,
        }
    }

    /// Length of the encoded message, header included; always equals what
    /// [`emit`](Self::emit) writes.
    pub fn encoded_len(&self, ctx: &EncodeCtx) -> usize {
        HEADER_LEN + self.body_len(ctx)
    }

    /// Appends the encoded message to `out`. On error nothing is appended.
    pub fn emit(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        let length = self.encoded_len(ctx);
        // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 octets.
        let max = match self {
            Message::Open(_) | Message::Keepalive(_) => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        if length > max {
            return Err(EncodeError::MessageTooLong { length, max });
        }
        let mark = out.len();
        out.reserve(length);
        Header {
            length: length as u16,
            msg_type: self.msg_type(),
        }
        .emit(out);
        let r = match self {
            Message::Open(o) => o.emit_body(out),
            Message::Update(u) => u.emit_body(ctx, out),
            Message::Notification(n) => {
                n.emit_body(out);
                Ok(())
            }
            Message::Keepalive(_) => Ok(()),
            Message::RouteRefresh(r) => {
                r.emit_body(out);
                Ok(())
            }
        };
        if r.is_err() {
            out.truncate(mark);
        }
        debug_assert!(r.is_err() || out.len() - mark == length);
        r
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self, ctx: &EncodeCtx) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(self.encoded_len(ctx));
        self.emit(ctx, &mut out)?;
        Ok(out.freeze())
    }
}

impl From<Open> for Message {
    fn from(m: Open) -> Self {
        Message::Open(m)
    }
}

impl From<Update> for Message {
    fn from(m: Update) -> Self {
        Message::Update(m)
    }
}

impl From<Notification> for Message {
    fn from(m: Notification) -> Self {
        Message::Notification(m)
    }
}

impl From<RouteRefresh> for Message {
    fn from(m: RouteRefresh) -> Self {
        Message::RouteRefresh(m)
    }
}
