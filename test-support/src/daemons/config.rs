//! Typed BGP configuration rendered to BIRD 2, FRR and GoBGP syntax.
//!
//! One [`Router`] value describes a BGP speaker: its AS and router ID, its neighbours
//! ([`Neighbor`]: addresses, AS, GR/LLGR, BFD, route reflection, next-hop handling,
//! gateway mode, TCP MD5 password, import/export policy), the prefixes it originates,
//! and whether it installs its best routes (ECMP-merged) in the kernel. The renderers
//! emit the dialect each daemon version here accepts (BIRD 2.0.12, FRR 8.4.4,
//! GoBGP 3.10); what a daemon cannot express is said on the field.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::Ipv4Net;

/// A BGP speaker. Build with [`Router::new`] and set fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Router {
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Local AS.
    pub asn: u32,
    /// Sessions.
    pub neighbors: Vec<Neighbor>,
    /// Prefixes originated (as blackhole static routes in BIRD/FRR, as locally added
    /// paths in GoBGP) and exported to neighbours whose policy is
    /// [`Policy::All`] or [`Policy::Originated`].
    pub originate: Vec<Ipv4Net>,
    /// Install BGP routes in the namespace's kernel table, merging equal paths into
    /// ECMP routes (BIRD `merge paths on`; FRR through zebra with `maximum-paths`).
    /// GoBGP has no FIB: ignored there.
    pub kernel_ecmp: bool,
    /// Text appended verbatim to the rendered config (escape hatch, per dialect).
    pub extra: String,
}

impl Router {
    /// A router with no neighbours, no originated prefixes and kernel ECMP on.
    pub fn new(router_id: Ipv4Addr, asn: u32) -> Router {
        Router {
            router_id,
            asn,
            neighbors: Vec::new(),
            originate: Vec::new(),
            kernel_ecmp: true,
            extra: String::new(),
        }
    }
}

/// Which routes a session imports or exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Everything.
    #[default]
    All,
    /// Nothing.
    None,
    /// Only the router's own [`Router::originate`] prefixes (export only; as `All`
    /// on import).
    Originated,
}

/// How the BGP next hop is set on routes sent to this neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHop {
    /// The daemon's default (self for eBGP, unchanged for iBGP).
    #[default]
    Default,
    /// Always this router.
    Self_,
    /// Never changed.
    Keep,
    /// Unchanged for routes learned over iBGP (reflected), self for routes learned
    /// over eBGP: what a ToR that is also its rack's route reflector needs with BIRD 2
    /// (lab.md pitfall 2).
    KeepIbgpSelfEbgp,
}

/// How BIRD computes the kernel gateway from the BGP next hop (BIRD only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gateway {
    /// The daemon's default (BIRD: direct for eBGP, recursive for iBGP).
    #[default]
    Default,
    /// The next hop must be on a directly connected subnet (Calico's
    /// `birdGatewayMode: DirectIfDirectlyConnected`).
    Direct,
    /// Resolve the next hop through the routing table.
    Recursive,
}

/// Graceful Restart (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart time advertised, seconds (0 goes straight to LLGR when LLGR is on).
    pub restart_time: u16,
}

/// Long-Lived Graceful Restart (RFC 9494).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Llgr {
    /// Long-lived stale time, seconds.
    pub stale_time: u32,
}

/// BFD for the session (RFC 5880/5881, single hop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bfd {
    /// Required minimum receive interval.
    pub min_rx: Duration,
    /// Desired minimum transmit interval.
    pub min_tx: Duration,
    /// Detection multiplier.
    pub multiplier: u8,
    /// BFD Down starts (LL)GR handling instead of a hard reset (BIRD `bfd graceful`;
    /// FRR `neighbor X bfd check-control-plane-failure` is the closest and is not
    /// rendered; GoBGP has no BFD: the whole struct is ignored there).
    pub graceful: bool,
}

impl Bfd {
    /// `interval` for both directions, multiplier 3, not graceful.
    pub fn with_interval(interval: Duration) -> Bfd {
        Bfd {
            min_rx: interval,
            min_tx: interval,
            multiplier: 3,
            graceful: false,
        }
    }
}

