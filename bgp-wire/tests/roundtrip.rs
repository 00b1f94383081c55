//! Exactness properties (style rules 9 and 34): `parse(emit(m)) == m`,
//! `emit(parse(b)) == b`, `encoded_len(m) == emit(m).len()`, and no panic on any input.
#![cfg(feature = "arbitrary")]

use bgp_wire::arbitrary::strategy;
use bgp_wire::{DecodeCtx, EncodeCtx, Message, UpdateView, Verdict};
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

    /// Style rule 7: the zero-copy view runs the same checks as `Message::decode` and reads
    /// the same values; anything but a clean UPDATE falls back to the owned result.
    #[test]
    fn update_view_agrees_with_owned_decode((ctx, m) in strategy::ctx_and_message()) {
        let Ok(b) = m.to_bytes(&ctx) else { return Ok(()) };
        let dctx = DecodeCtx::from(&ctx);
        view_agrees(&b, &dctx)?;
    }

    #[test]
    fn update_view_agrees_on_any_body(ctx in any::<u64>(), body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut b = vec![0xff; 16];
        b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        b.push(2);
        b.extend_from_slice(&body);
        let c = DecodeCtx::modern()
            .with_four_octet_as(ctx & 1 == 0)
            .with_add_path(bgp_wire::Family::IPV4_UNICAST, ctx & 4 == 0)
            .with_add_path(bgp_wire::Family::IPV6_UNICAST, ctx & 8 == 0);
        view_agrees(&b, &c)?;
    }
}

fn view_agrees(b: &[u8], ctx: &DecodeCtx) -> Result<(), TestCaseError> {
    let owned = Message::decode(b, ctx);
    match (UpdateView::new_checked(b, ctx), &owned) {
        (
            Ok(v),
            bgp_wire::Decoded {
                message: Some(Message::Update(u)),
                verdict: Verdict::Accepted,
            },
        ) => {
            prop_assert_eq!(v.withdrawn().collect::<Vec<_>>(), u.withdrawn.clone());
            prop_assert_eq!(v.nlri().collect::<Vec<_>>(), u.nlri.clone());
            let types: Vec<(u8, u8)> = v.attributes().map(|a| (a.flags, a.type_code)).collect();
            let want: Vec<(u8, u8)> = u
                .attributes
                .iter()
                .map(|a| (a.flags, a.type_code()))
                .collect();
            prop_assert_eq!(types, want);
            // The one-pass typed read gives the owned decoder's attributes, in order.
            let typed: Vec<_> = v.path_attributes().map(|a| a.to_attribute()).collect();
            prop_assert_eq!(&typed, &u.attributes);
            let codes: Vec<u8> = v.path_attributes().map(|a| a.value.type_code()).collect();
            prop_assert_eq!(
                codes,
                u.attributes
                    .iter()
                    .map(|a| a.type_code())
                    .collect::<Vec<_>>()
            );
            prop_assert_eq!(v.origin(), u.origin());
            prop_assert_eq!(v.as_path().map(|p| p.to_as_path()), u.as_path().cloned());
            prop_assert_eq!(v.next_hop(), u.next_hop());
            prop_assert_eq!(v.multi_exit_disc(), u.multi_exit_disc());
            prop_assert_eq!(v.local_pref(), u.local_pref());
            prop_assert_eq!(
                v.communities().collect::<Vec<_>>(),
                u.communities().to_vec()
            );
            prop_assert_eq!(
                v.large_communities().collect::<Vec<_>>(),
                u.large_communities().to_vec()
            );
            prop_assert_eq!(
                v.mp_reach()
                    .map(|m| (m.family, m.next_hop, m.nlri.collect::<Vec<_>>())),
                u.mp_reach().map(|m| (m.family, m.next_hop, m.nlri.clone()))
            );
            prop_assert_eq!(
                v.mp_unreach().map(|(f, n)| (f, n.collect::<Vec<_>>())),
                u.mp_unreach().map(|m| (m.family, m.withdrawn.clone()))
            );
            prop_assert_eq!(
                v.announced().collect::<Vec<_>>(),
                u.announced().map(|(f, n)| (f, *n)).collect::<Vec<_>>()
            );
            prop_assert_eq!(
                v.withdrawals().collect::<Vec<_>>(),
                u.withdrawals().map(|(f, n)| (f, *n)).collect::<Vec<_>>()
            );
            let again = v.to_update(ctx);
            prop_assert_eq!(again.as_ref(), Some(u));
        }
        (Err(d), _) => {
            prop_assert!(
                !matches!(
                    (&d.message, &d.verdict),
                    (Some(Message::Update(_)), Verdict::Accepted)
                ),
                "a clean UPDATE was refused by the view"
            );
            prop_assert_eq!(&d, &owned);
        }
        (Ok(_), _) => prop_assert!(false, "the view accepted what decode does not: {owned:?}"),
    }
    Ok(())
}
