//! Best-path selection (RFC 4271 §9.1.2.2, RFC 4456 §9, RFC 9494 §4.3) and ECMP sets.
//!
//! Selection is the RFC's elimination procedure, not a pairwise comparator: MED is only
//! compared between routes from the same neighbouring AS, which is not a total order, so
//! a sort by a comparator could depend on input order. Each step below removes the routes
//! that lose it; the survivor of the last step is the best path.

use std::net::IpAddr;

use crate::attrs::Origin;

/// What selection needs to know of one usable candidate path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct View {
    /// Index of the candidate in its path set.
    pub(crate) idx: usize,
    /// Carries LLGR_STALE, received or attached by us (RFC 9494 §4.3).
    pub(crate) llgr_stale: bool,
    pub(crate) local_pref: u32,
    pub(crate) as_path_len: u32,
    pub(crate) origin: Origin,
    /// MED, missing = 0 (RFC 4271 §9.1.2.2 (c)).
    pub(crate) med: u32,
    pub(crate) neighbor_as: Option<u32>,
    pub(crate) external: bool,
    pub(crate) igp_cost: u32,
    /// ORIGINATOR_ID if present, else the peer's BGP identifier (RFC 4456 §9).
    pub(crate) bgp_id: u32,
    pub(crate) cluster_len: usize,
    pub(crate) peer_addr: IpAddr,
    pub(crate) path_id: u32,
}

fn keep_min<K: Ord + Copy>(set: &mut Vec<View>, key: impl Fn(&View) -> K) {
    if let Some(m) = set.iter().map(&key).min() {
        set.retain(|v| key(v) == m);
    }
}

/// The best path among `usable` (already filtered for resolvability, RFC 4271 §9.1.2.1).
pub(crate) fn best(usable: &[View], always_compare_med: bool) -> Option<View> {
    let mut set: Vec<View> = usable.to_vec();
    if set.is_empty() {
        return None;
    }
    //= https://www.rfc-editor.org/rfc/rfc9494#section-4.3
    //# a route carrying LLGR_STALE [is treated] as least preferred
    // Fixed place, as in BIRD's bgp_rte_better: after resolvability, before LOCAL_PREF.
    // A stale route loses to every non-stale one whatever its LOCAL_PREF (RFC 9494 §4.4).
    keep_min(&mut set, |v| v.llgr_stale);
    // RFC 4271 §9.1.1: degree of preference = LOCAL_PREF, highest wins.
    keep_min(&mut set, |v| std::cmp::Reverse(v.local_pref));
    // §9.1.2.2 (a): shortest AS_PATH.
    keep_min(&mut set, |v| v.as_path_len);
    // §9.1.2.2 (b): lowest ORIGIN.
    keep_min(&mut set, |v| v.origin);
    // §9.1.2.2 (c): remove routes with a higher MED than another route from the same
    // neighbouring AS (or from any AS with always-compare-med).
    let snapshot = set.clone();
    set.retain(|v| {
        !snapshot
            .iter()
            .any(|w| (always_compare_med || w.neighbor_as == v.neighbor_as) && w.med < v.med)
    });
    // §9.1.2.2 (d): prefer routes learned over eBGP.
    keep_min(&mut set, |v| !v.external);
    // §9.1.2.2 (e): lowest interior cost to the next hop.
    keep_min(&mut set, |v| v.igp_cost);
    // §9.1.2.2 (f) with RFC 4456 §9: lowest BGP Identifier, ORIGINATOR_ID standing in.
    keep_min(&mut set, |v| v.bgp_id);
    // RFC 4456 §9: shortest CLUSTER_LIST.
    keep_min(&mut set, |v| v.cluster_len);
    // §9.1.2.2 (g): lowest peer address.
    keep_min(&mut set, |v| v.peer_addr);
    // ADD-PATH (RFC 7911): several paths from one peer; lowest path id.
    keep_min(&mut set, |v| v.path_id);
    set.first().copied()
}

/// BIRD `merge paths` (`bgp_rte_mergable`): paths that may share the best path's ECMP set.
/// Same LLGR-stale state (RFC 9494 never merges stale with fresh), LOCAL_PREF, AS_PATH
/// length, ORIGIN, MED, eBGP/iBGP and IGP cost.
pub(crate) fn mergeable(best: &View, other: &View) -> bool {
    best.llgr_stale == other.llgr_stale
        && best.local_pref == other.local_pref
        && best.as_path_len == other.as_path_len
        && best.origin == other.origin
        && best.med == other.med
        && best.external == other.external
        && best.igp_cost == other.igp_cost
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v(idx: usize) -> View {
        View {
            idx,
            llgr_stale: false,
            local_pref: 100,
            as_path_len: 1,
            origin: Origin::Igp,
            med: 0,
            neighbor_as: Some(65000),
            external: true,
            igp_cost: 0,
            bgp_id: 1,
            cluster_len: 0,
            peer_addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, idx as u8)),
            path_id: 0,
        }
    }

    // RFC 9494 §4.4 (checklist rule 21): stale LP=1000 vs fresh LP=10 -> fresh wins.
    #[test]
    fn rule21_stale_loses_whatever_local_pref() {
        let stale = View {
            llgr_stale: true,
            local_pref: 1000,
            ..v(0)
        };
        let fresh = View {
            local_pref: 10,
            ..v(1)
        };
        assert_eq!(best(&[stale, fresh], false).unwrap().idx, 1);
        // Between two stale routes the normal rules apply.
        let stale2 = View {
            llgr_stale: true,
            local_pref: 10,
            ..v(1)
        };
        assert_eq!(best(&[stale, stale2], false).unwrap().idx, 0);
    }

    // RFC 4271 §9.1.2.2 (c): MED compared only within one neighbouring AS.
    #[test]
    fn med_only_within_neighbor_as() {
        let a = View {
            med: 10,
            neighbor_as: Some(1),
            ..v(1)
        };
        let b = View {
            med: 5,
            neighbor_as: Some(2),
            ..v(2)
        };
        let c = View {
            med: 1,
            neighbor_as: Some(1),
            ..v(3)
        };
        // a loses to c (same AS); b and c survive; peer address decides: b (10.0.0.2).
        assert_eq!(best(&[a, b, c], false).unwrap().idx, 2);
        // always-compare-med: c has the lowest MED overall.
        assert_eq!(best(&[a, b, c], true).unwrap().idx, 3);
    }

    // RFC 4271 §9.1.2.2 (d), (e), (f), (g) in order.
    #[test]
    fn tie_breaks_in_rfc_order() {
        let ibgp = View {
            external: false,
            ..v(1)
        };
        let ebgp = View {
            igp_cost: 50,
            ..v(2)
        };
        assert_eq!(best(&[ibgp, ebgp], false).unwrap().idx, 2);
        let near = View {
            igp_cost: 1,
            bgp_id: 9,
            ..v(3)
        };
        let far = View {
            igp_cost: 2,
            bgp_id: 1,
            ..v(4)
        };
        assert_eq!(best(&[near, far], false).unwrap().idx, 3);
        let lo_id = View { bgp_id: 1, ..v(6) };
        let hi_id = View { bgp_id: 2, ..v(5) };
        assert_eq!(best(&[hi_id, lo_id], false).unwrap().idx, 6);
        assert_eq!(best(&[v(8), v(7)], false).unwrap().idx, 7);
    }

    #[test]
    fn stale_and_fresh_never_merge() {
        let a = v(1);
        let b = View {
            llgr_stale: true,
            ..v(2)
        };
        assert!(!mergeable(&a, &b));
        assert!(mergeable(&a, &v(3)));
    }
}
