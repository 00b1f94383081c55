//! tokio-util framing (style rule 13): split a byte stream into complete BGP messages.
//!
//! The decoder reads the 19-octet header, rejects a bad marker, `length < 19` or
//! `length > max` (4096, or 65535 once RFC 8654 is negotiated) *before* buffering the
//! body, reserves the remainder, and yields the whole message as [`Bytes`] once it is
//! complete. Parse the frame with [`Message::decode`](crate::Message::decode).

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::ctx::EncodeCtx;
use crate::error::{EncodeError, HeaderError};
use crate::header::{HEADER_LEN, Header, MAX_MESSAGE_LEN};
use crate::message::Message;

/// Framing errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The transport failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The header is invalid; send `Notification::from(&DecodeError::Header(e))`.
    #[error("header: {0}")]
    Header(#[from] HeaderError),
    /// A message could not be encoded.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// The stream ended inside a message.
    #[error("{pending} octets of an incomplete message at end of stream")]
    TruncatedAtEof {
        /// Octets left in the buffer.
        pending: usize,
    },
}

/// A BGP framing codec: `Decoder<Item = Bytes>` (one complete message per item) and
/// `Encoder<&Message>`.
#[derive(Clone, Debug)]
pub struct BgpCodec {
    max: usize,
    ctx: EncodeCtx,
}

impl Default for BgpCodec {
    fn default() -> Self {
        BgpCodec {
            max: MAX_MESSAGE_LEN,
            ctx: EncodeCtx::default(),
        }
    }
}

impl BgpCodec {
    /// A codec for a session that has not negotiated anything yet (4096-octet messages).
    pub fn new() -> Self {
        Self::default()
    }

    /// Switches to the negotiated encode context; its extended-message setting also sets
    /// the maximum accepted length (the peer's context mirrors ours for RFC 8654).
    pub fn set_ctx(&mut self, ctx: EncodeCtx) {
        self.max = ctx.max_message_len();
        self.ctx = ctx;
    }

    /// Sets the maximum accepted message length.
    pub fn set_max_len(&mut self, max: usize) {
        self.max = max;
    }
}

impl Decoder for BgpCodec {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        if src.len() < HEADER_LEN {
            src.reserve(HEADER_LEN - src.len());
            return Ok(None);
        }
        // Checks marker, length range and type before any body is buffered.
        let h = Header::parse(&src[..HEADER_LEN], self.max)?;
        let len = usize::from(h.length);
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        Ok(Some(src.split_to(len).freeze()))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(FramingError::TruncatedAtEof { pending: buf.len() }),
        }
    }
}

impl Encoder<&Message> for BgpCodec {
    type Error = FramingError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), FramingError> {
        item.emit(&self.ctx, dst).map_err(Into::into)
    }
}