/// One BGP session. Build with [`Neighbor::new`] and set fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Neighbor {
    /// Name (BIRD protocol name, FRR/GoBGP description); `[A-Za-z0-9_]` only.
    pub name: String,
    /// The peer's address.
    pub peer_addr: Ipv4Addr,
    /// The peer's AS (equal to [`Router::asn`] for iBGP).
    pub peer_as: u32,
    /// Source address for the TCP session (`None`: the kernel picks).
    pub local_addr: Option<Ipv4Addr>,
    /// Single-hop session to a directly connected peer (BIRD `direct`; FRR/GoBGP
    /// default for eBGP). When false, eBGP sessions are rendered multihop (BIRD
    /// `multihop`, FRR `ebgp-multihop 255`, GoBGP `ebgp-multihop`); iBGP is multihop
    /// by nature.
    pub direct: bool,
    /// Hold time, seconds (`None`: the daemon's default).
    pub hold_time: Option<u16>,
    /// Graceful Restart capability.
    pub graceful_restart: Option<GracefulRestart>,
    /// LLGR capability (needs `graceful_restart` in every daemon here).
    pub llgr: Option<Llgr>,
    /// BFD.
    pub bfd: Option<Bfd>,
    /// The peer is a route-reflector client of this router.
    pub rr_client: bool,
    /// Next-hop handling on export.
    pub next_hop: NextHop,
    /// Gateway computation (BIRD).
    pub gateway: Gateway,
    /// TCP MD5 signature password (RFC 2385).
    pub password: Option<String>,
    /// Import policy.
    pub import: Policy,
    /// Export policy.
    pub export: Policy,
    /// Only accept connections, never connect.
    pub passive: bool,
    /// Seconds between connection attempts (BIRD `connect retry time`, default 120;
    /// FRR `timers connect`; GoBGP `connect-retry`).
    pub connect_retry_time: Option<u16>,
    /// Seconds before the first connection attempt (BIRD `connect delay time`,
    /// default 5; BIRD only).
    pub connect_delay_time: Option<u16>,
    /// BIRD `error wait time min,max` (default 60,300; Calico uses 5,30): how long a
    /// session that failed stays idle before restarting (BIRD only).
    pub error_wait_time: Option<(u16, u16)>,
}

