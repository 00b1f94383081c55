//! A classic libpcap file writer, for captured or emitted bytes.
//!
//! Writes the original pcap format (magic `a1b2c3d4`, version 2.4, microsecond
//! timestamps) with Ethernet (`LINKTYPE_ETHERNET`, 1) or raw IPv4
//! (`LINKTYPE_RAW`, 101) frames. [`TcpFlow`] wraps payloads such as BGP messages into
//! IPv4/TCP segments with correct checksums and running sequence numbers, so that
//! Wireshark/tshark decode them (BGP on port 179).

use std::io::{self, Write};
use std::net::SocketAddrV4;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The link-layer type of every frame in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet II frames (`LINKTYPE_ETHERNET` = 1).
    Ethernet,
    /// Bare IPv4/IPv6 packets (`LINKTYPE_RAW` = 101).
    RawIp,
}

impl LinkType {
    fn code(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
        }
    }
}

/// Largest frame recorded whole.
pub const SNAPLEN: u32 = 65_535;

/// Writes a pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    link: LinkType,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the 24-byte global header.
    pub fn new(mut w: W, link: LinkType) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&link.code().to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w, link })
    }

    /// The file's link type.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Writes one frame (already in the file's link type) stamped `ts` after the Unix
    /// epoch; frames longer than [`SNAPLEN`] are truncated with their original length
    /// recorded.
    pub fn write_frame(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        let caplen = frame.len().min(SNAPLEN as usize);
        let secs = u32::try_from(ts.as_secs()).unwrap_or(u32::MAX);
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(&secs.to_le_bytes());
        h.extend_from_slice(&ts.subsec_micros().to_le_bytes());
        h.extend_from_slice(&(caplen as u32).to_le_bytes());
        h.extend_from_slice(&u32::try_from(frame.len()).unwrap_or(u32::MAX).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(&frame[..caplen])
    }

    /// Writes one frame stamped with the current time.
    pub fn write_frame_now(&mut self, frame: &[u8]) -> io::Result<()> {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        self.write_frame(ts, frame)
    }

    /// Wraps `payload` as the next segment of `flow` (from its `a` side if `from_a`)
    /// and writes it.
    pub fn write_tcp(
        &mut self,
        ts: Duration,
        flow: &mut TcpFlow,
        from_a: bool,
        payload: &[u8],
    ) -> io::Result<()> {
        let frame = flow.segment(from_a, payload, self.link)?;
        self.write_frame(ts, &frame)
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// One TCP connection's two directions, for wrapping payloads into segments.
#[derive(Debug, Clone)]
pub struct TcpFlow {
    a: SocketAddrV4,
    b: SocketAddrV4,
    seq_a: u32,
    seq_b: u32,
    ip_id: u16,
}

impl TcpFlow {
    /// A flow between `a` and `b` (e.g. `10.0.0.1:40000` and `10.0.0.2:179`), with
    /// initial sequence numbers 1000 (a) and 2000 (b). No handshake is written: tshark
    /// decodes the payload without it.
    pub fn new(a: SocketAddrV4, b: SocketAddrV4) -> TcpFlow {
        TcpFlow {
            a,
            b,
            seq_a: 1000,
            seq_b: 2000,
            ip_id: 1,
        }
    }

    /// Builds the next PSH|ACK segment carrying `payload`, with an Ethernet header if
    /// `link` is [`LinkType::Ethernet`]. Payloads over 65 495 bytes do not fit one
    /// IPv4 packet: `InvalidInput`.
    pub fn segment(&mut self, from_a: bool, payload: &[u8], link: LinkType) -> io::Result<Vec<u8>> {
        let (src, dst, seq, ack) = if from_a {
            (self.a, self.b, self.seq_a, self.seq_b)
        } else {
            (self.b, self.a, self.seq_b, self.seq_a)
        };
        let total = 20 + 20 + payload.len();
        let total16 = u16::try_from(total).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "payload too large for IPv4")
        })?;
        let mut f = Vec::with_capacity(14 + total);
        if link == LinkType::Ethernet {
            let (mac_src, mac_dst) = if from_a { (1, 2) } else { (2, 1) };
            f.extend_from_slice(&[0x02, 0, 0, 0, 0, mac_dst]);
            f.extend_from_slice(&[0x02, 0, 0, 0, 0, mac_src]);
            f.extend_from_slice(&0x0800u16.to_be_bytes());
        }
        let ip_start = f.len();
        // RFC 791 §3.1 header, no options.
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total16.to_be_bytes());
        f.extend_from_slice(&self.ip_id.to_be_bytes());
        f.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
        f.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum placeholder
        f.extend_from_slice(&src.ip().octets());
        f.extend_from_slice(&dst.ip().octets());
        let c = checksum(&[&f[ip_start..ip_start + 20]]);
        f[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());
        // RFC 793 §3.1 header, no options.
        let tcp_start = f.len();
        f.extend_from_slice(&src.port().to_be_bytes());
        f.extend_from_slice(&dst.port().to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, 0x18]); // data offset 5, PSH|ACK
        f.extend_from_slice(&65535u16.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
        f.extend_from_slice(payload);
        let tcp_len = (20 + payload.len()) as u16;
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend_from_slice(&src.ip().octets());
        pseudo.extend_from_slice(&dst.ip().octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&tcp_len.to_be_bytes());
        let c = checksum(&[&pseudo, &f[tcp_start..]]);
        f[tcp_start + 16..tcp_start + 18].copy_from_slice(&c.to_be_bytes());

        self.ip_id = self.ip_id.wrapping_add(1);
        let adv = payload.len() as u32;
        if from_a {
            self.seq_a = self.seq_a.wrapping_add(adv);
        } else {
            self.seq_b = self.seq_b.wrapping_add(adv);
        }
        Ok(f)
    }
}

