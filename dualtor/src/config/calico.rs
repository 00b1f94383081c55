//! Loading Calico's own resources from multi-document YAML (feature `serde`).
//!
//! Each document is parsed into a YAML value tree, then walked by hand: the
//! walk knows every field of every resource, so that an unknown field, a
//! wrong type or a bad value is reported with its document and exact path
//! (`document 3 (BGPPeer ra1): spec.peerIp: unknown field`) as a typed
//! [`ConfigErrorKind`], which serde's derive cannot give (its errors are
//! text). Unknown fields are reported before any value of the same object
//! is read, so that a misspelt field does not surface as "missing field".
//!
//! Accepted: `apiVersion` `projectcalico.org/v3` or `crd.projectcalico.org/v1`;
//! kinds `Node`, `BGPPeer`, `IPPool`, `BGPConfiguration`, `BFDConfiguration`,
//! `BlockAffinity`, and `List` / `<Kind>List` with `items` (as `calicoctl
//! get -o yaml` writes them). Kubernetes bookkeeping in `metadata` (uid,
//! resourceVersion, …) and `status` are ignored. Calico fields that do not
//! matter on a dual-ToR node are accepted and ignored where harmless
//! (`extensions`, `natOutgoing`, …) and refused where silently ignoring them
//! would change routing (`filters`, `externalNetwork`, …).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use super::duration::parse_duration;
use super::error::{ConfigError, ConfigErrorKind, ResourceId, ResourceKind};
use super::model::{
    AffinityState, AsNumber, BfdConfiguration, BfdInterface, BgpConfiguration, BindMode,
    BlockAffinity, Community, Config, EncapMode, FailureDetectionMode, GatewayMode,
    InterfacePattern, IpPool, NextHopMode, NodeConfig, PLANE_INTERFACES_ANNOTATION, PasswordSource,
    PeerAddress, PeerConfig, PrefixAdvertisement, RestartMode, SourceAddress,
};
use super::selector::{Labels, Selector};
use super::validate;

const API_VERSIONS: [&str; 2] = ["projectcalico.org/v3", "crd.projectcalico.org/v1"];

/// Kubernetes `metadata` fields that carry no configuration.
const METADATA_IGNORED: &[&str] = &[
    "namespace",
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "generateName",
    "managedFields",
    "finalizers",
    "ownerReferences",
    "selfLink",
];

/// Where we are: document, resource, and the path prefix (`items[2].`).
struct Ctx {
    document: usize,
    resource: Option<ResourceId>,
    prefix: String,
}

impl Ctx {
    fn err(&self, path: &str, kind: ConfigErrorKind) -> ConfigError {
        let field = match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => self.prefix.trim_end_matches('.').to_owned(),
            (false, false) => format!("{}{path}", self.prefix),
        };
        ConfigError {
            document: Some(self.document),
            resource: self.resource.clone(),
            field,
            kind,
        }
    }

    fn invalid_type(&self, path: &str, expected: &'static str) -> ConfigError {
        self.err(path, ConfigErrorKind::InvalidType { expected })
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A YAML mapping whose keys have been checked against the known fields.
struct Obj<'a> {
    map: &'a Mapping,
    path: String,
}

impl<'a> Obj<'a> {
    /// Checks that `v` is a mapping whose keys are all in `known` (or
    /// `ignored`). `null` counts as an empty mapping.
    fn new(
        ctx: &Ctx,
        v: &'a Value,
        path: &str,
        known: &[&str],
        ignored: &[&str],
    ) -> Result<Obj<'a>, ConfigError> {
        static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
        let map = match v {
            Value::Mapping(m) => m,
            Value::Null => EMPTY.get_or_init(Mapping::new),
            _ => return Err(ctx.invalid_type(path, "a mapping")),
        };
        for k in map.keys() {
            let Some(k) = k.as_str() else {
                return Err(ctx.invalid_type(path, "string keys"));
            };
            if !known.contains(&k) && !ignored.contains(&k) {
                return Err(ctx.err(&join(path, k), ConfigErrorKind::UnknownField));
            }
        }
        Ok(Obj {
            map,
            path: path.to_owned(),
        })
    }

    /// The value of `key`, `None` when absent or `null`.
    fn get(&self, key: &str) -> Option<(&'a Value, String)> {
        self.map
            .get(key)
            .filter(|v| !v.is_null())
            .map(|v| (v, join(&self.path, key)))
    }

    fn require(&self, ctx: &Ctx, key: &str) -> Result<(&'a Value, String), ConfigError> {
        self.get(key)
            .ok_or_else(|| ctx.err(&join(&self.path, key), ConfigErrorKind::MissingField))
    }
}

