//! Kernel knobs the dual-ToR design depends on, per network namespace
//! (`/proc/sys/net` resolves to the calling thread's namespace).

use std::fs;

use crate::error::Error;

fn path(p: &str) -> String {
    format!("/proc/sys/net/{p}")
}

fn read(p: &str) -> Result<Option<String>, Error> {
    match fs::read_to_string(path(p)) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Sysctl {
            path: path(p),
            source,
        }),
    }
}

fn write(p: &str, v: &str) -> Result<(), Error> {
    fs::write(path(p), v).map_err(|source| Error::Sysctl {
        path: path(p),
        source,
    })
}

/// `net.ipv4.nexthop_compat_mode`: `Some(1)` (default: the kernel expands
/// groups in route messages and sends one route notification per route on a
/// group change: 0.66 s and a monitor overflow at 1M routes), `Some(0)`
/// (a group replace costs the same at any table size), `None` when the
/// kernel has no such knob (no nexthop objects).
pub fn nexthop_compat_mode() -> Result<Option<u8>, Error> {
    Ok(read("ipv4/nexthop_compat_mode")?.and_then(|s| s.parse().ok()))
}

/// Sets `net.ipv4.nexthop_compat_mode` (per namespace; it changes what
/// other tools see: `ip route` then shows `nhid N` without the expanded
/// next hops, and route listeners get no per-route events on group changes).
pub fn set_nexthop_compat_mode(on: bool) -> Result<(), Error> {
    write("ipv4/nexthop_compat_mode", if on { "1" } else { "0" })
}

/// Sets `fib_multipath_hash_policy` = 1 (L4 five-tuple) for IPv4 and IPv6,
/// so flows spread over both planes.
pub fn set_multipath_hash_policy_l4() -> Result<(), Error> {
    write("ipv4/fib_multipath_hash_policy", "1")?;
    write("ipv6/fib_multipath_hash_policy", "1")
}

/// Reads `(ipv4, ipv6)` `fib_multipath_hash_policy`.
pub fn multipath_hash_policy() -> Result<(Option<u8>, Option<u8>), Error> {
    let p = |s: Option<String>| s.and_then(|s| s.parse().ok());
    Ok((
        p(read("ipv4/fib_multipath_hash_policy")?),
        p(read("ipv6/fib_multipath_hash_policy")?),
    ))
}

/// Sets `ignore_routes_with_linkdown=1` on `ifname` for IPv4 and IPv6: without
/// it the kernel keeps forwarding over legacy multipath next hops whose link
/// lost carrier (RTNH_F_LINKDOWN).
pub fn set_ignore_routes_with_linkdown(ifname: &str) -> Result<(), Error> {
    write(
        &format!("ipv4/conf/{ifname}/ignore_routes_with_linkdown"),
        "1",
    )?;
    write(
        &format!("ipv6/conf/{ifname}/ignore_routes_with_linkdown"),
        "1",
    )
}
