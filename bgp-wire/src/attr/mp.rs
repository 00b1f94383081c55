//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) for the IP unicast and multicast
//! families, including the IPv6 global + link-local next hop (RFC 2545 §3) and IPv6 next
//! hops for IPv4 NLRI (RFC 8950).
//!
//! ```text
//! +---------------------------------------------------------+
//! | Address Family Identifier (2 octets)                    |
//! | Subsequent Address Family Identifier (1 octet)          |
//! | Length of Next Hop Network Address (1 octet)            |
//! | Network Address of Next Hop (variable)                  |
//! | Reserved (1 octet)                                      |
//! | Network Layer Reachability Information (variable)       |
//! +---------------------------------------------------------+
//! ```
//!
//! MP attributes of families whose NLRI are not plain prefixes are kept as raw attributes.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};

use crate::ctx::{Afi, Family, Safi};
use crate::error::EncodeError;
use crate::nlri::{self, Nlri, PrefixError};

/// The next hop of an MP_REACH_NLRI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum NextHop {
    /// An IPv4 next hop (length 4).
    Ipv4(Ipv4Addr),
    /// An IPv6 global next hop (length 16) and optional link-local (length 32).
    Ipv6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address (RFC 2545 §3).
        link_local: Option<Ipv6Addr>,
    },
}

impl NextHop {
    fn len(&self) -> usize {
        match self {
            NextHop::Ipv4(_) => 4,
            NextHop::Ipv6 {
                link_local: None, ..
            } => 16,
            NextHop::Ipv6 {
                link_local: Some(_),
                ..
            } => 32,
        }
    }

    /// Decodes a next hop of `len` octets for `afi`; `None` if the length does not fit.
    pub(crate) fn parse(afi: Afi, b: &[u8]) -> Option<NextHop> {
        let v6 = |s: &[u8]| <[u8; 16]>::try_from(s).ok().map(Ipv6Addr::from);
        match (afi, b.len()) {
            (Afi::IPV4, 4) => Some(NextHop::Ipv4(Ipv4Addr::from(<[u8; 4]>::try_from(b).ok()?))),
            (_, 16) => Some(NextHop::Ipv6 {
                global: v6(b)?,
                link_local: None,
            }),
            (_, 32) => Some(NextHop::Ipv6 {
                global: v6(&b[..16])?,
                link_local: Some(v6(&b[16..])?),
            }),
            _ => None,
        }
    }

    fn emit(&self, out: &mut BytesMut) {
        match self {
            NextHop::Ipv4(a) => out.put_slice(&a.octets()),
            NextHop::Ipv6 { global, link_local } => {
                out.put_slice(&global.octets());
                if let Some(ll) = link_local {
                    out.put_slice(&ll.octets());
                }
            }
        }
    }
}

impl core::fmt::Display for NextHop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NextHop::Ipv4(a) => write!(f, "{a}"),
            NextHop::Ipv6 {
                global,
                link_local: None,
            } => write!(f, "{global}"),
            NextHop::Ipv6 {
                global,
                link_local: Some(ll),
            } => write!(f, "{global}+{ll}"),
        }
    }
}

/// MP_REACH_NLRI for an IP family.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MpReach {
    /// The family (IPv4/IPv6, unicast/multicast).
    pub family: Family,
    /// The next hop.
    pub next_hop: NextHop,
    /// Reachable prefixes.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI for an IP family. With no prefixes it is the End-of-RIB marker of its
/// family (RFC 4724 §2).
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MpUnreach {
    /// The family.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Nlri>,
}

/// Why an MP attribute is malformed.
pub(crate) enum MpError {
    /// Shorter than its fixed part, or next hop overruns it.
    Structure,
    /// Next hop length does not fit the family (RFC 7606 §7.11).
    NextHopLength,
    /// A prefix is malformed (RFC 7606 §5.3).
    Prefix,
}

