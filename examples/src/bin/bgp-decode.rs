//! `bgp-decode`: decode BGP messages and print one verdict line per message.
//!
//! Input is hex text, one message per line (19-octet header included; whitespace, `:`
//! and a leading `0x` are ignored; `#` starts a comment), or with `--raw` a binary stream
//! of consecutive messages, from the files given or stdin. Each line of output starts
//! with the RFC 7606 verdict word:
//!
//! ```text
//! ok <TYPE> ...summary...
//! discard <attribute type codes> ...summary...
//! withdraw <number of prefixes> why=<type codes> prefixes=...
//! reset <code>/<subcode> ...error...
//! ```
//!
//! `--json` prints one JSON object per message instead. Exit status: 0 when every message
//! was read (whatever the verdicts), 1 on I/O errors or unreadable input (bad hex, a raw
//! stream that ends inside a message), 2 on usage errors.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bgp_wire::capability::Capability;
use bgp_wire::header::{HEADER_LEN, MARKER};
use bgp_wire::route_refresh::Subtype;
use bgp_wire::{DecodeCtx, Family, Finding, Message, Notification, Update, Verdict};
use clap::Parser;
use serde_json::json;

/// Decode BGP messages (hex lines or a raw stream) and print one verdict line each.
#[derive(Debug, Parser)]
#[command(name = "bgp-decode", version)]
struct Args {
    /// AS numbers are 2 octets (no RFC 6793 capability negotiated).
    #[arg(long)]
    as2: bool,
    /// ADD-PATH path identifiers on IPv4 and IPv6 unicast (RFC 7911).
    #[arg(long)]
    add_path: bool,
    /// Extended messages up to 65535 octets (RFC 8654).
    #[arg(long)]
    ext_msg: bool,
    /// One JSON object per message.
    #[arg(long)]
    json: bool,
    /// Input is a binary stream of consecutive messages instead of hex lines.
    #[arg(long)]
    raw: bool,
    /// Input files; stdin when none.
    files: Vec<PathBuf>,
}

fn ctx(a: &Args) -> DecodeCtx {
    DecodeCtx::modern()
        .with_four_octet_as(!a.as2)
        .with_extended_message(a.ext_msg)
        .with_add_path(Family::IPV4_UNICAST, a.add_path)
        .with_add_path(Family::IPV6_UNICAST, a.add_path)
}

/// Parses one hex line; `Ok(None)` for blank and comment-only lines.
fn hex_line(line: &str) -> Result<Option<Vec<u8>>, String> {
    let line = line.split('#').next().unwrap_or("");
    let mut s: String = line
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if let Some(rest) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        s = rest.to_string();
    }
    if s.is_empty() {
        return Ok(None);
    }
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("not hex: {:?}", &s[i..i + 2]))
        })
        .collect::<Result<Vec<u8>, String>>()
        .map(Some)
}

fn family_name(f: Family) -> String {
    f.to_string()
}

