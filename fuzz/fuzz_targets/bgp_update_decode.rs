//! UPDATE bodies only (the RFC 7606 path): the first byte picks the context (4-octet AS,
//! ADD-PATH for IPv4/IPv6 unicast), the rest is the body behind a valid header.
#![no_main]

use bgp_wire::{DecodeCtx, Family, Message, Verdict};
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
    let d = Message::decode(&b, &ctx);
    match (&d.message, &d.verdict) {
        (None, Verdict::SessionReset { .. }) => {}
        (Some(_), Verdict::SessionReset { .. }) => panic!("a reset carries no message"),
        (None, v) => panic!("verdict {v:?} without a message"),
        (Some(_), _) => {}
    }
});
