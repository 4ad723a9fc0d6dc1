//! From a captured frame to a borrowed TCP segment: link layer, IPv4 or
//! IPv6, then the TCP header.
//!
//! Formats followed:
//! - link layers as described on tcpdump.org's link-type pages
//!   (<https://www.tcpdump.org/linktypes.html>): Ethernet with IEEE 802.1Q
//!   and 802.1ad VLAN tags (stacked), `LINKTYPE_LINUX_SLL` (113),
//!   `LINKTYPE_LINUX_SLL2` (276), `LINKTYPE_NULL` (0), `LINKTYPE_LOOP`
//!   (108), and raw IP (`LINKTYPE_RAW` 101, `LINKTYPE_IPV4` 228,
//!   `LINKTYPE_IPV6` 229, and the DLT_RAW values 12 and 14 that old libpcap
//!   wrote into files);
//! - IPv4, RFC 791; IPv6 and its extension headers, RFC 8200 §4 (plus AH,
//!   RFC 4302 §2.2, whose length is counted in 4-byte units);
//! - TCP, RFC 9293 §3.1.
//!
//! What this does not do: verify checksums (captures taken on the sending
//! host carry offloaded, not yet computed checksums, so a wrong checksum says
//! nothing), reassemble IP fragments (every fragment is skipped as
//! [`PacketSkip::IpFragment`]; the TCP reassembler then reports the hole as
//! a gap), follow tunnels (GRE, VXLAN, IP-in-IP, MPLS, PPPoE), or decode any
//! transport but TCP. It never allocates and never copies payload bytes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A capture's link-layer header type, as stored in a pcap file header or
/// a pcapng Interface Description Block (the low 16 bits of the field).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte
    /// order, then the IP packet.
    pub const NULL: Self = Self(0);
    /// IEEE 802.3 Ethernet.
    pub const ETHERNET: Self = Self(1);
    /// DLT_RAW as most platforms number it, found in files written by old
    /// libpcap versions: the frame is an IP packet.
    pub const RAW_DLT12: Self = Self(12);
    /// DLT_RAW as OpenBSD numbers it: the frame is an IP packet.
    pub const RAW_DLT14: Self = Self(14);
    /// Raw IP: the frame is an IPv4 or IPv6 packet.
    pub const RAW: Self = Self(101);
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: Self = Self(108);
    /// Linux "cooked" capture, version 1 (16-byte header).
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux "cooked" capture, version 2 (20-byte header).
    pub const LINUX_SLL2: Self = Self(276);

    /// The tcpdump.org name without its `LINKTYPE_` prefix, for the link
    /// types this module decodes.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::NULL => "NULL",
            Self::ETHERNET => "ETHERNET",
            Self::RAW_DLT12 | Self::RAW_DLT14 | Self::RAW => "RAW",
            Self::LOOP => "LOOP",
            Self::LINUX_SLL => "LINUX_SLL",
            Self::IPV4 => "IPV4",
            Self::IPV6 => "IPV6",
            Self::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Debug for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

/// The TCP control bits (RFC 9293 §3.1), as one byte.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: Self = Self(0x01);
    pub const SYN: Self = Self(0x02);
    pub const RST: Self = Self(0x04);
    pub const PSH: Self = Self(0x08);
    pub const ACK: Self = Self(0x10);
    pub const URG: Self = Self(0x20);
    pub const ECE: Self = Self(0x40);
    pub const CWR: Self = Self(0x80);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
        let mut first = true;
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// One TCP segment, borrowing its payload from the captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The raw TCP options (between the fixed header and the data); see
    /// [`tcp_options`].
    pub options: &'a [u8],
    /// The payload bytes the capture holds.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire after `payload` but that the
    /// capture did not keep (its snapshot length cut the packet short).
    pub payload_missing: u32,
}

/// Why a packet yielded no TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketSkip {
    /// The capture's link type is not one this module decodes.
    UnsupportedLinkType(LinkType),
    /// The link layer carries something other than IPv4 or IPv6 (ARP,
    /// LLDP, an 802.3 length field...).
    NotIp { ethertype: u16 },
    /// IP carries another protocol (UDP, ICMP, ESP...): its protocol number.
    NotTcp { protocol: u8 },
    /// An IPv4 or IPv6 fragment.
    IpFragment,
    /// A header is inconsistent or cut short.
    Malformed { what: &'static str },
}

