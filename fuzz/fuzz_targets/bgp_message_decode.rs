//! Decode any bytes as a BGP message under an arbitrary session context: must never panic,
//! and whatever is accepted must re-encode and decode to the same message.
#![no_main]

use arbitrary::Arbitrary;
use bgp_wire::{DecodeCtx, EncodeCtx, Message, Verdict};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    ctx: DecodeCtx,
    bytes: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let d = Message::decode(&input.bytes, &input.ctx);
    if let (Some(m), Verdict::Accepted) = (&d.message, &d.verdict) {
        let e = EncodeCtx::from(&input.ctx);
        let b = m.to_bytes(&e).expect("an accepted message re-encodes");
        assert_eq!(b.len(), m.encoded_len(&e));
        let again = Message::decode(&b, &input.ctx);
        assert_eq!(again.verdict, Verdict::Accepted);
        assert_eq!(again.message.as_ref(), Some(m));
    }
});
