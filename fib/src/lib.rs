//! The Linux FIB programmer of a dual-ToR node.
#![deny(unsafe_code)]

pub mod decode;
pub mod error;
pub mod knobs;
pub mod message;
pub mod monitor;
pub mod programmer;
mod socket;
mod sys;
pub mod types;

pub use error::{BuildError, DecodeError, Error, KernelError};
pub use monitor::{Event, Monitor, MonitorConfig};
pub use programmer::{Config, Failure, Fib, Op, OpError, Report, Status, Style};
pub use socket::SocketConfig;
pub use types::{Family, GroupId, Nexthop, NexthopGroup, Protocol, Resilient, Target, Weighted};
