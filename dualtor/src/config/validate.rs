//! Checks on values that types alone cannot enforce (cross-field rules,
//! ranges the wire imposes, the guide's ban on encapsulation), secrets, and
//! the node-address warnings.
//!
//! Every check runs before anything is applied: [`Config::validate`] for
//! configuration built in code, and the YAML loader calls the same
//! per-resource checks so that its errors also carry the document.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use super::duration::GoDuration;
use super::error::{ConfigError, ConfigErrorKind, ResourceId, ResourceKind, SecretErrorKind};
use super::model::{
    BfdConfiguration, BgpConfiguration, BlockAffinity, Config, EncapMode, IpPool, NodeConfig,
    PasswordSource, PeerConfig, RestartMode, Secret,
};

/// Longest TCP MD5 key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`, RFC 2385).
pub const MAX_PASSWORD_LEN: usize = 80;
/// Largest restart time the GR capability carries (RFC 4724 §3: 12 bits).
pub const MAX_GR_RESTART_TIME: Duration = Duration::from_secs(4095);
/// Largest LLGR stale time (RFC 9494 §3: 24 bits).
pub const MAX_LLGR_STALE_TIME: Duration = Duration::from_secs(0xFF_FFFF);
/// Largest keepalive whose hold time (3x) fits the OPEN's 16 bits (RFC 4271 §4.2).
pub const MAX_KEEPALIVE: Duration = Duration::from_secs(65535 / 3);
/// Largest secret read from a file (TCP MD5 keys are at most 80 bytes; the
/// slack catches a trailing newline without reading unbounded input).
const MAX_SECRET_FILE: u64 = 4096;

/// A field-level failure before it is tied to a resource.
pub(crate) type FieldError = (String, ConfigErrorKind);

fn field(path: &str, kind: ConfigErrorKind) -> FieldError {
    (path.to_owned(), kind)
}

fn duration_out_of_range(path: &str, d: Duration) -> FieldError {
    field(
        path,
        ConfigErrorKind::DurationOutOfRange {
            value: GoDuration(d).to_string(),
        },
    )
}

pub(crate) fn check_password_len(secret: &Secret) -> Result<(), ConfigErrorKind> {
    let len = secret.expose().len();
    if len == 0 {
        return Err(ConfigErrorKind::PasswordEmpty);
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ConfigErrorKind::PasswordTooLong { len });
    }
    Ok(())
}

pub(crate) fn check_node(node: &NodeConfig) -> Result<(), FieldError> {
    if node.name.is_empty() {
        return Err(field("metadata.name", ConfigErrorKind::MissingField));
    }
    Ok(())
}

pub(crate) fn check_peer(peer: &PeerConfig) -> Result<(), FieldError> {
    if peer.node.is_some() && peer.node_selector.is_some() {
        return Err(field(
            "spec.nodeSelector",
            ConfigErrorKind::Conflict { other: "spec.node" },
        ));
    }
    if peer.peer_selector.is_some() {
        if peer.peer_ip.is_some() {
            return Err(field(
                "spec.peerSelector",
                ConfigErrorKind::Conflict {
                    other: "spec.peerIP",
                },
            ));
        }
        if peer.as_number.is_some() {
            return Err(field(
                "spec.peerSelector",
                ConfigErrorKind::Conflict {
                    other: "spec.asNumber",
                },
            ));
        }
    } else {
        if peer.peer_ip.is_none() {
            return Err(field("spec.peerIP", ConfigErrorKind::MissingField));
        }
        if peer.as_number.is_none() {
            return Err(field("spec.asNumber", ConfigErrorKind::MissingField));
        }
    }
    if let Some(PasswordSource::Value(secret)) = &peer.password {
        check_password_len(secret).map_err(|k| field("spec.password", k))?;
    }
    if let Some(k) = peer.keepalive_time
        && (k < Duration::from_secs(1) || k > MAX_KEEPALIVE)
    {
        return Err(duration_out_of_range("spec.keepaliveTime", k));
    }
    if let Some(t) = peer.max_restart_time {
        let max = match peer.restart_mode {
            RestartMode::GracefulRestart => MAX_GR_RESTART_TIME,
            RestartMode::LongLivedGracefulRestart => MAX_LLGR_STALE_TIME,
        };
        if t > max {
            return Err(duration_out_of_range("spec.maxRestartTime", t));
        }
    }
    if peer.ttl_security == Some(0) {
        return Err(field(
            "spec.ttlSecurity",
            ConfigErrorKind::OutOfRange {
                value: "0".into(),
                min: 1,
                max: 255,
            },
        ));
    }
    if let (Some(gw), Some(peer_ip)) = (peer.reachable_by, peer.peer_ip)
        && gw.is_ipv4() != peer_ip.ip.is_ipv4()
    {
        return Err(field(
            "spec.reachableBy",
            ConfigErrorKind::InvalidIp {
                value: gw.to_string(),
            },
        ));
    }
    Ok(())
}

