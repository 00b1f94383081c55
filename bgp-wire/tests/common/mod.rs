//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use bgp_wire::{DecodeCtx, EncodeCtx, Message};

/// Wraps a body in a header of the given type (RFC 4271 §4.1).
pub fn msg(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    b.push(msg_type);
    b.extend_from_slice(body);
    b
}

/// An UPDATE from its three fields (RFC 4271 §4.3).
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = (withdrawn.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    msg(2, &body)
}

/// Asserts both directions of a vector, with hex output on mismatch (style rule 32).
pub fn assert_vector(bytes: &[u8], expected: &Message, dctx: &DecodeCtx, ectx: &EncodeCtx) {
    let parsed = Message::parse(bytes, dctx).unwrap_or_else(|e| panic!("parse failed: {e:?}"));
    assert_eq!(&parsed, expected, "parse");
    let emitted = expected.to_bytes(ectx).expect("emit");
    assert_eq!(hex::encode(&emitted), hex::encode(bytes), "emit");
    assert_eq!(expected.encoded_len(ectx), bytes.len(), "encoded_len");
}