impl PacketSkip {
    /// Whether the packet was broken, rather than valid but not TCP.
    pub fn is_malformed(self) -> bool {
        matches!(self, Self::Malformed { .. })
    }
}

impl fmt::Display for PacketSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedLinkType(link) => write!(f, "unsupported link type {link:?}"),
            Self::NotIp { ethertype } => write!(f, "not IP (ethertype 0x{ethertype:04x})"),
            Self::NotTcp { protocol } => write!(f, "not TCP (IP protocol {protocol})"),
            Self::IpFragment => f.write_str("IP fragment"),
            Self::Malformed { what } => write!(f, "malformed packet: {what}"),
        }
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IEEE 802.1Q customer tag, 802.1ad service tag, and the pre-standard
/// 0x9100/0x9200 stacked-tag values some switches still send.
const ETHERTYPE_VLAN_TAGS: [u16; 4] = [0x8100, 0x88a8, 0x9100, 0x9200];
/// How many stacked VLAN tags we walk before calling the frame malformed.
const MAX_VLAN_TAGS: usize = 8;
/// How many IPv6 extension headers we walk before giving up.
const MAX_IPV6_EXTENSIONS: usize = 16;

const IP_PROTO_TCP: u8 = 6;

/// Which network layer a link layer says follows.
#[derive(Clone, Copy)]
enum NetworkHint {
    Ipv4,
    Ipv6,
    /// Decide from the IP version nibble.
    FromVersion,
}

/// Decodes a captured frame of the given link type into a TCP segment.
///
/// Bytes after the end of the IP packet (Ethernet padding, a trailing FCS)
/// are ignored; an IP packet longer than the captured frame (a snapshot
/// length cut) yields the bytes present and counts the rest in
/// [`TcpSegment::payload_missing`].
pub fn decode_tcp(link: LinkType, frame: &[u8]) -> Result<TcpSegment<'_>, PacketSkip> {
    let (hint, packet) = strip_link_layer(link, frame)?;
    let hint = match hint {
        NetworkHint::FromVersion => match frame_version(packet)? {
            4 => NetworkHint::Ipv4,
            6 => NetworkHint::Ipv6,
            _ => return Err(malformed("IP version is neither 4 nor 6")),
        },
        known => known,
    };
    match hint {
        NetworkHint::Ipv6 => decode_ipv6(packet),
        _ => decode_ipv4(packet),
    }
}

fn malformed(what: &'static str) -> PacketSkip {
    PacketSkip::Malformed { what }
}

fn frame_version(packet: &[u8]) -> Result<u8, PacketSkip> {
    match packet.first() {
        Some(b) => Ok(b >> 4),
        None => Err(malformed("empty IP packet")),
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn hint_from_ethertype(ethertype: u16) -> Result<NetworkHint, PacketSkip> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok(NetworkHint::Ipv4),
        ETHERTYPE_IPV6 => Ok(NetworkHint::Ipv6),
        other => Err(PacketSkip::NotIp { ethertype: other }),
    }
}

/// Removes the link-layer header, returning what follows and what it is.
fn strip_link_layer(link: LinkType, frame: &[u8]) -> Result<(NetworkHint, &[u8]), PacketSkip> {
    match link {
        LinkType::ETHERNET => strip_ethernet(frame),
        LinkType::RAW | LinkType::RAW_DLT12 | LinkType::RAW_DLT14 => {
            Ok((NetworkHint::FromVersion, frame))
        }
        LinkType::IPV4 => Ok((NetworkHint::Ipv4, frame)),
        LinkType::IPV6 => Ok((NetworkHint::Ipv6, frame)),
        // See https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html:
        // packet type (2), ARPHRD type (2), address length (2), address (8),
        // protocol type (2).
        LinkType::LINUX_SLL => {
            if frame.len() < 16 {
                return Err(malformed("Linux cooked (SLL) header cut short"));
            }
            Ok((hint_from_ethertype(be16(frame, 14))?, &frame[16..]))
        }
        // See https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html:
        // protocol type (2), reserved (2), interface index (4), ARPHRD type
        // (2), packet type (1), address length (1), address (8).
        LinkType::LINUX_SLL2 => {
            if frame.len() < 20 {
                return Err(malformed("Linux cooked (SLL2) header cut short"));
            }
            Ok((hint_from_ethertype(be16(frame, 0))?, &frame[20..]))
        }
        LinkType::NULL | LinkType::LOOP => strip_loopback(link, frame),
        other => Err(PacketSkip::UnsupportedLinkType(other)),
    }
}

