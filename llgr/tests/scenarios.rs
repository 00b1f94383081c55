//! Scenario tests as step files (holo style, style rule 37).
//!
//! Each directory under `tests/scenarios/` is one scenario: a `description.md` saying what
//! it checks and from which RFC text, and steps `NN-input-<channel>.jsonl` (channels `admin`,
//! `bgp`, `time`, applied in that order) with the expected `NN-output-{fib,ribout,events,
//! stats}.jsonl`. The expected outputs are written by hand from the RFCs; a missing output
//! file means "nothing of that kind". FIB outputs are the prefixes whose next hops changed
//! in the step (the runner replays the engine's group and route changes to find them),
//! plus an optional `{"counts": {...}}` line asserting how many group and route changes
//! the engine emitted (prefix-independent convergence).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ipnet::IpNet;
use llgr::*;
use serde_json::{Value, json};

struct Runner {
    e: Option<Engine>,
    cfg: Config,
    t0: Instant,
    now: Duration,
    names: BTreeMap<String, PeerId>,
    ids: HashMap<PeerId, String>,
    fib: FibTable,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("missing string {k} in {v}"))
}

fn community(v: &Value) -> u32 {
    match v {
        Value::Number(n) => n.as_u64().unwrap() as u32,
        Value::String(x) => match x.as_str() {
            "LLGR_STALE" => LLGR_STALE,
            "NO_LLGR" => NO_LLGR,
            "NO_EXPORT" => NO_EXPORT,
            "NO_ADVERTISE" => NO_ADVERTISE,
            _ => {
                let (a, b) = x.split_once(':').expect("a:b");
                (a.parse::<u32>().unwrap() << 16) | b.parse::<u32>().unwrap()
            }
        },
        _ => panic!("bad community {v}"),
    }
}

fn community_str(c: u32) -> String {
    match c {
        LLGR_STALE => "LLGR_STALE".into(),
        NO_LLGR => "NO_LLGR".into(),
        NO_EXPORT => "NO_EXPORT".into(),
        NO_ADVERTISE => "NO_ADVERTISE".into(),
        _ => format!("{}:{}", c >> 16, c & 0xffff),
    }
}

fn family(v: &Value) -> Family {
    match v.as_str() {
        Some("ipv6") => Family::Ipv6Unicast,
        _ => Family::Ipv4Unicast,
    }
}

fn family_str(f: Family) -> &'static str {
    match f {
        Family::Ipv4Unicast => "ipv4",
        Family::Ipv6Unicast => "ipv6",
    }
}

fn prefixes(v: &Value) -> Vec<(IpNet, PathId)> {
    let pid = PathId(v["path_id"].as_u64().unwrap_or(0) as u32);
    v["prefixes"]
        .as_array()
        .expect("prefixes")
        .iter()
        .map(|p| (p.as_str().unwrap().parse().unwrap(), pid))
        .collect()
}

fn attrs(v: &Value) -> PathAttrs {
    let mut as_path = Vec::new();
    if let Some(a) = v["as_path"].as_array() {
        as_path.push(AsSegment::Sequence(
            a.iter().map(|x| x.as_u64().unwrap() as u32).collect(),
        ));
    }
    if let Some(a) = v["as_set"].as_array() {
        as_path.push(AsSegment::Set(
            a.iter().map(|x| x.as_u64().unwrap() as u32).collect(),
        ));
    }
    PathAttrs {
        origin: match v["origin"].as_str() {
            Some("egp") => Origin::Egp,
            Some("incomplete") => Origin::Incomplete,
            _ => Origin::Igp,
        },
        as_path,
        next_hop: v["next_hop"].as_str().map(|x| x.parse().unwrap()),
        link_local_next_hop: v["link_local_next_hop"]
            .as_str()
            .map(|x| x.parse().unwrap()),
        med: v["med"].as_u64().map(|x| x as u32),
        local_pref: v["local_pref"].as_u64().map(|x| x as u32),
        communities: v["communities"]
            .as_array()
            .map_or(Vec::new(), |a| a.iter().map(community).collect()),
        originator_id: v["originator_id"].as_str().map(|x| x.parse().unwrap()),
        cluster_list: v["cluster_list"].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|x| u32::from(x.as_str().unwrap().parse::<Ipv4Addr>().unwrap()))
                .collect()
        }),
        other: v["other"].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|x| RawAttr {
                    flags: x[0].as_u64().unwrap() as u8,
                    type_code: x[1].as_u64().unwrap() as u8,
                    value: Bytes::from(x[2].as_str().unwrap().as_bytes().to_vec()),
                })
                .collect()
        }),
        ..Default::default()
    }
}

