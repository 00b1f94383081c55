//! Errors. `Display` text is not a stable interface; match on variants.

use std::io;

use ipnet::IpNet;

/// A kernel message that does not decode. Carries the byte offset in the
/// received datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than a fixed header needs.
    #[error("truncated at offset {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// Offset of the structure.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// `nlmsg_len` is smaller than the header or runs past the datagram.
    #[error("bad nlmsg_len {len} at offset {offset}")]
    MessageLength {
        /// Offset of the message.
        offset: usize,
        /// The declared length.
        len: u32,
    },
    /// An attribute header is malformed (length < 4 or past the end).
    #[error("malformed attribute at offset {offset}")]
    BadAttribute {
        /// Offset of the attribute run.
        offset: usize,
    },
    /// An attribute has the wrong value length for its type.
    #[error("attribute type {kind} has length {len} at offset {offset}")]
    AttributeLength {
        /// Offset of the attribute.
        offset: usize,
        /// Attribute type.
        kind: u16,
        /// Its value length.
        len: usize,
    },
    /// A prefix length beyond the family's address size.
    #[error("prefix length {len} at offset {offset}")]
    PrefixLength {
        /// Offset of the header.
        offset: usize,
        /// The length.
        len: u8,
    },
}

/// Invalid input to a message builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A route with no next hop and not a blackhole.
    #[error("route {0} has no next hop")]
    NoNexthop(IpNet),
    /// IPv6 rejects dev-only next hops in RTA_MULTIPATH: use nexthop objects.
    #[error("IPv6 route {0}: dev-only multipath needs nexthop objects")]
    V6DevOnlyMultipath(IpNet),
    /// An IPv4 gateway on an IPv6 legacy (non-object) route (the kernel
    /// takes only the reverse, IPv4 over IPv6, as `RTA_VIA`).
    #[error("route {prefix}: IPv4 gateway on an IPv6 route")]
    GatewayFamily {
        /// The route.
        prefix: IpNet,
    },
}

/// The kernel refused one request. `errno` is positive (`libc::EEXIST`…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel error {errno}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct KernelError {
    /// Positive errno.
    pub errno: i32,
    /// The extended-ACK message (`NLMSGERR_ATTR_MSG`), if the kernel gave one.
    pub message: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in our request.
    pub offset: Option<u32>,
}

/// The crate's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Socket or syscall failure.
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    /// A kernel message did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Our own input could not be encoded.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A request (a dump, a knob) failed in the kernel.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The kernel dropped messages (ENOBUFS): state must be re-dumped.
    #[error("netlink overflow (ENOBUFS): re-dump required")]
    Overflow,
    /// A sysctl could not be read or written.
    #[error("sysctl {path}: {source}")]
    Sysctl {
        /// The /proc/sys path.
        path: String,
        /// The failure.
        source: io::Error,
    },
}
