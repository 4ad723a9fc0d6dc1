//! Writes the hand-made edge-case captures of `fixtures/edge/` with
//! `sslwalk::capture::writer`: TCP conversations that carry a small TLS
//! flight (a ClientHello, then a ServerHello and ServerHelloDone), bent in
//! one way each (reordered, retransmitted, overlapping, a hole, another
//! link layer or file format, cut short...).
//!
//! Run with `cargo run --example make_edge_fixtures [DIR]` (default
//! `fixtures/edge`). The output is deterministic: running it again must
//! leave `git status` clean. fixtures/README.md lists what each file shows.

use std::error::Error;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sslwalk::capture::writer::{
    sample_client_hello, sample_server_flight, Framing, LinkLayer, PcapNgInterface, PcapOptions,
    PcapWriter, Segment, TcpConversation,
};
use sslwalk::capture::TcpFlags;
use sslwalk::event::{Direction, Timestamp};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fixtures/edge".into()),
    );
    fs::create_dir_all(&dir)?;
    let ethernet = || PcapOptions::default();
    let with_link = |link| PcapOptions {
        framing: Framing::new(link),
        ..PcapOptions::default()
    };

    write_pcap(&dir, "out-of-order.pcap", ethernet(), &out_of_order())?;
    write_pcap(&dir, "retransmission.pcap", ethernet(), &retransmission())?;
    write_pcap(&dir, "overlap.pcap", ethernet(), &overlap())?;
    write_pcap(&dir, "gap.pcap", ethernet(), &gap())?;
    write_pcap(&dir, "wraparound.pcap", ethernet(), &wraparound())?;
    write_pcap(&dir, "rst.pcap", ethernet(), &rst_mid_stream())?;
    write_pcap(&dir, "midstream.pcap", ethernet(), &midstream())?;
    write_pcap(&dir, "port-reuse.pcap", ethernet(), &port_reuse())?;
    write_pcap(&dir, "syn-ack-first.pcap", ethernet(), &syn_ack_first())?;
    write_pcap(
        &dir,
        "snaplen.pcap",
        PcapOptions {
            snaplen: 120,
            ..PcapOptions::default()
        },
        &tls_conversation(ipv4_conversation()),
    )?;

    let ipv6 = PcapOptions {
        framing: Framing {
            link: LinkLayer::Ethernet,
            ipv6_hop_by_hop: true,
        },
        ..PcapOptions::default()
    };
    write_pcap(
        &dir,
        "ipv6.pcap",
        ipv6,
        &tls_conversation(ipv6_conversation()),
    )?;
    let vlan = LinkLayer::EthernetVlan(vec![(0x88a8, 100), (0x8100, 200)]);
    write_pcap(
        &dir,
        "vlan.pcap",
        with_link(vlan),
        &tls_conversation(ipv4_conversation()),
    )?;
    write_pcap(
        &dir,
        "sll.pcap",
        with_link(LinkLayer::LinuxSll),
        &tls_conversation(ipv4_conversation()),
    )?;
    write_pcap(
        &dir,
        "sll2.pcap",
        with_link(LinkLayer::LinuxSll2),
        &tls_conversation(ipv6_conversation()),
    )?;
    write_pcap(
        &dir,
        "raw-ip.pcap",
        with_link(LinkLayer::Raw),
        &tls_conversation(ipv4_conversation()),
    )?;
    write_pcap(
        &dir,
        "null-loopback.pcap",
        with_link(LinkLayer::Null),
        &tls_conversation(ipv6_conversation()),
    )?;
    write_pcap(
        &dir,
        "big-endian.pcap",
        PcapOptions {
            big_endian: true,
            ..PcapOptions::default()
        },
        &tls_conversation(ipv4_conversation()),
    )?;
    let nanosecond_conversation = ipv4_conversation().with_step(1_000_123);
    write_pcap(
        &dir,
        "nanosecond.pcap",
        PcapOptions {
            nanosecond: true,
            ..PcapOptions::default()
        },
        &tls_conversation(nanosecond_conversation),
    )?;

    two_interfaces(&dir)?;
    truncated(&dir)?;
    Ok(())
}