fn attrs_json(a: &PathAttrs) -> Value {
    let mut o = serde_json::Map::new();
    let mut path = Vec::new();
    for seg in &a.as_path {
        match seg {
            AsSegment::Sequence(v) => path.extend(v.iter().map(|x| json!(x))),
            AsSegment::Set(v) => path.push(json!({"set": v})),
        }
    }
    o.insert("as_path".into(), json!(path));
    if let Some(nh) = a.next_hop {
        o.insert("next_hop".into(), json!(nh.to_string()));
    }
    if let Some(m) = a.med {
        o.insert("med".into(), json!(m));
    }
    if let Some(lp) = a.local_pref {
        o.insert("local_pref".into(), json!(lp));
    }
    if !a.communities.is_empty() {
        let c: Vec<String> = a.communities.iter().map(|c| community_str(*c)).collect();
        o.insert("communities".into(), json!(c));
    }
    if let Some(id) = a.originator_id {
        o.insert("originator_id".into(), json!(id.to_string()));
    }
    if !a.cluster_list.is_empty() {
        let c: Vec<String> = a
            .cluster_list
            .iter()
            .map(|c| Ipv4Addr::from(*c).to_string())
            .collect();
        o.insert("cluster_list".into(), json!(c));
    }
    if !a.other.is_empty() {
        let c: Vec<Value> = a
            .other
            .iter()
            .map(|r| json!([r.flags, r.type_code, String::from_utf8_lossy(&r.value)]))
            .collect();
        o.insert("other".into(), json!(c));
    }
    Value::Object(o)
}

