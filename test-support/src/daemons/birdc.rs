//! Parsers for `birdc` output (BIRD 2.0.12), for [`Bird`](super::Bird)'s typed
//! accessors.
//!
//! BIRD's CLI text is meant for people; these parsers read the parts tests compare
//! (states, addresses, next hops, preferences, the stale flag, BGP attributes and
//! communities) and keep every other `key: value` line as text. Lines they do not
//! understand are skipped, never a panic.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;

/// One protocol from `show protocols [all]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Protocol {
    /// Protocol name (`ra1`, `kernel1`).
    pub name: String,
    /// Protocol type (`BGP`, `Kernel`, `Static`, `BFD`, `Device`).
    pub proto: String,
    /// Table (`master4`), `None` for `---`.
    pub table: Option<String>,
    /// `up`, `down`, `start`, `stop`.
    pub state: String,
    /// Time of the last state change, as printed.
    pub since: String,
    /// The info column (`Established`, `Connect       Error: BFD session down`).
    pub info: String,
    /// Details from `show protocols all` for BGP protocols.
    pub bgp: Option<BgpDetails>,
}

impl Protocol {
    /// `up` and, for BGP, `Established`.
    pub fn is_established(&self) -> bool {
        self.state == "up" && (self.proto != "BGP" || self.info.starts_with("Established"))
    }
}

/// BGP details from `show protocols all`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BgpDetails {
    /// `BGP state:` (`Established`, `Connect`, `Active`, `Idle`, …).
    pub state: String,
    /// `Neighbor address:`.
    pub neighbor_address: Option<IpAddr>,
    /// `Neighbor AS:`.
    pub neighbor_as: Option<u32>,
    /// `Local AS:`.
    pub local_as: Option<u32>,
    /// `Neighbor ID:`.
    pub neighbor_id: Option<IpAddr>,
    /// `Source address:`.
    pub source_address: Option<IpAddr>,
    /// `Session:` (`internal AS4`, `external AS4`).
    pub session: Option<String>,
    /// `Last error:`.
    pub last_error: Option<String>,
    /// `Neighbor GR:` (`Long-lived`, `Regular`), present while the peer's routes are
    /// kept stale.
    pub neighbor_gr: Option<String>,
    /// Capability names under `Local capabilities`.
    pub local_capabilities: Vec<String>,
    /// Capability names under `Neighbor capabilities`.
    pub neighbor_capabilities: Vec<String>,
    /// `LL stale time:` under `Neighbor capabilities`.
    pub neighbor_ll_stale_time: Option<u32>,
    /// `Restart time:` under `Neighbor capabilities` (graceful restart).
    pub neighbor_restart_time: Option<u32>,
    /// Channel `State:` (`UP`, `START`, …).
    pub channel_state: Option<String>,
    /// Channel `Routes:` counts: imported.
    pub routes_imported: Option<u32>,
    /// Channel `Routes:` counts: exported.
    pub routes_exported: Option<u32>,
    /// Channel `Routes:` counts: preferred.
    pub routes_preferred: Option<u32>,
}

fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim_start().strip_prefix(key).map(str::trim)
}

