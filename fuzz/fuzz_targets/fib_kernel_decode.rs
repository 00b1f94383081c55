//! Decoding kernel rtnetlink messages (dump replies, events, ACKs/errors)
//! must never panic, and a nexthop payload that parses re-emits to bytes
//! that parse to the same value (style rule 9).
#![no_main]

use fib::decode::{KernelMessage, decode_one, messages};
use fib::message::nexthop::NexthopMessage;
use fib::packet_core::Emitable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Whole datagram: framing plus every body decoder.
    for m in messages(data) {
        if let Ok(d) = m {
            if let KernelMessage::Route { route, .. } = d.message {
                assert!(route.prefix.prefix_len() <= 128);
            }
        }
    }
    // Each body decoder on the raw bytes, by the first two bytes as type.
    if data.len() >= 2 {
        let t = u16::from_ne_bytes([data[0], data[1]]) % 128;
        let _ = decode_one(t, 0x200, &data[2..], 2);
        if let Ok(nh) = NexthopMessage::parse(&data[2..], 2) {
            let mut out = vec![0; nh.buffer_len()];
            nh.emit(&mut out);
            let again = NexthopMessage::parse(&out, 0).expect("re-emitted nexthop message parses");
            assert_eq!(again, nh);
        }
    }
});
