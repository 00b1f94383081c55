//! One test per RFC 7606 rule (§3, §4, §5.3, §7.1-7.15, plus the RFC 6793, 7607, 8092 and
//! 9234 rules in the same style), each asserting the exact verdict and evidence.
//! Byte offsets count from the first Marker octet.

mod common;

use std::net::Ipv4Addr;

use bgp_wire::error::{AttributeListProblem, UpdateError};
use bgp_wire::notification::subcode::update as sub;
use bgp_wire::{DecodeCtx, DecodeError, ErrorCode, Family, Finding, Message, Nlri, Verdict};
use bytes::Bytes;
use common::update;

const ORIGIN: &[u8] = &[0x40, 0x01, 0x01, 0x00];
const AS_PATH: &[u8] = &[0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9];
const NEXT_HOP: &[u8] = &[0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01];
/// NLRI 10.0.0.0/8.
const NLRI: &[u8] = &[0x08, 0x0a];
/// Offset of the first attribute in an UPDATE without withdrawn routes: 19 + 2 + 2.
const A0: usize = 23;
/// Offset of an attribute appended after ORIGIN, AS_PATH and NEXT_HOP.
const A3: usize = A0 + 4 + 9 + 7;

fn mandatory() -> Vec<u8> {
    [ORIGIN, AS_PATH, NEXT_HOP].concat()
}

/// An UPDATE with the mandatory attributes, then `extra`, then NLRI 10.0.0.0/8.
fn with(extra: &[u8]) -> Vec<u8> {
    update(&[], &[mandatory(), extra.to_vec()].concat(), NLRI)
}

/// Like [`with`] for a 2-octet AS session (AS_PATH 65001 in 2 octets).
fn with2(extra: &[u8]) -> Vec<u8> {
    let as_path2: &[u8] = &[0x40, 0x02, 0x04, 0x02, 0x01, 0xfd, 0xe9];
    update(&[], &[ORIGIN, as_path2, NEXT_HOP, extra].concat(), NLRI)
}

fn decode(b: &[u8]) -> Verdict {
    Message::decode(b, &DecodeCtx::modern()).verdict
}

fn ten_slash_8() -> Vec<(Family, Nlri)> {
    vec![(
        Family::IPV4_UNICAST,
        Nlri::new("10.0.0.0/8".parse::<ipnet::Ipv4Net>().unwrap()),
    )]
}

fn withdraw(t: u8, error: UpdateError) -> Verdict {
    Verdict::TreatAsWithdraw {
        prefixes: ten_slash_8(),
        why: vec![Finding {
            type_code: Some(t),
            error,
        }],
    }
}

fn discard(t: u8, error: UpdateError) -> Verdict {
    Verdict::AttributesDiscarded {
        which: vec![Finding {
            type_code: Some(t),
            error,
        }],
    }
}

fn length_error(offset: usize, t: u8, attr: &[u8]) -> UpdateError {
    let length = attr.len() - if attr[0] & 0x10 != 0 { 4 } else { 3 };
    UpdateError::AttributeLengthError {
        offset,
        type_code: t,
        length,
        attribute: Bytes::copy_from_slice(attr),
    }
}

fn reset_code(v: &Verdict) -> (u8, u8, Bytes) {
    match v {
        Verdict::SessionReset {
            notification: n, ..
        } => (n.code.0, n.subcode, n.data.clone()),
        other => panic!("expected a session reset, got {other:?}"),
    }
}

#[test]
fn accepted_baseline() {
    assert_eq!(decode(&with(&[])), Verdict::Accepted);
}

#[test]
fn rfc7606_s7_1_origin_bad_length_withdraws() {
    // RFC 7606 §7.1: ORIGIN length not 1 -> treat-as-withdraw.
    let bad = [0x40, 0x01, 0x02, 0x00, 0x00];
    let b = update(&[], &[&bad[..], AS_PATH, NEXT_HOP].concat(), NLRI);
    assert_eq!(decode(&b), withdraw(1, length_error(A0, 1, &bad)));
}

#[test]
fn rfc7606_s7_1_origin_undefined_value_withdraws() {
    // RFC 7606 §7.1: undefined ORIGIN value -> treat-as-withdraw.
    let bad = [0x40, 0x01, 0x01, 0x03];
    let b = update(&[], &[&bad[..], AS_PATH, NEXT_HOP].concat(), NLRI);
    assert_eq!(
        decode(&b),
        withdraw(
            1,
            UpdateError::InvalidOrigin {
                offset: A0,
                value: 3,
                attribute: Bytes::copy_from_slice(&bad)
            }
        )
    );
}

