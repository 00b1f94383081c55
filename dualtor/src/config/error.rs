//! The configuration error: which document, which resource, which field, and
//! what was wrong with the value (the evidence).

use std::fmt;

use super::duration::DurationError;
use super::model::EncapMode;
use super::selector::SelectorError;

/// The kinds of Calico resource this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ResourceKind {
    /// `Node`.
    Node,
    /// `BGPPeer`.
    BgpPeer,
    /// `IPPool`.
    IpPool,
    /// `BGPConfiguration`.
    BgpConfiguration,
    /// `BFDConfiguration`.
    BfdConfiguration,
    /// `BlockAffinity`.
    BlockAffinity,
}

impl ResourceKind {
    /// Every kind, in the order plans are computed.
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::Node,
        ResourceKind::BgpPeer,
        ResourceKind::IpPool,
        ResourceKind::BgpConfiguration,
        ResourceKind::BfdConfiguration,
        ResourceKind::BlockAffinity,
    ];

    /// The Calico `kind:` spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Node => "Node",
            ResourceKind::BgpPeer => "BGPPeer",
            ResourceKind::IpPool => "IPPool",
            ResourceKind::BgpConfiguration => "BGPConfiguration",
            ResourceKind::BfdConfiguration => "BFDConfiguration",
            ResourceKind::BlockAffinity => "BlockAffinity",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource, by kind and `metadata.name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    /// Its kind.
    pub kind: ResourceKind,
    /// Its `metadata.name` (empty when the name itself was missing).
    pub name: String,
}

impl ResourceId {
    /// A resource id.
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        ResourceId {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// Why a secret could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretErrorKind {
    /// No such secret, key, file or variable.
    NotFound,
    /// The value is not UTF-8.
    NotUtf8,
    /// Another I/O error.
    Io(std::io::ErrorKind),
}

/// What was wrong. Each variant carries the offending value where there is
/// one; the field is in [`ConfigError::field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The YAML itself does not parse.
    #[error("YAML syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The YAML parser's description.
        message: String,
    },
    /// A value of the wrong YAML type (a list where a string belongs, …).
    #[error("expected {expected}")]
    InvalidType {
        /// What the field takes.
        expected: &'static str,
    },
    /// `apiVersion` is not `projectcalico.org/v3` or `crd.projectcalico.org/v1`.
    #[error("unsupported apiVersion {value:?}")]
    UnknownApiVersion {
        /// The apiVersion given.
        value: String,
    },
    /// A `kind` this crate does not handle.
    #[error("unsupported kind {value:?}")]
    UnknownKind {
        /// The kind given.
        value: String,
    },
    /// A field that the resource does not have (typo, or another version's).
    #[error("unknown field")]
    UnknownField,
    /// A required field is absent.
    #[error("missing field")]
    MissingField,
    /// A Calico field that this crate deliberately does not implement
    /// (BGP filters, external networks, …): refused rather than ignored.
    #[error("field not supported by dualtor")]
    Unsupported,
    /// Two resources of the same kind with the same name.
    #[error("duplicate resource (first defined in document {first_document:?})")]
    Duplicate {
        /// Document of the first definition, when loaded from YAML.
        first_document: Option<usize>,
    },
    /// Not a valid CIDR.
    #[error("invalid CIDR {value:?}")]
    InvalidCidr {
        /// The value given.
        value: String,
    },
    /// Not a valid IP address (or `IP:port` for `peerIP`).
    #[error("invalid IP address {value:?}")]
    InvalidIp {
        /// The value given.
        value: String,
    },
    /// An AS number of 0, above 4294967295, or not a number.
    #[error("AS number out of range: {value:?}")]
    AsNumberOutOfRange {
        /// The value given.
        value: String,
    },
    /// A selector that does not parse.
    #[error("invalid selector {value:?}: {error}")]
    InvalidSelector {
        /// The selector given.
        value: String,
        /// Where and why it failed.
        error: SelectorError,
    },
    /// IP-in-IP or VXLAN on an IPPool: the dual-ToR guide forbids
    /// encapsulation.
    #[error("encapsulation {mode} is not supported on a dual-ToR node (must be Never)")]
    Encapsulation {
        /// The mode given.
        mode: EncapMode,
    },
    /// A duration that does not parse.
    #[error("invalid duration {value:?}: {error}")]
    InvalidDuration {
        /// The value given.
        value: String,
        /// Why.
        error: DurationError,
    },
    /// A duration outside what the field (or the wire) can carry.
    #[error("duration {value:?} out of range")]
    DurationOutOfRange {
        /// The value, Go notation.
        value: String,
    },
    /// A TCP MD5 key longer than 80 bytes (`TCP_MD5SIG_MAXKEYLEN`).
    #[error("password is {len} bytes, at most 80 allowed")]
    PasswordTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// An empty TCP MD5 key.
    #[error("password is empty")]
    PasswordEmpty,
    /// A secret could not be read.
    #[error("secret {name:?} key {key:?} unavailable: {reason:?}")]
    SecretUnavailable {
        /// Secret name (or file / variable).
        name: String,
        /// Key within the secret (empty for files and variables).
        key: String,
        /// Why.
        reason: SecretErrorKind,
    },
    /// A string that is not one of the field's values.
    #[error("invalid value {value:?}, expected one of {expected:?}")]
    InvalidEnum {
        /// The value given.
        value: String,
        /// The accepted values.
        expected: &'static [&'static str],
    },
    /// A number outside the field's range.
    #[error("value {value:?} out of range {min}..={max}")]
    OutOfRange {
        /// The value given.
        value: String,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
    /// BFD `matchPattern` that is not a name, `prefix*` or `*`.
    #[error("invalid interface pattern {value:?}")]
    InvalidInterfacePattern {
        /// The value given.
        value: String,
    },
    /// A community that is not `aa:nn` or `aa:nn:mm`, nor a defined name.
    #[error("invalid community {value:?}")]
    InvalidCommunity {
        /// The value given.
        value: String,
    },
    /// Two fields that cannot be set together.
    #[error("conflicts with {other}")]
    Conflict {
        /// The other field.
        other: &'static str,
    },
    /// The node to plan for has no `Node` resource.
    #[error("no Node resource named {name:?}")]
    UnknownNode {
        /// The node name asked for.
        name: String,
    },
}

/// A configuration error: where (document, resource, field) and what.
///
/// `Display` renders as `document 3 (BGPPeer ra1): spec.peerIp: unknown
/// field`; that text is for humans and not a stable interface, match on the
/// fields instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ConfigError {
    /// 1-based index of the YAML document (`None` for configuration built
    /// in code). Items of a `kind: List` share their list's document.
    pub document: Option<usize>,
    /// The resource, when known (not for syntax errors).
    pub resource: Option<ResourceId>,
    /// Path of the field, `spec.peerIP` / `spec.interfaces[0].multiplier`;
    /// empty for whole-document errors.
    pub field: String,
    /// What was wrong.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// An error on `field` of a resource, outside any document.
    pub fn new(
        resource: Option<ResourceId>,
        field: impl Into<String>,
        kind: ConfigErrorKind,
    ) -> Self {
        ConfigError {
            document: None,
            resource,
            field: field.into(),
            kind,
        }
    }

    /// The same error, located in `document`.
    pub fn in_document(mut self, document: usize) -> Self {
        self.document = Some(document);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.document, &self.resource) {
            (Some(d), Some(r)) => write!(f, "document {d} ({r}): ")?,
            (Some(d), None) => write!(f, "document {d}: ")?,
            (None, Some(r)) => write!(f, "{r}: ")?,
            (None, None) => {}
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.kind)
    }
}
