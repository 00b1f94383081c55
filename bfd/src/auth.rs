//! Authentication (RFC 5880 §6.7): simple password, keyed and meticulous
//! keyed MD5, keyed and meticulous keyed SHA1.
//!
//! A session holds one [`Auth`]: one auth type, a key ring of one or more
//! [`Key`]s accepted on receive (so that both ends can switch keys without a
//! flap), and the key ID used to transmit. The sequence state
//! (bfd.RcvAuthSeq, bfd.XmitAuthSeq, bfd.AuthSeqKnown) lives in
//! the session (internal `SeqState`).

use md5::{Digest as _, Md5};
use sha1::Sha1;

use crate::packet::{AuthSection, Packet, auth_type};

/// Authentication type (RFC 5880 §4.1 Auth Type, without 0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AuthType {
    /// 1: Simple Password (§6.7.2).
    SimplePassword,
    /// 2: Keyed MD5 (§6.7.3).
    KeyedMd5,
    /// 3: Meticulous Keyed MD5 (§6.7.3).
    MeticulousKeyedMd5,
    /// 4: Keyed SHA1 (§6.7.4).
    KeyedSha1,
    /// 5: Meticulous Keyed SHA1 (§6.7.4).
    MeticulousKeyedSha1,
}

impl AuthType {
    /// Wire code point.
    pub const fn code(self) -> u8 {
        match self {
            Self::SimplePassword => auth_type::SIMPLE_PASSWORD,
            Self::KeyedMd5 => auth_type::KEYED_MD5,
            Self::MeticulousKeyedMd5 => auth_type::METICULOUS_KEYED_MD5,
            Self::KeyedSha1 => auth_type::KEYED_SHA1,
            Self::MeticulousKeyedSha1 => auth_type::METICULOUS_KEYED_SHA1,
        }
    }
    /// Longest key this type carries (§6.7.2-§6.7.4).
    pub const fn max_key_len(self) -> usize {
        match self {
            Self::SimplePassword | Self::KeyedMd5 | Self::MeticulousKeyedMd5 => 16,
            Self::KeyedSha1 | Self::MeticulousKeyedSha1 => 20,
        }
    }
    /// Meticulous types require a strictly increasing sequence number.
    pub const fn is_meticulous(self) -> bool {
        matches!(self, Self::MeticulousKeyedMd5 | Self::MeticulousKeyedSha1)
    }
    /// Auth Len of the section this type emits for a key of `key_len` bytes.
    pub const fn auth_len(self, key_len: usize) -> usize {
        match self {
            Self::SimplePassword => 3 + key_len,
            Self::KeyedMd5 | Self::MeticulousKeyedMd5 => 24,
            Self::KeyedSha1 | Self::MeticulousKeyedSha1 => 28,
        }
    }
}

impl core::str::FromStr for AuthType {
    type Err = ConfigError;
    /// Names as BIRD spells them: `simple`, `md5`, `meticulous-md5`,
    /// `sha1`, `meticulous-sha1`.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        Ok(match s {
            "simple" => Self::SimplePassword,
            "md5" => Self::KeyedMd5,
            "meticulous-md5" => Self::MeticulousKeyedMd5,
            "sha1" => Self::KeyedSha1,
            "meticulous-sha1" => Self::MeticulousKeyedSha1,
            _ => return Err(ConfigError::UnknownType),
        })
    }
}

/// A configuration error in [`Auth::new`] or [`Key::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Key is empty or longer than the type allows (§6.7.2-§6.7.4).
    #[error("key of {len} bytes: allowed 1..={max}")]
    KeyLength {
        /// Given length.
        len: usize,
        /// Maximum for the auth type.
        max: usize,
    },
    /// The key ring is empty or lacks the transmit key ID.
    #[error("no key with the transmit key id {0}")]
    NoTransmitKey(u8),
    /// Two keys share a key ID.
    #[error("duplicate key id {0}")]
    DuplicateKeyId(u8),
    /// Unknown auth type name.
    #[error("unknown auth type")]
    UnknownType,
}