fn write_pcap(dir: &Path, name: &str, options: PcapOptions, segments: &[Segment]) -> Result<()> {
    let mut writer = PcapWriter::pcap(Vec::new(), options)?;
    writer.write_segments(segments)?;
    fs::write(dir.join(name), writer.into_inner())?;
    Ok(())
}

// Documentation addresses (RFC 5737, RFC 3849).
fn ipv4_conversation() -> TcpConversation {
    TcpConversation::new(addr("192.0.2.10:49152"), addr("198.51.100.20:443"))
}

fn ipv6_conversation() -> TcpConversation {
    TcpConversation::new(addr("[2001:db8::10]:49153"), addr("[2001:db8::20]:443"))
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a literal address")
}

/// The plain conversation: handshake, ClientHello, server flight, close.
fn tls_conversation(mut conv: TcpConversation) -> Vec<Segment> {
    let mut segments = conv.handshake();
    segments.extend(conv.send(C2S, &sample_client_hello()));
    segments.push(conv.ack(S2C));
    segments.extend(conv.send(S2C, &sample_server_flight()));
    segments.push(conv.ack(C2S));
    segments.extend(conv.close());
    segments
}

/// `payload` from `dir` cut into `count` segments of equal size (the last
/// shorter).
fn cut(conv: &mut TcpConversation, dir: Direction, payload: &[u8], count: usize) -> Vec<Segment> {
    let size = payload.len().div_ceil(count);
    payload
        .chunks(size)
        .map(|chunk| conv.segment(dir, TcpFlags::ACK | TcpFlags::PSH, chunk))
        .collect()
}

/// The ClientHello in three segments sent third, first, second; the server
/// flight in two segments, second first.
fn out_of_order() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let mut segments = conv.handshake();
    let hello = cut(&mut conv, C2S, &sample_client_hello(), 3);
    segments.extend([hello[2].clone(), hello[0].clone(), hello[1].clone()]);
    let flight = cut(&mut conv, S2C, &sample_server_flight(), 2);
    segments.extend([flight[1].clone(), flight[0].clone()]);
    segments.extend(conv.close());
    restamp(segments)
}

/// The ClientHello in three segments; the second is sent again after the
/// third (exact retransmission), then a segment repeating the end of the
/// first and all of the second (partial retransmission). The server's
/// first segment is retransmitted too.
fn retransmission() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let mut segments = conv.handshake();
    let hello = cut(&mut conv, C2S, &sample_client_hello(), 3);
    segments.extend(hello.iter().cloned());
    segments.push(hello[1].clone());
    let (_, end_of_first) = hello[0].split_at(10);
    let mut partial = end_of_first;
    partial.payload.extend_from_slice(&hello[1].payload);
    segments.push(partial);
    let flight = cut(&mut conv, S2C, &sample_server_flight(), 2);
    segments.extend([flight[0].clone(), flight[0].clone(), flight[1].clone()]);
    segments.extend(conv.close());
    restamp(segments)
}

/// Overlapping segments with different content: the third ClientHello
/// segment arrives first and is buffered; then a copy of the second that
/// runs 8 bytes into the third with different bytes (`X`s); then the
/// first. The first copy of each byte wins, so the stream is the true
/// ClientHello.
fn overlap() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let mut segments = conv.handshake();
    let hello = cut(&mut conv, C2S, &sample_client_hello(), 3);
    let mut second_overlapping = hello[1].clone();
    second_overlapping.payload.extend_from_slice(&[b'X'; 8]);
    segments.extend([hello[2].clone(), second_overlapping, hello[0].clone()]);
    segments.extend(conv.send(S2C, &sample_server_flight()));
    segments.extend(conv.close());
    restamp(segments)
}

/// The second of three ClientHello segments is never captured: the stream
/// has a hole of that segment's size, reported as a gap.
fn gap() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let mut segments = conv.handshake();
    let hello = cut(&mut conv, C2S, &sample_client_hello(), 3);
    segments.extend([hello[0].clone(), hello[2].clone()]);
    segments.extend(conv.send(S2C, &sample_server_flight()));
    segments.extend(conv.close());
    restamp(segments)
}

