//! Arbitrary operation sequences for the `llgr_ops` fuzz target (feature `arbitrary`).
//!
//! [`Harness`] drives an [`Engine`] with three eBGP peers over small prefix and attribute
//! domains (so that operations collide), and after every operation checks that replaying
//! the polled FIB changes gives the engine's current FIB.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::{
    AsSegment, Config, DownReason, Engine, Family, FibTable, GatewayMode, GrCapability, GrFamily,
    IgpRoute, LLGR_STALE, LlgrFamily, LocalRoute, NO_LLGR, PathAttrs, PathId, Peer, PeerId,
};

/// One fuzzed input.
#[derive(Debug, Clone, arbitrary::Arbitrary)]
pub enum Op {
    /// Session up with small GR/LLGR parameters.
    Up {
        /// Peer index (mod 3).
        peer: u8,
        /// Send a GR capability.
        gr: bool,
        /// Restart time (s).
        restart_time: u8,
        /// Send capability 71.
        llgr: bool,
        /// LLGR stale time (s).
        stale_time: u8,
        /// F bits.
        forwarding: bool,
    },
    /// Session down.
    Down {
        /// Peer index.
        peer: u8,
        /// Reason.
        reason: DownReason,
    },
    /// Announce.
    Announce {
        /// Peer index.
        peer: u8,
        /// Prefix index (mod 8; IPv6 when > 5).
        prefix: u8,
        /// Path id (mod 2).
        path_id: u8,
        /// Attribute variant.
        attrs: u8,
    },
    /// One UPDATE announcing several prefixes (mixing families): exercises the
    /// per-UPDATE path-set transition memo.
    AnnounceMany {
        /// Peer index.
        peer: u8,
        /// Bit i set = prefix i.
        mask: u8,
        /// Path id (mod 2).
        path_id: u8,
        /// Attribute variant.
        attrs: u8,
    },
    /// Withdraw.
    Withdraw {
        /// Peer index.
        peer: u8,
        /// Prefix index.
        prefix: u8,
        /// Path id.
        path_id: u8,
    },
    /// End-of-RIB.
    EndOfRib {
        /// Peer index.
        peer: u8,
        /// Family.
        family: Family,
    },
    /// Time passes, then timers run.
    Advance {
        /// Seconds.
        secs: u8,
    },
    /// Originate or withdraw a local route.
    Local {
        /// Prefix index.
        prefix: u8,
        /// Originate (true) or withdraw.
        add: bool,
        /// Blackhole.
        blackhole: bool,
    },
    /// Add or remove an IGP route to 192.0.2.0/24.
    Igp {
        /// Present.
        present: bool,
        /// Metric.
        metric: u8,
    },
}

/// An engine plus its replayed FIB output ([`FibTable`]).
#[derive(Debug)]
pub struct Harness {
    /// The engine under test.
    pub engine: Engine,
    now: Instant,
    peers: Vec<PeerId>,
    fib: FibTable,
}

fn prefix(i: u8) -> IpNet {
    let i = i % 8;
    if i > 5 {
        IpNet::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, u16::from(i), 0, 0, 0, 0, 0)),
            64,
        )
        .expect("valid")
    } else {
        IpNet::new(IpAddr::V4(Ipv4Addr::new(10, i, 0, 0)), 24).expect("valid")
    }
}

/// Path id `i` mod 2: two ADD-PATH paths per peer and prefix.
fn path(i: u8) -> PathId {
    PathId(u32::from(i % 2))
}

impl Harness {
    /// Three peers: two Direct on connected subnets, one Recursive; `now` is the start time.
    pub fn new(now: Instant) -> Self {
        let mut engine = Engine::new(Config::new(64512, Ipv4Addr::new(10, 255, 0, 1)));
        let mut peers = Vec::new();
        for i in 0..3u8 {
            let mut p = Peer::new(
                IpAddr::V4(Ipv4Addr::new(172, 31, 10 + i, 250)),
                65010 + u32::from(i),
                Ipv4Addr::new(1, 1, 1, i),
            );
            p.interface = Some(u32::from(i) + 2);
            p.connected = vec![IpNet::new(p.address, 24).expect("valid").trunc()];
            p.gateway_mode = if i == 2 {
                GatewayMode::Recursive
            } else {
                GatewayMode::Direct
            };
            p.llgr = i != 1;
            p.prefix_limit = Some(12);
            peers.push(engine.add_peer(p));
        }
        Harness {
            engine,
            now,
            peers,
            fib: FibTable::new(),
        }
    }