/// One key: an ID and a secret of 1-16 (MD5, password) or 1-20 (SHA1) bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    id: u8,
    secret: [u8; 20],
    len: u8,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Key {
    /// A key of 1-20 bytes; [`Auth::new`] checks the type's own limit.
    pub fn new(id: u8, secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.is_empty() || secret.len() > 20 {
            return Err(ConfigError::KeyLength {
                len: secret.len(),
                max: 20,
            });
        }
        let mut s = [0; 20];
        s[..secret.len()].copy_from_slice(secret);
        Ok(Self {
            id,
            secret: s,
            len: secret.len() as u8,
        })
    }
    /// Key ID.
    pub fn id(&self) -> u8 {
        self.id
    }
    fn secret(&self) -> &[u8] {
        &self.secret[..usize::from(self.len)]
    }
}

/// Authentication configuration of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    kind: AuthType,
    keys: Vec<Key>,
    tx_key: u8,
}

impl Auth {
    /// `keys` are all accepted on receive; `tx_key` selects the one sent.
    pub fn new(kind: AuthType, keys: Vec<Key>, tx_key: u8) -> Result<Self, ConfigError> {
        for (i, k) in keys.iter().enumerate() {
            if k.secret().len() > kind.max_key_len() {
                return Err(ConfigError::KeyLength {
                    len: k.secret().len(),
                    max: kind.max_key_len(),
                });
            }
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(ConfigError::DuplicateKeyId(k.id));
            }
        }
        if !keys.iter().any(|k| k.id == tx_key) {
            return Err(ConfigError::NoTransmitKey(tx_key));
        }
        Ok(Self { kind, keys, tx_key })
    }
    /// A single-key configuration.
    pub fn single(kind: AuthType, id: u8, secret: &[u8]) -> Result<Self, ConfigError> {
        Self::new(kind, vec![Key::new(id, secret)?], id)
    }
    /// The auth type.
    pub fn kind(&self) -> AuthType {
        self.kind
    }
    /// Auth Len of the sections we emit.
    pub fn auth_len(&self) -> usize {
        self.kind.auth_len(self.tx().secret().len())
    }
    fn tx(&self) -> &Key {
        // Invariant of `new`: the tx key is in the ring.
        self.keys
            .iter()
            .find(|k| k.id == self.tx_key)
            .unwrap_or(&self.keys[0])
    }
    fn key(&self, id: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Fill the auth section of `pkt[..len]` (header already written, A bit
    /// and Length set) with `seq`, computing the digest last (§6.7.3-§6.7.4).
    pub(crate) fn sign(&self, pkt: &mut [u8], seq: u32) {
        let key = self.tx();
        let s = &mut pkt[crate::packet::HEADER_LEN..];
        s[0] = self.kind.code();
        s[1] = self.auth_len() as u8;
        s[2] = key.id;
        if self.kind == AuthType::SimplePassword {
            s[3..3 + key.secret().len()].copy_from_slice(key.secret());
            return;
        }
        s[3] = 0;
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        let d = AuthSection::DIGEST_OFFSET;
        let dlen = self.auth_len() - 8;
        pkt[d..d + dlen].fill(0);
        pkt[d..d + key.secret().len()].copy_from_slice(key.secret());
        let mut out = [0u8; 20];
        digest(self.kind, pkt, &[], &mut out);
        pkt[d..d + dlen].copy_from_slice(&out[..dlen]);
    }

    /// Authenticate a received packet whose A bit is set (§6.7). On success
    /// returns the sequence number to commit with [`SeqState::accept`].
    pub(crate) fn verify<T: AsRef<[u8]>>(
        &self,
        pkt: &Packet<T>,
        seq: &SeqState,
    ) -> Result<Option<u32>, AuthError> {
        let Some(s) = pkt.auth() else {
            return Err(AuthError::Missing);
        };
        if s.auth_type() != self.kind.code() {
            return Err(AuthError::TypeMismatch { got: s.auth_type() });
        }
        let key_id = s.key_id().unwrap_or(0);
        let Some(key) = self.key(key_id) else {
            return Err(AuthError::UnknownKeyId(key_id));
        };
        if let Some(pw) = s.password() {
            //= https://www.rfc-editor.org/rfc/rfc5880#section-6.7.2
            //# If the Auth Key ID field does not match the ID of a configured
            //# password, or if the Auth Len field is not equal to the length of
            //# the password plus three, the packet MUST be discarded.
            return if ct_eq(pw, key.secret()) {
                Ok(None)
            } else {
                Err(AuthError::BadDigest)
            };
        }
        let rx_seq = s.sequence().unwrap_or(0);
        //= https://www.rfc-editor.org/rfc/rfc5880#section-6.7.3
        //# If bfd.AuthSeqKnown is 1, examine the Sequence Number field.
        if !seq.in_window(rx_seq, pkt.detect_mult(), self.kind.is_meticulous()) {
            return Err(AuthError::SequenceOutOfWindow {
                got: rx_seq,
                last: seq.rcv,
            });
        }
        let bytes = pkt.as_bytes();
        let d = AuthSection::DIGEST_OFFSET;
        let dlen = usize::from(s.auth_len()) - 8;
        let mut padded = [0u8; 20];
        padded[..key.secret().len()].copy_from_slice(key.secret());
        let mut out = [0u8; 20];
        // Bytes after the digest (Length beyond the section) are hashed too.
        let tail = &bytes[d + dlen..];
        digest_with_tail(self.kind, &bytes[..d], &padded[..dlen], tail, &mut out);
        if ct_eq(&out[..dlen], &bytes[d..d + dlen]) {
            Ok(Some(rx_seq))
        } else {
            Err(AuthError::BadDigest)
        }
    }
}

fn digest(kind: AuthType, head: &[u8], key: &[u8], out: &mut [u8; 20]) {
    digest_with_tail(kind, head, key, &[], out);
}

fn digest_with_tail(kind: AuthType, head: &[u8], key: &[u8], tail: &[u8], out: &mut [u8; 20]) {
    match kind {
        AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => {
            let h = Md5::new()
                .chain_update(head)
                .chain_update(key)
                .chain_update(tail)
                .finalize();
            out[..16].copy_from_slice(&h);
        }
        _ => {
            let h = Sha1::new()
                .chain_update(head)
                .chain_update(key)
                .chain_update(tail)
                .finalize();
            out.copy_from_slice(&h);
        }
    }
}

/// Constant-time comparison, so a digest check leaks no prefix length.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why authentication rejected a packet (RFC 5880 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A bit clear but authentication is configured (§6.8.6).
    #[error("authentication missing")]
    Missing,
    /// A bit set but no authentication is configured (§6.8.6).
    #[error("authentication present but not configured")]
    Unexpected,
    /// Auth Type differs from the configured one.
    #[error("auth type {got} not the configured one")]
    TypeMismatch {
        /// Received Auth Type.
        got: u8,
    },
    /// Auth Key ID not in the key ring.
    #[error("unknown key id {0}")]
    UnknownKeyId(u8),
    /// Password or digest does not match.
    #[error("password or digest mismatch")]
    BadDigest,
    /// Sequence Number outside the replay window (§6.7.3-§6.7.4).
    #[error("sequence {got} outside the window after {last}")]
    SequenceOutOfWindow {
        /// Received Sequence Number.
        got: u32,
        /// bfd.RcvAuthSeq.
        last: u32,
    },
}