fn string(ctx: &Ctx, v: &Value, path: &str) -> Result<String, ConfigError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| ctx.invalid_type(path, "a string"))
}

/// An optional string field where `""` means unset (Go `omitempty`).
fn opt_string(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Option<String>, ConfigError> {
    match o.get(key) {
        None => Ok(None),
        Some((v, path)) => Ok(Some(string(ctx, v, &path)?).filter(|s| !s.is_empty())),
    }
}

/// A boolean; the strings `"true"`/`"false"` are accepted too, as the
/// guide's `calicoctl patch … "nodeToNodeMeshEnabled": "false"` shows.
fn boolean(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Option<bool>, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(None);
    };
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(ctx.invalid_type(&path, "a boolean")),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// An integer field within `min..=max`.
fn integer(
    ctx: &Ctx,
    o: &Obj<'_>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(None);
    };
    let Value::Number(n) = v else {
        return Err(ctx.invalid_type(&path, "an integer"));
    };
    match n.as_u64() {
        Some(x) if (min..=max).contains(&x) => Ok(Some(x)),
        _ => Err(ctx.err(
            &path,
            ConfigErrorKind::OutOfRange {
                value: n.to_string(),
                min,
                max,
            },
        )),
    }
}

/// An AS number, as a number or a string (`65001`, `"65001"`, `"1.10"`).
fn as_number(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Option<AsNumber>, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(None);
    };
    let out_of_range = || {
        ctx.err(
            &path,
            ConfigErrorKind::AsNumberOutOfRange {
                value: scalar_text(v),
            },
        )
    };
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .and_then(AsNumber::new)
            .map(Some)
            .ok_or_else(out_of_range),
        Value::String(s) => s.parse().map(Some).map_err(|_| out_of_range()),
        _ => Err(ctx.invalid_type(&path, "an AS number")),
    }
}

fn duration(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Option<Duration>, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(None);
    };
    let s = string(ctx, v, &path)?;
    parse_duration(&s)
        .map(Some)
        .map_err(|error| ctx.err(&path, ConfigErrorKind::InvalidDuration { value: s, error }))
}

fn selector(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Option<Selector>, ConfigError> {
    let Some(text) = opt_string(ctx, o, key)? else {
        return Ok(None);
    };
    Selector::parse(&text).map(Some).map_err(|error| {
        ctx.err(
            &join(&o.path, key),
            ConfigErrorKind::InvalidSelector { value: text, error },
        )
    })
}

fn cidr(ctx: &Ctx, v: &Value, path: &str) -> Result<IpNet, ConfigError> {
    let s = string(ctx, v, path)?;
    s.parse()
        .map_err(|_| ctx.err(path, ConfigErrorKind::InvalidCidr { value: s }))
}

fn ip(ctx: &Ctx, v: &Value, path: &str) -> Result<IpAddr, ConfigError> {
    let s = string(ctx, v, path)?;
    s.parse()
        .map_err(|_| ctx.err(path, ConfigErrorKind::InvalidIp { value: s }))
}

/// One of a fixed set of strings.
fn one_of<T: Copy>(
    ctx: &Ctx,
    o: &Obj<'_>,
    key: &str,
    names: &'static [&'static str],
    values: &[T],
) -> Result<Option<T>, ConfigError> {
    let Some(s) = opt_string(ctx, o, key)? else {
        return Ok(None);
    };
    match names.iter().position(|n| *n == s) {
        Some(i) => Ok(Some(values[i])),
        None => Err(ctx.err(
            &join(&o.path, key),
            ConfigErrorKind::InvalidEnum {
                value: s,
                expected: names,
            },
        )),
    }
}

fn sequence<'a>(
    ctx: &Ctx,
    o: &Obj<'a>,
    key: &str,
) -> Result<Vec<(&'a Value, String)>, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(Vec::new());
    };
    let Value::Sequence(items) = v else {
        return Err(ctx.invalid_type(&path, "a list"));
    };
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| (item, format!("{path}[{i}]")))
        .collect())
}