fn as_path_case(value: &[u8], bad_at: usize) {
    let mut attr = vec![0x40, 0x02, value.len() as u8];
    attr.extend_from_slice(value);
    let b = update(&[], &[ORIGIN, &attr, NEXT_HOP].concat(), NLRI);
    // The AS_PATH value starts 3 octets after the attribute, which follows ORIGIN.
    let offset = A0 + 4 + 3 + bad_at;
    assert_eq!(
        decode(&b),
        withdraw(
            2,
            UpdateError::MalformedAsPath {
                offset,
                type_code: 2
            }
        )
    );
}

#[test]
fn rfc7606_s7_2_as_path_unknown_segment_type_withdraws() {
    // RFC 7606 §7.2: unrecognised segment type.
    as_path_case(&[0x05, 0x01, 0x00, 0x00, 0xfd, 0xe9], 0);
}

#[test]
fn rfc7606_s7_2_as_path_zero_segment_length_withdraws() {
    // RFC 7606 §7.2: Path Segment Length of zero.
    as_path_case(&[0x02, 0x00], 0);
}

#[test]
fn rfc7606_s7_2_as_path_overrun_withdraws() {
    // RFC 7606 §7.2: segment overruns the attribute.
    as_path_case(&[0x02, 0x02, 0x00, 0x00, 0xfd, 0xe9], 0);
}

#[test]
fn rfc7606_s7_2_as_path_underrun_withdraws() {
    // RFC 7606 §7.2: octets left that cannot hold a segment.
    as_path_case(&[0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9, 0x02], 6);
}

#[test]
fn rfc7607_as_path_with_as0_withdraws() {
    // RFC 7607 §2: AS 0 in AS_PATH is malformed -> treat-as-withdraw.
    as_path_case(&[0x02, 0x01, 0x00, 0x00, 0x00, 0x00], 0);
}

#[test]
fn rfc7606_s7_3_next_hop_bad_length_withdraws() {
    // RFC 7606 §7.3
    let bad = [0x40, 0x03, 0x05, 0xc0, 0x00, 0x02, 0x01, 0x00];
    let b = update(&[], &[ORIGIN, AS_PATH, &bad].concat(), NLRI);
    assert_eq!(decode(&b), withdraw(3, length_error(A0 + 13, 3, &bad)));
}

#[test]
fn rfc7606_s7_3_next_hop_not_host_withdraws() {
    // RFC 7606 §7.3, RFC 4271 §6.3: 0.0.0.0 is not a valid host address.
    let bad = [0x40, 0x03, 0x04, 0, 0, 0, 0];
    let b = update(&[], &[ORIGIN, AS_PATH, &bad].concat(), NLRI);
    let e = UpdateError::InvalidNextHop {
        offset: A0 + 13,
        next_hop: Ipv4Addr::UNSPECIFIED,
        attribute: Bytes::copy_from_slice(&bad),
    };
    assert_eq!(decode(&b), withdraw(3, e));
}

#[test]
fn rfc7606_s7_4_med_bad_length_withdraws() {
    let bad = [0x80, 0x04, 0x03, 0, 0, 1];
    assert_eq!(decode(&with(&bad)), withdraw(4, length_error(A3, 4, &bad)));
}

#[test]
fn rfc7606_s7_5_local_pref_bad_length_withdraws() {
    let bad = [0x40, 0x05, 0x02, 0, 1];
    assert_eq!(decode(&with(&bad)), withdraw(5, length_error(A3, 5, &bad)));
}

#[test]
fn rfc7606_s7_6_atomic_aggregate_bad_length_discarded() {
    let bad = [0x40, 0x06, 0x01, 0];
    assert_eq!(decode(&with(&bad)), discard(6, length_error(A3, 6, &bad)));
}

