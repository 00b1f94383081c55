//! Runnable tools built on the dualtor crates (unpublished); see `src/bin/`.
#![forbid(unsafe_code)]

pub mod daemon;
pub mod demo;
pub mod tor;
