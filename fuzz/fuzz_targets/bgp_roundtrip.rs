//! Encode an arbitrary canonical message under an arbitrary context, decode it back: the
//! verdict is Accepted, the message equal, and `encoded_len` exact.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use bgp_wire::{DecodeCtx, EncodeCtx, EncodeError, Message, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(ctx) = EncodeCtx::arbitrary(&mut u) else {
        return;
    };
    let Ok(m) = bgp_wire::arbitrary::message(&mut u, &ctx) else {
        return;
    };
    let b = match m.to_bytes(&ctx) {
        Ok(b) => b,
        Err(EncodeError::MessageTooLong { .. }) => return,
        Err(e) => panic!("canonical message failed to encode: {e:?}"),
    };
    assert_eq!(b.len(), m.encoded_len(&ctx));
    let d = Message::decode(&b, &DecodeCtx::from(&ctx));
    assert_eq!(d.verdict, Verdict::Accepted);
    assert_eq!(d.message, Some(m));
});
