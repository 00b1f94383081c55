//! Header, OPEN, NOTIFICATION and ROUTE-REFRESH errors and the NOTIFICATION each maps to
//! (RFC 4271 §6.1-6.2, RFC 7313 §5, RFC 7607, RFC 8654 §4), one test per subcode.

mod common;

use std::net::Ipv4Addr;

use bgp_wire::error::{HeaderError, NotificationError, OpenError, OpenField, RouteRefreshError};
use bgp_wire::route_refresh::{RouteRefresh, Subtype};
use bgp_wire::{DecodeCtx, DecodeError, Family, Message, Notification};
use bytes::Bytes;
use common::msg;

fn err(b: &[u8]) -> DecodeError {
    err_ctx(b, &DecodeCtx::modern())
}

fn err_ctx(b: &[u8], ctx: &DecodeCtx) -> DecodeError {
    Message::parse(b, ctx).expect_err("must not parse")
}

fn wire(e: &DecodeError) -> (u8, u8, Vec<u8>) {
    let n = Notification::from(e);
    (n.code.0, n.subcode, n.data.to_vec())
}

/// An OPEN body: version, AS, hold time, identifier, then optional parameters.
fn open_body(version: u8, my_as: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold.to_be_bytes());
    b.extend_from_slice(&id);
    b.push(params.len() as u8);
    b.extend_from_slice(params);
    b
}

#[test]
fn rfc4271_s6_1_marker_not_all_ones() {
    let mut b = msg(4, &[]);
    b[3] = 0;
    let e = err(&b);
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::ConnectionNotSynchronized)
    );
    assert_eq!(wire(&e), (1, 1, vec![]));
}

#[test]
fn rfc4271_s6_1_bad_message_length() {
    // Length below 19: data is the Length field.
    let mut b = msg(4, &[]);
    b[17] = 18;
    let e = err(&b);
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 18,
            available: 19
        })
    );
    assert_eq!(wire(&e), (1, 2, vec![0, 18]));
    // Above 4096 without RFC 8654.
    let b = msg(
        2,
        &[0; 4097 - 19 - 4]
            .iter()
            .chain(&[0u8; 4])
            .copied()
            .collect::<Vec<_>>(),
    );
    let e = err(&b);
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 4097,
            available: 4097
        })
    );
    assert_eq!(wire(&e), (1, 2, vec![0x10, 0x01]));
    // Per-type minimums: KEEPALIVE must be 19, OPEN at least 29, UPDATE 23, NOTIFICATION 21.
    for (t, body_len, length) in [(4u8, 1usize, 20u16), (1, 9, 28), (2, 3, 22), (3, 1, 20)] {
        let e = err(&msg(t, &vec![0; body_len]));
        assert_eq!(
            e,
            DecodeError::Header(HeaderError::BadMessageLength {
                length,
                available: length.into()
            })
        );
        assert_eq!(wire(&e), (1, 2, length.to_be_bytes().to_vec()));
    }
    // The buffer must hold exactly Length octets.
    let mut b = msg(4, &[]);
    b.push(0);
    assert_eq!(
        err(&b),
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 19,
            available: 20
        })
    );
}

#[test]
fn rfc8654_s4_extended_message_limits() {
    let ext = DecodeCtx::modern().with_extended_message(true);
    // A 5000-octet UPDATE withdrawing 4977 zero-length prefixes is fine with RFC 8654.
    let mut body = vec![0x13, 0x71];
    body.extend(std::iter::repeat_n(0u8, 0x1371));
    body.extend_from_slice(&[0, 0]);
    let b = msg(2, &body);
    assert_eq!(b.len(), 5000);
    assert!(matches!(Message::parse(&b, &ext), Ok(Message::Update(_))));
    assert_eq!(
        err(&b),
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 5000,
            available: 5000
        })
    );
    // OPEN never exceeds 4096 (RFC 8654 §4).
    let mut open = open_body(4, 65001, 90, [10, 0, 0, 1], &[]);
    open.resize(5000 - 19, 0);
    let e = err_ctx(&msg(1, &open), &ext);
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 5000,
            available: 5000
        })
    );
}

#[test]
fn rfc4271_s6_1_bad_message_type() {
    let e = err(&msg(6, &[]));
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::BadMessageType { msg_type: 6 })
    );
    assert_eq!(wire(&e), (1, 3, vec![6]));
}

