//! COMMUNITIES (RFC 1997), EXTENDED_COMMUNITIES (RFC 4360), IPv6 Address Specific
//! Extended Communities (RFC 5701) and LARGE_COMMUNITY (RFC 8092).

use smallvec::SmallVec;

/// The value of a COMMUNITIES attribute: up to 12 communities are stored inline, so
/// decoding a typical UPDATE allocates nothing for them. Build one from a `Vec` or an
/// array with `.into()`, or `.collect()` it.
pub type CommunityList = SmallVec<[Community; 12]>;

/// The value of a LARGE_COMMUNITY attribute: up to 4 are stored inline.
pub type LargeCommunityList = SmallVec<[LargeCommunity; 4]>;

/// Collects a decoded list: straight into the inline buffer when it fits (the usual
/// case), else onto the heap. `fill` is any value; it is overwritten or unused.
#[inline]
pub(crate) fn inline_list<T: Copy, const N: usize>(
    it: impl ExactSizeIterator<Item = T>,
    fill: T,
) -> SmallVec<[T; N]>
where
    [T; N]: smallvec::Array<Item = T>,
{
    let n = it.len();
    if n > N {
        return it.collect();
    }
    let mut buf = [fill; N];
    for (d, x) in buf.iter_mut().zip(it) {
        *d = x;
    }
    SmallVec::from_buf_and_len(buf, n)
}

/// A standard community (RFC 1997 §3), with the IANA well-known values as constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xffff_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Community = Community(0xffff_0001);
    /// LLGR_STALE (RFC 9494 §4.3).
    pub const LLGR_STALE: Community = Community(0xffff_0006);
    /// NO_LLGR (RFC 9494 §4.2).
    pub const NO_LLGR: Community = Community(0xffff_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xffff_029a);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xffff_ff01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xffff_ff02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xffff_ff03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Community = Community(0xffff_ff04);

    /// A community from its `asn:value` halves.
    pub const fn new(asn: u16, value: u16) -> Self {
        Community(((asn as u32) << 16) | value as u32)
    }
}

impl core::fmt::Display for Community {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// An extended community (RFC 4360 §2), kept as its 8 octets; the first octet is the type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ExtendedCommunity(pub [u8; 8]);

impl ExtendedCommunity {
    /// The Type octet (high) and Sub-Type octet.
    pub fn type_subtype(&self) -> (u8, u8) {
        (self.0[0], self.0[1])
    }

    /// Whether the IANA authority bit says the community is transitive (RFC 4360 §2).
    pub fn is_transitive(&self) -> bool {
        self.0[0] & 0x40 == 0
    }
}

/// An IPv6 Address Specific Extended Community (RFC 5701 §2), kept as its 20 octets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Ipv6ExtendedCommunity(pub [u8; 20]);

/// A large community (RFC 8092 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LargeCommunity {
    /// Global Administrator (an AS number).
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl LargeCommunity {
    /// Decodes the 12 octets of one large community (RFC 8092 §3).
    pub fn from_octets(c: &[u8; 12]) -> Self {
        let w = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
        LargeCommunity {
            global: w(0),
            local1: w(4),
            local2: w(8),
        }
    }
}

impl core::fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}
