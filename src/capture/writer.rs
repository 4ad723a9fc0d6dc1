//! Writing captures: classic pcap and pcapng files, and synthetic TCP
//! conversations (Ethernet, VLAN, Linux cooked, loopback or raw IP
//! framing; IPv4 or IPv6; TCP with correct sequence and acknowledgment
//! numbers and checksums) to fill them.
//!
//! Used by the tests, by `examples/make_edge_fixtures.rs` (the hand-made
//! captures under `fixtures/edge/`), by the capture benchmark, and to
//! write an in-memory handshake into a pcap for the equivalence test.
//!
//! Formats followed: draft-ietf-opsawg-pcap (file header and record
//! header), draft-ietf-opsawg-pcapng (Section Header, Interface
//! Description with `if_tsresol`, Enhanced Packet, Simple Packet and
//! Decryption Secrets blocks, all little-endian), the tcpdump.org
//! link-type pages for the link-layer headers, RFC 791, RFC 8200 and
//! RFC 9293 for the packets, RFC 1071 for the Internet checksum.
//!
//! What this does not do: write big-endian pcapng, options other than
//! `if_tsresol`, IP options, or TCP options other than MSS on SYNs. It
//! models no congestion, windows or timing beyond a fixed step per packet.

use std::io::{self, Write};
use std::net::SocketAddr;

use super::net::{LinkType, TcpFlags};
use crate::event::{Direction, Timestamp};

/// How packets are framed below IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkLayer {
    /// Ethernet II (link type 1).
    Ethernet,
    /// Ethernet with stacked VLAN tags, outermost first, each a TPID
    /// (0x8100 for 802.1Q, 0x88a8 for 802.1ad) and a VLAN id.
    EthernetVlan(Vec<(u16, u16)>),
    /// Raw IP, version from the packet (link type 101).
    Raw,
    /// Raw IPv4 only (link type 228).
    Ipv4,
    /// Raw IPv6 only (link type 229).
    Ipv6,
    /// Linux cooked capture v1 (link type 113).
    LinuxSll,
    /// Linux cooked capture v2 (link type 276).
    LinuxSll2,
    /// BSD loopback (link type 0), written little-endian with macOS's
    /// AF_INET6 (30).
    Null,
    /// OpenBSD loopback (link type 108), big-endian, AF_INET6 24.
    Loop,
}

impl LinkLayer {
    pub fn link_type(&self) -> LinkType {
        match self {
            Self::Ethernet | Self::EthernetVlan(_) => LinkType::ETHERNET,
            Self::Raw => LinkType::RAW,
            Self::Ipv4 => LinkType::IPV4,
            Self::Ipv6 => LinkType::IPV6,
            Self::LinuxSll => LinkType::LINUX_SLL,
            Self::LinuxSll2 => LinkType::LINUX_SLL2,
            Self::Null => LinkType::NULL,
            Self::Loop => LinkType::LOOP,
        }
    }
}

/// How a [`Segment`] becomes a frame: the link layer, and whether IPv6
/// packets carry an extension header before TCP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framing {
    pub link: LinkLayer,
    /// Put an 8-byte Hop-by-Hop Options header (one PadN option) between
    /// the IPv6 header and TCP.
    pub ipv6_hop_by_hop: bool,
}

impl Framing {
    pub fn new(link: LinkLayer) -> Self {
        Self {
            link,
            ipv6_hop_by_hop: false,
        }
    }

