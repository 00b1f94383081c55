//! Benchmarks of the dualtor crates, each compared side by side with the
//! peers its issue names, in the same run, with a checksum proving that
//! every contender produced the same result.
//!
//! Binaries live in `src/bin/`; each takes `--tiny` (or a size flag) so that
//! CI can run it quickly to keep it from rotting.
#![forbid(unsafe_code)]
