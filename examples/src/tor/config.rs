//! What a ToR runs: its identity, its peers, and the protocol timers, from a
//! small YAML document (or built in code).
//!
//! ```yaml
//! router_id: 172.31.11.250        # BGP Identifier, and the cluster id by default
//! asn: 65001                      # the rack's AS
//! peers:                          # same AS: route-reflector client; other AS: eBGP
//!   - { name: a1, address: 172.31.11.1, asn: 65001 }
//!   - { name: a2, address: 172.31.11.2, asn: 65001 }
//!   - { name: rb1, address: 172.31.1.2, asn: 65002 }
//! bfd: { interval_ms: 100, multiplier: 3 }   # omit for no BFD
//! llgr_stale_time: 3600           # LLGR stale time we advertise (GR time 0)
//! status_socket: /run/ra1.sock    # JSON status snapshot (omit for none)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The ToR's configuration. Build with [`Config::new`] or [`Config::from_yaml`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// BGP Identifier (RFC 4271 §4.2).
    pub router_id: Ipv4Addr,
    /// Our AS: peers in it are route-reflector clients (RFC 4456), others eBGP.
    pub asn: u32,
    /// CLUSTER_ID (RFC 4456 §7); the router ID when absent.
    #[serde(default)]
    pub cluster_id: Option<Ipv4Addr>,
    /// Where to accept BGP connections (we also connect to every peer); the
    /// default `[::]:179` is dual-stack (IPv4 peers arrive IPv4-mapped), and
    /// falls back to `0.0.0.0:179` where the namespace has no IPv6.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The sessions.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// Single-hop BFD on every session (RFC 5880/5881); `None`: no BFD.
    #[serde(default = "default_bfd")]
    pub bfd: Option<BfdConfig>,
    /// Long-lived stale time we advertise and apply (RFC 9494 §3), seconds, with a
    /// Graceful Restart time of 0: a lost session's routes go LLGR-stale at once.
    #[serde(default = "default_llgr_stale_time")]
    pub llgr_stale_time: u32,
    /// Hold time we propose, seconds (BIRD's default 240: failure detection is BFD's).
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    /// First reconnection delay after a failure, milliseconds (BIRD `error wait
    /// time 1,10`: 1 s, doubling up to [`Config::max_connect_retry_ms`]).
    #[serde(default = "default_connect_retry_ms")]
    pub connect_retry_ms: u64,
    /// Cap of the reconnection delay, milliseconds.
    #[serde(default = "default_max_connect_retry_ms")]
    pub max_connect_retry_ms: u64,
    /// Program the best routes into this namespace's kernel FIB (protocol 214).
    #[serde(default = "default_true")]
    pub fib: bool,
    /// How long to wait for End-of-RIB from every peer before sweeping the kernel
    /// routes a previous run left (RFC 4724 §4.1 selection deferral), seconds.
    #[serde(default = "default_restart_deferral")]
    pub restart_deferral: u64,
    /// Serve the status snapshot ([`super::Status`]) as JSON on this unix socket.
    #[serde(default)]
    pub status_socket: Option<PathBuf>,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PeerConfig {
    /// A name for logs (default: the address).
    #[serde(default)]
    pub name: Option<String>,
    /// The neighbour's address, on a directly connected subnet.
    pub address: IpAddr,
    /// The neighbour's AS.
    pub asn: u32,
}

impl PeerConfig {
    /// A peer with no name.
    pub fn new(address: IpAddr, asn: u32) -> Self {
        PeerConfig {
            name: None,
            address,
            asn,
        }
    }

    /// The name for logs.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.address.to_string())
    }
}

/// BFD timers, the same in both directions (the lab's 100 ms x 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfdConfig {
    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval, milliseconds.
    pub interval_ms: u64,
    /// bfd.DetectMult.
    pub multiplier: u8,
}

impl BfdConfig {
    /// The `bfd` crate's session configuration.
    pub fn session(&self) -> bfd::session::Config {
        let i = Duration::from_millis(self.interval_ms.max(1));
        bfd::session::Config {
            desired_min_tx: i,
            required_min_rx: i,
            detect_mult: self.multiplier.max(1),
            ..bfd::session::Config::default()
        }
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The YAML does not parse or has unknown fields.
    #[error("YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    /// Two peers with one address.
    #[error("peer {0} is configured twice")]
    DuplicatePeer(IpAddr),
    /// AS 0 is reserved (RFC 7607).
    #[error("AS 0 for {0}")]
    ZeroAs(String),
    /// BFD multiplier 0 (RFC 5880 §6.8.1: nonzero).
    #[error("BFD multiplier 0")]
    ZeroBfdMultiplier,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv6Addr::UNSPECIFIED, bgp_wire::transport::BGP_PORT))
}
fn default_bfd() -> Option<BfdConfig> {
    Some(BfdConfig {
        interval_ms: 100,
        multiplier: 3,
    })
}
fn default_llgr_stale_time() -> u32 {
    3600
}
fn default_hold_time() -> u16 {
    240
}
fn default_connect_retry_ms() -> u64 {
    1000
}
fn default_max_connect_retry_ms() -> u64 {
    10_000
}
fn default_true() -> bool {
    true
}
fn default_restart_deferral() -> u64 {
    10
}