/// Sequence-number state of a session (RFC 5880 §6.8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SeqState {
    /// bfd.RcvAuthSeq.
    pub(crate) rcv: u32,
    /// bfd.AuthSeqKnown.
    pub(crate) known: bool,
    /// bfd.XmitAuthSeq.
    pub(crate) xmit: u32,
}

impl SeqState {
    pub(crate) fn new(xmit: u32) -> Self {
        Self {
            rcv: 0,
            known: false,
            xmit,
        }
    }

    //= https://www.rfc-editor.org/rfc/rfc5880#section-6.7.3
    //# If bfd.AuthSeqKnown is 1, examine the Sequence Number field.  For
    //# Keyed MD5, if the sequence number lies outside of the range of
    //# bfd.RcvAuthSeq to bfd.RcvAuthSeq+(3*Detect Mult) inclusive (when
    //# treated as an unsigned 32 bit circular number space), the received
    //# packet MUST be discarded.  For Meticulous Keyed MD5, if the sequence
    //# number lies outside of the range of bfd.RcvAuthSeq+1 to
    //# bfd.RcvAuthSeq+(3*Detect Mult) inclusive [...] MUST be discarded.
    pub(crate) fn in_window(&self, seq: u32, detect_mult: u8, meticulous: bool) -> bool {
        if !self.known {
            return true;
        }
        let delta = seq.wrapping_sub(self.rcv);
        let lo = u32::from(meticulous);
        (lo..=3 * u32::from(detect_mult)).contains(&delta)
    }

    pub(crate) fn accept(&mut self, seq: u32) {
        self.rcv = seq;
        self.known = true;
    }
}