fn string_map(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<Labels, ConfigError> {
    let Some((v, path)) = o.get(key) else {
        return Ok(Labels::new());
    };
    let Value::Mapping(m) = v else {
        return Err(ctx.invalid_type(&path, "a mapping of strings"));
    };
    let mut out = Labels::new();
    for (k, val) in m {
        let (Some(k), Some(val)) = (k.as_str(), val.as_str()) else {
            return Err(ctx.invalid_type(&path, "a mapping of strings"));
        };
        out.insert(k.to_owned(), val.to_owned());
    }
    Ok(out)
}

/// Refuses a field that is set (non-empty) but not implemented.
fn unsupported(ctx: &Ctx, o: &Obj<'_>, key: &str) -> Result<(), ConfigError> {
    match o.get(key) {
        Some((Value::String(s), _)) if s.is_empty() => Ok(()),
        Some((Value::Sequence(s), _)) if s.is_empty() => Ok(()),
        Some((_, path)) => Err(ctx.err(&path, ConfigErrorKind::Unsupported)),
        None => Ok(()),
    }
}

struct Metadata {
    name: String,
    labels: Labels,
    annotations: Labels,
}

fn metadata(ctx: &Ctx, top: &Obj<'_>) -> Result<Metadata, ConfigError> {
    let (v, path) = top.require(ctx, "metadata")?;
    let o = Obj::new(
        ctx,
        v,
        &path,
        &["name", "labels", "annotations"],
        METADATA_IGNORED,
    )?;
    let name = opt_string(ctx, &o, "name")?
        .ok_or_else(|| ctx.err("metadata.name", ConfigErrorKind::MissingField))?;
    Ok(Metadata {
        name,
        labels: string_map(ctx, &o, "labels")?,
        annotations: string_map(ctx, &o, "annotations")?,
    })
}

fn spec<'a>(
    ctx: &Ctx,
    top: &Obj<'a>,
    known: &[&str],
    ignored: &[&str],
) -> Result<Obj<'a>, ConfigError> {
    static NULL: Value = Value::Null;
    let v = top.get("spec").map_or(&NULL, |(v, _)| v);
    Obj::new(ctx, v, "spec", known, ignored)
}

fn node(ctx: &Ctx, top: &Obj<'_>, meta: Metadata) -> Result<NodeConfig, ConfigError> {
    let s = spec(
        ctx,
        top,
        &["bgp"],
        &[
            "addresses",
            "orchRefs",
            "ipv4VXLANTunnelAddr",
            "ipv6VXLANTunnelAddr",
            "vxlanTunnelMACAddr",
            "vxlanTunnelMACAddrV6",
            "wireguard",
            "interfaces",
        ],
    )?;
    let mut n = NodeConfig::new(meta.name);
    n.labels = meta.labels;
    if let Some(planes) = meta.annotations.get(PLANE_INTERFACES_ANNOTATION) {
        n.plane_interfaces = planes
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
    }
    if let Some((bgp, path)) = s.get("bgp") {
        let b = Obj::new(
            ctx,
            bgp,
            &path,
            &[
                "asNumber",
                "ipv4Address",
                "ipv6Address",
                "routeReflectorClusterID",
            ],
            &["ipv4IPIPTunnelAddr"],
        )?;
        n.as_number = as_number(ctx, &b, "asNumber")?;
        // CIDR form (`172.31.10.1/32`); a bare address means a host prefix.
        let addr = |key: &str| -> Result<Option<IpNet>, ConfigError> {
            let Some(text) = opt_string(ctx, &b, key)? else {
                return Ok(None);
            };
            let path = join(&b.path, key);
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map(Some)
                .map_err(|_| ctx.err(&path, ConfigErrorKind::InvalidCidr { value: text }))
        };
        n.ipv4_address = match addr("ipv4Address")? {
            None => None,
            Some(IpNet::V4(v4)) => Some(v4),
            Some(other) => {
                return Err(ctx.err(
                    "spec.bgp.ipv4Address",
                    ConfigErrorKind::InvalidCidr {
                        value: other.to_string(),
                    },
                ));
            }
        };
        n.ipv6_address = match addr("ipv6Address")? {
            None => None,
            Some(IpNet::V6(v6)) => Some(v6),
            Some(other) => {
                return Err(ctx.err(
                    "spec.bgp.ipv6Address",
                    ConfigErrorKind::InvalidCidr {
                        value: other.to_string(),
                    },
                ));
            }
        };
        if let Some(id) = opt_string(ctx, &b, "routeReflectorClusterID")? {
            let path = join(&b.path, "routeReflectorClusterID");
            n.route_reflector_cluster_id = Some(
                id.parse()
                    .map_err(|_| ctx.err(&path, ConfigErrorKind::InvalidIp { value: id }))?,
            );
        }
    }
    Ok(n)
}

