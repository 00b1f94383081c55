//! The dualtor lab harness (unpublished).
//!
//! Network namespaces, veth pairs and bridges with Drop guards; runners for
//! BIRD 2, FRR and GoBGP inside a namespace; faults (link down, silent loss
//! with nftables, daemon kill/restart); observation (kernel routes as data,
//! route-change watcher, probe flows, pcap writer); and the Calico dual-ToR
//! guide's topology as one call.
#![forbid(unsafe_code)]