    /// Appends the frame for `seg` to `out`.
    pub fn encode(&self, seg: &Segment, out: &mut Vec<u8>) {
        let ipv6 = seg.src.is_ipv6();
        let ethertype: u16 = if ipv6 { 0x86dd } else { 0x0800 };
        match &self.link {
            LinkLayer::Ethernet => {
                out.extend_from_slice(&mac_for(seg.dst));
                out.extend_from_slice(&mac_for(seg.src));
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkLayer::EthernetVlan(tags) => {
                out.extend_from_slice(&mac_for(seg.dst));
                out.extend_from_slice(&mac_for(seg.src));
                for &(tpid, vlan_id) in tags {
                    out.extend_from_slice(&tpid.to_be_bytes());
                    out.extend_from_slice(&(vlan_id & 0x0fff).to_be_bytes());
                }
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkLayer::Raw | LinkLayer::Ipv4 | LinkLayer::Ipv6 => {}
            LinkLayer::LinuxSll => {
                out.extend_from_slice(&0u16.to_be_bytes()); // to us
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.extend_from_slice(&6u16.to_be_bytes());
                out.extend_from_slice(&mac_for(seg.src));
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&ethertype.to_be_bytes());
            }
            LinkLayer::LinuxSll2 => {
                out.extend_from_slice(&ethertype.to_be_bytes());
                out.extend_from_slice(&[0, 0]); // reserved
                out.extend_from_slice(&2u32.to_be_bytes()); // interface index
                out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
                out.push(0); // to us
                out.push(6);
                out.extend_from_slice(&mac_for(seg.src));
                out.extend_from_slice(&[0, 0]);
            }
            LinkLayer::Null => {
                let family: u32 = if ipv6 { 30 } else { 2 };
                out.extend_from_slice(&family.to_le_bytes());
            }
            LinkLayer::Loop => {
                let family: u32 = if ipv6 { 24 } else { 2 };
                out.extend_from_slice(&family.to_be_bytes());
            }
        }
        let tcp = seg.tcp_bytes();
        match (seg.src, seg.dst) {
            (SocketAddr::V4(src), SocketAddr::V4(dst)) => {
                let total = (20 + tcp.len()) as u16;
                let mut header = [0u8; 20];
                header[0] = 0x45;
                header[2..4].copy_from_slice(&total.to_be_bytes());
                // A deterministic identification; DF set, so no fragments.
                header[4..6].copy_from_slice(&(seg.seq as u16).to_be_bytes());
                header[6] = 0x40;
                header[8] = 64;
                header[9] = 6;
                header[12..16].copy_from_slice(&src.ip().octets());
                header[16..20].copy_from_slice(&dst.ip().octets());
                let checksum = internet_checksum(&[&header]);
                header[10..12].copy_from_slice(&checksum.to_be_bytes());
                out.extend_from_slice(&header);
                let pseudo = pseudo_header_v4(&src.ip().octets(), &dst.ip().octets(), tcp.len());
                push_tcp_with_checksum(out, &pseudo, tcp);
            }
            (SocketAddr::V6(src), SocketAddr::V6(dst)) => {
                let extension_len = if self.ipv6_hop_by_hop { 8 } else { 0 };
                let payload_len = (extension_len + tcp.len()) as u16;
                out.extend_from_slice(&[0x60, 0, 0, 0]);
                out.extend_from_slice(&payload_len.to_be_bytes());
                out.push(if self.ipv6_hop_by_hop { 0 } else { 6 });
                out.push(64);
                out.extend_from_slice(&src.ip().octets());
                out.extend_from_slice(&dst.ip().octets());
                if self.ipv6_hop_by_hop {
                    // Next header TCP, length 0 (8 bytes), PadN of 4.
                    out.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
                }
                let pseudo = pseudo_header_v6(&src.ip().octets(), &dst.ip().octets(), tcp.len());
                push_tcp_with_checksum(out, &pseudo, tcp);
            }
            _ => {
                // Mixed address families cannot share a packet; write the
                // TCP bytes alone so the mistake shows as a malformed
                // packet rather than a panic.
                out.extend_from_slice(&tcp);
            }
        }
    }
}

/// A locally administered MAC address derived from the IP address, so
/// frames are deterministic and each host has its own.
fn mac_for(addr: SocketAddr) -> [u8; 6] {
    let tail = match addr {
        SocketAddr::V4(v4) => v4.ip().octets(),
        SocketAddr::V6(v6) => {
            let o = v6.ip().octets();
            [o[12], o[13], o[14], o[15]]
        }
    };
    [0x02, 0x00, tail[0], tail[1], tail[2], tail[3]]
}

fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], tcp_len: usize) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(src);
    pseudo.extend_from_slice(dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
    pseudo
}

fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], tcp_len: usize) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(src);
    pseudo.extend_from_slice(dst);
    pseudo.extend_from_slice(&(tcp_len as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 6]);
    pseudo
}

fn push_tcp_with_checksum(out: &mut Vec<u8>, pseudo: &[u8], mut tcp: Vec<u8>) {
    let checksum = internet_checksum(&[pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&checksum.to_be_bytes());
    out.extend_from_slice(&tcp);
}

/// RFC 1071: the one's complement of the one's complement sum of 16-bit
/// words, over the concatenation of `parts` (each but the last of even
/// length).
fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    for part in parts {
        let mut words = part.chunks_exact(2);
        for word in &mut words {
            sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            sum += u64::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One TCP segment to write, owning its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub ts: Timestamp,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub payload: Vec<u8>,
}

impl Segment {
    /// The TCP header (with an MSS option on SYNs) and payload, checksum
    /// left zero.
    fn tcp_bytes(&self) -> Vec<u8> {
        let syn = self.flags.contains(TcpFlags::SYN);
        let header_len = if syn { 24 } else { 20 };
        let mut tcp = Vec::with_capacity(header_len + self.payload.len());
        tcp.extend_from_slice(&self.src.port().to_be_bytes());
        tcp.extend_from_slice(&self.dst.port().to_be_bytes());
        tcp.extend_from_slice(&self.seq.to_be_bytes());
        tcp.extend_from_slice(&self.ack.to_be_bytes());
        tcp.push(((header_len / 4) as u8) << 4);
        tcp.push(self.flags.0);
        tcp.extend_from_slice(&65535u16.to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        if syn {
            tcp.extend_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
        }
        tcp.extend_from_slice(&self.payload);
        tcp
    }

    /// The segment's frame with the given framing.
    pub fn to_frame(&self, framing: &Framing) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + self.payload.len());
        framing.encode(self, &mut out);
        out
    }

    /// Splits the payload at `at`: the first part keeps the flags but FIN,
    /// the second starts `at` bytes later in sequence space.
    pub fn split_at(&self, at: usize) -> (Segment, Segment) {
        let at = at.min(self.payload.len());
        let mut first = self.clone();
        first.payload.truncate(at);
        first.flags = TcpFlags(self.flags.0 & !TcpFlags::FIN.0);
        let mut second = self.clone();
        second.payload = self.payload[at..].to_vec();
        second.seq = self.seq.wrapping_add(at as u32);
        second.flags = TcpFlags(self.flags.0 & !TcpFlags::SYN.0);
        (first, second)
    }
}

/// Builds the segments of one TCP connection in both directions, keeping
/// sequence and acknowledgment numbers right, and stamping each segment
/// with a clock that advances by a fixed step.
#[derive(Clone, Debug)]
pub struct TcpConversation {
    client: SocketAddr,
    server: SocketAddr,
    /// Next sequence number each side sends: client, then server.
    next_seq: [u32; 2],
    clock: Timestamp,
    step_nanos: u32,
    mss: usize,
}

impl TcpConversation {
    /// A conversation with fixed initial sequence numbers (client
    /// 0x1000_0000, server 0x2000_0000), starting at 2024-01-01T00:00:00Z
    /// with a 1 ms step, and a 1448-byte MSS for [`send`](Self::send).
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        Self {
            client,
            server,
            next_seq: [0x1000_0000, 0x2000_0000],
            clock: Timestamp {
                secs: 1_704_067_200,
                nanos: 0,
            },
            step_nanos: 1_000_000,
            mss: 1448,
        }
    }

    pub fn with_isns(mut self, client_isn: u32, server_isn: u32) -> Self {
        self.next_seq = [client_isn, server_isn];
        self
    }

    pub fn starting_at(mut self, ts: Timestamp) -> Self {
        self.clock = ts;
        self
    }

    /// Time between consecutive segments, in nanoseconds (below 1 s).
    pub fn with_step(mut self, nanos: u32) -> Self {
        self.step_nanos = nanos.min(999_999_999);
        self
    }

    pub fn with_mss(mut self, mss: usize) -> Self {
        self.mss = mss.max(1);
        self
    }

    pub fn client(&self) -> SocketAddr {
        self.client
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The next sequence number the sender of `dir` will use.
    pub fn next_seq(&self, dir: Direction) -> u32 {
        self.next_seq[index(dir)]
    }

    /// The time the next segment will carry.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }

    fn tick(&mut self) -> Timestamp {
        let now = self.clock;
        let nanos = self.clock.nanos + self.step_nanos;
        self.clock = Timestamp {
            secs: self.clock.secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        };
        now
    }

    fn endpoints(&self, dir: Direction) -> (SocketAddr, SocketAddr) {
        match dir {
            Direction::ClientToServer => (self.client, self.server),
            Direction::ServerToClient => (self.server, self.client),
        }
    }

    /// A segment from the sender of `dir` with the given flags and payload,
    /// acknowledging everything the peer sent; advances the sender's
    /// sequence number by the payload (and by one for SYN and FIN).
    pub fn segment(&mut self, dir: Direction, flags: TcpFlags, payload: &[u8]) -> Segment {
        let (src, dst) = self.endpoints(dir);
        let own = index(dir);
        let seq = self.next_seq[own];
        let ack = if flags.contains(TcpFlags::ACK) {
            self.next_seq[1 - own]
        } else {
            0
        };
        let mut advance = payload.len() as u32;
        if flags.contains(TcpFlags::SYN) {
            advance += 1;
        }
        if flags.contains(TcpFlags::FIN) {
            advance += 1;
        }
        self.next_seq[own] = seq.wrapping_add(advance);
        Segment {
            ts: self.tick(),
            src,
            dst,
            seq,
            ack,
            flags,
            payload: payload.to_vec(),
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Segment> {
        vec![
            self.segment(Direction::ClientToServer, TcpFlags::SYN, &[]),
            self.segment(
                Direction::ServerToClient,
                TcpFlags::SYN | TcpFlags::ACK,
                &[],
            ),
            self.segment(Direction::ClientToServer, TcpFlags::ACK, &[]),
        ]
    }

    /// `payload` from the sender of `dir`, cut into MSS-sized segments
    /// (ACK on each, PSH on the last).
    pub fn send(&mut self, dir: Direction, payload: &[u8]) -> Vec<Segment> {
        let chunks: Vec<&[u8]> = payload.chunks(self.mss).collect();
        let last = chunks.len().saturating_sub(1);
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let flags = if i == last {
                    TcpFlags::ACK | TcpFlags::PSH
                } else {
                    TcpFlags::ACK
                };
                self.segment(dir, flags, chunk)
            })
            .collect()
    }

    /// A bare ACK from the sender of `dir`.
    pub fn ack(&mut self, dir: Direction) -> Segment {
        self.segment(dir, TcpFlags::ACK, &[])
    }

    /// FIN-ACK from the sender of `dir`.
    pub fn fin(&mut self, dir: Direction) -> Segment {
        self.segment(dir, TcpFlags::FIN | TcpFlags::ACK, &[])
    }

    /// RST-ACK from the sender of `dir`.
    pub fn rst(&mut self, dir: Direction) -> Segment {
        self.segment(dir, TcpFlags::RST | TcpFlags::ACK, &[])
    }

    /// The client closes first: FIN, ACK, FIN, ACK.
    pub fn close(&mut self) -> Vec<Segment> {
        vec![
            self.fin(Direction::ClientToServer),
            self.ack(Direction::ServerToClient),
            self.fin(Direction::ServerToClient),
            self.ack(Direction::ClientToServer),
        ]
    }
}

fn index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

/// Options for a classic pcap file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapOptions {
    pub framing: Framing,
    /// Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds.
    pub nanosecond: bool,
    pub big_endian: bool,
    /// Frames longer than this are cut, as a capturing tool would.
    pub snaplen: u32,
}

