//! Control packet vectors (RFC 5880 §4.1-§4.4) in both directions, exact
//! error variants, and round-trip properties (house style rules 9, 32, 34).

use bfd::packet::{Auth, Diag, Error, MAX_LEN, Packet, Repr, State};
use proptest::prelude::*;

/// RFC 5880 §4.1: an Up packet with P set, no auth.
static UP_POLL: [u8; 24] = [
    0x20, // Vers 1, Diag 0
    0xe0, // Sta 3 (Up), P
    0x03, // Detect Mult 3
    0x18, // Length 24
    0x00, 0x00, 0x00, 0x01, // My Discriminator 1
    0x00, 0x00, 0x00, 0x02, // Your Discriminator 2
    0x00, 0x00, 0xc3, 0x50, // Desired Min TX 50,000 us
    0x00, 0x01, 0x86, 0xa0, // Required Min RX 100,000 us
    0x00, 0x00, 0x00, 0x00, // Required Min Echo RX 0
];

fn up_poll() -> Repr {
    Repr {
        diag: Diag::None,
        state: State::Up,
        poll: true,
        final_: false,
        control_plane_independent: false,
        demand: false,
        multipoint: false,
        detect_mult: 3,
        my_discriminator: 1,
        your_discriminator: 2,
        desired_min_tx_interval: 50_000,
        required_min_rx_interval: 100_000,
        required_min_echo_rx_interval: 0,
        auth: None,
    }
}

/// RFC 5880 §4.3: Down, diag 1, F, keyed MD5 section.
static DOWN_MD5: [u8; 48] = [
    0x21, // Vers 1, Diag 1 (Control Detection Time Expired)
    0x54, // Sta 1 (Down), F, A
    0x05, // Detect Mult 5
    0x30, // Length 48
    0xde, 0xad, 0xbe, 0xef, // My Discriminator
    0x00, 0x00, 0x00, 0x00, // Your Discriminator 0
    0x00, 0x0f, 0x42, 0x40, // Desired Min TX 1,000,000 us
    0x00, 0x00, 0x00, 0x00, // Required Min RX 0
    0x00, 0x00, 0x00, 0x00, // Required Min Echo RX 0
    0x02, // Auth Type 2 (Keyed MD5)
    0x18, // Auth Len 24
    0x07, // Auth Key ID 7
    0x00, // Reserved
    0x00, 0x00, 0x01, 0x00, // Sequence Number 256
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, // Digest
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
];

fn down_md5() -> Repr {
    Repr {
        diag: Diag::ControlDetectionTimeExpired,
        state: State::Down,
        poll: false,
        final_: true,
        detect_mult: 5,
        my_discriminator: 0xdead_beef,
        your_discriminator: 0,
        desired_min_tx_interval: 1_000_000,
        required_min_rx_interval: 0,
        auth: Some(Auth::Md5 {
            meticulous: false,
            key_id: 7,
            sequence: 256,
            digest: core::array::from_fn(|i| i as u8),
        }),
        ..up_poll()
    }
}

/// RFC 5880 §4.2: Init with a simple password "abc", diag 31 (unknown).
static INIT_PW: [u8; 30] = [
    0x3f, // Vers 1, Diag 31 (unassigned)
    0x84, // Sta 2 (Init), A
    0x01, // Detect Mult 1
    0x1e, // Length 30
    0x00, 0x00, 0x00, 0x09, // My Discriminator 9
    0x00, 0x00, 0x00, 0x00, // Your Discriminator 0
    0x00, 0x00, 0x00, 0x01, // Desired Min TX 1 us
    0x00, 0x00, 0x00, 0x01, // Required Min RX 1 us
    0x00, 0x00, 0x00, 0x00, // Required Min Echo RX 0
    0x01, 0x06, 0x01, b'a', b'b', b'c', // Simple Password, Len 6, Key ID 1
];

fn init_pw() -> Repr {
    Repr {
        diag: Diag::Other(31),
        state: State::Init,
        poll: false,
        detect_mult: 1,
        my_discriminator: 9,
        your_discriminator: 0,
        desired_min_tx_interval: 1,
        required_min_rx_interval: 1,
        auth: Some(Auth::SimplePassword {
            key_id: 1,
            password: b"abc".to_vec(),
        }),
        ..up_poll()
    }
}

fn emit(r: &Repr) -> Vec<u8> {
    let mut b = vec![0u8; r.buffer_len()];
    assert_eq!(r.emit(&mut b), r.buffer_len());
    b
}

#[test]
fn vectors_both_directions() {
    for (bytes, repr) in [
        (&UP_POLL[..], up_poll()),
        (&DOWN_MD5[..], down_md5()),
        (&INIT_PW[..], init_pw()),
    ] {
        assert_eq!(Repr::parse(bytes).unwrap(), repr);
        assert_eq!(emit(&repr), bytes, "{}", hex::encode(bytes));
    }
}

