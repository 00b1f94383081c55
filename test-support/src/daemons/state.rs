//! Typed views of FRR's and GoBGP's JSON state output.
//!
//! The raw JSON stays available ([`Frr::vtysh_json`](super::Frr::vtysh_json),
//! [`Gobgp::cli_json`](super::Gobgp::cli_json)); these structs hold the fields tests
//! compare. Missing fields become `None`/empty, never a panic.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::error::{Error, Result};

fn json(what: &'static str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        what,
        detail: e.to_string(),
    })
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

fn u32_of(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

/// A BGP peer from FRR's `show bgp summary json` (IPv4 unicast).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrrPeer {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub remote_as: Option<u32>,
    /// FSM state (`Established`, `Active`, `Connect`, `Idle`, …).
    pub state: String,
    /// Prefixes received (`pfxRcd`).
    pub prefixes_received: Option<u32>,
    /// `desc`.
    pub description: Option<String>,
}

/// Parses `show bgp summary json`.
pub fn parse_frr_bgp_summary(text: &str) -> Result<Vec<FrrPeer>> {
    let v = json("vtysh show bgp summary json", text)?;
    let Some(peers) = v["ipv4Unicast"]["peers"].as_object() else {
        return Ok(Vec::new());
    };
    let mut out: Vec<FrrPeer> = peers
        .iter()
        .filter_map(|(addr, p)| {
            Some(FrrPeer {
                address: addr.parse().ok()?,
                remote_as: u32_of(&p["remoteAs"]),
                state: p["state"].as_str().unwrap_or_default().to_owned(),
                prefixes_received: u32_of(&p["pfxRcd"]),
                description: p["desc"].as_str().map(str::to_owned),
            })
        })
        .collect();
    out.sort_by_key(|p| p.address);
    Ok(out)
}

/// One path from FRR's `show ip bgp json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrrPath {
    /// Destination.
    pub prefix: IpNet,
    /// Valid.
    pub valid: bool,
    /// Best path.
    pub best: bool,
    /// Part of the multipath set.
    pub multipath: bool,
    /// Marked stale (GR/LLGR).
    pub stale: bool,
    /// AS path (empty for local or iBGP-learned-from-origin routes).
    pub as_path: Vec<u32>,
    /// Next hops.
    pub next_hops: Vec<IpAddr>,
    /// The peer it came from (`None` for local routes).
    pub peer: Option<IpAddr>,
    /// `IGP`, `EGP`, `incomplete`.
    pub origin: String,
    /// Communities as FRR prints them (`llgr-stale`, `65001:1`).
    pub communities: Vec<String>,
}

