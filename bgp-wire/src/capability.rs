//! Capabilities advertised in the OPEN message (RFC 5492 §4).
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```
//!
//! A capability whose code we do not know, or whose value is malformed for its code, is
//! kept as [`Capability::Unknown`] with its raw value and re-emitted byte for byte; RFC
//! 5492 §3 lets a speaker ignore capabilities it does not understand.

use bytes::{BufMut, Bytes, BytesMut};

use crate::ctx::{Afi, Family, Safi};
use crate::cursor::Reader;
use crate::error::EncodeError;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// Multiprotocol Extensions (RFC 4760 §8).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918 §2).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended Next Hop Encoding (RFC 8950 §3).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended Message (RFC 8654 §3).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// BGP Role (RFC 9234 §4.1).
    pub const ROLE: u8 = 9;
    /// Graceful Restart (RFC 4724 §3).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS number (RFC 6793 §3).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911 §4).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced Route Refresh (RFC 7313 §3.1).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// Long-Lived Graceful Restart (RFC 9494 §3).
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    /// FQDN (draft-walton-bgp-hostname-capability).
    pub const FQDN: u8 = 73;
}

/// One capability.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Capability {
    /// Multiprotocol Extensions for one (AFI, SAFI) (RFC 4760 §8). The reserved octet is
    /// ignored on receipt and sent as 0.
    Multiprotocol(Family),
    /// Route Refresh (RFC 2918 §2).
    RouteRefresh,
    /// Extended Next Hop Encoding tuples (RFC 8950 §3).
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Extended Message (RFC 8654 §3).
    ExtendedMessage,
    /// BGP Role (RFC 9234 §4.1).
    Role(Role),
    /// Graceful Restart (RFC 4724 §3).
    GracefulRestart(GracefulRestart),
    /// 4-octet AS number of the speaker (RFC 6793 §3).
    FourOctetAs(u32),
    /// ADD-PATH send/receive per family (RFC 7911 §4).
    AddPath(Vec<AddPathFamily>),
    /// Enhanced Route Refresh (RFC 7313 §3.1).
    EnhancedRouteRefresh,
    /// Long-Lived Graceful Restart tuples; zero tuples are allowed (RFC 9494 §3).
    LongLivedGracefulRestart(Vec<LlgrFamily>),
    /// Host and domain name (draft-walton-bgp-hostname-capability §3).
    Fqdn(Fqdn),
    /// Any other capability, or a known one with a malformed value, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Raw capability value.
        value: Bytes,
    },
}

/// One Extended Next Hop Encoding tuple (RFC 8950 §3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ExtendedNextHop {
    /// NLRI AFI.
    pub nlri_afi: Afi,
    /// NLRI SAFI (2 octets in this capability).
    pub nlri_safi: u16,
    /// Next hop AFI.
    pub next_hop_afi: Afi,
}

/// BGP Role (RFC 9234 §4.1); unknown values round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Role(pub u8);

impl Role {
    /// Provider.
    pub const PROVIDER: Role = Role(0);
    /// Route server.
    pub const RS: Role = Role(1);
    /// Route server client.
    pub const RS_CLIENT: Role = Role(2);
    /// Customer.
    pub const CUSTOMER: Role = Role(3);
    /// Lateral peer.
    pub const PEER: Role = Role(4);
}

/// Graceful Restart capability (RFC 4724 §3).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | AFI (16 bits) | SAFI (8 bits) | Flags for AF (8) | ... repeated
/// +--------------------------------------------------+
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GracefulRestart {
    /// The 4 Restart Flags bits (R = 0x8, N = 0x4 per RFC 8538, others reserved and kept).
    pub restart_flags: u8,
    /// Restart Time in seconds, 12 bits.
    pub restart_time: u16,
    /// The families whose state is preserved.
    pub families: Vec<GrFamily>,
}

impl GracefulRestart {
    /// Restart State bit (RFC 4724 §3).
    pub const RESTART_STATE: u8 = 0x8;
    /// Graceful Notification bit (RFC 8538 §2).
    pub const NOTIFICATION: u8 = 0x4;

    /// The R bit: the sender has restarted.
    pub fn restart_state(&self) -> bool {
        self.restart_flags & Self::RESTART_STATE != 0
    }

    /// The N bit: the sender supports graceful restart for NOTIFICATIONs (RFC 8538).
    pub fn notification(&self) -> bool {
        self.restart_flags & Self::NOTIFICATION != 0
    }
}

/// One family of the Graceful Restart capability.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GrFamily {
    /// The family.
    pub family: Family,
    /// Flags for Address Family (F = 0x80, others reserved and kept).
    pub flags: u8,
}

impl GrFamily {
    /// Forwarding State bit (RFC 4724 §3).
    pub const FORWARDING_STATE: u8 = 0x80;

    /// The F bit: forwarding state was preserved for this family.
    pub fn forwarding_state(&self) -> bool {
        self.flags & Self::FORWARDING_STATE != 0
    }
}

/// ADD-PATH Send/Receive field (RFC 7911 §4); unknown values round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AddPathMode(pub u8);

impl AddPathMode {
    /// Willing to receive multiple paths.
    pub const RECEIVE: AddPathMode = AddPathMode(1);
    /// Able to send multiple paths.
    pub const SEND: AddPathMode = AddPathMode(2);
    /// Both.
    pub const BOTH: AddPathMode = AddPathMode(3);

    /// Whether the receive bit is set.
    pub fn receive(self) -> bool {
        matches!(self.0, 1 | 3)
    }

    /// Whether the send bit is set.
    pub fn send(self) -> bool {
        matches!(self.0, 2 | 3)
    }
}

/// One family of the ADD-PATH capability.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AddPathFamily {
    /// The family.
    pub family: Family,
    /// Send, receive or both.
    pub mode: AddPathMode,
}

/// One tuple of the Long-Lived Graceful Restart capability (RFC 9494 §3).
///
/// ```text
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// | Subsequent Address Family Identifier (8 bits)    |
/// | Flags for Address Family (8 bits)                |
/// | Long-lived Stale Time (24 bits)                  |
/// +--------------------------------------------------+
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LlgrFamily {
    /// The family.
    pub family: Family,
    /// Flags for Address Family (F = 0x80, others reserved and kept).
    pub flags: u8,
    /// Long-lived Stale Time in seconds (24 bits).
    pub stale_time: u32,
}