fn bgp_peer(ctx: &Ctx, top: &Obj<'_>, meta: Metadata) -> Result<PeerConfig, ConfigError> {
    let s = spec(
        ctx,
        top,
        &[
            "node",
            "nodeSelector",
            "peerIP",
            "asNumber",
            "localASNumber",
            "peerSelector",
            "keepOriginalNextHop",
            "nextHopMode",
            "password",
            "sourceAddress",
            "failureDetectionMode",
            "restartMode",
            "maxRestartTime",
            "birdGatewayMode",
            "numAllowedLocalASNumbers",
            "ttlSecurity",
            "reachableBy",
            "keepaliveTime",
            "filters",
            "externalNetwork",
            "localWorkloadSelector",
        ],
        &["extensions", "reversePeering"],
    )?;
    for key in ["filters", "externalNetwork", "localWorkloadSelector"] {
        unsupported(ctx, &s, key)?;
    }
    let peer_ip = match opt_string(ctx, &s, "peerIP")? {
        None => None,
        Some(text) => Some(
            text.parse::<PeerAddress>()
                .map_err(|_| ctx.err("spec.peerIP", ConfigErrorKind::InvalidIp { value: text }))?,
        ),
    };
    let keep = boolean(ctx, &s, "keepOriginalNextHop")?.unwrap_or(false);
    let mode = one_of(
        ctx,
        &s,
        "nextHopMode",
        &["Auto", "Self", "Keep"],
        &[NextHopMode::Auto, NextHopMode::Self_, NextHopMode::Keep],
    )?;
    let next_hop_mode = match (keep, mode) {
        (false, m) => m.unwrap_or_default(),
        (true, None | Some(NextHopMode::Keep)) => NextHopMode::Keep,
        (true, Some(_)) => {
            return Err(ctx.err(
                "spec.nextHopMode",
                ConfigErrorKind::Conflict {
                    other: "spec.keepOriginalNextHop",
                },
            ));
        }
    };
    let password = match s.get("password") {
        None => None,
        Some((v, path)) => {
            let p = Obj::new(ctx, v, &path, &["secretKeyRef"], &[])?;
            let (r, rpath) = p.require(ctx, "secretKeyRef")?;
            let r = Obj::new(ctx, r, &rpath, &["name", "key"], &["optional"])?;
            let name = opt_string(ctx, &r, "name")?
                .ok_or_else(|| ctx.err(&join(&rpath, "name"), ConfigErrorKind::MissingField))?;
            let key = opt_string(ctx, &r, "key")?
                .ok_or_else(|| ctx.err(&join(&rpath, "key"), ConfigErrorKind::MissingField))?;
            Some(PasswordSource::SecretKeyRef { name, key })
        }
    };
    let reachable_by = match s.get("reachableBy") {
        Some((Value::String(t), _)) if t.is_empty() => None,
        Some((v, path)) => Some(ip(ctx, v, &path)?),
        None => None,
    };
    let mut p = PeerConfig {
        name: meta.name,
        node: opt_string(ctx, &s, "node")?,
        node_selector: selector(ctx, &s, "nodeSelector")?,
        peer_ip,
        as_number: as_number(ctx, &s, "asNumber")?,
        local_as_number: as_number(ctx, &s, "localASNumber")?,
        peer_selector: selector(ctx, &s, "peerSelector")?,
        next_hop_mode,
        password,
        source_address: one_of(
            ctx,
            &s,
            "sourceAddress",
            &["UseNodeIP", "None"],
            &[SourceAddress::UseNodeIp, SourceAddress::None],
        )?
        .unwrap_or_default(),
        max_restart_time: duration(ctx, &s, "maxRestartTime")?,
        keepalive_time: duration(ctx, &s, "keepaliveTime")?,
        num_allowed_local_as_numbers: integer(
            ctx,
            &s,
            "numAllowedLocalASNumbers",
            0,
            u64::from(u32::MAX),
        )?
        .map(|n| n as u32),
        ttl_security: integer(ctx, &s, "ttlSecurity", 1, 255)?.map(|n| n as u8),
        reachable_by,
        failure_detection_mode: one_of(
            ctx,
            &s,
            "failureDetectionMode",
            &["None", "BFDIfDirectlyConnected"],
            &[
                FailureDetectionMode::None,
                FailureDetectionMode::BfdIfDirectlyConnected,
            ],
        )?
        .unwrap_or_default(),
        restart_mode: one_of(
            ctx,
            &s,
            "restartMode",
            &["GracefulRestart", "LongLivedGracefulRestart"],
            &[
                RestartMode::GracefulRestart,
                RestartMode::LongLivedGracefulRestart,
            ],
        )?
        .unwrap_or_default(),
        bird_gateway_mode: one_of(
            ctx,
            &s,
            "birdGatewayMode",
            &["Recursive", "DirectIfDirectlyConnected"],
            &[
                GatewayMode::Recursive,
                GatewayMode::DirectIfDirectlyConnected,
            ],
        )?
        .unwrap_or_default(),
    };
    if p.num_allowed_local_as_numbers == Some(0) {
        p.num_allowed_local_as_numbers = None;
    }
    Ok(p)
}