/// Parses `show ip bgp json`; paths sorted by prefix, best first.
pub fn parse_frr_show_ip_bgp(text: &str) -> Result<Vec<FrrPath>> {
    let v = json("vtysh show ip bgp json", text)?;
    let mut out = Vec::new();
    let Some(routes) = v["routes"].as_object() else {
        return Ok(out);
    };
    for (prefix, paths) in routes {
        let Ok(prefix) = prefix.parse::<IpNet>() else {
            continue;
        };
        for p in paths.as_array().into_iter().flatten() {
            out.push(FrrPath {
                prefix,
                valid: p["valid"].as_bool().unwrap_or(false),
                best: p["bestpath"].as_bool().unwrap_or(false),
                multipath: p["multipath"].as_bool().unwrap_or(false),
                stale: p["stale"].as_bool().unwrap_or(false),
                as_path: p["path"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect(),
                next_hops: p["nexthops"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| ip(&n["ip"]))
                    .collect(),
                peer: ip(&p["peerId"]),
                origin: p["origin"].as_str().unwrap_or_default().to_owned(),
                communities: p["community"]["string"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    out.sort_by_key(|p| (p.prefix, !p.best));
    Ok(out)
}

/// A BFD peer from FRR's `show bfd peers json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrrBfdPeer {
    /// Peer address.
    pub peer: IpAddr,
    /// Local address.
    pub local: Option<IpAddr>,
    /// Interface.
    pub interface: Option<String>,
    /// `up`, `down`, `init`, `shutdown`.
    pub status: String,
    /// Configured required min RX, ms.
    pub receive_interval_ms: Option<u32>,
    /// Configured desired min TX, ms.
    pub transmit_interval_ms: Option<u32>,
    /// Configured detect multiplier.
    pub detect_multiplier: Option<u32>,
    /// The peer's advertised min RX, ms.
    pub remote_receive_interval_ms: Option<u32>,
    /// The peer's detect multiplier.
    pub remote_detect_multiplier: Option<u32>,
    /// Local diagnostic.
    pub diagnostic: Option<String>,
}

/// Parses `show bfd peers json`.
pub fn parse_frr_bfd_peers(text: &str) -> Result<Vec<FrrBfdPeer>> {
    let v = json("vtysh show bfd peers json", text)?;
    let mut out: Vec<FrrBfdPeer> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(FrrBfdPeer {
                peer: ip(&p["peer"])?,
                local: ip(&p["local"]),
                interface: p["interface"].as_str().map(str::to_owned),
                status: p["status"].as_str().unwrap_or_default().to_owned(),
                receive_interval_ms: u32_of(&p["receive-interval"]),
                transmit_interval_ms: u32_of(&p["transmit-interval"]),
                detect_multiplier: u32_of(&p["detect-multiplier"]),
                remote_receive_interval_ms: u32_of(&p["remote-receive-interval"]),
                remote_detect_multiplier: u32_of(&p["remote-detect-multiplier"]),
                diagnostic: p["diagnostic"].as_str().map(str::to_owned),
            })
        })
        .collect();
    out.sort_by_key(|p| p.peer);
    Ok(out)
}

/// GoBGP session states (`apipb.PeerState.SessionState`).
pub const GOBGP_STATES: [&str; 7] = [
    "unknown",
    "idle",
    "connect",
    "active",
    "opensent",
    "openconfirm",
    "established",
];

/// A neighbour from `gobgp -j neighbor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GobgpNeighbor {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub peer_as: Option<u32>,
    /// Session state name (see [`GOBGP_STATES`]).
    pub state: String,
    /// `description`.
    pub description: Option<String>,
    /// IPv4 unicast prefixes received.
    pub received: Option<u32>,
    /// IPv4 unicast prefixes accepted.
    pub accepted: Option<u32>,
    /// The peer's router ID.
    pub router_id: Option<IpAddr>,
}

impl GobgpNeighbor {
    /// State is `established`.
    pub fn is_established(&self) -> bool {
        self.state == "established"
    }
}

/// Parses `gobgp -j neighbor`.
pub fn parse_gobgp_neighbors(text: &str) -> Result<Vec<GobgpNeighbor>> {
    let v = json("gobgp -j neighbor", text)?;
    let mut out: Vec<GobgpNeighbor> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let st = &n["state"];
            let code = st["session_state"].as_u64().unwrap_or(0);
            let afi = n["afi_safis"].as_array().and_then(|a| a.first());
            Some(GobgpNeighbor {
                address: ip(&n["conf"]["neighbor_address"])
                    .or_else(|| ip(&st["neighbor_address"]))?,
                peer_as: u32_of(&n["conf"]["peer_asn"]),
                state: GOBGP_STATES
                    .get(usize::try_from(code).unwrap_or(0))
                    .copied()
                    .unwrap_or("unknown")
                    .to_owned(),
                description: n["conf"]["description"].as_str().map(str::to_owned),
                received: afi.and_then(|a| u32_of(&a["state"]["received"])),
                accepted: afi.and_then(|a| u32_of(&a["state"]["accepted"])),
                router_id: ip(&st["router_id"]),
            })
        })
        .collect();
    out.sort_by_key(|n| n.address);
    Ok(out)
}

/// One path from `gobgp -j global rib`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GobgpPath {
    /// Destination.
    pub prefix: IpNet,
    /// Best path.
    pub best: bool,
    /// Marked stale (GR/LLGR).
    pub stale: bool,
    /// NEXT_HOP (`0.0.0.0` for local routes).
    pub next_hop: Option<IpAddr>,
    /// AS path, flattened.
    pub as_path: Vec<u32>,
    /// ORIGIN code (0 IGP, 1 EGP, 2 incomplete).
    pub origin: Option<u8>,
    /// COMMUNITIES as 32-bit values (LLGR_STALE = 0xFFFF0006).
    pub communities: Vec<u32>,
    /// The neighbour it came from (`None` for local routes).
    pub neighbor: Option<IpAddr>,
}