#[test]
fn rfc7606_s7_7_aggregator_bad_length_discarded() {
    // 4-octet session: AGGREGATOR must be 8 octets.
    let bad = [0xc0, 0x07, 0x06, 0xfd, 0xe9, 10, 0, 0, 1];
    assert_eq!(decode(&with(&bad)), discard(7, length_error(A3, 7, &bad)));
    // 2-octet session: 6 octets.
    let bad8 = [0xc0, 0x07, 0x08, 0, 0, 0xfd, 0xe9, 10, 0, 0, 1];
    let v = Message::decode(&with2(&bad8), &DecodeCtx::new()).verdict;
    assert_eq!(v, discard(7, length_error(A3 - 2, 7, &bad8)));
}

#[test]
fn rfc7607_aggregator_as0_discarded() {
    let bad = [0xc0, 0x07, 0x08, 0, 0, 0, 0, 10, 0, 0, 1];
    let e = UpdateError::OptionalAttributeError {
        offset: A3,
        type_code: 7,
        attribute: Bytes::copy_from_slice(&bad),
    };
    assert_eq!(decode(&with(&bad)), discard(7, e));
}

#[test]
fn rfc7606_s7_8_communities_bad_length_withdraws() {
    let bad = [0xc0, 0x08, 0x05, 0xff, 0xff, 0xff, 0x01, 0x00];
    assert_eq!(decode(&with(&bad)), withdraw(8, length_error(A3, 8, &bad)));
    // Zero length is malformed too (RFC 7606 §5, last paragraph of §4 for zero length).
    let zero = [0xc0, 0x08, 0x00];
    assert_eq!(
        decode(&with(&zero)),
        withdraw(8, length_error(A3, 8, &zero))
    );
}

#[test]
fn rfc7606_s7_9_originator_id_bad_length_withdraws() {
    let bad = [0x80, 0x09, 0x05, 10, 0, 0, 2, 0];
    assert_eq!(decode(&with(&bad)), withdraw(9, length_error(A3, 9, &bad)));
}

#[test]
fn rfc7606_s7_10_cluster_list_bad_length_withdraws() {
    let bad = [0x80, 0x0a, 0x06, 10, 0, 0, 3, 0, 0];
    assert_eq!(
        decode(&with(&bad)),
        withdraw(10, length_error(A3, 10, &bad))
    );
}

fn mp_reset(attr: &[u8], t: u8) {
    let b = update(&[], &[ORIGIN, AS_PATH, attr].concat(), &[]);
    let v = decode(&b);
    assert_eq!(
        reset_code(&v),
        (
            3,
            sub::OPTIONAL_ATTRIBUTE_ERROR,
            Bytes::copy_from_slice(attr)
        )
    );
    let Verdict::SessionReset { error, .. } = v else {
        unreachable!()
    };
    assert_eq!(
        error,
        DecodeError::Update(UpdateError::OptionalAttributeError {
            offset: A0 + 13,
            type_code: t,
            attribute: Bytes::copy_from_slice(attr)
        })
    );
}

#[test]
fn rfc7606_s7_11_mp_reach_next_hop_length_resets() {
    // RFC 7606 §7.11: next hop length inconsistent with AFI -> session reset (RFC 4760 §7
    // names Optional Attribute Error).
    mp_reset(
        &[
            0x80, 0x0e, 0x0b, 0x00, 0x02, 0x01, 0x05, 1, 2, 3, 4, 5, 0x00, 0x00,
        ],
        14,
    );
}

#[test]
fn rfc7606_s7_11_mp_reach_truncated_resets() {
    mp_reset(&[0x80, 0x0e, 0x02, 0x00, 0x02], 14);
}

#[test]
fn rfc7606_s7_11_mp_reach_bad_prefix_resets() {
    // RFC 7606 §5.3: IPv6 prefix length 129.
    let mut a = vec![0x80, 0x0e, 0x17, 0x00, 0x02, 0x01, 0x10];
    a.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0x00, 0x81, 0x20]);
    assert_eq!(a.len(), 3 + 0x17);
    mp_reset(&a, 14);
}

#[test]
fn rfc7606_s7_12_mp_unreach_bad_prefix_resets() {
    // RFC 7606 §7.12 / §5.3: prefix overruns the attribute.
    mp_reset(&[0x80, 0x0f, 0x05, 0x00, 0x02, 0x01, 0x40, 0x20], 15);
}