/// Parses `show protocols` or `show protocols all`.
pub fn parse_protocols(text: &str) -> Vec<Protocol> {
    let mut out: Vec<Protocol> = Vec::new();
    let mut caps: Option<bool> = None; // Some(false) local, Some(true) neighbor
    for line in text.lines() {
        if line.starts_with("Name ") || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let mut f = line.split_whitespace();
            let (Some(name), Some(proto), Some(table), Some(state), Some(since)) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let info = f.collect::<Vec<_>>().join(" ");
            out.push(Protocol {
                name: name.into(),
                proto: proto.into(),
                table: (table != "---").then(|| table.to_owned()),
                state: state.into(),
                since: since.into(),
                info,
                bgp: None,
            });
            caps = None;
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        if p.proto != "BGP" {
            continue;
        }
        let b = p.bgp.get_or_insert_with(BgpDetails::default);
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if let Some(v) = after(line, "BGP state:") {
            b.state = v.into();
        } else if let Some(v) = after(line, "Neighbor address:") {
            b.neighbor_address = v.parse().ok();
        } else if let Some(v) = after(line, "Neighbor AS:") {
            b.neighbor_as = v.parse().ok();
        } else if let Some(v) = after(line, "Local AS:") {
            b.local_as = v.parse().ok();
        } else if let Some(v) = after(line, "Neighbor ID:") {
            b.neighbor_id = v.parse().ok();
        } else if let Some(v) = after(line, "Source address:") {
            b.source_address = v.parse().ok();
        } else if let Some(v) = after(line, "Session:") {
            b.session = Some(v.into());
        } else if let Some(v) = after(line, "Last error:") {
            b.last_error = Some(v.into());
        } else if let Some(v) = after(line, "Neighbor GR:") {
            b.neighbor_gr = Some(v.into());
        } else if t == "Local capabilities" {
            caps = Some(false);
        } else if t == "Neighbor capabilities" {
            caps = Some(true);
        } else if indent <= 4 {
            caps = None;
            if let Some(v) = after(line, "State:") {
                b.channel_state = Some(v.into());
            } else if let Some(v) = after(line, "Routes:") {
                for part in v.split(',') {
                    let mut w = part.split_whitespace();
                    let (Some(n), Some(what)) = (w.next(), w.next()) else {
                        continue;
                    };
                    let n = n.parse().ok();
                    match what {
                        "imported" => b.routes_imported = n,
                        "exported" => b.routes_exported = n,
                        "preferred" => b.routes_preferred = n,
                        _ => {}
                    }
                }
            }
        } else if let Some(neigh) = caps {
            if indent == 6 {
                if neigh {
                    b.neighbor_capabilities.push(t.into());
                } else {
                    b.local_capabilities.push(t.into());
                }
            } else if neigh {
                if let Some(v) = after(line, "LL stale time:") {
                    b.neighbor_ll_stale_time = v.parse().ok();
                } else if let Some(v) = after(line, "Restart time:") {
                    b.neighbor_restart_time = v.parse().ok();
                }
            }
        }
    }
    out
}

/// One next hop of a BIRD route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// `via` address (`None` for `dev` routes).
    pub gateway: Option<IpAddr>,
    /// Interface (`on eth0` / `dev eth0`).
    pub iface: Option<String>,
    /// ECMP weight if printed.
    pub weight: Option<u32>,
}

/// One route from `show route all` (each alternative of a prefix is its own entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The table (`master4`).
    pub table: String,
    /// Destination.
    pub prefix: IpNet,
    /// `unicast`, `blackhole`, `unreachable`, …
    pub kind: String,
    /// The protocol that supplied it (`ra1`, `originated`).
    pub protocol: String,
    /// `from <addr>` (set when the BGP next hop differs from the peer, e.g. reflected
    /// routes).
    pub from: Option<IpAddr>,
    /// Best route of the prefix (`*`).
    pub primary: bool,
    /// Preference.
    pub preference: u32,
    /// Marked stale (`(100s)`: GR/LLGR).
    pub stale: bool,
    /// The bracketed summary (`AS65002i`, `i`).
    pub summary: Option<String>,
    /// Next hops.
    pub next_hops: Vec<NextHop>,
    /// Every `key: value` attribute line (`Type`, `BGP.origin`, `BGP.as_path`, …).
    pub attrs: Vec<(String, String)>,
}

