//! Configuration: Calico's resources as typed values, their validation, and
//! their resolution into one node's plan.
//!
//! - [`model`]: one type per resource ([`NodeConfig`], [`PeerConfig`],
//!   [`IpPool`], [`BgpConfiguration`], [`BfdConfiguration`],
//!   [`BlockAffinity`]), gathered in a [`Config`]. Usable without serde.
//! - [`selector`]: Calico's label selector language ([`Selector`]).
//! - [`duration`]: Go durations (`"10s"`, `"1h2m"`).
//! - `calico` (feature `serde`): `Config::from_yaml`, multi-document YAML.
//! - [`validate`]: [`Config::validate`], secrets, and
//!   [`check_node_addresses`] (non-fatal warnings).
//! - [`plan`](mod@plan): [`plan()`] computes a node's [`NodePlan`] and
//!   [`diff`] what a reload must change.
//!
//! Nothing here performs network I/O or touches the kernel; secrets may be
//! read from files or the environment when a plan is computed.
//!
//! # Call protocol
//!
//! ```text
//! YAML --Config::from_yaml--> Config --plan(node, addresses, secrets)--> NodePlan
//! code --Config::validate-->    |                                        |
//!                               +-- reload: plan again, diff(old, new) --+--> PlanDiff
//! kernel addresses --check_node_addresses--> Vec<AddressWarning>
//! ```
//!
//! # Compliance
//!
//! - RFC 4724 §3: advertised Restart Time fits 12 bits (`maxRestartTime`
//!   <= 4095 s), default 120 s (BIRD/Calico).
//! - RFC 9494 §3: LLGR stale time fits 24 bits; LLGR procedures only with
//!   `restartMode: LongLivedGracefulRestart` (then GR time 0), otherwise an
//!   empty LLGR capability (LLGR-aware), as Calico's BIRD 1.6 does.
//! - RFC 4271 §4.2: hold time = 3 x `keepaliveTime`, fits 16 bits.
//! - RFC 2385: TCP MD5 keys of 1..=80 bytes (Linux `TCP_MD5SIG_MAXKEYLEN`).
//! - RFC 5082: `ttlSecurity` hop count 1..=255.
//! - RFC 5880 §6.8.1 / §4.1: `multiplier` nonzero, intervals in whole
//!   milliseconds that fit 32-bit microseconds.
//! - RFC 6793 / RFC 5396: 4-octet AS numbers, asplain and asdot; AS 0
//!   (RFC 7607) refused.
//! - RFC 1997 / RFC 8092: standard and large communities.
//!
//! **Not implemented:** node-to-node peerings (`peerSelector` is parsed and
//! reported as skipped), `BGPFilter`s, `externalNetwork` and
//! `localWorkloadSelector` (refused as unsupported), IPAM (`IPPool`
//! `nodeSelector` and `allowedUses` do not restrict blocks given by
//! `BlockAffinity`), per-service /32 advertisement of service IPs (the
//! CIDRs are advertised as configured), per-node `BGPConfiguration` fields
//! other than `listenPort` and `bindMode`.
//!
//! Deliberate choice: with no `BFDConfiguration` at all, Calico's documented
//! defaults (`all()`, `*`, 10 ms / 100 ms / 1 m / 5) apply, so that the
//! guide's resources alone enable BFD; once any `BFDConfiguration` exists,
//! BFD runs only on interfaces one of them matches.

// `ConfigError` carries its evidence (document, resource, field path, the
// offending value); it is returned at most once per load or plan, so its
// size is irrelevant next to the clarity of a flat, matchable error.
#![allow(clippy::result_large_err)]

#[cfg(feature = "serde")]
mod calico;
pub mod duration;
mod error;
pub mod model;
pub mod plan;
pub mod selector;
pub mod validate;

pub use duration::{DurationError, GoDuration, parse_duration};
pub use error::{ConfigError, ConfigErrorKind, ResourceId, ResourceKind, SecretErrorKind};
pub use model::{
    AffinityState, AsNumber, AsNumberError, BfdConfiguration, BfdInterface, BgpConfiguration,
    BindMode, BlockAffinity, Community, CommunityError, Config, EncapMode, FailureDetectionMode,
    GatewayMode, InterfacePattern, InterfacePatternError, IpPool, NextHopMode, NodeConfig,
    PLANE_INTERFACES_ANNOTATION, PasswordSource, PeerAddress, PeerAddressError, PeerConfig,
    PrefixAdvertisement, RestartMode, Secret, SourceAddress,
};
pub use plan::{
    BfdTimers, Gateway, LlgrAdvert, NodePlan, OriginKind, Origination, PeerChange, PeerField,
    PeerPlan, PlanDiff, RestartAdvert, SessionSource, SkipReason, SkippedPeer, diff, plan,
};
pub use selector::{Labels, Selector, SelectorError, SelectorErrorKind};
pub use validate::{
    AddressScope, AddressWarning, InterfaceAddress, NoSecrets, SecretDir, SecretEnv, SecretStore,
    check_node_addresses,
};