    fn attrs(&self, peer: usize, v: u8) -> PathAttrs {
        let mut communities = Vec::new();
        if v & 1 != 0 {
            communities.push(LLGR_STALE);
        }
        if v & 2 != 0 {
            communities.push(NO_LLGR);
        }
        let nh = match v & 12 {
            0 => IpAddr::V4(Ipv4Addr::new(172, 31, 10 + peer as u8, 1)),
            4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
            8 => IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)),
            _ => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9)),
        };
        PathAttrs {
            as_path: vec![AsSegment::Sequence(vec![
                65010 + peer as u32;
                1 + (v as usize >> 6)
            ])],
            next_hop: Some(nh),
            med: Some(u32::from(v >> 4 & 3)),
            communities,
            ..Default::default()
        }
    }

    /// The index of the peer an operation's `peer` byte names.
    fn index(&self, peer: u8) -> usize {
        usize::from(peer) % self.peers.len()
    }

    /// The peer an operation's `peer` byte names.
    fn peer(&self, peer: u8) -> PeerId {
        self.peers[self.index(peer)]
    }

    /// One UPDATE from `peer` announcing `prefixes` with attribute variant `attrs`.
    fn announce(
        &mut self,
        peer: u8,
        prefixes: impl Iterator<Item = IpNet>,
        path_id: u8,
        attrs: u8,
    ) {
        let pid = path(path_id);
        let nlri: Vec<(IpNet, PathId)> = prefixes.map(|p| (p, pid)).collect();
        let a = self.attrs(self.index(peer), attrs);
        let id = self.peer(peer);
        self.engine.handle_update(self.now, id, &nlri, a, &[]);
    }

    /// Apply one operation, then check the replayed FIB. Panics on an engine bug.
    pub fn apply(&mut self, op: &Op) {
        match *op {
            Op::Up {
                peer,
                gr,
                restart_time,
                llgr,
                stale_time,
                forwarding,
            } => {
                let fams: Vec<GrFamily> = Family::ALL
                    .iter()
                    .map(|&family| GrFamily { family, forwarding })
                    .collect();
                let params = crate::SessionParams {
                    gr: gr.then(|| GrCapability {
                        restart_time: u16::from(restart_time),
                        families: fams,
                        ..Default::default()
                    }),
                    llgr: llgr.then(|| {
                        Family::ALL
                            .iter()
                            .map(|&family| LlgrFamily {
                                family,
                                forwarding,
                                stale_time: u32::from(stale_time),
                            })
                            .collect()
                    }),
                    ..Default::default()
                };
                self.engine
                    .handle_session_up(self.now, self.peer(peer), params);
            }
            Op::Down { peer, reason } => {
                self.engine
                    .handle_session_down(self.now, self.peer(peer), reason);
            }
            Op::Announce {
                peer,
                prefix: p,
                path_id,
                attrs,
            } => self.announce(peer, std::iter::once(prefix(p)), path_id, attrs),
            Op::AnnounceMany {
                peer,
                mask,
                path_id,
                attrs,
            } => {
                let prefixes = (0..8u8).filter(|b| mask & (1 << b) != 0).map(prefix);
                self.announce(peer, prefixes, path_id, attrs);
            }
            Op::Withdraw {
                peer,
                prefix: p,
                path_id,
            } => {
                let withdrawn = [(prefix(p), path(path_id))];
                let id = self.peer(peer);
                self.engine
                    .handle_update(self.now, id, &[], PathAttrs::default(), &withdrawn);
            }
            Op::EndOfRib { peer, family } => {
                self.engine
                    .handle_end_of_rib(self.now, self.peer(peer), family);
            }
            Op::Advance { secs } => {
                self.now += Duration::from_secs(u64::from(secs));
                self.engine.handle_timeout(self.now);
            }
            Op::Local {
                prefix: p,
                add,
                blackhole,
            } => {
                if add {
                    self.engine.originate(
                        prefix(p),
                        LocalRoute {
                            blackhole,
                            ..Default::default()
                        },
                    );
                } else {
                    self.engine.withdraw_local(prefix(p));
                }
            }
            Op::Igp { present, metric } => {
                let r = present.then(|| IgpRoute {
                    metric: u32::from(metric),
                    nexthops: vec![(Some(IpAddr::V4(Ipv4Addr::new(172, 31, 12, 1))), 4)],
                });
                self.engine
                    .set_igp_route("192.0.2.0/24".parse().expect("valid"), r);
            }
        }
        self.check();
    }

    fn check(&mut self) {
        if let Err(e) = self.fib.apply_all(self.engine.poll_fib()) {
            panic!("engine output breaks a FIB invariant: {e}");
        }
        assert_eq!(
            self.fib.snapshot(),
            self.engine.fib_snapshot(),
            "replayed FIB differs"
        );
        let _ = self.engine.poll_rib_out();
        while self.engine.poll_event().is_some() {}
    }
}