impl Default for PcapOptions {
    /// Microseconds, little-endian, Ethernet, snapshot length 262144.
    fn default() -> Self {
        Self {
            framing: Framing::new(LinkLayer::Ethernet),
            nanosecond: false,
            big_endian: false,
            snaplen: 262_144,
        }
    }
}

/// One pcapng interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapNgInterface {
    pub framing: Framing,
    /// `if_tsresol`: timestamps in units of 10^-tsresol seconds (6 =
    /// microseconds, 9 = nanoseconds).
    pub tsresol: u8,
    /// Snapshot length; 0 means unlimited.
    pub snaplen: u32,
}

impl PcapNgInterface {
    /// Microsecond timestamps, no snapshot length.
    pub fn new(link: LinkLayer) -> Self {
        Self {
            framing: Framing::new(link),
            tsresol: 6,
            snaplen: 0,
        }
    }
}

enum FileKind {
    Pcap { big_endian: bool, nanosecond: bool },
    PcapNg,
}

struct WriterInterface {
    framing: Framing,
    snaplen: u32,
    units_per_sec: u64,
}

/// Writes a classic pcap or a pcapng file.
///
/// ```
/// use sslwalk::capture::writer::{PcapWriter, TcpConversation};
/// use sslwalk::event::Direction;
///
/// let mut conversation = TcpConversation::new(
///     "192.0.2.1:50000".parse().unwrap(),
///     "192.0.2.2:443".parse().unwrap(),
/// );
/// let mut writer = PcapWriter::ethernet(Vec::new()).unwrap();
/// let mut segments = conversation.handshake();
/// segments.extend(conversation.send(Direction::ClientToServer, b"\x16\x03\x01..."));
/// segments.extend(conversation.close());
/// writer.write_segments(&segments).unwrap();
/// let pcap_bytes: Vec<u8> = writer.into_inner();
/// # assert!(pcap_bytes.len() > 24);
/// ```
pub struct PcapWriter<W: Write> {
    out: W,
    kind: FileKind,
    interfaces: Vec<WriterInterface>,
    scratch: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    /// A classic pcap with microsecond timestamps, little-endian, Ethernet.
    pub fn ethernet(out: W) -> io::Result<Self> {
        Self::pcap(out, PcapOptions::default())
    }