fn join<T: ToString>(it: impl IntoIterator<Item = T>) -> String {
    it.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn capability_name(c: &Capability) -> String {
    match c {
        Capability::Multiprotocol(f) => format!("mp:{}", family_name(*f)),
        Capability::RouteRefresh => "route-refresh".into(),
        Capability::ExtendedNextHop(v) => format!("extended-nexthop:{}", v.len()),
        Capability::ExtendedMessage => "extended-message".into(),
        Capability::Role(r) => format!("role:{}", r.0),
        Capability::GracefulRestart(g) => {
            let mut flags = String::new();
            if g.restart_state() {
                flags.push('R');
            }
            if g.notification() {
                flags.push('N');
            }
            format!(
                "gr:{}s{}{}:{}",
                g.restart_time,
                if flags.is_empty() { "" } else { ":" },
                flags,
                g.families.len()
            )
        }
        Capability::FourOctetAs(a) => format!("as4:{a}"),
        Capability::AddPath(v) => format!("add-path:{}", v.len()),
        Capability::EnhancedRouteRefresh => "enhanced-route-refresh".into(),
        Capability::LongLivedGracefulRestart(v) => format!("llgr:{}", v.len()),
        Capability::Fqdn(f) => {
            format!(
                "fqdn:{}.{}",
                String::from_utf8_lossy(&f.hostname),
                String::from_utf8_lossy(&f.domain)
            )
        }
        Capability::Unknown { code, .. } => format!("cap{code}"),
        _ => format!("cap{}", c.code()),
    }
}

fn update_summary(u: &Update) -> String {
    if let Some(f) = u.is_end_of_rib() {
        return format!("eor={}", family_name(f));
    }
    let mut parts = vec![format!(
        "attrs={}",
        join(u.attributes.iter().map(|a| a.type_code()))
    )];
    if let Some(p) = u.effective_as_path() {
        parts.push(format!("path={}", p.to_string().replace(' ', ",")));
    }
    if let Some(nh) = u.next_hop() {
        parts.push(format!("nh={nh}"));
    }
    if let Some(m) = u.mp_reach() {
        parts.push(format!("mp_nh={}", m.next_hop));
    }
    let ann: Vec<String> = u.announced().map(|(_, n)| n.prefix.to_string()).collect();
    if !ann.is_empty() {
        parts.push(format!("announce={}", ann.join(",")));
    }
    let wd: Vec<String> = u.withdrawals().map(|(_, n)| n.prefix.to_string()).collect();
    if !wd.is_empty() {
        parts.push(format!("withdraw={}", wd.join(",")));
    }
    parts.join(" ")
}

fn notification_summary(n: &Notification) -> String {
    let mut s = n.to_string();
    if let Some(text) = n.shutdown_communication() {
        s.push_str(&format!(" {text:?}"));
    } else if !n.data.is_empty() {
        s.push_str(&format!(" data={}", hex(&n.data)));
    }
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn summary(m: &Message) -> String {
    let name = m.msg_type().name().unwrap_or("?");
    let detail = match m {
        Message::Open(o) => format!(
            "as={} hold={} id={}{} caps={}",
            o.asn(),
            o.hold_time,
            o.bgp_identifier,
            // RFC 9072: the optional parameters are in the extended format.
            if o.extended_params { " ext-params" } else { "" },
            join(o.capabilities().map(capability_name))
        ),
        Message::Update(u) => update_summary(u),
        Message::Notification(n) => notification_summary(n),
        Message::Keepalive(_) => String::new(),
        Message::RouteRefresh(r) => {
            let sub = match r.subtype {
                Subtype::NORMAL => "normal".to_string(),
                Subtype::BORR => "borr".to_string(),
                Subtype::EORR => "eorr".to_string(),
                Subtype(x) => format!("subtype={x}"),
            };
            format!("{} {sub}", family_name(r.family))
        }
        _ => String::new(),
    };
    if detail.is_empty() {
        name.to_string()
    } else {
        format!("{name} {detail}")
    }
}

fn codes(f: &[Finding]) -> String {
    join(
        f.iter()
            .map(|f| f.type_code.map_or("-".to_string(), |t| t.to_string())),
    )
}

fn findings_json(f: &[Finding]) -> serde_json::Value {
    f.iter()
        .map(|f| json!({"type_code": f.type_code, "error": f.error.to_string()}))
        .collect()
}

/// One output line for one message.
fn render(bytes: &[u8], ctx: &DecodeCtx, as_json: bool) -> String {
    let d = Message::decode(bytes, ctx);
    let sum = d.message.as_ref().map(summary).unwrap_or_default();
    let (word, head, mut obj) = match &d.verdict {
        Verdict::Accepted => ("ok", String::new(), json!({})),
        Verdict::AttributesDiscarded { which } => (
            "discard",
            codes(which),
            json!({"discarded": findings_json(which)}),
        ),
        Verdict::TreatAsWithdraw { prefixes, why } => (
            "withdraw",
            format!(
                "{} why={} prefixes={}",
                prefixes.len(),
                codes(why),
                join(prefixes.iter().map(|(_, n)| n.prefix))
            ),
            json!({"withdraw": prefixes.iter().map(|(f, n)| json!({"family": family_name(*f), "prefix": n.prefix, "path_id": n.path_id})).collect::<Vec<_>>(), "why": findings_json(why)}),
        ),
        Verdict::SessionReset {
            notification,
            error,
        } => (
            "reset",
            format!("{}/{} {error}", notification.code.0, notification.subcode),
            json!({"notification": notification, "error": error.to_string()}),
        ),
        _ => ("unknown", String::new(), json!({})),
    };
    if as_json {
        obj["verdict"] = json!(word);
        obj["summary"] = json!(sum);
        obj["message"] = serde_json::to_value(&d.message).unwrap_or(serde_json::Value::Null);
        return obj.to_string();
    }
    [word, head.as_str(), sum.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a raw stream into messages by their Length fields; the error says why the
/// stream could not be read to its end.
fn raw_messages(data: &[u8]) -> (Vec<&[u8]>, Option<String>) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let rest = &data[i..];
        if rest.len() < HEADER_LEN {
            return (
                out,
                Some(format!(
                    "{} octets of an incomplete header at offset {i}",
                    rest.len()
                )),
            );
        }
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        if rest[..16] != MARKER || len < HEADER_LEN {
            // The next message cannot be located: the decoder gives its verdict on the rest.
            out.push(rest);
            return (out, None);
        }
        let Some(m) = rest.get(..len) else {
            return (
                out,
                Some(format!(
                    "stream ends inside a {len}-octet message at offset {i}"
                )),
            );
        };
        out.push(m);
        i += len;
    }
    (out, None)
}

fn run(args: &Args) -> Result<(), String> {
    let ctx = ctx(args);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut inputs: Vec<(String, Box<dyn Read>)> = Vec::new();
    if args.files.is_empty() {
        inputs.push(("<stdin>".into(), Box::new(std::io::stdin())));
    }
    for f in &args.files {
        let file = std::fs::File::open(f).map_err(|e| format!("{}: {e}", f.display()))?;
        inputs.push((f.display().to_string(), Box::new(file)));
    }
    let mut failed = None;
    for (name, mut r) in inputs {
        if args.raw {
            let mut data = Vec::new();
            r.read_to_end(&mut data)
                .map_err(|e| format!("{name}: {e}"))?;
            let (msgs, err) = raw_messages(&data);
            for m in msgs {
                writeln!(out, "{}", render(m, &ctx, args.json)).map_err(|e| e.to_string())?;
            }
            if let Some(e) = err {
                failed = Some(format!("{name}: {e}"));
            }
        } else {
            for (n, line) in std::io::BufReader::new(r).lines().enumerate() {
                let line = line.map_err(|e| format!("{name}: {e}"))?;
                match hex_line(&line) {
                    Ok(Some(bytes)) => writeln!(out, "{}", render(&bytes, &ctx, args.json))
                        .map_err(|e| e.to_string())?,
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("bgp-decode: {name}:{}: {e}", n + 1);
                        failed = Some(format!("{name}:{}: unreadable line", n + 1));
                    }
                }
            }
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    failed.map_or(Ok(()), Err)
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgp-decode: {e}");
            ExitCode::from(1)
        }
    }
}