#[test]
fn rfc7606_s7_13_traffic_engineering_bad_length_withdraws() {
    // RFC 7606 §7.13: malformed TE attribute (shorter than one RFC 5543 ISCD).
    let bad = [0x80, 0x18, 0x04, 1, 2, 3, 4];
    assert_eq!(
        decode(&with(&bad)),
        withdraw(24, length_error(A3, 24, &bad))
    );
}

#[test]
fn rfc7606_s7_14_extended_communities_bad_length_withdraws() {
    let bad = [0xc0, 0x10, 0x07, 0, 2, 0, 0, 0, 0, 0];
    assert_eq!(
        decode(&with(&bad)),
        withdraw(16, length_error(A3, 16, &bad))
    );
}

#[test]
fn rfc7606_s7_15_ipv6_extended_communities_bad_length_withdraws() {
    let mut bad = vec![0xc0, 0x19, 19];
    bad.extend_from_slice(&[0; 19]);
    assert_eq!(
        decode(&with(&bad)),
        withdraw(25, length_error(A3, 25, &bad))
    );
}

#[test]
fn rfc8092_s5_large_community_bad_length_withdraws() {
    let mut bad = vec![0xc0, 0x20, 11];
    bad.extend_from_slice(&[0; 11]);
    assert_eq!(
        decode(&with(&bad)),
        withdraw(32, length_error(A3, 32, &bad))
    );
}

#[test]
fn rfc9234_s5_otc_bad_length_withdraws() {
    let bad = [0xc0, 0x23, 0x03, 0, 0xfd, 0xe9];
    assert_eq!(
        decode(&with(&bad)),
        withdraw(35, length_error(A3, 35, &bad))
    );
}

#[test]
fn rfc6793_as4_path_malformed_discarded() {
    // RFC 6793 §6: malformed AS4_PATH -> attribute discard (2-octet session).
    let bad = [0xc0, 0x11, 0x02, 0x02, 0x00];
    let v = Message::decode(&with2(&bad), &DecodeCtx::new()).verdict;
    assert_eq!(
        v,
        discard(
            17,
            UpdateError::MalformedAsPath {
                offset: A3 - 2 + 3,
                type_code: 17
            }
        )
    );
}

#[test]
fn rfc6793_as4_attributes_between_new_speakers_discarded() {
    // RFC 6793 §3: AS4_PATH / AS4_AGGREGATOR received by a NEW speaker from a NEW speaker.
    let as4 = [0xc0, 0x11, 0x06, 0x02, 0x01, 0x00, 0x00, 0xfd, 0xe9];
    assert_eq!(
        decode(&with(&as4)),
        discard(
            17,
            UpdateError::UnexpectedAttribute {
                offset: A3,
                type_code: 17
            }
        )
    );
}

#[test]
fn rfc7606_s3c_flags_conflict_uses_attribute_rule() {
    // RFC 7606 §3 c: ORIGIN with the Optional bit -> malformed -> treat-as-withdraw.
    let bad = [0xc0, 0x01, 0x01, 0x00];
    let b = update(&[], &[&bad[..], AS_PATH, NEXT_HOP].concat(), NLRI);
    let e = UpdateError::AttributeFlagsError {
        offset: A0,
        type_code: 1,
        flags: 0xc0,
        attribute: Bytes::copy_from_slice(&bad),
    };
    assert_eq!(decode(&b), withdraw(1, e));
    // ATOMIC_AGGREGATE marked optional -> attribute discard.
    let aa = [0x80, 0x06, 0x00];
    let e = UpdateError::AttributeFlagsError {
        offset: A3,
        type_code: 6,
        flags: 0x80,
        attribute: Bytes::copy_from_slice(&aa),
    };
    assert_eq!(decode(&with(&aa)), discard(6, e));
    // MP_REACH_NLRI marked transitive -> session reset, Attribute Flags Error.
    let mp = [0xc0, 0x0f, 0x03, 0x00, 0x02, 0x01];
    let b = update(&[], &mp, &[]);
    assert_eq!(
        reset_code(&decode(&b)),
        (3, sub::ATTRIBUTE_FLAGS_ERROR, Bytes::copy_from_slice(&mp))
    );
}

