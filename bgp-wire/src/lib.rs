//! BGP-4 on the wire: a complete message codec (RFC 4271 §4 and extensions).
//!
//! # Scope
//!
//! `bgp-wire` parses and emits every BGP message: OPEN with capabilities, UPDATE with path
//! attributes and IPv4/IPv6 prefixes (ADD-PATH aware), NOTIFICATION, KEEPALIVE and
//! ROUTE-REFRESH. Parse and emit are exact inverses: `emit(parse(b)) == b` for canonical
//! input, `parse(emit(m)) == m`, and [`Message::encoded_len`] equals what
//! [`Message::emit`] writes.
//!
//! UPDATE errors are handled per RFC 7606 and reported **as data**: decoding returns a
//! [`Verdict`] (accepted, attributes discarded, treat-as-withdraw, or session reset with
//! the exact [`Notification`] to send). Every other decode error maps to its NOTIFICATION
//! through `Notification::from(&DecodeError)`. No input can panic, loop or make the
//! decoder allocate more than a small multiple of its size.
//!
//! # What it does not do
//!
//! The codec performs no I/O and never reads the clock. It does not run the session
//! (RFC 4271 §8), decide best paths or check policy (AS loops, first AS = peer AS,
//! LOCAL_PREF from eBGP, confederation segments from non-confederation peers: these need
//! session knowledge and belong to the caller). The optional `tokio` feature adds a
//! tokio-util framing codec ([`framing`]).
//!
//! # Call protocol
//!
//! ```text
//!  OPEN exchange ──► ctx::negotiate(local, remote) ──► (DecodeCtx, EncodeCtx)
//!
//!  bytes ─► framing (19-octet header, length check) ─► Message::decode(&frame, &DecodeCtx)
//!                                                        └─► Decoded { message, verdict }
//!                                  or (hot path) ─► UpdateView::new_checked(frame, &DecodeCtx)
//!                                                        └─► Ok(view) | Err(Decoded)
//!  Message ─► Message::emit(&EncodeCtx, &mut BytesMut)
//! ```
//!
//! # Example
//!
//! ```
//! use bgp_wire::attr::{AsPath, AttrValue, Origin};
//! use bgp_wire::{DecodeCtx, EncodeCtx, Message, Nlri, Update, Verdict};
//! use bytes::BytesMut;
//!
//! let ctx = EncodeCtx::modern();
//! let update = Update::new()
//!     .with(AttrValue::Origin(Origin::IGP))
//!     .with(AttrValue::AsPath(AsPath::sequence([65001, 4200000000])))
//!     .with(AttrValue::NextHop("192.0.2.1".parse().unwrap()))
//!     .with_nlri([Nlri::new("198.51.100.0/24".parse::<ipnet::Ipv4Net>().unwrap())]);
//! let msg = Message::Update(update);
//!
//! let mut buf = BytesMut::new();
//! msg.emit(&ctx, &mut buf).unwrap();
//! assert_eq!(buf.len(), msg.encoded_len(&ctx));
//!
//! let decoded = Message::decode(&buf, &DecodeCtx::from(&ctx));
//! assert_eq!(decoded.verdict, Verdict::Accepted);
//! assert_eq!(decoded.message, Some(msg));
//! ```
//!
//! # Compliance
//!
//! - RFC 4271 §4 (all messages), §6.1-6.3 (header, OPEN, UPDATE error subcodes), §5
//!   (attribute flags; Partial bit via [`attr::Attribute::for_propagation`])
//! - RFC 7606: §3 (approaches, flag conflicts, duplicates, missing mandatory attributes,
//!   strongest approach), §4 (attribute length overruns), §5.3 (NLRI syntax), §7.1-7.15
//! - RFC 5492 capabilities; RFC 9072 extended optional parameters length
//! - RFC 4760 multiprotocol (MP_REACH/MP_UNREACH for IPv4/IPv6 unicast and multicast),
//!   RFC 2545 IPv6 global + link-local next hop, RFC 8950 extended next hop capability
//! - RFC 6793 4-octet AS (AS_TRANS, AS4_PATH/AS4_AGGREGATOR and the §4.2.3 merge)
//! - RFC 7911 ADD-PATH, RFC 8654 extended messages, RFC 2918 + RFC 7313 route refresh
//! - RFC 4724 graceful restart (R/N flags, F bit, End-of-RIB), RFC 8538 (N bit, Hard
//!   Reset), RFC 9494 LLGR (capability, LLGR_STALE, NO_LLGR)
//! - RFC 1997, RFC 4360, RFC 5701, RFC 8092 communities; RFC 4456 ORIGINATOR_ID and
//!   CLUSTER_LIST; RFC 9234 role capability and OTC
//! - NOTIFICATION codes and subcodes of RFC 4271, 4486, 6608, 7313, 8538, 9234, 9384;
//!   RFC 9003 shutdown communication; RFC 7607 AS 0
//!
//! **Not implemented:** NLRI of families other than IPv4/IPv6 unicast and multicast (VPN,
//! labeled, EVPN, flowspec: their MP attributes are kept raw, so no RFC 7606 checks on
//! them); the "AFI/SAFI disable" approach (RFC 7606 §2: we always say session reset);
//! RFC 5543 Traffic Engineering attribute contents (only its minimum length is checked);
//! BGPsec. The session (RFC 4271 §8 FSM, capability negotiation, collision detection,
//! route fate on session loss) is the [`session`] module; its tokio transport is
//! `transport` (feature `tokio`).
//!
//! # Design notes
//!
//! The parsers use a hand-written bounds-checked cursor rather than nom (style rule 14
//! allows this where it is clearly better): every read is checked and knows its absolute
//! offset, which the errors carry, and the NLRI walk (the hot path) validates and counts
//! prefixes in one pass and fills an exactly sized `Vec` in a second. Raw pieces
//! (unknown attributes and capabilities, NOTIFICATION data) are `bytes::Bytes`. The
//! common attributes, well formed, take a hot path that decodes them in place
//! (`attr::Attribute::decode_common`, checked against the complete RFC 7606 rules by a
//! property test). AS paths (up to 8 ASes in one segment) and community lists (up to 12
//! communities, 4 large ones) are stored inline ([`smallvec`]), so a typical owned UPDATE
//! costs two allocations: its attribute list and its prefix list.
//!
//! Two layers per UPDATE (style rule 7): the owned [`Update`] from [`Message::decode`],
//! and [`UpdateView`], a checked zero-copy view for hot paths that read each UPDATE once
//! (a full-table load), read through accessors or in one typed pass
//! ([`UpdateView::path_attributes`], yielding [`attr::AttrRef`]s). Both run the same
//! checks: attribute and NLRI decoding is split
//! into a check half, which allocates nothing, and a build half, so a clean UPDATE is
//! viewed without any allocation and a faulty one falls back to the owned result with
//! its [`Verdict`]. `benches/src/bin/bgp-decode-compare.rs` measures both against
//! bgpkit-parser, routecore and zettabgp (figures in the README).
#![deny(unsafe_code)]

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
pub mod attr;
pub mod capability;
pub mod ctx;
mod cursor;
pub mod error;
#[cfg(feature = "tokio")]
pub mod framing;
pub mod header;
pub mod keepalive;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod session;
#[cfg(feature = "tokio")]
mod sys;
#[cfg(feature = "tokio")]
pub mod transport;
pub mod update;
pub mod view;

/// The `smallvec` crate, whose `SmallVec` holds AS paths ([`attr::AsNumbers`]), so users
/// build them with the matching version.
pub use smallvec;

pub use ctx::{Afi, DecodeCtx, EncodeCtx, Family, Safi, negotiate};
pub use error::{DecodeError, EncodeError};
pub use message::{Decoded, Finding, Message, Verdict};
pub use nlri::Nlri;
pub use notification::{ErrorCode, Notification};
pub use open::Open;
pub use update::Update;
pub use view::UpdateView;
