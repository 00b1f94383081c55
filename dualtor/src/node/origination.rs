//! What the node originates, and nothing else (no transit between planes):
//! the plan's originations (loopback in an exported IPPool, confirmed
//! BlockAffinities, service CIDRs, with BGPConfiguration communities), plus
//! the pod blocks and prefixes an embedder adds through the API.
//!
//! API additions are folded into the resource set before planning (a block
//! becomes a confirmed `BlockAffinity`, an extra prefix a service CIDR of
//! BGPConfiguration `default`), so that IPPool export rules and
//! `prefixAdvertisements` communities apply to them exactly as to YAML
//! resources, and a reload and an API call are the same diff.

use std::collections::BTreeSet;

use ipnet::IpNet;

use crate::config::{BgpConfiguration, BlockAffinity, Community, Config, Origination};

/// Prefixes added through the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ApiOrigins {
    /// Pod blocks (`NodeHandle::add_block`).
    pub(crate) blocks: BTreeSet<IpNet>,
    /// Extra prefixes (`NodeHandle::add_prefix`).
    pub(crate) prefixes: BTreeSet<IpNet>,
}

/// The resource set with the API's blocks and prefixes folded in.
pub(crate) fn effective(config: &Config, node: &str, api: &ApiOrigins) -> Config {
    let mut c = config.clone();
    for b in &api.blocks {
        c.block_affinities
            .push(BlockAffinity::confirmed(format!("api-{b}"), node, *b));
    }
    if !api.prefixes.is_empty() {
        let i = match c
            .bgp_configurations
            .iter()
            .position(|g| g.name == "default")
        {
            Some(i) => i,
            None => {
                c.bgp_configurations.push(BgpConfiguration::new("default"));
                c.bgp_configurations.len() - 1
            }
        };
        c.bgp_configurations[i]
            .service_cluster_ips
            .extend(api.prefixes.iter().copied());
    }
    c
}

/// The engine's local route for an origination.
pub(crate) fn local_route(o: &Origination, blackhole: bool) -> llgr::LocalRoute {
    let mut r = llgr::LocalRoute {
        blackhole,
        ..Default::default()
    };
    for c in &o.communities {
        match *c {
            Community::Standard(a, n) => r.communities.push((u32::from(a) << 16) | u32::from(n)),
            Community::Large(global, local1, local2) => {
                r.large_communities.push(llgr::LargeCommunity {
                    global,
                    local1,
                    local2,
                })
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        AsNumber, IpPool, NodeConfig, OriginKind, PrefixAdvertisement, plan, validate::NoSecrets,
    };

    fn guide() -> Config {
        let mut c = Config::new();
        let mut n = NodeConfig::new("a1");
        n.as_number = AsNumber::new(65001);
        n.ipv4_address = Some("172.31.10.1/32".parse().unwrap());
        c.nodes.push(n);
        let mut lo = IpPool::new("loopbacks-rack-a", "172.31.10.0/24".parse().unwrap());
        lo.disabled = true;
        c.ip_pools.push(lo);
        c.ip_pools
            .push(IpPool::new("pods", "10.244.0.0/16".parse().unwrap()));
        let mut g = BgpConfiguration::new("default");
        g.prefix_advertisements.push(PrefixAdvertisement::new(
            "10.244.0.0/16".parse().unwrap(),
            vec![
                Community::Standard(65001, 100),
                Community::Large(65001, 1, 2),
            ],
        ));
        c.bgp_configurations.push(g);
        c
    }

    // Calico: the loopback /32 in a disabled pool is advertised; a block
    // added through the API is advertised (with the prefixAdvertisements
    // communities of its CIDR) and installed as a blackhole.
    #[test]
    fn api_block_is_planned_like_a_block_affinity() {
        let api = ApiOrigins {
            blocks: ["10.244.17.0/26".parse().unwrap()].into(),
            prefixes: BTreeSet::new(),
        };
        let p = plan(&effective(&guide(), "a1", &api), "a1", &[], &NoSecrets).unwrap();
        let lo: IpNet = "172.31.10.1/32".parse().unwrap();
        let block: IpNet = "10.244.17.0/26".parse().unwrap();
        assert_eq!(p.originations[&lo].kind, OriginKind::Loopback);
        assert_eq!(p.originations[&block].kind, OriginKind::PodBlock);
        assert!(p.blackholes.contains(&block));
        assert!(!p.blackholes.contains(&lo));
        let r = local_route(&p.originations[&block], true);
        assert_eq!(
            r,
            llgr::LocalRoute {
                blackhole: true,
                communities: vec![(65001 << 16) | 100],
                large_communities: vec![llgr::LargeCommunity {
                    global: 65001,
                    local1: 1,
                    local2: 2
                }],
            }
        );
    }

    // An extra prefix is advertised but not blackholed.
    #[test]
    fn api_prefix_is_advertised_without_blackhole() {
        let api = ApiOrigins {
            blocks: BTreeSet::new(),
            prefixes: ["192.0.2.0/24".parse().unwrap()].into(),
        };
        let p = plan(&effective(&guide(), "a1", &api), "a1", &[], &NoSecrets).unwrap();
        let x: IpNet = "192.0.2.0/24".parse().unwrap();
        assert_eq!(p.originations[&x].kind, OriginKind::Service);
        assert!(!p.blackholes.contains(&x));
    }

    // A block in a disableBGPExport pool is installed but never exported.
    #[test]
    fn block_in_export_disabled_pool_is_not_advertised() {
        let mut c = guide();
        let mut quiet = IpPool::new("quiet", "10.250.0.0/16".parse().unwrap());
        quiet.disable_bgp_export = true;
        c.ip_pools.push(quiet);
        let api = ApiOrigins {
            blocks: ["10.250.1.0/26".parse().unwrap()].into(),
            prefixes: BTreeSet::new(),
        };
        let p = plan(&effective(&c, "a1", &api), "a1", &[], &NoSecrets).unwrap();
        let b: IpNet = "10.250.1.0/26".parse().unwrap();
        assert!(!p.originations.contains_key(&b));
        assert!(p.blackholes.contains(&b));
    }
}
