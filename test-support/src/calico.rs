//! The lab topology's Calico resources as YAML, for `dualtor-node`: the guide's
//! BGPPeers and loopback IPPools verbatim (with the lab's addresses), one Node and
//! BlockAffinity per node, the BGPConfiguration patch and a pod pool without
//! encapsulation. The integration tests and the demo write their configurations from
//! these pieces.

use crate::topology::{loopback, pod_block, rack_asn, rack_letter};

/// For each of racks `1..=racks`: the guide's two BGPPeers (one per ToR, selected by the
/// `rack` label) and the rack's loopback IPPool (`disabled: True`).
pub fn racks_yaml(racks: u8) -> String {
    let mut y = String::new();
    for r in 1..=racks {
        let l = rack_letter(r);
        for p in 1..=2u8 {
            y += &format!(
                "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: r{l}{p}\nspec:\n  \
                 nodeSelector: \"rack == 'r{l}'\"\n  peerIP: 172.31.{}.250\n  asNumber: {}\n  \
                 sourceAddress: None\n  failureDetectionMode: BFDIfDirectlyConnected\n  \
                 restartMode: LongLivedGracefulRestart\n  birdGatewayMode: DirectIfDirectlyConnected\n---\n",
                10 * u16::from(r) + u16::from(p),
                rack_asn(r)
            );
        }
        y += &format!(
            "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: loopbacks-rack-{l}\n\
             spec:\n  cidr: 172.31.{}.0/24\n  disabled: True\n---\n",
            10 * u16::from(r)
        );
    }
    y
}

/// Node `n` of rack `rack` (named as in the guide, `a1`): its Node resource (rack label,
/// AS, loopback) and the BlockAffinity of its pod block.
pub fn node_yaml(rack: u8, n: u8) -> String {
    let name = format!("{}{n}", rack_letter(rack));
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n    \
         rack: r{l}\nspec:\n  bgp:\n    asNumber: {asn}\n    ipv4Address: {lo}/32\n---\n\
         apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  name: {name}-block\n\
         spec:\n  node: {name}\n  cidr: {block}\n  state: confirmed\n---\n",
        l = rack_letter(rack),
        asn = rack_asn(rack),
        lo = loopback(rack, n),
        block = pod_block(rack, n),
    )
}

/// The guide's BGPConfiguration patch (no node-to-node mesh) and the default pod pool
/// (10.244.0.0/16, /26 blocks, no IP-in-IP or VXLAN). Ends without a separator.
pub const CLUSTER_YAML: &str = "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\n\
     metadata:\n  name: default\nspec:\n  nodeToNodeMeshEnabled: false\n---\n\
     apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: default-ipv4-ippool\n\
     spec:\n  cidr: 10.244.0.0/16\n  ipipMode: Never\n  vxlanMode: Never\n  blockSize: 26\n";

/// Everything above for `racks` racks of `per_rack` nodes, in one document stream.
pub fn cluster_yaml(racks: u8, per_rack: u8) -> String {
    let mut y = racks_yaml(racks);
    for r in 1..=racks {
        for n in 1..=per_rack {
            y += &node_yaml(r, n);
        }
    }
    y + CLUSTER_YAML
}

#[cfg(test)]
mod tests {
    use super::*;

    // The guide's rack A peering, written by hand from its BGPPeer example.
    #[test]
    fn rack_a_peers_are_the_guides() {
        let y = racks_yaml(1);
        assert!(y.contains(
            "name: ra1\nspec:\n  nodeSelector: \"rack == 'ra'\"\n  peerIP: 172.31.11.250\n  \
             asNumber: 65001\n  sourceAddress: None\n  failureDetectionMode: BFDIfDirectlyConnected\n"
        ));
        assert!(y.contains("peerIP: 172.31.12.250"));
        assert!(
            y.contains("name: loopbacks-rack-a\nspec:\n  cidr: 172.31.10.0/24\n  disabled: True\n")
        );
        let n = node_yaml(1, 2);
        assert!(n.contains("name: a2\n  labels:\n    rack: ra\n"));
        assert!(n.contains("ipv4Address: 172.31.10.2/32"));
        assert!(n.contains("cidr: 10.244.18.0/26"));
        assert!(cluster_yaml(2, 2).ends_with("blockSize: 26\n"));
    }
}