/// Ethernet II header, then any number of stacked 802.1Q/802.1ad tags
/// (each: 2 bytes of tag control, 2 bytes of the next ethertype).
fn strip_ethernet(frame: &[u8]) -> Result<(NetworkHint, &[u8]), PacketSkip> {
    if frame.len() < 14 {
        return Err(malformed("Ethernet header cut short"));
    }
    let mut ethertype = be16(frame, 12);
    let mut rest = &frame[14..];
    let mut tags = 0;
    while ETHERTYPE_VLAN_TAGS.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(malformed("too many stacked VLAN tags"));
        }
        if rest.len() < 4 {
            return Err(malformed("VLAN tag cut short"));
        }
        ethertype = be16(rest, 2);
        rest = &rest[4..];
    }
    Ok((hint_from_ethertype(ethertype)?, rest))
}

/// BSD loopback (NULL: host byte order) and OpenBSD loopback (LOOP: network
/// byte order). See https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html:
/// AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the BSD
/// (and 10 on Linux).
fn strip_loopback(link: LinkType, frame: &[u8]) -> Result<(NetworkHint, &[u8]), PacketSkip> {
    if frame.len() < 4 {
        return Err(malformed("loopback header cut short"));
    }
    let raw = [frame[0], frame[1], frame[2], frame[3]];
    let family = if link == LinkType::LOOP {
        u32::from_be_bytes(raw)
    } else {
        // NULL is in the byte order of the host that captured, which the
        // file does not record; families are small, so the order that
        // gives a small number is the right one.
        let le = u32::from_le_bytes(raw);
        if le <= 0xffff {
            le
        } else {
            u32::from_be_bytes(raw)
        }
    };
    let hint = match family {
        2 => NetworkHint::Ipv4,
        10 | 24 | 28 | 30 => NetworkHint::Ipv6,
        _ => return Err(PacketSkip::NotIp { ethertype: 0 }),
    };
    Ok((hint, &frame[4..]))
}

/// IPv4, RFC 791 §3.1. Fragments are skipped; options are stepped over.
fn decode_ipv4(packet: &[u8]) -> Result<TcpSegment<'_>, PacketSkip> {
    if packet.len() < 20 {
        return Err(malformed("IPv4 header cut short"));
    }
    if packet[0] >> 4 != 4 {
        return Err(malformed("IPv4 header with a version other than 4"));
    }
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    if header_len < 20 {
        return Err(malformed("IPv4 header length below 20 bytes"));
    }
    if packet.len() < header_len {
        return Err(malformed("IPv4 options cut short"));
    }
    let total_len = usize::from(be16(packet, 2));
    // Linux writes 0 here for TSO and BIG TCP super-packets captured on the
    // sending host; the captured length is then the only length there is.
    let total_len = if total_len == 0 {
        packet.len()
    } else {
        total_len
    };
    if total_len < header_len {
        return Err(malformed("IPv4 total length smaller than its header"));
    }
    let fragment = be16(packet, 6);
    let more_fragments = fragment & 0x2000 != 0;
    let fragment_offset = fragment & 0x1fff;
    if more_fragments || fragment_offset != 0 {
        return Err(PacketSkip::IpFragment);
    }
    let protocol = packet[9];
    if protocol != IP_PROTO_TCP {
        return Err(PacketSkip::NotTcp { protocol });
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let (body, missing) = clip(packet, header_len, total_len);
    decode_tcp_header(
        body,
        missing,
        |port| SocketAddr::V4(SocketAddrV4::new(src, port)),
        |port| SocketAddr::V4(SocketAddrV4::new(dst, port)),
    )
}

/// The bytes of `packet` from `start` to the IP packet's declared `end`,
/// and how many of those the capture lacks.
fn clip(packet: &[u8], start: usize, end: usize) -> (&[u8], u32) {
    if packet.len() >= end {
        (&packet[start..end], 0)
    } else {
        let missing = u32::try_from(end - packet.len()).unwrap_or(u32::MAX);
        (&packet[start..], missing)
    }
}

