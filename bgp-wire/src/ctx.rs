//! Negotiated session parameters that change how messages are encoded (style rule 10).
//!
//! BGP is context dependent: the width of AS numbers (RFC 6793), the presence of ADD-PATH
//! path identifiers (RFC 7911 §3) and the maximum message size (RFC 8654) all depend on
//! what the two OPEN messages negotiated. [`DecodeCtx`] describes what we receive,
//! [`EncodeCtx`] what we send; [`negotiate`] derives both from the two OPENs.

use crate::capability::{AddPathMode, Capability};
use crate::header::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use crate::open::Open;

/// Address Family Identifier (IANA "Address Family Numbers"); unknown values round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Afi(pub u16);

impl Afi {
    /// IP version 4.
    pub const IPV4: Afi = Afi(1);
    /// IP version 6.
    pub const IPV6: Afi = Afi(2);
    /// Layer 2 VPN (RFC 4761, EVPN).
    pub const L2VPN: Afi = Afi(25);
}

/// Subsequent Address Family Identifier (IANA "SAFI Values"); unknown values round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Safi(pub u8);

impl Safi {
    /// Unicast forwarding (RFC 4760).
    pub const UNICAST: Safi = Safi(1);
    /// Multicast RPF (RFC 4760).
    pub const MULTICAST: Safi = Safi(2);
    /// Labeled unicast (RFC 8277).
    pub const MPLS_LABEL: Safi = Safi(4);
    /// EVPN (RFC 7432).
    pub const EVPN: Safi = Safi(70);
    /// MPLS-labeled VPN address (RFC 4364).
    pub const MPLS_VPN: Safi = Safi(128);
    /// Flow specification (RFC 8955).
    pub const FLOWSPEC: Safi = Safi(133);
}

/// An (AFI, SAFI) pair: one address family of multiprotocol BGP (RFC 4760).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast, the family of the plain UPDATE NLRI field (RFC 4271 §4.3).
    pub const IPV4_UNICAST: Family = Family::new(Afi::IPV4, Safi::UNICAST);
    /// IPv6 unicast (RFC 2545 / RFC 4760).
    pub const IPV6_UNICAST: Family = Family::new(Afi::IPV6, Safi::UNICAST);

    /// Builds a family from its two identifiers.
    pub const fn new(afi: Afi, safi: Safi) -> Self {
        Family { afi, safi }
    }

    /// Whether the NLRI of this family are plain IP prefixes (RFC 4760 §5), which this
    /// crate decodes; NLRI of other families are kept as raw bytes.
    pub(crate) fn has_ip_prefixes(self) -> bool {
        matches!(self.afi, Afi::IPV4 | Afi::IPV6)
            && matches!(self.safi, Safi::UNICAST | Safi::MULTICAST)
    }
}

impl core::fmt::Display for Family {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Family::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(f, "afi{}/safi{}", afi.0, safi.0),
        }
    }
}

macro_rules! session_ctx {
    ($(#[$doc:meta])* $name:ident, $dir:literal) => {
        $(#[$doc])*
        ///
        /// Build one with [`negotiate`] from the two OPEN messages, or by hand with the
        /// `with_*` methods. [`Default`] is the RFC 4271 baseline: 2-octet AS numbers,
        /// IPv4 unicast only, no ADD-PATH, 4096-octet messages.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
        pub struct $name {
            four_octet_as: bool,
            extended_message: bool,
            add_path: Vec<Family>,
            families: Vec<Family>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    four_octet_as: false,
                    extended_message: false,
                    add_path: Vec::new(),
                    families: vec![Family::IPV4_UNICAST],
                }
            }
        }

        impl $name {
            /// The RFC 4271 baseline (same as [`Default`]).
            pub fn new() -> Self {
                Self::default()
            }

            /// What a modern session usually negotiates: 4-octet AS numbers and IPv4 plus
            /// IPv6 unicast, no ADD-PATH, no extended messages.
            pub fn modern() -> Self {
                $name {
                    four_octet_as: true,
                    extended_message: false,
                    add_path: Vec::new(),
                    families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                }
            }

            /// Whether AS numbers are 4 octets wide (RFC 6793 §3).
            pub fn four_octet_as(&self) -> bool {
                self.four_octet_as
            }

            /// Sets whether AS numbers are 4 octets wide.
            #[must_use]
            pub fn with_four_octet_as(mut self, on: bool) -> Self {
                self.four_octet_as = on;
                self
            }

            /// Whether messages up to 65535 octets are allowed (RFC 8654).
            pub fn extended_message(&self) -> bool {
                self.extended_message
            }

            /// Sets whether extended messages were negotiated.
            #[must_use]
            pub fn with_extended_message(mut self, on: bool) -> Self {
                self.extended_message = on;
                self
            }

            #[doc = concat!("Whether NLRI of `family` carry a path identifier ", $dir, " (RFC 7911 §3).")]
            #[inline]
            pub fn add_path(&self, family: Family) -> bool {
                self.add_path.contains(&family)
            }

            /// Switches ADD-PATH path identifiers on or off for one family.
            #[must_use]
            pub fn with_add_path(mut self, family: Family, on: bool) -> Self {
                self.add_path.retain(|f| *f != family);
                if on {
                    self.add_path.push(family);
                }
                self
            }

            /// The negotiated address families (RFC 4760 §8).
            pub fn families(&self) -> &[Family] {
                &self.families
            }

            /// Adds a negotiated address family.
            #[must_use]
            pub fn with_family(mut self, family: Family) -> Self {
                if !self.families.contains(&family) {
                    self.families.push(family);
                }
                self
            }

            /// The largest message allowed for UPDATE, NOTIFICATION and ROUTE-REFRESH
            /// (RFC 4271 §4.1, RFC 8654 §4).
            pub fn max_message_len(&self) -> usize {
                if self.extended_message { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN }
            }
        }
    };
}