/// Initial sequence numbers just below 2^32: the ClientHello's segments
/// (sent out of order) and the server flight cross the wrap.
fn wraparound() -> Vec<Segment> {
    let mut conv = ipv4_conversation().with_isns(u32::MAX - 40, u32::MAX - 2);
    let mut segments = conv.handshake();
    let hello = cut(&mut conv, C2S, &sample_client_hello(), 3);
    segments.extend([hello[1].clone(), hello[0].clone(), hello[2].clone()]);
    segments.extend(conv.send(S2C, &sample_server_flight()));
    segments.extend(conv.close());
    restamp(segments)
}

/// The server flight loses its first segment, then the client resets the
/// connection: the hole is reported, then the close by RST.
fn rst_mid_stream() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let mut segments = conv.handshake();
    segments.extend(conv.send(C2S, &sample_client_hello()));
    let flight = cut(&mut conv, S2C, &sample_server_flight(), 2);
    segments.push(flight[1].clone());
    segments.push(conv.rst(C2S));
    restamp(segments)
}

/// The capture starts after the handshake and the ClientHello: the first
/// packet is the server's flight. Roles come from the ports.
fn midstream() -> Vec<Segment> {
    let mut conv = ipv4_conversation();
    let _ = conv.handshake();
    let _ = conv.send(C2S, &sample_client_hello());
    let mut segments = conv.send(S2C, &sample_server_flight());
    segments.extend(conv.send(C2S, &[0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00]));
    segments.extend(conv.close());
    segments
}

/// Two connections on the same endpoints, one after the other: a new SYN
/// after the first closed.
fn port_reuse() -> Vec<Segment> {
    let first = tls_conversation(ipv4_conversation());
    let start = first.last().map(|s| s.ts).unwrap_or_default();
    let second = ipv4_conversation()
        .with_isns(0x7000_0000, 0x7800_0000)
        .starting_at(Timestamp {
            secs: start.secs + 1,
            nanos: 0,
        });
    let mut segments = first;
    segments.extend(tls_conversation(second));
    segments
}

/// The SYN was missed: the capture starts with the SYN-ACK, which fixes the
/// roles and where the client's stream starts.
fn syn_ack_first() -> Vec<Segment> {
    let mut segments = tls_conversation(ipv4_conversation());
    segments.remove(0);
    segments
}

/// Gives segments increasing times in their new order (they were stamped
/// in the order they were built).
fn restamp(mut segments: Vec<Segment>) -> Vec<Segment> {
    let mut times: Vec<Timestamp> = segments.iter().map(|s| s.ts).collect();
    times.sort();
    for (segment, ts) in segments.iter_mut().zip(times) {
        segment.ts = ts;
    }
    segments
}

/// pcapng with two interfaces: 0 is Ethernet with microsecond times, 1 is
/// raw IPv4 with nanosecond times. A Decryption Secrets Block carries a
/// key log line for the ClientHello's random. One conversation goes over
/// interface 1 in Enhanced Packet Blocks; a second, IPv6, over interface 0
/// in Simple Packet Blocks (which carry no time).
fn two_interfaces(dir: &Path) -> Result<()> {
    let interfaces = vec![
        PcapNgInterface::new(LinkLayer::Ethernet),
        PcapNgInterface {
            framing: Framing::new(LinkLayer::Ipv4),
            tsresol: 9,
            snaplen: 0,
        },
    ];
    let mut writer = PcapWriter::pcapng(Vec::new(), interfaces)?;
    let random: String = sample_client_hello()[11..43]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key_log = format!("CLIENT_RANDOM {random} {}\n", "11".repeat(48));
    writer.write_key_log(key_log.as_bytes())?;
    let first = tls_conversation(ipv4_conversation().with_step(1_000_321));
    let second = tls_conversation(ipv6_conversation());
    for segment in &first {
        writer.write_segment_on(1, segment)?;
    }
    for segment in &second {
        writer.write_simple_segment(segment)?;
    }
    fs::write(dir.join("two-interfaces.pcapng"), writer.into_inner())?;
    Ok(())
}

/// The plain conversation with its last packet cut in the middle, as when
/// a capture is copied while still being written.
fn truncated(dir: &Path) -> Result<()> {
    let mut writer = PcapWriter::pcap(Vec::new(), PcapOptions::default())?;
    writer.write_segments(&tls_conversation(ipv4_conversation()))?;
    let mut bytes = writer.into_inner();
    bytes.truncate(bytes.len() - 20);
    fs::write(dir.join("truncated.pcap"), bytes)?;
    Ok(())
}