impl Neighbor {
    /// A session with every option at its default: active, multihop-capable, no
    /// GR/LLGR/BFD/MD5, import and export all.
    pub fn new(name: &str, peer_addr: Ipv4Addr, peer_as: u32) -> Neighbor {
        Neighbor {
            name: name.to_owned(),
            peer_addr,
            peer_as,
            local_addr: None,
            direct: false,
            hold_time: None,
            graceful_restart: None,
            llgr: None,
            bfd: None,
            rr_client: false,
            next_hop: NextHop::Default,
            gateway: Gateway::Default,
            password: None,
            import: Policy::All,
            export: Policy::All,
            passive: false,
            connect_retry_time: None,
            connect_delay_time: None,
            error_wait_time: None,
        }
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Renders `r` as a BIRD 2 config (tested with 2.0.12).
///
/// BIRD refuses a multihop session (iBGP, or eBGP without [`Neighbor::direct`]) with
/// BFD but no [`Neighbor::local_addr`], and `gateway direct` with multihop (lab.md
/// pitfall 3); [`validate_bird`] reports such combinations.
///
/// Originated prefixes are a `protocol static originated` of blackholes; the kernel
/// protocol exports only BGP routes (so the blackholes stay out of the FIB) with
/// `merge paths on`.
pub fn to_bird(r: &Router) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "router id {};", r.router_id);
    let _ = writeln!(s, "protocol device {{ scan time 10; }}");
    if r.kernel_ecmp {
        let _ = writeln!(
            s,
            "protocol kernel {{ ipv4 {{ import none; export where source = RTS_BGP; }}; merge paths on; }}"
        );
    }
    let _ = writeln!(s, "protocol static originated {{");
    let _ = writeln!(s, "  ipv4;");
    for p in &r.originate {
        let _ = writeln!(s, "  route {p} blackhole;");
    }
    let _ = writeln!(s, "}}");
    if r.neighbors.iter().any(|n| n.bfd.is_some()) {
        let _ = writeln!(s, "protocol bfd {{ }}");
    }
    let policy = |p: Policy, export: bool| match p {
        Policy::All => "all",
        Policy::None => "none",
        Policy::Originated if export => "where proto = \"originated\"",
        Policy::Originated => "all",
    };
    for n in &r.neighbors {
        let _ = writeln!(s, "protocol bgp {} {{", n.name);
        match n.local_addr {
            Some(a) => {
                let _ = writeln!(s, "  local {a} as {};", r.asn);
            }
            None => {
                let _ = writeln!(s, "  local as {};", r.asn);
            }
        }
        let _ = writeln!(s, "  neighbor {} as {};", n.peer_addr, n.peer_as);
        if n.direct {
            let _ = writeln!(s, "  direct;");
        } else if n.peer_as != r.asn {
            let _ = writeln!(s, "  multihop;");
        }
        if n.passive {
            let _ = writeln!(s, "  passive on;");
        }
        if let Some(h) = n.hold_time {
            let _ = writeln!(s, "  hold time {h};");
        }
        if let Some(t) = n.connect_retry_time {
            let _ = writeln!(s, "  connect retry time {t};");
        }
        if let Some(t) = n.connect_delay_time {
            let _ = writeln!(s, "  connect delay time {t};");
        }
        if let Some((lo, hi)) = n.error_wait_time {
            let _ = writeln!(s, "  error wait time {lo},{hi};");
        }
        if let Some(pw) = &n.password {
            let _ = writeln!(s, "  password \"{pw}\";");
        }
        if let Some(b) = n.bfd {
            let _ = writeln!(
                s,
                "  bfd {{ {}min rx interval {} ms; min tx interval {} ms; multiplier {}; }};",
                if b.graceful { "graceful; " } else { "" },
                ms(b.min_rx),
                ms(b.min_tx),
                b.multiplier
            );
        }
        if let Some(gr) = n.graceful_restart {
            let _ = writeln!(
                s,
                "  graceful restart on; graceful restart time {};",
                gr.restart_time
            );
        } else if n.llgr.is_none() {
            let _ = writeln!(s, "  graceful restart off;");
        }
        if let Some(l) = n.llgr {
            if n.graceful_restart.is_none() {
                let _ = writeln!(s, "  graceful restart on; graceful restart time 0;");
            }
            let _ = writeln!(
                s,
                "  long lived graceful restart on; long lived stale time {};",
                l.stale_time
            );
        }
        if n.rr_client {
            let _ = writeln!(s, "  rr client;");
        }
        let _ = write!(
            s,
            "  ipv4 {{ import {}; export {};",
            policy(n.import, false),
            policy(n.export, true)
        );
        match n.gateway {
            Gateway::Default => {}
            Gateway::Direct => s.push_str(" gateway direct;"),
            Gateway::Recursive => s.push_str(" gateway recursive;"),
        }
        match n.next_hop {
            NextHop::Default => {}
            NextHop::Self_ => s.push_str(" next hop self;"),
            NextHop::Keep => s.push_str(" next hop keep;"),
            NextHop::KeepIbgpSelfEbgp => s.push_str(" next hop keep ibgp; next hop self ebgp;"),
        }
        let _ = writeln!(s, " }};");
        let _ = writeln!(s, "}}");
    }
    s.push_str(&r.extra);
    s
}