session_ctx!(
    /// The session parameters that govern how received messages are decoded.
    DecodeCtx,
    "when received"
);
session_ctx!(
    /// The session parameters that govern how messages we send are encoded.
    EncodeCtx,
    "when sent"
);

impl From<&EncodeCtx> for DecodeCtx {
    /// The context the peer uses to decode what we encode with `ctx`.
    fn from(ctx: &EncodeCtx) -> Self {
        DecodeCtx {
            four_octet_as: ctx.four_octet_as,
            extended_message: ctx.extended_message,
            add_path: ctx.add_path.clone(),
            families: ctx.families.clone(),
        }
    }
}

impl From<&DecodeCtx> for EncodeCtx {
    /// The context the peer uses to encode what we decode with `ctx`.
    fn from(ctx: &DecodeCtx) -> Self {
        EncodeCtx {
            four_octet_as: ctx.four_octet_as,
            extended_message: ctx.extended_message,
            add_path: ctx.add_path.clone(),
            families: ctx.families.clone(),
        }
    }
}

/// Derives the session contexts from our OPEN (`local`) and the peer's (`remote`).
///
/// - 4-octet AS when both sent the capability (RFC 6793 §3);
/// - extended messages when both sent it (RFC 8654 §3);
/// - families: the intersection of both Multiprotocol capabilities, or IPv4 unicast when
///   neither sent any (RFC 4760 §8);
/// - ADD-PATH receive for a family when we offered Receive and the peer offered Send, and
///   send when we offered Send and the peer offered Receive (RFC 7911 §5).
pub fn negotiate(local: &Open, remote: &Open) -> (DecodeCtx, EncodeCtx) {
    let has = |o: &Open, f: &dyn Fn(&Capability) -> bool| o.capabilities().any(f);
    let four = has(local, &|c| matches!(c, Capability::FourOctetAs(_)))
        && has(remote, &|c| matches!(c, Capability::FourOctetAs(_)));
    let ext = has(local, &|c| matches!(c, Capability::ExtendedMessage))
        && has(remote, &|c| matches!(c, Capability::ExtendedMessage));
    let mp = |o: &Open| -> Vec<Family> {
        o.capabilities()
            .filter_map(|c| match c {
                Capability::Multiprotocol(f) => Some(*f),
                _ => None,
            })
            .collect()
    };
    let (lm, rm) = (mp(local), mp(remote));
    let families: Vec<Family> = if lm.is_empty() && rm.is_empty() {
        vec![Family::IPV4_UNICAST]
    } else {
        lm.iter().copied().filter(|f| rm.contains(f)).collect()
    };
    let add_path_mode = |o: &Open, fam: Family| -> AddPathMode {
        o.capabilities()
            .filter_map(|c| match c {
                Capability::AddPath(v) => v.iter().find(|a| a.family == fam).map(|a| a.mode),
                _ => None,
            })
            .next_back()
            .unwrap_or(AddPathMode(0))
    };
    let mut dec = DecodeCtx {
        four_octet_as: four,
        extended_message: ext,
        add_path: Vec::new(),
        families: families.clone(),
    };
    let mut enc = EncodeCtx {
        four_octet_as: four,
        extended_message: ext,
        add_path: Vec::new(),
        families,
    };
    for fam in dec.families.clone() {
        let (l, r) = (add_path_mode(local, fam), add_path_mode(remote, fam));
        if l.receive() && r.send() {
            dec.add_path.push(fam);
        }
        if l.send() && r.receive() {
            enc.add_path.push(fam);
        }
    }
    (dec, enc)
}