impl Runner {
    fn new() -> Self {
        Runner {
            e: None,
            cfg: Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)),
            // The epoch of virtual time; the engine itself never reads the clock.
            t0: {
                #[allow(clippy::disallowed_methods)]
                Instant::now()
            },
            now: Duration::ZERO,
            names: BTreeMap::new(),
            ids: HashMap::new(),
            fib: FibTable::new(),
        }
    }

    fn engine(&mut self) -> &mut Engine {
        if self.e.is_none() {
            self.e = Some(Engine::new(self.cfg.clone()));
        }
        self.e.as_mut().unwrap()
    }

    fn peer(&self, v: &Value) -> PeerId {
        *self
            .names
            .get(s(v, "peer"))
            .unwrap_or_else(|| panic!("unknown peer in {v}"))
    }

    fn nh_str(&self, n: &NextHop) -> String {
        match n {
            NextHop::Gateway {
                gateway,
                interface: Some(i),
                peer,
            } => {
                format!("via {gateway} dev {i} peer {}", self.ids[peer])
            }
            NextHop::Gateway {
                gateway,
                interface: None,
                peer,
            } => {
                format!("via {gateway} peer {}", self.ids[peer])
            }
            NextHop::Device { interface, peer } => {
                format!("dev {interface} peer {}", self.ids[peer])
            }
            NextHop::Blackhole => "blackhole".into(),
        }
    }

    fn input(&mut self, v: &Value) {
        let t = self.t0 + self.now;
        match s(v, "op") {
            "config" => {
                assert!(self.e.is_none(), "config must come first");
                if let Some(a) = v["local_as"].as_u64() {
                    self.cfg.local_as = a as u32;
                }
                if let Some(a) = v["router_id"].as_str() {
                    self.cfg.router_id = a.parse().unwrap();
                }
                if let Some(a) = v["cluster_id"].as_str() {
                    self.cfg.cluster_id = Some(u32::from(a.parse::<Ipv4Addr>().unwrap()));
                }
                if let Some(a) = v["local_addresses"].as_array() {
                    self.cfg.local_addresses = a
                        .iter()
                        .map(|x| x.as_str().unwrap().parse().unwrap())
                        .collect();
                }
                if let Some(a) = v["ecmp_limit"].as_u64() {
                    self.cfg.ecmp_limit = a as usize;
                }
                if let Some(a) = v["always_compare_med"].as_bool() {
                    self.cfg.always_compare_med = a;
                }
                if let Some(a) = v["llgr_stale_time_bounds"].as_array() {
                    let b = |i: usize| Duration::from_secs(a[i].as_u64().unwrap());
                    self.cfg.llgr_stale_time_bounds = (b(0), b(1));
                }
                if let Some(a) = v["restart_time_bounds"].as_array() {
                    let b = |i: usize| Duration::from_secs(a[i].as_u64().unwrap());
                    self.cfg.restart_time_bounds = (b(0), b(1));
                }
                if let Some(a) = v["stale_upper_bound"].as_u64() {
                    self.cfg.stale_upper_bound = Some(Duration::from_secs(a));
                }
            }
            "peer" => {
                let address: IpAddr = s(v, "address").parse().unwrap();
                let mut p = Peer::new(
                    address,
                    v["asn"].as_u64().unwrap() as u32,
                    v["router_id"]
                        .as_str()
                        .unwrap_or("1.1.1.1")
                        .parse()
                        .unwrap(),
                );
                p.internal = v["internal"].as_bool().unwrap_or(false);
                p.rr_client = v["rr_client"].as_bool().unwrap_or(false);
                p.interface = v["interface"].as_u64().map(|x| x as u32);
                p.connected = v["connected"].as_array().map_or(Vec::new(), |a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap().parse().unwrap())
                        .collect()
                });
                p.gateway_mode = match v["gateway"].as_str() {
                    Some("direct") => GatewayMode::Direct,
                    _ => GatewayMode::Recursive,
                };
                p.allowed_local_as = v["allowed_local_as"].as_u64().unwrap_or(0) as u8;
                p.prefix_limit = v["prefix_limit"].as_u64().map(|x| x as u32);
                p.export = match v["export"].as_str() {
                    Some("transit") => ExportPolicy::Transit,
                    _ => ExportPolicy::LocalOnly,
                };
                p.next_hop_mode = match v["next_hop_mode"].as_str() {
                    Some("self") => NextHopMode::Self_,
                    Some("keep") => NextHopMode::Keep,
                    _ => NextHopMode::Auto,
                };
                p.llgr = v["llgr"].as_bool().unwrap_or(false);
                p.notification_gr = v["notification_gr"].as_bool().unwrap_or(false);
                let id = self.engine().add_peer(p);
                let name = s(v, "name").to_string();
                self.names.insert(name.clone(), id);
                self.ids.insert(id, name);
            }
            "remove_peer" => {
                let p = self.peer(v);
                self.engine().remove_peer(t, p);
            }
            "up" => {
                let p = self.peer(v);
                let fams: Vec<Family> = v["families"]
                    .as_array()
                    .map_or(vec![Family::Ipv4Unicast], |a| {
                        a.iter().map(family).collect()
                    });
                let fwd = v["forwarding"].as_bool().unwrap_or(true);
                let gr = v["gr"].as_bool().unwrap_or(true).then(|| GrCapability {
                    restart_time: v["restart_time"].as_u64().unwrap_or(120) as u16,
                    notification: v["n_bit"].as_bool().unwrap_or(false),
                    restart_state: false,
                    families: fams
                        .iter()
                        .map(|&family| GrFamily {
                            family,
                            forwarding: fwd,
                        })
                        .collect(),
                });
                let llgr_fams: Vec<Family> = v["llgr_families"]
                    .as_array()
                    .map_or(fams.clone(), |a| a.iter().map(family).collect());
                let llgr_fwd = v["llgr_forwarding"].as_bool().unwrap_or(fwd);
                let llgr = match v["llgr_stale_time"].as_u64() {
                    Some(st) => Some(
                        llgr_fams
                            .iter()
                            .map(|&family| LlgrFamily {
                                family,
                                forwarding: llgr_fwd,
                                stale_time: st as u32,
                            })
                            .collect(),
                    ),
                    None => v["llgr_aware"].as_bool().unwrap_or(false).then(Vec::new),
                };
                let params = SessionParams {
                    router_id: None,
                    local_address: v["local_address"].as_str().map(|x| x.parse().unwrap()),
                    gr,
                    llgr,
                };
                self.engine().handle_session_up(t, p, params);
            }
            "down" => {
                let p = self.peer(v);
                let reason = match &v["reason"] {
                    Value::String(r) => match r.as_str() {
                        "transport_failure" => DownReason::TransportFailure,
                        "hold_timer_expired" => DownReason::HoldTimerExpired,
                        "declared_graceful" => DownReason::DeclaredGraceful,
                        "administrative" => DownReason::Administrative,
                        x => panic!("bad reason {x}"),
                    },
                    o => {
                        let n = &o["notification_received"];
                        DownReason::NotificationReceived {
                            code: n[0].as_u64().unwrap() as u8,
                            subcode: n[1].as_u64().unwrap() as u8,
                        }
                    }
                };
                self.engine().handle_session_down(t, p, reason);
            }
            "update" => {
                let p = self.peer(v);
                let a = attrs(v);
                let ann = prefixes(v);
                self.engine().handle_update(t, p, &ann, a, &[]);
            }
            "withdraw" => {
                let p = self.peer(v);
                let w = prefixes(v);
                self.engine()
                    .handle_update(t, p, &[], PathAttrs::default(), &w);
            }
            "treat_as_withdraw" => {
                let p = self.peer(v);
                let w = prefixes(v);
                self.engine().handle_treat_as_withdraw(t, p, &w);
            }
            "eor" => {
                let p = self.peer(v);
                let f = family(&v["family"]);
                self.engine().handle_end_of_rib(t, p, f);
            }
            "advance" => {
                self.now += Duration::from_secs(v["secs"].as_u64().unwrap());
                let t = self.t0 + self.now;
                // Like a runtime: fire every deadline reached, in order.
                while let Some(d) = self.engine().poll_timeout() {
                    if d > t {
                        break;
                    }
                    self.engine().handle_timeout(d);
                }
                self.engine().handle_timeout(t);
            }
            "originate" => {
                let r = LocalRoute {
                    blackhole: v["blackhole"].as_bool().unwrap_or(false),
                    communities: v["communities"]
                        .as_array()
                        .map_or(Vec::new(), |a| a.iter().map(community).collect()),
                    large_communities: Vec::new(),
                };
                let p = s(v, "prefix").parse().unwrap();
                self.engine().originate(p, r);
            }
            "withdraw_local" => {
                let p = s(v, "prefix").parse().unwrap();
                self.engine().withdraw_local(p);
            }
            "igp" => {
                let p: IpNet = s(v, "prefix").parse().unwrap();
                let r = v["metric"].as_u64().map(|m| IgpRoute {
                    metric: m as u32,
                    nexthops: vec![(
                        v["via"].as_str().map(|x| x.parse().unwrap()),
                        v["dev"].as_u64().unwrap() as u32,
                    )],
                });
                self.engine().set_igp_route(p, r);
            }
            "connected" => {
                let nets = v["subnets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().parse().unwrap())
                    .collect();
                let i = v["interface"].as_u64().unwrap() as u32;
                self.engine().set_connected(i, nets);
            }
            x => panic!("unknown op {x}"),
        }
    }

    /// Apply the engine's FIB output; return the effective per-prefix changes and counts.
    fn fib_step(&mut self) -> (BTreeSet<String>, Value) {
        let before = self.fib.snapshot();
        let changes = self.engine().poll_fib();
        let n = match self.fib.apply_all(changes) {
            Ok(n) => n,
            Err(e) => panic!("engine output breaks a FIB invariant: {e}"),
        };
        let after = self.fib.snapshot();
        assert_eq!(
            after,
            self.engine().fib_snapshot(),
            "replayed FIB differs from the engine's"
        );
        let keys: BTreeSet<IpNet> = before.keys().chain(after.keys()).copied().collect();
        let mut out = BTreeSet::new();
        for k in keys {
            if before.get(&k) != after.get(&k) {
                let nhs: Vec<String> = after
                    .get(&k)
                    .map_or(Vec::new(), |v| v.iter().map(|n| self.nh_str(n)).collect());
                out.insert(json!({"prefix": k.to_string(), "nexthops": nhs}).to_string());
            }
        }
        let counts = json!({"groups_added": n.groups_added, "groups_changed": n.groups_changed, "groups_removed": n.groups_removed, "routes": n.routes});
        (out, counts)
    }

    fn ribout_step(&mut self) -> BTreeSet<String> {
        let changes = self.engine().poll_rib_out();
        changes
            .iter()
            .map(|c| {
                let mut v = match &c.attrs {
                    Some(a) => attrs_json(a),
                    None => json!({"withdraw": true}),
                };
                v["peer"] = json!(self.ids[&c.peer]);
                v["prefix"] = json!(c.prefix.to_string());
                v.to_string()
            })
            .collect()
    }

    fn events_step(&mut self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        while let Some(ev) = self.engine().poll_event() {
            let v = match ev {
                Event::EnteredGr {
                    peer,
                    families,
                    restart_time,
                    stale_routes,
                } => json!({
                    "event": "entered_gr", "peer": self.ids[&peer],
                    "families": families.iter().map(|f| family_str(*f)).collect::<Vec<_>>(),
                    "restart_time": restart_time.as_secs(), "stale_routes": stale_routes}),
                Event::EnteredLlgr {
                    peer,
                    family,
                    stale_time,
                    stale_routes,
                } => json!({
                    "event": "entered_llgr", "peer": self.ids[&peer], "family": family_str(family),
                    "stale_time": stale_time.as_secs(), "stale_routes": stale_routes}),
                Event::StaleSwept {
                    peer,
                    family,
                    reason,
                    routes,
                } => json!({
                    "event": "stale_swept", "peer": self.ids[&peer], "family": family_str(family),
                    "reason": format!("{reason:?}"), "routes": routes}),
                Event::RoutesFlushed {
                    peer,
                    family,
                    routes,
                } => json!({
                    "event": "routes_flushed", "peer": self.ids[&peer], "family": family_str(family),
                    "routes": routes}),
                Event::PrefixLimitExceeded { peer, limit } => json!({
                    "event": "prefix_limit_exceeded", "peer": self.ids[&peer], "limit": limit}),
                other => panic!("unexpected event {other:?}"),
            };
            out.insert(v.to_string());
        }
        out
    }
}