const ENCAP_NAMES: &[&str] = &["Never", "Always", "CrossSubnet"];
const ENCAP_VALUES: &[EncapMode] = &[EncapMode::Never, EncapMode::Always, EncapMode::CrossSubnet];

fn ip_pool(ctx: &Ctx, top: &Obj<'_>, meta: Metadata) -> Result<IpPool, ConfigError> {
    let s = spec(
        ctx,
        top,
        &[
            "cidr",
            "vxlanMode",
            "ipipMode",
            "natOutgoing",
            "disabled",
            "disableBGPExport",
            "blockSize",
            "nodeSelector",
            "ipip",
            "awsSubnetID",
        ],
        &["allowedUses", "nat-outgoing", "assignmentMode"],
    )?;
    unsupported(ctx, &s, "awsSubnetID")?;
    let (v, path) = s.require(ctx, "cidr")?;
    let mut pool = IpPool::new(meta.name, cidr(ctx, v, &path)?.trunc());
    pool.ipip_mode = one_of(ctx, &s, "ipipMode", ENCAP_NAMES, ENCAP_VALUES)?.unwrap_or_default();
    pool.vxlan_mode = one_of(ctx, &s, "vxlanMode", ENCAP_NAMES, ENCAP_VALUES)?.unwrap_or_default();
    // API v1 compatibility: `ipip: {enabled: true}` is IP-in-IP.
    if let Some((v, path)) = s.get("ipip") {
        let o = Obj::new(ctx, v, &path, &["enabled", "mode"], &[])?;
        if boolean(ctx, &o, "enabled")? == Some(true) {
            return Err(ctx.err(
                &path,
                ConfigErrorKind::Encapsulation {
                    mode: EncapMode::Always,
                },
            ));
        }
    }
    pool.nat_outgoing = boolean(ctx, &s, "natOutgoing")?.unwrap_or(false);
    pool.disabled = boolean(ctx, &s, "disabled")?.unwrap_or(false);
    pool.disable_bgp_export = boolean(ctx, &s, "disableBGPExport")?.unwrap_or(false);
    pool.block_size = integer(ctx, &s, "blockSize", 0, 128)?
        .filter(|b| *b != 0)
        .map(|b| b as u8);
    pool.node_selector = selector(ctx, &s, "nodeSelector")?;
    Ok(pool)
}

fn cidr_blocks(ctx: &Ctx, s: &Obj<'_>, key: &str) -> Result<Vec<IpNet>, ConfigError> {
    sequence(ctx, s, key)?
        .into_iter()
        .map(|(v, path)| {
            let o = Obj::new(ctx, v, &path, &["cidr"], &[])?;
            let (c, cpath) = o.require(ctx, "cidr")?;
            cidr(ctx, c, &cpath)
        })
        .collect()
}

