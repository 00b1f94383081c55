//! The kernel routing table of a namespace as data (`ip -j route`, `ip -j nexthop`).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::netns::Netns;

/// One path of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// `via` address; `None` for a device route (`nexthop dev eth0`).
    pub gateway: Option<IpAddr>,
    /// Output device.
    pub dev: Option<String>,
    /// ECMP weight (`ip` prints it for multipath routes; 1 when absent).
    pub weight: u32,
    /// Flags such as `onlink`, `linkdown`, `dead`.
    pub flags: Vec<String>,
}

impl Path {
    /// A path `via gateway dev dev`, weight 1, no flags: what tests compare against.
    pub fn via(gateway: &str, dev: &str) -> Path {
        Path {
            gateway: Some(gateway.parse().expect("literal gateway address")),
            dev: Some(dev.to_owned()),
            weight: 1,
            flags: Vec::new(),
        }
    }

    /// A device-only path (`nexthop dev eth0`), weight 1, no flags.
    pub fn dev(dev: &str) -> Path {
        Path {
            gateway: None,
            dev: Some(dev.to_owned()),
            weight: 1,
            flags: Vec::new(),
        }
    }
}

/// One kernel route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination (`default` is `0.0.0.0/0`; host routes get /32 or /128).
    pub dst: IpNet,
    /// Route type (`unicast`, `local`, `blackhole`, `broadcast`, …).
    pub kind: String,
    /// Table name or number (`main` when `ip` omits it).
    pub table: String,
    /// Originating protocol (`kernel`, `boot`, `static`, `bird`, `zebra`, …, or a
    /// number).
    pub protocol: String,
    /// Scope (`universe` when absent, `link`, `host`).
    pub scope: String,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// Metric (priority).
    pub metric: u32,
    /// Nexthop object ID, for routes that use one (`ip nexthop`).
    pub nhid: Option<u32>,
    /// The paths: one for a single-path route, several for ECMP, none for blackholes.
    pub paths: Vec<Path>,
}

impl Route {
    /// More than one path.
    pub fn is_ecmp(&self) -> bool {
        self.paths.len() > 1
    }

    /// The paths sorted by (dev, gateway), for order-insensitive comparison.
    pub fn sorted_paths(&self) -> Vec<Path> {
        let mut p = self.paths.clone();
        p.sort_by(|a, b| (&a.dev, a.gateway).cmp(&(&b.dev, b.gateway)));
        p
    }

    /// Whether the route's paths are exactly `expected` (ignoring order, weights and
    /// flags).
    pub fn has_paths(&self, expected: &[Path]) -> bool {
        let key = |p: &Path| (p.dev.clone(), p.gateway);
        let mut a: Vec<_> = self.paths.iter().map(key).collect();
        let mut b: Vec<_> = expected.iter().map(key).collect();
        a.sort();
        b.sort();
        a == b
    }
}

