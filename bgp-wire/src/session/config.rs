//! Session configuration: what we advertise in our OPEN and what we accept from the peer.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::capability::{AddPathMode, Role};
use crate::ctx::Family;

/// Graceful Restart as we advertise it (RFC 4724 §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Restart Time we advertise, in seconds (12 bits; BIRD `graceful restart time`,
    /// Calico `maxRestartTime`, default 120).
    pub restart_time: u16,
    /// Families whose forwarding state we preserve across a restart: advertised with the
    /// F bit (RFC 4724 §3). Families negotiated but not listed are advertised with F=0.
    pub forwarding: Vec<Family>,
    /// Advertise the N bit (RFC 8538 §2): NOTIFICATIONs other than Hard Reset keep
    /// graceful restart procedures in force.
    pub notification: bool,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            restart_time: 120,
            forwarding: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            notification: false,
        }
    }
}

/// One family of the Long-Lived Graceful Restart capability we advertise (RFC 9494 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlgrFamilyConfig {
    /// The family.
    pub family: Family,
    /// Long-lived Stale Time we advertise, in seconds (24 bits).
    pub stale_time: u32,
    /// Advertise the F bit: forwarding state preserved.
    pub forwarding: bool,
}

/// Long-Lived Graceful Restart (RFC 9494).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LlgrConfig {
    /// No LLGR capability at all.
    #[default]
    Off,
    /// An empty LLGR capability: we honour LLGR_STALE from others but run no LLGR
    /// procedures ourselves (what BIRD sends with plain `graceful restart`).
    Aware,
    /// LLGR procedures enabled for these families (RFC 9494 §5: never on by default).
    Enabled(Vec<LlgrFamilyConfig>),
}

/// Exponential backoff of the IdleHoldTimer for flapping peers (RFC 4271 §8.1.1
/// DampPeerOscillations; BIRD `error wait time min,max` and `error forget time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleHoldConfig {
    /// Wait after the first error exit; doubles after each consecutive one.
    pub initial: Duration,
    /// Cap of the doubling.
    pub max: Duration,
    /// A session that stayed Established this long resets the backoff.
    pub forget: Duration,
}

impl Default for IdleHoldConfig {
    fn default() -> Self {
        IdleHoldConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            forget: Duration::from_secs(300),
        }
    }
}

/// Local bounds applied to a time the peer advertises (BIRD clamps the peer's restart
/// and stale times the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Lower bound, in seconds.
    pub min: u32,
    /// Upper bound, in seconds.
    pub max: u32,
}

impl Bounds {
    /// No clamping.
    pub const ANY: Bounds = Bounds {
        min: 0,
        max: u32::MAX,
    };

    /// Clamps `v` into `[min, max]`.
    pub fn clamp(self, v: u32) -> u32 {
        v.max(self.min).min(self.max.max(self.min))
    }
}