#[test]
fn rfc4271_s6_2_unsupported_version() {
    let e = err(&msg(1, &open_body(3, 65001, 90, [10, 0, 0, 1], &[])));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::UnsupportedVersionNumber { version: 3 })
    );
    // Data: the largest supported version, 2 octets.
    assert_eq!(wire(&e), (2, 1, vec![0, 4]));
}

#[test]
fn rfc7607_bad_peer_as_zero() {
    let e = err(&msg(1, &open_body(4, 0, 90, [10, 0, 0, 1], &[])));
    assert_eq!(e, DecodeError::Open(OpenError::BadPeerAs { asn: 0 }));
    assert_eq!(wire(&e), (2, 2, vec![]));
    let e = err(&msg(
        1,
        &open_body(4, 23456, 90, [10, 0, 0, 1], &[2, 6, 0x41, 4, 0, 0, 0, 0]),
    ));
    assert_eq!(e, DecodeError::Open(OpenError::BadPeerAs { asn: 0 }));
}

#[test]
fn rfc6286_bad_bgp_identifier_zero() {
    let e = err(&msg(1, &open_body(4, 65001, 90, [0, 0, 0, 0], &[])));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::BadBgpIdentifier {
            id: Ipv4Addr::UNSPECIFIED
        })
    );
    assert_eq!(wire(&e), (2, 3, vec![]));
}

#[test]
fn rfc4271_s6_2_unsupported_optional_parameter() {
    // Type 1 (deprecated authentication) is not supported.
    let e = err(&msg(1, &open_body(4, 65001, 90, [10, 0, 0, 1], &[1, 1, 0])));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::UnsupportedOptionalParameter {
            offset: 29,
            param_type: 1
        })
    );
    assert_eq!(wire(&e), (2, 4, vec![]));
}

#[test]
fn rfc4271_s6_2_unacceptable_hold_time() {
    for hold in [1, 2] {
        let e = err(&msg(1, &open_body(4, 65001, hold, [10, 0, 0, 1], &[])));
        assert_eq!(
            e,
            DecodeError::Open(OpenError::UnacceptableHoldTime { hold_time: hold })
        );
        assert_eq!(wire(&e), (2, 6, vec![]));
    }
    for hold in [0, 3] {
        assert!(matches!(
            Message::parse(&msg(1, &open_body(4, 65001, hold, [10, 0, 0, 1], &[])), &DecodeCtx::modern()),
            Ok(Message::Open(o)) if o.hold_time == hold
        ));
    }
}

#[test]
fn rfc4271_s6_2_malformed_optional_parameters_unspecific() {
    // Opt Parm Len says 4, one octet follows.
    let mut body = open_body(4, 65001, 90, [10, 0, 0, 1], &[2]);
    body[9] = 4;
    let e = err(&msg(1, &body));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::Malformed {
            offset: 28,
            field: OpenField::OptionalParametersLength
        })
    );
    assert_eq!(wire(&e), (2, 0, vec![]));
    // Parameter overruns the optional parameters.
    let e = err(&msg(
        1,
        &open_body(4, 65001, 90, [10, 0, 0, 1], &[2, 5, 0x41, 4]),
    ));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::Malformed {
            offset: 29,
            field: OpenField::OptionalParameter
        })
    );
    // Capability overruns its parameter.
    let e = err(&msg(
        1,
        &open_body(4, 65001, 90, [10, 0, 0, 1], &[2, 2, 0x41, 4]),
    ));
    assert_eq!(
        e,
        DecodeError::Open(OpenError::Malformed {
            offset: 31,
            field: OpenField::Capability
        })
    );
}

#[test]
fn rfc5492_malformed_known_capability_kept_raw() {
    // RFC 5492 §3: a capability we cannot use is ignored; kept raw for re-emit.
    let b = msg(
        1,
        &open_body(4, 65001, 90, [10, 0, 0, 1], &[2, 3, 0x41, 1, 7]),
    );
    let Ok(Message::Open(o)) = Message::parse(&b, &DecodeCtx::modern()) else {
        panic!()
    };
    assert_eq!(
        o.capabilities().collect::<Vec<_>>(),
        [&bgp_wire::capability::Capability::Unknown {
            code: 0x41,
            value: Bytes::from_static(&[7])
        }]
    );
}