#[test]
fn rfc7606_s3d_missing_well_known_withdraws() {
    // RFC 7606 §3 d: NLRI without NEXT_HOP.
    let b = update(&[], &[ORIGIN, AS_PATH].concat(), NLRI);
    assert_eq!(
        decode(&b),
        withdraw(3, UpdateError::MissingWellKnownAttribute { type_code: 3 })
    );
    // RFC 4760 §3 exception: MP_REACH_NLRI needs ORIGIN and AS_PATH but no NEXT_HOP.
    let mp = [
        0x80, 0x0e, 0x15, 0x00, 0x02, 0x01, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 1, 0x00,
    ];
    let b = update(&[], &[AS_PATH, &mp].concat(), &[]);
    assert_eq!(
        decode(&b),
        Verdict::TreatAsWithdraw {
            prefixes: vec![],
            why: vec![Finding {
                type_code: Some(1),
                error: UpdateError::MissingWellKnownAttribute { type_code: 1 }
            }]
        }
    );
    let b = update(&[], &[ORIGIN, AS_PATH, &mp].concat(), &[]);
    assert_eq!(decode(&b), Verdict::Accepted);
    // Withdrawals only: no mandatory attributes needed.
    assert_eq!(decode(&update(&[0x08, 0x0a], &[], &[])), Verdict::Accepted);
}

#[test]
fn rfc7606_s3g_duplicate_attribute_discarded() {
    // RFC 7606 §3 g: repeated attributes other than MP: all but the first discarded.
    let med = [0x80, 0x04, 0x04, 0, 0, 0, 1];
    let med2 = [0x80, 0x04, 0x04, 0, 0, 0, 2];
    let b = with(&[med, med2].concat());
    let e = UpdateError::MalformedAttributeList {
        offset: A3 + 7,
        problem: AttributeListProblem::Duplicate,
        type_code: Some(4),
    };
    let d = Message::decode(&b, &DecodeCtx::modern());
    assert_eq!(d.verdict, discard(4, e));
    let Some(Message::Update(u)) = d.message else {
        panic!()
    };
    assert_eq!(u.multi_exit_disc(), Some(1), "the first occurrence is kept");
}

#[test]
fn rfc7606_s3g_duplicate_mp_reach_resets() {
    // RFC 7606 §3 g: MP_REACH_NLRI twice -> Malformed Attribute List.
    let mp = [0x80, 0x0f, 0x03, 0x00, 0x02, 0x01];
    let b = update(&[], &[mp, mp].concat(), &[]);
    let v = decode(&b);
    assert_eq!(
        reset_code(&v),
        (3, sub::MALFORMED_ATTRIBUTE_LIST, Bytes::new())
    );
}

#[test]
fn rfc7606_s3g_strongest_approach_wins() {
    // RFC 7606 §3 g: a discard and a treat-as-withdraw -> treat-as-withdraw, both reported.
    let aa = [0x40, 0x06, 0x01, 0];
    let med = [0x80, 0x04, 0x03, 0, 0, 1];
    let v = decode(&with(&[&aa[..], &med].concat()));
    assert_eq!(
        v,
        Verdict::TreatAsWithdraw {
            prefixes: ten_slash_8(),
            why: vec![
                Finding {
                    type_code: Some(6),
                    error: length_error(A3, 6, &aa)
                },
                Finding {
                    type_code: Some(4),
                    error: length_error(A3 + 4, 4, &med)
                },
            ]
        }
    );
}

#[test]
fn rfc7606_s3h_withdrawn_routes_syntax_resets() {
    // RFC 7606 §3 h, §5.3: Withdrawn Routes checked like NLRI: /33 -> session reset.
    let b = update(&[0x21, 1, 2, 3, 4, 5], &[], &[]);
    let v = decode(&b);
    assert_eq!(
        reset_code(&v),
        (3, sub::INVALID_NETWORK_FIELD, Bytes::new())
    );
    let Verdict::SessionReset { error, .. } = v else {
        unreachable!()
    };
    assert_eq!(
        error,
        DecodeError::Update(UpdateError::InvalidNetworkField {
            offset: 21,
            prefix_len: 33
        })
    );
}

#[test]
fn rfc7606_s5_3_nlri_syntax_resets() {
    // RFC 7606 §5.3: NLRI prefix overruns the message -> session reset.
    let b = update(&[], &mandatory(), &[0x18, 0x0a, 0x00]);
    let Verdict::SessionReset {
        error,
        notification,
    } = decode(&b)
    else {
        panic!()
    };
    assert_eq!(
        error,
        DecodeError::Update(UpdateError::InvalidNetworkField {
            offset: A3,
            prefix_len: 24
        })
    );
    assert_eq!(
        (notification.code, notification.subcode),
        (ErrorCode::UPDATE_MESSAGE_ERROR, 10)
    );
}

