//! The output parsers take whatever a daemon or `ip` prints: arbitrary text must never
//! panic them, and lines that look almost right must be skipped, not misread.

use proptest::prelude::*;
use test_support::daemons::{birdc, state};
use test_support::routes;

/// Lines made of the tokens the parsers look for, to reach deep branches.
fn birdish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\t".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("Table master4:".to_owned()),
        Just("10.0.0.0/24".to_owned()),
        Just("unicast [ra1 12:00:00.000 from 10.0.0.1] * (100s) [AS1i]".to_owned()),
        Just("via 10.0.0.1 on eth0 weight".to_owned()),
        Just("BGP.community: (65535,6) (1,".to_owned()),
        Just("BGP state:".to_owned()),
        Just("Neighbor capabilities".to_owned()),
        Just("      LL stale time: x".to_owned()),
        Just("Routes: 1 imported, x exported".to_owned()),
        Just("bfd1:".to_owned()),
        Just("10.0.0.1 eth0 Up 12:00 0.100 -1".to_owned()),
        "[ -~]{0,12}",
    ];
    prop::collection::vec(token, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn birdc_parsers_never_panic(text in birdish()) {
        let _ = birdc::parse_protocols(&text);
        let _ = birdc::parse_routes(&text);
        let _ = birdc::parse_bfd_sessions(&text);
    }

    #[test]
    fn birdc_parsers_never_panic_on_any_string(text in any::<String>()) {
        let _ = birdc::parse_protocols(&text);
        let _ = birdc::parse_routes(&text);
        let _ = birdc::parse_bfd_sessions(&text);
    }

    #[test]
    fn json_parsers_never_panic(text in any::<String>()) {
        let _ = routes::parse_ip_route_json(&text);
        let _ = routes::parse_ip_nexthop_json(&text);
        let _ = state::parse_frr_bgp_summary(&text);
        let _ = state::parse_frr_show_ip_bgp(&text);
        let _ = state::parse_frr_bfd_peers(&text);
        let _ = state::parse_gobgp_neighbors(&text);
        let _ = state::parse_gobgp_rib(&text);
    }

    #[test]
    fn bfd_timeouts_are_never_negative_or_nan(secs in any::<f64>()) {
        let line = format!("bfd1:\n10.0.0.1 eth0 Up 12:00 {secs} {secs}\n");
        for s in birdc::parse_bfd_sessions(&line) {
            prop_assert!(s.interval.as_secs_f64() >= 0.0);
        }
    }
}

#[test]
fn shaped_json_with_wrong_types_is_skipped() {
    // Well-formed JSON of the wrong shape: entries are skipped, not misread.
    let r = routes::parse_ip_route_json(r#"[{"dst":"10.0.0.0/8","nexthops":[{"gateway":5}]}]"#);
    assert!(matches!(
        r,
        Err(test_support::Error::Parse {
            what: "ip -j route",
            ..
        })
    ));
    let n =
        state::parse_gobgp_neighbors(r#"[{"conf":{"neighbor_address":"x"}},{"conf":{}}]"#).unwrap();
    assert_eq!(n, vec![]);
    let p = state::parse_frr_show_ip_bgp(r#"{"routes":{"nope":[{}],"10.0.0.0/8":[{"path":7}]}}"#)
        .unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].as_path, Vec::<u32>::new());
    assert!(!p[0].best);
}