/// Everything a [`Session`](super::Session) needs to know about one peering.
///
/// Build it with [`SessionConfig::new`] and adjust the public fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Our AS number (4 octets; AS_TRANS goes on the wire when needed, RFC 6793).
    pub local_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// The peer's AS, or `None` to accept any (dynamic peers).
    pub peer_as: Option<u32>,
    /// Hold Time we propose, seconds (0 or >= 3; RFC 4271 §10 suggests 90).
    pub hold_time: u16,
    /// Keepalive interval; `None` means a third of the negotiated hold time (RFC 4271 §4.4).
    pub keepalive_time: Option<u16>,
    /// ConnectRetryTime (RFC 4271 §10: 120 s; Calico uses 5 s).
    pub connect_retry_time: Duration,
    /// The "large" HoldTimer value used in OpenSent (RFC 4271 §8.2.2: 4 minutes).
    pub open_hold_time: Duration,
    /// DelayOpenTimer (RFC 4271 §8.1.1), off when `None`.
    pub delay_open: Option<Duration>,
    /// Passive: never initiate a connection, only accept (RFC 4271 events 4/5).
    pub passive: bool,
    /// Restart by itself after an error exit, after the IdleHoldTimer.
    pub auto_restart: bool,
    /// Apply jitter (a factor in [0.75, 1]) to the ConnectRetry and IdleHold timers
    /// (RFC 4271 §10), so that two speakers that failed together do not retry in lockstep.
    /// The jitter is a deterministic function of the router ID and a counter.
    pub jitter: bool,
    /// IdleHoldTimer backoff.
    pub idle_hold: IdleHoldConfig,
    /// Families we advertise with the Multiprotocol capability (RFC 4760 §8).
    pub families: Vec<Family>,
    /// ADD-PATH modes we advertise per family (RFC 7911 §4).
    pub add_path: Vec<(Family, AddPathMode)>,
    /// Advertise Enhanced Route Refresh (RFC 7313); Route Refresh is always advertised.
    pub enhanced_route_refresh: bool,
    /// Advertise Extended Message (RFC 8654).
    pub extended_message: bool,
    /// Graceful Restart capability, `None` to send none.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// Long-Lived Graceful Restart capability.
    pub llgr: LlgrConfig,
    /// Bounds on the Restart Time the peer advertises.
    pub peer_restart_time: Bounds,
    /// Bounds on the Long-lived Stale Time the peer advertises.
    pub peer_stale_time: Bounds,
    /// Maximum number of prefixes accepted from the peer (Cease 6/1), off when `None`.
    pub max_prefixes: Option<u32>,
    /// Our BGP Role (RFC 9234), `None` to send none.
    pub role: Option<Role>,
    /// Require the peer to send a Role when we send one (RFC 9234 §4.2 strict mode).
    pub role_strict: bool,
}

impl SessionConfig {
    /// A configuration with the RFC 4271 §10 timers (hold 90 s, connect retry 120 s),
    /// IPv4 and IPv6 unicast, Route Refresh, no GR/LLGR, any peer AS.
    pub fn new(local_as: u32, router_id: Ipv4Addr) -> Self {
        SessionConfig {
            local_as,
            router_id,
            peer_as: None,
            hold_time: 90,
            keepalive_time: None,
            connect_retry_time: Duration::from_secs(120),
            open_hold_time: Duration::from_secs(240),
            delay_open: None,
            passive: false,
            auto_restart: true,
            jitter: true,
            idle_hold: IdleHoldConfig::default(),
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            add_path: Vec::new(),
            enhanced_route_refresh: false,
            extended_message: false,
            graceful_restart: None,
            llgr: LlgrConfig::Off,
            peer_restart_time: Bounds::ANY,
            peer_stale_time: Bounds::ANY,
            max_prefixes: None,
            role: None,
            role_strict: false,
        }
    }

    /// Sets the expected peer AS.
    #[must_use]
    pub fn with_peer_as(mut self, asn: u32) -> Self {
        self.peer_as = Some(asn);
        self
    }
}

/// How a session is started (RFC 4271 §8.1.2 events 1, 3, 4, 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum StartKind {
    /// Event 1 ManualStart: resets the IdleHold backoff.
    Manual,
    /// Event 3 AutomaticStart.
    Automatic,
    /// Event 4 ManualStart_with_PassiveTcpEstablishment.
    ManualPassive,
    /// Event 5 AutomaticStart_with_PassiveTcpEstablishment.
    AutomaticPassive,
}

impl StartKind {
    pub(crate) fn passive(self) -> bool {
        matches!(self, StartKind::ManualPassive | StartKind::AutomaticPassive)
    }
}

/// How a session is stopped locally (RFC 4271 events 2 and 8). Every kind leaves the
/// session in Idle until the next [`handle_start`](super::Session::handle_start).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum StopKind {
    /// Cease 6/2 Administrative Shutdown with an RFC 9003 message (wrapped in a Hard
    /// Reset when N was negotiated, RFC 8538 §5.1). Routes are deleted on both sides.
    Administrative {
        /// Shutdown communication (RFC 9003), cut to 255 octets.
        message: String,
    },
    /// Cease 6/9 Hard Reset (RFC 8538 §3): both sides delete routes.
    HardReset,
    /// Our own restart (RFC 4724 §4): close TCP without a NOTIFICATION so that the peer
    /// keeps our routes; the next OPEN carries R=1.
    Graceful,
    /// BFD declared the peer down: Cease 6/10 (RFC 9384) best-effort; the peer's routes
    /// are handled as a graceful loss (local policy, BIRD's `bfd graceful`).
    BfdDown,
}