impl LlgrFamily {
    /// Forwarding State bit (RFC 9494 §3).
    pub const FORWARDING_STATE: u8 = 0x80;
    /// Largest stale time (24 bits).
    pub const MAX_STALE_TIME: u32 = 0x00ff_ffff;

    /// The F bit: forwarding state was preserved for this family.
    pub fn forwarding_state(&self) -> bool {
        self.flags & Self::FORWARDING_STATE != 0
    }
}

/// FQDN capability: host and domain name as raw octets (usually ASCII).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Fqdn {
    /// Host name.
    pub hostname: Bytes,
    /// Domain name.
    pub domain: Bytes,
}

fn family3(r: &mut Reader<'_>) -> Option<Family> {
    Some(Family::new(Afi(r.u16()?), Safi(r.u8()?)))
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::Role(_) => code::ROLE,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGracefulRestart(_) => code::LONG_LIVED_GRACEFUL_RESTART,
            Capability::Fqdn(_) => code::FQDN,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes one capability value; a malformed value of a known code becomes `Unknown`.
    pub(crate) fn parse(code: u8, value: &[u8]) -> Capability {
        Self::parse_known(code, value).unwrap_or_else(|| Capability::Unknown {
            code,
            value: Bytes::copy_from_slice(value),
        })
    }

    fn parse_known(c: u8, value: &[u8]) -> Option<Capability> {
        let mut r = Reader::new(value, 0);
        let n = value.len();
        let cap = match c {
            code::MULTIPROTOCOL if n == 4 => {
                let afi = r.u16()?;
                let _reserved = r.u8()?;
                Capability::Multiprotocol(Family::new(Afi(afi), Safi(r.u8()?)))
            }
            code::ROUTE_REFRESH if n == 0 => Capability::RouteRefresh,
            code::EXTENDED_NEXT_HOP if n.is_multiple_of(6) => {
                let mut v = Vec::with_capacity(n / 6);
                while !r.is_empty() {
                    v.push(ExtendedNextHop {
                        nlri_afi: Afi(r.u16()?),
                        nlri_safi: r.u16()?,
                        next_hop_afi: Afi(r.u16()?),
                    });
                }
                Capability::ExtendedNextHop(v)
            }
            code::EXTENDED_MESSAGE if n == 0 => Capability::ExtendedMessage,
            code::ROLE if n == 1 => Capability::Role(Role(r.u8()?)),
            code::GRACEFUL_RESTART if n >= 2 && (n - 2).is_multiple_of(4) => {
                let hdr = r.u16()?;
                let mut families = Vec::with_capacity((n - 2) / 4);
                while !r.is_empty() {
                    families.push(GrFamily {
                        family: family3(&mut r)?,
                        flags: r.u8()?,
                    });
                }
                Capability::GracefulRestart(GracefulRestart {
                    restart_flags: (hdr >> 12) as u8,
                    restart_time: hdr & 0x0fff,
                    families,
                })
            }
            code::FOUR_OCTET_AS if n == 4 => Capability::FourOctetAs(r.u32()?),
            code::ADD_PATH if n.is_multiple_of(4) => {
                let mut v = Vec::with_capacity(n / 4);
                while !r.is_empty() {
                    v.push(AddPathFamily {
                        family: family3(&mut r)?,
                        mode: AddPathMode(r.u8()?),
                    });
                }
                Capability::AddPath(v)
            }
            code::ENHANCED_ROUTE_REFRESH if n == 0 => Capability::EnhancedRouteRefresh,
            code::LONG_LIVED_GRACEFUL_RESTART if n.is_multiple_of(7) => {
                let mut v = Vec::with_capacity(n / 7);
                while !r.is_empty() {
                    v.push(LlgrFamily {
                        family: family3(&mut r)?,
                        flags: r.u8()?,
                        stale_time: r.u24()?,
                    });
                }
                Capability::LongLivedGracefulRestart(v)
            }
            code::FQDN => {
                let hl = r.u8()?;
                let hostname = Bytes::copy_from_slice(r.take(hl.into())?);
                let dl = r.u8()?;
                let domain = Bytes::copy_from_slice(r.take(dl.into())?);
                if !r.is_empty() {
                    return None;
                }
                Capability::Fqdn(Fqdn { hostname, domain })
            }
            _ => return None,
        };
        Some(cap)
    }

    /// Length of the capability value.
    pub(crate) fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol(_) | Capability::FourOctetAs(_) => 4,
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => 0,
            Capability::ExtendedNextHop(v) => 6 * v.len(),
            Capability::Role(_) => 1,
            Capability::GracefulRestart(g) => 2 + 4 * g.families.len(),
            Capability::AddPath(v) => 4 * v.len(),
            Capability::LongLivedGracefulRestart(v) => 7 * v.len(),
            Capability::Fqdn(f) => 2 + f.hostname.len() + f.domain.len(),
            Capability::Unknown { value, .. } => value.len(),
        }
    }

    /// Encoded length: code, length and value.
    pub fn encoded_len(&self) -> usize {
        2 + self.value_len()
    }

    pub(crate) fn emit(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let len = self.value_len();
        if len > 255 {
            return Err(EncodeError::FieldTooLong {
                what: "capability value",
                length: len,
            });
        }
        if let Capability::Fqdn(f) = self
            && (f.hostname.len() > 255 || f.domain.len() > 255)
        {
            return Err(EncodeError::FieldTooLong {
                what: "FQDN name",
                length: f.hostname.len().max(f.domain.len()),
            });
        }
        out.put_u8(self.code());
        out.put_u8(len as u8);
        match self {
            Capability::Multiprotocol(f) => {
                out.put_u16(f.afi.0);
                out.put_u8(0);
                out.put_u8(f.safi.0);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh => {}
            Capability::ExtendedNextHop(v) => {
                for t in v {
                    out.put_u16(t.nlri_afi.0);
                    out.put_u16(t.nlri_safi);
                    out.put_u16(t.next_hop_afi.0);
                }
            }
            Capability::Role(r) => out.put_u8(r.0),
            Capability::GracefulRestart(g) => {
                out.put_u16((u16::from(g.restart_flags & 0xf) << 12) | (g.restart_time & 0x0fff));
                for f in &g.families {
                    out.put_u16(f.family.afi.0);
                    out.put_u8(f.family.safi.0);
                    out.put_u8(f.flags);
                }
            }
            Capability::FourOctetAs(asn) => out.put_u32(*asn),
            Capability::AddPath(v) => {
                for a in v {
                    out.put_u16(a.family.afi.0);
                    out.put_u8(a.family.safi.0);
                    out.put_u8(a.mode.0);
                }
            }
            Capability::LongLivedGracefulRestart(v) => {
                for t in v {
                    out.put_u16(t.family.afi.0);
                    out.put_u8(t.family.safi.0);
                    out.put_u8(t.flags);
                    let s = t.stale_time & LlgrFamily::MAX_STALE_TIME;
                    out.put_slice(&s.to_be_bytes()[1..]);
                }
            }
            Capability::Fqdn(f) => {
                out.put_u8(f.hostname.len() as u8);
                out.put_slice(&f.hostname);
                out.put_u8(f.domain.len() as u8);
                out.put_slice(&f.domain);
            }
            Capability::Unknown { value, .. } => out.put_slice(value),
        }
        Ok(())
    }
}