/// Renders the route the way the guide shows it:
/// `172.31.20.4/32 via 172.31.12.250 dev eth1` on one line, or the destination
/// followed by one `   nexthop via … dev …` line per path.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != "unicast" {
            write!(f, "{} ", self.kind)?;
        }
        write!(f, "{}", self.dst)?;
        let path = |f: &mut fmt::Formatter<'_>, p: &Path| -> fmt::Result {
            if let Some(g) = p.gateway {
                write!(f, " via {g}")?;
            }
            if let Some(d) = &p.dev {
                write!(f, " dev {d}")?;
            }
            Ok(())
        };
        match self.paths.as_slice() {
            [] => {}
            [one] => path(f, one)?,
            many => {
                for p in many {
                    write!(f, "\n   nexthop")?;
                    path(f, p)?;
                }
            }
        }
        if self.protocol != "boot" && self.protocol != "kernel" && self.paths.len() <= 1 {
            write!(f, " proto {}", self.protocol)?;
        } else if self.scope == "link" && self.paths.len() <= 1 {
            write!(f, " scope link")?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct JsonPath {
    gateway: Option<IpAddr>,
    dev: Option<String>,
    weight: Option<u32>,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
struct JsonRoute {
    #[serde(rename = "type")]
    kind: Option<String>,
    dst: String,
    table: Option<String>,
    protocol: Option<serde_json::Value>,
    scope: Option<String>,
    prefsrc: Option<IpAddr>,
    metric: Option<u32>,
    nhid: Option<u32>,
    gateway: Option<IpAddr>,
    dev: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    nexthops: Vec<JsonPath>,
}

fn parse_dst(dst: &str) -> Result<IpNet> {
    let err = || Error::Parse {
        what: "route dst",
        detail: dst.to_owned(),
    };
    if dst == "default" {
        return Ok("0.0.0.0/0".parse().expect("literal"));
    }
    if dst.contains('/') {
        return dst.parse().map_err(|_| err());
    }
    let a: IpAddr = dst.parse().map_err(|_| err())?;
    Ok(IpNet::from(a))
}

/// Parses the output of `ip -j route show [table all]` (iproute2 6.x).
pub fn parse_ip_route_json(json: &str) -> Result<Vec<Route>> {
    let raw: Vec<JsonRoute> = serde_json::from_str(json).map_err(|e| Error::Parse {
        what: "ip -j route",
        detail: e.to_string(),
    })?;
    raw.into_iter()
        .map(|r| {
            let paths = if r.nexthops.is_empty() {
                if r.gateway.is_some() || r.dev.is_some() {
                    vec![Path {
                        gateway: r.gateway,
                        dev: r.dev,
                        weight: 1,
                        flags: r.flags,
                    }]
                } else {
                    Vec::new()
                }
            } else {
                r.nexthops
                    .into_iter()
                    .map(|n| Path {
                        gateway: n.gateway,
                        dev: n.dev,
                        weight: n.weight.unwrap_or(1),
                        flags: n.flags,
                    })
                    .collect()
            };
            let protocol = match r.protocol {
                None => "boot".to_owned(),
                Some(serde_json::Value::String(s)) => s,
                Some(v) => v.to_string(),
            };
            Ok(Route {
                dst: parse_dst(&r.dst)?,
                kind: r.kind.unwrap_or_else(|| "unicast".into()),
                table: r.table.unwrap_or_else(|| "main".into()),
                protocol,
                scope: r.scope.unwrap_or_else(|| "universe".into()),
                prefsrc: r.prefsrc,
                metric: r.metric.unwrap_or(0),
                nhid: r.nhid,
                paths,
            })
        })
        .collect()
}

/// A nexthop object (`ip nexthop`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Nexthop {
    /// Its ID (`nhid` in routes).
    pub id: u32,
    /// Gateway of a single nexthop.
    pub gateway: Option<IpAddr>,
    /// Device of a single nexthop.
    pub dev: Option<String>,
    /// Members of a group: (id, weight).
    #[serde(default, deserialize_with = "group")]
    pub group: Vec<(u32, u32)>,
    /// Blackhole nexthop.
    #[serde(default, deserialize_with = "present")]
    pub blackhole: bool,
    /// Flags.
    #[serde(default)]
    pub flags: Vec<String>,
}

fn group<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(u32, u32)>, D::Error> {
    #[derive(Deserialize)]
    struct M {
        id: u32,
        weight: Option<u32>,
    }
    let v: Vec<M> = Deserialize::deserialize(d)?;
    Ok(v.into_iter()
        .map(|m| (m.id, m.weight.unwrap_or(1)))
        .collect())
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let _: serde_json::Value = Deserialize::deserialize(d)?;
    Ok(true)
}

/// Parses the output of `ip -j nexthop show`.
pub fn parse_ip_nexthop_json(json: &str) -> Result<Vec<Nexthop>> {
    serde_json::from_str(json).map_err(|e| Error::Parse {
        what: "ip -j nexthop",
        detail: e.to_string(),
    })
}

/// Fills in the paths of routes that name a nexthop object (`nhid`) but carry no
/// paths themselves, from the objects (`ip -j nexthop show`): a single nexthop
/// gives one path, a group one path per member with its weight, a blackhole none
/// (only unicast routes are filled in).
/// The kernel expands the object into the route in dumps only while
/// `net.ipv4.nexthop_compat_mode` is 1; with 0 a route shows just its `nhid`, and
/// a change of the group's members is a change of these paths. Routes that
/// already have paths, and routes whose object is unknown (it changed between the
/// two dumps), are left as they are.
pub fn resolve_nexthops(routes: &mut [Route], nexthops: &[Nexthop]) {
    let find = |id: u32| nexthops.iter().find(|n| n.id == id);
    let single = |n: &Nexthop, weight: u32| Path {
        gateway: n.gateway,
        dev: n.dev.clone(),
        weight,
        flags: n.flags.clone(),
    };
    for r in routes
        .iter_mut()
        .filter(|r| r.paths.is_empty() && r.kind == "unicast")
    {
        let Some(obj) = r.nhid.and_then(find) else {
            continue;
        };
        r.paths = if obj.blackhole {
            Vec::new()
        } else if obj.group.is_empty() {
            vec![single(obj, 1)]
        } else {
            // Linux groups hold single nexthops only (no nesting).
            obj.group
                .iter()
                .filter_map(|&(id, w)| find(id).map(|m| single(m, w)))
                .collect()
        };
    }
}

/// Whether some route names a nexthop object without carrying its paths.
fn needs_nexthops(routes: &[Route]) -> bool {
    routes
        .iter()
        .any(|r| r.nhid.is_some() && r.paths.is_empty() && r.kind == "unicast")
}

/// `ip -j -4 route show` in namespace `ns` (by name), with the paths of routes
/// that only name a nexthop object resolved ([`resolve_nexthops`]).
pub(crate) fn main_table(ns: &str) -> Result<Vec<Route>> {
    let ip = |args: &[&str]| {
        crate::exec::run(
            std::process::Command::new(crate::exec::program("ip"))
                .args(["-n", ns])
                .args(args),
        )
    };
    let mut routes = parse_ip_route_json(&ip(&["-j", "-4", "route", "show"])?)?;
    if needs_nexthops(&routes) {
        let out = ip(&["-j", "nexthop", "show"])?;
        if !out.trim().is_empty() {
            resolve_nexthops(&mut routes, &parse_ip_nexthop_json(&out)?);
        }
    }
    Ok(routes)
}

impl Netns {
    /// Every IPv4 and IPv6 route of every table (`ip -j route show table all` plus
    /// `ip -6`).
    pub fn routes_all(&self) -> Result<Vec<Route>> {
        let mut v = parse_ip_route_json(&self.ip(&["-j", "-4", "route", "show", "table", "all"])?)?;
        v.extend(parse_ip_route_json(
            &self.ip(&["-j", "-6", "route", "show", "table", "all"])?,
        )?);
        Ok(v)
    }

    /// The IPv4 routes of the main table (`ip -j route show`), the paths of routes
    /// that only name a nexthop object filled in from it ([`resolve_nexthops`]).
    pub fn routes(&self) -> Result<Vec<Route>> {
        main_table(self.name())
    }

    /// The main-table route for exactly `dst` (e.g. `"172.31.20.1/32"`), if any; when
    /// several routes share the prefix (different metrics), the preferred one.
    pub fn route(&self, dst: &str) -> Result<Option<Route>> {
        let want: IpNet = dst.parse().map_err(|_| Error::Parse {
            what: "prefix",
            detail: dst.to_owned(),
        })?;
        Ok(self
            .routes()?
            .into_iter()
            .filter(|r| r.dst == want)
            .min_by_key(|r| r.metric))
    }

    /// The nexthop objects (`ip -j nexthop show`).
    pub fn nexthops(&self) -> Result<Vec<Nexthop>> {
        let out = self.ip(&["-j", "nexthop", "show"])?;
        if out.trim().is_empty() {
            return Ok(Vec::new());
        }
        parse_ip_nexthop_json(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn ip_route_table_all() {
        let r = parse_ip_route_json(include_str!("fixtures/ip_route_table_all.json")).unwrap();
        assert_eq!(r.len(), 20);

        let bh = &r[0];
        assert_eq!(bh.dst, net("10.244.17.0/26"));
        assert_eq!(bh.kind, "blackhole");
        assert_eq!(bh.protocol, "bird");
        assert_eq!(bh.table, "main");
        assert!(bh.paths.is_empty());

        let nh = &r[1];
        assert_eq!(nh.dst, net("10.244.33.0/26"));
        assert_eq!(nh.nhid, Some(10));
        assert_eq!(
            nh.paths,
            vec![
                Path {
                    weight: 1,
                    ..Path::via("172.31.11.250", "eth0")
                },
                Path {
                    weight: 2,
                    ..Path::via("172.31.12.250", "eth1")
                },
            ]
        );

        // The guide's bootstrap route for the own rack: device-only ECMP.
        let own = &r[2];
        assert_eq!(own.dst, net("172.31.10.0/24"));
        assert_eq!(own.protocol, "boot");
        assert_eq!(own.kind, "unicast");
        assert_eq!(own.paths, vec![Path::dev("eth0"), Path::dev("eth1")]);
        assert!(own.is_ecmp());

        let conn = &r[3];
        assert_eq!(conn.dst, net("172.31.11.0/24"));
        assert_eq!(conn.scope, "link");
        assert_eq!(conn.protocol, "kernel");
        assert_eq!(conn.prefsrc, Some("172.31.11.1".parse().unwrap()));
        assert_eq!(conn.paths, vec![Path::dev("eth0")]);

        // Host routes are printed without /32.
        let host = &r[6];
        assert_eq!(host.dst, net("172.31.20.1/32"));
        assert_eq!(host.metric, 32);
        assert_eq!(host.paths, vec![Path::via("172.31.12.250", "eth1")]);
        assert!(!host.is_ecmp());
        assert_eq!(
            host.to_string(),
            "172.31.20.1/32 via 172.31.12.250 dev eth1 proto bird"
        );

        let local = &r[10];
        assert_eq!(local.dst, net("172.31.10.1/32"));
        assert_eq!(
            (
                local.kind.as_str(),
                local.table.as_str(),
                local.scope.as_str()
            ),
            ("local", "local", "host")
        );

        let v6 = &r[15];
        assert_eq!(v6.dst, net("fe80::/64"));
        assert_eq!(v6.metric, 256);
    }

    #[test]
    fn display_is_the_guides_style() {
        let r = parse_ip_route_json(include_str!("fixtures/ip_route_table_all.json")).unwrap();
        assert_eq!(
            r[5].to_string(),
            "172.31.20.0/24\n   nexthop via 172.31.11.250 dev eth0\n   nexthop via 172.31.12.250 dev eth1"
        );
        assert_eq!(
            r[2].to_string(),
            "172.31.10.0/24\n   nexthop dev eth0\n   nexthop dev eth1"
        );
        assert_eq!(r[0].to_string(), "blackhole 10.244.17.0/26 proto bird");
    }

    #[test]
    fn has_paths_ignores_order_and_weight() {
        let r = parse_ip_route_json(include_str!("fixtures/ip_route_table_all.json")).unwrap();
        assert!(r[1].has_paths(&[
            Path::via("172.31.12.250", "eth1"),
            Path::via("172.31.11.250", "eth0")
        ]));
        assert!(!r[1].has_paths(&[Path::via("172.31.12.250", "eth1")]));
    }

    #[test]
    fn ip_nexthop() {
        let n = parse_ip_nexthop_json(include_str!("fixtures/ip_nexthop.json")).unwrap();
        assert_eq!(
            n,
            vec![
                Nexthop {
                    id: 10,
                    gateway: None,
                    dev: None,
                    group: vec![(11, 1), (12, 2)],
                    blackhole: false,
                    flags: vec![]
                },
                Nexthop {
                    id: 11,
                    gateway: Some("172.31.11.250".parse().unwrap()),
                    dev: Some("eth0".into()),
                    group: vec![],
                    blackhole: false,
                    flags: vec![],
                },
                Nexthop {
                    id: 12,
                    gateway: Some("172.31.12.250".parse().unwrap()),
                    dev: Some("eth1".into()),
                    group: vec![],
                    blackhole: false,
                    flags: vec![],
                },
            ]
        );
    }

    #[test]
    fn bad_input_is_a_parse_error() {
        assert!(matches!(
            parse_ip_route_json("{"),
            Err(Error::Parse {
                what: "ip -j route",
                ..
            })
        ));
        assert!(matches!(
            parse_ip_route_json(r#"[{"dst":"300.1.1.1"}]"#),
            Err(Error::Parse {
                what: "route dst",
                ..
            })
        ));
        assert!(matches!(
            parse_ip_nexthop_json("[1]"),
            Err(Error::Parse {
                what: "ip -j nexthop",
                ..
            })
        ));
    }

    fn find(routes: &[Route], dst: &str) -> Route {
        routes
            .iter()
            .find(|r| r.dst == net(dst))
            .unwrap_or_else(|| panic!("{dst} missing"))
            .clone()
    }

    /// With `nexthop_compat_mode=0` a route dump names the object only; the
    /// object table gives the paths: a group one per member, a blackhole none.
    #[test]
    fn nhid_only_routes_resolve_through_their_objects() {
        let mut r = parse_ip_route_json(include_str!("fixtures/ip_route_nhid_only.json")).unwrap();
        assert!(find(&r, "10.244.33.0/26").paths.is_empty());
        let n = parse_ip_nexthop_json(include_str!("fixtures/ip_nexthop_groups.json")).unwrap();
        resolve_nexthops(&mut r, &n);
        let both = [
            Path::via("172.31.11.250", "eth0"),
            Path::via("172.31.12.250", "eth1"),
        ];
        for dst in ["10.244.33.0/26", "172.31.20.1/32"] {
            let route = find(&r, dst);
            assert_eq!(route.nhid, Some(10));
            assert_eq!(route.sorted_paths(), both, "{dst}");
        }
        assert_eq!(
            find(&r, "172.31.20.2/32").paths,
            [Path::via("172.31.12.250", "eth1")]
        );
        let bh = find(&r, "10.244.17.0/26");
        assert_eq!((bh.kind.as_str(), bh.paths.len()), ("blackhole", 0));
        // Routes that carry their own paths are untouched.
        assert_eq!(find(&r, "172.31.11.0/24").paths, [Path::dev("eth0")]);
    }

    /// `ip nexthop replace id 10 group 2` changes no route, only the group: the
    /// resolved paths of every route using it follow (what the watcher records).
    #[test]
    fn a_group_change_changes_the_resolved_paths() {
        let dump = include_str!("fixtures/ip_route_nhid_only.json");
        let mut before = parse_ip_route_json(dump).unwrap();
        let mut after = parse_ip_route_json(dump).unwrap();
        resolve_nexthops(
            &mut before,
            &parse_ip_nexthop_json(include_str!("fixtures/ip_nexthop_groups.json")).unwrap(),
        );
        resolve_nexthops(
            &mut after,
            &parse_ip_nexthop_json(include_str!(
                "fixtures/ip_nexthop_groups_after_replace.json"
            ))
            .unwrap(),
        );
        assert_ne!(before, after);
        for dst in ["10.244.33.0/26", "172.31.20.1/32"] {
            assert!(find(&before, dst).is_ecmp(), "{dst}");
            assert_eq!(
                find(&after, dst).paths,
                [Path::via("172.31.12.250", "eth1")],
                "{dst}"
            );
        }
        assert_eq!(
            find(&before, "172.31.20.2/32"),
            find(&after, "172.31.20.2/32")
        );
    }

    /// Group weights carry over; compat-expanded routes keep the kernel's own
    /// paths; an object missing from the table (changed between the two dumps)
    /// leaves the route without paths rather than guessing.
    #[test]
    fn weights_expanded_routes_and_unknown_objects() {
        let mut r = parse_ip_route_json(include_str!("fixtures/ip_route_nhid_only.json")).unwrap();
        let n = parse_ip_nexthop_json(include_str!("fixtures/ip_nexthop.json")).unwrap();
        resolve_nexthops(&mut r, &n);
        // ip_nexthop.json has ids 10 (group 11/12,2), 11 and 12 (single).
        let g = find(&r, "10.244.33.0/26");
        let w: Vec<u32> = g.sorted_paths().iter().map(|p| p.weight).collect();
        assert_eq!(w, [1, 2]);
        assert_eq!(
            find(&r, "172.31.20.2/32").paths,
            [Path::via("172.31.11.250", "eth0")]
        );
        let mut only =
            parse_ip_route_json(include_str!("fixtures/ip_route_nhid_only.json")).unwrap();
        resolve_nexthops(&mut only, &[]);
        assert!(find(&only, "172.31.20.1/32").paths.is_empty());
        let mut all =
            parse_ip_route_json(include_str!("fixtures/ip_route_table_all.json")).unwrap();
        let expanded = find(&all, "10.244.33.0/26");
        resolve_nexthops(&mut all, &[]);
        assert_eq!(find(&all, "10.244.33.0/26"), expanded);
        assert!(!needs_nexthops(&all));
    }
}
