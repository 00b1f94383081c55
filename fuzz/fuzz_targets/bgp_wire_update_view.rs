//! `UpdateView::new_checked` (the zero-copy UPDATE path) against `Message::decode`: the
//! first byte picks the context (4-octet AS, ADD-PATH for IPv4/IPv6 unicast), the rest is
//! the body behind a valid header. A view exists exactly when the owned decode accepts
//! the UPDATE, its accessors read the same values, and every other input gives the owned
//! result unchanged.
#![no_main]

use bgp_wire::{DecodeCtx, Family, Message, UpdateView, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&bits, body)) = data.split_first() else {
        return;
    };
    if body.len() > 65535 - 19 {
        return;
    }
    let ctx = DecodeCtx::modern()
        .with_four_octet_as(bits & 1 != 0)
        .with_extended_message(true)
        .with_add_path(Family::IPV4_UNICAST, bits & 2 != 0)
        .with_add_path(Family::IPV6_UNICAST, bits & 4 != 0);
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    b.push(2);
    b.extend_from_slice(body);
    let owned = Message::decode(&b, &ctx);
    match (
        UpdateView::new_checked(&b[..], &ctx),
        &owned.message,
        &owned.verdict,
    ) {
        (Ok(v), Some(Message::Update(u)), Verdict::Accepted) => {
            assert!(v.announced().eq(u.announced().map(|(f, n)| (f, *n))));
            assert!(v.withdrawals().eq(u.withdrawals().map(|(f, n)| (f, *n))));
            assert_eq!(v.as_path().map(|p| p.to_as_path()).as_ref(), u.as_path());
            assert!(v.communities().eq(u.communities().iter().copied()));
            assert_eq!(v.attributes().count(), u.attributes.len());
        }
        (Ok(_), _, v) => panic!("view accepted what decode gives {v:?}"),
        (Err(d), ..) => assert_eq!(d, owned),
    }
});
