//! Configuration: Calico's resources as typed values, their validation, and
//! their resolution into one node's plan.
//!
//! - [`model`]: one type per resource ([`NodeConfig`], [`PeerConfig`],
//!   [`IpPool`], [`BgpConfiguration`], [`BfdConfiguration`],
//!   [`BlockAffinity`]), gathered in a [`Config`]. Usable without serde.
//! - [`selector`]: Calico's label selector language ([`Selector`]).
//! - [`duration`]: Go durations (`"10s"`, `"1h2m"`).
//! - `calico` (feature `serde`): [`Config::from_yaml`], multi-document YAML.
//! - [`validate`]: [`Config::validate`], secrets, and
//!   [`check_node_addresses`] (non-fatal warnings).
//! - [`plan`](mod@plan): [`plan()`] computes a node's [`NodePlan`] and
//!   [`diff`] what a reload must change.
//!
//! Nothing here performs network I/O or touches the kernel; secrets may be
//! read from files or the environment when a plan is computed.

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

#[cfg(feature = "serde")]
pub use calico::PLANE_INTERFACES_ANNOTATION;
pub use duration::{DurationError, GoDuration, parse_duration};
pub use error::{ConfigError, ConfigErrorKind, ResourceId, ResourceKind, SecretErrorKind};
pub use model::{
    AffinityState, AsNumber, AsNumberError, BfdConfiguration, BfdInterface, BgpConfiguration,
    BindMode, BlockAffinity, Community, CommunityError, Config, EncapMode, FailureDetectionMode,
    GatewayMode, InterfacePattern, InterfacePatternError, IpPool, NextHopMode, NodeConfig,
    PasswordSource, PeerAddress, PeerAddressError, PeerConfig, PrefixAdvertisement, RestartMode,
    Secret, SourceAddress,
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
