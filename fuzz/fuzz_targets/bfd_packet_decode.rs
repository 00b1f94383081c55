//! RFC 5880 §4 decoder: never panics; parse/emit are exact inverses on
//! canonical input; the engine's §6.8.6 ladder never panics either.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bfd::packet::{Packet, Repr};
use bfd::session::Config;
use bfd::{Engine, Path, Request, RxMeta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let r = Repr::from_packet(&p);
        let mut out = [0u8; 300];
        let n = r.emit(&mut out);
        assert_eq!(n, r.buffer_len());
        if n == usize::from(p.length()) {
            assert_eq!(&out[..n], p.as_bytes());
        }
        assert_eq!(Repr::parse(&out[..n]).unwrap(), r);
    }
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut e = Engine::new(1);
    let peer = IpAddr::from(Ipv4Addr::new(10, 0, 0, 2));
    let cfg = Config {
        desired_min_tx: Duration::from_millis(50),
        ..Config::default()
    };
    let _ = e.add_session(
        now,
        Request {
            path: Path {
                peer,
                local: None,
                ifindex: None,
            },
            config: cfg,
        },
    );
    let _ = e.handle_packet(
        now,
        data,
        RxMeta {
            source: peer,
            ifindex: None,
            ttl: Some(255),
        },
    );
});
