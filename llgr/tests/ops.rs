//! The `llgr_ops` fuzz harness run on pseudo-random inputs, so that `cargo test
//! --all-features` exercises it without nightly: the engine must not panic and the
//! replayed FIB must always equal the engine's (checked inside `Harness::apply`).
#![cfg(feature = "arbitrary")]

use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use llgr::ops::{Harness, Op};

#[test]
fn random_op_sequences() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut total = 0;
    for _ in 0..100 {
        let bytes: Vec<u8> = (0..2048)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let mut u = Unstructured::new(&bytes);
        let mut ops = Vec::new();
        while let (false, Ok(op)) = (u.is_empty(), Op::arbitrary(&mut u)) {
            ops.push(op);
        }
        #[allow(clippy::disallowed_methods)]
        let mut h = Harness::new(Instant::now());
        for op in &ops {
            h.apply(op);
        }
        total += ops.len();
    }
    assert!(total > 3000, "only {total} operations generated");
}