/// Renders `r` as an integrated FRR config (tested with 8.4.4; apply with
/// [`Frr::start`](super::Frr::start), which runs zebra, bgpd, bfdd and staticd).
///
/// Originated prefixes are `ip route <p> blackhole` (staticd) plus `network <p>`;
/// [`Policy::None`] and [`Policy::Originated`] become route-maps; BFD timers become a
/// `bfd profile`; [`NextHop::KeepIbgpSelfEbgp`] is FRR's `next-hop-self` (which leaves
/// reflected routes alone); [`Gateway`] has no FRR equivalent.
pub fn to_frr(r: &Router) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "frr defaults datacenter");
    for p in &r.originate {
        let _ = writeln!(s, "ip route {p} blackhole");
    }
    let _ = writeln!(s, "ip prefix-list ORIGINATED seq 5 deny any");
    for (i, p) in r.originate.iter().enumerate() {
        let _ = writeln!(s, "ip prefix-list ORIGINATED seq {} permit {p}", 10 + i);
    }
    let _ = writeln!(s, "route-map ORIGINATED permit 10");
    let _ = writeln!(s, " match ip address prefix-list ORIGINATED");
    let _ = writeln!(s, "exit");
    let _ = writeln!(s, "route-map NONE deny 10");
    let _ = writeln!(s, "exit");
    let _ = writeln!(s, "route-map ALL permit 10");
    let _ = writeln!(s, "exit");
    let bfds: Vec<&Neighbor> = r.neighbors.iter().filter(|n| n.bfd.is_some()).collect();
    if !bfds.is_empty() {
        let _ = writeln!(s, "bfd");
        for n in &bfds {
            let b = n.bfd.expect("filtered");
            let _ = writeln!(s, " profile {}", n.name);
            let _ = writeln!(s, "  receive-interval {}", ms(b.min_rx));
            let _ = writeln!(s, "  transmit-interval {}", ms(b.min_tx));
            let _ = writeln!(s, "  detect-multiplier {}", b.multiplier);
            let _ = writeln!(s, " exit");
        }
        let _ = writeln!(s, "exit");
    }
    let _ = writeln!(s, "router bgp {}", r.asn);
    let _ = writeln!(s, " bgp router-id {}", r.router_id);
    let _ = writeln!(s, " no bgp ebgp-requires-policy");
    let _ = writeln!(s, " no bgp default ipv4-unicast");
    let _ = writeln!(s, " bgp bestpath as-path multipath-relax");
    if r.neighbors
        .iter()
        .any(|n| n.graceful_restart.is_some() || n.llgr.is_some())
    {
        // LLGR alone means GR restart time 0, as BIRD and GoBGP render it: FRR's
        // default of 120 s would have peers keep our routes GR-stale in their ECMP
        // sets for two minutes before LLGR demotes them (RFC 4724 §4.2, RFC 9494 §4.3).
        let t = r
            .neighbors
            .iter()
            .find_map(|n| n.graceful_restart)
            .map_or(0, |g| g.restart_time);
        let _ = writeln!(s, " bgp graceful-restart");
        let _ = writeln!(s, " bgp graceful-restart restart-time {t}");
    }
    if let Some(l) = r.neighbors.iter().find_map(|n| n.llgr) {
        let _ = writeln!(
            s,
            " bgp long-lived-graceful-restart stale-time {}",
            l.stale_time
        );
    }
    for n in &r.neighbors {
        let a = n.peer_addr;
        let _ = writeln!(s, " neighbor {a} remote-as {}", n.peer_as);
        let _ = writeln!(s, " neighbor {a} description {}", n.name);
        if let Some(l) = n.local_addr {
            let _ = writeln!(s, " neighbor {a} update-source {l}");
        }
        if !n.direct && n.peer_as != r.asn {
            let _ = writeln!(s, " neighbor {a} ebgp-multihop 255");
        }
        if let Some(h) = n.hold_time {
            let _ = writeln!(s, " neighbor {a} timers {} {h}", (h / 3).max(1));
        }
        if let Some(pw) = &n.password {
            let _ = writeln!(s, " neighbor {a} password {pw}");
        }
        if n.passive {
            let _ = writeln!(s, " neighbor {a} passive");
        }
        if n.bfd.is_some() {
            let _ = writeln!(s, " neighbor {a} bfd");
            let _ = writeln!(s, " neighbor {a} bfd profile {}", n.name);
        }
    }
    let _ = writeln!(s, " address-family ipv4 unicast");
    for p in &r.originate {
        let _ = writeln!(s, "  network {p}");
    }
    if r.kernel_ecmp {
        let _ = writeln!(s, "  maximum-paths 16");
        let _ = writeln!(s, "  maximum-paths ibgp 16");
    }
    let map = |p: Policy| match p {
        Policy::All => "ALL",
        Policy::None => "NONE",
        Policy::Originated => "ORIGINATED",
    };
    for n in &r.neighbors {
        let a = n.peer_addr;
        let _ = writeln!(s, "  neighbor {a} activate");
        if n.rr_client {
            let _ = writeln!(s, "  neighbor {a} route-reflector-client");
        }
        match n.next_hop {
            NextHop::Default | NextHop::Keep if n.peer_as == r.asn => {}
            NextHop::Default => {}
            NextHop::Keep => {
                let _ = writeln!(s, "  neighbor {a} attribute-unchanged next-hop");
            }
            NextHop::Self_ => {
                let _ = writeln!(s, "  neighbor {a} next-hop-self force");
            }
            NextHop::KeepIbgpSelfEbgp => {
                let _ = writeln!(s, "  neighbor {a} next-hop-self");
            }
        }
        let import = if n.import == Policy::Originated {
            Policy::All
        } else {
            n.import
        };
        let _ = writeln!(s, "  neighbor {a} route-map {} in", map(import));
        let _ = writeln!(s, "  neighbor {a} route-map {} out", map(n.export));
    }
    let _ = writeln!(s, " exit-address-family");
    // After the address family: set earlier, FRR 8.4 resets the half-configured peer
    // and its first BGP_Start fails ("Failure handling event BGP_Start in state Idle"),
    // leaving it Idle (refusing connections) for seconds.
    for n in &r.neighbors {
        if let Some(t) = n.connect_retry_time {
            let _ = writeln!(s, " neighbor {} timers connect {t}", n.peer_addr);
        }
    }
    let _ = writeln!(s, "exit");
    s.push_str(&r.extra);
    s
}

