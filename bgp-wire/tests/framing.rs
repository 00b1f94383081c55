//! Codec framing checklist (style rule 38) for the tokio-util decoder.
#![cfg(feature = "tokio")]

mod common;

use bgp_wire::error::HeaderError;
use bgp_wire::framing::{BgpCodec, FramingError};
use bgp_wire::{EncodeCtx, Message, Update};
use bytes::BytesMut;
use futures::StreamExt;
use tokio_util::codec::{Decoder, FramedRead};

fn stream() -> (Vec<u8>, Vec<Vec<u8>>) {
    let msgs = vec![
        common::msg(4, &[]),
        Message::Update(Update::end_of_rib(bgp_wire::Family::IPV6_UNICAST))
            .to_bytes(&EncodeCtx::modern())
            .unwrap()
            .to_vec(),
        common::msg(3, &[6, 2, 0]),
    ];
    (msgs.concat(), msgs)
}

#[test]
fn several_messages_in_one_read() {
    let (all, msgs) = stream();
    let mut codec = BgpCodec::new();
    let mut buf = BytesMut::from(&all[..]);
    for m in &msgs {
        assert_eq!(codec.decode(&mut buf).unwrap().as_deref(), Some(&m[..]));
    }
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn one_message_split_at_every_offset() {
    let (all, msgs) = stream();
    let first = &msgs[1];
    for cut in 0..first.len() {
        let mut codec = BgpCodec::new();
        let mut buf = BytesMut::from(&first[..cut]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None, "cut at {cut}");
        buf.extend_from_slice(&first[cut..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap().as_deref(),
            Some(&first[..]),
            "cut at {cut}"
        );
    }
    // And byte by byte across the whole stream.
    let mut codec = BgpCodec::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in &all {
        buf.extend_from_slice(&[*b]);
        if let Some(f) = codec.decode(&mut buf).unwrap() {
            got.push(f.to_vec());
        }
    }
    assert_eq!(got, msgs);
}

#[test]
fn declared_length_too_large_rejected_before_buffering() {
    // RFC 4271 §6.1: 4097 without RFC 8654; only the 19 header octets are present.
    let mut hdr = common::msg(2, &[]);
    hdr[16..18].copy_from_slice(&4097u16.to_be_bytes());
    let mut codec = BgpCodec::new();
    let e = codec.decode(&mut BytesMut::from(&hdr[..])).unwrap_err();
    assert!(
        matches!(
            e,
            FramingError::Header(HeaderError::BadMessageLength { length: 4097, .. })
        ),
        "{e:?}"
    );
    // After RFC 8654 the same header is accepted and the decoder waits for the body.
    codec.set_ctx(EncodeCtx::modern().with_extended_message(true));
    assert_eq!(codec.decode(&mut BytesMut::from(&hdr[..])).unwrap(), None);
    // Bad marker and bad type are caught at the header too.
    let mut bad = common::msg(4, &[]);
    bad[0] = 0;
    assert!(matches!(
        BgpCodec::new().decode(&mut BytesMut::from(&bad[..])),
        Err(FramingError::Header(HeaderError::ConnectionNotSynchronized))
    ));
}

#[test]
fn truncated_body_at_eof_is_an_error() {
    let (_, msgs) = stream();
    let m = &msgs[1];
    let mut buf = BytesMut::from(&m[..m.len() - 1]);
    let e = BgpCodec::new().decode_eof(&mut buf).unwrap_err();
    assert!(matches!(e, FramingError::TruncatedAtEof { pending } if pending == m.len() - 1));
}

#[test]
fn leftover_bytes_at_eof_are_an_error() {
    let (_, msgs) = stream();
    let mut buf = BytesMut::from(&[&msgs[0][..], &[0xff, 0xff, 0xff][..]].concat()[..]);
    let mut codec = BgpCodec::new();
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap().as_deref(),
        Some(&msgs[0][..])
    );
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Err(FramingError::TruncatedAtEof { pending: 3 })
    ));
}

#[tokio::test]
async fn framed_read_over_async_reader() {
    let (all, msgs) = stream();
    let frames: Vec<_> = FramedRead::new(&all[..], BgpCodec::new()).collect().await;
    let frames: Vec<Vec<u8>> = frames.into_iter().map(|f| f.unwrap().to_vec()).collect();
    assert_eq!(frames, msgs);
}