impl GobgpPath {
    /// Carries LLGR_STALE (65535:6, RFC 9494 §4.6).
    pub fn is_llgr_stale(&self) -> bool {
        self.communities.contains(&0xFFFF_0006)
    }
}

/// Parses `gobgp -j global rib`; sorted by prefix, best first.
pub fn parse_gobgp_rib(text: &str) -> Result<Vec<GobgpPath>> {
    let v = json("gobgp -j global rib", text)?;
    let mut out = Vec::new();
    let Some(dests) = v.as_object() else {
        return Ok(out);
    };
    for (prefix, paths) in dests {
        let Ok(prefix) = prefix.parse::<IpNet>() else {
            continue;
        };
        for p in paths.as_array().into_iter().flatten() {
            let mut path = GobgpPath {
                prefix,
                best: p["best"].as_bool().unwrap_or(false),
                stale: p["stale"].as_bool().unwrap_or(false),
                next_hop: None,
                as_path: Vec::new(),
                origin: None,
                communities: Vec::new(),
                neighbor: ip(&p["neighbor-ip"]),
            };
            for a in p["attrs"].as_array().into_iter().flatten() {
                match a["type"].as_u64() {
                    Some(1) => path.origin = a["value"].as_u64().and_then(|o| u8::try_from(o).ok()),
                    Some(2) => {
                        for seg in a["as_paths"].as_array().into_iter().flatten() {
                            path.as_path.extend(
                                seg["asns"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(u32_of),
                            );
                        }
                    }
                    Some(3) => path.next_hop = ip(&a["nexthop"]),
                    Some(8) => {
                        path.communities = a["communities"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(u32_of)
                            .collect();
                    }
                    _ => {}
                }
            }
            out.push(path);
        }
    }
    out.sort_by_key(|p| (p.prefix, !p.best));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn n(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn frr_summary_of_a_tor() {
        let p = parse_frr_bgp_summary(include_str!("fixtures/frr_tor_bgp_summary.json")).unwrap();
        let got: Vec<(IpAddr, Option<u32>, &str, Option<u32>)> = p
            .iter()
            .map(|p| {
                (
                    p.address,
                    p.remote_as,
                    p.state.as_str(),
                    p.prefixes_received,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (a("172.31.1.2"), Some(65002), "Established", Some(4)),
                (a("172.31.11.1"), Some(65001), "Established", Some(2)),
                (a("172.31.11.2"), Some(65001), "Established", Some(2)),
            ]
        );
        assert_eq!(p[0].description.as_deref(), Some("rb1"));
    }

    #[test]
    fn frr_rib_of_a_tor() {
        let r = parse_frr_show_ip_bgp(include_str!("fixtures/frr_tor_show_ip_bgp.json")).unwrap();
        assert_eq!(r.len(), 8);
        let b1 = r.iter().find(|p| p.prefix == n("172.31.20.1/32")).unwrap();
        assert!(b1.valid && b1.best && !b1.stale);
        assert_eq!(b1.as_path, [65002]);
        assert_eq!(b1.next_hops, [a("172.31.1.2")]);
        assert_eq!(b1.peer, Some(a("172.31.1.2")));
        assert_eq!(b1.origin, "IGP");
        let a1 = r.iter().find(|p| p.prefix == n("10.244.17.0/26")).unwrap();
        assert_eq!(a1.as_path, Vec::<u32>::new());
        assert_eq!(a1.next_hops, [a("172.31.11.1")]);
        assert!(a1.communities.is_empty());
    }

    #[test]
    fn frr_rib_with_local_and_learned_routes() {
        let r = parse_frr_show_ip_bgp(include_str!("fixtures/frr_show_ip_bgp.json")).unwrap();
        let got: Vec<(IpNet, Vec<u32>, Option<IpAddr>, &str)> = r
            .iter()
            .map(|p| (p.prefix, p.as_path.clone(), p.peer, p.origin.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    n("10.200.1.0/24"),
                    vec![65002, 65001],
                    Some(a("10.98.2.2")),
                    "IGP"
                ),
                (
                    n("10.200.2.0/24"),
                    vec![65002],
                    Some(a("10.98.2.2")),
                    "incomplete"
                ),
                (n("10.200.3.0/24"), vec![], None, "IGP"),
            ]
        );
    }

    #[test]
    fn frr_bfd_peers_of_a_tor() {
        let p = parse_frr_bfd_peers(include_str!("fixtures/frr_tor_bfd_peers.json")).unwrap();
        assert_eq!(p.len(), 3);
        let n1 = p.iter().find(|p| p.peer == a("172.31.11.1")).unwrap();
        assert_eq!(n1.local, Some(a("172.31.11.250")));
        assert_eq!(n1.interface.as_deref(), Some("br0"));
        assert_eq!(n1.status, "up");
        assert_eq!(
            (
                n1.receive_interval_ms,
                n1.transmit_interval_ms,
                n1.detect_multiplier
            ),
            (Some(100), Some(100), Some(3))
        );
        assert_eq!(
            (n1.remote_receive_interval_ms, n1.remote_detect_multiplier),
            (Some(100), Some(3))
        );
    }

    #[test]
    fn gobgp_neighbors() {
        let v = parse_gobgp_neighbors(include_str!("fixtures/gobgp_neighbor.json")).unwrap();
        assert_eq!(
            v,
            [
                GobgpNeighbor {
                    address: a("10.98.1.1"),
                    peer_as: Some(65001),
                    state: "established".into(),
                    description: Some("bird".into()),
                    received: Some(1),
                    accepted: Some(1),
                    router_id: Some(a("10.98.1.1")),
                },
                GobgpNeighbor {
                    address: a("10.98.2.3"),
                    peer_as: Some(65003),
                    state: "established".into(),
                    description: Some("frr".into()),
                    // FRR re-advertises all 3 prefixes; the 2 carrying AS 65002 are
                    // loops for GoBGP (RFC 4271 §9.1.2).
                    received: Some(3),
                    accepted: Some(1),
                    router_id: Some(a("10.98.2.3")),
                },
            ]
        );
    }

    #[test]
    fn gobgp_rib() {
        let r = parse_gobgp_rib(include_str!("fixtures/gobgp_global_rib.json")).unwrap();
        assert_eq!(
            r,
            [
                GobgpPath {
                    prefix: n("10.200.1.0/24"),
                    best: true,
                    stale: false,
                    next_hop: Some(a("10.98.1.1")),
                    as_path: vec![65001],
                    origin: Some(0),
                    communities: vec![],
                    neighbor: Some(a("10.98.1.1")),
                },
                GobgpPath {
                    prefix: n("10.200.2.0/24"),
                    best: true,
                    stale: false,
                    next_hop: Some(a("0.0.0.0")),
                    as_path: vec![],
                    origin: Some(2),
                    communities: vec![],
                    neighbor: None,
                },
                GobgpPath {
                    prefix: n("10.200.3.0/24"),
                    best: true,
                    stale: false,
                    next_hop: Some(a("10.98.2.3")),
                    as_path: vec![65003],
                    origin: Some(0),
                    communities: vec![],
                    neighbor: Some(a("10.98.2.3")),
                },
            ]
        );
    }

    #[test]
    fn bad_json_is_a_parse_error() {
        assert!(matches!(
            parse_frr_bgp_summary("nope"),
            Err(Error::Parse {
                what: "vtysh show bgp summary json",
                ..
            })
        ));
        assert!(matches!(
            parse_gobgp_rib("[1"),
            Err(Error::Parse {
                what: "gobgp -j global rib",
                ..
            })
        ));
        // Well-formed but unexpected shapes are empty, not errors.
        assert_eq!(parse_gobgp_neighbors("{}").unwrap(), vec![]);
        assert_eq!(parse_frr_bfd_peers("{}").unwrap(), vec![]);
    }
}