/// Returns the family of an MP value, if long enough.
pub(crate) fn peek_family(v: &[u8]) -> Option<Family> {
    Some(Family::new(
        Afi(u16::from_be_bytes([*v.first()?, *v.get(1)?])),
        Safi(*v.get(2)?),
    ))
}

impl MpReach {
    /// Reads the fixed part of an IP-family MP_REACH_NLRI value: the family, the next hop
    /// and where the NLRI start (after the Reserved octet, RFC 4760 §3: formerly the SNPA
    /// count, ignored).
    pub(crate) fn header(v: &[u8]) -> Result<(Family, NextHop, usize), MpError> {
        let family = peek_family(v).ok_or(MpError::Structure)?;
        let nh_len = usize::from(*v.get(3).ok_or(MpError::Structure)?);
        let nh = v.get(4..4 + nh_len).ok_or(MpError::Structure)?;
        let next_hop = NextHop::parse(family.afi, nh).ok_or(MpError::NextHopLength)?;
        let start = 4 + nh_len + 1;
        if start > v.len() {
            return Err(MpError::Structure);
        }
        Ok((family, next_hop, start))
    }

    /// Checks an IP-family MP_REACH_NLRI value without allocating.
    pub(crate) fn check(v: &[u8], base: usize, add_path: bool) -> Result<(), MpError> {
        let (family, _, start) = MpReach::header(v)?;
        nlri::check(&v[start..], base + start, family.afi == Afi::IPV6, add_path)
            .map(drop)
            .map_err(|_: PrefixError| MpError::Prefix)
    }

    /// Parses an IP-family MP_REACH_NLRI value starting at absolute offset `base`.
    pub(crate) fn parse(v: &[u8], base: usize, add_path: bool) -> Result<MpReach, MpError> {
        let (family, next_hop, start) = MpReach::header(v)?;
        let mut nlri = Vec::new();
        nlri::parse(
            &v[start..],
            base + start,
            family.afi == Afi::IPV6,
            add_path,
            &mut nlri,
        )
        .map_err(|_: PrefixError| MpError::Prefix)?;
        Ok(MpReach {
            family,
            next_hop,
            nlri,
        })
    }

    pub(crate) fn value_len(&self) -> usize {
        4 + self.next_hop.len() + 1 + nlri::encoded_len(&self.nlri)
    }

    pub(crate) fn emit(&self, add_path: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.family.safi.0);
        out.put_u8(self.next_hop.len() as u8);
        self.next_hop.emit(out);
        out.put_u8(0);
        nlri::emit(&self.nlri, self.family.afi == Afi::IPV6, add_path, out)
    }
}

impl MpUnreach {
    /// Checks an IP-family MP_UNREACH_NLRI value without allocating.
    pub(crate) fn check(v: &[u8], base: usize, add_path: bool) -> Result<(), MpError> {
        let family = peek_family(v).ok_or(MpError::Structure)?;
        nlri::check(&v[3..], base + 3, family.afi == Afi::IPV6, add_path)
            .map(drop)
            .map_err(|_: PrefixError| MpError::Prefix)
    }

    /// Parses an IP-family MP_UNREACH_NLRI value.
    pub(crate) fn parse(v: &[u8], base: usize, add_path: bool) -> Result<MpUnreach, MpError> {
        let family = peek_family(v).ok_or(MpError::Structure)?;
        let mut withdrawn = Vec::new();
        nlri::parse(
            &v[3..],
            base + 3,
            family.afi == Afi::IPV6,
            add_path,
            &mut withdrawn,
        )
        .map_err(|_: PrefixError| MpError::Prefix)?;
        Ok(MpUnreach { family, withdrawn })
    }

    pub(crate) fn value_len(&self) -> usize {
        3 + nlri::encoded_len(&self.withdrawn)
    }

    pub(crate) fn emit(&self, add_path: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.family.safi.0);
        nlri::emit(&self.withdrawn, self.family.afi == Afi::IPV6, add_path, out)
    }
}