/// IPv6, RFC 8200 §3, walking the extension headers of §4 up to TCP.
fn decode_ipv6(packet: &[u8]) -> Result<TcpSegment<'_>, PacketSkip> {
    if packet.len() < 40 {
        return Err(malformed("IPv6 header cut short"));
    }
    if packet[0] >> 4 != 6 {
        return Err(malformed("IPv6 header with a version other than 6"));
    }
    let payload_len = usize::from(be16(packet, 4));
    // A zero payload length means a jumbogram (RFC 2675) or a Linux BIG TCP
    // super-packet; the captured length is the best length we have.
    let end = if payload_len == 0 {
        packet.len()
    } else {
        40 + payload_len
    };
    let mut next_header = packet[6];
    let src = ipv6_at(packet, 8);
    let dst = ipv6_at(packet, 24);
    let (mut rest, missing) = clip(packet, 40, end);
    for _ in 0..MAX_IPV6_EXTENSIONS {
        match next_header {
            IP_PROTO_TCP => {
                return decode_tcp_header(
                    rest,
                    missing,
                    |port| SocketAddr::V6(SocketAddrV6::new(src, port, 0, 0)),
                    |port| SocketAddr::V6(SocketAddrV6::new(dst, port, 0, 0)),
                );
            }
            // Hop-by-Hop, Routing, Destination Options, Mobility, HIP,
            // Shim6: next header, length in 8-byte units not counting the
            // first 8.
            0 | 43 | 60 | 135 | 139 | 140 => {
                if rest.len() < 8 {
                    return Err(malformed("IPv6 extension header cut short"));
                }
                let len = (usize::from(rest[1]) + 1) * 8;
                if rest.len() < len {
                    return Err(malformed("IPv6 extension header cut short"));
                }
                next_header = rest[0];
                rest = &rest[len..];
            }
            // Fragment header: fixed 8 bytes. An atomic fragment (offset 0,
            // no more fragments, RFC 6946) is a whole packet.
            44 => {
                if rest.len() < 8 {
                    return Err(malformed("IPv6 fragment header cut short"));
                }
                let offset_and_flags = be16(rest, 2);
                if offset_and_flags & 0xfff8 != 0 || offset_and_flags & 1 != 0 {
                    return Err(PacketSkip::IpFragment);
                }
                next_header = rest[0];
                rest = &rest[8..];
            }
            // Authentication Header: length in 4-byte units, minus 2.
            51 => {
                if rest.len() < 8 {
                    return Err(malformed("IPv6 authentication header cut short"));
                }
                let len = (usize::from(rest[1]) + 2) * 4;
                if rest.len() < len {
                    return Err(malformed("IPv6 authentication header cut short"));
                }
                next_header = rest[0];
                rest = &rest[len..];
            }
            // ESP (50) hides what follows; No Next Header (59) ends the
            // packet; anything else is another transport.
            protocol => return Err(PacketSkip::NotTcp { protocol }),
        }
    }
    Err(malformed("too many IPv6 extension headers"))
}

fn ipv6_at(packet: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&packet[at..at + 16]);
    Ipv6Addr::from(octets)
}

/// TCP header, RFC 9293 §3.1: ports, sequence and acknowledgment numbers,
/// data offset (header length in 4-byte words), flags, window, then options
/// up to the data offset.
fn decode_tcp_header(
    segment: &[u8],
    payload_missing: u32,
    src: impl FnOnce(u16) -> SocketAddr,
    dst: impl FnOnce(u16) -> SocketAddr,
) -> Result<TcpSegment<'_>, PacketSkip> {
    if segment.len() < 20 {
        return Err(malformed("TCP header cut short"));
    }
    let header_len = usize::from(segment[12] >> 4) * 4;
    if header_len < 20 {
        return Err(malformed("TCP data offset below 20 bytes"));
    }
    if segment.len() < header_len {
        return Err(malformed("TCP options cut short"));
    }
    Ok(TcpSegment {
        src: src(be16(segment, 0)),
        dst: dst(be16(segment, 2)),
        seq: be32(segment, 4),
        ack: be32(segment, 8),
        flags: TcpFlags(segment[13]),
        window: be16(segment, 14),
        options: &segment[20..header_len],
        payload: &segment[header_len..],
        payload_missing,
    })
}

/// One TCP option: its kind and its data (without kind and length bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOption<'a> {
    pub kind: u8,
    pub data: &'a [u8],
}