/// Renders `r` as a GoBGP TOML config (tested with 3.10).
///
/// GoBGP has no BFD and no FIB: [`Neighbor::bfd`], [`Neighbor::gateway`] and
/// [`Router::kernel_ecmp`] are ignored. Originated prefixes are not part of the TOML:
/// [`Gobgp::start`](super::Gobgp::start) adds them with `gobgp global rib add`.
/// [`Neighbor::next_hop`] is not rendered (GoBGP keeps iBGP next hops and sets self on
/// eBGP by default; anything else needs a policy, via [`Router::extra`]), and
/// [`Policy::Originated`] exports everything.
pub fn to_gobgp(r: &Router) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "[global.config]");
    let _ = writeln!(s, "  as = {}", r.asn);
    let _ = writeln!(s, "  router-id = \"{}\"", r.router_id);
    for n in &r.neighbors {
        let _ = writeln!(s, "\n[[neighbors]]");
        let _ = writeln!(s, "  [neighbors.config]");
        let _ = writeln!(s, "    neighbor-address = \"{}\"", n.peer_addr);
        let _ = writeln!(s, "    peer-as = {}", n.peer_as);
        let _ = writeln!(s, "    description = \"{}\"", n.name);
        if let Some(pw) = &n.password {
            let _ = writeln!(s, "    auth-password = \"{pw}\"");
        }
        if let Some(h) = n.hold_time {
            let _ = writeln!(s, "  [neighbors.timers.config]");
            let _ = writeln!(s, "    hold-time = {h}");
            let _ = writeln!(s, "    keepalive-interval = {}", (h / 3).max(1));
        }
        if let Some(t) = n.connect_retry_time {
            if n.hold_time.is_none() {
                let _ = writeln!(s, "  [neighbors.timers.config]");
            }
            let _ = writeln!(s, "    connect-retry = {t}");
        }
        let _ = writeln!(s, "  [neighbors.transport.config]");
        if let Some(l) = n.local_addr {
            let _ = writeln!(s, "    local-address = \"{l}\"");
        }
        let _ = writeln!(s, "    passive-mode = {}", n.passive);
        if !n.direct && n.peer_as != r.asn {
            let _ = writeln!(s, "  [neighbors.ebgp-multihop.config]");
            let _ = writeln!(s, "    enabled = true");
            let _ = writeln!(s, "    multihop-ttl = 255");
        }
        if n.rr_client {
            let _ = writeln!(s, "  [neighbors.route-reflector.config]");
            let _ = writeln!(s, "    route-reflector-client = true");
            let _ = writeln!(s, "    route-reflector-cluster-id = \"{}\"", r.router_id);
        }
        if n.graceful_restart.is_some() || n.llgr.is_some() {
            let _ = writeln!(s, "  [neighbors.graceful-restart.config]");
            let _ = writeln!(s, "    enabled = true");
            let t = n.graceful_restart.map_or(0, |g| g.restart_time);
            let _ = writeln!(s, "    restart-time = {t}");
            if n.llgr.is_some() {
                let _ = writeln!(s, "    long-lived-enabled = true");
            }
        }
        let _ = writeln!(s, "  [[neighbors.afi-safis]]");
        let _ = writeln!(s, "    [neighbors.afi-safis.config]");
        let _ = writeln!(s, "      afi-safi-name = \"ipv4-unicast\"");
        if n.graceful_restart.is_some() || n.llgr.is_some() {
            let _ = writeln!(s, "    [neighbors.afi-safis.mp-graceful-restart.config]");
            let _ = writeln!(s, "      enabled = true");
        }
        if let Some(l) = n.llgr {
            let _ = writeln!(
                s,
                "    [neighbors.afi-safis.long-lived-graceful-restart.config]"
            );
            let _ = writeln!(s, "      enabled = true");
            let _ = writeln!(s, "      restart-time = {}", l.stale_time);
        }
        let import = match n.import {
            Policy::None => "reject-route",
            _ => "accept-route",
        };
        let export = match n.export {
            Policy::None => "reject-route",
            _ => "accept-route",
        };
        let _ = writeln!(s, "  [neighbors.apply-policy.config]");
        let _ = writeln!(s, "    default-import-policy = \"{import}\"");
        let _ = writeln!(s, "    default-export-policy = \"{export}\"");
    }
    s.push_str(&r.extra);
    s
}