fn bgp_configuration(
    ctx: &Ctx,
    top: &Obj<'_>,
    meta: Metadata,
) -> Result<BgpConfiguration, ConfigError> {
    let s = spec(
        ctx,
        top,
        &[
            "logSeverityScreen",
            "nodeToNodeMeshEnabled",
            "asNumber",
            "serviceLoadBalancerIPs",
            "serviceExternalIPs",
            "serviceClusterIPs",
            "communities",
            "prefixAdvertisements",
            "listenPort",
            "bindMode",
            "ignoredInterfaces",
            "nodeMeshMaxRestartTime",
        ],
        &[
            "extensions",
            "nodeMeshPassword",
            "localWorkloadPeeringIPV4",
            "localWorkloadPeeringIPV6",
            "programClusterRoutes",
        ],
    )?;
    let mut c = BgpConfiguration::new(meta.name);
    c.log_severity_screen = opt_string(ctx, &s, "logSeverityScreen")?;
    c.node_to_node_mesh_enabled = boolean(ctx, &s, "nodeToNodeMeshEnabled")?;
    c.as_number = as_number(ctx, &s, "asNumber")?;
    c.service_load_balancer_ips = cidr_blocks(ctx, &s, "serviceLoadBalancerIPs")?;
    c.service_external_ips = cidr_blocks(ctx, &s, "serviceExternalIPs")?;
    c.service_cluster_ips = cidr_blocks(ctx, &s, "serviceClusterIPs")?;
    c.listen_port = integer(ctx, &s, "listenPort", 1, 65535)?.map(|p| p as u16);
    c.bind_mode = one_of(
        ctx,
        &s,
        "bindMode",
        &["None", "NodeIP"],
        &[BindMode::None, BindMode::NodeIp],
    )?;
    c.ignored_interfaces = sequence(ctx, &s, "ignoredInterfaces")?
        .into_iter()
        .map(|(v, path)| string(ctx, v, &path))
        .collect::<Result<_, _>>()?;
    // Parsed for validity only: the mesh is never used on a dual-ToR node.
    duration(ctx, &s, "nodeMeshMaxRestartTime")?;
    let community = |v: &Value, path: &str| -> Result<Community, ConfigError> {
        let text = string(ctx, v, path)?;
        text.parse()
            .map_err(|_| ctx.err(path, ConfigErrorKind::InvalidCommunity { value: text }))
    };
    let mut named: BTreeMap<String, Community> = BTreeMap::new();
    for (v, path) in sequence(ctx, &s, "communities")? {
        let o = Obj::new(ctx, v, &path, &["name", "value"], &[])?;
        let (n, npath) = o.require(ctx, "name")?;
        let (val, vpath) = o.require(ctx, "value")?;
        named.insert(string(ctx, n, &npath)?, community(val, &vpath)?);
    }
    for (v, path) in sequence(ctx, &s, "prefixAdvertisements")? {
        let o = Obj::new(ctx, v, &path, &["cidr", "communities"], &[])?;
        let (cv, cpath) = o.require(ctx, "cidr")?;
        let prefix = cidr(ctx, cv, &cpath)?;
        let mut communities = Vec::new();
        for (item, ipath) in sequence(ctx, &o, "communities")? {
            let text = string(ctx, item, &ipath)?;
            communities.push(match named.get(&text) {
                Some(c) => *c,
                None => community(item, &ipath)?,
            });
        }
        c.prefix_advertisements
            .push(PrefixAdvertisement::new(prefix, communities));
    }
    Ok(c)
}