/// RFC 1071 Internet checksum over the concatenation of `parts` (each part's length
/// must be even except the last).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_header_is_classic_pcap() {
        let w = PcapWriter::new(Vec::new(), LinkType::RawIp).unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(
            b,
            [
                0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian
                2, 0, 4, 0, // version 2.4
                0, 0, 0, 0, // thiszone
                0, 0, 0, 0, // sigfigs
                0xff, 0xff, 0, 0, // snaplen 65535
                101, 0, 0, 0, // LINKTYPE_RAW
            ]
        );
    }

    #[test]
    fn keepalive_segment_bytes() {
        // A BGP KEEPALIVE (RFC 4271 §4.4): 16 x 0xff marker, length 19, type 4.
        let mut ka = vec![0xff; 16];
        ka.extend_from_slice(&[0, 19, 4]);
        let mut flow = TcpFlow::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:179".parse().unwrap(),
        );
        let f = flow.segment(true, &ka, LinkType::RawIp).unwrap();
        assert_eq!(f.len(), 20 + 20 + 19);
        // IPv4 header, by hand: version/IHL, TOS, total 59, id 1, DF, TTL 64, TCP.
        assert_eq!(&f[..10], &[0x45, 0, 0, 59, 0, 1, 0x40, 0, 64, 6]);
        assert_eq!(&f[12..20], &[10, 0, 0, 1, 10, 0, 0, 2]);
        // Header checksum: the one's-complement sum over the header is 0xffff.
        assert_eq!(checksum(&[&f[..20]]), 0);
        // TCP: ports 40000 -> 179, seq 1000, ack 2000, offset 5, PSH|ACK.
        assert_eq!(
            &f[20..34],
            &[
                0x9c, 0x40, 0, 179, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 0x50, 0x18
            ]
        );
        let pseudo = [10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 39];
        assert_eq!(checksum(&[&pseudo, &f[20..]]), 0);
        assert_eq!(&f[40..], &ka[..]);
        // The next segment from a continues the sequence space.
        let g = flow.segment(true, &ka, LinkType::RawIp).unwrap();
        assert_eq!(&g[24..28], &(1000u32 + 19).to_be_bytes());
        assert_eq!(&g[4..6], &[0, 2]);
    }

    #[test]
    fn ethernet_frames_and_record_headers() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
        let mut flow = TcpFlow::new(
            "10.0.0.1:40000".parse().unwrap(),
            "10.0.0.2:179".parse().unwrap(),
        );
        w.write_tcp(
            Duration::new(1_700_000_000, 123_456_000),
            &mut flow,
            false,
            &[1, 2, 3],
        )
        .unwrap();
        let b = w.into_inner().unwrap();
        let rec = &b[24..];
        assert_eq!(&rec[..4], &1_700_000_000u32.to_le_bytes());
        assert_eq!(&rec[4..8], &123_456u32.to_le_bytes());
        assert_eq!(&rec[8..12], &(14u32 + 43).to_le_bytes());
        assert_eq!(&rec[12..16], &(14u32 + 43).to_le_bytes());
        let frame = &rec[16..];
        assert_eq!(
            &frame[..14],
            &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
        );
        // From b: source 10.0.0.2:179.
        assert_eq!(&frame[14 + 12..14 + 16], &[10, 0, 0, 2]);
        assert_eq!(&frame[34..36], &[0, 179]);
    }

    #[test]
    fn oversized_payload_is_invalid_input() {
        let mut flow = TcpFlow::new("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let e = flow
            .segment(true, &vec![0; 65_496], LinkType::RawIp)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