fn validate(program: &str, args: &[&str], ext: &str, text: &str) -> crate::Result<()> {
    let dir = tempfile::tempdir().map_err(|e| crate::Error::io("creating temp dir", e))?;
    let path = dir.path().join(format!("check.{ext}"));
    std::fs::write(&path, text).map_err(|e| crate::Error::io("writing config", e))?;
    let mut cmd = std::process::Command::new(crate::exec::program(program));
    for a in args {
        if *a == "{}" {
            cmd.arg(&path);
        } else {
            cmd.arg(a);
        }
    }
    let out = crate::exec::output(&mut cmd).map_err(|e| match e {
        crate::Error::Command {
            cmd,
            status,
            stderr,
        } => crate::Error::Command {
            cmd,
            status,
            stderr: format!("{stderr}\n--- config ---\n{text}"),
        },
        other => other,
    })?;
    drop(out);
    Ok(())
}

/// Checks a BIRD 2 config with `bird -p -c` (parse only; needs no root).
pub fn validate_bird(text: &str) -> crate::Result<()> {
    validate("bird", &["-p", "-c", "{}"], "conf", text)
}

/// Checks an integrated FRR config with `vtysh -C -f` (dry run; needs no daemons).
pub fn validate_frr(text: &str) -> crate::Result<()> {
    validate("vtysh", &["-C", "-f", "{}"], "conf", text)
}

