//! Typed values the caller speaks in: next hops, groups, route targets.

use std::net::IpAddr;

/// Our `rtm_protocol` / `nh_protocol` tag.
///
/// The default, [`Protocol::DUALTOR`] = 214, was chosen because no common
/// daemon uses it: it is absent from `/etc/iproute2/rt_protos` (kernel values
/// 0-4, gated 8 … dhcp 16, keepalived 18, babel 42, openr 99, bgp/isis/ospf/rip
/// 186-189, eigrp 192) and from `rt_protos.d/frr.conf` (FRR's daemons 186-197),
/// it is not BIRD's fixed 12 nor zebra's 11, and it is not Calico felix's 80.
/// Values above `RTPROT_STATIC` (4) are never interpreted by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(pub u8);

impl Protocol {
    /// The default tag of routes and nexthop objects this crate creates.
    pub const DUALTOR: Protocol = Protocol(214);
}

impl Default for Protocol {
    fn default() -> Self {
        Self::DUALTOR
    }
}

/// Address family of a next hop or route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    /// The `AF_*` value.
    pub const fn af(self) -> u8 {
        match self {
            Family::V4 => libc::AF_INET as u8,
            Family::V6 => libc::AF_INET6 as u8,
        }
    }
    /// Family of an address.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// One forwarding next hop: an output interface, optionally a gateway.
///
/// `gateway: None` is a dev-only next hop (`nexthop dev eth0`, scope link).
/// `onlink` tells the kernel the gateway is reachable on the link even though
/// it lies outside the interface's connected prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Nexthop {
    /// Output interface index.
    pub ifindex: u32,
    /// Gateway address, or `None` for a dev-only next hop.
    pub gateway: Option<IpAddr>,
    /// `RTNH_F_ONLINK`.
    pub onlink: bool,
}

impl Nexthop {
    /// `via <gateway> dev <ifindex>`.
    pub const fn via(gateway: IpAddr, ifindex: u32) -> Self {
        Nexthop {
            ifindex,
            gateway: Some(gateway),
            onlink: false,
        }
    }
    /// `dev <ifindex>` (dev-only, scope link).
    pub const fn dev(ifindex: u32) -> Self {
        Nexthop {
            ifindex,
            gateway: None,
            onlink: false,
        }
    }
    /// The same next hop with `onlink` set.
    #[must_use]
    pub const fn onlink(mut self) -> Self {
        self.onlink = true;
        self
    }
}

/// A next hop with its ECMP weight (1..=256; 0 is treated as 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Weighted {
    /// The next hop.
    pub nexthop: Nexthop,
    /// Relative weight, 1..=256 (the kernel stores weight - 1 in a byte).
    pub weight: u16,
}

impl Weighted {
    /// Weight 1.
    pub const fn one(nexthop: Nexthop) -> Self {
        Weighted { nexthop, weight: 1 }
    }
    /// The on-wire byte (`rtnh_hops` / `nexthop_grp.weight`): weight - 1.
    pub(crate) fn wire_weight(self) -> u8 {
        self.weight.clamp(1, 256).saturating_sub(1) as u8
    }
}

/// Parameters of a resilient nexthop group (Linux 5.13+, `type resilient`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Resilient {
    /// Number of hash buckets (`NHA_RES_GROUP_BUCKETS`).
    pub buckets: u16,
    /// Idle timer in clock ticks of 10 ms (`NHA_RES_GROUP_IDLE_TIMER`, USER_HZ).
    pub idle_timer: u32,
    /// Unbalanced timer in clock ticks of 10 ms (`NHA_RES_GROUP_UNBALANCED_TIMER`).
    pub unbalanced_timer: u32,
}

impl Default for Resilient {
    fn default() -> Self {
        // iproute2's defaults: 128 buckets, idle 120 s, no unbalanced timer.
        Resilient {
            buckets: 128,
            idle_timer: 12_000,
            unbalanced_timer: 0,
        }
    }
}

/// A caller's next-hop group: the members an ECMP set forwards over.
///
/// One group serves both families: an IPv4 route uses the IPv4 gateways and
/// the dev-only members, an IPv6 route the IPv6 gateways and the dev-only
/// members. A group with no IPv4 gateway and no dev-only member gives its
/// IPv6 gateways to IPv4 routes (RFC 8950 next hops, e.g. BGP over IPv6
/// link-local sessions).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NexthopGroup {
    /// Members; an empty group makes its routes unreachable (they are deleted).
    pub members: Vec<Weighted>,
}

impl NexthopGroup {
    /// A group of equally weighted next hops.
    pub fn ecmp(nexthops: impl IntoIterator<Item = Nexthop>) -> Self {
        NexthopGroup {
            members: nexthops.into_iter().map(Weighted::one).collect(),
        }
    }
}

/// The caller's id for a [`NexthopGroup`] (the llgr engine's group id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// Where a desired route forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Over the members of a group.
    Group(GroupId),
    /// Drop (`blackhole`, e.g. an aggregated pod block).
    Blackhole,
}