#[test]
fn view_accessors() {
    // RFC 5880 §4.1 / §4.3 field by field.
    let p = Packet::new_checked(&DOWN_MD5[..]).unwrap();
    assert_eq!(p.version(), 1);
    assert_eq!(p.diag(), Diag::ControlDetectionTimeExpired);
    assert_eq!(p.state(), State::Down);
    assert!(!p.poll() && p.final_() && p.auth_present() && !p.demand() && !p.multipoint());
    assert_eq!(p.detect_mult(), 5);
    assert_eq!(p.length(), 48);
    assert_eq!(p.my_discriminator(), 0xdead_beef);
    let a = p.auth().unwrap();
    assert_eq!((a.auth_type(), a.auth_len(), a.key_id()), (2, 24, Some(7)));
    assert_eq!(a.sequence(), Some(256));
    assert_eq!(a.digest().unwrap().len(), 16);
}

#[test]
fn trailing_bytes_beyond_length_ignored() {
    // RFC 5880 §6.8.6 discards only Length > payload.
    let mut b = UP_POLL.to_vec();
    b.extend_from_slice(&[0xff; 8]);
    assert_eq!(Repr::parse(&b).unwrap(), up_poll());
}

#[test]
fn framing_errors_exact() {
    assert_eq!(
        Repr::parse(&UP_POLL[..23]),
        Err(Error::Truncated { len: 23 })
    );
    let mut b = UP_POLL;
    b[0] = 0x40;
    assert_eq!(Repr::parse(&b), Err(Error::Version(2)));
    let mut b = UP_POLL;
    b[3] = 20;
    assert_eq!(
        Repr::parse(&b),
        Err(Error::LengthTooShort {
            length: 20,
            min: 24
        })
    );
    let mut b = UP_POLL;
    b[3] = 25;
    assert_eq!(
        Repr::parse(&b),
        Err(Error::LengthExceedsPayload {
            length: 25,
            payload: 24
        })
    );
    let mut b = DOWN_MD5;
    b[25] = 20; // MD5 Auth Len must be 24 (§4.3)
    assert_eq!(
        Repr::parse(&b),
        Err(Error::AuthLength {
            auth_type: 2,
            auth_len: 20,
            length: 48
        })
    );
    let mut b = INIT_PW;
    b[25] = 3; // password of 0 bytes (§4.2: 1-16)
    assert_eq!(
        Repr::parse(&b),
        Err(Error::AuthLength {
            auth_type: 1,
            auth_len: 3,
            length: 30
        })
    );
    let mut b = INIT_PW;
    b[25] = 40; // beyond Length
    assert_eq!(
        Repr::parse(&b),
        Err(Error::AuthLength {
            auth_type: 1,
            auth_len: 40,
            length: 30
        })
    );
}

#[test]
fn diag_and_state_display() {
    assert_eq!(State::AdminDown.to_string(), "AdminDown");
    assert_eq!(Diag::from(5).to_string(), "path-down");
    assert_eq!(u8::from(Diag::from(17)), 17);
}

fn auth_strategy() -> impl Strategy<Value = Option<Auth>> {
    prop_oneof![
        Just(None),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=16))
            .prop_map(|(key_id, password)| Some(Auth::SimplePassword { key_id, password })),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 16]>()).prop_map(
            |(meticulous, key_id, sequence, digest)| Some(Auth::Md5 {
                meticulous,
                key_id,
                sequence,
                digest
            })
        ),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 20]>()).prop_map(
            |(meticulous, key_id, sequence, hash)| Some(Auth::Sha1 {
                meticulous,
                key_id,
                sequence,
                hash
            })
        ),
        (6u8.., proptest::collection::vec(any::<u8>(), 0..=40))
            .prop_map(|(auth_type, data)| Some(Auth::Other { auth_type, data })),
    ]
}

prop_compose! {
    fn repr_strategy()(
        diag in 0u8..32, state in 0u8..4, flags in any::<[bool; 5]>(), detect_mult in any::<u8>(),
        d in any::<[u32; 5]>(), auth in auth_strategy(),
    ) -> Repr {
        Repr {
            diag: Diag::from(diag),
            state: State::from_bits(state),
            poll: flags[0], final_: flags[1], control_plane_independent: flags[2],
            demand: flags[3], multipoint: flags[4], detect_mult,
            my_discriminator: d[0], your_discriminator: d[1], desired_min_tx_interval: d[2],
            required_min_rx_interval: d[3], required_min_echo_rx_interval: d[4], auth,
        }
    }
}

proptest! {
    #[test]
    fn parse_emit_round_trip(r in repr_strategy()) {
        let b = emit(&r);
        prop_assert!(b.len() <= MAX_LEN.max(24 + 42));
        prop_assert_eq!(Repr::parse(&b).unwrap(), r);
    }

    #[test]
    fn emit_parse_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut bytes = bytes;
        if bytes.len() >= 4 {
            bytes[0] = (bytes[0] & 0x1f) | 0x20; // mostly version 1
            bytes[3] %= 81;
        }
        if let Ok(r) = Repr::parse(&bytes) {
            let len = usize::from(bytes[3]);
            // Canonical iff the auth section fills Length exactly.
            if r.buffer_len() == len {
                prop_assert_eq!(emit(&r), &bytes[..len]);
            }
        }
    }
}