    /// A classic pcap; writes the file header.
    pub fn pcap(mut out: W, options: PcapOptions) -> io::Result<Self> {
        let magic: u32 = if options.nanosecond {
            0xa1b2_3c4d
        } else {
            0xa1b2_c3d4
        };
        let mut header = Vec::with_capacity(24);
        let big = options.big_endian;
        put_u32(&mut header, magic, big);
        put_u16(&mut header, 2, big);
        put_u16(&mut header, 4, big);
        put_u32(&mut header, 0, big); // thiszone
        put_u32(&mut header, 0, big); // sigfigs
        put_u32(&mut header, options.snaplen, big);
        put_u32(
            &mut header,
            u32::from(options.framing.link.link_type().0),
            big,
        );
        out.write_all(&header)?;
        Ok(Self {
            out,
            kind: FileKind::Pcap {
                big_endian: big,
                nanosecond: options.nanosecond,
            },
            interfaces: vec![WriterInterface {
                framing: options.framing,
                snaplen: options.snaplen,
                units_per_sec: if options.nanosecond {
                    1_000_000_000
                } else {
                    1_000_000
                },
            }],
            scratch: Vec::new(),
        })
    }

    /// A little-endian pcapng with one section and these interfaces
    /// (numbered from 0 in order); writes the Section Header and Interface
    /// Description blocks.
    pub fn pcapng(mut out: W, interfaces: Vec<PcapNgInterface>) -> io::Result<Self> {
        let mut block = Vec::with_capacity(64);
        // Section Header Block: byte-order magic, version 1.0, unknown
        // section length.
        block.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        block.extend_from_slice(&28u32.to_le_bytes());
        block.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        block.extend_from_slice(&1u16.to_le_bytes());
        block.extend_from_slice(&0u16.to_le_bytes());
        block.extend_from_slice(&(-1i64).to_le_bytes());
        block.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&block)?;
        let mut written = Vec::with_capacity(interfaces.len());
        for interface in interfaces {
            if interface.tsresol > 19 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the writer supports decimal if_tsresol up to 19",
                ));
            }
            block.clear();
            let mut body = Vec::with_capacity(20);
            body.extend_from_slice(&interface.framing.link.link_type().0.to_le_bytes());
            body.extend_from_slice(&0u16.to_le_bytes());
            body.extend_from_slice(&interface.snaplen.to_le_bytes());
            // if_tsresol (code 9, length 1, padded), then opt_endofopt.
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[interface.tsresol, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
            write_ng_block(&mut out, 0x0000_0001, &body)?;
            written.push(WriterInterface {
                framing: interface.framing,
                snaplen: interface.snaplen,
                units_per_sec: 10u64.pow(u32::from(interface.tsresol)),
            });
        }
        Ok(Self {
            out,
            kind: FileKind::PcapNg,
            interfaces: written,
            scratch: Vec::new(),
        })
    }

    fn interface(&self, interface: u32) -> io::Result<&WriterInterface> {
        self.interfaces.get(interface as usize).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "no such interface in this file",
            )
        })
    }

    /// Writes one frame captured on `interface` (0 for a classic pcap) at
    /// `ts`, cut to the interface's snapshot length: a pcap record or a
    /// pcapng Enhanced Packet Block.
    pub fn write_frame(&mut self, interface: u32, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        let iface = self.interface(interface)?;
        let caplen = captured_len(frame.len(), iface.snaplen);
        let units = iface.units_per_sec;
        match self.kind {
            FileKind::Pcap {
                big_endian,
                nanosecond,
            } => {
                let mut header = Vec::with_capacity(16);
                let fraction = if nanosecond {
                    ts.nanos
                } else {
                    ts.nanos / 1_000
                };
                put_u32(&mut header, ts.secs as u32, big_endian);
                put_u32(&mut header, fraction, big_endian);
                put_u32(&mut header, caplen as u32, big_endian);
                put_u32(&mut header, frame.len() as u32, big_endian);
                self.out.write_all(&header)?;
                self.out.write_all(&frame[..caplen])
            }
            FileKind::PcapNg => {
                let raw = (ts.secs.max(0) as u64)
                    .wrapping_mul(units)
                    .wrapping_add(u64::from(ts.nanos) * units / 1_000_000_000);
                let mut body = Vec::with_capacity(20 + caplen + 3);
                body.extend_from_slice(&interface.to_le_bytes());
                body.extend_from_slice(&((raw >> 32) as u32).to_le_bytes());
                body.extend_from_slice(&(raw as u32).to_le_bytes());
                body.extend_from_slice(&(caplen as u32).to_le_bytes());
                body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
                body.extend_from_slice(&frame[..caplen]);
                pad_to_4(&mut body);
                write_ng_block(&mut self.out, 0x0000_0006, &body)
            }
        }
    }

    /// Writes a pcapng Simple Packet Block (interface 0, no timestamp).
    pub fn write_simple_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        if !matches!(self.kind, FileKind::PcapNg) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Simple Packet Blocks exist only in pcapng",
            ));
        }
        let caplen = captured_len(frame.len(), self.interface(0)?.snaplen);
        let mut body = Vec::with_capacity(4 + caplen + 3);
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(&frame[..caplen]);
        pad_to_4(&mut body);
        write_ng_block(&mut self.out, 0x0000_0003, &body)
    }

    /// Writes a pcapng Decryption Secrets Block holding an NSS key log.
    pub fn write_key_log(&mut self, text: &[u8]) -> io::Result<()> {
        if !matches!(self.kind, FileKind::PcapNg) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Decryption Secrets Blocks exist only in pcapng",
            ));
        }
        let mut body = Vec::with_capacity(8 + text.len() + 3);
        body.extend_from_slice(&0x544c_534bu32.to_le_bytes()); // "TLSK"
        body.extend_from_slice(&(text.len() as u32).to_le_bytes());
        body.extend_from_slice(text);
        pad_to_4(&mut body);
        write_ng_block(&mut self.out, 0x0000_000a, &body)
    }

    /// Frames `seg` for interface `interface` and writes it at its time.
    pub fn write_segment_on(&mut self, interface: u32, seg: &Segment) -> io::Result<()> {
        let mut frame = std::mem::take(&mut self.scratch);
        frame.clear();
        self.interface(interface)?.framing.encode(seg, &mut frame);
        let result = self.write_frame(interface, seg.ts, &frame);
        self.scratch = frame;
        result
    }

    /// Frames `seg` for interface 0 and writes it at its time.
    pub fn write_segment(&mut self, seg: &Segment) -> io::Result<()> {
        self.write_segment_on(0, seg)
    }

    /// Writes each segment in order on interface 0.
    pub fn write_segments(&mut self, segments: &[Segment]) -> io::Result<()> {
        segments.iter().try_for_each(|seg| self.write_segment(seg))
    }

    /// Frames `seg` for interface 0 and writes it as a Simple Packet Block
    /// (its time is not recorded).
    pub fn write_simple_segment(&mut self, seg: &Segment) -> io::Result<()> {
        let mut frame = std::mem::take(&mut self.scratch);
        frame.clear();
        self.interface(0)?.framing.encode(seg, &mut frame);
        let result = self.write_simple_frame(&frame);
        self.scratch = frame;
        result
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

fn captured_len(len: usize, snaplen: u32) -> usize {
    if snaplen == 0 {
        len
    } else {
        len.min(snaplen as usize)
    }
}

fn pad_to_4(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

/// A pcapng block: type, total length, body, total length again.
fn write_ng_block<W: Write>(out: &mut W, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

fn put_u16(out: &mut Vec<u8>, value: u16, big_endian: bool) {
    out.extend_from_slice(&if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    });
}

fn put_u32(out: &mut Vec<u8>, value: u32, big_endian: bool) {
    out.extend_from_slice(&if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    });
}

/// A deterministic TLS 1.2 ClientHello record, hand-assembled after RFC 5246
/// §7.4.1.2: fixed random, no session id, four RSA suites plus the
/// renegotiation SCSV, null compression, `server_name` "example.com" and
/// `signature_algorithms`. For synthetic captures.
pub fn sample_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend((0..32u8).map(|i| i.wrapping_mul(7).wrapping_add(1)));
    body.push(0); // session_id
    body.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x2f, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x05, 0x00, 0xff,
    ]);
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    let host = b"example.com";
    let mut extensions = Vec::new();
    extensions.extend_from_slice(&[0x00, 0x00]); // server_name
    extensions.extend_from_slice(&((host.len() + 5) as u16).to_be_bytes());
    extensions.extend_from_slice(&((host.len() + 3) as u16).to_be_bytes());
    extensions.push(0); // host_name
    extensions.extend_from_slice(&(host.len() as u16).to_be_bytes());
    extensions.extend_from_slice(host);
    extensions.extend_from_slice(&[0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x01, 0x02, 0x01]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    tls_record(0x0301, &handshake(1, &body))
}

