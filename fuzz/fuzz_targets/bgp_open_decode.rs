//! OPEN bodies (capabilities, RFC 9072 parameters) behind a valid header.
#![no_main]

use bgp_wire::{DecodeCtx, EncodeCtx, Message, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if body.len() > 4096 - 19 {
        return;
    }
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    b.push(1);
    b.extend_from_slice(body);
    let d = Message::decode(&b, &DecodeCtx::modern());
    if let (Some(m), Verdict::Accepted) = (&d.message, &d.verdict) {
        let again = m.to_bytes(&EncodeCtx::modern()).expect("re-encodes");
        assert_eq!(Message::parse(&again, &DecodeCtx::modern()).as_ref(), Ok(m));
    }
});