pub(crate) fn check_ip_pool(pool: &IpPool) -> Result<(), FieldError> {
    for (path, mode) in [
        ("spec.ipipMode", pool.ipip_mode),
        ("spec.vxlanMode", pool.vxlan_mode),
    ] {
        if mode != EncapMode::Never {
            return Err(field(path, ConfigErrorKind::Encapsulation { mode }));
        }
    }
    if let Some(size) = pool.block_size {
        // Calico: 20..=32 (IPv4) or 116..=128 (IPv6), and the pool must hold
        // at least one block.
        let (lo, hi) = match pool.cidr {
            IpNet::V4(_) => (20, 32),
            IpNet::V6(_) => (116, 128),
        };
        let min = lo.max(pool.cidr.prefix_len());
        if size < min || size > hi {
            return Err(field(
                "spec.blockSize",
                ConfigErrorKind::OutOfRange {
                    value: size.to_string(),
                    min: u64::from(min),
                    max: u64::from(hi),
                },
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_bgp_configuration(c: &BgpConfiguration) -> Result<(), FieldError> {
    if c.listen_port == Some(0) {
        return Err(field(
            "spec.listenPort",
            ConfigErrorKind::OutOfRange {
                value: "0".into(),
                min: 1,
                max: 65535,
            },
        ));
    }
    Ok(())
}

pub(crate) fn check_bfd_configuration(c: &BfdConfiguration) -> Result<(), FieldError> {
    // BFD intervals travel as 32-bit microseconds (RFC 5880 §4.1); Calico
    // requires whole milliseconds greater than zero.
    let max = Duration::from_micros(u64::from(u32::MAX));
    for (i, iface) in c.interfaces.iter().enumerate() {
        for (name, d) in [
            ("minimumRecvInterval", iface.minimum_recv_interval),
            ("minimumSendInterval", iface.minimum_send_interval),
            ("idleSendInterval", iface.idle_send_interval),
        ] {
            if d.is_zero() || d.subsec_nanos() % 1_000_000 != 0 || d > max {
                return Err(duration_out_of_range(
                    &format!("spec.interfaces[{i}].{name}"),
                    d,
                ));
            }
        }
        // RFC 5880 §6.8.3: while not Up, DesiredMinTxInterval MUST be at least 1 s.
        if iface.idle_send_interval < Duration::from_secs(1) {
            return Err(duration_out_of_range(
                &format!("spec.interfaces[{i}].idleSendInterval"),
                iface.idle_send_interval,
            ));
        }
        if iface.multiplier == 0 {
            return Err(field(
                &format!("spec.interfaces[{i}].multiplier"),
                ConfigErrorKind::OutOfRange {
                    value: "0".into(),
                    min: 1,
                    max: 255,
                },
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_block_affinity(b: &BlockAffinity) -> Result<(), FieldError> {
    if b.node.is_empty() {
        return Err(field("spec.node", ConfigErrorKind::MissingField));
    }
    Ok(())
}

fn located(kind: ResourceKind, name: &str, r: Result<(), FieldError>) -> Result<(), ConfigError> {
    r.map_err(|(path, k)| ConfigError::new(Some(ResourceId::new(kind, name)), path, k))
}

fn check_unique<'a>(
    kind: ResourceKind,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ConfigError::new(
                Some(ResourceId::new(kind, name)),
                "metadata.name",
                ConfigErrorKind::Duplicate {
                    first_document: None,
                },
            ));
        }
    }
    Ok(())
}

impl Config {
    /// Checks every resource and the set as a whole (unique names per kind).
    /// The first error found is returned; nothing is applied on error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use ResourceKind as K;
        for n in &self.nodes {
            located(K::Node, &n.name, check_node(n))?;
        }
        for p in &self.peers {
            located(K::BgpPeer, &p.name, check_peer(p))?;
        }
        for p in &self.ip_pools {
            located(K::IpPool, &p.name, check_ip_pool(p))?;
        }
        for c in &self.bgp_configurations {
            located(K::BgpConfiguration, &c.name, check_bgp_configuration(c))?;
        }
        for c in &self.bfd_configurations {
            located(K::BfdConfiguration, &c.name, check_bfd_configuration(c))?;
        }
        for b in &self.block_affinities {
            located(K::BlockAffinity, &b.name, check_block_affinity(b))?;
        }
        check_unique(K::Node, self.nodes.iter().map(|n| n.name.as_str()))?;
        check_unique(K::BgpPeer, self.peers.iter().map(|n| n.name.as_str()))?;
        check_unique(K::IpPool, self.ip_pools.iter().map(|n| n.name.as_str()))?;
        check_unique(
            K::BgpConfiguration,
            self.bgp_configurations.iter().map(|n| n.name.as_str()),
        )?;
        check_unique(
            K::BfdConfiguration,
            self.bfd_configurations.iter().map(|n| n.name.as_str()),
        )?;
        check_unique(
            K::BlockAffinity,
            self.block_affinities.iter().map(|n| n.name.as_str()),
        )
    }
}

/// Where Calico `secretKeyRef`s are looked up.
pub trait SecretStore: fmt::Debug {
    /// The value of `key` in Secret `name`.
    fn secret(&self, name: &str, key: &str) -> Result<Secret, SecretErrorKind>;
}

/// No secrets: every lookup fails with `NotFound`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretStore for NoSecrets {
    fn secret(&self, _: &str, _: &str) -> Result<Secret, SecretErrorKind> {
        Err(SecretErrorKind::NotFound)
    }
}

/// Secrets mounted as files, Kubernetes-style: `<root>/<name>/<key>`.
#[derive(Debug, Clone)]
pub struct SecretDir {
    root: PathBuf,
}

impl SecretDir {
    /// Secrets under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SecretDir { root: root.into() }
    }
}

/// Rejects names that would escape the secret directory.
fn safe_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\0'])
}

fn read_secret_file(path: &std::path::Path) -> Result<Secret, SecretErrorKind> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SecretErrorKind::NotFound,
        std::io::ErrorKind::InvalidData => SecretErrorKind::NotUtf8,
        k => SecretErrorKind::Io(k),
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_SECRET_FILE)
        .read_to_string(&mut text)
        .map_err(io)?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(Secret::new(text))
}