/// A deterministic server flight in one TLS 1.2 record: ServerHello
/// (TLS_RSA_WITH_AES_128_CBC_SHA, a 32-byte session id, empty
/// `renegotiation_info`) then ServerHelloDone. No Certificate: it is
/// TLS-shaped filler, not a handshake that could complete.
pub fn sample_server_flight() -> Vec<u8> {
    let mut hello = vec![0x03, 0x03];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(11).wrapping_add(3)));
    hello.push(32);
    hello.extend((0..32u8).map(|i| 0xa0 ^ i));
    hello.extend_from_slice(&[0x00, 0x2f, 0x00]);
    hello.extend_from_slice(&[0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00]);
    let mut messages = handshake(2, &hello);
    messages.extend_from_slice(&handshake(14, &[]));
    tls_record(0x0303, &messages)
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![msg_type];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

fn tls_record(version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut out = vec![0x16];
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    out.extend_from_slice(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::net::decode_tcp;

    #[test]
    fn conversation_numbers_follow_tcp() {
        let mut conv = TcpConversation::new(
            "192.0.2.1:50000".parse().unwrap(),
            "192.0.2.2:443".parse().unwrap(),
        )
        .with_isns(0xffff_fffe, 7);
        let hs = conv.handshake();
        assert_eq!((hs[0].seq, hs[0].ack), (0xffff_fffe, 0));
        assert_eq!((hs[1].seq, hs[1].ack), (7, 0xffff_ffff));
        assert_eq!((hs[2].seq, hs[2].ack), (0xffff_ffff, 8));
        let data = conv.send(Direction::ClientToServer, &[1; 3000]);
        assert_eq!(data.len(), 3);
        assert_eq!(data[1].seq, 0xffff_ffffu32.wrapping_add(1448));
        assert_eq!(data[2].flags, TcpFlags::ACK | TcpFlags::PSH);
        assert_eq!(
            conv.next_seq(Direction::ClientToServer),
            0xffff_ffffu32.wrapping_add(3000)
        );
        let close = conv.close();
        assert_eq!(close[1].ack, close[0].seq.wrapping_add(1));
        assert!(hs[1].ts > hs[0].ts);
    }

    #[test]
    fn checksums_verify() {
        for (src, dst) in [
            ("192.0.2.1:1", "192.0.2.2:2"),
            ("[2001:db8::1]:1", "[2001:db8::2]:2"),
        ] {
            let mut conv = TcpConversation::new(src.parse().unwrap(), dst.parse().unwrap());
            let seg = conv.segment(Direction::ClientToServer, TcpFlags::ACK, b"odd");
            let frame = seg.to_frame(&Framing::new(LinkLayer::Raw));
            if seg.src.is_ipv4() {
                assert_eq!(internet_checksum(&[&frame[..20]]), 0);
                let pseudo = pseudo_header_v4(&[192, 0, 2, 1], &[192, 0, 2, 2], frame.len() - 20);
                assert_eq!(internet_checksum(&[&pseudo, &frame[20..]]), 0);
            } else {
                let src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
                let mut dst = src;
                dst[15] = 2;
                let pseudo = pseudo_header_v6(&src, &dst, frame.len() - 40);
                assert_eq!(internet_checksum(&[&pseudo, &frame[40..]]), 0);
            }
        }
    }

    #[test]
    fn split_keeps_sequence_space() {
        let mut conv = TcpConversation::new(
            "192.0.2.1:1".parse().unwrap(),
            "192.0.2.2:2".parse().unwrap(),
        );
        let seg = conv.segment(
            Direction::ClientToServer,
            TcpFlags::ACK | TcpFlags::FIN,
            b"abcdef",
        );
        let (a, b) = seg.split_at(2);
        assert_eq!((a.payload.as_slice(), a.flags), (&b"ab"[..], TcpFlags::ACK));
        assert_eq!(b.seq, seg.seq + 2);
        assert_eq!(b.flags, TcpFlags::ACK | TcpFlags::FIN);
        let frame = b.to_frame(&Framing::new(LinkLayer::Ethernet));
        assert_eq!(
            decode_tcp(LinkType::ETHERNET, &frame).unwrap().payload,
            b"cdef"
        );
    }

    #[test]
    fn sample_tls_lengths_are_consistent() {
        for record in [sample_client_hello(), sample_server_flight()] {
            assert_eq!(record[0], 0x16);
            let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
            assert_eq!(record.len(), 5 + len);
        }
        let hello = sample_client_hello();
        let body_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(hello.len(), 9 + body_len);
    }
}
