//! Runs the `bgp-decode` binary on the shipped samples and checks every line against
//! expectations written by hand from the sample comments (RFC sections cited there).

use std::path::PathBuf;
use std::process::{Command, Output};

fn samples(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/bgp")
        .join(name)
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bgp-decode"));
    cmd.args(args);
    if let Some(input) = stdin {
        use std::io::Write;
        use std::process::Stdio;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn bgp-decode");
        child.stdin.take().unwrap().write_all(input).unwrap();
        return child.wait_with_output().unwrap();
    }
    cmd.output().expect("run bgp-decode")
}

fn lines(o: &Output) -> Vec<String> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn session_sample_every_message_ok() {
    let o = run(&[samples("session.hex").to_str().unwrap()], None);
    assert_eq!(o.status.code(), Some(0));
    let expected = [
        "ok OPEN as=65001 hold=90 id=10.0.0.1 caps=mp:ipv4-unicast,mp:ipv6-unicast,route-refresh,\
         enhanced-route-refresh,gr:120s:RN:1,as4:65001,add-path:1,llgr:1,fqdn:leaf.test,role:3,\
         extended-nexthop:1,extended-message,cap131",
        "ok OPEN as=4200000000 hold=180 id=192.0.2.2 caps=mp:ipv4-unicast,as4:4200000000,route-refresh",
        // RFC 9072 §2: the sample's extended optional parameters.
        "ok OPEN as=65001 hold=90 id=10.0.0.1 ext-params caps=mp:ipv4-unicast,as4:65001,llgr:0",
        "ok KEEPALIVE",
        "ok UPDATE attrs=1,2,3,4,5,6,7,8,9,10,16,32,35,99 path=65001,65002,4200000000 nh=192.0.2.1 \
         announce=10.0.0.0/8,192.168.1.0/24,192.0.2.255/32 withdraw=198.51.100.0/24",
        "ok UPDATE attrs=1,2,14,15 path=65001 mp_nh=2001:db8::1+fe80::1 \
         announce=2001:db8:0:1::/64,2001:db8:2::/48 withdraw=2001:db8:0:9::/64",
        "ok UPDATE eor=ipv4-unicast",
        "ok UPDATE eor=ipv6-unicast",
        "ok UPDATE eor=afi1/safi128",
        "ok ROUTE-REFRESH ipv4-unicast normal",
        "ok ROUTE-REFRESH ipv6-unicast borr",
        "ok ROUTE-REFRESH ipv6-unicast eorr",
        "ok NOTIFICATION 6/2 (Cease) \"maintenance\"",
        "ok NOTIFICATION 6/10 (Cease)",
        "ok NOTIFICATION 6/9 (Cease) data=0400",
    ];
    assert_eq!(lines(&o), expected);
}

#[test]
fn malformed_sample_verdicts() {
    let o = run(&[samples("malformed.hex").to_str().unwrap()], None);
    // Verdicts are not errors: exit 0.
    assert_eq!(o.status.code(), Some(0));
    let got = lines(&o);
    let heads: Vec<String> = got
        .iter()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        heads,
        [
            "withdraw 1", // RFC 7606 §7.1
            "discard 6",  // RFC 7606 §7.6
            "discard 4",  // RFC 7606 §3 g
            "withdraw 1", // RFC 7606 §3 d
            "reset 3/9",  // RFC 7606 §7.11
            "reset 3/2",  // RFC 4271 §6.3
            "reset 3/10", // RFC 7606 §5.3
            "reset 1/1",  // RFC 4271 §6.1
            "reset 1/3",  // RFC 4271 §6.1
            "reset 2/6",  // RFC 4271 §6.2
            "reset 7/1",  // RFC 7313 §5
        ]
    );
    assert_eq!(
        got[0],
        "withdraw 1 why=1 prefixes=10.0.0.0/8 UPDATE attrs=2,3 path=65001 nh=192.0.2.1 announce=10.0.0.0/8"
    );
}

#[test]
fn context_flags() {
    // --as2: the RFC 6793 §4.2.3 merged path.
    let o = run(&["--as2", samples("as2.hex").to_str().unwrap()], None);
    assert_eq!(
        lines(&o),
        [
            "ok UPDATE attrs=1,2,3,7,17,18 path=65001,4200000000,4200000001,65002 nh=192.0.2.1 announce=203.0.113.0/24"
        ]
    );
    // Without --as2 the 2-octet AS_PATH does not parse as 4-octet: treat-as-withdraw.
    let o = run(&[samples("as2.hex").to_str().unwrap()], None);
    assert!(lines(&o)[0].starts_with("withdraw 1 "), "{:?}", lines(&o));
    // --add-path: path identifiers.
    let o = run(
        &["--add-path", samples("add-path.hex").to_str().unwrap()],
        None,
    );
    assert_eq!(
        lines(&o),
        [
            "ok UPDATE attrs=1,2,3 path= nh=192.0.2.1 announce=198.51.100.0/24 withdraw=198.51.101.0/24"
        ]
    );
}

#[test]
fn raw_stream_from_stdin() {
    let data = std::fs::read(samples("session.bin")).unwrap();
    let o = run(&["--raw"], Some(&data));
    assert_eq!(o.status.code(), Some(0));
    let heads: Vec<String> = lines(&o)
        .iter()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        heads,
        [
            "ok OPEN",
            "ok KEEPALIVE",
            "ok UPDATE",
            "ok UPDATE",
            "ok UPDATE",
            "ok NOTIFICATION"
        ]
    );
    // A stream that ends inside a message is an input error (exit 1) after the complete ones.
    let o = run(&["--raw"], Some(&data[..data.len() - 1]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(lines(&o).len(), 5);
}

#[test]
fn json_output() {
    let o = run(
        &["--json"],
        Some(b"ffffffffffffffffffffffffffffffff 0015 03 060a # Cease/BFD Down\n"),
    );
    let v: serde_json::Value = serde_json::from_str(&lines(&o)[0]).unwrap();
    assert_eq!(v["verdict"], "ok");
    assert_eq!(v["message"]["Notification"]["code"], 6);
    assert_eq!(v["message"]["Notification"]["subcode"], 10);
}

#[test]
fn hex_syntax_and_exit_codes() {
    // `0x`, `:` separators, blank lines and comments.
    let o = run(
        &[],
        Some(b"# comment\n\n0xff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:ff:00:13:04\n"),
    );
    assert_eq!(lines(&o), ["ok KEEPALIVE"]);
    assert_eq!(o.status.code(), Some(0));
    // Unreadable hex: exit 1.
    assert_eq!(run(&[], Some(b"zz\n")).status.code(), Some(1));
    // Missing file: I/O error, exit 1. Unknown flag: usage error, exit 2.
    assert_eq!(run(&["/nonexistent/bgp.hex"], None).status.code(), Some(1));
    assert_eq!(run(&["--bogus"], None).status.code(), Some(2));
}