impl SecretStore for SecretDir {
    fn secret(&self, name: &str, key: &str) -> Result<Secret, SecretErrorKind> {
        if !safe_component(name) || !safe_component(key) {
            return Err(SecretErrorKind::NotFound);
        }
        read_secret_file(&self.root.join(name).join(key))
    }
}

/// Secrets in environment variables named `DUALTOR_SECRET_<NAME>_<KEY>`
/// (upper case, every character other than A-Z and 0-9 replaced by `_`),
/// as a Kubernetes `env: valueFrom: secretKeyRef` would provide them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretEnv;

impl SecretEnv {
    /// The variable holding `key` of Secret `name`.
    pub fn variable(name: &str, key: &str) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!("DUALTOR_SECRET_{}_{}", clean(name), clean(key))
    }
}

fn read_env(var: &str) -> Result<Secret, SecretErrorKind> {
    match std::env::var(var) {
        Ok(v) => Ok(Secret::new(v)),
        Err(std::env::VarError::NotPresent) => Err(SecretErrorKind::NotFound),
        Err(std::env::VarError::NotUnicode(_)) => Err(SecretErrorKind::NotUtf8),
    }
}

impl SecretStore for SecretEnv {
    fn secret(&self, name: &str, key: &str) -> Result<Secret, SecretErrorKind> {
        read_env(&SecretEnv::variable(name, key))
    }
}

impl SecretStore for BTreeMap<(String, String), Secret> {
    fn secret(&self, name: &str, key: &str) -> Result<Secret, SecretErrorKind> {
        self.get(&(name.to_owned(), key.to_owned()))
            .cloned()
            .ok_or(SecretErrorKind::NotFound)
    }
}