/// Checks a GoBGP TOML config with `gobgpd -d` (dry run).
pub fn validate_gobgp(text: &str) -> crate::Result<()> {
    validate("gobgpd", &["-d", "-t", "toml", "-f", "{}"], "toml", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Router {
        let mut r = Router::new(Ipv4Addr::new(172, 31, 10, 1), 65001);
        r.originate = vec!["172.31.10.1/32".parse().unwrap()];
        let mut n = Neighbor::new("ra1", Ipv4Addr::new(172, 31, 11, 250), 65001);
        n.direct = true;
        n.bfd = Some(Bfd::with_interval(Duration::from_millis(100)));
        n.llgr = Some(Llgr { stale_time: 3600 });
        n.gateway = Gateway::Direct;
        n.export = Policy::Originated;
        n.password = Some("pw".into());
        r.neighbors.push(n);
        r
    }

    #[test]
    fn bird_rendering_of_a_calico_like_node() {
        // Written by hand from lab.md pitfalls 1-4 (BIRD 2 channel syntax, direct,
        // LLGR with GR time 0, per-session BFD options).
        let want = "\
router id 172.31.10.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; merge paths on; }
protocol static originated {
  ipv4;
  route 172.31.10.1/32 blackhole;
}
protocol bfd { }
protocol bgp ra1 {
  local as 65001;
  neighbor 172.31.11.250 as 65001;
  direct;
  password \"pw\";
  bfd { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
  graceful restart on; graceful restart time 0;
  long lived graceful restart on; long lived stale time 3600;
  ipv4 { import all; export where proto = \"originated\"; gateway direct; };
}
";
        assert_eq!(to_bird(&node()), want);
    }

    #[test]
    fn bird_rendering_of_a_tor_session() {
        let mut r = Router::new(Ipv4Addr::new(172, 31, 11, 250), 65001);
        r.kernel_ecmp = false;
        let mut n = Neighbor::new("a1", Ipv4Addr::new(172, 31, 11, 1), 65001);
        n.rr_client = true;
        n.next_hop = NextHop::KeepIbgpSelfEbgp;
        n.graceful_restart = Some(GracefulRestart { restart_time: 120 });
        n.connect_retry_time = Some(1);
        n.error_wait_time = Some((5, 30));
        n.import = Policy::None;
        r.neighbors.push(n);
        let got = to_bird(&r);
        let session = &got[got.find("protocol bgp a1").unwrap()..];
        assert_eq!(
            session,
            "\
protocol bgp a1 {
  local as 65001;
  neighbor 172.31.11.1 as 65001;
  connect retry time 1;
  error wait time 5,30;
  graceful restart on; graceful restart time 120;
  rr client;
  ipv4 { import none; export all; next hop keep ibgp; next hop self ebgp; };
}
"
        );
        assert!(!got.contains("protocol kernel"));
        assert!(!got.contains("protocol bfd"));
    }

    #[test]
    fn frr_rendering_key_lines() {
        let f = to_frr(&node());
        for line in [
            "ip route 172.31.10.1/32 blackhole",
            "ip prefix-list ORIGINATED seq 10 permit 172.31.10.1/32",
            " profile ra1",
            "  receive-interval 100",
            "  detect-multiplier 3",
            "router bgp 65001",
            " bgp router-id 172.31.10.1",
            " bgp graceful-restart",
            " bgp graceful-restart restart-time 0",
            " bgp long-lived-graceful-restart stale-time 3600",
            " neighbor 172.31.11.250 remote-as 65001",
            " neighbor 172.31.11.250 password pw",
            " neighbor 172.31.11.250 bfd profile ra1",
            "  network 172.31.10.1/32",
            "  neighbor 172.31.11.250 route-map ORIGINATED out",
        ] {
            assert!(f.lines().any(|l| l == line), "missing {line:?} in\n{f}");
        }
        // iBGP: no multihop line.
        assert!(!f.contains("ebgp-multihop"));
    }

    #[test]
    fn gobgp_rendering_key_lines() {
        let g = to_gobgp(&node());
        for line in [
            "  as = 65001",
            "  router-id = \"172.31.10.1\"",
            "    neighbor-address = \"172.31.11.250\"",
            "    peer-as = 65001",
            "    auth-password = \"pw\"",
            "    long-lived-enabled = true",
            "      restart-time = 3600",
        ] {
            assert!(g.lines().any(|l| l == line), "missing {line:?} in\n{g}");
        }
    }
}