#[test]
fn rfc7606_s4_attribute_length_overrun_withdraws() {
    // RFC 7606 §4: the last attribute's length exceeds the Total Path Attribute Length.
    let b = with(&[0x80, 0x04, 0x04, 0, 0]);
    let e = UpdateError::MalformedAttributeList {
        offset: A3,
        problem: AttributeListProblem::AttributeOverrun,
        type_code: Some(4),
    };
    assert_eq!(decode(&b), withdraw(4, e));
}

#[test]
fn rfc7606_s4_too_few_octets_for_attribute_withdraws() {
    // RFC 7606 §4: fewer than 3 octets left when an attribute should begin.
    let b = with(&[0x80, 0x04]);
    let e = UpdateError::MalformedAttributeList {
        offset: A3,
        problem: AttributeListProblem::AttributeOverrun,
        type_code: None,
    };
    assert_eq!(
        decode(&b),
        Verdict::TreatAsWithdraw {
            prefixes: ten_slash_8(),
            why: vec![Finding {
                type_code: None,
                error: e
            }]
        }
    );
}

#[test]
fn rfc4271_s6_3_withdrawn_length_overrun_resets() {
    // Withdrawn Routes Length larger than the message.
    let mut b = common::msg(2, &[0x00, 0x10, 0x00, 0x00]);
    assert_eq!(
        reset_code(&decode(&b)),
        (3, sub::MALFORMED_ATTRIBUTE_LIST, Bytes::new())
    );
    // Total Path Attribute Length larger than what is left.
    b = common::msg(2, &[0x00, 0x00, 0x00, 0x05, 0x40]);
    let Verdict::SessionReset { error, .. } = decode(&b) else {
        panic!()
    };
    assert_eq!(
        error,
        DecodeError::Update(UpdateError::MalformedAttributeList {
            offset: 21,
            problem: AttributeListProblem::TotalPathAttributeLength,
            type_code: None
        })
    );
}

#[test]
fn rfc4271_s6_3_unrecognized_well_known_resets() {
    // RFC 4271 §6.3: unknown type without the Optional bit; data is the attribute.
    let bad = [0x40, 0xc8, 0x01, 0x00];
    assert_eq!(
        reset_code(&decode(&with(&bad))),
        (
            3,
            sub::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
            Bytes::copy_from_slice(&bad)
        )
    );
}

#[test]
fn unknown_optional_attribute_kept() {
    // RFC 4271 §5: unrecognised optional attributes are accepted (and passed on raw).
    let b = with(&[0xc0, 0xc8, 0x01, 0x07]);
    let d = Message::decode(&b, &DecodeCtx::modern());
    assert_eq!(d.verdict, Verdict::Accepted);
    assert_eq!(
        d.message
            .unwrap()
            .to_bytes(&bgp_wire::EncodeCtx::modern())
            .unwrap(),
        b
    );
}

#[test]
fn treat_as_withdraw_lists_mp_prefixes() {
    // RFC 7606 §2: every prefix of the UPDATE, MP ones included, is withdrawn.
    let mp = [
        0x80, 0x0e, 0x1a, 0x00, 0x02, 0x01, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 1, 0x00, 0x20, 0x20, 0x01, 0x0d, 0xb8,
    ];
    let unreach = [0x80, 0x0f, 0x06, 0x00, 0x02, 0x01, 0x10, 0x20, 0x02];
    let bad_med = [0x80, 0x04, 0x01, 0];
    let b = update(
        &[0x08, 0x0b],
        &[ORIGIN, AS_PATH, &mp, &unreach, &bad_med].concat(),
        &[],
    );
    let v = decode(&b);
    let Verdict::TreatAsWithdraw { prefixes, .. } = v else {
        panic!("{v:?}")
    };
    let got: Vec<String> = prefixes
        .iter()
        .map(|(f, n)| format!("{f} {}", n.prefix))
        .collect();
    assert_eq!(
        got,
        [
            "ipv4-unicast 11.0.0.0/8",
            "ipv6-unicast 2002::/16",
            "ipv6-unicast 2001:db8::/32"
        ]
    );
}
