//! IP prefixes as carried in Withdrawn Routes, NLRI (RFC 4271 §4.3) and the MP attributes
//! (RFC 4760 §5), with the optional ADD-PATH Path Identifier (RFC 7911 §3).
//!
//! ```text
//! +---------------------------+
//! | Path Identifier (4 octets)|   only when ADD-PATH is negotiated for the family
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```
//!
//! This is the hot path of UPDATE decoding, so it uses a hand-written two-pass walk: the
//! first pass validates and counts (so the `Vec` is allocated once, exactly), the second
//! materialises the prefixes (or [`NlriIter`] yields them one by one from a zero-copy
//! [`UpdateView`](crate::view::UpdateView)). Bits after the prefix length in the last
//! octet are kept as received, so re-emitting is byte-exact; call `IpNet::trunc` to
//! normalise.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::EncodeError;

/// One prefix, with its path identifier when ADD-PATH applies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Nlri {
    /// ADD-PATH Path Identifier (RFC 7911 §3), `None` without ADD-PATH.
    pub path_id: Option<u32>,
    /// The prefix.
    pub prefix: IpNet,
}

impl Nlri {
    /// A prefix without path identifier.
    pub fn new(prefix: impl Into<IpNet>) -> Self {
        Nlri {
            path_id: None,
            prefix: prefix.into(),
        }
    }

    /// A prefix with an ADD-PATH path identifier.
    pub fn with_path_id(path_id: u32, prefix: impl Into<IpNet>) -> Self {
        Nlri {
            path_id: Some(path_id),
            prefix: prefix.into(),
        }
    }

    /// Encoded length of this prefix (path identifier included when present).
    pub fn encoded_len(&self) -> usize {
        let pid = if self.path_id.is_some() { 4 } else { 0 };
        pid + 1 + usize::from(self.prefix.prefix_len()).div_ceil(8)
    }
}

/// Where and why a prefix field failed to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PrefixError {
    /// Absolute offset of the bad prefix.
    pub(crate) offset: usize,
    /// The prefix length octet, or 0 if truncated before it.
    pub(crate) prefix_len: u8,
}

/// Validates and counts the prefixes in `buf` (pass 1).
#[inline]
fn count(buf: &[u8], base: usize, max_len: u8, add_path: bool) -> Result<usize, PrefixError> {
    let mut i = 0usize;
    let mut n = 0usize;
    let pid = if add_path { 4 } else { 0 };
    while i < buf.len() {
        let start = i;
        i += pid;
        let Some(&len) = buf.get(i) else {
            return Err(PrefixError {
                offset: base + start,
                prefix_len: 0,
            });
        };
        if len > max_len {
            return Err(PrefixError {
                offset: base + start,
                prefix_len: len,
            });
        }
        i += 1 + usize::from(len).div_ceil(8);
        if i > buf.len() {
            return Err(PrefixError {
                offset: base + start,
                prefix_len: len,
            });
        }
        n += 1;
    }
    Ok(n)
}

/// Validates a field of IPv4 (`v6 == false`) or IPv6 prefixes without decoding them and
/// returns how many there are (the check half of [`parse`], used by the zero-copy view).
#[inline]
pub(crate) fn check(
    buf: &[u8],
    base: usize,
    v6: bool,
    add_path: bool,
) -> Result<usize, PrefixError> {
    count(buf, base, if v6 { 128 } else { 32 }, add_path)
}

/// The first `nb` octets of `b` as an IPv4 address, zero-filled: one unaligned load and a
/// mask when 4 octets are readable (the common case inside a message), else a copy.
/// Bits inside the last octet stay as received.
#[inline(always)]
fn v4_octets(b: &[u8], nb: usize) -> Option<Ipv4Addr> {
    if nb > 4 {
        return None;
    }
    if let Some(w) = b.first_chunk::<4>() {
        let mask = u32::MAX.checked_shl(32 - 8 * nb as u32).unwrap_or(0);
        return Some(Ipv4Addr::from(u32::from_be_bytes(*w) & mask));
    }
    let mut a = [0u8; 4];
    a.get_mut(..nb)?.copy_from_slice(b.get(..nb)?);
    Some(Ipv4Addr::from(a))
}

/// [`v4_octets`] for IPv6.
#[inline(always)]
fn v6_octets(b: &[u8], nb: usize) -> Option<Ipv6Addr> {
    if nb > 16 {
        return None;
    }
    if let Some(w) = b.first_chunk::<16>() {
        let mask = u128::MAX.checked_shl(128 - 8 * nb as u32).unwrap_or(0);
        return Some(Ipv6Addr::from(u128::from_be_bytes(*w) & mask));
    }
    let mut a = [0u8; 16];
    a.get_mut(..nb)?.copy_from_slice(b.get(..nb)?);
    Some(Ipv6Addr::from(a))
}

/// Decodes the prefix at the start of `b`, returning it and the rest of `b`; `None` if it
/// does not fit (never the case in a field that [`check`] accepted).
#[inline(always)]
fn read_one<const V6: bool>(b: &[u8], add_path: bool) -> Option<(Nlri, &[u8])> {
    let (path_id, b) = if add_path {
        let (p, b) = b.split_first_chunk::<4>()?;
        (Some(u32::from_be_bytes(*p)), b)
    } else {
        (None, b)
    };
    let (&len, b) = b.split_first()?;
    let nb = usize::from(len).div_ceil(8);
    let rest = b.get(nb..)?;
    let prefix = if V6 {
        IpNet::V6(Ipv6Net::new(v6_octets(b, nb)?, len).ok()?)
    } else {
        IpNet::V4(Ipv4Net::new(v4_octets(b, nb)?, len).ok()?)
    };
    Some((Nlri { path_id, prefix }, rest))
}

/// Parses a field of IPv4 (`v6 == false`) or IPv6 prefixes into `out`.
///
/// `base` is the absolute offset of `buf` in the message, for errors.
pub(crate) fn parse(
    buf: &[u8],
    base: usize,
    v6: bool,
    add_path: bool,
    out: &mut Vec<Nlri>,
) -> Result<(), PrefixError> {
    if buf.is_empty() {
        return Ok(());
    }
    let n = check(buf, base, v6, add_path)?;
    if v6 {
        fill::<true>(buf, n, add_path, out);
    } else {
        fill::<false>(buf, n, add_path, out);
    }
    Ok(())
}

/// The second pass of [`parse`], monomorphised per family: decodes the `n` prefixes that
/// [`check`] counted. A `0.0.0.0/0` stand-in for a prefix that does not fit can never be
/// used (the field was checked); it keeps this pass free of panics and lets the `Vec` be
/// filled from an exact-size iterator (one allocation, no per-push capacity check).
fn fill<const V6: bool>(buf: &[u8], n: usize, add_path: bool, out: &mut Vec<Nlri>) {
    let mut rest = buf;
    out.reserve_exact(n);
    out.extend((0..n).map(|_| match read_one::<V6>(rest, add_path) {
        Some((nlri, r)) => {
            rest = r;
            nlri
        }
        None => Nlri::new(Ipv4Net::default()),
    }));
}

/// The prefixes of a field that was checked, decoded one at a time (zero-copy view).
#[derive(Clone, Debug)]
pub struct NlriIter<'a> {
    buf: &'a [u8],
    v6: bool,
    add_path: bool,
}

impl<'a> NlriIter<'a> {
    pub(crate) fn new(buf: &'a [u8], v6: bool, add_path: bool) -> Self {
        NlriIter { buf, v6, add_path }
    }
}

impl Iterator for NlriIter<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        let (n, rest) = if self.v6 {
            read_one::<true>(self.buf, self.add_path)?
        } else {
            read_one::<false>(self.buf, self.add_path)?
        };
        self.buf = rest;
        Some(n)
    }
}

/// Encoded length of a list of prefixes.
pub(crate) fn encoded_len(v: &[Nlri]) -> usize {
    v.iter().map(Nlri::encoded_len).sum()
}

/// Emits prefixes, checking family and path identifier presence against the context.
pub(crate) fn emit(
    v: &[Nlri],
    v6: bool,
    add_path: bool,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    for n in v {
        if n.path_id.is_some() != add_path {
            return Err(EncodeError::PathIdMismatch);
        }
        if let Some(p) = n.path_id {
            out.put_u32(p);
        }
        let len = n.prefix.prefix_len();
        let nb = usize::from(len).div_ceil(8);
        out.put_u8(len);
        match (n.prefix, v6) {
            (IpNet::V4(p), false) => out.put_slice(&p.addr().octets()[..nb]),
            (IpNet::V6(p), true) => out.put_slice(&p.addr().octets()[..nb]),
            _ => return Err(EncodeError::WrongFamily),
        }
    }
    Ok(())
}