impl Route {
    /// An attribute's value (`"BGP.next_hop"`).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `BGP.community` as (ASN, value) pairs.
    pub fn communities(&self) -> Vec<(u16, u16)> {
        self.attr("BGP.community")
            .map(|v| {
                v.split(')')
                    .filter_map(|c| {
                        let (a, b) = c.trim().trim_start_matches('(').split_once(',')?;
                        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Carries LLGR_STALE (65535:6, RFC 9494 §4.6).
    pub fn is_llgr_stale(&self) -> bool {
        self.communities().contains(&(65535, 6))
    }

    /// `BGP.as_path` as AS numbers.
    pub fn as_path(&self) -> Vec<u32> {
        self.attr("BGP.as_path")
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|a| a.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn parse_route_head(table: &str, prefix: IpNet, rest: &str) -> Option<Route> {
    // `unicast [ra1 18:13:15.887 from 172.31.11.250] * (100s) [AS65002i]`
    let rest = rest.trim();
    let (kind, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start().strip_prefix('[')?;
    let (src, rest) = rest.split_once(']')?;
    let mut s = src.split_whitespace();
    let protocol = s.next()?.to_owned();
    let _time = s.next();
    let from = match (s.next(), s.next()) {
        (Some("from"), Some(a)) => a.parse().ok(),
        _ => None,
    };
    let mut rest = rest.trim_start();
    let primary = rest.starts_with('*');
    rest = rest.trim_start_matches('*').trim_start();
    let rest = rest.strip_prefix('(')?;
    let (pref, rest) = rest.split_once(')')?;
    let stale = pref.ends_with('s');
    let preference = pref
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let summary = rest
        .trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .map(str::to_owned);
    Some(Route {
        table: table.to_owned(),
        prefix,
        kind: kind.to_owned(),
        protocol,
        from,
        primary,
        preference,
        stale,
        summary,
        next_hops: Vec::new(),
        attrs: Vec::new(),
    })
}

/// Parses `show route [all] ...` output.
pub fn parse_routes(text: &str) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut table = String::new();
    let mut prefix: Option<IpNet> = None;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("Table ") {
            table = t.trim_end_matches(':').to_owned();
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('\t') {
            let Some(r) = out.last_mut() else { continue };
            let t = line.trim();
            if let Some(v) = t.strip_prefix("via ") {
                let mut w = v.split_whitespace();
                let gateway = w.next().and_then(|g| g.parse().ok());
                let mut nh = NextHop {
                    gateway,
                    iface: None,
                    weight: None,
                };
                while let Some(k) = w.next() {
                    match k {
                        "on" => nh.iface = w.next().map(str::to_owned),
                        "weight" => nh.weight = w.next().and_then(|x| x.parse().ok()),
                        _ => {}
                    }
                }
                r.next_hops.push(nh);
            } else if let Some(v) = t.strip_prefix("dev ") {
                r.next_hops.push(NextHop {
                    gateway: None,
                    iface: v.split_whitespace().next().map(str::to_owned),
                    weight: None,
                });
            } else if let Some((k, v)) = t.split_once(':') {
                r.attrs.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            continue;
        }
        let rest = if line.starts_with(' ') {
            line
        } else {
            let Some((p, rest)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            prefix = p.parse().ok();
            rest
        };
        if let Some(p) = prefix
            && let Some(r) = parse_route_head(&table, p, rest)
        {
            out.push(r);
        }
    }
    out
}

/// One BFD session from `show bfd sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdSession {
    /// The BFD protocol instance (`bfd1`).
    pub protocol: String,
    /// Peer address.
    pub address: IpAddr,
    /// Interface.
    pub interface: String,
    /// `Up`, `Down`, `Init`, `AdminDown`.
    pub state: String,
    /// Last state change, as printed.
    pub since: String,
    /// Transmit interval.
    pub interval: Duration,
    /// Detection timeout.
    pub timeout: Duration,
}

fn secs(s: &str) -> Option<Duration> {
    Duration::try_from_secs_f64(s.parse().ok()?).ok()
}

/// Parses `show bfd sessions`.
pub fn parse_bfd_sessions(text: &str) -> Vec<BfdSession> {
    let mut out = Vec::new();
    let mut proto = String::new();
    for line in text.lines() {
        if let Some(p) = line.strip_suffix(':')
            && !p.contains(' ')
        {
            proto = p.to_owned();
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [addr, iface, state, since, interval, timeout] = f.as_slice() else {
            continue;
        };
        let (Ok(address), Some(interval), Some(timeout)) =
            (addr.parse(), secs(interval), secs(timeout))
        else {
            continue;
        };
        out.push(BfdSession {
            protocol: proto.clone(),
            address,
            interface: (*iface).to_owned(),
            state: (*state).to_owned(),
            since: (*since).to_owned(),
            interval,
            timeout,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn protocols_summary() {
        let p = parse_protocols(include_str!("fixtures/show_protocols.txt"));
        let names: Vec<(&str, &str, Option<&str>, &str, &str)> = p
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.proto.as_str(),
                    p.table.as_deref(),
                    p.state.as_str(),
                    p.info.as_str(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("device1", "Device", None, "up", ""),
                ("kernel1", "Kernel", Some("master4"), "up", ""),
                ("originated", "Static", Some("master4"), "up", ""),
                ("bfd1", "BFD", None, "up", ""),
                ("ra1", "BGP", None, "up", "Established"),
                ("ra2", "BGP", None, "up", "Established"),
            ]
        );
        assert_eq!(p[4].since, "18:13:15.758");
        assert!(p.iter().all(Protocol::is_established));
    }

    #[test]
    fn protocols_all_established_bgp_details() {
        let p = parse_protocols(include_str!("fixtures/show_protocols_all_established.txt"));
        assert_eq!(p.len(), 1);
        let b = p[0].bgp.as_ref().unwrap();
        assert_eq!(b.state, "Established");
        assert_eq!(b.neighbor_address, Some(ip("172.31.11.250")));
        assert_eq!(b.neighbor_as, Some(65001));
        assert_eq!(b.local_as, Some(65001));
        assert_eq!(b.neighbor_id, Some(ip("172.31.11.250")));
        assert_eq!(b.source_address, Some(ip("172.31.11.1")));
        assert_eq!(b.session.as_deref(), Some("internal AS4"));
        assert_eq!(b.last_error, None);
        assert_eq!(b.neighbor_gr, None);
        let caps = [
            "Multiprotocol",
            "Route refresh",
            "Graceful restart",
            "4-octet AS numbers",
            "Enhanced refresh",
            "Long-lived graceful restart",
        ];
        assert_eq!(b.local_capabilities, caps);
        assert_eq!(b.neighbor_capabilities, caps);
        assert_eq!(b.neighbor_ll_stale_time, Some(3600));
        assert_eq!(b.neighbor_restart_time, Some(0));
        assert_eq!(b.channel_state.as_deref(), Some("UP"));
        assert_eq!(
            (b.routes_imported, b.routes_exported, b.routes_preferred),
            (Some(6), Some(2), Some(6))
        );
    }

    #[test]
    fn protocols_all_after_bfd_down_in_llgr() {
        let p = parse_protocols(include_str!("fixtures/show_protocols_all_bfd_down.txt"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].state, "start");
        assert_eq!(p[0].info, "Connect Error: BFD session down");
        assert!(!p[0].is_established());
        let b = p[0].bgp.as_ref().unwrap();
        assert_eq!(b.state, "Connect");
        assert_eq!(b.neighbor_address, Some(ip("172.31.1.2")));
        assert_eq!(b.neighbor_as, Some(65002));
        assert_eq!(b.local_as, Some(65001));
        assert_eq!(b.last_error.as_deref(), Some("Error: BFD session down"));
        assert_eq!(b.neighbor_gr.as_deref(), Some("Long-lived"));
        assert_eq!(b.channel_state.as_deref(), Some("START"));
        assert_eq!(
            (b.routes_imported, b.routes_exported, b.routes_preferred),
            (Some(4), Some(0), Some(4))
        );
        assert!(b.neighbor_capabilities.is_empty());
    }

    #[test]
    fn routes_full_ecmp_node() {
        let r = parse_routes(include_str!("fixtures/show_route_all_node.txt"));
        // 6 BGP prefixes (b1, b2 loopbacks and pod blocks; a2 loopback and pod block),
        // 2 alternatives each, plus a1's 2 originated blackholes.
        assert_eq!(r.len(), 14);
        assert!(r.iter().all(|r| r.table == "master4"));
        let first = &r[0];
        assert_eq!(first.prefix, "10.244.34.0/26".parse::<IpNet>().unwrap());
        assert_eq!(first.kind, "unicast");
        assert_eq!(first.protocol, "ra1");
        assert_eq!(first.from, None);
        assert!(first.primary);
        assert_eq!(first.preference, 100);
        assert!(!first.stale);
        assert_eq!(first.summary.as_deref(), Some("AS65002i"));
        assert_eq!(
            first.next_hops,
            vec![NextHop {
                gateway: Some(ip("172.31.11.250")),
                iface: Some("eth0".into()),
                weight: None
            }]
        );
        assert_eq!(first.attr("Type"), Some("BGP univ"));
        assert_eq!(first.attr("BGP.origin"), Some("IGP"));
        assert_eq!(first.as_path(), vec![65002]);
        assert_eq!(first.attr("BGP.next_hop"), Some("172.31.11.250"));
        assert_eq!(first.attr("BGP.local_pref"), Some("100"));
        let second = &r[1];
        assert_eq!(second.prefix, first.prefix);
        assert_eq!(second.protocol, "ra2");
        assert!(!second.primary);
        assert_eq!(second.next_hops[0].gateway, Some(ip("172.31.12.250")));
        assert_eq!(second.next_hops[0].iface.as_deref(), Some("eth1"));

        let lo = r
            .iter()
            .find(|r| r.prefix == "172.31.10.1/32".parse::<IpNet>().unwrap())
            .unwrap();
        assert_eq!(lo.kind, "blackhole");
        assert_eq!(lo.protocol, "originated");
        assert_eq!(lo.preference, 200);
        assert!(lo.next_hops.is_empty());
        assert_eq!(lo.summary, None);

        // Reflected same-rack route: `from` the ToR, next hop kept, RR attributes.
        let a2: Vec<&Route> = r
            .iter()
            .filter(|r| r.prefix == "172.31.10.2/32".parse::<IpNet>().unwrap())
            .collect();
        assert_eq!(a2.len(), 2);
        assert_eq!(a2[0].from, Some(ip("172.31.11.250")));
        assert_eq!(a2[0].summary.as_deref(), Some("i"));
        assert_eq!(a2[0].as_path(), Vec::<u32>::new());
        assert_eq!(a2[0].attr("BGP.next_hop"), Some("172.31.11.2"));
        assert_eq!(a2[0].attr("BGP.originator_id"), Some("172.31.10.2"));
        assert_eq!(a2[0].attr("BGP.cluster_list"), Some("172.31.11.250"));
        assert_eq!(a2[1].from, Some(ip("172.31.12.250")));
        assert_eq!(a2[1].next_hops[0].gateway, Some(ip("172.31.12.2")));
    }

    #[test]
    fn routes_llgr_stale() {
        // RFC 9494 §4.6: LLGR_STALE is the well-known community 65535:6.
        let r = parse_routes(include_str!("fixtures/show_route_all_llgr_stale.txt"));
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].protocol, "ra2");
        assert!(r[0].primary && !r[0].stale && !r[0].is_llgr_stale());
        assert_eq!(r[0].communities(), vec![]);
        assert_eq!(r[1].protocol, "ra1");
        assert!(!r[1].primary);
        assert!(r[1].stale);
        assert_eq!(r[1].preference, 100);
        assert_eq!(r[1].communities(), vec![(65535, 6)]);
        assert!(r[1].is_llgr_stale());
    }

    #[test]
    fn routes_not_found_is_empty() {
        assert_eq!(parse_routes("Network not found\n"), vec![]);
    }

    #[test]
    fn bfd_sessions() {
        let s = parse_bfd_sessions(include_str!("fixtures/show_bfd_sessions.txt"));
        assert_eq!(
            s,
            vec![
                BfdSession {
                    protocol: "bfd1".into(),
                    address: ip("172.31.12.250"),
                    interface: "eth1".into(),
                    state: "Up".into(),
                    since: "18:13:15.663".into(),
                    interval: Duration::from_millis(100),
                    timeout: Duration::from_millis(300),
                },
                BfdSession {
                    protocol: "bfd1".into(),
                    address: ip("172.31.11.250"),
                    interface: "eth0".into(),
                    state: "Up".into(),
                    since: "18:13:15.595".into(),
                    interval: Duration::from_millis(100),
                    timeout: Duration::from_millis(300),
                },
            ]
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for text in [
            "",
            "\t\t",
            "x",
            "Name\n  BGP state:",
            "1.2.3.4/33 unicast [",
            " unicast [a",
            "bfd1:\n1 2 3 4 5 nan",
        ] {
            let _ = parse_protocols(text);
            let _ = parse_routes(text);
            let _ = parse_bfd_sessions(text);
        }
    }
}
