//! UPDATE bodies only (the RFC 7606 path), read as a `bgp_wire::arbitrary::UpdateInput`:
//! the first byte picks the context (4-octet AS, ADD-PATH for IPv4/IPv6 unicast), the rest
//! is the body behind a valid header.
#![no_main]

use bgp_wire::arbitrary::UpdateInput;
use bgp_wire::{Message, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: UpdateInput| {
    let d = Message::decode(&input.message, &input.ctx);
    match (&d.message, &d.verdict) {
        (None, Verdict::SessionReset { .. }) => {}
        (Some(_), Verdict::SessionReset { .. }) => panic!("a reset carries no message"),
        (None, v) => panic!("verdict {v:?} without a message"),
        (Some(_), _) => {}
    }
});
