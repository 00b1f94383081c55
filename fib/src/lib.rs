//! The Linux FIB programmer of a dual-ToR node (docs: see the end of this file).
#![deny(unsafe_code)]

pub mod decode;
pub mod error;
pub mod message;
pub mod types;

pub use error::{BuildError, DecodeError, Error, KernelError};
pub use types::{Family, GroupId, Nexthop, NexthopGroup, Protocol, Resilient, Target, Weighted};