fn bfd_configuration(
    ctx: &Ctx,
    top: &Obj<'_>,
    meta: Metadata,
) -> Result<BfdConfiguration, ConfigError> {
    let s = spec(ctx, top, &["nodeSelector", "interfaces"], &[])?;
    let mut c = BfdConfiguration::new(meta.name);
    c.node_selector = selector(ctx, &s, "nodeSelector")?;
    for (v, path) in sequence(ctx, &s, "interfaces")? {
        let o = Obj::new(
            ctx,
            v,
            &path,
            &[
                "matchPattern",
                "minimumRecvInterval",
                "minimumSendInterval",
                "idleSendInterval",
                "multiplier",
            ],
            &[],
        )?;
        let (p, ppath) = o.require(ctx, "matchPattern")?;
        let text = string(ctx, p, &ppath)?;
        let pattern: InterfacePattern = text.parse().map_err(|_| {
            ctx.err(
                &ppath,
                ConfigErrorKind::InvalidInterfacePattern { value: text },
            )
        })?;
        let mut i = BfdInterface::new(pattern);
        if let Some(d) = duration(ctx, &o, "minimumRecvInterval")? {
            i.minimum_recv_interval = d;
        }
        if let Some(d) = duration(ctx, &o, "minimumSendInterval")? {
            i.minimum_send_interval = d;
        }
        if let Some(d) = duration(ctx, &o, "idleSendInterval")? {
            i.idle_send_interval = d;
        }
        if let Some(m) = integer(ctx, &o, "multiplier", 1, 255)? {
            i.multiplier = m as u8;
        }
        c.interfaces.push(i);
    }
    Ok(c)
}

fn block_affinity(ctx: &Ctx, top: &Obj<'_>, meta: Metadata) -> Result<BlockAffinity, ConfigError> {
    let s = spec(ctx, top, &["state", "node", "cidr", "deleted"], &["type"])?;
    let state = one_of(
        ctx,
        &s,
        "state",
        &["confirmed", "pending", "pendingDeletion"],
        &[
            AffinityState::Confirmed,
            AffinityState::Pending,
            AffinityState::PendingDeletion,
        ],
    )?
    .ok_or_else(|| ctx.err("spec.state", ConfigErrorKind::MissingField))?;
    let node = opt_string(ctx, &s, "node")?
        .ok_or_else(|| ctx.err("spec.node", ConfigErrorKind::MissingField))?;
    let (v, path) = s.require(ctx, "cidr")?;
    let mut b = BlockAffinity::confirmed(meta.name, node, cidr(ctx, v, &path)?);
    b.state = state;
    b.deleted = boolean(ctx, &s, "deleted")?.unwrap_or(false);
    Ok(b)
}

/// The loader's state: what was read so far, and where each name came from.
struct Loader {
    config: Config,
    seen: BTreeMap<(ResourceKind, String), usize>,
}

fn kind_of(name: &str) -> Option<ResourceKind> {
    ResourceKind::ALL.into_iter().find(|k| k.as_str() == name)
}

/// Nesting limit for `kind: List` inside `kind: List`.
const MAX_LIST_DEPTH: usize = 4;