fn read_lines(p: &Path) -> Vec<Value> {
    let Ok(text) = fs::read_to_string(p) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", p.display())))
        .collect()
}

fn canon(vals: Vec<Value>) -> BTreeSet<String> {
    vals.into_iter().map(|v| v.to_string()).collect()
}

fn run(dir: &Path) {
    assert!(
        dir.join("description.md").exists(),
        "{}: no description.md",
        dir.display()
    );
    let mut steps: BTreeSet<String> = BTreeSet::new();
    for f in fs::read_dir(dir).unwrap() {
        let name = f.unwrap().file_name().into_string().unwrap();
        if let Some((n, _)) = name.split_once('-')
            && n.chars().all(|c| c.is_ascii_digit())
        {
            steps.insert(n.to_string());
        }
    }
    let mut r = Runner::new();
    for step in steps {
        for ch in ["admin", "bgp", "time"] {
            for v in read_lines(&dir.join(format!("{step}-input-{ch}.jsonl"))) {
                r.input(&v);
            }
        }
        let ctx = format!("{} step {step}", dir.display());
        // FIB.
        let (fib, counts) = r.fib_step();
        let mut want_fib = Vec::new();
        for v in read_lines(&dir.join(format!("{step}-output-fib.jsonl"))) {
            if let Some(c) = v.get("counts") {
                for (k, want) in c.as_object().unwrap() {
                    assert_eq!(
                        &counts[k], want,
                        "{ctx}: FIB change count {k} (all: {counts})"
                    );
                }
            } else {
                want_fib.push(v);
            }
        }
        assert_eq!(fib, canon(want_fib), "{ctx}: FIB changes");
        // Adj-RIB-Out.
        let want = canon(read_lines(&dir.join(format!("{step}-output-ribout.jsonl"))));
        assert_eq!(r.ribout_step(), want, "{ctx}: Adj-RIB-Out changes");
        // Events.
        let want = canon(read_lines(&dir.join(format!("{step}-output-events.jsonl"))));
        assert_eq!(r.events_step(), want, "{ctx}: events");
        // Counters (cumulative, only the named ones).
        for v in read_lines(&dir.join(format!("{step}-output-stats.jsonl"))) {
            let st = format!("{:?}", r.engine().stats());
            for (k, want) in v.as_object().unwrap() {
                let pat = format!("{k}: {want}");
                assert!(st.contains(&pat), "{ctx}: stats want {pat}, have {st}");
            }
        }
    }
}

#[test]
fn scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    let only = std::env::var("LLGR_SCENARIO").ok();
    let mut failed = Vec::new();
    for d in &dirs {
        if only.as_ref().is_some_and(|o| !d.ends_with(o)) {
            continue;
        }
        let res = std::panic::catch_unwind(|| run(d));
        if res.is_err() {
            failed.push(d.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