#[test]
fn rfc4271_s4_5_notification_too_short() {
    // The header check catches a 20-octet NOTIFICATION first (Bad Message Length).
    let e = err(&msg(3, &[6]));
    assert_eq!(
        e,
        DecodeError::Header(HeaderError::BadMessageLength {
            length: 20,
            available: 20
        })
    );
    // The body check, for direct use of the NOTIFICATION error.
    let e = DecodeError::Notification(NotificationError::TooShort { length: 1 });
    assert_eq!(wire(&e), (1, 2, vec![0, 20]));
}

#[test]
fn rfc7313_s5_route_refresh_invalid_length() {
    let b = msg(5, &[0, 1, 0, 1, 0]);
    let e = err(&b);
    assert_eq!(
        e,
        DecodeError::RouteRefresh(RouteRefreshError::InvalidMessageLength {
            length: 24,
            message: Bytes::from(b.clone())
        })
    );
    // Data: the complete message.
    assert_eq!(wire(&e), (7, 1, b));
}

#[test]
fn rfc7313_s5_unknown_subtype_kept() {
    let b = msg(5, &[0, 1, 9, 1]);
    assert_eq!(
        Message::parse(&b, &DecodeCtx::modern()),
        Ok(Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: Subtype(9)
        }))
    );
}

#[test]
fn unknown_notification_codes_round_trip() {
    // Unknown codes and subcodes are kept (style rule 12).
    let b = msg(3, &[0x63, 0x2a, 1, 2, 3]);
    let Ok(Message::Notification(n)) = Message::parse(&b, &DecodeCtx::modern()) else {
        panic!()
    };
    assert_eq!(
        (n.code.0, n.subcode, &n.data[..]),
        (0x63, 0x2a, &[1u8, 2, 3][..])
    );
    assert_eq!(
        Message::Notification(n)
            .to_bytes(&bgp_wire::EncodeCtx::modern())
            .unwrap(),
        b
    );
}

#[test]
fn every_update_error_maps_to_its_subcode() {
    // RFC 4271 §6.3: exhaustive table of UpdateError -> (3, subcode, data).
    use bgp_wire::error::{AttributeListProblem, UpdateError as U};
    let a = Bytes::from_static(&[0x40, 1, 1, 9]);
    let table: Vec<(U, u8, Vec<u8>)> = vec![
        (
            U::MalformedAttributeList {
                offset: 1,
                problem: AttributeListProblem::Duplicate,
                type_code: None,
            },
            1,
            vec![],
        ),
        (
            U::UnrecognizedWellKnownAttribute {
                offset: 1,
                type_code: 1,
                attribute: a.clone(),
            },
            2,
            a.to_vec(),
        ),
        (U::MissingWellKnownAttribute { type_code: 3 }, 3, vec![3]),
        (
            U::AttributeFlagsError {
                offset: 1,
                type_code: 1,
                flags: 0,
                attribute: a.clone(),
            },
            4,
            a.to_vec(),
        ),
        (
            U::AttributeLengthError {
                offset: 1,
                type_code: 1,
                length: 1,
                attribute: a.clone(),
            },
            5,
            a.to_vec(),
        ),
        (
            U::InvalidOrigin {
                offset: 1,
                value: 9,
                attribute: a.clone(),
            },
            6,
            a.to_vec(),
        ),
        (
            U::InvalidNextHop {
                offset: 1,
                next_hop: Ipv4Addr::UNSPECIFIED,
                attribute: a.clone(),
            },
            8,
            a.to_vec(),
        ),
        (
            U::OptionalAttributeError {
                offset: 1,
                type_code: 14,
                attribute: a.clone(),
            },
            9,
            a.to_vec(),
        ),
        (
            U::UnexpectedAttribute {
                offset: 1,
                type_code: 17,
            },
            9,
            vec![],
        ),
        (
            U::InvalidNetworkField {
                offset: 1,
                prefix_len: 33,
            },
            10,
            vec![],
        ),
        (
            U::MalformedAsPath {
                offset: 1,
                type_code: 2,
            },
            11,
            vec![],
        ),
    ];
    for (e, sub, data) in table {
        assert_eq!(
            wire(&DecodeError::Update(e.clone())),
            (3, sub, data),
            "{e:?}"
        );
    }
}