impl Loader {
    fn resource(
        &mut self,
        v: &Value,
        document: usize,
        prefix: String,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let mut ctx = Ctx {
            document,
            resource: None,
            prefix,
        };
        let top = Obj::new(
            &ctx,
            v,
            "",
            &["apiVersion", "kind", "metadata", "spec", "items"],
            &["status"],
        )?;
        let (k, kpath) = top.require(&ctx, "kind")?;
        let kind_text = string(&ctx, k, &kpath)?;
        let (a, apath) = top.require(&ctx, "apiVersion")?;
        let api = string(&ctx, a, &apath)?;
        let list_of = kind_text
            .strip_suffix("List")
            .filter(|base| base.is_empty() || kind_of(base).is_some());
        if let Some(base) = list_of {
            // `kind: List` (apiVersion v1) or `kind: BGPPeerList`.
            if !(API_VERSIONS.contains(&api.as_str()) || (base.is_empty() && api == "v1")) {
                return Err(ctx.err(&apath, ConfigErrorKind::UnknownApiVersion { value: api }));
            }
            if top.get("spec").is_some() {
                return Err(ctx.err("spec", ConfigErrorKind::UnknownField));
            }
            if depth >= MAX_LIST_DEPTH {
                return Err(ctx.err("items", ConfigErrorKind::Unsupported));
            }
            for (item, path) in sequence(&ctx, &top, "items")? {
                let prefix = format!("{}{path}.", ctx.prefix);
                self.resource(item, document, prefix, depth + 1)?;
            }
            return Ok(());
        }
        let Some(kind) = kind_of(&kind_text) else {
            return Err(ctx.err(&kpath, ConfigErrorKind::UnknownKind { value: kind_text }));
        };
        if !API_VERSIONS.contains(&api.as_str()) {
            return Err(ctx.err(&apath, ConfigErrorKind::UnknownApiVersion { value: api }));
        }
        if top.get("items").is_some() {
            return Err(ctx.err("items", ConfigErrorKind::UnknownField));
        }
        let meta = metadata(&ctx, &top)?;
        let name = meta.name.clone();
        ctx.resource = Some(ResourceId::new(kind, &name));
        if let Some(first) = self.seen.get(&(kind, name.clone())) {
            return Err(ctx.err(
                "metadata.name",
                ConfigErrorKind::Duplicate {
                    first_document: Some(*first),
                },
            ));
        }
        self.seen.insert((kind, name), document);
        let checked =
            |r: Result<(), validate::FieldError>| r.map_err(|(path, k)| ctx.err(&path, k));
        let c = &mut self.config;
        match kind {
            ResourceKind::Node => {
                let n = node(&ctx, &top, meta)?;
                checked(validate::check_node(&n))?;
                c.nodes.push(n);
            }
            ResourceKind::BgpPeer => {
                let p = bgp_peer(&ctx, &top, meta)?;
                checked(validate::check_peer(&p))?;
                c.peers.push(p);
            }
            ResourceKind::IpPool => {
                let p = ip_pool(&ctx, &top, meta)?;
                checked(validate::check_ip_pool(&p))?;
                c.ip_pools.push(p);
            }
            ResourceKind::BgpConfiguration => {
                let b = bgp_configuration(&ctx, &top, meta)?;
                checked(validate::check_bgp_configuration(&b))?;
                c.bgp_configurations.push(b);
            }
            ResourceKind::BfdConfiguration => {
                let b = bfd_configuration(&ctx, &top, meta)?;
                checked(validate::check_bfd_configuration(&b))?;
                c.bfd_configurations.push(b);
            }
            ResourceKind::BlockAffinity => {
                let b = block_affinity(&ctx, &top, meta)?;
                checked(validate::check_block_affinity(&b))?;
                c.block_affinities.push(b);
            }
        }
        Ok(())
    }
}

impl Config {
    /// Loads Calico resources from (multi-document) YAML. The whole input is
    /// read and checked before anything is returned; the first error is
    /// reported with its 1-based document number, resource and field.
    ///
    /// ```
    /// use dualtor::config::Config;
    /// let yaml = "
    /// apiVersion: projectcalico.org/v3
    /// kind: BGPPeer
    /// metadata: {name: ra1}
    /// spec: {nodeSelector: \"rack == 'ra'\", peerIP: 172.31.11.250, asNumber: 65001}
    /// ";
    /// let config = Config::from_yaml(yaml).unwrap();
    /// assert_eq!(config.peers[0].name, "ra1");
    /// ```
    pub fn from_yaml(input: &str) -> Result<Config, ConfigError> {
        let mut loader = Loader {
            config: Config::default(),
            seen: BTreeMap::new(),
        };
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(input).enumerate() {
            let document = i + 1;
            let value = Value::deserialize(doc).map_err(|e| {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                ConfigError {
                    document: Some(document),
                    resource: None,
                    field: String::new(),
                    kind: ConfigErrorKind::Syntax {
                        line,
                        column,
                        message: e.to_string(),
                    },
                }
            })?;
            if value.is_null() {
                continue;
            }
            loader.resource(&value, document, String::new(), 0)?;
        }
        let config = loader.config;
        // Cross-resource checks (none of which can fail per document).
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::{Ipv4Net, Ipv6Net};

    #[test]
    fn v4_and_v6_addresses() {
        let yaml = "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n}\nspec:\n  bgp: {ipv4Address: 10.0.0.1, ipv6Address: 'fd00::1/64'}\n";
        let c = Config::from_yaml(yaml).unwrap();
        assert_eq!(
            c.nodes[0].ipv4_address,
            Some("10.0.0.1/32".parse::<Ipv4Net>().unwrap())
        );
        assert_eq!(
            c.nodes[0].ipv6_address,
            Some("fd00::1/64".parse::<Ipv6Net>().unwrap())
        );
    }
}