/// Resolves a password and checks its length.
pub(crate) fn resolve_password(
    source: &PasswordSource,
    store: &dyn SecretStore,
) -> Result<Secret, ConfigErrorKind> {
    fn unavailable(name: &str, key: &str) -> impl FnOnce(SecretErrorKind) -> ConfigErrorKind {
        let (name, key) = (name.to_owned(), key.to_owned());
        move |reason| ConfigErrorKind::SecretUnavailable { name, key, reason }
    }
    let secret = match source {
        PasswordSource::SecretKeyRef { name, key } => {
            store.secret(name, key).map_err(unavailable(name, key))?
        }
        PasswordSource::Value(s) => s.clone(),
        PasswordSource::File(path) => {
            let name = path.display().to_string();
            read_secret_file(path).map_err(unavailable(&name, ""))?
        }
        PasswordSource::Env(var) => read_env(var).map_err(unavailable(var, ""))?,
    };
    check_password_len(&secret)?;
    Ok(secret)
}

/// An address's scope (`ip addr`'s `scope`, rtnetlink `ifa_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressScope {
    /// `scope global` (0).
    Universe,
    /// `scope site` (200).
    Site,
    /// `scope link` (253): what plane NIC addresses must be.
    Link,
    /// `scope host` (254).
    Host,
    /// `scope nowhere` (255).
    Nowhere,
    /// Another value.
    Other(u8),
}

impl From<u8> for AddressScope {
    fn from(v: u8) -> Self {
        match v {
            0 => AddressScope::Universe,
            200 => AddressScope::Site,
            253 => AddressScope::Link,
            254 => AddressScope::Host,
            255 => AddressScope::Nowhere,
            v => AddressScope::Other(v),
        }
    }
}

/// One address on one interface, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct InterfaceAddress {
    /// Interface name (`eth0`, `lo`).
    pub interface: String,
    /// Address with its prefix length (`172.31.11.1/24`).
    pub address: IpNet,
    /// Its scope.
    pub scope: AddressScope,
}

impl InterfaceAddress {
    /// An address on an interface.
    pub fn new(interface: impl Into<String>, address: IpNet, scope: AddressScope) -> Self {
        InterfaceAddress {
            interface: interface.into(),
            address,
            scope,
        }
    }
}

/// A non-fatal finding about the node's addresses: the kernel would not
/// pick the loopback as source address (dual-ToR guide, "Boot cluster nodes
/// with those addresses").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressWarning {
    /// A plane NIC address is not `scope link`.
    PlaneAddressNotScopeLink {
        /// The interface.
        interface: String,
        /// The address.
        address: IpNet,
        /// Its actual scope.
        scope: AddressScope,
    },
    /// The node's loopback address is configured, but not on `lo`.
    LoopbackNotOnLo {
        /// Where it is.
        interface: String,
        /// The loopback address.
        address: IpAddr,
    },
    /// The node's loopback address is on no interface.
    LoopbackMissing {
        /// The loopback address.
        address: IpAddr,
    },
}

/// Checks the node's addresses (fed from the kernel by the caller) against
/// the guide's rules: plane NIC addresses `scope link`, loopback on `lo`.
///
/// Plane NICs are [`NodeConfig::plane_interfaces`], or, when that is empty,
/// every interface other than `lo`. IPv6 link-local addresses are always
/// `scope link` and so never warned about.
pub fn check_node_addresses(
    node: &NodeConfig,
    addresses: &[InterfaceAddress],
) -> Vec<AddressWarning> {
    let loopbacks: Vec<IpAddr> = node
        .ipv4_address
        .map(|a| IpAddr::V4(a.addr()))
        .into_iter()
        .chain(node.ipv6_address.map(|a| IpAddr::V6(a.addr())))
        .collect();
    let is_plane = |ifname: &str| {
        if node.plane_interfaces.is_empty() {
            ifname != "lo"
        } else {
            node.plane_interfaces.iter().any(|p| p == ifname)
        }
    };
    let mut warnings = Vec::new();
    for lo in &loopbacks {
        match addresses.iter().find(|a| a.address.addr() == *lo) {
            None => warnings.push(AddressWarning::LoopbackMissing { address: *lo }),
            Some(a) if a.interface != "lo" => warnings.push(AddressWarning::LoopbackNotOnLo {
                interface: a.interface.clone(),
                address: *lo,
            }),
            Some(_) => {}
        }
    }
    for a in addresses {
        if is_plane(&a.interface)
            && !loopbacks.contains(&a.address.addr())
            && a.scope != AddressScope::Link
        {
            warnings.push(AddressWarning::PlaneAddressNotScopeLink {
                interface: a.interface.clone(),
                address: a.address,
                scope: a.scope,
            });
        }
    }
    warnings
}