impl Config {
    /// A ToR with no peers and the lab's defaults: listen on `[::]:179`, BFD 100 ms x 3,
    /// LLGR stale time 3600 s, hold time 240 s, reconnect after 1 s (up to 10 s), FIB on.
    pub fn new(router_id: Ipv4Addr, asn: u32) -> Self {
        Config {
            router_id,
            asn,
            cluster_id: None,
            listen: default_listen(),
            peers: Vec::new(),
            bfd: default_bfd(),
            llgr_stale_time: default_llgr_stale_time(),
            hold_time: default_hold_time(),
            connect_retry_ms: default_connect_retry_ms(),
            max_connect_retry_ms: default_max_connect_retry_ms(),
            fib: true,
            restart_deferral: default_restart_deferral(),
            status_socket: None,
        }
    }

    /// Parses and checks a YAML document.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let c: Config = serde_yaml_ng::from_str(text)?;
        c.check()?;
        Ok(c)
    }

    /// Renders the YAML document [`Config::from_yaml`] reads.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// Checks what serde cannot: unique peers, nonzero AS numbers and multiplier.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.asn == 0 {
            return Err(ConfigError::ZeroAs("the ToR".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for p in &self.peers {
            if !seen.insert(p.address) {
                return Err(ConfigError::DuplicatePeer(p.address));
            }
            if p.asn == 0 {
                return Err(ConfigError::ZeroAs(p.label()));
            }
        }
        if self.bfd.is_some_and(|b| b.multiplier == 0) {
            return Err(ConfigError::ZeroBfdMultiplier);
        }
        Ok(())
    }

    /// The CLUSTER_ID (RFC 4456 §7: the router ID unless configured).
    pub fn cluster_id(&self) -> u32 {
        u32::from(self.cluster_id.unwrap_or(self.router_id))
    }

    /// Whether `peer` is a route-reflector client (iBGP, same AS).
    pub fn is_client(&self, peer: &PeerConfig) -> bool {
        peer.asn == self.asn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The module doc's example parses to the lab ToR ra1 of the guide's topology.
    #[test]
    fn parses_the_documented_example() {
        let c = Config::from_yaml(
            "router_id: 172.31.11.250\nasn: 65001\npeers:\n  \
             - { name: a1, address: 172.31.11.1, asn: 65001 }\n  \
             - { name: rb1, address: 172.31.1.2, asn: 65002 }\n\
             bfd: { interval_ms: 100, multiplier: 3 }\nllgr_stale_time: 3600\n\
             status_socket: /run/ra1.sock\n",
        )
        .unwrap();
        assert_eq!(c.router_id, Ipv4Addr::new(172, 31, 11, 250));
        assert_eq!(c.cluster_id(), u32::from(Ipv4Addr::new(172, 31, 11, 250)));
        assert_eq!(c.peers.len(), 2);
        assert!(c.is_client(&c.peers[0]));
        assert!(!c.is_client(&c.peers[1]));
        assert_eq!(c.listen, "[::]:179".parse().unwrap());
        assert_eq!(c.hold_time, 240);
        assert_eq!(c.connect_retry_ms, 1000);
        assert!(c.fib);
        assert_eq!(c.status_socket, Some(PathBuf::from("/run/ra1.sock")));
        // Round trip through the renderer.
        assert_eq!(Config::from_yaml(&c.to_yaml()).unwrap(), c);
    }

    #[test]
    fn rejects_bad_configs() {
        let dup = "router_id: 1.1.1.1\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 1 }\n  \
                   - { address: 10.0.0.1, asn: 2 }\n";
        assert!(matches!(
            Config::from_yaml(dup),
            Err(ConfigError::DuplicatePeer(a)) if a == "10.0.0.1".parse::<IpAddr>().unwrap()
        ));
        assert!(matches!(
            Config::from_yaml("router_id: 1.1.1.1\nasn: 0\n"),
            Err(ConfigError::ZeroAs(_))
        ));
        assert!(matches!(
            Config::from_yaml(
                "router_id: 1.1.1.1\nasn: 1\nbfd: { interval_ms: 10, multiplier: 0 }\n"
            ),
            Err(ConfigError::ZeroBfdMultiplier)
        ));
        assert!(matches!(
            Config::from_yaml("router_id: 1.1.1.1\nasn: 1\nbogus: 1\n"),
            Err(ConfigError::Yaml(_))
        ));
    }
}
