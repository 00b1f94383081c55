//! Arbitrary operation sequences against the llgr engine (style rule 35): session events,
//! UPDATEs, End-of-RIB, time, local origination and IGP changes. The harness panics if the
//! replayed FIB output ever differs from the engine's FIB; the engine itself must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llgr::ops::{Harness, Op};

fuzz_target!(|ops: Vec<Op>| {
    let mut h = Harness::new(std::time::Instant::now());
    for op in ops.iter().take(256) {
        h.apply(op);
    }
});