/// Iterates over raw TCP options (RFC 9293 §3.2): End of Option List stops,
/// No-Operation is skipped, every other kind has a length byte counting
/// kind and length. A malformed length ends the iteration.
pub fn tcp_options(options: &[u8]) -> impl Iterator<Item = TcpOption<'_>> {
    let mut rest = options;
    std::iter::from_fn(move || loop {
        let (&kind, tail) = rest.split_first()?;
        match kind {
            0 => {
                rest = &[];
                return None;
            }
            1 => rest = tail,
            _ => {
                let len = usize::from(*tail.first()?);
                if len < 2 || len > rest.len() {
                    rest = &[];
                    return None;
                }
                let data = &rest[2..len];
                rest = &rest[len..];
                return Some(TcpOption { kind, data });
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::writer::{Framing, LinkLayer, Segment};
    use crate::event::Timestamp;

    fn segment(src: &str, dst: &str, payload: &[u8]) -> Segment {
        Segment {
            ts: Timestamp::default(),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq: 1000,
            ack: 2000,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            payload: payload.to_vec(),
        }
    }

    fn frame(link: LinkLayer, seg: &Segment) -> Vec<u8> {
        let mut out = Vec::new();
        Framing::new(link).encode(seg, &mut out);
        out
    }

    fn all_links() -> Vec<LinkLayer> {
        vec![
            LinkLayer::Ethernet,
            LinkLayer::EthernetVlan(vec![(0x88a8, 100), (0x8100, 200)]),
            LinkLayer::Raw,
            LinkLayer::Ipv4,
            LinkLayer::Ipv6,
            LinkLayer::LinuxSll,
            LinkLayer::LinuxSll2,
            LinkLayer::Null,
            LinkLayer::Loop,
        ]
    }

    /// Each link layer with the addresses it can carry.
    fn cases() -> Vec<(LinkLayer, &'static str, &'static str)> {
        let mut cases = Vec::new();
        for link in all_links() {
            if link != LinkLayer::Ipv6 {
                cases.push((link.clone(), "192.0.2.1:50000", "198.51.100.2:443"));
            }
            if link != LinkLayer::Ipv4 {
                cases.push((link, "[2001:db8::1]:50000", "[2001:db8::2]:443"));
            }
        }
        cases
    }

    #[test]
    fn every_link_layer_round_trips_ipv4_and_ipv6() {
        for (link, src, dst) in cases() {
            {
                let seg = segment(src, dst, b"\x16\x03\x01hello");
                let bytes = frame(link.clone(), &seg);
                let got = decode_tcp(link.link_type(), &bytes).unwrap();
                assert_eq!(got.src, seg.src, "{link:?}");
                assert_eq!(got.dst, seg.dst);
                assert_eq!(got.seq, 1000);
                assert_eq!(got.ack, 2000);
                assert_eq!(got.flags, TcpFlags::ACK | TcpFlags::PSH);
                assert_eq!(got.payload, b"\x16\x03\x01hello");
                assert_eq!(got.payload_missing, 0);
            }
        }
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        let seg = segment("[2001:db8::1]:1", "[2001:db8::2]:2", b"data");
        let mut framing = Framing::new(LinkLayer::Raw);
        framing.ipv6_hop_by_hop = true;
        let mut bytes = Vec::new();
        framing.encode(&seg, &mut bytes);
        assert_eq!(bytes[6], 0, "next header is Hop-by-Hop");
        let got = decode_tcp(LinkType::RAW, &bytes).unwrap();
        assert_eq!(got.payload, b"data");
    }

    #[test]
    fn ethernet_padding_is_ignored_and_snaplen_cuts_are_counted() {
        let seg = segment("192.0.2.1:1", "192.0.2.2:2", b"abcdef");
        let mut bytes = frame(LinkLayer::Ethernet, &seg);
        bytes.extend_from_slice(&[0; 4]); // FCS-like trailer
        assert_eq!(
            decode_tcp(LinkType::ETHERNET, &bytes).unwrap().payload,
            b"abcdef"
        );
        bytes.truncate(bytes.len() - 4 - 2);
        let got = decode_tcp(LinkType::ETHERNET, &bytes).unwrap();
        assert_eq!(got.payload, b"abcd");
        assert_eq!(got.payload_missing, 2);
    }

    #[test]
    fn non_tcp_and_fragments_are_skipped() {
        let seg = segment("192.0.2.1:1", "192.0.2.2:2", b"x");
        let mut bytes = frame(LinkLayer::Raw, &seg);
        bytes[9] = 17;
        assert_eq!(
            decode_tcp(LinkType::RAW, &bytes),
            Err(PacketSkip::NotTcp { protocol: 17 })
        );
        bytes[9] = 6;
        bytes[6] = 0x20; // more fragments
        assert_eq!(
            decode_tcp(LinkType::RAW, &bytes),
            Err(PacketSkip::IpFragment)
        );
        bytes[6] = 0x00;
        bytes[7] = 0x10; // offset 16 * 8
        assert_eq!(
            decode_tcp(LinkType::RAW, &bytes),
            Err(PacketSkip::IpFragment)
        );

        let mut arp = frame(LinkLayer::Ethernet, &seg);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            decode_tcp(LinkType::ETHERNET, &arp),
            Err(PacketSkip::NotIp { ethertype: 0x0806 })
        );
        assert_eq!(
            decode_tcp(LinkType(147), &arp),
            Err(PacketSkip::UnsupportedLinkType(LinkType(147)))
        );
    }

    #[test]
    fn ipv6_fragment_header() {
        let seg = segment("[2001:db8::1]:1", "[2001:db8::2]:2", b"data");
        let tcp_and_payload = frame(LinkLayer::Raw, &seg)[40..].to_vec();
        let mut packet = frame(LinkLayer::Raw, &seg)[..40].to_vec();
        packet[6] = 44;
        let len = (tcp_and_payload.len() + 8) as u16;
        packet[4..6].copy_from_slice(&len.to_be_bytes());
        // Atomic fragment: offset 0, M = 0.
        packet.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 1]);
        packet.extend_from_slice(&tcp_and_payload);
        assert_eq!(decode_tcp(LinkType::RAW, &packet).unwrap().payload, b"data");
        packet[43] = 1; // more fragments
        assert_eq!(
            decode_tcp(LinkType::RAW, &packet),
            Err(PacketSkip::IpFragment)
        );
    }

    #[test]
    fn every_prefix_of_every_frame_is_rejected_without_panic() {
        for (link, src, dst) in cases() {
            {
                let seg = segment(src, dst, b"");
                let bytes = frame(link.clone(), &seg);
                let link_type = link.link_type();
                for cut in 0..bytes.len() {
                    let result = decode_tcp(link_type, &bytes[..cut]);
                    assert!(
                        matches!(result, Err(PacketSkip::Malformed { .. })),
                        "{link:?} cut at {cut}: {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn corrupt_lengths_are_malformed() {
        let seg = segment("192.0.2.1:1", "192.0.2.2:2", b"x");
        let good = frame(LinkLayer::Raw, &seg);
        let mut bad = good.clone();
        bad[0] = 0x44; // IHL 16 bytes
        assert!(decode_tcp(LinkType::RAW, &bad).unwrap_err().is_malformed());
        let mut bad = good.clone();
        bad[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(decode_tcp(LinkType::RAW, &bad).unwrap_err().is_malformed());
        let mut bad = good.clone();
        bad[20 + 12] = 0x40; // TCP data offset 16
        assert!(decode_tcp(LinkType::RAW, &bad).unwrap_err().is_malformed());
        let mut bad = good;
        bad[20 + 12] = 0xf0; // TCP data offset 60, beyond the packet
        assert!(decode_tcp(LinkType::RAW, &bad).unwrap_err().is_malformed());
    }

    #[test]
    fn tcp_options_iterate() {
        let raw = [2, 4, 0x05, 0xb4, 1, 1, 3, 3, 7, 4, 2, 0, 0];
        let got: Vec<_> = tcp_options(&raw).collect();
        assert_eq!(
            got,
            vec![
                TcpOption {
                    kind: 2,
                    data: &[0x05, 0xb4]
                },
                TcpOption {
                    kind: 3,
                    data: &[7]
                },
                TcpOption { kind: 4, data: &[] },
            ]
        );
        assert_eq!(tcp_options(&[2, 9, 0]).count(), 0);
        assert_eq!(tcp_options(&[2]).count(), 0);
    }

    #[test]
    fn flags_debug() {
        assert_eq!(format!("{:?}", TcpFlags::SYN | TcpFlags::ACK), "SYN|ACK");
        assert_eq!(format!("{:?}", TcpFlags(0)), "none");
        assert_eq!(format!("{:?}", LinkType::LINUX_SLL2), "LINUX_SLL2 (276)");
    }
}
