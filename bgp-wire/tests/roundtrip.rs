//! Exactness properties (style rules 9 and 34): `parse(emit(m)) == m`,
//! `emit(parse(b)) == b`, `encoded_len(m) == emit(m).len()`, and no panic on any input.
#![cfg(feature = "arbitrary")]

use bgp_wire::arbitrary::strategy;
use bgp_wire::{DecodeCtx, EncodeCtx, Message, Verdict};
use bytes::BytesMut;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_emit_is_identity((ctx, m) in strategy::ctx_and_message()) {
        let mut out = BytesMut::new();
        // Messages too long for the context are the only allowed encode failure.
        match m.emit(&ctx, &mut out) {
            Ok(()) => {}
            Err(bgp_wire::EncodeError::MessageTooLong { .. }) => return Ok(()),
            Err(e) => panic!("emit failed: {e:?} for {m:?}"),
        }
        prop_assert_eq!(out.len(), m.encoded_len(&ctx));
        let d = Message::decode(&out, &DecodeCtx::from(&ctx));
        prop_assert_eq!(&d.verdict, &Verdict::Accepted);
        prop_assert_eq!(d.message.as_ref(), Some(&m));
        // emit(parse(b)) == b
        let again = d.message.unwrap().to_bytes(&ctx).unwrap();
        prop_assert_eq!(&again[..], &out[..]);
    }

    #[test]
    fn modern_messages_round_trip(m in strategy::message()) {
        let ctx = EncodeCtx::modern();
        if let Ok(b) = m.to_bytes(&ctx) {
            prop_assert_eq!(Message::parse(&b, &DecodeCtx::modern()), Ok(m));
        }
    }

    #[test]
    fn decode_never_panics(ctx in any::<u64>(), body in proptest::collection::vec(any::<u8>(), 0..600), t in 1u8..=6) {
        // A valid header in front of arbitrary bytes reaches the body parsers.
        let mut b = vec![0xff; 16];
        b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        b.push(t);
        b.extend_from_slice(&body);
        let c = DecodeCtx::modern()
            .with_four_octet_as(ctx & 1 == 0)
            .with_extended_message(ctx & 2 == 0)
            .with_add_path(bgp_wire::Family::IPV4_UNICAST, ctx & 4 == 0)
            .with_add_path(bgp_wire::Family::IPV6_UNICAST, ctx & 8 == 0);
        let d = Message::decode(&b, &c);
        // Whatever was accepted re-emits byte for byte when it is canonical; at least it
        // must re-encode without error (UPDATEs and NOTIFICATIONs are always canonical).
        if let (Some(m @ (Message::Update(_) | Message::Notification(_))), Verdict::Accepted) = (&d.message, &d.verdict) {
            let e = EncodeCtx::modern()
                .with_four_octet_as(ctx & 1 == 0)
                .with_extended_message(ctx & 2 == 0)
                .with_add_path(bgp_wire::Family::IPV4_UNICAST, ctx & 4 == 0)
                .with_add_path(bgp_wire::Family::IPV6_UNICAST, ctx & 8 == 0);
            prop_assert_eq!(&m.to_bytes(&e).unwrap()[..], &b[..]);
        }
    }
}
